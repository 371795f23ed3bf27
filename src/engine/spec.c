#include "spec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imagework.h"
#include "input.h"
#include "naming.h"
#include "price.h"
#include "request.h"

/* Sizes the JSON edit body takes (EditImageBodyJsonParam). */
static const char *const json_edit_sizes[] = { "auto", "1024x1024", "1536x1024",
					       "1024x1536", NULL };

const char *spec_endpoint(enum operation op)
{
	switch (op) {
	case OP_EDIT:
		return "images/edits";
	case OP_VARIATION:
		return "images/variations";
	default:
		return "images/generations";
	}
}

void spec_settle_style(struct img_params *params, struct prompt_fields *fields,
		       const char *style_text)
{
	static const char *const api_styles[] = { "vivid", "natural", NULL };

	if (params->partial_images != -1)
		params->stream = 1;
	if (!style_text)
		return;
	if (one_of(style_text, api_styles))
		params->style = style_text;
	else
		fields->style = style_text;
}

/* The extensions of the formats m makes (every one when m is not known):
 * ".png, .jpg (.jpeg), .webp". */
static void add_extensions(struct buf *b, const struct model *m)
{
	static const char *const all[] = { "png", "jpeg", "webp", "gif", "svg", NULL };
	static const char *const png[] = { "png", NULL };
	const char *const *f = !m ? all : !model_is_gpt(m) ? png : m->formats ? m->formats : all;

	for (size_t i = 0; f[i]; i++)
		buf_addf(b, "%s%s%s", i ? ", " : "", format_ext(f[i]),
			 !strcmp(f[i], "jpeg") ? " (.jpeg)" : "");
}

/* Does ext (".txt") look like a file type's extension rather than part of a
 * name ("shot.2024")? One to five letters and digits, a letter among them. */
static bool looks_like_extension(const char *ext)
{
	size_t n = strlen(ext + 1);
	bool letter = false;

	if (n < 1 || n > 5)
		return false;
	for (const char *p = ext + 1; *p; p++) {
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			return false;
		letter |= !(*p >= '0' && *p <= '9');
	}
	return letter;
}

int spec_format_from_out(const char *out, const char *what, const char *model,
			 const char **format, struct buf *err)
{
	const char *ext = out ? path_ext(out) : NULL;
	const char *from_ext = ext ? ext_format(ext) : NULL;
	const struct model *m = model_find(model ? model : DEFAULT_MODEL);

	if (out && !*out) {
		buf_addf(err, "%s: the file name is empty", what);
		return -1;
	}
	if (ext && !from_ext && looks_like_extension(ext)) {
		buf_addf(err, "%s: '%s' is not an image extension; %s makes ", what, ext,
			 m ? m->name : model);
		add_extensions(err, m);
		buf_addf(err, " (to keep '%s' in the name, add one: '%s.png')", ext, out);
		return -1;
	}
	if (!from_ext)
		return 0;
	if (m && !model_is_gpt(m) && strcmp(from_ext, "png")) {
		buf_addf(err, "%s: %s makes PNG images; name the file .png", what, m->name);
		return -1;
	}
	if (m && m->formats && !one_of(from_ext, m->formats)) {
		buf_addf(err, "%s: '%s' names a %s file, which %s does not make; name it ", what,
			 out, from_ext, m->name);
		add_extensions(err, m);
		return -1;
	}
	if (!*format) {
		if (!m || model_is_gpt(m))
			*format = from_ext;
		return 0;
	}
	if (strcmp(*format, from_ext)) {
		buf_addf(err, "%s: '%s' names a %s file but %s is %s", what, out, from_ext,
			 what[0] == '-' ? "--output-format" : "\"output_format\"", *format);
		return -1;
	}
	return 0;
}

int spec_image_work(const struct job_spec *s, const struct img_params *p,
		    struct chroma_opts *chroma, struct buf *err)
{
	const char *suffix = s->downscale_suffix;
	const char *key = s->key_color ? s->key_color : CHROMA_DEFAULT_KEY;

	*chroma = (struct chroma_opts){ .enabled = false };
	if (suffix && (!*suffix || strchr(suffix, '/'))) {
		buf_addf(err, "--downscale-suffix: '%s' must be a non-empty name part without '/'",
			 suffix);
		return -1;
	}
	if (s->downscale_max && !strcmp(params_format(p), "svg")) {
		buf_addf(err, "--downscale-max-dim: an SVG is a vector drawing with no pixel "
			 "size to reduce; it scales itself wherever it is shown");
		return -1;
	}
	if (s->keep_partials && !p->stream) {
		buf_addf(err, "--keep-partials: only a stream has partial images to keep; add "
			 "--partial-images N");
		return -1;
	}
	if (s->keep_original && !s->chroma_key && !s->key_color) {
		buf_addf(err, "--keep-original: keeps the image as sent beside the keyed one; "
			 "only with --chroma-key");
		return -1;
	}
	if (!s->chroma_key && !s->key_color)
		return 0;
	*chroma = (struct chroma_opts){ .enabled = true, .tolerance = CHROMA_DEFAULT_TOLERANCE,
					.softness = CHROMA_DEFAULT_SOFTNESS, .despill = true };
	if (chroma_parse_color(key, chroma->key)) {
		buf_addf(err, "--key-color: '%s' is not #RRGGBB", s->key_color);
		return -1;
	}
	if (!strcmp(params_format(p), "jpeg")) {
		buf_addf(err, "--chroma-key: makes transparent images; use png or webp, not jpeg");
		return -1;
	}
	if (!strcmp(params_format(p), "gif") || !strcmp(params_format(p), "svg")) {
		buf_addf(err, "--chroma-key: keys raster PNG and WebP images, not %s (a GIF's "
			 "transparency is one bit, an SVG has no pixels); use --background "
			 "transparent, which gpt-image-2.6 makes in %s", params_format(p),
			 params_format(p));
		return -1;
	}
	if (p->background && strcmp(p->background, "opaque")) {
		buf_addf(err, "--chroma-key: the key colour is the background; leave --background "
			 "out (or opaque)");
		return -1;
	}
	return 0;
}

char *spec_prompt(const char *prompt, const struct prompt_fields *fields, bool no_augment,
		  bool chroma_key, const char *key_color)
{
	char *sent = no_augment ? xstrdup(prompt) : prompt_augment(prompt, fields);
	const char *key = key_color ? key_color : CHROMA_DEFAULT_KEY;
	char *both;

	if (!chroma_key && !key_color)
		return sent;
	both = xasprintf("%s\nBackground: a perfectly flat, uniform, solid %s chroma-key "
			 "background filling the whole frame, with no shadows, gradients, texture, "
			 "reflections or lighting falloff on it; keep the subject's edges crisp and "
			 "use no %s anywhere in the subject.", sent, key, key);
	free(sent);
	return both;
}

/* --out with --out-dir before it: the path it names; the caller frees. */
static char *out_path(const struct job_spec *s)
{
	if (!s->out_dir || !*s->out_dir || s->out[0] == '/')
		return xstrdup(s->out);
	return xasprintf("%s%s%s", s->out_dir, s->out_dir[strlen(s->out_dir) - 1] == '/' ? "" : "/",
			 s->out);
}

/* --out naming a folder (one that exists, or any name ending in '/') means
 * "save into it", under the names --out-dir would give: the folder, or NULL
 * when --out names a file. The caller frees. */
static char *out_folder(const struct job_spec *s)
{
	char *path;
	struct stat st;

	if (!s->out || !*s->out)
		return NULL;
	path = out_path(s);
	if (path[strlen(path) - 1] == '/' || (stat(path, &st) == 0 && S_ISDIR(st.st_mode)))
		return path;
	free(path);
	return NULL;
}

/* --out when it names a file, else NULL. */
static const char *out_file(const struct job_spec *s)
{
	char *folder = out_folder(s);
	bool is_folder = folder != NULL;

	free(folder);
	return is_folder ? NULL : s->out;
}

int spec_check_options(const struct job_spec *s, struct buf *err)
{
	struct job_plan plan = JOB_PLAN_INIT;
	struct prompt_fields fields = s->fields;
	int rc;

	if (s->op == OP_VARIATION)
		return 0;
	plan.params = s->params;
	spec_settle_style(&plan.params, &fields, s->style_text);
	rc = spec_format_from_out(out_file(s), "--out", plan.params.model, &plan.params.output_format,
				  err) || spec_image_work(s, &plan.params, &plan.chroma, err) ? -1 : 0;
	return rc;
}

/* Style, format, image work and the prompt: what every operation settles
 * first. 0 or -1. */
static int settle(const struct job_spec *s, struct job_plan *plan, struct buf *err)
{
	struct prompt_fields fields = s->fields;

	plan->endpoint = spec_endpoint(s->op);
	plan->params = s->params;
	if (s->op == OP_VARIATION) {
		params_apply_defaults(&plan->params, OP_VARIATION);
		return spec_format_from_out(out_file(s), "--out", plan->params.model,
					    &plan->params.output_format, err);
	}
	spec_settle_style(&plan->params, &fields, s->style_text);
	if (spec_format_from_out(out_file(s), "--out", plan->params.model,
				 &plan->params.output_format, err) ||
	    spec_image_work(s, &plan->params, &plan->chroma, err))
		return -1;
	if (!s->prompt) {
		buf_addf(err, "no prompt given");
		return -1;
	}
	if (prompt_is_blank(s->prompt)) {
		buf_addf(err, "the prompt is empty (only white space)");
		return -1;
	}
	plan->prompt = spec_prompt(s->prompt, &fields, s->no_augment, plan->chroma.enabled,
				   s->key_color);
	params_apply_defaults(&plan->params, s->op);
	return 0;
}

/* Inspects every input; 0 or -1 with a message naming the input. */
static int inspect_inputs(const struct job_spec *s, const char *model, struct input *images,
			  struct input *mask, struct input *markup, struct buf *err,
			  struct buf *warn)
{
	if (s->nimages > INPUT_MAX_IMAGES) {
		buf_addf(err, "--image: %zu images; at most %d", s->nimages, INPUT_MAX_IMAGES);
		return -1;
	}
	for (size_t i = 0; i < s->nimages; i++)
		if (input_inspect(&images[i], "--image", s->images[i], err))
			return -1;
	if (s->mask && input_inspect(mask, "--mask", s->mask, err))
		return -1;
	if (s->markup && s->op != OP_EDIT) {
		buf_addf(err, "--markup: only edits take a markup image");
		return -1;
	}
	if (s->markup && input_inspect(markup, "--markup", s->markup, err))
		return -1;
	if (input_check_set(images, s->nimages, s->mask ? mask : NULL, model, s->op, err))
		return -1;
	return s->markup ? input_check_markup(&images[0], markup, s->mask ? mask : NULL, model,
					      err, warn) : 0;
}

/* Parameters one edit form takes and the other does not (per the spec). */
static int check_edit_form(const struct img_params *p, bool multipart, struct buf *err)
{
	if (multipart && p->moderation) {
		buf_addf(err, "--moderation: the API takes it on edits only with URL or "
			 "file-id inputs (the JSON form), not with uploaded files");
		return -1;
	}
	if (!multipart && p->response_format) {
		buf_addf(err, "--response-format: not taken by edits with URL or file-id inputs");
		return -1;
	}
	if (!multipart && p->size && !one_of(p->size, json_edit_sizes)) {
		buf_addf(err, "--size: edits with URL or file-id inputs take auto, 1024x1024, "
			 "1536x1024 or 1024x1536, not '%s'", p->size);
		return -1;
	}
	return 0;
}

/* The request of an edit or variation: a form for local files, else JSON. */
static int build_input_request(const struct job_spec *s, struct job_plan *plan,
			       struct input *images, struct input *mask, struct input *markup,
			       struct buf *err)
{
	struct img_params *p = &plan->params;
	struct edit_inputs in = { images, s->nimages, s->mask ? mask : NULL,
				  s->markup ? markup : NULL };
	bool multipart = !s->json_form && input_all_local(images, s->nimages, in.mask) &&
			 (!in.markup || in.markup->kind == INPUT_FILE);

	if (s->op == OP_VARIATION) {
		if (model_find(p->model) && images[0].kind != INPUT_FILE) {
			buf_addf(err, "--image '%s': variations take uploaded files only",
				 images[0].arg);
			return -1;
		}
		request_edit_form(&plan->form, p, NULL, &in, OP_VARIATION);
		return 0;
	}
	if (check_edit_form(p, multipart, err))
		return -1;
	if (multipart)
		request_edit_form(&plan->form, p, plan->prompt, &in, OP_EDIT);
	else if (!(plan->body = request_edit_json(p, plan->prompt, &in, s->preview, err)))
		return -1;
	return 0;
}

static bool never_exists(const char *path, const void *data)
{
	(void)path;
	(void)data;
	return false;
}

bool spec_each_extra(const struct job_spec *s, const struct img_params *p, const char *path,
		     bool (*fn)(const char *name, void *data), void *data)
{
	char *names[PARTIAL_IMAGES_MAX + 3];
	size_t n = 0;
	bool hit = false;

	for (long k = 0; k < p->partial_images && k < PARTIAL_IMAGES_MAX; k++)
		names[n++] = naming_partial(path, k);
	bool keying = s->chroma_key || s->key_color;

	/* A signed image that is keyed keeps its record in the sidecar. */
	if (s->sidecar || keying)
		names[n++] = naming_sidecar(path);
	if (s->downscale_max > 0)
		names[n++] = work_copy_name(path, s->downscale_suffix ? s->downscale_suffix
								      : SPEC_DEFAULT_SUFFIX);
	if (keying)
		names[n++] = work_copy_name(path, "-original");
	for (size_t i = 0; i < n; i++) {
		hit = hit || fn(names[i], data);
		free(names[i]);
	}
	return hit;
}

/* A name is in the way when it, or a file its image would bring beside it,
 * is on disk. */
struct single_names {
	const struct job_spec *s;
	const struct img_params *p;
};

static bool on_disk(const char *name, void *data)
{
	(void)data;
	return path_exists(name);
}

static bool taken_with_extras(const char *path, const void *data)
{
	const struct single_names *sn = data;

	return path_exists(path) || spec_each_extra(sn->s, sn->p, path, on_disk, NULL);
}

static int plan_names(const struct job_spec *s, struct job_plan *plan, const char *stem,
		      struct buf *err)
{
	struct single_names sn = { s, &plan->params };
	static const char *const suffixes[] = { [OP_EDIT] = "-edit", [OP_VARIATION] = "-var" };
	char *folder = out_folder(s);
	struct name_request names = {
		.out = folder ? NULL : s->out, .out_dir = folder ? folder : s->out_dir,
		.prefix = s->prefix ? s->prefix : stem,
		.suffix = s->prefix || s->op == OP_GENERATE ? NULL : suffixes[s->op],
		.prompt = s->prompt,
		.format = s->op == OP_VARIATION ? "png" : params_format(&plan->params),
		.n = plan->params.n, .force = s->force,
	};

	int rc = -1;

	if (s->prefix && names.out) {
		buf_addf(err, "--prefix: not with --out (which names the file itself)");
		goto cleanup;
	}
	/* With --no-save nothing is written, so nothing can be in the way. */
	rc = naming_plan(&names, s->no_save ? never_exists : taken_with_extras, &sn,
			 &plan->names, err);
cleanup:
	free(folder);
	return rc;
}

int spec_plan_request(const struct job_spec *s, struct job_plan *plan, char **stem,
		      struct buf *warn, struct buf *err)
{
	struct input *images = NULL, mask, markup;
	int rc = -1;

	if (s->op == OP_VARIATION && s->nimages != 1) {
		buf_addf(err, "--image: a variation takes exactly one image");
		goto cleanup;
	}
	if (settle(s, plan, err) ||
	    params_validate(&plan->params, s->op, plan->prompt, err, warn))
		goto cleanup;
	if (s->no_augment && prompt_fields_any(&s->fields)) {
		buf_addf(err, "--no-augment and \"%s\": --no-augment sends the prompt without "
			 "the prompt fields; give one of them", prompt_fields_first(&s->fields));
		goto cleanup;
	}
	if (s->mask && !strcmp(params_format(&plan->params), "gif")) {
		buf_addf(err, "--mask: GIF edits take no mask; leave it out or use png");
		goto cleanup;
	}
	if (s->op == OP_GENERATE) {
		plan->body = request_generation_body(&plan->params, plan->prompt);
	} else {
		images = xcalloc(s->nimages ? s->nimages : 1, sizeof(*images));
		if (inspect_inputs(s, plan->params.model, images, &mask, &markup, err, warn) ||
		    build_input_request(s, plan, images, &mask, &markup, err))
			goto cleanup;
		for (size_t i = 0; i < s->nimages; i++)
			plan->input_tokens += price_input_tokens(images[i].width, images[i].height);
		/* size auto follows the first input's shape: the estimate too. */
		plan->params.input_width = s->nimages ? images[0].width : 0;
		plan->params.input_height = s->nimages ? images[0].height : 0;
		if (s->markup)
			plan->input_tokens += price_input_tokens(markup.width, markup.height);
		if (stem)
			*stem = s->nimages ? input_stem(&images[0]) : xstrdup("image");
	}
	rc = 0;
cleanup:
	free(images);
	return rc;
}

int spec_plan(const struct job_spec *s, struct job_plan *plan, struct buf *warn,
	      struct buf *err)
{
	char *stem = NULL;
	int rc = spec_plan_request(s, plan, &stem, warn, err) ? -1 :
		 plan_names(s, plan, stem, err);

	free(stem);
	return rc;
}

int spec_make_folders(const struct name_plan *names, struct buf *err)
{
	for (size_t i = 0; i < names->n; i++) {
		char *dir = path_dirname(names->paths[i]);
		int rc = mkdir_p(dir);

		if (rc || access(dir, W_OK | X_OK)) {
			buf_addf(err, "%s: cannot write into folder '%s': %s",
				 names->explicit_names ? "--out" : "--out-dir", dir, strerror(errno));
			free(dir);
			return -1;
		}
		free(dir);
	}
	return 0;
}

char *job_plan_prepare(struct job_plan *plan, const struct api_config *api)
{
	return provider_prepare(api, plan->endpoint, plan->params.model, plan->body,
				plan->form.n ? &plan->form : NULL);
}

void job_plan_release(struct job_plan *plan)
{
	FREE_AND_NULL(plan->prompt);
	json_decref(plan->body);
	plan->body = NULL;
	form_release(&plan->form);
	name_plan_release(&plan->names);
}
