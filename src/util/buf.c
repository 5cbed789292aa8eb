/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* Bounded growable byte buffer. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/xmalloc.h"

void
buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max ? max : BUF_MAX_DEFAULT;
}

void
buf_free(struct buf *b)
{
	xfree(b->data);
	b->len = b->cap = 0;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	b->failed = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

static int
buf_grow(struct buf *b, size_t need)
{
	size_t cap;

	if (b->failed)
		return -1;
	if (need > b->max || need < b->len) {
		buf_free(b);
		b->failed = 1;
		return -1;
	}
	if (need + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need + 1)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
	return 0;
}

int
buf_add(struct buf *b, const void *p, size_t n)
{
	if (buf_grow(b, b->len + n) == -1)
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_addstr(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int
buf_addch(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

int
buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || buf_grow(b, b->len + (size_t)n) == -1)
		return -1;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int
buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vaddf(b, fmt, ap);
	va_end(ap);
	return r;
}

/* Does s need any escaping inside a JSON string literal? */
static bool
json_plain(const unsigned char *p, size_t *len)
{
	const unsigned char *s = p;
	bool plain = true;

	for (; *p; p++)
		if (*p < 0x20 || *p == '"' || *p == '\\')
			plain = false;
	*len = (size_t)(p - s);
	return plain;
}

static void
buf_add_json_escaped(struct buf *b, const unsigned char *p)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *run = p;
	char esc[6];

	for (; *p; p++) {
		if (*p >= 0x20 && *p != '"' && *p != '\\')
			continue;
		buf_add(b, run, (size_t)(p - run));
		run = p + 1;
		switch (*p) {
		case '"':
			buf_add(b, "\\\"", 2);
			break;
		case '\\':
			buf_add(b, "\\\\", 2);
			break;
		case '\n':
			buf_add(b, "\\n", 2);
			break;
		case '\r':
			buf_add(b, "\\r", 2);
			break;
		case '\t':
			buf_add(b, "\\t", 2);
			break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 15];
			buf_add(b, esc, 6);
		}
	}
	buf_add(b, run, (size_t)(p - run));
}

int
buf_add_json_chars(struct buf *b, const char *s)
{
	size_t len;

	if (json_plain((const unsigned char *)s, &len))
		return buf_add(b, s, len);
	buf_add_json_escaped(b, (const unsigned char *)s);
	return b->failed ? -1 : 0;
}

int
buf_add_json_str(struct buf *b, const char *s)
{
	size_t len;

	/* The common case, nothing to escape: one copy. */
	if (json_plain((const unsigned char *)s, &len)) {
		if (buf_grow(b, b->len + len + 2) == -1)
			return -1;
		b->data[b->len] = '"';
		memcpy(b->data + b->len + 1, s, len);
		b->data[b->len + 1 + len] = '"';
		b->len += len + 2;
		b->data[b->len] = '\0';
		return 0;
	}
	buf_addch(b, '"');
	buf_add_json_escaped(b, (const unsigned char *)s);
	return buf_addch(b, '"');
}

int
buf_add_i64(struct buf *b, int64_t v)
{
	char d[24], *p = d + sizeof(d);
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	return buf_add(b, p, (size_t)(d + sizeof(d) - p));
}

const char *
buf_str(const struct buf *b)
{
	return b->data != NULL ? b->data : "";
}

char *
buf_detach(struct buf *b)
{
	char *p = b->data != NULL ? b->data : xstrdup("");

	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}
