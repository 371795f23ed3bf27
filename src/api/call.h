/* One HTTP request carried to its end: every attempt and retry per the
 * policy (re-queued on the loop with a time, never slept on), the answer's
 * body handed to its owner as it arrives, and a failed answer read as an API
 * error. Image requests, URL downloads and (next) the Files and Batches
 * calls all go this one way. */
#ifndef IMAGEGEN_CALL_H
#define IMAGEGEN_CALL_H

#include <stdbool.h>

#include "apierr.h"
#include "http.h"
#include "retry.h"

struct call;

enum call_result {
	CALL_OK,            /* a 2xx answer, its body all delivered */
	CALL_FAILED,        /* the reason is in call->error, or the owner's own */
	CALL_INTERRUPTED,
};

struct call_ops {
	/* Bytes of a 2xx answer. 0, or -1 to stop the call (the owner keeps
	 * its reason). */
	int (*body)(struct call *c, const char *data, size_t len);
	/* Every HTTP answer before the call acts on it (pacing), or NULL. */
	void (*answer)(struct call *c, const struct http_xfer *x);
	/* Another attempt follows in delay_ms after reason (status 0 for a
	 * connection error): drop what this attempt produced. 0, or -1 when
	 * the owner cannot go again (the call then fails with reason). */
	int (*retry)(struct call *c, const char *reason, long status, long delay_ms);
	void (*done)(struct call *c, enum call_result r);
};

struct call {
	struct http_xfer xfer;
	const struct call_ops *ops;
	void *owner;
	struct http_loop *loop;
	struct retry_policy policy;
	unsigned int *seed;          /* jitter, shared by the run */
	bool api;                    /* failed answers are API errors (else "HTTP N") */
	int attempts;
	bool body_failed;            /* the owner stopped the transfer */
	CURLcode transport;          /* the last attempt's transport error (CURLE_OK: none) */
	int timeouts;                /* attempts that timed out (each may be billed) */
	bool transient;              /* it failed only for want of attempts: what ended
					it (a connection error that may pass, a 429 or
					5xx) would have been tried again */
	struct buf errbody;          /* body of a non-2xx answer */
	struct api_error apierr;     /* when the API refused, the credential redacted */
	char *secret;                /* the credential the request sends (owned, wiped) */
	struct buf error;            /* why the call failed, one line */
};

/* Prepares c for a request to url (a GET until a body is set on c->xfer;
 * headers are taken over). api: parse failed answers as API errors and
 * never follow redirects; otherwise (downloads) redirects are followed.
 * 0 or -1. */
int call_setup(struct call *c, const struct call_ops *ops, void *owner,
	       struct http_loop *loop, const struct retry_policy *policy,
	       unsigned int *seed, const char *url, struct curl_slist *headers,
	       double timeout, bool api);
/* Queues the first attempt. */
void call_start(struct call *c);
void call_release(struct call *c);

/* A number in [0, 1) from the run's seed. */
double call_jitter(unsigned int *seed);

#endif
