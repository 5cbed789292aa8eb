/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* Unit tests for the CSV writer in src/fmt/fmt_csv.c (golden files, RFC 4180
 * round trips). */
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
    {.name = "employee_id", .header = "Employee ID"},
    {.name = "first_name", .header = "First Name"},
    {.name = "last_name", .header = "Last, Name"},
    {.name = "note"},
    {.name = "amount", .header = "Amount"},
};

/* Every kind of value the writer must treat with care. */
static const char *const rows[][NCOLS] = {
    {"E001", "Ann", "O'Neil", "plain", "10"},
    {"E002", "Bob", "Smith, Jr.", "says \"hi\"", "-5"},
    {"E003", "=cmd|' /C calc'!A0", "Lee", "line1\nline2", "+1"},
    {"E004", "@SUM(A1)", "Tab\tIn", "\tlead tab", ""},
    {"E005", "Jos\xc3\xa9", "M\xc3\xbcller", "pipe|inside", "\rcr"},
    {"E006", "", "", "crlf\r\nend", "-"},
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* --- helpers --------------------------------------------------------- */

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
csv_opts(char delim, enum fmt_quote q, bool header, const char *eol, bool guard)
{
	struct fmt_opts o;

	memset(&o, 0, sizeof(o));
	o.kind = FMT_CSV;
	o.delimiter = delim;
	o.quote = q;
	o.header = header;
	o.eol = eol;
	o.formula_guard = guard;
	o.cols = cols;
	o.ncols = NCOLS;
	return o;
}

static const struct fmt_run run = {
    .date = "20260301",
    .time = "0930",
    .reference = "R1",
    .isa13_control = 1,
    .gs06_control = 1,
    .st02_control = "0001",
};

/* Render rows[first..last) with o; asserts every add succeeds. */
static void
render(const struct fmt_opts *o, size_t first, size_t last, struct out *out)
{
	struct fmt_writer *w;
	struct fmt_record rec;
	char *cause = NULL;
	size_t i;

	out_open(out);
	w = fmt_writer_new(o, &run, out->f, &cause);
	assert_non_null(w);
	for (i = first; i < last; i++) {
		rec.action = FMT_ADD;
		rec.values = rows[i];
		rec.term_date = NULL;
		assert_int_equal(fmt_writer_add(w, &rec, &cause), 0);
	}
	assert_int_equal(fmt_writer_finish(w, &cause), 0);
	assert_int_equal(fmt_writer_count(w), last - first);
	assert_int_equal(fmt_writer_truncated(w), 0);
	fmt_writer_free(w);
	out_close(out);
}

/*
 * Compare with tests/golden/fmt/NAME byte for byte. With
 * ROSTERD_UPDATE_GOLDEN set the file is (re)written instead; review it.
 */
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

/*
 * A small RFC 4180 reader, independent of the writer: fields may be
 * quoted (quotes doubled inside), records end in CRLF or LF. Returns the
 * fields in order with a NULL after each record's last one.
 */
struct table {
	char **cell; /* NULL marks the end of a record */
	size_t n;
	size_t cap;
};

static void
table_push(struct table *t, char *s)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->cell = realloc(t->cell, t->cap * sizeof(*t->cell));
		assert_non_null(t->cell);
	}
	t->cell[t->n++] = s;
}

static void
table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->cell[i]);
	free(t->cell);
	memset(t, 0, sizeof(*t));
}

static void
parse_csv(const char *p, size_t len, char delim, struct table *t)
{
	const char *end = p + len;
	char *field = malloc(len + 1); /* scratch, big enough for any */
	size_t n;

	assert_non_null(field);
	memset(t, 0, sizeof(*t));
	while (p < end) {
		n = 0;
		if (*p == '"') {
			for (p++;; p++) {
				assert_true(p < end); /* unterminated quote */
				if (*p == '"' && p + 1 < end && p[1] == '"')
					field[n++] = *p++;
				else if (*p == '"')
					break;
				else
					field[n++] = *p;
			}
			p++;
		} else {
			while (p < end && *p != delim && *p != '\n' &&
			       !(*p == '\r' && p + 1 < end && p[1] == '\n'))
				field[n++] = *p++;
		}
		table_push(t, strndup(field, n));
		if (p < end && *p == delim) {
			p++;
			continue;
		}
		if (p < end && *p == '\r')
			p++;
		assert_true(p == end || *p == '\n');
		if (p < end)
			p++;
		table_push(t, NULL);
	}
	free(field);
}

/* Check t holds the header (if any) then rows[...] as transformed. */
static void
check_table(const struct table *t, bool header, bool guard)
{
	size_t r, c, k = 0;
	char want[128];

	if (header) {
		for (c = 0; c < NCOLS; c++)
			assert_string_equal(t->cell[k++], cols[c].header
			                                      ? cols[c].header
			                                      : cols[c].name);
		assert_null(t->cell[k++]);
	}
	for (r = 0; r < NROWS; r++) {
		for (c = 0; c < NCOLS; c++) {
			snprintf(want, sizeof(want), "%s%s",
			         guard && fmt_csv_needs_guard(rows[r][c]) ? "'"
			                                                  : "",
			         rows[r][c]);
			assert_non_null(t->cell[k]);
			assert_string_equal(t->cell[k++], want);
		}
		assert_null(t->cell[k++]);
	}
	assert_int_equal(k, t->n);
}

/* --- tests ----------------------------------------------------------- */

static void
test_needs_guard(void **state)
{
	assert_true(fmt_csv_needs_guard("=1+2"));
	assert_true(fmt_csv_needs_guard("+1"));
	assert_true(fmt_csv_needs_guard("-1"));
	assert_true(fmt_csv_needs_guard("@SUM(A1)"));
	assert_true(fmt_csv_needs_guard("\tx"));
	assert_true(fmt_csv_needs_guard("\rx"));
	assert_false(fmt_csv_needs_guard("a=1"));
	assert_false(fmt_csv_needs_guard(" =1"));
	assert_false(fmt_csv_needs_guard("'=1"));
	assert_false(fmt_csv_needs_guard(""));
	assert_false(fmt_csv_needs_guard(NULL));
}

static void
test_golden_comma_minimal(void **state)
{
	struct fmt_opts o = csv_opts(',', FMT_QUOTE_MINIMAL, true, NULL, true);
	struct out out;

	render(&o, 0, NROWS, &out);
	golden("csv_comma_minimal.csv", out.data, out.len);
	/* CRLF is the default line ending */
	assert_non_null(
	    strstr(out.data, "Amount\r\nE001,Ann,O'Neil,plain,10\r\n"));
	assert_non_null(strstr(out.data, "E002,Bob,\"Smith, Jr.\",\"says "
	                                 "\"\"hi\"\"\",'-5\r\n"));
	free(out.data);
}

static void
test_golden_pipe_all(void **state)
{
	struct fmt_opts o = csv_opts('|', FMT_QUOTE_ALL, false, "\n", true);
	struct out out;

	render(&o, 0, NROWS, &out);
	golden("csv_pipe_all.txt", out.data, out.len);
	assert_memory_equal(out.data, "\"E001\"|\"Ann\"|", 13);
	assert_non_null(strstr(out.data, "\n\"E002\"|\"Bob\"|\"Smith, Jr.\"|"
	                                 "\"says \"\"hi\"\"\"|\"'-5\"\n"));
	free(out.data);
}

static void
test_golden_tab_noguard(void **state)
{
	struct fmt_opts o =
	    csv_opts('\t', FMT_QUOTE_MINIMAL, true, "\r\n", false);
	struct out out;

	render(&o, 0, NROWS, &out);
	golden("csv_tab_noguard.tsv", out.data, out.len);
	/* no guard: the formula goes out as it came in */
	assert_non_null(strstr(out.data, "\nE003\t=cmd|' /C calc'!A0\tLee\t"));
	free(out.data);
}

static void
test_golden_pipe_none(void **state)
{
	struct fmt_opts o = csv_opts('|', FMT_QUOTE_NONE, true, NULL, true);
	struct out out;

	/* rows 0 and 3 hold no pipe, quote or line break (row 3 has tabs) */
	out_open(&out);
	{
		struct fmt_writer *w;
		struct fmt_record rec = {.action = FMT_ADD};
		char *cause = NULL;

		w = fmt_writer_new(&o, &run, out.f, &cause);
		assert_non_null(w);
		rec.values = rows[0];
		assert_int_equal(fmt_writer_add(w, &rec, &cause), 0);
		rec.values = rows[3];
		assert_int_equal(fmt_writer_add(w, &rec, &cause), 0);
		assert_int_equal(fmt_writer_finish(w, &cause), 0);
		fmt_writer_free(w);
	}
	out_close(&out);
	golden("csv_pipe_none.txt", out.data, out.len);
	free(out.data);
}

/* "none" refuses what it cannot write, names the column, keeps going. */
static void
test_none_refuses(void **state)
{
	static const struct {
		size_t row;
		char delim;
		const char *column;
		const char *what;
	} cases[] = {
	    {4, '|', "note", "the delimiter '|'"},
	    {1, ',', "last_name", "the delimiter ','"},
	    {1, '|', "note", "a double quote"},
	    {2, '|', "first_name", "the delimiter '|'"},
	    {5, '|', "note", "a line break"},
	    {3, '\t', "last_name", "the delimiter TAB"},
	};
	struct fmt_record rec = {.action = FMT_ADD};
	struct fmt_writer *w;
	struct fmt_opts o;
	struct out out;
	char *cause;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		o = csv_opts(cases[i].delim, FMT_QUOTE_NONE, false, "\n",
		             false);
		out_open(&out);
		cause = NULL;
		w = fmt_writer_new(&o, &run, out.f, &cause);
		assert_non_null(w);
		rec.values = rows[0];
		assert_int_equal(fmt_writer_add(w, &rec, &cause), 0);
		rec.values = rows[cases[i].row];
		assert_int_equal(fmt_writer_add(w, &rec, &cause), -1);
		assert_non_null(cause);
		assert_non_null(strstr(cause, "record 2"));
		assert_non_null(strstr(cause, cases[i].column));
		assert_non_null(strstr(cause, cases[i].what));
		free(cause);
		cause = NULL;
		/* the writer is still usable and nothing of row 2 leaked */
		rec.values = rows[0];
		assert_int_equal(fmt_writer_add(w, &rec, &cause), 0);
		assert_int_equal(fmt_writer_finish(w, &cause), 0);
		assert_int_equal(fmt_writer_count(w), 2);
		fmt_writer_free(w);
		out_close(&out);
		o.delimiter = cases[i].delim;
		{
			char want[128];
			snprintf(want, sizeof(want),
			         "E001%cAnn%cO'Neil%cplain%c10\nE001%cAnn%cO'"
			         "Neil%cplain%c10\n",
			         o.delimiter, o.delimiter, o.delimiter,
			         o.delimiter, o.delimiter, o.delimiter,
			         o.delimiter, o.delimiter);
			assert_int_equal(out.len, strlen(want));
			assert_memory_equal(out.data, want, out.len);
		}
		free(out.data);
	}
}

static void
test_none_refuses_header(void **state)
{
	struct fmt_opts o = csv_opts(',', FMT_QUOTE_NONE, true, NULL, false);
	struct out out;
	char *cause = NULL;

	out_open(&out);
	assert_null(fmt_writer_new(&o, &run, out.f, &cause));
	assert_non_null(cause);
	assert_non_null(strstr(cause, "header"));
	assert_non_null(strstr(cause, "last_name"));
	free(cause);
	out_close(&out);
	assert_int_equal(out.len, 0);
	free(out.data);
}

/* A formula after a separator another reader might split on is quoted,
 * so no spreadsheet starts a cell at it (OWASP CSV injection). */
static void
test_guard_hidden_formula(void **state)
{
	static const struct fmt_column two[2] = {{.name = "id"}, {.name = "v"}};
	static const char *const vals[][2] = {
	    {"1", "x;=HYPERLINK(\"http://e\")"},
	    {"2", "a; +1"},
	    {"3", "a|@SUM(A1)"},
	    {"4", "a;b"},   /* no formula: unquoted */
	    {"5", "a-b;c"}, /* '-' not after a separator: unquoted */
	};
	struct fmt_opts o = csv_opts(',', FMT_QUOTE_MINIMAL, false, "\n", true);
	struct fmt_record rec = {.action = FMT_SAME};
	struct fmt_writer *w;
	char *cause = NULL;
	struct out out;
	size_t i;

	o.cols = two;
	o.ncols = 2;
	out_open(&out);
	w = fmt_writer_new(&o, &run, out.f, &cause);
	assert_non_null(w);
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		rec.values = vals[i];
		assert_int_equal(fmt_writer_add(w, &rec, &cause), 0);
	}
	assert_int_equal(fmt_writer_finish(w, &cause), 0);
	fmt_writer_free(w);
	out_close(&out);
	assert_string_equal(out.data, "1,\"x;=HYPERLINK(\"\"http://e\"\")\"\n"
	                              "2,\"a; +1\"\n"
	                              "3,\"a|@SUM(A1)\"\n"
	                              "4,a;b\n"
	                              "5,a-b;c\n");
	free(out.data);
	/* Without the guard, only RFC 4180 decides. */
	o.formula_guard = false;
	out_open(&out);
	w = fmt_writer_new(&o, &run, out.f, &cause);
	assert_non_null(w);
	rec.values = vals[1];
	assert_int_equal(fmt_writer_add(w, &rec, &cause), 0);
	assert_int_equal(fmt_writer_finish(w, &cause), 0);
	fmt_writer_free(w);
	out_close(&out);
	assert_string_equal(out.data, "2,a; +1\n");
	free(out.data);
}

static void
test_round_trip(void **state)
{
	static const char delims[] = {',', '|', '\t'};
	struct fmt_opts o;
	struct table t;
	struct out out;
	size_t i;
	int guard;

	for (i = 0; i < sizeof(delims); i++) {
		for (guard = 0; guard <= 1; guard++) {
			o = csv_opts(delims[i], FMT_QUOTE_MINIMAL, true,
			             i == 1 ? "\n" : "\r\n", guard);
			render(&o, 0, NROWS, &out);
			parse_csv(out.data, out.len, delims[i], &t);
			check_table(&t, true, guard);
			table_free(&t);
			free(out.data);

			o.quote = FMT_QUOTE_ALL;
			render(&o, 0, NROWS, &out);
			parse_csv(out.data, out.len, delims[i], &t);
			check_table(&t, true, guard);
			table_free(&t);
			free(out.data);
		}
	}
}

/* More than the 1 MiB output chunk, so the flush path runs too. */
static void
test_round_trip_large(void **state)
{
	static const struct fmt_column one[2] = {{.name = "id"}, {.name = "v"}};
	struct fmt_opts o = csv_opts(',', FMT_QUOTE_MINIMAL, false, NULL, true);
	struct fmt_record rec = {.action = FMT_SAME};
	const char *vals[2];
	char id[32], v[96], *cause = NULL;
	struct fmt_writer *w;
	struct table t;
	struct out out;
	size_t i, k;

	o.cols = one;
	o.ncols = 2;
	out_open(&out);
	w = fmt_writer_new(&o, &run, out.f, &cause);
	assert_non_null(w);
	for (i = 0; i < 40000; i++) {
		snprintf(id, sizeof(id), "%zu", i);
		snprintf(v, sizeof(v), "%s%zu \"q\", x\n%s",
		         i % 3 == 0 ? "=" : "", i * 7919,
		         "padding-padding-padding");
		vals[0] = id;
		vals[1] = v;
		rec.values = vals;
		assert_int_equal(fmt_writer_add(w, &rec, &cause), 0);
	}
	assert_int_equal(fmt_writer_finish(w, &cause), 0);
	assert_int_equal(fmt_writer_count(w), 40000);
	fmt_writer_free(w);
	out_close(&out);
	assert_true(out.len > 3 * 1024 * 1024 / 2); /* > one chunk */

	parse_csv(out.data, out.len, ',', &t);
	assert_int_equal(t.n, 40000 * 3);
	for (i = 0, k = 0; i < 40000; i++) {
		snprintf(id, sizeof(id), "%zu", i);
		snprintf(v, sizeof(v), "%s%zu \"q\", x\n%s",
		         i % 3 == 0 ? "'=" : "", i * 7919,
		         "padding-padding-padding");
		assert_string_equal(t.cell[k++], id);
		assert_string_equal(t.cell[k++], v);
		assert_null(t.cell[k++]);
	}
	table_free(&t);
	free(out.data);
}

/* A lone empty field is quoted so the line is not blank. */
static void
test_single_empty_column(void **state)
{
	static const struct fmt_column one[1] = {{.name = "x"}};
	static const char *const empty[1] = {""};
	struct fmt_opts o = csv_opts(',', FMT_QUOTE_MINIMAL, false, "\n", true);
	struct fmt_record rec = {.action = FMT_ADD, .values = empty};
	struct fmt_writer *w;
	char *cause = NULL;
	struct out out;

	o.cols = one;
	o.ncols = 1;
	out_open(&out);
	w = fmt_writer_new(&o, &run, out.f, &cause);
	assert_non_null(w);
	assert_int_equal(fmt_writer_add(w, &rec, &cause), 0);
	assert_int_equal(fmt_writer_finish(w, &cause), 0);
	fmt_writer_free(w);
	out_close(&out);
	assert_int_equal(out.len, 3);
	assert_memory_equal(out.data, "\"\"\n", 3);
	free(out.data);
}

static void
test_bad_options(void **state)
{
	static const struct fmt_column noname[1] = {{.name = NULL}};
	struct fmt_opts o;
	char *cause;
	FILE *f = fopen("/dev/null", "w");

	assert_non_null(f);
	o = csv_opts(';', FMT_QUOTE_MINIMAL, true, NULL, true);
	cause = NULL;
	assert_null(fmt_writer_new(&o, &run, f, &cause));
	assert_non_null(strstr(cause, "delimiter"));
	free(cause);

	o = csv_opts(',', FMT_QUOTE_MINIMAL, true, "\r", true);
	cause = NULL;
	assert_null(fmt_writer_new(&o, &run, f, &cause));
	assert_non_null(strstr(cause, "line ending"));
	free(cause);

	o = csv_opts(',', FMT_QUOTE_MINIMAL, true, NULL, true);
	o.ncols = 0;
	cause = NULL;
	assert_null(fmt_writer_new(&o, &run, f, &cause));
	assert_non_null(strstr(cause, "no columns"));
	free(cause);

	o.cols = noname;
	o.ncols = 1;
	cause = NULL;
	assert_null(fmt_writer_new(&o, &run, f, &cause));
	assert_non_null(strstr(cause, "column 1 has no name"));
	free(cause);

	o = csv_opts(',', FMT_QUOTE_MINIMAL, true, NULL, true);
	cause = NULL;
	assert_null(fmt_writer_new(&o, &run, NULL, &cause));
	assert_non_null(cause);
	free(cause);
	fclose(f);
}

/* finish twice, or add after finish, is refused. */
static void
test_after_finish(void **state)
{
	struct fmt_opts o = csv_opts(',', FMT_QUOTE_MINIMAL, false, NULL, true);
	struct fmt_record rec = {.action = FMT_ADD, .values = rows[0]};
	struct fmt_writer *w;
	char *cause = NULL;
	struct out out;

	out_open(&out);
	w = fmt_writer_new(&o, &run, out.f, &cause);
	assert_int_equal(fmt_writer_finish(w, &cause), 0);
	assert_int_equal(fmt_writer_add(w, &rec, &cause), -1);
	assert_non_null(strstr(cause, "finished"));
	free(cause);
	cause = NULL;
	assert_int_equal(fmt_writer_finish(w, &cause), -1);
	free(cause);
	fmt_writer_free(w);
	fmt_writer_free(NULL);
	out_close(&out);
	assert_int_equal(out.len, 0);
	free(out.data);
}

/* A write error (a full disk) is reported, not swallowed. */
static void
test_write_error(void **state)
{
	struct fmt_opts o = csv_opts(',', FMT_QUOTE_MINIMAL, true, NULL, true);
	struct fmt_record rec = {.action = FMT_ADD, .values = rows[0]};
	struct fmt_writer *w;
	char *cause = NULL;
	FILE *f = fopen("/dev/full", "w");

	if (f == NULL)
		skip();
	w = fmt_writer_new(&o, &run, f, &cause);
	assert_non_null(w);
	assert_int_equal(fmt_writer_add(w, &rec, &cause), 0);
	assert_int_equal(fmt_writer_finish(w, &cause), -1);
	assert_non_null(strstr(cause, "write failed"));
	free(cause);
	fmt_writer_free(w);
	fclose(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_needs_guard),
	    cmocka_unit_test(test_golden_comma_minimal),
	    cmocka_unit_test(test_golden_pipe_all),
	    cmocka_unit_test(test_golden_tab_noguard),
	    cmocka_unit_test(test_golden_pipe_none),
	    cmocka_unit_test(test_none_refuses),
	    cmocka_unit_test(test_none_refuses_header),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_round_trip_large),
	    cmocka_unit_test(test_single_empty_column),
	    cmocka_unit_test(test_guard_hidden_formula),
	    cmocka_unit_test(test_bad_options),
	    cmocka_unit_test(test_after_finish),
	    cmocka_unit_test(test_write_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
