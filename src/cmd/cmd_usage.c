/* imagegen usage: what the spend history says was paid, grouped by day,
 * model or folder (nothing is sent and nothing is written). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "history.h"
#include "msg.h"
#include "value.h"

static const char usage[] = "imagegen usage [--since DATE] [--by day|model|folder] [--json]";
static const char about[] =
	"Show what imagegen's paid requests cost, from the spend history every\n"
	"command appends to ($XDG_STATE_HOME/imagegen/history.db, else\n"
	"~/.local/state/imagegen/history.db; IMAGEGEN_HISTORY names another file).\n"
	"Costs are imagegen's estimates from each answer's usage at its price\n"
	"table, not OpenAI's invoice. Nothing is sent and nothing is written.";

/* "2026-11-01" (UTC midnight) or "7d" (seven days ago) as Unix time, or -1. */
static long long parse_since(const char *s, time_t now)
{
	struct tm tm;
	int y, m, d;
	long days;
	char tail;

	if (!s)
		return 0;
	size_t len = strlen(s);
	if (len > 1 && s[len - 1] == 'd') {
		char *n = xstrndup(s, len - 1);
		int bad = value_parse_long(n, 0, 100000, &days);
		free(n);
		return bad ? -1 : (long long)now - days * 86400LL;
	}
	if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 || d < 1 ||
	    d > 31 || y < 1970)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	return (long long)timegm(&tm);
}

static const char *env(const char *name)
{
	return getenv(name);
}

/* One row: its key made safe for the terminal (a folder's name is the
 * user's), padded to width, and its counts. */
static void print_row(const char *key, json_t *row, int width)
{
	char usd[32];
	json_int_t unpriced = json_integer_value(json_object_get(row, "unpriced"));

	cli_put_safe(stdout, key);
	printf("%*s %8" JSON_INTEGER_FORMAT " %8" JSON_INTEGER_FORMAT " %12" JSON_INTEGER_FORMAT
	       " %12s", width - (int)strlen(key), "",
	       json_integer_value(json_object_get(row, "requests")),
	       json_integer_value(json_object_get(row, "images")),
	       json_integer_value(json_object_get(row, "tokens")),
	       price_format(json_number_value(json_object_get(row, "usd")), usd));
	if (unpriced)
		printf("  (and %" JSON_INTEGER_FORMAT " of unknown cost)", unpriced);
	putchar('\n');
}

static void print_human(json_t *report, const char *by, const char *path)
{
	json_t *rows = json_object_get(report, "rows"), *row;
	size_t i;
	int width = 5;   /* "total" */

	json_array_foreach(rows, i, row) {
		int w = (int)strlen(json_string_value(json_object_get(row, "key")));
		width = w > width ? w : width;
	}
	printf("%-*s %8s %8s %12s %12s\n", width, by, "requests", "images", "tokens", "cost");
	json_array_foreach(rows, i, row)
		print_row(json_string_value(json_object_get(row, "key")), row, width);
	print_row("total", json_object_get(report, "total"), width);
	printf("(imagegen's estimates from usage at its price table; history: ");
	cli_put_safe(stdout, path);
	printf(")\n");
}

int cmd_usage(int argc, char **argv)
{
	struct cli c = CLI_INIT;
	const char *since = NULL, *by = "day";
	struct opt opts[] = {
		OPT_STRING(0, "since", &since, "DATE", "only requests from DATE on (YYYY-MM-DD, UTC; or Nd: the last N days)"),
		OPT_STRING(0, "by", &by, "KEY", "group by day (default), model or folder"),
		OPT_BOOL(0, "json", &c.json, "one JSON object: the rows, the total and the history's path"),
		OPT_END(),
	};
	struct history h;
	struct buf err = BUF_INIT;
	const char *named = getenv("IMAGEGEN_HISTORY");
	char *path = NULL;
	json_t *report = NULL;
	long long from;
	int rc = cli_parse(&c, opts, usage, about, argc, argv);

	memset(&h, 0, sizeof(h));
	if (rc != -1)
		goto cleanup;
	rc = EXIT_USAGE;
	if (c.words.n) {
		errorf("usage: takes no arguments (did you mean --since or --by?)");
		goto cleanup;
	}
	if ((from = parse_since(since, time(NULL))) < 0) {
		errorf("--since: '%s' is not a date (YYYY-MM-DD) or a number of days (7d)", since);
		goto cleanup;
	}
	path = named && *named ? xstrdup(named) : history_path(env);
	if (!path) {
		errorf("usage: no history to read: XDG_STATE_HOME is not an absolute path, and "
		       "this user has no home folder");
		goto cleanup;
	}
	if (history_open_existing(&h, path, &err) < 0 ||
	    !(report = history_report(&h, by, from, &err))) {
		errorf("%s", err.data);
		goto cleanup;
	}
	json_object_set_new(report, "history", json_string(path));
	json_object_set_new(report, "by", json_string(by));
	if (since)
		json_object_set_new(report, "since", json_integer(from));
	if (c.json) {
		json_dumpf(report, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else {
		print_human(report, by, path);
	}
	rc = EXIT_OK;
cleanup:
	json_decref(report);
	history_release(&h);
	free(path);
	buf_release(&err);
	cli_release(&c);
	return rc;
}
