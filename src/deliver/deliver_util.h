/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * What deliver.c and deliver_returns.c share: files under the data
 * directory, hashing, the per-feed lock, the key ring and transfer options.
 * Only the files of src/deliver/ include this.
 */
#ifndef ROSTERD_DELIVER_UTIL_H
#define ROSTERD_DELIVER_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deliver/deliver.h"
#include "pgp/pgp.h"
#include "xfer/xfer.h"

#define DELIVER_SHA256_HEX 65 /* 64 hex digits and a NUL */

/*
 * SHA-256 (lower-case hex) and size of the file at path. 0, or -1 with
 * *cause (errno kept, so ENOENT can be told apart).
 */
int deliver_hash_file(const char *path, char hex[DELIVER_SHA256_HEX],
                      int64_t *size, char **cause);

/*
 * DATA/a/b...: each component made 0700 if absent. Returns the path
 * (caller frees) or NULL with *cause.
 */
char *deliver_data_path(const struct deliver_env *, char **cause, const char *a,
                        const char *b);

/*
 * Take the feed's delivery lock (DATA/locks/NAME.lock, flock(2)) without
 * waiting. Returns the descriptor, -2 when another holder has it, or -1
 * with *cause. Released by deliver_unlock() or by the process dying.
 */
int deliver_lock(const struct deliver_env *, const char *name, char **cause);
/* The same lock, waiting for it: -1 with *cause, else the descriptor. */
int deliver_lock_wait(const struct deliver_env *, const char *name,
                      char **cause);
void deliver_unlock(int fd);

/*
 * Every use of rosterd's key ring takes DATA/locks/.gnupg.lock (no feed
 * can be named so), waiting for it: processes and threads that start
 * gpg-agent on the same home at once make some of them fail, and two
 * would each create a signing key. -1 with *cause, else the descriptor
 * for deliver_unlock().
 */
int deliver_gnupg_lock(const struct deliver_env *, char **cause);

/* rosterd's key ring, DATA/gnupg; NULL with *cause. */
struct pgp *deliver_pgp_open(const struct deliver_env *, char **cause);

/* Transfer options for the feed and url (borrowed from f and url). */
void deliver_xfer_opts(const struct deliver_feed *, const char *url,
                       struct xfer_opts *);

/* Milliseconds since the epoch, and one formatted like store_now(). */
int64_t deliver_now_ms(void);
void deliver_fmt_time(int64_t ms, char *buf, size_t len);

/* Test-only: _exit(137) when ROSTERD_TEST_CRASH_AT names this point. */
void deliver_crash_point(const char *point);

#endif
