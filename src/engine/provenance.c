#include "provenance.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "form.h"
#include "sniff.h"

struct check {
	struct call call;
	struct buf body;
	enum call_result result;
	bool too_big;
};

static int check_body(struct call *c, const char *data, size_t len)
{
	struct check *k = c->owner;

	if (k->body.len + len > PROVENANCE_ANSWER_MAX) {
		k->too_big = true;
		return -1;
	}
	return buf_add(&k->body, data, len);
}

static int check_again(struct call *c, const char *reason, long status, long delay_ms)
{
	struct check *k = c->owner;

	(void)reason;
	(void)status;
	(void)delay_ms;
	buf_reset(&k->body);
	return 0;
}

static void check_done(struct call *c, enum call_result r)
{
	struct check *k = c->owner;

	k->result = r;
}

static const struct call_ops check_ops = { check_body, NULL, check_again, check_done };

/* The file's content type from its first bytes (images), else binary. */
static const char *content_type(const char *path)
{
	unsigned char head[SNIFF_BYTES];
	size_t n = 0;
	FILE *f = fopen(path, "rb");

	if (f) {
		n = fread(head, 1, sizeof(head), f);
		fclose(f);
	}
	const char *mime = sniff_mime(sniff_format(head, n));
	return mime ? mime : "application/octet-stream";
}

static int send_check(struct engine *e, struct check *k, struct form *form, struct buf *err)
{
	char *url = provider_prepare(&e->api, PROVENANCE_ENDPOINT, NULL, NULL, NULL);
	curl_mime *mime;
	int rc = -1;

	if (call_setup(&k->call, &check_ops, k, &e->loop, &e->retry, &e->seed, url,
		       provider_headers(&e->api, NULL, false), e->api.timeout, true) ||
	    !(mime = form_mime(form, k->call.xfer.easy))) {
		buf_addf(err, "cannot set up the HTTP transfer");
		goto cleanup;
	}
	http_xfer_set_mime(&k->call.xfer, mime);
	k->result = CALL_FAILED;
	call_start(&k->call);
	engine_run(e);
	rc = 0;
cleanup:
	free(url);
	return rc;
}

int provenance_check(struct engine *e, const char *path, json_t **answer, struct buf *err)
{
	struct check k = { .body = BUF_INIT };
	struct form form = FORM_INIT;
	json_error_t jerr;
	struct stat st;
	int rc = -1;

	*answer = NULL;
	if (strcmp(e->api.provider->name, "openai")) {
		buf_addf(err, "--provenance: content provenance checks are OpenAI's endpoint; "
			 "%s has none (use --provider openai)", e->api.provider->name);
		return -1;
	}
	if (stat(path, &st)) {
		buf_addf(err, "cannot read '%s': %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		buf_addf(err, "'%s' is not a regular file", path);
		return -1;
	}
	form_add_file(&form, "file", path, content_type(path), (long long)st.st_size);
	if (send_check(e, &k, &form, err))
		goto cleanup;
	if (k.result == CALL_INTERRUPTED) {
		buf_addf(err, "interrupted");
	} else if (k.result != CALL_OK) {
		buf_addf(err, "%s", k.too_big ? "the answer is too large" : k.call.error.data ?
			 k.call.error.data : "the check failed");
	} else {
		/* json_is_object() evaluates its argument twice: parse first. */
		*answer = json_loadb(k.body.data, k.body.len, 0, &jerr);
		if (json_is_object(*answer)) {
			rc = 0;
		} else {
			json_decref(*answer);
			*answer = NULL;
			buf_addf(err, "bad answer: not a JSON object (%s)", jerr.text);
		}
	}
cleanup:
	call_release(&k.call);
	buf_release(&k.body);
	form_release(&form);
	return rc;
}
