/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * SCIM resource endpoints: /Users and /Groups (collection, resource,
 * .search) and the root /.search. The single-resource operations are also
 * exposed as struct scim_call so /Bulk runs exactly the same code.
 */
#ifndef ROSTERD_API_SCIM_H
#define ROSTERD_API_SCIM_H

#include <jansson.h>

#include "http/server.h"
#include "scim/error.h"
#include "scim/schema.h"
#include "util/buf.h"

void api_scim_collection(struct req *);
void api_scim_resource(struct req *);
void api_scim_search(struct req *);

/* One operation on one resource. Inputs are borrowed. */
struct scim_call {
	struct req *req; /* store, tenant, actor, base URL */
	const struct scim_rtype *rt;
	const char *id;            /* NULL for create */
	json_t *body;              /* create/replace/patch */
	const char *if_match;      /* or NULL */
	const char *if_none_match; /* or NULL; GET answers 304, writes 412 */
	const char *attributes;
	const char *excluded;
	bool skip_unknown; /* root search: a filter unknown to rt skips it */
	bool no_groups;    /* the tenant has no groups: skip the lookup */
	/* results, released by api_scim_call_clear() */
	int status;
	struct buf out; /* response body (may be empty) */
	char etag[32];
	char *location;
	char *new_id;
	struct scim_err err;
};

void api_scim_call_init(struct scim_call *, struct req *,
                        const struct scim_rtype *);
void api_scim_call_clear(struct scim_call *);
/* Each returns 0 or -1 with c->err set; c->status holds the status. */
int api_scim_create(struct scim_call *);
int api_scim_replace(struct scim_call *);
int api_scim_patch(struct scim_call *);
int api_scim_delete(struct scim_call *);

#endif
