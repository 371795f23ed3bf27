#include "unit.h"

#include "apierr.h"

static void check(const char *body, long status, const char *rid, const char *want)
{
	struct api_error e;
	char *summary;

	api_error_parse(&e, status, body, body ? strlen(body) : 0, rid);
	summary = api_error_summary(&e);
	if (strcmp(summary, want))
		fail_msg("got '%s', wanted '%s'", summary, want);
	free(summary);
	api_error_release(&e);
}

static void test_summaries(void **state)
{
	(void)state;
	check("{\"error\":{\"message\":\"Invalid size.\",\"type\":\"invalid_request_error\","
	      "\"param\":\"size\",\"code\":\"invalid_value\"}}", 400, "req_1",
	      "HTTP 400 invalid_request_error (code invalid_value, param size): "
	      "Invalid size. [request req_1]");
	check("{\"error\":{\"message\":\"Blocked\",\"type\":\"image_generation_user_error\","
	      "\"code\":\"moderation_blocked\",\"moderation\":{\"stage\":\"input\","
	      "\"categories\":[\"violence\",\"hate\"]}}}", 400, NULL,
	      "HTTP 400 image_generation_user_error (code moderation_blocked): Blocked "
	      "[moderation stage input; categories violence, hate]");
	check("{\"error\":{\"message\":\"Blocked\",\"type\":\"image_generation_user_error\","
	      "\"code\":\"moderation_blocked\",\"moderation_details\":{\"stage\":\"output\","
	      "\"categories\":[\"sexual\"]}}}", 400, NULL,
	      "HTTP 400 image_generation_user_error (code moderation_blocked): Blocked "
	      "[moderation stage output; categories sexual]");
	check("{\"error\":{\"message\":\"Blocked\",\"type\":\"image_generation_user_error\","
	      "\"code\":\"moderation_blocked\",\"stage\":\"input\"}}", 400, NULL,
	      "HTTP 400 image_generation_user_error (code moderation_blocked): Blocked "
	      "[moderation stage input; categories ?]");
	check("{\"error\":{\"message\":\"Blocked\",\"type\":\"image_generation_user_error\","
	      "\"code\":\"moderation_blocked\",\"param\":null}}", 400, NULL,
	      "HTTP 400 image_generation_user_error (code moderation_blocked): Blocked");
	check("<html>Bad\tGateway\n</html>", 502, "req_2",
	      "HTTP 502: <html>Bad Gateway </html> [request req_2]");
	check("{\"error\":\"plain text\"}", 500, NULL, "HTTP 500: plain text");
	check(NULL, 503, NULL, "HTTP 503");
	check("{\"error\":{\"code\":429}}", 429, NULL, "HTTP 429 (code 429)");
}

/* Keys a server quotes never reach the terminal. */
static void test_redaction(void **state)
{
	static const struct { const char *in, *secret, *want; } rows[] = {
		{ "Incorrect API key provided: Bearer sk-proj-abc123DEF456ghi. You can",
		  NULL, "Incorrect API key provided: Bearer [redacted]. You can" },
		{ "key sk-abcdefgh12 is wrong", NULL, "key sk-[redacted] is wrong" },
		{ "key sk-abc is short, task-abcdefghijk is a word", NULL,
		  "key sk-abc is short, task-abcdefghijk is a word" },
		{ "bad key 0123456789abcdef0123456789abcdef here",
		  "0123456789abcdef0123456789abcdef", "bad key [redacted] here" },
		{ "token eyJ0eXAi.eyJ1.c2ln rejected (bearer eyJ0eXAi.eyJ1.c2ln)",
		  "eyJ0eXAi.eyJ1.c2ln", "token [redacted] rejected (bearer [redacted])" },
		{ "short abc123 and (bearer abc1)", "abc123", "short abc123 and (bearer abc1)" },
		{ "a\x1b]0;title\x07" "b", NULL, "a ]0;title b" },
		{ "Bearer", NULL, "Bearer" },
		{ "provide your API key in an Authorization header using Bearer auth.", NULL,
		  "provide your API key in an Authorization header using Bearer auth." },
		{ "Bearer abc.def1234.ghi rejected", NULL, "Bearer [redacted] rejected" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *got = api_text_safe(rows[i].in, strlen(rows[i].in), NULL);
		struct api_error e = API_ERROR_INIT;
		e.message = got;
		api_error_redact(&e, rows[i].secret);
		if (strcmp(e.message, rows[i].want))
			fail_msg("row %zu: got '%s', wanted '%s'", i, e.message, rows[i].want);
		api_error_release(&e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_summaries),
		cmocka_unit_test(test_redaction),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
