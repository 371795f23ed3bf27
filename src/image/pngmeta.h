/* How an image was made, recorded in the PNG itself as iTXt chunks (added
 * before IEND, so the image data is never re-encoded), and read back. */
#ifndef IMAGEGEN_PNGMETA_H
#define IMAGEGEN_PNGMETA_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define PNGMETA_KEYWORD_MAX 79

struct meta_entry {
	const char *keyword;   /* 1-79 Latin-1 characters */
	const char *text;      /* UTF-8 */
};

/* Appends one iTXt chunk (uncompressed) to out. 0, or -1 for a bad keyword. */
int pngmeta_chunk(struct buf *out, const char *keyword, const char *text);

/* Adds the entries to the complete PNG open read-write on fd: its IEND chunk
 * is replaced by the new chunks followed by IEND. 0, or -1 with the reason in
 * err (the file is then unchanged, or at worst missing its end). */
int pngmeta_append(int fd, const struct meta_entry *entries, size_t n, struct buf *err);

/* Calls fn for each text chunk (tEXt, zTXt, iTXt) of the PNG in data; texts
 * are given as UTF-8. 0, or -1 when data is not a well-formed PNG. */
typedef void (*pngmeta_fn)(const char *keyword, const char *text, void *ud);
int pngmeta_read(const unsigned char *data, size_t len, pngmeta_fn fn, void *ud,
		 struct buf *err);

#endif
