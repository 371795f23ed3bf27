#include "params.h"

#include <stddef.h>
#include <string.h>

static const char *const formats[] = { "png", "jpeg", "webp", "gif", "svg", NULL };
static const char *const svg_efforts[] = {
	"none", "minimal", "low", "medium", "high", "xhigh", "max", NULL
};
static const char *const svg_sizes[] = { "auto", "1024x1024", "1024x1536", "1536x1024", NULL };
static const char *const complexities[] = { "low", "medium", "high", NULL };
static const char *const backgrounds[] = { "transparent", "opaque", "auto", NULL };
static const char *const moderations[] = { "low", "auto", NULL };
static const char *const response_formats[] = { "url", "b64_json", NULL };
static const char *const styles[] = { "vivid", "natural", NULL };
static const char *const fidelities[] = { "low", "high", NULL };
static const char *const all_qualities[] = {
	"standard", "hd", "low", "medium", "high", "xhigh", "max", "auto", NULL
};

#define SAFETY_ID_MAX 64   /* Azure's documented limit; OpenAI's is unclear (reference §8) */

/* GIF (reference §2.1-§2.3): 2-16 frames, each at least 20 ms (the API
 * rounds to 10 ms; 655,350 ms is the most a GIF can encode). The frames
 * share one sheet within the model's total pixel budget (its size rules'
 * max_pixels; OpenAI publishes no GIF numbers, third-party measurements
 * fit frame pixels x frames into it). */
#define GIF_FRAMES_MIN 2
#define GIF_FRAMES_MAX 16
#define GIF_FRAMES_DEFAULT 9
#define GIF_FRAME_MS_MIN 20
#define GIF_FRAME_MS_MAX 655350

const char *const *params_values(const char *flag)
{
	static const struct { const char *flag; const char *const *values; } rows[] = {
		{ "output-format", formats }, { "svg-effort", svg_efforts },
		{ "complexity", complexities }, { "background", backgrounds },
		{ "moderation", moderations }, { "response-format", response_formats },
		{ "style", styles }, { "input-fidelity", fidelities }, { "quality", all_qualities },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (!strcmp(flag, rows[i].flag))
			return rows[i].values;
	return NULL;
}

bool one_of(const char *s, const char *const *values)
{
	for (; *values; values++)
		if (!strcmp(s, *values))
			return true;
	return false;
}

static void list_values(struct buf *b, const char *const *values)
{
	for (const char *const *v = values; *v; v++)
		buf_addf(b, "%s%s", v == values ? "" : ", ", *v);
}

int size_parse(const char *s, int *w, int *h)
{
	long v[2] = { 0, 0 };
	int part = 0, digits = 0;

	for (const char *p = s; ; p++) {
		if (*p >= '0' && *p <= '9') {
			v[part] = v[part] * 10 + (*p - '0');
			if (v[part] > 65535 || (digits == 0 && *p == '0'))
				return -1;
			digits++;
		} else if (*p == 'x' && part == 0 && digits) {
			part = 1;
			digits = 0;
		} else if (*p == '\0' && part == 1 && digits) {
			break;
		} else {
			return -1;
		}
	}
	*w = (int)v[0];
	*h = (int)v[1];
	return 0;
}

void params_apply_defaults(struct img_params *p, enum operation op)
{
	const struct model *m;

	if (!p->model)
		p->model = op == OP_VARIATION ? "dall-e-2" : DEFAULT_MODEL;
	m = model_find(p->model);
	if (!m)
		return;
	if (!p->size && op != OP_VARIATION)
		p->size = m->default_size;
	if (!p->quality && op != OP_VARIATION)
		p->quality = m->default_quality;
	if (!p->output_format && model_is_gpt(m))
		p->output_format = DEFAULT_FORMAT;
}

const char *params_format(const struct img_params *p)
{
	return p->output_format ? p->output_format : DEFAULT_FORMAT;
}

/* Value checks that hold for every model, known or not (the API's enums). */
static int check_enums(const struct img_params *p, struct buf *err)
{
	static const struct {
		const char *flag;
		size_t offset;
		const char *const *values;
	} rows[] = {
		{ "--quality", offsetof(struct img_params, quality), all_qualities },
		{ "--background", offsetof(struct img_params, background), backgrounds },
		{ "--output-format", offsetof(struct img_params, output_format), formats },
		{ "--moderation", offsetof(struct img_params, moderation), moderations },
		{ "--response-format", offsetof(struct img_params, response_format), response_formats },
		{ "--style", offsetof(struct img_params, style), styles },
		{ "--input-fidelity", offsetof(struct img_params, input_fidelity), fidelities },
		{ "--complexity", offsetof(struct img_params, complexity), complexities },
		{ "--svg-effort", offsetof(struct img_params, svg_effort), svg_efforts },
	};

	const struct model *m = model_find(p->model);

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		const char *v = *(const char *const *)((const char *)p + rows[i].offset);
		/* A quality the user's models.json gives its model is the API's too. */
		if (i == 0 && v && m && one_of(v, m->qualities))
			continue;
		if (v && !one_of(v, rows[i].values)) {
			buf_addf(err, "%s: '%s' is not one of ", rows[i].flag, v);
			list_values(err, rows[i].values);
			return -1;
		}
	}
	if (p->n != -1 && (p->n < 1 || p->n > 10))
		return buf_addf(err, "--n: %ld is out of range (1 to 10)", p->n), -1;
	if (p->output_compression != -1 &&
	    (p->output_compression < 0 || p->output_compression > 100))
		return buf_addf(err, "--output-compression: %ld is out of range (0 to 100)",
				p->output_compression), -1;
	if (p->partial_images != -1 &&
	    (p->partial_images < 0 || p->partial_images > PARTIAL_IMAGES_MAX))
		return buf_addf(err, "--partial-images: %ld is out of range (0 to %d)",
				p->partial_images, PARTIAL_IMAGES_MAX), -1;
	if (p->size && strcmp(p->size, "auto")) {
		int w, h;
		if (size_parse(p->size, &w, &h))
			return buf_addf(err, "--size: '%s' is not WIDTHxHEIGHT or auto",
					p->size), -1;
	}
	return 0;
}

static bool is_format(const struct img_params *p, const char *format)
{
	return p->output_format && !strcmp(p->output_format, format);
}

/* A GIF's frames: any WxH the flexible rules allow but the pixel minimum
 * (third-party tables show 384-px frames), with a warning when the frames
 * may not fit the sheet of budget pixels. */
static void check_gif_frame(int w, int h, long frames, long budget, struct buf *warn)
{
	if ((long)w * h * frames > budget)
		buf_addf(warn, "--size %dx%d: %ld frames of it may not fit the GIF's pixel "
			 "budget (OpenAI publishes none; measured: %ld pixels in all, e.g. "
			 "960x960 up to 9 frames)\n", w, h, frames, budget);
}

static int check_flexible_size(const struct model *m, const struct img_params *p,
			       const char *size, struct buf *err, struct buf *warn)
{
	const struct size_rules *r = m->flexible;
	int w, h;

	if (!strcmp(size, "auto"))
		return 0;
	size_parse(size, &w, &h);
	int lo = w < h ? w : h, hi = w < h ? h : w;
	long px = (long)w * h;

	if (w % r->multiple || h % r->multiple)
		buf_addf(err, "--size: %s: width and height must be multiples of %d",
			 size, r->multiple);
	else if (hi > r->max_edge)
		buf_addf(err, "--size: %s: the longer edge must be at most %d",
			 size, r->max_edge);
	else if (hi > (long)lo * r->max_ratio)
		buf_addf(err, "--size: %s: the long edge may be at most %d times the short edge",
			 size, r->max_ratio);
	else if (is_format(p, "gif") && px <= r->max_pixels) {
		check_gif_frame(w, h, p->frame_count != -1 ? p->frame_count : GIF_FRAMES_DEFAULT,
				r->max_pixels, warn);
		return 0;
	}
	else if (px < r->min_pixels || px > r->max_pixels)
		buf_addf(err, "--size: %s has %ld pixels; %s needs %ld to %ld",
			 size, px, m->name, r->min_pixels, r->max_pixels);
	else {
		if (px > r->experimental_pixels)
			buf_addf(warn, "--size %s: sizes above 2560x1440 are experimental on %s\n",
				 size, m->name);
		return 0;
	}
	return -1;
}

static int check_size(const struct model *m, const struct img_params *p, enum operation op,
		      struct buf *err, struct buf *warn)
{
	const char *size = p->size;

	if (!size)
		return 0;
	if (is_format(p, "svg") && !one_of(size, svg_sizes)) {
		buf_addf(err, "--size: SVG output comes in ");
		list_values(err, svg_sizes);
		return buf_addf(err, ", not '%s'", size), -1;
	}
	if (m->flexible)
		return check_flexible_size(m, p, size, err, warn);
	if (op == OP_VARIATION && !strcmp(size, "auto"))
		return buf_addf(err, "--size: variations need 256x256, 512x512 or 1024x1024"), -1;
	if (one_of(size, m->sizes))
		return 0;
	buf_addf(err, "--size: %s supports %s, not '%s'", m->name,
		 model_size_list(m), size);
	return -1;
}

static int check_prompt(const struct model *m, const char *prompt, struct buf *err)
{
	long chars;

	if (!prompt)
		return 0;
	chars = utf8_length(prompt, strlen(prompt));
	if (chars < 0)
		return buf_addf(err, "--prompt: the prompt is not valid UTF-8"), -1;
	if (m && chars > m->max_prompt)
		return buf_addf(err, "--prompt: %ld characters is too long for %s (at most %ld)",
				chars, m->name, m->max_prompt), -1;
	return 0;
}

/* Parameters that only GPT image models take. */
static int check_gpt_only(const struct model *m, const struct img_params *p,
			  struct buf *err)
{
	const char *flag = NULL;

	if (model_is_gpt(m))
		return 0;
	if (p->background)
		flag = "--background";
	else if (p->output_compression != -1)
		flag = "--output-compression";
	else if (p->moderation)
		flag = "--moderation";
	else if (p->stream)
		flag = "--stream";
	else if (p->partial_images != -1)
		flag = "--partial-images";
	else if (p->output_format && strcmp(p->output_format, "png"))
		flag = "--output-format";
	if (!flag)
		return 0;
	buf_addf(err, "%s: only the GPT image models take it, not %s", flag, m->name);
	return -1;
}

static int check_known_model(const struct model *m, const struct img_params *p,
			     enum operation op, struct buf *err, struct buf *warn)
{
	if (op == OP_EDIT && !m->edits)
		return buf_addf(err, "--model: %s cannot edit images", m->name), -1;
	if (op == OP_VARIATION && !m->variations)
		return buf_addf(err, "--model: only dall-e-2 makes variations, not %s",
				m->name), -1;
	if (p->n != -1 && p->n > m->max_n)
		return buf_addf(err, "--n: %s makes at most %d image%s per request",
				m->name, m->max_n, m->max_n == 1 ? "" : "s"), -1;
	if (check_size(m, p, op, err, warn))
		return -1;
	if (p->quality && op != OP_VARIATION && !one_of(p->quality, m->qualities)) {
		buf_addf(err, "--quality: %s takes ", m->name);
		list_values(err, m->qualities);
		buf_addf(err, ", not '%s'", p->quality);
		return -1;
	}
	if (check_gpt_only(m, p, err))
		return -1;
	if (p->output_format && m->formats && !one_of(p->output_format, m->formats)) {
		if (is_format(p, "gif") || is_format(p, "svg"))
			return buf_addf(err, "--output-format %s: only the gpt-image-2.6 models "
					"make %s, not %s", p->output_format,
					is_format(p, "gif") ? "GIF" : "SVG", m->name), -1;
		buf_addf(err, "--output-format: %s makes ", m->name);
		list_values(err, m->formats);
		return buf_addf(err, ", not '%s'", p->output_format), -1;
	}
	if (p->response_format && model_is_gpt(m))
		return buf_addf(err, "--response-format: only dall-e models take it; "
				"%s always returns base64 images", m->name), -1;
	if (p->style && m->family != FAMILY_DALLE3)
		return buf_addf(err, "--style %s: only dall-e-3 takes the style parameter "
				"(use other words for the prompt's style field)", p->style), -1;
	if (p->input_fidelity && !m->fidelities)
		return buf_addf(err, "--input-fidelity: %s does not take it%s", m->name,
				m->family == FAMILY_GPT_IMAGE ?
				" (it always uses high fidelity)" : ""), -1;
	if (p->input_fidelity && !one_of(p->input_fidelity, m->fidelities)) {
		buf_addf(err, "--input-fidelity: %s takes ", m->name);
		list_values(err, m->fidelities);
		return buf_addf(err, ", not '%s'", p->input_fidelity), -1;
	}
	if (p->complexity && !m->complexity)
		return buf_addf(err, "--complexity: only the gpt-image-2.6 models take it, not "
				"%s", m->name), -1;
	if (p->background && !strcmp(p->background, "transparent")) {
		if (m->transparent == SUPPORT_NO)
			return buf_addf(err, "--background transparent: %s makes no transparent "
					"images; try --chroma-key", m->name), -1;
		if (m->transparent == SUPPORT_PREVIEW)
			buf_addf(warn, "--background transparent is in preview on %s; if the API "
				 "refuses it, try --chroma-key\n", m->name);
	}
	return 0;
}

/* The GIF rules (reference §2.3): frames only for GIF, and no streaming. */
static int check_gif(const struct img_params *p, struct buf *err, struct buf *warn)
{
	const char *flag = p->frame_count != -1 ? "--frame-count" :
			   p->frame_duration_ms != -1 ? "--frame-duration-ms" : NULL;

	if (flag && !is_format(p, "gif"))
		return buf_addf(err, "%s: only GIF output has frames; add --output-format "
				"gif", flag), -1;
	if (!is_format(p, "gif"))
		return 0;
	if (p->frame_count != -1 &&
	    (p->frame_count < GIF_FRAMES_MIN || p->frame_count > GIF_FRAMES_MAX))
		return buf_addf(err, "--frame-count: %ld is out of range (%d to %d)",
				p->frame_count, GIF_FRAMES_MIN, GIF_FRAMES_MAX), -1;
	if (p->frame_duration_ms != -1 && (p->frame_duration_ms < GIF_FRAME_MS_MIN ||
					   p->frame_duration_ms > GIF_FRAME_MS_MAX))
		return buf_addf(err, "--frame-duration-ms: %ld is out of range (%d to %d)",
				p->frame_duration_ms, GIF_FRAME_MS_MIN, GIF_FRAME_MS_MAX), -1;
	if (p->frame_duration_ms != -1 && p->frame_duration_ms % 10)
		buf_addf(warn, "--frame-duration-ms %ld: the API rounds it to the nearest "
			 "10 ms\n", p->frame_duration_ms);
	if (p->partial_images != -1)
		return buf_addf(err, "--partial-images: GIF output is not streamed, so it "
				"has no partial images"), -1;
	if (p->stream)
		return buf_addf(err, "--stream: GIF output cannot be streamed"), -1;
	return 0;
}

/* The SVG rules (reference §2.3): one image, an authoring model. Whether
 * svg.model is required, and whether SVG streams or edits, is unsettled:
 * those warn. */
static int check_svg(const struct img_params *p, enum operation op, struct buf *err,
		     struct buf *warn)
{
	const char *flag = p->svg_model ? "--svg-model" : p->svg_effort ? "--svg-effort" : NULL;

	if (flag && !is_format(p, "svg"))
		return buf_addf(err, "%s: only SVG output is written by a text model; add "
				"--output-format svg", flag), -1;
	if (!is_format(p, "svg"))
		return 0;
	if (p->svg_model && !*p->svg_model)
		return buf_addf(err, "--svg-model: empty; name the text model that writes "
				"the SVG"), -1;
	if (p->n != -1 && p->n != 1)
		return buf_addf(err, "--n: SVG output is one image per request, not %ld",
				p->n), -1;
	if (!p->svg_model)
		buf_adds(warn, "--output-format svg without --svg-model: servers that need "
			 "the authoring model refuse it (\"SVG generation requires "
			 "'svg.model'\")\n");
	if (p->stream)
		buf_adds(warn, "--stream with SVG output is undocumented; the server may "
			 "refuse it\n");
	if (op == OP_EDIT)
		buf_adds(warn, "SVG output from an edit is undocumented; the server may "
			 "refuse it\n");
	return 0;
}

int params_validate(const struct img_params *p, enum operation op,
		    const char *prompt, struct buf *err, struct buf *warn)
{
	const struct model *m = model_find(p->model ? p->model : DEFAULT_MODEL);

	if (check_enums(p, err) || check_prompt(m, prompt, err))
		return -1;
	if (p->input_fidelity && op != OP_EDIT)
		return buf_addf(err, "--input-fidelity: only edits take it"), -1;
	if (p->partial_images != -1 && !p->stream)
		return buf_addf(err, "--partial-images: needs --stream"), -1;
	if (p->output_compression != -1 && p->output_format &&
	    !is_format(p, "jpeg") && !is_format(p, "webp"))
		return buf_addf(err, "--output-compression: only jpeg and webp are "
				"compressed, not %s; add --output-format jpeg or webp",
				p->output_format), -1;
	if (check_gif(p, err, warn) || check_svg(p, op, err, warn))
		return -1;
	if (p->background && !strcmp(p->background, "transparent") &&
	    p->output_format && !strcmp(p->output_format, "jpeg"))
		return buf_addf(err, "--background transparent: needs png or webp, "
				"not jpeg"), -1;
	if (p->safety_identifier && !*p->safety_identifier)
		return buf_addf(err, "--safety-identifier: empty; give your user's stable id "
				"(a hash) or leave it out"), -1;
	if (p->user)
		buf_addf(warn, "--user is deprecated; --safety-identifier replaces it\n");
	if (p->safety_identifier && utf8_length(p->safety_identifier,
						 strlen(p->safety_identifier)) > SAFETY_ID_MAX)
		buf_addf(warn, "--safety-identifier: longer than %d characters, which Azure "
			 "refuses (OpenAI's limit is not stated); a hash of the user's id fits\n",
			 SAFETY_ID_MAX);
	if (!m) {
		const char *near = model_suggest(p->model);
		buf_addf(warn, "--model %s is not a model imagegen knows; sending it "
			 "as given%s%s%s\n", p->model, near ? " (did you mean " : "",
			 near ? near : "", near ? "?)" : "");
		return 0;
	}
	return check_known_model(m, p, op, err, warn);
}

int params_check_life(const struct img_params *p, bool at_openai, bool allow_retired,
		      time_t now, struct buf *err, struct buf *warn)
{
	const struct model *m = model_find(p->model ? p->model : DEFAULT_MODEL);
	enum model_life life = m ? model_life(m, now) : MODEL_ACTIVE;

	if (life == MODEL_ACTIVE)
		return 0;
	if (life == MODEL_DEPRECATED) {
		buf_addf(warn, "--model %s is deprecated: OpenAI shuts it down on %s; use %s\n",
			 m->name, m->shutdown, m->replacement);
		return 0;
	}
	if (at_openai && !allow_retired) {
		buf_addf(err, "--model %s was shut down at OpenAI on %s; use %s (or "
			 "--allow-retired for an account that still has it)", m->name,
			 m->shutdown, m->replacement);
		return -1;
	}
	buf_addf(warn, "--model %s was shut down at OpenAI on %s (use %s); sending it to "
		 "this server anyway\n", m->name, m->shutdown, m->replacement);
	return 0;
}
