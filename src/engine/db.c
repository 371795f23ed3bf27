#include "db.h"

#include <stdio.h>

static int fail(struct buf *err, sqlite3 *db, const char *what, const char *step)
{
	buf_addf(err, "%s: %s: %s", what, step, db ? sqlite3_errmsg(db) : "out of memory");
	return -1;
}

/* Turns on WAL. Switching a new file's journal mode needs the file to
 * itself, and SQLite answers "locked" at once rather than calling the busy
 * handler while another run has it open (two runs starting at once on a
 * new file), so this waits as the busy handler would. */
static int use_wal(sqlite3 *db, int busy_ms, const char *synchronous)
{
	char sql[96];
	int waited = 0, rc;

	snprintf(sql, sizeof(sql), "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s;",
		 synchronous);
	while ((rc = sqlite3_exec(db, sql, NULL, NULL, NULL)) != SQLITE_OK &&
	       (rc & 0xff) == SQLITE_BUSY && waited < busy_ms)
		waited += sqlite3_sleep(10);
	return rc == SQLITE_OK ? 0 : -1;
}

int db_connect(sqlite3 **db, const char *path, int busy_ms, const char *synchronous,
	       const char *schema, const char *what, struct buf *err)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	char *why = NULL;

	if (sqlite3_open_v2(path, db, flags, NULL) != SQLITE_OK) {
		fail(err, *db, what, path);
		goto fail;
	}
	sqlite3_busy_timeout(*db, busy_ms);
	sqlite3_extended_result_codes(*db, 1);
	if (use_wal(*db, busy_ms, synchronous)) {
		fail(err, *db, what, "cannot use it");
		goto fail;
	}
	if (sqlite3_exec(*db, schema, NULL, NULL, &why) != SQLITE_OK) {
		buf_addf(err, "%s: %s", what, why ? why : sqlite3_errmsg(*db));
		sqlite3_free(why);
		goto fail;
	}
	return 0;
fail:
	sqlite3_close(*db);
	*db = NULL;
	return -1;
}

int db_open_readonly(sqlite3 **db, const char *path, int busy_ms, const char *what,
		     struct buf *err)
{
	if (sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		fail(err, *db, what, path);
		sqlite3_close(*db);
		*db = NULL;
		return -1;
	}
	sqlite3_busy_timeout(*db, busy_ms);
	sqlite3_extended_result_codes(*db, 1);
	return 0;
}
