/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * Unit tests for the record pipe: every record reaches the consumer
 * thread whole and in order, across many batches, and a consumer failure
 * stops the pipe.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "feed/pipe.h"
#include "util/buf.h"
#include "util/xmalloc.h"

/* What the consumer saw, one line per record. */
struct seen {
	struct buf out;
	size_t n;
	size_t fail_at; /* fail on this record (1-based); 0: never */
};

static void
line(struct buf *b, const struct feed_pipe_item *it)
{
	buf_addf(b, "%d %s %s %s %s\n", (int)it->act, it->action,
	         it->vals != NULL ? it->vals : "(null)",
	         it->term_date != NULL ? it->term_date : "(null)",
	         it->term_reason != NULL ? it->term_reason : "(null)");
}

static int
consume(const struct feed_pipe_item *it, void *arg)
{
	struct seen *s = arg;

	if (++s->n == s->fail_at)
		return -1;
	line(&s->out, it);
	return 0;
}

/* Record i: values long enough that batches fill by bytes, too. */
static void
item(size_t i, struct buf *vals, struct feed_pipe_item *it)
{
	static const char *const actions[] = {"add", "change", "terminate",
	                                      "none"};

	buf_reset(vals);
	buf_addf(vals, "E%07zu\x1f", i);
	for (size_t k = 0; k < i % 97; k++)
		buf_addch(vals, (char)('a' + k % 26));
	it->act = (enum fmt_action)(i % 4);
	it->action = actions[i % 4];
	it->vals = i % 1000 == 7 ? NULL : buf_str(vals);
	it->term_date = i % 4 == 2 ? "2026-12-01" : NULL;
	it->term_reason = i % 4 == 2 ? "inactive" : NULL;
}

static void
test_order(void **state)
{
	struct feed_pipe_item it;
	struct buf vals, want;
	struct seen s;
	struct feed_pipe *p;
	const size_t n = 100000;

	(void)state;
	memset(&s, 0, sizeof(s));
	buf_init(&s.out, 0);
	buf_init(&vals, 0);
	buf_init(&want, 0);
	p = feed_pipe_new(consume, &s);
	for (size_t i = 0; i < n; i++) {
		item(i, &vals, &it);
		line(&want, &it);
		assert_int_equal(feed_pipe_push(p, &it), 0);
	}
	assert_int_equal(feed_pipe_finish(p), 0);
	assert_int_equal(s.n, n);
	assert_int_equal(s.out.len, want.len);
	assert_memory_equal(s.out.data, want.data, want.len);
	feed_pipe_free(p);
	buf_free(&s.out);
	buf_free(&vals);
	buf_free(&want);
}

static void
test_empty(void **state)
{
	struct seen s;
	struct feed_pipe *p;

	(void)state;
	memset(&s, 0, sizeof(s));
	buf_init(&s.out, 0);
	p = feed_pipe_new(consume, &s);
	assert_int_equal(feed_pipe_finish(p), 0);
	assert_int_equal(s.n, 0);
	feed_pipe_free(p);
	/* Freed without finishing: the thread still stops. */
	feed_pipe_free(feed_pipe_new(consume, &s));
	buf_free(&s.out);
}

static void
test_failure(void **state)
{
	struct feed_pipe_item it;
	struct buf vals;
	struct seen s;
	struct feed_pipe *p;
	size_t i;
	int rc = 0;

	(void)state;
	memset(&s, 0, sizeof(s));
	buf_init(&s.out, 0);
	buf_init(&vals, 0);
	s.fail_at = 10;
	p = feed_pipe_new(consume, &s);
	for (i = 0; i < 1000000 && rc == 0; i++) {
		item(i, &vals, &it);
		rc = feed_pipe_push(p, &it);
	}
	/* Pushing fails within a few batches of the consumer's failure. */
	assert_int_equal(rc, -1);
	assert_true(i < 5 * 4096 * FEED_PIPE_NBATCH);
	assert_int_equal(feed_pipe_finish(p), -1);
	/* Nothing after the failed record reached the consumer. */
	assert_int_equal(s.n, 10);
	assert_non_null(strstr(buf_str(&s.out), "E0000008"));
	assert_null(strstr(buf_str(&s.out), "E0000009"));
	feed_pipe_free(p);
	buf_free(&s.out);
	buf_free(&vals);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_order),
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
