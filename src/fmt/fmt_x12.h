/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * ANSI X12 834 005010X220A1 writer: ISA/GS/ST envelope and header, one
 * 2000/2100A/2300 loop set per member, SE/GE/IEA trailers with counts.
 * It streams (segments are counted as they are written) and refuses data
 * that would need escaping, since X12 has none. docs/formats.md has the
 * segment map.
 */
#ifndef ROSTERD_FMT_X12_H
#define ROSTERD_FMT_X12_H

#include <stdbool.h>
#include <stddef.h>

#include "fmt/fmt.h"

struct fmt_writer;

/*
 * Set up w (from fmt_writer_new) as an 834 writer and append ISA, GS, ST
 * and the header segments. The control numbers are copied from run.
 * -1 with *cause (caller frees) when the options or run cannot make a
 * valid interchange (a missing member_id column, a bad date, an id too
 * long for its element, a separator inside a value, ...).
 */
int fmt_x12_init(struct fmt_writer *w, const struct fmt_run *run, char **cause);

/*
 * The maintenance codes a record with this action gets: INS03 (also used
 * for HD01) and INS04. A full file (BGN08 "4", Verify) carries INS03
 * "030" for every member. Returns -1 for FMT_SAME in a change file, which
 * has no code there.
 */
int fmt_x12_maintenance(enum fmt_action, bool full_file, const char **ins03,
                        const char **ins04);

/*
 * The i-th column an 834 profile must have, with its element ("REF02"),
 * or NULL past the last; for checking a profile when it is loaded.
 */
const char *fmt_x12_required(size_t i, const char **elem);

#endif
