#include "price.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#define MAX_TABLE_BYTES (4u << 20)
/* No price is above this (a rate per 1M tokens, or one image): a larger one
 * is a typo, and would make sums overflow. */
#define MAX_PRICE 1e6

void usage_parse(struct usage *u, json_t *usage)
{
	json_t *in = json_object_get(usage, "input_tokens_details");
	json_t *out = json_object_get(usage, "output_tokens_details");

	if (!json_is_object(usage))
		return;
	u->present = true;
	u->input = (long)json_integer_value(json_object_get(usage, "input_tokens"));
	u->output = (long)json_integer_value(json_object_get(usage, "output_tokens"));
	u->total = (long)json_integer_value(json_object_get(usage, "total_tokens"));
	u->input_split = json_is_object(in);
	u->input_text = (long)json_integer_value(json_object_get(in, "text_tokens"));
	u->input_image = (long)json_integer_value(json_object_get(in, "image_tokens"));
	u->cached = (long)json_integer_value(json_object_get(in, "cached_tokens"));
	u->output_split = json_is_object(out);
	u->output_image = (long)json_integer_value(json_object_get(out, "image_tokens"));
	u->output_text = (long)json_integer_value(json_object_get(out, "text_tokens"));
}

void usage_add(struct usage *a, const struct usage *b)
{
	if (!b->present)
		return;
	/* A sum keeps a split only when every part had it. */
	a->input_split = (a->present ? a->input_split : true) && b->input_split;
	a->output_split = (a->present ? a->output_split : true) && b->output_split;
	a->present = true;
	a->input += b->input;
	a->output += b->output;
	a->total += b->total;
	a->input_text += b->input_text;
	a->input_image += b->input_image;
	a->cached += b->cached;
	a->output_image += b->output_image;
	a->output_text += b->output_text;
	a->partial_images += b->partial_images;
}

/* --- the table ---------------------------------------------------------- */

static void row_release(struct price_row *r)
{
	free(r->model);
	for (size_t i = 0; i < r->nsnapshots; i++)
		free(r->snapshots[i]);
	free(r->snapshots);
	for (size_t i = 0; i < r->neach; i++) {
		free(r->each[i].quality);
		free(r->each[i].size);
	}
	free(r->each);
	free(r->source);
	free(r->read);
	memset(r, 0, sizeof(*r));
}

void price_table_release(struct price_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		row_release(&t->rows[i]);
	free(t->rows);
	free(t->date);
	free(t->bundled);
	free(t->user);
	memset(t, 0, sizeof(*t));
}

static bool has_name(const struct price_row *r, const char *model)
{
	if (!strcmp(r->model, model))
		return true;
	for (size_t i = 0; i < r->nsnapshots; i++)
		if (!strcmp(r->snapshots[i], model))
			return true;
	return false;
}

const struct price_row *price_find(const struct price_table *t, const char *model)
{
	/* Later rows (the user's) come first: they replace bundled ones. */
	for (size_t i = t->n; model && i-- > 0;)
		if (has_name(&t->rows[i], model))
			return &t->rows[i];
	return NULL;
}

/* A rate: a number of dollars at least 0, or null (unknown). */
static int read_rate(json_t *v, double *out)
{
	if (!v || json_is_null(v)) {
		*out = -1;
		return 0;
	}
	if (!json_is_number(v) || !(json_number_value(v) >= 0 && json_number_value(v) <= MAX_PRICE))
		return -1;
	*out = json_number_value(v);
	return 0;
}

static const char *const rate_keys[] = {
	"text_input", "cached_text_input", "image_input", "cached_image_input", "image_output",
	"text_output",
};

static int read_tokens(struct price_row *r, json_t *tokens, struct buf *why)
{
	double *rates[] = { &r->text_in, &r->cached_text_in, &r->image_in, &r->cached_image_in,
			    &r->image_out, &r->text_out };
	const char *key;
	json_t *v;

	for (size_t i = 0; i < ARRAY_SIZE(rates); i++)
		*rates[i] = -1;
	if (!tokens || json_is_null(tokens))
		return 0;
	if (!json_is_object(tokens)) {
		buf_addf(why, "\"tokens\" must be an object of rates or null");
		return -1;
	}
	json_object_foreach(tokens, key, v) {
		size_t i = 0;
		while (i < ARRAY_SIZE(rate_keys) && strcmp(rate_keys[i], key))
			i++;
		if (i == ARRAY_SIZE(rate_keys)) {
			buf_addf(why, "unknown rate \"%s\" in \"tokens\" (known: text_input, "
				 "cached_text_input, image_input, cached_image_input, "
				 "image_output, text_output)", key);
			return -1;
		}
		if (read_rate(v, rates[i])) {
			buf_addf(why, "\"%s\" must be dollars per 1M tokens (a number from 0 "
				 "to 1000000) or null", key);
			return -1;
		}
	}
	return 0;
}

static int read_per_image(struct price_row *r, json_t *per, struct buf *why)
{
	const char *quality, *size;
	json_t *sizes, *v;

	if (!per || json_is_null(per))
		return 0;
	if (!json_is_object(per)) {
		buf_addf(why, "\"per_image\" must map each quality to {size: dollars}");
		return -1;
	}
	json_object_foreach(per, quality, sizes) {
		if (!json_is_object(sizes)) {
			buf_addf(why, "\"per_image\".\"%s\" must map each size to dollars", quality);
			return -1;
		}
		json_object_foreach(sizes, size, v) {
			struct price_each *e;
			if (!json_is_number(v) || !(json_number_value(v) >= 0 &&
						     json_number_value(v) <= MAX_PRICE)) {
				buf_addf(why, "\"per_image\".\"%s\".\"%s\" must be dollars (a number "
					 "from 0 to 1000000)", quality, size);
				return -1;
			}
			e = realloc(r->each, (r->neach + 1) * sizeof(*r->each));
			if (!e)
				return -1;
			r->each = e;
			e[r->neach++] = (struct price_each){ xstrdup(quality), xstrdup(size),
							    json_number_value(v) };
		}
	}
	return 0;
}

static int read_strings(struct price_row *r, json_t *list, struct buf *why)
{
	size_t i;
	json_t *v;

	if (!list)
		return 0;
	if (!json_is_array(list)) {
		buf_addf(why, "\"snapshots\" must be a list of model ids");
		return -1;
	}
	r->snapshots = xcalloc(json_array_size(list) + 1, sizeof(char *));
	json_array_foreach(list, i, v) {
		if (!json_is_string(v)) {
			buf_addf(why, "\"snapshots\" must be a list of model ids");
			return -1;
		}
		r->snapshots[r->nsnapshots++] = xstrdup(json_string_value(v));
	}
	return 0;
}

static const char *const row_keys[] = {
	"model", "snapshots", "tokens", "per_image", "estimate", "batch_discount", "source",
	"read", "note",
};

static int read_row(struct price_row *r, json_t *o, struct buf *why)
{
	json_t *est = json_object_get(o, "estimate");
	json_t *discount = json_object_get(o, "batch_discount");
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v) {
		size_t i = 0;
		while (i < ARRAY_SIZE(row_keys) && strcmp(row_keys[i], key))
			i++;
		if (i == ARRAY_SIZE(row_keys)) {
			buf_addf(why, "unknown key \"%s\"", key);
			return -1;
		}
	}
	if (!json_is_string(json_object_get(o, "model")) ||
	    !*json_string_value(json_object_get(o, "model"))) {
		buf_addf(why, "\"model\" must name the model");
		return -1;
	}
	r->model = xstrdup(json_string_value(json_object_get(o, "model")));
	if (read_strings(r, json_object_get(o, "snapshots"), why) ||
	    read_tokens(r, json_object_get(o, "tokens"), why) ||
	    read_per_image(r, json_object_get(o, "per_image"), why))
		return -1;
	if (!est || json_is_null(est))
		r->rule = RULE_NONE;
	else if (json_is_string(est) && !strcmp(json_string_value(est), "gpt-image-2"))
		r->rule = RULE_GPT_IMAGE_2;
	else if (json_is_string(est) && !strcmp(json_string_value(est), "per_image"))
		r->rule = RULE_PER_IMAGE;
	else {
		buf_addf(why, "\"estimate\" must be \"gpt-image-2\", \"per_image\" or null");
		return -1;
	}
	if (read_rate(discount, &r->batch_discount) || r->batch_discount > 1) {
		buf_addf(why, "\"batch_discount\" must be a share from 0 to 1 (0.5 is half off) "
			 "or null");
		return -1;
	}
	r->source = json_is_string(json_object_get(o, "source")) ?
		    xstrdup(json_string_value(json_object_get(o, "source"))) : NULL;
	r->read = json_is_string(json_object_get(o, "read")) ?
		  xstrdup(json_string_value(json_object_get(o, "read"))) : NULL;
	return 0;
}

/* Puts row into t, in place of a row for the same model. */
static void put_row(struct price_table *t, struct price_row *row)
{
	for (size_t i = 0; i < t->n; i++) {
		if (!strcmp(t->rows[i].model, row->model)) {
			row_release(&t->rows[i]);
			memmove(&t->rows[i], &t->rows[i + 1], (t->n - i - 1) * sizeof(*t->rows));
			t->n--;
			break;
		}
	}
	t->rows[t->n++] = *row;
	memset(row, 0, sizeof(*row));
}

int price_table_parse(struct price_table *t, const char *text, const char *file, bool user,
		      struct buf *err)
{
	json_error_t jerr;
	json_t *root = json_loads(text, 0, &jerr), *models, *o;
	struct price_row *rows = NULL;
	struct buf why = BUF_INIT;
	size_t i, n = 0;
	int rc = -1;

	if (!root) {
		buf_addf(err, "%s: line %d: %s", file, jerr.line, jerr.text);
		return -1;
	}
	models = json_object_get(root, "models");
	if (!json_is_array(models)) {
		buf_addf(err, "%s: a price table is an object with a \"models\" list", file);
		goto out;
	}
	rows = xcalloc(json_array_size(models) + 1, sizeof(*rows));
	json_array_foreach(models, i, o) {
		if (!json_is_object(o)) {
			buf_addf(err, "%s: models[%zu] must be an object", file, i);
			goto out;
		}
		rows[n].user = user;
		if (read_row(&rows[n++], o, &why)) {
			const char *m = json_string_value(json_object_get(o, "model"));
			buf_addf(err, "%s: models[%zu]%s%s%s: %s", file, i, m ? " (" : "",
				 m ? m : "", m ? ")" : "", why.data ? why.data : "out of memory");
			goto out;
		}
	}
	/* Every row read: only now is the table changed. */
	struct price_row *grown = realloc(t->rows, (t->n + n + 1) * sizeof(*t->rows));
	if (!grown)
		goto out;
	t->rows = grown;
	for (i = 0; i < n; i++)
		put_row(t, &rows[i]);
	if (!user && json_is_string(json_object_get(root, "date"))) {
		free(t->date);
		t->date = xstrdup(json_string_value(json_object_get(root, "date")));
	}
	rc = 0;
out:
	for (i = 0; rows && i < n; i++)
		row_release(&rows[i]);
	free(rows);
	buf_release(&why);
	json_decref(root);
	return rc;
}

/* Reads and parses path into t; a missing file is 0 when optional. */
static int load_file(struct price_table *t, const char *path, bool user, bool optional,
		     char **read_path, struct buf *err)
{
	struct buf text = BUF_INIT;
	struct stat st;
	int rc;

	/* Absent, or where this user may not even look (another's home): none. */
	if (optional && stat(path, &st) && (errno == ENOENT || errno == ENOTDIR ||
					    errno == EACCES))
		return 0;
	if (read_file(path, MAX_TABLE_BYTES, &text)) {
		if (optional && errno == ENOENT)
			return 0;
		buf_addf(err, "cannot read the price table %s: %s", path,
			 errno == EFBIG ? "larger than 4 MiB" : strerror(errno));
		return -1;
	}
	rc = price_table_parse(t, text.data ? text.data : "", path, user, err);
	if (rc == 0)
		*read_path = xstrdup(path);
	buf_release(&text);
	return rc;
}

/* The bundled table: beside the binary in a build tree, under share/ beside
 * its bin/ folder when installed anywhere, or where it was installed. */
static char *bundled_path(void)
{
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (len > 0) {
		exe[len] = '\0';
		char *dir = path_dirname(exe);
		char *candidates[] = {
			xasprintf("%s/prices.json", dir),
			xasprintf("%s/../share/imagegen/prices.json", dir),
		};
		char *found = NULL;
		for (size_t i = 0; i < ARRAY_SIZE(candidates); i++) {
			if (!found && path_exists(candidates[i]))
				found = candidates[i];
			else
				free(candidates[i]);
		}
		free(dir);
		if (found)
			return found;
	}
	return xstrdup(IMAGEGEN_DATADIR "/prices.json");
}

int price_table_load(struct price_table *t, const char *(*env)(const char *name),
		     struct buf *err)
{
	const char *named = env("IMAGEGEN_PRICES");
	const char *config = env("XDG_CONFIG_HOME"), *home = home_dir(env);
	char *bundled = named && *named ? xstrdup(named) : bundled_path();
	char *user = NULL;
	int rc;

	rc = load_file(t, bundled, false, !(named && *named), &t->bundled, err);
	free(bundled);
	if (rc)
		return -1;
	if (config && *config == '/')
		user = xasprintf("%s/imagegen/prices.json", config);
	else if (home)
		user = xasprintf("%s/.config/imagegen/prices.json", home);
	rc = user ? load_file(t, user, true, true, &t->user, err) : 0;
	free(user);
	return rc;
}

/* --- costs ---------------------------------------------------------------- */

static double per_million(long tokens, double rate)
{
	return tokens * rate / 1e6;
}

/* The row's price for one image of quality and size, or -1. A row with one
 * quality (dall-e-2) prices every quality the same. */
static double each_price(const struct price_row *r, const char *quality, const char *size)
{
	const char *only = r->neach ? r->each[0].quality : NULL;

	for (size_t i = 1; only && i < r->neach; i++)
		if (strcmp(r->each[i].quality, only))
			only = NULL;
	for (size_t i = 0; size && i < r->neach; i++)
		if ((only || (quality && !strcmp(r->each[i].quality, quality))) &&
		    !strcmp(r->each[i].size, size))
			return r->each[i].usd;
	return -1;
}

/* The usage's cost at the row's rates, or -1 when a rate it needs is unknown. */
static double usage_usd(const struct price_row *r, const struct usage *u)
{
	long text = u->input_split ? u->input_text : u->input;
	long image = u->input_split ? u->input_image : 0;
	long cached = u->cached < 0 ? 0 : u->cached;
	long cached_text = cached < text ? cached : text;
	long cached_image = cached - cached_text < image ? cached - cached_text : image;
	long out_image = (u->output_split ? u->output_image : u->output) +
			 u->partial_images * PARTIAL_IMAGE_TOKENS;
	long out_text = u->output_split ? u->output_text : 0;
	const struct { long tokens; double rate; } parts[] = {
		{ text - cached_text, r->text_in },
		{ cached_text, r->cached_text_in >= 0 ? r->cached_text_in : r->text_in },
		{ image - cached_image, r->image_in },
		{ cached_image, r->cached_image_in >= 0 ? r->cached_image_in : r->image_in },
		{ out_image, r->image_out },
		{ out_text, r->text_out },
	};
	double usd = 0;

	for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
		if (parts[i].tokens <= 0)
			continue;
		if (parts[i].rate < 0)
			return -1;
		usd += per_million(parts[i].tokens, parts[i].rate);
	}
	return usd;
}

/* The quality a request without one is billed at: the API's default,
 * "standard", on a row priced by it (dall-e); NULL otherwise. */
static const char *unsent_quality(const struct price_row *r)
{
	for (size_t i = 0; i < r->neach; i++)
		if (!strcmp(r->each[i].quality, "standard"))
			return "standard";
	return NULL;
}

static void discount(const struct price_row *r, bool batch, struct cost *c)
{
	if (!batch || c->basis == COST_UNKNOWN)
		return;
	if (r->batch_discount < 0) {
		*c = (struct cost){ 0, COST_UNKNOWN, "the price table has no Batch discount "
			"for this model" };
		return;
	}
	c->usd *= 1 - r->batch_discount;
}

void price_cost(const struct price_row *row, const struct usage *u, const char *quality,
		const char *size, long images, bool batch, struct cost *c)
{
	double usd, each;

	*c = (struct cost){ 0, COST_UNKNOWN, "the price table has no row for this model" };
	if (!row)
		return;
	if (u->present && (usd = usage_usd(row, u)) >= 0) {
		*c = (struct cost){ usd, COST_USAGE, NULL };
	} else if ((each = each_price(row, quality ? quality : unsent_quality(row), size)) >= 0) {
		*c = (struct cost){ each * (double)images, COST_PER_IMAGE, NULL };
	} else {
		c->why = u->present ? "the price table lacks a rate this usage needs, and a "
				      "per-image price for its quality and size" :
				      "no usage was reported, and the price table has no "
				      "per-image price for its quality and size";
		return;
	}
	discount(row, batch, c);
}

long price_rule_tokens(const char *quality, int w, int h)
{
	int q = !quality ? 0 : !strcmp(quality, "low") ? 16 : !strcmp(quality, "medium") ? 48 :
		!strcmp(quality, "high") ? 96 : 0;
	long shortest = w < h ? w : h, longest = w < h ? h : w, tiles;

	if (!q || w <= 0 || h <= 0)
		return -1;
	tiles = (2L * q * shortest + longest) / (2 * longest);
	/* ceil(q * tiles * (2,000,000 + W*H) / 4,000,000) in integers */
	long long num = (long long)q * tiles * (2000000LL + (long long)w * h);
	return (long)((num + 3999999) / 4000000);
}

long price_input_tokens(int w, int h)
{
	double scale, sw, sh;

	if (w <= 0 || h <= 0)
		w = h = 1024;
	scale = 2048.0 / (w > h ? w : h);
	if (scale > 1)
		scale = 1;
	sw = w * scale;
	sh = h * scale;
	if ((sw < sh ? sw : sh) > 768) {
		double s = 768.0 / (sw < sh ? sw : sh);
		sw *= s;
		sh *= s;
	}
	return 85 + 170L * (long)ceil(sw / 512 - 1e-9) * (long)ceil(sh / 512 - 1e-9);
}

/* The sizes "auto" may choose on a fixed-size model. Where the estimate
 * cannot tell which, it takes the costliest, and says it is an upper bound. */
static const char *const auto_sizes[] = { "1024x1024", "1536x1024", "1024x1536" };

static int parse_size(const char *size, int *w, int *h)
{
	char tail;

	return size && sscanf(size, "%dx%d%c", w, h, &tail) == 2 && *w > 0 && *h > 0 ? 0 : -1;
}

static bool is_auto(const char *size)
{
	return !size || !strcmp(size, "auto");
}

void price_auto_edit_size(int w, int h, int *out_w, int *out_h)
{
	double ratio = (double)w / h;

	ratio = ratio > 3 ? 3 : ratio < 1.0 / 3 ? 1.0 / 3 : ratio;
	/* Halves to even (rint), as the stand-in's Python round() does. */
	*out_w = (int)rint(sqrt(1024.0 * 1024.0 * ratio) / 16) * 16;
	*out_h = (int)rint(*out_w / ratio / 16) * 16;
	*out_w = *out_w < 16 ? 16 : *out_w;
	*out_h = *out_h < 16 ? 16 : *out_h;
}

/* The fixed size nearest an edit's input's shape (the 1.x models' auto). */
static const char *nearest_auto_size(int w, int h)
{
	const char *best = auto_sizes[0];
	double least = INFINITY;

	for (size_t i = 0; i < ARRAY_SIZE(auto_sizes); i++) {
		int sw, sh;
		parse_size(auto_sizes[i], &sw, &sh);
		double d = fabs(log((double)w / h) - log((double)sw / sh));
		if (d < least) {
			least = d;
			best = auto_sizes[i];
		}
	}
	return best;
}

/* Output tokens of one image by the rule: size auto on an edit at its
 * input's shape, else at the costliest size (*most set); -1 when the rule
 * cannot say. */
static long rule_tokens(const char *quality, const char *size, const struct estimate_in *in,
			bool *most)
{
	int w, h;
	long t, top = -1;

	if (!is_auto(size))
		return parse_size(size, &w, &h) ? -1 : price_rule_tokens(quality, w, h);
	if (in->input_w > 0 && in->input_h > 0) {
		price_auto_edit_size(in->input_w, in->input_h, &w, &h);
		return price_rule_tokens(quality, w, h);
	}
	for (size_t i = 0; i < ARRAY_SIZE(auto_sizes); i++) {
		parse_size(auto_sizes[i], &w, &h);
		t = price_rule_tokens(quality, w, h);
		top = t > top ? t : top;
	}
	*most = top >= 0;
	return top;
}

/* The per-image price: size auto on an edit at the fixed size nearest its
 * input's shape, else at the costliest (*most set); -1 when none. */
static double each_price_any(const struct price_row *r, const char *quality,
			     const struct estimate_in *in, bool *most)
{
	double top = -1;

	if (!is_auto(in->size))
		return each_price(r, quality, in->size);
	if (in->input_w > 0 && in->input_h > 0)
		return each_price(r, quality, nearest_auto_size(in->input_w, in->input_h));
	for (size_t i = 0; i < ARRAY_SIZE(auto_sizes); i++) {
		double p = each_price(r, quality, auto_sizes[i]);
		top = p > top ? p : top;
	}
	*most = top >= 0;
	return top;
}

/* Why an estimate is an upper bound: the size or the quality "auto" taken
 * at the most it may cost. */
static const char *bound_why(bool size, bool quality)
{
	if (size && quality)
		return "size auto at its costliest and quality auto at high";
	return size ? "size auto at its costliest" : quality ? "quality auto at high" : NULL;
}

void price_estimate(const struct price_row *row, const struct estimate_in *in,
		    struct cost *c, long *tokens)
{
	/* "auto" quality may pick high: estimate the most it may cost. */
	const char *quality = in->quality && strcmp(in->quality, "auto") ? in->quality :
			      row && !in->quality && unsent_quality(row) ? unsent_quality(row) :
			      "high";
	bool high = (!in->quality || !strcmp(in->quality, "auto")) && !strcmp(quality, "high");
	long n = in->n > 0 ? in->n : 1, per_image = -1;
	struct usage u = { .present = true, .input_split = true, .output_split = true };
	bool most = false, by_history = in->prefer_history && in->history_images > 0;
	double each;

	*c = (struct cost){ 0, COST_UNKNOWN, "the price table has no row for this model", NULL };
	if (tokens)
		*tokens = -1;
	if (!row)
		return;
	if (by_history)
		per_image = in->history_tokens;
	else if (row->rule == RULE_GPT_IMAGE_2)
		per_image = rule_tokens(quality, in->size, in, &most);
	if (per_image < 0 && in->history_images > 0) {
		per_image = in->history_tokens;
		by_history = true;
	}
	u.input_text = (in->prompt_chars + 3) / 4;
	u.input_image = in->input_image_tokens;
	u.input = u.input_text + u.input_image;
	u.partial_images = in->partials * n;
	if (per_image >= 0) {
		u.output_image = u.output = per_image * n;
		double usd = usage_usd(row, &u);
		if (usd >= 0) {
			bool by_rule = !by_history;
			/* Earlier runs of the same quality and size say what
			 * it cost: no bound. */
			*c = (struct cost){ usd, by_rule ? COST_RULE : COST_HISTORY, NULL,
					    by_rule ? bound_why(most, high) : NULL };
			if (by_rule && strcmp(row->model, "gpt-image-2"))
				c->why = "gpt-image-2's rule: none is published for this model";
			if (tokens)
				*tokens = per_image * n;
			discount(row, in->batch, c);
			return;
		}
	}
	most = false;
	if ((each = each_price_any(row, quality, in, &most)) >= 0) {
		*c = (struct cost){ each * (double)n, COST_PER_IMAGE, NULL, bound_why(most, high) };
		discount(row, in->batch, c);
		return;
	}
	c->why = row->rule == RULE_GPT_IMAGE_2 ?
		 "no output-token rule is published for this quality, and no earlier run of "
		 "it is in the history" :
		 "the price table has no per-image price or rate for this quality and size";
}

const char *price_format(double usd, char out[32])
{
	snprintf(out, 32, usd < 10 ? "$%.4f" : "$%.2f", usd);
	return out;
}

const char *price_basis_name(enum cost_basis b)
{
	switch (b) {
	case COST_USAGE:
		return "from usage";
	case COST_PER_IMAGE:
		return "per-image price";
	case COST_RULE:
		return "gpt-image-2 token rule";
	case COST_HISTORY:
		return "earlier runs";
	case COST_UNKNOWN:
		break;
	}
	return "unknown";
}
