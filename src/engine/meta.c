#include "meta.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "cost.h"
#include "gifmeta.h"
#include "job_internal.h"
#include "naming.h"
#include "pngmeta.h"
#include "svgmeta.h"
#include "request.h"
#include "sniff.h"

/* The response's item for image i (or the streamed event). */
static json_t *item(const struct job *job, size_t i)
{
	json_t *data = json_object_get(job->response, "data");

	return json_is_array(data) ? json_array_get(data, i) : job->response;
}

static json_int_t created(const struct job *job)
{
	json_t *t = json_object_get(job->response, "created");

	if (!json_is_integer(t))
		t = json_object_get(job->response, "created_at");
	return json_is_integer(t) ? json_integer_value(t) : (json_int_t)time(NULL);
}

json_t *meta_describe(const struct job *job, size_t i)
{
	json_t *o = json_object();
	json_t *params = request_generation_body(&job->params, NULL);
	const char *revised = json_string_value(json_object_get(item(job, i), "revised_prompt"));
	time_t when = (time_t)created(job);
	struct tm tm;
	char iso[32];

	json_object_del(params, "model");
	/* gmtime_r: a batch describes images on its worker and on the loop. */
	strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&when, &tm));
	json_object_set_new(o, "prompt", json_string(job->prompt ? job->prompt : ""));
	json_object_set_new(o, "model", json_string(job->params.model ? job->params.model : ""));
	json_object_set_new(o, "parameters", params);
	if (revised)
		json_object_set_new(o, "revised_prompt", json_string(revised));
	json_object_set_new(o, "created", json_string(iso));
	json_object_set_new(o, "tool", json_string("imagegen " IMAGEGEN_VERSION));
	if (job->paid) {
		/* The request's cost; n images are billed alike, a share each. */
		json_t *cost = job_cost_json(job);
		if (job->streaming && job->names.n > 1) {
			/* Each image is saved as its event comes: the cost so far. */
			json_object_set_new(cost, "images_so_far",
					    json_integer((json_int_t)job->completed));
		} else if (job->names.n > 1 && job->cost.basis != COST_UNKNOWN) {
			json_object_set_new(cost, "images", json_integer((json_int_t)job->names.n));
			json_object_set_new(cost, "usd_each",
					    json_real(job->cost.usd / (double)job->names.n));
		}
		json_object_set_new(o, "cost", cost);
	}
	return o;
}

/* The record as one JSON text (ASCII only: a GIF comment is 7-bit) with
 * the PNG keywords as keys, for the formats without text chunks. */
static char *entries_json(const struct meta_entry *e, size_t n)
{
	json_t *o = json_object();
	char *text;

	for (size_t i = 0; i < n; i++)
		if (e[i].text)
			json_object_set_new(o, e[i].keyword, json_string(e[i].text));
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	json_decref(o);
	return text;
}

/* GIF: a comment extension before the first frame; SVG: a <metadata> element
 * first in the root. The temp file is read back and rewritten whole. */
static int embed_text(struct afile *f, const char *format, const struct meta_entry *e,
		      size_t n, struct buf *err)
{
	struct buf old = BUF_INIT, out = BUF_INIT;
	char *text = entries_json(e, n);
	int rc = -1;

	if (read_file(f->tmp, (size_t)1 << 30, &old)) {
		buf_addf(err, "cannot read back '%s' to add its metadata", f->tmp);
		goto cleanup;
	}
	if (!strcmp(format, "gif"))
		rc = gifmeta_add_comment((const unsigned char *)old.data, old.len, text, &out, err);
	else
		rc = svgmeta_add(old.data ? old.data : "", old.len, text, &out, err);
	if (rc == 0)
		rc = afile_rewrite(f, out.data, out.len, err);
cleanup:
	buf_release(&old);
	buf_release(&out);
	free(text);
	return rc;
}

bool meta_embeds(const char *format)
{
	return format && (!strcmp(format, "png") || !strcmp(format, "gif") ||
			  !strcmp(format, "svg"));
}

int meta_embed(const struct job *job, size_t i, struct afile *f, const char *format,
	       struct buf *err)
{
	json_t *d;
	char *params, *cost;
	int rc;
	bool png = !strcmp(format, "png");

	if (!meta_embeds(format) || f->fd < 0)
		return 0;
	d = meta_describe(job, i);
	params = json_dumps(json_object_get(d, "parameters"), JSON_COMPACT | JSON_PRESERVE_ORDER);
	cost = json_object_get(d, "cost") ? json_dumps(json_object_get(d, "cost"),
						       JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	struct meta_entry entries[] = {
		{ "Software", json_string_value(json_object_get(d, "tool")) },
		{ "Description", json_string_value(json_object_get(d, "prompt")) },
		{ "Creation Time", json_string_value(json_object_get(d, "created")) },
		{ "imagegen:model", json_string_value(json_object_get(d, "model")) },
		{ "imagegen:parameters", params },
		{ "imagegen:revised_prompt", json_string_value(json_object_get(d, "revised_prompt")) },
		{ "imagegen:cost", cost },
		{ "imagegen:job", job->key },
	};
	rc = png ? pngmeta_append(f->fd, entries, ARRAY_SIZE(entries), err)
		 : embed_text(f, format, entries, ARRAY_SIZE(entries), err);
	free(params);
	free(cost);
	json_decref(d);
	return rc;
}

/* The most of a file read to find its record: more than any image the API
 * sends. */
#define META_READ_MAX ((size_t)256 << 20)

static void png_key(const char *keyword, const char *text, void *ud)
{
	char **key = ud;

	if (!strcmp(keyword, "imagegen:job") && !*key)
		*key = xstrdup(text);
}

/* imagegen's record in a GIF comment or SVG <metadata>: a JSON object. */
static void json_key(const char *text, size_t len, void *ud)
{
	char **key = ud;
	json_t *o = json_loadb(text, len, 0, NULL);
	const char *found = json_string_value(json_object_get(o, "imagegen:job"));

	if (found && !*key)
		*key = xstrdup(found);
	json_decref(o);
}

char *meta_read_key(const char *path)
{
	struct buf data = BUF_INIT, why = BUF_INIT, meta = BUF_INIT;
	const char *format;
	char *key = NULL;

	if (read_file(path, META_READ_MAX, &data))
		goto cleanup;
	format = sniff_format((const unsigned char *)data.data, data.len);
	if (format && !strcmp(format, "png")) {
		pngmeta_read((const unsigned char *)data.data, data.len, png_key, &key, &why);
	} else if (format && !strcmp(format, "gif")) {
		struct gif_info g;
		gifmeta_scan((const unsigned char *)data.data, data.len, &g, json_key, &key, &why);
	} else if (format && !strcmp(format, "svg")) {
		struct svg_info sv;
		if (svgmeta_scan(data.data ? data.data : "", data.len, &sv, &meta, &why) == 0 &&
		    meta.len)
			json_key(meta.data, meta.len, &key);
	}
cleanup:
	buf_release(&data);
	buf_release(&why);
	buf_release(&meta);
	return key;
}

char *meta_sidecar_path(const char *path)
{
	return naming_sidecar(path);
}

int meta_write_sidecar(const struct job *job, size_t i, const char *path, struct buf *err)
{
	json_t *d = meta_describe(job, i);
	char *side = meta_sidecar_path(path);
	char *text;
	struct afile f = AFILE_INIT;
	int rc;

	json_object_set_new(d, "file", json_string(path_basename(path)));
	if (job->usage.present)
		json_object_set_new(d, "usage", job_usage_json(&job->usage));
	job_partials_json(&job->usage, d);
	text = json_dumps(d, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	/* Never over a file that is not this job's (B7: not even the ledger). */
	rc = afile_open(&f, side, err) || afile_write(&f, text, strlen(text), err) ||
	     afile_write(&f, "\n", 1, err) ||
	     afile_commit(&f, job_may_replace(job, side) ? AFILE_REPLACE : AFILE_NO_CLOBBER, err)
		     ? -1 : 0;
	afile_release(&f);
	free(text);
	free(side);
	json_decref(d);
	return rc;
}
