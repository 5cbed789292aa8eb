/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * The HRIS import engine: validate a whole export, then apply what changed
 * since the last import in one transaction.
 *
 * Pass 1 reads every record once, checks every mapped cell, and keeps per
 * employee only the key, where its record starts, and SipHash values of
 * its mapped cells and of its dependents' rows (about 100 bytes a person).
 * Pass 2 compares those hashes with the ones stored by the last import and
 * goes back (csv_seek) only to the records that differ, so a daily file in
 * which 1% of people changed costs 1% of the JSON and store work.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>

#include "import/csv.h"
#include "import/hris.h"
#include "import/hris_ahead.h"
#include "scim/patch.h"
#include "store/store_hris.h"
#include "util/buf.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

#define HRIS_NONE UINT32_MAX
#define HRIS_PROGRESS_ROWS 65536
#define HRIS_PROGRESS_APPLY 4096

enum hris_emp_flag {
	EMP_BAD = 1 << 0,   /* a row of this person is bad: leave them be */
	EMP_KNOWN = 1 << 1, /* old_row/old_dep hold the last import's hashes */
	EMP_DEPS = 1 << 2,  /* dependents to bring in line this run */
	EMP_PUT = 1 << 3,   /* hris_people to be written at the end */
	EMP_SCANNED = 1 << 4,  /* rid is what resources say: no lookup */
	EMP_AMBIG = 1 << 5,    /* several people have this externalId */
	EMP_INACTIVE = 1 << 6, /* the row makes the person inactive */
};

/* Above this many unknown ids, one scan beats a lookup for each. */
#define HRIS_SCAN_UNKNOWN 10000

/* One employee id of the file. */
struct hris_emp {
	size_t key_off; /* NUL-terminated key in the arena */
	uint32_t key_len;
	uint32_t flags;
	int64_t row; /* the employee record; 0: only dependents seen */
	off_t off;
	uint64_t row_hash, dep_hash;
	uint64_t old_row, old_dep;
	int64_t rid; /* the person, 0 while unknown */
	uint32_t first_dep, last_dep;
};

/* One dependent record, in file order. */
struct hris_deprow {
	off_t off;
	int64_t row;
	uint64_t key_hash;
	uint32_t emp;
	uint32_t next; /* the employee's next dependent */
};

/* A column the header lacks, with every use of it joined by "; ". */
struct hris_missing {
	const char *name; /* the mapping's */
	struct buf uses;
};

struct hris_imp {
	struct store *st;
	const struct hris_opts *o;
	const struct hris_mapping *m;
	struct hris_report *r;
	const struct scim_rtype *rt;
	struct csv *csv;
	int fd;
	uint64_t fsize;

	int *col_idx;   /* field index of each m->cols[] */
	int *dcol_idx;  /* ... and of each m->dcols[] */
	bool *dup_told; /* header columns already reported as repeated;
	                   only while the header is read */
	/* columns the header lacks, reported once each; only while the
	   header is read */
	struct hris_missing *missing;
	size_t nmissing;
	int key_idx, rel_idx;
	int dep_field[HRIS_DEP__COUNT]; /* m->dcols index, or -1 */
	int active_col, status_col;     /* m->cols index, or -1 */

	struct hris_emp *emps;
	size_t nemps, capemps;
	uint64_t *tab; /* open addressing: hash << 32 | emp index + 1 */
	size_t tabcap;
	char *keys; /* arena of NUL-terminated keys */
	size_t keys_len, keys_cap;
	struct hris_deprow *deps;
	size_t ndeps, capdeps;
	size_t hint;   /* where the next ordered lookup may find its key */
	int64_t *term; /* rids of people a full file terminates */
	size_t nterm, capterm;

	struct buf hin; /* SipHash input */
	struct buf msg;
	json_t *schemas, *op_add, *op_remove, *op_replace, *path_active;
	json_t *path_status, *path_termdate, *path_username;
	struct store_actor actor;
	struct store_hris_run run;
	char as_of[11];
	bool store_failed;
	struct hris_ahead *ahead; /* a current snapshot once load has run */
	struct scim_patch_paths *paths; /* every person's PATCH has the same */
	/*
	 * hris_patch_body's PATCH: the body, its Operations and one add and
	 * one remove operation a column, made once and refilled per person.
	 */
	json_t *body, *ops, **col_add, **col_remove;
	json_t *op_username, *op_active;
	char *dump; /* hris_dump's buffer */
	size_t dump_cap;
};

static void hris_scratch_init(struct hris_imp *);
static void hris_scratch_free(struct hris_imp *);

static const unsigned char hris_sipkey[crypto_shorthash_KEYBYTES] = {
    'r', 'o', 's', 't', 'e', 'r', 'd', '-', 'h', 'r', 'i', 's', '-', 'v', '1'};

/*--- Errors ---*/

static void __attribute__((format(printf, 4, 5)))
hris_err(struct hris_imp *x, int64_t row, size_t col, const char *fmt, ...)
{
	struct hris_report *r = x->r;
	struct hris_error *e;
	const char *name;
	va_list ap;

	r->nerrors++;
	if (r->nkept >= HRIS_ERRORS_KEPT)
		return;
	if (r->nkept % 64 == 0)
		r->errors =
		    xrealloc(r->errors, (r->nkept + 64) * sizeof(*r->errors));
	e = &r->errors[r->nkept++];
	e->row = row;
	e->col = col;
	name = x->csv != NULL ? csv_column_name(x->csv, col) : NULL;
	e->name = name != NULL ? xstrdup(name) : NULL;
	va_start(ap, fmt);
	e->msg = xvasprintf(fmt, ap);
	va_end(ap);
	/* A header or cell in another encoding must not make the report
	 * (text or --json) lose the error. */
	if (e->name != NULL)
		utf8_scrub(e->name);
	utf8_scrub(e->msg);
}

static int
hris_err_cmp(const void *a, const void *b)
{
	const struct hris_error *x = a, *y = b;

	if (x->row != y->row)
		return x->row < y->row ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return strcmp(x->msg, y->msg);
}

static void __attribute__((format(printf, 2, 3)))
hris_fatal(struct hris_imp *x, const char *fmt, ...)
{
	va_list ap;

	if (x->r->fatal != NULL)
		return;
	va_start(ap, fmt);
	x->r->fatal = xvasprintf(fmt, ap);
	va_end(ap);
}

static double
hris_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*--- The employee table ---*/

static uint64_t
hris_key_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	/* FNV's low bits are weak; the table masks them: mix (fmix64). */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

static const char *
hris_emp_key(const struct hris_imp *x, const struct hris_emp *e)
{
	return x->keys + e->key_off;
}

/*
 * A slot keeps 32 bits of the key's hash next to the employee index, so
 * probing past other keys and growing the table never touch the keys.
 */
static void
hris_tab_put(struct hris_imp *x, uint64_t slot)
{
	size_t mask = x->tabcap - 1;
	size_t i = (size_t)(slot >> 32) & mask;

	while (x->tab[i] != 0)
		i = (i + 1) & mask;
	x->tab[i] = slot;
}

static void
hris_tab_grow(struct hris_imp *x)
{
	uint64_t *old = x->tab;
	size_t i, oldcap = x->tabcap;

	x->tabcap = x->tabcap ? x->tabcap * 2 : 1024;
	x->tab = xcalloc_big(x->tabcap, sizeof(*x->tab));
	for (i = 0; i < oldcap; i++)
		if (old[i] != 0)
			hris_tab_put(x, old[i]);
	free(old);
}

static char *
hris_key_store(struct hris_imp *x, const char *key, size_t len, size_t *off)
{
	if (x->keys_len + len + 1 > x->keys_cap) {
		x->keys_cap = x->keys_cap ? x->keys_cap * 2 : 65536;
		while (x->keys_len + len + 1 > x->keys_cap)
			x->keys_cap *= 2;
		x->keys = xrealloc_big(x->keys, x->keys_cap);
	}
	*off = x->keys_len;
	memcpy(x->keys + x->keys_len, key, len);
	x->keys[x->keys_len + len] = '\0';
	x->keys_len += len + 1;
	return x->keys + *off;
}

/* The employee with this key, added when create is set, else NULL. */
static struct hris_emp *
hris_emp_get(struct hris_imp *x, const char *key, size_t len, bool create)
{
	uint32_t h = (uint32_t)hris_key_hash(key, len);
	struct hris_emp *e;
	size_t mask, i;
	uint64_t slot;

	mask = x->tabcap - 1;
	for (i = h & mask; (slot = x->tab[i]) != 0; i = (i + 1) & mask) {
		if ((uint32_t)(slot >> 32) != h)
			continue;
		e = &x->emps[(uint32_t)slot - 1];
		if (e->key_len == len &&
		    memcmp(hris_emp_key(x, e), key, len) == 0)
			return e;
	}
	if (!create)
		return NULL;
	if (x->nemps == x->capemps) {
		x->capemps = x->capemps ? x->capemps * 2 : 1024;
		x->emps = xrealloc_big(x->emps, x->capemps * sizeof(*x->emps));
	}
	e = &x->emps[x->nemps];
	memset(e, 0, sizeof(*e));
	hris_key_store(x, key, len, &e->key_off);
	e->key_len = (uint32_t)len;
	e->first_dep = e->last_dep = HRIS_NONE;
	x->nemps++;
	if (x->nemps * 2 > x->tabcap)
		hris_tab_grow(x);
	hris_tab_put(x, (uint64_t)h << 32 | (uint64_t)x->nemps);
	return e;
}

/*
 * Lookups from the store come in externalId order, and HR exports are
 * usually sorted by employee id too: try the employee after the last one
 * found before probing the table, which saves two cache misses a person.
 */
static struct hris_emp *
hris_emp_next(struct hris_imp *x, const char *key)
{
	size_t len = strlen(key);
	struct hris_emp *e;

	if (x->hint < x->nemps) {
		e = &x->emps[x->hint];
		if (e->key_len == len &&
		    memcmp(hris_emp_key(x, e), key, len) == 0) {
			x->hint++;
			return e;
		}
	}
	if ((e = hris_emp_get(x, key, len, false)) != NULL)
		x->hint = (size_t)(e - x->emps) + 1;
	return e;
}

/*--- Cells ---*/

/* Field i of the record trimmed of blanks in place, "" past its end. */
static char *
hris_cell(const struct csv_field *f, size_t n, int i, size_t *len)
{
	static char empty[1];
	char *s, *e;

	if (i < 0 || (size_t)i >= n) {
		*len = 0;
		return empty;
	}
	s = f[i].s;
	e = s + f[i].len;
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*e = '\0';
	*len = (size_t)(e - s);
	return s;
}

static void
hris_hash_add(struct hris_imp *x, const char *s, size_t len)
{
	uint32_t l = (uint32_t)len;

	buf_add(&x->hin, &l, sizeof(l));
	buf_add(&x->hin, s, len);
}

static void
hris_hash_start(struct hris_imp *x)
{
	buf_reset(&x->hin);
	buf_add(&x->hin, &x->m->fingerprint, sizeof(x->m->fingerprint));
}

static uint64_t
hris_hash_end(struct hris_imp *x)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, (const unsigned char *)x->hin.data, x->hin.len,
	                 hris_sipkey);
	memcpy(&h, out, sizeof(h));
	return h;
}

/*--- Pass 1: validate ---*/

static bool
hris_check_col(struct hris_imp *x, int64_t row, size_t i, const char *s,
               size_t len)
{
	const struct hris_col *c = &x->m->cols[i];
	struct hris_value v;

	buf_reset(&x->msg);
	if (hris_cell_value(c, s, len, &v, &x->msg) == -1) {
		hris_err(x, row, (size_t)x->col_idx[i] + 1, "%s",
		         buf_str(&x->msg));
		return false;
	}
	if (v.kind == HRIS_V_NONE && strcasecmp(c->path, "userName") == 0) {
		hris_err(x, row, (size_t)x->col_idx[i] + 1,
		         "userName is required and the cell is empty");
		return false;
	}
	return true;
}

/* Does the row make its person inactive (active false, terminated)? */
static bool
hris_row_inactive(struct hris_imp *x, const struct csv_field *f, size_t n)
{
	int i = x->active_col >= 0 ? x->active_col : x->status_col;
	struct hris_value v;
	const char *s;
	size_t len;

	if (i < 0)
		return false;
	s = hris_cell(f, n, x->col_idx[i], &len);
	buf_reset(&x->msg);
	if (hris_cell_value(&x->m->cols[i], s, len, &v, &x->msg) == -1)
		return false;
	if (x->active_col >= 0)
		return v.kind == HRIS_V_BOOL && !v.b;
	return v.kind == HRIS_V_STRING && strcmp(v.s, "terminated") == 0;
}

static void
hris_employee_row(struct hris_imp *x, const struct csv_field *f, size_t n,
                  const char *key, size_t klen)
{
	int64_t row = csv_row(x->csv);
	struct hris_emp *e;
	const char *s;
	bool ok = true;
	size_t i, len;

	x->r->employees++;
	/* The table slot is a likely cache miss: fetch it while we work. */
	__builtin_prefetch(&x->tab[hris_key_hash(key, klen) & (x->tabcap - 1)]);
	hris_hash_start(x);
	for (i = 0; i < x->m->ncols; i++) {
		s = hris_cell(f, n, x->col_idx[i], &len);
		ok &= hris_check_col(x, row, i, s, len);
		hris_hash_add(x, s, len);
	}
	e = hris_emp_get(x, key, klen, true);
	if (e->row != 0) {
		hris_err(
		    x, row, (size_t)x->key_idx + 1,
		    "duplicate employee id \"%s\" (first seen on row %lld)",
		    key, (long long)e->row);
		e->flags |= EMP_BAD;
		return;
	}
	e->row = row;
	e->off = csv_record_offset(x->csv);
	e->row_hash = hris_hash_end(x);
	if (!ok)
		e->flags |= EMP_BAD;
	else if (hris_row_inactive(x, f, n))
		e->flags |= EMP_INACTIVE;
}

/* A dependents cell of the record: its converted value. */
static bool
hris_dep_cell(struct hris_imp *x, const struct csv_field *f, size_t n, size_t i,
              struct hris_value *v)
{
	const char *s;
	size_t len;

	s = hris_cell(f, n, x->dcol_idx[i], &len);
	buf_reset(&x->msg);
	if (hris_dep_value(&x->m->dcols[i], s, len, v, &x->msg) == 0)
		return true;
	hris_err(x, csv_row(x->csv), (size_t)x->dcol_idx[i] + 1, "%s",
	         buf_str(&x->msg));
	return false;
}

/*
 * Converted dependents fields of a record into vals (HRIS_V_NONE when
 * not mapped), the relationship defaulting to the raw code. False if a
 * cell is bad (reported).
 */
static bool
hris_dep_fields(struct hris_imp *x, const struct csv_field *f, size_t n,
                struct hris_value vals[HRIS_DEP__COUNT])
{
	bool ok = true;
	size_t i, len;
	int d;

	for (i = 0; i < HRIS_DEP__COUNT; i++)
		memset(&vals[i], 0, sizeof(vals[i]));
	for (i = 0; i < HRIS_DEP__COUNT; i++) {
		if ((d = x->dep_field[i]) >= 0)
			ok &= hris_dep_cell(x, f, n, (size_t)d, &vals[i]);
	}
	if (vals[HRIS_DEP_RELATIONSHIP].kind == HRIS_V_NONE) {
		vals[HRIS_DEP_RELATIONSHIP].s =
		    hris_cell(f, n, x->rel_idx, &len);
		vals[HRIS_DEP_RELATIONSHIP].len = len;
		vals[HRIS_DEP_RELATIONSHIP].kind = HRIS_V_STRING;
		/* Stored as is: it must be text the store can hold. */
		if (utf8_bad(vals[HRIS_DEP_RELATIONSHIP].s, len) >= 0) {
			hris_err(x, csv_row(x->csv), (size_t)x->rel_idx + 1,
			         "not valid UTF-8; save the export as UTF-8");
			ok = false;
		}
	}
	return ok;
}

/* What tells a dependent apart within its employee; "" if it lacks it. */
static void
hris_dep_identity(struct hris_imp *x, struct hris_value *vals, struct buf *b)
{
	const char *p;

	buf_reset(b);
	if (x->dep_field[HRIS_DEP_ID] >= 0) {
		if (vals[HRIS_DEP_ID].kind != HRIS_V_NONE)
			buf_addf(b, "id:%s", vals[HRIS_DEP_ID].s);
		return;
	}
	if (vals[HRIS_DEP_FIRST_NAME].kind == HRIS_V_NONE ||
	    vals[HRIS_DEP_BIRTH_DATE].kind == HRIS_V_NONE)
		return;
	buf_addf(b, "%s|", vals[HRIS_DEP_RELATIONSHIP].s);
	for (p = vals[HRIS_DEP_FIRST_NAME].s; *p != '\0'; p++)
		buf_addch(b, (char)tolower((unsigned char)*p));
	buf_addf(b, "|%s", vals[HRIS_DEP_BIRTH_DATE].s);
}

static uint64_t
hris_siphash_str(const char *s, size_t len)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, (const unsigned char *)s, len, hris_sipkey);
	memcpy(&h, out, sizeof(h));
	return h;
}

/* Is this dependent already in the employee's list? Its row, or 0. */
static int64_t
hris_dep_seen(const struct hris_imp *x, const struct hris_emp *e,
              uint64_t key_hash)
{
	uint32_t d;

	for (d = e->first_dep; d != HRIS_NONE; d = x->deps[d].next)
		if (x->deps[d].key_hash == key_hash)
			return x->deps[d].row;
	return 0;
}

static void
hris_dep_link(struct hris_imp *x, struct hris_emp *e, uint64_t key_hash)
{
	struct hris_deprow *d;

	if (x->ndeps == x->capdeps) {
		x->capdeps = x->capdeps ? x->capdeps * 2 : 1024;
		x->deps = xrealloc_big(x->deps, x->capdeps * sizeof(*x->deps));
	}
	d = &x->deps[x->ndeps];
	d->off = csv_record_offset(x->csv);
	d->row = csv_row(x->csv);
	d->key_hash = key_hash;
	d->emp = (uint32_t)(e - x->emps);
	d->next = HRIS_NONE;
	if (e->last_dep == HRIS_NONE)
		e->first_dep = (uint32_t)x->ndeps;
	else
		x->deps[e->last_dep].next = (uint32_t)x->ndeps;
	e->last_dep = (uint32_t)x->ndeps++;
}

static void
hris_dependent_row(struct hris_imp *x, const struct csv_field *f, size_t n,
                   const char *key, size_t klen)
{
	struct hris_value vals[HRIS_DEP__COUNT];
	int64_t row = csv_row(x->csv), first;
	struct hris_emp *e;
	struct buf id;
	uint64_t kh;
	bool ok;
	size_t i, len;
	const char *s;

	x->r->dependent_rows++;
	e = hris_emp_get(x, key, klen, true);
	ok = hris_dep_fields(x, f, n, vals);
	if (ok && vals[HRIS_DEP_RELATIONSHIP].len == 0) {
		hris_err(x, row, (size_t)x->rel_idx + 1,
		         "empty relationship code");
		ok = false;
	}
	buf_init(&id, 0);
	hris_dep_identity(x, vals, &id);
	if (ok && id.len == 0) {
		hris_err(x, row, (size_t)x->key_idx + 1,
		         x->dep_field[HRIS_DEP_ID] >= 0
		             ? "dependent has an empty id"
		             : "dependent needs a first name and a birth date");
		ok = false;
	}
	kh = hris_siphash_str(buf_str(&id), id.len);
	buf_free(&id);
	if (ok && (first = hris_dep_seen(x, e, kh)) != 0) {
		hris_err(x, row, (size_t)x->key_idx + 1,
		         "duplicate dependent of employee \"%s\" (first seen "
		         "on row %lld)",
		         key, (long long)first);
		ok = false;
	}
	hris_hash_start(x);
	s = hris_cell(f, n, x->rel_idx, &len);
	hris_hash_add(x, s, len);
	for (i = 0; i < x->m->ndcols; i++) {
		s = hris_cell(f, n, x->dcol_idx[i], &len);
		hris_hash_add(x, s, len);
	}
	/* A sum: the same dependents in any order give the same value. */
	e->dep_hash += hris_hash_end(x);
	if (!ok)
		e->flags |= EMP_BAD;
	hris_dep_link(x, e, kh);
}

static void
hris_record(struct hris_imp *x, const struct csv_field *f, size_t n)
{
	const char *key, *rel;
	size_t klen, rlen;
	bool employee = true;

	key = hris_cell(f, n, x->key_idx, &klen);
	if (x->m->dependents) {
		rel = hris_cell(f, n, x->rel_idx, &rlen);
		employee = strcasecmp(rel, x->m->employee_value) == 0;
	}
	if (klen == 0) {
		hris_err(x, csv_row(x->csv), (size_t)x->key_idx + 1,
		         "empty employee id");
		return;
	}
	if (employee)
		hris_employee_row(x, f, n, key, klen);
	else
		hris_dependent_row(x, f, n, key, klen);
}

/* A record the reader rejected: keep its person out of this import. */
static void
hris_bad_record(struct hris_imp *x, const struct csv_field *f, size_t n)
{
	const char *key;
	size_t len;

	key = hris_cell(f, n, x->key_idx, &len);
	if (len > 0)
		hris_emp_get(x, key, len, true)->flags |= EMP_BAD;
}

static void
hris_progress(struct hris_imp *x, const char *phase, uint64_t done,
              uint64_t total)
{
	if (x->o->progress != NULL)
		x->o->progress(phase, done, total, x->o->progress_arg);
}

static void
hris_pass1(struct hris_imp *x)
{
	const struct csv_error *ce;
	const struct csv_field *f;
	size_t n;
	int rc;

	while ((rc = csv_next(x->csv, &f, &n)) != CSV_EOF) {
		if (rc == CSV_ERROR) {
			ce = csv_last_error(x->csv);
			hris_err(x, ce->row, ce->col, "%s", ce->msg);
			if (n == 0)
				break; /* truncated or unreadable: no more */
			x->r->rows++;
			hris_bad_record(x, f, n);
			continue;
		}
		if (++x->r->rows % HRIS_PROGRESS_ROWS == 0)
			hris_progress(x, "validating",
			              (uint64_t)csv_offset(x->csv), x->fsize);
		hris_record(x, f, n);
	}
	hris_progress(x, "validating", x->fsize, x->fsize);
}

/* Dependents whose employee has no row of their own in the file. */
static void
hris_orphans(struct hris_imp *x)
{
	struct hris_emp *e;
	uint32_t d;
	size_t i;

	for (i = 0; i < x->nemps; i++) {
		e = &x->emps[i];
		if (e->row != 0)
			continue;
		for (d = e->first_dep; d != HRIS_NONE; d = x->deps[d].next)
			hris_err(x, x->deps[d].row, (size_t)x->key_idx + 1,
			         "dependent of employee \"%s\", who has no "
			         "row with %s %s in this file",
			         hris_emp_key(x, e), x->m->rel_column,
			         x->m->employee_value);
		e->flags |= EMP_BAD;
	}
}

/*--- The header ---*/

/*
 * Header names match exactly (after trimming). When only the case
 * differs, say so: "Employee_ID" for employee_id is the usual slip.
 */
static void
hris_missing_column(struct hris_imp *x, const char *name, const char *what)
{
	struct hris_missing *m;
	size_t i;

	for (i = 0; i < x->nmissing; i++)
		if (strcmp(x->missing[i].name, name) == 0)
			break;
	if (i == x->nmissing) {
		x->missing =
		    xrealloc(x->missing, (i + 1) * sizeof(*x->missing));
		x->missing[i].name = name;
		buf_init(&x->missing[i].uses, 0);
		x->nmissing++;
	}
	m = &x->missing[i];
	if (m->uses.len > 0)
		buf_addstr(&m->uses, "; ");
	buf_addstr(&m->uses, what);
}

static void
hris_missing_report(struct hris_imp *x, char *const *names, size_t n)
{
	const char *name, *what;
	size_t i, j;

	for (i = 0; i < x->nmissing; i++) {
		name = x->missing[i].name;
		what = buf_str(&x->missing[i].uses);
		for (j = 0; j < n && strcasecmp(names[j], name) != 0; j++)
			;
		if (j < n)
			hris_err(x, 1, j + 1,
			         "missing column \"%s\" (%s); the header has "
			         "\"%s\": column names are case-sensitive",
			         name, what, names[j]);
		else
			hris_err(x, 0, 0, "missing column \"%s\" (%s)", name,
			         what);
		buf_free(&x->missing[i].uses);
	}
	free(x->missing);
	x->missing = NULL;
	x->nmissing = 0;
}

/* The field index of column name, or -1; a duplicate is an error. */
static int
hris_find_column(struct hris_imp *x, char *const *names, size_t n,
                 const char *name, const char *what)
{
	size_t i;
	int found = -1;

	for (i = 0; i < n; i++) {
		if (strcmp(names[i], name) != 0)
			continue;
		if (found >= 0) {
			/* Two mappings of one column: one message. */
			if (!x->dup_told[i])
				hris_err(x, 1, i + 1,
				         "column \"%s\" appears twice in the "
				         "header (columns %d and %zu)",
				         name, found + 1, i + 1);
			x->dup_told[i] = true;
			return -1;
		}
		found = (int)i;
	}
	if (found < 0)
		hris_missing_column(x, name, what);
	return found;
}

static void
hris_find_columns(struct hris_imp *x, char *const *names, size_t n)
{
	const struct hris_mapping *m = x->m;
	char *what;
	size_t i;

	x->col_idx = xcalloc(m->ncols + 1, sizeof(int));
	x->dcol_idx = xcalloc(m->ndcols + 1, sizeof(int));
	x->key_idx = hris_find_column(x, names, n, m->key, "the key column");
	for (i = 0; i < m->ncols; i++) {
		what = xasprintf("mapped to %s", m->cols[i].attr);
		x->col_idx[i] =
		    hris_find_column(x, names, n, m->cols[i].column, what);
		free(what);
	}
	x->rel_idx = -1;
	if (m->dependents)
		x->rel_idx = hris_find_column(x, names, n, m->rel_column,
		                              "the relationship column");
	for (i = 0; i < HRIS_DEP__COUNT; i++)
		x->dep_field[i] = -1;
	for (i = 0; i < m->ndcols; i++) {
		what = xasprintf("dependent %s",
		                 hris_dep_field_name(m->dcols[i].field));
		x->dcol_idx[i] =
		    hris_find_column(x, names, n, m->dcols[i].column, what);
		free(what);
		x->dep_field[m->dcols[i].field] = (int)i;
	}
}

/*
 * A header read as one column that holds another delimiter: the export
 * is most likely delimited by it, not by the mapping's.
 */
static void
hris_delimiter_hint(struct hris_imp *x, char *const *names, size_t n)
{
	static const char cand[] = ";|\t,";
	const char *p;

	if (n != 1)
		return;
	for (p = cand; *p != '\0'; p++) {
		if (*p == x->m->delim || strchr(names[0], *p) == NULL)
			continue;
		hris_err(x, 1, 1,
		         "the header is one column holding '%s': if the file "
		         "is delimited by it, set delimiter: \"%s\" in mapping "
		         "%s",
		         *p == '\t' ? "\\t" : (char[]){*p, '\0'},
		         *p == '\t' ? "tab" : (char[]){*p, '\0'}, x->m->name);
		return;
	}
}

/* Read the header and find every mapped column in it. */
static int
hris_header(struct hris_imp *x)
{
	const struct csv_field *h;
	int64_t before = x->r->nerrors;
	char **names;
	size_t n, i, len;

	if (csv_header(x->csv, &h, &n) == CSV_ERROR) {
		hris_err(x, 1, csv_last_error(x->csv)->col, "%s",
		         csv_last_error(x->csv)->msg);
		return -1;
	}
	/* Names compare trimmed; the fields are ours until the next read. */
	names = xcalloc(n + 1, sizeof(*names));
	for (i = 0; i < n; i++)
		names[i] = hris_cell(h, n, (int)i, &len);
	x->dup_told = xcalloc(n + 1, sizeof(*x->dup_told));
	hris_find_columns(x, names, n);
	if (x->nmissing > 0)
		hris_delimiter_hint(x, names, n);
	hris_missing_report(x, names, n);
	free(x->dup_told);
	x->dup_told = NULL;
	free(names);
	return x->r->nerrors > before ? -1 : 0;
}

/*--- Pass 2: apply ---*/

static void
hris_attach(struct hris_imp *x, const struct store_hris_person *p)
{
	struct hris_emp *e;

	if ((e = hris_emp_next(x, p->external_id)) == NULL)
		return;
	e->rid = p->rid;
	if (p->has_hash) {
		e->flags |= EMP_KNOWN;
		e->old_row = p->row_hash;
		e->old_dep = p->dep_hash;
	}
}

static int
hris_attach_cb(const struct store_hris_person *p, void *arg)
{
	hris_attach(arg, p);
	return 0;
}

/*
 * The people as the store has them: the second thread's records when
 * nothing was committed since it started reading, else read now.
 */
static int
hris_load_people(struct hris_imp *x)
{
	if (x->ahead != NULL && hris_ahead_valid(x->ahead, x->st)) {
		x->r->load = HRIS_LOAD_AHEAD;
		return hris_ahead_people(x->ahead, hris_attach_cb, x);
	}
	if (x->ahead != NULL)
		x->r->load = HRIS_LOAD_STALE;
	hris_ahead_free(x->ahead);
	x->ahead = NULL;
	return store_hris_people_walk(x->st, x->o->tenant_id, hris_attach_cb,
	                              x);
}

/* Every live externalId, from the same source as hris_load_people(). */
static int
hris_external_walk(struct hris_imp *x, int (*cb)(const char *, int64_t, void *))
{
	if (x->ahead != NULL && hris_ahead_has_ext(x->ahead))
		return hris_ahead_external(x->ahead, cb, x);
	return store_hris_external_walk(x->st, x->o->tenant_id, cb, x);
}

/* People the importer has not met, found through their externalId. */
static int
hris_scan_cb(const char *ext, int64_t rid, void *arg)
{
	struct hris_imp *x = arg;
	struct hris_emp *e = hris_emp_next(x, ext);

	if (e == NULL || (e->flags & EMP_KNOWN))
		return 0;
	if ((e->flags & EMP_SCANNED) && e->rid != rid)
		e->flags |= EMP_AMBIG;
	e->rid = rid;
	e->flags |= EMP_SCANNED;
	return 0;
}

/*
 * When many employees are new to the importer (a first import), find
 * the ones SCIM created already in one pass instead of one lookup each.
 */
static int
hris_scan_unknown(struct hris_imp *x)
{
	size_t i, unknown = 0;

	for (i = 0; i < x->nemps; i++)
		if (x->emps[i].rid == 0)
			unknown++;
	if (unknown <= HRIS_SCAN_UNKNOWN)
		return 0;
	x->hint = 0;
	if (hris_external_walk(x, hris_scan_cb) != STORE_OK)
		return -1;
	/*
	 * The walk saw every live externalId of the tenant, in this
	 * transaction: whoever it did not meet has none, so hris_find need
	 * not look them up one by one (the million of a first import).
	 */
	for (i = 0; i < x->nemps; i++)
		if (!(x->emps[i].flags & EMP_KNOWN))
			x->emps[i].flags |= EMP_SCANNED;
	return 0;
}

/* full_file: note who is absent from the file. */
static int
hris_absent_cb(const char *ext, int64_t rid, void *arg)
{
	struct hris_imp *x = arg;

	if (hris_emp_next(x, ext) != NULL)
		return 0;
	if (x->nterm == x->capterm) {
		x->capterm = x->capterm ? x->capterm * 2 : 256;
		x->term = xrealloc_big(x->term, x->capterm * sizeof(*x->term));
	}
	x->term[x->nterm++] = rid;
	return 0;
}

/* Keep the absent people who are still active: those are terminated. */
static int
hris_absent_active(struct hris_imp *x)
{
	struct store_res res;
	size_t i, n = 0;
	int rc;

	for (i = 0; i < x->nterm; i++) {
		memset(&res, 0, sizeof(res));
		rc = store_hris_res_by_rid(x->st, x->o->tenant_id, x->term[i],
		                           &res);
		if (rc != STORE_OK && rc != STORE_NOTFOUND)
			return -1;
		if (rc == STORE_OK && res.active)
			x->term[n++] = x->term[i];
		store_res_clear(&res);
	}
	x->nterm = n;
	return 0;
}

/*
 * The roster a termination share is measured against: the file's active
 * employees and the active people the file leaves out. (Reading every
 * person's `active` would cost a scan of all their rows.)
 */
static int64_t
hris_roster(const struct hris_imp *x)
{
	int64_t n = (int64_t)x->nterm;
	size_t i;

	for (i = 0; i < x->nemps; i++)
		if (x->emps[i].row != 0 && !(x->emps[i].flags & EMP_INACTIVE))
			n++;
	return n;
}

/* Decide the full-file terminations before anything is written. */
static int
hris_full_file(struct hris_imp *x)
{
	double pct;

	if (!x->m->full_file)
		return 0;
	if (x->r->nerrors > 0) {
		x->r->warning = xstrdup("the file has errors: full-file "
		                        "terminations were skipped");
		return 0;
	}
	x->hint = 0;
	if (hris_external_walk(x, hris_absent_cb) != STORE_OK ||
	    hris_absent_active(x) == -1) {
		x->store_failed = true;
		return -1;
	}
	x->r->to_terminate = (int64_t)x->nterm;
	x->r->roster = hris_roster(x);
	if (x->nterm == 0 || x->o->force)
		return 0;
	pct = 100.0 * (double)x->nterm / (double)x->r->roster;
	if (pct <= x->m->max_terminate_percent)
		return 0;
	hris_fatal(x,
	           "full-file import would terminate %zu of %lld active "
	           "people (%.1f%%), above max_terminate_percent %g of "
	           "mapping %s; check the file (truncated?) or rerun with "
	           "--force",
	           x->nterm, (long long)x->r->roster, pct,
	           x->m->max_terminate_percent, x->m->name);
	x->r->status = STORE_HRIS_REFUSED;
	return -1;
}

static json_t *
hris_op(json_t *op, json_t *path, json_t *value)
{
	json_t *o = json_object();

	json_object_set(o, "op", op);
	json_object_set(o, "path", path);
	if (value != NULL)
		json_object_set_new(o, "value", value);
	return o;
}

/*
 * Append the operation kept in *slot (made on first use) with this value
 * (NULL: none, for remove). Nothing keeps an operation once the PATCH is
 * applied, so the next person can refill it.
 */
static void
hris_op_put(json_t *ops, json_t **slot, json_t *op, json_t *path, json_t *value)
{
	if (*slot == NULL)
		*slot = hris_op(op, path, NULL);
	if (value != NULL)
		json_object_set_new(*slot, "value", value);
	json_array_append(ops, *slot);
}

/* active, when the mapping does not set it: follows employmentStatus. */
static void
hris_active_op(struct hris_imp *x, json_t *ops, const struct csv_field *f,
               size_t n, bool create)
{
	const struct hris_col *sc = x->m->status;
	struct hris_value v;
	struct buf err;
	const char *s;
	size_t len;
	int rc = -1;

	if (x->m->maps_active)
		return;
	if (sc != NULL) {
		s = hris_cell(f, n, x->col_idx[sc - x->m->cols], &len);
		buf_init(&err, 0);
		rc = hris_cell_value(sc, s, len, &v, &err);
		buf_free(&err);
	}
	if (rc == 0 && v.kind == HRIS_V_STRING)
		hris_op_put(ops, &x->op_active, x->op_add, x->path_active,
		            json_boolean(strcmp(v.s, "terminated") != 0));
	else if (create)
		hris_op_put(ops, &x->op_active, x->op_add, x->path_active,
		            json_true());
}

/* The PATCH body that makes a person match their record (a new ref). */
static json_t *
hris_patch_body(struct hris_imp *x, struct hris_emp *e,
                const struct csv_field *f, size_t n, bool create)
{
	const struct hris_col *c;
	struct hris_value v;
	json_t *ops = x->ops;
	const char *s;
	size_t i, len;

	json_array_clear(ops);
	for (i = 0; i < x->m->ncols; i++) {
		c = &x->m->cols[i];
		s = hris_cell(f, n, x->col_idx[i], &len);
		buf_reset(&x->msg);
		if (hris_cell_value(c, s, len, &v, &x->msg) == -1)
			continue; /* validated in pass 1: cannot happen */
		if (v.kind != HRIS_V_NONE)
			hris_op_put(ops, &x->col_add[i], x->op_add, c->jpath,
			            hris_value_json(&v));
		else if (!create)
			hris_op_put(ops, &x->col_remove[i], x->op_remove,
			            c->jremove, NULL);
	}
	if (create && !x->m->maps_username)
		hris_op_put(ops, &x->op_username, x->op_add, x->path_username,
		            json_string(hris_emp_key(x, e)));
	hris_active_op(x, ops, f, n, create);
	return json_incref(x->body);
}

/*
 * json_dumps(doc, JSON_COMPACT), the same bytes, written into a buffer
 * kept for the whole import instead of one grown from 16 bytes each time.
 */
static char *
hris_dump(struct hris_imp *x, const json_t *doc)
{
	size_t n = json_dumpb(doc, x->dump, x->dump_cap, JSON_COMPACT);

	if (n > x->dump_cap) {
		x->dump_cap = n * 2;
		x->dump = xrealloc(x->dump, x->dump_cap);
		n = json_dumpb(doc, x->dump, x->dump_cap, JSON_COMPACT);
	}
	return n == 0 ? NULL : xstrndup(x->dump, n);
}

/* Fill res's indexed columns from a normalised doc. */
static void
hris_res_fill(struct hris_imp *x, struct store_res *res, json_t *doc)
{
	const char *name, *ext;
	json_t *active;
	char ts[32];

	name = json_string_value(json_object_get(doc, "userName"));
	ext = json_string_value(json_object_get(doc, "externalId"));
	active = json_object_get(doc, "active");
	free(res->name);
	free(res->external_id);
	free(res->doc);
	free(res->modified);
	res->name = xstrdup(name != NULL ? name : "");
	res->external_id = ext != NULL ? xstrdup(ext) : NULL;
	res->active = active == NULL || json_is_true(active);
	res->doc = hris_dump(x, doc);
	store_now(ts, sizeof(ts));
	res->modified = xstrdup(ts);
}

/* The column that holds userName, for a uniqueness error. */
static size_t
hris_username_col(const struct hris_imp *x)
{
	size_t i;

	for (i = 0; i < x->m->ncols; i++)
		if (strcasecmp(x->m->cols[i].path, "userName") == 0)
			return (size_t)x->col_idx[i] + 1;
	return (size_t)x->key_idx + 1;
}

/*
 * Store the person res holds (hris_res_fill'ed); 0, -1 for a row error
 * (reported), -2 store failure.
 */
static int
hris_store_write(struct hris_imp *x, struct hris_emp *e, struct store_res *res,
                 bool have)
{
	char id[40];
	int rc;

	if (!have) {
		store_uuid(id, sizeof(id));
		res->tenant_id = x->o->tenant_id;
		res->type = STORE_USER;
		res->id = xstrdup(id);
		/* A new resource: lastModified is created (RFC 7643 §3.1). */
		res->created = xstrdup(res->modified);
		rc = store_res_insert(x->st, res, &x->actor);
	} else
		rc = store_res_update(x->st, res, &x->actor, NULL);
	if (rc == STORE_CONFLICT) {
		hris_err(x, e->row, hris_username_col(x),
		         "userName \"%s\" is already taken by another person "
		         "of the tenant",
		         res->name);
		return -1;
	}
	if (rc != STORE_OK)
		return -2;
	e->rid = res->rid;
	if (have)
		x->r->updated++;
	else
		x->r->created++;
	return 0;
}

static int
hris_write(struct hris_imp *x, struct hris_emp *e, struct store_res *res,
           bool have, json_t *doc)
{
	hris_res_fill(x, res, doc);
	return hris_store_write(x, e, res, have);
}

/* The person a record updates: by row id, else by externalId. */
static int
hris_find(struct hris_imp *x, struct hris_emp *e, struct store_res *res,
          bool *have)
{
	int rc = STORE_NOTFOUND;

	*have = false;
	if (e->flags & EMP_AMBIG)
		rc = STORE_CONFLICT;
	else if (e->rid > 0)
		rc = store_hris_res_by_rid(x->st, x->o->tenant_id, e->rid, res);
	if (rc == STORE_NOTFOUND && !(e->flags & EMP_SCANNED))
		rc = store_hris_res_by_external(x->st, x->o->tenant_id,
		                                hris_emp_key(x, e), res);
	if (rc == STORE_CONFLICT) {
		hris_err(x, e->row, (size_t)x->key_idx + 1,
		         "several people of the tenant have externalId \"%s\"",
		         hris_emp_key(x, e));
		return -1;
	}
	if (rc != STORE_OK && rc != STORE_NOTFOUND)
		return -2;
	*have = rc == STORE_OK;
	return 0;
}

/*
 * The person's document after their record: old (NULL for a new person)
 * patched and normalised, as a new reference; NULL with *err when the
 * record cannot be applied. Uses only x's scratch, so pass 2's second
 * thread calls it with its own.
 */
static json_t *
hris_build(struct hris_imp *x, struct hris_emp *e, const struct csv_field *f,
           size_t n, json_t *old, struct scim_err *err)
{
	json_t *doc, *body, *norm = NULL;

	doc = old != NULL ? json_deep_copy(old) : json_object();
	body = hris_patch_body(x, e, f, n, old == NULL);
	if (scim_patch_apply_paths(x->rt, x->paths, doc, body, NULL, err) == 0)
		norm = scim_schema_normalize(
		    x->rt, doc, old,
		    old != NULL ? SCIM_NORM_REPLACE : SCIM_NORM_CREATE, err);
	json_decref(body);
	json_decref(doc);
	return norm;
}

/* PATCH, normalise and store one person; same returns as hris_write. */
static int
hris_person(struct hris_imp *x, struct hris_emp *e, const struct csv_field *f,
            size_t n)
{
	struct store_res res;
	struct scim_err err;
	json_t *old = NULL, *norm;
	bool have;
	int rc;

	memset(&res, 0, sizeof(res));
	scim_err_init(&err);
	if ((rc = hris_find(x, e, &res, &have)) != 0)
		return rc;
	if (have && (old = json_loads(res.doc, 0, NULL)) == NULL) {
		store_res_clear(&res);
		return -2;
	}
	if ((norm = hris_build(x, e, f, n, old, &err)) == NULL) {
		hris_err(x, e->row, 0, "cannot apply the row: %s", err.detail);
		rc = -1;
	} else if (have && json_equal(norm, old)) {
		e->rid = res.rid;
		x->r->unchanged++;
	} else
		rc = hris_write(x, e, &res, have, norm);
	json_decref(norm);
	json_decref(old);
	store_res_clear(&res);
	return rc;
}

/* Go back to a record that pass 1 read. */
static int
hris_reread(struct hris_imp *x, off_t off, int64_t row,
            const struct csv_field **f, size_t *n)
{
	if (csv_seek(x->csv, off, row) == -1 ||
	    csv_next(x->csv, f, n) != CSV_RECORD) {
		hris_fatal(x, "%s: changed while being imported", x->o->path);
		return -2;
	}
	return 0;
}

static bool
hris_needs_work(const struct hris_imp *x, const struct hris_emp *e)
{
	if (!(e->flags & EMP_KNOWN))
		return true;
	return e->old_row != e->row_hash ||
	       (x->m->dependents && e->old_dep != e->dep_hash);
}

static int
hris_off_cmp(const void *a, const void *b)
{
	const struct hris_emp *x = *(struct hris_emp *const *)a;
	const struct hris_emp *y = *(struct hris_emp *const *)b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* The employees to look at, in file order. */
static struct hris_emp **
hris_worklist(struct hris_imp *x, size_t *np)
{
	struct hris_emp **w = xcalloc(x->nemps + 1, sizeof(*w));
	struct hris_emp *e;
	bool sorted = true;
	size_t i, n = 0;

	for (i = 0; i < x->nemps; i++) {
		e = &x->emps[i];
		if (e->row == 0 || (e->flags & EMP_BAD))
			continue;
		if (!hris_needs_work(x, e)) {
			x->r->unchanged++;
			continue;
		}
		if (n > 0 && w[n - 1]->off > e->off)
			sorted = false;
		w[n++] = e;
	}
	if (!sorted)
		qsort(w, n, sizeof(*w), hris_off_cmp);
	*np = n;
	return w;
}

/* An employee applied: flags for the dependents and hris_people. */
static void
hris_employee_done(struct hris_imp *x, struct hris_emp *e)
{
	if (x->m->dependents &&
	    (!(e->flags & EMP_KNOWN) || e->old_dep != e->dep_hash))
		e->flags |= EMP_DEPS;
	e->flags |= EMP_PUT;
}

/* One employee of the work list: the person, then flags for the rest. */
static int
hris_employee(struct hris_imp *x, struct hris_emp *e)
{
	const struct csv_field *f;
	size_t n;
	int rc;

	if ((e->flags & EMP_KNOWN) && e->old_row == e->row_hash)
		x->r->unchanged++;
	else {
		if ((rc = hris_reread(x, e->off, e->row, &f, &n)) != 0)
			return rc;
		if ((rc = hris_person(x, e, f, n)) == -1) {
			e->flags |= EMP_BAD;
			return 0;
		}
		if (rc != 0)
			return rc;
	}
	hris_employee_done(x, e);
	return 0;
}

/*--- Pass 2 on two threads ---*/

/*
 * In a first import, building each new person's document (PATCH,
 * normalisation, JSON) is about 60% of pass 2 and the store the rest. New
 * people who need no lookup (unknown to the last import, externalId
 * scanned and free) have their documents made ahead, in work-list order,
 * by a second thread with scratch of its own; everything else, and every
 * store write, stays on this thread, in this transaction and in the same
 * order as before, so the result is the same.
 */
#define HRIS_PIPE_RING 512
#define HRIS_PIPE_WAKE 32

struct hris_made {
	struct store_res res; /* name, external_id, active, doc, modified */
	char *err;            /* why the row cannot be applied, or NULL */
	bool changed;         /* the file changed under the import */
};

struct hris_pipe {
	struct hris_imp px;  /* the maker's scratch and reader; the rest is
	                        borrowed from the importer's, read-only */
	struct hris_emp **w; /* the work list ... */
	const bool *ahead;   /* ... and which of it the maker makes */
	size_t n;
	/*
	 * A slot's strings are the maker's: it frees them when it makes the
	 * slot again (or hris_pipe_end does), so that memory is never freed
	 * by the thread that did not allocate it (glibc then takes the other
	 * arena's lock). The importer frees only what it adds (id, created).
	 */
	struct hris_made ring[HRIS_PIPE_RING];
	size_t head, tail; /* made and not taken: [tail, head), under mu */
	bool stop;
	/* who waits on the other, under mu: a sleeper is woken once
	 * HRIS_PIPE_WAKE slots are ready for it, not for each one */
	bool maker_waits, taker_waits, maker_done;
	pthread_mutex_t mu;
	pthread_cond_t room, made;
	pthread_t thread;
};

static void
hris_made_clear(struct hris_made *m)
{
	store_res_clear(&m->res);
	free(m->err);
	memset(m, 0, sizeof(*m));
}

/* Made ahead: a new person whose hris_find() needs no store. */
static bool
hris_make_ahead(const struct hris_emp *e)
{
	return !(e->flags & (EMP_KNOWN | EMP_AMBIG)) && e->rid <= 0 &&
	       (e->flags & EMP_SCANNED);
}

/* hris_person() for such a person, up to the store (on the maker). */
static void
hris_make(struct hris_imp *px, struct hris_emp *e, struct hris_made *m)
{
	const struct csv_field *f;
	struct scim_err err;
	json_t *norm;
	size_t n;

	hris_made_clear(m); /* what this slot held last time */
	if (csv_seek(px->csv, e->off, e->row) == -1 ||
	    csv_next(px->csv, &f, &n) != CSV_RECORD) {
		m->changed = true;
		return;
	}
	scim_err_init(&err);
	if ((norm = hris_build(px, e, f, n, NULL, &err)) == NULL)
		m->err = xstrdup(err.detail);
	else
		hris_res_fill(px, &m->res, norm);
	json_decref(norm);
}

static void *
hris_pipe_main(void *arg)
{
	struct hris_pipe *p = arg;
	bool stop = false;
	size_t i;

	for (i = 0; i < p->n && !stop; i++) {
		if (!p->ahead[i])
			continue;
		pthread_mutex_lock(&p->mu);
		while (p->head - p->tail == HRIS_PIPE_RING && !p->stop) {
			p->maker_waits = true;
			pthread_cond_wait(&p->room, &p->mu);
		}
		p->maker_waits = false;
		stop = p->stop;
		pthread_mutex_unlock(&p->mu);
		if (stop)
			break;
		hris_make(&p->px, p->w[i], &p->ring[p->head % HRIS_PIPE_RING]);
		pthread_mutex_lock(&p->mu);
		p->head++;
		if (p->taker_waits && p->head - p->tail >= HRIS_PIPE_WAKE)
			pthread_cond_signal(&p->made);
		pthread_mutex_unlock(&p->mu);
	}
	pthread_mutex_lock(&p->mu);
	p->maker_done = true;
	pthread_cond_signal(&p->made);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static struct hris_pipe *
hris_pipe_start(struct hris_imp *x, struct hris_emp **w, const bool *ahead,
                size_t n)
{
	struct hris_pipe *p = xcalloc(1, sizeof(*p));

	p->px = *x;
	hris_scratch_init(&p->px);
	p->px.csv = csv_new(x->fd, &(struct csv_opts){.delim = x->m->delim});
	p->w = w;
	p->ahead = ahead;
	p->n = n;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->room, NULL);
	pthread_cond_init(&p->made, NULL);
	if (pthread_create(&p->thread, NULL, hris_pipe_main, p) == 0)
		return p;
	csv_free(p->px.csv);
	hris_scratch_free(&p->px);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->room);
	pthread_cond_destroy(&p->made);
	free(p);
	return NULL;
}

static struct hris_made *
hris_pipe_take(struct hris_pipe *p)
{
	struct hris_made *m = NULL;

	pthread_mutex_lock(&p->mu);
	if (p->head == p->tail) {
		p->taker_waits = true;
		while (p->head - p->tail < HRIS_PIPE_WAKE && !p->maker_done)
			pthread_cond_wait(&p->made, &p->mu);
		p->taker_waits = false;
	}
	if (p->head != p->tail)
		m = &p->ring[p->tail % HRIS_PIPE_RING];
	pthread_mutex_unlock(&p->mu);
	return m;
}

static void
hris_pipe_next(struct hris_pipe *p)
{
	struct hris_made *m = &p->ring[p->tail % HRIS_PIPE_RING];

	/* Ours, not the maker's (hris_store_write). */
	free(m->res.id);
	free(m->res.created);
	m->res.id = m->res.created = NULL;
	pthread_mutex_lock(&p->mu);
	p->tail++;
	if (p->maker_waits &&
	    HRIS_PIPE_RING - (p->head - p->tail) >= HRIS_PIPE_WAKE)
		pthread_cond_signal(&p->room);
	pthread_mutex_unlock(&p->mu);
}

static void
hris_pipe_end(struct hris_pipe *p)
{
	size_t i;

	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_signal(&p->room);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	/* The maker is gone: every slot's strings, taken or not. */
	for (i = 0; i < HRIS_PIPE_RING; i++)
		hris_made_clear(&p->ring[i]);
	csv_free(p->px.csv);
	hris_scratch_free(&p->px);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->room);
	pthread_cond_destroy(&p->made);
	free(p);
}

/* hris_employee() for a person made ahead: the store's part. */
static int
hris_employee_made(struct hris_imp *x, struct hris_emp *e, struct hris_made *m)
{
	int rc;

	if (m->changed) {
		hris_fatal(x, "%s: changed while being imported", x->o->path);
		return -2;
	}
	if (m->err != NULL) {
		hris_err(x, e->row, 0, "cannot apply the row: %s", m->err);
		e->flags |= EMP_BAD;
		return 0;
	}
	if ((rc = hris_store_write(x, e, &m->res, false)) == -1) {
		e->flags |= EMP_BAD;
		return 0;
	}
	if (rc != 0)
		return rc;
	hris_employee_done(x, e);
	return 0;
}

static int
hris_employees(struct hris_imp *x)
{
	struct hris_pipe *p = NULL;
	struct hris_made *m;
	struct hris_emp **w;
	size_t i, n, nahead = 0;
	bool *ahead;
	int rc = 0;

	w = hris_worklist(x, &n);
	ahead = xcalloc(n + 1, sizeof(*ahead));
	for (i = 0; i < n; i++)
		nahead += ahead[i] = hris_make_ahead(w[i]);
	if (nahead > 0)
		p = hris_pipe_start(x, w, ahead, n);
	for (i = 0; i < n && rc == 0; i++) {
		if (p != NULL && ahead[i]) {
			if ((m = hris_pipe_take(p)) == NULL) {
				/* Cannot happen: the maker makes every one. */
				hris_fatal(x,
				           "the document maker stopped early");
				rc = -2;
				break;
			}
			rc = hris_employee_made(x, w[i], m);
			hris_pipe_next(p);
		} else
			rc = hris_employee(x, w[i]);
		if ((i + 1) % HRIS_PROGRESS_APPLY == 0)
			hris_progress(x, "applying", i + 1, n);
	}
	if (p != NULL)
		hris_pipe_end(p);
	hris_progress(x, "applying", n, n);
	free(ahead);
	free(w);
	return rc;
}

static char *
hris_val_str(const struct hris_value *v)
{
	return v->kind == HRIS_V_NONE ? NULL : xstrndup(v->s, v->len);
}

/* One dependent record into the store. */
static int
hris_dependent(struct hris_imp *x, const struct hris_deprow *dr)
{
	struct hris_value vals[HRIS_DEP__COUNT];
	struct store_hris_dependent d;
	const struct csv_field *f;
	struct buf id;
	size_t n;
	int rc, change;

	if ((rc = hris_reread(x, dr->off, dr->row, &f, &n)) != 0)
		return rc;
	hris_dep_fields(x, f, n, vals);
	buf_init(&id, 0);
	hris_dep_identity(x, vals, &id);
	memset(&d, 0, sizeof(d));
	d.tenant_id = x->o->tenant_id;
	d.employee_rid = x->emps[dr->emp].rid;
	d.key = buf_detach(&id);
	d.dep_id = hris_val_str(&vals[HRIS_DEP_ID]);
	d.relationship = hris_val_str(&vals[HRIS_DEP_RELATIONSHIP]);
	d.first_name = hris_val_str(&vals[HRIS_DEP_FIRST_NAME]);
	d.middle_name = hris_val_str(&vals[HRIS_DEP_MIDDLE_NAME]);
	d.last_name = hris_val_str(&vals[HRIS_DEP_LAST_NAME]);
	d.birth_date = hris_val_str(&vals[HRIS_DEP_BIRTH_DATE]);
	d.gender = hris_val_str(&vals[HRIS_DEP_GENDER]);
	if (d.relationship == NULL)
		d.relationship = xstrdup("");
	rc = store_hris_dep_put(x->st, &d, x->run.id, &change);
	store_hris_dep_clear(&d);
	buf_free(&id);
	if (rc != STORE_OK)
		return -2;
	x->r->dependents++;
	if (change == 1)
		x->r->dep_added++;
	else if (change == 2)
		x->r->dep_updated++;
	return 0;
}

static int
hris_dependents(struct hris_imp *x)
{
	const struct hris_emp *e;
	int64_t removed;
	size_t i;
	int rc;

	for (i = 0; i < x->ndeps; i++) {
		e = &x->emps[x->deps[i].emp];
		if (!(e->flags & EMP_DEPS) || (e->flags & EMP_BAD))
			continue;
		if ((rc = hris_dependent(x, &x->deps[i])) != 0)
			return rc;
	}
	for (i = 0; i < x->nemps; i++) {
		e = &x->emps[i];
		if (!(e->flags & EMP_DEPS) || (e->flags & EMP_BAD))
			continue;
		if (store_hris_dep_prune(x->st, e->rid, x->run.id, &removed) !=
		    STORE_OK)
			return -2;
		x->r->dep_removed += removed;
	}
	return 0;
}

/* Terminate one person absent from a full file. */
static int
hris_terminate(struct hris_imp *x, int64_t rid)
{
	struct store_hris_person p = {0};
	struct store_res res;
	struct scim_err err;
	json_t *doc, *ops, *body, *norm = NULL, *elig;
	int rc = -2;

	memset(&res, 0, sizeof(res));
	scim_err_init(&err);
	if (store_hris_res_by_rid(x->st, x->o->tenant_id, rid, &res) !=
	    STORE_OK)
		return -2;
	if ((doc = json_loads(res.doc, 0, NULL)) == NULL)
		goto out;
	ops = json_array();
	json_array_append_new(
	    ops, hris_op(x->op_replace, x->path_active, json_false()));
	json_array_append_new(
	    ops, hris_op(x->op_add, x->path_status, json_string("terminated")));
	elig = json_object_get(doc, SCIM_URN_ELIGIBILITY);
	if (json_object_get(elig, "terminationDate") == NULL)
		json_array_append_new(ops, hris_op(x->op_add, x->path_termdate,
		                                   json_string(x->as_of)));
	body =
	    json_pack("{s:O, s:o}", "schemas", x->schemas, "Operations", ops);
	if (scim_patch_apply_paths(x->rt, x->paths, doc, body, NULL, &err) == 0)
		norm = scim_schema_normalize(x->rt, doc, NULL,
		                             SCIM_NORM_REPLACE, &err);
	json_decref(body);
	json_decref(doc);
	if (norm == NULL) {
		hris_err(x, 0, 0, "cannot terminate %s: %s",
		         res.external_id != NULL ? res.external_id : res.id,
		         err.detail);
		rc = -1;
		goto out;
	}
	hris_res_fill(x, &res, norm);
	json_decref(norm);
	if (store_res_update(x->st, &res, &x->actor, NULL) != STORE_OK)
		goto out;
	/* Should they come back, their row must be applied again. */
	p.external_id = res.external_id;
	p.rid = rid;
	if (store_hris_person_put(x->st, x->o->tenant_id, &p, x->run.id) !=
	    STORE_OK)
		goto out;
	x->r->terminated++;
	rc = 0;
out:
	store_res_clear(&res);
	return rc;
}

static int
hris_terminations(struct hris_imp *x)
{
	size_t i;
	int rc;

	for (i = 0; i < x->nterm; i++)
		if ((rc = hris_terminate(x, x->term[i])) == -2)
			return rc;
	return 0;
}

/* Remember every applied person's hashes for the next import. */
static int
hris_put_people(struct hris_imp *x)
{
	struct store_hris_person p;
	const struct hris_emp *e;
	size_t i;

	for (i = 0; i < x->nemps; i++) {
		e = &x->emps[i];
		if (!(e->flags & EMP_PUT) || (e->flags & EMP_BAD) ||
		    e->rid == 0)
			continue;
		p.external_id = hris_emp_key(x, e);
		p.rid = e->rid;
		p.has_hash = true;
		p.row_hash = e->row_hash;
		p.dep_hash = e->dep_hash;
		if (store_hris_person_put(x->st, x->o->tenant_id, &p,
		                          x->run.id) != STORE_OK)
			return -2;
	}
	return 0;
}

static void
hris_run_counts(struct hris_imp *x)
{
	struct store_hris_run *run = &x->run;
	const struct hris_report *r = x->r;

	run->rows = r->rows;
	run->created = r->created;
	run->updated = r->updated;
	run->unchanged = r->unchanged;
	run->terminated = r->terminated;
	run->dep_added = r->dep_added;
	run->dep_updated = r->dep_updated;
	run->dep_removed = r->dep_removed;
	run->errors = r->nerrors;
	run->status = r->status;
}

/* Everything pass 2 writes, inside the caller's transaction. */
static int
hris_apply_tx(struct hris_imp *x)
{
	double t0 = hris_clock();
	int rc;

	if (store_hris_run_begin(x->st, &x->run) != STORE_OK ||
	    store_hris_invalidate(x->st, x->o->tenant_id) != STORE_OK ||
	    hris_load_people(x) != STORE_OK || hris_scan_unknown(x) == -1)
		return -2;
	if ((rc = hris_full_file(x)) != 0)
		return x->store_failed ? -2 : -1;
	x->r->t_load = hris_clock() - t0;
	if ((rc = hris_employees(x)) != 0 || (rc = hris_dependents(x)) != 0 ||
	    (rc = hris_terminations(x)) != 0 || (rc = hris_put_people(x)) != 0)
		return rc;
	if (x->r->nerrors > 0 && !x->o->allow_partial) {
		x->r->status = STORE_HRIS_REJECTED;
		return -1;
	}
	x->r->status =
	    x->r->nerrors > 0 ? STORE_HRIS_PARTIAL : STORE_HRIS_APPLIED;
	hris_run_counts(x);
	return store_hris_run_end(x->st, &x->run) == STORE_OK ? 0 : -2;
}

/* A run that applied nothing, recorded in its own transaction. */
static void
hris_record_refusal(struct hris_imp *x)
{
	if (x->o->dry_run)
		return;
	if (store_begin(x->st) != STORE_OK)
		return;
	if (store_hris_run_begin(x->st, &x->run) == STORE_OK) {
		hris_run_counts(x);
		x->run.created = x->run.updated = x->run.unchanged = 0;
		x->run.terminated = x->run.dep_added = 0;
		x->run.dep_updated = x->run.dep_removed = 0;
		if (store_hris_run_end(x->st, &x->run) == STORE_OK &&
		    store_commit(x->st) == STORE_OK) {
			x->r->run_id = x->run.id;
			return;
		}
	}
	if (store_in_tx(x->st))
		store_rollback(x->st);
}

/* Undo the counts of a transaction that was rolled back. */
static void
hris_zero_applied(struct hris_report *r)
{
	r->created = r->updated = r->unchanged = r->terminated = 0;
	r->dep_added = r->dep_updated = r->dep_removed = r->dependents = 0;
}

static int
hris_apply(struct hris_imp *x)
{
	struct store_hris_bulk bulk;
	double t0;
	int rc;

	if (store_hris_bulk_begin(x->st, &bulk) != STORE_OK)
		return -2;
	if (store_begin(x->st) != STORE_OK) {
		store_hris_bulk_end(x->st, &bulk);
		return -2;
	}
	t0 = hris_clock();
	rc = hris_apply_tx(x);
	x->r->t_apply = hris_clock() - t0 - x->r->t_load;
	t0 = hris_clock();
	if (rc == 0 && !x->o->dry_run) {
		if (store_commit(x->st) != STORE_OK)
			rc = -2;
		else {
			x->r->applied = true;
			x->r->run_id = x->run.id;
		}
	} else if (store_in_tx(x->st))
		store_rollback(x->st);
	store_hris_bulk_end(x->st, &bulk);
	x->r->t_commit = hris_clock() - t0;
	if (rc != 0 && !x->o->dry_run)
		hris_zero_applied(x->r);
	return rc;
}

/*--- Driver ---*/

static void
hris_today(char out[11])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

/*
 * What building a person's PATCH and document changes as it goes: the
 * path cache, buffers and the PATCH objects refilled per person. Pass 2's
 * second thread has its own (hris_pipe_start).
 */
static void
hris_scratch_init(struct hris_imp *x)
{
	x->paths = scim_patch_paths_new();
	buf_init(&x->hin, 0);
	buf_init(&x->msg, 0);
	x->schemas = json_pack("[s]", SCIM_URN_PATCHOP);
	x->op_add = json_string("add");
	x->op_remove = json_string("remove");
	x->op_replace = json_string("replace");
	x->path_active = json_string("active");
	x->path_username = json_string("userName");
	x->path_status = json_string(SCIM_URN_ELIGIBILITY ":employmentStatus");
	x->path_termdate = json_string(SCIM_URN_ELIGIBILITY ":terminationDate");
	x->ops = json_array();
	x->body = json_pack("{s:O, s:O}", "schemas", x->schemas, "Operations",
	                    x->ops);
	x->col_add = xcalloc(x->m->ncols + 1, sizeof(*x->col_add));
	x->col_remove = xcalloc(x->m->ncols + 1, sizeof(*x->col_remove));
	x->op_username = x->op_active = NULL;
	x->dump = NULL;
	x->dump_cap = 0;
}

static void
hris_scratch_free(struct hris_imp *x)
{
	size_t i;

	scim_patch_paths_free(x->paths);
	buf_free(&x->hin);
	buf_free(&x->msg);
	json_decref(x->schemas);
	json_decref(x->op_add);
	json_decref(x->op_remove);
	json_decref(x->op_replace);
	json_decref(x->path_active);
	json_decref(x->path_username);
	json_decref(x->path_status);
	json_decref(x->path_termdate);
	for (i = 0; i < x->m->ncols; i++) {
		json_decref(x->col_add[i]);
		json_decref(x->col_remove[i]);
	}
	free(x->col_add);
	free(x->col_remove);
	json_decref(x->op_username);
	json_decref(x->op_active);
	json_decref(x->ops);
	json_decref(x->body);
	free(x->dump);
}

static void
hris_imp_init(struct hris_imp *x, struct store *st, const struct hris_opts *o,
              struct hris_report *r)
{
	size_t i;

	memset(x, 0, sizeof(*x));
	memset(r, 0, sizeof(*r));
	x->st = st;
	x->o = o;
	x->m = o->map;
	x->r = r;
	x->rt = scim_rtype_user();
	x->fd = -1;
	x->active_col = x->status_col = -1;
	for (i = 0; i < x->m->ncols; i++)
		if (!x->m->cols[i].filtered &&
		    strcasecmp(x->m->cols[i].path, "active") == 0)
			x->active_col = (int)i;
	if (x->m->status != NULL)
		x->status_col = (int)(x->m->status - x->m->cols);
	hris_tab_grow(x);
	hris_scratch_init(x);
	x->actor.source = "hris";
	x->run.tenant_id = o->tenant_id;
	x->run.mapping = xstrdup(o->map->name);
	x->run.file = xstrdup(o->path);
	if (o->as_of != NULL)
		snprintf(x->as_of, sizeof(x->as_of), "%s", o->as_of);
	else
		hris_today(x->as_of);
}

static void
hris_imp_free(struct hris_imp *x)
{
	hris_ahead_free(x->ahead);
	csv_free(x->csv);
	if (x->fd != -1)
		close(x->fd);
	free(x->col_idx);
	free(x->dcol_idx);
	free(x->emps);
	free(x->tab);
	free(x->keys);
	free(x->deps);
	free(x->term);
	hris_scratch_free(x);
	store_hris_run_clear(&x->run);
}

static int
hris_open(struct hris_imp *x)
{
	struct stat sb;

	/* O_NONBLOCK: a FIFO with no writer must not hang the open (a
	 * regular file's reads ignore the flag). */
	if ((x->fd = open(x->o->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) ==
	    -1) {
		hris_fatal(x, "%s: %s", x->o->path, strerror(errno));
		return -1;
	}
	if (fstat(x->fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		hris_fatal(x,
		           "%s: not a regular file (the import reads it "
		           "twice)",
		           x->o->path);
		return -1;
	}
	x->fsize = (uint64_t)sb.st_size;
	x->csv = csv_new(
	    x->fd, &(struct csv_opts){.delim = x->m->delim, .header = true});
	return 0;
}

int
hris_import(struct store *st, const struct hris_opts *o, struct hris_report *r)
{
	struct hris_imp x;
	double t0;
	int rc = -1;

	hris_imp_init(&x, st, o, r);
	if (hris_open(&x) == -1)
		goto out;
	if (hris_header(&x) == -1) {
		r->status = STORE_HRIS_REJECTED;
		hris_fatal(&x, "%s: the header does not match mapping %s",
		           o->path, x.m->name);
		hris_record_refusal(&x);
		rc = 1;
		goto out;
	}
	/* The store's side of load overlaps pass 1 (hris_ahead.h). */
	if (!o->load_in_tx)
		x.ahead = hris_ahead_start(st, o->tenant_id, x.m->full_file);
	t0 = hris_clock();
	hris_pass1(&x);
	hris_orphans(&x);
	r->t_validate = hris_clock() - t0;
	if (r->nerrors > 0 && !o->allow_partial) {
		r->status = STORE_HRIS_REJECTED;
		hris_record_refusal(&x);
		rc = 1;
		goto out;
	}
	rc = hris_apply(&x);
	if (rc == -1) {
		hris_record_refusal(&x);
		rc = 1;
	} else if (rc == -2) {
		hris_fatal(&x, "the store failed; nothing was imported");
		rc = -1;
	}
out:
	if (r->nkept > 1)
		qsort(r->errors, r->nkept, sizeof(*r->errors), hris_err_cmp);
	hris_imp_free(&x);
	return rc;
}
