/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* The plan: eligibility and the diff against what the vendor was sent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed/date.h"
#include "feed/jpath.h"
#include "feed/plan.h"
#include "feed/record.h"
#include "fmt/fmt.h"
#include "store/store_hris.h"
#include "util/buf.h"
#include "util/xmalloc.h"

#define FEED_PROGRESS_EVERY 65536

/* A dependent as the plan indexes them: by subscriber, then key. */
struct dep_ent {
	int64_t emp; /* the subscriber's rid */
	int64_t id;  /* the dependents row */
	uint64_t fp; /* fingerprint of the row as last modified */
	char *key;
};

/* One plan's working state. */
struct pc {
	struct feed_plan *pl;
	const struct feed_profile *p;
	struct store_feed_eval *ev;
	bool rule_ok;   /* cached eligibility may be trusted */
	bool vals_ok;   /* stored values follow the current columns */
	int *old_index; /* where columns sat in the stored layout */
	struct jpath_span *spans;
	struct store_feed_probe pr; /* the last probe */
	bool have_pr;
	struct buf vals, old, changed, err, key, name, dkey;
	char **cause;
	/* the subscriber decided last, for its dependents */
	const char *sub_key;
	int64_t sub_rid, sub_version;
	bool active_after;                   /* a member after the run */
	char term_reason[24], term_date[11]; /* of the last termination */
	bool sub_terminated;                 /* in this run */
	/* dependents (HRIS import), sorted by subscriber rid and key */
	struct dep_ent *deps;
	size_t ndeps, capdeps;
	struct store_hris_dependent *dfull; /* one subscriber's, in full */
	size_t ndfull;
	int64_t dfull_rid;
	const struct feed_dependent *dep; /* whose values are computed */
	const char *display;              /* their name, for outcomes */
	/* every record to send goes through a writer to /dev/null first */
	FILE *devnull;
	struct fmt_opts vopts; /* the writer keeps a pointer to these */
	struct fmt_writer *vw;
	struct feed_rec vrec;
};

const char *
feed_out_action(enum feed_out k)
{
	static const char *const names[] = {"add",       "change", "term",
	                                    "reinstate", "same",   "exclude",
	                                    "unexclude", "error",  "duplicate"};

	return names[k];
}

bool
feed_plan_in_lookback(const struct feed_profile *p, const char *term_date,
                      const char *as_of)
{
	struct feed_date t, a;

	if (p->terms != FEED_TERMS_LOOKBACK || term_date == NULL ||
	    feed_date_parse(term_date, &t) == -1 ||
	    feed_date_parse(as_of, &a) == -1)
		return false;
	return feed_date_days(&a) - feed_date_days(&t) <= p->lookback_days;
}

int64_t
feed_plan_total(const struct feed_profile *p, bool full,
                const struct feed_plan_counts *c)
{
	if (!full)
		return c->adds + c->changes + c->terms + c->reinstates;
	return c->roster_after + (p->terms != FEED_TERMS_OMIT ? c->terms : 0) +
	       c->lookback;
}

static int
pc_emit(struct pc *pc, enum feed_out kind, const struct store_feed_entry *e,
        const char *key, const char *error)
{
	struct feed_outcome o;

	memset(&o, 0, sizeof(o));
	o.kind = kind;
	o.e = e;
	o.key = key;
	o.error = error;
	if (kind == FEED_OUT_CHANGE) {
		o.old_vals = buf_str(&pc->old);
		o.old_index = pc->old_index;
	}
	if (pc->display != NULL)
		o.user_name = pc->display;
	else if (pc->have_pr) {
		o.person_id = pc->pr.id;
		buf_reset(&pc->name);
		if (jpath_text(&pc->spans[pc->p->slot_username], &pc->name) ==
		    1)
			o.user_name = buf_str(&pc->name);
	}
	if (pc->pl->emit != NULL && pc->pl->emit(&o, pc->pl->arg) != 0) {
		*pc->cause = xstrdup("plan stopped");
		return -1;
	}
	return 0;
}

/* Look a person up by rid and scan the document. */
static int
pc_probe(struct pc *pc, int64_t rid)
{
	int rc;

	pc->have_pr = false;
	rc = store_feed_eval_person(pc->ev, rid, &pc->pr);
	if (rc == STORE_NOTFOUND)
		return 0;
	if (rc != STORE_OK) {
		*pc->cause = xstrdup("reading a person failed");
		return -1;
	}
	pc->pl->counts.evaluated++;
	if (jpath_scan(pc->p->paths, pc->pr.doc, (size_t)pc->pr.doc_len,
	               pc->spans) == -1)
		memset(pc->spans, 0,
		       jpath_count(pc->p->paths) * sizeof(*pc->spans));
	pc->have_pr = true;
	return 0;
}

/* The stored values of member key into pc->old. */
static int
pc_old_vals(struct pc *pc, const char *key)
{
	struct store_feed_member m;
	int rc;

	buf_reset(&pc->old);
	rc = store_feed_eval_member(pc->ev, pc->pl->p->name, key, &m);
	if (rc == STORE_OK) {
		buf_addstr(&pc->old, m.vals != NULL ? m.vals : "");
		return 0;
	}
	*pc->cause = xasprintf("reading member %s failed", key);
	return -1;
}

/* The probed person's values into pc->vals; -1 (why in pc->err) if bad. */
static int
pc_compute(struct pc *pc)
{
	struct feed_person fp;

	memset(&fp, 0, sizeof(fp));
	fp.key = pc->sub_key;
	fp.dep = pc->dep;
	fp.id = pc->pr.id;
	fp.created = pc->pr.created;
	fp.modified = pc->pr.modified;
	fp.spans = pc->spans;
	buf_reset(&pc->vals);
	buf_reset(&pc->err);
	return feed_record_values(pc->p, &fp, &pc->vals, &pc->err) == 0 &&
	               !pc->vals.failed
	           ? 0
	           : -1;
}

/* Compute the probed person's values into pc->vals; 1 on a bad value. */
static int
pc_values(struct pc *pc, const char *key)
{
	if (pc_compute(pc) == 0)
		return 0;
	pc->pl->counts.errors++;
	if (pc->vals.failed)
		buf_addstr(&pc->err, "values too long");
	return pc_emit(pc, FEED_OUT_ERROR, NULL, key, buf_str(&pc->err)) == -1
	           ? -1
	           : 1;
}

static void
entry_init(struct store_feed_entry *e, const char *key, enum feed_out k,
           bool active)
{
	memset(e, 0, sizeof(*e));
	e->key = key;
	e->action = feed_out_action(k);
	e->active = active;
}

static void check_writer(struct pc *);

/*
 * Would the file writer take this record? The format's own rules (an 834
 * addition needs coverage_start, ...) surface in the plan, not halfway
 * through writing an approved run. -1 with *cause (caller frees, may be
 * NULL) when it would not.
 */
static int
pc_fits(struct pc *pc, enum feed_out k, const struct store_feed_entry *e,
        char **cause)
{
	static const enum fmt_action acts[] = {FMT_ADD, FMT_CHANGE, FMT_TERM,
	                                       FMT_REINSTATE};
	static const char *const names[] = {"add", "change", "terminate",
	                                    "reinstate"};
	struct fmt_record r;
	struct feed_dyn d;
	char td[9] = "";

	*cause = NULL;
	if (pc->vw == NULL || k > FEED_OUT_REINSTATE)
		return 0;
	d.action = names[k];
	d.term_date = e->term_date;
	d.term_reason = e->term_reason;
	d.as_of = pc->pl->as_of;
	buf_reset(&pc->err);
	memset(&r, 0, sizeof(r));
	if (feed_rec_fill(&pc->vrec, pc->p, e->vals, &d, &pc->err) == -1) {
		*cause = xstrdup(buf_str(&pc->err));
		return -1;
	}
	r.action = acts[k];
	r.values = pc->vrec.values;
	if (e->term_date != NULL && strlen(e->term_date) == 10) {
		snprintf(td, sizeof(td), "%.4s%.2s%.2s", e->term_date,
		         e->term_date + 5, e->term_date + 8);
		r.term_date = td;
	}
	if (fmt_writer_add(pc->vw, &r, cause) == 0)
		return 0;
	/* The writer stops after an error; start a fresh one. */
	check_writer(pc);
	return -1;
}

static int
pc_check(struct pc *pc, enum feed_out k, const struct store_feed_entry *e)
{
	char *cause;
	int rc;

	if (pc_fits(pc, k, e, &cause) == 0)
		return 0;
	pc->pl->counts.errors++;
	rc = pc_emit(pc, FEED_OUT_ERROR, NULL, e->key,
	             cause != NULL ? cause : "cannot be written");
	free(cause);
	return rc;
}

static int
stage(struct pc *pc, enum feed_out k, struct store_feed_entry *e)
{
	if (pc_check(pc, k, e) == -1)
		return -1;
	return pc_emit(pc, k, e, e->key, NULL);
}

/*
 * An eligible member with key k (the person probed, or a dependent of
 * it), known to the state as m or not, to be recorded as rid/version.
 */
static int
pc_eligible(struct pc *pc, const char *k, const struct store_feed_member *m,
            int64_t rid, int64_t version)
{
	struct feed_plan_counts *c = &pc->pl->counts;
	struct store_feed_entry e;
	enum feed_out kind;
	int rc;

	pc->active_after = m != NULL && m->active;
	if ((rc = pc_values(pc, k)) != 0) {
		c->roster_after += pc->active_after;
		return rc == 1 ? 0 : -1;
	}
	pc->active_after = true;
	c->roster_after++;
	kind = m == NULL    ? FEED_OUT_ADD
	       : !m->active ? FEED_OUT_REINSTATE
	                    : FEED_OUT_CHANGE;
	entry_init(&e, k, kind, true);
	e.person_rid = rid;
	e.person_version = version;
	e.vals = buf_str(&pc->vals);
	if (kind != FEED_OUT_CHANGE) {
		if (kind == FEED_OUT_ADD)
			c->adds++;
		else
			c->reinstates++;
		return stage(pc, kind, &e);
	}
	if (pc_old_vals(pc, k) == -1)
		return -1;
	buf_reset(&pc->changed);
	if (feed_record_diff(pc->p, buf_str(&pc->old), pc->old_index,
	                     buf_str(&pc->vals), &pc->changed) > 0) {
		e.changed = buf_str(&pc->changed);
		c->changes++;
		return stage(pc, FEED_OUT_CHANGE, &e);
	}
	c->unchanged++;
	if (m->person_rid == rid && m->person_version == version &&
	    strcmp(buf_str(&pc->old), buf_str(&pc->vals)) == 0)
		return 0;
	entry_init(&e, k, FEED_OUT_SAME, true);
	e.person_rid = rid;
	e.person_version = version;
	e.vals = buf_str(&pc->vals);
	return stage(pc, FEED_OUT_SAME, &e);
}

/* Why a member leaves, and from when. */
static const char *
term_reason(struct pc *pc, const char *k)
{
	if (!pc->have_pr || pc->pr.deleted_at != NULL)
		return "deleted";
	if (pc->pr.key == NULL || strcmp(pc->pr.key, k) != 0)
		return "key_changed";
	if (jpath_string_is(&pc->spans[pc->p->slot_status], "terminated"))
		return "terminated";
	if (!pc->pr.active)
		return "inactive";
	return "ineligible";
}

static int
term_date(struct pc *pc, const char *reason, char date[11])
{
	struct feed_date d;
	struct buf b;
	int rc;

	snprintf(date, 11, "%s", pc->pl->as_of);
	if (!pc->have_pr)
		return 0;
	buf_init(&b, 64);
	if (jpath_text(&pc->spans[pc->p->slot_termdate], &b) == 1 &&
	    feed_date_parse(buf_str(&b), &d) == 0) {
		feed_date_str(&d, date, 11);
		buf_free(&b);
		return 0;
	}
	buf_free(&b);
	if (strcmp(reason, "deleted") == 0 && pc->pr.deleted_at != NULL &&
	    feed_date_parse(pc->pr.deleted_at, &d) == 0) {
		feed_date_str(&d, date, 11);
		return 0;
	}
	if (strcmp(reason, "inactive") == 0) {
		rc = store_feed_eval_deactivated(pc->ev, pc->pr.rid, date, 11);
		if (rc == STORE_NOTFOUND)
			snprintf(date, 11, "%s", pc->pl->as_of);
		else if (rc != STORE_OK) {
			*pc->cause = xstrdup("reading the history failed");
			return -1;
		}
	}
	return 0;
}

/*
 * A termination row carries the person's values now, so that the vendor
 * sees what ended the membership (the status "terminated", the new class),
 * when they can be written; else, and for a deleted person or a changed
 * key (whose row must name the old key), the values last sent. True when
 * e->vals are the current ones, already checked against the writer.
 */
static bool
term_vals(struct pc *pc, struct store_feed_entry *e)
{
	char *cause;

	e->vals = buf_str(&pc->old);
	if (!pc->have_pr || strcmp(e->term_reason, "deleted") == 0 ||
	    strcmp(e->term_reason, "key_changed") == 0 || pc_compute(pc) == -1)
		return false;
	e->vals = buf_str(&pc->vals);
	if (pc_fits(pc, FEED_OUT_TERM, e, &cause) == 0)
		return true;
	free(cause);
	e->vals = buf_str(&pc->old);
	return false;
}

/* An active member whose person is gone or no longer eligible. */
static int
pc_terminate(struct pc *pc, const char *k, const struct store_feed_member *m)
{
	struct store_feed_entry e;
	const char *reason;

	if (!pc->have_pr && pc_probe(pc, m->person_rid) == -1)
		return -1;
	reason = term_reason(pc, k);
	if (term_date(pc, reason, pc->term_date) == -1 ||
	    pc_old_vals(pc, k) == -1)
		return -1;
	snprintf(pc->term_reason, sizeof(pc->term_reason), "%s", reason);
	pc->sub_terminated = true;
	entry_init(&e, k, FEED_OUT_TERM, false);
	e.person_rid = pc->have_pr ? pc->pr.rid : m->person_rid;
	e.person_version = pc->have_pr ? pc->pr.version : m->person_version;
	e.term_date = pc->term_date;
	e.term_reason = pc->term_reason;
	pc->pl->counts.terms++;
	if (term_vals(pc, &e))
		return pc_emit(pc, FEED_OUT_TERM, &e, e.key, NULL);
	return stage(pc, FEED_OUT_TERM, &e);
}

/* An ineligible person with key k, looked at closely. */
static int
pc_ineligible(struct pc *pc, const char *k, const struct store_feed_person *p,
              const struct store_feed_member *m,
              const struct store_feed_excl *x)
{
	struct store_feed_entry e;

	if (m != NULL && m->active)
		return pc_terminate(pc, k, m);
	if (m != NULL) {
		/* Still terminated: remember the version looked at. */
		if (feed_plan_in_lookback(pc->p, m->term_date, pc->pl->as_of))
			pc->pl->counts.lookback++;
		if (pc_old_vals(pc, k) == -1)
			return -1;
		entry_init(&e, k, FEED_OUT_SAME, false);
		e.person_rid = p->rid;
		e.person_version = p->version;
		e.vals = buf_str(&pc->old);
		e.term_date = m->term_date;
		e.term_reason = m->term_reason;
		return stage(pc, FEED_OUT_SAME, &e);
	}
	pc->pl->counts.excluded++;
	if (x != NULL && x->rid == p->rid && x->version == p->version)
		return 0;
	entry_init(&e, k, FEED_OUT_EXCLUDE, false);
	e.person_rid = p->rid;
	e.person_version = p->version;
	return stage(pc, FEED_OUT_EXCLUDE, &e);
}

/* A live person whose eligibility the state already settles. */
static bool
pc_cached(struct pc *pc, const struct store_feed_person *p,
          const struct store_feed_member *m, const struct store_feed_excl *x)
{
	struct feed_plan_counts *c = &pc->pl->counts;

	if (!pc->rule_ok)
		return false;
	if (m != NULL && m->person_rid == p->rid &&
	    m->person_version == p->version) {
		if (m->active && pc->vals_ok) {
			c->unchanged++;
			c->roster_after++;
			pc->active_after = true;
			return true;
		}
		if (!m->active) {
			if (feed_plan_in_lookback(pc->p, m->term_date,
			                          pc->pl->as_of))
				c->lookback++;
			return true;
		}
		return false;
	}
	if (m == NULL && x != NULL && x->rid == p->rid &&
	    x->version == p->version) {
		c->excluded++;
		return true;
	}
	return false;
}

/* Everything known about one subscriber key. */
static int
pc_key(struct pc *pc, const char *k, const struct store_feed_person *p,
       const struct store_feed_member *m, const struct store_feed_excl *x)
{
	struct store_feed_entry e;

	pc->have_pr = false;
	pc->sub_key = k;
	pc->sub_rid = p != NULL ? p->rid : 0;
	pc->sub_version = p != NULL ? p->version : 0;
	pc->active_after = false;
	pc->sub_terminated = false;
	if (m != NULL && m->active)
		pc->pl->counts.roster_before++;
	if (p != NULL) {
		pc->pl->counts.people++;
		if (pc_cached(pc, p, m, x))
			return 0;
		if (pc_probe(pc, p->rid) == -1)
			return -1;
		if (pc->have_pr && pc->pr.eligible)
			return pc_eligible(pc, k, m, pc->pr.rid,
			                   pc->pr.version);
		return pc_ineligible(pc, k, p, m, x);
	}
	if (m != NULL && m->active)
		return pc_terminate(pc, k, m);
	if (m != NULL &&
	    feed_plan_in_lookback(pc->p, m->term_date, pc->pl->as_of))
		pc->pl->counts.lookback++;
	if (x == NULL)
		return 0;
	entry_init(&e, k, FEED_OUT_UNEXCLUDE, false);
	e.person_rid = x->rid;
	e.person_version = x->version;
	return stage(pc, FEED_OUT_UNEXCLUDE, &e);
}

/* Dependents. */

static int
dep_cmp(const void *a, const void *b)
{
	const struct dep_ent *x = a, *y = b;

	if (x->emp != y->emp)
		return x->emp < y->emp ? -1 : 1;
	return strcmp(x->key, y->key);
}

static uint64_t
fnv1a(uint64_t h, const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return (h ^ 0xff) * 0x100000001b3ULL;
}

static int
dep_collect(const struct store_hris_dependent *d, void *arg)
{
	struct pc *pc = arg;
	struct dep_ent *e;

	/* A key the separator or a control character would confuse. */
	if (d->key == NULL || *d->key == '\0' ||
	    strpbrk(d->key, "\x1d\x1f\n\r") != NULL)
		return 0;
	if (pc->ndeps == pc->capdeps) {
		pc->capdeps = pc->capdeps ? pc->capdeps * 2 : 1024;
		pc->deps = xrealloc(pc->deps, pc->capdeps * sizeof(*pc->deps));
	}
	e = &pc->deps[pc->ndeps++];
	e->emp = d->employee_rid;
	e->id = d->id;
	/* Every field, not just modified: two edits may share a stamp. */
	e->fp = 0xcbf29ce484222325ULL;
	e->fp = fnv1a(fnv1a(e->fp, d->modified), d->key);
	e->fp = fnv1a(fnv1a(e->fp, d->relationship), d->first_name);
	e->fp = fnv1a(fnv1a(e->fp, d->middle_name), d->last_name);
	e->fp = fnv1a(fnv1a(e->fp, d->birth_date), d->gender);
	e->key = xstrdup(d->key);
	return 0;
}

static int
deps_load(struct pc *pc)
{
	if (store_hris_dep_walk(pc->pl->st, pc->pl->tenant_id, 0, dep_collect,
	                        pc) != STORE_OK) {
		*pc->cause = xstrdup("reading the dependents failed");
		return -1;
	}
	if (pc->ndeps > 1)
		qsort(pc->deps, pc->ndeps, sizeof(*pc->deps), dep_cmp);
	return 0;
}

/* The first dependent of subscriber rid, and how many there are. */
static const struct dep_ent *
deps_of(const struct pc *pc, int64_t rid, size_t *n)
{
	size_t lo = 0, hi = pc->ndeps, mid;

	*n = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (pc->deps[mid].emp < rid)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo + *n < pc->ndeps && pc->deps[lo + *n].emp == rid)
		(*n)++;
	return *n > 0 ? &pc->deps[lo] : NULL;
}

/*
 * What the state records as a dependent's version: its row as last
 * modified and its subscriber's version, whose attributes it shares.
 */
static int64_t
dep_version(const struct dep_ent *d, int64_t sub_version)
{
	uint64_t v = d->fp ^ ((uint64_t)sub_version * 0x9e3779b97f4a7c15ULL);

	return (int64_t)(v >> 2);
}

static void
dfull_clear(struct pc *pc)
{
	size_t i;

	for (i = 0; i < pc->ndfull; i++)
		store_hris_dep_clear(&pc->dfull[i]);
	free(pc->dfull);
	pc->dfull = NULL;
	pc->ndfull = 0;
	pc->dfull_rid = 0;
}

static char *
dupn(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static int
dfull_add(const struct store_hris_dependent *d, void *arg)
{
	struct pc *pc = arg;
	struct store_hris_dependent *c;

	pc->dfull = xrealloc(pc->dfull, (pc->ndfull + 1) * sizeof(*pc->dfull));
	c = &pc->dfull[pc->ndfull++];
	memset(c, 0, sizeof(*c));
	c->id = d->id;
	c->key = dupn(d->key);
	c->relationship = dupn(d->relationship);
	c->first_name = dupn(d->first_name);
	c->middle_name = dupn(d->middle_name);
	c->last_name = dupn(d->last_name);
	c->birth_date = dupn(d->birth_date);
	c->gender = dupn(d->gender);
	return 0;
}

/* The full row of dependent d of the current subscriber. */
static const struct store_hris_dependent *
dfull_get(struct pc *pc, const struct dep_ent *d)
{
	size_t i;

	if (pc->dfull_rid != d->emp) {
		dfull_clear(pc);
		if (store_hris_dep_walk(pc->pl->st, pc->pl->tenant_id, d->emp,
		                        dfull_add, pc) != STORE_OK) {
			*pc->cause = xstrdup("reading the dependents failed");
			return NULL;
		}
		pc->dfull_rid = d->emp;
	}
	for (i = 0; i < pc->ndfull; i++)
		if (pc->dfull[i].id == d->id)
			return &pc->dfull[i];
	*pc->cause = xstrdup("a dependent changed while planning");
	return NULL;
}

/*
 * Dependent d of the current subscriber as fd, its name in pc->name: 1,
 * or 0 when the subscriber is gone, -1 on a store error.
 */
static int
dep_bind(struct pc *pc, const struct dep_ent *d, struct feed_dependent *fd)
{
	const struct store_hris_dependent *row;

	if ((!pc->have_pr || pc->pr.rid != pc->sub_rid) &&
	    pc_probe(pc, pc->sub_rid) == -1)
		return -1;
	if (!pc->have_pr)
		return 0;
	if ((row = dfull_get(pc, d)) == NULL)
		return -1;
	fd->key = row->key;
	fd->relationship = row->relationship;
	fd->first_name = row->first_name;
	fd->middle_name = row->middle_name;
	fd->last_name = row->last_name;
	fd->birth_date = row->birth_date;
	fd->gender = row->gender;
	buf_reset(&pc->name);
	buf_addf(&pc->name, "%s %s", row->first_name ? row->first_name : "",
	         row->last_name ? row->last_name : "");
	return 1;
}

/* An eligible subscriber's dependent d, known to the state as m or not. */
static int
pc_dep_eligible(struct pc *pc, const char *dk, const struct dep_ent *d,
                const struct store_feed_member *m)
{
	struct feed_dependent fd;
	int64_t v = dep_version(d, pc->sub_version);
	int rc;

	if (pc->rule_ok && pc->vals_ok && m != NULL && m->active &&
	    m->person_rid == d->id && m->person_version == v) {
		pc->pl->counts.unchanged++;
		pc->pl->counts.roster_after++;
		return 0;
	}
	if ((rc = dep_bind(pc, d, &fd)) != 1)
		return rc;
	pc->dep = &fd;
	pc->display = buf_str(&pc->name);
	rc = pc_eligible(pc, dk, m, d->id, v);
	pc->dep = NULL;
	pc->display = NULL;
	return rc;
}

/*
 * A dependent leaving with its subscriber carries its values as they are
 * now, as the subscriber's row does (term_vals()): 1 when e->vals are
 * those, already checked against the writer; 0 keeps the last sent.
 */
static int
dep_term_vals(struct pc *pc, const struct dep_ent *d,
              struct store_feed_entry *e)
{
	struct feed_dependent fd;
	char *cause;
	int rc;

	if ((rc = dep_bind(pc, d, &fd)) != 1)
		return rc;
	pc->dep = &fd;
	rc = pc_compute(pc);
	pc->dep = NULL;
	if (rc == -1)
		return 0;
	e->vals = buf_str(&pc->vals);
	if (pc_fits(pc, FEED_OUT_TERM, e, &cause) == 0)
		return 1;
	free(cause);
	e->vals = buf_str(&pc->old);
	return 0;
}

/* A dependent member leaving: with its subscriber, or removed (d NULL). */
static int
pc_dep_terminate(struct pc *pc, const char *dk, const struct dep_ent *d,
                 const struct store_feed_member *m)
{
	struct store_feed_entry e;
	int rc = 0;

	if (pc_old_vals(pc, dk) == -1)
		return -1;
	entry_init(&e, dk, FEED_OUT_TERM, false);
	e.person_rid = m->person_rid;
	e.person_version = m->person_version;
	e.vals = buf_str(&pc->old);
	if (pc->sub_terminated) {
		e.term_reason = pc->term_reason;
		e.term_date = pc->term_date;
	} else {
		e.term_reason = d != NULL ? "ineligible" : "dependent_removed";
		e.term_date = pc->pl->as_of;
	}
	pc->pl->counts.terms++;
	if (d != NULL && pc->sub_terminated &&
	    (rc = dep_term_vals(pc, d, &e)) == -1)
		return -1;
	if (rc == 1)
		return pc_emit(pc, FEED_OUT_TERM, &e, e.key, NULL);
	return stage(pc, FEED_OUT_TERM, &e);
}

/* One dependent key of the current subscriber: listed as d, sent as m. */
static int
pc_dep(struct pc *pc, const char *dkey, const struct dep_ent *d,
       const struct store_feed_member *m, bool sub_active)
{
	if (m != NULL && m->active)
		pc->pl->counts.roster_before++;
	if (sub_active && d != NULL)
		return pc_dep_eligible(pc, dkey, d, m);
	if (m != NULL && m->active)
		return pc_dep_terminate(pc, dkey, d, m);
	if (m != NULL &&
	    feed_plan_in_lookback(pc->p, m->term_date, pc->pl->as_of))
		pc->pl->counts.lookback++;
	return 0;
}

/*
 * A key no file can carry: the dependents' separator, or any other
 * control character. Those below the separator would also sort between
 * a subscriber ("E1") and its dependents ("E1" FEED_DEP_SEP "SP"), which
 * the members stream must hold right after it.
 */
static bool
key_unsendable(const char *k)
{
	for (; *k != '\0'; k++)
		if ((unsigned char)*k < 0x20)
			return true;
	return false;
}

static void
pc_done(struct pc *pc, const char *key, const struct store_feed_member *m)
{
	if (pc->pl->key_done != NULL)
		pc->pl->key_done(key, m, pc->pl->arg);
}

/* The three cursors and their current rows. */
struct streams {
	struct store_feed_cur *pc, *mc, *xc;
	struct store_feed_person p;
	struct store_feed_member m;
	struct store_feed_excl x;
	int hp, hm, hx; /* 1: a row is current; 0: ended; <0: error */
};

static const char *
min_key(const struct streams *s)
{
	const char *k = NULL;

	if (s->hp == 1)
		k = s->p.key;
	if (s->hm == 1 && (k == NULL || strcmp(s->m.key, k) < 0))
		k = s->m.key;
	if (s->hx == 1 && (k == NULL || strcmp(s->x.key, k) < 0))
		k = s->x.key;
	return k;
}

/*
 * The people sharing key k: the one the state already knows wins, else
 * the first (lowest rid); the others are reported as duplicates.
 */
static int
take_people(struct pc *pc, struct streams *s, const char *k, bool have_m,
            struct store_feed_person *chosen, bool *found)
{
	*found = false;
	while (s->hp == 1 && strcmp(s->p.key, k) == 0) {
		if (!*found || (have_m && s->p.rid == s->m.person_rid &&
		                chosen->rid != s->m.person_rid)) {
			if (*found) {
				pc->pl->counts.duplicates++;
				if (pc_emit(pc, FEED_OUT_DUPLICATE, NULL, k,
				            NULL) == -1)
					return -1;
			}
			*chosen = s->p;
			*found = true;
		} else {
			pc->pl->counts.duplicates++;
			if (pc_emit(pc, FEED_OUT_DUPLICATE, NULL, k, NULL) ==
			    -1)
				return -1;
		}
		s->hp = store_feed_people_next(s->pc, &s->p);
	}
	return s->hp < 0 ? -1 : 0;
}

/*
 * The dependents of subscriber key k (rid, or 0 when no person has the
 * key any more) merged with the members k + FEED_DEP_SEP + ..., which the
 * members stream holds right after k.
 */
static int
pc_deps(struct pc *pc, struct streams *s, const char *k, int64_t rid)
{
	const struct dep_ent *d = NULL;
	bool sub_active = pc->active_after;
	size_t n = 0, i = 0, klen = strlen(k);
	const char *mk;
	int cmp;

	if (rid != 0)
		d = deps_of(pc, rid, &n);
	for (;;) {
		mk = s->hm == 1 && strncmp(s->m.key, k, klen) == 0 &&
		             s->m.key[klen] == FEED_DEP_SEP
		         ? s->m.key + klen + 1
		         : NULL;
		if (mk == NULL && i == n)
			return s->hm < 0 ? -1 : 0;
		cmp = mk == NULL ? 1 : i == n ? -1 : strcmp(mk, d[i].key);
		buf_reset(&pc->dkey);
		buf_addf(&pc->dkey, "%s%c%s", k, FEED_DEP_SEP,
		         cmp < 0 ? mk : d[i].key);
		if (pc_dep(pc, buf_str(&pc->dkey), cmp >= 0 ? &d[i] : NULL,
		           cmp <= 0 ? &s->m : NULL, sub_active) == -1)
			return -1;
		pc_done(pc, buf_str(&pc->dkey), cmp <= 0 ? &s->m : NULL);
		if (cmp <= 0)
			s->hm = store_feed_members_next(s->mc, &s->m);
		if (cmp >= 0)
			i++;
	}
}

static int
merge_step(struct pc *pc, struct streams *s)
{
	struct store_feed_person chosen;
	const char *k;
	bool have_m, have_x, found, odd;
	int rc;

	pc->have_pr = false;
	k = min_key(s);
	buf_reset(&pc->key);
	buf_addstr(&pc->key, k);
	k = buf_str(&pc->key);
	have_m = s->hm == 1 && strcmp(s->m.key, k) == 0;
	have_x = s->hx == 1 && strcmp(s->x.key, k) == 0;
	if (take_people(pc, s, k, have_m, &chosen, &found) == -1) {
		if (*pc->cause == NULL)
			*pc->cause = xstrdup("reading people failed");
		return -1;
	}
	if ((odd = key_unsendable(k))) {
		/* A dependent whose subscriber the state lost, or a person
		 * whose key holds the separator or another control
		 * character: neither can be sent. */
		pc->pl->counts.no_key += found;
		found = false;
		pc->active_after = false;
		pc->sub_terminated = false;
		rc = have_m ? pc_dep(pc, k, NULL, &s->m, false) : 0;
	} else {
		if (found)
			chosen.key = k;
		rc = pc_key(pc, k, found ? &chosen : NULL,
		            have_m ? &s->m : NULL, have_x ? &s->x : NULL);
	}
	if (rc == -1)
		return -1;
	/* An odd key with no member writes nothing, and would come out
	 * of key order after the dependents before it. */
	if (!odd || have_m)
		pc_done(pc, k, have_m ? &s->m : NULL);
	if (have_m)
		s->hm = store_feed_members_next(s->mc, &s->m);
	if (have_x)
		s->hx = store_feed_excluded_next(s->xc, &s->x);
	if (rc == 0 && !odd && pc_deps(pc, s, k, found ? chosen.rid : 0) == -1)
		return -1;
	if (s->hm < 0 || s->hx < 0) {
		*pc->cause = xstrdup("reading the feed state failed");
		return -1;
	}
	if (found && pc->pl->progress != NULL &&
	    pc->pl->counts.people % FEED_PROGRESS_EVERY == 0)
		pc->pl->progress(pc->pl->counts.people, pc->pl->arg);
	return 0;
}

static int
merge(struct pc *pc)
{
	struct feed_plan *pl = pc->pl;
	struct streams s;
	int rc = -1;

	memset(&s, 0, sizeof(s));
	s.pc = store_feed_people_open(pl->st, pl->tenant_id, &pc->p->key,
	                              pc->cause);
	s.mc =
	    store_feed_members_open(pl->st, pc->p->name, pl->key_done != NULL);
	s.xc = store_feed_excluded_open(pl->st, pc->p->name);
	if (s.pc == NULL || s.mc == NULL || s.xc == NULL) {
		if (*pc->cause == NULL)
			*pc->cause = xstrdup("cannot read the feed state");
		goto out;
	}
	s.hp = store_feed_people_next(s.pc, &s.p);
	s.hm = store_feed_members_next(s.mc, &s.m);
	s.hx = store_feed_excluded_next(s.xc, &s.x);
	while (s.hp >= 0 && s.hm >= 0 && s.hx >= 0 &&
	       (s.hp == 1 || s.hm == 1 || s.hx == 1))
		if (merge_step(pc, &s) == -1)
			goto out;
	if (s.hp < 0 || s.hm < 0 || s.hx < 0) {
		*pc->cause = xstrdup("reading the feed state failed");
		goto out;
	}
	rc = 0;
out:
	store_feed_cur_close(s.pc);
	store_feed_cur_close(s.mc);
	store_feed_cur_close(s.xc);
	return rc;
}

/* A writer for pc_check(); without one (no /dev/null) nothing is checked. */
static void
check_writer(struct pc *pc)
{
	struct fmt_run fr = {"20000101", "0000", "1", 1, 1, "0001"};
	char *cause = NULL;

	fmt_writer_free(pc->vw);
	pc->vw = NULL;
	if (pc->devnull == NULL)
		return;
	pc->vopts = pc->p->fmt;
	pc->vopts.full_file = false;
	pc->vw = fmt_writer_new(&pc->vopts, &fr, pc->devnull, &cause);
	free(cause);
}

static void
check_open(struct pc *pc)
{
	feed_rec_init(&pc->vrec, pc->p);
	pc->devnull = fopen("/dev/null", "we");
	check_writer(pc);
}

static void
check_close(struct pc *pc)
{
	fmt_writer_free(pc->vw);
	if (pc->devnull != NULL)
		fclose(pc->devnull);
	feed_rec_free(&pc->vrec);
}

static bool
same_hash(const char *stored, const char *now)
{
	return stored != NULL && strcmp(stored, now) == 0;
}

int
feed_plan_run(struct feed_plan *pl, char **cause)
{
	const struct feed_profile *p = pl->p;
	struct pc pc;
	int64_t nokey = 0;
	int rc = -1;

	memset(&pl->counts, 0, sizeof(pl->counts));
	memset(&pc, 0, sizeof(pc));
	*cause = NULL;
	pc.pl = pl;
	pc.p = p;
	pc.cause = cause;
	pc.rule_ok = same_hash(pl->fs->rule_hash, p->rule_hash);
	pc.vals_ok = same_hash(pl->fs->values_hash, p->values_hash);
	pc.old_index = feed_record_layout_map(p, pl->fs->layout);
	pc.spans = xcalloc(jpath_count(p->paths) + 1, sizeof(*pc.spans));
	buf_init(&pc.vals, 0);
	buf_init(&pc.old, 0);
	buf_init(&pc.changed, 0);
	buf_init(&pc.err, 0);
	buf_init(&pc.key, 0);
	buf_init(&pc.name, 0);
	buf_init(&pc.dkey, 0);
	check_open(&pc);
	if (store_feed_read_begin(pl->st) != STORE_OK) {
		*cause = xstrdup("cannot read the store");
		goto out;
	}
	pc.ev = store_feed_eval_open(pl->st, pl->tenant_id, p->filter, &p->key,
	                             cause);
	/* Eligible people without the key, and (merge) those whose key no
	 * file can carry. */
	if (pc.ev != NULL && deps_load(&pc) == 0 && merge(&pc) == 0 &&
	    store_feed_eval_nokey(pc.ev, &nokey) == STORE_OK) {
		pl->counts.no_key += nokey;
		rc = 0;
	} else if (*cause == NULL)
		*cause = xstrdup("the plan failed");
	store_feed_eval_close(pc.ev);
	if (store_feed_read_end(pl->st) != STORE_OK && rc == 0) {
		*cause = xstrdup("cannot finish reading the store");
		rc = -1;
	}
out:
	free(pc.old_index);
	free(pc.spans);
	buf_free(&pc.vals);
	buf_free(&pc.old);
	buf_free(&pc.changed);
	buf_free(&pc.err);
	buf_free(&pc.key);
	buf_free(&pc.name);
	buf_free(&pc.dkey);
	for (size_t i = 0; i < pc.ndeps; i++)
		free(pc.deps[i].key);
	free(pc.deps);
	dfull_clear(&pc);
	check_close(&pc);
	return rc;
}
