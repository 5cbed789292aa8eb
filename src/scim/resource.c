/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* SCIM representation of stored resources and their ETags. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "scim/resource.h"
#include "util/xmalloc.h"

void
resource_etag(char *dst, size_t len, int64_t version)
{
	snprintf(dst, len, "W/\"%" PRId64 "\"", version);
}

char *
resource_location(const struct scim_rtype *rt, const char *base_url,
                  const char *id)
{
	return xasprintf("%s%s/%s", base_url, rt->endpoint, id);
}

bool
resource_etag_matches(const char *h, int64_t version)
{
	char tag[32];
	size_t n;

	resource_etag(tag, sizeof(tag), version);
	while (*h != '\0') {
		while (*h == ' ' || *h == ',')
			h++;
		if (*h == '*')
			return true;
		n = strcspn(h, ",");
		while (n > 0 && h[n - 1] == ' ')
			n--;
		/* Weak comparison (RFC 7232 §2.3.2): ignore the W/ prefix. */
		if (n == strlen(tag) && strncmp(h, tag, n) == 0)
			return true;
		if (n == strlen(tag) - 2 && strncmp(h, tag + 2, n) == 0)
			return true;
		h += strcspn(h, ",");
	}
	return false;
}

void
resource_render(struct buf *out, const struct scim_rtype *rt,
                const struct store_res *r, const char *base_url,
                const json_t *multi)
{
	const char *doc = r->doc;
	size_t len = strlen(doc);
	char *m;

	buf_addstr(out, "{\"id\":");
	buf_add_json_str(out, r->id);
	/* The doc is a compact object: splice its members in. */
	if (len > 2 && doc[0] == '{' && doc[len - 1] == '}') {
		buf_addch(out, ',');
		buf_add(out, doc + 1, len - 2);
	}
	if (multi != NULL && json_array_size(multi) > 0) {
		m = json_dumps(multi, JSON_COMPACT);
		buf_addf(out, ",\"%s\":%s",
		         rt->external_multi != NULL ? rt->external_multi
		                                    : "groups",
		         m);
		free(m);
	}
	buf_addstr(out, ",\"meta\":{\"resourceType\":\"");
	buf_addstr(out, rt->name);
	buf_addstr(out, "\",\"created\":\"");
	buf_addstr(out, r->created);
	buf_addstr(out, "\",\"lastModified\":\"");
	buf_addstr(out, r->modified);
	/* Built in place: a page renders this a hundred times. */
	buf_addstr(out, "\",\"location\":\"");
	buf_add_json_chars(out, base_url);
	buf_addstr(out, rt->endpoint);
	buf_addch(out, '/');
	buf_add_json_chars(out, r->id);
	buf_addstr(out, "\",\"version\":\"W/\\\"");
	buf_add_i64(out, r->version);
	buf_addstr(out, "\\\"\"}}");
}

void
resource_render_projected(struct buf *out, const struct scim_rtype *rt,
                          const struct store_res *r, const char *base_url,
                          const json_t *multi, const char *attributes,
                          const char *excluded)
{
	struct buf tmp;
	json_t *j;
	char *s;

	if ((attributes == NULL || *attributes == '\0') &&
	    (excluded == NULL || *excluded == '\0')) {
		resource_render(out, rt, r, base_url, multi);
		return;
	}
	buf_init(&tmp, 0);
	resource_render(&tmp, rt, r, base_url, multi);
	j = json_loads(buf_str(&tmp), 0, NULL);
	buf_free(&tmp);
	if (j == NULL)
		return;
	scim_schema_project(rt, j, attributes, excluded);
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	buf_addstr(out, s);
	free(s);
	json_decref(j);
}
