/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* SFTP destination through libcurl's libssh2 backend. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "util/buf.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "xfer/xfer.h"
#include "xfer/xfer_sftp.h"

#define SFTP_LIST_MAX (16u * 1024 * 1024) /* bytes of names in a listing */
/* libssh2 keeps the writes of one buffer in flight together, so the buffer
 * is the window per round trip: through a 40 ms RTT relay, 20 MB took 23 s
 * with libcurl's 64 KiB default and 1.2 s with 2 MiB (libcurl's maximum);
 * on loopback both are ~0.4 s per 100 MB. Reads likewise. */
#define SFTP_UPLOAD_BUFFER (2L * 1024 * 1024)
#define SFTP_READ_BUFFER (512L * 1024)
#define SFTP_FP_LEN 43 /* base64 of 32 bytes, unpadded */
#define SFTP_MAX_SOCKS 8

/*
 * Stall watchdog. libcurl 7.88 (Debian 12) leaks the whole SSH session
 * when its low-speed check aborts a transfer whose peer has gone silent:
 * the graceful SFTP shutdown then times out and the session is never freed
 * (fixed in curl 8.13, curl/curl#16656). So the progress callback applies
 * the same limit first, shuts the sockets down and aborts: with a dead
 * socket the shutdown fails at once and everything is freed. libcurl's
 * own CURLOPT_LOW_SPEED_* stays set, with twice the time, as a backstop.
 */
struct sftp_watch {
	curl_off_t limit; /* bytes/s */
	long time;        /* s */
	curl_off_t mark_bytes;
	struct timespec mark;
	int stalled;
	struct xfer_cancel *cancel;          /* or NULL */
	curl_socket_t socks[SFTP_MAX_SOCKS]; /* open sockets of the handle */
};

struct sftp {
	CURL *curl;
	char *base;  /* "sftp://host:port" */
	char *upath; /* URL path of the directory, ends in '/' */
	char *qpath; /* quote-command prefix: "/abs/dir/", "rel/" or "" */
	struct sftp_watch w;
	char errbuf[CURL_ERROR_SIZE];
};

/* Upload source: exactly want bytes of fd, or the transfer aborts. */
struct sftp_reader {
	int fd;
	curl_off_t want;
	curl_off_t done;
	int err;     /* errno of a failed read */
	int changed; /* the file was not want bytes long */
};

static pthread_once_t sftp_once = PTHREAD_ONCE_INIT;
static CURLcode sftp_init_rc;

static void
sftp_global_init(void)
{
	sftp_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

char *
xfer_sftp_fingerprint(const char *fp)
{
	size_t n, i;

	if (fp == NULL)
		return NULL;
	if (strncmp(fp, "SHA256:", 7) == 0)
		fp += 7;
	n = strlen(fp);
	while (n > SFTP_FP_LEN && fp[n - 1] == '=')
		n--;
	if (n != SFTP_FP_LEN)
		return NULL;
	for (i = 0; i < n; i++)
		if (!(fp[i] >= 'A' && fp[i] <= 'Z') &&
		    !(fp[i] >= 'a' && fp[i] <= 'z') &&
		    !(fp[i] >= '0' && fp[i] <= '9') && fp[i] != '+' &&
		    fp[i] != '/')
			return NULL;
	return xstrndup(fp, n);
}

/* --- URL and paths ----------------------------------------------------- */

static void
sftp_url_encode(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~/", *p) != NULL) {
			buf_addch(b, (char)*p);
		} else {
			buf_addch(b, '%');
			buf_addch(b, hex[*p >> 4]);
			buf_addch(b, hex[*p & 15]);
		}
	}
}

/* URL of NAME in the directory, or of the directory itself (NULL). */
static char *
sftp_url(const struct sftp *s, const char *name)
{
	struct buf b;

	buf_init(&b, 0);
	buf_addstr(&b, s->base);
	sftp_url_encode(&b, s->upath);
	if (name != NULL)
		sftp_url_encode(&b, name);
	return buf_detach(&b);
}

/* Append a path as a double-quoted quote-command argument (curl's
 * Curl_get_pathname() unescapes \" and \\). */
static void
sftp_quote_path(struct buf *b, const struct sftp *s, const char *name)
{
	const char *p;

	buf_addch(b, '"');
	for (p = s->qpath; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_addch(b, '\\');
		buf_addch(b, *p);
	}
	for (p = name; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_addch(b, '\\');
		buf_addch(b, *p);
	}
	buf_addch(b, '"');
}

static int
sftp_bad_segment(const char *seg, size_t n)
{
	return (n == 1 && seg[0] == '.') ||
	       (n == 2 && seg[0] == '.' && seg[1] == '.');
}

/* Set s->upath and s->qpath from the decoded URL path. */
static enum xfer_err
sftp_set_dir(struct xfer *x, struct sftp *s, const char *path)
{
	const char *p, *seg, *rest;
	size_t n, len;

	for (p = path; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return xfer_fail(x, XFER_ERR_CONFIG,
			                 "control character in remote path");
	for (seg = path; *seg; seg += n + (seg[n] == '/')) {
		n = strcspn(seg, "/");
		if (sftp_bad_segment(seg, n))
			return xfer_fail(x, XFER_ERR_CONFIG,
			                 "\".\" or \"..\" in remote path");
	}
	if (*path != '/')
		return xfer_fail(x, XFER_ERR_CONFIG,
		                 "remote path must be absolute");
	n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	if (strncmp(path, "/~", 2) == 0 && (n == 2 || path[2] == '/')) {
		/* Relative to the login directory: URLs say "/~/", quote
		 * commands use a relative path (curl expands no "~" inside
		 * quotes, and SFTP resolves relative paths from there). */
		for (rest = path + 2; rest < path + n && *rest == '/'; rest++)
			;
		len = (size_t)(path + n - rest);
		s->qpath =
		    len ? xasprintf("%.*s/", (int)len, rest) : xstrdup("");
		s->upath = xasprintf("/~/%s", s->qpath);
		return XFER_OK;
	}
	s->qpath = n > 1 ? xasprintf("%.*s/", (int)n, path) : xstrdup("/");
	s->upath = xstrdup(s->qpath);
	return XFER_OK;
}

static enum xfer_err
sftp_parse(struct xfer *x, struct sftp *s, const char *url, char **user)
{
	char *host = NULL, *port = NULL, *path = NULL, *extra = NULL;
	enum xfer_err e = XFER_OK;
	CURLU *u;

	*user = NULL;
	if ((u = curl_url()) == NULL)
		fatalx("%s: out of memory", __func__);
	if (curl_url_set(u, CURLUPART_URL, url,
	                 CURLU_PATH_AS_IS | CURLU_NON_SUPPORT_SCHEME) !=
	    CURLUE_OK)
		e = xfer_fail(x, XFER_ERR_CONFIG, "malformed URL");
	else if (curl_url_get(u, CURLUPART_PASSWORD, &extra, 0) == CURLUE_OK)
		e = xfer_fail(x, XFER_ERR_CONFIG,
		              "passwords in URLs are not supported; use key "
		              "authentication");
	else if (curl_url_get(u, CURLUPART_QUERY, &extra, 0) == CURLUE_OK ||
	         curl_url_get(u, CURLUPART_FRAGMENT, &extra, 0) == CURLUE_OK)
		e = xfer_fail(x, XFER_ERR_CONFIG, "query or fragment in URL");
	else if (curl_url_get(u, CURLUPART_USER, user, CURLU_URLDECODE) !=
	             CURLUE_OK ||
	         **user == '\0')
		e = xfer_fail(x, XFER_ERR_CONFIG,
		              "no user in URL (sftp://user@host/dir)");
	else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	         curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	             CURLUE_OK ||
	         curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) !=
	             CURLUE_OK)
		e = xfer_fail(x, XFER_ERR_CONFIG, "URL without host or path");
	else if ((e = sftp_set_dir(x, s, path)) == XFER_OK)
		s->base = xasprintf("sftp://%s:%s", host, port);
	if (e != XFER_OK && *user != NULL) {
		curl_free(*user);
		*user = NULL;
	}
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(extra);
	curl_url_cleanup(u);
	return e;
}

/* --- libcurl plumbing -------------------------------------------------- */

static size_t
sftp_discard(char *p, size_t size, size_t nmemb, void *arg)
{
	return size * nmemb;
}

static size_t
sftp_read(char *p, size_t size, size_t nmemb, void *arg)
{
	struct sftp_reader *r = arg;
	ssize_t n;

	do
		n = read(r->fd, p, size * nmemb);
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		r->err = errno;
		return CURL_READFUNC_ABORT;
	}
	r->done += n;
	if ((n == 0 && r->done != r->want) || r->done > r->want) {
		r->changed = 1;
		return CURL_READFUNC_ABORT;
	}
	return (size_t)n;
}

static size_t
sftp_write_buf(char *p, size_t size, size_t nmemb, void *arg)
{
	return buf_add(arg, p, size * nmemb) == 0 ? size * nmemb : 0;
}

static size_t
sftp_write_sink(char *p, size_t size, size_t nmemb, void *arg)
{
	return xfer_sink_write(arg, p, size * nmemb) == 0 ? size * nmemb : 0;
}

static size_t
sftp_write_count(char *p, size_t size, size_t nmemb, void *arg)
{
	*(curl_off_t *)arg += (curl_off_t)(size * nmemb);
	return size * nmemb;
}

static struct curl_slist *
sftp_slist(struct curl_slist *l, const char *s)
{
	struct curl_slist *n = curl_slist_append(l, s);

	if (n == NULL)
		fatalx("%s: out of memory", __func__);
	return n;
}

/* --- Stall watchdog (see struct sftp_watch) ---------------------------- */

static curl_socket_t
sftp_opensocket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct sftp_watch *w = arg;
	curl_socket_t fd;
	int i;

	fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	if (fd == -1 || (fd = xfer_cancel_socket(w->cancel, fd)) == -1)
		return CURL_SOCKET_BAD;
	for (i = 0; i < SFTP_MAX_SOCKS; i++)
		if (w->socks[i] == CURL_SOCKET_BAD) {
			w->socks[i] = fd;
			break;
		}
	return fd;
}

static int
sftp_closesocket(void *arg, curl_socket_t fd)
{
	struct sftp_watch *w = arg;
	int i;

	for (i = 0; i < SFTP_MAX_SOCKS; i++)
		if (w->socks[i] == fd)
			w->socks[i] = CURL_SOCKET_BAD;
	return xfer_cancel_close(w->cancel, fd);
}

static double
sftp_elapsed(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) +
	       (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

/* Fewer than limit * time bytes moved in the last time seconds: stalled. */
static int
sftp_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
              curl_off_t ultotal, curl_off_t ulnow)
{
	struct sftp_watch *w = arg;
	curl_off_t moved = dlnow + ulnow;
	int i;

	if (xfer_cancel_fired(w->cancel))
		return 1;
	if (moved < w->mark_bytes ||
	    moved - w->mark_bytes >= w->limit * w->time) {
		w->mark_bytes = moved;
		clock_gettime(CLOCK_MONOTONIC, &w->mark);
		return 0;
	}
	if (sftp_elapsed(&w->mark) < (double)w->time)
		return 0;
	w->stalled = 1;
	for (i = 0; i < SFTP_MAX_SOCKS; i++)
		if (w->socks[i] != CURL_SOCKET_BAD)
			shutdown(w->socks[i], SHUT_RDWR);
	return 1;
}

/* Reset the per-call options; url is taken and freed. */
static void
sftp_prepare(struct sftp *s, char *url)
{
	CURL *c = s->curl;

	curl_easy_setopt(c, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 0L);
	curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
	curl_easy_setopt(c, CURLOPT_FILETIME, 0L);
	curl_easy_setopt(c, CURLOPT_DIRLISTONLY, 0L);
	curl_easy_setopt(c, CURLOPT_QUOTE, NULL);
	curl_easy_setopt(c, CURLOPT_POSTQUOTE, NULL);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, NULL);
	curl_easy_setopt(c, CURLOPT_READDATA, NULL);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)-1);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sftp_discard);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, NULL);
	s->errbuf[0] = '\0';
	s->w.stalled = 0;
	s->w.mark_bytes = 0;
	clock_gettime(CLOCK_MONOTONIC, &s->w.mark);
}

static enum xfer_err
sftp_code(CURLcode rc)
{
	switch (rc) {
	case CURLE_OK:
		return XFER_OK;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_NOT_BUILT_IN:
		return XFER_ERR_CONFIG;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		return XFER_ERR_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return XFER_ERR_TIMEOUT;
	case CURLE_PEER_FAILED_VERIFICATION:
		return XFER_ERR_HOSTKEY;
	case CURLE_LOGIN_DENIED:
		return XFER_ERR_AUTH;
	case CURLE_REMOTE_FILE_NOT_FOUND:
		return XFER_ERR_NOTFOUND;
	case CURLE_REMOTE_ACCESS_DENIED:
		return XFER_ERR_PERM;
	case CURLE_REMOTE_FILE_EXISTS:
		return XFER_ERR_EXISTS;
	case CURLE_WRITE_ERROR:
		return XFER_ERR_LOCAL;
	default:
		return XFER_ERR_IO;
	}
}

/* Run the prepared call; on failure record "what name: curl's text". */
static enum xfer_err
sftp_perform(struct xfer *x, struct sftp *s, const char *what, const char *name)
{
	CURLcode rc = curl_easy_perform(s->curl);
	size_t n;

	if (rc == CURLE_OK)
		return XFER_OK;
	if (xfer_cancel_fired(s->w.cancel))
		return xfer_fail(x, XFER_ERR_CANCELLED, "%s%s%s: stopped", what,
		                 name != NULL ? " " : "",
		                 name != NULL ? name : "");
	if (s->w.stalled)
		return xfer_fail(x, XFER_ERR_TIMEOUT,
		                 "%s%s%s: stalled: under %ld bytes/s for %ld s",
		                 what, name != NULL ? " " : "",
		                 name != NULL ? name : "", (long)s->w.limit,
		                 s->w.time);
	n = strlen(s->errbuf);
	while (n > 0 && (s->errbuf[n - 1] == '\n' || s->errbuf[n - 1] == ' '))
		s->errbuf[--n] = '\0';
	return xfer_fail(x, sftp_code(rc), "%s%s%s: %s", what,
	                 name != NULL ? " " : "", name != NULL ? name : "",
	                 n ? s->errbuf : curl_easy_strerror(rc));
}

/* One quote command on the directory, nothing transferred. */
static enum xfer_err
sftp_quote(struct xfer *x, struct sftp *s, const char *cmd, const char *a,
           const char *b, const char *what)
{
	struct curl_slist *q;
	struct buf line;
	enum xfer_err e;

	buf_init(&line, 0);
	buf_addf(&line, "%s ", cmd);
	sftp_quote_path(&line, s, a);
	if (b != NULL) {
		buf_addch(&line, ' ');
		sftp_quote_path(&line, s, b);
	}
	q = sftp_slist(NULL, buf_str(&line));
	buf_free(&line);
	sftp_prepare(s, sftp_url(s, NULL));
	curl_easy_setopt(s->curl, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(s->curl, CURLOPT_QUOTE, q);
	e = sftp_perform(x, s, what, a);
	curl_easy_setopt(s->curl, CURLOPT_QUOTE, NULL);
	curl_slist_free_all(q);
	return e;
}

/* Size of NAME by reading it, for servers (and empty files) where libcurl
 * reports no size. */
static enum xfer_err
sftp_count(struct xfer *x, struct sftp *s, const char *name, curl_off_t *size)
{
	*size = 0;
	sftp_prepare(s, sftp_url(s, name));
	curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, sftp_write_count);
	curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, size);
	return sftp_perform(x, s, "read", name);
}

/* --- Operations -------------------------------------------------------- */

/* Put back a message saved with xfer_error() before follow-up calls. */
static enum xfer_err
sftp_restore(struct xfer *x, char *msg, enum xfer_err code)
{
	free(x->msg);
	x->msg = msg;
	x->code = code;
	return code;
}

static enum xfer_err
sftp_stat(struct xfer *x, const char *name, struct xfer_stat *st)
{
	struct sftp *s = x->be;
	curl_off_t size = -1, mtime = -1;
	enum xfer_err e;

	sftp_prepare(s, sftp_url(s, name));
	curl_easy_setopt(s->curl, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(s->curl, CURLOPT_FILETIME, 1L);
	if ((e = sftp_perform(x, s, "stat", name)) != XFER_OK)
		return e;
	curl_easy_getinfo(s->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &size);
	curl_easy_getinfo(s->curl, CURLINFO_FILETIME_T, &mtime);
	/* libcurl reports -1 for a size of 0 as well as for no size. */
	if (size < 0 && (e = sftp_count(x, s, name, &size)) != XFER_OK)
		return e;
	st->size = size;
	st->mtime = mtime;
	return XFER_OK;
}

/* XFER_OK when NAME is absent; XFER_ERR_EXISTS when present. */
static enum xfer_err
sftp_check_absent(struct xfer *x, const char *name)
{
	struct xfer_stat st;
	enum xfer_err e = sftp_stat(x, name, &st);

	if (e == XFER_ERR_NOTFOUND)
		return XFER_OK;
	if (e == XFER_OK)
		return xfer_fail(x, XFER_ERR_EXISTS, "%s already exists", name);
	return e;
}

static enum xfer_err
sftp_rename(struct xfer *x, const char *from, const char *to)
{
	struct sftp *s = x->be;
	struct xfer_stat st;
	enum xfer_err e;
	char *msg;

	/* Checked first for servers whose rename replaces; OpenSSH's refuses
	 * an existing target itself (link + unlink), closing the race. */
	if ((e = sftp_check_absent(x, to)) != XFER_OK)
		return e;
	e = sftp_quote(x, s, "rename", from, to, "rename");
	if (e != XFER_ERR_IO)
		return e;
	msg = xstrdup(xfer_error(x));
	if (sftp_stat(x, to, &st) == XFER_OK)
		e = xfer_fail(x, XFER_ERR_EXISTS, "%s already exists", to);
	else if (sftp_stat(x, from, &st) == XFER_ERR_NOTFOUND)
		e = xfer_fail(x, XFER_ERR_NOTFOUND, "rename: no such file %s",
		              from);
	else
		return sftp_restore(x, msg, XFER_ERR_IO);
	free(msg);
	return e;
}

static enum xfer_err
sftp_remove(struct xfer *x, const char *name)
{
	struct sftp *s = x->be;
	struct xfer_stat st;
	enum xfer_err e;
	char *msg;

	e = sftp_quote(x, s, "rm", name, NULL, "remove");
	if (e != XFER_ERR_IO)
		return e;
	msg = xstrdup(xfer_error(x));
	if (sftp_stat(x, name, &st) != XFER_ERR_NOTFOUND)
		return sftp_restore(x, msg, XFER_ERR_IO);
	free(msg);
	return xfer_fail(x, XFER_ERR_NOTFOUND, "remove: no such file %s", name);
}

/* Upload fd to tmp and, in the same call, rename tmp to name. */
static enum xfer_err
sftp_upload(struct xfer *x, struct sftp *s, struct sftp_reader *r,
            const char *tmp, const char *name)
{
	struct curl_slist *post;
	struct buf line;
	enum xfer_err e;

	buf_init(&line, 0);
	buf_addstr(&line, "rename ");
	sftp_quote_path(&line, s, tmp);
	buf_addch(&line, ' ');
	sftp_quote_path(&line, s, name);
	post = sftp_slist(NULL, buf_str(&line));
	buf_free(&line);
	sftp_prepare(s, sftp_url(s, tmp));
	curl_easy_setopt(s->curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(s->curl, CURLOPT_READFUNCTION, sftp_read);
	curl_easy_setopt(s->curl, CURLOPT_READDATA, r);
	curl_easy_setopt(s->curl, CURLOPT_INFILESIZE_LARGE, r->want);
	/* libcurl runs POSTQUOTE only after a complete, closed upload. */
	curl_easy_setopt(s->curl, CURLOPT_POSTQUOTE, post);
	e = sftp_perform(x, s, "upload", name);
	curl_easy_setopt(s->curl, CURLOPT_POSTQUOTE, NULL);
	curl_slist_free_all(post);
	return e;
}

/* After a failed upload: say why in our terms, then drop the temp file. */
static enum xfer_err
sftp_upload_failed(struct xfer *x, struct sftp *s, struct sftp_reader *r,
                   const char *tmp, const char *name, enum xfer_err e)
{
	char ebuf[128], *msg;
	struct xfer_stat st;
	bool exists;

	if (r->err != 0)
		e = xfer_fail(x, XFER_ERR_LOCAL, "read local file: %s",
		              xfer_strerrno(r->err, ebuf, sizeof(ebuf)));
	else if (r->changed)
		e = xfer_fail(x, XFER_ERR_LOCAL,
		              "local file changed size during upload");
	/* Nothing can have been created without a session. */
	if (e == XFER_ERR_CONNECT || e == XFER_ERR_HOSTKEY ||
	    e == XFER_ERR_AUTH || e == XFER_ERR_CONFIG)
		return e;
	msg = xstrdup(xfer_error(x));
	/* The final name appeared after our check: the rename met it (or,
	 * if the session died just after renaming, it is our own file; the
	 * caller compares sizes, see docs/delivery.md). */
	exists = e == XFER_ERR_IO && sftp_stat(x, name, &st) == XFER_OK;
	sftp_quote(x, s, "rm", tmp, NULL, "remove temporary file");
	if (!exists)
		return sftp_restore(x, msg, e);
	free(msg);
	return xfer_fail(x, XFER_ERR_EXISTS, "%s already exists", name);
}

static enum xfer_err
sftp_put(struct xfer *x, const char *local_path, const char *name)
{
	struct sftp *s = x->be;
	struct sftp_reader r = {.fd = -1};
	enum xfer_err e;
	struct stat st;
	char ebuf[128], *tmp;

	r.fd = open(local_path, O_RDONLY | O_CLOEXEC);
	if (r.fd == -1 || fstat(r.fd, &st) == -1) {
		e = xfer_fail(x, XFER_ERR_LOCAL, "%s: %s", local_path,
		              xfer_strerrno(errno, ebuf, sizeof(ebuf)));
		if (r.fd != -1)
			close(r.fd);
		return e;
	}
	if (!S_ISREG(st.st_mode)) {
		close(r.fd);
		return xfer_fail(x, XFER_ERR_LOCAL, "%s: not a regular file",
		                 local_path);
	}
	r.want = st.st_size;
	if ((e = sftp_check_absent(x, name)) != XFER_OK) {
		close(r.fd);
		return e;
	}
	tmp = xfer_temp_name(name);
	e = sftp_upload(x, s, &r, tmp, name);
	if (e != XFER_OK)
		e = sftp_upload_failed(x, s, &r, tmp, name, e);
	close(r.fd);
	free(tmp);
	return e;
}

static enum xfer_err
sftp_list_parse(struct xfer_list *out, char *text, const char *pattern)
{
	char *line, *save = NULL;
	size_t cap = 0;

	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strcmp(line, ".") == 0 || strcmp(line, "..") == 0 ||
		    fnmatch(pattern, line, FNM_PERIOD) != 0)
			continue;
		if (out->n == cap) {
			cap = cap ? cap * 2 : 16;
			out->names =
			    xrealloc(out->names, cap * sizeof(*out->names));
		}
		out->names[out->n++] = xstrdup(line);
	}
	return XFER_OK;
}

static int
sftp_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static enum xfer_err
sftp_list(struct xfer *x, const char *pattern, struct xfer_list *out)
{
	struct sftp *s = x->be;
	enum xfer_err e;
	struct buf b;

	buf_init(&b, SFTP_LIST_MAX);
	sftp_prepare(s, sftp_url(s, NULL));
	curl_easy_setopt(s->curl, CURLOPT_DIRLISTONLY, 1L);
	curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, sftp_write_buf);
	curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, &b);
	e = sftp_perform(x, s, "list", NULL);
	if (e == XFER_ERR_LOCAL)
		e = xfer_fail(x, XFER_ERR_IO,
		              "list: more than %u bytes of "
		              "names",
		              SFTP_LIST_MAX);
	if (e == XFER_OK && b.data != NULL)
		sftp_list_parse(out, b.data, pattern);
	buf_free(&b);
	if (out->n > 0)
		qsort(out->names, out->n, sizeof(*out->names), sftp_name_cmp);
	return e;
}

static enum xfer_err
sftp_get(struct xfer *x, const char *name, const char *local_path)
{
	struct sftp *s = x->be;
	struct xfer_sink sink;
	enum xfer_err e;
	char ebuf[128];

	if ((e = xfer_sink_open(x, &sink, local_path)) != XFER_OK)
		return e;
	sftp_prepare(s, sftp_url(s, name));
	curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, sftp_write_sink);
	curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, &sink);
	e = sftp_perform(x, s, "download", name);
	if (e != XFER_OK) {
		if (sink.err != 0)
			e = xfer_fail(
			    x, XFER_ERR_LOCAL, "%s: %s", local_path,
			    xfer_strerrno(sink.err, ebuf, sizeof(ebuf)));
		xfer_sink_abort(&sink);
		return e;
	}
	return xfer_sink_commit(x, &sink);
}

/* --- Open and close ---------------------------------------------------- */

static enum xfer_err
sftp_check_curl(struct xfer *x)
{
	const curl_version_info_data *v;
	const char *const *p;

	pthread_once(&sftp_once, sftp_global_init);
	if (sftp_init_rc != CURLE_OK)
		return xfer_fail(x, XFER_ERR_IO, "curl_global_init: %s",
		                 curl_easy_strerror(sftp_init_rc));
	v = curl_version_info(CURLVERSION_NOW);
	for (p = v->protocols; *p != NULL; p++)
		if (strcmp(*p, "sftp") == 0)
			break;
	/* Only the libssh2 backend pins host keys by SHA-256. */
	if (*p == NULL || v->libssh_version == NULL ||
	    strncmp(v->libssh_version, "libssh2/", 8) != 0)
		return xfer_fail(x, XFER_ERR_CONFIG,
		                 "libcurl %s lacks SFTP with libssh2 (needed "
		                 "for host key pinning)",
		                 v->version);
	return XFER_OK;
}

static enum xfer_err
sftp_check_opts(struct xfer *x, const struct xfer_opts *o, char **fp)
{
	*fp = NULL;
	if (o->host_fingerprint == NULL || *o->host_fingerprint == '\0')
		return xfer_fail(x, XFER_ERR_HOSTKEY,
		                 "no host key fingerprint configured; refusing "
		                 "to connect");
	if ((*fp = xfer_sftp_fingerprint(o->host_fingerprint)) == NULL)
		return xfer_fail(x, XFER_ERR_CONFIG,
		                 "host key fingerprint must be SHA-256 in "
		                 "base64, as `ssh-keygen -lf` prints it");
	if (o->private_key == NULL || *o->private_key == '\0')
		return xfer_fail(x, XFER_ERR_CONFIG,
		                 "no private key configured");
	if (access(o->private_key, R_OK) == -1)
		return xfer_fail(x, XFER_ERR_CONFIG,
		                 "private key %s is not readable",
		                 o->private_key);
	if (o->public_key != NULL && *o->public_key != '\0' &&
	    access(o->public_key, R_OK) == -1)
		return xfer_fail(x, XFER_ERR_CONFIG,
		                 "public key %s is not readable",
		                 o->public_key);
	return XFER_OK;
}

static long
sftp_or(long v, long dflt)
{
	return v > 0 ? v : dflt;
}

/* Session-wide options: login, host key, timeouts. */
static enum xfer_err
sftp_setup(struct xfer *x, struct sftp *s, const struct xfer_opts *o,
           const char *user, const char *fp)
{
	CURL *c = s->curl;

	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s->errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* threads */
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, sftp_opensocket);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &s->w);
	curl_easy_setopt(c, CURLOPT_CLOSESOCKETFUNCTION, sftp_closesocket);
	curl_easy_setopt(c, CURLOPT_CLOSESOCKETDATA, &s->w);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, sftp_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, &s->w);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_USERNAME, user);
	curl_easy_setopt(c, CURLOPT_SSH_AUTH_TYPES,
	                 (long)CURLSSH_AUTH_PUBLICKEY);
	curl_easy_setopt(c, CURLOPT_SSH_PRIVATE_KEYFILE, o->private_key);
	if (o->public_key != NULL && *o->public_key != '\0')
		curl_easy_setopt(c, CURLOPT_SSH_PUBLIC_KEYFILE, o->public_key);
	if (o->passphrase != NULL)
		curl_easy_setopt(c, CURLOPT_KEYPASSWD, o->passphrase);
	curl_easy_setopt(
	    c, CURLOPT_CONNECTTIMEOUT_MS,
	    sftp_or(o->connect_timeout_ms, XFER_CONNECT_TIMEOUT_MS_DEFAULT));
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, (long)s->w.limit);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 2 * s->w.time);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, sftp_or(o->timeout_ms, 0));
	curl_easy_setopt(
	    c, CURLOPT_NEW_FILE_PERMS,
	    (long)(o->file_mode ? o->file_mode : XFER_FILE_MODE_DEFAULT));
	curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, SFTP_UPLOAD_BUFFER);
	curl_easy_setopt(c, CURLOPT_BUFFERSIZE, SFTP_READ_BUFFER);
	/* A libcurl that cannot pin must not connect unpinned. */
	if (curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "sftp") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSH_HOST_PUBLIC_KEY_SHA256, fp) !=
	        CURLE_OK)
		return xfer_fail(x, XFER_ERR_CONFIG,
		                 "libcurl refused SFTP host key pinning");
	return XFER_OK;
}

static enum xfer_err
sftp_open(struct xfer *x, const struct xfer_opts *o)
{
	struct sftp *s;
	enum xfer_err e;
	char *user = NULL, *fp = NULL;
	curl_off_t mtime = -1;
	int i;

	if ((e = sftp_check_curl(x)) != XFER_OK ||
	    (e = sftp_check_opts(x, o, &fp)) != XFER_OK) {
		free(fp);
		return e;
	}
	s = xcalloc(1, sizeof(*s));
	x->be = s;
	for (i = 0; i < SFTP_MAX_SOCKS; i++)
		s->w.socks[i] = CURL_SOCKET_BAD;
	s->w.cancel = o->cancel;
	s->w.limit = sftp_or(o->low_speed_limit, XFER_LOW_SPEED_LIMIT_DEFAULT);
	s->w.time = sftp_or(o->low_speed_time, XFER_LOW_SPEED_TIME_DEFAULT);
	if ((e = sftp_parse(x, s, o->url, &user)) != XFER_OK)
		goto out;
	if ((s->curl = curl_easy_init()) == NULL)
		fatalx("%s: curl_easy_init failed", __func__);
	if ((e = sftp_setup(x, s, o, user, fp)) != XFER_OK)
		goto out;
	/* Connect, verify the host key and log in now, and stat the
	 * directory (no listing), so configuration errors surface here. */
	sftp_prepare(s, sftp_url(s, NULL));
	curl_easy_setopt(s->curl, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(s->curl, CURLOPT_FILETIME, 1L);
	if ((e = sftp_perform(x, s, "connect", NULL)) != XFER_OK)
		goto out;
	curl_easy_getinfo(s->curl, CURLINFO_FILETIME_T, &mtime);
	if (mtime < 0)
		e = xfer_fail(x, XFER_ERR_NOTFOUND,
		              "remote directory not found");
out:
	curl_free(user);
	free(fp);
	return e;
}

static void
sftp_close(struct xfer *x)
{
	struct sftp *s = x->be;

	if (s == NULL)
		return;
	if (s->curl != NULL)
		curl_easy_cleanup(s->curl);
	free(s->base);
	free(s->upath);
	free(s->qpath);
	free(s);
	x->be = NULL;
}

const struct xfer_ops xfer_sftp_ops = {
    .scheme = "sftp",
    .open = sftp_open,
    .put = sftp_put,
    .rename = sftp_rename,
    .stat = sftp_stat,
    .list = sftp_list,
    .get = sftp_get,
    .remove = sftp_remove,
    .close = sftp_close,
};
