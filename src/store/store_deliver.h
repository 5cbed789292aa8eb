/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * What delivery keeps in the store (migration 4), behind struct
 * store_deliver_ops in each backend (SQLite: store/sqlite_deliver.c):
 *
 * - deliveries: one row per feed run being delivered, keyed by run id:
 *   its state, the file it sends and the manifest of that file (size and
 *   SHA-256), the remote name, attempts, the next attempt time and the
 *   last error. At most one delivery per feed is active (rendered,
 *   encrypted or uploading) at a time: a partial unique index says so,
 *   whatever the callers do.
 * - delivery_attempts: one row per upload attempt, with its outcome.
 * - return_files and return_records: the vendor's acknowledgement and
 *   error files and their records (rejected ones are kept for
 *   reconciliation). Each version of a file is downloaded once: version 1
 *   when its name first appears, version 2, 3... when the file under that
 *   name changed on the server (migration 9).
 *
 * Every state change of a delivery is mirrored, in the same transaction,
 * into the feed run (feed_runs.state and a feed_run_events row), so
 * `rosterd feed runs` and `feed show` tell the whole lifecycle.
 *
 * Writes made outside a transaction get their own (BEGIN IMMEDIATE); inside
 * one they run under a savepoint. Records filled in for the caller own their
 * strings (release with the *_clear() function); records passed to
 * callbacks are borrowed for the duration of the call. Return values are
 * enum store_rc. The store_deliver_* functions dispatch to st->ops->deliver
 * (deliver/deliver_store.c).
 */
#ifndef ROSTERD_STORE_DELIVER_H
#define ROSTERD_STORE_DELIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

/* Delivery states; the first three are "active". */
#define STORE_DELIVER_RENDERED "rendered"
#define STORE_DELIVER_ENCRYPTED "encrypted"
#define STORE_DELIVER_UPLOADING "uploading"
#define STORE_DELIVER_DELIVERED "delivered"
#define STORE_DELIVER_ACKNOWLEDGED "acknowledged"
#define STORE_DELIVER_FAILED "failed"

/* Attempt outcomes. */
#define STORE_ATTEMPT_SENT "sent"     /* uploaded and renamed into place */
#define STORE_ATTEMPT_FOUND "found"   /* already on the server: not resent */
#define STORE_ATTEMPT_RETRY "retry"   /* retryable error; tried again later */
#define STORE_ATTEMPT_FAILED "failed" /* permanent error */
#define STORE_ATTEMPT_INTERRUPTED "interrupted" /* the process died */

struct store_delivery {
	char *run_id;
	char *feed;
	int64_t seq; /* the run's sequence number within the feed */
	char *state;
	char *failed_from; /* the state a failed delivery stopped in */
	char *destination; /* URL, for status output */
	char *plain_path;  /* the rendered file */
	char *enc_path;    /* the encrypted copy, or NULL */
	char *remote_name;
	int64_t size;     /* manifest: bytes of the file sent; -1: not yet */
	char *sha256;     /* manifest: lower-case hex, or NULL */
	int64_t attempts; /* counted against retries.max */
	char *next_attempt_at; /* store_now() format, or NULL */
	char *last_error;
	char *created;
	char *updated;
	char *encrypted_at;
	char *delivered_at;
	char *acknowledged_at;
};

struct store_delivery_attempt {
	const char *run_id;
	int64_t n; /* 1, 2, ... */
	const char *started;
	const char *ended;   /* NULL while running */
	const char *outcome; /* STORE_ATTEMPT_*, NULL while running */
	const char *error;
};

struct store_return_file {
	int64_t id;
	char *feed;
	char *name;
	int64_t version; /* 1, then 2, 3... for each change on the server */
	int64_t size;    /* bytes downloaded */
	int64_t
	    remote_size; /* size on the server before download; -1 unknown */
	int64_t remote_mtime; /* its mtime (epoch seconds); -1 unknown */
	char *downloaded_at;
	char *archive_path;
	char *run_id; /* the run it answers, or NULL */
	int64_t records;
	int64_t rejected;
	char *signer; /* fingerprint of a good PGP signature, or NULL */
	char *error;  /* why its records could not be read, or NULL */
};

struct store_return_record {
	int64_t file_id;
	int64_t row; /* CSV row number (the header is row 1) */
	const char *run_id;
	const char *key;
	const char *status;
	const char *message; /* or NULL */
	bool accepted;
};

struct store_deliver_ops {
	/*
	 * Insert d (run_id, feed, seq, destination, plain_path,
	 * remote_name) in state rendered. The run must be rendered:
	 * STORE_INVALID with *cause otherwise. STORE_CONFLICT with *cause
	 * when the run already has a delivery or the feed has an active one;
	 * STORE_BLOCKED with *cause when an earlier run of the feed failed
	 * and was neither delivered on retry nor discarded.
	 */
	int (*create)(struct store *, struct store_delivery *, char **cause);
	int (*get)(struct store *, const char *run_id, struct store_delivery *);
	/*
	 * Move the delivery from `from` to d->state, storing enc_path,
	 * size, sha256, attempts, next_attempt_at, last_error and
	 * failed_from from d
	 * and stamping the time of the new state; mirrored into the feed
	 * run with note (may be NULL). STORE_CONFLICT when it is no longer
	 * in `from`, when the new state is active and another delivery
	 * of the feed is, or when its run was discarded.
	 */
	int (*advance)(struct store *, const struct store_delivery *,
	               const char *from, const char *note);
	/*
	 * Count a new attempt (attempts + 1) and record its start; attempts
	 * left open by a process that died are closed as interrupted. *n is
	 * its number among all of the run's attempts (attempts may have been
	 * reset by a retry after failure, the numbers never are).
	 */
	int (*attempt_begin)(struct store *, const char *run_id, int64_t *n);
	int (*attempt_end)(struct store *, const char *run_id, int64_t n,
	                   const char *outcome, const char *error);
	int (*attempts)(struct store *, const char *run_id,
	                int (*cb)(const struct store_delivery_attempt *,
	                          void *),
	                void *arg);
	/* Deliveries of a feed, newest (highest seq) first. */
	int (*list)(struct store *, const char *feed,
	            int (*cb)(const struct store_delivery *, void *),
	            void *arg);
	/*
	 * Runs with delivery work left: rendered without a delivery, or
	 * with an active one; oldest first. cb gets run id and feed.
	 */
	int (*pending)(struct store *,
	               int (*cb)(const char *run_id, const char *feed, void *),
	               void *arg);

	/*
	 * The newest version of (feed, name) into *f (release it with
	 * store_return_file_clear()); STORE_NOTFOUND when never downloaded.
	 */
	int (*return_latest)(struct store *, const char *feed, const char *name,
	                     struct store_return_file *f);
	/*
	 * Insert f (id filled in); STORE_CONFLICT when (feed, name, version)
	 * exists: another fetcher recorded that version first.
	 */
	int (*return_add)(struct store *, struct store_return_file *);
	/* Store n records of one file. */
	int (*return_records_add)(struct store *,
	                          const struct store_return_record *, size_t n);
	/* Set the file's record counts and error (may be NULL). */
	int (*return_finish)(struct store *, int64_t id, int64_t records,
	                     int64_t rejected, const char *error);
	/* Return files of a feed (or of every feed when NULL), newest first. */
	int (*return_list)(struct store *, const char *feed,
	                   int (*cb)(const struct store_return_file *, void *),
	                   void *arg);
	/*
	 * The newest run of feed whose X12 file carried group control
	 * number gs06 or, when gs06 is -1, interchange control number isa13
	 * (*run_id, the caller frees it); STORE_NOTFOUND when none did.
	 */
	int (*run_by_x12)(struct store *, const char *feed, int64_t gs06,
	                  int64_t isa13, char **run_id);
	/* Records answering a run (only rejected ones when asked), in order. */
	int (*return_records)(
	    struct store *, const char *run_id, bool rejected_only,
	    int (*cb)(const struct store_return_record *, void *), void *arg);
};

int store_deliver_create(struct store *, struct store_delivery *, char **cause);
int store_deliver_get(struct store *, const char *run_id,
                      struct store_delivery *);
int store_deliver_advance(struct store *, const struct store_delivery *,
                          const char *from, const char *note);
int store_deliver_attempt_begin(struct store *, const char *run_id, int64_t *n);
int store_deliver_attempt_end(struct store *, const char *run_id, int64_t n,
                              const char *outcome, const char *error);
int store_deliver_attempts(struct store *, const char *run_id,
                           int (*cb)(const struct store_delivery_attempt *,
                                     void *),
                           void *arg);
int store_deliver_list(struct store *, const char *feed,
                       int (*cb)(const struct store_delivery *, void *),
                       void *arg);
int store_deliver_pending(struct store *,
                          int (*cb)(const char *, const char *, void *),
                          void *arg);
void store_delivery_clear(struct store_delivery *);
/* A deep copy of src into dst (dst's old strings are not freed). */
void store_delivery_copy(struct store_delivery *dst,
                         const struct store_delivery *src);
/* Rendered, encrypted or uploading. */
bool store_deliver_state_active(const char *state);

int store_return_latest(struct store *, const char *feed, const char *name,
                        struct store_return_file *);
int store_return_add(struct store *, struct store_return_file *);
int store_return_records_add(struct store *, const struct store_return_record *,
                             size_t n);
int store_return_finish(struct store *, int64_t id, int64_t records,
                        int64_t rejected, const char *error);
int store_return_list(struct store *, const char *feed,
                      int (*cb)(const struct store_return_file *, void *),
                      void *arg);
int store_deliver_run_by_x12(struct store *, const char *feed, int64_t gs06,
                             int64_t isa13, char **run_id);
int store_return_records(struct store *, const char *run_id, bool rejected_only,
                         int (*cb)(const struct store_return_record *, void *),
                         void *arg);
void store_return_file_clear(struct store_return_file *);

#endif
