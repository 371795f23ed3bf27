/* An old batch manifest as the job ledger imports it, whatever a crash, a
 * disk or a person left in it: imported into a ledger (in memory, as before
 * a run makes it on disk), then every entry asked "was this job paid for?"
 * and "does it own this file?", and every name asked who owns it. The folder
 * holds one image, a.png, and the manifest: a job may only count as paid
 * through files that are there, never through a name that leaves the folder. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobfile.h"
#include "ledger.h"
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

/* Only a.png (and the manifest) exist: a paid job lists a.png, and no name
 * of it may leave the folder. */
static void check_done(json_t *entry)
{
	json_t *files = json_object_get(entry, "files"), *f;
	bool found = false;
	size_t i;

	json_array_foreach(files, i, f) {
		const char *name = json_string_value(f);
		if (!name || !jobfile_safe_name(name))
			abort();   /* paid through a name that leaves the folder */
		found |= !strcmp(name, "a.png") || !strcmp(name, MANIFEST_NAME);
	}
	if (!found)
		abort();       /* paid through a file that is not there */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ledger l = LEDGER_INIT;
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
	if (ledger_open(&l, dir, &err) == 0) {
		json_t *imported = ledger_imported(&l), *entry;
		size_t i;

		json_array_foreach(imported, i, entry) {
			const char *hash = json_string_value(json_object_get(entry, "hash"));
			const char *key = json_string_value(json_object_get(entry, "key"));
			if (ledger_entry_paid(entry, hash ? hash : "", dir))
				check_done(entry);
			(void)ledger_entry_owns(entry, "a.png");
			json_decref(ledger_get(&l, key ? key : ""));
		}
		free(ledger_owner(&l, "a.png"));
		json_decref(imported);
	}
	ledger_release(&l);
	buf_release(&err);
	return 0;
}
