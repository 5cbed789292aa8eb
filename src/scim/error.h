/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * SCIM error context (RFC 7644 §3.12). A function that fails fills one in
 * and returns -1; the first error set wins, so the innermost, most precise
 * message reaches the client. scim_err_json() is the only place an error
 * becomes a response body. No allocation: the context lives on the stack.
 */
#ifndef ROSTERD_SCIM_ERROR_H
#define ROSTERD_SCIM_ERROR_H

#include <stdbool.h>

#include <jansson.h>

/* scimType values from RFC 7644 Table 9. */
#define SCIM_ET_INVALID_FILTER "invalidFilter"
#define SCIM_ET_TOO_MANY "tooMany"
#define SCIM_ET_UNIQUENESS "uniqueness"
#define SCIM_ET_MUTABILITY "mutability"
#define SCIM_ET_INVALID_SYNTAX "invalidSyntax"
#define SCIM_ET_INVALID_PATH "invalidPath"
#define SCIM_ET_NO_TARGET "noTarget"
#define SCIM_ET_INVALID_VALUE "invalidValue"
#define SCIM_ET_INVALID_VERS "invalidVers"
#define SCIM_ET_SENSITIVE "sensitive"
#define SCIM_ET_INVALID_CURSOR "invalidCursor"
#define SCIM_ET_EXPIRED_CURSOR "expiredCursor"
#define SCIM_ET_INVALID_COUNT "invalidCount"

struct scim_err {
	int status;            /* HTTP status; 0 while unset */
	const char *scim_type; /* static string or NULL */
	char detail[512];
};

void scim_err_init(struct scim_err *);
/* Record an error unless one is already recorded. */
void scim_err_set(struct scim_err *, int status, const char *scim_type,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
bool scim_err_isset(const struct scim_err *);
/* New reference to the SCIM Error resource for this error. */
json_t *scim_err_json(const struct scim_err *);

#endif
