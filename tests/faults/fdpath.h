/* What the preloaded faults share: the path a file descriptor is open on,
 * and which of imagegen's files a path is. Test equipment only. */
#ifndef IMAGEGEN_FAULTS_FDPATH_H
#define IMAGEGEN_FAULTS_FDPATH_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The path fd is open on, in path (size bytes); false when unknown. */
static inline bool fd_path(int fd, char *path, size_t size)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, size - 1);
	if (n <= 0)
		return false;
	path[n] = '\0';
	return true;
}

/* An image's temp file (".NAME.tmp-PID-XXXXXX"), not the ledger's. */
static inline bool is_image_temp(const char *path)
{
	return strstr(path, ".tmp-") && !strstr(path, "/.imagegen/");
}

static inline bool is_ledger(const char *path)
{
	return strstr(path, "/.imagegen/ledger.db") != NULL;
}

#endif
