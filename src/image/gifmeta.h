/* A GIF's structure (size, frames, timing, comments) read from its blocks,
 * and imagegen's record added as a comment extension before the first
 * frame, so no frame is re-encoded. The LZW data is skipped, never decoded. */
#ifndef IMAGEGEN_GIFMETA_H
#define IMAGEGEN_GIFMETA_H

#include <stddef.h>

#include "util.h"

struct gif_info {
	int width, height;     /* the logical screen */
	long frames;
	long duration_ms;      /* the frames' delays added up */
	int loops;             /* NETSCAPE2.0 loop count (0: forever), -1: none */
	size_t first_frame;    /* offset of the first frame's first block */
	size_t trailer;        /* offset of the trailer byte */
};

/* Called with each comment extension's text (its sub-blocks joined). */
typedef void (*gifmeta_fn)(const char *text, size_t len, void *ud);

/* Walks the GIF in data to its trailer, filling info and calling fn (or
 * NULL) for each comment. 0, or -1 with the reason in err when data is not
 * a complete, well-formed GIF. */
int gifmeta_scan(const unsigned char *data, size_t len, struct gif_info *info,
		 gifmeta_fn fn, void *ud, struct buf *err);

/* out = the GIF in data with a comment extension holding text inserted
 * before its first frame (after the loop extension, where readers that stop
 * at the first frame still see it). 0, or -1 with the reason in err. */
int gifmeta_add_comment(const unsigned char *data, size_t len, const char *text,
			struct buf *out, struct buf *err);

#endif
