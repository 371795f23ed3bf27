/* imagegen variation: POST /images/variations (dall-e-2). */
#include "cli.h"
#include "commands.h"

static const char usage[] = "imagegen variation --image FILE [options]";
static const char about[] =
	"Make variations of an image with dall-e-2: a square PNG under 4 MB.\n"
	"Outputs are named from the input: photo.png -> photo-var.png.";

/* A variation has no prompt: words after the options are a mistake. */
static int check(struct cli *c, struct buf *err)
{
	if (!c->words.n)
		return 0;
	buf_addf(err, "--image: a variation takes no prompt ('%s')", c->words.v[0]);
	return -1;
}

int cmd_variation(int argc, char **argv)
{
	struct cli c = CLI_INIT;
	struct opt opts[] = {
		OPT_GROUP("Input"),
		OPT_LIST('i', "image", &c.images, "FILE", "the square PNG to vary"),
		OPT_GROUP("Image parameters"),
		OPT_STRING('m', "model", &c.spec.params.model, "MODEL", "model (default dall-e-2)"),
		OPT_INT('n', "n", &c.spec.params.n, "N", 1, 10, "images (1-10)"),
		OPT_STRING('s', "size", &c.spec.params.size, "WxH", "256x256, 512x512 or 1024x1024"),
		OPT_STRING(0, "response-format", &c.spec.params.response_format, "F", "url|b64_json"),
		OPT_STRING(0, "user", &c.spec.params.user, "ID", "end-user id for abuse monitoring"),
		/* Only the options a variation uses: it has no prompt (so no key
		 * colour to ask for) and no stream. */
		OPT_CLI_SAVE(&c),
		OPT_CLI_METADATA(&c),
		OPT_CLI_DOWNSCALE(&c),
		OPT_CLI_DRY_QUIET(&c),
		OPT_CLI_COST(&c),
		OPT_CLI_CONNECTION(&c),
		OPT_END(),
	};
	struct cli_command cmd = { usage, about, opts, "making variations:", OP_VARIATION, check };

	return cli_run_single(&cmd, &c, argc, argv);
}
