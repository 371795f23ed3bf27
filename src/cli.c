#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "afile.h"
#include "msg.h"
#include "naming.h"

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
}

void cli_settle_style(struct cli *c)
{
	static const char *const api_styles[] = { "vivid", "natural", NULL };

	if (!c->style_text)
		return;
	if (one_of(c->style_text, api_styles))
		c->params.style = c->style_text;
	else
		c->fields.style = c->style_text;
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
	if (c->no_augment) {
		*sent = xstrdup(*raw);
		return 0;
	}
	*sent = prompt_augment(*raw, &c->fields);
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
