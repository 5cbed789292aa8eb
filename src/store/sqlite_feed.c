/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* The feed tables for SQLite: migrations 3 and 7, struct store_feed_ops. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "store/sqlite_filter.h"
#include "store/sqlite_priv.h"
#include "store/store_feed.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xmalloc.h"

/*
 * Migration 3. feed_people_key is a covering index for the plan's scan of
 * a tenant's people in externalId order: without it the scan reads every
 * row's document (about a gigabyte for 1,000,000 people); with it, only
 * the index (deleted_at is in it only so that SQLite sees the index
 * covers the query). The members have no such index: the plan reads
 * their rows whole (about 0.07 s more per million), but a run updating
 * 1% of them writes half the pages it would with one. The partial unique
 * index on feed_runs keeps
 * at most one unfinished run per feed, whatever the callers do.
 */
const char sqlite_feed_schema[] =
    "CREATE INDEX feed_people_key ON resources(tenant_id, type, "
    "external_id, rid, version, deleted_at)\n"
    "  WHERE deleted_at IS NULL;\n"
    "CREATE TABLE feed_state (\n"
    "  feed TEXT PRIMARY KEY,\n"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),\n"
    "  seq INTEGER NOT NULL DEFAULT 0,       -- last run\n"
    "  file_seq INTEGER NOT NULL DEFAULT 0,  -- last file ({seq})\n"
    "  rule_hash TEXT,                       -- of the last rendered run\n"
    "  values_hash TEXT,\n"
    "  layout_hash TEXT,\n"
    "  layout TEXT,                          -- JSON array of columns\n"
    "  roster INTEGER NOT NULL DEFAULT 0,    -- active members\n"
    "  terminated INTEGER NOT NULL DEFAULT 0 -- terminated members\n"
    ");\n"
    "CREATE TABLE feed_members (\n"
    "  feed TEXT NOT NULL,\n"
    "  key TEXT NOT NULL,\n"
    "  status TEXT NOT NULL CHECK (status IN ('active', 'terminated')),\n"
    "  person_rid INTEGER NOT NULL,\n"
    "  person_version INTEGER NOT NULL,\n"
    "  term_date TEXT,                       -- YYYY-MM-DD\n"
    "  term_reason TEXT,\n"
    "  first_sent TEXT NOT NULL,             -- as-of date of the run\n"
    "  last_sent TEXT,                       -- last run that changed it\n"
    "  vals TEXT NOT NULL,                   -- values, 0x1f-separated\n"
    "  PRIMARY KEY (feed, key)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE feed_excluded (\n"
    "  feed TEXT NOT NULL,\n"
    "  key TEXT NOT NULL,\n"
    "  person_rid INTEGER NOT NULL,\n"
    "  person_version INTEGER NOT NULL,\n"
    "  PRIMARY KEY (feed, key)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE feed_runs (\n"
    "  id TEXT PRIMARY KEY,                  -- run_ + 16 hex\n"
    "  feed TEXT NOT NULL,\n"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),\n"
    "  seq INTEGER NOT NULL,\n"
    "  state TEXT NOT NULL,\n"
    "  mode TEXT NOT NULL CHECK (mode IN ('full', 'change')),\n"
    "  as_of TEXT NOT NULL,\n"
    "  clock TEXT NOT NULL,\n"
    "  created TEXT NOT NULL,\n"
    "  updated TEXT NOT NULL,\n"
    "  adds INTEGER NOT NULL DEFAULT 0,\n"
    "  changes INTEGER NOT NULL DEFAULT 0,\n"
    "  terms INTEGER NOT NULL DEFAULT 0,\n"
    "  reinstates INTEGER NOT NULL DEFAULT 0,\n"
    "  unchanged INTEGER NOT NULL DEFAULT 0,\n"
    "  total INTEGER NOT NULL DEFAULT 0,\n"
    "  roster_before INTEGER NOT NULL DEFAULT 0,\n"
    "  rule_hash TEXT NOT NULL,\n"
    "  values_hash TEXT NOT NULL,\n"
    "  layout_hash TEXT NOT NULL,\n"
    "  layout TEXT NOT NULL,\n"
    "  held TEXT,                            -- JSON array of reasons\n"
    "  out_dir TEXT,\n"
    "  file_seq INTEGER,\n"
    "  file_name TEXT,\n"
    "  file_sha256 TEXT,\n"
    "  file_size INTEGER,\n"
    "  x12_sender TEXT,\n"
    "  isa13 INTEGER,\n"
    "  gs06 INTEGER,\n"
    "  st02 INTEGER,\n"
    "  decided_by TEXT,\n"
    "  decided_at TEXT,\n"
    "  reason TEXT,\n"
    "  error TEXT,\n"
    "  UNIQUE (feed, seq)\n"
    ");\n"
    "CREATE UNIQUE INDEX feed_runs_unfinished ON feed_runs(feed)\n"
    "  WHERE state IN ('planned', 'pending_approval', 'approved');\n"
    "CREATE TABLE feed_run_entries (\n"
    "  run_id TEXT NOT NULL,\n"
    "  key TEXT NOT NULL,\n"
    "  action TEXT NOT NULL,                 -- add change term reinstate "
    "same exclude unexclude\n"
    "  status TEXT NOT NULL,                 -- member status after the "
    "run\n"
    "  person_rid INTEGER NOT NULL,\n"
    "  person_version INTEGER NOT NULL,\n"
    "  vals TEXT,\n"
    "  term_date TEXT,\n"
    "  term_reason TEXT,\n"
    "  changed TEXT,                         -- changed columns, "
    "comma-separated\n"
    "  PRIMARY KEY (run_id, key)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE feed_run_events (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  run_id TEXT NOT NULL,\n"
    "  at TEXT NOT NULL,\n"
    "  from_state TEXT,\n"
    "  to_state TEXT NOT NULL,\n"
    "  actor TEXT NOT NULL,\n"
    "  note TEXT\n"
    ");\n"
    "CREATE INDEX feed_run_events_run ON feed_run_events(run_id, id);\n"
    "CREATE TABLE x12_control (\n"
    "  sender TEXT PRIMARY KEY,              -- ISA05:ISA06\n"
    "  isa13 INTEGER NOT NULL,\n"
    "  gs06 INTEGER NOT NULL,\n"
    "  st INTEGER NOT NULL\n"
    ");\n";

/*
 * Migration 7. A run that changes a member keeps the row it replaced in
 * feed_run_undo, so that a rendered run the vendor never received can be
 * discarded and its changes go out again with the next run instead of
 * being lost. feed_runs.undo says the run kept them (runs rendered before
 * migration 7 did not, and cannot be discarded). The feed's next run
 * drops the rows of runs whose delivery arrived and of runs more than
 * SF_UNDO_RUNS back (a feed delivered by hand has no deliveries).
 */
const char sqlite_feed_schema_v7[] =
    "CREATE TABLE feed_run_undo (\n"
    "  run_id TEXT NOT NULL,\n"
    "  key TEXT NOT NULL,\n"
    "  status TEXT NOT NULL,\n"
    "  person_rid INTEGER NOT NULL,\n"
    "  person_version INTEGER NOT NULL,\n"
    "  term_date TEXT,\n"
    "  term_reason TEXT,\n"
    "  last_sent TEXT,\n"
    "  vals TEXT NOT NULL,\n"
    "  PRIMARY KEY (run_id, key)\n"
    ") WITHOUT ROWID;\n"
    "ALTER TABLE feed_runs ADD COLUMN undo INTEGER NOT NULL DEFAULT 0;\n";

/* How many of a feed's latest runs keep what they replaced. */
#define SF_UNDO_RUNS "10"

/* Must match the partial index feed_runs_unfinished. */
#define SF_UNFINISHED "('planned', 'pending_approval', 'approved')"

#define SF_RUN_COLS                                                            \
	"id, feed, tenant_id, seq, state, mode, as_of, clock, created, "       \
	"updated, adds, changes, terms, reinstates, unchanged, total, "        \
	"roster_before, rule_hash, values_hash, layout_hash, layout, held, "   \
	"out_dir, file_seq, file_name, file_sha256, file_size, x12_sender, "   \
	"isa13, gs06, st02, decided_by, decided_at, reason, error"

#define SF_MEMBER_COLS                                                         \
	"key, status = 'active', person_rid, person_version, term_date, "      \
	"term_reason"

enum sf_kind { SF_PEOPLE, SF_MEMBERS, SF_EXCLUDED, SF_ENTRIES };

struct store_feed_cur {
	struct store *st;
	enum sf_kind kind;
	sqlite3_stmt *stmt;
	bool with_vals;
};

struct store_feed_eval {
	struct store *st;
	int64_t tenant_id;
	sqlite3_stmt *person;
	sqlite3_stmt *nokey;
	sqlite3_stmt *member;
	sqlite3_stmt *deact;
};

static int
sf_fail(struct store *st, const char *func)
{
	log_warnx("%s: %s", func, sqlite3_errmsg(sqlite_store_db(st)));
	return STORE_ERR;
}

static sqlite3_stmt *
sf_prepare(struct store *st, const char *sql, const char *func)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(sqlite_store_db(st), sql, -1, &s, NULL) !=
	    SQLITE_OK) {
		sf_fail(st, func);
		sqlite3_finalize(s);
		return NULL;
	}
	return s;
}

static int
sf_exec(struct store *st, const char *sql, const char *func)
{
	if (sqlite3_exec(sqlite_store_db(st), sql, NULL, NULL, NULL) !=
	    SQLITE_OK)
		return sf_fail(st, func);
	return STORE_OK;
}

/* Step a statement without result rows; finalize it. */
static int
sf_run(struct store *st, sqlite3_stmt *s, const char *func)
{
	int rc;

	if (s == NULL)
		return STORE_ERR;
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		sf_fail(st, func);
		sqlite3_finalize(s);
		return rc == SQLITE_CONSTRAINT_UNIQUE ||
		               rc == SQLITE_CONSTRAINT_PRIMARYKEY
		           ? STORE_CONFLICT
		           : STORE_ERR;
	}
	sqlite3_finalize(s);
	return STORE_OK;
}

/*
 * Writes run in their own transaction, or under a savepoint inside the
 * caller's (as the core store does).
 */
static int
sf_wbegin(struct store *st, bool *own)
{
	*own = sqlite3_get_autocommit(sqlite_store_db(st)) != 0;
	return sf_exec(st, *own ? "BEGIN IMMEDIATE" : "SAVEPOINT feed",
	               __func__);
}

static int
sf_wend(struct store *st, bool own, int rc)
{
	sqlite3 *db = sqlite_store_db(st);

	if (rc == STORE_OK &&
	    sf_exec(st, own ? "COMMIT" : "RELEASE feed", __func__) == STORE_OK)
		return STORE_OK;
	if (rc == STORE_OK)
		rc = STORE_ERR;
	if (sqlite3_get_autocommit(db))
		return rc;
	if (own)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	else
		sqlite3_exec(db, "ROLLBACK TO feed; RELEASE feed", NULL, NULL,
		             NULL);
	return rc;
}

static int
sf_read_begin(struct store *st)
{
	return sf_exec(st, "BEGIN", __func__);
}

static int
sf_read_end(struct store *st)
{
	return sf_exec(st, "COMMIT", __func__);
}

/*
 * The SQL expression for the member key of a person row r: indexed
 * columns where there is one, else the document. Names come from the
 * static schema tables, so they are safe in SQL text.
 */
static int
sf_key_expr(const struct scim_attrpath *k, struct buf *sql, char **cause)
{
	const struct scim_attr *leaf = scim_attrpath_leaf(k);

	if (k->attr == NULL || leaf == NULL || leaf->type == SCIM_T_COMPLEX ||
	    k->attr->multi) {
		store_set_cause(cause, "the key must be a single-valued "
		                       "attribute");
		return -1;
	}
	if (k->schema == NULL && !k->ext) {
		if (strcmp(k->attr->name, "externalId") == 0) {
			buf_addstr(sql, "r.external_id");
			return 0;
		}
		if (strcmp(k->attr->name, "id") == 0) {
			buf_addstr(sql, "r.id");
			return 0;
		}
		store_set_cause(cause, "the key cannot be meta");
		return -1;
	}
	if (!k->ext && k->sub == NULL &&
	    strcmp(k->attr->name, "userName") == 0) {
		buf_addstr(sql, "r.name");
		return 0;
	}
	buf_addstr(sql, "json_extract(r.doc, '$");
	if (k->ext)
		buf_addf(sql, ".\"%s\"", k->schema->id);
	buf_addf(sql, ".\"%s\"", k->attr->name);
	if (k->sub != NULL)
		buf_addf(sql, ".\"%s\"", k->sub->name);
	buf_addstr(sql, "')");
	return 0;
}

static struct store_feed_cur *
sf_cur_new(struct store *st, enum sf_kind kind, sqlite3_stmt *s)
{
	struct store_feed_cur *c;

	if (s == NULL)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->st = st;
	c->kind = kind;
	c->stmt = s;
	return c;
}

static struct store_feed_cur *
sf_people_open(struct store *st, int64_t tenant_id,
               const struct scim_attrpath *key, char **cause)
{
	struct buf sql, k;
	sqlite3_stmt *s;

	buf_init(&k, 0);
	if (sf_key_expr(key, &k, cause) == -1) {
		buf_free(&k);
		return NULL;
	}
	buf_init(&sql, 0);
	/* Keys compare as bytes here and in the plan (strcmp). */
	buf_addf(&sql,
	         "SELECT %s AS k, r.rid, r.version FROM resources r "
	         "WHERE r.tenant_id = ?1 AND r.type = 1 AND "
	         "r.deleted_at IS NULL AND %s > '' ORDER BY %s, r.rid",
	         buf_str(&k), buf_str(&k), buf_str(&k));
	s = sf_prepare(st, buf_str(&sql), __func__);
	buf_free(&sql);
	buf_free(&k);
	if (s == NULL) {
		store_set_cause(cause, "cannot list people");
		return NULL;
	}
	sqlite3_bind_int64(s, 1, tenant_id);
	return sf_cur_new(st, SF_PEOPLE, s);
}

static struct store_feed_cur *
sf_members_open(struct store *st, const char *feed, bool with_vals)
{
	struct store_feed_cur *c;
	sqlite3_stmt *s;

	s = sf_prepare(st,
	               with_vals ? "SELECT " SF_MEMBER_COLS ", vals FROM "
	                           "feed_members WHERE feed = ?1 ORDER BY key"
	                         : "SELECT " SF_MEMBER_COLS
	                           " FROM feed_members "
	                           "WHERE feed = ?1 ORDER BY key",
	               __func__);
	if (s == NULL)
		return NULL;
	sqlite3_bind_text(s, 1, feed, -1, SQLITE_TRANSIENT);
	c = sf_cur_new(st, SF_MEMBERS, s);
	c->with_vals = with_vals;
	return c;
}

static struct store_feed_cur *
sf_excluded_open(struct store *st, const char *feed)
{
	sqlite3_stmt *s;

	s = sf_prepare(st,
	               "SELECT key, person_rid, person_version FROM "
	               "feed_excluded WHERE feed = ?1 ORDER BY key",
	               __func__);
	if (s == NULL)
		return NULL;
	sqlite3_bind_text(s, 1, feed, -1, SQLITE_TRANSIENT);
	return sf_cur_new(st, SF_EXCLUDED, s);
}

static struct store_feed_cur *
sf_entries_open(struct store *st, const char *run_id)
{
	sqlite3_stmt *s;

	s = sf_prepare(st,
	               "SELECT key, action, status = 'active', person_rid, "
	               "person_version, vals, term_date, term_reason, changed "
	               "FROM feed_run_entries WHERE run_id = ?1 ORDER BY key",
	               __func__);
	if (s == NULL)
		return NULL;
	sqlite3_bind_text(s, 1, run_id, -1, SQLITE_TRANSIENT);
	return sf_cur_new(st, SF_ENTRIES, s);
}

/* Step a cursor: 1 with a row, 0 at the end, or STORE_ERR. */
static int
sf_step(struct store_feed_cur *c, enum sf_kind kind)
{
	int rc;

	if (c == NULL || c->kind != kind)
		return STORE_ERR;
	rc = sqlite3_step(c->stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return sf_fail(c->st, __func__);
}

static int
sf_people_next(struct store_feed_cur *c, struct store_feed_person *p)
{
	int rc = sf_step(c, SF_PEOPLE);

	if (rc == 1) {
		p->key = sqlite_col_str(c->stmt, 0);
		p->rid = sqlite3_column_int64(c->stmt, 1);
		p->version = sqlite3_column_int64(c->stmt, 2);
	}
	return rc;
}

static void
sf_member_row(sqlite3_stmt *s, struct store_feed_member *m, bool with_vals)
{
	m->key = sqlite_col_str(s, 0);
	m->active = sqlite3_column_int(s, 1) != 0;
	m->person_rid = sqlite3_column_int64(s, 2);
	m->person_version = sqlite3_column_int64(s, 3);
	m->term_date = sqlite_col_str(s, 4);
	m->term_reason = sqlite_col_str(s, 5);
	m->vals = with_vals ? sqlite_col_str(s, 6) : NULL;
}

static int
sf_members_next(struct store_feed_cur *c, struct store_feed_member *m)
{
	int rc = sf_step(c, SF_MEMBERS);

	if (rc == 1)
		sf_member_row(c->stmt, m, c->with_vals);
	return rc;
}

static int
sf_excluded_next(struct store_feed_cur *c, struct store_feed_excl *x)
{
	int rc = sf_step(c, SF_EXCLUDED);

	if (rc == 1) {
		x->key = sqlite_col_str(c->stmt, 0);
		x->rid = sqlite3_column_int64(c->stmt, 1);
		x->version = sqlite3_column_int64(c->stmt, 2);
	}
	return rc;
}

static int
sf_entries_next(struct store_feed_cur *c, struct store_feed_entry *e)
{
	int rc = sf_step(c, SF_ENTRIES);

	if (rc == 1) {
		e->key = sqlite_col_str(c->stmt, 0);
		e->action = sqlite_col_str(c->stmt, 1);
		e->active = sqlite3_column_int(c->stmt, 2) != 0;
		e->person_rid = sqlite3_column_int64(c->stmt, 3);
		e->person_version = sqlite3_column_int64(c->stmt, 4);
		e->vals = sqlite_col_str(c->stmt, 5);
		e->term_date = sqlite_col_str(c->stmt, 6);
		e->term_reason = sqlite_col_str(c->stmt, 7);
		e->changed = sqlite_col_str(c->stmt, 8);
	}
	return rc;
}

static void
sf_cur_close(struct store_feed_cur *c)
{
	if (c == NULL)
		return;
	sqlite3_finalize(c->stmt);
	free(c);
}

/* Bind the filter's compiled values from index `first` on. */
static int
sf_bind_params(sqlite3_stmt *s, json_t *params, int first)
{
	json_t *v;
	size_t i;
	int rc = SQLITE_OK;

	json_array_foreach(params, i, v)
	{
		int at = first + (int)i;

		switch (json_typeof(v)) {
		case JSON_STRING:
			rc = sqlite3_bind_text(s, at, json_string_value(v),
			                       (int)json_string_length(v),
			                       SQLITE_TRANSIENT);
			break;
		case JSON_INTEGER:
			rc = sqlite3_bind_int64(s, at, json_integer_value(v));
			break;
		case JSON_REAL:
			rc = sqlite3_bind_double(s, at, json_real_value(v));
			break;
		case JSON_TRUE:
		case JSON_FALSE:
			rc = sqlite3_bind_int(s, at, json_is_true(v));
			break;
		default:
			rc = sqlite3_bind_null(s, at);
			break;
		}
		if (rc != SQLITE_OK)
			return -1;
	}
	return 0;
}

/*
 * Prepare `head` + filter + `tail`, binding the filter's values after the
 * parameters ?1..?nfixed that head uses (sqlite_filter numbers its "?"
 * after the highest one seen so far).
 */
static sqlite3_stmt *
sf_prepare_filtered(struct store *st, const char *head,
                    const struct scim_filter *f, const char *tail, int nfixed,
                    char **cause)
{
	json_t *params = json_array();
	sqlite3_stmt *s = NULL;
	struct buf sql;

	buf_init(&sql, 0);
	buf_addstr(&sql, head);
	if (sqlite_filter_compile(f, STORE_USER, &sql, params, cause) == -1)
		goto out;
	buf_addstr(&sql, tail);
	if (sql.failed) {
		store_set_cause(cause, "eligibility rule too long");
		goto out;
	}
	if ((s = sf_prepare(st, buf_str(&sql), __func__)) == NULL) {
		store_set_cause(cause, "cannot run the eligibility rule: %s",
		                sqlite3_errmsg(sqlite_store_db(st)));
		goto out;
	}
	if (sf_bind_params(s, params, nfixed + 1) == -1) {
		store_set_cause(cause, "cannot bind the eligibility rule");
		sqlite3_finalize(s);
		s = NULL;
	}
out:
	json_decref(params);
	buf_free(&sql);
	return s;
}

/* As sf_prepare_filtered, with the filter twice: head F mid F tail. */
static sqlite3_stmt *
sf_prepare_filtered2(struct store *st, const char *head,
                     const struct scim_filter *f, const char *mid,
                     const char *tail, int nfixed, char **cause)
{
	json_t *params = json_array();
	sqlite3_stmt *s = NULL;
	struct buf sql;

	buf_init(&sql, 0);
	buf_addstr(&sql, head);
	if (sqlite_filter_compile(f, STORE_USER, &sql, params, cause) == -1)
		goto out;
	buf_addstr(&sql, mid);
	json_array_clear(params);
	if (sqlite_filter_compile(f, STORE_USER, &sql, params, cause) == -1)
		goto out;
	buf_addstr(&sql, tail);
	if (sql.failed ||
	    (s = sf_prepare(st, buf_str(&sql), __func__)) == NULL) {
		store_set_cause(cause, "cannot run the eligibility rule");
		goto out;
	}
	if (sf_bind_params(s, params, nfixed + 1) == -1 ||
	    sf_bind_params(s, params,
	                   nfixed + 1 + (int)json_array_size(params)) == -1) {
		store_set_cause(cause, "cannot bind the eligibility rule");
		sqlite3_finalize(s);
		s = NULL;
	}
out:
	json_decref(params);
	buf_free(&sql);
	return s;
}

static void
sf_eval_close(struct store_feed_eval *ev)
{
	if (ev == NULL)
		return;
	sqlite3_finalize(ev->person);
	sqlite3_finalize(ev->nokey);
	sqlite3_finalize(ev->member);
	sqlite3_finalize(ev->deact);
	free(ev);
}

static struct store_feed_eval *
sf_eval_open(struct store *st, int64_t tenant_id, const struct scim_filter *f,
             const struct scim_attrpath *key, char **cause)
{
	struct store_feed_eval *ev = xcalloc(1, sizeof(*ev));
	struct buf head, tail, k;

	ev->st = st;
	ev->tenant_id = tenant_id;
	buf_init(&k, 0);
	buf_init(&head, 0);
	buf_init(&tail, 0);
	if (sf_key_expr(key, &k, cause) == -1)
		goto fail;
	/*
	 * ?1 rid, ?2 tenant, written first (in the CTE) so that the filter's
	 * "?" take the numbers after them; one row lookup per probe.
	 */
	buf_addstr(&head, "WITH k(rid, tenant) AS (VALUES (?1, ?2)) SELECT "
	                  "r.deleted_at IS NULL AND (");
	buf_addf(
	    &tail,
	    "), r.rid, r.version, r.id, r.doc, r.created, r.modified, "
	    "r.deleted_at, %s, r.active FROM k JOIN resources r ON r.rid = "
	    "k.rid AND r.tenant_id = k.tenant AND r.type = 1",
	    buf_str(&k));
	ev->person = sf_prepare_filtered(st, buf_str(&head), f, buf_str(&tail),
	                                 2, cause);
	if (ev->person == NULL)
		goto fail;
	buf_reset(&head);
	buf_reset(&tail);
	/* Two counts, so that each can use an index on the key. */
	buf_addf(&head,
	         "SELECT (SELECT count(*) FROM resources r WHERE r.tenant_id = "
	         "?1 AND r.type = 1 AND r.deleted_at IS NULL AND %s IS NULL "
	         "AND (",
	         buf_str(&k));
	buf_addf(&tail,
	         ")) + (SELECT count(*) FROM resources r WHERE r.tenant_id = "
	         "?1 AND r.type = 1 AND r.deleted_at IS NULL AND %s = '' AND (",
	         buf_str(&k));
	ev->nokey = sf_prepare_filtered2(st, buf_str(&head), f, buf_str(&tail),
	                                 "))", 1, cause);
	if (ev->nokey == NULL)
		goto fail;
	ev->member = sf_prepare(st,
	                        "SELECT " SF_MEMBER_COLS ", vals FROM "
	                        "feed_members WHERE feed = ?1 AND key = ?2",
	                        __func__);
	ev->deact = sf_prepare(
	    st,
	    "SELECT substr(at, 1, 10) FROM history_full WHERE tenant_id = ?1 "
	    "AND rid = ?2 AND op = 'update' AND json_extract(after, "
	    "'$.active') = 0 AND coalesce(json_extract(before, '$.active'), "
	    "1) = 1 ORDER BY seq DESC LIMIT 1",
	    __func__);
	if (ev->member == NULL || ev->deact == NULL) {
		store_set_cause(cause, "cannot prepare the feed queries");
		goto fail;
	}
	buf_free(&k);
	buf_free(&head);
	buf_free(&tail);
	return ev;
fail:
	buf_free(&k);
	buf_free(&head);
	buf_free(&tail);
	sf_eval_close(ev);
	return NULL;
}

static int
sf_eval_person(struct store_feed_eval *ev, int64_t rid,
               struct store_feed_probe *p)
{
	sqlite3_stmt *s = ev->person;
	int rc;

	sqlite3_reset(s);
	sqlite3_bind_int64(s, 1, rid);
	sqlite3_bind_int64(s, 2, ev->tenant_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return STORE_NOTFOUND;
	if (rc != SQLITE_ROW)
		return sf_fail(ev->st, __func__);
	p->eligible = sqlite3_column_int(s, 0) != 0;
	p->rid = sqlite3_column_int64(s, 1);
	p->version = sqlite3_column_int64(s, 2);
	p->id = sqlite_col_str(s, 3);
	p->doc = sqlite_col_str(s, 4);
	p->doc_len = sqlite3_column_bytes(s, 4);
	p->created = sqlite_col_str(s, 5);
	p->modified = sqlite_col_str(s, 6);
	p->deleted_at = sqlite_col_str(s, 7);
	p->key = sqlite_col_str(s, 8);
	p->active = sqlite3_column_int(s, 9) != 0;
	return STORE_OK;
}

static int
sf_eval_nokey(struct store_feed_eval *ev, int64_t *n)
{
	sqlite3_stmt *s = ev->nokey;
	int rc;

	sqlite3_reset(s);
	sqlite3_bind_int64(s, 1, ev->tenant_id);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return sf_fail(ev->st, __func__);
	*n = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return STORE_OK;
}

static int
sf_eval_member(struct store_feed_eval *ev, const char *feed, const char *key,
               struct store_feed_member *m)
{
	sqlite3_stmt *s = ev->member;
	int rc;

	sqlite3_reset(s);
	sqlite3_bind_text(s, 1, feed, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, key, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return STORE_NOTFOUND;
	if (rc != SQLITE_ROW)
		return sf_fail(ev->st, __func__);
	sf_member_row(s, m, true);
	return STORE_OK;
}

static int
sf_eval_deactivated(struct store_feed_eval *ev, int64_t rid, char *date,
                    size_t len)
{
	sqlite3_stmt *s = ev->deact;
	int rc;

	sqlite3_reset(s);
	sqlite3_bind_int64(s, 1, ev->tenant_id);
	sqlite3_bind_int64(s, 2, rid);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && sqlite_col_str(s, 0) != NULL) {
		snprintf(date, len, "%s", sqlite_col_str(s, 0));
		rc = STORE_OK;
	} else if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		rc = STORE_NOTFOUND;
	else
		rc = sf_fail(ev->st, __func__);
	sqlite3_reset(s);
	return rc;
}

struct store_feed_stage {
	struct store *st;
	sqlite3_stmt *insert;
};

static void
sf_stage_close(struct store_feed_stage *sg)
{
	if (sg == NULL)
		return;
	sqlite3_finalize(sg->insert);
	free(sg);
}

/* Staging lives in the connection's temp database: no write lock. */
static struct store_feed_stage *
sf_stage_open(struct store *st)
{
	struct store_feed_stage *sg;

	if (sf_exec(st,
	            "CREATE TEMP TABLE IF NOT EXISTS feed_stage (\n"
	            "  key TEXT PRIMARY KEY, action TEXT NOT NULL,\n"
	            "  status TEXT NOT NULL, person_rid INTEGER NOT NULL,\n"
	            "  person_version INTEGER NOT NULL, vals TEXT,\n"
	            "  term_date TEXT, term_reason TEXT, changed TEXT\n"
	            ") WITHOUT ROWID;\n"
	            "DELETE FROM temp.feed_stage;",
	            __func__) != STORE_OK)
		return NULL;
	sg = xcalloc(1, sizeof(*sg));
	sg->st = st;
	sg->insert = sf_prepare(st,
	                        "INSERT INTO temp.feed_stage VALUES (?1, ?2, "
	                        "?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	                        __func__);
	if (sg->insert == NULL) {
		sf_stage_close(sg);
		return NULL;
	}
	return sg;
}

static int
sf_stage_add(struct store_feed_stage *sg, const struct store_feed_entry *e)
{
	sqlite3_stmt *s = sg->insert;
	int rc;

	sqlite_bind_str(s, 1, e->key);
	sqlite_bind_str(s, 2, e->action);
	sqlite_bind_str(s, 3, e->active ? "active" : "terminated");
	sqlite3_bind_int64(s, 4, e->person_rid);
	sqlite3_bind_int64(s, 5, e->person_version);
	sqlite_bind_str(s, 6, e->vals);
	sqlite_bind_str(s, 7, e->term_date);
	sqlite_bind_str(s, 8, e->term_reason);
	sqlite_bind_str(s, 9, e->changed);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE)
		return sf_fail(sg->st, __func__);
	return STORE_OK;
}

/*
 * The feed's rendered run whose delivery failed (its id, and why in
 * *why), or NULL. A run planned after it would count that run's changes
 * as sent, and the vendor never got them.
 */
static char *
sf_failed_delivery(struct store *st, const char *feed, char **why)
{
	sqlite3_stmt *s;
	char *id = NULL;

	s = sf_prepare(st,
	               "SELECT r.id, coalesce(d.last_error, 'no reason "
	               "recorded') FROM feed_runs r JOIN deliveries d ON "
	               "d.run_id = r.id WHERE r.feed = ?1 AND r.state <> "
	               "'discarded' AND d.state = 'failed' ORDER BY r.seq "
	               "LIMIT 1",
	               __func__);
	if (s == NULL)
		return NULL;
	sqlite_bind_str(s, 1, feed);
	if (sqlite3_step(s) == SQLITE_ROW) {
		id = sqlite_col_dup(s, 0);
		*why = sqlite_col_dup(s, 1);
	}
	sqlite3_finalize(s);
	return id;
}

static int
sf_state_get(struct store *st, const char *feed, struct store_feed_state *fs)
{
	sqlite3_stmt *s;
	int rc;

	memset(fs, 0, sizeof(*fs));
	fs->feed = xstrdup(feed);
	s = sf_prepare(st,
	               "SELECT seq, file_seq, rule_hash, values_hash, "
	               "layout_hash, layout, roster, terminated, "
	               "(SELECT id FROM feed_runs u WHERE u.feed = ?1 AND "
	               "u.state IN " SF_UNFINISHED "), "
	               "(SELECT state FROM feed_runs u WHERE u.feed = ?1 AND "
	               "u.state IN " SF_UNFINISHED ") "
	               "FROM (SELECT 1) LEFT JOIN feed_state ON feed = ?1",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, feed, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		fs->seq = sqlite3_column_int64(s, 0);
		fs->file_seq = sqlite3_column_int64(s, 1);
		fs->rule_hash = sqlite_col_dup(s, 2);
		fs->values_hash = sqlite_col_dup(s, 3);
		fs->layout_hash = sqlite_col_dup(s, 4);
		fs->layout = sqlite_col_dup(s, 5);
		fs->roster = sqlite3_column_int64(s, 6);
		fs->terminated = sqlite3_column_int64(s, 7);
		fs->active_run = sqlite_col_dup(s, 8);
		fs->active_state = sqlite_col_dup(s, 9);
		rc = STORE_OK;
	} else
		rc = sf_fail(st, __func__);
	sqlite3_finalize(s);
	if (rc == STORE_OK)
		fs->failed_run =
		    sf_failed_delivery(st, feed, &fs->failed_error);
	return rc;
}

static void
sf_run_row(sqlite3_stmt *s, struct store_feed_run *r)
{
	int i = 0;

	memset(r, 0, sizeof(*r));
	r->id = sqlite_col_dup(s, i++);
	r->feed = sqlite_col_dup(s, i++);
	r->tenant_id = sqlite3_column_int64(s, i++);
	r->seq = sqlite3_column_int64(s, i++);
	r->state = sqlite_col_dup(s, i++);
	r->mode = sqlite_col_dup(s, i++);
	r->as_of = sqlite_col_dup(s, i++);
	r->clock = sqlite_col_dup(s, i++);
	r->created = sqlite_col_dup(s, i++);
	r->updated = sqlite_col_dup(s, i++);
	r->adds = sqlite3_column_int64(s, i++);
	r->changes = sqlite3_column_int64(s, i++);
	r->terms = sqlite3_column_int64(s, i++);
	r->reinstates = sqlite3_column_int64(s, i++);
	r->unchanged = sqlite3_column_int64(s, i++);
	r->total = sqlite3_column_int64(s, i++);
	r->roster_before = sqlite3_column_int64(s, i++);
	r->rule_hash = sqlite_col_dup(s, i++);
	r->values_hash = sqlite_col_dup(s, i++);
	r->layout_hash = sqlite_col_dup(s, i++);
	r->layout = sqlite_col_dup(s, i++);
	r->held = sqlite_col_dup(s, i++);
	r->out_dir = sqlite_col_dup(s, i++);
	r->file_seq = sqlite3_column_int64(s, i++);
	r->file_name = sqlite_col_dup(s, i++);
	r->file_sha256 = sqlite_col_dup(s, i++);
	r->file_size = sqlite3_column_int64(s, i++);
	r->x12_sender = sqlite_col_dup(s, i++);
	r->isa13 = sqlite3_column_int64(s, i++);
	r->gs06 = sqlite3_column_int64(s, i++);
	r->st02 = sqlite3_column_int64(s, i++);
	r->decided_by = sqlite_col_dup(s, i++);
	r->decided_at = sqlite_col_dup(s, i++);
	r->reason = sqlite_col_dup(s, i++);
	r->error = sqlite_col_dup(s, i);
}

static int
sf_run_get(struct store *st, const char *id, struct store_feed_run *r)
{
	sqlite3_stmt *s;
	int rc;

	s = sf_prepare(st,
	               "SELECT " SF_RUN_COLS " FROM feed_runs WHERE id = ?1",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		sf_run_row(s, r);
		rc = STORE_OK;
	} else if (rc == SQLITE_DONE)
		rc = STORE_NOTFOUND;
	else
		rc = sf_fail(st, __func__);
	sqlite3_finalize(s);
	return rc;
}

static int
sf_run_list(struct store *st, const char *feed,
            int (*cb)(const struct store_feed_run *, void *), void *arg)
{
	struct store_feed_run r;
	sqlite3_stmt *s;
	int rc, stop = 0;

	s = sf_prepare(st,
	               "SELECT " SF_RUN_COLS " FROM feed_runs WHERE feed = ?1 "
	               "ORDER BY seq DESC",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, feed, -1, SQLITE_TRANSIENT);
	while (stop == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		sf_run_row(s, &r);
		stop = cb(&r, arg);
		store_feed_run_clear(&r);
	}
	rc = stop != 0 || rc == SQLITE_DONE ? STORE_OK : sf_fail(st, __func__);
	sqlite3_finalize(s);
	return rc;
}

static int
sf_run_events(struct store *st, const char *id,
              int (*cb)(const struct store_feed_event *, void *), void *arg)
{
	struct store_feed_event e;
	sqlite3_stmt *s;
	int rc, stop = 0;

	s = sf_prepare(st,
	               "SELECT at, from_state, to_state, actor, note FROM "
	               "feed_run_events WHERE run_id = ?1 ORDER BY id",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
	while (stop == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		e.at = sqlite_col_str(s, 0);
		e.from_state = sqlite_col_str(s, 1);
		e.to_state = sqlite_col_str(s, 2);
		e.actor = sqlite_col_str(s, 3);
		e.note = sqlite_col_str(s, 4);
		stop = cb(&e, arg);
	}
	rc = stop != 0 || rc == SQLITE_DONE ? STORE_OK : sf_fail(st, __func__);
	sqlite3_finalize(s);
	return rc;
}

static int
sf_event(struct store *st, const char *run_id, const char *at, const char *from,
         const char *to, const char *actor, const char *note)
{
	sqlite3_stmt *s;

	s = sf_prepare(st,
	               "INSERT INTO feed_run_events (run_id, at, from_state, "
	               "to_state, actor, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, run_id);
	sqlite_bind_str(s, 2, at);
	sqlite_bind_str(s, 3, from);
	sqlite_bind_str(s, 4, to);
	sqlite_bind_str(s, 5, actor != NULL ? actor : "unknown");
	sqlite_bind_str(s, 6, note);
	return sf_run(st, s, __func__);
}

/* One integer from a one-row query with up to two text parameters. */
static int
sf_int(struct store *st, const char *sql, const char *a, const char *b,
       int64_t *out)
{
	sqlite3_stmt *s = sf_prepare(st, sql, __func__);
	int rc;

	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, a);
	if (b != NULL)
		sqlite_bind_str(s, 2, b);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(s, 0);
		rc = STORE_OK;
	} else if (rc == SQLITE_DONE)
		rc = STORE_NOTFOUND;
	else
		rc = sf_fail(st, __func__);
	sqlite3_finalize(s);
	return rc;
}

/*
 * Numbers an approved run needs before its file can be named or
 * written: the feed's next file number and, for X12, the sender's next
 * interchange, group and transaction set control numbers (wrapping
 * within the nine digits ISA13 allows).
 */
static int
sf_allocate(struct store *st, struct store_feed_run *r)
{
	sqlite3_stmt *s;
	int rc;

	rc = sf_int(st,
	            "UPDATE feed_state SET file_seq = file_seq + 1 WHERE feed "
	            "= ?1 RETURNING file_seq",
	            r->feed, NULL, &r->file_seq);
	if (rc != STORE_OK || r->x12_sender == NULL)
		return rc == STORE_NOTFOUND ? STORE_ERR : rc;
	s = sf_prepare(st,
	               "INSERT INTO x12_control (sender, isa13, gs06, st) "
	               "VALUES (?1, 1, 1, 1) ON CONFLICT (sender) DO UPDATE "
	               "SET isa13 = isa13 % 999999999 + 1, gs06 = gs06 % "
	               "999999999 + 1, st = st % 999999999 + 1 "
	               "RETURNING isa13, gs06, st",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, r->x12_sender);
	if (sqlite3_step(s) == SQLITE_ROW) {
		r->isa13 = sqlite3_column_int64(s, 0);
		r->gs06 = sqlite3_column_int64(s, 1);
		r->st02 = sqlite3_column_int64(s, 2);
		rc = STORE_OK;
	} else
		rc = sf_fail(st, __func__);
	sqlite3_finalize(s);
	return rc;
}

static int
sf_run_insert(struct store *st, const struct store_feed_run *r)
{
	sqlite3_stmt *s;
	int i = 1;

	s = sf_prepare(st,
	               "INSERT INTO feed_runs (" SF_RUN_COLS ") VALUES (?1, "
	               "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
	               "?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, "
	               "?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35)",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, i++, r->id);
	sqlite_bind_str(s, i++, r->feed);
	sqlite3_bind_int64(s, i++, r->tenant_id);
	sqlite3_bind_int64(s, i++, r->seq);
	sqlite_bind_str(s, i++, r->state);
	sqlite_bind_str(s, i++, r->mode);
	sqlite_bind_str(s, i++, r->as_of);
	sqlite_bind_str(s, i++, r->clock);
	sqlite_bind_str(s, i++, r->created);
	sqlite_bind_str(s, i++, r->updated);
	sqlite3_bind_int64(s, i++, r->adds);
	sqlite3_bind_int64(s, i++, r->changes);
	sqlite3_bind_int64(s, i++, r->terms);
	sqlite3_bind_int64(s, i++, r->reinstates);
	sqlite3_bind_int64(s, i++, r->unchanged);
	sqlite3_bind_int64(s, i++, r->total);
	sqlite3_bind_int64(s, i++, r->roster_before);
	sqlite_bind_str(s, i++, r->rule_hash);
	sqlite_bind_str(s, i++, r->values_hash);
	sqlite_bind_str(s, i++, r->layout_hash);
	sqlite_bind_str(s, i++, r->layout);
	sqlite_bind_str(s, i++, r->held);
	sqlite_bind_str(s, i++, r->out_dir);
	if (r->file_seq > 0)
		sqlite3_bind_int64(s, i, r->file_seq);
	i++;
	sqlite_bind_str(s, i++, r->file_name);
	sqlite_bind_str(s, i++, r->file_sha256);
	if (r->file_name != NULL)
		sqlite3_bind_int64(s, i, r->file_size);
	i++;
	if (r->isa13 > 0) {
		sqlite_bind_str(s, i, r->x12_sender);
		sqlite3_bind_int64(s, i + 1, r->isa13);
		sqlite3_bind_int64(s, i + 2, r->gs06);
		sqlite3_bind_int64(s, i + 3, r->st02);
	}
	i += 4;
	sqlite_bind_str(s, i++, r->decided_by);
	sqlite_bind_str(s, i++, r->decided_at);
	sqlite_bind_str(s, i++, r->reason);
	sqlite_bind_str(s, i, r->error);
	return sf_run(st, s, __func__);
}

/* The feed's unfinished run, as "run_x (state)", or NULL. */
static char *
sf_unfinished(struct store *st, const char *feed)
{
	sqlite3_stmt *s;
	char *out = NULL;

	s = sf_prepare(st,
	               "SELECT id, state FROM feed_runs WHERE feed = ?1 AND "
	               "state IN " SF_UNFINISHED,
	               __func__);
	if (s == NULL)
		return NULL;
	sqlite_bind_str(s, 1, feed);
	if (sqlite3_step(s) == SQLITE_ROW)
		out = xasprintf("%s (%s)", sqlite_col_str(s, 0),
		                sqlite_col_str(s, 1));
	sqlite3_finalize(s);
	return out;
}

static int
sf_create_checks(struct store *st, struct store_feed_run *r, int64_t expect_seq,
                 char **cause)
{
	int64_t seq = 0;
	char *busy, *why = NULL;
	int rc;

	rc = sf_int(st, "SELECT seq FROM feed_state WHERE feed = ?1", r->feed,
	            NULL, &seq);
	if (rc == STORE_ERR)
		return rc;
	if ((busy = sf_unfinished(st, r->feed)) != NULL) {
		store_set_cause(cause,
		                "feed %s already has an unfinished run %s; "
		                "approve or reject it first",
		                r->feed, busy);
		free(busy);
		return STORE_CONFLICT;
	}
	if ((busy = sf_failed_delivery(st, r->feed, &why)) != NULL) {
		if (cause != NULL && *cause == NULL)
			*cause = store_feed_failed_cause(r->feed, busy, why);
		free(busy);
		free(why);
		return STORE_CONFLICT;
	}
	if (seq != expect_seq) {
		store_set_cause(cause,
		                "another run of feed %s was recorded while "
		                "this one was planned; plan again",
		                r->feed);
		return STORE_CONFLICT;
	}
	return STORE_OK;
}

static int
sf_create_body(struct store *st, struct store_feed_run *r, int64_t expect_seq,
               const char *actor, char **cause)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = sf_create_checks(st, r, expect_seq, cause)) != STORE_OK)
		return rc;
	s = sf_prepare(st,
	               "INSERT INTO feed_state (feed, tenant_id, seq) VALUES "
	               "(?1, ?2, 1) ON CONFLICT (feed) DO UPDATE SET seq = seq "
	               "+ 1",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, r->feed);
	sqlite3_bind_int64(s, 2, r->tenant_id);
	if ((rc = sf_run(st, s, __func__)) != STORE_OK)
		return rc;
	r->seq = expect_seq + 1;
	if (strcmp(r->state, STORE_FEED_APPROVED) == 0 &&
	    (rc = sf_allocate(st, r)) != STORE_OK)
		return rc;
	if ((rc = sf_run_insert(st, r)) != STORE_OK)
		return rc;
	s = sf_prepare(st,
	               "INSERT INTO feed_run_entries SELECT ?1, key, action, "
	               "status, person_rid, person_version, vals, term_date, "
	               "term_reason, changed FROM temp.feed_stage ORDER BY key",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, r->id);
	if ((rc = sf_run(st, s, __func__)) != STORE_OK)
		return rc;
	rc = sf_event(st, r->id, r->created, NULL, STORE_FEED_PLANNED, actor,
	              NULL);
	if (rc != STORE_OK)
		return rc;
	return sf_event(st, r->id, r->created, STORE_FEED_PLANNED, r->state,
	                actor,
	                r->held != NULL ? r->held : "no approval needed");
}

static int
sf_run_create(struct store *st, struct store_feed_run *r, int64_t expect_seq,
              const char *actor, char **cause)
{
	bool own;
	int rc;

	if (sf_wbegin(st, &own) != STORE_OK)
		return STORE_ERR;
	rc = sf_create_body(st, r, expect_seq, actor, cause);
	if (rc == STORE_CONFLICT && cause != NULL && *cause == NULL)
		store_set_cause(cause, "feed %s already has an unfinished run",
		                r->feed);
	return sf_wend(st, own, rc);
}

/* The run's state now, or NULL. */
static char *
sf_state_of(struct store *st, const char *id)
{
	sqlite3_stmt *s;
	char *out = NULL;

	s = sf_prepare(st, "SELECT state FROM feed_runs WHERE id = ?1",
	               __func__);
	if (s == NULL)
		return NULL;
	sqlite_bind_str(s, 1, id);
	if (sqlite3_step(s) == SQLITE_ROW)
		out = sqlite_col_dup(s, 0);
	sqlite3_finalize(s);
	return out;
}

/* Check the run is in `from`: OK, NOTFOUND or CONFLICT. */
static int
sf_expect(struct store *st, const char *id, const char *from)
{
	char *now = sf_state_of(st, id);
	int rc;

	if (now == NULL)
		return STORE_NOTFOUND;
	rc = strcmp(now, from) == 0 ? STORE_OK : STORE_CONFLICT;
	free(now);
	return rc;
}

static int
sf_decide_body(struct store *st, struct store_feed_run *r, const char *from,
               const char *to, const char *actor, const char *sender)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = sf_expect(st, r->id, from)) != STORE_OK)
		return rc;
	if (strcmp(to, STORE_FEED_APPROVED) == 0) {
		free(r->x12_sender);
		r->x12_sender = sender != NULL ? xstrdup(sender) : NULL;
		if ((rc = sf_allocate(st, r)) != STORE_OK)
			return rc;
	}
	s = sf_prepare(st,
	               "UPDATE feed_runs SET state = ?2, decided_by = ?3, "
	               "decided_at = ?4, reason = ?5, updated = ?4, file_seq "
	               "= ?6, x12_sender = ?7, isa13 = ?8, gs06 = ?9, st02 = "
	               "?10 WHERE id = ?1",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, r->id);
	sqlite_bind_str(s, 2, to);
	sqlite_bind_str(s, 3, r->decided_by);
	sqlite_bind_str(s, 4, r->decided_at);
	sqlite_bind_str(s, 5, r->reason);
	if (r->file_seq > 0)
		sqlite3_bind_int64(s, 6, r->file_seq);
	if (r->isa13 > 0) {
		sqlite_bind_str(s, 7, r->x12_sender);
		sqlite3_bind_int64(s, 8, r->isa13);
		sqlite3_bind_int64(s, 9, r->gs06);
		sqlite3_bind_int64(s, 10, r->st02);
	}
	if ((rc = sf_run(st, s, __func__)) != STORE_OK)
		return rc;
	return sf_event(st, r->id, r->decided_at, from, to, actor, r->reason);
}

static int
sf_run_decide(struct store *st, struct store_feed_run *r, const char *from,
              const char *to, const char *actor, const char *sender)
{
	struct store_feed_run fresh;
	bool own;
	int rc;

	if (sf_wbegin(st, &own) != STORE_OK)
		return STORE_ERR;
	rc = sf_decide_body(st, r, from, to, actor, sender);
	if ((rc = sf_wend(st, own, rc)) != STORE_OK)
		return rc;
	if ((rc = sf_run_get(st, r->id, &fresh)) == STORE_OK) {
		store_feed_run_clear(r);
		*r = fresh;
	}
	return rc;
}

static int
sf_fail_body(struct store *st, const char *id, const char *from,
             const char *error, const char *actor, const char *at)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = sf_expect(st, id, from)) != STORE_OK)
		return rc;
	s = sf_prepare(st,
	               "UPDATE feed_runs SET state = 'failed', error = ?2, "
	               "updated = ?3 WHERE id = ?1",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, id);
	sqlite_bind_str(s, 2, error);
	sqlite_bind_str(s, 3, at);
	if ((rc = sf_run(st, s, __func__)) != STORE_OK)
		return rc;
	return sf_event(st, id, at, from, STORE_FEED_FAILED, actor, error);
}

static int
sf_run_fail(struct store *st, const char *id, const char *from,
            const char *error, const char *actor)
{
	char at[32];
	bool own;
	int rc;

	store_now(at, sizeof(at));
	if (sf_wbegin(st, &own) != STORE_OK)
		return STORE_ERR;
	rc = sf_fail_body(st, id, from, error, actor, at);
	return sf_wend(st, own, rc);
}

/*
 * The run's entries become the feed's state: members upserted ("same"
 * keeps last_sent), the excluded cache maintained, the hashes recorded.
 * Entries that only maintained the state are dropped afterwards; those
 * the vendor received stay as the run's receipt.
 */
static const char *const sf_apply_sql[] = {
    "INSERT INTO feed_run_undo SELECT ?2, m.key, m.status, m.person_rid, "
    "m.person_version, m.term_date, m.term_reason, m.last_sent, m.vals "
    "FROM feed_run_entries e JOIN feed_members m ON m.feed = ?1 AND m.key "
    "= e.key WHERE e.run_id = ?2 AND e.action IN ('add', 'change', "
    "'term', 'reinstate')",
    "UPDATE feed_runs SET undo = 0 WHERE feed = ?1 AND undo = 1 AND id <> "
    "?2 AND (id IN (SELECT run_id FROM deliveries WHERE feed = ?1 AND "
    "state IN ('delivered', 'acknowledged')) OR seq <= (SELECT seq FROM "
    "feed_runs WHERE id = ?2) - " SF_UNDO_RUNS ")",
    "DELETE FROM feed_run_undo WHERE run_id IN (SELECT id FROM feed_runs "
    "WHERE feed = ?1 AND undo = 0 AND id <> ?2)",
    "INSERT INTO feed_members (feed, key, status, person_rid, "
    "person_version, term_date, term_reason, first_sent, last_sent, vals) "
    "SELECT ?1, e.key, e.status, e.person_rid, e.person_version, "
    "e.term_date, e.term_reason, ?3, CASE e.action WHEN 'same' THEN NULL "
    "ELSE ?3 END, coalesce(e.vals, '') FROM feed_run_entries e "
    "WHERE e.run_id = ?2 AND e.action IN ('add', 'change', 'term', "
    "'reinstate', 'same') ORDER BY e.key "
    "ON CONFLICT (feed, key) DO UPDATE SET status = excluded.status, "
    "person_rid = excluded.person_rid, person_version = "
    "excluded.person_version, term_date = excluded.term_date, "
    "term_reason = excluded.term_reason, last_sent = "
    "coalesce(excluded.last_sent, last_sent), vals = excluded.vals",
    "DELETE FROM feed_excluded WHERE feed = ?1 AND key IN (SELECT key FROM "
    "feed_run_entries WHERE run_id = ?2 AND action IN ('add', "
    "'unexclude'))",
    "INSERT INTO feed_excluded (feed, key, person_rid, person_version) "
    "SELECT ?1, key, person_rid, person_version FROM feed_run_entries "
    "WHERE run_id = ?2 AND action = 'exclude' ORDER BY key "
    "ON CONFLICT (feed, key) DO UPDATE SET person_rid = "
    "excluded.person_rid, person_version = excluded.person_version",
    "DELETE FROM feed_run_entries WHERE run_id = ?2 AND action IN ('same', "
    "'exclude', 'unexclude')",
};

static int
sf_apply_step(struct store *st, const char *sql, const struct store_feed_run *r)
{
	sqlite3_stmt *s = sf_prepare(st, sql, __func__);

	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, r->feed);
	sqlite_bind_str(s, 2, r->id);
	sqlite_bind_str(s, 3, r->as_of);
	return sf_run(st, s, __func__);
}

static int
sf_apply_body(struct store *st, struct store_feed_run *r, const char *actor)
{
	sqlite3_stmt *s;
	size_t i;
	int rc;

	if ((rc = sf_expect(st, r->id, STORE_FEED_APPROVED)) != STORE_OK)
		return rc;
	for (i = 0; i < sizeof(sf_apply_sql) / sizeof(sf_apply_sql[0]); i++)
		if ((rc = sf_apply_step(st, sf_apply_sql[i], r)) != STORE_OK)
			return rc;
	/* Counted here rather than by scanning the members each time. */
	s = sf_prepare(
	    st,
	    "UPDATE feed_state SET rule_hash = ?2, values_hash = "
	    "?3, layout_hash = ?4, layout = ?5, roster = roster + ?6, "
	    "terminated = terminated + ?7 WHERE feed = ?1",
	    __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, r->feed);
	sqlite_bind_str(s, 2, r->rule_hash);
	sqlite_bind_str(s, 3, r->values_hash);
	sqlite_bind_str(s, 4, r->layout_hash);
	sqlite_bind_str(s, 5, r->layout);
	sqlite3_bind_int64(s, 6, r->adds + r->reinstates - r->terms);
	sqlite3_bind_int64(s, 7, r->terms - r->reinstates);
	if ((rc = sf_run(st, s, __func__)) != STORE_OK)
		return rc;
	s = sf_prepare(st,
	               "UPDATE feed_runs SET state = 'rendered', undo = 1, "
	               "out_dir = ?2, file_name = ?3, file_sha256 = ?4, "
	               "file_size = ?5, updated = ?6 WHERE id = ?1",
	               __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, r->id);
	sqlite_bind_str(s, 2, r->out_dir);
	sqlite_bind_str(s, 3, r->file_name);
	sqlite_bind_str(s, 4, r->file_sha256);
	sqlite3_bind_int64(s, 5, r->file_size);
	sqlite_bind_str(s, 6, r->updated);
	if ((rc = sf_run(st, s, __func__)) != STORE_OK)
		return rc;
	return sf_event(st, r->id, r->updated, STORE_FEED_APPROVED,
	                STORE_FEED_RENDERED, actor, r->file_name);
}

static int
sf_run_apply(struct store *st, struct store_feed_run *r, const char *actor)
{
	bool own;
	int rc;

	if (sf_wbegin(st, &own) != STORE_OK)
		return STORE_ERR;
	rc = sf_apply_body(st, r, actor);
	rc = sf_wend(st, own, rc);
	if (rc == STORE_OK) {
		free(r->state);
		r->state = xstrdup(STORE_FEED_RENDERED);
	}
	return rc;
}

/*
 * A run may be discarded when the vendor cannot have it (no delivery, or
 * a failed one), it kept what it replaced, and no later run built on it.
 */
static int
sf_discard_checks(struct store *st, const struct store_feed_run *r,
                  char **cause)
{
	sqlite3_stmt *s;
	int rc;

	/* The delivery mirrors its state into the run: failed is failed. */
	if (r->file_sha256 == NULL ||
	    (strcmp(r->state, STORE_FEED_RENDERED) != 0 &&
	     strcmp(r->state, STORE_FEED_FAILED) != 0)) {
		store_set_cause(cause,
		                "run %s is %s; only a rendered run whose "
		                "delivery failed or never started can be "
		                "discarded",
		                r->id, r->state);
		return STORE_CONFLICT;
	}
	s = sf_prepare(
	    st,
	    "SELECT 'its delivery is ' || state FROM deliveries WHERE run_id = "
	    "?1 AND state <> 'failed' UNION ALL SELECT 'run ' || id || ' (#' "
	    "|| seq || ', ' || state || ') came after it' FROM feed_runs WHERE "
	    "feed = ?2 AND seq > ?3 AND (state IN " SF_UNFINISHED " OR "
	    "(file_sha256 IS NOT NULL AND state <> 'discarded')) UNION ALL "
	    "SELECT 'what it replaced is no longer kept (only the "
	    "last " SF_UNDO_RUNS
	    " runs keep it, since migration 7)' FROM feed_runs "
	    "WHERE id = ?1 AND undo = 0 LIMIT 1",
	    __func__);
	if (s == NULL)
		return STORE_ERR;
	sqlite_bind_str(s, 1, r->id);
	sqlite_bind_str(s, 2, r->feed);
	sqlite3_bind_int64(s, 3, r->seq);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_set_cause(cause, "run %s cannot be discarded: %s", r->id,
		                sqlite_col_str(s, 0));
		rc = STORE_CONFLICT;
	} else
		rc = rc == SQLITE_DONE ? STORE_OK : sf_fail(st, __func__);
	sqlite3_finalize(s);
	return rc;
}

/*
 * Undo a run: members it added go, those it changed get back the rows
 * kept in feed_run_undo, and the feed's layout is the previous run's.
 * The rule and values hashes are cleared, so the next plan evaluates
 * every person again rather than trusting caches the run refreshed.
 */
static const char *const sf_discard_sql[] = {
    "DELETE FROM feed_members WHERE feed = ?1 AND key IN (SELECT key FROM "
    "feed_run_entries WHERE run_id = ?2 AND action IN ('add', 'change', "
    "'term', 'reinstate')) AND key NOT IN (SELECT key FROM feed_run_undo "
    "WHERE run_id = ?2)",
    "UPDATE feed_members AS m SET status = u.status, person_rid = "
    "u.person_rid, person_version = u.person_version, term_date = "
    "u.term_date, term_reason = u.term_reason, last_sent = u.last_sent, "
    "vals = u.vals FROM feed_run_undo AS u WHERE u.run_id = ?2 AND m.feed "
    "= ?1 AND m.key = u.key",
    "DELETE FROM feed_run_undo WHERE run_id = ?2",
    "UPDATE feed_state SET rule_hash = NULL, values_hash = NULL, "
    "(layout_hash, layout) = (SELECT layout_hash, layout FROM feed_runs "
    "WHERE feed = ?1 AND file_sha256 IS NOT NULL AND state <> 'discarded' "
    "AND id <> ?2 ORDER BY seq DESC LIMIT 1), (roster, terminated) = "
    "(SELECT roster - adds - reinstates + terms, terminated - terms + "
    "reinstates FROM feed_runs WHERE id = ?2) WHERE feed = ?1",
    "UPDATE feed_runs SET state = 'discarded', undo = 0, reason = ?3, "
    "updated = ?4 WHERE id = ?2",
};

static int
sf_discard_body(struct store *st, const char *id, const char *actor,
                const char *reason, char **cause)
{
	struct store_feed_run r;
	sqlite3_stmt *s;
	char at[32];
	size_t i;
	int rc;

	if ((rc = sf_run_get(st, id, &r)) != STORE_OK)
		return rc;
	if ((rc = sf_discard_checks(st, &r, cause)) != STORE_OK)
		goto out;
	/* To the second, like the feed engine's other events. */
	store_now(at, sizeof(at));
	memcpy(at + 19, "Z", 2);
	for (i = 0; i < sizeof(sf_discard_sql) / sizeof(sf_discard_sql[0]);
	     i++) {
		if ((s = sf_prepare(st, sf_discard_sql[i], __func__)) == NULL) {
			rc = STORE_ERR;
			goto out;
		}
		sqlite_bind_str(s, 1, r.feed);
		sqlite_bind_str(s, 2, r.id);
		sqlite_bind_str(s, 3, reason);
		sqlite_bind_str(s, 4, at);
		if ((rc = sf_run(st, s, __func__)) != STORE_OK)
			goto out;
	}
	rc = sf_event(st, r.id, at, r.state, STORE_FEED_DISCARDED, actor,
	              reason);
out:
	store_feed_run_clear(&r);
	return rc;
}

static int
sf_run_discard(struct store *st, const char *id, const char *actor,
               const char *reason, char **cause)
{
	bool own;

	if (sf_wbegin(st, &own) != STORE_OK)
		return STORE_ERR;
	return sf_wend(st, own, sf_discard_body(st, id, actor, reason, cause));
}

const struct store_feed_ops sqlite_feed_ops = {
    .read_begin = sf_read_begin,
    .read_end = sf_read_end,
    .people_open = sf_people_open,
    .people_next = sf_people_next,
    .members_open = sf_members_open,
    .members_next = sf_members_next,
    .excluded_open = sf_excluded_open,
    .excluded_next = sf_excluded_next,
    .entries_open = sf_entries_open,
    .entries_next = sf_entries_next,
    .cur_close = sf_cur_close,
    .eval_open = sf_eval_open,
    .eval_person = sf_eval_person,
    .eval_nokey = sf_eval_nokey,
    .eval_member = sf_eval_member,
    .eval_deactivated = sf_eval_deactivated,
    .eval_close = sf_eval_close,
    .stage_open = sf_stage_open,
    .stage_add = sf_stage_add,
    .stage_close = sf_stage_close,
    .state_get = sf_state_get,
    .run_create = sf_run_create,
    .run_get = sf_run_get,
    .run_list = sf_run_list,
    .run_events = sf_run_events,
    .run_decide = sf_run_decide,
    .run_fail = sf_run_fail,
    .run_apply = sf_run_apply,
    .run_discard = sf_run_discard,
};
