/* imagegen: make and edit images through the OpenAI Images API. */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sqlite3.h>
#include <zlib.h>

#include "cli.h"
#include "commands.h"
#include "config.h"
#include "http.h"
#include "imgvips.h"
#include "model.h"
#include "msg.h"


static void usage(FILE *out)
{
	fputs("usage: imagegen COMMAND [options]\n\n"
	      "Generate and edit images with the OpenAI Images API or any compatible server.\n\n"
	      "Commands:\n", out);
	for (size_t i = 0; i < commands_n; i++)
		if (commands[i].help)
			fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].help);
	fputs("\nRun 'imagegen COMMAND --help' (or 'imagegen help COMMAND') for a command's "
	      "options.\n"
	      "Environment: OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_ORG_ID, "
	      "OPENAI_PROJECT_ID; for Azure OpenAI\n"
	      "AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY, AZURE_OPENAI_AD_TOKEN, "
	      "OPENAI_API_VERSION; IMAGEGEN_PROVIDER, NO_COLOR.\n"
	      "Exit status: 0 ok, 1 a request failed, 2 bad usage or input "
	      "(nothing sent), 130 interrupted.\n", out);
}

/* The libraries a bug report needs to name, as this machine has them. */
static void print_version(void)
{
	const curl_version_info_data *curl = curl_version_info(CURLVERSION_NOW);
	const char *vips = imgvips_version();

	printf("imagegen %s\n", IMAGEGEN_VERSION);
	printf("libcurl %s%s%s, jansson %s, SQLite %s, zlib %s, %s%s\n", curl->version,
	       curl->ssl_version ? " " : "", curl->ssl_version ? curl->ssl_version : "",
	       jansson_version_str(), sqlite3_libversion(), zlibVersion(),
	       vips ? "libvips " : "libvips not found", vips ? vips : "");
}

/* A full disk or a closed pipe on stdout is a failure, not silence. */
static int close_stdout(int rc)
{
	if (fflush(stdout) || ferror(stdout) || fclose(stdout)) {
		msg_setup(false);
		errorf("cannot write to standard output");
		return rc ? rc : EXIT_FAILED;
	}
	return rc;
}

/* "unknown command 'genrate'; did you mean 'generate'?" */
static int unknown_command(const char *name)
{
	const char *names[32];
	size_t n = 0;

	for (size_t i = 0; i < commands_n && n < ARRAY_SIZE(names); i++)
		names[n++] = commands[i].name;
	const char *near = closest_name(name, names, n);

	msg_setup(false);
	if (near)
		errorf("unknown command '%s'; did you mean '%s'? (see 'imagegen --help')", name,
		       near);
	else
		errorf("unknown command '%s' (see 'imagegen --help')", name);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : NULL;
	static char help_flag[] = "--help";
	char *help[] = { argv[0], NULL, help_flag, NULL };
	int rc;

	/* "imagegen help generate" is "imagegen generate --help". */
	if (name && !strcmp(name, "help") && argc > 2) {
		help[1] = argv[2];
		argc = 3;
		argv = help;
		name = argv[1];
	}
	if (!name || !strcmp(name, "--help") || !strcmp(name, "-h") ||
	    !strcmp(name, "help")) {
		usage(name ? stdout : stderr);
		return close_stdout(name ? EXIT_OK : EXIT_USAGE);
	}
	if (!strcmp(name, "--version") || !strcmp(name, "version")) {
		print_version();
		return close_stdout(EXIT_OK);
	}
	for (size_t i = 0; i < commands_n; i++) {
		if (strcmp(name, commands[i].name))
			continue;
		cli_install_signals();
		if (http_global_init()) {
			fputs("imagegen: error: cannot initialise libcurl\n", stderr);
			return EXIT_FAILED;
		}
		rc = commands[i].fn(argc - 1, argv + 1);
		/* libvips' worker threads end before exit (if a command loaded it). */
		imgvips_shutdown();
		model_release_user();
		http_global_cleanup();
		return close_stdout(rc);
	}
	return unknown_command(name);
}
