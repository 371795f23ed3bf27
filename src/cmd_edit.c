/* imagegen edit: POST /images/edits with one to 16 images and a mask. Local
 * files go as multipart/form-data; URLs and file ids switch the request to
 * the JSON form, with local files as data: URLs. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "input.h"
#include "msg.h"
#include "request.h"

static const char usage[] = "imagegen edit --image FILE [--image FILE ...] [--mask FILE] [options] [PROMPT...]";
static const char about[] =
	"Edit images with a prompt. --image takes a local PNG, JPEG or WebP file, an\n"
	"https:// URL, a data: URL or a File API id (file-...); up to 16 images. The\n"
	"mask is a PNG with alpha the size of the first image. Outputs are named from\n"
	"the first image: photo.png -> photo-edit.png.";

/* Sizes the JSON edit body takes (EditImageBodyJsonParam). */
static const char *const json_sizes[] = { "auto", "1024x1024", "1536x1024", "1024x1536", NULL };

/* Inspects every input; 0 or -1 with a message naming the input. */
static int edit_inspect_inputs(const struct cli *c, struct input *images, struct input *mask,
			struct buf *err)
{
	if (c->images.n > INPUT_MAX_IMAGES) {
		buf_addf(err, "--image: %zu images; at most %d", c->images.n, INPUT_MAX_IMAGES);
		return -1;
	}
	for (size_t i = 0; i < c->images.n; i++)
		if (input_inspect(&images[i], "--image", c->images.v[i], err))
			return -1;
	if (c->mask && input_inspect(mask, "--mask", c->mask, err))
		return -1;
	return 0;
}

/* Parameters one request form takes and the other does not (per the spec). */
static int check_form(const struct cli *c, bool multipart, struct buf *err)
{
	const struct img_params *p = &c->params;

	if (multipart && p->moderation) {
		buf_addf(err, "--moderation: the API takes it on edits only with URL or "
			 "file-id inputs (the JSON form), not with uploaded files");
		return -1;
	}
	if (!multipart && p->response_format) {
		buf_addf(err, "--response-format: not taken by edits with URL or file-id inputs");
		return -1;
	}
	if (!multipart && p->size && !one_of(p->size, json_sizes)) {
		buf_addf(err, "--size: edits with URL or file-id inputs take auto, 1024x1024, "
			 "1536x1024 or 1024x1536, not '%s'", p->size);
		return -1;
	}
	return 0;
}

static int prepare(struct cli *c, const struct api_config *api, struct job *job,
		   struct job_env *env, struct buf *err)
{
	struct input *images = xcalloc(c->images.n, sizeof(*images));
	struct input mask;
	struct buf warn = BUF_INIT;
	struct form form = FORM_INIT;
	char *raw = NULL, *sent = NULL, *stem = NULL;
	json_t *body = NULL;
	int rc = EXIT_USAGE;

	cli_settle_style(c);
	if (cli_format_from_out(c, err) || cli_settle_image_work(c, err) ||
	    cli_prompt(c, &raw, &sent, err))
		goto cleanup;
	params_apply_defaults(&c->params, OP_EDIT);
	if (params_validate(&c->params, OP_EDIT, sent, err, &warn) ||
	    edit_inspect_inputs(c, images, &mask, err) ||
	    input_check_set(images, c->images.n, c->mask ? &mask : NULL, c->params.model,
			    OP_EDIT, err))
		goto cleanup;
	struct edit_inputs in = { images, c->images.n, c->mask ? &mask : NULL };
	bool multipart = input_all_local(images, c->images.n, in.mask);
	if (check_form(c, multipart, err))
		goto cleanup;
	cli_print_warnings(&warn);
	if (multipart)
		request_edit_form(&form, &c->params, sent, &in, OP_EDIT);
	else if (!(body = request_edit_json(&c->params, sent, &in, c->dry_run, err)))
		goto cleanup;
	stem = input_stem(&images[0]);
	struct name_request names = {
		.out = c->out, .out_dir = c->out_dir,
		.prefix = c->prefix ? c->prefix : stem, .suffix = c->prefix ? NULL : "-edit",
		.format = params_format(&c->params), .n = c->params.n, .force = c->force,
	};
	rc = cli_finish_prepare(c, api, job, env, &names, sent, "images/edits", body,
				&form, err);
	sent = NULL;
cleanup:
	form_release(&form);
	free(images);
	free(stem);
	free(raw);
	free(sent);
	buf_release(&warn);
	return rc;
}

int cmd_edit(int argc, char **argv)
{
	struct cli c = CLI_INIT;
	struct opt opts[] = {
		OPT_GROUP("Inputs"),
		OPT_LIST('i', "image", &c.images, "FILE", "an image to edit (repeat for up to 16)"),
		OPT_STRING(0, "mask", &c.mask, "FILE", "PNG mask: transparent areas mark where to edit"),
		OPT_CLI_PROMPT(&c),
		OPT_CLI_PARAMS(&c),
		OPT_CLI_OUTPUT(&c),
		OPT_CLI_CONNECTION(&c),
		OPT_END(),
	};
	struct cli_command cmd = { usage, about, opts, "editing", prepare };
	return cli_run_single(&cmd, &c, argc, argv);
}
