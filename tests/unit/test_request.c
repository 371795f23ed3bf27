#include "unit.h"

#include "request.h"
#include "sniff.h"

static void test_sniff(void **state)
{
	static const struct { const char *bytes; size_t len; const char *want; } rows[] = {
		{ "\x89PNG\r\n\x1a\n\0\0", 10, "png" },
		{ "\xff\xd8\xff\xe0", 4, "jpeg" },
		{ "RIFF\x10\0\0\0WEBPVP8 ", 16, "webp" },
		{ "RIFF\x10\0\0\0WAVEfmt ", 16, NULL },
		{ "GIF89a", 6, "gif" },
		{ "GIF87a", 6, "gif" },
		{ "<svg xmlns=\"http://www.w3.org/2000/svg\"/>", 41, "svg" },
		{ "\xef\xbb\xbf<?xml version=\"1.0\"?>\n<!-- made -->\n<!DOCTYPE svg [ <!ENTITY a \"b\"> ]>"
		  "<svg>", 78, "svg" },
		{ "<svgx>", 6, NULL },
		{ "<html><svg>", 11, NULL },
		{ "<?xml version=\"1.0\"?>", 21, NULL },
		{ "hello <svg>", 11, NULL },
		{ "\x89PNG\r\n", 6, NULL },
		{ "BM", 2, NULL },
		{ "", 0, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *got = sniff_format((const unsigned char *)rows[i].bytes, rows[i].len);
		if (rows[i].want)
			assert_string_equal(got, rows[i].want);
		else
			assert_null(got);
	}
	assert_string_equal(sniff_mime("jpeg"), "image/jpeg");
	assert_string_equal(sniff_mime("webp"), "image/webp");
	assert_string_equal(sniff_mime("svg"), "image/svg+xml");
	assert_null(sniff_mime(NULL));
}

static void test_sniff_dimensions(void **state)
{
	/* The headers as encoders write them, cut to what the size needs. */
	static const unsigned char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x08\0\0\0\x05\0";
	static const unsigned char gif[] = "GIF89a\x00\x01\x40\x00";
	static const unsigned char vp8[] = "RIFF\0\0\0\0WEBPVP8 \0\0\0\0\0\0\0\x9d\x01\x2a"
					   "\x00\x04\x80\x02";
	static const unsigned char vp8l[] = "RIFF\0\0\0\0WEBPVP8L\0\0\0\0\x2f\xff\xc3\xff\x00";
	static const unsigned char vp8x[] = "RIFF\0\0\0\0WEBPVP8X\0\0\0\0\0\0\0\0\xff\x0e\0"
					    "\x6f\x08\0";
	/* APP0 (16 bytes), a fill byte, then SOF2 (progressive): 1536 x 1024. */
	static const unsigned char jpeg[] = "\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0"
					    "\xff\xff\xc2\0\x11\x08\x04\x00\x06\x00\x03";
	/* A DHT segment (0xc4) is not a frame header: the SOF0 after it is. */
	static const unsigned char dht[] = "\xff\xd8\xff\xc4\0\x04\0\0\xff\xc0\0\x11\x08\x00\x10"
					   "\x00\x20\x03";
	static const struct {
		const unsigned char *bytes;
		size_t len;
		long w, h;
	} rows[] = {
		{ png, sizeof(png) - 1, 2048, 1280 },
		{ gif, sizeof(gif) - 1, 256, 64 },
		{ vp8, sizeof(vp8) - 1, 1024, 640 },
		{ vp8l, sizeof(vp8l) - 1, 1024, 1024 },
		{ vp8x, sizeof(vp8x) - 1, 3840, 2160 },
		{ jpeg, sizeof(jpeg) - 1, 1536, 1024 },
		{ dht, sizeof(dht) - 1, 32, 16 },
	};
	long w = -1, h = -1;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(sniff_dimensions(rows[i].bytes, rows[i].len, &w, &h), 0);
		assert_int_equal(w, rows[i].w);
		assert_int_equal(h, rows[i].h);
		/* Cut short anywhere before the size: not known, never misread. */
		for (size_t cut = 0; cut < rows[i].len - 1; cut++) {
			long cw = -1, ch = -1;
			if (sniff_dimensions(rows[i].bytes, cut, &cw, &ch) == 0) {
				assert_int_equal(cw, rows[i].w);
				assert_int_equal(ch, rows[i].h);
			}
		}
	}
	/* No size in it: an SVG, a JPEG whose scan starts first, a zero width. */
	assert_int_equal(sniff_dimensions((const unsigned char *)"<svg/>", 6, &w, &h), -1);
	assert_int_equal(sniff_dimensions((const unsigned char *)"\xff\xd8\xff\xda\0\x02", 6,
					  &w, &h), -1);
	assert_int_equal(sniff_dimensions((const unsigned char *)"GIF89a\0\0\x40\0", 10, &w, &h),
			 -1);
}

static void test_generation_body(void **state)
{
	struct img_params p = IMG_PARAMS_INIT;
	json_t *body;
	char *text;

	(void)state;
	p.model = "gpt-image-1.5";
	p.n = 2;
	p.size = "1536x1024";
	p.output_format = "webp";
	p.output_compression = 80;
	body = request_generation_body(&p, "a fox");
	text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_string_equal(text, "{\"model\":\"gpt-image-1.5\",\"prompt\":\"a fox\",\"n\":2,"
			    "\"size\":\"1536x1024\",\"output_format\":\"webp\",\"output_compression\":80}");
	free(text);
	json_decref(body);

	/* dall-e models never get output_format, even when it was given. */
	p = (struct img_params)IMG_PARAMS_INIT;
	p.model = "dall-e-3";
	p.output_format = "png";
	p.style = "vivid";
	body = request_generation_body(&p, "x");
	assert_null(json_object_get(body, "output_format"));
	assert_string_equal(json_string_value(json_object_get(body, "style")), "vivid");
	json_decref(body);
}

/* GIF frames and the svg object: flat in JSON as the API has them, the svg
 * object bracketed in a form. */
static void test_gif_svg_fields(void **state)
{
	struct img_params p = IMG_PARAMS_INIT;
	struct input image = { .arg = "a.png", .flag = "--image", .kind = INPUT_FILE,
			       .format = "png", .size = 10, .width = 64, .height = 64 };
	struct edit_inputs one = { &image, 1, NULL, NULL };
	struct form f = FORM_INIT;
	json_t *body;
	char *text;

	(void)state;
	p.model = "gpt-image-2.6-flare";
	p.output_format = "gif";
	p.frame_count = 4;
	p.frame_duration_ms = 120;
	body = request_generation_body(&p, "a ball");
	text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_string_equal(text, "{\"model\":\"gpt-image-2.6-flare\",\"prompt\":\"a ball\","
			    "\"output_format\":\"gif\",\"frame_count\":4,\"frame_duration_ms\":120}");
	free(text);
	json_decref(body);

	p = (struct img_params)IMG_PARAMS_INIT;
	p.model = "gpt-image-2.6-flare";
	p.output_format = "svg";
	p.svg_model = "gpt-5";
	p.svg_effort = "low";
	body = request_generation_body(&p, "a logo");
	text = json_dumps(json_object_get(body, "svg"), JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_string_equal(text, "{\"model\":\"gpt-5\",\"reasoning\":{\"effort\":\"low\"}}");
	free(text);
	json_decref(body);

	request_edit_form(&f, &p, "a logo", &one, OP_EDIT);
	assert_string_equal(f.parts[f.n - 2].name, "svg[model]");
	assert_string_equal(f.parts[f.n - 2].value, "gpt-5");
	assert_string_equal(f.parts[f.n - 1].name, "svg[reasoning][effort]");
	assert_string_equal(f.parts[f.n - 1].value, "low");
	form_release(&f);
}

static struct input local(const char *path, const char *format, long long size)
{
	struct input in = { .arg = path, .flag = "--image", .kind = INPUT_FILE,
			    .format = format, .size = size, .width = 64, .height = 64 };
	return in;
}

static void test_edit_form(void **state)
{
	struct input images[2] = { local("a/one.png", "png", 10), local("two.jpg", "jpeg", 20) };
	struct input mask = local("m.png", "png", 5);
	struct img_params p = IMG_PARAMS_INIT;
	struct form f = FORM_INIT;

	(void)state;
	p.model = "gpt-image-1";
	p.quality = "high";
	p.input_fidelity = "high";
	struct edit_inputs two = { images, 2, &mask };
	request_edit_form(&f, &p, "swap", &two, OP_EDIT);
	assert_int_equal(f.n, 7);
	assert_string_equal(f.parts[0].name, "image[]");
	assert_string_equal(f.parts[0].filename, "one.png");
	assert_string_equal(f.parts[0].type, "image/png");
	assert_string_equal(f.parts[1].name, "image[]");
	assert_string_equal(f.parts[1].type, "image/jpeg");
	assert_string_equal(f.parts[2].name, "mask");
	assert_string_equal(f.parts[3].name, "model");
	assert_string_equal(f.parts[4].name, "prompt");
	assert_string_equal(f.parts[5].name, "quality");
	assert_string_equal(f.parts[6].name, "input_fidelity");
	form_release(&f);

	struct edit_inputs one = { images, 1, NULL };
	request_edit_form(&f, &p, "swap", &one, OP_EDIT);
	assert_string_equal(f.parts[0].name, "image");
	form_release(&f);

	/* A variation sends no prompt and none of the GPT parameters. */
	p.model = "dall-e-2";
	p.n = 3;
	request_edit_form(&f, &p, NULL, &one, OP_VARIATION);
	assert_int_equal(f.n, 3);
	assert_string_equal(f.parts[1].name, "model");
	assert_string_equal(f.parts[2].name, "n");
	assert_string_equal(f.parts[2].value, "3");
	form_release(&f);
}

static void test_edit_json(void **state)
{
	struct input images[3] = {
		{ .arg = "https://example.com/cat.png", .kind = INPUT_URL },
		{ .arg = "file-abc123", .kind = INPUT_FILE_ID },
		local("/tmp/local.png", "png", 1234),
	};
	struct input mask = { .arg = "data:image/png;base64,iVBORw0KGgo=", .kind = INPUT_DATA_URL,
			      .format = "png" };
	struct img_params p = IMG_PARAMS_INIT;
	struct buf err = BUF_INIT;
	struct edit_inputs in = { images, 3, &mask };
	json_t *body;

	(void)state;
	p.model = "gpt-image-1.5";
	p.moderation = "low";
	body = request_edit_json(&p, "merge", &in, true, &err);
	assert_non_null(body);
	json_t *list = json_object_get(body, "images");
	assert_int_equal(json_array_size(list), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "image_url")),
			    "https://example.com/cat.png");
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "file_id")),
			    "file-abc123");
	assert_non_null(strstr(json_string_value(json_object_get(json_array_get(list, 2), "image_url")),
			       "data:image/png;base64,...(1234 bytes"));
	/* A given data: URL is shortened in a preview too, and sent whole otherwise. */
	assert_string_equal(json_string_value(json_object_get(json_object_get(body, "mask"), "image_url")),
			    "data:image/png;base64,...(34 characters)");
	assert_string_equal(json_string_value(json_object_get(body, "moderation")), "low");
	json_decref(body);
	in.n = 2;
	body = request_edit_json(&p, "merge", &in, false, &err);
	assert_string_equal(json_string_value(json_object_get(json_object_get(body, "mask"), "image_url")),
			    mask.arg);
	json_decref(body);
	buf_release(&err);
}

static void test_input_classify(void **state)
{
	(void)state;
	assert_int_equal(input_classify("https://x/y.png", false), INPUT_URL);
	assert_int_equal(input_classify("data:image/png;base64,AAAA", false), INPUT_DATA_URL);
	assert_int_equal(input_classify("file-abc_123", false), INPUT_FILE_ID);
	assert_int_equal(input_classify("file-abc.png", false), INPUT_FILE);
	assert_int_equal(input_classify("file-abc123", true), INPUT_FILE);
	assert_int_equal(input_classify("photo.png", false), INPUT_FILE);
}

static void test_input_rules(void **state)
{
	struct input images[17];
	struct input mask = local("m.png", "png", 5);
	struct buf err = BUF_INIT;

	(void)state;
	for (int i = 0; i < 17; i++)
		images[i] = local("x.png", "png", 10);
	mask.has_alpha = true;
	assert_int_equal(input_check_set(images, 16, &mask, "gpt-image-1", OP_EDIT, &err), 0);
	assert_int_equal(input_check_set(images, 17, NULL, "gpt-image-1", OP_EDIT, &err), -1);
	assert_int_equal(input_check_set(images, 2, NULL, "dall-e-2", OP_EDIT, &err), -1);
	mask.width = 32;
	assert_int_equal(input_check_set(images, 1, &mask, "gpt-image-1", OP_EDIT, &err), -1);
	assert_non_null(strstr(err.data, "same size"));
	buf_reset(&err);
	mask.width = 64;
	mask.has_alpha = false;
	assert_int_equal(input_check_set(images, 1, &mask, "gpt-image-1", OP_EDIT, &err), -1);
	assert_non_null(strstr(err.data, "alpha"));
	buf_reset(&err);
	images[0].height = 32;
	assert_int_equal(input_check_set(images, 1, NULL, "dall-e-2", OP_VARIATION, &err), -1);
	assert_non_null(strstr(err.data, "square"));
	buf_reset(&err);
	images[0] = local("big.png", "png", INPUT_DALLE2_MAX_BYTES);
	assert_int_equal(input_check_set(images, 1, NULL, "dall-e-2", OP_VARIATION, &err), -1);
	assert_non_null(strstr(err.data, "4 MB"));
	buf_reset(&err);
	images[0] = local("photo.jpg", "jpeg", 10);
	assert_int_equal(input_check_set(images, 1, NULL, "dall-e-2", OP_EDIT, &err), -1);
	assert_non_null(strstr(err.data, "PNG"));
	buf_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sniff),
		cmocka_unit_test(test_sniff_dimensions),
		cmocka_unit_test(test_generation_body),
		cmocka_unit_test(test_gif_svg_fields),
		cmocka_unit_test(test_edit_form),
		cmocka_unit_test(test_edit_json),
		cmocka_unit_test(test_input_classify),
		cmocka_unit_test(test_input_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
