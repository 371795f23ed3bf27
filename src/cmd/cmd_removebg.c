/* imagegen remove-bg IN: key a flat background colour out of an image into an
 * alpha channel (the local half of the --chroma-key workflow). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "afile.h"
#include "chroma.h"
#include "cli.h"
#include "commands.h"
#include "imgvips.h"
#include "msg.h"
#include "naming.h"
#include "sniff.h"

static const char usage[] =
	"imagegen remove-bg IN [--out OUT] [--key-color auto|#RRGGBB] [--tolerance P]\n"
	"       [--softness P] [--despill]";
static const char about[] =
	"Make a flat background transparent: pixels near the key colour lose their\n"
	"alpha, with a soft edge. The key is sampled from the image's border (auto)\n"
	"or given. Writes PNG or WebP (by --out's extension); default IN-nobg.png.";

struct removebg {
	const char *out;
	const char *key;
	double tolerance, softness;
	bool despill;
};

static int settle(struct cli *c, struct removebg *r, struct chroma_opts *o, const char **format,
		  struct buf *err)
{
	if (c->words.n != 1) {
		buf_addf(err, "remove-bg: give exactly one input image");
		return -1;
	}
	*o = (struct chroma_opts){ .tolerance = r->tolerance, .softness = r->softness,
				   .despill = r->despill, .auto_key = true };
	if (r->key && strcmp(r->key, "auto")) {
		o->auto_key = false;
		if (chroma_parse_color(r->key, o->key)) {
			buf_addf(err, "--key-color: '%s' is not auto or #RRGGBB", r->key);
			return -1;
		}
	}
	*format = r->out ? ext_format(path_ext(r->out)) : "png";
	if (!*format || (strcmp(*format, "png") && strcmp(*format, "webp"))) {
		buf_addf(err, "--out: '%s' must end in .png or .webp (the result has transparency)",
			 r->out);
		return -1;
	}
	return 0;
}

/* IN's folder and stem + "-nobg.png", or --out; refused or advanced when taken. */
static char *plan_output(const char *in, const struct removebg *r, bool force, struct buf *err)
{
	char *path;

	if (r->out) {
		if (path_exists(r->out) && !force) {
			buf_addf(err, "--out: '%s' already exists (use --force to overwrite it)", r->out);
			return NULL;
		}
		return xstrdup(r->out);
	}
	path = xasprintf("%.*s-nobg.png", path_stem_len(in), in);
	if (path_exists(path)) {
		char *next = naming_next_free(path, naming_exists_on_disk, NULL);
		free(path);
		path = next;
	}
	return path;
}

static int key_out(const char *in, const char *out, const char *format,
		   const struct chroma_opts *o, bool replace, struct buf *err)
{
	unsigned char *rgb = NULL, *rgba = NULL;
	struct buf encoded = BUF_INIT;
	struct afile f = AFILE_INIT;
	struct chroma_opts opts = *o;
	int w, h, rc = -1;

	if (imgvips_load_rgb(in, &rgb, &w, &h, err))
		goto cleanup;
	rgba = malloc((size_t)w * (size_t)h * 4);
	if (!rgba)
		goto cleanup;
	if (opts.auto_key)
		chroma_auto_key(rgb, w, h, opts.key);
	notef("key colour #%02X%02X%02X%s", opts.key[0], opts.key[1], opts.key[2],
	      opts.auto_key ? " (sampled from the border)" : "");
	double border = chroma_border_match(rgb, w, h, &opts);
	if (border < CHROMA_BORDER_MIN)
		warnf("only %.0f%% of the border of '%s' is near the key colour: it has no flat "
		      "background of that colour, and keying may cut into the picture", border * 100,
		      in);
	size_t keyed = chroma_key(rgb, rgba, (size_t)w * (size_t)h, &opts);
	notef("keyed %.0f%% of the pixels", 100.0 * (double)keyed / ((double)w * (double)h));
	if (imgvips_encode_rgba(rgba, w, h, format, &encoded, err) ||
	    afile_open(&f, out, err) || afile_write(&f, encoded.data, encoded.len, err) ||
	    afile_commit(&f, replace ? AFILE_REPLACE : AFILE_NO_CLOBBER, err))
		goto cleanup;
	rc = 0;
cleanup:
	afile_release(&f);
	buf_release(&encoded);
	free(rgb);
	free(rgba);
	return rc;
}

int cmd_removebg(int argc, char **argv)
{
	struct cli c = CLI_INIT;
	struct removebg r = { NULL, NULL, CHROMA_DEFAULT_TOLERANCE, CHROMA_DEFAULT_SOFTNESS, 0 };
	struct opt opts[] = {
		OPT_STRING('o', "out", &r.out, "FILE", "where to write (.png or .webp)"),
		OPT_STRING(0, "key-color", &r.key, "C", "auto (default: sampled from the border) or #RRGGBB"),
		OPT_SECONDS(0, "tolerance", &r.tolerance, "P", 0, 100, "distance to the key, in percent, that becomes fully transparent (default 12)"),
		OPT_SECONDS(0, "softness", &r.softness, "P", 0, 100, "width of the soft edge above it, in percent (default 10)"),
		OPT_BOOL(0, "despill", &r.despill, "remove the key colour's tint from the subject"),
		OPT_BOOL('f', "force", &c.spec.force, "overwrite an existing --out file"),
		OPT_BOOL('q', "quiet", &c.quiet, "print only errors on stderr"),
		OPT_END(),
	};
	struct chroma_opts o;
	struct buf err = BUF_INIT;
	const char *format = NULL;
	char *out = NULL;
	int rc = cli_parse(&c, opts, usage, about, argc, argv);

	if (rc != -1)
		goto cleanup;
	rc = EXIT_USAGE;
	if (settle(&c, &r, &o, &format, &err) || !(out = plan_output(c.words.v[0], &r, c.spec.force, &err))) {
		errorf("%s", err.data);
		goto cleanup;
	}
	if (!path_exists(c.words.v[0])) {
		errorf("remove-bg: cannot read '%s': %s", c.words.v[0], strerror(ENOENT));
		goto cleanup;
	}
	if (key_out(c.words.v[0], out, format, &o, c.spec.force && r.out, &err)) {
		errorf("remove-bg: %s", err.len ? err.data : "out of memory");
		rc = EXIT_FAILED;
		goto cleanup;
	}
	printf("%s\n", out);
	goodf("saved %s", out);
	rc = EXIT_OK;
cleanup:
	free(out);
	cli_release(&c);
	buf_release(&err);
	return rc;
}
