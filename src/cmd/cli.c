#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "advice.h"
#include "afile.h"
#include "cost.h"
#include "dryrun.h"
#include "model.h"
#include "msg.h"
#include "naming.h"
#include "progress.h"
#include "value.h"

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
	if (c->config_key)
		explicit_bzero(c->config_key, strlen(c->config_key));
	FREE_AND_NULL(c->config_key);
	settings_release(&c->settings);
	FREE_AND_NULL(c->prompt_text);
	strlist_release(&c->words);
	strlist_release(&c->images);
}

/* Trailing words are one prompt (seed 000: generate a cat on a mat), but
 * several arguments of which one holds a space were quoted one by one: they
 * look like several prompts, which is what batch does. */
static void warn_joined_prompts(const struct strlist *words, enum operation op)
{
	size_t spaced = 0;

	for (size_t i = 0; words->n > 1 && i < words->n; i++)
		spaced += strchr(words->v[i], ' ') != NULL;
	if (spaced && op == OP_EDIT)
		warnf("the %zu arguments after the options were joined into one prompt for one "
		      "edit; for one edit from each, give 'imagegen batch --input' a JSONL line "
		      "{\"prompt\", \"image\"} each", words->n);
	else if (spaced)
		warnf("the %zu arguments after the options were joined into one prompt for one "
		      "image; for one image from each, run 'imagegen batch' with them", words->n);
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
	warn_joined_prompts(&c->words, c->spec.op);
	return 0;
}

/* The command whose config stands in for unset variables (one a process). */
static const struct cli *configured;

static const char *set(const char *v)
{
	return v && *v ? v : NULL;
}

/* The provider chosen before the config's own is asked. */
static bool azure_chosen(const struct cli *c)
{
	const char *p = c->provider ? c->provider : set(getenv("IMAGEGEN_PROVIDER"));

	if (!p)
		p = settings_get(&c->settings, SET_PROVIDER);
	return p && !strcmp(p, "azure");
}

const char *cli_env(const char *name)
{
	const char *v = getenv(name);
	const struct cli *c = configured;
	bool azure;

	if (set(v) || !c)
		return v;
	azure = azure_chosen(c);
	if (!strcmp(name, "IMAGEGEN_PROVIDER"))
		return settings_get(&c->settings, SET_PROVIDER);
	if (!strcmp(name, azure ? "AZURE_OPENAI_ENDPOINT" : "OPENAI_BASE_URL"))
		return settings_get(&c->settings, SET_BASE_URL);
	if (!strcmp(name, "OPENAI_API_VERSION"))
		return settings_get(&c->settings, SET_API_VERSION);
	if (!strcmp(name, azure ? "AZURE_OPENAI_API_KEY" : "OPENAI_API_KEY"))
		return c->config_key;
	return v;
}

static const char *env(const char *name)
{
	return cli_env(name);
}

static const char *plain_env(const char *name)
{
	return getenv(name);
}

/* The key from the config, when the environment has none: api_key_env
 * names the variable; api_key_command prints it (run only when a request
 * may be sent). 0 or -1. */
static int config_key(struct cli *c, struct buf *err)
{
	const char *named = settings_get(&c->settings, SET_API_KEY_ENV);
	const char *var = azure_chosen(c) ? "AZURE_OPENAI_API_KEY" : "OPENAI_API_KEY";

	if (set(getenv(var)) || c->config_key)
		return 0;
	if (named) {
		c->config_key = set(getenv(named)) ? xstrdup(getenv(named)) : NULL;
		return 0;
	}
	if (!settings_get(&c->settings, SET_API_KEY_COMMAND) || c->dry_run)
		return 0;
	c->config_key = settings_run_key_command(&c->settings, err);
	return c->config_key ? 0 : -1;
}

int cli_load_models(struct buf *err)
{
	char *path = settings_file("models.json", plain_env);
	int rc = path ? model_load_user(path, err) : 0;

	free(path);
	return rc;
}

int cli_settings(struct cli *c, struct buf *err)
{
	const struct settings *s = &c->settings;

	if (s->loaded)
		return 0;
	if (settings_load(&c->settings, c->profile, plain_env, err) || cli_load_models(err))
		return -1;
	configured = c;
	cli_settings_defaults(s, c);
	return config_key(c, err);
}

void cli_settings_defaults(const struct settings *s, struct cli *c)
{
	struct img_params *p = &c->spec.params;
	double usd;

	if (!p->model)
		p->model = settings_get(s, SET_MODEL);
	if (!p->quality)
		p->quality = settings_get(s, SET_QUALITY);
	if (!p->size)
		p->size = settings_get(s, SET_SIZE);
	if (!p->output_format)
		p->output_format = settings_get(s, SET_OUTPUT_FORMAT);
	if (!c->spec.out_dir && !c->spec.out)
		c->spec.out_dir = settings_get(s, SET_OUT_DIR);
	if (!c->deployment)
		c->deployment = settings_get(s, SET_DEPLOYMENT);
	if (c->max_cost < 0 && settings_get(s, SET_MAX_COST) &&
	    value_parse_dollars(settings_get(s, SET_MAX_COST), 0, 1e9, &usd) == 0)
		c->max_cost = usd;
}

long cli_concurrency(const struct cli *c, long given, long fallback)
{
	const char *v = settings_get(&c->settings, SET_CONCURRENCY);

	if (given > 0)
		return given;
	return v ? strtol(v, NULL, 10) : fallback;
}

int cli_engine(struct cli *c, struct engine *e, size_t concurrency, long rpm,
	       struct buf *err)
{
	struct provider_options o = {
		.provider = c->provider, .base_url = c->base_url, .deployment = c->deployment,
		.api_version = c->api_version, .timeout = c->timeout,
	};

	if (cli_settings(c, err))
		return -1;
	if (c->verbose)
		http_trace(stderr);
	o.deployment = c->deployment;
	const char *off = getenv("IMAGEGEN_NO_HISTORY");
	const char *history = settings_get(&c->settings, SET_HISTORY);
	struct buf why = BUF_INIT;

	if (!set(off) && history && !strcmp(history, "off"))
		off = "1";
	if (engine_init(e, &o, env, concurrency, rpm, &cli_interrupts, err))
		return -1;
	e->retry = cli_retry_policy(c);
	/* Every paid request is recorded; a dry run pays nothing and writes
	 * nothing. Either way, estimates may read what earlier runs paid. */
	bool record = !c->dry_run && !c->no_history && !(off && *off && strcmp(off, "0"));
	if (c->command && engine_open_history(e, c->command, record, env, &why) && record)
		warnf("%s; this run is not recorded (--no-history turns the history off)",
		      why.data);
	buf_release(&why);
	return 0;
}

void cli_close_history(struct engine *e)
{
	const char *why = engine_close_history(e);

	if (why)
		warnf("%s", why);
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

static double confirm_threshold(const struct cli *c)
{
	const char *v = getenv("IMAGEGEN_CONFIRM_ABOVE");
	const char *file = settings_get(&c->settings, SET_CONFIRM_ABOVE);
	double t;

	if (c->confirm_above >= 0)
		return c->confirm_above;
	if (v && *v && value_parse_dollars(v, 0, 1e9, &t) == 0)
		return t;
	if (v && *v)
		warnf("IMAGEGEN_CONFIRM_ABOVE: '%s' is not an amount of dollars; asking above "
		      "$%.2f", v, CLI_CONFIRM_ABOVE);
	else if (file && value_parse_dollars(file, 0, 1e9, &t) == 0)
		return t;   /* checked when the file was read */
	return CLI_CONFIRM_ABOVE;
}

enum answer { ANSWER_NO, ANSWER_YES, ANSWER_NONE, ANSWER_INTERRUPTED };

/* What the run is estimated at, for the question: "is estimated at $X,
 * above $T", "cannot be estimated: 3 requests have no estimate (why)" or
 * "is estimated at $X without 1 request that has no estimate (why)"; never
 * "$0.0000" for requests that have none. The caller frees. */
static char *estimate_said(double estimate, size_t unknown, const char *why, double threshold)
{
	char usd[32], above[32];
	const char *s = unknown == 1 ? "" : "s", *has = unknown == 1 ? "has" : "have";

	why = why ? why : "no price";
	if (unknown && estimate <= 0)
		return xasprintf("cannot be estimated: %zu request%s %s no estimate (%s)", unknown,
				 s, has, why);
	char *said = xasprintf("is estimated at %s%s%s", price_format(estimate, usd),
			       estimate > threshold ? ", above " : "",
			       estimate > threshold ? price_format(threshold, above) : "");
	if (!unknown)
		return said;
	char *both = xasprintf("%s without %zu request%s that %s no estimate (%s)", said, unknown,
			       s, has, why);
	free(said);
	return both;
}

/* Waits for a line on standard input; false when a signal came first. The
 * signals are held from before the question is shown, and let in only
 * while waiting (pselect): one that comes between the question and the
 * read is never lost to a read that then blocks for good. */
static bool wait_for_answer(const sigset_t *unblocked)
{
	fd_set in;
	int rc;

	do {
		FD_ZERO(&in);
		FD_SET(STDIN_FILENO, &in);
		rc = cli_interrupts ? -1 : pselect(STDIN_FILENO + 1, &in, NULL, NULL, NULL,
						   unblocked);
	} while (rc < 0 && errno == EINTR && !cli_interrupts);
	return rc > 0;
}

/* Asks on the terminal, saying what would be sent. */
static enum answer confirmed(const char *what, const char *estimate)
{
	char answer[16];
	sigset_t held, before;
	bool ready;

	sigemptyset(&held);
	sigaddset(&held, SIGINT);
	sigaddset(&held, SIGTERM);
	sigprocmask(SIG_BLOCK, &held, &before);
	fprintf(stderr, "imagegen: this run (%s) %s. Send it? [y/N] ", what, estimate);
	fflush(stderr);
	ready = wait_for_answer(&before);
	sigprocmask(SIG_SETMASK, &before, NULL);
	if (!ready || !fgets(answer, sizeof(answer), stdin)) {
		fputc('\n', stderr);
		/* Ctrl-C interrupts the read (no SA_RESTART): 130, as anywhere. */
		return cli_interrupts || errno == EINTR ? ANSWER_INTERRUPTED : ANSWER_NONE;
	}
	return answer[0] == 'y' || answer[0] == 'Y' ? ANSWER_YES : ANSWER_NO;
}

/* Why a run the user did not confirm was not sent, into err. */
static void not_sent(double estimate, size_t unknown, const char *why, double threshold,
		     struct buf *err)
{
	char usd[32], above[32];

	if (estimate > threshold)
		buf_addf(err, "not sent: the estimate %s is above %s", price_format(estimate, usd),
			 price_format(threshold, above));
	else
		buf_addf(err, "not sent: %zu request%s %s no estimate (%s)", unknown,
			 unknown == 1 ? "" : "s", unknown == 1 ? "has" : "have",
			 why ? why : "no price");
	if (estimate > threshold && unknown)
		buf_addf(err, ", and %zu request%s %s none", unknown, unknown == 1 ? "" : "s",
			 unknown == 1 ? "has" : "have");
	buf_addf(err, " (--yes%s that)", estimate > threshold ? " or --confirm-above change" :
		 " changes");
}

int cli_check_cost(const struct cli *c, const char *what, double estimate, size_t unknown,
		   const char *why, struct buf *err)
{
	char usd[32], budget[32];
	double threshold = confirm_threshold(c);
	enum answer answer;

	if (c->max_cost >= 0 && unknown) {
		buf_addf(err, "--max-cost: the cost of %zu request%s cannot be estimated (%s); "
			 "nothing was sent", unknown, unknown == 1 ? "" : "s",
			 why ? why : "no price");
		return EXIT_USAGE;
	}
	if (c->max_cost >= 0 && estimate > c->max_cost) {
		buf_addf(err, "--max-cost %s: the run is estimated at %s; nothing was sent",
			 price_format(c->max_cost, budget), price_format(estimate, usd));
		return EXIT_USAGE;
	}
	/* A request with no estimate may cost anything: it is asked about
	 * whatever the threshold. */
	if (c->yes || (estimate <= threshold && !unknown) || !isatty(STDIN_FILENO) ||
	    !isatty(STDERR_FILENO))
		return -1;
	char *said = estimate_said(estimate, unknown, why, threshold);
	answer = confirmed(what, said);
	free(said);
	switch (answer) {
	case ANSWER_YES:
		return -1;
	case ANSWER_INTERRUPTED:
		buf_addf(err, "interrupted; nothing was sent");
		return EXIT_INTERRUPTED;
	case ANSWER_NONE:
	case ANSWER_NO:
		break;
	}
	not_sent(estimate, unknown, why, threshold, err);
	return EXIT_USAGE;
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

/* What a single run reports back at the end, and shows while it runs. */
struct single_run {
	const struct cli *cli;
	size_t saved;
	const struct job *job;
	struct progress_one progress;  /* the live line, on a terminal */
	bool same_terminal;            /* stdout and stderr are one terminal */
};

/* Are stdout and stderr the same terminal (a path on stdout is then seen
 * where the messages are)? */
static bool one_terminal(void)
{
	struct stat out, err;

	return isatty(STDOUT_FILENO) && isatty(STDERR_FILENO) && !fstat(STDOUT_FILENO, &out) &&
	       !fstat(STDERR_FILENO, &err) && out.st_rdev == err.st_rdev;
}

static void clear_progress(void *data)
{
	progress_one_clear(data);
}

/* On every turn of the loop: the live line, while the request runs. */
static void single_tick(void *data)
{
	struct single_run *run = data;
	const struct job *job = run->job;

	if (job->state != JOB_RUNNING || job->off_loop)
		return;
	run->progress.started_ms = job->started_ms;
	run->progress.received = job->received;
	run->progress.partials = job->usage.partial_images;
	run->progress.attempt = job->call.attempts;
	run->progress.attempts = (int)job->call.policy.max_attempts;
	progress_one_draw(&run->progress);
}

/* The live line on a terminal (not with --quiet): from the start of the
 * request to its end, cleared before any message. */
static void start_progress(struct single_run *run, const struct cli_command *cmd,
			   struct engine *e)
{
	struct winsize ws;

	run->progress = (struct progress_one){ .verb = cmd->verb };
	run->progress.enabled = isatty(STDERR_FILENO) && !msg_quiet();
	if (!run->progress.enabled)
		return;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0)
		run->progress.width = ws.ws_col;
	e->loop.tick = single_tick;
	e->loop.tick_data = run;
	msg_set_status(clear_progress, &run->progress);
}

static void stop_progress(struct single_run *run, struct engine *e)
{
	progress_one_clear(&run->progress);
	msg_set_status(NULL, NULL);
	e->loop.tick = NULL;
}

static void on_saved(struct job *job, size_t index, const char *path)
{
	struct single_run *run = job->env->data;
	bool copy = index == JOB_EXTRA_FILE;

	progress_one_clear(&run->progress);
	run->saved += !copy;
	if (run->cli->json) {
		/* --json: stdout holds the response; the paths go to stderr. */
		fprintf(stderr, "%s\n", path);
		return;
	}
	printf("%s\n", path);
	fflush(stdout);
	/* On one terminal the path was just printed above: said once. */
	struct buf said = BUF_INIT;
	char usd[32];
	if (!run->same_terminal)
		buf_adds(&said, path);
	if (copy)
		buf_addf(&said, "%s(%s)", said.len ? " " : "",
			 strstr(path_basename(path), "-original.") ? "the image as sent, before keying"
								  : "downscaled copy");
	else if (job->size)
		buf_addf(&said, "%s%s", said.len ? " " : "", job->size);
	/* The request's cost, an equal share each (n>1 are billed alike). */
	if (!copy && !job->streaming && job->cost.basis != COST_UNKNOWN && job->names.n)
		buf_addf(&said, "%s%s", said.len ? ", " : "",
			 price_format(job->cost.usd / (double)job->names.n, usd));
	/* How much --chroma-key took away: a share far from the background's
	 * says the key hit the subject too. */
	if (!copy && job->images[index].chroma_keyed)
		buf_addf(&said, "%skeyed %.0f%% of its pixels", said.len ? "; " : "",
			 job->images[index].keyed_share * 100);
	goodf("saved%s%s", said.len ? " " : "", said.len ? said.data : "");
	buf_release(&said);
}

static void print_sending(const struct cli_command *cmd, const struct job *job,
			  const struct engine *e)
{
	const struct img_params *p = &job->params;
	char *est = cost_describe(&e->prices, p->model, &job->estimate);

	notef("%s %ld image%s with %s (size %s, quality %s, %s) at %s; estimated %s", cmd->verb,
	      p->n > 0 ? p->n : 1, p->n > 1 ? "s" : "", p->model,
	      p->size ? p->size : "default", p->quality ? p->quality : "default",
	      params_format(p), e->api.shown_url, est);
	free(est);
}

static void print_summary(const struct job *job, const struct single_run *run,
			  const struct engine *e)
{
	const struct usage *u = &job->usage;
	double secs = (job->finished_ms - job->started_ms) / 1000.0;
	char *cost = cost_describe(&e->prices, job->params.model, &job->cost);
	char est[32];

	if (u->present && u->partial_images)
		notef("tokens: %ld (in: %ld, out: %ld), and %ld partial image%s billed at %d "
		      "output tokens each", u->total, u->input, u->output, u->partial_images,
		      u->partial_images == 1 ? "" : "s", PARTIAL_IMAGE_TOKENS);
	else if (u->present)
		notef("tokens: %ld (in: %ld, out: %ld)", u->total, u->input, u->output);
	if (job->estimate.basis != COST_UNKNOWN)
		notef("cost: %s; estimated %s%s before sending", cost,
		      job->estimate.bound ? "at most " : "", price_format(job->estimate.usd, est));
	else
		notef("cost: %s", cost);
	notef("done: %zu of %zu image%s in %.1f s", run->saved, job->names.n,
	      job->names.n == 1 ? "" : "s", secs);
	free(cost);
}

/* After a failure: how many attempts it took, and what to do about it. */
static void print_advice(const struct job *job, const struct engine *e)
{
	const struct call *c = &job->call;
	struct buf hint = BUF_INIT;
	char n[32];

	if (advice_attempts(c, n) && c->attempts >= c->policy.max_attempts)
		errdetailf("gave up after %s, as many as allowed (--max-attempts sets how many)", n);
	else if (advice_attempts(c, n))
		errdetailf("failed after %s", n);
	if (advice_for(c, &e->api, job->params.model, &hint) != ADVICE_NONE)
		errdetailf("hint: %s", hint.data);
	buf_release(&hint);
}

/* Runs the job to its end and prints the result. Returns the exit status. */
static int run_job(const struct cli_command *cmd, struct job *job, const struct cli *c,
		   struct engine *e)
{
	struct single_run *run = job->env->data;

	start_progress(run, cmd, e);
	engine_run(e);
	stop_progress(run, e);
	if (job->state == JOB_INTERRUPTED || cli_interrupts) {
		/* Say what is left: the images saved before the signal, and any
		 * partial images kept with --keep-partials. */
		const char *kept = strstr(job->error.data ? job->error.data : "", "partial images kept");
		if (run->saved)
			errorf("interrupted; %zu of %zu image%s saved%s%s", run->saved, job->names.n,
			       job->names.n == 1 ? "" : "s", kept ? "; " : "", kept ? kept : "");
		else
			errorf("interrupted; no image was saved%s%s", kept ? "; " : "",
			       kept ? kept : "");
		return EXIT_INTERRUPTED;
	}
	if (c->json && job->response) {
		if (job->paid)
			json_object_set_new(job->response, "cost", job_cost_json(job));
		json_dumpf(job->response, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	}
	if (job->state == JOB_DONE) {
		print_summary(job, run, e);
		return EXIT_OK;
	}
	if (job->call.apierr.status)
		api_error_print(&job->call.apierr, e->api.provider->auth_hint);
	else
		errorf("%s", job->error.data);
	print_advice(job, e);
	if (run->saved)
		notef("saved %zu of %zu images before the failure", run->saved, job->names.n);
	if (job->paid) {   /* the answer came: it is billed all the same */
		char *cost = cost_describe(&e->prices, job->params.model, &job->cost);
		notef("cost: %s, paid for though it failed", cost);
		free(cost);
	}
	return EXIT_FAILED;
}

void (*cli_table_hook)(const struct opt *opts);

/* The flag on the command line that set the row whose field is value
 * ("--output" for out-dir's row), into flag. */
static void flag_used(const struct opt *opts, int argc, char **argv, const void *value,
		      char *flag, size_t size)
{
	snprintf(flag, size, "--?");
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		const char *a = argv[i];
		if (strncmp(a, "--", 2))
			continue;
		char name[64];
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(a + 2, "="), a + 2);
		const struct opt *o = opt_find(opts, name);
		if (o && o->value == value)
			snprintf(flag, size, "--%.40s", name);
	}
}

/* The first of the flags that write files which --no-save was given with. */
static const char *writes_files(const struct job_spec *s)
{
	return s->out ? "--out" : s->prefix ? "--prefix" : s->sidecar ? "--sidecar" :
	       s->keep_partials ? "--keep-partials" : s->downscale_max ? "--downscale-max-dim" :
	       NULL;
}

/* Flags that contradict each other, refused before anything is read or
 * sent: each would silently lose to the other. 0, or -1 with both named in
 * err. */
static int check_conflicts(const struct cli *c, const struct opt *opts, int argc,
			   char **argv, struct buf *err)
{
	static const char *const api_styles[] = { "vivid", "natural", NULL };
	const struct job_spec *s = &c->spec;
	const char *field = prompt_fields_first(&s->fields);
	char flag[64];

	if (c->retries >= 0 && c->max_attempts >= 0 && c->retries + 1 != c->max_attempts) {
		buf_addf(err, "--retries %ld and --max-attempts %ld disagree (--retries N is "
			 "--max-attempts N+1); give one of them", c->retries, c->max_attempts);
		return -1;
	}
	if (s->no_save && (writes_files(s) || s->out_dir)) {
		if (!writes_files(s))
			flag_used(opts, argc, argv, &c->spec.out_dir, flag, sizeof(flag));
		buf_addf(err, "--no-save and %s: --no-save writes no files; give one of them",
			 writes_files(s) ? writes_files(s) : flag);
		return -1;
	}
	if (!field && s->style_text && !one_of(s->style_text, api_styles))
		field = "style";
	if (s->no_augment && field) {
		snprintf(flag, sizeof(flag), "--%s", field);
		for (char *p = flag; *p; p++)
			*p = *p == '_' ? '-' : *p;
		buf_addf(err, "--no-augment and %s: --no-augment sends the prompt without the "
			 "prompt fields; give one of them", flag);
		return -1;
	}
	return 0;
}

/* A folder option whose value is named like an image file ("--output
 * hero.png") makes a folder hero.png/: most likely a file was meant. */
static void warn_folder_like_file(const struct cli *c, const struct opt *opts, int argc,
				  char **argv)
{
	const char *dir = c->spec.out_dir;
	struct stat st;
	char flag[64];

	if (!dir || !ext_format(path_ext(dir)) || (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)))
		return;
	flag_used(opts, argc, argv, &c->spec.out_dir, flag, sizeof(flag));
	warnf("%s '%s': a folder named like an image file%s", flag, dir,
	      opt_find(opts, "out") ? "; did you mean --out?" : "");
}

int cli_parse(struct cli *c, const struct opt *opts, const char *usage,
	      const char *about, int argc, char **argv)
{
	struct buf err = BUF_INIT;
	int rc = -1;

	if (cli_table_hook) {
		cli_table_hook(opts);
		return EXIT_OK;
	}
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
		if (check_conflicts(c, opts, argc, argv, &err)) {
			errorf("%s", err.data);
			rc = EXIT_USAGE;
			break;
		}
		warn_folder_like_file(c, opts, argc, argv);
		break;
	}
	buf_release(&err);
	return rc;
}

/* The request planned from the options: a dry run printed, or a job
 * started. EXIT_OK after a dry run, EXIT_USAGE with a message in err, or -1
 * when the job is on its way. */
static int plan_job(const struct cli_command *cmd, struct cli *c, struct engine *e,
		    struct job *job, struct job_env *env, struct buf *err)
{
	struct job_plan plan = JOB_PLAN_INIT;
	struct buf warn = BUF_INIT;
	struct cost estimate;
	int rc = EXIT_USAGE;

	c->spec.op = cmd->op;
	c->spec.images = c->images.v;
	c->spec.nimages = c->images.n;
	c->spec.preview = c->dry_run;
	if ((cmd->check && cmd->check(c, err)) || spec_check_options(&c->spec, err) ||
	    (cmd->op != OP_VARIATION && cli_read_prompt(c, err)) ||
	    engine_plan(e, &c->spec, &plan, &warn, err))
		goto cleanup;
	cli_print_warnings(&warn);
	cost_estimate_params(&e->prices, &plan.params, plan.prompt, plan.input_tokens, false,
			     e->history.db ? &e->history : NULL, &estimate);
	if (c->dry_run) {
		char *url = job_plan_prepare(&plan, &e->api);
		json_t *o = cost_json(&e->prices, plan.params.model, &estimate);
		char *text = cost_describe(&e->prices, plan.params.model, &estimate);
		dryrun_print(stdout, &e->api, url, plan.body, plan.form.n ? &plan.form : NULL,
			     &plan.names, c->spec.no_save, o, text, c->json);
		json_decref(o);
		free(text);
		free(url);
		rc = EXIT_OK;
		goto cleanup;
	}
	char *what = xasprintf("%ld image%s with %s, size %s, quality %s",
			       plan.params.n > 0 ? plan.params.n : 1, plan.params.n > 1 ? "s" : "",
			       plan.params.model, plan.params.size ? plan.params.size : "default",
			       plan.params.quality ? plan.params.quality : "default");
	rc = cli_check_cost(c, what, estimate.usd, estimate.basis == COST_UNKNOWN, estimate.why,
			    err);
	free(what);
	if (rc == EXIT_INTERRUPTED)
		errorf("%s", err->data);
	if (rc != -1)
		goto cleanup;
	rc = EXIT_USAGE;
	if (engine_start(e, job, env, &c->spec, &plan, err) == 0) {
		print_sending(cmd, job, e);
		rc = -1;
	}
cleanup:
	job_plan_release(&plan);
	buf_release(&warn);
	return rc;
}

int cli_run_single(const struct cli_command *cmd, struct cli *c, int argc, char **argv)
{
	struct engine engine;
	struct buf err = BUF_INIT;
	struct job_env env = JOB_ENV_INIT;
	struct job job;
	struct single_run run = { .cli = c, .job = &job, .same_terminal = one_terminal() };
	int rc;

	memset(&job, 0, sizeof(job));
	memset(&engine, 0, sizeof(engine));
	rc = cli_parse(c, cmd->opts, cmd->usage, cmd->about, argc, argv);
	if (rc != -1)
		goto cleanup;
	c->command = cmd->op == OP_EDIT ? "edit" : cmd->op == OP_VARIATION ? "variation"
									    : "generate";
	if (cli_engine(c, &engine, 1, 0, &err)) {
		errorf("%s", err.data);
		rc = EXIT_USAGE;
		goto cleanup;
	}
	env.keep_response = c->json;
	env.on_saved = on_saved;
	env.data = &run;
	rc = plan_job(cmd, c, &engine, &job, &env, &err);
	if (rc == EXIT_USAGE)
		errorf("%s", err.data);
	if (rc == -1)
		rc = run_job(cmd, &job, c, &engine);
	job_release(&job);
	cli_close_history(&engine);
cleanup:
	engine_release(&engine);
	cli_release(c);
	buf_release(&err);
	return rc;
}

static void add_unique(struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return;
	strlist_push(l, s);
}

static void add_all(struct strlist *l, const char *const *values)
{
	for (; values && *values; values++)
		add_unique(l, *values);
}

bool cli_flag_values(const char *names, struct strlist *out)
{
	static const char *const open_ended[] = { "model", "size", "quality", "style", NULL };
	char flag[64];
	size_t n;
	const struct model *t = model_table(&n);

	/* (By the flag's first name: "output-format|format".) */
	snprintf(flag, sizeof(flag), "%.*s", (int)strcspn(names, "|"), names);
	if (!strcmp(flag, "model")) {
		for (size_t i = 0; i < n; i++)
			add_unique(out, t[i].name);
	} else if (!strcmp(flag, "size")) {
		add_unique(out, "auto");
		for (size_t i = 0; i < n; i++)
			add_all(out, t[i].sizes);
	} else if (!strcmp(flag, "provider")) {
		add_unique(out, "openai");
		add_unique(out, "azure");
	} else if (!strcmp(flag, "by")) {
		add_all(out, (const char *const[]){ "day", "model", "folder", NULL });
	} else {
		add_all(out, params_values(flag));
	}
	return out->n && !one_of(flag, open_ended);
}

void cli_put_safe_lines(FILE *out, const char *s, const char *indent)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\n' && indent) {
			fprintf(out, "\n%s", indent);
			continue;
		}
		/* C1 controls (U+0080-U+009F, as UTF-8 C2 80-9F) drive terminals too. */
		if (c == 0xc2 && (unsigned char)s[1] >= 0x80 && (unsigned char)s[1] <= 0x9f) {
			fputc('?', out);
			s++;
			continue;
		}
		fputc(c < 0x20 || c == 0x7f ? '?' : c, out);
	}
}

void cli_put_safe(FILE *out, const char *s)
{
	cli_put_safe_lines(out, s, NULL);
}
