/* imagegen edit: POST /images/edits with one to 16 images and a mask. Local
 * files go as multipart/form-data; URLs and file ids switch the request to
 * the JSON form, with local files as data: URLs (the engine decides). */
#include "cli.h"
#include "commands.h"

static const char usage[] = "imagegen edit --image FILE [--image FILE ...] [--mask FILE] [options] [PROMPT...]";
static const char about[] =
	"Edit images with a prompt. --image takes a local PNG, JPEG or WebP file, an\n"
	"https:// URL, a data: URL or a File API id (file-...); up to 16 images. The\n"
	"mask is a PNG with alpha the size of the first image. Outputs are named from\n"
	"the first image: photo.png -> photo-edit.png.";

int cmd_edit(int argc, char **argv)
{
	struct cli c = CLI_INIT;
	struct opt opts[] = {
		OPT_GROUP("Inputs"),
		OPT_CLI_INPUTS(&c),
		OPT_CLI_PROMPT(&c),
		OPT_CLI_PARAMS(&c),
		OPT_CLI_OUTPUT(&c),
		OPT_CLI_COST(&c),
		OPT_CLI_CONNECTION(&c),
		OPT_END(),
	};
	struct cli_command cmd = { usage, about, opts, "editing", OP_EDIT, NULL };

	return cli_run_single(&cmd, &c, argc, argv);
}
