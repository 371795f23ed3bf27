/* The batch manifest as a rerun finds it, whatever a crash, a disk or a
 * person left in it: loaded, then every entry asked "is this job done?" and
 * "does it own this file?". The folder holds one image, a.png, and the
 * manifest: a job may only count as done through files that are there, and
 * never through a name that leaves the folder. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "manifest.h"

static char dir[64];

static void setup(void)
{
	char path[96];
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/fuzz-manifest-%d", (int)getpid());
	mkdir_p(dir);
	snprintf(path, sizeof(path), "%s/a.png", dir);
	f = fopen(path, "wb");
	if (f)
		fclose(f);
}

/* Only a.png and the manifest exist, and only plain names count. */
static void check_done(json_t *entry)
{
	json_t *files = json_object_get(entry, "files"), *f;
	size_t i;

	json_array_foreach(files, i, f) {
		const char *name = json_string_value(f);
		if (!name || (strcmp(name, "a.png") && strcmp(name, MANIFEST_NAME)))
			abort();   /* done through a file that is not in the folder */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest m = MANIFEST_INIT;
	struct buf err = BUF_INIT;
	char path[128];
	FILE *f;

	if (!dir[0])
		setup();
	snprintf(path, sizeof(path), "%s/%s", dir, MANIFEST_NAME);
	f = fopen(path, "wb");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	if (manifest_load(&m, dir, &err) == 0) {
		const char *key;
		json_t *entry;
		json_object_foreach(json_object_get(m.root, "jobs"), key, entry) {
			const char *hash = json_string_value(json_object_get(entry, "hash"));
			if (manifest_entry_done(entry, hash ? hash : "", dir))
				check_done(entry);
			(void)manifest_entry_owns(entry, "a.png");
			(void)manifest_get(&m, key);
		}
	}
	manifest_release(&m);
	buf_release(&err);
	return 0;
}
