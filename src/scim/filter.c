/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * SCIM filter expressions (RFC 7644 §3.4.2.2, Figure 1) and PATCH paths
 * (§3.5.2): a hand-written recursive-descent parser that resolves every
 * attribute against the schema, and an evaluator over resource documents.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "scim/filter.h"
#include "util/buf.h"
#include "util/xmalloc.h"

/*
 * Bounds on what one filter may hold. They keep the recursion of the
 * parser, evaluator and SQL compiler shallow, and the compiled SQL well
 * under SQLite's default expression depth (1000) and parameter count.
 */
#define FILTER_MAX_DEPTH 32
#define FILTER_MAX_TERMS 256

enum tok_kind {
	TK_END,
	TK_LPAREN,
	TK_RPAREN,
	TK_LBRACK,
	TK_RBRACK,
	TK_WORD,   /* attribute path, operator, keyword, true/false/null */
	TK_STRING, /* "..." including the quotes */
	TK_NUMBER,
	TK_UNTERMINATED, /* a string with no closing quote */
	TK_BAD,          /* any other character */
};

struct tok {
	enum tok_kind kind;
	size_t pos; /* byte offset of the first character */
	size_t len;
};

struct fparser {
	const struct scim_rtype *rt;
	const char *text;
	size_t len;
	size_t next; /* offset just past the current token */
	struct tok tok;
	int depth;
	int terms;
	const char *etype; /* scimType of errors: invalidFilter, invalidPath */
	const char *what;  /* "filter" or "path", for messages */
	const struct scim_abbrev *ab; /* or NULL */
	struct scim_err *e;
};

static const struct {
	const char *name;
	enum scim_fop op;
} fops[] = {
    {"eq", SCIM_F_EQ}, {"ne", SCIM_F_NE}, {"co", SCIM_F_CO}, {"sw", SCIM_F_SW},
    {"ew", SCIM_F_EW}, {"gt", SCIM_F_GT}, {"ge", SCIM_F_GE}, {"lt", SCIM_F_LT},
    {"le", SCIM_F_LE}, {"pr", SCIM_F_PR},
};

/*
 * "schemas" (RFC 7643 §3) is in no schema table but is filterable: RFC
 * 7644 §3.4.2.2 shows schemas eq "urn:...:enterprise:2.0:User". It is a
 * top-level multi-valued string in every doc; schema URIs compare
 * case-insensitively, as everywhere else in rosterd.
 */
static const struct scim_attr schemas_attr = {
    .name = "schemas",
    .type = SCIM_T_REFERENCE,
    .multi = true,
    .mut = SCIM_M_RO,
    .desc = "The schema URIs of the resource.",
};

#define EXPECT_OP "an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr)"
#define EXPECT_VALUE "a value (a JSON string, number, true, false or null)"

static struct scim_filter *fp_or(struct fparser *,
                                 const struct scim_attrpath *vp);

static const char *
fop_name(enum scim_fop op)
{
	size_t i;

	for (i = 0; i < sizeof(fops) / sizeof(fops[0]); i++)
		if (fops[i].op == op)
			return fops[i].name;
	return "?";
}

/*
 * Append client text for a message: printable ASCII only and at most 40
 * bytes, so the detail stays valid UTF-8 whatever the client sent.
 */
static void
add_clean(struct buf *b, const char *s, size_t n)
{
	size_t i, max = n > 40 ? 40 : n;

	for (i = 0; i < max; i++)
		buf_addch(b, s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?');
	if (max < n)
		buf_addstr(b, "...");
}

/* The same in single quotes. */
static void
add_echo(struct buf *b, const char *s, size_t n)
{
	buf_addch(b, '\'');
	add_clean(b, s, n);
	buf_addch(b, '\'');
}

static void __attribute__((format(printf, 3, 4)))
fp_fail(struct fparser *p, size_t pos, const char *fmt, ...)
{
	struct buf b;
	va_list ap;

	buf_init(&b, 4096);
	buf_addf(&b, "invalid %s at position %zu: ", p->what, pos + 1);
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	scim_err_set(p->e, 400, p->etype, "%s", buf_str(&b));
	buf_free(&b);
}

/* "expected <what>, found <token>" at the token. */
static void
fp_expected(struct fparser *p, const struct tok *t, const char *what)
{
	struct buf b;

	buf_init(&b, 256);
	if (t->kind == TK_END)
		buf_addstr(&b, "end of input");
	else
		add_echo(&b, p->text + t->pos, t->len);
	fp_fail(p, t->pos, "expected %s, found %s", what, buf_str(&b));
	buf_free(&b);
}

/* A message naming the attribute as the client wrote it. */
static void
fp_fail_attr(struct fparser *p, size_t pos, const char *name, const char *fmt)
{
	struct buf b;

	buf_init(&b, 256);
	add_echo(&b, name, strlen(name));
	fp_fail(p, pos, fmt, buf_str(&b));
	buf_free(&b);
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
is_word_char(char c)
{
	/* Non-ASCII bytes too, so an unknown name is reported whole. */
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.' ||
	       c == ':' || c == '$' || (unsigned char)c >= 0x80;
}

static bool
is_number_char(char c)
{
	return isdigit((unsigned char)c) || c == '.' || c == '-' || c == '+' ||
	       c == 'e' || c == 'E';
}

static size_t
scan_string(const char *s, size_t i, size_t len, bool *closed)
{
	for (i++; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len)
			i++;
		else if (s[i] == '"') {
			*closed = true;
			return i + 1;
		}
	}
	*closed = false;
	return len;
}

/* Read the next token into p->tok. */
static void
fp_lex(struct fparser *p)
{
	const char *s = p->text;
	size_t i = p->next, j;
	bool closed;

	while (i < p->len && is_space(s[i]))
		i++;
	p->tok.pos = i;
	p->tok.len = 1;
	if (i >= p->len) {
		p->tok.kind = TK_END;
		p->tok.len = 0;
	} else if (s[i] == '(') {
		p->tok.kind = TK_LPAREN;
	} else if (s[i] == ')') {
		p->tok.kind = TK_RPAREN;
	} else if (s[i] == '[') {
		p->tok.kind = TK_LBRACK;
	} else if (s[i] == ']') {
		p->tok.kind = TK_RBRACK;
	} else if (s[i] == '"') {
		j = scan_string(s, i, p->len, &closed);
		p->tok.kind = closed ? TK_STRING : TK_UNTERMINATED;
		p->tok.len = j - i;
	} else if (s[i] == '-' || isdigit((unsigned char)s[i])) {
		for (j = i + 1; j < p->len && is_number_char(s[j]); j++)
			;
		p->tok.kind = TK_NUMBER;
		p->tok.len = j - i;
	} else if (is_word_char(s[i])) {
		for (j = i + 1; j < p->len && is_word_char(s[j]); j++)
			;
		p->tok.kind = TK_WORD;
		p->tok.len = j - i;
	} else {
		p->tok.kind = TK_BAD;
	}
	p->next = p->tok.pos + p->tok.len;
}

/* Is the current token the keyword kw (case-insensitive, RFC 7644)? */
static bool
tok_is(const struct fparser *p, const char *kw)
{
	size_t n = strlen(kw);

	return p->tok.kind == TK_WORD && p->tok.len == n &&
	       strncasecmp(p->text + p->tok.pos, kw, n) == 0;
}

static struct scim_filter *
node_new(enum scim_fop op, struct scim_filter *l, struct scim_filter *r)
{
	struct scim_filter *f = xcalloc(1, sizeof(*f));

	f->op = op;
	f->left = l;
	f->right = r;
	return f;
}

void
scim_filter_free(struct scim_filter *f)
{
	if (f == NULL)
		return;
	scim_filter_free(f->left);
	scim_filter_free(f->right);
	json_decref(f->value);
	free(f->raw_path);
	free(f);
}

/* dateTime: xsd:dateTime / RFC 3339 instants in milliseconds. */

static bool
dt_digits(const char *s, size_t n, int *out)
{
	size_t i;
	int v = 0;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

static int
dt_mdays(int y, int m)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30,
	                            31, 31, 30, 31, 30, 31};
	bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);

	return m == 2 && leap ? 29 : mdays[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/*
 * Parse YYYY-MM-DDTHH:MM:SS[.fraction][Z|+HH:MM|-HH:MM] into milliseconds
 * since the epoch. Digits past the millisecond are dropped; no zone means
 * UTC (xsd:dateTime leaves it open; every stored value is UTC).
 */
static bool
dt_parse(const char *s, size_t n, int64_t *ms)
{
	int y, mo, d, h, mi, sec, oh, om, frac = 0, k = 0;
	int64_t off = 0;
	size_t i = 19;

	if (n < 19 || s[4] != '-' || s[7] != '-' ||
	    (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
		return false;
	if (!dt_digits(s, 4, &y) || !dt_digits(s + 5, 2, &mo) ||
	    !dt_digits(s + 8, 2, &d) || !dt_digits(s + 11, 2, &h) ||
	    !dt_digits(s + 14, 2, &mi) || !dt_digits(s + 17, 2, &sec))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > dt_mdays(y, mo) || h > 23 ||
	    mi > 59 || sec > 59)
		return false;
	if (i < n && s[i] == '.') {
		if (++i >= n || !isdigit((unsigned char)s[i]))
			return false;
		for (; i < n && isdigit((unsigned char)s[i]); i++, k++)
			if (k < 3)
				frac = frac * 10 + (s[i] - '0');
		for (; k < 3; k++)
			frac *= 10;
	}
	if (i == n) {
		/* no zone */
	} else if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n) {
		/* UTC */
	} else if ((s[i] == '+' || s[i] == '-') && n - i == 6 &&
	           s[i + 3] == ':' && dt_digits(s + i + 1, 2, &oh) &&
	           dt_digits(s + i + 4, 2, &om) && oh <= 23 && om <= 59) {
		off = (int64_t)(oh * 60 + om) * 60 * (s[i] == '-' ? -1 : 1);
	} else
		return false;
	*ms = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) -
	       off) *
	          1000 +
	      frac;
	return true;
}

/* The stored form, 'YYYY-MM-DDTHH:MM:SS.mmmZ', or NULL if out of range. */
static json_t *
dt_normalize(const char *s, size_t n)
{
	int64_t ms, days, rem, y;
	int m, d;
	struct buf b;
	json_t *v;

	if (!dt_parse(s, n, &ms))
		return NULL;
	days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
	rem = ms - days * 86400000;
	civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999)
		return NULL;
	buf_init(&b, 64);
	buf_addf(&b, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (int)y, m, d,
	         (int)(rem / 3600000), (int)(rem / 60000 % 60),
	         (int)(rem / 1000 % 60), (int)(rem % 1000));
	v = json_string(buf_str(&b));
	buf_free(&b);
	return v;
}

/* Parser. */

static bool
fp_enter(struct fparser *p)
{
	if (++p->depth <= FILTER_MAX_DEPTH)
		return true;
	fp_fail(p, p->tok.pos, "nested more than %d levels deep",
	        FILTER_MAX_DEPTH);
	return false;
}

/*
 * Resolve a name inside attr[...]: a sub-attribute of the complex
 * attribute, or "value" for the elements of a multi-valued simple one.
 */
static int
resolve_inner(const struct scim_attrpath *vp, const char *name, size_t len,
              struct scim_attrpath *out)
{
	const struct scim_attr *a = vp->attr;

	*out = *vp;
	out->sub = NULL;
	if (a->type == SCIM_T_COMPLEX) {
		out->sub = scim_attr_find(a->sub, a->nsub, name, len);
		return out->sub != NULL ? 0 : -1;
	}
	return len == 5 && strncasecmp(name, "value", 5) == 0 ? 0 : -1;
}

/* May attr[...] follow this path? */
static bool
fp_valpath_ok(struct fparser *p, const struct scim_attrpath *path,
              const char *raw, size_t pos)
{
	if (path->attr == NULL) {
		fp_fail_attr(p, pos, raw,
		             "%s names a schema; a value filter needs a "
		             "complex or multi-valued attribute");
		return false;
	}
	if (path->sub != NULL) {
		fp_fail_attr(p, pos, raw,
		             "a value filter cannot follow the sub-attribute "
		             "%s");
		return false;
	}
	if (path->attr->type != SCIM_T_COMPLEX && !path->attr->multi) {
		fp_fail_attr(p, pos, raw,
		             "attribute %s is neither complex nor "
		             "multi-valued, so it takes no value filter");
		return false;
	}
	return true;
}

/* The "value" sub-attribute of a complex attribute, or NULL. */
static const struct scim_attr *
value_sub(const struct scim_attr *a)
{
	if (a == NULL || a->type != SCIM_T_COMPLEX)
		return NULL;
	return scim_attr_find(a->sub, a->nsub, "value", 5);
}

static json_t *
fp_coerce_fail(struct fparser *p, size_t pos, json_t *v, const char *fmt,
               const char *opname, const char *attr)
{
	struct buf b;

	json_decref(v);
	buf_init(&b, 256);
	add_echo(&b, attr, strlen(attr));
	if (opname != NULL)
		fp_fail(p, pos, fmt, opname, buf_str(&b));
	else
		fp_fail(p, pos, fmt, buf_str(&b));
	buf_free(&b);
	return NULL;
}

/*
 * Check a literal against the attribute's type and bring it to the form
 * the evaluator and the SQL compilers expect: booleans and numbers may be
 * written as strings ("True", "42", as some clients send them), a number
 * compared with a string attribute is taken as written, and a dateTime
 * compared with eq/ne/gt/ge/lt/le becomes 'YYYY-MM-DDTHH:MM:SS.mmmZ' UTC.
 * Steals v; returns the value to keep, or NULL with the error set.
 */
static json_t *
fp_coerce(struct fparser *p, const struct tok *t, enum scim_fop op,
          const struct scim_attr *leaf, const char *attr, json_t *v)
{
	bool order, substr;
	const char *s, *on = fop_name(op);
	json_t *nv;
	json_error_t je;

	order = op == SCIM_F_GT || op == SCIM_F_GE || op == SCIM_F_LT ||
	        op == SCIM_F_LE;
	substr = op == SCIM_F_CO || op == SCIM_F_SW || op == SCIM_F_EW;
	if (json_is_null(v)) {
		if (op == SCIM_F_EQ || op == SCIM_F_NE)
			return v;
		return fp_coerce_fail(p, t->pos, v,
		                      "null can only be compared with eq or "
		                      "ne, not %s (attribute %s)",
		                      on, attr);
	}
	switch (leaf->type) {
	case SCIM_T_BOOLEAN:
		if (order || substr)
			return fp_coerce_fail(p, t->pos, v,
			                      "operator %s cannot be used with "
			                      "the boolean attribute %s",
			                      on, attr);
		if (json_is_string(v)) {
			s = json_string_value(v);
			if (strcasecmp(s, "true") == 0 ||
			    strcasecmp(s, "false") == 0) {
				nv = json_boolean(strcasecmp(s, "true") == 0);
				json_decref(v);
				return nv;
			}
		}
		if (json_is_boolean(v))
			return v;
		return fp_coerce_fail(p, t->pos, v,
		                      "attribute %s is boolean: expected true "
		                      "or false",
		                      NULL, attr);
	case SCIM_T_INTEGER:
	case SCIM_T_DECIMAL:
		if (substr)
			return fp_coerce_fail(p, t->pos, v,
			                      "operator %s cannot be used with "
			                      "the numeric attribute %s",
			                      on, attr);
		if (json_is_string(v)) {
			nv = json_loads(json_string_value(v), JSON_DECODE_ANY,
			                &je);
			json_decref(v);
			v = nv;
		}
		if (json_is_number(v))
			return v;
		return fp_coerce_fail(p, t->pos, v,
		                      "attribute %s is numeric: expected a "
		                      "number",
		                      NULL, attr);
	case SCIM_T_DATETIME:
		if (!json_is_string(v))
			return fp_coerce_fail(p, t->pos, v,
			                      "attribute %s is a dateTime: "
			                      "expected a string such as "
			                      "\"2011-05-13T04:42:34Z\"",
			                      NULL, attr);
		if (substr)
			return v;
		nv = dt_normalize(json_string_value(v), json_string_length(v));
		json_decref(v);
		if (nv == NULL)
			return fp_coerce_fail(p, t->pos, NULL,
			                      "the value for %s is not an "
			                      "xsd:dateTime such as "
			                      "\"2011-05-13T04:42:34Z\"",
			                      NULL, attr);
		return nv;
	case SCIM_T_BINARY:
		if (order)
			return fp_coerce_fail(p, t->pos, v,
			                      "operator %s cannot be used with "
			                      "the binary attribute %s",
			                      on, attr);
		/* FALLTHROUGH */
	case SCIM_T_STRING:
	case SCIM_T_REFERENCE:
		if (json_is_number(v)) {
			json_decref(v);
			return json_stringn(p->text + t->pos, t->len);
		}
		if (json_is_string(v))
			return v;
		return fp_coerce_fail(p, t->pos, v,
		                      "attribute %s is a string: expected a "
		                      "JSON string",
		                      NULL, attr);
	case SCIM_T_COMPLEX:
		break;
	}
	return fp_coerce_fail(p, t->pos, v,
	                      "attribute %s is complex: compare one of its "
	                      "sub-attributes",
	                      NULL, attr);
}

/* The literal after a comparison operator. */
static json_t *
fp_value(struct fparser *p, enum scim_fop op, const struct scim_attr *leaf,
         const char *attr)
{
	struct tok t = p->tok;
	json_error_t je;
	struct buf b;
	json_t *v = NULL;

	switch (t.kind) {
	case TK_STRING:
	case TK_NUMBER:
		v = json_loadb(p->text + t.pos, t.len, JSON_DECODE_ANY, &je);
		if (v == NULL) {
			buf_init(&b, 256);
			add_clean(&b, je.text, strlen(je.text));
			fp_fail(p, t.pos, "invalid %s literal: %s",
			        t.kind == TK_STRING ? "string" : "number",
			        buf_str(&b));
			buf_free(&b);
			return NULL;
		}
		break;
	case TK_UNTERMINATED:
		fp_fail(p, t.pos,
		        "the string starting here has no closing "
		        "quote");
		return NULL;
	case TK_WORD:
		if (tok_is(p, "true"))
			v = json_true();
		else if (tok_is(p, "false"))
			v = json_false();
		else if (tok_is(p, "null"))
			v = json_null();
		break;
	default:
		break;
	}
	if (v == NULL) {
		fp_expected(p, &t, EXPECT_VALUE);
		return NULL;
	}
	fp_lex(p);
	return fp_coerce(p, &t, op, leaf, attr, v);
}

static bool
fp_count_term(struct fparser *p, size_t pos)
{
	if (++p->terms <= FILTER_MAX_TERMS)
		return true;
	fp_fail(p, pos, "more than %d comparisons in one filter",
	        FILTER_MAX_TERMS);
	return false;
}

/* attrPath "[" valFilter "]"; the current token is "[". */
static struct scim_filter *
fp_valpath(struct fparser *p, struct scim_filter *f, size_t open)
{
	if (!fp_enter(p))
		goto fail;
	fp_lex(p);
	f->op = SCIM_F_VALPATH;
	f->left = fp_or(p, &f->path);
	if (f->left == NULL)
		goto fail;
	if (p->tok.kind != TK_RBRACK) {
		if (p->tok.kind == TK_END)
			fp_fail(p, p->tok.pos,
			        "'[' at position %zu is never closed",
			        open + 1);
		else
			fp_expected(p, &p->tok, "and, or or ']'");
		goto fail;
	}
	p->depth--;
	fp_lex(p);
	return f;
fail:
	scim_filter_free(f);
	return NULL;
}

/* A top-level attribute path, through the abbreviations if need be. */
static int
fp_resolve_top(struct fparser *p, const char *name, size_t len,
               struct scim_attrpath *out)
{
	const struct scim_abbrev *ab;
	char *full;
	size_t n;
	int rc;

	if ((rc = scim_attrpath_resolve(p->rt, name, len, out)) == 0 ||
	    p->ab == NULL)
		return rc;
	for (ab = p->ab; ab->prefix != NULL; ab++) {
		n = strlen(ab->prefix);
		/* Case-insensitive, as names and URNs are (RFC 7643 §2.1). */
		if (len <= n || strncasecmp(name, ab->prefix, n) != 0)
			continue;
		full = xasprintf("%s%.*s", ab->urn, (int)(len - n), name + n);
		rc = scim_attrpath_resolve(p->rt, full, strlen(full), out);
		free(full);
		break;
	}
	return rc;
}

/* Resolve the attribute name in token at (relative to vp if set). */
static int
fp_resolve(struct fparser *p, const struct scim_attrpath *vp,
           const struct tok *at, struct scim_filter *f)
{
	const char *name = p->text + at->pos;
	int rc;

	if (vp != NULL)
		rc = resolve_inner(vp, name, at->len, &f->path);
	else
		rc = fp_resolve_top(p, name, at->len, &f->path);
	if (rc == -1 && vp == NULL && at->len == 7 &&
	    strncasecmp(name, "schemas", 7) == 0) {
		memset(&f->path, 0, sizeof(f->path));
		f->path.attr = &schemas_attr;
		rc = 0;
	}
	if (rc == -1)
		fp_fail_attr(p, at->pos, f->raw_path, "unknown attribute %s");
	return rc;
}

/* The comparison operator in the current token, consumed; -1 if none. */
static int
fp_operator(struct fparser *p, const struct scim_attrpath *vp)
{
	size_t i;

	for (i = 0; i < sizeof(fops) / sizeof(fops[0]); i++) {
		if (tok_is(p, fops[i].name)) {
			fp_lex(p);
			return (int)fops[i].op;
		}
	}
	fp_expected(p, &p->tok, vp == NULL ? EXPECT_OP " or '['" : EXPECT_OP);
	return -1;
}

/* Check the attribute of a comparison (not pr) and read its value. */
static int
fp_compare(struct fparser *p, const struct tok *at, struct scim_filter *f)
{
	const struct scim_attr *leaf;

	if (f->path.attr == NULL) {
		fp_fail_attr(p, at->pos, f->raw_path,
		             "%s names a schema; only pr can test it");
		return -1;
	}
	/* RFC 7643 §2.4: "emails eq x" compares the "value" sub-attribute. */
	if (f->path.sub == NULL && f->path.attr->type == SCIM_T_COMPLEX &&
	    f->path.attr->multi)
		f->path.sub = value_sub(f->path.attr);
	leaf = scim_attrpath_leaf(&f->path);
	if (leaf->type == SCIM_T_COMPLEX) {
		fp_fail_attr(p, at->pos, f->raw_path,
		             "attribute %s is complex: compare one of its "
		             "sub-attributes");
		return -1;
	}
	f->value = fp_value(p, f->op, leaf, f->raw_path);
	return f->value != NULL ? 0 : -1;
}

static struct scim_filter *fp_attrexp(struct fparser *,
                                      const struct scim_attrpath *);

/*
 * Microsoft Entra ID matches users with `emails[type eq "work"].value eq
 * "x"`, a sub-attribute after the value filter that RFC 7644's grammar
 * lacks. It means one email that is of type work and has that value, so
 * it is read as `emails[type eq "work" and value eq "x"]`. f is the
 * parsed value path; the current token starts with '.'.
 */
static struct scim_filter *
fp_valpath_sub(struct fparser *p, struct scim_filter *f)
{
	struct scim_filter *sub;

	p->tok.pos++;
	p->tok.len--;
	sub = p->tok.len > 0 ? fp_attrexp(p, &f->path) : NULL;
	if (sub == NULL) {
		if (p->tok.len == 0)
			fp_expected(p, &p->tok, "a sub-attribute after '.'");
		scim_filter_free(f);
		return NULL;
	}
	f->left = node_new(SCIM_F_AND, f->left, sub);
	return f;
}

/*
 * attrExp or valuePath; the current token is a word. vp is the enclosing
 * value-path attribute, or NULL at the top level.
 */
static struct scim_filter *
fp_attrexp(struct fparser *p, const struct scim_attrpath *vp)
{
	struct tok at = p->tok;
	struct scim_filter *f;
	int op;

	if (!fp_count_term(p, at.pos))
		return NULL;
	f = node_new(SCIM_F_PR, NULL, NULL);
	f->raw_path = xstrndup(p->text + at.pos, at.len);
	if (fp_resolve(p, vp, &at, f) == -1)
		goto fail;
	fp_lex(p);
	if (p->tok.kind == TK_LBRACK) {
		if (vp != NULL) {
			fp_fail(p, p->tok.pos,
			        "value filters cannot be nested");
			goto fail;
		}
		if (!fp_valpath_ok(p, &f->path, f->raw_path, at.pos))
			goto fail;
		f = fp_valpath(p, f, p->tok.pos);
		if (f != NULL && p->tok.kind == TK_WORD &&
		    p->text[p->tok.pos] == '.')
			return fp_valpath_sub(p, f);
		return f;
	}
	if ((op = fp_operator(p, vp)) == -1)
		goto fail;
	f->op = (enum scim_fop)op;
	if (f->op == SCIM_F_PR || fp_compare(p, &at, f) == 0)
		return f;
fail:
	scim_filter_free(f);
	return NULL;
}

/* "(" FILTER ")", the current token being "(". */
static struct scim_filter *
fp_paren(struct fparser *p, const struct scim_attrpath *vp)
{
	struct scim_filter *f;
	size_t open = p->tok.pos;

	if (!fp_enter(p))
		return NULL;
	fp_lex(p);
	f = fp_or(p, vp);
	if (f == NULL)
		return NULL;
	if (p->tok.kind != TK_RPAREN) {
		if (p->tok.kind == TK_END)
			fp_fail(p, p->tok.pos,
			        "'(' at position %zu is never closed",
			        open + 1);
		else
			fp_expected(p, &p->tok, "and, or or ')'");
		scim_filter_free(f);
		return NULL;
	}
	p->depth--;
	fp_lex(p);
	return f;
}

static struct scim_filter *
fp_unary(struct fparser *p, const struct scim_attrpath *vp)
{
	struct scim_filter *f;

	if (p->tok.kind == TK_LPAREN)
		return fp_paren(p, vp);
	if (tok_is(p, "not")) {
		fp_lex(p);
		if (p->tok.kind != TK_LPAREN) {
			fp_expected(p, &p->tok, "'(' after not");
			return NULL;
		}
		f = fp_paren(p, vp);
		return f != NULL ? node_new(SCIM_F_NOT, f, NULL) : NULL;
	}
	if (p->tok.kind == TK_WORD && !tok_is(p, "and") && !tok_is(p, "or"))
		return fp_attrexp(p, vp);
	if (p->tok.kind == TK_UNTERMINATED || p->tok.kind == TK_STRING)
		fp_expected(p, &p->tok,
		            "an attribute name, '(' or not (a value needs an "
		            "attribute and an operator before it)");
	else
		fp_expected(p, &p->tok, "an attribute name, '(' or not");
	return NULL;
}

static struct scim_filter *
fp_and(struct fparser *p, const struct scim_attrpath *vp)
{
	struct scim_filter *l, *r;

	if ((l = fp_unary(p, vp)) == NULL)
		return NULL;
	while (tok_is(p, "and")) {
		fp_lex(p);
		if ((r = fp_unary(p, vp)) == NULL) {
			scim_filter_free(l);
			return NULL;
		}
		l = node_new(SCIM_F_AND, l, r);
	}
	return l;
}

/* Precedence (RFC 7644 §3.4.2.2): not, then and, then or. */
static struct scim_filter *
fp_or(struct fparser *p, const struct scim_attrpath *vp)
{
	struct scim_filter *l, *r;

	if ((l = fp_and(p, vp)) == NULL)
		return NULL;
	while (tok_is(p, "or")) {
		fp_lex(p);
		if ((r = fp_and(p, vp)) == NULL) {
			scim_filter_free(l);
			return NULL;
		}
		l = node_new(SCIM_F_OR, l, r);
	}
	return l;
}

static void
fp_init(struct fparser *p, const struct scim_rtype *rt, const char *text,
        bool path, struct scim_err *e)
{
	memset(p, 0, sizeof(*p));
	p->rt = rt;
	p->text = text != NULL ? text : "";
	p->len = strlen(p->text);
	p->etype = path ? SCIM_ET_INVALID_PATH : SCIM_ET_INVALID_FILTER;
	p->what = path ? "path" : "filter";
	p->e = e;
	fp_lex(p);
}

struct scim_filter *
scim_filter_parse(const struct scim_rtype *rt, const char *text,
                  struct scim_err *e)
{
	return scim_filter_parse_ab(rt, text, NULL, e);
}

struct scim_filter *
scim_filter_parse_ab(const struct scim_rtype *rt, const char *text,
                     const struct scim_abbrev *ab, struct scim_err *e)
{
	struct fparser p;
	struct scim_filter *f;

	fp_init(&p, rt, text, false, e);
	p.ab = ab;
	if (p.tok.kind == TK_END) {
		fp_fail(&p, 0, "the filter is empty");
		return NULL;
	}
	f = fp_or(&p, NULL);
	if (f == NULL || p.tok.kind == TK_END)
		return f;
	if (p.tok.kind == TK_RPAREN)
		fp_fail(&p, p.tok.pos, "')' has no matching '('");
	else if (p.tok.kind == TK_RBRACK)
		fp_fail(&p, p.tok.pos, "']' has no matching '['");
	else
		fp_expected(&p, &p.tok, "and, or or the end of the filter");
	scim_filter_free(f);
	return NULL;
}

/* The ".subAttr" after "attr[...]" in a PATCH path. */
static int
fp_path_sub(struct fparser *p, const struct scim_attrpath *path,
            const struct scim_attr **sub)
{
	const struct scim_attr *a = path->attr;
	const char *s = p->text + p->tok.pos;
	struct buf b;

	if (p->tok.kind != TK_WORD || s[0] != '.' ||
	    p->text[p->tok.pos - 1] != ']') {
		fp_expected(p, &p->tok,
		            "'.' and a sub-attribute, or the end "
		            "of the path after ']'");
		return -1;
	}
	if (a->type == SCIM_T_COMPLEX)
		*sub = scim_attr_find(a->sub, a->nsub, s + 1, p->tok.len - 1);
	if (*sub == NULL) {
		buf_init(&b, 256);
		add_echo(&b, s + 1, p->tok.len - 1);
		fp_fail(p, p->tok.pos + 1, "unknown sub-attribute %s of %s",
		        buf_str(&b), a->name);
		buf_free(&b);
		return -1;
	}
	fp_lex(p);
	if (p->tok.kind != TK_END) {
		fp_expected(p, &p->tok, "the end of the path");
		return -1;
	}
	return 0;
}

int
scim_filter_parse_path(const struct scim_rtype *rt, const char *text,
                       struct scim_attrpath *attr, struct scim_filter **vfilter,
                       const struct scim_attr **sub, struct scim_err *e)
{
	return scim_filter_parse_path_ab(rt, text, NULL, attr, vfilter, sub, e);
}

int
scim_filter_parse_path_ab(const struct scim_rtype *rt, const char *text,
                          const struct scim_abbrev *ab,
                          struct scim_attrpath *attr,
                          struct scim_filter **vfilter,
                          const struct scim_attr **sub, struct scim_err *e)
{
	struct fparser p;
	struct scim_filter *f;
	struct tok at;

	*vfilter = NULL;
	*sub = NULL;
	fp_init(&p, rt, text, true, e);
	p.ab = ab;
	at = p.tok;
	if (at.kind != TK_WORD) {
		fp_expected(&p, &at, "an attribute path");
		return -1;
	}
	f = node_new(SCIM_F_VALPATH, NULL, NULL);
	f->raw_path = xstrndup(p.text + at.pos, at.len);
	if (fp_resolve_top(&p, p.text + at.pos, at.len, &f->path) == -1) {
		fp_fail_attr(&p, at.pos, f->raw_path, "unknown attribute %s");
		goto fail;
	}
	fp_lex(&p);
	if (p.tok.kind == TK_END) {
		*attr = f->path;
		scim_filter_free(f);
		return 0;
	}
	if (p.tok.kind != TK_LBRACK) {
		fp_expected(&p, &p.tok, "'[' or the end of the path");
		goto fail;
	}
	if (!fp_valpath_ok(&p, &f->path, f->raw_path, at.pos))
		goto fail;
	/* Errors inside the brackets are invalidFilter (RFC 7644 Table 9). */
	p.etype = SCIM_ET_INVALID_FILTER;
	p.what = "filter in path";
	if ((f = fp_valpath(&p, f, p.tok.pos)) == NULL)
		return -1;
	p.etype = SCIM_ET_INVALID_PATH;
	p.what = "path";
	if (p.tok.kind != TK_END && fp_path_sub(&p, &f->path, sub) == -1)
		goto fail;
	*attr = f->path;
	*vfilter = f->left;
	f->left = NULL;
	scim_filter_free(f);
	return 0;
fail:
	*sub = NULL;
	scim_filter_free(f);
	return -1;
}

/* Evaluator. */

/* Member of an object by canonical name, falling back to any case. */
static const json_t *
obj_get(const json_t *o, const char *name)
{
	const char *k;
	json_t *v;

	if (!json_is_object(o))
		return NULL;
	if ((v = json_object_get(o, name)) != NULL)
		return v;
	json_object_foreach((json_t *)o, k, v)
	{
		if (strcasecmp(k, name) == 0)
			return v;
	}
	return NULL;
}

/* The attribute's value in doc (an extension object if attr is NULL). */
static const json_t *
path_value(const struct scim_attrpath *p, const json_t *doc)
{
	const json_t *base = doc;

	if (p->ext && p->schema != NULL)
		base = obj_get(doc, p->schema->id);
	if (p->attr == NULL)
		return base;
	return obj_get(base, p->attr->name);
}

/* RFC 7644 §3.4.2.2 "pr": non-null, non-empty. */
static bool
present(const json_t *v)
{
	if (v == NULL || json_is_null(v))
		return false;
	if (json_is_string(v))
		return json_string_length(v) > 0;
	if (json_is_array(v))
		return json_array_size(v) > 0;
	if (json_is_object(v))
		return json_object_size(v) > 0;
	return true;
}

/* ASCII case folding, the same as SQLite's NOCASE collation. */
static int
fold(int c, bool f)
{
	return f && c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int
str_cmp(const char *a, size_t an, const char *b, size_t bn, bool f)
{
	size_t i, n = an < bn ? an : bn;
	int ca, cb;

	for (i = 0; i < n; i++) {
		ca = fold((unsigned char)a[i], f);
		cb = fold((unsigned char)b[i], f);
		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
	return an < bn ? -1 : an > bn;
}

static bool
str_match(enum scim_fop op, const char *h, size_t hn, const char *n, size_t nn,
          bool f)
{
	size_t i;

	if (nn > hn)
		return false;
	switch (op) {
	case SCIM_F_SW:
		return str_cmp(h, nn, n, nn, f) == 0;
	case SCIM_F_EW:
		return str_cmp(h + hn - nn, nn, n, nn, f) == 0;
	default:
		for (i = 0; i + nn <= hn; i++)
			if (str_cmp(h + i, nn, n, nn, f) == 0)
				return true;
		return false;
	}
}

static int
num_cmp(const json_t *a, const json_t *b)
{
	json_int_t ia, ib;
	double x, y;

	if (json_is_integer(a) && json_is_integer(b)) {
		ia = json_integer_value(a);
		ib = json_integer_value(b);
		return ia < ib ? -1 : ia > ib;
	}
	x = json_number_value(a);
	y = json_number_value(b);
	return x < y ? -1 : x > y;
}

static bool
cmp_result(enum scim_fop op, int c)
{
	switch (op) {
	case SCIM_F_EQ:
		return c == 0;
	case SCIM_F_GT:
		return c > 0;
	case SCIM_F_GE:
		return c >= 0;
	case SCIM_F_LT:
		return c < 0;
	case SCIM_F_LE:
		return c <= 0;
	default:
		return false;
	}
}

static bool
scalar_dt(enum scim_fop op, const json_t *x, const json_t *fv)
{
	int64_t a, b;

	if (!dt_parse(json_string_value(x), json_string_length(x), &a) ||
	    !dt_parse(json_string_value(fv), json_string_length(fv), &b))
		return false;
	return cmp_result(op, a < b ? -1 : a > b);
}

/* One value x against the node's operator (never ne) and literal. */
static bool
scalar_test(const struct scim_filter *f, enum scim_fop op, const json_t *x)
{
	const struct scim_attr *leaf = scim_attrpath_leaf(&f->path);
	const json_t *fv = f->value;
	bool substr = op == SCIM_F_CO || op == SCIM_F_SW || op == SCIM_F_EW;

	if (op == SCIM_F_PR)
		return present(x);
	if (x == NULL || leaf == NULL || fv == NULL)
		return false;
	switch (leaf->type) {
	case SCIM_T_BOOLEAN:
		return op == SCIM_F_EQ && json_is_boolean(x) &&
		       json_is_true(x) == json_is_true(fv);
	case SCIM_T_INTEGER:
	case SCIM_T_DECIMAL:
		return json_is_number(x) && json_is_number(fv) &&
		       cmp_result(op, num_cmp(x, fv));
	case SCIM_T_DATETIME:
		if (!json_is_string(x) || !json_is_string(fv))
			return false;
		if (!substr)
			return scalar_dt(op, x, fv);
		/* FALLTHROUGH */
	case SCIM_T_STRING:
	case SCIM_T_REFERENCE:
	case SCIM_T_BINARY:
		if (!json_is_string(x) || !json_is_string(fv))
			return false;
		if (substr)
			return str_match(
			    op, json_string_value(x), json_string_length(x),
			    json_string_value(fv), json_string_length(fv),
			    !leaf->case_exact);
		return cmp_result(
		    op, str_cmp(json_string_value(x), json_string_length(x),
		                json_string_value(fv), json_string_length(fv),
		                !leaf->case_exact));
	case SCIM_T_COMPLEX:
		break;
	}
	return false;
}

/* A value or any element of an array of values. */
static bool
any_test(const struct scim_filter *f, enum scim_fop op, const json_t *v)
{
	size_t i;
	json_t *x;

	if (!json_is_array(v))
		return scalar_test(f, op, v);
	json_array_foreach(v, i, x)
	{
		if (scalar_test(f, op, x))
			return true;
	}
	return false;
}

/*
 * The positive operator to test and whether to negate the result: "ne" is
 * "not eq" (so it matches when the attribute is absent), "eq null" is
 * "not pr" and "ne null" is "pr". The SQL compiler uses the same rules.
 */
static enum scim_fop
cmp_norm(const struct scim_filter *f, bool *neg)
{
	enum scim_fop op = f->op;

	*neg = false;
	if (op == SCIM_F_NE) {
		op = SCIM_F_EQ;
		*neg = true;
	}
	if (op == SCIM_F_EQ && json_is_null(f->value)) {
		op = SCIM_F_PR;
		*neg = !*neg;
	}
	return op;
}

static bool
doc_cmp(const struct scim_filter *f, enum scim_fop op, const json_t *doc)
{
	const json_t *v = path_value(&f->path, doc);
	const char *sub;
	size_t i;
	json_t *x;

	if (f->path.sub == NULL)
		return any_test(f, op, v);
	sub = f->path.sub->name;
	if (!json_is_array(v))
		return any_test(f, op, obj_get(v, sub));
	json_array_foreach(v, i, x)
	{
		if (any_test(f, op, obj_get(x, sub)))
			return true;
	}
	return false;
}

static bool
doc_valpath(const struct scim_filter *f, const json_t *doc)
{
	const json_t *v = path_value(&f->path, doc);
	size_t i;
	json_t *x;

	if (v == NULL || json_is_null(v))
		return false;
	if (!json_is_array(v))
		return scim_filter_match_elem(f->left, v);
	json_array_foreach(v, i, x)
	{
		if (scim_filter_match_elem(f->left, x))
			return true;
	}
	return false;
}

bool
scim_filter_match(const struct scim_filter *f, const json_t *doc)
{
	enum scim_fop op;
	bool neg;

	switch (f->op) {
	case SCIM_F_AND:
		return scim_filter_match(f->left, doc) &&
		       scim_filter_match(f->right, doc);
	case SCIM_F_OR:
		return scim_filter_match(f->left, doc) ||
		       scim_filter_match(f->right, doc);
	case SCIM_F_NOT:
		return !scim_filter_match(f->left, doc);
	case SCIM_F_VALPATH:
		return doc_valpath(f, doc);
	default:
		op = cmp_norm(f, &neg);
		return doc_cmp(f, op, doc) != neg;
	}
}

bool
scim_filter_match_elem(const struct scim_filter *f, const json_t *elem)
{
	enum scim_fop op;
	bool neg;
	const json_t *v;

	switch (f->op) {
	case SCIM_F_AND:
		return scim_filter_match_elem(f->left, elem) &&
		       scim_filter_match_elem(f->right, elem);
	case SCIM_F_OR:
		return scim_filter_match_elem(f->left, elem) ||
		       scim_filter_match_elem(f->right, elem);
	case SCIM_F_NOT:
		return !scim_filter_match_elem(f->left, elem);
	case SCIM_F_VALPATH:
		return false; /* the parser never nests value paths */
	default:
		op = cmp_norm(f, &neg);
		v = f->path.sub != NULL ? obj_get(elem, f->path.sub->name)
		                        : elem;
		return any_test(f, op, v) != neg;
	}
}
