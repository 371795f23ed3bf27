#include "sse.h"

#include <string.h>

void sse_init(struct sse *s, const struct sse_sink *sink)
{
	memset(s, 0, sizeof(*s));
	s->sink = *sink;
	s->state = SSE_LINE_START;
}

bool sse_incomplete(const struct sse *s)
{
	return s->pending || s->state != SSE_LINE_START;
}

static int fail(struct sse *s, const char *why)
{
	s->error = why;
	return -1;
}

/* The end of a field line. */
static int end_field(struct sse *s)
{
	if (s->is_data)
		return 0;
	s->name[s->name_len] = '\0';
	s->value[s->value_len] = '\0';
	if (!strcmp(s->name, "event") || !strcmp(s->name, "id") || !strcmp(s->name, "retry")) {
		s->pending = true;
		return s->sink.field ? s->sink.field(s->sink.ud, s->name, s->value) : 0;
	}
	return 0;   /* unknown fields are ignored, as the standard says */
}

/* A data line starts: lines after the first are joined by "\n". */
static int start_data(struct sse *s)
{
	s->is_data = true;
	s->pending = true;
	if (s->data_lines && s->sink.data(s->sink.ud, "\n", 1))
		return -1;
	s->data_lines = true;
	return 0;
}

static int end_of_line(struct sse *s)
{
	int rc = 0;

	switch (s->state) {
	case SSE_LINE_START:
		if (s->pending && s->sink.dispatch)
			rc = s->sink.dispatch(s->sink.ud);
		s->pending = false;
		s->data_lines = false;
		break;
	case SSE_NAME:
		/* A field with no colon: the whole line is its name, value empty. */
		s->value_len = 0;
		s->name[s->name_len] = '\0';
		if (!strcmp(s->name, "data"))
			rc = start_data(s);
		else
			rc = end_field(s);
		break;
	case SSE_VALUE_START:
	case SSE_VALUE:
		rc = end_field(s);
		break;
	case SSE_COMMENT:
		break;
	}
	s->state = SSE_LINE_START;
	s->is_data = false;
	s->name_len = s->value_len = 0;
	return rc;
}

/* Bytes of a data value up to the end of the line, passed on in one run. */
static size_t data_run(struct sse *s, const char *p, size_t len, int *rc)
{
	size_t n = 0;

	while (n < len && p[n] != '\n' && p[n] != '\r')
		n++;
	if (n && s->sink.data(s->sink.ud, p, n))
		*rc = -1;
	return n;
}

static int name_char(struct sse *s, char c)
{
	if (c == ':') {
		s->name[s->name_len] = '\0';
		s->state = SSE_VALUE_START;
		if (!strcmp(s->name, "data"))
			return start_data(s);
		return 0;
	}
	if (s->name_len == SSE_NAME_MAX)
		return fail(s, "a field name is too long");
	s->name[s->name_len++] = c;
	return 0;
}

static int value_char(struct sse *s, char c)
{
	if (s->value_len == SSE_VALUE_MAX)
		return fail(s, "a field value is too long");
	s->value[s->value_len++] = c;
	return 0;
}

int sse_feed(struct sse *s, const char *p, size_t len)
{
	int rc = 0;

	for (size_t i = 0; i < len && rc == 0; i++) {
		char c = p[i];

		if (s->after_cr) {
			s->after_cr = false;
			if (c == '\n')
				continue;
		}
		if (c == '\r' || c == '\n') {
			s->after_cr = c == '\r';
			rc = end_of_line(s);
			continue;
		}
		switch (s->state) {
		case SSE_LINE_START:
			s->state = c == ':' ? SSE_COMMENT : SSE_NAME;
			if (c != ':')
				rc = name_char(s, c);
			break;
		case SSE_NAME:
			rc = name_char(s, c);
			break;
		case SSE_VALUE_START:
			s->state = SSE_VALUE;
			if (c == ' ')
				break;
			/* fall through */
		case SSE_VALUE:
			if (s->is_data) {
				i += data_run(s, p + i, len - i, &rc) - 1;
			} else {
				rc = value_char(s, c);
			}
			break;
		case SSE_COMMENT:
			break;
		}
	}
	return rc;
}
