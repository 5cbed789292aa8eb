/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* Unit tests for the fixed-width writer in src/fmt/fmt_fixed.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fmt/fmt.h"

#define NCOLS 5

static const struct fmt_column cols[NCOLS] = {
    {.name = "employee_id", .header = "ID", .width = 6},
    {.name = "last_name", .header = "LAST NAME", .width = 10},
    {.name = "first_name", .header = "FIRST", .width = 5, .pad = '.'},
    {.name = "amount",
     .header = "AMOUNT",
     .width = 8,
     .align_right = true,
     .pad = '0'},
    {.name = "state", .header = "STATE", .width = 3, .align_right = true},
};

static const char *const rows[][NCOLS] = {
    /* fits everywhere */
    {"E1", "Doe", "Jane", "1250", "CA"},
    /* exactly the width: no padding, no truncation */
    {"E00002", "Abcdefghij", "Bobby", "12345678", "NYC"},
    /* too long: cut (4 truncations) */
    {"E000003", "Vanderbilt-Smith", "Christopher", "123456789", "TX"},
    /* UTF-8: "Ångström" (10 bytes) fits exactly, "Zoë" (4) fits */
    {"E4", "\xc3\x85ngstr\xc3\xb6m", "Zo\xc3\xab", "", ""},
    /* "Zoëé" is 6 bytes: a cut at 5 would split the é, so it is cut
     * at 4 and padded */
    {"E5", "Lee", "Zo\xc3\xab\xc3\xa9", "7", "W"},
    /* empty values are all padding */
    {"", "", "", "", ""},
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

static const struct fmt_run run = {
    .date = "20260301",
    .time = "0930",
    .reference = "R1",
    .isa13_control = 1,
    .gs06_control = 1,
    .st02_control = "0001",
};

struct out {
	FILE *f;
	char *data;
	size_t len;
};

static void
out_open(struct out *o)
{
	o->data = NULL;
	o->len = 0;
	o->f = open_memstream(&o->data, &o->len);
	assert_non_null(o->f);
}

static void
out_close(struct out *o)
{
	assert_int_equal(fclose(o->f), 0);
}

static struct fmt_opts
fixed_opts(bool header, const char *eol)
{
	struct fmt_opts o;

	memset(&o, 0, sizeof(o));
	o.kind = FMT_FIXED;
	o.header = header;
	o.eol = eol;
	o.formula_guard = true; /* not applied to fixed width */
	o.cols = cols;
	o.ncols = NCOLS;
	return o;
}

/* Same as in test_fmt_csv.c: compare with tests/golden/fmt/NAME. */
static void
golden(const char *name, const char *data, size_t len)
{
	const char *src = getenv("ROSTERD_SRC");
	char path[4096], *want;
	size_t n, i;
	FILE *f;
	long sz;

	snprintf(path, sizeof(path), "%s/tests/golden/fmt/%s",
	         src != NULL ? src : ".", name);
	if (getenv("ROSTERD_UPDATE_GOLDEN") != NULL) {
		f = fopen(path, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(data, 1, len, f), len);
		assert_int_equal(fclose(f), 0);
		return;
	}
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open golden file %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	sz = ftell(f);
	rewind(f);
	want = malloc((size_t)sz + 1);
	n = fread(want, 1, (size_t)sz, f);
	fclose(f);
	assert_int_equal(n, (size_t)sz);
	for (i = 0; i < n && i < len && want[i] == data[i]; i++)
		;
	if (i != n || n != len) {
		free(want);
		fail_msg("%s differs from the output at byte %zu", path, i);
	}
	free(want);
}

static uint64_t
render(const struct fmt_opts *o, struct out *out)
{
	struct fmt_record rec = {.action = FMT_SAME};
	struct fmt_writer *w;
	char *cause = NULL;
	uint64_t cut;
	size_t i;

	out_open(out);
	w = fmt_writer_new(o, &run, out->f, &cause);
	assert_non_null(w);
	for (i = 0; i < NROWS; i++) {
		rec.values = rows[i];
		assert_int_equal(fmt_writer_add(w, &rec, &cause), 0);
	}
	assert_int_equal(fmt_writer_finish(w, &cause), 0);
	assert_int_equal(fmt_writer_count(w), NROWS);
	cut = fmt_writer_truncated(w);
	fmt_writer_free(w);
	out_close(out);
	return cut;
}

static void
test_golden_header_crlf(void **state)
{
	struct fmt_opts o = fixed_opts(true, NULL);
	struct out out;

	/* row 3: 4 cut; row 5: first_name cut at a UTF-8 boundary */
	assert_int_equal(render(&o, &out), 5);
	golden("fixed_header_crlf.txt", out.data, out.len);
	free(out.data);
}

static void
test_golden_lf(void **state)
{
	struct fmt_opts o = fixed_opts(false, "\n");
	struct out out;
	char *line, *save = NULL;
	int n = 0;

	assert_int_equal(render(&o, &out), 5);
	golden("fixed_lf.txt", out.data, out.len);
	/* every record is exactly 6+10+5+8+3 bytes */
	for (line = strtok_r(out.data, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save), n++)
		assert_int_equal(strlen(line), 32);
	assert_int_equal(n, NROWS);
	free(out.data);
}

/* Each rule on its own, with the exact bytes. */
static void
test_padding_alignment(void **state)
{
	static const struct fmt_column c[3] = {
	    {.name = "a", .width = 5},
	    {.name = "b", .width = 5, .align_right = true, .pad = '0'},
	    {.name = "c", .width = 4, .align_right = true},
	};
	static const char *const v1[3] = {"ab", "42", "x"};
	static const char *const v2[3] = {"abcdefg", "123456",
	                                  "\xc3\xa9\xc3\xa9\xc3\xa9"};
	struct fmt_opts o = fixed_opts(false, "\n");
	struct fmt_record rec = {.action = FMT_ADD};
	struct fmt_writer *w;
	char *cause = NULL;
	struct out out;

	o.cols = c;
	o.ncols = 3;
	out_open(&out);
	w = fmt_writer_new(&o, &run, out.f, &cause);
	assert_non_null(w);
	rec.values = v1;
	assert_int_equal(fmt_writer_add(w, &rec, &cause), 0);
	assert_int_equal(fmt_writer_truncated(w), 0);
	rec.values = v2;
	assert_int_equal(fmt_writer_add(w, &rec, &cause), 0);
	assert_int_equal(fmt_writer_truncated(w), 3);
	assert_int_equal(fmt_writer_finish(w, &cause), 0);
	fmt_writer_free(w);
	out_close(&out);
	/* "ééé" is 6 bytes; 4 bytes hold two é exactly */
	assert_string_equal(out.data, "ab   00042   x\n"
	                              "abcde12345\xc3\xa9\xc3\xa9\n");
	free(out.data);
}

/* A line break would start a new record: refused, nothing written. */
static void
test_line_break_refused(void **state)
{
	static const char *const bad[NCOLS] = {"E9", "Doe", "Jo\nhn", "1",
	                                       "CA"};
	struct fmt_opts o = fixed_opts(false, "\n");
	struct fmt_record rec = {.action = FMT_ADD};
	struct fmt_writer *w;
	char *cause = NULL;
	struct out out;

	out_open(&out);
	w = fmt_writer_new(&o, &run, out.f, &cause);
	rec.values = rows[2];
	assert_int_equal(fmt_writer_add(w, &rec, &cause), 0);
	rec.values = bad;
	assert_int_equal(fmt_writer_add(w, &rec, &cause), -1);
	assert_non_null(strstr(cause, "record 2"));
	assert_non_null(strstr(cause, "first_name"));
	assert_non_null(strstr(cause, "line break"));
	free(cause);
	cause = NULL;
	/* the refused record's truncations are not counted */
	assert_int_equal(fmt_writer_truncated(w), 4);
	rec.values = rows[0];
	assert_int_equal(fmt_writer_add(w, &rec, &cause), 0);
	assert_int_equal(fmt_writer_finish(w, &cause), 0);
	assert_int_equal(fmt_writer_count(w), 2);
	fmt_writer_free(w);
	out_close(&out);
	assert_int_equal(out.len, 2 * 33);
	assert_memory_equal(out.data + 33, "E1    Doe       Jane.00001250 CA\n",
	                    33);
	free(out.data);
}

static void
test_bad_options(void **state)
{
	static const struct fmt_column nowidth[2] = {{.name = "a", .width = 3},
	                                             {.name = "b", .width = 0}};
	static const struct fmt_column badpad[1] = {
	    {.name = "a", .width = 3, .pad = '\t'}};
	struct fmt_opts o = fixed_opts(false, NULL);
	char *cause = NULL;
	FILE *f = fopen("/dev/null", "w");

	o.cols = nowidth;
	o.ncols = 2;
	assert_null(fmt_writer_new(&o, &run, f, &cause));
	assert_non_null(strstr(cause, "column \"b\" has no width"));
	free(cause);
	cause = NULL;

	o.cols = badpad;
	o.ncols = 1;
	assert_null(fmt_writer_new(&o, &run, f, &cause));
	assert_non_null(strstr(cause, "pad"));
	free(cause);
	cause = NULL;

	o = fixed_opts(false, "\r");
	assert_null(fmt_writer_new(&o, &run, f, &cause));
	assert_non_null(strstr(cause, "line ending"));
	free(cause);
	cause = NULL;

	o = fixed_opts(false, NULL);
	o.ncols = 0;
	assert_null(fmt_writer_new(&o, &run, f, &cause));
	assert_non_null(strstr(cause, "no columns"));
	free(cause);
	fclose(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_golden_header_crlf),
	    cmocka_unit_test(test_golden_lf),
	    cmocka_unit_test(test_padding_alignment),
	    cmocka_unit_test(test_line_break_refused),
	    cmocka_unit_test(test_bad_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
