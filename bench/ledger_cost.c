/* What the job ledger costs a batch per job, measured on the ledger code the
 * batch runs (engine/ledger.c), in a fresh folder on the disk given:
 *
 *   ledger_cost DIR [JOBS] [GROUP]
 *
 * The calls are the batch's, in its order: the ledger made, every job's
 * names reserved and every job claimed and recorded as pending (one
 * transaction for the lot, before the first request: the reservation is
 * what makes an image paid for once it has its name), then per job its
 * "done" record, which the batch's worker
 * writes GROUP at a time when they queue up behind commits (1: each alone,
 * the worst case). Prints one JSON object: the totals and milliseconds per
 * job. Not a test: run by `make bench`. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger.h"
#include "util.h"

static double seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* An entry as large as a batch's: prompt, parameters, files, usage. */
static json_t *entry(size_t i, const char *state)
{
	char prompt[96], name[64];

	snprintf(prompt, sizeof(prompt), "benchmark image number %zu: a lighthouse, a fox, a city",
		 i);
	snprintf(name, sizeof(name), "%03zu-benchmark-image-number.png", i);
	return json_pack("{s:I,s:s,s:s,s:s,s:[s],s:I,s:{s:s,s:s,s:s,s:s},"
			 "s:{s:I,s:I,s:I},s:I}",
			 "index", (json_int_t)i, "prompt", prompt, "state", state,
			 "hash", "0123456789abcdef", "files", name, "images", (json_int_t)1,
			 "parameters", "model", "gpt-image-2", "size", "1024x1024", "quality",
			 "medium", "output_format", "png", "usage", "input_tokens", (json_int_t)12,
			 "output_tokens", (json_int_t)1056, "total_tokens", (json_int_t)1068,
			 "attempts", (json_int_t)1);
}

static void check(int rc, struct buf *err)
{
	if (rc) {
		fprintf(stderr, "ledger_cost: %s\n", err->data ? err->data : "failed");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	struct ledger l = LEDGER_INIT;
	struct buf err = BUF_INIT;
	size_t jobs = argc > 2 ? strtoul(argv[2], NULL, 10) : 2000;
	size_t group = argc > 3 ? strtoul(argv[3], NULL, 10) : 1;
	char **keys, **names;
	enum ledger_claim *out;
	enum ledger_name *kind;
	json_t **pending;
	struct ledger_row *rows;
	struct ledger_holder other;
	double t0, t_setup, t_jobs;

	if (argc < 2 || jobs == 0 || group == 0) {
		fprintf(stderr, "usage: ledger_cost DIR [JOBS] [GROUP]\n");
		return 2;
	}
	keys = xcalloc(jobs, sizeof(*keys));
	names = xcalloc(jobs, sizeof(*names));
	out = xcalloc(jobs, sizeof(*out));
	kind = xcalloc(jobs, sizeof(*kind));
	pending = xcalloc(jobs, sizeof(*pending));
	rows = xcalloc(group, sizeof(*rows));
	for (size_t i = 0; i < jobs; i++) {
		keys[i] = xasprintf("%016zx:1", i * 2654435761u);
		names[i] = xasprintf("%03zu-benchmark-image-number.png", i);
		kind[i] = LEDGER_IMAGE;
		pending[i] = entry(i, "pending");
	}
	t0 = seconds();
	check(ledger_open(&l, argv[1], &err), &err);
	check(ledger_create(&l, &err), &err);
	check(ledger_begin(&l, &err), &err);
	check(ledger_reserve(&l, jobs, (const char *const *)keys, (const char *const *)names,
			     kind, &err), &err);
	check(ledger_claim(&l, jobs, (const char *const *)keys, pending, argv[1], false, out,
			   &other, &err), &err);
	check(ledger_commit(&l, &err), &err);
	t_setup = seconds() - t0;
	t0 = seconds();
	for (size_t i = 0; i < jobs; i += group) {
		size_t n = jobs - i < group ? jobs - i : group;
		for (size_t k = 0; k < n; k++)
			rows[k] = (struct ledger_row){ keys[i + k], "done", entry(i + k, "done") };
		check(ledger_put_rows(&l, rows, n, &err), &err);
	}
	t_jobs = seconds() - t0;
	ledger_unclaim(&l);
	ledger_release(&l);
	printf("{\"jobs\": %zu, \"group\": %zu, \"setup_s\": %.4f, \"records_s\": %.4f, "
	       "\"ms_per_job\": %.4f, \"setup_ms_per_job\": %.4f}\n", jobs, group, t_setup,
	       t_jobs, (t_setup + t_jobs) * 1000 / (double)jobs,
	       t_setup * 1000 / (double)jobs);
	for (size_t i = 0; i < jobs; i++) {
		free(keys[i]);
		free(names[i]);
		json_decref(pending[i]);
	}
	free(keys);
	free(names);
	free(out);
	free(kind);
	free(pending);
	free(rows);
	buf_release(&err);
	return 0;
}
