/* The batch gallery: index.html in the output folder, a grid of thumbnails
 * (made with libvips in thumbs/) with each job's prompt, parameters, tokens
 * and error. A plain file: it opens in a browser with no server. */
#ifndef IMAGEGEN_GALLERY_H
#define IMAGEGEN_GALLERY_H

#include "ledger.h"
#include "util.h"

#define GALLERY_NAME "index.html"
#define GALLERY_THUMB_DIR "thumbs"
#define GALLERY_THUMB_SIZE 320

/* Writes DIR/index.html (atomically) from the ledger's jobs, making any
 * missing thumbnails. 0, or -1 with the reason in err. */
int gallery_write(const char *dir, const struct ledger *l, struct buf *err);

/* Makes thumbs/NAME for DIR/NAME when it is missing or older than the
 * image (a GIF's is animated; an SVG, NAME.svg, needs none: the gallery
 * shows it itself). 0, or -1 with the reason in err. */
int gallery_thumbnail(const char *dir, const char *name, struct buf *err);

/* HTML-escapes text onto out (pure). */
void gallery_escape(struct buf *out, const char *text);

#endif
