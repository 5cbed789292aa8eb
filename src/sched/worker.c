/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* The delivery worker thread: schedules, off-cycle files, deliveries. */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cfg/cfg.h"
#include "deliver/deliver.h"
#include "feed/profile.h"
#include "feed/record.h"
#include "feed/run.h"
#include "sched/debounce.h"
#include "sched/worker.h"
#include "store/store.h"
#include "store/store_feed.h"
#include "store/store_sched.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "xfer/xfer.h"

#define WORKER_ACTOR "rosterd-scheduler"
#define WORKER_EVENTS_PER_TICK 2000
#define WORKER_CHECK_MS 2000            /* runs carrying terminations */
#define WORKER_CAP_LOOKBACK (3 * 86400) /* off-cycle runs for the cap */
#define WORKER_NICE 10

/* Pure parts. */

enum worker_due
worker_schedule_due(const struct cron_expr *e, const struct cron_tz *tz,
                    int64_t seen, int64_t last_fire, time_t now, bool busy)
{
	time_t base = (time_t)(last_fire > seen ? last_fire : seen);

	if (e == NULL || !cron_missed(e, tz, base, now))
		return WORKER_DUE_NO;
	return busy ? WORKER_DUE_WAIT : WORKER_DUE_FIRE;
}

enum worker_batch
worker_batch_decide(const struct worker_feed_status *s)
{
	if (s->never_sent)
		return WORKER_BATCH_DROP;
	if (s->busy)
		return WORKER_BATCH_DEFER;
	if (s->drift)
		return WORKER_BATCH_HOLD;
	return WORKER_BATCH_RENDER;
}

static struct worker_retry_ent *
retry_find(const struct worker_retry *r, const char *run)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->v[i].run, run) == 0)
			return &r->v[i];
	return NULL;
}

void
worker_retry_set(struct worker_retry *r, const char *run, int64_t not_before)
{
	struct worker_retry_ent *e = retry_find(r, run);

	if (e == NULL) {
		r->v = xrealloc(r->v, (r->n + 1) * sizeof(*r->v));
		e = &r->v[r->n++];
		e->run = xstrdup(run);
	}
	e->not_before = not_before;
}

void
worker_retry_clear(struct worker_retry *r, const char *run)
{
	struct worker_retry_ent *e = retry_find(r, run);

	if (e == NULL)
		return;
	free(e->run);
	*e = r->v[--r->n];
}

bool
worker_retry_ready(const struct worker_retry *r, const char *run,
                   int64_t now_ms)
{
	const struct worker_retry_ent *e = retry_find(r, run);

	return e == NULL || now_ms >= e->not_before;
}

void
worker_retry_prune(struct worker_retry *r, const char *const *runs)
{
	const char *const *s;
	size_t i = 0;

	while (i < r->n) {
		for (s = runs; s != NULL && *s != NULL; s++)
			if (strcmp(*s, r->v[i].run) == 0)
				break;
		if (s != NULL && *s != NULL) {
			i++;
			continue;
		}
		free(r->v[i].run);
		r->v[i] = r->v[--r->n];
	}
}

void
worker_retry_free(struct worker_retry *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->v[i].run);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

size_t
worker_pick(const char *const *runs, const char *const *feeds, size_t n,
            const struct worker_retry *r, int64_t now_ms, size_t *pick)
{
	size_t i, j, k = 0;
	bool older;

	for (i = 0; i < n; i++) {
		older = false;
		for (j = 0; j < i && !older; j++)
			older = strcmp(feeds[j], feeds[i]) == 0;
		if (!older && worker_retry_ready(r, runs[i], now_ms))
			pick[k++] = i;
	}
	return k;
}

enum worker_job
worker_next_job(const struct worker_feed_want *f)
{
	if (f->inflight)
		return WORKER_JOB_NONE;
	if (f->deliver)
		return WORKER_JOB_DELIVER;
	if (f->schedule)
		return WORKER_JOB_SCHEDULE;
	if (f->offcycle)
		return WORKER_JOB_OFFCYCLE;
	if (f->returns)
		return WORKER_JOB_RETURNS;
	return WORKER_JOB_NONE;
}

/* Dispatch class: 0 first. */
static int
job_class(enum worker_job j)
{
	switch (j) {
	case WORKER_JOB_DELIVER:
	case WORKER_JOB_OFFCYCLE:
		return 0;
	case WORKER_JOB_SCHEDULE:
		return 1;
	case WORKER_JOB_RETURNS:
		return 2;
	case WORKER_JOB_NONE:
		break;
	}
	return -1;
}

size_t
worker_lane_plan(const enum worker_job *jobs, size_t n, size_t lanes,
                 size_t start, size_t *pick)
{
	size_t k = 0, i, j;
	int c;

	for (c = 0; c < 3; c++)
		for (j = 0; j < n && k < lanes; j++) {
			i = (start + j) % n;
			if (job_class(jobs[i]) == c)
				pick[k++] = i;
		}
	return k;
}

static bool
digits(const char *s, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

int
worker_time_ms(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, sec, frac = 0;
	struct tm tm;
	size_t len;

	if (s == NULL || (len = strlen(s)) < 20)
		return -1;
	if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) || s[10] != 'T' ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) ||
	    s[16] != ':' || !digits(s + 17, 2, &sec))
		return -1;
	if (len == 24 && s[19] == '.' && digits(s + 20, 3, &frac) &&
	    s[23] == 'Z')
		;
	else if (len != 20 || s[19] != 'Z')
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*ms = (int64_t)timegm(&tm) * 1000 + frac;
	return 0;
}

void
worker_time_iso(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	         tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* The worker. */

/* Resource row ids of a batch taken but not rendered yet. */
struct wrids {
	int64_t *v;
	size_t n;
};

/*
 * One delivery entry with its profile. conf and p are read-only once the
 * worker runs (lanes read them); everything else belongs to the
 * scheduler's thread.
 */
struct wfeed {
	const struct deliver_feed *conf;
	const struct feed_profile *p;
	int64_t tenant_id; /* 0 until the tenant exists */
	bool tenant_warned;
	bool eval_warned;
	/* [0] schedule, [1] full_schedule (mode: both) */
	struct wsched {
		const struct cron_expr *cron;
		bool loaded;
		int64_t seen, last_fire;
	} sched[2];
	bool wait_logged;
	bool due[2];           /* the schedules due (this tick) */
	bool undelivered;      /* a rendered run awaits delivery (this tick) */
	const char *next_run;  /* its oldest, when it may be tried now */
	struct wrids deferred; /* due, but the feed was busy */
	int64_t returns_next;  /* monotonic ms */
	enum worker_job inflight; /* the feed's job on a lane, or NONE */
};

struct worker;

/*
 * One job of one feed, handed to a lane. The scheduler fills the input
 * before it hands the job over (under the worker's mutex) and reads the
 * results after the lane hands it back; in between only the lane
 * touches it.
 */
struct wjob {
	enum worker_job kind;
	struct wfeed *f; /* the lane reads f->conf and f->p only */
	int64_t tenant_id;
	char *run;         /* DELIVER */
	bool full;         /* SCHEDULE: a full file */
	time_t now;        /* SCHEDULE, OFFCYCLE */
	struct wrids rids; /* OFFCYCLE: the batch, taken from f->deferred */
	/* results */
	int rc;            /* DELIVER: deliver_run()'s */
	int64_t retry_in;  /* DELIVER: ms, when rc is 1 */
	bool keep;         /* OFFCYCLE: not rendered; give the batch back */
	bool nofile;       /* OFFCYCLE: settled without a file */
	struct wjob *next; /* on the done list */
};

/* A lane: a thread with its own store connection, one job at a time. */
struct wlane {
	struct worker *w;
	pthread_t thread;
	bool started;
	struct store *st;
	struct wjob *job; /* under w->mu: set by the scheduler, NULL: idle */
};

struct worker {
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;      /* wakes the scheduler: stop, a job done */
	pthread_cond_t lane_cv; /* wakes the lanes: stop, a job handed over */
	bool stop;              /* under mu */
	struct wjob *done;      /* under mu: jobs the lanes finished */
	/* read-only once started */
	struct feed_profiles *profiles;
	struct deliver_config *dc;
	char *data_dir;
	char *outbox;
	struct deliver_env env;
	struct debounce *deb; /* has its own mutex: lanes use it too */
	struct wlane *lanes;
	size_t nlanes;
	/* the scheduler's own */
	struct store *st;
	struct wfeed *feeds;
	size_t nfeeds;
	struct worker_retry retry;
	char **pending; /* deliver_pending() of this tick */
	int64_t next_check;
	size_t rr; /* where the next dispatch starts among the feeds */
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool
worker_stopping(struct worker *w)
{
	bool stop;

	pthread_mutex_lock(&w->mu);
	stop = w->stop;
	pthread_mutex_unlock(&w->mu);
	return stop;
}

static struct wfeed *
feed_find(struct worker *w, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < w->nfeeds; i++)
		if (strcmp(w->feeds[i].p->name, name) == 0)
			return &w->feeds[i];
	return NULL;
}

static void
rids_add(struct wrids *r, int64_t rid)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->v[i] == rid)
			return;
	r->v = xrealloc(r->v, (r->n + 1) * sizeof(*r->v));
	r->v[r->n++] = rid;
}

static void
rids_clear(struct wrids *r)
{
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* The feeds' tenants, looked up until they exist. */
static void
resolve_tenants(struct worker *w)
{
	struct store_tenant t;
	struct wfeed *f;
	size_t i;
	int rc;

	for (i = 0; i < w->nfeeds; i++) {
		f = &w->feeds[i];
		if (f->tenant_id != 0)
			continue;
		rc = store_tenant_get(w->st, f->p->tenant, &t);
		if (rc == STORE_OK) {
			f->tenant_id = t.id;
			store_tenant_clear(&t);
		} else if (!f->tenant_warned) {
			log_warnx("worker: feed %s: tenant %s %s; waiting",
			          f->p->name, f->p->tenant,
			          rc == STORE_NOTFOUND ? "does not exist"
			                               : "cannot be read");
			f->tenant_warned = true;
		}
	}
}

/* Does the feed have a run in flight (unfinished or undelivered)? */
static bool
feed_busy(struct worker *w, struct wfeed *f, struct worker_feed_status *s)
{
	struct store_feed_state fs;

	memset(s, 0, sizeof(*s));
	s->busy = f->undelivered;
	if (store_feed_state_get(w->st, f->p->name, &fs) != STORE_OK) {
		s->busy = true; /* try again next tick */
		return true;
	}
	s->busy |= fs.active_run != NULL;
	s->never_sent = fs.layout_hash == NULL;
	s->drift = fs.layout_hash != NULL &&
	           (fs.rule_hash == NULL ||
	            strcmp(fs.rule_hash, f->p->rule_hash) != 0 ||
	            fs.values_hash == NULL ||
	            strcmp(fs.values_hash, f->p->values_hash) != 0 ||
	            strcmp(fs.layout_hash, f->p->layout_hash) != 0);
	store_feed_state_clear(&fs);
	return s->busy;
}

/* Step 1: captured terminations of people a feed sent as active. */

struct ev {
	int64_t id, tenant_id, rid;
	char *event_at, *received_at;
};

struct evs {
	struct ev *v;
	size_t n;
};

static int
ev_collect(const struct store_sched_event *e, void *arg)
{
	struct evs *es = arg;
	struct ev *c;

	es->v = xrealloc(es->v, (es->n + 1) * sizeof(*es->v));
	c = &es->v[es->n++];
	c->id = e->id;
	c->tenant_id = e->tenant_id;
	c->rid = e->rid;
	c->event_at = xstrdup(e->event_at);
	c->received_at = xstrdup(e->received_at);
	return 0;
}

static void
evs_free(struct evs *es)
{
	size_t i;

	for (i = 0; i < es->n; i++) {
		free(es->v[i].event_at);
		free(es->v[i].received_at);
	}
	free(es->v);
}

/*
 * Was the person last sent to the feed as an active member? Returns
 * their member key (caller frees) or NULL.
 */
static char *
sent_active(struct store_feed_eval *ev, const char *feed, int64_t rid)
{
	struct store_feed_probe pr;
	struct store_feed_member m;
	char *key;

	if (store_feed_eval_person(ev, rid, &pr) != STORE_OK || pr.key == NULL)
		return NULL;
	key = xstrdup(pr.key);
	if (store_feed_eval_member(ev, feed, key, &m) == STORE_OK && m.active &&
	    m.person_rid == rid)
		return key;
	free(key);
	return NULL;
}

struct cand {
	struct wfeed *f;
	const struct ev *e;
	char *key;
	bool added;
};

/*
 * Which (feed, event) pairs concern an active member: the count, or -1
 * when a feed cannot be read (the events then stay for the next tick).
 */
static ssize_t
ingest_match(struct worker *w, const struct evs *es, struct cand **out)
{
	struct store_feed_eval *ev;
	struct cand *c = NULL;
	struct wfeed *f;
	char *cause = NULL, *key;
	size_t i, j, n = 0;

	for (i = 0; i < w->nfeeds; i++) {
		f = &w->feeds[i];
		if (!f->conf->offcycle || f->tenant_id == 0)
			continue;
		ev = store_feed_eval_open(w->st, f->tenant_id, f->p->filter,
		                          &f->p->key, &cause);
		if (ev == NULL) {
			if (!f->eval_warned)
				log_warnx("worker: feed %s: %s", f->p->name,
				          cause != NULL ? cause
				                        : "cannot read people");
			f->eval_warned = true;
			free(cause);
			for (j = 0; j < n; j++)
				free(c[j].key);
			free(c);
			*out = NULL;
			return -1;
		}
		f->eval_warned = false;
		for (j = 0; j < es->n; j++) {
			if (es->v[j].tenant_id != f->tenant_id ||
			    (key = sent_active(ev, f->p->name, es->v[j].rid)) ==
			        NULL)
				continue;
			c = xrealloc(c, (n + 1) * sizeof(*c));
			c[n].f = f;
			c[n].e = &es->v[j];
			c[n].key = key;
			c[n++].added = false;
		}
		store_feed_eval_close(ev);
	}
	*out = c;
	return (ssize_t)n;
}

/* Record the pending terminations and consume the events, atomically. */
static int
ingest_commit(struct worker *w, struct cand *c, size_t n, int64_t upto)
{
	struct store_sched_pending p;
	size_t i;

	if (store_begin(w->st) != STORE_OK)
		return -1;
	for (i = 0; i < n; i++) {
		memset(&p, 0, sizeof(p));
		p.feed = c[i].f->p->name;
		p.rid = c[i].e->rid;
		p.event_at = c[i].e->event_at;
		p.received_at = c[i].e->received_at;
		if (store_sched_pending_add(w->st, &p, &c[i].added) != STORE_OK)
			goto fail;
	}
	if (store_sched_events_delete(w->st, upto) != STORE_OK ||
	    store_commit(w->st) != STORE_OK)
		goto fail;
	return 0;
fail:
	store_rollback(w->st);
	return -1;
}

static void
debounce_add_rid(struct worker *w, const char *feed, int64_t rid,
                 const char *event_at, const char *received_at)
{
	int64_t ev_ms, rx_ms;
	char person[24];

	if (worker_time_ms(event_at, &ev_ms) == -1)
		ev_ms = wall_ms();
	if (worker_time_ms(received_at, &rx_ms) == -1)
		rx_ms = ev_ms;
	snprintf(person, sizeof(person), "%" PRId64, rid);
	debounce_add(w->deb, feed, person, (time_t)(ev_ms / 1000),
	             (time_t)(rx_ms / 1000));
}

static void
worker_ingest(struct worker *w)
{
	struct cand *c = NULL;
	struct evs es;
	size_t i, n;
	ssize_t got;

	memset(&es, 0, sizeof(es));
	if (store_sched_events_list(w->st, 0, WORKER_EVENTS_PER_TICK,
	                            ev_collect, &es) != STORE_OK ||
	    es.n == 0) {
		evs_free(&es);
		return;
	}
	if ((got = ingest_match(w, &es, &c)) == -1) {
		evs_free(&es);
		return;
	}
	n = (size_t)got;
	if (ingest_commit(w, c, n, es.v[es.n - 1].id) == 0)
		for (i = 0; i < n; i++) {
			if (!c[i].added)
				continue;
			debounce_add_rid(w, c[i].f->p->name, c[i].e->rid,
			                 c[i].e->event_at, c[i].e->received_at);
			log_info("offcycle: feed %s: %s left at %s; off-cycle "
			         "file due in %u s",
			         c[i].f->p->name, c[i].key, c[i].e->event_at,
			         c[i].f->conf->offcycle_window_s);
		}
	for (i = 0; i < n; i++)
		free(c[i].key);
	free(c);
	evs_free(&es);
}

/* Lag: what a delivered run carried. */

struct lrow {
	char *feed;
	int64_t rid;
	char *event_at;
	bool carried; /* attached to the run, else waiting */
	char *key;    /* the member key the run terminated */
};

struct lrows {
	struct lrow *v;
	size_t n;
	bool carried;
};

static int
lrow_collect(const struct store_sched_pending *p, void *arg)
{
	struct lrows *l = arg;
	struct lrow *r;

	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	r = &l->v[l->n++];
	r->feed = xstrdup(p->feed);
	r->rid = p->rid;
	r->event_at = xstrdup(p->event_at);
	r->carried = l->carried;
	r->key = NULL;
	return 0;
}

static void
lrows_free(struct lrows *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].feed);
		free(l->v[i].event_at);
		free(l->v[i].key);
	}
	free(l->v);
}

/* Find which rows the run terminated, from its entries. */
static void
lag_match(struct store *st, const char *run_id, struct lrows *l)
{
	struct store_feed_entry e;
	struct store_feed_cur *cur;
	size_t i;

	if ((cur = store_feed_entries_open(st, run_id)) == NULL)
		return;
	while (store_feed_entries_next(cur, &e) == 1) {
		if (strcmp(e.action, "term") != 0 ||
		    strchr(e.key, FEED_DEP_SEP) != NULL)
			continue;
		for (i = 0; i < l->n; i++)
			if (l->v[i].rid == e.person_rid && l->v[i].key == NULL)
				l->v[i].key = xstrdup(e.key);
	}
	store_feed_cur_close(cur);
}

static int
lag_write(struct store *st, const char *run_id, const struct lrows *l,
          const char *kind, int64_t now, const char *now_iso)
{
	struct store_sched_lag g;
	int64_t ev;
	size_t i;

	if (store_begin(st) != STORE_OK)
		return -1;
	for (i = 0; i < l->n; i++) {
		if (l->v[i].key == NULL)
			continue;
		if (worker_time_ms(l->v[i].event_at, &ev) == -1)
			ev = now;
		memset(&g, 0, sizeof(g));
		g.feed = l->v[i].feed;
		g.run_id = run_id;
		g.person_key = l->v[i].key;
		g.rid = l->v[i].rid;
		g.kind = kind;
		g.event_at = l->v[i].event_at;
		g.delivered_at = now_iso;
		g.lag_ms = now - ev;
		if (store_sched_lag_add(st, &g) != STORE_OK ||
		    (!l->v[i].carried &&
		     store_sched_pending_drop(st, l->v[i].feed, l->v[i].rid) !=
		         STORE_OK))
			goto fail;
	}
	if (store_sched_pending_drop_run(st, run_id) != STORE_OK ||
	    store_commit(st) != STORE_OK)
		goto fail;
	return 0;
fail:
	store_rollback(st);
	return -1;
}

/*
 * A run was delivered: each termination it carried (or that was waiting
 * for its feed and the run happened to send) gets its lag recorded. Runs
 * on the thread that owns st (a lane, or the scheduler).
 */
static void
worker_delivered(struct worker *w, struct store *st, const char *run_id,
                 const char *feed)
{
	char now_iso[32], person[24];
	int64_t now = wall_ms();
	struct lrows l;
	bool off = false;
	size_t i;

	memset(&l, 0, sizeof(l));
	l.carried = true;
	store_sched_pending_of_run(st, run_id, lrow_collect, &l);
	l.carried = false;
	store_sched_pending_list(st, feed, true, lrow_collect, &l);
	if (l.n == 0) {
		lrows_free(&l);
		return;
	}
	lag_match(st, run_id, &l);
	store_sched_offcycle_run_is(st, run_id, &off);
	worker_time_iso(now, now_iso, sizeof(now_iso));
	if (lag_write(st, run_id, &l, off ? "offcycle" : "regular", now,
	              now_iso) == -1) {
		log_warnx("worker: run %s: recording termination lags failed",
		          run_id);
		lrows_free(&l);
		return;
	}
	for (i = 0; i < l.n; i++) {
		int64_t ev = now;

		if (l.v[i].key == NULL)
			continue;
		worker_time_ms(l.v[i].event_at, &ev);
		log_info("offcycle: feed %s: run %s delivered the termination "
		         "of %s (event %s), lag %" PRId64 " ms (%s)",
		         l.v[i].feed, run_id, l.v[i].key, l.v[i].event_at,
		         now - ev, off ? "off-cycle" : "regular run");
		snprintf(person, sizeof(person), "%" PRId64, l.v[i].rid);
		debounce_remove(w->deb, l.v[i].feed, person);
	}
	lrows_free(&l);
}

/* Step 2: deliveries. */

static size_t
strv_len(char **v)
{
	size_t n = 0;

	while (v != NULL && v[n] != NULL)
		n++;
	return n;
}

/*
 * The delivery queue of this tick: which feeds have a rendered run
 * waiting (undelivered), and for each the oldest run when its retry delay
 * has passed (next_run, borrowed from w->pending until the next tick).
 */
static void
worker_queue(struct worker *w)
{
	struct store_feed_run r;
	const char **rv, **fv;
	size_t *pick, i, n, m = 0, k;
	struct wfeed *f;
	char **runs;

	for (i = 0; i < w->nfeeds; i++) {
		w->feeds[i].undelivered = false;
		w->feeds[i].next_run = NULL;
	}
	deliver_list_free(w->pending);
	w->pending = runs = deliver_pending(w->st, w->dc);
	n = strv_len(runs);
	worker_retry_prune(&w->retry, (const char *const *)runs);
	if (n == 0)
		return;
	rv = xcalloc(n + 1, sizeof(*rv));
	fv = xcalloc(n + 1, sizeof(*fv));
	pick = xcalloc(n + 1, sizeof(*pick));
	for (i = 0; i < n; i++) {
		if (store_feed_run_get(w->st, runs[i], &r) != STORE_OK)
			continue;
		if ((f = feed_find(w, r.feed)) != NULL) {
			f->undelivered = true;
			rv[m] = runs[i];
			fv[m++] = f->p->name;
		}
		store_feed_run_clear(&r);
	}
	k = worker_pick(rv, fv, m, &w->retry, mono_ms(), pick);
	for (i = 0; i < k; i++)
		feed_find(w, fv[pick[i]])->next_run = rv[pick[i]];
	free(pick);
	free(fv);
	free(rv);
}

/* On a lane: try the feed's oldest run once. */
static void
job_deliver(struct wlane *l, struct wjob *j)
{
	struct worker *w = l->w;
	const char *feed = j->f->p->name;
	char *cause = NULL;

	j->rc =
	    deliver_run(l->st, w->dc, &w->env, j->run, &j->retry_in, &cause);
	if (j->rc == 0) {
		log_info("worker: feed %s: run %s delivered", feed, j->run);
		worker_delivered(w, l->st, j->run, feed);
	} else if (j->rc == 1) {
		log_info(
		    "worker: feed %s: run %s: %s; retrying in %" PRId64 " ms",
		    feed, j->run, cause != NULL ? cause : "not delivered yet",
		    j->retry_in);
	} else {
		log_warnx("worker: feed %s: run %s failed: %s", feed, j->run,
		          cause != NULL ? cause : "unknown error");
		/* The file never reached the vendor: no lag to record. */
		store_sched_pending_drop_run(l->st, j->run);
	}
	free(cause);
}

/* On the scheduler, once the lane is done: the retry book. */
static void
job_delivered(struct worker *w, const struct wjob *j)
{
	if (j->rc == 1)
		worker_retry_set(&w->retry, j->run, mono_ms() + j->retry_in);
	else
		worker_retry_clear(&w->retry, j->run);
}

/* Runs that carry terminations but left the delivery queue otherwise. */

static bool
in_pending(struct worker *w, const char *run)
{
	char **p;

	for (p = w->pending; p != NULL && *p != NULL; p++)
		if (strcmp(*p, run) == 0)
			return true;
	return false;
}

static int
run_collect(const char *run, void *arg)
{
	struct buf *b = arg;

	buf_add(b, run, strlen(run) + 1);
	return 0;
}

static void
check_run(struct worker *w, const char *id)
{
	struct store_feed_run r;
	int64_t retry_in;
	char *cause = NULL;
	struct wfeed *f;
	int rc;

	rc = store_feed_run_get(w->st, id, &r);
	if (rc == STORE_NOTFOUND) {
		store_sched_pending_drop_run(w->st, id);
		return;
	}
	if (rc != STORE_OK)
		return;
	f = feed_find(w, r.feed);
	if (store_feed_state_unfinished(r.state) || f == NULL ||
	    f->undelivered || f->inflight != WORKER_JOB_NONE) {
		/* Waiting for approval, or its feed's queue (or lane) will
		 * see it. */
	} else if (strcmp(r.state, STORE_FEED_REJECTED) == 0 ||
	           (strcmp(r.state, STORE_FEED_FAILED) == 0 &&
	            r.file_sha256 == NULL)) {
		/* Never written: the feed's state does not count them. */
		log_info("offcycle: feed %s: run %s was %s; its terminations "
		         "wait for the next scheduled run",
		         r.feed, id, r.state);
		store_sched_pending_release(w->st, id, true);
	} else if (strcmp(r.state, STORE_FEED_FAILED) == 0) {
		/* Written, then its delivery failed for good. */
		store_sched_pending_drop_run(w->st, id);
	} else {
		/* Delivered (or failed) while rosterd was down: ask. */
		rc = deliver_run(w->st, w->dc, &w->env, id, &retry_in, &cause);
		if (rc == 0)
			worker_delivered(w, w->st, id, r.feed);
		else if (rc == -1)
			store_sched_pending_drop_run(w->st, id);
		free(cause);
	}
	store_feed_run_clear(&r);
}

static void
worker_check_runs(struct worker *w)
{
	struct buf b;
	const char *id;

	buf_init(&b, 0);
	if (store_sched_pending_runs(w->st, run_collect, &b) == STORE_OK)
		for (id = b.data; id != NULL && id < b.data + b.len;
		     id += strlen(id) + 1)
			if (!in_pending(w, id))
				check_run(w, id);
	buf_free(&b);
}

/* Step 3: schedules. */

static void
render_opts(struct worker *w, struct feed_render_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->out_dir = w->outbox;
	o->want = FEED_WANT_PROFILE;
	o->actor = WORKER_ACTOR;
}

static int
requeue_cb(const struct store_sched_pending *p, void *arg)
{
	struct worker *w = arg;

	if (!p->hold)
		debounce_add_rid(w, p->feed, p->rid, p->event_at,
		                 p->received_at);
	return 0;
}

/* schedule_state's key: the feed, or "FEED#full" ('#' is no name's). */
static const char *
sched_key(const struct wfeed *f, int i, char *buf, size_t len)
{
	if (i == 0)
		return f->p->name;
	snprintf(buf, len, "%s#full", f->p->name);
	return buf;
}

static int
sched_load(struct worker *w, struct wfeed *f, int i, time_t now)
{
	struct wsched *ws = &f->sched[i];
	char buf[FEED_NAME_MAX + 8];
	const char *key;
	int rc;

	if (ws->loaded)
		return 0;
	key = sched_key(f, i, buf, sizeof(buf));
	rc = store_sched_schedule_get(w->st, key, &ws->seen, &ws->last_fire);
	if (rc == STORE_NOTFOUND) {
		ws->seen = now;
		ws->last_fire = 0;
		rc = store_sched_schedule_put(w->st, key, now, 0);
	}
	if (rc != STORE_OK)
		return -1;
	ws->loaded = true;
	return 0;
}

static int
sched_fired(struct worker *w, struct wfeed *f, int i, time_t now)
{
	struct wsched *ws = &f->sched[i];
	char key[FEED_NAME_MAX + 8];

	if (store_sched_schedule_put(w->st, sched_key(f, i, key, sizeof(key)),
	                             ws->seen, now) != STORE_OK)
		return -1;
	ws->last_fire = now;
	return 0;
}

/*
 * On the scheduler: record that the due schedules (f->due) fired, and
 * take over every termination waiting for the feed, which the run will
 * carry. -1 when the fire cannot be recorded (tried again next tick).
 */
static int
schedule_take(struct worker *w, struct wfeed *f, time_t now)
{
	struct debounce_batch *b;
	int i;

	for (i = 0; i < 2; i++)
		if (f->due[i] && sched_fired(w, f, i, now) == -1)
			return -1;
	if ((b = debounce_take_all(w->deb, f->p->name, now)) != NULL)
		debounce_batch_free(b);
	/* A waiting batch rides with the scheduled file: no extra file. */
	if (f->deferred.n > 0)
		debounce_uncount(w->deb, f->p->name, now);
	rids_clear(&f->deferred);
	return 0;
}

/*
 * On a lane: render the feed for the schedules that fired: a full file
 * when the full schedule is among them, since it carries every change
 * too; one run either way.
 */
static void
job_schedule(struct wlane *l, struct wjob *j)
{
	struct worker *w = l->w;
	const struct feed_profile *p = j->f->p;
	struct feed_render_opts o;
	struct store_feed_run run;
	char *cause = NULL;

	render_opts(w, &o);
	if (j->full)
		o.want = FEED_WANT_FULL;
	if (feed_render(l->st, p, j->tenant_id, &o, &run, &cause) == 0) {
		store_sched_pending_attach(l->st, p->name, 0, run.id);
		log_info("schedule: feed %s: run %s %s (%s file, %" PRId64
		         " adds, %" PRId64 " changes, %" PRId64 " terms)%s",
		         p->name, run.id, run.state, run.mode, run.adds,
		         run.changes, run.terms,
		         strcmp(run.state, STORE_FEED_PENDING) == 0
		             ? "; waiting for rosterd feed approve"
		             : "");
	} else {
		log_warnx("schedule: feed %s: %s", p->name,
		          cause != NULL ? cause : "the run failed");
		store_sched_pending_list(l->st, p->name, true, requeue_cb, w);
	}
	free(cause);
	store_feed_run_clear(&run);
}

/* Is a schedule of the feed due (f->due) and the feed free to run it? */
static bool
schedule_ready(struct worker *w, struct wfeed *f, time_t now)
{
	struct worker_feed_status s;
	bool busy = false, checked = false;
	struct wsched *ws;
	int i;

	for (i = 0; i < 2; i++) {
		ws = &f->sched[i];
		f->due[i] = false;
		if (ws->cron == NULL || sched_load(w, f, i, now) == -1 ||
		    worker_schedule_due(ws->cron, f->conf->tz, ws->seen,
		                        ws->last_fire, now,
		                        false) == WORKER_DUE_NO)
			continue;
		if (!checked)
			busy = feed_busy(w, f, &s);
		checked = true;
		f->due[i] = true;
	}
	if (!f->due[0] && !f->due[1])
		return false;
	if (busy) {
		if (!f->wait_logged)
			log_info("schedule: feed %s: due, waiting for its "
			         "unfinished run",
			         f->p->name);
		f->wait_logged = true;
		return false;
	}
	f->wait_logged = false;
	return true;
}

/* Step 4: off-cycle files. */

static void
rids_each(struct store *st, const char *feed, const struct wrids *r,
          int (*op)(struct store *, const char *, int64_t))
{
	size_t i;

	for (i = 0; i < r->n; i++)
		op(st, feed, r->v[i]);
}

static void
offcycle_done(struct store *st, const char *feed, const struct wrids *r,
              const struct store_feed_run *run, time_t now)
{
	size_t i;

	if (store_begin(st) != STORE_OK)
		return;
	for (i = 0; i < r->n; i++)
		store_sched_pending_attach(st, feed, r->v[i], run->id);
	store_sched_offcycle_run_add(st, run->id, feed, now);
	if (store_commit(st) != STORE_OK) {
		store_rollback(st);
		log_warnx("offcycle: feed %s: recording run %s failed", feed,
		          run->id);
		return;
	}
	log_info(
	    "offcycle: feed %s: run %s %s with %" PRId64 " termination%s%s",
	    feed, run->id, run->state, run->terms, run->terms == 1 ? "" : "s",
	    strcmp(run->state, STORE_FEED_PENDING) == 0
	        ? "; held for approval (rosterd feed approve)"
	        : "");
}

/*
 * On the scheduler: may the feed's deferred batch be rendered now? A
 * batch that can never be (nothing sent yet, or the profile changed) is
 * settled here, without a lane.
 */
static bool
offcycle_ready(struct worker *w, struct wfeed *f, time_t now)
{
	struct worker_feed_status s;

	feed_busy(w, f, &s);
	switch (worker_batch_decide(&s)) {
	case WORKER_BATCH_DEFER:
		return false;
	case WORKER_BATCH_DROP:
		debounce_uncount(w->deb, f->p->name, now);
		rids_each(w->st, f->p->name, &f->deferred,
		          store_sched_pending_drop);
		rids_clear(&f->deferred);
		return false;
	case WORKER_BATCH_HOLD:
		log_info("offcycle: feed %s: the profile changed since its "
		         "last file; %zu termination%s wait for the next "
		         "scheduled run",
		         f->p->name, f->deferred.n,
		         f->deferred.n == 1 ? "" : "s");
		debounce_uncount(w->deb, f->p->name, now);
		rids_each(w->st, f->p->name, &f->deferred,
		          store_sched_pending_hold);
		rids_clear(&f->deferred);
		return false;
	case WORKER_BATCH_RENDER:
		break;
	}
	return true;
}

/* On a lane: the terminations-only change file of a batch. */
static void
job_offcycle(struct wlane *l, struct wjob *j)
{
	struct worker *w = l->w;
	const struct feed_profile *p = j->f->p;
	struct feed_render_opts o;
	struct store_feed_run run;
	char *cause = NULL;
	enum feed_offcycle_rc rc;

	render_opts(w, &o);
	rc = feed_render_terms(l->st, p, j->tenant_id, j->rids.v, j->rids.n, &o,
	                       &run, &cause);
	switch (rc) {
	case FEED_OFFCYCLE_OK:
		offcycle_done(l->st, p->name, &j->rids, &run, j->now);
		break;
	case FEED_OFFCYCLE_BUSY:
		j->keep = true;
		break;
	case FEED_OFFCYCLE_NONE:
	case FEED_OFFCYCLE_NEVER:
		j->nofile = true;
		rids_each(l->st, p->name, &j->rids, store_sched_pending_drop);
		break;
	case FEED_OFFCYCLE_DRIFT:
	case FEED_OFFCYCLE_ERR:
		j->nofile = true;
		log_warnx("offcycle: feed %s: %s; the terminations wait for "
		          "the next scheduled run",
		          p->name,
		          cause != NULL ? cause : "the profile changed");
		rids_each(l->st, p->name, &j->rids, store_sched_pending_hold);
		break;
	}
	free(cause);
	store_feed_run_clear(&run);
}

/* Due batches join their feed's deferred terminations. */
static void
worker_offcycle(struct worker *w, time_t now)
{
	struct debounce_batch *b;
	struct wfeed *f;
	size_t i;

	while ((b = debounce_take(w->deb, now)) != NULL) {
		f = feed_find(w, b->feed);
		/* Joining a batch that still waits: one file, one unit. */
		if (f != NULL && f->deferred.n > 0)
			debounce_uncount(w->deb, b->feed, now);
		for (i = 0; f != NULL && i < b->nitems; i++)
			rids_add(&f->deferred,
			         strtoll(b->items[i].person, NULL, 10));
		debounce_batch_free(b);
	}
}

/* Step 5: return files. */

/* On a lane. */
static void
job_returns(struct wlane *l, struct wjob *j)
{
	struct worker *w = l->w;
	const char *feed = j->f->p->name;
	char *cause = NULL;
	int n;

	n = deliver_returns(l->st, w->dc, &w->env, feed, &cause);
	if (n > 0)
		log_info("worker: feed %s: %d new return file%s", feed, n,
		         n == 1 ? "" : "s");
	else if (n < 0)
		log_warnx("worker: feed %s: return files: %s", feed,
		          cause != NULL ? cause : "unknown error");
	free(cause);
}

/* Lanes: handing jobs over and back. */

static void
job_free(struct wjob *j)
{
	if (j == NULL)
		return;
	free(j->run);
	rids_clear(&j->rids);
	free(j);
}

static void
job_run(struct wlane *l, struct wjob *j)
{
	switch (j->kind) {
	case WORKER_JOB_DELIVER:
		job_deliver(l, j);
		break;
	case WORKER_JOB_SCHEDULE:
		job_schedule(l, j);
		break;
	case WORKER_JOB_OFFCYCLE:
		job_offcycle(l, j);
		break;
	case WORKER_JOB_RETURNS:
		job_returns(l, j);
		break;
	case WORKER_JOB_NONE:
		break;
	}
}

static void *
lane_main(void *arg)
{
	struct wlane *l = arg;
	struct worker *w = l->w;
	struct wjob *j;

	/* As the scheduler: gpg, started from here, inherits it. */
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), WORKER_NICE) == -1)
		log_debug("worker: setpriority: %s", strerror(errno));
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->stop && l->job == NULL)
			pthread_cond_wait(&w->lane_cv, &w->mu);
		if (w->stop)
			break; /* a job not begun stays for worker_free() */
		j = l->job;
		pthread_mutex_unlock(&w->mu);
		job_run(l, j);
		pthread_mutex_lock(&w->mu);
		l->job = NULL;
		j->next = w->done;
		w->done = j;
		pthread_cond_signal(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* On the scheduler: what the lanes finished since the last look. */
static void
worker_collect(struct worker *w)
{
	struct wjob *j, *next;
	size_t i;

	pthread_mutex_lock(&w->mu);
	j = w->done;
	w->done = NULL;
	pthread_mutex_unlock(&w->mu);
	for (; j != NULL; j = next) {
		next = j->next;
		j->f->inflight = WORKER_JOB_NONE;
		switch (j->kind) {
		case WORKER_JOB_DELIVER:
			job_delivered(w, j);
			break;
		case WORKER_JOB_OFFCYCLE:
			/* The cap counts files: see debounce_uncount(). */
			if (j->nofile || (j->keep && j->f->deferred.n > 0))
				debounce_uncount(w->deb, j->f->p->name, j->now);
			for (i = 0; j->keep && i < j->rids.n; i++)
				rids_add(&j->f->deferred, j->rids.v[i]);
			break;
		case WORKER_JOB_RETURNS:
			j->f->returns_next =
			    mono_ms() +
			    (int64_t)j->f->conf->returns.interval_s * 1000;
			break;
		case WORKER_JOB_SCHEDULE:
		case WORKER_JOB_NONE:
			break;
		}
		job_free(j);
	}
}

/* Is a render of an off-cycle feed on a lane (see worker_tick)? */
static bool
worker_rendering(const struct worker *w)
{
	size_t i;

	for (i = 0; i < w->nfeeds; i++)
		if (w->feeds[i].conf->offcycle &&
		    (w->feeds[i].inflight == WORKER_JOB_SCHEDULE ||
		     w->feeds[i].inflight == WORKER_JOB_OFFCYCLE))
			return true;
	return false;
}

/* The feed's next job, from what this tick saw. */
static enum worker_job
feed_next(struct worker *w, struct wfeed *f, time_t now)
{
	struct worker_feed_want want;

	memset(&want, 0, sizeof(want));
	want.inflight = f->inflight != WORKER_JOB_NONE;
	if (want.inflight)
		return WORKER_JOB_NONE;
	want.deliver = f->next_run != NULL;
	if (!want.deliver && f->tenant_id != 0) {
		want.schedule =
		    (f->sched[0].cron != NULL || f->sched[1].cron != NULL) &&
		    schedule_ready(w, f, now);
		want.offcycle = !want.schedule && f->deferred.n > 0 &&
		                offcycle_ready(w, f, now);
	}
	want.returns = f->conf->has_returns && mono_ms() >= f->returns_next;
	return worker_next_job(&want);
}

/* Hand the job over to an idle lane (there is one: see worker_dispatch). */
static void
lane_give(struct worker *w, struct wjob *j)
{
	size_t i;

	pthread_mutex_lock(&w->mu);
	for (i = 0; i < w->nlanes; i++)
		if (w->lanes[i].job == NULL) {
			w->lanes[i].job = j;
			break;
		}
	pthread_cond_broadcast(&w->lane_cv);
	pthread_mutex_unlock(&w->mu);
}

/* Build the job of a feed the plan picked; NULL when it is off. */
static struct wjob *
job_make(struct worker *w, struct wfeed *f, enum worker_job kind, time_t now)
{
	struct wjob *j;

	if (kind == WORKER_JOB_SCHEDULE && schedule_take(w, f, now) == -1)
		return NULL;
	j = xcalloc(1, sizeof(*j));
	j->kind = kind;
	j->f = f;
	j->tenant_id = f->tenant_id;
	j->now = now;
	switch (kind) {
	case WORKER_JOB_DELIVER:
		j->run = xstrdup(f->next_run);
		break;
	case WORKER_JOB_SCHEDULE:
		j->full = f->due[1];
		break;
	case WORKER_JOB_OFFCYCLE:
		j->rids = f->deferred; /* taken over */
		memset(&f->deferred, 0, sizeof(f->deferred));
		break;
	case WORKER_JOB_RETURNS:
	case WORKER_JOB_NONE:
		break;
	}
	return j;
}

/* Give each feed's next job to a free lane, as worker_lane_plan() says. */
static void
worker_dispatch(struct worker *w, time_t now)
{
	enum worker_job *jobs;
	size_t i, k, idle = 0, *pick;
	struct wjob *j;

	if (w->nfeeds == 0)
		return;
	pthread_mutex_lock(&w->mu);
	for (i = 0; i < w->nlanes; i++)
		idle += w->lanes[i].job == NULL;
	pthread_mutex_unlock(&w->mu);
	if (idle == 0)
		return;
	jobs = xcalloc(w->nfeeds, sizeof(*jobs));
	pick = xcalloc(w->nfeeds, sizeof(*pick));
	for (i = 0; i < w->nfeeds && !worker_stopping(w); i++)
		jobs[i] = feed_next(w, &w->feeds[i], now);
	k = worker_lane_plan(jobs, w->nfeeds, idle, w->rr, pick);
	w->rr = (w->rr + 1) % w->nfeeds;
	for (i = 0; i < k && !worker_stopping(w); i++) {
		if ((j = job_make(w, &w->feeds[pick[i]], jobs[pick[i]], now)) ==
		    NULL)
			continue;
		w->feeds[pick[i]].inflight = j->kind;
		lane_give(w, j);
	}
	free(pick);
	free(jobs);
}

static void
worker_tick(struct worker *w)
{
	time_t now = time(NULL);

	worker_collect(w);
	resolve_tenants(w);
	/*
	 * A render on a lane attaches the feed's waiting terminations to its
	 * run when it is written; taking in new ones meanwhile could attach
	 * one the run's plan did not see. The triggers' events wait in the
	 * store (their windows count from when they were received).
	 */
	if (!worker_rendering(w))
		worker_ingest(w);
	worker_queue(w);
	if (mono_ms() >= w->next_check) {
		worker_check_runs(w);
		w->next_check = mono_ms() + WORKER_CHECK_MS;
	}
	worker_offcycle(w, now);
	worker_dispatch(w, now);
}

/* Restart: the batcher's state comes back from the store. */

struct cap_ctx {
	struct worker *w;
	const char *feed;
};

static int
cap_cb(int64_t at, void *arg)
{
	struct cap_ctx *c = arg;

	debounce_count_extra(c->w->deb, c->feed, (time_t)at);
	return 0;
}

static int
restore_cb(const struct store_sched_pending *p, void *arg)
{
	struct worker *w = arg;
	struct wfeed *f = feed_find(w, p->feed);

	if (f != NULL && f->conf->offcycle && !p->hold)
		debounce_add_rid(w, p->feed, p->rid, p->event_at,
		                 p->received_at);
	return 0;
}

static void
worker_restore(struct worker *w)
{
	struct debounce_policy pol;
	struct cap_ctx cc;
	struct wfeed *f;
	time_t now = time(NULL);
	size_t i;

	for (i = 0; i < w->nfeeds; i++) {
		f = &w->feeds[i];
		if (!f->conf->offcycle)
			continue;
		debounce_policy_init(&pol);
		pol.window = f->conf->offcycle_window_s;
		pol.daily_cap = f->conf->offcycle_daily_cap;
		pol.tz = f->conf->tz;
		debounce_feed_set(w->deb, f->p->name, &pol);
		cc.w = w;
		cc.feed = f->p->name;
		store_sched_offcycle_runs_since(
		    w->st, f->p->name, now - WORKER_CAP_LOOKBACK, cap_cb, &cc);
	}
	store_sched_pending_list(w->st, NULL, true, restore_cb, w);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct timespec ts;

	/*
	 * Rendering, gpg (which inherits this thread's priority) and
	 * uploads yield the CPU to the API: on Linux the nice value is per
	 * thread, so this lowers only the worker's threads.
	 */
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), WORKER_NICE) == -1)
		log_debug("worker: setpriority: %s", strerror(errno));
	worker_restore(w);
	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		pthread_mutex_unlock(&w->mu);
		worker_tick(w);
		pthread_mutex_lock(&w->mu);
		if (w->stop)
			break;
		if (w->done != NULL)
			continue; /* a lane is free again: dispatch now */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += (long)WORKER_TICK_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&w->cv, &w->mu, &ts);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Start and stop. */

static void
worker_free(struct worker *w)
{
	struct wjob *j;
	size_t i;

	while ((j = w->done) != NULL) {
		w->done = j->next;
		job_free(j);
	}
	for (i = 0; i < w->nlanes; i++) {
		job_free(w->lanes[i].job);
		if (w->lanes[i].st != NULL)
			store_close(w->lanes[i].st);
	}
	free(w->lanes);
	for (i = 0; i < w->nfeeds; i++)
		rids_clear(&w->feeds[i].deferred);
	free(w->feeds);
	deliver_list_free(w->pending);
	worker_retry_free(&w->retry);
	debounce_free(w->deb);
	if (w->st != NULL)
		store_close(w->st);
	deliver_config_free(w->dc);
	feed_profiles_free(w->profiles);
	free(w->data_dir);
	free(w->outbox);
	xfer_cancel_free(w->env.cancel);
	pthread_cond_destroy(&w->lane_cv);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

static char *
abs_path(const char *p)
{
	char *cwd, *out;

	if (p[0] == '/' || (cwd = getcwd(NULL, 0)) == NULL)
		return xstrdup(p);
	out = xasprintf("%s/%s", cwd, p);
	free(cwd);
	return out;
}

/* The delivery entries, each with its profile. */
static int
worker_feeds(struct worker *w, char **cause)
{
	const char *const *names = deliver_feeds(w->dc);
	const struct feed_profile *p;
	const struct deliver_feed *fc;
	size_t n = 0;

	while (names != NULL && names[n] != NULL)
		n++;
	w->feeds = xcalloc(n + 1, sizeof(*w->feeds));
	for (; names != NULL && *names != NULL; names++) {
		p = feed_profiles_find(w->profiles, *names);
		fc = deliver_feed_find(w->dc, *names);
		if (p == NULL || fc == NULL) {
			*cause = xasprintf("delivery.%s: no feed %s in the "
			                   "feeds section",
			                   *names, *names);
			return -1;
		}
		if (fc->offcycle && p->terms == FEED_TERMS_OMIT) {
			*cause =
			    xasprintf("delivery.%s.offcycle: feed %s sends "
			              "terminations by omission, so it "
			              "has no change files",
			              *names, *names);
			return -1;
		}
		w->feeds[w->nfeeds].conf = fc;
		w->feeds[w->nfeeds].sched[0].cron = fc->cron;
		w->feeds[w->nfeeds].sched[1].cron = fc->full_cron;
		w->feeds[w->nfeeds++].p = p;
	}
	return 0;
}

/* Load what the worker needs from c; errors end up in *cause. */
static int
worker_load(struct worker *w, struct cfg *c, const char *db, char **cause)
{
	size_t i;
	char *copy;

	w->profiles = feed_profiles_load(c);
	w->dc = deliver_config_load(c);
	if (c->nerrors > 0 || w->dc == NULL) {
		*cause = xasprintf("%s%s: %d error%s in the configuration",
		                   buf_str(&c->errors),
		                   c->path != NULL ? c->path : "-", c->nerrors,
		                   c->nerrors == 1 ? "" : "s");
		return -1;
	}
	if (worker_feeds(w, cause) == -1)
		return -1;
	copy = xstrdup(db);
	w->data_dir = abs_path(dirname(copy));
	free(copy);
	w->outbox = abs_path(c->outbox != NULL ? c->outbox : "outbox");
	w->env.data_dir = w->data_dir;
	w->env.outbox = w->outbox;
	w->env.cancel = xfer_cancel_new();
	if ((w->st = store_open(db, cause)) == NULL)
		return -1;
	w->deb = debounce_new();
	/* A lane per feed at most: one job at a time per feed. */
	w->nlanes = w->nfeeds < (size_t)c->delivery_max_parallel
	                ? w->nfeeds
	                : (size_t)c->delivery_max_parallel;
	w->lanes = xcalloc(w->nlanes + 1, sizeof(*w->lanes));
	for (i = 0; i < w->nlanes; i++) {
		w->lanes[i].w = w;
		if ((w->lanes[i].st = store_open(db, cause)) == NULL)
			return -1;
	}
	return 0;
}

/* Stop the threads that started and join them. */
static void
worker_join(struct worker *w)
{
	size_t i;

	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_broadcast(&w->cv);
	pthread_cond_broadcast(&w->lane_cv);
	pthread_mutex_unlock(&w->mu);
	/* Transfers in progress end now; their state is durable. */
	xfer_cancel_fire(w->env.cancel);
	if (w->started)
		pthread_join(w->thread, NULL);
	for (i = 0; i < w->nlanes; i++)
		if (w->lanes[i].started)
			pthread_join(w->lanes[i].thread, NULL);
}

/* The scheduler and the lanes, with every signal blocked (see below). */
static int
worker_threads(struct worker *w, char **cause)
{
	sigset_t all, old;
	size_t i;
	int rc = 0;

	/*
	 * Signals belong to the event loop's thread: the worker's threads
	 * block them all, so SIGTERM never interrupts a transfer midway.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < w->nlanes && rc == 0; i++)
		if ((rc = pthread_create(&w->lanes[i].thread, NULL, lane_main,
		                         &w->lanes[i])) == 0)
			w->lanes[i].started = true;
	if (rc == 0 &&
	    (rc = pthread_create(&w->thread, NULL, worker_main, w)) == 0)
		w->started = true;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		*cause = xasprintf("cannot start the delivery worker: %s",
		                   strerror(rc));
		return -1;
	}
	return 0;
}

int
worker_start(struct cfg *c, const char *db, struct worker **out, char **cause)
{
	pthread_condattr_t ca;
	struct worker *w;

	*out = NULL;
	*cause = NULL;
	if (cfg_section(c, "delivery") == NULL)
		return 0;
	w = xcalloc(1, sizeof(*w));
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&w->lane_cv, NULL);
	if (worker_load(w, c, db, cause) == -1) {
		worker_free(w);
		return -1;
	}
	if (worker_threads(w, cause) == -1) {
		worker_join(w);
		worker_free(w);
		return -1;
	}
	log_info("worker: delivering %zu feed%s, up to %zu at once", w->nfeeds,
	         w->nfeeds == 1 ? "" : "s", w->nlanes);
	*out = w;
	return 0;
}

void
worker_stop(struct worker *w)
{
	if (w == NULL)
		return;
	worker_join(w);
	deliver_stop_agent(&w->env);
	worker_free(w);
	log_info("worker: stopped");
}
