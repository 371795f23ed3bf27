/* The batch progress line on a terminal: done/total, failed, in flight,
 * elapsed, ETA and tokens, redrawn in place at most ten times a second. */
#ifndef IMAGEGEN_PROGRESS_H
#define IMAGEGEN_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct progress {
	size_t total, done, failed, running;
	long tokens;
	int64_t started_ms;
	int64_t drawn_ms;
	bool enabled;        /* stderr is a terminal and not quiet */
	bool visible;        /* a line is on screen */
};

/* Formats the line into out (pure; for tests). */
void progress_format(const struct progress *p, int64_t now_ms, char *out, size_t size);
/* Redraws when enabled and 100 ms have passed (or force). */
void progress_draw(struct progress *p, bool force);
/* Clears the line so a message can be printed. */
void progress_clear(struct progress *p);

/* A single request's line on a terminal, between "generating" and
 * "saved": elapsed time, bytes received, partial images, the attempt. */
struct progress_one {
	const char *verb;     /* "generating" */
	int64_t started_ms;   /* the first attempt's start */
	size_t received;      /* bytes of this attempt's answer */
	long partials;        /* partial images received */
	int attempt, attempts; /* this attempt, of at most attempts */
	bool enabled;         /* stderr is a terminal and not quiet */
	int width;            /* the terminal's columns (0: unknown) */
	size_t shown;         /* columns of the line on screen (0: none) */
	int64_t drawn_ms;
	char text[160];       /* what is on screen */
};

/* Formats the line into out (pure; for tests): "generating: 1:05, 2.4 MB
 * received, 2 partial images (attempt 2 of 3)". */
void progress_one_format(const struct progress_one *p, int64_t now, char *out, size_t size);
/* Redraws when enabled, the text changed and 100 ms have passed. It clears
 * the line with spaces, not escape sequences: it works on any terminal. */
void progress_one_draw(struct progress_one *p);
/* Clears the line (a message or a path is about to be printed). */
void progress_one_clear(struct progress_one *p);

#endif
