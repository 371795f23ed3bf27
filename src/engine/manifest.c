#include "manifest.h"

#include <stdlib.h>

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

void manifest_release(struct manifest *m)
{
	json_decref(m->root);
	m->root = NULL;
	FREE_AND_NULL(m->path);
}
