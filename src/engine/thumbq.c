#include "thumbq.h"

#include <stdlib.h>
#include <string.h>

#include "gallery.h"
#include "imgvips.h"

struct thumbq_item {
	char *name;
	struct thumbq_item *next;
};

static void *worker(void *data)
{
	struct thumbq *q = data;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (!q->head && !q->closing)
			pthread_cond_wait(&q->wake, &q->lock);
		struct thumbq_item *item = q->head;
		if (!item)
			break;
		q->head = item->next;
		if (!q->head)
			q->tail = NULL;
		pthread_mutex_unlock(&q->lock);

		struct buf why = BUF_INIT;
		int rc = gallery_thumbnail(q->dir, item->name, &why);

		pthread_mutex_lock(&q->lock);
		if (rc)
			buf_addf(&q->problems, "%s: %s\n", item->name, why.data ? why.data : "?");
		buf_release(&why);
		free(item->name);
		free(item);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

int thumbq_start(struct thumbq *q, const char *dir, struct buf *err)
{
	memset(q, 0, sizeof(*q));
	/* libvips starts on this (the main) thread, before the worker uses it. */
	if (imgvips_ready(err))
		return -1;
	q->dir = xstrdup(dir);
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->wake, NULL);
	if (pthread_create(&q->thread, NULL, worker, q)) {
		buf_addf(err, "cannot start the thumbnail thread");
		return -1;
	}
	q->started = true;
	return 0;
}

void thumbq_push(struct thumbq *q, const char *name)
{
	struct thumbq_item *item;

	if (!q->started)
		return;
	item = xcalloc(1, sizeof(*item));
	item->name = xstrdup(name);
	pthread_mutex_lock(&q->lock);
	if (q->tail)
		q->tail->next = item;
	else
		q->head = item;
	q->tail = item;
	pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->lock);
}

void thumbq_finish(struct thumbq *q)
{
	if (!q->started)
		return;
	pthread_mutex_lock(&q->lock);
	q->closing = true;
	pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->thread, NULL);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->wake);
	buf_release(&q->problems);
	FREE_AND_NULL(q->dir);
	q->started = false;
}
