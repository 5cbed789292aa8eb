/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* Streaming RFC 4180 reader: one big buffer, fields parsed in place. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "import/csv.h"
#include "util/xmalloc.h"

/* Where one field lies in the buffer while its record is being parsed. */
struct csv_span {
	size_t off;
	size_t len;
	bool esc; /* holds doubled quotes to undo */
};

struct csv {
	int fd;
	bool seekable;
	char delim;
	size_t max_record;
	unsigned char special[256]; /* bytes that end an unquoted run */

	char *data;  /* data[len] is always NUL: a sentinel for the scan */
	size_t cap;  /* bytes data can hold, the sentinel excluded */
	size_t len;  /* bytes read into data */
	size_t pos;  /* start of the next record */
	off_t base;  /* file offset of data[0] */
	off_t rpos;  /* file offset of the next read */
	bool eof;    /* nothing more to read after data[len] */
	bool fatal;  /* stop: truncated, I/O error or record too long */
	bool at_bom; /* pos is at file offset 0: a BOM may follow */

	int64_t next_row; /* number of the next physical record */
	int64_t row;      /* number of the record last returned */
	off_t rec_off;    /* its file offset */

	struct csv_span *spans;
	size_t nspans, spans_cap;
	struct csv_field *fields;
	size_t fields_cap;
	char **names; /* header copy, for messages */
	size_t nnames;

	struct csv_error err;     /* of the last CSV_ERROR */
	struct csv_error rec_err; /* first problem of the current record */
};

enum csv_parse_rc { P_DONE, P_MORE, P_TRUNC };

static void
csv_init_special(struct csv *c)
{
	memset(c->special, 0, sizeof(c->special));
	c->special[(unsigned char)c->delim] = 1;
	c->special['\n'] = 1;
	c->special['\r'] = 1;
	c->special['"'] = 1;
	c->special[0] = 1;
}

struct csv *
csv_new(int fd, const struct csv_opts *o)
{
	struct csv *c = xcalloc(1, sizeof(*c));
	char d = o != NULL ? o->delim : 0;

	c->fd = fd;
	c->rpos = lseek(fd, 0, SEEK_CUR);
	c->seekable = c->rpos != -1;
	if (!c->seekable)
		c->rpos = 0;
	c->base = c->rpos;
	c->at_bom = c->rpos == 0;
	/* A delimiter that is also quote or line syntax would be ambiguous. */
	c->delim = d == 0 || d == '"' || d == '\r' || d == '\n' ? ',' : d;
	c->cap = o != NULL && o->bufsize > 0 ? o->bufsize : CSV_BUFSIZE_DEFAULT;
	c->max_record = o != NULL && o->max_record > 0 ? o->max_record
	                                               : CSV_MAX_RECORD_DEFAULT;
	if (c->cap > c->max_record)
		c->cap = c->max_record;
	c->data = xmalloc(c->cap + 1);
	c->data[0] = '\0';
	c->next_row = 1;
	csv_init_special(c);
	return c;
}

struct csv *
csv_new_file(FILE *f, const struct csv_opts *o)
{
	return csv_new(fileno(f), o);
}

void
csv_free(struct csv *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nnames; i++)
		free(c->names[i]);
	free(c->names);
	free(c->spans);
	free(c->fields);
	free(c->data);
	free(c);
}

const char *
csv_column_name(const struct csv *c, size_t col)
{
	return col >= 1 && col <= c->nnames ? c->names[col - 1] : NULL;
}

static void __attribute__((format(printf, 3, 4)))
csv_seterr(struct csv_error *e, enum csv_errkind kind, const char *fmt, ...)
{
	va_list ap;

	e->kind = kind;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

/* Record the first problem of the current record, in column col. */
static void
csv_rec_problem(struct csv *c, enum csv_errkind kind, size_t col,
                const char *msg)
{
	if (c->rec_err.kind != CSV_E_NONE)
		return;
	c->rec_err.col = col;
	csv_seterr(&c->rec_err, kind, "%s", msg);
}

/* A fatal problem: reported now, and nothing more is read after it. */
static int
csv_fail(struct csv *c, enum csv_errkind kind, size_t col, const char *msg)
{
	memset(&c->err, 0, sizeof(c->err));
	c->err.row = c->next_row;
	c->err.col = col;
	c->err.name = csv_column_name(c, col);
	csv_seterr(&c->err, kind, "%s", msg);
	c->fatal = true;
	return CSV_ERROR;
}

static ssize_t
csv_read(struct csv *c, char *dst, size_t n)
{
	ssize_t r;

	do {
		r = c->seekable ? pread(c->fd, dst, n, c->rpos)
		                : read(c->fd, dst, n);
	} while (r == -1 && errno == EINTR);
	if (r > 0)
		c->rpos += r;
	return r;
}

/*
 * Make room and read more after the partial record at pos: move it to the
 * front, double the buffer when the record alone fills it, then read.
 * Returns 0, or -1 after csv_fail().
 */
static int
csv_fill(struct csv *c)
{
	char msg[96];
	ssize_t r;

	if (c->pos > 0) {
		memmove(c->data, c->data + c->pos, c->len - c->pos);
		c->base += (off_t)c->pos;
		c->len -= c->pos;
		c->pos = 0;
	}
	if (c->len == c->cap) {
		if (c->cap >= c->max_record) {
			snprintf(msg, sizeof(msg),
			         "record longer than %zu bytes (an unclosed "
			         "quote?)",
			         c->max_record);
			return csv_fail(c, CSV_E_LONG, 0, msg);
		}
		c->cap =
		    c->cap * 2 > c->max_record ? c->max_record : c->cap * 2;
		c->data = xrealloc(c->data, c->cap + 1);
	}
	r = csv_read(c, c->data + c->len, c->cap - c->len);
	if (r == -1) {
		snprintf(msg, sizeof(msg), "read error: %s", strerror(errno));
		return csv_fail(c, CSV_E_IO, 0, msg);
	}
	if (r == 0)
		c->eof = true;
	c->len += (size_t)r;
	c->data[c->len] = '\0';
	return 0;
}

static struct csv_span *
csv_span_add(struct csv *c, size_t off)
{
	struct csv_span *sp;

	if (c->nspans == c->spans_cap) {
		c->spans_cap = c->spans_cap ? c->spans_cap * 2 : 32;
		c->spans = xrealloc(c->spans, c->spans_cap * sizeof(*c->spans));
	}
	sp = &c->spans[c->nspans++];
	sp->off = off;
	sp->len = 0;
	sp->esc = false;
	return sp;
}

/*
 * Scan an unquoted run from p to the next delimiter, line end or the end
 * of the data. Quotes and NUL bytes inside it are noted as problems of
 * column col and taken literally.
 */
static size_t
csv_scan_plain(struct csv *c, size_t p, size_t col)
{
	const unsigned char *d = (const unsigned char *)c->data;

	for (;;) {
		while (!c->special[d[p]])
			p++;
		if (p == c->len || d[p] == (unsigned char)c->delim ||
		    d[p] == '\n' || d[p] == '\r')
			return p;
		if (d[p] == '"')
			csv_rec_problem(c, CSV_E_QUOTE, col,
			                "stray quote in an unquoted field "
			                "(quote the whole field and double "
			                "the quote)");
		else
			csv_rec_problem(c, CSV_E_NUL, col, "NUL byte in field");
		p++;
	}
}

/*
 * A quoted field starting at p (on the quote). Returns P_DONE with *endp
 * just after the closing quote, or P_MORE / P_TRUNC.
 */
static int
csv_scan_quoted(struct csv *c, size_t p, struct csv_span *sp, size_t *endp)
{
	const char *k;
	size_t q = p + 1;

	for (;;) {
		k = memchr(c->data + q, '"', c->len - q);
		if (k == NULL)
			return c->eof ? P_TRUNC : P_MORE;
		q = (size_t)(k - c->data);
		if (q + 1 == c->len && !c->eof)
			return P_MORE; /* "" or the end? the next byte says */
		if (q + 1 < c->len && c->data[q + 1] == '"') {
			sp->esc = true;
			q += 2;
			continue;
		}
		break;
	}
	sp->off = p + 1;
	sp->len = q - p - 1;
	*endp = q + 1;
	return P_DONE;
}

/* One field at p; on P_DONE *endp is on its delimiter or line end. */
static int
csv_field(struct csv *c, size_t p, size_t *endp)
{
	struct csv_span *sp = csv_span_add(c, p);
	size_t col = c->nspans, after;
	int rc;

	if (c->data[p] != '"') {
		*endp = csv_scan_plain(c, p, col);
		sp->len = *endp - p;
		return *endp == c->len && !c->eof ? P_MORE : P_DONE;
	}
	if ((rc = csv_scan_quoted(c, p, sp, &after)) != P_DONE)
		return rc;
	/* Quotes protect delimiters and line breaks, not a NUL: the field
	 * would silently end there once it is a C string. */
	if (memchr(c->data + sp->off, '\0', sp->len) != NULL)
		csv_rec_problem(c, CSV_E_NUL, col, "NUL byte in field");
	if (after < c->len && c->data[after] != c->delim &&
	    c->data[after] != '\n' && c->data[after] != '\r') {
		csv_rec_problem(c, CSV_E_QUOTE, col,
		                "stray quote: text after the closing quote");
		after = csv_scan_plain(c, after, col);
	}
	*endp = after;
	return after == c->len && !c->eof ? P_MORE : P_DONE;
}

/*
 * Parse the record at pos into spans. P_DONE sets *endp past its line
 * end; P_MORE asks for more input first (the record is parsed again from
 * its start, so nothing is modified before P_DONE).
 */
static int
csv_parse(struct csv *c, size_t *endp)
{
	size_t p = c->pos;
	int rc;

	c->nspans = 0;
	memset(&c->rec_err, 0, sizeof(c->rec_err));
	for (;;) {
		if ((rc = csv_field(c, p, &p)) != P_DONE)
			return rc;
		if (p == c->len) {
			*endp = p;
			return P_DONE;
		}
		if (c->data[p] == c->delim) {
			p++;
			continue;
		}
		if (c->data[p] == '\r' && p + 1 == c->len && !c->eof)
			return P_MORE; /* CR or CRLF? */
		p += c->data[p] == '\r' && c->data[p + 1] == '\n' ? 2 : 1;
		*endp = p;
		return P_DONE;
	}
}

/* Undo doubled quotes in place; returns the new length. */
static size_t
csv_unescape(char *s, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		s[o++] = s[i];
		if (s[i] == '"')
			i++; /* skip the second of the pair */
	}
	return o;
}

/* Turn the spans of a parsed record into NUL-terminated fields. */
static void
csv_make_fields(struct csv *c)
{
	struct csv_span *sp;
	size_t i;

	if (c->nspans > c->fields_cap) {
		c->fields_cap = c->nspans * 2;
		c->fields =
		    xrealloc(c->fields, c->fields_cap * sizeof(*c->fields));
	}
	for (i = 0; i < c->nspans; i++) {
		sp = &c->spans[i];
		if (sp->esc)
			sp->len = csv_unescape(c->data + sp->off, sp->len);
		c->data[sp->off + sp->len] = '\0';
		c->fields[i].s = c->data + sp->off;
		c->fields[i].len = sp->len;
	}
}

/*
 * Skip a UTF-8 byte order mark at the very start of the file. A UTF-16
 * one (Excel's "Unicode text") is refused at once: every other byte of
 * such a file is NUL, and reporting each would say nothing useful.
 */
static int
csv_skip_bom(struct csv *c)
{
	const unsigned char *p;

	while (c->len - c->pos < 3 && !c->eof)
		if (csv_fill(c) == -1)
			return -1;
	p = (const unsigned char *)c->data + c->pos;
	c->at_bom = false;
	if (c->len - c->pos >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		c->pos += 3;
	else if (c->len - c->pos >= 2 && ((p[0] == 0xff && p[1] == 0xfe) ||
	                                  (p[0] == 0xfe && p[1] == 0xff))) {
		char msg[96];

		snprintf(msg, sizeof(msg),
		         "the file is UTF-16 (byte order mark %02X %02X), "
		         "not UTF-8: save the export as UTF-8",
		         p[0], p[1]);
		return csv_fail(c, CSV_E_ENCODING, 0, msg);
	}
	return 0;
}

/*
 * Skip one empty line at pos. Returns 0 if the record at pos is not
 * empty, 1 to look again (a line was skipped, or more input was read to
 * tell CR from CRLF), -1 on a read failure.
 */
static int
csv_skip_blank(struct csv *c)
{
	char ch = c->data[c->pos];

	if (c->pos == c->len || (ch != '\n' && ch != '\r'))
		return 0;
	if (ch == '\r' && c->pos + 1 == c->len && !c->eof)
		return csv_fill(c) == -1 ? -1 : 1;
	c->pos += ch == '\r' && c->data[c->pos + 1] == '\n' ? 2 : 1;
	c->next_row++;
	return 1;
}

static void
csv_count_check(struct csv *c)
{
	char msg[96];

	if (c->nnames == 0 || c->nspans == c->nnames)
		return;
	if (c->nspans < c->nnames) {
		snprintf(msg, sizeof(msg), "expected %zu fields, found %zu",
		         c->nnames, c->nspans);
		csv_rec_problem(c, CSV_E_FIELDS, c->nspans + 1, msg);
	} else {
		snprintf(msg, sizeof(msg), "expected %zu fields, found %zu",
		         c->nnames, c->nspans);
		csv_rec_problem(c, CSV_E_FIELDS, c->nnames + 1, msg);
	}
}

/* Read the record at pos; the skeleton of csv_next and csv_header. */
static int
csv_read_record(struct csv *c, bool check_count)
{
	size_t end;
	int rc;

	if (c->fatal)
		return CSV_EOF;
	if (c->at_bom && csv_skip_bom(c) == -1)
		return CSV_ERROR;
	for (;;) {
		if (c->pos == c->len && !c->eof && csv_fill(c) == -1)
			return CSV_ERROR;
		if (c->pos == c->len && c->eof)
			return CSV_EOF;
		if ((rc = csv_skip_blank(c)) == -1)
			return CSV_ERROR;
		if (rc == 1)
			continue;
		rc = csv_parse(c, &end);
		if (rc == P_DONE)
			break;
		if (rc == P_TRUNC)
			return csv_fail(c, CSV_E_TRUNCATED, c->nspans,
			                "quoted field not closed: the file "
			                "ends inside it (truncated file?)");
		if (csv_fill(c) == -1)
			return CSV_ERROR;
	}
	if (check_count)
		csv_count_check(c);
	csv_make_fields(c);
	c->rec_off = c->base + (off_t)c->pos;
	c->row = c->next_row++;
	c->pos = end;
	if (c->rec_err.kind == CSV_E_NONE)
		return CSV_RECORD;
	c->err = c->rec_err;
	c->err.row = c->row;
	c->err.name = csv_column_name(c, c->err.col);
	return CSV_ERROR;
}

int
csv_next(struct csv *c, const struct csv_field **fields, size_t *n)
{
	int rc = csv_read_record(c, true);

	*fields = c->fields;
	*n = rc == CSV_EOF || c->fatal ? 0 : c->nspans;
	return rc;
}

int
csv_header(struct csv *c, const struct csv_field **fields, size_t *n)
{
	size_t i;
	int rc = csv_read_record(c, false);

	*fields = c->fields;
	*n = 0;
	if (rc == CSV_EOF) {
		memset(&c->err, 0, sizeof(c->err));
		c->err.row = 1;
		csv_seterr(&c->err, CSV_E_EMPTY,
		           "the file is empty: no header row");
		return CSV_ERROR;
	}
	if (rc == CSV_ERROR && c->fatal)
		return rc;
	for (i = 0; i < c->nnames; i++)
		free(c->names[i]);
	free(c->names);
	c->nnames = c->nspans;
	c->names = xcalloc(c->nnames, sizeof(*c->names));
	for (i = 0; i < c->nnames; i++)
		c->names[i] = xstrndup(c->fields[i].s, c->fields[i].len);
	if (rc == CSV_ERROR)
		c->err.name = csv_column_name(c, c->err.col);
	*n = c->nspans;
	return rc;
}

const struct csv_error *
csv_last_error(const struct csv *c)
{
	return &c->err;
}

void
csv_error_format(const struct csv_error *e, struct buf *b)
{
	buf_addf(b, "row %lld", (long long)e->row);
	if (e->col > 0) {
		buf_addf(b, ", column %zu", e->col);
		if (e->name != NULL)
			buf_addf(b, " (%s)", e->name);
	}
	buf_addf(b, ": %s", e->msg);
}

int64_t
csv_row(const struct csv *c)
{
	return c->row;
}

off_t
csv_record_offset(const struct csv *c)
{
	return c->rec_off;
}

off_t
csv_offset(const struct csv *c)
{
	return c->base + (off_t)c->pos;
}

int
csv_seek(struct csv *c, off_t off, int64_t row)
{
	/* Ahead in the buffer: the bytes there are still untouched. */
	if (off >= c->base + (off_t)c->pos && off <= c->base + (off_t)c->len &&
	    !c->fatal) {
		c->pos = (size_t)(off - c->base);
		c->next_row = row;
		return 0;
	}
	if (!c->seekable)
		return -1;
	c->base = c->rpos = off;
	c->len = c->pos = 0;
	c->data[0] = '\0';
	c->eof = c->fatal = false;
	c->at_bom = off == 0;
	c->next_row = row;
	return 0;
}
