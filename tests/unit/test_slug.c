#include "unit.h"

#include "slug.h"

static void test_slug_table(void **state)
{
	static const struct { const char *text; size_t max; const char *want; } rows[] = {
		{ "A cute baby sea otter", 60, "a-cute-baby-sea-otter" },
		{ "  Hello,   WORLD!! ", 60, "hello-world" },
		{ "Retro 90s space UI", 60, "retro-90s-space-ui" },
		{ "../../etc/passwd", 60, "etc-passwd" },
		{ "日本語だけ", 60, "image" },
		{ "", 60, "image" },
		{ "!!!", 60, "image" },
		{ "café au lait", 60, "caf-au-lait" },
		{ "A modern tech startup office", 20, "a-modern-tech" },
		{ "A sunset over mountains", 20, "a-sunset-over" },
		{ "A team collaborating on a project", 20, "a-team-collaborating" },
		{ "supercalifragilisticexpialidocious", 10, "supercalif" },
		{ "one two", 3, "one" },
		{ "one two", 7, "one-two" },
		{ "one two", 6, "one" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *got = slug_make(rows[i].text, rows[i].max);
		assert_string_equal(got, rows[i].want);
		free(got);
	}
}

static void test_slug_folder(void **state)
{
	const char *three[] = { "A sunset over mountains", "A futuristic city at night",
				"A serene lake with reflections" };
	const char *five[] = { "one", "two", "three", "four", "five" };
	char *got;

	(void)state;
	got = slug_folder(three, 3);
	assert_string_equal(got, "a-sunset-over-a-futuristic-city-at-a-serene-lake-with");
	free(got);
	got = slug_folder(five, 5);
	assert_string_equal(got, "one-two-three-2-more");
	free(got);
	got = slug_folder(five, 0);
	assert_string_equal(got, "batch");
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slug_table),
		cmocka_unit_test(test_slug_folder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
