/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * Unit tests for the SCIM filter parser, PATCH path parser, evaluator and
 * the SQLite compiler (run against an in-memory database).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "scim/error.h"
#include "scim/filter.h"
#include "scim/schema.h"
#include "store/sqlite_filter.h"
#include "util/buf.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define ENT "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
#define ELIG "urn:rosterd:params:scim:schemas:extension:eligibility:1.0:User"

/* A made-up resource type with the attribute types User and Group lack. */
static const struct scim_attr widget_parts[] = {
    {.name = "label", .type = SCIM_T_STRING},
    {.name = "qty", .type = SCIM_T_INTEGER},
};
static const struct scim_attr widget_attrs[] = {
    {.name = "count", .type = SCIM_T_INTEGER},
    {.name = "weight", .type = SCIM_T_DECIMAL},
    {.name = "flag", .type = SCIM_T_BOOLEAN},
    {.name = "blob", .type = SCIM_T_BINARY},
    {.name = "when", .type = SCIM_T_DATETIME},
    {.name = "tags", .type = SCIM_T_STRING, .multi = true},
    {.name = "code", .type = SCIM_T_STRING, .case_exact = true},
    {.name = "parts",
     .type = SCIM_T_COMPLEX,
     .multi = true,
     .sub = widget_parts,
     .nsub = NELEM(widget_parts)},
};
static const struct scim_schema widget_schema = {
    "urn:test:Widget", "Widget", "test", widget_attrs, NELEM(widget_attrs)};
static const struct scim_schema *const widget_exts[] = {NULL};
static const struct scim_rtype widget_rt = {"Widget",       "/Widgets",  "test",
                                            &widget_schema, widget_exts, NULL};

/* The tree as an S-expression with canonical attribute paths. */
static void
dump_path(struct buf *b, const struct scim_attrpath *p)
{
	if (p->ext)
		buf_addf(b, "%s%s", p->schema->id, p->attr != NULL ? ":" : "");
	if (p->attr != NULL)
		buf_addstr(b, p->attr->name);
	if (p->sub != NULL)
		buf_addf(b, ".%s", p->sub->name);
}

static void
dump(struct buf *b, const struct scim_filter *f)
{
	static const char *const names[] = {"eq",  "ne", "co", "sw", "ew",
	                                    "gt",  "ge", "lt", "le", "pr",
	                                    "and", "or", "not"};
	char *v;

	buf_addch(b, '(');
	if (f->op == SCIM_F_VALPATH) {
		dump_path(b, &f->path);
		buf_addstr(b, "[] ");
		dump(b, f->left);
	} else if (f->op == SCIM_F_AND || f->op == SCIM_F_OR ||
	           f->op == SCIM_F_NOT) {
		buf_addstr(b, names[f->op]);
		buf_addch(b, ' ');
		dump(b, f->left);
		if (f->right != NULL) {
			buf_addch(b, ' ');
			dump(b, f->right);
		}
	} else {
		buf_addf(b, "%s ", names[f->op]);
		dump_path(b, &f->path);
		if (f->value != NULL) {
			v = json_dumps(f->value,
			               JSON_ENCODE_ANY | JSON_COMPACT);
			buf_addf(b, " %s", v);
			free(v);
		}
	}
	buf_addch(b, ')');
}

/* Parse text (which must succeed) and return its dump; caller frees. */
static char *
parse_dump(const struct scim_rtype *rt, const char *text)
{
	struct scim_err e;
	struct scim_filter *f;
	struct buf b;

	scim_err_init(&e);
	f = scim_filter_parse(rt, text, &e);
	if (f == NULL)
		fail_msg("parse of '%s' failed: %s", text, e.detail);
	buf_init(&b, 0);
	dump(&b, f);
	scim_filter_free(f);
	return buf_detach(&b);
}

struct parse_case {
	const char *text;
	const char *want;
};

static void
check_parse_cases(const struct scim_rtype *rt, const struct parse_case *c,
                  size_t n)
{
	size_t i;
	char *got;

	for (i = 0; i < n; i++) {
		int same;

		got = parse_dump(rt, c[i].text);
		same = strcmp(got, c[i].want) == 0;
		if (!same)
			print_error("filter: %s\n got:  %s\n want: %s\n",
			            c[i].text, got, c[i].want);
		free(got);
		if (!same)
			fail();
	}
}

static void
test_parse_operators(void **state)
{
	static const struct parse_case c[] = {
	    {"userName eq \"bjensen\"", "(eq userName \"bjensen\")"},
	    {"userName ne \"bjensen\"", "(ne userName \"bjensen\")"},
	    {"name.familyName co \"O'Malley\"",
	     "(co name.familyName \"O'Malley\")"},
	    {"userName sw \"J\"", "(sw userName \"J\")"},
	    {"userName ew \"n\"", "(ew userName \"n\")"},
	    {"title pr", "(pr title)"},
	    {"meta.lastModified gt \"2011-05-13T04:42:34Z\"",
	     "(gt meta.lastModified \"2011-05-13T04:42:34.000Z\")"},
	    {"meta.lastModified ge \"2011-05-13T04:42:34Z\"",
	     "(ge meta.lastModified \"2011-05-13T04:42:34.000Z\")"},
	    {"meta.lastModified lt \"2011-05-13T04:42:34Z\"",
	     "(lt meta.lastModified \"2011-05-13T04:42:34.000Z\")"},
	    {"meta.lastModified le \"2011-05-13T04:42:34Z\"",
	     "(le meta.lastModified \"2011-05-13T04:42:34.000Z\")"},
	    {"userName gt \"a\"", "(gt userName \"a\")"},
	    {"active eq true", "(eq active true)"},
	    {"active eq false", "(eq active false)"},
	    {"title eq null", "(eq title null)"},
	    {"title ne null", "(ne title null)"},
	    {"id eq \"2819c223\"", "(eq id \"2819c223\")"},
	    {"externalId pr", "(pr externalId)"},
	    {"groups.display co \"Guides\"", "(co groups.display \"Guides\")"},
	};

	check_parse_cases(scim_rtype_user(), c, NELEM(c));
}

static void
test_parse_logic(void **state)
{
	static const struct parse_case c[] = {
	    /* and binds tighter than or */
	    {"title pr or userType eq \"A\" and userType eq \"B\"",
	     "(or (pr title) (and (eq userType \"A\") (eq userType \"B\")))"},
	    {"title pr and userType eq \"A\" or userType eq \"B\"",
	     "(or (and (pr title) (eq userType \"A\")) (eq userType \"B\"))"},
	    {"(title pr or userType eq \"A\") and userType eq \"B\"",
	     "(and (or (pr title) (eq userType \"A\")) (eq userType \"B\"))"},
	    /* left-associative chains */
	    {"title pr or nickName pr or locale pr",
	     "(or (or (pr title) (pr nickName)) (pr locale))"},
	    {"not (title pr)", "(not (pr title))"},
	    {"not(title pr)", "(not (pr title))"},
	    {"title pr and not (nickName pr or locale pr)",
	     "(and (pr title) (not (or (pr nickName) (pr locale))))"},
	    {"not (not (title pr))", "(not (not (pr title)))"},
	    {"((title pr))", "(pr title)"},
	    {"  title\tpr  ", "(pr title)"},
	    {"userType ne \"Employee\" and not (emails co \"example.com\" or "
	     "emails.value co \"example.org\")",
	     "(and (ne userType \"Employee\") (not (or (co emails.value "
	     "\"example.com\") (co emails.value \"example.org\"))))"},
	};

	check_parse_cases(scim_rtype_user(), c, NELEM(c));
}

static void
test_parse_valpath(void **state)
{
	static const struct parse_case c[] = {
	    {"emails[type eq \"work\" and value co \"@example.com\"]",
	     "(emails[] (and (eq emails.type \"work\") (co emails.value "
	     "\"@example.com\")))"},
	    {"userType eq \"Employee\" and emails[type eq \"work\" and value "
	     "co \"@example.com\"]",
	     "(and (eq userType \"Employee\") (emails[] (and (eq emails.type "
	     "\"work\") (co emails.value \"@example.com\"))))"},
	    {"emails[type eq \"work\" and value co \"@example.com\"] or "
	     "ims[type eq \"xmpp\" and value co \"@foo.com\"]",
	     "(or (emails[] (and (eq emails.type \"work\") (co emails.value "
	     "\"@example.com\"))) (ims[] (and (eq ims.type \"xmpp\") (co "
	     "ims.value \"@foo.com\"))))"},
	    {"emails[type eq \"work\" or (type eq \"home\" and value ew "
	     "\".com\")]",
	     "(emails[] (or (eq emails.type \"work\") (and (eq emails.type "
	     "\"home\") (ew emails.value \".com\"))))"},
	    {"emails[not (primary eq true)]",
	     "(emails[] (not (eq emails.primary true)))"},
	    {"name[givenName eq \"Barbara\"]",
	     "(name[] (eq name.givenName \"Barbara\"))"},
	    /* RFC 7643 §2.4: a multi-valued complex attribute means .value */
	    {"emails eq \"a@b.c\"", "(eq emails.value \"a@b.c\")"},
	    {"emails pr", "(pr emails)"},
	    {"groups eq \"g1\"", "(eq groups.value \"g1\")"},
	    /* Entra's `attr[filter].sub op value`: one element, both tests */
	    {"emails[type eq \"work\"].value eq \"a@b.c\"",
	     "(emails[] (and (eq emails.type \"work\") (eq emails.value "
	     "\"a@b.c\")))"},
	    {"emails[type eq \"work\"].VALUE pr and userName pr",
	     "(and (emails[] (and (eq emails.type \"work\") (pr "
	     "emails.value))) (pr userName))"},
	};
	static const struct parse_case g[] = {
	    {"members eq \"abc\"", "(eq members.value \"abc\")"},
	    {"members[value eq \"abc\" and type eq \"User\"]",
	     "(members[] (and (eq members.value \"abc\") (eq members.type "
	     "\"User\")))"},
	    {"displayName sw \"Tour\"", "(sw displayName \"Tour\")"},
	};
	static const struct parse_case w[] = {
	    {"tags[value eq \"red\"]", "(tags[] (eq tags \"red\"))"},
	    {"tags eq \"red\"", "(eq tags \"red\")"},
	};

	check_parse_cases(scim_rtype_user(), c, NELEM(c));
	check_parse_cases(scim_rtype_group(), g, NELEM(g));
	check_parse_cases(&widget_rt, w, NELEM(w));
}

static void
test_parse_names(void **state)
{
	static const struct parse_case c[] = {
	    {"urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"J\"",
	     "(sw userName \"J\")"},
	    {ENT ":employeeNumber eq \"701984\"",
	     "(eq " ENT ":employeeNumber \"701984\")"},
	    {ENT ":manager.value eq \"26118915\"",
	     "(eq " ENT ":manager.value \"26118915\")"},
	    {ENT " pr", "(pr " ENT ")"},
	    {"URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:"
	     "EMPLOYEENUMBER EQ \"1\"",
	     "(eq " ENT ":employeeNumber \"1\")"},
	    {ELIG ":hireDate gt \"2019-01-01\"",
	     "(gt " ELIG ":hireDate \"2019-01-01\")"},
	    /* attribute names and keywords are case-insensitive */
	    {"USERNAME Eq \"x\"", "(eq userName \"x\")"},
	    {"name.FAMILYNAME SW \"J\" AND Title PR Or NOT (ACTIVE EQ TRUE)",
	     "(or (and (sw name.familyName \"J\") (pr title)) (not (eq active "
	     "true)))"},
	    {"Emails[TYPE Eq \"work\"]",
	     "(emails[] (eq emails.type \"work\"))"},
	    {"META.LASTMODIFIED GT \"2011-05-13T04:42:34Z\"",
	     "(gt meta.lastModified \"2011-05-13T04:42:34.000Z\")"},
	    {"schemas eq \"" ENT "\"", "(eq schemas \"" ENT "\")"},
	};

	check_parse_cases(scim_rtype_user(), c, NELEM(c));
}

static void
test_parse_values(void **state)
{
	static const struct parse_case c[] = {
	    /* JSON string escapes */
	    {"userName eq \"a\\\"b\\\\c\\/d\\u00e9\\n\\t\"",
	     "(eq userName \"a\\\"b\\\\c/d\xc3\xa9\\n\\t\")"},
	    {"userName eq \"\\ud83d\\ude00\"",
	     "(eq userName \"\xf0\x9f\x98\x80\")"},
	    {"userName eq \"\"", "(eq userName \"\")"},
	    {"userName eq \"a)b]c(\"", "(eq userName \"a)b]c(\")"},
	    /* true/false/null are case-insensitive (ABNF literals) */
	    {"active eq TRUE", "(eq active true)"},
	    {"active eq False", "(eq active false)"},
	    {"title eq NULL", "(eq title null)"},
	    /* Entra-style boolean strings */
	    {"active eq \"True\"", "(eq active true)"},
	    {"active ne \"false\"", "(ne active false)"},
	    /* a number compared with a string attribute is taken as written */
	    {ENT ":employeeNumber eq 701984", "(eq " ENT ":employeeNumber "
	                                      "\"701984\")"},
	    {ENT ":employeeNumber eq -1.50e3", "(eq " ENT ":employeeNumber "
	                                       "\"-1.50e3\")"},
	    /* dateTime values become the stored UTC form */
	    {"meta.created eq \"2011-05-13T06:42:34.5+02:00\"",
	     "(eq meta.created \"2011-05-13T04:42:34.500Z\")"},
	    {"meta.created eq \"2011-05-13T04:42:34.123456Z\"",
	     "(eq meta.created \"2011-05-13T04:42:34.123Z\")"},
	    {"meta.created lt \"2024-02-29T23:30:00-01:00\"",
	     "(lt meta.created \"2024-03-01T00:30:00.000Z\")"},
	    {"meta.created gt \"2011-05-13t04:42:34z\"",
	     "(gt meta.created \"2011-05-13T04:42:34.000Z\")"},
	    {"meta.created gt \"1999-12-31T23:59:59\"",
	     "(gt meta.created \"1999-12-31T23:59:59.000Z\")"},
	    /* substring operators keep the text as written */
	    {"meta.created sw \"2011-05\"", "(sw meta.created \"2011-05\")"},
	};
	static const struct parse_case w[] = {
	    {"count eq 42", "(eq count 42)"},
	    {"count gt -7", "(gt count -7)"},
	    {"weight le 2.5", "(le weight 2.5)"},
	    {"weight lt 1e3", "(lt weight 1000.0)"},
	    {"count eq \"42\"", "(eq count 42)"},
	    {"flag eq true", "(eq flag true)"},
	    {"blob eq \"AAEC\"", "(eq blob \"AAEC\")"},
	    {"code co \"x\"", "(co code \"x\")"},
	    {"parts[label eq \"a\" and qty ge 2]",
	     "(parts[] (and (eq parts.label \"a\") (ge parts.qty 2)))"},
	};

	check_parse_cases(scim_rtype_user(), c, NELEM(c));
	check_parse_cases(&widget_rt, w, NELEM(w));
}

struct err_case {
	const char *text;
	const char *frag; /* expected in the detail */
};

static void
check_error(const struct scim_rtype *rt, const char *text, const char *frag)
{
	struct scim_err e;
	struct scim_filter *f;

	scim_err_init(&e);
	f = scim_filter_parse(rt, text, &e);
	if (f != NULL) {
		scim_filter_free(f);
		fail_msg("filter '%s' parsed but should fail with '%s'", text,
		         frag);
	}
	assert_int_equal(e.status, 400);
	assert_non_null(e.scim_type);
	assert_string_equal(e.scim_type, SCIM_ET_INVALID_FILTER);
	if (strstr(e.detail, frag) == NULL)
		fail_msg("filter '%s': detail '%s' lacks '%s'", text, e.detail,
		         frag);
}

static void
check_errors(const struct scim_rtype *rt, const struct err_case *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		check_error(rt, c[i].text, c[i].frag);
}

static void
test_errors_syntax(void **state)
{
	static const struct err_case c[] = {
	    /* unbalanced parentheses and brackets */
	    {"(title pr", "position 10: '(' at position 1 is never closed"},
	    {"((title pr)", "position 12: '(' at position 1 is never closed"},
	    {"title pr)", "position 9: ')' has no matching '('"},
	    {"emails[type eq \"work\"",
	     "position 22: '[' at position 7 is never closed"},
	    {"title pr]", "position 9: ']' has no matching '['"},
	    {"emails[type eq \"work\")",
	     "position 22: expected and, or or ']', found ')'"},
	    {"(title pr]", "position 10: expected and, or or ')', found ']'"},
	    {"emails[type eq \"work\"].nope eq \"x\"",
	     "position 24: unknown attribute"},
	    {"emails[type eq \"work\"].value",
	     "position 29: expected an operator"},
	    {"emails[type eq \"work\"].value eq \"x\".type",
	     "position 36: expected and, or or the end of the filter"},
	    /* missing pieces */
	    {"", "position 1: the filter is empty"},
	    {"   ", "the filter is empty"},
	    {"userName eq", "position 12: expected a value (a JSON string, "
	                    "number, true, false or null), found end of input"},
	    {"userName eq bjensen", "position 13: expected a value (a JSON "
	                            "string, number, true, false or null), "
	                            "found 'bjensen'"},
	    {"userName eq )", "position 13: expected a value"},
	    {"userName",
	     "position 9: expected an operator (eq, ne, co, sw, ew, "
	     "gt, ge, lt, le or pr) or '[', found end of input"},
	    {"userName xx \"a\"", "position 10: expected an operator (eq, ne, "
	                          "co, sw, ew, gt, ge, lt, le or pr) or '[', "
	                          "found 'xx'"},
	    {"userName \"a\"", "position 10: expected an operator"},
	    {"emails[type]", "position 12: expected an operator (eq, ne, co, "
	                     "sw, ew, gt, ge, lt, le or pr), found ']'"},
	    {"title pr and", "position 13: expected an attribute name, '(' or "
	                     "not, found end of input"},
	    {"title pr or or nickName pr", "position 13: expected an attribute "
	                                   "name"},
	    {"()", "position 2: expected an attribute name, '(' or not, found "
	           "')'"},
	    {"\"x\" eq userName", "position 1: expected an attribute name"},
	    {"not title pr", "position 5: expected '(' after not, found "
	                     "'title'"},
	    {"not", "position 4: expected '(' after not, found end of input"},
	    /* trailing garbage */
	    {"title pr garbage", "position 10: expected and, or or the end of "
	                         "the filter, found 'garbage'"},
	    {"title pr #", "position 10: expected and, or or the end of the "
	                   "filter, found '#'"},
	    {"userName eq \"x\" \"y\"", "position 17: expected and, or or the "
	                                "end of the filter, found '\"y\"'"},
	    {"title pr \xff", "found '?'"},
	    /* literals */
	    {"userName eq \"abc", "position 13: the string starting here has "
	                          "no closing quote"},
	    {"userName eq \"abc\\\"", "no closing quote"},
	    {"userName eq \"a\\qb\"", "position 13: invalid string literal"},
	    {"userName eq \"a\\u0000b\"", "invalid string literal"},
	    {"userName eq \"tab\there\"", "invalid string literal"},
	    {"userName eq \"\xff\"", "invalid string literal"},
	    {ENT ":employeeNumber eq 01", "invalid number literal"},
	    {ENT ":employeeNumber eq 1.", "invalid number literal"},
	    {ENT ":employeeNumber eq -", "invalid number literal"},
	    {ENT ":employeeNumber eq 99999999999999999999",
	     "invalid number literal"},
	};

	check_errors(scim_rtype_user(), c, NELEM(c));
}

static void
test_errors_semantic(void **state)
{
	static const struct err_case u[] = {
	    {"foo eq \"x\"", "invalid filter at position 1: unknown attribute "
	                     "'foo'"},
	    {"name.nope eq \"x\"", "position 1: unknown attribute 'name.nope'"},
	    {"title pr and bogus pr", "position 14: unknown attribute "
	                              "'bogus'"},
	    {"emails[bogus eq \"x\"]", "position 8: unknown attribute 'bogus'"},
	    {"emails[emails.type eq \"x\"]", "unknown attribute 'emails.type'"},
	    {ENT ":nope eq \"x\"", "position 1: unknown attribute"},
	    {"employeeNumber eq \"1\"", "unknown attribute 'employeeNumber'"},
	    {"userN\xc3\xa4me eq \"x\"", "unknown attribute 'userN??me'"},
	    {"and title pr", "position 1: expected an attribute name, '(' or "
	                     "not, found 'and'"},
	    /* complex attributes compared directly */
	    {"name eq \"x\"", "position 1: attribute 'name' is complex: "
	                      "compare one of its sub-attributes"},
	    {"addresses eq \"x\"", "attribute 'addresses' is complex"},
	    {"meta eq \"x\"", "attribute 'meta' is complex"},
	    {ENT ":manager eq \"x\"", "is complex"},
	    {ENT " eq \"x\"", "names a schema; only pr can test it"},
	    /* value filters */
	    {"emails[type[value eq \"x\"]]", "position 12: value filters "
	                                     "cannot be nested"},
	    {"emails[type eq \"a\" and emails[type eq \"b\"]]",
	     "unknown attribute 'emails'"},
	    {"userName[value eq \"x\"]", "position 1: attribute 'userName' is "
	                                 "neither complex nor multi-valued"},
	    {"emails.type[value eq \"x\"]", "a value filter cannot follow the "
	                                    "sub-attribute 'emails.type'"},
	    {ENT "[value eq \"x\"]", "names a schema; a value filter needs"},
	    /* types */
	    {"active gt true", "position 11: operator gt cannot be used with "
	                       "the boolean attribute 'active'"},
	    {"active ge true", "operator ge cannot be used with the boolean"},
	    {"active lt false", "operator lt cannot be used with the boolean"},
	    {"active le false", "operator le cannot be used with the boolean"},
	    {"active co \"t\"", "operator co cannot be used with the boolean"},
	    {"emails[primary gt true]", "boolean attribute 'primary'"},
	    {"emails.primary gt true", "boolean attribute 'emails.primary'"},
	    {"x509Certificates.value gt \"AAA\"",
	     "operator gt cannot be used with the binary attribute "
	     "'x509Certificates.value'"},
	    {"x509Certificates lt \"AAA\"", "binary attribute"},
	    {"active eq \"yes\"", "attribute 'active' is boolean: expected "
	                          "true or false"},
	    {"active eq 1", "is boolean"},
	    {"title eq true", "attribute 'title' is a string: expected a JSON "
	                      "string"},
	    {"title gt null", "null can only be compared with eq or ne, not gt "
	                      "(attribute 'title')"},
	    {"title co null", "null can only be compared with eq or ne"},
	    {"meta.lastModified gt \"yesterday\"",
	     "position 22: the value for 'meta.lastModified' is not an "
	     "xsd:dateTime"},
	    {"meta.lastModified gt \"2011-02-29T00:00:00Z\"", "xsd:dateTime"},
	    {"meta.lastModified gt \"2011-05-13T24:00:00Z\"", "xsd:dateTime"},
	    {"meta.lastModified gt \"2011-05-13T04:60:00Z\"", "xsd:dateTime"},
	    {"meta.lastModified gt \"2011-05-13\"", "xsd:dateTime"},
	    {"meta.lastModified gt \"2011-05-13T04:42:34+0200\"",
	     "xsd:dateTime"},
	    {"meta.lastModified gt \"2011-05-13T04:42:34.Z\"", "xsd:dateTime"},
	    {"meta.lastModified gt \"0000-01-01T00:00:00+01:00\"",
	     "xsd:dateTime"},
	    {"meta.lastModified gt 5", "attribute 'meta.lastModified' is a "
	                               "dateTime: expected a string"},
	};
	static const struct err_case g[] = {
	    {"userName eq \"x\"", "unknown attribute 'userName'"},
	    {"members[bogus eq \"x\"]", "unknown attribute 'bogus'"},
	};
	static const struct err_case w[] = {
	    {"count co \"1\"", "operator co cannot be used with the numeric "
	                       "attribute 'count'"},
	    {"weight sw \"1\"", "numeric attribute 'weight'"},
	    {"count eq \"abc\"", "attribute 'count' is numeric: expected a "
	                         "number"},
	    {"count eq \"[1]\"", "is numeric"},
	    {"count eq true", "is numeric"},
	    {"blob ge \"x\"", "binary attribute 'blob'"},
	    {"tags[bogus eq \"x\"]", "unknown attribute 'bogus'"},
	    {"parts eq \"x\"", "attribute 'parts' is complex"},
	};

	check_errors(scim_rtype_user(), u, NELEM(u));
	check_errors(scim_rtype_group(), g, NELEM(g));
	check_errors(&widget_rt, w, NELEM(w));
}

static void
test_limits(void **state)
{
	struct buf b;
	struct scim_err e;
	struct scim_filter *f;
	int i;

	/* 31 nested parentheses parse; 40 do not */
	buf_init(&b, 0);
	for (i = 0; i < 31; i++)
		buf_addch(&b, '(');
	buf_addstr(&b, "title pr");
	for (i = 0; i < 31; i++)
		buf_addch(&b, ')');
	scim_err_init(&e);
	f = scim_filter_parse(scim_rtype_user(), buf_str(&b), &e);
	assert_non_null(f);
	scim_filter_free(f);
	buf_reset(&b);
	for (i = 0; i < 40; i++)
		buf_addstr(&b, "not (");
	buf_addstr(&b, "title pr");
	for (i = 0; i < 40; i++)
		buf_addch(&b, ')');
	check_error(scim_rtype_user(), buf_str(&b),
	            "nested more than 32 levels deep");

	/* 256 comparisons parse; 257 do not */
	buf_reset(&b);
	for (i = 0; i < 256; i++)
		buf_addstr(&b, i ? " or title pr" : "title pr");
	scim_err_init(&e);
	f = scim_filter_parse(scim_rtype_user(), buf_str(&b), &e);
	assert_non_null(f);
	scim_filter_free(f);
	buf_addstr(&b, " and title pr");
	check_error(scim_rtype_user(), buf_str(&b),
	            "more than 256 comparisons in one filter");
	buf_free(&b);
}

static void
test_parse_path(void **state)
{
	const struct scim_rtype *u = scim_rtype_user(), *g = scim_rtype_group();
	struct scim_attrpath p;
	struct scim_filter *vf;
	const struct scim_attr *sub;
	struct scim_err e;
	json_t *el;

	scim_err_init(&e);
	assert_int_equal(
	    scim_filter_parse_path(g, "members", &p, &vf, &sub, &e), 0);
	assert_string_equal(p.attr->name, "members");
	assert_null(p.sub);
	assert_null(vf);
	assert_null(sub);

	assert_int_equal(
	    scim_filter_parse_path(u, "name.givenName", &p, &vf, &sub, &e), 0);
	assert_string_equal(p.attr->name, "name");
	assert_string_equal(p.sub->name, "givenName");
	assert_null(vf);

	assert_int_equal(
	    scim_filter_parse_path(u, "EMAILS[type eq \"work\"].VALUE", &p, &vf,
	                           &sub, &e),
	    0);
	assert_string_equal(p.attr->name, "emails");
	assert_null(p.sub);
	assert_non_null(vf);
	assert_string_equal(sub->name, "value");
	assert_int_equal(vf->op, SCIM_F_EQ);
	assert_string_equal(vf->path.sub->name, "type");
	el = json_pack("{s:s,s:s}", "type", "Work", "value", "a@b.c");
	assert_true(scim_filter_match_elem(vf, el));
	json_object_set_new(el, "type", json_string("home"));
	assert_false(scim_filter_match_elem(vf, el));
	json_decref(el);
	scim_filter_free(vf);

	assert_int_equal(scim_filter_parse_path(g, "members[value eq \"abc\"]",
	                                        &p, &vf, &sub, &e),
	                 0);
	assert_string_equal(p.attr->name, "members");
	assert_non_null(vf);
	assert_null(sub);
	el = json_pack("{s:s}", "value", "abc");
	assert_true(scim_filter_match_elem(vf, el));
	json_decref(el);
	scim_filter_free(vf);

	assert_int_equal(
	    scim_filter_parse_path(u, ENT ":manager.value", &p, &vf, &sub, &e),
	    0);
	assert_true(p.ext);
	assert_string_equal(p.schema->id, ENT);
	assert_string_equal(p.attr->name, "manager");
	assert_string_equal(p.sub->name, "value");

	assert_int_equal(scim_filter_parse_path(u, ENT, &p, &vf, &sub, &e), 0);
	assert_true(p.ext);
	assert_string_equal(p.schema->id, ENT);
	assert_null(p.attr);

	assert_int_equal(
	    scim_filter_parse_path(
	        u, "urn:ietf:params:scim:schemas:core:2.0:User:userName", &p,
	        &vf, &sub, &e),
	    0);
	assert_string_equal(p.attr->name, "userName");
	assert_false(p.ext);
	assert_false(scim_err_isset(&e));
}

static void
check_path_error(const struct scim_rtype *rt, const char *text,
                 const char *etype, const char *frag)
{
	struct scim_attrpath p;
	struct scim_filter *vf = (void *)1;
	const struct scim_attr *sub = (void *)1;
	struct scim_err e;

	scim_err_init(&e);
	if (scim_filter_parse_path(rt, text, &p, &vf, &sub, &e) != -1)
		fail_msg("path '%s' parsed", text);
	assert_null(vf);
	assert_null(sub);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.scim_type, etype);
	if (strstr(e.detail, frag) == NULL)
		fail_msg("path '%s': detail '%s' lacks '%s'", text, e.detail,
		         frag);
}

static void
test_parse_path_errors(void **state)
{
	const struct scim_rtype *u = scim_rtype_user();
	const char *ip = SCIM_ET_INVALID_PATH, *ifl = SCIM_ET_INVALID_FILTER;

	check_path_error(u, "", ip,
	                 "invalid path at position 1: expected an "
	                 "attribute path, found end of input");
	check_path_error(u, "bogus", ip,
	                 "position 1: unknown attribute "
	                 "'bogus'");
	check_path_error(u, "name.bogus", ip, "unknown attribute");
	check_path_error(u, "userName eq \"x\"", ip,
	                 "position 10: expected '[' or the end of the path, "
	                 "found 'eq'");
	check_path_error(u, "userName[value eq \"x\"]", ip,
	                 "neither complex nor multi-valued");
	check_path_error(u, "name.givenName[value eq \"x\"]", ip,
	                 "cannot follow the sub-attribute");
	check_path_error(
	    u, "emails[type eq \"work\"].bogus", ip,
	    "position 24: unknown sub-attribute 'bogus' of emails");
	check_path_error(u, "emails[type eq \"work\"] .value", ip,
	                 "expected '.' and a sub-attribute");
	check_path_error(u, "emails[type eq \"work\"]x", ip,
	                 "expected '.' and a sub-attribute");
	check_path_error(u, "emails[type eq \"work\"].value extra", ip,
	                 "expected the end of the path, found 'extra'");
	check_path_error(u, "emails[type eq \"work\"].value.x", ip,
	                 "unknown sub-attribute");
	check_path_error(u, "emails[type eq \"work\"", ifl,
	                 "invalid filter in path at position 22: '[' at "
	                 "position 7 is never closed");
	check_path_error(u, "emails[type eq]", ifl, "expected a value");
	check_path_error(u, "emails[bogus eq \"x\"]", ifl,
	                 "unknown attribute 'bogus'");
	check_path_error(u, "emails[type[value eq \"x\"]]", ifl,
	                 "cannot be nested");
}

/* Evaluator against one document (RFC 7643 §8.2-style full User). */
static const char bjensen_doc[] =
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\",\"" ENT "\"],"
    "\"id\":\"2819c223\",\"externalId\":\"bjensen\",\"userName\":\"bjensen\","
    "\"name\":{\"familyName\":\"Jensen\",\"givenName\":\"Barbara\"},"
    "\"title\":\"\",\"userType\":\"Employee\",\"active\":true,"
    "\"emails\":[{\"value\":\"bjensen@example.com\",\"type\":\"work\","
    "\"primary\":true},{\"value\":\"babs@jensen.org\",\"type\":\"home\"}],"
    "\"" ENT "\":{\"employeeNumber\":\"701984\",\"manager\":{\"value\":"
    "\"26118915\"}},"
    "\"meta\":{\"resourceType\":\"User\",\"created\":"
    "\"2010-01-23T04:56:22Z\",\"lastModified\":\"2011-05-13T04:42:34Z\"},"
    "\"groups\":[{\"value\":\"g1\",\"display\":\"Tour Guides\"}]}";

struct match_case {
	const char *text;
	bool want;
};

static void
check_match(const struct scim_rtype *rt, const char *docs,
            const struct match_case *c, size_t n)
{
	struct scim_err e;
	struct scim_filter *f;
	json_error_t je;
	json_t *doc;
	size_t i;

	doc = json_loads(docs, 0, &je);
	if (doc == NULL)
		fail_msg("bad test doc: %s", je.text);
	for (i = 0; i < n; i++) {
		scim_err_init(&e);
		f = scim_filter_parse(rt, c[i].text, &e);
		if (f == NULL)
			fail_msg("'%s': %s", c[i].text, e.detail);
		if (scim_filter_match(f, doc) != c[i].want)
			fail_msg("'%s' should be %s", c[i].text,
			         c[i].want ? "true" : "false");
		scim_filter_free(f);
	}
	json_decref(doc);
}

static void
test_match_user(void **state)
{
	static const struct match_case c[] = {
	    {"userName eq \"BJENSEN\"", true},
	    {"userName eq \"bjensen2\"", false},
	    {"id eq \"2819c223\"", true},
	    {"id eq \"2819C223\"", false}, /* caseExact */
	    {"externalId eq \"BJENSEN\"", false},
	    {"name.familyName co \"ens\"", true},
	    {"name.familyName sw \"JEN\"", true},
	    {"name.familyName ew \"SEN\"", true},
	    {"name.familyName co \"xyz\"", false},
	    {"name.familyName gt \"j\"", true},
	    {"name.familyName lt \"J\"", false},
	    {"title pr", false}, /* empty string */
	    {"nickName pr", false},
	    {"userType pr", true},
	    {"emails pr", true},
	    {"phoneNumbers pr", false},
	    {"emails co \"example.com\"", true},
	    {"emails.value ew \".ORG\"", true},
	    /* a value filter needs one element to match all of it */
	    {"emails[type eq \"work\" and value co \"jensen.org\"]", false},
	    {"emails.type eq \"work\" and emails.value co \"jensen.org\"",
	     true},
	    {"emails[type eq \"home\" and value co \"jensen.org\"]", true},
	    {"emails[not (type eq \"work\")]", true},
	    {"emails[primary eq true and value sw \"bjensen\"]", true},
	    {"emails[primary eq true and value sw \"babs\"]", false},
	    {"emails[type eq \"work\"].value eq \"BJENSEN@example.com\"", true},
	    {"emails[type eq \"work\"].value eq \"babs@jensen.org\"", false},
	    {"emails[type eq \"home\"].value co \"jensen.org\"", true},
	    {"emails ne \"babs@jensen.org\"", false},
	    {"meta.lastModified gt \"2011-05-13T04:42:33.999Z\"", true},
	    {"meta.lastModified gt \"2011-05-13T04:42:34Z\"", false},
	    {"meta.lastModified ge \"2011-05-13T04:42:34Z\"", true},
	    {"meta.lastModified eq \"2011-05-13T06:42:34+02:00\"", true},
	    {"meta.lastModified eq \"2011-05-13T04:42:34.000Z\"", true},
	    {"meta.lastModified lt \"2011-05-13T04:42:34.001Z\"", true},
	    {"meta.lastModified le \"2011-05-12T23:42:34-05:00\"", true},
	    {"meta.lastModified lt \"2011-05-12T23:42:34-05:00\"", false},
	    {"meta.created sw \"2010-01\"", true},
	    {"meta.resourceType eq \"User\"", true},
	    {"meta.resourceType eq \"user\"", false},
	    {"meta pr", true},
	    {"active eq true", true},
	    {"active eq false", false},
	    {"active ne false", true},
	    {"userType ne \"Employee\"", false},
	    {"nickName ne \"x\"", true}, /* absent: ne matches */
	    {"title eq null", true},
	    {"nickName eq null", true},
	    {"userName eq null", false},
	    {"userName ne null", true},
	    {ENT ":employeeNumber eq \"701984\"", true},
	    {ENT ":employeeNumber eq 701984", true},
	    {ENT ":manager.value eq \"26118915\"", true},
	    {ENT " pr", true},
	    {ELIG " pr", false},
	    {"not (userName eq \"bjensen\")", false},
	    /* and binds tighter: true or (false and false) */
	    {"userName eq \"bjensen\" or userName eq \"x\" and active eq false",
	     true},
	    {"(userName eq \"bjensen\" or userName eq \"x\") and active eq "
	     "false",
	     false},
	    {"groups.display eq \"tour guides\"", true},
	    {"groups eq \"g1\"", true},
	    {"schemas eq \"" ENT "\"", true},
	    {"userType eq \"Employee\" and (emails co \"example.com\" or "
	     "emails.value co \"example.org\")",
	     true},
	    {"userType ne \"Employee\" and not (emails co \"example.com\" or "
	     "emails.value co \"example.org\")",
	     false},
	    {"name[givenName eq \"barbara\" and familyName eq \"jensen\"]",
	     true},
	    {"name[givenName eq \"barbara\" and familyName eq \"smith\"]",
	     false},
	};

	check_match(scim_rtype_user(), bjensen_doc, c, NELEM(c));
}

static void
test_match_types(void **state)
{
	static const char doc[] =
	    "{\"count\":10,\"weight\":2.5,\"flag\":true,\"blob\":\"AAEC\","
	    "\"when\":\"2024-02-29T23:30:00-01:00\",\"tags\":[\"Red\",\"blue\"]"
	    ","
	    "\"code\":\"AbC\",\"parts\":[{\"label\":\"bolt\",\"qty\":3},"
	    "{\"label\":\"nut\",\"qty\":1}]}";
	static const struct match_case c[] = {
	    {"count gt 9", true},
	    {"count eq 10.0", true},
	    {"count eq \"10\"", true},
	    {"count le 9.5", false},
	    {"count ge 10", true},
	    {"count ne 10", false},
	    {"weight lt 3", true},
	    {"weight eq \"2.5\"", true},
	    {"weight gt 2.5", false},
	    {"flag eq true", true},
	    {"flag ne true", false},
	    {"blob eq \"aaec\"", true},
	    {"when eq \"2024-03-01T00:30:00Z\"", true},
	    {"when gt \"2024-03-01T00:29:59.999Z\"", true},
	    {"when sw \"2024-02-29\"", true},
	    {"tags eq \"red\"", true},
	    {"tags eq \"green\"", false},
	    {"tags[value sw \"BL\"]", true},
	    {"tags pr", true},
	    {"code eq \"abc\"", false}, /* caseExact */
	    {"code eq \"AbC\"", true},
	    {"code co \"bC\"", true},
	    {"code co \"bc\"", false},
	    {"code ew \"bC\"", true},
	    {"code ew \"xAbC\"", false},
	    {"code sw \"\"", true},
	    {"code gt \"AbB\"", true},
	    {"code gt \"abb\"", false}, /* 'A' < 'a' byte-wise */
	    {"parts[label eq \"bolt\" and qty gt 2]", true},
	    {"parts[label eq \"nut\" and qty gt 2]", false},
	    {"parts.qty ge 3", true},
	    {"parts pr", true},
	};

	check_match(&widget_rt, doc, c, NELEM(c));
}

static void
test_match_elem(void **state)
{
	struct scim_err e;
	struct scim_filter *f;
	json_t *el;

	/* the inner filter of a value path, applied to single elements */
	scim_err_init(&e);
	f = scim_filter_parse(scim_rtype_user(),
	                      "emails[type eq \"work\" and not (value ew "
	                      "\".org\")]",
	                      &e);
	assert_non_null(f);
	el = json_pack("{s:s,s:s}", "type", "work", "value", "a@b.com");
	assert_true(scim_filter_match_elem(f->left, el));
	assert_false(scim_filter_match_elem(f, el)); /* not a doc */
	json_object_set_new(el, "value", json_string("a@b.org"));
	assert_false(scim_filter_match_elem(f->left, el));
	json_decref(el);
	scim_filter_free(f);

	f = scim_filter_parse(&widget_rt, "tags[value eq \"RED\"]", &e);
	assert_non_null(f);
	el = json_string("red");
	assert_true(scim_filter_match_elem(f->left, el));
	json_decref(el);
	el = json_string("blue");
	assert_false(scim_filter_match_elem(f->left, el));
	json_decref(el);
	scim_filter_free(f);
}

/* SQL: an in-memory store with the resources indexes as of migration 6. */
static const char ddl[] =
    "CREATE TABLE tenants (id INTEGER PRIMARY KEY, name TEXT NOT NULL "
    "UNIQUE, rate_rps INTEGER NOT NULL DEFAULT 0, rate_burst INTEGER NOT "
    "NULL DEFAULT 0, created TEXT NOT NULL);"
    "CREATE TABLE resources (rid INTEGER PRIMARY KEY, tenant_id INTEGER NOT "
    "NULL REFERENCES tenants(id), type INTEGER NOT NULL, id TEXT NOT NULL, "
    "name TEXT NOT NULL, external_id TEXT, active INTEGER NOT NULL DEFAULT "
    "1, doc TEXT NOT NULL, version INTEGER NOT NULL, created TEXT NOT NULL, "
    "modified TEXT NOT NULL, deleted_at TEXT);"
    "CREATE UNIQUE INDEX resources_id ON resources(tenant_id, id);"
    "CREATE UNIQUE INDEX resources_username ON resources(tenant_id, name "
    "COLLATE NOCASE) WHERE type = 1 AND deleted_at IS NULL;"
    "CREATE INDEX resources_name ON resources(tenant_id, name COLLATE "
    "NOCASE) WHERE type = 2 AND deleted_at IS NULL;"
    "CREATE INDEX feed_people_key ON resources(tenant_id, type, external_id, "
    "rid, version, deleted_at) WHERE deleted_at IS NULL;"
    "CREATE TABLE members (group_rid INTEGER NOT NULL REFERENCES "
    "resources(rid), member_rid INTEGER NOT NULL REFERENCES resources(rid), "
    "PRIMARY KEY (group_rid, member_rid)) WITHOUT ROWID;"
    "CREATE INDEX members_member ON members(member_rid);"
    "INSERT INTO tenants VALUES (1, 'acme', 0, 0, 'x'), (2, 'other', 0, 0, "
    "'x'), (3, 'widgets', 0, 0, 'x');";

struct row {
	int tenant;
	int type;
	const char *id;
	const char *name;
	const char *ext;
	int active;
	const char *created;
	const char *modified;
	const char *deleted;
	const char *doc;
};

#define USER_URN "\"urn:ietf:params:scim:schemas:core:2.0:User\""

/* In id order within each tenant and type, like the queries' ORDER BY. */
static const struct row rows[] = {
    {1, 1, "u1", "bjensen", "ext-1", 1, "2010-01-23T04:56:22.000Z",
     "2011-05-13T04:42:34.000Z", NULL,
     "{\"schemas\":[" USER_URN ",\"" ENT "\"],\"userName\":\"bjensen\","
     "\"name\":{\"familyName\":\"Jensen\",\"givenName\":\"Barbara\"},"
     "\"title\":\"Tour Guide\",\"userType\":\"Employee\",\"active\":true,"
     "\"emails\":[{\"value\":\"bjensen@example.com\",\"type\":\"work\","
     "\"primary\":true},{\"value\":\"babs@jensen.org\",\"type\":\"home\"}],"
     "\"" ENT "\":{\"employeeNumber\":\"701984\",\"manager\":{\"value\":"
     "\"u2\"}}}"},
    {1, 1, "u2", "JSmith", NULL, 0, "2012-03-01T10:00:00.000Z",
     "2013-01-01T00:00:00.000Z", NULL,
     "{\"schemas\":[" USER_URN ",\"" ELIG "\"],\"userName\":\"JSmith\","
     "\"name\":{\"familyName\":\"Smith\",\"givenName\":\"John\"},"
     "\"title\":\"\",\"userType\":\"Intern\",\"active\":false,"
     "\"emails\":[{\"value\":\"aa.jsmith@example.org\",\"type\":\"home\"},"
     "{\"value\":\"zz@example.net\",\"type\":\"work\",\"primary\":true},"
     "{\"value\":\"nobody@example.io\"}],"
     "\"" ELIG "\":{\"employmentStatus\":\"terminated\",\"hireDate\":"
     "\"2019-04-01\"}}"},
    {1, 1, "u3", "alice_100%", "EXT-1", 1, "2011-01-01T00:00:00.000Z",
     "2011-05-13T04:42:35.000Z", NULL,
     "{\"schemas\":[" USER_URN "],\"userName\":\"alice_100%\","
     "\"nickName\":\"Al\",\"userType\":\"Employee\",\"active\":true}"},
    {1, 1, "u4", "ghost", NULL, 1, "2010-01-01T00:00:00.000Z",
     "2010-01-01T00:00:00.000Z", "2020-01-01T00:00:00.000Z",
     "{\"userName\":\"ghost\",\"userType\":\"Employee\",\"active\":true}"},
    {2, 1, "u5", "bjensen", "ext-1", 1, "2010-01-01T00:00:00.000Z",
     "2010-01-01T00:00:00.000Z", NULL,
     "{\"userName\":\"bjensen\",\"userType\":\"Employee\",\"active\":true}"},
    {1, 2, "g1", "Tour Guides", NULL, 1, "2010-01-01T00:00:00.000Z",
     "2010-01-01T00:00:00.000Z", NULL, "{\"displayName\":\"Tour Guides\"}"},
    {1, 2, "g2", "Admins", NULL, 1, "2010-01-01T00:00:00.000Z",
     "2010-01-01T00:00:00.000Z", NULL, "{\"displayName\":\"Admins\"}"},
    {1, 2, "g3", "Empty", NULL, 1, "2010-01-01T00:00:00.000Z",
     "2010-01-01T00:00:00.000Z", NULL, "{\"displayName\":\"Empty\"}"},
    {3, 1, "w1", "w1", NULL, 1, "2010-01-01T00:00:00.000Z",
     "2010-01-01T00:00:00.000Z", NULL,
     "{\"count\":10,\"weight\":2.5,\"flag\":true,\"blob\":\"AAEC\","
     "\"when\":\"2024-02-29T23:30:00-01:00\",\"tags\":[\"Red\",\"blue\"],"
     "\"code\":\"AbC\",\"parts\":[{\"label\":\"bolt\",\"qty\":3},"
     "{\"label\":\"nut\",\"qty\":1}]}"},
    {3, 1, "w2", "w2", NULL, 1, "2010-01-01T00:00:00.000Z",
     "2010-01-01T00:00:00.000Z", NULL,
     "{\"count\":-3,\"weight\":10,\"flag\":false,\"tags\":[\"green\"],"
     "\"code\":\"abc\",\"when\":\"2024-03-01T00:30:00.001Z\","
     "\"parts\":[{\"label\":\"bolt\",\"qty\":1},{\"label\":\"nut\","
     "\"qty\":5}]}"},
    {3, 1, "w3", "w3", NULL, 1, "2010-01-01T00:00:00.000Z",
     "2010-01-01T00:00:00.000Z", NULL, "{}"},
};

/* group id, member id (tenant 1) */
static const char *const mems[][2] = {
    {"g1", "u1"},
    {"g2", "u2"},
    {"g2", "g1"},
};

struct fixture {
	sqlite3 *db;
	json_t *docs[NELEM(rows)]; /* full resources for the evaluator */
};

static const struct row *
row_by_id(const char *id)
{
	size_t i;

	for (i = 0; i < NELEM(rows); i++)
		if (rows[i].tenant == 1 && strcmp(rows[i].id, id) == 0)
			return &rows[i];
	return NULL;
}

/* The doc plus id, externalId, meta and groups/members, as served. */
static json_t *
full_resource(const struct row *r)
{
	const struct row *o;
	json_t *doc, *list;
	size_t i;
	int me = r->type == 1 ? 1 : 0; /* index of this row's id in mems */

	doc = json_loads(r->doc, 0, NULL);
	assert_non_null(doc);
	json_object_set_new(doc, "id", json_string(r->id));
	if (r->ext != NULL)
		json_object_set_new(doc, "externalId", json_string(r->ext));
	json_object_set_new(doc, "meta",
	                    json_pack("{s:s,s:s,s:s}", "resourceType",
	                              r->type == 1 ? "User" : "Group",
	                              "created", r->created, "lastModified",
	                              r->modified));
	list = json_array();
	for (i = 0; r->tenant == 1 && i < NELEM(mems); i++) {
		if (strcmp(mems[i][me], r->id) != 0)
			continue;
		o = row_by_id(mems[i][1 - me]);
		json_array_append_new(
		    list, json_pack("{s:s,s:s,s:s}", "value", o->id, "display",
		                    o->name, "type",
		                    me == 0 ? (o->type == 1 ? "User" : "Group")
		                            : "direct"));
	}
	if (json_array_size(list) > 0)
		json_object_set_new(doc, me ? "groups" : "members", list);
	else
		json_decref(list);
	return doc;
}

static int
setup_db(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	sqlite3_stmt *st;
	size_t i;

	assert_int_equal(sqlite3_open(":memory:", &fx->db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(fx->db, ddl, NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(fx->db,
	                       "INSERT INTO resources (tenant_id, type, id, "
	                       "name, external_id, active, doc, version, "
	                       "created, modified, deleted_at) VALUES "
	                       "(?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
	                       -1, &st, NULL),
	    SQLITE_OK);
	for (i = 0; i < NELEM(rows); i++) {
		sqlite3_bind_int(st, 1, rows[i].tenant);
		sqlite3_bind_int(st, 2, rows[i].type);
		sqlite3_bind_text(st, 3, rows[i].id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, rows[i].name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, rows[i].ext, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 6, rows[i].active);
		sqlite3_bind_text(st, 7, rows[i].doc, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, rows[i].created, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 9, rows[i].modified, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 10, rows[i].deleted, -1, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
		fx->docs[i] = full_resource(&rows[i]);
	}
	sqlite3_finalize(st);
	assert_int_equal(
	    sqlite3_prepare_v2(fx->db,
	                       "INSERT INTO members SELECT g.rid, m.rid FROM "
	                       "resources g, resources m WHERE g.tenant_id = 1 "
	                       "AND m.tenant_id = 1 AND g.id = ? AND m.id = ?",
	                       -1, &st, NULL),
	    SQLITE_OK);
	for (i = 0; i < NELEM(mems); i++) {
		sqlite3_bind_text(st, 1, mems[i][0], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, mems[i][1], -1, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		assert_int_equal(sqlite3_changes(fx->db), 1);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	*state = fx;
	return 0;
}

static int
teardown_db(void **state)
{
	struct fixture *fx = *state;
	size_t i;

	for (i = 0; i < NELEM(rows); i++)
		json_decref(fx->docs[i]);
	sqlite3_close(fx->db);
	free(fx);
	return 0;
}

static void
bind_params(sqlite3_stmt *st, const json_t *params)
{
	size_t i;
	json_t *v;

	assert_int_equal(sqlite3_bind_parameter_count(st),
	                 (int)json_array_size(params));
	json_array_foreach(params, i, v)
	{
		if (json_is_string(v))
			sqlite3_bind_text(st, (int)i + 1, json_string_value(v),
			                  -1, SQLITE_TRANSIENT);
		else if (json_is_integer(v))
			sqlite3_bind_int64(st, (int)i + 1,
			                   json_integer_value(v));
		else if (json_is_real(v))
			sqlite3_bind_double(st, (int)i + 1, json_real_value(v));
		else
			fail_msg("parameter %zu has an unbindable type", i);
	}
}

static struct scim_filter *
must_parse(const struct scim_rtype *rt, const char *text)
{
	struct scim_err e;
	struct scim_filter *f;

	scim_err_init(&e);
	f = scim_filter_parse(rt, text, &e);
	if (f == NULL)
		fail_msg("'%s': %s", text, e.detail);
	return f;
}

/*
 * The ids the SQL selects, comma-separated, for a filter (or NULL) and an
 * optional sortBy. prefix is "" or "EXPLAIN QUERY PLAN ", which returns
 * the plan's detail lines instead (for the query in creation order).
 */
static char *
run_sql(sqlite3 *db, int tenant, enum store_rtype type,
        const struct scim_filter *f, const struct scim_attrpath *sort,
        bool desc, const char *prefix, bool negate)
{
	struct buf sql, out;
	sqlite3_stmt *st;
	json_t *params = json_array();
	char *cause = NULL;
	int col = *prefix != '\0' ? 3 : 0;

	buf_init(&sql, 0);
	buf_addf(&sql,
	         "%sSELECT id FROM resources r WHERE r.tenant_id = %d AND "
	         "r.type = %d AND r.deleted_at IS NULL AND %s(",
	         prefix, tenant, (int)type, negate ? "NOT " : "");
	if (sqlite_filter_compile(f, type, &sql, params, &cause) != 0)
		fail_msg("compile failed: %s", cause);
	buf_addstr(&sql, ") ORDER BY ");
	if (sort != NULL) {
		if (sqlite_filter_sort_expr(sort, type, &sql, &cause) != 0)
			fail_msg("sort failed: %s", cause);
		buf_addstr(&sql, desc ? " DESC, " : ", ");
	}
	/*
	 * Plans are taken in creation order (the store's default): without
	 * ANALYZE statistics, ORDER BY id makes SQLite prefer walking
	 * resources_id to avoid a sort over using the name index.
	 */
	buf_addstr(&sql, col == 3 ? "r.rid" : "id");
	if (sqlite3_prepare_v2(db, buf_str(&sql), -1, &st, NULL) != SQLITE_OK)
		fail_msg("prepare: %s\n%s", sqlite3_errmsg(db), buf_str(&sql));
	bind_params(st, params);
	buf_init(&out, 0);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (out.len > 0)
			buf_addch(&out, ',');
		buf_addstr(&out, (const char *)sqlite3_column_text(st, col));
	}
	sqlite3_finalize(st);
	json_decref(params);
	buf_free(&sql);
	return buf_detach(&out);
}

/* The ids the evaluator selects from the same rows, in the same order. */
static char *
run_eval(const struct fixture *fx, int tenant, int type,
         const struct scim_filter *f)
{
	struct buf out;
	size_t i;

	buf_init(&out, 0);
	for (i = 0; i < NELEM(rows); i++) {
		if (rows[i].tenant != tenant || rows[i].type != type ||
		    rows[i].deleted != NULL ||
		    !scim_filter_match(f, fx->docs[i]))
			continue;
		if (out.len > 0)
			buf_addch(&out, ',');
		buf_addstr(&out, rows[i].id);
	}
	return buf_detach(&out);
}

struct sql_case {
	const char *text;
	const char *want; /* matching ids */
};

/* The ids in all (comma-separated) that are not in want, in order. */
static char *
complement(const char *all, const char *want)
{
	struct buf out, w, id;
	const char *s = all, *end;
	size_t n;

	buf_init(&out, 0);
	buf_init(&w, 0);
	buf_init(&id, 0);
	buf_addf(&w, ",%s,", want);
	while (*s != '\0') {
		end = strchr(s, ',');
		n = end != NULL ? (size_t)(end - s) : strlen(s);
		buf_reset(&id);
		buf_addch(&id, ',');
		buf_add(&id, s, n);
		buf_addch(&id, ',');
		if (strstr(buf_str(&w), buf_str(&id)) == NULL) {
			if (out.len > 0)
				buf_addch(&out, ',');
			buf_add(&out, s, n);
		}
		s += n + (end != NULL);
	}
	buf_free(&w);
	buf_free(&id);
	return buf_detach(&out);
}

/*
 * Both the SQL and the evaluator must select exactly `want`, and NOT of
 * the SQL exactly the other rows (the expression is never NULL).
 */
static void
check_sql_cases(const struct fixture *fx, const struct scim_rtype *rt,
                int tenant, enum store_rtype type, const struct sql_case *c,
                size_t n)
{
	struct scim_filter *f;
	char *got, *all, *rest;
	size_t i;

	all = run_sql(fx->db, tenant, type, NULL, NULL, false, "", false);
	for (i = 0; i < n; i++) {
		f = must_parse(rt, c[i].text);
		got = run_sql(fx->db, tenant, type, f, NULL, false, "", false);
		if (strcmp(got, c[i].want) != 0)
			fail_msg("SQL for '%s': got '%s', want '%s'", c[i].text,
			         got, c[i].want);
		free(got);
		got = run_sql(fx->db, tenant, type, f, NULL, false, "", true);
		rest = complement(all, c[i].want);
		if (strcmp(got, rest) != 0)
			fail_msg("SQL for NOT (%s): got '%s', want '%s'",
			         c[i].text, got, rest);
		free(rest);
		free(got);
		got = run_eval(fx, tenant, (int)type, f);
		if (strcmp(got, c[i].want) != 0)
			fail_msg("evaluator for '%s': got '%s', want '%s'",
			         c[i].text, got, c[i].want);
		free(got);
		scim_filter_free(f);
	}
	free(all);
}

static void
test_sql_users(void **state)
{
	static const struct sql_case c[] = {
	    {"userName eq \"BJENSEN\"", "u1"},
	    {"userName ne \"bjensen\"", "u2,u3"},
	    {"userName sw \"j\"", "u2"},
	    {"userName ew \"SEN\"", "u1"},
	    {"userName co \"%\"", "u3"}, /* LIKE wildcards are escaped */
	    {"userName co \"_\"", "u3"},
	    {"userName co \"e_1\"", "u3"},
	    {"userName gt \"b\"", "u1,u2"},
	    {"userName le \"BJENSEN\"", "u1,u3"},
	    {"userName eq \"x' OR 1=1 --\"", ""},
	    {"id eq \"u2\"", "u2"},
	    {"id co \"U\"", ""}, /* caseExact: instr() */
	    {"id ew \"2\"", "u2"},
	    {"id sw \"u\"", "u1,u2,u3"},
	    {"externalId eq \"ext-1\"", "u1"},
	    {"externalId eq \"EXT-1\"", "u3"},
	    {"externalId pr", "u1,u3"},
	    {"not (externalId pr)", "u2"},
	    {"externalId ne \"ext-1\"", "u2,u3"}, /* absent matches ne */
	    {"externalId eq null", "u2"},
	    {"externalId ne null", "u1,u3"},
	    {"active eq false", "u2"},
	    {"active eq \"True\"", "u1,u3"},
	    {"active ne true", "u2"},
	    {"active pr", "u1,u2,u3"},
	    {"title pr", "u1"},
	    {"title eq null", "u2,u3"},
	    {"title ne null", "u1"},
	    {"title eq \"\"", "u2"},
	    {"name.familyName co \"ENS\"", "u1"},
	    {"name.givenName sw \"j\" or name.givenName sw \"b\"", "u1,u2"},
	    {"name pr", "u1,u2"},
	    {"name[givenName eq \"john\"]", "u2"},
	    {"emails co \"example\"", "u1,u2"},
	    {"emails.value ew \".ORG\"", "u1,u2"},
	    {"emails[type eq \"work\" and value co \"jensen.org\"]", ""},
	    {"emails.type eq \"work\" and emails.value co \"jensen.org\"",
	     "u1"},
	    {"emails[type eq \"home\"]", "u1,u2"},
	    {"emails[type eq \"work\" and primary eq true and value ew "
	     "\".net\"]",
	     "u2"},
	    {"emails pr", "u1,u2"},
	    {"not (emails pr)", "u3"},
	    {"emails.primary eq true", "u1,u2"},
	    {"emails[not (type eq \"work\")]", "u1,u2"},
	    {"emails ne \"bjensen@example.com\"", "u2,u3"},
	    /* an element without the sub-attribute: ne and not match it */
	    {"emails[type ne \"home\" and value ew \".io\"]", "u2"},
	    {"emails[not (type pr)]", "u2"},
	    {"emails[not (type eq \"home\" or type eq \"work\")]", "u2"},
	    {"emails[type eq \"home\" or value ew \".io\"]", "u1,u2"},
	    {"emails[type eq \"work\" or (type eq \"home\" and value sw "
	     "\"aa.\")]",
	     "u1,u2"},
	    {"meta.lastModified gt \"2011-05-13T04:42:34Z\"", "u2,u3"},
	    {"meta.lastModified ge \"2011-05-13T04:42:34Z\"", "u1,u2,u3"},
	    {"meta.lastModified eq \"2011-05-13T06:42:34+02:00\"", "u1"},
	    {"meta.lastModified lt \"2011-05-13T04:42:34.001Z\"", "u1"},
	    {"meta.lastModified le \"2011-05-13T04:42:35Z\"", "u1,u3"},
	    {"meta.created sw \"2011\"", "u3"},
	    {"meta.resourceType eq \"User\"", "u1,u2,u3"},
	    {"meta.resourceType eq \"user\"", ""},
	    {"meta pr", "u1,u2,u3"},
	    {ENT ":employeeNumber eq \"701984\"", "u1"},
	    {ENT ":employeeNumber eq 701984", "u1"},
	    {ENT ":manager.value eq \"u2\"", "u1"},
	    {ENT ":manager pr", "u1"},
	    {ENT " pr", "u1"},
	    {"not (" ENT " pr)", "u2,u3"},
	    {ELIG ":employmentStatus eq \"TERMINATED\"", "u2"},
	    {ELIG ":hireDate gt \"2019-01-01\"", "u2"},
	    {"groups.display eq \"tour guides\"", "u1"},
	    {"groups eq \"g2\"", "u2"},
	    {"groups pr", "u1,u2"},
	    {"not (groups pr)", "u3"},
	    {"groups[display sw \"Ad\" and value eq \"g2\"]", "u2"},
	    {"groups[display sw \"Ad\" and value eq \"g1\"]", ""},
	    {"groups.type eq \"direct\"", "u1,u2"},
	    /* precedence: A or (B and C) */
	    {"userName eq \"JSmith\" or userName eq \"bjensen\" and active eq "
	     "true",
	     "u1,u2"},
	    {"(userName eq \"JSmith\" or userName eq \"bjensen\") and active "
	     "eq "
	     "true",
	     "u1"},
	    {"not (userName eq \"bjensen\" or userName eq \"JSmith\")", "u3"},
	    {"nickName ne \"Al\"", "u1,u2"},
	    {"nickName eq \"al\"", "u3"},
	    {"schemas eq \"" ENT "\"", "u1"},
	    {"userType eq \"Employee\" and not (emails co \"example.com\" or "
	     "emails.value co \"example.org\")",
	     "u3"},
	    {"userType ne \"Employee\" and not (emails co \"example.com\" or "
	     "emails.value co \"example.org\")",
	     ""},
	};

	check_sql_cases(*state, scim_rtype_user(), 1, STORE_USER, c, NELEM(c));
}

static void
test_sql_groups(void **state)
{
	static const struct sql_case c[] = {
	    {"displayName eq \"tour guides\"", "g1"},
	    {"displayName sw \"A\"", "g2"},
	    {"members eq \"u1\"", "g1"},
	    {"members.value eq \"u2\"", "g2"},
	    {"members[type eq \"Group\"]", "g2"},
	    {"members.type eq \"user\"", "g1,g2"},
	    {"members.display eq \"BJENSEN\"", "g1"},
	    {"members.display eq \"tour guides\"", "g2"},
	    {"members pr", "g1,g2"},
	    {"not (members pr)", "g3"},
	    {"members[value eq \"u1\" and type eq \"User\"]", "g1"},
	    {"members[value eq \"u2\" and display eq \"bjensen\"]", ""},
	    {"members ne \"u1\"", "g2,g3"},
	    {"meta.resourceType eq \"Group\"", "g1,g2,g3"},
	    {"id eq \"g3\" or members co \"2\"", "g2,g3"},
	    {"members co \"1\"", "g1,g2"},
	};

	check_sql_cases(*state, scim_rtype_group(), 1, STORE_GROUP, c,
	                NELEM(c));
}

static void
test_sql_types(void **state)
{
	static const struct sql_case c[] = {
	    {"count gt 9", "w1"},
	    {"count eq 10.0", "w1"},
	    {"count le -3", "w2"},
	    {"count lt 0 or count gt 100", "w2"},
	    {"count ne 10", "w2,w3"},
	    {"weight lt 3", "w1"},
	    {"weight eq \"2.5\"", "w1"},
	    {"weight ge 10", "w2"},
	    {"flag eq true", "w1"},
	    {"flag eq false", "w2"},
	    {"flag ne true", "w2,w3"},
	    {"flag pr", "w1,w2"},
	    {"tags eq \"red\"", "w1"},
	    {"tags[value sw \"GR\"]", "w2"},
	    {"tags pr", "w1,w2"},
	    {"tags co \"e\"", "w1,w2"},
	    {"code eq \"abc\"", "w2"},
	    {"code eq \"ABC\"", ""},
	    {"code co \"bC\"", "w1"},
	    {"code sw \"Ab\"", "w1"},
	    {"code ew \"bc\"", "w2"},
	    {"code ew \"AbC\"", "w1"},
	    {"code ew \"xAbC\"", ""},
	    {"code co \"\"", "w1,w2"},
	    {"code gt \"AbB\"", "w1,w2"},
	    {"code gt \"abb\"", "w2"},
	    {"when eq \"2024-03-01T00:30:00Z\"", "w1"},
	    {"when gt \"2024-03-01T00:30:00Z\"", "w2"},
	    {"when le \"2024-03-01T01:30:00.001+01:00\"", "w1,w2"},
	    {"when sw \"2024-02\"", "w1"},
	    {"parts[label eq \"bolt\" and qty gt 2]", "w1"},
	    {"parts[label eq \"nut\" and qty gt 2]", "w2"},
	    {"parts.qty ge 5", "w2"},
	    {"parts pr", "w1,w2"},
	    {"blob eq \"aaec\"", "w1"},
	    {"blob pr", "w1"},
	};

	check_sql_cases(*state, &widget_rt, 3, STORE_USER, c, NELEM(c));
}

/* A deterministic generator of filters from a small vocabulary. */
struct gen {
	uint32_t seed;
	struct buf *b;
	int depth;
};

static uint32_t
gen_rand(struct gen *g, uint32_t n)
{
	g->seed = g->seed * 1103515245u + 12345u;
	return (g->seed >> 16) % n;
}

static void
gen_filter(struct gen *g)
{
	static const char *const attrs[] = {"userName",
	                                    "title",
	                                    "nickName",
	                                    "externalId",
	                                    "id",
	                                    "active",
	                                    "name.familyName",
	                                    "emails",
	                                    "emails.type",
	                                    "emails.value",
	                                    "emails.primary",
	                                    "meta.lastModified",
	                                    "meta.created",
	                                    "meta.resourceType",
	                                    "groups",
	                                    "groups.display",
	                                    "userType",
	                                    ENT ":employeeNumber",
	                                    ENT ":manager.value",
	                                    ELIG ":hireDate",
	                                    "schemas"};
	static const char *const ops[] = {"eq", "ne", "co", "sw", "ew",
	                                  "gt", "ge", "lt", "le", "pr"};
	static const char *const vals[] = {"\"bjensen\"",
	                                   "\"J\"",
	                                   "\"work\"",
	                                   "\"\"",
	                                   "\".org\"",
	                                   "\"Employee\"",
	                                   "\"u2\"",
	                                   "\"g1\"",
	                                   "\"e\"",
	                                   "\"%\"",
	                                   "true",
	                                   "false",
	                                   "null",
	                                   "\"2011-05-13T04:42:34Z\"",
	                                   "701984",
	                                   "\"2019-04-01\"",
	                                   "\"Tour Guides\"",
	                                   "\"EXT-1\""};
	uint32_t k = gen_rand(g, g->depth > 3 ? 6 : 10);

	g->depth++;
	if (k < 6) {
		buf_addf(g->b, "%s %s", attrs[gen_rand(g, NELEM(attrs))],
		         ops[gen_rand(g, NELEM(ops))]);
		if (strcmp(g->b->data + g->b->len - 2, "pr") != 0)
			buf_addf(g->b, " %s", vals[gen_rand(g, NELEM(vals))]);
	} else if (k < 8) {
		buf_addstr(g->b, "(");
		gen_filter(g);
		buf_addstr(g->b, k == 6 ? " and " : " or ");
		gen_filter(g);
		buf_addstr(g->b, ")");
	} else if (k == 8) {
		buf_addstr(g->b, "not (");
		gen_filter(g);
		buf_addstr(g->b, ")");
	} else {
		buf_addf(g->b, "emails[type %s %s %s value %s %s]",
		         ops[gen_rand(g, 5)], vals[gen_rand(g, 9)],
		         gen_rand(g, 2) ? "and" : "or", ops[gen_rand(g, 9)],
		         vals[gen_rand(g, 9)]);
	}
	g->depth--;
}

/*
 * Random filters (many rejected as type errors): every one that parses
 * compiles to SQL that SQLite accepts, selects what the evaluator does,
 * and its negation selects the other rows.
 */
static void
test_sql_random(void **state)
{
	struct fixture *fx = *state;
	struct gen g = {20261204u, NULL, 0};
	struct scim_err e;
	struct scim_filter *f;
	struct buf b;
	char *sq, *ev, *all, *neg, *rest;
	int i, parsed = 0;

	all = run_sql(fx->db, 1, STORE_USER, NULL, NULL, false, "", false);
	buf_init(&b, 0);
	g.b = &b;
	for (i = 0; i < 3000; i++) {
		buf_reset(&b);
		gen_filter(&g);
		scim_err_init(&e);
		f = scim_filter_parse(scim_rtype_user(), buf_str(&b), &e);
		if (f == NULL) {
			assert_int_equal(e.status, 400);
			continue;
		}
		parsed++;
		sq = run_sql(fx->db, 1, STORE_USER, f, NULL, false, "", false);
		ev = run_eval(fx, 1, STORE_USER, f);
		neg = run_sql(fx->db, 1, STORE_USER, f, NULL, false, "", true);
		rest = complement(all, sq);
		if (strcmp(sq, ev) != 0 || strcmp(neg, rest) != 0)
			fail_msg("'%s': SQL '%s', evaluator '%s', NOT '%s'",
			         buf_str(&b), sq, ev, neg);
		free(sq);
		free(ev);
		free(neg);
		free(rest);
		scim_filter_free(f);
	}
	assert_true(parsed > 1000);
	buf_free(&b);
	free(all);
}

static struct scim_attrpath
must_resolve(const struct scim_rtype *rt, const char *path)
{
	struct scim_attrpath p;

	if (scim_attrpath_resolve(rt, path, strlen(path), &p) != 0)
		fail_msg("cannot resolve %s", path);
	return p;
}

struct sort_case {
	const char *path;
	bool desc;
	const char *want;
};

static void
check_sort(const struct fixture *fx, const struct scim_rtype *rt, int tenant,
           enum store_rtype type, const struct sort_case *c, size_t n)
{
	struct scim_attrpath p;
	char *got;
	size_t i;

	for (i = 0; i < n; i++) {
		p = must_resolve(rt, c[i].path);
		got = run_sql(fx->db, tenant, type, NULL, &p, c[i].desc, "",
		              false);
		if (strcmp(got, c[i].want) != 0)
			fail_msg("sortBy=%s%s: got '%s', want '%s'", c[i].path,
			         c[i].desc ? " descending" : "", got,
			         c[i].want);
		free(got);
	}
}

static void
test_sql_sort(void **state)
{
	static const struct sort_case u[] = {
	    {"userName", false, "u3,u1,u2"}, /* case-insensitive */
	    {"userName", true, "u2,u1,u3"},
	    /* absent values last ascending, first descending */
	    {"title", false, "u2,u1,u3"},
	    {"title", true, "u3,u1,u2"},
	    {"externalId", false, "u3,u1,u2"}, /* caseExact: 'E' < 'e' */
	    /* multi-valued: the primary value, not the first one */
	    {"emails", false, "u1,u2,u3"},
	    {"emails.value", true, "u3,u2,u1"},
	    {"emails.type", false, "u1,u2,u3"},
	    {"meta.lastModified", true, "u2,u3,u1"},
	    {"meta.created", false, "u1,u3,u2"},
	    {"meta.location", false, "u1,u2,u3"},
	    {"name.familyName", false, "u1,u2,u3"},
	    {"name.familyName", true, "u3,u2,u1"},
	    {"groups.display", false, "u2,u1,u3"},
	    {"active", false, "u2,u1,u3"},
	    {ENT ":employeeNumber", true, "u2,u3,u1"},
	};
	static const struct sort_case g[] = {
	    {"displayName", false, "g2,g3,g1"},
	    {"members.display", false, "g1,g2,g3"},
	    {"members", true, "g3,g1,g2"}, /* by min(value) */
	};
	static const struct sort_case w[] = {
	    {"count", false, "w2,w1,w3"},     {"weight", true, "w3,w2,w1"},
	    {"when", false, "w1,w2,w3"},      {"tags", false, "w2,w1,w3"},
	    {"parts.qty", false, "w2,w1,w3"}, /* no primary: first element */
	};
	struct fixture *fx = *state;
	struct scim_attrpath p;
	struct buf sql;
	char *cause = NULL;

	check_sort(fx, scim_rtype_user(), 1, STORE_USER, u, NELEM(u));
	check_sort(fx, scim_rtype_group(), 1, STORE_GROUP, g, NELEM(g));
	check_sort(fx, &widget_rt, 3, STORE_USER, w, NELEM(w));

	buf_init(&sql, 0);
	p = must_resolve(scim_rtype_user(), "name");
	assert_int_equal(sqlite_filter_sort_expr(&p, STORE_USER, &sql, &cause),
	                 -1);
	assert_non_null(strstr(cause, "sub-attribute of the complex attribute "
	                              "name"));
	free(cause);
	p = must_resolve(scim_rtype_user(), ENT);
	assert_int_equal(sqlite_filter_sort_expr(&p, STORE_USER, &sql, &cause),
	                 -1);
	assert_non_null(strstr(cause, "sortBy must name an attribute"));
	free(cause);
	p = must_resolve(&widget_rt, "parts");
	assert_int_equal(sqlite_filter_sort_expr(&p, STORE_USER, &sql, &cause),
	                 -1);
	free(cause);
	p = must_resolve(scim_rtype_group(), "members.$ref");
	assert_int_equal(sqlite_filter_sort_expr(&p, STORE_GROUP, &sql, &cause),
	                 -1);
	assert_non_null(strstr(cause, "members.$ref"));
	free(cause);
	buf_free(&sql);
}

static void
check_compile_error(const struct scim_rtype *rt, enum store_rtype type,
                    const char *text, const char *frag)
{
	struct scim_filter *f = must_parse(rt, text);
	json_t *params = json_array();
	char *cause = NULL;
	struct buf sql;

	buf_init(&sql, 0);
	assert_int_equal(sqlite_filter_compile(f, type, &sql, params, &cause),
	                 -1);
	assert_non_null(cause);
	if (strstr(cause, frag) == NULL)
		fail_msg("'%s': cause '%s' lacks '%s'", text, cause, frag);
	free(cause);
	buf_free(&sql);
	json_decref(params);
	scim_filter_free(f);
}

static void
test_sql_compile(void **state)
{
	struct scim_filter *f;
	json_t *params = json_array();
	char *cause = (void *)1;
	struct buf sql;

	/* values are bound, never in the text */
	f = must_parse(scim_rtype_user(),
	               "userName eq \"s3cr3t'--\" or name.givenName co "
	               "\"100%_x\" or " ENT ":employeeNumber ew \"q'q\"");
	buf_init(&sql, 0);
	assert_int_equal(
	    sqlite_filter_compile(f, STORE_USER, &sql, params, &cause), 0);
	assert_null(cause);
	assert_null(strstr(buf_str(&sql), "s3cr3t"));
	assert_null(strstr(buf_str(&sql), "100"));
	assert_null(strstr(buf_str(&sql), "q'q"));
	assert_int_equal(json_array_size(params), 3);
	assert_string_equal(json_string_value(json_array_get(params, 0)),
	                    "s3cr3t'--");
	assert_string_equal(json_string_value(json_array_get(params, 1)),
	                    "%100\\%\\_x%");
	assert_string_equal(json_string_value(json_array_get(params, 2)),
	                    "%q'q");
	assert_non_null(strstr(buf_str(&sql), "r.name = ? COLLATE NOCASE"));
	scim_filter_free(f);

	/* dateTimes are bound in the stored form */
	json_array_clear(params);
	buf_reset(&sql);
	f = must_parse(scim_rtype_user(),
	               "meta.lastModified gt \"2011-05-13T06:42:34+02:00\"");
	assert_int_equal(
	    sqlite_filter_compile(f, STORE_USER, &sql, params, &cause), 0);
	assert_string_equal(buf_str(&sql), "(r.modified > ?)");
	assert_string_equal(json_string_value(json_array_get(params, 0)),
	                    "2011-05-13T04:42:34.000Z");
	scim_filter_free(f);

	/* no filter: everything */
	buf_reset(&sql);
	assert_int_equal(
	    sqlite_filter_compile(NULL, STORE_USER, &sql, params, &cause), 0);
	assert_string_equal(buf_str(&sql), "1");
	buf_free(&sql);
	json_decref(params);

	check_compile_error(scim_rtype_user(), STORE_USER,
	                    "meta.location eq \"x\"",
	                    "cannot filter on meta.location");
	check_compile_error(scim_rtype_group(), STORE_GROUP,
	                    "members.$ref eq \"x\"",
	                    "cannot filter or sort on members.$ref");
	check_compile_error(scim_rtype_group(), STORE_GROUP,
	                    "members[$ref eq \"x\"]", "members.$ref");
	check_compile_error(scim_rtype_user(), STORE_USER, "groups.$ref pr",
	                    "groups.$ref");
}

static void
check_plan(const struct fixture *fx, const struct scim_rtype *rt,
           enum store_rtype type, const char *text, const char *index)
{
	struct scim_filter *f = must_parse(rt, text);
	char *plan = run_sql(fx->db, 1, type, f, NULL, false,
	                     "EXPLAIN QUERY PLAN ", false);

	if (strstr(plan, index) == NULL)
		fail_msg("'%s' does not use %s: %s", text, index, plan);
	free(plan);
	scim_filter_free(f);
}

static void
test_sql_plan(void **state)
{
	struct fixture *fx = *state;
	struct scim_filter *f;
	char *plan;

	f = must_parse(scim_rtype_user(), "userName eq \"bjensen\"");
	plan = run_sql(fx->db, 1, STORE_USER, f, NULL, false,
	               "EXPLAIN QUERY PLAN ", false);
	if (strstr(plan, "USING INDEX resources_username") == NULL)
		fail_msg("userName eq does not use an index: %s", plan);
	free(plan);
	scim_filter_free(f);
	check_plan(fx, scim_rtype_user(), STORE_USER, "USERNAME EQ \"x\"",
	           "USING INDEX resources_username");
	check_plan(fx, scim_rtype_user(), STORE_USER, "id eq \"u1\"",
	           "USING INDEX resources_id");
	check_plan(fx, scim_rtype_user(), STORE_USER, "externalId eq \"ext-1\"",
	           "INDEX feed_people_key");
	check_plan(fx, scim_rtype_group(), STORE_GROUP,
	           "displayName eq \"Admins\"", "USING INDEX resources_name");
}

int
main(void)
{
	const struct CMUnitTest parse[] = {
	    cmocka_unit_test(test_parse_operators),
	    cmocka_unit_test(test_parse_logic),
	    cmocka_unit_test(test_parse_valpath),
	    cmocka_unit_test(test_parse_names),
	    cmocka_unit_test(test_parse_values),
	    cmocka_unit_test(test_errors_syntax),
	    cmocka_unit_test(test_errors_semantic),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_parse_path),
	    cmocka_unit_test(test_parse_path_errors),
	    cmocka_unit_test(test_match_user),
	    cmocka_unit_test(test_match_types),
	    cmocka_unit_test(test_match_elem),
	};
	const struct CMUnitTest sql[] = {
	    cmocka_unit_test(test_sql_users),
	    cmocka_unit_test(test_sql_groups),
	    cmocka_unit_test(test_sql_types),
	    cmocka_unit_test(test_sql_random),
	    cmocka_unit_test(test_sql_sort),
	    cmocka_unit_test(test_sql_compile),
	    cmocka_unit_test(test_sql_plan),
	};
	int rc;

	rc = cmocka_run_group_tests_name("filter", parse, NULL, NULL);
	rc += cmocka_run_group_tests_name("sqlite_filter", sql, setup_db,
	                                  teardown_db);
	return rc;
}
