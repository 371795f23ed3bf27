/* The spend history: every paid request of every command, appended to
 * SQLite at $XDG_STATE_HOME/imagegen/history.db (~/.local/state/...), read
 * back by `imagegen usage` and by estimates no rule covers. Rows are held
 * and written a group at a time (one transaction), so a 100,000-job batch
 * does not commit once a job on the transfer loop; a kill loses at most
 * the rows not yet written, never the ledger's record of what was paid. */
#ifndef IMAGEGEN_HISTORY_H
#define IMAGEGEN_HISTORY_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "cost.h"
#include "job.h"
#include "util.h"

/* Rows held before they are written together, and the longest a row is
 * held: a kill -9 loses at most that second's rows. */
#define HISTORY_GROUP 64
#define HISTORY_HOLD_MS 1000

struct history {
	sqlite3 *db;
	char *path;                 /* owned */
	bool record;                /* rows are written (else it is read for estimates) */
	json_t *held;               /* rows not yet written */
	int64_t held_since;         /* when the oldest of them was held */
	char *command;              /* "generate", "batch", ...; owned */
	char *folder;               /* the output folder, absolute; owned */
	struct buf error;           /* the first write that failed */
	/* estimates: the last lookup, kept (a batch asks the same often) */
	char *seen_key;
	struct cost_history seen;
};

/* Where the history is, from the environment (env reads a variable):
 * $XDG_STATE_HOME/imagegen/history.db, else ~/.local/state/imagegen/...;
 * NULL when neither is set. The caller frees. */
char *history_path(const char *(*env)(const char *name));

/* Opens (creating it and its folder) the history at path. 0, or -1 with a
 * message in err; release h either way. */
int history_open(struct history *h, const char *path, const char *command, struct buf *err);
/* Opens an existing history to read only (usage, estimates of a run that
 * records nothing); 1 when there is none, 0, or -1. */
int history_open_existing(struct history *h, const char *path, struct buf *err);

/* Holds the row of a paid job (time, provider, base URL, model, quality
 * and size as asked, images, tokens, cost, its estimate, request id, files), writing the
 * held rows when HISTORY_GROUP are held. */
void history_add(struct history *h, const struct job *job);
/* Writes the held rows. 0, or -1 (the reason in h->error). */
int history_flush(struct history *h);
/* Flushes and closes. */
void history_release(struct history *h);

/* The output tokens an image of model, quality and size averaged in
 * earlier runs (images 0: none recorded). */
struct cost_history history_tokens(struct history *h, const char *model, const char *quality,
				   const char *size);

/* What `imagegen usage` shows: rows grouped by "day", "model" or
 * "folder", since the Unix time since (0: all). A new reference:
 * {"rows": [{key, requests, images, tokens, usd, unpriced}], "total": {...}},
 * or NULL with a message in err. */
json_t *history_report(struct history *h, const char *by, long long since, struct buf *err);

#endif
