/* A batch on the engine, for any front end: its jobs planned from items and
 * defaults, resumed from the job ledger, started on the engine's loop,
 * recorded in the ledger before each image takes its name and when each
 * job ends, stopped when the quota is gone (or at the first failure when
 * asked), thumbnails made as images arrive and the gallery written at the
 * end. The front end hears about it through batch_events and prints. */
#ifndef IMAGEGEN_BATCHRUN_H
#define IMAGEGEN_BATCHRUN_H

#include <stdbool.h>

#include <pthread.h>

#include "batch.h"
#include "commitq.h"
#include "engine.h"
#include "jobfile.h"
#include "ledger.h"
#include "thumbq.h"

struct batch_events {
	/* A file was saved: image index, or JOB_EXTRA_FILE for a copy. */
	void (*saved)(void *ud, const struct batch_job *bj, size_t index, const char *path);
	/* A job ended (after it was recorded). */
	void (*finished)(void *ud, const struct batch_job *bj);
	/* A job an earlier run did, not sent again (at start). */
	void (*resumed)(void *ud, const struct batch_job *bj);
	/* Something worth saying that is no job's failure. */
	void (*warning)(void *ud, const char *text);
	/* How the run goes (a Batch API batch made, its progress), or NULL. */
	void (*note)(void *ud, const char *text);
	void *ud;
};

struct batch_run {
	struct engine *engine;
	const struct job_spec *defaults;
	bool fail_fast;
	bool gallery;                /* thumbnails and index.html */
	bool batch_api;              /* sent through the Batch API (batchapi.h) */
	const struct batch_events *events;
	/* filled by the run */
	struct batch_plan plan;
	struct ledger ledger;
	struct buf ledger_error;     /* why the ledger could not be written */
	/* The disk work off the loop, the lock the two threads take to use
	 * the ledger while it runs, and the one for ledger_error. */
	struct commitq commits;
	pthread_mutex_t ledger_lock;
	pthread_mutex_t error_lock;
	bool ledger_failed;          /* under error_lock: stop launching */
	bool lock_made;
	/* What one more job's images may take on disk (uncompressed: an upper
	 * bound), and why launching stopped for want of it. */
	unsigned long long job_bytes;
	struct buf space_error;
	struct chroma_opts chroma;
	struct thumbq thumbs;
	struct job_env env;
	size_t images, done, failed, resumed;
	size_t elsewhere;            /* jobs left to another run that claimed them */
	size_t remote_waiting;       /* jobs in Batch API batches not ended yet */
	struct ledger_holder other;  /* one such run */
	int64_t renew_at;            /* when its claims' lease is renewed next (ms) */
	int64_t renew_ms;            /* how often; 0: LEDGER_RENEW_S (set by the
					front end, e.g. shorter for a test) */
	size_t held_back;            /* jobs that failed only transiently, waiting
					for the second round at the end */
	size_t second_round;         /* jobs sent once more at the end */
	size_t second_done;          /* ... and done then */
	long tokens;
	long partial_tokens;         /* billed for streamed partial images */
	double spent;                /* the known costs of the jobs paid for */
	size_t unpriced;             /* paid jobs whose cost is unknown */
	double estimate;             /* of the jobs to send, before sending */
	double remote_estimate;      /* of the jobs in Batch API batches made before */
	size_t unestimated;          /* jobs to send with no estimate */
	const char *estimate_why;    /* why the first of them has none (static) */
	bool estimate_bound;         /* an estimate is only an upper bound (size or
					quality auto at its costliest): so is the sum */
	double max_cost;             /* --max-cost: stop launching past it; <0 none */
	double outstanding;          /* estimates of the jobs sent, not yet priced */
	double booked;               /* what paid jobs cost, as the budget counts it */
	struct buf budget_error;
	const char *stop_reason;     /* why launching stopped (quota, fail-fast) */
};

/* Plans the jobs of items (borrowed until the run is released) with
 * r->defaults, opens the folder's ledger, marks the jobs an earlier run
 * did and names the files of the others. Warnings one a line in warn. 0, or
 * -1 with a message in err (nothing was sent). */
int batch_run_prepare(struct batch_run *r, const struct batch_items *items,
		      struct buf *warn, struct buf *err);

/* Checks the credentials, creates the folder and starts every job not done
 * yet (with batch_api, readies them to take their answers: batch_api_run
 * sends them). 0, or -1 with a message in err (nothing was sent). */
int batch_run_start(struct batch_run *r, struct buf *err);

/* Ends a job that was never sent as failed for reason (said as any failure). */
void batch_run_fail_unsent(struct batch_run *r, struct batch_job *bj, const char *reason);

/* Runs the loop until every job has ended, then finishes the thumbnails
 * and writes the gallery. 0, or -1 when the gallery could not be written
 * (the reason in err; the images are all there). */
int batch_run_finish(struct batch_run *r, struct buf *err);

/* The second round: once every job has ended, the jobs that failed only
 * transiently (connection errors, 429s, 5xx, answers cut short, after all
 * their attempts), with no image saved, are sent once more, after the
 * others; a run that was stopped (quota, fail-fast, a full disk, the
 * ledger, a signal) says them failed instead. Returns how many went again
 * (0: the run is over). A front end whose loop goes on calls it when every
 * job it heard end, and those held back, make the whole run. */
size_t batch_run_second_round(struct batch_run *r);

/* What batch_run_finish does once the loop has ended every job, for a
 * front end whose loop goes on (a server): the last commits and records,
 * the unsent jobs' names given back, the thumbnails and the gallery. The
 * loop's launch check and commit hook are the run's until then. */
int batch_run_conclude(struct batch_run *r, struct buf *err);

void batch_run_release(struct batch_run *r);

/* A job as one JSON object (index, id, prompt, status, files, usage, error,
 * attempts): files as paths inside dir, or with dir NULL (the ledger) as
 * names inside the folder. A new reference. */
json_t *batch_job_json(const struct batch_job *bj, const char *status, const char *dir);
/* The body a job sends (a new reference; NULL for a form, then in *form,
 * which the caller releases) and its URL in *url (caller frees), readied for
 * the provider: what start sends and a dry run shows. */
json_t *batch_job_request(const struct batch_run *r, const struct batch_job *bj, char **url,
			  struct form *form);
/* "done", "failed", "interrupted" or "not sent". */
const char *batch_job_status(const struct batch_job *bj);

#endif
