#include "unit.h"

#include "scan.h"

/* A sink that collects each diverted value as a string. */
struct collect {
	struct buf values[4];
	size_t opened, closed;
};

static int c_open(void *data, size_t index)
{
	struct collect *c = data;

	assert_int_equal(index, c->opened);
	c->opened++;
	return 0;
}

static int c_write(void *data, const char *text, size_t len)
{
	struct collect *c = data;

	assert_true(c->opened > 0 && c->opened <= 4);
	return buf_add(&c->values[c->opened - 1], text, len);
}

static int c_close(void *data, size_t index)
{
	struct collect *c = data;

	assert_int_equal(index + 1, c->opened);
	c->closed++;
	return 0;
}

static void collect_release(struct collect *c)
{
	for (size_t i = 0; i < 4; i++)
		buf_release(&c->values[i]);
}

/* Scans doc in pieces of `step` bytes; checks residual and values. */
static void scan_in_steps(const char *doc, size_t step, bool keep, const char *want_residual,
			  const char *const *want_values, size_t nvalues)
{
	struct collect c;
	struct scan_sink sink = { c_open, c_write, c_close, &c };
	struct scan s;
	size_t len = strlen(doc);

	memset(&c, 0, sizeof(c));
	scan_init(&s, &sink, keep);
	for (size_t at = 0; at < len; at += step) {
		size_t take = len - at < step ? len - at : step;
		assert_int_equal(scan_feed(&s, doc + at, take), 0);
	}
	assert_int_equal(scan_finish(&s), 0);
	assert_string_equal(s.residual.data ? s.residual.data : "", want_residual);
	assert_int_equal(c.opened, nvalues);
	assert_int_equal(c.closed, nvalues);
	for (size_t i = 0; i < nvalues; i++)
		assert_string_equal(c.values[i].data ? c.values[i].data : "", want_values[i]);
	scan_release(&s);
	collect_release(&c);
}

static void test_every_split(void **state)
{
	static const char doc[] =
		"{\"created\": 1, \"data\": [{\"b64_json\": \"QUJD\\/RA==\", \"revised_prompt\": \"a \\\"b64_json\\\" b\"},"
		" {\"url\": \"b64_json\", \"b64_json\":\"WFla\"}], \"note\": [\"b64_json\", \"x\"],"
		" \"usage\": {\"total_tokens\": 3}}";
	static const char residual[] =
		"{\"created\": 1, \"data\": [{\"b64_json\": \"\", \"revised_prompt\": \"a \\\"b64_json\\\" b\"},"
		" {\"url\": \"b64_json\", \"b64_json\":\"\"}], \"note\": [\"b64_json\", \"x\"],"
		" \"usage\": {\"total_tokens\": 3}}";
	const char *values[] = { "QUJD/RA==", "WFla" };

	(void)state;
	for (size_t step = 1; step <= sizeof(doc); step++)
		scan_in_steps(doc, step, false, residual, values, 2);
}

static void test_keep_mode(void **state)
{
	static const char doc[] = "{\"data\":[{\"b64_json\":\"QU\\/J\"}]}";
	const char *values[] = { "QU/J" };

	(void)state;
	for (size_t step = 1; step <= sizeof(doc); step++)
		scan_in_steps(doc, step, true, doc, values, 1);
}

static void test_not_diverted(void **state)
{
	/* A b64_json key whose value is not a string, and a key that only
	 * contains the name, are left alone. */
	static const char doc[] = "{\"b64_json\": null, \"xb64_json\": \"AAAA\", \"b64_jsonx\": \"BBBB\"}";

	(void)state;
	scan_in_steps(doc, 3, false, doc, NULL, 0);
}

static void test_errors(void **state)
{
	struct scan s;
	struct collect c;
	struct scan_sink sink = { c_open, c_write, c_close, &c };

	(void)state;
	memset(&c, 0, sizeof(c));
	scan_init(&s, &sink, false);
	assert_int_equal(scan_feed(&s, "{\"b64_json\":\"AB\\u0041\"}", 22), -1);
	assert_non_null(strstr(s.error, "escape"));
	scan_release(&s);
	collect_release(&c);

	memset(&c, 0, sizeof(c));
	scan_init(&s, &sink, false);
	assert_int_equal(scan_feed(&s, "{\"b64_json\":\"ABCD", 17), 0);
	assert_int_equal(scan_finish(&s), -1);
	scan_release(&s);
	collect_release(&c);

	memset(&c, 0, sizeof(c));
	scan_init(&s, &sink, false);
	char deep[SCAN_DEPTH_MAX + 2];
	memset(deep, '[', sizeof(deep));
	assert_int_equal(scan_feed(&s, deep, sizeof(deep)), -1);
	scan_release(&s);
	collect_release(&c);
}

static void test_reset(void **state)
{
	struct scan s;
	struct collect c;
	struct scan_sink sink = { c_open, c_write, c_close, &c };

	(void)state;
	memset(&c, 0, sizeof(c));
	scan_init(&s, &sink, false);
	assert_int_equal(scan_feed(&s, "{\"b64_json\":\"AB", 15), 0);
	scan_reset(&s);
	c.opened = c.closed = 0;
	buf_reset(&c.values[0]);
	assert_int_equal(scan_feed(&s, "{\"b64_json\":\"CD\"}", 17), 0);
	assert_int_equal(scan_finish(&s), 0);
	assert_string_equal(c.values[0].data, "CD");
	assert_string_equal(s.residual.data, "{\"b64_json\":\"\"}");
	scan_release(&s);
	collect_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_split),
		cmocka_unit_test(test_keep_mode),
		cmocka_unit_test(test_not_diverted),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
