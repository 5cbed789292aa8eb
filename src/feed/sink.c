/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* The file a run writes: staged, hashed, direct where possible, durable. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "feed/sink.h"
#include "util/sha256.h"
#include "util/xmalloc.h"

struct feed_sink {
	int fd;
	bool direct; /* fd has O_DIRECT */
	FILE *f;
	EVP_MD_CTX *h;
	char *blk; /* FEED_SINK_BLOCK bytes at FEED_SINK_ALIGN */
	size_t len;
	int64_t size;
	int err; /* the first failure's errno */
};

static EVP_MD_CTX *
sha256_new(void)
{
	EVP_MD_CTX *h = EVP_MD_CTX_new();

	if (h == NULL || EVP_DigestInit_ex(h, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(h);
		return NULL;
	}
	return h;
}

/* Finish h into 64 hex digits and free it. */
static int
sha256_hex(EVP_MD_CTX *h, char hex[65])
{
	unsigned char out[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	int ok = EVP_DigestFinal_ex(h, out, &n) == 1 && n == 32;

	EVP_MD_CTX_free(h);
	if (ok)
		sodium_bin2hex(hex, 65, out, 32);
	return ok ? 0 : -1;
}

/* From now on, through the page cache. */
static int
sink_buffered(struct feed_sink *s)
{
	int fl;

	if (!s->direct)
		return 0;
	s->direct = false;
	fl = fcntl(s->fd, F_GETFL);
	return fl == -1 ? -1 : fcntl(s->fd, F_SETFL, fl & ~O_DIRECT);
}

/* Write p[0..n) at the end of the file. */
static int
sink_put(struct feed_sink *s, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(s->fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		/* O_DIRECT refused after all: the page cache takes it. */
		if (w < 0 && errno == EINVAL && s->direct &&
		    sink_buffered(s) == 0)
			continue;
		if (w < 0) {
			s->err = errno;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static ssize_t
sink_write(void *cookie, const char *buf, size_t n)
{
	struct feed_sink *s = cookie;
	size_t k, done = 0;

	if (s->err != 0)
		return -1;
	if (EVP_DigestUpdate(s->h, buf, n) != 1) {
		s->err = EIO;
		return -1;
	}
	while (done < n) {
		k = FEED_SINK_BLOCK - s->len;
		if (k > n - done)
			k = n - done;
		memcpy(s->blk + s->len, buf + done, k);
		s->len += k;
		done += k;
		if (s->len == FEED_SINK_BLOCK) {
			if (sink_put(s, s->blk, s->len) == -1)
				return -1;
			s->len = 0;
		}
	}
	s->size += (int64_t)n;
	return (ssize_t)n;
}

/* The sink around fd (or -1 with errno set); it owns fd either way. */
static struct feed_sink *
sink_wrap(int fd)
{
	cookie_io_functions_t io = {.write = sink_write};
	struct feed_sink *s = xcalloc(1, sizeof(*s));
	int fl, err = 0;

	s->fd = fd;
	if (s->fd == -1 || fchmod(s->fd, 0600) == -1)
		err = errno;
	else if ((s->h = sha256_new()) == NULL)
		err = ENOSYS;
	else if ((s->f = fopencookie(s, "w", io)) == NULL)
		err = errno;
	if (err != 0) {
		feed_sink_free(s);
		errno = err;
		return NULL;
	}
	/* The sink stages whole blocks itself. */
	setvbuf(s->f, NULL, _IONBF, 0);
	s->blk = xmalloc_aligned(FEED_SINK_ALIGN, FEED_SINK_BLOCK);
	fl = fcntl(s->fd, F_GETFL);
	s->direct = fl != -1 && fcntl(s->fd, F_SETFL, fl | O_DIRECT) == 0;
	return s;
}

struct feed_sink *
feed_sink_open(int dirfd, const char *name)
{
	return sink_wrap(openat(
	    dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0600));
}

struct feed_sink *
feed_sink_open_unnamed(int dirfd)
{
	return sink_wrap(
	    openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600));
}

int
feed_sink_link(struct feed_sink *s, int dirfd, const char *name)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", s->fd);
	if (linkat(AT_FDCWD, proc, dirfd, name, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	if (errno == EEXIST)
		return -1;
	/* No /proc: the descriptor itself (needs CAP_DAC_READ_SEARCH). */
	return linkat(s->fd, "", dirfd, name, AT_EMPTY_PATH);
}

FILE *
feed_sink_file(struct feed_sink *s)
{
	return s->f;
}

/* Write what is staged: whole blocks direct, the rest buffered. */
static int
sink_tail(struct feed_sink *s)
{
	size_t whole = s->len - s->len % FEED_SINK_ALIGN;

	if (s->direct && whole > 0 && sink_put(s, s->blk, whole) == -1)
		return -1;
	if (!s->direct)
		whole = 0;
	if (whole < s->len &&
	    (sink_buffered(s) == -1 ||
	     sink_put(s, s->blk + whole, s->len - whole) == -1)) {
		if (s->err == 0)
			s->err = errno;
		return -1;
	}
	s->len = 0;
	return 0;
}

int
feed_sink_finish(struct feed_sink *s, const char *label, char hex[65],
                 int64_t *size, char **cause)
{
	FILE *f = s->f;
	int rc = -1;

	s->f = NULL;
	if (fclose(f) != 0 || s->err != 0 || sink_tail(s) == -1)
		*cause = xasprintf("%s: %s", label,
		                   strerror(s->err ? s->err : errno));
	else if (fsync(s->fd) == -1)
		*cause = xasprintf("fsync %s: %s", label, strerror(errno));
	else {
		rc = sha256_hex(s->h, hex);
		s->h = NULL; /* freed by sha256_hex() */
		if (rc == -1)
			*cause = xstrdup("SHA-256 failed");
		else
			*size = s->size;
	}
	return rc;
}

int
feed_sink_close(struct feed_sink *s, const char *label, char hex[65],
                int64_t *size, char **cause)
{
	int rc = feed_sink_finish(s, label, hex, size, cause);

	feed_sink_free(s);
	return rc;
}

void
feed_sink_free(struct feed_sink *s)
{
	if (s == NULL)
		return;
	if (s->f != NULL)
		fclose(s->f);
	if (s->fd != -1)
		close(s->fd);
	EVP_MD_CTX_free(s->h);
	free(s->blk);
	free(s);
}

int
feed_sink_hash_file(int dirfd, const char *name, char hex[65])
{
	int fd, rc;

	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return -1;
	rc = sha256_fd(fd, hex, NULL);
	close(fd);
	return rc;
}
