#include "unit.h"

#include "sniff.h"

/* A PNG of one IHDR and IEND chunk (CRCs are not checked here). */
static const unsigned char png[] = {
	0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
	0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 1, 2, 3, 4,
	0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82,
};

/* SOI, an APP0 segment, SOS with scan data holding a stuffed FF 00 and a
 * restart marker, then EOI. */
static const unsigned char jpeg[] = {
	0xff, 0xd8, 0xff, 0xe0, 0, 4, 'J', 'F',
	0xff, 0xda, 0, 3, 1, 0x12, 0xff, 0x00, 0x34, 0xff, 0xd0, 0x56, 0xff, 0xd9,
};

static const unsigned char webp[] = {
	'R', 'I', 'F', 'F', 8, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', ' ',
};

static void test_incomplete(void **state)
{
	static const struct {
		const unsigned char *data;
		size_t len;
		const char *format;
		const char *why;   /* NULL: whole */
	} rows[] = {
		{ png, sizeof(png), "png", NULL },
		{ png, sizeof(png) - 12, "png", "it ends before its IEND chunk (the file is cut short)" },
		{ png, 20, "png", "it ends inside a chunk (the file is cut short)" },
		{ png, 8, "png", "it ends before its IEND chunk (the file is cut short)" },
		{ jpeg, sizeof(jpeg), "jpeg", NULL },
		{ jpeg, sizeof(jpeg) - 2, "jpeg", "it ends before its end marker (the file is cut short)" },
		{ jpeg, 16, "jpeg", "it ends before its end marker (the file is cut short)" },
		{ jpeg, 7, "jpeg", "it ends before its end marker (the file is cut short)" },
		{ webp, sizeof(webp), "webp", NULL },
		{ webp, sizeof(webp) - 1, "webp",
		  "it is shorter than its RIFF header says (the file is cut short)" },
		{ png, 20, "gif", NULL },
		{ png, 20, NULL, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *why = sniff_incomplete(rows[i].data, rows[i].len, rows[i].format);
		if (rows[i].why)
			assert_string_equal(why, rows[i].why);
		else
			assert_null(why);
	}
}

static void test_broken_structure(void **state)
{
	unsigned char bad_png[sizeof(png)];
	unsigned char bad_jpeg[sizeof(jpeg)];

	(void)state;
	memcpy(bad_png, png, sizeof(png));
	bad_png[8] = 0xff;   /* a length over 2^31 */
	assert_string_equal(sniff_incomplete(bad_png, sizeof(bad_png), "png"),
			    "a chunk's length is broken");
	memcpy(bad_jpeg, jpeg, sizeof(jpeg));
	bad_jpeg[2] = 0x00;  /* no marker where a segment starts */
	assert_string_equal(sniff_incomplete(bad_jpeg, sizeof(bad_jpeg), "jpeg"),
			    "its segments are broken");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_incomplete),
		cmocka_unit_test(test_broken_structure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
