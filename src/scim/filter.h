/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * SCIM filter expressions (RFC 7644 §3.4.2.2): the parser, which resolves
 * every attribute path against a resource type's schema, and an evaluator
 * over a resource document. Compiling a filter to SQL belongs to each store
 * backend (store/sqlite_filter.c), which walks the tree defined here.
 *
 * The tree owns its nodes and values: free it with scim_filter_free().
 */
#ifndef ROSTERD_SCIM_FILTER_H
#define ROSTERD_SCIM_FILTER_H

#include <stdbool.h>

#include <jansson.h>

#include "scim/error.h"
#include "scim/schema.h"

enum scim_fop {
	SCIM_F_EQ,
	SCIM_F_NE,
	SCIM_F_CO,
	SCIM_F_SW,
	SCIM_F_EW,
	SCIM_F_GT,
	SCIM_F_GE,
	SCIM_F_LT,
	SCIM_F_LE,
	SCIM_F_PR,
	SCIM_F_AND,
	SCIM_F_OR,
	SCIM_F_NOT,
	SCIM_F_VALPATH, /* attr[filter]: left is the inner filter */
};

struct scim_filter {
	enum scim_fop op;
	/*
	 * Comparisons, pr and valpath: the attribute. Inside a valpath the
	 * inner paths resolve relative to the multi-valued attribute, so
	 * path.attr is that attribute and path.sub the sub-attribute.
	 */
	struct scim_attrpath path;
	char *raw_path; /* as written, for messages */
	json_t *value;  /* comparison value: string, number, true/false/null */
	struct scim_filter *left;  /* and, or, not, valpath */
	struct scim_filter *right; /* and, or */
};

/*
 * Parse `text` against the resource type. Returns the tree, or NULL with
 * *e set to 400 invalidFilter naming the position and the problem
 * (unknown attribute, bad operator, unbalanced parentheses, a comparison
 * the attribute's type does not support such as gt on a boolean).
 */
struct scim_filter *scim_filter_parse(const struct scim_rtype *,
                                      const char *text, struct scim_err *e);

/*
 * Parse a PATCH path (RFC 7644 §3.5.2 PATH grammar):
 * attrPath / valuePath [subAttr]. On success *attr holds the attribute,
 * *vfilter the value filter or NULL (caller frees it) and *sub the
 * trailing sub-attribute after a value filter or NULL. Errors are 400
 * invalidPath (or invalidFilter for a bad value filter).
 */
int scim_filter_parse_path(const struct scim_rtype *, const char *text,
                           struct scim_attrpath *attr,
                           struct scim_filter **vfilter,
                           const struct scim_attr **sub, struct scim_err *e);

/*
 * A short name for a schema URN in hand-written rules: an attribute path
 * starting with prefix ("eligibility:", in any case) resolves as if it
 * started with urn (the extension's URN and ':'). Lists end with a NULL
 * prefix.
 */
struct scim_abbrev {
	const char *prefix;
	const char *urn;
};

/*
 * scim_filter_parse and scim_filter_parse_path for such rules: top-level
 * attribute paths may use the abbreviations in ab (or NULL). Messages
 * quote the text as written and count positions in it.
 */
struct scim_filter *scim_filter_parse_ab(const struct scim_rtype *,
                                         const char *text,
                                         const struct scim_abbrev *ab,
                                         struct scim_err *e);
int scim_filter_parse_path_ab(const struct scim_rtype *, const char *text,
                              const struct scim_abbrev *ab,
                              struct scim_attrpath *attr,
                              struct scim_filter **vfilter,
                              const struct scim_attr **sub, struct scim_err *e);

void scim_filter_free(struct scim_filter *);

/*
 * Evaluate against a resource document (doc layout of schema.h; "id",
 * "meta" and "groups"/"members" are consulted when present). Case rules
 * follow each attribute's caseExact; dateTime values compare as instants.
 */
bool scim_filter_match(const struct scim_filter *, const json_t *doc);

/*
 * Evaluate a value-path inner filter against one element of a multi-valued
 * attribute (e.g. one object of "emails", or a string for multi-valued
 * simple attributes).
 */
bool scim_filter_match_elem(const struct scim_filter *, const json_t *elem);

#endif
