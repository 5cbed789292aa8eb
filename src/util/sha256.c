/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "util/sha256.h"
#include "util/xmalloc.h"

#define SHA256_CHUNK (1024 * 1024)

int
sha256_fd(int fd, char hex[65], int64_t *size)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	EVP_MD_CTX *ctx;
	int64_t total = 0;
	int err = 0;
	ssize_t n;
	char *chunk;

	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	chunk = xmalloc(SHA256_CHUNK);
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		err = ENOMEM;
	while (err == 0 && (n = read(fd, chunk, SHA256_CHUNK)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			err = errno;
		else if (EVP_DigestUpdate(ctx, chunk, (size_t)n) != 1)
			err = ENOMEM;
		else
			total += n;
	}
	if (err == 0 &&
	    (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32))
		err = ENOMEM;
	EVP_MD_CTX_free(ctx);
	free(chunk);
	if (err != 0) {
		errno = err;
		return -1;
	}
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if (size != NULL)
		*size = total;
	return 0;
}
