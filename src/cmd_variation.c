/* imagegen variation: POST /images/variations (dall-e-2). */
#include <stdlib.h>

#include "cli.h"
#include "commands.h"
#include "input.h"
#include "msg.h"
#include "request.h"

static const char usage[] = "imagegen variation --image FILE [options]";
static const char about[] =
	"Make variations of an image with dall-e-2: a square PNG under 4 MB.\n"
	"Outputs are named from the input: photo.png -> photo-var.png.";

static int prepare(struct cli *c, const struct api_config *api, struct job *job,
		   struct job_env *env, struct buf *err)
{
	struct input image;
	struct buf warn = BUF_INIT;
	struct form form = FORM_INIT;
	char *stem = NULL;
	int rc = EXIT_USAGE;

	if (c->words.n) {
		buf_addf(err, "--image: a variation takes no prompt ('%s')", c->words.v[0]);
		goto cleanup;
	}
	if (c->images.n != 1) {
		buf_addf(err, "--image: a variation takes exactly one image");
		goto cleanup;
	}
	params_apply_defaults(&c->params, OP_VARIATION);
	if (cli_format_from_out(c, err) ||
	    params_validate(&c->params, OP_VARIATION, NULL, err, &warn) ||
	    input_inspect(&image, "--image", c->images.v[0], err) ||
	    input_check_set(&image, 1, NULL, c->params.model, OP_VARIATION, err))
		goto cleanup;
	if (model_find(c->params.model) && image.kind != INPUT_FILE) {
		buf_addf(err, "--image '%s': variations take uploaded files only", image.arg);
		goto cleanup;
	}
	cli_print_warnings(&warn);
	struct edit_inputs in = { &image, 1, NULL };
	request_edit_form(&form, &c->params, NULL, &in, OP_VARIATION);
	stem = input_stem(&image);
	struct name_request names = {
		.out = c->out, .out_dir = c->out_dir,
		.prefix = c->prefix ? c->prefix : stem, .suffix = c->prefix ? NULL : "-var",
		.format = "png", .n = c->params.n, .force = c->force,
	};
	rc = cli_finish_prepare(c, api, job, env, &names, xstrdup(""), "images/variations",
				NULL, &form, err);
cleanup:
	form_release(&form);
	free(stem);
	buf_release(&warn);
	return rc;
}

int cmd_variation(int argc, char **argv)
{
	struct cli c = CLI_INIT;
	struct opt opts[] = {
		OPT_GROUP("Input"),
		OPT_LIST('i', "image", &c.images, "FILE", "the square PNG to vary"),
		OPT_GROUP("Image parameters"),
		OPT_STRING('m', "model", &c.params.model, "MODEL", "model (default dall-e-2)"),
		OPT_INT('n', "n", &c.params.n, "N", 1, 10, "images (1-10)"),
		OPT_STRING('s', "size", &c.params.size, "WxH", "256x256, 512x512 or 1024x1024"),
		OPT_STRING(0, "response-format", &c.params.response_format, "F", "url|b64_json"),
		OPT_STRING(0, "user", &c.params.user, "ID", "end-user id for abuse monitoring"),
		OPT_CLI_OUTPUT(&c),
		OPT_CLI_CONNECTION(&c),
		OPT_END(),
	};
	struct cli_command cmd = { usage, about, opts, "making variations:", prepare };
	return cli_run_single(&cmd, &c, argc, argv);
}
