#include "scan.h"

#include <string.h>

void scan_init(struct scan *s, const struct scan_sink *sink, bool keep)
{
	memset(s, 0, sizeof(*s));
	if (sink)
		s->sink = *sink;
	s->keep = keep;
}

void scan_reset(struct scan *s)
{
	struct scan_sink sink = s->sink;
	bool keep = s->keep;
	struct buf residual = s->residual;

	buf_reset(&residual);
	memset(s, 0, sizeof(*s));
	s->sink = sink;
	s->keep = keep;
	s->residual = residual;
}

void scan_release(struct scan *s)
{
	buf_release(&s->residual);
}

static int fail(struct scan *s, const char *why)
{
	if (!s->error)
		s->error = why;
	return -1;
}

static int keep_bytes(struct scan *s, const char *p, size_t len)
{
	if (!s->keep && s->residual.len + len > SCAN_RESIDUAL_MAX)
		return fail(s, "the response is larger than expected");
	if (buf_add(&s->residual, p, len))
		return fail(s, "out of memory");
	return 0;
}

/* Base64 text of a diverted value: to the sink, and to the residual in keep
 * mode (raw, escapes included, so the kept JSON stays valid). */
static int emit(struct scan *s, const char *decoded, const char *raw, size_t len)
{
	if (s->sink.write && s->sink.write(s->sink.data, decoded, len))
		return -1;
	return s->keep ? keep_bytes(s, raw, len) : 0;
}

/* The first quote or backslash at or after i (len when none): memchr is
 * vectorised, and base64 text holds neither for megabytes at a time. */
static size_t next_special(const char *p, size_t i, size_t len)
{
	const char *quote = memchr(p + i, '"', len - i);
	size_t end = quote ? (size_t)(quote - p) : len;
	const char *slash = memchr(p + i, '\\', end - i);

	return slash ? (size_t)(slash - p) : end;
}

/* Inside a diverted value: pass base64 runs on, undo the escapes JSON allows
 * in base64 text ("\/" and line breaks), stop before the closing quote.
 * Returns the bytes consumed; *rc is -1 on failure. */
static size_t divert(struct scan *s, const char *p, size_t len, int *rc)
{
	size_t i = 0;

	while (i < len) {
		if (s->escape) {
			const char *text = p[i] == '/' ? "/" : p[i] == 'n' ? "\n" :
					   p[i] == 'r' ? "\r" : NULL;
			s->escape = false;
			if (!text)
				return *rc = fail(s, "unexpected escape in base64 data"), i;
			if ((s->keep && keep_bytes(s, "\\", 1)) || emit(s, text, p + i, 1))
				return *rc = -1, i;
			i++;
			continue;
		}
		size_t run = next_special(p, i, len);
		if (run > i && emit(s, p + i, p + i, run - i))
			return *rc = -1, run;
		i = run;
		if (i == len)
			break;
		if (p[i] == '\\') {
			s->escape = true;
			i++;
			continue;
		}
		/* The closing quote: the value is complete. */
		s->diverting = false;
		s->in_string = false;
		if (s->sink.close && s->sink.close(s->sink.data, s->images - 1))
			*rc = -1;
		return i;
	}
	return i;
}

static void key_char(struct scan *s, char c)
{
	if (s->key_len < SCAN_KEY_MAX)
		s->key[s->key_len++] = c;
	else
		s->key_long = true;
}

static void end_string(struct scan *s)
{
	s->in_string = false;
	if (s->in_key) {
		s->key[s->key_len] = '\0';
		s->b64_key = !s->key_long && !strcmp(s->key, "b64_json");
		s->in_key = false;
	}
}

/* A character inside an ordinary string (a key or a kept value). */
static void string_char(struct scan *s, char c)
{
	if (s->escape) {
		s->escape = false;
		if (s->in_key)
			key_char(s, c == '"' || c == '\\' ? c : '?');
	} else if (c == '\\') {
		s->escape = true;
	} else if (c == '"') {
		end_string(s);
	} else if (s->in_key) {
		key_char(s, c);
	}
}

static int start_string(struct scan *s)
{
	char top = s->depth ? s->stack[s->depth - 1] : 0;

	s->in_string = true;
	s->escape = false;
	if (s->expect_key && top == '{') {
		s->in_key = true;
		s->key_len = 0;
		s->key_long = false;
		s->expect_key = false;
		return 0;
	}
	if (top == '{' && s->b64_key) {
		s->diverting = true;
		s->images++;
		if (s->sink.open && s->sink.open(s->sink.data, s->images - 1))
			return -1;
	}
	return 0;
}

static int structure_char(struct scan *s, char c)
{
	switch (c) {
	case '{':
	case '[':
		if (s->depth == SCAN_DEPTH_MAX)
			return fail(s, "the response is nested too deeply");
		s->stack[s->depth++] = c;
		s->expect_key = c == '{';
		break;
	case '}':
	case ']':
		if (s->depth)
			s->depth--;
		s->expect_key = false;
		break;
	case ',':
		s->expect_key = s->depth && s->stack[s->depth - 1] == '{';
		break;
	case ':':
		s->expect_key = false;
		break;
	case '"':
		return start_string(s);
	}
	return 0;
}

int scan_feed(struct scan *s, const char *data, size_t len)
{
	size_t i = 0, kept_from = 0;
	int rc = 0;

	if (s->error)
		return -1;
	while (i < len) {
		if (s->diverting) {
			i += divert(s, data + i, len - i, &rc);
			if (rc)
				return -1;
			kept_from = i;   /* the closing quote is kept below */
			if (!s->diverting)
				i++;
			continue;
		}
		char c = data[i++];
		if (s->in_string) {
			string_char(s, c);
		} else if (structure_char(s, c)) {
			return -1;
		}
		if (s->diverting) {
			/* Keep everything up to the opening quote, then divert. */
			if (keep_bytes(s, data + kept_from, i - kept_from))
				return -1;
			kept_from = i;
		}
	}
	if (kept_from < len && keep_bytes(s, data + kept_from, len - kept_from))
		return -1;
	return 0;
}

int scan_finish(struct scan *s)
{
	if (s->error)
		return -1;
	if (s->in_string)
		return fail(s, "the response ended inside a string");
	return 0;
}
