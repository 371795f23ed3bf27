/* A streaming pass over a JSON response body that diverts the text of every
 * "b64_json" string value to a sink as it arrives, so a response of tens of
 * megabytes is never held whole: what remains (the residual, with each such
 * value emptied) is small and is parsed with jansson afterwards. This is a
 * tokenizer for strings and nesting only; jansson still does the parsing. */
#ifndef IMAGEGEN_SCAN_H
#define IMAGEGEN_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define SCAN_KEY_MAX 32
#define SCAN_DEPTH_MAX 64
/* The residual's limit, unless the base64 text is kept. */
#define SCAN_RESIDUAL_MAX (8 * 1024 * 1024)

/* Each call returns 0, or -1 to stop the scan (the sink keeps its reason). */
struct scan_sink {
	int (*open)(void *data, size_t index);
	int (*write)(void *data, const char *b64, size_t len);
	int (*close)(void *data, size_t index);
	void *data;
};

struct scan {
	struct scan_sink sink;
	bool keep;              /* also keep the base64 text in the residual */
	struct buf residual;
	size_t images;          /* b64_json values seen */
	char stack[SCAN_DEPTH_MAX];
	int depth;
	bool expect_key;
	bool in_string, in_key, escape, diverting;
	char key[SCAN_KEY_MAX + 1];
	size_t key_len;
	bool key_long;
	bool b64_key;           /* the last key was "b64_json" */
	const char *error;      /* static text when the scan failed */
};

void scan_init(struct scan *s, const struct scan_sink *sink, bool keep);
/* 0, or -1 (s->error says why, or the sink failed). */
int scan_feed(struct scan *s, const char *data, size_t len);
/* 0, or -1 when the body ended inside a string. */
int scan_finish(struct scan *s);
/* Discards state so the scan can start again (a retried request). */
void scan_reset(struct scan *s);
void scan_release(struct scan *s);

#endif
