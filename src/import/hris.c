/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* HRIS mappings: the `mappings` configuration section and cell values. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <libfyaml.h>

#include "import/hris.h"
#include "scim/filter.h"
#include "util/buf.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

#define HRIS_PREFIX_ENT "enterprise:"
#define HRIS_PREFIX_ELIG "eligibility:"

static const char *const hris_dep_names[HRIS_DEP__COUNT] = {
    [HRIS_DEP_ID] = "id",
    [HRIS_DEP_RELATIONSHIP] = "relationship",
    [HRIS_DEP_FIRST_NAME] = "first_name",
    [HRIS_DEP_MIDDLE_NAME] = "middle_name",
    [HRIS_DEP_LAST_NAME] = "last_name",
    [HRIS_DEP_BIRTH_DATE] = "birth_date",
    [HRIS_DEP_GENDER] = "gender",
};

const char *
hris_dep_field_name(enum hris_dep_field f)
{
	return f < HRIS_DEP__COUNT ? hris_dep_names[f] : "?";
}

/*--- Dates ---*/

static const char *const hris_months[] = {
    "january", "february", "march",     "april",   "may",      "june",
    "july",    "august",   "september", "october", "november", "december"};

/* Up to max digits (at least min) at *s; advances *s. -1 if none. */
static int
hris_digits(const char **s, int min, int max)
{
	int v = 0, n = 0;

	while (n < max && isdigit((unsigned char)**s)) {
		v = v * 10 + (**s - '0');
		(*s)++;
		n++;
	}
	return n >= min ? v : -1;
}

/* A month name, in full or its first three letters. */
static int
hris_month_name(const char **s)
{
	size_t i, n;

	for (i = 0; i < 12; i++) {
		n = strlen(hris_months[i]);
		if (strncasecmp(*s, hris_months[i], n) == 0) {
			*s += n;
			return (int)i + 1;
		}
	}
	for (i = 0; i < 12; i++) {
		if (strncasecmp(*s, hris_months[i], 3) == 0) {
			*s += 3;
			return (int)i + 1;
		}
	}
	return -1;
}

static bool
hris_leap(int y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static bool
hris_ymd_valid(int y, int m, int d)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30,
	                            31, 31, 30, 31, 30, 31};

	if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return false;
	return m != 2 || d != 29 || hris_leap(y);
}

/* One conversion of a date format; returns -1 if the text disagrees. */
static int
hris_date_conv(char conv, const char **s, int *y, int *m, int *d)
{
	int v;

	switch (conv) {
	case 'Y':
		return (*y = hris_digits(s, 4, 4)) == -1 ? -1 : 0;
	case 'y':
		if ((v = hris_digits(s, 2, 2)) == -1)
			return -1;
		*y = v < 69 ? 2000 + v : 1900 + v; /* the POSIX pivot */
		return 0;
	case 'm':
		return (*m = hris_digits(s, 1, 2)) == -1 ? -1 : 0;
	case 'e':
		if (**s == ' ')
			(*s)++;
		/* FALLTHROUGH */
	case 'd':
		return (*d = hris_digits(s, 1, 2)) == -1 ? -1 : 0;
	case 'b':
	case 'B':
	case 'h':
		return (*m = hris_month_name(s)) == -1 ? -1 : 0;
	case '%':
		return *(*s)++ == '%' ? 0 : -1;
	default:
		return -1;
	}
}

int
hris_date_parse(const char *fmt, const char *s, char out[11])
{
	int y = -1, m = -1, d = -1;

	for (; *fmt != '\0'; fmt++) {
		if (*fmt != '%') {
			if (*s++ != *fmt)
				return -1;
			continue;
		}
		if (*++fmt == '\0' ||
		    hris_date_conv(*fmt, &s, &y, &m, &d) == -1)
			return -1;
	}
	if (*s != '\0' || !hris_ymd_valid(y, m, d))
		return -1;
	/* Digit by digit: the ranges are checked, and the size is exact. */
	out[0] = (char)('0' + y / 1000);
	out[1] = (char)('0' + y / 100 % 10);
	out[2] = (char)('0' + y / 10 % 10);
	out[3] = (char)('0' + y % 10);
	out[4] = '-';
	out[5] = (char)('0' + m / 10);
	out[6] = (char)('0' + m % 10);
	out[7] = '-';
	out[8] = (char)('0' + d / 10);
	out[9] = (char)('0' + d % 10);
	out[10] = '\0';
	return 0;
}

/* Check a date_format: known conversions, one year, month and day. */
static const char *
hris_date_format_check(const char *fmt)
{
	int y = 0, m = 0, d = 0;

	for (; *fmt != '\0'; fmt++) {
		if (*fmt != '%')
			continue;
		switch (*++fmt) {
		case 'Y':
		case 'y':
			y++;
			break;
		case 'm':
		case 'b':
		case 'B':
		case 'h':
			m++;
			break;
		case 'd':
		case 'e':
			d++;
			break;
		case '%':
			break;
		case '\0':
			return "ends with a lone %";
		default:
			return "unsupported conversion (use %Y %y %m %d %e %b "
			       "%B %%)";
		}
	}
	if (y != 1 || m != 1 || d != 1)
		return "needs exactly one year (%Y or %y), month (%m, %b or "
		       "%B) and day (%d or %e)";
	return NULL;
}

/*--- Cell values ---*/

static bool
hris_bool_text(const char *s, bool *b)
{
	static const char *const yes[] = {"true", "yes", "y", "1", NULL};
	static const char *const no[] = {"false", "no", "n", "0", NULL};
	size_t i;

	for (i = 0; yes[i] != NULL; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*b = true;
			return true;
		}
	}
	for (i = 0; no[i] != NULL; i++) {
		if (strcasecmp(s, no[i]) == 0) {
			*b = false;
			return true;
		}
	}
	return false;
}

/* Apply the value map: exact match first, then any case. */
static int
hris_map_apply(const struct hris_conv *cv, struct hris_value *v,
               struct buf *err)
{
	size_t i;

	if (cv->nmap == 0)
		return 0;
	for (i = 0; i < cv->nmap; i++)
		if (strcmp(cv->map[i].from, v->s) == 0)
			goto found;
	for (i = 0; i < cv->nmap; i++)
		if (strcasecmp(cv->map[i].from, v->s) == 0)
			goto found;
	buf_addf(err, "\"%s\" is not in the value map (", v->s);
	for (i = 0; i < cv->nmap && i < 8; i++)
		buf_addf(err, "%s%s", i ? ", " : "", cv->map[i].from);
	buf_addstr(err, i < cv->nmap ? ", ...)" : ")");
	return -1;
found:
	v->s = cv->map[i].to;
	v->len = strlen(v->s);
	return 0;
}

/* Map and date conversion shared by person and dependent cells. */
static int
hris_conv_apply(const struct hris_conv *cv, bool date_only,
                struct hris_value *v, struct buf *err)
{
	if (hris_map_apply(cv, v, err) == -1)
		return -1;
	if (v->len == 0) {
		v->kind = HRIS_V_NONE;
		return 0;
	}
	if (cv->date_format != NULL) {
		if (hris_date_parse(cv->date_format, v->s, v->date) == -1) {
			buf_addf(err, "\"%s\" is not a date in %s", v->s,
			         cv->date_format);
			return -1;
		}
		v->s = v->date;
		v->len = 10;
	} else if (date_only &&
	           hris_date_parse("%Y-%m-%d", v->s, v->date) == -1) {
		buf_addf(err, "\"%s\" is not a date of the form YYYY-MM-DD",
		         v->s);
		return -1;
	}
	return 0;
}

static int
hris_typed(const struct scim_attr *a, struct hris_value *v, struct buf *err)
{
	const char *const *c;
	char *end;

	switch (a->type) {
	case SCIM_T_BOOLEAN:
		if (!hris_bool_text(v->s, &v->b)) {
			buf_addf(err, "\"%s\" is not true or false", v->s);
			return -1;
		}
		v->kind = HRIS_V_BOOL;
		return 0;
	case SCIM_T_INTEGER:
		errno = 0;
		v->i = strtoll(v->s, &end, 10);
		if (*end != '\0' || errno != 0) {
			buf_addf(err, "\"%s\" is not an integer", v->s);
			return -1;
		}
		v->kind = HRIS_V_INT;
		return 0;
	case SCIM_T_DECIMAL:
		errno = 0;
		v->d = strtod(v->s, &end);
		if (*end != '\0' || errno != 0 || !isfinite(v->d)) {
			buf_addf(err, "\"%s\" is not a number", v->s);
			return -1;
		}
		v->kind = HRIS_V_REAL;
		return 0;
	default:
		break;
	}
	if (a->strict_canonical) {
		for (c = a->canonical; *c != NULL; c++)
			if (strcasecmp(*c, v->s) == 0)
				break;
		if (*c == NULL) {
			buf_addf(err, "\"%s\" is not one of", v->s);
			for (c = a->canonical; *c != NULL; c++)
				buf_addf(err, "%s %s",
				         c == a->canonical ? "" : ",", *c);
			return -1;
		}
		v->s = *c;
		v->len = strlen(*c);
	}
	v->kind = HRIS_V_STRING;
	return 0;
}

/*
 * A cell that is not UTF-8 (an export saved as Latin-1 or Windows-1252)
 * is a row error here, with its column, rather than a JSON failure when
 * the row is applied. The message names the byte, not the value.
 */
static int
hris_utf8_check(const char *s, size_t len, struct buf *err)
{
	ssize_t bad = utf8_bad(s, len);

	if (bad < 0)
		return 0;
	buf_addf(err,
	         "not valid UTF-8 (byte 0x%02x at position %zd of the cell); "
	         "save the export as UTF-8",
	         (unsigned char)s[bad], bad + 1);
	return -1;
}

int
hris_cell_value(const struct hris_col *col, const char *s, size_t len,
                struct hris_value *v, struct buf *err)
{
	memset(v, 0, sizeof(*v));
	v->s = s;
	v->len = len;
	v->kind = HRIS_V_STRING;
	if (len == 0 && col->conv.nmap == 0) {
		v->kind = HRIS_V_NONE;
		return 0;
	}
	if (hris_utf8_check(s, len, err) == -1)
		return -1;
	if (hris_conv_apply(&col->conv, col->leaf->date_only, v, err) == -1)
		return -1;
	if (v->kind == HRIS_V_NONE)
		return 0;
	return hris_typed(col->leaf, v, err);
}

int
hris_dep_value(const struct hris_dep_col *col, const char *s, size_t len,
               struct hris_value *v, struct buf *err)
{
	memset(v, 0, sizeof(*v));
	v->s = s;
	v->len = len;
	v->kind = HRIS_V_STRING;
	if (len == 0 && col->conv.nmap == 0) {
		v->kind = HRIS_V_NONE;
		return 0;
	}
	if (hris_utf8_check(s, len, err) == -1)
		return -1;
	return hris_conv_apply(&col->conv, col->field == HRIS_DEP_BIRTH_DATE, v,
	                       err);
}

json_t *
hris_value_json(const struct hris_value *v)
{
	switch (v->kind) {
	case HRIS_V_BOOL:
		return json_boolean(v->b);
	case HRIS_V_INT:
		return json_integer(v->i);
	case HRIS_V_REAL:
		return json_real(v->d);
	case HRIS_V_STRING:
		return json_stringn(v->s, v->len);
	default:
		return json_null();
	}
}

/*--- Configuration ---*/

/* Parsing context: where errors go and the mapping being filled in. */
struct hmctx {
	struct cfg *cfg;
	struct hris_mapping *m;
	const struct scim_rtype *rt;
};

static const char *
hris_scalar(struct fy_node *n)
{
	return n != NULL && fy_node_is_scalar(n) ? fy_node_get_scalar0(n)
	                                         : NULL;
}

static bool
hris_name_ok(const char *s)
{
	return *s != '\0' &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                 "0123456789._-") == strlen(s);
}

static const struct scim_abbrev hris_abbrevs[] = {
    {HRIS_PREFIX_ENT, SCIM_URN_ENTERPRISE ":"},
    {HRIS_PREFIX_ELIG, SCIM_URN_ELIGIBILITY ":"},
    {NULL, NULL},
};

/* "eligibility:hireDate" -> the URN spelled out; a new string. */
static char *
hris_expand(const char *attr)
{
	size_t ne = strlen(HRIS_PREFIX_ENT), nl = strlen(HRIS_PREFIX_ELIG);

	if (strncasecmp(attr, HRIS_PREFIX_ENT, ne) == 0)
		return xasprintf("%s:%s", SCIM_URN_ENTERPRISE, attr + ne);
	if (strncasecmp(attr, HRIS_PREFIX_ELIG, nl) == 0)
		return xasprintf("%s:%s", SCIM_URN_ELIGIBILITY, attr + nl);
	return xstrdup(attr);
}

/* Can an add through this filter create the value (patch_seed)? */
static bool
hris_filter_seeds(const struct scim_filter *f)
{
	if (f->op == SCIM_F_AND)
		return hris_filter_seeds(f->left) &&
		       hris_filter_seeds(f->right);
	return f->op == SCIM_F_EQ && f->path.sub != NULL && f->value != NULL;
}

/* The text of a value path up to its closing bracket, or NULL. */
static char *
hris_valpath_only(const char *path)
{
	const char *rb = strrchr(path, ']');

	return rb != NULL ? xstrndup(path, (size_t)(rb - path + 1)) : NULL;
}

static bool
hris_check_leaf(struct hmctx *x, struct fy_node *n, const char *key,
                const struct hris_col *c, const struct scim_attr *leaf)
{
	if (leaf->mut == SCIM_M_RO || leaf->mut == SCIM_M_WO) {
		cfg_error(x->cfg, n, key, "attribute \"%s\" is %s", c->attr,
		          leaf->mut == SCIM_M_RO ? "read-only" : "write-only");
		return false;
	}
	if (leaf->type == SCIM_T_COMPLEX) {
		cfg_error(x->cfg, n, key,
		          "attribute \"%s\" is complex: map one of its "
		          "sub-attributes, e.g. %s.%s",
		          c->attr, c->attr, leaf->sub[0].name);
		return false;
	}
	return true;
}

/* Resolve c->attr against the User schema and fill in the paths. */
static bool
hris_resolve(struct hmctx *x, struct fy_node *n, const char *key,
             struct hris_col *c)
{
	struct scim_attrpath ap;
	struct scim_filter *vf = NULL;
	const struct scim_attr *sub = NULL, *leaf;
	struct scim_err e;
	bool ok = false;

	scim_err_init(&e);
	c->path = hris_expand(c->attr);
	/* Parsed as written, so that messages quote the abbreviations. */
	if (scim_filter_parse_path_ab(x->rt, c->attr, hris_abbrevs, &ap, &vf,
	                              &sub, &e) == -1) {
		cfg_error(x->cfg, n, key, "cannot map to \"%s\": %s", c->attr,
		          e.detail);
		return false;
	}
	if (ap.attr == NULL) {
		cfg_error(x->cfg, n, key,
		          "\"%s\" names a whole extension, not an attribute",
		          c->attr);
		goto out;
	}
	if (vf != NULL) {
		if (!hris_filter_seeds(vf) || sub == NULL) {
			cfg_error(x->cfg, n, key,
			          "value path \"%s\" must have the form "
			          "attr[sub eq \"x\"].sub (eq, joined by and)",
			          c->attr);
			goto out;
		}
		c->filtered = true;
		leaf = sub;
	} else {
		if (ap.attr->multi) {
			cfg_error(x->cfg, n, key,
			          "attribute \"%s\" is multi-valued: pick one "
			          "value with a filter, e.g. %s[type eq "
			          "\"work\"].value",
			          c->attr, ap.attr->name);
			goto out;
		}
		leaf = scim_attrpath_leaf(&ap);
	}
	if (!hris_check_leaf(x, n, key, c, leaf) ||
	    (ap.attr->mut == SCIM_M_RO &&
	     !hris_check_leaf(x, n, key, c, ap.attr)))
		goto out;
	c->leaf = leaf;
	c->is_key =
	    ap.schema == NULL && strcmp(ap.attr->name, "externalId") == 0;
	if (c->filtered && strcasecmp(leaf->name, "value") == 0)
		c->remove_path = hris_valpath_only(c->path);
	else
		c->remove_path = xstrdup(c->path);
	ok = true;
out:
	scim_filter_free(vf);
	return ok;
}

static void
hris_conv_free(struct hris_conv *cv)
{
	size_t i;

	free(cv->date_format);
	for (i = 0; i < cv->nmap; i++) {
		free(cv->map[i].from);
		free(cv->map[i].to);
	}
	free(cv->map);
	memset(cv, 0, sizeof(*cv));
}

static void
hris_col_free(struct hris_col *c)
{
	free(c->column);
	free(c->attr);
	free(c->path);
	free(c->remove_path);
	hris_conv_free(&c->conv);
	json_decref(c->jpath);
	json_decref(c->jremove);
}

static void
hris_map_free(struct hris_mapping *m)
{
	size_t i;

	free(m->name);
	free(m->key);
	free(m->rel_column);
	free(m->employee_value);
	for (i = 0; i < m->ncols; i++)
		hris_col_free(&m->cols[i]);
	free(m->cols);
	for (i = 0; i < m->ndcols; i++) {
		free(m->dcols[i].column);
		hris_conv_free(&m->dcols[i].conv);
	}
	free(m->dcols);
}

void
hris_config_free(struct hris_config *hc)
{
	size_t i;

	if (hc == NULL)
		return;
	for (i = 0; i < hc->n; i++)
		hris_map_free(&hc->maps[i]);
	free(hc->maps);
	free(hc);
}

const struct hris_mapping *
hris_mapping_find(const struct hris_config *hc, const char *name)
{
	size_t i;

	for (i = 0; hc != NULL && i < hc->n; i++)
		if (strcmp(hc->maps[i].name, name) == 0)
			return &hc->maps[i];
	return NULL;
}

/* map: {from: to, ...} of scalars. */
static void
hris_parse_map(struct hmctx *x, struct fy_node *n, const char *key,
               struct hris_conv *cv)
{
	struct fy_node_pair *p;
	void *iter = NULL;
	const char *f, *t;

	if (!fy_node_is_mapping(n)) {
		cfg_error(x->cfg, n, key,
		          "expected a mapping of file values "
		          "to stored values");
		return;
	}
	while ((p = fy_node_mapping_iterate(n, &iter)) != NULL) {
		f = hris_scalar(fy_node_pair_key(p));
		t = hris_scalar(fy_node_pair_value(p));
		if (f == NULL || t == NULL) {
			cfg_error(x->cfg, fy_node_pair_key(p), key,
			          "map keys and values must be scalars");
			continue;
		}
		cv->map = xrealloc(cv->map, (cv->nmap + 1) * sizeof(*cv->map));
		cv->map[cv->nmap].from = xstrdup(f);
		cv->map[cv->nmap].to = xstrdup(t);
		cv->nmap++;
	}
	if (cv->nmap == 0)
		cfg_error(x->cfg, n, key, "the value map is empty");
}

static void
hris_parse_date_format(struct hmctx *x, struct fy_node *n, const char *key,
                       struct hris_conv *cv)
{
	const char *v = hris_scalar(n), *why;

	if (v == NULL || *v == '\0') {
		cfg_error(x->cfg, n, key,
		          "expected a format such as %%m/%%d/%%Y");
		return;
	}
	if ((why = hris_date_format_check(v)) != NULL) {
		cfg_error(x->cfg, n, key, "\"%s\": %s", v, why);
		return;
	}
	cv->date_format = xstrdup(v);
}

/*
 * Check that every map target suits the attribute (a canonical value, a
 * boolean); errors point at the offending value in `map`.
 */
static void
hris_check_map_targets(struct hmctx *x, struct fy_node *map, const char *key,
                       const struct hris_col *c)
{
	const struct hris_col probe = {.leaf = c->leaf};
	struct fy_node *v;
	struct hris_value val;
	struct buf err;
	const char *to;
	size_t i;

	if (!c->leaf->strict_canonical && c->leaf->type != SCIM_T_BOOLEAN)
		return;
	for (i = 0; i < c->conv.nmap; i++) {
		to = c->conv.map[i].to;
		buf_init(&err, 0);
		if (*to != '\0' &&
		    hris_cell_value(&probe, to, strlen(to), &val, &err) == -1) {
			v = fy_node_mapping_lookup_by_string(
			    map, c->conv.map[i].from, FY_NT);
			cfg_error(x->cfg, v != NULL ? v : map, key,
			          "map value for \"%s\": %s",
			          c->conv.map[i].from, buf_str(&err));
		}
		buf_free(&err);
	}
}

/* {attribute: ..., date_format: ..., map: ...} or a bare attribute. */
static bool
hris_parse_spec(struct hmctx *x, struct fy_node *n, const char *key,
                struct hris_col *c)
{
	struct fy_node_pair *p;
	struct fy_node *attr = NULL, *map = NULL, *v;
	void *iter = NULL;
	const char *k;
	char *sub;

	if (hris_scalar(n) != NULL) {
		attr = n;
	} else if (!fy_node_is_mapping(n)) {
		cfg_error(x->cfg, n, key,
		          "expected an attribute, {attribute: ..., "
		          "date_format: ..., map: ...} or a list of them");
		return false;
	}
	while (attr != n && (p = fy_node_mapping_iterate(n, &iter)) != NULL) {
		k = hris_scalar(fy_node_pair_key(p));
		v = fy_node_pair_value(p);
		sub = xasprintf("%s.%s", key, k != NULL ? k : "?");
		if (k != NULL && strcmp(k, "attribute") == 0)
			attr = v;
		else if (k != NULL && strcmp(k, "date_format") == 0)
			hris_parse_date_format(x, v, sub, &c->conv);
		else if (k != NULL && strcmp(k, "map") == 0) {
			hris_parse_map(x, v, sub, &c->conv);
			map = v;
		} else
			cfg_error(x->cfg, fy_node_pair_key(p), sub,
			          "unknown key (known: attribute, date_format, "
			          "map)");
		free(sub);
	}
	if (hris_scalar(attr) == NULL || *hris_scalar(attr) == '\0') {
		cfg_error(x->cfg, n, key, "attribute: required");
		return false;
	}
	c->attr = xstrdup(hris_scalar(attr));
	if (!hris_resolve(x, attr, key, c))
		return false;
	if (c->conv.date_format != NULL && c->leaf->type != SCIM_T_STRING) {
		cfg_error(x->cfg, n, key,
		          "date_format needs a string attribute; \"%s\" is not "
		          "one",
		          c->attr);
		return false;
	}
	if (map != NULL)
		hris_check_map_targets(x, map, key, c);
	return true;
}

/* A lower-case identity of the target, to find two columns on one. */
static char *
hris_target_id(const struct hris_col *c)
{
	char *s = xstrdup(c->path);
	char *p;

	for (p = s; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

static void
hris_add_col(struct hmctx *x, const char *key, const char *column,
             struct fy_node *spec)
{
	struct hris_mapping *m = x->m;
	struct hris_col c;
	char *id, *oid;
	size_t i;

	memset(&c, 0, sizeof(c));
	c.column = xstrdup(column);
	if (!hris_parse_spec(x, spec, key, &c)) {
		hris_col_free(&c);
		return;
	}
	id = hris_target_id(&c);
	for (i = 0; i < m->ncols; i++) {
		oid = hris_target_id(&m->cols[i]);
		if (strcmp(id, oid) == 0)
			cfg_error(x->cfg, spec, key,
			          "attribute \"%s\" is already mapped from "
			          "column \"%s\"",
			          c.attr, m->cols[i].column);
		free(oid);
	}
	free(id);
	m->cols = xrealloc(m->cols, (m->ncols + 1) * sizeof(*m->cols));
	m->cols[m->ncols++] = c;
}

static void
hris_parse_columns(struct hmctx *x, struct fy_node *n, const char *key)
{
	struct fy_node_pair *p;
	struct fy_node *v, *e;
	void *iter = NULL, *it2;
	const char *col;
	char *sub, *sub2;
	int i;

	if (n == NULL || !fy_node_is_mapping(n) ||
	    fy_node_mapping_item_count(n) == 0) {
		cfg_error(x->cfg, n, key,
		          "expected a mapping of CSV columns to attributes");
		return;
	}
	while ((p = fy_node_mapping_iterate(n, &iter)) != NULL) {
		col = hris_scalar(fy_node_pair_key(p));
		v = fy_node_pair_value(p);
		sub = xasprintf("%s.%s", key, col != NULL ? col : "?");
		if (col == NULL || *col == '\0')
			cfg_error(x->cfg, fy_node_pair_key(p), sub,
			          "a column name must be a non-empty scalar");
		else if (!fy_node_is_sequence(v))
			hris_add_col(x, sub, col, v);
		else {
			it2 = NULL;
			for (i = 0;
			     (e = fy_node_sequence_iterate(v, &it2)) != NULL;
			     i++) {
				sub2 = xasprintf("%s[%d]", sub, i);
				hris_add_col(x, sub2, col, e);
				free(sub2);
			}
		}
		free(sub);
	}
}

static bool
hris_parse_bool(struct hmctx *x, struct fy_node *n, const char *key, bool *b)
{
	const char *v = hris_scalar(n);

	if (v != NULL && strcasecmp(v, "on") == 0) {
		*b = true;
		return true;
	}
	if (v != NULL && strcasecmp(v, "off") == 0) {
		*b = false;
		return true;
	}
	if (v == NULL || !hris_bool_text(v, b)) {
		cfg_error(x->cfg, n, key, "expected true or false");
		return false;
	}
	return true;
}

static void
hris_parse_percent(struct hmctx *x, struct fy_node *n, const char *key)
{
	const char *v = hris_scalar(n);
	char *end;
	double d;

	errno = 0;
	d = v != NULL ? strtod(v, &end) : 0;
	if (v == NULL || *v == '\0' || *end != '\0' || errno != 0 ||
	    !(d >= 0 && d <= 100)) {
		cfg_error(x->cfg, n, key,
		          "expected a percentage from 0 to 100");
		return;
	}
	x->m->max_terminate_percent = d;
}

static void
hris_parse_delim(struct hmctx *x, struct fy_node *n, const char *key)
{
	const char *v = hris_scalar(n);

	if (v != NULL && (strcmp(v, "tab") == 0 || strcmp(v, "\\t") == 0))
		v = "\t";
	if (v == NULL || strlen(v) != 1 || *v == '"' || *v == '\r' ||
	    *v == '\n') {
		cfg_error(x->cfg, n, key,
		          "expected one character such as \",\", \"|\", \";\" "
		          "or \"tab\"");
		return;
	}
	x->m->delim = *v;
}

static const char *
hris_str(struct hmctx *x, struct fy_node *n, const char *key)
{
	const char *v = hris_scalar(n);

	if (v == NULL || *v == '\0') {
		cfg_error(x->cfg, n, key, "expected a non-empty string");
		return NULL;
	}
	return v;
}

static int
hris_dep_field(const char *s)
{
	int i;

	for (i = 0; i < HRIS_DEP__COUNT; i++)
		if (strcmp(s, hris_dep_names[i]) == 0)
			return i;
	return -1;
}

/* A dependents column: a field name or {field:, date_format:, map:}. */
static void
hris_parse_dep_col(struct hmctx *x, struct fy_node *n, const char *key,
                   const char *column)
{
	struct hris_dep_col c;
	struct fy_node_pair *p;
	struct fy_node *field = NULL;
	void *iter = NULL;
	const char *k;
	char *sub;
	int f;

	memset(&c, 0, sizeof(c));
	if (hris_scalar(n) != NULL)
		field = n;
	while (field != n && fy_node_is_mapping(n) &&
	       (p = fy_node_mapping_iterate(n, &iter)) != NULL) {
		k = hris_scalar(fy_node_pair_key(p));
		sub = xasprintf("%s.%s", key, k != NULL ? k : "?");
		if (k != NULL && strcmp(k, "field") == 0)
			field = fy_node_pair_value(p);
		else if (k != NULL && strcmp(k, "date_format") == 0)
			hris_parse_date_format(x, fy_node_pair_value(p), sub,
			                       &c.conv);
		else if (k != NULL && strcmp(k, "map") == 0)
			hris_parse_map(x, fy_node_pair_value(p), sub, &c.conv);
		else
			cfg_error(
			    x->cfg, fy_node_pair_key(p), sub,
			    "unknown key (known: field, date_format, map)");
		free(sub);
	}
	if (hris_scalar(field) == NULL ||
	    (f = hris_dep_field(hris_scalar(field))) == -1) {
		cfg_error(x->cfg, field != NULL ? field : n, key,
		          "expected a dependent field: id, relationship, "
		          "first_name, middle_name, last_name, birth_date or "
		          "gender");
		hris_conv_free(&c.conv);
		return;
	}
	c.field = (enum hris_dep_field)f;
	c.column = xstrdup(column);
	x->m->dcols =
	    xrealloc(x->m->dcols, (x->m->ndcols + 1) * sizeof(*x->m->dcols));
	x->m->dcols[x->m->ndcols++] = c;
}

static bool
hris_has_dep_field(const struct hris_mapping *m, enum hris_dep_field f)
{
	size_t i;

	for (i = 0; i < m->ndcols; i++)
		if (m->dcols[i].field == f)
			return true;
	return false;
}

static void
hris_check_dep_cols(struct hmctx *x, struct fy_node *n, const char *key)
{
	struct hris_mapping *m = x->m;
	size_t i, j;

	for (i = 0; i < m->ndcols; i++)
		for (j = 0; j < i; j++)
			if (m->dcols[i].field == m->dcols[j].field)
				cfg_error(x->cfg, n, key,
				          "field %s is mapped from both \"%s\" "
				          "and \"%s\"",
				          hris_dep_names[m->dcols[i].field],
				          m->dcols[j].column,
				          m->dcols[i].column);
	if (!hris_has_dep_field(m, HRIS_DEP_ID) &&
	    (!hris_has_dep_field(m, HRIS_DEP_FIRST_NAME) ||
	     !hris_has_dep_field(m, HRIS_DEP_BIRTH_DATE)))
		cfg_error(x->cfg, n, key,
		          "dependents need an id column, or first_name and "
		          "birth_date columns, to tell them apart");
}

static void
hris_parse_dep_columns(struct hmctx *x, struct fy_node *n, const char *key)
{
	struct fy_node_pair *p;
	void *iter = NULL;
	const char *col;
	char *sub;

	if (n == NULL || !fy_node_is_mapping(n)) {
		cfg_error(x->cfg, n, key,
		          "expected a mapping of CSV columns to dependent "
		          "fields");
		return;
	}
	while ((p = fy_node_mapping_iterate(n, &iter)) != NULL) {
		col = hris_scalar(fy_node_pair_key(p));
		sub = xasprintf("%s.%s", key, col != NULL ? col : "?");
		if (col == NULL || *col == '\0')
			cfg_error(x->cfg, fy_node_pair_key(p), sub,
			          "a column name must be a non-empty scalar");
		else
			hris_parse_dep_col(x, fy_node_pair_value(p), sub, col);
		free(sub);
	}
	hris_check_dep_cols(x, n, key);
}

static void
hris_parse_dependents(struct hmctx *x, struct fy_node *n, const char *key)
{
	struct fy_node_pair *p;
	struct fy_node *cols = NULL, *v;
	void *iter = NULL;
	const char *k, *s;
	char *sub;

	if (!fy_node_is_mapping(n)) {
		cfg_error(x->cfg, n, key, "expected a mapping");
		return;
	}
	x->m->dependents = true;
	while ((p = fy_node_mapping_iterate(n, &iter)) != NULL) {
		k = hris_scalar(fy_node_pair_key(p));
		v = fy_node_pair_value(p);
		sub = xasprintf("%s.%s", key, k != NULL ? k : "?");
		if (k != NULL && strcmp(k, "relationship_column") == 0) {
			if ((s = hris_str(x, v, sub)) != NULL)
				x->m->rel_column = xstrdup(s);
		} else if (k != NULL && strcmp(k, "employee_value") == 0) {
			if ((s = hris_str(x, v, sub)) != NULL)
				x->m->employee_value = xstrdup(s);
		} else if (k != NULL && strcmp(k, "columns") == 0)
			cols = v;
		else
			cfg_error(x->cfg, fy_node_pair_key(p), sub,
			          "unknown key (known: relationship_column, "
			          "employee_value, columns)");
		free(sub);
	}
	sub = xasprintf("%s.columns", key);
	hris_parse_dep_columns(x, cols != NULL ? cols : n, sub);
	free(sub);
	if (x->m->rel_column == NULL)
		cfg_error(x->cfg, n, key, "relationship_column: required");
	if (x->m->employee_value == NULL)
		cfg_error(x->cfg, n, key,
		          "employee_value: required (the relationship code "
		          "of employee rows, e.g. EE)");
}

/* The key column feeds externalId: explicitly or implicitly, only it. */
static void
hris_check_key(struct hmctx *x, struct fy_node *n, const char *key)
{
	struct hris_mapping *m = x->m;
	const struct scim_attr *common;
	struct hris_col c;
	size_t i, ncommon;
	bool have = false;

	if (m->key == NULL)
		return; /* reported already */
	for (i = 0; i < m->ncols; i++) {
		if (!m->cols[i].is_key)
			continue;
		if (strcmp(m->cols[i].column, m->key) != 0)
			cfg_error(
			    x->cfg, n, key,
			    "externalId comes from the key column \"%s\", "
			    "not from \"%s\"",
			    m->key, m->cols[i].column);
		have = true;
	}
	if (have)
		return;
	memset(&c, 0, sizeof(c));
	c.column = xstrdup(m->key);
	c.attr = xstrdup("externalId");
	c.path = xstrdup("externalId");
	c.remove_path = xstrdup("externalId");
	/* Two statements: the count is set by the call. */
	common = scim_common_attrs(&ncommon);
	c.leaf = scim_attr_find(common, ncommon, "externalId", 10);
	c.is_key = true;
	m->cols = xrealloc(m->cols, (m->ncols + 1) * sizeof(*m->cols));
	memmove(m->cols + 1, m->cols, m->ncols * sizeof(*m->cols));
	m->cols[0] = c;
	m->ncols++;
}

/* Flags and JSON paths derived once the columns are known. */
static void
hris_finish(struct hris_mapping *m)
{
	struct hris_col *c;
	size_t i;

	for (i = 0; i < m->ncols; i++) {
		c = &m->cols[i];
		c->jpath = json_string(c->path);
		c->jremove = json_string(c->remove_path);
		if (c->leaf == NULL || c->filtered)
			continue;
		if (strcasecmp(c->path, "userName") == 0)
			m->maps_username = true;
		else if (strcasecmp(c->path, "active") == 0)
			m->maps_active = true;
		else if (strcasecmp(c->path, SCIM_URN_ELIGIBILITY
		                    ":employmentStatus") == 0)
			m->status = c;
	}
}

/* FNV-1a over everything that decides how a row becomes a person. */
static uint64_t
hris_fnv(uint64_t h, const char *s)
{
	if (s == NULL)
		s = "\x01";
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return (h ^ 0xff) * 0x100000001b3ULL;
}

static uint64_t
hris_conv_fnv(uint64_t h, const struct hris_conv *cv)
{
	size_t i;

	h = hris_fnv(h, cv->date_format);
	for (i = 0; i < cv->nmap; i++)
		h = hris_fnv(hris_fnv(h, cv->map[i].from), cv->map[i].to);
	return h;
}

static uint64_t
hris_fingerprint(const struct hris_mapping *m)
{
	uint64_t h = hris_fnv(0xcbf29ce484222325ULL, "rosterd-hris-1");
	size_t i;

	h = hris_fnv(h, m->key);
	for (i = 0; i < m->ncols; i++) {
		h = hris_fnv(hris_fnv(h, m->cols[i].column), m->cols[i].path);
		h = hris_conv_fnv(h, &m->cols[i].conv);
	}
	h = hris_fnv(hris_fnv(h, m->rel_column), m->employee_value);
	for (i = 0; i < m->ndcols; i++) {
		h = hris_fnv(hris_fnv(h, m->dcols[i].column),
		             hris_dep_names[m->dcols[i].field]);
		h = hris_conv_fnv(h, &m->dcols[i].conv);
	}
	return h;
}

static void
hris_parse_mapping_key(struct hmctx *x, const char *k, struct fy_node *v,
                       const char *sub, struct fy_node **cols)
{
	const char *s;

	if (strcmp(k, "key") == 0) {
		if ((s = hris_str(x, v, sub)) != NULL)
			x->m->key = xstrdup(s);
	} else if (strcmp(k, "delimiter") == 0)
		hris_parse_delim(x, v, sub);
	else if (strcmp(k, "full_file") == 0)
		hris_parse_bool(x, v, sub, &x->m->full_file);
	else if (strcmp(k, "max_terminate_percent") == 0)
		hris_parse_percent(x, v, sub);
	else if (strcmp(k, "columns") == 0)
		*cols = v;
	else if (strcmp(k, "dependents") == 0)
		hris_parse_dependents(x, v, sub);
	else
		cfg_error(x->cfg, v, sub,
		          "unknown key (known: key, delimiter, full_file, "
		          "max_terminate_percent, columns, dependents)");
}

static void
hris_parse_mapping(struct hmctx *x, struct fy_node *n, const char *key)
{
	struct fy_node_pair *p;
	struct fy_node *cols = NULL;
	void *iter = NULL;
	const char *k;
	char *sub;

	if (!fy_node_is_mapping(n)) {
		cfg_error(x->cfg, n, key, "expected a mapping");
		return;
	}
	while ((p = fy_node_mapping_iterate(n, &iter)) != NULL) {
		k = hris_scalar(fy_node_pair_key(p));
		sub = xasprintf("%s.%s", key, k != NULL ? k : "?");
		hris_parse_mapping_key(x, k != NULL ? k : "?",
		                       fy_node_pair_value(p), sub, &cols);
		free(sub);
	}
	if (x->m->key == NULL)
		cfg_error(x->cfg, n, key,
		          "key: required: the CSV column holding the "
		          "employee id (stored as externalId)");
	sub = xasprintf("%s.columns", key);
	hris_parse_columns(x, cols != NULL ? cols : n, sub);
	hris_check_key(x, cols != NULL ? cols : n, sub);
	free(sub);
	hris_finish(x->m);
	x->m->fingerprint = hris_fingerprint(x->m);
}

struct hris_config *
hris_config_load(struct cfg *c)
{
	struct hris_config *hc = xcalloc(1, sizeof(*hc));
	struct fy_node *sec = cfg_section(c, "mappings");
	struct fy_node_pair *p;
	struct hmctx x = {.cfg = c, .rt = scim_rtype_user()};
	void *iter = NULL;
	const char *name;
	char *key;

	if (sec == NULL)
		return hc;
	if (!fy_node_is_mapping(sec)) {
		cfg_error(c, sec, "mappings",
		          "expected a mapping of names to "
		          "mappings");
		return hc;
	}
	while ((p = fy_node_mapping_iterate(sec, &iter)) != NULL) {
		name = hris_scalar(fy_node_pair_key(p));
		key = xasprintf("mappings.%s", name != NULL ? name : "?");
		if (name == NULL || !hris_name_ok(name)) {
			cfg_error(c, fy_node_pair_key(p), key,
			          "a mapping name uses only letters, digits, "
			          "'.', '_' and '-'");
			free(key);
			continue;
		}
		hc->maps = xrealloc(hc->maps, (hc->n + 1) * sizeof(*hc->maps));
		x.m = &hc->maps[hc->n++];
		memset(x.m, 0, sizeof(*x.m));
		x.m->name = xstrdup(name);
		x.m->delim = ',';
		x.m->max_terminate_percent = HRIS_MAX_TERMINATE_DEFAULT;
		hris_parse_mapping(&x, fy_node_pair_value(p), key);
		free(key);
	}
	return hc;
}

/*--- Reports ---*/

void
hris_error_format(const struct hris_error *e, struct buf *b)
{
	if (e->row > 0) {
		buf_addf(b, "row %lld", (long long)e->row);
		if (e->col > 0) {
			buf_addf(b, ", column %zu", e->col);
			if (e->name != NULL)
				buf_addf(b, " (%s)", e->name);
		}
		buf_addstr(b, ": ");
	}
	buf_addstr(b, e->msg);
}

void
hris_report_clear(struct hris_report *r)
{
	size_t i;

	for (i = 0; i < r->nkept; i++) {
		free(r->errors[i].name);
		free(r->errors[i].msg);
	}
	free(r->errors);
	free(r->fatal);
	free(r->warning);
	memset(r, 0, sizeof(*r));
}
