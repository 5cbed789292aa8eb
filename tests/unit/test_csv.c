/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* Unit tests for the streaming CSV reader (src/import/csv.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "import/csv.h"
#include "util/buf.h"
#include "util/xmalloc.h"

/* A reader over an unlinked temporary file holding len bytes of s. */
struct src {
	FILE *f;
	struct csv *c;
};

static void
src_open(struct src *x, const char *s, size_t len, const struct csv_opts *o)
{
	x->f = tmpfile();
	assert_non_null(x->f);
	assert_int_equal(fwrite(s, 1, len, x->f), len);
	assert_int_equal(fflush(x->f), 0);
	assert_int_equal(lseek(fileno(x->f), 0, SEEK_SET), 0);
	x->c = csv_new(fileno(x->f), o);
}

static void
src_close(struct src *x)
{
	csv_free(x->c);
	fclose(x->f);
}

/* Parse everything into "a|b|c\n" lines ("!" marks an error record). */
static char *
dump(struct csv *c, bool header)
{
	const struct csv_field *f;
	struct buf b;
	size_t n, i;
	int rc;

	buf_init(&b, 0);
	if (header) {
		rc = csv_header(c, &f, &n);
		assert_int_equal(rc, CSV_RECORD);
		buf_addstr(&b, "H:");
		for (i = 0; i < n; i++)
			buf_addf(&b, "%s%s", i ? "|" : "", f[i].s);
		buf_addch(&b, '\n');
	}
	while ((rc = csv_next(c, &f, &n)) != CSV_EOF) {
		buf_addf(&b, "%lld%s:", (long long)csv_row(c),
		         rc == CSV_ERROR ? "!" : "");
		for (i = 0; i < n; i++) {
			assert_int_equal(strlen(f[i].s), f[i].len);
			buf_addf(&b, "%s%s", i ? "|" : "", f[i].s);
		}
		buf_addch(&b, '\n');
		if (rc == CSV_ERROR && n == 0)
			break;
	}
	buf_addstr(&b, "");
	return buf_detach(&b);
}

static char *
dump_str(const char *s, size_t len, const struct csv_opts *o, bool header)
{
	struct src x;
	char *out;

	src_open(&x, s, len, o);
	out = dump(x.c, header);
	src_close(&x);
	return out;
}

#define DUMP(s, o, h) dump_str((s), sizeof(s) - 1, (o), (h))

static void
test_basic_lf(void **state)
{
	char *out = DUMP("id,name\n1,ann\n2,bob\n", NULL, true);

	assert_string_equal(out, "H:id|name\n2:1|ann\n3:2|bob\n");
	free(out);
}

static void
test_bom_crlf_no_final_newline(void **state)
{
	char *out = DUMP("\xef\xbb\xbfid,name\r\n1,ann\r\n2,bob", NULL, true);

	assert_string_equal(out, "H:id|name\n2:1|ann\n3:2|bob\n");
	free(out);
}

static void
test_bom_only_at_start(void **state)
{
	char *out = DUMP("a\n\xef\xbb\xbfx\n", NULL, false);

	assert_string_equal(out, "1:a\n2:\xef\xbb\xbfx\n");
	free(out);
}

static void
test_quoted(void **state)
{
	char *out = DUMP("id,note,x\n"
	                 "1,\"said \"\"hi\"\", then left\",y\n"
	                 "2,\"line one\r\nline two\",\"\"\n"
	                 "3,\"a,b\",\"\"\"\"\n",
	                 NULL, true);

	assert_string_equal(out, "H:id|note|x\n"
	                         "2:1|said \"hi\", then left|y\n"
	                         "3:2|line one\r\nline two|\n"
	                         "4:3|a,b|\"\n");
	free(out);
}

static void
test_empty_fields_and_blank_lines(void **state)
{
	char *out = DUMP("a,b,c\n\n,,\r\n\r\nx,,z\n\n", NULL, true);

	/* Blank lines are skipped but keep their row numbers. */
	assert_string_equal(out, "H:a|b|c\n3:||\n5:x||z\n");
	free(out);
}

static void
test_bare_cr(void **state)
{
	char *out = DUMP("a,b\r1,2\r3,4", NULL, true);

	assert_string_equal(out, "H:a|b\n2:1|2\n3:3|4\n");
	free(out);
}

static void
test_delimiters(void **state)
{
	struct csv_opts o = {.delim = '|'};
	char *out = DUMP("a|b\n\"x|y\"|z,w\n", &o, true);

	assert_string_equal(out, "H:a|b\n2:x|y|z,w\n");
	free(out);
	o.delim = '\t';
	out = DUMP("a\tb\n1\t\"2\t3\"\n", &o, true);
	assert_string_equal(out, "H:a|b\n2:1|2\t3\n");
	free(out);
	o.delim = ';';
	out = DUMP("a;b\n1,5;2\n", &o, true);
	assert_string_equal(out, "H:a|b\n2:1,5|2\n");
	free(out);
}

/* Read up to the first error and check it. */
static void
expect_error(const char *s, const struct csv_opts *o, enum csv_errkind kind,
             int64_t row, size_t col, const char *name, const char *text)
{
	const struct csv_field *f;
	const struct csv_error *e;
	struct src x;
	struct buf b;
	size_t n;
	int rc;

	src_open(&x, s, strlen(s), o);
	rc = csv_header(x.c, &f, &n);
	while (rc == CSV_RECORD)
		rc = csv_next(x.c, &f, &n);
	assert_int_equal(rc, CSV_ERROR);
	e = csv_last_error(x.c);
	assert_int_equal(e->kind, kind);
	assert_int_equal(e->row, row);
	assert_int_equal(e->col, col);
	if (name == NULL)
		assert_null(e->name);
	else
		assert_string_equal(e->name, name);
	buf_init(&b, 0);
	csv_error_format(e, &b);
	assert_string_equal(buf_str(&b), text);
	buf_free(&b);
	src_close(&x);
}

static void
test_truncated(void **state)
{
	expect_error("id,name,note\n1,ann,ok\n2,bob,\"cut off here\nmore", NULL,
	             CSV_E_TRUNCATED, 3, 3, "note",
	             "row 3, column 3 (note): quoted field not closed: the "
	             "file ends inside it (truncated file?)");
}

static void
test_utf16_refused(void **state)
{
	expect_error("\xff\xfei", NULL, CSV_E_ENCODING, 1, 0, NULL,
	             "row 1: the file is UTF-16 (byte order mark FF FE), not "
	             "UTF-8: save the export as UTF-8");
	expect_error("\xfe\xff", NULL, CSV_E_ENCODING, 1, 0, NULL,
	             "row 1: the file is UTF-16 (byte order mark FE FF), not "
	             "UTF-8: save the export as UTF-8");
}

static void
test_stray_quote(void **state)
{
	expect_error("id,height\n1,5'10\"\n", NULL, CSV_E_QUOTE, 2, 2, "height",
	             "row 2, column 2 (height): stray quote in an unquoted "
	             "field (quote the whole field and double the quote)");
	expect_error("id,name\n1,ok\n2,\"bob\" jr\n", NULL, CSV_E_QUOTE, 3, 2,
	             "name",
	             "row 3, column 2 (name): stray quote: text after the "
	             "closing quote");
}

static void
test_field_count(void **state)
{
	expect_error("a,b,c\n1,2,3\n1,2\n", NULL, CSV_E_FIELDS, 3, 3, "c",
	             "row 3, column 3 (c): expected 3 fields, found 2");
	expect_error("a,b\n1,2,3\n", NULL, CSV_E_FIELDS, 2, 3, NULL,
	             "row 2, column 3: expected 2 fields, found 3");
	/* A quoted newline does not make the next record's row wrong. */
	expect_error("a,b\n\"x\ny\",2\n1\n", NULL, CSV_E_FIELDS, 3, 2, "b",
	             "row 3, column 2 (b): expected 2 fields, found 1");
}

static void
test_nul_byte(void **state)
{
	static const char s[] = "a,b\n1,x\0y\n";
	const struct csv_field *f;
	struct src x;
	size_t n;

	src_open(&x, s, sizeof(s) - 1, NULL);
	assert_int_equal(csv_header(x.c, &f, &n), CSV_RECORD);
	assert_int_equal(csv_next(x.c, &f, &n), CSV_ERROR);
	assert_int_equal(csv_last_error(x.c)->kind, CSV_E_NUL);
	assert_int_equal(csv_last_error(x.c)->col, 2);
	src_close(&x);
}

/* Inside quotes too: "x\0y" must not become "x" without a word. */
static void
test_nul_byte_quoted(void **state)
{
	static const char s[] = "a,b\n1,\"x\0y\"\n2,ok\n";
	const struct csv_field *f;
	struct src x;
	size_t n;

	src_open(&x, s, sizeof(s) - 1, NULL);
	assert_int_equal(csv_header(x.c, &f, &n), CSV_RECORD);
	assert_int_equal(csv_next(x.c, &f, &n), CSV_ERROR);
	assert_int_equal(csv_last_error(x.c)->kind, CSV_E_NUL);
	assert_int_equal(csv_last_error(x.c)->row, 2);
	assert_int_equal(csv_last_error(x.c)->col, 2);
	assert_int_equal(csv_next(x.c, &f, &n), CSV_RECORD);
	assert_string_equal(f[1].s, "ok");
	src_close(&x);
}

static void
test_errors_then_continue(void **state)
{
	char *out = DUMP("a,b\n1\n2,x\"y\n3,ok\n", NULL, true);

	/* Both bad records are reported and the good one after them read. */
	assert_string_equal(out, "H:a|b\n2!:1\n3!:2|x\"y\n4:3|ok\n");
	free(out);
}

static void
test_empty_file(void **state)
{
	const struct csv_field *f;
	struct src x;
	size_t n;

	src_open(&x, "", 0, NULL);
	assert_int_equal(csv_header(x.c, &f, &n), CSV_ERROR);
	assert_int_equal(csv_last_error(x.c)->kind, CSV_E_EMPTY);
	src_close(&x);
	src_open(&x, "a,b\n", 4, NULL);
	assert_int_equal(csv_header(x.c, &f, &n), CSV_RECORD);
	assert_int_equal(n, 2);
	assert_int_equal(csv_next(x.c, &f, &n), CSV_EOF);
	assert_int_equal(csv_next(x.c, &f, &n), CSV_EOF);
	src_close(&x);
}

static void
test_record_too_long(void **state)
{
	struct csv_opts o = {.bufsize = 8, .max_record = 32};
	const struct csv_field *f;
	struct src x;
	size_t n;
	static const char s[] = "a\n\"0123456789012345678901234567890123"
	                        "456789\"\nb\n";

	src_open(&x, s, sizeof(s) - 1, &o);
	assert_int_equal(csv_next(x.c, &f, &n), CSV_RECORD);
	assert_int_equal(csv_next(x.c, &f, &n), CSV_ERROR);
	assert_int_equal(csv_last_error(x.c)->kind, CSV_E_LONG);
	assert_int_equal(csv_last_error(x.c)->row, 2);
	assert_int_equal(csv_next(x.c, &f, &n), CSV_EOF);
	src_close(&x);
}

static const char tricky[] = "\xef\xbb\xbf"
                             "id,\"na,me\",note\r\n"
                             "1,\"a\"\"b\",\"multi\r\nline\"\r\n"
                             "\r\n"
                             "2,,\"\"\r"
                             "3,\"x\",\"\"\"\"\"\"\"\"\n"
                             "4,\"\r\n\",last";

/* Every buffer size, including ones that split CRLF and "" pairs. */
static void
test_buffer_boundaries(void **state)
{
	struct csv_opts o = {0};
	char *want, *got;
	size_t bs;

	want = DUMP(tricky, NULL, true);
	assert_string_equal(want, "H:id|na,me|note\n"
	                          "2:1|a\"b|multi\r\nline\n"
	                          "4:2||\n"
	                          "5:3|x|\"\"\"\n"
	                          "6:4|\r\n|last\n");
	for (bs = 1; bs <= 80; bs++) {
		o.bufsize = bs;
		got = DUMP(tricky, &o, true);
		assert_string_equal(got, want);
		free(got);
	}
	free(want);
}

static void
test_seek(void **state)
{
	const struct csv_field *f;
	off_t offs[8];
	int64_t rows[8];
	struct src x;
	size_t n, i = 0;

	src_open(&x, tricky, sizeof(tricky) - 1, NULL);
	assert_int_equal(csv_header(x.c, &f, &n), CSV_RECORD);
	while (csv_next(x.c, &f, &n) == CSV_RECORD) {
		offs[i] = csv_record_offset(x.c);
		rows[i++] = csv_row(x.c);
	}
	assert_int_equal(i, 4);
	assert_int_equal(csv_offset(x.c), sizeof(tricky) - 1);
	/* Back to the third record: read from the file again. */
	assert_int_equal(csv_seek(x.c, offs[2], rows[2]), 0);
	assert_int_equal(csv_next(x.c, &f, &n), CSV_RECORD);
	assert_int_equal(csv_row(x.c), 5);
	assert_string_equal(f[2].s, "\"\"\"");
	/* Ahead within the buffer. */
	assert_int_equal(csv_seek(x.c, offs[3], rows[3]), 0);
	assert_int_equal(csv_next(x.c, &f, &n), CSV_RECORD);
	assert_int_equal(csv_row(x.c), 6);
	assert_string_equal(f[2].s, "last");
	/* Back to the first record, where the BOM check must not re-run. */
	assert_int_equal(csv_seek(x.c, offs[0], rows[0]), 0);
	assert_int_equal(csv_next(x.c, &f, &n), CSV_RECORD);
	assert_string_equal(f[0].s, "1");
	assert_int_equal(csv_record_offset(x.c), offs[0]);
	src_close(&x);
}

static void
test_pipe(void **state)
{
	const struct csv_field *f;
	struct csv *c;
	int p[2];
	size_t n;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "a,b\n1,2\n", 8), 8);
	close(p[1]);
	c = csv_new(p[0], NULL);
	assert_int_equal(csv_header(c, &f, &n), CSV_RECORD);
	assert_int_equal(csv_next(c, &f, &n), CSV_RECORD);
	assert_string_equal(f[1].s, "2");
	/* A pipe cannot go back. */
	assert_int_equal(csv_seek(c, 0, 1), -1);
	csv_free(c);
	close(p[0]);
}

static void
test_column_names(void **state)
{
	const struct csv_field *f;
	struct src x;
	size_t n;

	src_open(&x, "id,email\n", 9, NULL);
	assert_int_equal(csv_header(x.c, &f, &n), CSV_RECORD);
	assert_string_equal(csv_column_name(x.c, 1), "id");
	assert_string_equal(csv_column_name(x.c, 2), "email");
	assert_null(csv_column_name(x.c, 3));
	assert_null(csv_column_name(x.c, 0));
	src_close(&x);
}

/* 20,000 rows through a 4 KiB buffer: many refills mid-record. */
static void
test_many_rows(void **state)
{
	const struct csv_field *f;
	struct src x;
	struct buf b;
	size_t n, i, rows = 0;

	buf_init(&b, 0);
	buf_addstr(&b, "id,name,email\n");
	for (i = 0; i < 20000; i++)
		buf_addf(&b, "E%zu,\"Name, %zu\",e%zu@example.com\n", i, i, i);
	src_open(&x, b.data, b.len, &(struct csv_opts){.bufsize = 4096});
	assert_int_equal(csv_header(x.c, &f, &n), CSV_RECORD);
	while (csv_next(x.c, &f, &n) == CSV_RECORD) {
		assert_int_equal(n, 3);
		rows++;
	}
	assert_int_equal(rows, 20000);
	assert_int_equal(csv_row(x.c), 20001);
	assert_string_equal(f[1].s, "Name, 19999");
	src_close(&x);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_basic_lf),
	    cmocka_unit_test(test_bom_crlf_no_final_newline),
	    cmocka_unit_test(test_bom_only_at_start),
	    cmocka_unit_test(test_quoted),
	    cmocka_unit_test(test_empty_fields_and_blank_lines),
	    cmocka_unit_test(test_bare_cr),
	    cmocka_unit_test(test_delimiters),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_utf16_refused),
	    cmocka_unit_test(test_stray_quote),
	    cmocka_unit_test(test_field_count),
	    cmocka_unit_test(test_nul_byte),
	    cmocka_unit_test(test_nul_byte_quoted),
	    cmocka_unit_test(test_errors_then_continue),
	    cmocka_unit_test(test_empty_file),
	    cmocka_unit_test(test_record_too_long),
	    cmocka_unit_test(test_buffer_boundaries),
	    cmocka_unit_test(test_seek),
	    cmocka_unit_test(test_pipe),
	    cmocka_unit_test(test_column_names),
	    cmocka_unit_test(test_many_rows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
