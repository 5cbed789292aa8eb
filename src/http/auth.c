/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* API token secrets, their stored hashes and scope checks (libsodium). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "http/auth.h"
#include "util/xmalloc.h"

/* 256 bits: the secret is unguessable, so a fast unsalted hash is enough. */
#define AUTH_SECRET_BYTES 32

static const char *const auth_known_scopes[] = {"scim", "admin"};

int
auth_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

char *
auth_token_generate(void)
{
	const size_t plen = sizeof(AUTH_TOKEN_PREFIX) - 1;
	const size_t elen = sodium_base64_ENCODED_LEN(
	    AUTH_SECRET_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	uint8_t raw[AUTH_SECRET_BYTES];
	char *secret = xmalloc(plen + elen);

	memcpy(secret, AUTH_TOKEN_PREFIX, plen);
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(secret + plen, elen, raw, sizeof(raw),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	return secret;
}

void
auth_token_hash(const char *secret, size_t len, uint8_t out[AUTH_HASH_LEN])
{
	crypto_hash_sha256(out, (const unsigned char *)secret, len);
}

bool
auth_hash_equal(const uint8_t *a, const uint8_t *b)
{
	return sodium_memcmp(a, b, AUTH_HASH_LEN) == 0;
}

/* Does the list item [s, s+len) equal the NUL-terminated word w? */
static bool
auth_item_is(const char *s, size_t len, const char *w)
{
	return strlen(w) == len && memcmp(s, w, len) == 0;
}

bool
auth_scope_has(const char *scopes, const char *scope)
{
	const char *p = scopes;
	size_t len;

	if (scopes == NULL || scope == NULL)
		return false;
	for (;;) {
		len = strcspn(p, ",");
		if (auth_item_is(p, len, scope))
			return true;
		if (p[len] == '\0')
			return false;
		p += len + 1;
	}
}

static bool
auth_scope_known(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(auth_known_scopes) / sizeof(*auth_known_scopes);
	     i++) {
		if (auth_item_is(s, len, auth_known_scopes[i]))
			return true;
	}
	return false;
}

/*
 * *bad points into `scopes` at the first item that is not a known scope
 * (an empty item included); it ends at the next ',' or NUL.
 */
int
auth_scopes_valid(const char *scopes, const char **bad)
{
	const char *p = scopes != NULL ? scopes : "";
	size_t len;

	for (;;) {
		len = strcspn(p, ",");
		if (!auth_scope_known(p, len)) {
			if (bad != NULL)
				*bad = p;
			return -1;
		}
		if (p[len] == '\0')
			return 0;
		p += len + 1;
	}
}
