/* A batch sent through the OpenAI Batch API (imagegen batch --batch-api):
 * half price, done within 24 hours. The jobs still to do are written as
 * JSONL input files (custom_id = the ledger key; one file per endpoint and
 * model, split at the API's limits), uploaded through the Files API and
 * made into batches; each step is recorded in the folder's ledger before
 * the next is taken, so a run killed at any moment and started again adopts
 * what it had made (a batch is found by the part name in its metadata) and
 * never makes a second batch of the same jobs. The batches are polled with
 * backoff, and their output and error files decoded line by line into the
 * jobs, whose images are saved, recorded and priced (at the Batch discount)
 * as a synchronous answer's are. */
#ifndef IMAGEGEN_BATCHAPI_H
#define IMAGEGEN_BATCHAPI_H

#include <stdbool.h>
#include <stddef.h>

#include "batchrun.h"

/* The API's limits of one batch (reference §7). */
#define BATCH_API_MAX_LINES 50000
#define BATCH_API_MAX_BYTES (200ULL * 1024 * 1024)
/* Polls slow down by half each time to at most this, in seconds. */
#define BATCH_API_POLL_MAX 60.0

struct batch_api_opts {
	bool no_wait;            /* submit (or cancel) and return: a rerun collects */
	bool cancel;             /* cancel the folder's batches, collect what ran */
	double poll;             /* seconds before the first poll */
	size_t max_lines;        /* jobs in one batch: 1..BATCH_API_MAX_LINES */
	unsigned long long max_bytes;   /* of one input file */
};

/* Does a line of len bytes start a new input file, after lines lines of
 * bytes bytes went into the current one? (An empty file takes any line: a
 * line alone above the limit is refused before this is asked.) */
bool batch_api_new_part(size_t lines, unsigned long long bytes, size_t len,
			const struct batch_api_opts *o);

/* Runs r's jobs (prepared and started with r->batch_api) through the Batch
 * API: resumes the folder's open batches, submits the jobs in none, then
 * unless o->no_wait polls every batch to its end and collects it. What it
 * says goes through r->events. 0, or -1 with the reason in err (what was
 * made so far is in the ledger: a rerun goes on from there). */
int batch_api_run(struct batch_run *r, const struct batch_api_opts *o, struct buf *err);

#endif
