#include "prompt.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct field_row {
	const char *key;
	const char *label;
	size_t offset;
};

static const struct field_row field_rows[] = {
	{ "scene", "Scene/background", offsetof(struct prompt_fields, scene) },
	{ "subject", "Subject", offsetof(struct prompt_fields, subject) },
	{ "style", "Style/medium", offsetof(struct prompt_fields, style) },
	{ "composition", "Composition/framing", offsetof(struct prompt_fields, composition) },
	{ "lighting", "Lighting/mood", offsetof(struct prompt_fields, lighting) },
	{ "palette", "Color palette", offsetof(struct prompt_fields, palette) },
	{ "materials", "Materials/textures", offsetof(struct prompt_fields, materials) },
	{ "text", "Text (verbatim)", offsetof(struct prompt_fields, text) },
	{ "constraints", "Constraints", offsetof(struct prompt_fields, constraints) },
	{ "negative", "Avoid", offsetof(struct prompt_fields, negative) },
};

static const char *field_at(const struct prompt_fields *f, size_t offset)
{
	const char *v = *(const char *const *)((const char *)f + offset);

	return v && *v ? v : NULL;
}

bool prompt_fields_any(const struct prompt_fields *f)
{
	if (field_at(f, offsetof(struct prompt_fields, use_case)))
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(field_rows); i++)
		if (field_at(f, field_rows[i].offset))
			return true;
	return false;
}

const char *prompt_fields_first(const struct prompt_fields *f)
{
	if (field_at(f, offsetof(struct prompt_fields, use_case)))
		return "use_case";
	for (size_t i = 0; i < ARRAY_SIZE(field_rows); i++)
		if (field_at(f, field_rows[i].offset))
			return field_rows[i].key;
	return NULL;
}

bool prompt_is_blank(const char *s)
{
	return !s || s[strspn(s, " \t\r\n\v\f")] == '\0';
}

char *prompt_augment(const char *prompt, const struct prompt_fields *f)
{
	struct buf b = BUF_INIT;

	if (!prompt_fields_any(f))
		return xstrdup(prompt);
	if (f->use_case && *f->use_case)
		buf_addf(&b, "Use case: %s\n", f->use_case);
	buf_addf(&b, "Primary request: %s\n", prompt);
	for (size_t i = 0; i < ARRAY_SIZE(field_rows); i++) {
		const char *v = field_at(f, field_rows[i].offset);
		if (!v)
			continue;
		if (field_rows[i].offset == offsetof(struct prompt_fields, text))
			buf_addf(&b, "%s: \"%s\"\n", field_rows[i].label, v);
		else
			buf_addf(&b, "%s: %s\n", field_rows[i].label, v);
	}
	b.data[--b.len] = '\0';   /* no final newline */
	return buf_detach(&b);
}

static void trim_end(struct buf *b)
{
	while (b->len && strchr(" \t\r\n", b->data[b->len - 1]))
		b->data[--b->len] = '\0';
}

static int read_stream(int fd, const char *what, struct buf *b, struct buf *err)
{
	if (read_all_fd(fd, PROMPT_FILE_MAX, b) == 0)
		return 0;
	if (errno == EFBIG)
		buf_addf(err, "%s: the prompt is larger than %d bytes", what, PROMPT_FILE_MAX);
	else
		buf_addf(err, "%s: cannot read: %s", what, strerror(errno));
	return -1;
}

static int join_words(const struct strlist *words, struct buf *b)
{
	for (size_t i = 0; i < words->n; i++)
		buf_addf(b, "%s%s", i ? " " : "", words->v[i]);
	return 0;
}

int prompt_read(const struct prompt_sources *s, char **out, struct buf *err)
{
	bool words = s->words && s->words->n > 0;
	bool words_stdin = words && s->words->n == 1 && !strcmp(s->words->v[0], "-");
	int given = !!s->prompt + !!s->file + words;
	struct buf b = BUF_INIT;
	const char *what = "--prompt";
	int rc = 0;

	if (given > 1) {
		const char *named[3];
		int k = 0;

		if (s->prompt)
			named[k++] = "--prompt";
		if (s->file)
			named[k++] = "--prompt-file";
		if (words)
			named[k++] = "words on the command line";
		buf_adds(err, "--prompt: give the prompt one way only; it came from ");
		for (int i = 0; i < k; i++)
			buf_addf(err, "%s%s", i == 0 ? "" : i == k - 1 ? " and " : ", ", named[i]);
		return -1;
	}
	if (s->prompt) {
		buf_adds(&b, s->prompt);
	} else if (s->file && strcmp(s->file, "-")) {
		what = "--prompt-file";
		if (read_file(s->file, PROMPT_FILE_MAX, &b)) {
			buf_addf(err, "--prompt-file: cannot read '%s': %s", s->file,
				 errno == EFBIG ? "larger than 1 MiB" : strerror(errno));
			rc = -1;
		}
	} else if (words && !words_stdin) {
		what = "prompt";
		join_words(s->words, &b);
	} else if (s->file || words_stdin || !s->stdin_is_tty) {
		what = "standard input";
		rc = read_stream(s->stdin_fd, what, &b, err);
	} else {
		buf_addf(err, "--prompt: no prompt given (use --prompt, --prompt-file, "
			 "words, or standard input)");
		rc = -1;
	}
	if (rc == 0) {
		trim_end(&b);
		if (!b.len || strspn(b.data, " \t\r\n") == b.len) {
			buf_addf(err, "%s: the prompt is empty", what);
			rc = -1;
		} else if (memchr(b.data, '\0', b.len)) {
			buf_addf(err, "%s: the prompt contains a NUL byte", what);
			rc = -1;
		}
	}
	if (rc) {
		buf_release(&b);
		return -1;
	}
	*out = buf_detach(&b);
	return 0;
}
