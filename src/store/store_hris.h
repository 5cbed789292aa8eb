/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * What the HRIS importer keeps in the store (migration 2), behind
 * struct store_hris_ops in each backend (SQLite: store/sqlite_hris.c):
 *
 * - hris_people: per tenant and externalId, the person (resource row id)
 *   and a hash of the mapped cells of their last imported row and of their
 *   dependents' rows, so a re-import skips everyone whose row did not
 *   change without parsing a single JSON document;
 * - dependents: spouses and children linked to an employee's User row,
 *   with relationship code and birth date;
 * - import_runs: one row per import (counts, status, and the history
 *   position at commit, which tells the next import which people changed
 *   since, by SCIM or anything else, and so cannot be trusted to the hash).
 *
 * The people themselves are ordinary User resources written through
 * store_res_insert()/store_res_update(), so imports land in the same
 * history as SCIM changes. Return values are enum store_rc. Records
 * passed to callbacks are borrowed for the duration of the call; the ones
 * filled in for the caller own their strings and are released with the
 * matching *_clear().
 *
 * The store_hris_* functions dispatch to st->ops->hris (import/hris_store.c).
 */
#ifndef ROSTERD_STORE_HRIS_H
#define ROSTERD_STORE_HRIS_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

/* A person as the importer last saw them. */
struct store_hris_person {
	const char *external_id;
	int64_t rid;
	bool has_hash; /* false: the hashes are unknown or no longer valid */
	uint64_t row_hash;
	uint64_t dep_hash;
};

struct store_hris_dependent {
	int64_t id;
	int64_t tenant_id;
	int64_t employee_rid;
	char *key;          /* identity within the employee */
	char *dep_id;       /* the file's dependent id, or NULL */
	char *relationship; /* code as mapped, e.g. "SP", "spouse" */
	char *first_name;
	char *middle_name;
	char *last_name;
	char *birth_date; /* YYYY-MM-DD or NULL */
	char *gender;
	char *created;
	char *modified;
};

enum store_hris_status {
	STORE_HRIS_RUNNING = 0,  /* started, not committed (never visible) */
	STORE_HRIS_APPLIED = 1,  /* every row applied */
	STORE_HRIS_PARTIAL = 2,  /* --allow-partial: bad rows skipped */
	STORE_HRIS_REJECTED = 3, /* bad rows, nothing applied */
	STORE_HRIS_REFUSED = 4,  /* full-file threshold, nothing applied */
};

struct store_hris_run {
	int64_t id;
	int64_t tenant_id;
	char *mapping;
	char *file;
	char *started;
	char *finished;
	enum store_hris_status status;
	int64_t rows, created, updated, unchanged, terminated;
	int64_t dep_added, dep_updated, dep_removed, errors;
	int64_t history_seq; /* last history row when committed */
};

/* Connection settings saved by bulk_begin and restored by bulk_end. */
struct store_hris_bulk {
	int64_t saved[4];
};

struct store_hris_ops {
	/*
	 * Tune the connection for one long write transaction (in-memory
	 * statement journals, statements kept prepared) and back.
	 */
	int (*bulk_begin)(struct store *, struct store_hris_bulk *);
	int (*bulk_end)(struct store *, const struct store_hris_bulk *);
	/*
	 * Forget the hashes of the tenant's people changed in the history
	 * since its last applied import (any source), or of all of them
	 * when there is none. Call inside the import's transaction.
	 */
	int (*invalidate)(struct store *, int64_t tenant_id);
	int (*people_walk)(struct store *, int64_t tenant_id,
	                   int (*cb)(const struct store_hris_person *, void *),
	                   void *arg);
	/*
	 * What invalidate followed by people_walk would give, then (when
	 * ext is not NULL) external_walk, all read in one read transaction
	 * and without writing: for a reader connection
	 * (store_open_reader()) working ahead of the import's transaction.
	 */
	int (*people_read)(struct store *, int64_t tenant_id,
	                   int (*cb)(const struct store_hris_person *, void *),
	                   int (*ext)(const char *, int64_t, void *),
	                   void *arg);
	/* Insert or replace the row for (tenant_id, p->external_id). */
	int (*person_put)(struct store *, int64_t tenant_id,
	                  const struct store_hris_person *, int64_t run_id);
	/* A live User by row id, or STORE_NOTFOUND. */
	int (*res_by_rid)(struct store *, int64_t tenant_id, int64_t rid,
	                  struct store_res *);
	/*
	 * The live User with this externalId: STORE_OK, STORE_NOTFOUND,
	 * or STORE_CONFLICT when several have it (*res is not filled).
	 */
	int (*res_by_external)(struct store *, int64_t tenant_id,
	                       const char *external_id, struct store_res *);
	/*
	 * Every live User of the tenant that has an externalId, in
	 * externalId order; from an index alone, so cheap for 1M people.
	 */
	int (*external_walk)(struct store *, int64_t tenant_id,
	                     int (*cb)(const char *external_id, int64_t rid,
	                               void *),
	                     void *arg);
	/*
	 * Insert or update dependent (employee_rid, key) and stamp it with
	 * run_id; *change is 0 (same), 1 (added) or 2 (updated).
	 */
	int (*dep_put)(struct store *, const struct store_hris_dependent *,
	               int64_t run_id, int *change);
	/* Delete the employee's dependents not stamped with run_id. */
	int (*dep_prune)(struct store *, int64_t employee_rid, int64_t run_id,
	                 int64_t *removed);
	/* Dependents of one employee (employee_rid > 0) or of a tenant. */
	int (*dep_walk)(struct store *, int64_t tenant_id, int64_t employee_rid,
	                int (*cb)(const struct store_hris_dependent *, void *),
	                void *arg);
	/* Insert a run (status RUNNING); fills run->id and run->started. */
	int (*run_begin)(struct store *, struct store_hris_run *);
	/* Store counts, status, finished and the history position. */
	int (*run_end)(struct store *, struct store_hris_run *);
	/* The tenant's newest run, or STORE_NOTFOUND. */
	int (*run_last)(struct store *, int64_t tenant_id,
	                struct store_hris_run *);
};

int store_hris_bulk_begin(struct store *, struct store_hris_bulk *);
int store_hris_bulk_end(struct store *, const struct store_hris_bulk *);
int store_hris_invalidate(struct store *, int64_t tenant_id);
int store_hris_people_walk(struct store *, int64_t tenant_id,
                           int (*cb)(const struct store_hris_person *, void *),
                           void *arg);
int store_hris_people_read(struct store *, int64_t tenant_id,
                           int (*cb)(const struct store_hris_person *, void *),
                           int (*ext)(const char *, int64_t, void *),
                           void *arg);
int store_hris_person_put(struct store *, int64_t tenant_id,
                          const struct store_hris_person *, int64_t run_id);
int store_hris_res_by_rid(struct store *, int64_t tenant_id, int64_t rid,
                          struct store_res *);
int store_hris_res_by_external(struct store *, int64_t tenant_id,
                               const char *external_id, struct store_res *);
int store_hris_external_walk(struct store *, int64_t tenant_id,
                             int (*cb)(const char *, int64_t, void *),
                             void *arg);
int store_hris_dep_put(struct store *, const struct store_hris_dependent *,
                       int64_t run_id, int *change);
int store_hris_dep_prune(struct store *, int64_t employee_rid, int64_t run_id,
                         int64_t *removed);
int store_hris_dep_walk(struct store *, int64_t tenant_id, int64_t employee_rid,
                        int (*cb)(const struct store_hris_dependent *, void *),
                        void *arg);
void store_hris_dep_clear(struct store_hris_dependent *);
int store_hris_run_begin(struct store *, struct store_hris_run *);
int store_hris_run_end(struct store *, struct store_hris_run *);
int store_hris_run_last(struct store *, int64_t tenant_id,
                        struct store_hris_run *);
void store_hris_run_clear(struct store_hris_run *);
/* "running", "applied", "partial", "rejected", "refused". */
const char *store_hris_status_name(enum store_hris_status);

#endif
