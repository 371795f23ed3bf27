/* Thumbnails made on a worker thread while the batch is still receiving, so
 * decoding images for the gallery overlaps the network instead of following
 * it. libvips is thread-safe; the queue is the only shared state. */
#ifndef IMAGEGEN_THUMBQ_H
#define IMAGEGEN_THUMBQ_H

#include <pthread.h>
#include <stdbool.h>

#include "util.h"

struct thumbq_item;

struct thumbq {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct thumbq_item *head, *tail;
	bool closing, started;
	char *dir;
	struct buf problems;   /* "name: why" lines, read after thumbq_finish */
};

/* Starts the worker for images in dir. 0, or -1 (then thumbnails are made
 * later by the gallery itself). */
int thumbq_start(struct thumbq *q, const char *dir, struct buf *err);
/* Queues DIR/name (a plain file name). */
void thumbq_push(struct thumbq *q, const char *name);
/* Waits for the queue to drain and stops the worker. */
void thumbq_finish(struct thumbq *q);

#endif
