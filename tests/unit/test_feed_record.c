/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * Unit tests for a member's values: the JSON path scanner, the column
 * transforms, values computed from a stored document, and splitting and
 * comparing stored values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cfg/cfg.h"
#include "feed/date.h"
#include "feed/jpath.h"
#include "feed/profile.h"
#include "feed/record.h"
#include "util/xmalloc.h"

#define ELIG "urn:rosterd:params:scim:schemas:extension:eligibility:1.0:User"

struct loaded {
	char path[64];
	struct cfg *cfg;
	struct feed_profiles *ps;
	const struct feed_profile *p;
};

static void
load(struct loaded *l, const char *columns)
{
	char *cause = NULL;
	FILE *f;
	int fd;

	snprintf(l->path, sizeof(l->path), "/tmp/rosterd-feedr-XXXXXX");
	fd = mkstemp(l->path);
	assert_true(fd != -1);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fprintf(f,
	        "feeds:\n"
	        "  t:\n"
	        "    tenant: acme\n"
	        "    eligibility: active eq true\n"
	        "    format: csv\n"
	        "    columns:\n%s",
	        columns);
	fclose(f);
	l->cfg = cfg_load(l->path, &cause);
	assert_non_null(l->cfg);
	l->ps = feed_profiles_load(l->cfg);
	if (l->cfg->nerrors > 0)
		fprintf(stderr, "%s", buf_str(&l->cfg->errors));
	assert_int_equal(l->cfg->nerrors, 0);
	l->p = feed_profiles_find(l->ps, "t");
	assert_non_null(l->p);
}

static void
unload(struct loaded *l)
{
	feed_profiles_free(l->ps);
	cfg_free(l->cfg);
	unlink(l->path);
}

/* jpath */

static char *
span_str(const struct jpath_span *sp)
{
	return sp->p != NULL ? xstrndup(sp->p, sp->len) : xstrdup("(absent)");
}

static void
test_jpath_scan(void **state)
{
	const char *a[] = {"name", "familyName"};
	const char *b[] = {"emails"};
	const char *c[] = {"urn:x:ext", "code"};
	const char *d[] = {"name"};
	const char *e[] = {"missing"};
	const char *doc =
	    "{ \"Name\" : {\"givenName\":\"A\\\"x\",\"FAMILYNAME\""
	    ":\"Lovelace\"}, \"emails\":[{\"value\":\"a}]\","
	    "\"x\":[1,{\"y\":\"]\"}]}], \"urn:x:ext\":{\"code\":"
	    "42,\"code\":43}, \"t\":true }";
	struct jpath_set *set = jpath_set_new();
	struct jpath_span out[5];
	char *s;
	int sa, sb, sc, sd, se;

	(void)state;
	sa = jpath_add(set, a, 2);
	sb = jpath_add(set, b, 1);
	sc = jpath_add(set, c, 2);
	sd = jpath_add(set, d, 1);
	se = jpath_add(set, e, 1);
	assert_int_equal(jpath_add(set, a, 2), sa);
	assert_int_equal(jpath_count(set), 5);
	assert_int_equal(jpath_scan(set, doc, strlen(doc), out), 0);
	s = span_str(&out[sa]);
	assert_string_equal(s, "\"Lovelace\"");
	free(s);
	s = span_str(&out[sb]);
	assert_string_equal(s, "[{\"value\":\"a}]\",\"x\":[1,{\"y\":\"]\"}]}]");
	free(s);
	s = span_str(&out[sc]);
	assert_string_equal(s, "43"); /* the last duplicate wins */
	free(s);
	s = span_str(&out[sd]);
	assert_string_equal(s, "{\"givenName\":\"A\\\"x\",\"FAMILYNAME\":"
	                       "\"Lovelace\"}");
	free(s);
	assert_null(out[se].p);
	/* Malformed documents are refused, not read past their end. */
	assert_int_equal(jpath_scan(set, "{\"name\":{\"x\":1}", 15, out), -1);
	assert_int_equal(jpath_scan(set, "[1]", 3, out), -1);
	assert_int_equal(jpath_scan(set, "{\"a\":\"unterminated}", 19, out),
	                 -1);
	assert_int_equal(jpath_scan(set, "{}", 2, out), 0);
	assert_null(out[sa].p);
	jpath_set_free(set);
}

static void
test_jpath_text(void **state)
{
	struct jpath_span sp;
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	sp.p = "\"caf\\u00e9 \\ud83d\\ude00 \\n\\t\\\\\\/\"";
	sp.len = strlen(sp.p);
	assert_int_equal(jpath_text(&sp, &b), 1);
	assert_string_equal(buf_str(&b),
	                    "caf\xc3\xa9 \xf0\x9f\x98\x80 \n\t\\/");
	buf_reset(&b);
	sp.p = "-12.5e3";
	sp.len = 7;
	assert_int_equal(jpath_text(&sp, &b), 1);
	assert_string_equal(buf_str(&b), "-12.5e3");
	buf_reset(&b);
	sp.p = "false";
	sp.len = 5;
	assert_int_equal(jpath_text(&sp, &b), 1);
	assert_string_equal(buf_str(&b), "false");
	buf_reset(&b);
	sp.p = "null";
	sp.len = 4;
	assert_int_equal(jpath_text(&sp, &b), 0);
	sp.p = "[1]";
	sp.len = 3;
	assert_int_equal(jpath_text(&sp, &b), 0);
	sp.p = NULL;
	assert_int_equal(jpath_text(&sp, &b), 0);
	sp.p = "\"bad \\x\"";
	sp.len = strlen(sp.p);
	assert_int_equal(jpath_text(&sp, &b), -1);
	sp.p = "\"Terminated\"";
	sp.len = strlen(sp.p);
	assert_true(jpath_string_is(&sp, "terminated"));
	assert_false(jpath_string_is(&sp, "terminate"));
	buf_free(&b);
}

/* Transforms */

static char *
xf(const struct feed_column *c, const char *in, int *rc)
{
	struct buf out, err;
	char *s;

	buf_init(&out, 0);
	buf_init(&err, 0);
	*rc = feed_transform(c, in, &out, &err);
	s = xstrdup(*rc == 0 ? buf_str(&out) : buf_str(&err));
	buf_free(&out);
	buf_free(&err);
	return s;
}

#define XF(col, in, want)                                                      \
	do {                                                                   \
		int rc_;                                                       \
		char *s_ = xf((col), (in), &rc_);                              \
		assert_int_equal(rc_, 0);                                      \
		assert_string_equal(s_, (want));                               \
		free(s_);                                                      \
	} while (0)

#define XF_ERR(col, in, want)                                                  \
	do {                                                                   \
		int rc_;                                                       \
		char *s_ = xf((col), (in), &rc_);                              \
		assert_int_equal(rc_, -1);                                     \
		assert_string_equal(s_, (want));                               \
		free(s_);                                                      \
	} while (0)

static void
test_transforms(void **state)
{
	struct loaded l;
	const struct feed_column *c;

	(void)state;
	load(&l,
	     "      - {name: d1, source: eligibility:birthDate, "
	     "date_format: '%Y%m%d'}\n"
	     "      - {name: d2, source: meta.created, date_format: "
	     "'%m/%d/%y (%j)'}\n"
	     "      - {name: up, source: userName, case: upper}\n"
	     "      - {name: lo, source: userName, case: lower}\n"
	     "      - {name: k, const: EAP-1}\n"
	     "      - name: g\n"
	     "        source: userName\n"
	     "        map: {male: M, female: F}\n"
	     "        default: U\n"
	     "      - {name: m, source: userName, map: {A: active}}\n"
	     "      - {name: e, source: userName, default: none}\n"
	     "      - {name: w, source: userName, width: 5}\n"
	     "      - {name: t, source: userName, width: 5, truncate: "
	     "true, case: upper}\n"
	     "      - {name: dd, source: eligibility:hireDate, date_format: "
	     "'%d.%m.%Y', default: '1900-01-01'}\n");
	c = l.p->cols;
	XF(&c[0], "1970-03-09", "19700309");
	XF(&c[0], "", "");
	XF_ERR(&c[0], "03/09/1970",
	       "\"03/09/1970\" is not a date (YYYY-MM-DD)");
	XF_ERR(&c[0], "2023-02-29",
	       "\"2023-02-29\" is not a date (YYYY-MM-DD)");
	XF(&c[1], "2026-02-01T23:59:59.123Z", "02/01/26 (032)");
	XF(&c[1], "2024-12-31T00:00:00-08:00", "12/31/24 (366)");
	XF(&c[2], "ada.Lovelace@x", "ADA.LOVELACE@X");
	XF(&c[3], "ADA \xc3\x89", "ada \xc3\x89");
	XF(&c[5], "male", "M");
	XF(&c[5], "female", "F");
	XF(&c[5], "other", "U");
	XF(&c[5], "", "U");
	XF(&c[5], "Male", "U"); /* maps match exactly */
	XF(&c[6], "A", "active");
	XF(&c[6], "B", "B"); /* no default: unmapped values pass */
	XF(&c[7], "", "none");
	XF(&c[7], "x", "x");
	XF(&c[8], "abcde", "abcde");
	XF_ERR(&c[8], "abcdef",
	       "\"abcdef\" is 6 bytes, wider than width 5 "
	       "(set truncate: true to cut it)");
	XF(&c[9], "abcdef", "ABCDE");
	/* A cut never splits a UTF-8 sequence: "abcd" + half an é. */
	XF(&c[9], "abcd\xc3\xa9", "ABCD");
	XF(&c[9], "abc\xc3\xa9z", "ABC\xc3\xa9");
	XF(&c[9], "ab\xc3\xa9zz", "AB\xc3\xa9Z");
	XF(&c[10], "", "01.01.1900");
	XF(&c[10], "2015-03-01", "01.03.2015");
	unload(&l);
}

/* Values computed from a document */

static const char doc[] =
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],"
    "\"userName\":\"ada@example.com\",\"externalId\":\"E1\","
    "\"name\":{\"givenName\":\"Ada\",\"familyName\":\"Lovelace\"},"
    "\"emails\":[{\"value\":\"home@x\",\"type\":\"home\",\"primary\":true},"
    "{\"value\":\"w1@x\",\"type\":\"work\"},"
    "{\"value\":\"w2@x\",\"type\":\"work\",\"primary\":true}],"
    "\"phoneNumbers\":[{\"value\":\"555\",\"type\":\"mobile\"}],"
    "\"addresses\":[{\"type\":\"home\",\"streetAddress\":\"1 Main\\nSt\"}],"
    "\"" ELIG "\":{\"birthDate\":\"1815-12-10\","
    "\"employmentStatus\":\"active\"}}";

static const char cols[] =
    "      - {name: id, source: $key}\n"
    "      - {name: sid, source: id}\n"
    "      - {name: ext, source: externalId}\n"
    "      - {name: first, source: name.givenName}\n"
    "      - {name: last, source: name.familyName, case: upper}\n"
    "      - {name: work, source: 'emails[type eq \"work\"].value'}\n"
    "      - {name: any_email, source: emails.value}\n"
    "      - {name: fax, source: 'phoneNumbers[type eq \"fax\"].value', "
    "default: none}\n"
    "      - {name: street, source: 'addresses[type eq \"home\"]"
    ".streetAddress'}\n"
    "      - {name: dob, source: eligibility:birthDate, date_format: "
    "'%m%d%Y'}\n"
    "      - {name: created, source: meta.created, date_format: '%Y%m%d'}\n"
    "      - {name: rel, source: $relationship}\n"
    "      - {name: tenant, source: $tenant}\n"
    "      - {name: feed, source: $feed}\n"
    "      - {name: action, source: $action, map: {add: A, terminate: T}}\n"
    "      - {name: term, source: $term_date, date_format: '%Y%m%d'}\n"
    "      - {name: why, source: $term_reason}\n"
    "      - {name: asof, source: $as_of}\n"
    "      - {name: plan, const: EAP}\n";

static void
person_of(const struct feed_profile *p, struct feed_person *fp,
          struct jpath_span *spans)
{
	memset(fp, 0, sizeof(*fp));
	assert_int_equal(jpath_scan(p->paths, doc, strlen(doc), spans), 0);
	fp->key = "E1";
	fp->id = "2819c223-7f76-453a-919d-413861904646";
	fp->created = "2026-01-02T03:04:05.678Z";
	fp->modified = "2026-01-02T03:04:05.678Z";
	fp->spans = spans;
}

static void
test_values(void **state)
{
	struct jpath_span spans[32];
	struct feed_person fp;
	struct feed_rec rec;
	struct feed_dyn dyn;
	struct loaded l;
	struct buf vals, err;
	size_t i;
	const char *want[] = {
	    "E1",        "2819c223-7f76-453a-919d-413861904646",
	    "E1",        "Ada",
	    "LOVELACE",  "w2@x",
	    "home@x",    "none",
	    "1 Main St", "12101815",
	    "20260102",  "18",
	    "acme",      "t",
	    "T",         "20261130",
	    "inactive",  "2026-12-04",
	    "EAP"};

	(void)state;
	load(&l, cols);
	assert_true(jpath_count(l.p->paths) <= 32);
	person_of(l.p, &fp, spans);
	buf_init(&vals, 0);
	buf_init(&err, 0);
	assert_int_equal(feed_record_values(l.p, &fp, &vals, &err), 0);
	/* Run-dependent columns are empty in the stored string. */
	assert_string_equal(buf_str(&vals),
	                    "E1\x1f"
	                    "2819c223-7f76-453a-919d-413861904646\x1f"
	                    "E1\x1f"
	                    "Ada\x1fLOVELACE\x1fw2@x\x1fhome@x\x1fnone\x1f"
	                    "1 Main St\x1f"
	                    "12101815\x1f"
	                    "20260102\x1f"
	                    "18\x1f"
	                    "acme\x1ft\x1f\x1f\x1f\x1f\x1f"
	                    "EAP");
	feed_rec_init(&rec, l.p);
	dyn.action = "terminate";
	dyn.term_date = "2026-11-30";
	dyn.term_reason = "inactive";
	dyn.as_of = "2026-12-04";
	assert_int_equal(feed_rec_fill(&rec, l.p, buf_str(&vals), &dyn, &err),
	                 0);
	assert_int_equal(rec.ncols, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < rec.ncols; i++)
		assert_string_equal(rec.values[i], want[i]);
	/* A short stored string (an older layout) gives empty values. */
	dyn.action = "add";
	dyn.term_date = NULL;
	dyn.term_reason = NULL;
	assert_int_equal(feed_rec_fill(&rec, l.p, "X\x1fY", &dyn, &err), 0);
	assert_string_equal(rec.values[0], "X");
	assert_string_equal(rec.values[1], "Y");
	assert_string_equal(rec.values[2], "");
	assert_string_equal(rec.values[14], "A");
	assert_string_equal(rec.values[15], "");
	assert_string_equal(rec.values[18], "");
	feed_rec_free(&rec);
	buf_free(&vals);
	buf_free(&err);
	unload(&l);
}

/* The fast pick (element texts) and jansson agree on every filter. */
static void
test_fast_pick(void **state)
{
	static const char *const docs[] = {
	    "{\"emails\":[{\"value\":\"a@x\",\"type\":\"Work\"},"
	    "{\"value\":\"b@x\",\"type\":\"work\",\"primary\":true},"
	    "{\"value\":\"c@y\",\"type\":\"home\",\"display\":\"\"}]}",
	    "{\"emails\":[{\"type\":\"work\"},{\"value\":\"d\\u00e9@x\","
	    "\"type\":\"other\",\"primary\":false}]}",
	    "{\"emails\":[]}",
	    "{\"emails\":null}",
	    "{}",
	};
	struct jpath_span spans[32];
	struct feed_person fp;
	struct loaded l;
	struct buf a, b, err;
	size_t i, j;

	(void)state;
	load(&l,
	     "      - {name: c0, source: emails.value}\n"
	     "      - {name: c1, source: 'emails[type eq \"work\"].value'}\n"
	     "      - {name: c2, source: 'emails[type eq \"work\" and not "
	     "(primary eq true)].value'}\n"
	     "      - {name: c3, source: 'emails[value ew \"@y\" or type sw "
	     "\"oth\"].value'}\n"
	     "      - {name: c4, source: 'emails[display pr].value'}\n"
	     "      - {name: c5, source: 'emails[value co \"\u00e9\"].type'}\n"
	     "      - {name: c6, source: 'emails[type eq \"home\"].display', "
	     "default: none}\n");
	for (i = 0; i < l.p->ncols; i++)
		assert_true(l.p->cols[i].fast);
	buf_init(&a, 0);
	buf_init(&b, 0);
	buf_init(&err, 0);
	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		memset(&fp, 0, sizeof(fp));
		fp.key = "k";
		fp.spans = spans;
		assert_int_equal(
		    jpath_scan(l.p->paths, docs[i], strlen(docs[i]), spans), 0);
		buf_reset(&a);
		buf_reset(&b);
		assert_int_equal(feed_record_values(l.p, &fp, &a, &err), 0);
		for (j = 0; j < l.p->ncols; j++)
			((struct feed_profile *)l.p)->cols[j].fast = false;
		assert_int_equal(feed_record_values(l.p, &fp, &b, &err), 0);
		for (j = 0; j < l.p->ncols; j++)
			((struct feed_profile *)l.p)->cols[j].fast = true;
		assert_string_equal(buf_str(&a), buf_str(&b));
		if (i == 0)
			assert_string_equal(buf_str(&a), "b@x\x1f"
			                                 "b@x\x1f"
			                                 "a@x\x1f"
			                                 "c@y\x1f\x1f\x1fnone");
		if (i == 1)
			assert_string_equal(buf_str(&a),
			                    "\x1f\x1f\x1f"
			                    "d\xc3\xa9@x\x1f\x1fother\x1fnone");
	}
	buf_free(&a);
	buf_free(&b);
	buf_free(&err);
	unload(&l);
}

static void
test_value_errors(void **state)
{
	struct jpath_span spans[8];
	struct feed_person fp;
	struct loaded l;
	struct buf vals, err;

	(void)state;
	load(&l, "      - {name: a, source: name.givenName}\n"
	         "      - {name: b, source: name.familyName, width: 4}\n");
	person_of(l.p, &fp, spans);
	buf_init(&vals, 0);
	buf_init(&err, 0);
	assert_int_equal(feed_record_values(l.p, &fp, &vals, &err), -1);
	assert_string_equal(buf_str(&err),
	                    "column b: \"Lovelace\" is 8 bytes, wider than "
	                    "width 4 (set truncate: true to cut it)");
	buf_free(&vals);
	buf_free(&err);
	unload(&l);
}

static void
diff_pairs(const char *name, const char *a, size_t alen, const char *b,
           size_t blen, void *arg)
{
	buf_addf(arg, "%s:%.*s>%.*s;", name, (int)alen, a, (int)blen, b);
}

static void
test_diff(void **state)
{
	struct loaded l;
	struct buf out;
	int *map;

	(void)state;
	load(&l, "      - {name: a, source: userName}\n"
	         "      - {name: act, source: $action}\n"
	         "      - {name: b, source: externalId}\n"
	         "      - {name: c, const: x}\n");
	buf_init(&out, 0);
	assert_int_equal(feed_record_diff(l.p,
	                                  "1\x1f\x1f"
	                                  "2\x1fx",
	                                  NULL,
	                                  "1\x1f\x1f"
	                                  "2\x1fx",
	                                  &out),
	                 0);
	assert_string_equal(buf_str(&out), "");
	assert_int_equal(feed_record_diff(l.p,
	                                  "1\x1f\x1f"
	                                  "2\x1fx",
	                                  NULL,
	                                  "9\x1f\x1f"
	                                  "2\x1fy",
	                                  &out),
	                 2);
	assert_string_equal(buf_str(&out), "a,c");
	/* An older layout: b first, no c, a second. */
	assert_null(feed_record_layout_map(l.p, l.p->layout));
	assert_null(feed_record_layout_map(l.p, NULL));
	map = feed_record_layout_map(l.p, "[\"b\",\"a\"]");
	assert_non_null(map);
	assert_int_equal(map[0], 1);
	assert_int_equal(map[1], -1);
	assert_int_equal(map[2], 0);
	assert_int_equal(map[3], -1);
	buf_reset(&out);
	assert_int_equal(feed_record_diff(l.p,
	                                  "2\x1f"
	                                  "1",
	                                  map,
	                                  "1\x1f\x1f"
	                                  "2\x1f",
	                                  &out),
	                 0);
	buf_reset(&out);
	assert_int_equal(feed_record_diff(l.p,
	                                  "2\x1f"
	                                  "1",
	                                  map,
	                                  "1\x1f\x1f"
	                                  "3\x1fx",
	                                  &out),
	                 2);
	assert_string_equal(buf_str(&out), "b,c");
	/* The same columns with their values, the old ones by the map. */
	buf_reset(&out);
	assert_int_equal(feed_record_diff_each(l.p,
	                                       "2\x1f"
	                                       "1",
	                                       map,
	                                       "1\x1f\x1f"
	                                       "3\x1fx",
	                                       diff_pairs, &out),
	                 2);
	assert_string_equal(buf_str(&out), "b:2>3;c:>x;");
	free(map);
	buf_free(&out);
	unload(&l);
}

static void
test_dates(void **state)
{
	struct feed_date d;
	const char *why = NULL;
	char s[32];

	(void)state;
	assert_int_equal(feed_date_parse("2024-02-29", &d), 0);
	assert_int_equal(feed_date_days(&d), 19782);
	assert_int_equal(feed_date_parse("1970-01-01", &d), 0);
	assert_int_equal(feed_date_days(&d), 0);
	assert_int_equal(feed_date_parse("2026-12-04T10:11:12Z", &d), 0);
	assert_int_equal(d.hh, 10);
	feed_date_stamp(&d, s, sizeof(s));
	assert_string_equal(s, "2026-12-04T10:11:12Z");
	assert_int_equal(feed_date_parse("2026-13-01", &d), -1);
	assert_int_equal(feed_date_parse("2026-12-04 10:00", &d), -1);
	assert_int_equal(feed_date_parse("2026-1-4", &d), -1);
	assert_int_equal(feed_date_clock("2026-12-04", &d, &why), 0);
	assert_int_equal(d.hh, 0);
	assert_int_equal(feed_date_clock("2026-12-4", &d, &why), -1);
	assert_string_equal(why, "--as-of is not a date (YYYY-MM-DD)");
	setenv("ROSTERD_NOW", "2027-01-02T03:04:05Z", 1);
	assert_int_equal(feed_date_clock(NULL, &d, &why), 0);
	feed_date_stamp(&d, s, sizeof(s));
	assert_string_equal(s, "2027-01-02T03:04:05Z");
	setenv("ROSTERD_NOW", "yesterday", 1);
	assert_int_equal(feed_date_now(&d, &why), -1);
	unsetenv("ROSTERD_NOW");
	assert_null(feed_date_format_check("%Y-%m-%d %%", false));
	assert_non_null(feed_date_format_check("%H", false));
	assert_null(feed_date_format_check("%H%M%S", true));
	assert_non_null(feed_date_format_check("%", true));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_jpath_scan),
	    cmocka_unit_test(test_jpath_text),
	    cmocka_unit_test(test_transforms),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_fast_pick),
	    cmocka_unit_test(test_value_errors),
	    cmocka_unit_test(test_diff),
	    cmocka_unit_test(test_dates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
