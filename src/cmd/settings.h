/* The config file, $XDG_CONFIG_HOME/imagegen/config (else
 * ~/.config/imagegen/config, or $IMAGEGEN_CONFIG): INI, read with inih, a
 * [default] section and [profile NAME] sections of the keys below. A
 * profile's keys win over [default]'s; the command line and the environment
 * win over both (cli.c applies them in that order). An API key is never in
 * the file: only api_key_command (a command that prints it) or api_key_env
 * (the name of a variable holding it). */
#ifndef IMAGEGEN_SETTINGS_H
#define IMAGEGEN_SETTINGS_H

#include <stdbool.h>

#include "util.h"

enum setting_key {
	SET_MODEL,
	SET_QUALITY,
	SET_SIZE,
	SET_OUTPUT_FORMAT,
	SET_OUT_DIR,
	SET_CONCURRENCY,
	SET_PROVIDER,
	SET_BASE_URL,
	SET_DEPLOYMENT,
	SET_API_VERSION,
	SET_MAX_COST,
	SET_CONFIRM_ABOVE,
	SET_HISTORY,
	SET_API_KEY_COMMAND,
	SET_API_KEY_ENV,
	SET_COUNT
};

/* A key's name in the file. */
const char *settings_name(enum setting_key k);

struct setting {
	char *value;           /* owned; NULL when the file does not set it */
	char *section;         /* "default" or "profile NAME", owned */
	int line;
};

struct settings {
	char *path;            /* the file read (owned), or NULL: none was there */
	const char *profile;   /* the profile asked for (borrowed), or NULL */
	const char *profile_from;  /* "--profile" or "IMAGEGEN_PROFILE" */
	struct setting v[SET_COUNT];
	bool loaded;
};
#define SETTINGS_INIT { NULL, NULL, NULL, { { NULL, NULL, 0 } }, false }

/* Reads the config file, if there is one, keeping [default]'s keys and
 * those of [profile NAME] over them (profile, or else $IMAGEGEN_PROFILE;
 * borrowed). An unknown key or section, a value that is not one the key
 * takes, a key kept as plain text, or a profile the file does not have is
 * an error naming the file and line. 0, or -1 with the reason in err. */
int settings_load(struct settings *s, const char *profile, const char *(*env)(const char *name),
		  struct buf *err);
/* The value of k, or NULL. */
const char *settings_get(const struct settings *s, enum setting_key k);
/* "profile work (FILE:LINE)" for a key the file set; the caller frees. */
char *settings_origin(const struct settings *s, enum setting_key k);
/* Runs api_key_command (sh -c) and returns the key it printed (its first
 * line, trimmed; the caller frees), or NULL with the reason in err: it
 * failed, printed nothing or printed a control character. */
char *settings_run_key_command(const struct settings *s, struct buf *err);
void settings_release(struct settings *s);
/* $XDG_CONFIG_HOME/imagegen/NAME, or ~/.config/imagegen/NAME (a relative
 * XDG_CONFIG_HOME is ignored); the caller frees; NULL with no home. */
char *settings_file(const char *name, const char *(*env)(const char *name));

#endif
