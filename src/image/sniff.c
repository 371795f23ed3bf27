#include "sniff.h"

#include <string.h>

#include "svgmeta.h"

const char *sniff_format(const unsigned char *head, size_t len)
{
	if (len >= 8 && !memcmp(head, "\x89PNG\r\n\x1a\n", 8))
		return "png";
	if (len >= 3 && !memcmp(head, "\xff\xd8\xff", 3))
		return "jpeg";
	if (len >= 12 && !memcmp(head, "RIFF", 4) && !memcmp(head + 8, "WEBP", 4))
		return "webp";
	if (len >= 6 && (!memcmp(head, "GIF87a", 6) || !memcmp(head, "GIF89a", 6)))
		return "gif";
	if (svgmeta_sniff((const char *)head, len))
		return "svg";
	return NULL;
}

static unsigned long be16(const unsigned char *p)
{
	return (unsigned long)p[0] << 8 | p[1];
}

static unsigned long le16(const unsigned char *p)
{
	return (unsigned long)p[1] << 8 | p[0];
}

static unsigned long le24(const unsigned char *p)
{
	return (unsigned long)p[2] << 16 | (unsigned long)p[1] << 8 | p[0];
}

/* A JPEG's size is in its frame header (SOF0..SOF15 but DHT, JPG and DAC),
 * found by walking the segments from the start. */
static int jpeg_dimensions(const unsigned char *d, size_t len, long *w, long *h)
{
	size_t at = 2;

	while (at + 4 <= len) {
		if (d[at] != 0xff)
			return -1;
		unsigned char marker = d[at + 1];
		if (marker == 0xff) {          /* fill byte */
			at++;
			continue;
		}
		if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
			at += 2;               /* no length */
			continue;
		}
		if (marker == 0xd9 || marker == 0xda)
			return -1;             /* the end, or the scan: no frame header before */
		unsigned long seg = be16(d + at + 2);
		if (seg < 2)
			return -1;
		if (marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 &&
		    marker != 0xcc) {
			if (at + 9 > len || seg < 7)
				return -1;
			*h = (long)be16(d + at + 5);
			*w = (long)be16(d + at + 7);
			return 0;
		}
		at += 2 + seg;
	}
	return -1;
}

static int webp_dimensions(const unsigned char *d, size_t len, long *w, long *h)
{
	if (len >= 30 && !memcmp(d + 12, "VP8 ", 4) && !memcmp(d + 23, "\x9d\x01\x2a", 3)) {
		*w = (long)(le16(d + 26) & 0x3fff);
		*h = (long)(le16(d + 28) & 0x3fff);
		return 0;
	}
	if (len >= 25 && !memcmp(d + 12, "VP8L", 4) && d[20] == 0x2f) {
		unsigned long bits = (unsigned long)d[21] | (unsigned long)d[22] << 8 |
				     (unsigned long)d[23] << 16 | (unsigned long)d[24] << 24;
		*w = (long)(bits & 0x3fff) + 1;
		*h = (long)((bits >> 14) & 0x3fff) + 1;
		return 0;
	}
	if (len >= 30 && !memcmp(d + 12, "VP8X", 4)) {
		*w = (long)le24(d + 24) + 1;
		*h = (long)le24(d + 27) + 1;
		return 0;
	}
	return -1;
}

int sniff_dimensions(const unsigned char *data, size_t len, long *width, long *height)
{
	const char *format = sniff_format(data, len < SNIFF_BYTES ? len : SNIFF_BYTES);
	long w = 0, h = 0;
	int rc = -1;

	if (!format)
		return -1;
	if (!strcmp(format, "png") && len >= 24 && !memcmp(data + 12, "IHDR", 4)) {
		w = (long)(be16(data + 16) << 16 | be16(data + 18));
		h = (long)(be16(data + 20) << 16 | be16(data + 22));
		rc = 0;
	} else if (!strcmp(format, "gif") && len >= 10) {
		w = (long)le16(data + 6);
		h = (long)le16(data + 8);
		rc = 0;
	} else if (!strcmp(format, "jpeg")) {
		rc = jpeg_dimensions(data, len, &w, &h);
	} else if (!strcmp(format, "webp")) {
		rc = webp_dimensions(data, len, &w, &h);
	}
	if (rc || w <= 0 || h <= 0)
		return -1;
	*width = w;
	*height = h;
	return 0;
}

static unsigned long be32(const unsigned char *p)
{
	return be16(p) << 16 | be16(p + 2);
}

static const char *png_incomplete(const unsigned char *d, size_t len)
{
	size_t at = 8;

	while (at + 12 <= len) {
		unsigned long clen = be32(d + at);
		if (clen > 0x7fffffffUL)
			return "a chunk's length is broken";
		if (clen > len - at - 12)
			return "it ends inside a chunk (the file is cut short)";
		if (!memcmp(d + at + 4, "IEND", 4))
			return NULL;
		at += 12 + (size_t)clen;
	}
	return "it ends before its IEND chunk (the file is cut short)";
}

/* Past the entropy-coded data of a scan: the next marker's offset, or len. */
static size_t jpeg_skip_scan(const unsigned char *d, size_t len, size_t at)
{
	for (; at + 1 < len; at++)
		if (d[at] == 0xff && d[at + 1] != 0 && d[at + 1] != 0xff &&
		    !(d[at + 1] >= 0xd0 && d[at + 1] <= 0xd7))
			return at;
	return len;
}

static const char *jpeg_incomplete(const unsigned char *d, size_t len)
{
	size_t at = 2;

	while (at + 2 <= len) {
		unsigned char marker = d[at + 1];
		if (d[at] != 0xff)
			return "its segments are broken";
		if (marker == 0xff) {          /* fill byte */
			at++;
			continue;
		}
		if (marker == 0xd9)
			return NULL;
		if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
			at += 2;
			continue;
		}
		if (at + 4 > len)
			break;
		unsigned long seg = be16(d + at + 2);
		if (seg < 2)
			return "its segments are broken";
		if (seg > len - at - 2)
			break;
		at += 2 + seg;
		if (marker == 0xda)
			at = jpeg_skip_scan(d, len, at);
	}
	return "it ends before its end marker (the file is cut short)";
}

const char *sniff_incomplete(const unsigned char *data, size_t len, const char *format)
{
	if (!format)
		return NULL;
	if (!strcmp(format, "png"))
		return png_incomplete(data, len);
	if (!strcmp(format, "jpeg"))
		return jpeg_incomplete(data, len);
	if (!strcmp(format, "webp") && len >= 12) {
		unsigned long riff = (unsigned long)data[4] | (unsigned long)data[5] << 8 |
				     (unsigned long)data[6] << 16 | (unsigned long)data[7] << 24;
		return riff + 8 > len ? "it is shorter than its RIFF header says (the file is "
					"cut short)" : NULL;
	}
	return NULL;
}

const char *sniff_mime(const char *format)
{
	if (!format)
		return NULL;
	if (!strcmp(format, "png"))
		return "image/png";
	if (!strcmp(format, "jpeg"))
		return "image/jpeg";
	if (!strcmp(format, "webp"))
		return "image/webp";
	if (!strcmp(format, "gif"))
		return "image/gif";
	if (!strcmp(format, "svg"))
		return "image/svg+xml";
	return NULL;
}
