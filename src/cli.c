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
#include "request.h"

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
	strlist_release(&c->words);
	strlist_release(&c->images);
}

void cli_settle_style(struct cli *c)
{
	static const char *const api_styles[] = { "vivid", "natural", NULL };

	if (c->params.partial_images != -1)
		c->params.stream = 1;
	if (!c->style_text)
		return;
	if (one_of(c->style_text, api_styles))
		c->params.style = c->style_text;
	else
		c->fields.style = c->style_text;
}

char *cli_chroma_instruction(const struct cli *c)
{
	return xasprintf("Background: a perfectly flat, uniform, solid %s chroma-key background "
			 "filling the whole frame, with no shadows, gradients, texture, reflections "
			 "or lighting falloff on it; keep the subject's edges crisp and use no %s "
			 "anywhere in the subject.", c->key_color ? c->key_color : CHROMA_DEFAULT_KEY,
			 c->key_color ? c->key_color : CHROMA_DEFAULT_KEY);
}

int cli_prompt(struct cli *c, char **raw, char **sent, struct buf *err)
{
	struct prompt_sources src = {
		.prompt = c->prompt,
		.file = c->prompt_file,
		.words = &c->words,
		.stdin_fd = STDIN_FILENO,
		.stdin_is_tty = isatty(STDIN_FILENO),
	};

	if (prompt_read(&src, raw, err))
		return -1;
	if (c->no_augment && prompt_fields_any(&c->fields))
		warnf("--no-augment: the prompt fields are ignored");
	*sent = c->no_augment ? xstrdup(*raw) : prompt_augment(*raw, &c->fields);
	if (c->chroma_key) {
		char *key = cli_chroma_instruction(c);
		char *both = xasprintf("%s\n%s", *sent, key);
		free(*sent);
		free(key);
		*sent = both;
	}
	return 0;
}

int cli_format_from_out(struct cli *c, struct buf *err)
{
	const char *from_ext = c->out ? ext_format(path_ext(c->out)) : NULL;
	const struct model *m = model_find(c->params.model ? c->params.model : DEFAULT_MODEL);

	if (!from_ext)
		return 0;
	if (m && !model_is_gpt(m) && strcmp(from_ext, "png")) {
		buf_addf(err, "--out: %s makes PNG images; name the file .png", m->name);
		return -1;
	}
	if (!c->params.output_format) {
		if (!m || model_is_gpt(m))
			c->params.output_format = from_ext;
		return 0;
	}
	if (strcmp(c->params.output_format, from_ext)) {
		buf_addf(err, "--out: '%s' names a %s file but --output-format is %s",
			 c->out, from_ext, c->params.output_format);
		return -1;
	}
	return 0;
}

int cli_settle_image_work(struct cli *c, struct buf *err)
{
	const char *format = c->params.output_format;

	if (c->downscale_suffix && (!*c->downscale_suffix || strchr(c->downscale_suffix, '/'))) {
		buf_addf(err, "--downscale-suffix: '%s' must be a non-empty name part without '/'",
			 c->downscale_suffix);
		return -1;
	}
	if (c->key_color)
		c->chroma_key = 1;
	if (!c->chroma_key)
		return 0;
	c->chroma = (struct chroma_opts){ .enabled = true, .tolerance = CHROMA_DEFAULT_TOLERANCE,
					  .softness = CHROMA_DEFAULT_SOFTNESS, .despill = true };
	if (chroma_parse_color(c->key_color ? c->key_color : CHROMA_DEFAULT_KEY, c->chroma.key)) {
		buf_addf(err, "--key-color: '%s' is not #RRGGBB", c->key_color);
		return -1;
	}
	if (format && !strcmp(format, "jpeg")) {
		buf_addf(err, "--chroma-key: makes transparent images; use png or webp, not jpeg");
		return -1;
	}
	if (c->params.background && strcmp(c->params.background, "opaque")) {
		buf_addf(err, "--chroma-key: the key colour is the background; leave --background "
			 "out (or opaque)");
		return -1;
	}
	return 0;
}

static char *trimmed_url(const char *url)
{
	char *s = xstrdup(url);
	size_t len = strlen(s);

	while (len && s[len - 1] == '/')
		s[--len] = '\0';
	return s;
}

int cli_api_config(const struct cli *c, struct api_config *api, struct buf *err)
{
	const char *base = c->base_url;
	const char *env_base = getenv("OPENAI_BASE_URL");
	const char *key = getenv("OPENAI_API_KEY");

	if (!base)
		base = env_base && *env_base ? env_base : DEFAULT_BASE_URL;
	if (strncmp(base, "https://", 8) && strncmp(base, "http://", 7)) {
		buf_addf(err, "--base-url: '%s' is not an http:// or https:// URL", base);
		return -1;
	}
	api->base_url = trimmed_url(base);
	api->key = key && *key ? key : NULL;
	api->org = getenv("OPENAI_ORG_ID");
	api->project = getenv("OPENAI_PROJECT_ID");
	api->timeout = c->timeout > 0 ? c->timeout : DEFAULT_TIMEOUT;
	return 0;
}

void cli_api_release(struct api_config *api)
{
	FREE_AND_NULL(api->base_url);
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

static bool never_exists(const char *path, const void *data)
{
	(void)path;
	(void)data;
	return false;
}

/* Creates the output folders now: an image that cannot be saved must not
 * be paid for. 0, or -1 with a message in err. */
static int make_folders(const struct name_plan *plan, struct buf *err)
{
	for (size_t i = 0; i < plan->n; i++) {
		char *dir = path_dirname(plan->paths[i]);
		int rc = mkdir_p(dir);

		if (rc || access(dir, W_OK | X_OK)) {
			buf_addf(err, "%s: cannot write into folder '%s': %s",
				 plan->explicit_names ? "--out" : "--out-dir", dir, strerror(errno));
			free(dir);
			return -1;
		}
		free(dir);
	}
	return 0;
}

int cli_finish_prepare(struct cli *c, const struct api_config *api, struct job *job,
		       struct job_env *env, const struct name_request *names,
		       char *prompt, const char *endpoint, json_t *body,
		       struct form *form, struct buf *err)
{
	struct name_plan plan = NAME_PLAN_INIT;
	struct job_request req = { request_url(api, endpoint), NULL, FORM_INIT };
	int rc = EXIT_USAGE;

	if (c->prefix && c->out) {
		buf_addf(err, "--prefix: not with --out (which names the file itself)");
		goto cleanup;
	}
	/* With --no-save nothing is written, so nothing can be in the way. */
	if (naming_plan(names, c->no_save ? never_exists : naming_exists_on_disk,
			NULL, &plan, err))
		goto cleanup;
	if (c->dry_run) {
		request_print_dry_run(stdout, api, req.url, body, form && form->n ? form : NULL,
				      &plan, c->no_save, c->json);
		rc = EXIT_OK;
		goto cleanup;
	}
	if (!api->key) {
		buf_addf(err, "OPENAI_API_KEY is not set (--dry-run works without it)");
		goto cleanup;
	}
	if (!c->no_save && make_folders(&plan, err))
		goto cleanup;
	if (form && form->n) {
		req.form = *form;
		*form = (struct form)FORM_INIT;
	} else {
		req.json = json_dumps(body, JSON_COMPACT);
	}
	job_init(job, env, 0, prompt, &c->params, &req, &plan);
	prompt = NULL;
	rc = -1;
cleanup:
	free(prompt);
	free(req.url);
	name_plan_release(&plan);
	json_decref(body);
	if (form)
		form_release(form);
	return rc;
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
	      params_format(p), api->base_url);
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
	if (job->apierr.status)
		api_error_print(&job->apierr);
	else
		errorf("%s", job->error.data);
	if (run->saved)
		notef("saved %zu of %zu images before the failure", run->saved, job->names.n);
	return EXIT_FAILED;
}

void cli_job_env(struct job_env *env, const struct cli *c, struct http_loop *loop,
		 const struct api_config *api, void *data)
{
	env->loop = loop;
	env->api = api;
	env->retry = cli_retry_policy(c);
	env->no_save = c->no_save;
	env->keep_response = c->json;
	env->force = c->force;
	env->keep_partials = c->keep_partials;
	env->metadata = !c->no_metadata;
	env->sidecar = c->sidecar;
	env->chroma = &c->chroma;   /* enabled by cli_settle_image_work */
	env->downscale_max = (int)c->downscale_max;
	env->downscale_suffix = c->downscale_suffix ? c->downscale_suffix : "-web";
	env->data = data;
	env->seed = (unsigned)time(NULL) ^ (unsigned)getpid();
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

int cli_run_single(const struct cli_command *cmd, struct cli *c, int argc, char **argv)
{
	struct api_config api = { 0 };
	struct buf err = BUF_INIT;
	struct http_loop loop = { 0 };
	struct single_run run = { c, 0 };
	struct job_env env = { 0 };
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
	cli_job_env(&env, c, &loop, &api, &run);
	env.on_saved = on_saved;
	rc = cmd->prepare(c, &api, &job, &env, &err);
	if (rc == EXIT_USAGE)
		errorf("%s", err.data);
	if (rc == -1) {
		print_sending(cmd, &job, &api);
		rc = run_job(&job, c, &loop);
	}
	job_release(&job);
	http_loop_release(&loop);
cleanup:
	cli_api_release(&api);
	cli_release(c);
	buf_release(&err);
	return rc;
}
