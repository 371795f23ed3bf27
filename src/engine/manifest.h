/* The batch manifest: one JSON file in the output folder recording each
 * job's request hash, state, files, usage and error, rewritten atomically as
 * jobs finish, so a rerun sends only what is not done yet. */
#ifndef IMAGEGEN_MANIFEST_H
#define IMAGEGEN_MANIFEST_H

#include <jansson.h>
#include <stdbool.h>

#include "util.h"

#define MANIFEST_NAME "imagegen-manifest.json"

struct manifest {
	char *path;
	json_t *root;      /* {"version": 1, "jobs": {key: entry}} */
};
#define MANIFEST_INIT { NULL, NULL }

/* Loads DIR's manifest, or starts an empty one when there is none. 0, or -1
 * when the file exists but cannot be read or is not a manifest. */
int manifest_load(struct manifest *m, const char *dir, struct buf *err);
/* The entry for a job key (borrowed), or NULL. */
json_t *manifest_get(const struct manifest *m, const char *key);
/* Sets a job's entry (the reference is taken) and rewrites the file. */
int manifest_put(struct manifest *m, const char *key, json_t *entry, struct buf *err);
void manifest_release(struct manifest *m);

/* A stable hash of what a request sends: 16 hex digits; caller frees. */
char *manifest_hash(const char *endpoint, json_t *body);

/* Is the entry a finished job of this hash whose files (names inside dir)
 * are all present? */
bool manifest_entry_done(json_t *entry, const char *hash, const char *dir);
/* Does the entry list this file name (inside the folder) as its own? */
bool manifest_entry_owns(json_t *entry, const char *name);

#endif
