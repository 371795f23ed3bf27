#include "unit.h"

#include "slug.h"

static void test_slug_table(void **state)
{
	static const struct { const char *text; size_t max; const char *want; } rows[] = {
		{ "A cute baby sea otter", 60, "a-cute-baby-sea-otter" },
		{ "  Hello,   WORLD!! ", 60, "hello-world" },
		{ "Retro 90s space UI", 60, "retro-90s-space-ui" },
		{ "../../etc/passwd", 60, "etc-passwd" },
		{ "日本語だけ", 60, "日本語だけ" },
		{ "日本の猫", 60, "日本の猫" },
		{ "Café über naïve 日本の猫", 60, "cafe-uber-naive-日本の猫" },
		{ "Straße Ærø œuvre Þórr Łódź", 60, "strasse-aero-oeuvre-thorr-lodz" },
		{ "Phở Hà Nội", 60, "pho-ha-noi" },
		/* "e" and a combining acute accent, as macOS spells names */
		{ "cafe\xcc\x81 noir", 60, "cafe-noir" },
		{ "ΑΘΗΝΑ Москва", 60, "αθηνα-москва" },
		{ "猫。犬、「鳥」", 60, "猫-犬-鳥" },
		{ "Ｔｏｋｙｏ　２０２６", 60, "tokyo-2026" },
		{ "sun 🌅 set × 2", 60, "sun-set-2" },
		{ "bad \xff\xfe bytes \xe6\x97", 60, "bad-bytes" },
		/* never cut inside a character: 3 bytes each */
		{ "日本の猫", 7, "日本" },
		{ "ab 日本", 4, "ab" },
		{ "", 60, "image" },
		{ "!!!", 60, "image" },
		{ "café au lait", 60, "cafe-au-lait" },
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
