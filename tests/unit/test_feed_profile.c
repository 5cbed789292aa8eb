/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * Unit tests for feed profiles: parsing, every validation error with its
 * exact file:line:col message, abbreviations, hashes and file names.
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
#include "feed/profile.h"
#include "util/xmalloc.h"

#define ELIG "urn:rosterd:params:scim:schemas:extension:eligibility:1.0:User"
#define ENT "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

/* A loaded configuration and its profiles. */
struct loaded {
	char path[64];
	struct cfg *cfg;
	struct feed_profiles *ps;
};

static void
load(struct loaded *l, const char *yaml)
{
	char *cause = NULL;
	FILE *f;
	int fd;

	snprintf(l->path, sizeof(l->path), "/tmp/rosterd-feedp-XXXXXX");
	fd = mkstemp(l->path);
	assert_true(fd != -1);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(yaml, f);
	fclose(f);
	l->cfg = cfg_load(l->path, &cause);
	assert_null(cause);
	assert_non_null(l->cfg);
	l->ps = feed_profiles_load(l->cfg);
	assert_non_null(l->ps);
}

static void
unload(struct loaded *l)
{
	feed_profiles_free(l->ps);
	cfg_free(l->cfg);
	unlink(l->path);
}

/* The collected errors with the temporary path replaced by "F". */
static char *
errors(const struct loaded *l)
{
	const char *e = buf_str(&l->cfg->errors), *p;
	size_t n = strlen(l->path);
	struct buf b;

	buf_init(&b, 0);
	while ((p = strstr(e, l->path)) != NULL) {
		buf_add(&b, e, (size_t)(p - e));
		buf_addch(&b, 'F');
		e = p + n;
	}
	buf_addstr(&b, e);
	return buf_detach(&b);
}

static void
expect_errors(const char *yaml, const char *want)
{
	struct loaded l;
	char *got;

	load(&l, yaml);
	got = errors(&l);
	if (strcmp(got, want) != 0)
		fprintf(stderr, "got:\n%s\nwant:\n%s\n", got, want);
	assert_string_equal(got, want);
	free(got);
	unload(&l);
}

static const char good[] =
    "feeds:\n"
    "  spring-health:\n"
    "    tenant: acme\n"
    "    vendor: Spring Health\n"
    "    eligibility: 'active eq true and eligibility:eligibilityClass eq "
    "\"FT\"'\n"
    "    mode: change\n"
    "    terminations: explicit\n"
    "    format: csv\n"
    "    quote: all\n"
    "    line_ending: lf\n"
    "    columns:\n"
    "      - {name: member_id, header: Member ID, source: externalId}\n"
    "      - {name: last_name, source: name.familyName, case: upper}\n"
    "      - name: email\n"
    "        source: 'emails[type eq \"work\"].value'\n"
    "      - {name: dob, source: eligibility:birthDate, date_format: "
    "'%m/%d/%Y'}\n"
    "      - {name: dept, source: enterprise:department, width: 10, "
    "truncate: true}\n"
    "      - name: status\n"
    "        source: $action\n"
    "        map: {add: A, change: C, terminate: T}\n"
    "        default: ''\n"
    "      - {name: plan, const: EAP}\n"
    "    file_name: '{tenant}_{feed}_{date:%Y%m%d}_{seq:4}.csv'\n"
    "    approval: {first_run: false, max_terminations_percent: 2.5, "
    "max_changes: 100}\n";

static void
test_good_profile(void **state)
{
	const struct feed_profile *p;
	struct loaded l;

	(void)state;
	load(&l, good);
	assert_int_equal(l.cfg->nerrors, 0);
	assert_int_equal(l.ps->n, 1);
	p = feed_profiles_find(l.ps, "spring-health");
	assert_non_null(p);
	assert_null(feed_profiles_find(l.ps, "nope"));
	assert_string_equal(p->tenant, "acme");
	assert_string_equal(p->vendor, "Spring Health");
	assert_string_equal(p->eligibility, "active eq true and " ELIG
	                                    ":eligibilityClass eq \"FT\"");
	assert_non_null(p->filter);
	assert_string_equal(p->key_source, "externalId");
	assert_int_equal(p->mode, FEED_MODE_CHANGE);
	assert_int_equal(p->fmt.kind, FMT_CSV);
	assert_int_equal(p->fmt.delimiter, ',');
	assert_int_equal(p->fmt.quote, FMT_QUOTE_ALL);
	assert_string_equal(p->fmt.eol, "\n");
	assert_true(p->fmt.formula_guard);
	assert_true(p->fmt.header);
	assert_int_equal(p->ncols, 7);
	assert_int_equal(p->fmt.ncols, 7);
	assert_string_equal(p->fmt.cols[0].header, "Member ID");
	assert_string_equal(p->fmt.cols[1].header, "last_name");
	assert_int_equal(p->cols[1].kase, FEED_CASE_UPPER);
	assert_non_null(p->cols[2].vfilter);
	assert_string_equal(p->cols[2].sub->name, "value");
	assert_string_equal(p->cols[3].source, ELIG ":birthDate");
	assert_string_equal(p->cols[4].source, ENT ":department");
	assert_int_equal(p->cols[4].width, 10);
	assert_true(p->cols[4].truncate);
	assert_int_equal(p->cols[5].src, FEED_SRC_ACTION);
	assert_int_equal(p->cols[5].nmap, 3);
	assert_string_equal(p->cols[5].def, "");
	assert_int_equal(p->cols[6].src, FEED_SRC_CONST);
	assert_true(p->has_dynamic);
	assert_false(p->approval.first_run);
	assert_true(p->approval.layout_change);
	assert_true(p->approval.has_max_terms);
	assert_true(p->approval.max_terms_pct == 2.5);
	assert_true(p->approval.has_max_changes);
	assert_int_equal(p->approval.max_changes, 100);
	assert_string_equal(p->layout, "[\"member_id\",\"last_name\",\"email\","
	                               "\"dob\",\"dept\",\"status\",\"plan\"]");
	assert_int_equal(strlen(p->rule_hash), 64);
	assert_int_equal(strlen(p->values_hash), 64);
	assert_int_equal(strlen(p->layout_hash), 64);
	unload(&l);
}

/* The same text gives the same hashes; a header change only the layout. */
static void
test_hashes(void **state)
{
	struct loaded a, b, c;
	char *alt;
	const struct feed_profile *pa, *pb, *pc;

	(void)state;
	load(&a, good);
	load(&b, good);
	pa = feed_profiles_find(a.ps, "spring-health");
	pb = feed_profiles_find(b.ps, "spring-health");
	assert_string_equal(pa->rule_hash, pb->rule_hash);
	assert_string_equal(pa->values_hash, pb->values_hash);
	assert_string_equal(pa->layout_hash, pb->layout_hash);
	alt = xstrdup(good);
	memcpy(strstr(alt, "Member ID"), "Member_ID", 9);
	load(&c, alt);
	pc = feed_profiles_find(c.ps, "spring-health");
	assert_non_null(pc);
	assert_string_equal(pa->rule_hash, pc->rule_hash);
	assert_string_equal(pa->values_hash, pc->values_hash);
	assert_string_not_equal(pa->layout_hash, pc->layout_hash);
	free(alt);
	unload(&a);
	unload(&b);
	unload(&c);
}

static void
test_defaults(void **state)
{
	const struct feed_profile *p;
	struct loaded l;

	(void)state;
	load(&l, "feeds:\n"
	         "  f1:\n"
	         "    tenant: acme\n"
	         "    eligibility: active eq true\n"
	         "    format: pipe\n"
	         "    columns:\n"
	         "      - {name: id, source: $key}\n");
	assert_int_equal(l.cfg->nerrors, 0);
	p = feed_profiles_find(l.ps, "f1");
	assert_non_null(p);
	assert_int_equal(p->mode, FEED_MODE_FULL);
	assert_int_equal(p->terms, FEED_TERMS_EXPLICIT);
	assert_int_equal(p->fmt.delimiter, '|');
	assert_string_equal(p->fmt.eol, "\r\n");
	assert_string_equal(p->file_name,
	                    "{tenant}-{feed}-{date:%Y%m%d}-{seq}.txt");
	assert_true(p->approval.first_run);
	assert_true(p->approval.layout_change);
	assert_true(p->approval.has_max_terms);
	assert_true(p->approval.max_terms_pct == 10);
	assert_false(p->approval.has_max_changes);
	assert_false(p->has_dynamic);
	unload(&l);
}

static void
test_missing_keys(void **state)
{
	(void)state;
	expect_errors(
	    "feeds:\n"
	    "  f1:\n"
	    "    vendor: x\n",
	    "F:2:3: feeds.f1.tenant: missing: the tenant whose people "
	    "the feed sends\n"
	    "F:2:3: feeds.f1.eligibility: missing: a SCIM filter "
	    "saying who is eligible, e.g. 'active eq true'\n"
	    "F:2:3: feeds.f1.format: missing: csv, pipe, tab, fixed or "
	    "x12-834\n"
	    "F:2:3: feeds.f1.columns: missing: a feed needs at least "
	    "one column\n");
}

static void
test_unknown_and_bad_values(void **state)
{
	(void)state;
	expect_errors(
	    "feeds:\n"
	    "  f1:\n"
	    "    tenant: acme\n"
	    "    eligibility: active eq true\n"
	    "    format: xml\n"
	    "    mode: sometimes\n"
	    "    colour: blue\n"
	    "    columns:\n"
	    "      - {name: a, source: userName}\n",
	    "F:7:5: feeds.f1.colour: unknown key (known: tenant, vendor, "
	    "eligibility, key, mode, terminations, lookback_days, format, "
	    "quote, "
	    "header, line_ending, formula_guard, x12, columns, file_name or "
	    "approval)\n"
	    "F:6:11: feeds.f1.mode: expected full, change or both, not "
	    "\"sometimes\"\n"
	    "F:5:13: feeds.f1.format: expected csv, pipe, tab, fixed or "
	    "x12-834, "
	    "not \"xml\"\n");
}

static void
test_bad_rule(void **state)
{
	struct loaded l;
	char *got;

	(void)state;
	load(&l, "feeds:\n"
	         "  f1:\n"
	         "    tenant: acme\n"
	         "    eligibility: 'active eq true and nosuch eq \"x\"'\n"
	         "    format: csv\n"
	         "    columns:\n"
	         "      - {name: a, source: userName}\n");
	got = errors(&l);
	assert_int_equal(l.cfg->nerrors, 1);
	assert_non_null(strstr(got, "F:4:19: feeds.f1.eligibility: "));
	assert_non_null(strstr(got, "nosuch"));
	assert_int_equal(l.ps->n, 0);
	free(got);
	unload(&l);
}

/* Messages quote abbreviations as written and count in that text. */
static void
test_abbrev_errors(void **state)
{
	(void)state;
	expect_errors(
	    "feeds:\n"
	    "  f1:\n"
	    "    tenant: acme\n"
	    "    eligibility: 'active eq true and eligibility:clas eq \"x\"'\n"
	    "    format: csv\n"
	    "    columns:\n"
	    "      - {name: a, source: enterprise:departmnt}\n"
	    "      - {name: b, source: Eligibility:hireDate}\n",
	    "F:4:19: feeds.f1.eligibility: invalid filter at position 20: "
	    "unknown attribute 'eligibility:clas'\n"
	    "F:7:27: feeds.f1.columns[0].source: invalid path at position 1: "
	    "unknown attribute 'enterprise:departmnt'\n");
}

static void
test_column_errors(void **state)
{
	(void)state;
	expect_errors(
	    "feeds:\n"
	    "  f1:\n"
	    "    tenant: acme\n"
	    "    eligibility: active eq true\n"
	    "    format: csv\n"
	    "    columns:\n"
	    "      - {name: a, source: name}\n"
	    "      - {name: b, source: emails}\n"
	    "      - {name: c, source: $nope}\n"
	    "      - {name: d, source: userName, const: x}\n"
	    "      - {name: e}\n"
	    "      - {name: a, source: userName}\n"
	    "      - {name: 'bad name', source: userName}\n"
	    "      - {name: f, source: eligibility:hireDate, date_format: "
	    "'%Y %B'}\n"
	    "      - {name: g, source: userName, case: title}\n"
	    "      - {name: h, source: userName, width: 0}\n"
	    "      - {name: i, source: userName, truncate: true}\n"
	    "      - {name: j, source: userName, align: right}\n"
	    "      - {name: k, source: groups.display}\n"
	    "      - {name: l, source: 'userName[value eq \"x\"]'}\n",
	    "F:7:27: feeds.f1.columns[0].source: name is complex; name a "
	    "sub-attribute, e.g. name.familyName\n"
	    "F:8:27: feeds.f1.columns[1].source: emails is multi-valued; name "
	    "a sub-attribute, e.g. emails[type eq \"work\"].value\n"
	    "F:9:27: feeds.f1.columns[2].source: unknown computed source "
	    "\"$nope\" (known: $key, $member_key, $dependent_key, "
	    "$relationship, $gender, $tenant, $feed, $action, $term_date, "
	    "$term_reason, $as_of)\n"
	    "F:10:44: feeds.f1.columns[3].source: give source or const, not "
	    "both\n"
	    "F:11:10: feeds.f1.columns[4].source: missing: give source or "
	    "const\n"
	    "F:12:10: feeds.f1.columns[5].name: \"a\" is already the name of "
	    "columns[0]\n"
	    "F:13:17: feeds.f1.columns[6].name: \"bad name\": use 1 to 64 "
	    "letters, digits or '_', starting with a letter or digit\n"
	    "F:14:63: feeds.f1.columns[7].date_format: only %Y %y %m %d %j and "
	    "%% are allowed\n"
	    "F:15:43: feeds.f1.columns[8].case: expected upper or lower, not "
	    "\"title\"\n"
	    "F:16:44: feeds.f1.columns[9].width: expected a whole number from "
	    "1 "
	    "to 4096, not \"0\"\n"
	    "F:17:47: feeds.f1.columns[10].truncate: needs a width to truncate "
	    "to\n"
	    "F:18:44: feeds.f1.columns[11].align: only applies to format "
	    "fixed\n"
	    "F:19:27: feeds.f1.columns[12].source: groups.display groups is "
	    "derived from Group membership and cannot be a column source\n"
	    "F:20:28: feeds.f1.columns[13].source: invalid path at position "
	    "1: attribute 'userName' is neither complex nor multi-valued, so "
	    "it takes no value filter\n");
}

/* mode: both renders change files by default; omission cannot say who left. */
static void
test_mode_both(void **state)
{
	const struct feed_profile *p;
	struct loaded l;

	(void)state;
	load(&l, "feeds:\n"
	         "  f1:\n"
	         "    tenant: acme\n"
	         "    eligibility: active eq true\n"
	         "    mode: both\n"
	         "    format: csv\n"
	         "    columns: [{name: id, source: $key}]\n");
	assert_int_equal(l.cfg->nerrors, 0);
	p = feed_profiles_find(l.ps, "f1");
	assert_non_null(p);
	assert_int_equal(p->mode, FEED_MODE_BOTH);
	assert_string_equal(feed_mode_name(p->mode), "both");
	assert_string_equal(feed_mode_name(FEED_MODE_FULL), "full");
	unload(&l);
	expect_errors("feeds:\n"
	              "  f1:\n"
	              "    tenant: acme\n"
	              "    eligibility: active eq true\n"
	              "    mode: both\n"
	              "    terminations: omit\n"
	              "    format: csv\n"
	              "    columns: [{name: id, source: $key}]\n",
	              "F:6:19: feeds.f1.terminations: omit needs mode: full "
	              "(a change file has no other way to say that a member "
	              "left)\n");
}

static void
test_fixed_and_terms(void **state)
{
	(void)state;
	expect_errors(
	    "feeds:\n"
	    "  f1:\n"
	    "    tenant: acme\n"
	    "    eligibility: active eq true\n"
	    "    format: fixed\n"
	    "    mode: change\n"
	    "    terminations: omit\n"
	    "    quote: all\n"
	    "    columns:\n"
	    "      - {name: a, source: userName}\n"
	    "      - {name: b, source: userName, width: 5, pad: x}\n"
	    "  f2:\n"
	    "    tenant: acme\n"
	    "    eligibility: active eq true\n"
	    "    format: csv\n"
	    "    terminations: lookback\n"
	    "    columns: [{name: a, source: userName}]\n"
	    "  f3:\n"
	    "    tenant: acme\n"
	    "    eligibility: active eq true\n"
	    "    format: csv\n"
	    "    lookback_days: 30\n"
	    "    columns: [{name: a, source: userName}]\n",
	    "F:7:19: feeds.f1.terminations: omit needs mode: full (a "
	    "change file has no other way to say that a member "
	    "left)\n"
	    "F:8:12: feeds.f1.quote: only applies to formats csv, pipe "
	    "and tab\n"
	    "F:10:10: feeds.f1.columns[0].width: missing: every column "
	    "of a fixed-width file needs one\n"
	    "F:11:52: feeds.f1.columns[1].pad: expected \" \" or "
	    "\"0\", not \"x\"\n"
	    "F:16:19: feeds.f2.lookback_days: missing: terminations: "
	    "lookback needs the number of days terminated members "
	    "stay in full files\n"
	    "F:22:20: feeds.f3.lookback_days: only applies to "
	    "terminations: lookback\n");
}

/* N103 qualifiers: FI by default, another code when the profile says. */
static void
test_x12_qualifiers(void **state)
{
	const struct feed_profile *p;
	struct loaded l;

	(void)state;
	load(&l,
	     "feeds:\n"
	     "  f1:\n"
	     "    tenant: acme\n"
	     "    eligibility: active eq true\n"
	     "    format: x12-834\n"
	     "    x12: {sender_id: S, receiver_id: R, sponsor_name: A,\n"
	     "          sponsor_id: ACME01, sponsor_id_qualifier: '94',\n"
	     "          payer_name: P, payer_id: '987654321',\n"
	     "          ta1_requested: true}\n"
	     "    columns:\n"
	     "      - {name: member_id, source: externalId}\n"
	     "      - {name: relationship, source: $relationship}\n"
	     "      - {name: last_name, source: name.familyName}\n"
	     "      - {name: coverage_start, source: eligibility:hireDate}\n");
	if (l.cfg->nerrors > 0)
		fprintf(stderr, "%s", buf_str(&l.cfg->errors));
	assert_int_equal(l.cfg->nerrors, 0);
	p = feed_profiles_find(l.ps, "f1");
	assert_non_null(p);
	assert_true(p->fmt.x12.isa14_ta1);
	assert_string_equal(p->fmt.x12.sponsor_id_qual, "94");
	assert_string_equal(p->fmt.x12.payer_id_qual, "FI");
	assert_string_equal(p->fmt.x12.insurance_line, "HLT");
	unload(&l);
}

static void
test_x12_errors(void **state)
{
	(void)state;
	expect_errors(
	    "feeds:\n"
	    "  f1:\n"
	    "    tenant: acme\n"
	    "    eligibility: active eq true\n"
	    "    format: x12-834\n"
	    "    x12:\n"
	    "      sender_id: 'AC*ME'\n"
	    "      usage: X\n"
	    "    columns:\n"
	    "      - {name: last_name, source: name.familyName}\n",
	    "F:7:7: feeds.f1.x12.receiver_id: missing\n"
	    "F:7:7: feeds.f1.x12.sponsor_name: missing\n"
	    "F:7:7: feeds.f1.x12.sponsor_id: missing\n"
	    "F:7:7: feeds.f1.x12.payer_name: missing\n"
	    "F:7:7: feeds.f1.x12.payer_id: missing\n"
	    "F:8:14: feeds.f1.x12.usage: expected P or T, not \"X\"\n"
	    "F:7:19: feeds.f1.x12.sender_id: must not contain the "
	    "separator '*'\n"
	    "F:7:7: feeds.f1.x12.gs_sender: must not contain the "
	    "separator '*'\n"
	    "F:10:10: feeds.f1.columns: format x12-834 needs a column "
	    "named member_id (REF02)\n"
	    "F:10:10: feeds.f1.columns: format x12-834 needs a column "
	    "named relationship (INS02)\n"
	    "F:10:10: feeds.f1.columns: format x12-834 needs a column "
	    "named coverage_start (DTP03)\n");
}

static void
test_approval_and_names(void **state)
{
	(void)state;
	expect_errors(
	    "feeds:\n"
	    "  'bad/name':\n"
	    "    tenant: 'acme corp'\n"
	    "    eligibility: active eq true\n"
	    "    format: csv\n"
	    "    key: emails.value\n"
	    "    file_name: '../{feed}.csv'\n"
	    "    approval:\n"
	    "      max_terminations_percent: 150\n"
	    "      max_changes: -1\n"
	    "      first_run: yes please\n"
	    "    columns: [{name: a, source: userName}]\n",
	    "F:2:4: feeds.bad/name: a feed name is 1 to 64 letters, "
	    "digits, '.', '_' or '-', starting with a letter or "
	    "digit\n"
	    "F:3:14: feeds.bad/name.tenant: \"acme corp\" is not a "
	    "tenant name\n"
	    "F:6:10: feeds.bad/name.key: emails.value cannot identify a "
	    "member: use a single-valued string attribute such as "
	    "externalId, userName or enterprise:employeeNumber\n"
	    "F:7:17: feeds.bad/name.file_name: \"../{feed}.csv\": must "
	    "not start with '.'\n"
	    "F:11:18: feeds.bad/name.approval.first_run: expected true "
	    "or false, not \"yes please\"\n"
	    "F:9:33: feeds.bad/name.approval.max_terminations_percent: "
	    "expected a number from 0 to 100, not \"150\"\n"
	    "F:10:20: feeds.bad/name.approval.max_changes: expected a "
	    "whole number from 0 to 1000000000, not \"-1\"\n");
}

static void
test_abbrev(void **state)
{
	char *s;

	(void)state;
	s = feed_expand_abbrev("eligibility:x eq \"eligibility:y\" and "
	                       "(enterprise:department pr) and "
	                       "urn:rosterd:params:scim:schemas:extension:"
	                       "eligibility:1.0:User:z pr");
	assert_string_equal(s, ELIG ":x eq \"eligibility:y\" and (" ENT
	                            ":department pr) and " ELIG ":z pr");
	free(s);
	s = feed_expand_abbrev("name.familyName");
	assert_string_equal(s, "name.familyName");
	free(s);
}

static void
test_template_check(void **state)
{
	(void)state;
	assert_null(feed_name_template_check("{tenant}_{feed}_{date}.csv"));
	assert_null(
	    feed_name_template_check("x-{date:%Y-%m-%d_%H%M%S}-{seq:6}"));
	assert_string_equal(feed_name_template_check("a/{feed}.csv"),
	                    "only letters, digits, '.', '_' and '-' may appear "
	                    "outside placeholders (a file name, never a path)");
	assert_string_equal(feed_name_template_check("a b.csv"),
	                    "only letters, digits, '.', '_' and '-' may appear "
	                    "outside placeholders (a file name, never a path)");
	assert_string_equal(feed_name_template_check("a..b"),
	                    "must not contain \"..\"");
	assert_string_equal(feed_name_template_check(".hidden"),
	                    "must not start with '.'");
	assert_string_equal(feed_name_template_check("{user}.csv"),
	                    "unknown placeholder (known: {tenant}, {feed}, "
	                    "{date}, {date:FORMAT}, {seq}, {seq:WIDTH})");
	assert_string_equal(feed_name_template_check("{date:%Y/%m}.csv"),
	                    "a date format in a file name may only use "
	                    "conversions, '.', '_' and '-'");
	assert_string_equal(feed_name_template_check("{feed.csv"),
	                    "'{' has no matching '}'");
	assert_string_equal(feed_name_template_check(""), "must not be empty");
}

/* The longest expansion, known when the configuration is loaded. */
static void
test_template_max(void **state)
{
	char *big, *yaml, *want;

	(void)state;
	assert_int_equal(feed_name_template_max("{tenant}_{feed}_{date}.csv",
	                                        "acme", "spring-health"),
	                 4 + 1 + 13 + 1 + 8 + 4);
	assert_int_equal(
	    feed_name_template_max("x-{date:%Y-%j_%H%M%S%%}-{seq:6}", "a", "b"),
	    2 + 4 + 1 + 3 + 1 + 6 + 1 + 1 + 10);
	/* One that a render would only find too long: a config error. */
	big = xcalloc(1, 247);
	memset(big, 'a', 246);
	yaml = xasprintf("feeds:\n"
	                 "  f:\n"
	                 "    tenant: acme\n"
	                 "    eligibility: active eq true\n"
	                 "    format: csv\n"
	                 "    file_name: '%s-{seq}'\n"
	                 "    columns: [{name: a, source: userName}]\n",
	                 big);
	want = xasprintf("F:6:17: feeds.f.file_name: \"%s-{seq}\": expands "
	                 "to up to 257 bytes (with a 10-digit {seq}); a file "
	                 "name takes at most 255\n",
	                 big);
	expect_errors(yaml, want);
	free(want);
	free(yaml);
	/* 255 exactly is a file name. */
	big[244] = '\0';
	yaml = xasprintf("%s-{seq}", big);
	assert_int_equal(feed_name_template_max(yaml, "acme", "f"), 255);
	free(yaml);
	free(big);
}

static void
test_file_name(void **state)
{
	char *out = NULL, *cause = NULL;

	(void)state;
	assert_int_equal(feed_file_name("{tenant}_{feed}_{date:%Y%m%d}_{seq:4}"
	                                ".csv",
	                                "acme", "spring-health", "2026-12-04",
	                                "13:45:07", 7, &out, &cause),
	                 0);
	assert_string_equal(out, "acme_spring-health_20261204_0007.csv");
	free(out);
	assert_int_equal(feed_file_name("{date:%y%j-%H%M%S}-{seq}", "a", "b",
	                                "2026-02-01", "13:45:07", 12, &out,
	                                &cause),
	                 0);
	assert_string_equal(out, "26032-134507-12");
	free(out);
	/* Expanded values are checked too: never a path, never "..". */
	assert_int_equal(feed_file_name("{tenant}.csv", "a/b", "f",
	                                "2026-12-04", NULL, 1, &out, &cause),
	                 -1);
	assert_string_equal(cause, "file name \"a/b.csv\" is not a plain file "
	                           "name (only letters, digits, '.', '_' and "
	                           "'-'; no \"..\"; not starting with '.')");
	free(cause);
	cause = NULL;
	assert_int_equal(feed_file_name("{tenant}{feed}", ".", ".",
	                                "2026-12-04", NULL, 1, &out, &cause),
	                 -1);
	free(cause);
	cause = NULL;
	assert_int_equal(feed_file_name("{tenant}-x", "a b", "f", "2026-12-04",
	                                NULL, 1, &out, &cause),
	                 -1);
	free(cause);
	assert_true(feed_file_name_ok("a.csv"));
	assert_false(feed_file_name_ok("a/b.csv"));
	assert_false(feed_file_name_ok(".."));
	assert_false(feed_file_name_ok("a..csv"));
	assert_false(feed_file_name_ok("a b"));
	assert_false(feed_file_name_ok(""));
}

/* The commented example in docs/feeds.md is a valid configuration. */
static void
test_docs_example(void **state)
{
	const char *src = getenv("ROSTERD_SRC");
	char path[512], line[1024];
	struct buf yaml;
	struct loaded l;
	int blocks = 0;
	bool in = false;
	FILE *f;

	(void)state;
	if (src == NULL)
		skip();
	snprintf(path, sizeof(path), "%s/docs/feeds.md", src);
	f = fopen(path, "r");
	assert_non_null(f);
	buf_init(&yaml, 0);
	/* The first two ```yaml blocks: a config, then one more feed. */
	while (blocks < 2 && fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "```yaml", 7) == 0)
			in = true;
		else if (in && strncmp(line, "```", 3) == 0) {
			in = false;
			blocks++;
		} else if (in)
			buf_addstr(&yaml, line);
	}
	fclose(f);
	assert_int_equal(blocks, 2);
	load(&l, buf_str(&yaml));
	if (l.cfg->nerrors > 0)
		fprintf(stderr, "%s", buf_str(&l.cfg->errors));
	assert_int_equal(l.cfg->nerrors, 0);
	assert_int_equal(l.ps->n, 2);
	assert_non_null(feed_profiles_find(l.ps, "spring-health"));
	assert_non_null(feed_profiles_find(l.ps, "eap-834"));
	buf_free(&yaml);
	unload(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_profile),
	    cmocka_unit_test(test_hashes),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_missing_keys),
	    cmocka_unit_test(test_unknown_and_bad_values),
	    cmocka_unit_test(test_bad_rule),
	    cmocka_unit_test(test_abbrev_errors),
	    cmocka_unit_test(test_column_errors),
	    cmocka_unit_test(test_fixed_and_terms),
	    cmocka_unit_test(test_mode_both),
	    cmocka_unit_test(test_x12_errors),
	    cmocka_unit_test(test_x12_qualifiers),
	    cmocka_unit_test(test_approval_and_names),
	    cmocka_unit_test(test_abbrev),
	    cmocka_unit_test(test_template_check),
	    cmocka_unit_test(test_template_max),
	    cmocka_unit_test(test_file_name),
	    cmocka_unit_test(test_docs_example),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
