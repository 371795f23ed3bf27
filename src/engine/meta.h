/* How an image was made: the prompt, model, parameters, revised prompt,
 * creation time and tool version, written into PNG files as text chunks,
 * into GIF files as a comment extension and into SVG files as a <metadata
 * id="imagegen"> element (both a JSON object with the PNG keywords as keys)
 * and, with --sidecar, into NAME.json beside any image. JPEG and WebP carry
 * it only in the sidecar. */
#ifndef IMAGEGEN_META_H
#define IMAGEGEN_META_H

#include <jansson.h>
#include <stdbool.h>

#include "afile.h"
#include "job.h"

/* The record of image i of a job (a new reference). */
json_t *meta_describe(const struct job *job, size_t i);

/* Adds the record to image i's PNG, GIF or SVG temp file before it is
 * committed (JPEG and WebP are left alone). 0, or -1 with the reason in err. */
int meta_embed(const struct job *job, size_t i, struct afile *f, const char *format,
	       struct buf *err);

/* Does meta_embed record anything in an image of this format? */
bool meta_embeds(const char *format);

/* The job key (imagegen:job) recorded in the PNG, GIF or SVG at path, or
 * NULL (none, or not readable); the caller frees. */
char *meta_read_key(const char *path);

/* Writes PATH.json (PATH without its extension, plus .json) atomically.
 * 0 or -1 with the reason in err. */
int meta_write_sidecar(const struct job *job, size_t i, const char *path, struct buf *err);

/* The sidecar's name for an image path; the caller frees. */
char *meta_sidecar_path(const char *path);

#endif
