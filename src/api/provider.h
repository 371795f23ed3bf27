/* Who serves the Images API and how to reach it: a table of providers (git's
 * ref backends, curl's TLS backends), each row giving its URL shape, auth
 * header, body quirks and environment names. openai is api.openai.com or
 * any compatible server; azure is Azure OpenAI, with deployment paths and an
 * api-version, or the /openai/v1/ form. */
#ifndef IMAGEGEN_PROVIDER_H
#define IMAGEGEN_PROVIDER_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>

#include "form.h"
#include "params.h"
#include "util.h"

#define OPENAI_HOST "api.openai.com"
#define DEFAULT_BASE_URL "https://" OPENAI_HOST "/v1"
#define DEFAULT_TIMEOUT 600.0

struct api_config;

struct provider {
	const char *name;
	const char *base_env;       /* the base URL or endpoint */
	const char *key_env;
	const char *token_env;      /* an Entra ID (bearer) token, or NULL */
	const char *version_env;    /* the api-version, or NULL */
	const char *default_base;   /* NULL: the base must be given */
	/* The URL of an endpoint ("images/edits") for a model; caller frees. */
	char *(*url)(const struct api_config *api, const char *endpoint, const char *model);
	/* Appends the auth header (the secret replaced when redact). */
	struct curl_slist *(*auth)(const struct api_config *api, struct curl_slist *h,
				   bool redact);
	/* Does the body name the model (not when the path names a deployment)? */
	bool (*model_in_body)(const struct api_config *api);
	bool response_format;       /* takes response_format */
	const char *auth_hint;      /* what to check after a 401 */
};

/* Where and how to reach the API. Secrets and names are borrowed from the
 * environment or argv (what env() returned, and the options' strings): they
 * must outlive the config and every request made with it. The URLs are
 * owned. */
struct api_config {
	const struct provider *provider;
	char *base_url;             /* no trailing slash; as given (curl may use its user) */
	char *shown_url;            /* base_url with any user:password@ replaced */
	const char *key;            /* NULL when unset */
	const char *token;          /* Entra ID token (azure), NULL when unset */
	const char *org;
	const char *project;
	const char *deployment;     /* azure: NULL = the model's name */
	const char *api_version;    /* azure deployment paths */
	bool azure_v1;              /* the endpoint is .../openai/v1 */
	double timeout;             /* seconds for a whole request */
};

/* What a front end chose; NULL or negative = not given. */
struct provider_options {
	const char *provider;       /* "openai", "azure" */
	const char *base_url;
	const char *deployment;
	const char *api_version;
	double timeout;
};

/* The provider row named name, or NULL. */
const struct provider *provider_find(const char *name);

/* Fills api from the options and the environment (env(name) reads a
 * variable; getenv in the tool). Refuses what would be unsafe or ambiguous:
 * a key, token, organization or project holding a control character (it
 * would add headers on the wire), both OpenAI and Azure variables with no
 * provider chosen, a deployment or api-version that is not a plain name.
 * 0, or -1 with a message in err; release api either way. */
int provider_config(struct api_config *api, const struct provider_options *o,
		    const char *(*env)(const char *name), struct buf *err);
void provider_release(struct api_config *api);

/* NULL when the API can be called, else what is missing (for an error
 * message: "AZURE_OPENAI_API_KEY (or AZURE_OPENAI_AD_TOKEN) is not set"). */
const char *provider_missing_auth(const struct api_config *api);

/* Readies a request for a model to an endpoint, the one way both sending
 * and --dry-run do it: the provider's body quirks on the JSON body and the
 * form (either may be NULL; azure deployment paths drop "model", its v1
 * form names the deployment there), and the URL, which the caller frees. */
char *provider_prepare(const struct api_config *api, const char *endpoint, const char *model,
		       json_t *body, struct form *form);

/* The headers of an API request (auth, organization, project, content type,
 * Accept, User-Agent); with redact, secrets are replaced. Caller frees with
 * curl_slist_free_all. */
struct curl_slist *provider_headers(const struct api_config *api, const char *content_type,
				    bool redact);

/* Parameters the provider does not take. 0, or -1 with a message in err. */
int provider_check_params(const struct api_config *api, const struct img_params *p,
			  struct buf *err);

/* Is this OpenAI itself (api.openai.com), whose model shutdowns apply,
 * rather than a compatible server or Azure? */
bool provider_at_openai(const struct api_config *api);

/* url with any user:password@ replaced by "[REDACTED]@"; caller frees. */
char *provider_redact_url(const char *url);

/* Does s hold a control character (CR, LF, NUL-free text below 0x20, DEL)? */
bool provider_has_control(const char *s);

#endif
