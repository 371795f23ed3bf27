/* A job's images on their way to disk: decoded from the response as it
 * arrives into atomic files, checked by content, keyed, described, given
 * their final names and copied smaller. Used by job.c, stream.c and
 * download.c; calls none of them. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c2pa.h"
#include "imagework.h"
#include "job_internal.h"
#include "meta.h"
#include "msg.h"

#define DECODE_CHUNK 49152

/* What a commit off the loop said, for the loop to say: a saved file
 * (path) or a warning (text). */
struct job_note {
	size_t index;
	char *path;
	char *text;
	struct job_note *next;
};

/* Takes path or text. */
static void note(struct job *job, size_t index, char *path, char *text)
{
	struct job_note *n = xcalloc(1, sizeof(*n));

	*n = (struct job_note){ index, path, text, NULL };
	if (job->notes_tail)
		job->notes_tail->next = n;
	else
		job->notes = n;
	job->notes_tail = n;
}

static void say_warning(struct job *job, const char *text)
{
	if (job->env->on_warning)
		job->env->on_warning(job, text);
	else
		warnf("%s", text);
}

void job_warn(struct job *job, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		abort();
	va_end(ap);
	if (job->off_loop) {
		note(job, 0, NULL, text);
		return;
	}
	say_warning(job, text);
	free(text);
}

/* A file was saved: said now, or by the loop after a commit off it. */
static void said_saved(struct job *job, size_t index, const char *path)
{
	if (job->off_loop)
		note(job, index, xstrdup(path), NULL);
	else if (job->env->on_saved)
		job->env->on_saved(job, index, path);
}

void job_say_notes(struct job *job, bool say)
{
	struct job_note *n = job->notes;

	job->notes = job->notes_tail = NULL;
	while (n) {
		struct job_note *next = n->next;
		if (say && n->text)
			say_warning(job, n->text);
		else if (say && job->env->on_saved)
			job->env->on_saved(job, n->index, n->path);
		free(n->path);
		free(n->text);
		free(n);
		n = next;
	}
}

void job_note_disk(struct job *job)
{
	if (errno == ENOSPC || errno == EDQUOT)
		job->disk_full = true;
}

bool job_may_replace(const struct job *job, const char *path)
{
	return job->env->force || (job->env->owns && job->env->owns(job, path));
}

size_t job_image_slot(const struct job *job)
{
	return job->completed;
}

/* Which image a scanned value is: its place in the response, or for a
 * stream the image the current event belongs to. */
static size_t slot(const struct job *job, size_t index)
{
	return job->streaming ? job_image_slot(job) : index;
}

int job_image_open(void *data, size_t index)
{
	struct job *job = data;
	struct job_image *im;

	index = slot(job, index);
	if (index >= job->names.n)
		return 0;   /* more images than asked for: counted, not saved */
	im = &job->images[index];
	/* A stream can send this image's slot a second value before the first
	 * was saved or dropped (an event type that is not saved, or two images
	 * in one event): the later one replaces it, and its temp file goes.
	 * Opened over, it would stay on disk and be tracked twice (a cycle in
	 * the exit hook's list). */
	afile_abort(&im->file);
	im->b64 = (struct b64)B64_INIT;
	im->head_len = 0;
	im->complete = false;
	im->keyed = false;
	if (job->env->no_save)
		return 0;
	return afile_open(&im->file, job->names.paths[index], &job->error);
}

int job_image_write(struct job *job, size_t index, const char *text, size_t len)
{
	struct job_image *im = &job->images[index];
	unsigned char out[B64_OUT_MAX(DECODE_CHUNK)];

	while (len) {
		size_t take = len < DECODE_CHUNK ? len : DECODE_CHUNK;
		ssize_t n = b64_decode(&im->b64, text, take, out);

		if (n < 0) {
			buf_addf(&job->error, "image %zu in the response is not valid base64",
				 index + 1);
			return -1;
		}
		size_t room = SNIFF_BYTES - im->head_len;
		size_t copy = (size_t)n < room ? (size_t)n : room;
		memcpy(im->head + im->head_len, out, copy);
		im->head_len += copy;
		if (im->file.fd >= 0 && afile_write(&im->file, out, (size_t)n, &job->error)) {
			job_note_disk(job);
			return -1;
		}
		text += take;
		len -= take;
	}
	return 0;
}

int job_image_scan_write(void *data, const char *text, size_t len)
{
	struct job *job = data;
	size_t index = slot(job, job->scan.images - 1);

	return index < job->names.n ? job_image_write(job, index, text, len) : 0;
}

int job_image_close(void *data, size_t index)
{
	struct job *job = data;

	index = slot(job, index);
	if (index >= job->names.n)
		return 0;
	if (b64_finish(&job->images[index].b64)) {
		buf_addf(&job->error, "image %zu in the response is not valid base64 "
			 "(it ends mid-way)", index + 1);
		return -1;
	}
	job->images[index].complete = true;
	return 0;
}

void job_discard_images(struct job *job)
{
	for (size_t i = 0; i < job->names.n; i++) {
		afile_abort(&job->images[i].file);
		job->images[i].complete = false;
		job->images[i].head_len = 0;
	}
}

json_t *job_usage_json(const struct usage *u)
{
	json_t *o = json_pack("{s:I,s:I,s:I}", "input_tokens", (json_int_t)u->input,
			      "output_tokens", (json_int_t)u->output, "total_tokens",
			      (json_int_t)u->total);

	if (u->input_split) {
		json_t *d = json_pack("{s:I,s:I}", "text_tokens", (json_int_t)u->input_text,
				      "image_tokens", (json_int_t)u->input_image);
		if (u->cached)
			json_object_set_new(d, "cached_tokens", json_integer(u->cached));
		json_object_set_new(o, "input_tokens_details", d);
	}
	if (u->output_split)
		json_object_set_new(o, "output_tokens_details",
				    json_pack("{s:I,s:I}", "image_tokens",
					      (json_int_t)u->output_image, "text_tokens",
					      (json_int_t)u->output_text));
	return o;
}

void job_partials_json(const struct usage *u, json_t *o)
{
	if (!u->partial_images)
		return;
	json_object_set_new(o, "partial_images", json_integer(u->partial_images));
	json_object_set_new(o, "partial_image_output_tokens",
			    json_integer((json_int_t)u->partial_images * PARTIAL_IMAGE_TOKENS));
}


/* Checks an image's bytes; a format other than the one asked for renames a
 * derived name's extension. 0, or -1 when it is no image at all. */
int job_check_image(struct job *job, size_t i)
{
	struct job_image *im = &job->images[i];
	const char *got = sniff_format(im->head, im->head_len);
	const char *want = params_format(&job->params);

	if (!got) {
		buf_addf(&job->error, "image %zu in the response is not a PNG, JPEG, WebP, "
			 "GIF or SVG image", i + 1);
		return -1;
	}
	if (strcmp(got, want) && !job->env->no_save) {
		const char *path = im->file.path;
		if (job->names.explicit_names) {
			job_warn(job, "the server sent %s, not %s; '%s' keeps its name", got, want, path);
		} else {
			char *renamed = xasprintf("%.*s%s", path_stem_len(path), path,
						  format_ext(got));
			job_warn(job, "the server sent %s, not %s; saving as '%s'", got, want, renamed);
			afile_rename(&im->file, renamed);
			free(renamed);
		}
	}
	return 0;
}

struct copy_meta {
	const struct job *job;
	size_t index;
	const char *format;
};

/* The copy records how the image was made, as the original does. */
static int embed_copy_meta(struct afile *f, void *data, struct buf *err)
{
	const struct copy_meta *c = data;

	return c->job->env->metadata ? meta_embed(c->job, c->index, f, c->format, err) : 0;
}

/* A copy beside an image was saved (rc 0) as written: said, then the names
 * freed. */
static void extra_saved(struct job *job, int rc, char *written, char *name)
{
	if (rc == 0)
		said_saved(job, JOB_EXTRA_FILE, written);
	free(written);
	free(name);
}

/* The downscaled copy of a saved image. */
static int save_copy(struct job *job, size_t i, const char *path, const char *format)
{
	char *name = work_copy_name(path, job->env->downscale_suffix);
	char *written = NULL;
	struct copy_meta meta = { job, i, format };
	int rc = work_downscale(path, format, job->env->downscale_max, name,
				job->names.replace, embed_copy_meta, &meta, &written,
				&job->error);

	extra_saved(job, rc, written, name);
	return rc;
}

/* Records the metadata; a GIF or SVG is checked whole either way (adding
 * the metadata walks it). A file that keeps its C2PA manifest is left as
 * sent: its record goes to the sidecar. 0 or -1. */
static int embed_or_check(struct job *job, size_t i, struct afile *f, const char *format)
{
	struct buf why = BUF_INIT;
	int rc = 0;

	job->images[i].keyed = false;
	if (f->fd < 0 || job->images[i].signed_kept)
		return 0;
	if (job->env->metadata) {
		rc = meta_embed(job, i, f, format, &why);
		job->images[i].keyed = rc == 0 && job->key && meta_embeds(format);
	} else {
		rc = work_check_document(f->tmp, format, &why);
	}
	if (rc)
		buf_addf(&job->error, "image %zu in the response: %s", i + 1, why.data);
	buf_release(&why);
	return rc;
}

/* Before keying a signed image: the original as sent, NAME-original.ext,
 * which keeps its C2PA manifest (the keyed one is re-encoded). 0 or -1. */
static int keep_original(struct job *job, struct afile *f)
{
	char *name = work_copy_name(f->path, "-original");
	char *written = NULL;
	int rc = work_copy_file(f->tmp, name, job->names.replace, &written, &job->error);

	extra_saved(job, rc, written, name);
	return rc;
}

/* keep_original as the hook work_chroma runs before it rewrites the file. */
static int keep_original_hook(struct afile *f, void *data, struct buf *err)
{
	(void)err;   /* keep_original says why in the job's error, which err is */
	return keep_original(data, f);
}

/* Keys the image when asked and its border is the key colour: the image as
 * sent is kept beside it when asked (--keep-original) or when it is signed
 * (NAME-original.ext keeps the manifest). Else, the picture has no key
 * colour background to take away: keying would cut into its subject, so it
 * is saved as sent, with a warning. 0 or -1. */
static int key_image(struct job *job, size_t i, struct afile *f, const char *format,
		     bool signed_file)
{
	struct job_image *im = &job->images[i];
	bool keep = signed_file || job->env->keep_original;
	struct chroma_result r;

	if (work_chroma(f, format, &job->env->chroma, keep ? keep_original_hook : NULL, job, &r,
			&job->error))
		return -1;
	im->chroma_keyed = r.keyed;
	im->keyed_share = r.share;
	if (!r.keyed)
		job_warn(job, "%s'%s': not keyed, saved as sent: only %.0f%% of its border is near "
			 "the key colour #%02X%02X%02X, so keying would cut into the picture "
			 "rather than take a background away", job->label ? job->label : "",
			 f->path, r.border * 100, r.key[0], r.key[1], r.key[2]);
	return 0;
}

/* Keys the image when asked; a signed one is kept as sent beside it, or,
 * not keyed, saved untouched with its record in the sidecar. 0 or -1. */
static int settle_signed(struct job *job, size_t i, struct afile *f, const char *format)
{
	/* Only metadata or keying would change the file: else nothing to look for. */
	bool signed_file = f->fd >= 0 && (job->env->metadata || job->env->chroma.enabled) &&
			   c2pa_present(f->tmp, format);

	if (job->env->chroma.enabled && key_image(job, i, f, format, signed_file))
		return -1;
	job->images[i].signed_kept = signed_file && !job->images[i].chroma_keyed;
	if (job->images[i].signed_kept && job->env->metadata && !job->env->sidecar && i == 0) {
		char *side = meta_sidecar_path(f->path);
		job_warn(job, "'%s' carries a C2PA manifest, which any change would break: its "
			 "metadata goes in '%s' instead", f->path, path_basename(side));
		free(side);
	}
	return 0;
}

int job_commit_image(struct job *job, size_t i)
{
	struct afile *f = &job->images[i].file;
	bool replace = job->names.replace, numbered = job->names.numbered;
	const char *format = sniff_format(job->images[i].head, job->images[i].head_len);

	if (settle_signed(job, i, f, format))
		return -1;
	if (embed_or_check(job, i, f, format))
		return -1;
	for (;;) {
		if (job->env->on_committing && job->env->on_committing(job, i, f->path))
			return -1;
		if (!afile_commit(f, replace ? AFILE_REPLACE : AFILE_NO_CLOBBER, &job->error))
			break;
		if (errno != EEXIST) {
			job_note_disk(job);
			return -1;
		}
		/* The name was taken while the request ran: never overwrite. A
		 * name numbered already (by the plan, or by this loop when the
		 * next one was taken too, by a run committing at the same
		 * moment) goes on from its number: cat-3, never cat-2-2. */
		char *next = numbered ? naming_next_numbered(f->path, naming_exists_on_disk, NULL)
				      : naming_next_free(f->path, naming_exists_on_disk, NULL);
		job_warn(job, "'%s' appeared meanwhile; saving as '%s'", f->path, next);
		afile_rename(f, next);
		free(next);
		numbered = true;
	}
	job->saved[i] = xstrdup(f->path);
	if (job->env->sidecar || (job->env->metadata && job->images[i].signed_kept)) {
		struct buf why = BUF_INIT;
		int bad = meta_write_sidecar(job, i, f->path, &why);
		bool there = bad && errno == EEXIST;

		/* A file that appeared under the sidecar's name since the plan
		 * stays; the image is saved, so the job is not failed for it. */
		if (there)
			job_warn(job, "%sthe sidecar was not written: %s", job->label ? job->label : "",
				 why.data);
		else if (bad)
			buf_adds(&job->error, why.data);
		buf_release(&why);
		if (bad && !there)
			return -1;
	}
	said_saved(job, i, f->path);
	return job->env->downscale_max ? save_copy(job, i, f->path, format) : 0;
}

int job_complete_image(struct job *job, const char *path)
{
	unsigned char head[SNIFF_BYTES];
	FILE *f = fopen(path, "rb");
	size_t got = f ? fread(head, 1, sizeof(head), f) : 0;
	const char *format = sniff_format(head, got);
	int rc = 0;

	if (f)
		fclose(f);
	if (!format) {
		buf_addf(&job->error, "'%s' is not an image", path);
		return -1;
	}
	if (job->env->sidecar) {
		char *side = meta_sidecar_path(path);
		if (!path_exists(side)) {
			if (meta_write_sidecar(job, 0, path, &job->error))
				rc = -1;
			else
				said_saved(job, JOB_EXTRA_FILE, side);
		}
		free(side);
	}
	if (rc == 0 && job->env->downscale_max) {
		char *copy = work_copy_name(path, job->env->downscale_suffix);
		bool there = path_exists(copy);
		free(copy);
		if (!there && save_copy(job, 0, path, format))
			rc = -1;
	}
	return rc;
}
