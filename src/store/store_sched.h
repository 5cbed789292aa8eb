/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * What the scheduler in `rosterd serve` (sched/worker.c) keeps in the store
 * (migration 5), behind struct store_sched_ops in each backend (SQLite:
 * store/sqlite_sched.c):
 *
 * - offcycle_events: terminations captured by triggers on `resources`, in
 *   the same transaction as the change itself (a User's `active` going from
 *   true to false, or the User being deleted), so none is lost whatever
 *   wrote it (SCIM PATCH, PUT, DELETE, an HRIS import) and whenever rosterd
 *   stops. The worker consumes them oldest first.
 * - offcycle_pending: per feed, the people whose termination waits for an
 *   off-cycle change file (the debounce batcher's durable copy), and the
 *   run that carries it once one is rendered.
 * - offcycle_runs: the off-cycle runs rendered, for the daily cap.
 * - schedule_state: per feed, when the worker first saw its schedule and
 *   when it last fired (cron_missed() runs a missed slot once).
 * - termination_lag: per delivered termination, the source event's time,
 *   the time the file was delivered and the difference.
 *
 * Times are text "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC) like the rest of the
 * store, except schedule times, which are Unix seconds. Records passed to
 * callbacks are borrowed for the duration of the call. Return values are
 * enum store_rc. The store_sched_* functions dispatch to st->ops->sched
 * (store/store_sched.c) and may be called inside store_begin()/store_commit().
 */
#ifndef ROSTERD_STORE_SCHED_H
#define ROSTERD_STORE_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* A captured termination. */
struct store_sched_event {
	int64_t id;
	int64_t tenant_id;
	int64_t rid;             /* resources.rid of the User */
	const char *cause;       /* "inactive" or "deleted" */
	const char *event_at;    /* modified / deleted_at of the row */
	const char *received_at; /* when the change was written */
};

/* A termination waiting for (or carried by) an off-cycle file. */
struct store_sched_pending {
	const char *feed;
	int64_t rid;
	const char *event_at;
	const char *received_at;
	const char *run_id; /* NULL while waiting */
	bool hold;          /* waits for the feed's next scheduled run */
};

/* One delivered termination. */
struct store_sched_lag {
	int64_t id;
	const char *feed;
	const char *run_id;
	const char *person_key; /* the member key in the feed */
	int64_t rid;
	const char *kind; /* "offcycle", or "regular" (any other run) */
	const char *event_at;
	const char *delivered_at;
	int64_t lag_ms;
};

struct store_sched_ops {
	/* Up to max events with id > after, oldest first. */
	int (*events_list)(struct store *, int64_t after, size_t max,
	                   int (*cb)(const struct store_sched_event *, void *),
	                   void *arg);
	/* Delete the events with id <= upto. */
	int (*events_delete)(struct store *, int64_t upto);

	/*
	 * Insert a waiting termination; when the feed already has one for
	 * rid that no run carries yet, keep the earlier event. *added is
	 * true when a row was inserted or changed.
	 */
	int (*pending_add)(struct store *, const struct store_sched_pending *,
	                   bool *added);
	/*
	 * The feed's (or every feed's, feed NULL) pending rows: those no
	 * run carries when waiting, else all; in (feed, rid) order.
	 */
	int (*pending_list)(struct store *, const char *feed, bool waiting,
	                    int (*cb)(const struct store_sched_pending *,
	                              void *),
	                    void *arg);
	/* The rows a run carries. */
	int (*pending_of_run)(struct store *, const char *run_id,
	                      int (*cb)(const struct store_sched_pending *,
	                                void *),
	                      void *arg);
	/*
	 * Let run_id carry the feed's waiting row for rid (rid 0: every
	 * waiting row of the feed, held ones included).
	 */
	int (*pending_attach)(struct store *, const char *feed, int64_t rid,
	                      const char *run_id);
	/* Give the run's rows back (run rejected or failed), held or not. */
	int (*pending_release)(struct store *, const char *run_id, bool hold);
	/* Mark the feed's waiting row for rid as held for the schedule. */
	int (*pending_hold)(struct store *, const char *feed, int64_t rid);
	/* Forget the feed's waiting row for rid. */
	int (*pending_drop)(struct store *, const char *feed, int64_t rid);
	/* Forget the rows a run carries (it was delivered or failed). */
	int (*pending_drop_run)(struct store *, const char *run_id);
	/* Run ids carrying rows, in no particular order. */
	int (*pending_runs)(struct store *,
	                    int (*cb)(const char *run_id, void *), void *arg);

	/* Record an off-cycle run of feed rendered at Unix time `at`. */
	int (*offcycle_run_add)(struct store *, const char *run_id,
	                        const char *feed, int64_t at);
	/* Off-cycle runs of the feed since `since`, as Unix times. */
	int (*offcycle_runs_since)(struct store *, const char *feed,
	                           int64_t since, int (*cb)(int64_t at, void *),
	                           void *arg);
	/* Whether run_id is an off-cycle run. */
	int (*offcycle_run_is)(struct store *, const char *run_id, bool *is);

	/*
	 * The feed's schedule times: STORE_NOTFOUND when the worker never
	 * saw the feed. last_fire is 0 before the first fire.
	 */
	int (*schedule_get)(struct store *, const char *feed, int64_t *seen,
	                    int64_t *last_fire);
	int (*schedule_put)(struct store *, const char *feed, int64_t seen,
	                    int64_t last_fire);

	/* Record a delivered termination (id is ignored). */
	int (*lag_add)(struct store *, const struct store_sched_lag *);
	/* The feed's (all feeds', feed NULL) newest `limit` rows, newest first.
	 */
	int (*lag_list)(struct store *, const char *feed, size_t limit,
	                int (*cb)(const struct store_sched_lag *, void *),
	                void *arg);
};

int store_sched_events_list(struct store *, int64_t after, size_t max,
                            int (*cb)(const struct store_sched_event *, void *),
                            void *arg);
int store_sched_events_delete(struct store *, int64_t upto);
int store_sched_pending_add(struct store *, const struct store_sched_pending *,
                            bool *added);
int store_sched_pending_list(struct store *, const char *feed, bool waiting,
                             int (*cb)(const struct store_sched_pending *,
                                       void *),
                             void *arg);
int store_sched_pending_of_run(struct store *, const char *run_id,
                               int (*cb)(const struct store_sched_pending *,
                                         void *),
                               void *arg);
int store_sched_pending_attach(struct store *, const char *feed, int64_t rid,
                               const char *run_id);
int store_sched_pending_release(struct store *, const char *run_id, bool hold);
int store_sched_pending_hold(struct store *, const char *feed, int64_t rid);
int store_sched_pending_drop(struct store *, const char *feed, int64_t rid);
int store_sched_pending_drop_run(struct store *, const char *run_id);
int store_sched_pending_runs(struct store *,
                             int (*cb)(const char *run_id, void *), void *arg);
int store_sched_offcycle_run_add(struct store *, const char *run_id,
                                 const char *feed, int64_t at);
int store_sched_offcycle_runs_since(struct store *, const char *feed,
                                    int64_t since,
                                    int (*cb)(int64_t at, void *), void *arg);
int store_sched_offcycle_run_is(struct store *, const char *run_id, bool *is);
int store_sched_schedule_get(struct store *, const char *feed, int64_t *seen,
                             int64_t *last_fire);
int store_sched_schedule_put(struct store *, const char *feed, int64_t seen,
                             int64_t last_fire);
int store_sched_lag_add(struct store *, const struct store_sched_lag *);
int store_sched_lag_list(struct store *, const char *feed, size_t limit,
                         int (*cb)(const struct store_sched_lag *, void *),
                         void *arg);

#endif
