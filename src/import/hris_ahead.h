/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * Loading ahead: while pass 1 reads the file, a second thread reads what
 * the import's load step needs from the store (the tenant's people with
 * their hashes, and, for a full file, every live externalId) through a
 * read-only connection of its own, into memory. Inside the import's write
 * transaction, hris_ahead_valid() says whether that snapshot is still the
 * database: true only when nothing was committed since hris_ahead_start()
 * (SQLite's data_version of the importing connection did not move). Then
 * the replay functions hand the records to the load callbacks in the order
 * the store gave them; otherwise the caller reads inside its transaction
 * as before, and the result is the same either way.
 *
 * The handle owns the thread, its connection and the records; the store
 * passed to start and valid is borrowed and used only from the caller's
 * thread.
 */
#ifndef ROSTERD_IMPORT_HRIS_AHEAD_H
#define ROSTERD_IMPORT_HRIS_AHEAD_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"
#include "store/store_hris.h"

struct hris_ahead;

/*
 * Start reading the tenant's people (and its externalIds when ext is set)
 * on a second thread. NULL when the store has no second connection to
 * give (an in-memory database) or anything fails: load in the
 * transaction then. Call before the transaction; free with
 * hris_ahead_free().
 */
struct hris_ahead *hris_ahead_start(struct store *st, int64_t tenant_id,
                                    bool ext);

/*
 * Wait for the thread; then, inside the write transaction on st, true
 * when its records are what the transaction sees.
 */
bool hris_ahead_valid(struct hris_ahead *, struct store *st);

/*
 * After hris_ahead_valid(): the people, as invalidate + people_walk give
 * them; a callback's non-zero return stops early. STORE_OK.
 */
int hris_ahead_people(const struct hris_ahead *,
                      int (*cb)(const struct store_hris_person *, void *),
                      void *arg);

/* After hris_ahead_valid(): false when ext was not asked for. */
bool hris_ahead_has_ext(const struct hris_ahead *);

/* After hris_ahead_valid(): the externalIds, as external_walk. STORE_OK. */
int hris_ahead_external(const struct hris_ahead *,
                        int (*cb)(const char *, int64_t, void *), void *arg);

/* Wait for the thread if it runs, then free everything; NULL is fine. */
void hris_ahead_free(struct hris_ahead *);

#endif
