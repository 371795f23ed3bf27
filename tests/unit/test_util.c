#include "unit.h"

#include "util.h"

static void test_closest_name_table(void **state)
{
	static const char *const commands[] = { "generate", "edit", "variation", "batch",
						"info", "models", "status", "usage" };
	static const char *const models[] = { "gpt-image-1", "gpt-image-2", "dall-e-3",
					      "gpt-image-2.6-sunburst" };
	static const struct {
		const char *word;
		const char *const *names;
		size_t n;
		const char *want;
	} rows[] = {
		{ "genrate", commands, 8, "generate" },
		{ "gnerate", commands, 8, "generate" },
		{ "gneerate", commands, 8, "generate" },   /* a swap is one edit */
		{ "generat", commands, 8, "generate" },
		{ "inof", commands, 8, "info" },
		{ "edti", commands, 8, "edit" },
		{ "bacth", commands, 8, "batch" },
		{ "generate", commands, 8, NULL },          /* a name itself */
		{ "ed", commands, 8, NULL },                /* too short to guess */
		{ "xyzzy", commands, 8, NULL },
		{ "gennnnerate", commands, 8, NULL },       /* three edits */
		{ "", commands, 8, NULL },
		{ "gpt-imag-1", models, 4, "gpt-image-1" },
		{ "gpt-image-3", models, 4, "gpt-image-1" }, /* the first of the closest */
		{ "dall-e-4", models, 4, "dall-e-3" },
		{ "gpt-image-2.6-sunbrust", models, 4, "gpt-image-2.6-sunburst" },
		{ "my-server-model", models, 4, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *got = closest_name(rows[i].word, rows[i].names, rows[i].n);
		if (rows[i].want)
			assert_non_null(got), assert_string_equal(got, rows[i].want);
		else
			assert_null(got);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_closest_name_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
