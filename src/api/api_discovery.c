/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* SCIM discovery documents generated from the schema tables. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "api/api_discovery.h"
#include "scim/schema.h"
#include "util/xmalloc.h"

static const char *const type_names[] = {"string",    "boolean",  "decimal",
                                         "integer",   "dateTime", "binary",
                                         "reference", "complex"};
static const char *const mut_names[] = {"readWrite", "readOnly", "immutable",
                                        "writeOnly"};
static const char *const ret_names[] = {"default", "always", "never",
                                        "request"};
static const char *const uniq_names[] = {"none", "server", "global"};

static json_t *
strlist(const char *const *l)
{
	json_t *a = json_array();

	for (; l != NULL && *l != NULL; l++)
		json_array_append_new(a, json_string(*l));
	return a;
}

static json_t *
attr_json(const struct scim_attr *a)
{
	json_t *o, *subs;
	size_t i;

	o = json_pack("{s:s,s:s,s:b,s:s,s:b,s:b,s:s,s:s,s:s}", "name", a->name,
	              "type", type_names[a->type], "multiValued", a->multi,
	              "description", a->desc != NULL ? a->desc : "", "required",
	              a->required, "caseExact", a->case_exact, "mutability",
	              mut_names[a->mut], "returned", ret_names[a->ret],
	              "uniqueness", uniq_names[a->uniq]);
	if (a->canonical != NULL)
		json_object_set_new(o, "canonicalValues",
		                    strlist(a->canonical));
	if (a->ref_types != NULL)
		json_object_set_new(o, "referenceTypes", strlist(a->ref_types));
	if (a->type == SCIM_T_COMPLEX) {
		subs = json_array();
		for (i = 0; i < a->nsub; i++)
			json_array_append_new(subs, attr_json(&a->sub[i]));
		json_object_set_new(o, "subAttributes", subs);
	}
	return o;
}

static json_t *
meta_json(struct req *r, const char *type, const char *path)
{
	char *loc = xasprintf("%s%s", r->base_url, path);
	json_t *m =
	    json_pack("{s:s,s:s}", "resourceType", type, "location", loc);

	free(loc);
	return m;
}

static json_t *
schema_json(struct req *r, const struct scim_schema *s)
{
	json_t *o, *attrs;
	char *path;
	size_t i;

	attrs = json_array();
	for (i = 0; i < s->nattrs; i++)
		json_array_append_new(attrs, attr_json(&s->attrs[i]));
	path = xasprintf("/Schemas/%s", s->id);
	o = json_pack("{s:[s],s:s,s:s,s:s,s:o,s:o}", "schemas", SCIM_URN_SCHEMA,
	              "id", s->id, "name", s->name, "description", s->desc,
	              "attributes", attrs, "meta",
	              meta_json(r, "Schema", path));
	free(path);
	return o;
}

static json_t *
rtype_json(struct req *r, const struct scim_rtype *rt)
{
	json_t *o, *exts;
	char *path;
	size_t i;

	exts = json_array();
	for (i = 0; rt->ext[i] != NULL; i++)
		json_array_append_new(exts,
		                      json_pack("{s:s,s:b}", "schema",
		                                rt->ext[i]->id, "required", 0));
	path = xasprintf("/ResourceTypes/%s", rt->name);
	o = json_pack("{s:[s],s:s,s:s,s:s,s:s,s:s,s:o,s:o}", "schemas",
	              SCIM_URN_RTYPE, "id", rt->name, "name", rt->name,
	              "endpoint", rt->endpoint, "description", rt->desc,
	              "schema", rt->core->id, "schemaExtensions", exts, "meta",
	              meta_json(r, "ResourceType", path));
	free(path);
	return o;
}

static json_t *
list_json(json_t *resources)
{
	return json_pack("{s:[s],s:I,s:I,s:I,s:o}", "schemas", SCIM_URN_LIST,
	                 "totalResults", (json_int_t)json_array_size(resources),
	                 "itemsPerPage", (json_int_t)json_array_size(resources),
	                 "startIndex", (json_int_t)1, "Resources", resources);
}

/* RFC 7644 §4: discovery endpoints SHOULD answer a filter with 403. */
static bool
reject_filter(struct req *r)
{
	struct scim_err e;

	if (req_param(r, "filter") == NULL)
		return false;
	scim_err_init(&e);
	scim_err_set(&e, 403, NULL,
	             "filtering is not supported on discovery endpoints");
	server_reply_error(r, &e);
	return true;
}

static void
not_found(struct req *r, const char *what, const char *name)
{
	struct scim_err e;

	scim_err_init(&e);
	scim_err_set(&e, 404, NULL, "%s \"%s\" not found", what, name);
	server_reply_error(r, &e);
}

void
api_discovery_spc(struct req *r)
{
	json_t *o;

	o = json_pack(
	    "{s:[s],s:{s:b},s:{s:b,s:i,s:i},s:{s:b,s:i},"
	    "s:{s:b},s:{s:b},s:{s:b},s:{s:b,s:b,s:s,s:i,s:i},"
	    "s:[{s:s,s:s,s:s,s:b}],s:o}",
	    "schemas", SCIM_URN_SPC, "patch", "supported", 1, "bulk",
	    "supported", 1, "maxOperations", SERVER_BULK_MAX_OPS,
	    "maxPayloadSize", SERVER_BULK_MAX_PAYLOAD, "filter", "supported", 1,
	    "maxResults", SERVER_PAGE_MAX, "changePassword", "supported", 0,
	    "sort", "supported", 1, "etag", "supported", 1, "pagination",
	    "cursor", 1, "index", 1, "defaultPaginationMethod", "index",
	    "defaultPageSize", SERVER_PAGE_DEFAULT, "maxPageSize",
	    SERVER_PAGE_MAX, "authenticationSchemes", "type",
	    "oauthbearertoken", "name", "OAuth Bearer Token", "description",
	    "Authentication with a rosterd API token (rosterd token create) "
	    "sent as Authorization: Bearer <token>.",
	    "primary", 1, "meta",
	    meta_json(r, "ServiceProviderConfig", "/ServiceProviderConfig"));
	server_reply_json(r, 200, o);
	json_decref(o);
}

void
api_discovery_rtypes(struct req *r)
{
	const struct scim_rtype *rt;
	json_t *a;

	if (reject_filter(r))
		return;
	if (r->nseg == 2) {
		rt = scim_rtype_find(r->seg[1]);
		if (rt == NULL || strcasecmp(rt->name, r->seg[1]) != 0) {
			not_found(r, "ResourceType", r->seg[1]);
			return;
		}
		a = rtype_json(r, rt);
		server_reply_json(r, 200, a);
		json_decref(a);
		return;
	}
	a = json_array();
	json_array_append_new(a, rtype_json(r, scim_rtype_user()));
	json_array_append_new(a, rtype_json(r, scim_rtype_group()));
	a = list_json(a);
	server_reply_json(r, 200, a);
	json_decref(a);
}

void
api_discovery_schemas(struct req *r)
{
	const struct scim_schema *const *all = scim_schemas(), *s;
	json_t *a;
	size_t i;

	if (reject_filter(r))
		return;
	if (r->nseg == 2) {
		s = scim_schema_find(r->seg[1]);
		if (s == NULL) {
			not_found(r, "Schema", r->seg[1]);
			return;
		}
		a = schema_json(r, s);
		server_reply_json(r, 200, a);
		json_decref(a);
		return;
	}
	a = json_array();
	for (i = 0; all[i] != NULL; i++)
		json_array_append_new(a, schema_json(r, all[i]));
	a = list_json(a);
	server_reply_json(r, 200, a);
	json_decref(a);
}
