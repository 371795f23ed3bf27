#include "unit.h"

#include "b64.h"

/* Decodes text in pieces of `step`; returns bytes, or -1 when rejected. */
static ssize_t decode_steps(const char *text, size_t step, unsigned char *out)
{
	struct b64 d = B64_INIT;
	size_t len = strlen(text), total = 0;

	for (size_t at = 0; at < len; at += step) {
		size_t take = len - at < step ? len - at : step;
		ssize_t n = b64_decode(&d, text + at, take, out + total);
		if (n < 0)
			return -1;
		total += (size_t)n;
	}
	return b64_finish(&d) ? -1 : (ssize_t)total;
}

static void test_table(void **state)
{
	static const struct { const char *in; ssize_t n; const char *out; } rows[] = {
		{ "", 0, "" },
		{ "TWFu", 3, "Man" },
		{ "TWE=", 2, "Ma" },
		{ "TQ==", 1, "M" },
		{ "TWE", 2, "Ma" },           /* unpadded */
		{ "TQ", 1, "M" },
		{ "aGVsbG8gd29y\nbGQ=", 11, "hello world" },
		{ "aGVsbG8gd29y\r\nbGQ=", 11, "hello world" },
		{ "T", -1, NULL },            /* a lone character */
		{ "TWFuT", -1, NULL },
		{ "TQ=", -1, NULL },          /* half the padding */
		{ "TWE==", -1, NULL },        /* too much padding */
		{ "=TWF", -1, NULL },
		{ "TQ==TWFu", -1, NULL },     /* data after padding */
		{ "TW-u", -1, NULL },         /* base64url is not base64 */
		{ "TW u", -1, NULL },
		{ "!!!not-base64***", -1, NULL },
		{ "TWFu====", -1, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		for (size_t step = 1; step <= 8; step++) {
			unsigned char out[64];
			ssize_t n = decode_steps(rows[i].in, step, out);
			if (n != rows[i].n)
				fail_msg("row %zu ('%s') step %zu: got %zd", i, rows[i].in, step, n);
			if (n > 0)
				assert_memory_equal(out, rows[i].out, (size_t)n);
		}
	}
}

static void test_all_bytes(void **state)
{
	/* 0..255 encoded by a known-good encoder (Python's base64). */
	static const char text[] =
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v"
		"MDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5f"
		"YGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6P"
		"kJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/"
		"wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v"
		"8PHy8/T19vf4+fr7/P3+/w==";
	unsigned char out[300];

	(void)state;
	assert_int_equal(decode_steps(text, 7, out), 256);
	for (int i = 0; i < 256; i++)
		assert_int_equal(out[i], i);
}

static void test_encode_round_trip(void **state)
{
	static const struct { const char *in; const char *out; } rows[] = {
		{ "", "" }, { "M", "TQ==" }, { "Ma", "TWE=" }, { "Man", "TWFu" },
		{ "hello world", "aGVsbG8gd29ybGQ=" },
	};
	unsigned char bytes[256], back[400];
	char text[400];

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t n = b64_encode((const unsigned char *)rows[i].in, strlen(rows[i].in), text);
		assert_int_equal(n, strlen(rows[i].out));
		assert_string_equal(text, rows[i].out);
	}
	for (int i = 0; i < 256; i++)
		bytes[i] = (unsigned char)(255 - i);
	for (size_t len = 0; len <= 256; len += 37) {
		b64_encode(bytes, len, text);
		assert_int_equal(decode_steps(text, 5, back), (ssize_t)len);
		assert_memory_equal(back, bytes, len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_all_bytes),
		cmocka_unit_test(test_encode_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
