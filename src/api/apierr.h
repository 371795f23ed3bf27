/* Errors the API returns: {"error": {"message", "type", "code", "param"}},
 * with the request id from x-request-id, shown the same way everywhere. */
#ifndef IMAGEGEN_APIERR_H
#define IMAGEGEN_APIERR_H

#include <stddef.h>

struct api_error {
	long status;
	char *message;
	char *type;
	char *code;
	char *param;
	char *request_id;
	char *stage;        /* moderation blocks: where it was blocked */
	char *categories;   /* ... and why, comma-separated */
};
#define API_ERROR_INIT { 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL }

/* A copy of text from a server made safe to print: at most 500 bytes,
 * control characters made spaces, and every copy of secret (the key sent,
 * or NULL), anything that looks like a key ("sk-" and 8 more) and the
 * credential after "Bearer " replaced by [redacted]: servers echo keys in
 * their messages. The caller frees. */
char *api_text_safe(const char *s, size_t len, const char *secret);

/* Fills e from a response body (JSON or not), each text made safe as
 * api_text_safe does. Strings are owned by e. */
void api_error_parse(struct api_error *e, long status, const char *body,
		     size_t len, const char *request_id);
/* One line: "HTTP 400 invalid_request_error (code invalid_value, param
 * size): message [request req_1]". The caller frees. */
char *api_error_summary(const struct api_error *e);
/* Prints the error and its details to stderr, with a hint when one helps
 * (auth_hint, the provider's, for a 401). */
void api_error_print(const struct api_error *e, const char *auth_hint);
/* Replaces every copy of secret (the key or token sent; NULL: none) in e's
 * texts by [redacted]. */
void api_error_redact(struct api_error *e, const char *secret);
void api_error_release(struct api_error *e);

#endif
