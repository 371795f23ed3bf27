#include "job.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cost.h"
#include "history.h"
#include "job_internal.h"
#include "request.h"
#include "stream.h"

void job_finish(struct job *job);
static const struct call_ops job_call_ops;

/* ---- life cycle ---- */

void job_init(struct job *job, struct job_env *env, size_t index, char *prompt,
	      const struct img_params *params, struct job_request *req,
	      struct name_plan *plan)
{
	struct scan_sink sink = { job_image_open, job_image_scan_write, job_image_close, job };

	memset(job, 0, sizeof(*job));
	job->env = env;
	job->index = index;
	job->prompt = prompt;
	job->params = *params;
	job->req = *req;
	*req = (struct job_request){ NULL, NULL, FORM_INIT };
	job->names = *plan;
	*plan = (struct name_plan)NAME_PLAN_INIT;
	job->finish = job_finish;
	job->images = xcalloc(job->names.n, sizeof(*job->images));
	job->saved = xcalloc(job->names.n, sizeof(*job->saved));
	for (size_t i = 0; i < job->names.n; i++) {
		job->images[i].file = (struct afile)AFILE_INIT;
		job->images[i].job = job;
		job->images[i].index = i;
	}
	scan_init(&job->scan, &sink, env->keep_response);
	job->state = JOB_PENDING;
	job_estimate(job, 0);
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
	env->keep_original = s->keep_original;
	env->downscale_max = (int)s->downscale_max;
	env->downscale_suffix = s->downscale_suffix ? s->downscale_suffix : SPEC_DEFAULT_SUFFIX;
	env->seed = (unsigned)time(NULL) ^ (unsigned)getpid();
}

void job_init_plan(struct job *job, struct job_env *env, size_t index, struct job_plan *plan,
		   const struct api_config *api)
{
	struct job_request req = { job_plan_prepare(plan, api), NULL, FORM_INIT };

	if (plan->form.n) {
		req.form = plan->form;
		plan->form = (struct form)FORM_INIT;
	} else {
		req.json = json_dumps(plan->body, JSON_COMPACT);
	}
	job_init(job, env, index, plan->prompt, &plan->params, &req, &plan->names);
	plan->prompt = NULL;
	if (plan->input_tokens)
		job_estimate(job, plan->input_tokens);
}

int job_start(struct job *job)
{
	struct job_env *env = job->env;
	const char *type = job->req.form.n ? NULL : "application/json";
	struct call *c = &job->call;
	curl_mime *mime = NULL;

	if (call_setup(c, &job_call_ops, job, env->loop, &env->retry, &env->seed, job->req.url,
		       provider_headers(env->api, type, false), env->api->timeout, true) ||
	    (job->req.form.n && !(mime = form_mime(&job->req.form, c->xfer.easy)))) {
		buf_adds(&job->error, "cannot set up the HTTP transfer");
		return -1;
	}
	if (mime)
		http_xfer_set_mime(&c->xfer, mime);
	else
		http_xfer_set_json(&c->xfer, job->req.json);
	job->state = JOB_RUNNING;
	job->started_ms = now_ms();
	call_start(c);
	return 0;
}

void job_release(struct job *job)
{
	for (size_t i = 0; job->images && i < job->names.n; i++) {
		afile_release(&job->images[i].file);
		call_release(&job->images[i].call);
		free(job->images[i].url);
	}
	/* (An ended job has shed its images already, not its saved paths.) */
	for (size_t i = 0; job->saved && i < job->names.n; i++)
		free(job->saved[i]);
	FREE_AND_NULL(job->images);
	FREE_AND_NULL(job->saved);
	job_say_notes(job, false);
	job_stream_release(job);
	name_plan_release(&job->names);
	call_release(&job->call);
	scan_release(&job->scan);
	buf_release(&job->error);
	json_decref(job->response);
	job->response = NULL;
	FREE_AND_NULL(job->prompt);
	FREE_AND_NULL(job->req.url);
	FREE_AND_NULL(job->req.json);
	form_release(&job->req.form);
}

/* Bytes of a 2xx answer: a JSON body's images are decoded as they come; an
 * event stream goes to stream.c. */
static int job_body(struct call *c, const char *data, size_t len)
{
	struct job *job = c->owner;
	const struct http_xfer *x = &c->xfer;

	job->received += len;
	if (!job->body_started) {
		job->body_started = true;
		if (x->resp.content_type && !strncmp(x->resp.content_type, "text/event-stream", 17))
			job_stream_begin(job);
		else
			job->paid = true;   /* images are coming: billed, whatever becomes of them */
	}
	if (job->streaming)
		return job_stream_feed(job, data, len);
	if (scan_feed(&job->scan, data, len) == 0)
		return 0;
	if (!job->error.len)
		buf_addf(&job->error, "bad response: %s",
			 job->scan.error ? job->scan.error : "cannot read it");
	return -1;
}

/* Another attempt is coming: what this one wrote goes. */
static int job_again(struct call *c, const char *reason, long status, long delay_ms)
{
	struct job *job = c->owner;
	struct job_env *env = job->env;

	job_warn(job, "%s%s; retrying in %.1f s (attempt %d of %ld)", job->label ? job->label : "",
		 reason, delay_ms / 1000.0, c->attempts + 1, env->retry.max_attempts);
	if (env->pace)
		pace_retry(env->pace, status, delay_ms);
	job_discard_images(job);
	scan_reset(&job->scan);
	buf_reset(&job->error);
	/* An answer cut short after its images began was billed all the same,
	 * with no usage to say how much: counted, priced at its estimate. */
	if (job->body_started && !job->streaming)
		job->cut_short++;
	job->usage = (struct usage){ 0 };
	json_decref(job->first_usage);
	job->first_usage = NULL;
	job->usage_doubt = false;
	job->body_started = false;
	job->received = 0;
	job->streaming = false;
	return 0;
}

bool job_cancel(struct job *job)
{
	if (job->state != JOB_RUNNING || job->off_loop || job->pending_downloads)
		return false;
	return http_loop_cancel(job->env->loop, &job->call.xfer);
}

static void job_answer(struct call *c, const struct http_xfer *x)
{
	struct job *job = c->owner;

	if (job->env->pace)
		pace_answer(job->env->pace, x);
}

void job_fail(struct job *job, const char *fmt_reason)
{
	job_discard_images(job);
	if (!job->error.len && fmt_reason)
		buf_adds(&job->error, fmt_reason);
	job_finish(job);
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

static bool all_complete(const struct job *job, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!job->images[i].complete)
			return false;
	return true;
}

/* Commits images [0, n), all complete; on a failure the rest are dropped. */
static void commit_images(struct job *job, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (job_commit_image(job, i)) {
			for (size_t k = i; k < n; k++)
				afile_abort(&job->images[k].file);
			return;
		}
	}
}

void job_commit_handed(struct job *job)
{
	commit_images(job, job->to_commit);
}

void job_committed(struct job *job)
{
	job->off_loop = false;
	job_say_notes(job, true);
	job_finish(job);
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
	usage_parse(&job->usage, json_object_get(job->response, "usage"));
	job->size = json_string_value(json_object_get(job->response, "size"));
	job->paid = true;
	job_price(job);
	if (job->env->on_paid)
		job->env->on_paid(job);
	usable = count < job->names.n ? count : job->names.n;
	if (count > job->names.n)
		job_warn(job, "the server sent %zu images for %zu asked; keeping %zu", count,
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
	if (job->env->commit && !job->env->no_save && all_complete(job, usable)) {
		/* Committed off the loop; the job ends when it is back. */
		job->to_commit = usable;
		job->off_loop = true;
		job->env->commit(job);
		return;
	}
	for (size_t i = 0; i < usable; i++) {
		json_t *url = json_object_get(json_array_get(data, i), "url");

		if (!job->images[i].complete) {
			job_download_start(job, i, json_string_value(url));
		} else if (!job->env->no_save && job_commit_image(job, i)) {
			/* Downloads already started end the job when they are done;
			 * images not yet committed are dropped with it. */
			for (size_t k = i; k < usable; k++)
				if (job->images[k].complete)
					afile_abort(&job->images[k].file);
			break;
		}
	}
	if (!job->pending_downloads)
		job_finish(job);
}

static void job_done(struct call *c, enum call_result r)
{
	struct job *job = c->owner;

	if (r == CALL_INTERRUPTED) {
		job->state = JOB_INTERRUPTED;
		if (job->streaming)
			job_stream_interrupted(job);
		job_fail(job, "interrupted");
		return;
	}
	if (r == CALL_FAILED) {
		/* The call's reason, unless our side stopped it with its own. */
		if (!job->error.len)
			buf_adds(&job->error, c->error.data ? c->error.data : "request failed");
		job_fail(job, NULL);
		return;
	}
	if (!job->streaming)
		job_success(job);
	else if (job_stream_end(job))
		job_fail(job, NULL);
	else
		job_finish(job);
}

static const struct call_ops job_call_ops = { job_body, job_answer, job_again, job_done };

/* The job's request was sent another way, once (in a Batch API batch):
 * it runs from here, on the loop, as if its answer had just begun. */
static void taken(struct job *job, const char *request_id)
{
	job->state = JOB_RUNNING;
	job->started_ms = now_ms();
	job->call.xfer.launches = 1;
	free(job->call.xfer.resp.request_id);
	job->call.xfer.resp.request_id = request_id ? xstrdup(request_id) : NULL;
}

void job_take_answer(struct job *job, const char *body, size_t len, const char *request_id)
{
	taken(job, request_id);
	job->body_started = true;
	job->paid = true;   /* images came: billed, whatever becomes of them */
	if (scan_feed(&job->scan, body, len)) {
		buf_addf(&job->error, "bad response: %s",
			 job->scan.error ? job->scan.error : "cannot read it");
		job_fail(job, NULL);
		return;
	}
	job_success(job);
}

void job_take_failure(struct job *job, const char *reason, const char *request_id)
{
	taken(job, request_id);
	job_fail(job, reason);
}

/* What an ended job no longer needs, freed at once so that a batch holds
 * only each job's result however many it has: its curl handles (the
 * connection stays in the loop's pool), the request, the images' transfer
 * state, the scan, and the response unless a command prints it. What is
 * read after the end stays: state, usage, saved paths, error, attempts. */
static void job_shed(struct job *job)
{
	http_xfer_release(&job->call.xfer);
	FREE_AND_NULL(job->req.url);
	FREE_AND_NULL(job->req.json);
	form_release(&job->req.form);
	for (size_t i = 0; job->images && i < job->names.n; i++) {
		afile_release(&job->images[i].file);
		call_release(&job->images[i].call);
		free(job->images[i].url);
	}
	FREE_AND_NULL(job->images);
	scan_release(&job->scan);
	if (!job->env->keep_response) {
		json_decref(job->response);
		job->response = NULL;
		job->size = NULL;   /* borrowed from it */
	}
}

void job_finish(struct job *job)
{
	if (job->paid) {
		job_price(job);   /* before the response it reads is shed */
		if (job->env->history)
			history_add(job->env->history, job);
	}
	job_shed(job);
	job->finished_ms = now_ms();
	if (job->state != JOB_INTERRUPTED)
		job->state = job->error.len ? JOB_FAILED : JOB_DONE;
	if (job->state == JOB_DONE && job->env->pace)
		pace_success(job->env->pace);
	if (job->env->on_finished)
		job->env->on_finished(job);
}
