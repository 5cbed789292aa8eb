/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* POST /Bulk: runs each operation through the same code as the endpoints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "api/api_bulk.h"
#include "api/api_scim.h"
#include "scim/resource.h"
#include "util/xmalloc.h"

struct bulk {
	struct req *req;
	json_t *ids;     /* bulkId -> created id */
	json_t *pending; /* bulkIds declared by POSTs not yet run */
	json_t *cycle;   /* bulkIds of POSTs left waiting on each other */
	int errors;
	int fail_on; /* 0: never stop */
	bool moved;  /* an operation may have changed another resource */
};

/* Replace "bulkId:x" strings in v; -1 if one is not (yet) known. */
static int
bulk_resolve(struct bulk *b, json_t *v, const char **missing)
{
	const char *k, *s;
	json_t *x, *id;
	size_t i;

	if (json_is_string(v))
		return 0;
	if (json_is_array(v)) {
		json_array_foreach(v, i, x)
		{
			s = json_string_value(x);
			if (s != NULL && strncmp(s, "bulkId:", 7) == 0) {
				id = json_object_get(b->ids, s + 7);
				if (id == NULL) {
					*missing = s + 7;
					return -1;
				}
				json_array_set(v, i, id);
			} else if (bulk_resolve(b, x, missing) == -1)
				return -1;
		}
		return 0;
	}
	json_object_foreach(v, k, x)
	{
		s = json_string_value(x);
		if (s != NULL && strncmp(s, "bulkId:", 7) == 0) {
			id = json_object_get(b->ids, s + 7);
			if (id == NULL) {
				*missing = s + 7;
				return -1;
			}
			json_object_set(v, k, id);
		} else if (bulk_resolve(b, x, missing) == -1)
			return -1;
	}
	return 0;
}

/* Parse "/Users" or "/Groups/{id}". */
static int
bulk_path(const char *path, const struct scim_rtype **rt, char *id,
          size_t idlen)
{
	char type[16];
	const char *slash;
	size_t n;

	if (path == NULL || path[0] != '/')
		return -1;
	path++;
	slash = strchr(path, '/');
	n = slash != NULL ? (size_t)(slash - path) : strlen(path);
	if (n == 0 || n >= sizeof(type))
		return -1;
	memcpy(type, path, n);
	type[n] = '\0';
	if (strcasecmp(type, "Users") != 0 && strcasecmp(type, "Groups") != 0)
		return -1;
	*rt = scim_rtype_find(type);
	id[0] = '\0';
	if (slash != NULL) {
		if (snprintf(id, idlen, "%s", slash + 1) >= (int)idlen ||
		    strchr(id, '/') != NULL)
			return -1;
	}
	return 0;
}

/*
 * RFC 7644 §3.7.3: every operation but a failed POST carries the
 * "location" of its resource, a DELETE and a failed PUT/PATCH included.
 * The endpoints set it only when they render the resource, so it is made
 * here from the operation's type and id (the id as resolved, if it was a
 * bulkId reference).
 */
static void
op_location(json_t *o, const char *method, struct scim_call *c)
{
	char *loc;

	if (c->location != NULL && c->status < 400) {
		json_object_set_new(o, "location", json_string(c->location));
		return;
	}
	if (strcasecmp(method, "POST") == 0 || c->rt == NULL || c->id == NULL)
		return;
	loc = resource_location(c->rt, c->req->base_url, c->id);
	json_object_set_new(o, "location", json_string(loc));
	free(loc);
}

static json_t *
op_result(const char *method, const char *bulk_id, struct scim_call *c)
{
	json_t *o = json_pack("{s:s}", "method", method);
	char st[8];

	if (bulk_id != NULL)
		json_object_set_new(o, "bulkId", json_string(bulk_id));
	op_location(o, method, c);
	snprintf(st, sizeof(st), "%d", c->status);
	if (c->status >= 400) {
		json_object_set_new(o, "status", json_string(st));
		json_object_set_new(o, "response", scim_err_json(&c->err));
		return o;
	}
	if (c->etag[0] != '\0')
		json_object_set_new(o, "version", json_string(c->etag));
	json_object_set_new(o, "status", json_string(st));
	return o;
}

static void
op_error(struct scim_call *c, const char *scim_type, const char *msg,
         const char *arg)
{
	scim_err_set(&c->err, 400, scim_type, msg, arg);
	c->status = 400;
}

/* Run one operation; returns its result object. */
static json_t *
bulk_op(struct bulk *b, json_t *op, size_t idx, bool *deferred)
{
	const char *method, *bulk_id, *missing = NULL;
	const struct scim_rtype *rt = NULL;
	struct store *st = server_store(b->req->srv);
	struct scim_call c;
	char id[128], ver[64];
	json_t *data, *res;
	int (*fn)(struct scim_call *) = NULL;

	method = json_string_value(json_object_get(op, "method"));
	bulk_id = json_string_value(json_object_get(op, "bulkId"));
	api_scim_call_init(&c, b->req, scim_rtype_user());
	*deferred = false;
	if (method == NULL)
		method = "";
	if (!json_is_object(op)) {
		op_error(&c, SCIM_ET_INVALID_SYNTAX, "%s",
		         "each operation must be an object");
		goto done;
	}
	if (bulk_path(json_string_value(json_object_get(op, "path")), &rt, id,
	              sizeof(id)) == -1) {
		op_error(&c, SCIM_ET_INVALID_PATH,
		         "path \"%s\" is not a "
		         "resource endpoint",
		         json_string_value(json_object_get(op, "path")) ?: "");
		goto done;
	}
	c.rt = rt;
	if (strcasecmp(method, "POST") == 0 && id[0] == '\0')
		fn = api_scim_create;
	else if (strcasecmp(method, "PUT") == 0 && id[0] != '\0')
		fn = api_scim_replace;
	else if (strcasecmp(method, "PATCH") == 0 && id[0] != '\0')
		fn = api_scim_patch;
	else if (strcasecmp(method, "DELETE") == 0 && id[0] != '\0')
		fn = api_scim_delete;
	if (fn == NULL) {
		op_error(&c, SCIM_ET_INVALID_VALUE,
		         "method \"%s\" is not valid for this path", method);
		goto done;
	}
	/* RFC 7644 §3.7: bulkId is REQUIRED when "method" is "POST". */
	if (fn == api_scim_create && (bulk_id == NULL || *bulk_id == '\0')) {
		op_error(&c, SCIM_ET_INVALID_SYNTAX, "%s",
		         "\"bulkId\" is required for a POST");
		goto done;
	}
	c.id = id[0] != '\0' ? id : NULL; /* id[] is resolved in place */
	if (strncmp(id, "bulkId:", 7) == 0) {
		json_t *real = json_object_get(b->ids, id + 7);

		if (real == NULL) {
			missing = id + 7;
			goto unresolved;
		}
		snprintf(id, sizeof(id), "%s", json_string_value(real));
	}
	data = json_object_get(op, "data");
	if (fn != api_scim_delete) {
		if (!json_is_object(data)) {
			op_error(&c, SCIM_ET_INVALID_SYNTAX, "%s",
			         "\"data\" must be an object");
			goto done;
		}
		c.body = json_deep_copy(data);
		if (bulk_resolve(b, c.body, &missing) == -1)
			goto unresolved;
	}
	if (json_is_string(json_object_get(op, "version"))) {
		snprintf(ver, sizeof(ver), "%s",
		         json_string_value(json_object_get(op, "version")));
		c.if_match = ver;
	}
	store_savepoint(st);
	if (fn(&c) == 0) {
		store_release(st);
		/* Membership and renames move the versions of others. */
		if (c.rt == scim_rtype_group() || fn == api_scim_replace ||
		    fn == api_scim_patch)
			b->moved = true;
		if (c.new_id != NULL && bulk_id != NULL)
			json_object_set_new(b->ids, bulk_id,
			                    json_string(c.new_id));
	} else
		store_rollback_savepoint(st);
	goto done;
unresolved:
	if (json_object_get(b->pending, missing) != NULL) {
		*deferred = true; /* defined by a later POST: run it first */
		json_decref(c.body);
		api_scim_call_clear(&c);
		return NULL;
	}
	if (json_object_get(b->cycle, missing) != NULL) {
		/* RFC 7644 §3.7.1: a circular reference not resolved is 409. */
		scim_err_set(&c.err, 409, NULL,
		             "bulkId \"%s\" is part of a circular reference",
		             missing);
		c.status = 409;
	} else
		op_error(&c, SCIM_ET_INVALID_VALUE,
		         "bulkId \"%s\" does not refer to a successful POST",
		         missing);
done:
	(void)idx;
	res = op_result(method, bulk_id, &c);
	if (c.status >= 400)
		b->errors++;
	json_decref(c.body);
	api_scim_call_clear(&c);
	return res;
}

static json_t *
bulk_ops(json_t *body, struct scim_err *e)
{
	const char *k;
	json_t *v, *ops = NULL;

	if (!json_is_object(body)) {
		scim_err_set(e, 400, SCIM_ET_INVALID_SYNTAX,
		             "a BulkRequest must be a JSON object");
		return NULL;
	}
	/* RFC 7644 §3.7: "schemas" is REQUIRED and names the message. */
	if (scim_schemas_check(body, SCIM_URN_BULKREQ, "a BulkRequest", e) ==
	    -1)
		return NULL;
	json_object_foreach(body, k, v)
	{
		if (strcasecmp(k, "Operations") == 0)
			ops = v;
	}
	if (!json_is_array(ops)) {
		scim_err_set(e, 400, SCIM_ET_INVALID_SYNTAX,
		             "a BulkRequest needs an \"Operations\" array");
		return NULL;
	}
	if (json_array_size(ops) > SERVER_BULK_MAX_OPS) {
		scim_err_set(e, 413, NULL,
		             "%zu operations exceed maxOperations (%d)",
		             json_array_size(ops), SERVER_BULK_MAX_OPS);
		return NULL;
	}
	return ops;
}

static int
bulk_fail_on(json_t *body, struct scim_err *e)
{
	json_t *f = json_object_get(body, "failOnErrors");

	if (f == NULL || json_is_null(f))
		return 0;
	if (!json_is_integer(f) || json_integer_value(f) < 1) {
		scim_err_set(e, 400, SCIM_ET_INVALID_VALUE,
		             "failOnErrors must be a positive integer");
		return -1;
	}
	return (int)json_integer_value(f);
}

/* Run every operation, letting forward bulkId references run later. */
static void
bulk_run(struct bulk *b, json_t *ops, json_t *results)
{
	json_t *op, *res;
	bool progress = true, deferred, left;
	const char *bid;
	size_t i;

	while (progress) {
		progress = left = false;
		json_array_foreach(ops, i, op)
		{
			if (!json_is_null(json_array_get(results, i)))
				continue;
			if (b->fail_on > 0 && b->errors >= b->fail_on)
				return;
			res = bulk_op(b, op, i, &deferred);
			if (deferred) {
				left = true;
				continue;
			}
			json_array_set_new(results, i, res);
			bid = json_string_value(json_object_get(op, "bulkId"));
			if (bid != NULL)
				json_object_del(b->pending, bid);
			progress = true;
		}
		if (left && !progress) {
			/* Circular references: nothing can run; fail them. */
			json_object_update(b->cycle, b->pending);
			json_object_clear(b->pending);
			progress = true;
		}
	}
}

/*
 * A later operation can change a resource an earlier one returned: adding
 * a user created by the Bulk to a group is a new version of that user
 * (its "groups" changed). Each result's "version" is made the resource's
 * version once the whole Bulk ran, the one a client's next If-Match needs.
 */
static void
bulk_versions(struct bulk *b, json_t *results)
{
	struct store *st = server_store(b->req->srv);
	const char *loc, *id, *type;
	struct store_res res;
	char etag[32];
	json_t *x;
	size_t i;

	json_array_foreach(results, i, x)
	{
		loc = json_string_value(json_object_get(x, "location"));
		if (json_object_get(x, "version") == NULL || loc == NULL ||
		    (id = strrchr(loc, '/')) == NULL || id == loc)
			continue;
		for (type = id - 1; type > loc && type[-1] != '/'; type--)
			;
		memset(&res, 0, sizeof(res));
		if (store_res_get(st, b->req->tok.tenant_id,
		                  strncmp(type, "Groups/", 7) == 0 ? STORE_GROUP
		                                                   : STORE_USER,
		                  id + 1, &res) == STORE_OK) {
			resource_etag(etag, sizeof(etag), res.version);
			json_object_set_new(x, "version", json_string(etag));
		}
		store_res_clear(&res);
	}
}

static json_t *
bulk_pending(json_t *ops)
{
	json_t *p = json_object(), *op;
	const char *m, *bid;
	size_t i;

	json_array_foreach(ops, i, op)
	{
		m = json_string_value(json_object_get(op, "method"));
		bid = json_string_value(json_object_get(op, "bulkId"));
		if (m != NULL && bid != NULL && strcasecmp(m, "POST") == 0)
			json_object_set_new(p, bid, json_true());
	}
	return p;
}

void
api_bulk_post(struct req *r)
{
	struct bulk b;
	struct scim_err e;
	json_t *body, *ops, *results, *out, *x;
	size_t i;

	memset(&b, 0, sizeof(b));
	scim_err_init(&e);
	req_groups_changed(r); /* a Bulk may create or delete groups */
	body = req_body_json(r, SERVER_BULK_MAX_PAYLOAD, &e);
	if (body == NULL || (ops = bulk_ops(body, &e)) == NULL ||
	    (b.fail_on = bulk_fail_on(body, &e)) == -1) {
		server_reply_error(r, &e);
		json_decref(body);
		return;
	}
	if (req_write_begin(r) == -1) {
		scim_err_set(&e, 503, NULL, "the store is busy; retry");
		server_reply_error(r, &e);
		json_decref(body);
		return;
	}
	b.req = r;
	b.ids = json_object();
	b.pending = bulk_pending(ops);
	b.cycle = json_object();
	results = json_array();
	for (i = 0; i < json_array_size(ops); i++)
		json_array_append_new(results, json_null());
	bulk_run(&b, ops, results);
	if (b.moved)
		bulk_versions(&b, results);
	out = json_pack("{s:[s],s:[]}", "schemas", SCIM_URN_BULKRESP,
	                "Operations");
	json_array_foreach(results, i, x)
	{
		if (!json_is_null(x))
			json_array_append(json_object_get(out, "Operations"),
			                  x);
	}
	server_reply_json(r, 200, out);
	json_decref(out);
	json_decref(results);
	json_decref(b.ids);
	json_decref(b.pending);
	json_decref(b.cycle);
	json_decref(body);
}
