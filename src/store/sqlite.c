/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* The SQLite store backend: schema migrations, statements and operations. */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include "store/sqlite_filter.h"
#include "store/sqlite_priv.h"
#include "store/store.h"
#include "store/store_backend.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xmalloc.h"

/*
 * docs/store-schema.sql is what migrations 1 and 6 make of the core
 * tables (the unit test compares the two). Later migrations are appended to
 * sq_migrations and never edited once released; PRAGMA user_version records the
 * last one applied.
 */
static const char sq_schema_v1[] =
    "CREATE TABLE tenants (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  name TEXT NOT NULL UNIQUE,\n"
    "  rate_rps INTEGER NOT NULL DEFAULT 0,\n"
    "  rate_burst INTEGER NOT NULL DEFAULT 0,\n"
    "  created TEXT NOT NULL\n"
    ");\n"
    "CREATE TABLE tokens (\n"
    "  id TEXT PRIMARY KEY,                 -- \"tok_\" + 16 hex\n"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),\n"
    "  name TEXT NOT NULL DEFAULT '',\n"
    "  scopes TEXT NOT NULL,\n"
    "  hash BLOB NOT NULL UNIQUE,           -- SHA-256 of the secret\n"
    "  created TEXT NOT NULL,\n"
    "  last_used TEXT,\n"
    "  revoked_at TEXT\n"
    ");\n"
    "CREATE TABLE resources (\n"
    "  rid INTEGER PRIMARY KEY,\n"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),\n"
    "  type INTEGER NOT NULL,               -- 1 User, 2 Group\n"
    "  id TEXT NOT NULL,                    -- UUID\n"
    "  name TEXT NOT NULL,                  -- userName / displayName\n"
    "  external_id TEXT,\n"
    "  active INTEGER NOT NULL DEFAULT 1,\n"
    "  doc TEXT NOT NULL,                   -- JSON, layout in "
    "src/scim/schema.h\n"
    "  version INTEGER NOT NULL,\n"
    "  created TEXT NOT NULL,               -- 'YYYY-MM-DDTHH:MM:SS.mmmZ' "
    "UTC\n"
    "  modified TEXT NOT NULL,\n"
    "  deleted_at TEXT\n"
    ");\n"
    "CREATE UNIQUE INDEX resources_id ON resources(tenant_id, id);\n"
    "CREATE UNIQUE INDEX resources_username ON resources(tenant_id, name "
    "COLLATE NOCASE)\n"
    "  WHERE type = 1 AND deleted_at IS NULL;\n"
    "CREATE INDEX resources_name ON resources(tenant_id, type, name COLLATE "
    "NOCASE)\n"
    "  WHERE deleted_at IS NULL;\n"
    "CREATE INDEX resources_external ON resources(tenant_id, type, "
    "external_id)\n"
    "  WHERE deleted_at IS NULL;\n"
    "CREATE INDEX resources_list ON resources(tenant_id, type)\n"
    "  WHERE deleted_at IS NULL;\n"
    "CREATE TABLE resource_counts (\n"
    "  tenant_id INTEGER NOT NULL,\n"
    "  type INTEGER NOT NULL,\n"
    "  live INTEGER NOT NULL,\n"
    "  PRIMARY KEY (tenant_id, type)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TRIGGER resources_count_ins AFTER INSERT ON resources\n"
    "  WHEN NEW.deleted_at IS NULL BEGIN\n"
    "  INSERT INTO resource_counts VALUES (NEW.tenant_id, NEW.type, 1)\n"
    "    ON CONFLICT DO UPDATE SET live = live + 1;\n"
    "END;\n"
    "CREATE TRIGGER resources_count_del AFTER UPDATE OF deleted_at ON "
    "resources\n"
    "  WHEN OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL BEGIN\n"
    "  UPDATE resource_counts SET live = live - 1\n"
    "    WHERE tenant_id = NEW.tenant_id AND type = NEW.type;\n"
    "END;\n"
    "CREATE TABLE members (\n"
    "  group_rid INTEGER NOT NULL REFERENCES resources(rid),\n"
    "  member_rid INTEGER NOT NULL REFERENCES resources(rid),\n"
    "  PRIMARY KEY (group_rid, member_rid)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX members_member ON members(member_rid);\n"
    "CREATE TABLE history (\n"
    "  seq INTEGER PRIMARY KEY,\n"
    "  tenant_id INTEGER NOT NULL,\n"
    "  type INTEGER NOT NULL,\n"
    "  rid INTEGER NOT NULL,\n"
    "  resource_id TEXT NOT NULL,\n"
    "  op TEXT NOT NULL,                    -- create | update | delete\n"
    "  at TEXT NOT NULL,\n"
    "  token_id TEXT,\n"
    "  source TEXT NOT NULL,                -- scim | hris | admin | cli\n"
    "  version INTEGER NOT NULL,\n"
    "  before TEXT,                         -- doc JSON before (NULL on "
    "create)\n"
    "  after TEXT,                          -- doc JSON after (NULL on "
    "delete)\n"
    "  members_delta TEXT                   -- Groups: "
    "{\"added\":[ids],\"removed\":[ids]} or NULL\n"
    ");\n"
    "CREATE INDEX history_resource ON history(tenant_id, rid, seq);\n";

/*
 * Two indexes duplicated others and cost every write an entry (measured:
 * a sixth of a first import's bytes): resources_external is a prefix of
 * feed_people_key (migration 3), and for Users resources_name repeats
 * resources_username. resources_name now serves Groups' displayName only.
 */
static const char sq_schema_v6[] =
    "DROP INDEX resources_external;\n"
    "DROP INDEX resources_name;\n"
    "CREATE INDEX resources_name ON resources(tenant_id, name COLLATE "
    "NOCASE)\n"
    "  WHERE type = 2 AND deleted_at IS NULL;\n";

/*
 * From migration 8 on, history rows keep only the document before the
 * change: the document after it is the next row's `before`, or the
 * resource's own document for its latest row, so each version is stored
 * once (a first import of 1,000,000 people wrote every document twice:
 * 39% of the database). history_full puts `after` back for readers; rows
 * written before migration 8 keep their own.
 */
static const char sq_schema_v8[] =
    "CREATE VIEW history_full AS\n"
    "  SELECT h.seq, h.tenant_id, h.type, h.rid, h.resource_id, h.op, h.at,\n"
    "    h.token_id, h.source, h.version, h.before,\n"
    "    CASE WHEN h.op = 'delete' THEN NULL\n"
    "      ELSE coalesce(h.after, (SELECT n.before FROM history n\n"
    "        WHERE n.tenant_id = h.tenant_id AND n.rid = h.rid AND n.seq > "
    "h.seq\n"
    "        ORDER BY n.seq LIMIT 1), r.doc) END AS after,\n"
    "    h.members_delta\n"
    "  FROM history h JOIN resources r ON r.rid = h.rid;\n";

static const struct sq_migration {
	int version;
	const char *sql;
} sq_migrations[] = {
    {1, sq_schema_v1},
    {2, sqlite_hris_schema},    /* store/sqlite_hris.c */
    {3, sqlite_feed_schema},    /* store/sqlite_feed.c */
    {4, sqlite_deliver_schema}, /* store/sqlite_deliver.c */
    {5, sqlite_sched_schema},   /* store/sqlite_sched.c */
    {6, sq_schema_v6},
    {7, sqlite_feed_schema_v7}, /* store/sqlite_feed.c */
    {8, sq_schema_v8},
    {9, sqlite_deliver_schema_v9}, /* store/sqlite_deliver.c */
};

#define SQ_NMIGRATIONS (sizeof(sq_migrations) / sizeof(sq_migrations[0]))
#define SQ_SCHEMA_VERSION (sq_migrations[SQ_NMIGRATIONS - 1].version)

/*
 * Every fixed statement, prepared once at open with
 * SQLITE_PREPARE_PERSISTENT and kept for the life of the connection.
 * Each use binds, steps and then resets (sq_done), so no statement holds
 * a read snapshot open between calls.
 */
enum sq_st {
	ST_BEGIN,
	ST_BEGIN_READ,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SP,
	ST_SP_RELEASE,
	ST_SP_ROLLBACK,
	ST_W,
	ST_W_RELEASE,
	ST_W_ROLLBACK,
	ST_TENANT_INSERT,
	ST_TENANT_BY_NAME,
	ST_TENANT_BY_ID,
	ST_TENANT_RATE,
	ST_TENANT_LIST,
	ST_TOKEN_INSERT,
	ST_TOKEN_FIND,
	ST_TOKEN_LIST,
	ST_TOKEN_REVOKE,
	ST_TOKEN_TOUCH,
	ST_RES_GET,
	ST_RES_INSERT,
	ST_RES_CURRENT,
	ST_RES_UPDATE,
	ST_RES_UPDATE_DOC,
	ST_RES_DELETE,
	ST_HISTORY,
	ST_MEMBER_RESOLVE,
	ST_MEMBER_ADD,
	ST_MEMBER_REMOVE,
	ST_MEMBERS_CLEAR,
	ST_MEMBER_PRESENT,
	ST_GROUP_NAME_TAKEN,
	ST_MEMBERS_DROP_MEMBER,
	ST_MEMBERS_LIST,
	ST_USER_GROUPS,
	ST_GROUPS_BUMP,
	ST_MEMBER_BUMP,
	ST_MEMBER_BUMP_ID,
	ST_MEMBERS_BUMP,
	ST_MEMBERS_BUMP_LEAVING,
	ST_MEMBERS_KEEP,
	ST_LISTED_BUMP,
	ST_RES_COUNT,
	ST_DATA_VERSION,
	ST__COUNT
};

/* How long a write waits for another connection's write lock. */
#define SQ_BUSY_MS 5000

#define SQ_TENANT_COLS "id, name, rate_rps, rate_burst, created"
#define SQ_TOKEN_COLS                                                          \
	"t.id, t.tenant_id, n.name, t.name, t.scopes, t.created, "             \
	"t.last_used, t.revoked_at IS NOT NULL, t.hash"
#define SQ_RES_COLS                                                            \
	"r.rid, r.tenant_id, r.type, r.id, r.name, r.external_id, r.active, "  \
	"r.doc, r.version, r.created, r.modified"
#define SQ_MEMBER_COLS "r.id, r.type, r.name"

static const char *const sq_sql[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_BEGIN_READ] = "BEGIN",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SP] = "SAVEPOINT sp",
    [ST_SP_RELEASE] = "RELEASE sp",
    [ST_SP_ROLLBACK] = "ROLLBACK TO sp",
    [ST_W] = "SAVEPOINT w",
    [ST_W_RELEASE] = "RELEASE w",
    [ST_W_ROLLBACK] = "ROLLBACK TO w",
    [ST_TENANT_INSERT] = "INSERT INTO tenants (name, created) VALUES (?1, ?2)",
    [ST_TENANT_BY_NAME] =
        "SELECT " SQ_TENANT_COLS " FROM tenants WHERE name = ?1",
    [ST_TENANT_BY_ID] = "SELECT " SQ_TENANT_COLS " FROM tenants WHERE id = ?1",
    [ST_TENANT_RATE] =
        "UPDATE tenants SET rate_rps = ?2, rate_burst = ?3 WHERE id = ?1",
    [ST_TENANT_LIST] = "SELECT " SQ_TENANT_COLS " FROM tenants ORDER BY name",
    [ST_TOKEN_INSERT] = "INSERT INTO tokens (id, tenant_id, name, scopes, "
                        "hash, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_TOKEN_FIND] = "SELECT " SQ_TOKEN_COLS " FROM tokens t JOIN tenants n "
                      "ON n.id = t.tenant_id WHERE t.hash = ?1",
    [ST_TOKEN_LIST] = "SELECT " SQ_TOKEN_COLS " FROM tokens t JOIN tenants n "
                      "ON n.id = t.tenant_id WHERE ?1 = 0 OR t.tenant_id = ?1 "
                      "ORDER BY t.tenant_id, t.created, t.id",
    [ST_TOKEN_REVOKE] = "UPDATE tokens SET revoked_at = "
                        "coalesce(revoked_at, ?2) WHERE id = ?1",
    [ST_TOKEN_TOUCH] = "UPDATE tokens SET last_used = ?2 WHERE id = ?1 AND "
                       "(last_used IS NULL OR last_used < ?2)",
    [ST_RES_GET] = "SELECT " SQ_RES_COLS " FROM resources r "
                   "WHERE r.tenant_id = ?1 AND r.id = ?2 AND r.type = ?3 "
                   "AND r.deleted_at IS NULL",
    [ST_RES_INSERT] = "INSERT INTO resources (tenant_id, type, id, name, "
                      "external_id, active, doc, version, created, modified) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, ?9)",
    [ST_RES_CURRENT] = "SELECT tenant_id, type, id, doc, version, name, "
                       "external_id FROM resources "
                       "WHERE rid = ?1 AND deleted_at IS NULL",
    [ST_RES_UPDATE] = "UPDATE resources SET name = ?2, external_id = ?3, "
                      "active = ?4, doc = ?5, modified = ?6, version = ?7 "
                      "WHERE rid = ?1",
    /* The same when name and external_id stay: no index entry moves. */
    [ST_RES_UPDATE_DOC] = "UPDATE resources SET active = ?4, doc = ?5, "
                          "modified = ?6, version = ?7 WHERE rid = ?1",
    [ST_RES_DELETE] =
        "UPDATE resources SET deleted_at = ?2, version = ?3 WHERE rid = ?1",
    [ST_HISTORY] = "INSERT INTO history (tenant_id, type, rid, resource_id, "
                   "op, at, token_id, source, version, before, "
                   "members_delta) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                   "?9, ?10, ?11)",
    [ST_MEMBER_RESOLVE] = "SELECT rid FROM resources WHERE tenant_id = ?1 "
                          "AND id = ?2 AND deleted_at IS NULL",
    [ST_MEMBER_ADD] = "INSERT OR IGNORE INTO members (group_rid, member_rid) "
                      "VALUES (?1, ?2)",
    /* Both lookups are unique-index probes: O(log n) in the group size. */
    [ST_MEMBER_REMOVE] =
        "DELETE FROM members WHERE group_rid = ?1 AND member_rid = "
        "(SELECT m.rid FROM resources m WHERE m.tenant_id = "
        "(SELECT g.tenant_id FROM resources g WHERE g.rid = ?1) "
        "AND m.id = ?2)",
    [ST_MEMBERS_CLEAR] = "DELETE FROM members WHERE group_rid = ?1",
    /* resources_name serves it: a probe, whatever the tenant's size. */
    [ST_GROUP_NAME_TAKEN] =
        "SELECT 1 FROM resources WHERE tenant_id = ?1 AND type = 2 AND "
        "deleted_at IS NULL AND name = ?2 COLLATE NOCASE AND rid <> ?3 "
        "LIMIT 1",
    [ST_MEMBER_PRESENT] =
        "SELECT 1 FROM members WHERE group_rid = ?1 AND member_rid = "
        "(SELECT m.rid FROM resources m WHERE m.tenant_id = "
        "(SELECT g.tenant_id FROM resources g WHERE g.rid = ?1) "
        "AND m.id = ?2)",
    [ST_MEMBERS_DROP_MEMBER] = "DELETE FROM members WHERE member_rid = ?1",
    [ST_MEMBERS_LIST] = "SELECT " SQ_MEMBER_COLS " FROM members m "
                        "JOIN resources r ON r.rid = m.member_rid "
                        "WHERE m.group_rid = ?1 AND r.deleted_at IS NULL "
                        "ORDER BY m.member_rid",
    [ST_USER_GROUPS] = "SELECT " SQ_MEMBER_COLS " FROM members m "
                       "JOIN resources r ON r.rid = m.group_rid "
                       "WHERE m.member_rid = ?1 AND r.deleted_at IS NULL "
                       "ORDER BY m.group_rid",
    /* The groups a deleted resource leaves: a new version each. */
    [ST_GROUPS_BUMP] = "UPDATE resources SET version = version + 1, "
                       "modified = ?2 WHERE rid IN (SELECT group_rid FROM "
                       "members WHERE member_rid = ?1) AND deleted_at IS NULL "
                       "RETURNING rid, tenant_id, id, version, doc",
    /*
     * A User's "groups" is derived from membership (RFC 7643 §4.1.2), so
     * a membership change is a change of the user: a new version and
     * lastModified (§3.1), without a history row (the group's row records
     * the delta). Groups list no parent groups: only type 1 moves.
     */
    [ST_MEMBER_BUMP] = "UPDATE resources SET version = version + 1, "
                       "modified = ?2 WHERE rid = ?1 AND type = 1 AND "
                       "deleted_at IS NULL",
    [ST_MEMBER_BUMP_ID] =
        "UPDATE resources SET version = version + 1, modified = ?3 "
        "WHERE tenant_id = (SELECT g.tenant_id FROM resources g WHERE "
        "g.rid = ?1) AND id = ?2 AND type = 1 AND deleted_at IS NULL",
    /* Every user member of a group (deleted or renamed). */
    [ST_MEMBERS_BUMP] = "UPDATE resources SET version = version + 1, "
                        "modified = ?2 WHERE rid IN (SELECT member_rid "
                        "FROM members WHERE group_rid = ?1) AND type = 1 "
                        "AND deleted_at IS NULL",
    /* The user members a new member list (?2, a JSON array) drops. */
    [ST_MEMBERS_BUMP_LEAVING] =
        "UPDATE resources SET version = version + 1, modified = ?3 "
        "WHERE rid IN (SELECT member_rid FROM members WHERE group_rid = ?1 "
        "AND member_rid NOT IN (SELECT value FROM json_each(?2))) AND "
        "type = 1 AND deleted_at IS NULL",
    [ST_MEMBERS_KEEP] = "DELETE FROM members WHERE group_rid = ?1 AND "
                        "member_rid NOT IN (SELECT value FROM json_each(?2))",
    /* The groups listing a renamed resource (their members' display). */
    [ST_LISTED_BUMP] = "UPDATE resources SET version = version + 1, "
                       "modified = ?2 WHERE rid IN (SELECT group_rid FROM "
                       "members WHERE member_rid = ?1) AND deleted_at IS NULL",
    [ST_RES_COUNT] = "SELECT coalesce((SELECT live FROM resource_counts "
                     "WHERE tenant_id = ?1 AND type = ?2), 0)",
    [ST_DATA_VERSION] = "PRAGMA data_version",
};

#define SQ_CACHE 16

/* A list query kept prepared: the same filter shape, the same SQL. */
struct sq_cached {
	char *sql;
	sqlite3_stmt *st;
	uint64_t used;
};

struct sq {
	struct store base; /* first: store.c sees only this */
	sqlite3 *db;
	sqlite3_stmt *st[ST__COUNT];
	struct sq_cached cache[SQ_CACHE];
	uint64_t tick;
	bool bulk;   /* sqlite_store_set_bulk() */
	bool reader; /* store_open_reader(): SQLITE_OPEN_READONLY */
};

static struct sq *
sq_of(struct store *base)
{
	return (struct sq *)base;
}

sqlite3 *
sqlite_store_db(struct store *base)
{
	return sq_of(base)->db;
}

void
sqlite_store_set_bulk(struct store *base, bool on)
{
	sq_of(base)->bulk = on;
}

/* Log the connection's last error for `func` and return STORE_ERR. */
static int
sq_fail(struct sq *s, const char *func)
{
	log_warnx("%s: %s", func, sqlite3_errmsg(s->db));
	return STORE_ERR;
}

/*
 * The result of a failed write step: unique and primary-key violations
 * are the caller's conflict, foreign keys a value that names nothing;
 * anything else is the backend failing.
 */
static int
sq_write_rc(struct sq *s, int rc, const char *func)
{
	switch (rc) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		log_debug("%s: %s", func, sqlite3_errmsg(s->db));
		return STORE_CONFLICT;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		log_debug("%s: %s", func, sqlite3_errmsg(s->db));
		return STORE_INVALID;
	default:
		return sq_fail(s, func);
	}
}

/* Reset a persistent statement after use and drop its bindings. */
static void
sq_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/*
 * Binding helpers (text: sqlite_bind_str() in sqlite_priv.h). With valid
 * indexes and static bindings, which sq_done() clears right after the
 * step, these calls do not allocate and cannot fail, so their results
 * are not checked.
 */
static void
sq_bind_int(sqlite3_stmt *st, int i, int64_t v)
{
	sqlite3_bind_int64(st, i, v);
}

/* Step a statement that returns no rows to completion; reset it. */
static int
sq_run(struct sq *s, sqlite3_stmt *st, const char *func)
{
	int rc = sqlite3_step(st);
	int ret = STORE_OK;

	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = sq_write_rc(s, rc, func);
	sq_done(st);
	return ret;
}

/*
 * The kept statement for a walk that calls back into the caller, or a
 * private copy when a callback re-enters a walk already using it (say,
 * expanding nested groups from a members_list callback): resetting the
 * running statement would silently end the outer walk.
 */
static sqlite3_stmt *
sq_walk_begin(struct sq *s, enum sq_st id, const char *func)
{
	sqlite3_stmt *st = s->st[id];

	if (!sqlite3_stmt_busy(st))
		return st;
	if (sqlite3_prepare_v2(s->db, sq_sql[id], -1, &st, NULL) != SQLITE_OK) {
		sq_fail(s, func);
		return NULL;
	}
	return st;
}

static void
sq_walk_end(struct sq *s, enum sq_st id, sqlite3_stmt *st)
{
	if (st == s->st[id])
		sq_done(st);
	else
		sqlite3_finalize(st);
}

static int
sq_exec_st(struct sq *s, enum sq_st id, const char *func)
{
	return sq_run(s, s->st[id], func);
}

/* A borrowed column, valid until the statement steps or resets. */
static char *
sq_col_ref(sqlite3_stmt *st, int i)
{
	return (char *)sqlite3_column_text(st, i);
}

/*
 * Writes called outside a transaction get their own (BEGIN IMMEDIATE ..
 * COMMIT, so CLI callers need not bother); inside one they run under
 * SAVEPOINT w, so a write that fails halfway (resource row written, history
 * row refused) leaves the caller's transaction as it was. In bulk mode
 * they run bare (see sqlite_store_set_bulk()).
 */
static int
sq_wbegin(struct sq *s, bool *own, const char *func)
{
	*own = sqlite3_get_autocommit(s->db) != 0;
	if (!*own && s->bulk)
		return STORE_OK;
	return sq_exec_st(s, *own ? ST_BEGIN : ST_W, func);
}

static int
sq_wend(struct sq *s, bool own, int rc, const char *func)
{
	if (!own && s->bulk)
		return rc;
	if (rc == STORE_OK) {
		if (sq_exec_st(s, own ? ST_COMMIT : ST_W_RELEASE, func) ==
		    STORE_OK)
			return STORE_OK;
		rc = STORE_ERR;
	}
	/* Some errors (I/O, disk full) already rolled everything back. */
	if (sqlite3_get_autocommit(s->db))
		return rc;
	if (own) {
		sq_exec_st(s, ST_ROLLBACK, func);
	} else {
		sq_exec_st(s, ST_W_ROLLBACK, func);
		sq_exec_st(s, ST_W_RELEASE, func);
	}
	return rc;
}

static int
sq_exec(struct sq *s, const char *sql, char **cause)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		store_set_cause(cause, "%s", sqlite3_errmsg(s->db));
		log_warnx("%s: %s", __func__, sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

/* A one-row, one-column pragma as text into buf. */
static int
sq_pragma_text(struct sq *s, const char *sql, char *buf, size_t len,
               char **cause)
{
	sqlite3_stmt *st;
	const unsigned char *t;
	int rc = -1;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW &&
	    (t = sqlite3_column_text(st, 0)) != NULL) {
		snprintf(buf, len, "%s", (const char *)t);
		rc = 0;
	} else {
		store_set_cause(cause, "%s", sqlite3_errmsg(s->db));
		sq_fail(s, __func__);
	}
	sqlite3_finalize(st);
	return rc;
}

static int
sq_user_version(struct sq *s, char **cause)
{
	char v[32];

	if (sq_pragma_text(s, "PRAGMA user_version", v, sizeof(v), cause) == -1)
		return -1;
	return atoi(v);
}

/*
 * Rows of PRAGMA foreign_key_check: 0 when every reference holds, 1 with
 * *cause naming the first broken one, -1 when the check failed.
 */
static int
sq_fk_check(struct sq *s, char **cause)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db, "PRAGMA foreign_key_check", -1, &st,
	                       NULL) != SQLITE_OK) {
		store_set_cause(cause, "%s", sqlite3_errmsg(s->db));
		sq_fail(s, __func__);
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		store_set_cause(cause,
		                "foreign key check failed: a row of %s (rowid "
		                "%lld) references a missing row of %s",
		                (const char *)sqlite3_column_text(st, 0),
		                (long long)sqlite3_column_int64(st, 1),
		                (const char *)sqlite3_column_text(st, 2));
		rc = 1;
	} else if (rc == SQLITE_DONE)
		rc = 0;
	else {
		store_set_cause(cause, "%s", sqlite3_errmsg(s->db));
		sq_fail(s, __func__);
		rc = -1;
	}
	sqlite3_finalize(st);
	return rc;
}

/*
 * All pending migrations in one transaction. Foreign keys are off while
 * they run (the pragma is a no-op inside a transaction, so it is set
 * before BEGIN, and it is this connection's alone): rebuilding a table
 * that others reference (migration 9) drops it first, as SQLite's
 * documented procedure does. PRAGMA foreign_key_check must then find
 * nothing before COMMIT, and foreign keys are back on whatever happened.
 * Another connection (the CLI while the daemon runs) waits for the write
 * lock and then finds the new user_version: one migrator wins.
 */
static int
sq_migrate(struct store *base, char **cause)
{
	struct sq *s = sq_of(base);
	struct buf b;
	size_t i;
	int v, from;

	if (!sqlite3_get_autocommit(s->db)) {
		store_set_cause(cause, "cannot migrate inside a transaction");
		return -1;
	}
	if (sq_exec(s, "PRAGMA foreign_keys = OFF", cause) == -1)
		return -1;
	/* The version is read under the write lock: one migrator wins. */
	if (sq_exec(s, "BEGIN IMMEDIATE", cause) == -1)
		goto fail;
	if ((v = sq_user_version(s, cause)) == -1)
		goto fail;
	if (v > SQ_SCHEMA_VERSION) {
		store_set_cause(
		    cause,
		    "database schema version %d is newer than this rosterd "
		    "supports (%d)",
		    v, SQ_SCHEMA_VERSION);
		goto fail;
	}
	from = v;
	for (i = 0; i < SQ_NMIGRATIONS; i++) {
		if (sq_migrations[i].version <= v)
			continue;
		if (sq_exec(s, sq_migrations[i].sql, cause) == -1)
			goto fail;
		buf_init(&b, 0);
		buf_addf(&b, "PRAGMA user_version = %d",
		         sq_migrations[i].version);
		if (sq_exec(s, buf_str(&b), cause) == -1) {
			buf_free(&b);
			goto fail;
		}
		buf_free(&b);
		v = sq_migrations[i].version;
		log_info("store: schema migrated to version %d", v);
	}
	if (v != from && sq_fk_check(s, cause) != 0)
		goto fail;
	if (sq_exec(s, "COMMIT", cause) == -1)
		goto fail;
	if (sq_exec(s, "PRAGMA foreign_keys = ON", cause) == -1)
		return -1;
	return v;
fail:
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_exec(s->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	return -1;
}

/*
 * Create the file 0600 before SQLite sees it: SQLite would create it
 * with the umask, and it gives the -wal and -shm files the database
 * file's mode, so this covers all three.
 */
static int
sq_create_file(const char *path, char **cause)
{
	struct stat sb;
	int fd;

	if (strcmp(path, ":memory:") == 0)
		return 0;
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd != -1) {
		close(fd);
		return 0;
	}
	if (errno != EEXIST) {
		store_set_cause(cause, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (stat(path, &sb) == 0 && (sb.st_mode & 077) != 0)
		log_warnx("%s: %s is accessible to other users (mode %03o)",
		          __func__, path, (unsigned)(sb.st_mode & 0777));
	return 0;
}

static int
sq_configure(struct sq *s, const char *path, char **cause)
{
	char mode[16];

	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, SQ_BUSY_MS);
	if (sq_pragma_text(s, "PRAGMA journal_mode = WAL", mode, sizeof(mode),
	                   cause) == -1 ||
	    sq_exec(s,
	            "PRAGMA synchronous = FULL;"
	            "PRAGMA foreign_keys = ON;"
	            "PRAGMA cache_size = -8000",
	            cause) == -1)
		return -1;
	if (strcmp(mode, "wal") != 0 && strcmp(path, ":memory:") != 0)
		log_warnx("%s: %s: journal mode is %s, not wal", __func__, path,
		          mode);
	return 0;
}

static int
sq_prepare_all(struct sq *s, char **cause)
{
	int i;

	for (i = 0; i < ST__COUNT; i++) {
		if (sqlite3_prepare_v3(s->db, sq_sql[i], -1,
		                       SQLITE_PREPARE_PERSISTENT, &s->st[i],
		                       NULL) != SQLITE_OK) {
			store_set_cause(cause, "preparing statement %d: %s", i,
			                sqlite3_errmsg(s->db));
			log_warnx("%s: %s", __func__, sqlite3_errmsg(s->db));
			return -1;
		}
	}
	return 0;
}

static void
sq_close(struct store *base)
{
	struct sq *s = sq_of(base);
	int i;

	for (i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(s->st[i]);
	for (i = 0; i < SQ_CACHE; i++) {
		sqlite3_finalize(s->cache[i].st);
		free(s->cache[i].sql);
	}
	if (s->db != NULL && !s->reader) {
		/*
		 * Recommended at close: refreshes planner statistics. SQLite
		 * 3.40 re-analyzes a table whenever one of its indexes has no
		 * sqlite_stat1 row, which an empty partial index never gets
		 * (resources_name without groups): a full ANALYZE of 1M
		 * people at every close, 0.2 s. The limit is what SQLite
		 * recommends for 3.40 and applies by itself from 3.46; the
		 * plans of every fixed statement are the same with it.
		 */
		sqlite3_exec(s->db,
		             "PRAGMA analysis_limit = 400; PRAGMA optimize",
		             NULL, NULL, NULL);
	}
	if (s->db != NULL && sqlite3_close(s->db) != SQLITE_OK)
		sq_fail(s, __func__);
	free(s);
}

/*
 * Nothing reads SQLite's memory statistics, and keeping them takes a
 * global mutex on every allocation. Set before the first connection.
 */
static void
sq_global_once(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static pthread_once_t sq_global = PTHREAD_ONCE_INIT;

static struct store *
sq_open(const char *path, char **cause)
{
	struct sq *s;
	int flags;

	pthread_once(&sq_global, sq_global_once);
	if (sq_create_file(path, cause) == -1)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	/* One connection per thread: no mutex inside SQLite. */
	flags =
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
		store_set_cause(cause, "%s: %s", path,
		                s->db ? sqlite3_errmsg(s->db)
		                      : "out of memory");
		goto fail;
	}
	if (sq_configure(s, path, cause) == -1 ||
	    sq_migrate(&s->base, cause) == -1 || sq_prepare_all(s, cause) == -1)
		goto fail;
	return &s->base;
fail:
	sq_close(&s->base);
	return NULL;
}

/*
 * Not migrated (the first connection did that) and opened read-only:
 * SQLite refuses it the write lock instead of making it wait for one.
 */
static struct store *
sq_open_reader(struct store *base)
{
	const char *path = sqlite3_db_filename(sq_of(base)->db, "main");
	char *cause = NULL;
	struct sq *s;

	if (path == NULL || *path == '\0')
		return NULL;
	s = xcalloc(1, sizeof(*s));
	s->reader = true;
	if (sqlite3_open_v2(path, &s->db,
	                    SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK)
		store_set_cause(&cause, "%s: %s", path,
		                s->db ? sqlite3_errmsg(s->db)
		                      : "out of memory");
	else if (sq_configure(s, path, &cause) == 0 &&
	         sq_prepare_all(s, &cause) == 0)
		return &s->base;
	log_warnx("%s: %s", __func__, cause != NULL ? cause : "failed");
	free(cause);
	sq_close(&s->base);
	return NULL;
}

/*
 * Step st once without waiting for another connection's lock: STORE_OK,
 * STORE_CONFLICT while the lock is held, else the failure.
 */
static int
sq_step_nowait(struct sq *s, sqlite3_stmt *st, const char *func)
{
	int rc;

	sqlite3_busy_timeout(s->db, 0);
	rc = sqlite3_step(st);
	sqlite3_busy_timeout(s->db, SQ_BUSY_MS);
	sq_done(st);
	if (rc == SQLITE_DONE)
		return STORE_OK;
	if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
		return STORE_CONFLICT;
	return sq_fail(s, func);
}

static int
sq_begin(struct store *base)
{
	return sq_exec_st(sq_of(base), ST_BEGIN, __func__);
}

static int
sq_begin_nowait(struct store *base)
{
	struct sq *s = sq_of(base);

	return sq_step_nowait(s, s->st[ST_BEGIN], __func__);
}

static int
sq_begin_read(struct store *base)
{
	return sq_exec_st(sq_of(base), ST_BEGIN_READ, __func__);
}

static int
sq_commit(struct store *base)
{
	struct sq *s = sq_of(base);

	if (sq_exec_st(s, ST_COMMIT, __func__) == STORE_OK)
		return STORE_OK;
	/* Never leave a failed group commit open for the next batch. */
	if (!sqlite3_get_autocommit(s->db))
		sq_exec_st(s, ST_ROLLBACK, __func__);
	return STORE_ERR;
}

static int
sq_rollback(struct store *base)
{
	return sq_exec_st(sq_of(base), ST_ROLLBACK, __func__);
}

static bool
sq_in_tx(struct store *base)
{
	return sqlite3_get_autocommit(sq_of(base)->db) == 0;
}

static int
sq_savepoint(struct store *base)
{
	return sq_exec_st(sq_of(base), ST_SP, __func__);
}

static int
sq_release(struct store *base)
{
	return sq_exec_st(sq_of(base), ST_SP_RELEASE, __func__);
}

static int
sq_rollback_savepoint(struct store *base)
{
	struct sq *s = sq_of(base);

	if (sq_exec_st(s, ST_SP_ROLLBACK, __func__) != STORE_OK)
		return STORE_ERR;
	return sq_exec_st(s, ST_SP_RELEASE, __func__);
}

/* Tenants. */

static void
sq_tenant_row(sqlite3_stmt *st, struct store_tenant *t, bool copy)
{
	char *(*col)(sqlite3_stmt *, int) = copy ? sqlite_col_dup : sq_col_ref;

	t->id = sqlite3_column_int64(st, 0);
	t->name = col(st, 1);
	t->rate_rps = sqlite3_column_int(st, 2);
	t->rate_burst = sqlite3_column_int(st, 3);
	t->created = col(st, 4);
}

static int
sq_tenant_create(struct store *base, const char *name, struct store_tenant *out)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = s->st[ST_TENANT_INSERT];
	char now[32];
	bool own;
	int rc;

	store_now(now, sizeof(now));
	if (sq_wbegin(s, &own, __func__) != STORE_OK)
		return STORE_ERR;
	sqlite_bind_str(st, 1, name);
	sqlite_bind_str(st, 2, now);
	rc = sq_run(s, st, __func__);
	if (rc == STORE_OK && out != NULL) {
		out->id = sqlite3_last_insert_rowid(s->db);
		out->name = xstrdup(name);
		out->created = xstrdup(now);
	}
	rc = sq_wend(s, own, rc, __func__);
	if (rc != STORE_OK && out != NULL)
		store_tenant_clear(out);
	return rc;
}

/* Step a one-row lookup: OK with the row current, NOTFOUND, or ERR. */
static int
sq_row(struct sq *s, sqlite3_stmt *st, const char *func)
{
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		return STORE_OK;
	case SQLITE_DONE:
		return STORE_NOTFOUND;
	default:
		return sq_fail(s, func);
	}
}

static int
sq_tenant_get(struct store *base, const char *name, struct store_tenant *t)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = s->st[ST_TENANT_BY_NAME];
	int rc;

	sqlite_bind_str(st, 1, name);
	if ((rc = sq_row(s, st, __func__)) == STORE_OK)
		sq_tenant_row(st, t, true);
	sq_done(st);
	return rc;
}

static int
sq_tenant_get_id(struct store *base, int64_t id, struct store_tenant *t)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = s->st[ST_TENANT_BY_ID];
	int rc;

	sq_bind_int(st, 1, id);
	if ((rc = sq_row(s, st, __func__)) == STORE_OK)
		sq_tenant_row(st, t, true);
	sq_done(st);
	return rc;
}

static int
sq_tenant_set_rate(struct store *base, int64_t id, int rps, int burst)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = s->st[ST_TENANT_RATE];
	bool own;
	int rc;

	if (sq_wbegin(s, &own, __func__) != STORE_OK)
		return STORE_ERR;
	sq_bind_int(st, 1, id);
	sq_bind_int(st, 2, rps);
	sq_bind_int(st, 3, burst);
	rc = sq_run(s, st, __func__);
	if (rc == STORE_OK && sqlite3_changes(s->db) == 0)
		rc = STORE_NOTFOUND;
	return sq_wend(s, own, rc, __func__);
}

static int
sq_tenant_list(struct store *base,
               int (*cb)(const struct store_tenant *, void *), void *arg)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st;
	struct store_tenant t;
	int rc;

	if ((st = sq_walk_begin(s, ST_TENANT_LIST, __func__)) == NULL)
		return STORE_ERR;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sq_tenant_row(st, &t, false);
		if (cb(&t, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	rc = rc == SQLITE_DONE ? STORE_OK : sq_fail(s, __func__);
	sq_walk_end(s, ST_TENANT_LIST, st);
	return rc;
}

/* Tokens. */

static void
sq_token_row(sqlite3_stmt *st, struct store_token *t, bool copy)
{
	char *(*col)(sqlite3_stmt *, int) = copy ? sqlite_col_dup : sq_col_ref;

	t->id = col(st, 0);
	t->tenant_id = sqlite3_column_int64(st, 1);
	t->tenant_name = col(st, 2);
	t->name = col(st, 3);
	t->scopes = col(st, 4);
	t->created = col(st, 5);
	t->last_used = col(st, 6);
	t->revoked = sqlite3_column_int(st, 7) != 0;
}

static int
sq_token_create(struct store *base, const char *id, int64_t tenant_id,
                const char *name, const char *scopes,
                const uint8_t hash[STORE_TOKEN_HASH_LEN])
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = s->st[ST_TOKEN_INSERT];
	char now[32];
	bool own;
	int rc;

	store_now(now, sizeof(now));
	if (sq_wbegin(s, &own, __func__) != STORE_OK)
		return STORE_ERR;
	sqlite_bind_str(st, 1, id);
	sq_bind_int(st, 2, tenant_id);
	sqlite_bind_str(st, 3, name);
	sqlite_bind_str(st, 4, scopes);
	sqlite3_bind_blob(st, 5, hash, STORE_TOKEN_HASH_LEN, SQLITE_STATIC);
	sqlite_bind_str(st, 6, now);
	rc = sq_run(s, st, __func__);
	return sq_wend(s, own, rc, __func__);
}

static int
sq_token_find(struct store *base, const uint8_t hash[STORE_TOKEN_HASH_LEN],
              struct store_token *t)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = s->st[ST_TOKEN_FIND];
	const void *h;
	int rc;

	sqlite3_bind_blob(st, 1, hash, STORE_TOKEN_HASH_LEN, SQLITE_STATIC);
	if ((rc = sq_row(s, st, __func__)) == STORE_OK) {
		/*
		 * The index found the row by equality already; comparing
		 * again in constant time keeps the final decision out of
		 * memcmp's early exit.
		 */
		h = sqlite3_column_blob(st, 8);
		if (h == NULL ||
		    sqlite3_column_bytes(st, 8) != STORE_TOKEN_HASH_LEN ||
		    sodium_memcmp(h, hash, STORE_TOKEN_HASH_LEN) != 0)
			rc = STORE_NOTFOUND;
		else
			sq_token_row(st, t, true);
	}
	sq_done(st);
	return rc;
}

static int
sq_token_list(struct store *base, int64_t tenant_id,
              int (*cb)(const struct store_token *, void *), void *arg)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st;
	struct store_token t;
	int rc;

	if ((st = sq_walk_begin(s, ST_TOKEN_LIST, __func__)) == NULL)
		return STORE_ERR;
	sq_bind_int(st, 1, tenant_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sq_token_row(st, &t, false);
		if (cb(&t, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	rc = rc == SQLITE_DONE ? STORE_OK : sq_fail(s, __func__);
	sq_walk_end(s, ST_TOKEN_LIST, st);
	return rc;
}

static int
sq_token_revoke(struct store *base, const char *id)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = s->st[ST_TOKEN_REVOKE];
	char now[32];
	bool own;
	int rc;

	store_now(now, sizeof(now));
	if (sq_wbegin(s, &own, __func__) != STORE_OK)
		return STORE_ERR;
	sqlite_bind_str(st, 1, id);
	sqlite_bind_str(st, 2, now);
	rc = sq_run(s, st, __func__);
	/* Revoking twice keeps the first time and succeeds. */
	if (rc == STORE_OK && sqlite3_changes(s->db) == 0)
		rc = STORE_NOTFOUND;
	return sq_wend(s, own, rc, __func__);
}

/*
 * The HTTP server touches a token on its event loop, where waiting for
 * another process's write lock would stall every request: the lock is
 * tried once, and a busy store (or an open transaction) skips the touch.
 */
static int
sq_token_touch(struct store *base, const char *id)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = s->st[ST_TOKEN_TOUCH];
	char now[32];

	if (!sqlite3_get_autocommit(s->db))
		return STORE_CONFLICT;
	store_now(now, sizeof(now));
	sqlite_bind_str(st, 1, id);
	sqlite_bind_str(st, 2, now);
	return sq_step_nowait(s, st, __func__);
}

/* Resources. */

static void
sq_res_row(sqlite3_stmt *st, struct store_res *r, bool copy)
{
	char *(*col)(sqlite3_stmt *, int) = copy ? sqlite_col_dup : sq_col_ref;

	r->rid = sqlite3_column_int64(st, 0);
	r->tenant_id = sqlite3_column_int64(st, 1);
	r->type = (enum store_rtype)sqlite3_column_int(st, 2);
	r->id = col(st, 3);
	r->name = col(st, 4);
	r->external_id = col(st, 5);
	r->active = sqlite3_column_int(st, 6);
	r->doc = col(st, 7);
	r->version = sqlite3_column_int64(st, 8);
	r->created = col(st, 9);
	r->modified = col(st, 10);
	r->deleted_at = NULL;
}

static int
sq_res_get(struct store *base, int64_t tenant_id, enum store_rtype type,
           const char *id, struct store_res *res)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = s->st[ST_RES_GET];
	int rc;

	sq_bind_int(st, 1, tenant_id);
	sqlite_bind_str(st, 2, id);
	sq_bind_int(st, 3, type);
	if ((rc = sq_row(s, st, __func__)) == STORE_OK)
		sq_res_row(st, res, true);
	sq_done(st);
	return rc;
}

/* One history row; the fields the resource row does not carry. */
struct sq_hist {
	int64_t tenant_id;
	int type;
	int64_t rid;
	const char *resource_id;
	const char *op;
	int64_t version;
	const char *before; /* the document after: see sq_schema_v8 */
	const char *delta;
};

static int
sq_history(struct sq *s, const struct sq_hist *h,
           const struct store_actor *actor)
{
	sqlite3_stmt *st = s->st[ST_HISTORY];
	const char *source = NULL, *token = NULL;
	char now[32];

	if (actor != NULL) {
		source = actor->source;
		token = actor->token_id;
	}
	store_now(now, sizeof(now));
	sq_bind_int(st, 1, h->tenant_id);
	sq_bind_int(st, 2, h->type);
	sq_bind_int(st, 3, h->rid);
	sqlite_bind_str(st, 4, h->resource_id);
	sqlite_bind_str(st, 5, h->op);
	sqlite_bind_str(st, 6, now);
	sqlite_bind_str(st, 7, token);
	sqlite_bind_str(st, 8, source != NULL ? source : "cli");
	sq_bind_int(st, 9, h->version);
	sqlite_bind_str(st, 10, h->before);
	sqlite_bind_str(st, 11, h->delta);
	return sq_run(s, st, __func__);
}

/*
 * Microsoft Entra ID matches groups by displayName and requires it to be
 * unique (RFC 7643 leaves uniqueness to the service provider): a second
 * live group of the same name in the tenant, compared case-insensitively
 * like userName, is STORE_CONFLICT. rid is the group renamed, 0 for a new
 * one. Only a new or changed name is checked, so groups that shared a
 * name before this rule can still be updated.
 */
static int
sq_group_name_free(struct sq *s, int64_t tenant_id, const char *name,
                   int64_t rid)
{
	sqlite3_stmt *st = s->st[ST_GROUP_NAME_TAKEN];
	int rc;

	sq_bind_int(st, 1, tenant_id);
	sqlite_bind_str(st, 2, name);
	sq_bind_int(st, 3, rid);
	rc = sq_row(s, st, __func__);
	sq_done(st);
	if (rc == STORE_OK)
		return STORE_CONFLICT;
	return rc == STORE_NOTFOUND ? STORE_OK : rc;
}

static int
sq_res_insert(struct store *base, struct store_res *res,
              const struct store_actor *actor)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = s->st[ST_RES_INSERT];
	struct sq_hist h;
	bool own;
	int rc;

	memset(&h, 0, sizeof(h));
	if (sq_wbegin(s, &own, __func__) != STORE_OK)
		return STORE_ERR;
	if (res->type == STORE_GROUP &&
	    (rc = sq_group_name_free(s, res->tenant_id, res->name, 0)) !=
	        STORE_OK)
		return sq_wend(s, own, rc, __func__);
	sq_bind_int(st, 1, res->tenant_id);
	sq_bind_int(st, 2, res->type);
	sqlite_bind_str(st, 3, res->id);
	sqlite_bind_str(st, 4, res->name);
	sqlite_bind_str(st, 5, res->external_id);
	sq_bind_int(st, 6, res->type == STORE_GROUP ? 1 : res->active);
	sqlite_bind_str(st, 7, res->doc);
	sqlite_bind_str(st, 8, res->created);
	sqlite_bind_str(st, 9, res->modified);
	if ((rc = sq_run(s, st, __func__)) == STORE_OK) {
		h.tenant_id = res->tenant_id;
		h.type = res->type;
		h.rid = sqlite3_last_insert_rowid(s->db);
		h.resource_id = res->id;
		h.op = "create";
		h.version = 1;
		rc = sq_history(s, &h, actor);
	}
	if ((rc = sq_wend(s, own, rc, __func__)) == STORE_OK) {
		res->rid = h.rid;
		res->version = 1;
		if (res->type == STORE_GROUP)
			res->active = 1;
	}
	return rc;
}

/* The live row's identity and document, read before changing it. */
struct sq_current {
	int64_t tenant_id;
	int type;
	char *id;
	char *doc;
	int64_t version;
	char *name;
	char *external_id;
};

static int
sq_current(struct sq *s, int64_t rid, struct sq_current *c)
{
	sqlite3_stmt *st = s->st[ST_RES_CURRENT];
	int rc;

	memset(c, 0, sizeof(*c));
	sq_bind_int(st, 1, rid);
	if ((rc = sq_row(s, st, __func__)) == STORE_OK) {
		c->tenant_id = sqlite3_column_int64(st, 0);
		c->type = sqlite3_column_int(st, 1);
		c->id = sqlite_col_dup(st, 2);
		c->doc = sqlite_col_dup(st, 3);
		c->version = sqlite3_column_int64(st, 4);
		c->name = sqlite_col_dup(st, 5);
		c->external_id = sqlite_col_dup(st, 6);
	}
	sq_done(st);
	return rc;
}

static void
sq_current_clear(struct sq_current *c)
{
	free(c->id);
	free(c->doc);
	free(c->name);
	free(c->external_id);
}

static bool
sq_same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Run a version bump statement taking (?1 rid, ?2 timestamp). */
static int
sq_bump(struct sq *s, enum sq_st id, int64_t rid, const char *now)
{
	sqlite3_stmt *st = s->st[id];

	sq_bind_int(st, 1, rid);
	sqlite_bind_str(st, 2, now);
	return sq_run(s, st, __func__);
}

/*
 * A renamed resource shows under its new name in every group listing it
 * (members[].display), and a renamed group in each of its users' groups:
 * those change too.
 */
static int
sq_renamed(struct sq *s, const struct sq_current *cur,
           const struct store_res *res)
{
	int rc;

	if (sq_same_str(cur->name, res->name))
		return STORE_OK;
	rc = sq_bump(s, ST_LISTED_BUMP, res->rid, res->modified);
	if (rc == STORE_OK && cur->type == STORE_GROUP)
		rc = sq_bump(s, ST_MEMBERS_BUMP, res->rid, res->modified);
	return rc;
}

static int
sq_res_update(struct store *base, struct store_res *res,
              const struct store_actor *actor, const char *members_delta)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st;
	struct sq_current cur;
	struct sq_hist h;
	bool own;
	int rc;

	if (sq_wbegin(s, &own, __func__) != STORE_OK)
		return STORE_ERR;
	if ((rc = sq_current(s, res->rid, &cur)) != STORE_OK)
		goto out;
	if (cur.type == STORE_GROUP && !sq_same_str(cur.name, res->name) &&
	    (rc = sq_group_name_free(s, cur.tenant_id, res->name, res->rid)) !=
	        STORE_OK)
		goto out;
	if (sq_same_str(cur.name, res->name) &&
	    sq_same_str(cur.external_id, res->external_id))
		st = s->st[ST_RES_UPDATE_DOC];
	else {
		st = s->st[ST_RES_UPDATE];
		sqlite_bind_str(st, 2, res->name);
		sqlite_bind_str(st, 3, res->external_id);
	}
	sq_bind_int(st, 1, res->rid);
	sq_bind_int(st, 4, cur.type == STORE_GROUP ? 1 : res->active);
	sqlite_bind_str(st, 5, res->doc);
	sqlite_bind_str(st, 6, res->modified);
	sq_bind_int(st, 7, cur.version + 1);
	if ((rc = sq_run(s, st, __func__)) != STORE_OK ||
	    (rc = sq_renamed(s, &cur, res)) != STORE_OK)
		goto out;
	memset(&h, 0, sizeof(h));
	h.tenant_id = cur.tenant_id;
	h.type = cur.type;
	h.rid = res->rid;
	h.resource_id = cur.id;
	h.op = "update";
	h.version = cur.version + 1;
	h.before = cur.doc;
	h.delta = members_delta;
	rc = sq_history(s, &h, actor);
out:
	if ((rc = sq_wend(s, own, rc, __func__)) == STORE_OK)
		res->version = cur.version + 1;
	sq_current_clear(&cur);
	return rc;
}

/*
 * {"added":[],"removed":[ids]} for the members a deleted group had, or
 * NULL (*delta untouched) when it had none.
 */
static int
sq_removed_delta(struct sq *s, int64_t group_rid, char **delta)
{
	sqlite3_stmt *st;
	struct buf b;
	int rc, n = 0;

	if ((st = sq_walk_begin(s, ST_MEMBERS_LIST, __func__)) == NULL)
		return STORE_ERR;
	buf_init(&b, 0);
	buf_addstr(&b, "{\"added\":[],\"removed\":[");
	sq_bind_int(st, 1, group_rid);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n++ > 0)
			buf_addch(&b, ',');
		buf_add_json_str(&b, (const char *)sqlite3_column_text(st, 0));
	}
	rc = rc == SQLITE_DONE ? STORE_OK : sq_fail(s, __func__);
	sq_walk_end(s, ST_MEMBERS_LIST, st);
	if (buf_addstr(&b, "]}") == -1 && rc == STORE_OK) {
		log_warnx("%s: members delta too large", __func__);
		rc = STORE_ERR;
	}
	if (rc == STORE_OK && n > 0)
		*delta = buf_detach(&b);
	buf_free(&b);
	return rc;
}

/* A group that lost a member, as ST_GROUPS_BUMP returned it. */
struct sq_left {
	int64_t rid, tenant_id, version;
	char *id, *doc;
};

static void
sq_left_free(struct sq_left *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].id);
		free(v[i].doc);
	}
	free(v);
}

/*
 * The groups member_rid belongs to get a new version and a history row
 * saying it left (RFC 7643 §3.1: meta.version changes with the group),
 * before the memberships go. Their docs hold no members: the row's before
 * is also the document after.
 */
static int
sq_groups_left(struct sq *s, int64_t member_rid, const char *member_id,
               const char *now, const struct store_actor *actor)
{
	sqlite3_stmt *st = s->st[ST_GROUPS_BUMP];
	struct sq_left *v = NULL;
	struct sq_hist h;
	struct buf delta;
	size_t i, n = 0;
	int rc;

	sq_bind_int(st, 1, member_rid);
	sqlite_bind_str(st, 2, now);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n].rid = sqlite3_column_int64(st, 0);
		v[n].tenant_id = sqlite3_column_int64(st, 1);
		v[n].id = sqlite_col_dup(st, 2);
		v[n].version = sqlite3_column_int64(st, 3);
		v[n].doc = sqlite_col_dup(st, 4);
		n++;
	}
	rc = rc == SQLITE_DONE ? STORE_OK : sq_fail(s, __func__);
	sq_done(st);
	buf_init(&delta, 0);
	buf_addstr(&delta, "{\"added\":[],\"removed\":[");
	buf_add_json_str(&delta, member_id);
	buf_addstr(&delta, "]}");
	for (i = 0; i < n && rc == STORE_OK; i++) {
		memset(&h, 0, sizeof(h));
		h.tenant_id = v[i].tenant_id;
		h.type = STORE_GROUP;
		h.rid = v[i].rid;
		h.resource_id = v[i].id;
		h.op = "update";
		h.version = v[i].version;
		h.before = v[i].doc;
		h.delta = buf_str(&delta);
		rc = sq_history(s, &h, actor);
	}
	buf_free(&delta);
	sq_left_free(v, n);
	return rc;
}

/* Drop every membership of rid, as a group and as a member. */
static int
sq_drop_memberships(struct sq *s, int64_t rid)
{
	sqlite3_stmt *st;
	int rc;

	st = s->st[ST_MEMBERS_CLEAR];
	sq_bind_int(st, 1, rid);
	if ((rc = sq_run(s, st, __func__)) != STORE_OK)
		return rc;
	st = s->st[ST_MEMBERS_DROP_MEMBER];
	sq_bind_int(st, 1, rid);
	return sq_run(s, st, __func__);
}

static int
sq_res_delete(struct store *base, const struct store_res *res,
              const struct store_actor *actor)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = s->st[ST_RES_DELETE];
	struct sq_current cur;
	struct sq_hist h;
	char now[32], *delta = NULL;
	bool own;
	int rc;

	store_now(now, sizeof(now));
	if (sq_wbegin(s, &own, __func__) != STORE_OK)
		return STORE_ERR;
	if ((rc = sq_current(s, res->rid, &cur)) != STORE_OK)
		goto out;
	if (cur.type == STORE_GROUP &&
	    (rc = sq_removed_delta(s, res->rid, &delta)) != STORE_OK)
		goto out;
	if ((rc = sq_groups_left(s, res->rid, cur.id, now, actor)) != STORE_OK)
		goto out;
	/* Its users leave it: their "groups" changes. */
	if (cur.type == STORE_GROUP &&
	    (rc = sq_bump(s, ST_MEMBERS_BUMP, res->rid, now)) != STORE_OK)
		goto out;
	if ((rc = sq_drop_memberships(s, res->rid)) != STORE_OK)
		goto out;
	sq_bind_int(st, 1, res->rid);
	sqlite_bind_str(st, 2, now);
	sq_bind_int(st, 3, cur.version + 1);
	if ((rc = sq_run(s, st, __func__)) != STORE_OK)
		goto out;
	memset(&h, 0, sizeof(h));
	h.tenant_id = cur.tenant_id;
	h.type = cur.type;
	h.rid = res->rid;
	h.resource_id = cur.id;
	h.op = "delete";
	h.version = cur.version + 1;
	h.before = cur.doc;
	h.delta = delta;
	rc = sq_history(s, &h, actor);
out:
	rc = sq_wend(s, own, rc, __func__);
	sq_current_clear(&cur);
	free(delta);
	return rc;
}

/* Listing. */

/* Bind one value compiled by sqlite_filter at index i. */
static int
sq_bind_json(sqlite3_stmt *st, int i, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return sqlite3_bind_text(st, i, json_string_value(v),
		                         (int)json_string_length(v),
		                         SQLITE_STATIC);
	case JSON_INTEGER:
		return sqlite3_bind_int64(st, i, json_integer_value(v));
	case JSON_REAL:
		return sqlite3_bind_double(st, i, json_real_value(v));
	case JSON_TRUE:
		return sqlite3_bind_int(st, i, 1);
	case JSON_FALSE:
		return sqlite3_bind_int(st, i, 0);
	case JSON_NULL:
		return sqlite3_bind_null(st, i);
	default:
		return SQLITE_MISMATCH;
	}
}

/* Everything a listing needs besides the query itself. */
struct sq_list {
	const struct store_query *q;
	struct buf where; /* " WHERE ..." shared by rows and count */
	json_t *params;   /* the filter's values, in "?" order */
	char kind;        /* cursor kind: 'r', 'o' or 0 (no cursor) */
	bool first;       /* cursor given and empty: first page */
	int64_t pos;      /* decoded cursor position */
};

/*
 * Take a prepared statement for sql out of the cache (NULL if none). A
 * taken statement is not in the cache, so a nested listing from inside a
 * callback prepares its own.
 */
static sqlite3_stmt *
sq_cache_take(struct sq *s, const char *sql)
{
	sqlite3_stmt *st;
	int i;

	for (i = 0; i < SQ_CACHE; i++) {
		if (s->cache[i].st == NULL || strcmp(s->cache[i].sql, sql) != 0)
			continue;
		st = s->cache[i].st;
		s->cache[i].st = NULL;
		xfree(s->cache[i].sql);
		return st;
	}
	return NULL;
}

/* Return st to the cache, evicting the least recently used. */
static void
sq_cache_put(struct sq *s, const char *sql, sqlite3_stmt *st)
{
	int i, victim = 0;

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	for (i = 0; i < SQ_CACHE; i++) {
		if (s->cache[i].st == NULL) {
			victim = i;
			break;
		}
		if (s->cache[i].used < s->cache[victim].used)
			victim = i;
	}
	sqlite3_finalize(s->cache[victim].st);
	free(s->cache[victim].sql);
	s->cache[victim].sql = xstrdup(sql);
	s->cache[victim].st = st;
	s->cache[victim].used = ++s->tick;
}

/* Prepare sql and bind the tenant and the filter's values. */
static int
sq_list_prepare(struct sq *s, struct sq_list *l, const char *sql,
                sqlite3_stmt **stp, int *next)
{
	sqlite3_stmt *st;
	size_t i;
	int rc;

	st = sq_cache_take(s, sql);
	if (st == NULL &&
	    sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
	                       NULL) != SQLITE_OK)
		return sq_fail(s, __func__);
	/* ?1 is the tenant; the type is a literal in the text. */
	rc = sqlite3_bind_int64(st, 1, l->q->tenant_id);
	for (i = 0; rc == SQLITE_OK && i < json_array_size(l->params); i++)
		rc = sq_bind_json(st, (int)i + 2, json_array_get(l->params, i));
	if (rc != SQLITE_OK) {
		log_warnx("%s: binding filter values: %s", __func__,
		          sqlite3_errstr(rc));
		sqlite3_finalize(st);
		return STORE_ERR;
	}
	*stp = st;
	*next = (int)json_array_size(l->params) + 2;
	return STORE_OK;
}

static int
sq_list_count(struct sq *s, struct sq_list *l, int64_t *total)
{
	sqlite3_stmt *st;
	struct buf sql;
	int next, rc;

	buf_init(&sql, 0);
	if (l->q->filter == NULL) {
		/* O(1): triggers keep live counts; count(*) walks 100k rows. */
		buf_addf(&sql,
		         "SELECT coalesce((SELECT live FROM resource_counts "
		         "WHERE tenant_id = ?1 AND type = %d), 0)",
		         (int)l->q->type);
	} else {
		buf_addstr(&sql, "SELECT count(*) FROM resources r");
		buf_addstr(&sql, buf_str(&l->where));
	}
	rc = sq_list_prepare(s, l, buf_str(&sql), &st, &next);
	if (rc != STORE_OK) {
		buf_free(&sql);
		return rc;
	}
	if (sqlite3_step(st) == SQLITE_ROW) {
		*total = sqlite3_column_int64(st, 0);
		rc = STORE_OK;
	} else
		rc = sq_fail(s, __func__);
	sq_cache_put(s, buf_str(&sql), st);
	buf_free(&sql);
	return rc;
}

/*
 * The row query. Keyset cursors (no sortBy) continue after the last rid
 * returned; offset cursors and startIndex skip rows. A cursor query asks
 * for one row more than it returns to learn whether a next page exists.
 */
static int
sq_list_sql(struct sq_list *l, struct buf *sql, char **cause)
{
	const struct store_query *q = l->q;
	const char *dir = q->descending ? " DESC" : "";

	buf_addstr(sql, "SELECT " SQ_RES_COLS " FROM resources r");
	buf_addstr(sql, buf_str(&l->where));
	if (l->kind == 'r' && !l->first)
		buf_addstr(sql,
		           q->descending ? " AND r.rid < ?" : " AND r.rid > ?");
	buf_addstr(sql, " ORDER BY ");
	if (q->sort != NULL) {
		if (sqlite_filter_sort_expr(q->sort, q->type, sql, cause) == -1)
			return STORE_INVALID;
		buf_addf(sql, "%s, r.rid", dir);
	} else
		buf_addf(sql, "r.rid%s", dir);
	buf_addstr(sql, " LIMIT ? OFFSET ?");
	return STORE_OK;
}

static int
sq_list_rows(struct sq *s, struct sq_list *l,
             int (*cb)(const struct store_res *, void *), void *arg,
             struct store_page *page, char **cause)
{
	const struct store_query *q = l->q;
	sqlite3_stmt *st = NULL;
	struct store_res res;
	struct buf sql;
	int64_t n = 0, last = 0, offset = 0, limit = q->count;
	bool more = false;
	int i, rc;

	buf_init(&sql, 0);
	if ((rc = sq_list_sql(l, &sql, cause)) != STORE_OK)
		goto out;
	if (sql.failed) {
		log_warnx("%s: query too long", __func__);
		rc = STORE_ERR;
		goto out;
	}
	if ((rc = sq_list_prepare(s, l, buf_str(&sql), &st, &i)) != STORE_OK)
		goto out;
	if (l->kind == 'r' && !l->first)
		sqlite3_bind_int64(st, i++, l->pos);
	if (l->kind == 0)
		offset = q->start_index - 1;
	else if (l->kind == 'o')
		offset = l->pos;
	if (l->kind != 0 && limit < INT64_MAX)
		limit++;
	sqlite3_bind_int64(st, i++, limit);
	sqlite3_bind_int64(st, i, offset);

	while (n < q->count && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		sq_res_row(st, &res, false);
		n++;
		last = res.rid;
		if (cb != NULL && cb(&res, arg) != 0)
			break;
	}
	if (n < q->count && rc != SQLITE_ROW && rc != SQLITE_DONE) {
		rc = sq_fail(s, __func__);
		goto out;
	}
	/* Rows delivered; does another follow them? */
	if (l->kind != 0 && n > 0 && (n == q->count || rc == SQLITE_ROW)) {
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			rc = sq_fail(s, __func__);
			goto out;
		}
		more = rc == SQLITE_ROW;
	}
	if (more)
		page->next_cursor = store_cursor_encode(
		    l->kind, q->tenant_id, q->type, q->count,
		    l->kind == 'r' ? last : offset + n);
	rc = STORE_OK;
out:
	if (st != NULL)
		sq_cache_put(s, buf_str(&sql), st);
	buf_free(&sql);
	return rc;
}

/* Decode the cursor and compile the filter into l->where / l->params. */
static int
sq_list_setup(struct sq_list *l, char **cause)
{
	const struct store_query *q = l->q;
	int64_t count;

	if (q->cursor != NULL) {
		l->kind = q->sort != NULL ? 'o' : 'r';
		l->first = q->cursor[0] == '\0';
		if (!l->first &&
		    store_cursor_decode(q->cursor, l->kind, q->tenant_id,
		                        q->type, &count, &l->pos) == -1) {
			store_set_cause(cause, "invalid cursor");
			return STORE_INVALID;
		}
		if (!l->first && count != q->count) {
			store_set_cause(cause,
			                STORE_CAUSE_CURSOR_COUNT
			                " (%" PRId64 ", this request %" PRId64
			                ")",
			                count, q->count);
			return STORE_INVALID;
		}
	}
	/*
	 * The type is written as a literal: bound, it makes SQLite test the
	 * partial indexes' "type = 1" against the value and re-prepare the
	 * statement on every new binding (whereUsablePartialIndex).
	 */
	buf_addf(&l->where,
	         " WHERE r.tenant_id = ? AND r.type = %d AND "
	         "r.deleted_at IS NULL",
	         (int)q->type);
	if (q->filter != NULL) {
		buf_addstr(&l->where, " AND (");
		if (sqlite_filter_compile(q->filter, q->type, &l->where,
		                          l->params, cause) == -1)
			return STORE_INVALID;
		buf_addch(&l->where, ')');
	}
	if (l->where.failed) {
		log_warnx("%s: filter too long", __func__);
		return STORE_ERR;
	}
	return STORE_OK;
}

static int
sq_res_list(struct store *base, const struct store_query *q,
            int (*cb)(const struct store_res *, void *), void *arg,
            struct store_page *page, char **cause)
{
	struct sq *s = sq_of(base);
	struct sq_list l;
	bool own = false;
	int rc;

	memset(&l, 0, sizeof(l));
	l.q = q;
	l.params = json_array();
	buf_init(&l.where, 0);
	if ((rc = sq_list_setup(&l, cause)) != STORE_OK)
		goto out;
	/* Count and rows from one snapshot, so they agree. */
	if (q->want_total && q->count > 0 && sqlite3_get_autocommit(s->db)) {
		if ((rc = sq_exec_st(s, ST_BEGIN_READ, __func__)) != STORE_OK)
			goto out;
		own = true;
	}
	if (q->want_total &&
	    (rc = sq_list_count(s, &l, &page->total)) != STORE_OK)
		goto out;
	if (q->count > 0)
		rc = sq_list_rows(s, &l, cb, arg, page, cause);
out:
	if (own)
		sq_exec_st(s, ST_COMMIT, __func__);
	if (rc != STORE_OK)
		store_page_clear(page);
	buf_free(&l.where);
	json_decref(l.params);
	return rc;
}

/* Membership. */

static int
sq_member_walk(struct sq *s, enum sq_st id, int64_t rid,
               int (*cb)(const struct store_member *, void *), void *arg,
               const char *func)
{
	sqlite3_stmt *st;
	struct store_member m;
	int rc;

	if ((st = sq_walk_begin(s, id, func)) == NULL)
		return STORE_ERR;
	sq_bind_int(st, 1, rid);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		m.id = (const char *)sqlite3_column_text(st, 0);
		m.type = store_rtype_name(
		    (enum store_rtype)sqlite3_column_int(st, 1));
		m.display = (const char *)sqlite3_column_text(st, 2);
		if (cb(&m, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	rc = rc == SQLITE_DONE ? STORE_OK : sq_fail(s, func);
	sq_walk_end(s, id, st);
	return rc;
}

static int
sq_members_list(struct store *base, int64_t group_rid,
                int (*cb)(const struct store_member *, void *), void *arg)
{
	return sq_member_walk(sq_of(base), ST_MEMBERS_LIST, group_rid, cb, arg,
	                      __func__);
}

static int
sq_user_groups(struct store *base, int64_t user_rid,
               int (*cb)(const struct store_member *, void *), void *arg)
{
	return sq_member_walk(sq_of(base), ST_USER_GROUPS, user_rid, cb, arg,
	                      __func__);
}

static int
sq_res_count(struct store *base, int64_t tenant_id, enum store_rtype type,
             int64_t *n)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = s->st[ST_RES_COUNT];
	int rc;

	sq_bind_int(st, 1, tenant_id);
	sq_bind_int(st, 2, type);
	if ((rc = sq_row(s, st, __func__)) == STORE_OK)
		*n = sqlite3_column_int64(st, 0);
	sq_done(st);
	return rc;
}

static int
sq_data_version(struct store *base, int64_t *v)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = s->st[ST_DATA_VERSION];
	int rc;

	if ((rc = sq_row(s, st, __func__)) == STORE_OK)
		*v = sqlite3_column_int64(st, 0);
	sq_done(st);
	return rc;
}

/* The live rid of id in the group's tenant, or STORE_INVALID. */
static int
sq_member_resolve(struct sq *s, const struct store_res *group, const char *id,
                  int64_t *rid, char **cause)
{
	sqlite3_stmt *st = s->st[ST_MEMBER_RESOLVE];
	int rc;

	sq_bind_int(st, 1, group->tenant_id);
	sqlite_bind_str(st, 2, id);
	if ((rc = sq_row(s, st, __func__)) == STORE_OK)
		*rid = sqlite3_column_int64(st, 0);
	sq_done(st);
	if (rc == STORE_NOTFOUND) {
		store_set_cause(cause, "member \"%s\" does not exist", id);
		return STORE_INVALID;
	}
	if (rc == STORE_OK && *rid == group->rid) {
		store_set_cause(
		    cause, "group \"%s\" cannot be a member of itself", id);
		return STORE_INVALID;
	}
	return rc;
}

/* Add member_rid to the group; a user that joins gets a new version. */
static int
sq_member_insert(struct sq *s, int64_t group_rid, int64_t member_rid,
                 const char *now)
{
	sqlite3_stmt *st = s->st[ST_MEMBER_ADD];
	int rc;

	sq_bind_int(st, 1, group_rid);
	sq_bind_int(st, 2, member_rid);
	if ((rc = sq_run(s, st, __func__)) != STORE_OK)
		return rc;
	if (sqlite3_changes(s->db) == 0)
		return STORE_OK; /* already a member: no change */
	return sq_bump(s, ST_MEMBER_BUMP, member_rid, now);
}

static int
sq_members_add(struct store *base, const struct store_res *group,
               const char *const *ids, size_t n, char **cause)
{
	struct sq *s = sq_of(base);
	int64_t rid;
	char now[32];
	size_t i;
	bool own;
	int rc = STORE_OK;

	store_now(now, sizeof(now));
	if (sq_wbegin(s, &own, __func__) != STORE_OK)
		return STORE_ERR;
	for (i = 0; i < n && rc == STORE_OK; i++) {
		if (ids[i] == NULL) {
			store_set_cause(cause, "member id missing");
			rc = STORE_INVALID;
			break;
		}
		rc = sq_member_resolve(s, group, ids[i], &rid, cause);
		if (rc == STORE_OK)
			rc = sq_member_insert(s, group->rid, rid, now);
	}
	/* All or nothing: a bad id undoes the ones before it. */
	return sq_wend(s, own, rc, __func__);
}

static int
sq_members_remove(struct store *base, int64_t group_rid, const char *const *ids,
                  size_t n)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = s->st[ST_MEMBER_REMOVE];
	sqlite3_stmt *bump = s->st[ST_MEMBER_BUMP_ID];
	char now[32];
	size_t i;
	bool own;
	int rc = STORE_OK;

	store_now(now, sizeof(now));
	if (sq_wbegin(s, &own, __func__) != STORE_OK)
		return STORE_ERR;
	/* Removing a non-member is not an error (RFC 7644 §3.5.2.2). */
	for (i = 0; i < n && rc == STORE_OK; i++) {
		if (ids[i] == NULL)
			continue;
		sq_bind_int(st, 1, group_rid);
		sqlite_bind_str(st, 2, ids[i]);
		if ((rc = sq_run(s, st, __func__)) != STORE_OK ||
		    sqlite3_changes(s->db) == 0)
			continue;
		/* The user that left gets a new version. */
		sq_bind_int(bump, 1, group_rid);
		sqlite_bind_str(bump, 2, ids[i]);
		sqlite_bind_str(bump, 3, now);
		rc = sq_run(s, bump, __func__);
	}
	return sq_wend(s, own, rc, __func__);
}

static int
sq_members_present(struct store *base, int64_t group_rid,
                   const char *const *ids, size_t n, size_t *present)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = s->st[ST_MEMBER_PRESENT];
	int rc = STORE_OK;

	*present = 0;
	for (size_t i = 0; i < n && rc == STORE_OK; i++) {
		if (ids[i] == NULL)
			continue;
		sq_bind_int(st, 1, group_rid);
		sqlite_bind_str(st, 2, ids[i]);
		rc = sq_row(s, st, __func__);
		sq_done(st);
		if (rc == STORE_OK)
			(*present)++;
		else if (rc == STORE_NOTFOUND)
			rc = STORE_OK;
	}
	return rc;
}

/*
 * Make the group's members exactly ids. Only the users that join or leave
 * get a new version, so a PUT that resends an unchanged 10,000-member list
 * touches no user: the old list is compared with the new one in SQL.
 */
static int
sq_members_set(struct store *base, const struct store_res *group,
               const char *const *ids, size_t n, char **cause)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st;
	int64_t *rids;
	struct buf set;
	char now[32];
	size_t i;
	bool own;
	int rc = STORE_OK;

	store_now(now, sizeof(now));
	if (sq_wbegin(s, &own, __func__) != STORE_OK)
		return STORE_ERR;
	rids = xcalloc(n ? n : 1, sizeof(*rids));
	buf_init(&set, 0);
	buf_addch(&set, '[');
	for (i = 0; i < n && rc == STORE_OK; i++) {
		if (ids[i] == NULL) {
			store_set_cause(cause, "member id missing");
			rc = STORE_INVALID;
			break;
		}
		rc = sq_member_resolve(s, group, ids[i], &rids[i], cause);
		if (i > 0)
			buf_addch(&set, ',');
		buf_add_i64(&set, rids[i]);
	}
	if (buf_addch(&set, ']') == -1 && rc == STORE_OK) {
		log_warnx("%s: member list too large", __func__);
		rc = STORE_ERR;
	}
	if (rc == STORE_OK) {
		st = s->st[ST_MEMBERS_BUMP_LEAVING];
		sq_bind_int(st, 1, group->rid);
		sqlite_bind_str(st, 2, buf_str(&set));
		sqlite_bind_str(st, 3, now);
		rc = sq_run(s, st, __func__);
	}
	if (rc == STORE_OK) {
		st = s->st[ST_MEMBERS_KEEP];
		sq_bind_int(st, 1, group->rid);
		sqlite_bind_str(st, 2, buf_str(&set));
		rc = sq_run(s, st, __func__);
	}
	for (i = 0; i < n && rc == STORE_OK; i++)
		rc = sq_member_insert(s, group->rid, rids[i], now);
	buf_free(&set);
	free(rids);
	return sq_wend(s, own, rc, __func__);
}

const struct store_ops store_sqlite_ops = {
    .name = "sqlite",
    .open = sq_open,
    .open_reader = sq_open_reader,
    .close = sq_close,
    .migrate = sq_migrate,
    .begin = sq_begin,
    .begin_nowait = sq_begin_nowait,
    .begin_read = sq_begin_read,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .in_tx = sq_in_tx,
    .savepoint = sq_savepoint,
    .release = sq_release,
    .rollback_savepoint = sq_rollback_savepoint,
    .tenant_create = sq_tenant_create,
    .tenant_get = sq_tenant_get,
    .tenant_get_id = sq_tenant_get_id,
    .tenant_set_rate = sq_tenant_set_rate,
    .tenant_list = sq_tenant_list,
    .token_create = sq_token_create,
    .token_find = sq_token_find,
    .token_list = sq_token_list,
    .token_revoke = sq_token_revoke,
    .token_touch = sq_token_touch,
    .res_get = sq_res_get,
    .res_insert = sq_res_insert,
    .res_update = sq_res_update,
    .res_delete = sq_res_delete,
    .res_list = sq_res_list,
    .members_list = sq_members_list,
    .members_add = sq_members_add,
    .members_remove = sq_members_remove,
    .members_present = sq_members_present,
    .members_set = sq_members_set,
    .user_groups = sq_user_groups,
    .res_count = sq_res_count,
    .data_version = sq_data_version,
    .hris = &sqlite_hris_ops,
    .feed = &sqlite_feed_ops,
    .deliver = &sqlite_deliver_ops,
    .sched = &sqlite_sched_ops,
};
