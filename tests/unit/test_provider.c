#include "unit.h"

#include "provider.h"

/* A fake environment: NAME=VALUE pairs, NULL-terminated. */
static const char *const *fake_env;

static const char *lookup(const char *name)
{
	size_t len = strlen(name);

	for (const char *const *e = fake_env; e && *e; e++)
		if (!strncmp(*e, name, len) && (*e)[len] == '=')
			return *e + len + 1;
	return NULL;
}

static int configure(struct api_config *api, const struct provider_options *o,
		     const char *const *env, struct buf *err)
{
	fake_env = env;
	buf_reset(err);
	return provider_config(api, o, lookup, err);
}

static void test_redact_url(void **state)
{
	static const struct { const char *in, *want; } rows[] = {
		{ "https://api.openai.com/v1", "https://api.openai.com/v1" },
		{ "http://user:pass@127.0.0.1:8080/v1", "http://[REDACTED]@127.0.0.1:8080/v1" },
		{ "http://user@host/v1", "http://[REDACTED]@host/v1" },
		{ "http://u:p@host/v1?x=@y", "http://[REDACTED]@host/v1?x=@y" },
		{ "ftp://u:p@host/x", "ftp://[REDACTED]@host/x" },
		{ "no scheme u:p@host", "[REDACTED]@host" },
		{ "http://host/a@b", "http://host/a@b" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *got = provider_redact_url(rows[i].in);
		assert_string_equal(got, rows[i].want);
		free(got);
	}
}

static void test_control_characters(void **state)
{
	(void)state;
	assert_false(provider_has_control("sk-abc_DEF-123"));
	assert_false(provider_has_control(NULL));
	assert_true(provider_has_control("org\r\nX: y"));
	assert_true(provider_has_control("a\nb"));
	assert_true(provider_has_control("tab\there"));
	assert_true(provider_has_control("del\x7f"));
}

static void test_choice(void **state)
{
	static const char *const openai[] = { "OPENAI_API_KEY=sk-1", NULL };
	static const char *const azure[] = { "AZURE_OPENAI_ENDPOINT=https://r.openai.azure.com",
					     "AZURE_OPENAI_API_KEY=k", "OPENAI_API_VERSION=2024-10-21",
					     NULL };
	static const char *const both[] = { "OPENAI_API_KEY=sk-1",
					    "AZURE_OPENAI_ENDPOINT=https://r.openai.azure.com",
					    "OPENAI_API_VERSION=2024-10-21", NULL };
	static const char *const both_chosen[] = { "OPENAI_API_KEY=sk-1", "IMAGEGEN_PROVIDER=azure",
						   "AZURE_OPENAI_ENDPOINT=https://r.openai.azure.com",
						   "OPENAI_API_VERSION=2024-10-21", NULL };
	struct provider_options none = { .timeout = -1 };
	struct provider_options pick_openai = { .provider = "openai", .timeout = -1 };
	struct api_config api;
	struct buf err = BUF_INIT;

	(void)state;
	assert_int_equal(configure(&api, &none, openai, &err), 0);
	assert_string_equal(api.provider->name, "openai");
	assert_string_equal(api.base_url, DEFAULT_BASE_URL);
	provider_release(&api);
	assert_int_equal(configure(&api, &none, azure, &err), 0);
	assert_string_equal(api.provider->name, "azure");
	provider_release(&api);
	assert_int_equal(configure(&api, &none, both, &err), -1);
	assert_non_null(strstr(err.data, "--provider"));
	provider_release(&api);
	assert_int_equal(configure(&api, &pick_openai, both, &err), 0);
	assert_string_equal(api.provider->name, "openai");
	provider_release(&api);
	assert_int_equal(configure(&api, &none, both_chosen, &err), 0);
	assert_string_equal(api.provider->name, "azure");
	provider_release(&api);
	buf_release(&err);
}

static void test_azure_urls_and_headers(void **state)
{
	static const char *const key[] = { "AZURE_OPENAI_ENDPOINT=https://r.openai.azure.com/",
					   "AZURE_OPENAI_API_KEY=secret-key",
					   "OPENAI_API_VERSION=2025-04-01-preview", NULL };
	static const char *const v1[] = { "AZURE_OPENAI_ENDPOINT=https://r.openai.azure.com/openai/v1",
					  "AZURE_OPENAI_AD_TOKEN=tok", NULL };
	static const char *const no_version[] = { "AZURE_OPENAI_ENDPOINT=https://r.openai.azure.com",
						  "AZURE_OPENAI_API_KEY=k", NULL };
	struct provider_options o = { .provider = "azure", .timeout = -1 };
	struct provider_options dep = { .provider = "azure", .deployment = "img", .timeout = -1 };
	struct api_config api;
	struct buf err = BUF_INIT;
	struct curl_slist *h;
	char *url;

	(void)state;
	assert_int_equal(configure(&api, &o, key, &err), 0);
	url = provider_prepare(&api, "images/edits", "gpt-image-2", NULL, NULL);
	assert_string_equal(url, "https://r.openai.azure.com/openai/deployments/gpt-image-2/"
			    "images/edits?api-version=2025-04-01-preview");
	free(url);
	h = provider_headers(&api, "application/json", true);
	assert_string_equal(h->data, "api-key: [REDACTED]");
	curl_slist_free_all(h);
	h = provider_headers(&api, NULL, false);
	assert_string_equal(h->data, "api-key: secret-key");
	curl_slist_free_all(h);
	json_t *body = json_pack("{s:s,s:s}", "model", "gpt-image-2", "prompt", "x");
	free(provider_prepare(&api, "images/generations", "gpt-image-2", body, NULL));
	assert_null(json_object_get(body, "model"));
	json_decref(body);
	provider_release(&api);

	assert_int_equal(configure(&api, &dep, key, &err), 0);
	url = provider_prepare(&api, "images/generations", "gpt-image-2", NULL, NULL);
	assert_string_equal(url, "https://r.openai.azure.com/openai/deployments/img/"
			    "images/generations?api-version=2025-04-01-preview");
	free(url);
	provider_release(&api);

	assert_int_equal(configure(&api, &o, v1, &err), 0);
	assert_true(api.azure_v1);
	url = provider_prepare(&api, "images/generations", "gpt-image-2", NULL, NULL);
	assert_string_equal(url, "https://r.openai.azure.com/openai/v1/images/generations");
	free(url);
	h = provider_headers(&api, NULL, true);
	assert_string_equal(h->data, "Authorization: Bearer [REDACTED]");
	curl_slist_free_all(h);
	provider_release(&api);

	/* On the v1 form the deployment goes in "model". */
	struct provider_options v1_dep = { .provider = "azure", .deployment = "my-img",
					   .timeout = -1 };
	assert_int_equal(configure(&api, &v1_dep, v1, &err), 0);
	body = json_pack("{s:s}", "model", "gpt-image-2");
	struct form form = FORM_INIT;
	form_add_text(&form, "model", "gpt-image-2");
	form_add_text(&form, "prompt", "x");
	url = provider_prepare(&api, "images/edits", "gpt-image-2", body, &form);
	assert_string_equal(url, "https://r.openai.azure.com/openai/v1/images/edits");
	assert_string_equal(json_string_value(json_object_get(body, "model")), "my-img");
	assert_int_equal(form.n, 2);
	assert_string_equal(form.parts[1].name, "model");
	assert_string_equal(form.parts[1].value, "my-img");
	free(url);
	json_decref(body);
	form_release(&form);
	provider_release(&api);

	assert_int_equal(configure(&api, &o, no_version, &err), -1);
	assert_non_null(strstr(err.data, "--api-version"));
	provider_release(&api);
	buf_release(&err);
}

static void test_check_params(void **state)
{
	static const char *const azure[] = { "AZURE_OPENAI_ENDPOINT=https://r",
					     "AZURE_OPENAI_API_KEY=k", "OPENAI_API_VERSION=v", NULL };
	static const struct { const char *model, *response_format; int rc; } rows[] = {
		{ "gpt-image-2", NULL, 0 },
		{ "dall-e-3", "url", 0 },
		{ "my-model", "url", -1 },
		{ "..", NULL, -1 },
		{ "a/b", NULL, -1 },
		{ "my.model-2_x", NULL, 0 },
	};
	struct provider_options o = { .provider = "azure", .timeout = -1 };
	struct api_config api;
	struct buf err = BUF_INIT;

	(void)state;
	assert_int_equal(configure(&api, &o, azure, &err), 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct img_params p = IMG_PARAMS_INIT;
		p.model = rows[i].model;
		p.response_format = rows[i].response_format;
		buf_reset(&err);
		assert_int_equal(provider_check_params(&api, &p, &err), rows[i].rc);
	}
	provider_release(&api);
	buf_release(&err);
}

static void test_refusals(void **state)
{
	static const struct { const char *env[3]; struct provider_options o; const char *word; } rows[] = {
		{ { "OPENAI_API_KEY=sk\r\nX: y", NULL }, { .timeout = -1 }, "OPENAI_API_KEY" },
		{ { "OPENAI_API_KEY=sk", "OPENAI_ORG_ID=o\nX: y", NULL }, { .timeout = -1 }, "OPENAI_ORG_ID" },
		{ { "OPENAI_API_KEY=sk", "OPENAI_PROJECT_ID=p\rq", NULL }, { .timeout = -1 }, "OPENAI_PROJECT_ID" },
		{ { "OPENAI_API_KEY=sk", NULL }, { .provider = "nope", .timeout = -1 }, "--provider" },
		{ { "OPENAI_API_KEY=sk", NULL }, { .deployment = "d", .timeout = -1 }, "--deployment" },
		{ { "OPENAI_API_KEY=sk", NULL }, { .base_url = "ftp://u:pw@x", .timeout = -1 }, "--base-url" },
		{ { "AZURE_OPENAI_ENDPOINT=https://r", "OPENAI_API_VERSION=v1", NULL },
		  { .deployment = "a/b", .timeout = -1 }, "--deployment" },
		{ { "AZURE_OPENAI_ENDPOINT=https://r", NULL },
		  { .api_version = "1&x=2", .timeout = -1 }, "--api-version" },
		{ { "AZURE_OPENAI_API_KEY=k", NULL }, { .timeout = -1 }, "AZURE_OPENAI_ENDPOINT" },
		{ { "AZURE_OPENAI_ENDPOINT=https://r", "OPENAI_API_VERSION=v1", NULL },
		  { .deployment = "..", .timeout = -1 }, "--deployment" },
		{ { "AZURE_OPENAI_ENDPOINT=https://r/openai/v1", NULL },
		  { .api_version = "2024-10-21", .timeout = -1 }, "--api-version" },
	};
	struct api_config api;
	struct buf err = BUF_INIT;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(configure(&api, &rows[i].o, rows[i].env, &err), -1);
		assert_non_null(strstr(err.data, rows[i].word));
		assert_null(strstr(err.data, "pw@"));
		provider_release(&api);
	}
	buf_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redact_url),
		cmocka_unit_test(test_control_characters),
		cmocka_unit_test(test_choice),
		cmocka_unit_test(test_azure_urls_and_headers),
		cmocka_unit_test(test_check_params),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
