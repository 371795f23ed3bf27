/* The one way imagegen opens its SQLite files (the job ledger, the spend
 * history): WAL, a busy timeout, the schema in place. */
#ifndef IMAGEGEN_DB_H
#define IMAGEGEN_DB_H

#include <sqlite3.h>

#include "util.h"

/* Opens path (or ":memory:"), created if need be, in WAL mode (waiting out
 * another process that is switching it at the same moment) with
 * synchronous ("FULL", "NORMAL"), a busy timeout of busy_ms and schema run.
 * what names the file in messages ("the job ledger"). 0, or -1 with a
 * message in err and *db NULL. */
int db_connect(sqlite3 **db, const char *path, int busy_ms, const char *synchronous,
	       const char *schema, const char *what, struct buf *err);

/* Opens an existing path to read only: nothing is written to it, not even
 * its journal mode. 0, or -1 with a message in err and *db NULL. */
int db_open_readonly(sqlite3 **db, const char *path, int busy_ms, const char *what,
		     struct buf *err);

#endif
