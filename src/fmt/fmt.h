/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * Eligibility file writers: CSV (RFC 4180; also pipe- and tab-delimited),
 * fixed-width and ANSI X12 834 005010X220A1. A writer streams records to a
 * FILE in one pass (a 1,000,000-member file never sits in memory) and is
 * byte-for-byte reproducible: nothing in the output depends on anything
 * but the options, the run description and the records.
 *
 * The feed engine (feed/) fills struct fmt_opts from the feed profile and
 * hands records in key order; a dependent's record follows its
 * subscriber's. Options, run and records are borrowed for the call only
 * (options for the writer's life). The writer does not own the FILE.
 */
#ifndef ROSTERD_FMT_H
#define ROSTERD_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum fmt_kind { FMT_CSV, FMT_FIXED, FMT_X12_834 };

enum fmt_action {
	FMT_ADD,       /* new to the vendor (834 INS03 021) */
	FMT_CHANGE,    /* known, some field changed (834 INS03 001) */
	FMT_TERM,      /* coverage ends (834 INS03 024 + DTP*357) */
	FMT_REINSTATE, /* terminated before, eligible again (834 INS03 025) */
	FMT_SAME,      /* unchanged: only in full files (834 INS03 030) */
};

enum fmt_quote { FMT_QUOTE_MINIMAL, FMT_QUOTE_ALL, FMT_QUOTE_NONE };

struct fmt_column {
	const char *name;   /* identifier; X12 looks fields up by name */
	const char *header; /* CSV header text (defaults to name) */
	/* fixed width only */
	size_t width;     /* > 0 */
	bool align_right; /* pad on the left (numbers) */
	char pad;         /* ' ' or '0' */
};

/*
 * X12 834 envelope and header values (005010X220A1). Field names follow
 * the segment/element they fill. A NULL/empty qualifier or a zero
 * separator takes the value shown; GS02/GS03 default to ISA06/ISA08.
 */
struct fmt_x12 {
	const char *isa05_sender_qual;   /* "ZZ" */
	const char *isa06_sender_id;     /* padded to 15 by the writer */
	const char *isa07_receiver_qual; /* "ZZ" */
	const char *isa08_receiver_id;
	const char *gs02_sender_code;
	const char *gs03_receiver_code;
	char isa15_usage;            /* 'P' production, 'T' test */
	bool isa14_ta1;              /* ISA14 1: a TA1 is requested */
	const char *sponsor_name;    /* N1*P5 */
	const char *sponsor_id;      /* N1*P5 ..*<qual>*<id> */
	const char *sponsor_id_qual; /* N103: "FI" (tax id), "24", "94" */
	const char *payer_name;      /* N1*IN */
	const char *payer_id;        /* N1*IN ..*<qual>*<id> */
	const char *payer_id_qual;   /* N103: "FI" (tax id), "94", "XV" */
	const char *policy_number;   /* REF*38 master policy */
	const char *insurance_line;  /* HD03, e.g. "HLT" */
	char element_sep;            /* '*' */
	char segment_term;           /* '~' */
	char component_sep;          /* ':' (ISA16) */
	char repetition_sep;         /* '^' (ISA11) */
	bool newline_after_segment;  /* "~\n" for readability */
};

struct fmt_opts {
	enum fmt_kind kind;
	bool full_file; /* full roster (834 BGN08 "4") vs changes */
	/* CSV */
	char delimiter; /* ',', '|', '\t' */
	enum fmt_quote quote;
	bool header;
	const char *eol;    /* "\r\n" (default) or "\n" */
	bool formula_guard; /* neutralise = + - @ TAB leading characters */
	/* columns, CSV and fixed width; X12 reads named fields from them */
	const struct fmt_column *cols;
	size_t ncols;
	struct fmt_x12 x12;
};

/* Describes one file; the engine persists control numbers. */
struct fmt_run {
	const char *date;      /* run date CCYYMMDD (BGN03, DTP*007, ISA09) */
	const char *time;      /* HHMM (ISA10, BGN04) */
	const char *reference; /* BGN02, unique per file */
	int64_t isa13_control; /* interchange control number */
	int64_t gs06_control;  /* group control number */
	const char
	    *st02_control; /* transaction set control number, 4-9 chars */
};

/*
 * One member. values[i] is the value for cols[i] ("" when absent), already
 * transformed by the profile (dates formatted, mapped, upper-cased). X12
 * reads these named columns (absent ones are left out where 005010X220A1
 * allows):
 *   member_id (REF*0F subscriber id; same for a dependent and its
 *   subscriber), relationship ("18" self, "01" spouse, "19" child, ...),
 *   last_name, first_name, middle_name, ssn (NM109 with qualifier 34),
 *   address1, address2, city, state, zip, birth_date (CCYYMMDD),
 *   gender (M/F/U), employment_status (INS08: FT, PT, AC, TE, RT),
 *   hire_date, coverage_start, coverage_end (CCYYMMDD),
 *   plan_code (HD04), coverage_level (HD05: EMP, ESP, ECH, FAM, ...),
 *   eligibility_start (DTP*356, optional), reporting_category (REF*17,
 *   optional). docs/formats.md maps each to its element.
 */
struct fmt_record {
	enum fmt_action action;
	const char *const *values; /* ncols entries */
	const char *term_date;     /* CCYYMMDD, FMT_TERM only */
};

struct fmt_writer;

/*
 * A writer for opts onto f. Returns NULL with *cause (caller frees) when
 * the options cannot produce a valid file (e.g. an 834 profile without
 * member_id, a fixed-width column without width).
 */
struct fmt_writer *fmt_writer_new(const struct fmt_opts *,
                                  const struct fmt_run *, FILE *f,
                                  char **cause);
/*
 * Write one record; 0, or -1 with *cause. A refused record (a value the
 * format cannot carry) leaves nothing in the file and the writer usable;
 * after a failed write to f every call fails.
 */
int fmt_writer_add(struct fmt_writer *, const struct fmt_record *,
                   char **cause);
/* Write trailers (834 SE/GE/IEA with counts) and flush; 0 or -1. */
int fmt_writer_finish(struct fmt_writer *, char **cause);
/* Records written so far (834: INS loops). */
uint64_t fmt_writer_count(const struct fmt_writer *);
/*
 * Values cut to their fixed-width column's width so far (0 for CSV and
 * X12), so the engine can report them.
 */
uint64_t fmt_writer_truncated(const struct fmt_writer *);
void fmt_writer_free(struct fmt_writer *);

/*
 * Does a CSV value need the formula-injection guard? True when it starts
 * with = + - @ TAB or CR; the writer then prefixes an apostrophe (OWASP
 * "CSV injection").
 */
bool fmt_csv_needs_guard(const char *v);

#endif
