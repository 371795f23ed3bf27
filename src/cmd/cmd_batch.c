/* imagegen batch: many generation jobs at once on one curl multi loop,
 * rate-limit aware, resumable from its manifest, never paying twice. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "cli.h"
#include "commands.h"
#include "gallery.h"
#include "imgvips.h"
#include "thumbq.h"
#include "msg.h"
#include "progress.h"
#include "value.h"
#include "dryrun.h"

static const char usage[] =
	"imagegen batch [options] PROMPT...\n"
	"       imagegen batch [options] --input jobs.jsonl";
static const char about[] =
	"Generate many images at once. Each prompt (or JSONL line) is a job; jobs run\n"
	"concurrently, wait out rate limits together and resume where they stopped:\n"
	"running the same command again sends only the jobs not yet done.";

#define DEFAULT_CONCURRENCY 5
#define JOBFILE_MAX (64L * 1024 * 1024)

struct batch_run {
	struct cli *cli;
	const char *input;
	long concurrency;
	long rpm;
	bool fail_fast;
	bool no_gallery;
	struct chroma_opts chroma;   /* the defaults' image work, settled */
	struct thumbq thumbs;
	struct batch_plan plan;
	struct manifest manifest;
	struct engine engine;
	struct progress progress;
	size_t images;
	const char *stop_reason; /* why launching stopped (quota, --fail-fast) */
};

static struct batch_job *as_batch_job(struct job *job)
{
	return (struct batch_job *)job;
}

/* ---- reading the jobs ---- */

static int read_items(struct batch_run *run, struct batch_items *items, struct buf *err)
{
	struct buf text = BUF_INIT;
	int rc = -1;

	if (!run->input) {
		for (size_t i = 0; i < run->cli->words.n; i++)
			jobfile_add_prompt(items, run->cli->words.v[i]);
		if (!items->n)
			buf_addf(err, "no jobs: give prompts or --input FILE");
		return items->n ? 0 : -1;
	}
	if (run->cli->words.n) {
		buf_addf(err, "--input: give jobs in the file or as words, not both");
		return -1;
	}
	if (!strcmp(run->input, "-") ? read_all_fd(STDIN_FILENO, JOBFILE_MAX, &text)
				     : read_file(run->input, JOBFILE_MAX, &text)) {
		buf_addf(err, "--input: cannot read '%s': %s", run->input, strerror(errno));
		goto cleanup;
	}
	if (jobfile_parse(text.data ? text.data : "", text.len, items, err))
		goto cleanup;
	if (!items->n) {
		buf_addf(err, "--input: '%s' holds no jobs", run->input);
		goto cleanup;
	}
	rc = 0;
cleanup:
	buf_release(&text);
	return rc;
}

/* ---- output ---- */

/* A job as one JSON object: its files as paths, or (for the manifest) as
 * names inside the folder, so a rerun from anywhere finds them. */
static json_t *job_json(const struct batch_job *bj, size_t index, const char *status,
			const char *dir)
{
	const struct job *job = &bj->job;
	json_t *o = json_object(), *files = json_array();
	size_t i;
	json_t *f;

	json_object_set_new(o, "index", json_integer((json_int_t)index + 1));
	if (bj->item->id)
		json_object_set_new(o, "id", json_string(bj->item->id));
	json_object_set_new(o, "prompt", json_string(bj->item->prompt));
	json_object_set_new(o, "status", json_string(status));
	json_object_set_new(o, "files", files);
	if (bj->resumed) {
		json_array_foreach(json_object_get(bj->earlier, "files"), i, f)
			json_array_append_new(files, json_sprintf("%s/%s", dir, json_string_value(f)));
		json_object_set(o, "usage", json_object_get(bj->earlier, "usage"));
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
	json_object_set_new(o, "error", job->error.len ? json_string(job->error.data) : json_null());
	json_object_set_new(o, "attempts", json_integer(job->call.xfer.launches));
	return o;
}

static const char *status_of(const struct batch_job *bj)
{
	switch (bj->job.state) {
	case JOB_DONE:
		return "done";
	case JOB_FAILED:
		return "failed";
	case JOB_INTERRUPTED:
		return bj->job.call.xfer.launches ? "interrupted" : "not sent";
	default:
		return bj->resumed ? "done" : "not sent";
	}
}

static void print_json_line(json_t *o)
{
	json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	putchar('\n');
	fflush(stdout);
}

/* ---- callbacks from the jobs ---- */

static void on_saved(struct job *job, size_t index, const char *path)
{
	struct batch_run *run = job->env->data;

	run->images += index != JOB_EXTRA_FILE;
	if (!run->no_gallery && index != JOB_EXTRA_FILE)
		thumbq_push(&run->thumbs, path_basename(path));
	if (run->cli->json)
		return;
	progress_clear(&run->progress);
	printf("%s\n", path);
	fflush(stdout);
}

static void record(struct batch_run *run, struct batch_job *bj, size_t index)
{
	struct buf err = BUF_INIT;
	json_t *entry = job_json(bj, index, status_of(bj), NULL);

	json_object_set_new(entry, "hash", json_string(bj->hash));
	json_t *params = json_deep_copy(bj->body);
	json_object_del(params, "prompt");
	json_object_set_new(entry, "parameters", params);
	json_object_del(entry, "status");
	json_object_set_new(entry, "state", json_string(status_of(bj)));
	if (manifest_put(&run->manifest, bj->key, entry, &err)) {
		progress_clear(&run->progress);
		warnf("%s", err.data);
	}
	buf_release(&err);
}

/* Before an image takes its final name, the manifest says which name it
 * will be: a kill right after the rename still leaves the job recorded. */
static void on_committing(struct job *job, size_t index, const char *path)
{
	struct batch_run *run = job->env->data;
	struct batch_job *bj = as_batch_job(job);
	struct buf err = BUF_INIT;
	json_t *entry = job_json(bj, (size_t)(bj - run->plan.jobs), "saving", NULL);

	json_array_append_new(json_object_get(entry, "files"), json_string(path_basename(path)));
	json_object_set_new(entry, "images", json_integer((json_int_t)job->names.n));
	json_object_set_new(entry, "hash", json_string(bj->hash));
	json_object_del(entry, "status");
	json_object_set_new(entry, "state", json_string("saving"));
	if (manifest_put(&run->manifest, bj->key, entry, &err))
		warnf("%s", err.data);
	buf_release(&err);
	(void)index;
}

static void on_finished(struct job *job)
{
	struct batch_run *run = job->env->data;
	struct batch_job *bj = as_batch_job(job);
	size_t index = (size_t)(bj - run->plan.jobs);

	if (job->state == JOB_DONE) {
		run->progress.done++;
		run->progress.tokens += job->usage.total;
	} else if (job->state == JOB_FAILED) {
		run->progress.failed++;
		progress_clear(&run->progress);
		errorf("%s%s", bj->label, job->error.data);
		if (job->call.apierr.code && !strcmp(job->call.apierr.code, "insufficient_quota")) {
			run->stop_reason = "the account is out of quota; the remaining jobs were not sent";
			http_loop_stop(&run->engine.loop);
		} else if (run->fail_fast && !run->stop_reason) {
			run->stop_reason = "--fail-fast: stopped after the first failure";
			http_loop_stop(&run->engine.loop);
		}
	}
	if (job->call.xfer.launches)
		record(run, bj, index);
	if (run->cli->json) {
		json_t *o = job_json(bj, index, status_of(bj), run->plan.dir);
		print_json_line(o);
		json_decref(o);
	}
}

static void on_tick(void *data)
{
	struct batch_run *run = data;

	run->progress.running = run->engine.loop.running;
	progress_draw(&run->progress, false);
}

/* ---- the run ---- */

static void print_dry_run(struct batch_run *run, const struct api_config *api)
{
	for (size_t i = 0; i < run->plan.n; i++) {
		struct batch_job *bj = &run->plan.jobs[i];
		if (bj->resumed) {
			if (!run->cli->json)
				printf("# job %zu: done by an earlier run, not sent\n", i + 1);
			continue;
		}
		if (!run->cli->json)
			printf("# job %zu%s%s\n", i + 1, bj->item->id ? ": " : "",
			       bj->item->id ? bj->item->id : "");
		char *url = provider_url(api, BATCH_ENDPOINT, bj->params.model);
		json_t *body = json_deep_copy(bj->body);
		provider_adjust_body(api, body);
		dryrun_print(stdout, api, url, body, NULL, &bj->names, false, run->cli->json);
		json_decref(body);
		free(url);
		if (!run->cli->json)
			putchar('\n');
	}
}

static void start_jobs(struct batch_run *run, struct job_env *env)
{
	for (size_t i = 0; i < run->plan.n; i++) {
		struct batch_job *bj = &run->plan.jobs[i];

		if (bj->resumed) {
			if (run->cli->json) {
				json_t *o = job_json(bj, i, "done", run->plan.dir);
				print_json_line(o);
				json_decref(o);
			}
			continue;
		}
		json_t *body = json_deep_copy(bj->body);
		provider_adjust_body(env->api, body);
		struct job_request req = { provider_url(env->api, BATCH_ENDPOINT, bj->params.model),
					   json_dumps(body, JSON_COMPACT), FORM_INIT };
		json_decref(body);
		job_init(&bj->job, env, i, bj->sent, &bj->params, &req, &bj->names);
		bj->sent = NULL;
		bj->job.label = bj->label;
		if (job_start(&bj->job))
			errorf("%s%s", bj->label, bj->job.error.data);
	}
}

static int summarize(struct batch_run *run, int64_t started)
{
	size_t resumed = 0, not_sent = 0;

	progress_clear(&run->progress);
	for (size_t i = 0; i < run->plan.n; i++) {
		resumed += run->plan.jobs[i].resumed;
		not_sent += !run->plan.jobs[i].resumed && !run->plan.jobs[i].job.call.xfer.launches;
	}
	notef("done: %zu image%s from %zu of %zu jobs in %.1f s, %ld tokens%s", run->images,
	      run->images == 1 ? "" : "s", run->progress.done, run->plan.n,
	      (now_ms() - started) / 1000.0, run->progress.tokens,
	      resumed ? "" : "");
	if (resumed)
		notef("%zu job%s done by an earlier run (not sent again)", resumed,
		      resumed == 1 ? "" : "s");
	notef("folder: %s", run->plan.dir);
	if (run->stop_reason)
		errorf("%s", run->stop_reason);
	if (run->progress.failed) {
		errorf("%zu job%s failed:", run->progress.failed, run->progress.failed == 1 ? "" : "s");
		for (size_t i = 0; i < run->plan.n; i++)
			if (run->plan.jobs[i].job.state == JOB_FAILED)
				errdetailf("%s%s", run->plan.jobs[i].label, run->plan.jobs[i].job.error.data);
	}
	if (not_sent)
		notef("%zu job%s not sent; run the same command again to finish", not_sent,
		      not_sent == 1 ? "" : "s");
	if (cli_interrupts)
		return EXIT_INTERRUPTED;
	return run->progress.failed || run->stop_reason ? EXIT_FAILED : EXIT_OK;
}

static int run_batch(struct batch_run *run, const struct api_config *api)
{
	struct job_env env = JOB_ENV_INIT;
	int64_t started = now_ms();

	env.loop = &run->engine.loop;
	env.api = api;
	env.retry = run->engine.retry;
	env.data = run;
	job_env_init(&env, &run->cli->spec, &run->chroma);
	env.on_saved = on_saved;
	env.on_finished = on_finished;
	env.on_committing = on_committing;
	env.pace = &run->engine.pace;
	run->engine.loop.graceful = true;
	run->engine.loop.tick = on_tick;
	run->engine.loop.tick_data = run;
	run->progress.total = run->plan.n;
	run->progress.started_ms = started;
	run->progress.enabled = isatty(STDERR_FILENO) && !msg_quiet();
	for (size_t i = 0; i < run->plan.n; i++)
		if (run->plan.jobs[i].resumed)
			run->progress.total--;
	notef("batch: %zu job%s, %ld at a time, into %s", run->progress.total,
	      run->progress.total == 1 ? "" : "s", run->concurrency, run->plan.dir);
	if (!run->no_gallery) {
		struct buf err = BUF_INIT;
		if (thumbq_start(&run->thumbs, run->plan.dir, &err))
			warnf("gallery: thumbnails will be made at the end: %s", err.data);
		buf_release(&err);
	}
	start_jobs(run, &env);
	http_loop_run(&run->engine.loop);
	progress_clear(&run->progress);
	if (!run->no_gallery) {
		struct buf err = BUF_INIT;
		thumbq_finish(&run->thumbs);
		if (gallery_write(run->plan.dir, &run->manifest, &err))
			warnf("gallery: %s", err.data);
		else
			notef("gallery: %s/%s", run->plan.dir, GALLERY_NAME);
		buf_release(&err);
	}
	return summarize(run, started);
}

/* Everything before the first request. Returns -1 to run, or an exit status. */
static int prepare(struct batch_run *run, struct batch_items *items,
		   const struct api_config *api, struct buf *err)
{
	struct cli *c = run->cli;

	if (spec_image_work(&c->spec, &c->spec.params, &run->chroma, err))
		return EXIT_USAGE;
	struct buf warn = BUF_INIT;
	int failed = read_items(run, items, err) ||
		      batch_plan(&run->plan, items, &c->spec, &warn, err);

	cli_print_warnings(&warn);
	buf_release(&warn);
	if (failed || manifest_load(&run->manifest, run->plan.dir, err))
		return EXIT_USAGE;
	for (size_t i = 0; i < run->plan.n; i++) {
		struct buf why = BUF_INIT;
		int bad = provider_check_params(api, &run->plan.jobs[i].params, &why);
		if (bad)
			buf_addf(err, "%s%s", run->plan.jobs[i].label, why.data);
		buf_release(&why);
		if (bad)
			return EXIT_USAGE;
	}
	batch_resume(&run->plan, &run->manifest, c->spec.force);
	if (batch_name_files(&run->plan, &run->manifest, c->spec.force, err))
		return EXIT_USAGE;
	if (c->dry_run) {
		print_dry_run(run, api);
		return EXIT_OK;
	}
	if (provider_missing_auth(api)) {
		buf_addf(err, "%s (--dry-run works without it)", provider_missing_auth(api));
		return EXIT_USAGE;
	}
	if (mkdir_p(run->plan.dir) || access(run->plan.dir, W_OK | X_OK)) {
		buf_addf(err, "--out-dir: cannot write into '%s': %s", run->plan.dir, strerror(errno));
		return EXIT_USAGE;
	}
	return -1;
}

int cmd_batch(int argc, char **argv)
{
	struct cli c = CLI_INIT;
	struct batch_run run = { .cli = &c, .concurrency = DEFAULT_CONCURRENCY };
	struct opt opts[] = {
		OPT_GROUP("Jobs"),
		OPT_STRING(0, "input", &run.input, "FILE", "JSONL jobs, one per line ('-' = standard input)"),
		OPT_INT(0, "concurrency|workers", &run.concurrency, "N", 1, 100, "requests in flight at once (default 5)"),
		OPT_INT(0, "rpm", &run.rpm, "N", 1, 100000, "at most N requests a minute (your tier's limit)"),
		OPT_BOOL(0, "fail-fast", &run.fail_fast, "stop launching after the first failed job"),
		OPT_BOOL(0, "no-gallery", &run.no_gallery, "do not write index.html (the gallery) in the folder"),
		OPT_GROUP("Prompt fields (defaults for every job)"),
		OPT_CLI_FIELDS(&c),
		OPT_CLI_PARAMS(&c),
		OPT_GROUP("Output"),
		OPT_STRING(0, "out-dir|output-dir|output", &c.spec.out_dir, "DIR", "save into DIR (default: named from the prompts)"),
		OPT_BOOL('f', "force", &c.spec.force, "redo every job and replace its files"),
		OPT_BOOL(0, "json", &c.json, "print one JSON object per job per line on stdout"),
		OPT_CLI_METADATA(&c),
		OPT_CLI_IMAGE_WORK(&c),
		OPT_CLI_DRY_QUIET(&c),
		OPT_CLI_CONNECTION(&c),
		OPT_END(),
	};
	struct batch_items items = BATCH_ITEMS_INIT;
	struct buf err = BUF_INIT;
	int rc = cli_parse(&c, opts, usage, about, argc, argv);

	if (rc != -1)
		goto cleanup;
	if (cli_engine(&c, &run.engine, (size_t)run.concurrency, run.rpm, &err)) {
		rc = EXIT_USAGE;
		errorf("%s", err.data);
		goto cleanup;
	}
	rc = prepare(&run, &items, &run.engine.api, &err);
	if (rc == EXIT_USAGE)
		errorf("%s", err.data);
	if (rc == -1)
		rc = run_batch(&run, &run.engine.api);
cleanup:
	batch_plan_release(&run.plan);
	manifest_release(&run.manifest);
	batch_items_release(&items);
	engine_release(&run.engine);
	cli_release(&c);
	buf_release(&err);
	return rc;
}
