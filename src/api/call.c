#include "call.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ERRBODY_MAX (1024 * 1024)

static int call_body(struct http_xfer *x, const char *data, size_t len)
{
	struct call *c = x->owner;

	if (x->status >= 200 && x->status < 300) {
		if (c->ops->body(c, data, len) == 0)
			return 0;
		c->body_failed = true;
		return -1;
	}
	if (c->errbody.len < ERRBODY_MAX)
		buf_add(&c->errbody, data, len);
	return 0;
}

double call_jitter(unsigned int *seed)
{
	return rand_r(seed) / ((double)RAND_MAX + 1.0);
}

/* Queues another attempt if the policy and the owner allow it. */
static bool call_retry(struct call *c, const struct retry_hints *hints, const char *reason)
{
	long delay;

	if (c->attempts >= c->policy.max_attempts) {
		c->transient = true;   /* it would have gone again */
		return false;
	}
	delay = retry_delay_ms(&c->policy, c->attempts - 1, hints, call_jitter(c->seed),
			       time(NULL));
	if (c->ops->retry(c, reason, c->xfer.status, delay))
		return false;
	buf_reset(&c->errbody);
	buf_reset(&c->error);
	api_error_release(&c->apierr);
	http_xfer_reset(&c->xfer);
	c->body_failed = false;
	c->attempts++;
	c->xfer.not_before = now_ms() + delay;
	http_loop_add(c->loop, &c->xfer);
	return true;
}

static void fail(struct call *c, const char *fmt_prefix, const char *reason)
{
	buf_addf(&c->error, "%s%s", fmt_prefix, reason);
	c->ops->done(c, CALL_FAILED);
}

/* A transport error: retried when it may pass (a reset, a timeout). */
static void transport_failed(struct call *c, CURLcode rc)
{
	char *reason = xstrdup(c->xfer.errbuf[0] ? c->xfer.errbuf : curl_easy_strerror(rc));

	c->transport = rc;
	c->timeouts += rc == CURLE_OPERATION_TIMEDOUT;

	if (!http_retryable(rc) || !call_retry(c, NULL, reason))
		fail(c, c->api ? "request failed: " : "", reason);
	free(reason);
}

/* A non-2xx answer: the API's error, retried when its status and the
 * server's hints allow. */
static void answer_failed(struct call *c)
{
	struct http_xfer *x = &c->xfer;
	struct retry_hints hints = { 0 }, *h = NULL;
	char *reason;

	c->transport = CURLE_OK;
	if (c->api) {
		api_error_parse(&c->apierr, x->status, c->errbody.data, c->errbody.len,
				x->resp.request_id);
		/* A server may quote the credential it was given, whatever its form. */
		api_error_redact(&c->apierr, c->secret);
		hints.retry_after_ms = x->resp.retry_after_ms;
		hints.retry_after = x->resp.retry_after;
		hints.should_retry = x->resp.should_retry;
		hints.error_code = c->apierr.code ? c->apierr.code : c->apierr.type;
		h = &hints;
		reason = api_error_summary(&c->apierr);
	} else {
		reason = xasprintf("HTTP %ld", x->status);
	}
	if (!(retry_status(x->status, h) && call_retry(c, h, reason)))
		fail(c, "", reason);
	free(reason);
}

static void call_done(struct http_xfer *x, CURLcode rc)
{
	struct call *c = x->owner;

	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		c->ops->done(c, CALL_INTERRUPTED);
		return;
	}
	if (rc != CURLE_OK && c->body_failed) {
		c->ops->done(c, CALL_FAILED);   /* our side stopped it: the owner knows why */
		return;
	}
	if (rc != CURLE_OK) {
		transport_failed(c, rc);
		return;
	}
	if (c->ops->answer)
		c->ops->answer(c, x);
	if (x->status >= 200 && x->status < 300)
		c->ops->done(c, CALL_OK);
	else
		answer_failed(c);
}

static void forget_secret(struct call *c)
{
	if (c->secret)
		explicit_bzero(c->secret, strlen(c->secret));
	FREE_AND_NULL(c->secret);
}

/* The credential among the headers (Authorization's, without its scheme, or
 * api-key's): what an error message must never show. */
static void keep_secret(struct call *c, const struct curl_slist *headers)
{
	forget_secret(c);
	for (const struct curl_slist *h = headers; h && !c->secret; h = h->next) {
		const char *v = NULL;
		if (!strncasecmp(h->data, "Authorization:", 14))
			v = h->data + 14;
		else if (!strncasecmp(h->data, "api-key:", 8))
			v = h->data + 8;
		if (!v)
			continue;
		v += strspn(v, " ");
		if (strchr(v, ' '))
			v = strchr(v, ' ') + 1;   /* "Bearer KEY" */
		c->secret = xstrdup(v);
	}
}

int call_setup(struct call *c, const struct call_ops *ops, void *owner,
	       struct http_loop *loop, const struct retry_policy *policy,
	       unsigned int *seed, const char *url, struct curl_slist *headers,
	       double timeout, bool api)
{
	c->ops = ops;
	c->owner = owner;
	c->loop = loop;
	c->policy = *policy;
	c->seed = seed;
	c->api = api;
	c->attempts = 0;
	c->body_failed = false;
	keep_secret(c, headers);
	c->transport = CURLE_OK;
	c->timeouts = 0;
	if (http_xfer_setup(&c->xfer, url, headers, timeout, !api))
		return -1;
	c->xfer.paced = api;
	c->xfer.owner = c;
	c->xfer.on_body = call_body;
	c->xfer.on_done = call_done;
	return 0;
}

void call_start(struct call *c)
{
	c->attempts = 1;
	c->transient = false;
	c->xfer.not_before = 0;
	http_loop_add(c->loop, &c->xfer);
}

void call_release(struct call *c)
{
	http_xfer_release(&c->xfer);
	buf_release(&c->errbody);
	buf_release(&c->error);
	api_error_release(&c->apierr);
	forget_secret(c);
}
