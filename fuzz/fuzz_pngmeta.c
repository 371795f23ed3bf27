/* The PNG metadata reader on arbitrary bytes, and the writer: entries from
 * the input appended to a minimal PNG must read back exactly. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pngmeta.h"

/* A 1x1 PNG: signature, IHDR, IDAT, IEND. */
static const unsigned char tiny_png[] = {
	0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
	0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0,
	0x1f, 0x15, 0xc4, 0x89,
	0, 0, 0, 13, 'I', 'D', 'A', 'T', 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0, 0x1f,
	0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d,
	0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82,
};

struct expect {
	const char *keyword, *text;
	int found;
};

static void check(const char *keyword, const char *text, void *ud)
{
	struct expect *e = ud;

	if (!strcmp(keyword, e->keyword) && !strcmp(text, e->text))
		e->found = 1;
}

static void ignore(const char *keyword, const char *text, void *ud)
{
	(void)keyword;
	(void)text;
	(void)ud;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf err = BUF_INIT;
	const unsigned char *split = memchr(data, 0, size);

	pngmeta_read(data, size, ignore, NULL, &err);
	buf_reset(&err);
	if (!split)
		goto done;

	/* keyword NUL text: write it into a PNG and read it back. */
	char *keyword = strndup((const char *)data, (size_t)(split - data));
	char *text = strndup((const char *)split + 1, size - (size_t)(split - data) - 1);
	struct meta_entry entry = { keyword, text };
	int fd = memfd_create("fuzz-png", 0);
	if (fd >= 0 && write(fd, tiny_png, sizeof(tiny_png)) == (ssize_t)sizeof(tiny_png) &&
	    pngmeta_append(fd, &entry, 1, &err) == 0) {
		off_t len = lseek(fd, 0, SEEK_END);
		unsigned char *back = malloc((size_t)len);
		struct expect e = { keyword, text, 0 };
		if (pread(fd, back, (size_t)len, 0) != len)
			abort();
		/* A PNG the writer made must read back, and hold the entry (when
		 * the text had no NUL, so it is all there). */
		if (pngmeta_read(back, (size_t)len, check, &e, &err) != 0)
			abort();   /* the writer made a PNG the reader refuses */
		if (!e.found && strlen(text) == size - (size_t)(split - data) - 1)
			abort();   /* written but not read back: a writer bug */
		free(back);
	}
	if (fd >= 0)
		close(fd);
	free(keyword);
	free(text);
done:
	buf_release(&err);
	return 0;
}
