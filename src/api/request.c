#include "request.h"

#include <stdlib.h>
#include <string.h>

#include "sniff.h"

static void set_string(json_t *o, const char *key, const char *v)
{
	if (v)
		json_object_set_new(o, key, json_string(v));
}

static void set_integer(json_t *o, const char *key, long v)
{
	if (v != -1)
		json_object_set_new(o, key, json_integer(v));
}

/* Every parameter that is set, the same way for generations and JSON edits
 * (validation has refused those a request form does not take). */
static void set_params(json_t *o, const struct img_params *p)
{
	const struct model *m = model_find(p->model);

	set_integer(o, "n", p->n);
	set_string(o, "size", p->size);
	set_string(o, "quality", p->quality);
	set_string(o, "background", p->background);
	if (!m || model_is_gpt(m))
		set_string(o, "output_format", p->output_format);
	set_integer(o, "output_compression", p->output_compression);
	set_string(o, "moderation", p->moderation);
	set_string(o, "response_format", p->response_format);
	set_string(o, "style", p->style);
	set_string(o, "input_fidelity", p->input_fidelity);
	set_string(o, "complexity", p->complexity);
	set_string(o, "user", p->user);
	set_string(o, "safety_identifier", p->safety_identifier);
	if (p->stream)
		json_object_set_new(o, "stream", json_true());
	set_integer(o, "partial_images", p->partial_images);
	set_integer(o, "frame_count", p->frame_count);
	set_integer(o, "frame_duration_ms", p->frame_duration_ms);
	if (p->svg_model || p->svg_effort) {
		json_t *svg = json_object();
		set_string(svg, "model", p->svg_model);
		if (p->svg_effort)
			json_object_set_new(svg, "reasoning",
					    json_pack("{s:s}", "effort", p->svg_effort));
		json_object_set_new(o, "svg", svg);
	}
}

json_t *request_generation_body(const struct img_params *p, const char *prompt)
{
	json_t *o = json_object();

	set_string(o, "model", p->model);
	set_string(o, "prompt", prompt);
	set_params(o, p);
	return o;
}

void request_edit_form(struct form *f, const struct img_params *p, const char *prompt,
		       const struct edit_inputs *in, enum operation op)
{
	const struct model *m = model_find(p->model);
	const char *image_field = in->n > 1 ? "image[]" : "image";

	for (size_t i = 0; i < in->n; i++)
		form_add_file(f, image_field, in->images[i].arg,
			      sniff_mime(in->images[i].format), in->images[i].size);
	if (in->mask)
		form_add_file(f, "mask", in->mask->arg, sniff_mime(in->mask->format),
			      in->mask->size);
	if (in->markup)
		form_add_file(f, REQUEST_MARKUP_FIELD, in->markup->arg,
			      sniff_mime(in->markup->format), in->markup->size);
	form_add_text(f, "model", p->model);
	if (op == OP_EDIT)
		form_add_text(f, "prompt", prompt);
	form_add_long(f, "n", p->n);
	form_add_text(f, "size", p->size);
	form_add_text(f, "response_format", p->response_format);
	form_add_text(f, "user", p->user);
	form_add_text(f, "safety_identifier", p->safety_identifier);
	if (op == OP_VARIATION)
		return;
	form_add_text(f, "quality", p->quality);
	form_add_text(f, "background", p->background);
	if (!m || model_is_gpt(m))
		form_add_text(f, "output_format", p->output_format);
	form_add_long(f, "output_compression", p->output_compression);
	form_add_text(f, "input_fidelity", p->input_fidelity);
	form_add_text(f, "complexity", p->complexity);
	if (p->stream)
		form_add_text(f, "stream", "true");
	form_add_long(f, "partial_images", p->partial_images);
	form_add_long(f, "frame_count", p->frame_count);
	form_add_long(f, "frame_duration_ms", p->frame_duration_ms);
	form_add_text(f, REQUEST_SVG_MODEL_FIELD, p->svg_model);
	form_add_text(f, REQUEST_SVG_EFFORT_FIELD, p->svg_effort);
}

/* {"image_url": ...} or {"file_id": ...}; NULL when a file cannot be read. */
static json_t *image_ref(const struct input *in, bool preview, struct buf *err)
{
	char *url;
	json_t *ref;

	if (in->kind == INPUT_FILE_ID)
		return json_pack("{s:s}", "file_id", in->arg);
	if (in->kind == INPUT_URL)
		return json_pack("{s:s}", "image_url", in->arg);
	url = input_data_url(in, preview, err);
	if (!url)
		return NULL;
	ref = json_object();
	json_object_set_new(ref, "image_url", json_string(url));
	free(url);
	return ref;
}

json_t *request_edit_json(const struct img_params *p, const char *prompt,
			  const struct edit_inputs *in, bool preview, struct buf *err)
{
	json_t *o = json_object(), *images = json_array(), *ref;

	set_string(o, "model", p->model);
	set_string(o, "prompt", prompt);
	json_object_set_new(o, "images", images);
	for (size_t i = 0; i < in->n; i++) {
		if (!(ref = image_ref(&in->images[i], preview, err)))
			goto fail;
		json_array_append_new(images, ref);
	}
	if (in->mask) {
		if (!(ref = image_ref(in->mask, preview, err)))
			goto fail;
		json_object_set_new(o, "mask", ref);
	}
	if (in->markup) {
		if (!(ref = image_ref(in->markup, preview, err)))
			goto fail;
		json_object_set_new(o, REQUEST_MARKUP_FIELD, ref);
	}
	set_params(o, p);
	return o;
fail:
	json_decref(o);
	return NULL;
}
