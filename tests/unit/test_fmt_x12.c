/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* Unit tests for the X12 834 writer in src/fmt/fmt_x12.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fmt/fmt.h"
#include "fmt/fmt_x12.h"

/* The profile's columns, in the order the values below use. */
enum {
	C_MEMBER_ID,
	C_REL,
	C_LAST,
	C_FIRST,
	C_MIDDLE,
	C_SSN,
	C_ADDR1,
	C_ADDR2,
	C_CITY,
	C_STATE,
	C_ZIP,
	C_BIRTH,
	C_GENDER,
	C_EMP,
	C_HIRE,
	C_COV_START,
	C_COV_END,
	C_PLAN,
	C_LEVEL,
	C_REPORTING,
	C_ELIG,
	C_EMAIL, /* not an 834 field: ignored */
	NCOLS
};

static const struct fmt_column cols[NCOLS] = {
    [C_MEMBER_ID] = {.name = "member_id"},
    [C_REL] = {.name = "relationship"},
    [C_LAST] = {.name = "last_name"},
    [C_FIRST] = {.name = "first_name"},
    [C_MIDDLE] = {.name = "middle_name"},
    [C_SSN] = {.name = "ssn"},
    [C_ADDR1] = {.name = "address1"},
    [C_ADDR2] = {.name = "address2"},
    [C_CITY] = {.name = "city"},
    [C_STATE] = {.name = "state"},
    [C_ZIP] = {.name = "zip"},
    [C_BIRTH] = {.name = "birth_date"},
    [C_GENDER] = {.name = "gender"},
    [C_EMP] = {.name = "employment_status"},
    [C_HIRE] = {.name = "hire_date"},
    [C_COV_START] = {.name = "coverage_start"},
    [C_COV_END] = {.name = "coverage_end"},
    [C_PLAN] = {.name = "plan_code"},
    [C_LEVEL] = {.name = "coverage_level"},
    [C_REPORTING] = {.name = "reporting_category"},
    [C_ELIG] = {.name = "eligibility_start"},
    [C_EMAIL] = {.name = "email"},
};

struct member {
	enum fmt_action action;
	const char *term_date;
	const char *v[NCOLS];
};

/* A full roster: a family, a terminated member kept for the look-back,
 * lower-case input, a member with little data. */
static const struct member roster[] = {
    {FMT_SAME, NULL, {"E1001",     "18",
                      "Doe",       "Jane",
                      "Q",         "123-45-6789",
                      "12 Elm St", "Apt 4",
                      "Madison",   "WI",
                      "53704",     "19850320",
                      "F",         "FT",
                      "20200115",  "20260101",
                      "",          "PPO GOLD",
                      "FAM",       "",
                      "",          "jane@example.com"}},
    {FMT_SAME, NULL, {"E1001",    "01",        "Doe",      "John",    "",
                      "",         "12 Elm St", "Apt 4",    "Madison", "WI",
                      "53704",    "19840211",  "M",        "",        "",
                      "20260101", "",          "PPO GOLD", "FAM",     "",
                      "",         ""}},
    {FMT_SAME, NULL, {"E1001", "19", "Doe", "Sam",      "", "",
                      "",      "",   "",    "",         "", "20150610",
                      "",      "",   "",    "20260101", "", "PPO GOLD",
                      "FAM",   "",   "",    ""}},
    {FMT_TERM,
     "20260215",
     {"E1002",     "18",     "o'brien",  "patrick",  "j",     "987654321",
      "1 main st", "",       "boston",   "ma",       "02110", "19700101",
      "m",         "TE",     "20100301", "20250101", "",      "PPO GOLD",
      "EMP",       "DEPT-7", "20250101", ""}},
    {FMT_SAME, NULL, {"E1003", "18", "Roe", "Richard",  "",         "",
                      "",      "",   "",    "",         "",         "",
                      "",      "PT", "",    "20240701", "20261231", "HMO BASIC",
                      "EMP",   "",   "",    ""}},
};

/* A change file: adds (subscriber, then dependent), a change, a family
 * terminated, a reinstatement. */
static const struct member changes[] = {
    {FMT_ADD,
     NULL,
     {"E2001",       "18", "Nguyen",   "Linh",     "",      "111223333",
      "500 Oak Ave", "",   "Austin",   "TX",       "78701", "19900705",
      "F",           "FT", "20260216", "20260301", "",      "PPO GOLD",
      "ECH",         "",   "20260301", ""}},
    {FMT_ADD,
     NULL,
     {"E2001",       "19", "Nguyen", "Minh",     "",      "",
      "500 Oak Ave", "",   "Austin", "TX",       "78701", "20180102",
      "M",           "",   "",       "20260301", "",      "PPO GOLD",
      "ECH",         "",   "",       ""}},
    {FMT_CHANGE,
     NULL,
     {"E1001",      "18", "Doe",      "Jane",     "Q",     "123456789",
      "77 Lake Rd", "",   "Madison",  "WI",       "53703", "19850320",
      "F",          "FT", "20200115", "20260101", "",      "PPO GOLD",
      "FAM",        "",   "",         ""}},
    {FMT_TERM,
     "20260215",
     {"E1002",     "18", "OBrien",   "Patrick",  "",      "987654321",
      "1 Main St", "",   "Boston",   "MA",       "02110", "19700101",
      "M",         "TE", "20100301", "20250101", "",      "PPO GOLD",
      "ESP",       "",   "",         ""}},
    {FMT_TERM,
     "20260215",
     {"E1002", "01",    "OBrien",   "Mary", "", "", "1 Main St", "", "Boston",
      "MA",    "02110", "19720404", "F",    "", "", "20250101",  "", "PPO GOLD",
      "ESP",   "",      "",         ""}},
    {FMT_REINSTATE,
     NULL,
     {"E1004",     "18", "Park",     "Ji-woo",   "",      "",
      "9 Pine Ct", "",   "Denver",   "CO",       "80202", "19881111",
      "U",         "FT", "20190401", "20260301", "",      "HMO BASIC",
      "EMP",       "",   "",         ""}},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct fmt_run run = {
    .date = "20260301",
    .time = "0930",
    .reference = "ROSTERD-0042",
    .isa13_control = 42,
    .gs06_control = 42,
    .st02_control = "0001",
};

static struct fmt_opts
x12_opts(bool full)
{
	struct fmt_opts o;

	memset(&o, 0, sizeof(o));
	o.kind = FMT_X12_834;
	o.full_file = full;
	o.cols = cols;
	o.ncols = NCOLS;
	o.x12.isa05_sender_qual = "ZZ";
	o.x12.isa06_sender_id = "ACMECORP";
	o.x12.isa07_receiver_qual = "ZZ";
	o.x12.isa08_receiver_id = "SPRINGHEALTH";
	o.x12.gs02_sender_code = "ACMECORP";
	o.x12.gs03_receiver_code = "SPRINGHEALTH";
	o.x12.isa15_usage = 'T';
	o.x12.sponsor_name = "Acme Manufacturing";
	o.x12.sponsor_id = "123456789";
	o.x12.payer_name = "Spring Health";
	o.x12.payer_id = "987654321";
	o.x12.policy_number = "GRP-0001";
	o.x12.insurance_line = "HLT";
	o.x12.element_sep = '*';
	o.x12.segment_term = '~';
	o.x12.component_sep = ':';
	o.x12.repetition_sep = '^';
	o.x12.newline_after_segment = true;
	return o;
}

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

static int
add_member(struct fmt_writer *w, const struct member *m, char **cause)
{
	struct fmt_record rec;

	rec.action = m->action;
	rec.values = m->v;
	rec.term_date = m->term_date;
	return fmt_writer_add(w, &rec, cause);
}

static void
render(const struct fmt_opts *o, const struct member *m, size_t n,
       struct out *out)
{
	struct fmt_writer *w;
	char *cause = NULL;
	size_t i;

	out_open(out);
	w = fmt_writer_new(o, &run, out->f, &cause);
	if (w == NULL)
		fail_msg("fmt_writer_new: %s", cause);
	for (i = 0; i < n; i++)
		if (add_member(w, &m[i], &cause) == -1)
			fail_msg("member %zu: %s", i, cause);
	assert_int_equal(fmt_writer_finish(w, &cause), 0);
	assert_int_equal(fmt_writer_count(w), n);
	assert_int_equal(fmt_writer_truncated(w), 0);
	fmt_writer_free(w);
	out_close(out);
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

/* --- an independent look at the interchange ---------------------------- */

struct ix {
	char **seg; /* segments without terminator */
	size_t n;
	char el;
};

static void
ix_parse(struct ix *x, const char *data, size_t len)
{
	char term;
	size_t i, start = 0;

	assert_true(len >= 106);
	assert_memory_equal(data, "ISA", 3);
	x->el = data[3];
	term = data[105];
	x->seg = calloc(len / 2 + 1, sizeof(char *));
	x->n = 0;
	for (i = 0; i < len; i++) {
		if (data[i] != term)
			continue;
		x->seg[x->n++] = strndup(data + start, i - start);
		start = i + 1;
		if (start < len && data[start] == '\n')
			start++;
	}
	assert_int_equal(start, len); /* nothing after the last segment */
}

static void
ix_free(struct ix *x)
{
	size_t i;

	for (i = 0; i < x->n; i++)
		free(x->seg[i]);
	free(x->seg);
}

/* Element i (0 = segment id) of segment s, in buf. */
static const char *
ix_el(const struct ix *x, size_t s, int i, char *buf, size_t size)
{
	const char *p = x->seg[s], *e;

	for (; i > 0; i--) {
		p = strchr(p, x->el);
		if (p == NULL)
			return "";
		p++;
	}
	e = strchr(p, x->el);
	if (e == NULL)
		e = p + strlen(p);
	snprintf(buf, size, "%.*s", (int)(e - p), p);
	return buf;
}

static bool
ix_is(const struct ix *x, size_t s, const char *id)
{
	size_t n = strlen(id);

	return strncmp(x->seg[s], id, n) == 0 &&
	       (x->seg[s][n] == x->el || x->seg[s][n] == '\0');
}

/*
 * Check the envelope the way a receiver would: ISA 106 bytes, SE01 the
 * real count, SE02 = ST02, GE/IEA counts and control numbers, every INS
 * followed by REF*0F and, in its loop, NM1*IL. Returns the INS count.
 */
static size_t
check_interchange(const char *data, size_t len)
{
	char a[64], b[64];
	size_t i, st = 0, ins = 0;
	bool in_member = false, nm1 = false;
	struct ix x;

	ix_parse(&x, data, len);
	assert_int_equal(strlen(x.seg[0]), 105);
	assert_true(x.n >= 6);
	assert_true(ix_is(&x, 1, "GS"));
	assert_true(ix_is(&x, 2, "ST"));
	assert_string_equal(ix_el(&x, 2, 1, a, sizeof(a)), "834");
	assert_string_equal(ix_el(&x, 2, 3, a, sizeof(a)), "005010X220A1");
	assert_string_equal(ix_el(&x, 1, 8, a, sizeof(a)), "005010X220A1");
	assert_true(ix_is(&x, 3, "BGN"));
	st = 2;
	for (i = 3; i < x.n - 3; i++) {
		if (ix_is(&x, i, "INS")) {
			assert_false(in_member && !nm1);
			ins++;
			in_member = true;
			nm1 = false;
			assert_true(ix_is(&x, i + 1, "REF"));
			assert_string_equal(ix_el(&x, i + 1, 1, a, sizeof(a)),
			                    "0F");
		}
		if (ix_is(&x, i, "NM1"))
			nm1 = strcmp(ix_el(&x, i, 1, a, sizeof(a)), "IL") == 0;
	}
	assert_false(in_member && !nm1);
	i = x.n - 3;
	assert_true(ix_is(&x, i, "SE"));
	snprintf(b, sizeof(b), "%zu", i - st + 1);
	assert_string_equal(ix_el(&x, i, 1, a, sizeof(a)), b);
	assert_string_equal(ix_el(&x, i, 2, a, sizeof(a)),
	                    ix_el(&x, st, 2, b, sizeof(b)));
	assert_true(ix_is(&x, i + 1, "GE"));
	assert_string_equal(ix_el(&x, i + 1, 1, a, sizeof(a)), "1");
	assert_string_equal(ix_el(&x, i + 1, 2, a, sizeof(a)),
	                    ix_el(&x, 1, 6, b, sizeof(b)));
	assert_true(ix_is(&x, i + 2, "IEA"));
	assert_string_equal(ix_el(&x, i + 2, 1, a, sizeof(a)), "1");
	assert_string_equal(ix_el(&x, i + 2, 2, a, sizeof(a)),
	                    ix_el(&x, 0, 13, b, sizeof(b)));
	ix_free(&x);
	return ins;
}

/* The INS03 values, in order, joined by ','. */
static void
ins03_list(const char *data, size_t len, char *buf, size_t size)
{
	char a[16];
	struct ix x;
	size_t i;

	buf[0] = '\0';
	ix_parse(&x, data, len);
	for (i = 0; i < x.n; i++) {
		if (!ix_is(&x, i, "INS"))
			continue;
		if (buf[0] != '\0')
			strncat(buf, ",", size - strlen(buf) - 1);
		strncat(buf, ix_el(&x, i, 3, a, sizeof(a)),
		        size - strlen(buf) - 1);
	}
	ix_free(&x);
}

/* data holds lit at offset off. */
#define assert_at(data, off, lit)                                              \
	assert_memory_equal((data) + (off), (lit), strlen(lit))

/* --- tests ----------------------------------------------------------- */

static void
test_maintenance_codes(void **state)
{
	static const struct {
		enum fmt_action a;
		const char *ins03, *ins04;
	} change[] = {
	    {FMT_ADD, "021", "28"},
	    {FMT_CHANGE, "001", "AI"},
	    {FMT_TERM, "024", "07"},
	    {FMT_REINSTATE, "025", "41"},
	};
	const char *i3, *i4;
	size_t i;

	for (i = 0; i < NELEM(change); i++) {
		assert_int_equal(
		    fmt_x12_maintenance(change[i].a, false, &i3, &i4), 0);
		assert_string_equal(i3, change[i].ins03);
		assert_string_equal(i4, change[i].ins04);
		assert_int_equal(
		    fmt_x12_maintenance(change[i].a, true, &i3, &i4), 0);
		assert_string_equal(i3, "030");
		assert_string_equal(i4, "XN");
	}
	assert_int_equal(fmt_x12_maintenance(FMT_SAME, true, &i3, &i4), 0);
	assert_string_equal(i3, "030");
	assert_int_equal(fmt_x12_maintenance(FMT_SAME, false, &i3, &i4), -1);
}

static void
test_golden_full(void **state)
{
	struct fmt_opts o = x12_opts(true);
	char list[128];
	struct out out;

	render(&o, roster, NELEM(roster), &out);
	golden("x12_full.834", out.data, out.len);
	assert_int_equal(check_interchange(out.data, out.len), NELEM(roster));
	ins03_list(out.data, out.len, list, sizeof(list));
	assert_string_equal(list, "030,030,030,030,030");
	assert_non_null(strstr(out.data, "~\nBGN*00*ROSTERD-0042*20260301*"
	                                 "0930****4~\n"));
	/* the look-back termination keeps its dates */
	assert_non_null(strstr(out.data, "~\nDTP*357*D8*20260215~\n"));
	assert_non_null(strstr(out.data, "~\nDTP*349*D8*20260215~\n"));
	/* names upper-cased, ids as given, SSN without dashes */
	assert_non_null(strstr(out.data, "~\nNM1*IL*1*O'BRIEN*PATRICK*J***34*"
	                                 "987654321~\n"));
	assert_non_null(strstr(out.data, "~\nNM1*IL*1*DOE*JANE*Q***34*"
	                                 "123456789~\n"));
	/* a dependent: INS01 N, no INS08, no id pair without SSN */
	assert_non_null(strstr(out.data, "~\nINS*N*01*030*XN*A~\n"
	                                 "REF*0F*E1001~\n"
	                                 "NM1*IL*1*DOE*JOHN~\n"));
	free(out.data);
}

/* DTP*336 (employment begin) belongs to the subscriber, even when the
 * profile's hire-date source also fills a dependent's record. */
static void
test_dependent_no_employment_date(void **state)
{
	struct fmt_opts o = x12_opts(true);
	struct member family[2];
	const char *dep;
	struct out out;

	family[0] = roster[0];
	family[1] = roster[1];
	family[1].v[C_HIRE] = "20200115";
	render(&o, family, NELEM(family), &out);
	assert_int_equal(check_interchange(out.data, out.len), 2);
	dep = strstr(out.data, "~\nINS*N*");
	assert_non_null(dep);
	assert_non_null(strstr(out.data, "~\nDTP*336*D8*20200115~\n"));
	assert_true(strstr(out.data, "DTP*336") < dep);
	assert_null(strstr(dep, "DTP*336"));
	free(out.data);
}

static void
test_golden_change(void **state)
{
	struct fmt_opts o = x12_opts(false);
	char list[128];
	struct out out;

	render(&o, changes, NELEM(changes), &out);
	golden("x12_change.834", out.data, out.len);
	assert_int_equal(check_interchange(out.data, out.len), NELEM(changes));
	ins03_list(out.data, out.len, list, sizeof(list));
	assert_string_equal(list, "021,021,001,024,024,025");
	assert_non_null(strstr(out.data, "****2~\n"));
	assert_non_null(strstr(out.data, "~\nINS*Y*18*024*07*A***TE~\n"
	                                 "REF*0F*E1002~\n"
	                                 "DTP*336*D8*20100301~\n"
	                                 "DTP*357*D8*20260215~\n"));
	assert_non_null(strstr(out.data, "~\nHD*024**HLT*PPO GOLD*ESP~\n"
	                                 "DTP*348*D8*20250101~\n"
	                                 "DTP*349*D8*20260215~\n"));
	assert_non_null(strstr(out.data, "~\nINS*Y*18*025*41*A***FT~\n"));
	free(out.data);
}

static void
test_golden_custom_separators(void **state)
{
	struct fmt_opts o = x12_opts(false);
	struct out out;

	o.x12.element_sep = '|';
	o.x12.segment_term = '\'';
	o.x12.component_sep = '>';
	o.x12.repetition_sep = '!';
	o.x12.newline_after_segment = false;
	o.x12.isa15_usage = 'P';
	o.x12.policy_number = NULL; /* no REF*38 */
	render(&o, changes, 3, &out);
	golden("x12_change_custom.834", out.data, out.len);
	assert_int_equal(check_interchange(out.data, out.len), 3);
	assert_null(strchr(out.data, '\n'));
	assert_null(strstr(out.data, "REF|38"));
	assert_at(out.data, 82, "!|00501|000000042|0|P|>'GS|BE|");
	free(out.data);
}

/* ISA: 16 fixed-width elements, 106 bytes with its terminator. */
static void
test_isa_fixed_width(void **state)
{
	struct fmt_opts o = x12_opts(false);
	struct out out;

	o.x12.isa06_sender_id = "A";
	o.x12.isa08_receiver_id = "RECEIVER1234567"; /* 15: no padding */
	o.x12.gs02_sender_code = "AB";
	render(&o, changes, 1, &out);
	assert_at(out.data, 0,
	          "ISA*00*          *00*          *ZZ*A              "
	          "*ZZ*RECEIVER1234567*260301*0930*^*00501*000000042"
	          "*0*T*:~\nGS*BE*AB*SPRINGHEALTH*20260301*0930*42*"
	          "X*005010X220A1~\nST*834*0001*005010X220A1~\n");
	assert_int_equal(strchr(out.data, '~') - out.data, 105);
	free(out.data);
	/* A TA1 asked of the payer: ISA14 1. */
	o.x12.isa14_ta1 = true;
	render(&o, changes, 1, &out);
	assert_at(out.data, 90, "000000042*1*T*:~\n");
	free(out.data);
}

/* Zero separators and empty qualifiers take the defaults. */
static void
test_defaults(void **state)
{
	struct fmt_opts o = x12_opts(false);
	struct out out;

	o.x12.element_sep = o.x12.segment_term = '\0';
	o.x12.component_sep = o.x12.repetition_sep = '\0';
	o.x12.isa05_sender_qual = NULL;
	o.x12.isa07_receiver_qual = "";
	o.x12.gs02_sender_code = NULL;
	o.x12.gs03_receiver_code = "";
	o.x12.newline_after_segment = false;
	render(&o, changes, 1, &out);
	assert_int_equal(check_interchange(out.data, out.len), 1);
	assert_at(out.data, 31, "*ZZ*ACMECORP       *ZZ*SPRINGHEALTH   *");
	assert_at(out.data, 82,
	          "^*00501*000000042*0*T*:~GS*BE*"
	          "ACMECORP*SPRINGHEALTH*");
	free(out.data);
}

/*
 * X12 has no escape: a value holding a separator or a control character
 * is refused with the column named, nothing of it is written, and the
 * segment count stays right.
 */
static void
test_separators_refused(void **state)
{
	static const struct {
		int col;
		const char *value;
		const char *what;
	} cases[] = {
	    {C_LAST, "SMITH*JONES", "element separator '*'"},
	    {C_ADDR1, "APT 5~B", "segment terminator '~'"},
	    {C_CITY, "ST. PAUL:MN", "component separator ':'"},
	    {C_FIRST, "ANN^MARIE", "repetition separator '^'"},
	    {C_ADDR2, "LINE\nTWO", "control character 0x0a"},
	    {C_PLAN, "GOLD\tPLAN", "control character 0x09"},
	};
	struct fmt_opts o = x12_opts(false);
	struct fmt_writer *w;
	struct member m;
	char want[64], *cause;
	struct out out;
	size_t i;

	for (i = 0; i < NELEM(cases); i++) {
		out_open(&out);
		cause = NULL;
		w = fmt_writer_new(&o, &run, out.f, &cause);
		assert_non_null(w);
		assert_int_equal(add_member(w, &changes[0], &cause), 0);
		m = changes[2];
		m.v[cases[i].col] = cases[i].value;
		assert_int_equal(add_member(w, &m, &cause), -1);
		assert_non_null(
		    strstr(cause, "834 record 2 (member_id E1001): "));
		snprintf(want, sizeof(want), "column \"%s\"",
		         cols[cases[i].col].name);
		assert_non_null(strstr(cause, want));
		assert_non_null(strstr(cause, cases[i].what));
		free(cause);
		cause = NULL;
		assert_int_equal(add_member(w, &changes[1], &cause), 0);
		assert_int_equal(fmt_writer_finish(w, &cause), 0);
		assert_int_equal(fmt_writer_count(w), 2);
		fmt_writer_free(w);
		out_close(&out);
		assert_int_equal(check_interchange(out.data, out.len), 2);
		assert_null(strstr(out.data, "E1001"));
		free(out.data);
	}
}

/* Values 005010X220A1 cannot carry, each with a clear message. */
static void
test_record_errors(void **state)
{
	static const struct {
		int base; /* index in changes[] */
		enum fmt_action action;
		const char *term_date;
		int col;
		const char *value;
		const char *msg;
	} cases[] = {
	    {3, FMT_TERM, NULL, -1, NULL, "term_date"},
	    {3, FMT_TERM, "2026-02-15", -1, NULL, "term_date"},
	    {2, FMT_SAME, NULL, -1, NULL, "only in a full file"},
	    {2, FMT_CHANGE, NULL, C_BIRTH, "1985-03-20",
	     "\"birth_date\" is not a CCYYMMDD date"},
	    {2, FMT_CHANGE, NULL, C_COV_START, "20261301", "coverage_start"},
	    {2, FMT_CHANGE, NULL, C_EMP, "", "needs employment_status"},
	    {2, FMT_CHANGE, NULL, C_EMP, "FULL", "employment_status"},
	    {2, FMT_CHANGE, NULL, C_SSN, "12345678", "9 digits"},
	    {2, FMT_CHANGE, NULL, C_SSN, "1234567890", "9 digits"},
	    {2, FMT_CHANGE, NULL, C_SSN, "12345678X", "9 digits"},
	    {2, FMT_CHANGE, NULL, C_REL, "1", "relationship"},
	    {2, FMT_CHANGE, NULL, C_REL, "", "relationship"},
	    /* code lists of 005010X220A1: INS02, INS08, HD05 */
	    {2, FMT_CHANGE, NULL, C_REL, "20",
	     "relationship \"20\" is not an INS02"},
	    {2, FMT_CHANGE, NULL, C_REL, "S", "relationship \"S\" is not"},
	    {2, FMT_CHANGE, NULL, C_EMP, "XX",
	     "employment_status \"XX\" is not an INS08"},
	    {2, FMT_CHANGE, NULL, C_LEVEL, "ABC",
	     "coverage_level \"ABC\" is not an HD05"},
	    {2, FMT_CHANGE, NULL, C_GENDER, "X", "gender"},
	    {1, FMT_ADD, NULL, C_BIRTH, "", "gender needs birth_date"},
	    {2, FMT_CHANGE, NULL, C_CITY, "", "need city"},
	    {0, FMT_ADD, NULL, C_COV_START, "", "coverage_start"},
	    {5, FMT_REINSTATE, NULL, C_COV_START, "", "coverage_start"},
	    {2, FMT_CHANGE, NULL, C_COV_START, "", "loop 2300"},
	    {2, FMT_CHANGE, NULL, C_MEMBER_ID, "", "member_id is empty"},
	    {2, FMT_CHANGE, NULL, C_LAST, "", "last_name is empty"},
	    {2, FMT_CHANGE, NULL, C_LAST,
	     "ABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJX",
	     "longer than the 60"},
	    {2, FMT_CHANGE, NULL, C_STATE, "WIS", "\"state\" is longer"},
	    {2, FMT_CHANGE, NULL, C_LEVEL, "E-1", "coverage_level"},
	    /* DT dates must exist, not only have a month 1-12, a day 1-31 */
	    {2, FMT_CHANGE, NULL, C_BIRTH, "19850230", "birth_date"},
	    {2, FMT_CHANGE, NULL, C_COV_START, "20230229", "coverage_start"},
	    {2, FMT_CHANGE, NULL, C_HIRE, "20260431", "hire_date"},
	    {2, FMT_CHANGE, NULL, C_COV_START, "21000229", "coverage_start"},
	    /* minimum lengths: N401 AN 2/30, N402 ID 2/2, N403 ID 3/15,
	     * HD05 ID 3/3 */
	    {2, FMT_CHANGE, NULL, C_CITY, "X",
	     "\"city\" is shorter than the 2"},
	    {2, FMT_CHANGE, NULL, C_STATE, "W", "\"state\" is shorter"},
	    {2, FMT_CHANGE, NULL, C_ZIP, "53", "\"zip\" is shorter"},
	    {2, FMT_CHANGE, NULL, C_ZIP, "1234-5678-9012-3456",
	     "\"zip\" is "
	     "longer"},
	    {2, FMT_CHANGE, NULL, C_LEVEL, "FA",
	     "\"coverage_level\" is "
	     "shorter"},
	    {2, FMT_CHANGE, NULL, C_STATE, "W.", "state must be a 2-letter"},
	    /* outside the X12 character sets and not a Latin letter (UTF-8
	     * "山", U+00D7 "×", Latin-1 0xe9) */
	    {2, FMT_CHANGE, NULL, C_FIRST, "\xe5\xb1\xb1",
	     "non-ASCII byte 0xe5"},
	    {2, FMT_CHANGE, NULL, C_FIRST, "A\xc3\x97", "non-ASCII byte 0xc3"},
	    {2, FMT_CHANGE, NULL, C_CITY,
	     "Montr\xe9"
	     "al",
	     "non-ASCII byte 0xe9"},
	    {2, FMT_CHANGE, NULL, C_LAST, "Doe\x7f", "control character 0x7f"},
	    /* spaces only are no value */
	    {2, FMT_CHANGE, NULL, C_LAST, "   ", "last_name is empty"},
	};
	struct fmt_opts o = x12_opts(false);
	struct fmt_writer *w;
	struct member m;
	char *cause = NULL;
	struct out out;
	size_t i;

	out_open(&out);
	w = fmt_writer_new(&o, &run, out.f, &cause);
	assert_non_null(w);
	for (i = 0; i < NELEM(cases); i++) {
		m = changes[cases[i].base];
		m.action = cases[i].action;
		m.term_date = cases[i].term_date;
		if (cases[i].col >= 0)
			m.v[cases[i].col] = cases[i].value;
		cause = NULL;
		if (add_member(w, &m, &cause) != -1)
			fail_msg("case %zu was accepted", i);
		if (strstr(cause, cases[i].msg) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, cause,
			         cases[i].msg);
		if (cases[i].col != C_MEMBER_ID)
			assert_non_null(strstr(cause, "834 record 1 (member_id "
			                              "E"));
		else
			assert_non_null(strstr(cause, "834 record 1: "));
		free(cause);
	}
	cause = NULL;
	assert_int_equal(fmt_writer_finish(w, &cause), 0);
	assert_int_equal(fmt_writer_count(w), 0);
	fmt_writer_free(w);
	out_close(&out);
	/* an empty but well-formed interchange */
	assert_int_equal(check_interchange(out.data, out.len), 0);
	free(out.data);
}

/* Trailing spaces are suppressed; N403 loses its punctuation; a leap day
 * is a date. */
static void
test_value_cleanup(void **state)
{
	struct fmt_opts o = x12_opts(false);
	struct fmt_writer *w;
	struct member m = changes[2];
	char *cause = NULL;
	struct out out;

	m.v[C_LAST] = "Doe  ";
	m.v[C_CITY] = "Madison ";
	m.v[C_ZIP] = "53703-1234";
	m.v[C_LEVEL] = "FAM ";
	m.v[C_REL] = "18 ";
	m.v[C_COV_START] = "20240229";
	out_open(&out);
	w = fmt_writer_new(&o, &run, out.f, &cause);
	assert_non_null(w);
	if (add_member(w, &m, &cause) != 0)
		fail_msg("refused: %s", cause);
	assert_int_equal(fmt_writer_finish(w, &cause), 0);
	fmt_writer_free(w);
	out_close(&out);
	assert_int_equal(check_interchange(out.data, out.len), 1);
	assert_non_null(strstr(out.data, "\nINS*Y*18*001*AI*A***FT~"));
	assert_non_null(strstr(out.data, "\nNM1*IL*1*DOE*JANE*Q***34*"));
	assert_non_null(strstr(out.data, "\nN4*MADISON*WI*537031234~"));
	assert_non_null(strstr(out.data, "*FAM~"));
	assert_non_null(strstr(out.data, "\nDTP*348*D8*20240229~"));
	free(out.data);
}

/* Latin letters, dashes and curly quotes are written as ASCII. */
static void
test_transliteration(void **state)
{
	struct fmt_opts o = x12_opts(false);
	struct fmt_writer *w;
	struct member m = changes[2];
	char *cause = NULL;
	struct out out;

	m.v[C_LAST] = "O\xe2\x80\x99"
	              "Br\xc3\xad"
	              "an-M\xc3\xbcller";
	m.v[C_FIRST] = "\xc5\x81"
	               "ukasz";
	m.v[C_ADDR1] = "1 Stra\xc3\x9f"
	               "e \xe2\x80\x93 \xc3\x86"
	               "bel";
	m.v[C_CITY] = "S\xc3\xa3o Jo\xc3\xa3o";
	out_open(&out);
	w = fmt_writer_new(&o, &run, out.f, &cause);
	assert_non_null(w);
	if (add_member(w, &m, &cause) != 0)
		fail_msg("refused: %s", cause);
	assert_int_equal(fmt_writer_finish(w, &cause), 0);
	fmt_writer_free(w);
	out_close(&out);
	assert_int_equal(check_interchange(out.data, out.len), 1);
	assert_non_null(strstr(out.data, "\nNM1*IL*1*O'BRIAN-MULLER*LUKASZ*"));
	assert_non_null(strstr(out.data, "\nN3*1 STRASSE - AEBEL~"));
	assert_non_null(strstr(out.data, "\nN4*SAO JOAO*"));
	free(out.data);
}

/* N103 qualifiers other than FI, with identifiers that are not tax ids. */
static void
test_n1_qualifiers(void **state)
{
	struct fmt_opts o = x12_opts(false);
	struct fmt_writer *w;
	char *cause = NULL;
	struct out out;

	o.x12.sponsor_id_qual = "94";
	o.x12.sponsor_id = "ACME01";
	o.x12.payer_id_qual = "XV";
	o.x12.payer_id = "80001ABC1234567";
	out_open(&out);
	w = fmt_writer_new(&o, &run, out.f, &cause);
	if (w == NULL)
		fail_msg("refused: %s", cause);
	assert_int_equal(fmt_writer_finish(w, &cause), 0);
	fmt_writer_free(w);
	out_close(&out);
	assert_int_equal(check_interchange(out.data, out.len), 0);
	assert_non_null(
	    strstr(out.data, "\nN1*P5*ACME MANUFACTURING*94*ACME01~"));
	assert_non_null(
	    strstr(out.data, "\nN1*IN*SPRING HEALTH*XV*80001ABC1234567~"));
	free(out.data);
}

static void
test_option_errors(void **state)
{
	static const struct fmt_column no_id[2] = {{.name = "relationship"},
	                                           {.name = "last_name"}};
	struct fmt_opts o;
	struct fmt_run r;
	char *cause = NULL;
	FILE *f = fopen("/dev/null", "w");

#define EXPECT_FAIL(msg)                                                       \
	do {                                                                   \
		cause = NULL;                                                  \
		assert_null(fmt_writer_new(&o, &r, f, &cause));                \
		if (strstr(cause, (msg)) == NULL)                              \
			fail_msg("\"%s\" lacks \"%s\"", cause, (msg));         \
		free(cause);                                                   \
		o = x12_opts(false);                                           \
		r = run;                                                       \
	} while (0)

	o = x12_opts(false);
	r = run;
	o.cols = no_id;
	o.ncols = 2;
	EXPECT_FAIL("no \"member_id\" column");
	o.x12.isa06_sender_id = "SIXTEEN-CHARS-ID";
	EXPECT_FAIL("isa06_sender_id must be 1 to 15");
	o.x12.isa08_receiver_id = NULL;
	EXPECT_FAIL("isa08_receiver_id");
	o.x12.isa05_sender_qual = "Z";
	EXPECT_FAIL("isa05_sender_qual must be 2");
	o.x12.sponsor_id = "";
	EXPECT_FAIL("sponsor_id");
	o.x12.payer_id = NULL;
	EXPECT_FAIL("payer_id");
	o.x12.sponsor_name = "ACME*CORP";
	EXPECT_FAIL("sponsor_name contains the element separator");
	/* N103 FI is a federal tax id: 9 digits; other ids need 94 */
	o.x12.sponsor_id = "ACME01";
	EXPECT_FAIL("sponsor_id must be 9 digits");
	o.x12.payer_id = "12-3456789";
	EXPECT_FAIL("payer_id must be 9 digits");
	o.x12.sponsor_id_qual = "XV";
	EXPECT_FAIL("sponsor_id_qualifier must be FI, 24 or 94");
	o.x12.payer_id_qual = "24";
	EXPECT_FAIL("payer_id_qualifier must be FI, 94 or XV");
	o.x12.insurance_line = NULL;
	EXPECT_FAIL("insurance_line");
	o.x12.isa15_usage = 'X';
	EXPECT_FAIL("isa15_usage");
	o.x12.component_sep = '*';
	EXPECT_FAIL("must differ");
	o.x12.element_sep = 'A';
	EXPECT_FAIL("punctuation");
	o.x12.segment_term = ' ';
	EXPECT_FAIL("punctuation");
	r.st02_control = "123";
	EXPECT_FAIL("ST02");
	r.st02_control = "1234567890";
	EXPECT_FAIL("ST02");
	r.reference = "";
	EXPECT_FAIL("BGN02");
	r.isa13_control = 0;
	EXPECT_FAIL("ISA13");
	r.isa13_control = 1000000000;
	EXPECT_FAIL("ISA13");
	r.gs06_control = -1;
	EXPECT_FAIL("GS06");
	r.date = "2026-03-01";
	EXPECT_FAIL("run date");
	r.time = "2460";
	EXPECT_FAIL("run time");
	r.time = "09:30";
	EXPECT_FAIL("run time");
#undef EXPECT_FAIL
	fclose(f);
}

/* Thousands of members: counts stay right across output flushes. */
static void
test_many_members(void **state)
{
	struct fmt_opts o = x12_opts(false);
	struct fmt_writer *w;
	struct member m;
	char id[16], *cause = NULL;
	struct out out;
	size_t i;

	out_open(&out);
	w = fmt_writer_new(&o, &run, out.f, &cause);
	assert_non_null(w);
	for (i = 0; i < 12000; i++) {
		m = changes[i % NELEM(changes)];
		snprintf(id, sizeof(id), "M%06zu", i);
		m.v[C_MEMBER_ID] = id;
		assert_int_equal(add_member(w, &m, &cause), 0);
	}
	assert_int_equal(fmt_writer_finish(w, &cause), 0);
	assert_int_equal(fmt_writer_count(w), 12000);
	fmt_writer_free(w);
	out_close(&out);
	assert_true(out.len > 2 * 1024 * 1024);
	assert_int_equal(check_interchange(out.data, out.len), 12000);
	free(out.data);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_maintenance_codes),
	    cmocka_unit_test(test_golden_full),
	    cmocka_unit_test(test_golden_change),
	    cmocka_unit_test(test_dependent_no_employment_date),
	    cmocka_unit_test(test_golden_custom_separators),
	    cmocka_unit_test(test_isa_fixed_width),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_separators_refused),
	    cmocka_unit_test(test_record_errors),
	    cmocka_unit_test(test_option_errors),
	    cmocka_unit_test(test_value_cleanup),
	    cmocka_unit_test(test_transliteration),
	    cmocka_unit_test(test_n1_qualifiers),
	    cmocka_unit_test(test_many_members),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
