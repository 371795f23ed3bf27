#include "provider.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"

#define AZURE_V1_SUFFIX "/openai/v1"

static char *openai_url(const struct api_config *api, const char *endpoint, const char *model)
{
	(void)model;
	return xasprintf("%s/%s", api->base_url, endpoint);
}

static char *azure_url(const struct api_config *api, const char *endpoint, const char *model)
{
	const char *name = api->deployment ? api->deployment : model ? model : "";
	char *escaped, *url;

	if (api->azure_v1)
		return xasprintf("%s/%s", api->base_url, endpoint);
	escaped = curl_easy_escape(NULL, name, 0);
	url = xasprintf("%s/openai/deployments/%s/%s?api-version=%s", api->base_url,
			escaped ? escaped : "", endpoint, api->api_version ? api->api_version : "");
	curl_free(escaped);
	return url;
}

/* Adds "Name: value" (or the name with [REDACTED]); the copy curl keeps is
 * the only one: ours is wiped before it is freed. */
static struct curl_slist *add_secret(struct curl_slist *h, const char *name,
				     const char *scheme, const char *value, bool redact)
{
	char *line = xasprintf("%s: %s%s", name, scheme, redact ? "[REDACTED]" : value);

	h = curl_slist_append(h, line);
	memset(line, 0, strlen(line));
	free(line);
	return h;
}

static struct curl_slist *openai_auth(const struct api_config *api, struct curl_slist *h,
				      bool redact)
{
	return api->key ? add_secret(h, "Authorization", "Bearer ", api->key, redact) : h;
}

/* The official SDKs' order: an Entra ID token wins over a key. */
static struct curl_slist *azure_auth(const struct api_config *api, struct curl_slist *h,
				     bool redact)
{
	if (api->token)
		return add_secret(h, "Authorization", "Bearer ", api->token, redact);
	return api->key ? add_secret(h, "api-key", "", api->key, redact) : h;
}

static bool always(const struct api_config *api)
{
	(void)api;
	return true;
}

static bool azure_model_in_body(const struct api_config *api)
{
	return api->azure_v1;
}

static const struct provider providers[] = {
	{ "openai", "OPENAI_BASE_URL", "OPENAI_API_KEY", NULL, NULL, DEFAULT_BASE_URL,
	  openai_url, openai_auth, always, true,
	  "check OPENAI_API_KEY (and OPENAI_BASE_URL for other servers)" },
	{ "azure", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_AD_TOKEN",
	  "OPENAI_API_VERSION", NULL, azure_url, azure_auth, azure_model_in_body, false,
	  "check AZURE_OPENAI_API_KEY (or AZURE_OPENAI_AD_TOKEN) and that the endpoint is "
	  "the key's resource" },
};

const struct provider *provider_find(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(providers); i++)
		if (!strcmp(providers[i].name, name))
			return &providers[i];
	return NULL;
}

bool provider_has_control(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* Letters, digits and the few marks a deployment name or version uses;
 * never only dots ("." and ".." would climb the URL's path). */
static bool plain_name(const char *s, const char *marks)
{
	if (!*s || !s[strspn(s, ".")])
		return false;
	for (; *s; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
		    !(*s >= '0' && *s <= '9') && !strchr(marks, *s))
			return false;
	return true;
}

static const char *set_value(const char *(*env)(const char *), const char *name)
{
	const char *v = name ? env(name) : NULL;

	return v && *v ? v : NULL;
}

/* The provider named, or the one the environment points to; both OpenAI
 * and Azure settings with none named is refused, never guessed. */
static const struct provider *choose(const struct provider_options *o,
				     const char *(*env)(const char *), struct buf *err)
{
	const char *openai = set_value(env, "OPENAI_API_KEY") ? "OPENAI_API_KEY"
			     : set_value(env, "OPENAI_BASE_URL") ? "OPENAI_BASE_URL" : NULL;
	const char *azure = set_value(env, "AZURE_OPENAI_ENDPOINT") ? "AZURE_OPENAI_ENDPOINT"
			    : set_value(env, "AZURE_OPENAI_API_KEY") ? "AZURE_OPENAI_API_KEY" : NULL;
	const char *name = o->provider ? o->provider : set_value(env, "IMAGEGEN_PROVIDER");
	const struct provider *p;

	if (name) {
		if (!(p = provider_find(name)))
			buf_addf(err, "--provider: '%s' is not one of openai, azure", name);
		return p;
	}
	if (openai && azure) {
		buf_addf(err, "both OpenAI (%s) and Azure OpenAI (%s) are configured: choose "
			 "one with --provider openai or --provider azure (or IMAGEGEN_PROVIDER)",
			 openai, azure);
		return NULL;
	}
	return provider_find(azure ? "azure" : "openai");
}

static char *trimmed_url(const char *url)
{
	char *s = xstrdup(url);
	size_t len = strlen(s);

	while (len && s[len - 1] == '/')
		s[--len] = '\0';
	return s;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

/* Header values and URL parts from the environment or flags. 0 or -1. */
static int check_values(const struct api_config *api, struct buf *err)
{
	const struct { const char *what, *value; } headers[] = {
		{ api->provider->key_env, api->key },
		{ api->provider->token_env, api->token },
		{ "OPENAI_ORG_ID", api->org },
		{ "OPENAI_PROJECT_ID", api->project },
	};

	for (size_t i = 0; i < ARRAY_SIZE(headers); i++) {
		if (provider_has_control(headers[i].value)) {
			buf_addf(err, "%s: holds a control character (such as CR or LF), which "
				 "would change the request's headers; refusing to send it",
				 headers[i].what);
			return -1;
		}
	}
	if (api->deployment && !plain_name(api->deployment, "-_.")) {
		buf_addf(err, "--deployment: '%s' is not a deployment name (letters, digits, "
			 "'-', '_', '.')", api->deployment);
		return -1;
	}
	if (api->api_version && !plain_name(api->api_version, "-.")) {
		buf_addf(err, "--api-version: '%s' is not an API version (such as 2025-04-01-preview)",
			 api->api_version);
		return -1;
	}
	return 0;
}

static int set_base(struct api_config *api, const char *base, struct buf *err)
{
	const struct provider *p = api->provider;

	if (!base) {
		buf_addf(err, "%s: set %s or --base-url (https://RESOURCE.openai.azure.com)",
			 p->name, p->base_env);
		return -1;
	}
	if (provider_has_control(base)) {
		buf_addf(err, "--base-url: holds a control character (such as CR or LF)");
		return -1;
	}
	if (strncmp(base, "https://", 8) && strncmp(base, "http://", 7)) {
		char *shown = provider_redact_url(base);
		buf_addf(err, "--base-url: '%s' is not an http:// or https:// URL", shown);
		free(shown);
		return -1;
	}
	api->base_url = trimmed_url(base);
	api->shown_url = provider_redact_url(api->base_url);
	api->azure_v1 = !strcmp(p->name, "azure") && ends_with(api->base_url, AZURE_V1_SUFFIX);
	return 0;
}

int provider_config(struct api_config *api, const struct provider_options *o,
		    const char *(*env)(const char *name), struct buf *err)
{
	const struct provider *p = choose(o, env, err);
	bool openai;

	memset(api, 0, sizeof(*api));
	if (!p)
		return -1;
	openai = !strcmp(p->name, "openai");
	api->provider = p;
	api->key = set_value(env, p->key_env);
	api->token = set_value(env, p->token_env);
	api->org = openai ? set_value(env, "OPENAI_ORG_ID") : NULL;
	api->project = openai ? set_value(env, "OPENAI_PROJECT_ID") : NULL;
	api->deployment = o->deployment;
	api->api_version = o->api_version ? o->api_version : set_value(env, p->version_env);
	api->timeout = o->timeout > 0 ? o->timeout : DEFAULT_TIMEOUT;
	if (openai && (o->deployment || o->api_version)) {
		buf_addf(err, "%s: only for --provider azure", o->deployment ? "--deployment"
			 : "--api-version");
		return -1;
	}
	if (check_values(api, err) ||
	    set_base(api, o->base_url ? o->base_url : set_value(env, p->base_env) ? set_value(env,
		     p->base_env) : p->default_base, err))
		return -1;
	if (api->azure_v1 && o->api_version) {
		buf_addf(err, "--api-version: the %s endpoint takes none (deployment paths do)",
			 AZURE_V1_SUFFIX);
		return -1;
	}
	if (api->azure_v1)
		api->api_version = NULL;
	if (!openai && !api->azure_v1 && !api->api_version) {
		buf_addf(err, "azure: deployment paths need an api-version: give --api-version "
			 "or OPENAI_API_VERSION (such as 2025-04-01-preview), or use the "
			 "%s endpoint, which needs none", AZURE_V1_SUFFIX);
		return -1;
	}
	return 0;
}

void provider_release(struct api_config *api)
{
	FREE_AND_NULL(api->base_url);
	FREE_AND_NULL(api->shown_url);
}

const char *provider_missing_auth(const struct api_config *api)
{
	if (api->key || api->token)
		return NULL;
	return api->provider->token_env ? "AZURE_OPENAI_API_KEY (or AZURE_OPENAI_AD_TOKEN) is not set"
					: "OPENAI_API_KEY is not set";
}

struct curl_slist *provider_headers(const struct api_config *api, const char *content_type,
				    bool redact)
{
	struct curl_slist *h = api->provider->auth(api, NULL, redact);
	char *line;

	if (content_type) {
		line = xasprintf("Content-Type: %s", content_type);
		h = curl_slist_append(h, line);
		free(line);
	}
	h = curl_slist_append(h, "Accept: application/json");
	h = curl_slist_append(h, "User-Agent: imagegen/" IMAGEGEN_VERSION);
	if (api->org) {
		line = xasprintf("OpenAI-Organization: %s", api->org);
		h = curl_slist_append(h, line);
		free(line);
	}
	if (api->project) {
		line = xasprintf("OpenAI-Project: %s", api->project);
		h = curl_slist_append(h, line);
		free(line);
	}
	return h;
}

/* The model the body names: the deployment when one is given (the v1 form
 * names deployments in "model"), or NULL when the path names it. */
static const char *body_model(const struct api_config *api, const char *model)
{
	if (!api->provider->model_in_body(api))
		return NULL;
	return api->deployment ? api->deployment : model;
}

char *provider_prepare(const struct api_config *api, const char *endpoint, const char *model,
		       json_t *body, struct form *form)
{
	const char *named = body_model(api, model);

	if (body) {
		if (named)
			json_object_set_new(body, "model", json_string(named));
		else
			json_object_del(body, "model");
	}
	if (form && form->n) {
		form_remove(form, "model");
		if (named)
			form_add_text(form, "model", named);
	}
	return api->provider->url(api, endpoint, model);
}

int provider_check_params(const struct api_config *api, const struct img_params *p,
			  struct buf *err)
{
	const struct model *m = model_find(p->model);

	if (p->response_format && !api->provider->response_format && !(m && !model_is_gpt(m))) {
		buf_addf(err, "--response-format: %s takes it for dall-e deployments only (GPT "
			 "image models always return b64_json)", api->provider->name);
		return -1;
	}
	/* A model that names the deployment is a path segment. */
	if (!api->provider->model_in_body(api) && !api->deployment && p->model &&
	    !plain_name(p->model, "-_.")) {
		buf_addf(err, "--model: '%s' cannot name an Azure deployment (letters, digits, "
			 "'-', '_', '.'); give --deployment", p->model);
		return -1;
	}
	return 0;
}

bool provider_at_openai(const struct api_config *api)
{
	CURLU *u;
	char *host = NULL;
	bool yes = false;

	if (strcmp(api->provider->name, "openai"))
		return false;
	u = curl_url();
	if (u && curl_url_set(u, CURLUPART_URL, api->base_url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
		yes = !strcasecmp(host, OPENAI_HOST);
	curl_free(host);
	curl_url_cleanup(u);
	return yes;
}

char *provider_redact_url(const char *url)
{
	CURLU *u = curl_url();
	char *user = NULL, *out = NULL, *shown;

	if (u && curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		curl_url_set(u, CURLUPART_USER, "[REDACTED]", 0);
		curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
		curl_url_get(u, CURLUPART_URL, &out, 0);
	}
	shown = out ? xstrdup(out) : NULL;
	curl_free(user);
	curl_free(out);
	curl_url_cleanup(u);
	if (shown)
		return shown;
	/* No user part (or not a URL curl reads): cut anything before an '@'
	 * in the authority all the same. */
	const char *scheme = strstr(url, "://");
	const char *host = scheme ? scheme + 3 : url;
	const char *end = host + strcspn(host, "/?#");
	const char *at = NULL;
	for (const char *c = host; c < end; c++)
		if (*c == '@')
			at = c;
	if (!at)
		return xstrdup(url);
	return xasprintf("%.*s[REDACTED]%s", (int)(host - url), url, at);
}
