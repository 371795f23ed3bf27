/* A batch's disk work off the transfer loop: one worker thread commits the
 * jobs whose transfers have finished (fsync, rename, metadata, copies,
 * sidecars, and the ledger's "saving" record before each rename) and writes
 * the ledger's other records, all in the order they were handed over, so a
 * transfer never waits for a disk and a finished one's slot is refilled at
 * once. Records that queue up while the worker is busy are written in one
 * transaction. A committed job goes back to the loop thread, which finishes
 * it (everything that prints or counts stays there). */
#ifndef IMAGEGEN_COMMITQ_H
#define IMAGEGEN_COMMITQ_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>

#include "http.h"
#include "job.h"

struct commitq_item;

/* Other work for the worker, in order with the rest (data). */
typedef void (*commitq_fn)(void *data);

/* One ledger record: a job's entry in a state. */
struct commitq_record {
	char *key;
	const char *state;   /* a string constant */
	const char *label;   /* "job N: ", borrowed (it outlives the queue) */
	json_t *entry;
};

struct commitq_ops {
	/* On the worker: commits the job's saved images. */
	void (*commit)(struct job *job);
	/* On the worker: writes n records in one transaction (taking their
	 * entries). */
	void (*record)(void *data, struct commitq_record *records, size_t n);
	/* On the loop thread: a committed job is back. */
	void (*back)(struct job *job);
	/* On the loop thread, every turn (data). */
	void (*turn)(void *data);
	void *data;
};

struct commitq {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;          /* work queued, or the queue closing */
	pthread_cond_t idle;          /* the worker has nothing left to do */
	struct commitq_item *head, *tail;   /* to do, in order */
	struct commitq_item *done, *done_tail;   /* jobs committed, for the loop */
	bool busy, closing, started;
	struct http_loop *loop;
	struct commitq_ops ops;
};

/* Starts the worker; the loop takes committed jobs back on every turn
 * (loop->collect). 0, or -1 (then nothing is handed over: the loop does the
 * work itself, as for a single image). */
int commitq_start(struct commitq *q, struct http_loop *loop, const struct commitq_ops *ops);
/* Hands a job whose transfer is done over to be committed (loop thread);
 * the loop keeps running until it is back. */
void commitq_commit(struct commitq *q, struct job *job);
/* Queues a ledger record behind the work handed over before it; takes the
 * entry's reference, copies the key; state and label are borrowed. */
void commitq_record(struct commitq *q, const char *key, const char *state, const char *label,
		    json_t *entry);
/* Queues fn(data) behind the work handed over before it, to run on the
 * worker (a write the loop must not wait for). */
void commitq_call(struct commitq *q, commitq_fn fn, void *data);
/* Waits until everything handed over is done and written, taking back the
 * committed jobs (whose finishing may queue more records), then stops the
 * worker. Safe on a queue that never started. */
void commitq_finish(struct commitq *q);

#endif
