/* The job spec: plain data saying what to request and where the results go.
 * Every front end fills one (cmd/ from argv, the JSONL reader from a line,
 * an MCP server from JSON arguments); the engine turns it into a validated
 * request and its output names (a job plan) without reading argv or
 * printing anything. */
#ifndef IMAGEGEN_SPEC_H
#define IMAGEGEN_SPEC_H

#include <jansson.h>
#include <stdbool.h>

#include "chroma.h"
#include "form.h"
#include "naming.h"
#include "params.h"
#include "prompt.h"
#include "provider.h"

/* Strings are borrowed: they must outlive the plan made from the spec and
 * every job started from it (the plan's parameters, and the job's, point
 * into them). */
struct job_spec {
	enum operation op;
	struct img_params params;
	const char *prompt;              /* the user's own prompt (NULL: variation) */
	struct prompt_fields fields;
	bool no_augment;                 /* send the prompt as given */
	const char *style_text;          /* vivid|natural: the API's style; else the field */
	/* edit and variation inputs: files, https URLs, data: URLs, file ids */
	const char *const *images;
	size_t nimages;
	const char *mask;
	const char *markup;              /* gpt-image-2.6: a PNG of marks on the first image */
	/* local image work */
	bool chroma_key;
	const char *key_color;           /* "#RRGGBB"; implies chroma_key */
	bool keep_original;              /* keep the unkeyed image, NAME-original.ext */
	long downscale_max;              /* also write a copy this size at most; 0 = no */
	const char *downscale_suffix;    /* NULL: "-web" */
	/* where the results go */
	const char *out;                 /* the file itself (n>1: FILE-1.ext, ...) */
	const char *out_dir;
	const char *prefix;
	bool force;                      /* an explicit name may be replaced */
	bool no_save;
	bool keep_partials;
	bool sidecar;
	bool no_metadata;
	bool allow_retired;              /* send a model OpenAI shut down anyway */
	bool preview;                    /* planned only to be shown (--dry-run):
					    data: URLs are summarised */
	bool json_form;                  /* edits in the JSON form even of local
					    files, their bytes as data: URLs (a
					    Batch API line is JSON) */
};
#define JOB_SPEC_INIT { .params = IMG_PARAMS_INIT }

#define SPEC_DEFAULT_SUFFIX "-web"

/* The other files a job of spec s with parameters p may write beside its
 * image at path: each partial image (NAME.partial-K.ext), the sidecar
 * (NAME.json), the downscaled copy (NAME-web.ext) and, when keying, the
 * original (NAME-original.ext). Calls fn with each name (freed after the
 * call) until it returns true; returns whether one did. */
bool spec_each_extra(const struct job_spec *s, const struct img_params *p, const char *path,
		     bool (*fn)(const char *name, void *data), void *data);

/* A validated request and where its images go: what the engine made of a
 * spec. The prompt, body, form and names are owned by the plan; the
 * parameters' strings are the spec's. */
struct job_plan {
	const char *endpoint;        /* "images/generations", ... (static) */
	struct img_params params;    /* settled, with the model's defaults */
	char *prompt;                /* as sent: augmented, with the key instruction */
	json_t *body;                /* the JSON request, or NULL for a form */
	struct form form;            /* the multipart request when form.n > 0 */
	struct name_plan names;
	struct chroma_opts chroma;   /* enabled with --chroma-key */
	long input_tokens;           /* estimated image input tokens of an edit */
};
#define JOB_PLAN_INIT { NULL, IMG_PARAMS_INIT, NULL, NULL, FORM_INIT, NAME_PLAN_INIT, { 0 }, 0 }

/* The API endpoint of an operation ("images/edits"). */
const char *spec_endpoint(enum operation op);

/* Settles the style (vivid/natural set the API parameter, other text becomes
 * the prompt's style field) and --partial-images (implies streaming). */
void spec_settle_style(struct img_params *params, struct prompt_fields *fields,
		       const char *style_text);

/* Takes the format from an output name's extension when no format is given
 * at that level (*format), refusing a contradiction; what names the output
 * in messages ("--out", "\"out\""). 0, or -1 with a message in err. */
int spec_format_from_out(const char *out, const char *what, const char *model,
			 const char **format, struct buf *err);

/* Checks the local image work (--chroma-key, --key-color, the copy's suffix)
 * against the format and background, and fills *chroma. 0 or -1. */
int spec_image_work(const struct job_spec *s, const struct img_params *p,
		    struct chroma_opts *chroma, struct buf *err);

/* The prompt as sent: augmented from the fields (unless no_augment), with
 * the chroma-key instruction when keying. The caller frees. */
char *spec_prompt(const char *prompt, const struct prompt_fields *fields, bool no_augment,
		  bool chroma_key, const char *key_color);

/* The checks of the options alone (format from the output name, image
 * work), which a front end may run before it reads a prompt. 0, or -1 with
 * a message in err. */
int spec_check_options(const struct job_spec *s, struct buf *err);

/* Plans one request (generate, edit or variation): validates every rule,
 * inspects the inputs, builds the body or form and plans the output names
 * (derived names skip files that exist). Warnings go to warn, one a line.
 * 0, or -1 with one message in err; plan is released by the caller either
 * way. */
int spec_plan(const struct job_spec *s, struct job_plan *plan, struct buf *warn,
	      struct buf *err);

/* The request part of spec_plan, for front ends that name files their own
 * way (batch): everything but the names. *stem (when stem is not NULL) is
 * set for edits to the first input's name stem (caller frees). 0, or -1
 * with one message in err; plan is released by the caller either way. */
int spec_plan_request(const struct job_spec *s, struct job_plan *plan, char **stem,
		      struct buf *warn, struct buf *err);

/* Creates the plan's output folders now: an image that cannot be saved must
 * not be paid for. 0, or -1 with a message in err. */
int spec_make_folders(const struct name_plan *names, struct buf *err);

/* Readies the plan's body or form for the provider (as sent, and as a dry
 * run shows it) and returns the URL, which the caller frees. */
char *job_plan_prepare(struct job_plan *plan, const struct api_config *api);

void job_plan_release(struct job_plan *plan);

#endif
