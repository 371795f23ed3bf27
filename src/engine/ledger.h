/* The job ledger: an SQLite database in the output folder's hidden
 * .imagegen/ folder (WAL mode, a busy timeout) recording each job by its key
 * (what it sends, and which of its identical jobs it is), its state, files,
 * usage and error, and which job owns each file name, so that a rerun pays
 * only for what is not done yet. A folder holding an old JSON manifest is
 * imported once, when the ledger is made. */
#ifndef IMAGEGEN_LEDGER_H
#define IMAGEGEN_LEDGER_H

#include <jansson.h>
#include <stdbool.h>

#include "util.h"

#define LEDGER_DIR ".imagegen"
#define LEDGER_NAME "ledger.db"
/* How long a write waits for another process's transaction, in ms. */
#define LEDGER_BUSY_MS 10000
/* How long a claim holds for a run on another host, which cannot see
 * whether the claiming process lives (s), and how often a live run renews
 * its claims' lease. */
#define LEDGER_LEASE_S 600
#define LEDGER_RENEW_S 120
#define LEDGER_HOST_MAX 256

struct sqlite3;
struct ledger_statements;

struct ledger {
	struct sqlite3 *db;   /* the folder's ledger, or an in-memory one until made */
	char *dir;
	bool on_disk;
	struct ledger_statements *st;   /* prepared once: a plan asks per job */
	int depth;                      /* steps in the open write transaction */
	unsigned long commits;          /* write transactions committed (what
					   a test counts: writes are grouped) */
};
#define LEDGER_INIT { NULL, NULL, false, NULL, 0, 0 }

/* Opens DIR's ledger when there is one; otherwise an empty ledger in memory
 * (with DIR's old manifest imported, if it has one) that nothing writes to
 * disk until ledger_create. 0, or -1 with the reason in err. */
int ledger_open(struct ledger *l, const char *dir, struct buf *err);
/* Makes the ledger on disk (DIR must exist) if it is still in memory,
 * importing the old manifest once. 0 or -1. */
int ledger_create(struct ledger *l, struct buf *err);
/* Opens a write transaction that every write until ledger_commit joins, so
 * that they reach the disk together (one sync): a run's start reserves,
 * claims and records its plan so. A write that fails rolls back them all
 * (and ledger_commit then fails too). 0 or -1. */
int ledger_begin(struct ledger *l, struct buf *err);
int ledger_commit(struct ledger *l, struct buf *err);
/* Rolls back the open transaction, if any. */
void ledger_abort(struct ledger *l);
/* The entry of a job key, or NULL: a new reference the caller releases. */
json_t *ledger_get(const struct ledger *l, const char *key);
/* Records a job's entry (the reference is taken) in state, and that it owns
 * every name in the entry's "files"; committed before it returns. 0 or -1. */
int ledger_put(struct ledger *l, const char *key, const char *state, json_t *entry,
	       struct buf *err);
/* A job's entry in a state, for ledger_put_rows. */
struct ledger_row {
	const char *key;
	const char *state;
	json_t *entry;
};
/* Records rows as ledger_put does, all in one transaction (one sync to disk
 * for the lot), taking every entry's reference. 0 or -1 (then none is). */
int ledger_put_rows(struct ledger *l, const struct ledger_row *rows, size_t n,
		    struct buf *err);
/* What ledger_reserve does with a name. */
enum ledger_name {
	LEDGER_FILE,        /* the job's: a partial, sidecar or copy */
	LEDGER_IMAGE,       /* the job's, for one of its images */
	LEDGER_GIVE_BACK,   /* no longer the job's (a file there is not its) */
};

/* Reserves names (inside the folder) for the jobs of keys, names[i] for
 * keys[i] as kind[i] says, in one transaction, before any of them is sent:
 * a name belongs to one job. 0 or -1. */
int ledger_reserve(struct ledger *l, size_t n, const char *const *keys,
		   const char *const *names, const enum ledger_name *kind, struct buf *err);
/* Notes, before an image of the job of key takes the name (reserved for it)
 * and when the image carries no record of its job, that it is the file with
 * this inode and size: a file found at the name after a kill is the job's
 * image only if it is that file. Committed before it returns. 0 or -1. */
int ledger_mark_image(struct ledger *l, const char *key, const char *name,
		      unsigned long long inode, long long size, struct buf *err);
/* An image of the job of key takes the name to instead of from (a file
 * appeared at from, or the server sent another format): from is no longer
 * the job's, to is its image's. One transaction. 0 or -1. */
int ledger_move_image(struct ledger *l, const char *key, const char *from, const char *to,
		      struct buf *err);
/* Gives back the image names reserved for the jobs of keys, which were not
 * sent after all (a file that appears at one later is not theirs). */
int ledger_release_images(struct ledger *l, size_t n, const char *const *keys,
			  struct buf *err);
/* The names reserved for the images of the job of key: a new array of
 * {"name"}, with "inode" and "size" for those ledger_mark_image noted. */
json_t *ledger_reserved_images(const struct ledger *l, const char *key);
/* What claiming a job found. */
enum ledger_claim {
	LEDGER_CLAIMED,      /* ours now: send it */
	LEDGER_PAID,         /* another run finished it meanwhile: not sent */
	LEDGER_ELSEWHERE,    /* a live imagegen process has it: left to that run */
};

/* A run that holds a claim: its pid, and its host when not this one. */
struct ledger_holder {
	long pid;
	char host[LEDGER_HOST_MAX];
};

/* Claims the jobs of keys for this process (its pid and start time, its
 * host and a lease of LEDGER_LEASE_S) in one transaction, before any is
 * sent. A claim of this host's is taken over when its process is dead; one
 * of another host's, whose process cannot be looked at, when its lease has
 * passed. A job finished meanwhile is LEDGER_PAID unless redo (--force). A
 * job claimed that has no entry yet gets pending[i] (borrowed; pending may
 * be NULL) as its entry, in state "pending": planned, not known to be sent.
 * out[i] says what became of keys[i]; *other is a run that holds one it
 * could not claim (pid 0 if none). 0 or -1. */
int ledger_claim(struct ledger *l, size_t n, const char *const *keys, json_t *const *pending,
		 const char *dir, bool redo, enum ledger_claim *out,
		 struct ledger_holder *other, struct buf *err);
/* Renews the lease of this process's claims (LEDGER_LEASE_S from now), as
 * a live run does every LEDGER_RENEW_S. 0 or -1. */
int ledger_renew_claims(struct ledger *l, struct buf *err);
/* Gives back every claim of this process (its jobs done, failed or unsent). */
void ledger_unclaim(struct ledger *l);
/* Is process pid, started at start (clock ticks after boot, as /proc shows
 * it), alive? */
bool ledger_process_alive(long pid, unsigned long long start);

/* The key of the job that owns a file name in the folder, or NULL; the
 * caller frees. */
char *ledger_owner(const struct ledger *l, const char *name);
/* The claims that hold (of live processes on this host, or within their
 * lease on another): [{"key", "pid", "host" when another}], a new array. */
json_t *ledger_live_claims(const struct ledger *l);
/* Is a file name in the folder reserved for, or saved by, the job of key? */
bool ledger_owned_by(const struct ledger *l, const char *name, const char *key);
/* Marks the job of keys[i] superseded by the job of by[i] (the same line,
 * its request changed), or, with by[i] NULL, no longer superseded (its line
 * is as it was again), all in one transaction. Entries and files stay as
 * they are. 0 or -1. */
int ledger_supersede(struct ledger *l, size_t n, const char *const *keys,
		     const char *const *by, struct buf *err);
/* Every entry, in no order, each with its "key" (and "superseded_by", the
 * key of the job that superseded it, if one did): a new array. */
json_t *ledger_entries(const struct ledger *l);
void ledger_release(struct ledger *l);

/* The OpenAI Batch API's parts (an input file and its batch) of the folder:
 * records part (our name for it) in state ("written", "uploaded",
 * "submitted", "closed") with record (borrowed: endpoint, model, keys,
 * file_id, batch_id, ...), committed before it returns. 0 or -1. */
int ledger_remote_put(struct ledger *l, const char *part, const char *state, json_t *record,
		      struct buf *err);
/* The parts recorded, oldest first, each its record with "part" and
 * "state"; only those not closed when open_only. A new array. */
json_t *ledger_remote_parts(const struct ledger *l, bool open_only);

/* A stable hash of what a request sends (endpoint and body): 16 hex digits;
 * the caller frees. */
char *ledger_hash(const char *endpoint, json_t *body);
/* A job's key: its request's hash and which of the jobs sending that same
 * request it is (1, 2, ... in the plan's order); caller frees. Its id and
 * "out" are names, not part of it: renaming a job never makes it new. */
char *ledger_key(const char *hash, size_t occurrence);
/* The key ledgers of earlier versions gave a job: its request's hash, the
 * id and "out" it names (either may be NULL), and which of the jobs with
 * all three the same it is; caller frees. Looked up when the key is not
 * there, and rewritten to it (ledger_rekey). */
char *ledger_legacy_key(const char *hash, const char *id, const char *out, size_t occurrence);
/* Renames the jobs of keys from[i] to to[i] everywhere in the ledger, in one
 * transaction. 0 or -1. */
int ledger_rekey(struct ledger *l, size_t n, const char *const *from, const char *const *to,
		 struct buf *err);
/* The entries imported from an old manifest (keys "import:..."): a new array. */
json_t *ledger_imported(const struct ledger *l);

/* Was the job of this entry paid for and is any of its images there? (A job
 * with a saved image is never sent again, even if a kill left the others
 * unsaved, or it failed after saving it.) Only plain names inside dir
 * count. */
bool ledger_entry_paid(json_t *entry, const char *hash, const char *dir);
/* Does the entry list this file name (inside the folder) as its own? */
bool ledger_entry_owns(json_t *entry, const char *name);

#endif
