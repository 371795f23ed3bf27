#include "advice.h"

#include <stdio.h>
#include <string.h>

#include "model.h"

/* Does the base URL's path hold a /v1 segment (".../v1" or ".../v1/...")? */
static bool has_v1(const char *url)
{
	const char *host = strstr(url, "://");
	const char *path = strchr(host ? host + 3 : url, '/');

	for (const char *p = path; p && (p = strstr(p, "/v1")); p += 3)
		if (p[3] == '\0' || p[3] == '/')
			return true;
	return false;
}

static bool unreachable(CURLcode rc)
{
	return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
	       rc == CURLE_COULDNT_RESOLVE_PROXY;
}

enum advice advice_for(const struct call *c, const struct api_config *api, const char *model,
		       struct buf *out)
{
	const char *where = api->provider->base_env;
	const char *near;

	if (c->timeouts) {
		buf_addf(out, "%d attempt%s timed out after %g s (--timeout): a server may bill a "
			 "generation that timed out all the same; give a larger --timeout (an image "
			 "at high quality can take minutes), or --stream with --partial-images to "
			 "see it coming", c->timeouts, c->timeouts == 1 ? "" : "s", api->timeout);
		return ADVICE_TIMEOUT;
	}
	if (unreachable(c->transport)) {
		buf_addf(out, "nothing answered at %s: check %s or --base-url ('imagegen config' "
			 "shows where it is set) and that the server is up", api->shown_url, where);
		return ADVICE_UNREACHABLE;
	}
	if (c->apierr.status == 404 && !c->transport && !strcmp(api->provider->name, "openai") &&
	    !has_v1(api->shown_url)) {
		buf_addf(out, "the base URL %s has no /v1, where the API is: try %s=%s/v1 (or "
			 "--base-url)", api->shown_url, where, api->shown_url);
		return ADVICE_NO_V1;
	}
	if (c->apierr.status == 404 && c->apierr.code && !strcmp(c->apierr.code, "model_not_found") &&
	    !model_find(model) && (near = model_suggest(model))) {
		buf_addf(out, "did you mean --model %s?", near);
		return ADVICE_MODEL;
	}
	return ADVICE_NONE;
}

const char *advice_attempts(const struct call *c, char out[32])
{
	if (c->attempts < 2)
		return NULL;
	snprintf(out, 32, "%d attempts", c->attempts);
	return out;
}
