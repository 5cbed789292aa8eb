/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * SCIM filter trees compiled to SQLite SQL over the `resources` table
 * (aliased "r"; see the schema in store/sqlite.c). Indexed columns are used
 * where the attribute has one (id, userName/displayName, externalId,
 * active, meta.created, meta.lastModified); other attributes go through
 * json_extract()/json_each() on r.doc; Group "members" and User "groups"
 * through the members table.
 */
#ifndef ROSTERD_SQLITE_FILTER_H
#define ROSTERD_SQLITE_FILTER_H

#include <jansson.h>

#include "scim/filter.h"
#include "store/store.h"
#include "util/buf.h"

/*
 * Append a boolean SQL expression for the filter to sql; the values it
 * binds, in "?" order, are appended to params (a JSON array of strings,
 * integers, reals). Returns 0, or -1 with *cause (caller frees) for a
 * filter it cannot express.
 */
int sqlite_filter_compile(const struct scim_filter *, enum store_rtype,
                          struct buf *sql, json_t *params, char **cause);

/* Append an SQL expression to ORDER BY for sortBy (RFC 7644 §3.4.2.3). */
int sqlite_filter_sort_expr(const struct scim_attrpath *, enum store_rtype,
                            struct buf *sql, char **cause);

#endif
