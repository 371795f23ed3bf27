/* The model table: what each known image model accepts and where it is in
 * its life (active, deprecated with a shutdown date, shut down). A new model
 * is one row in model.c; a model not in the table is passed through with a
 * warning. Every row's facts come from ../shared/reference/images-api-2026-11.md
 * (the section is named in the row's source). */
#ifndef IMAGEGEN_MODEL_H
#define IMAGEGEN_MODEL_H

#include <stdbool.h>
#include <time.h>

#include "util.h"

enum model_family {
	FAMILY_GPT_IMAGE,
	FAMILY_DALLE2,
	FAMILY_DALLE3,
};

/* Free-form WxH sizes (gpt-image-2 and later). */
struct size_rules {
	int multiple;          /* both edges divisible by this */
	int max_edge;
	int max_ratio;         /* long edge : short edge at most this : 1 */
	long min_pixels, max_pixels;
	long experimental_pixels; /* above this: allowed with a warning */
};

enum support {
	SUPPORT_NO,
	SUPPORT_PREVIEW,       /* sent with a warning */
	SUPPORT_YES,
};

struct model {
	const char *name;
	enum model_family family;
	const char *shutdown;             /* "YYYY-MM-DD" (UTC) it stops, or NULL */
	const char *replacement;          /* what OpenAI names instead, or NULL */
	const char *source;               /* where the row's facts come from */
	long max_prompt;                  /* characters */
	int max_n;
	const char *const *sizes;         /* fixed sizes, NULL-terminated */
	const struct size_rules *flexible; /* or free-form sizes */
	const char *const *qualities;     /* NULL-terminated */
	const char *default_size;
	const char *default_quality;      /* NULL: not sent */
	enum support transparent;         /* background=transparent */
	const char *const *formats;       /* output formats, NULL-terminated */
	bool complexity;                  /* takes complexity */
	const char *const *fidelities;    /* input_fidelity values, or NULL: none */
	bool markup;                      /* markup-guided edits */
	bool edits;                       /* POST /images/edits */
	bool variations;                  /* POST /images/variations */
};

enum model_life {
	MODEL_ACTIVE,
	MODEL_DEPRECATED,      /* works until its shutdown date */
	MODEL_SHUT_DOWN,
};

/* NULL when the model is not in the table. */
const struct model *model_find(const char *name);
/* The known model name (the user's rows first) that name is most likely a
 * typo of, or NULL (closest_name); borrowed from the table. */
const char *model_suggest(const char *name);
bool model_is_gpt(const struct model *m);
/* A comma-separated list of the model's fixed sizes (static buffer). */
const char *model_size_list(const struct model *m);

/* Where the model is in its life at time now (pure: now is given). */
enum model_life model_life(const struct model *m, time_t now);

/* The table itself, for listings and tests: *n rows. */
const struct model *model_table(size_t *n);

/* The user's rows ({"format": 1, "models": [{"name", "like", "shutdown",
 * "replacement", "qualities", "source"}]}) from path: a new model or
 * snapshot takes the rules of the built-in one it is "like" (a row named as
 * a built-in one replaces it), with its own dates and qualities. Found by
 * model_find before the built-in rows. A missing file is none. 0, or -1
 * with the file, row and reason in err (then there are none). */
int model_load_user(const char *path, struct buf *err);
/* The user's rows loaded: *n of them. */
const struct model *model_user_table(size_t *n);
void model_release_user(void);

#endif
