/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * SCIM filter trees and sortBy paths compiled to SQLite expressions over
 * `resources r`. Every comparison value is bound as a parameter; only
 * names from the static schema tables and fixed SQL reach the text.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "store/sqlite_filter.h"
#include "util/buf.h"
#include "util/xmalloc.h"

/* Where the attribute paths of a (sub)tree are evaluated. */
enum sqlc_ctx {
	CTX_ROW,    /* the row r */
	CTX_ELEM,   /* one element j.value of json_each() over r.doc */
	CTX_MEMBER, /* a Group's member x (members m JOIN resources x) */
	CTX_GROUP,  /* a group x the User belongs to */
};

struct sqlc {
	enum store_rtype rtype;
	struct buf *sql;
	json_t *params;
	char **cause;
	enum sqlc_ctx ctx;
};

/* The stored dateTime form, 'YYYY-MM-DDTHH:MM:SS.mmmZ' (3 digits: %f). */
#define DT_NORM_OPEN "strftime('%Y-%m-%dT%H:%M:%fZ', "

#define MEMBERS_OF_GROUP                                                       \
	"EXISTS (SELECT 1 FROM members m JOIN resources x ON x.rid = "         \
	"m.member_rid WHERE m.group_rid = r.rid AND x.deleted_at IS NULL AND "
#define GROUPS_OF_USER                                                         \
	"EXISTS (SELECT 1 FROM members m JOIN resources x ON x.rid = "         \
	"m.group_rid WHERE m.member_rid = r.rid AND x.deleted_at IS NULL AND "

static int c_node(struct sqlc *, const struct scim_filter *);

static int
sqlc_fail(struct sqlc *c, const char *what, const char *name)
{
	if (c->cause != NULL && *c->cause == NULL)
		*c->cause = xasprintf("%s%s", what, name != NULL ? name : "");
	return -1;
}

static void
add(struct sqlc *c, const char *s)
{
	buf_addstr(c->sql, s);
}

/* Schema names go into SQL text, so they must stay plain identifiers. */
static bool
label_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("$_-:.", *s) == NULL)
			return false;
	return true;
}

static int
add_label(struct sqlc *c, struct buf *b, const char *name)
{
	if (!label_ok(name))
		return sqlc_fail(c, "attribute name unusable in SQL: ", name);
	buf_addf(b, ".\"%s\"", name);
	return 0;
}

/* '$."urn"."attr"' or with the sub-attribute, as an SQL string literal. */
static int
add_json_path(struct sqlc *c, struct buf *b, const struct scim_attrpath *p,
              bool with_sub, const char *suffix)
{
	buf_addstr(b, "'$");
	if (p->ext && p->schema != NULL && add_label(c, b, p->schema->id) == -1)
		return -1;
	if (p->attr != NULL && add_label(c, b, p->attr->name) == -1)
		return -1;
	if (with_sub && p->sub != NULL && add_label(c, b, p->sub->name) == -1)
		return -1;
	buf_addstr(b, suffix);
	buf_addch(b, '\'');
	return 0;
}

static void
bind_str(struct sqlc *c, const char *s)
{
	json_array_append_new(c->params, json_string(s));
}

static bool
is_stringish(const struct scim_attr *a)
{
	return a->type == SCIM_T_STRING || a->type == SCIM_T_REFERENCE ||
	       a->type == SCIM_T_BINARY || a->type == SCIM_T_DATETIME;
}

/* Which membership context an attribute of the row opens, if any. */
static enum sqlc_ctx
membership(const struct sqlc *c, const struct scim_attrpath *p)
{
	if (p->ext || p->attr == NULL || p->schema == NULL)
		return CTX_ROW;
	if (c->rtype == STORE_GROUP && strcmp(p->attr->name, "members") == 0)
		return CTX_MEMBER;
	if (c->rtype == STORE_USER && strcmp(p->attr->name, "groups") == 0)
		return CTX_GROUP;
	return CTX_ROW;
}

/* The column of the member (or group) x for a sub-attribute. */
static int
member_operand(struct sqlc *c, enum sqlc_ctx ctx, const struct scim_attr *sub,
               struct buf *o)
{
	const char *n = sub != NULL ? sub->name : "value";

	if (strcmp(n, "value") == 0)
		buf_addstr(o, "x.id");
	else if (strcmp(n, "display") == 0)
		buf_addstr(o, "x.name");
	else if (strcmp(n, "type") == 0 && ctx == CTX_MEMBER)
		buf_addstr(o,
		           "(CASE x.type WHEN 1 THEN 'User' ELSE 'Group' END)");
	else if (strcmp(n, "type") == 0)
		buf_addstr(o, "'direct'"); /* no nested groups: all direct */
	else
		return sqlc_fail(c,
		                 ctx == CTX_MEMBER
		                     ? "cannot filter or sort on members."
		                     : "cannot filter or sort on groups.",
		                 n);
	return 0;
}

/* The column (or constant) holding a single-valued attribute, or NULL. */
static const char *
row_column(const struct sqlc *c, const struct scim_attrpath *p)
{
	const char *a = p->attr->name, *s = p->sub != NULL ? p->sub->name : "";

	if (p->schema == NULL && !p->ext) {
		if (strcmp(a, "id") == 0)
			return "r.id";
		if (strcmp(a, "externalId") == 0)
			return "r.external_id";
		if (strcmp(s, "created") == 0)
			return "r.created";
		if (strcmp(s, "lastModified") == 0)
			return "r.modified";
		if (strcmp(s, "resourceType") == 0)
			return c->rtype == STORE_USER ? "'User'" : "'Group'";
		if (strcmp(s, "version") == 0)
			return "('W/\"' || r.version || '\"')";
		return NULL;
	}
	if (p->ext || p->sub != NULL)
		return NULL;
	if ((c->rtype == STORE_USER && strcmp(a, "userName") == 0) ||
	    (c->rtype == STORE_GROUP && strcmp(a, "displayName") == 0))
		return "r.name";
	if (c->rtype == STORE_USER && strcmp(a, "active") == 0)
		return "r.active";
	return NULL;
}

/*
 * A single-valued attribute of the row: its indexed column where it has
 * one, else json_extract() over the doc (*json set).
 */
static int
row_operand(struct sqlc *c, const struct scim_attrpath *p, struct buf *o,
            bool *json)
{
	const char *col = row_column(c, p);

	*json = false;
	if (col != NULL) {
		buf_addstr(o, col);
		return 0;
	}
	if (p->schema == NULL && !p->ext)
		return sqlc_fail(c, "cannot filter on meta.",
		                 p->sub != NULL ? p->sub->name : "");
	*json = true;
	buf_addstr(o, "json_extract(r.doc, ");
	if (add_json_path(c, o, p, true, "") == -1)
		return -1;
	buf_addch(o, ')');
	return 0;
}

/* An element of json_each(): the sub-attribute, or the element itself. */
static int
elem_operand(struct sqlc *c, const struct scim_attr *sub, struct buf *o)
{
	if (sub == NULL) {
		buf_addstr(o, "j.value");
		return 0;
	}
	buf_addstr(o, "json_extract(j.value, '$");
	if (add_label(c, o, sub->name) == -1)
		return -1;
	buf_addstr(o, "')");
	return 0;
}

static const char *
sql_op(enum scim_fop op)
{
	switch (op) {
	case SCIM_F_GT:
		return " > ";
	case SCIM_F_GE:
		return " >= ";
	case SCIM_F_LT:
		return " < ";
	case SCIM_F_LE:
		return " <= ";
	default:
		return " = ";
	}
}

/* A LIKE pattern for co/sw/ew with %, _ and \ escaped by \. */
static void
bind_like(struct sqlc *c, enum scim_fop op, const char *s)
{
	struct buf b;

	buf_init(&b, 0);
	if (op != SCIM_F_SW)
		buf_addch(&b, '%');
	for (; *s != '\0'; s++) {
		if (*s == '%' || *s == '_' || *s == '\\')
			buf_addch(&b, '\\');
		buf_addch(&b, *s);
	}
	if (op != SCIM_F_EW)
		buf_addch(&b, '%');
	bind_str(c, buf_str(&b));
	buf_free(&b);
}

static json_int_t
utf8_chars(const char *s)
{
	json_int_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* co, sw, ew: LIKE folds ASCII case; instr()/substr() do not. */
static void
emit_substr(struct sqlc *c, const char *x, enum scim_fop op, bool ci,
            const char *v)
{
	if (*v == '\0') {
		/* Every string contains, starts and ends with "". */
		add(c, "(");
		add(c, x);
		add(c, " IS NOT NULL)");
		return;
	}
	add(c, "(");
	if (ci) {
		add(c, x);
		add(c, " LIKE ? ESCAPE '\\')");
		bind_like(c, op, v);
		return;
	}
	if (op == SCIM_F_EW) {
		add(c, "substr(");
		add(c, x);
		add(c, ", ?) = ?)");
		json_array_append_new(c->params, json_integer(-utf8_chars(v)));
		bind_str(c, v);
		return;
	}
	add(c, "instr(");
	add(c, x);
	add(c, op == SCIM_F_SW ? ", ?) = 1)" : ", ?) > 0)");
	bind_str(c, v);
}

/*
 * The test of operand x (SQL text) with a positive operator; json says
 * the operand comes from the doc, where dateTimes are not normalised.
 */
static void
emit_test(struct sqlc *c, const char *x, bool json, enum scim_fop op,
          const struct scim_attr *leaf, json_t *v)
{
	bool dt = leaf->type == SCIM_T_DATETIME;

	if (op == SCIM_F_PR) {
		add(c, "(");
		add(c, x);
		add(c, is_stringish(leaf) ? " <> '')" : " IS NOT NULL)");
		return;
	}
	if (op == SCIM_F_CO || op == SCIM_F_SW || op == SCIM_F_EW) {
		emit_substr(c, x, op, !leaf->case_exact, json_string_value(v));
		return;
	}
	add(c, "(");
	if (dt && json)
		add(c, DT_NORM_OPEN);
	add(c, x);
	if (dt && json)
		add(c, ")");
	add(c, sql_op(op));
	add(c, "?");
	if (leaf->type == SCIM_T_BOOLEAN)
		json_array_append_new(c->params, json_integer(json_is_true(v)));
	else
		json_array_append(c->params, v);
	if (is_stringish(leaf) && !dt && !leaf->case_exact)
		add(c, " COLLATE NOCASE");
	add(c, ")");
}

/*
 * A test of a row operand, made 0 rather than NULL where the operand can
 * be NULL (an absent doc attribute, externalId): the whole expression is
 * then two-valued and a caller may negate it. externalId keeps its test
 * as a top-level AND term so that feed_people_key stays usable.
 */
static void
emit_row_test(struct sqlc *c, const char *x, bool json, enum scim_fop op,
              const struct scim_attr *leaf, json_t *v)
{
	if (json) {
		add(c, "coalesce(");
		emit_test(c, x, json, op, leaf, v);
		add(c, ", 0)");
	} else if (strcmp(x, "r.external_id") == 0) {
		add(c, "(");
		emit_test(c, x, json, op, leaf, v);
		add(c, " AND r.external_id IS NOT NULL)");
	} else {
		emit_test(c, x, json, op, leaf, v);
	}
}

/* As in filter.c: ne is "not eq", eq null is "not pr", ne null is "pr". */
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

/* The comparison in the member, group or json_each element context. */
static int
c_cmp_inner(struct sqlc *c, const struct scim_filter *f, enum scim_fop op)
{
	const struct scim_attr *leaf = scim_attrpath_leaf(&f->path);
	struct buf o;
	int rc;

	buf_init(&o, 0);
	if (c->ctx == CTX_ELEM)
		rc = elem_operand(c, f->path.sub, &o);
	else
		rc = member_operand(c, c->ctx, f->path.sub, &o);
	if (rc == 0)
		emit_test(c, buf_str(&o), c->ctx == CTX_ELEM, op, leaf,
		          f->value);
	buf_free(&o);
	return rc;
}

/* Open "EXISTS (... WHERE " over the elements of a multi-valued attr. */
static int
open_each(struct sqlc *c, const struct scim_attrpath *p)
{
	add(c, "EXISTS (SELECT 1 FROM json_each(r.doc, ");
	if (add_json_path(c, c->sql, p, false, "") == -1)
		return -1;
	add(c, ") j WHERE ");
	return 0;
}

/* The test in ctx, inside an EXISTS opened by the caller. */
static int
c_in_ctx(struct sqlc *c, enum sqlc_ctx ctx, const struct scim_filter *f,
         enum scim_fop op)
{
	enum sqlc_ctx saved = c->ctx;
	int rc;

	c->ctx = ctx;
	rc = op == SCIM_F_VALPATH ? c_node(c, f) : c_cmp_inner(c, f, op);
	c->ctx = saved;
	add(c, ")");
	return rc;
}

static int
c_cmp_row(struct sqlc *c, const struct scim_filter *f, enum scim_fop op)
{
	const struct scim_attrpath *p = &f->path;
	const struct scim_attr *leaf = scim_attrpath_leaf(p);
	enum sqlc_ctx mctx = membership(c, p);
	struct buf o;
	bool json;
	int rc;

	if (p->attr == NULL ||
	    (leaf->type == SCIM_T_COMPLEX && !p->attr->multi)) {
		/* pr on an extension or a single complex attribute */
		if (p->schema == NULL && !p->ext) {
			add(c, "1"); /* meta is always there */
			return 0;
		}
		add(c, "(json_type(r.doc, ");
		if (add_json_path(c, c->sql, p, false, "") == -1)
			return -1;
		add(c, ") IS 'object' AND json_extract(r.doc, ");
		add_json_path(c, c->sql, p, false, "");
		add(c, ") <> '{}')");
		return 0;
	}
	if (mctx != CTX_ROW && op == SCIM_F_PR && p->sub == NULL) {
		add(c,
		    mctx == CTX_MEMBER
		        ? "EXISTS (SELECT 1 FROM members m WHERE m.group_rid = "
		          "r.rid)"
		        : "EXISTS (SELECT 1 FROM members m WHERE m.member_rid "
		          "= r.rid)");
		return 0;
	}
	if (mctx != CTX_ROW) {
		add(c, mctx == CTX_MEMBER ? MEMBERS_OF_GROUP : GROUPS_OF_USER);
		return c_in_ctx(c, mctx, f, op);
	}
	if (p->attr->multi && op == SCIM_F_PR && p->sub == NULL) {
		add(c, "(coalesce(json_array_length(r.doc, ");
		if (add_json_path(c, c->sql, p, false, "") == -1)
			return -1;
		add(c, "), 0) > 0)");
		return 0;
	}
	if (p->attr->multi) {
		if (open_each(c, p) == -1)
			return -1;
		return c_in_ctx(c, CTX_ELEM, f, op);
	}
	buf_init(&o, 0);
	rc = row_operand(c, p, &o, &json);
	if (rc == 0)
		emit_row_test(c, buf_str(&o), json, op, leaf, f->value);
	buf_free(&o);
	return rc;
}

static int
c_cmp(struct sqlc *c, const struct scim_filter *f)
{
	enum scim_fop op;
	bool neg;
	int rc;

	op = cmp_norm(f, &neg);
	/*
	 * Inside EXISTS a test may be NULL (an absent sub-attribute); its
	 * negation must be true, hence IS NOT 1 rather than NOT.
	 */
	if (neg)
		add(c, "((");
	rc = c->ctx == CTX_ROW ? c_cmp_row(c, f, op) : c_cmp_inner(c, f, op);
	if (neg)
		add(c, ") IS NOT 1)");
	return rc;
}

/* attr[filter]: the whole inner filter applies to one element. */
static int
c_valpath(struct sqlc *c, const struct scim_filter *f)
{
	const struct scim_attrpath *p = &f->path;
	enum sqlc_ctx mctx = membership(c, p);

	if (c->ctx != CTX_ROW)
		return sqlc_fail(c, "nested value filter", NULL);
	if (mctx != CTX_ROW) {
		add(c, mctx == CTX_MEMBER ? MEMBERS_OF_GROUP : GROUPS_OF_USER);
		return c_in_ctx(c, mctx, f->left, SCIM_F_VALPATH);
	}
	if (p->attr->multi) {
		if (open_each(c, p) == -1)
			return -1;
		return c_in_ctx(c, CTX_ELEM, f->left, SCIM_F_VALPATH);
	}
	/* A single complex attribute: its sub-attributes are row values. */
	return c_node(c, f->left);
}

/*
 * A run of the same operator as one flat list: "(a AND b AND c)", not
 * "((a AND b) AND c)". SQLite's parser keeps a stack of 100 entries, and
 * a parenthesis per term overflowed it near 90 terms ("parser stack
 * overflow", a 500) while the filter grammar allows 256 comparisons.
 */
static int
c_chain(struct sqlc *c, const struct scim_filter *f, enum scim_fop op,
        bool *first)
{
	if (f->op == op)
		return c_chain(c, f->left, op, first) == -1
		           ? -1
		           : c_chain(c, f->right, op, first);
	if (!*first)
		add(c, op == SCIM_F_AND ? " AND " : " OR ");
	*first = false;
	return c_node(c, f);
}

static int
c_node(struct sqlc *c, const struct scim_filter *f)
{
	bool first = true;
	int rc;

	switch (f->op) {
	case SCIM_F_AND:
	case SCIM_F_OR:
		add(c, "(");
		rc = c_chain(c, f, f->op, &first);
		add(c, ")");
		return rc;
	case SCIM_F_NOT:
		/* Every caller wraps a filter in parentheses, and IS binds
		 * tighter than AND and OR: no outer pair (the parser stack). */
		add(c, "(");
		rc = c_node(c, f->left);
		add(c, ") IS NOT 1");
		return rc;
	case SCIM_F_VALPATH:
		return c_valpath(c, f);
	default:
		return c_cmp(c, f);
	}
}

int
sqlite_filter_compile(const struct scim_filter *f, enum store_rtype rtype,
                      struct buf *sql, json_t *params, char **cause)
{
	struct sqlc c = {rtype, sql, params, cause, CTX_ROW};

	if (cause != NULL)
		*cause = NULL;
	if (f == NULL)
		return buf_addstr(sql, "1");
	if (c_node(&c, f) == -1)
		return -1;
	if (sql->failed)
		return sqlc_fail(&c, "filter too large", NULL);
	return 0;
}

/* The sub-attribute a multi-valued complex attribute sorts by. */
static const struct scim_attr *
sort_sub(const struct scim_attrpath *p)
{
	if (p->sub != NULL || p->attr->type != SCIM_T_COMPLEX)
		return p->sub;
	return scim_attr_find(p->attr->sub, p->attr->nsub, "value", 5);
}

/*
 * RFC 7644 §3.4.2.3: a multi-valued attribute sorts by its primary value,
 * else its first value.
 */
static int
sort_multi(struct sqlc *c, const struct scim_attrpath *p,
           const struct scim_attr *sub, struct buf *o)
{
	const struct scim_attr *a = p->attr;

	if (a->type != SCIM_T_COMPLEX) {
		buf_addstr(o, "json_extract(r.doc, ");
		if (add_json_path(c, o, p, false, "[0]") == -1)
			return -1;
		buf_addch(o, ')');
		return 0;
	}
	buf_addstr(o, "(SELECT ");
	if (elem_operand(c, sub, o) == -1)
		return -1;
	buf_addstr(o, " FROM json_each(r.doc, ");
	if (add_json_path(c, o, p, false, "") == -1)
		return -1;
	buf_addstr(o, ") j ORDER BY ");
	if (scim_attr_find(a->sub, a->nsub, "primary", 7) != NULL)
		buf_addstr(o,
		           "json_extract(j.value, '$.\"primary\"') IS NOT 1, ");
	buf_addstr(o, "j.key LIMIT 1)");
	return 0;
}

static int
sort_operand(struct sqlc *c, const struct scim_attrpath *p,
             const struct scim_attr *sub, struct buf *o, bool *json,
             bool *nullable)
{
	enum sqlc_ctx mctx = membership(c, p);

	*json = *nullable = true;
	if (mctx != CTX_ROW) {
		buf_addstr(o, "(SELECT min(");
		if (member_operand(c, mctx, sub, o) == -1)
			return -1;
		buf_addstr(o,
		           mctx == CTX_MEMBER
		               ? ") FROM members m JOIN resources x ON x.rid = "
		                 "m.member_rid WHERE m.group_rid = r.rid)"
		               : ") FROM members m JOIN resources x ON x.rid = "
		                 "m.group_rid WHERE m.member_rid = r.rid)");
		*json = false;
		return 0;
	}
	if (p->attr->multi)
		return sort_multi(c, p, sub, o);
	if (p->schema == NULL && !p->ext && p->sub != NULL &&
	    strcmp(p->sub->name, "location") == 0) {
		/* Locations differ only by the trailing id. */
		buf_addstr(o, "r.id");
		*json = *nullable = false;
		return 0;
	}
	if (row_operand(c, p, o, json) == -1)
		return -1;
	*nullable = *json || strcmp(buf_str(o), "r.external_id") == 0;
	return 0;
}

int
sqlite_filter_sort_expr(const struct scim_attrpath *p, enum store_rtype rtype,
                        struct buf *sql, char **cause)
{
	struct sqlc c = {rtype, sql, NULL, cause, CTX_ROW};
	const struct scim_attr *sub, *leaf;
	bool json, nullable;
	struct buf o;

	if (cause != NULL)
		*cause = NULL;
	if (p->attr == NULL)
		return sqlc_fail(&c, "sortBy must name an attribute, not ",
		                 p->schema != NULL ? p->schema->id
		                                   : "a schema");
	sub = p->attr->multi ? sort_sub(p) : p->sub;
	leaf = sub != NULL ? sub : p->attr;
	if (leaf->type == SCIM_T_COMPLEX)
		return sqlc_fail(&c,
		                 "sortBy needs a sub-attribute of the complex "
		                 "attribute ",
		                 p->attr->name);
	buf_init(&o, 0);
	if (sort_operand(&c, p, sub, &o, &json, &nullable) == -1) {
		buf_free(&o);
		return -1;
	}
	/*
	 * Absent values sort last ascending and first descending (RFC 7644
	 * §3.4.2.3): SQLite orders NULL first, but a blob after all text and
	 * numbers, so NULL becomes x''.
	 */
	if (nullable)
		buf_addstr(sql, "coalesce(");
	if (json && leaf->type == SCIM_T_DATETIME)
		buf_addstr(sql, DT_NORM_OPEN);
	buf_addstr(sql, buf_str(&o));
	if (json && leaf->type == SCIM_T_DATETIME)
		buf_addch(sql, ')');
	if (nullable)
		buf_addstr(sql, ", x'')");
	if (is_stringish(leaf) && leaf->type != SCIM_T_DATETIME &&
	    !leaf->case_exact)
		buf_addstr(sql, " COLLATE NOCASE");
	buf_free(&o);
	return sql->failed ? sqlc_fail(&c, "sortBy too large", NULL) : 0;
}
