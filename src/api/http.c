#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "provider.h"


#define POLL_MS_MAX 100   /* how often an interrupt is noticed */

/* --verbose: where each exchange is traced, or NULL. */
static FILE *trace_out;

void http_trace(FILE *out)
{
	trace_out = out;
}

/* Headers whose values are secrets (requests: the key, a token; answers:
 * cookies). */
static bool secret_header(const char *line, size_t len)
{
	static const char *const names[] = { "authorization", "api-key", "proxy-authorization",
					     "cookie", "set-cookie", "x-api-key" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = strlen(names[i]);
		if (len > n && line[n] == ':' && !strncasecmp(line, names[i], n))
			return true;
	}
	return false;
}

/* One line of the trace, made safe for a terminal: control characters
 * (C0, DEL, C1 as UTF-8) become '?', a secret header's value is replaced. */
static void trace_line(const char *mark, const char *line, size_t len)
{
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (!len)
		return;
	fprintf(trace_out, "imagegen: %s ", mark);
	if (secret_header(line, len)) {
		size_t name = (size_t)((const char *)memchr(line, ':', len) - line);
		fprintf(trace_out, "%.*s: [REDACTED]\n", (int)name, line);
		return;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c == 0xc2 && i + 1 < len && (unsigned char)line[i + 1] >= 0x80 &&
		    (unsigned char)line[i + 1] <= 0x9f) {
			fputc('?', trace_out);
			i++;
			continue;
		}
		fputc(c < 0x20 || c == 0x7f ? '?' : c, trace_out);
	}
	fputc('\n', trace_out);
}

/* curl's account of a transfer: the request's head (one piece, line by
 * line) and each header of the answer; bodies and curl's own notes are
 * left out (an image is megabytes of base64). */
static int on_debug(CURL *easy, curl_infotype type, char *data, size_t size, void *ud)
{
	(void)easy;
	(void)ud;
	if (type == CURLINFO_HEADER_OUT) {
		for (char *p = data, *end = data + size; p < end;) {
			char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
			trace_line(">", p, len);
			p += len;
		}
	} else if (type == CURLINFO_HEADER_IN) {
		trace_line("<", data, size);
	}
	return 0;
}

/* The end of an exchange: method, URL (credentials redacted), status or
 * error, time and request id. */
static void trace_end(const struct http_xfer *x, CURLcode rc)
{
	char *method = NULL, *url = NULL, *shown;
	curl_off_t us = 0;

	curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_METHOD, &method);
	curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &url);
	curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &us);
	shown = provider_redact_url(url ? url : "");
	char *line = rc == CURLE_OK
		? xasprintf("%s %s: HTTP %ld in %.3f s%s%s", method ? method : "?", shown,
			    x->status, us / 1e6, x->resp.request_id ? ", request id " : "",
			    x->resp.request_id ? x->resp.request_id : "")
		: xasprintf("%s %s: %s after %.3f s", method ? method : "?", shown,
			    x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc), us / 1e6);
	trace_line("*", line, strlen(line));
	free(line);
	free(shown);
}

int http_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void http_global_cleanup(void)
{
	curl_global_cleanup();
}

int http_loop_init(struct http_loop *l, size_t max_running,
		   volatile sig_atomic_t *interrupts)
{
	memset(l, 0, sizeof(*l));
	l->multi = curl_multi_init();
	if (!l->multi)
		return -1;
	l->max_running = max_running ? max_running : 1;
	l->interrupts = interrupts;
	curl_multi_setopt(l->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	return 0;
}

void http_loop_release(struct http_loop *l)
{
	if (l->multi)
		curl_multi_cleanup(l->multi);
	l->multi = NULL;
}

static void queue_add(struct http_queue *q, struct http_xfer *x)
{
	struct http_xfer **p = &q->head;

	x->next = NULL;
	if (q->tail && q->tail->not_before <= x->not_before) {
		q->tail->next = x;
		q->tail = x;
		return;
	}
	/* Keep the queue in not-before order; equal times stay first come. */
	while (*p && (*p)->not_before <= x->not_before)
		p = &(*p)->next;
	x->next = *p;
	*p = x;
	if (!x->next)
		q->tail = x;
}

static struct http_xfer *queue_pop(struct http_queue *q)
{
	struct http_xfer *x = q->head;

	q->head = x->next;
	if (!q->head)
		q->tail = NULL;
	x->next = NULL;
	return x;
}

static bool waiting(const struct http_loop *l)
{
	return l->paced.head || l->unpaced.head;
}

void http_loop_add(struct http_loop *l, struct http_xfer *x)
{
	queue_add(x->paced ? &l->paced : &l->unpaced, x);
}

static void launch(struct http_loop *l, struct http_xfer *x)
{
	if (curl_multi_add_handle(l->multi, x->easy) != CURLM_OK) {
		x->on_done(x, CURLE_FAILED_INIT);
		return;
	}
	x->running = true;
	x->launches++;
	x->next = l->active;
	l->active = x;
	l->running++;
}

static size_t held_max(const struct http_loop *l)
{
	return 2 * l->max_running + 1;
}

/* Downloads start as soon as a slot is free; API requests also wait out a
 * pause and their launch slot. */
static void start_ready(struct http_loop *l, int64_t now)
{
	while (l->unpaced.head && l->running < l->max_running &&
	       l->unpaced.head->not_before <= now)
		launch(l, queue_pop(&l->unpaced));
	if (l->paused_until > now)
		return;
	/* Work held off the loop counts too: up to twice max_running (and one
	 * more) may wait there, so a whole wave commits while the next one is
	 * sent, but a disk slower than the network holds launches back instead
	 * of letting jobs to commit (an open file each) pile up. */
	while (l->paced.head && l->running < l->max_running && l->held < held_max(l) &&
	       l->paced.head->not_before <= now && l->next_launch <= now) {
		if (l->may_launch && !l->may_launch(l->may_launch_data, l->running, l->paced.head)) {
			l->stopped = true;   /* the rest are dropped on the next turn */
			return;
		}
		/* Slots follow each other exactly: a late wake-up does not push
		 * every later launch back. */
		if (l->launch_interval)
			l->next_launch = (l->next_launch + l->launch_interval > now
					  ? l->next_launch : now) + l->launch_interval;
		l->last_launch = now;
		launch(l, queue_pop(&l->paced));
	}
}

static void finish(struct http_loop *l, struct http_xfer *x, CURLcode rc)
{
	if (x->running) {
		for (struct http_xfer **p = &l->active; *p; p = &(*p)->next) {
			if (*p == x) {
				*p = x->next;
				break;
			}
		}
		x->next = NULL;
		curl_multi_remove_handle(l->multi, x->easy);
		x->running = false;
		l->running--;
	}
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
	if (trace_out && rc != CURLE_ABORTED_BY_CALLBACK)
		trace_end(x, rc);
	x->on_done(x, rc);
}

static void drain(struct http_loop *l)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(l->multi, &left))) {
		struct http_xfer *x = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		finish(l, x, msg->data.result);
	}
}

/* Ends the transfers of q not yet started as aborted. */
static void drop_waiting(struct http_queue *q)
{
	while (q->head) {
		struct http_xfer *x = queue_pop(q);
		x->on_done(x, CURLE_ABORTED_BY_CALLBACK);
	}
}

/* Ends every transfer, running or waiting, as aborted. */
static void abort_all(struct http_loop *l)
{
	drop_waiting(&l->paced);
	drop_waiting(&l->unpaced);
	/* on_done must not queue anything once interrupted. */
	while (l->active)
		finish(l, l->active, CURLE_ABORTED_BY_CALLBACK);
}

static int poll_timeout(const struct http_loop *l, int64_t now)
{
	int64_t wait = POLL_MS_MAX;

	/* Full: a finished transfer, or held work coming back (a wake-up),
	 * ends the poll. */
	if (l->running >= l->max_running || l->held >= held_max(l))
		return (int)wait;
	if (l->unpaced.head && l->unpaced.head->not_before - now < wait)
		wait = l->unpaced.head->not_before - now;
	if (l->paced.head) {
		int64_t at = l->paced.head->not_before;
		if (l->paused_until > at)
			at = l->paused_until;
		if (l->next_launch > at)
			at = l->next_launch;
		if (at - now < wait)
			wait = at - now;
	}
	return wait < 0 ? 0 : (int)wait;
}

/* Waits for a transfer, a wake-up, the watched descriptor or the next
 * launch time; hands a readable descriptor to its owner. */
static void poll_once(struct http_loop *l)
{
	struct curl_waitfd fd = { .fd = l->watch_fd, .events = CURL_WAIT_POLLIN };
	bool watched = l->watching;

	curl_multi_poll(l->multi, watched ? &fd : NULL, watched ? 1 : 0,
			poll_timeout(l, now_ms()), NULL);
	if (watched && fd.revents)
		l->ready(l->ready_data);
}

/* Takes x out of q; false when q does not hold it. */
static bool queue_remove(struct http_queue *q, struct http_xfer *x)
{
	struct http_xfer *prev = NULL;

	for (struct http_xfer *p = q->head; p; prev = p, p = p->next) {
		if (p != x)
			continue;
		if (prev)
			prev->next = x->next;
		else
			q->head = x->next;
		if (q->tail == x)
			q->tail = prev;
		x->next = NULL;
		return true;
	}
	return false;
}

bool http_loop_cancel(struct http_loop *l, struct http_xfer *x)
{
	if (x->running) {
		finish(l, x, CURLE_ABORTED_BY_CALLBACK);
		return true;
	}
	if (!queue_remove(&l->paced, x) && !queue_remove(&l->unpaced, x))
		return false;
	x->on_done(x, CURLE_ABORTED_BY_CALLBACK);
	return true;
}

void http_loop_stop(struct http_loop *l)
{
	l->stopped = true;
}

void http_loop_wake(struct http_loop *l)
{
	curl_multi_wakeup(l->multi);
}

int http_loop_run(struct http_loop *l)
{
	int still = 0;

	while (waiting(l) || l->running || l->held || l->watching) {
		int interrupts = l->interrupts ? *l->interrupts : 0;

		if (interrupts && (!l->graceful || interrupts > 1)) {
			abort_all(l);
			return -1;
		}
		if (interrupts || l->stopped)
			drop_waiting(&l->paced);
		start_ready(l, now_ms());
		curl_multi_perform(l->multi, &still);
		drain(l);
		if (l->collect)
			l->collect(l->collect_data);
		if (l->tick)
			l->tick(l->tick_data);
		if (!waiting(l) && !l->running && !l->held && !l->watching)
			break;
		poll_once(l);
	}
	return l->interrupts && *l->interrupts ? -1 : 0;
}

/* "Name: value\r\n" -> stores value when Name is one we act on. */
static size_t on_header(char *line, size_t size, size_t count, void *data)
{
	http_header_line(data, line, size * count);
	return size * count;
}

void http_header_line(struct http_xfer *x, const char *line, size_t len)
{
	static const struct { const char *name; size_t offset; } wanted[] = {
		{ "x-request-id", offsetof(struct http_resp_headers, request_id) },
		{ "retry-after", offsetof(struct http_resp_headers, retry_after) },
		{ "retry-after-ms", offsetof(struct http_resp_headers, retry_after_ms) },
		{ "x-should-retry", offsetof(struct http_resp_headers, should_retry) },
		{ "x-ratelimit-limit-requests", offsetof(struct http_resp_headers, limit_requests) },
		{ "x-ratelimit-remaining-requests", offsetof(struct http_resp_headers, remaining_requests) },
		{ "x-ratelimit-reset-requests", offsetof(struct http_resp_headers, reset_requests) },
		{ "content-type", offsetof(struct http_resp_headers, content_type) },
	};
	const char *colon = memchr(line, ':', len);

	if (len >= 5 && !strncmp(line, "HTTP/", 5)) {
		http_xfer_reset(x);   /* a new response (after 100 or a redirect) */
		return;
	}
	if (!colon)
		return;
	size_t name_len = (size_t)(colon - line);
	const char *v = colon + 1, *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	for (size_t i = 0; i < ARRAY_SIZE(wanted); i++) {
		if (strlen(wanted[i].name) != name_len ||
		    strncasecmp(line, wanted[i].name, name_len))
			continue;
		char **slot = (char **)((char *)&x->resp + wanted[i].offset);
		free(*slot);
		*slot = xstrndup(v, (size_t)(end - v));
	}
}

static size_t on_write(char *data, size_t size, size_t count, void *p)
{
	struct http_xfer *x = p;
	size_t len = size * count;

	if (!x->status)
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
	if (x->on_body && x->on_body(x, data, len))
		return CURL_WRITEFUNC_ERROR;
	return len;
}

int http_xfer_setup(struct http_xfer *x, const char *url, struct curl_slist *headers,
		    double timeout, bool follow)
{
	CURL *e = curl_easy_init();
	long timeout_ms = (long)(timeout * 1000);

	x->headers = headers;
	if (!e)
		return -1;
	x->easy = e;
	x->errbuf[0] = '\0';
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
			 timeout_ms > 0 && timeout_ms < 60000 ? timeout_ms : 60000L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (trace_out) {
		curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, on_debug);
		curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
	}
	if (follow) {
		curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
		curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	}
	return 0;
}

void http_xfer_set_json(struct http_xfer *x, const char *body)
{
	curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
}

void http_xfer_set_mime(struct http_xfer *x, curl_mime *mime)
{
	x->mime = mime;
	curl_easy_setopt(x->easy, CURLOPT_MIMEPOST, mime);
}

void http_xfer_reset(struct http_xfer *x)
{
	char **slots = (char **)&x->resp;

	for (size_t i = 0; i < sizeof(x->resp) / sizeof(char *); i++)
		FREE_AND_NULL(slots[i]);
	x->status = 0;
}

void http_xfer_release(struct http_xfer *x)
{
	http_xfer_reset(x);
	if (x->easy)
		curl_easy_cleanup(x->easy);
	x->easy = NULL;
	curl_mime_free(x->mime);
	x->mime = NULL;
	curl_slist_free_all(x->headers);
	x->headers = NULL;
}

bool http_retryable(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_BAD_CONTENT_ENCODING:
		return true;
	default:
		return false;
	}
}
