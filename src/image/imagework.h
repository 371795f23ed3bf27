/* Local image work on a job's images, between the response and the final
 * name: chroma-key removal (before commit) and the downscaled copy (after). */
#ifndef IMAGEGEN_IMAGEWORK_H
#define IMAGEGEN_IMAGEWORK_H

#include "afile.h"
#include "chroma.h"
#include "util.h"

/* Called with a file before it is committed or rewritten; 0 or -1 with the
 * reason in err. */
typedef int (*work_hook)(struct afile *f, void *data, struct buf *err);

/* What keying did to an image. */
struct chroma_result {
	bool keyed;          /* false: its border is not the key colour, left as sent */
	double border;       /* the share of its border the key touched */
	double share;        /* the share of its pixels made (partly) transparent */
	unsigned char key[3];
};

/* Replaces the image in f (complete, not yet committed, in format png or
 * webp) by its chroma-keyed version with an alpha channel, unless less than
 * CHROMA_BORDER_MIN of its border is the key colour: then f is left as it
 * is (res->keyed false). before (or NULL) runs just before f is rewritten.
 * 0, or -1 with the reason in err. */
int work_chroma(struct afile *f, const char *format, const struct chroma_opts *o,
		work_hook before, void *data, struct chroma_result *res, struct buf *err);

/* Checks a GIF or SVG file whole (a complete GIF, an SVG document closed
 * at its end); other formats pass. 0, or -1 with the reason in err. */
int work_check_document(const char *path, const char *format, struct buf *err);

/* Copies the file at from to copy_path atomically, byte for byte, taking
 * the next free name if it exists unless replace; *written is the path used
 * (caller frees). 0 or -1. */
int work_copy_file(const char *from, const char *copy_path, bool replace, char **written,
		   struct buf *err);

/* The copy's name: "cat.png" + "-web" -> "cat-web.png"; the caller frees. */
char *work_copy_name(const char *path, const char *suffix);

/* Writes the downscaled copy of the image at path (longer edge at most
 * max_dim) to copy_path atomically, taking the next free name if it exists
 * unless replace; hook (or NULL) runs before the commit. *written is the
 * path used (caller frees). 0 or -1. */
int work_downscale(const char *path, const char *format, int max_dim, const char *copy_path,
		   bool replace, work_hook hook, void *hook_data, char **written,
		   struct buf *err);

#endif
