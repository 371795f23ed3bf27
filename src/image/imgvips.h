/* libvips, loaded only when a command needs image work. Linking it would
 * load about 100 shared libraries on every run (measured: +23 ms per
 * invocation), so the few functions imagegen uses are resolved with dlopen
 * the first time one is called. */
#ifndef IMAGEGEN_IMGVIPS_H
#define IMAGEGEN_IMGVIPS_H

#include <stdbool.h>

#include "util.h"

struct img_header {
	int width, height;
	bool has_alpha;
};

/* Reads an image's header (no pixels). 0, or -1 with libvips' reason in err. */
int imgvips_header(const char *path, struct img_header *h, struct buf *err);

/* A copy of the image at path whose longer edge is at most max_dim (never
 * enlarged), encoded in format (png, jpeg, webp, gif: every frame, with
 * its timing) into out; JPEG copies of images with alpha are flattened on
 * white. 0, or -1 with the reason in err. */
int imgvips_downscale(const char *path, int max_dim, const char *format, struct buf *out,
		      struct buf *err);

/* The image at path as 8-bit sRGB, 3 bytes a pixel (alpha dropped); *pixels
 * is malloc'ed and the caller frees it. 0, or -1 with the reason in err. */
int imgvips_load_rgb(const char *path, unsigned char **pixels, int *width, int *height,
		     struct buf *err);

/* RGBA pixels (4 bytes each) encoded as png or webp into out. 0 or -1. */
int imgvips_encode_rgba(const unsigned char *rgba, int width, int height, const char *format,
			struct buf *out, struct buf *err);

/* Loads and starts libvips now (on the calling thread). 0 or -1. */
int imgvips_ready(struct buf *err);

/* Shuts libvips down if it was loaded. */
void imgvips_shutdown(void);
/* The version of the libvips this machine has ("8.14.1"), or NULL when it
 * cannot be loaded. A static string. */
const char *imgvips_version(void);

#endif
