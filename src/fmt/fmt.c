/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* The generic file writer: picks a format, buffers output, rolls back. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/fmt.h"
#include "fmt/fmt_csv.h"
#include "fmt/fmt_fixed.h"
#include "fmt/fmt_int.h"
#include "fmt/fmt_x12.h"
#include "util/xmalloc.h"

void
fmt_out_grow(struct fmt_writer *w, size_t n)
{
	size_t cap = w->cap ? w->cap : FMT_OUT_CHUNK;

	while (cap - w->len < n)
		cap *= 2;
	w->out = xrealloc(w->out, cap);
	w->cap = cap;
}

/* Hand pending output to stdio; a short write fails the writer for good. */
static int
fmt_out_flush(struct fmt_writer *w, char **cause)
{
	if (w->len == 0)
		return 0;
	if (fwrite(w->out, 1, w->len, w->f) != w->len) {
		w->io_failed = true;
		*cause = xasprintf("write failed: %s", strerror(errno));
		return -1;
	}
	w->len = 0;
	return 0;
}

static int
fmt_writer_usable(struct fmt_writer *w, char **cause)
{
	if (w->io_failed) {
		*cause = xstrdup("an earlier write to the file failed");
		return -1;
	}
	if (w->finished) {
		*cause = xstrdup("the file is already finished");
		return -1;
	}
	return 0;
}

struct fmt_writer *
fmt_writer_new(const struct fmt_opts *opts, const struct fmt_run *run, FILE *f,
               char **cause)
{
	struct fmt_writer *w;
	int r;

	if (f == NULL) {
		*cause = xstrdup("no output file");
		return NULL;
	}
	w = xcalloc(1, sizeof(*w));
	w->opts = opts;
	w->f = f;
	fmt_out_grow(w, FMT_OUT_CHUNK);
	switch (opts->kind) {
	case FMT_CSV:
		r = fmt_csv_init(w, run, cause);
		break;
	case FMT_FIXED:
		r = fmt_fixed_init(w, run, cause);
		break;
	case FMT_X12_834:
		r = fmt_x12_init(w, run, cause);
		break;
	default:
		*cause = xasprintf("unknown file format %d", (int)opts->kind);
		r = -1;
	}
	if (r == -1) {
		fmt_writer_free(w);
		return NULL;
	}
	return w;
}

int
fmt_writer_add(struct fmt_writer *w, const struct fmt_record *rec, char **cause)
{
	size_t mark = w->len;

	if (fmt_writer_usable(w, cause) == -1)
		return -1;
	if (w->ops->add(w, rec, cause) == -1) {
		w->len =
		    mark; /* nothing of a refused record reaches the file */
		return -1;
	}
	w->count++;
	if (w->len >= FMT_OUT_CHUNK)
		return fmt_out_flush(w, cause);
	return 0;
}

int
fmt_writer_finish(struct fmt_writer *w, char **cause)
{
	if (fmt_writer_usable(w, cause) == -1)
		return -1;
	if (w->ops->finish != NULL && w->ops->finish(w, cause) == -1)
		return -1;
	w->finished = true;
	if (fmt_out_flush(w, cause) == -1)
		return -1;
	if (fflush(w->f) != 0 || ferror(w->f)) {
		w->io_failed = true;
		*cause = xasprintf("write failed: %s", strerror(errno));
		return -1;
	}
	return 0;
}

uint64_t
fmt_writer_count(const struct fmt_writer *w)
{
	return w->count;
}

uint64_t
fmt_writer_truncated(const struct fmt_writer *w)
{
	return w->truncated;
}

void
fmt_writer_free(struct fmt_writer *w)
{
	if (w == NULL)
		return;
	if (w->ops != NULL && w->ops->free != NULL)
		w->ops->free(w);
	free(w->out);
	free(w);
}
