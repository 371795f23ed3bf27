#include "gifmeta.h"

#include <string.h>

/* GIF89a (https://www.w3.org/Graphics/GIF/spec-gif89a.txt): a header, the
 * logical screen descriptor and its colour table, then extension blocks
 * (0x21), image descriptors (0x2C) and the trailer (0x3B). Extensions and
 * image data are chains of sub-blocks, each a length byte and that many
 * bytes, ended by a zero length. */
#define GIF_EXTENSION 0x21
#define GIF_IMAGE 0x2c
#define GIF_TRAILER 0x3b
#define GIF_CONTROL 0xf9
#define GIF_COMMENT 0xfe
#define GIF_APPLICATION 0xff

struct cursor {
	const unsigned char *d;
	size_t len, at;
};

static unsigned get16(const unsigned char *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static size_t colour_table(unsigned char packed)
{
	return packed & 0x80 ? 3u << ((packed & 7) + 1) : 0;
}

static int need(const struct cursor *c, size_t n)
{
	return c->len - c->at >= n ? 0 : -1;
}

/* Skips a chain of sub-blocks, appending their bytes to text when given. */
static int sub_blocks(struct cursor *c, struct buf *text)
{
	for (;;) {
		size_t n;

		if (need(c, 1))
			return -1;
		n = c->d[c->at++];
		if (!n)
			return 0;
		if (need(c, n))
			return -1;
		if (text)
			buf_add(text, c->d + c->at, n);
		c->at += n;
	}
}

static int extension(struct cursor *c, struct gif_info *info, gifmeta_fn fn, void *ud)
{
	unsigned char label;
	struct buf text = BUF_INIT;
	int rc;

	if (need(c, 1))
		return -1;
	label = c->d[c->at++];
	if (label == GIF_CONTROL && !need(c, 6) && c->d[c->at] >= 4)
		info->duration_ms += 10L * get16(c->d + c->at + 2);
	if (label == GIF_APPLICATION && !need(c, 17) && c->d[c->at] == 11 &&
	    !memcmp(c->d + c->at + 1, "NETSCAPE2.0", 11) && c->d[c->at + 12] >= 3)
		info->loops = (int)get16(c->d + c->at + 14);
	rc = sub_blocks(c, label == GIF_COMMENT ? &text : NULL);
	if (rc == 0 && label == GIF_COMMENT && fn)
		fn(text.data ? text.data : "", text.len, ud);
	buf_release(&text);
	return rc;
}

static int image(struct cursor *c, struct gif_info *info)
{
	size_t table;

	if (need(c, 9))
		return -1;
	table = colour_table(c->d[c->at + 8]);
	c->at += 9;
	if (need(c, table + 1))
		return -1;
	c->at += table + 1;   /* the table and the LZW minimum code size */
	info->frames++;
	return sub_blocks(c, NULL);
}

int gifmeta_scan(const unsigned char *data, size_t len, struct gif_info *info,
		 gifmeta_fn fn, void *ud, struct buf *err)
{
	struct cursor c = { data, len, 13 };

	memset(info, 0, sizeof(*info));
	info->loops = -1;
	if (len < 13 || (memcmp(data, "GIF87a", 6) && memcmp(data, "GIF89a", 6))) {
		buf_addf(err, "not a GIF file");
		return -1;
	}
	info->width = (int)get16(data + 6);
	info->height = (int)get16(data + 8);
	c.at += colour_table(data[10]);
	while (c.at < len) {
		unsigned char block = data[c.at++];
		int rc;

		if (!info->first_frame && (block == GIF_IMAGE ||
					   (block == GIF_EXTENSION && c.at < len &&
					    data[c.at] == GIF_CONTROL)))
			info->first_frame = c.at - 1;
		if (block == GIF_TRAILER) {
			info->trailer = c.at - 1;
			if (!info->frames) {
				buf_addf(err, "the GIF has no frames");
				return -1;
			}
			return 0;
		}
		if (block == GIF_EXTENSION)
			rc = extension(&c, info, fn, ud);
		else if (block == GIF_IMAGE)
			rc = image(&c, info);
		else
			rc = -1;
		if (rc) {
			buf_addf(err, "the GIF is damaged at byte %zu", c.at);
			return -1;
		}
	}
	buf_addf(err, "the GIF ends before its trailer");
	return -1;
}

int gifmeta_add_comment(const unsigned char *data, size_t len, const char *text,
			struct buf *out, struct buf *err)
{
	struct gif_info info;
	size_t tlen = strlen(text);
	unsigned char head[2] = { GIF_EXTENSION, GIF_COMMENT };

	if (gifmeta_scan(data, len, &info, NULL, NULL, err))
		return -1;
	buf_add(out, data, info.first_frame);
	buf_add(out, head, 2);
	for (size_t at = 0; at < tlen;) {
		unsigned char n = (unsigned char)(tlen - at > 255 ? 255 : tlen - at);
		buf_add(out, &n, 1);
		buf_add(out, text + at, n);
		at += n;
	}
	buf_add(out, "", 1);
	buf_add(out, data + info.first_frame, info.trailer + 1 - info.first_frame);
	return 0;
}
