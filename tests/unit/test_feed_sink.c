/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * Unit tests for the file a run writes: the bytes on disk are the bytes
 * written, whatever the write sizes and whether the file system takes
 * O_DIRECT, and the hash and size describe them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "feed/sink.h"
#include "util/xmalloc.h"

/* n bytes of a pattern that never repeats at a block's period. */
static char *
pattern(size_t n)
{
	char *p = xmalloc(n + 1);

	for (size_t i = 0; i < n; i++)
		p[i] = (char)('!' + (i * 7 + i / 4093) % 90);
	return p;
}

static void
sha_hex(const char *p, size_t n, char hex[65])
{
	unsigned char md[32];
	unsigned int mdn = 0;

	EVP_Digest(p, n, md, &mdn, EVP_sha256(), NULL);
	for (size_t i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static char *
slurp(int dirfd, const char *name, size_t *n)
{
	struct stat sb;
	char *p;
	int fd;

	fd = openat(dirfd, name, O_RDONLY);
	assert_true(fd != -1);
	assert_int_equal(fstat(fd, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	p = xmalloc((size_t)sb.st_size + 1);
	assert_int_equal(read(fd, p, (size_t)sb.st_size), sb.st_size);
	close(fd);
	*n = (size_t)sb.st_size;
	return p;
}

/* Write n bytes in pieces of the given sizes (cycled) into dir. */
static void
write_check(const char *dir, size_t n, const size_t *pieces, size_t npieces)
{
	char hex[65], want[65], again[65], *data = pattern(n), *got;
	char *cause = NULL;
	struct feed_sink *s;
	size_t at = 0, k, i = 0, gotn;
	int64_t size = -1;
	int dirfd;

	dirfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dirfd != -1);
	s = feed_sink_open(dirfd, "out.tmp");
	assert_non_null(s);
	while (at < n) {
		k = pieces[i++ % npieces];
		if (k > n - at)
			k = n - at;
		assert_int_equal(fwrite(data + at, 1, k, feed_sink_file(s)), k);
		at += k;
	}
	assert_int_equal(feed_sink_close(s, "out.tmp", hex, &size, &cause), 0);
	assert_null(cause);
	assert_int_equal(size, (int64_t)n);
	sha_hex(data, n, want);
	assert_string_equal(hex, want);
	got = slurp(dirfd, "out.tmp", &gotn);
	assert_int_equal(gotn, n);
	assert_memory_equal(got, data, n);
	assert_int_equal(feed_sink_hash_file(dirfd, "out.tmp", again), 0);
	assert_string_equal(again, want);
	unlinkat(dirfd, "out.tmp", 0);
	close(dirfd);
	free(got);
	free(data);
}

static void
sizes(const char *dir)
{
	static const size_t small[] = {1, 7, 300, 4095, 4097};
	static const size_t big[] = {FEED_SINK_BLOCK + 17, 65536,
	                             FEED_SINK_BLOCK};

	write_check(dir, 0, small, 5);
	write_check(dir, 10, small, 5);
	write_check(dir, FEED_SINK_ALIGN, big, 3);
	write_check(dir, FEED_SINK_BLOCK, big, 3);
	write_check(dir, 3 * FEED_SINK_BLOCK + 12345, small, 5);
	write_check(dir, 5 * FEED_SINK_BLOCK + FEED_SINK_ALIGN, big, 3);
	write_check(dir, 4 * FEED_SINK_BLOCK + 1, big, 3);
}

static char *
tmpdir(const char *parent)
{
	char *d = xasprintf("%s/rosterd-sink-XXXXXX", parent);

	if (mkdtemp(d) == NULL) {
		free(d);
		return NULL;
	}
	return d;
}

/* A disk file system: whole blocks go O_DIRECT where it allows. */
static void
test_disk(void **state)
{
	const char *t = getenv("TMPDIR");
	char *d = tmpdir(t != NULL ? t : "/var/tmp");

	(void)state;
	assert_non_null(d);
	sizes(d);
	rmdir(d);
	free(d);
}

/* tmpfs, where O_DIRECT is refused or ignored: the same bytes. */
static void
test_tmpfs(void **state)
{
	char *d = tmpdir("/dev/shm");

	(void)state;
	if (d == NULL)
		skip();
	sizes(d);
	rmdir(d);
	free(d);
}

static void
test_errors(void **state)
{
	char *d = tmpdir("/tmp");
	int dirfd;

	(void)state;
	assert_non_null(d);
	dirfd = open(d, O_RDONLY | O_DIRECTORY);
	assert_true(dirfd != -1);
	/* A symbolic link is never followed. */
	assert_int_equal(symlinkat("/etc/passwd", dirfd, "link"), 0);
	assert_null(feed_sink_open(dirfd, "link"));
	assert_null(feed_sink_open(dirfd, "no/such/dir"));
	unlinkat(dirfd, "link", 0);
	feed_sink_free(NULL);
	close(dirfd);
	rmdir(d);
	free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_disk),
	    cmocka_unit_test(test_tmpfs),
	    cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
