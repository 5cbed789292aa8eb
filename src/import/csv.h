/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * A streaming RFC 4180 reader over a file descriptor. It owns one large
 * read buffer and hands out fields that point into it (zero-copy): a quoted
 * field with doubled quotes is unescaped in place, and every field is
 * NUL-terminated in place, so a field is valid only until the next call
 * that reads (csv_next, csv_seek).
 *
 * Accepted: a UTF-8 byte order mark at the start, CRLF, LF or bare CR line
 * ends, quoted fields holding delimiters, quotes ("") and line breaks, a
 * configurable one-byte delimiter, and a missing line end after the last
 * record. Lines with nothing on them are skipped but still counted.
 *
 * Rows are physical record numbers from 1 (the header, when there is one,
 * is row 1; a quoted line break does not start a new row); columns are
 * field indexes from 1. Errors name both, plus the header name of the
 * column when it is known. After a record-level error (stray quote, wrong
 * number of fields, NUL byte) reading goes on with the next record; after
 * a truncated file, an I/O error or an over-long record there is nothing
 * more to read.
 */
#ifndef ROSTERD_CSV_H
#define ROSTERD_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "util/buf.h"

#define CSV_BUFSIZE_DEFAULT (1024u * 1024)
#define CSV_MAX_RECORD_DEFAULT (16u * 1024 * 1024)

struct csv_opts {
	char delim;        /* field delimiter; 0 means ',' */
	size_t bufsize;    /* first read buffer size; 0: CSV_BUFSIZE_DEFAULT */
	size_t max_record; /* longest record accepted; 0: default */
	bool header;       /* csv_header() reads row 1 as the column names */
};

/*
 * A field: s is NUL-terminated and holds len bytes. It points into the
 * reader's buffer, which the caller may modify in place (say, to trim it)
 * until the next read.
 */
struct csv_field {
	char *s;
	size_t len;
};

enum csv_errkind {
	CSV_E_NONE,
	CSV_E_IO,        /* read(2) failed */
	CSV_E_TRUNCATED, /* the file ends inside a quoted field */
	CSV_E_QUOTE,     /* a quote inside an unquoted field, or after one */
	CSV_E_FIELDS,    /* not as many fields as the header */
	CSV_E_LONG,      /* a record longer than max_record */
	CSV_E_NUL,       /* a NUL byte */
	CSV_E_EMPTY,     /* csv_header(): the file has no header row */
	CSV_E_ENCODING,  /* a UTF-16 byte order mark: not UTF-8 text */
};

struct csv_error {
	enum csv_errkind kind;
	int64_t row;      /* 1-based record number */
	size_t col;       /* 1-based field index; 0 when not about one */
	const char *name; /* header name of col, or NULL; borrowed */
	char msg[160];    /* what is wrong, without row and column */
};

enum csv_rc { CSV_ERROR = -1, CSV_EOF = 0, CSV_RECORD = 1 };

struct csv;

/*
 * A reader over fd (borrowed: the caller closes it), positioned at the
 * fd's current offset. Never fails (allocation aborts).
 */
struct csv *csv_new(int fd, const struct csv_opts *);
/* A reader over a stdio stream that has not been read from yet. */
struct csv *csv_new_file(FILE *, const struct csv_opts *);
void csv_free(struct csv *);

/*
 * Read the header row: CSV_RECORD with the names in *fields and *n (valid
 * until the next read; the reader keeps its own copy for messages),
 * or CSV_ERROR (CSV_E_EMPTY for an empty file).
 */
int csv_header(struct csv *, const struct csv_field **fields, size_t *n);

/*
 * Read the next record. CSV_RECORD: *fields holds *n fields. CSV_EOF: no
 * more records. CSV_ERROR: see csv_last_error(); for the record-level
 * kinds the record is still returned in *fields and *n (as far as it could be
 * made sense of) and the next call reads the following record.
 */
int csv_next(struct csv *, const struct csv_field **fields, size_t *n);

/* The error of the last CSV_ERROR return. Borrowed. */
const struct csv_error *csv_last_error(const struct csv *);

/* Append "row R, column C (name): msg" (or "row R: msg") to b. */
void csv_error_format(const struct csv_error *, struct buf *b);

/* Row number and file offset of the record last returned. */
int64_t csv_row(const struct csv *);
off_t csv_record_offset(const struct csv *);
/* File offset up to which input has been consumed (for progress). */
off_t csv_offset(const struct csv *);

/* The header name of 1-based column col, or NULL. Borrowed. */
const char *csv_column_name(const struct csv *, size_t col);

/*
 * Continue reading at file offset off, which must be the start of a
 * record previously reported by csv_record_offset(), numbered row. Cheap
 * when off lies ahead in the buffer. Returns 0, or -1 when the input
 * cannot seek (a pipe) or the read fails.
 */
int csv_seek(struct csv *, off_t off, int64_t row);

#endif
