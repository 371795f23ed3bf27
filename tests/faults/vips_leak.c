/* Proof that tests/valgrind.supp hides only libvips' own once-per-process
 * allocations (scripts/check-suppressions.sh runs it under valgrind). It
 * loads and uses libvips as imagegen does, through src/image/imgvips.c, and
 * then leaks what its arguments name (none: nothing, and valgrind must stay
 * quiet, as the suppressions cover what libvips itself keeps):
 *   pixels  leaks the pixels imgvips_load_rgb mallocs (the tool's own block,
 *           on a libvips-using path);
 *   mapped  leaks a block from its own function that libvips calls back
 *           (vips_image_map): libvips frames are on that stack, so a
 *           suppression matching any libvips frame would hide it;
 *   image   leaks a VipsImage. Valgrind cannot see that one (libvips keeps
 *           every live object in a table); libvips' own report must
 *           (VIPS_LEAK=1).
 * Test equipment only. */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imgvips.h"

typedef void *(*map_fn)(void *image, const char *name, void *value, void *a);

/* The leaked blocks are held here only until main returns, so they are
 * "definitely lost" at exit, not reachable from a global. */
static void *leak_mapped_block(void *image, const char *name, void *value, void *a)
{
	char **kept = a;

	(void)image;
	(void)value;
	if (!*kept) {
		*kept = malloc(64);
		if (*kept)
			snprintf(*kept, 64, "%s", name);
	}
	return NULL;
}

/* Calls fn for each of im's metadata fields, from inside libvips. */
static int map_fields(const char *path, map_fn fn, char **kept)
{
	void *h = dlopen("libvips.so.42", RTLD_NOW | RTLD_NOLOAD);
	void *(*new_from_file)(const char *, ...) = NULL;
	void *(*map)(void *, map_fn, void *) = NULL;
	void (*unref)(void *) = NULL;
	void *im;

	if (!h)
		return -1;
	*(void **)&new_from_file = dlsym(h, "vips_image_new_from_file");
	*(void **)&map = dlsym(h, "vips_image_map");
	*(void **)&unref = dlsym(h, "g_object_unref");
	if (!new_from_file || !map || !unref || !(im = new_from_file(path, NULL)))
		return -1;
	map(im, fn, kept);
	unref(im);
	return 0;
}

/* Opens path as an image and drops the reference (mode image). */
static int open_and_forget(const char *path)
{
	void *h = dlopen("libvips.so.42", RTLD_NOW | RTLD_NOLOAD);
	void *(*new_from_file)(const char *, ...) = NULL;

	if (!h)
		return -1;
	*(void **)&new_from_file = dlsym(h, "vips_image_new_from_file");
	return new_from_file && new_from_file(path, NULL) ? 0 : -1;
}

/* A small RGBA image written as PNG to path, through imgvips. */
static int write_png(const char *path, struct buf *err)
{
	unsigned char rgba[8 * 6 * 4];
	struct buf png = BUF_INIT;
	FILE *f;
	int rc = -1;

	for (size_t i = 0; i < sizeof(rgba); i++)
		rgba[i] = (unsigned char)(i * 7);
	if (imgvips_encode_rgba(rgba, 8, 6, "png", &png, err))
		goto cleanup;
	f = fopen(path, "wb");
	if (f) {
		rc = fwrite(png.data, 1, png.len, f) == png.len ? 0 : -1;
		rc |= fclose(f);
	}
cleanup:
	buf_release(&png);
	return rc;
}

static bool asked(int argc, char **argv, const char *leak)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], leak))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	char path[64];
	struct buf err = BUF_INIT, small = BUF_INIT;
	unsigned char *pixels = NULL;
	char *kept = NULL;
	int w, h, rc = 1;

	snprintf(path, sizeof(path), "/tmp/vips-leak-%d.png", (int)getpid());
	/* What imagegen does with an image: write, read, scale. */
	if (imgvips_ready(&err) || write_png(path, &err) ||
	    imgvips_load_rgb(path, &pixels, &w, &h, &err) ||
	    imgvips_downscale(path, 4, "jpeg", &small, &err)) {
		fprintf(stderr, "vips_leak: %s\n", err.data ? err.data : "libvips failed");
		goto cleanup;
	}
	if (asked(argc, argv, "pixels"))
		pixels = NULL;
	if (asked(argc, argv, "mapped")) {
		if (map_fields(path, leak_mapped_block, &kept) || !kept)
			goto cleanup;   /* libvips never called back: nothing was proved */
		kept = NULL;
	}
	if (asked(argc, argv, "image") && open_and_forget(path))
		goto cleanup;
	rc = 0;
cleanup:
	free(kept);
	free(pixels);
	buf_release(&small);
	buf_release(&err);
	unlink(path);
	imgvips_shutdown();
	return rc;
}
