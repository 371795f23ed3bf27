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

/* Shuts libvips down if it was loaded. */
void imgvips_shutdown(void);

#endif
