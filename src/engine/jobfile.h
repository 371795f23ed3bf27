/* Batch jobs: positional prompts, or a JSONL file where each line is a plain
 * prompt or an object with a prompt, per-job overrides, an id, an output
 * name (seed 004) and, for an edit, its images, mask and markup. Parsing is pure: text in, items or a line-numbered error
 * out. */
#ifndef IMAGEGEN_JOBFILE_H
#define IMAGEGEN_JOBFILE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "params.h"
#include "prompt.h"
#include "util.h"

struct batch_item {
	size_t line;                 /* 1-based line in the file; 0 for arguments */
	const char *prompt;          /* the user's prompt */
	const char *id;              /* names the job's files; NULL if none */
	const char *out;             /* a file name inside the output folder */
	struct img_params params;    /* overrides; unset fields are NULL / -1 */
	struct prompt_fields fields; /* overrides */
	const char *style_text;      /* "style": vivid/natural or the field */
	/* an edit: "image" (a path, URL, data: URL or file id, or an array of
	 * them), "mask" and "markup"; images is owned, its strings are the doc's */
	const char **images;
	size_t nimages;
	const char *mask;
	const char *markup;
	json_t *doc;                 /* owns the strings above (JSONL lines) */
};

/* A comment line a job file held, not a job. */
struct batch_comment {
	size_t line;
	char *text;                  /* owned */
};

struct batch_items {
	struct batch_item *v;
	size_t n;
	struct batch_comment *comments;   /* the lines skipped as comments */
	size_t ncomments;
};
#define BATCH_ITEMS_INIT { NULL, 0, NULL, 0 }

/* Is the line (trimmed) a comment: "#" alone or followed by a space or a
 * tab? "#1 best mug" and "#hashtag sunset" are prompts. */
bool jobfile_is_comment(const char *line, size_t len);

/* Appends one item per line of text that is neither blank nor a comment
 * (those are listed in items->comments): a JSON object, a JSON string (its
 * text is the prompt) or a plain prompt. 0, or -1 with "line N: ..." in err
 * (nothing is appended for the failing line). */
int jobfile_parse(const char *text, size_t len, struct batch_items *items, struct buf *err);

/* Appends an item for a prompt given on the command line (borrowed). */
void jobfile_add_prompt(struct batch_items *items, const char *prompt);

void batch_items_release(struct batch_items *items);

/* Is name a plain file name that stays inside a folder: no separator, not
 * "." or "..", not hidden, no control characters? */
bool jobfile_safe_name(const char *name);

#endif
