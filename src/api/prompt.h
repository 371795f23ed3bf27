/* The prompt: where it comes from, and the structured prompt built from the
 * augmentation fields (seed 004). */
#ifndef IMAGEGEN_PROMPT_H
#define IMAGEGEN_PROMPT_H

#include <stdbool.h>

#include "util.h"

#define PROMPT_FILE_MAX (1024 * 1024)

/* Borrowed strings; NULL = not given. */
struct prompt_fields {
	const char *use_case;
	const char *scene;
	const char *subject;
	const char *style;
	const char *composition;
	const char *lighting;
	const char *palette;
	const char *materials;
	const char *text;
	const char *constraints;
	const char *negative;
};

bool prompt_fields_any(const struct prompt_fields *f);
/* The first field given, by its JSONL key ("use_case", "scene"), or NULL. */
const char *prompt_fields_first(const struct prompt_fields *f);
/* Is s NULL, empty or only white space (a prompt the API refuses)? */
bool prompt_is_blank(const char *s);

/* The structured prompt: the request and each given field on a labelled line.
 * Returns a new string (caller frees); a copy of prompt when no field is set. */
char *prompt_augment(const char *prompt, const struct prompt_fields *f);

struct prompt_sources {
	const char *prompt;           /* --prompt */
	const char *file;             /* --prompt-file ("-" = standard input) */
	const struct strlist *words;  /* trailing words; a lone "-" = standard input */
	int stdin_fd;
	bool stdin_is_tty;
};

/* Reads the prompt from the first source given, in the order --prompt,
 * --prompt-file, words, standard input (read only when it is not a terminal
 * and nothing else was given). Two explicit sources are an error, as is an
 * empty prompt. Returns 0 with a new string in *out (caller frees), or -1. */
int prompt_read(const struct prompt_sources *s, char **out, struct buf *err);

#endif
