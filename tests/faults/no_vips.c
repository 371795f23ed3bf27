/* A machine without libvips, preloaded into imagegen (LD_PRELOAD): dlopen of
 * any libvips answers NULL, as when the library is not installed. Test
 * equipment only. */
#include <dlfcn.h>
#include <stddef.h>
#include <string.h>

void *dlopen(const char *file, int mode)
{
	void *(*real)(const char *, int);

	if (file && strstr(file, "libvips"))
		return NULL;
	*(void **)&real = dlsym(RTLD_NEXT, "dlopen");
	return real(file, mode);
}
