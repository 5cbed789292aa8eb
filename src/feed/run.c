/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* Runs: recording, the approval policy, and writing the file atomically. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "feed/date.h"
#include "feed/pipe.h"
#include "feed/record.h"
#include "feed/run.h"
#include "feed/sink.h"
#include "fmt/fmt.h"
#include "util/xmalloc.h"

#define FEED_RENDER_PROGRESS 65536

/*
 * ROSTERD_FEED_TRACE=1 prints how long each phase of a run took to
 * stderr (for the benchmark; off by default).
 */
static void
trace(const char *phase)
{
	/* Per thread: `serve` renders several feeds at once. */
	static _Thread_local struct timespec last;
	static _Thread_local int on = -1;
	struct timespec now;
	const char *env;

	if (on == -1) {
		env = getenv("ROSTERD_FEED_TRACE");
		on = env != NULL && *env != '\0' && *env != '0';
	}
	if (!on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (phase != NULL && last.tv_sec != 0)
		fprintf(stderr, "feed: %-8s %7.3f s\n", phase,
		        (double)(now.tv_sec - last.tv_sec) +
		            (double)(now.tv_nsec - last.tv_nsec) / 1e9);
	last = now;
}

void
feed_run_id(char *buf, size_t len)
{
	unsigned char r[8];
	char hex[17];

	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(hex, sizeof(hex), r, sizeof(r));
	snprintf(buf, len, "run_%s", hex);
}

/* Policy. */

static void reason_add(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
reason_add(struct buf *b, const char *fmt, ...)
{
	struct buf m;
	va_list ap;

	buf_init(&m, 0);
	va_start(ap, fmt);
	buf_vaddf(&m, fmt, ap);
	va_end(ap);
	buf_addch(b, b->len == 0 ? '[' : ',');
	buf_add_json_str(b, buf_str(&m));
	buf_free(&m);
}

bool
feed_policy_hold(const struct feed_profile *p,
                 const struct store_feed_state *fs,
                 const struct feed_plan_counts *c, struct buf *reasons)
{
	const struct feed_approval *a = &p->approval;
	int64_t changes = c->adds + c->changes + c->terms + c->reinstates;
	size_t start = reasons->len;
	struct buf r;

	buf_init(&r, 0);
	if (a->first_run && fs->layout_hash == NULL)
		reason_add(&r, "first run of the feed");
	if (a->layout_change && fs->layout_hash != NULL &&
	    strcmp(fs->layout_hash, p->layout_hash) != 0)
		reason_add(&r, "the column layout changed since the last file");
	if (a->has_max_terms && c->roster_before > 0 &&
	    (double)c->terms * 100.0 >
	        a->max_terms_pct * (double)c->roster_before)
		reason_add(&r,
		           "terminations: %lld of %lld members (%.1f%%) exceed "
		           "max_terminations_percent %g",
		           (long long)c->terms, (long long)c->roster_before,
		           100.0 * (double)c->terms / (double)c->roster_before,
		           a->max_terms_pct);
	if (a->has_max_changes && changes > a->max_changes)
		reason_add(&r, "changes: %lld exceed max_changes %lld",
		           (long long)changes, (long long)a->max_changes);
	if (r.len > 0) {
		buf_addch(&r, ']');
		buf_addstr(reasons, buf_str(&r));
	}
	buf_free(&r);
	return reasons->len > start;
}

/*
 * What a run's writer needs while it streams records: this thread reads
 * them from the store and pushes them down a pipe, whose thread formats
 * and writes them (wr_write); the fields after "the pipe thread's" are
 * that thread's alone until the pipe is finished.
 */
struct wr {
	const struct feed_profile *p;
	struct store_feed_run *run;
	const struct feed_render_opts *o;
	struct feed_pipe *pipe;
	int64_t n;
	char **cause;
	/* the pipe thread's */
	struct fmt_writer *w;
	struct feed_rec rec;
	struct buf err;
	char *wcause;
};

/* On the pipe's thread: one record into the file. */
static int
wr_write(const struct feed_pipe_item *it, void *arg)
{
	struct wr *wr = arg;
	struct fmt_record r;
	struct feed_dyn d;
	char td[9];

	d.action = it->action;
	d.term_date = it->term_date;
	d.term_reason = it->term_reason;
	d.as_of = wr->run->as_of;
	buf_reset(&wr->err);
	if (feed_rec_fill(&wr->rec, wr->p, it->vals, &d, &wr->err) == -1) {
		wr->wcause = xstrdup(buf_str(&wr->err));
		return -1;
	}
	memset(&r, 0, sizeof(r));
	r.action = it->act;
	r.values = wr->rec.values;
	if (it->act == FMT_TERM && it->term_date != NULL &&
	    strlen(it->term_date) == 10) {
		memcpy(td, it->term_date, 4);
		memcpy(td + 4, it->term_date + 5, 2);
		memcpy(td + 6, it->term_date + 8, 2);
		td[8] = '\0';
		r.term_date = td;
	}
	return fmt_writer_add(wr->w, &r, &wr->wcause);
}

static int
wr_add(struct wr *wr, enum fmt_action a, const char *action, const char *vals,
       const char *term_date, const char *term_reason)
{
	struct feed_pipe_item it = {a, action, vals, term_date, term_reason};

	if (feed_pipe_push(wr->pipe, &it) == -1) {
		/* write_records() reports the writer's own error. */
		*wr->cause = xstrdup("writing the file failed");
		return -1;
	}
	if (++wr->n % FEED_RENDER_PROGRESS == 0 && wr->o->progress != NULL)
		wr->o->progress("render", wr->n, wr->run->total, wr->o->arg);
	return 0;
}

/* One entry of the run, in a change file or a full one. */
static int
wr_entry(struct wr *wr, const struct store_feed_entry *e, bool full)
{
	const char *a = e->action;

	if (strcmp(a, "add") == 0)
		return wr_add(wr, FMT_ADD, "add", e->vals, NULL, NULL);
	if (strcmp(a, "change") == 0)
		return wr_add(wr, FMT_CHANGE, "change", e->vals, NULL, NULL);
	if (strcmp(a, "reinstate") == 0)
		return wr_add(wr, FMT_REINSTATE, "reinstate", e->vals, NULL,
		              NULL);
	if (strcmp(a, "term") == 0 &&
	    (!full || wr->p->terms != FEED_TERMS_OMIT))
		return wr_add(wr, FMT_TERM, "terminate", e->vals, e->term_date,
		              e->term_reason);
	if (!full || strcmp(a, "same") != 0)
		return 0;
	if (e->active)
		return wr_add(wr, FMT_SAME, "none", e->vals, NULL, NULL);
	if (feed_plan_in_lookback(wr->p, e->term_date, wr->run->as_of))
		return wr_add(wr, FMT_TERM, "terminate", e->vals, e->term_date,
		              e->term_reason);
	return 0;
}

static int
wr_member(struct wr *wr, const struct store_feed_member *m)
{
	if (m->active)
		return wr_add(wr, FMT_SAME, "none", m->vals, NULL, NULL);
	if (feed_plan_in_lookback(wr->p, m->term_date, wr->run->as_of))
		return wr_add(wr, FMT_TERM, "terminate", m->vals, m->term_date,
		              m->term_reason);
	return 0;
}

/* A change file: the run's entries. */
static int
wr_changes(struct store *st, struct wr *wr)
{
	struct store_feed_entry e;
	struct store_feed_cur *c;
	int rc;

	if ((c = store_feed_entries_open(st, wr->run->id)) == NULL) {
		*wr->cause = xstrdup("cannot read the run's entries");
		return -1;
	}
	while ((rc = store_feed_entries_next(c, &e)) == 1)
		if (wr_entry(wr, &e, false) == -1)
			break;
	store_feed_cur_close(c);
	if (rc < 0 && *wr->cause == NULL)
		*wr->cause = xstrdup("reading the run's entries failed");
	return rc == 0 ? 0 : -1;
}

/* A full file: the members merged with the run's entries, by key. */
static int
wr_full_merge(struct wr *wr, struct store_feed_cur *mc,
              struct store_feed_cur *ec)
{
	struct store_feed_member m;
	struct store_feed_entry e;
	int hm, he, cmp, rc = 0;

	hm = store_feed_members_next(mc, &m);
	he = store_feed_entries_next(ec, &e);
	while (rc == 0 && hm >= 0 && he >= 0 && (hm == 1 || he == 1)) {
		cmp = hm == 0 ? 1 : he == 0 ? -1 : strcmp(m.key, e.key);
		if (cmp < 0)
			rc = wr_member(wr, &m);
		else
			rc = wr_entry(wr, &e, true);
		if (cmp <= 0)
			hm = store_feed_members_next(mc, &m);
		if (cmp >= 0)
			he = store_feed_entries_next(ec, &e);
	}
	if (rc == 0 && (hm < 0 || he < 0)) {
		*wr->cause = xstrdup("reading the feed state failed");
		rc = -1;
	}
	return rc;
}

static int
wr_full(struct store *st, struct wr *wr)
{
	struct store_feed_cur *mc, *ec;
	int rc = -1;

	if (store_feed_read_begin(st) != STORE_OK) {
		*wr->cause = xstrdup("cannot read the store");
		return -1;
	}
	mc = store_feed_members_open(st, wr->p->name, true);
	ec = store_feed_entries_open(st, wr->run->id);
	if (mc != NULL && ec != NULL)
		rc = wr_full_merge(wr, mc, ec);
	else
		*wr->cause = xstrdup("cannot read the feed state");
	store_feed_cur_close(mc);
	store_feed_cur_close(ec);
	if (store_feed_read_end(st) != STORE_OK && rc == 0) {
		*wr->cause = xstrdup("cannot finish reading the store");
		rc = -1;
	}
	return rc;
}

/* The fmt_run of a run; strings in bufs the caller frees. */
static void
fmt_run_of(const struct store_feed_run *r, struct fmt_run *fr, char date[9],
           char hhmm[5], char ref[24], char st02[16])
{
	memset(fr, 0, sizeof(*fr));
	snprintf(date, 9, "%.4s%.2s%.2s", r->as_of, r->as_of + 5, r->as_of + 8);
	snprintf(hhmm, 5, "%.2s%.2s", r->clock + 11, r->clock + 14);
	snprintf(ref, 24, "%lld", (long long)r->file_seq);
	snprintf(st02, 16, "%04lld", (long long)r->st02);
	fr->date = date;
	fr->time = hhmm;
	fr->reference = ref;
	fr->isa13_control = r->isa13;
	fr->gs06_control = r->gs06;
	fr->st02_control = st02;
}

/*
 * A writer into f: the format's writer (which keeps a pointer to opts:
 * the caller keeps it alive), the record scratch and the pipe's thread.
 * Errors go to *cause; wr_close() frees it all.
 */
static int
wr_open(struct wr *wr, const struct feed_profile *p, struct store_feed_run *run,
        const struct feed_render_opts *o, const struct fmt_opts *opts,
        const struct fmt_run *fr, FILE *f, char **cause)
{
	memset(wr, 0, sizeof(*wr));
	if ((wr->w = fmt_writer_new(opts, fr, f, cause)) == NULL)
		return -1;
	wr->p = p;
	wr->run = run;
	wr->o = o;
	wr->cause = cause;
	feed_rec_init(&wr->rec, p);
	buf_init(&wr->err, 0);
	wr->pipe = feed_pipe_new(wr_write, wr);
	return 0;
}

/* Stop the pipe's thread and free the writer; nothing when never open. */
static void
wr_close(struct wr *wr)
{
	if (wr->w == NULL)
		return;
	feed_pipe_free(wr->pipe);
	fmt_writer_free(wr->w);
	feed_rec_free(&wr->rec);
	buf_free(&wr->err);
	free(wr->wcause);
	memset(wr, 0, sizeof(*wr));
}

/* Stream the records into f. */
static int
write_records(struct store *st, const struct feed_profile *p,
              struct store_feed_run *run, const struct feed_render_opts *o,
              FILE *f, char **cause)
{
	char date[9], hhmm[5], ref[24], st02[16];
	struct fmt_opts opts = p->fmt;
	struct fmt_run fr;
	struct wr wr;
	bool full = strcmp(run->mode, "full") == 0;
	int rc = -1;

	opts.full_file = full;
	fmt_run_of(run, &fr, date, hhmm, ref, st02);
	if (wr_open(&wr, p, run, o, &opts, &fr, f, cause) == -1)
		return -1;
	rc = full ? wr_full(st, &wr) : wr_changes(st, &wr);
	if (feed_pipe_finish(wr.pipe) == -1) {
		/* The writer's error explains the reader's stop. */
		free(*cause);
		*cause = wr.wcause != NULL ? wr.wcause
		                           : xstrdup("writing the file failed");
		wr.wcause = NULL;
		rc = -1;
	}
	if (rc == 0)
		rc = fmt_writer_finish(wr.w, cause);
	if (rc == 0 && o->progress != NULL)
		o->progress("render", wr.n, wr.n, o->arg);
	wr_close(&wr);
	return rc;
}

/* dirfd/name already holds these bytes (a run finished after a crash). */
static bool
holds(int dirfd, const char *name, const char *hex)
{
	char have[65];

	return feed_sink_hash_file(dirfd, name, have) == 0 &&
	       strcmp(have, hex) == 0;
}

static char *
taken_cause(const char *dir, const char *name)
{
	return xasprintf("%s/%s already exists with other contents; move it "
	                 "away or put {seq} in file_name",
	                 dir, name);
}

/*
 * Move tmp to name without ever replacing a file: the same bytes already
 * there (a run finished after a crash) are fine, different ones are not.
 */
static int
publish(int dirfd, const char *dir, const char *tmp, const char *name,
        const char *hex, char **cause)
{
	int rc, err;

	rc = renameat2(dirfd, tmp, dirfd, name, RENAME_NOREPLACE);
	if (rc == -1 && (errno == EINVAL || errno == ENOSYS)) {
		/* The file system lacks RENAME_NOREPLACE: link is atomic. */
		if ((rc = linkat(dirfd, tmp, dirfd, name, 0)) == 0)
			unlinkat(dirfd, tmp, 0);
	}
	if (rc == 0)
		return 0;
	err = errno;
	if (err == EEXIST && holds(dirfd, name, hex)) {
		unlinkat(dirfd, tmp, 0);
		return 0;
	}
	*cause = err == EEXIST
	             ? taken_cause(dir, name)
	             : xasprintf("%s/%s: %s", dir, name, strerror(err));
	unlinkat(dirfd, tmp, 0);
	return -1;
}

static int
open_dir(const char *dir, char **cause)
{
	int fd;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		*cause = xasprintf("%s: %s", dir, strerror(errno));
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		*cause = xasprintf("%s: %s", dir, strerror(errno));
	return fd;
}

/* Write DIR/.name.tmp, fsync, rename to DIR/name, fsync DIR. */
static int
write_file(struct store *st, const struct feed_profile *p,
           struct store_feed_run *run, const struct feed_render_opts *o,
           char **cause)
{
	char hex[65], *tmp, *label;
	struct feed_sink *sk;
	int64_t size = 0;
	int dirfd, rc = -1;

	if ((dirfd = open_dir(run->out_dir, cause)) == -1)
		return -1;
	tmp = xasprintf(".%s.tmp", run->file_name);
	label = xasprintf("%s/%s", run->out_dir, tmp);
	if ((sk = feed_sink_open(dirfd, tmp)) == NULL) {
		*cause = xasprintf("%s: %s", label, strerror(errno));
		goto out;
	}
	rc = write_records(st, p, run, o, feed_sink_file(sk), cause);
	if (rc == -1)
		feed_sink_free(sk);
	else
		rc = feed_sink_close(sk, label, hex, &size, cause);
	if (rc == -1) {
		unlinkat(dirfd, tmp, 0);
		goto out;
	}
	if ((rc = publish(dirfd, run->out_dir, tmp, run->file_name, hex,
	                  cause)) == 0 &&
	    fsync(dirfd) == -1) {
		*cause =
		    xasprintf("fsync %s: %s", run->out_dir, strerror(errno));
		rc = -1;
	}
	if (rc == 0) {
		free(run->file_sha256);
		run->file_sha256 = xstrdup(hex);
		run->file_size = size;
	}
out:
	close(dirfd);
	free(tmp);
	free(label);
	return rc;
}

static void
wall_stamp(char *buf, size_t len)
{
	struct feed_date d;
	const char *why;

	if (feed_date_now(&d, &why) == -1)
		store_now(buf, len);
	else
		feed_date_stamp(&d, buf, len);
}

/* The run's file name, from the profile's template. */
static int
run_name(const struct feed_profile *p, struct store_feed_run *run, char **cause)
{
	free(run->file_name);
	run->file_name = NULL;
	return feed_file_name(p->file_name, p->tenant, p->name, run->as_of,
	                      run->clock + 11, run->file_seq, &run->file_name,
	                      cause);
}

/* Writing an approved run failed: the run fails, saying why. */
static int
run_failed(struct store *st, struct store_feed_run *run,
           const struct feed_render_opts *o, const char *cause)
{
	store_feed_run_fail(st, run->id, STORE_FEED_APPROVED, cause, o->actor);
	free(run->state);
	run->state = xstrdup(STORE_FEED_FAILED);
	return -1;
}

/* The file is in place: the run becomes rendered, the state moves. */
static int
run_applied(struct store *st, struct store_feed_run *run,
            const struct feed_render_opts *o, char **cause)
{
	char now[32];
	int rc;

	wall_stamp(now, sizeof(now));
	free(run->updated);
	run->updated = xstrdup(now);
	rc = store_feed_run_apply(st, run, o->actor);
	trace("apply");
	if (rc == STORE_CONFLICT) {
		*cause = xasprintf("run %s is no longer approved (another "
		                   "process finished it?)",
		                   run->id);
		return -1;
	}
	if (rc != STORE_OK) {
		*cause = xstrdup("recording the rendered run failed");
		return -1;
	}
	return 0;
}

/* Name, write and apply an approved run; a failure fails the run. */
static int
run_write(struct store *st, const struct feed_profile *p,
          struct store_feed_run *run, const struct feed_render_opts *o,
          char **cause)
{
	trace(NULL);
	if (run_name(p, run, cause) == -1 ||
	    write_file(st, p, run, o, cause) == -1)
		return run_failed(st, run, o, *cause);
	trace("write");
	return run_applied(st, run, o, cause);
}

/*
 * A full file written while the plan runs ("one pass"). The plan already
 * reads every member in key order; a full file is those members merged
 * with the run's entries in key order (wr_full_merge), so the plan's
 * outcomes and its key_done calls can feed the same wr_entry/wr_member
 * the second pass would, and the formatting thread works while the plan
 * does instead of after it. The file is unnamed (O_TMPFILE) until the
 * run is recorded approved; a run held, a failed plan or a crash leave
 * nothing behind. Whenever the plan settles a key out of strict key
 * order, or anything fails here, the one pass is dropped and the run is
 * written the usual way: the bytes are the same either way. Not for X12,
 * whose header needs the control numbers the run is given when recorded.
 */
struct spec {
	bool on;
	int dirfd;
	struct feed_sink *sk;
	struct fmt_opts opts;      /* the writer keeps a pointer to it */
	struct feed_render_opts o; /* no progress: the plan shows its own */
	struct store_feed_run run; /* as_of only */
	struct wr wr;
	char *cause;
	struct buf last; /* the key settled last */
	bool have_last, last_written;
};

static void
spec_off(struct spec *sp)
{
	wr_close(&sp->wr);
	feed_sink_free(sp->sk);
	if (sp->dirfd != -1)
		close(sp->dirfd);
	free(sp->cause);
	buf_free(&sp->last);
	memset(sp, 0, sizeof(*sp));
	sp->dirfd = -1;
}

static bool
spec_wanted(const struct feed_profile *p, bool full)
{
	const char *env = getenv("ROSTERD_FEED_ONE_PASS");

	return full && p->fmt.kind != FMT_X12_834 &&
	       (env == NULL || strcmp(env, "0") != 0);
}

static void
spec_start(struct spec *sp, const struct feed_profile *p, bool full,
           const char *as_of, const char *out_dir,
           const struct feed_render_opts *o)
{
	struct fmt_run fr;

	memset(sp, 0, sizeof(*sp));
	sp->dirfd = -1;
	/* A directory not there yet is made when the run is written, not
	 * before: a held run leaves nothing. */
	if (!spec_wanted(p, full) ||
	    (sp->dirfd = open(out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	        -1 ||
	    (sp->sk = feed_sink_open_unnamed(sp->dirfd)) == NULL) {
		spec_off(sp);
		return;
	}
	sp->o = *o;
	sp->o.progress = NULL;
	sp->run.as_of = (char *)as_of;
	sp->opts = p->fmt;
	sp->opts.full_file = true;
	memset(&fr, 0, sizeof(fr));
	if (wr_open(&sp->wr, p, &sp->run, &sp->o, &sp->opts, &fr,
	            feed_sink_file(sp->sk), &sp->cause) == -1) {
		spec_off(sp);
		return;
	}
	buf_init(&sp->last, 0);
	sp->on = true;
}

/* Is key the next one to write? Out of key order, the one pass ends. */
static bool
spec_next(struct spec *sp, const char *key)
{
	int cmp;

	if (!sp->on)
		return false;
	if (sp->have_last) {
		cmp = strcmp(key, buf_str(&sp->last));
		if (cmp == 0)
			return !sp->last_written;
		if (cmp < 0) {
			spec_off(sp);
			return false;
		}
	}
	buf_reset(&sp->last);
	buf_addstr(&sp->last, key);
	sp->have_last = true;
	sp->last_written = false;
	return true;
}

static void
spec_entry(struct spec *sp, const struct store_feed_entry *e)
{
	if (!spec_next(sp, e->key))
		return;
	sp->last_written = true;
	if (wr_entry(&sp->wr, e, true) == -1)
		spec_off(sp);
}

static void
spec_member(struct spec *sp, const char *key, const struct store_feed_member *m)
{
	if (!spec_next(sp, key))
		return;
	sp->last_written = true;
	if (m != NULL && wr_member(&sp->wr, m) == -1)
		spec_off(sp);
}

/*
 * Finish the one-pass file and name it: 0 done, 1 not possible (the
 * caller writes the run the usual way), -1 the run cannot be written.
 */
static int
spec_publish(struct spec *sp, struct store_feed_run *run, char **cause)
{
	char hex[65], *err = NULL;
	int64_t size = 0;
	int rc = 1;

	if (feed_pipe_finish(sp->wr.pipe) == -1 ||
	    fmt_writer_finish(sp->wr.w, &err) == -1 ||
	    feed_sink_finish(sp->sk, run->file_name, hex, &size, &err) == -1) {
		free(err);
		return 1;
	}
	if (feed_sink_link(sp->sk, sp->dirfd, run->file_name) == 0)
		rc = 0;
	else if (errno == EEXIST) {
		if (!holds(sp->dirfd, run->file_name, hex)) {
			*cause = taken_cause(run->out_dir, run->file_name);
			return -1;
		}
		rc = 0;
	}
	if (rc == 0 && fsync(sp->dirfd) == -1) {
		*cause =
		    xasprintf("fsync %s: %s", run->out_dir, strerror(errno));
		return -1;
	}
	if (rc == 0) {
		free(run->file_sha256);
		run->file_sha256 = xstrdup(hex);
		run->file_size = size;
	}
	return rc;
}

/* An approved run whose file the one pass has been writing. */
static int
spec_write(struct store *st, const struct feed_profile *p,
           struct store_feed_run *run, const struct feed_render_opts *o,
           struct spec *sp, char **cause)
{
	int rc;

	trace(NULL);
	if (run_name(p, run, cause) == -1)
		return run_failed(st, run, o, *cause);
	if ((rc = spec_publish(sp, run, cause)) == 1) {
		spec_off(sp);
		return run_write(st, p, run, o, cause);
	}
	if (rc == -1)
		return run_failed(st, run, o, *cause);
	trace("finish");
	return run_applied(st, run, o, cause);
}

/* Planning for a render: every entry staged as the plan finds it. */
struct stage_ctx {
	struct store_feed_stage *sg;
	struct spec *sp;
	const struct feed_render_opts *o;
	int64_t errors;
	char *first_error;
};

static int
stage_emit(const struct feed_outcome *out, void *arg)
{
	struct stage_ctx *sc = arg;

	if (out->kind == FEED_OUT_ERROR) {
		if (sc->first_error == NULL)
			sc->first_error =
			    xasprintf("%s: %s", out->key, out->error);
		sc->errors++;
		return 0;
	}
	if (out->e == NULL)
		return 0;
	if (store_feed_stage_add(sc->sg, out->e) != STORE_OK)
		return -1;
	spec_entry(sc->sp, out->e);
	return 0;
}

static void
stage_key_done(const char *key, const struct store_feed_member *m, void *arg)
{
	struct stage_ctx *sc = arg;

	spec_member(sc->sp, key, m);
}

static void
stage_progress(int64_t done, void *arg)
{
	struct stage_ctx *sc = arg;

	if (sc->o->progress != NULL)
		sc->o->progress("plan", done, 0, sc->o->arg);
}

static int
render_plan(struct store *st, const struct feed_profile *p, int64_t tenant_id,
            const struct store_feed_state *fs, const char *as_of,
            const struct feed_render_opts *o, struct spec *sp,
            struct feed_plan_counts *counts, char **cause)
{
	struct stage_ctx sc;
	struct feed_plan pl;
	int rc;

	memset(&sc, 0, sizeof(sc));
	sc.o = o;
	sc.sp = sp;
	if ((sc.sg = store_feed_stage_open(st)) == NULL) {
		*cause = xstrdup("cannot stage the plan");
		return -1;
	}
	memset(&pl, 0, sizeof(pl));
	pl.st = st;
	pl.p = p;
	pl.tenant_id = tenant_id;
	pl.fs = fs;
	pl.as_of = as_of;
	pl.emit = stage_emit;
	pl.arg = &sc;
	pl.progress = stage_progress;
	if (sp->on)
		pl.key_done = stage_key_done;
	rc = feed_plan_run(&pl, cause);
	store_feed_stage_close(sc.sg);
	*counts = pl.counts;
	if (rc == 0 && sc.errors > 0) {
		*cause =
		    xasprintf("%lld member%s cannot be written (first: "
		              "%s); see rosterd feed plan %s",
		              (long long)sc.errors, sc.errors == 1 ? "" : "s",
		              sc.first_error, p->name);
		rc = -1;
	}
	free(sc.first_error);
	return rc;
}

static void
run_fill(struct store_feed_run *r, const struct feed_profile *p,
         int64_t tenant_id, bool full, const struct feed_plan_counts *c,
         const struct store_feed_state *fs)
{
	char id[32];

	feed_run_id(id, sizeof(id));
	r->id = xstrdup(id);
	r->feed = xstrdup(p->name);
	r->tenant_id = tenant_id;
	r->mode = xstrdup(full ? "full" : "change");
	r->adds = c->adds;
	r->changes = c->changes;
	r->terms = c->terms;
	r->reinstates = c->reinstates;
	r->unchanged = c->unchanged;
	r->total = feed_plan_total(p, full, c);
	r->roster_before = c->roster_before;
	r->rule_hash = xstrdup(p->rule_hash);
	r->values_hash = xstrdup(p->values_hash);
	r->layout_hash = xstrdup(p->layout_hash);
	r->layout = xstrdup(p->layout);
	if (p->fmt.kind == FMT_X12_834 && p->x12_sender != NULL)
		r->x12_sender = xstrdup(p->x12_sender);
}

static bool
want_full(const struct feed_profile *p, enum feed_want w)
{
	if (w == FEED_WANT_FULL)
		return true;
	if (w == FEED_WANT_CHANGES)
		return false;
	return p->mode == FEED_MODE_FULL;
}

static char *
abs_dir(const char *dir, char **cause)
{
	char *cwd, *out;

	if (dir == NULL || *dir == '\0') {
		*cause = xstrdup("no output directory");
		return NULL;
	}
	if (dir[0] == '/')
		return xstrdup(dir);
	if ((cwd = getcwd(NULL, 0)) == NULL) {
		*cause = xasprintf("getcwd: %s", strerror(errno));
		return NULL;
	}
	out = xasprintf("%s/%s", cwd, dir);
	free(cwd);
	return out;
}

/*
 * The output directory can take the file: checked before a run is
 * recorded or approved, so that a mistyped --out neither leaves a failed
 * run behind nor uses up a file number ({seq}). The directory itself may
 * be missing (open_dir makes it), not its parent.
 */
static int
out_dir_check(const char *dir, char **cause)
{
	struct stat sb;
	const char *why = NULL;
	char *parent, *slash;

	if (dir == NULL) {
		*cause = xstrdup("no output directory");
		return -1;
	}
	if (stat(dir, &sb) == 0) {
		if (!S_ISDIR(sb.st_mode))
			why = "not a directory";
		else if (access(dir, W_OK | X_OK) == -1)
			why = strerror(errno);
		if (why != NULL)
			*cause = xasprintf("%s: %s", dir, why);
		return why == NULL ? 0 : -1;
	}
	if (errno != ENOENT) {
		*cause = xasprintf("%s: %s", dir, strerror(errno));
		return -1;
	}
	parent = xstrdup(dir);
	slash = strrchr(parent, '/');
	if (slash == parent)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	if (stat(parent, &sb) == -1)
		why = strerror(errno);
	else if (!S_ISDIR(sb.st_mode))
		why = "not a directory";
	else if (access(parent, W_OK | X_OK) == -1)
		why = strerror(errno);
	if (why != NULL)
		*cause = xasprintf("%s: no such directory, and %s cannot hold "
		                   "it: %s",
		                   dir, parent, why);
	free(parent);
	return why == NULL ? 0 : -1;
}

/* Check the feed can take a run now; the clock and the state. */
static int
render_prepare(struct store *st, const struct feed_profile *p,
               const struct feed_render_opts *o, struct feed_date *clk,
               struct store_feed_state *fs, char **cause)
{
	const char *why;

	if (feed_date_clock(o->as_of, clk, &why) == -1) {
		*cause = xstrdup(why);
		return -1;
	}
	if (!want_full(p, o->want) && p->terms == FEED_TERMS_OMIT) {
		*cause = xasprintf("feed %s sends terminations by omission "
		                   "(terminations: omit); it has no change "
		                   "files",
		                   p->name);
		return -1;
	}
	if (store_feed_state_get(st, p->name, fs) != STORE_OK) {
		*cause = xstrdup("cannot read the feed state");
		return -1;
	}
	if (fs->active_run != NULL) {
		*cause = xasprintf("feed %s has an unfinished run %s (%s); "
		                   "approve or reject it first",
		                   p->name, fs->active_run, fs->active_state);
		return -1;
	}
	if (fs->failed_run != NULL) {
		*cause = store_feed_failed_cause(p->name, fs->failed_run,
		                                 fs->failed_error);
		return -1;
	}
	return 0;
}

int
feed_render(struct store *st, const struct feed_profile *p, int64_t tenant_id,
            const struct feed_render_opts *o, struct store_feed_run *run,
            char **cause)
{
	struct feed_plan_counts c;
	struct store_feed_state fs;
	struct feed_date clk;
	struct spec sp;
	char as_of[16], clock[32], now[32], *out_dir = NULL;
	struct buf held;
	bool full = want_full(p, o->want);
	int rc = -1;

	memset(run, 0, sizeof(*run));
	memset(&fs, 0, sizeof(fs));
	memset(&sp, 0, sizeof(sp));
	sp.dirfd = -1;
	*cause = NULL;
	buf_init(&held, 0);
	if (render_prepare(st, p, o, &clk, &fs, cause) == -1 ||
	    (out_dir = abs_dir(o->out_dir, cause)) == NULL ||
	    out_dir_check(out_dir, cause) == -1)
		goto out;
	feed_date_str(&clk, as_of, sizeof(as_of));
	feed_date_stamp(&clk, clock, sizeof(clock));
	wall_stamp(now, sizeof(now));
	trace(NULL);
	spec_start(&sp, p, full, as_of, out_dir, o);
	if (render_plan(st, p, tenant_id, &fs, as_of, o, &sp, &c, cause) == -1)
		goto out;
	trace("plan");
	run_fill(run, p, tenant_id, full, &c, &fs);
	run->as_of = xstrdup(as_of);
	run->clock = xstrdup(clock);
	run->created = xstrdup(now);
	run->updated = xstrdup(now);
	run->out_dir = out_dir;
	out_dir = NULL;
	if (feed_policy_hold(p, &fs, &c, &held)) {
		run->state = xstrdup(STORE_FEED_PENDING);
		run->held = xstrdup(buf_str(&held));
	} else
		run->state = xstrdup(STORE_FEED_APPROVED);
	if (store_feed_run_create(st, run, fs.seq, o->actor, cause) !=
	    STORE_OK) {
		if (*cause == NULL)
			*cause = xstrdup("recording the run failed");
		goto out;
	}
	trace("record");
	rc = 0;
	if (strcmp(run->state, STORE_FEED_APPROVED) == 0)
		rc = sp.on ? spec_write(st, p, run, o, &sp, cause)
		           : run_write(st, p, run, o, cause);
out:
	spec_off(&sp);
	free(out_dir);
	store_feed_state_clear(&fs);
	buf_free(&held);
	return rc;
}

/* Has the profile changed in a way the run's entries cannot follow? */
static const char *
profile_drift(const struct feed_profile *p, const struct store_feed_run *r)
{
	if (strcmp(p->name, r->feed) != 0)
		return "belongs to another feed";
	if (strcmp(p->values_hash, r->values_hash) != 0 ||
	    strcmp(p->layout_hash, r->layout_hash) != 0)
		return "was planned with other columns than the feed profile "
		       "has now; reject it and render again";
	return NULL;
}

int
feed_approve(struct store *st, const struct feed_profile *p, const char *id,
             const char *by, const char *out_dir,
             const struct feed_render_opts *o, struct store_feed_run *run,
             char **cause)
{
	const char *why;
	char now[32];
	int rc;

	*cause = NULL;
	if ((rc = store_feed_run_get(st, id, run)) != STORE_OK) {
		*cause = rc == STORE_NOTFOUND ? xasprintf("no run %s", id)
		                              : xstrdup("cannot read the run");
		return -1;
	}
	if ((why = profile_drift(p, run)) != NULL) {
		*cause = xasprintf("run %s %s", id, why);
		return -1;
	}
	if (strcmp(run->state, STORE_FEED_PENDING) != 0 &&
	    strcmp(run->state, STORE_FEED_APPROVED) != 0) {
		*cause = xasprintf("run %s is %s; only a run pending approval "
		                   "can be approved",
		                   id, run->state);
		return -1;
	}
	if (out_dir != NULL) {
		free(run->out_dir);
		if ((run->out_dir = abs_dir(out_dir, cause)) == NULL)
			return -1;
	}
	if (out_dir_check(run->out_dir, cause) == -1)
		return -1;
	if (strcmp(run->state, STORE_FEED_PENDING) == 0) {
		wall_stamp(now, sizeof(now));
		free(run->decided_by);
		free(run->decided_at);
		run->decided_by = xstrdup(by);
		run->decided_at = xstrdup(now);
		rc = store_feed_run_decide(
		    st, run, STORE_FEED_PENDING, STORE_FEED_APPROVED, by,
		    p->fmt.kind == FMT_X12_834 ? p->x12_sender : NULL);
		if (rc != STORE_OK) {
			*cause =
			    rc == STORE_CONFLICT
			        ? xasprintf("run %s was decided meanwhile", id)
			        : xstrdup("recording the approval failed");
			return -1;
		}
	}
	return run_write(st, p, run, o, cause);
}

int
feed_reject(struct store *st, const char *id, const char *by,
            const char *reason, struct store_feed_run *run, char **cause)
{
	char now[32], *from;
	int rc;

	*cause = NULL;
	if ((rc = store_feed_run_get(st, id, run)) != STORE_OK) {
		*cause = rc == STORE_NOTFOUND ? xasprintf("no run %s", id)
		                              : xstrdup("cannot read the run");
		return -1;
	}
	if (strcmp(run->state, STORE_FEED_PENDING) != 0 &&
	    strcmp(run->state, STORE_FEED_APPROVED) != 0) {
		*cause = xasprintf("run %s is %s; only a run pending approval "
		                   "can be rejected",
		                   id, run->state);
		return -1;
	}
	wall_stamp(now, sizeof(now));
	from = xstrdup(run->state);
	free(run->decided_by);
	free(run->decided_at);
	free(run->reason);
	run->decided_by = xstrdup(by);
	run->decided_at = xstrdup(now);
	run->reason = xstrdup(reason);
	rc =
	    store_feed_run_decide(st, run, from, STORE_FEED_REJECTED, by, NULL);
	free(from);
	if (rc != STORE_OK) {
		*cause = rc == STORE_CONFLICT
		             ? xasprintf("run %s was decided meanwhile", id)
		             : xstrdup("recording the rejection failed");
		return -1;
	}
	return 0;
}

int
feed_discard(struct store *st, const char *id, const char *by,
             const char *reason, struct store_feed_run *run, char **cause)
{
	int rc;

	*cause = NULL;
	memset(run, 0, sizeof(*run));
	rc = store_feed_run_discard(st, id, by, reason, cause);
	if (rc == STORE_NOTFOUND && *cause == NULL)
		*cause = xasprintf("no run %s", id);
	else if (rc != STORE_OK && *cause == NULL)
		*cause = xstrdup("recording the discard failed");
	if (rc != STORE_OK)
		return -1;
	if (store_feed_run_get(st, id, run) != STORE_OK) {
		*cause = xstrdup("cannot read the run");
		return -1;
	}
	return 0;
}

/*
 * Off-cycle terminations (issue 4): the plan with only some people's
 * terminations staged. Outcomes come in key order, a subscriber's
 * dependents right after it, so a dependent's termination is taken when
 * its subscriber's was.
 */
struct terms_ctx {
	const int64_t *rids; /* sorted */
	size_t n;
	struct store_feed_stage *sg;
	struct buf sub; /* key of the subscriber last taken, or empty */
	int64_t terms;
};

static int
terms_rid_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int
terms_emit(const struct feed_outcome *o, void *arg)
{
	struct terms_ctx *tc = arg;
	const struct store_feed_entry *e = o->e;

	if (e == NULL)
		return 0;
	if (strchr(e->key, FEED_DEP_SEP) == NULL) {
		buf_reset(&tc->sub);
		if (o->kind != FEED_OUT_TERM ||
		    bsearch(&e->person_rid, tc->rids, tc->n, sizeof(*tc->rids),
		            terms_rid_cmp) == NULL)
			return 0;
		buf_addstr(&tc->sub, e->key);
	} else if (o->kind != FEED_OUT_TERM || tc->sub.len == 0 ||
	           strncmp(e->key, buf_str(&tc->sub), tc->sub.len) != 0 ||
	           e->key[tc->sub.len] != FEED_DEP_SEP)
		return 0;
	tc->terms++;
	return store_feed_stage_add(tc->sg, e) == STORE_OK ? 0 : -1;
}

static bool
terms_same(const char *stored, const char *now)
{
	return stored != NULL && strcmp(stored, now) == 0;
}

static enum feed_offcycle_rc
terms_check(const struct feed_profile *p, const struct store_feed_state *fs)
{
	if (fs->active_run != NULL)
		return FEED_OFFCYCLE_BUSY;
	if (fs->layout_hash == NULL)
		return FEED_OFFCYCLE_NEVER;
	if (!terms_same(fs->rule_hash, p->rule_hash) ||
	    !terms_same(fs->values_hash, p->values_hash) ||
	    !terms_same(fs->layout_hash, p->layout_hash))
		return FEED_OFFCYCLE_DRIFT;
	return FEED_OFFCYCLE_OK;
}

static int
terms_plan(struct store *st, const struct feed_profile *p, int64_t tenant_id,
           const struct store_feed_state *fs, const char *as_of,
           struct terms_ctx *tc, struct feed_plan_counts *c, char **cause)
{
	struct feed_plan pl;
	int rc;

	if ((tc->sg = store_feed_stage_open(st)) == NULL) {
		*cause = xstrdup("cannot stage the plan");
		return -1;
	}
	memset(&pl, 0, sizeof(pl));
	pl.st = st;
	pl.p = p;
	pl.tenant_id = tenant_id;
	pl.fs = fs;
	pl.as_of = as_of;
	pl.emit = terms_emit;
	pl.arg = tc;
	rc = feed_plan_run(&pl, cause);
	store_feed_stage_close(tc->sg);
	tc->sg = NULL;
	/* Only what this run sends counts, for the policy and the record. */
	memset(c, 0, sizeof(*c));
	c->terms = tc->terms;
	c->roster_before = pl.counts.roster_before;
	c->roster_after = pl.counts.roster_before - tc->terms;
	return rc;
}

/* Record the staged run and, unless the policy holds it, write it. */
static enum feed_offcycle_rc
terms_record(struct store *st, const struct feed_profile *p, int64_t tenant_id,
             const struct store_feed_state *fs,
             const struct feed_plan_counts *c, const struct feed_date *clk,
             const struct feed_render_opts *o, struct store_feed_run *run,
             char **cause)
{
	char as_of[16], clock[32], now[32];
	struct buf held;
	int rc;

	run_fill(run, p, tenant_id, false, c, fs);
	feed_date_str(clk, as_of, sizeof(as_of));
	feed_date_stamp(clk, clock, sizeof(clock));
	wall_stamp(now, sizeof(now));
	run->as_of = xstrdup(as_of);
	run->clock = xstrdup(clock);
	run->created = xstrdup(now);
	run->updated = xstrdup(now);
	if ((run->out_dir = abs_dir(o->out_dir, cause)) == NULL) {
		store_feed_run_clear(run);
		return FEED_OFFCYCLE_ERR;
	}
	buf_init(&held, 0);
	if (feed_policy_hold(p, fs, c, &held)) {
		run->state = xstrdup(STORE_FEED_PENDING);
		run->held = xstrdup(buf_str(&held));
	} else
		run->state = xstrdup(STORE_FEED_APPROVED);
	buf_free(&held);
	rc = store_feed_run_create(st, run, fs->seq, o->actor, cause);
	if (rc != STORE_OK) {
		store_feed_run_clear(run);
		if (rc == STORE_CONFLICT) {
			free(*cause);
			*cause = NULL;
			return FEED_OFFCYCLE_BUSY;
		}
		if (*cause == NULL)
			*cause = xstrdup("recording the run failed");
		return FEED_OFFCYCLE_ERR;
	}
	if (strcmp(run->state, STORE_FEED_APPROVED) == 0 &&
	    run_write(st, p, run, o, cause) == -1)
		return FEED_OFFCYCLE_ERR;
	return FEED_OFFCYCLE_OK;
}

enum feed_offcycle_rc
feed_render_terms(struct store *st, const struct feed_profile *p,
                  int64_t tenant_id, const int64_t *rids, size_t n,
                  const struct feed_render_opts *o, struct store_feed_run *run,
                  char **cause)
{
	enum feed_offcycle_rc rc = FEED_OFFCYCLE_ERR;
	struct store_feed_state fs;
	struct feed_plan_counts c;
	struct terms_ctx tc;
	struct feed_date clk;
	int64_t *sorted = NULL;
	char as_of[16];
	const char *why;

	memset(run, 0, sizeof(*run));
	memset(&fs, 0, sizeof(fs));
	memset(&tc, 0, sizeof(tc));
	*cause = NULL;
	buf_init(&tc.sub, 0);
	if (p->terms == FEED_TERMS_OMIT) {
		*cause = xasprintf("feed %s sends terminations by omission "
		                   "(terminations: omit); it has no change "
		                   "files",
		                   p->name);
		goto out;
	}
	if (feed_date_clock(o->as_of, &clk, &why) == -1) {
		*cause = xstrdup(why);
		goto out;
	}
	if (store_feed_state_get(st, p->name, &fs) != STORE_OK) {
		*cause = xstrdup("cannot read the feed state");
		goto out;
	}
	if ((rc = terms_check(p, &fs)) != FEED_OFFCYCLE_OK)
		goto out;
	rc = FEED_OFFCYCLE_ERR;
	sorted = xcalloc(n + 1, sizeof(*sorted));
	if (n > 0)
		memcpy(sorted, rids, n * sizeof(*rids));
	qsort(sorted, n, sizeof(*sorted), terms_rid_cmp);
	tc.rids = sorted;
	tc.n = n;
	feed_date_str(&clk, as_of, sizeof(as_of));
	trace(NULL);
	if (terms_plan(st, p, tenant_id, &fs, as_of, &tc, &c, cause) == -1)
		goto out;
	trace("plan");
	if (tc.terms == 0) {
		rc = FEED_OFFCYCLE_NONE;
		goto out;
	}
	rc = terms_record(st, p, tenant_id, &fs, &c, &clk, o, run, cause);
out:
	free(sorted);
	buf_free(&tc.sub);
	store_feed_state_clear(&fs);
	return rc;
}
