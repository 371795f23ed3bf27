#include "commitq.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

struct commitq_item {
	struct job *job;                 /* a commit, or NULL for a record or call */
	commitq_fn call;                 /* other work, or NULL */
	void *call_data;
	struct commitq_record record;
	struct commitq_item *next;
};

static void push(struct commitq_item **head, struct commitq_item **tail,
		 struct commitq_item *item)
{
	item->next = NULL;
	if (*tail)
		(*tail)->next = item;
	else
		*head = item;
	*tail = item;
}

/* The records at the head of the queue, up to the next commit, taken off
 * it (lock held): written together. */
static size_t take_records(struct commitq *q, struct commitq_record **out)
{
	size_t n = 0;

	for (struct commitq_item *item = q->head; item && !item->job && !item->call;
	     item = item->next)
		n++;
	*out = xcalloc(n, sizeof(**out));
	for (size_t i = 0; i < n; i++) {
		struct commitq_item *item = q->head;
		q->head = item->next;
		(*out)[i] = item->record;
		free(item);
	}
	if (!q->head)
		q->tail = NULL;
	return n;
}

static void *worker(void *data)
{
	struct commitq *q = data;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (!q->head && !q->closing) {
			q->busy = false;
			pthread_cond_broadcast(&q->idle);
			pthread_cond_wait(&q->wake, &q->lock);
		}
		if (!q->head)
			break;
		q->busy = true;
		if (q->head->call) {
			struct commitq_item *item = q->head;
			q->head = item->next;
			if (!q->head)
				q->tail = NULL;
			pthread_mutex_unlock(&q->lock);
			item->call(item->call_data);
			free(item);
			pthread_mutex_lock(&q->lock);
		} else if (q->head->job) {
			struct commitq_item *item = q->head;
			q->head = item->next;
			if (!q->head)
				q->tail = NULL;
			pthread_mutex_unlock(&q->lock);
			q->ops.commit(item->job);
			pthread_mutex_lock(&q->lock);
			push(&q->done, &q->done_tail, item);
			http_loop_wake(q->loop);
		} else {
			struct commitq_record *records;
			size_t n = take_records(q, &records);
			pthread_mutex_unlock(&q->lock);
			q->ops.record(q->ops.data, records, n);
			for (size_t i = 0; i < n; i++)
				free(records[i].key);
			free(records);
			pthread_mutex_lock(&q->lock);
		}
	}
	q->busy = false;
	pthread_cond_broadcast(&q->idle);
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

/* Takes back the jobs committed so far (loop thread). */
static void collect(void *data)
{
	struct commitq *q = data;
	struct commitq_item *item;

	pthread_mutex_lock(&q->lock);
	item = q->done;
	q->done = q->done_tail = NULL;
	pthread_mutex_unlock(&q->lock);
	while (item) {
		struct commitq_item *next = item->next;
		q->loop->held--;
		q->ops.back(item->job);
		free(item);
		item = next;
	}
	if (q->ops.turn)
		q->ops.turn(q->ops.data);
}

int commitq_start(struct commitq *q, struct http_loop *loop, const struct commitq_ops *ops)
{
	memset(q, 0, sizeof(*q));
	q->loop = loop;
	q->ops = *ops;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->wake, NULL);
	pthread_cond_init(&q->idle, NULL);
	if (pthread_create(&q->thread, NULL, worker, q)) {
		pthread_cond_destroy(&q->idle);
		pthread_cond_destroy(&q->wake);
		pthread_mutex_destroy(&q->lock);
		return -1;
	}
	q->started = true;
	loop->collect = collect;
	loop->collect_data = q;
	return 0;
}

static void queue(struct commitq *q, struct commitq_item *item)
{
	pthread_mutex_lock(&q->lock);
	push(&q->head, &q->tail, item);
	q->busy = true;
	pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->lock);
}

void commitq_commit(struct commitq *q, struct job *job)
{
	struct commitq_item *item = xcalloc(1, sizeof(*item));

	item->job = job;
	q->loop->held++;
	queue(q, item);
}

void commitq_record(struct commitq *q, const char *key, const char *state, const char *label,
		    json_t *entry)
{
	struct commitq_item *item = xcalloc(1, sizeof(*item));

	item->record = (struct commitq_record){ xstrdup(key), state, label, entry };
	queue(q, item);
}

void commitq_call(struct commitq *q, commitq_fn fn, void *data)
{
	struct commitq_item *item = xcalloc(1, sizeof(*item));

	item->call = fn;
	item->call_data = data;
	queue(q, item);
}

void commitq_finish(struct commitq *q)
{
	if (!q->started)
		return;
	for (;;) {
		pthread_mutex_lock(&q->lock);
		while (q->busy || q->head)
			pthread_cond_wait(&q->idle, &q->lock);
		bool more = q->done != NULL;
		pthread_mutex_unlock(&q->lock);
		if (!more)
			break;
		collect(q);   /* finishing them may queue records: wait for those */
	}
	pthread_mutex_lock(&q->lock);
	q->closing = true;
	pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->thread, NULL);
	if (q->loop->collect_data == q)
		q->loop->collect = NULL;
	pthread_cond_destroy(&q->idle);
	pthread_cond_destroy(&q->wake);
	pthread_mutex_destroy(&q->lock);
	q->started = false;
}
