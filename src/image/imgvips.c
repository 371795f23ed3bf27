#include "imgvips.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>

#define VIPS_LIBRARY "libvips.so.42"

/* The functions used, resolved from the library. */
static struct {
	void *handle;
	bool failed;
	bool shut;
	int (*init)(const char *argv0);
	void (*shutdown)(void);
	VipsImage *(*new_from_file)(const char *name, ...);
	int (*get_width)(const VipsImage *image);
	int (*get_height)(const VipsImage *image);
	gboolean (*hasalpha)(VipsImage *image);
	const char *(*error_buffer)(void);
	void (*error_clear)(void);
	void (*object_unref)(gpointer object);
	int (*thumbnail)(const char *filename, VipsImage **out, int width, ...);
	int (*flatten)(VipsImage *in, VipsImage **out, ...);
	VipsArrayDouble *(*array_double_new)(const double *array, int n);
	void (*area_unref)(VipsArea *area);
	int (*write_to_buffer)(VipsImage *in, const char *suffix, void **buf, size_t *size, ...);
	void *(*write_to_memory)(VipsImage *in, size_t *size);
	VipsImage *(*new_from_memory_copy)(const void *data, size_t size, int width,
					   int height, int bands, VipsBandFormat format);
	int (*colourspace)(VipsImage *in, VipsImage **out, VipsInterpretation space, ...);
	int (*extract_band)(VipsImage *in, VipsImage **out, int band, ...);
	int (*cast)(VipsImage *in, VipsImage **out, VipsBandFormat format, ...);
	int (*get_bands)(const VipsImage *image);
	void (*free)(gpointer mem);
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
			     RESOLVE(object_unref, "g_object_unref") &&
			     RESOLVE(thumbnail, "vips_thumbnail") && RESOLVE(flatten, "vips_flatten") &&
			     RESOLVE(array_double_new, "vips_array_double_new") &&
			     RESOLVE(area_unref, "vips_area_unref") &&
			     RESOLVE(write_to_buffer, "vips_image_write_to_buffer") &&
			     RESOLVE(write_to_memory, "vips_image_write_to_memory") &&
			     RESOLVE(new_from_memory_copy, "vips_image_new_from_memory_copy") &&
			     RESOLVE(colourspace, "vips_colourspace") &&
			     RESOLVE(extract_band, "vips_extract_band") && RESOLVE(cast, "vips_cast") &&
			     RESOLVE(get_bands, "vips_image_get_bands") && RESOLVE(free, "g_free")) ||
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

/* libvips' reason for the last failure, into err. Returns -1. */
static int vips_failed(struct buf *err)
{
	const char *why = lib.error_buffer();
	size_t len = strlen(why);

	while (len && why[len - 1] == '\n')
		len--;
	buf_addf(err, "%.*s", (int)len, len ? why : "libvips failed");
	lib.error_clear();
	return -1;
}

static void unref(VipsImage **im)
{
	if (*im)
		lib.object_unref(*im);
	*im = NULL;
}

int imgvips_header(const char *path, struct img_header *h, struct buf *err)
{
	VipsImage *im;

	if (load(err))
		return -1;
	im = lib.new_from_file(path, NULL);
	if (!im)
		return vips_failed(err);
	h->width = lib.get_width(im);
	h->height = lib.get_height(im);
	h->has_alpha = lib.hasalpha(im);
	lib.object_unref(im);
	return 0;
}

/* Encodes im into out by the saver for format. 0 or -1. */
static int encode(VipsImage *im, const char *format, struct buf *out, struct buf *err)
{
	const char *suffix = !strcmp(format, "jpeg") ? ".jpg[Q=90]" :
			     !strcmp(format, "webp") ? ".webp[Q=90]" :
			     !strcmp(format, "gif") ? ".gif" : ".png";
	void *bytes = NULL;
	size_t size = 0;
	int rc;

	if (lib.write_to_buffer(im, suffix, &bytes, &size, NULL))
		return vips_failed(err);
	rc = buf_add(out, bytes, size);
	lib.free(bytes);
	if (rc)
		buf_addf(err, "out of memory");
	return rc;
}

int imgvips_downscale(const char *path, int max_dim, const char *format, struct buf *out,
		      struct buf *err)
{
	VipsImage *thumb = NULL, *flat = NULL;
	/* Every frame of a GIF, so the copy is animated too. */
	char *source = !strcmp(format, "gif") ? xasprintf("%s[n=-1]", path) : xstrdup(path);
	int rc = -1;

	if (load(err)) {
		free(source);
		return -1;
	}
	if (lib.thumbnail(source, &thumb, max_dim, "height", max_dim, "size", VIPS_SIZE_DOWN,
			  NULL)) {
		vips_failed(err);
		goto cleanup;
	}
	if (!strcmp(format, "jpeg") && lib.hasalpha(thumb)) {
		double white[3] = { 255, 255, 255 };
		VipsArrayDouble *bg = lib.array_double_new(white, 3);
		int failed = lib.flatten(thumb, &flat, "background", bg, NULL);
		lib.area_unref((VipsArea *)bg);
		if (failed) {
			vips_failed(err);
			goto cleanup;
		}
	}
	rc = encode(flat ? flat : thumb, format, out, err);
cleanup:
	unref(&flat);
	unref(&thumb);
	free(source);
	return rc;
}

int imgvips_load_rgb(const char *path, unsigned char **pixels, int *width, int *height,
		     struct buf *err)
{
	VipsImage *im = NULL, *srgb = NULL, *three = NULL, *bytes = NULL;
	void *mem = NULL;
	size_t size = 0;
	int rc = -1;

	if (load(err))
		return -1;
	if (!(im = lib.new_from_file(path, "access", VIPS_ACCESS_SEQUENTIAL, NULL)) ||
	    lib.colourspace(im, &srgb, VIPS_INTERPRETATION_sRGB, NULL) ||
	    lib.extract_band(srgb, &three, 0, "n", 3, NULL) ||
	    lib.cast(three, &bytes, VIPS_FORMAT_UCHAR, NULL) ||
	    !(mem = lib.write_to_memory(bytes, &size))) {
		vips_failed(err);
		goto cleanup;
	}
	*width = lib.get_width(bytes);
	*height = lib.get_height(bytes);
	*pixels = malloc(size ? size : 1);
	if (!*pixels) {
		buf_addf(err, "out of memory");
		goto cleanup;
	}
	memcpy(*pixels, mem, size);
	rc = 0;
cleanup:
	if (mem)
		lib.free(mem);
	unref(&bytes);
	unref(&three);
	unref(&srgb);
	unref(&im);
	return rc;
}

int imgvips_encode_rgba(const unsigned char *rgba, int width, int height, const char *format,
			struct buf *out, struct buf *err)
{
	VipsImage *im;
	int rc;

	if (load(err))
		return -1;
	im = lib.new_from_memory_copy(rgba, (size_t)width * (size_t)height * 4, width, height, 4,
				      VIPS_FORMAT_UCHAR);
	if (!im)
		return vips_failed(err);
	rc = encode(im, format, out, err);
	lib.object_unref(im);
	return rc;
}

int imgvips_ready(struct buf *err)
{
	return load(err);
}

const char *imgvips_version(void)
{
	static char version[64];
	const char *(*fn)(void) = NULL;
	/* Opened on its own, never initialised: only the version is read. */
	void *h = dlopen(VIPS_LIBRARY, RTLD_NOW | RTLD_LOCAL);

	if (!h)
		return NULL;
	*(void **)&fn = dlsym(h, "vips_version_string");
	if (fn)
		snprintf(version, sizeof(version), "%s", fn());
	return fn ? version : NULL;
}

void imgvips_shutdown(void)
{
	if (!lib.handle || lib.shut)
		return;
	lib.shut = true;
	lib.shutdown();
	/* Not dlclosed: libvips' threads and atexit hooks may outlive shutdown. */
}
