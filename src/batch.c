#include "batch.h"

#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "naming.h"
#include "request.h"
#include "slug.h"

/* Item values win over the command line's. */
static void merge_params(struct img_params *p, const struct img_params *o)
{
	const char **strings[] = { &p->model, &p->size, &p->quality, &p->background,
				   &p->output_format, &p->moderation, &p->response_format,
				   &p->style, &p->user, &p->input_fidelity };
	const char *const *over[] = { &o->model, &o->size, &o->quality, &o->background,
				      &o->output_format, &o->moderation, &o->response_format,
				      &o->style, &o->user, &o->input_fidelity };

	for (size_t i = 0; i < ARRAY_SIZE(strings); i++)
		if (*over[i])
			*strings[i] = *over[i];
	if (o->n != -1)
		p->n = o->n;
	if (o->output_compression != -1)
		p->output_compression = o->output_compression;
}

/* prompt_fields is a row of strings; merged as an array. */
_Static_assert(sizeof(struct prompt_fields) == 11 * sizeof(const char *),
	       "prompt_fields holds only strings");

static void merge_fields(struct prompt_fields *f, const struct prompt_fields *o)
{
	const char **dst = (const char **)f;
	const char *const *src = (const char *const *)o;

	for (size_t i = 0; i < sizeof(*f) / sizeof(char *); i++)
		if (src[i])
			dst[i] = src[i];
}

static void where(struct buf *err, const struct batch_item *item, size_t index)
{
	if (item->line)
		buf_addf(err, "line %zu: ", item->line);
	else
		buf_addf(err, "prompt %zu: ", index + 1);
}

/* One job's parameters, prompt and body. 0 or -1. */
static int build_job(struct batch_job *bj, const struct cli *c, size_t index, struct buf *err)
{
	const struct batch_item *item = bj->item;
	struct prompt_fields fields = c->fields;
	const char *style = item->style_text ? item->style_text : c->style_text;
	struct buf why = BUF_INIT, warn = BUF_INIT;
	int rc = -1;

	bj->params = c->params;
	merge_params(&bj->params, &item->params);
	merge_fields(&fields, &item->fields);
	if (style && one_of(style, (const char *const[]){ "vivid", "natural", NULL }))
		bj->params.style = style;
	else if (style)
		fields.style = style;
	if (item->out && ext_format(path_ext(item->out)) && !bj->params.output_format)
		bj->params.output_format = ext_format(path_ext(item->out));
	bj->sent = c->no_augment ? xstrdup(item->prompt) : prompt_augment(item->prompt, &fields);
	params_apply_defaults(&bj->params, OP_GENERATE);
	if (params_validate(&bj->params, OP_GENERATE, bj->sent, &why, &warn)) {
		where(err, item, index);
		buf_adds(err, why.data);
		goto cleanup;
	}
	for (const char *p = warn.data; p && *p;) {
		const char *nl = strchr(p, '\n');
		warnf("%s %zu: %.*s", item->line ? "line" : "prompt",
		      item->line ? item->line : index + 1, (int)(nl ? nl - p : (long)strlen(p)), p);
		p = nl ? nl + 1 : NULL;
	}
	bj->body = request_generation_body(&bj->params, bj->sent);
	bj->hash = manifest_hash(BATCH_ENDPOINT, bj->body);
	bj->key = item->id ? xstrdup(item->id) : xasprintf("#%zu", index + 1);
	bj->label = xasprintf("job %zu: ", index + 1);
	rc = 0;
cleanup:
	buf_release(&why);
	buf_release(&warn);
	return rc;
}

static int digits(size_t n)
{
	int d = 1;

	while (n >= 10) {
		n /= 10;
		d++;
	}
	return d < 2 ? 2 : d;
}

/* The stem of a job's files: its out name, its id, or "NN-slug". */
static char *job_stem(const struct batch_job *bj, size_t index, size_t count)
{
	const struct batch_item *item = bj->item;
	char *slug, *stem;

	if (item->out) {
		const char *dot = path_ext(item->out);
		return dot && ext_format(dot) ? xstrndup(item->out, (size_t)(dot - item->out))
					      : xstrdup(item->out);
	}
	if (item->id)
		return xstrdup(item->id);
	slug = slug_make(item->prompt, 40);
	stem = xasprintf("%0*zu-%s", digits(count), index + 1, slug);
	free(slug);
	return stem;
}

/* Two jobs may not share a stem: one would take the other's name. */
static int check_unique(struct batch_plan *plan, char **stems, struct buf *err)
{
	for (size_t i = 0; i < plan->n; i++) {
		for (size_t k = 0; k < i; k++) {
			if (strcmp(stems[i], stems[k]))
				continue;
			where(err, plan->jobs[i].item, i);
			buf_addf(err, "files named '%s' already come from %s %zu", stems[i],
				 plan->jobs[k].item->line ? "line" : "prompt",
				 plan->jobs[k].item->line ? plan->jobs[k].item->line : k + 1);
			return -1;
		}
	}
	return 0;
}

int batch_name_files(struct batch_plan *plan, const struct cli *c, struct buf *err)
{
	char **stems = xcalloc(plan->n, sizeof(*stems));
	int rc = 0;

	for (size_t i = 0; i < plan->n; i++)
		stems[i] = job_stem(&plan->jobs[i], i, plan->n);
	rc = check_unique(plan, stems, err);
	for (size_t i = 0; rc == 0 && i < plan->n; i++) {
		struct batch_job *bj = &plan->jobs[i];
		if (bj->resumed)
			continue;
		struct name_request r = {
			.out_dir = plan->dir, .prefix = stems[i],
			.format = params_format(&bj->params), .n = bj->params.n,
			.force = c->force,
		};
		/* Fixed names: a rerun must find its files where it left them. */
		if (c->force) {
			r.out = stems[i];
			r.prefix = NULL;
		}
		rc = naming_plan(&r, naming_exists_on_disk, NULL, &bj->names, err);
	}
	for (size_t i = 0; i < plan->n; i++)
		free(stems[i]);
	free(stems);
	return rc;
}

int batch_plan(struct batch_plan *plan, const struct batch_items *items,
	       struct cli *c, struct buf *err)
{
	const char **prompts = xcalloc(items->n, sizeof(*prompts));

	plan->n = items->n;
	plan->jobs = xcalloc(items->n, sizeof(*plan->jobs));
	for (size_t i = 0; i < items->n; i++) {
		plan->jobs[i].item = &items->v[i];
		prompts[i] = items->v[i].prompt;
		if (build_job(&plan->jobs[i], c, i, err)) {
			free(prompts);
			return -1;
		}
	}
	plan->dir = c->out_dir ? xstrdup(c->out_dir) : slug_folder(prompts, items->n);
	free(prompts);
	return 0;
}

void batch_resume(struct batch_plan *plan, const struct manifest *m, bool force)
{
	for (size_t i = 0; i < plan->n; i++) {
		struct batch_job *bj = &plan->jobs[i];
		json_t *entry = manifest_get(m, bj->key);

		if (!force && manifest_entry_done(entry, bj->hash)) {
			bj->resumed = true;
			bj->earlier = entry;
		}
	}
}

void batch_plan_release(struct batch_plan *plan)
{
	for (size_t i = 0; plan->jobs && i < plan->n; i++) {
		struct batch_job *bj = &plan->jobs[i];
		job_release(&bj->job);
		free(bj->sent);
		json_decref(bj->body);
		free(bj->key);
		free(bj->hash);
		free(bj->label);
		name_plan_release(&bj->names);
	}
	FREE_AND_NULL(plan->jobs);
	FREE_AND_NULL(plan->dir);
	plan->n = 0;
}
