/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* SCIM /Users and /Groups: create, read, replace, patch, delete, list. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "api/api_scim.h"
#include "scim/filter.h"
#include "scim/patch.h"
#include "scim/resource.h"
#include "store/store_backend.h"
#include "util/log.h"
#include "util/xmalloc.h"

static enum store_rtype
rtype_store(const struct scim_rtype *rt)
{
	return rt == scim_rtype_group() ? STORE_GROUP : STORE_USER;
}

void
api_scim_call_init(struct scim_call *c, struct req *r,
                   const struct scim_rtype *rt)
{
	memset(c, 0, sizeof(*c));
	c->req = r;
	c->rt = rt;
	buf_init(&c->out, 0);
	scim_err_init(&c->err);
}

void
api_scim_call_clear(struct scim_call *c)
{
	buf_free(&c->out);
	free(c->location);
	free(c->new_id);
}

static int
call_fail(struct scim_call *c)
{
	c->status = c->err.status ? c->err.status : 500;
	return -1;
}

static int
call_store_err(struct scim_call *c)
{
	scim_err_set(&c->err, 500, NULL, "internal store error");
	return call_fail(c);
}

/* True when the list names attribute `name` (or one of its sub-paths). */
static bool
list_names(const char *list, const char *name)
{
	size_t n = strlen(name), len;
	const char *s = list, *colon;

	while (s != NULL && *s != '\0') {
		while (*s == ' ' || *s == ',')
			s++;
		len = strcspn(s, ",");
		colon = memchr(s, ':', len);
		if (colon != NULL) { /* URN-qualified core name */
			const char *last = s + len;

			while (last > s && last[-1] != ':')
				last--;
			len -= (size_t)(last - s);
			s = last;
		}
		if (len >= n && strncasecmp(s, name, n) == 0 &&
		    (len == n || s[n] == '.'))
			return true;
		s += len;
	}
	return false;
}

static bool
want_multi(const struct scim_call *c)
{
	const char *name =
	    c->rt->external_multi != NULL ? c->rt->external_multi : "groups";

	if (c->attributes != NULL && *c->attributes != '\0')
		return list_names(c->attributes, name);
	if (c->excluded != NULL && list_names(c->excluded, name))
		return false;
	return true;
}

struct multi_ctx {
	json_t *arr;
	const char *base_url;
	bool groups; /* rendering a User's groups */
};

static int
multi_add(const struct store_member *m, void *arg)
{
	struct multi_ctx *mc = arg;
	const char *type = mc->groups ? "Group" : m->type;
	char *ref;
	json_t *o;

	ref = xasprintf("%s/%ss/%s", mc->base_url, type, m->id);
	o = json_pack("{s:s,s:s,s:s,s:s}", "value", m->id, "$ref", ref,
	              "display", m->display != NULL ? m->display : "", "type",
	              mc->groups ? "direct" : type);
	json_array_append_new(mc->arr, o);
	free(ref);
	return 0;
}

/* The derived/external multi-valued attribute of res, or NULL. */
static json_t *
fetch_multi(struct scim_call *c, const struct store_res *res)
{
	struct multi_ctx mc;
	struct store *st = server_store(c->req->srv);
	int rc;

	if (!want_multi(c) || c->no_groups)
		return NULL;
	mc.arr = json_array();
	mc.base_url = c->req->base_url;
	mc.groups = c->rt->external_multi == NULL;
	if (mc.groups)
		rc = store_user_groups(st, res->rid, multi_add, &mc);
	else
		rc = store_members_list(st, res->rid, multi_add, &mc);
	if (rc != STORE_OK) {
		json_decref(mc.arr);
		return NULL;
	}
	return mc.arr;
}

static void
call_render(struct scim_call *c, const struct store_res *res, int status)
{
	json_t *multi = fetch_multi(c, res);

	buf_reset(&c->out);
	resource_render_projected(&c->out, c->rt, res, c->req->base_url, multi,
	                          c->attributes, c->excluded);
	json_decref(multi);
	resource_etag(c->etag, sizeof(c->etag), res->version);
	free(c->location);
	c->location = resource_location(c->rt, c->req->base_url, res->id);
	c->status = status;
}

static int
call_load(struct scim_call *c, struct store_res *res)
{
	int rc;

	rc = store_res_get(server_store(c->req->srv), c->req->tok.tenant_id,
	                   rtype_store(c->rt), c->id, res);
	if (rc == STORE_NOTFOUND) {
		scim_err_set(&c->err, 404, NULL, "%s \"%s\" not found",
		             c->rt->name, c->id);
		return call_fail(c);
	}
	if (rc != STORE_OK)
		return call_store_err(c);
	if (c->if_match != NULL &&
	    !resource_etag_matches(c->if_match, res->version)) {
		scim_err_set(
		    &c->err, 412, NULL,
		    "If-Match does not match the current version W/\"%" PRId64
		    "\"",
		    res->version);
		return call_fail(c);
	}
	/* RFC 7232 §3.2: a matching If-None-Match stops a write with 412. */
	if (c->if_none_match != NULL &&
	    resource_etag_matches(c->if_none_match, res->version)) {
		scim_err_set(
		    &c->err, 412, NULL,
		    "If-None-Match matches the current version W/\"%" PRId64
		    "\"",
		    res->version);
		return call_fail(c);
	}
	return 0;
}

/* Copy the indexed columns out of a normalised doc into res. */
static void
res_from_doc(const struct scim_rtype *rt, struct store_res *res, json_t *doc)
{
	const char *name, *ext;
	json_t *active;
	char ts[32];

	name = json_string_value(json_object_get(
	    doc, rt == scim_rtype_group() ? "displayName" : "userName"));
	ext = json_string_value(json_object_get(doc, "externalId"));
	active = json_object_get(doc, "active");
	free(res->name);
	free(res->external_id);
	free(res->doc);
	res->name = xstrdup(name != NULL ? name : "");
	res->external_id = ext != NULL ? xstrdup(ext) : NULL;
	res->active = active == NULL || json_is_true(active);
	res->doc = json_dumps(doc, JSON_COMPACT);
	store_now(ts, sizeof(ts));
	free(res->modified);
	res->modified = xstrdup(ts);
}

/* Member ids from a "members" array (already validated by the schema). */
static const char **
member_ids(json_t *members, size_t *n)
{
	const char **ids;
	json_t *m;
	size_t i;

	*n = json_array_size(members);
	ids = xcalloc(*n ? *n : 1, sizeof(*ids));
	json_array_foreach(members, i, m)
	{
		ids[i] = json_string_value(json_object_get(m, "value"));
		if (ids[i] == NULL)
			ids[i] = "";
	}
	return ids;
}

/* Add members to the group, or make them its members when replace. */
static int
call_members(struct scim_call *c, const struct store_res *res, json_t *members,
             bool replace)
{
	struct store *st = server_store(c->req->srv);
	const char **ids;
	char *cause = NULL;
	size_t n;
	int rc;

	if (!replace && json_array_size(members) == 0)
		return 0;
	ids = member_ids(members, &n);
	if (replace)
		rc = store_members_set(st, res, ids, n, &cause);
	else
		rc = store_members_add(st, res, ids, n, &cause);
	free(ids);
	if (rc == STORE_INVALID) {
		scim_err_set(&c->err, 400, SCIM_ET_INVALID_VALUE, "members: %s",
		             cause != NULL ? cause : "invalid member");
		free(cause);
		return call_fail(c);
	}
	free(cause);
	return rc == STORE_OK ? 0 : call_store_err(c);
}

static int
call_conflict(struct scim_call *c, const struct store_res *res)
{
	scim_err_set(&c->err, 409, SCIM_ET_UNIQUENESS,
	             "%s \"%s\" is already in use",
	             c->rt == scim_rtype_group() ? "displayName" : "userName",
	             res->name);
	return call_fail(c);
}

/*
 * RFC 7643 §3: "schemas" is REQUIRED in a resource and lists its core
 * schema; a client body without it is malformed.
 */
static int
check_schemas(struct scim_call *c)
{
	json_t *sc = json_is_object(c->body)
	                 ? json_object_get(c->body, "schemas")
	                 : NULL;
	json_t *x;
	size_t i;

	if (!json_is_object(c->body)) {
		scim_err_set(&c->err, 400, SCIM_ET_INVALID_SYNTAX,
		             "the request body must be a JSON object");
		return call_fail(c);
	}
	json_array_foreach(sc, i, x)
	{
		if (json_is_string(x) &&
		    strcasecmp(json_string_value(x), c->rt->core->id) == 0)
			return 0;
	}
	scim_err_set(&c->err, 400, SCIM_ET_INVALID_SYNTAX,
	             "\"schemas\" must be an array that includes \"%s\"",
	             c->rt->core->id);
	return call_fail(c);
}

int
api_scim_create(struct scim_call *c)
{
	struct store_res res;
	json_t *doc, *members = NULL;
	char id[40];
	int rc, ret = -1;

	memset(&res, 0, sizeof(res));
	if (check_schemas(c) == -1)
		return -1;
	doc = scim_schema_normalize(c->rt, c->body, NULL, SCIM_NORM_CREATE,
	                            &c->err);
	if (doc == NULL)
		return call_fail(c);
	if (c->rt->external_multi != NULL) {
		members =
		    json_incref(json_object_get(doc, c->rt->external_multi));
		json_object_del(doc, c->rt->external_multi);
	}
	store_uuid(id, sizeof(id));
	res.tenant_id = c->req->tok.tenant_id;
	res.type = rtype_store(c->rt);
	res.id = xstrdup(id);
	res_from_doc(c->rt, &res, doc);
	/* A new resource: lastModified is created (RFC 7643 §3.1). */
	res.created = xstrdup(res.modified);
	rc = store_res_insert(server_store(c->req->srv), &res, &c->req->actor);
	if (rc == STORE_CONFLICT)
		call_conflict(c, &res);
	else if (rc != STORE_OK)
		call_store_err(c);
	else if (call_members(c, &res, members, false) == 0) {
		call_render(c, &res, 201);
		c->new_id = xstrdup(id);
		ret = 0;
	}
	json_decref(members);
	json_decref(doc);
	store_res_clear(&res);
	return ret;
}

static json_t *
load_doc(struct scim_call *c, const struct store_res *res)
{
	json_t *j = json_loads(res->doc, 0, NULL);

	if (j == NULL) {
		log_warnx("%s: stored doc of %s is not JSON", __func__,
		          res->id);
		call_store_err(c);
	}
	return j;
}

static int
call_update(struct scim_call *c, struct store_res *res, const char *delta)
{
	int rc;

	rc = store_res_update(server_store(c->req->srv), res, &c->req->actor,
	                      delta);
	if (rc == STORE_CONFLICT)
		return call_conflict(c, res);
	if (rc != STORE_OK)
		return call_store_err(c);
	return 0;
}

int
api_scim_replace(struct scim_call *c)
{
	struct store_res res;
	json_t *old = NULL, *doc = NULL, *members = NULL;
	int ret = -1;

	memset(&res, 0, sizeof(res));
	if (check_schemas(c) == -1 || call_load(c, &res) == -1 ||
	    (old = load_doc(c, &res)) == NULL)
		goto out;
	doc = scim_schema_normalize(c->rt, c->body, old, SCIM_NORM_REPLACE,
	                            &c->err);
	if (doc == NULL) {
		call_fail(c);
		goto out;
	}
	if (c->rt->external_multi != NULL) {
		members =
		    json_incref(json_object_get(doc, c->rt->external_multi));
		json_object_del(doc, c->rt->external_multi);
	}
	res_from_doc(c->rt, &res, doc);
	if (call_update(c, &res,
	                c->rt->external_multi != NULL ? "{\"replaced\":true}"
	                                              : NULL) == -1)
		goto out;
	if (c->rt->external_multi != NULL &&
	    call_members(c, &res, members, true) == -1)
		goto out;
	call_render(c, &res, 200);
	ret = 0;
out:
	json_decref(members);
	json_decref(old);
	json_decref(doc);
	store_res_clear(&res);
	return ret;
}

static bool
members_delta_empty(const struct scim_patch_members *m)
{
	return !m->replace_all && json_array_size(m->add) == 0 &&
	       json_array_size(m->remove) == 0;
}

/* The ids of a member-id string array; entries are borrowed. */
static const char **
id_strings(json_t *arr, size_t *n)
{
	const char **ids;

	*n = json_array_size(arr);
	ids = xcalloc(*n ? *n : 1, sizeof(*ids));
	for (size_t i = 0; i < *n; i++) {
		ids[i] = json_string_value(json_array_get(arr, i));
		if (ids[i] == NULL)
			ids[i] = "";
	}
	return ids;
}

/*
 * Whether the delta changes the member list: adding a member already
 * there or removing one that is not is no change, and RFC 7644 §3.5.2.1
 * says such an operation SHALL NOT change the modify timestamp (nor,
 * then, the version). 1 changed, 0 not, -1 store error (c->err set).
 */
static int
members_changed(struct scim_call *c, const struct store_res *res,
                const struct scim_patch_members *m)
{
	struct store *st = server_store(c->req->srv);
	const char **ids;
	size_t n, present = 0;
	int rc;

	if (m->replace_all)
		return 1;
	ids = member_ids(m->add, &n);
	rc = store_members_present(st, res->rid, ids, n, &present);
	free(ids);
	if (rc == STORE_OK && present < n)
		return 1;
	if (rc == STORE_OK) {
		ids = id_strings(m->remove, &n);
		rc = store_members_present(st, res->rid, ids, n, &present);
		free(ids);
	}
	if (rc != STORE_OK)
		return call_store_err(c);
	return present > 0;
}

static int
apply_member_delta(struct scim_call *c, const struct store_res *res,
                   const struct scim_patch_members *m)
{
	struct store *st = server_store(c->req->srv);
	const char **ids;
	size_t n;
	int rc = STORE_OK;

	/* After a replace, add is the whole list and remove is empty. */
	if (m->replace_all)
		return call_members(c, res, m->add, true);
	if (json_array_size(m->remove) > 0) {
		ids = id_strings(m->remove, &n);
		rc = store_members_remove(st, res->rid, ids, n);
		free(ids);
	}
	if (rc != STORE_OK)
		return call_store_err(c);
	return call_members(c, res, m->add, false);
}

static char *
member_delta_text(const struct scim_patch_members *m)
{
	json_t *j = json_pack("{s:b,s:O,s:O}", "replaced", m->replace_all,
	                      "added", m->add, "removed", m->remove);
	char *s = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	return s;
}

static int
patch_commit(struct scim_call *c, struct store_res *res, json_t *old,
             json_t *doc, struct scim_patch_members *mem)
{
	bool same = json_equal(old, doc);
	int mchg = 0;
	char *delta = NULL;
	int rc = 0;

	/*
	 * The store is asked whether the member delta changes anything only
	 * when nothing else does: otherwise the version moves anyway.
	 */
	if (mem != NULL && !members_delta_empty(mem))
		mchg = same ? members_changed(c, res, mem) : 1;
	if (mchg == -1)
		return -1;
	if (same && !mchg)
		return 0; /* nothing changed: no new version, no history */
	res_from_doc(c->rt, res, doc);
	if (mchg)
		delta = member_delta_text(mem);
	rc = call_update(c, res, delta);
	free(delta);
	if (rc == 0 && mchg)
		rc = apply_member_delta(c, res, mem);
	return rc;
}

/*
 * RFC 7644 §3.5.2.2: a PATCH that removes a required attribute (or
 * leaves it unassigned with null) fails with scimType "mutability"; a
 * POST or PUT without it stays invalidValue (§3.12).
 */
static int
patch_keeps_required(struct scim_call *c, json_t *old, json_t *work)
{
	const struct scim_schema *s = c->rt->core;
	const struct scim_attr *a;
	json_t *v;

	for (size_t i = 0; i < s->nattrs; i++) {
		a = &s->attrs[i];
		if (!a->required || json_object_get(old, a->name) == NULL)
			continue;
		v = json_object_get(work, a->name);
		if (v == NULL || json_is_null(v)) {
			scim_err_set(
			    &c->err, 400, SCIM_ET_MUTABILITY,
			    "required attribute \"%s\" cannot be removed",
			    a->name);
			return call_fail(c);
		}
	}
	return 0;
}

int
api_scim_patch(struct scim_call *c)
{
	struct store_res res;
	struct scim_patch_members mem, *mp = NULL;
	json_t *old = NULL, *work = NULL, *doc = NULL;
	int ret = -1;

	memset(&res, 0, sizeof(res));
	scim_patch_members_init(&mem);
	if (c->rt->external_multi != NULL)
		mp = &mem;
	if (call_load(c, &res) == -1 || (old = load_doc(c, &res)) == NULL)
		goto out;
	work = json_deep_copy(old);
	if (scim_patch_apply(c->rt, work, c->body, mp, &c->err) == -1) {
		call_fail(c);
		goto out;
	}
	if (patch_keeps_required(c, old, work) == -1)
		goto out;
	doc =
	    scim_schema_normalize(c->rt, work, old, SCIM_NORM_REPLACE, &c->err);
	if (doc == NULL) {
		call_fail(c);
		goto out;
	}
	if (patch_commit(c, &res, old, doc, mp) == -1)
		goto out;
	if (c->rt->external_multi != NULL && c->attributes == NULL &&
	    c->excluded == NULL) {
		/* Never echo a 10,000-member group for a one-member change. */
		resource_etag(c->etag, sizeof(c->etag), res.version);
		c->status = 204;
	} else
		call_render(c, &res, 200);
	ret = 0;
out:
	scim_patch_members_free(&mem);
	json_decref(old);
	json_decref(work);
	json_decref(doc);
	store_res_clear(&res);
	return ret;
}

int
api_scim_delete(struct scim_call *c)
{
	struct store_res res;
	int rc;

	memset(&res, 0, sizeof(res));
	if (call_load(c, &res) == -1) {
		store_res_clear(&res);
		return -1;
	}
	rc = store_res_delete(server_store(c->req->srv), &res, &c->req->actor);
	store_res_clear(&res);
	if (rc != STORE_OK)
		return call_store_err(c);
	c->status = 204;
	return 0;
}

/* ---- HTTP handlers ---- */

static const struct scim_rtype *
req_rtype(struct req *r)
{
	return scim_rtype_find(r->seg[0]);
}

static void
reply_call(struct req *r, struct scim_call *c)
{
	if (c->status >= 400) {
		server_reply_error(r, &c->err);
		return;
	}
	if (c->etag[0] != '\0')
		req_set_header(r, "ETag", c->etag);
	if (c->location != NULL && (c->status == 201 || c->status == 200))
		req_set_header(
		    r, c->status == 201 ? "Location" : "Content-Location",
		    c->location);
	/* Hand the body over rather than copy it. */
	{
		struct buf tmp = r->out;

		r->out = c->out;
		c->out = tmp;
	}
	server_reply(r, c->status);
}

/* Run a write operation inside the request's savepoint. */
static void
run_write(struct req *r, struct scim_call *c, int (*op)(struct scim_call *))
{
	if (c->rt == scim_rtype_group())
		req_groups_changed(r);
	if (req_write_begin(r) == -1) {
		scim_err_set(&c->err, 503, NULL, "the store is busy; retry");
		c->status = 503;
	} else
		op(c);
	reply_call(r, c);
}

static void
get_one(struct req *r, struct scim_call *c)
{
	struct store_res res;
	const char *inm = c->if_none_match;

	memset(&res, 0, sizeof(res));
	/* If-Match is checked by call_load (RFC 7232 §3.1: 412 on a GET too);
	 * If-None-Match answers 304 here rather than 412. */
	c->if_none_match = NULL;
	c->no_groups = c->rt != scim_rtype_group() && !req_tenant_has_groups(r);
	if (call_load(c, &res) == 0) {
		if (inm != NULL && resource_etag_matches(inm, res.version)) {
			resource_etag(c->etag, sizeof(c->etag), res.version);
			c->status = 304;
		} else
			call_render(c, &res, 200);
	}
	store_res_clear(&res);
	reply_call(r, c);
}

/* ---- listing ---- */

struct list_params {
	const char *filter;
	const char *sort_by;
	const char *sort_order;
	const char *attributes;
	const char *excluded;
	const char *cursor;
	int64_t start;
	int64_t count;
};

struct list_ctx {
	struct scim_call *c;
	struct buf *out;
	int64_t n;
};

static int
list_row(const struct store_res *res, void *arg)
{
	struct list_ctx *lc = arg;
	json_t *multi = fetch_multi(lc->c, res);

	if (lc->n++ > 0)
		buf_addch(lc->out, ',');
	resource_render_projected(lc->out, lc->c->rt, res, lc->c->req->base_url,
	                          multi, lc->c->attributes, lc->c->excluded);
	json_decref(multi);
	return 0;
}

static int
parse_int(const char *s, const char *name, int64_t *v, struct scim_err *e)
{
	char *end;
	long long x;

	errno = 0;
	x = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0) {
		scim_err_set(e, 400, SCIM_ET_INVALID_VALUE,
		             "%s must be an integer, got \"%s\"", name, s);
		return -1;
	}
	*v = x;
	return 0;
}

static int
params_from_query(struct req *r, struct list_params *p, struct scim_err *e)
{
	const char *s;

	memset(p, 0, sizeof(*p));
	p->start = 1;
	p->count = SERVER_PAGE_DEFAULT;
	p->filter = req_param(r, "filter");
	p->sort_by = req_param(r, "sortBy");
	p->sort_order = req_param(r, "sortOrder");
	p->attributes = req_param(r, "attributes");
	p->excluded = req_param(r, "excludedAttributes");
	p->cursor = req_param(r, "cursor");
	if ((s = req_param(r, "startIndex")) != NULL &&
	    parse_int(s, "startIndex", &p->start, e) == -1)
		return -1;
	if ((s = req_param(r, "count")) != NULL &&
	    parse_int(s, "count", &p->count, e) == -1) {
		if (p->cursor != NULL)
			e->scim_type = SCIM_ET_INVALID_COUNT;
		return -1;
	}
	return 0;
}

struct list_result {
	int64_t total;
	int64_t n;
	char *next_cursor;
};

static int
list_type(struct scim_call *c, const struct list_params *p, int64_t start,
          int64_t count, struct buf *rows, int64_t *nrows,
          struct list_result *lr)
{
	struct store_query q;
	struct store_page page;
	struct scim_attrpath sort;
	struct scim_filter *f = NULL;
	struct list_ctx lc = {c, rows, *nrows};
	char *cause = NULL;
	int rc;

	memset(&q, 0, sizeof(q));
	memset(&page, 0, sizeof(page));
	if (p->filter != NULL) {
		struct scim_err fe;

		scim_err_init(&fe);
		if ((f = scim_filter_parse(c->rt, p->filter, &fe)) == NULL) {
			/*
			 * Root search: a filter naming an attribute another
			 * type lacks simply matches nothing of this type.
			 */
			if (c->skip_unknown)
				return 1;
			c->err = fe;
			return call_fail(c);
		}
	}
	if (p->sort_by != NULL && *p->sort_by != '\0') {
		if (scim_attrpath_resolve(c->rt, p->sort_by, strlen(p->sort_by),
		                          &sort) == -1 ||
		    sort.attr == NULL) {
			scim_filter_free(f);
			scim_err_set(&c->err, 400, SCIM_ET_INVALID_PATH,
			             "sortBy: unknown attribute \"%s\"",
			             p->sort_by);
			return call_fail(c);
		}
		q.sort = &sort;
	}
	q.tenant_id = c->req->tok.tenant_id;
	q.type = rtype_store(c->rt);
	q.filter = f;
	q.descending = p->sort_order != NULL &&
	               strcasecmp(p->sort_order, "descending") == 0;
	q.start_index = start;
	q.count = count;
	q.cursor = p->cursor;
	q.want_total = true;
	rc = store_res_list(server_store(c->req->srv), &q, list_row, &lc, &page,
	                    &cause);
	scim_filter_free(f);
	if (rc == STORE_INVALID) {
		bool cur = cause != NULL && strstr(cause, "cursor") != NULL;
		bool cnt = cause != NULL &&
		           strncmp(cause, STORE_CAUSE_CURSOR_COUNT,
		                   strlen(STORE_CAUSE_CURSOR_COUNT)) == 0;

		scim_err_set(&c->err, 400,
		             cnt   ? SCIM_ET_INVALID_COUNT
		             : cur ? SCIM_ET_INVALID_CURSOR
		                   : SCIM_ET_INVALID_FILTER,
		             "%s", cause != NULL ? cause : "invalid query");
		free(cause);
		return call_fail(c);
	}
	free(cause);
	if (rc != STORE_OK) {
		store_page_clear(&page);
		return call_store_err(c);
	}
	lr->total += page.total;
	lr->n += lc.n - *nrows;
	*nrows = lc.n;
	free(lr->next_cursor);
	lr->next_cursor = page.next_cursor;
	page.next_cursor = NULL;
	store_page_clear(&page);
	return 0;
}

static int
check_params(struct list_params *p, struct scim_err *e)
{
	if (p->sort_order != NULL &&
	    strcasecmp(p->sort_order, "ascending") != 0 &&
	    strcasecmp(p->sort_order, "descending") != 0) {
		scim_err_set(
		    e, 400, SCIM_ET_INVALID_VALUE,
		    "sortOrder must be \"ascending\" or \"descending\"");
		return -1;
	}
	/* RFC 9865 §2.1: with a cursor, a count out of range is an error
	 * (RFC 7644's index pagination reads it as 0 or the maximum). */
	if (p->cursor != NULL && (p->count < 0 || p->count > SERVER_PAGE_MAX)) {
		scim_err_set(
		    e, 400, SCIM_ET_INVALID_COUNT,
		    "count must be 0 to %d with a cursor, got %" PRId64,
		    SERVER_PAGE_MAX, p->count);
		return -1;
	}
	if (p->start < 1)
		p->start = 1;
	if (p->count < 0)
		p->count = 0;
	if (p->count > SERVER_PAGE_MAX)
		p->count = SERVER_PAGE_MAX;
	return 0;
}

static void
list_reply(struct req *r, struct list_params *p, struct list_result *lr,
           struct buf *rows)
{
	buf_reset(&r->out);
	buf_addf(&r->out,
	         "{\"schemas\":[\"" SCIM_URN_LIST
	         "\"],\"totalResults\":%" PRId64 ",\"itemsPerPage\":%" PRId64,
	         lr->total, lr->n);
	if (p->cursor == NULL)
		buf_addf(&r->out, ",\"startIndex\":%" PRId64, p->start);
	if (lr->next_cursor != NULL) {
		buf_addstr(&r->out, ",\"nextCursor\":");
		buf_add_json_str(&r->out, lr->next_cursor);
	}
	buf_addstr(&r->out, ",\"Resources\":[");
	buf_add(&r->out, buf_str(rows), rows->len);
	buf_addstr(&r->out, "]}");
	server_reply(r, 200);
}

/*
 * RFC 9865 at the root /.search: the page runs over Users then Groups, so
 * a per-type cursor cannot say where it is. The root cursor is an offset
 * into that sequence instead (kind 'x', bound to the tenant like every
 * cursor), and the page itself is found as index pagination would.
 * Returns 0 with *off, or -1 with e set for a cursor not made here.
 */
static int
root_cursor_start(struct req *r, struct list_params *p, int64_t *off,
                  struct scim_err *e)
{
	int64_t count;

	*off = 0;
	/* A forged huge offset is refused: off + n must not overflow. */
	if (*p->cursor != '\0' &&
	    (store_cursor_decode(p->cursor, 'x', r->tok.tenant_id, STORE_USER,
	                         &count, off) == -1 ||
	     *off > INT64_MAX / 2)) {
		scim_err_set(e, 400, SCIM_ET_INVALID_CURSOR, "invalid cursor");
		return -1;
	}
	if (*p->cursor != '\0' && count != p->count) {
		scim_err_set(e, 400, SCIM_ET_INVALID_COUNT,
		             "%s (%" PRId64 ", this request %" PRId64 ")",
		             STORE_CAUSE_CURSOR_COUNT, count, p->count);
		return -1;
	}
	p->start = *off + 1;
	return 0;
}

/* The root cursor of the next page, unless this one was the last. */
static char *
root_cursor_next(struct req *r, const struct list_params *p, int64_t off,
                 const struct list_result *lr)
{
	if (lr->n == 0 || off + lr->n >= lr->total)
		return NULL;
	return store_cursor_encode('x', r->tok.tenant_id, STORE_USER, p->count,
	                           off + lr->n);
}

/* List one resource type, or both for the root /.search (rt NULL). */
static void
do_list(struct req *r, const struct scim_rtype *rt, struct list_params *p)
{
	const struct scim_rtype *types[2];
	struct list_result lr = {0, 0, NULL};
	struct scim_call c;
	struct buf rows;
	int64_t nrows = 0, start, count, off = 0;
	const char *cursor = NULL;
	size_t i, ntypes;
	bool skipped = false;
	int rc;

	types[0] = rt != NULL ? rt : scim_rtype_user();
	types[1] = scim_rtype_group();
	ntypes = rt != NULL ? 1 : 2;
	buf_init(&rows, 0);
	api_scim_call_init(&c, r, types[0]);
	if (check_params(p, &c.err) == -1) {
		c.status = 400;
		goto fail;
	}
	if (rt == NULL && p->cursor != NULL) {
		if (root_cursor_start(r, p, &off, &c.err) == -1)
			goto fail;
		cursor = p->cursor;
		p->cursor = NULL; /* the types are listed by index */
	}
	c.attributes = p->attributes;
	c.excluded = p->excluded;
	c.no_groups = !req_tenant_has_groups(r);
	start = p->start;
	count = p->count;
	for (i = 0; i < ntypes; i++) {
		int64_t t0 = lr.total, n0 = lr.n, t;

		c.rt = types[i];
		c.skip_unknown = ntypes > 1 && (i == 0 || !skipped);
		rc = list_type(&c, p, start, count, &rows, &nrows, &lr);
		if (rc == -1)
			goto fail;
		skipped = rc == 1;
		if (skipped)
			continue;
		/* Root search: the page continues into the next type. */
		t = lr.total - t0;
		count -= lr.n - n0;
		start -= start - 1 < t ? start - 1 : t;
	}
	if (cursor != NULL) {
		p->cursor = cursor;
		free(lr.next_cursor);
		lr.next_cursor = root_cursor_next(r, p, off, &lr);
	}
	list_reply(r, p, &lr, &rows);
	goto out;
fail:
	server_reply_error(r, &c.err);
out:
	free(lr.next_cursor);
	buf_free(&rows);
	api_scim_call_clear(&c);
}

static void
list_get(struct req *r, const struct scim_rtype *rt)
{
	struct list_params p;
	struct scim_err e;

	scim_err_init(&e);
	if (params_from_query(r, &p, &e) == -1) {
		server_reply_error(r, &e);
		return;
	}
	do_list(r, rt, &p);
}

/* A SearchRequest body (RFC 7644 §3.4.3) into list parameters. */
struct search_strs {
	char *attributes;
	char *excluded;
};

static char *
join_attrs(json_t *v, const char *name, struct scim_err *e)
{
	struct buf b;
	json_t *x;
	size_t i;

	if (v == NULL)
		return NULL;
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (!json_is_array(v)) {
		scim_err_set(e, 400, SCIM_ET_INVALID_VALUE,
		             "%s must be an array of strings", name);
		return NULL;
	}
	buf_init(&b, 0);
	json_array_foreach(v, i, x)
	{
		if (!json_is_string(x)) {
			scim_err_set(e, 400, SCIM_ET_INVALID_VALUE,
			             "%s must be an array of strings", name);
			buf_free(&b);
			return NULL;
		}
		if (i > 0)
			buf_addch(&b, ',');
		buf_addstr(&b, json_string_value(x));
	}
	return buf_detach(&b);
}

static int
search_str(json_t *body, const char *key, const char **out, struct scim_err *e)
{
	json_t *v = json_object_get(body, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		scim_err_set(e, 400, SCIM_ET_INVALID_VALUE,
		             "%s must be a string", key);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

static int
search_int(json_t *body, const char *key, int64_t *out, struct scim_err *e)
{
	json_t *v = json_object_get(body, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v)) {
		scim_err_set(e, 400, SCIM_ET_INVALID_VALUE,
		             "%s must be an integer", key);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

static int
params_from_body(json_t *body, struct list_params *p, struct search_strs *ss,
                 struct scim_err *e)
{
	memset(p, 0, sizeof(*p));
	p->start = 1;
	p->count = SERVER_PAGE_DEFAULT;
	if (!json_is_object(body)) {
		scim_err_set(e, 400, SCIM_ET_INVALID_SYNTAX,
		             "a SearchRequest must be a JSON object");
		return -1;
	}
	/* RFC 7644 §3.4.3: "schemas" is REQUIRED and names the message. */
	if (scim_schemas_check(body, SCIM_URN_SEARCH, "a SearchRequest", e) ==
	    -1)
		return -1;
	ss->attributes =
	    join_attrs(json_object_get(body, "attributes"), "attributes", e);
	ss->excluded = join_attrs(json_object_get(body, "excludedAttributes"),
	                          "excludedAttributes", e);
	if (scim_err_isset(e) ||
	    search_str(body, "filter", &p->filter, e) == -1 ||
	    search_str(body, "sortBy", &p->sort_by, e) == -1 ||
	    search_str(body, "sortOrder", &p->sort_order, e) == -1 ||
	    search_str(body, "cursor", &p->cursor, e) == -1 ||
	    search_int(body, "startIndex", &p->start, e) == -1)
		return -1;
	if (search_int(body, "count", &p->count, e) == -1) {
		if (p->cursor != NULL) /* RFC 9865 §2.1, as for GET */
			e->scim_type = SCIM_ET_INVALID_COUNT;
		return -1;
	}
	p->attributes = ss->attributes;
	p->excluded = ss->excluded;
	return 0;
}

void
api_scim_search(struct req *r)
{
	const struct scim_rtype *rt = NULL;
	struct search_strs ss = {NULL, NULL};
	struct list_params p;
	struct scim_err e;
	json_t *body;

	if (r->nseg == 2)
		rt = req_rtype(r);
	scim_err_init(&e);
	body = req_body_json(r, SERVER_MAX_BODY, &e);
	if (body == NULL || params_from_body(body, &p, &ss, &e) == -1)
		server_reply_error(r, &e);
	else
		do_list(r, rt, &p);
	json_decref(body);
	free(ss.attributes);
	free(ss.excluded);
}

void
api_scim_collection(struct req *r)
{
	const struct scim_rtype *rt = req_rtype(r);
	struct scim_call c;

	if (r->method == EVHTTP_REQ_GET) {
		list_get(r, rt);
		return;
	}
	api_scim_call_init(&c, r, rt);
	c.attributes = req_param(r, "attributes");
	c.excluded = req_param(r, "excludedAttributes");
	c.body = req_body_json(r, SERVER_MAX_BODY, &c.err);
	if (c.body == NULL) {
		c.status = c.err.status;
		reply_call(r, &c);
	} else
		run_write(r, &c, api_scim_create);
	json_decref(c.body);
	api_scim_call_clear(&c);
}

void
api_scim_resource(struct req *r)
{
	struct scim_call c;
	int (*op)(struct scim_call *) = NULL;

	api_scim_call_init(&c, r, req_rtype(r));
	c.id = r->seg[1];
	c.attributes = req_param(r, "attributes");
	c.excluded = req_param(r, "excludedAttributes");
	c.if_match = req_header(r, "If-Match");
	c.if_none_match = req_header(r, "If-None-Match");
	switch (r->method) {
	case EVHTTP_REQ_GET:
		get_one(r, &c);
		goto out;
	case EVHTTP_REQ_PUT:
		op = api_scim_replace;
		break;
	case EVHTTP_REQ_PATCH:
		op = api_scim_patch;
		break;
	default:
		run_write(r, &c, api_scim_delete);
		goto out;
	}
	c.body = req_body_json(r, SERVER_MAX_BODY, &c.err);
	if (c.body == NULL) {
		c.status = c.err.status;
		reply_call(r, &c);
	} else
		run_write(r, &c, op);
out:
	json_decref(c.body);
	api_scim_call_clear(&c);
}
