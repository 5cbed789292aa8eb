/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * SCIM schemas and resource types (RFC 7643 §2, §4, §7, §8.7). Owns the
 * static attribute tables for core User, Enterprise User, rosterd's
 * eligibility extension and Group, attribute-path resolution (names are
 * case-insensitive, RFC 7643 §2.1), the normalisation of client input into
 * the stored document, and attribute projection on output.
 *
 * The stored document ("doc") is a JSON object holding the resource's own
 * attributes with canonical names: core attributes at the top level and each
 * extension's attributes in an object under the extension's URN, plus
 * "schemas". It never holds "id", "meta", a User's "groups" or a Group's
 * "members" (those live in their own columns and tables).
 *
 * All tables are static and immutable; nothing here needs freeing except
 * the json_t results, which the caller owns.
 */
#ifndef ROSTERD_SCIM_SCHEMA_H
#define ROSTERD_SCIM_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "scim/error.h"

#define SCIM_URN_USER "urn:ietf:params:scim:schemas:core:2.0:User"
#define SCIM_URN_GROUP "urn:ietf:params:scim:schemas:core:2.0:Group"
#define SCIM_URN_ENTERPRISE                                                    \
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
#define SCIM_URN_ELIGIBILITY                                                   \
	"urn:rosterd:params:scim:schemas:extension:eligibility:1.0:User"
#define SCIM_URN_LIST "urn:ietf:params:scim:api:messages:2.0:ListResponse"
#define SCIM_URN_PATCHOP "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#define SCIM_URN_SEARCH "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
#define SCIM_URN_BULKREQ "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
#define SCIM_URN_BULKRESP "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
#define SCIM_URN_SPC                                                           \
	"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
#define SCIM_URN_RTYPE "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
#define SCIM_URN_SCHEMA "urn:ietf:params:scim:schemas:core:2.0:Schema"

enum scim_type {
	SCIM_T_STRING,
	SCIM_T_BOOLEAN,
	SCIM_T_DECIMAL,
	SCIM_T_INTEGER,
	SCIM_T_DATETIME,
	SCIM_T_BINARY,
	SCIM_T_REFERENCE,
	SCIM_T_COMPLEX,
};

enum scim_mut { SCIM_M_RW, SCIM_M_RO, SCIM_M_IMMUTABLE, SCIM_M_WO };
enum scim_ret { SCIM_R_DEFAULT, SCIM_R_ALWAYS, SCIM_R_NEVER, SCIM_R_REQUEST };
enum scim_uniq { SCIM_U_NONE, SCIM_U_SERVER, SCIM_U_GLOBAL };

struct scim_attr {
	const char *name; /* canonical case */
	enum scim_type type;
	bool multi;
	bool required;
	bool case_exact;
	enum scim_mut mut;
	enum scim_ret ret;
	enum scim_uniq uniq;
	const char *desc;
	const char *const *canonical; /* NULL-terminated, or NULL */
	const char *const *ref_types; /* NULL-terminated, or NULL */
	const struct scim_attr *sub;  /* sub-attributes of a complex type */
	size_t nsub;
	/* rosterd checks beyond RFC 7643 (zero = none) */
	bool date_only;        /* string of the form YYYY-MM-DD */
	bool strict_canonical; /* value must be one of canonical */
};

struct scim_schema {
	const char *id; /* URN */
	const char *name;
	const char *desc;
	const struct scim_attr *attrs;
	size_t nattrs;
};

struct scim_rtype {
	const char *name;     /* "User" */
	const char *endpoint; /* "/Users" */
	const char *desc;
	const struct scim_schema *core;
	const struct scim_schema *const *ext; /* extensions, NULL-terminated */
	/* Multi-valued attribute stored outside the doc ("members"), or NULL.
	 */
	const char *external_multi;
};

/*
 * A resolved attribute path: "userName", "name.givenName", "emails.value",
 * "urn:...:enterprise:2.0:User:manager.value", "meta.lastModified". The
 * pointers are into the static tables.
 */
struct scim_attrpath {
	const struct scim_schema
	    *schema; /* owner; NULL for id/meta/externalId */
	const struct scim_attr
	    *attr; /* NULL: the path names a whole extension */
	const struct scim_attr *sub; /* sub-attribute, or NULL */
	bool ext;                    /* schema is an extension of rtype */
};

const struct scim_rtype *scim_rtype_user(void);
const struct scim_rtype *scim_rtype_group(void);
/* The resource type by endpoint name ("Users") or name ("User"), or NULL. */
const struct scim_rtype *scim_rtype_find(const char *);
/* Every schema rosterd knows (core, extensions), NULL-terminated. */
const struct scim_schema *const *scim_schemas(void);
/* The schema with this URN (case-insensitive), or NULL. */
const struct scim_schema *scim_schema_find(const char *urn);
/* The common attributes id, externalId and meta (RFC 7643 §3.1). */
const struct scim_attr *scim_common_attrs(size_t *n);

/* Look up a named attribute within a list (case-insensitive), or NULL. */
const struct scim_attr *scim_attr_find(const struct scim_attr *, size_t n,
                                       const char *name, size_t len);

/*
 * Resolve path[0..len) against the resource type. Returns 0, or -1 when
 * the path names no attribute (nothing is written to *out then).
 */
int scim_attrpath_resolve(const struct scim_rtype *, const char *path,
                          size_t len, struct scim_attrpath *out);

/* The attribute's own definition: sub when set, else attr. */
const struct scim_attr *scim_attrpath_leaf(const struct scim_attrpath *);

enum scim_norm_mode {
	SCIM_NORM_CREATE,  /* POST */
	SCIM_NORM_REPLACE, /* PUT, or the result of a PATCH */
};

/*
 * Turn a client body into the stored doc: canonical attribute names,
 * readOnly attributes and unknown attributes dropped, null and empty values
 * removed, Entra's "True"/"False" strings accepted for booleans, types,
 * required attributes, canonical "schemas" and at most one primary checked.
 * `old` is the current doc for REPLACE (immutable attributes must not
 * change) or NULL. The external multi-valued attribute ("members") is kept
 * in the result, validated, for the caller to split off. Returns a new doc
 * the caller owns, or NULL with *e set (400 invalidValue, invalidSyntax or
 * mutability).
 */
json_t *scim_schema_normalize(const struct scim_rtype *, const json_t *in,
                              const json_t *old, enum scim_norm_mode,
                              struct scim_err *e);

/*
 * Apply "returned" rules and the attributes / excludedAttributes query
 * parameters (comma-separated attribute paths, either may be NULL) to a
 * full resource representation in place. Unknown names are ignored
 * (RFC 7644 §3.9 leaves that open; Entra sends names we may not store).
 */
void scim_schema_project(const struct scim_rtype *, json_t *res,
                         const char *attributes, const char *excluded);

/*
 * Check that a request message (a SearchRequest, BulkRequest, ...) has
 * the "schemas" array RFC 7644 requires and that it lists urn (compared
 * case-insensitively). what names the message in the detail. Returns 0,
 * or -1 with *e set to 400 invalidSyntax.
 */
int scim_schemas_check(const json_t *body, const char *urn, const char *what,
                       struct scim_err *e);

/* True if the string is an RFC 3339 / xsd:dateTime timestamp. */
bool scim_datetime_valid(const char *);

#endif
