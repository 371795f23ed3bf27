#include "history.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"

#define HISTORY_BUSY_MS 5000
#define HISTORY_LOOP_BUSY_MS 200

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS spend ("
	"  id INTEGER PRIMARY KEY,"
	"  time INTEGER NOT NULL,"      /* Unix seconds */
	"  command TEXT, provider TEXT, base_url TEXT,"
	"  model TEXT, quality TEXT, size TEXT, images INTEGER NOT NULL,"
	"  input_tokens INTEGER, output_tokens INTEGER, total_tokens INTEGER,"
	"  usd REAL,"                   /* NULL: unknown */
	"  basis TEXT, estimate_usd REAL, batch_api INTEGER NOT NULL,"
	"  request_id TEXT, folder TEXT, files TEXT);"   /* files: a JSON list */
	"CREATE INDEX IF NOT EXISTS spend_by_time ON spend (time);"
	"CREATE INDEX IF NOT EXISTS spend_by_kind ON spend (model, quality, size);"
	"PRAGMA user_version = 1;";

char *history_path(const char *(*env)(const char *name))
{
	const char *state = env("XDG_STATE_HOME"), *home;

	/* A relative XDG_STATE_HOME is ignored, as the XDG spec says. */
	if (state && *state == '/')
		return xasprintf("%s/imagegen/history.db", state);
	home = home_dir(env);
	return home ? xasprintf("%s/.local/state/imagegen/history.db", home) : NULL;
}

static int user_version(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

int history_open(struct history *h, const char *path, const char *command, struct buf *err)
{
	char *dir = path_dirname(path);
	int rc;

	memset(h, 0, sizeof(*h));
	h->path = xstrdup(path);
	h->command = xstrdup(command);
	h->held = json_array();
	h->record = true;
	if (mkdir_p(dir)) {
		buf_addf(err, "the spend history: cannot make '%s'", dir);
		free(dir);
		return -1;
	}
	free(dir);
	/* NORMAL: a power cut may lose the last rows, never the file. The
	 * schema is written once, when the file is new (user_version 0), so an
	 * open never waits for another run's write. */
	rc = db_connect(&h->db, path, HISTORY_BUSY_MS, "NORMAL", "", "the spend history", err);
	if (rc == 0 && user_version(h->db) == 0 &&
	    sqlite3_exec(h->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
		buf_addf(err, "the spend history %s: %s", path, sqlite3_errmsg(h->db));
		sqlite3_close(h->db);
		h->db = NULL;
		rc = -1;
	}
	/* On the transfer loop, a write waits a moment for another run's, and
	 * its rows wait for the next try; only the last one waits longer. */
	if (rc == 0)
		sqlite3_busy_timeout(h->db, HISTORY_LOOP_BUSY_MS);
	return rc;
}

int history_open_existing(struct history *h, const char *path, struct buf *err)
{
	memset(h, 0, sizeof(*h));
	h->held = json_array();
	if (!path_exists(path))
		return 1;
	h->path = xstrdup(path);
	return db_open_readonly(&h->db, path, HISTORY_BUSY_MS, "the spend history", err);
}

/* The absolute folder of a job's first saved file, or NULL. */
static char *folder_of(const struct job *job)
{
	for (size_t i = 0; job->saved && i < job->names.n; i++) {
		if (!job->saved[i])
			continue;
		char *dir = path_dirname(job->saved[i]);
		char *real = realpath(dir, NULL);
		free(dir);
		return real;
	}
	return NULL;
}

/* Names are the user's bytes, UTF-8 or not: kept as they are. */
static json_t *string_or_null(const char *s)
{
	return s ? json_string_nocheck(s) : json_null();
}

void history_add(struct history *h, const struct job *job)
{
	const struct api_config *api = job->env->api;
	json_t *files, *row;
	char *folder;

	if (!h->db || !h->record)
		return;
	files = json_array();
	folder = folder_of(job);
	for (size_t i = 0; job->saved && i < job->names.n; i++)
		if (job->saved[i])
			json_array_append_new(files, string_or_null(path_basename(job->saved[i])));
	row = json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:I,s:I,s:I,s:I,s:o,s:s,s:o,s:b,s:o,s:o,s:o}",
			"time", (json_int_t)time(NULL),
			"provider", string_or_null(api ? api->provider->name : NULL),
			"base_url", string_or_null(api ? api->shown_url : NULL),
			"model", string_or_null(job->params.model),
			/* As asked: what an estimate of the same request looks up. */
			"quality", string_or_null(job->params.quality),
			"size", string_or_null(job->params.size),
			"images", (json_int_t)job->names.n,
			"input_tokens", (json_int_t)job->usage.input,
			"output_tokens", (json_int_t)job->usage.output,
			"total_tokens", (json_int_t)job->usage.total,
			"usd", job->cost.basis == COST_UNKNOWN ? json_null() : json_real(job->cost.usd),
			"basis", price_basis_name(job->cost.basis),
			"estimate_usd", job->estimate.basis == COST_UNKNOWN ? json_null()
									  : json_real(job->estimate.usd),
			"batch_api", job->env->batch_api,
			"request_id", string_or_null(job->call.xfer.resp.request_id),
			"folder", string_or_null(folder),
			"files", files);
	free(folder);
	if (!row)
		return;
	if (!json_array_size(h->held))
		h->held_since = now_ms();
	json_array_append_new(h->held, row);
	if (json_array_size(h->held) >= HISTORY_GROUP ||
	    now_ms() - h->held_since >= HISTORY_HOLD_MS)
		history_flush(h);
}

static void bind_json(sqlite3_stmt *st, int i, json_t *v)
{
	if (json_is_string(v))
		sqlite3_bind_text(st, i, json_string_value(v), -1, SQLITE_TRANSIENT);
	else if (json_is_integer(v))
		sqlite3_bind_int64(st, i, json_integer_value(v));
	else if (json_is_real(v))
		sqlite3_bind_double(st, i, json_real_value(v));
	else if (json_is_boolean(v))
		sqlite3_bind_int(st, i, json_is_true(v));
	else if (json_is_array(v)) {
		char *text = json_dumps(v, JSON_COMPACT);
		sqlite3_bind_text(st, i, text, -1, free);
	} else
		sqlite3_bind_null(st, i);
}

static const char *const columns[] = {
	"time", "command", "provider", "base_url", "model", "quality", "size", "images",
	"input_tokens", "output_tokens", "total_tokens", "usd", "basis", "estimate_usd",
	"batch_api", "request_id", "folder", "files",
};

int history_flush(struct history *h)
{
	static const char sql[] =
		"INSERT INTO spend (time, command, provider, base_url, model, quality, size, "
		"images, input_tokens, output_tokens, total_tokens, usd, basis, estimate_usd, "
		"batch_api, request_id, folder, files) VALUES "
		"(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)";
	sqlite3_stmt *st = NULL;
	size_t i;
	json_t *row;
	int rc = -1;

	if (!h->db || !h->record || !json_array_size(h->held))
		return 0;
	if (sqlite3_exec(h->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(h->db, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	json_array_foreach(h->held, i, row) {
		sqlite3_reset(st);
		for (size_t c = 0; c < ARRAY_SIZE(columns); c++) {
			json_t *v = !strcmp(columns[c], "command") ? NULL
				    : json_object_get(row, columns[c]);
			if (!strcmp(columns[c], "command"))
				sqlite3_bind_text(st, (int)c + 1, h->command, -1, SQLITE_STATIC);
			else
				bind_json(st, (int)c + 1, v);
		}
		if (sqlite3_step(st) != SQLITE_DONE)
			goto out;
	}
	rc = sqlite3_exec(h->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
out:
	if (rc) {
		buf_reset(&h->error);
		buf_addf(&h->error, "the spend history %s: %s", h->path, sqlite3_errmsg(h->db));
	}
	if (rc && !sqlite3_get_autocommit(h->db))
		sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_finalize(st);
	/* Rows that could not be written are tried again with the next ones. */
	if (rc == 0) {
		json_array_clear(h->held);
		buf_reset(&h->error);
	}
	return rc;
}

void history_release(struct history *h)
{
	if (h->db)
		sqlite3_busy_timeout(h->db, HISTORY_BUSY_MS);
	history_flush(h);
	if (h->db)
		sqlite3_close(h->db);
	json_decref(h->held);
	free(h->path);
	free(h->command);
	free(h->folder);
	free(h->seen_key);
	buf_release(&h->error);
	memset(h, 0, sizeof(*h));
}

struct cost_history history_tokens(struct history *h, const char *model, const char *quality,
				   const char *size)
{
	static const char sql[] =
		"SELECT total(output_tokens), total(images) FROM spend WHERE model = ?1 AND "
		"quality IS ?2 AND size IS ?3 AND output_tokens > 0 AND images > 0";
	struct cost_history out = { 0, 0 };
	char *key = xasprintf("%s|%s|%s", model ? model : "", quality ? quality : "",
			      size ? size : "");
	sqlite3_stmt *st = NULL;

	if (!h || !h->db) {
		free(key);
		return out;
	}
	if (h->seen_key && !strcmp(h->seen_key, key)) {
		free(key);
		return h->seen;
	}
	history_flush(h);
	if (sqlite3_prepare_v2(h->db, sql, -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, model ? model : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, quality, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, size, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			double tokens = sqlite3_column_double(st, 0);
			double images = sqlite3_column_double(st, 1);
			if (images > 0) {
				out.images = (long)images;
				out.tokens = (long)(tokens / images + 0.5);
			}
		}
	}
	sqlite3_finalize(st);
	free(h->seen_key);
	h->seen_key = key;
	h->seen = out;
	return out;
}

json_t *history_report(struct history *h, const char *by, long long since, struct buf *err)
{
	const char *key = !strcmp(by, "day") ? "date(time, 'unixepoch')" :
			  !strcmp(by, "model") ? "coalesce(model, '?')" :
			  !strcmp(by, "folder") ? "coalesce(folder, '(not saved)')" : NULL;
	json_t *rows = json_array(), *total;
	long long requests = 0, images = 0, tokens = 0, unpriced = 0;
	double usd = 0;
	sqlite3_stmt *st = NULL;
	char *sql;

	if (!key) {
		buf_addf(err, "--by: '%s' is not day, model or folder", by);
		json_decref(rows);
		return NULL;
	}
	sql = xasprintf("SELECT %s AS k, count(*), total(images), total(total_tokens), "
			"total(usd), total(usd IS NULL) FROM spend WHERE time >= ?1 "
			"GROUP BY k ORDER BY k", key);
	if (h->db && sqlite3_prepare_v2(h->db, sql, -1, &st, NULL) != SQLITE_OK) {
		buf_addf(err, "the spend history %s: %s", h->path, sqlite3_errmsg(h->db));
		free(sql);
		json_decref(rows);
		return NULL;
	}
	free(sql);
	if (st)
		sqlite3_bind_int64(st, 1, since);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		/* A folder's name is the user's bytes: made valid UTF-8 to show. */
		char *name = utf8_scrub((const char *)sqlite3_column_text(st, 0));
		json_t *row = json_pack("{s:s?,s:I,s:I,s:I,s:f,s:I}", "key", name,
					"requests", (json_int_t)sqlite3_column_int64(st, 1),
					"images", (json_int_t)sqlite3_column_double(st, 2),
					"tokens", (json_int_t)sqlite3_column_double(st, 3),
					"usd", sqlite3_column_double(st, 4),
					"unpriced", (json_int_t)sqlite3_column_double(st, 5));
		free(name);
		requests += sqlite3_column_int64(st, 1);
		images += (long long)sqlite3_column_double(st, 2);
		tokens += (long long)sqlite3_column_double(st, 3);
		usd += sqlite3_column_double(st, 4);
		unpriced += (long long)sqlite3_column_double(st, 5);
		json_array_append_new(rows, row);
	}
	sqlite3_finalize(st);
	total = json_pack("{s:I,s:I,s:I,s:f,s:I}", "requests", (json_int_t)requests, "images",
			  (json_int_t)images, "tokens", (json_int_t)tokens, "usd", usd, "unpriced",
			  (json_int_t)unpriced);
	return json_pack("{s:o,s:o}", "rows", rows, "total", total);
}
