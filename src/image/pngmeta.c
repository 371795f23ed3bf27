#include "pngmeta.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static const unsigned char png_signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
static const unsigned char iend_chunk[12] = {
	0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82
};

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int keyword_ok(const char *k)
{
	size_t len = strlen(k);

	if (len < 1 || len > PNGMETA_KEYWORD_MAX || k[0] == ' ' || k[len - 1] == ' ')
		return 0;
	for (const unsigned char *p = (const unsigned char *)k; *p; p++)
		if (*p < 32 || (*p > 126 && *p < 161))
			return 0;
	return 1;
}

int pngmeta_chunk(struct buf *out, const char *keyword, const char *text)
{
	size_t klen = strlen(keyword), tlen = strlen(text);
	size_t dlen = klen + 5 + tlen;   /* keyword\0 flag method lang\0 tkey\0 text */
	unsigned char head[8];
	size_t start;

	if (!keyword_ok(keyword) || dlen > 0x7fffffff)
		return -1;
	put32(head, (uint32_t)dlen);
	memcpy(head + 4, "iTXt", 4);
	start = out->len + 4;
	if (buf_add(out, head, 8) || buf_add(out, keyword, klen + 1) ||
	    buf_add(out, "\0\0\0\0", 4) || buf_add(out, text, tlen))
		return -1;
	uLong crc = crc32(0L, (const Bytef *)out->data + start, (uInt)(out->len - start));
	put32(head, (uint32_t)crc);
	return buf_add(out, head, 4);
}

int pngmeta_append(int fd, const struct meta_entry *entries, size_t n, struct buf *err)
{
	unsigned char tail[12];
	struct buf chunks = BUF_INIT;
	struct stat st;
	int rc = -1;

	if (fstat(fd, &st) || st.st_size < 8 + 25 + 12 ||
	    pread(fd, tail, 12, st.st_size - 12) != 12 || memcmp(tail, iend_chunk, 12)) {
		buf_addf(err, "not a complete PNG (no IEND chunk at its end)");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (entries[i].text && pngmeta_chunk(&chunks, entries[i].keyword, entries[i].text)) {
			buf_addf(err, "cannot record metadata '%s'", entries[i].keyword);
			goto cleanup;
		}
	}
	if (buf_add(&chunks, iend_chunk, 12))
		goto cleanup;
	/* Overwrite IEND in place and go on: nothing before it moves. */
	for (size_t done = 0; done < chunks.len;) {
		ssize_t w = pwrite(fd, chunks.data + done, chunks.len - done,
				   st.st_size - 12 + (off_t)done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			buf_addf(err, "cannot write metadata: %s", strerror(errno));
			goto cleanup;
		}
		done += (size_t)w;
	}
	rc = 0;
cleanup:
	buf_release(&chunks);
	return rc;
}

/* Latin-1 to UTF-8 (tEXt and zTXt are Latin-1). */
static void latin1_to_utf8(struct buf *out, const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] < 0x80) {
			buf_add(out, &p[i], 1);
		} else {
			unsigned char two[2] = { (unsigned char)(0xc0 | p[i] >> 6),
						 (unsigned char)(0x80 | (p[i] & 0x3f)) };
			buf_add(out, two, 2);
		}
	}
}

static int inflate_text(struct buf *out, const unsigned char *p, size_t len)
{
	z_stream z;
	unsigned char chunk[16384];
	int zrc;

	memset(&z, 0, sizeof(z));
	if (inflateInit(&z) != Z_OK)
		return -1;
	z.next_in = (Bytef *)(uintptr_t)p;
	z.avail_in = (uInt)len;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		zrc = inflate(&z, Z_NO_FLUSH);
		if (zrc != Z_OK && zrc != Z_STREAM_END)
			break;
		buf_add(out, chunk, sizeof(chunk) - z.avail_out);
		if (out->len > (16u << 20))
			zrc = Z_MEM_ERROR;
	} while (zrc == Z_OK);
	inflateEnd(&z);
	return zrc == Z_STREAM_END ? 0 : -1;
}

/* One text chunk's keyword and text (UTF-8) into text; 0 or -1 if malformed. */
static int text_chunk(const char *type, const unsigned char *d, size_t len,
		      char keyword[PNGMETA_KEYWORD_MAX + 1], struct buf *text)
{
	const unsigned char *nul = memchr(d, 0, len < 80 ? len : 80);
	size_t klen, at;

	if (!nul || nul == d)
		return -1;
	klen = (size_t)(nul - d);
	memcpy(keyword, d, klen);
	keyword[klen] = '\0';
	at = klen + 1;
	if (!strcmp(type, "tEXt")) {
		latin1_to_utf8(text, d + at, len - at);
		return 0;
	}
	if (!strcmp(type, "zTXt")) {
		struct buf raw = BUF_INIT;
		int rc = at < len && d[at] == 0 ? inflate_text(&raw, d + at + 1, len - at - 1) : -1;
		if (rc == 0)
			latin1_to_utf8(text, (const unsigned char *)raw.data, raw.len);
		buf_release(&raw);
		return rc;
	}
	/* iTXt: flag, method, language\0, translated keyword\0, text */
	if (at + 2 > len)
		return -1;
	int compressed = d[at];
	at += 2;
	for (int field = 0; field < 2; field++) {
		const unsigned char *end = memchr(d + at, 0, len - at);
		if (!end)
			return -1;
		at = (size_t)(end - d) + 1;
	}
	if (compressed)
		return inflate_text(text, d + at, len - at);
	return buf_add(text, d + at, len - at);
}

int pngmeta_read(const unsigned char *data, size_t len, pngmeta_fn fn, void *ud,
		 struct buf *err)
{
	size_t at = 8;

	if (len < 8 || memcmp(data, png_signature, 8)) {
		buf_addf(err, "not a PNG file");
		return -1;
	}
	while (at + 12 <= len) {
		uint32_t clen = get32(data + at);
		char type[5];

		memcpy(type, data + at + 4, 4);
		type[4] = '\0';
		if (clen > len - at - 12) {
			buf_addf(err, "a chunk runs past the end of the file");
			return -1;
		}
		if (!strcmp(type, "tEXt") || !strcmp(type, "zTXt") || !strcmp(type, "iTXt")) {
			char keyword[PNGMETA_KEYWORD_MAX + 1];
			struct buf text = BUF_INIT;
			if (text_chunk(type, data + at + 8, clen, keyword, &text) == 0)
				fn(keyword, text.data ? text.data : "", ud);
			buf_release(&text);
		}
		if (!strcmp(type, "IEND"))
			return 0;
		at += 12 + (size_t)clen;
	}
	buf_addf(err, "the PNG has no IEND chunk");
	return -1;
}
