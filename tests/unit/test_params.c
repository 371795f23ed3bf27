#include "unit.h"

#include <time.h>

#include "params.h"

struct row {
	const char *model;
	const char *size;
	const char *quality;
	const char *background;
	const char *format;
	long n;
	long compression;
	const char *extra;      /* "style=vivid", "rf=url", "fidelity=low", "moderation=low" */
	enum operation op;
	const char *want;       /* NULL: valid; else a substring of the error */
};

static void apply_extra(struct img_params *p, const char *extra)
{
	if (!extra)
		return;
	if (!strncmp(extra, "style=", 6))
		p->style = extra + 6;
	else if (!strncmp(extra, "rf=", 3))
		p->response_format = extra + 3;
	else if (!strncmp(extra, "fidelity=", 9))
		p->input_fidelity = extra + 9;
	else if (!strncmp(extra, "moderation=", 11))
		p->moderation = extra + 11;
	else if (!strcmp(extra, "partial"))
		p->partial_images = 2;
}

static void test_validation_table(void **state)
{
	static const struct row rows[] = {
		{ "gpt-image-2", "1024x1024", "medium", NULL, "png", 1, -1, NULL, OP_GENERATE, NULL },
		{ "gpt-image-2", "3840x2160", "high", NULL, "png", 1, -1, NULL, OP_GENERATE, NULL },
		{ "gpt-image-2", "auto", "low", NULL, "png", 10, -1, NULL, OP_GENERATE, NULL },
		{ "gpt-image-2", "1000x1000", NULL, NULL, "png", 1, -1, NULL, OP_GENERATE, "multiples of 16" },
		{ "gpt-image-2", "4096x1024", NULL, NULL, "png", 1, -1, NULL, OP_GENERATE, "at most 3840" },
		{ "gpt-image-2", "3072x1008", NULL, NULL, "png", 1, -1, NULL, OP_GENERATE, "3 times" },
		{ "gpt-image-2", "512x512", NULL, NULL, "png", 1, -1, NULL, OP_GENERATE, "pixels" },
		{ "gpt-image-2", "1024x1024", "hd", NULL, "png", 1, -1, NULL, OP_GENERATE, "--quality" },
		{ "gpt-image-2", "1024x1024", NULL, NULL, "jpeg", 1, 80, NULL, OP_GENERATE, NULL },
		{ "gpt-image-2", "1024x1024", NULL, NULL, "png", 1, 80, NULL, OP_GENERATE, "--output-compression" },
		{ "gpt-image-2", "1024x1024", NULL, "transparent", "jpeg", 1, -1, NULL, OP_GENERATE, "--background" },
		{ "gpt-image-2", "1024x1024", NULL, NULL, "png", 1, -1, "style=vivid", OP_GENERATE, "--style" },
		{ "gpt-image-2", "1024x1024", NULL, NULL, "png", 1, -1, "rf=url", OP_GENERATE, "--response-format" },
		{ "gpt-image-2", "1024x1024", NULL, NULL, "png", 1, -1, "fidelity=high", OP_EDIT, "--input-fidelity" },
		{ "gpt-image-1.5", "1024x1024", NULL, NULL, "png", 1, -1, "fidelity=high", OP_EDIT, NULL },
		{ "gpt-image-1.5", "1024x1024", NULL, NULL, "png", 1, -1, "fidelity=high", OP_GENERATE, "only edits" },
		{ "gpt-image-1", "2048x2048", NULL, NULL, "png", 1, -1, NULL, OP_GENERATE, "--size" },
		{ "gpt-image-1-mini", "1536x1024", "auto", "transparent", "webp", 1, -1, NULL, OP_GENERATE, NULL },
		{ "gpt-image-1", "1024x1024", NULL, NULL, "png", 11, -1, NULL, OP_GENERATE, "--n" },
		{ "gpt-image-1", "1024x1024", NULL, NULL, "png", 0, -1, NULL, OP_GENERATE, "--n" },
		{ "gpt-image-1", "1024x1024", "ultra", NULL, "png", 1, -1, NULL, OP_GENERATE, "--quality" },
		{ "gpt-image-1", "1024x1024", NULL, NULL, "gif", 1, -1, NULL, OP_GENERATE, "--output-format" },
		{ "gpt-image-1", "1024x1024", NULL, NULL, "bmp", 1, -1, NULL, OP_GENERATE, "--output-format" },
		{ "gpt-image-1", "1024x1024", NULL, NULL, "png", 1, -1, "moderation=high", OP_GENERATE, "--moderation" },
		{ "gpt-image-1", "1024x1024", NULL, NULL, "png", 1, -1, "partial", OP_GENERATE, "--partial-images" },
		{ "dall-e-3", "1792x1024", "hd", NULL, NULL, 1, -1, "style=natural", OP_GENERATE, NULL },
		{ "dall-e-3", "1024x1024", NULL, NULL, NULL, 2, -1, NULL, OP_GENERATE, "--n" },
		{ "dall-e-3", "512x512", NULL, NULL, NULL, 1, -1, NULL, OP_GENERATE, "--size" },
		{ "dall-e-3", "1024x1024", "medium", NULL, NULL, 1, -1, NULL, OP_GENERATE, "--quality" },
		{ "dall-e-3", "1024x1024", NULL, "opaque", NULL, 1, -1, NULL, OP_GENERATE, "--background" },
		{ "dall-e-3", "1024x1024", NULL, NULL, "jpeg", 1, -1, NULL, OP_GENERATE, "--output-format" },
		{ "dall-e-3", "1024x1024", NULL, NULL, NULL, 1, 50, NULL, OP_GENERATE, "--output-compression" },
		{ "dall-e-3", "1024x1024", NULL, NULL, NULL, 1, -1, "moderation=low", OP_GENERATE, "--moderation" },
		{ "dall-e-2", "256x256", "standard", NULL, NULL, 10, -1, "rf=b64_json", OP_GENERATE, NULL },
		{ "dall-e-2", "1024x1024", NULL, NULL, NULL, 1, -1, "style=vivid", OP_GENERATE, "--style" },
		{ "dall-e-2", "1792x1024", NULL, NULL, NULL, 1, -1, NULL, OP_GENERATE, "--size" },
		{ "dall-e-2", "512x512", NULL, NULL, NULL, 1, -1, NULL, OP_VARIATION, NULL },
		{ "dall-e-3", "1024x1024", NULL, NULL, NULL, 1, -1, NULL, OP_VARIATION, "variations" },
		{ "dall-e-3", "1024x1024", NULL, NULL, NULL, 1, -1, NULL, OP_EDIT, "cannot edit" },
		{ "my-local-model", "640x480", "whatever", NULL, NULL, 1, -1, NULL, OP_GENERATE, "--quality" },
		{ "my-local-model", "640x480", "high", NULL, NULL, 1, -1, NULL, OP_GENERATE, NULL },
		{ "my-local-model", "big", NULL, NULL, NULL, 1, -1, NULL, OP_GENERATE, "--size" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct img_params p = IMG_PARAMS_INIT;
		struct buf err = BUF_INIT, warn = BUF_INIT;
		int rc;

		p.model = rows[i].model;
		p.size = rows[i].size;
		p.quality = rows[i].quality;
		p.background = rows[i].background;
		p.output_format = rows[i].format;
		p.n = rows[i].n;
		p.output_compression = rows[i].compression;
		apply_extra(&p, rows[i].extra);
		rc = params_validate(&p, rows[i].op, "a prompt", &err, &warn);
		if (!rows[i].want) {
			if (rc)
				fail_msg("row %zu: unexpected error: %s", i, err.data);
		} else {
			if (!rc)
				fail_msg("row %zu: accepted, wanted '%s'", i, rows[i].want);
			if (!strstr(err.data, rows[i].want))
				fail_msg("row %zu: '%s' lacks '%s'", i, err.data, rows[i].want);
		}
		buf_release(&err);
		buf_release(&warn);
	}
}

static void test_warnings(void **state)
{
	struct img_params p = IMG_PARAMS_INIT;
	struct buf err = BUF_INIT, warn = BUF_INIT;

	(void)state;
	p.model = "gpt-image-2";
	p.size = "3840x2160";
	p.background = "transparent";
	assert_int_equal(params_validate(&p, OP_GENERATE, "x", &err, &warn), 0);
	assert_non_null(strstr(warn.data, "experimental"));
	assert_non_null(strstr(warn.data, "preview"));
	buf_reset(&warn);
	p.model = "someone-elses-model";
	assert_int_equal(params_validate(&p, OP_GENERATE, "x", &err, &warn), 0);
	assert_non_null(strstr(warn.data, "not a model imagegen knows"));
	buf_release(&err);
	buf_release(&warn);
}

/* GIF and SVG (reference §2.3): every rule refused or warned. */
static void test_gif_and_svg(void **state)
{
	static const struct {
		const char *model, *format, *size;
		long n, compression, frames, ms;
		const char *svg_model, *svg_effort;
		bool stream;
		long partials;
		enum operation op;
		const char *error;      /* NULL: accepted */
		const char *warning;    /* NULL: none expected */
	} rows[] = {
#define M26 "gpt-image-2.6-flare"
		{ M26, "gif", "256x256", 1, -1, 4, 120, NULL, NULL, false, -1, OP_GENERATE, NULL, NULL },
		{ M26, "gif", "auto", 2, -1, -1, -1, NULL, NULL, false, -1, OP_EDIT, NULL, NULL },
		{ M26, "gif", "256x256", 1, -1, 1, -1, NULL, NULL, false, -1, OP_GENERATE, "--frame-count", NULL },
		{ M26, "gif", "256x256", 1, -1, 17, -1, NULL, NULL, false, -1, OP_GENERATE, "--frame-count", NULL },
		{ M26, "gif", "256x256", 1, -1, -1, 10, NULL, NULL, false, -1, OP_GENERATE, "--frame-duration-ms", NULL },
		{ M26, "gif", "256x256", 1, -1, -1, 655360, NULL, NULL, false, -1, OP_GENERATE, "--frame-duration-ms", NULL },
		{ M26, "gif", "256x256", 1, -1, -1, 125, NULL, NULL, false, -1, OP_GENERATE, NULL, "nearest 10 ms" },
		{ M26, "png", "1024x1024", 1, -1, 4, -1, NULL, NULL, false, -1, OP_GENERATE, "--frame-count", NULL },
		{ M26, "png", "1024x1024", 1, -1, -1, 200, NULL, NULL, false, -1, OP_GENERATE, "--frame-duration-ms", NULL },
		{ M26, "gif", "256x256", 1, -1, -1, -1, NULL, NULL, true, -1, OP_GENERATE, "--stream", NULL },
		{ M26, "gif", "256x256", 1, -1, -1, -1, NULL, NULL, true, 2, OP_GENERATE, "--partial-images", NULL },
		{ M26, "gif", "256x256", 1, 50, -1, -1, NULL, NULL, false, -1, OP_GENERATE, "--output-compression", NULL },
		{ M26, "gif", "1024x1024", 1, -1, 9, -1, NULL, NULL, false, -1, OP_GENERATE, NULL, "pixel budget" },
		{ M26, "gif", "960x960", 1, -1, 9, -1, NULL, NULL, false, -1, OP_GENERATE, NULL, NULL },
		{ M26, "gif", "1000x1000", 1, -1, -1, -1, NULL, NULL, false, -1, OP_GENERATE, "multiples of 16", NULL },
		{ "gpt-image-2.5-flare", "gif", "256x256", 1, -1, -1, -1, NULL, NULL, false, -1, OP_GENERATE, "only the gpt-image-2.6", NULL },
		{ "gpt-image-2", "svg", "1024x1024", 1, -1, -1, -1, "gpt-5", NULL, false, -1, OP_GENERATE, "only the gpt-image-2.6", NULL },
		{ M26, "svg", "1024x1536", 1, -1, -1, -1, "gpt-5", "low", false, -1, OP_GENERATE, NULL, NULL },
		{ M26, "svg", "auto", -1, -1, -1, -1, NULL, NULL, false, -1, OP_GENERATE, NULL, "--svg-model" },
		{ M26, "svg", "1024x1024", 2, -1, -1, -1, "gpt-5", NULL, false, -1, OP_GENERATE, "--n", NULL },
		{ M26, "svg", "2048x2048", 1, -1, -1, -1, "gpt-5", NULL, false, -1, OP_GENERATE, "SVG output comes in", NULL },
		{ M26, "svg", "1024x1024", 1, 80, -1, -1, "gpt-5", NULL, false, -1, OP_GENERATE, "--output-compression", NULL },
		{ M26, "svg", "1024x1024", 1, -1, -1, -1, "gpt-5", "huge", false, -1, OP_GENERATE, "--svg-effort", NULL },
		{ M26, "svg", "1024x1024", 1, -1, -1, -1, "", NULL, false, -1, OP_GENERATE, "--svg-model", NULL },
		{ M26, "svg", "1024x1024", 1, -1, -1, -1, "gpt-5", NULL, true, -1, OP_GENERATE, NULL, "undocumented" },
		{ M26, "svg", "1024x1024", 1, -1, -1, -1, "gpt-5", NULL, false, -1, OP_EDIT, NULL, "undocumented" },
		{ M26, "png", "1024x1024", 1, -1, -1, -1, "gpt-5", NULL, false, -1, OP_GENERATE, "--svg-model", NULL },
		{ M26, "webp", "1024x1024", 1, -1, -1, -1, NULL, "low", false, -1, OP_GENERATE, "--svg-effort", NULL },
		{ "my-local-model", "gif", "640x480", 1, -1, 4, -1, NULL, NULL, false, -1, OP_GENERATE, NULL, NULL },
#undef M26
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct img_params p = IMG_PARAMS_INIT;
		struct buf err = BUF_INIT, warn = BUF_INIT;
		int rc;

		p.model = rows[i].model;
		p.output_format = rows[i].format;
		p.size = rows[i].size;
		p.n = rows[i].n;
		p.output_compression = rows[i].compression;
		p.frame_count = rows[i].frames;
		p.frame_duration_ms = rows[i].ms;
		p.svg_model = rows[i].svg_model;
		p.svg_effort = rows[i].svg_effort;
		p.stream = rows[i].stream;
		p.partial_images = rows[i].partials;
		rc = params_validate(&p, rows[i].op, "a prompt", &err, &warn);
		if (!rows[i].error && rc)
			fail_msg("row %zu: unexpected error: %s", i, err.data);
		if (rows[i].error && (!rc || !strstr(err.data, rows[i].error)))
			fail_msg("row %zu: wanted an error with '%s', got '%s'", i, rows[i].error,
				 err.data ? err.data : "(accepted)");
		if (rows[i].warning && (!warn.data || !strstr(warn.data, rows[i].warning)))
			fail_msg("row %zu: wanted a warning with '%s', got '%s'", i,
				 rows[i].warning, warn.data ? warn.data : "");
		if (!rows[i].error && !rows[i].warning && warn.len &&
		    strcmp(rows[i].model, "my-local-model"))
			fail_msg("row %zu: unexpected warning: %s", i, warn.data);
		buf_release(&err);
		buf_release(&warn);
	}
}

static void test_prompt_limits(void **state)
{
	static const struct { const char *model; size_t len; int rc; } rows[] = {
		{ "gpt-image-2", 32000, 0 }, { "gpt-image-2", 32001, -1 },
		{ "dall-e-3", 4000, 0 }, { "dall-e-3", 4001, -1 },
		{ "dall-e-2", 1000, 0 }, { "dall-e-2", 1001, -1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct img_params p = IMG_PARAMS_INIT;
		struct buf err = BUF_INIT, warn = BUF_INIT;
		char *prompt = malloc(rows[i].len + 1);

		memset(prompt, 'a', rows[i].len);
		prompt[rows[i].len] = '\0';
		p.model = rows[i].model;
		assert_int_equal(params_validate(&p, OP_GENERATE, prompt, &err, &warn), rows[i].rc);
		free(prompt);
		buf_release(&err);
		buf_release(&warn);
	}
	/* Characters, not bytes: 1000 two-byte characters fit dall-e-2. */
	struct img_params p = IMG_PARAMS_INIT;
	struct buf err = BUF_INIT, warn = BUF_INIT;
	struct buf prompt = BUF_INIT;
	for (int i = 0; i < 1000; i++)
		buf_adds(&prompt, "\xc3\xa9");
	p.model = "dall-e-2";
	assert_int_equal(params_validate(&p, OP_GENERATE, prompt.data, &err, &warn), 0);
	assert_int_equal(params_validate(&p, OP_GENERATE, "\xff\xfe", &err, &warn), -1);
	buf_release(&prompt);
	buf_release(&err);
	buf_release(&warn);
}

static void test_size_parse(void **state)
{
	static const struct { const char *s; int rc, w, h; } rows[] = {
		{ "1024x1024", 0, 1024, 1024 }, { "1536x864", 0, 1536, 864 },
		{ "1x1", 0, 1, 1 }, { "65535x1", 0, 65535, 1 },
		{ "65536x1", -1, 0, 0 }, { "1024X1024", -1, 0, 0 }, { "x1024", -1, 0, 0 },
		{ "1024x", -1, 0, 0 }, { "01024x1024", -1, 0, 0 }, { "10 24x1024", -1, 0, 0 },
		{ "1024x1024x1", -1, 0, 0 }, { "", -1, 0, 0 }, { "-1x5", -1, 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int w = 0, h = 0;
		assert_int_equal(size_parse(rows[i].s, &w, &h), rows[i].rc);
		if (!rows[i].rc) {
			assert_int_equal(w, rows[i].w);
			assert_int_equal(h, rows[i].h);
		}
	}
}

static void test_defaults(void **state)
{
	struct img_params p = IMG_PARAMS_INIT;

	(void)state;
	params_apply_defaults(&p, OP_GENERATE);
	assert_string_equal(p.model, "gpt-image-2");
	assert_string_equal(p.size, "auto");
	assert_string_equal(p.quality, "medium");
	assert_string_equal(p.output_format, "png");
	p = (struct img_params)IMG_PARAMS_INIT;
	p.model = "dall-e-3";
	params_apply_defaults(&p, OP_GENERATE);
	assert_string_equal(p.size, "1024x1024");
	assert_null(p.quality);
	assert_null(p.output_format);
	p = (struct img_params)IMG_PARAMS_INIT;
	p.model = "their-model";
	params_apply_defaults(&p, OP_GENERATE);
	assert_null(p.size);
	assert_null(p.quality);
}

/* A model's life depends on the day: deprecated before its shutdown date
 * (a warning anywhere), shut down from that day (refused at OpenAI unless
 * allowed, warned elsewhere). */
static void test_model_life(void **state)
{
	static const struct {
		const char *model, *day;
		bool at_openai, allow;
		int rc;
		const char *says;
	} rows[] = {
		{ "gpt-image-1.5", "2026-11-30", true, false, 0, "deprecated" },
		{ "gpt-image-1.5", "2026-11-30", false, false, 0, "shuts it down on 2026-12-01" },
		{ "gpt-image-1.5", "2026-12-01", true, false, -1, "was shut down at OpenAI on 2026-12-01" },
		{ "gpt-image-1.5", "2026-12-01", true, true, 0, "sending it" },
		{ "gpt-image-1.5", "2026-12-01", false, false, 0, "sending it" },
		{ "gpt-image-1", "2026-10-22", true, false, 0, "2026-10-23" },
		{ "gpt-image-1", "2026-10-23", true, false, -1, "gpt-image-2.5-sunburst" },
		{ "dall-e-2", "2027-01-01", true, false, -1, "2026-05-12" },
		{ "gpt-image-2.6-flare", "2030-01-01", true, false, 0, NULL },
		{ "not-in-the-table", "2030-01-01", true, false, 0, NULL },
	};
	struct buf err = BUF_INIT, warn = BUF_INIT;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct img_params p = IMG_PARAMS_INIT;
		struct tm tm;
		memset(&tm, 0, sizeof(tm));
		assert_non_null(strptime(rows[i].day, "%Y-%m-%d", &tm));
		p.model = rows[i].model;
		buf_reset(&err);
		buf_reset(&warn);
		assert_int_equal(params_check_life(&p, rows[i].at_openai, rows[i].allow,
						   timegm(&tm) + 3600, &err, &warn), rows[i].rc);
		const char *said = rows[i].rc ? err.data : warn.data;
		if (rows[i].says)
			assert_non_null(strstr(said ? said : "", rows[i].says));
		else
			assert_true(!warn.len && !err.len);
	}
	buf_release(&err);
	buf_release(&warn);
}

/* Every row names its source, and a shut-down date comes with a replacement. */
static void test_model_table_rows(void **state)
{
	size_t n;
	const struct model *m = model_table(&n);

	(void)state;
	assert_true(n >= 15);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(m[i].source);
		assert_non_null(strstr(m[i].source, "reference"));
		assert_true(!m[i].shutdown || m[i].replacement);
		assert_non_null(m[i].formats);
		assert_ptr_equal(model_find(m[i].name), &m[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validation_table),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_gif_and_svg),
		cmocka_unit_test(test_prompt_limits),
		cmocka_unit_test(test_size_parse),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_model_life),
		cmocka_unit_test(test_model_table_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
