/* What a job costs: estimated before it is sent (the table's rule or
 * per-image price, or earlier runs), and computed from the usage it was
 * answered with. Both are imagegen's figures from the price table, never
 * the invoice, and say so in JSON. */
#ifndef IMAGEGEN_COST_H
#define IMAGEGEN_COST_H

#include <jansson.h>

#include "job.h"
#include "price.h"

/* Output tokens per image that earlier runs of a model, quality and size
 * averaged (the spend history), for estimates no rule covers. */
struct cost_history {
	long tokens, images;
};

struct history;

/* The estimated cost of a request with parameters p (t NULL: unknown);
 * input_tokens for an edit's inputs; where no rule or price serves, from
 * the earlier runs in history h (or NULL). */
void cost_estimate_params(const struct price_table *t, const struct img_params *p,
			  const char *prompt, long input_tokens, bool batch, struct history *h,
			  struct cost *c);
/* Sets job->estimate (and job->input_tokens). */
void job_estimate(struct job *job, long input_tokens);
/* Sets job->cost from its usage so far and the response's quality and size. */
void job_price(struct job *job);

/* {"usd", "basis", "prices": date, ...} for a cost of model ("upper_bound":
 * true for an estimate at the most it may cost); new reference. */
json_t *cost_json(const struct price_table *t, const char *model, const struct cost *c);
/* The job's cost, marked an estimate, with the estimate made before
 * sending beside it; a new reference. */
json_t *job_cost_json(const struct job *job);
/* "$0.0527 (gpt-image-2 token rule; prices of 2026-11-30)", "at most
 * $0.2107 (gpt-image-2 token rule, size auto at its costliest; ...)" for an
 * upper bound, or "cost unknown (why)"; the caller frees. */
char *cost_describe(const struct price_table *t, const char *model, const struct cost *c);
/* "$0.0527" or "cost unknown" into out. */
const char *cost_text(const struct cost *c, char out[64]);

#endif
