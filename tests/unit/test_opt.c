#include "unit.h"

#include "opt.h"
#include "value.h"

struct vals {
	const char *name;
	long count;
	double secs;
	bool flag;
	struct strlist list;
};

static char **kept[32];
static size_t nkept;

static enum opt_result parse(struct vals *v, struct strlist *words, struct buf *err,
			     int argc, const char **argv)
{
	struct opt opts[] = {
		OPT_STRING('o', "out|output", &v->name, "FILE", "a name"),
		OPT_INT('n', "n", &v->count, "N", 1, 10, "a count"),
		OPT_SECONDS(0, "timeout", &v->secs, "S", 0.001, 100, "seconds"),
		OPT_BOOL('f', "force", &v->flag, "a flag"),
		OPT_LIST(0, "image", &v->list, "F", "repeatable"),
		OPT_END(),
	};
	/* argv strings stay owned by the caller: words point into them. */
	char **copy = calloc((size_t)argc + 1, sizeof(*copy));
	enum opt_result r;

	for (int i = 0; i < argc; i++)
		copy[i] = strdup(argv[i]);
	r = opt_parse(opts, argc, copy, words, err);
	kept[nkept++] = copy;
	return r;
}

static void free_kept(void)
{
	while (nkept) {
		char **copy = kept[--nkept];
		for (char **p = copy; *p; p++)
			free(*p);
		free(copy);
	}
}

static void test_good(void **state)
{
	const char *argv[] = { "cmd", "--out=a.png", "word", "-n", "3", "--timeout", "2.5",
			       "-f", "--image", "x", "--image=y", "--", "--not-an-option", "-" };
	struct vals v = { NULL, -1, -1, 0, STRLIST_INIT };
	struct strlist words = STRLIST_INIT;
	struct buf err = BUF_INIT;

	(void)state;
	assert_int_equal(parse(&v, &words, &err, 14, argv), OPT_OK);
	assert_string_equal(v.name, "a.png");
	assert_int_equal(v.count, 3);
	assert_true(v.secs == 2.5);
	assert_int_equal(v.flag, 1);
	assert_int_equal(v.list.n, 2);
	assert_string_equal(v.list.v[1], "y");
	assert_int_equal(words.n, 3);
	assert_string_equal(words.v[0], "word");
	assert_string_equal(words.v[1], "--not-an-option");
	assert_string_equal(words.v[2], "-");
	strlist_release(&words);
	strlist_release(&v.list);
	buf_release(&err);
}

static void test_aliases_and_short_values(void **state)
{
	const char *argv[] = { "cmd", "--output", "b.png", "-n7", "-fo", "c.png" };
	struct vals v = { NULL, -1, -1, 0, STRLIST_INIT };
	struct strlist words = STRLIST_INIT;
	struct buf err = BUF_INIT;

	(void)state;
	assert_int_equal(parse(&v, &words, &err, 6, argv), OPT_OK);
	assert_string_equal(v.name, "c.png");
	assert_int_equal(v.count, 7);
	assert_int_equal(v.flag, 1);
	strlist_release(&words);
	buf_release(&err);
}

static void test_errors(void **state)
{
	static const struct { const char *args[3]; int argc; const char *want; } rows[] = {
		{ { "--n", "0" }, 2, "--n: '0' is not a whole number from 1 to 10" },
		{ { "--n", "11" }, 2, "from 1 to 10" },
		{ { "--n", "3x" }, 2, "'3x'" },
		{ { "--n", "" }, 2, "''" },
		{ { "--n", " 3" }, 2, "' 3'" },
		{ { "--n" }, 1, "--n needs a value" },
		{ { "--timeout", "0" }, 2, "--timeout" },
		{ { "--timeout", "nan" }, 2, "--timeout" },
		{ { "--timeout", "1e999" }, 2, "--timeout" },
		{ { "--force=yes" }, 1, "takes no value" },
		{ { "--forse" }, 1, "did you mean '--force'?" },
		{ { "--zzzzzzzz" }, 1, "unknown option '--zzzzzzzz'" },
		{ { "-x" }, 1, "unknown option '-x'" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *argv[4] = { "cmd", rows[i].args[0], rows[i].args[1], NULL };
		struct vals v = { NULL, -1, -1, 0, STRLIST_INIT };
		struct strlist words = STRLIST_INIT;
		struct buf err = BUF_INIT;

		assert_int_equal(parse(&v, &words, &err, rows[i].argc + 1, argv), OPT_ERROR);
		if (!strstr(err.data, rows[i].want))
			fail_msg("row %zu: '%s' lacks '%s'", i, err.data, rows[i].want);
		strlist_release(&words);
		strlist_release(&v.list);
		buf_release(&err);
	}
}

/* A flag writes exactly its own bool, short or long: neighbours stay as
 * they were (a flag once wrote an int into a bool). */
static void test_flags_write_only_their_field(void **state)
{
	struct { bool a, b, c, d; } f;
	char a0[] = "cmd", a1[] = "-a", a2[] = "--c";
	char *copy[3] = { a0, a1, a2 };
	struct strlist words = STRLIST_INIT;
	struct buf err = BUF_INIT;
	struct opt opts[] = {
		OPT_BOOL('a', "aa", &f.a, "a"),
		OPT_BOOL('b', "bb", &f.b, "b"),
		OPT_BOOL(0, "c", &f.c, "c"),
		OPT_BOOL(0, "d", &f.d, "d"),
		OPT_END(),
	};

	(void)state;
	memset(&f, 0, sizeof(f));
	f.b = f.d = true;   /* set before: a wider write would clear them */
	assert_int_equal(opt_parse(opts, 3, copy, &words, &err), OPT_OK);
	assert_true(f.a && f.b && f.c && f.d);
	strlist_release(&words);
	buf_release(&err);
}

static void test_help(void **state)
{
	const char *argv[] = { "cmd", "--n", "2", "-h" };
	struct vals v = { NULL, -1, -1, 0, STRLIST_INIT };
	struct strlist words = STRLIST_INIT;
	struct buf err = BUF_INIT;

	(void)state;
	assert_int_equal(parse(&v, &words, &err, 4, argv), OPT_HELP);
	strlist_release(&words);
	buf_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_aliases_and_short_values),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_flags_write_only_their_field),
		cmocka_unit_test(test_help),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	free_kept();
	return rc;
}
