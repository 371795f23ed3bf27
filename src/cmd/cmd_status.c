/* imagegen status [DIR]: a batch folder's jobs by state, files, tokens and
 * the last error, read from its job ledger (nothing is sent or written). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "ledger.h"
#include "msg.h"

static const char usage[] = "imagegen status [--json] [DIR]";
static const char about[] =
	"Show a batch folder's jobs from its ledger (DIR/.imagegen/ledger.db; DIR is\n"
	"the current folder if not given): how many are done, failed, interrupted,\n"
	"claimed by a run that is still going, pending (planned by a run that\n"
	"stopped before sending them, or was killed), or superseded (a newer job\n"
	"of the same line, by its id, out or prompt, sends another request; its\n"
	"images are kept), their images and tokens, and the last error. Nothing is\n"
	"sent and nothing is written.";

/* The states status counts, in the order it shows them. */
static const char *const states[] = { "done",    "failed",  "interrupted",
				      "claimed", "pending", "superseded" };

static bool claimed(json_t *claims, const char *key)
{
	size_t i;
	json_t *c;

	json_array_foreach(claims, i, c)
		if (!strcmp(json_string_value(json_object_get(c, "key")), key))
			return true;
	return false;
}

/* Does every file of the entry belong to another job now? */
static bool superseded(const struct ledger *l, json_t *entry, const char *key)
{
	json_t *files = json_object_get(entry, "files"), *f;
	size_t i, others = 0;

	json_array_foreach(files, i, f) {
		char *owner = ledger_owner(l, json_string_value(f));
		others += owner && strcmp(owner, key);
		free(owner);
	}
	return others && others == json_array_size(files);
}

/* A job's state as status shows it. */
static const char *state_of(const struct ledger *l, json_t *entry, json_t *claims,
			    const char *dir)
{
	const char *key = json_string_value(json_object_get(entry, "key"));
	const char *state = json_string_value(json_object_get(entry, "state"));
	const char *hash = json_string_value(json_object_get(entry, "hash"));

	if (json_object_get(entry, "superseded_by") || superseded(l, entry, key))
		return "superseded";
	if (claimed(claims, key))
		return "claimed";
	/* As it ended, even after saving an image (the others not written, a
	 * protocol error), though such a job is never sent again. */
	if (state && (!strcmp(state, "failed") || !strcmp(state, "interrupted")))
		return state;
	if (ledger_entry_paid(entry, hash ? hash : "", dir))
		return "done";
	/* Planned by a run that stopped, or was killed, before it ended. */
	if (state && !strcmp(state, "pending"))
		return "pending";
	return "failed";
}

/* The folder's Batch API batches: [{part, state, batch_id, jobs, status}]. */
static json_t *remote_parts(const struct ledger *l)
{
	json_t *parts = ledger_remote_parts(l, false), *out = json_array(), *p;
	size_t i;

	json_array_foreach(parts, i, p) {
		json_t *id = json_object_get(p, "batch_id"), *status = json_object_get(p, "status");
		json_array_append_new(out, json_pack("{s:O,s:O,s:O,s:I,s:O}", "part",
						     json_object_get(p, "part"), "state",
						     json_object_get(p, "state"), "batch_id",
						     id ? id : json_null(), "jobs",
						     (json_int_t)json_array_size(json_object_get(p, "keys")),
						     "status", status ? status : json_null()));
	}
	json_decref(parts);
	return out;
}

static json_t *summarize(const struct ledger *l, const char *dir)
{
	json_t *entries = ledger_entries(l), *claims = ledger_live_claims(l);
	json_t *counts = json_object(), *jobs = json_array(), *e;
	json_t *last_error = json_null();
	json_int_t tokens = 0, files = 0, present = 0, last_index = -1;
	size_t i, f;
	json_t *name;

	for (size_t s = 0; s < ARRAY_SIZE(states); s++)
		json_object_set_new(counts, states[s], json_integer(0));
	json_array_foreach(entries, i, e) {
		const char *state = state_of(l, e, claims, dir);
		json_t *used = json_object_get(e, "usage");
		const char *error = json_string_value(json_object_get(e, "error"));
		json_int_t index = json_integer_value(json_object_get(e, "index"));

		json_object_set_new(counts, state,
				    json_integer(json_integer_value(json_object_get(counts, state)) + 1));
		tokens += json_integer_value(json_object_get(used, "total_tokens"));
		json_array_foreach(json_object_get(e, "files"), f, name) {
			char *path = xasprintf("%s/%s", dir, json_string_value(name));
			files++;
			present += path_exists(path);
			free(path);
		}
		if (error && strcmp(state, "done") && index >= last_index) {
			json_decref(last_error);
			last_error = json_pack("{s:I,s:s}", "index", index, "error", error);
			last_index = index;
		}
		json_array_append_new(jobs, json_pack("{s:I,s:s,s:O,s:O,s:O}", "index", index,
						      "state", state, "prompt",
						      json_object_get(e, "prompt"), "files",
						      json_object_get(e, "files"), "error",
						      json_object_get(e, "error") ?
							      json_object_get(e, "error") : json_null()));
	}
	json_t *o = json_pack("{s:s,s:I,s:o,s:I,s:I,s:I,s:o,s:o,s:o}", "folder", dir, "jobs",
			      (json_int_t)json_array_size(entries), "states", counts, "files",
			      files, "files_present", present, "tokens", tokens, "last_error",
			      last_error, "claimed_by", json_deep_copy(claims), "entries", jobs);
	json_object_set_new(o, "batch_api", remote_parts(l));
	json_decref(entries);
	json_decref(claims);
	return o;
}

static void print_human(json_t *o)
{
	json_t *counts = json_object_get(o, "states");
	json_t *last = json_object_get(o, "last_error");
	bool first = true;

	printf("%s: %lld job%s", json_string_value(json_object_get(o, "folder")),
	       (long long)json_integer_value(json_object_get(o, "jobs")),
	       json_integer_value(json_object_get(o, "jobs")) == 1 ? "" : "s");
	for (size_t s = 0; s < ARRAY_SIZE(states); s++) {
		json_int_t n = json_integer_value(json_object_get(counts, states[s]));
		if (!n)
			continue;
		printf("%s %lld %s", first ? ":" : ",", (long long)n, states[s]);
		first = false;
	}
	printf("\nimages: %lld recorded, %lld present; tokens: %lld\n",
	       (long long)json_integer_value(json_object_get(o, "files")),
	       (long long)json_integer_value(json_object_get(o, "files_present")),
	       (long long)json_integer_value(json_object_get(o, "tokens")));
	json_t *by = json_array_get(json_object_get(o, "claimed_by"), 0);
	if (by) {
		const char *host = json_string_value(json_object_get(by, "host"));
		printf("being made by: imagegen pid %lld",
		       (long long)json_integer_value(json_object_get(by, "pid")));
		if (host) {
			printf(" on ");
			cli_put_safe(stdout, host);
		}
		putchar('\n');
	}
	json_t *part;
	size_t i;
	json_array_foreach(json_object_get(o, "batch_api"), i, part) {
		const char *id = json_string_value(json_object_get(part, "batch_id"));
		const char *state = json_string_value(json_object_get(part, "state"));
		const char *status = json_string_value(json_object_get(part, "status"));
		printf("Batch API: ");
		cli_put_safe(stdout, id ? id : json_string_value(json_object_get(part, "part")));
		printf(" (%lld jobs): ", (long long)json_integer_value(json_object_get(part, "jobs")));
		cli_put_safe(stdout, !strcmp(state, "closed") ? (status ? status : "ended") :
				     !strcmp(state, "submitted") ? "submitted; the batch command "
				     "with --batch-api again collects it" : "not made yet");
		putchar('\n');
	}
	if (json_is_object(last)) {
		printf("last error: job %lld: ", (long long)json_integer_value(json_object_get(last, "index")));
		cli_put_safe(stdout, json_string_value(json_object_get(last, "error")));
		putchar('\n');
	}
}

int cmd_status(int argc, char **argv)
{
	struct cli c = CLI_INIT;
	struct opt opts[] = {
		OPT_BOOL(0, "json", &c.json, "one JSON object: counts, files, tokens and every job"),
		OPT_END(),
	};
	struct ledger l = LEDGER_INIT;
	struct buf err = BUF_INIT;
	const char *dir;
	char *path;
	int rc = cli_parse(&c, opts, usage, about, argc, argv);

	if (rc != -1)
		goto cleanup;
	if (c.words.n > 1) {
		errorf("status: give one folder");
		rc = EXIT_USAGE;
		goto cleanup;
	}
	dir = c.words.n ? c.words.v[0] : ".";
	path = xasprintf("%s/" LEDGER_DIR "/" LEDGER_NAME, dir);
	if (!path_exists(path)) {
		errorf("status: '%s' holds no batch ledger (%s)", dir, path);
		free(path);
		rc = EXIT_USAGE;
		goto cleanup;
	}
	free(path);
	if (ledger_open(&l, dir, &err)) {
		errorf("%s", err.data);
		rc = EXIT_USAGE;
		goto cleanup;
	}
	json_t *o = summarize(&l, dir);
	if (c.json) {
		json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else {
		print_human(o);
	}
	json_decref(o);
	rc = EXIT_OK;
cleanup:
	ledger_release(&l);
	buf_release(&err);
	cli_release(&c);
	return rc;
}
