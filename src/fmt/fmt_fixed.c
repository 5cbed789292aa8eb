/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* Fixed-width writer: padded, aligned, truncated columns; no delimiter. */
#include <stdlib.h>
#include <string.h>

#include "fmt/fmt.h"
#include "fmt/fmt_fixed.h"
#include "fmt/fmt_int.h"
#include "util/xmalloc.h"

struct fmt_fixed {
	const char *eol;
	size_t eol_len;
};

/*
 * Where to cut a value longer than width bytes: at width, or earlier so a
 * UTF-8 sequence is never split (the rest of the field is padded, so the
 * byte positions of the next columns do not move).
 */
static size_t
fmt_fixed_cut(const char *v, size_t width)
{
	size_t cut = width;

	while (cut > 0 && ((unsigned char)v[cut] & 0xc0) == 0x80)
		cut--;
	return cut;
}

static char
fmt_fixed_pad(const struct fmt_column *col)
{
	return col->pad != '\0' ? col->pad : ' ';
}

/* Append v in exactly col->width bytes; *cut is set when v was too long. */
static void
fmt_fixed_put(struct fmt_writer *w, const char *v, size_t len,
              const struct fmt_column *col, char pad, bool right, bool *cut)
{
	size_t n = len;

	*cut = false;
	if (n > col->width) {
		n = fmt_fixed_cut(v, col->width);
		*cut = true;
	}
	if (right)
		fmt_out_fill(w, pad, col->width - n);
	fmt_out_write(w, v, n);
	if (!right)
		fmt_out_fill(w, pad, col->width - n);
}

static int
fmt_fixed_add(struct fmt_writer *w, const struct fmt_record *rec, char **cause)
{
	const struct fmt_fixed *x = w->impl;
	const struct fmt_opts *o = w->opts;
	const struct fmt_column *col;
	uint64_t cuts = 0;
	const char *v;
	size_t i, len;
	bool cut;

	if (rec->values == NULL) {
		*cause = xstrdup("record has no values");
		return -1;
	}
	for (i = 0; i < o->ncols; i++) {
		col = &o->cols[i];
		v = rec->values[i] != NULL ? rec->values[i] : "";
		len = strlen(v);
		/* A line break inside a value would start a new record. */
		if (memchr(v, '\n', len) != NULL ||
		    memchr(v, '\r', len) != NULL) {
			*cause = xasprintf("record %llu, column \"%s\": the "
			                   "value contains a line break, which "
			                   "a fixed-width file cannot hold",
			                   (unsigned long long)w->count + 1,
			                   col->name);
			return -1;
		}
		fmt_fixed_put(w, v, len, col, fmt_fixed_pad(col),
		              col->align_right, &cut);
		cuts += cut;
	}
	fmt_out_write(w, x->eol, x->eol_len);
	/* Counted only once the record is kept. */
	w->truncated += cuts;
	return 0;
}

static void
fmt_fixed_free(struct fmt_writer *w)
{
	free(w->impl);
	w->impl = NULL;
}

static const struct fmt_writer_ops fmt_fixed_ops = {
    .name = "fixed",
    .add = fmt_fixed_add,
    .finish = NULL,
    .free = fmt_fixed_free,
};

static int
fmt_fixed_check(const struct fmt_opts *o, char **cause)
{
	const struct fmt_column *col;
	size_t i;

	if (o->eol != NULL && strcmp(o->eol, "\r\n") != 0 &&
	    strcmp(o->eol, "\n") != 0) {
		*cause = xstrdup("fixed-width line ending must be CRLF or LF");
		return -1;
	}
	if (o->ncols == 0 || o->cols == NULL) {
		*cause = xstrdup("fixed-width file has no columns");
		return -1;
	}
	for (i = 0; i < o->ncols; i++) {
		col = &o->cols[i];
		if (col->name == NULL || col->name[0] == '\0') {
			*cause = xasprintf("fixed-width column %zu has no name",
			                   i + 1);
			return -1;
		}
		if (col->width == 0) {
			*cause = xasprintf("fixed-width column \"%s\" has no "
			                   "width",
			                   col->name);
			return -1;
		}
		if (col->pad != '\0' && (col->pad < 0x20 || col->pad > 0x7e)) {
			*cause = xasprintf("fixed-width column \"%s\": the pad "
			                   "character must be printable ASCII",
			                   col->name);
			return -1;
		}
	}
	return 0;
}

int
fmt_fixed_init(struct fmt_writer *w, const struct fmt_run *run, char **cause)
{
	const struct fmt_opts *o = w->opts;
	const struct fmt_column *col;
	struct fmt_fixed *x;
	const char *h;
	size_t i;
	bool cut;

	if (fmt_fixed_check(o, cause) == -1)
		return -1;
	x = xcalloc(1, sizeof(*x));
	w->ops = &fmt_fixed_ops;
	w->impl = x;
	x->eol = o->eol != NULL ? o->eol : "\r\n";
	x->eol_len = strlen(x->eol);
	if (!o->header)
		return 0;
	/* Header text is left-aligned and space-padded in every column;
	 * cutting it is not a data truncation, so it is not counted. */
	for (i = 0; i < o->ncols; i++) {
		col = &o->cols[i];
		h = col->header != NULL ? col->header : col->name;
		if (strpbrk(h, "\r\n") != NULL) {
			*cause = xasprintf("fixed-width column \"%s\": the "
			                   "header contains a line break",
			                   col->name);
			return -1;
		}
		fmt_fixed_put(w, h, strlen(h), col, ' ', false, &cut);
	}
	fmt_out_write(w, x->eol, x->eol_len);
	return 0;
}
