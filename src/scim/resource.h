/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * The SCIM representation of a stored resource: id, the stored document,
 * the derived or external multi-valued attribute (a User's "groups", a
 * Group's "members") and "meta". Rendering splices the stored JSON text
 * rather than re-parsing it, which keeps list pages cheap.
 */
#ifndef ROSTERD_SCIM_RESOURCE_H
#define ROSTERD_SCIM_RESOURCE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "scim/schema.h"
#include "store/store.h"
#include "util/buf.h"

/*
 * Append the full representation to out. `multi` (borrowed) is the array
 * for rt's derived/external attribute or NULL to leave it out.
 */
void resource_render(struct buf *out, const struct scim_rtype *,
                     const struct store_res *, const char *base_url,
                     const json_t *multi);

/*
 * As resource_render, then apply attributes/excludedAttributes (either may
 * be NULL); the slower path, taken only when a projection is asked for.
 */
void resource_render_projected(struct buf *out, const struct scim_rtype *,
                               const struct store_res *, const char *base_url,
                               const json_t *multi, const char *attributes,
                               const char *excluded);

/* The weak ETag for a version: W/"3". */
void resource_etag(char *dst, size_t len, int64_t version);

/* Parse an If-Match / If-None-Match header value; true if it matches. */
bool resource_etag_matches(const char *header, int64_t version);

/* meta.location for a resource. Caller frees. */
char *resource_location(const struct scim_rtype *, const char *base_url,
                        const char *id);

#endif
