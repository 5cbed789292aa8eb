/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * Outbound file transfer: one small synchronous interface (struct xfer_ops,
 * STYLE habit 13) over backends chosen by the destination URL:
 *
 *   sftp://user@host[:port]/remote/dir   SFTP through libcurl (libssh2)
 *   dir:/local/path                      a local directory
 *
 * xfer_put() is the delivery primitive. It writes the file under a temporary
 * name in the destination directory (".NAME.<8 hex>.part"), makes it
 * complete, renames it to NAME and never replaces an existing NAME. A reader
 * of the directory sees the whole file or nothing, never a partial file under
 * the final name; on failure the temporary file is removed (over SFTP only
 * "best effort" when the connection itself is gone).
 *
 * Calls are synchronous and never retry: the run engine calls them on a
 * worker thread and retries retryable errors after xfer_backoff_ms(). A
 * handle belongs to one thread at a time; separate handles may run on
 * separate threads at once. Nothing here logs. Errors come back as an
 * enum plus a message (xfer_error()) that names the destination and never
 * holds a secret (no passphrase, no key material).
 *
 * NAME is one entry of the destination directory: 1 to XFER_NAME_MAX bytes,
 * no '/', no control characters, not "." or "..".
 */
#ifndef ROSTERD_XFER_H
#define ROSTERD_XFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XFER_NAME_MAX 200
/* Defaults used when an option below is 0. */
#define XFER_CONNECT_TIMEOUT_MS_DEFAULT 30000L
#define XFER_LOW_SPEED_LIMIT_DEFAULT 1L /* bytes/s ... */
#define XFER_LOW_SPEED_TIME_DEFAULT 60L /* ... for this many seconds */
#define XFER_FILE_MODE_DEFAULT 0600u

/* Stable values: stored with run attempts, never reused. */
enum xfer_err {
	XFER_OK = 0,
	XFER_ERR_CONFIG = 1,   /* bad URL, option, name or pattern */
	XFER_ERR_HOSTKEY = 2,  /* no host key fingerprint, or a different key */
	XFER_ERR_AUTH = 3,     /* the server refused the key */
	XFER_ERR_CONNECT = 4,  /* the server could not be reached */
	XFER_ERR_TIMEOUT = 5,  /* connect, stall or whole-operation timeout */
	XFER_ERR_EXISTS = 6,   /* the target name is already taken */
	XFER_ERR_NOTFOUND = 7, /* no such file or directory */
	XFER_ERR_PERM = 8,     /* permission denied at the destination */
	XFER_ERR_IO = 9,       /* transfer or storage failed midway */
	XFER_ERR_LOCAL = 10,   /* the local file: unreadable, changed, disk */
	XFER_ERR_CANCELLED = 11, /* stopped through xfer_cancel_fire() */
};

/*
 * A cancel token, shared by the handles of one owner (the delivery
 * worker): xfer_cancel_fire() makes every SFTP call in progress on any
 * thread end at once with XFER_ERR_CANCELLED, whatever it waits for
 * (connect, SSH handshake, a stalled transfer), and every later call
 * fail the same way. The token must outlive its handles.
 */
struct xfer_cancel;

struct xfer_cancel *xfer_cancel_new(void);
/* NULL is a no-op. */
void xfer_cancel_free(struct xfer_cancel *);
/* Thread-safe; may be called more than once. */
void xfer_cancel_fire(struct xfer_cancel *);
/* Has it fired? false for NULL. */
bool xfer_cancel_fired(struct xfer_cancel *);

/* Connection options; every string is borrowed for xfer_open() only. */
struct xfer_opts {
	const char *url;         /* required */
	const char *private_key; /* sftp: path of the private key file */
	const char *public_key;  /* sftp: optional public key file */
	const char *passphrase;  /* sftp: optional, for the private key */
	/* sftp: the server's host key SHA-256 as `ssh-keygen -lf` prints it,
	 * with or without "SHA256:" and '=' padding. Required. */
	const char *host_fingerprint;
	long connect_timeout_ms; /* sftp */
	long low_speed_limit;    /* sftp: abort below this many bytes/s ... */
	long low_speed_time;     /* ... sustained this many seconds */
	long timeout_ms;         /* sftp: whole operation; 0: no limit */
	unsigned file_mode;      /* mode of delivered files; 0: 0600 */
	struct xfer_cancel *cancel; /* sftp: or NULL; borrowed for the
	                               handle's life */
};

struct xfer_stat {
	int64_t size;  /* bytes */
	int64_t mtime; /* seconds since the epoch; -1 when unknown */
};

struct xfer_list {
	char **names; /* sorted with strcmp; owned by the list */
	size_t n;
};

struct xfer;

/* The backend vtable. Each op returns XFER_OK or fails through xfer_fail(). */
struct xfer_ops {
	const char *scheme;
	/* Set x->be. On failure close() is still called, so leave x->be NULL
	 * or consistent. */
	enum xfer_err (*open)(struct xfer *, const struct xfer_opts *);
	enum xfer_err (*put)(struct xfer *, const char *local_path,
	                     const char *name);
	enum xfer_err (*rename)(struct xfer *, const char *from,
	                        const char *to);
	enum xfer_err (*stat)(struct xfer *, const char *name,
	                      struct xfer_stat *);
	/* Fill an empty list; on failure leave it empty. */
	enum xfer_err (*list)(struct xfer *, const char *pattern,
	                      struct xfer_list *);
	enum xfer_err (*get)(struct xfer *, const char *name,
	                     const char *local_path);
	enum xfer_err (*remove)(struct xfer *, const char *name);
	/* Free x->be (may be NULL). */
	void (*close)(struct xfer *);
};

struct xfer {
	const struct xfer_ops *ops;
	void *be;           /* backend state */
	char *where;        /* destination URL, for messages */
	enum xfer_err code; /* of the last failed call */
	char *msg;          /* its message; NULL when none */
};

/*
 * Open a handle for opts->url. SFTP connects, checks the host key, logs in
 * and checks that the remote directory exists; dir: opens the directory.
 * On success *out is set (xfer_close() frees it). On failure *out is NULL
 * and *cause is a message the caller frees.
 */
enum xfer_err xfer_open(const struct xfer_opts *, struct xfer **out,
                        char **cause);
/* Like xfer_open() with a given backend, for tests and fakes. */
enum xfer_err xfer_open_ops(const struct xfer_ops *, const struct xfer_opts *,
                            struct xfer **out, char **cause);
/* Close the connection and free the handle; NULL is a no-op. */
void xfer_close(struct xfer *);

/* Deliver local_path as NAME (temporary name, then rename; see above).
 * XFER_ERR_EXISTS when NAME is already there, and nothing is changed. */
enum xfer_err xfer_put(struct xfer *, const char *local_path, const char *name);
/* Rename within the directory; never replaces: XFER_ERR_EXISTS. */
enum xfer_err xfer_rename(struct xfer *, const char *from, const char *to);
/* Size and modification time of NAME; XFER_ERR_NOTFOUND when absent. */
enum xfer_err xfer_stat(struct xfer *, const char *name, struct xfer_stat *);
/*
 * Names in the directory matching the fnmatch(3) pattern (NULL: "*"), with
 * FNM_PERIOD so that "*" never matches dot names, such as temporary files.
 * *out is filled (free with xfer_list_free()); empty on failure. SFTP lists
 * names only, so a subdirectory whose name matches is listed too.
 */
enum xfer_err xfer_list(struct xfer *, const char *pattern,
                        struct xfer_list *out);
/* Download NAME to local_path: written 0600 under a temporary name next to
 * it, fsynced and renamed over local_path. */
enum xfer_err xfer_get(struct xfer *, const char *name, const char *local_path);
/* Remove NAME; XFER_ERR_NOTFOUND when it is not there. */
enum xfer_err xfer_remove(struct xfer *, const char *name);

/* Message of the last failed call ("" when none); borrowed from the handle,
 * valid until its next call. */
const char *xfer_error(const struct xfer *);
void xfer_list_free(struct xfer_list *);
/* Static name of a code, such as "host key". */
const char *xfer_strerror(enum xfer_err);
/* Whether trying again later may succeed (connect, timeout, I/O). */
bool xfer_retryable(enum xfer_err);

/*
 * Delay before retry number attempt (0 for the first retry): exponential
 * backoff with full jitter, rnd scaled into [0, min(cap_ms, base_ms *
 * 2^attempt)]. rnd is a uniform 32-bit value, e.g. xfer_random32(); a
 * parameter so that tests are deterministic.
 */
uint32_t xfer_backoff_ms(unsigned attempt, uint32_t base_ms, uint32_t cap_ms,
                         uint32_t rnd);
/* A uniformly random 32-bit value from the kernel (getrandom(2)). */
uint32_t xfer_random32(void);

/* --- For backends ------------------------------------------------------ */

/* Record a failure on x ("<where>: <message>") and return code. */
enum xfer_err xfer_fail(struct xfer *, enum xfer_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* XFER_OK, or XFER_ERR_CONFIG through xfer_fail() for a bad NAME. */
enum xfer_err xfer_check_name(struct xfer *, const char *name);
/* ".NAME.<8 random hex>.part"; the caller frees it. */
char *xfer_temp_name(const char *name);
/*
 * A backend's sockets under a cancel token (c may be NULL): register a
 * new socket, or close it and return -1 when the token has fired (so
 * no connection starts after it); and close one, under the token's lock
 * so that xfer_cancel_fire() never shuts down a reused descriptor.
 */
int xfer_cancel_socket(struct xfer_cancel *c, int fd);
int xfer_cancel_close(struct xfer_cancel *c, int fd);
/* The code for a failed system call's errno. */
enum xfer_err xfer_errno_code(int err);
/* strerror_r() into buf, which is returned. */
const char *xfer_strerrno(int err, char *buf, size_t len);

/*
 * A local file written atomically: xfer_sink_open() creates a 0600
 * temporary file next to path, xfer_sink_write() appends, and
 * xfer_sink_commit() fsyncs, renames it over path and fsyncs the directory.
 * xfer_sink_abort() removes the temporary file; it is safe after commit or
 * a failed open, and commit aborts by itself when it fails.
 */
struct xfer_sink {
	int fd;
	int dirfd;
	char *tmp;  /* basename of the temporary file */
	char *base; /* basename of path */
	const char *path;
	int err; /* errno of the first failed write */
};

enum xfer_err xfer_sink_open(struct xfer *, struct xfer_sink *,
                             const char *path);
/* 0, or -1 with sink->err set (errno); later writes also fail. */
int xfer_sink_write(struct xfer_sink *, const void *, size_t);
enum xfer_err xfer_sink_commit(struct xfer *, struct xfer_sink *);
void xfer_sink_abort(struct xfer_sink *);

#endif
