/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* Aborting allocation wrappers. */
#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util/xmalloc.h"

static void __attribute__((noreturn)) xmalloc_oom(size_t n)
{
	fprintf(stderr, "rosterd: out of memory allocating %zu bytes\n", n);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		xmalloc_oom(n);
	return p;
}

void *
xmalloc_aligned(size_t align, size_t n)
{
	void *p = NULL;

	if (posix_memalign(&p, align, n ? n : 1) != 0)
		xmalloc_oom(n);
	return p;
}

void *
xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);

	if (p == NULL)
		xmalloc_oom(n * sz);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		xmalloc_oom(n);
	return q;
}

/*
 * Transparent huge pages for the 2 MiB-aligned middle of a large block.
 * Most kernels give them only where asked (THP "madvise"); a million-row
 * import then takes a page fault per 2 MiB instead of per 4 KiB, which
 * on a virtual machine is a tenth of its time. Advice only: errors are
 * ignored, and the block is freed as usual.
 */
#define XMALLOC_HUGE ((uintptr_t)2 << 20)

static void
xmalloc_advise_huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
	uintptr_t a = ((uintptr_t)p + XMALLOC_HUGE - 1) & ~(XMALLOC_HUGE - 1);
	uintptr_t b = ((uintptr_t)p + n) & ~(XMALLOC_HUGE - 1);

	if (n >= 2 * XMALLOC_HUGE && b > a)
		(void)madvise((void *)a, b - a, MADV_HUGEPAGE);
#else
	(void)p;
	(void)n;
#endif
}

void *
xrealloc_big(void *p, size_t n)
{
	p = xrealloc(p, n);
	xmalloc_advise_huge(p, n);
	return p;
}

void *
xcalloc_big(size_t n, size_t sz)
{
	void *p = xcalloc(n, sz);

	xmalloc_advise_huge(p, n * sz);
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xvasprintf(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		xmalloc_oom(strlen(fmt));
	return s;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

void
xmalloc_setup_jansson(void)
{
	json_set_alloc_funcs(xmalloc, free);
}
