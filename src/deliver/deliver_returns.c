/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* Return files: collect, decrypt, archive, parse and attach to their run. */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "deliver/deliver.h"
#include "deliver/deliver_util.h"
#include "fmt/x12_ack.h"
#include "import/csv.h"
#include "pgp/pgp.h"
#include "store/store.h"
#include "store/store_deliver.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/utf8.h"
#include "util/xmalloc.h"
#include "xfer/xfer.h"

#define RET_BATCH 1024
#define RET_ACK_MAX (16u * 1024 * 1024) /* no acknowledgment is larger */

/* One deliver_returns() call. */
struct rctx {
	struct store *st;
	const struct deliver_feed *f;
	const struct deliver_env *env;
	char *dir; /* DATA/returns/FEED */
	struct pgp *pgp;
};

/* The URL of the return directory: the destination's server, dir's path. */
static char *
returns_url(const struct deliver_feed *f)
{
	const char *d = f->returns.dir, *p;

	if (strncmp(d, "sftp://", 7) == 0 || strncmp(d, "dir:", 4) == 0)
		return xstrdup(d);
	if (strncmp(f->destination, "dir:", 4) == 0)
		return xasprintf("dir:%s", d);
	p = strchr(f->destination + 7, '/');
	return xasprintf("%.*s%s",
	                 (int)(p != NULL ? p - f->destination
	                                 : (long)strlen(f->destination)),
	                 f->destination, d);
}

/* A server-given name we are willing to use as a local file name. */
static bool
name_safe(const char *s)
{
	const char *p;

	if (*s == '\0' || *s == '.' || strlen(s) > XFER_NAME_MAX)
		return false;
	for (p = s; *p != '\0'; p++)
		if (*p == '/' || (unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* Which run does a return file answer? */
struct match {
	const char *name;
	char *best;
	size_t best_len;
	char *latest; /* newest delivered, not yet acknowledged */
};

static void
match_try(struct match *m, const struct store_delivery *d, const char *needle,
          size_t len)
{
	if (len < 4 || len <= m->best_len)
		return;
	if (memmem(m->name, strlen(m->name), needle, len) == NULL)
		return;
	free(m->best);
	m->best = xstrdup(d->run_id);
	m->best_len = len;
}

static int
match_cb(const struct store_delivery *d, void *arg)
{
	struct match *m = arg;
	const char *base, *dot;

	if (strcmp(d->state, STORE_DELIVER_DELIVERED) != 0 &&
	    strcmp(d->state, STORE_DELIVER_ACKNOWLEDGED) != 0)
		return 0;
	if (m->latest == NULL && strcmp(d->state, STORE_DELIVER_DELIVERED) == 0)
		m->latest = xstrdup(d->run_id);
	match_try(m, d, d->remote_name, strlen(d->remote_name));
	base = strrchr(d->plain_path, '/');
	base = base != NULL ? base + 1 : d->plain_path;
	match_try(m, d, base, strlen(base));
	if ((dot = strrchr(base, '.')) != NULL)
		match_try(m, d, base, (size_t)(dot - base));
	return 0;
}

/*
 * The run whose file name (remote, rendered, or rendered without its
 * extension) appears in the return file's name, the longest such name
 * winning; else the newest delivered run not yet acknowledged; else NULL.
 */
static char *
attach_run(struct rctx *x, const char *name)
{
	struct match m = {name, NULL, 0, NULL};

	store_deliver_list(x->st, x->f->name, match_cb, &m);
	if (m.best != NULL) {
		free(m.latest);
		return m.best;
	}
	return m.latest;
}

/* Column positions (0-based; -1 absent) of the configured names. */
struct cols {
	long key, status, message;
	size_t n;
};

static long
col_find(const struct csv_field *h, size_t n, const char *want)
{
	size_t i;

	for (i = 0; want != NULL && i < n; i++)
		if (strcasecmp(h[i].s, want) == 0)
			return (long)i;
	return -1;
}

static char *
cols_missing(const struct csv_field *h, size_t n, const char *what)
{
	struct buf b;
	size_t i;

	/* The vendor's header, shown bounded: it may be anything. */
	buf_init(&b, 0);
	buf_addf(&b, "no column \"%s\" (columns: ", what);
	for (i = 0; i < n && i < 20; i++)
		buf_addf(&b, "%s%.40s%s", i > 0 ? ", " : "", h[i].s,
		         strlen(h[i].s) > 40 ? "..." : "");
	if (n > 20)
		buf_addf(&b, ", and %zu more", n - 20);
	buf_addstr(&b, ")");
	utf8_scrub(b.data);
	return buf_detach(&b);
}

static char *
trim(const struct csv_field *fl, size_t n, long i)
{
	const char *s, *e;

	if (i < 0 || (size_t)i >= n)
		return NULL;
	s = fl[i].s;
	e = s + fl[i].len;
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	return xstrndup(s, (size_t)(e - s));
}

static bool
is_accepted(const struct deliver_returns_cfg *r, const char *status)
{
	size_t i;

	for (i = 0; i < r->naccepted; i++)
		if (strcasecmp(r->accepted[i], status) == 0)
			return true;
	return false;
}

/* Records read so far, flushed to the store in batches. */
struct batch {
	struct store_return_record v[RET_BATCH];
	size_t n;
	int64_t records, rejected;
};

static void
batch_drop(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		free((char *)b->v[i].key);
		free((char *)b->v[i].status);
		free((char *)b->v[i].message);
	}
	b->n = 0;
}

static int
batch_flush(struct store *st, struct batch *b)
{
	int rc = store_return_records_add(st, b->v, b->n);

	batch_drop(b);
	return rc;
}

/* Read the header and find the configured columns; NULL or a message. */
static char *
parse_header(struct csv *csv, const struct deliver_returns_cfg *r,
             struct cols *c)
{
	const struct csv_field *h;
	struct buf b;

	if (csv_header(csv, &h, &c->n) != CSV_RECORD) {
		buf_init(&b, 0);
		csv_error_format(csv_last_error(csv), &b);
		return buf_detach(&b);
	}
	c->key = col_find(h, c->n, r->key_column);
	c->status = col_find(h, c->n, r->status_column);
	c->message = col_find(h, c->n, r->message_column);
	if (c->key < 0)
		return cols_missing(h, c->n, r->key_column);
	if (c->status < 0)
		return cols_missing(h, c->n, r->status_column);
	return NULL;
}

/*
 * A record too short to hold its key or status is malformed: stored, it
 * would be a rejection of nobody, and the run would look answered.
 */
static char *
row_short(struct csv *csv, const struct cols *c,
          const struct deliver_returns_cfg *r, size_t n)
{
	bool key_last = c->key > c->status;
	long need = key_last ? c->key : c->status;

	if ((long)n > need)
		return NULL;
	return xasprintf("row %lld, column %ld (%s): missing; the row has %zu "
	                 "field%s, the header %zu",
	                 (long long)csv_row(csv), need + 1,
	                 key_last ? r->key_column : r->status_column, n,
	                 n == 1 ? "" : "s", c->n);
}

/* Parse the CSV at path into the store; NULL or why it failed. */
static char *
parse_records(struct rctx *x, const char *path, int64_t file_id,
              const char *run_id, struct batch *b)
{
	const struct deliver_returns_cfg *r = &x->f->returns;
	struct csv_opts o = {.delim = r->delimiter, .header = true};
	const struct csv_field *fl;
	struct store_return_record *rec;
	char *err = NULL;
	struct cols c;
	struct csv *csv;
	struct buf eb;
	size_t n;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return xasprintf("%s: %s", path, strerror(errno));
	csv = csv_new(fd, &o);
	if ((err = parse_header(csv, r, &c)) != NULL)
		goto out;
	while ((rc = csv_next(csv, &fl, &n)) != CSV_EOF) {
		if (rc == CSV_ERROR &&
		    csv_last_error(csv)->kind != CSV_E_FIELDS &&
		    csv_last_error(csv)->kind != CSV_E_QUOTE) {
			buf_init(&eb, 0);
			csv_error_format(csv_last_error(csv), &eb);
			err = buf_detach(&eb);
			break;
		}
		if ((err = row_short(csv, &c, r, n)) != NULL)
			break;
		rec = &b->v[b->n++];
		memset(rec, 0, sizeof(*rec));
		rec->file_id = file_id;
		rec->row = csv_row(csv);
		rec->run_id = run_id;
		rec->key = trim(fl, n, c.key);
		rec->status = trim(fl, n, c.status);
		rec->message = trim(fl, n, c.message);
		if (rec->key == NULL)
			rec->key = xstrdup("");
		if (rec->status == NULL)
			rec->status = xstrdup("");
		if (rec->message != NULL && *rec->message == '\0') {
			free((char *)rec->message);
			rec->message = NULL;
		}
		rec->accepted = is_accepted(r, rec->status);
		b->records++;
		b->rejected += !rec->accepted;
		if (b->n == RET_BATCH && batch_flush(x->st, b) != STORE_OK) {
			err = xstrdup("storing the records failed");
			break;
		}
	}
	if (err == NULL && batch_flush(x->st, b) != STORE_OK)
		err = xstrdup("storing the records failed");
out:
	batch_drop(b);
	csv_free(csv);
	close(fd);
	return err;
}

/* An X12 acknowledgment file, read whole; NULL or why it cannot be. */
static char *
ack_read(const char *path, struct x12_ack *a)
{
	char chunk[65536], *err = NULL;
	struct buf b;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return xasprintf("%s: %s", path, strerror(errno));
	buf_init(&b, RET_ACK_MAX);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_add(&b, chunk, (size_t)n) == -1) {
			err = xstrdup("larger than 16 MiB: not an X12 "
			              "acknowledgment");
			break;
		}
	if (n < 0 && err == NULL)
		err = xasprintf("%s: %s", path, strerror(errno));
	close(fd);
	if (err == NULL &&
	    x12_ack_parse(b.data != NULL ? b.data : "", b.len, a, &err) == -1 &&
	    err == NULL)
		err = xstrdup("not an X12 acknowledgment");
	buf_free(&b);
	return err;
}

/*
 * The runs an acknowledgment answers, one per TA1 and then one per
 * acknowledged group (NULL where none): the run whose 834 carried that
 * interchange control number (TA1-01 = our ISA13) or group control
 * number (AK1-02 = our GS06). Control numbers, not file names: a payer
 * names its acknowledgments as it likes, and one file may answer
 * several of our files.
 */
struct ack_runs {
	char **id;
	size_t n;
};

static void
ack_runs_free(struct ack_runs *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->id[i]);
	free(r->id);
	memset(r, 0, sizeof(*r));
}

static int
ack_match(struct rctx *x, const struct x12_ack *a, struct ack_runs *r)
{
	size_t i;
	int rc = STORE_OK;

	r->n = a->nta1 + a->ngroups;
	r->id = xcalloc(r->n + 1, sizeof(*r->id));
	for (i = 0; i < r->n && (rc == STORE_OK || rc == STORE_NOTFOUND); i++)
		rc = i < a->nta1
		         ? store_deliver_run_by_x12(x->st, x->f->name, -1,
		                                    a->ta1[i].icn, &r->id[i])
		         : store_deliver_run_by_x12(x->st, x->f->name,
		                                    a->groups[i - a->nta1].ctrl,
		                                    -1, &r->id[i]);
	return rc == STORE_NOTFOUND ? STORE_OK : rc;
}

/* The run the file row names: the first one answered. */
static char *
ack_first_run(const struct ack_runs *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->id[i] != NULL)
			return xstrdup(r->id[i]);
	return NULL;
}

/* Add one record, flushing a full batch first; -1 when storing fails. */
static int
ack_add(struct rctx *x, struct batch *b, const struct store_return_record *r)
{
	struct store_return_record *rec;

	if (b->n == RET_BATCH && batch_flush(x->st, b) != STORE_OK) {
		free((char *)r->key);
		free((char *)r->message);
		return -1;
	}
	rec = &b->v[b->n++];
	*rec = *r;
	rec->row = b->records + 1;
	rec->status = xstrdup(r->status);
	rec->accepted = x12_ack_accepted(r->status);
	b->records++;
	b->rejected += !rec->accepted;
	return 0;
}

/*
 * One record per TA1 (key "ISA13 n"), per acknowledged group ("GS06 n",
 * its AK9) and per acknowledged transaction set ("ST02 n", its IK5, the
 * segment and element errors as the message). NULL or why not stored.
 */
static char *
ack_records(struct rctx *x, const struct x12_ack *a, int64_t file_id,
            const struct ack_runs *runs, struct batch *b)
{
	const struct x12_ack_group *g;
	struct store_return_record r = {.file_id = file_id};
	int rc = 0;
	size_t i, j;

	for (i = 0; i < a->nta1 && rc == 0; i++) {
		r.run_id = runs->id[i];
		r.key = xasprintf("ISA13 %09lld", (long long)a->ta1[i].icn);
		r.status = a->ta1[i].code;
		r.message = xasprintf("TA1 note %s: %s", a->ta1[i].note,
		                      x12_ack_note_text(a->ta1[i].note));
		rc = ack_add(x, b, &r);
	}
	for (i = 0; i < a->ngroups && rc == 0; i++) {
		g = &a->groups[i];
		r.run_id = runs->id[a->nta1 + i];
		r.key = xasprintf("GS06 %lld", (long long)g->ctrl);
		r.status = g->code;
		r.message = xasprintf(
		    "%ld of %ld transaction sets received, %ld accepted%s%s",
		    g->received, g->included, g->accepted,
		    g->errors != NULL ? "; " : "",
		    g->errors != NULL ? g->errors : "");
		rc = ack_add(x, b, &r);
		for (j = 0; j < g->nsets && rc == 0; j++) {
			r.key = xasprintf("ST02 %s", g->sets[j].ctrl);
			r.status = g->sets[j].code;
			r.message = g->sets[j].errors != NULL
			                ? xstrdup(g->sets[j].errors)
			                : NULL;
			rc = ack_add(x, b, &r);
		}
	}
	if (rc == 0 && batch_flush(x->st, b) != STORE_OK)
		rc = -1;
	batch_drop(b);
	return rc == 0 ? NULL : xstrdup("storing the records failed");
}

/* Acknowledge the run the file answers (if delivered, not yet acked). */
static int
acknowledge(struct rctx *x, const char *run_id,
            const struct store_return_file *rf)
{
	struct store_delivery d;
	char *note;
	int rc;

	/* A run sent some other way has no delivery to move on. */
	if ((rc = store_deliver_get(x->st, run_id, &d)) != STORE_OK)
		return rc == STORE_NOTFOUND ? STORE_OK : STORE_ERR;
	if (strcmp(d.state, STORE_DELIVER_DELIVERED) != 0) {
		store_delivery_clear(&d);
		return STORE_OK;
	}
	free(d.state);
	d.state = xstrdup(STORE_DELIVER_ACKNOWLEDGED);
	note =
	    xasprintf("return file %s: %lld records, %lld rejected", rf->name,
	              (long long)rf->records, (long long)rf->rejected);
	rc = store_deliver_advance(x->st, &d, STORE_DELIVER_DELIVERED, note);
	free(note);
	store_delivery_clear(&d);
	return rc;
}

static void
set_error(struct store_return_file *rf, const char *err)
{
	free(rf->error);
	rf->error = xstrdup(err);
}

/* Inside the transaction: the row, the archive, the records, the acks. */
static int
record_tx(struct rctx *x, struct store_return_file *rf, const char *staged,
          const char *plain, const struct x12_ack *ack, char **err,
          struct batch *b)
{
	struct ack_runs runs = {0};
	bool x12 = x->f->returns.x12 && plain != NULL;
	size_t i;
	int rc = STORE_OK;

	if (x12 && *err == NULL) {
		rc = ack_match(x, ack, &runs);
		free(rf->run_id);
		rf->run_id = ack_first_run(&runs);
	}
	if (rc == STORE_OK)
		rc = store_return_add(x->st, rf);
	if (rc == STORE_OK && rename(staged, rf->archive_path) == -1) {
		log_warn("%s: rename to %s", __func__, rf->archive_path);
		rc = STORE_ERR;
	}
	if (rc == STORE_OK && plain != NULL) {
		if (!x12)
			*err = parse_records(x, plain, rf->id, rf->run_id, b);
		else if (*err == NULL)
			*err = ack_records(x, ack, rf->id, &runs, b);
		rf->records = b->records;
		rf->rejected = b->rejected;
		if (*err != NULL)
			set_error(rf, *err);
		rc = store_return_finish(x->st, rf->id, rf->records,
		                         rf->rejected, rf->error);
	}
	/* Every run it answers (acknowledging one twice changes nothing). */
	if (rc == STORE_OK && rf->error == NULL && !x12 && rf->run_id != NULL)
		rc = acknowledge(x, rf->run_id, rf);
	for (i = 0; rc == STORE_OK && rf->error == NULL && i < runs.n; i++)
		if (runs.id[i] != NULL)
			rc = acknowledge(x, runs.id[i], rf);
	ack_runs_free(&runs);
	return rc;
}

/*
 * Store the file, its records and the acknowledgement in one go. The
 * download waiting at staged becomes the archive only once the row of
 * this version is in (under the write lock): a fetcher that lost the
 * race (STORE_CONFLICT) never replaces an archived version, and a file
 * left at the archive path by a crash before COMMIT is not recorded, so
 * the next collection of that version may replace it.
 */
static int
record_file(struct rctx *x, struct store_return_file *rf, const char *staged,
            const char *plain)
{
	struct batch *b = xcalloc(1, sizeof(*b));
	struct x12_ack ack = {0};
	char *err = NULL;
	int rc = STORE_ERR;

	/* Still at staged, unless it was decrypted: read it from there. */
	if (x->f->returns.x12 && plain != NULL)
		err = ack_read(strcmp(plain, rf->archive_path) == 0 ? staged
		                                                    : plain,
		               &ack);
	if (store_begin(x->st) == STORE_OK) {
		rc = record_tx(x, rf, staged, plain, &ack, &err, b);
		if (rc == STORE_OK && store_commit(x->st) != STORE_OK)
			rc = STORE_ERR;
		if (rc != STORE_OK)
			store_rollback(x->st);
	}
	x12_ack_free(&ack);
	free(err);
	free(b);
	return rc;
}

/* Decrypt the PGP file at path next to it; NULL or the plaintext. */
static char *
decrypt(struct rctx *x, struct store_return_file *rf, const char *path)
{
	char *out, *err = NULL;
	int lock, rc;

	if ((lock = deliver_gnupg_lock(x->env, &err)) == -1 ||
	    (x->pgp == NULL &&
	     (x->pgp = deliver_pgp_open(x->env, &err)) == NULL)) {
		deliver_unlock(lock);
		set_error(rf, err);
		free(err);
		return NULL;
	}
	out = xasprintf("%s/.%s.%08x.plain", x->dir, rf->name,
	                (unsigned)xfer_random32());
	rc = pgp_decrypt_file(x->pgp, path, out, &rf->signer, &err);
	deliver_unlock(lock);
	if (rc == -1) {
		set_error(rf, err);
		free(err);
		unlink(out);
		free(out);
		return NULL;
	}
	return out;
}

/*
 * Where version v of name is archived: DATA/returns/FEED/NAME for the
 * first (the layout from before versions), DATA/returns/FEED/.vN/NAME for
 * the later ones (a server name holds no '/' and is never collected when
 * it starts with '.', so no return file can take the directory's place).
 * NULL with *cause.
 */
static char *
archive_path(struct rctx *x, const char *name, int64_t v, char **cause)
{
	struct stat sb;
	char *d;

	if (v == 1)
		return xasprintf("%s/%s", x->dir, name);
	d = xasprintf("%s/.v%lld", x->dir, (long long)v);
	if (mkdir(d, 0700) == -1 && errno != EEXIST) {
		*cause = xasprintf("%s: %s", d, strerror(errno));
		free(d);
		return NULL;
	}
	if (stat(d, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		*cause = xasprintf("%s: not a directory; cannot archive "
		                   "version %lld of %s",
		                   d, (long long)v, name);
		free(d);
		return NULL;
	}
	free(d);
	return xasprintf("%s/.v%lld/%s", x->dir, (long long)v, name);
}

/* ", version 2: changed on the server since version 1 (...)" or "". */
static char *
version_note(const struct store_return_file *rf,
             const struct store_return_file *prev)
{
	if (prev == NULL)
		return xstrdup("");
	if (rf->remote_size != prev->remote_size)
		return xasprintf(
		    ", version %lld: changed on the server since "
		    "version %lld (%lld bytes, was %lld)",
		    (long long)rf->version, (long long)prev->version,
		    (long long)rf->remote_size, (long long)prev->remote_size);
	return xasprintf(", version %lld: changed on the server since version "
	                 "%lld (same size, modification time %+lld s)",
	                 (long long)rf->version, (long long)prev->version,
	                 (long long)(rf->remote_mtime - prev->remote_mtime));
}

/*
 * Download, archive, decrypt and record one version of name: the next
 * after prev (the newest recorded), or the first when prev is NULL. rs is
 * what xfer_stat said just before: recorded, so that a change made while
 * downloading is seen as one at the next poll. 1 collected, 0 when another
 * fetcher recorded this version first, -1 with *cause.
 */
static int
fetch_one(struct rctx *x, struct xfer *xf, const char *name,
          const struct store_return_file *prev, const struct xfer_stat *rs,
          char **cause)
{
	struct store_return_file rf = {0};
	char now[32], *plain = NULL, *staged, *note;
	enum xfer_err e;
	struct stat sb;
	int rc = -1;

	rf.feed = xstrdup(x->f->name);
	rf.name = xstrdup(name);
	rf.version = prev != NULL ? prev->version + 1 : 1;
	rf.remote_size = rs->size;
	rf.remote_mtime = rs->mtime;
	/* A name of our own: concurrent fetchers never share a download. */
	staged = xasprintf("%s/.%s.%08x.get", x->dir, name,
	                   (unsigned)xfer_random32());
	if ((rf.archive_path = archive_path(x, name, rf.version, cause)) ==
	    NULL)
		goto out;
	if ((e = xfer_get(xf, name, staged)) != XFER_OK) {
		*cause = xstrdup(xfer_error(xf));
		goto out;
	}
	rf.size = stat(staged, &sb) == 0 ? (int64_t)sb.st_size : -1;
	store_now(now, sizeof(now));
	rf.downloaded_at = xstrdup(now);
	if (pgp_is_pgp_file(staged) == 1)
		plain = decrypt(x, &rf, staged);
	else
		plain = xstrdup(rf.archive_path); /* renamed there first */
	/* An X12 acknowledgment names its run by control number. */
	if (!x->f->returns.x12)
		rf.run_id = attach_run(x, name);
	rc = record_file(x, &rf, staged, plain);
	if (rc == STORE_CONFLICT)
		rc = 0; /* another fetcher recorded this version first */
	else if (rc != STORE_OK) {
		*cause = xasprintf("recording return file %s failed", name);
		rc = -1;
	} else {
		note = version_note(&rf, prev);
		log_info("deliver: return file %s of feed %s%s: run %s, %lld "
		         "records, %lld rejected%s%s",
		         name, x->f->name, note,
		         rf.run_id ? rf.run_id : "(none)",
		         (long long)rf.records, (long long)rf.rejected,
		         rf.error ? "; " : "", rf.error ? rf.error : "");
		free(note);
		rc = 1;
	}
	if (plain != NULL && strcmp(plain, rf.archive_path) != 0)
		unlink(plain); /* the archive keeps the file as it came */
out:
	unlink(staged); /* gone once archived; else not ours to keep */
	free(staged);
	free(plain);
	store_return_file_clear(&rf);
	return rc;
}

/*
 * Has the file changed on the server since prev was collected? The size,
 * and the modification time when both are known.
 */
static bool
changed(const struct store_return_file *prev, const struct xfer_stat *now)
{
	if (prev->remote_size >= 0 && now->size != prev->remote_size)
		return true;
	return prev->remote_mtime >= 0 && now->mtime >= 0 &&
	       now->mtime != prev->remote_mtime;
}

/*
 * One listed name: new names are collected, names already recorded are
 * collected again when they changed (one stat each). A name gone by the
 * time it is looked at is no change. 1 collected, 0 not, -1 *cause.
 */
static int
fetch_name(struct rctx *x, struct xfer *xf, const char *name, char **cause)
{
	struct store_return_file prev;
	struct xfer_stat rs;
	enum xfer_err e;
	int rc, seen;

	rc = store_return_latest(x->st, x->f->name, name, &prev);
	if (rc != STORE_OK && rc != STORE_NOTFOUND) {
		*cause = xstrdup("reading the return files failed");
		return -1;
	}
	seen = rc == STORE_OK;
	if ((e = xfer_stat(xf, name, &rs)) == XFER_ERR_NOTFOUND)
		rc = 0;
	else if (e != XFER_OK) {
		*cause = xstrdup(xfer_error(xf));
		rc = -1;
	} else if (seen && !changed(&prev, &rs))
		rc = 0;
	else
		rc = fetch_one(x, xf, name, seen ? &prev : NULL, &rs, cause);
	if (seen)
		store_return_file_clear(&prev);
	return rc;
}

static int
fetch_all(struct rctx *x, struct xfer *xf, const struct xfer_list *l,
          char **cause)
{
	int rc, n = 0;
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (!name_safe(l->names[i])) {
			log_warnx("deliver: feed %s: skipping return file "
			          "\"%s\": not a plain file name",
			          x->f->name, l->names[i]);
			continue;
		}
		if ((rc = fetch_name(x, xf, l->names[i], cause)) == -1)
			return -1;
		n += rc;
	}
	return n;
}

#define RET_STALE_S 3600

/*
 * Temporary downloads and plaintexts a crash left in dir: dot files
 * ending .get or .plain untouched for an hour (a collector at work on
 * one, in this process or another, touched it moments ago).
 */
static void
sweep_stale(const char *dir)
{
	struct dirent *de;
	struct stat sb;
	size_t n;
	time_t now = time(NULL);
	DIR *d;
	int fd;

	if ((d = opendir(dir)) == NULL)
		return;
	fd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (de->d_name[0] != '.' ||
		    !((n > 4 && strcmp(de->d_name + n - 4, ".get") == 0) ||
		      (n > 6 && strcmp(de->d_name + n - 6, ".plain") == 0)))
			continue;
		if (fstatat(fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(sb.st_mode) && now - sb.st_mtime > RET_STALE_S &&
		    unlinkat(fd, de->d_name, 0) == 0)
			log_info("deliver: removed %s/%s, left by an "
			         "interrupted collection",
			         dir, de->d_name);
	}
	closedir(d);
}

int
deliver_returns(struct store *st, const struct deliver_config *dc,
                const struct deliver_env *env, const char *feed, char **cause)
{
	struct rctx x = {.st = st, .env = env};
	struct xfer_list l = {0};
	struct xfer_opts o;
	struct xfer *xf = NULL;
	char *url = NULL;
	int n = -1;

	*cause = NULL;
	if ((x.f = deliver_feed_find(dc, feed)) == NULL) {
		*cause = xasprintf("feed %s has no entry in the delivery "
		                   "section of the configuration",
		                   feed);
		return -1;
	}
	if (!x.f->has_returns) {
		*cause = xasprintf("feed %s has no returns section", feed);
		return -1;
	}
	if ((x.dir = deliver_data_path(env, cause, "returns", feed)) == NULL)
		return -1;
	sweep_stale(x.dir);
	url = returns_url(x.f);
	deliver_xfer_opts(x.f, url, &o);
	o.cancel = env->cancel;
	if (xfer_open(&o, &xf, cause) != XFER_OK)
		goto out;
	if (xfer_list(xf, x.f->returns.pattern, &l) != XFER_OK) {
		*cause = xstrdup(xfer_error(xf));
		goto out;
	}
	n = fetch_all(&x, xf, &l, cause);
out:
	xfer_list_free(&l);
	xfer_close(xf);
	pgp_free(x.pgp);
	free(x.dir);
	free(url);
	return n;
}
