/* The GIF block walker and the SVG root finder: what info reads and where
 * the metadata goes. */
#include "unit.h"

#include "gifmeta.h"
#include "svgmeta.h"

/* A 2x1 GIF89a: global table of 2 colours, NETSCAPE loop 0, two frames of
 * 70 ms and 30 ms, and a comment. */
static const unsigned char gif[] = {
	'G', 'I', 'F', '8', '9', 'a', 2, 0, 1, 0, 0x80, 0, 0,
	0, 0, 0, 255, 255, 255,
	0x21, 0xff, 11, 'N', 'E', 'T', 'S', 'C', 'A', 'P', 'E', '2', '.', '0', 3, 1, 0, 0, 0,
	0x21, 0xf9, 4, 0, 7, 0, 0, 0,
	0x2c, 0, 0, 0, 0, 2, 0, 1, 0, 0, 2, 2, 0x44, 0x01, 0,
	0x21, 0xf9, 4, 0, 3, 0, 0, 0,
	0x2c, 0, 0, 0, 0, 2, 0, 1, 0, 0, 2, 2, 0x44, 0x01, 0,
	0x21, 0xfe, 5, 'h', 'e', 'l', 'l', 'o', 0,
	0x3b,
};

static void count_comments(const char *text, size_t len, void *ud)
{
	struct buf *b = ud;

	buf_add(b, text, len);
	buf_adds(b, "|");
}

static void test_gif_scan(void **state)
{
	struct gif_info g;
	struct buf err = BUF_INIT, comments = BUF_INIT, out = BUF_INIT;

	(void)state;
	assert_int_equal(gifmeta_scan(gif, sizeof(gif), &g, count_comments, &comments, &err), 0);
	assert_int_equal(g.width, 2);
	assert_int_equal(g.height, 1);
	assert_int_equal(g.frames, 2);
	assert_int_equal(g.duration_ms, 100);
	assert_int_equal(g.loops, 0);
	assert_int_equal(g.trailer, sizeof(gif) - 1);
	assert_string_equal(comments.data, "hello|");

	/* A comment longer than one sub-block goes in several. */
	char text[600];
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	assert_int_equal(gifmeta_add_comment(gif, sizeof(gif), text, &out, &err), 0);
	buf_reset(&comments);
	assert_int_equal(gifmeta_scan((unsigned char *)out.data, out.len, &g, count_comments,
				      &comments, &err), 0);
	assert_int_equal(g.frames, 2);
	assert_int_equal(comments.len, 6 + 599 + 1);

	/* Cut anywhere before the trailer: refused. */
	for (size_t cut = 0; cut < sizeof(gif) - 1; cut++) {
		buf_reset(&err);
		if (!gifmeta_scan(gif, cut, &g, NULL, NULL, &err))
			fail_msg("a GIF cut at %zu was accepted", cut);
	}
	/* A GIF with no frame is refused. */
	static const unsigned char empty[] = { 'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0, 0, 0,
					       0x3b };
	assert_int_equal(gifmeta_scan(empty, sizeof(empty), &g, NULL, NULL, &err), -1);
	buf_release(&err);
	buf_release(&comments);
	buf_release(&out);
}

static void test_svg_scan(void **state)
{
	static const char doc[] = "<?xml version=\"1.0\"?>\n<!-- drawn -->\n"
				  "<svg xmlns=\"http://www.w3.org/2000/svg\" width='512' "
				  "height=\"256\" viewBox=\"0 0 512 256\" data-x=\"a>b\">"
				  "<circle r=\"4\"/></svg>\n<!-- end -->\n";
	struct svg_info sv;
	struct buf err = BUF_INIT, meta = BUF_INIT, out = BUF_INIT;

	(void)state;
	assert_int_equal(svgmeta_scan(doc, strlen(doc), &sv, &meta, &err), 0);
	assert_string_equal(sv.width, "512");
	assert_string_equal(sv.height, "256");
	assert_string_equal(sv.view_box, "0 0 512 256");
	assert_int_equal(meta.len, 0);
	assert_int_equal(svgmeta_add(doc, strlen(doc), "{\"p\":\"a <b> & c\"}", &out, &err), 0);
	assert_non_null(strstr(out.data, "data-x=\"a>b\"><metadata id=\"imagegen\">"
				  "{\"p\":\"a &lt;b&gt; &amp; c\"}</metadata><circle"));
	assert_int_equal(svgmeta_scan(out.data, out.len, &sv, &meta, &err), 0);
	assert_string_equal(meta.data, "{\"p\":\"a <b> & c\"}");

	/* A self-closing root gets an end tag. */
	buf_reset(&out);
	assert_int_equal(svgmeta_add("<svg width=\"1\"/>", 16, "m", &out, &err), 0);
	assert_string_equal(out.data, "<svg width=\"1\"><metadata id=\"imagegen\">m</metadata></svg>");

	static const char *const bad[] = {
		"<html><svg></svg></html>", "text", "<svg width=\"1\"><circle/>",
		"<svg width=\"1", "<?xml version=\"1.0\"?>", "<svgfoo></svgfoo>", "",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		buf_reset(&err);
		if (!svgmeta_scan(bad[i], strlen(bad[i]), &sv, NULL, &err))
			fail_msg("'%s' was taken for an SVG document", bad[i]);
	}
	buf_release(&err);
	buf_release(&meta);
	buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gif_scan),
		cmocka_unit_test(test_svg_scan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
