/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * Bounded growable byte buffer (after curl's dynbuf). The buffer owns its
 * memory, is always NUL-terminated, and refuses to grow past the maximum
 * given to buf_init(): an append that would exceed it frees the contents and
 * returns -1, and every later append also fails, so a writer can check once
 * at the end.
 */
#ifndef ROSTERD_BUF_H
#define ROSTERD_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
	char *data; /* NUL-terminated; NULL before the first append */
	size_t len;
	size_t cap;
	size_t max;
	int failed;
};

#define BUF_MAX_DEFAULT (64u * 1024 * 1024)

void buf_init(struct buf *, size_t max);
/* Free the contents; the buffer may be reused after buf_init(). */
void buf_free(struct buf *);
/* Keep the allocation, drop the contents. */
void buf_reset(struct buf *);
int buf_add(struct buf *, const void *, size_t);
int buf_addstr(struct buf *, const char *);
int buf_addch(struct buf *, char);
int buf_addf(struct buf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
int buf_vaddf(struct buf *, const char *, va_list);
/* Append s as a JSON string literal, quotes included. */
int buf_add_json_str(struct buf *, const char *s);
/* Append a decimal integer. */
int buf_add_i64(struct buf *, int64_t);
/* Append s escaped for the inside of a JSON string, without quotes. */
int buf_add_json_chars(struct buf *, const char *s);
/* The contents ("" when empty); borrowed, valid until the next append. */
const char *buf_str(const struct buf *);
/* Hand the contents to the caller, who frees them; the buffer is reset. */
char *buf_detach(struct buf *);

#endif
