/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * The off-cycle termination batcher, as pure logic over an explicit clock:
 * no timers, no I/O, every function takes `now`. The caller (the scheduler
 * in `rosterd serve`) feeds it terminations, arms one timer for
 * debounce_next_due() and turns each batch from debounce_take() into an
 * off-cycle change file.
 *
 * Per feed: the first event opens a batch that is due `window` seconds
 * later (fixed, not sliding, so the lag is bounded); events arriving before
 * then join it, each person once. A taken batch counts against the feed's
 * daily cap of extra files, counted per local calendar day in the feed's
 * zone. When today's cap is used up, pending events are HELD: they go out
 * with the next scheduled run (debounce_take_all()), or ride along in the
 * next extra batch once a new day has cap again. See docs/scheduling.md.
 *
 * The batcher owns copies of every string and zone it is given; batches
 * handed out belong to the caller. Every function locks the batcher's
 * mutex, so one batcher may be shared between threads.
 */
#ifndef ROSTERD_SCHED_DEBOUNCE_H
#define ROSTERD_SCHED_DEBOUNCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sched/cron.h"

#define DEBOUNCE_WINDOW_DEFAULT 60
#define DEBOUNCE_DAILY_CAP_DEFAULT 4

struct debounce;

struct debounce_policy {
	unsigned window;    /* seconds from a batch's first event to due */
	unsigned daily_cap; /* extra files per local day; 0 = none */
	const struct cron_tz *tz; /* the feed's zone, copied; NULL = UTC */
};

enum debounce_state {
	DEBOUNCE_IDLE, /* nothing pending */
	DEBOUNCE_OPEN, /* a batch is collecting and has a due time */
	DEBOUNCE_HELD, /* the cap is used up: waiting for the scheduled run */
};

struct debounce_item {
	char *person;
	time_t event_time; /* the source event: the lag is measured from it */
	time_t seen;       /* when debounce_add() first got this person */
};

struct debounce_batch {
	char *feed;
	struct debounce_item *items; /* in order of arrival */
	size_t nitems;
	time_t opened; /* arrival of the event that opened the batch */
	time_t due;    /* opened + window; for debounce_take_all(): now */
	int64_t day;   /* local day (days since 1970-01-01) it counted on */
	unsigned nth; /* the day's nth extra file; 0 from debounce_take_all() */
};

/* Window DEBOUNCE_WINDOW_DEFAULT, cap DEBOUNCE_DAILY_CAP_DEFAULT, UTC. */
void debounce_policy_init(struct debounce_policy *);

struct debounce *debounce_new(void);
/* Frees the batcher, its feeds and every pending event. NULL is a no-op. */
void debounce_free(struct debounce *);

/*
 * Add or reconfigure a feed. Pending events stay; an open batch's due time
 * becomes its opening time plus the new window.
 */
void debounce_feed_set(struct debounce *, const char *feed,
                       const struct debounce_policy *);
/* Forget a feed and its pending events. False if it was unknown. */
bool debounce_feed_remove(struct debounce *, const char *feed);

/*
 * Record that `person` left a feed's population (source event at
 * event_time, received at now). A person already pending keeps one entry
 * with the earlier event time. Returns the feed's state afterwards
 * (DEBOUNCE_OPEN or DEBOUNCE_HELD), or -1 for an unknown feed.
 */
int debounce_add(struct debounce *, const char *feed, const char *person,
                 time_t event_time, time_t now);
/*
 * Withdraw a pending person (reactivated before the file went out). When
 * the batch empties the feed goes back to DEBOUNCE_IDLE. True if removed.
 */
bool debounce_remove(struct debounce *, const char *feed, const char *person);

/* The earliest due time of any open batch: 0 and *due, or -1 if none. */
int debounce_next_due(struct debounce *, time_t *due);

/*
 * Hand out one due batch (the earliest due first) and count it against its
 * feed's cap for the local day of `now`; the feed goes back to IDLE. A due
 * batch whose feed has no cap left today becomes HELD instead. Returns NULL
 * when nothing more is due; call it until then. The caller frees the batch
 * with debounce_batch_free().
 */
struct debounce_batch *debounce_take(struct debounce *, time_t now);

/*
 * A scheduled run of `feed` is being planned and covers every pending
 * event: hand them all over (open or held, due or not), without counting
 * against the cap, and go back to IDLE. NULL when nothing is pending.
 */
struct debounce_batch *debounce_take_all(struct debounce *, const char *feed,
                                         time_t now);

/*
 * Count an extra file delivered at `when` against the feed's cap, e.g. to
 * restore today's count from the run history after a restart.
 */
void debounce_count_extra(struct debounce *, const char *feed, time_t when);

/*
 * A batch counted by debounce_take() did not become a file of its own: it
 * joined a batch already waiting, or nothing was sent. Give its unit of
 * the cap back, if it was counted on the local day of `when`.
 */
void debounce_uncount(struct debounce *, const char *feed, time_t when);

/* The feed's state, and in *npending (may be NULL) the persons pending. */
enum debounce_state debounce_state(struct debounce *, const char *feed,
                                   size_t *npending);
/* Extra files the feed may still send on the local day of `now`. */
unsigned debounce_cap_left(struct debounce *, const char *feed, time_t now);

void debounce_batch_free(struct debounce_batch *);

#endif
