/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* A bounded pipe of file records to a formatting thread. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "feed/pipe.h"
#include "util/xmalloc.h"

/* An item as queued: string offsets into the batch's data, +1 (0: NULL). */
struct pipe_item {
	enum fmt_action act;
	const char *action;
	size_t vals, term_date, term_reason;
};

struct pipe_batch {
	struct pipe_item *items;
	size_t n, cap;
	char *data;
	size_t len, dcap;
};

struct feed_pipe {
	int (*fn)(const struct feed_pipe_item *, void *);
	void *arg;
	struct pipe_batch batches[FEED_PIPE_NBATCH];
	struct pipe_batch *cur; /* being filled by the producer */
	/* ring of batches waiting for the consumer, and free ones */
	struct pipe_batch *full[FEED_PIPE_NBATCH], *avail[FEED_PIPE_NBATCH];
	size_t full_head, nfull, navail;
	pthread_mutex_t mu;
	pthread_cond_t to_consumer, to_producer;
	pthread_t thread;
	bool threaded, done, finished;
	bool failed; /* the consumer returned -1: drop everything */
};

/* Copy s into b->data with its NUL; its offset + 1, or 0 for NULL. */
static size_t
batch_str(struct pipe_batch *b, const char *s)
{
	size_t n, at;

	if (s == NULL)
		return 0;
	n = strlen(s) + 1;
	if (b->dcap - b->len < n) {
		while (b->dcap - b->len < n)
			b->dcap = b->dcap ? b->dcap * 2 : FEED_PIPE_BATCH;
		b->data = xrealloc(b->data, b->dcap);
	}
	at = b->len;
	memcpy(b->data + at, s, n);
	b->len += n;
	return at + 1;
}

static void
batch_add(struct pipe_batch *b, const struct feed_pipe_item *it)
{
	struct pipe_item *q;

	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 1024;
		b->items = xrealloc(b->items, b->cap * sizeof(*b->items));
	}
	q = &b->items[b->n++];
	q->act = it->act;
	q->action = it->action;
	q->vals = batch_str(b, it->vals);
	q->term_date = batch_str(b, it->term_date);
	q->term_reason = batch_str(b, it->term_reason);
}

static const char *
batch_at(const struct pipe_batch *b, size_t off)
{
	return off == 0 ? NULL : b->data + off - 1;
}

/* Hand every item of b to the callback, unless it failed before. */
static void
batch_run(struct feed_pipe *p, struct pipe_batch *b, bool *failed)
{
	struct feed_pipe_item it;
	size_t i;

	for (i = 0; i < b->n && !*failed; i++) {
		it.act = b->items[i].act;
		it.action = b->items[i].action;
		it.vals = batch_at(b, b->items[i].vals);
		it.term_date = batch_at(b, b->items[i].term_date);
		it.term_reason = batch_at(b, b->items[i].term_reason);
		if (p->fn(&it, p->arg) == -1)
			*failed = true;
	}
	b->n = 0;
	b->len = 0;
}

static void *
pipe_main(void *arg)
{
	struct feed_pipe *p = arg;
	struct pipe_batch *b;
	bool failed = false;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->nfull == 0 && !p->done)
			pthread_cond_wait(&p->to_consumer, &p->mu);
		if (p->nfull == 0)
			break;
		b = p->full[p->full_head];
		p->full_head = (p->full_head + 1) % FEED_PIPE_NBATCH;
		p->nfull--;
		pthread_mutex_unlock(&p->mu);
		batch_run(p, b, &failed);
		pthread_mutex_lock(&p->mu);
		p->failed = failed;
		p->avail[p->navail++] = b;
		pthread_cond_signal(&p->to_producer);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct feed_pipe *
feed_pipe_new(int (*fn)(const struct feed_pipe_item *, void *arg), void *arg)
{
	struct feed_pipe *p = xcalloc(1, sizeof(*p));
	size_t i;

	p->fn = fn;
	p->arg = arg;
	p->cur = &p->batches[0];
	for (i = 1; i < FEED_PIPE_NBATCH; i++)
		p->avail[p->navail++] = &p->batches[i];
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->to_consumer, NULL);
	pthread_cond_init(&p->to_producer, NULL);
	p->threaded = pthread_create(&p->thread, NULL, pipe_main, p) == 0;
	return p;
}

/* Queue the current batch and take a free one (waiting for it). */
static void
pipe_hand_over(struct feed_pipe *p)
{
	pthread_mutex_lock(&p->mu);
	p->full[(p->full_head + p->nfull) % FEED_PIPE_NBATCH] = p->cur;
	p->nfull++;
	pthread_cond_signal(&p->to_consumer);
	while (p->navail == 0)
		pthread_cond_wait(&p->to_producer, &p->mu);
	p->cur = p->avail[--p->navail];
	pthread_mutex_unlock(&p->mu);
}

static bool
pipe_failed(struct feed_pipe *p)
{
	bool f;

	pthread_mutex_lock(&p->mu);
	f = p->failed;
	pthread_mutex_unlock(&p->mu);
	return f;
}

int
feed_pipe_push(struct feed_pipe *p, const struct feed_pipe_item *it)
{
	if (!p->threaded) {
		if (!p->failed && p->fn(it, p->arg) == -1)
			p->failed = true;
		return p->failed ? -1 : 0;
	}
	batch_add(p->cur, it);
	if (p->cur->len < FEED_PIPE_BATCH && p->cur->n < 4096)
		return 0;
	pipe_hand_over(p);
	return pipe_failed(p) ? -1 : 0;
}

int
feed_pipe_finish(struct feed_pipe *p)
{
	if (p->finished)
		return p->failed ? -1 : 0;
	p->finished = true;
	if (!p->threaded)
		return p->failed ? -1 : 0;
	pthread_mutex_lock(&p->mu);
	if (p->cur->n > 0) {
		p->full[(p->full_head + p->nfull) % FEED_PIPE_NBATCH] = p->cur;
		p->nfull++;
		p->cur = NULL;
	}
	p->done = true;
	pthread_cond_signal(&p->to_consumer);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	return p->failed ? -1 : 0;
}

void
feed_pipe_free(struct feed_pipe *p)
{
	size_t i;

	if (p == NULL)
		return;
	feed_pipe_finish(p);
	for (i = 0; i < FEED_PIPE_NBATCH; i++) {
		free(p->batches[i].items);
		free(p->batches[i].data);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->to_consumer);
	pthread_cond_destroy(&p->to_producer);
	free(p);
}
