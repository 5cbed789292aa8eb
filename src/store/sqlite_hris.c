/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* HRIS import tables for SQLite (migration 2) and their operations. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/sqlite_priv.h"
#include "store/store_hris.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* Released with the rest of migration 2; never edited afterwards. */
const char sqlite_hris_schema[] =
    "CREATE TABLE hris_people (\n"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),\n"
    "  external_id TEXT NOT NULL,           -- the mapping's key column\n"
    "  rid INTEGER NOT NULL,                -- resources.rid of the User\n"
    "  row_hash INTEGER,                    -- mapped cells; NULL: unknown\n"
    "  dep_hash INTEGER,                    -- dependents' rows\n"
    "  run_id INTEGER NOT NULL,             -- import_runs.id that wrote it\n"
    "  PRIMARY KEY (tenant_id, external_id)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX hris_people_rid ON hris_people(rid);\n"
    "CREATE TABLE dependents (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),\n"
    "  employee_rid INTEGER NOT NULL REFERENCES resources(rid),\n"
    "  dep_key TEXT NOT NULL,               -- identity within the "
    "employee\n"
    "  dep_id TEXT,                         -- the file's dependent id\n"
    "  relationship TEXT NOT NULL,\n"
    "  first_name TEXT,\n"
    "  middle_name TEXT,\n"
    "  last_name TEXT,\n"
    "  birth_date TEXT,                     -- YYYY-MM-DD\n"
    "  gender TEXT,\n"
    "  created TEXT NOT NULL,\n"
    "  modified TEXT NOT NULL,\n"
    "  run_id INTEGER NOT NULL              -- last import that saw it\n"
    ");\n"
    "CREATE UNIQUE INDEX dependents_key ON dependents(employee_rid, "
    "dep_key);\n"
    "CREATE INDEX dependents_tenant ON dependents(tenant_id, "
    "employee_rid);\n"
    "CREATE TABLE import_runs (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),\n"
    "  mapping TEXT NOT NULL,\n"
    "  file TEXT NOT NULL,\n"
    "  started TEXT NOT NULL,\n"
    "  finished TEXT,\n"
    "  status TEXT NOT NULL,                -- running | applied | partial "
    "| rejected | refused\n"
    "  rows INTEGER NOT NULL DEFAULT 0,\n"
    "  created INTEGER NOT NULL DEFAULT 0,\n"
    "  updated INTEGER NOT NULL DEFAULT 0,\n"
    "  unchanged INTEGER NOT NULL DEFAULT 0,\n"
    "  terminated INTEGER NOT NULL DEFAULT 0,\n"
    "  dep_added INTEGER NOT NULL DEFAULT 0,\n"
    "  dep_updated INTEGER NOT NULL DEFAULT 0,\n"
    "  dep_removed INTEGER NOT NULL DEFAULT 0,\n"
    "  errors INTEGER NOT NULL DEFAULT 0,\n"
    "  history_seq INTEGER                  -- max(history.seq) at commit\n"
    ");\n"
    "CREATE INDEX import_runs_tenant ON import_runs(tenant_id, id);\n";

enum sh_st {
	SH_INVALIDATE,
	SH_PEOPLE_WALK,
	SH_PEOPLE_READ,
	SH_PERSON_PUT,
	SH_RES_BY_RID,
	SH_RES_BY_EXT,
	SH_EXT_WALK,
	SH_DEP_GET,
	SH_DEP_INSERT,
	SH_DEP_UPDATE,
	SH_DEP_STAMP,
	SH_DEP_PRUNE,
	SH_DEP_WALK_EMP,
	SH_DEP_WALK_TENANT,
	SH_RUN_BEGIN,
	SH_RUN_END,
	SH_RUN_LAST,
	SH__COUNT
};

#define SH_RES_COLS                                                            \
	"rid, tenant_id, type, id, name, external_id, active, doc, version, "  \
	"created, modified"
#define SH_DEP_COLS                                                            \
	"id, tenant_id, employee_rid, dep_key, dep_id, relationship, "         \
	"first_name, middle_name, last_name, birth_date, gender, created, "    \
	"modified"
#define SH_RUN_COLS                                                            \
	"id, tenant_id, mapping, file, started, finished, status, rows, "      \
	"created, updated, unchanged, terminated, dep_added, dep_updated, "    \
	"dep_removed, errors, history_seq"

/*
 * Whatever happened to a person since the tenant's last applied import (a
 * SCIM PATCH, a delete, another mapping) makes the stored hash
 * meaningless. history.seq is the rowid, so this reads only the history
 * written since then.
 */
#define SH_CHANGED_RIDS                                                        \
	"SELECT rid FROM history "                                             \
	"WHERE seq > coalesce((SELECT max(history_seq) FROM import_runs "      \
	"WHERE tenant_id = ?1 AND status IN ('applied', 'partial')), 0) "      \
	"AND tenant_id = ?1 AND type = 1"

static const char *const sh_sql[SH__COUNT] = {
    [SH_INVALIDATE] = "UPDATE hris_people SET row_hash = NULL, dep_hash = NULL "
                      "WHERE tenant_id = ?1 AND rid IN (" SH_CHANGED_RIDS ")",
    [SH_PEOPLE_WALK] = "SELECT external_id, rid, row_hash, dep_hash "
                       "FROM hris_people WHERE tenant_id = ?1",
    /* The walk as it reads after SH_INVALIDATE, which it does not run. */
    [SH_PEOPLE_READ] = "SELECT external_id, rid, row_hash, dep_hash, "
                       "rid IN (" SH_CHANGED_RIDS ") "
                       "FROM hris_people WHERE tenant_id = ?1",
    [SH_PERSON_PUT] =
        "INSERT INTO hris_people (tenant_id, external_id, rid, row_hash, "
        "dep_hash, run_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
        "ON CONFLICT (tenant_id, external_id) DO UPDATE SET "
        "rid = excluded.rid, row_hash = excluded.row_hash, "
        "dep_hash = excluded.dep_hash, run_id = excluded.run_id",
    [SH_RES_BY_RID] = "SELECT " SH_RES_COLS " FROM resources WHERE rid = ?1 "
                      "AND tenant_id = ?2 AND type = 1 "
                      "AND deleted_at IS NULL",
    [SH_RES_BY_EXT] = "SELECT " SH_RES_COLS " FROM resources "
                      "WHERE tenant_id = ?1 AND type = 1 AND external_id = ?2 "
                      "AND deleted_at IS NULL ORDER BY rid LIMIT 2",
    /* Covered by feed_people_key: the rows themselves are not read. */
    [SH_EXT_WALK] = "SELECT external_id, rid FROM resources "
                    "WHERE tenant_id = ?1 AND type = 1 "
                    "AND deleted_at IS NULL AND external_id IS NOT NULL "
                    "ORDER BY external_id",
    [SH_DEP_GET] = "SELECT " SH_DEP_COLS " FROM dependents "
                   "WHERE employee_rid = ?1 AND dep_key = ?2",
    [SH_DEP_INSERT] =
        "INSERT INTO dependents (tenant_id, employee_rid, dep_key, dep_id, "
        "relationship, first_name, middle_name, last_name, birth_date, "
        "gender, created, modified, run_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
        "?7, ?8, ?9, ?10, ?11, ?11, ?12)",
    [SH_DEP_UPDATE] = "UPDATE dependents SET dep_id = ?2, relationship = ?3, "
                      "first_name = ?4, middle_name = ?5, last_name = ?6, "
                      "birth_date = ?7, gender = ?8, modified = ?9, "
                      "run_id = ?10 WHERE id = ?1",
    [SH_DEP_STAMP] = "UPDATE dependents SET run_id = ?2 WHERE id = ?1",
    [SH_DEP_PRUNE] =
        "DELETE FROM dependents WHERE employee_rid = ?1 AND run_id != ?2",
    [SH_DEP_WALK_EMP] = "SELECT " SH_DEP_COLS " FROM dependents "
                        "WHERE employee_rid = ?1 ORDER BY id",
    [SH_DEP_WALK_TENANT] = "SELECT " SH_DEP_COLS " FROM dependents "
                           "WHERE tenant_id = ?1 ORDER BY employee_rid, id",
    [SH_RUN_BEGIN] = "INSERT INTO import_runs (tenant_id, mapping, file, "
                     "started, status) VALUES (?1, ?2, ?3, ?4, 'running')",
    [SH_RUN_END] =
        "UPDATE import_runs SET finished = ?2, status = ?3, rows = ?4, "
        "created = ?5, updated = ?6, unchanged = ?7, terminated = ?8, "
        "dep_added = ?9, dep_updated = ?10, dep_removed = ?11, errors = ?12, "
        "history_seq = (SELECT coalesce(max(seq), 0) FROM history) "
        "WHERE id = ?1",
    [SH_RUN_LAST] = "SELECT " SH_RUN_COLS " FROM import_runs "
                    "WHERE tenant_id = ?1 ORDER BY id DESC LIMIT 1",
};

/*
 * Statements kept for the length of a bulk session, per connection. The
 * handle struct belongs to sqlite.c, so they hang off this list keyed by
 * the connection instead; outside a session each call prepares its own.
 * Every cached statement is finalized by bulk_end, before the store can
 * be closed.
 */
struct sh_cache {
	sqlite3 *db;
	sqlite3_stmt *st[SH__COUNT];
	struct sh_cache *next;
};

static struct sh_cache *sh_caches;
static pthread_mutex_t sh_lock = PTHREAD_MUTEX_INITIALIZER;

static struct sh_cache *
sh_cache_find(sqlite3 *db)
{
	struct sh_cache *c;

	pthread_mutex_lock(&sh_lock);
	for (c = sh_caches; c != NULL && c->db != db; c = c->next)
		;
	pthread_mutex_unlock(&sh_lock);
	return c;
}

static int
sh_fail(sqlite3 *db, const char *func)
{
	log_warnx("%s: %s", func, sqlite3_errmsg(db));
	return STORE_ERR;
}

/* The statement for id: the session's, or a new one (NULL on failure). */
static sqlite3_stmt *
sh_get(struct store *st, enum sh_st id)
{
	sqlite3 *db = sqlite_store_db(st);
	struct sh_cache *c = sh_cache_find(db);
	sqlite3_stmt *s = NULL;

	if (c != NULL && c->st[id] != NULL && !sqlite3_stmt_busy(c->st[id]))
		return c->st[id];
	if (sqlite3_prepare_v2(db, sh_sql[id], -1, &s, NULL) != SQLITE_OK) {
		sh_fail(db, __func__);
		sqlite3_finalize(s);
		return NULL;
	}
	if (c != NULL && c->st[id] == NULL)
		c->st[id] = s;
	return s;
}

/* Done with s: reset a cached statement, finalize any other. */
static void
sh_put(struct store *st, enum sh_st id, sqlite3_stmt *s)
{
	struct sh_cache *c = sh_cache_find(sqlite_store_db(st));

	if (s == NULL)
		return;
	if (c != NULL && c->st[id] == s) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
	} else
		sqlite3_finalize(s);
}

/* A borrowed column, valid until the statement steps or resets. */
static char *
sh_ref(sqlite3_stmt *s, int i)
{
	return (char *)sqlite3_column_text(s, i);
}

/* Step a statement that returns no rows, then release it. */
static int
sh_run(struct store *st, enum sh_st id, sqlite3_stmt *s, const char *func)
{
	int rc = sqlite3_step(s), ret = STORE_OK;

	if (rc == SQLITE_CONSTRAINT_UNIQUE ||
	    rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		ret = STORE_CONFLICT;
	else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		ret = STORE_INVALID;
	else if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = sh_fail(sqlite_store_db(st), func);
	sh_put(st, id, s);
	return ret;
}

static int
sh_exec(sqlite3 *db, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return sh_fail(db, __func__);
	return STORE_OK;
}

static int64_t
sh_pragma_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	int64_t v = 0;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/*
 * A store write inside a transaction normally runs under a savepoint;
 * bulk mode drops it (a sixth of a first import's CPU, measured). The
 * statement journals SQLite still keeps for one statement stay in
 * memory: spilled to a temporary file past 64 KiB, they doubled the time
 * of 1M inserts. A larger page cache was measured too and bought
 * nothing, so the import keeps the connection's.
 */
static int
sh_bulk_begin(struct store *st, struct store_hris_bulk *b)
{
	sqlite3 *db = sqlite_store_db(st);
	struct sh_cache *c;

	memset(b, 0, sizeof(*b));
	b->saved[0] = sh_pragma_int(db, "PRAGMA temp_store");
	if (sh_exec(db, "PRAGMA temp_store = MEMORY") != STORE_OK)
		return STORE_ERR;
	sqlite_store_set_bulk(st, true);
	if (sh_cache_find(db) != NULL)
		return STORE_OK;
	c = xcalloc(1, sizeof(*c));
	c->db = db;
	pthread_mutex_lock(&sh_lock);
	c->next = sh_caches;
	sh_caches = c;
	pthread_mutex_unlock(&sh_lock);
	return STORE_OK;
}

static int
sh_bulk_end(struct store *st, const struct store_hris_bulk *b)
{
	sqlite3 *db = sqlite_store_db(st);
	struct sh_cache **pp, *c = NULL;
	char sql[64];
	int i;

	pthread_mutex_lock(&sh_lock);
	for (pp = &sh_caches; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->db == db) {
			c = *pp;
			*pp = c->next;
			break;
		}
	}
	pthread_mutex_unlock(&sh_lock);
	if (c != NULL) {
		for (i = 0; i < SH__COUNT; i++)
			sqlite3_finalize(c->st[i]);
		free(c);
	}
	sqlite_store_set_bulk(st, false);
	snprintf(sql, sizeof(sql), "PRAGMA temp_store = %lld",
	         (long long)b->saved[0]);
	return sh_exec(db, sql);
}

static int
sh_invalidate(struct store *st, int64_t tenant_id)
{
	sqlite3_stmt *s = sh_get(st, SH_INVALIDATE);

	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(s, 1, tenant_id);
	return sh_run(st, SH_INVALIDATE, s, __func__);
}

/* SH_PEOPLE_WALK or SH_PEOPLE_READ, whose fifth column voids the hashes. */
static int
sh_people_rows(struct store *st, enum sh_st id, int64_t tenant_id,
               int (*cb)(const struct store_hris_person *, void *), void *arg)
{
	sqlite3_stmt *s = sh_get(st, id);
	struct store_hris_person p;
	int rc;

	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(s, 1, tenant_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		p.external_id = sh_ref(s, 0);
		p.rid = sqlite3_column_int64(s, 1);
		p.has_hash =
		    sqlite3_column_type(s, 2) != SQLITE_NULL &&
		    sqlite3_column_type(s, 3) != SQLITE_NULL &&
		    (id != SH_PEOPLE_READ || sqlite3_column_int(s, 4) == 0);
		p.row_hash = (uint64_t)sqlite3_column_int64(s, 2);
		p.dep_hash = (uint64_t)sqlite3_column_int64(s, 3);
		if (cb(&p, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	rc = rc == SQLITE_DONE ? STORE_OK
	                       : sh_fail(sqlite_store_db(st), __func__);
	sh_put(st, id, s);
	return rc;
}

static int
sh_people_walk(struct store *st, int64_t tenant_id,
               int (*cb)(const struct store_hris_person *, void *), void *arg)
{
	return sh_people_rows(st, SH_PEOPLE_WALK, tenant_id, cb, arg);
}

static int
sh_person_put(struct store *st, int64_t tenant_id,
              const struct store_hris_person *p, int64_t run_id)
{
	sqlite3_stmt *s = sh_get(st, SH_PERSON_PUT);

	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(s, 1, tenant_id);
	sqlite_bind_str(s, 2, p->external_id);
	sqlite3_bind_int64(s, 3, p->rid);
	if (p->has_hash) {
		sqlite3_bind_int64(s, 4, (int64_t)p->row_hash);
		sqlite3_bind_int64(s, 5, (int64_t)p->dep_hash);
	}
	sqlite3_bind_int64(s, 6, run_id);
	return sh_run(st, SH_PERSON_PUT, s, __func__);
}

static void
sh_res_row(sqlite3_stmt *s, struct store_res *r)
{
	memset(r, 0, sizeof(*r));
	r->rid = sqlite3_column_int64(s, 0);
	r->tenant_id = sqlite3_column_int64(s, 1);
	r->type = (enum store_rtype)sqlite3_column_int(s, 2);
	r->id = sqlite_col_dup(s, 3);
	r->name = sqlite_col_dup(s, 4);
	r->external_id = sqlite_col_dup(s, 5);
	r->active = sqlite3_column_int(s, 6);
	r->doc = sqlite_col_dup(s, 7);
	r->version = sqlite3_column_int64(s, 8);
	r->created = sqlite_col_dup(s, 9);
	r->modified = sqlite_col_dup(s, 10);
}

/* Step a lookup: OK (row current), NOTFOUND or ERR. */
static int
sh_row(struct store *st, sqlite3_stmt *s, const char *func)
{
	switch (sqlite3_step(s)) {
	case SQLITE_ROW:
		return STORE_OK;
	case SQLITE_DONE:
		return STORE_NOTFOUND;
	default:
		return sh_fail(sqlite_store_db(st), func);
	}
}

static int
sh_res_by_rid(struct store *st, int64_t tenant_id, int64_t rid,
              struct store_res *r)
{
	sqlite3_stmt *s = sh_get(st, SH_RES_BY_RID);
	int rc;

	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(s, 1, rid);
	sqlite3_bind_int64(s, 2, tenant_id);
	if ((rc = sh_row(st, s, __func__)) == STORE_OK)
		sh_res_row(s, r);
	sh_put(st, SH_RES_BY_RID, s);
	return rc;
}

static int
sh_res_by_external(struct store *st, int64_t tenant_id, const char *ext,
                   struct store_res *r)
{
	sqlite3_stmt *s = sh_get(st, SH_RES_BY_EXT);
	int rc;

	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(s, 1, tenant_id);
	sqlite_bind_str(s, 2, ext);
	if ((rc = sh_row(st, s, __func__)) == STORE_OK) {
		sh_res_row(s, r);
		if ((rc = sh_row(st, s, __func__)) == STORE_NOTFOUND)
			rc = STORE_OK;
		else if (rc == STORE_OK) {
			rc = STORE_CONFLICT;
			store_res_clear(r);
		} else
			store_res_clear(r);
	}
	sh_put(st, SH_RES_BY_EXT, s);
	return rc;
}

static int
sh_external_walk(struct store *st, int64_t tenant_id,
                 int (*cb)(const char *, int64_t, void *), void *arg)
{
	sqlite3_stmt *s = sh_get(st, SH_EXT_WALK);
	int rc;

	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(s, 1, tenant_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (cb(sh_ref(s, 0), sqlite3_column_int64(s, 1), arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	rc = rc == SQLITE_DONE ? STORE_OK
	                       : sh_fail(sqlite_store_db(st), __func__);
	sh_put(st, SH_EXT_WALK, s);
	return rc;
}

static int
sh_people_read(struct store *st, int64_t tenant_id,
               int (*cb)(const struct store_hris_person *, void *),
               int (*ext)(const char *, int64_t, void *), void *arg)
{
	sqlite3 *db = sqlite_store_db(st);
	int rc;

	/* One snapshot for both walks. */
	if (sh_exec(db, "BEGIN") != STORE_OK)
		return STORE_ERR;
	rc = sh_people_rows(st, SH_PEOPLE_READ, tenant_id, cb, arg);
	if (rc == STORE_OK && ext != NULL)
		rc = sh_external_walk(st, tenant_id, ext, arg);
	if (sh_exec(db, "COMMIT") != STORE_OK)
		rc = STORE_ERR;
	return rc;
}

static void
sh_dep_row(sqlite3_stmt *s, struct store_hris_dependent *d, bool copy)
{
	char *(*col)(sqlite3_stmt *, int) = copy ? sqlite_col_dup : sh_ref;

	d->id = sqlite3_column_int64(s, 0);
	d->tenant_id = sqlite3_column_int64(s, 1);
	d->employee_rid = sqlite3_column_int64(s, 2);
	d->key = col(s, 3);
	d->dep_id = col(s, 4);
	d->relationship = col(s, 5);
	d->first_name = col(s, 6);
	d->middle_name = col(s, 7);
	d->last_name = col(s, 8);
	d->birth_date = col(s, 9);
	d->gender = col(s, 10);
	d->created = col(s, 11);
	d->modified = col(s, 12);
}

static bool
sh_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Do the file's values differ from the stored row's? */
static bool
sh_dep_differs(const struct store_hris_dependent *a,
               const struct store_hris_dependent *b)
{
	return !sh_same(a->dep_id, b->dep_id) ||
	       !sh_same(a->relationship, b->relationship) ||
	       !sh_same(a->first_name, b->first_name) ||
	       !sh_same(a->middle_name, b->middle_name) ||
	       !sh_same(a->last_name, b->last_name) ||
	       !sh_same(a->birth_date, b->birth_date) ||
	       !sh_same(a->gender, b->gender);
}

static int
sh_dep_insert(struct store *st, const struct store_hris_dependent *d,
              int64_t run_id, const char *now)
{
	sqlite3_stmt *s = sh_get(st, SH_DEP_INSERT);

	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(s, 1, d->tenant_id);
	sqlite3_bind_int64(s, 2, d->employee_rid);
	sqlite_bind_str(s, 3, d->key);
	sqlite_bind_str(s, 4, d->dep_id);
	sqlite_bind_str(s, 5, d->relationship);
	sqlite_bind_str(s, 6, d->first_name);
	sqlite_bind_str(s, 7, d->middle_name);
	sqlite_bind_str(s, 8, d->last_name);
	sqlite_bind_str(s, 9, d->birth_date);
	sqlite_bind_str(s, 10, d->gender);
	sqlite_bind_str(s, 11, now);
	sqlite3_bind_int64(s, 12, run_id);
	return sh_run(st, SH_DEP_INSERT, s, __func__);
}

static int
sh_dep_update(struct store *st, int64_t id,
              const struct store_hris_dependent *d, int64_t run_id,
              const char *now)
{
	sqlite3_stmt *s = sh_get(st, SH_DEP_UPDATE);

	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(s, 1, id);
	sqlite_bind_str(s, 2, d->dep_id);
	sqlite_bind_str(s, 3, d->relationship);
	sqlite_bind_str(s, 4, d->first_name);
	sqlite_bind_str(s, 5, d->middle_name);
	sqlite_bind_str(s, 6, d->last_name);
	sqlite_bind_str(s, 7, d->birth_date);
	sqlite_bind_str(s, 8, d->gender);
	sqlite_bind_str(s, 9, now);
	sqlite3_bind_int64(s, 10, run_id);
	return sh_run(st, SH_DEP_UPDATE, s, __func__);
}

static int
sh_dep_stamp(struct store *st, int64_t id, int64_t run_id)
{
	sqlite3_stmt *s = sh_get(st, SH_DEP_STAMP);

	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, run_id);
	return sh_run(st, SH_DEP_STAMP, s, __func__);
}

static int
sh_dep_put(struct store *st, const struct store_hris_dependent *d,
           int64_t run_id, int *change)
{
	sqlite3_stmt *s = sh_get(st, SH_DEP_GET);
	struct store_hris_dependent old;
	char now[32];
	int64_t id = 0;
	bool differs = false;
	int rc;

	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(s, 1, d->employee_rid);
	sqlite_bind_str(s, 2, d->key);
	if ((rc = sh_row(st, s, __func__)) == STORE_OK) {
		sh_dep_row(s, &old, false);
		id = old.id;
		differs = sh_dep_differs(d, &old);
	}
	sh_put(st, SH_DEP_GET, s);
	store_now(now, sizeof(now));
	*change = 0;
	if (rc == STORE_NOTFOUND) {
		*change = 1;
		return sh_dep_insert(st, d, run_id, now);
	}
	if (rc != STORE_OK)
		return rc;
	if (!differs)
		return sh_dep_stamp(st, id, run_id);
	*change = 2;
	return sh_dep_update(st, id, d, run_id, now);
}

static int
sh_dep_prune(struct store *st, int64_t employee_rid, int64_t run_id,
             int64_t *removed)
{
	sqlite3_stmt *s = sh_get(st, SH_DEP_PRUNE);
	int rc;

	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(s, 1, employee_rid);
	sqlite3_bind_int64(s, 2, run_id);
	rc = sh_run(st, SH_DEP_PRUNE, s, __func__);
	*removed = rc == STORE_OK ? sqlite3_changes(sqlite_store_db(st)) : 0;
	return rc;
}

static int
sh_dep_walk(struct store *st, int64_t tenant_id, int64_t employee_rid,
            int (*cb)(const struct store_hris_dependent *, void *), void *arg)
{
	enum sh_st id = employee_rid > 0 ? SH_DEP_WALK_EMP : SH_DEP_WALK_TENANT;
	sqlite3_stmt *s = sh_get(st, id);
	struct store_hris_dependent d;
	int rc;

	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(s, 1, employee_rid > 0 ? employee_rid : tenant_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		sh_dep_row(s, &d, false);
		if (employee_rid > 0 && d.tenant_id != tenant_id)
			continue;
		if (cb(&d, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	rc = rc == SQLITE_DONE ? STORE_OK
	                       : sh_fail(sqlite_store_db(st), __func__);
	sh_put(st, id, s);
	return rc;
}

static int
sh_run_begin(struct store *st, struct store_hris_run *r)
{
	sqlite3_stmt *s = sh_get(st, SH_RUN_BEGIN);
	char now[32];
	int rc;

	if (s == NULL)
		return STORE_ERR;
	store_now(now, sizeof(now));
	sqlite3_bind_int64(s, 1, r->tenant_id);
	sqlite_bind_str(s, 2, r->mapping);
	sqlite_bind_str(s, 3, r->file);
	sqlite_bind_str(s, 4, now);
	if ((rc = sh_run(st, SH_RUN_BEGIN, s, __func__)) != STORE_OK)
		return rc;
	r->id = sqlite3_last_insert_rowid(sqlite_store_db(st));
	free(r->started);
	r->started = xstrdup(now);
	r->status = STORE_HRIS_RUNNING;
	return STORE_OK;
}

static int
sh_run_end(struct store *st, struct store_hris_run *r)
{
	sqlite3_stmt *s = sh_get(st, SH_RUN_END);
	char now[32];

	if (s == NULL)
		return STORE_ERR;
	store_now(now, sizeof(now));
	sqlite3_bind_int64(s, 1, r->id);
	sqlite_bind_str(s, 2, now);
	sqlite_bind_str(s, 3, store_hris_status_name(r->status));
	sqlite3_bind_int64(s, 4, r->rows);
	sqlite3_bind_int64(s, 5, r->created);
	sqlite3_bind_int64(s, 6, r->updated);
	sqlite3_bind_int64(s, 7, r->unchanged);
	sqlite3_bind_int64(s, 8, r->terminated);
	sqlite3_bind_int64(s, 9, r->dep_added);
	sqlite3_bind_int64(s, 10, r->dep_updated);
	sqlite3_bind_int64(s, 11, r->dep_removed);
	sqlite3_bind_int64(s, 12, r->errors);
	free(r->finished);
	r->finished = xstrdup(now);
	return sh_run(st, SH_RUN_END, s, __func__);
}

static enum store_hris_status
sh_status(const char *s)
{
	static const enum store_hris_status all[] = {
	    STORE_HRIS_APPLIED, STORE_HRIS_PARTIAL, STORE_HRIS_REJECTED,
	    STORE_HRIS_REFUSED};
	size_t i;

	for (i = 0; s != NULL && i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(s, store_hris_status_name(all[i])) == 0)
			return all[i];
	return STORE_HRIS_RUNNING;
}

static int
sh_run_last(struct store *st, int64_t tenant_id, struct store_hris_run *r)
{
	sqlite3_stmt *s = sh_get(st, SH_RUN_LAST);
	int rc;

	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(s, 1, tenant_id);
	if ((rc = sh_row(st, s, __func__)) == STORE_OK) {
		memset(r, 0, sizeof(*r));
		r->id = sqlite3_column_int64(s, 0);
		r->tenant_id = sqlite3_column_int64(s, 1);
		r->mapping = sqlite_col_dup(s, 2);
		r->file = sqlite_col_dup(s, 3);
		r->started = sqlite_col_dup(s, 4);
		r->finished = sqlite_col_dup(s, 5);
		r->status = sh_status(sh_ref(s, 6));
		r->rows = sqlite3_column_int64(s, 7);
		r->created = sqlite3_column_int64(s, 8);
		r->updated = sqlite3_column_int64(s, 9);
		r->unchanged = sqlite3_column_int64(s, 10);
		r->terminated = sqlite3_column_int64(s, 11);
		r->dep_added = sqlite3_column_int64(s, 12);
		r->dep_updated = sqlite3_column_int64(s, 13);
		r->dep_removed = sqlite3_column_int64(s, 14);
		r->errors = sqlite3_column_int64(s, 15);
		r->history_seq = sqlite3_column_int64(s, 16);
	}
	sh_put(st, SH_RUN_LAST, s);
	return rc;
}

const struct store_hris_ops sqlite_hris_ops = {
    .bulk_begin = sh_bulk_begin,
    .bulk_end = sh_bulk_end,
    .invalidate = sh_invalidate,
    .people_walk = sh_people_walk,
    .people_read = sh_people_read,
    .person_put = sh_person_put,
    .res_by_rid = sh_res_by_rid,
    .res_by_external = sh_res_by_external,
    .external_walk = sh_external_walk,
    .dep_put = sh_dep_put,
    .dep_prune = sh_dep_prune,
    .dep_walk = sh_dep_walk,
    .run_begin = sh_run_begin,
    .run_end = sh_run_end,
    .run_last = sh_run_last,
};
