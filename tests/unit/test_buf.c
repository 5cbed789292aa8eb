/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* Unit tests for the bounded buffer in src/util/buf.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "util/buf.h"

static void
test_empty(void **state)
{
	struct buf b;

	buf_init(&b, 16);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_string_equal(buf_str(&b), "");
	buf_free(&b);
}

static void
test_init_default_max(void **state)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(b.max, BUF_MAX_DEFAULT);
	buf_init(&b, 100);
	assert_int_equal(b.max, 100);
}

static void
test_grows_and_terminates(void **state)
{
	struct buf b;
	char want[5001];
	int i;

	buf_init(&b, 0);
	for (i = 0; i < 5000; i++) {
		want[i] = (char)('a' + i % 26);
		assert_int_equal(buf_addch(&b, want[i]), 0);
		assert_true(b.cap > b.len);
		assert_int_equal(b.data[b.len], '\0');
	}
	want[5000] = '\0';
	assert_int_equal(b.len, 5000);
	assert_string_equal(buf_str(&b), want);
	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
}

static void
test_binary_bytes(void **state)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(buf_add(&b, "a\0b", 3), 0);
	assert_int_equal(buf_add(&b, "", 0), 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "a\0b", 4);
	buf_free(&b);
}

static void
test_up_to_max_fits(void **state)
{
	struct buf b;

	buf_init(&b, 8);
	assert_int_equal(buf_addstr(&b, "1234"), 0);
	assert_int_equal(buf_addstr(&b, "5678"), 0);
	assert_int_equal(b.len, 8);
	assert_string_equal(buf_str(&b), "12345678");
	assert_int_equal(b.failed, 0);
	buf_free(&b);
}

static void
test_past_max_frees_and_sticks(void **state)
{
	struct buf b;

	buf_init(&b, 8);
	assert_int_equal(buf_addstr(&b, "12345678"), 0);
	assert_int_equal(buf_addch(&b, '9'), -1);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_not_equal(b.failed, 0);
	assert_string_equal(buf_str(&b), "");
	/* Every later append fails too, even one that would fit. */
	assert_int_equal(buf_addch(&b, 'x'), -1);
	assert_int_equal(buf_add(&b, "", 0), -1);
	assert_int_equal(buf_addf(&b, "%d", 1), -1);
	assert_int_equal(buf_add_json_str(&b, "x"), -1);
	assert_null(b.data);
	buf_free(&b);
}

static void
test_single_append_past_max(void **state)
{
	struct buf b;

	buf_init(&b, 8);
	assert_int_equal(buf_addstr(&b, "abc"), 0);
	assert_int_equal(buf_addstr(&b, "defghi"), -1);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void
test_reset_keeps_allocation(void **state)
{
	struct buf b;
	char *p;
	size_t cap;

	buf_init(&b, 0);
	buf_addstr(&b, "hello world");
	p = b.data;
	cap = b.cap;
	buf_reset(&b);
	assert_ptr_equal(b.data, p);
	assert_int_equal(b.cap, cap);
	assert_int_equal(b.len, 0);
	assert_string_equal(buf_str(&b), "");
	assert_int_equal(buf_addstr(&b, "again"), 0);
	assert_string_equal(buf_str(&b), "again");
	buf_free(&b);
}

static void
test_reset_clears_failure(void **state)
{
	struct buf b;

	buf_init(&b, 4);
	assert_int_equal(buf_addstr(&b, "toolong"), -1);
	buf_reset(&b);
	assert_int_equal(buf_addstr(&b, "ok"), 0);
	assert_string_equal(buf_str(&b), "ok");
	buf_free(&b);
}

static void
test_addf(void **state)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(buf_addstr(&b, "id="), 0);
	assert_int_equal(buf_addf(&b, "%d,%s,%zu", -42, "x y", (size_t)7), 0);
	assert_string_equal(buf_str(&b), "id=-42,x y,7");
	assert_int_equal(b.len, strlen("id=-42,x y,7"));
	assert_int_equal(buf_addf(&b, "%s", ""), 0);
	assert_int_equal(b.len, strlen("id=-42,x y,7"));
	buf_free(&b);
}

static void
test_addf_long(void **state)
{
	struct buf b;
	const char *s;
	size_t i;

	buf_init(&b, 0);
	buf_addch(&b, '<');
	assert_int_equal(buf_addf(&b, "%0700d>", 5), 0);
	s = buf_str(&b);
	assert_int_equal(b.len, 702);
	assert_int_equal(s[0], '<');
	for (i = 1; i < 700; i++)
		assert_int_equal(s[i], '0');
	assert_string_equal(s + 700, "5>");
	buf_free(&b);
}

static void
test_addf_past_max(void **state)
{
	struct buf b;

	buf_init(&b, 10);
	assert_int_equal(buf_addf(&b, "%s", "12345"), 0);
	assert_int_equal(buf_addf(&b, "%s", "678901"), -1);
	assert_null(b.data);
	assert_int_equal(buf_addf(&b, "%s", "1"), -1);
	buf_free(&b);
}

/* Encode s, check the exact text, and that a JSON parser gets s back. */
static void
check_json_str(const char *s, const char *want)
{
	json_error_t err;
	struct buf b;
	json_t *v;

	buf_init(&b, 0);
	assert_int_equal(buf_add_json_str(&b, s), 0);
	assert_string_equal(buf_str(&b), want);
	v = json_loads(buf_str(&b), JSON_DECODE_ANY, &err);
	assert_non_null(v);
	assert_string_equal(json_string_value(v), s);
	json_decref(v);
	buf_free(&b);
}

static void
test_json_plain(void **state)
{
	check_json_str("", "\"\"");
	check_json_str("ada@example.com", "\"ada@example.com\"");
	/* UTF-8 and DEL pass through unchanged: JSON allows them. */
	check_json_str("Zo\xc3\xab \xe2\x82\xac\x7f",
	               "\"Zo\xc3\xab \xe2\x82\xac\x7f\"");
}

static void
test_json_quotes_backslashes(void **state)
{
	check_json_str("say \"hi\"", "\"say \\\"hi\\\"\"");
	check_json_str("C:\\dir\\", "\"C:\\\\dir\\\\\"");
	check_json_str("\"\\", "\"\\\"\\\\\"");
	check_json_str("/", "\"/\"");
}

static void
test_json_control_chars(void **state)
{
	check_json_str("a\nb\rc\td", "\"a\\nb\\rc\\td\"");
	check_json_str("\x01", "\"\\u0001\"");
	check_json_str("x\x1fy", "\"x\\u001fy\"");
	check_json_str("\b\f", "\"\\u0008\\u000c\"");
}

static void
test_json_all_controls(void **state)
{
	char s[32];
	struct buf b;
	size_t i;

	for (i = 1; i < 32; i++)
		s[i - 1] = (char)i;
	s[31] = '\0';
	buf_init(&b, 0);
	buf_add_json_str(&b, s);
	/* No raw control byte survives. */
	for (i = 0; i < b.len; i++)
		assert_true((unsigned char)b.data[i] >= 0x20);
	buf_free(&b);
	check_json_str(s, "\"\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007"
	                  "\\u0008\\t\\n\\u000b\\u000c\\r\\u000e\\u000f"
	                  "\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016"
	                  "\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d"
	                  "\\u001e\\u001f\"");
}

static void
test_json_appends(void **state)
{
	struct buf b;

	buf_init(&b, 0);
	buf_addstr(&b, "{\"k\":");
	buf_add_json_str(&b, "v\"");
	buf_addch(&b, '}');
	assert_string_equal(buf_str(&b), "{\"k\":\"v\\\"\"}");
	buf_free(&b);
}

static void
test_json_past_max(void **state)
{
	struct buf b;

	/* "\"\\n\"" needs 4 bytes; escaping pushes it past 3. */
	buf_init(&b, 3);
	assert_int_equal(buf_add_json_str(&b, "\n"), -1);
	assert_null(b.data);
	assert_int_not_equal(b.failed, 0);
	buf_free(&b);
}

static void
test_detach(void **state)
{
	struct buf b;
	char *s;

	buf_init(&b, 0);
	buf_addstr(&b, "owned");
	s = buf_detach(&b);
	assert_string_equal(s, "owned");
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_string_equal(buf_str(&b), "");
	/* The buffer is usable again and no longer shares s. */
	assert_int_equal(buf_addstr(&b, "next"), 0);
	assert_string_equal(s, "owned");
	assert_string_equal(buf_str(&b), "next");
	free(s);
	buf_free(&b);
}

static void
test_detach_empty(void **state)
{
	struct buf b;
	char *s;

	buf_init(&b, 0);
	s = buf_detach(&b);
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
}

static void
test_add_i64(void **state)
{
	struct buf b;

	buf_init(&b, 0);
	buf_add_i64(&b, 0);
	buf_addch(&b, ' ');
	buf_add_i64(&b, -42);
	buf_addch(&b, ' ');
	buf_add_i64(&b, INT64_MAX);
	buf_addch(&b, ' ');
	buf_add_i64(&b, INT64_MIN);
	assert_string_equal(buf_str(&b), "0 -42 9223372036854775807 "
	                                 "-9223372036854775808");
	buf_free(&b);
}

static void
test_json_chars(void **state)
{
	struct buf b;

	buf_init(&b, 0);
	buf_add_json_chars(&b, "plain/");
	buf_add_json_chars(&b, "q\"b\\\x01");
	assert_string_equal(buf_str(&b), "plain/q\\\"b\\\\\\u0001");
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_init_default_max),
	    cmocka_unit_test(test_grows_and_terminates),
	    cmocka_unit_test(test_binary_bytes),
	    cmocka_unit_test(test_up_to_max_fits),
	    cmocka_unit_test(test_past_max_frees_and_sticks),
	    cmocka_unit_test(test_single_append_past_max),
	    cmocka_unit_test(test_reset_keeps_allocation),
	    cmocka_unit_test(test_reset_clears_failure),
	    cmocka_unit_test(test_addf),
	    cmocka_unit_test(test_addf_long),
	    cmocka_unit_test(test_addf_past_max),
	    cmocka_unit_test(test_json_plain),
	    cmocka_unit_test(test_json_quotes_backslashes),
	    cmocka_unit_test(test_json_control_chars),
	    cmocka_unit_test(test_json_all_controls),
	    cmocka_unit_test(test_json_appends),
	    cmocka_unit_test(test_json_past_max),
	    cmocka_unit_test(test_detach),
	    cmocka_unit_test(test_detach_empty),
	    cmocka_unit_test(test_add_i64),
	    cmocka_unit_test(test_json_chars),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
