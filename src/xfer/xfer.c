/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* Transfer front end: backend choice by URL, errors, names, backoff. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "xfer/xfer.h"
#include "xfer/xfer_dir.h"
#include "xfer/xfer_sftp.h"

#define XFER_MSG_MAX 4096

static const struct {
	const char *prefix;
	const struct xfer_ops *ops;
} xfer_schemes[] = {
    {"sftp://", &xfer_sftp_ops},
    {"dir:", &xfer_dir_ops},
};

static const char *const xfer_err_names[] = {
    [XFER_OK] = "ok",
    [XFER_ERR_CONFIG] = "configuration",
    [XFER_ERR_HOSTKEY] = "host key",
    [XFER_ERR_AUTH] = "authentication",
    [XFER_ERR_CONNECT] = "connect",
    [XFER_ERR_TIMEOUT] = "timeout",
    [XFER_ERR_EXISTS] = "exists",
    [XFER_ERR_NOTFOUND] = "not found",
    [XFER_ERR_PERM] = "permission denied",
    [XFER_ERR_IO] = "transfer failed",
    [XFER_ERR_LOCAL] = "local file",
    [XFER_ERR_CANCELLED] = "stopped",
};

struct xfer_cancel {
	pthread_mutex_t mu;
	atomic_bool fired;
	int *fds; /* open sockets of the token's handles, under mu */
	size_t n;
};

struct xfer_cancel *
xfer_cancel_new(void)
{
	struct xfer_cancel *c = xcalloc(1, sizeof(*c));

	pthread_mutex_init(&c->mu, NULL);
	atomic_init(&c->fired, false);
	return c;
}

void
xfer_cancel_free(struct xfer_cancel *c)
{
	if (c == NULL)
		return;
	pthread_mutex_destroy(&c->mu);
	free(c->fds);
	free(c);
}

void
xfer_cancel_fire(struct xfer_cancel *c)
{
	size_t i;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	atomic_store(&c->fired, true);
	for (i = 0; i < c->n; i++)
		shutdown(c->fds[i], SHUT_RDWR); /* wakes its poll() */
	pthread_mutex_unlock(&c->mu);
}

bool
xfer_cancel_fired(struct xfer_cancel *c)
{
	return c != NULL && atomic_load(&c->fired);
}

int
xfer_cancel_socket(struct xfer_cancel *c, int fd)
{
	if (c == NULL)
		return fd;
	pthread_mutex_lock(&c->mu);
	if (atomic_load(&c->fired)) {
		close(fd);
		fd = -1;
	} else {
		c->fds = xrealloc(c->fds, (c->n + 1) * sizeof(*c->fds));
		c->fds[c->n++] = fd;
	}
	pthread_mutex_unlock(&c->mu);
	return fd;
}

int
xfer_cancel_close(struct xfer_cancel *c, int fd)
{
	size_t i;
	int rc;

	if (c == NULL)
		return close(fd);
	pthread_mutex_lock(&c->mu);
	for (i = 0; i < c->n; i++)
		if (c->fds[i] == fd) {
			c->fds[i] = c->fds[--c->n];
			break;
		}
	rc = close(fd);
	pthread_mutex_unlock(&c->mu);
	return rc;
}

const char *
xfer_strerror(enum xfer_err e)
{
	if ((size_t)e >= sizeof(xfer_err_names) / sizeof(xfer_err_names[0]) ||
	    xfer_err_names[e] == NULL)
		return "unknown";
	return xfer_err_names[e];
}

bool
xfer_retryable(enum xfer_err e)
{
	return e == XFER_ERR_CONNECT || e == XFER_ERR_TIMEOUT ||
	       e == XFER_ERR_IO;
}

enum xfer_err
xfer_fail(struct xfer *x, enum xfer_err code, const char *fmt, ...)
{
	struct buf b;
	va_list ap;

	buf_init(&b, XFER_MSG_MAX);
	buf_addf(&b, "%s: ", x->where);
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	free(x->msg);
	x->msg = b.failed ? xstrdup("error message too long") : buf_detach(&b);
	x->code = code;
	return code;
}

const char *
xfer_error(const struct xfer *x)
{
	return x->msg != NULL ? x->msg : "";
}

const char *
xfer_strerrno(int err, char *buf, size_t len)
{
	/* GNU strerror_r: thread-safe, may return a static string. */
	return strerror_r(err, buf, len);
}

enum xfer_err
xfer_errno_code(int err)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:
		return XFER_ERR_NOTFOUND;
	case EACCES:
	case EPERM:
	case EROFS:
		return XFER_ERR_PERM;
	case EEXIST:
	case ENOTEMPTY:
		return XFER_ERR_EXISTS;
	default:
		return XFER_ERR_IO;
	}
}

enum xfer_err
xfer_check_name(struct xfer *x, const char *name)
{
	const unsigned char *p;
	size_t len;

	if (name == NULL || *name == '\0')
		return xfer_fail(x, XFER_ERR_CONFIG, "empty file name");
	len = strlen(name);
	if (len > XFER_NAME_MAX)
		return xfer_fail(x, XFER_ERR_CONFIG,
		                 "file name longer than %d bytes",
		                 XFER_NAME_MAX);
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return xfer_fail(x, XFER_ERR_CONFIG, "bad file name \"%s\"",
		                 name);
	for (p = (const unsigned char *)name; *p; p++)
		if (*p == '/' || *p < 0x20 || *p == 0x7f)
			return xfer_fail(x, XFER_ERR_CONFIG,
			                 "file name must be one path component "
			                 "without control characters");
	return XFER_OK;
}

uint32_t
xfer_random32(void)
{
	uint32_t v;
	ssize_t n;

	do
		n = getrandom(&v, sizeof(v), 0);
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof(v))
		fatal("%s: getrandom", __func__);
	return v;
}

char *
xfer_temp_name(const char *name)
{
	/* Dot first so that fnmatch patterns and vendor pickups skip it; the
	 * random part keeps a crashed attempt's leftover out of the way. */
	return xasprintf(".%s.%08x.part", name, (unsigned)xfer_random32());
}

uint32_t
xfer_backoff_ms(unsigned attempt, uint32_t base_ms, uint32_t cap_ms,
                uint32_t rnd)
{
	uint64_t ceil = base_ms < cap_ms ? base_ms : cap_ms;
	unsigned i;

	for (i = 0; i < attempt && ceil != 0 && ceil < cap_ms; i++)
		ceil *= 2;
	if (ceil > cap_ms)
		ceil = cap_ms;
	/* Full jitter (AWS architecture blog, "Exponential Backoff and
	 * Jitter"): uniform in [0, ceil], so retrying clients spread out. */
	return (uint32_t)(ceil * rnd / UINT32_MAX);
}

/* The URL for messages, without a password ("user:***@host"): secrets
 * never reach a message or a log. */
static char *
xfer_redact(const char *url)
{
	const char *auth = strstr(url, "://"), *end, *at, *colon;
	struct buf b;

	if (auth == NULL)
		return xstrdup(url);
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	at = memrchr(auth, '@', (size_t)(end - auth));
	colon = at != NULL ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	if (colon == NULL)
		return xstrdup(url);
	buf_init(&b, 0);
	buf_add(&b, url, (size_t)(colon - url));
	buf_addstr(&b, ":***");
	buf_addstr(&b, at);
	return buf_detach(&b);
}

enum xfer_err
xfer_open_ops(const struct xfer_ops *ops, const struct xfer_opts *opts,
              struct xfer **out, char **cause)
{
	struct xfer *x;
	enum xfer_err e;

	*out = NULL;
	x = xcalloc(1, sizeof(*x));
	x->ops = ops;
	x->where = xfer_redact(opts->url != NULL ? opts->url : "(no url)");
	e = ops->open(x, opts);
	if (e != XFER_OK) {
		*cause = xstrdup(xfer_error(x));
		xfer_close(x);
		return e;
	}
	*out = x;
	return XFER_OK;
}

enum xfer_err
xfer_open(const struct xfer_opts *opts, struct xfer **out, char **cause)
{
	char *where;
	size_t i, n;

	*out = NULL;
	if (opts->url == NULL || *opts->url == '\0') {
		*cause = xstrdup("no destination URL configured");
		return XFER_ERR_CONFIG;
	}
	for (i = 0; i < sizeof(xfer_schemes) / sizeof(xfer_schemes[0]); i++) {
		n = strlen(xfer_schemes[i].prefix);
		if (strncmp(opts->url, xfer_schemes[i].prefix, n) == 0)
			return xfer_open_ops(xfer_schemes[i].ops, opts, out,
			                     cause);
	}
	where = xfer_redact(opts->url);
	*cause = xasprintf("%s: unsupported destination (use sftp://user@host"
	                   "[:port]/dir or dir:/path)",
	                   where);
	free(where);
	return XFER_ERR_CONFIG;
}

void
xfer_close(struct xfer *x)
{
	if (x == NULL)
		return;
	x->ops->close(x);
	free(x->where);
	free(x->msg);
	free(x);
}

/* Entry points: clear the last error, then dispatch. */
static void
xfer_begin(struct xfer *x)
{
	xfree(x->msg);
	x->code = XFER_OK;
}

/* A successful call leaves no message, whatever its inner steps said. */
static enum xfer_err
xfer_end(struct xfer *x, enum xfer_err e)
{
	if (e == XFER_OK)
		xfer_begin(x);
	return e;
}

enum xfer_err
xfer_put(struct xfer *x, const char *local_path, const char *name)
{
	enum xfer_err e;

	xfer_begin(x);
	if ((e = xfer_check_name(x, name)) != XFER_OK)
		return e;
	return xfer_end(x, x->ops->put(x, local_path, name));
}

enum xfer_err
xfer_rename(struct xfer *x, const char *from, const char *to)
{
	enum xfer_err e;

	xfer_begin(x);
	if ((e = xfer_check_name(x, from)) != XFER_OK ||
	    (e = xfer_check_name(x, to)) != XFER_OK)
		return e;
	return xfer_end(x, x->ops->rename(x, from, to));
}

enum xfer_err
xfer_stat(struct xfer *x, const char *name, struct xfer_stat *st)
{
	enum xfer_err e;

	xfer_begin(x);
	st->size = 0;
	st->mtime = -1;
	if ((e = xfer_check_name(x, name)) != XFER_OK)
		return e;
	return xfer_end(x, x->ops->stat(x, name, st));
}

enum xfer_err
xfer_list(struct xfer *x, const char *pattern, struct xfer_list *out)
{
	out->names = NULL;
	out->n = 0;
	xfer_begin(x);
	if (pattern == NULL)
		pattern = "*";
	if (*pattern == '\0' || strchr(pattern, '/') != NULL)
		return xfer_fail(x, XFER_ERR_CONFIG,
		                 "list pattern must be one non-empty path "
		                 "component");
	return xfer_end(x, x->ops->list(x, pattern, out));
}

enum xfer_err
xfer_get(struct xfer *x, const char *name, const char *local_path)
{
	enum xfer_err e;

	xfer_begin(x);
	if ((e = xfer_check_name(x, name)) != XFER_OK)
		return e;
	return xfer_end(x, x->ops->get(x, name, local_path));
}

enum xfer_err
xfer_remove(struct xfer *x, const char *name)
{
	enum xfer_err e;

	xfer_begin(x);
	if ((e = xfer_check_name(x, name)) != XFER_OK)
		return e;
	return xfer_end(x, x->ops->remove(x, name));
}

void
xfer_list_free(struct xfer_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->names[i]);
	xfree(l->names);
	l->n = 0;
}

/* --- Local atomic file ------------------------------------------------- */

enum xfer_err
xfer_sink_open(struct xfer *x, struct xfer_sink *s, const char *path)
{
	const char *slash;
	char *dir, ebuf[128];
	int err;

	memset(s, 0, sizeof(*s));
	s->fd = s->dirfd = -1;
	s->path = path;
	slash = strrchr(path, '/');
	if (slash == NULL)
		dir = xstrdup(".");
	else if (slash == path)
		dir = xstrdup("/");
	else
		dir = xstrndup(path, (size_t)(slash - path));
	s->base = xstrdup(slash != NULL ? slash + 1 : path);
	if (*s->base == '\0') {
		free(dir);
		xfer_sink_abort(s);
		return xfer_fail(x, XFER_ERR_LOCAL, "%s: not a file name",
		                 path);
	}
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	err = errno;
	free(dir);
	if (s->dirfd == -1)
		goto fail;
	s->tmp = xfer_temp_name(s->base);
	s->fd = openat(s->dirfd, s->tmp,
	               O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	err = errno;
	if (s->fd == -1)
		goto fail;
	return XFER_OK;
fail:
	xfer_sink_abort(s);
	return xfer_fail(x, XFER_ERR_LOCAL, "%s: %s", path,
	                 xfer_strerrno(err, ebuf, sizeof(ebuf)));
}

int
xfer_sink_write(struct xfer_sink *s, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	if (s->err != 0)
		return -1;
	while (n > 0) {
		w = write(s->fd, c, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1) {
			s->err = errno;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

enum xfer_err
xfer_sink_commit(struct xfer *x, struct xfer_sink *s)
{
	char ebuf[128];
	int err = s->err;

	if (err == 0 && fsync(s->fd) == -1)
		err = errno;
	if (close(s->fd) == -1 && err == 0)
		err = errno;
	s->fd = -1;
	if (err == 0 && renameat(s->dirfd, s->tmp, s->dirfd, s->base) == -1)
		err = errno;
	if (err != 0) {
		xfer_sink_abort(s);
		return xfer_fail(x, XFER_ERR_LOCAL, "%s: %s", s->path,
		                 xfer_strerrno(err, ebuf, sizeof(ebuf)));
	}
	xfree(s->tmp); /* renamed: nothing left to remove */
	err = fsync(s->dirfd) == -1 ? errno : 0;
	xfer_sink_abort(s);
	if (err != 0)
		return xfer_fail(x, XFER_ERR_LOCAL, "%s: fsync directory: %s",
		                 s->path,
		                 xfer_strerrno(err, ebuf, sizeof(ebuf)));
	return XFER_OK;
}

void
xfer_sink_abort(struct xfer_sink *s)
{
	if (s->fd != -1)
		close(s->fd);
	if (s->tmp != NULL && s->dirfd != -1)
		unlinkat(s->dirfd, s->tmp, 0);
	if (s->dirfd != -1)
		close(s->dirfd);
	s->fd = s->dirfd = -1;
	xfree(s->tmp);
	xfree(s->base);
}
