/* The API parameters of one request, and their validation against the model
 * table. Pure: no I/O, so every rule has a unit test. */
#ifndef IMAGEGEN_PARAMS_H
#define IMAGEGEN_PARAMS_H

#include <stdbool.h>
#include <time.h>

#include "model.h"
#include "util.h"

enum operation {
	OP_GENERATE,
	OP_EDIT,
	OP_VARIATION,
};

/* Strings are borrowed (argv or a parsed JSON document); NULL = not given.
 * Numbers are -1 when not given. */
struct img_params {
	const char *model;
	long n;
	const char *size;
	const char *quality;
	const char *background;
	const char *output_format;
	long output_compression;
	const char *moderation;
	const char *response_format;
	const char *style;            /* the dall-e-3 API parameter only */
	const char *user;
	const char *input_fidelity;
	const char *complexity;       /* 2.6: how much the model plans */
	const char *safety_identifier; /* replaces the deprecated user */
	long partial_images;
	bool stream;
	long frame_count;             /* GIF: frames (2-16) */
	long frame_duration_ms;       /* GIF: each frame's time on screen */
	const char *svg_model;        /* SVG: the text model that writes it */
	const char *svg_effort;       /* SVG: that model's reasoning effort */
	/* Never sent: an edit's first input, whose shape size auto follows
	 * (estimates take it; 0 when not known, as for a URL or file id). */
	int input_width, input_height;
};
#define IMG_PARAMS_INIT { .n = -1, .output_compression = -1, .partial_images = -1, \
			  .frame_count = -1, .frame_duration_ms = -1 }

#define DEFAULT_MODEL "gpt-image-2"
/* partial_images is 0 to this, so a partial's index is below it. */
#define PARTIAL_IMAGES_MAX 3
#define DEFAULT_FORMAT "png"

/* Parses "WIDTHxHEIGHT" (digits only, each 1..65535). 0 or -1. */
int size_parse(const char *s, int *w, int *h);

/* Fills what the user left unset with the model's defaults (model, size,
 * quality, output format for GPT image models). Unknown models get only the
 * model name: a compatible server decides its own defaults. */
void params_apply_defaults(struct img_params *p, enum operation op);

/* The file format the images will be in: "png", "jpeg", "webp", "gif" or
 * "svg". */
const char *params_format(const struct img_params *p);

/* Checks every rule for the operation. Returns 0, or -1 with one message in
 * err naming the flag and the rule. Warnings (experimental sizes, unknown
 * models, preview features, deprecated parameters) are appended to warn,
 * one per line. A model's life (deprecated, shut down) is not checked here:
 * that depends on the server (params_check_life). */
int params_validate(const struct img_params *p, enum operation op,
		    const char *prompt, struct buf *err, struct buf *warn);

/* A model past or near its shutdown date, at time now: against OpenAI
 * itself (at_openai) a shut-down model is refused unless allow_retired;
 * elsewhere, and for a shutdown still ahead, one warning in warn. 0, or -1
 * with a message in err naming the date and the replacement. */
int params_check_life(const struct img_params *p, bool at_openai, bool allow_retired,
		      time_t now, struct buf *err, struct buf *warn);

/* Is s one of the NULL-terminated values? */
bool one_of(const char *s, const char *const *values);
/* The values a flag ("quality", "output-format", ...) takes whatever the
 * model, NULL-terminated, or NULL when it is not a list (shell completion). */
const char *const *params_values(const char *flag);

#endif
