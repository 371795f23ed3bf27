/* What an image really is, from its first bytes (never its name). */
#ifndef IMAGEGEN_SNIFF_H
#define IMAGEGEN_SNIFF_H

#include <stddef.h>

#define SNIFF_BYTES 16

/* "png", "jpeg", "webp", "gif", or NULL when none of these. */
const char *sniff_format(const unsigned char *head, size_t len);
/* The MIME type for a format from sniff_format(), or NULL. */
const char *sniff_mime(const char *format);

#endif
