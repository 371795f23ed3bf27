/* imagegen mcp: a Model Context Protocol server on standard input and
 * output (JSON-RPC 2.0, one message a line; revision 2025-11-25, and the
 * 2025-06-18 and 2025-03-26 revisions for clients that ask for them).
 *
 * The image tools fill the same job spec as the commands, from the same
 * option rows: a tool's input schema is made from the command's table and
 * its arguments are set through it, so a new parameter is one row
 * everywhere and an agent meets the command line's checks and messages.
 * Every call runs on the engine's one loop, which polls standard input
 * beside the transfers; stdout carries protocol messages only. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batchrun.h"
#include "cli.h"
#include "commands.h"
#include "config.h"
#include "cost.h"
#include "gallery.h"
#include "imgvips.h"
#include "input.h"
#include "msg.h"
#include "sniff.h"

static const char usage[] = "imagegen mcp [--root DIR] [--inline-previews] [options]";
static const char about[] =
	"Serve imagegen's tools to an MCP client (a coding agent) over standard input\n"
	"and output: generate_image, edit_image, generate_batch, estimate_cost,\n"
	"image_info and list_models. Every file is read and written inside DIR (default: the\n"
	"current folder). The connection options and the config file apply to every\n"
	"call; logs go to stderr.";

#define MCP_LINE_MAX (64u << 20)   /* an edit may carry data: URLs inline */
#define PREVIEW_EDGE 256
#define PROGRESS_EVERY_MS 1000

/* JSON-RPC 2.0 error codes. */
enum {
	RPC_PARSE_ERROR = -32700,
	RPC_INVALID_REQUEST = -32600,
	RPC_METHOD_NOT_FOUND = -32601,
	RPC_INVALID_PARAMS = -32602,
};

/* Newest first: the answer to a client that asks for none of them. */
static const char *const versions[] = { "2025-11-25", "2025-06-18", "2025-03-26", NULL };

enum tool_kind { TOOL_GENERATE, TOOL_EDIT, TOOL_BATCH, TOOL_ESTIMATE, TOOL_INFO, TOOL_MODELS };

struct tool {
	const char *name, *title, *description;
	enum tool_kind kind;
};

static const struct tool tools[] = {
	{ "generate_image", "Generate images",
	  "Generate images from a prompt (POST /images/generations) and save them inside the "
	  "server's root folder. Returns the saved files, tokens, the cost in dollars and any "
	  "revised prompt. Arguments are imagegen generate's options (--output-format is "
	  "output_format); messages name them as flags.", TOOL_GENERATE },
	{ "edit_image", "Edit images",
	  "Edit up to 16 images with a prompt, an optional mask and markup (POST "
	  "/images/edits); image takes file paths inside the root, https URLs, data: URLs "
	  "or file ids. Saves the results inside the root, as imagegen edit does.", TOOL_EDIT },
	{ "generate_batch", "Generate a batch",
	  "Many jobs at once into one folder inside the root, as imagegen batch runs them: "
	  "each of jobs is a prompt, or an object as a line of batch's JSONL (prompt, id, "
	  "out, per-job parameters; image, mask and markup make it an edit). The folder's "
	  "ledger knows each job by what it sends: the same call again sends only the jobs "
	  "not done, and never pays twice. Other image calls wait while a batch runs.",
	  TOOL_BATCH },
	{ "estimate_cost", "Estimate cost",
	  "What a generate_image call (or edit_image, when image is given) would cost and "
	  "which files it would write, checked by the same rules; nothing is sent.",
	  TOOL_ESTIMATE },
	{ "image_info", "Image info",
	  "How images were made: format, size, frames, the prompt, model and parameters "
	  "recorded in them or their NAME.json sidecar, and whether a C2PA manifest is "
	  "present.", TOOL_INFO },
	{ "list_models", "List models",
	  "The image models imagegen knows: status, shutdown date and replacement, sizes, "
	  "qualities, formats and limits.", TOOL_MODELS },
};

/* Command-line options an agent has no use for (the server holds the
 * connection, and has no terminal, no stdout to print on). */
static const char *const hidden[] = { "prompt-file", "no-save", "json", "dry-run", "quiet",
				      "confirm-above", "yes", "no-history", NULL };

struct server;

/* One tools/call of an image tool, from its arguments to its result. */
struct tool_call {
	struct tool_call *next;
	struct server *srv;
	json_t *id;                /* the request's id */
	json_t *token;             /* its progressToken, or NULL */
	json_t *args;              /* the spec's strings point into it */
	struct cli cli;            /* the arguments as a command's options */
	struct job job;
	struct job_env env;
	json_t *files;             /* what was saved: [{path, uri, ...}] */
	json_t *warnings;
	json_t *revised;           /* revised prompts, by image */
	bool finished;             /* the job ended: answer, then release */
	bool cancelled;            /* the client gave up on it: no answer */
	long progress;             /* progress notifications sent */
	int64_t progress_ms;
};

/* What only a batch's rows set besides its options. */
struct batch_flags {
	bool fail_fast;
	bool no_gallery;
};

/* A generate_batch call: the batch run and what it tells. */
struct batch_call {
	struct server *srv;
	json_t *id, *token, *args;
	struct cli cli;            /* the defaults every job starts from */
	struct batch_flags flags;
	struct batch_items items;
	struct batch_events events;
	struct batch_run run;
	json_t *jobs;              /* each job's outcome, as it ended */
	json_t *warnings;
	size_t to_end, ended;      /* jobs started, and ended */
	bool started;              /* batch_run_start ran: the loop's hooks are its */
	bool cancelled;
};

struct server {
	struct cli cli;            /* the server's own options */
	struct engine engine;
	char *root;                /* the root folder, resolved */
	bool previews;             /* --inline-previews */
	bool initialized;
	struct buf in;             /* read, not yet a whole line */
	bool skipping;             /* the rest of an overlong line */
	struct tool_call *calls;
	/* A batch runs alone: the loop's launch check and commit hook are its.
	 * Image calls that come meanwhile wait here, in order ([{id, params}]),
	 * as does a batch that comes while image calls run. */
	struct batch_call *batch;
	json_t *waiting;
};

static void drain_waiting(struct server *s);
static void finish_batch(struct server *s);

/* Writes one message on stdout: compact JSON (which escapes every newline
 * inside strings) and a newline. Takes msg's reference. */
static void send_message(json_t *msg)
{
	char *text = json_dumps(msg, JSON_COMPACT);

	json_decref(msg);
	if (!text)
		return;
	fputs(text, stdout);
	putchar('\n');
	fflush(stdout);
	free(text);
}

static void send_result(json_t *id, json_t *result)
{
	send_message(json_pack("{s:s,s:O,s:o}", "jsonrpc", "2.0", "id", id ? id : json_null(),
			       "result", result));
}

static void send_error(json_t *id, int code, const char *message)
{
	send_message(json_pack("{s:s,s:O,s:{s:i,s:s}}", "jsonrpc", "2.0", "id",
			       id ? id : json_null(), "error", "code", code, "message", message));
}

/* A tool's failure, as a result the model can read: {isError, content}. */
static json_t *tool_error(const char *text)
{
	return json_pack("{s:[{s:s,s:s}],s:b}", "content", "type", "text", "text", text,
			 "isError", true);
}

/* --- schemas from the option tables ------------------------------------ */

static bool is_hidden(const struct opt *o, enum tool_kind kind)
{
	char first[64];

	snprintf(first, sizeof(first), "%.*s", (int)strcspn(o->names, "|"), o->names);
	if (one_of(first, hidden))
		return true;
	/* The inputs belong to edits (and to an estimate of one). */
	return kind == TOOL_GENERATE &&
	       (!strcmp(first, "image") || !strcmp(first, "mask") || !strcmp(first, "markup"));
}

/* The option rows of an image tool, bound to c (and a batch's to f), into
 * out (cap rows, the last OPT_END): the command's rows, less what the
 * server holds. */
static void tool_rows(struct cli *c, struct batch_flags *f, enum tool_kind kind,
		      struct opt *out, size_t cap)
{
	const struct opt single[] = {
		OPT_CLI_INPUTS(c),
		OPT_CLI_PROMPT(c),
		OPT_CLI_PARAMS(c),
		OPT_CLI_OUTPUT(c),
		OPT_CLI_COST(c),
		OPT_END(),
	};
	const struct opt batch[] = {
		OPT_CLI_BATCH_RUN(&f->fail_fast, &f->no_gallery),
		OPT_CLI_FIELDS(c),
		OPT_CLI_PARAMS(c),
		OPT_CLI_BATCH_OUTPUT(c),
		OPT_CLI_METADATA(c),
		OPT_CLI_IMAGE_WORK(c),
		OPT_CLI_COST(c),
		OPT_END(),
	};
	size_t n = 0;

	for (const struct opt *o = kind == TOOL_BATCH ? batch : single;
	     o->type != OPT_T_END && n + 1 < cap; o++)
		if (o->type != OPT_T_GROUP && !is_hidden(o, kind))
			out[n++] = *o;
	out[n] = (struct opt)OPT_END();
}

/* "output-format|format" -> "output_format" into out. */
static void argument_name(const struct opt *o, char *out, size_t size)
{
	size_t i;

	for (i = 0; o->names[i] && o->names[i] != '|' && i + 1 < size; i++)
		out[i] = o->names[i] == '-' ? '_' : o->names[i];
	out[i] = '\0';
}

static json_t *strings(const struct strlist *l)
{
	json_t *a = json_array();

	for (size_t i = 0; i < l->n; i++)
		json_array_append_new(a, json_string(l->v[i]));
	return a;
}

/* One row as a JSON Schema property: its type, range, values and help. */
static json_t *row_schema(const struct opt *o)
{
	static const char *const types[] = {
		[OPT_T_BOOL] = "boolean", [OPT_T_STRING] = "string", [OPT_T_INT] = "integer",
		[OPT_T_SECONDS] = "number", [OPT_T_DOLLARS] = "number", [OPT_T_LIST] = "array",
	};
	json_t *p = json_pack("{s:s,s:s}", "type", types[o->type], "description", o->help);
	struct strlist values = { 0 };

	if (o->type == OPT_T_INT || o->type == OPT_T_SECONDS || o->type == OPT_T_DOLLARS) {
		json_object_set_new(p, "minimum", o->type == OPT_T_INT ? json_integer((json_int_t)o->min)
								     : json_real(o->min));
		json_object_set_new(p, "maximum", o->type == OPT_T_INT ? json_integer((json_int_t)o->max)
								     : json_real(o->max));
	} else if (o->type == OPT_T_LIST) {
		json_object_set_new(p, "items", json_pack("{s:s}", "type", "string"));
		json_object_set_new(p, "minItems", json_integer(1));
	} else if (o->type == OPT_T_STRING) {
		/* A closed list is an enum; models, sizes and qualities are
		 * examples (new ones appear without a rebuild). */
		bool closed = cli_flag_values(o->names, &values);
		if (values.n)
			json_object_set_new(p, closed ? "enum" : "examples", strings(&values));
	}
	strlist_release(&values);
	return p;
}

static json_t *input_schema(enum tool_kind kind)
{
	struct cli c = CLI_INIT;
	struct opt rows[128];
	json_t *props = json_object(), *required = json_array();
	char name[64];

	if (kind == TOOL_INFO) {
		json_decref(props);
		json_decref(required);
		return json_pack("{s:s,s:{s:{s:s,s:{s:s},s:i,s:s}},s:[s],s:b}", "type", "object",
				 "properties", "paths", "type", "array", "items", "type", "string",
				 "minItems", 1, "description",
				 "image files inside the root (PNG, JPEG, WebP, GIF, SVG)",
				 "required", "paths", "additionalProperties", false);
	}
	if (kind == TOOL_MODELS) {
		json_decref(required);
		return json_pack("{s:s,s:o,s:b}", "type", "object", "properties", props,
				 "additionalProperties", false);
	}
	tool_rows(&c, &(struct batch_flags){ 0 }, kind, rows, ARRAY_SIZE(rows));
	for (const struct opt *o = rows; o->type != OPT_T_END; o++) {
		argument_name(o, name, sizeof(name));
		json_object_set_new(props, name, row_schema(o));
	}
	if (kind == TOOL_BATCH) {
		json_object_set_new(props, "jobs", json_pack(
			"{s:s,s:{s:[{s:s},{s:s}]},s:i,s:s}", "type", "array", "items", "anyOf",
			"type", "string", "type", "object", "minItems", 1, "description",
			"the jobs: a prompt each, or an object as a line of imagegen batch's "
			"JSONL (prompt, id, out, per-job parameters; image, mask, markup)"));
		json_array_append_new(required, json_string("jobs"));
	} else {
		json_array_append_new(required, json_string("prompt"));
	}
	if (kind == TOOL_EDIT)
		json_array_append_new(required, json_string("image"));
	return json_pack("{s:s,s:o,s:o,s:b}", "type", "object", "properties", props, "required",
			 required, "additionalProperties", false);
}

/* What an image tool returns in structuredContent. */
static json_t *output_schema(enum tool_kind kind)
{
	json_t *files;

	switch (kind) {
	case TOOL_GENERATE:
	case TOOL_EDIT:
		files = json_pack("{s:s,s:{s:s,s:{s:{s:s},s:{s:s},s:{s:s}},s:[s,s]}}", "type",
				  "array", "items", "type", "object", "properties", "path", "type",
				  "string", "uri", "type", "string", "mime_type", "type", "string",
				  "required", "path", "uri");
		return json_pack("{s:s,s:{s:o,s:{s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s},"
				 "s:{s:s},s:{s:s}},s:[s,s,s]}",
				 "type", "object", "properties", "files", files,
				 "model", "type", "string", "size", "type", "string",
				 "quality", "type", "string", "usage", "type", "object",
				 "cost", "type", "object", "revised_prompts", "type", "array",
				 "warnings", "type", "array", "seconds", "type", "number",
				 "required", "files", "model", "cost");
	case TOOL_BATCH:
		return json_pack("{s:s,s:{s:{s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s},"
				 "s:{s:s},s:{s:s},s:{s:s}},s:[s,s,s]}", "type", "object",
				 "properties", "folder", "type", "string", "jobs", "type", "array",
				 "done", "type", "integer", "failed", "type", "integer",
				 "resumed", "type", "integer", "images", "type", "integer",
				 "cost", "type", "object", "gallery", "type", "string",
				 "warnings", "type", "array", "required", "folder", "jobs", "cost");
	case TOOL_ESTIMATE:
		return json_pack("{s:s,s:{s:{s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s}},"
				 "s:[s,s,s]}", "type", "object", "properties",
				 "estimate", "type", "object", "model", "type", "string",
				 "n", "type", "integer", "files", "type", "array",
				 "endpoint", "type", "string", "warnings", "type", "array",
				 "required", "estimate", "model", "files");
	case TOOL_INFO:
		return json_pack("{s:s,s:{s:{s:s}},s:[s]}", "type", "object", "properties",
				 "files", "type", "array", "required", "files");
	case TOOL_MODELS:
		break;
	}
	return json_pack("{s:s,s:{s:{s:s}},s:[s]}", "type", "object", "properties", "models",
			 "type", "array", "required", "models");
}

static json_t *tools_list(void)
{
	json_t *list = json_array();

	for (size_t i = 0; i < ARRAY_SIZE(tools); i++) {
		const struct tool *t = &tools[i];
		bool reads = t->kind == TOOL_INFO || t->kind == TOOL_MODELS ||
			     t->kind == TOOL_ESTIMATE;
		json_array_append_new(list, json_pack(
			"{s:s,s:s,s:s,s:o,s:o,s:{s:b,s:b,s:b,s:b}}", "name", t->name, "title",
			t->title, "description", t->description, "inputSchema",
			input_schema(t->kind), "outputSchema", output_schema(t->kind),
			"annotations", "readOnlyHint", reads, "destructiveHint", false,
			"idempotentHint", reads, "openWorldHint", !reads));
	}
	return json_pack("{s:o}", "tools", list);
}

/* --- arguments through the option rows --------------------------------- */

/* Sets one argument through its row, as the command line would. */
static int set_argument(const struct opt *o, const char *name, json_t *v, struct buf *err)
{
	char text[64];

	switch (o->type) {
	case OPT_T_STRING:
		if (!json_is_string(v))
			break;
		return opt_set(o, name, json_string_value(v), err);
	case OPT_T_BOOL:
		if (!json_is_boolean(v))
			break;
		return json_is_true(v) ? opt_set(o, name, NULL, err) : 0;
	case OPT_T_INT:
		if (!json_is_integer(v))
			break;
		snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return opt_set(o, name, text, err);
	case OPT_T_SECONDS:
	case OPT_T_DOLLARS:
		if (!json_is_number(v))
			break;
		snprintf(text, sizeof(text), "%.17g", json_number_value(v));
		return opt_set(o, name, text, err);
	case OPT_T_LIST: {
		size_t i;
		json_t *item;

		if (json_is_string(v))
			return opt_set(o, name, json_string_value(v), err);
		if (!json_is_array(v) || !json_array_size(v))
			break;
		json_array_foreach(v, i, item) {
			if (!json_is_string(item))
				goto wrong;
			opt_set(o, name, json_string_value(item), err);
		}
		return 0;
	}
	default:
		break;
	}
wrong:
	buf_addf(err, "%s: expected %s", name,
		 o->type == OPT_T_STRING ? "a string" : o->type == OPT_T_BOOL ? "true or false" :
		 o->type == OPT_T_INT ? "a whole number" : o->type == OPT_T_LIST ?
		 "a list of strings" : "a number");
	return -1;
}

/* Sets every argument of args through the tool's rows bound to c and f (a
 * batch's jobs are not options: they are read apart). */
static int set_arguments(struct cli *c, struct batch_flags *f, enum tool_kind kind, json_t *args,
			 struct buf *err)
{
	struct opt rows[128];
	const char *key;
	json_t *v;

	tool_rows(c, f, kind, rows, ARRAY_SIZE(rows));
	json_object_foreach(args, key, v) {
		char flag[64];
		const struct opt *o;
		size_t i;

		if (kind == TOOL_BATCH && !strcmp(key, "jobs"))
			continue;

		for (i = 0; key[i] && i + 1 < sizeof(flag); i++)
			flag[i] = key[i] == '_' ? '-' : key[i];
		flag[i] = '\0';
		o = opt_find(rows, flag);
		if (!o || key[i]) {
			buf_addf(err, "unknown argument '%s' (tools/list gives the arguments each "
				 "tool takes)", key);
			return -1;
		}
		if (json_is_null(v))
			continue;
		if (set_argument(o, key, v, err))
			return -1;
	}
	return 0;
}

/* --- the root folder ----------------------------------------------------- */

/* Whether the resolved path p is root or inside it. */
static bool under(const char *root, const char *p)
{
	size_t n = strlen(root);

	if (!strcmp(root, "/"))
		return true;
	return !strncmp(p, root, n) && (p[n] == '/' || p[n] == '\0');
}

/* Checks that path (relative to the root, the current folder) stays inside
 * the root: no '..' climbs out of it, and the deepest part that exists
 * resolves (symbolic links followed) inside it. 0, or -1 with why in err. */
static int inside_root(const struct server *s, const char *what, const char *path,
		       struct buf *err)
{
	char *copy = xstrdup(path), *real = NULL, *cut;
	long depth = 0;
	int rc = -1;

	/* Lexically first: each '..' must have a folder of ours to leave. */
	for (char *p = copy, *part; path[0] != '/' && (part = strsep(&p, "/"));) {
		if (!strcmp(part, ".."))
			depth--;
		else if (*part && strcmp(part, "."))
			depth++;
		if (depth < 0)
			goto refuse;
	}
	free(copy);
	copy = xstrdup(path);
	/* Then what exists of it, links followed. */
	while (!(real = realpath(copy, NULL))) {
		if (errno != ENOENT && errno != ENOTDIR)
			goto refuse;
		cut = strrchr(copy, '/');
		if (!cut) {
			real = realpath(".", NULL);
			break;
		}
		*cut = '\0';
		if (!*copy) {
			real = xstrdup("/");
			break;
		}
	}
	if (real && under(s->root, real))
		rc = 0;
refuse:
	if (rc)
		buf_addf(err, "%s: '%s' is outside the root folder %s (imagegen mcp --root sets "
			 "it)", what, path, s->root);
	free(real);
	free(copy);
	return rc;
}

/* Every local file the spec reads, and every file the plan may write
 * (images and what goes beside them), inside the root. */
static bool check_extra(const char *name, void *data);

struct extra_check {
	const struct server *srv;
	struct buf *err;
	int rc;
};

static bool check_extra(const char *name, void *data)
{
	struct extra_check *x = data;

	x->rc = inside_root(x->srv, "output", name, x->err);
	return x->rc != 0;
}

static int check_inputs(const struct server *s, const struct job_spec *spec, struct buf *err)
{
	for (size_t i = 0; i < spec->nimages; i++)
		if (input_classify(spec->images[i], path_exists(spec->images[i])) == INPUT_FILE &&
		    inside_root(s, "image", spec->images[i], err))
			return -1;
	if (spec->mask && input_classify(spec->mask, path_exists(spec->mask)) == INPUT_FILE &&
	    inside_root(s, "mask", spec->mask, err))
		return -1;
	if (spec->markup && inside_root(s, "markup", spec->markup, err))
		return -1;
	if (spec->out && inside_root(s, "out", spec->out, err))
		return -1;
	if (spec->out_dir && inside_root(s, "out_dir", spec->out_dir, err))
		return -1;
	return 0;
}

static int check_outputs(const struct server *s, const struct job_spec *spec,
			 const struct job_plan *plan, struct buf *err)
{
	struct extra_check x = { s, err, 0 };

	for (size_t i = 0; i < plan->names.n; i++) {
		if (inside_root(s, "output", plan->names.paths[i], err))
			return -1;
		spec_each_extra(spec, &plan->params, plan->names.paths[i], check_extra, &x);
		if (x.rc)
			return -1;
	}
	return 0;
}

/* --- image tool calls ----------------------------------------------------- */

static const char *mime_of(const char *path)
{
	const char *mime = sniff_mime(ext_format(path_ext(path)));

	return mime ? mime : "application/octet-stream";
}

static json_t *file_uri(const char *path)
{
	char *real = realpath(path, NULL);
	json_t *uri = json_sprintf("file://%s", real ? real : path);

	free(real);
	return uri;
}

/* A progress notification for token (NULL: the call asked for none); value
 * must go up with each, total is of how many (0: not known). */
static void send_progress(json_t *token, long value, long total, const char *message)
{
	json_t *params;

	if (!token)
		return;
	params = json_pack("{s:O,s:I,s:s}", "progressToken", token, "progress",
			   (json_int_t)value, "message", message);
	if (total)
		json_object_set_new(params, "total", json_integer(total));
	send_message(json_pack("{s:s,s:s,s:o}", "jsonrpc", "2.0", "method",
			       "notifications/progress", "params", params));
}

static void progress(struct tool_call *tc, const char *message)
{
	tc->progress_ms = now_ms();
	if (!tc->cancelled)
		send_progress(tc->token, ++tc->progress, 0, message);
}

static void on_saved(struct job *job, size_t index, const char *path)
{
	struct tool_call *tc = job->env->data;
	json_t *d = json_array_get(json_object_get(job->response, "data"), index);
	const char *revised = json_string_value(json_object_get(d, "revised_prompt"));
	char *text;

	json_array_append_new(tc->files, json_pack("{s:s,s:o,s:s,s:b}", "path", path, "uri",
						   file_uri(path), "mime_type", mime_of(path),
						   "copy", index == JOB_EXTRA_FILE));
	if (revised && index != JOB_EXTRA_FILE)
		json_array_append_new(tc->revised, json_string(revised));
	notef("saved %s", path);
	text = xasprintf("saved %s", path);
	progress(tc, text);
	free(text);
}

static void on_partial(struct job *job, size_t index, long k, const char *path)
{
	struct tool_call *tc = job->env->data;
	char *text = xasprintf("partial image %ld of image %zu: %s", k + 1, index + 1, path);

	progress(tc, text);
	free(text);
}

static void on_warning(struct job *job, const char *text)
{
	struct tool_call *tc = job->env->data;

	warnf("%s", text);
	json_array_append_new(tc->warnings, json_string(text));
}

static void on_finished(struct job *job)
{
	struct tool_call *tc = job->env->data;

	tc->finished = true;   /* answered and released after this loop turn */
}

static void add_warnings(json_t *warnings, const struct buf *warn)
{
	const char *p = warn->data;

	while (p && *p) {
		size_t len = strcspn(p, "\n");
		json_array_append_new(warnings, json_stringn(p, len));
		warnf("%.*s", (int)len, p);
		p += len + (p[len] == '\n');
	}
}

/* A small inline copy of a saved raster image, as image content. */
static json_t *preview(const char *path)
{
	struct buf jpeg = BUF_INIT, err = BUF_INIT;
	json_t *content = NULL;
	char *b64;

	if (imgvips_downscale(path, PREVIEW_EDGE, "jpeg", &jpeg, &err) == 0) {
		b64 = malloc(B64_ENCODED_LEN(jpeg.len) + 1);
		if (b64) {
			b64_encode((const unsigned char *)jpeg.data, jpeg.len, b64);
			content = json_pack("{s:s,s:s,s:s}", "type", "image", "data", b64,
					    "mimeType", "image/jpeg");
		}
		free(b64);
	} else {
		warnf("no preview of %s: %s", path, err.data);
	}
	buf_release(&jpeg);
	buf_release(&err);
	return content;
}

static json_t *job_result(struct tool_call *tc)
{
	const struct job *job = &tc->job;
	const struct engine *e = &tc->srv->engine;
	json_t *content = json_array(), *data, *file;
	char *cost = cost_describe(&e->prices, job->params.model, &job->cost);
	char *text;
	size_t i;

	if (job->state != JOB_DONE) {
		char *why = job->call.apierr.status ? api_error_summary(&job->call.apierr)
						     : xstrdup(job->error.data ? job->error.data
									       : "failed");
		struct buf b = BUF_INIT;

		buf_addf(&b, "%s", why);
		json_array_foreach(tc->files, i, file)
			buf_addf(&b, "%ssaved before the failure: %s", i ? "; " : "\n",
				 json_string_value(json_object_get(file, "path")));
		if (job->paid)   /* the answer had begun: billed all the same */
			buf_addf(&b, "\ncost: %s, billed though it %s", cost,
				 job->state == JOB_INTERRUPTED ? "was interrupted" : "failed");
		json_decref(content);
		content = tool_error(b.data);
		buf_release(&b);
		free(why);
		free(cost);
		return content;
	}
	data = json_pack("{s:O,s:s,s:s?,s:s?,s:o,s:O,s:O,s:f}", "files", tc->files, "model",
			 job->params.model, "size", job->size ? job->size : job->params.size,
			 "quality", job->params.quality, "cost", job_cost_json(job),
			 "revised_prompts", tc->revised, "warnings", tc->warnings, "seconds",
			 (double)(job->finished_ms - job->started_ms) / 1000.0);
	if (job->usage.present)
		json_object_set_new(data, "usage", job_usage_json(&job->usage));
	text = xasprintf("saved %zu file%s; cost: %s", json_array_size(tc->files),
			 json_array_size(tc->files) == 1 ? "" : "s", cost);
	json_array_append_new(content, json_pack("{s:s,s:s}", "type", "text", "text", text));
	free(text);
	json_array_foreach(tc->files, i, file) {
		const char *path = json_string_value(json_object_get(file, "path"));
		const char *mime = json_string_value(json_object_get(file, "mime_type"));
		json_t *inline_copy;

		json_array_append_new(content, json_pack("{s:s,s:O,s:s,s:s}", "type",
							 "resource_link", "uri",
							 json_object_get(file, "uri"), "name",
							 path_basename(path), "mimeType", mime));
		if (tc->srv->previews && strcmp(mime, "image/svg+xml") &&
		    (inline_copy = preview(path)))
			json_array_append_new(content, inline_copy);
	}
	/* The structured result again as text, for clients that read only text. */
	text = json_dumps(data, JSON_COMPACT);
	json_array_append_new(content, json_pack("{s:s,s:s}", "type", "text", "text", text));
	free(text);
	free(cost);
	return json_pack("{s:o,s:o,s:b}", "content", content, "structuredContent", data,
			 "isError", false);
}

static void tool_call_release(struct tool_call *tc)
{
	if (tc->job.env)
		job_release(&tc->job);
	json_decref(tc->id);
	json_decref(tc->token);
	json_decref(tc->args);
	json_decref(tc->files);
	json_decref(tc->warnings);
	json_decref(tc->revised);
	cli_release(&tc->cli);
	free(tc);
}

/* Answers and releases the calls whose jobs ended. */
static void reap(struct server *s)
{
	for (struct tool_call **p = &s->calls; *p;) {
		struct tool_call *tc = *p;

		if (!tc->finished) {
			p = &tc->next;
			continue;
		}
		*p = tc->next;
		if (tc->cancelled)
			notef("cancelled: %s%s", tc->job.error.data ? tc->job.error.data
								     : "nothing was sent",
			      tc->job.paid ? " (the answer had begun: it is billed)" : "");
		else
			send_result(tc->id, job_result(tc));
		tool_call_release(tc);
	}
	/* A batch ends when every job it started has ended and been recorded,
	 * and those that failed only transiently have had their second round. */
	if (s->batch && s->batch->ended + s->batch->run.held_back >= s->batch->to_end &&
	    !s->engine.loop.held && !batch_run_second_round(&s->batch->run))
		finish_batch(s);
	drain_waiting(s);
}

/* While a request runs, a progress line a second: time and bytes so far. */
static void tick(void *data)
{
	struct server *s = data;
	int64_t now = now_ms();

	/* A signal: read no more calls (a batch's jobs in flight end first, as
	 * in imagegen batch; a second signal aborts them). */
	if (cli_interrupts)
		s->engine.loop.watching = false;
	reap(s);
	for (struct tool_call *tc = s->calls; tc; tc = tc->next) {
		curl_off_t got = 0;
		char text[128];

		if (!tc->token || tc->job.state != JOB_RUNNING ||
		    now - tc->progress_ms < PROGRESS_EVERY_MS)
			continue;
		if (tc->job.call.xfer.easy)
			curl_easy_getinfo(tc->job.call.xfer.easy, CURLINFO_SIZE_DOWNLOAD_T, &got);
		snprintf(text, sizeof(text), "%s: %.0f s, %.1f kB received",
			 tc->job.body_started ? "receiving" : "waiting for the answer",
			 (double)(now - tc->job.started_ms) / 1000.0, (double)got / 1000.0);
		progress(tc, text);
	}
}

/* The arguments of an image tool as a spec, planned. 0, or -1 with why. */
static int plan_call(struct tool_call *tc, enum tool_kind kind, struct job_plan *plan,
		     struct buf *warn, struct buf *err)
{
	struct server *s = tc->srv;
	struct cli *c = &tc->cli;
	struct prompt_sources src = { .stdin_fd = -1, .stdin_is_tty = true };
	char *prompt = NULL;

	if (set_arguments(c, &(struct batch_flags){ 0 }, kind, tc->args, err))
		return -1;
	cli_settings_defaults(&s->cli.settings, c);
	if (c->max_cost < 0)
		c->max_cost = s->cli.max_cost;
	c->spec.op = kind == TOOL_EDIT || (kind == TOOL_ESTIMATE && c->images.n) ? OP_EDIT
										  : OP_GENERATE;
	c->spec.images = c->images.v;
	c->spec.nimages = c->images.n;
	c->spec.preview = kind == TOOL_ESTIMATE;
	src.prompt = c->prompt;
	if (spec_check_options(&c->spec, err) || prompt_read(&src, &prompt, err))
		return -1;
	c->prompt_text = prompt;
	c->spec.prompt = prompt;
	if (check_inputs(s, &c->spec, err) || engine_plan(&s->engine, &c->spec, plan, warn, err))
		return -1;
	return c->spec.no_save ? 0 : check_outputs(s, &c->spec, plan, err);
}

static json_t *names_json(const struct name_plan *names)
{
	json_t *a = json_array();

	for (size_t i = 0; i < names->n; i++)
		json_array_append_new(a, json_string(names->paths[i]));
	return a;
}

/* generate_image, edit_image and estimate_cost. Returns the result to send
 * now, or NULL: the job is on its way, and reap answers when it ends. */
static json_t *call_image_tool(struct server *s, enum tool_kind kind, json_t *id,
			       json_t *args, json_t *token)
{
	struct tool_call *tc = xcalloc(1, sizeof(*tc));
	struct job_plan plan = JOB_PLAN_INIT;
	struct buf warn = BUF_INIT, err = BUF_INIT;
	struct engine *e = &s->engine;
	struct cost estimate;
	json_t *result = NULL;
	char usd[32], budget[32];

	*tc = (struct tool_call){ .srv = s, .cli = CLI_INIT, .env = JOB_ENV_INIT };
	tc->id = json_incref(id);
	tc->token = json_incref(token);
	tc->args = json_incref(args);
	tc->files = json_array();
	tc->warnings = json_array();
	tc->revised = json_array();
	if (plan_call(tc, kind, &plan, &warn, &err)) {
		result = tool_error(err.data);
		goto done;
	}
	add_warnings(tc->warnings, &warn);
	cost_estimate_params(&e->prices, &plan.params, plan.prompt, plan.input_tokens, false,
			     e->history.db ? &e->history : NULL, &estimate);
	if (kind == TOOL_ESTIMATE) {
		result = json_pack("{s:o,s:s,s:I,s:o,s:s,s:O}", "estimate",
				   cost_json(&e->prices, plan.params.model, &estimate), "model",
				   plan.params.model, "n",
				   (json_int_t)(plan.params.n > 0 ? plan.params.n : 1), "files",
				   names_json(&plan.names), "endpoint", plan.endpoint, "warnings",
				   tc->warnings);
		char *text = cost_describe(&e->prices, plan.params.model, &estimate);
		result = json_pack("{s:[{s:s,s:s}],s:o,s:b}", "content", "type", "text", "text",
				   text, "structuredContent", result, "isError", false);
		free(text);
		goto done;
	}
	if (tc->cli.max_cost >= 0 && (estimate.basis == COST_UNKNOWN ||
				      estimate.usd > tc->cli.max_cost)) {
		if (estimate.basis == COST_UNKNOWN)
			buf_addf(&err, "max_cost %s: the cost cannot be estimated (%s); nothing was "
				 "sent", price_format(tc->cli.max_cost, budget),
				 estimate.why ? estimate.why : "no price");
		else
			buf_addf(&err, "max_cost %s: the request is estimated at %s; nothing was "
				 "sent", price_format(tc->cli.max_cost, budget),
				 price_format(estimate.usd, usd));
		result = tool_error(err.data);
		goto done;
	}
	tc->env.on_saved = on_saved;
	tc->env.on_partial = on_partial;
	tc->env.on_warning = on_warning;
	tc->env.on_finished = on_finished;
	tc->env.data = tc;
	if (engine_start(e, &tc->job, &tc->env, &tc->cli.spec, &plan, &err)) {
		result = tool_error(err.data);
		goto done;
	}
	tc->job.estimate = estimate;
	notef("%s: %ld image%s with %s (size %s, quality %s), estimated %s",
	      kind == TOOL_EDIT ? "edit_image" : "generate_image",
	      tc->job.params.n > 0 ? tc->job.params.n : 1, tc->job.params.n > 1 ? "s" : "",
	      tc->job.params.model, tc->job.params.size ? tc->job.params.size : "default",
	      tc->job.params.quality ? tc->job.params.quality : "default",
	      cost_text(&estimate, (char[64]){ 0 }));
	tc->progress_ms = now_ms();
	tc->next = s->calls;
	s->calls = tc;
	tc = NULL;
done:
	job_plan_release(&plan);
	buf_release(&warn);
	buf_release(&err);
	if (tc)
		tool_call_release(tc);
	return result;
}

/* --- generate_batch ------------------------------------------------------- */

static void batch_saved(void *ud, const struct batch_job *bj, size_t index, const char *path)
{
	(void)ud;
	(void)bj;
	(void)index;
	notef("saved %s", path);
}

static void batch_finished(void *ud, const struct batch_job *bj)
{
	struct batch_call *bc = ud;
	const char *status = batch_job_status(bj);
	char *text;

	bc->ended++;
	if (bj->job.state == JOB_FAILED)
		warnf("%s%s", bj->label, bj->job.error.data);
	text = xasprintf("%s%s", bj->label, bj->job.state == JOB_FAILED ? bj->job.error.data
									   : status);
	if (!bc->cancelled)
		send_progress(bc->token, (long)bc->ended, (long)bc->to_end, text);
	free(text);
}

static void batch_warning(void *ud, const char *text)
{
	struct batch_call *bc = ud;

	warnf("%s", text);
	json_array_append_new(bc->warnings, json_string(text));
}

static void batch_note(void *ud, const char *text)
{
	(void)ud;
	notef("%s", text);
}

/* The jobs argument as batch items: a prompt each, or an object read as a
 * JSONL line is (its "line" is its place in the list, from 1). */
static int read_jobs(struct batch_call *bc, json_t *jobs, struct buf *err)
{
	size_t i;
	json_t *v;

	if (!json_is_array(jobs) || !json_array_size(jobs)) {
		buf_addf(err, "jobs: expected a list of prompts or job objects");
		return -1;
	}
	json_array_foreach(jobs, i, v) {
		if (json_is_string(v)) {
			jobfile_add_prompt(&bc->items, json_string_value(v));
		} else if (json_is_object(v)) {
			char *line = json_dumps(v, JSON_COMPACT);
			struct buf why = BUF_INIT;
			int rc = jobfile_parse(line, strlen(line), &bc->items, &why);

			free(line);
			if (rc)
				buf_addf(err, "jobs[%zu]: %s", i, strncmp(why.data, "line 1: ", 8)
							      ? why.data : why.data + 8);
			buf_release(&why);
			if (rc)
				return -1;
		} else {
			buf_addf(err, "jobs[%zu]: expected a prompt or a job object", i);
			return -1;
		}
		bc->items.v[bc->items.n - 1].line = i + 1;
	}
	return 0;
}

static int local_input_inside(const struct server *s, const char *what, const char *arg,
			      struct buf *err)
{
	if (!arg || input_classify(arg, path_exists(arg)) != INPUT_FILE)
		return 0;
	return inside_root(s, what, arg, err);
}

/* The edits' local inputs, the folder and every file a job to send would
 * write, inside the root. */
static int batch_inside_root(const struct server *s, struct batch_call *bc, struct buf *err)
{
	const struct batch_plan *plan = &bc->run.plan;
	struct extra_check x = { s, err, 0 };

	for (size_t i = 0; i < bc->items.n; i++) {
		const struct batch_item *it = &bc->items.v[i];
		for (size_t k = 0; k < it->nimages; k++)
			if (local_input_inside(s, "image", it->images[k], err))
				return -1;
		if (local_input_inside(s, "mask", it->mask, err) ||
		    local_input_inside(s, "markup", it->markup, err))
			return -1;
	}
	if (inside_root(s, "out_dir", plan->dir, err))
		return -1;
	for (size_t i = 0; i < plan->n; i++) {
		const struct batch_job *bj = &plan->jobs[i];
		for (size_t k = 0; !bj->resumed && k < bj->names.n; k++) {
			if (inside_root(s, "output", bj->names.paths[k], err))
				return -1;
			spec_each_extra(&bc->cli.spec, &bj->params, bj->names.paths[k], check_extra,
					&x);
			if (x.rc)
				return -1;
		}
	}
	return 0;
}

/* The call's max_cost against the batch's estimate, as batch --max-cost. */
static int batch_budget(const struct batch_call *bc, struct buf *err)
{
	const struct batch_run *r = &bc->run;
	char usd[32], budget[32];

	if (bc->cli.max_cost < 0)
		return 0;
	if (r->unestimated) {
		buf_addf(err, "max_cost %s: the cost of %zu job%s cannot be estimated (%s); "
			 "nothing was sent", price_format(bc->cli.max_cost, budget), r->unestimated,
			 r->unestimated == 1 ? "" : "s", r->estimate_why ? r->estimate_why
									: "no price");
		return -1;
	}
	if (r->estimate <= bc->cli.max_cost)
		return 0;
	buf_addf(err, "max_cost %s: the batch is estimated at %s; nothing was sent",
		 price_format(bc->cli.max_cost, budget), price_format(r->estimate, usd));
	return -1;
}

static void batch_call_release(struct batch_call *bc)
{
	batch_run_release(&bc->run);
	batch_items_release(&bc->items);
	json_decref(bc->id);
	json_decref(bc->token);
	json_decref(bc->args);
	json_decref(bc->warnings);
	cli_release(&bc->cli);
	free(bc);
}

/* The loop's hooks back as the server keeps them: no launch check, no
 * graceful first signal, and a stop (quota, fail-fast, a cancel) was the
 * batch's alone. */
static void loop_to_server(struct server *s)
{
	s->engine.loop.graceful = false;
	s->engine.loop.may_launch = NULL;
	s->engine.loop.may_launch_data = NULL;
	s->engine.loop.stopped = false;
}

static json_t *call_batch(struct server *s, json_t *id, json_t *args, json_t *token)
{
	struct batch_call *bc = xcalloc(1, sizeof(*bc));
	struct buf warn = BUF_INIT, err = BUF_INIT;
	json_t *result = NULL;

	*bc = (struct batch_call){ .srv = s, .cli = CLI_INIT, .items = BATCH_ITEMS_INIT };
	bc->id = json_incref(id);
	bc->token = json_incref(token);
	bc->args = json_incref(args);
	bc->warnings = json_array();
	bc->events = (struct batch_events){ batch_saved, batch_finished, NULL, batch_warning,
					    batch_note, bc };
	if (set_arguments(&bc->cli, &bc->flags, TOOL_BATCH, args, &err) ||
	    read_jobs(bc, json_object_get(args, "jobs"), &err))
		goto fail;
	cli_settings_defaults(&s->cli.settings, &bc->cli);
	if (bc->cli.max_cost < 0)
		bc->cli.max_cost = s->cli.max_cost;
	bc->run = (struct batch_run){ .engine = &s->engine, .defaults = &bc->cli.spec,
				      .fail_fast = bc->flags.fail_fast,
				      .gallery = !bc->flags.no_gallery,
				      .max_cost = bc->cli.max_cost, .events = &bc->events };
	if ((bc->cli.spec.out_dir && inside_root(s, "out_dir", bc->cli.spec.out_dir, &err)) ||
	    spec_check_options(&bc->cli.spec, &err) ||
	    batch_run_prepare(&bc->run, &bc->items, &warn, &err))
		goto fail;
	add_warnings(bc->warnings, &warn);
	if (batch_inside_root(s, bc, &err) || batch_budget(bc, &err))
		goto fail;
	for (size_t i = 0; i < bc->run.plan.n; i++) {
		const struct batch_job *bj = &bc->run.plan.jobs[i];
		bc->to_end += !bj->resumed && !bj->elsewhere && !bj->remote;
	}
	if (batch_run_start(&bc->run, &err)) {
		loop_to_server(s);
		goto fail;
	}
	bc->started = true;
	s->batch = bc;
	notef("generate_batch: %zu job%s into %s (%zu done before)", bc->to_end,
	      bc->to_end == 1 ? "" : "s", bc->run.plan.dir, bc->run.resumed);
	buf_release(&warn);
	buf_release(&err);
	return NULL;
fail:
	result = tool_error(err.data);
	batch_call_release(bc);
	buf_release(&warn);
	buf_release(&err);
	return result;
}

static json_t *batch_result(struct batch_call *bc, const char *gallery)
{
	const struct batch_run *r = &bc->run;
	const struct price_table *prices = &bc->srv->engine.prices;
	json_t *jobs = json_array(), *content = json_array(), *data, *cost;
	struct buf text = BUF_INIT;
	char spent[32], est[32];
	bool failed = r->failed || r->stop_reason || r->elsewhere || r->ledger_error.len;

	for (size_t i = 0; i < r->plan.n; i++) {
		const struct batch_job *bj = &r->plan.jobs[i];
		json_t *o = batch_job_json(bj, bj->resumed ? "done" : bj->elsewhere
					   ? "claimed by another run" : batch_job_status(bj),
					   r->plan.dir);
		size_t k;
		json_t *f;

		json_array_foreach(json_object_get(o, "files"), k, f)
			json_array_append_new(content, json_pack(
				"{s:s,s:o,s:s,s:s}", "type", "resource_link", "uri",
				file_uri(json_string_value(f)), "name",
				path_basename(json_string_value(f)), "mimeType",
				mime_of(json_string_value(f))));
		json_array_append_new(jobs, o);
	}
	cost = json_pack("{s:f,s:I,s:f,s:s?,s:b}", "usd", r->spent, "unpriced",
			 (json_int_t)r->unpriced, "estimated_before", r->estimate, "prices",
			 prices->date, "estimate", true);
	data = json_pack("{s:s,s:o,s:I,s:I,s:I,s:I,s:I,s:o,s:O}", "folder", r->plan.dir, "jobs",
			 jobs, "done", (json_int_t)r->done, "failed", (json_int_t)r->failed,
			 "resumed", (json_int_t)r->resumed, "images", (json_int_t)r->images,
			 "tokens", (json_int_t)r->tokens, "cost", cost, "warnings", bc->warnings);
	if (gallery)
		json_object_set_new(data, "gallery", json_string(gallery));
	buf_addf(&text, "done: %zu image%s from %zu of %zu jobs, %ld tokens; cost %s%s "
		 "(estimated %s before sending); %zu done by an earlier run; folder %s",
		 r->images, r->images == 1 ? "" : "s", r->done, r->plan.n, r->tokens,
		 price_format(r->spent, spent), r->unpriced ? " for the jobs priced" : "",
		 price_format(r->estimate, est), r->resumed, r->plan.dir);
	if (r->stop_reason)
		buf_addf(&text, "\nstopped: %s", r->stop_reason);
	for (size_t i = 0; i < r->plan.n; i++)
		if (r->plan.jobs[i].job.state == JOB_FAILED)
			buf_addf(&text, "\n%s%s", r->plan.jobs[i].label,
				 r->plan.jobs[i].job.error.data);
	if (r->elsewhere)
		buf_addf(&text, "\n%zu job%s left to another imagegen run (pid %ld%s%s); call "
			 "again once it ends", r->elsewhere, r->elsewhere == 1 ? "" : "s",
			 r->other.pid, r->other.host[0] ? " on " : "", r->other.host);
	json_array_insert_new(content, 0, json_pack("{s:s,s:s}", "type", "text", "text",
						    text.data));
	buf_release(&text);
	return json_pack("{s:o,s:o,s:b}", "content", content, "structuredContent", data,
			 "isError", failed);
}

/* The batch's jobs have all ended: the last records, the gallery, the
 * answer (none when cancelled), and the loop back to the server. */
static void finish_batch(struct server *s)
{
	struct batch_call *bc = s->batch;
	struct buf err = BUF_INIT;
	char *gallery = NULL;

	s->batch = NULL;
	if (batch_run_conclude(&bc->run, &err)) {
		char *text = xasprintf("gallery: %s", err.data);
		batch_warning(bc, text);
		free(text);
	} else if (bc->run.gallery) {
		gallery = xasprintf("%s/%s", bc->run.plan.dir, GALLERY_NAME);
	}
	loop_to_server(s);
	if (bc->cancelled)
		notef("cancelled: generate_batch; %zu of %zu jobs done, the rest not sent (the "
		      "same call again resumes)", bc->run.done, bc->run.plan.n);
	else
		send_result(bc->id, batch_result(bc, gallery));
	free(gallery);
	buf_release(&err);
	batch_call_release(bc);
}

/* --- the other tools ------------------------------------------------------ */

/* A result: a summary, the structured content again as text (for clients
 * that read only text), and the structured content. Takes data. */
static json_t *structured(json_t *data, const char *summary)
{
	char *text = json_dumps(data, JSON_COMPACT);
	json_t *r = json_pack("{s:[{s:s,s:s},{s:s,s:s}],s:o,s:b}", "content", "type", "text",
			      "text", summary, "type", "text", "text", text ? text : "",
			      "structuredContent", data, "isError", false);

	free(text);
	return r;
}

static json_t *call_info(const struct server *s, json_t *args)
{
	json_t *paths = json_object_get(args, "paths"), *files = json_array(), *p, *result;
	struct buf err = BUF_INIT;
	size_t i, good = 0;
	const char *key;
	json_t *v;

	json_object_foreach(args, key, v)
		if (strcmp(key, "paths")) {
			buf_addf(&err, "unknown argument '%s' (image_info takes paths)", key);
			goto fail;
		}
	if (!json_is_array(paths) || !json_array_size(paths)) {
		buf_addf(&err, "paths: expected a list of image files");
		goto fail;
	}
	json_array_foreach(paths, i, p) {
		const char *path = json_string_value(p);
		struct stat st;
		json_t *o;

		buf_reset(&err);
		if (!path) {
			buf_addf(&err, "paths: expected strings");
			goto fail;
		}
		if (inside_root(s, "paths", path, &err))
			goto fail;
		if (stat(path, &st) || !S_ISREG(st.st_mode))
			buf_addf(&err, "'%s' is not a file", path);
		else if ((o = info_describe(path, &err)))
			json_array_append_new(files, o), good++;
		if (err.len)
			json_array_append_new(files, json_pack("{s:s,s:s}", "file", path, "error",
							       err.data));
	}
	buf_release(&err);
	if (!good) {   /* each file's error, as text */
		char *text = json_dumps(files, JSON_COMPACT);
		result = tool_error(text);
		free(text);
		json_decref(files);
		return result;
	}
	return structured(json_pack("{s:o}", "files", files), "the files' records");
fail:
	json_decref(files);
	result = tool_error(err.data);
	buf_release(&err);
	return result;
}

static json_t *call_models(json_t *args)
{
	if (json_object_size(args))
		return tool_error("list_models takes no arguments");
	return structured(json_pack("{s:o}", "models", models_table(time(NULL))),
			  "the model table: status, sizes, qualities, formats and limits");
}

/* --- JSON-RPC ------------------------------------------------------------- */

static json_t *initialize(struct server *s, json_t *params)
{
	const char *asked = json_string_value(json_object_get(params, "protocolVersion"));
	const char *version = versions[0];

	for (size_t i = 0; asked && versions[i]; i++)
		if (!strcmp(asked, versions[i]))
			version = versions[i];
	s->initialized = true;
	return json_pack("{s:s,s:{s:{s:b}},s:{s:s,s:s,s:s},s:s}", "protocolVersion", version,
			 "capabilities", "tools", "listChanged", false, "serverInfo", "name",
			 "imagegen", "title", "imagegen", "version", IMAGEGEN_VERSION,
			 "instructions",
			 "imagegen makes and edits images with the OpenAI Images API. Call "
			 "estimate_cost before an expensive request; files are saved inside "
			 "the server's root folder and returned as resource links; a call's "
			 "max_cost refuses it when its estimate is higher.");
}

static void cancel(struct server *s, json_t *params)
{
	json_t *id = json_object_get(params, "requestId"), *w;
	size_t i;

	if (!id)
		return;
	json_array_foreach(s->waiting, i, w) {
		if (json_equal(json_object_get(w, "id"), id)) {
			notef("cancelled: a call that was waiting its turn");
			json_array_remove(s->waiting, i);
			return;
		}
	}
	if (s->batch && json_equal(s->batch->id, id) && !s->batch->cancelled) {
		/* The jobs in flight end (they are paid for) and are recorded;
		 * the rest are not sent. */
		s->batch->cancelled = true;
		http_loop_stop(&s->engine.loop);
		notef("cancel: generate_batch sends no more jobs; those in flight end (they are "
		      "paid for) and are recorded");
		return;
	}
	for (struct tool_call *tc = s->calls; tc; tc = tc->next) {
		if (!json_equal(tc->id, id) || tc->cancelled)
			continue;
		tc->cancelled = true;
		if (!job_cancel(&tc->job))
			notef("cancel: the answer is whole; its files are being saved");
		return;
	}
}

static const struct tool *find_tool(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(tools); i++)
		if (!strcmp(name, tools[i].name))
			return &tools[i];
	return NULL;
}

static bool sends(enum tool_kind kind)
{
	return kind == TOOL_GENERATE || kind == TOOL_EDIT || kind == TOOL_BATCH;
}

/* Must a call of kind wait its turn: a batch runs (or would run beside
 * image calls), or earlier calls wait already? */
static bool must_wait(const struct server *s, enum tool_kind kind)
{
	return sends(kind) && (json_array_size(s->waiting) || s->batch ||
			       (kind == TOOL_BATCH && s->calls));
}

/* Runs a call now and answers it, or leaves it on its way. */
static void dispatch(struct server *s, const struct tool *t, json_t *id, json_t *args,
		     json_t *token)
{
	json_t *result;

	switch (t->kind) {
	case TOOL_INFO:
		result = call_info(s, args);
		break;
	case TOOL_MODELS:
		result = call_models(args);
		break;
	case TOOL_BATCH:
		result = call_batch(s, id, args, token);
		break;
	default:
		result = call_image_tool(s, t->kind, id, args, token);
		break;
	}
	if (result)
		send_result(id, result);
}

/* The calls that waited, in order, while their turn has come. */
static void drain_waiting(struct server *s)
{
	while (json_array_size(s->waiting) && !s->batch) {
		json_t *w = json_incref(json_array_get(s->waiting, 0));
		const struct tool *t = find_tool(json_string_value(json_object_get(w, "name")));

		if (t && t->kind == TOOL_BATCH && s->calls) {
			json_decref(w);
			break;
		}
		json_array_remove(s->waiting, 0);
		json_t *token = json_object_get(w, "token");
		if (t)   /* (always: only known tools wait) */
			dispatch(s, t, json_object_get(w, "id"), json_object_get(w, "arguments"),
				 json_is_null(token) ? NULL : token);
		json_decref(w);
	}
}

static void tools_call(struct server *s, json_t *id, json_t *params)
{
	const char *name = json_string_value(json_object_get(params, "name"));
	json_t *args = json_object_get(params, "arguments");
	json_t *token = json_object_get(json_object_get(params, "_meta"), "progressToken");
	json_t *empty = json_object();
	const struct tool *t = find_tool(name);

	if (!t) {
		char *text = xasprintf("Unknown tool: %s", name ? name : "(no name)");
		send_error(id, RPC_INVALID_PARAMS, text);
		free(text);
		json_decref(empty);
		return;
	}
	if (args && !json_is_object(args)) {
		send_error(id, RPC_INVALID_PARAMS, "arguments must be an object");
		json_decref(empty);
		return;
	}
	if (!args)
		args = empty;
	if (!json_is_string(token) && !json_is_integer(token))
		token = NULL;
	if (must_wait(s, t->kind)) {
		notef("%s waits its turn: %s", t->name, s->batch ? "a batch is running"
				      : json_array_size(s->waiting) ? "earlier calls wait"
								    : "image calls are running");
		json_array_append_new(s->waiting, json_pack("{s:O,s:s,s:O,s:O?}", "id", id, "name",
							    t->name, "arguments", args,
							    "token", token));
	} else {
		dispatch(s, t, id, args, token);
	}
	json_decref(empty);
}

static void handle(struct server *s, json_t *msg)
{
	json_t *id = json_object_get(msg, "id");
	const char *method = json_string_value(json_object_get(msg, "method"));
	json_t *params = json_object_get(msg, "params");
	bool request = id != NULL;

	if (!json_is_object(msg) || !json_is_string(json_object_get(msg, "jsonrpc")) ||
	    strcmp(json_string_value(json_object_get(msg, "jsonrpc")), "2.0") ||
	    (id && !json_is_string(id) && !json_is_integer(id))) {
		send_error(json_is_string(id) || json_is_integer(id) ? id : NULL,
			   RPC_INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 message");
		return;
	}
	if (!method) {
		if (!json_object_get(msg, "result") && !json_object_get(msg, "error"))
			send_error(id, RPC_INVALID_REQUEST, "Invalid Request: no method");
		return;   /* a response: the server asks nothing */
	}
	if (params && !json_is_object(params)) {
		if (request)
			send_error(id, RPC_INVALID_PARAMS, "params must be an object");
		return;
	}
	if (!request) {
		if (!strcmp(method, "notifications/cancelled"))
			cancel(s, params);
		return;   /* notifications/initialized and others need nothing */
	}
	if (!strcmp(method, "initialize")) {
		send_result(id, initialize(s, params));
	} else if (!strcmp(method, "ping")) {
		send_result(id, json_object());
	} else if (!s->initialized) {
		send_error(id, RPC_INVALID_REQUEST, "not initialized: send initialize first");
	} else if (!strcmp(method, "tools/list")) {
		send_result(id, tools_list());
	} else if (!strcmp(method, "tools/call")) {
		tools_call(s, id, params);
	} else {
		char *text = xasprintf("Method not found: %s", method);
		send_error(id, RPC_METHOD_NOT_FOUND, text);
		free(text);
	}
}

static void handle_line(struct server *s, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *msg;

	while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (!len)
		return;
	msg = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!msg) {
		char *text = xasprintf("Parse error: %s", jerr.text);
		send_error(NULL, RPC_PARSE_ERROR, text);
		free(text);
		return;
	}
	handle(s, msg);
	json_decref(msg);
}

/* Standard input is readable: take what came and handle each whole line;
 * at its end stop watching (the calls in flight still end and answer). */
static void on_input(void *data)
{
	struct server *s = data;
	char chunk[65536];
	ssize_t got = read(STDIN_FILENO, chunk, sizeof(chunk));
	size_t start = 0;

	if (got < 0 && errno == EINTR)
		return;
	if (got <= 0) {
		if (s->in.len && !s->skipping)
			handle_line(s, s->in.data, s->in.len);
		buf_reset(&s->in);
		s->engine.loop.watching = false;
		return;
	}
	for (size_t i = 0; i < (size_t)got; i++) {
		if (chunk[i] != '\n')
			continue;
		if (!s->skipping) {
			buf_add(&s->in, chunk + start, i - start);
			handle_line(s, s->in.data, s->in.len);
		}
		buf_reset(&s->in);
		s->skipping = false;
		start = i + 1;
	}
	if (!s->skipping)
		buf_add(&s->in, chunk + start, (size_t)got - start);
	if (s->in.len > MCP_LINE_MAX) {
		send_error(NULL, RPC_PARSE_ERROR, "Parse error: message too long");
		buf_release(&s->in);
		s->skipping = true;
	}
	reap(s);
}

int cmd_mcp(int argc, char **argv)
{
	struct server s;
	struct buf err = BUF_INIT;
	const char *root = NULL;
	bool previews = false;
	long concurrency = 0;
	int rc;
	struct cli *c = &s.cli;

	memset(&s, 0, sizeof(s));
	s.cli = (struct cli)CLI_INIT;
	struct opt opts[] = {
		OPT_GROUP("Server"),
		OPT_STRING(0, "root", &root, "DIR", "read and write files only inside DIR (default: the current folder)"),
		OPT_BOOL(0, "inline-previews", &previews, "also return a small JPEG preview of each image inline"),
		OPT_INT('j', "concurrency", &concurrency, "N", 1, 64, "requests in flight at once, over all calls (default 4)"),
		OPT_DOLLARS(0, "max-cost", &c->max_cost, "USD", 0, 1e9, "refuse any call estimated above USD (a call's max_cost may lower it)"),
		OPT_BOOL(0, "no-history", &c->no_history, "do not record paid requests in the spend history"),
		OPT_CLI_CONNECTION(c),
		OPT_END(),
	};

	rc = cli_parse(c, opts, usage, about, argc, argv);
	if (rc != -1)
		goto cleanup;
	rc = EXIT_USAGE;
	if (c->words.n) {
		errorf("mcp takes no arguments ('%s'); it reads JSON-RPC messages on standard "
		       "input", c->words.v[0]);
		goto cleanup;
	}
	if (root && chdir(root)) {
		errorf("--root: cannot enter '%s': %s", root, strerror(errno));
		goto cleanup;
	}
	s.root = realpath(".", NULL);
	if (!s.root) {
		errorf("cannot resolve the root folder: %s", strerror(errno));
		goto cleanup;
	}
	s.previews = previews;
	s.waiting = json_array();
	c->command = "mcp";
	if (cli_engine(c, &s.engine, (size_t)cli_concurrency(c, concurrency, 4), 0, &err)) {
		errorf("%s", err.data);
		goto cleanup;
	}
	s.engine.loop.watching = true;
	s.engine.loop.watch_fd = STDIN_FILENO;
	s.engine.loop.ready = on_input;
	s.engine.loop.ready_data = &s;
	s.engine.loop.tick = tick;
	s.engine.loop.tick_data = &s;
	notef("serving MCP on standard input and output; root %s", s.root);
	rc = engine_run(&s.engine) ? EXIT_INTERRUPTED : EXIT_OK;
	/* Interrupted: what ended is answered (a batch's records and gallery
	 * written first); what waited its turn never ran. */
	if (s.batch) {
		batch_run_second_round(&s.batch->run);   /* stopped: says them failed */
		finish_batch(&s);
	}
	s.engine.loop.stopped = true;   /* nothing more is started */
	reap(&s);
	for (size_t i = 0; i < json_array_size(s.waiting); i++)
		send_result(json_object_get(json_array_get(s.waiting, i), "id"),
			    tool_error("not run: the server was stopped before its turn"));
	for (struct tool_call *tc = s.calls, *next; tc; tc = next) {
		next = tc->next;
		tool_call_release(tc);
	}
	cli_close_history(&s.engine);
cleanup:
	engine_release(&s.engine);
	buf_release(&s.in);
	json_decref(s.waiting);
	free(s.root);
	cli_release(c);
	buf_release(&err);
	return rc;
}
