/* What an image really is, from its first bytes (never its name). */
#ifndef IMAGEGEN_SNIFF_H
#define IMAGEGEN_SNIFF_H

#include <stddef.h>

/* Enough for an SVG's XML declaration, comments and DOCTYPE before <svg>. */
#define SNIFF_BYTES 1024

/* "png", "jpeg", "webp", "gif", "svg", or NULL when none of these. */
const char *sniff_format(const unsigned char *head, size_t len);
/* Enough of a file's start for sniff_dimensions: a JPEG's frame header
 * follows its EXIF and ICC segments, 64 KiB each at most. */
#define SNIFF_DIMENSIONS_BYTES (256 * 1024)

/* An image's width and height from its header, read from the first len
 * bytes of the file (PNG, GIF, WebP and JPEG; never decoding pixels). 0, or
 * -1 when they are not there (another format, or a header cut short). */
int sniff_dimensions(const unsigned char *data, size_t len, long *width, long *height);

/* Why a whole PNG, JPEG or WebP file of len bytes is not complete (cut
 * short, or its structure broken), or NULL when it is (and for other
 * formats): the PNG's chunks walked to IEND, the JPEG's segments and scans
 * to its end marker, the WebP's RIFF size. Never decodes pixels. */
const char *sniff_incomplete(const unsigned char *data, size_t len, const char *format);

/* The MIME type for a format from sniff_format(), or NULL. */
const char *sniff_mime(const char *format);

#endif
