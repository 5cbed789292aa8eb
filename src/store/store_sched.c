/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* The backend-independent side of the scheduler tables: dispatch. */
#include "store/store_backend.h"
#include "store/store_sched.h"

static const struct store_sched_ops *
sso(struct store *st)
{
	return st->ops->sched;
}

int
store_sched_events_list(struct store *st, int64_t after, size_t max,
                        int (*cb)(const struct store_sched_event *, void *),
                        void *arg)
{
	return sso(st)->events_list(st, after, max, cb, arg);
}

int
store_sched_events_delete(struct store *st, int64_t upto)
{
	return sso(st)->events_delete(st, upto);
}

int
store_sched_pending_add(struct store *st, const struct store_sched_pending *p,
                        bool *added)
{
	return sso(st)->pending_add(st, p, added);
}

int
store_sched_pending_list(struct store *st, const char *feed, bool waiting,
                         int (*cb)(const struct store_sched_pending *, void *),
                         void *arg)
{
	return sso(st)->pending_list(st, feed, waiting, cb, arg);
}

int
store_sched_pending_of_run(struct store *st, const char *run_id,
                           int (*cb)(const struct store_sched_pending *,
                                     void *),
                           void *arg)
{
	return sso(st)->pending_of_run(st, run_id, cb, arg);
}

int
store_sched_pending_attach(struct store *st, const char *feed, int64_t rid,
                           const char *run_id)
{
	return sso(st)->pending_attach(st, feed, rid, run_id);
}

int
store_sched_pending_release(struct store *st, const char *run_id, bool hold)
{
	return sso(st)->pending_release(st, run_id, hold);
}

int
store_sched_pending_hold(struct store *st, const char *feed, int64_t rid)
{
	return sso(st)->pending_hold(st, feed, rid);
}

int
store_sched_pending_drop(struct store *st, const char *feed, int64_t rid)
{
	return sso(st)->pending_drop(st, feed, rid);
}

int
store_sched_pending_drop_run(struct store *st, const char *run_id)
{
	return sso(st)->pending_drop_run(st, run_id);
}

int
store_sched_pending_runs(struct store *st, int (*cb)(const char *, void *),
                         void *arg)
{
	return sso(st)->pending_runs(st, cb, arg);
}

int
store_sched_offcycle_run_add(struct store *st, const char *run_id,
                             const char *feed, int64_t at)
{
	return sso(st)->offcycle_run_add(st, run_id, feed, at);
}

int
store_sched_offcycle_runs_since(struct store *st, const char *feed,
                                int64_t since, int (*cb)(int64_t, void *),
                                void *arg)
{
	return sso(st)->offcycle_runs_since(st, feed, since, cb, arg);
}

int
store_sched_offcycle_run_is(struct store *st, const char *run_id, bool *is)
{
	return sso(st)->offcycle_run_is(st, run_id, is);
}

int
store_sched_schedule_get(struct store *st, const char *feed, int64_t *seen,
                         int64_t *last_fire)
{
	return sso(st)->schedule_get(st, feed, seen, last_fire);
}

int
store_sched_schedule_put(struct store *st, const char *feed, int64_t seen,
                         int64_t last_fire)
{
	return sso(st)->schedule_put(st, feed, seen, last_fire);
}

int
store_sched_lag_add(struct store *st, const struct store_sched_lag *l)
{
	return sso(st)->lag_add(st, l);
}

int
store_sched_lag_list(struct store *st, const char *feed, size_t limit,
                     int (*cb)(const struct store_sched_lag *, void *),
                     void *arg)
{
	return sso(st)->lag_list(st, feed, limit, cb, arg);
}
