/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * Fixed-width writer: every column padded to its width (left- or
 * right-aligned, with its pad character), too-long values cut and counted
 * (fmt_writer_truncated()), no delimiter, one record per line.
 */
#ifndef ROSTERD_FMT_FIXED_H
#define ROSTERD_FMT_FIXED_H

#include "fmt/fmt.h"

struct fmt_writer;

/*
 * Set up w (from fmt_writer_new) as a fixed-width writer and append the
 * header line when asked. -1 with *cause (caller frees) for a column
 * without width, a bad pad character or line ending.
 */
int fmt_fixed_init(struct fmt_writer *w, const struct fmt_run *run,
                   char **cause);

#endif
