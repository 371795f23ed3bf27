/* An incremental Server-Sent Events parser (the HTML living standard's
 * event-stream format): bytes in any pieces, lines ending in LF, CRLF or CR,
 * comments, and "data" values passed on as they arrive, so an event holding
 * megabytes of base64 is never held whole. */
#ifndef IMAGEGEN_SSE_H
#define IMAGEGEN_SSE_H

#include <stdbool.h>
#include <stddef.h>

#define SSE_NAME_MAX 16
#define SSE_VALUE_MAX 256

/* Each returns 0, or -1 to stop parsing. */
struct sse_sink {
	/* A piece of the current event's data; "\n" joins its data lines. */
	int (*data)(void *ud, const char *p, size_t len);
	/* Another field of the event ("event", "id", "retry"). */
	int (*field)(void *ud, const char *name, const char *value);
	/* A blank line: the event is complete (only sent when it had a field). */
	int (*dispatch)(void *ud);
	void *ud;
};

enum sse_state {
	SSE_LINE_START,
	SSE_NAME,
	SSE_VALUE_START,   /* after the colon: one space is skipped */
	SSE_VALUE,
	SSE_COMMENT,
};

struct sse {
	struct sse_sink sink;
	enum sse_state state;
	char name[SSE_NAME_MAX + 1];
	size_t name_len;
	char value[SSE_VALUE_MAX + 1];
	size_t value_len;
	bool is_data;
	bool after_cr;      /* a CR ended the last line: skip an LF */
	bool data_lines;    /* the event has had a data line */
	bool pending;       /* the event has had any field */
	const char *error;
};

void sse_init(struct sse *s, const struct sse_sink *sink);
/* 0, or -1 (s->error says why when the parser, not the sink, stopped). */
int sse_feed(struct sse *s, const char *p, size_t len);
/* End of stream: true when an event was left incomplete (no blank line). */
bool sse_incomplete(const struct sse *s);

#endif
