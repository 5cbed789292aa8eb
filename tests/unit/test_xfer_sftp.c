/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * Tests for the SFTP backend in src/xfer/xfer_sftp.c. The first group runs
 * anywhere (option checks, refusal without a fingerprint, a closed port).
 * The live group needs a real sshd: tests/e2e/test_xfer_sftp.py starts one
 * (tests/e2e/sshd_fixture.py) and runs this binary with ROSTERD_TEST_SFTP_*
 * set; without them the live tests are skipped. Files uploaded over SFTP
 * are checked directly in ROSTERD_TEST_SFTP_ROOT, the server's local
 * directory. A small TCP relay between client and sshd cuts or stalls a
 * connection midway. ROSTERD_TEST_SFTP_BIG_MB=N also times an N MB upload.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/xmalloc.h"
#include "xfer/xfer.h"
#include "xfer/xfer_sftp.h"

/* The fixture's parameters; NULL host means "no sshd: skip". */
static struct {
	const char *host, *port, *user, *key, *pubkey, *other_key, *fp, *root;
} env;

struct fx {
	char *dir; /* ROOT/<test dir>, the remote directory on local disk */
	char *url;
	char *local; /* local scratch directory */
	struct xfer *x;
};

/* --- helpers ----------------------------------------------------------- */

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	return remove(path);
}

static void
write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static char *
read_file(const char *path, size_t *len)
{
	struct stat st;
	char *p;
	FILE *f;

	if (stat(path, &st) == -1)
		return NULL;
	p = xmalloc((size_t)st.st_size + 1);
	f = fopen(path, "rb");
	assert_non_null(f);
	*len = fread(p, 1, (size_t)st.st_size, f);
	p[*len] = '\0';
	fclose(f);
	return p;
}

static char *
make_bytes(size_t len, uint32_t seed)
{
	char *p = xmalloc(len ? len : 1);
	uint32_t v = seed | 1;
	size_t i;

	for (i = 0; i < len; i++) {
		v ^= v << 13;
		v ^= v >> 17;
		v ^= v << 5;
		p[i] = (char)(v & 0xff);
	}
	return p;
}

/* Entries of a local directory, dot names included ("." and ".." not). */
static size_t
entries(const char *dir)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
assert_contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", hay, needle);
}

/* A loopback port with nothing listening on it. */
static int
closed_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* Options for the fixture's server, or for a given port. */
static void
live_opts(struct xfer_opts *o, const char *url)
{
	memset(o, 0, sizeof(*o));
	o->url = url;
	o->private_key = env.key;
	o->public_key = env.pubkey;
	o->host_fingerprint = env.fp;
	o->connect_timeout_ms = 5000;
	o->low_speed_time = 10;
}

static char *
url_for(int port, const char *dir)
{
	return xasprintf("sftp://%s@%s:%d%s", env.user, env.host, port, dir);
}

static int teardown_live(void **);

static int
setup_live(void **state)
{
	struct xfer_opts o;
	struct fx *f;
	char *cause = NULL;

	if (env.host == NULL)
		return 0; /* each test skips */
	f = xcalloc(1, sizeof(*f));
	f->dir = xasprintf("%s/t-XXXXXX", env.root);
	f->local = xstrdup("/tmp/rosterd-sftp-local-XXXXXX");
	*state = f;
	if (mkdtemp(f->dir) == NULL || mkdtemp(f->local) == NULL)
		cause = xstrdup("mkdtemp failed");
	f->url = url_for(atoi(env.port), f->dir);
	live_opts(&o, f->url);
	if (cause == NULL && xfer_open(&o, &f->x, &cause) == XFER_OK)
		return 0;
	/* cmocka skips the teardown of a failed setup: clean up here. */
	teardown_live(state);
	*state = NULL;
	fail_msg("setup: %s", cause);
	return -1;
}

static int
teardown_live(void **state)
{
	struct fx *f = *state;

	if (f == NULL)
		return 0;
	xfer_close(f->x);
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	nftw(f->local, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f->dir);
	free(f->local);
	free(f->url);
	free(f);
	return 0;
}

#define LIVE()                                                                 \
	do {                                                                   \
		if (env.host == NULL)                                          \
			skip();                                                \
	} while (0)

static char *
local_file(struct fx *f, const char *name, size_t len, char **data)
{
	char *p = xasprintf("%s/%s", f->local, name);

	*data = make_bytes(len, (uint32_t)len);
	write_file(p, *data, len);
	return p;
}

/* Open must fail with want and a message containing needle. */
static void
expect_open(const struct xfer_opts *o, enum xfer_err want, const char *needle)
{
	struct xfer *x = NULL;
	char *cause = NULL;
	enum xfer_err e = xfer_open(o, &x, &cause);

	if (e != want)
		fail_msg("open %s: got %s (%s), want %s", o->url,
		         xfer_strerror(e), cause ? cause : "",
		         xfer_strerror(want));
	assert_null(x);
	assert_contains(cause, needle);
	if (strstr(cause, "secret") != NULL)
		fail_msg("a secret in \"%s\"", cause);
	free(cause);
}

/* --- offline ----------------------------------------------------------- */

static void
test_fingerprint_forms(void **state)
{
	const char *b64 = "/3UDJApVSGufgTzopDfkfAz5t6TVUkrmDdrk9EnYSCc";
	char *fp, *with;

	fp = xfer_sftp_fingerprint(b64);
	assert_string_equal(fp, b64);
	free(fp);
	with = xasprintf("SHA256:%s", b64);
	fp = xfer_sftp_fingerprint(with);
	assert_string_equal(fp, b64);
	free(fp);
	free(with);
	with = xasprintf("%s=", b64);
	fp = xfer_sftp_fingerprint(with);
	assert_string_equal(fp, b64);
	free(fp);
	free(with);
	assert_null(xfer_sftp_fingerprint(NULL));
	assert_null(xfer_sftp_fingerprint(""));
	assert_null(xfer_sftp_fingerprint("SHA256:"));
	assert_null(xfer_sftp_fingerprint(
	    "MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48"));
	assert_null(xfer_sftp_fingerprint(
	    "/3UDJApVSGufgTzopDfkfAz5t6TVUkrmDdrk9EnYSC")); /* short */
	assert_null(xfer_sftp_fingerprint(
	    "/3UDJApVSGufgTzopDfkfAz5t6TVUkrmDdrk9EnYSC!"));
}

static void
test_no_fingerprint_refuses_without_connecting(void **state)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	struct xfer_opts o = {0};
	char *url, *want;
	int lfd;

	/* A listener that would see any connection attempt. */
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &len), 0);
	url = xasprintf("sftp://alice@127.0.0.1:%d/in", ntohs(a.sin_port));
	want = xasprintf("%s: no host key fingerprint configured; refusing to "
	                 "connect",
	                 url);
	o.url = url;
	o.private_key = "/dev/null";
	expect_open(&o, XFER_ERR_HOSTKEY, want);
	o.host_fingerprint = "";
	expect_open(&o, XFER_ERR_HOSTKEY, want);
	assert_int_equal(accept(lfd, NULL, NULL), -1);
	assert_int_equal(errno, EAGAIN);
	close(lfd);
	free(want);
	free(url);
}

static void
test_option_errors(void **state)
{
	struct xfer_opts o = {0};

	o.private_key = "/dev/null";
	o.url = "sftp://alice@127.0.0.1:1/in";
	o.host_fingerprint = "16:27:ac:a5:76:28:2d:36";
	expect_open(&o, XFER_ERR_CONFIG, "must be SHA-256");
	o.host_fingerprint = "/3UDJApVSGufgTzopDfkfAz5t6TVUkrmDdrk9EnYSCc";
	o.url = "sftp://alice:secret@127.0.0.1:1/in";
	expect_open(&o, XFER_ERR_CONFIG,
	            "sftp://alice:***@127.0.0.1:1/in: passwords in URLs");
	o.url = "ftp://alice:secret@127.0.0.1:1/in";
	expect_open(&o, XFER_ERR_CONFIG, "ftp://alice:***@127.0.0.1:1/in");
	o.url = "sftp://127.0.0.1:1/in";
	expect_open(&o, XFER_ERR_CONFIG, "no user");
	o.url = "sftp://alice@127.0.0.1:1/in?x=1";
	expect_open(&o, XFER_ERR_CONFIG, "query");
	o.url = "sftp://alice@127.0.0.1:1/in/../etc";
	expect_open(&o, XFER_ERR_CONFIG, "\"..\"");
	o.url = "sftp://alice@127.0.0.1:1/in";
	o.private_key = NULL;
	expect_open(&o, XFER_ERR_CONFIG, "no private key");
	o.private_key = "/nonexistent/id_ed25519";
	expect_open(&o, XFER_ERR_CONFIG, "/nonexistent/id_ed25519 is not");
	o.private_key = "/dev/null";
	o.public_key = "/nonexistent/id_ed25519.pub";
	expect_open(&o, XFER_ERR_CONFIG, "public key");
}

static void
test_server_down(void **state)
{
	struct xfer_opts o = {0};
	char *url = xasprintf("sftp://alice@127.0.0.1:%d/in", closed_port());

	o.url = url;
	o.private_key = "/dev/null";
	o.host_fingerprint = "/3UDJApVSGufgTzopDfkfAz5t6TVUkrmDdrk9EnYSCc";
	o.connect_timeout_ms = 3000;
	expect_open(&o, XFER_ERR_CONNECT, "connect: Failed to connect");
	assert_true(xfer_retryable(XFER_ERR_CONNECT));
	free(url);
}

/*
 * A server that accepts TCP and never speaks (a loopback socket that
 * listens but never accepts: the kernel completes the handshake). With a
 * 30 s connect timeout, xfer_cancel_fire() from another thread still ends
 * xfer_open() at once, and a later open fails without connecting.
 */
struct canceller {
	struct xfer_cancel *c;
	int delay_ms;
};

static void *
cancel_later(void *arg)
{
	struct canceller *k = arg;

	poll(NULL, 0, k->delay_ms);
	xfer_cancel_fire(k->c);
	return NULL;
}

static void
test_cancel_silent_server(void **state)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	struct canceller k;
	struct xfer_opts o = {0};
	struct xfer *x = NULL;
	struct timespec t0, t1;
	pthread_t th;
	char *url, *cause = NULL;
	double took;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	url = xasprintf("sftp://alice@127.0.0.1:%d/in", ntohs(a.sin_port));
	o.url = url;
	o.private_key = "/dev/null";
	o.host_fingerprint = "/3UDJApVSGufgTzopDfkfAz5t6TVUkrmDdrk9EnYSCc";
	o.connect_timeout_ms = 30000;
	o.cancel = xfer_cancel_new();
	k.c = o.cancel;
	k.delay_ms = 300;
	assert_false(xfer_cancel_fired(o.cancel));
	assert_int_equal(pthread_create(&th, NULL, cancel_later, &k), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(xfer_open(&o, &x, &cause), XFER_ERR_CANCELLED);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_join(th, NULL);
	took = (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(took >= 0.25 && took < 3.0);
	assert_null(x);
	assert_contains(cause, "stopped");
	assert_false(xfer_retryable(XFER_ERR_CANCELLED));
	assert_string_equal(xfer_strerror(XFER_ERR_CANCELLED), "stopped");
	free(cause);
	cause = NULL;
	/* Fired: no new connection starts. */
	assert_int_equal(xfer_open(&o, &x, &cause), XFER_ERR_CANCELLED);
	free(cause);
	xfer_cancel_free(o.cancel);
	close(fd);
	free(url);
}

/* --- live: delivery ---------------------------------------------------- */

static void
check_delivered(struct fx *f, const char *name, const char *data, size_t len)
{
	char *p = xasprintf("%s/%s", f->dir, name), *back;
	struct stat st;
	size_t got = 0;

	back = read_file(p, &got);
	if (back == NULL)
		fail_msg("%s not delivered", p);
	assert_int_equal(got, len);
	assert_memory_equal(back, data, len);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	free(back);
	free(p);
}

static void
test_put_visible_under_final_name(void **state)
{
	struct fx *f = *state;
	size_t len = 5 * 1024 * 1024 + 3;
	char *data, *src;
	struct xfer_stat st;

	LIVE();
	src = local_file(f, "src", len, &data);
	assert_int_equal(xfer_put(f->x, src, "roster.csv"), XFER_OK);
	assert_string_equal(xfer_error(f->x), ""); /* not the inner stat's */
	check_delivered(f, "roster.csv", data, len);
	assert_int_equal(entries(f->dir), 1); /* no temp left */
	assert_int_equal(xfer_stat(f->x, "roster.csv", &st), XFER_OK);
	assert_int_equal(st.size, (int64_t)len);
	assert_in_range(st.mtime, time(NULL) - 60, time(NULL) + 5);
	free(src);
	free(data);
}

static void
test_put_odd_names_and_empty_file(void **state)
{
	static const char *const names[] = {"roster 2026 \"q\" #1%20.csv",
	                                    "back\\slash;'x'?.txt",
	                                    "ümlaut.csv"};
	struct fx *f = *state;
	char *data, *src, *empty, *edata;
	struct xfer_stat st;
	size_t i;

	LIVE();
	src = local_file(f, "src", 4000, &data);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (xfer_put(f->x, src, names[i]) != XFER_OK)
			fail_msg("%s", xfer_error(f->x));
		check_delivered(f, names[i], data, 4000);
		assert_int_equal(xfer_stat(f->x, names[i], &st), XFER_OK);
		assert_int_equal(st.size, 4000);
	}
	empty = local_file(f, "empty", 0, &edata);
	assert_int_equal(xfer_put(f->x, empty, "empty.csv"), XFER_OK);
	check_delivered(f, "empty.csv", "", 0);
	assert_int_equal(xfer_stat(f->x, "empty.csv", &st), XFER_OK);
	assert_int_equal(st.size, 0);
	assert_int_equal(entries(f->dir), 4);
	free(empty);
	free(edata);
	free(src);
	free(data);
}

static void
test_put_onto_existing_name(void **state)
{
	struct fx *f = *state;
	char *data, *src, *p, *back;
	size_t got;

	LIVE();
	src = local_file(f, "src", 1000, &data);
	p = xasprintf("%s/roster.csv", f->dir);
	write_file(p, "vendor's", 8);
	assert_int_equal(xfer_put(f->x, src, "roster.csv"), XFER_ERR_EXISTS);
	assert_contains(xfer_error(f->x), "roster.csv already exists");
	assert_false(xfer_retryable(XFER_ERR_EXISTS));
	back = read_file(p, &got);
	assert_string_equal(back, "vendor's");
	assert_int_equal(entries(f->dir), 1);
	free(back);
	free(p);
	free(src);
	free(data);
}

static void
test_rename_onto_existing_name(void **state)
{
	struct fx *f = *state;
	char *a, *b, *c, *back;
	size_t got;

	LIVE();
	a = xasprintf("%s/a.csv", f->dir);
	b = xasprintf("%s/b.csv", f->dir);
	c = xasprintf("%s/c.csv", f->dir);
	write_file(a, "AAA", 3);
	write_file(c, "CCC", 3);
	assert_int_equal(xfer_rename(f->x, "a.csv", "b.csv"), XFER_OK);
	assert_int_equal(access(a, F_OK), -1);
	assert_int_equal(xfer_rename(f->x, "b.csv", "c.csv"), XFER_ERR_EXISTS);
	assert_contains(xfer_error(f->x), "c.csv already exists");
	back = read_file(b, &got);
	assert_string_equal(back, "AAA");
	free(back);
	back = read_file(c, &got);
	assert_string_equal(back, "CCC");
	free(back);
	assert_int_equal(xfer_rename(f->x, "nope.csv", "d.csv"),
	                 XFER_ERR_NOTFOUND);
	free(a);
	free(b);
	free(c);
}

/* --- live: refusing the wrong server or key ---------------------------- */

static void
test_wrong_fingerprint(void **state)
{
	struct fx *f = *state;
	struct xfer_opts o;
	char *fp;

	LIVE();
	fp = xstrdup(env.fp);
	fp[5] = fp[5] == 'A' ? 'B' : 'A';
	live_opts(&o, f->url);
	o.host_fingerprint = fp;
	expect_open(&o, XFER_ERR_HOSTKEY, "mismatch sha256 fingerprint");
	assert_false(xfer_retryable(XFER_ERR_HOSTKEY));
	assert_int_equal(entries(f->dir), 0); /* nothing, not even a temp */
	free(fp);
}

static void
test_fingerprint_with_prefix_and_padding(void **state)
{
	struct fx *f = *state;
	struct xfer_opts o;
	struct xfer *x;
	char *fp, *cause = NULL;

	LIVE();
	fp = xasprintf("SHA256:%s=", env.fp);
	live_opts(&o, f->url);
	o.host_fingerprint = fp;
	if (xfer_open(&o, &x, &cause) != XFER_OK)
		fail_msg("%s", cause);
	xfer_close(x);
	free(fp);
}

static void
test_missing_fingerprint_live(void **state)
{
	struct fx *f = *state;
	struct xfer_opts o;

	LIVE();
	live_opts(&o, f->url);
	o.host_fingerprint = NULL;
	expect_open(&o, XFER_ERR_HOSTKEY,
	            "no host key fingerprint configured; refusing to connect");
	assert_int_equal(entries(f->dir), 0);
}

static void
test_wrong_key(void **state)
{
	struct fx *f = *state;
	struct xfer_opts o;

	LIVE();
	live_opts(&o, f->url);
	o.private_key = env.other_key;
	o.public_key = NULL;
	o.passphrase = "secret passphrase"; /* must not show up */
	expect_open(&o, XFER_ERR_AUTH, "connect: Authentication failure");
}

static void
test_missing_remote_dir(void **state)
{
	struct fx *f = *state;
	struct xfer_opts o;
	char *url;

	LIVE();
	url = xasprintf("%s/nope", f->url);
	live_opts(&o, url);
	expect_open(&o, XFER_ERR_NOTFOUND, "remote directory not found");
	free(url);
}

static void
test_home_relative_dir(void **state)
{
	struct passwd *pw = getpwuid(getuid());
	struct xfer_opts o;
	struct xfer_stat st;
	struct xfer *x;
	char *url, *name, *path, *cause = NULL;

	LIVE();
	assert_non_null(pw);
	/* "/~" is the login directory; quote commands there use relative
	 * paths, so stat (URL) and remove (quote) must agree. */
	name = xasprintf("rosterd-xfer-test-%08x", (unsigned)xfer_random32());
	path = xasprintf("%s/%s", pw->pw_dir, name);
	write_file(path, "home", 4);
	url = xasprintf("sftp://%s@%s:%s/~", env.user, env.host, env.port);
	live_opts(&o, url);
	if (xfer_open(&o, &x, &cause) != XFER_OK)
		fail_msg("%s", cause);
	assert_int_equal(xfer_stat(x, name, &st), XFER_OK);
	assert_int_equal(st.size, 4);
	assert_int_equal(xfer_remove(x, name), XFER_OK);
	assert_int_equal(access(path, F_OK), -1);
	xfer_close(x);
	free(url);
	url = xasprintf("sftp://%s@%s:%s/~/%s", env.user, env.host, env.port,
	                name);
	live_opts(&o, url);
	expect_open(&o, XFER_ERR_NOTFOUND, "remote directory not found");
	free(url);
	free(path);
	free(name);
}

/* --- live: return files ------------------------------------------------ */

static void
test_list_get_remove_return_file(void **state)
{
	static const char *const files[] = {"ack_20260105.csv",
	                                    "ack_20260104.csv", "roster.csv",
	                                    ".ack_20260106.csv.part"};
	struct fx *f = *state;
	char *data, *p, *out, *back;
	struct xfer_list l;
	struct stat st;
	size_t i, got;

	LIVE();
	data = make_bytes(70000, 7);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		p = xasprintf("%s/%s", f->dir, files[i]);
		write_file(p, data, 70000);
		free(p);
	}
	assert_int_equal(xfer_list(f->x, "ack_*.csv", &l), XFER_OK);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.names[0], "ack_20260104.csv");
	assert_string_equal(l.names[1], "ack_20260105.csv");
	xfer_list_free(&l);
	assert_int_equal(xfer_list(f->x, NULL, &l), XFER_OK);
	assert_int_equal(l.n, 3); /* "*" skips the dot name */
	xfer_list_free(&l);

	out = xasprintf("%s/ack.csv", f->local);
	assert_int_equal(xfer_get(f->x, "ack_20260104.csv", out), XFER_OK);
	back = read_file(out, &got);
	assert_int_equal(got, 70000);
	assert_memory_equal(back, data, 70000);
	assert_int_equal(stat(out, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(entries(f->local), 1);
	free(back);

	assert_int_equal(xfer_get(f->x, "nope.csv", out), XFER_ERR_NOTFOUND);
	assert_int_equal(entries(f->local), 1); /* no temp left */

	assert_int_equal(xfer_remove(f->x, "ack_20260104.csv"), XFER_OK);
	p = xasprintf("%s/ack_20260104.csv", f->dir);
	assert_int_equal(access(p, F_OK), -1);
	free(p);
	assert_int_equal(xfer_remove(f->x, "ack_20260104.csv"),
	                 XFER_ERR_NOTFOUND);
	assert_int_equal(xfer_list(f->x, "ack_*.csv", &l), XFER_OK);
	assert_int_equal(l.n, 1);
	xfer_list_free(&l);
	free(out);
	free(data);
}

/* --- live: a relay that cuts or stalls the first connection ------------ */

struct relay {
	int lfd, port;
	size_t limit; /* client-to-server bytes before the first conn breaks */
	int stall;    /* 1: stop relaying but keep it open; 0: close it */
	_Atomic int stop;
	_Atomic int conns;
	pthread_t th;
};

static int
relay_connect(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)atoi(env.port));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Copy one chunk from -> to; -1 at EOF or error. */
static ssize_t
relay_copy(int from, int to, size_t max)
{
	char buf[16384];
	ssize_t n = read(from, buf, max < sizeof(buf) ? max : sizeof(buf));

	if (n <= 0 || write(to, buf, (size_t)n) != n)
		return -1;
	return n;
}

/* Relay one connection until EOF, a newer connection, or the limit. */
static void
relay_serve(struct relay *r, int c, int limited)
{
	struct pollfd p[3];
	size_t up = 0;
	int s = relay_connect();
	ssize_t n;

	p[0] = (struct pollfd){.fd = r->lfd, .events = POLLIN};
	p[1] = (struct pollfd){.fd = c, .events = POLLIN};
	p[2] = (struct pollfd){.fd = s, .events = POLLIN};
	while (s != -1 && !r->stop) {
		/* Stalled: relay nothing, wait for the client to reconnect. */
		if (poll(p, up >= r->limit && limited ? 1 : 3, 100) <= 0)
			continue;
		if (p[0].revents & POLLIN)
			break;
		if (up >= r->limit && limited)
			continue;
		if (p[2].revents & (POLLIN | POLLHUP) &&
		    relay_copy(s, c, SIZE_MAX) < 0)
			break;
		if (p[1].revents & (POLLIN | POLLHUP)) {
			n = relay_copy(c, s,
			               limited ? r->limit - up : SIZE_MAX);
			if (n < 0)
				break;
			up += (size_t)n;
			if (limited && up >= r->limit && !r->stall)
				break;
		}
	}
	close(c);
	if (s != -1)
		close(s);
}

static void *
relay_main(void *arg)
{
	struct relay *r = arg;
	struct pollfd p = {.fd = r->lfd, .events = POLLIN};
	int c;

	while (!r->stop) {
		if (poll(&p, 1, 100) <= 0)
			continue;
		if ((c = accept(r->lfd, NULL, NULL)) == -1)
			continue;
		relay_serve(r, c, r->conns++ == 0);
	}
	return NULL;
}

static void
relay_start(struct relay *r, size_t limit, int stall)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);

	memset(r, 0, sizeof(*r));
	r->limit = limit;
	r->stall = stall;
	r->lfd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(r->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(r->lfd, 8), 0);
	assert_int_equal(getsockname(r->lfd, (struct sockaddr *)&a, &len), 0);
	r->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&r->th, NULL, relay_main, r), 0);
}

static void
relay_stop(struct relay *r)
{
	r->stop = 1;
	pthread_join(r->th, NULL);
	close(r->lfd);
}

/* Upload through a relay that breaks the first connection after limit
 * bytes; the handle must report failure and leave nothing behind. */
static void
cut_upload(struct fx *f, int stall, enum xfer_err want, const char *needle)
{
	struct relay r;
	struct xfer_opts o;
	struct xfer *x;
	char *url, *data, *src, *cause = NULL;
	enum xfer_err e;

	src = local_file(f, "big", 8 * 1024 * 1024, &data);
	relay_start(&r, 2 * 1024 * 1024, stall);
	url = url_for(r.port, f->dir);
	live_opts(&o, url);
	o.low_speed_time = 2; /* a stall is noticed after 2 s */
	if (xfer_open(&o, &x, &cause) != XFER_OK)
		fail_msg("%s", cause);
	e = xfer_put(x, src, "roster.csv");
	if (e != want)
		fail_msg("got %s: %s", xfer_strerror(e), xfer_error(x));
	assert_contains(xfer_error(x), needle);
	assert_true(xfer_retryable(e));
	assert_int_equal(r.conns, 2); /* the cut one, then the cleanup */
	/* Neither the final name nor the temporary file is left. */
	assert_int_equal(entries(f->dir), 0);
	/* The same handle delivers on retry over a fresh connection. */
	assert_int_equal(xfer_put(x, src, "roster.csv"), XFER_OK);
	check_delivered(f, "roster.csv", data, 8 * 1024 * 1024);
	xfer_close(x);
	relay_stop(&r);
	free(url);
	free(src);
	free(data);
}

static void
test_connection_cut_mid_upload(void **state)
{
	LIVE();
	cut_upload(*state, 0, XFER_ERR_IO, "upload roster.csv: ");
}

static void
test_stalled_upload_times_out(void **state)
{
	LIVE();
	cut_upload(*state, 1, XFER_ERR_TIMEOUT,
	           "upload roster.csv: stalled: under 1 bytes/s for 2 s");
}

static void
test_silent_server_times_out(void **state)
{
	struct fx *f = *state;
	struct xfer_opts o;
	struct relay r;
	char *url;

	LIVE();
	/* TCP connects, but not one byte of SSH gets through. */
	relay_start(&r, 0, 1);
	url = url_for(r.port, f->dir);
	live_opts(&o, url);
	o.connect_timeout_ms = 1500;
	expect_open(&o, XFER_ERR_TIMEOUT, "connect:");
	relay_stop(&r);
	free(url);
}

/* --- live: threads and speed ------------------------------------------- */

struct worker {
	struct fx *f;
	int id;
	int failed;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct xfer_opts o;
	struct xfer *x;
	char *src, *name, *cause = NULL;
	int i;

	live_opts(&o, w->f->url);
	if (xfer_open(&o, &x, &cause) != XFER_OK) {
		free(cause);
		w->failed = 1;
		return NULL;
	}
	src = xasprintf("%s/src", w->f->local);
	for (i = 0; i < 3; i++) {
		name = xasprintf("w%d-%d.csv", w->id, i);
		if (xfer_put(x, src, name) != XFER_OK)
			w->failed = 1;
		free(name);
	}
	free(src);
	xfer_close(x);
	return NULL;
}

static void
test_threads(void **state)
{
	struct fx *f = *state;
	struct worker w[4];
	pthread_t th[4];
	char *data, *src, *name;
	int i, j;

	LIVE();
	src = local_file(f, "src", 300000, &data);
	for (i = 0; i < 4; i++) {
		w[i] = (struct worker){.f = f, .id = i};
		assert_int_equal(
		    pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_false(w[i].failed);
	}
	for (i = 0; i < 4; i++)
		for (j = 0; j < 3; j++) {
			name = xasprintf("w%d-%d.csv", i, j);
			check_delivered(f, name, data, 300000);
			free(name);
		}
	assert_int_equal(entries(f->dir), 12);
	free(src);
	free(data);
}

static void
test_big_upload_timing(void **state)
{
	struct fx *f = *state;
	const char *mb = getenv("ROSTERD_TEST_SFTP_BIG_MB");
	struct timespec t0, t1;
	size_t len;
	char *data, *src;
	double s;

	LIVE();
	if (mb == NULL || atoi(mb) <= 0)
		skip();
	len = (size_t)atoi(mb) * 1024 * 1024;
	src = local_file(f, "big", len, &data);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(xfer_put(f->x, src, "big.csv"), XFER_OK);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	print_message("xfer_put of %s MB over loopback SFTP: %.3f s "
	              "(%.0f MB/s)\n",
	              mb, s, (double)atoi(mb) / s);
	check_delivered(f, "big.csv", data, len);
	free(src);
	free(data);
}

#define L(fn) cmocka_unit_test_setup_teardown(fn, setup_live, teardown_live)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fingerprint_forms),
	    cmocka_unit_test(test_no_fingerprint_refuses_without_connecting),
	    cmocka_unit_test(test_option_errors),
	    cmocka_unit_test(test_server_down),
	    cmocka_unit_test(test_cancel_silent_server),
	    L(test_put_visible_under_final_name),
	    L(test_put_odd_names_and_empty_file),
	    L(test_put_onto_existing_name),
	    L(test_rename_onto_existing_name),
	    L(test_wrong_fingerprint),
	    L(test_fingerprint_with_prefix_and_padding),
	    L(test_missing_fingerprint_live),
	    L(test_wrong_key),
	    L(test_missing_remote_dir),
	    L(test_home_relative_dir),
	    L(test_list_get_remove_return_file),
	    L(test_connection_cut_mid_upload),
	    L(test_stalled_upload_times_out),
	    L(test_silent_server_times_out),
	    L(test_threads),
	    L(test_big_upload_timing),
	};

	env.host = getenv("ROSTERD_TEST_SFTP_HOST");
	env.port = getenv("ROSTERD_TEST_SFTP_PORT");
	env.user = getenv("ROSTERD_TEST_SFTP_USER");
	env.key = getenv("ROSTERD_TEST_SFTP_KEY");
	env.pubkey = getenv("ROSTERD_TEST_SFTP_PUBKEY");
	env.other_key = getenv("ROSTERD_TEST_SFTP_OTHER_KEY");
	env.fp = getenv("ROSTERD_TEST_SFTP_FINGERPRINT");
	env.root = getenv("ROSTERD_TEST_SFTP_ROOT");
	if (env.host == NULL || env.port == NULL || env.user == NULL ||
	    env.key == NULL || env.other_key == NULL || env.fp == NULL ||
	    env.root == NULL) {
		print_message("ROSTERD_TEST_SFTP_* not set: live SFTP tests "
		              "skipped (tests/e2e/test_xfer_sftp.py sets "
		              "them)\n");
		env.host = NULL;
	}
	if (getenv("ROSTERD_TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("ROSTERD_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
