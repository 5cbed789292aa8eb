/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * What the SQLite backend's files share: the connection of a store handle
 * and each subsystem's schema migration and ops table. Only files named
 * store/sqlite*.c include this.
 */
#ifndef ROSTERD_SQLITE_PRIV_H
#define ROSTERD_SQLITE_PRIV_H

#include <stdbool.h>

#include <sqlite3.h>

#include "store/store_backend.h"
#include "util/xmalloc.h"

/* The connection behind a handle opened by the SQLite backend. Borrowed. */
sqlite3 *sqlite_store_db(struct store *);
/*
 * Bulk mode, for one long transaction of many writes (the HRIS import):
 * a write inside it takes no savepoint of its own. Safe because each
 * write's only expected failure, a constraint (userName taken), comes
 * from its first modifying statement, which SQLite undoes by itself; any
 * other failure must make the caller roll the whole transaction back.
 */
void sqlite_store_set_bulk(struct store *, bool on);

/*
 * Binding and column helpers every sqlite*.c file uses. Text is bound
 * SQLITE_STATIC: the caller's string must outlive the step (and the
 * bindings are cleared or the statement finalized right after). NULL
 * binds SQL NULL; a NULL column reads as NULL.
 */
static inline void
sqlite_bind_str(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* A borrowed column, valid until the statement steps or resets. */
static inline const char *
sqlite_col_str(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

/* A column the caller owns (free), or NULL. */
static inline char *
sqlite_col_dup(sqlite3_stmt *s, int i)
{
	const char *t = sqlite_col_str(s, i);

	return t != NULL ? xstrdup(t) : NULL;
}

/* Migration 2: HRIS import tables (store/sqlite_hris.c). */
extern const char sqlite_hris_schema[];
extern const struct store_hris_ops sqlite_hris_ops;

/* Migration 3: feed tables (store/sqlite_feed.c). */
extern const char sqlite_feed_schema[];
extern const char sqlite_feed_schema_v7[];
extern const struct store_feed_ops sqlite_feed_ops;

/* Migrations 4 and 9: delivery tables (store/sqlite_deliver.c). */
extern const char sqlite_deliver_schema[];
extern const char sqlite_deliver_schema_v9[];
extern const struct store_deliver_ops sqlite_deliver_ops;

/* Migration 5: scheduler tables and triggers (store/sqlite_sched.c). */
extern const char sqlite_sched_schema[];
extern const struct store_sched_ops sqlite_sched_ops;

#endif
