/* A disk that is slow where it hurts the loop, preloaded into imagegen
 * (LD_PRELOAD): fsync of an image's temp file (".NAME.tmp-PID-XXXXXX")
 * waits until the file named by IMAGEGEN_TEST_GATE exists (at most 30 s),
 * as a disk busy with a large write would; the first IMAGEGEN_TEST_GATE_AFTER
 * of them (default 0) pass at once. A batch whose loop did its own
 * disk work could send nothing meanwhile. And the link that gives an image's
 * temp file its name waits for IMAGEGEN_TEST_LINK_GATE the same way, past the
 * first IMAGEGEN_TEST_LINK_GATE_AFTER links: a test can take the name while
 * it waits, as another run committing at that moment would. Test equipment
 * only. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fdpath.h"

int fsync(int fd)
{
	int (*real)(int);
	const char *gate = getenv("IMAGEGEN_TEST_GATE");
	char path[4096];

	static int passed;
	const char *after = getenv("IMAGEGEN_TEST_GATE_AFTER");

	*(void **)&real = dlsym(RTLD_NEXT, "fsync");
	if (gate && fd_path(fd, path, sizeof(path)) && is_image_temp(path) &&
	    passed++ >= (after ? atoi(after) : 0)) {
		struct timespec tick = { 0, 10 * 1000 * 1000 };
		for (int i = 0; i < 3000 && access(gate, F_OK) != 0; i++)
			nanosleep(&tick, NULL);
	}
	return real(fd);
}

int link(const char *from, const char *to)
{
	int (*real)(const char *, const char *);
	const char *gate = getenv("IMAGEGEN_TEST_LINK_GATE");
	const char *after = getenv("IMAGEGEN_TEST_LINK_GATE_AFTER");
	static int passed;

	*(void **)&real = dlsym(RTLD_NEXT, "link");
	if (gate && is_image_temp(from) && passed++ >= (after ? atoi(after) : 0)) {
		struct timespec tick = { 0, 10 * 1000 * 1000 };
		for (int i = 0; i < 3000 && access(gate, F_OK) != 0; i++)
			nanosleep(&tick, NULL);
	}
	return real(from, to);
}
