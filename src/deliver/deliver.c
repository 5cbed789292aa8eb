/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* Delivering rendered runs: encrypt, upload exactly once, retry, resume. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deliver/deliver.h"
#include "deliver/deliver_util.h"
#include "pgp/pgp.h"
#include "store/store.h"
#include "store/store_deliver.h"
#include "store/store_feed.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "xfer/xfer.h"

/* One deliver_run() call. */
struct dctx {
	struct store *st;
	const struct deliver_feed *f;
	const struct deliver_env *env;
	struct store_feed_run run;
	struct store_delivery d;
	char *cause;
	int64_t retry_in_ms;
	bool blocked; /* an earlier run of the feed failed */
};

enum { STEP_NEXT = 0, STEP_DONE = 1, STEP_FAIL = -1, STEP_RETRY = 2 };

static void
set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = v != NULL ? xstrdup(v) : NULL;
}

/* Commit the move of x->d to state `to`; on failure x->cause says why. */
static int
dl_move(struct dctx *x, const char *to, const char *note)
{
	char *from = x->d.state;
	int rc;

	x->d.state = xstrdup(to);
	rc = store_deliver_advance(x->st, &x->d, from, note);
	if (rc != STORE_OK) {
		free(x->cause);
		x->cause = rc == STORE_CONFLICT
		               ? xasprintf("run %s: its delivery changed "
		                           "while this one worked on it (%s); "
		                           "not continuing",
		                           x->d.run_id, from)
		               : xasprintf("run %s: recording state %s failed",
		                           x->d.run_id, to);
		free(x->d.state);
		x->d.state = from;
		return -1;
	}
	free(from);
	return 0;
}

/* Fail the delivery for good with the message; returns STEP_FAIL. */
static int __attribute__((format(printf, 2, 3)))
dl_fail(struct dctx *x, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	set_str(&x->d.last_error, msg);
	set_str(&x->d.failed_from, x->d.state);
	set_str(&x->d.next_attempt_at, NULL);
	log_warnx("deliver: run %s (feed %s) failed: %s", x->d.run_id,
	          x->d.feed, msg);
	if (dl_move(x, STORE_DELIVER_FAILED, msg) == 0) {
		free(x->cause);
		x->cause = msg;
	} else
		free(msg);
	return STEP_FAIL;
}

/* The remote name: the rendered file's, plus .pgp or .asc when encrypted. */
static char *
remote_name(const struct deliver_feed *f, const char *file_name)
{
	if (!f->has_pgp)
		return xstrdup(file_name);
	return xasprintf("%s%s", file_name, f->pgp.armor ? ".asc" : ".pgp");
}

/* Record a delivery for a rendered run that has none yet. */
static int
dl_start(struct dctx *x)
{
	const char *dir =
	    x->run.out_dir != NULL ? x->run.out_dir : x->env->outbox;
	int rc;

	if (x->run.file_name == NULL || dir == NULL) {
		x->cause = xasprintf("run %s has no rendered file (state %s)",
		                     x->run.id, x->run.state);
		return -1;
	}
	memset(&x->d, 0, sizeof(x->d));
	x->d.run_id = xstrdup(x->run.id);
	x->d.feed = xstrdup(x->run.feed);
	x->d.destination = xstrdup(x->f->destination);
	x->d.plain_path = xasprintf("%s/%s", dir, x->run.file_name);
	x->d.remote_name = remote_name(x->f, x->run.file_name);
	rc = store_deliver_create(x->st, &x->d, &x->cause);
	store_delivery_clear(&x->d);
	if (rc != STORE_OK) {
		if (x->cause == NULL)
			x->cause = xasprintf("run %s: recording the delivery "
			                     "failed",
			                     x->run.id);
		x->blocked = rc == STORE_BLOCKED;
		return rc == STORE_CONFLICT || rc == STORE_BLOCKED ? 1 : -1;
	}
	if (store_deliver_get(x->st, x->run.id, &x->d) != STORE_OK) {
		x->cause =
		    xasprintf("run %s: reading the delivery failed", x->run.id);
		return -1;
	}
	deliver_crash_point("rendered");
	return 0;
}

/* Check path against the run's or the manifest's size and hash. */
static int
check_file(struct dctx *x, const char *path, const char *what,
           int64_t want_size, const char *want_sha, char hex[65], int64_t *size)
{
	char *err = NULL;
	int rc;

	if (deliver_hash_file(path, hex, size, &err) == -1) {
		rc = dl_fail(x, "%s %s", what, err);
		free(err);
		return rc;
	}
	if ((want_size >= 0 && *size != want_size) ||
	    (want_sha != NULL && strcmp(hex, want_sha) != 0))
		return dl_fail(x,
		               "%s %s changed: %lld bytes, sha256 %s; "
		               "expected %lld bytes, sha256 %s",
		               what, path, (long long)*size, hex,
		               (long long)want_size,
		               want_sha != NULL ? want_sha : "(any)");
	return STEP_NEXT;
}

/* Import the vendor key and check it is the one the profile names. */
static int
vendor_key(struct dctx *x, struct pgp *pgp, char **fpr)
{
	const struct deliver_pgp *p = &x->f->pgp;
	char *err = NULL;
	int rc;

	if (pgp_import_key(pgp, p->recipient_key, fpr, &err) == -1) {
		rc = dl_fail(x, "%s", err);
		free(err);
		return rc;
	}
	if (p->fingerprint != NULL && strcmp(*fpr, p->fingerprint) != 0)
		return dl_fail(x,
		               "the key in %s is %s, not %s as the profile "
		               "says; refusing to encrypt to it",
		               p->recipient_key, *fpr, p->fingerprint);
	return STEP_NEXT;
}

/* rosterd's signing key, created on first use (under the GnuPG lock). */
static int
signer(struct dctx *x, struct pgp *pgp)
{
	char *err = NULL;
	int rc;

	rc = pgp_ensure_signing_key(pgp, NULL, PGP_KEY_ED25519, NULL, &err);
	if (rc == -1) {
		dl_fail(x, "%s", err);
		free(err);
	}
	return rc;
}

/* rendered -> encrypted: encrypt into the spool, record the manifest. */
static int
step_encrypt(struct dctx *x)
{
	char hex[65], *err = NULL, *dir, *out, *fpr = NULL;
	struct pgp *pgp = NULL;
	int64_t size;
	int rc, lock = -1;

	if ((dir = deliver_data_path(x->env, &err, "spool", x->d.run_id)) ==
	    NULL) {
		rc = dl_fail(x, "%s", err);
		free(err);
		return rc;
	}
	out = xasprintf("%s/%s", dir, x->d.remote_name);
	free(dir);
	if ((lock = deliver_gnupg_lock(x->env, &err)) == -1) {
		rc = dl_fail(x, "%s", err);
		goto out;
	}
	if ((pgp = deliver_pgp_open(x->env, &err)) == NULL) {
		rc = dl_fail(x, "%s", err);
		goto out;
	}
	if ((rc = vendor_key(x, pgp, &fpr)) != STEP_NEXT)
		goto out;
	if (x->f->pgp.sign && signer(x, pgp) == -1) {
		rc = STEP_FAIL;
		goto out;
	}
	rc = pgp_encrypt_file(pgp, x->d.plain_path, out, fpr, x->f->pgp.sign,
	                      x->f->pgp.armor, &err);
	deliver_unlock(lock);
	lock = -1;
	if (rc == -1) {
		rc = dl_fail(x, "%s", err);
		goto out;
	}
	if (deliver_hash_file(out, hex, &size, &err) == -1) {
		rc = dl_fail(x, "%s", err);
		goto out;
	}
	set_str(&x->d.enc_path, out);
	set_str(&x->d.sha256, hex);
	x->d.size = size;
	free(err);
	err = xasprintf("%s (%lld bytes, sha256 %s) for %s", out,
	                (long long)size, hex, fpr);
	rc = dl_move(x, STORE_DELIVER_ENCRYPTED, err) == 0 ? STEP_NEXT
	                                                   : STEP_FAIL;
	if (rc == STEP_NEXT)
		deliver_crash_point("encrypted");
out:
	deliver_unlock(lock);
	pgp_free(pgp);
	free(fpr);
	free(err);
	free(out);
	return rc;
}

static int
step_rendered(struct dctx *x)
{
	char hex[65];
	int64_t size;
	int rc;

	rc = check_file(x, x->d.plain_path, "rendered file",
	                x->run.file_sha256 != NULL ? x->run.file_size : -1,
	                x->run.file_sha256, hex, &size);
	if (rc != STEP_NEXT)
		return rc;
	if (x->f->has_pgp)
		return step_encrypt(x);
	/* Sent as rendered: the manifest is the rendered file's. */
	set_str(&x->d.sha256, hex);
	x->d.size = size;
	if (dl_move(x, STORE_DELIVER_UPLOADING, NULL) == -1)
		return STEP_FAIL;
	deliver_crash_point("uploading");
	return STEP_NEXT;
}

/* encrypted -> uploading; the plaintext goes unless the profile keeps it. */
static int
step_encrypted(struct dctx *x)
{
	if (!x->f->pgp.keep_plaintext && unlink(x->d.plain_path) == -1 &&
	    errno != ENOENT)
		log_warn("deliver: removing plaintext %s", x->d.plain_path);
	if (dl_move(x, STORE_DELIVER_UPLOADING, NULL) == -1)
		return STEP_FAIL;
	deliver_crash_point("uploading");
	return STEP_NEXT;
}

/* fnmatch(3) pattern: prefix, name escaped, suffix. */
static char *
leftover_pattern(const char *prefix, const char *name, const char *suffix)
{
	struct buf b;

	buf_init(&b, 0);
	buf_addstr(&b, prefix);
	for (; *name != '\0'; name++) {
		if (strchr("*?[]\\", *name) != NULL)
			buf_addch(&b, '\\');
		buf_addch(&b, *name);
	}
	buf_addstr(&b, suffix);
	return buf_detach(&b);
}

/*
 * Temporary files a crashed attempt left behind; best effort. The staged
 * name (.NAME.XXXXXXXX.part) and xfer_put's own temporary file for it
 * (..NAME.XXXXXXXX.part.YYYYYYYY.part) both go; one listing finds both.
 */
static void
remove_leftovers(struct xfer *xf, const char *name)
{
	char *staged = leftover_pattern(".", name, ".????????.part");
	char *inner =
	    leftover_pattern("..", name, ".????????.part.????????.part");
	struct xfer_list l = {0};
	size_t i;

	if (xfer_list(xf, ".*.part", &l) == XFER_OK) {
		for (i = 0; i < l.n; i++) {
			if (fnmatch(staged, l.names[i], FNM_PERIOD) != 0 &&
			    fnmatch(inner, l.names[i], FNM_PERIOD) != 0)
				continue;
			if (xfer_remove(xf, l.names[i]) == XFER_OK)
				log_info("deliver: removed leftover %s",
				         l.names[i]);
		}
	}
	xfer_list_free(&l);
	free(inner);
	free(staged);
}

/*
 * The stage marker, DATA/spool/RUN/.staged, holds the temporary remote
 * name under which the complete file was uploaded, written (and synced)
 * before that name is renamed to the final one and kept until the run is
 * recorded delivered. After a crash or a lost reply it tells "renamed, and
 * the vendor has already taken the file away" (neither name left) apart
 * from "never renamed" (no marker: the upload is repeated).
 */
static char *
spool_path(const struct deliver_env *env, const char *run_id)
{
	return xasprintf("%s/spool/%s",
	                 env->data_dir != NULL ? env->data_dir : ".", run_id);
}

static char *
spool_dir(const struct dctx *x)
{
	return spool_path(x->env, x->d.run_id);
}

static char *
stage_read_path(const char *dir)
{
	char *path, buf[XFER_NAME_MAX + 1];
	ssize_t n = -1;
	int fd;

	path = xasprintf("%s/.staged", dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		n = read(fd, buf, sizeof(buf));
		close(fd);
	}
	free(path);
	if (n <= 0 || (size_t)n > XFER_NAME_MAX)
		return NULL;
	return xstrndup(buf, (size_t)n);
}

static char *
stage_read(const struct dctx *x)
{
	char *dir = spool_dir(x), *name = stage_read_path(dir);

	free(dir);
	return name;
}

static void
stage_clear(const struct dctx *x)
{
	char *dir = spool_dir(x), *path = xasprintf("%s/.staged", dir);

	if (unlink(path) == -1 && errno != ENOENT)
		log_warn("deliver: removing %s", path);
	free(path);
	free(dir);
}

/* Write the marker durably (temporary file, fsync, rename, fsync dir). */
static int
stage_write(struct dctx *x, const char *tmp, char **err)
{
	char *dir, *path = NULL, *part = NULL;
	int fd = -1, dfd = -1, rc = -1;
	size_t n = strlen(tmp);

	if ((dir = deliver_data_path(x->env, err, "spool", x->d.run_id)) ==
	    NULL)
		return -1;
	path = xasprintf("%s/.staged", dir);
	part = xasprintf("%s/.staged.part", dir);
	fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || write(fd, tmp, n) != (ssize_t)n || fsync(fd) == -1 ||
	    rename(part, path) == -1 ||
	    (dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(dfd) == -1)
		*err = xasprintf("recording the upload in %s: %s", path,
		                 strerror(errno));
	else
		rc = 0;
	if (fd != -1)
		close(fd);
	if (dfd != -1)
		close(dfd);
	if (rc == -1)
		unlink(part);
	free(part);
	free(path);
	free(dir);
	return rc;
}

/* The upload of this attempt: XFER_OK, or the code with *msg set. */
struct upload {
	enum xfer_err code;
	char *msg;
	bool found; /* already there with the manifest's size */
};

static void
upload_err(struct upload *u, struct xfer *xf, enum xfer_err code)
{
	u->code = code;
	u->msg = xstrdup(xfer_error(xf));
}

/*
 * The remote file has the manifest's size: download it and compare the
 * SHA-256 too, so a foreign file of the same size (a fixed-width file with
 * as many records, a sequence number reused after a restore) is never
 * taken for this run's. A server that does not let us read it back leaves
 * the size as the only check.
 */
static void
upload_verify(struct dctx *x, struct xfer *xf, struct upload *u)
{
	char *dir, *copy, hex[DELIVER_SHA256_HEX], *err = NULL;
	enum xfer_err e;
	int64_t size;

	u->code = XFER_OK;
	u->found = true;
	if ((dir = deliver_data_path(x->env, &err, "spool", x->d.run_id)) ==
	    NULL) {
		u->code = XFER_ERR_LOCAL;
		u->msg = err;
		return;
	}
	copy = xasprintf("%s/.remote-copy", dir);
	e = xfer_get(xf, x->d.remote_name, copy);
	if (e == XFER_ERR_PERM || e == XFER_ERR_NOTFOUND)
		log_info(
		    "deliver: run %s: %s is at %s with the manifest's size; "
		    "not readable to compare its SHA-256 (%s), taken as "
		    "this run's",
		    x->d.run_id, x->d.remote_name, x->d.destination,
		    xfer_error(xf));
	else if (e != XFER_OK)
		upload_err(u, xf, e);
	else if (deliver_hash_file(copy, hex, &size, &err) == -1) {
		u->code = XFER_ERR_LOCAL;
		u->msg = err;
	} else if (strcmp(hex, x->d.sha256) != 0) {
		u->code = XFER_ERR_EXISTS;
		u->msg = xasprintf("%s already exists at %s with the size of "
		                   "this run's file but another SHA-256 (%s, "
		                   "not %s); refusing to overwrite it",
		                   x->d.remote_name, x->d.destination, hex,
		                   x->d.sha256);
	}
	if (u->code != XFER_OK)
		u->found = false;
	unlink(copy);
	free(copy);
	free(dir);
}

/* A file named like ours is at the destination: ours, or a collision? */
static void
upload_exists(struct dctx *x, struct xfer *xf, struct upload *u,
              const struct xfer_stat *rs)
{
	if (rs->size == x->d.size && x->d.sha256 != NULL) {
		upload_verify(x, xf, u);
		return;
	}
	if (rs->size == x->d.size) {
		u->code = XFER_OK;
		u->found = true;
		return;
	}
	u->code = XFER_ERR_EXISTS;
	u->msg = xasprintf("%s already exists at %s with %lld bytes, not the "
	                   "%lld bytes of this run's file; refusing to "
	                   "overwrite it",
	                   x->d.remote_name, x->d.destination,
	                   (long long)rs->size, (long long)x->d.size);
}

/* The staged file and the final name are both gone: it was renamed into
 * place and the vendor has taken it since. */
static void
upload_taken(struct dctx *x, struct upload *u, const char *tmp)
{
	log_info("deliver: run %s: %s was renamed to %s before the last "
	         "attempt ended and is no longer at %s (taken by the vendor); "
	         "not sending it again",
	         x->d.run_id, tmp, x->d.remote_name, x->d.destination);
	u->code = XFER_OK;
	u->found = true;
}

/* Staged file tmp -> the final name. */
static void
upload_rename(struct dctx *x, struct xfer *xf, const char *tmp,
              struct upload *u)
{
	struct xfer_stat rs;
	enum xfer_err e = xfer_rename(xf, tmp, x->d.remote_name);

	if (e == XFER_OK)
		deliver_crash_point("after_rename");
	else if (e == XFER_ERR_EXISTS &&
	         xfer_stat(xf, x->d.remote_name, &rs) == XFER_OK)
		upload_exists(x, xf, u, &rs);
	else if (e == XFER_ERR_NOTFOUND) /* a lost reply, then taken */
		upload_taken(x, u, tmp);
	else
		upload_err(u, xf, e);
}

/* Names too long to stage are put directly (upload and rename in one). */
static bool
can_stage(const char *name)
{
	return strlen(name) + 2 * sizeof(".XXXXXXXX.part") <= XFER_NAME_MAX;
}

static char *
discarded_path(const struct deliver_env *env, const char *feed)
{
	char *name = xasprintf(".discarded.%s", feed);
	char *path = spool_path(env, name);

	free(name);
	return path;
}

/*
 * Uploads that discarded runs of the feed left staged on this server
 * (deliver_discarded() lists them): ours to remove, and only dot names.
 * The list goes once every name is gone.
 */
static void
remove_discarded(struct dctx *x, struct xfer *xf)
{
	char *path = discarded_path(x->env, x->d.feed);
	char line[XFER_NAME_MAX + 2];
	bool all = true;
	enum xfer_err e;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL) {
		free(path);
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] != '.' || strchr(line, '/') != NULL)
			continue;
		if ((e = xfer_remove(xf, line)) == XFER_OK)
			log_info("deliver: removed %s, staged by a discarded "
			         "run of %s",
			         line, x->d.feed);
		else if (e != XFER_ERR_NOTFOUND)
			all = false;
	}
	fclose(f);
	if (all)
		unlink(path);
	free(path);
}

/* No marker: upload under a staged name, record it, rename. */
static void
upload_fresh(struct dctx *x, struct xfer *xf, const char *local,
             struct upload *u)
{
	struct xfer_stat rs;
	char *tmp, *err = NULL;
	enum xfer_err e;

	remove_leftovers(xf, x->d.remote_name);
	remove_discarded(x, xf);
	if (!can_stage(x->d.remote_name)) {
		e = xfer_put(xf, local, x->d.remote_name);
		if (e == XFER_OK)
			deliver_crash_point("after_rename");
		if (e == XFER_ERR_EXISTS &&
		    xfer_stat(xf, x->d.remote_name, &rs) == XFER_OK)
			upload_exists(x, xf, u, &rs);
		else if (e != XFER_OK)
			upload_err(u, xf, e);
		return;
	}
	tmp = xfer_temp_name(x->d.remote_name);
	if ((e = xfer_put(xf, local, tmp)) != XFER_OK)
		upload_err(u, xf, e);
	else if (stage_write(x, tmp, &err) == -1) {
		u->code = XFER_ERR_LOCAL;
		u->msg = err;
		xfer_remove(xf, tmp);
	} else {
		deliver_crash_point("uploaded");
		upload_rename(x, xf, tmp, u);
	}
	free(tmp);
}

/* A marker from an earlier attempt: finish that upload, never repeat it. */
static void
upload_resume(struct dctx *x, struct xfer *xf, const char *local,
              const char *tmp, struct upload *u)
{
	struct xfer_stat ts;
	enum xfer_err e = xfer_stat(xf, tmp, &ts);

	if (e == XFER_OK && ts.size == x->d.size)
		upload_rename(x, xf, tmp, u);
	else if (e == XFER_ERR_NOTFOUND)
		upload_taken(x, u, tmp);
	else if (e != XFER_OK)
		upload_err(u, xf, e);
	else { /* not what we staged (changed on the server): start over */
		xfer_remove(xf, tmp);
		stage_clear(x);
		upload_fresh(x, xf, local, u);
	}
}

static void
upload(struct dctx *x, const char *local, struct upload *u)
{
	struct xfer_opts o;
	struct xfer_stat rs;
	struct xfer *xf = NULL;
	enum xfer_err e;
	char *tmp;

	deliver_xfer_opts(x->f, x->d.destination, &o);
	o.cancel = x->env->cancel;
	if ((e = xfer_open(&o, &xf, &u->msg)) != XFER_OK) {
		u->code = e;
		if (u->msg == NULL)
			u->msg = xasprintf("%s: %s", x->d.destination,
			                   xfer_strerror(e));
		return;
	}
	/* A crash (or a lost reply) after the rename: it is already there. */
	e = xfer_stat(xf, x->d.remote_name, &rs);
	if (e == XFER_OK)
		upload_exists(x, xf, u, &rs);
	else if (e != XFER_ERR_NOTFOUND)
		upload_err(u, xf, e);
	else if ((tmp = stage_read(x)) != NULL) {
		upload_resume(x, xf, local, tmp, u);
		free(tmp);
	} else
		upload_fresh(x, xf, local, u);
	xfer_close(xf);
}

/* A retryable failure: wait, or give up when the retries are spent. */
static int
dl_retry(struct dctx *x, int64_t n, const char *msg)
{
	char at[32];
	uint32_t delay;

	if (x->d.attempts > (int64_t)x->f->retries_max) {
		store_deliver_attempt_end(x->st, x->d.run_id, n,
		                          STORE_ATTEMPT_FAILED, msg);
		return dl_fail(x, "gave up after %lld attempts: %s",
		               (long long)x->d.attempts, msg);
	}
	store_deliver_attempt_end(x->st, x->d.run_id, n, STORE_ATTEMPT_RETRY,
	                          msg);
	delay =
	    xfer_backoff_ms((unsigned)(x->d.attempts - 1), x->f->retry_base_ms,
	                    x->f->retry_cap_ms, xfer_random32());
	deliver_fmt_time(deliver_now_ms() + delay, at, sizeof(at));
	set_str(&x->d.next_attempt_at, at);
	set_str(&x->d.last_error, msg);
	if (dl_move(x, STORE_DELIVER_UPLOADING, NULL) == -1)
		return STEP_FAIL;
	x->retry_in_ms = delay;
	free(x->cause);
	x->cause =
	    xasprintf("attempt %lld of %u failed: %s", (long long)x->d.attempts,
	              x->f->retries_max + 1, msg);
	return STEP_RETRY;
}

/* uploading -> delivered: one attempt. */
static int
step_upload(struct dctx *x)
{
	const char *local =
	    x->d.enc_path != NULL ? x->d.enc_path : x->d.plain_path;
	struct upload u = {XFER_OK, NULL, false};
	char hex[65], *note;
	int64_t n, size;
	int rc;

	rc = check_file(x, local, "file to send", x->d.size, x->d.sha256, hex,
	                &size);
	if (rc != STEP_NEXT)
		return rc;
	if (store_deliver_attempt_begin(x->st, x->d.run_id, &n) != STORE_OK) {
		x->cause = xasprintf("run %s: recording the attempt failed",
		                     x->d.run_id);
		return STEP_FAIL;
	}
	x->d.attempts++;
	upload(x, local, &u);
	if (u.code == XFER_ERR_CANCELLED) {
		/* The worker is stopping: as if the process had died here. */
		store_deliver_attempt_end(x->st, x->d.run_id, n,
		                          STORE_ATTEMPT_INTERRUPTED, u.msg);
		free(x->cause);
		x->cause = u.msg != NULL ? u.msg : xstrdup("stopped");
		x->retry_in_ms = 0;
		return STEP_RETRY;
	}
	if (u.code != XFER_OK) {
		if (xfer_retryable(u.code))
			rc = dl_retry(x, n, u.msg);
		else {
			store_deliver_attempt_end(x->st, x->d.run_id, n,
			                          STORE_ATTEMPT_FAILED, u.msg);
			rc = dl_fail(
			    x, "%s%s", u.msg,
			    u.code == XFER_ERR_HOSTKEY
			        ? " (if the vendor really changed its "
			          "host key, confirm the new fingerprint "
			          "with them and update host_key_sha256)"
			        : "");
		}
		free(u.msg);
		return rc;
	}
	store_deliver_attempt_end(
	    x->st, x->d.run_id, n,
	    u.found ? STORE_ATTEMPT_FOUND : STORE_ATTEMPT_SENT, NULL);
	set_str(&x->d.next_attempt_at, NULL);
	set_str(&x->d.last_error, NULL);
	note = xasprintf("%s %s (%lld bytes, sha256 %s)%s",
	                 u.found ? "found" : "sent", x->d.remote_name,
	                 (long long)x->d.size, x->d.sha256,
	                 u.found ? "; already at the destination, not sent "
	                           "again"
	                         : "");
	rc = dl_move(x, STORE_DELIVER_DELIVERED, note) == 0 ? STEP_DONE
	                                                    : STEP_FAIL;
	free(note);
	return rc;
}

/* Remove every entry of the spool directory dir, then dir. */
static int
spool_remove(const char *dir, char **cause)
{
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		*cause = xasprintf("%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == -1 &&
		    errno != ENOENT && rc == 0) {
			*cause = xasprintf("%s/%s: %s", dir, de->d_name,
			                   strerror(errno));
			rc = -1;
		}
	}
	closedir(d);
	if (rc == 0 && rmdir(dir) == -1 && errno != ENOENT) {
		*cause = xasprintf("%s: %s", dir, strerror(errno));
		rc = -1;
	}
	return rc;
}

/* After delivery the spool (encrypted copy, stage marker) has served. */
static void
clean_spool(struct dctx *x)
{
	char *dir = spool_dir(x), *err = NULL;

	if (spool_remove(dir, &err) == -1)
		log_warnx("deliver: removing the spool: %s", err);
	free(err);
	free(dir);
}

static int
dl_steps(struct dctx *x)
{
	const char *s;
	int rc = STEP_NEXT;

	while (rc == STEP_NEXT) {
		s = x->d.state;
		if (strcmp(s, STORE_DELIVER_RENDERED) == 0)
			rc = step_rendered(x);
		else if (strcmp(s, STORE_DELIVER_ENCRYPTED) == 0)
			rc = step_encrypted(x);
		else if (strcmp(s, STORE_DELIVER_UPLOADING) == 0)
			rc = step_upload(x);
		else if (strcmp(s, STORE_DELIVER_FAILED) == 0) {
			x->cause = xasprintf(
			    "run %s failed: %s", x->d.run_id,
			    x->d.last_error != NULL ? x->d.last_error : "?");
			rc = STEP_FAIL;
		} else
			rc = STEP_DONE; /* delivered, acknowledged */
	}
	if (rc == STEP_DONE)
		clean_spool(x);
	return rc == STEP_DONE ? 0 : rc == STEP_RETRY ? 1 : -1;
}

/* Load the run and its delivery, creating the delivery if need be. */
static int
dl_load(struct dctx *x, const struct deliver_config *dc, const char *run_id)
{
	int rc;

	rc = store_feed_run_get(x->st, run_id, &x->run);
	if (rc != STORE_OK) {
		x->cause = xasprintf(
		    rc == STORE_NOTFOUND ? "no run %s" : "cannot read run %s",
		    run_id);
		return -1;
	}
	if ((x->f = deliver_feed_find(dc, x->run.feed)) == NULL) {
		x->cause = xasprintf("feed %s has no entry in the delivery "
		                     "section of the configuration",
		                     x->run.feed);
		return -1;
	}
	rc = store_deliver_get(x->st, run_id, &x->d);
	if (rc == STORE_NOTFOUND)
		return dl_start(x);
	if (rc != STORE_OK) {
		x->cause =
		    xasprintf("cannot read the delivery of run %s", run_id);
		return -1;
	}
	return 0;
}

int
deliver_run(struct store *st, const struct deliver_config *dc,
            const struct deliver_env *env, const char *run_id,
            int64_t *retry_in_ms, char **cause)
{
	struct dctx x = {.st = st, .env = env};
	int rc, lock = -1;

	*retry_in_ms = 0;
	*cause = NULL;
	if ((rc = store_feed_run_get(st, run_id, &x.run)) == STORE_OK) {
		lock = deliver_lock(env, x.run.feed, &x.cause);
		if (lock == -2) {
			x.cause = xasprintf("feed %s is being delivered by "
			                    "another worker; try again later",
			                    x.run.feed);
			x.retry_in_ms = DELIVER_RETRY_BASE_MS_DEFAULT;
			rc = 1;
			goto out;
		}
		if (lock == -1) {
			rc = -1;
			goto out;
		}
	}
	/* Read again under the lock: another worker may have moved it. */
	store_feed_run_clear(&x.run);
	if ((rc = dl_load(&x, dc, run_id)) == 0)
		rc = dl_steps(&x);
	else if (rc == 1) /* a person must act first: look again rarely */
		x.retry_in_ms =
		    x.blocked ? x.f->retry_cap_ms : x.f->retry_base_ms;
out:
	deliver_unlock(lock);
	*retry_in_ms = x.retry_in_ms;
	*cause = x.cause;
	store_feed_run_clear(&x.run);
	store_delivery_clear(&x.d);
	return rc;
}

/* Why a failed delivery may not start again (its run was discarded). */
static char *
retry_refused(struct store *st, const char *run_id)
{
	struct store_feed_run run;
	char *why = NULL;

	if (store_feed_run_get(st, run_id, &run) != STORE_OK)
		return xasprintf("cannot read run %s", run_id);
	if (strcmp(run.state, STORE_FEED_DISCARDED) == 0)
		why = xasprintf("run %s is discarded; its changes go out with "
		                "the feed's next run",
		                run_id);
	store_feed_run_clear(&run);
	return why;
}

int
deliver_retry(struct store *st, const char *run_id, char **cause)
{
	struct store_delivery d;
	char *from;
	int rc;

	*cause = NULL;
	if ((rc = store_deliver_get(st, run_id, &d)) != STORE_OK) {
		*cause = xasprintf(rc == STORE_NOTFOUND
		                       ? "run %s has no delivery"
		                       : "cannot read the delivery of run %s",
		                   run_id);
		return -1;
	}
	if (strcmp(d.state, STORE_DELIVER_FAILED) != 0) {
		*cause = xasprintf("the delivery of run %s is %s, not failed",
		                   run_id, d.state);
		store_delivery_clear(&d);
		return -1;
	}
	if ((*cause = retry_refused(st, run_id)) != NULL) {
		store_delivery_clear(&d);
		return -1;
	}
	from = d.state;
	d.state = xstrdup(d.failed_from != NULL ? d.failed_from
	                                        : STORE_DELIVER_RENDERED);
	d.attempts = 0;
	set_str(&d.next_attempt_at, NULL);
	rc = store_deliver_advance(st, &d, from, "retry after failure");
	/* Discarded meanwhile: the store refuses to move its delivery. */
	if (rc == STORE_CONFLICT)
		*cause = retry_refused(st, run_id);
	if (rc != STORE_OK && *cause == NULL)
		*cause = xasprintf(rc == STORE_CONFLICT
		                       ? "feed %s has another delivery in "
		                         "progress"
		                       : "cannot record the retry of feed %s",
		                   d.feed);
	free(from);
	store_delivery_clear(&d);
	return rc == STORE_OK ? 0 : -1;
}

struct pending {
	const struct deliver_config *dc;
	char **v;
	size_t n;
};

static int
pending_cb(const char *run_id, const char *feed, void *arg)
{
	struct pending *p = arg;

	if (deliver_feed_find(p->dc, feed) == NULL)
		return 0;
	p->v = xrealloc(p->v, (p->n + 2) * sizeof(*p->v));
	p->v[p->n++] = xstrdup(run_id);
	p->v[p->n] = NULL;
	return 0;
}

char **
deliver_pending(struct store *st, const struct deliver_config *dc)
{
	struct pending p = {dc, NULL, 0};

	if (store_deliver_pending(st, pending_cb, &p) != STORE_OK) {
		deliver_list_free(p.v);
		return NULL;
	}
	if (p.v == NULL)
		p.v = xcalloc(1, sizeof(*p.v));
	return p.v;
}

void
deliver_list_free(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

void
deliver_stop_agent(const struct deliver_env *env)
{
	char *home, *cause = NULL;
	struct pgp *pgp;
	int lock;

	if (env->data_dir == NULL)
		return;
	home = xasprintf("%s/gnupg", env->data_dir);
	/* Not under another process's feet: it may be encrypting. */
	if (access(home, F_OK) == 0 &&
	    (lock = deliver_gnupg_lock(env, &cause)) != -1) {
		if ((pgp = pgp_new(home, &cause)) != NULL) {
			pgp_stop_agent(pgp, NULL);
			pgp_free(pgp);
		}
		deliver_unlock(lock);
	}
	free(cause);
	free(home);
}

/* Remember a staged upload for the feed's next delivery to remove. */
static int
discarded_add(const struct deliver_env *env, const char *feed, const char *name,
              char **cause)
{
	char *path = discarded_path(env, feed), *line = xasprintf("%s\n", name);
	size_t n = strlen(line);
	int fd, rc = -1;

	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd != -1 && write(fd, line, n) == (ssize_t)n && fsync(fd) == 0)
		rc = 0;
	else
		*cause = xasprintf("%s: %s", path, strerror(errno));
	if (fd != -1)
		close(fd);
	free(line);
	free(path);
	return rc;
}

int
deliver_discarded(const struct deliver_env *env, const char *feed,
                  const char *run_id, char **staged, char **cause)
{
	char *dir;
	int lock, rc;

	*staged = NULL;
	*cause = NULL;
	if ((lock = deliver_lock(env, feed, cause)) < 0)
		return lock == -2 ? 1 : -1;
	dir = spool_path(env, run_id);
	*staged = stage_read_path(dir);
	rc = *staged != NULL ? discarded_add(env, feed, *staged, cause) : 0;
	if (rc == 0)
		rc = spool_remove(dir, cause);
	free(dir);
	deliver_unlock(lock);
	return rc;
}
