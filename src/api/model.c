#include "model.h"

#include <stdio.h>
#include <string.h>

/* Rows from ../shared/reference/images-api-2026-11.md (late November 2026):
 * ids, status and shutdown dates from §1.2; sizes from §2.2; qualities,
 * complexity, transparency and formats from §2.0-§2.1; input_fidelity and
 * markup from §3.2-§3.3. Sunburst leans to detail, Flare to speed. */

static const char *const fixed_sizes[] = {
	"1024x1024", "1536x1024", "1024x1536", "auto", NULL
};
static const char *const dalle2_sizes[] = { "256x256", "512x512", "1024x1024", NULL };
static const char *const dalle3_sizes[] = { "1024x1024", "1792x1024", "1024x1792", NULL };

static const char *const gpt_qualities[] = { "low", "medium", "high", "auto", NULL };
static const char *const gpt25_qualities[] = {
	"low", "medium", "high", "xhigh", "max", "auto", NULL
};
static const char *const dalle2_qualities[] = { "standard", "auto", NULL };
static const char *const dalle3_qualities[] = { "standard", "hd", "auto", NULL };

static const char *const raster_formats[] = { "png", "jpeg", "webp", NULL };
static const char *const gpt26_formats[] = { "png", "jpeg", "webp", "gif", "svg", NULL };
static const char *const png_only[] = { "png", NULL };

static const char *const high_low[] = { "high", "low", NULL };
static const char *const low_only[] = { "low", NULL };

/* gpt-image-2 and later (§2.2): 16-px steps, edge at most 3840, 3:1 at most,
 * 655,360 to 8,294,400 pixels; above 2560x1440 experimental. */
static const struct size_rules flexible_sizes = {
	.multiple = 16,
	.max_edge = 3840,
	.max_ratio = 3,
	.min_pixels = 655360,
	.max_pixels = 8294400,
	.experimental_pixels = 2560L * 1440,
};

#define GPT_IMAGE(id, off, instead, src, fixed, flex, quals, transp, fmts, cplx, fid, mark) { \
	.name = (id), .family = FAMILY_GPT_IMAGE, .shutdown = (off),	\
	.replacement = (instead), .source = (src), .max_prompt = 32000,	\
	.max_n = 10, .sizes = (fixed), .flexible = (flex),		\
	.qualities = (quals), .default_size = "auto",			\
	.default_quality = "medium", .transparent = (transp),		\
	.formats = (fmts), .complexity = (cplx), .fidelities = (fid),	\
	.markup = (mark), .edits = true, .variations = false }

#define GPT26(id) GPT_IMAGE(id, NULL, NULL, "reference §1.2, §2.0 (2.6)", NULL,	\
			    &flexible_sizes, gpt25_qualities, SUPPORT_YES,		\
			    gpt26_formats, true, NULL, true)
#define GPT25(id) GPT_IMAGE(id, NULL, NULL, "reference §1.2, §2.0 (2.5)", NULL,	\
			    &flexible_sizes, gpt25_qualities, SUPPORT_YES,		\
			    raster_formats, false, NULL, false)
#define GPT2(id) GPT_IMAGE(id, NULL, NULL, "reference §1.2, §2.0 (gpt-image-2)", NULL,	\
			   &flexible_sizes, gpt_qualities, SUPPORT_PREVIEW,		\
			   raster_formats, false, NULL, false)
#define GPT1(id, off, instead, fid) GPT_IMAGE(id, off, instead,			\
			   "reference §1.2, §2.0, §3.2 (1.x)", fixed_sizes, NULL,	\
			   gpt_qualities, SUPPORT_YES, raster_formats, false, fid, false)

#define TO_26 "gpt-image-2.6-sunburst or gpt-image-2.6-flare"
#define TO_25 "gpt-image-2.5-sunburst or gpt-image-2.5-flare"

static const struct model models[] = {
	GPT26("gpt-image-2.6-sunburst"),
	GPT26("gpt-image-2.6-flare"),
	GPT25("gpt-image-2.5-sunburst"),
	GPT25("gpt-image-2.5-sunburst-2026-09-08"),
	GPT25("gpt-image-2.5-flare"),
	GPT25("gpt-image-2.5-flare-2026-09-08"),
	GPT2("gpt-image-2"),
	GPT2("gpt-image-2-2026-04-21"),
	GPT1("gpt-image-1.5", "2026-12-01", TO_26, high_low),
	GPT1("gpt-image-1.5-2025-12-16", "2026-12-01", TO_26, high_low),
	GPT1("chatgpt-image-latest", "2026-12-01", TO_26, high_low),
	GPT1("gpt-image-1-mini", "2026-12-01", TO_26, low_only),
	GPT1("gpt-image-1", "2026-10-23", TO_25, high_low),
	{
		.name = "dall-e-3", .family = FAMILY_DALLE3, .shutdown = "2026-05-12",
		.replacement = "gpt-image-2.5-sunburst", .source = "reference §1.2",
		.max_prompt = 4000, .max_n = 1, .sizes = dalle3_sizes,
		.qualities = dalle3_qualities, .default_size = "1024x1024",
		.formats = png_only, .edits = false, .variations = false,
	},
	{
		.name = "dall-e-2", .family = FAMILY_DALLE2, .shutdown = "2026-05-12",
		.replacement = "gpt-image-2.5-sunburst (edits replace variations)",
		.source = "reference §1.2, §5.2", .max_prompt = 1000, .max_n = 10,
		.sizes = dalle2_sizes, .qualities = dalle2_qualities,
		.default_size = "1024x1024", .formats = png_only, .edits = true,
		.variations = true,
	},
};

const struct model *model_find(const char *name)
{
	for (size_t i = 0; name && i < sizeof(models) / sizeof(models[0]); i++)
		if (!strcmp(models[i].name, name))
			return &models[i];
	return NULL;
}

const struct model *model_table(size_t *n)
{
	*n = sizeof(models) / sizeof(models[0]);
	return models;
}

bool model_is_gpt(const struct model *m)
{
	return m && m->family == FAMILY_GPT_IMAGE;
}

/* "YYYY-MM-DD" as the Unix time of its first second (UTC), or -1. */
static time_t day_start(const char *date)
{
	struct tm tm;
	int y, mo, d;

	if (!date || sscanf(date, "%4d-%2d-%2d", &y, &mo, &d) != 3 || mo < 1 || mo > 12 ||
	    d < 1 || d > 31)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	return timegm(&tm);
}

enum model_life model_life(const struct model *m, time_t now)
{
	time_t off = day_start(m->shutdown);

	if (off < 0)
		return MODEL_ACTIVE;
	return now >= off ? MODEL_SHUT_DOWN : MODEL_DEPRECATED;
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
