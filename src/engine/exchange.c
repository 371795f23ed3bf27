#include "exchange.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"

/* The most an answer (a Batch, a list of them) may hold in memory. */
#define ANSWER_MAX (8 * 1024 * 1024)

struct exchange {
	struct call call;
	const struct exchange_opts *o;
	const char *what;         /* "GET /batches/ID", for messages */
	struct buf body;          /* the answer, unless it goes to sink */
	FILE *sink;
	enum call_result result;
	struct buf why;           /* our own reason to stop it */
};

static int ex_body(struct call *c, const char *data, size_t len)
{
	struct exchange *e = c->owner;

	if (e->sink) {
		if (fwrite(data, 1, len, e->sink) == len)
			return 0;
		buf_addf(&e->why, "cannot write what came: %s", strerror(errno));
		return -1;
	}
	if (e->body.len + len > ANSWER_MAX) {
		buf_addf(&e->why, "the answer is larger than %d MB", ANSWER_MAX >> 20);
		return -1;
	}
	buf_add(&e->body, data, len);
	return 0;
}

static int ex_retry(struct call *c, const char *reason, long status, long delay_ms)
{
	struct exchange *e = c->owner;
	char *text;

	(void)status;
	text = xasprintf("%s%s: %s; retrying in %.1f s (attempt %d of %ld)", e->o->label,
			 e->what, reason, delay_ms / 1000.0, c->attempts + 1, c->policy.max_attempts);
	if (e->o->warn)
		e->o->warn(e->o->ud, text);
	free(text);
	buf_reset(&e->body);
	if (e->sink && (fflush(e->sink) || ftruncate(fileno(e->sink), 0) || fseek(e->sink, 0,
										      SEEK_SET)))
		return -1;
	return 0;
}

static void ex_done(struct call *c, enum call_result r)
{
	struct exchange *e = c->owner;

	e->result = r;
}

static const struct call_ops exchange_ops = { ex_body, NULL, ex_retry, ex_done };

int engine_exchange(struct engine *en, const char *path, const struct exchange_opts *o,
		    json_t **answer, long *status, struct buf *err)
{
	const struct api_config *api = &en->api;
	const char *what = o->what ? o->what : path, *json = o->json;
	const struct form *form = o->form;
	struct exchange e = { .o = o, .what = what, .sink = o->sink, .result = CALL_FAILED };
	struct retry_policy policy = en->retry;
	long attempts = o->attempts;
	char *url = xasprintf("%s/%s", api->base_url, path);
	json_error_t jerr;
	curl_mime *mime = NULL;
	int rc = -1;

	if (attempts > 0)
		policy.max_attempts = attempts;
	if (answer)
		*answer = NULL;
	if (status)
		*status = 0;
	if (call_setup(&e.call, &exchange_ops, &e, &en->loop, &policy, &en->seed, url,
		       provider_headers(api, form ? NULL : json ? "application/json" : NULL,
					false), api->timeout, true) ||
	    (form && !(mime = form_mime(form, e.call.xfer.easy)))) {
		buf_addf(err, "%s%s: cannot set up the HTTP transfer", o->label, what);
		goto cleanup;
	}
	e.call.xfer.paced = false;   /* not an image request: no budget or pacing */
	/* A request sent once (a batch made) goes on a new connection: on a
	 * reused one that breaks, curl sends it again by itself, and the
	 * server may have acted on the first. */
	if (attempts == 1)
		curl_easy_setopt(e.call.xfer.easy, CURLOPT_FRESH_CONNECT, 1L);
	if (mime)
		http_xfer_set_mime(&e.call.xfer, mime);
	else if (json)
		http_xfer_set_json(&e.call.xfer, json);
	call_start(&e.call);
	http_loop_run(&en->loop);
	if (e.result == CALL_INTERRUPTED) {
		buf_addf(err, "%s%s: interrupted", o->label, what);
		goto cleanup;
	}
	if (e.result != CALL_OK) {
		if (status)
			*status = e.call.apierr.status;
		buf_addf(err, "%s%s: %s", o->label, what, e.why.len ? e.why.data :
			 e.call.error.data ? e.call.error.data : "request failed");
		goto cleanup;
	}
	if (answer) {
		*answer = json_loadb(e.body.data ? e.body.data : "", e.body.len, 0, &jerr);
		if (!json_is_object(*answer)) {
			json_decref(*answer);
			*answer = NULL;
			buf_addf(err, "%s%s: the answer is not a JSON object", o->label, what);
			goto cleanup;
		}
	}
	rc = 0;
cleanup:
	call_release(&e.call);
	buf_release(&e.body);
	buf_release(&e.why);
	free(url);
	return rc;
}

