/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* Values at fixed object paths in JSON text, in one pass, without a tree. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "feed/jpath.h"
#include "util/xmalloc.h"

/* A trie of member names; node 0 is the document itself. */
struct jpath_node {
	char *name;
	size_t len;
	int child; /* first child, or -1 */
	int next;  /* next sibling, or -1 */
	int slot;  /* output index when a path ends here, or -1 */
};

struct jpath_set {
	struct jpath_node *v;
	size_t n, cap;
	size_t nslots;
};

#define JPATH_KEY_MAX 256

struct jpath_set *
jpath_set_new(void)
{
	struct jpath_set *set = xcalloc(1, sizeof(*set));

	set->cap = 8;
	set->v = xcalloc(set->cap, sizeof(*set->v));
	set->v[0].child = set->v[0].next = set->v[0].slot = -1;
	set->n = 1;
	return set;
}

void
jpath_set_free(struct jpath_set *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		free(set->v[i].name);
	free(set->v);
	free(set);
}

size_t
jpath_count(const struct jpath_set *set)
{
	return set->nslots;
}

static bool
name_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i;
	int x, y;

	if (alen != blen)
		return false;
	for (i = 0; i < alen; i++) {
		x = (unsigned char)a[i];
		y = (unsigned char)b[i];
		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return false;
	}
	return true;
}

static int
child_find(const struct jpath_set *set, int parent, const char *name,
           size_t len)
{
	int c;

	for (c = set->v[parent].child; c != -1; c = set->v[c].next)
		if (name_eq(set->v[c].name, set->v[c].len, name, len))
			return c;
	return -1;
}

static int
child_add(struct jpath_set *set, int parent, const char *name)
{
	struct jpath_node *nd;

	if (set->n == set->cap) {
		set->cap *= 2;
		set->v = xrealloc(set->v, set->cap * sizeof(*set->v));
	}
	nd = &set->v[set->n];
	nd->name = xstrdup(name);
	nd->len = strlen(name);
	nd->child = -1;
	nd->slot = -1;
	nd->next = set->v[parent].child;
	set->v[parent].child = (int)set->n;
	return (int)set->n++;
}

int
jpath_add(struct jpath_set *set, const char *const *names, size_t n)
{
	int at = 0, c;
	size_t i;

	if (n == 0 || n > JPATH_DEPTH)
		return -1;
	for (i = 0; i < n; i++) {
		c = child_find(set, at, names[i], strlen(names[i]));
		at = c != -1 ? c : child_add(set, at, names[i]);
	}
	if (set->v[at].slot == -1)
		set->v[at].slot = (int)set->nslots++;
	return set->v[at].slot;
}

struct scan {
	const struct jpath_set *set;
	const char *s;
	size_t i, len;
	struct jpath_span *out;
};

static void
ws(struct scan *sc)
{
	while (sc->i < sc->len &&
	       (sc->s[sc->i] == ' ' || sc->s[sc->i] == '\t' ||
	        sc->s[sc->i] == '\n' || sc->s[sc->i] == '\r'))
		sc->i++;
}

/* At an opening quote: step past the string; *has_esc if it has '\'. */
static int
skip_string(struct scan *sc, bool *has_esc)
{
	const char *q;

	*has_esc = false;
	sc->i++;
	for (;;) {
		q = memchr(sc->s + sc->i, '"', sc->len - sc->i);
		if (q == NULL)
			return -1;
		if (memchr(sc->s + sc->i, '\\',
		           (size_t)(q - (sc->s + sc->i))) == NULL) {
			sc->i = (size_t)(q - sc->s) + 1;
			return 0;
		}
		*has_esc = true;
		/* Walk the stretch with escapes character by character. */
		while (sc->i < sc->len && sc->s[sc->i] != '"') {
			if (sc->s[sc->i] == '\\')
				sc->i++;
			sc->i++;
		}
		if (sc->i >= sc->len)
			return -1;
		sc->i++;
		return 0;
	}
}

/* Skip one value of any kind (containers by bracket counting). */
static int
skip_value(struct scan *sc)
{
	int depth = 0;
	bool esc;
	char ch;

	do {
		if (sc->i >= sc->len)
			return -1;
		ch = sc->s[sc->i];
		if (ch == '"') {
			if (skip_string(sc, &esc) == -1)
				return -1;
		} else if (ch == '{' || ch == '[') {
			depth++;
			sc->i++;
		} else if (ch == '}' || ch == ']') {
			if (--depth < 0)
				return -1;
			sc->i++;
		} else if (depth == 0) {
			/* number, true, false, null */
			size_t start = sc->i;

			while (sc->i < sc->len &&
			       strchr(",}] \t\r\n", sc->s[sc->i]) == NULL)
				sc->i++;
			return sc->i > start ? 0 : -1;
		} else
			sc->i++;
	} while (depth > 0);
	return 0;
}

/* Decode the escapes of a short key into out; -1 when too long. */
static int
key_unescape(const char *p, size_t n, char *out, size_t *olen)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (o + 1 >= JPATH_KEY_MAX)
			return -1;
		if (p[i] != '\\') {
			out[o++] = p[i];
			continue;
		}
		if (++i >= n)
			return -1;
		/* \u escapes never occur in schema names; keep them raw. */
		out[o++] = p[i] == 'u' ? '?' : p[i];
	}
	*olen = o;
	return 0;
}

static int scan_object(struct scan *sc, int node);

/* One member: at the key's opening quote. */
static int
scan_member(struct scan *sc, int node)
{
	char kb[JPATH_KEY_MAX];
	size_t kstart, klen, vstart;
	const char *key;
	bool esc;
	int c;

	if (sc->i >= sc->len || sc->s[sc->i] != '"')
		return -1;
	kstart = sc->i + 1;
	if (skip_string(sc, &esc) == -1)
		return -1;
	key = sc->s + kstart;
	klen = sc->i - 1 - kstart;
	if (esc && key_unescape(key, klen, kb, &klen) == 0)
		key = kb;
	else if (esc)
		klen = 0;
	ws(sc);
	if (sc->i >= sc->len || sc->s[sc->i] != ':')
		return -1;
	sc->i++;
	ws(sc);
	vstart = sc->i;
	c = klen > 0 ? child_find(sc->set, node, key, klen) : -1;
	if (c != -1 && sc->set->v[c].child != -1 && sc->i < sc->len &&
	    sc->s[sc->i] == '{') {
		if (scan_object(sc, c) == -1)
			return -1;
	} else if (skip_value(sc) == -1)
		return -1;
	if (c != -1 && sc->set->v[c].slot != -1) {
		sc->out[sc->set->v[c].slot].p = sc->s + vstart;
		sc->out[sc->set->v[c].slot].len = sc->i - vstart;
	}
	return 0;
}

/* At '{': scan the members, descending where the trie goes on. */
static int
scan_object(struct scan *sc, int node)
{
	sc->i++;
	ws(sc);
	if (sc->i < sc->len && sc->s[sc->i] == '}') {
		sc->i++;
		return 0;
	}
	for (;;) {
		ws(sc);
		if (scan_member(sc, node) == -1)
			return -1;
		ws(sc);
		if (sc->i >= sc->len)
			return -1;
		if (sc->s[sc->i] == '}') {
			sc->i++;
			return 0;
		}
		if (sc->s[sc->i] != ',')
			return -1;
		sc->i++;
	}
}

int
jpath_scan(const struct jpath_set *set, const char *text, size_t len,
           struct jpath_span *out)
{
	struct scan sc = {set, text, 0, len, out};

	memset(out, 0, set->nslots * sizeof(*out));
	ws(&sc);
	if (sc.i >= len || text[sc.i] != '{')
		return -1;
	return scan_object(&sc, 0);
}

int
jpath_array_next(const struct jpath_span *arr, size_t *pos,
                 struct jpath_span *elem)
{
	struct scan sc = {NULL, arr->p, *pos, arr->len, NULL};
	size_t start;

	if (arr->p == NULL || arr->len < 2 || arr->p[0] != '[')
		return -1;
	if (sc.i == 0)
		sc.i = 1;
	ws(&sc);
	if (sc.i < sc.len && sc.s[sc.i] == ',') {
		sc.i++;
		ws(&sc);
	}
	if (sc.i >= sc.len)
		return -1;
	if (sc.s[sc.i] == ']') {
		*pos = sc.i;
		return 0;
	}
	start = sc.i;
	if (skip_value(&sc) == -1)
		return -1;
	elem->p = sc.s + start;
	elem->len = sc.i - start;
	ws(&sc);
	if (sc.i >= sc.len || (sc.s[sc.i] != ',' && sc.s[sc.i] != ']'))
		return -1;
	*pos = sc.i;
	return 1;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
hex4(const char *p, size_t n, uint32_t *out)
{
	size_t i;
	int h;

	if (n < 4)
		return -1;
	*out = 0;
	for (i = 0; i < 4; i++) {
		if ((h = hexval(p[i])) == -1)
			return -1;
		*out = *out << 4 | (uint32_t)h;
	}
	return 0;
}

static void
add_utf8(struct buf *b, uint32_t cp)
{
	char u[4];

	if (cp < 0x80) {
		buf_addch(b, (char)cp);
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		buf_add(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		buf_add(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		buf_add(b, u, 4);
	}
}

/* A \uXXXX escape at p (after the 'u'), with a surrogate pair. */
static int
unescape_u(const char *p, size_t n, size_t *used, struct buf *b)
{
	uint32_t hi, lo;

	if (hex4(p, n, &hi) == -1)
		return -1;
	*used = 4;
	if (hi >= 0xd800 && hi <= 0xdbff && n >= 10 && p[4] == '\\' &&
	    p[5] == 'u' && hex4(p + 6, n - 6, &lo) == 0 && lo >= 0xdc00 &&
	    lo <= 0xdfff) {
		hi = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
		*used = 10;
	} else if (hi >= 0xd800 && hi <= 0xdfff)
		hi = 0xfffd; /* a lone surrogate */
	add_utf8(b, hi);
	return 0;
}

static int
unescape(const char *p, size_t n, struct buf *b)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *e;
	size_t i = 0, used;

	while (i < n) {
		e = memchr(p + i, '\\', n - i);
		if (e == NULL) {
			buf_add(b, p + i, n - i);
			return 0;
		}
		buf_add(b, p + i, (size_t)(e - (p + i)));
		i = (size_t)(e - p) + 1;
		if (i >= n)
			return -1;
		if (p[i] == 'u') {
			if (unescape_u(p + i + 1, n - i - 1, &used, b) == -1)
				return -1;
			i += 1 + used;
			continue;
		}
		e = strchr(from, p[i]);
		if (e == NULL || p[i] == '\0')
			return -1;
		buf_addch(b, to[e - from]);
		i++;
	}
	return 0;
}

int
jpath_text(const struct jpath_span *sp, struct buf *out)
{
	const char *p = sp->p;
	size_t n = sp->len;

	if (p == NULL || n == 0)
		return 0;
	switch (p[0]) {
	case '"':
		if (n < 2 || p[n - 1] != '"')
			return -1;
		return unescape(p + 1, n - 2, out) == 0 ? 1 : -1;
	case 't':
		buf_addstr(out, "true");
		return 1;
	case 'f':
		buf_addstr(out, "false");
		return 1;
	case 'n':
	case '[':
	case '{':
		return 0;
	default:
		buf_add(out, p, n);
		return 1;
	}
}

bool
jpath_string_is(const struct jpath_span *sp, const char *s)
{
	size_t n = strlen(s);

	if (sp->p == NULL || sp->len != n + 2 || sp->p[0] != '"')
		return false;
	return name_eq(sp->p + 1, n, s, n);
}
