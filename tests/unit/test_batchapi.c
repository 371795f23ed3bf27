#include "unit.h"

#include "batchapi.h"

#define GEN "images/generations"
#define EDIT "images/edits"
#define NONE BATCH_API_UNPLACED

/* Lines of one endpoint and model, of these sizes. */
static size_t split_sizes(const size_t *sizes, size_t n, const struct batch_api_opts *o,
			  size_t *part)
{
	struct batch_api_line lines[16];

	assert_true(n <= 16);
	for (size_t i = 0; i < n; i++)
		lines[i] = (struct batch_api_line){ GEN, "gpt-image-2", sizes[i] };
	return batch_api_split(lines, n, o, part);
}

static void test_split_by_lines(void **state)
{
	struct batch_api_opts o = { .max_lines = 2, .max_bytes = BATCH_API_MAX_BYTES };
	size_t sizes[5] = { 10, 10, 10, 10, 10 }, part[5];
	const size_t want[5] = { 0, 0, 1, 1, 2 };

	(void)state;
	assert_int_equal(split_sizes(sizes, 5, &o, part), 3);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(part[i], want[i]);
	o.max_lines = BATCH_API_MAX_LINES;
	assert_int_equal(split_sizes(sizes, 5, &o, part), 1);
}

static void test_split_by_bytes(void **state)
{
	struct batch_api_opts o = { .max_lines = BATCH_API_MAX_LINES, .max_bytes = 100 };
	/* 60 + 40 fills the first exactly; 1 does not fit beside them; 100 is
	 * a file alone; 101 is alone above the limit, and 0 could not be made:
	 * neither goes in a file. */
	size_t sizes[6] = { 60, 40, 1, 101, 100, 0 }, part[6];
	const size_t want[6] = { 0, 0, 1, NONE, 2, NONE };

	(void)state;
	assert_int_equal(split_sizes(sizes, 6, &o, part), 3);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(part[i], want[i]);
}

/* One endpoint and model a file, in the order of their first lines; each
 * group split on its own. */
static void test_split_by_endpoint_and_model(void **state)
{
	struct batch_api_opts o = { .max_lines = 2, .max_bytes = BATCH_API_MAX_BYTES };
	const struct batch_api_line lines[] = {
		{ GEN, "gpt-image-2", 10 }, { EDIT, "gpt-image-2", 10 },
		{ GEN, "gpt-image-2.5-flare", 10 }, { GEN, "gpt-image-2", 10 },
		{ EDIT, "gpt-image-2", 10 }, { GEN, "gpt-image-2", 10 },
		{ GEN, "gpt-image-2.5-flare", 10 },
	};
	const size_t want[] = { 0, 2, 3, 0, 2, 1, 3 };
	size_t part[ARRAY_SIZE(lines)];

	(void)state;
	assert_int_equal(batch_api_split(lines, ARRAY_SIZE(lines), &o, part), 4);
	for (size_t i = 0; i < ARRAY_SIZE(lines); i++)
		assert_int_equal(part[i], want[i]);
	assert_int_equal(batch_api_split(lines, 0, &o, part), 0);
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
		cmocka_unit_test(test_split_by_endpoint_and_model),
		cmocka_unit_test(test_the_first_line_of_a_part_always_goes_in),
		cmocka_unit_test(test_the_apis_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
