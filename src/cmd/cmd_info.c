/* imagegen info FILE: what an image records about how it was made (PNG text
 * chunks, and the NAME.json sidecar when there is one). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "c2pa.h"
#include "cli.h"
#include "commands.h"
#include "gifmeta.h"
#include "meta.h"
#include "msg.h"
#include "pngmeta.h"
#include "svgmeta.h"
#include "provenance.h"
#include "sniff.h"

static const char usage[] = "imagegen info [--json] [--provenance] FILE...";
static const char about[] =
	"Print how images were made: the prompt, model, parameters, revised prompt,\n"
	"time and tool recorded in a PNG's text chunks, a GIF's comment, an SVG's\n"
	"<metadata id=\"imagegen\"> element and a NAME.json sidecar, and a GIF's or\n"
	"SVG's size (a GIF's frames and timing too).\n"
	"--provenance also asks OpenAI (POST /v1/content_provenance_checks) what it\n"
	"finds in each file: a C2PA manifest and a SynthID watermark. Copies imagegen\n"
	"makes (downscaled, chroma-keyed) are re-encoded and carry no C2PA manifest:\n"
	"check the original (a keyed image's is kept as NAME-original.ext). A file\n"
	"that carries a manifest is saved untouched, its record in NAME.json.";

#define INFO_FILE_MAX (1024L * 1024 * 1024)

static void collect(const char *keyword, const char *text, void *ud)
{
	json_object_set_new(ud, keyword, json_string(text));
}

/* imagegen's record in a GIF comment or SVG <metadata>: a JSON object of
 * the PNG keywords. Other comments are kept as "Comment". */
static void collect_json(const char *text, size_t len, void *ud)
{
	json_t *o = json_loadb(text, len, 0, NULL);
	const char *key;
	json_t *v;

	if (json_is_object(o) && json_is_string(json_object_get(o, "Software"))) {
		json_object_foreach(o, key, v)
			if (json_is_string(v))
				json_object_set(ud, key, v);
	} else if (!json_object_get(ud, "Comment")) {
		json_t *comment = json_stringn(text, len);
		json_object_set_new(ud, "Comment", comment ? comment : json_string("(not UTF-8)"));
	}
	json_decref(o);
}

/* A GIF's or SVG's metadata into chunks and its size into o; 0 or -1. */
static int describe_document(const struct buf *data, const char *format, json_t *o,
			     json_t *chunks, struct buf *err)
{
	if (!strcmp(format, "gif")) {
		struct gif_info g;
		if (gifmeta_scan((const unsigned char *)data->data, data->len, &g, collect_json,
				 chunks, err))
			return -1;
		json_object_set_new(o, "image", json_pack("{s:i,s:i,s:I,s:I}", "width", g.width,
					"height", g.height, "frames", (json_int_t)g.frames,
					"duration_ms", (json_int_t)g.duration_ms));
		if (g.loops >= 0)
			json_object_set_new(json_object_get(o, "image"), "loops",
					    json_integer(g.loops));
		return 0;
	}
	struct svg_info sv;
	struct buf meta = BUF_INIT;
	if (svgmeta_scan(data->data ? data->data : "", data->len, &sv, &meta, err)) {
		buf_release(&meta);
		return -1;
	}
	if (meta.len)
		collect_json(meta.data, meta.len, chunks);
	json_object_set_new(o, "image", json_pack("{s:s,s:s,s:s}", "width", sv.width,
				"height", sv.height, "viewBox", sv.view_box));
	buf_release(&meta);
	return 0;
}

json_t *info_describe(const char *path, struct buf *err)
{
	struct buf data = BUF_INIT;
	json_t *o = NULL, *chunks, *side;
	char *side_path;
	const char *format;
	int rc = 0;

	if (read_file(path, INFO_FILE_MAX, &data)) {
		buf_addf(err, "cannot read '%s': %s", path, strerror(errno));
		goto cleanup;
	}
	format = sniff_format((const unsigned char *)data.data, data.len);
	o = json_pack("{s:s,s:s?}", "file", path, "format", format);
	chunks = json_object();
	if (format && !strcmp(format, "png"))
		rc = pngmeta_read((const unsigned char *)data.data, data.len, collect, chunks, err);
	else if (format && (!strcmp(format, "gif") || !strcmp(format, "svg")))
		rc = describe_document(&data, format, o, chunks, err);
	if (rc) {
		json_decref(chunks);
		json_decref(o);
		o = NULL;
		buf_addf(err, " ('%s')", path);
		goto cleanup;
	}
	long width, height;
	if (format && !json_object_get(o, "image") &&
	    sniff_dimensions((const unsigned char *)data.data, data.len, &width, &height) == 0)
		json_object_set_new(o, "image", json_pack("{s:I,s:I}", "width", (json_int_t)width,
							  "height", (json_int_t)height));
	json_object_set_new(o, "metadata", chunks);
	json_object_set_new(o, "c2pa_manifest", json_boolean(c2pa_present(path, format)));
	side_path = meta_sidecar_path(path);
	side = path_exists(side_path) ? json_load_file(side_path, 0, NULL) : NULL;
	if (side)
		json_object_set_new(o, "sidecar", side);
	free(side_path);
cleanup:
	buf_release(&data);
	return o;
}

static void print_safe(const char *s)
{
	cli_put_safe(stdout, s);
}

/* A recorded text (a prompt may have several lines): each line indented,
 * other control characters (C1 ones too) made harmless. */
static void print_text(const char *s)
{
	cli_put_safe_lines(stdout, s, "    ");
}

/* The size line of a GIF or SVG (a still image's is on its first line). */
static void print_image(json_t *im)
{
	json_t *frames = json_object_get(im, "frames");

	if (!im || (json_is_integer(json_object_get(im, "width")) && !frames))
		return;
	if (frames) {
		printf("  %" JSON_INTEGER_FORMAT "x%" JSON_INTEGER_FORMAT ", %" JSON_INTEGER_FORMAT
		       " frame%s, %" JSON_INTEGER_FORMAT " ms", json_integer_value(json_object_get(im, "width")),
		       json_integer_value(json_object_get(im, "height")), json_integer_value(frames),
		       json_integer_value(frames) == 1 ? "" : "s",
		       json_integer_value(json_object_get(im, "duration_ms")));
		if (json_object_get(im, "loops"))
			printf(json_integer_value(json_object_get(im, "loops")) ? ", loops %"
			       JSON_INTEGER_FORMAT " times\n" : ", loops forever\n",
			       json_integer_value(json_object_get(im, "loops")));
		else
			putchar('\n');
		return;
	}
	fputs("  width ", stdout);
	print_safe(json_string_value(json_object_get(im, "width")));
	fputs(", height ", stdout);
	print_safe(json_string_value(json_object_get(im, "height")));
	fputs(", viewBox ", stdout);
	print_safe(json_string_value(json_object_get(im, "viewBox")));
	putchar('\n');
}

/* What the image cost and the tokens it took, from its record (the PNG's
 * imagegen:cost, else the sidecar's cost; the sidecar's usage), when there. */
static void print_paid(json_t *meta, json_t *side)
{
	json_t *used = json_object_get(side, "usage");
	const char *text = json_string_value(json_object_get(meta, "imagegen:cost"));
	json_t *parsed = text ? json_loads(text, 0, NULL) : NULL;
	json_t *cost = json_is_object(parsed) ? parsed : json_object_get(side, "cost");
	json_t *usd = json_object_get(cost, "usd");
	const char *basis = json_string_value(json_object_get(cost, "basis"));
	const char *prices = json_string_value(json_object_get(cost, "prices"));
	char amount[32];

	if (json_is_integer(json_object_get(used, "total_tokens")))
		printf("  tokens: %" JSON_INTEGER_FORMAT " (in: %" JSON_INTEGER_FORMAT ", out: %"
		       JSON_INTEGER_FORMAT ")\n",
		       json_integer_value(json_object_get(used, "total_tokens")),
		       json_integer_value(json_object_get(used, "input_tokens")),
		       json_integer_value(json_object_get(used, "output_tokens")));
	if (json_is_number(usd)) {
		printf("  cost: %s", price_format(json_number_value(usd), amount));
		if (basis || prices) {
			fputs(" (", stdout);
			print_safe(basis ? basis : "");
			fputs(basis && prices ? "; prices of " : prices ? "prices of " : "", stdout);
			print_safe(prices ? prices : "");
			putchar(')');
		}
		putchar('\n');
	}
	json_decref(parsed);
}

static void print_human(json_t *o)
{
	const char *key;
	json_t *v;
	json_t *meta = json_object_get(o, "metadata");
	json_t *side = json_object_get(o, "sidecar");
	json_t *image = json_object_get(o, "image");

	print_safe(json_string_value(json_object_get(o, "file")));
	printf(" (%s", json_string_value(json_object_get(o, "format")));
	if (json_is_integer(json_object_get(image, "width")) && !json_object_get(image, "frames"))
		printf(", %" JSON_INTEGER_FORMAT "x%" JSON_INTEGER_FORMAT,
		       json_integer_value(json_object_get(image, "width")),
		       json_integer_value(json_object_get(image, "height")));
	puts(")");
	print_image(image);
	print_paid(meta, side);
	if (json_is_true(json_object_get(o, "c2pa_manifest")))
		puts("  C2PA manifest: present (imagegen info --provenance checks it)");
	json_object_foreach(meta, key, v) {
		fputs("  ", stdout);
		print_safe(key);
		fputs(": ", stdout);
		print_text(json_string_value(v));
		putchar('\n');
	}
	if (side) {
		char *text = json_dumps(side, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		/* JSON escapes C0 controls but leaves DEL and C1 ones as they are. */
		fputs("  sidecar ", stdout);
		cli_put_safe_lines(stdout, text, "");
		putchar('\n');
		free(text);
	}
	if (!json_object_size(meta) && !side)
		printf("  (no imagegen metadata)\n");
}

/* Each field of o but the skipped ones, "key: value" indented; values that
 * are not strings as compact JSON. */
static void print_fields(json_t *o, const char *indent, const char *skip1,
			 const char *skip2)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v) {
		if (!strcmp(key, skip1) || !strcmp(key, skip2))
			continue;
		char *text = json_is_string(v) ? NULL : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		fputs(indent, stdout);
		print_safe(key);
		fputs(": ", stdout);
		print_safe(text ? text : json_string_value(v));
		putchar('\n');
		free(text);
	}
}

/* Every field of every result, as the API gave it (unknown ones too). */
static void print_provenance(json_t *answer)
{
	json_t *results = json_object_get(answer, "results");
	json_t *r;
	size_t i;

	printf("  provenance (%zu result%s):\n", json_array_size(results),
	       json_array_size(results) == 1 ? "" : "s");
	print_fields(answer, "    ", "results", "object");
	json_array_foreach(results, i, r) {
		const char *type = json_string_value(json_object_get(r, "type"));

		fputs("    ", stdout);
		print_safe(type ? type : "result");
		puts(":");
		print_fields(r, "      ", "type", "type");
	}
}

static bool is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, R_OK) == 0;
}

/* The provenance answer of path, printed (raw with --json). 0 or -1. */
static int check_provenance(struct engine *e, const struct cli *c, const char *path,
			    struct buf *err)
{
	json_t *answer;

	if (provenance_check(e, path, &answer, err))
		return -1;
	if (c->json) {
		json_dumpf(answer, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else {
		print_provenance(answer);
	}
	json_decref(answer);
	return 0;
}

int cmd_info(int argc, char **argv)
{
	struct cli c = CLI_INIT;
	bool provenance = false;
	struct opt opts[] = {
		OPT_BOOL(0, "json", &c.json, "one JSON object per file (with --provenance: the API's answer)"),
		OPT_BOOL(0, "provenance", &provenance, "ask OpenAI what C2PA and SynthID show of each file"),
		OPT_CLI_CONNECTION(&c),
		OPT_END(),
	};
	struct engine engine;
	struct buf err = BUF_INIT;
	int rc;

	memset(&engine, 0, sizeof(engine));
	rc = cli_parse(&c, opts, usage, about, argc, argv);
	if (rc != -1)
		goto cleanup;
	rc = EXIT_OK;
	if (!c.words.n) {
		errorf("info: give one or more image files");
		rc = EXIT_USAGE;
		goto cleanup;
	}
	if (provenance && cli_engine(&c, &engine, 1, 0, &err)) {
		errorf("%s", err.data);
		rc = EXIT_USAGE;
		goto cleanup;
	}
	if (provenance && provider_missing_auth(&engine.api)) {
		errorf("--provenance: %s", provider_missing_auth(&engine.api));
		rc = EXIT_USAGE;
		goto cleanup;
	}
	for (size_t i = 0; i < c.words.n; i++) {
		if (provenance && !is_file(c.words.v[i])) {
			errorf("--provenance: '%s' is not a file imagegen can read", c.words.v[i]);
			rc = EXIT_USAGE;
			continue;
		}
		if (provenance) {
			if (!c.json)
				printf("%s\n", c.words.v[i]);
			if (check_provenance(&engine, &c, c.words.v[i], &err)) {
				errorf("%s: %s", c.words.v[i], err.data);
				buf_reset(&err);
				rc = EXIT_FAILED;
			}
			continue;
		}
		json_t *o = info_describe(c.words.v[i], &err);
		if (!o) {
			errorf("%s", err.data);
			buf_reset(&err);
			rc = EXIT_USAGE;
			continue;
		}
		/* Bad input, as a file that cannot be read is. */
		if (!json_string_value(json_object_get(o, "format"))) {
			errorf("'%s' is not an image (info reads PNG, JPEG, WebP, GIF and SVG)",
			       c.words.v[i]);
			json_decref(o);
			rc = EXIT_USAGE;
			continue;
		}
		if (c.json) {
			json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
			putchar('\n');
		} else {
			print_human(o);
		}
		json_decref(o);
	}
cleanup:
	engine_release(&engine);
	cli_release(&c);
	buf_release(&err);
	return rc;
}
