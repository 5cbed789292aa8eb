/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* clang-format off */
/*
 * Delivery of rendered feed runs (issue 4): encrypt for the vendor (pgp/),
 * upload under a temporary name and rename (xfer/), exactly once, with
 * retries; and collect the vendor's return files.
 *
 * Configuration is the `delivery` section of the YAML file, one entry per
 * feed name (the feed profile says what goes in the file; the delivery
 * entry says where and how it travels):
 *
 *   delivery:
 *     spring-health:
 *       destination: sftp://rosterd@sftp.vendor.example:22/inbound
 *       ssh_key: /etc/rosterd/keys/vendor_ed25519
 *       host_key_sha256: "SHA256:..."         # required for sftp://
 *       remote_mode: "0600"
 *       pgp: {recipient_key: /etc/rosterd/keys/vendor.asc,
 *             fingerprint: "...", sign: true, armor: false,
 *             keep_plaintext: false}
 *       schedule: "0 6 * * 1"                  # five-field cron
 *       timezone: America/New_York
 *       offcycle: {enabled: true, window: 60, daily_cap: 4}
 *       retries: {max: 6, base_ms: 1000, cap_ms: 300000}
 *       timeouts: {connect_ms: 10000, stall_s: 30}
 *       returns: {dir: /outbound, pattern: "*.ack.csv", interval_s: 300,
 *                 key_column: member_id, status_column: status,
 *                 message_column: message, accepted: [A, ACCEPTED]}
 *
 * (destination may also be dir:/path, a local directory.) docs/delivery.md
 * is the reference for every key.
 *
 * Delivery state lives in its own tables (migration 4, store/sqlite_deliver.c)
 * keyed by run id: states rendered -> encrypted -> uploading -> delivered ->
 * acknowledged, or failed with a reason; every transition is committed
 * before the next side effect, so deliver_run() resumes after a crash at
 * any point, and a file already renamed into place on the server (found by
 * name and size from the manifest) is never sent again.
 *
 * All functions are synchronous and block on the network: call them from a
 * worker thread with its own struct store, never from the event loop.
 */
/* clang-format on */
#ifndef ROSTERD_DELIVER_H
#define ROSTERD_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cfg;
struct cron_expr;
struct cron_tz;
struct store;
struct deliver_config;
struct xfer_cancel;

#define DELIVER_RETRIES_MAX_DEFAULT 6
#define DELIVER_RETRY_BASE_MS_DEFAULT 1000
#define DELIVER_RETRY_CAP_MS_DEFAULT 300000
#define DELIVER_CONNECT_MS_DEFAULT 10000
#define DELIVER_STALL_S_DEFAULT 30
#define DELIVER_RETURNS_INTERVAL_S_DEFAULT 300

struct deliver_pgp {
	char *recipient_key; /* the vendor's public key file */
	char *fingerprint;   /* expected fingerprint of that key, or NULL */
	bool sign;           /* sign with rosterd's own key */
	bool armor;          /* ASCII armour (".asc"), else binary (".pgp") */
	bool keep_plaintext; /* leave the rendered file after encrypting */
};

struct deliver_returns_cfg {
	char *dir;     /* remote directory: "/path", "/~/path" or a URL */
	char *pattern; /* fnmatch(3) pattern of the names to collect */
	long interval_s;
	char *key_column; /* CSV header names */
	char *status_column;
	char *message_column; /* or NULL */
	char **accepted;      /* status values that mean accepted */
	size_t naccepted;
	char delimiter;
	/* format x12: TA1, 999 and 997 acknowledgments, matched to runs by
	 * their control numbers; the CSV settings above are then unused */
	bool x12;
};

/* One feed's `delivery` entry; read-only once loaded. */
struct deliver_feed {
	char *name;
	char *destination; /* sftp://user@host[:port]/dir or dir:/path */
	char *ssh_key;
	char *ssh_public_key;  /* or NULL */
	char *host_key_sha256; /* required for sftp:// */
	unsigned remote_mode;  /* mode of delivered files */
	bool has_pgp;
	struct deliver_pgp pgp;
	char *schedule; /* five-field cron, or NULL */
	struct cron_expr *cron;
	char *full_schedule; /* full files of a mode: both feed, or NULL */
	struct cron_expr *full_cron;
	char *timezone; /* IANA name; "UTC" when not given */
	struct cron_tz *tz;
	bool offcycle;
	unsigned offcycle_window_s;
	unsigned offcycle_daily_cap;
	unsigned retries_max; /* retries after the first attempt */
	uint32_t retry_base_ms;
	uint32_t retry_cap_ms;
	long connect_ms;
	long stall_s;
	bool has_returns;
	struct deliver_returns_cfg returns;
};

/* Parse and validate the `delivery` section (errors via cfg_error). The
 * result is owned by the caller; NULL only when the section is absent.
 * With errors (cfg->nerrors) the result is incomplete: do not use it. */
struct deliver_config *deliver_config_load(struct cfg *);
void deliver_config_free(struct deliver_config *);
/* Names of feeds with a delivery entry, NULL-terminated; borrowed. */
const char *const *deliver_feeds(const struct deliver_config *);
/* The entry of a feed, or NULL (also for a NULL config); borrowed. */
const struct deliver_feed *deliver_feed_find(const struct deliver_config *,
                                             const char *feed);

/* Paths rosterd keeps its own files under (key ring, archives). */
struct deliver_env {
	const char *data_dir; /* e.g. the database's directory */
	const char *outbox;   /* where rendered files are (cfg outbox) */
	/* Or NULL. When it fires, a transfer in progress stops at once:
	 * the attempt is closed as interrupted, deliver_run() returns 1
	 * and the run resumes on the next call (see xfer.h). */
	struct xfer_cancel *cancel;
};

/*
 * Drive one rendered run to `delivered` (or `failed` when retries are
 * exhausted or the error is permanent), resuming from its recorded state.
 * Returns 0 when delivered (or already delivered/acknowledged), 1 when
 * it must be tried again later (*retry_in_ms set: milliseconds from now;
 * *cause says why: a retryable error, or another delivery of the feed is
 * active or in progress), -1 with *cause when it failed for good or
 * cannot be delivered at all (no such run, not rendered, no delivery
 * entry for its feed). The caller frees *cause (NULL on 0).
 *
 * Deliveries of one feed are serialised across threads and processes
 * sharing data_dir by a lock file (DATA/locks/FEED.lock): a delivery of
 * the same feed in progress elsewhere makes this return 1.
 *
 * Test hook: ROSTERD_TEST_CRASH_AT=rendered|encrypted|uploading|
 * after_rename makes the process _exit(137) at that point (see
 * docs/delivery.md); never set it in production.
 */
int deliver_run(struct store *, const struct deliver_config *,
                const struct deliver_env *, const char *run_id,
                int64_t *retry_in_ms, char **cause);

/*
 * Give a failed delivery another go: it goes back to the state it failed
 * in with no attempts counted, and the next deliver_run() continues from
 * there. 0, or -1 with *cause (not failed, or the feed is busy).
 */
int deliver_retry(struct store *, const char *run_id, char **cause);

/*
 * A discarded run of feed will never be delivered: remove its spool
 * (DATA/spool/RUN: the encrypted copy, the stage marker), holding the
 * feed's lock. *staged (the caller frees it) gets the temporary name the
 * stage marker held, or NULL: an upload complete under that name, never
 * renamed, may still be on the server; it is listed in
 * DATA/spool/.discarded.FEED, and the feed's next delivery removes it
 * there. Returns 0 (also when there was no spool), 1 when a delivery of
 * the feed holds the lock (nothing removed), -1 with *cause.
 */
int deliver_discarded(const struct deliver_env *, const char *feed,
                      const char *run_id, char **staged, char **cause);

/* Runs that are rendered but not yet delivered (or failed), oldest first,
 * of the feeds that have a delivery entry in cfg, as a NULL-terminated
 * array the caller frees with deliver_list_free; NULL when the store
 * fails. */
char **deliver_pending(struct store *, const struct deliver_config *);
void deliver_list_free(char **);

/*
 * List the feed's return directory, download each new file once, and
 * once more for each change of a file already collected (its size, or its
 * modification time when the server gives one: one xfer_stat per name
 * already recorded), decrypt it when it is PGP, archive it under data_dir,
 * parse it and attach its records to the run it answers (which becomes
 * acknowledged). Returns the number of files (and new versions)
 * collected, or -1 with *cause (the caller frees it).
 */
int deliver_returns(struct store *, const struct deliver_config *,
                    const struct deliver_env *, const char *feed, char **cause);

/* Stop the gpg-agent of rosterd's key ring (DATA/gnupg), if one runs. */
void deliver_stop_agent(const struct deliver_env *);

#endif
