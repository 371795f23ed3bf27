/* What to do about a call that failed for a reason the user can fix: a
 * base URL without /v1, a server that does not answer, a timeout that may
 * have been billed, a model name close to a known one. Pure: from the call,
 * the provider's settings and the model. */
#ifndef IMAGEGEN_ADVICE_H
#define IMAGEGEN_ADVICE_H

#include "call.h"
#include "provider.h"
#include "util.h"

enum advice {
	ADVICE_NONE,
	ADVICE_NO_V1,         /* a 404 from a base URL without /v1 */
	ADVICE_UNREACHABLE,   /* nothing answered at the base URL */
	ADVICE_TIMEOUT,       /* attempts timed out: maybe billed */
	ADVICE_MODEL,         /* the server has no such model; a known one is close */
	ADVICE_KINDS
};

/* The advice for a call that ended failed (one line into out, without a
 * "hint: "), or ADVICE_NONE (out untouched). */
enum advice advice_for(const struct call *c, const struct api_config *api, const char *model,
		       struct buf *out);

/* "3 attempts" when the call was retried, for "failed after ..."; NULL
 * when it was sent once. Static. */
const char *advice_attempts(const struct call *c, char out[32]);

#endif
