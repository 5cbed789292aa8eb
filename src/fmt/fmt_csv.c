/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* CSV writer (RFC 4180; comma, pipe or tab) with a formula-injection guard. */
#include <stdlib.h>
#include <string.h>

#include "fmt/fmt.h"
#include "fmt/fmt_csv.h"
#include "fmt/fmt_int.h"
#include "util/xmalloc.h"

struct fmt_csv {
	char delim;
	const char *eol;
	size_t eol_len;
	enum fmt_quote quote;
	bool guard;
	/* bytes that force a field into quotes: delimiter, '"', CR, LF */
	char reject[5];
};

bool
fmt_csv_needs_guard(const char *v)
{
	if (v == NULL)
		return false;
	switch (v[0]) {
	case '=':
	case '+':
	case '-':
	case '@':
	case '\t':
	case '\r':
		return true;
	default:
		return false;
	}
}

/*
 * A formula hidden after a separator: "x;=HYPERLINK(...)" is one field of
 * a comma file, but a spreadsheet that splits on ';' (its list separator
 * in many locales) or ',' or TAB starts a cell at the '='. OWASP's CSV
 * injection advice: mind separators inside values, quote the field.
 */
static bool
fmt_csv_hidden_formula(const char *v)
{
	const char *p;

	for (p = strpbrk(v, ",;\t|"); p != NULL; p = strpbrk(p + 1, ",;\t|")) {
		while (p[1] == ' ')
			p++;
		if (p[1] == '=' || p[1] == '+' || p[1] == '-' || p[1] == '@')
			return true;
	}
	return false;
}

static const char *
fmt_csv_delim_name(char d)
{
	switch (d) {
	case ',':
		return "the delimiter ','";
	case '|':
		return "the delimiter '|'";
	default:
		return "the delimiter TAB";
	}
}

/* Which special character v holds, for "none" quoting's refusal. */
static const char *
fmt_csv_special_name(const struct fmt_csv *c, const char *v)
{
	const unsigned char *p;

	for (p = (const unsigned char *)v; *p; p++) {
		if (*p == (unsigned char)c->delim)
			return fmt_csv_delim_name(c->delim);
		if (*p == '"')
			return "a double quote";
		if (*p == '\r' || *p == '\n')
			return "a line break";
	}
	return "a special character";
}

/* v's length, and whether it needs quotes (strcspn(3) is vectorised). */
static bool
fmt_csv_scan(const struct fmt_csv *c, const char *v, size_t *len)
{
	size_t n = strcspn(v, c->reject);

	if (v[n] == '\0') {
		*len = n;
		return false;
	}
	*len = n + strlen(v + n);
	return true;
}

/* Append v between quotes, doubling embedded quotes (RFC 4180 2.7). */
static void
fmt_csv_put_quoted(struct fmt_writer *w, const char *v, size_t len, bool guard)
{
	const char *q, *end = v + len;

	fmt_out_putc(w, '"');
	if (guard)
		fmt_out_putc(w, '\'');
	while ((q = memchr(v, '"', (size_t)(end - v))) != NULL) {
		fmt_out_write(w, v, (size_t)(q - v) + 1);
		fmt_out_putc(w, '"');
		v = q + 1;
	}
	fmt_out_write(w, v, (size_t)(end - v));
	fmt_out_putc(w, '"');
}

/* The row an error is about: 0 is the header. */
static char *
fmt_csv_row(uint64_t recno)
{
	if (recno == 0)
		return xstrdup("header");
	return xasprintf("record %llu", (unsigned long long)recno);
}

/* Append one field of row recno (0: the header) in column col. */
static int
fmt_csv_put_field(struct fmt_writer *w, const char *v,
                  const struct fmt_column *col, uint64_t recno, char **cause)
{
	const struct fmt_csv *c = w->impl;
	bool guard, special, quote;
	char *row;
	size_t len;

	if (v == NULL)
		v = "";
	guard = c->guard && fmt_csv_needs_guard(v);
	special = fmt_csv_scan(c, v, &len);
	switch (c->quote) {
	case FMT_QUOTE_ALL:
		quote = true;
		break;
	case FMT_QUOTE_NONE:
		if (special) {
			row = fmt_csv_row(recno);
			*cause = xasprintf(
			    "%s, column \"%s\": the value "
			    "contains %s, which quoting \"none\" "
			    "cannot write",
			    row, col->name, fmt_csv_special_name(c, v));
			free(row);
			return -1;
		}
		quote = false;
		break;
	default:
		/* A lone empty field would make an empty line, which many
		 * readers skip: quote it so the record survives. */
		quote = special || (*v == '\0' && w->opts->ncols == 1) ||
		        (c->guard && fmt_csv_hidden_formula(v));
	}
	if (quote) {
		fmt_csv_put_quoted(w, v, len, guard);
		return 0;
	}
	if (guard)
		fmt_out_putc(w, '\'');
	fmt_out_write(w, v, len);
	return 0;
}

static int
fmt_csv_add(struct fmt_writer *w, const struct fmt_record *rec, char **cause)
{
	const struct fmt_csv *c = w->impl;
	const struct fmt_opts *o = w->opts;
	size_t i;

	if (rec->values == NULL) {
		*cause = xstrdup("record has no values");
		return -1;
	}
	for (i = 0; i < o->ncols; i++) {
		if (i > 0)
			fmt_out_putc(w, c->delim);
		if (fmt_csv_put_field(w, rec->values[i], &o->cols[i],
		                      w->count + 1, cause) == -1)
			return -1;
	}
	fmt_out_write(w, c->eol, c->eol_len);
	return 0;
}

static void
fmt_csv_free(struct fmt_writer *w)
{
	free(w->impl);
	w->impl = NULL;
}

static const struct fmt_writer_ops fmt_csv_ops = {
    .name = "csv",
    .add = fmt_csv_add,
    .finish = NULL,
    .free = fmt_csv_free,
};

static int
fmt_csv_check(const struct fmt_opts *o, char **cause)
{
	size_t i;

	if (o->delimiter != ',' && o->delimiter != '|' &&
	    o->delimiter != '\t') {
		*cause = xstrdup("CSV delimiter must be ',', '|' or TAB");
		return -1;
	}
	if (o->eol != NULL && strcmp(o->eol, "\r\n") != 0 &&
	    strcmp(o->eol, "\n") != 0) {
		*cause = xstrdup("CSV line ending must be CRLF or LF");
		return -1;
	}
	if (o->quote != FMT_QUOTE_MINIMAL && o->quote != FMT_QUOTE_ALL &&
	    o->quote != FMT_QUOTE_NONE) {
		*cause = xstrdup("unknown CSV quoting");
		return -1;
	}
	if (o->ncols == 0 || o->cols == NULL) {
		*cause = xstrdup("CSV file has no columns");
		return -1;
	}
	for (i = 0; i < o->ncols; i++) {
		if (o->cols[i].name == NULL || o->cols[i].name[0] == '\0') {
			*cause = xasprintf("CSV column %zu has no name", i + 1);
			return -1;
		}
	}
	return 0;
}

int
fmt_csv_init(struct fmt_writer *w, const struct fmt_run *run, char **cause)
{
	const struct fmt_opts *o = w->opts;
	struct fmt_csv *c;
	const char *h;
	size_t i;

	if (fmt_csv_check(o, cause) == -1)
		return -1;
	c = xcalloc(1, sizeof(*c));
	w->ops = &fmt_csv_ops;
	w->impl = c;
	c->delim = o->delimiter;
	c->eol = o->eol != NULL ? o->eol : "\r\n";
	c->eol_len = strlen(c->eol);
	c->quote = o->quote;
	c->guard = o->formula_guard;
	c->reject[0] = c->delim;
	memcpy(c->reject + 1, "\"\r\n", 4);
	if (!o->header)
		return 0;
	for (i = 0; i < o->ncols; i++) {
		if (i > 0)
			fmt_out_putc(w, c->delim);
		h = o->cols[i].header != NULL ? o->cols[i].header
		                              : o->cols[i].name;
		if (fmt_csv_put_field(w, h, &o->cols[i], 0, cause) == -1)
			return -1;
	}
	fmt_out_write(w, c->eol, c->eol_len);
	return 0;
}
