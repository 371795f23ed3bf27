/* imagegen generate: POST /images/generations and save the images. */
#include "cli.h"
#include "commands.h"

static const char usage[] = "imagegen generate [options] [PROMPT...]";
static const char about[] =
	"Generate images from a prompt and save them. Saved paths go to stdout,\n"
	"one per line; progress and errors go to stderr.";

int cmd_generate(int argc, char **argv)
{
	struct cli c = CLI_INIT;
	struct opt opts[] = {
		OPT_CLI_PROMPT(&c),
		OPT_CLI_PARAMS(&c),
		OPT_CLI_OUTPUT(&c),
		OPT_CLI_COST(&c),
		OPT_CLI_CONNECTION(&c),
		OPT_END(),
	};
	struct cli_command cmd = { usage, about, opts, "generating", OP_GENERATE, NULL };

	return cli_run_single(&cmd, &c, argc, argv);
}
