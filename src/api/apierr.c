#include "apierr.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "msg.h"
#include "util.h"

#define TEXT_MAX 500
#define REDACTED "[redacted]"

static bool key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* How long the key that starts at s is: "sk-" and at least 8 key characters
 * (sk-..., sk-proj-..., sk-svcacct-...), or 0. */
static size_t key_at(const char *s)
{
	size_t n = 3;

	if (strncmp(s, "sk-", 3))
		return 0;
	while (key_char(s[n]))
		n++;
	return n >= 3 + 8 ? n : 0;
}

/* How long the credential after "Bearer " at s is: to the next space or
 * quote (a final '.' ends the sentence), at least 8 characters with a digit
 * among them ("Bearer auth" is words, not a key), or 0. */
static size_t bearer_at(const char *s)
{
	size_t len;

	if (strncasecmp(s, "bearer ", 7))
		return 0;
	len = strcspn(s + 7, " \t\"',;)]}<>");
	len -= len > 1 && s[7 + len - 1] == '.';
	for (size_t k = 0; len >= 8 && k < len; k++)
		if (s[7 + k] >= '0' && s[7 + k] <= '9')
			return len;
	return 0;
}

/* Appends s with every copy of secret (when it is long enough to be one),
 * anything that looks like a key and the credential after "Bearer "
 * replaced by [redacted]. */
static void add_redacted(struct buf *b, const char *s, const char *secret)
{
	size_t slen = secret ? strlen(secret) : 0;

	for (size_t i = 0; s[i];) {
		size_t n;
		bool word = i == 0 || !key_char(s[i - 1]);
		if (slen >= 8 && !strncmp(s + i, secret, slen)) {
			buf_adds(b, REDACTED);
			i += slen;
		} else if (word && (n = key_at(s + i))) {
			buf_adds(b, "sk-" REDACTED);
			i += n;
		} else if (word && (n = bearer_at(s + i))) {
			buf_addf(b, "%.7s" REDACTED, s + i);
			i += 7 + n;
		} else {
			buf_add(b, s + i, 1);
			i++;
		}
	}
}

char *api_text_safe(const char *s, size_t len, const char *secret)
{
	struct buf b = BUF_INIT;
	char *copy;

	if (len > TEXT_MAX)
		len = TEXT_MAX;
	copy = xstrndup(s, len);
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	add_redacted(&b, copy, secret);
	free(copy);
	return b.len ? buf_detach(&b) : xstrdup("");
}

static char *printable(const char *s, size_t len)
{
	return api_text_safe(s, len, NULL);
}

static char *string_field(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_string(v))
		return printable(json_string_value(v), json_string_length(v));
	if (json_is_integer(v))
		return xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	return NULL;
}

static char *join_strings(json_t *array)
{
	struct buf b = BUF_INIT;
	size_t i;
	json_t *v;

	json_array_foreach(array, i, v)
		if (json_is_string(v))
			buf_addf(&b, "%s%s", b.len ? ", " : "", json_string_value(v));
	return b.len ? buf_detach(&b) : NULL;
}

/* No reference documents the details of a moderation block; servers have
 * been seen to send them as "moderation_details" or "moderation" objects, or
 * as stage and categories in the error itself. Whichever is there is shown. */
static void parse_moderation(struct api_error *e, json_t *err)
{
	json_t *m = json_object_get(err, "moderation_details");

	if (!json_is_object(m))
		m = json_object_get(err, "moderation");
	if (!json_is_object(m))
		m = err;
	e->stage = string_field(m, "stage");
	e->categories = join_strings(json_object_get(m, "categories"));
}

void api_error_parse(struct api_error *e, long status, const char *body,
		     size_t len, const char *request_id)
{
	json_t *root = body ? json_loadb(body, len, 0, NULL) : NULL;
	json_t *err = json_object_get(root, "error");

	memset(e, 0, sizeof(*e));
	e->status = status;
	e->request_id = request_id ? xstrdup(request_id) : NULL;
	if (json_is_object(err)) {
		e->message = string_field(err, "message");
		e->type = string_field(err, "type");
		e->code = string_field(err, "code");
		e->param = string_field(err, "param");
		parse_moderation(e, err);
	} else if (json_is_string(err)) {
		e->message = string_field(root, "error");
	} else if (body && len) {
		e->message = printable(body, len);
	}
	json_decref(root);
}

char *api_error_summary(const struct api_error *e)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "HTTP %ld", e->status);
	if (e->type)
		buf_addf(&b, " %s", e->type);
	if (e->code || e->param) {
		buf_adds(&b, " (");
		if (e->code)
			buf_addf(&b, "code %s", e->code);
		if (e->param)
			buf_addf(&b, "%sparam %s", e->code ? ", " : "", e->param);
		buf_adds(&b, ")");
	}
	if (e->message)
		buf_addf(&b, ": %s", e->message);
	if (e->stage || e->categories)
		buf_addf(&b, " [moderation stage %s; categories %s]",
			 e->stage ? e->stage : "?", e->categories ? e->categories : "?");
	if (e->request_id)
		buf_addf(&b, " [request %s]", e->request_id);
	return buf_detach(&b);
}

static const char *hint(const struct api_error *e, const char *auth_hint)
{
	if (e->status == 401)
		return auth_hint;
	if (e->code && !strcmp(e->code, "insufficient_quota"))
		return "the account is out of quota: check plan and billing; retrying will not help";
	if (e->code && !strcmp(e->code, "moderation_blocked"))
		return "the safety system refused the request; rephrase the prompt (not retried)";
	if (e->param && !strcmp(e->param, "background"))
		return "transparent backgrounds may not be available: try --chroma-key";
	return NULL;
}

void api_error_print(const struct api_error *e, const char *auth_hint)
{
	const char *h = hint(e, auth_hint);

	errorf("the API refused the request (HTTP %ld%s%s)", e->status,
	       e->type ? " " : "", e->type ? e->type : "");
	if (e->message)
		errdetailf("message: %s", e->message);
	if (e->code || e->param)
		errdetailf("code: %s   param: %s", e->code ? e->code : "-",
			   e->param ? e->param : "-");
	if (e->stage || e->categories)
		errdetailf("moderation: stage %s, categories %s",
			   e->stage ? e->stage : "unknown",
			   e->categories ? e->categories : "unknown");
	if (e->request_id)
		errdetailf("request id: %s", e->request_id);
	if (h)
		errdetailf("hint: %s", h);
}

void api_error_redact(struct api_error *e, const char *secret)
{
	char **fields[] = { &e->message, &e->type, &e->code, &e->param, &e->stage,
			    &e->categories };

	for (size_t i = 0; secret && strlen(secret) >= 8 && i < ARRAY_SIZE(fields); i++) {
		if (!*fields[i] || !strstr(*fields[i], secret))
			continue;
		struct buf b = BUF_INIT;
		add_redacted(&b, *fields[i], secret);
		free(*fields[i]);
		*fields[i] = buf_detach(&b);
	}
}

void api_error_release(struct api_error *e)
{
	char **fields[] = { &e->message, &e->type, &e->code, &e->param,
			    &e->request_id, &e->stage, &e->categories };

	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		FREE_AND_NULL(*fields[i]);
}
