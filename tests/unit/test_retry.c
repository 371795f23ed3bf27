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

/* A 429 halves the slots in flight, at most once a second, and pauses every
 * launch for its delay; successes win the slots back one at a time, each after
 * as many successes as there are slots. */
static void test_pace_halves_and_wins_back(void **state)
{
	struct http_loop loop;
	struct pace p;

	(void)state;
	memset(&loop, 0, sizeof(loop));
	pace_init(&p, &loop, 8, 0);
	assert_int_equal(loop.max_running, 8);
	assert_int_equal(loop.launch_interval, 0);

	int64_t before = now_ms();
	pace_retry(&p, 429, 2000);
	assert_int_equal(loop.max_running, 4);
	assert_true(loop.paused_until >= before + 2000);
	pace_retry(&p, 429, 500);               /* the same second: no second cut, */
	assert_int_equal(loop.max_running, 4);
	assert_true(loop.paused_until >= before + 2000);   /* nor a shorter pause */
	pace_retry(&p, 503, 100);               /* only 429s cut */
	assert_int_equal(loop.max_running, 4);
	p.last_cut -= 1000;                     /* a second later */
	pace_retry(&p, 429, 0);
	assert_int_equal(loop.max_running, 2);
	p.last_cut -= 1000;
	pace_retry(&p, 429, 0);
	p.last_cut -= 1000;
	pace_retry(&p, 429, 0);
	assert_int_equal(loop.max_running, 1);  /* never below one */

	static const struct { int successes; size_t to; } steps[] = {
		{ 1, 2 }, { 2, 3 }, { 3, 4 }, { 4, 5 },
	};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		size_t was = loop.max_running;

		for (int k = 1; k < steps[i].successes; k++) {
			pace_success(&p);
			assert_int_equal(loop.max_running, was);
		}
		pace_success(&p);
		assert_int_equal(loop.max_running, steps[i].to);
	}
	assert_int_equal(loop.max_running, 5);
	for (int i = 0; i < 100; i++)
		pace_success(&p);
	assert_int_equal(loop.max_running, 8);  /* never past --concurrency */
	p.last_cut -= 1000;
	pace_retry(&p, 429, 0);                 /* a 429 forgets the successes so far */
	assert_int_equal(loop.max_running, 4);
	for (int i = 0; i < 3; i++)
		pace_success(&p);
	pace_retry(&p, 503, 0);
	pace_success(&p);
	assert_int_equal(loop.max_running, 5);  /* a 503 does not reset the count */
}

/* The rate-limit headers of a successful answer pace launches before a 429. */
static void test_pace_from_rate_limit_headers(void **state)
{
	struct http_loop loop;
	struct pace p;
	struct http_xfer x;
	char l120[] = "120", l6000[] = "6000", l1[] = "1", many[] = "many", zero[] = "0";
	char reset[] = "1.5s";

	(void)state;
	memset(&loop, 0, sizeof(loop));
	memset(&x, 0, sizeof(x));
	pace_init(&p, &loop, 4, 0);
	x.status = 200;
	x.resp.limit_requests = l120;
	loop.last_launch = 1000;
	pace_answer(&p, &x);
	assert_int_equal(loop.launch_interval, 500 + PACE_SLACK_MS);
	assert_int_equal(loop.next_launch, 1000 + 500 + PACE_SLACK_MS);
	x.resp.limit_requests = l6000;         /* a faster stated pace never beats --rpm */
	pace_init(&p, &loop, 4, 30);
	pace_answer(&p, &x);
	assert_int_equal(loop.launch_interval, 2000);
	x.status = 429;                          /* only successes pace */
	x.resp.limit_requests = l1;
	pace_answer(&p, &x);
	assert_int_equal(loop.launch_interval, 2000);

	/* No stated limit: "none remaining" pauses until the reset, up to a minute. */
	memset(&loop, 0, sizeof(loop));
	pace_init(&p, &loop, 4, 0);
	x.status = 200;
	x.resp.limit_requests = many;          /* not a number: as if absent */
	x.resp.remaining_requests = zero;
	x.resp.reset_requests = reset;
	int64_t before = now_ms();
	pace_answer(&p, &x);
	assert_int_equal(loop.launch_interval, 0);
	assert_true(loop.paused_until >= before + 1500 && loop.paused_until <= now_ms() + 1500);
	/* Requests remain, the reset is past a minute or not a duration, or a
	 * header is missing ("-" stands for absent): no pause. */
	static char ignored[][2][8] = {
		{ "1", "1s" }, { "0", "2m" }, { "0", "-1s" }, { "0", "soon" }, { "-1", "1s" },
		{ "x", "1s" }, { "-", "1s" }, { "0", "-" },
	};
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
		char *remaining = ignored[i][0], *wait = ignored[i][1];

		loop.paused_until = 0;
		x.resp.remaining_requests = strcmp(remaining, "-") ? remaining : NULL;
		x.resp.reset_requests = strcmp(wait, "-") ? wait : NULL;
		pace_answer(&p, &x);
		if (loop.paused_until != 0)
			fail_msg("remaining %s, reset %s paused", remaining, wait);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_table),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_hints),
		cmocka_unit_test(test_reset_durations),
		cmocka_unit_test(test_pace_halves_and_wins_back),
		cmocka_unit_test(test_pace_from_rate_limit_headers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
