/* imagegen config: the effective settings and where each came from (the
 * environment, a profile or [default] of the config file, or built in),
 * with every secret left out. Nothing is sent; api_key_command is not run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "msg.h"

static const char usage[] = "imagegen config [--profile NAME] [--json]";
static const char about[] =
	"Show the settings a command would use and where each comes from: a flag wins\n"
	"over the environment, which wins over the config file's [profile NAME], then\n"
	"its [default], then imagegen's own. The file is $XDG_CONFIG_HOME/imagegen/config\n"
	"(~/.config/imagegen/config; $IMAGEGEN_CONFIG names another), in INI:\n"
	"\n"
	"  [default]\n"
	"  model = gpt-image-2\n"
	"  quality = medium\n"
	"  api_key_command = pass show openai\n"
	"\n"
	"  [profile work]\n"
	"  base_url = https://images.example.com/v1\n"
	"  api_key_env = WORK_OPENAI_KEY\n"
	"  max_cost = 2\n"
	"\n"
	"Keys: model, quality, size, output_format, out_dir, concurrency, provider,\n"
	"base_url, deployment, api_version, max_cost, confirm_above, history (on or\n"
	"off), api_key_command, api_key_env. A key is never kept in the file itself.";

/* One row: the variable that stands above the file (or NULL) and the value
 * imagegen has of its own (or NULL). */
struct row {
	enum setting_key key;
	const char *variable;
	const char *builtin;
};

static const char *set(const char *v)
{
	return v && *v ? v : NULL;
}

/* The value shown: a URL without its credentials; the caller frees. */
static char *shown(enum setting_key k, const char *value)
{
	return k == SET_BASE_URL ? provider_redact_url(value) : xstrdup(value);
}

static void add(json_t *all, const char *name, const char *value, const char *from)
{
	json_object_set_new(all, name, json_pack("{s:s?,s:s}", "value", value, "from", from));
}

static json_t *effective(const struct cli *c)
{
	const struct settings *s = &c->settings;
	const char *provider = set(getenv("IMAGEGEN_PROVIDER")) ? getenv("IMAGEGEN_PROVIDER")
							      : settings_get(s, SET_PROVIDER);
	bool azure = provider && !strcmp(provider, "azure");
	const struct row rows[] = {
		{ SET_MODEL, NULL, DEFAULT_MODEL },
		{ SET_QUALITY, NULL, NULL },
		{ SET_SIZE, NULL, NULL },
		{ SET_OUTPUT_FORMAT, NULL, NULL },
		{ SET_OUT_DIR, NULL, NULL },
		{ SET_CONCURRENCY, NULL, "5" },
		{ SET_PROVIDER, "IMAGEGEN_PROVIDER", "openai" },
		{ SET_BASE_URL, azure ? "AZURE_OPENAI_ENDPOINT" : "OPENAI_BASE_URL",
		  azure ? NULL : DEFAULT_BASE_URL },
		{ SET_DEPLOYMENT, NULL, NULL },
		{ SET_API_VERSION, "OPENAI_API_VERSION", NULL },
		{ SET_MAX_COST, NULL, NULL },
		{ SET_CONFIRM_ABOVE, "IMAGEGEN_CONFIRM_ABOVE", "5" },
		{ SET_HISTORY, "IMAGEGEN_NO_HISTORY", "on" },
	};
	json_t *all = json_object();

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		const struct row *r = &rows[i];
		const char *name = settings_name(r->key), *env = r->variable ? getenv(r->variable)
									  : NULL;
		char *origin = settings_origin(s, r->key), *value = NULL, *from = NULL;

		if (set(env)) {
			/* IMAGEGEN_NO_HISTORY=1 is history off. */
			value = r->key == SET_HISTORY ? xstrdup(strcmp(env, "0") ? "off" : "on")
						      : shown(r->key, env);
			from = xasprintf("environment (%s)", r->variable);
		} else if (origin) {
			value = shown(r->key, settings_get(s, r->key));
			from = xstrdup(origin);
		} else {
			value = r->builtin ? xstrdup(r->builtin) : NULL;
			from = xstrdup(r->builtin ? "built-in" : "not set");
		}
		add(all, name, value, from);
		free(value);
		free(from);
		free(origin);
	}
	/* The key: only whether there is one, and from where. */
	const char *var = azure ? "AZURE_OPENAI_API_KEY" : "OPENAI_API_KEY";
	const char *named = settings_get(s, SET_API_KEY_ENV);
	char *from = NULL, *origin = NULL;
	const char *state = "not set";
	if (set(getenv(var))) {
		from = xasprintf("environment (%s)", var);
		state = "set";
	} else if (named) {
		origin = settings_origin(s, SET_API_KEY_ENV);
		from = xasprintf("$%s, named by api_key_env %s", named, origin);
		state = set(getenv(named)) ? "set" : "not set";
	} else if (settings_get(s, SET_API_KEY_COMMAND)) {
		origin = settings_origin(s, SET_API_KEY_COMMAND);
		char *command = utf8_scrub(settings_get(s, SET_API_KEY_COMMAND));
		from = xasprintf("api_key_command '%s' %s", command, origin);
		free(command);
		state = "from a command (not run here)";
	} else {
		from = xasprintf("%s is not set, nor api_key_command or api_key_env", var);
	}
	add(all, "api_key", state, from);
	free(from);
	free(origin);
	return all;
}

static void print_human(const struct cli *c, json_t *all)
{
	const struct settings *s = &c->settings;
	const char *name;
	json_t *row;

	printf("config file: ");
	cli_put_safe(stdout, s->path ? s->path : "none");
	if (s->profile) {
		printf(" (profile ");
		cli_put_safe(stdout, s->profile);
		printf(", from %s)", s->profile_from);
	}
	putchar('\n');
	json_object_foreach(all, name, row) {
		const char *value = json_string_value(json_object_get(row, "value"));
		size_t len = value ? strlen(value) : 1;
		printf("%-15s ", name);
		cli_put_safe(stdout, value ? value : "-");
		printf("%*s", len < 28 ? (int)(28 - len) : 1, "");
		cli_put_safe(stdout, json_string_value(json_object_get(row, "from")));
		putchar('\n');
	}
}

int cmd_config(int argc, char **argv)
{
	struct cli c = CLI_INIT;
	struct opt opts[] = {
		OPT_STRING(0, "profile", &c.profile, "NAME", "show [profile NAME] of the config file (default $IMAGEGEN_PROFILE)"),
		OPT_BOOL(0, "json", &c.json, "one JSON object: the file, the profile and every setting"),
		OPT_END(),
	};
	struct buf err = BUF_INIT;
	int rc = cli_parse(&c, opts, usage, about, argc, argv);

	if (rc != -1)
		goto cleanup;
	if (c.words.n) {
		errorf("config: it takes no arguments (--profile NAME picks a profile)");
		rc = EXIT_USAGE;
		goto cleanup;
	}
	c.dry_run = true;   /* never runs api_key_command */
	if (cli_settings(&c, &err)) {
		errorf("%s", err.data);
		rc = EXIT_USAGE;
		goto cleanup;
	}
	json_t *all = effective(&c);
	if (c.json) {
		json_t *o = json_pack("{s:s?,s:s?,s:O}", "file", c.settings.path, "profile",
				      c.settings.profile, "settings", all);
		json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(o);
	} else {
		print_human(&c, all);
	}
	json_decref(all);
	rc = EXIT_OK;
cleanup:
	cli_release(&c);
	buf_release(&err);
	return rc;
}
