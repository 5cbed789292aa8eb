/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* SCIM error context and its JSON form. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "scim/error.h"
#include "util/utf8.h"

void
scim_err_init(struct scim_err *e)
{
	memset(e, 0, sizeof(*e));
}

void
scim_err_set(struct scim_err *e, int status, const char *scim_type,
             const char *fmt, ...)
{
	va_list ap;

	if (e == NULL || e->status != 0)
		return;
	e->status = status;
	e->scim_type = scim_type;
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	va_end(ap);
	/* Echoed client bytes, or a cut at the buffer's end, must not make
	 * the error body impossible to write as JSON. */
	utf8_scrub(e->detail);
}

bool
scim_err_isset(const struct scim_err *e)
{
	return e->status != 0;
}

json_t *
scim_err_json(const struct scim_err *e)
{
	json_t *o;
	char st[16];

	snprintf(st, sizeof(st), "%d", e->status ? e->status : 500);
	o = json_pack("{s:[s],s:s,s:s}", "schemas",
	              "urn:ietf:params:scim:api:messages:2.0:Error", "status",
	              st, "detail",
	              e->detail[0] ? e->detail : "internal error");
	if (o == NULL) /* a detail set by hand that is not UTF-8 */
		o = json_pack("{s:[s],s:s,s:s}", "schemas",
		              "urn:ietf:params:scim:api:messages:2.0:Error",
		              "status", st, "detail", "invalid request");
	if (e->scim_type != NULL)
		json_object_set_new(o, "scimType", json_string(e->scim_type));
	return o;
}
