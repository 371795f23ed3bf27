#include "c2pa.h"

#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define WALK_MAX 4096   /* chunks or segments looked at, at most */

static int read_at(int fd, off_t at, unsigned char *p, size_t n)
{
	return pread(fd, p, n, at) == (ssize_t)n ? 0 : -1;
}

/* PNG: chunks of length (4, big-endian), type (4), data, CRC (4). */
static bool png_has(int fd)
{
	unsigned char h[8];
	off_t at = 8;

	for (int i = 0; i < WALK_MAX && !read_at(fd, at, h, 8); i++) {
		uint32_t len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 |
			       (uint32_t)h[2] << 8 | h[3];
		if (!memcmp(h + 4, "caBX", 4))
			return true;
		if (!memcmp(h + 4, "IEND", 4))
			return false;
		at += 12 + (off_t)len;
	}
	return false;
}

/* RIFF (WebP): "RIFF" size "WEBP", then chunks of FourCC, size (4,
 * little-endian), data padded to an even length. */
static bool webp_has(int fd)
{
	unsigned char h[8];
	off_t at = 12;

	for (int i = 0; i < WALK_MAX && !read_at(fd, at, h, 8); i++) {
		uint32_t len = (uint32_t)h[4] | (uint32_t)h[5] << 8 | (uint32_t)h[6] << 16 |
			       (uint32_t)h[7] << 24;
		if (!memcmp(h, "C2PA", 4))
			return true;
		at += 8 + (off_t)len + (len & 1);
	}
	return false;
}

/* JPEG: segments FF xx with a 2-byte big-endian length, up to the scan;
 * an APP11 (FF EB) segment holding JUMBF ("JP") is the manifest store. */
static bool jpeg_has(int fd)
{
	unsigned char h[6];
	off_t at = 2;

	for (int i = 0; i < WALK_MAX && !read_at(fd, at, h, 6); i++) {
		if (h[0] != 0xff || h[1] == 0xda || h[1] == 0xd9)
			return false;
		if (h[1] == 0xeb && h[4] == 'J' && h[5] == 'P')
			return true;
		at += 2 + ((off_t)h[2] << 8 | h[3]);
	}
	return false;
}

bool c2pa_present(const char *path, const char *format)
{
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	bool found = false;

	if (fd < 0 || !format)
		goto done;
	if (!strcmp(format, "png"))
		found = png_has(fd);
	else if (!strcmp(format, "webp"))
		found = webp_has(fd);
	else if (!strcmp(format, "jpeg"))
		found = jpeg_has(fd);
done:
	if (fd >= 0)
		close(fd);
	return found;
}
