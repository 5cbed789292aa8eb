/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* Unit tests for src/xfer: the dir: backend, the front end and backoff. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/xmalloc.h"
#include "xfer/xfer.h"

struct fx {
	char *dest;  /* the dir: destination */
	char *local; /* local scratch files */
	char *url;
	struct xfer *x;
};

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	return remove(path);
}

static void
rm_rf(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Contents of path (NUL-terminated for convenience); NULL when absent. */
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
	assert_int_equal(*len, (size_t)st.st_size);
	p[*len] = '\0';
	fclose(f);
	return p;
}

static char *
path_in(const char *dir, const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

/* Random-looking bytes, including NULs and newlines. */
static char *
make_bytes(size_t len)
{
	char *p = xmalloc(len ? len : 1);
	uint32_t v = 2463534242u;
	size_t i;

	for (i = 0; i < len; i++) {
		v ^= v << 13;
		v ^= v >> 17;
		v ^= v << 5;
		p[i] = (char)(v & 0xff);
	}
	return p;
}

static size_t
count_entries(const char *dir)
{
	struct xfer_opts o = {0};
	struct xfer_list l;
	struct xfer *x;
	char *cause = NULL;
	size_t n;

	o.url = xasprintf("dir:%s", dir);
	assert_int_equal(xfer_open(&o, &x, &cause), XFER_OK);
	assert_int_equal(xfer_list(x, ".*", &l), XFER_OK); /* dot names */
	n = l.n;
	xfer_list_free(&l);
	assert_int_equal(xfer_list(x, "*", &l), XFER_OK);
	n += l.n;
	xfer_list_free(&l);
	xfer_close(x);
	free((char *)o.url);
	return n;
}

static int
setup(void **state)
{
	struct xfer_opts o = {0};
	struct fx *f = xcalloc(1, sizeof(*f));
	char *cause = NULL;

	f->dest = xstrdup("/tmp/rosterd-xfer-XXXXXX");
	f->local = xstrdup("/tmp/rosterd-xfer-local-XXXXXX");
	assert_non_null(mkdtemp(f->dest));
	assert_non_null(mkdtemp(f->local));
	f->url = xasprintf("dir:%s", f->dest);
	o.url = f->url;
	assert_int_equal(xfer_open(&o, &f->x, &cause), XFER_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	xfer_close(f->x);
	rm_rf(f->dest);
	rm_rf(f->local);
	free(f->dest);
	free(f->local);
	free(f->url);
	free(f);
	return 0;
}

/* Write len bytes to a new local file; returns its path (caller frees). */
static char *
local_file(struct fx *f, const char *name, size_t len, char **data)
{
	char *p = path_in(f->local, name);

	*data = make_bytes(len);
	write_file(p, *data, len);
	return p;
}

/* --- backoff and error codes ------------------------------------------ */

static void
test_backoff_growth(void **state)
{
	static const uint32_t want[] = {100, 200, 400, 800, 1600, 3200, 6400};
	unsigned i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_int_equal(xfer_backoff_ms(i, 100, 10000, UINT32_MAX),
		                 want[i]);
	assert_int_equal(xfer_backoff_ms(7, 100, 10000, UINT32_MAX), 10000);
	assert_int_equal(xfer_backoff_ms(1000, 100, 10000, UINT32_MAX), 10000);
	assert_int_equal(xfer_backoff_ms(UINT32_MAX, 100, 10000, UINT32_MAX),
	                 10000);
}

static void
test_backoff_jitter(void **state)
{
	uint64_t sum = 0;
	uint32_t v;
	int i;

	assert_int_equal(xfer_backoff_ms(3, 100, 10000, 0), 0);
	assert_int_equal(xfer_backoff_ms(3, 100, 10000, UINT32_MAX / 2), 399);
	assert_int_equal(xfer_backoff_ms(3, 100, 10000, UINT32_MAX / 4), 199);
	/* Uniform over [0, 800] for attempt 3: bounded, mean near 400. */
	for (i = 0; i < 20000; i++) {
		v = xfer_backoff_ms(3, 100, 10000, xfer_random32());
		assert_true(v <= 800);
		sum += v;
	}
	assert_in_range(sum / 20000, 370, 430);
}

static void
test_backoff_edges(void **state)
{
	assert_int_equal(xfer_backoff_ms(5, 0, 10000, UINT32_MAX), 0);
	assert_int_equal(xfer_backoff_ms(5, 100, 0, UINT32_MAX), 0);
	assert_int_equal(xfer_backoff_ms(0, 5000, 1000, UINT32_MAX), 1000);
	assert_int_equal(
	    xfer_backoff_ms(40, UINT32_MAX, UINT32_MAX, UINT32_MAX),
	    UINT32_MAX);
	assert_int_equal(xfer_backoff_ms(31, 1, UINT32_MAX, UINT32_MAX),
	                 1u << 31);
}

static void
test_codes(void **state)
{
	assert_true(xfer_retryable(XFER_ERR_CONNECT));
	assert_true(xfer_retryable(XFER_ERR_TIMEOUT));
	assert_true(xfer_retryable(XFER_ERR_IO));
	assert_false(xfer_retryable(XFER_ERR_HOSTKEY));
	assert_false(xfer_retryable(XFER_ERR_AUTH));
	assert_false(xfer_retryable(XFER_ERR_EXISTS));
	assert_false(xfer_retryable(XFER_ERR_CONFIG));
	assert_false(xfer_retryable(XFER_OK));
	assert_string_equal(xfer_strerror(XFER_ERR_HOSTKEY), "host key");
	assert_string_equal(xfer_strerror(XFER_ERR_EXISTS), "exists");
	assert_string_equal(xfer_strerror((enum xfer_err)999), "unknown");
}

static void
test_temp_name(void **state)
{
	char *a = xfer_temp_name("roster.csv");
	char *b = xfer_temp_name("roster.csv");

	assert_int_equal(strlen(a), strlen(".roster.csv.12345678.part"));
	assert_memory_equal(a, ".roster.csv.", 12);
	assert_string_equal(a + 20, ".part");
	assert_string_not_equal(a, b);
	free(a);
	free(b);
}

/* --- open -------------------------------------------------------------- */

static void
expect_open_fails(const char *url, enum xfer_err want, const char *needle)
{
	struct xfer_opts o = {0};
	struct xfer *x = (struct xfer *)1;
	char *cause = NULL;

	o.url = url;
	assert_int_equal(xfer_open(&o, &x, &cause), want);
	assert_null(x);
	assert_non_null(cause);
	if (strstr(cause, needle) == NULL)
		fail_msg("cause \"%s\" lacks \"%s\"", cause, needle);
	free(cause);
}

static void
test_open_errors(void **state)
{
	struct fx *f = *state;
	char *file = path_in(f->local, "plain"), *url;

	expect_open_fails(NULL, XFER_ERR_CONFIG, "no destination URL");
	expect_open_fails("ftp://host/dir", XFER_ERR_CONFIG,
	                  "unsupported destination");
	expect_open_fails("dir:", XFER_ERR_CONFIG, "no directory");
	expect_open_fails("dir:/nonexistent/rosterd", XFER_ERR_NOTFOUND,
	                  "dir:/nonexistent/rosterd: open directory");
	write_file(file, "x", 1);
	url = xasprintf("dir:%s", file);
	expect_open_fails(url, XFER_ERR_CONFIG, "Not a directory");
	free(url);
	free(file);
}

/* --- put --------------------------------------------------------------- */

static void
test_put_atomic(void **state)
{
	struct fx *f = *state;
	size_t len = 3 * 1024 * 1024 + 17, got;
	char *data, *src = local_file(f, "src", len, &data);
	char *dst = path_in(f->dest, "roster.csv"), *back;
	struct stat st;

	assert_int_equal(xfer_put(f->x, src, "roster.csv"), XFER_OK);
	assert_string_equal(xfer_error(f->x), "");
	back = read_file(dst, &got);
	assert_non_null(back);
	assert_int_equal(got, len);
	assert_memory_equal(back, data, len);
	assert_int_equal(stat(dst, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(count_entries(f->dest), 1); /* no temp left */
	free(back);
	free(dst);
	free(src);
	free(data);
}

static void
test_put_empty_and_mode(void **state)
{
	struct fx *f = *state;
	struct xfer_opts o = {0};
	char *data, *src = local_file(f, "empty", 0, &data);
	char *dst = path_in(f->dest, "empty.csv"), *cause = NULL;
	struct xfer *x;
	struct stat st;
	mode_t old;

	o.url = f->url;
	o.file_mode = 0640;
	assert_int_equal(xfer_open(&o, &x, &cause), XFER_OK);
	old = umask(077); /* the profile's mode wins over the umask */
	assert_int_equal(xfer_put(x, src, "empty.csv"), XFER_OK);
	umask(old);
	assert_int_equal(stat(dst, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	xfer_close(x);
	free(dst);
	free(src);
	free(data);
}

static void
test_put_existing(void **state)
{
	struct fx *f = *state;
	char *data, *src = local_file(f, "src", 100, &data);
	char *dst = path_in(f->dest, "roster.csv"), *back;
	size_t got;

	write_file(dst, "old", 3);
	assert_int_equal(xfer_put(f->x, src, "roster.csv"), XFER_ERR_EXISTS);
	assert_non_null(strstr(xfer_error(f->x), "already exists"));
	assert_non_null(strstr(xfer_error(f->x), f->url));
	back = read_file(dst, &got);
	assert_string_equal(back, "old");
	assert_int_equal(count_entries(f->dest), 1);
	free(back);
	free(dst);
	free(src);
	free(data);
}

static void
test_put_write_failure_leaves_nothing(void **state)
{
	struct fx *f = *state;
	char *data, *src = local_file(f, "big", 1024 * 1024, &data);
	struct rlimit old, small;
	void (*oldsig)(int);
	enum xfer_err e;

	/* Files may not grow past 64 KiB: write() fails with EFBIG midway.
	 * Only the soft limit moves, so it can be raised again. */
	oldsig = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small = old;
	small.rlim_cur = 64 * 1024;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	e = xfer_put(f->x, src, "big.csv");
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, oldsig);
	assert_int_equal(e, XFER_ERR_IO);
	assert_true(xfer_retryable(e));
	assert_non_null(strstr(xfer_error(f->x), "write"));
	assert_int_equal(count_entries(f->dest), 0);
	free(src);
	free(data);
}

static void
test_put_local_errors(void **state)
{
	struct fx *f = *state;
	char *missing = path_in(f->local, "missing");

	assert_int_equal(xfer_put(f->x, missing, "a.csv"), XFER_ERR_LOCAL);
	assert_non_null(strstr(xfer_error(f->x), "No such file"));
	assert_int_equal(xfer_put(f->x, f->local, "a.csv"), XFER_ERR_LOCAL);
	assert_non_null(strstr(xfer_error(f->x), "not a regular file"));
	assert_int_equal(count_entries(f->dest), 0);
	free(missing);
}

static void
test_bad_names(void **state)
{
	static const char *const bad[] = {"",   ".",    "..",       "a/b",
	                                  "/a", "a\nb", "tab\there"};
	struct fx *f = *state;
	char *data, *src = local_file(f, "src", 10, &data);
	char longname[XFER_NAME_MAX + 2];
	struct xfer_stat st;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(xfer_put(f->x, src, bad[i]), XFER_ERR_CONFIG);
		assert_int_equal(xfer_stat(f->x, bad[i], &st), XFER_ERR_CONFIG);
		assert_int_equal(xfer_remove(f->x, bad[i]), XFER_ERR_CONFIG);
	}
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(xfer_put(f->x, src, longname), XFER_ERR_CONFIG);
	longname[XFER_NAME_MAX] = '\0'; /* exactly the limit is fine */
	assert_int_equal(xfer_put(f->x, src, longname), XFER_OK);
	assert_int_equal(count_entries(f->dest), 1);
	free(src);
	free(data);
}

/* --- stat, list, get, remove, rename ----------------------------------- */

static void
test_stat(void **state)
{
	struct fx *f = *state;
	char *data, *src = local_file(f, "src", 12345, &data);
	char *sub = path_in(f->dest, "sub");
	struct xfer_stat st;
	time_t now = time(NULL);

	assert_int_equal(xfer_put(f->x, src, "a.csv"), XFER_OK);
	assert_int_equal(xfer_stat(f->x, "a.csv", &st), XFER_OK);
	assert_int_equal(st.size, 12345);
	assert_in_range(st.mtime, now - 5, now + 5);
	assert_int_equal(xfer_stat(f->x, "nope.csv", &st), XFER_ERR_NOTFOUND);
	assert_non_null(strstr(xfer_error(f->x), "nope.csv"));
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(xfer_stat(f->x, "sub", &st), XFER_ERR_NOTFOUND);
	free(sub);
	free(src);
	free(data);
}

static void
test_list_patterns(void **state)
{
	static const char *const files[] = {"ack_2.csv", "ack_10.csv",
	                                    "ack_1.csv", "other.txt",
	                                    ".ack_3.csv.part"};
	struct fx *f = *state;
	struct xfer_list l;
	char *p;
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		p = path_in(f->dest, files[i]);
		write_file(p, "x", 1);
		free(p);
	}
	p = path_in(f->dest, "ack_dir.csv");
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);

	assert_int_equal(xfer_list(f->x, "ack_*.csv", &l), XFER_OK);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.names[0], "ack_1.csv");
	assert_string_equal(l.names[1], "ack_10.csv");
	assert_string_equal(l.names[2], "ack_2.csv");
	xfer_list_free(&l);
	assert_int_equal(l.n, 0);
	assert_null(l.names);

	assert_int_equal(xfer_list(f->x, NULL, &l), XFER_OK);
	assert_int_equal(l.n, 4); /* no dot names, no directories */
	xfer_list_free(&l);
	assert_int_equal(xfer_list(f->x, ".*.part", &l), XFER_OK);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.names[0], ".ack_3.csv.part");
	xfer_list_free(&l);
	assert_int_equal(xfer_list(f->x, "*.xml", &l), XFER_OK);
	assert_int_equal(l.n, 0);
	xfer_list_free(&l);
	assert_int_equal(xfer_list(f->x, "a/*", &l), XFER_ERR_CONFIG);
	assert_int_equal(xfer_list(f->x, "", &l), XFER_ERR_CONFIG);
	assert_int_equal(l.n, 0);
}

static void
test_get(void **state)
{
	struct fx *f = *state;
	size_t len = 200000, got;
	char *data = make_bytes(len), *back;
	char *remote = path_in(f->dest, "ack.csv");
	char *out = path_in(f->local, "ack-local.csv");
	char *nodir = xasprintf("%s/missing/x.csv", f->local);
	struct stat st;

	write_file(remote, data, len);
	write_file(out, "stale", 5); /* replaced atomically */
	assert_int_equal(xfer_get(f->x, "ack.csv", out), XFER_OK);
	back = read_file(out, &got);
	assert_int_equal(got, len);
	assert_memory_equal(back, data, len);
	assert_int_equal(stat(out, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(count_entries(f->local), 1); /* no temp left */

	assert_int_equal(xfer_get(f->x, "nope.csv", nodir), XFER_ERR_NOTFOUND);
	assert_int_equal(xfer_get(f->x, "ack.csv", nodir), XFER_ERR_LOCAL);
	assert_int_equal(count_entries(f->local), 1);
	free(back);
	free(nodir);
	free(out);
	free(remote);
	free(data);
}

static void
test_remove(void **state)
{
	struct fx *f = *state;
	char *p = path_in(f->dest, "ack.csv");

	write_file(p, "x", 1);
	assert_int_equal(xfer_remove(f->x, "ack.csv"), XFER_OK);
	assert_int_equal(access(p, F_OK), -1);
	assert_int_equal(xfer_remove(f->x, "ack.csv"), XFER_ERR_NOTFOUND);
	free(p);
}

static void
test_rename(void **state)
{
	struct fx *f = *state;
	char *a = path_in(f->dest, "a"), *b = path_in(f->dest, "b");
	char *c = path_in(f->dest, "c"), *back;
	size_t got;

	write_file(a, "AAA", 3);
	write_file(c, "CCC", 3);
	assert_int_equal(xfer_rename(f->x, "a", "b"), XFER_OK);
	assert_int_equal(access(a, F_OK), -1);
	back = read_file(b, &got);
	assert_string_equal(back, "AAA");
	free(back);
	/* Never onto an existing name: both files stay as they were. */
	assert_int_equal(xfer_rename(f->x, "b", "c"), XFER_ERR_EXISTS);
	back = read_file(b, &got);
	assert_string_equal(back, "AAA");
	free(back);
	back = read_file(c, &got);
	assert_string_equal(back, "CCC");
	free(back);
	assert_int_equal(xfer_rename(f->x, "nope", "d"), XFER_ERR_NOTFOUND);
	assert_int_equal(xfer_rename(f->x, "b", "x/y"), XFER_ERR_CONFIG);
	free(a);
	free(b);
	free(c);
}

/* --- the vtable with a fake backend ------------------------------------ */

static int fake_puts;

static enum xfer_err
fake_open(struct xfer *x, const struct xfer_opts *o)
{
	return XFER_OK;
}

static enum xfer_err
fake_put(struct xfer *x, const char *local, const char *name)
{
	fake_puts++;
	if (strcmp(name, "down.csv") == 0)
		return xfer_fail(x, XFER_ERR_CONNECT, "upload %s: refused",
		                 name);
	return XFER_OK;
}

static void
fake_close(struct xfer *x)
{
}

static void
test_fake_backend(void **state)
{
	static const struct xfer_ops fake = {
	    .scheme = "fake",
	    .open = fake_open,
	    .put = fake_put,
	    .close = fake_close,
	};
	struct xfer_opts o = {.url = "fake:"};
	struct xfer *x;
	char *cause = NULL;

	fake_puts = 0;
	assert_int_equal(xfer_open_ops(&fake, &o, &x, &cause), XFER_OK);
	assert_int_equal(xfer_put(x, "/dev/null", "../escape"),
	                 XFER_ERR_CONFIG);
	assert_int_equal(fake_puts, 0); /* names checked before dispatch */
	assert_int_equal(xfer_put(x, "/dev/null", "down.csv"),
	                 XFER_ERR_CONNECT);
	assert_string_equal(xfer_error(x), "fake:: upload down.csv: refused");
	assert_int_equal(xfer_put(x, "/dev/null", "ok.csv"), XFER_OK);
	assert_string_equal(xfer_error(x), ""); /* cleared by the next call */
	assert_int_equal(fake_puts, 2);
	xfer_close(x);
	xfer_close(NULL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backoff_growth),
	    cmocka_unit_test(test_backoff_jitter),
	    cmocka_unit_test(test_backoff_edges),
	    cmocka_unit_test(test_codes),
	    cmocka_unit_test(test_temp_name),
	    cmocka_unit_test(test_fake_backend),
	    T(test_open_errors),
	    T(test_put_atomic),
	    T(test_put_empty_and_mode),
	    T(test_put_existing),
	    T(test_put_write_failure_leaves_nothing),
	    T(test_put_local_errors),
	    T(test_bad_names),
	    T(test_stat),
	    T(test_list_patterns),
	    T(test_get),
	    T(test_remove),
	    T(test_rename),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
