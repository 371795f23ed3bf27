/* A full disk, where it hurts: preloaded into imagegen (LD_PRELOAD), it
 * lets everything through until the first image takes its final name (a
 * rename to a name that is not a temp file), and from then on every write
 * to the ledger's files (ledger.db and its -wal) fails with ENOSPC, as a
 * disk that filled up mid-run would; with IMAGEGEN_TEST_FULL=images, every
 * write to an image's temp file does instead. IMAGEGEN_TEST_FREE_BYTES=N
 * makes statvfs report N bytes free. Test equipment only. */
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <unistd.h>

#include "fdpath.h"

static bool full;

/* Is fd a file whose writes fail once the disk is full? */
static bool fails(int fd)
{
	const char *what = getenv("IMAGEGEN_TEST_FULL");
	char path[4096];

	if (!full || !fd_path(fd, path, sizeof(path)))
		return false;
	return what && !strcmp(what, "images") ? is_image_temp(path) : is_ledger(path);
}

static void shrink(struct statvfs *st)
{
	const char *free_bytes = getenv("IMAGEGEN_TEST_FREE_BYTES");

	if (free_bytes && st->f_frsize) {
		st->f_bavail = strtoull(free_bytes, NULL, 10) / st->f_frsize;
		st->f_bfree = st->f_bavail;
	}
}

int statvfs(const char *path, struct statvfs *st)
{
	int (*real)(const char *, struct statvfs *);
	int rc;

	*(void **)&real = dlsym(RTLD_NEXT, "statvfs");
	rc = real(path, st);
	if (rc == 0)
		shrink(st);
	return rc;
}

/* An image took its final name: the disk is full from now on. */
static void saw(const char *to)
{
	if (!strstr(to, ".tmp-") && !strstr(to, "/.imagegen/") && strstr(to, ".png"))
		full = true;
}

/* imagegen gives an image its name with link() (never replacing), or
 * rename() with --force. */
int link(const char *from, const char *to)
{
	int (*real)(const char *, const char *);
	int rc;

	*(void **)&real = dlsym(RTLD_NEXT, "link");
	rc = real(from, to);

	if (rc == 0)
		saw(to);
	return rc;
}

int rename(const char *from, const char *to)
{
	int (*real)(const char *, const char *);
	int rc;

	*(void **)&real = dlsym(RTLD_NEXT, "rename");
	rc = real(from, to);

	if (rc == 0)
		saw(to);
	return rc;
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off_t at)
{
	ssize_t (*real)(int, const void *, size_t, off_t);

	*(void **)&real = dlsym(RTLD_NEXT, "pwrite64");
	if (fails(fd)) {
		errno = ENOSPC;
		return -1;
	}
	return real(fd, buf, len, at);
}

ssize_t write(int fd, const void *buf, size_t len)
{
	ssize_t (*real)(int, const void *, size_t);

	*(void **)&real = dlsym(RTLD_NEXT, "write");
	if (fails(fd)) {
		errno = ENOSPC;
		return -1;
	}
	return real(fd, buf, len);
}
