/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * SCIM PATCH (RFC 7644 §3.5.2) applied to a stored document, including the
 * shapes Entra ID and Okta send: capitalised op names ("Replace"), boolean
 * strings ("True"), no path with dotted or URN-prefixed keys inside value,
 * remove with a value array for members.
 *
 * For a resource type whose multi-valued attribute lives outside the doc
 * (a Group's "members"), operations on it are not applied to the doc but
 * accumulated as a delta in struct scim_patch_members, so a 10,000-member
 * group is never loaded to add or remove one member.
 */
#ifndef ROSTERD_SCIM_PATCH_H
#define ROSTERD_SCIM_PATCH_H

#include <stdbool.h>

#include <jansson.h>

#include "scim/error.h"
#include "scim/schema.h"

struct scim_patch_members {
	bool replace_all; /* existing members are dropped before `add` */
	json_t *add;      /* array of member objects ({"value": id, ...}) */
	json_t *remove;   /* array of member id strings */
	/* the ids in add and in remove, as object keys: a PATCH adding
	 * 10,000 members stays linear (patch.c keeps them in step) */
	json_t *add_ids, *remove_ids;
};

/* Empty delta (two new empty arrays). */
void scim_patch_members_init(struct scim_patch_members *);
void scim_patch_members_free(struct scim_patch_members *);

/*
 * Apply a PatchOp body to doc in place. `mem` receives the delta for
 * rt->external_multi (may be NULL when the type has none). Validates the
 * body ("schemas", "Operations", each op/path/value) and returns 0, or -1
 * with *e set: 400 invalidSyntax (malformed body), invalidPath, noTarget
 * (a filter in a remove/replace path matched nothing where RFC 7644 says
 * so), invalidValue, mutability (readOnly or immutable target),
 * invalidFilter. On failure doc may be partly modified: apply to a copy.
 * The caller re-validates the result with scim_schema_normalize().
 */
int scim_patch_apply(const struct scim_rtype *, json_t *doc, const json_t *body,
                     struct scim_patch_members *mem, struct scim_err *e);

/*
 * A bounded cache of parsed PATCH paths, for a caller that applies the
 * same paths many times (the HRIS importer: one PATCH per person). Owned
 * by the caller, used by one thread at a time; the schemas are static,
 * so an entry never goes stale. scim_patch_paths_free() takes NULL.
 */
struct scim_patch_paths;

struct scim_patch_paths *scim_patch_paths_new(void);
void scim_patch_paths_free(struct scim_patch_paths *);

/*
 * scim_patch_apply() with the paths parsed through `paths` (NULL: none);
 * the result and every error are the same as without it.
 */
int scim_patch_apply_paths(const struct scim_rtype *,
                           struct scim_patch_paths *paths, json_t *doc,
                           const json_t *body, struct scim_patch_members *mem,
                           struct scim_err *e);

#endif
