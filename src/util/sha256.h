/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * SHA-256 of a whole file, read from an open descriptor (OpenSSL EVP: it
 * uses the CPU's SHA extensions; see docs/architecture.md). The caller
 * keeps and closes the descriptor.
 */
#ifndef ROSTERD_SHA256_H
#define ROSTERD_SHA256_H

#include <stdint.h>

/*
 * Read fd to its end; 64 hex digits and a NUL into hex, the byte count
 * into *size (may be NULL). Returns 0, or -1 with errno set.
 */
int sha256_fd(int fd, char hex[65], int64_t *size);

#endif
