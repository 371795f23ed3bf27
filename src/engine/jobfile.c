#include "jobfile.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "value.h"

enum key_kind { K_STRING, K_INT, K_FIELDS, K_IMAGES };

/* Every key a job object may hold, and where its value goes. */
static const struct job_key {
	const char *name;
	enum key_kind kind;
	size_t params_offset;        /* in struct img_params, or SIZE_MAX */
	size_t fields_offset;        /* in struct prompt_fields, or SIZE_MAX */
} job_keys[] = {
#define P(name, field) { name, K_STRING, offsetof(struct img_params, field), SIZE_MAX }
#define PI(name, field) { name, K_INT, offsetof(struct img_params, field), SIZE_MAX }
#define F(name, field) { name, K_STRING, SIZE_MAX, offsetof(struct prompt_fields, field) }
	P("model", model), P("size", size), P("quality", quality),
	P("background", background), P("output_format", output_format),
	PI("output_compression", output_compression), P("moderation", moderation),
	PI("n", n), P("user", user), P("response_format", response_format),
	P("complexity", complexity), P("safety_identifier", safety_identifier),
	PI("frame_count", frame_count), PI("frame_duration_ms", frame_duration_ms),
	P("svg_model", svg_model), P("svg_effort", svg_effort),
	F("use_case", use_case), F("scene", scene), F("subject", subject),
	F("composition", composition), F("lighting", lighting), F("palette", palette),
	F("materials", materials), F("text", text), F("constraints", constraints),
	F("negative", negative),
	{ "fields", K_FIELDS, SIZE_MAX, SIZE_MAX },
	{ "image", K_IMAGES, SIZE_MAX, SIZE_MAX },
	/* prompt, id, out, style, mask and markup are handled by name */
	{ "prompt", K_STRING, SIZE_MAX, SIZE_MAX },
	{ "id", K_STRING, SIZE_MAX, SIZE_MAX },
	{ "out", K_STRING, SIZE_MAX, SIZE_MAX },
	{ "style", K_STRING, SIZE_MAX, SIZE_MAX },
	{ "mask", K_STRING, SIZE_MAX, SIZE_MAX },
	{ "markup", K_STRING, SIZE_MAX, SIZE_MAX },
#undef P
#undef PI
#undef F
};

static const struct job_key *find_key(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(job_keys); i++)
		if (!strcmp(job_keys[i].name, name))
			return &job_keys[i];
	return NULL;
}

bool jobfile_safe_name(const char *name)
{
	if (!name || !*name || name[0] == '.' || strchr(name, '/') || strchr(name, '\\'))
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return strlen(name) <= 200;
}

static int set_key(struct batch_item *item, const struct job_key *k, const char *name,
		   json_t *value, struct buf *err);

/* "fields": {"scene": ..., ...}: only augmentation fields. */
static int set_fields(struct batch_item *item, json_t *fields, struct buf *err)
{
	const char *name;
	json_t *value;

	if (!json_is_object(fields)) {
		buf_addf(err, "\"fields\" must be an object");
		return -1;
	}
	json_object_foreach(fields, name, value) {
		const struct job_key *k = find_key(name);
		if (!k || (k->fields_offset == SIZE_MAX && strcmp(name, "style"))) {
			buf_addf(err, "unknown field \"%s\" in \"fields\"", name);
			return -1;
		}
		if (set_key(item, k, name, value, err))
			return -1;
	}
	return 0;
}

/* "image": one input, or an array of them (an edit of several images). */
static int set_images(struct batch_item *item, json_t *value, struct buf *err)
{
	size_t i, n = json_is_array(value) ? json_array_size(value) : 1;
	json_t *v;

	if (!json_is_string(value) && !(json_is_array(value) && n)) {
		buf_addf(err, "\"image\" must be a string or a non-empty array of strings");
		return -1;
	}
	free(item->images);
	item->images = xcalloc(n, sizeof(*item->images));
	item->nimages = n;
	if (json_is_string(value)) {
		item->images[0] = json_string_value(value);
		return 0;
	}
	json_array_foreach(value, i, v) {
		if (!json_is_string(v) || !*json_string_value(v)) {
			buf_addf(err, "\"image\"[%zu] must be a non-empty string", i);
			return -1;
		}
		item->images[i] = json_string_value(v);
	}
	return 0;
}

static int set_key(struct batch_item *item, const struct job_key *k, const char *name,
		   json_t *value, struct buf *err)
{
	if (k->kind == K_FIELDS)
		return set_fields(item, value, err);
	if (k->kind == K_IMAGES)
		return set_images(item, value, err);
	if (k->kind == K_INT) {
		if (!json_is_integer(value)) {
			buf_addf(err, "\"%s\" must be a whole number", name);
			return -1;
		}
		/* -1 is how a field says "not set": a negative number must not
		 * quietly become the default. */
		if (json_integer_value(value) < 0) {
			buf_addf(err, "\"%s\": %" JSON_INTEGER_FORMAT " is negative", name,
				 json_integer_value(value));
			return -1;
		}
		*(long *)((char *)&item->params + k->params_offset) = (long)json_integer_value(value);
		return 0;
	}
	if (!json_is_string(value)) {
		buf_addf(err, "\"%s\" must be a string", name);
		return -1;
	}
	const char *s = json_string_value(value);
	if (k->params_offset != SIZE_MAX)
		*(const char **)((char *)&item->params + k->params_offset) = s;
	else if (k->fields_offset != SIZE_MAX)
		*(const char **)((char *)&item->fields + k->fields_offset) = s;
	else if (!strcmp(name, "prompt"))
		item->prompt = s;
	else if (!strcmp(name, "id"))
		item->id = s;
	else if (!strcmp(name, "out"))
		item->out = s;
	else if (!strcmp(name, "mask"))
		item->mask = s;
	else if (!strcmp(name, "markup"))
		item->markup = s;
	else
		item->style_text = s;
	return 0;
}

static int parse_object(struct batch_item *item, json_t *doc, struct buf *err)
{
	const char *name;
	json_t *value;

	json_object_foreach(doc, name, value) {
		const struct job_key *k = find_key(name);
		if (!k) {
			buf_addf(err, "unknown key \"%s\"", name);
			return -1;
		}
		if (set_key(item, k, name, value, err))
			return -1;
	}
	if (!item->prompt || !*item->prompt) {
		buf_addf(err, "no \"prompt\"");
		return -1;
	}
	if (prompt_is_blank(item->prompt)) {
		buf_addf(err, "the prompt is empty (only white space)");
		return -1;
	}
	if ((item->mask || item->markup) && !item->nimages) {
		buf_addf(err, "\"%s\" needs \"image\": only edits take it",
			 item->mask ? "mask" : "markup");
		return -1;
	}
	if (item->id && !jobfile_safe_name(item->id)) {
		buf_addf(err, "\"id\" must be a plain name (no '/', '..' or leading '.')");
		return -1;
	}
	if (item->out && !jobfile_safe_name(item->out)) {
		buf_addf(err, "\"out\" must be a file name inside the output folder "
			 "(no '/', '..', absolute path or leading '.')");
		return -1;
	}
	return 0;
}

static void item_init(struct batch_item *item, size_t line)
{
	memset(item, 0, sizeof(*item));
	item->line = line;
	item->params = (struct img_params)IMG_PARAMS_INIT;
}

static struct batch_item *push(struct batch_items *items)
{
	struct batch_item *v = realloc(items->v, (items->n + 1) * sizeof(*v));

	if (!v)
		abort();
	items->v = v;
	return &v[items->n];
}

/* One line (without its newline). 0 or -1 with the reason in err. */
static int parse_line(struct batch_items *items, const char *p, size_t len, size_t line,
		      struct buf *err)
{
	struct batch_item item;
	json_error_t jerr;

	item_init(&item, line);
	/* A JSON string is its text ("a prompt" without the quotes); a line
	 * that only starts with a quote is a plain prompt. */
	if (*p == '"')
		item.doc = json_loadb(p, len, JSON_DECODE_ANY, &jerr);
	if (*p == '"' && json_is_string(item.doc)) {
		item.prompt = json_string_value(item.doc);
		if (prompt_is_blank(item.prompt)) {
			buf_addf(err, "the prompt is empty (only white space)");
			json_decref(item.doc);
			return -1;
		}
	} else if (*p != '{') {
		/* A plain text prompt: kept in a JSON string so it has an owner. */
		json_decref(item.doc);
		item.doc = json_stringn(p, len);
		if (!item.doc) {
			buf_addf(err, "the prompt is not valid UTF-8");
			return -1;
		}
		item.prompt = json_string_value(item.doc);
	} else {
		item.doc = json_loadb(p, len, JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(item.doc)) {
			buf_addf(err, "not a JSON object: %s", jerr.text);
			json_decref(item.doc);
			return -1;
		}
		if (parse_object(&item, item.doc, err)) {
			free(item.images);
			json_decref(item.doc);
			return -1;
		}
	}
	*push(items) = item;
	items->n++;
	return 0;
}

bool jobfile_is_comment(const char *line, size_t len)
{
	return len && line[0] == '#' && (len == 1 || line[1] == ' ' || line[1] == '\t');
}

static void add_comment(struct batch_items *items, size_t line, const char *text, size_t len)
{
	struct batch_comment *v = realloc(items->comments,
					  (items->ncomments + 1) * sizeof(*v));

	if (!v)
		abort();
	items->comments = v;
	v[items->ncomments++] = (struct batch_comment){ line, xstrndup(text, len) };
}

int jobfile_parse(const char *text, size_t len, struct batch_items *items, struct buf *err)
{
	size_t line = 0;
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		line++;
		/* Trim spaces and a CR at both ends. */
		const char *a = p, *b = eol;
		while (a < b && (*a == ' ' || *a == '\t' || *a == '\r'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r'))
			b--;
		if (jobfile_is_comment(a, (size_t)(b - a))) {
			add_comment(items, line, a, (size_t)(b - a));
		} else if (a < b) {
			struct buf why = BUF_INIT;
			if (memchr(a, '\0', (size_t)(b - a)) ||
			    parse_line(items, a, (size_t)(b - a), line, &why)) {
				buf_addf(err, "line %zu: %s", line, why.len ? why.data : "a NUL byte");
				buf_release(&why);
				return -1;
			}
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}

void jobfile_add_prompt(struct batch_items *items, const char *prompt)
{
	struct batch_item *item = push(items);

	item_init(item, 0);
	item->prompt = prompt;
	items->n++;
}

void batch_items_release(struct batch_items *items)
{
	for (size_t i = 0; i < items->n; i++) {
		free(items->v[i].images);
		json_decref(items->v[i].doc);
	}
	FREE_AND_NULL(items->v);
	items->n = 0;
	for (size_t i = 0; i < items->ncomments; i++)
		free(items->comments[i].text);
	FREE_AND_NULL(items->comments);
	items->ncomments = 0;
}
