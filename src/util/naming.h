/* Where images go: explicit names (--out), derived names (--out-dir, --prefix,
 * prompt slug), the next free name, and the extension for each format. Pure:
 * the existence test is a callback, so unit tests need no files. */
#ifndef IMAGEGEN_NAMING_H
#define IMAGEGEN_NAMING_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

typedef bool (*exists_fn)(const char *path, const void *data);

struct name_request {
	const char *out;        /* --out FILE, or NULL */
	const char *out_dir;    /* --out-dir DIR, or NULL (current folder) */
	const char *prefix;     /* --prefix, or NULL */
	const char *prompt;     /* slug source when neither out nor prefix */
	const char *suffix;     /* appended to derived stems ("-edit"), or NULL */
	const char *format;     /* png, jpeg, webp */
	long n;                 /* images in the request */
	bool force;             /* explicit names may be overwritten */
};

struct name_plan {
	char **paths;           /* n paths, owned */
	size_t n;
	bool explicit_names;    /* from --out: never renamed, refused if present */
	bool replace;           /* the names may be replaced (--force, or a batch
				   job's own earlier files) */
	bool numbered;          /* derived names the plan numbered (cat-2.png when
				   cat.png was taken; cat-1..3 for n>1) */
};
#define NAME_PLAN_INIT { NULL, 0, false, false, false }

/* "png" -> ".png", "jpeg" -> ".jpg", "webp" -> ".webp", "gif" -> ".gif",
 * "svg" -> ".svg"; anything else ".png". */
const char *format_ext(const char *format);
/* The format an extension names (".jpg" and ".jpeg" -> "jpeg"), or NULL. */
const char *ext_format(const char *ext);

/* Plans the paths. Returns 0, or -1 with a message in err (an explicit name
 * exists and force is off). */
int naming_plan(const struct name_request *r, exists_fn exists, const void *data,
		struct name_plan *plan, struct buf *err);
void name_plan_release(struct name_plan *plan);

/* The next free variant of a derived path: "cat.png" -> "cat-2.png", then
 * "cat-3.png", ... Caller frees. */
char *naming_next_free(const char *path, exists_fn exists, const void *data);
/* The same for a path a plan numbered (name_plan.numbered): it goes on from
 * its number, so "cat-2.png" taken gives "cat-3.png", never "cat-2-2.png".
 * Caller frees. */
char *naming_next_numbered(const char *path, exists_fn exists, const void *data);

/* The default existence test: lstat(). */
bool naming_exists_on_disk(const char *path, const void *data);

/* "cat.png" -> "cat.partial-2.png": the name of a streamed partial image;
 * the caller frees. */
char *naming_partial(const char *path, long k);
/* "cat.png" -> "cat.json": the sidecar's name; the caller frees. */
char *naming_sidecar(const char *path);

#endif
