#include "batchrun.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cost.h"
#include "gallery.h"
#include "job_internal.h"
#include "jobfile.h"
#include "imgvips.h"
#include "request.h"

static struct batch_job *as_batch_job(struct job *job)
{
	return (struct batch_job *)job;
}

/* Tells the front end "prefix: what" (the text is borrowed). */
static void warn(struct batch_run *r, const char *prefix, const char *what)
{
	char *text = xasprintf("%s%s", prefix, what);

	if (r->events->warning)
		r->events->warning(r->events->ud, text);
	free(text);
}

json_t *batch_job_json(const struct batch_job *bj, const char *status, const char *dir)
{
	const struct job *job = &bj->job;
	json_t *o = json_object(), *files = json_array();
	size_t i;
	json_t *f;

	json_object_set_new(o, "index", json_integer((json_int_t)bj->index + 1));
	if (bj->item->id)
		json_object_set_new(o, "id", json_string(bj->item->id));
	json_object_set_new(o, "prompt", json_string(bj->item->prompt));
	json_object_set_new(o, "status", json_string(status));
	/* The Batch API's name of it, in its input, output and error files. */
	if (bj->remote)
		json_object_set_new(o, "custom_id", json_string(bj->key));
	json_object_set_new(o, "files", files);
	if (bj->resumed) {
		json_array_foreach(json_object_get(bj->earlier, "files"), i, f)
			json_array_append_new(files, json_sprintf("%s/%s", dir, json_string_value(f)));
		json_object_set(o, "usage", json_object_get(bj->earlier, "usage"));
		if (json_object_get(bj->earlier, "cost"))
			json_object_set(o, "cost", json_object_get(bj->earlier, "cost"));
		json_object_set_new(o, "error", json_null());
		json_object_set_new(o, "attempts", json_integer(0));
		json_object_set_new(o, "resumed", json_true());
		return o;
	}
	for (i = 0; i < job->names.n; i++)
		if (job->saved && job->saved[i])
			json_array_append_new(files, json_string(dir ? job->saved[i]
							       : path_basename(job->saved[i])));
	json_object_set_new(o, "usage", job->usage.present ? job_usage_json(&job->usage)
							     : json_null());
	job_partials_json(&job->usage, o);
	if (job->paid)
		json_object_set_new(o, "cost", job_cost_json(job));
	json_object_set_new(o, "error", job->error.len ? json_string(job->error.data) : json_null());
	json_object_set_new(o, "attempts", json_integer(job->call.xfer.launches +
							 bj->attempts_before));
	return o;
}

const char *batch_job_status(const struct batch_job *bj)
{
	switch (bj->job.state) {
	case JOB_DONE:
		return "done";
	case JOB_FAILED:
		return "failed";
	case JOB_INTERRUPTED:
		return bj->job.call.xfer.launches ? "interrupted" : "not sent";
	default:
		return bj->resumed ? "done" : bj->elsewhere ? "claimed" :
		       bj->remote ? "submitted" : "not sent";
	}
}

/* The ledger entry of a job in state, with its request's hash. */
static json_t *entry(const struct batch_job *bj, const char *state)
{
	json_t *e = batch_job_json(bj, state, NULL);

	json_object_set_new(e, "hash", json_string(bj->hash));
	if (bj->item->out)   /* the line's name for itself (batch_superseded) */
		json_object_set_new(e, "out", json_string(bj->item->out));
	json_object_del(e, "status");
	json_object_set_new(e, "state", json_string(state));
	return e;
}

/* A ledger write failed (on either thread): the run stops launching (what
 * it paid for could not be recorded), at the loop's next turn, and fails.
 * Its own lock, never held across a ledger call: the loop checks it every
 * turn and must not wait out the worker's commit to disk. */
static void ledger_failed(struct batch_run *r, const char *label, const char *why)
{
	pthread_mutex_lock(&r->error_lock);
	if (!r->ledger_error.len)
		buf_addf(&r->ledger_error, "%s%s; no more jobs were sent", label, why);
	r->ledger_failed = true;
	pthread_mutex_unlock(&r->error_lock);
	http_loop_wake(&r->engine->loop);
}

/* On the worker: the run's claims hold LEDGER_LEASE_S more (a run on
 * another host, which cannot see this process, waits that long). */
static void renew(void *data)
{
	struct batch_run *r = data;
	struct buf err = BUF_INIT;
	int rc;

	pthread_mutex_lock(&r->ledger_lock);
	rc = ledger_renew_claims(&r->ledger, &err);
	pthread_mutex_unlock(&r->ledger_lock);
	if (rc)
		ledger_failed(r, "", err.data);
	buf_release(&err);
}

/* On the loop thread, every turn: stops launching once the ledger failed
 * (the summary says why, whatever else stopped the run first), and has the
 * claims' lease renewed when it is time (the loop turns at least every
 * POLL_MS_MAX). */
static void check_ledger(void *data)
{
	struct batch_run *r = data;
	bool failed;

	if (!r->lock_made)
		return;
	if (r->commits.started && now_ms() >= r->renew_at) {
		r->renew_at = now_ms() + (r->renew_ms > 0 ? r->renew_ms : LEDGER_RENEW_S * 1000);
		commitq_call(&r->commits, renew, r);
	}
	pthread_mutex_lock(&r->error_lock);
	failed = r->ledger_failed;
	pthread_mutex_unlock(&r->error_lock);
	if (failed && !r->stop_reason)
		r->stop_reason = r->ledger_error.data;
	if (failed)
		http_loop_stop(&r->engine->loop);
}

/* Writes a job's entry now, on whichever thread needs it written before
 * its next step. */
static void put_now(struct batch_run *r, const struct batch_job *bj, const char *state,
		    json_t *e)
{
	struct buf err = BUF_INIT;
	int rc;

	pthread_mutex_lock(&r->ledger_lock);
	rc = ledger_put(&r->ledger, bj->key, state, e, &err);
	pthread_mutex_unlock(&r->ledger_lock);
	if (rc)
		ledger_failed(r, bj->label, err.data);
	buf_release(&err);
}

/* Records a job in the ledger: behind its commit on the worker when there
 * is one (nothing waits for it), else now. */
static void put(struct batch_run *r, const struct batch_job *bj, const char *state, json_t *e)
{
	if (r->commits.started)
		commitq_record(&r->commits, bj->key, state, bj->label, e);
	else
		put_now(r, bj, state, e);
	check_ledger(r);
}

/* On the worker: the records that queued up, in one transaction. */
static void record(void *data, struct commitq_record *records, size_t n)
{
	struct batch_run *r = data;
	struct ledger_row *rows = xcalloc(n, sizeof(*rows));
	struct buf err = BUF_INIT;
	int rc;

	for (size_t i = 0; i < n; i++)
		rows[i] = (struct ledger_row){ records[i].key, records[i].state, records[i].entry };
	pthread_mutex_lock(&r->ledger_lock);
	rc = ledger_put_rows(&r->ledger, rows, n, &err);
	pthread_mutex_unlock(&r->ledger_lock);
	/* Which job's record it was, when one is alone. */
	if (rc)
		ledger_failed(r, n == 1 ? records[0].label : "", err.data);
	buf_release(&err);
	free(rows);
}

static void hand_over(struct job *job)
{
	struct batch_run *r = job->env->data;

	commitq_commit(&r->commits, job);
}

static void on_saved(struct job *job, size_t index, const char *path)
{
	struct batch_run *r = job->env->data;

	r->images += index != JOB_EXTRA_FILE;
	if (r->gallery && index != JOB_EXTRA_FILE)
		thumbq_push(&r->thumbs, path_basename(path));
	if (r->events->saved)
		r->events->saved(r->events->ud, as_batch_job(job), index, path);
}

/* An image that carries no record of its job is noted in the ledger as the
 * file it is before it takes its name, so that a kill right after the rename
 * still leaves it known for the job's (one with the record is known by it).
 * Not noted, it is saved all the same (it is paid for): the ledger's failure
 * stops the run, and a rerun may not know the image. */
static void mark(struct batch_run *r, struct job *job, size_t index, const char *path)
{
	struct afile *f = &job->images[index].file;
	struct buf err = BUF_INIT;
	struct stat st;
	int rc;

	if (job->images[index].keyed || f->fd < 0 || fstat(f->fd, &st))
		return;
	pthread_mutex_lock(&r->ledger_lock);
	rc = ledger_mark_image(&r->ledger, job->key, path_basename(path),
			       (unsigned long long)st.st_ino, (long long)st.st_size, &err);
	pthread_mutex_unlock(&r->ledger_lock);
	if (rc)
		ledger_failed(r, job->label, err.data);
	buf_release(&err);
}

/* Before an image takes its final name, the ledger must know the name is
 * the job's image, so that a kill right after the rename still leaves it
 * paid for: the name planned for it was reserved before the request was
 * sent (nothing to write), and one it takes instead (a file appeared at
 * the planned one meanwhile, or the server sent another format) is
 * reserved now. An image with no record of its job is noted too (mark). */
static int on_committing(struct job *job, size_t index, const char *path)
{
	struct batch_run *r = job->env->data;
	struct batch_job *bj = as_batch_job(job);
	struct buf err = BUF_INIT;
	int rc = 0;

	/* (The plan's names moved into the job when it started.) */
	if (index < job->names.n && strcmp(job->names.paths[index], path)) {
		pthread_mutex_lock(&r->ledger_lock);
		rc = ledger_move_image(&r->ledger, bj->key, path_basename(job->names.paths[index]),
				       path_basename(path), &err);
		pthread_mutex_unlock(&r->ledger_lock);
	}
	/* Unrecorded, the new name would be no one's and the planned one, now
	 * holding another file, still the job's: the image is not saved. */
	if (rc)
		buf_addf(&job->error, "image %zu could not be saved as '%s': %s", index + 1, path,
			 err.data);
	else if (index < job->names.n)
		mark(r, job, index, path);
	buf_release(&err);
	return rc;
}

/* Is path (in the folder) the job's own by the ledger: reserved for it? */
static bool owns(const struct job *job, const char *path)
{
	struct batch_run *r = job->env->data;
	bool own;

	pthread_mutex_lock(&r->ledger_lock);
	own = ledger_owned_by(&r->ledger, path_basename(path),
			      ((const struct batch_job *)job)->key);
	pthread_mutex_unlock(&r->ledger_lock);
	return own;
}

/* Every name a job to send will write, reserved for it in the ledger before
 * the first request leaves. */
struct reservations {
	const char **keys;     /* borrowed from the plan */
	char **names;
	enum ledger_name *kind;
	size_t n, cap;
};

static void reserve_one(struct reservations *res, const char *key, const char *path,
			enum ledger_name kind)
{
	if (res->n == res->cap) {
		res->cap = res->cap ? 2 * res->cap : 64;
		char **names = realloc(res->names, res->cap * sizeof(*names));
		const char **keys = names ? realloc(res->keys, res->cap * sizeof(*keys)) : NULL;
		enum ledger_name *kinds = keys ? realloc(res->kind, res->cap * sizeof(*kinds)) : NULL;
		if (!names || !keys || !kinds)
			abort();
		res->names = names;
		res->keys = keys;
		res->kind = kinds;
	}
	res->keys[res->n] = key;
	res->kind[res->n] = kind;
	res->names[res->n++] = xstrdup(path_basename(path));
}

struct reserve_sink {
	struct reservations *res;
	const char *key;
};

static bool reserve_extra(const char *name, void *data)
{
	struct reserve_sink *sink = data;

	reserve_one(sink->res, sink->key, name, LEDGER_FILE);
	return false;
}

/* Gives back the names whose files are not the jobs' (batch_resume found
 * them) and reserves the names of the jobs to send, in one transaction. */
static int reserve_names(struct batch_run *r, struct buf *err)
{
	struct reservations res = { NULL, NULL, NULL, 0, 0 };
	int rc;

	for (size_t i = 0; i < r->plan.n; i++) {
		const struct batch_job *bj = &r->plan.jobs[i];
		size_t k;
		json_t *name;

		json_array_foreach(bj->foreign, k, name)
			reserve_one(&res, bj->key, json_string_value(name), LEDGER_GIVE_BACK);
	}
	for (size_t i = 0; i < r->plan.n; i++) {
		const struct batch_job *bj = &r->plan.jobs[i];
		struct reserve_sink sink = { &res, bj->key };

		if (bj->resumed)
			continue;
		for (size_t k = 0; k < bj->names.n; k++) {
			reserve_one(&res, bj->key, bj->names.paths[k], LEDGER_IMAGE);
			spec_each_extra(r->defaults, &bj->params, bj->names.paths[k], reserve_extra,
					&sink);
		}
	}
	rc = ledger_reserve(&r->ledger, res.n, res.keys, (const char *const *)res.names,
			    res.kind, err);
	for (size_t i = 0; i < res.n; i++)
		free(res.names[i]);
	free(res.names);
	free(res.keys);
	free(res.kind);
	return rc;
}

/* What the ledger holds of a job planned and not yet sent (a new
 * reference): status shows it pending until it ends. */
static json_t *pending_entry(const struct batch_job *bj)
{
	json_t *e = json_pack("{s:I,s:s,s:s,s:s,s:[],s:n,s:n}", "index",
			      (json_int_t)bj->index + 1, "prompt", bj->item->prompt, "hash",
			      bj->hash, "state", "pending", "files", "usage", "error");

	if (bj->item->id)
		json_object_set_new(e, "id", json_string(bj->item->id));
	if (bj->item->out)
		json_object_set_new(e, "out", json_string(bj->item->out));
	return e;
}

/* Claims the jobs to send, and records those new to the ledger as pending:
 * a job another live run has claimed is left to it, one it finished
 * meanwhile is done. */
static int claim_jobs(struct batch_run *r, struct buf *err)
{
	const char **keys = xcalloc(r->plan.n ? r->plan.n : 1, sizeof(*keys));
	json_t **pending = xcalloc(r->plan.n ? r->plan.n : 1, sizeof(*pending));
	size_t *which = xcalloc(r->plan.n ? r->plan.n : 1, sizeof(*which));
	enum ledger_claim *out = xcalloc(r->plan.n ? r->plan.n : 1, sizeof(*out));
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < r->plan.n; i++) {
		if (r->plan.jobs[i].resumed)
			continue;
		which[n] = i;
		pending[n] = r->plan.jobs[i].earlier ? NULL : pending_entry(&r->plan.jobs[i]);
		keys[n++] = r->plan.jobs[i].key;
	}
	rc = ledger_claim(&r->ledger, n, keys, pending, r->plan.dir, r->defaults->force, out,
			  &r->other, err);
	for (size_t k = 0; k < n; k++)
		json_decref(pending[k]);
	free(pending);
	for (size_t k = 0; rc == 0 && k < n; k++) {
		struct batch_job *bj = &r->plan.jobs[which[k]];
		if (out[k] == LEDGER_PAID) {
			json_decref(bj->earlier);
			bj->earlier = ledger_get(&r->ledger, bj->key);
			bj->resumed = true;
			r->resumed++;
		} else if (out[k] == LEDGER_ELSEWHERE) {
			bj->elsewhere = true;
			r->elsewhere++;
		}
	}
	free(keys);
	free(which);
	free(out);
	return rc;
}

/* The records an earlier run could not write, of images it saved: written
 * before anything is sent. 0 or -1. */
static int record_recovered(struct batch_run *r, struct buf *err)
{
	struct ledger_row *rows = xcalloc(r->plan.n ? r->plan.n : 1, sizeof(*rows));
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < r->plan.n; i++) {
		struct batch_job *bj = &r->plan.jobs[i];
		if (bj->recovered)
			rows[n++] = (struct ledger_row){ bj->key, "saving", json_incref(bj->earlier) };
	}
	rc = n ? ledger_put_rows(&r->ledger, rows, n, err) : 0;
	free(rows);
	return rc;
}

/* The jobs an earlier version recorded under the keys it gave them take
 * their keys by content, before anything else is written under those. */
static int rekey(struct batch_run *r, struct buf *err)
{
	const char **from = xcalloc(r->plan.n ? r->plan.n : 1, sizeof(*from));
	const char **to = xcalloc(r->plan.n ? r->plan.n : 1, sizeof(*to));
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < r->plan.n; i++)
		if (r->plan.jobs[i].rekey) {
			from[n] = r->plan.jobs[i].legacy_key;
			to[n++] = r->plan.jobs[i].key;
		}
	rc = ledger_rekey(&r->ledger, n, from, to, err);
	free(from);
	free(to);
	return rc;
}

/* The earlier jobs of the folder that the plan's jobs supersede, recorded
 * (and those it brings back, no longer). 0 or -1. */
static int supersede(struct batch_run *r, struct buf *err)
{
	json_t *pairs = batch_superseded(&r->plan, &r->ledger), *pair;
	size_t n = json_array_size(pairs), i;
	const char **keys = xcalloc(n ? n : 1, sizeof(*keys));
	const char **by = xcalloc(n ? n : 1, sizeof(*by));
	int rc;

	json_array_foreach(pairs, i, pair) {
		keys[i] = json_string_value(json_array_get(pair, 0));
		by[i] = json_string_value(json_array_get(pair, 1));
	}
	rc = ledger_supersede(&r->ledger, n, keys, by, err);
	free(keys);
	free(by);
	json_decref(pairs);
	return rc;
}

/* Every job in flight or waiting to be committed holds an open file for
 * each of its images: with many in flight and n > 1 that passes the usual
 * soft limit of 1024, so the run takes what the hard limit allows. */
static void more_files(void)
{
	struct rlimit lim;

	if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
		lim.rlim_cur = lim.rlim_max;
		setrlimit(RLIMIT_NOFILE, &lim);
	}
}

/* The jobs reserved for but never sent (a stop, an interrupt) give their
 * image names back: a file that appears at one later is not theirs. */
static void release_unsent(struct batch_run *r)
{
	const char **keys = xcalloc(r->plan.n ? r->plan.n : 1, sizeof(*keys));
	struct buf err = BUF_INIT;
	size_t n = 0;

	for (size_t i = 0; i < r->plan.n; i++) {
		const struct batch_job *bj = &r->plan.jobs[i];
		if (!bj->resumed && !bj->elsewhere && !bj->job.call.xfer.launches)
			keys[n++] = bj->key;
	}
	int rc;

	pthread_mutex_lock(&r->ledger_lock);
	rc = ledger_release_images(&r->ledger, n, keys, &err);
	pthread_mutex_unlock(&r->ledger_lock);
	if (rc)
		ledger_failed(r, "", err.data);
	buf_release(&err);
	free(keys);
}

/* A job that failed for want of quota stops the run (nothing else can
 * succeed); so does any failure with fail_fast. */
static void maybe_stop(struct batch_run *r, const struct job *job)
{
	if (job->call.apierr.code && !strcmp(job->call.apierr.code, "insufficient_quota")) {
		r->stop_reason = "the account is out of quota; the remaining jobs were not sent";
		http_loop_stop(&r->engine->loop);
	} else if (job->disk_full && !r->stop_reason) {
		r->stop_reason = "the disk is full: an image could not be saved, so no more jobs "
				 "were sent (free some space and run the same command again)";
		http_loop_stop(&r->engine->loop);
	} else if (r->fail_fast && !r->stop_reason) {
		r->stop_reason = "--fail-fast: stopped after the first failure";
		http_loop_stop(&r->engine->loop);
	}
}

/* A job was priced (its answer, or a stream's next image): what it cost
 * takes the place of its estimate in the budget at once, before its files
 * are committed, so the next launch is weighed against what was paid. A
 * cost not known is budgeted at its estimate, the best there is. */
static void book(struct batch_run *r, struct batch_job *bj)
{
	const struct job *job = &bj->job;
	double now;

	if (!job->paid)
		return;
	if (bj->counted) {
		r->outstanding -= job->estimate.usd;
		bj->counted = false;
	}
	now = job->cost.basis != COST_UNKNOWN ? job->cost.usd :
	      job->estimate.basis != COST_UNKNOWN ? job->estimate.usd : 0;
	r->booked += now - bj->booked;
	bj->booked = now;
}

static void on_paid(struct job *job)
{
	book(job->env->data, as_batch_job(job));
}

/* Did the job fail only for want of attempts, with nothing saved, in a run
 * that goes on: worth one more try at the end? */
static bool goes_again(const struct batch_run *r, const struct batch_job *bj)
{
	const struct job *job = &bj->job;

	if (job->state != JOB_FAILED || !job->call.transient || bj->second || job->disk_full ||
	    r->fail_fast || r->batch_api || r->stop_reason)
		return false;
	for (size_t i = 0; job->saved && i < job->names.n; i++)
		if (job->saved[i])
			return false;   /* paid for an image it has: never sent again */
	return true;
}

static void on_finished(struct job *job)
{
	struct batch_run *r = job->env->data;
	struct batch_job *bj = as_batch_job(job);

	book(r, bj);
	if (bj->counted)   /* never paid: its estimate is given back */
		r->outstanding -= job->estimate.usd;
	bj->counted = false;
	if (job->paid && job->cost.basis != COST_UNKNOWN)
		r->spent += job->cost.usd;
	else if (job->paid)
		r->unpriced++;
	if (job->state == JOB_DONE) {
		r->done++;
		r->tokens += job->usage.total;
		r->partial_tokens += job->usage.partial_images * PARTIAL_IMAGE_TOKENS;
	} else if (goes_again(r, bj)) {
		bj->held_back = true;
		r->held_back++;
	} else if (job->state == JOB_FAILED) {
		r->failed++;
		maybe_stop(r, job);
	}
	r->second_done += bj->second && job->state == JOB_DONE;
	if (job->call.xfer.launches) {
		json_t *e = entry(bj, batch_job_status(bj));
		json_t *params = request_generation_body(&bj->params, NULL);
		json_object_set_new(e, "parameters", params);
		put(r, bj, batch_job_status(bj), e);
	}
	if (bj->held_back) {
		char *text = xasprintf("%sfailed after %d attempt%s (%s); it goes again at the "
				       "end of the run", bj->label, job->call.attempts,
				       job->call.attempts == 1 ? "" : "s", job->error.data);
		if (r->events->note)
			r->events->note(r->events->ud, text);
		free(text);
		return;   /* said when the second round has been */
	}
	if (r->events->finished)
		r->events->finished(r->events->ud, bj);
}

/* The models whose warnings were said: a run has few distinct models. */
struct said_models {
	const char *v[32];
	size_t n;
};

/* Is this the first time the run speaks of model (remembered if so)? */
static bool first_time(struct said_models *said, const char *model)
{
	for (size_t i = 0; i < said->n; i++)
		if (!strcmp(said->v[i], model))
			return false;
	if (said->n < ARRAY_SIZE(said->v))
		said->v[said->n++] = model;
	return true;
}

/* Does the folder hold anything at all (hidden files included)? */
static bool has_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool any = false;

	if (!d)
		return false;
	while (!any && (e = readdir(d)))
		any = strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return any;
}

static bool knows_a_job(const struct batch_plan *plan)
{
	for (size_t i = 0; i < plan->n; i++)
		if (plan->jobs[i].earlier)
			return true;
	return false;
}

/* Opens the folder's ledger and finds each job in it. A folder named from
 * the prompts (no --out-dir) that holds another batch (its ledger knows none
 * of these jobs) or anything else gets the next free name, "NAME-2", ...:
 * two batches never share a folder by accident (B9). */
static int open_folder(struct batch_run *r, struct buf *err)
{
	char *base = xstrdup(r->plan.dir);
	int rc = -1;

	for (int attempt = 2;; attempt++) {
		if (ledger_open(&r->ledger, r->plan.dir, err))
			break;
		batch_resume(&r->plan, &r->ledger, r->defaults->force);
		if (r->defaults->out_dir || !has_files(r->plan.dir) || knows_a_job(&r->plan)) {
			rc = 0;
			break;
		}
		ledger_release(&r->ledger);
		for (size_t i = 0; i < r->plan.n; i++) {
			json_decref(r->plan.jobs[i].earlier);
			r->plan.jobs[i].earlier = NULL;
			r->plan.jobs[i].resumed = false;
		}
		free(r->plan.dir);
		r->plan.dir = xasprintf("%s-%d", base, attempt);
	}
	free(base);
	return rc;
}

/* A job done by an earlier run whose line now names another "out": its
 * key is what it sends, so it is not sent again, and its image stays where
 * it is (never moved: a file someone may refer to, a name that may be
 * taken). Said, with where it is. */
static void warn_moved_out(const struct batch_plan *plan, const struct batch_job *bj,
			   struct buf *out)
{
	const char *was = json_string_value(json_object_get(bj->earlier, "out"));
	json_t *files = json_object_get(bj->earlier, "files"), *f;
	size_t k;

	if (!bj->resumed || !bj->item->out || (was && !strcmp(was, bj->item->out)))
		return;
	/* An entry of an earlier version has no "out": its files say. */
	json_array_foreach(files, k, f)
		if (!was && !strncmp(json_string_value(f), bj->item->out,
				     (size_t)path_stem_len(bj->item->out)))
			return;
	buf_addf(out, "%sdone by an earlier run as ", bj->label);
	json_array_foreach(files, k, f)
		buf_addf(out, "%s'%s/%s'", k ? ", " : "", plan->dir, json_string_value(f));
	buf_addf(out, "; its \"out\" is now '%s', and the image%s where %s\n", bj->item->out,
		 json_array_size(files) == 1 ? " stays" : "s stay",
		 json_array_size(files) == 1 ? "it is" : "they are");
}

/* Says which files at names reserved for a job's images are left alone:
 * nothing shows they are its images (batch_resume), and which images stay
 * at their names when the line's "out" changed. */
static void warn_names(const struct batch_plan *plan, struct buf *out)
{
	for (size_t i = 0; i < plan->n; i++) {
		const struct batch_job *bj = &plan->jobs[i];
		size_t k;
		json_t *name;

		warn_moved_out(plan, bj, out);
		json_array_foreach(bj->foreign, k, name)
			buf_addf(out, "%s'%s/%s' is at the name reserved for this job's image, but "
				 "nothing shows it is that image; it is left alone%s\n", bj->label,
				 plan->dir, json_string_value(name), bj->resumed ? "" :
				 ", and the job is sent with its image under a new name");
	}
}

/* The jobs in the folder's open Batch API batches: paid for there (or to
 * be), never sent again nor estimated again. */
static void mark_remote(struct batch_run *r)
{
	json_t *parts = ledger_remote_parts(&r->ledger, true), *keys = json_object(), *part, *key;
	size_t i, k;

	json_array_foreach(parts, i, part)
		json_array_foreach(json_object_get(part, "keys"), k, key)
			if (json_is_string(key))
				json_object_set(keys, json_string_value(key), json_true());
	for (i = 0; i < r->plan.n; i++)
		r->plan.jobs[i].remote = json_object_get(keys, r->plan.jobs[i].key) ||
					 json_object_get(keys, r->plan.jobs[i].legacy_key);
	json_decref(keys);
	json_decref(parts);
}

int batch_run_prepare(struct batch_run *r, const struct batch_items *items,
		      struct buf *warn_buf, struct buf *err)
{
	const struct job_spec *d = r->defaults;

	if (spec_image_work(d, &d->params, &r->chroma, err) ||
	    batch_plan(&r->plan, items, d, warn_buf, err) || open_folder(r, err))
		return -1;
	warn_names(&r->plan, warn_buf);
	struct said_models models = { .n = 0 };

	for (size_t i = 0; i < r->plan.n; i++) {
		struct batch_job *bj = &r->plan.jobs[i];
		struct buf why = BUF_INIT, said = BUF_INIT;
		int bad = engine_check_server(r->engine, &bj->params, bj->op,
					      d->allow_retired, &said, &why);
		if (bad)
			buf_addf(err, "%s%s", bj->label, why.data);
		/* A model's warning once a run, not once a job. */
		if (said.len && first_time(&models, bj->params.model))
			buf_adds(warn_buf, said.data);
		buf_release(&why);
		buf_release(&said);
		if (bad)
			return -1;
	}
	mark_remote(r);
	for (size_t i = 0; i < r->plan.n; i++) {
		struct batch_job *bj = &r->plan.jobs[i];
		struct cost c;

		r->resumed += bj->resumed;
		r->remote_waiting += bj->remote && !bj->resumed;
		if (bj->resumed)
			continue;
		cost_estimate_params(&r->engine->prices, &bj->params, bj->sent, bj->input_tokens,
				     r->batch_api || bj->remote,
				     r->engine->history.db ? &r->engine->history : NULL, &c);
		r->estimate_bound |= c.basis != COST_UNKNOWN && c.bound;
		if (bj->remote) {
			r->remote_estimate += c.basis != COST_UNKNOWN ? c.usd : 0;
			continue;
		}
		if (c.basis == COST_UNKNOWN && !r->unestimated++)
			r->estimate_why = c.why;
		else if (c.basis != COST_UNKNOWN)
			r->estimate += c.usd;
	}
	return batch_name_files(&r->plan, &r->ledger, d, err);
}

json_t *batch_job_request(const struct batch_run *r, const struct batch_job *bj, char **url,
			  struct form *form)
{
	json_t *body = bj->body ? json_deep_copy(bj->body) : NULL;

	*form = (struct form)FORM_INIT;
	if (bj->form.n)
		form_copy(form, &bj->form);
	*url = provider_prepare(&r->engine->api, bj->endpoint, bj->params.model, body,
				form->n ? form : NULL);
	return body;
}

/* A job readied to run: its request (none when the Batch API sends it),
 * prompt and names moved into it. */
static void ready_job(struct batch_run *r, struct batch_job *bj, bool request)
{
	struct job_request req = { NULL, NULL, FORM_INIT };

	if (request) {
		json_t *body = batch_job_request(r, bj, &req.url, &req.form);
		req.json = body ? json_dumps(body, JSON_COMPACT) : NULL;
		json_decref(body);
	}
	job_init(&bj->job, &r->env, bj->index, bj->sent, &bj->params, &req, &bj->names);
	bj->sent = NULL;
	bj->job.label = bj->label;
	bj->job.key = bj->key;
	if (bj->input_tokens)
		job_estimate(&bj->job, bj->input_tokens);
}

/* A job that could not be sent ends as failed at once. */
static void failed_unsent(struct batch_run *r, struct batch_job *bj)
{
	bj->job.state = JOB_FAILED;
	r->failed++;
	maybe_stop(r, &bj->job);
	if (r->events->finished)
		r->events->finished(r->events->ud, bj);
}

void batch_run_fail_unsent(struct batch_run *r, struct batch_job *bj, const char *reason)
{
	buf_reset(&bj->job.error);
	buf_adds(&bj->job.error, reason && *reason ? reason : "it could not be sent");
	failed_unsent(r, bj);
}

static void start_job(struct batch_run *r, struct batch_job *bj)
{
	ready_job(r, bj, true);
	if (job_start(&bj->job))
		failed_unsent(r, bj);
}

/* Will an image of the run want a thumbnail: one larger than the gallery
 * shows as itself, or of a size not known before it arrives? If not, the
 * thumbnail thread (and libvips) is never started. */
static bool may_want_thumbnails(const struct batch_run *r)
{
	for (size_t i = 0; i < r->plan.n; i++) {
		const struct batch_job *bj = &r->plan.jobs[i];
		int w, h;

		if (bj->resumed || bj->elsewhere)
			continue;
		if (!bj->params.size || size_parse(bj->params.size, &w, &h) ||
		    (long)w * h > GALLERY_ITSELF_PIXELS)
			return true;
	}
	return false;
}

/* What an earlier run left unfinished of a job it paid for: a sidecar or a
 * downscaled copy that a kill came before (the image itself is whole: its
 * metadata goes in before it takes its name). Made from the image and the
 * job's record (the same request: the key says so), before anything is
 * sent; a failure is a warning, the image stays done. */
static void finish_locally(struct batch_run *r, struct batch_job *bj)
{
	struct job_request none = { NULL, NULL, FORM_INIT };
	struct name_plan no_names = NAME_PLAN_INIT;
	json_t *files = json_object_get(bj->earlier, "files"), *f;
	struct job *job = &bj->job;
	size_t i;

	job_init(job, &r->env, bj->index, xstrdup(bj->sent ? bj->sent : bj->item->prompt),
		 &bj->params, &none, &no_names);
	job->label = bj->label;
	usage_parse(&job->usage, json_object_get(bj->earlier, "usage"));
	job->paid = true;
	job_price(job);   /* the same usage at the same prices */
	json_array_foreach(files, i, f) {
		const char *name = json_string_value(f);
		char *path = name && jobfile_safe_name(name) ? xasprintf("%s/%s", r->plan.dir, name)
							     : NULL;
		struct stat st;

		if (path && stat(path, &st) == 0) {
			/* The sidecar says when the image was made: its file's time. */
			json_decref(job->response);
			job->response = json_pack("{s:I}", "created", (json_int_t)st.st_mtime);
			if (job_complete_image(job, path)) {
				warn(r, bj->label, job->error.data);
				buf_reset(&job->error);
			}
		}
		free(path);
	}
}

/* The most one job's images can take on disk: every image at its size
 * uncompressed, 4 bytes a pixel (a size not known before it arrives counts
 * as 3840x2160), copies and sidecars beside it included. */
static unsigned long long bytes_per_job(const struct batch_run *r)
{
	unsigned long long most = 0;

	for (size_t i = 0; i < r->plan.n; i++) {
		const struct batch_job *bj = &r->plan.jobs[i];
		int w = 3840, h = 2160;
		unsigned long long bytes;

		if (bj->resumed || bj->elsewhere)
			continue;
		if (bj->params.size && size_parse(bj->params.size, &w, &h))
			w = 3840, h = 2160;
		bytes = (unsigned long long)w * (unsigned long long)h * 4;
		bytes = bytes * (unsigned long long)(bj->params.n > 0 ? bj->params.n : 1);
		bytes += bytes / 4 + 65536;   /* a downscaled copy, a sidecar */
		if (bytes > most)
			most = bytes;
	}
	return most;
}

/* Before a job is first sent, with --max-cost: would what was spent, with
 * the estimates of the jobs in flight and this one's, pass the budget? Then
 * nothing more is sent. A job whose cost cannot be estimated is not sent. */
static bool within_budget(struct batch_run *r, struct batch_job *bj)
{
	const struct cost *e = &bj->job.estimate;
	double committed = r->booked + r->outstanding;
	char spent[32], budget[32], est[32];

	if (r->max_cost < 0 || bj->counted)
		return true;
	if (e->basis != COST_UNKNOWN && committed + e->usd <= r->max_cost) {
		bj->counted = true;
		r->outstanding += e->usd;
		return true;
	}
	if (!r->budget_error.len) {
		price_format(committed, spent);
		price_format(r->max_cost, budget);
		if (e->basis == COST_UNKNOWN)
			buf_addf(&r->budget_error, "--max-cost: the cost of job %zu cannot be "
				 "estimated (%s); no more jobs were sent", bj->index + 1, e->why);
		else
			buf_addf(&r->budget_error, "--max-cost %s: %s is spent or in flight, and "
				 "job %zu is estimated at %s; no more jobs were sent (each run "
				 "may spend up to its own --max-cost: run the same command again "
				 "to send the rest)", budget,
				 spent, bj->index + 1, price_format(e->usd, est));
		r->stop_reason = r->budget_error.data;
	}
	return false;
}

/* Before each request: is there room on the folder's disk for its images
 * beside those of the requests in flight? If not, nothing more is sent (an
 * image that cannot be saved is paid for all the same). */
static bool room_to_launch(void *data, size_t running, const struct http_xfer *next)
{
	struct batch_run *r = data;
	const struct call *c = next->owner;

	if (!within_budget(r, as_batch_job(c->owner)))
		return false;
	struct statvfs st;
	unsigned long long have, need = ((unsigned long long)running + 1) * r->job_bytes;

	if (statvfs(r->plan.dir, &st))
		return true;   /* not known: the writes will say */
	have = (unsigned long long)st.f_bavail * st.f_frsize;
	if (have >= need)
		return true;
	if (!r->space_error.len) {
		buf_addf(&r->space_error, "the disk holding '%s' has %.1f MB free, and the next "
			 "job's images%s may need %.1f MB; no more jobs were sent (free some "
			 "space and run the same command again)", r->plan.dir, (double)have / 1e6,
			 running ? ", with those in flight," : "", (double)need / 1e6);
		r->stop_reason = r->space_error.data;
	}
	return false;
}

/* The temp files a killed run left in the folder (and its thumbnails). */
static void sweep(struct batch_run *r)
{
	char *thumbs = xasprintf("%s/%s", r->plan.dir, GALLERY_THUMB_DIR);
	size_t swept = afile_sweep(r->plan.dir) + afile_sweep(thumbs);

	if (swept) {
		char *text = xasprintf("removed %zu temp file%s left by a run that was killed",
				       swept, swept == 1 ? "" : "s");
		warn(r, "", text);
		free(text);
	}
	free(thumbs);
}

int batch_run_start(struct batch_run *r, struct buf *err)
{
	const char *missing = provider_missing_auth(&r->engine->api);
	struct job_env *env = &r->env;
	struct buf why = BUF_INIT;

	if (missing) {
		buf_addf(err, "%s (--dry-run works without it)", missing);
		return -1;
	}
	pthread_mutex_init(&r->ledger_lock, NULL);
	pthread_mutex_init(&r->error_lock, NULL);
	r->lock_made = true;
	more_files();
	if (mkdir_p(r->plan.dir) || access(r->plan.dir, W_OK | X_OK)) {
		buf_addf(err, "--out-dir: cannot write into '%s': %s", r->plan.dir, strerror(errno));
		return -1;
	}
	if (ledger_create(&r->ledger, err))
		return -1;
	/* What the run starts from, in one transaction (one sync to disk, and
	 * another run sees all of it or none): old keys rekeyed, every name
	 * reserved, the jobs claimed and recorded as pending, the records a
	 * kill left unwritten, the jobs superseded. Committed before anything
	 * is sent. */
	if (ledger_begin(&r->ledger, err) || rekey(r, err) || reserve_names(r, err) ||
	    claim_jobs(r, err) || record_recovered(r, err) || supersede(r, err) ||
	    ledger_commit(&r->ledger, err)) {
		ledger_abort(&r->ledger);
		return -1;
	}
	sweep(r);
	*env = (struct job_env)JOB_ENV_INIT;
	env->loop = &r->engine->loop;
	env->api = &r->engine->api;
	env->retry = r->engine->retry;
	env->pace = &r->engine->pace;
	env->prices = &r->engine->prices;
	env->history = r->engine->history.db ? &r->engine->history : NULL;
	env->data = r;
	env->batch_api = r->batch_api;
	job_env_init(env, r->defaults, &r->chroma);
	env->on_saved = on_saved;
	env->on_finished = on_finished;
	env->on_paid = on_paid;
	env->on_committing = on_committing;
	env->owns = owns;
	r->engine->loop.graceful = true;
	if (r->gallery && may_want_thumbnails(r) && thumbq_start(&r->thumbs, r->plan.dir, &why))
		warn(r, "gallery: thumbnails will be made at the end: ", why.data);
	buf_release(&why);
	/* Copies and keying use libvips on the worker: started here, once. */
	if ((env->downscale_max || env->chroma.enabled) && imgvips_ready(&why))
		buf_reset(&why);
	buf_release(&why);
	r->job_bytes = bytes_per_job(r);
	/* A Batch API run sends no image request: its budget was weighed
	 * before, and the server runs its jobs. */
	r->engine->loop.may_launch = r->batch_api ? NULL : room_to_launch;
	r->engine->loop.may_launch_data = r;
	struct commitq_ops ops = { job_commit_handed, record, job_committed, check_ledger, r };
	r->renew_at = now_ms() + (r->renew_ms > 0 ? r->renew_ms : LEDGER_RENEW_S * 1000);
	if (commitq_start(&r->commits, &r->engine->loop, &ops) == 0)
		env->commit = hand_over;
	for (size_t i = 0; i < r->plan.n; i++) {
		struct batch_job *bj = &r->plan.jobs[i];
		/* A job in a Batch API batch is that batch's to answer. */
		if (bj->elsewhere || (bj->remote && !bj->resumed && !r->batch_api))
			continue;
		if (!bj->resumed && r->batch_api) {
			ready_job(r, bj, false);
			continue;
		}
		if (!bj->resumed) {
			start_job(r, bj);
			continue;
		}
		if (env->sidecar || env->downscale_max)
			finish_locally(r, bj);
		if (r->events->resumed)
			r->events->resumed(r->events->ud, bj);
	}
	return 0;
}

/* Sends a job that ended again: its prompt and names back from the ended
 * job, which is released and made anew. */
static void send_again(struct batch_run *r, struct batch_job *bj)
{
	struct job *job = &bj->job;

	bj->attempts_before = job->call.attempts;
	bj->sent = job->prompt;
	job->prompt = NULL;
	bj->names = job->names;
	job->names = (struct name_plan)NAME_PLAN_INIT;
	job_release(job);
	memset(job, 0, sizeof(*job));
	bj->held_back = false;
	bj->second = true;
	start_job(r, bj);
}

size_t batch_run_second_round(struct batch_run *r)
{
	struct http_loop *loop = &r->engine->loop;
	bool over = r->stop_reason || loop->stopped || (loop->interrupts && *loop->interrupts);
	size_t n = 0;
	char *text;

	if (!r->held_back)
		return 0;
	if (!over) {
		text = xasprintf("second round: %zu job%s that failed only for a passing reason "
				 "(the connection, a 429 or 5xx, an answer cut short) %s sent once "
				 "more", r->held_back, r->held_back == 1 ? "" : "s",
				 r->held_back == 1 ? "is" : "are");
		if (r->events->note)
			r->events->note(r->events->ud, text);
		free(text);
	}
	r->held_back = 0;
	for (size_t i = 0; i < r->plan.n; i++) {
		struct batch_job *bj = &r->plan.jobs[i];
		if (!bj->held_back)
			continue;
		if (over) {   /* said failed, as it was */
			bj->held_back = false;
			r->failed++;
			if (r->events->finished)
				r->events->finished(r->events->ud, bj);
			continue;
		}
		r->second_round++;
		n++;
		send_again(r, bj);
	}
	return n;
}

int batch_run_finish(struct batch_run *r, struct buf *err)
{
	engine_run(r->engine);
	while (batch_run_second_round(r))
		engine_run(r->engine);
	return batch_run_conclude(r, err);
}

int batch_run_conclude(struct batch_run *r, struct buf *err)
{
	/* Interrupted, the loop ends with commits still out: every image
	 * received is saved and recorded before the run says what it did. */
	commitq_finish(&r->commits);
	release_unsent(r);
	check_ledger(r);   /* the last records may have failed */
	if (!r->gallery)
		return 0;
	thumbq_finish(&r->thumbs);
	return gallery_write(r->plan.dir, &r->ledger, err);
}

void batch_run_release(struct batch_run *r)
{
	commitq_finish(&r->commits);
	ledger_unclaim(&r->ledger);
	batch_plan_release(&r->plan);
	ledger_release(&r->ledger);
	buf_release(&r->ledger_error);
	buf_release(&r->space_error);
	buf_release(&r->budget_error);
	if (r->lock_made) {
		pthread_mutex_destroy(&r->ledger_lock);
		pthread_mutex_destroy(&r->error_lock);
	}
	r->lock_made = false;
}
