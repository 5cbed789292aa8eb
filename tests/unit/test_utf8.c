/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* util/utf8: validation and scrubbing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/utf8.h"

static void
test_bad(void **state)
{
	(void)state;
	assert_int_equal(utf8_bad("", 0), -1);
	assert_int_equal(utf8_bad("plain", 5), -1);
	assert_int_equal(utf8_bad("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9),
	                 -1);
	assert_int_equal(utf8_bad("a\xe9", 2), 1);            /* Latin-1 */
	assert_int_equal(utf8_bad("a\xc3", 2), 1);            /* cut short */
	assert_int_equal(utf8_bad("\xc0\xaf", 2), 0);         /* overlong */
	assert_int_equal(utf8_bad("\xe0\x80\xaf", 3), 0);     /* overlong */
	assert_int_equal(utf8_bad("\xed\xa0\x80", 3), 0);     /* surrogate */
	assert_int_equal(utf8_bad("\xf4\x90\x80\x80", 4), 0); /* > 10FFFF */
	assert_int_equal(utf8_bad("ab\x80", 3), 2); /* lone continuation */
	/* Past the eight-byte ASCII steps, and straddling one. */
	assert_int_equal(utf8_bad("0123456789abcdef\xe9", 17), 16);
	assert_int_equal(utf8_bad("0123456\xc3\xa9"
	                          "89abcdef",
	                          17),
	                 -1);
	assert_int_equal(utf8_bad("0123456\xc3"
	                          "x89abcdef",
	                          17),
	                 7);
	assert_int_equal(utf8_bad("\xff", 1), 0);
}

static void
test_scrub(void **state)
{
	char s1[] = "plain \xc3\xa9t\xc3\xa9", s2[] = "id \"\xc3\" cut",
	     s3[] = "\xed\xa0\x80!\xf0\x9f\x98", s4[] = "\xc3\xa9\xc3";

	(void)state;
	utf8_scrub(s1);
	assert_string_equal(s1, "plain \xc3\xa9t\xc3\xa9");
	utf8_scrub(s2);
	assert_string_equal(s2, "id \"?\" cut");
	utf8_scrub(s3); /* a surrogate, then a 4-byte form cut short */
	assert_string_equal(s3, "???"
	                        "!???");
	utf8_scrub(s4); /* a message cut at its buffer's end */
	assert_string_equal(s4, "\xc3\xa9?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bad),
	    cmocka_unit_test(test_scrub),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
