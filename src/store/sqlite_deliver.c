/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * The delivery tables for SQLite: migrations 4 and 9 and struct
 * store_deliver_ops.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/sqlite_priv.h"
#include "store/store_deliver.h"
#include "util/log.h"
#include "util/xmalloc.h"

/*
 * Migration 4. Released with it; never edited afterwards. The partial
 * unique index keeps at most one active delivery per feed, whatever the
 * callers do; its state list must match DL_ACTIVE.
 */
const char sqlite_deliver_schema[] =
    "CREATE TABLE deliveries (\n"
    "  run_id TEXT PRIMARY KEY,              -- feed_runs.id\n"
    "  feed TEXT NOT NULL,\n"
    "  seq INTEGER NOT NULL,                 -- feed_runs.seq\n"
    "  state TEXT NOT NULL CHECK (state IN ('rendered', 'encrypted',\n"
    "    'uploading', 'delivered', 'acknowledged', 'failed')),\n"
    "  failed_from TEXT,                     -- state a failure stopped\n"
    "  destination TEXT NOT NULL,            -- URL when it started\n"
    "  plain_path TEXT NOT NULL,             -- the rendered file\n"
    "  enc_path TEXT,                        -- the encrypted copy\n"
    "  remote_name TEXT NOT NULL,\n"
    "  size INTEGER NOT NULL DEFAULT -1,     -- manifest: bytes sent\n"
    "  sha256 TEXT,                          -- manifest: hex\n"
    "  attempts INTEGER NOT NULL DEFAULT 0,\n"
    "  next_attempt_at TEXT,\n"
    "  last_error TEXT,\n"
    "  created TEXT NOT NULL,\n"
    "  updated TEXT NOT NULL,\n"
    "  encrypted_at TEXT,\n"
    "  delivered_at TEXT,\n"
    "  acknowledged_at TEXT\n"
    ");\n"
    "CREATE UNIQUE INDEX deliveries_active ON deliveries(feed)\n"
    "  WHERE state IN ('rendered', 'encrypted', 'uploading');\n"
    "CREATE INDEX deliveries_feed ON deliveries(feed, seq);\n"
    "CREATE TABLE delivery_attempts (\n"
    "  run_id TEXT NOT NULL REFERENCES deliveries(run_id),\n"
    "  n INTEGER NOT NULL,\n"
    "  started TEXT NOT NULL,\n"
    "  ended TEXT,\n"
    "  outcome TEXT,                         -- sent found retry failed "
    "interrupted\n"
    "  error TEXT,\n"
    "  PRIMARY KEY (run_id, n)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE return_files (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  feed TEXT NOT NULL,\n"
    "  name TEXT NOT NULL,                   -- name on the server\n"
    "  size INTEGER NOT NULL,\n"
    "  downloaded_at TEXT NOT NULL,\n"
    "  archive_path TEXT NOT NULL,           -- the copy as downloaded\n"
    "  run_id TEXT,                          -- the run it answers\n"
    "  records INTEGER NOT NULL DEFAULT 0,\n"
    "  rejected INTEGER NOT NULL DEFAULT 0,\n"
    "  signer TEXT,                          -- good PGP signature by\n"
    "  error TEXT,                           -- why it was unreadable\n"
    "  UNIQUE (feed, name)\n"
    ");\n"
    "CREATE INDEX return_files_run ON return_files(run_id);\n"
    "CREATE TABLE return_records (\n"
    "  file_id INTEGER NOT NULL REFERENCES return_files(id),\n"
    "  row INTEGER NOT NULL,                 -- CSV row (header is 1)\n"
    "  run_id TEXT,\n"
    "  key TEXT NOT NULL,\n"
    "  status TEXT NOT NULL,\n"
    "  message TEXT,\n"
    "  accepted INTEGER NOT NULL CHECK (accepted IN (0, 1)),\n"
    "  PRIMARY KEY (file_id, row)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX return_records_run ON return_records(run_id, accepted);\n";

/*
 * Migration 9: a return file name may be collected again when the file
 * changes on the server (vendors that rewrite eligibility_results.csv every
 * day), so return_files is keyed by (feed, name, version) and remembers the
 * remote size and modification time seen when each version was collected
 * (-1: unknown). SQLite cannot change a UNIQUE constraint in place: the
 * table is rebuilt as https://www.sqlite.org/lang_altertable.html says
 * ("Making Other Kinds Of Table Schema Changes"): create the new table,
 * copy, drop the old one, rename the new one to the old name, so that
 * return_records' REFERENCES return_files(id) names the new table.
 * sq_migrate runs it with foreign keys off and checks them before COMMIT.
 * Existing rows keep their ids and become version 1; the size downloaded
 * is the remote size they had. Released with it; never edited afterwards.
 */
const char sqlite_deliver_schema_v9[] =
    "CREATE TABLE return_files_v9 (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  feed TEXT NOT NULL,\n"
    "  name TEXT NOT NULL,                   -- name on the server\n"
    "  version INTEGER NOT NULL DEFAULT 1,   -- 2, 3...: changed on the "
    "server\n"
    "  size INTEGER NOT NULL,\n"
    "  remote_size INTEGER NOT NULL DEFAULT -1,  -- stat before download\n"
    "  remote_mtime INTEGER NOT NULL DEFAULT -1, -- epoch s; -1 unknown\n"
    "  downloaded_at TEXT NOT NULL,\n"
    "  archive_path TEXT NOT NULL,           -- the copy as downloaded\n"
    "  run_id TEXT,                          -- the run it answers\n"
    "  records INTEGER NOT NULL DEFAULT 0,\n"
    "  rejected INTEGER NOT NULL DEFAULT 0,\n"
    "  signer TEXT,                          -- good PGP signature by\n"
    "  error TEXT,                           -- why it was unreadable\n"
    "  UNIQUE (feed, name, version)\n"
    ");\n"
    "INSERT INTO return_files_v9 (id, feed, name, version, size, "
    "remote_size,\n"
    "  remote_mtime, downloaded_at, archive_path, run_id, records, "
    "rejected,\n"
    "  signer, error)\n"
    "  SELECT id, feed, name, 1, size, size, -1, downloaded_at, "
    "archive_path,\n"
    "    run_id, records, rejected, signer, error FROM return_files;\n"
    "DROP TABLE return_files;\n"
    "ALTER TABLE return_files_v9 RENAME TO return_files;\n"
    "CREATE INDEX return_files_run ON return_files(run_id);\n";

#define DL_ACTIVE "('rendered', 'encrypted', 'uploading')"

#define DL_COLS                                                                \
	"run_id, feed, seq, state, failed_from, destination, plain_path, "     \
	"enc_path, remote_name, size, sha256, attempts, next_attempt_at, "     \
	"last_error, created, updated, encrypted_at, delivered_at, "           \
	"acknowledged_at"

#define DL_RET_COLS                                                            \
	"id, feed, name, size, downloaded_at, archive_path, run_id, records, " \
	"rejected, signer, error, version, remote_size, remote_mtime"

static int
dl_fail(sqlite3 *db, const char *func)
{
	log_warnx("%s: %s", func, sqlite3_errmsg(db));
	return STORE_ERR;
}

static sqlite3_stmt *
dl_prepare(sqlite3 *db, const char *sql, const char *func)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		dl_fail(db, func);
		sqlite3_finalize(s);
		return NULL;
	}
	return s;
}

/* Step a statement without result rows, then finalize it. */
static int
dl_run(sqlite3 *db, sqlite3_stmt *s, const char *func)
{
	int rc, ret = STORE_OK;

	if (s == NULL)
		return STORE_ERR;
	rc = sqlite3_step(s);
	if (rc == SQLITE_CONSTRAINT)
		rc = sqlite3_extended_errcode(db);
	if (rc == SQLITE_CONSTRAINT_UNIQUE ||
	    rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		ret = STORE_CONFLICT;
	else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY ||
	         rc == SQLITE_CONSTRAINT_CHECK)
		ret = STORE_INVALID;
	else if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = dl_fail(db, func);
	sqlite3_finalize(s);
	return ret;
}

static int
dl_exec(sqlite3 *db, const char *sql, const char *func)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return dl_fail(db, func);
	return STORE_OK;
}

/*
 * Several statements as one: a transaction of their own outside one
 * (IMMEDIATE, so that the write lock is taken before anything is read),
 * a savepoint inside the caller's.
 */
static int
dl_tx_begin(sqlite3 *db, bool *own)
{
	*own = sqlite3_get_autocommit(db) != 0;
	return dl_exec(db, *own ? "BEGIN IMMEDIATE" : "SAVEPOINT deliver",
	               __func__);
}

static int
dl_tx_end(sqlite3 *db, bool own, int rc)
{
	if (rc == STORE_OK && dl_exec(db, own ? "COMMIT" : "RELEASE deliver",
	                              __func__) == STORE_OK)
		return STORE_OK;
	if (rc == STORE_OK)
		rc = STORE_ERR;
	if (own) {
		if (!sqlite3_get_autocommit(db))
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	} else {
		sqlite3_exec(db, "ROLLBACK TO deliver; RELEASE deliver", NULL,
		             NULL, NULL);
	}
	return rc;
}

static void
dl_row(sqlite3_stmt *s, struct store_delivery *d)
{
	int i = 0;

	memset(d, 0, sizeof(*d));
	d->run_id = sqlite_col_dup(s, i++);
	d->feed = sqlite_col_dup(s, i++);
	d->seq = sqlite3_column_int64(s, i++);
	d->state = sqlite_col_dup(s, i++);
	d->failed_from = sqlite_col_dup(s, i++);
	d->destination = sqlite_col_dup(s, i++);
	d->plain_path = sqlite_col_dup(s, i++);
	d->enc_path = sqlite_col_dup(s, i++);
	d->remote_name = sqlite_col_dup(s, i++);
	d->size = sqlite3_column_int64(s, i++);
	d->sha256 = sqlite_col_dup(s, i++);
	d->attempts = sqlite3_column_int64(s, i++);
	d->next_attempt_at = sqlite_col_dup(s, i++);
	d->last_error = sqlite_col_dup(s, i++);
	d->created = sqlite_col_dup(s, i++);
	d->updated = sqlite_col_dup(s, i++);
	d->encrypted_at = sqlite_col_dup(s, i++);
	d->delivered_at = sqlite_col_dup(s, i++);
	d->acknowledged_at = sqlite_col_dup(s, i);
}

static int
dl_get(struct store *st, const char *run_id, struct store_delivery *d)
{
	sqlite3 *db = sqlite_store_db(st);
	sqlite3_stmt *s;
	int rc;

	s = dl_prepare(db,
	               "SELECT " DL_COLS " FROM deliveries WHERE run_id = ?1",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, run_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		dl_row(s, d);
		rc = STORE_OK;
	} else if (rc == SQLITE_DONE)
		rc = STORE_NOTFOUND;
	else
		rc = dl_fail(db, __func__);
	sqlite3_finalize(s);
	return rc;
}

/* The feed's active delivery as "run_x (state)", or NULL. */
static char *
dl_active(sqlite3 *db, const char *feed, const char *except)
{
	sqlite3_stmt *s;
	char *out = NULL;

	s = dl_prepare(db,
	               "SELECT run_id, state FROM deliveries WHERE feed = ?1 "
	               "AND state IN " DL_ACTIVE " AND run_id != ?2",
	               __func__);
	if (s == NULL)
		return NULL;
	sqlite_bind_str(s, 1, feed);
	sqlite_bind_str(s, 2, except != NULL ? except : "");
	if (sqlite3_step(s) == SQLITE_ROW)
		out = xasprintf("%s (%s)", sqlite_col_str(s, 0),
		                sqlite_col_str(s, 1));
	sqlite3_finalize(s);
	return out;
}

/*
 * An earlier run of d's feed whose delivery failed and that was not
 * discarded, or NULL: a change file sent after it would
 * leave the vendor without that run's changes.
 */
static char *
dl_failed_before(sqlite3 *db, const struct store_delivery *d)
{
	sqlite3_stmt *s;
	char *id = NULL;

	s = dl_prepare(db,
	               "SELECT r.id FROM feed_runs r JOIN deliveries x ON "
	               "x.run_id = r.id WHERE r.feed = ?1 AND r.seq < ?2 AND "
	               "r.state <> 'discarded' AND x.state = 'failed' ORDER "
	               "BY r.seq LIMIT 1",
	               __func__);
	if (s == NULL)
		return NULL;
	sqlite_bind_str(s, 1, d->feed);
	sqlite3_bind_int64(s, 2, d->seq);
	if (sqlite3_step(s) == SQLITE_ROW)
		id = sqlite_col_dup(s, 0);
	sqlite3_finalize(s);
	return id;
}

/* Read the run's feed, seq and state; STORE_INVALID when not deliverable. */
static int
dl_create_checks(sqlite3 *db, struct store_delivery *d, char **cause)
{
	sqlite3_stmt *s;
	char *busy;
	int rc;

	s = dl_prepare(db,
	               "SELECT feed, seq, state, (SELECT state FROM deliveries "
	               "WHERE run_id = ?1) FROM feed_runs WHERE id = ?1",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, d->run_id);
	if ((rc = sqlite3_step(s)) == SQLITE_DONE) {
		store_set_cause(cause, "no run %s", d->run_id);
		rc = STORE_INVALID;
	} else if (rc != SQLITE_ROW)
		rc = dl_fail(db, __func__);
	else if (sqlite3_column_type(s, 3) != SQLITE_NULL) {
		store_set_cause(cause, "run %s already has a delivery (%s)",
		                d->run_id, sqlite_col_str(s, 3));
		rc = STORE_CONFLICT;
	} else if (strcmp(sqlite_col_str(s, 2), STORE_DELIVER_RENDERED) != 0) {
		store_set_cause(cause,
		                "run %s is %s; only a rendered run can be "
		                "delivered",
		                d->run_id, sqlite_col_str(s, 2));
		rc = STORE_INVALID;
	} else {
		free(d->feed);
		d->feed = sqlite_col_dup(s, 0);
		d->seq = sqlite3_column_int64(s, 1);
		rc = STORE_OK;
	}
	sqlite3_finalize(s);
	if (rc == STORE_OK && (busy = dl_failed_before(db, d)) != NULL) {
		store_set_cause(
		    cause,
		    "run %s of feed %s came before run %s and its "
		    "delivery failed; retry it with `rosterd deliver "
		    "%s --retry` or discard it with `rosterd feed "
		    "discard %s --reason TEXT` first",
		    busy, d->feed, d->run_id, busy, busy);
		free(busy);
		rc = STORE_BLOCKED;
	}
	if (rc == STORE_OK && (busy = dl_active(db, d->feed, NULL)) != NULL) {
		store_set_cause(cause,
		                "feed %s is already delivering run %s; one "
		                "delivery per feed at a time",
		                d->feed, busy);
		free(busy);
		rc = STORE_CONFLICT;
	}
	return rc;
}

static int
dl_create(struct store *st, struct store_delivery *d, char **cause)
{
	sqlite3 *db = sqlite_store_db(st);
	sqlite3_stmt *s;
	char now[32];
	bool own;
	int rc;

	if (dl_tx_begin(db, &own) != STORE_OK)
		return STORE_ERR;
	if ((rc = dl_create_checks(db, d, cause)) != STORE_OK)
		return dl_tx_end(db, own, rc);
	store_now(now, sizeof(now));
	s = dl_prepare(db,
	               "INSERT INTO deliveries (run_id, feed, seq, state, "
	               "destination, plain_path, remote_name, created, "
	               "updated) VALUES (?1, ?2, ?3, 'rendered', ?4, ?5, ?6, "
	               "?7, ?7)",
	               __func__);
	if (s != NULL) {
		sqlite_bind_str(s, 1, d->run_id);
		sqlite_bind_str(s, 2, d->feed);
		sqlite3_bind_int64(s, 3, d->seq);
		sqlite_bind_str(s, 4, d->destination);
		sqlite_bind_str(s, 5, d->plain_path);
		sqlite_bind_str(s, 6, d->remote_name);
		sqlite_bind_str(s, 7, now);
	}
	rc = dl_run(db, s, __func__);
	if (rc == STORE_CONFLICT)
		store_set_cause(cause, "feed %s is already delivering a run",
		                d->feed);
	return dl_tx_end(db, own, rc);
}

/*
 * The feed run follows the delivery: its state and an event, stamped to
 * the second like the feed engine's own events.
 */
static int
dl_mirror(sqlite3 *db, const struct store_delivery *d, const char *from,
          const char *now, const char *note)
{
	sqlite3_stmt *s;
	char at[32];
	int rc;

	snprintf(at, sizeof(at), "%.19sZ", now);

	s = dl_prepare(db,
	               "UPDATE feed_runs SET state = ?2, updated = ?3, "
	               "error = CASE WHEN ?2 = 'failed' THEN ?4 END "
	               "WHERE id = ?1",
	               __func__);
	if (s != NULL) {
		sqlite_bind_str(s, 1, d->run_id);
		sqlite_bind_str(s, 2, d->state);
		sqlite_bind_str(s, 3, at);
		sqlite_bind_str(s, 4, d->last_error);
	}
	if ((rc = dl_run(db, s, __func__)) != STORE_OK)
		return rc;
	s = dl_prepare(db,
	               "INSERT INTO feed_run_events (run_id, at, from_state, "
	               "to_state, actor, note) VALUES (?1, ?2, ?3, ?4, "
	               "'deliver', ?5)",
	               __func__);
	if (s != NULL) {
		sqlite_bind_str(s, 1, d->run_id);
		sqlite_bind_str(s, 2, at);
		sqlite_bind_str(s, 3, from);
		sqlite_bind_str(s, 4, d->state);
		sqlite_bind_str(s, 5, note);
	}
	return dl_run(db, s, __func__);
}

static int
dl_advance(struct store *st, const struct store_delivery *d, const char *from,
           const char *note)
{
	sqlite3 *db = sqlite_store_db(st);
	sqlite3_stmt *s;
	char now[32];
	bool own;
	int rc;

	if (dl_tx_begin(db, &own) != STORE_OK)
		return STORE_ERR;
	store_now(now, sizeof(now));
	s = dl_prepare(
	    db,
	    "UPDATE deliveries SET state = ?2, enc_path = ?3, size = ?4, "
	    "sha256 = ?5, next_attempt_at = ?6, last_error = ?7, "
	    "failed_from = ?8, updated = ?9, attempts = ?11, "
	    "encrypted_at = CASE WHEN ?2 = 'encrypted' THEN ?9 "
	    "ELSE encrypted_at END, "
	    "delivered_at = CASE WHEN ?2 = 'delivered' THEN ?9 "
	    "ELSE delivered_at END, "
	    "acknowledged_at = CASE WHEN ?2 = 'acknowledged' THEN ?9 "
	    "ELSE acknowledged_at END "
	    "WHERE run_id = ?1 AND state = ?10 AND NOT EXISTS (SELECT 1 "
	    "FROM feed_runs WHERE id = ?1 AND state = 'discarded')",
	    __func__);
	if (s != NULL) {
		sqlite_bind_str(s, 1, d->run_id);
		sqlite_bind_str(s, 2, d->state);
		sqlite_bind_str(s, 3, d->enc_path);
		sqlite3_bind_int64(s, 4, d->size);
		sqlite_bind_str(s, 5, d->sha256);
		sqlite_bind_str(s, 6, d->next_attempt_at);
		sqlite_bind_str(s, 7, d->last_error);
		sqlite_bind_str(s, 8, d->failed_from);
		sqlite_bind_str(s, 9, now);
		sqlite_bind_str(s, 10, from);
		sqlite3_bind_int64(s, 11, d->attempts);
	}
	if ((rc = dl_run(db, s, __func__)) == STORE_OK &&
	    sqlite3_changes(db) == 0)
		rc = STORE_CONFLICT;
	if (rc == STORE_OK && strcmp(from, d->state) != 0)
		rc = dl_mirror(db, d, from, now, note);
	return dl_tx_end(db, own, rc);
}

static int
dl_attempt_begin(struct store *st, const char *run_id, int64_t *n)
{
	sqlite3 *db = sqlite_store_db(st);
	sqlite3_stmt *s;
	char now[32];
	bool own;
	int rc;

	if (dl_tx_begin(db, &own) != STORE_OK)
		return STORE_ERR;
	store_now(now, sizeof(now));
	s = dl_prepare(db,
	               "UPDATE delivery_attempts SET ended = ?2, outcome = "
	               "'interrupted' WHERE run_id = ?1 AND ended IS NULL",
	               __func__);
	if (s != NULL) {
		sqlite_bind_str(s, 1, run_id);
		sqlite_bind_str(s, 2, now);
	}
	if ((rc = dl_run(db, s, __func__)) != STORE_OK)
		return dl_tx_end(db, own, rc);
	s = dl_prepare(db,
	               "UPDATE deliveries SET attempts = attempts + 1, "
	               "updated = ?2 WHERE run_id = ?1 RETURNING (SELECT "
	               "coalesce(max(n), 0) + 1 FROM delivery_attempts WHERE "
	               "run_id = ?1)",
	               __func__);
	if (s == NULL)
		return dl_tx_end(db, own, STORE_ERR);
	sqlite_bind_str(s, 1, run_id);
	sqlite_bind_str(s, 2, now);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*n = sqlite3_column_int64(s, 0);
		rc = STORE_OK;
	} else
		rc = rc == SQLITE_DONE ? STORE_NOTFOUND : dl_fail(db, __func__);
	sqlite3_finalize(s);
	if (rc != STORE_OK)
		return dl_tx_end(db, own, rc);
	s = dl_prepare(db,
	               "INSERT INTO delivery_attempts (run_id, n, started) "
	               "VALUES (?1, ?2, ?3)",
	               __func__);
	if (s != NULL) {
		sqlite_bind_str(s, 1, run_id);
		sqlite3_bind_int64(s, 2, *n);
		sqlite_bind_str(s, 3, now);
	}
	return dl_tx_end(db, own, dl_run(db, s, __func__));
}

static int
dl_attempt_end(struct store *st, const char *run_id, int64_t n,
               const char *outcome, const char *error)
{
	sqlite3 *db = sqlite_store_db(st);
	sqlite3_stmt *s;
	char now[32];

	store_now(now, sizeof(now));
	s = dl_prepare(db,
	               "UPDATE delivery_attempts SET ended = ?3, outcome = ?4, "
	               "error = ?5 WHERE run_id = ?1 AND n = ?2",
	               __func__);
	if (s != NULL) {
		sqlite_bind_str(s, 1, run_id);
		sqlite3_bind_int64(s, 2, n);
		sqlite_bind_str(s, 3, now);
		sqlite_bind_str(s, 4, outcome);
		sqlite_bind_str(s, 5, error);
	}
	return dl_run(db, s, __func__);
}

static int
dl_attempts(struct store *st, const char *run_id,
            int (*cb)(const struct store_delivery_attempt *, void *), void *arg)
{
	sqlite3 *db = sqlite_store_db(st);
	struct store_delivery_attempt a;
	sqlite3_stmt *s;
	int rc;

	s = dl_prepare(db,
	               "SELECT run_id, n, started, ended, outcome, error FROM "
	               "delivery_attempts WHERE run_id = ?1 ORDER BY n",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, run_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		a.run_id = sqlite_col_str(s, 0);
		a.n = sqlite3_column_int64(s, 1);
		a.started = sqlite_col_str(s, 2);
		a.ended = sqlite_col_str(s, 3);
		a.outcome = sqlite_col_str(s, 4);
		a.error = sqlite_col_str(s, 5);
		if (cb(&a, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	rc = rc == SQLITE_DONE ? STORE_OK : dl_fail(db, __func__);
	sqlite3_finalize(s);
	return rc;
}

static int
dl_list(struct store *st, const char *feed,
        int (*cb)(const struct store_delivery *, void *), void *arg)
{
	sqlite3 *db = sqlite_store_db(st);
	struct store_delivery d;
	sqlite3_stmt *s;
	int rc, stop = 0;

	s = dl_prepare(db,
	               "SELECT " DL_COLS " FROM deliveries WHERE feed = ?1 "
	               "ORDER BY seq DESC",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, feed);
	while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		dl_row(s, &d);
		stop = cb(&d, arg);
		store_delivery_clear(&d);
	}
	rc = stop || rc == SQLITE_DONE ? STORE_OK : dl_fail(db, __func__);
	sqlite3_finalize(s);
	return rc;
}

static int
dl_pending(struct store *st, int (*cb)(const char *, const char *, void *),
           void *arg)
{
	sqlite3 *db = sqlite_store_db(st);
	sqlite3_stmt *s;
	int rc, stop = 0;

	s = dl_prepare(db,
	               "SELECT r.id, r.feed FROM feed_runs r LEFT JOIN "
	               "deliveries d ON d.run_id = r.id WHERE (d.run_id IS "
	               "NULL AND r.state = 'rendered') OR d.state IN " DL_ACTIVE
	               " ORDER BY r.created, r.feed, r.seq",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW)
		stop = cb(sqlite_col_str(s, 0), sqlite_col_str(s, 1), arg);
	rc = stop || rc == SQLITE_DONE ? STORE_OK : dl_fail(db, __func__);
	sqlite3_finalize(s);
	return rc;
}

static int
dl_return_add(struct store *st, struct store_return_file *f)
{
	sqlite3 *db = sqlite_store_db(st);
	sqlite3_stmt *s;
	int rc;

	s = dl_prepare(db,
	               "INSERT INTO return_files (feed, name, size, "
	               "downloaded_at, archive_path, run_id, records, "
	               "rejected, signer, error, version, remote_size, "
	               "remote_mtime) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
	               "?9, ?10, ?11, ?12, ?13)",
	               __func__);
	if (s != NULL) {
		sqlite_bind_str(s, 1, f->feed);
		sqlite_bind_str(s, 2, f->name);
		sqlite3_bind_int64(s, 3, f->size);
		sqlite_bind_str(s, 4, f->downloaded_at);
		sqlite_bind_str(s, 5, f->archive_path);
		sqlite_bind_str(s, 6, f->run_id);
		sqlite3_bind_int64(s, 7, f->records);
		sqlite3_bind_int64(s, 8, f->rejected);
		sqlite_bind_str(s, 9, f->signer);
		sqlite_bind_str(s, 10, f->error);
		sqlite3_bind_int64(s, 11, f->version);
		sqlite3_bind_int64(s, 12, f->remote_size);
		sqlite3_bind_int64(s, 13, f->remote_mtime);
	}
	if ((rc = dl_run(db, s, __func__)) == STORE_OK)
		f->id = sqlite3_last_insert_rowid(db);
	return rc;
}

static int
dl_return_records_add(struct store *st, const struct store_return_record *r,
                      size_t n)
{
	sqlite3 *db = sqlite_store_db(st);
	sqlite3_stmt *s;
	int rc = SQLITE_DONE;
	size_t i;

	s = dl_prepare(db,
	               "INSERT INTO return_records (file_id, row, run_id, key, "
	               "status, message, accepted) VALUES (?1, ?2, ?3, ?4, ?5, "
	               "?6, ?7)",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	for (i = 0; i < n && rc == SQLITE_DONE; i++) {
		sqlite3_bind_int64(s, 1, r[i].file_id);
		sqlite3_bind_int64(s, 2, r[i].row);
		sqlite_bind_str(s, 3, r[i].run_id);
		sqlite_bind_str(s, 4, r[i].key);
		sqlite_bind_str(s, 5, r[i].status);
		sqlite_bind_str(s, 6, r[i].message);
		sqlite3_bind_int(s, 7, r[i].accepted ? 1 : 0);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
	}
	if (rc == SQLITE_CONSTRAINT)
		rc = sqlite3_extended_errcode(db);
	rc = rc == SQLITE_DONE                    ? STORE_OK
	     : rc == SQLITE_CONSTRAINT_PRIMARYKEY ? STORE_CONFLICT
	                                          : dl_fail(db, __func__);
	sqlite3_finalize(s);
	return rc;
}

static int
dl_return_finish(struct store *st, int64_t id, int64_t records,
                 int64_t rejected, const char *error)
{
	sqlite3 *db = sqlite_store_db(st);
	sqlite3_stmt *s;

	s = dl_prepare(db,
	               "UPDATE return_files SET records = ?2, rejected = ?3, "
	               "error = ?4 WHERE id = ?1",
	               __func__);
	if (s != NULL) {
		sqlite3_bind_int64(s, 1, id);
		sqlite3_bind_int64(s, 2, records);
		sqlite3_bind_int64(s, 3, rejected);
		sqlite_bind_str(s, 4, error);
	}
	return dl_run(db, s, __func__);
}

static void
dl_ret_row(sqlite3_stmt *s, struct store_return_file *f)
{
	memset(f, 0, sizeof(*f));
	f->id = sqlite3_column_int64(s, 0);
	f->feed = sqlite_col_dup(s, 1);
	f->name = sqlite_col_dup(s, 2);
	f->size = sqlite3_column_int64(s, 3);
	f->downloaded_at = sqlite_col_dup(s, 4);
	f->archive_path = sqlite_col_dup(s, 5);
	f->run_id = sqlite_col_dup(s, 6);
	f->records = sqlite3_column_int64(s, 7);
	f->rejected = sqlite3_column_int64(s, 8);
	f->signer = sqlite_col_dup(s, 9);
	f->error = sqlite_col_dup(s, 10);
	f->version = sqlite3_column_int64(s, 11);
	f->remote_size = sqlite3_column_int64(s, 12);
	f->remote_mtime = sqlite3_column_int64(s, 13);
}

static int
dl_return_latest(struct store *st, const char *feed, const char *name,
                 struct store_return_file *f)
{
	sqlite3 *db = sqlite_store_db(st);
	sqlite3_stmt *s;
	int rc;

	s = dl_prepare(db,
	               "SELECT " DL_RET_COLS " FROM return_files WHERE feed = "
	               "?1 AND name = ?2 ORDER BY version DESC LIMIT 1",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, feed);
	sqlite_bind_str(s, 2, name);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		dl_ret_row(s, f);
		rc = STORE_OK;
	} else
		rc = rc == SQLITE_DONE ? STORE_NOTFOUND : dl_fail(db, __func__);
	sqlite3_finalize(s);
	return rc;
}

static int
dl_return_list(struct store *st, const char *feed,
               int (*cb)(const struct store_return_file *, void *), void *arg)
{
	sqlite3 *db = sqlite_store_db(st);
	struct store_return_file f;
	sqlite3_stmt *s;
	int rc, stop = 0;

	s = dl_prepare(db,
	               "SELECT " DL_RET_COLS " FROM return_files WHERE ?1 IS "
	               "NULL OR feed = ?1 ORDER BY id DESC",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, feed);
	while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		dl_ret_row(s, &f);
		stop = cb(&f, arg);
		store_return_file_clear(&f);
	}
	rc = stop || rc == SQLITE_DONE ? STORE_OK : dl_fail(db, __func__);
	sqlite3_finalize(s);
	return rc;
}

static int
dl_return_records(struct store *st, const char *run_id, bool rejected_only,
                  int (*cb)(const struct store_return_record *, void *),
                  void *arg)
{
	sqlite3 *db = sqlite_store_db(st);
	struct store_return_record r;
	sqlite3_stmt *s;
	int rc, stop = 0;

	s = dl_prepare(db,
	               "SELECT file_id, row, run_id, key, status, message, "
	               "accepted FROM return_records WHERE run_id = ?1 AND "
	               "(?2 = 0 OR accepted = 0) ORDER BY file_id, row",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, run_id);
	sqlite3_bind_int(s, 2, rejected_only ? 1 : 0);
	while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		r.file_id = sqlite3_column_int64(s, 0);
		r.row = sqlite3_column_int64(s, 1);
		r.run_id = sqlite_col_str(s, 2);
		r.key = sqlite_col_str(s, 3);
		r.status = sqlite_col_str(s, 4);
		r.message = sqlite_col_str(s, 5);
		r.accepted = sqlite3_column_int(s, 6) != 0;
		stop = cb(&r, arg);
	}
	rc = stop || rc == SQLITE_DONE ? STORE_OK : dl_fail(db, __func__);
	sqlite3_finalize(s);
	return rc;
}

static int
dl_run_by_x12(struct store *st, const char *feed, int64_t gs06, int64_t isa13,
              char **run_id)
{
	sqlite3 *db = sqlite_store_db(st);
	sqlite3_stmt *s;
	int rc;

	*run_id = NULL;
	s = dl_prepare(db,
	               "SELECT id FROM feed_runs WHERE feed = ?1 AND CASE WHEN "
	               "?2 >= 0 THEN gs06 = ?2 ELSE isa13 = ?3 END AND "
	               "file_sha256 IS NOT NULL ORDER BY seq DESC LIMIT 1",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, feed);
	sqlite3_bind_int64(s, 2, gs06);
	sqlite3_bind_int64(s, 3, isa13);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*run_id = xstrdup(sqlite_col_str(s, 0));
		rc = STORE_OK;
	} else
		rc = rc == SQLITE_DONE ? STORE_NOTFOUND : dl_fail(db, __func__);
	sqlite3_finalize(s);
	return rc;
}

const struct store_deliver_ops sqlite_deliver_ops = {
    .create = dl_create,
    .get = dl_get,
    .advance = dl_advance,
    .attempt_begin = dl_attempt_begin,
    .attempt_end = dl_attempt_end,
    .attempts = dl_attempts,
    .list = dl_list,
    .pending = dl_pending,
    .return_latest = dl_return_latest,
    .return_add = dl_return_add,
    .return_records_add = dl_return_records_add,
    .return_finish = dl_return_finish,
    .return_list = dl_return_list,
    .run_by_x12 = dl_run_by_x12,
    .return_records = dl_return_records,
};
