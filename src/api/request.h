/* Request bodies from parameters (pure). */
#ifndef IMAGEGEN_REQUEST_H
#define IMAGEGEN_REQUEST_H

#include <jansson.h>
#include <stdbool.h>

#include "form.h"
#include "input.h"
#include "params.h"

/* The JSON body of POST /images/generations: only parameters the API defines,
 * with its types; parameters a known model does not take are left out.
 * Returns a new reference. */
json_t *request_generation_body(const struct img_params *p, const char *prompt);

/* The inputs of an edit or variation. */
struct edit_inputs {
	const struct input *images;
	size_t n;
	const struct input *mask;   /* or NULL */
	const struct input *markup; /* or NULL (gpt-image-2.6) */
};

/* The wire name of the markup image in edits, multipart and JSON alike. It
 * is not confirmed on an OpenAI page (reference §3.3: "markup" by analogy
 * with "mask"); this is the one place to change it. */
#define REQUEST_MARKUP_FIELD "markup"

/* The svg object ({"model": M, "reasoning": {"effort": E}}) in a multipart
 * form: flattened with brackets, as OpenAI's SDKs send nested values in
 * forms. No OpenAI page shows an SVG edit (reference §3.1: UNKNOWN). */
#define REQUEST_SVG_MODEL_FIELD "svg[model]"
#define REQUEST_SVG_EFFORT_FIELD "svg[reasoning][effort]"

/* The multipart form of an edit (op OP_EDIT) or a variation: one image as
 * "image", several as repeated "image[]", each with its sniffed type. */
void request_edit_form(struct form *f, const struct img_params *p, const char *prompt,
		       const struct edit_inputs *in, enum operation op);

/* The JSON body of an edit whose inputs include URLs or file ids; local
 * files go as data: URLs (summarised when preview, for --dry-run). NULL with
 * a message in err when a file cannot be read. */
json_t *request_edit_json(const struct img_params *p, const char *prompt,
			  const struct edit_inputs *in, bool preview, struct buf *err);

#endif
