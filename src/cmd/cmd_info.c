/* imagegen info FILE: what an image records about how it was made (PNG text
 * chunks, and the NAME.json sidecar when there is one). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "meta.h"
#include "msg.h"
#include "pngmeta.h"
#include "sniff.h"

static const char usage[] = "imagegen info [--json] FILE...";
static const char about[] =
	"Print how images were made: the prompt, model, parameters, revised prompt,\n"
	"time and tool recorded in a PNG's text chunks and in a NAME.json sidecar.";

#define INFO_FILE_MAX (1024L * 1024 * 1024)

static void collect(const char *keyword, const char *text, void *ud)
{
	json_object_set_new(ud, keyword, json_string(text));
}

/* The file's record as JSON, or NULL with a message in err. */
static json_t *describe(const char *path, struct buf *err)
{
	struct buf data = BUF_INIT;
	json_t *o = NULL, *chunks, *side;
	char *side_path;
	const char *format;

	if (read_file(path, INFO_FILE_MAX, &data)) {
		buf_addf(err, "cannot read '%s': %s", path, strerror(errno));
		goto cleanup;
	}
	format = sniff_format((const unsigned char *)data.data, data.len);
	o = json_pack("{s:s,s:s?}", "file", path, "format", format);
	chunks = json_object();
	if (format && !strcmp(format, "png") &&
	    pngmeta_read((const unsigned char *)data.data, data.len, collect, chunks, err)) {
		json_decref(chunks);
		json_decref(o);
		o = NULL;
		goto cleanup;
	}
	json_object_set_new(o, "metadata", chunks);
	side_path = meta_sidecar_path(path);
	side = path_exists(side_path) ? json_load_file(side_path, 0, NULL) : NULL;
	if (side)
		json_object_set_new(o, "sidecar", side);
	free(side_path);
cleanup:
	buf_release(&data);
	return o;
}

static void print_human(json_t *o)
{
	const char *key;
	json_t *v;
	json_t *meta = json_object_get(o, "metadata");
	json_t *side = json_object_get(o, "sidecar");

	printf("%s (%s)\n", json_string_value(json_object_get(o, "file")),
	       json_string_value(json_object_get(o, "format")) ?
	       json_string_value(json_object_get(o, "format")) : "not an image");
	json_object_foreach(meta, key, v)
		printf("  %s: %s\n", key, json_string_value(v));
	if (side) {
		char *text = json_dumps(side, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("  sidecar %s\n", text);
		free(text);
	}
	if (!json_object_size(meta) && !side)
		printf("  (no imagegen metadata)\n");
}

int cmd_info(int argc, char **argv)
{
	struct cli c = CLI_INIT;
	struct opt opts[] = {
		OPT_BOOL(0, "json", &c.json, "one JSON object per file"),
		OPT_END(),
	};
	struct buf err = BUF_INIT;
	int rc = cli_parse(&c, opts, usage, about, argc, argv);

	if (rc != -1)
		goto cleanup;
	rc = EXIT_OK;
	if (!c.words.n) {
		errorf("info: give one or more image files");
		rc = EXIT_USAGE;
	}
	for (size_t i = 0; i < c.words.n; i++) {
		json_t *o = describe(c.words.v[i], &err);
		if (!o) {
			errorf("%s", err.data);
			buf_reset(&err);
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
	cli_release(&c);
	buf_release(&err);
	return rc;
}
