/* imagegen generate: POST /images/generations and save the images. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "msg.h"
#include "request.h"

static const char usage[] = "imagegen generate [options] [PROMPT...]";
static const char about[] =
	"Generate images from a prompt and save them. Saved paths go to stdout,\n"
	"one per line; progress and errors go to stderr.";

/* What the run reports back at the end. */
struct gen_run {
	const struct cli *cli;
	size_t saved;
};

static void on_saved(struct job *job, size_t index, const char *path)
{
	struct gen_run *run = job->env->data;

	run->saved++;
	(void)index;
	if (run->cli->json) {
		/* --json: stdout holds the response; the paths go to stderr. */
		fprintf(stderr, "%s\n", path);
		return;
	}
	printf("%s\n", path);
	fflush(stdout);
	goodf("saved %s%s%s", path, job->size ? " " : "", job->size ? job->size : "");
}

static void print_usage_line(const struct job *job)
{
	const struct usage *u = &job->usage;

	if (!u->present)
		return;
	notef("tokens: %ld (in: %ld, out: %ld)", u->total, u->input, u->output);
}

static void print_summary(const struct job *job, const struct gen_run *run)
{
	double secs = (job->finished_ms - job->started_ms) / 1000.0;

	print_usage_line(job);
	notef("done: %zu of %zu image%s in %.1f s", run->saved, job->names.n,
	      job->names.n == 1 ? "" : "s", secs);
}

static void print_sending(const struct job *job, const struct api_config *api)
{
	const struct img_params *p = &job->params;

	notef("generating %ld image%s with %s (size %s, quality %s, %s) at %s",
	      p->n > 0 ? p->n : 1, p->n > 1 ? "s" : "", p->model,
	      p->size ? p->size : "default", p->quality ? p->quality : "default",
	      params_format(p), api->base_url);
}

/* Runs the job to its end and prints the result. Returns the exit status. */
static int run_job(struct job *job, const struct cli *c, struct http_loop *loop)
{
	struct gen_run *run = job->env->data;

	if (job_start(job)) {
		errorf("%s", job->error.data);
		return EXIT_FAILED;
	}
	http_loop_run(loop);
	if (job->state == JOB_INTERRUPTED || cli_interrupts) {
		errorf("interrupted; nothing was saved");
		return EXIT_INTERRUPTED;
	}
	if (c->json && job->response) {
		json_dumpf(job->response, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	}
	if (job->state == JOB_DONE) {
		print_summary(job, run);
		return EXIT_OK;
	}
	if (job->apierr.status)
		api_error_print(&job->apierr);
	else
		errorf("%s", job->error.data);
	if (run->saved)
		notef("saved %zu of %zu images before the failure", run->saved, job->names.n);
	return EXIT_FAILED;
}

static bool never_exists(const char *path, const void *data)
{
	(void)path;
	(void)data;
	return false;
}

/* Everything up to the request: options to a ready job. exit status, or -1
 * to go on. */
static int prepare(struct cli *c, struct api_config *api, struct job *job,
		   struct job_env *env, struct buf *err)
{
	struct buf warn = BUF_INIT;
	struct name_plan plan = NAME_PLAN_INIT;
	char *raw = NULL, *sent = NULL;
	json_t *body = NULL;
	int rc = EXIT_USAGE;

	cli_settle_style(c);
	if (cli_prompt(c, &raw, &sent, err) || cli_format_from_out(c, err))
		goto cleanup;
	params_apply_defaults(&c->params, OP_GENERATE);
	if (params_validate(&c->params, OP_GENERATE, sent, err, &warn))
		goto cleanup;
	if (c->prefix && c->out) {
		buf_addf(err, "--prefix: not with --out (which names the file itself)");
		goto cleanup;
	}
	cli_print_warnings(&warn);
	if (cli_api_config(c, api, err))
		goto cleanup;
	struct name_request names = {
		.out = c->out, .out_dir = c->out_dir, .prefix = c->prefix,
		.prompt = raw, .format = params_format(&c->params),
		.n = c->params.n, .force = c->force,
	};
	if (naming_plan(&names, c->no_save ? never_exists : naming_exists_on_disk,
			NULL, &plan, err))
		goto cleanup;
	body = request_generation_body(&c->params, sent);
	char *url = request_url(api, "images/generations");
	if (c->dry_run) {
		request_print_dry_run(stdout, api, url, body, &plan, c->no_save, c->json);
		free(url);
		rc = EXIT_OK;
		goto cleanup;
	}
	if (!api->key) {
		buf_addf(err, "OPENAI_API_KEY is not set (--dry-run works without it)");
		free(url);
		goto cleanup;
	}
	struct job_request req = { url, json_dumps(body, JSON_COMPACT), FORM_INIT };
	job_init(job, env, 0, sent, &c->params, &req, &plan);
	sent = NULL;
	rc = -1;
cleanup:
	name_plan_release(&plan);
	json_decref(body);
	free(raw);
	free(sent);
	buf_release(&warn);
	return rc;
}

int cmd_generate(int argc, char **argv)
{
	struct cli c = CLI_INIT;
	struct opt opts[] = {
		OPT_CLI_PROMPT(&c),
		OPT_CLI_PARAMS(&c),
		OPT_CLI_OUTPUT(&c),
		OPT_CLI_CONNECTION(&c),
		OPT_END(),
	};
	struct api_config api = { 0 };
	struct buf err = BUF_INIT;
	struct http_loop loop;
	struct gen_run run = { &c, 0 };
	struct job_env env = { 0 };
	struct job job;
	int rc;

	memset(&job, 0, sizeof(job));
	switch (opt_parse(opts, argc, argv, &c.words, &err)) {
	case OPT_HELP:
		opt_help(stdout, usage, about, opts);
		rc = EXIT_OK;
		goto cleanup;
	case OPT_ERROR:
		msg_setup(false);
		errorf("%s", err.data);
		rc = EXIT_USAGE;
		goto cleanup;
	case OPT_OK:
		break;
	}
	msg_setup(c.quiet);
	if (http_loop_init(&loop, 1, &cli_interrupts)) {
		errorf("cannot start the HTTP engine");
		rc = EXIT_FAILED;
		goto cleanup;
	}
	env.loop = &loop;
	env.api = &api;
	env.retry = cli_retry_policy(&c);
	env.no_save = c.no_save;
	env.keep_response = c.json;
	env.force = c.force;
	env.on_saved = on_saved;
	env.data = &run;
	env.seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	rc = prepare(&c, &api, &job, &env, &err);
	if (rc == EXIT_USAGE)
		errorf("%s", err.data);
	if (rc == -1) {
		print_sending(&job, &api);
		rc = run_job(&job, &c, &loop);
	}
	job_release(&job);
	http_loop_release(&loop);
cleanup:
	cli_api_release(&api);
	cli_release(&c);
	buf_release(&err);
	return rc;
}
