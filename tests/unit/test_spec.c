#include "unit.h"

#include "spec.h"

static void test_format_from_out(void **state)
{
	static const struct {
		const char *out, *model, *given, *want;
		int rc;
	} rows[] = {
		{ NULL, NULL, NULL, NULL, 0 },
		{ "cat.png", NULL, NULL, "png", 0 },
		{ "cat.jpg", "gpt-image-2", NULL, "jpeg", 0 },
		{ "cat.JPEG", "gpt-image-2", NULL, "jpeg", 0 },
		{ "cat.webp", "gpt-image-2", "webp", "webp", 0 },
		{ "cat.webp", "gpt-image-2", "png", "png", -1 },
		{ "cat", "gpt-image-2", NULL, NULL, 0 },
		{ "cat.jpg", "dall-e-3", NULL, NULL, -1 },
		{ "cat.png", "dall-e-3", NULL, NULL, 0 },
		{ "cat.webp", "my-server-model", NULL, "webp", 0 },
	};
	struct buf err = BUF_INIT;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *format = rows[i].given;
		buf_reset(&err);
		assert_int_equal(spec_format_from_out(rows[i].out, "--out", rows[i].model, &format,
						      &err), rows[i].rc);
		if (rows[i].rc == 0 && rows[i].want)
			assert_string_equal(format, rows[i].want);
		else if (rows[i].rc == 0)
			assert_null(format);
		else
			assert_non_null(strstr(err.data, "--out"));
	}
	buf_release(&err);
}

static void test_settle_style(void **state)
{
	static const struct { const char *text, *api, *field; } rows[] = {
		{ "vivid", "vivid", NULL },
		{ "natural", "natural", NULL },
		{ "watercolour, soft", NULL, "watercolour, soft" },
		{ NULL, NULL, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct img_params p = IMG_PARAMS_INIT;
		struct prompt_fields f = { 0 };
		spec_settle_style(&p, &f, rows[i].text);
		assert_true(rows[i].api ? p.style && !strcmp(p.style, rows[i].api) : !p.style);
		assert_true(rows[i].field ? f.style && !strcmp(f.style, rows[i].field) : !f.style);
		assert_false(p.stream);
	}
	struct img_params p = IMG_PARAMS_INIT;
	struct prompt_fields f = { 0 };
	p.partial_images = 1;
	spec_settle_style(&p, &f, NULL);
	assert_true(p.stream);
}

static void test_prompt(void **state)
{
	struct prompt_fields f = { .scene = "a beach" };
	char *s;

	(void)state;
	s = spec_prompt("a dog", &f, true, false, NULL);
	assert_string_equal(s, "a dog");
	free(s);
	s = spec_prompt("a dog", &f, false, false, NULL);
	assert_non_null(strstr(s, "a beach"));
	free(s);
	s = spec_prompt("a dog", &f, true, true, NULL);
	assert_non_null(strstr(s, "solid " CHROMA_DEFAULT_KEY " chroma-key background"));
	free(s);
	s = spec_prompt("a dog", &f, true, false, "#FF00FF");
	assert_non_null(strstr(s, "solid #FF00FF chroma-key"));
	free(s);
}

static void test_image_work(void **state)
{
	static const struct { bool key; const char *color, *format, *background, *suffix, *word; } rows[] = {
		{ true, NULL, "jpeg", NULL, NULL, "jpeg" },
		{ true, NULL, NULL, "transparent", NULL, "--background" },
		{ false, "green", NULL, NULL, NULL, "--key-color" },
		{ false, NULL, NULL, NULL, "a/b", "--downscale-suffix" },
		{ false, NULL, NULL, NULL, "", "--downscale-suffix" },
		{ true, "#00ff00", "webp", "opaque", "-small", NULL },
	};
	struct buf err = BUF_INIT;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct job_spec s = JOB_SPEC_INIT;
		struct chroma_opts chroma;
		s.chroma_key = rows[i].key;
		s.key_color = rows[i].color;
		s.downscale_suffix = rows[i].suffix;
		s.params.output_format = rows[i].format;
		s.params.background = rows[i].background;
		buf_reset(&err);
		int rc = spec_image_work(&s, &s.params, &chroma, &err);
		if (rows[i].word) {
			assert_int_equal(rc, -1);
			assert_non_null(strstr(err.data, rows[i].word));
		} else {
			assert_int_equal(rc, 0);
			assert_true(chroma.enabled);
		}
	}
	buf_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_from_out),
		cmocka_unit_test(test_settle_style),
		cmocka_unit_test(test_prompt),
		cmocka_unit_test(test_image_work),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
