/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * Per-key token buckets (the key is an API token id). The limiter owns its
 * table and the key copies; keys live until ratelimit_free().
 */
#ifndef ROSTERD_RATELIMIT_H
#define ROSTERD_RATELIMIT_H

#include <stdbool.h>

struct ratelimit;

struct ratelimit_state {
	long limit;       /* bucket size (burst) */
	long remaining;   /* whole tokens left after this request */
	long reset;       /* seconds until the bucket is full again */
	long retry_after; /* seconds until one token is available (if denied) */
	double rps;
};

struct ratelimit *ratelimit_new(void);
void ratelimit_free(struct ratelimit *);
/*
 * Take one token from key's bucket (created full at first use) refilling
 * at rps up to burst. `now` is a monotonic time in seconds. True when the
 * request may proceed; *st is filled either way.
 */
bool ratelimit_take(struct ratelimit *, const char *key, double rps,
                    double burst, double now, struct ratelimit_state *st);

#endif
