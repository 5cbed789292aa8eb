/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* Token-bucket rate limiter keyed by token id. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "http/ratelimit.h"
#include "util/xmalloc.h"

struct bucket {
	char *key;
	double tokens;
	double last;
};

struct ratelimit {
	struct bucket *b;
	size_t n, cap; /* open addressing, cap a power of two */
};

static unsigned long
rl_hash(const char *s)
{
	unsigned long h = 5381;

	while (*s)
		h = h * 33 ^ (unsigned char)*s++;
	return h;
}

struct ratelimit *
ratelimit_new(void)
{
	struct ratelimit *rl = xcalloc(1, sizeof(*rl));

	rl->cap = 64;
	rl->b = xcalloc(rl->cap, sizeof(*rl->b));
	return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
	size_t i;

	if (rl == NULL)
		return;
	for (i = 0; i < rl->cap; i++)
		free(rl->b[i].key);
	free(rl->b);
	free(rl);
}

static struct bucket *
rl_slot(struct bucket *b, size_t cap, const char *key)
{
	size_t i = rl_hash(key) & (cap - 1);

	while (b[i].key != NULL && strcmp(b[i].key, key) != 0)
		i = (i + 1) & (cap - 1);
	return &b[i];
}

static void
rl_grow(struct ratelimit *rl)
{
	struct bucket *nb, *s;
	size_t i, ncap = rl->cap * 2;

	nb = xcalloc(ncap, sizeof(*nb));
	for (i = 0; i < rl->cap; i++) {
		if (rl->b[i].key == NULL)
			continue;
		s = rl_slot(nb, ncap, rl->b[i].key);
		*s = rl->b[i];
	}
	free(rl->b);
	rl->b = nb;
	rl->cap = ncap;
}

bool
ratelimit_take(struct ratelimit *rl, const char *key, double rps, double burst,
               double now, struct ratelimit_state *st)
{
	struct bucket *b;
	bool ok;

	if ((rl->n + 1) * 2 > rl->cap)
		rl_grow(rl);
	b = rl_slot(rl->b, rl->cap, key);
	if (b->key == NULL) {
		b->key = xstrdup(key);
		b->tokens = burst;
		b->last = now;
		rl->n++;
	}
	b->tokens += (now - b->last) * rps;
	if (b->tokens > burst)
		b->tokens = burst;
	b->last = now;
	ok = b->tokens >= 1.0;
	if (ok)
		b->tokens -= 1.0;
	st->limit = (long)burst;
	st->rps = rps;
	st->remaining = (long)floor(b->tokens);
	st->reset = (long)ceil((burst - b->tokens) / rps);
	st->retry_after = ok ? 0 : (long)ceil((1.0 - b->tokens) / rps);
	if (!ok && st->retry_after < 1)
		st->retry_after = 1;
	return ok;
}
