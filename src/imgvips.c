#include "imgvips.h"

#include <dlfcn.h>
#include <string.h>
#include <vips/vips.h>

#define VIPS_LIBRARY "libvips.so.42"

/* The functions used, resolved from the library. */
static struct {
	void *handle;
	bool failed;
	int (*init)(const char *argv0);
	void (*shutdown)(void);
	VipsImage *(*new_from_file)(const char *name, ...);
	int (*get_width)(const VipsImage *image);
	int (*get_height)(const VipsImage *image);
	gboolean (*hasalpha)(VipsImage *image);
	const char *(*error_buffer)(void);
	void (*error_clear)(void);
	void (*object_unref)(gpointer object);
} lib;

#define RESOLVE(field, symbol) \
	(*(void **)&lib.field = dlsym(lib.handle, symbol)) != NULL

static int load(struct buf *err)
{
	if (lib.handle)
		return 0;
	if (lib.failed)
		goto fail;
	lib.handle = dlopen(VIPS_LIBRARY, RTLD_NOW | RTLD_LOCAL);
	if (!lib.handle || !(RESOLVE(init, "vips_init") && RESOLVE(shutdown, "vips_shutdown") &&
			     RESOLVE(new_from_file, "vips_image_new_from_file") &&
			     RESOLVE(get_width, "vips_image_get_width") &&
			     RESOLVE(get_height, "vips_image_get_height") &&
			     RESOLVE(hasalpha, "vips_image_hasalpha") &&
			     RESOLVE(error_buffer, "vips_error_buffer") &&
			     RESOLVE(error_clear, "vips_error_clear") &&
			     RESOLVE(object_unref, "g_object_unref")) ||
	    lib.init("imagegen")) {
		lib.failed = true;
		if (lib.handle)
			dlclose(lib.handle);
		lib.handle = NULL;
		goto fail;
	}
	return 0;
fail:
	buf_addf(err, "cannot load libvips (%s): %s", VIPS_LIBRARY, dlerror() ? dlerror() : "init failed");
	return -1;
}

int imgvips_header(const char *path, struct img_header *h, struct buf *err)
{
	VipsImage *im;

	if (load(err))
		return -1;
	im = lib.new_from_file(path, NULL);
	if (!im) {
		const char *why = lib.error_buffer();
		size_t len = strlen(why);
		while (len && why[len - 1] == '\n')
			len--;
		buf_addf(err, "%.*s", (int)len, why);
		lib.error_clear();
		return -1;
	}
	h->width = lib.get_width(im);
	h->height = lib.get_height(im);
	h->has_alpha = lib.hasalpha(im);
	lib.object_unref(im);
	return 0;
}

void imgvips_shutdown(void)
{
	if (!lib.handle)
		return;
	lib.shutdown();
	/* Not dlclosed: libvips' threads and atexit hooks may outlive shutdown. */
}
