/* What an image really is, from its first bytes (never its name). */
#ifndef IMAGEGEN_SNIFF_H
#define IMAGEGEN_SNIFF_H

#include <stddef.h>

/* Enough for an SVG's XML declaration, comments and DOCTYPE before <svg>. */
#define SNIFF_BYTES 1024

/* "png", "jpeg", "webp", "gif", "svg", or NULL when none of these. */
const char *sniff_format(const unsigned char *head, size_t len);
/* The MIME type for a format from sniff_format(), or NULL. */
const char *sniff_mime(const char *format);

#endif
