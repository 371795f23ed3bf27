/* imagegen batch: many generation jobs at once on one curl multi loop,
 * rate-limit aware, resumable from its job ledger, never paying twice. The
 * engine runs the batch (engine/batchrun.c); this file reads the jobs,
 * prints paths, JSON lines, progress and the summary. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "advice.h"
#include "batchapi.h"
#include "batchrun.h"
#include "cli.h"
#include "commands.h"
#include "cost.h"
#include "dryrun.h"
#include "gallery.h"
#include "msg.h"
#include "progress.h"
#include "value.h"

static const char usage[] =
	"imagegen batch [options] PROMPT...\n"
	"       imagegen batch [options] --input jobs.jsonl";
static const char about[] =
	"Generate many images at once. Each prompt (or JSONL line) is a job; jobs run\n"
	"concurrently, wait out rate limits together and resume where they stopped:\n"
	"running the same command again sends only the jobs not yet done (the folder's\n"
	".imagegen/ledger.db knows each job by what it sends, not by its line). A\n"
	"JSONL line with \"image\" (and \"mask\", \"markup\") is an edit.\n"
	"\n"
	"With --batch-api the jobs go through the OpenAI Batch API instead: half the\n"
	"price, done within 24 hours. The same command again resumes: it never makes a\n"
	"second batch of the same jobs, and collects what the batches made.";

#define DEFAULT_CONCURRENCY 5
#define JOBFILE_MAX (64L * 1024 * 1024)

struct batch_cli {
	struct cli *cli;
	const char *input;
	long concurrency;
	long rpm;
	bool fail_fast;
	bool no_gallery;
	bool batch_api;
	struct batch_api_opts remote;
	long batch_size;
	struct engine engine;
	struct batch_run run;
	struct progress progress;
	bool said_stopping;          /* the first Ctrl-C was answered */
};

/* ---- reading the jobs ---- */

static int read_items(struct batch_cli *b, struct batch_items *items, struct buf *err)
{
	struct buf text = BUF_INIT;
	int rc = -1;

	if (!b->input) {
		for (size_t i = 0; i < b->cli->words.n; i++) {
			/* The API answers a blank prompt with a 400: refused first,
			 * as generate refuses it. */
			if (prompt_is_blank(b->cli->words.v[i])) {
				buf_addf(err, "prompt %zu: the prompt is empty%s", i + 1,
					 *b->cli->words.v[i] ? " (only white space)" : "");
				return -1;
			}
			jobfile_add_prompt(items, b->cli->words.v[i]);
		}
		if (!items->n)
			buf_addf(err, "no jobs: give prompts or --input FILE");
		return items->n ? 0 : -1;
	}
	if (b->cli->words.n) {
		buf_addf(err, "--input: give jobs in the file or as words, not both");
		return -1;
	}
	if (!strcmp(b->input, "-") ? read_all_fd(STDIN_FILENO, JOBFILE_MAX, &text)
				   : read_file(b->input, JOBFILE_MAX, &text)) {
		buf_addf(err, "--input: cannot read '%s': %s", b->input, strerror(errno));
		goto cleanup;
	}
	if (jobfile_parse(text.data ? text.data : "", text.len, items, err))
		goto cleanup;
	if (!items->n) {
		buf_addf(err, "--input: '%s' holds no jobs", b->input);
		goto cleanup;
	}
	rc = 0;
cleanup:
	buf_release(&text);
	return rc;
}

/* --no-augment sends each prompt as given: a job's own prompt fields would
 * be lost without a word. 0, or -1 naming the line in err. */
static int check_no_augment(const struct cli *c, const struct batch_items *items,
			    struct buf *err)
{
	static const char *const api_styles[] = { "vivid", "natural", NULL };

	for (size_t i = 0; c->spec.no_augment && i < items->n; i++) {
		const struct batch_item *item = &items->v[i];
		const char *field = prompt_fields_first(&item->fields);
		if (!field && item->style_text && !one_of(item->style_text, api_styles))
			field = "style";
		if (!field)
			continue;
		buf_addf(err, "%s %zu: --no-augment and \"%s\": --no-augment sends the prompt "
			 "without the prompt fields; give one of them", item->line ? "line" : "prompt",
			 item->line ? item->line : i + 1, field);
		return -1;
	}
	return 0;
}

/* ---- what the engine tells us ---- */

enum { PROMPT_SHOWN = 32 };   /* characters of a prompt in a job's name */

/* A job as the user knows it: "job 2 (line 5, \"a red fox in the snow at
 * dawn, low...\")": its line when it came from a file, and the start of its
 * prompt, cut between characters, control characters made harmless. The
 * caller frees. */
static char *job_name(const struct batch_job *bj)
{
	const unsigned char *p = (const unsigned char *)bj->item->prompt;
	struct buf b = BUF_INIT;

	buf_addf(&b, "job %zu (", bj->index + 1);
	if (bj->item->line)
		buf_addf(&b, "line %zu, ", bj->item->line);
	buf_adds(&b, "\"");
	for (size_t shown = 0; p && *p && shown < PROMPT_SHOWN; shown++) {
		size_t len = 1;
		while (len < 4 && (p[len] & 0xC0) == 0x80)
			len++;
		if (*p < 0x20 || *p == 0x7f)
			buf_adds(&b, " ");
		else if (*p == 0xc2 && len == 2 && p[1] <= 0x9f)   /* a C1 control */
			buf_adds(&b, "?");
		else
			buf_add(&b, p, len);
		p += len;
	}
	if (p && *p) {
		while (b.len && b.data[b.len - 1] == ' ')
			b.len--;
		buf_adds(&b, "...");
	}
	buf_adds(&b, "\")");
	return buf_detach(&b);
}

/* Off a terminal (a log, CI), where no progress line is drawn: a line for
 * each job done, "[3/10] job 2 (line 2, \"...\"): 02-fox.png, 959 tokens,
 * $0.0287", so a log shows the run going and what each job made. */
static void print_job_done(const struct batch_cli *b, const struct batch_job *bj)
{
	const struct job *job = &bj->job;
	char *name = job_name(bj), usd[32];
	struct buf files = BUF_INIT;

	for (size_t i = 0; job->saved && i < job->names.n; i++)
		if (job->saved[i])
			buf_addf(&files, "%s%s", files.len ? ", " : "", path_basename(job->saved[i]));
	if (!files.len)
		buf_adds(&files, "no file saved");
	if (job->usage.present)
		buf_addf(&files, ", %ld tokens", job->usage.total);
	if (job->paid && job->cost.basis != COST_UNKNOWN)
		buf_addf(&files, ", %s", price_format(job->cost.usd, usd));
	notef("[%zu/%zu] %s done: %s", b->run.done + b->run.failed, b->progress.total, name,
	      files.data);
	buf_release(&files);
	free(name);
}

static void print_json_line(const struct batch_cli *b, const struct batch_job *bj,
			    const char *status)
{
	json_t *o = batch_job_json(bj, status, b->run.plan.dir);

	json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	putchar('\n');
	fflush(stdout);
	json_decref(o);
}

static void on_saved(void *ud, const struct batch_job *bj, size_t index, const char *path)
{
	struct batch_cli *b = ud;

	if (b->cli->json)
		return;
	progress_clear(&b->progress);
	printf("%s\n", path);
	fflush(stdout);
	if (index != JOB_EXTRA_FILE && bj->job.images[index].chroma_keyed)
		notef("%skeyed %.0f%% of the pixels of '%s'", bj->label ? bj->label : "",
		      bj->job.images[index].keyed_share * 100, path);
}

/* "3 attempts", or with a second round "6 attempts, the last 3 at the end of
 * the run", into out; NULL for a job tried once. */
static const char *job_attempts(const struct batch_job *bj, char out[64])
{
	int now = bj->job.call.attempts, all = now + bj->attempts_before;

	if (all < 2)
		return NULL;
	if (bj->second)
		snprintf(out, 64, "%d attempts, the last %d at the end of the run", all, now);
	else
		snprintf(out, 64, "%d attempts", all);
	return out;
}

static void on_finished(void *ud, const struct batch_job *bj)
{
	struct batch_cli *b = ud;

	b->progress.done = b->run.done;
	b->progress.failed = b->run.failed;
	b->progress.tokens = b->run.tokens;
	if (bj->job.state == JOB_DONE && !b->progress.enabled)
		print_job_done(b, bj);
	if (bj->job.state == JOB_FAILED) {
		char *name = job_name(bj), n[64];
		const char *attempts = job_attempts(bj, n);
		progress_clear(&b->progress);
		errorf("%s: %s%s%s%s", name, bj->job.error.data, attempts ? " (after " : "",
		       attempts ? attempts : "", attempts ? ")" : "");
		free(name);
	}
	if (b->cli->json)
		print_json_line(b, bj, batch_job_status(bj));
}

/* A job an earlier run did: its files are the batch's all the same, so
 * stdout lists them as if made now (a rerun piped to xargs sees every
 * image, not only the ones this run made). */
static void on_resumed(void *ud, const struct batch_job *bj)
{
	struct batch_cli *b = ud;
	json_t *f;
	size_t i;

	if (b->cli->json) {
		print_json_line(b, bj, "done");
		return;
	}
	json_array_foreach(json_object_get(bj->earlier, "files"), i, f)
		if (json_is_string(f))
			printf("%s/%s\n", b->run.plan.dir, json_string_value(f));
	fflush(stdout);
}

static void on_warning(void *ud, const char *text)
{
	struct batch_cli *b = ud;

	progress_clear(&b->progress);
	warnf("%s", text);
}

static void on_note(void *ud, const char *text)
{
	struct batch_cli *b = ud;

	progress_clear(&b->progress);
	notef("%s", text);
}

static void on_tick(void *data)
{
	struct batch_cli *b = data;

	b->progress.running = b->engine.loop.running;
	/* The first Ctrl-C only stops launching (the loop is graceful): say
	 * so at once, or the run looks as if it ignored it. */
	if (cli_interrupts == 1 && !b->said_stopping && b->engine.loop.running) {
		b->said_stopping = true;
		progress_clear(&b->progress);
		notef("stopping: %zu in flight will finish; ^C again aborts",
		      b->engine.loop.running);
	}
	progress_draw(&b->progress, false);
}

/* ---- the run ---- */

/* The jobs to send whose cost is estimated (in r->estimate). */
static size_t estimated_jobs(const struct batch_run *r)
{
	return r->plan.n - r->resumed - r->remote_waiting - r->unestimated;
}

/* "$1.0536 (prices of 2026-11-30)" ("at most $1.0536 ..." when an estimate
 * is an upper bound), "$0.0527 for 2 jobs, and 1 with no estimate (why)" or
 * "unknown for 3 jobs (why)": never $0 for jobs that have no estimate. The
 * caller frees. */
static char *estimate_text(const struct batch_run *r)
{
	const char *date = r->engine->prices.date;
	size_t known = estimated_jobs(r);
	char usd[32];

	if (r->unestimated && !known)
		return xasprintf("unknown for %zu job%s (%s)", r->unestimated,
				 r->unestimated == 1 ? "" : "s", r->estimate_why);
	if (r->unestimated)
		return xasprintf("%s%s for %zu job%s, and %zu with no estimate (%s)",
				 r->estimate_bound ? "at most " : "",
				 price_format(r->estimate, usd), known, known == 1 ? "" : "s",
				 r->unestimated, r->estimate_why);
	return xasprintf("%s%s%s%s%s", r->estimate_bound ? "at most " : "",
			 price_format(r->estimate, usd), date ? " (prices of " : "",
			 date ? date : "", date ? ")" : "");
}

/* The start line's "estimated $1.0536 (...)" or "estimated: unknown for 3
 * jobs (why)"; the caller frees. */
static char *estimated_text(const struct batch_run *r)
{
	char *amount = estimate_text(r);
	char *said = xasprintf("estimated%s %s", r->unestimated && !estimated_jobs(r) ? ":" : "",
			       amount);

	free(amount);
	return said;
}

/* The summary's "estimated $1.0536 before sending", or what was not known:
 * "estimated before sending: unknown (3 jobs had no estimate)", "... $0.0527
 * for 2 jobs, unknown for 1". The caller frees. */
static char *before_text(const struct batch_run *r)
{
	double estimate = r->estimate + (r->batch_api ? r->remote_estimate : 0);
	size_t known = estimated_jobs(r) + (r->batch_api ? r->remote_waiting : 0);
	char usd[32];

	const char *most = r->estimate_bound ? "at most " : "";

	if (!r->unestimated)
		return xasprintf("estimated %s%s before sending", most, price_format(estimate, usd));
	if (!known)
		return xasprintf("estimated before sending: unknown (%zu job%s had no estimate)",
				 r->unestimated, r->unestimated == 1 ? "" : "s");
	return xasprintf("estimated before sending: %s%s for %zu job%s, unknown for %zu", most,
			 price_format(estimate, usd), known, known == 1 ? "" : "s",
			 r->unestimated);
}

/* What the jobs to send ask for: "12 images, gpt-image-2, quality high, size
 * 1024x1024", or "several" where jobs differ; the caller frees. */
static char *asked_text(const struct batch_run *r)
{
	const char *model = NULL, *quality = NULL, *size = NULL;
	bool models = false, qualities = false, sizes = false;
	long images = 0;

	for (size_t i = 0; i < r->plan.n; i++) {
		const struct batch_job *bj = &r->plan.jobs[i];
		const struct img_params *p = &bj->params;
		if (bj->resumed || bj->remote)
			continue;
		images += p->n > 0 ? p->n : 1;
		models |= model && strcmp(model, p->model);
		qualities |= quality && strcmp(quality, p->quality ? p->quality : "default");
		sizes |= size && strcmp(size, p->size ? p->size : "default");
		model = p->model;
		quality = p->quality ? p->quality : "default";
		size = p->size ? p->size : "default";
	}
	if (!model)
		return xstrdup("nothing to send");
	return xasprintf("%ld image%s, %s, quality %s, size %s", images, images == 1 ? "" : "s",
			 models ? "several models" : model, qualities ? "several" : quality,
			 sizes ? "several" : size);
}

static void print_dry_run(struct batch_cli *b, const struct batch_items *items)
{
	const struct api_config *api = &b->engine.api;
	const struct batch_plan *plan = &b->run.plan;

	for (size_t i = 0; !b->cli->json && i < items->ncomments; i++) {
		printf("# line %zu skipped as a comment: ", items->comments[i].line);
		cli_put_safe(stdout, items->comments[i].text);
		putchar('\n');
	}
	if (!b->cli->json && items->ncomments)
		putchar('\n');

	for (size_t i = 0; i < plan->n; i++) {
		const struct batch_job *bj = &plan->jobs[i];
		if (bj->resumed) {
			if (!b->cli->json)
				printf("# job %zu: done by an earlier run, not sent\n", i + 1);
			continue;
		}
		if (!b->cli->json)
			printf("# job %zu%s%s\n", i + 1, bj->item->id ? ": " : "",
			       bj->item->id ? bj->item->id : "");
		char *url;
		struct form form;
		struct cost c;
		json_t *body = batch_job_request(&b->run, bj, &url, &form);
		cost_estimate_params(&b->engine.prices, &bj->params, bj->sent, bj->input_tokens,
				     b->run.batch_api,
				     b->engine.history.db ? &b->engine.history : NULL, &c);
		json_t *o = cost_json(&b->engine.prices, bj->params.model, &c);
		char *text = cost_describe(&b->engine.prices, bj->params.model, &c);
		dryrun_print(stdout, api, url, body, form.n ? &form : NULL, &bj->names, false, o,
			     text, b->cli->json);
		json_decref(o);
		free(text);
		json_decref(body);
		form_release(&form);
		free(url);
		if (!b->cli->json)
			putchar('\n');
	}
	if (!b->cli->json) {
		char *total = estimate_text(&b->run);
		printf("# estimated cost of %zu job%s to send: %s\n", plan->n - b->run.resumed,
		       plan->n - b->run.resumed == 1 ? "" : "s", total);
		free(total);
	}
}

/* What to do about the failures, each kind of advice once however many
 * jobs it is for (a refused connection fails them all). */
static void print_hints(const struct batch_run *r)
{
	bool said[ADVICE_KINDS] = { false };

	for (size_t i = 0; i < r->plan.n; i++) {
		const struct job *job = &r->plan.jobs[i].job;
		struct buf hint = BUF_INIT;
		enum advice kind;

		if (job->state != JOB_FAILED)
			continue;
		kind = advice_for(&job->call, &r->engine->api, r->plan.jobs[i].params.model, &hint);
		if (kind != ADVICE_NONE && !said[kind])
			errdetailf("hint: %s", hint.data);
		said[kind] = true;
		buf_release(&hint);
	}
}

static int summarize(struct batch_cli *b, int64_t started)
{
	const struct batch_run *r = &b->run;
	size_t not_sent = 0, aborted = 0;

	progress_clear(&b->progress);
	for (size_t i = 0; i < r->plan.n; i++) {
		const struct batch_job *bj = &r->plan.jobs[i];
		not_sent += !bj->resumed && !bj->elsewhere && !bj->remote &&
			    !bj->job.call.xfer.launches && bj->job.state != JOB_FAILED;
		/* Sent, and stopped by a second Ctrl-C before its answer was whole. */
		aborted += bj->job.state == JOB_INTERRUPTED && bj->job.call.xfer.launches;
	}
	notef("done: %zu image%s from %zu of %zu jobs in %.1f s, %ld tokens%s", r->images,
	      r->images == 1 ? "" : "s", r->done, r->plan.n, (now_ms() - started) / 1000.0,
	      r->tokens, r->partial_tokens ? " (and partial images)" : "");
	if (r->partial_tokens)
		notef("partial images: %ld output tokens billed beside the reported usage",
		      r->partial_tokens);
	char spent[32], *before = before_text(r);
	if (r->unpriced)
		notef("cost: %s for the jobs priced, and %zu whose cost is unknown; %s",
		      price_format(r->spent, spent), r->unpriced, before);
	else
		notef("cost: %s; %s", price_format(r->spent, spent), before);
	free(before);
	if (r->resumed)
		notef("%zu job%s done by an earlier run (not sent again)", r->resumed,
		      r->resumed == 1 ? "" : "s");
	if (r->second_round == 1)
		notef("1 job went again at the end of the run, and was %sdone",
		      r->second_done ? "" : "not ");
	else if (r->second_round)
		notef("%zu jobs went again at the end of the run, and %zu of them were done",
		      r->second_round, r->second_done);
	notef("folder: %s", r->plan.dir);
	if (r->stop_reason)
		errorf("%s", r->stop_reason);
	/* A ledger that failed after something else had stopped the run. */
	if (r->ledger_error.len && r->stop_reason != r->ledger_error.data)
		errorf("%s", r->ledger_error.data);
	if (r->failed) {
		errorf("%zu job%s failed:", r->failed, r->failed == 1 ? "" : "s");
		for (size_t i = 0; i < r->plan.n; i++) {
			const struct job *job = &r->plan.jobs[i].job;
			if (job->state != JOB_FAILED)
				continue;
			char *name = job_name(&r->plan.jobs[i]), n[64];
			const char *attempts = job_attempts(&r->plan.jobs[i], n);
			errdetailf("%s: %s%s%s%s", name, job->error.data, attempts ? " (after " : "",
				   attempts ? attempts : "", attempts ? ")" : "");
			free(name);
		}
		print_hints(r);
	}
	if (aborted)
		notef("%zu job%s left: %zu not sent, %zu interrupted in flight (the server may bill "
		      "%s all the same); run the same command again to finish", not_sent + aborted,
		      not_sent + aborted == 1 ? "" : "s", not_sent, aborted,
		      aborted == 1 ? "it" : "them");
	else if (not_sent)
		notef("%zu job%s not sent; run the same command again to finish", not_sent,
		      not_sent == 1 ? "" : "s");
	/* Not this run's to pay for, nor done as far as it knows. */
	if (r->elsewhere)
		errorf("%zu job%s left to another imagegen run (pid %ld%s%s) that is making "
		       "%s; run the same command again once it ends", r->elsewhere,
		       r->elsewhere == 1 ? " was" : "s were", r->other.pid,
		       r->other.host[0] ? " on " : "", r->other.host,
		       r->elsewhere == 1 ? "it" : "them");
	if (r->remote_waiting && r->batch_api)
		notef("%zu job%s in Batch API batches that have not ended; run the same "
		      "command again to collect %s (or with --cancel to cancel %s)",
		      r->remote_waiting, r->remote_waiting == 1 ? " is" : "s are",
		      r->remote_waiting == 1 ? "it" : "them", r->remote_waiting == 1 ? "it" : "them");
	else if (r->remote_waiting)
		errorf("%zu job%s in Batch API batches, not sent again; run the same command "
		       "with --batch-api to collect %s", r->remote_waiting,
		       r->remote_waiting == 1 ? " is" : "s are", r->remote_waiting == 1 ? "it" : "them");
	if (cli_interrupts)
		return EXIT_INTERRUPTED;
	if (r->remote_waiting && !b->remote.no_wait)
		return EXIT_FAILED;
	return r->failed || r->stop_reason || r->elsewhere || r->ledger_error.len ? EXIT_FAILED
										     : EXIT_OK;
}

static int run_batch(struct batch_cli *b, struct buf *err)
{
	struct batch_run *r = &b->run;
	int64_t started = now_ms();

	b->progress.total = r->plan.n - r->resumed;
	b->progress.started_ms = started;
	b->progress.enabled = isatty(STDERR_FILENO) && !msg_quiet();
	char *asked = asked_text(r);
	/* Cancelling sends nothing to pay for. */
	int rc = b->remote.cancel ? -1 : cli_check_cost(b->cli, asked, r->estimate,
							 r->unestimated, r->estimate_why, err);
	if (rc != -1) {
		free(asked);
		if (rc == EXIT_INTERRUPTED)
			errorf("%s", err->data);
		return rc;
	}
	if (batch_run_start(r, err)) {
		free(asked);
		return EXIT_USAGE;
	}
	char *estimate = estimated_text(r), before[32];
	size_t to_send = b->progress.total - r->remote_waiting;
	if (b->remote.cancel)
		notef("batch: cancelling the Batch API batches of %s", r->plan.dir);
	else if (r->batch_api)
		notef("batch: %zu job%s (%s) through the Batch API, into %s; %s at the "
		      "Batch price%s%s%s%s", to_send, to_send == 1 ? "" : "s", asked, r->plan.dir,
		      estimate, r->remote_waiting ? "; and " : "",
		      r->remote_waiting ? price_format(r->remote_estimate, before) : "",
		      r->remote_waiting ? " for the jobs of batches made before, " : "",
		      r->remote_waiting ? "to collect" : "");
	else
		notef("batch: %zu job%s (%s), %ld at a time, into %s; %s", to_send,
		      to_send == 1 ? "" : "s", asked, b->concurrency, r->plan.dir, estimate);
	free(asked);
	free(estimate);
	b->engine.loop.tick = on_tick;
	b->engine.loop.tick_data = b;
	buf_reset(err);
	if (r->batch_api && batch_api_run(r, &b->remote, err)) {
		if (!cli_interrupts)
			errorf("%s", err->data);
		r->stop_reason = "the Batch API run stopped; what it made is in the folder's "
				 "ledger: run the same command again to go on";
	}
	buf_reset(err);
	if (batch_run_finish(r, err))
		warnf("gallery: %s", err->data);
	else if (r->gallery)
		notef("gallery: %s/%s", r->plan.dir, GALLERY_NAME);
	return summarize(b, started);
}

/* What one Batch API input file may hold: the API's 200 MB, or less for the
 * tests (IMAGEGEN_BATCH_MAX_BYTES, a hidden knob: a split then needs no
 * 200 MB of lines). */
static unsigned long long batch_max_bytes(void)
{
	const char *v = getenv("IMAGEGEN_BATCH_MAX_BYTES");
	unsigned long long n;
	char *end;

	if (!v || !*v)
		return BATCH_API_MAX_BYTES;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || *end || !n || n > BATCH_API_MAX_BYTES || *v == '-') {
		warnf("IMAGEGEN_BATCH_MAX_BYTES: '%s' is not a number of bytes from 1 to %llu; "
		      "ignored", v, BATCH_API_MAX_BYTES);
		return BATCH_API_MAX_BYTES;
	}
	return n;
}

/* The Batch API's options: only with --batch-api, which takes no stream
 * and only the OpenAI provider. 0, or -1 with why in err. */
static int check_batch_api(struct batch_cli *b, struct buf *err)
{
	const struct job_spec *s = &b->cli->spec;
	const char *alone = b->remote.no_wait ? "--no-wait" : b->remote.cancel ? "--cancel" :
			    b->batch_size ? "--batch-size" : b->remote.poll >= 0 ? "--poll" : NULL;

	if (!b->batch_api) {
		if (alone)
			buf_addf(err, "%s: only with --batch-api", alone);
		return alone ? -1 : 0;
	}
	if (strcmp(b->engine.api.provider->name, "openai")) {
		buf_addf(err, "--batch-api: the OpenAI Batch API only (not --provider %s)",
			 b->engine.api.provider->name);
		return -1;
	}
	if (s->params.stream || s->params.partial_images > 0) {
		buf_addf(err, "--batch-api: the Batch API does not stream; drop %s",
			 s->params.partial_images > 0 ? "--partial-images" : "--stream");
		return -1;
	}
	if (b->fail_fast || b->rpm) {
		buf_addf(err, "--batch-api: %s does not apply (the server runs the jobs)",
			 b->fail_fast ? "--fail-fast" : "--rpm");
		return -1;
	}
	b->remote.max_lines = b->batch_size ? (size_t)b->batch_size : BATCH_API_MAX_LINES;
	b->remote.max_bytes = batch_max_bytes();
	if (b->remote.poll < 0)
		b->remote.poll = 5;
	return 0;
}

/* With IMAGEGEN_DEBUG_LEDGER set: how many write transactions the run made
 * in the folder's ledger (its claims at the end not counted), so that tests
 * can check that writes are grouped without timing anything. */
static void debug_ledger(const struct batch_run *r)
{
	const char *on = getenv("IMAGEGEN_DEBUG_LEDGER");

	if (on && *on)
		notef("debug: the job ledger took %lu write transaction%s", r->ledger.commits,
		      r->ledger.commits == 1 ? "" : "s");
}

/* IMAGEGEN_DEBUG_RENEW_MS: how often the run renews its claims' lease, in
 * ms, for a test that cannot wait the 2 minutes; 0 (unset) for the
 * default. */
static int64_t debug_renew_ms(void)
{
	const char *v = getenv("IMAGEGEN_DEBUG_RENEW_MS");
	long ms = 0;

	if (v && *v && value_parse_long(v, 1, 3600000, &ms))
		ms = 0;
	return ms;
}

/* One warning the plan gave, and the jobs ("line 3", "prompt 2") it was
 * given for. */
struct said {
	const char *text;            /* borrowed from the plan's warnings */
	int len;
	const char *kind;            /* "line" or "prompt", or NULL: the run's own */
	size_t first, count;
	struct buf numbers;          /* ", 2, 3" after the first, up to a few */
};

enum { NUMBERS_SHOWN = 5 };

/* Parses "line 3: TEXT" or "prompt 2: TEXT"; false for a line of another form. */
static bool job_warning(const char *line, int len, const char **kind, size_t *number,
			const char **text)
{
	const char *kinds[] = { "line ", "prompt " };

	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		size_t klen = strlen(kinds[k]);
		char *end;
		if ((size_t)len <= klen || strncmp(line, kinds[k], klen))
			continue;
		unsigned long long n = strtoull(line + klen, &end, 10);
		if (end == line + klen || end + 2 > line + len || end[0] != ':' || end[1] != ' ')
			return false;
		*kind = k ? "prompt" : "line";
		*number = (size_t)n;
		*text = end + 2;
		return true;
	}
	return false;
}

/* The plan's warnings, one a line, each said once: a warning given for many
 * jobs (gpt-image-2's transparency in preview, for every job that asks for
 * it) is one line naming them ("prompts 1, 2, 3: ..."), not one a job. */
static void print_plan_warnings(const struct buf *warn)
{
	struct said *said = NULL;
	size_t n = 0;

	for (const char *p = warn->data; p && *p;) {
		const char *nl = strchr(p, '\n'), *kind = NULL, *text = p;
		int len = nl ? (int)(nl - p) : (int)strlen(p);
		size_t number = 0, i;

		if (!job_warning(p, len, &kind, &number, &text))
			kind = NULL, text = p;
		int tlen = len - (int)(text - p);
		for (i = 0; i < n; i++)
			if (said[i].len == tlen && !strncmp(said[i].text, text, (size_t)tlen) &&
			    said[i].kind == kind)
				break;
		if (i == n) {
			struct said *more = realloc(said, (n + 1) * sizeof(*said));
			if (!more)
				abort();
			said = more;
			said[n++] = (struct said){ text, tlen, kind, number, 0, BUF_INIT };
		} else if (said[i].count < NUMBERS_SHOWN) {
			buf_addf(&said[i].numbers, ", %zu", number);
		}
		said[i].count++;
		p = nl ? nl + 1 : NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const struct said *w = &said[i];
		if (!w->kind)
			warnf("%.*s", w->len, w->text);
		else if (w->count == 1)
			warnf("%s %zu: %.*s", w->kind, w->first, w->len, w->text);
		else if (w->count <= NUMBERS_SHOWN)
			warnf("%ss %zu%s: %.*s", w->kind, w->first, w->numbers.data, w->len, w->text);
		else
			warnf("%ss %zu%s and %zu more: %.*s", w->kind, w->first, w->numbers.data,
			      w->count - NUMBERS_SHOWN, w->len, w->text);
		buf_release(&said[i].numbers);
	}
	free(said);
}

/* Everything before the first request. Returns -1 to run, or an exit status. */
static int prepare(struct batch_cli *b, struct batch_items *items, struct buf *err)
{
	struct buf warn = BUF_INIT;
	int failed;

	b->cli->spec.preview = b->cli->dry_run;   /* data: URLs summarised when shown */
	failed = spec_check_options(&b->cli->spec, err) || read_items(b, items, err) ||
		     check_no_augment(b->cli, items, err) ||
		     batch_run_prepare(&b->run, items, &warn, err);

	print_plan_warnings(&warn);
	buf_release(&warn);
	if (failed)
		return EXIT_USAGE;
	if (items->ncomments)
		notef("--input: %zu comment line%s skipped (a line that starts with '# '%s)",
		      items->ncomments, items->ncomments == 1 ? "" : "s",
		      b->cli->dry_run ? "; listed in the dry run" : "");
	if (b->cli->dry_run) {
		print_dry_run(b, items);
		return EXIT_OK;
	}
	return -1;
}

int cmd_batch(int argc, char **argv)
{
	struct cli c = CLI_INIT;
	struct batch_cli b = { .cli = &c,
			       .remote = { .poll = -1 } };
	struct batch_events events = { on_saved, on_finished, on_resumed, on_warning, on_note, &b };
	struct opt opts[] = {
		OPT_GROUP("Jobs"),
		OPT_STRING(0, "input", &b.input, "FILE", "JSONL jobs, one per line ('-' = standard input)"),
		OPT_INT(0, "concurrency|workers", &b.concurrency, "N", 1, 100, "requests in flight at once (default 5)"),
		OPT_INT(0, "rpm", &b.rpm, "N", 1, 100000, "at most N requests a minute (your tier's limit)"),
		OPT_CLI_BATCH_RUN(&b.fail_fast, &b.no_gallery),
		OPT_GROUP("The OpenAI Batch API"),
		OPT_BOOL(0, "batch-api", &b.batch_api, "send the jobs as Batch API batches: half price, done within 24 h"),
		OPT_BOOL(0, "no-wait", &b.remote.no_wait, "with --batch-api: submit and exit (the same command again collects)"),
		OPT_BOOL(0, "cancel", &b.remote.cancel, "with --batch-api: cancel the folder's batches, collect what ran"),
		OPT_INT(0, "batch-size", &b.batch_size, "N", 1, BATCH_API_MAX_LINES, "with --batch-api: at most N jobs a batch (default 50000)"),
		OPT_SECONDS(0, "poll", &b.remote.poll, "SECONDS", 0, 86400, "with --batch-api: first wait between polls (default 5; grows to 60)"),
		OPT_GROUP("Prompt fields (defaults for every job)"),
		OPT_CLI_FIELDS(&c),
		OPT_CLI_PARAMS(&c),
		OPT_GROUP("Output"),
		OPT_CLI_BATCH_OUTPUT(&c),
		OPT_BOOL(0, "json", &c.json, "print one JSON object per job per line on stdout"),
		OPT_CLI_METADATA(&c),
		OPT_CLI_IMAGE_WORK(&c),
		OPT_CLI_DRY_QUIET(&c),
		OPT_CLI_COST(&c),
		OPT_CLI_CONNECTION(&c),
		OPT_END(),
	};
	struct batch_items items = BATCH_ITEMS_INIT;
	struct buf err = BUF_INIT;
	int rc = cli_parse(&c, opts, usage, about, argc, argv);

	if (rc != -1)
		goto cleanup;
	c.command = "batch";
	c.spec.json_form = b.batch_api;   /* a Batch API line is JSON */
	if (cli_settings(&c, &err) ||
	    (b.concurrency = cli_concurrency(&c, b.concurrency, DEFAULT_CONCURRENCY)) < 1 ||
	    cli_engine(&c, &b.engine, (size_t)b.concurrency, b.rpm, &err) ||
	    check_batch_api(&b, &err)) {
		rc = EXIT_USAGE;
		errorf("%s", err.data);
		goto cleanup;
	}
	b.run = (struct batch_run){ .engine = &b.engine, .defaults = &c.spec,
				    .fail_fast = b.fail_fast, .gallery = !b.no_gallery,
				    .batch_api = b.batch_api, .max_cost = c.max_cost,
				    .events = &events, .renew_ms = debug_renew_ms() };
	rc = prepare(&b, &items, &err);
	if (rc == -1)
		rc = run_batch(&b, &err);
	if (rc == EXIT_USAGE)
		errorf("%s", err.data);
	cli_close_history(&b.engine);
	debug_ledger(&b.run);
cleanup:
	batch_run_release(&b.run);
	batch_items_release(&items);
	engine_release(&b.engine);
	cli_release(&c);
	buf_release(&err);
	return rc;
}
