#include "ledger.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "jobfile.h"
#include "manifest.h"

/* Version 1: jobs and the files they own. */
static const char schema[] =
	"CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS jobs ("
	"  key TEXT PRIMARY KEY,"
	"  state TEXT NOT NULL,"
	"  entry TEXT NOT NULL,"      /* JSON: index, id, prompt, hash, files, usage, ... */
	"  updated INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS files ("
	"  name TEXT PRIMARY KEY,"    /* inside the folder */
	"  job TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS files_by_job ON files (job);"
	/* Of those, the names reserved for a job's images (not its partials,
	 * sidecars or copies): a file at one is that job's paid image, even
	 * if no record of it could be written. */
	"CREATE TABLE IF NOT EXISTS images ("
	"  name TEXT PRIMARY KEY,"
	"  job TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS images_by_job ON images (job);"
	/* Which process is making a job: its pid and start time, so a reused
	 * pid is never taken for the process that claimed it. */
	"CREATE TABLE IF NOT EXISTS claims ("
	"  key TEXT PRIMARY KEY,"
	"  pid INTEGER NOT NULL,"
	"  started INTEGER NOT NULL,"
	"  claimed INTEGER NOT NULL);"
	/* The folder's OpenAI Batch API batches (--batch-api), one row a part
	 * (an input file and its batch): its state and a JSON record of the
	 * jobs it holds and the ids the server gave, each written before the
	 * step that needs it is taken. (Added after version 1 was out: IF NOT
	 * EXISTS makes it in older ledgers when they are opened.) */
	"CREATE TABLE IF NOT EXISTS remote ("
	"  part TEXT PRIMARY KEY,"
	"  state TEXT NOT NULL,"
	"  record TEXT NOT NULL,"
	"  updated INTEGER NOT NULL);"
	"INSERT OR IGNORE INTO meta VALUES ('schema', '1');";

/* What each later version adds to the one before: migration[v - 2] takes a
 * ledger from version v - 1 to v. */
static const char *const migration[] = {
	/* 2: an image that carries no record of its job (--no-metadata, JPEG,
	 * WebP, a signed file kept as sent) is noted as the file it is (inode
	 * and size) before it takes a reserved name, so that a file found there
	 * later is known for the job's only if it is that file. */
	"ALTER TABLE images ADD COLUMN inode INTEGER;"
	"ALTER TABLE images ADD COLUMN size INTEGER;",
	/* 3: the jobs a newer job of the same line (a changed request) has
	 * superseded: by which, and since when. Their entries and files stay. */
	"CREATE TABLE superseded ("
	"  key TEXT PRIMARY KEY,"
	"  by TEXT NOT NULL,"
	"  at INTEGER NOT NULL);",
	/* 4: the host a claim was made on, and until when it holds (unix
	 * time) unless renewed: a pid is checked on its own host only. Claims
	 * of earlier versions (host '') are this host's. */
	"ALTER TABLE claims ADD COLUMN host TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE claims ADD COLUMN lease INTEGER NOT NULL DEFAULT 0;",
};
#define LEDGER_SCHEMA ((int)ARRAY_SIZE(migration) + 1)

struct ledger_statements {
	sqlite3_stmt *get, *owner, *images;
};

/* The statement in *slot on l's database, prepared on first use. */
static sqlite3_stmt *statement(const struct ledger *l, sqlite3_stmt **slot, const char *sql)
{
	if (!l->db || !l->st)
		return NULL;
	if (!*slot && sqlite3_prepare_v3(l->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL) !=
			      SQLITE_OK) {
		sqlite3_finalize(*slot);
		*slot = NULL;
	}
	if (*slot)
		sqlite3_reset(*slot);
	return *slot;
}

static void finalize_statements(struct ledger *l)
{
	if (!l->st)
		return;
	sqlite3_finalize(l->st->get);
	sqlite3_finalize(l->st->owner);
	sqlite3_finalize(l->st->images);
	l->st->get = l->st->owner = l->st->images = NULL;
}

static int fail(struct buf *err, sqlite3 *db, const char *what)
{
	buf_addf(err, "the job ledger: %s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
	return -1;
}

static int exec(sqlite3 *db, const char *sql, struct buf *err)
{
	char *why = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &why) == SQLITE_OK)
		return 0;
	buf_addf(err, "the job ledger: %s", why ? why : sqlite3_errmsg(db));
	sqlite3_free(why);
	return -1;
}

/* Ends a failed transaction, if SQLite has not ended it already (a full
 * disk rolls back by itself); the reason given is the failure's, not this. */
static void rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

/* Starts a write transaction for a step, or joins the one open (a caller's
 * ledger_begin: its steps commit together, one sync to disk). 0 or -1. */
static int begin(struct ledger *l, struct buf *err)
{
	if (l->depth++)
		return 0;
	if (exec(l->db, "BEGIN IMMEDIATE", err) == 0)
		return 0;
	l->depth = 0;
	return -1;
}

/* Ends a step begun with begin: with rc 0 it commits, unless an outer
 * transaction is open; otherwise the whole transaction is rolled back (a
 * step that failed leaves nothing of the steps joined with it). rc, or -1
 * when the commit failed. */
static int end(struct ledger *l, int rc, struct buf *err)
{
	if (l->depth == 0)
		return -1;   /* a joined step failed: all is rolled back already */
	if (rc == 0 && --l->depth > 0)
		return 0;
	if (rc == 0 && exec(l->db, "COMMIT", err) == 0) {
		l->commits++;
		return 0;
	}
	l->depth = 0;
	rollback(l->db);
	return -1;
}

int ledger_begin(struct ledger *l, struct buf *err)
{
	return begin(l, err);
}

int ledger_commit(struct ledger *l, struct buf *err)
{
	return end(l, 0, err);
}

void ledger_abort(struct ledger *l)
{
	l->depth = 0;
	if (l->db)
		rollback(l->db);
}

/* The ledger's schema version, from meta; 0 when unreadable. */
static int schema_version(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int version = 0;

	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE name = 'schema'", -1, &st,
			       NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return version;
}

/* Brings the ledger to LEDGER_SCHEMA, one version at a time, in one
 * transaction (two runs opening an old ledger at once: the second finds it
 * done). A ledger of a newer imagegen is refused, never changed. 0 or -1. */
static int migrate(sqlite3 *db, const char *path, struct buf *err)
{
	int version;
	char update[64];

	if (schema_version(db) == LEDGER_SCHEMA)
		return 0;
	if (exec(db, "BEGIN IMMEDIATE", err))
		return -1;
	version = schema_version(db);
	if (version > LEDGER_SCHEMA || version < 1) {
		buf_addf(err, "the job ledger '%s' has schema version %d, which this imagegen "
			 "(version %d) does not know; use a newer imagegen", path, version,
			 LEDGER_SCHEMA);
		rollback(db);
		return -1;
	}
	for (; version < LEDGER_SCHEMA; version++)
		if (exec(db, migration[version - 1], err)) {
			rollback(db);
			return -1;
		}
	snprintf(update, sizeof(update), "UPDATE meta SET value = '%d' WHERE name = 'schema'",
		 LEDGER_SCHEMA);
	if (exec(db, update, err) || exec(db, "COMMIT", err)) {
		rollback(db);
		return -1;
	}
	return 0;
}

/* Opens path (or ":memory:") with the schema in place. WAL: readers never
 * block the writer; FULL: a commit is on disk before the step that depends
 * on it is taken. */
static int connect(sqlite3 **db, const char *path, struct buf *err)
{
	if (db_connect(db, path, LEDGER_BUSY_MS, "FULL", schema, "the job ledger", err))
		return -1;
	if (migrate(*db, path, err)) {
		sqlite3_close(*db);
		*db = NULL;
		return -1;
	}
	return 0;
}

/* Runs sql, a statement of ?1 = a name and ?2 = key, once for each string
 * in names. 0 or -1. */
static int each_name(sqlite3 *db, const char *sql, const char *key, json_t *names)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	json_t *name;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK ? 0 : -1;

	json_array_foreach(names, i, name) {
		if (rc || !json_is_string(name))
			continue;
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, json_string_value(name), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Forgets the image names reserved for the jobs of keys. 0 or -1. */
static int drop_images(sqlite3 *db, size_t n, const char *const *keys)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "DELETE FROM images WHERE job = ?1", -1, &st, NULL) ==
			 SQLITE_OK ? 0 : -1;

	for (size_t i = 0; rc == 0 && i < n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, keys[i], -1, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	}
	sqlite3_finalize(st);
	return rc;
}

int ledger_release_images(struct ledger *l, size_t n, const char *const *keys, struct buf *err)
{
	int rc;

	if (!n)
		return 0;
	if (begin(l, err))
		return -1;
	rc = drop_images(l->db, n, keys) ? fail(err, l->db, "cannot release the jobs' names") : 0;
	return end(l, rc, err);
}

static int put_row(sqlite3 *db, const char *key, const char *state, json_t *entry,
		   struct buf *err)
{
	char *text = json_dumps(entry, JSON_COMPACT | JSON_PRESERVE_ORDER);
	sqlite3_stmt *st = NULL;
	json_t *files = json_object_get(entry, "files");
	int rc = -1;

	if (!text)
		return fail(err, NULL, "cannot record a job");
	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO jobs VALUES (?1, ?2, ?3, ?4)", -1,
			       &st, NULL) != SQLITE_OK)
		goto sql;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL));
	if (sqlite3_step(st) != SQLITE_DONE)
		goto sql;
	sqlite3_finalize(st);
	st = NULL;
	if (each_name(db, "INSERT OR REPLACE INTO files VALUES (?1, ?2)", key, files))
		goto sql;
	/* A job that has ended owns as images only the ones it saved: a file
	 * that appears later at a name it did not fill is never taken for its. */
	if (strcmp(state, "saving") &&
	    (drop_images(db, 1, &key) ||
	     each_name(db, "INSERT OR REPLACE INTO images (name, job) VALUES (?1, ?2)", key, files)))
		goto sql;
	rc = 0;
	goto done;
sql:
	fail(err, db, "cannot record a job");
done:
	sqlite3_finalize(st);
	free(text);
	return rc;
}

/* The old manifest's jobs, in one transaction; marks it imported. */
static int import_manifest(sqlite3 *db, const char *dir, struct buf *err)
{
	struct manifest m = MANIFEST_INIT;
	const char *key;
	json_t *entry;
	char *path = xasprintf("%s/%s", dir, MANIFEST_NAME);
	bool there = path_exists(path);
	int rc = -1;

	free(path);
	if (!there)
		return 0;
	if (manifest_load(&m, dir, err) || exec(db, "BEGIN IMMEDIATE", err))
		goto cleanup;
	json_object_foreach(json_object_get(m.root, "jobs"), key, entry) {
		const char *state = json_string_value(json_object_get(entry, "state"));
		if (!json_is_object(entry) || !state)
			continue;
		char *imported = xasprintf("import:%s", key);
		int bad = put_row(db, imported, state, entry, err);

		free(imported);
		if (bad) {
			rollback(db);
			goto cleanup;
		}
	}
	rc = exec(db, "INSERT OR REPLACE INTO meta VALUES ('imported', '" MANIFEST_NAME "');"
		      "COMMIT", err);
cleanup:
	manifest_release(&m);
	return rc;
}

static char *ledger_path(const char *dir)
{
	return xasprintf("%s/" LEDGER_DIR "/" LEDGER_NAME, dir);
}

/* Is the ledger at path, or its folder, one this user may not write? */
static bool unwritable(const char *path)
{
	char *folder = path_dirname(path), *wal = xasprintf("%s-wal", path);
	bool ro = access(folder, W_OK | X_OK) ||
		  (path_exists(path) && access(path, R_OK | W_OK)) ||
		  (path_exists(wal) && access(wal, R_OK | W_OK));

	free(folder);
	free(wal);
	return ro;
}

/* Connects to the ledger at path; one that cannot be written for its
 * permissions is said so, naming it and what to do (SQLite's own words,
 * "unable to open database file" or "attempt to write a readonly
 * database", name neither). 0 or -1. */
static int connect_file(sqlite3 **db, const char *path, struct buf *err)
{
	struct buf why = BUF_INIT;
	int rc = connect(db, path, &why);

	if (rc && unwritable(path)) {
		char *folder = path_dirname(path);
		buf_addf(err, "the job ledger '%s' cannot be written: it or its folder '%s' is "
			 "read-only for this user (SQLite keeps its -wal and -shm files beside "
			 "it); make them writable, or run as their owner", path, folder);
		free(folder);
	} else if (rc) {
		buf_adds(err, why.data);
	}
	buf_release(&why);
	return rc;
}

int ledger_open(struct ledger *l, const char *dir, struct buf *err)
{
	char *path = ledger_path(dir);
	int rc;

	l->dir = xstrdup(dir);
	l->st = xcalloc(1, sizeof(*l->st));
	l->on_disk = path_exists(path);
	rc = l->on_disk ? connect_file(&l->db, path, err) : connect(&l->db, ":memory:", err);
	if (rc == 0 && !l->on_disk)
		rc = import_manifest(l->db, dir, err);
	free(path);
	return rc;
}

int ledger_create(struct ledger *l, struct buf *err)
{
	char *folder, *path;
	sqlite3 *disk = NULL;
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (l->on_disk)
		return 0;
	folder = xasprintf("%s/" LEDGER_DIR, l->dir);
	path = ledger_path(l->dir);
	if (mkdir(folder, 0777) && errno != EEXIST) {
		buf_addf(err, "the job ledger: cannot make '%s': %s", folder, strerror(errno));
		goto cleanup;
	}
	/* Another run may have made it meanwhile: its records stay, the
	 * import adds only what it lacks. */
	if (connect_file(&disk, path, err) || exec(disk, "BEGIN IMMEDIATE", err))
		goto cleanup;
	if (sqlite3_prepare_v2(disk, "SELECT 1 FROM meta WHERE name = 'imported'", -1, &st,
			       NULL) != SQLITE_OK) {
		fail(err, disk, path);
		goto rollback;
	}
	bool imported = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	if (exec(disk, "COMMIT", err) || (!imported && import_manifest(disk, l->dir, err)))
		goto cleanup;
	finalize_statements(l);
	sqlite3_close(l->db);
	l->db = disk;
	disk = NULL;
	l->on_disk = true;
	rc = 0;
	goto cleanup;
rollback:
	rollback(disk);
cleanup:
	sqlite3_close(disk);
	free(folder);
	free(path);
	return rc;
}

json_t *ledger_get(const struct ledger *l, const char *key)
{
	sqlite3_stmt *st = statement(l, l->st ? &l->st->get : NULL,
				     "SELECT entry FROM jobs WHERE key = ?1");
	json_t *entry = NULL;

	if (!st)
		return NULL;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		entry = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
	sqlite3_reset(st);
	if (entry && !json_is_object(entry)) {
		json_decref(entry);
		entry = NULL;
	}
	return entry;
}

int ledger_put_rows(struct ledger *l, const struct ledger_row *rows, size_t n,
		    struct buf *err)
{
	int rc = begin(l, err);

	if (rc == 0) {
		for (size_t i = 0; rc == 0 && i < n; i++)
			rc = put_row(l->db, rows[i].key, rows[i].state, rows[i].entry, err);
		rc = end(l, rc, err);
	}
	for (size_t i = 0; i < n; i++)
		json_decref(rows[i].entry);
	return rc;
}

int ledger_put(struct ledger *l, const char *key, const char *state, json_t *entry,
	       struct buf *err)
{
	struct ledger_row row = { key, state, entry };

	return ledger_put_rows(l, &row, 1, err);
}

int ledger_reserve(struct ledger *l, size_t n, const char *const *keys,
		   const char *const *names, const enum ledger_name *kind, struct buf *err)
{
	static const char *const sql[] = {
		"INSERT OR REPLACE INTO files VALUES (?1, ?2)",
		"INSERT OR REPLACE INTO images (name, job) VALUES (?1, ?2)",
		"DELETE FROM files WHERE name = ?1 AND job = ?2",
		"DELETE FROM images WHERE name = ?1 AND job = ?2",
	};
	sqlite3_stmt *st[ARRAY_SIZE(sql)] = { NULL };
	int rc = -1;

	if (begin(l, err))
		return -1;
	for (size_t q = 0; q < ARRAY_SIZE(sql); q++)
		if (sqlite3_prepare_v2(l->db, sql[q], -1, &st[q], NULL) != SQLITE_OK)
			goto sql;
	for (size_t i = 0; i < n; i++) {
		/* A file: the first; an image: both; a name given back: the last two. */
		size_t from = kind[i] == LEDGER_GIVE_BACK ? 2 : 0;
		size_t to = kind[i] == LEDGER_FILE ? 1 : kind[i] == LEDGER_IMAGE ? 2 : 4;
		for (size_t q = from; q < to; q++) {
			sqlite3_reset(st[q]);
			sqlite3_bind_text(st[q], 1, names[i], -1, SQLITE_STATIC);
			sqlite3_bind_text(st[q], 2, keys[i], -1, SQLITE_STATIC);
			if (sqlite3_step(st[q]) != SQLITE_DONE)
				goto sql;
		}
	}
	rc = 0;
	goto done;
sql:
	fail(err, l->db, "cannot reserve the jobs' file names");
done:
	for (size_t q = 0; q < ARRAY_SIZE(sql); q++)
		sqlite3_finalize(st[q]);
	return end(l, rc, err);
}

int ledger_mark_image(struct ledger *l, const char *key, const char *name,
		      unsigned long long inode, long long size, struct buf *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (begin(l, err))
		return -1;
	if (sqlite3_prepare_v2(l->db, "UPDATE images SET inode = ?3, size = ?4 WHERE name = ?1 "
			       "AND job = ?2", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)inode);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)size);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	}
	if (rc)
		fail(err, l->db, "cannot note which file an image is");
	sqlite3_finalize(st);
	return end(l, rc, err);
}

int ledger_move_image(struct ledger *l, const char *key, const char *from, const char *to,
		      struct buf *err)
{
	static const char *const sql[] = {
		"DELETE FROM images WHERE name = ?1 AND job = ?3",
		"DELETE FROM files WHERE name = ?1 AND job = ?3",
		"INSERT OR REPLACE INTO images (name, job) VALUES (?2, ?3)",
		"INSERT OR REPLACE INTO files VALUES (?2, ?3)",
	};
	char *owner = ledger_owner(l, to);
	bool taken = owner && strcmp(owner, key);

	free(owner);
	/* A name free on disk may still be another job's, not yet written. */
	if (taken) {
		buf_addf(err, "the job ledger: '%s' is reserved for another job", to);
		return -1;
	}
	if (begin(l, err))
		return -1;
	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		sqlite3_stmt *st = NULL;
		int ok = sqlite3_prepare_v2(l->db, sql[i], -1, &st, NULL) == SQLITE_OK;
		if (ok) {
			sqlite3_bind_text(st, 1, from, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, to, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
			ok = sqlite3_step(st) == SQLITE_DONE;
		}
		sqlite3_finalize(st);
		if (!ok)
			return end(l, fail(err, l->db, "cannot reserve an image's new name"), err);
	}
	return end(l, 0, err);
}

json_t *ledger_reserved_images(const struct ledger *l, const char *key)
{
	json_t *names = json_array();
	sqlite3_stmt *st;

	/* A ledger not yet on disk reserves nothing. */
	if (!l->on_disk)
		return names;
	st = statement(l, l->st ? &l->st->images : NULL,
		       "SELECT name, inode, size FROM images WHERE job = ?1 ORDER BY name");
	if (!st)
		return names;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *o = json_pack("{s:s}", "name", (const char *)sqlite3_column_text(st, 0));
		if (sqlite3_column_type(st, 1) == SQLITE_INTEGER) {
			json_object_set_new(o, "inode", json_integer(sqlite3_column_int64(st, 1)));
			json_object_set_new(o, "size", json_integer(sqlite3_column_int64(st, 2)));
		}
		json_array_append_new(names, o);
	}
	sqlite3_reset(st);
	return names;
}

/* A process's start time, field 22 of /proc/PID/stat; 0 when unknown. */
static unsigned long long start_time(long pid)
{
	char path[64], text[1024];
	unsigned long long start = 0;
	FILE *f;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[len] = '\0';
	/* The name, field 2, is in parentheses and may hold anything: count
	 * from the last ')'. */
	char *p = strrchr(text, ')');
	for (int field = 2; p && field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (p && field == 21)
			start = strtoull(p + 1, NULL, 10);
	}
	return start;
}

bool ledger_process_alive(long pid, unsigned long long start)
{
	unsigned long long now = pid > 0 ? start_time(pid) : 0;

	return now != 0 && now == start;
}

/* Records entry as the job of key's, in state pending, unless the job has
 * an entry already (an earlier run's, failed or interrupted: kept). */
static int put_pending(sqlite3_stmt *st, const char *key, json_t *entry)
{
	char *text = json_dumps(entry, JSON_COMPACT | JSON_PRESERVE_ORDER);
	int rc = -1;

	if (text) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
		sqlite3_clear_bindings(st);
	}
	free(text);
	return rc;
}

/* This machine's name, for claims: "" when it has none. */
static void this_host(char host[LEDGER_HOST_MAX])
{
	if (gethostname(host, LEDGER_HOST_MAX))
		host[0] = '\0';
	host[LEDGER_HOST_MAX - 1] = '\0';
}

/* Does the claim in the row (pid, started, host, lease at columns from on)
 * hold, for a process of this host other than the one that made it? On
 * its own host (or one of an earlier version's, host '') the process is
 * looked at: the claim holds while it lives, lease or not. A pid of
 * another host cannot be looked at: the claim holds until its lease
 * passes (a live run renews it). */
static bool claim_holds(sqlite3_stmt *st, int from, const char *host, time_t now)
{
	long pid = (long)sqlite3_column_int64(st, from);
	unsigned long long when = (unsigned long long)sqlite3_column_int64(st, from + 1);
	const char *theirs = (const char *)sqlite3_column_text(st, from + 2);

	if (!theirs || !*theirs || !strcmp(theirs, host))
		return ledger_process_alive(pid, when);
	return sqlite3_column_int64(st, from + 3) > (sqlite3_int64)now;
}

int ledger_claim(struct ledger *l, size_t n, const char *const *keys, json_t *const *pending,
		 const char *dir, bool redo, enum ledger_claim *out,
		 struct ledger_holder *other, struct buf *err)
{
	long me = (long)getpid();
	unsigned long long started = start_time(me);
	sqlite3_stmt *who = NULL, *claim = NULL, *plan = NULL;
	char host[LEDGER_HOST_MAX];
	time_t now = time(NULL);
	int rc = -1;

	this_host(host);
	*other = (struct ledger_holder){ 0, "" };
	if (begin(l, err))
		return -1;
	if (sqlite3_prepare_v2(l->db, "SELECT pid, started, host, lease FROM claims WHERE key = ?1",
			       -1, &who, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(l->db, "INSERT OR REPLACE INTO claims (key, pid, started, claimed, "
			       "host, lease) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", -1, &claim,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(l->db, "INSERT OR IGNORE INTO jobs VALUES (?1, 'pending', ?2, ?3)",
			       -1, &plan, NULL) != SQLITE_OK)
		goto sql;
	for (size_t i = 0; i < n; i++) {
		/* Finished by a run that claimed it after this one planned? */
		json_t *entry = ledger_get(l, keys[i]);
		const char *hash = json_string_value(json_object_get(entry, "hash"));
		bool paid = !redo && hash && ledger_entry_paid(entry, hash, dir);

		json_decref(entry);
		out[i] = LEDGER_CLAIMED;
		if (paid) {
			out[i] = LEDGER_PAID;
			continue;
		}
		sqlite3_reset(who);
		sqlite3_bind_text(who, 1, keys[i], -1, SQLITE_STATIC);
		if (sqlite3_step(who) == SQLITE_ROW) {
			long pid = (long)sqlite3_column_int64(who, 0);
			const char *theirs = (const char *)sqlite3_column_text(who, 2);
			bool mine = pid == me &&
				    (unsigned long long)sqlite3_column_int64(who, 1) == started &&
				    (!theirs || !*theirs || !strcmp(theirs, host));
			if (!mine && claim_holds(who, 0, host, now)) {
				out[i] = LEDGER_ELSEWHERE;
				other->pid = pid;
				snprintf(other->host, sizeof(other->host), "%s",
					 theirs && strcmp(theirs, host) ? theirs : "");
				continue;
			}
		}
		sqlite3_reset(claim);
		sqlite3_bind_text(claim, 1, keys[i], -1, SQLITE_STATIC);
		sqlite3_bind_int64(claim, 2, me);
		sqlite3_bind_int64(claim, 3, (sqlite3_int64)started);
		sqlite3_bind_int64(claim, 4, (sqlite3_int64)now);
		sqlite3_bind_text(claim, 5, host, -1, SQLITE_STATIC);
		sqlite3_bind_int64(claim, 6, (sqlite3_int64)now + LEDGER_LEASE_S);
		if (sqlite3_step(claim) != SQLITE_DONE ||
		    (pending && pending[i] && put_pending(plan, keys[i], pending[i])))
			goto sql;
	}
	rc = 0;
	goto done;
sql:
	fail(err, l->db, "cannot claim the jobs");
done:
	sqlite3_finalize(who);
	sqlite3_finalize(claim);
	sqlite3_finalize(plan);
	return end(l, rc, err);
}

/* Runs sql, a statement about this process's claims (?1 pid, ?2 start
 * time, ?3 host, ?4 a new lease's end), as one step. 0 or -1. */
static int own_claims(struct ledger *l, const char *sql, struct buf *err)
{
	sqlite3_stmt *st = NULL;
	char host[LEDGER_HOST_MAX];
	int rc;

	if (!l->db || !l->on_disk)
		return 0;
	if (begin(l, err))
		return -1;
	this_host(host);
	rc = sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) == SQLITE_OK ? 0 : -1;
	if (rc == 0) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)getpid());
		sqlite3_bind_int64(st, 2, (sqlite3_int64)start_time((long)getpid()));
		sqlite3_bind_text(st, 3, host, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL) + LEDGER_LEASE_S);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	}
	if (rc)
		fail(err, l->db, "cannot update this run's claims");
	sqlite3_finalize(st);
	return end(l, rc, err);
}

int ledger_renew_claims(struct ledger *l, struct buf *err)
{
	return own_claims(l, "UPDATE claims SET lease = ?4 WHERE pid = ?1 AND started = ?2 AND "
			  "host IN (?3, '')", err);
}

void ledger_unclaim(struct ledger *l)
{
	struct buf err = BUF_INIT;

	own_claims(l, "DELETE FROM claims WHERE pid = ?1 AND started = ?2 AND host IN (?3, '')",
		   &err);
	buf_release(&err);
}

char *ledger_owner(const struct ledger *l, const char *name)
{
	sqlite3_stmt *st = statement(l, l->st ? &l->st->owner : NULL,
				     "SELECT job FROM files WHERE name = ?1");
	char *key = NULL;

	if (!st)
		return NULL;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		key = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	return key;
}

bool ledger_owned_by(const struct ledger *l, const char *name, const char *key)
{
	char *owner = ledger_owner(l, name);
	bool mine = owner && !strcmp(owner, key);

	free(owner);
	return mine;
}

json_t *ledger_live_claims(const struct ledger *l)
{
	json_t *all = json_array();
	sqlite3_stmt *st = NULL;

	char host[LEDGER_HOST_MAX];
	time_t now = time(NULL);

	this_host(host);
	if (!l->db || sqlite3_prepare_v2(l->db, "SELECT key, pid, started, host, lease FROM claims",
					 -1, &st, NULL) != SQLITE_OK)
		return all;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *theirs = (const char *)sqlite3_column_text(st, 3);
		json_t *c;
		if (!claim_holds(st, 1, host, now))
			continue;
		c = json_pack("{s:s,s:I}", "key", (const char *)sqlite3_column_text(st, 0), "pid",
			      (json_int_t)sqlite3_column_int64(st, 1));
		if (theirs && *theirs && strcmp(theirs, host))
			json_object_set_new(c, "host", json_string(theirs));
		json_array_append_new(all, c);
	}
	sqlite3_finalize(st);
	return all;
}

json_t *ledger_entries(const struct ledger *l)
{
	json_t *all = json_array();
	sqlite3_stmt *st = NULL;

	if (!l->db || sqlite3_prepare_v2(l->db, "SELECT jobs.key, state, entry, by FROM jobs "
					 "LEFT JOIN superseded USING (key)", -1, &st,
					 NULL) != SQLITE_OK)
		return all;
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *e = json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL);
		if (json_is_object(e)) {
			json_object_set_new(e, "key", json_string((const char *)
								  sqlite3_column_text(st, 0)));
			json_object_set_new(e, "state", json_string((const char *)
								    sqlite3_column_text(st, 1)));
			if (sqlite3_column_type(st, 3) == SQLITE_TEXT)
				json_object_set_new(e, "superseded_by", json_string((const char *)
						    sqlite3_column_text(st, 3)));
			json_array_append(all, e);
		}
		json_decref(e);
	}
	sqlite3_finalize(st);
	return all;
}

int ledger_rekey(struct ledger *l, size_t n, const char *const *from, const char *const *to,
		 struct buf *err)
{
	static const char *const sql[] = {
		"UPDATE jobs SET key = ?2 WHERE key = ?1",
		"UPDATE files SET job = ?2 WHERE job = ?1",
		"UPDATE images SET job = ?2 WHERE job = ?1",
		"UPDATE claims SET key = ?2 WHERE key = ?1",
		"UPDATE superseded SET key = ?2 WHERE key = ?1",
		"UPDATE superseded SET by = ?2 WHERE by = ?1",
	};
	sqlite3_stmt *st[ARRAY_SIZE(sql)] = { NULL };
	int rc = -1;

	if (!n)
		return 0;
	if (begin(l, err))
		return -1;
	for (size_t q = 0; q < ARRAY_SIZE(sql); q++)
		if (sqlite3_prepare_v2(l->db, sql[q], -1, &st[q], NULL) != SQLITE_OK)
			goto sql;
	for (size_t i = 0; i < n; i++)
		for (size_t q = 0; q < ARRAY_SIZE(sql); q++) {
			sqlite3_reset(st[q]);
			sqlite3_bind_text(st[q], 1, from[i], -1, SQLITE_STATIC);
			sqlite3_bind_text(st[q], 2, to[i], -1, SQLITE_STATIC);
			if (sqlite3_step(st[q]) != SQLITE_DONE)
				goto sql;
		}
	rc = 0;
	goto done;
sql:
	fail(err, l->db, "cannot rekey the jobs");
done:
	for (size_t q = 0; q < ARRAY_SIZE(sql); q++)
		sqlite3_finalize(st[q]);
	return end(l, rc, err);
}

int ledger_supersede(struct ledger *l, size_t n, const char *const *keys,
		     const char *const *by, struct buf *err)
{
	sqlite3_stmt *mark = NULL, *back = NULL;
	int rc = -1;

	if (!n)
		return 0;
	if (begin(l, err))
		return -1;
	if (sqlite3_prepare_v2(l->db, "INSERT OR REPLACE INTO superseded VALUES (?1, ?2, ?3)",
			       -1, &mark, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(l->db, "DELETE FROM superseded WHERE key = ?1", -1, &back,
			       NULL) != SQLITE_OK)
		goto sql;
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *st = by[i] ? mark : back;
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, keys[i], -1, SQLITE_STATIC);
		if (by[i]) {
			sqlite3_bind_text(st, 2, by[i], -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
		}
		if (sqlite3_step(st) != SQLITE_DONE)
			goto sql;
	}
	rc = 0;
	goto done;
sql:
	fail(err, l->db, "cannot record the superseded jobs");
done:
	sqlite3_finalize(mark);
	sqlite3_finalize(back);
	return end(l, rc, err);
}

int ledger_remote_put(struct ledger *l, const char *part, const char *state, json_t *record,
		      struct buf *err)
{
	char *text = json_dumps(record, JSON_COMPACT | JSON_SORT_KEYS);
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (begin(l, err)) {
		free(text);
		return -1;
	}
	if (!text || sqlite3_prepare_v2(l->db, "INSERT OR REPLACE INTO remote VALUES "
					"(?1, ?2, ?3, ?4)", -1, &st, NULL) != SQLITE_OK) {
		fail(err, l->db, "cannot record the Batch API batch");
		goto cleanup;
	}
	sqlite3_bind_text(st, 1, part, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL));
	if (sqlite3_step(st) != SQLITE_DONE)
		fail(err, l->db, "cannot record the Batch API batch");
	else
		rc = 0;
cleanup:
	sqlite3_finalize(st);
	free(text);
	return end(l, rc, err);
}

json_t *ledger_remote_parts(const struct ledger *l, bool open_only)
{
	json_t *all = json_array();
	sqlite3_stmt *st = NULL;
	const char *sql = open_only ? "SELECT part, state, record FROM remote WHERE state != "
				      "'closed' ORDER BY rowid" :
				      "SELECT part, state, record FROM remote ORDER BY rowid";

	if (!l->db || sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK)
		return all;
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *r = json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL);
		if (json_is_object(r)) {
			json_object_set_new(r, "part", json_string((const char *)
								   sqlite3_column_text(st, 0)));
			json_object_set_new(r, "state", json_string((const char *)
								    sqlite3_column_text(st, 1)));
			json_array_append(all, r);
		}
		json_decref(r);
	}
	sqlite3_finalize(st);
	return all;
}

void ledger_release(struct ledger *l)
{
	finalize_statements(l);
	FREE_AND_NULL(l->st);
	sqlite3_close(l->db);
	l->db = NULL;
	FREE_AND_NULL(l->dir);
	l->on_disk = false;
}

static uint64_t fnv1a(uint64_t h, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

#define FNV_OFFSET 14695981039346656037ULL

char *ledger_hash(const char *endpoint, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
	uint64_t h = fnv1a(FNV_OFFSET, endpoint, strlen(endpoint));

	h = fnv1a(h, "\n", 1);
	if (text)
		h = fnv1a(h, text, strlen(text));
	free(text);
	return xasprintf("%016llx", (unsigned long long)h);
}

char *ledger_key(const char *hash, size_t occurrence)
{
	return xasprintf("%s-%zu", hash, occurrence);
}

char *ledger_legacy_key(const char *hash, const char *id, const char *out, size_t occurrence)
{
	/* The names are hashed with their lengths, so no two pairs collide by
	 * concatenation. */
	uint64_t h = FNV_OFFSET;
	char lens[48];

	snprintf(lens, sizeof(lens), "%zu:%zu:", id ? strlen(id) + 1 : 0,
		 out ? strlen(out) + 1 : 0);
	h = fnv1a(h, lens, strlen(lens));
	if (id)
		h = fnv1a(h, id, strlen(id));
	if (out)
		h = fnv1a(h, out, strlen(out));
	return xasprintf("%s-%016llx-%zu", hash, (unsigned long long)h, occurrence);
}

json_t *ledger_imported(const struct ledger *l)
{
	json_t *all = json_array();
	sqlite3_stmt *st = NULL;

	if (!l->db || sqlite3_prepare_v2(l->db, "SELECT key, entry FROM jobs WHERE key LIKE "
					 "'import:%' ORDER BY key", -1, &st, NULL) != SQLITE_OK)
		return all;
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *e = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
		if (json_is_object(e)) {
			json_object_set_new(e, "key", json_string((const char *)
								  sqlite3_column_text(st, 0)));
			json_array_append(all, e);
		}
		json_decref(e);
	}
	sqlite3_finalize(st);
	return all;
}

static bool string_is(json_t *v, const char *want)
{
	return json_is_string(v) && !strcmp(json_string_value(v), want);
}

bool ledger_entry_owns(json_t *entry, const char *name)
{
	json_t *files = json_object_get(entry, "files");
	size_t i;
	json_t *f;

	json_array_foreach(files, i, f)
		if (json_is_string(f) && !strcmp(json_string_value(f), name))
			return true;
	return false;
}

bool ledger_entry_paid(json_t *entry, const char *hash, const char *dir)
{
	json_t *files = json_object_get(entry, "files");
	size_t i;
	json_t *f;

	/* Whatever its state: "saving" (the images were being renamed when the
	 * run stopped; those present are whole, renames are atomic), or failed
	 * or interrupted after an image was saved (a stream that broke protocol
	 * after it, the second of two images not written): its files are only
	 * the images it saved. */
	if (!string_is(json_object_get(entry, "hash"), hash))
		return false;
	/* An entry naming anything but plain names inside the folder is not
	 * the tool's: it is not trusted at all. */
	json_array_foreach(files, i, f)
		if (!json_is_string(f) || !jobfile_safe_name(json_string_value(f)))
			return false;
	json_array_foreach(files, i, f) {
		char *path = xasprintf("%s/%s", dir, json_string_value(f));
		bool there = path_exists(path);

		free(path);
		if (there)
			return true;
	}
	return false;
}
