#include "unit.h"

#include "progress.h"

static void test_progress_one_format_table(void **state)
{
	static const struct {
		int64_t elapsed_ms;
		size_t received;
		long partials;
		int attempt;
		const char *want;
	} rows[] = {
		{ 0, 0, 0, 1, "generating: 0:00, waiting for the answer" },
		{ 65000, 0, 0, 2, "generating: 1:05, waiting for the answer (attempt 2 of 3)" },
		{ 12400, 512, 0, 1, "generating: 0:12, 512 bytes received" },
		{ 12400, 48200, 0, 1, "generating: 0:12, 48.2 kB received" },
		{ 3723000, 2400000, 0, 1, "generating: 1:02:03, 2.4 MB received" },
		{ 5000, 190200, 1, 1, "generating: 0:05, 190.2 kB received, 1 partial image" },
		{ 5000, 190200, 2, 3, "generating: 0:05, 190.2 kB received, 2 partial images "
				      "(attempt 3 of 3)" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct progress_one p = { .verb = "generating", .started_ms = 1000,
					  .received = rows[i].received,
					  .partials = rows[i].partials,
					  .attempt = rows[i].attempt, .attempts = 3 };
		char out[160];

		progress_one_format(&p, 1000 + rows[i].elapsed_ms, out, sizeof(out));
		assert_string_equal(out, rows[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_progress_one_format_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
