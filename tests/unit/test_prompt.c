#include "unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "prompt.h"

static void test_augment(void **state)
{
	struct prompt_fields none = { 0 };
	struct prompt_fields f = {
		.use_case = "product-mockup",
		.style = "clean product photography",
		.composition = "wide shot",
		.text = "OPEN",
		.constraints = "no logos",
		.negative = "blur",
	};
	char *got;

	(void)state;
	got = prompt_augment("A mug", &none);
	assert_string_equal(got, "A mug");
	free(got);
	got = prompt_augment("A mug", &f);
	assert_string_equal(got,
		"Use case: product-mockup\n"
		"Primary request: A mug\n"
		"Style/medium: clean product photography\n"
		"Composition/framing: wide shot\n"
		"Text (verbatim): \"OPEN\"\n"
		"Constraints: no logos\n"
		"Avoid: blur");
	free(got);
	assert_false(prompt_fields_any(&none));
	struct prompt_fields empty_text = { .scene = "" };
	assert_false(prompt_fields_any(&empty_text));
}

/* A pipe holding text, standing in for standard input. */
static int pipe_with(const char *text)
{
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], text, strlen(text)), (ssize_t)strlen(text));
	close(fds[1]);
	return fds[0];
}

static void test_blank_and_first_field(void **state)
{
	static const struct { const char *s; bool blank; } rows[] = {
		{ NULL, true }, { "", true }, { "   ", true }, { " \t\r\n", true },
		{ " a ", false }, { "#", false },
	};
	struct prompt_fields scene = { .scene = "beach", .negative = "blur" };
	struct prompt_fields use_case = { .use_case = "ad", .scene = "beach" };
	struct prompt_fields empty = { .scene = "" };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		assert_int_equal(prompt_is_blank(rows[i].s), rows[i].blank);
	assert_string_equal(prompt_fields_first(&scene), "scene");
	assert_string_equal(prompt_fields_first(&use_case), "use_case");
	assert_null(prompt_fields_first(&empty));
}

static void test_sources(void **state)
{
	const char *words_v[] = { "a", "red", "fox" };
	const char *dash_v[] = { "-" };
	struct strlist words = { words_v, 3 }, dash = { dash_v, 1 }, none = { NULL, 0 };
	char path[] = "/tmp/imagegen-prompt-XXXXXX";
	int fd = mkstemp(path);
	struct buf err = BUF_INIT;
	char *out = NULL;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "from a file\n\n", 13), 13);
	close(fd);

	struct prompt_sources s = { .prompt = "flag", .words = &none, .stdin_is_tty = true };
	assert_int_equal(prompt_read(&s, &out, &err), 0);
	assert_string_equal(out, "flag");
	free(out);

	s = (struct prompt_sources){ .file = path, .words = &none, .stdin_is_tty = true };
	assert_int_equal(prompt_read(&s, &out, &err), 0);
	assert_string_equal(out, "from a file");
	free(out);

	s = (struct prompt_sources){ .words = &words, .stdin_is_tty = true };
	assert_int_equal(prompt_read(&s, &out, &err), 0);
	assert_string_equal(out, "a red fox");
	free(out);

	s = (struct prompt_sources){ .words = &none, .stdin_fd = pipe_with("piped\n"), .stdin_is_tty = false };
	assert_int_equal(prompt_read(&s, &out, &err), 0);
	assert_string_equal(out, "piped");
	free(out);
	close(s.stdin_fd);

	s = (struct prompt_sources){ .words = &dash, .stdin_fd = pipe_with("dash"), .stdin_is_tty = true };
	assert_int_equal(prompt_read(&s, &out, &err), 0);
	assert_string_equal(out, "dash");
	free(out);
	close(s.stdin_fd);

	/* Errors: two sources, nothing at all, empty text, a missing file. */
	s = (struct prompt_sources){ .prompt = "x", .words = &words, .stdin_is_tty = true };
	assert_int_equal(prompt_read(&s, &out, &err), -1);
	assert_string_equal(err.data, "--prompt: give the prompt one way only; it came from "
				      "--prompt and words on the command line");
	buf_reset(&err);
	s = (struct prompt_sources){ .words = &none, .stdin_is_tty = true };
	assert_int_equal(prompt_read(&s, &out, &err), -1);
	assert_non_null(strstr(err.data, "no prompt"));
	buf_reset(&err);
	s = (struct prompt_sources){ .prompt = " \n\t", .words = &none, .stdin_is_tty = true };
	assert_int_equal(prompt_read(&s, &out, &err), -1);
	assert_non_null(strstr(err.data, "empty"));
	buf_reset(&err);
	s = (struct prompt_sources){ .file = "/nonexistent/p.txt", .words = &none, .stdin_is_tty = true };
	assert_int_equal(prompt_read(&s, &out, &err), -1);
	assert_non_null(strstr(err.data, "--prompt-file"));
	unlink(path);
	buf_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_augment),
		cmocka_unit_test(test_blank_and_first_field),
		cmocka_unit_test(test_sources),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
