/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* UTF-8 validation. */
#include <stdint.h>
#include <string.h>

#include "util/utf8.h"

/* Length of the UTF-8 sequence lead byte c starts, 0 if c cannot lead. */
static size_t
utf8_seqlen(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	return 0;
}

/* The length of the valid sequence at p (len bytes left), or 0. */
static size_t
utf8_seq(const unsigned char *p, size_t len)
{
	size_t n, k;

	if ((n = utf8_seqlen(p[0])) == 0 || n > len)
		return 0;
	for (k = 1; k < n; k++)
		if ((p[k] & 0xc0) != 0x80)
			return 0;
	/* Overlong 3- and 4-byte forms, surrogates, > U+10FFFF. */
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
		return 0;
	return n;
}

ssize_t
utf8_bad(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	uint64_t w;

	while (i < len) {
		/* Mostly ASCII: eight bytes at a time, then one. */
		if (len - i >= 8) {
			memcpy(&w, p + i, 8);
			if ((w & 0x8080808080808080ULL) == 0) {
				i += 8;
				continue;
			}
		}
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((n = utf8_seq(p + i, len - i)) == 0)
			return (ssize_t)i;
		i += n;
	}
	return -1;
}

void
utf8_scrub(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t len = strlen(s), i = 0, n;

	while (i < len) {
		if ((n = utf8_seq(p + i, len - i)) == 0) {
			p[i++] = '?';
			continue;
		}
		i += n;
	}
}
