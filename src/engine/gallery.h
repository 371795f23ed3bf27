/* The batch gallery: index.html in the output folder, a grid of the images
 * with each job's prompt, parameters, tokens and error. A plain file: it
 * opens in a browser with no server. Images of up to 1536x1536 pixels' worth
 * (every size of the 1.x models, and gpt-image-2's up to there) are shown as
 * themselves, scaled by the browser: a thumbnail means decoding the whole
 * image, 40-50 ms of CPU for each 1024x1024 PNG, which would cost a batch
 * more than all its other work. Larger ones (2K, 4K) get a thumbnail made
 * with libvips in thumbs/. */
#ifndef IMAGEGEN_GALLERY_H
#define IMAGEGEN_GALLERY_H

#include <stdbool.h>

#include "ledger.h"
#include "util.h"

#define GALLERY_NAME "index.html"
#define GALLERY_THUMB_DIR "thumbs"
#define GALLERY_THUMB_SIZE 320
#define GALLERY_ITSELF_PIXELS (1536L * 1536L)

/* Writes DIR/index.html (atomically) from the ledger's jobs, making any
 * missing thumbnails. 0, or -1 with the reason in err. */
int gallery_write(const char *dir, const struct ledger *l, struct buf *err);

/* Does the gallery show DIR/NAME as itself (an SVG, or an image of at most
 * GALLERY_ITSELF_PIXELS), with no thumbnail? Reads only the header. */
bool gallery_shows_itself(const char *dir, const char *name);
/* Makes thumbs/NAME for DIR/NAME when it needs one and it is missing or
 * older than the image (a GIF's is animated). 0, or -1 with the reason in
 * err. */
int gallery_thumbnail(const char *dir, const char *name, struct buf *err);

/* HTML-escapes text onto out (pure). */
void gallery_escape(struct buf *out, const char *text);

#endif
