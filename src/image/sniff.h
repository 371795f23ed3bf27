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

/* The MIME type for a format from sniff_format(), or NULL. */
const char *sniff_mime(const char *format);

#endif
