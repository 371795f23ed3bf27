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

#endif
