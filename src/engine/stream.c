/* Streamed answers (stream: true): Server-Sent Events whose data is JSON
 * with one image each. Each event's base64 is decoded into a temp file as it
 * arrives; a partial image then replaces NAME.partial-K.ext, a completed one
 * takes the final name. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cost.h"
#include "job_internal.h"
#include "msg.h"
#include "naming.h"
#include "stream.h"

static size_t current(const struct job *job)
{
	return job_image_slot(job);
}

static int on_data(void *ud, const char *p, size_t len)
{
	struct job *job = ud;

	if (!job->event_open) {
		scan_reset(&job->scan);
		job->event_open = true;
	}
	if (scan_feed(&job->scan, p, len) == 0)
		return 0;
	if (!job->error.len)
		buf_addf(&job->error, "bad stream: %s", job->scan.error ? job->scan.error : "cannot read it");
	return -1;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

static int save_partial(struct job *job, json_t *event)
{
	size_t i = current(job);
	json_t *index = json_object_get(event, "partial_image_index");
	json_int_t k = json_integer_value(index);
	struct job_image *im;
	char *path;

	if (i >= job->names.n)
		return 0;   /* after the last image's final: stale, its data was not kept */
	im = &job->images[i];
	if (job->env->no_save || !im->complete)
		return 0;
	/* The index goes into a file name: only what the API sends (0 to 2). */
	if (!json_is_integer(index) || k < 0 || k >= PARTIAL_IMAGES_MAX) {
		char *shown = json_dumps(index, JSON_ENCODE_ANY | JSON_COMPACT);
		job_warn(job, "%sa partial image with partial_image_index %s was not saved "
			 "(the API sends 0 to %d)", job->label ? job->label : "",
			 shown ? shown : "(none)", PARTIAL_IMAGES_MAX - 1);
		free(shown);
		afile_abort(&im->file);
		im->complete = false;
		return 0;
	}
	if (job_check_image(job, i))
		return -1;
	path = naming_partial(job->names.paths[i], (long)k);
	afile_rename(&im->file, path);
	/* Never over a file that is not this job's: one written earlier in this
	 * stream, or (batch) one the ledger gives it. */
	bool mine = job_may_replace(job, path);
	for (size_t p = 0; p < job->npartials && !mine; p++)
		mine = !strcmp(job->partials[p], path);
	if (afile_commit(&im->file, mine ? AFILE_REPLACE : AFILE_NO_CLOBBER, &job->error)) {
		if (errno != EEXIST) {
			free(path);
			return -1;
		}
		buf_reset(&job->error);
		job_warn(job, "%spartial image %lld not saved: '%s' is not imagegen's to replace",
			 job->label ? job->label : "", (long long)k, path);
		afile_abort(&im->file);
		afile_rename(&im->file, job->names.paths[i]);
		im->complete = false;
		free(path);
		return 0;
	}
	if (job->env->on_partial)
		job->env->on_partial(job, i, (long)k, path);
	else
		notef("%spartial image %lld saved: %s", job->label ? job->label : "", (long long)k,
		      path);
	for (size_t p = 0; p < job->npartials; p++) {
		if (!strcmp(job->partials[p], path)) {
			free(path);
			path = NULL;
			break;
		}
	}
	if (path) {
		char **grown = realloc(job->partials, (job->npartials + 1) * sizeof(char *));
		if (!grown)
			abort();
		job->partials = grown;
		job->partials[job->npartials++] = path;
	}
	afile_rename(&im->file, job->names.paths[i]);
	im->complete = false;
	return 0;
}

static void remove_partials(struct job *job)
{
	for (size_t p = 0; p < job->npartials; p++) {
		if (!job->env->keep_partials)
			unlink(job->partials[p]);
		free(job->partials[p]);
	}
	FREE_AND_NULL(job->partials);
	job->npartials = 0;
}

/* Output tokens one image of the event's size and quality is expected to
 * take (the price table's rule or earlier runs' average is not asked: only
 * the rule or a per-image row), or -1 when not known. */
static long image_tokens(const struct job *job, json_t *event)
{
	const struct price_row *row = job->env->prices
				      ? price_find(job->env->prices, job->params.model) : NULL;
	struct estimate_in in = {
		.quality = json_string_value(json_object_get(event, "quality")),
		.size = json_string_value(json_object_get(event, "size")),
		.n = 1,
	};
	struct cost c;
	long tokens = -1;

	if (!row || !in.quality || !in.size)
		return -1;
	price_estimate(row, &in, &c, &tokens);
	return c.basis == COST_UNKNOWN ? -1 : tokens;
}

/* Usage from a completed event. Whether each carries its own image's usage
 * or the whole request's is not documented (reference §4: "do not sum
 * blindly"). Different usages are each image's own, and add up. A usage
 * equal to the first event's is either the request's total repeated or an
 * image's own (images of one size and quality take the same tokens): it is
 * told by its output tokens against what one image takes, and an image's
 * own adds its output (its input, the request's, was counted once); when
 * that is not known, it counts once, and a warning says so. */
static void add_usage(struct job *job, json_t *usage, json_t *event)
{
	struct usage *u = &job->usage, one = { 0 };

	if (!json_is_object(usage))
		return;
	usage_parse(&one, usage);
	if (job->first_usage && json_equal(job->first_usage, usage)) {
		long each = image_tokens(job, event);

		if (each > 0 && one.output * 2 < each * 3) {
			struct usage output = { .output = one.output, .total = one.output,
						.output_image = one.output_image,
						.output_text = one.output_text,
						.output_split = one.output_split, .present = true };
			usage_add(u, &output);
		} else if (each <= 0 && !job->usage_doubt) {
			job->usage_doubt = true;
			job_warn(job, "%sthe stream's completed events carry the same usage, and "
				 "whether it is each image's or the request's total is not "
				 "documented: counted once", job->label ? job->label : "");
		}
		return;
	}
	if (!job->first_usage)
		job->first_usage = json_incref(usage);
	usage_add(u, &one);
}

/* The answer as one object, like a non-streamed response: "data" holds each
 * completed event (image i is data[i]), usage is the sum over them. */
static void collect_response(struct job *job, json_t *event)
{
	static const char *const copied[] = { "size", "quality", "background", "output_format" };
	json_t *r = job->response;

	if (!json_is_array(json_object_get(r, "data"))) {
		json_decref(r);
		r = job->response = json_object();
		json_object_set(r, "created", json_object_get(event, "created_at"));
		json_object_set_new(r, "data", json_array());
	}
	json_array_append(json_object_get(r, "data"), event);
	for (size_t i = 0; i < ARRAY_SIZE(copied); i++)
		if (json_object_get(event, copied[i]))
			json_object_set(r, copied[i], json_object_get(event, copied[i]));
}

static void set_usage(struct job *job)
{
	const struct usage *u = &job->usage;

	if (u->present && job->response)
		json_object_set_new(job->response, "usage", job_usage_json(u));
}

static int save_completed(struct job *job, json_t *event)
{
	size_t i = current(job);

	/* A protocol error: the stream is read no further (none of the extra
	 * data is kept) and the job fails; the images complete before it were
	 * paid for and are saved already, so they stay (and a batch records
	 * them: never paid for again). */
	if (i >= job->names.n) {
		buf_addf(&job->error, "bad stream: the server sent more completed images than the "
			 "%zu asked for (a protocol error); the image%s saved before it %s kept",
			 job->names.n, job->names.n == 1 ? "" : "s", job->names.n == 1 ? "is" : "are");
		return -1;
	}
	add_usage(job, json_object_get(event, "usage"), event);
	set_usage(job);
	job->paid = true;
	job_price(job);
	if (job->env->on_paid)
		job->env->on_paid(job);
	if (!job->size)
		job->size = json_string_value(json_object_get(event, "size"));
	job->completed++;
	if (!job->images[i].complete) {
		buf_addf(&job->error, "bad stream: image %zu has no data", i + 1);
		return -1;
	}
	if (job_check_image(job, i) || (!job->env->no_save && job_commit_image(job, i)))
		return -1;
	if (job->completed == job->names.n)
		remove_partials(job);
	return 0;
}

static int stream_error(struct job *job, json_t *event)
{
	json_t *err = json_object_get(event, "error");
	json_t *m = json_object_get(err, "message"), *c = json_object_get(err, "code");
	const char *key = job->call.secret;
	/* Server text: made safe to print, and any key in it redacted. */
	char *msg = json_is_string(m) ? api_text_safe(json_string_value(m), json_string_length(m),
						      key) : NULL;
	char *code = json_is_string(c) ? api_text_safe(json_string_value(c), json_string_length(c),
						       key) : NULL;

	buf_addf(&job->error, "the stream reported an error%s%s%s: %s",
		 code ? " (" : "", code ? code : "", code ? ")" : "",
		 msg ? msg : "no message");
	free(msg);
	free(code);
	return -1;
}

/* A complete event: its JSON says what the image was. */
static int on_dispatch(void *ud)
{
	struct job *job = ud;
	json_error_t jerr;
	json_t *event;
	const char *type;
	int rc = 0;

	if (!job->event_open)
		return 0;
	job->event_open = false;
	if (scan_finish(&job->scan)) {
		buf_addf(&job->error, "bad stream: an event ended inside a string");
		return -1;
	}
	event = json_loadb(job->scan.residual.data, job->scan.residual.len, 0, &jerr);
	type = json_string_value(json_object_get(event, "type"));
	if (!json_is_object(event) || !type) {
		buf_addf(&job->error, "bad stream: an event is not JSON with a type (%s)",
			 event ? "no type" : jerr.text);
		rc = -1;
	} else if (ends_with(type, ".partial_image")) {
		job->usage.partial_images++;
		rc = save_partial(job, event);
	} else if (ends_with(type, ".completed")) {
		collect_response(job, event);
		rc = save_completed(job, event);
	} else if (!strcmp(type, "error") || json_object_get(event, "error")) {
		rc = stream_error(job, event);
	}
	json_decref(event);
	return rc;
}

void job_stream_begin(struct job *job)
{
	struct sse_sink sink = { on_data, NULL, on_dispatch, job };

	sse_init(&job->sse, &sink);
	job->streaming = true;
	job->event_open = false;
	job->completed = 0;
}

int job_stream_feed(struct job *job, const char *data, size_t len)
{
	if (sse_feed(&job->sse, data, len) == 0)
		return 0;
	if (!job->error.len)
		buf_addf(&job->error, "bad stream: %s", job->sse.error ? job->sse.error : "cannot read it");
	return -1;
}

int job_stream_end(struct job *job)
{
	if (job->completed < job->names.n) {
		buf_addf(&job->error, "the stream ended before %s (%zu of %zu image%s complete)",
			 job->completed ? "every image was complete" : "the image was complete",
			 job->completed, job->names.n, job->names.n == 1 ? "" : "s");
		if (job->npartials)
			buf_addf(&job->error, "; partial images kept: %s%s", job->partials[0],
				 job->npartials > 1 ? ", ..." : "");
		job_discard_images(job);
		for (size_t p = 0; p < job->npartials; p++)
			free(job->partials[p]);
		FREE_AND_NULL(job->partials);
		job->npartials = 0;
		return -1;
	}
	return 0;
}

void job_stream_interrupted(struct job *job)
{
	if (job->env->keep_partials && job->npartials && !job->error.len)
		buf_addf(&job->error, "interrupted; partial images kept: %s%s", job->partials[0],
			 job->npartials > 1 ? ", ..." : "");
	remove_partials(job);   /* unlinks them unless --keep-partials */
}

void job_stream_release(struct job *job)
{
	json_decref(job->first_usage);
	job->first_usage = NULL;
	for (size_t p = 0; p < job->npartials; p++)
		free(job->partials[p]);
	FREE_AND_NULL(job->partials);
	job->npartials = 0;
}
