/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * Unit tests for the delivery worker's pure parts (schedule due times,
 * batch and delivery decisions, times) with an explicit clock, for the
 * scheduler tables and their triggers (migration 5), and for off-cycle
 * terminations-only runs (feed_render_terms() in feed/run.c) against a
 * temporary store and feed profile.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "cfg/cfg.h"
#include "feed/profile.h"
#include "feed/run.h"
#include "sched/cron.h"
#include "sched/worker.h"
#include "store/store.h"
#include "store/store_feed.h"
#include "store/store_sched.h"
#include "util/buf.h"
#include "util/xmalloc.h"

#define URN_USER "urn:ietf:params:scim:schemas:core:2.0:User"

/* "YYYY-MM-DD HH:MM[:SS]" read as UTC. */
static time_t
utc(const char *s)
{
	struct tm tm;
	int sec = 0;

	memset(&tm, 0, sizeof(tm));
	assert_true(sscanf(s, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon,
	                   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &sec) >= 5);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	tm.tm_sec = sec;
	return timegm(&tm);
}

static struct cron_expr *
cron(const char *text)
{
	char *cause = NULL;
	struct cron_expr *e = cron_parse(text, &cause);

	if (e == NULL)
		fail_msg("%s", cause);
	return e;
}

/* Schedules. */

static void
test_due_every_minute(void **state)
{
	struct cron_expr *e = cron("* * * * *");
	struct cron_tz *tz = cron_tz_utc();
	time_t seen = utc("2026-12-04 12:00:30");

	/* A new feed does not fire for the slot before it was seen. */
	assert_int_equal(worker_schedule_due(e, tz, seen, 0, seen, false),
	                 WORKER_DUE_NO);
	assert_int_equal(worker_schedule_due(e, tz, seen, 0,
	                                     utc("2026-12-04 12:00:59"), false),
	                 WORKER_DUE_NO);
	assert_int_equal(worker_schedule_due(e, tz, seen, 0,
	                                     utc("2026-12-04 12:01:00"), false),
	                 WORKER_DUE_FIRE);
	/* Fired at 12:01:00: nothing until 12:02. */
	assert_int_equal(worker_schedule_due(e, tz, seen,
	                                     utc("2026-12-04 12:01:00"),
	                                     utc("2026-12-04 12:01:59"), false),
	                 WORKER_DUE_NO);
	assert_int_equal(worker_schedule_due(e, tz, seen,
	                                     utc("2026-12-04 12:01:00"),
	                                     utc("2026-12-04 12:02:00"), false),
	                 WORKER_DUE_FIRE);
	cron_free(e);
	cron_tz_free(tz);
}

static void
test_due_missed_runs_once(void **state)
{
	struct cron_expr *e = cron("* * * * *");
	struct cron_tz *tz = cron_tz_utc();
	time_t seen = utc("2026-12-01 00:00"), last = utc("2026-12-04 09:00");
	time_t up = utc("2026-12-04 12:00:20");

	/* Three hours down: 180 slots missed, one fire at start... */
	assert_int_equal(worker_schedule_due(e, tz, seen, last, up, false),
	                 WORKER_DUE_FIRE);
	/* ...after which the worker records `up` as the last fire. */
	assert_int_equal(worker_schedule_due(e, tz, seen, up, up + 5, false),
	                 WORKER_DUE_NO);
	assert_int_equal(worker_schedule_due(e, tz, seen, up, up + 39, false),
	                 WORKER_DUE_NO);
	assert_int_equal(worker_schedule_due(e, tz, seen, up, up + 40, false),
	                 WORKER_DUE_FIRE);
	cron_free(e);
	cron_tz_free(tz);
}

static void
test_due_weekly_in_zone(void **state)
{
	struct cron_expr *e = cron("0 6 * * MON");
	struct cron_tz *tz;
	char *cause = NULL;
	time_t seen = utc("2026-11-30 10:00"); /* Mon 05:00 EST */

	tz = cron_tz_load("America/New_York", &cause);
	if (tz == NULL)
		fail_msg("%s", cause);
	assert_int_equal(worker_schedule_due(e, tz, seen, 0,
	                                     utc("2026-11-30 10:59:59"), false),
	                 WORKER_DUE_NO);
	assert_int_equal(
	    worker_schedule_due(e, tz, seen, 0, utc("2026-11-30 11:00"), false),
	    WORKER_DUE_FIRE);
	/* Down from Sunday to Wednesday: Monday's run happens once. */
	assert_int_equal(worker_schedule_due(e, tz, seen,
	                                     utc("2026-11-30 11:00"),
	                                     utc("2026-12-09 15:00"), false),
	                 WORKER_DUE_FIRE);
	assert_int_equal(worker_schedule_due(e, tz, seen,
	                                     utc("2026-11-30 11:00"),
	                                     utc("2026-12-06 23:00"), false),
	                 WORKER_DUE_NO);
	cron_free(e);
	cron_tz_free(tz);
}

static void
test_due_busy_waits(void **state)
{
	struct cron_expr *e = cron("*/5 * * * *");
	struct cron_tz *tz = cron_tz_utc();
	time_t seen = utc("2026-12-04 12:00");

	assert_int_equal(
	    worker_schedule_due(e, tz, seen, 0, utc("2026-12-04 12:05"), true),
	    WORKER_DUE_WAIT);
	/* Still owed once the run is done, however late. */
	assert_int_equal(
	    worker_schedule_due(e, tz, seen, 0, utc("2026-12-04 12:17"), false),
	    WORKER_DUE_FIRE);
	/* Not busy and not due: no. */
	assert_int_equal(
	    worker_schedule_due(e, tz, seen, 0, utc("2026-12-04 12:04"), true),
	    WORKER_DUE_NO);
	/* No schedule at all. */
	assert_int_equal(worker_schedule_due(NULL, tz, seen, 0,
	                                     utc("2027-01-01 00:00"), false),
	                 WORKER_DUE_NO);
	cron_free(e);
	cron_tz_free(tz);
}

/* Off-cycle batches and deliveries. */

static void
test_batch_decide(void **state)
{
	struct worker_feed_status s;

	memset(&s, 0, sizeof(s));
	assert_int_equal(worker_batch_decide(&s), WORKER_BATCH_RENDER);
	s.busy = true;
	assert_int_equal(worker_batch_decide(&s), WORKER_BATCH_DEFER);
	s.drift = true;
	assert_int_equal(worker_batch_decide(&s), WORKER_BATCH_DEFER);
	s.busy = false;
	assert_int_equal(worker_batch_decide(&s), WORKER_BATCH_HOLD);
	s.never_sent = true;
	assert_int_equal(worker_batch_decide(&s), WORKER_BATCH_DROP);
	s.busy = true;
	assert_int_equal(worker_batch_decide(&s), WORKER_BATCH_DROP);
}

static void
test_retry_book(void **state)
{
	struct worker_retry r;
	const char *keep[] = {"run_b", NULL};

	memset(&r, 0, sizeof(r));
	assert_true(worker_retry_ready(&r, "run_a", 0));
	worker_retry_set(&r, "run_a", 5000);
	worker_retry_set(&r, "run_b", 7000);
	assert_false(worker_retry_ready(&r, "run_a", 4999));
	assert_true(worker_retry_ready(&r, "run_a", 5000));
	worker_retry_set(&r, "run_a", 9000); /* a later failure */
	assert_false(worker_retry_ready(&r, "run_a", 8000));
	assert_int_equal(r.n, 2);
	worker_retry_clear(&r, "run_a");
	assert_true(worker_retry_ready(&r, "run_a", 0));
	worker_retry_clear(&r, "run_zz");
	worker_retry_set(&r, "run_c", 1);
	worker_retry_prune(&r, keep);
	assert_int_equal(r.n, 1);
	assert_false(worker_retry_ready(&r, "run_b", 6999));
	assert_true(worker_retry_ready(&r, "run_c", 0));
	worker_retry_prune(&r, NULL);
	assert_int_equal(r.n, 0);
	worker_retry_free(&r);
}

static void
test_pick_one_per_feed(void **state)
{
	const char *runs[] = {"r1", "r2", "r3", "r4", "r5"};
	const char *feeds[] = {"spring", "eap", "spring", "dental", "eap"};
	struct worker_retry r;
	size_t pick[5], n;

	memset(&r, 0, sizeof(r));
	n = worker_pick(runs, feeds, 5, &r, 0, pick);
	assert_int_equal(n, 3);
	assert_int_equal(pick[0], 0);
	assert_int_equal(pick[1], 1);
	assert_int_equal(pick[2], 3);
	/* r2 waits out its backoff; r5 must not overtake it. */
	worker_retry_set(&r, "r2", 5000);
	n = worker_pick(runs, feeds, 5, &r, 1000, pick);
	assert_int_equal(n, 2);
	assert_int_equal(pick[0], 0);
	assert_int_equal(pick[1], 3);
	n = worker_pick(runs, feeds, 5, &r, 5000, pick);
	assert_int_equal(n, 3);
	assert_int_equal(pick[1], 1);
	/* Once r1 is gone, r3 is the oldest of its feed. */
	n = worker_pick(runs + 1, feeds + 1, 4, &r, 0, pick);
	assert_int_equal(n, 2);
	assert_int_equal(pick[0], 1); /* r3 */
	assert_int_equal(pick[1], 2); /* r4 */
	assert_int_equal(worker_pick(runs, feeds, 0, &r, 0, pick), 0);
	worker_retry_free(&r);
}

/* Lanes: each feed's next job, and which feeds get the free lanes. */

static void
test_next_job(void **state)
{
	struct worker_feed_want f;

	memset(&f, 0, sizeof(f));
	assert_int_equal(worker_next_job(&f), WORKER_JOB_NONE);
	f.returns = true;
	assert_int_equal(worker_next_job(&f), WORKER_JOB_RETURNS);
	f.offcycle = true;
	assert_int_equal(worker_next_job(&f), WORKER_JOB_OFFCYCLE);
	/* A scheduled run carries the waiting terminations too. */
	f.schedule = true;
	assert_int_equal(worker_next_job(&f), WORKER_JOB_SCHEDULE);
	/* Nothing overtakes a rendered run of the feed. */
	f.deliver = true;
	assert_int_equal(worker_next_job(&f), WORKER_JOB_DELIVER);
	/* One job per feed at a time: a feed whose lane is busy waits. */
	f.inflight = true;
	assert_int_equal(worker_next_job(&f), WORKER_JOB_NONE);
}

static void
test_lane_plan(void **state)
{
	const enum worker_job jobs[] = {
	    WORKER_JOB_DELIVER, WORKER_JOB_RETURNS,  WORKER_JOB_SCHEDULE,
	    WORKER_JOB_NONE,    WORKER_JOB_OFFCYCLE, WORKER_JOB_DELIVER,
	};
	const enum worker_job two[] = {WORKER_JOB_DELIVER, WORKER_JOB_DELIVER};
	size_t pick[6], n;

	/* Deliveries and off-cycle batches first, in feed order. */
	n = worker_lane_plan(jobs, 6, 3, 0, pick);
	assert_int_equal(n, 3);
	assert_int_equal(pick[0], 0);
	assert_int_equal(pick[1], 4);
	assert_int_equal(pick[2], 5);
	/* Then schedules, then return files; never more than the lanes. */
	n = worker_lane_plan(jobs, 6, 4, 0, pick);
	assert_int_equal(n, 4);
	assert_int_equal(pick[3], 2);
	n = worker_lane_plan(jobs, 6, 64, 0, pick);
	assert_int_equal(n, 5);
	assert_int_equal(pick[3], 2);
	assert_int_equal(pick[4], 1);
	/* The start rotates: feed 5 first, then wrapping round to 0. */
	n = worker_lane_plan(jobs, 6, 2, 5, pick);
	assert_int_equal(n, 2);
	assert_int_equal(pick[0], 5);
	assert_int_equal(pick[1], 0);
	/* Two feeds, one lane: each gets its turn. */
	assert_int_equal(worker_lane_plan(two, 2, 1, 0, pick), 1);
	assert_int_equal(pick[0], 0);
	assert_int_equal(worker_lane_plan(two, 2, 1, 1, pick), 1);
	assert_int_equal(pick[0], 1);
	assert_int_equal(worker_lane_plan(jobs, 6, 0, 0, pick), 0);
	assert_int_equal(worker_lane_plan(jobs, 0, 4, 0, pick), 0);
}

/* server.delivery_max_parallel: default, bounds, file:line:col errors. */
static void
test_max_parallel_config(void **state)
{
	char path[] = "/tmp/rosterd-test-lanes-XXXXXX";
	struct cfg *c;
	char *cause = NULL;
	FILE *f;
	int fd;

	c = cfg_default();
	assert_int_equal(c->delivery_max_parallel, 4);
	cfg_free(c);
	assert_true((fd = mkstemp(path)) != -1);
	assert_non_null(f = fdopen(fd, "w"));
	fputs("server:\n  delivery_max_parallel: 0\n", f);
	fclose(f);
	assert_non_null(c = cfg_load(path, &cause));
	assert_int_equal(c->nerrors, 1);
	assert_non_null(strstr(buf_str(&c->errors),
	                       ":2:26: delivery_max_parallel: expected an "
	                       "integer from 1 to 64"));
	cfg_free(c);
	assert_true((f = fopen(path, "w")) != NULL);
	fputs("server:\n  delivery_max_parallel: 16\n", f);
	fclose(f);
	assert_non_null(c = cfg_load(path, &cause));
	assert_int_equal(c->nerrors, 0);
	assert_int_equal(c->delivery_max_parallel, 16);
	cfg_free(c);
	unlink(path);
}

static void
test_times(void **state)
{
	char buf[32];
	int64_t ms;

	assert_int_equal(worker_time_ms("2026-12-04T19:54:50.123Z", &ms), 0);
	assert_int_equal(ms, (int64_t)utc("2026-12-04 19:54:50") * 1000 + 123);
	assert_int_equal(worker_time_ms("1970-01-01T00:00:01Z", &ms), 0);
	assert_int_equal(ms, 1000);
	worker_time_iso((int64_t)utc("2026-12-04 19:54:50") * 1000 + 7, buf,
	                sizeof(buf));
	assert_string_equal(buf, "2026-12-04T19:54:50.007Z");
	assert_int_equal(worker_time_ms(buf, &ms), 0);
	assert_int_equal(ms % 1000, 7);
	assert_int_equal(worker_time_ms("2026-12-04 19:54:50Z", &ms), -1);
	assert_int_equal(worker_time_ms("2026-12-04T19:54:50.12Z", &ms), -1);
	assert_int_equal(worker_time_ms("2026-13-04T19:54:50Z", &ms), -1);
	assert_int_equal(worker_time_ms("2026-12-04T19:54:50+01:00", &ms), -1);
	assert_int_equal(worker_time_ms(NULL, &ms), -1);
}

/* The store: triggers and tables of migration 5. */

struct fx {
	char dir[64];
	char db[128];
	char out[128];
	char cfgpath[128];
	struct store *st;
	int64_t tenant;
	struct cfg *cfg;
	struct feed_profiles *ps;
	const struct feed_profile *p;
};

static const char profile_yaml[] =
    "feeds:\n"
    "  sh:\n"
    "    tenant: acme\n"
    "    eligibility: 'active eq true'\n"
    "    mode: change\n"
    "    format: csv\n"
    "    line_ending: lf\n"
    "    columns:\n"
    "      - {name: member_id, source: externalId}\n"
    "      - {name: last_name, source: name.familyName}\n"
    "%s"
    "      - {name: action, source: $action, map: {add: A, change: C, "
    "terminate: T, reinstate: R, none: ''}}\n"
    "      - {name: term_date, source: $term_date, date_format: '%%Y%%m%%d'}\n"
    "    file_name: '{feed}-{seq}.csv'\n"
    "    approval: {first_run: false, max_terminations_percent: 60}\n";

static void
fx_profile(struct fx *fx, const char *extra_columns)
{
	char *cause = NULL;
	FILE *f;

	feed_profiles_free(fx->ps);
	cfg_free(fx->cfg);
	f = fopen(fx->cfgpath, "w");
	assert_non_null(f);
	fprintf(f, profile_yaml, extra_columns);
	fclose(f);
	fx->cfg = cfg_load(fx->cfgpath, &cause);
	assert_non_null(fx->cfg);
	fx->ps = feed_profiles_load(fx->cfg);
	if (fx->cfg->nerrors > 0)
		fprintf(stderr, "%s", buf_str(&fx->cfg->errors));
	assert_int_equal(fx->cfg->nerrors, 0);
	fx->p = feed_profiles_find(fx->ps, "sh");
	assert_non_null(fx->p);
}

static int
setup(void **state)
{
	struct fx *fx = xcalloc(1, sizeof(*fx));
	struct store_tenant t;
	char *cause = NULL;

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/rosterd-worker-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->db, sizeof(fx->db), "%s/r.db", fx->dir);
	snprintf(fx->out, sizeof(fx->out), "%s/out", fx->dir);
	snprintf(fx->cfgpath, sizeof(fx->cfgpath), "%s/r.yaml", fx->dir);
	fx->st = store_open(fx->db, &cause);
	assert_null(cause);
	assert_non_null(fx->st);
	assert_int_equal(store_tenant_create(fx->st, "acme", &t), STORE_OK);
	fx->tenant = t.id;
	store_tenant_clear(&t);
	fx_profile(fx, "");
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;
	char cmd[256];

	store_close(fx->st);
	feed_profiles_free(fx->ps);
	cfg_free(fx->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

/* Insert a User; returns its rid, its SCIM id into id (>= 40 bytes). */
static int64_t
add_user(struct fx *fx, const char *ext, const char *family, bool active,
         char *id)
{
	struct store_actor actor = {NULL, "scim"};
	struct store_res r;
	char now[32], *name = xasprintf("%s@example.com", ext);
	json_t *d;
	int64_t rid;

	d = json_pack("{s[s] ss ss s{ss} sb}", "schemas", URN_USER, "userName",
	              name, "externalId", ext, "name", "familyName", family,
	              "active", active);
	memset(&r, 0, sizeof(r));
	store_uuid(id, 40);
	store_now(now, sizeof(now));
	r.tenant_id = fx->tenant;
	r.type = STORE_USER;
	r.id = id;
	r.name = name;
	r.external_id = (char *)ext;
	r.active = active;
	r.doc = json_dumps(d, JSON_COMPACT);
	r.created = now;
	r.modified = now;
	assert_int_equal(store_res_insert(fx->st, &r, &actor), STORE_OK);
	rid = r.rid;
	free(r.doc);
	free(name);
	json_decref(d);
	return rid;
}

/* Set a User's active flag as SCIM would (document and column). */
static void
set_active(struct fx *fx, const char *id, bool active)
{
	struct store_actor actor = {NULL, "scim"};
	struct store_res r;
	char now[32];
	json_t *d;

	assert_int_equal(store_res_get(fx->st, fx->tenant, STORE_USER, id, &r),
	                 STORE_OK);
	d = json_loads(r.doc, 0, NULL);
	json_object_set_new(d, "active", json_boolean(active));
	free(r.doc);
	r.doc = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	r.active = active;
	store_now(now, sizeof(now));
	free(r.modified);
	r.modified = xstrdup(now);
	assert_int_equal(store_res_update(fx->st, &r, &actor, NULL), STORE_OK);
	store_res_clear(&r);
}

static void
delete_user(struct fx *fx, const char *id)
{
	struct store_actor actor = {NULL, "scim"};
	struct store_res r;

	assert_int_equal(store_res_get(fx->st, fx->tenant, STORE_USER, id, &r),
	                 STORE_OK);
	assert_int_equal(store_res_delete(fx->st, &r, &actor), STORE_OK);
	store_res_clear(&r);
}

/* The captured events as "rid:cause" lines. */
static int
ev_line(const struct store_sched_event *e, void *arg)
{
	struct buf *b = arg;
	int64_t ev, rx;

	assert_int_equal(worker_time_ms(e->event_at, &ev), 0);
	assert_int_equal(worker_time_ms(e->received_at, &rx), 0);
	assert_true(rx >= ev);
	buf_addf(b, "%lld:%s\n", (long long)e->rid, e->cause);
	return 0;
}

static char *
events(struct fx *fx)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(store_sched_events_list(fx->st, 0, 100, ev_line, &b),
	                 STORE_OK);
	buf_addstr(&b, "");
	return buf_detach(&b);
}

static void
expect_events(struct fx *fx, const char *want)
{
	char *got = events(fx);

	assert_string_equal(got, want);
	free(got);
}

static void
test_triggers(void **state)
{
	struct fx *fx = *state;
	char a[40], b[40], c[40], want[256];
	int64_t ra, rb, rc;
	struct store_res g;
	struct store_actor actor = {NULL, "scim"};
	char now[32];

	ra = add_user(fx, "E1", "Lovelace", true, a);
	rb = add_user(fx, "E2", "Hopper", true, b);
	rc = add_user(fx, "E3", "Turing", false, c);
	expect_events(fx, ""); /* creating, even inactive, is no termination */
	set_active(fx, a, false);
	set_active(fx, a, false); /* no transition: nothing new */
	set_active(fx, b, true);
	snprintf(want, sizeof(want), "%lld:inactive\n", (long long)ra);
	expect_events(fx, want);
	delete_user(fx, b);
	delete_user(fx, c); /* already inactive, still a termination */
	set_active(fx, a, true);
	set_active(fx, a, false); /* leaves again: a second event */
	snprintf(want, sizeof(want),
	         "%lld:inactive\n%lld:deleted\n%lld:deleted\n%lld:inactive\n",
	         (long long)ra, (long long)rb, (long long)rc, (long long)ra);
	expect_events(fx, want);
	/* Groups are not people. */
	memset(&g, 0, sizeof(g));
	g.tenant_id = fx->tenant;
	g.type = STORE_GROUP;
	g.id = xstrdup("6a0f6d0e-0000-7000-8000-000000000001");
	g.name = xstrdup("Eng");
	g.active = 1;
	g.doc = xstrdup("{\"schemas\":[\"urn:ietf:params:scim:schemas:core:"
	                "2.0:Group\"],\"displayName\":\"Eng\"}");
	store_now(now, sizeof(now));
	g.created = xstrdup(now);
	g.modified = xstrdup(now);
	assert_int_equal(store_res_insert(fx->st, &g, &actor), STORE_OK);
	assert_int_equal(store_res_delete(fx->st, &g, &actor), STORE_OK);
	store_res_clear(&g);
	expect_events(fx, want);
	/* A rolled-back change leaves no event either. */
	assert_int_equal(store_begin(fx->st), STORE_OK);
	set_active(fx, a, true);
	set_active(fx, a, false);
	assert_int_equal(store_rollback(fx->st), STORE_OK);
	expect_events(fx, want);
	/* Consuming. */
	assert_int_equal(store_sched_events_delete(fx->st, 0), STORE_OK);
	expect_events(fx, want);
	assert_int_equal(store_sched_events_delete(fx->st, INT64_MAX),
	                 STORE_OK);
	expect_events(fx, "");
}

static int
pend_line(const struct store_sched_pending *p, void *arg)
{
	struct buf *b = arg;

	buf_addf(b, "%s %lld %s %s%s\n", p->feed, (long long)p->rid,
	         p->event_at, p->run_id != NULL ? p->run_id : "-",
	         p->hold ? " hold" : "");
	return 0;
}

static char *
pending(struct fx *fx, const char *feed, bool waiting)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(
	    store_sched_pending_list(fx->st, feed, waiting, pend_line, &b),
	    STORE_OK);
	buf_addstr(&b, "");
	return buf_detach(&b);
}

static void
expect_pending(struct fx *fx, const char *feed, bool waiting, const char *want)
{
	char *got = pending(fx, feed, waiting);

	assert_string_equal(got, want);
	free(got);
}

static void
add_pending(struct fx *fx, const char *feed, int64_t rid, const char *at,
            bool want_added)
{
	struct store_sched_pending p;
	bool added = !want_added;

	memset(&p, 0, sizeof(p));
	p.feed = feed;
	p.rid = rid;
	p.event_at = at;
	p.received_at = at;
	assert_int_equal(store_sched_pending_add(fx->st, &p, &added), STORE_OK);
	assert_int_equal(added, want_added);
}

static int
count_at(int64_t at, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static int
lag_line(const struct store_sched_lag *l, void *arg)
{
	struct buf *b = arg;

	buf_addf(b, "%s %s %s %s %lld\n", l->feed, l->run_id, l->person_key,
	         l->kind, (long long)l->lag_ms);
	return 0;
}

static void
test_pending_rows(void **state)
{
	struct fx *fx = *state;
	int64_t seen = 0, last = 0;
	struct store_sched_lag g;
	struct buf b;
	bool is;
	int n = 0;

	add_pending(fx, "sh", 7, "2026-12-04T10:00:05.000Z", true);
	add_pending(fx, "sh", 7, "2026-12-04T10:00:09.000Z", false);
	add_pending(fx, "sh", 7, "2026-12-04T10:00:01.000Z", true);
	add_pending(fx, "sh", 8, "2026-12-04T10:00:02.000Z", true);
	add_pending(fx, "eap", 7, "2026-12-04T10:00:03.000Z", true);
	expect_pending(fx, NULL, true,
	               "eap 7 2026-12-04T10:00:03.000Z -\n"
	               "sh 7 2026-12-04T10:00:01.000Z -\n"
	               "sh 8 2026-12-04T10:00:02.000Z -\n");
	assert_int_equal(store_sched_pending_attach(fx->st, "sh", 7, "run_1"),
	                 STORE_OK);
	/* A row a run carries keeps its event. */
	add_pending(fx, "sh", 7, "2026-12-04T09:00:00.000Z", false);
	expect_pending(fx, "sh", true, "sh 8 2026-12-04T10:00:02.000Z -\n");
	expect_pending(fx, "sh", false,
	               "sh 7 2026-12-04T10:00:01.000Z run_1\n"
	               "sh 8 2026-12-04T10:00:02.000Z -\n");
	assert_int_equal(store_sched_pending_hold(fx->st, "sh", 8), STORE_OK);
	expect_pending(fx, "sh", true,
	               "sh 8 2026-12-04T10:00:02.000Z - hold\n");
	/* A scheduled run takes every waiting row, held ones included. */
	assert_int_equal(store_sched_pending_attach(fx->st, "sh", 0, "run_2"),
	                 STORE_OK);
	expect_pending(fx, "sh", true, "");
	assert_int_equal(store_sched_pending_release(fx->st, "run_2", true),
	                 STORE_OK);
	expect_pending(fx, "sh", true,
	               "sh 8 2026-12-04T10:00:02.000Z - hold\n");
	assert_int_equal(store_sched_pending_drop(fx->st, "sh", 7), STORE_OK);
	assert_int_equal(store_sched_pending_drop_run(fx->st, "run_1"),
	                 STORE_OK);
	assert_int_equal(store_sched_pending_drop(fx->st, "sh", 8), STORE_OK);
	expect_pending(fx, NULL, false, "eap 7 2026-12-04T10:00:03.000Z -\n");

	/* Off-cycle runs, for the cap. */
	assert_int_equal(
	    store_sched_offcycle_run_add(fx->st, "run_3", "sh", 100), STORE_OK);
	assert_int_equal(
	    store_sched_offcycle_run_add(fx->st, "run_4", "sh", 200), STORE_OK);
	assert_int_equal(
	    store_sched_offcycle_runs_since(fx->st, "sh", 150, count_at, &n),
	    STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_sched_offcycle_run_is(fx->st, "run_3", &is),
	                 STORE_OK);
	assert_true(is);
	assert_int_equal(store_sched_offcycle_run_is(fx->st, "run_9", &is),
	                 STORE_OK);
	assert_false(is);

	/* Schedule state. */
	assert_int_equal(store_sched_schedule_get(fx->st, "sh", &seen, &last),
	                 STORE_NOTFOUND);
	assert_int_equal(store_sched_schedule_put(fx->st, "sh", 1000, 0),
	                 STORE_OK);
	assert_int_equal(store_sched_schedule_put(fx->st, "sh", 1000, 1060),
	                 STORE_OK);
	assert_int_equal(store_sched_schedule_get(fx->st, "sh", &seen, &last),
	                 STORE_OK);
	assert_int_equal(seen, 1000);
	assert_int_equal(last, 1060);

	/* Lags, newest first. */
	memset(&g, 0, sizeof(g));
	g.feed = "sh";
	g.run_id = "run_3";
	g.person_key = "E1";
	g.rid = 7;
	g.kind = "offcycle";
	g.event_at = "2026-12-04T10:00:01.000Z";
	g.delivered_at = "2026-12-04T10:01:03.500Z";
	g.lag_ms = 62500;
	assert_int_equal(store_sched_lag_add(fx->st, &g), STORE_OK);
	g.feed = "eap";
	g.person_key = "E2";
	g.lag_ms = 10;
	assert_int_equal(store_sched_lag_add(fx->st, &g), STORE_OK);
	buf_init(&b, 0);
	assert_int_equal(store_sched_lag_list(fx->st, NULL, 10, lag_line, &b),
	                 STORE_OK);
	assert_string_equal(buf_str(&b), "eap run_3 E2 offcycle 10\n"
	                                 "sh run_3 E1 offcycle 62500\n");
	buf_reset(&b);
	assert_int_equal(store_sched_lag_list(fx->st, "sh", 10, lag_line, &b),
	                 STORE_OK);
	assert_string_equal(buf_str(&b), "sh run_3 E1 offcycle 62500\n");
	buf_free(&b);
}

/* Off-cycle runs. */

static int
render(struct fx *fx, struct store_feed_run *run)
{
	struct feed_render_opts o;
	char *cause = NULL;
	int rc;

	memset(&o, 0, sizeof(o));
	o.as_of = "2026-12-01";
	o.out_dir = fx->out;
	o.want = FEED_WANT_PROFILE;
	o.actor = "tester";
	rc = feed_render(fx->st, fx->p, fx->tenant, &o, run, &cause);
	if (rc != 0)
		fail_msg("%s", cause);
	return rc;
}

static enum feed_offcycle_rc
offcycle(struct fx *fx, const int64_t *rids, size_t n,
         struct store_feed_run *run)
{
	struct feed_render_opts o;
	enum feed_offcycle_rc rc;
	char *cause = NULL;

	memset(&o, 0, sizeof(o));
	o.as_of = "2026-12-02";
	o.out_dir = fx->out;
	o.actor = "rosterd-scheduler";
	rc = feed_render_terms(fx->st, fx->p, fx->tenant, rids, n, &o, run,
	                       &cause);
	if (rc == FEED_OFFCYCLE_ERR)
		fail_msg("%s", cause);
	assert_null(cause);
	return rc;
}

static char *
slurp(const char *dir, const char *name)
{
	char *path = xasprintf("%s/%s", dir, name), *s;
	struct buf b;
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	buf_init(&b, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	free(path);
	buf_addstr(&b, "");
	s = buf_detach(&b);
	return s;
}

/* Today's UTC date as YYYYMMDD: a deactivation's termination date. */
static void
today(char out[9])
{
	char now[32];

	store_now(now, sizeof(now));
	snprintf(out, 9, "%.4s%.2s%.2s", now, now + 5, now + 8);
}

static void
test_offcycle_terms_only(void **state)
{
	struct fx *fx = *state;
	struct store_feed_run run;
	char a[40], b[40], c[40], d[40], *file, day[9], want_file[128];
	int64_t ra, rb, rd, want[2];

	ra = add_user(fx, "E1", "Lovelace", true, a);
	rb = add_user(fx, "E2", "Hopper", true, b);
	add_user(fx, "E3", "Turing", true, c);
	/* Never sent: nothing to terminate off-cycle. */
	want[0] = ra;
	assert_int_equal(offcycle(fx, want, 1, &run), FEED_OFFCYCLE_NEVER);
	assert_null(run.id);
	render(fx, &run);
	assert_string_equal(run.state, STORE_FEED_RENDERED);
	store_feed_run_clear(&run);

	/* Three changes wait; only Hopper's termination is asked for. */
	set_active(fx, b, false);
	set_active(fx, c, false);
	rd = add_user(fx, "E4", "Liskov", true, d);
	want[0] = rb;
	want[1] = rd; /* an add is never sent off-cycle */
	assert_int_equal(offcycle(fx, want, 2, &run), FEED_OFFCYCLE_OK);
	assert_string_equal(run.state, STORE_FEED_RENDERED);
	assert_string_equal(run.mode, "change");
	assert_int_equal(run.terms, 1);
	assert_int_equal(run.adds, 0);
	assert_int_equal(run.total, 1);
	file = slurp(fx->out, run.file_name);
	today(day);
	snprintf(want_file, sizeof(want_file),
	         "member_id,last_name,action,term_date\nE2,Hopper,T,%s\n", day);
	assert_string_equal(file, want_file);
	free(file);
	store_feed_run_clear(&run);

	/* Sent already: asking again finds nothing. */
	assert_int_equal(offcycle(fx, want, 1, &run), FEED_OFFCYCLE_NONE);
	assert_null(run.id);

	/* The scheduled run sends the rest, and not Hopper again. */
	{
		struct feed_render_opts o;
		char *cause = NULL;

		memset(&o, 0, sizeof(o));
		o.as_of = "2026-12-03";
		o.out_dir = fx->out;
		o.actor = "tester";
		assert_int_equal(
		    feed_render(fx->st, fx->p, fx->tenant, &o, &run, &cause),
		    0);
	}
	file = slurp(fx->out, run.file_name);
	snprintf(want_file, sizeof(want_file),
	         "member_id,last_name,action,term_date\nE3,Turing,T,%s\n"
	         "E4,Liskov,A,\n",
	         day);
	assert_string_equal(file, want_file);
	free(file);
	store_feed_run_clear(&run);
}

static void
test_offcycle_refusals(void **state)
{
	struct fx *fx = *state;
	struct store_feed_run run;
	char a[40], b[40], c[40];
	int64_t rb, rc, rids[2];

	add_user(fx, "E1", "Lovelace", true, a);
	rb = add_user(fx, "E2", "Hopper", true, b);
	rc = add_user(fx, "E3", "Turing", true, c);
	render(fx, &run);
	store_feed_run_clear(&run);

	/* Two of three at once exceeds max_terminations_percent 60: held. */
	set_active(fx, b, false);
	delete_user(fx, c);
	rids[0] = rb;
	rids[1] = rc;
	assert_int_equal(offcycle(fx, rids, 2, &run), FEED_OFFCYCLE_OK);
	assert_string_equal(run.state, STORE_FEED_PENDING);
	assert_int_equal(run.terms, 2);
	assert_non_null(strstr(run.held, "max_terminations_percent"));
	store_feed_run_clear(&run);
	/* The held run blocks the feed. */
	assert_int_equal(offcycle(fx, rids, 2, &run), FEED_OFFCYCLE_BUSY);
	assert_null(run.id);
	{
		struct store_feed_state fs;
		char *cause = NULL;

		assert_int_equal(store_feed_state_get(fx->st, "sh", &fs),
		                 STORE_OK);
		assert_int_equal(feed_reject(fx->st, fs.active_run, "tester",
		                             "no", &run, &cause),
		                 0);
		store_feed_state_clear(&fs);
		store_feed_run_clear(&run);
	}
	/* A changed column layout: the restricted plan must not run. */
	fx_profile(fx, "      - {name: first_name, source: name.givenName}\n");
	assert_int_equal(offcycle(fx, rids, 2, &run), FEED_OFFCYCLE_DRIFT);
	assert_null(run.id);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_due_every_minute),
	    cmocka_unit_test(test_due_missed_runs_once),
	    cmocka_unit_test(test_due_weekly_in_zone),
	    cmocka_unit_test(test_due_busy_waits),
	    cmocka_unit_test(test_batch_decide),
	    cmocka_unit_test(test_retry_book),
	    cmocka_unit_test(test_pick_one_per_feed),
	    cmocka_unit_test(test_next_job),
	    cmocka_unit_test(test_lane_plan),
	    cmocka_unit_test(test_max_parallel_config),
	    cmocka_unit_test(test_times),
	    cmocka_unit_test_setup_teardown(test_triggers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pending_rows, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_offcycle_terms_only, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_offcycle_refusals, setup,
	                                    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
