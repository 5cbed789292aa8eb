/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* ANSI X12 834 005010X220A1 writer (benefit enrollment and maintenance). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fmt/fmt.h"
#include "fmt/fmt_int.h"
#include "fmt/fmt_x12.h"
#include "util/xmalloc.h"

#define X12_VERSION "005010X220A1"

/* The named columns the 834 reads (see fmt.h and docs/formats.md). */
enum fmt_x12_field {
	X_MEMBER_ID,
	X_RELATIONSHIP,
	X_LAST,
	X_FIRST,
	X_MIDDLE,
	X_SSN,
	X_ADDR1,
	X_ADDR2,
	X_CITY,
	X_STATE,
	X_ZIP,
	X_BIRTH,
	X_GENDER,
	X_EMPLOYMENT,
	X_HIRE,
	X_COV_START,
	X_COV_END,
	X_PLAN,
	X_COV_LEVEL,
	X_ELIG_START,
	X_REPORTING,
	X_NFIELDS
};

#define XF_REQUIRED 0x1 /* the profile must have this column */
#define XF_UPPER 0x2    /* written upper-cased (names, addresses, codes) */
#define XF_DATE 0x4     /* CCYYMMDD */
#define XF_POSTAL 0x8   /* N403: written without '-' and spaces */

/*
 * min and max are the element's lengths in 005010X220A1 (a present value
 * shorter than min is as invalid as a longer one: N401 is AN 2/30, N402
 * ID 2/2, N403 ID 3/15, HD05 ID 3/3); elem names it in messages.
 */
static const struct {
	const char *name;
	const char *elem;
	size_t min, max;
	int flags;
} fmt_x12_fields[X_NFIELDS] = {
    [X_MEMBER_ID] = {"member_id", "REF02", 1, 50, XF_REQUIRED},
    [X_RELATIONSHIP] = {"relationship", "INS02", 1, 2, XF_REQUIRED | XF_UPPER},
    [X_LAST] = {"last_name", "NM103", 1, 60, XF_REQUIRED | XF_UPPER},
    [X_FIRST] = {"first_name", "NM104", 1, 35, XF_UPPER},
    [X_MIDDLE] = {"middle_name", "NM105", 1, 25, XF_UPPER},
    [X_SSN] = {"ssn", "NM109", 1, 11, 0},
    [X_ADDR1] = {"address1", "N301", 1, 55, XF_UPPER},
    [X_ADDR2] = {"address2", "N302", 1, 55, XF_UPPER},
    [X_CITY] = {"city", "N401", 2, 30, XF_UPPER},
    [X_STATE] = {"state", "N402", 2, 2, XF_UPPER},
    [X_ZIP] = {"zip", "N403", 3, 15, XF_POSTAL},
    [X_BIRTH] = {"birth_date", "DMG02", 8, 8, XF_DATE},
    [X_GENDER] = {"gender", "DMG03", 1, 1, XF_UPPER},
    [X_EMPLOYMENT] = {"employment_status", "INS08", 1, 2, XF_UPPER},
    [X_HIRE] = {"hire_date", "DTP03", 8, 8, XF_DATE},
    [X_COV_START] = {"coverage_start", "DTP03", 8, 8, XF_REQUIRED | XF_DATE},
    [X_COV_END] = {"coverage_end", "DTP03", 8, 8, XF_DATE},
    [X_PLAN] = {"plan_code", "HD04", 1, 50, 0},
    [X_COV_LEVEL] = {"coverage_level", "HD05", 3, 3, XF_UPPER},
    [X_ELIG_START] = {"eligibility_start", "DTP03", 8, 8, XF_DATE},
    [X_REPORTING] = {"reporting_category", "REF02", 1, 50, 0},
};

struct fmt_x12_writer {
	int col[X_NFIELDS]; /* column index, -1 when the profile has none */
	char el, term, comp, rep;
	bool nl;
	bool full;
	bool bad[256]; /* bytes no value may hold: separators, controls */
	const char *ins_line;
	char isa13[10];
	char gs06[10];
	char st02[10];
	uint64_t segs;       /* segments since ST, ST included */
	size_t pending;      /* empty elements not yet written */
	char *err;           /* first error of the record being checked */
	const char *cur_id;  /* its member_id, when printable, for errors */
	char *tl[X_NFIELDS]; /* transliterated values of the record */
	size_t tlcap[X_NFIELDS];
};

/* One member, checked, ready to write. */
struct fmt_x12_rec {
	const char *v[X_NFIELDS];
	size_t len[X_NFIELDS];
	char ssn[10];
	char zip[24]; /* N403 without punctuation: up to 20 bytes in */
	bool subscriber;
	const char *ins03;
	const char *ins04;
	const char *term;    /* DTP*357, terminations only */
	const char *cov_end; /* DTP*349 */
};

int
fmt_x12_maintenance(enum fmt_action a, bool full, const char **ins03,
                    const char **ins04)
{
	/* 005010X220A1: with BGN08 "4" (Verify) every INS03 is "030"
	 * (Audit or Compare); "XN" = Notification Only. */
	if (full) {
		*ins03 = "030";
		*ins04 = "XN";
		return 0;
	}
	switch (a) {
	case FMT_ADD:
		*ins03 = "021"; /* Addition */
		*ins04 = "28";  /* Initial Enrollment */
		return 0;
	case FMT_CHANGE:
		*ins03 = "001"; /* Change */
		*ins04 = "AI";  /* No Reason Given */
		return 0;
	case FMT_TERM:
		*ins03 = "024"; /* Cancellation or Termination */
		*ins04 = "07";  /* Termination of Benefits */
		return 0;
	case FMT_REINSTATE:
		*ins03 = "025"; /* Reinstatement */
		*ins04 = "41";  /* Re-enrollment */
		return 0;
	default:
		return -1;
	}
}

/* --- segment output ------------------------------------------------ */

static void
fmt_x12_seg(struct fmt_writer *w, struct fmt_x12_writer *x, const char *id)
{
	fmt_out_puts(w, id);
	x->pending = 0;
}

/*
 * Append one element. Empty elements are held back and written only when
 * a later element has data, so a segment never ends in separators.
 */
static void
fmt_x12_el(struct fmt_writer *w, struct fmt_x12_writer *x, const char *v,
           size_t len, bool upper)
{
	char *d;
	size_t i;

	if (len == 0) {
		x->pending++;
		return;
	}
	if (w->cap - w->len < x->pending + 1 + len)
		fmt_out_grow(w, x->pending + 1 + len);
	d = w->out + w->len;
	for (i = 0; i <= x->pending; i++)
		*d++ = x->el;
	w->len += x->pending + 1;
	x->pending = 0;
	if (!upper) {
		memcpy(d, v, len);
	} else {
		for (i = 0; i < len; i++)
			d[i] = v[i] >= 'a' && v[i] <= 'z' ? (char)(v[i] - 32)
			                                  : v[i];
	}
	w->len += len;
}

static void
fmt_x12_els(struct fmt_writer *w, struct fmt_x12_writer *x, const char *v)
{
	fmt_x12_el(w, x, v, v != NULL ? strlen(v) : 0, false);
}

static void
fmt_x12_end(struct fmt_writer *w, struct fmt_x12_writer *x)
{
	fmt_out_putc(w, x->term);
	if (x->nl)
		fmt_out_putc(w, '\n');
	x->segs++;
}

/* SEG*a*b*c with literal elements (codes, dates, checked ids). */
static void
fmt_x12_seg3(struct fmt_writer *w, struct fmt_x12_writer *x, const char *id,
             const char *a, const char *b, const char *c)
{
	fmt_x12_seg(w, x, id);
	fmt_x12_els(w, x, a);
	fmt_x12_els(w, x, b);
	fmt_x12_els(w, x, c);
	fmt_x12_end(w, x);
}

/* --- checks -------------------------------------------------------- */

/* A CCYYMMDD date that exists (X12 DT: 20230229 and 20260431 do not). */
static bool
fmt_x12_is_date(const char *v)
{
	static const int mdays[12] = {31, 29, 31, 30, 31, 30,
	                              31, 31, 30, 31, 30, 31};
	int y, m, d, i;

	for (i = 0; i < 8; i++)
		if (v[i] < '0' || v[i] > '9')
			return false;
	if (v[8] != '\0')
		return false;
	y = atoi(v) / 10000;
	m = (v[4] - '0') * 10 + (v[5] - '0');
	d = (v[6] - '0') * 10 + (v[7] - '0');
	if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return false;
	return m != 2 || d != 29 ||
	       (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
}

static bool
fmt_x12_is_time(const char *v)
{
	int i;

	for (i = 0; i < 4; i++)
		if (v[i] < '0' || v[i] > '9')
			return false;
	return v[4] == '\0' && (v[0] - '0') * 10 + (v[1] - '0') < 24 &&
	       v[2] < '6';
}

static bool
fmt_x12_is_code(const char *v, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!((v[i] >= '0' && v[i] <= '9') ||
		      (v[i] >= 'A' && v[i] <= 'Z') ||
		      (v[i] >= 'a' && v[i] <= 'z')))
			return false;
	return true;
}

/*
 * The codes 005010X220A1 allows in INS02 (individual relationship), INS08
 * (employment status) and HD05 (coverage level); a value outside them is
 * a file the payer's translator rejects, so it is an error here.
 */
static const char *const x12_ins02[] = {
    "01", "03", "04", "05", "06", "07", "08", "09", "10", "11",
    "12", "13", "14", "15", "16", "17", "18", "19", "23", "24",
    "25", "26", "31", "38", "53", "60", "D2", "G8", "G9", NULL};
static const char *const x12_ins08[] = {"AC", "AO", "AU", "FT", "L1",
                                        "PT", "RT", "TE", NULL};
static const char *const x12_hd05[] = {
    "CHD", "DEP", "E1D", "E2D", "E3D", "E5D", "E6D", "E7D", "E8D", "E9D",
    "ECH", "EMP", "ESP", "FAM", "IND", "SPC", "SPO", "TWO", NULL};

/* ` "V"` for a message when v is a short plain code, else nothing. */
static const char *
fmt_x12_quote(const char *v, size_t len, char buf[16])
{
	if (len == 0 || len > 8 || !fmt_x12_is_code(v, len))
		return "";
	snprintf(buf, 16, " \"%.*s\"", (int)len, v);
	return buf;
}

static bool
fmt_x12_in_list(const char *v, size_t len, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strlen(*list) == len && strncasecmp(v, *list, len) == 0)
			return true;
	return false;
}

/* What is wrong with byte c in a value, for the error message. */
static char *
fmt_x12_bad_char(const struct fmt_x12_writer *x, unsigned char c)
{
	if (c == (unsigned char)x->el)
		return xasprintf("the element separator '%c'", c);
	if (c == (unsigned char)x->term)
		return xasprintf("the segment terminator '%c'", c);
	if (c == (unsigned char)x->comp)
		return xasprintf("the component separator '%c'", c);
	if (c == (unsigned char)x->rep)
		return xasprintf("the repetition separator '%c'", c);
	if (c >= 0x80)
		return xasprintf("the non-ASCII byte 0x%02x (X12 5010 "
		                 "carries only its basic and extended "
		                 "character sets, which are ASCII)",
		                 c);
	return xasprintf("the control character 0x%02x", c);
}

/* The first byte of v no X12 value may hold, or -1. */
static int
fmt_x12_scan(const struct fmt_x12_writer *x, const char *v, size_t *len)
{
	const unsigned char *p;

	for (p = (const unsigned char *)v; *p; p++)
		if (x->bad[*p])
			return *p;
	*len = (size_t)(p - (const unsigned char *)v);
	return -1;
}

/* v when it is short, plain text that can go into a message, else NULL. */
static const char *
fmt_x12_printable(const char *v)
{
	size_t i;

	if (v == NULL || v[0] == '\0')
		return NULL;
	for (i = 0; v[i] != '\0'; i++)
		if (i == 50 || v[i] < 0x20 || v[i] > 0x7e)
			return NULL;
	return v;
}

/* Record the record's first error; later ones add nothing. */
static void __attribute__((format(printf, 3, 4)))
fmt_x12_fail(struct fmt_x12_writer *x, const struct fmt_writer *w,
             const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (x->err != NULL)
		return;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (x->cur_id != NULL)
		x->err =
		    xasprintf("834 record %llu (member_id %s): %s",
		              (unsigned long long)w->count + 1, x->cur_id, msg);
	else
		x->err = xasprintf("834 record %llu: %s",
		                   (unsigned long long)w->count + 1, msg);
	free(msg);
}

/*
 * N403 is a postal code "excluding punctuation and blanks": ZIP+4 written
 * 12345-6789 goes out as 123456789. Returns the new length.
 */
static size_t
fmt_x12_postal(struct fmt_x12_rec *r, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (r->v[X_ZIP][i] != '-' && r->v[X_ZIP][i] != ' ')
			r->zip[n++] = r->v[X_ZIP][i];
	r->zip[n] = '\0';
	r->v[X_ZIP] = r->zip;
	return n;
}

/*
 * Latin letters U+00C0..U+017F as ASCII, the way names are written on
 * cards and in 834 files ("José" as "JOSE", "Łukasz" as "LUKASZ"); NULL
 * where there is no letter (× ÷), which stays refused.
 */
static const char *const fmt_x12_latin[192] = {
    "A", "A", "A",  "A",  "A", "A", "AE", "C",  "E", "E",  "E",  "E", "I", "I",
    "I", "I", "D",  "N",  "O", "O", "O",  "O",  "O", NULL, "O",  "U", "U", "U",
    "U", "Y", "TH", "ss", "a", "a", "a",  "a",  "a", "a",  "ae", "c", "e", "e",
    "e", "e", "i",  "i",  "i", "i", "d",  "n",  "o", "o",  "o",  "o", "o", NULL,
    "o", "u", "u",  "u",  "u", "y", "th", "y",  "A", "a",  "A",  "a", "A", "a",
    "C", "c", "C",  "c",  "C", "c", "C",  "c",  "D", "d",  "D",  "d", "E", "e",
    "E", "e", "E",  "e",  "E", "e", "E",  "e",  "G", "g",  "G",  "g", "G", "g",
    "G", "g", "H",  "h",  "H", "h", "I",  "i",  "I", "i",  "I",  "i", "I", "i",
    "I", "i", "IJ", "ij", "J", "j", "K",  "k",  "k", "L",  "l",  "L", "l", "L",
    "l", "L", "l",  "L",  "l", "N", "n",  "N",  "n", "N",  "n",  "n", "N", "n",
    "O", "o", "O",  "o",  "O", "o", "OE", "oe", "R", "r",  "R",  "r", "R", "r",
    "S", "s", "S",  "s",  "S", "s", "S",  "s",  "T", "t",  "T",  "t", "T", "t",
    "U", "u", "U",  "u",  "U", "u", "U",  "u",  "U", "u",  "U",  "u", "W", "w",
    "Y", "y", "Y",  "Z",  "z", "Z", "z",  "Z",  "z", "s",
};

/* The ASCII for one code point, or NULL. */
static const char *
fmt_x12_ascii_of(unsigned cp)
{
	if (cp >= 0xc0 && cp <= 0x17f)
		return fmt_x12_latin[cp - 0xc0];
	if (cp == 0xa0)
		return " ";
	if (cp >= 0x2010 && cp <= 0x2015)
		return "-";
	if (cp >= 0x2018 && cp <= 0x201b)
		return "'";
	if (cp >= 0x201c && cp <= 0x201f)
		return "\"";
	return NULL;
}

/* A two- or three-byte UTF-8 sequence at s (n bytes left), or 0. */
static unsigned
fmt_x12_utf8(const unsigned char *s, size_t n, size_t *used)
{
	if (n >= 2 && s[0] >= 0xc2 && s[0] <= 0xdf && (s[1] & 0xc0) == 0x80) {
		*used = 2;
		return (unsigned)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
	}
	if (n >= 3 && s[0] == 0xe2 && (s[1] & 0xc0) == 0x80 &&
	    (s[2] & 0xc0) == 0x80) {
		*used = 3;
		return (unsigned)(s[0] & 0x0f) << 12 |
		       (unsigned)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
	}
	return 0;
}

/*
 * Latin letters, dashes and quotes of a UTF-8 value as ASCII, into the
 * writer's buffer for field f; anything else is copied as it is, for the
 * character check to refuse. The result is never longer than the value.
 */
static const char *
fmt_x12_translit(struct fmt_x12_writer *x, int f, const char *v)
{
	const unsigned char *s = (const unsigned char *)v;
	size_t n = strlen(v), i = 0, o = 0, used;
	const char *a;
	unsigned cp;

	if (x->tlcap[f] < n + 1) {
		x->tlcap[f] = n + 1;
		x->tl[f] = xrealloc(x->tl[f], x->tlcap[f]);
	}
	while (i < n) {
		if (s[i] >= 0x80 && (cp = fmt_x12_utf8(s + i, n - i, &used)) &&
		    (a = fmt_x12_ascii_of(cp)) != NULL) {
			o += (size_t)sprintf(x->tl[f] + o, "%s", a);
			i += used;
		} else
			x->tl[f][o++] = (char)s[i++];
	}
	x->tl[f][o] = '\0';
	return x->tl[f];
}

static bool
fmt_x12_has_high(const char *v)
{
	for (; *v != '\0'; v++)
		if ((unsigned char)*v >= 0x80)
			return true;
	return false;
}

/* Check one present value's form and length against its element. */
static void
fmt_x12_check_len(struct fmt_writer *w, struct fmt_x12_writer *x,
                  const struct fmt_x12_rec *r, int f)
{
	const char *name = fmt_x12_fields[f].name;
	size_t len = r->len[f];

	if (len == 0)
		return;
	if ((fmt_x12_fields[f].flags & XF_DATE) && !fmt_x12_is_date(r->v[f]))
		fmt_x12_fail(x, w, "column \"%s\" is not a CCYYMMDD date",
		             name);
	else if (len > fmt_x12_fields[f].max)
		fmt_x12_fail(x, w,
		             "column \"%s\" is longer than the %zu "
		             "characters its element allows (%s)",
		             name, fmt_x12_fields[f].max,
		             fmt_x12_fields[f].elem);
	else if (len < fmt_x12_fields[f].min)
		fmt_x12_fail(x, w,
		             "column \"%s\" is shorter than the %zu "
		             "characters its element needs (%s)",
		             name, fmt_x12_fields[f].min,
		             fmt_x12_fields[f].elem);
}

/*
 * Fetch and check every named value of rec into r. Trailing spaces are
 * dropped: X12 suppresses them in variable-length elements, and a value
 * of spaces only is no value (an AN element needs a non-space).
 */
static void
fmt_x12_fetch(struct fmt_writer *w, struct fmt_x12_writer *x,
              const struct fmt_record *rec, struct fmt_x12_rec *r)
{
	const char *v, *name;
	char *what;
	size_t len;
	int f, c;

	for (f = 0; f < X_NFIELDS; f++) {
		name = fmt_x12_fields[f].name;
		v = x->col[f] >= 0 ? rec->values[x->col[f]] : NULL;
		if (v != NULL && fmt_x12_has_high(v))
			v = fmt_x12_translit(x, f, v);
		r->v[f] = v != NULL ? v : "";
		r->len[f] = 0;
		if ((c = fmt_x12_scan(x, r->v[f], &len)) != -1) {
			what = fmt_x12_bad_char(x, (unsigned char)c);
			fmt_x12_fail(x, w, "column \"%s\" contains %s", name,
			             what);
			free(what);
			continue;
		}
		if (!(fmt_x12_fields[f].flags & XF_DATE))
			while (len > 0 && r->v[f][len - 1] == ' ')
				len--;
		/* Longer ones stay as they are, for the length check. */
		if ((fmt_x12_fields[f].flags & XF_POSTAL) && len <= 20)
			len = fmt_x12_postal(r, len);
		r->len[f] = len;
		fmt_x12_check_len(w, x, r, f);
	}
}

/* The SSN as nine digits (dashes dropped), or "" when absent. */
static void
fmt_x12_ssn(struct fmt_writer *w, struct fmt_x12_writer *x,
            struct fmt_x12_rec *r)
{
	const char *p;
	size_t n = 0;

	for (p = r->v[X_SSN]; p < r->v[X_SSN] + r->len[X_SSN]; p++) {
		if (*p == '-')
			continue;
		if (*p < '0' || *p > '9' || n == 9) {
			fmt_x12_fail(x, w, "column \"ssn\" must be 9 digits");
			n = 0;
			break;
		}
		r->ssn[n++] = *p;
	}
	if (n != 0 && n != 9)
		fmt_x12_fail(x, w, "column \"ssn\" must be 9 digits");
	r->ssn[n == 9 ? 9 : 0] = '\0';
}

/* Rules between values that 005010X220A1 imposes. */
static void
fmt_x12_check(struct fmt_writer *w, struct fmt_x12_writer *x,
              const struct fmt_record *rec, struct fmt_x12_rec *r)
{
	const char *g = r->v[X_GENDER];
	char q[16];

	if (r->len[X_MEMBER_ID] == 0)
		fmt_x12_fail(x, w, "member_id is empty (REF*0F)");
	if (r->len[X_LAST] == 0)
		fmt_x12_fail(x, w, "last_name is empty (NM103)");
	if (!fmt_x12_in_list(r->v[X_RELATIONSHIP], r->len[X_RELATIONSHIP],
	                     x12_ins02))
		fmt_x12_fail(x, w,
		             "relationship%s is not an INS02 code of "
		             "005010X220A1 (18 self, 01 spouse, 19 child, 53 "
		             "life partner, G8 other, ...)",
		             fmt_x12_quote(r->v[X_RELATIONSHIP],
		                           r->len[X_RELATIONSHIP], q));
	r->subscriber = r->len[X_RELATIONSHIP] == 2 &&
	                memcmp(r->v[X_RELATIONSHIP], "18", 2) == 0;
	if (r->subscriber && r->len[X_EMPLOYMENT] == 0)
		fmt_x12_fail(x, w,
		             "a subscriber needs employment_status "
		             "(INS08: FT, PT, AC, TE, RT, ...)");
	else if (r->len[X_EMPLOYMENT] != 0 &&
	         !fmt_x12_in_list(r->v[X_EMPLOYMENT], r->len[X_EMPLOYMENT],
	                          x12_ins08))
		fmt_x12_fail(
		    x, w,
		    "employment_status%s is not an INS08 code "
		    "of 005010X220A1 (AC, AO, AU, FT, L1, PT, RT, TE)",
		    fmt_x12_quote(r->v[X_EMPLOYMENT], r->len[X_EMPLOYMENT], q));
	if (r->len[X_GENDER] != 0 && strchr("MmFfUu", g[0]) == NULL)
		fmt_x12_fail(x, w, "gender must be M, F or U (DMG03)");
	if (r->len[X_GENDER] != 0 && r->len[X_BIRTH] == 0)
		fmt_x12_fail(x, w, "gender needs birth_date (DMG02)");
	if (r->len[X_CITY] == 0 && (r->len[X_STATE] + r->len[X_ZIP]) != 0)
		fmt_x12_fail(x, w, "state and zip need city (N401)");
	if (r->len[X_COV_LEVEL] != 0 &&
	    !fmt_x12_in_list(r->v[X_COV_LEVEL], r->len[X_COV_LEVEL], x12_hd05))
		fmt_x12_fail(
		    x, w,
		    "coverage_level%s is not an HD05 code of "
		    "005010X220A1 (EMP, ESP, ECH, FAM, IND, SPO, ...)",
		    fmt_x12_quote(r->v[X_COV_LEVEL], r->len[X_COV_LEVEL], q));
	if (r->len[X_STATE] != 0 &&
	    !fmt_x12_is_code(r->v[X_STATE], r->len[X_STATE]))
		fmt_x12_fail(x, w, "state must be a 2-letter code (N402)");
	fmt_x12_ssn(w, x, r);

	r->term = NULL;
	r->cov_end = r->len[X_COV_END] != 0 ? r->v[X_COV_END] : NULL;
	if (rec->action == FMT_TERM) {
		if (rec->term_date == NULL || !fmt_x12_is_date(rec->term_date))
			fmt_x12_fail(x, w,
			             "a termination needs term_date as "
			             "CCYYMMDD (DTP*357)");
		else
			r->term = r->cov_end = rec->term_date;
	}
	if ((rec->action == FMT_ADD || rec->action == FMT_REINSTATE) &&
	    r->len[X_COV_START] == 0)
		fmt_x12_fail(x, w,
		             "an addition or reinstatement needs "
		             "coverage_start (DTP*348)");
	else if (r->len[X_COV_START] == 0 && r->cov_end == NULL)
		fmt_x12_fail(x, w,
		             "loop 2300 needs coverage_start (DTP*348) "
		             "or an end date (DTP*349)");
	if ((unsigned)rec->action > (unsigned)FMT_SAME)
		fmt_x12_fail(x, w, "unknown record action %d",
		             (int)rec->action);
	else if (fmt_x12_maintenance(rec->action, x->full, &r->ins03,
	                             &r->ins04) == -1)
		fmt_x12_fail(x, w,
		             "an unchanged member (FMT_SAME) belongs "
		             "only in a full file");
}

/* --- member loops ---------------------------------------------------- */

/* A named value as the next element. */
static void
fmt_x12_val(struct fmt_writer *w, struct fmt_x12_writer *x,
            const struct fmt_x12_rec *r, int f)
{
	fmt_x12_el(w, x, r->v[f], r->len[f],
	           (fmt_x12_fields[f].flags & XF_UPPER) != 0);
}

static void
fmt_x12_dtp(struct fmt_writer *w, struct fmt_x12_writer *x, const char *q,
            const char *date)
{
	if (date != NULL && date[0] != '\0')
		fmt_x12_seg3(w, x, "DTP", q, "D8", date);
}

/* Loop 2000: INS, REF*0F, REF*17, DTP*336/356/357. */
static void
fmt_x12_loop2000(struct fmt_writer *w, struct fmt_x12_writer *x,
                 const struct fmt_x12_rec *r)
{
	fmt_x12_seg(w, x, "INS");
	fmt_x12_els(w, x, r->subscriber ? "Y" : "N");
	fmt_x12_val(w, x, r, X_RELATIONSHIP);
	fmt_x12_els(w, x, r->ins03);
	fmt_x12_els(w, x, r->ins04);
	fmt_x12_els(w, x, "A"); /* INS05 benefit status: Active */
	fmt_x12_els(w, x, "");  /* INS06 Medicare status: not sent */
	fmt_x12_els(w, x, "");  /* INS07 COBRA event: not sent */
	if (r->subscriber)      /* INS08 is for the subscriber only */
		fmt_x12_val(w, x, r, X_EMPLOYMENT);
	fmt_x12_end(w, x);

	fmt_x12_seg(w, x, "REF");
	fmt_x12_els(w, x, "0F");
	fmt_x12_val(w, x, r, X_MEMBER_ID);
	fmt_x12_end(w, x);
	if (r->len[X_REPORTING] != 0) {
		fmt_x12_seg(w, x, "REF");
		fmt_x12_els(w, x, "17");
		fmt_x12_val(w, x, r, X_REPORTING);
		fmt_x12_end(w, x);
	}
	if (r->subscriber) /* employment begin: the employee's, not kin's */
		fmt_x12_dtp(w, x, "336", r->v[X_HIRE]);
	fmt_x12_dtp(w, x, "356", r->v[X_ELIG_START]);
	fmt_x12_dtp(w, x, "357", r->term);
}

/* Loop 2100A: NM1*IL, N3, N4, DMG. */
static void
fmt_x12_loop2100a(struct fmt_writer *w, struct fmt_x12_writer *x,
                  const struct fmt_x12_rec *r)
{
	fmt_x12_seg(w, x, "NM1");
	fmt_x12_els(w, x, "IL");
	fmt_x12_els(w, x, "1"); /* person */
	fmt_x12_val(w, x, r, X_LAST);
	fmt_x12_val(w, x, r, X_FIRST);
	fmt_x12_val(w, x, r, X_MIDDLE);
	if (r->ssn[0] != '\0') {
		fmt_x12_els(w, x, ""); /* NM106 prefix */
		fmt_x12_els(w, x, ""); /* NM107 suffix */
		fmt_x12_els(w, x, "34");
		fmt_x12_els(w, x, r->ssn);
	}
	fmt_x12_end(w, x);

	if (r->len[X_ADDR1] + r->len[X_ADDR2] != 0) {
		fmt_x12_seg(w, x, "N3");
		/* N301 is required: a lone second line moves up. */
		fmt_x12_val(w, x, r, r->len[X_ADDR1] != 0 ? X_ADDR1 : X_ADDR2);
		if (r->len[X_ADDR1] != 0)
			fmt_x12_val(w, x, r, X_ADDR2);
		fmt_x12_end(w, x);
	}
	if (r->len[X_CITY] != 0) {
		fmt_x12_seg(w, x, "N4");
		fmt_x12_val(w, x, r, X_CITY);
		fmt_x12_val(w, x, r, X_STATE);
		fmt_x12_val(w, x, r, X_ZIP);
		fmt_x12_end(w, x);
	}
	if (r->len[X_BIRTH] != 0) {
		fmt_x12_seg(w, x, "DMG");
		fmt_x12_els(w, x, "D8");
		fmt_x12_val(w, x, r, X_BIRTH);
		if (r->len[X_GENDER] != 0)
			fmt_x12_val(w, x, r, X_GENDER);
		else
			fmt_x12_els(w, x, "U"); /* DMG03 is required */
		fmt_x12_end(w, x);
	}
}

/* Loop 2300: HD, DTP*348, DTP*349. */
static void
fmt_x12_loop2300(struct fmt_writer *w, struct fmt_x12_writer *x,
                 const struct fmt_x12_rec *r)
{
	fmt_x12_seg(w, x, "HD");
	fmt_x12_els(w, x, r->ins03);
	fmt_x12_els(w, x, ""); /* HD02 not used */
	fmt_x12_els(w, x, x->ins_line);
	fmt_x12_val(w, x, r, X_PLAN);
	fmt_x12_val(w, x, r, X_COV_LEVEL);
	fmt_x12_end(w, x);
	fmt_x12_dtp(w, x, "348", r->v[X_COV_START]);
	fmt_x12_dtp(w, x, "349", r->cov_end);
}

static int
fmt_x12_add(struct fmt_writer *w, const struct fmt_record *rec, char **cause)
{
	struct fmt_x12_writer *x = w->impl;
	struct fmt_x12_rec r;

	if (rec->values == NULL) {
		*cause = xstrdup("record has no values");
		return -1;
	}
	/* Check everything first: writing then cannot fail half-way, and
	 * the segment count stays in step with what is kept. */
	x->cur_id = fmt_x12_printable(rec->values[x->col[X_MEMBER_ID]]);
	fmt_x12_fetch(w, x, rec, &r);
	if (x->err == NULL)
		fmt_x12_check(w, x, rec, &r);
	if (x->err != NULL) {
		*cause = x->err;
		x->err = NULL;
		return -1;
	}
	fmt_x12_loop2000(w, x, &r);
	fmt_x12_loop2100a(w, x, &r);
	fmt_x12_loop2300(w, x, &r);
	return 0;
}

static int
fmt_x12_finish(struct fmt_writer *w, char **cause)
{
	struct fmt_x12_writer *x = w->impl;
	char n[24];

	/* SE01 counts ST through SE. */
	snprintf(n, sizeof(n), "%llu", (unsigned long long)x->segs + 1);
	fmt_x12_seg3(w, x, "SE", n, x->st02, NULL);
	fmt_x12_seg3(w, x, "GE", "1", x->gs06, NULL);
	fmt_x12_seg3(w, x, "IEA", "1", x->isa13, NULL);
	return 0;
}

static void
fmt_x12_free(struct fmt_writer *w)
{
	struct fmt_x12_writer *x = w->impl;

	if (x != NULL) {
		free(x->err);
		for (int f = 0; f < X_NFIELDS; f++)
			free(x->tl[f]);
	}
	free(x);
	w->impl = NULL;
}

static const struct fmt_writer_ops fmt_x12_ops = {
    .name = "x12-834",
    .add = fmt_x12_add,
    .finish = fmt_x12_finish,
    .free = fmt_x12_free,
};

/* --- envelope and header -------------------------------------------- */

/* Check a header value: length min..max and no separators. */
static int
fmt_x12_text(const struct fmt_x12_writer *x, const char *what, const char *v,
             size_t min, size_t max, char **cause)
{
	size_t len = 0;
	char *bad;
	int c;

	if (v == NULL)
		v = "";
	if ((c = fmt_x12_scan(x, v, &len)) != -1) {
		bad = fmt_x12_bad_char(x, (unsigned char)c);
		*cause = xasprintf("834: %s contains %s", what, bad);
		free(bad);
		return -1;
	}
	if (len < min || len > max) {
		if (min == max)
			*cause = xasprintf("834: %s must be %zu characters",
			                   what, min);
		else
			*cause = xasprintf("834: %s must be %zu to %zu "
			                   "characters",
			                   what, min, max);
		return -1;
	}
	return 0;
}

static char
fmt_x12_sep(char c, char def)
{
	return c != '\0' ? c : def;
}

/* Separators: printable, not a letter, digit or space, all different. */
static int
fmt_x12_seps(struct fmt_x12_writer *x, char **cause)
{
	const char s[4] = {x->el, x->term, x->comp, x->rep};
	int i, j;

	for (i = 0; i < 4; i++) {
		if (s[i] <= ' ' || s[i] > '~' || fmt_x12_is_code(&s[i], 1)) {
			*cause = xasprintf("834: separator 0x%02x must be "
			                   "printable punctuation",
			                   (unsigned char)s[i]);
			return -1;
		}
		for (j = 0; j < i; j++)
			if (s[i] == s[j]) {
				*cause =
				    xasprintf("834: the element, segment, "
				              "component and repetition "
				              "separators must differ ('%c' "
				              "repeats)",
				              s[i]);
				return -1;
			}
	}
	memset(x->bad, 0, sizeof(x->bad));
	for (i = 0; i < 0x20; i++)
		x->bad[i] = true;
	/* Not in the X12 character sets: accented letters and any other
	 * UTF-8 must be transliterated before they reach the file. */
	for (i = 0x7f; i < 0x100; i++)
		x->bad[i] = true;
	for (i = 0; i < 4; i++)
		x->bad[(unsigned char)s[i]] = true;
	return 0;
}

const char *
fmt_x12_required(size_t i, const char **elem)
{
	int f;

	for (f = 0; f < X_NFIELDS; f++)
		if ((fmt_x12_fields[f].flags & XF_REQUIRED) && i-- == 0) {
			*elem = fmt_x12_fields[f].elem;
			return fmt_x12_fields[f].name;
		}
	return NULL;
}

/* Map named columns to their index; the required ones must exist. */
static int
fmt_x12_columns(struct fmt_x12_writer *x, const struct fmt_opts *o,
                char **cause)
{
	size_t i;
	int f;

	for (f = 0; f < X_NFIELDS; f++) {
		x->col[f] = -1;
		for (i = 0; i < o->ncols; i++)
			if (o->cols[i].name != NULL &&
			    strcmp(o->cols[i].name, fmt_x12_fields[f].name) ==
			        0) {
				x->col[f] = (int)i;
				break;
			}
		if (x->col[f] == -1 &&
		    (fmt_x12_fields[f].flags & XF_REQUIRED)) {
			*cause = xasprintf("834: the profile has no \"%s\" "
			                   "column",
			                   fmt_x12_fields[f].name);
			return -1;
		}
	}
	return 0;
}

static int
fmt_x12_check_run(const struct fmt_x12_writer *x, const struct fmt_run *run,
                  char **cause)
{
	if (run == NULL || run->date == NULL || !fmt_x12_is_date(run->date)) {
		*cause = xstrdup("834: the run date must be CCYYMMDD");
		return -1;
	}
	if (run->time == NULL || !fmt_x12_is_time(run->time)) {
		*cause = xstrdup("834: the run time must be HHMM");
		return -1;
	}
	if (run->isa13_control < 1 || run->isa13_control > 999999999) {
		*cause = xstrdup("834: the interchange control number (ISA13) "
		                 "must be 1 to 999999999");
		return -1;
	}
	if (run->gs06_control < 1 || run->gs06_control > 999999999) {
		*cause = xstrdup("834: the group control number (GS06) must "
		                 "be 1 to 999999999");
		return -1;
	}
	if (fmt_x12_text(x, "the transaction set control number (ST02)",
	                 run->st02_control, 4, 9, cause) == -1 ||
	    fmt_x12_text(x, "the file reference (BGN02)", run->reference, 1, 50,
	                 cause) == -1)
		return -1;
	return 0;
}

static const char *
fmt_x12_or(const char *v, const char *def)
{
	return v != NULL && v[0] != '\0' ? v : def;
}

static bool
fmt_x12_digits(const char *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] < '0' || v[i] > '9')
			return false;
	return v[n] == '\0';
}

/*
 * N103/N104 of loop 1000A (sponsor: FI, 24, 94) or 1000B (payer: FI, 94,
 * XV); allowed is that list, three 2-character codes. FI (federal
 * taxpayer id) and 24 (employer id) are EINs: 9 digits.
 */
static int
fmt_x12_n1_id(const char *who, const char *qual, const char *id,
              const char allowed[3][3], char **cause)
{
	int i;

	qual = fmt_x12_or(qual, "FI");
	for (i = 0; i < 3 && strcmp(qual, allowed[i]) != 0; i++)
		;
	if (i == 3) {
		*cause = xasprintf("834: %s_id_qualifier must be %s, %s or %s "
		                   "(N103)",
		                   who, allowed[0], allowed[1], allowed[2]);
		return -1;
	}
	if ((strcmp(qual, "FI") == 0 || strcmp(qual, "24") == 0) &&
	    id != NULL && !fmt_x12_digits(id, 9)) {
		*cause = xasprintf("834: %s_id must be 9 digits (a tax id, "
		                   "N103 %s); set %s_id_qualifier to 94 for "
		                   "another identifier",
		                   who, qual, who);
		return -1;
	}
	return 0;
}

static int
fmt_x12_check_opts(const struct fmt_x12_writer *x, const struct fmt_x12 *o,
                   char **cause)
{
	static const char sponsor_quals[3][3] = {"FI", "24", "94"};
	static const char payer_quals[3][3] = {"FI", "94", "XV"};

	if (fmt_x12_text(x, "isa05_sender_qual",
	                 fmt_x12_or(o->isa05_sender_qual, "ZZ"), 2, 2,
	                 cause) == -1 ||
	    fmt_x12_text(x, "isa06_sender_id", o->isa06_sender_id, 1, 15,
	                 cause) == -1 ||
	    fmt_x12_text(x, "isa07_receiver_qual",
	                 fmt_x12_or(o->isa07_receiver_qual, "ZZ"), 2, 2,
	                 cause) == -1 ||
	    fmt_x12_text(x, "isa08_receiver_id", o->isa08_receiver_id, 1, 15,
	                 cause) == -1 ||
	    fmt_x12_text(x, "gs02_sender_code",
	                 fmt_x12_or(o->gs02_sender_code, o->isa06_sender_id), 2,
	                 15, cause) == -1 ||
	    fmt_x12_text(
	        x, "gs03_receiver_code",
	        fmt_x12_or(o->gs03_receiver_code, o->isa08_receiver_id), 2, 15,
	        cause) == -1 ||
	    fmt_x12_text(x, "sponsor_name", o->sponsor_name, 0, 60, cause) ==
	        -1 ||
	    fmt_x12_text(x, "sponsor_id", o->sponsor_id, 2, 80, cause) == -1 ||
	    fmt_x12_text(x, "payer_name", o->payer_name, 0, 60, cause) == -1 ||
	    fmt_x12_text(x, "payer_id", o->payer_id, 2, 80, cause) == -1 ||
	    fmt_x12_text(x, "policy_number", o->policy_number, 0, 50, cause) ==
	        -1 ||
	    fmt_x12_text(x, "insurance_line", o->insurance_line, 2, 3, cause) ==
	        -1)
		return -1;
	if (fmt_x12_n1_id("sponsor", o->sponsor_id_qual, o->sponsor_id,
	                  sponsor_quals, cause) == -1 ||
	    fmt_x12_n1_id("payer", o->payer_id_qual, o->payer_id, payer_quals,
	                  cause) == -1)
		return -1;
	if (o->isa15_usage != 'P' && o->isa15_usage != 'T') {
		*cause = xstrdup("834: isa15_usage must be 'P' or 'T'");
		return -1;
	}
	return 0;
}

/* Append s left-aligned in exactly n bytes (ISA's fixed-width fields). */
static void
fmt_x12_padded(struct fmt_writer *w, struct fmt_x12_writer *x, const char *s,
               size_t n)
{
	size_t len = strlen(s);

	fmt_out_putc(w, x->el);
	fmt_out_write(w, s, len);
	fmt_out_fill(w, ' ', n - len);
}

/* ISA: 16 fixed-width elements, 106 bytes with the terminator. */
static void
fmt_x12_isa(struct fmt_writer *w, struct fmt_x12_writer *x,
            const struct fmt_x12 *o, const struct fmt_run *run)
{
	char rep[2] = {x->rep, '\0'}, usage[2] = {o->isa15_usage, '\0'};
	char comp[2] = {x->comp, '\0'};

	fmt_out_puts(w, "ISA");
	fmt_x12_padded(w, x, "00", 2);
	fmt_x12_padded(w, x, "", 10);
	fmt_x12_padded(w, x, "00", 2);
	fmt_x12_padded(w, x, "", 10);
	fmt_x12_padded(w, x, fmt_x12_or(o->isa05_sender_qual, "ZZ"), 2);
	fmt_x12_padded(w, x, o->isa06_sender_id, 15);
	fmt_x12_padded(w, x, fmt_x12_or(o->isa07_receiver_qual, "ZZ"), 2);
	fmt_x12_padded(w, x, o->isa08_receiver_id, 15);
	fmt_x12_padded(w, x, run->date + 2, 6); /* YYMMDD */
	fmt_x12_padded(w, x, run->time, 4);
	fmt_x12_padded(w, x, rep, 1);
	fmt_x12_padded(w, x, "00501", 5);
	fmt_x12_padded(w, x, x->isa13, 9);
	fmt_x12_padded(w, x, o->isa14_ta1 ? "1" : "0", 1);
	fmt_x12_padded(w, x, usage, 1);
	fmt_x12_padded(w, x, comp, 1);
	fmt_out_putc(w, x->term);
	if (x->nl)
		fmt_out_putc(w, '\n');
}

static void
fmt_x12_header(struct fmt_writer *w, struct fmt_x12_writer *x,
               const struct fmt_x12 *o, const struct fmt_run *run)
{
	fmt_x12_isa(w, x, o, run);

	fmt_x12_seg(w, x, "GS");
	fmt_x12_els(w, x, "BE"); /* benefit enrollment and maintenance */
	fmt_x12_els(w, x, fmt_x12_or(o->gs02_sender_code, o->isa06_sender_id));
	fmt_x12_els(w, x,
	            fmt_x12_or(o->gs03_receiver_code, o->isa08_receiver_id));
	fmt_x12_els(w, x, run->date);
	fmt_x12_els(w, x, run->time);
	fmt_x12_els(w, x, x->gs06);
	fmt_x12_els(w, x, "X");
	fmt_x12_els(w, x, X12_VERSION);
	fmt_x12_end(w, x);

	x->segs = 0;
	fmt_x12_seg3(w, x, "ST", "834", x->st02, X12_VERSION);

	fmt_x12_seg(w, x, "BGN");
	fmt_x12_els(w, x, "00"); /* original */
	fmt_x12_els(w, x, run->reference);
	fmt_x12_els(w, x, run->date);
	fmt_x12_els(w, x, run->time);
	fmt_x12_els(w, x, "");
	fmt_x12_els(w, x, "");
	fmt_x12_els(w, x, "");
	/* BGN08: "4" Verify (full file), "2" Change (Update) */
	fmt_x12_els(w, x, x->full ? "4" : "2");
	fmt_x12_end(w, x);

	if (o->policy_number != NULL && o->policy_number[0] != '\0')
		fmt_x12_seg3(w, x, "REF", "38", o->policy_number, NULL);
	fmt_x12_seg3(w, x, "DTP", "007", "D8", run->date);

	fmt_x12_seg(w, x, "N1");
	fmt_x12_els(w, x, "P5");
	fmt_x12_el(w, x, fmt_x12_or(o->sponsor_name, ""),
	           strlen(fmt_x12_or(o->sponsor_name, "")), true);
	fmt_x12_els(w, x, fmt_x12_or(o->sponsor_id_qual, "FI"));
	fmt_x12_els(w, x, o->sponsor_id);
	fmt_x12_end(w, x);

	fmt_x12_seg(w, x, "N1");
	fmt_x12_els(w, x, "IN");
	fmt_x12_el(w, x, fmt_x12_or(o->payer_name, ""),
	           strlen(fmt_x12_or(o->payer_name, "")), true);
	fmt_x12_els(w, x, fmt_x12_or(o->payer_id_qual, "FI"));
	fmt_x12_els(w, x, o->payer_id);
	fmt_x12_end(w, x);
}

int
fmt_x12_init(struct fmt_writer *w, const struct fmt_run *run, char **cause)
{
	const struct fmt_opts *opts = w->opts;
	const struct fmt_x12 *o = &opts->x12;
	struct fmt_x12_writer *x;

	x = xcalloc(1, sizeof(*x));
	w->ops = &fmt_x12_ops;
	w->impl = x;
	x->el = fmt_x12_sep(o->element_sep, '*');
	x->term = fmt_x12_sep(o->segment_term, '~');
	x->comp = fmt_x12_sep(o->component_sep, ':');
	x->rep = fmt_x12_sep(o->repetition_sep, '^');
	x->nl = o->newline_after_segment;
	x->full = opts->full_file;
	x->ins_line = o->insurance_line;
	if (fmt_x12_seps(x, cause) == -1 ||
	    fmt_x12_columns(x, opts, cause) == -1 ||
	    fmt_x12_check_run(x, run, cause) == -1 ||
	    fmt_x12_check_opts(x, o, cause) == -1)
		return -1;
	snprintf(x->isa13, sizeof(x->isa13), "%09lld",
	         (long long)run->isa13_control);
	snprintf(x->gs06, sizeof(x->gs06), "%lld",
	         (long long)run->gs06_control);
	snprintf(x->st02, sizeof(x->st02), "%s", run->st02_control);
	fmt_x12_header(w, x, o, run);
	return 0;
}
