#include "unit.h"

#include "batchapi.h"

/* The parts lines of these sizes make, as batchapi.c's writer splits them:
 * the size of each part in lines, into parts[]; returns how many. */
static size_t split(const size_t *sizes, size_t n, const struct batch_api_opts *o,
		    size_t *parts)
{
	size_t count = 0, lines = 0;
	unsigned long long bytes = 0;

	for (size_t i = 0; i < n; i++) {
		if (batch_api_new_part(lines, bytes, sizes[i], o)) {
			parts[count++] = lines;
			lines = 0;
			bytes = 0;
		}
		lines++;
		bytes += sizes[i];
	}
	if (lines)
		parts[count++] = lines;
	return count;
}

static void test_split_by_lines(void **state)
{
	struct batch_api_opts o = { .max_lines = 2, .max_bytes = BATCH_API_MAX_BYTES };
	size_t sizes[5] = { 10, 10, 10, 10, 10 }, parts[5];

	(void)state;
	assert_int_equal(split(sizes, 5, &o, parts), 3);
	assert_int_equal(parts[0], 2);
	assert_int_equal(parts[1], 2);
	assert_int_equal(parts[2], 1);
	o.max_lines = BATCH_API_MAX_LINES;
	assert_int_equal(split(sizes, 5, &o, parts), 1);
}

static void test_split_by_bytes(void **state)
{
	struct batch_api_opts o = { .max_lines = BATCH_API_MAX_LINES, .max_bytes = 100 };
	/* 60 + 40 fills the first exactly; 1 does not fit beside them. */
	size_t sizes[4] = { 60, 40, 1, 100 }, parts[4];

	(void)state;
	assert_int_equal(split(sizes, 4, &o, parts), 3);
	assert_int_equal(parts[0], 2);
	assert_int_equal(parts[1], 1);
	assert_int_equal(parts[2], 1);
}

static void test_the_first_line_of_a_part_always_goes_in(void **state)
{
	struct batch_api_opts o = { .max_lines = 1, .max_bytes = 10 };

	(void)state;
	assert_false(batch_api_new_part(0, 0, 5, &o));
	assert_true(batch_api_new_part(1, 5, 5, &o));
	o.max_lines = 5;
	assert_false(batch_api_new_part(1, 5, 5, &o));
	assert_true(batch_api_new_part(2, 10, 1, &o));
}

static void test_the_apis_limits(void **state)
{
	(void)state;
	assert_int_equal(BATCH_API_MAX_LINES, 50000);
	assert_true(BATCH_API_MAX_BYTES == 200ULL * 1024 * 1024);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_by_lines),
		cmocka_unit_test(test_split_by_bytes),
		cmocka_unit_test(test_the_first_line_of_a_part_always_goes_in),
		cmocka_unit_test(test_the_apis_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
