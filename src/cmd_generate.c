/* imagegen generate: POST /images/generations and save the images. */
#include <stdlib.h>

#include "cli.h"
#include "commands.h"
#include "msg.h"
#include "request.h"

static const char usage[] = "imagegen generate [options] [PROMPT...]";
static const char about[] =
	"Generate images from a prompt and save them. Saved paths go to stdout,\n"
	"one per line; progress and errors go to stderr.";

/* Everything up to the request: options to a ready job. exit status, or -1
 * to go on. */
static int prepare(struct cli *c, const struct api_config *api, struct job *job,
		   struct job_env *env, struct buf *err)
{
	struct buf warn = BUF_INIT;
	char *raw = NULL, *sent = NULL;
	int rc = EXIT_USAGE;

	cli_settle_style(c);
	if (cli_format_from_out(c, err) || cli_settle_image_work(c, err) ||
	    cli_prompt(c, &raw, &sent, err))
		goto cleanup;
	params_apply_defaults(&c->params, OP_GENERATE);
	if (params_validate(&c->params, OP_GENERATE, sent, err, &warn))
		goto cleanup;
	cli_print_warnings(&warn);
	struct name_request names = {
		.out = c->out, .out_dir = c->out_dir, .prefix = c->prefix,
		.prompt = raw, .format = params_format(&c->params),
		.n = c->params.n, .force = c->force,
	};
	rc = cli_finish_prepare(c, api, job, env, &names, sent, "images/generations",
				request_generation_body(&c->params, sent), NULL, err);
	sent = NULL;
cleanup:
	free(raw);
	free(sent);
	buf_release(&warn);
	return rc;
}

int cmd_generate(int argc, char **argv)
{
	struct cli c = CLI_INIT;
	struct opt opts[] = {
		OPT_CLI_PROMPT(&c),
		OPT_CLI_PARAMS(&c),
		OPT_CLI_OUTPUT(&c),
		OPT_CLI_CONNECTION(&c),
		OPT_END(),
	};
	struct cli_command cmd = { usage, about, opts, "generating", prepare };

	return cli_run_single(&cmd, &c, argc, argv);
}
