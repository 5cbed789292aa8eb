/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * API token secrets: generation (256 random bits from libsodium), the hash
 * that is the only thing stored, constant-time hash comparison and scope
 * checks. Secrets never reach a log.
 */
#ifndef ROSTERD_AUTH_H
#define ROSTERD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_HASH_LEN 32
#define AUTH_TOKEN_PREFIX "rstd_"

/* Initialise libsodium; call once at start. Returns 0 or -1. */
int auth_init(void);
/* A new secret "rstd_" + base64url(32 random bytes); caller frees. */
char *auth_token_generate(void);
/* SHA-256 of the secret. */
void auth_token_hash(const char *secret, size_t len,
                     uint8_t out[AUTH_HASH_LEN]);
/* Constant-time equality of two hashes. */
bool auth_hash_equal(const uint8_t *, const uint8_t *);
/*
 * Is `scope` in the comma-separated list? Scopes are independent: "scim"
 * opens /scim/v2, "admin" the admin API; neither implies the other, so a
 * token handed to an IdP can be limited to SCIM.
 */
bool auth_scope_has(const char *scopes, const char *scope);
/*
 * Validate a comma-separated scope list ("scim", "admin"); 0, or -1 with
 * *bad pointing into `scopes` at the first unknown (or empty) item, which
 * ends at the next ',' or NUL.
 */
int auth_scopes_valid(const char *scopes, const char **bad);

#endif
