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

/* A line of a Batch API input file, to be placed in one: the endpoint and
 * model it must share a file with, and its length in bytes with its newline
 * (0: it could not be made). */
struct batch_api_line {
	const char *endpoint, *model;
	size_t len;
};

/* What batch_api_split gives a line that goes in no file. */
#define BATCH_API_UNPLACED ((size_t)-1)

/* Splits lines[0, n) into input files: one endpoint and model each (in the
 * order of their first lines), at most o->max_lines lines and o->max_bytes
 * bytes a file, each line in its order. part[i] gets line i's file number,
 * from 0, or BATCH_API_UNPLACED for a line of length 0 or alone above
 * o->max_bytes. Returns how many files. */
size_t batch_api_split(const struct batch_api_line *lines, size_t n,
		       const struct batch_api_opts *o, size_t *part);

/* Runs r's jobs (prepared and started with r->batch_api) through the Batch
 * API: resumes the folder's open batches, submits the jobs in none, then
 * unless o->no_wait polls every batch to its end and collects it. What it
 * says goes through r->events. 0, or -1 with the reason in err (what was
 * made so far is in the ledger: a rerun goes on from there). */
int batch_api_run(struct batch_run *r, const struct batch_api_opts *o, struct buf *err);

#endif
