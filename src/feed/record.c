/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* A member's column values: extraction from the document and transforms. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "feed/date.h"
#include "feed/record.h"
#include "util/xmalloc.h"

static bool
col_dynamic(const struct feed_column *c)
{
	return c->src >= FEED_SRC_ACTION;
}

/*
 * Where to cut s to at most `width` bytes without splitting a UTF-8
 * sequence (fixed-width positions are bytes, as in the fmt writers).
 */
static size_t
u8_cut(const char *s, size_t width)
{
	size_t cut = width;

	while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
		cut--;
	return cut;
}

static const char *
map_find(const struct feed_column *c, const char *v)
{
	size_t i;

	for (i = 0; i < c->nmap; i++)
		if (strcmp(c->map[i].from, v) == 0)
			return c->map[i].to;
	return NULL;
}

static int
tr_date(const struct feed_column *c, const char *v, struct buf *out,
        struct buf *err)
{
	struct feed_date d;

	if (feed_date_parse(v, &d) == -1) {
		buf_addf(err, "\"%s\" is not a date (YYYY-MM-DD)", v);
		return -1;
	}
	feed_date_format(c->date_format, &d, out);
	return 0;
}

/* ASCII case conversion of p[0..n) in place. */
static void
tr_case(const struct feed_column *c, char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (c->kase == FEED_CASE_UPPER && p[i] >= 'a' && p[i] <= 'z')
			p[i] -= 'a' - 'A';
		else if (c->kase == FEED_CASE_LOWER && p[i] >= 'A' &&
		         p[i] <= 'Z')
			p[i] += 'a' - 'A';
	}
}

int
feed_transform(const struct feed_column *c, const char *in, struct buf *out,
               struct buf *err)
{
	struct buf d;
	const char *v = in, *to;
	size_t n, start = out->len;
	int rc = 0;

	/* Only a date format needs room of its own; the rest is in place. */
	d.data = NULL;
	if (*v == '\0' && c->def != NULL)
		v = c->def;
	if (c->date_format != NULL && *v != '\0') {
		buf_init(&d, 0);
		if (tr_date(c, v, &d, err) == -1) {
			rc = -1;
			goto out;
		}
		v = buf_str(&d);
	}
	if (c->nmap > 0) {
		if ((to = map_find(c, v)) != NULL)
			v = to;
		else if (c->def != NULL)
			v = c->def;
	}
	n = strlen(v);
	if (c->width > 0 && n > c->width) {
		if (!c->truncate) {
			buf_addf(err,
			         "\"%s\" is %zu bytes, wider than width %zu "
			         "(set truncate: true to cut it)",
			         v, n, c->width);
			rc = -1;
			goto out;
		}
		n = u8_cut(v, c->width);
	}
	buf_add(out, v, n);
	if (c->kase != FEED_CASE_NONE && !out->failed)
		tr_case(c, out->data + start, out->len - start);
out:
	if (d.data != NULL)
		buf_free(&d);
	return rc;
}

/* Append a JSON scalar as text; 0 when it has none. */
static int
json_text(const json_t *v, struct buf *out)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		buf_add(out, json_string_value(v), json_string_length(v));
		return 1;
	case JSON_INTEGER:
		buf_addf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return 1;
	case JSON_REAL:
		buf_addf(out, "%.17g", json_real_value(v));
		return 1;
	case JSON_TRUE:
		buf_addstr(out, "true");
		return 1;
	case JSON_FALSE:
		buf_addstr(out, "false");
		return 1;
	default:
		return 0;
	}
}

static const json_t *
obj_get(const json_t *o, const char *name)
{
	const char *k;
	json_t *v;

	if ((v = json_object_get(o, name)) != NULL)
		return v;
	json_object_foreach((json_t *)o, k, v)
	{
		if (strcasecmp(k, name) == 0)
			return v;
	}
	return NULL;
}

/*
 * The element of a multi-valued attribute a column reads: the first
 * matching its value filter, a matching one marked primary winning over
 * it; without a filter the primary one, else the first.
 */
static const json_t *
multi_pick(const struct feed_column *c, const json_t *arr)
{
	const json_t *e, *first = NULL;
	size_t i;

	json_array_foreach(arr, i, e)
	{
		if (c->vfilter != NULL &&
		    !scim_filter_match_elem(c->vfilter, e))
			continue;
		if (json_is_true(obj_get(e, "primary")))
			return e;
		if (first == NULL)
			first = e;
	}
	return first;
}

/* Compare a string span with a literal, as the attribute's case says. */
static bool
span_cmp(const struct jpath_span *sp, const struct scim_filter *f)
{
	const char *lit = json_string_value(f->value), *v;
	bool fold = !f->path.sub->case_exact;
	size_t n = strlen(lit), vn;
	struct buf b;
	bool r = false;

	buf_init(&b, 0);
	if (jpath_text(sp, &b) != 1 || sp->p[0] != '"')
		goto out;
	v = buf_str(&b);
	vn = b.len;
	if (n > vn)
		goto out;
	switch (f->op) {
	case SCIM_F_EQ:
		r = vn == n &&
		    (fold ? strncasecmp(v, lit, n) : strncmp(v, lit, n)) == 0;
		break;
	case SCIM_F_SW:
		r = (fold ? strncasecmp(v, lit, n) : strncmp(v, lit, n)) == 0;
		break;
	case SCIM_F_EW:
		r = (fold ? strncasecmp(v + vn - n, lit, n)
		          : strncmp(v + vn - n, lit, n)) == 0;
		break;
	default: /* co */
		r = fold ? strcasestr(v, lit) != NULL : strstr(v, lit) != NULL;
		break;
	}
out:
	buf_free(&b);
	return r;
}

static const struct jpath_span *
elem_span(const struct feed_column *c, const struct jpath_span *spans,
          const char *name)
{
	size_t i;

	for (i = 0; i < c->nenames; i++)
		if (strcasecmp(c->enames[i], name) == 0)
			return &spans[c->eslots[i]];
	return NULL;
}

/* The value filter on one element's scanned sub-attributes. */
static bool
fast_match(const struct feed_column *c, const struct scim_filter *f,
           const struct jpath_span *spans)
{
	const struct jpath_span *sp;

	switch (f->op) {
	case SCIM_F_AND:
		return fast_match(c, f->left, spans) &&
		       fast_match(c, f->right, spans);
	case SCIM_F_OR:
		return fast_match(c, f->left, spans) ||
		       fast_match(c, f->right, spans);
	case SCIM_F_NOT:
		return !fast_match(c, f->left, spans);
	default:
		break;
	}
	sp = elem_span(c, spans, f->path.sub->name);
	if (sp == NULL || sp->p == NULL || sp->len == 0 || sp->p[0] == 'n')
		return false;
	if (f->op == SCIM_F_PR)
		return !(sp->len == 2 && (sp->p[0] == '"' || sp->p[0] == '['));
	if (f->path.sub->type == SCIM_T_BOOLEAN)
		return (sp->p[0] == 't') == json_is_true(f->value) &&
		       (sp->p[0] == 't' || sp->p[0] == 'f');
	return span_cmp(sp, f);
}

/*
 * multi_pick() on the element texts: no JSON tree. -1 for text that is
 * not an array of objects (the caller falls back to jansson).
 */
static int
fast_pick(const struct feed_column *c, const struct jpath_span *arr,
          struct buf *raw)
{
	struct jpath_span el, spans[12], first[12];
	bool have = false;
	size_t pos = 0;
	int rc;

	if (jpath_count(c->elem) > 12)
		return -1;
	while ((rc = jpath_array_next(arr, &pos, &el)) == 1) {
		if (jpath_scan(c->elem, el.p, el.len, spans) == -1)
			return -1;
		if (c->vfilter != NULL && !fast_match(c, c->vfilter, spans))
			continue;
		if (spans[c->eslot_primary].len == 4 &&
		    memcmp(spans[c->eslot_primary].p, "true", 4) == 0) {
			memcpy(first, spans, sizeof(spans));
			have = true;
			break;
		}
		if (!have) {
			memcpy(first, spans, sizeof(spans));
			have = true;
		}
	}
	if (rc == -1)
		return -1;
	if (have && jpath_text(&first[c->eslot_sub], raw) == -1)
		return -1;
	return 0;
}

static int
attr_multi(const struct feed_column *c, const struct jpath_span *sp,
           struct buf *raw, struct buf *err)
{
	size_t mark = raw->len;

	if (sp->p != NULL && c->fast) {
		if (fast_pick(c, sp, raw) == 0)
			return 0;
		raw->len = mark;
		if (raw->data != NULL)
			raw->data[mark] = '\0';
	}
	const json_t *e;
	json_error_t je;
	json_t *arr;

	if (sp->p == NULL)
		return 0;
	arr = json_loadb(sp->p, sp->len, JSON_DECODE_ANY, &je);
	if (arr == NULL) {
		buf_addf(err, "malformed stored value: %s", je.text);
		return -1;
	}
	if (json_is_array(arr) && (e = multi_pick(c, arr)) != NULL) {
		if (c->sub != NULL)
			e = obj_get(e, c->sub->name);
		if (e != NULL)
			json_text(e, raw);
	}
	json_decref(arr);
	return 0;
}

static void
add_opt(struct buf *b, const char *s)
{
	if (s != NULL)
		buf_addstr(b, s);
}

/*
 * The attributes a dependent has of its own; 1 when c names one (the
 * value, perhaps empty, is in raw), 0 when it comes from the subscriber.
 */
static int
dep_value(const struct feed_column *c, const struct feed_dependent *d,
          struct buf *raw)
{
	const char *a = c->path.attr->name;
	const char *sub = c->path.sub != NULL ? c->path.sub->name : "";

	if (c->path.ext &&
	    strcmp(c->path.schema->id, SCIM_URN_ELIGIBILITY) == 0 &&
	    strcmp(a, "birthDate") == 0)
		add_opt(raw, d->birth_date);
	else if (c->path.ext || c->path.schema == NULL)
		return 0;
	else if (strcmp(a, "name") == 0 && strcmp(sub, "givenName") == 0)
		add_opt(raw, d->first_name);
	else if (strcmp(a, "name") == 0 && strcmp(sub, "middleName") == 0)
		add_opt(raw, d->middle_name);
	else if (strcmp(a, "name") == 0 && strcmp(sub, "familyName") == 0)
		add_opt(raw, d->last_name);
	else if ((strcmp(a, "name") == 0 && strcmp(sub, "formatted") == 0) ||
	         strcmp(a, "displayName") == 0) {
		add_opt(raw, d->first_name);
		if (d->first_name != NULL && d->last_name != NULL)
			buf_addch(raw, ' ');
		add_opt(raw, d->last_name);
	} else
		return 0;
	return 1;
}

/* The raw (untransformed) value of an attribute column into raw. */
static int
attr_value(const struct feed_column *c, const struct feed_person *p,
           struct buf *raw, struct buf *err)
{
	const struct jpath_span *sp;

	if (p->dep != NULL && dep_value(c, p->dep, raw) == 1)
		return 0;
	if (c->path.schema == NULL && !c->path.ext) {
		/* common attributes kept outside the document */
		if (strcmp(c->path.attr->name, "id") == 0) {
			buf_addstr(raw, p->id != NULL ? p->id : "");
			return 0;
		}
		if (c->path.sub != NULL &&
		    strcmp(c->path.sub->name, "created") == 0) {
			buf_addstr(raw, p->created != NULL ? p->created : "");
			return 0;
		}
		if (c->path.sub != NULL &&
		    strcmp(c->path.sub->name, "lastModified") == 0) {
			buf_addstr(raw, p->modified != NULL ? p->modified : "");
			return 0;
		}
	}
	if (c->slot < 0)
		return 0;
	sp = &p->spans[c->slot];
	if (c->path.attr->multi)
		return attr_multi(c, sp, raw, err);
	if (jpath_text(sp, raw) == -1) {
		buf_addstr(err, "malformed stored value");
		return -1;
	}
	return 0;
}

static int
raw_value(const struct feed_profile *pr, const struct feed_column *c,
          const struct feed_person *p, struct buf *raw, struct buf *err)
{
	switch (c->src) {
	case FEED_SRC_ATTR:
		return attr_value(c, p, raw, err);
	case FEED_SRC_CONST:
		buf_addstr(raw, c->konst);
		return 0;
	case FEED_SRC_KEY:
		buf_addstr(raw, p->key);
		return 0;
	case FEED_SRC_RELATIONSHIP:
		buf_addstr(raw, p->dep != NULL && p->dep->relationship != NULL
		                    ? p->dep->relationship
		                    : "18");
		return 0;
	case FEED_SRC_MEMBER_KEY:
		buf_addstr(raw, p->key);
		if (p->dep != NULL)
			buf_addf(raw, "-%s", p->dep->key);
		return 0;
	case FEED_SRC_DEP_KEY:
		if (p->dep != NULL)
			buf_addstr(raw, p->dep->key);
		return 0;
	case FEED_SRC_GENDER:
		if (p->dep != NULL)
			add_opt(raw, p->dep->gender);
		return 0;
	case FEED_SRC_TENANT:
		buf_addstr(raw, pr->tenant);
		return 0;
	case FEED_SRC_FEED:
		buf_addstr(raw, pr->name);
		return 0;
	default:
		return 0;
	}
}

/*
 * Control characters would break lines and the stored separator: a
 * member's value never carries one.
 */
static void
sanitize(struct buf *b)
{
	size_t i;

	for (i = 0; i < b->len; i++)
		if ((unsigned char)b->data[i] < 0x20 || b->data[i] == 0x7f)
			b->data[i] = ' ';
}

int
feed_record_values(const struct feed_profile *pr, const struct feed_person *p,
                   struct buf *vals, struct buf *err)
{
	const struct feed_column *c;
	struct buf raw;
	size_t i;
	int rc = 0;

	buf_init(&raw, 0);
	for (i = 0; i < pr->ncols; i++) {
		c = &pr->cols[i];
		if (i > 0)
			buf_addch(vals, FEED_SEP);
		if (col_dynamic(c))
			continue;
		buf_reset(&raw);
		if (raw_value(pr, c, p, &raw, err) == -1) {
			rc = -1;
			break;
		}
		sanitize(&raw);
		if (feed_transform(c, buf_str(&raw), vals, err) == -1) {
			rc = -1;
			break;
		}
	}
	if (rc == -1) {
		/* Name the column in front of the problem. */
		struct buf m;

		buf_init(&m, 0);
		buf_addf(&m, "column %s: %s", pr->cols[i].name, buf_str(err));
		buf_reset(err);
		buf_addstr(err, buf_str(&m));
		buf_free(&m);
	}
	buf_free(&raw);
	return rc;
}

void
feed_rec_init(struct feed_rec *r, const struct feed_profile *pr)
{
	memset(r, 0, sizeof(*r));
	r->ncols = pr->ncols;
	r->values = xcalloc(pr->ncols ? pr->ncols : 1, sizeof(*r->values));
	r->dyn_off = xcalloc(pr->ncols ? pr->ncols : 1, sizeof(*r->dyn_off));
	buf_init(&r->split, 0);
	buf_init(&r->dyn, 0);
}

void
feed_rec_free(struct feed_rec *r)
{
	free(r->values);
	free(r->dyn_off);
	buf_free(&r->split);
	buf_free(&r->dyn);
	memset(r, 0, sizeof(*r));
}

static const char *
dyn_input(const struct feed_column *c, const struct feed_dyn *d)
{
	const char *v = NULL;

	switch (c->src) {
	case FEED_SRC_ACTION:
		v = d->action;
		break;
	case FEED_SRC_TERM_DATE:
		v = d->term_date;
		break;
	case FEED_SRC_TERM_REASON:
		v = d->term_reason;
		break;
	case FEED_SRC_AS_OF:
		v = d->as_of;
		break;
	default:
		break;
	}
	return v != NULL ? v : "";
}

static int
rec_dynamic(struct feed_rec *r, const struct feed_profile *pr,
            const struct feed_dyn *d, struct buf *err)
{
	size_t i;

	buf_reset(&r->dyn);
	for (i = 0; i < pr->ncols; i++) {
		if (!col_dynamic(&pr->cols[i]))
			continue;
		r->dyn_off[i] = r->dyn.len;
		if (feed_transform(&pr->cols[i], dyn_input(&pr->cols[i], d),
		                   &r->dyn, err) == -1)
			return -1;
		buf_addch(&r->dyn, '\0');
	}
	if (r->dyn.failed)
		return -1;
	for (i = 0; i < pr->ncols; i++)
		if (col_dynamic(&pr->cols[i]))
			r->values[i] = r->dyn.data + r->dyn_off[i];
	return 0;
}

int
feed_rec_fill(struct feed_rec *r, const struct feed_profile *pr,
              const char *vals, const struct feed_dyn *d, struct buf *err)
{
	char *p, *sep;
	size_t i;

	buf_reset(&r->split);
	buf_addstr(&r->split, vals != NULL ? vals : "");
	buf_addch(&r->split, '\0');
	if (r->split.failed) {
		buf_addstr(err, "values too long");
		return -1;
	}
	p = r->split.data;
	for (i = 0; i < pr->ncols; i++) {
		r->values[i] = p;
		if ((sep = strchr(p, FEED_SEP)) != NULL) {
			*sep = '\0';
			p = sep + 1;
		} else
			p += strlen(p); /* later fields are empty */
	}
	if (pr->has_dynamic)
		return rec_dynamic(r, pr, d, err);
	return 0;
}

int *
feed_record_layout_map(const struct feed_profile *pr, const char *old_layout)
{
	json_t *old, *v;
	int *map;
	size_t i, j;

	if (old_layout == NULL || strcmp(old_layout, pr->layout) == 0)
		return NULL;
	if ((old = json_loads(old_layout, 0, NULL)) == NULL ||
	    !json_is_array(old)) {
		json_decref(old);
		return NULL;
	}
	map = xcalloc(pr->ncols ? pr->ncols : 1, sizeof(*map));
	for (i = 0; i < pr->ncols; i++) {
		map[i] = -1;
		json_array_foreach(old, j, v)
		{
			if (json_is_string(v) &&
			    strcmp(json_string_value(v), pr->cols[i].name) ==
			        0) {
				map[i] = (int)j;
				break;
			}
		}
	}
	json_decref(old);
	return map;
}

/* Field i of a stored string as (pointer, length); "" when missing. */
static const char *
field(const char *vals, int i, size_t *len)
{
	const char *p = vals, *e;

	for (; i > 0 && p != NULL; i--) {
		p = strchr(p, FEED_SEP);
		if (p != NULL)
			p++;
	}
	if (p == NULL || i < 0) {
		*len = 0;
		return "";
	}
	e = strchr(p, FEED_SEP);
	*len = e != NULL ? (size_t)(e - p) : strlen(p);
	return p;
}

size_t
feed_record_diff_each(const struct feed_profile *pr, const char *old_vals,
                      const int *old_index, const char *new_vals,
                      feed_diff_fn fn, void *arg)
{
	const char *a, *b;
	size_t i, alen, blen, n = 0;

	for (i = 0; i < pr->ncols; i++) {
		if (col_dynamic(&pr->cols[i]))
			continue;
		a = field(old_vals, old_index != NULL ? old_index[i] : (int)i,
		          &alen);
		b = field(new_vals, (int)i, &blen);
		if (alen == blen && memcmp(a, b, alen) == 0)
			continue;
		n++;
		fn(pr->cols[i].name, a, alen, b, blen, arg);
	}
	return n;
}

static void
diff_name(const char *name, const char *a, size_t alen, const char *b,
          size_t blen, void *arg)
{
	struct buf *out = arg;

	(void)a, (void)alen, (void)b, (void)blen;
	if (out->len > 0)
		buf_addch(out, ',');
	buf_addstr(out, name);
}

size_t
feed_record_diff(const struct feed_profile *pr, const char *old_vals,
                 const int *old_index, const char *new_vals, struct buf *out)
{
	struct buf names;
	size_t n;

	buf_init(&names, 0);
	n = feed_record_diff_each(pr, old_vals, old_index, new_vals, diff_name,
	                          &names);
	buf_addstr(out, buf_str(&names));
	buf_free(&names);
	return n;
}
