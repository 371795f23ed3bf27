/* A disk that is slow where it hurts the loop, preloaded into imagegen
 * (LD_PRELOAD): fsync of an image's temp file (".NAME.tmp-PID-XXXXXX")
 * waits until the file named by IMAGEGEN_TEST_GATE exists (at most 30 s),
 * as a disk busy with a large write would. A batch whose loop did its own
 * disk work could send nothing meanwhile. Test equipment only. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int is_image_temp(int fd)
{
	char link[64], path[4096];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return 0;
	path[n] = '\0';
	return strstr(path, ".tmp-") != NULL && strstr(path, "/.imagegen/") == NULL;
}

int fsync(int fd)
{
	int (*real)(int);
	const char *gate = getenv("IMAGEGEN_TEST_GATE");

	*(void **)&real = dlsym(RTLD_NEXT, "fsync");
	if (gate && is_image_temp(fd)) {
		struct timespec tick = { 0, 10 * 1000 * 1000 };
		for (int i = 0; i < 3000 && access(gate, F_OK) != 0; i++)
			nanosleep(&tick, NULL);
	}
	return real(fd);
}
