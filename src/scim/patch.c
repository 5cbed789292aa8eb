/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* SCIM PATCH (RFC 7644 §3.5.2) on a stored doc, plus the members delta. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "scim/error.h"
#include "scim/filter.h"
#include "scim/patch.h"
#include "scim/schema.h"
#include "util/buf.h"
#include "util/xmalloc.h"

enum patch_op { PATCH_ADD, PATCH_REPLACE, PATCH_REMOVE };

static const char *const patch_op_names[] = {"add", "replace", "remove"};

/* A parsed path: what scim_filter_parse_path() hands back. */
struct patch_parsed {
	struct scim_attrpath ap;
	struct scim_filter *f; /* owned; read-only once parsed */
	const struct scim_attr *sub;
};

/* One cached path; busy while an operation uses it, so never evicted then. */
struct patch_path_entry {
	const struct scim_rtype *rt;
	char *text; /* NULL: free slot */
	struct patch_parsed pp;
	unsigned busy;
};

/*
 * Bounded: a client may send any number of distinct paths, but the
 * importer's are one per mapped column.
 */
#define PATCH_PATHS_MAX 32

struct scim_patch_paths {
	struct patch_path_entry e[PATCH_PATHS_MAX];
	size_t victim; /* next slot to evict, round robin */
};

/* One PatchOp being applied. */
struct patch_ctx {
	const struct scim_rtype *rt;
	struct scim_patch_paths *paths; /* or NULL: parse every time */
	json_t *doc;
	struct scim_patch_members *mem;
	struct scim_err *e;
	size_t idx; /* index into Operations, for messages */
	enum patch_op op;
};

/* Where an operation points: a path, or one key of a no-path value. */
struct patch_target {
	struct scim_attrpath ap;
	const struct scim_filter *filter; /* inner value filter, or NULL */
	const struct scim_attr *sub;      /* targeted sub-attribute, or NULL */
	const char *text;                 /* the path as the client wrote it */
	const char *where;                /* ".path" or ".value" */
};

static int patch_target_apply(struct patch_ctx *, const struct patch_target *,
                              const json_t *);
static int patch_keys(struct patch_ctx *, const json_t *, const char *);

static int __attribute__((format(printf, 4, 5)))
patch_fail(struct patch_ctx *c, const char *type, const char *where,
           const char *fmt, ...)
{
	struct buf b;
	va_list ap;

	buf_init(&b, 4096);
	buf_addf(&b, "Operations[%zu]%s: ", c->idx, where);
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	scim_err_set(c->e, 400, type, "%s", buf_str(&b));
	buf_free(&b);
	return -1;
}

/*--- JSON helpers: attribute names are case-insensitive (RFC 7643 §2.1) ---*/

static json_t *
patch_get(const json_t *o, const char *name)
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

static void
patch_del(json_t *o, const char *name)
{
	const char *k;
	json_t *v;
	void *tmp;

	json_object_foreach_safe(o, tmp, k, v)
	{
		if (strcasecmp(k, name) == 0)
			json_object_del(o, k);
	}
}

/* Store v (reference stolen) under the canonical name. */
static void
patch_set(json_t *o, const char *name, json_t *v)
{
	patch_del(o, name);
	json_object_set_new(o, name, v);
}

/* Copy src's members into dst; a null member unassigns (RFC 7643 §2.5). */
static void
patch_merge(json_t *dst, const json_t *src)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)src, k, v)
	{
		if (json_is_null(v))
			patch_del(dst, k);
		else
			patch_set(dst, k, json_deep_copy(v));
	}
}

static bool
patch_in(const json_t *arr, const json_t *el)
{
	size_t i;
	json_t *x;

	json_array_foreach(arr, i, x)
	{
		if (x == el)
			return true;
	}
	return false;
}

/* Drop object elements that became empty. */
static void
patch_drop_empty(json_t *arr)
{
	size_t i;

	for (i = json_array_size(arr); i-- > 0;) {
		json_t *el = json_array_get(arr, i);

		if (json_is_object(el) && json_object_size(el) == 0)
			json_array_remove(arr, i);
	}
}

/*--- Values: shape checks and Entra's boolean strings ---*/

static bool
patch_bool_str(const char *s, bool *out)
{
	if (strcasecmp(s, "true") == 0)
		*out = true;
	else if (strcasecmp(s, "false") == 0)
		*out = false;
	else
		return false;
	return true;
}

/*
 * A copy of one value of the simple attribute a, with "True"/"False"
 * strings turned into booleans (Entra ID sends those). NULL when v is an
 * object or array. Deeper type checks are scim_schema_normalize()'s.
 */
static json_t *
patch_simple(const struct scim_attr *a, const json_t *v)
{
	bool b;

	if (json_is_object(v) || json_is_array(v))
		return NULL;
	if (a->type == SCIM_T_BOOLEAN && json_is_string(v) &&
	    patch_bool_str(json_string_value(v), &b))
		return json_boolean(b);
	return json_deep_copy(v);
}

/*
 * A copy of object v for the complex attribute a with canonical
 * sub-attribute names. Unknown members are kept for normalisation to drop.
 * NULL when v is not an object (*bad NULL) or a sub-attribute holds an
 * object or array (*bad names it).
 */
static json_t *
patch_complex(const struct scim_attr *a, const json_t *v, const char **bad)
{
	const struct scim_attr *s;
	const char *k;
	json_t *out, *sv, *nv;

	*bad = NULL;
	if (!json_is_object(v))
		return NULL;
	out = json_object();
	json_object_foreach((json_t *)v, k, sv)
	{
		s = scim_attr_find(a->sub, a->nsub, k, strlen(k));
		if (s == NULL) {
			json_object_set_new(out, k, json_deep_copy(sv));
			continue;
		}
		if ((nv = patch_simple(s, sv)) == NULL) {
			*bad = s->name;
			json_decref(out);
			return NULL;
		}
		json_object_set_new(out, s->name, nv);
	}
	return out;
}

/* One value of a (one element when a is multi-valued), checked. */
static json_t *
patch_one(struct patch_ctx *c, const struct patch_target *t,
          const struct scim_attr *a, const json_t *v)
{
	const char *bad;
	json_t *out, *wrap;

	if (a->type != SCIM_T_COMPLEX) {
		if ((out = patch_simple(a, v)) == NULL)
			patch_fail(c, SCIM_ET_INVALID_VALUE, ".value",
			           "\"%.200s\" takes a single value, not an %s",
			           t->text,
			           json_is_array(v) ? "array" : "object");
		return out;
	}
	/*
	 * Entra ID sends the enterprise "manager" as the bare id string;
	 * RFC 7643 §4.3 makes it a complex value with "value".
	 */
	if (!a->multi && !json_is_object(v) && !json_is_array(v) &&
	    scim_attr_find(a->sub, a->nsub, "value", 5) != NULL) {
		wrap = json_pack("{s:O}", "value", (json_t *)v);
		out = patch_complex(a, wrap, &bad);
		json_decref(wrap);
	} else
		out = patch_complex(a, v, &bad);
	if (out != NULL)
		return out;
	if (bad != NULL)
		patch_fail(
		    c, SCIM_ET_INVALID_VALUE, ".value",
		    "\"%.200s\": sub-attribute \"%s\" takes a single value",
		    t->text, bad);
	else
		patch_fail(c, SCIM_ET_INVALID_VALUE, ".value",
		           "%s\"%.200s\" takes an object of sub-attributes",
		           a->multi ? "each value of " : "", t->text);
	return NULL;
}

/*
 * The values for the multi-valued a: an array, or one value standing for
 * a one-element array (what most clients send with add). Nulls are skipped.
 */
static json_t *
patch_elems(struct patch_ctx *c, const struct patch_target *t, const json_t *v)
{
	json_t *arr, *x, *el;
	size_t i;

	arr = json_array();
	if (!json_is_array(v)) {
		if ((x = patch_one(c, t, t->ap.attr, v)) == NULL) {
			json_decref(arr);
			return NULL;
		}
		json_array_append_new(arr, x);
		return arr;
	}
	json_array_foreach(v, i, el)
	{
		if (json_is_null(el))
			continue;
		if ((x = patch_one(c, t, t->ap.attr, el)) == NULL) {
			json_decref(arr);
			return NULL;
		}
		json_array_append_new(arr, x);
	}
	return arr;
}

/* The value for a targeted sub-attribute. */
static json_t *
patch_subval(struct patch_ctx *c, const struct patch_target *t, const json_t *v)
{
	json_t *out;

	if ((out = patch_simple(t->sub, v)) == NULL)
		patch_fail(c, SCIM_ET_INVALID_VALUE, ".value",
		           "\"%.200s\" takes a single value, not an %s",
		           t->text, json_is_array(v) ? "array" : "object");
	return out;
}

/*--- Multi-valued attributes ---*/

/*
 * RFC 7644 §3.5.2: a value given primary=true makes every other value's
 * primary false, so at most one stays primary (RFC 7643 §2.4).
 */
static void
patch_primary(const struct scim_attr *a, json_t *arr, const json_t *touched)
{
	json_t *el;
	size_t i;
	bool hit = false;

	if (a->type != SCIM_T_COMPLEX ||
	    scim_attr_find(a->sub, a->nsub, "primary", 7) == NULL)
		return;
	json_array_foreach(touched, i, el)
	{
		if (json_is_true(json_object_get(el, "primary")))
			hit = true;
	}
	if (!hit)
		return;
	json_array_foreach(arr, i, el)
	{
		if (json_is_true(json_object_get(el, "primary")) &&
		    !patch_in(touched, el))
			json_object_set_new(el, "primary", json_false());
	}
}

/* True if every member of want equals el's (or el equals a simple want). */
static bool
patch_elem_has(const json_t *el, const json_t *want)
{
	const char *k;
	json_t *v;

	if (!json_is_object(want) || !json_is_object(el))
		return json_equal(el, want);
	json_object_foreach((json_t *)want, k, v)
	{
		if (!json_equal(json_object_get(el, k), v))
			return false;
	}
	return true;
}

/* The array under a's name in holder, created when create is set. */
static json_t *
patch_array(json_t *holder, const struct scim_attr *a, bool create)
{
	json_t *arr = patch_get(holder, a->name);

	if (json_is_array(arr) || !create)
		return json_is_array(arr) ? arr : NULL;
	arr = json_array();
	patch_set(holder, a->name, arr);
	return arr;
}

/* An emptied multi-valued attribute is unassigned (RFC 7644 §3.5.2.2). */
static void
patch_array_tidy(json_t *holder, const struct scim_attr *a)
{
	json_t *arr = patch_get(holder, a->name);

	if (json_is_array(arr)) {
		patch_drop_empty(arr);
		if (json_array_size(arr) == 0)
			patch_del(holder, a->name);
	}
}

/* Remove with a value (no filter): drop the values it describes. */
static int
patch_multi_remove_values(struct patch_ctx *c, const struct patch_target *t,
                          json_t *holder, const json_t *value)
{
	json_t *arr, *elems, *x;
	size_t i, j;

	if ((elems = patch_elems(c, t, value)) == NULL)
		return -1;
	arr = patch_array(holder, t->ap.attr, false);
	for (i = json_array_size(arr); i-- > 0;) {
		json_array_foreach(elems, j, x)
		{
			if (patch_elem_has(json_array_get(arr, i), x)) {
				json_array_remove(arr, i);
				break;
			}
		}
	}
	json_decref(elems);
	return 0;
}

/* add: append the values not already present (RFC 7644 §3.5.2.1). */
static int
patch_multi_append(struct patch_ctx *c, const struct patch_target *t,
                   json_t *holder, const json_t *value)
{
	json_t *arr, *elems, *touched, *el, *x;
	size_t i, j;
	bool dup;

	if ((elems = patch_elems(c, t, value)) == NULL)
		return -1;
	arr = patch_array(holder, t->ap.attr, true);
	touched = json_array();
	json_array_foreach(elems, i, el)
	{
		dup = false;
		json_array_foreach(arr, j, x)
		{
			if (json_equal(x, el))
				dup = true;
		}
		if (dup)
			continue;
		json_array_append(arr, el);
		json_array_append(touched, el);
	}
	patch_primary(t->ap.attr, arr, touched);
	json_decref(touched);
	json_decref(elems);
	return 0;
}

/* The whole multi-valued attribute: no filter, no sub-attribute. */
static int
patch_multi_whole(struct patch_ctx *c, const struct patch_target *t,
                  json_t *holder, const json_t *value)
{
	json_t *elems;

	if (value == NULL || json_is_null(value)) {
		/* Adding nothing changes nothing; otherwise unassign. */
		if (c->op != PATCH_ADD)
			patch_del(holder, t->ap.attr->name);
		return 0;
	}
	if (c->op == PATCH_REMOVE)
		return patch_multi_remove_values(c, t, holder, value);
	if (c->op == PATCH_ADD)
		return patch_multi_append(c, t, holder, value);
	if ((elems = patch_elems(c, t, value)) == NULL)
		return -1;
	patch_set(holder, t->ap.attr->name, elems);
	return 0;
}

/* "emails.type": the sub-attribute of every value. */
static int
patch_multi_sub(struct patch_ctx *c, const struct patch_target *t,
                json_t *holder, const json_t *value)
{
	json_t *arr, *v = NULL, *el, *touched;
	size_t i;

	if (c->op != PATCH_REMOVE && !json_is_null(value) &&
	    (v = patch_subval(c, t, value)) == NULL)
		return -1;
	if (v == NULL) {
		arr = patch_array(holder, t->ap.attr, false);
		json_array_foreach(arr, i, el)
		{
			if (json_is_object(el))
				patch_del(el, t->sub->name);
		}
		return 0;
	}
	arr = patch_array(holder, t->ap.attr, true);
	if (json_array_size(arr) == 0)
		json_array_append_new(arr, json_object());
	touched = json_array();
	json_array_foreach(arr, i, el)
	{
		if (!json_is_object(el))
			continue;
		patch_set(el, t->sub->name, json_deep_copy(v));
		json_array_append(touched, el);
	}
	patch_primary(t->ap.attr, arr, touched);
	json_decref(touched);
	json_decref(v);
	return 0;
}

/*
 * The sub-attribute values an `a eq "x" and b eq "y"` filter pins down,
 * so add can create the value it names (Entra ID adds
 * emails[type eq "work"].value to a user with no work email). -1 for any
 * other filter.
 */
static int
patch_seed(const struct scim_filter *f, json_t *out)
{
	if (f->op == SCIM_F_AND)
		return patch_seed(f->left, out) == 0 &&
		               patch_seed(f->right, out) == 0
		           ? 0
		           : -1;
	if (f->op != SCIM_F_EQ || f->path.sub == NULL || f->value == NULL)
		return -1;
	patch_set(out, f->path.sub->name, json_deep_copy(f->value));
	return 0;
}

/* add through a filter that matched nothing: create the value. */
static int
patch_filter_create(struct patch_ctx *c, const struct patch_target *t,
                    json_t *holder, const json_t *v, json_t *touched)
{
	json_t *arr, *el;

	if (t->ap.attr->type != SCIM_T_COMPLEX)
		el = json_deep_copy(v);
	else {
		el = json_object();
		if (patch_seed(t->filter, el) == -1) {
			json_decref(el);
			return patch_fail(
			    c, SCIM_ET_NO_TARGET, t->where,
			    "\"%.200s\" matched no value and its filter does "
			    "not say which value to create",
			    t->text);
		}
		if (t->sub != NULL)
			patch_set(el, t->sub->name, json_deep_copy(v));
		else
			patch_merge(el, v);
	}
	arr = patch_array(holder, t->ap.attr, true);
	json_array_append(touched, el);
	json_array_append_new(arr, el);
	return 0;
}

/* Change one value a filter matched; returns the value now in its place. */
static json_t *
patch_filter_set(const struct patch_target *t, json_t *arr, size_t i,
                 const json_t *v)
{
	json_t *el = json_array_get(arr, i);

	if (t->sub != NULL) {
		if (json_is_object(el))
			patch_set(el, t->sub->name, json_deep_copy(v));
	} else if (json_is_object(el) && json_is_object(v))
		patch_merge(el, v);
	else
		json_array_set_new(arr, i, json_deep_copy(v));
	return json_array_get(arr, i);
}

static int
patch_multi_filter_remove(const struct patch_target *t, json_t *holder)
{
	json_t *arr, *el;
	size_t i;

	arr = patch_array(holder, t->ap.attr, false);
	for (i = json_array_size(arr); i-- > 0;) {
		el = json_array_get(arr, i);
		if (!scim_filter_match_elem(t->filter, el))
			continue;
		if (t->sub == NULL)
			json_array_remove(arr, i);
		else if (json_is_object(el))
			patch_del(el, t->sub->name);
	}
	return 0;
}

/*
 * `emails[type eq "work"]` and `emails[type eq "work"].value`. A filter
 * that matches nothing is 400 noTarget for replace (RFC 7644 §3.5.2.3),
 * creates the value for add, and is no change for remove (§3.5.2.2 makes
 * no such demand, and retried removes must stay harmless).
 */
static int
patch_multi_filter(struct patch_ctx *c, const struct patch_target *t,
                   json_t *holder, const json_t *value)
{
	json_t *arr, *v, *touched;
	size_t i, n = 0;
	int rc = 0;

	if (c->op == PATCH_REMOVE || json_is_null(value)) {
		/* A null value unassigns, like remove. */
		return patch_multi_filter_remove(t, holder);
	}
	v = t->sub != NULL ? patch_subval(c, t, value)
	                   : patch_one(c, t, t->ap.attr, value);
	if (v == NULL)
		return -1;
	arr = patch_array(holder, t->ap.attr, false);
	touched = json_array();
	for (i = 0; i < json_array_size(arr); i++) {
		if (!scim_filter_match_elem(t->filter, json_array_get(arr, i)))
			continue;
		n++;
		json_array_append(touched, patch_filter_set(t, arr, i, v));
	}
	if (n == 0 && c->op == PATCH_REPLACE)
		rc = patch_fail(c, SCIM_ET_NO_TARGET, t->where,
		                "\"%.200s\" matched no value", t->text);
	else if (n == 0)
		rc = patch_filter_create(c, t, holder, v, touched);
	if (rc == 0)
		patch_primary(t->ap.attr,
		              patch_array(holder, t->ap.attr, false), touched);
	json_decref(touched);
	json_decref(v);
	return rc;
}

static int
patch_multi(struct patch_ctx *c, const struct patch_target *t, json_t *holder,
            const json_t *value)
{
	int rc;

	if (t->filter != NULL)
		rc = patch_multi_filter(c, t, holder, value);
	else if (t->sub != NULL)
		rc = patch_multi_sub(c, t, holder, value);
	else
		rc = patch_multi_whole(c, t, holder, value);
	patch_array_tidy(holder, t->ap.attr);
	return rc;
}

/*--- Single-valued attributes ---*/

/* "name", "name.givenName", "manager": add and replace merge (§3.5.2.3). */
static int
patch_complex_single(struct patch_ctx *c, const struct patch_target *t,
                     json_t *holder, const json_t *value)
{
	const struct scim_attr *a = t->ap.attr;
	json_t *cur, *v;

	cur = patch_get(holder, a->name);
	if (c->op == PATCH_REMOVE || json_is_null(value)) {
		if (t->sub == NULL) {
			patch_del(holder, a->name); /* frees cur */
			return 0;
		}
		if (json_is_object(cur))
			patch_del(cur, t->sub->name);
	} else {
		v = t->sub != NULL ? patch_subval(c, t, value)
		                   : patch_one(c, t, a, value);
		if (v == NULL)
			return -1;
		if (!json_is_object(cur)) {
			cur = json_object();
			patch_set(holder, a->name, cur);
		}
		if (t->sub != NULL)
			patch_set(cur, t->sub->name, v);
		else {
			patch_merge(cur, v);
			json_decref(v);
		}
	}
	if (json_is_object(cur) && json_object_size(cur) == 0)
		patch_del(holder, a->name);
	return 0;
}

static int
patch_simple_single(struct patch_ctx *c, const struct patch_target *t,
                    json_t *holder, const json_t *value)
{
	json_t *v;

	if (c->op == PATCH_REMOVE || json_is_null(value)) {
		patch_del(holder, t->ap.attr->name);
		return 0;
	}
	if ((v = patch_one(c, t, t->ap.attr, value)) == NULL)
		return -1;
	patch_set(holder, t->ap.attr->name, v);
	return 0;
}

/*--- Mutability (RFC 7644 §3.5.2, RFC 7643 §2.2) ---*/

static int
patch_check_readonly(struct patch_ctx *c, const struct patch_target *t)
{
	if (t->ap.attr->mut == SCIM_M_RO ||
	    (t->sub != NULL && t->sub->mut == SCIM_M_RO))
		return patch_fail(c, SCIM_ET_MUTABILITY, t->where,
		                  "\"%.200s\" is readOnly", t->text);
	return 0;
}

static bool
patch_has_immutable(const struct scim_attr *a)
{
	size_t i;

	if (a->mut == SCIM_M_IMMUTABLE)
		return true;
	for (i = 0; i < a->nsub; i++) {
		if (a->sub[i].mut == SCIM_M_IMMUTABLE)
			return true;
	}
	return false;
}

static bool
patch_changed(const json_t *before, const json_t *now)
{
	if (before == NULL || json_is_null(before))
		return false;
	return now == NULL || !json_equal(before, now);
}

/*
 * An immutable attribute may be given a value once: "a client MAY add a
 * value to an immutable attribute if the attribute had no previous value"
 * (RFC 7644 §3.5.2). Sub-attributes are checked for a single complex
 * attribute; elements of a multi-valued one have no identity to compare,
 * so scim_schema_normalize() against the old doc has the last word.
 */
static int
patch_check_immutable(struct patch_ctx *c, const struct patch_target *t,
                      const json_t *before, const json_t *now)
{
	const struct scim_attr *a = t->ap.attr;
	const struct scim_attr *s;
	size_t i;

	if (a->mut == SCIM_M_IMMUTABLE && patch_changed(before, now))
		return patch_fail(
		    c, SCIM_ET_MUTABILITY, t->where,
		    "\"%s\" is immutable and already has a different value",
		    a->name);
	if (a->multi || !json_is_object(before))
		return 0;
	for (i = 0; i < a->nsub; i++) {
		s = &a->sub[i];
		if (s->mut == SCIM_M_IMMUTABLE &&
		    patch_changed(patch_get(before, s->name),
		                  patch_get(now, s->name)))
			return patch_fail(
			    c, SCIM_ET_MUTABILITY, t->where,
			    "\"%s.%s\" is immutable and already has a "
			    "different value",
			    a->name, s->name);
	}
	return 0;
}

/*--- The external multi-valued attribute (a Group's members) ---*/

static void
patch_ids_drop(json_t *arr, const char *id)
{
	size_t i;
	json_t *x;

	for (i = json_array_size(arr); i-- > 0;) {
		x = json_array_get(arr, i);
		if (json_is_object(x))
			x = json_object_get(x, "value");
		if (json_is_string(x) && strcmp(json_string_value(x), id) == 0)
			json_array_remove(arr, i);
	}
}

/* Takes obj. A member already being added keeps its first entry. */
static void
patch_mem_add(struct scim_patch_members *m, json_t *obj)
{
	const char *id = json_string_value(json_object_get(obj, "value"));

	if (json_object_get(m->remove_ids, id) != NULL) {
		patch_ids_drop(m->remove, id);
		json_object_del(m->remove_ids, id);
	}
	if (json_object_get(m->add_ids, id) != NULL) {
		json_decref(obj);
		return;
	}
	json_object_set_new(m->add_ids, id, json_true());
	json_array_append_new(m->add, obj);
}

static void
patch_mem_remove(struct scim_patch_members *m, const char *id)
{
	if (json_object_get(m->add_ids, id) != NULL) {
		patch_ids_drop(m->add, id);
		json_object_del(m->add_ids, id);
	}
	/* After replace_all nothing old is left to remove. */
	if (m->replace_all || json_object_get(m->remove_ids, id) != NULL)
		return;
	json_object_set_new(m->remove_ids, id, json_true());
	json_array_append_new(m->remove, json_string(id));
}

static void
patch_mem_clear(struct scim_patch_members *m)
{
	json_array_clear(m->add);
	json_array_clear(m->remove);
	json_object_clear(m->add_ids);
	json_object_clear(m->remove_ids);
}

/* One member object: canonical names, no nulls, a "value" id required. */
static json_t *
patch_member(struct patch_ctx *c, const struct patch_target *t, const json_t *v)
{
	const char *bad, *k;
	json_t *obj, *id, *x;
	void *tmp;

	obj = patch_complex(t->ap.attr, v, &bad);
	id = json_object_get(obj, "value");
	if (!json_is_string(id) || json_string_length(id) == 0) {
		json_decref(obj);
		patch_fail(
		    c, SCIM_ET_INVALID_VALUE, ".value",
		    "each of \"%.200s\" must be an object with a \"value\" "
		    "id string",
		    t->text);
		return NULL;
	}
	json_object_foreach_safe(obj, tmp, k, x)
	{
		if (json_is_null(x))
			json_object_del(obj, k);
	}
	return obj;
}

/* Members listed in value (an array, one object, or null for none). */
static json_t *
patch_member_list(struct patch_ctx *c, const struct patch_target *t,
                  const json_t *value)
{
	json_t *list, *x, *el;
	size_t i;

	list = json_array();
	if (value == NULL || json_is_null(value))
		return list;
	if (!json_is_array(value)) {
		if ((x = patch_member(c, t, value)) == NULL) {
			json_decref(list);
			return NULL;
		}
		json_array_append_new(list, x);
		return list;
	}
	json_array_foreach(value, i, el)
	{
		if ((x = patch_member(c, t, el)) == NULL) {
			json_decref(list);
			return NULL;
		}
		json_array_append_new(list, x);
	}
	return list;
}

/* Ids in a filter made only of `value eq "id"` joined by or (Okta). */
static int
patch_member_ids(const struct scim_filter *f, json_t *ids)
{
	if (f->op == SCIM_F_OR)
		return patch_member_ids(f->left, ids) == 0 &&
		               patch_member_ids(f->right, ids) == 0
		           ? 0
		           : -1;
	if (f->op != SCIM_F_EQ || f->path.sub == NULL ||
	    strcasecmp(f->path.sub->name, "value") != 0 ||
	    !json_is_string(f->value))
		return -1;
	json_array_append(ids, f->value);
	return 0;
}

static int
patch_members_filter(struct patch_ctx *c, const struct patch_target *t)
{
	json_t *ids, *id;
	size_t i;

	ids = json_array();
	if (c->op != PATCH_REMOVE || t->sub != NULL ||
	    patch_member_ids(t->filter, ids) == -1) {
		json_decref(ids);
		return patch_fail(
		    c, SCIM_ET_INVALID_FILTER, t->where,
		    "unsupported members filter in \"%.200s\": only remove "
		    "with value eq \"id\" joined by or",
		    t->text);
	}
	json_array_foreach(ids, i, id)
	{
		patch_mem_remove(c->mem, json_string_value(id));
	}
	json_decref(ids);
	return 0;
}

/*
 * Operations on the external attribute only update c->mem, in op order:
 * the store applies the delta without loading the member list.
 */
static int
patch_members(struct patch_ctx *c, const struct patch_target *t,
              const json_t *value)
{
	struct scim_patch_members *m = c->mem;
	json_t *list, *x;
	size_t i;

	if (m == NULL) {
		scim_err_set(c->e, 500, NULL, "%s: no delta for \"%s\"",
		             __func__, t->ap.attr->name);
		return -1;
	}
	if (t->filter != NULL)
		return patch_members_filter(c, t);
	if (t->sub != NULL)
		return patch_fail(
		    c, SCIM_ET_INVALID_PATH, t->where,
		    "\"%.200s\": patch \"%s\" as a whole or through "
		    "%s[value eq \"id\"]",
		    t->text, t->ap.attr->name, t->ap.attr->name);
	if (c->op == PATCH_REMOVE && (value == NULL || json_is_null(value))) {
		m->replace_all = true;
		patch_mem_clear(m);
		return 0;
	}
	if ((list = patch_member_list(c, t, value)) == NULL)
		return -1;
	if (c->op == PATCH_REPLACE) {
		m->replace_all = true;
		patch_mem_clear(m);
	}
	json_array_foreach(list, i, x)
	{
		if (c->op == PATCH_REMOVE)
			patch_mem_remove(
			    m, json_string_value(json_object_get(x, "value")));
		else
			patch_mem_add(m, json_incref(x));
	}
	json_decref(list);
	return 0;
}

/*--- Targets ---*/

static bool
patch_is_external(const struct patch_ctx *c, const struct scim_attrpath *ap)
{
	return c->rt->external_multi != NULL && ap->attr != NULL && !ap->ext &&
	       strcasecmp(ap->attr->name, c->rt->external_multi) == 0;
}

/* The object holding the attribute: doc, or doc[extension URN]. */
static json_t *
patch_holder(struct patch_ctx *c, const struct scim_attrpath *ap, bool create)
{
	json_t *h;

	if (!ap->ext)
		return c->doc;
	h = patch_get(c->doc, ap->schema->id);
	if (json_is_object(h) || !create)
		return json_is_object(h) ? h : NULL;
	h = json_object();
	patch_set(c->doc, ap->schema->id, h);
	return h;
}

/* A path naming a whole extension: its value is an object of attributes. */
static int
patch_extension(struct patch_ctx *c, const struct patch_target *t,
                const json_t *value)
{
	if (t->filter != NULL || t->sub != NULL || t->ap.schema == NULL)
		return patch_fail(c, SCIM_ET_INVALID_PATH, t->where,
		                  "\"%.200s\" names no attribute", t->text);
	if (c->op == PATCH_REMOVE || json_is_null(value)) {
		patch_del(c->doc, t->ap.schema->id);
		return 0;
	}
	if (!json_is_object(value))
		return patch_fail(
		    c, SCIM_ET_INVALID_VALUE, ".value",
		    "\"%.200s\" takes an object of extension attributes",
		    t->text);
	return patch_keys(c, value, t->ap.schema->id);
}

static int
patch_dispatch(struct patch_ctx *c, const struct patch_target *t,
               json_t *holder, const json_t *value)
{
	const struct scim_attr *a = t->ap.attr;

	if (a->multi)
		return patch_multi(c, t, holder, value);
	if (t->filter != NULL)
		return patch_fail(
		    c, SCIM_ET_INVALID_PATH, t->where,
		    "\"%.200s\": \"%s\" is single-valued and takes no filter",
		    t->text, a->name);
	if (a->type == SCIM_T_COMPLEX)
		return patch_complex_single(c, t, holder, value);
	if (t->sub != NULL)
		return patch_fail(c, SCIM_ET_INVALID_PATH, t->where,
		                  "\"%.200s\": \"%s\" has no sub-attributes",
		                  t->text, a->name);
	return patch_simple_single(c, t, holder, value);
}

static int
patch_target_apply(struct patch_ctx *c, const struct patch_target *t,
                   const json_t *value)
{
	const struct scim_attr *a = t->ap.attr;
	json_t *holder, *before = NULL;
	int rc;

	if (a == NULL)
		return patch_extension(c, t, value);
	if (patch_is_external(c, &t->ap))
		return patch_members(c, t, value);
	if (patch_check_readonly(c, t) == -1)
		return -1;
	if ((holder = patch_holder(c, &t->ap, c->op != PATCH_REMOVE)) == NULL)
		return 0; /* removing from an extension the doc lacks */
	if (patch_has_immutable(a))
		before = json_deep_copy(patch_get(holder, a->name));
	rc = patch_dispatch(c, t, holder, value);
	if (rc == 0 && patch_has_immutable(a))
		rc = patch_check_immutable(c, t, before,
		                           patch_get(holder, a->name));
	json_decref(before);
	if (t->ap.ext && json_object_size(holder) == 0)
		patch_del(c->doc, t->ap.schema->id);
	return rc;
}

/* Parse a path; -1 with c->e set when it is not one. */
static int
patch_parse(struct patch_ctx *c, const char *text, const char *where,
            struct patch_parsed *pp)
{
	struct scim_err pe;

	scim_err_init(&pe);
	if (scim_filter_parse_path(c->rt, text, &pp->ap, &pp->f, &pp->sub,
	                           &pe) == 0)
		return 0;
	scim_err_set(c->e, 400,
	             pe.scim_type ? pe.scim_type : SCIM_ET_INVALID_PATH,
	             "Operations[%zu]%s: %s", c->idx, where,
	             pe.detail[0] ? pe.detail : "invalid path");
	scim_filter_free(pp->f);
	return -1;
}

static struct patch_path_entry *
patch_paths_find(struct scim_patch_paths *ps, const struct scim_rtype *rt,
                 const char *text)
{
	size_t i;

	for (i = 0; i < PATCH_PATHS_MAX; i++)
		if (ps->e[i].text != NULL && ps->e[i].rt == rt &&
		    strcmp(ps->e[i].text, text) == 0)
			return &ps->e[i];
	return NULL;
}

/* A slot for a new entry, emptied; NULL when every slot is in use. */
static struct patch_path_entry *
patch_paths_slot(struct scim_patch_paths *ps)
{
	struct patch_path_entry *en;
	size_t n;

	for (n = 0; n < PATCH_PATHS_MAX; n++) {
		en = &ps->e[ps->victim];
		ps->victim = (ps->victim + 1) % PATCH_PATHS_MAX;
		if (en->busy > 0)
			continue;
		free(en->text);
		scim_filter_free(en->pp.f);
		memset(en, 0, sizeof(*en));
		return en;
	}
	return NULL;
}

/* Apply the operation through a parsed path. */
static int
patch_parsed_apply(struct patch_ctx *c, const struct patch_parsed *pp,
                   const char *text, const char *where, const json_t *value)
{
	struct patch_target t = {.ap = pp->ap, .text = text, .where = where};

	/* The parser hands back the inner filter; accept a wrapped one too. */
	t.filter = pp->f;
	if (pp->f != NULL && pp->f->op == SCIM_F_VALPATH)
		t.filter = pp->f->left;
	t.sub = pp->sub != NULL ? pp->sub : pp->ap.sub;
	return patch_target_apply(c, &t, value);
}

/* Through the cache: parsing the same path again gives the same result. */
static int
patch_path_cached(struct patch_ctx *c, const char *text, const char *where,
                  const json_t *value)
{
	struct patch_path_entry *en;
	struct patch_parsed pp;
	int rc;

	if ((en = patch_paths_find(c->paths, c->rt, text)) == NULL) {
		if (patch_parse(c, text, where, &pp) == -1)
			return -1;
		if ((en = patch_paths_slot(c->paths)) == NULL) {
			rc = patch_parsed_apply(c, &pp, text, where, value);
			scim_filter_free(pp.f);
			return rc;
		}
		en->rt = c->rt;
		en->text = xstrdup(text);
		en->pp = pp;
	}
	/* A no-path extension value applies its keys through here again. */
	en->busy++;
	rc = patch_parsed_apply(c, &en->pp, text, where, value);
	en->busy--;
	return rc;
}

/* Parse a path (or a no-path key with a filter) and apply the operation. */
static int
patch_path(struct patch_ctx *c, const char *text, const char *where,
           const json_t *value)
{
	struct patch_parsed pp;
	int rc;

	if (c->paths != NULL)
		return patch_path_cached(c, text, where, value);
	if (patch_parse(c, text, where, &pp) == -1)
		return -1;
	rc = patch_parsed_apply(c, &pp, text, where, value);
	scim_filter_free(pp.f);
	return rc;
}

/* One key of a no-path value: "name.givenName", "urn:...:manager", ... */
static int
patch_key(struct patch_ctx *c, const char *key, const json_t *value)
{
	struct patch_target t = {.text = key, .where = ".value"};

	if (strchr(key, '[') != NULL)
		return patch_path(c, key, ".value", value);
	if (scim_attrpath_resolve(c->rt, key, strlen(key), &t.ap) != 0)
		return patch_fail(c, SCIM_ET_INVALID_PATH, ".value",
		                  "unknown attribute \"%.200s\"", key);
	t.sub = t.ap.sub;
	return patch_target_apply(c, &t, value);
}

/*
 * No path: each key of value is applied as if it were the path
 * (RFC 7644 §3.5.2.1, §3.5.2.3), with Entra's dotted and URN-prefixed keys.
 * prefix is the extension URN when value is an extension's object.
 * "schemas" is derived by normalisation, and "id" is skipped because Okta
 * echoes the resource's own id when renaming a Group this way.
 */
static int
patch_keys(struct patch_ctx *c, const json_t *value, const char *prefix)
{
	const char *k;
	json_t *v;
	struct buf b;
	int rc = 0;

	json_object_foreach((json_t *)value, k, v)
	{
		if (prefix == NULL &&
		    (strcasecmp(k, "schemas") == 0 || strcasecmp(k, "id") == 0))
			continue;
		if (prefix == NULL) {
			rc = patch_key(c, k, v);
		} else {
			buf_init(&b, 0);
			buf_addf(&b, "%s:%s", prefix, k);
			rc = patch_key(c, buf_str(&b), v);
			buf_free(&b);
		}
		if (rc == -1)
			return -1;
	}
	return 0;
}

/*--- Operations ---*/

static int
patch_op_parse(struct patch_ctx *c, const json_t *jop)
{
	size_t i;

	if (!json_is_string(jop))
		return patch_fail(c, SCIM_ET_INVALID_SYNTAX, ".op",
		                  "missing or not a string");
	/* Entra ID capitalises: "Add", "Replace", "Remove". */
	for (i = 0; i < sizeof(patch_op_names) / sizeof(*patch_op_names); i++) {
		if (strcasecmp(json_string_value(jop), patch_op_names[i]) ==
		    0) {
			c->op = (enum patch_op)i;
			return 0;
		}
	}
	return patch_fail(c, SCIM_ET_INVALID_SYNTAX, ".op",
	                  "unknown operation \"%.100s\"",
	                  json_string_value(jop));
}

static int
patch_operation(struct patch_ctx *c, const json_t *o)
{
	const char *path = NULL;
	json_t *jpath, *value;

	if (!json_is_object(o))
		return patch_fail(c, SCIM_ET_INVALID_SYNTAX, "",
		                  "not an object");
	if (patch_op_parse(c, patch_get(o, "op")) == -1)
		return -1;
	jpath = patch_get(o, "path");
	if (jpath != NULL && !json_is_null(jpath) && !json_is_string(jpath))
		return patch_fail(c, SCIM_ET_INVALID_SYNTAX, ".path",
		                  "must be a string");
	if (json_is_string(jpath) && json_string_length(jpath) > 0)
		path = json_string_value(jpath);
	value = patch_get(o, "value");
	if (path == NULL && c->op == PATCH_REMOVE)
		return patch_fail(c, SCIM_ET_NO_TARGET, ".path",
		                  "required for remove");
	if (value == NULL && c->op != PATCH_REMOVE)
		return patch_fail(c, SCIM_ET_INVALID_SYNTAX, ".value",
		                  "required for %s", patch_op_names[c->op]);
	if (path != NULL)
		return patch_path(c, path, ".path", value);
	if (!json_is_object(value))
		return patch_fail(
		    c, SCIM_ET_INVALID_VALUE, ".value",
		    "must be an object of attributes when there is no path");
	return patch_keys(c, value, NULL);
}

static bool
patch_has_urn(const json_t *schemas)
{
	size_t i;
	json_t *s;

	json_array_foreach(schemas, i, s)
	{
		if (json_is_string(s) &&
		    strcasecmp(json_string_value(s), SCIM_URN_PATCHOP) == 0)
			return true;
	}
	return false;
}

void
scim_patch_members_init(struct scim_patch_members *m)
{
	m->replace_all = false;
	m->add = json_array();
	m->remove = json_array();
	m->add_ids = json_object();
	m->remove_ids = json_object();
}

void
scim_patch_members_free(struct scim_patch_members *m)
{
	if (m == NULL)
		return;
	json_decref(m->add);
	json_decref(m->remove);
	json_decref(m->add_ids);
	json_decref(m->remove_ids);
	m->add = m->remove = m->add_ids = m->remove_ids = NULL;
	m->replace_all = false;
}

struct scim_patch_paths *
scim_patch_paths_new(void)
{
	return xcalloc(1, sizeof(struct scim_patch_paths));
}

void
scim_patch_paths_free(struct scim_patch_paths *ps)
{
	size_t i;

	if (ps == NULL)
		return;
	for (i = 0; i < PATCH_PATHS_MAX; i++) {
		free(ps->e[i].text);
		scim_filter_free(ps->e[i].pp.f);
	}
	free(ps);
}

int
scim_patch_apply(const struct scim_rtype *rt, json_t *doc, const json_t *body,
                 struct scim_patch_members *mem, struct scim_err *e)
{
	return scim_patch_apply_paths(rt, NULL, doc, body, mem, e);
}

int
scim_patch_apply_paths(const struct scim_rtype *rt,
                       struct scim_patch_paths *paths, json_t *doc,
                       const json_t *body, struct scim_patch_members *mem,
                       struct scim_err *e)
{
	struct patch_ctx c = {
	    .rt = rt, .paths = paths, .doc = doc, .mem = mem, .e = e};
	json_t *ops;
	size_t i;

	if (!json_is_object(doc)) {
		scim_err_set(e, 500, NULL, "%s: doc is not an object",
		             __func__);
		return -1;
	}
	if (!json_is_object(body)) {
		scim_err_set(e, 400, SCIM_ET_INVALID_SYNTAX,
		             "PATCH body must be a JSON object");
		return -1;
	}
	if (!patch_has_urn(patch_get(body, "schemas"))) {
		scim_err_set(e, 400, SCIM_ET_INVALID_SYNTAX,
		             "\"schemas\" must list \"%s\"", SCIM_URN_PATCHOP);
		return -1;
	}
	ops = patch_get(body, "Operations");
	if (!json_is_array(ops) || json_array_size(ops) == 0) {
		scim_err_set(e, 400, SCIM_ET_INVALID_SYNTAX,
		             "\"Operations\" must be a non-empty array");
		return -1;
	}
	for (i = 0; i < json_array_size(ops); i++) {
		c.idx = i;
		if (patch_operation(&c, json_array_get(ops, i)) == -1)
			return -1;
	}
	return 0;
}
