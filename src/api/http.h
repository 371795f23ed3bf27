/* HTTP on curl's multi interface: many transfers on one thread. A transfer
 * waits in a queue until its not-before time and a free slot, runs, and ends
 * in its on_done callback, which may queue it again (a retry) or queue others
 * (downloads). Nothing here sleeps: the loop polls. */
#ifndef IMAGEGEN_HTTP_H
#define IMAGEGEN_HTTP_H

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>

#include "util.h"

/* The response headers imagegen acts on; each owned, NULL when absent. */
struct http_resp_headers {
	char *request_id;
	char *retry_after;
	char *retry_after_ms;
	char *should_retry;
	char *limit_requests;
	char *remaining_requests;
	char *reset_requests;
	char *content_type;
};

struct http_xfer;
/* Returns 0, or -1 to abort the transfer (the owner keeps the reason). */
typedef int (*http_body_fn)(struct http_xfer *x, const char *data, size_t len);
typedef void (*http_done_fn)(struct http_xfer *x, CURLcode rc);

struct http_xfer {
	CURL *easy;
	struct curl_slist *headers;
	curl_mime *mime;              /* a multipart body, owned */
	char errbuf[CURL_ERROR_SIZE];
	long status;
	struct http_resp_headers resp;
	int64_t not_before;           /* monotonic ms */
	http_body_fn on_body;
	http_done_fn on_done;
	void *owner;
	struct http_xfer *next;       /* in a waiting queue or the active list */
	bool running;
	bool paced;                   /* an API request: waits out pauses and the
					 launch interval (downloads never do) */
	unsigned launches;            /* times it was sent */
};

/* Transfers waiting to start, by not-before time (appending is O(1) in the
 * usual case: a new or retried transfer is due no earlier than the last). */
struct http_queue {
	struct http_xfer *head, *tail;
};

struct http_loop {
	CURLM *multi;
	struct http_queue paced;       /* API requests */
	struct http_queue unpaced;     /* downloads */
	struct http_xfer *active;      /* running */
	size_t running;
	size_t max_running;
	int64_t paused_until;          /* no launches before this (batch 429s) */
	int64_t launch_interval;       /* ms between launches (--rpm); 0 = any */
	int64_t next_launch;
	int64_t last_launch;
	bool stopped;                  /* launch nothing more (fail-fast, quota) */
	volatile sig_atomic_t *interrupts;
	bool graceful;                 /* first interrupt only stops launches */
	void (*tick)(void *data);      /* called on every turn (progress display) */
	void *tick_data;
	/* Work handed off the loop that will come back to it (a batch's
	 * commits on their worker thread): while any is out, the loop runs,
	 * and on every turn collect takes back what is done. */
	size_t held;
	void (*collect)(void *data);
	void *collect_data;
	/* Asked before each API request is launched, with the number in
	 * flight and the transfer next to go: false stops launching, as
	 * http_loop_stop does. NULL: go. */
	bool (*may_launch)(void *data, size_t running, const struct http_xfer *next);
	void *may_launch_data;
	/* A file descriptor polled beside the transfers (a server's input):
	 * while watching, the loop runs even with nothing to send, and calls
	 * ready when fd can be read; ready clears watching at its end. */
	bool watching;
	int watch_fd;
	void (*ready)(void *data);
	void *ready_data;
};

int http_global_init(void);
/* --verbose: every transfer set up from now on is traced on out (NULL:
 * none): the request's head and the answer's headers, secrets redacted and
 * control characters replaced, then method, URL, status, time and request
 * id. Bodies are never shown. */
void http_trace(FILE *out);
void http_global_cleanup(void);

int http_loop_init(struct http_loop *l, size_t max_running,
		   volatile sig_atomic_t *interrupts);
void http_loop_release(struct http_loop *l);
void http_loop_add(struct http_loop *l, struct http_xfer *x);
/* Launch no more API requests: those not yet started end as aborted
 * (downloads of images already paid for go on). */
void http_loop_stop(struct http_loop *l);
/* Ends x, waiting or running, as aborted (its on_done is called with
 * CURLE_ABORTED_BY_CALLBACK); a transfer the loop does not hold is left
 * alone. Returns whether it was held. */
bool http_loop_cancel(struct http_loop *l, struct http_xfer *x);
/* Wakes the loop from its poll, from any thread (work held off the loop
 * is done). */
void http_loop_wake(struct http_loop *l);
/* Runs until nothing waits, runs or is held. Returns 0, or -1 when interrupted (every
 * unfinished transfer then ended with CURLE_ABORTED_BY_CALLBACK). */
int http_loop_run(struct http_loop *l);

/* Prepares x for a request to url: a GET until a body is set. headers
 * (or NULL) are taken over; timeout is in seconds for the whole request;
 * follow: follow redirects (downloads; API calls never do). 0 or -1. */
int http_xfer_setup(struct http_xfer *x, const char *url, struct curl_slist *headers,
		    double timeout, bool follow);
/* POST body (not copied: it must outlive the transfer). */
void http_xfer_set_json(struct http_xfer *x, const char *body);
/* POST a multipart form; x takes ownership of mime. */
void http_xfer_set_mime(struct http_xfer *x, curl_mime *mime);
/* One response header line as curl gives it ("Name: value\r\n", or a status
 * line, which starts a new response): the headers imagegen reads are kept in
 * x->resp (names case-insensitive, the value trimmed). */
void http_header_line(struct http_xfer *x, const char *line, size_t len);
/* Clears the last attempt's status and headers before a retry. */
void http_xfer_reset(struct http_xfer *x);
void http_xfer_release(struct http_xfer *x);

/* Is this transport error worth another attempt (connection, timeout)? */
bool http_retryable(CURLcode rc);

#endif
