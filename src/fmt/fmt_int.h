/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * Private to src/fmt/: the generic writer every format fills in, its small
 * vtable, and the output buffer the formats append to.
 *
 * Output goes to a writer-owned buffer, not straight to the FILE: a record
 * is appended whole, and when a format refuses a value half-way through,
 * fmt.c drops everything from the record's start, so the file only ever
 * holds complete records. The buffer is handed to fwrite(3) in chunks of
 * about FMT_OUT_CHUNK bytes between records, which is also what makes a
 * 1,000,000-row render fast (one memcpy per field, one fwrite per MiB).
 */
#ifndef ROSTERD_FMT_INT_H
#define ROSTERD_FMT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fmt/fmt.h"

#define FMT_OUT_CHUNK (1024u * 1024)

struct fmt_writer;

struct fmt_writer_ops {
	const char *name;
	/* Append one record; on -1 *cause is set and fmt.c rolls back. */
	int (*add)(struct fmt_writer *, const struct fmt_record *,
	           char **cause);
	/* Append trailers; may be NULL. */
	int (*finish)(struct fmt_writer *, char **cause);
	/* Free w->impl; may be NULL. */
	void (*free)(struct fmt_writer *);
};

struct fmt_writer {
	const struct fmt_writer_ops *ops;
	const struct fmt_opts *opts; /* borrowed for the writer's life */
	FILE *f;                     /* borrowed */
	void *impl;                  /* the format's own state */

	char *out; /* pending output, not NUL-terminated */
	size_t len;
	size_t cap;

	uint64_t count;     /* records written */
	uint64_t truncated; /* fixed width: values cut to width */
	bool finished;
	bool io_failed; /* a write to f failed: every later call fails */
};

/* Make room for n more bytes in w->out (fmt.c). */
void fmt_out_grow(struct fmt_writer *, size_t n);

static inline void
fmt_out_write(struct fmt_writer *w, const void *p, size_t n)
{
	if (w->cap - w->len < n)
		fmt_out_grow(w, n);
	memcpy(w->out + w->len, p, n);
	w->len += n;
}

static inline void
fmt_out_putc(struct fmt_writer *w, char c)
{
	if (w->cap == w->len)
		fmt_out_grow(w, 1);
	w->out[w->len++] = c;
}

static inline void
fmt_out_puts(struct fmt_writer *w, const char *s)
{
	fmt_out_write(w, s, strlen(s));
}

/* n copies of c. */
static inline void
fmt_out_fill(struct fmt_writer *w, char c, size_t n)
{
	if (w->cap - w->len < n)
		fmt_out_grow(w, n);
	memset(w->out + w->len, c, n);
	w->len += n;
}

#endif
