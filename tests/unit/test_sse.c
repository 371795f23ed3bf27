#include "unit.h"

#include "sse.h"
#include "util.h"

/* Records what the parser reports, as text: "data|" pieces are joined per
 * event, each field as "name=value;", each dispatch as "!". */
struct record {
	struct buf log;
	struct buf data;
};

static int r_data(void *ud, const char *p, size_t len)
{
	return buf_add(&((struct record *)ud)->data, p, len);
}

static int r_field(void *ud, const char *name, const char *value)
{
	return buf_addf(&((struct record *)ud)->log, "%s=%s;", name, value);
}

static int r_dispatch(void *ud)
{
	struct record *r = ud;

	buf_addf(&r->log, "data=%s!", r->data.data ? r->data.data : "");
	buf_reset(&r->data);
	return 0;
}

static char *parse_in_steps(const char *text, size_t step, bool *incomplete)
{
	struct record r = { BUF_INIT, BUF_INIT };
	struct sse_sink sink = { r_data, r_field, r_dispatch, &r };
	struct sse s;
	size_t len = strlen(text);

	sse_init(&s, &sink);
	for (size_t at = 0; at < len; at += step)
		assert_int_equal(sse_feed(&s, text + at, len - at < step ? len - at : step), 0);
	*incomplete = sse_incomplete(&s);
	buf_release(&r.data);
	return buf_detach(&r.log);
}

static void test_table(void **state)
{
	static const struct { const char *in, *want; bool incomplete; } rows[] = {
		{ "event: a\ndata: {\"x\":1}\n\n", "event=a;data={\"x\":1}!", false },
		{ "event: a\r\ndata: {\"x\":1}\r\n\r\n", "event=a;data={\"x\":1}!", false },
		{ "event: a\rdata: hi\r\r", "event=a;data=hi!", false },
		{ "data: one\ndata: two\n\n", "data=one\ntwo!", false },
		{ "data:nospace\n\n", "data=nospace!", false },
		{ "data:  two spaces\n\n", "data= two spaces!", false },
		{ ": keep-alive\n\nid: 7\ndata: x\n\n", "id=7;data=x!", false },
		{ "retry: 100\nunknown: y\ndata\n\n", "retry=100;data=!", false },
		{ "\n\n\n", "", false },
		{ "data: a\n\ndata: b\n\n", "data=a!data=b!", false },
		{ "event: a\ndata: cut", "event=a;", true },
		{ "data: whole\n", "", true },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t len = strlen(rows[i].in);
		for (size_t step = 1; step <= len; step++) {
			bool incomplete;
			char *got = parse_in_steps(rows[i].in, step, &incomplete);
			if (strcmp(got, rows[i].want) || incomplete != rows[i].incomplete)
				fail_msg("row %zu step %zu: got '%s' (incomplete %d)", i, step, got,
					 incomplete);
			free(got);
		}
	}
}

static void test_limits(void **state)
{
	struct record r = { BUF_INIT, BUF_INIT };
	struct sse_sink sink = { r_data, r_field, r_dispatch, &r };
	struct sse s;
	char line[SSE_VALUE_MAX + 16];

	(void)state;
	sse_init(&s, &sink);
	assert_int_equal(sse_feed(&s, "averyveryverylongfieldname: x\n", 30), -1);
	assert_non_null(s.error);
	sse_init(&s, &sink);
	memcpy(line, "event: ", 7);
	memset(line + 7, 'a', sizeof(line) - 7);
	assert_int_equal(sse_feed(&s, line, sizeof(line)), -1);
	/* Data has no limit: it is passed on. */
	sse_init(&s, &sink);
	assert_int_equal(sse_feed(&s, "data: ", 6), 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(sse_feed(&s, line + 7, SSE_VALUE_MAX), 0);
	assert_int_equal(r.data.len, 1000 * SSE_VALUE_MAX);
	buf_release(&r.log);
	buf_release(&r.data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
