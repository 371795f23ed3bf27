#include "manifest.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "afile.h"
#include "jobfile.h"

int manifest_load(struct manifest *m, const char *dir, struct buf *err)
{
	json_error_t jerr;

	m->path = xasprintf("%s/%s", dir, MANIFEST_NAME);
	if (!path_exists(m->path)) {
		m->root = json_pack("{s:i,s:{}}", "version", 1, "jobs");
		return 0;
	}
	m->root = json_load_file(m->path, 0, &jerr);
	if (!json_is_object(json_object_get(m->root, "jobs"))) {
		buf_addf(err, "'%s' is not an imagegen manifest (%s); move it away to start over",
			 m->path, m->root ? "no \"jobs\"" : jerr.text);
		return -1;
	}
	return 0;
}

json_t *manifest_get(const struct manifest *m, const char *key)
{
	return json_object_get(json_object_get(m->root, "jobs"), key);
}

int manifest_put(struct manifest *m, const char *key, json_t *entry, struct buf *err)
{
	struct afile f = AFILE_INIT;
	char *text;
	int rc;

	json_object_set_new(json_object_get(m->root, "jobs"), key, entry);
	text = json_dumps(m->root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	if (!text) {
		buf_adds(err, "cannot write the manifest: out of memory");
		return -1;
	}
	rc = afile_open(&f, m->path, err) || afile_write(&f, text, strlen(text), err) ||
	     afile_write(&f, "\n", 1, err) || afile_commit(&f, AFILE_REPLACE, err) ? -1 : 0;
	afile_release(&f);
	free(text);
	return rc;
}

void manifest_release(struct manifest *m)
{
	json_decref(m->root);
	m->root = NULL;
	FREE_AND_NULL(m->path);
}

char *manifest_hash(const char *endpoint, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
	uint64_t h = 14695981039346656037ULL;   /* FNV-1a */

	for (const char *parts[] = { endpoint, "\n", text ? text : "" }, **p = parts;
	     p < parts + 3; p++)
		for (const unsigned char *c = (const unsigned char *)*p; *c; c++)
			h = (h ^ *c) * 1099511628211ULL;
	free(text);
	return xasprintf("%016llx", (unsigned long long)h);
}

static bool string_is(json_t *v, const char *want)
{
	return json_is_string(v) && !strcmp(json_string_value(v), want);
}

bool manifest_entry_owns(json_t *entry, const char *name)
{
	json_t *files = json_object_get(entry, "files");
	size_t i;
	json_t *f;

	json_array_foreach(files, i, f)
		if (json_is_string(f) && !strcmp(json_string_value(f), name))
			return true;
	return false;
}

bool manifest_entry_done(json_t *entry, const char *hash, const char *dir)
{
	json_t *files = json_object_get(entry, "files");
	size_t i;
	json_t *f;

	/* "saving": the files were being renamed when the run stopped; those
	 * present are whole (renames are atomic), so all present means done. */
	bool saving = string_is(json_object_get(entry, "state"), "saving");

	if (saving && (json_int_t)json_array_size(files) !=
		      json_integer_value(json_object_get(entry, "images")))
		return false;
	if (!(string_is(json_object_get(entry, "state"), "done") || saving) ||
	    !string_is(json_object_get(entry, "hash"), hash) || !json_array_size(files))
		return false;
	json_array_foreach(files, i, f) {
		char *path;
		bool there;

		if (!json_is_string(f) || !jobfile_safe_name(json_string_value(f)))
			return false;
		path = xasprintf("%s/%s", dir, json_string_value(f));
		there = path_exists(path);
		free(path);
		if (!there)
			return false;
	}
	return true;
}
