#include "settings.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "value.h"

#define KEY_OUTPUT_MAX 4096

static const char *const names[SET_COUNT] = {
	[SET_MODEL] = "model",
	[SET_QUALITY] = "quality",
	[SET_SIZE] = "size",
	[SET_OUTPUT_FORMAT] = "output_format",
	[SET_OUT_DIR] = "out_dir",
	[SET_CONCURRENCY] = "concurrency",
	[SET_PROVIDER] = "provider",
	[SET_BASE_URL] = "base_url",
	[SET_DEPLOYMENT] = "deployment",
	[SET_API_VERSION] = "api_version",
	[SET_MAX_COST] = "max_cost",
	[SET_CONFIRM_ABOVE] = "confirm_above",
	[SET_HISTORY] = "history",
	[SET_API_KEY_COMMAND] = "api_key_command",
	[SET_API_KEY_ENV] = "api_key_env",
};

/* Names a key is never kept under. */
static const char *const secrets[] = {
	"api_key", "key", "openai_api_key", "azure_openai_api_key", "token", "ad_token",
	"azure_openai_ad_token", "password", "secret",
};

const char *settings_name(enum setting_key k)
{
	return k < SET_COUNT ? names[k] : "?";
}

/* What inih reads line by line, counting lines so that a key and an error
 * can say where they are. */
struct reading {
	FILE *file;
	int line;           /* of the text last handed to inih */
	bool ended;         /* the last piece ended its line */
	struct settings *s;
	const char *profile_section;   /* "profile NAME", or NULL */
	bool profile_seen;
	struct buf why;     /* the first error's reason */
	int why_line;
};

static char *reader(char *str, int num, void *stream)
{
	struct reading *r = stream;
	char *got = fgets(str, num, r->file);

	if (!got)
		return NULL;
	if (r->ended)
		r->line++;
	r->ended = strchr(got, '\n') != NULL;
	return got;
}

/* The first error's reason and line; 0 (inih: an error on this line). */
static int refuse(struct reading *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(struct reading *r, const char *fmt, ...)
{
	va_list ap;
	char *text;
	int len;

	if (r->why.len)
		return 0;
	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	text = xcalloc((size_t)len + 1, 1);
	va_start(ap, fmt);
	vsnprintf(text, (size_t)len + 1, fmt, ap);
	va_end(ap);
	buf_adds(&r->why, text);
	free(text);
	r->why_line = r->line;
	return 0;
}

/* Does the text hold what looks like an OpenAI key: "sk-" and 16 or more
 * key characters (a value, or inside a command)? */
static bool holds_a_key(const char *s)
{
	for (const char *p = strstr(s, "sk-"); p; p = strstr(p + 1, "sk-")) {
		size_t n = strspn(p + 3, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "0123456789_-");
		if (n >= 16)
			return true;
	}
	return false;
}

static bool plain_name(const char *s)
{
	if (!*s || isdigit((unsigned char)*s))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

/* Is value one key k takes? (Model, size and the like are checked where
 * they are used, as the flags are.) The reason in r when not. */
static bool valid(struct reading *r, enum setting_key k, const char *value)
{
	double usd;
	char *end;
	long n;

	switch (k) {
	case SET_CONCURRENCY:
		errno = 0;
		n = strtol(value, &end, 10);
		if (errno || *end || end == value || n < 1 || n > 100)
			return refuse(r, "%s: '%s' is not a number from 1 to 100", names[k], value);
		return true;
	case SET_MAX_COST:
	case SET_CONFIRM_ABOVE:
		if (value_parse_dollars(value, 0, 1e9, &usd))
			return refuse(r, "%s: '%s' is not an amount of dollars", names[k], value);
		return true;
	case SET_HISTORY:
		if (strcmp(value, "on") && strcmp(value, "off"))
			return refuse(r, "%s: '%s' is not on or off", names[k], value);
		return true;
	case SET_PROVIDER:
		if (strcmp(value, "openai") && strcmp(value, "azure"))
			return refuse(r, "%s: '%s' is not openai or azure", names[k], value);
		return true;
	case SET_API_KEY_ENV:
		if (!plain_name(value))
			return refuse(r, "%s: '%s' is not the name of a variable", names[k], value);
		return true;
	default:
		return true;
	}
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct reading *r = user;
	struct settings *s = r->s;
	bool profile = r->profile_section && !strcmp(section, r->profile_section);
	enum setting_key k;

	if (strcmp(section, "default") && strncmp(section, "profile ", 8))
		return refuse(r, "[%s]: sections are [default] and [profile NAME]", section);
	for (size_t i = 0; i < ARRAY_SIZE(secrets); i++)
		if (!strcmp(name, secrets[i]))
			return refuse(r, "%s: a key is never kept in the file as plain text; use "
				      "api_key_command (a command that prints it, such as 'pass show "
				      "openai') or api_key_env (the name of a variable that holds "
				      "it)", name);
	if (holds_a_key(value))
		return refuse(r, "%s: the value holds what looks like an API key, which is never "
			      "kept in the file as plain text; use api_key_command (a command "
			      "that prints it) or api_key_env", name);
	for (k = 0; k < SET_COUNT; k++)
		if (!strcmp(name, names[k]))
			break;
	if (k == SET_COUNT)
		return refuse(r, "unknown key '%s' (see imagegen config --help)", name);
	if (!valid(r, k, value))
		return 0;
	r->profile_seen |= profile;
	if (!profile && strcmp(section, "default"))
		return 1;   /* another profile's */
	/* A profile's key wins over [default]'s, wherever each is. */
	if (s->v[k].value && !profile && s->v[k].section && strcmp(s->v[k].section, "default"))
		return 1;
	free(s->v[k].value);
	free(s->v[k].section);
	s->v[k].value = xstrdup(value);
	s->v[k].section = xstrdup(section);
	s->v[k].line = r->line;
	return 1;
}

/* Where the file is: $IMAGEGEN_CONFIG, $XDG_CONFIG_HOME/imagegen/config,
 * or ~/.config/imagegen/config (a relative XDG_CONFIG_HOME is ignored, as
 * the XDG rules say). The caller frees; NULL with no home. */
char *settings_file(const char *name, const char *(*env)(const char *name))
{
	const char *xdg = env("XDG_CONFIG_HOME"), *home;

	if (xdg && xdg[0] == '/')
		return xasprintf("%s/imagegen/%s", xdg, name);
	home = home_dir(env);
	return home ? xasprintf("%s/.config/imagegen/%s", home, name) : NULL;
}

static char *config_path(const char *(*env)(const char *name))
{
	const char *named = env("IMAGEGEN_CONFIG");

	return named && *named ? xstrdup(named) : settings_file("config", env);
}

int settings_load(struct settings *s, const char *profile, const char *(*env)(const char *name),
		  struct buf *err)
{
	char *path = config_path(env);
	const char *from = profile ? "--profile" : "IMAGEGEN_PROFILE";
	struct reading r = { .line = 0, .ended = true, .s = s, .why = BUF_INIT };
	int rc = -1, at;

	if (s->loaded)
		return 0;
	s->loaded = true;
	if (!profile && env("IMAGEGEN_PROFILE") && *env("IMAGEGEN_PROFILE"))
		profile = env("IMAGEGEN_PROFILE");
	s->profile = profile;
	s->profile_from = profile ? from : NULL;
	char *section = profile ? xasprintf("profile %s", profile) : NULL;
	r.profile_section = section;
	r.file = path ? fopen(path, "r") : NULL;
	if (!r.file) {
		if (path && errno != ENOENT) {
			buf_addf(err, "config: cannot read '%s': %s", path, strerror(errno));
			goto cleanup;
		}
		if (profile) {
			buf_addf(err, "%s %s: there is no config file (%s)", from, profile,
				 path ? path : "no home folder");
			goto cleanup;
		}
		rc = 0;
		goto cleanup;
	}
	at = ini_parse_stream(reader, &r, handler, &r);
	fclose(r.file);
	if (at != 0) {
		if (r.why.len)
			buf_addf(err, "config %s:%d: %s", path, r.why_line, r.why.data);
		else
			buf_addf(err, "config %s:%d: not a line of an INI file (KEY = VALUE, or "
				 "[SECTION])", path, at > 0 ? at : r.line);
		goto cleanup;
	}
	if (profile && !r.profile_seen) {
		buf_addf(err, "%s %s: %s has no [profile %s] with keys", from, profile, path,
			 profile);
		goto cleanup;
	}
	s->path = path;
	path = NULL;
	rc = 0;
cleanup:
	if (rc)
		for (size_t k = 0; k < SET_COUNT; k++) {
			FREE_AND_NULL(s->v[k].value);
			FREE_AND_NULL(s->v[k].section);
		}
	buf_release(&r.why);
	free(section);
	free(path);
	return rc;
}

const char *settings_get(const struct settings *s, enum setting_key k)
{
	return k < SET_COUNT ? s->v[k].value : NULL;
}

char *settings_origin(const struct settings *s, enum setting_key k)
{
	if (k >= SET_COUNT || !s->v[k].value)
		return NULL;
	return xasprintf("%s%s%s (%s:%d)", strcmp(s->v[k].section, "default") ? "" : "[",
			 s->v[k].section, strcmp(s->v[k].section, "default") ? "" : "]", s->path,
			 s->v[k].line);
}

char *settings_run_key_command(const struct settings *s, struct buf *err)
{
	const char *command = settings_get(s, SET_API_KEY_COMMAND);
	char *origin = settings_origin(s, SET_API_KEY_COMMAND);
	struct buf out = BUF_INIT;
	char chunk[512];
	size_t n;
	FILE *p;
	int status;

	fflush(NULL);
	p = popen(command, "r");
	if (!p) {
		buf_addf(err, "api_key_command (%s): cannot run it: %s", origin, strerror(errno));
		free(origin);
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		if (out.len < KEY_OUTPUT_MAX)
			buf_add(&out, chunk, n);
	status = pclose(p);
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		buf_addf(err, "api_key_command (%s) failed (%s %d); no key", origin,
			 status != -1 && WIFEXITED(status) ? "exit status" : "status",
			 status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : status);
		goto fail;
	}
	if (!out.data) {
		buf_addf(err, "api_key_command (%s) printed no key", origin);
		goto fail;
	}
	/* The first line, without its line end or surrounding blanks. */
	char *key = out.data;
	key[strcspn(key, "\r\n")] = '\0';
	while (*key == ' ' || *key == '\t')
		key++;
	size_t len = strlen(key);
	while (len && (key[len - 1] == ' ' || key[len - 1] == '\t'))
		key[--len] = '\0';
	if (!len) {
		buf_addf(err, "api_key_command (%s) printed no key", origin);
		goto fail;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)key[i] < 0x20 || key[i] == 0x7f) {
			buf_addf(err, "api_key_command (%s) printed a control character; no key",
				 origin);
			goto fail;
		}
	char *copy = xstrdup(key);
	explicit_bzero(out.data, out.len);
	buf_release(&out);
	free(origin);
	return copy;
fail:
	if (out.data)
		explicit_bzero(out.data, out.len);
	buf_release(&out);
	free(origin);
	return NULL;
}

void settings_release(struct settings *s)
{
	for (size_t k = 0; k < SET_COUNT; k++) {
		FREE_AND_NULL(s->v[k].value);
		FREE_AND_NULL(s->v[k].section);
	}
	FREE_AND_NULL(s->path);
	s->loaded = false;
}
