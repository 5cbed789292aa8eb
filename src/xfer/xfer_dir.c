/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* Local directory destination: write, fsync, rename without replacing. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/xmalloc.h"
#include "xfer/xfer.h"
#include "xfer/xfer_dir.h"

#define DIR_COPY_BUF (1024 * 1024)

struct xdir {
	int fd; /* the destination directory */
	unsigned mode;
};

static enum xfer_err
dir_errno(struct xfer *x, int err, const char *what, const char *name)
{
	char ebuf[128];

	return xfer_fail(x, xfer_errno_code(err), "%s %s: %s", what, name,
	                 xfer_strerrno(err, ebuf, sizeof(ebuf)));
}

static enum xfer_err
dir_open(struct xfer *x, const struct xfer_opts *o)
{
	const char *path = o->url + strlen("dir:");
	struct xdir *d;
	char ebuf[128];
	int fd, err;

	if (*path == '\0')
		return xfer_fail(x, XFER_ERR_CONFIG, "no directory in URL");
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1) {
		err = errno;
		return xfer_fail(
		    x, err == ENOTDIR ? XFER_ERR_CONFIG : xfer_errno_code(err),
		    "open directory: %s",
		    xfer_strerrno(err, ebuf, sizeof(ebuf)));
	}
	d = xcalloc(1, sizeof(*d));
	d->fd = fd;
	d->mode = o->file_mode != 0 ? o->file_mode : XFER_FILE_MODE_DEFAULT;
	x->be = d;
	return XFER_OK;
}

static void
dir_close(struct xfer *x)
{
	struct xdir *d = x->be;

	if (d == NULL)
		return;
	close(d->fd);
	free(d);
	x->be = NULL;
}

/* Copy exactly want bytes from in to out; -1 with *err (0: size changed). */
static int
dir_copy(int in, int out, off_t want, int *err)
{
	char *buf = xmalloc(DIR_COPY_BUF);
	off_t done = 0;
	ssize_t r, w, off;

	*err = 0;
	for (;;) {
		r = read(in, buf, DIR_COPY_BUF);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (off = 0; off < r; off += w) {
			w = write(out, buf + off, (size_t)(r - off));
			if (w == -1 && errno == EINTR)
				w = 0;
			else if (w == -1)
				goto fail;
		}
		done += r;
	}
	if (r == -1)
		goto fail;
	free(buf);
	return done == want ? 0 : -1;
fail:
	*err = errno;
	free(buf);
	return -1;
}

/* Rename without replacing: renameat2() where the filesystem has it, else
 * link + unlink, which also refuses an existing target. */
static int
dir_rename_noreplace(int dfd, const char *from, const char *to)
{
	if (renameat2(dfd, from, dfd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
		return -1;
	if (linkat(dfd, from, dfd, to, 0) == -1)
		return -1;
	return unlinkat(dfd, from, 0);
}

static enum xfer_err
dir_check_absent(struct xfer *x, struct xdir *d, const char *name)
{
	struct stat st;

	if (fstatat(d->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return xfer_fail(x, XFER_ERR_EXISTS, "%s already exists", name);
	if (errno != ENOENT)
		return dir_errno(x, errno, "stat", name);
	return XFER_OK;
}

/* Write src into a new temporary file in d; *tmp names it on success. */
static enum xfer_err
dir_write_temp(struct xfer *x, struct xdir *d, int src, off_t size,
               const char *name, char **tmp)
{
	enum xfer_err e = XFER_OK;
	int fd, err;

	*tmp = xfer_temp_name(name);
	fd = openat(d->fd, *tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1) {
		e = dir_errno(x, errno, "create", *tmp);
		xfree(*tmp);
		return e;
	}
	/* fchmod: the profile's mode exactly, whatever the umask. */
	if (fchmod(fd, d->mode) == -1)
		e = dir_errno(x, errno, "chmod", *tmp);
	else if (dir_copy(src, fd, size, &err) == -1)
		e = err != 0 ? dir_errno(x, err, "write", *tmp)
		             : xfer_fail(x, XFER_ERR_LOCAL,
		                         "local file changed while copying");
	else if (fsync(fd) == -1)
		e = dir_errno(x, errno, "fsync", *tmp);
	if (close(fd) == -1 && e == XFER_OK)
		e = dir_errno(x, errno, "close", *tmp);
	if (e != XFER_OK) {
		unlinkat(d->fd, *tmp, 0);
		xfree(*tmp);
	}
	return e;
}

static enum xfer_err
dir_open_local(struct xfer *x, const char *path, int *fd, struct stat *st)
{
	char ebuf[128];
	int err;

	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd == -1 || fstat(*fd, st) == -1) {
		err = errno;
		if (*fd != -1)
			close(*fd);
		return xfer_fail(x, XFER_ERR_LOCAL, "%s: %s", path,
		                 xfer_strerrno(err, ebuf, sizeof(ebuf)));
	}
	if (!S_ISREG(st->st_mode)) {
		close(*fd);
		return xfer_fail(x, XFER_ERR_LOCAL, "%s: not a regular file",
		                 path);
	}
	return XFER_OK;
}

static enum xfer_err
dir_put(struct xfer *x, const char *local_path, const char *name)
{
	struct xdir *d = x->be;
	struct stat st;
	enum xfer_err e;
	char *tmp;
	int src;

	if ((e = dir_open_local(x, local_path, &src, &st)) != XFER_OK)
		return e;
	if ((e = dir_check_absent(x, d, name)) == XFER_OK)
		e = dir_write_temp(x, d, src, st.st_size, name, &tmp);
	close(src);
	if (e != XFER_OK)
		return e;
	if (dir_rename_noreplace(d->fd, tmp, name) == -1) {
		e = errno == EEXIST ? xfer_fail(x, XFER_ERR_EXISTS,
		                                "%s already exists", name)
		                    : dir_errno(x, errno, "rename to", name);
		unlinkat(d->fd, tmp, 0);
	} else if (fsync(d->fd) == -1) {
		e = dir_errno(x, errno, "fsync directory for", name);
	}
	free(tmp);
	return e;
}

static enum xfer_err
dir_rename(struct xfer *x, const char *from, const char *to)
{
	struct xdir *d = x->be;

	if (dir_rename_noreplace(d->fd, from, to) == -1) {
		if (errno == EEXIST)
			return xfer_fail(x, XFER_ERR_EXISTS,
			                 "%s already exists", to);
		return dir_errno(x, errno, "rename", from);
	}
	if (fsync(d->fd) == -1)
		return dir_errno(x, errno, "fsync directory for", to);
	return XFER_OK;
}

static enum xfer_err
dir_stat(struct xfer *x, const char *name, struct xfer_stat *out)
{
	struct xdir *d = x->be;
	struct stat st;

	if (fstatat(d->fd, name, &st, 0) == -1)
		return dir_errno(x, errno, "stat", name);
	if (!S_ISREG(st.st_mode))
		return xfer_fail(x, XFER_ERR_NOTFOUND, "%s: not a regular file",
		                 name);
	out->size = st.st_size;
	out->mtime = st.st_mtim.tv_sec;
	return XFER_OK;
}

static int
dir_is_file(int dfd, const struct dirent *de)
{
	struct stat st;

	if (de->d_type == DT_REG)
		return 1;
	if (de->d_type != DT_UNKNOWN && de->d_type != DT_LNK)
		return 0;
	return fstatat(dfd, de->d_name, &st, 0) == 0 && S_ISREG(st.st_mode);
}

static int
dir_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static enum xfer_err
dir_list(struct xfer *x, const char *pattern, struct xfer_list *out)
{
	struct xdir *d = x->be;
	struct dirent *de;
	size_t cap = 0;
	DIR *dp;
	int fd;

	fd = openat(d->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1 || (dp = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return dir_errno(x, errno, "list", ".");
	}
	while ((de = readdir(dp)) != NULL) {
		if (fnmatch(pattern, de->d_name, FNM_PERIOD) != 0 ||
		    !dir_is_file(d->fd, de))
			continue;
		if (out->n == cap) {
			cap = cap ? cap * 2 : 16;
			out->names =
			    xrealloc(out->names, cap * sizeof(*out->names));
		}
		out->names[out->n++] = xstrdup(de->d_name);
	}
	closedir(dp);
	if (out->n > 0)
		qsort(out->names, out->n, sizeof(*out->names), dir_name_cmp);
	return XFER_OK;
}

static enum xfer_err
dir_get(struct xfer *x, const char *name, const char *local_path)
{
	struct xdir *d = x->be;
	struct xfer_sink sink;
	struct stat st;
	enum xfer_err e;
	int fd, err;

	fd = openat(d->fd, name, O_RDONLY | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &st) == -1) {
		err = errno;
		if (fd != -1)
			close(fd);
		return dir_errno(x, err, "open", name);
	}
	if ((e = xfer_sink_open(x, &sink, local_path)) != XFER_OK) {
		close(fd);
		return e;
	}
	if (dir_copy(fd, sink.fd, st.st_size, &err) == -1) {
		close(fd);
		xfer_sink_abort(&sink);
		if (err != 0)
			return dir_errno(x, err, "copy", name);
		return xfer_fail(x, XFER_ERR_IO, "%s changed while copying",
		                 name);
	}
	close(fd);
	return xfer_sink_commit(x, &sink);
}

static enum xfer_err
dir_remove(struct xfer *x, const char *name)
{
	struct xdir *d = x->be;

	if (unlinkat(d->fd, name, 0) == -1)
		return dir_errno(x, errno, "remove", name);
	if (fsync(d->fd) == -1)
		return dir_errno(x, errno, "fsync directory for", name);
	return XFER_OK;
}

const struct xfer_ops xfer_dir_ops = {
    .scheme = "dir",
    .open = dir_open,
    .put = dir_put,
    .rename = dir_rename,
    .stat = dir_stat,
    .list = dir_list,
    .get = dir_get,
    .remove = dir_remove,
    .close = dir_close,
};
