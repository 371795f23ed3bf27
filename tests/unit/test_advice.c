#include "unit.h"

#include "advice.h"

static struct api_config config(const char *url)
{
	struct api_config api = { .provider = provider_find("openai"), .timeout = 2.5 };

	api.shown_url = (char *)(uintptr_t)url;   /* borrowed: never freed here */
	return api;
}

static void test_advice_table(void **state)
{
	static const struct {
		const char *url;
		long status;
		const char *code;
		CURLcode transport;
		int timeouts;
		const char *model;
		enum advice want;
		const char *text;    /* the start of the advice */
	} rows[] = {
		{ "http://h:8080", 404, NULL, CURLE_OK, 0, "gpt-image-2", ADVICE_NO_V1,
		  "the base URL http://h:8080 has no /v1, where the API is: try "
		  "OPENAI_BASE_URL=http://h:8080/v1" },
		{ "http://h:8080/api", 404, NULL, CURLE_OK, 0, "gpt-image-2", ADVICE_NO_V1, NULL },
		{ "http://h/v10", 404, NULL, CURLE_OK, 0, "gpt-image-2", ADVICE_NO_V1, NULL },
		{ "http://h/v1", 404, NULL, CURLE_OK, 0, "gpt-image-2", ADVICE_NONE, NULL },
		{ "http://h/api/v1/images", 404, NULL, CURLE_OK, 0, "gpt-image-2", ADVICE_NONE,
		  NULL },
		{ "http://v1.example", 404, NULL, CURLE_OK, 0, "gpt-image-2", ADVICE_NO_V1, NULL },
		{ "http://h:8080", 400, NULL, CURLE_OK, 0, "gpt-image-2", ADVICE_NONE, NULL },
		{ "http://h:1/v1", 0, NULL, CURLE_COULDNT_CONNECT, 0, "gpt-image-2",
		  ADVICE_UNREACHABLE, "nothing answered at http://h:1/v1: check OPENAI_BASE_URL" },
		{ "http://nowhere/v1", 0, NULL, CURLE_COULDNT_RESOLVE_HOST, 0, "gpt-image-2",
		  ADVICE_UNREACHABLE, NULL },
		{ "http://h/v1", 0, NULL, CURLE_RECV_ERROR, 0, "gpt-image-2", ADVICE_NONE, NULL },
		{ "http://h/v1", 0, NULL, CURLE_OPERATION_TIMEDOUT, 3, "gpt-image-2",
		  ADVICE_TIMEOUT, "3 attempts timed out after 2.5 s (--timeout): a server may bill" },
		/* a timeout earlier, then a 503: the timed-out attempt may be billed */
		{ "http://h/v1", 503, NULL, CURLE_OK, 1, "gpt-image-2", ADVICE_TIMEOUT,
		  "1 attempt timed out" },
		{ "http://h/v1", 404, "model_not_found", CURLE_OK, 0, "gpt-imag-2", ADVICE_MODEL,
		  "did you mean --model gpt-image-2?" },
		{ "http://h/v1", 404, "model_not_found", CURLE_OK, 0, "my-model", ADVICE_NONE,
		  NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct api_config api = config(rows[i].url);
		struct call c;
		struct buf out = BUF_INIT;

		memset(&c, 0, sizeof(c));
		c.apierr.status = rows[i].status;
		c.apierr.code = (char *)(uintptr_t)rows[i].code;
		c.transport = rows[i].transport;
		c.timeouts = rows[i].timeouts;
		print_message("row %zu\n", i);
		assert_int_equal(advice_for(&c, &api, rows[i].model, &out), rows[i].want);
		if (rows[i].text)
			assert_memory_equal(out.data, rows[i].text, strlen(rows[i].text));
		if (rows[i].want == ADVICE_NONE)
			assert_int_equal(out.len, 0);
		buf_release(&out);
	}
}

static void test_advice_attempts(void **state)
{
	struct call c;
	char n[32];

	(void)state;
	memset(&c, 0, sizeof(c));
	c.attempts = 1;
	assert_null(advice_attempts(&c, n));
	c.attempts = 3;
	assert_string_equal(advice_attempts(&c, n), "3 attempts");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_advice_table),
		cmocka_unit_test(test_advice_attempts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
