/* The model table: what each known image model accepts. A new model is one
 * row in model.c; a model not in the table is passed through with a warning. */
#ifndef IMAGEGEN_MODEL_H
#define IMAGEGEN_MODEL_H

#include <stdbool.h>

enum model_family {
	FAMILY_GPT_IMAGE,
	FAMILY_DALLE2,
	FAMILY_DALLE3,
};

/* Free-form WxH sizes (gpt-image-2). */
struct size_rules {
	int multiple;          /* both edges divisible by this */
	int max_edge;
	int max_ratio;         /* long edge : short edge at most this : 1 */
	long min_pixels, max_pixels;
	long experimental_pixels; /* above this: allowed with a warning */
};

struct model {
	const char *name;
	enum model_family family;
	long max_prompt;                  /* characters */
	int max_n;
	const char *const *sizes;         /* fixed sizes, NULL-terminated */
	const struct size_rules *flexible; /* or free-form sizes */
	const char *const *qualities;     /* NULL-terminated */
	const char *default_size;
	const char *default_quality;      /* NULL: not sent */
	bool transparent;                 /* supports background=transparent */
	bool transparent_preview;         /* ... only in preview: warn */
	bool input_fidelity;
	bool edits;                       /* POST /images/edits */
	bool variations;                  /* POST /images/variations */
};

/* NULL when the model is not in the table. */
const struct model *model_find(const char *name);
bool model_is_gpt(const struct model *m);
/* A comma-separated list of the model's fixed sizes (static buffer). */
const char *model_size_list(const struct model *m);

#endif
