#include "model.h"

#include <stdio.h>
#include <string.h>

static const char *const gpt_sizes[] = {
	"1024x1024", "1536x1024", "1024x1536", "auto", NULL
};
static const char *const dalle2_sizes[] = {
	"256x256", "512x512", "1024x1024", NULL
};
static const char *const dalle3_sizes[] = {
	"1024x1024", "1792x1024", "1024x1792", NULL
};
static const char *const gpt_qualities[] = { "low", "medium", "high", "auto", NULL };
static const char *const dalle2_qualities[] = { "standard", "auto", NULL };
static const char *const dalle3_qualities[] = { "standard", "hd", "auto", NULL };

/* gpt-image-2: from the size description in the API reference. */
static const struct size_rules gpt2_sizes = {
	.multiple = 16,
	.max_edge = 3840,
	.max_ratio = 3,
	.min_pixels = 655360,
	.max_pixels = 8294400,
	.experimental_pixels = 2560L * 1440,
};

#define GPT_IMAGE(id, fixed, flex, transp, preview, fidelity) {	\
	.name = (id), .family = FAMILY_GPT_IMAGE, .max_prompt = 32000,	\
	.max_n = 10, .sizes = (fixed), .flexible = (flex),		\
	.qualities = gpt_qualities, .default_size = "auto",		\
	.default_quality = "medium", .transparent = (transp),		\
	.transparent_preview = (preview), .input_fidelity = (fidelity),	\
	.edits = true, .variations = false }

static const struct model models[] = {
	GPT_IMAGE("gpt-image-2", NULL, &gpt2_sizes, true, true, false),
	GPT_IMAGE("gpt-image-2-2026-04-21", NULL, &gpt2_sizes, true, true, false),
	GPT_IMAGE("gpt-image-1.5", gpt_sizes, NULL, true, false, true),
	GPT_IMAGE("gpt-image-1", gpt_sizes, NULL, true, false, true),
	GPT_IMAGE("gpt-image-1-mini", gpt_sizes, NULL, true, false, true),
	{
		.name = "dall-e-3", .family = FAMILY_DALLE3, .max_prompt = 4000,
		.max_n = 1, .sizes = dalle3_sizes, .qualities = dalle3_qualities,
		.default_size = "1024x1024", .edits = false, .variations = false,
	},
	{
		.name = "dall-e-2", .family = FAMILY_DALLE2, .max_prompt = 1000,
		.max_n = 10, .sizes = dalle2_sizes, .qualities = dalle2_qualities,
		.default_size = "1024x1024", .edits = true, .variations = true,
	},
};

const struct model *model_find(const char *name)
{
	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++)
		if (!strcmp(models[i].name, name))
			return &models[i];
	return NULL;
}

bool model_is_gpt(const struct model *m)
{
	return m && m->family == FAMILY_GPT_IMAGE;
}

const char *model_size_list(const struct model *m)
{
	static char list[128];
	size_t len = 0;

	list[0] = '\0';
	for (const char *const *s = m->sizes; s && *s; s++) {
		int n = snprintf(list + len, sizeof(list) - len, "%s%s",
				 len ? ", " : "", *s);
		if (n < 0 || (size_t)n >= sizeof(list) - len)
			break;
		len += (size_t)n;
	}
	return list;
}
