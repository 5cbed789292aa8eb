/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * Allocation wrappers for the daemon: they never return NULL. On
 * out-of-memory they log and abort (the tmux xmalloc policy), so callers
 * skip NULL checks. Everything they return is freed with free(3).
 */
#ifndef ROSTERD_XMALLOC_H
#define ROSTERD_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t);
/* n bytes at a multiple of align (a power of two >= sizeof(void *)). */
void *xmalloc_aligned(size_t align, size_t n);
void *xcalloc(size_t, size_t);
void *xrealloc(void *, size_t);
/*
 * The same, for arrays that grow to many megabytes (a million-row
 * import's tables): the kernel is asked to back them with huge pages.
 */
void *xrealloc_big(void *, size_t);
void *xcalloc_big(size_t, size_t);
char *xstrdup(const char *);
char *xstrndup(const char *, size_t);
/* printf into a new string; the caller frees it. */
char *xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *, va_list);

/* Free and set the pointer to NULL. */
#define xfree(p)                                                               \
	do {                                                                   \
		free(p);                                                       \
		(p) = NULL;                                                    \
	} while (0)

/* Point jansson at the wrappers above. */
void xmalloc_setup_jansson(void);

#endif
