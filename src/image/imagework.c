#include "imagework.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gifmeta.h"
#include "imgvips.h"
#include "naming.h"
#include "svgmeta.h"

int work_check_document(const char *path, const char *format, struct buf *err)
{
	struct buf data = BUF_INIT;
	struct gif_info gif;
	struct svg_info svg;
	int rc;

	if (strcmp(format, "gif") && strcmp(format, "svg"))
		return 0;
	if (read_file(path, (size_t)1 << 30, &data)) {
		buf_addf(err, "cannot read back '%s': %s", path, strerror(errno));
		return -1;
	}
	rc = !strcmp(format, "gif")
		? gifmeta_scan((const unsigned char *)data.data, data.len, &gif, NULL, NULL, err)
		: svgmeta_scan(data.data ? data.data : "", data.len, &svg, NULL, err);
	buf_release(&data);
	return rc;
}

int work_chroma(struct afile *f, const char *format, const struct chroma_opts *o,
		work_hook before, void *data, struct chroma_result *res, struct buf *err)
{
	unsigned char *rgb = NULL, *rgba = NULL;
	struct buf encoded = BUF_INIT;
	struct chroma_opts opts = *o;
	int w, h, rc = -1;

	*res = (struct chroma_result){ .keyed = false };
	if (imgvips_load_rgb(f->tmp, &rgb, &w, &h, err))
		return -1;
	if (o->auto_key)
		chroma_auto_key(rgb, w, h, opts.key);
	memcpy(res->key, opts.key, 3);
	res->border = chroma_border_match(rgb, w, h, &opts);
	if (res->border < CHROMA_BORDER_MIN) {
		rc = 0;
		goto cleanup;
	}
	rgba = malloc((size_t)w * (size_t)h * 4);
	if (!rgba) {
		buf_addf(err, "out of memory");
		goto cleanup;
	}
	res->share = (double)chroma_key(rgb, rgba, (size_t)w * (size_t)h, &opts) /
		     ((double)w * (double)h);
	if (imgvips_encode_rgba(rgba, w, h, strcmp(format, "webp") ? "png" : "webp", &encoded, err) ||
	    (before && before(f, data, err)))
		goto cleanup;
	res->keyed = true;
	rc = afile_rewrite(f, encoded.data, encoded.len, err);
cleanup:
	free(rgb);
	free(rgba);
	buf_release(&encoded);
	return rc;
}

/* Commits f, taking the next free name when its own is taken (unless
 * replace); *written is the name used. 0 or -1. */
static int commit_free(struct afile *f, bool replace, char **written, struct buf *err)
{
	while (afile_commit(f, replace ? AFILE_REPLACE : AFILE_NO_CLOBBER, err)) {
		if (errno != EEXIST)
			return -1;
		char *next = naming_next_free(f->path, naming_exists_on_disk, NULL);
		afile_rename(f, next);
		free(next);
	}
	*written = xstrdup(f->path);
	return 0;
}

/* Writes bytes to copy_path atomically (hook, or NULL, runs before the
 * commit), taking the next free name unless replace. 0 or -1. */
static int save_bytes(const struct buf *bytes, const char *copy_path, bool replace,
		      work_hook hook, void *hook_data, char **written, struct buf *err)
{
	struct afile f = AFILE_INIT;
	int rc = -1;

	if (!afile_open(&f, copy_path, err) && !afile_write(&f, bytes->data, bytes->len, err) &&
	    !(hook && hook(&f, hook_data, err)))
		rc = commit_free(&f, replace, written, err);
	afile_release(&f);
	return rc;
}

int work_copy_file(const char *from, const char *copy_path, bool replace, char **written,
		   struct buf *err)
{
	struct buf bytes = BUF_INIT;
	int rc = -1;

	if (read_file(from, (size_t)1 << 30, &bytes))
		buf_addf(err, "cannot read '%s': %s", from, strerror(errno));
	else
		rc = save_bytes(&bytes, copy_path, replace, NULL, NULL, written, err);
	buf_release(&bytes);
	return rc;
}

char *work_copy_name(const char *path, const char *suffix)
{
	const char *dot = path_ext(path);
	int stem = path_stem_len(path);

	return xasprintf("%.*s%s%s", stem, path, suffix, dot ? dot : "");
}

int work_downscale(const char *path, const char *format, int max_dim, const char *copy_path,
		   bool replace, work_hook hook, void *hook_data, char **written,
		   struct buf *err)
{
	struct buf bytes = BUF_INIT;
	int rc = imgvips_downscale(path, max_dim, format, &bytes, err) ? -1 :
		 save_bytes(&bytes, copy_path, replace, hook, hook_data, written, err);

	buf_release(&bytes);
	return rc;
}
