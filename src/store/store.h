/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * The store: tenants, API tokens, SCIM resources (users and groups), group
 * membership and the change history. Callers see only this interface; the
 * backend (SQLite today, store/sqlite.c; PostgreSQL later) sits behind
 * struct store_ops, and each backend compiles SCIM filter trees into its
 * own query language, so SCIM code never sees SQL.
 *
 * A struct store is one connection, used from one thread. Strings in the
 * record structs below are owned by the struct and released with the
 * matching *_clear() function; callbacks receive borrowed records valid
 * only during the call.
 *
 * Return values: STORE_OK (0), STORE_NOTFOUND, STORE_CONFLICT (a unique
 * constraint: userName per tenant, tenant name), STORE_INVALID (a caller
 * value the store rejects, e.g. a member id that does not exist; *cause
 * says which), STORE_ERR (-1, the backend failed; logged).
 *
 * Durability: writes are made inside store_begin()/store_commit(); commit
 * returns only after the data is on disk (SQLite WAL, synchronous=FULL).
 * Several requests may share one transaction (group commit); each request
 * brackets its own writes in store_savepoint()/store_release() and undoes
 * them with store_rollback_savepoint() on failure.
 */
#ifndef ROSTERD_STORE_H
#define ROSTERD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scim/filter.h"
#include "scim/schema.h"

enum store_rc {
	STORE_ERR = -1,
	STORE_OK = 0,
	STORE_NOTFOUND = 1,
	STORE_CONFLICT = 2,
	STORE_INVALID = 3,
	STORE_BLOCKED = 4, /* waits for a person (an earlier run failed) */
};

enum store_rtype { STORE_USER = 1, STORE_GROUP = 2 };

struct store;

struct store_tenant {
	int64_t id;
	char *name;
	int rate_rps;   /* token bucket refill per second; 0 = default */
	int rate_burst; /* bucket size; 0 = default */
	char *created;
};

#define STORE_TOKEN_HASH_LEN 32

struct store_token {
	char *id; /* public token id, e.g. "tok_3fa85f64" */
	int64_t tenant_id;
	char *tenant_name;
	char *name;   /* label */
	char *scopes; /* comma-separated: "scim,admin" */
	char *created;
	char *last_used; /* may be NULL */
	bool revoked;
};

struct store_res {
	int64_t rid; /* backend row id; stable for the life of the row */
	int64_t tenant_id;
	enum store_rtype type;
	char *id;          /* UUID */
	char *name;        /* userName (User) / displayName (Group) */
	char *external_id; /* may be NULL */
	int active;        /* Users: 0/1; Groups: 1 */
	char *doc;         /* stored document, JSON text (schema.h) */
	int64_t version;   /* starts at 1, +1 per change; the ETag */
	char *created;     /* "2026-12-04T19:54:50.123Z" */
	char *modified;
	char *deleted_at; /* NULL unless deleted (only from history reads) */
};

/* Who made a change, recorded in the history with before and after. */
struct store_actor {
	const char *token_id; /* or NULL (CLI, importer) */
	const char *source;   /* "scim", "hris", "admin", "cli" */
};

struct store_member {
	const char *id;      /* member resource id */
	const char *type;    /* "User" or "Group" */
	const char *display; /* userName or displayName */
};

struct store_query {
	int64_t tenant_id;
	enum store_rtype type;
	const struct scim_filter *filter; /* or NULL: all */
	const struct scim_attrpath *sort; /* or NULL: creation order */
	bool descending;
	int64_t start_index; /* 1-based; ignored when cursor is set */
	int64_t count;       /* max rows; 0 = only the total */
	const char *cursor;  /* RFC 9865 cursor from a previous page, or NULL */
	bool want_total;
};

struct store_page {
	int64_t total;     /* totalResults (when want_total) */
	char *next_cursor; /* NULL on the last page; caller frees via clear */
};

/* Open (creating if needed) the store at `path` and run migrations. */
struct store *store_open(const char *path, char **cause);
/*
 * A second, read-only connection to the database st has open, for another
 * thread (a struct store is used from one thread). It never takes the
 * write lock, so it neither waits for nor delays st's writes, and it does
 * no statistics work when closed. NULL when the database cannot have one
 * (in memory) or on failure (logged). Close it with store_close().
 */
struct store *store_open_reader(struct store *st);
void store_close(struct store *);
/* Apply pending schema migrations; returns the resulting version or -1. */
int store_migrate(struct store *, char **cause);

int store_begin(struct store *);
/*
 * store_begin() without waiting: STORE_CONFLICT at once while another
 * process holds the write lock, so an event loop can do other work and
 * try again.
 */
int store_begin_nowait(struct store *);
/*
 * A read transaction: every read until store_commit() sees one snapshot,
 * and the store takes its read lock once rather than per statement.
 * Writes inside it fail; use it around reads only.
 */
int store_begin_read(struct store *);
int store_commit(struct store *);
int store_rollback(struct store *);
bool store_in_tx(struct store *);
int store_savepoint(struct store *);
int store_release(struct store *);
int store_rollback_savepoint(struct store *);

/* Tenants. */
int store_tenant_create(struct store *, const char *name,
                        struct store_tenant *out);
int store_tenant_get(struct store *, const char *name, struct store_tenant *);
int store_tenant_get_id(struct store *, int64_t id, struct store_tenant *);
int store_tenant_set_rate(struct store *, int64_t id, int rps, int burst);
int store_tenant_list(struct store *,
                      int (*cb)(const struct store_tenant *, void *),
                      void *arg);
void store_tenant_clear(struct store_tenant *);

/* Tokens: only a SHA-256/BLAKE2b hash of the secret is stored. */
int store_token_create(struct store *, int64_t tenant_id, const char *name,
                       const char *scopes,
                       const uint8_t hash[STORE_TOKEN_HASH_LEN], char **id_out);
int store_token_find(struct store *, const uint8_t hash[STORE_TOKEN_HASH_LEN],
                     struct store_token *);
int store_token_list(struct store *, int64_t tenant_id /* 0: all */,
                     int (*cb)(const struct store_token *, void *), void *arg);
int store_token_revoke(struct store *, const char *id);
/*
 * Record that the token was used now (last_used). Never waits for a
 * writer: STORE_CONFLICT when the store is busy or a transaction is open,
 * and the caller tries again later.
 */
int store_token_touch(struct store *, const char *id);
void store_token_clear(struct store_token *);

/* Resources. get: STORE_OK or STORE_NOTFOUND (deleted rows are not found). */
int store_res_get(struct store *, int64_t tenant_id, enum store_rtype,
                  const char *id, struct store_res *);
/*
 * Insert res (id, name, external_id, active, doc, created, modified set by
 * the caller; version becomes 1 and rid is filled in). STORE_CONFLICT when
 * a live User of the tenant has the same userName (case-insensitive).
 */
int store_res_insert(struct store *, struct store_res *,
                     const struct store_actor *);
/*
 * Replace name/external_id/active/doc/modified of the row res->rid and bump
 * the version (res->version is updated). `members_delta` records a
 * membership delta in the history (JSON text or NULL). A new name shows
 * in the groups listing the resource (members[].display) and, for a group,
 * in its users' "groups": those get a new version and lastModified too.
 */
int store_res_update(struct store *, struct store_res *,
                     const struct store_actor *, const char *members_delta);
/*
 * Soft-delete: gone to SCIM, kept for history and feeds. Drops memberships:
 * the groups it leaves and, for a group, its users get a new version.
 */
int store_res_delete(struct store *, const struct store_res *,
                     const struct store_actor *);
/*
 * List matching live resources in order, calling cb for each (cb returns
 * non-zero to stop). STORE_INVALID with *cause for a filter the backend
 * cannot run or a bad cursor; a cursor made for another page size has a
 * cause starting with STORE_CAUSE_CURSOR_COUNT.
 */
#define STORE_CAUSE_CURSOR_COUNT                                               \
	"count is not the one of the query that made the cursor"
int store_res_list(struct store *, const struct store_query *,
                   int (*cb)(const struct store_res *, void *), void *arg,
                   struct store_page *page, char **cause);
void store_res_clear(struct store_res *);
void store_page_clear(struct store_page *);

/*
 * Group membership. ids are resource ids within the group's tenant (the
 * strings are borrowed). A User's "groups" is derived from membership, so
 * every user that joins or leaves a group gets a new version and
 * lastModified (no history row: the group's records the delta); adding a
 * member already there or removing one that is not changes nothing.
 */
int store_members_list(struct store *, int64_t group_rid,
                       int (*cb)(const struct store_member *, void *),
                       void *arg);
/* STORE_INVALID with *cause naming the first id that does not exist. */
int store_members_add(struct store *, const struct store_res *group,
                      const char *const *ids, size_t n, char **cause);
int store_members_remove(struct store *, int64_t group_rid,
                         const char *const *ids, size_t n);
/*
 * Make the members exactly ids (n may be 0); only the users that join or
 * leave get a new version. STORE_INVALID with *cause as for _add, and
 * then nothing changed.
 */
int store_members_set(struct store *, const struct store_res *group,
                      const char *const *ids, size_t n, char **cause);
/*
 * *present = how many of ids (NULL entries skipped, a repeated id counted
 * each time) are members of the group now. STORE_OK or STORE_ERR.
 */
int store_members_present(struct store *, int64_t group_rid,
                          const char *const *ids, size_t n, size_t *present);
/* Live resources of a type in a tenant, in O(1). */
int store_res_count(struct store *, int64_t tenant_id, enum store_rtype,
                    int64_t *n);
/*
 * A number that changes whenever another process commits to the store
 * (SQLite's data_version); caches of tokens and tenants key on it so a
 * `rosterd token revoke` takes effect at the next request.
 */
int store_data_version(struct store *, int64_t *v);
/* Groups a user belongs to directly. */
int store_user_groups(struct store *, int64_t user_rid,
                      int (*cb)(const struct store_member *, void *),
                      void *arg);

/* "2026-12-04T19:54:50.123Z" for now, into buf (>= 32 bytes). */
void store_now(char *buf, size_t len);
/* A new time-ordered UUID (version 7) into buf (>= 37 bytes). */
void store_uuid(char *buf, size_t len);

#endif
