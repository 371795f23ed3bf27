#include "model.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
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

/* The rows of the user's models.json (each string and list owned here),
 * found before the built-in ones. */
static struct model *user_rows;
static size_t user_n;
static char **kept;                   /* every string a row points to */
static size_t kept_n;
static const char ***user_lists;      /* every quality list */
static size_t user_lists_n;

static const struct model *builtin(const char *name)
{
	for (size_t i = 0; name && i < sizeof(models) / sizeof(models[0]); i++)
		if (!strcmp(models[i].name, name))
			return &models[i];
	return NULL;
}

const struct model *model_find(const char *name)
{
	for (size_t i = 0; name && i < user_n; i++)
		if (!strcmp(user_rows[i].name, name))
			return &user_rows[i];
	return builtin(name);
}

const char *model_suggest(const char *name)
{
	size_t nb, nu;
	const struct model *b = model_table(&nb), *u = model_user_table(&nu);
	const char **names = xcalloc(nb + nu, sizeof(*names));
	const char *near;

	for (size_t i = 0; i < nu; i++)
		names[i] = u[i].name;
	for (size_t i = 0; i < nb; i++)
		names[nu + i] = b[i].name;
	near = name ? closest_name(name, names, nb + nu) : NULL;
	free(names);
	return near;
}

const struct model *model_user_table(size_t *n)
{
	*n = user_n;
	return user_rows;
}

/* A string kept for the life of the table. */
static const char *keep(const char *s)
{
	char **more = realloc(kept, (kept_n + 1) * sizeof(*kept));

	if (!more)
		abort();
	kept = more;
	return kept[kept_n++] = xstrdup(s);
}

static bool is_date(const char *s)
{
	int y, m, d;
	char tail;

	return s && strlen(s) == 10 && sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3 &&
	       m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

/* One row of models.json into *out. 0, or -1 with why in err. */
static int user_row(json_t *row, struct model *out, struct buf *err)
{
	static const char *const keys[] = { "name", "like", "shutdown", "replacement",
					    "qualities", "source" };
	const char *name = json_string_value(json_object_get(row, "name")), *key;
	const char *like = json_string_value(json_object_get(row, "like"));
	json_t *v, *qualities = json_object_get(row, "qualities");
	const struct model *base;

	if (!json_is_object(row))
		return buf_adds(err, "not an object"), -1;
	json_object_foreach(row, key, v) {
		bool known = false;
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			known |= !strcmp(key, keys[i]);
		if (!known)
			return buf_addf(err, "unknown key '%s' (name, like, shutdown, replacement, "
					"qualities, source)", key), -1;
	}
	if (!name || !*name || strlen(name) > 100 || strspn(name, "abcdefghijklmnopqrstuvwxyz"
			"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != strlen(name))
		return buf_adds(err, "\"name\": a model name (letters, digits, '.', '-', '_')"), -1;
	base = builtin(like ? like : name);
	if (!base)
		return buf_addf(err, "\"like\": %s%s%s is not a model imagegen knows (a new model "
				"takes the rules of one it knows: \"like\": \"gpt-image-2.6-flare\")",
				like ? "'" : "", like ? like : "a new model needs one; ",
				like ? "'" : ""), -1;
	*out = *base;
	out->name = keep(name);
	out->source = keep(json_string_value(json_object_get(row, "source")) ?
			   json_string_value(json_object_get(row, "source")) : "models.json");
	v = json_object_get(row, "shutdown");
	if (v && !json_is_null(v) && !is_date(json_string_value(v)))
		return buf_adds(err, "\"shutdown\": YYYY-MM-DD or null"), -1;
	if (v)
		out->shutdown = json_is_null(v) ? NULL : keep(json_string_value(v));
	v = json_object_get(row, "replacement");
	if (v && !json_is_null(v) && !json_is_string(v))
		return buf_adds(err, "\"replacement\": a model name or null"), -1;
	if (v)
		out->replacement = json_is_null(v) ? NULL : keep(json_string_value(v));
	if (qualities) {
		size_t n = json_array_size(qualities), i;
		const char **list;
		if (!json_is_array(qualities) || !n)
			return buf_adds(err, "\"qualities\": a list of names"), -1;
		list = xcalloc(n + 1, sizeof(*list));
		user_lists = realloc(user_lists, (user_lists_n + 1) * sizeof(*user_lists));
		if (!user_lists)
			abort();
		user_lists[user_lists_n++] = list;
		json_array_foreach(qualities, i, v) {
			const char *q = json_string_value(v);
			if (!q || !*q || strlen(q) > 32)
				return buf_adds(err, "\"qualities\": a list of names"), -1;
			list[i] = keep(q);
		}
		out->qualities = list;
	}
	return 0;
}

int model_load_user(const char *path, struct buf *err)
{
	json_error_t jerr;
	json_t *doc, *rows, *row;
	size_t i;

	model_release_user();
	doc = json_load_file(path, 0, &jerr);
	if (!doc) {
		FILE *f = fopen(path, "r");
		if (!f)
			return 0;   /* none: the built-in table alone */
		fclose(f);
		buf_addf(err, "%s: not JSON (%s, line %d)", path, jerr.text, jerr.line);
		return -1;
	}
	rows = json_object_get(doc, "models");
	if (!json_is_object(doc) || !json_is_array(rows) ||
	    json_integer_value(json_object_get(doc, "format")) != 1) {
		buf_addf(err, "%s: expected {\"format\": 1, \"models\": [rows]}", path);
		json_decref(doc);
		return -1;
	}
	user_rows = xcalloc(json_array_size(rows) ? json_array_size(rows) : 1,
			    sizeof(*user_rows));
	json_array_foreach(rows, i, row) {
		struct buf why = BUF_INIT;
		if (user_row(row, &user_rows[user_n], &why)) {
			const char *name = json_string_value(json_object_get(row, "name"));
			buf_addf(err, "%s: row %zu%s%s%s: %s", path, i + 1, name ? " (" : "",
				 name ? name : "", name ? ")" : "", why.data);
			buf_release(&why);
			json_decref(doc);
			model_release_user();
			return -1;
		}
		user_n++;
	}
	json_decref(doc);
	return 0;
}

void model_release_user(void)
{
	for (size_t i = 0; i < user_lists_n; i++)
		free(user_lists[i]);
	free(user_lists);
	user_lists = NULL;
	user_lists_n = 0;
	free(user_rows);
	user_rows = NULL;
	user_n = 0;
	for (size_t i = 0; i < kept_n; i++)
		free(kept[i]);
	free(kept);
	kept = NULL;
	kept_n = 0;
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
