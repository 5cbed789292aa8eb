/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * Values at fixed object paths in JSON text, found in one pass without
 * building a tree. The feed plan reads a handful of attributes from each
 * stored document it must look at; jansson would allocate every node of
 * every document (about 12 µs for a 900-byte user), this scanner only
 * walks the text (well under 1 µs).
 *
 * A set holds paths of up to JPATH_DEPTH object member names, matched
 * case-insensitively (SCIM attribute names are, RFC 7643 §2.1). A scan
 * reports, for each path, the raw JSON text of its value; arrays and
 * objects come back whole for the caller to parse if it needs to. When a
 * name occurs twice in one object the last one wins, as with jansson.
 *
 * The set owns copies of the names; spans point into the scanned text.
 */
#ifndef ROSTERD_FEED_JPATH_H
#define ROSTERD_FEED_JPATH_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

#define JPATH_DEPTH 3

struct jpath_set;

/* The raw JSON text of a value; p is NULL when the path is absent. */
struct jpath_span {
	const char *p;
	size_t len;
};

struct jpath_set *jpath_set_new(void);
void jpath_set_free(struct jpath_set *);
/*
 * Add the path names[0..n) (1 <= n <= JPATH_DEPTH) and return its slot,
 * the index its value takes in a scan's output; adding a path twice
 * returns the same slot.
 */
int jpath_add(struct jpath_set *, const char *const *names, size_t n);
/* Slots handed out so far: the size of a scan's output array. */
size_t jpath_count(const struct jpath_set *);

/*
 * Scan the JSON object text[0..len) and fill out[0..jpath_count()).
 * Returns 0, or -1 when the text is not a well-formed JSON object (out
 * is then unspecified).
 */
int jpath_scan(const struct jpath_set *, const char *text, size_t len,
               struct jpath_span *out);

/*
 * Iterate the elements of an array span: *pos starts at 0. Returns 1
 * with the next element's span, 0 at the end, -1 for malformed text.
 */
int jpath_array_next(const struct jpath_span *arr, size_t *pos,
                     struct jpath_span *elem);

/*
 * The value of a scalar span as text appended to out: a string
 * unescaped, a number as written, true/false as "true"/"false". Returns
 * 1 when appended, 0 for an absent value, null, an array or an object
 * (nothing appended), -1 for malformed text.
 */
int jpath_text(const struct jpath_span *, struct buf *out);

/* Is the span a JSON string equal to s (ASCII case-insensitive)? */
bool jpath_string_is(const struct jpath_span *, const char *s);

#endif
