#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "afile.h"
#include "msg.h"
#include "naming.h"
#include "dryrun.h"

volatile sig_atomic_t cli_interrupts;

static void on_signal(int sig)
{
	(void)sig;
	if (cli_interrupts < 100)
		cli_interrupts++;
}

void cli_install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	atexit(afile_cleanup_all);
}

void cli_release(struct cli *c)
{
	FREE_AND_NULL(c->prompt_text);
	strlist_release(&c->words);
	strlist_release(&c->images);
}

int cli_read_prompt(struct cli *c, struct buf *err)
{
	struct prompt_sources src = {
		.prompt = c->prompt,
		.file = c->prompt_file,
		.words = &c->words,
		.stdin_fd = STDIN_FILENO,
		.stdin_is_tty = isatty(STDIN_FILENO),
	};

	if (prompt_read(&src, &c->prompt_text, err))
		return -1;
	c->spec.prompt = c->prompt_text;
	return 0;
}

static const char *env(const char *name)
{
	return getenv(name);
}

int cli_api_config(const struct cli *c, struct api_config *api, struct buf *err)
{
	struct provider_options o = {
		.provider = c->provider, .base_url = c->base_url, .deployment = c->deployment,
		.api_version = c->api_version, .timeout = c->timeout,
	};

	return provider_config(api, &o, env, err);
}

struct retry_policy cli_retry_policy(const struct cli *c)
{
	struct retry_policy p = RETRY_POLICY_INIT;

	if (c->retries != -1)
		p.max_attempts = c->retries + 1;
	if (c->max_attempts != -1)
		p.max_attempts = c->max_attempts;
	if (c->backoff >= 0)
		p.base = c->backoff;
	return p;
}

void cli_print_warnings(const struct buf *warn)
{
	const char *p = warn->data;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);
		warnf("%.*s", len, p);
		p = nl ? nl + 1 : NULL;
	}
}

/* What a single run reports back at the end. */
struct single_run {
	const struct cli *cli;
	size_t saved;
};

static void on_saved(struct job *job, size_t index, const char *path)
{
	struct single_run *run = job->env->data;
	bool copy = index == JOB_EXTRA_FILE;

	run->saved += !copy;
	if (run->cli->json) {
		/* --json: stdout holds the response; the paths go to stderr. */
		fprintf(stderr, "%s\n", path);
		return;
	}
	printf("%s\n", path);
	fflush(stdout);
	if (copy)
		goodf("saved %s (downscaled copy)", path);
	else
		goodf("saved %s%s%s", path, job->size ? " " : "", job->size ? job->size : "");
}

static void print_sending(const struct cli_command *cmd, const struct job *job,
			  const struct api_config *api)
{
	const struct img_params *p = &job->params;

	notef("%s %ld image%s with %s (size %s, quality %s, %s) at %s", cmd->verb,
	      p->n > 0 ? p->n : 1, p->n > 1 ? "s" : "", p->model,
	      p->size ? p->size : "default", p->quality ? p->quality : "default",
	      params_format(p), api->shown_url);
}

static void print_summary(const struct job *job, const struct single_run *run)
{
	const struct usage *u = &job->usage;
	double secs = (job->finished_ms - job->started_ms) / 1000.0;

	if (u->present)
		notef("tokens: %ld (in: %ld, out: %ld)", u->total, u->input, u->output);
	notef("done: %zu of %zu image%s in %.1f s", run->saved, job->names.n,
	      job->names.n == 1 ? "" : "s", secs);
}

/* Runs the job to its end and prints the result. Returns the exit status. */
static int run_job(struct job *job, const struct cli *c, struct http_loop *loop)
{
	struct single_run *run = job->env->data;

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
	if (job->call.apierr.status)
		api_error_print(&job->call.apierr);
	else
		errorf("%s", job->error.data);
	if (run->saved)
		notef("saved %zu of %zu images before the failure", run->saved, job->names.n);
	return EXIT_FAILED;
}

int cli_parse(struct cli *c, const struct opt *opts, const char *usage,
	      const char *about, int argc, char **argv)
{
	struct buf err = BUF_INIT;
	int rc = -1;

	switch (opt_parse(opts, argc, argv, &c->words, &err)) {
	case OPT_HELP:
		opt_help(stdout, usage, about, opts);
		rc = EXIT_OK;
		break;
	case OPT_ERROR:
		msg_setup(false);
		errorf("%s", err.data);
		rc = EXIT_USAGE;
		break;
	case OPT_OK:
		msg_setup(c->quiet);
		break;
	}
	buf_release(&err);
	return rc;
}

/* The request planned from the options: a dry run printed, or a job ready
 * to run. EXIT_OK after a dry run, EXIT_USAGE with a message in err, or -1
 * when the job is ready. */
static int plan_job(const struct cli_command *cmd, struct cli *c, const struct api_config *api,
		    struct job *job, struct job_env *env, struct buf *err)
{
	struct job_plan plan = JOB_PLAN_INIT;
	struct buf warn = BUF_INIT;
	int rc = EXIT_USAGE;

	c->spec.op = cmd->op;
	c->spec.images = c->images.v;
	c->spec.nimages = c->images.n;
	c->spec.preview = c->dry_run;
	if ((cmd->check && cmd->check(c, err)) ||
	    (cmd->op != OP_VARIATION && cli_read_prompt(c, err)) ||
	    spec_plan(&c->spec, &plan, &warn, err))
		goto cleanup;
	if (provider_check_params(api, &plan.params, err))
		goto cleanup;
	cli_print_warnings(&warn);
	if (c->dry_run) {
		char *url = provider_url(api, plan.endpoint, plan.params.model);
		provider_adjust_body(api, plan.body);
		provider_adjust_form(api, &plan.form);
		dryrun_print(stdout, api, url, plan.body, plan.form.n ? &plan.form : NULL,
			     &plan.names, c->spec.no_save, c->json);
		free(url);
		rc = EXIT_OK;
		goto cleanup;
	}
	if (provider_missing_auth(api)) {
		buf_addf(err, "%s (--dry-run works without it)", provider_missing_auth(api));
		goto cleanup;
	}
	if (!c->spec.no_save && spec_make_folders(&plan.names, err))
		goto cleanup;
	job_env_init(env, &c->spec, &plan.chroma);
	job_init_plan(job, env, 0, &plan, api);
	rc = -1;
cleanup:
	job_plan_release(&plan);
	buf_release(&warn);
	return rc;
}

int cli_run_single(const struct cli_command *cmd, struct cli *c, int argc, char **argv)
{
	struct api_config api = { 0 };
	struct buf err = BUF_INIT;
	struct http_loop loop = { 0 };
	struct single_run run = { c, 0 };
	struct job_env env = JOB_ENV_INIT;
	struct job job;
	int rc;

	memset(&job, 0, sizeof(job));
	rc = cli_parse(c, cmd->opts, cmd->usage, cmd->about, argc, argv);
	if (rc != -1)
		goto cleanup;
	if (cli_api_config(c, &api, &err)) {
		errorf("%s", err.data);
		rc = EXIT_USAGE;
		goto cleanup;
	}
	if (http_loop_init(&loop, 1, &cli_interrupts)) {
		errorf("cannot start the HTTP engine");
		rc = EXIT_FAILED;
		goto cleanup;
	}
	env.loop = &loop;
	env.api = &api;
	env.retry = cli_retry_policy(c);
	env.keep_response = c->json;
	env.on_saved = on_saved;
	env.data = &run;
	rc = plan_job(cmd, c, &api, &job, &env, &err);
	if (rc == EXIT_USAGE)
		errorf("%s", err.data);
	if (rc == -1) {
		print_sending(cmd, &job, &api);
		rc = run_job(&job, c, &loop);
	}
	job_release(&job);
	http_loop_release(&loop);
cleanup:
	provider_release(&api);
	cli_release(c);
	buf_release(&err);
	return rc;
}
