#include "unit.h"

#include <math.h>
#include <stdio.h>

#include "model.h"
#include "price.h"

#define CLOSE(a, b) assert_true(fabs((a) - (b)) < 1e-9)

/* The bundled table, read from the source tree (meson passes its path). */
static void load_bundled(struct price_table *t)
{
	struct buf text = BUF_INIT, err = BUF_INIT;

	assert_int_equal(read_file(PRICES_JSON, 1 << 22, &text), 0);
	assert_int_equal(price_table_parse(t, text.data, "prices.json", false, &err), 0);
	buf_release(&text);
	buf_release(&err);
}

/* The reference's §6.2 figures, from the rule itself. */
static void test_rule_matches_the_calculator(void **state)
{
	static const struct { const char *q; int w, h; long want; } rows[] = {
		{ "high", 1024, 1024, 7024 }, { "high", 1536, 1024, 5488 },
		{ "high", 1024, 1536, 5488 }, { "low", 1024, 1024, 196 },
		{ "medium", 1024, 1024, 1756 }, { "medium", 2048, 2048, 3568 },
		{ "high", 2048, 1152, 5650 }, { "low", 3840, 2160, 371 },
		{ "high", 3840, 2160, 13342 }, { "medium", 2560, 1440, 1843 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		assert_int_equal(price_rule_tokens(rows[i].q, rows[i].w, rows[i].h), rows[i].want);
	assert_int_equal(price_rule_tokens("xhigh", 1024, 1024), -1);
	assert_int_equal(price_rule_tokens("auto", 1024, 1024), -1);
	assert_int_equal(price_rule_tokens("high", 0, 1024), -1);
}

/* Every model of the model table has a row, and each row is priced. */
static void test_every_model_has_a_row(void **state)
{
	struct price_table t = { 0 };
	size_t n;
	const struct model *m = model_table(&n);

	(void)state;
	load_bundled(&t);
	assert_string_equal(t.date, "2026-11-30");
	for (size_t i = 0; i < n; i++) {
		const struct price_row *r = price_find(&t, m[i].name);
		assert_non_null(r);
		assert_true(r->image_out >= 0 || r->neach > 0);
		assert_non_null(r->source);
		assert_non_null(r->read);
		CLOSE(r->batch_discount, 0.5);
	}
	assert_null(price_find(&t, "no-such-model"));
	assert_string_equal(price_find(&t, "gpt-image-2-2026-04-21")->model, "gpt-image-2");
	price_table_release(&t);
}

static void test_cost_from_usage(void **state)
{
	struct price_table t = { 0 };
	struct usage u = { .present = true, .input = 112, .input_split = true, .input_text = 12,
			   .input_image = 100, .output = 7024, .output_split = true,
			   .output_image = 7024, .total = 7136 };
	struct cost c;

	(void)state;
	load_bundled(&t);
	price_cost(price_find(&t, "gpt-image-2"), &u, "high", "1024x1024", 1, false, &c);
	assert_int_equal(c.basis, COST_USAGE);
	CLOSE(c.usd, 12 * 5e-6 + 100 * 8e-6 + 7024 * 30e-6);
	/* At the Batch discount: half. */
	price_cost(price_find(&t, "gpt-image-2"), &u, "high", "1024x1024", 1, true, &c);
	CLOSE(c.usd, (12 * 5e-6 + 100 * 8e-6 + 7024 * 30e-6) / 2);
	/* Cached text tokens at the cached rate; partial images at 100 output tokens. */
	u.cached = 10;
	u.partial_images = 2;
	price_cost(price_find(&t, "gpt-image-2.6-flare"), &u, NULL, NULL, 1, false, &c);
	CLOSE(c.usd, 2 * 5e-6 + 10 * 1.25e-6 + 100 * 8e-6 + 7224 * 30e-6);
	/* No details: all input is text, all output is image. */
	u = (struct usage){ .present = true, .input = 20, .output = 1000, .total = 1020 };
	price_cost(price_find(&t, "gpt-image-2"), &u, NULL, NULL, 1, false, &c);
	CLOSE(c.usd, 20 * 5e-6 + 1000 * 30e-6);
	price_table_release(&t);
}

static void test_cost_per_image_and_unknown(void **state)
{
	struct price_table t = { 0 };
	struct usage none = { 0 };
	struct usage text_only = { .present = true, .input = 10, .output = 4160, .total = 4170 };
	struct cost c;

	(void)state;
	load_bundled(&t);
	/* dall-e-3 is billed per image. */
	price_cost(price_find(&t, "dall-e-3"), &none, "hd", "1792x1024", 1, false, &c);
	assert_int_equal(c.basis, COST_PER_IMAGE);
	CLOSE(c.usd, 0.12);
	/* dall-e-2 has one quality: any quality (or none) takes its price. */
	price_cost(price_find(&t, "dall-e-2"), &none, NULL, "512x512", 3, false, &c);
	CLOSE(c.usd, 3 * 0.018);
	/* gpt-image-1.5's text rate is unknown: its per-image price is used. */
	price_cost(price_find(&t, "gpt-image-1.5"), &text_only, "high", "1536x1024", 2, false, &c);
	assert_int_equal(c.basis, COST_PER_IMAGE);
	CLOSE(c.usd, 0.4);
	/* A model with no row, or no price for the size: unknown, with a reason. */
	price_cost(price_find(&t, "made-up"), &text_only, "high", "1024x1024", 1, false, &c);
	assert_int_equal(c.basis, COST_UNKNOWN);
	assert_non_null(c.why);
	price_cost(price_find(&t, "chatgpt-image-latest"), &text_only, "high", "2048x2048", 1,
		   false, &c);
	assert_int_equal(c.basis, COST_UNKNOWN);
	/* gpt-image-1-mini's token rates (OpenAI's model page): from usage. */
	price_cost(price_find(&t, "gpt-image-1-mini"), &text_only, "high", "2048x2048", 1, false,
		   &c);
	assert_int_equal(c.basis, COST_USAGE);
	CLOSE(c.usd, 10 * 2e-6 + 4160 * 8e-6);
	price_table_release(&t);
}

static void test_estimates(void **state)
{
	struct price_table t = { 0 };
	struct estimate_in in = { .quality = "high", .size = "1024x1024", .n = 2,
				  .prompt_chars = 40 };
	struct cost c;
	long tokens;

	(void)state;
	load_bundled(&t);
	price_estimate(price_find(&t, "gpt-image-2"), &in, &c, &tokens);
	assert_int_equal(c.basis, COST_RULE);
	assert_null(c.why);
	assert_int_equal(tokens, 2 * 7024);
	CLOSE(c.usd, 10 * 5e-6 + 2 * 7024 * 30e-6);
	/* 2.6 has no rule of its own: gpt-image-2's, and it says so. */
	price_estimate(price_find(&t, "gpt-image-2.6-sunburst"), &in, &c, &tokens);
	assert_int_equal(c.basis, COST_RULE);
	assert_non_null(c.why);
	/* auto size: the costliest size auto may pick; auto quality: high. */
	in.size = "auto";
	in.quality = "auto";
	in.n = 1;
	price_estimate(price_find(&t, "gpt-image-2"), &in, &c, &tokens);
	assert_int_equal(tokens, 7024);
	assert_string_equal(c.bound, "size auto at its costliest and quality auto at high");
	price_estimate(price_find(&t, "gpt-image-1-mini"), &in, &c, NULL);
	assert_int_equal(c.basis, COST_PER_IMAGE);
	CLOSE(c.usd, 0.052);
	assert_non_null(c.bound);
	/* An edit's size auto follows its input's shape: no bound. */
	in.quality = "high";
	in.input_w = 1536;
	in.input_h = 1024;
	price_estimate(price_find(&t, "gpt-image-2"), &in, &c, &tokens);
	assert_int_equal(tokens, price_rule_tokens("high", 1248, 832));
	assert_null(c.bound);
	price_estimate(price_find(&t, "gpt-image-1-mini"), &in, &c, NULL);
	CLOSE(c.usd, 0.052);
	in.input_w = in.input_h = 640;
	price_estimate(price_find(&t, "gpt-image-1-mini"), &in, &c, NULL);
	CLOSE(c.usd, 0.036);
	assert_null(c.bound);
	in.input_w = in.input_h = 0;
	/* xhigh has no rule: unknown, unless earlier runs say. */
	in.quality = "xhigh";
	in.size = "1024x1024";
	price_estimate(price_find(&t, "gpt-image-2.6-flare"), &in, &c, &tokens);
	assert_int_equal(c.basis, COST_UNKNOWN);
	in.history_tokens = 20000;
	in.history_images = 3;
	price_estimate(price_find(&t, "gpt-image-2.6-flare"), &in, &c, &tokens);
	assert_int_equal(c.basis, COST_HISTORY);
	assert_int_equal(tokens, 20000);
	/* Partial images, the Batch discount and an edit's input images count. */
	in = (struct estimate_in){ .quality = "low", .size = "1024x1024", .n = 1,
				   .partials = 2, .input_image_tokens = 765, .batch = true };
	price_estimate(price_find(&t, "gpt-image-2"), &in, &c, NULL);
	CLOSE(c.usd, (765 * 8e-6 + (196 + 200) * 30e-6) / 2);
	price_table_release(&t);
}

/* size auto on an edit: the input's shape (at most 3:1) at about a
 * megapixel, in 16-px steps, as the API and the stand-in make it. */
static void test_auto_edit_size(void **state)
{
	static const struct { int w, h, want_w, want_h; } rows[] = {
		{ 1536, 1024, 1248, 832 }, { 1024, 1536, 832, 1248 }, { 64, 48, 1184, 896 },
		{ 1024, 1024, 1024, 1024 }, { 9000, 1000, 1776, 592 }, { 1000, 9000, 592, 1776 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		int w, h;
		price_auto_edit_size(rows[i].w, rows[i].h, &w, &h);
		assert_int_equal(w, rows[i].want_w);
		assert_int_equal(h, rows[i].want_h);
	}
}

static void test_input_tokens(void **state)
{
	(void)state;
	assert_int_equal(price_input_tokens(1024, 1024), 765);
	assert_int_equal(price_input_tokens(0, 0), 765);
	assert_int_equal(price_input_tokens(64, 48), 255);
	assert_int_equal(price_input_tokens(2048, 4096), 1105);
}

/* The user's rows replace or add; a bad file changes nothing and says where. */
static void test_user_rows(void **state)
{
	struct price_table t = { 0 };
	struct buf err = BUF_INIT;
	struct usage u = { .present = true, .input = 10, .output = 1000, .total = 1010 };
	struct cost c;

	(void)state;
	load_bundled(&t);
	assert_int_equal(price_table_parse(&t, "{\"models\": [{\"model\": \"gpt-image-2\", "
					   "\"tokens\": {\"text_input\": 1, \"image_output\": 2}, "
					   "\"read\": \"2026-12-01\"}, {\"model\": \"local-sd\", "
					   "\"per_image\": {\"standard\": {\"512x512\": 0.001}}}]}",
					   "user.json", true, &err), 0);
	price_cost(price_find(&t, "gpt-image-2"), &u, NULL, NULL, 1, false, &c);
	CLOSE(c.usd, 10 * 1e-6 + 1000 * 2e-6);
	assert_true(price_find(&t, "gpt-image-2")->user);
	assert_string_equal(price_find(&t, "gpt-image-2")->read, "2026-12-01");
	assert_non_null(price_find(&t, "local-sd"));
	assert_non_null(price_find(&t, "gpt-image-2.6-flare"));

	static const struct { const char *text, *want; } bad[] = {
		{ "{\"models\": [{\"model\": \"x\", \"toknes\": {}}]}",
		  "user.json: models[0] (x): unknown key \"toknes\"" },
		{ "{\"models\": [{\"model\": \"x\", \"tokens\": {\"image_output\": \"30\"}}]}",
		  "user.json: models[0] (x): \"image_output\" must be dollars per 1M tokens (a "
		  "number from 0 to 1000000) or null" },
		{ "{\"models\": [{\"model\": \"x\", \"tokens\": {\"image_output\": 1e308}}]}",
		  "user.json: models[0] (x): \"image_output\" must be dollars per 1M tokens (a "
		  "number from 0 to 1000000) or null" },
		{ "{\"models\": [{\"model\": \"x\", \"batch_discount\": 50}]}",
		  "user.json: models[0] (x): \"batch_discount\" must be a share from 0 to 1 (0.5 "
		  "is half off) or null" },
		{ "{\"models\": [{\"tokens\": {}}]}",
		  "user.json: models[0]: \"model\" must name the model" },
		{ "{\"models\": {}}", "user.json: a price table is an object with a \"models\" list" },
		{ "{\"models\": [\n", "user.json: line 2: " },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		buf_reset(&err);
		assert_int_equal(price_table_parse(&t, bad[i].text, "user.json", true, &err), -1);
		assert_memory_equal(err.data, bad[i].want, strlen(bad[i].want));
	}
	assert_null(price_find(&t, "x"));
	price_cost(price_find(&t, "gpt-image-2"), &u, NULL, NULL, 1, false, &c);
	CLOSE(c.usd, 10 * 1e-6 + 1000 * 2e-6);
	buf_release(&err);
	price_table_release(&t);
}

static void test_format(void **state)
{
	char out[32];

	(void)state;
	assert_string_equal(price_format(0.21072, out), "$0.2107");
	assert_string_equal(price_format(0, out), "$0.0000");
	assert_string_equal(price_format(12.345, out), "$12.35");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_matches_the_calculator),
		cmocka_unit_test(test_every_model_has_a_row),
		cmocka_unit_test(test_cost_from_usage),
		cmocka_unit_test(test_cost_per_image_and_unknown),
		cmocka_unit_test(test_estimates),
		cmocka_unit_test(test_auto_edit_size),
		cmocka_unit_test(test_input_tokens),
		cmocka_unit_test(test_user_rows),
		cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
