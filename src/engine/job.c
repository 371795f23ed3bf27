#include "job.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "job_internal.h"
#include "imagework.h"
#include "meta.h"
#include "request.h"
#include "stream.h"
#include "msg.h"

#define ERRBODY_MAX (1024 * 1024)
#define DECODE_CHUNK 49152

void job_finish(struct job *job);
static void job_done(struct http_xfer *x, CURLcode rc);
static int job_body(struct http_xfer *x, const char *data, size_t len);

/* ---- the response's images, decoded as they stream in ---- */

/* Which image a scanned value is: its place in the response, or for a
 * stream the image the current event belongs to. */
static size_t slot(const struct job *job, size_t index)
{
	return job->streaming ? job_stream_slot(job) : index;
}

int job_image_open(void *data, size_t index)
{
	struct job *job = data;
	struct job_image *im;

	index = slot(job, index);
	if (index >= job->names.n)
		return 0;   /* more images than asked for: counted, not saved */
	im = &job->images[index];
	im->b64 = (struct b64)B64_INIT;
	im->head_len = 0;
	im->complete = false;
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
		if (im->file.fd >= 0 && afile_write(&im->file, out, (size_t)n, &job->error))
			return -1;
		text += take;
		len -= take;
	}
	return 0;
}

static int scan_write(void *data, const char *text, size_t len)
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

/* ---- life cycle ---- */

void job_init(struct job *job, struct job_env *env, size_t index, char *prompt,
	      const struct img_params *params, struct job_request *req,
	      struct name_plan *plan)
{
	struct scan_sink sink = { job_image_open, scan_write, job_image_close, job };

	memset(job, 0, sizeof(*job));
	job->env = env;
	job->index = index;
	job->prompt = prompt;
	job->params = *params;
	job->req = *req;
	*req = (struct job_request){ NULL, NULL, FORM_INIT };
	job->names = *plan;
	*plan = (struct name_plan)NAME_PLAN_INIT;
	job->images = xcalloc(job->names.n, sizeof(*job->images));
	job->saved = xcalloc(job->names.n, sizeof(*job->saved));
	for (size_t i = 0; i < job->names.n; i++) {
		job->images[i].file = (struct afile)AFILE_INIT;
		job->images[i].job = job;
		job->images[i].index = i;
	}
	scan_init(&job->scan, &sink, env->keep_response);
	job->state = JOB_PENDING;
}

void job_env_init(struct job_env *env, const struct job_spec *s,
		  const struct chroma_opts *chroma)
{
	env->no_save = s->no_save;
	env->force = s->force;
	env->keep_partials = s->keep_partials;
	env->metadata = !s->no_metadata;
	env->sidecar = s->sidecar;
	env->chroma = *chroma;
	env->downscale_max = (int)s->downscale_max;
	env->downscale_suffix = s->downscale_suffix ? s->downscale_suffix : SPEC_DEFAULT_SUFFIX;
	env->seed = (unsigned)time(NULL) ^ (unsigned)getpid();
}

void job_init_plan(struct job *job, struct job_env *env, size_t index, struct job_plan *plan,
		   const struct api_config *api)
{
	struct job_request req = { request_url(api, plan->endpoint), NULL, FORM_INIT };

	if (plan->form.n) {
		req.form = plan->form;
		plan->form = (struct form)FORM_INIT;
	} else {
		req.json = json_dumps(plan->body, JSON_COMPACT);
	}
	job_init(job, env, index, plan->prompt, &plan->params, &req, &plan->names);
	plan->prompt = NULL;
}

int job_start(struct job *job)
{
	struct http_xfer *x = &job->xfer;

	const char *type = job->req.form.n ? NULL : "application/json";
	curl_mime *mime = NULL;

	if (http_xfer_setup(x, job->env->api, job->req.url, type, true) ||
	    (job->req.form.n && !(mime = form_mime(&job->req.form, x->easy)))) {
		buf_adds(&job->error, "cannot set up the HTTP transfer");
		return -1;
	}
	if (mime)
		http_xfer_set_mime(x, mime);
	else
		http_xfer_set_json(x, job->req.json);
	x->owner = job;
	x->on_body = job_body;
	x->on_done = job_done;
	x->not_before = 0;
	job->attempts = 1;
	job->state = JOB_RUNNING;
	job->started_ms = now_ms();
	http_loop_add(job->env->loop, x);
	return 0;
}

void job_release(struct job *job)
{
	for (size_t i = 0; job->images && i < job->names.n; i++) {
		afile_release(&job->images[i].file);
		http_xfer_release(&job->images[i].xfer);
		free(job->images[i].url);
		free(job->saved[i]);
	}
	FREE_AND_NULL(job->images);
	FREE_AND_NULL(job->saved);
	job_stream_release(job);
	name_plan_release(&job->names);
	http_xfer_release(&job->xfer);
	scan_release(&job->scan);
	buf_release(&job->errbody);
	buf_release(&job->error);
	api_error_release(&job->apierr);
	json_decref(job->response);
	job->response = NULL;
	FREE_AND_NULL(job->prompt);
	FREE_AND_NULL(job->req.url);
	FREE_AND_NULL(job->req.json);
	form_release(&job->req.form);
}

static int job_body(struct http_xfer *x, const char *data, size_t len)
{
	struct job *job = x->owner;

	if (x->status >= 200 && x->status < 300) {
		if (!job->body_started) {
			job->body_started = true;
			if (x->resp.content_type &&
			    !strncmp(x->resp.content_type, "text/event-stream", 17))
				job_stream_begin(job);
		}
		if (job->streaming) {
			if (job_stream_feed(job, data, len) == 0)
				return 0;
			job->body_failed = true;
			return -1;
		}
		if (scan_feed(&job->scan, data, len) == 0)
			return 0;
		if (!job->error.len)
			buf_addf(&job->error, "bad response: %s",
				 job->scan.error ? job->scan.error : "cannot read it");
		job->body_failed = true;
		return -1;
	}
	if (job->errbody.len < ERRBODY_MAX)
		buf_add(&job->errbody, data, len);
	return 0;
}

double job_jitter(struct job_env *env)
{
	return rand_r(&env->seed) / ((double)RAND_MAX + 1.0);
}

/* Queues another attempt if the policy allows; false when attempts ran out. */
static bool job_retry(struct job *job, const struct retry_hints *hints,
		      const char *reason)
{
	struct job_env *env = job->env;
	long delay;

	if (job->attempts >= env->retry.max_attempts)
		return false;
	delay = retry_delay_ms(&env->retry, job->attempts - 1, hints, job_jitter(env),
			       time(NULL));
	warnf("%s%s; retrying in %.1f s (attempt %d of %ld)", job->label ? job->label : "",
	      reason, delay / 1000.0, job->attempts + 1, env->retry.max_attempts);
	if (env->on_retry)
		env->on_retry(job, job->xfer.status, delay);
	job_discard_images(job);
	scan_reset(&job->scan);
	buf_reset(&job->errbody);
	buf_reset(&job->error);
	api_error_release(&job->apierr);
	http_xfer_reset(&job->xfer);
	job->body_failed = false;
	job->body_started = false;
	job->streaming = false;
	job->attempts++;
	job->xfer.not_before = now_ms() + delay;
	http_loop_add(env->loop, &job->xfer);
	return true;
}

void job_fail(struct job *job, const char *fmt_reason)
{
	job_discard_images(job);
	if (!job->error.len && fmt_reason)
		buf_adds(&job->error, fmt_reason);
	job_finish(job);
}

void job_usage_parse(struct usage *u, json_t *usage)
{
	json_t *details = json_object_get(usage, "input_tokens_details");

	if (!json_is_object(usage))
		return;
	u->present = true;
	u->input = (long)json_integer_value(json_object_get(usage, "input_tokens"));
	u->output = (long)json_integer_value(json_object_get(usage, "output_tokens"));
	u->total = (long)json_integer_value(json_object_get(usage, "total_tokens"));
	u->input_text = (long)json_integer_value(json_object_get(details, "text_tokens"));
	u->input_image = (long)json_integer_value(json_object_get(details, "image_tokens"));
}

/* A base64 value the scan could not divert (an escaped key): decode it now. */
static int decode_kept(struct job *job, size_t i, json_t *b64)
{
	if (job_image_open(job, i))
		return -1;
	if (job_image_write(job, i, json_string_value(b64), json_string_length(b64)))
		return -1;
	return job_image_close(job, i);
}

/* Checks an image's bytes; a format other than the one asked for renames a
 * derived name's extension. 0, or -1 when it is no image at all. */
int job_check_image(struct job *job, size_t i)
{
	struct job_image *im = &job->images[i];
	const char *got = sniff_format(im->head, im->head_len);
	const char *want = params_format(&job->params);

	if (!got || !strcmp(got, "gif")) {
		buf_addf(&job->error, "image %zu in the response is not a PNG, JPEG or "
			 "WebP image", i + 1);
		return -1;
	}
	if (strcmp(got, want) && !job->env->no_save) {
		const char *path = im->file.path;
		const char *dot = path_ext(path);
		if (job->names.explicit_names) {
			warnf("the server sent %s, not %s; '%s' keeps its name", got, want, path);
		} else {
			char *renamed = xasprintf("%.*s%s", (int)(dot ? dot - path : (long)strlen(path)),
						  path, format_ext(got));
			warnf("the server sent %s, not %s; saving as '%s'", got, want, renamed);
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

/* The downscaled copy of a saved image. */
static int save_copy(struct job *job, size_t i, const char *path, const char *format)
{
	char *name = work_copy_name(path, job->env->downscale_suffix);
	char *written = NULL;
	struct copy_meta meta = { job, i, format };
	int rc = work_downscale(path, format, job->env->downscale_max, name,
				job->names.replace, embed_copy_meta, &meta, &written,
				&job->error);

	if (rc == 0 && job->env->on_saved)
		job->env->on_saved(job, JOB_EXTRA_FILE, written);
	free(written);
	free(name);
	return rc;
}

int job_commit_image(struct job *job, size_t i)
{
	struct afile *f = &job->images[i].file;
	bool replace = job->names.replace;
	const char *format = sniff_format(job->images[i].head, job->images[i].head_len);

	if (job->env->chroma.enabled &&
	    work_chroma(f, format, &job->env->chroma, &job->error))
		return -1;
	if (job->env->metadata && meta_embed(job, i, f, format, &job->error))
		return -1;
	for (;;) {
		if (job->env->on_committing)
			job->env->on_committing(job, i, f->path);
		if (!afile_commit(f, replace ? AFILE_REPLACE : AFILE_NO_CLOBBER, &job->error))
			break;
		if (errno != EEXIST)
			return -1;
		/* The name was taken while the request ran: never overwrite. */
		char *next = naming_next_free(f->path, naming_exists_on_disk, NULL);
		warnf("'%s' appeared meanwhile; saving as '%s'", f->path, next);
		afile_rename(f, next);
		free(next);
	}
	job->saved[i] = xstrdup(f->path);
	if (job->env->sidecar && meta_write_sidecar(job, i, f->path, &job->error))
		return -1;
	if (job->env->on_saved)
		job->env->on_saved(job, i, f->path);
	return job->env->downscale_max ? save_copy(job, i, f->path, format) : 0;
}

static void job_success(struct job *job)
{
	json_error_t jerr;
	json_t *data;
	size_t count, usable;

	if (scan_finish(&job->scan)) {
		job_fail(job, "bad response: it ended inside a string");
		return;
	}
	job->response = json_loadb(job->scan.residual.data, job->scan.residual.len, 0, &jerr);
	if (!json_is_object(job->response)) {
		buf_addf(&job->error, "bad response: not JSON (%s, line %d)", jerr.text, jerr.line);
		job_fail(job, NULL);
		return;
	}
	data = json_object_get(job->response, "data");
	count = json_array_size(data);
	if (!json_is_array(data) || count == 0) {
		job_fail(job, "bad response: it holds no images");
		return;
	}
	job_usage_parse(&job->usage, json_object_get(job->response, "usage"));
	job->size = json_string_value(json_object_get(job->response, "size"));
	usable = count < job->names.n ? count : job->names.n;
	if (count > job->names.n)
		warnf("the server sent %zu images for %zu asked; keeping %zu", count,
		      job->names.n, usable);
	for (size_t i = 0; i < usable; i++) {
		json_t *item = json_array_get(data, i);
		json_t *b64 = json_object_get(item, "b64_json");
		json_t *url = json_object_get(item, "url");

		if (!job->images[i].complete && json_string_length(b64) > 0 &&
		    decode_kept(job, i, b64)) {
			job_fail(job, NULL);
			return;
		}
		if (!job->images[i].complete && !json_is_string(url)) {
			buf_addf(&job->error, "bad response: image %zu has no data", i + 1);
			job_fail(job, NULL);
			return;
		}
		if (job->images[i].complete && job_check_image(job, i)) {
			job_fail(job, NULL);
			return;
		}
	}
	for (size_t i = 0; i < usable; i++) {
		json_t *url = json_object_get(json_array_get(data, i), "url");

		if (!job->images[i].complete)
			job_download_start(job, i, json_string_value(url));
		else if (!job->env->no_save && job_commit_image(job, i)) {
			job_fail(job, NULL);
			return;
		}
	}
	if (!job->pending_downloads)
		job_finish(job);
}

char *job_transport_reason(const struct http_xfer *x, CURLcode rc)
{
	return xasprintf("%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
}

static void env_answer(struct job *job, const struct http_xfer *x)
{
	if (job->env->on_answer)
		job->env->on_answer(job, x);
}

static void job_done(struct http_xfer *x, CURLcode rc)
{
	struct job *job = x->owner;
	struct retry_hints hints = { 0 };
	char *reason;

	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		job->state = JOB_INTERRUPTED;
		job_fail(job, "interrupted");
		return;
	}
	if (rc != CURLE_OK) {
		if (job->body_failed) {
			job_fail(job, NULL);   /* our side stopped it: the reason is set */
			return;
		}
		reason = job_transport_reason(x, rc);
		if (!http_retryable(rc) || !job_retry(job, NULL, reason)) {
			buf_addf(&job->error, "request failed: %s", reason);
			job_fail(job, NULL);
		}
		free(reason);
		return;
	}
	env_answer(job, x);
	if (x->status >= 200 && x->status < 300 && job->streaming) {
		job_stream_end(job);
		return;
	}
	if (x->status >= 200 && x->status < 300) {
		job_success(job);
		return;
	}
	api_error_parse(&job->apierr, x->status, job->errbody.data, job->errbody.len,
			x->resp.request_id);
	hints.retry_after_ms = x->resp.retry_after_ms;
	hints.retry_after = x->resp.retry_after;
	hints.should_retry = x->resp.should_retry;
	hints.error_code = job->apierr.code ? job->apierr.code : job->apierr.type;
	reason = api_error_summary(&job->apierr);
	if (!(retry_status(x->status, &hints) && job_retry(job, &hints, reason))) {
		buf_adds(&job->error, reason);
		job_fail(job, NULL);
	}
	free(reason);
}

void job_finish(struct job *job)
{
	job->finished_ms = now_ms();
	if (job->state != JOB_INTERRUPTED)
		job->state = job->error.len ? JOB_FAILED : JOB_DONE;
	if (job->env->on_finished)
		job->env->on_finished(job);
}
