/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* Scheduler tables for SQLite (migration 5) and their operations. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/sqlite_priv.h"
#include "store/store_sched.h"
#include "util/log.h"

/*
 * Released with migration 5; never edited afterwards. The triggers write
 * an event in the statement that makes the change, so the event commits
 * (or rolls back) with it: a SCIM PATCH active:false, a PUT, a DELETE and
 * an HRIS import's termination are all captured, whoever wrote them, and
 * a crash cannot separate the change from its event. They fire only on a
 * real transition, so re-sending `active: false` adds nothing.
 * strftime('%f') gives seconds with milliseconds, the store's format.
 */
const char sqlite_sched_schema[] =
    "CREATE TABLE offcycle_events (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  tenant_id INTEGER NOT NULL,\n"
    "  rid INTEGER NOT NULL,                -- resources.rid (a User)\n"
    "  cause TEXT NOT NULL,                 -- inactive | deleted\n"
    "  event_at TEXT NOT NULL,              -- the row's modified / "
    "deleted_at\n"
    "  received_at TEXT NOT NULL            -- when it was written\n"
    ");\n"
    "CREATE TRIGGER offcycle_inactive AFTER UPDATE OF active ON resources\n"
    "  WHEN NEW.type = 1 AND OLD.active = 1 AND NEW.active = 0\n"
    "    AND NEW.deleted_at IS NULL BEGIN\n"
    "  INSERT INTO offcycle_events (tenant_id, rid, cause, event_at, "
    "received_at)\n"
    "    VALUES (NEW.tenant_id, NEW.rid, 'inactive', NEW.modified,\n"
    "            strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));\n"
    "END;\n"
    "CREATE TRIGGER offcycle_deleted AFTER UPDATE OF deleted_at ON "
    "resources\n"
    "  WHEN NEW.type = 1 AND OLD.deleted_at IS NULL\n"
    "    AND NEW.deleted_at IS NOT NULL BEGIN\n"
    "  INSERT INTO offcycle_events (tenant_id, rid, cause, event_at, "
    "received_at)\n"
    "    VALUES (NEW.tenant_id, NEW.rid, 'deleted', NEW.deleted_at,\n"
    "            strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));\n"
    "END;\n"
    "CREATE TABLE offcycle_pending (\n"
    "  feed TEXT NOT NULL,\n"
    "  rid INTEGER NOT NULL,\n"
    "  event_at TEXT NOT NULL,\n"
    "  received_at TEXT NOT NULL,\n"
    "  run_id TEXT,                         -- the run carrying it\n"
    "  hold INTEGER NOT NULL DEFAULT 0,     -- 1: for the scheduled run\n"
    "  PRIMARY KEY (feed, rid)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX offcycle_pending_run ON offcycle_pending(run_id)\n"
    "  WHERE run_id IS NOT NULL;\n"
    "CREATE TABLE offcycle_runs (\n"
    "  run_id TEXT PRIMARY KEY,\n"
    "  feed TEXT NOT NULL,\n"
    "  at INTEGER NOT NULL                  -- Unix time rendered\n"
    ");\n"
    "CREATE INDEX offcycle_runs_feed ON offcycle_runs(feed, at);\n"
    "CREATE TABLE schedule_state (\n"
    "  feed TEXT PRIMARY KEY,\n"
    "  seen INTEGER NOT NULL,               -- Unix time first scheduled\n"
    "  last_fire INTEGER NOT NULL DEFAULT 0 -- Unix time of the last fire\n"
    ");\n"
    "CREATE TABLE termination_lag (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  feed TEXT NOT NULL,\n"
    "  run_id TEXT NOT NULL,\n"
    "  person_key TEXT NOT NULL,\n"
    "  rid INTEGER NOT NULL,\n"
    "  kind TEXT NOT NULL,                  -- offcycle | regular\n"
    "  event_at TEXT NOT NULL,\n"
    "  delivered_at TEXT NOT NULL,\n"
    "  lag_ms INTEGER NOT NULL\n"
    ");\n"
    "CREATE INDEX termination_lag_feed ON termination_lag(feed, id);\n";

#define SS_PENDING_COLS "feed, rid, event_at, received_at, run_id, hold"
#define SS_LAG_COLS                                                            \
	"id, feed, run_id, person_key, rid, kind, event_at, delivered_at, "    \
	"lag_ms"

static int
ss_fail(sqlite3 *db, const char *func)
{
	log_warnx("%s: %s", func, sqlite3_errmsg(db));
	return STORE_ERR;
}

/* These run a few times a second at most: prepared per call. */
static sqlite3_stmt *
ss_prepare(struct store *st, const char *sql, const char *func)
{
	sqlite3 *db = sqlite_store_db(st);
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		ss_fail(db, func);
		sqlite3_finalize(s);
		return NULL;
	}
	return s;
}

/* Step a statement that returns no rows and finalize it. */
static int
ss_done(struct store *st, sqlite3_stmt *s, const char *func)
{
	int rc = sqlite3_step(s), ret = STORE_OK;

	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = ss_fail(sqlite_store_db(st), func);
	sqlite3_finalize(s);
	return ret;
}

/* The caller's callback, one member per record type. */
struct ss_cb {
	int (*event)(const struct store_sched_event *, void *);
	int (*pending)(const struct store_sched_pending *, void *);
	int (*run)(const char *, void *);
	int (*at)(int64_t, void *);
	int (*lag)(const struct store_sched_lag *, void *);
	void *arg;
};

/* Rows to a callback through `row`; a non-zero callback stops early. */
static int
ss_walk(struct store *st, sqlite3_stmt *s,
        int (*row)(sqlite3_stmt *, const struct ss_cb *),
        const struct ss_cb *cb, const char *func)
{
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (row(s, cb) != 0)
			break;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		ss_fail(sqlite_store_db(st), func);
		sqlite3_finalize(s);
		return STORE_ERR;
	}
	sqlite3_finalize(s);
	return STORE_OK;
}

static int
ss_event_row(sqlite3_stmt *s, const struct ss_cb *cb)
{
	struct store_sched_event e;

	e.id = sqlite3_column_int64(s, 0);
	e.tenant_id = sqlite3_column_int64(s, 1);
	e.rid = sqlite3_column_int64(s, 2);
	e.cause = sqlite_col_str(s, 3);
	e.event_at = sqlite_col_str(s, 4);
	e.received_at = sqlite_col_str(s, 5);
	return cb->event(&e, cb->arg);
}

static int
ss_events_list(struct store *st, int64_t after, size_t max,
               int (*cb)(const struct store_sched_event *, void *), void *arg)
{
	sqlite3_stmt *s;

	s = ss_prepare(
	    st,
	    "SELECT id, tenant_id, rid, cause, event_at, received_at "
	    "FROM offcycle_events WHERE id > ?1 ORDER BY id LIMIT ?2",
	    __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(s, 1, after);
	sqlite3_bind_int64(s, 2, (int64_t)max);
	return ss_walk(st, s, ss_event_row,
	               &(struct ss_cb){.event = cb, .arg = arg}, __func__);
}

static int
ss_events_delete(struct store *st, int64_t upto)
{
	sqlite3_stmt *s;

	s = ss_prepare(st, "DELETE FROM offcycle_events WHERE id <= ?1",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(s, 1, upto);
	return ss_done(st, s, __func__);
}

static int
ss_pending_add(struct store *st, const struct store_sched_pending *p,
               bool *added)
{
	sqlite3_stmt *s;
	int rc;

	/* Text times of one format compare in time order. */
	s = ss_prepare(
	    st,
	    "INSERT INTO offcycle_pending (feed, rid, event_at, received_at, "
	    "hold) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (feed, rid) DO "
	    "UPDATE SET event_at = min(event_at, excluded.event_at), "
	    "received_at = min(received_at, excluded.received_at) "
	    "WHERE run_id IS NULL AND excluded.event_at < event_at",
	    __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, p->feed);
	sqlite3_bind_int64(s, 2, p->rid);
	sqlite_bind_str(s, 3, p->event_at);
	sqlite_bind_str(s, 4, p->received_at);
	sqlite3_bind_int(s, 5, p->hold);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE) {
		ss_fail(sqlite_store_db(st), __func__);
		sqlite3_finalize(s);
		return STORE_ERR;
	}
	if (added != NULL)
		*added = sqlite3_changes(sqlite_store_db(st)) > 0;
	sqlite3_finalize(s);
	return STORE_OK;
}

static int
ss_pending_row(sqlite3_stmt *s, const struct ss_cb *cb)
{
	struct store_sched_pending p;

	p.feed = sqlite_col_str(s, 0);
	p.rid = sqlite3_column_int64(s, 1);
	p.event_at = sqlite_col_str(s, 2);
	p.received_at = sqlite_col_str(s, 3);
	p.run_id = sqlite_col_str(s, 4);
	p.hold = sqlite3_column_int(s, 5) != 0;
	return cb->pending(&p, cb->arg);
}

static int
ss_pending_list(struct store *st, const char *feed, bool waiting,
                int (*cb)(const struct store_sched_pending *, void *),
                void *arg)
{
	sqlite3_stmt *s;

	s = ss_prepare(st,
	               "SELECT " SS_PENDING_COLS " FROM offcycle_pending "
	               "WHERE (?1 IS NULL OR feed = ?1) "
	               "AND (?2 = 0 OR run_id IS NULL) ORDER BY feed, rid",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, feed);
	sqlite3_bind_int(s, 2, waiting);
	return ss_walk(st, s, ss_pending_row,
	               &(struct ss_cb){.pending = cb, .arg = arg}, __func__);
}

static int
ss_pending_of_run(struct store *st, const char *run_id,
                  int (*cb)(const struct store_sched_pending *, void *),
                  void *arg)
{
	sqlite3_stmt *s;

	s = ss_prepare(st,
	               "SELECT " SS_PENDING_COLS " FROM offcycle_pending "
	               "WHERE run_id = ?1 ORDER BY feed, rid",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, run_id);
	return ss_walk(st, s, ss_pending_row,
	               &(struct ss_cb){.pending = cb, .arg = arg}, __func__);
}

static int
ss_pending_attach(struct store *st, const char *feed, int64_t rid,
                  const char *run_id)
{
	sqlite3_stmt *s;

	s = ss_prepare(st,
	               "UPDATE offcycle_pending SET run_id = ?3, hold = 0 "
	               "WHERE feed = ?1 AND (?2 = 0 OR rid = ?2) "
	               "AND run_id IS NULL",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, feed);
	sqlite3_bind_int64(s, 2, rid);
	sqlite_bind_str(s, 3, run_id);
	return ss_done(st, s, __func__);
}

static int
ss_pending_release(struct store *st, const char *run_id, bool hold)
{
	sqlite3_stmt *s;

	s = ss_prepare(st,
	               "UPDATE offcycle_pending SET run_id = NULL, hold = ?2 "
	               "WHERE run_id = ?1",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, run_id);
	sqlite3_bind_int(s, 2, hold);
	return ss_done(st, s, __func__);
}

static int
ss_pending_hold(struct store *st, const char *feed, int64_t rid)
{
	sqlite3_stmt *s;

	s = ss_prepare(st,
	               "UPDATE offcycle_pending SET hold = 1 WHERE feed = ?1 "
	               "AND rid = ?2 AND run_id IS NULL",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, feed);
	sqlite3_bind_int64(s, 2, rid);
	return ss_done(st, s, __func__);
}

static int
ss_pending_drop(struct store *st, const char *feed, int64_t rid)
{
	sqlite3_stmt *s;

	s = ss_prepare(st,
	               "DELETE FROM offcycle_pending WHERE feed = ?1 "
	               "AND rid = ?2 AND run_id IS NULL",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, feed);
	sqlite3_bind_int64(s, 2, rid);
	return ss_done(st, s, __func__);
}

static int
ss_pending_drop_run(struct store *st, const char *run_id)
{
	sqlite3_stmt *s;

	s = ss_prepare(st, "DELETE FROM offcycle_pending WHERE run_id = ?1",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, run_id);
	return ss_done(st, s, __func__);
}

static int
ss_run_row(sqlite3_stmt *s, const struct ss_cb *cb)
{
	return cb->run(sqlite_col_str(s, 0), cb->arg);
}

static int
ss_pending_runs(struct store *st, int (*cb)(const char *, void *), void *arg)
{
	sqlite3_stmt *s;

	s = ss_prepare(st,
	               "SELECT DISTINCT run_id FROM offcycle_pending "
	               "WHERE run_id IS NOT NULL",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	return ss_walk(st, s, ss_run_row,
	               &(struct ss_cb){.run = cb, .arg = arg}, __func__);
}

static int
ss_offcycle_run_add(struct store *st, const char *run_id, const char *feed,
                    int64_t at)
{
	sqlite3_stmt *s;

	s = ss_prepare(st,
	               "INSERT OR IGNORE INTO offcycle_runs (run_id, feed, at) "
	               "VALUES (?1, ?2, ?3)",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, run_id);
	sqlite_bind_str(s, 2, feed);
	sqlite3_bind_int64(s, 3, at);
	return ss_done(st, s, __func__);
}

static int
ss_at_row(sqlite3_stmt *s, const struct ss_cb *cb)
{
	return cb->at(sqlite3_column_int64(s, 0), cb->arg);
}

static int
ss_offcycle_runs_since(struct store *st, const char *feed, int64_t since,
                       int (*cb)(int64_t, void *), void *arg)
{
	sqlite3_stmt *s;

	s = ss_prepare(st,
	               "SELECT at FROM offcycle_runs WHERE feed = ?1 "
	               "AND at >= ?2 ORDER BY at",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, feed);
	sqlite3_bind_int64(s, 2, since);
	return ss_walk(st, s, ss_at_row, &(struct ss_cb){.at = cb, .arg = arg},
	               __func__);
}

static int
ss_offcycle_run_is(struct store *st, const char *run_id, bool *is)
{
	sqlite3_stmt *s;
	int rc;

	s = ss_prepare(st, "SELECT 1 FROM offcycle_runs WHERE run_id = ?1",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, run_id);
	rc = sqlite3_step(s);
	*is = rc == SQLITE_ROW;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		rc = ss_fail(sqlite_store_db(st), __func__);
	else
		rc = STORE_OK;
	sqlite3_finalize(s);
	return rc;
}

static int
ss_schedule_get(struct store *st, const char *feed, int64_t *seen,
                int64_t *last_fire)
{
	sqlite3_stmt *s;
	int rc;

	s = ss_prepare(st,
	               "SELECT seen, last_fire FROM schedule_state "
	               "WHERE feed = ?1",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, feed);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*seen = sqlite3_column_int64(s, 0);
		*last_fire = sqlite3_column_int64(s, 1);
		rc = STORE_OK;
	} else if (rc == SQLITE_DONE)
		rc = STORE_NOTFOUND;
	else
		rc = ss_fail(sqlite_store_db(st), __func__);
	sqlite3_finalize(s);
	return rc;
}

static int
ss_schedule_put(struct store *st, const char *feed, int64_t seen,
                int64_t last_fire)
{
	sqlite3_stmt *s;

	s = ss_prepare(st,
	               "INSERT INTO schedule_state (feed, seen, last_fire) "
	               "VALUES (?1, ?2, ?3) ON CONFLICT (feed) DO UPDATE SET "
	               "seen = excluded.seen, last_fire = excluded.last_fire",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, feed);
	sqlite3_bind_int64(s, 2, seen);
	sqlite3_bind_int64(s, 3, last_fire);
	return ss_done(st, s, __func__);
}

static int
ss_lag_add(struct store *st, const struct store_sched_lag *l)
{
	sqlite3_stmt *s;

	s = ss_prepare(st,
	               "INSERT INTO termination_lag (feed, run_id, person_key, "
	               "rid, kind, event_at, delivered_at, lag_ms) VALUES "
	               "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, l->feed);
	sqlite_bind_str(s, 2, l->run_id);
	sqlite_bind_str(s, 3, l->person_key);
	sqlite3_bind_int64(s, 4, l->rid);
	sqlite_bind_str(s, 5, l->kind);
	sqlite_bind_str(s, 6, l->event_at);
	sqlite_bind_str(s, 7, l->delivered_at);
	sqlite3_bind_int64(s, 8, l->lag_ms);
	return ss_done(st, s, __func__);
}

static int
ss_lag_row(sqlite3_stmt *s, const struct ss_cb *cb)
{
	struct store_sched_lag l;

	l.id = sqlite3_column_int64(s, 0);
	l.feed = sqlite_col_str(s, 1);
	l.run_id = sqlite_col_str(s, 2);
	l.person_key = sqlite_col_str(s, 3);
	l.rid = sqlite3_column_int64(s, 4);
	l.kind = sqlite_col_str(s, 5);
	l.event_at = sqlite_col_str(s, 6);
	l.delivered_at = sqlite_col_str(s, 7);
	l.lag_ms = sqlite3_column_int64(s, 8);
	return cb->lag(&l, cb->arg);
}

static int
ss_lag_list(struct store *st, const char *feed, size_t limit,
            int (*cb)(const struct store_sched_lag *, void *), void *arg)
{
	sqlite3_stmt *s;

	s = ss_prepare(st,
	               "SELECT " SS_LAG_COLS " FROM termination_lag "
	               "WHERE (?1 IS NULL OR feed = ?1) "
	               "ORDER BY id DESC LIMIT ?2",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, feed);
	sqlite3_bind_int64(s, 2, (int64_t)limit);
	return ss_walk(st, s, ss_lag_row,
	               &(struct ss_cb){.lag = cb, .arg = arg}, __func__);
}

const struct store_sched_ops sqlite_sched_ops = {
    .events_list = ss_events_list,
    .events_delete = ss_events_delete,
    .pending_add = ss_pending_add,
    .pending_list = ss_pending_list,
    .pending_of_run = ss_pending_of_run,
    .pending_attach = ss_pending_attach,
    .pending_release = ss_pending_release,
    .pending_hold = ss_pending_hold,
    .pending_drop = ss_pending_drop,
    .pending_drop_run = ss_pending_drop_run,
    .pending_runs = ss_pending_runs,
    .offcycle_run_add = ss_offcycle_run_add,
    .offcycle_runs_since = ss_offcycle_runs_since,
    .offcycle_run_is = ss_offcycle_run_is,
    .schedule_get = ss_schedule_get,
    .schedule_put = ss_schedule_put,
    .lag_add = ss_lag_add,
    .lag_list = ss_lag_list,
};
