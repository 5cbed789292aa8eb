/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
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
 *       destination: sftp://rosterd@sftp.vendor.example:22/inbound   # or
 * dir:/path ssh_key: /etc/rosterd/keys/vendor_ed25519 host_key_sha256:
 * "SHA256:..."      # required for sftp:// remote_mode: "0600" pgp:
 * {recipient_key: /etc/rosterd/keys/vendor.asc, fingerprint: "...", sign: true,
 * armor: false, keep_plaintext: false} schedule: "0 6 * * 1"              #
 * five-field cron timezone: America/New_York offcycle: {enabled: true, window:
 * 60, daily_cap: 4} retries: {max: 6, base_ms: 1000, cap_ms: 300000} timeouts:
 * {connect_ms: 10000, stall_s: 30} returns: {dir: /outbound, pattern:
 * "*.ack.csv", interval_s: 300, key_column: member_id, status_column: status,
 *                 message_column: message, accepted: [A, ACCEPTED]}
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
#ifndef ROSTERD_DELIVER_H
#define ROSTERD_DELIVER_H

#include <stdbool.h>
#include <stdint.h>

struct cfg;
struct store;
struct deliver_config;

/* Parse and validate the `delivery` section (errors via cfg_error). The
 * result is owned by the caller; NULL only when the section is absent. */
struct deliver_config *deliver_config_load(struct cfg *);
void deliver_config_free(struct deliver_config *);
/* Names of feeds with a delivery entry, NULL-terminated; borrowed. */
const char *const *deliver_feeds(const struct deliver_config *);

/* Paths rosterd keeps its own files under (key ring, archives). */
struct deliver_env {
	const char *data_dir; /* e.g. the database's directory */
	const char *outbox;   /* where rendered files are (cfg outbox) */
};

/*
 * Drive one rendered run to `delivered` (or `failed` when retries are
 * exhausted or the error is permanent), resuming from its recorded state.
 * Returns 0 when delivered (or already delivered/acknowledged), 1 when
 * it must be retried later (*retry_at_ms set, monotonic milliseconds from
 * now), -1 with *cause when it failed for good.
 */
int deliver_run(struct store *, const struct deliver_config *,
                const struct deliver_env *, const char *run_id,
                int64_t *retry_in_ms, char **cause);

/* Runs that are rendered but not yet delivered (or failed), oldest first,
 * as a NULL-terminated array the caller frees with deliver_list_free. */
char **deliver_pending(struct store *);
void deliver_list_free(char **);

/*
 * List the feed's return directory, download each new file once, decrypt
 * it when it is PGP, archive it under data_dir, parse it and attach its
 * records to the run it answers. Returns the number of new files, or -1
 * with *cause.
 */
int deliver_returns(struct store *, const struct deliver_config *,
                    const struct deliver_env *, const char *feed, char **cause);

#endif
