/* What a job costs: estimated before it is sent, and computed from the
 * usage it was answered with, at the prices of env->prices. */
#include "cost.h"

#include <string.h>

#include "config.h"

#include "history.h"
#include "job_internal.h"

#define NO_TABLE "no price table was found beside the binary or in " \
	IMAGEGEN_DATADIR "; IMAGEGEN_PRICES names one"

void cost_estimate_params(const struct price_table *t, const struct img_params *p,
			  const char *prompt, long input_tokens, bool batch, struct history *h,
			  struct cost *c)
{
	struct estimate_in in = {
		.quality = p->quality, .size = p->size, .n = p->n,
		.partials = p->partial_images > 0 ? p->partial_images : 0,
		.prompt_chars = prompt ? (long)strlen(prompt) : 0,
		.input_image_tokens = input_tokens, .batch = batch,
		.input_w = p->input_width, .input_h = p->input_height,
	};
	const struct price_row *row = t ? price_find(t, p->model) : NULL;

	if (!t || (!t->bundled && !t->user)) {
		*c = (struct cost){ 0, COST_UNKNOWN, NO_TABLE };
		return;
	}
	price_estimate(row, &in, c, NULL);
	/* No rule or price, or a rule borrowed from gpt-image-2: what images
	 * like it cost before, if any, says more. */
	if ((c->basis != COST_UNKNOWN && !(c->basis == COST_RULE && c->why)) || !row || !h)
		return;
	struct cost_history seen = history_tokens(h, p->model, p->quality, p->size);
	if (!seen.images)
		return;
	in.history_tokens = seen.tokens;
	in.history_images = seen.images;
	in.prefer_history = true;
	price_estimate(row, &in, c, NULL);
}

void job_estimate(struct job *job, long input_tokens)
{
	job->input_tokens = input_tokens;
	cost_estimate_params(job->env->prices, &job->params, job->prompt, input_tokens,
			     job->env->batch_api, job->env->history, &job->estimate);
}

void job_price(struct job *job)
{
	const struct price_table *t = job->env->prices;
	const char *quality = json_string_value(json_object_get(job->response, "quality"));
	const char *size = job->size ? job->size : job->params.size;

	if (!t || (!t->bundled && !t->user)) {
		job->cost = (struct cost){ 0, COST_UNKNOWN, NO_TABLE };
		return;
	}
	size_t images = json_array_size(json_object_get(job->response, "data"));

	/* Billed for the images that came (a short answer), else for those asked. */
	if (!images || images > job->names.n)
		images = job->names.n;
	price_cost(price_find(t, job->params.model), &job->usage,
		   quality ? quality : job->params.quality, size, (long)images,
		   job->env->batch_api, &job->cost);
	if (job->cut_short && job->cost.basis != COST_UNKNOWN) {
		if (job->estimate.basis == COST_UNKNOWN) {
			job->cost = (struct cost){ 0, COST_UNKNOWN, "an earlier answer was cut short "
				"after it was billed, and its cost cannot be estimated" };
			return;
		}
		job->cost.usd += job->estimate.usd * job->cut_short;
		job->cost.why = "with the answers cut short and retried, at their estimate";
	}
}

json_t *cost_json(const struct price_table *t, const char *model, const struct cost *c)
{
	const struct price_row *row = t ? price_find(t, model) : NULL;
	json_t *o = json_object();

	json_object_set_new(o, "usd", c->basis == COST_UNKNOWN ? json_null() : json_real(c->usd));
	json_object_set_new(o, "basis", json_string(price_basis_name(c->basis)));
	if (c->why)
		json_object_set_new(o, c->basis == COST_UNKNOWN ? "why" : "note",
				    json_string(c->why));
	if (c->bound && c->basis != COST_UNKNOWN)
		json_object_set_new(o, "upper_bound", json_true());
	if (row) {
		json_object_set_new(o, "prices", json_string(row->read ? row->read :
							      t->date ? t->date : "undated"));
		if (row->user)
			json_object_set_new(o, "user_prices", json_true());
	}
	return o;
}

json_t *job_cost_json(const struct job *job)
{
	const struct price_table *t = job->env->prices;
	json_t *o = cost_json(t, job->params.model, &job->cost);

	/* imagegen's figure from the usage and the table, not the invoice. */
	json_object_set_new(o, "estimate", json_true());
	if (job->env->batch_api)
		json_object_set_new(o, "batch_api", json_true());
	json_object_set_new(o, "before_sending", cost_json(t, job->params.model, &job->estimate));
	json_object_del(json_object_get(o, "before_sending"), "prices");
	json_object_del(json_object_get(o, "before_sending"), "user_prices");
	return o;
}

const char *cost_text(const struct cost *c, char out[64])
{
	char usd[32];

	if (c->basis == COST_UNKNOWN)
		snprintf(out, 64, "cost unknown");
	else
		snprintf(out, 64, "%s", price_format(c->usd, usd));
	return out;
}

char *cost_describe(const struct price_table *t, const char *model, const struct cost *c)
{
	const struct price_row *row = t ? price_find(t, model) : NULL;
	const char *date = row && row->read ? row->read : t ? t->date : NULL;
	char usd[32];

	if (c->basis == COST_UNKNOWN)
		return xasprintf("cost unknown (%s)", c->why ? c->why : "no price");
	return xasprintf("%s%s (%s%s%s%s%s%s%s%s)", c->bound ? "at most " : "",
			 price_format(c->usd, usd), price_basis_name(c->basis), c->why ? ", " : "",
			 c->why ? c->why : "", c->bound ? ", " : "", c->bound ? c->bound : "",
			 date ? "; prices of " : "", date ? date : "",
			 row && row->user ? ", yours" : "");
}
