/* The JSON manifest of imagegen before the job ledger: read once, when a
 * folder that holds one gets its ledger (ledger.c imports it). */
#ifndef IMAGEGEN_MANIFEST_H
#define IMAGEGEN_MANIFEST_H

#include <jansson.h>

#include "util.h"

#define MANIFEST_NAME "imagegen-manifest.json"

struct manifest {
	char *path;
	json_t *root;      /* {"version": 1, "jobs": {key: entry}} */
};
#define MANIFEST_INIT { NULL, NULL }

/* Loads DIR's manifest, or an empty one when there is none. 0, or -1 when
 * the file exists but cannot be read or is not a manifest. */
int manifest_load(struct manifest *m, const char *dir, struct buf *err);
void manifest_release(struct manifest *m);

#endif
