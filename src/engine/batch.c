#include "batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jobfile.h"
#include "ledger.h"
#include "naming.h"
#include "meta.h"
#include "request.h"
#include "slug.h"

/* Item values win over the command line's. */
static void merge_params(struct img_params *p, const struct img_params *o)
{
	const char **strings[] = { &p->model, &p->size, &p->quality, &p->background,
				   &p->output_format, &p->moderation, &p->response_format,
				   &p->style, &p->user, &p->input_fidelity, &p->complexity,
				   &p->safety_identifier, &p->svg_model, &p->svg_effort };
	const char *const *over[] = { &o->model, &o->size, &o->quality, &o->background,
				      &o->output_format, &o->moderation, &o->response_format,
				      &o->style, &o->user, &o->input_fidelity, &o->complexity,
				      &o->safety_identifier, &o->svg_model, &o->svg_effort };

	for (size_t i = 0; i < ARRAY_SIZE(strings); i++)
		if (*over[i])
			*strings[i] = *over[i];
	if (o->n != -1)
		p->n = o->n;
	if (o->output_compression != -1)
		p->output_compression = o->output_compression;
	if (o->frame_count != -1)
		p->frame_count = o->frame_count;
	if (o->frame_duration_ms != -1)
		p->frame_duration_ms = o->frame_duration_ms;
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

/* Adds one job's warnings to out, each naming its line or prompt. */
static void warn_job(const struct batch_item *item, size_t index, const struct buf *warn,
		     struct buf *out)
{
	for (const char *p = warn->data; p && *p;) {
		const char *nl = strchr(p, '\n');
		buf_addf(out, "%s %zu: %.*s\n", item->line ? "line" : "prompt",
			 item->line ? item->line : index + 1, (int)(nl ? nl - p : (long)strlen(p)), p);
		p = nl ? nl + 1 : NULL;
	}
}

/* An edit line: its inputs inspected and its request built as a single
 * edit's is (a form for local files, else JSON). 0, or -1 with why. */
static int plan_edit(const struct batch_job *bj, const struct job_spec *d,
		     const struct prompt_fields *fields, const char *style, bool json,
		     bool preview, struct job_plan *plan, struct buf *why, struct buf *warn)
{
	const struct batch_item *item = bj->item;
	struct job_spec s = *d;

	s.op = OP_EDIT;
	s.params = bj->asked;
	s.prompt = item->prompt;
	s.fields = *fields;
	s.style_text = style;
	s.images = item->images;
	s.nimages = item->nimages;
	s.mask = item->mask;
	s.markup = item->markup;
	s.out = NULL;   /* settled by the caller, with "out" in its messages */
	s.json_form = json;
	s.preview = preview;
	return spec_plan_request(&s, plan, NULL, warn, why);
}

static int build_edit(struct batch_job *bj, const struct job_spec *d,
		      const struct prompt_fields *fields, const char *style, struct buf *why,
		      struct buf *warn)
{
	struct job_plan plan = JOB_PLAN_INIT;
	int rc = plan_edit(bj, d, fields, style, false, d->preview, &plan, why, warn);

	/* A Batch API line is JSON: local files go as data: URLs, which that
	 * form must take (checked now, nothing read; built when written). */
	if (rc == 0 && d->json_form && plan.form.n) {
		struct job_plan json = JOB_PLAN_INIT;
		struct buf ignored = BUF_INIT;
		rc = plan_edit(bj, d, fields, style, true, true, &json, why, &ignored);
		job_plan_release(&json);
		buf_release(&ignored);
	}
	if (rc == 0) {
		bj->params = plan.params;
		bj->endpoint = plan.endpoint;
		bj->sent = plan.prompt;
		plan.prompt = NULL;
		bj->body = plan.body;
		plan.body = NULL;
		bj->form = plan.form;
		plan.form = (struct form)FORM_INIT;
		bj->input_tokens = plan.input_tokens;
	}
	job_plan_release(&plan);
	return rc;
}

/* A generation line: settled and checked as a single request is. 0 or -1. */
static int build_generation(struct batch_job *bj, const struct job_spec *d,
			    struct prompt_fields *fields, const char *style, struct buf *why,
			    struct buf *warn)
{
	struct chroma_opts chroma;

	spec_settle_style(&bj->params, fields, style);
	bj->endpoint = "images/generations";
	bj->sent = spec_prompt(bj->item->prompt, fields, d->no_augment, d->chroma_key,
			       d->key_color);
	params_apply_defaults(&bj->params, OP_GENERATE);
	if (spec_image_work(d, &bj->params, &chroma, why) ||
	    params_validate(&bj->params, OP_GENERATE, bj->sent, why, warn))
		return -1;
	bj->body = request_generation_body(&bj->params, bj->sent);
	return 0;
}

/* One job's parameters, prompt and request: the defaults with the item's
 * overrides, settled and checked as a single request is. 0 or -1. */
static int build_job(struct batch_job *bj, const struct job_spec *d, size_t index,
		     struct buf *warnings, struct buf *err)
{
	const struct batch_item *item = bj->item;
	struct prompt_fields fields = d->fields;
	const char *format = item->params.output_format;
	const char *style = item->style_text ? item->style_text : d->style_text;
	struct buf why = BUF_INIT, warn = BUF_INIT;
	int rc = -1;

	bj->params = d->params;
	merge_params(&bj->params, &item->params);
	merge_fields(&fields, &item->fields);
	bj->op = item->nimages ? OP_EDIT : OP_GENERATE;
	/* An "out" name's extension wins over the command line's format. */
	if (spec_format_from_out(item->out, "\"out\"", bj->params.model, &format, &why))
		goto fail;
	if (format)
		bj->params.output_format = format;
	bj->asked = bj->params;
	if (bj->op == OP_EDIT ? build_edit(bj, d, &fields, style, &why, &warn)
			      : build_generation(bj, d, &fields, style, &why, &warn))
		goto fail;
	warn_job(item, index, &warn, warnings);
	if (bj->form.n) {
		json_t *identity = form_identity(&bj->form);
		bj->hash = ledger_hash(bj->endpoint, identity);
		json_decref(identity);
	} else {
		bj->hash = ledger_hash(bj->endpoint, bj->body);
	}
	bj->label = xasprintf("job %zu: ", index + 1);
	rc = 0;
	goto cleanup;
fail:
	where(err, item, index);
	buf_adds(err, why.data);
cleanup:
	buf_release(&why);
	buf_release(&warn);
	return rc;
}

json_t *batch_job_line_body(const struct batch_job *bj, const struct job_spec *d,
			    struct buf *err)
{
	struct prompt_fields fields = d->fields;
	const char *style = bj->item->style_text ? bj->item->style_text : d->style_text;
	struct job_plan plan = JOB_PLAN_INIT;
	struct buf warn = BUF_INIT;
	json_t *body = NULL;

	if (!bj->form.n)
		return json_deep_copy(bj->body);
	merge_fields(&fields, &bj->item->fields);
	if (plan_edit(bj, d, &fields, style, true, false, &plan, err, &warn) == 0) {
		body = plan.body;
		plan.body = NULL;
	}
	job_plan_release(&plan);
	buf_release(&warn);
	return body;
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

/* The stem of a job's derived files: its id, or "NN-slug". */
static char *job_stem(const struct batch_job *bj, size_t index, size_t count)
{
	char *slug, *stem;

	if (bj->item->id)
		return xstrdup(bj->item->id);
	slug = slug_make(bj->item->prompt, 40);
	stem = xasprintf("%0*zu-%s", digits(count), index + 1, slug);
	free(slug);
	return stem;
}

/* A name is in the way when a file has it, or a file its image brings
 * beside it (partials, sidecar, copies), that is not the job's own: listed
 * in its entry or reserved for it in the ledger. */
struct ownership {
	json_t *entry;
	const struct ledger *ledger;
	const char *key;
	const struct job_spec *spec;
	const struct img_params *params;
	json_t *foreign;
	const char *legacy_key;   /* the ledger still has its entry under it */
};

static bool listed(json_t *names, const char *name)
{
	size_t i;
	json_t *n;

	json_array_foreach(names, i, n)
		if (!strcmp(json_string_value(n), name))
			return true;
	return false;
}

/* A name reserved for the job whose file is not its image (foreign) is
 * given back: the file is in the way like anyone's. */
static bool owned(const struct ownership *own, const char *path)
{
	const char *name = path_basename(path);

	return ledger_entry_owns(own->entry, name) ||
	       ((ledger_owned_by(own->ledger, name, own->key) ||
		 (own->legacy_key && ledger_owned_by(own->ledger, name, own->legacy_key))) &&
		!listed(own->foreign, name));
}

static bool extra_taken(const char *name, void *data)
{
	return path_exists(name) && !owned(data, name);
}

static bool taken_by_other(const char *path, const void *data)
{
	struct ownership own = *(const struct ownership *)data;

	return (path_exists(path) && !owned(&own, path)) ||
	       spec_each_extra(own.spec, own.params, path, extra_taken, &own);
}

static bool owns_any(json_t *entry, const struct name_plan *names)
{
	for (size_t i = 0; i < names->n; i++)
		if (ledger_entry_owns(entry, path_basename(names->paths[i])))
			return true;
	return false;
}

static int name_job(struct batch_job *bj, size_t index, size_t count, const char *dir,
		    const struct ledger *l, const struct job_spec *d, struct buf *err)
{
	const struct batch_item *item = bj->item;
	bool force = d->force;
	struct ownership own = { bj->earlier, l, bj->key, d, &bj->params, bj->foreign,
				 bj->rekey ? bj->legacy_key : NULL };
	char *stem = job_stem(bj, index, count);
	struct name_request r = {
		.out_dir = dir, .format = params_format(&bj->params), .n = bj->params.n,
		.force = force,
	};
	struct buf why = BUF_INIT;
	int rc;

	/* "out" names the file itself; --force fixes every name. */
	if (item->out)
		r.out = item->out;
	else if (force)
		r.out = stem;
	else
		r.prefix = stem;
	rc = naming_plan(&r, taken_by_other, &own, &bj->names, &why);
	if (rc) {
		char *owner = item->out ? ledger_owner(l, item->out) : NULL;

		where(err, item, index);
		buf_addf(err, "%s", why.data);
		/* Kept, never replaced unasked: another job's, or this job's
		 * from before its request changed. */
		if (owner)
			buf_addf(err, " (an earlier run made it for a job whose request was "
				 "different; it is kept)");
		free(owner);
	}
	if (owns_any(own.entry, &bj->names))
		bj->names.replace = true;
	buf_release(&why);
	free(stem);
	return rc;
}

/* Every name a job plans: its images and what each brings beside it. */
struct planned {
	char *name;
	size_t job;
};

struct planned_list {
	struct planned *v;
	size_t n, cap;
};

static void plan_one(struct planned_list *l, const char *name, size_t job)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		struct planned *grown = realloc(l->v, l->cap * sizeof(*l->v));
		if (!grown)
			abort();
		l->v = grown;
	}
	l->v[l->n++] = (struct planned){ xstrdup(name), job };
}

struct extra_sink {
	struct planned_list *list;
	size_t job;
};

static bool collect_extra(const char *name, void *data)
{
	struct extra_sink *sink = data;

	plan_one(sink->list, name, sink->job);
	return false;
}

static int by_name(const void *a, const void *b)
{
	const struct planned *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->job > y->job) - (x->job < y->job);
}

/* Two jobs may never plan the same file, an image or one beside it (sorted:
 * a plan of many lines stays quick). */
static int check_unique(const struct batch_plan *plan, const struct job_spec *d,
			struct buf *err)
{
	struct planned_list all = { NULL, 0, 0 };
	int rc = 0;

	for (size_t i = 0; i < plan->n; i++) {
		const struct batch_job *bj = &plan->jobs[i];
		struct extra_sink sink = { &all, i };

		for (size_t x = 0; x < bj->names.n; x++) {
			plan_one(&all, bj->names.paths[x], i);
			spec_each_extra(d, &bj->params, bj->names.paths[x], collect_extra, &sink);
		}
	}
	qsort(all.v, all.n, sizeof(*all.v), by_name);
	for (size_t i = 1; i < all.n && rc == 0; i++) {
		const struct planned *a = &all.v[i - 1], *b = &all.v[i];
		if (strcmp(a->name, b->name) || a->job == b->job)
			continue;
		const struct batch_job *first = &plan->jobs[a->job];
		where(err, plan->jobs[b->job].item, b->job);
		buf_addf(err, "'%s' would also be written by %s %zu", a->name,
			 first->item->line ? "line" : "prompt",
			 first->item->line ? first->item->line : a->job + 1);
		rc = -1;
	}
	for (size_t i = 0; i < all.n; i++)
		free(all.v[i].name);
	free(all.v);
	return rc;
}

int batch_name_files(struct batch_plan *plan, const struct ledger *l,
		     const struct job_spec *d, struct buf *err)
{
	for (size_t i = 0; i < plan->n; i++) {
		struct batch_job *bj = &plan->jobs[i];
		if (!bj->resumed && name_job(bj, i, plan->n, plan->dir, l, d, err))
			return -1;
	}
	return check_unique(plan, d, err);
}

/* NULL sorts before any string. */
static int compare_names(const char *a, const char *b)
{
	if (!a || !b)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

/* By request, then (with names) id and "out"; identical jobs in plan order. */
static int by_identity(const struct batch_job *x, const struct batch_job *y, bool names)
{
	int c = strcmp(x->hash, y->hash);

	if (!c && names)
		c = compare_names(x->item->id, y->item->id);
	if (!c && names)
		c = compare_names(x->item->out, y->item->out);
	return c ? c : (x->index > y->index) - (x->index < y->index);
}

static int by_request(const void *a, const void *b)
{
	return by_identity(*(struct batch_job *const *)a, *(struct batch_job *const *)b, false);
}

static int by_request_and_names(const void *a, const void *b)
{
	return by_identity(*(struct batch_job *const *)a, *(struct batch_job *const *)b, true);
}

static bool same_identity(const struct batch_job *x, const struct batch_job *y, bool names)
{
	return !strcmp(x->hash, y->hash) &&
	       (!names || (!compare_names(x->item->id, y->item->id) &&
			   !compare_names(x->item->out, y->item->out)));
}

/* Each job's key: its request, and which of the jobs sending the same one
 * it is, counted in plan order (sorted, so a plan of many lines stays
 * quick); and the key an earlier version gave it (with its id and "out"). */
static void key_jobs(struct batch_plan *plan)
{
	struct batch_job **order = xcalloc(plan->n ? plan->n : 1, sizeof(*order));
	size_t occurrence = 0;

	for (int legacy = 0; legacy < 2; legacy++) {
		for (size_t i = 0; i < plan->n; i++)
			order[i] = &plan->jobs[i];
		qsort(order, plan->n, sizeof(*order), legacy ? by_request_and_names : by_request);
		for (size_t i = 0; i < plan->n; i++) {
			struct batch_job *bj = order[i];
			occurrence = i && same_identity(order[i - 1], bj, legacy) ? occurrence + 1 : 1;
			if (legacy)
				bj->legacy_key = ledger_legacy_key(bj->hash, bj->item->id,
								   bj->item->out, occurrence);
			else
				bj->key = ledger_key(bj->hash, occurrence);
		}
	}
	free(order);
}

static int by_id(const void *a, const void *b)
{
	const struct batch_job *x = *(struct batch_job *const *)a;
	const struct batch_job *y = *(struct batch_job *const *)b;
	int c = strcmp(x->item->id, y->item->id);

	return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* An id names one job: a second one is refused, naming both lines. */
static int check_ids(const struct batch_plan *plan, struct buf *err)
{
	struct batch_job **ided = xcalloc(plan->n ? plan->n : 1, sizeof(*ided));
	size_t n = 0;
	int rc = 0;

	for (size_t i = 0; i < plan->n; i++)
		if (plan->jobs[i].item->id)
			ided[n++] = &plan->jobs[i];
	qsort(ided, n, sizeof(*ided), by_id);
	for (size_t i = 1; i < n && rc == 0; i++) {
		const struct batch_job *a = ided[i - 1], *b = ided[i];
		if (strcmp(a->item->id, b->item->id))
			continue;
		where(err, b->item, b->index);
		buf_addf(err, "the id '%s' is already the id of line %zu; each job needs its own",
			 b->item->id, a->item->line);
		rc = -1;
	}
	free(ided);
	return rc;
}

int batch_plan(struct batch_plan *plan, const struct batch_items *items,
	       const struct job_spec *defaults, struct buf *warn, struct buf *err)
{
	const char **prompts = xcalloc(items->n, sizeof(*prompts));

	plan->n = items->n;
	plan->jobs = xcalloc(items->n, sizeof(*plan->jobs));
	for (size_t i = 0; i < items->n; i++) {
		plan->jobs[i].item = &items->v[i];
		plan->jobs[i].index = i;
		prompts[i] = items->v[i].prompt;
		if (build_job(&plan->jobs[i], defaults, i, warn, err)) {
			free(prompts);
			return -1;
		}
	}
	plan->dir = defaults->out_dir ? xstrdup(defaults->out_dir)
				     : slug_folder(prompts, items->n);
	free(prompts);
	if (check_ids(plan, err))
		return -1;
	key_jobs(plan);
	return 0;
}

static int by_entry_index(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "index"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "index"));

	return (x > y) - (x < y);
}

/* An old manifest's entry for the job: the first one not yet taken with the
 * same request and id, in the old plan's order (a new reference). */
static json_t *imported_entry(json_t *imported, const struct batch_job *bj)
{
	size_t i;
	json_t *e;

	json_array_foreach(imported, i, e) {
		const char *id = json_string_value(json_object_get(e, "id"));
		const char *hash = json_string_value(json_object_get(e, "hash"));
		if (!json_is_true(json_object_get(e, "taken")) && hash &&
		    !strcmp(hash, bj->hash) && !compare_names(id, bj->item->id)) {
			json_object_set_new(e, "taken", json_true());
			json_t *copy = json_deep_copy(e);
			json_object_del(copy, "taken");
			json_object_del(copy, "key");
			return copy;
		}
	}
	return NULL;
}

/* Is the file at path, at a name reserved for one of the job's images, that
 * image? Only if the ledger noted it as that very file (inode and size:
 * an image with no record of its job) or the record embedded in it names
 * the job's key. A file with neither is someone else's, whatever its name:
 * a kill left the name reserved, and anyone may have put a file there. */
static bool is_jobs_image(const char *path, json_t *reserved, const char *key)
{
	json_t *inode = json_object_get(reserved, "inode");
	struct stat st;
	char *found;
	bool mine;

	if (inode && stat(path, &st) == 0 &&
	    (json_int_t)st.st_ino == json_integer_value(inode) &&
	    (json_int_t)st.st_size == json_integer_value(json_object_get(reserved, "size")))
		return true;
	found = meta_read_key(path);
	mine = found && !strcmp(found, key);
	free(found);
	return mine;
}

/* A job with no record of a saved image but files at names reserved for its
 * images: an earlier run saved them and could not record them (the disk
 * filled up, or a kill came first), or they are someone else's. Its entry,
 * made up from the files that are its images (a new reference), or NULL;
 * the names of the others are listed in bj->foreign, to be given back. */
static json_t *recovered_entry(const struct ledger *l, struct batch_job *bj, const char *dir)
{
	json_t *names = ledger_reserved_images(l, bj->key), *files = json_array(), *r, *e;
	size_t i;

	json_array_foreach(names, i, r) {
		const char *s = json_string_value(json_object_get(r, "name"));
		char *path = s && jobfile_safe_name(s) ? xasprintf("%s/%s", dir, s) : NULL;
		if (path && path_exists(path)) {
			if (is_jobs_image(path, r, bj->key)) {
				json_array_append_new(files, json_string(s));
			} else {
				if (!bj->foreign)
					bj->foreign = json_array();
				json_array_append_new(bj->foreign, json_string(s));
			}
		}
		free(path);
	}
	json_decref(names);
	if (!json_array_size(files)) {
		json_decref(files);
		return NULL;
	}
	e = json_pack("{s:I,s:s,s:s,s:s,s:o,s:n,s:n,s:b}", "index", (json_int_t)bj->index + 1,
		      "prompt", bj->item->prompt, "hash", bj->hash, "state", "saving", "files",
		      files, "usage", "error", "recovered", 1);
	if (bj->item->id)
		json_object_set_new(e, "id", json_string(bj->item->id));
	if (bj->item->out)
		json_object_set_new(e, "out", json_string(bj->item->out));
	return e;
}

void batch_resume(struct batch_plan *plan, const struct ledger *l, bool force)
{
	json_t *imported = ledger_imported(l);
	size_t count = json_array_size(imported);
	json_t **sorted = xcalloc(count ? count : 1, sizeof(*sorted));
	json_t *ordered = json_array();

	for (size_t i = 0; i < count; i++)
		sorted[i] = json_array_get(imported, i);
	qsort(sorted, count, sizeof(*sorted), by_entry_index);
	for (size_t i = 0; i < count; i++)
		json_array_append(ordered, sorted[i]);
	free(sorted);
	json_decref(imported);
	for (size_t i = 0; i < plan->n; i++) {
		struct batch_job *bj = &plan->jobs[i];
		json_t *entry = ledger_get(l, bj->key);

		bj->rekey = false;
		if (!entry) {   /* recorded by an earlier version? */
			entry = ledger_get(l, bj->legacy_key);
			bj->rekey = entry != NULL;
		}
		if (!entry && json_array_size(ordered))
			entry = imported_entry(ordered, bj);
		bj->earlier = entry;
		json_decref(bj->foreign);
		bj->foreign = NULL;
		bj->resumed = !force && ledger_entry_paid(entry, bj->hash, plan->dir);
		json_t *found = bj->resumed || force ? NULL : recovered_entry(l, bj, plan->dir);
		if (found) {
			json_decref(bj->earlier);
			bj->earlier = found;
			bj->resumed = bj->recovered = true;
		}
	}
	json_decref(ordered);
}

/* What stays of a line when its request changes: its id, else its "out",
 * else its prompt. The caller frees. */
static char *line_identity(const char *id, const char *out, const char *prompt)
{
	if (id)
		return xasprintf("id:%s", id);
	if (out)
		return xasprintf("out:%s", out);
	return xasprintf("prompt:%s", prompt ? prompt : "");
}

struct identity {
	char *line;
	const struct batch_job *job;
};

static int by_line(const void *a, const void *b)
{
	const struct identity *x = a, *y = b;
	int c = strcmp(x->line, y->line);

	return c ? c : (x->job->index > y->job->index) - (x->job->index < y->job->index);
}

static int by_key(const void *a, const void *b)
{
	return strcmp((*(const struct batch_job *const *)a)->key,
		      (*(const struct batch_job *const *)b)->key);
}

static int key_in(const void *key, const void *job)
{
	return strcmp(key, (*(const struct batch_job *const *)job)->key);
}

/* The job of the plan that supersedes an earlier entry, or NULL: the first
 * of the same line, unless one of them sends what the entry sent (the
 * entry is then a line deleted from among identical ones). */
static const struct batch_job *superseder(const struct identity *lines, size_t n,
					  json_t *entry)
{
	struct identity want = { NULL, NULL };
	const char *hash = json_string_value(json_object_get(entry, "hash"));
	size_t lo = 0, hi = n;

	want.line = line_identity(json_string_value(json_object_get(entry, "id")),
				  json_string_value(json_object_get(entry, "out")),
				  json_string_value(json_object_get(entry, "prompt")));
	while (lo < hi) {   /* the first of the line */
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(lines[mid].line, want.line) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	const struct batch_job *by = NULL;
	for (size_t i = lo; i < n && !strcmp(lines[i].line, want.line); i++) {
		if (hash && !strcmp(lines[i].job->hash, hash)) {
			by = NULL;
			break;
		}
		if (!by)
			by = lines[i].job;
	}
	free(want.line);
	return by;
}

json_t *batch_superseded(const struct batch_plan *plan, const struct ledger *l)
{
	json_t *entries = ledger_entries(l), *pairs = json_array(), *e;
	const struct batch_job **keyed = xcalloc(plan->n ? plan->n : 1, sizeof(*keyed));
	struct identity *lines = xcalloc(plan->n ? plan->n : 1, sizeof(*lines));
	size_t i;

	for (i = 0; i < plan->n; i++) {
		const struct batch_job *bj = &plan->jobs[i];
		keyed[i] = bj;
		lines[i] = (struct identity){ line_identity(bj->item->id, bj->item->out,
							    bj->item->prompt), bj };
	}
	qsort(keyed, plan->n, sizeof(*keyed), by_key);
	qsort(lines, plan->n, sizeof(*lines), by_line);
	json_array_foreach(entries, i, e) {
		const char *key = json_string_value(json_object_get(e, "key"));
		bool was = json_object_get(e, "superseded_by") != NULL;
		const struct batch_job *by;
		if (!key)
			continue;
		if (bsearch(key, keyed, plan->n, sizeof(*keyed), key_in)) {
			if (was)   /* its line is back as it was */
				json_array_append_new(pairs, json_pack("[s,n]", key));
			continue;
		}
		by = was ? NULL : superseder(lines, plan->n, e);
		if (by)
			json_array_append_new(pairs, json_pack("[s,s]", key, by->key));
	}
	for (i = 0; i < plan->n; i++)
		free(lines[i].line);
	free(lines);
	free(keyed);
	json_decref(entries);
	return pairs;
}

void batch_plan_release(struct batch_plan *plan)
{
	for (size_t i = 0; plan->jobs && i < plan->n; i++) {
		struct batch_job *bj = &plan->jobs[i];
		job_release(&bj->job);
		free(bj->sent);
		json_decref(bj->body);
		form_release(&bj->form);
		free(bj->key);
		free(bj->legacy_key);
		free(bj->hash);
		json_decref(bj->earlier);
		json_decref(bj->foreign);
		free(bj->label);
		name_plan_release(&bj->names);
	}
	FREE_AND_NULL(plan->jobs);
	FREE_AND_NULL(plan->dir);
	plan->n = 0;
}
