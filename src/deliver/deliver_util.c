/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* Delivery helpers: data directory paths, hashing, feed locks, key ring. */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deliver/deliver_util.h"
#include "util/buf.h"
#include "util/sha256.h"
#include "util/xmalloc.h"

int
deliver_hash_file(const char *path, char hex[DELIVER_SHA256_HEX], int64_t *size,
                  char **cause)
{
	int fd, err;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		err = errno;
		*cause = xasprintf("%s: %s", path, strerror(err));
		errno = err;
		return -1;
	}
	if (sha256_fd(fd, hex, size) == -1) {
		err = errno;
		close(fd);
		*cause = xasprintf("reading %s: %s", path, strerror(err));
		errno = err;
		return -1;
	}
	close(fd);
	return 0;
}

static int
mkdir_0700(const char *path, char **cause)
{
	struct stat sb;

	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno == EEXIST && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
		return 0;
	*cause = xasprintf("cannot create directory %s: %s", path,
	                   strerror(errno == EEXIST ? ENOTDIR : errno));
	return -1;
}

char *
deliver_data_path(const struct deliver_env *env, char **cause, const char *a,
                  const char *b)
{
	struct buf p;

	buf_init(&p, 0);
	buf_addstr(&p, env->data_dir != NULL ? env->data_dir : ".");
	buf_addf(&p, "/%s", a);
	if (mkdir_0700(buf_str(&p), cause) == -1) {
		buf_free(&p);
		return NULL;
	}
	if (b != NULL) {
		buf_addf(&p, "/%s", b);
		if (mkdir_0700(buf_str(&p), cause) == -1) {
			buf_free(&p);
			return NULL;
		}
	}
	return buf_detach(&p);
}

static int
lock_open(const struct deliver_env *env, const char *name, char **cause)
{
	char *dir, *path;
	int fd;

	if ((dir = deliver_data_path(env, cause, "locks", NULL)) == NULL)
		return -1;
	path = xasprintf("%s/%s.lock", dir, name);
	free(dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		*cause = xasprintf("cannot open lock file %s: %s", path,
		                   strerror(errno));
	free(path);
	return fd;
}

/* The lock file `name`, locked: waiting for it, or -2 when it is held. */
static int
lock_take(const struct deliver_env *env, const char *name, bool wait,
          char **cause)
{
	int fd, err;

	if ((fd = lock_open(env, name, cause)) == -1)
		return -1;
	while (flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) == -1) {
		if ((err = errno) == EINTR)
			continue;
		close(fd);
		if (err == EWOULDBLOCK)
			return -2;
		*cause = xasprintf("cannot lock %s: %s", name, strerror(err));
		return -1;
	}
	return fd;
}

int
deliver_lock_wait(const struct deliver_env *env, const char *name, char **cause)
{
	return lock_take(env, name, true, cause);
}

int
deliver_lock(const struct deliver_env *env, const char *name, char **cause)
{
	return lock_take(env, name, false, cause);
}

int
deliver_gnupg_lock(const struct deliver_env *env, char **cause)
{
	return deliver_lock_wait(env, ".gnupg", cause);
}

void
deliver_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

struct pgp *
deliver_pgp_open(const struct deliver_env *env, char **cause)
{
	struct pgp *pgp;
	char *home;

	if (env->data_dir == NULL) {
		*cause = xstrdup("no data directory for rosterd's key ring");
		return NULL;
	}
	home = xasprintf("%s/gnupg", env->data_dir);
	pgp = pgp_new(home, cause);
	free(home);
	return pgp;
}

void
deliver_xfer_opts(const struct deliver_feed *f, const char *url,
                  struct xfer_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->url = url;
	o->private_key = f->ssh_key;
	o->public_key = f->ssh_public_key;
	o->host_fingerprint = f->host_key_sha256;
	o->connect_timeout_ms = f->connect_ms;
	o->low_speed_limit = XFER_LOW_SPEED_LIMIT_DEFAULT;
	o->low_speed_time = f->stall_s;
	o->file_mode = f->remote_mode;
}

int64_t
deliver_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
deliver_fmt_time(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	char day[24];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", day, (int)(ms % 1000));
}

void
deliver_crash_point(const char *point)
{
	const char *v = getenv("ROSTERD_TEST_CRASH_AT");

	if (v != NULL && strcmp(v, point) == 0) {
		fprintf(stderr, "rosterd: ROSTERD_TEST_CRASH_AT=%s: exiting\n",
		        point);
		_exit(137);
	}
}
