/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * UTF-8 validation as jansson and RFC 3629 define it: no overlong forms,
 * no surrogates, nothing above U+10FFFF. Pure functions; nothing to free.
 */
#ifndef ROSTERD_UTF8_H
#define ROSTERD_UTF8_H

#include <stddef.h>
#include <sys/types.h>

/* The offset of the first byte that is not valid UTF-8 in s, or -1. */
ssize_t utf8_bad(const char *s, size_t len);

/*
 * Make the NUL-terminated s valid UTF-8 in place: each byte that starts
 * no valid sequence becomes '?'. Text built from client input (an echoed
 * id, a message cut at a fixed size) can then always go into JSON.
 */
void utf8_scrub(char *s);

#endif
