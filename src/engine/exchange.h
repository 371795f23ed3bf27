/* One API request that is no image job (the Files and Batch API, the model
 * list), carried to its end on the engine's loop with its retries: the
 * answer parsed as JSON, or written to a file. The loop must have nothing
 * else in flight (the call runs the loop until it is done). */
#ifndef IMAGEGEN_EXCHANGE_H
#define IMAGEGEN_EXCHANGE_H

#include <jansson.h>
#include <stdio.h>

#include "engine.h"
#include "form.h"

struct exchange_opts {
	const char *label;           /* "the Batch API: ", before what in messages */
	const char *what;            /* "GET /batches/ID"; NULL: the path */
	const char *json;            /* a POST of this body (borrowed), or NULL */
	const struct form *form;     /* or a multipart POST, or NULL: a GET */
	FILE *sink;                  /* the answer written here, not parsed */
	long attempts;               /* tries; 0: the engine's policy */
	/* A retry is coming (text says why and when), or NULL. */
	void (*warn)(void *ud, const char *text);
	void *ud;
};

/* Sends the request to path (under the base URL). 0, with the answer in
 * *answer (a new reference; NULL with a sink); or -1 with the reason in
 * err, and in *status (if not NULL) the HTTP status of a refusal (0 for
 * none). A request sent once (attempts 1) goes on a new connection. */
int engine_exchange(struct engine *e, const char *path, const struct exchange_opts *o,
		    json_t **answer, long *status, struct buf *err);

#endif
