/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * CSV writer (RFC 4180) with ',', '|' or TAB delimiters, minimal/all/none
 * quoting, an optional header row, CRLF or LF line endings and the
 * formula-injection guard (fmt_csv_needs_guard() in fmt/fmt.h).
 */
#ifndef ROSTERD_FMT_CSV_H
#define ROSTERD_FMT_CSV_H

#include "fmt/fmt.h"

struct fmt_writer;

/*
 * Set up w (from fmt_writer_new) as a CSV writer and append the header
 * row. -1 with *cause (caller frees) for a bad delimiter, line ending,
 * column list, or a header "none" quoting cannot write.
 */
int fmt_csv_init(struct fmt_writer *w, const struct fmt_run *run, char **cause);

#endif
