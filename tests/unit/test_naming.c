#include "unit.h"

#include "naming.h"

/* A fake disk: a NULL-terminated list of paths that exist. */
static bool fake_exists(const char *path, const void *data)
{
	for (const char *const *p = data; *p; p++)
		if (!strcmp(*p, path))
			return true;
	return false;
}

struct row {
	struct name_request req;
	const char *const *disk;
	int rc;
	const char *want[4];
};

static const char *const empty_disk[] = { NULL };
static const char *const cat_taken[] = { "cat.png", "cat-2.png", NULL };
static const char *const run_taken[] = { "out/cat-1.png", "out/cat-3.png", NULL };
static const char *const explicit_taken[] = { "x.png", NULL };

static void test_naming_table(void **state)
{
	static const struct row rows[] = {
		{ { .prompt = "A cute baby sea otter", .format = "png", .n = 1 }, empty_disk, 0,
		  { "a-cute-baby-sea-otter.png" } },
		{ { .prompt = "cat", .format = "jpeg", .n = 1 }, empty_disk, 0, { "cat.jpg" } },
		{ { .prompt = "cat", .format = "webp", .n = 2 }, empty_disk, 0,
		  { "cat-1.webp", "cat-2.webp" } },
		{ { .prompt = "cat", .format = "png", .n = 1 }, cat_taken, 0, { "cat-3.png" } },
		{ { .prompt = "cat", .out_dir = "out", .format = "png", .n = 3 }, run_taken, 0,
		  { "out/cat-4.png", "out/cat-5.png", "out/cat-6.png" } },
		{ { .prompt = "cat", .out_dir = "out/", .prefix = "space-ui", .format = "png", .n = 1 },
		  empty_disk, 0, { "out/space-ui.png" } },
		{ { .out = "x.png", .format = "png", .n = 1 }, empty_disk, 0, { "x.png" } },
		{ { .out = "x", .format = "webp", .n = 1 }, empty_disk, 0, { "x.webp" } },
		{ { .out = "x.png", .format = "png", .n = 2 }, empty_disk, 0, { "x-1.png", "x-2.png" } },
		{ { .out = "x.png", .out_dir = "d", .format = "png", .n = 1 }, empty_disk, 0, { "d/x.png" } },
		{ { .out = "x.png", .format = "png", .n = 1 }, explicit_taken, -1, { NULL } },
		{ { .out = "x.png", .format = "png", .n = 1, .force = true }, explicit_taken, 0, { "x.png" } },
		{ { .prompt = "photo", .suffix = "-edit", .format = "png", .n = 1 }, empty_disk, 0,
		  { "photo-edit.png" } },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct name_plan plan = NAME_PLAN_INIT;
		struct buf err = BUF_INIT;
		int rc = naming_plan(&rows[i].req, fake_exists, rows[i].disk, &plan, &err);

		assert_int_equal(rc, rows[i].rc);
		if (rc == 0) {
			for (size_t k = 0; k < plan.n; k++)
				assert_string_equal(plan.paths[k], rows[i].want[k]);
			assert_true(plan.n == 4 || rows[i].want[plan.n] == NULL);
		} else {
			assert_non_null(strstr(err.data, "--force"));
		}
		name_plan_release(&plan);
		buf_release(&err);
	}
}

static void test_next_free(void **state)
{
	static const char *const disk[] = { "a/cat-2.png", "a/cat-3.png", NULL };
	char *got = naming_next_free("a/cat.png", fake_exists, disk);

	(void)state;
	assert_string_equal(got, "a/cat-4.png");
	free(got);
	got = naming_next_free("noext", fake_exists, empty_disk);
	assert_string_equal(got, "noext-2");
	free(got);
	/* A prompt's own number is part of its name ... */
	got = naming_next_free("room-101.png", fake_exists, empty_disk);
	assert_string_equal(got, "room-101-2.png");
	free(got);
	/* ... but a number the plan gave goes on: two runs that both planned
	 * cat-2.png while the other waited give cat-3.png, not cat-2-2.png. */
	got = naming_next_numbered("a/cat-2.png", fake_exists, disk);
	assert_string_equal(got, "a/cat-4.png");
	free(got);
	got = naming_next_numbered("a/cat-3.png", fake_exists, empty_disk);
	assert_string_equal(got, "a/cat-4.png");
	free(got);
	got = naming_next_numbered("a/cat.png", fake_exists, disk);
	assert_string_equal(got, "a/cat-4.png");
	free(got);
}

static void test_formats(void **state)
{
	(void)state;
	assert_string_equal(format_ext("jpeg"), ".jpg");
	assert_string_equal(format_ext("webp"), ".webp");
	assert_string_equal(format_ext("png"), ".png");
	assert_string_equal(ext_format(".jpeg"), "jpeg");
	assert_string_equal(ext_format(".JPG"), "jpeg");
	assert_string_equal(format_ext("gif"), ".gif");
	assert_string_equal(format_ext("svg"), ".svg");
	assert_string_equal(ext_format(".gif"), "gif");
	assert_string_equal(ext_format(".SVG"), "svg");
	assert_null(ext_format(".bmp"));
	assert_null(ext_format(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_naming_table),
		cmocka_unit_test(test_next_free),
		cmocka_unit_test(test_formats),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
