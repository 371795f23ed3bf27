#include "unit.h"

#include "pace.h"
#include "retry.h"

static void test_status_table(void **state)
{
	static const struct { long status; const char *should, *code; bool want; } rows[] = {
		{ 408, NULL, NULL, true }, { 409, NULL, NULL, true }, { 429, NULL, NULL, true },
		{ 500, NULL, NULL, true }, { 503, NULL, NULL, true }, { 400, NULL, NULL, false },
		{ 401, NULL, NULL, false }, { 404, NULL, NULL, false },
		{ 400, "true", NULL, true }, { 500, "false", NULL, false },
		{ 429, NULL, "insufficient_quota", false }, { 429, "true", "insufficient_quota", false },
		{ 400, NULL, "moderation_blocked", false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct retry_hints h = { .should_retry = rows[i].should, .error_code = rows[i].code };
		assert_int_equal(retry_status(rows[i].status, &h), rows[i].want);
	}
}

static void test_backoff(void **state)
{
	struct retry_policy p = RETRY_POLICY_INIT;
	static const struct { int done; double jitter; long want; } rows[] = {
		{ 0, 0.0, 500 }, { 1, 0.0, 1000 }, { 2, 0.0, 2000 }, { 3, 0.0, 4000 },
		{ 4, 0.0, 8000 }, { 5, 0.0, 8000 }, { 50, 0.0, 8000 }, { 5000, 0.0, 8000 },
		{ 0, 0.999999, 375 }, { 4, 0.5, 7000 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		assert_int_equal(retry_delay_ms(&p, rows[i].done, NULL, rows[i].jitter, 0),
				 rows[i].want);
	p.base = 0.1;
	assert_int_equal(retry_delay_ms(&p, 2, NULL, 0.0, 0), 400);
}

static void test_hints(void **state)
{
	struct retry_policy p = RETRY_POLICY_INIT;
	const time_t now = 784111777;   /* Sun, 06 Nov 1994 08:49:37 GMT */
	static const struct { const char *ms, *secs; long want_hint, want_delay; } rows[] = {
		{ "1500", NULL, 1500, 1500 },
		{ "250.4", "9", 250, 250 },
		{ NULL, "2", 2000, 2000 },
		{ NULL, "0.5", 500, 500 },
		{ NULL, "120", 120000, 500 },        /* over 60 s: computed backoff */
		{ NULL, "0", 0, 500 },
		{ NULL, "soon", -1, 500 },
		{ "-5", NULL, -1, 500 },
		{ NULL, "Sun, 06 Nov 1994 08:49:40 GMT", 3000, 3000 },
		{ NULL, "Sun, 06 Nov 1994 08:49:30 GMT", 0, 500 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct retry_hints h = { .retry_after_ms = rows[i].ms, .retry_after = rows[i].secs };
		assert_int_equal(retry_hint_ms(&h, now), rows[i].want_hint);
		assert_int_equal(retry_delay_ms(&p, 0, &h, 0.0, now), rows[i].want_delay);
	}
	assert_int_equal(retry_hint_ms(NULL, now), -1);
}

/* x-ratelimit-reset-requests: the API's durations, and nothing a server could
 * send to make a negative, endless or out-of-range wait (found by fuzzing:
 * "1e30s" overflowed a long). */
static void test_reset_durations(void **state)
{
	static const struct { const char *s; long ms; } rows[] = {
		{ "1s", 1000 }, { "6m0s", 360000 }, { "250ms", 250 }, { "1.5s", 1500 },
		{ "1h", 3600000 }, { "2", 2000 }, { "24h", 86400000 },
		{ "24h1s", -1 }, { "1e30s", -1 }, { "-5s", -1 }, { "inf", -1 }, { "nan", -1 },
		{ "0x10s", -1 }, { "5 s", -1 }, { "s", -1 }, { "", -1 }, { "1q", -1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (pace_parse_duration(rows[i].s) != rows[i].ms)
			fail_msg("'%s': %ld, wanted %ld", rows[i].s, pace_parse_duration(rows[i].s),
				 rows[i].ms);
	assert_int_equal(pace_parse_duration(NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_table),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_hints),
		cmocka_unit_test(test_reset_durations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
