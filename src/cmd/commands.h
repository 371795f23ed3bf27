/* The commands, one file each (cmd_*.c); main.c dispatches by name. */
#ifndef IMAGEGEN_COMMANDS_H
#define IMAGEGEN_COMMANDS_H

/* argv[0] is the command name. Each returns an exit status (msg.h). */
int cmd_generate(int argc, char **argv);
int cmd_edit(int argc, char **argv);
int cmd_variation(int argc, char **argv);
int cmd_batch(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_removebg(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_usage(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_completion(int argc, char **argv);
int cmd_models(int argc, char **argv);

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "util.h"

int cmd_mcp(int argc, char **argv);

/* What the commands report, for the other front end (the MCP server):
 * a file's record as info --json gives it (NULL with why in err), and every
 * model as models --json lists them (the user's rows first), each a new
 * reference. */
json_t *info_describe(const char *path, struct buf *err);
json_t *models_table(time_t now);

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;        /* NULL: an alias, not listed */
};
extern const struct command commands[];
extern const size_t commands_n;

#endif
