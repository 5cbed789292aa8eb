/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * Unit tests for plans, the approval policy and runs, against a temporary
 * SQLite store filled with store_res_insert(): every outcome (add,
 * change with its columns, termination with reason and date,
 * reinstatement, unchanged), caches, approvals, rejections and the files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "cfg/cfg.h"
#include "feed/plan.h"
#include "feed/profile.h"
#include "feed/run.h"
#include "store/store.h"
#include "store/store_feed.h"
#include "store/store_hris.h"
#include "util/buf.h"
#include "util/xmalloc.h"

#define URN_USER "urn:ietf:params:scim:schemas:core:2.0:User"
#define ELIG "urn:rosterd:params:scim:schemas:extension:eligibility:1.0:User"

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
	struct buf log; /* outcomes of the last plan, one per line */
};

static const char profile_yaml[] = "feeds:\n"
                                   "  sh:\n"
                                   "    tenant: acme\n"
                                   "    eligibility: '%s'\n"
                                   "    mode: change\n"
                                   "    format: csv\n"
                                   "    line_ending: lf\n"
                                   "%s%s%s";

static const char default_columns[] =
    "    columns:\n"
    "      - {name: member_id, source: externalId}\n"
    "      - {name: first_name, source: name.givenName}\n"
    "      - {name: last_name, source: name.familyName}\n"
    "      - {name: email, source: 'emails[type eq \"work\"].value'}\n"
    "      - {name: action, source: $action, map: {add: A, change: C, "
    "terminate: T, reinstate: R, none: ''}}\n"
    "      - {name: term_date, source: $term_date, date_format: "
    "'%Y%m%d'}\n";

#define RULE_FT "active eq true and eligibility:eligibilityClass eq \"FT\""

static void
fx_profile_rule(struct fx *fx, const char *rule, const char *extra)
{
	char *cause = NULL;
	FILE *f;

	feed_profiles_free(fx->ps);
	cfg_free(fx->cfg);
	fx->ps = NULL;
	fx->cfg = NULL;
	f = fopen(fx->cfgpath, "w");
	assert_non_null(f);
	fprintf(f, profile_yaml, rule,
	        strstr(extra, "columns:") != NULL ? "" : default_columns, extra,
	        strstr(extra, "file_name") != NULL
	            ? ""
	            : "    file_name: '{feed}-{date}-{seq}.csv'\n");
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

static void
fx_profile(struct fx *fx, const char *extra)
{
	fx_profile_rule(fx, RULE_FT, extra);
}

static int
setup(void **state)
{
	struct fx *fx = xcalloc(1, sizeof(*fx));
	struct store_tenant t;
	char *cause = NULL;

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/rosterd-feed-XXXXXX");
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
	buf_init(&fx->log, 0);
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
	buf_free(&fx->log);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

/* People. */

struct who {
	const char *ext; /* externalId, or NULL */
	const char *given;
	const char *family;
	const char *cls; /* eligibilityClass */
	bool active;
	const char *status;   /* employmentStatus or NULL */
	const char *termdate; /* terminationDate or NULL */
};

static char *
user_doc(const struct who *w, const char *user)
{
	json_t *d, *elig;
	char *s;

	elig = json_pack("{ss}", "eligibilityClass", w->cls);
	if (w->status != NULL)
		json_object_set_new(elig, "employmentStatus",
		                    json_string(w->status));
	if (w->termdate != NULL)
		json_object_set_new(elig, "terminationDate",
		                    json_string(w->termdate));
	d = json_pack("{s[ss] ss s{ssss} s[{ssss}{ssss}] sb so}", "schemas",
	              URN_USER, ELIG, "userName", user, "name", "givenName",
	              w->given, "familyName", w->family, "emails", "value",
	              "home@example.com", "type", "home", "value", user, "type",
	              "work", "active", w->active, ELIG, elig);
	if (w->ext != NULL)
		json_object_set_new(d, "externalId", json_string(w->ext));
	s = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	return s;
}

static char *
user_name(const struct who *w)
{
	return xasprintf("%s.%s@example.com", w->given, w->family);
}

/* Insert a user; returns its SCIM id (caller frees). */
static char *
add_user(struct fx *fx, const struct who *w)
{
	struct store_actor actor = {NULL, "cli"};
	struct store_res r;
	char id[40], now[32], *name = user_name(w), *out;

	memset(&r, 0, sizeof(r));
	store_uuid(id, sizeof(id));
	store_now(now, sizeof(now));
	r.tenant_id = fx->tenant;
	r.type = STORE_USER;
	r.id = id;
	r.name = name;
	r.external_id = (char *)w->ext;
	r.active = w->active;
	r.doc = user_doc(w, name);
	r.created = now;
	r.modified = now;
	assert_int_equal(store_res_insert(fx->st, &r, &actor), STORE_OK);
	free(r.doc);
	free(name);
	out = xstrdup(id);
	return out;
}

static void
update_user(struct fx *fx, const char *id, const struct who *w)
{
	struct store_actor actor = {NULL, "scim"};
	struct store_res r;
	char *name = user_name(w);

	assert_int_equal(store_res_get(fx->st, fx->tenant, STORE_USER, id, &r),
	                 STORE_OK);
	free(r.doc);
	free(r.name);
	free(r.external_id);
	r.doc = user_doc(w, name);
	r.name = name;
	r.external_id = w->ext != NULL ? xstrdup(w->ext) : NULL;
	r.active = w->active;
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

/* Plans. */

static int
log_emit(const struct feed_outcome *o, void *arg)
{
	struct buf *b = arg;

	buf_addf(b, "%s %s", feed_out_action(o->kind), o->key);
	if (o->kind == FEED_OUT_CHANGE)
		buf_addf(b, " [%s]", o->e->changed);
	if (o->kind == FEED_OUT_TERM)
		buf_addf(b, " %s %s", o->e->term_reason, o->e->term_date);
	if (o->kind == FEED_OUT_ERROR)
		buf_addf(b, " %s", o->error);
	buf_addch(b, '\n');
	return 0;
}

static struct feed_plan_counts
plan(struct fx *fx, const char *as_of)
{
	struct store_feed_state fs;
	struct feed_plan pl;
	char *cause = NULL;

	buf_reset(&fx->log);
	assert_int_equal(store_feed_state_get(fx->st, "sh", &fs), STORE_OK);
	memset(&pl, 0, sizeof(pl));
	pl.st = fx->st;
	pl.p = fx->p;
	pl.tenant_id = fx->tenant;
	pl.fs = &fs;
	pl.as_of = as_of;
	pl.emit = log_emit;
	pl.arg = &fx->log;
	assert_int_equal(feed_plan_run(&pl, &cause), 0);
	assert_null(cause);
	store_feed_state_clear(&fs);
	return pl.counts;
}

/* Only the outcomes a vendor sees (add, change, term, reinstate). */
static char *
sent(const struct fx *fx)
{
	const char *l = buf_str(&fx->log), *e;
	struct buf b;

	buf_init(&b, 0);
	for (; *l != '\0'; l = e + 1) {
		e = strchr(l, '\n');
		if (strncmp(l, "add ", 4) == 0 ||
		    strncmp(l, "change ", 7) == 0 ||
		    strncmp(l, "term ", 5) == 0 ||
		    strncmp(l, "reinstate ", 10) == 0)
			buf_add(&b, l, (size_t)(e - l) + 1);
	}
	return buf_detach(&b);
}

static void
expect_sent(const struct fx *fx, const char *want)
{
	char *got = sent(fx);

	if (strcmp(got, want) != 0)
		fprintf(stderr, "got:\n%s\nwant:\n%s\n", got, want);
	assert_string_equal(got, want);
	free(got);
}

static int
render(struct fx *fx, const char *as_of, enum feed_want want,
       struct store_feed_run *run, char **cause)
{
	struct feed_render_opts o;

	memset(&o, 0, sizeof(o));
	o.as_of = as_of;
	o.out_dir = fx->out;
	o.want = want;
	o.actor = "tester";
	return feed_render(fx->st, fx->p, fx->tenant, &o, run, cause);
}

static void
approve(struct fx *fx, const char *id, struct store_feed_run *run)
{
	struct feed_render_opts o;
	char *cause = NULL;

	memset(&o, 0, sizeof(o));
	o.actor = "alice";
	store_feed_run_clear(run);
	assert_int_equal(
	    feed_approve(fx->st, fx->p, id, "alice", NULL, &o, run, &cause), 0);
	assert_null(cause);
}

static char *
slurp(const char *dir, const char *name)
{
	char path[512], *s;
	struct stat sb;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fstat(fileno(f), &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	s = xcalloc(1, (size_t)sb.st_size + 1);
	n = fread(s, 1, (size_t)sb.st_size, f);
	assert_int_equal(n, (size_t)sb.st_size);
	fclose(f);
	return s;
}

static const struct who ada = {"E1", "Ada", "Lovelace", "FT", true, NULL, NULL};
static const struct who grace = {"E2", "Grace", "Hopper", "FT",
                                 true, NULL,    NULL};
static const struct who alan = {"E3", "Alan", "Turing", "FT", true, NULL, NULL};
static const struct who part = {"E4", "Pat", "Part", "PT", true, NULL, NULL};
static const struct who nokey = {NULL, "No", "Key", "FT", true, NULL, NULL};
static const struct who twin = {"E2", "Dup", "Licate", "FT", true, NULL, NULL};

/* The first plan: adds in key order, the rest counted. */
static void
test_first_plan(void **state)
{
	struct fx *fx = *state;
	struct feed_plan_counts c;
	char *ids[6];
	int i;

	ids[0] = add_user(fx, &grace);
	ids[1] = add_user(fx, &ada);
	ids[2] = add_user(fx, &alan);
	ids[3] = add_user(fx, &part);
	ids[4] = add_user(fx, &nokey);
	ids[5] = add_user(fx, &twin);
	c = plan(fx, "2026-12-01");
	expect_sent(fx, "add E1\nadd E2\nadd E3\n");
	assert_non_null(strstr(buf_str(&fx->log), "duplicate E2\n"));
	assert_non_null(strstr(buf_str(&fx->log), "exclude E4\n"));
	assert_int_equal(c.adds, 3);
	assert_int_equal(c.changes + c.terms + c.reinstates, 0);
	assert_int_equal(c.roster_before, 0);
	assert_int_equal(c.roster_after, 3);
	assert_int_equal(c.excluded, 1);
	assert_int_equal(c.no_key, 1);
	assert_int_equal(c.duplicates, 1);
	assert_int_equal(c.people, 4);
	assert_int_equal(c.evaluated, 4);
	assert_int_equal(feed_plan_total(fx->p, true, &c), 3);
	assert_int_equal(feed_plan_total(fx->p, false, &c), 3);
	for (i = 0; i < 6; i++)
		free(ids[i]);
}

/* First run held, approved, written; a second plan has nothing to do. */
static void
test_render_cycle(void **state)
{
	struct fx *fx = *state;
	struct store_feed_run run, other;
	struct store_feed_state fs;
	struct feed_plan_counts c;
	char *cause = NULL, *file, *id, *ids[4];

	ids[0] = add_user(fx, &ada);
	ids[1] = add_user(fx, &grace);
	ids[2] = add_user(fx, &alan);
	ids[3] = add_user(fx, &part);
	assert_int_equal(
	    render(fx, "2026-12-01", FEED_WANT_PROFILE, &run, &cause), 0);
	assert_string_equal(run.state, STORE_FEED_PENDING);
	assert_string_equal(run.held, "[\"first run of the feed\"]");
	assert_null(run.file_name);
	assert_int_equal(run.adds, 3);
	assert_int_equal(run.total, 3);
	assert_int_equal(access(fx->out, F_OK), -1); /* nothing written */
	/* While it waits, no other run can start. */
	assert_int_equal(
	    render(fx, "2026-12-01", FEED_WANT_PROFILE, &other, &cause), -1);
	assert_non_null(strstr(cause, "has an unfinished run"));
	free(cause);
	cause = NULL;
	store_feed_run_clear(&other);
	id = xstrdup(run.id);
	approve(fx, id, &run);
	assert_string_equal(run.state, STORE_FEED_RENDERED);
	assert_string_equal(run.decided_by, "alice");
	assert_string_equal(run.file_name, "sh-20261201-1.csv");
	file = slurp(fx->out, run.file_name);
	assert_string_equal(file,
	                    "member_id,first_name,last_name,email,action,"
	                    "term_date\n"
	                    "E1,Ada,Lovelace,Ada.Lovelace@example.com,A,\n"
	                    "E2,Grace,Hopper,Grace.Hopper@example.com,A,\n"
	                    "E3,Alan,Turing,Alan.Turing@example.com,A,\n");
	assert_int_equal(run.file_size, (int64_t)strlen(file));
	assert_int_equal(strlen(run.file_sha256), 64);
	free(file);
	/* Approving twice is refused. */
	store_feed_run_clear(&other);
	{
		struct feed_render_opts o = {0};

		o.actor = "bob";
		assert_int_equal(feed_approve(fx->st, fx->p, id, "bob", NULL,
		                              &o, &other, &cause),
		                 -1);
		assert_string_equal(cause + strlen(id) + 4,
		                    " is rendered; only a run pending approval "
		                    "can be approved");
		free(cause);
		cause = NULL;
		store_feed_run_clear(&other);
	}
	assert_int_equal(store_feed_state_get(fx->st, "sh", &fs), STORE_OK);
	assert_int_equal(fs.roster, 3);
	assert_int_equal(fs.seq, 1);
	assert_int_equal(fs.file_seq, 1);
	assert_string_equal(fs.layout_hash, fx->p->layout_hash);
	assert_null(fs.active_run);
	store_feed_state_clear(&fs);
	c = plan(fx, "2026-12-02");
	expect_sent(fx, "");
	assert_int_equal(c.unchanged, 3);
	assert_int_equal(c.excluded, 1);
	assert_int_equal(c.evaluated, 0); /* nothing read: all cached */
	store_feed_run_clear(&run);
	free(id);
	for (int i = 0; i < 4; i++)
		free(ids[i]);
}

/* Bring the feed to "rendered once" with ada, grace, alan. */
static void
baseline(struct fx *fx, char *ids[5])
{
	struct store_feed_run run;
	char *cause = NULL, *id;

	ids[0] = add_user(fx, &ada);
	ids[1] = add_user(fx, &grace);
	ids[2] = add_user(fx, &alan);
	ids[3] = add_user(fx, &part);
	ids[4] = NULL;
	assert_int_equal(
	    render(fx, "2026-12-01", FEED_WANT_PROFILE, &run, &cause), 0);
	if (strcmp(run.state, STORE_FEED_PENDING) == 0) {
		id = xstrdup(run.id);
		approve(fx, id, &run);
		free(id);
	}
	assert_string_equal(run.state, STORE_FEED_RENDERED);
	store_feed_run_clear(&run);
}

static void
free_ids(char *ids[5])
{
	for (int i = 0; i < 5; i++)
		free(ids[i]);
}

/* Every outcome of a change file, with reasons, dates and columns. */
static void
test_change_outcomes(void **state)
{
	struct fx *fx = *state;
	struct who w;
	struct feed_plan_counts c;
	struct store_feed_run run;
	char *ids[5], *cause = NULL, *file, *id, *hire;
	char today[16], now[32], want[512];

	baseline(fx, ids);
	/* ada: a new family name; grace: terminated with a date; alan:
	 * moved to part time; pat: made full time; a new hire. */
	w = ada;
	w.family = "King";
	update_user(fx, ids[0], &w);
	w = grace;
	w.active = false;
	w.status = "terminated";
	w.termdate = "2026-11-28";
	w.family = "Murray"; /* her row says so: values as they are now */
	update_user(fx, ids[1], &w);
	w = alan;
	w.cls = "PT";
	update_user(fx, ids[2], &w);
	w = part;
	w.cls = "FT";
	update_user(fx, ids[3], &w);
	w = ada;
	w.ext = "E0";
	w.given = "Hedy";
	w.family = "Lamarr";
	hire = add_user(fx, &w);
	c = plan(fx, "2026-12-05");
	expect_sent(fx, "add E0\n"
	                "change E1 [last_name,email]\n"
	                "term E2 terminated 2026-11-28\n"
	                "term E3 ineligible 2026-12-05\n"
	                "add E4\n");
	assert_int_equal(c.adds, 2);
	assert_int_equal(c.changes, 1);
	assert_int_equal(c.terms, 2);
	assert_int_equal(c.roster_before, 3);
	assert_int_equal(c.roster_after, 3);
	assert_int_equal(c.evaluated, 5);
	/* 2 of 3 terminated: far above the default 10%. */
	assert_int_equal(
	    render(fx, "2026-12-05", FEED_WANT_PROFILE, &run, &cause), 0);
	assert_string_equal(run.state, STORE_FEED_PENDING);
	assert_string_equal(run.held, "[\"terminations: 2 of 3 members (66.7%) "
	                              "exceed max_terminations_percent 10\"]");
	id = xstrdup(run.id);
	approve(fx, id, &run);
	file = slurp(fx->out, run.file_name);
	assert_string_equal(file, "member_id,first_name,last_name,email,action,"
	                          "term_date\n"
	                          "E0,Hedy,Lamarr,Hedy.Lamarr@example.com,A,\n"
	                          "E1,Ada,King,Ada.King@example.com,C,\n"
	                          "E2,Grace,Murray,Grace.Murray@example.com,T,"
	                          "20261128\n"
	                          "E3,Alan,Turing,Alan.Turing@example.com,T,"
	                          "20261205\n"
	                          "E4,Pat,Part,Pat.Part@example.com,A,\n");
	free(file);
	store_feed_run_clear(&run);
	free(id);
	/* Nothing left to do; then deletion and deactivation. */
	plan(fx, "2026-12-06");
	expect_sent(fx, "");
	delete_user(fx, ids[0]);
	w = part;
	w.cls = "FT";
	w.active = false;
	update_user(fx, ids[3], &w);
	store_now(now, sizeof(now));
	snprintf(today, sizeof(today), "%.10s", now);
	c = plan(fx, "2026-12-07");
	snprintf(want, sizeof(want),
	         "term E1 deleted %s\nterm E4 inactive %s\n", today, today);
	expect_sent(fx, want);
	assert_int_equal(c.terms, 2);
	/* Alan back to full time: a reinstatement. */
	w = alan;
	update_user(fx, ids[2], &w);
	plan(fx, "2026-12-07");
	snprintf(want, sizeof(want),
	         "term E1 deleted %s\nreinstate E3\nterm E4 inactive %s\n",
	         today, today);
	expect_sent(fx, want);
	free_ids(ids);
	free(hire);
}

/* A new version with the same values is not sent but remembered. */
static void
test_same_values(void **state)
{
	struct fx *fx = *state;
	struct feed_plan_counts c;
	struct store_feed_run run;
	char *ids[5], *cause = NULL;

	baseline(fx, ids);
	update_user(fx, ids[0], &ada);
	c = plan(fx, "2026-12-02");
	expect_sent(fx, "");
	assert_string_equal(buf_str(&fx->log), "same E1\n");
	assert_int_equal(c.unchanged, 3);
	assert_int_equal(c.evaluated, 1);
	assert_int_equal(
	    render(fx, "2026-12-02", FEED_WANT_PROFILE, &run, &cause), 0);
	assert_string_equal(run.state, STORE_FEED_RENDERED);
	assert_int_equal(run.total, 0);
	store_feed_run_clear(&run);
	c = plan(fx, "2026-12-03");
	assert_int_equal(c.evaluated, 0);
	assert_string_equal(buf_str(&fx->log), "");
	free_ids(ids);
}

/* A changed externalId: the old key leaves, the new one arrives. */
static void
test_key_change(void **state)
{
	struct fx *fx = *state;
	struct store_feed_run run;
	struct who w;
	char *ids[5], *cause = NULL, *id, *file;

	baseline(fx, ids);
	w = alan;
	w.ext = "E9";
	update_user(fx, ids[2], &w);
	plan(fx, "2026-12-02");
	expect_sent(fx, "term E3 key_changed 2026-12-02\nadd E9\n");
	/* The termination names the key the vendor knows, not the new one. */
	assert_int_equal(
	    render(fx, "2026-12-02", FEED_WANT_PROFILE, &run, &cause), 0);
	id = xstrdup(run.id);
	store_feed_run_clear(&run);
	approve(fx, id, &run);
	file = slurp(fx->out, run.file_name);
	assert_string_equal(file,
	                    "member_id,first_name,last_name,email,action,"
	                    "term_date\n"
	                    "E3,Alan,Turing,Alan.Turing@example.com,T,"
	                    "20261202\n"
	                    "E9,Alan,Turing,Alan.Turing@example.com,A,\n");
	free(file);
	free(id);
	store_feed_run_clear(&run);
	free_ids(ids);
}

/* A rejected run changes nothing; the next render plans it again. */
static void
test_reject(void **state)
{
	struct fx *fx = *state;
	struct store_feed_run run, again;
	struct who w;
	char *ids[5], *cause = NULL, *id;

	baseline(fx, ids);
	w = grace;
	w.active = false;
	update_user(fx, ids[1], &w);
	assert_int_equal(
	    render(fx, "2026-12-02", FEED_WANT_PROFILE, &run, &cause), 0);
	assert_string_equal(run.state, STORE_FEED_PENDING);
	id = xstrdup(run.id);
	store_feed_run_clear(&run);
	assert_int_equal(feed_reject(fx->st, id, "carol", "HR export truncated",
	                             &run, &cause),
	                 0);
	assert_string_equal(run.state, STORE_FEED_REJECTED);
	assert_string_equal(run.decided_by, "carol");
	assert_string_equal(run.reason, "HR export truncated");
	assert_non_null(run.decided_at);
	store_feed_run_clear(&run);
	assert_int_equal(
	    feed_reject(fx->st, id, "carol", "again", &run, &cause), -1);
	free(cause);
	cause = NULL;
	store_feed_run_clear(&run);
	assert_int_equal(access(fx->out, F_OK), 0);
	plan(fx, "2026-12-02");
	assert_non_null(strstr(buf_str(&fx->log), "term E2 inactive"));
	assert_int_equal(
	    render(fx, "2026-12-02", FEED_WANT_PROFILE, &again, &cause), 0);
	assert_string_equal(again.state, STORE_FEED_PENDING);
	assert_int_equal(again.seq, 3);
	store_feed_run_clear(&again);
	free(id);
	free_ids(ids);
}

/* Full files, look-back and omission. */
static void
test_full_lookback(void **state)
{
	struct fx *fx = *state;
	struct store_feed_run run;
	struct who w;
	char *ids[5], *cause = NULL, *file, *id;

	fx_profile(fx, "    terminations: lookback\n"
	               "    lookback_days: 10\n"
	               "    approval: {max_terminations_percent: 50}\n");
	baseline(fx, ids);
	w = grace;
	w.active = false;
	w.status = "terminated";
	w.termdate = "2026-12-01";
	update_user(fx, ids[1], &w);
	assert_int_equal(render(fx, "2026-12-02", FEED_WANT_FULL, &run, &cause),
	                 0);
	assert_string_equal(run.state, STORE_FEED_RENDERED);
	assert_int_equal(run.total, 3);
	file = slurp(fx->out, run.file_name);
	assert_string_equal(file, "member_id,first_name,last_name,email,action,"
	                          "term_date\n"
	                          "E1,Ada,Lovelace,Ada.Lovelace@example.com,,\n"
	                          "E2,Grace,Hopper,Grace.Hopper@example.com,T,"
	                          "20261201\n"
	                          "E3,Alan,Turing,Alan.Turing@example.com,,\n");
	free(file);
	store_feed_run_clear(&run);
	/* Ten days after: still there; eleven: gone. */
	assert_int_equal(render(fx, "2026-12-11", FEED_WANT_FULL, &run, &cause),
	                 0);
	assert_int_equal(run.total, 3);
	store_feed_run_clear(&run);
	assert_int_equal(render(fx, "2026-12-12", FEED_WANT_FULL, &run, &cause),
	                 0);
	assert_int_equal(run.total, 2);
	file = slurp(fx->out, run.file_name);
	assert_null(strstr(file, "E2"));
	free(file);
	store_feed_run_clear(&run);
	/* A change file still carries nothing: the term went out once. */
	assert_int_equal(
	    render(fx, "2026-12-12", FEED_WANT_CHANGES, &run, &cause), 0);
	assert_int_equal(run.total, 0);
	id = xstrdup(run.file_name);
	file = slurp(fx->out, id);
	assert_string_equal(file, "member_id,first_name,last_name,email,action,"
	                          "term_date\n");
	free(file);
	free(id);
	store_feed_run_clear(&run);
	free_ids(ids);
}

/* The same state and as-of give the same bytes; names never collide. */
static void
test_reproducible(void **state)
{
	struct fx *fx = *state;
	struct store_feed_run a, b;
	char *ids[5], *cause = NULL, *fa, *fb;

	fx_profile(fx, "    approval: {first_run: false}\n"
	               "    file_name: 'x-{date}.csv'\n");
	baseline(fx, ids);
	/* Same as-of, full file, twice: the second would take the same name
	 * with the same bytes, which publish() accepts. */
	assert_int_equal(render(fx, "2026-12-03", FEED_WANT_FULL, &a, &cause),
	                 0);
	fa = slurp(fx->out, a.file_name);
	assert_int_equal(render(fx, "2026-12-03", FEED_WANT_FULL, &b, &cause),
	                 0);
	fb = slurp(fx->out, b.file_name);
	assert_string_equal(a.file_name, b.file_name);
	assert_string_equal(a.file_sha256, b.file_sha256);
	assert_string_equal(fa, fb);
	free(fa);
	free(fb);
	store_feed_run_clear(&a);
	store_feed_run_clear(&b);
	/* A different file under the same name is refused, run failed. */
	{
		struct who w = ada;

		w.given = "Augusta";
		update_user(fx, ids[0], &w);
	}
	assert_int_equal(render(fx, "2026-12-03", FEED_WANT_FULL, &a, &cause),
	                 -1);
	assert_non_null(strstr(cause, "already exists with other contents"));
	assert_string_equal(a.state, STORE_FEED_FAILED);
	free(cause);
	store_feed_run_clear(&a);
	free_ids(ids);
}

/* A rule change re-evaluates everyone; a layout change holds the run. */
static void
test_layout_and_rule_change(void **state)
{
	struct fx *fx = *state;
	struct feed_plan_counts c;
	struct store_feed_run run;
	char *ids[5], *cause = NULL;

	baseline(fx, ids);
	c = plan(fx, "2026-12-02");
	assert_int_equal(c.evaluated, 0);
	/* Everyone active is eligible now: pat joins. */
	fx_profile_rule(fx, "active eq true",
	                "    approval: {max_terminations_percent: 100}\n");
	c = plan(fx, "2026-12-02");
	expect_sent(fx, "add E4\n");
	assert_int_equal(c.evaluated, 4);
	/* A renamed column: the vendor's layout changed, so the run waits,
	 * and every member's values are recomputed (the same ones here). */
	fx_profile_rule(fx, RULE_FT,
	                "    approval: {max_terminations_percent: 100}\n"
	                "      # comment\n");
	{
		struct feed_profile *p = (struct feed_profile *)fx->p;

		free(p->cols[3].header);
		p->cols[3].header = xstrdup("Work email");
		p->fcols[3].header = p->cols[3].header;
		memset(p->layout_hash, 'b', FEED_HASH_LEN);
	}
	c = plan(fx, "2026-12-02");
	expect_sent(fx, "");
	assert_int_equal(c.evaluated, 0);
	assert_int_equal(
	    render(fx, "2026-12-02", FEED_WANT_PROFILE, &run, &cause), 0);
	assert_string_equal(run.state, STORE_FEED_PENDING);
	assert_string_equal(run.held, "[\"the column layout changed since the "
	                              "last file\"]");
	store_feed_run_clear(&run);
	free_ids(ids);
}

/* The policy's thresholds: just below, at and just above. */
static void
test_policy(void **state)
{
	struct fx *fx = *state;
	struct store_feed_state fs;
	struct feed_plan_counts c;
	struct buf r;

	fx_profile(fx, "    approval: {first_run: true, layout_change: true, "
	               "max_terminations_percent: 10, max_changes: 20}\n");
	memset(&fs, 0, sizeof(fs));
	memset(&c, 0, sizeof(c));
	buf_init(&r, 0);
	fs.layout_hash = (char *)fx->p->layout_hash; /* not a first run */
	c.roster_before = 200;
	c.terms = 19; /* 9.5% */
	assert_false(feed_policy_hold(fx->p, &fs, &c, &r));
	assert_string_equal(buf_str(&r), "");
	c.terms = 20; /* 10%: at the limit is fine */
	assert_false(feed_policy_hold(fx->p, &fs, &c, &r));
	c.terms = 21; /* 10.5% */
	assert_true(feed_policy_hold(fx->p, &fs, &c, &r));
	assert_string_equal(buf_str(&r), "[\"terminations: 21 of 200 members "
	                                 "(10.5%) exceed "
	                                 "max_terminations_percent 10\","
	                                 "\"changes: 21 exceed max_changes "
	                                 "20\"]");
	buf_reset(&r);
	c.terms = 0;
	c.adds = 19;
	assert_false(feed_policy_hold(fx->p, &fs, &c, &r));
	c.changes = 1; /* 20: at */
	assert_false(feed_policy_hold(fx->p, &fs, &c, &r));
	c.reinstates = 1; /* 21: above */
	assert_true(feed_policy_hold(fx->p, &fs, &c, &r));
	assert_string_equal(buf_str(&r), "[\"changes: 21 exceed max_changes "
	                                 "20\"]");
	buf_reset(&r);
	memset(&c, 0, sizeof(c));
	fs.layout_hash = NULL;
	assert_true(feed_policy_hold(fx->p, &fs, &c, &r));
	assert_string_equal(buf_str(&r), "[\"first run of the feed\"]");
	buf_reset(&r);
	fs.layout_hash = (char *)"0000";
	assert_true(feed_policy_hold(fx->p, &fs, &c, &r));
	assert_string_equal(buf_str(&r), "[\"the column layout changed since "
	                                 "the last file\"]");
	buf_reset(&r);
	/* Turned off, nothing holds. */
	fx_profile(fx, "    approval: {first_run: false, layout_change: false, "
	               "max_terminations_percent: ~}\n");
	c.roster_before = 10;
	c.terms = 10;
	assert_false(feed_policy_hold(fx->p, &fs, &c, &r));
	buf_free(&r);
}

/* Values that cannot be written stop the render, not the plan. */
static void
test_errors_block_render(void **state)
{
	struct fx *fx = *state;
	struct feed_plan_counts c;
	struct store_feed_run run;
	char *id, *cause = NULL;

	fx_profile(fx, "    approval: {first_run: false}\n"
	               "    key: externalId\n");
	{
		struct feed_profile *p = (struct feed_profile *)fx->p;

		p->cols[2].width = 4; /* last_name: "Lovelace" is 8 bytes */
	}
	id = add_user(fx, &ada);
	c = plan(fx, "2026-12-01");
	assert_int_equal(c.errors, 1);
	assert_string_equal(buf_str(&fx->log),
	                    "error E1 column last_name: \"Lovelace\" is 8 "
	                    "bytes, wider than width 4 (set truncate: true to "
	                    "cut it)\n");
	assert_int_equal(
	    render(fx, "2026-12-01", FEED_WANT_PROFILE, &run, &cause), -1);
	assert_string_equal(cause, "1 member cannot be written (first: E1: "
	                           "column last_name: \"Lovelace\" is 8 bytes, "
	                           "wider than width 4 (set truncate: true to "
	                           "cut it)); see rosterd feed plan sh");
	free(cause);
	store_feed_run_clear(&run);
	free(id);
}

/* Runs and their history. */
static int
count_run(const struct store_feed_run *r, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static int
collect_event(const struct store_feed_event *e, void *arg)
{
	buf_addf(arg, "%s>%s by %s\n", e->from_state ? e->from_state : "-",
	         e->to_state, e->actor);
	return 0;
}

static void
test_runs_and_events(void **state)
{
	struct fx *fx = *state;
	struct store_feed_run run;
	char *ids[5], *cause = NULL;
	struct buf ev;
	struct who w;
	int n = 0;

	baseline(fx, ids);
	w = ada;
	w.family = "Byron";
	update_user(fx, ids[0], &w);
	assert_int_equal(
	    render(fx, "2026-12-02", FEED_WANT_PROFILE, &run, &cause), 0);
	assert_int_equal(store_feed_run_list(fx->st, "sh", count_run, &n),
	                 STORE_OK);
	assert_int_equal(n, 2);
	buf_init(&ev, 0);
	assert_int_equal(
	    store_feed_run_events(fx->st, run.id, collect_event, &ev),
	    STORE_OK);
	assert_string_equal(buf_str(&ev), "->planned by tester\n"
	                                  "planned>approved by tester\n"
	                                  "approved>rendered by tester\n");
	buf_free(&ev);
	store_feed_run_clear(&run);
	assert_int_equal(store_feed_run_get(fx->st, "run_nope", &run),
	                 STORE_NOTFOUND);
	free_ids(ids);
}

static int
count_dep(const struct store_hris_dependent *d, void *arg)
{
	(void)d;
	(void)arg;
	return 0;
}

/* Dependents (HRIS import): after their subscriber, with own names. */
static void
put_dep(struct fx *fx, const char *sub_id, const char *key, const char *rel,
        const char *first, const char *dob, int64_t run)
{
	struct store_hris_dependent d;
	struct store_res r;
	int change;

	assert_int_equal(
	    store_res_get(fx->st, fx->tenant, STORE_USER, sub_id, &r),
	    STORE_OK);
	memset(&d, 0, sizeof(d));
	d.tenant_id = fx->tenant;
	d.employee_rid = r.rid;
	d.key = (char *)key;
	d.relationship = (char *)rel;
	d.first_name = (char *)first;
	d.last_name = (char *)"Lovelace";
	d.birth_date = (char *)dob;
	d.gender = (char *)(strcmp(rel, "SP") == 0 ? "M" : "F");
	assert_int_equal(store_hris_dep_put(fx->st, &d, run, &change),
	                 STORE_OK);
	store_res_clear(&r);
}

static void
test_dependents(void **state)
{
	struct fx *fx = *state;
	struct feed_plan_counts c;
	struct store_feed_run run;
	struct store_res r;
	struct who w;
	char *ids[3], *cause = NULL, *file;
	int64_t removed;

	/* A dependent-aware layout. */
	fx_profile_rule(
	    fx, RULE_FT,
	    "    approval: {first_run: false, max_terminations_percent: 100}\n"
	    "    columns:\n"
	    "      - {name: member_id, source: $key}\n"
	    "      - {name: person, source: $member_key}\n"
	    "      - {name: rel, source: $relationship, map: {SP: '01', CH: "
	    "'19', '18': '18'}}\n"
	    "      - {name: first, source: name.givenName}\n"
	    "      - {name: last, source: name.familyName}\n"
	    "      - {name: gender, source: $gender, default: U}\n"
	    "      - {name: action, source: $action}\n");
	ids[0] = add_user(fx, &ada);
	ids[1] = add_user(fx, &grace);
	ids[2] = NULL;
	put_dep(fx, ids[0], "SP", "SP", "William", "1805-09-21", 1);
	put_dep(fx, ids[0], "CH1", "CH", "Byron", "1836-05-12", 1);
	c = plan(fx, "2026-12-01");
	expect_sent(fx, "add E1\nadd E1\x1d"
	                "CH1\nadd E1\x1dSP\nadd E2\n");
	assert_int_equal(c.adds, 4);
	assert_int_equal(c.roster_after, 4);
	assert_int_equal(
	    render(fx, "2026-12-01", FEED_WANT_PROFILE, &run, &cause), 0);
	assert_string_equal(run.state, STORE_FEED_RENDERED);
	file = slurp(fx->out, run.file_name);
	assert_string_equal(file, "member_id,person,rel,first,last,gender,"
	                          "action\n"
	                          "E1,E1,18,Ada,Lovelace,U,add\n"
	                          "E1,E1-CH1,19,Byron,Lovelace,F,add\n"
	                          "E1,E1-SP,01,William,Lovelace,M,add\n"
	                          "E2,E2,18,Grace,Hopper,U,add\n");
	free(file);
	store_feed_run_clear(&run);
	c = plan(fx, "2026-12-02");
	expect_sent(fx, "");
	assert_int_equal(c.unchanged, 4);
	assert_int_equal(c.evaluated, 0);
	/* The child renamed: only the child changes. */
	put_dep(fx, ids[0], "CH1", "CH", "Ada Byron", "1836-05-12", 2);
	c = plan(fx, "2026-12-02");
	expect_sent(fx, "change E1\x1d"
	                "CH1 [first]\n");
	/* The spouse removed from the HR data: terminated. */
	assert_int_equal(
	    store_res_get(fx->st, fx->tenant, STORE_USER, ids[0], &r),
	    STORE_OK);
	assert_int_equal(
	    store_hris_dep_walk(fx->st, fx->tenant, r.rid, count_dep, &removed),
	    STORE_OK);
	assert_int_equal(store_hris_dep_prune(fx->st, r.rid, 2, &removed),
	                 STORE_OK);
	assert_int_equal(removed, 1);
	store_res_clear(&r);
	c = plan(fx, "2026-12-03");
	expect_sent(fx, "change E1\x1d"
	                "CH1 [first]\n"
	                "term E1\x1dSP dependent_removed 2026-12-03\n");
	assert_int_equal(
	    render(fx, "2026-12-03", FEED_WANT_PROFILE, &run, &cause), 0);
	store_feed_run_clear(&run);
	/* The subscriber leaves: the child goes with her, same reason,
	 * both rows with their values as they are now (a new family name,
	 * a new first name the same day). */
	w = ada;
	w.active = false;
	w.status = "terminated";
	w.termdate = "2026-12-15";
	w.family = "King";
	update_user(fx, ids[0], &w);
	put_dep(fx, ids[0], "CH1", "CH", "Augusta", "1836-05-12", 3);
	c = plan(fx, "2026-12-04");
	expect_sent(fx, "term E1 terminated 2026-12-15\n"
	                "term E1\x1d"
	                "CH1 terminated 2026-12-15\n");
	assert_int_equal(c.roster_before, 3);
	assert_int_equal(c.roster_after, 1);
	assert_int_equal(
	    render(fx, "2026-12-04", FEED_WANT_PROFILE, &run, &cause), 0);
	assert_string_equal(run.state, STORE_FEED_RENDERED);
	file = slurp(fx->out, run.file_name);
	assert_string_equal(file,
	                    "member_id,person,rel,first,last,gender,"
	                    "action\n"
	                    "E1,E1,18,Ada,King,U,terminate\n"
	                    "E1,E1-CH1,19,Augusta,Lovelace,F,terminate\n");
	free(file);
	store_feed_run_clear(&run);
	free(ids[0]);
	free(ids[1]);
}

/*
 * A full file is written while the plan runs (run.c, "one pass") unless
 * ROSTERD_FEED_ONE_PASS=0: both must give the same bytes. The one-pass
 * run is discarded, which puts the state back, and the same run is made
 * again in two passes; the file name has no {seq}, so it takes the first
 * one's name, which publish accepts only with the same bytes.
 */
static void
one_pass_matches(struct fx *fx, const char *as_of)
{
	struct store_feed_run a, b;
	char *cause = NULL, *id;

	assert_int_equal(render(fx, as_of, FEED_WANT_FULL, &a, &cause), 0);
	assert_string_equal(a.state, STORE_FEED_RENDERED);
	id = xstrdup(a.id);
	memset(&b, 0, sizeof(b));
	if (feed_discard(fx->st, id, "tester", "again", &b, &cause) != 0)
		fail_msg("discard: %s", cause);
	store_feed_run_clear(&b);
	free(id);
	setenv("ROSTERD_FEED_ONE_PASS", "0", 1);
	if (render(fx, as_of, FEED_WANT_FULL, &b, &cause) != 0)
		fail_msg("two-pass render: %s", cause);
	unsetenv("ROSTERD_FEED_ONE_PASS");
	assert_string_equal(a.file_name, b.file_name);
	assert_string_equal(a.file_sha256, b.file_sha256);
	store_feed_run_clear(&a);
	store_feed_run_clear(&b);
}

static void
test_one_pass(void **state)
{
	struct fx *fx = *state;
	struct who w;
	char *ids[4], *cause = NULL;
	struct store_feed_run run;

	fx_profile_rule(
	    fx, RULE_FT,
	    "    approval: {first_run: false, max_terminations_percent: 100}\n"
	    "    terminations: lookback\n"
	    "    lookback_days: 30\n"
	    "    file_name: 'full-{date}.csv'\n"
	    "    columns:\n"
	    "      - {name: member_id, source: $key}\n"
	    "      - {name: person, source: $member_key}\n"
	    "      - {name: first, source: name.givenName}\n"
	    "      - {name: action, source: $action}\n"
	    "      - {name: term, source: $term_date}\n");
	ids[0] = add_user(fx, &ada);
	ids[1] = add_user(fx, &grace);
	ids[2] = add_user(fx, &alan);
	ids[3] = add_user(fx, &part);
	put_dep(fx, ids[0], "SP", "SP", "William", "1805-09-21", 1);
	put_dep(fx, ids[0], "CH1", "CH", "Byron", "1836-05-12", 1);
	/* The one pass writes into an existing directory only. */
	assert_int_equal(mkdir(fx->out, 0700), 0);
	/* All new. */
	one_pass_matches(fx, "2026-12-01");
	/* Nothing changed: every member as the state has it. */
	one_pass_matches(fx, "2026-12-02");
	/* A change, a termination kept by the look-back, an add. */
	w = grace;
	w.given = "Amazing Grace";
	update_user(fx, ids[1], &w);
	w = alan;
	w.active = false;
	w.status = "terminated";
	w.termdate = "2026-12-02";
	update_user(fx, ids[2], &w);
	w = part;
	w.cls = "FT";
	update_user(fx, ids[3], &w);
	one_pass_matches(fx, "2026-12-03");
	/* A change file is written after the plan, as before. */
	assert_int_equal(
	    render(fx, "2026-12-04", FEED_WANT_CHANGES, &run, &cause), 0);
	assert_string_equal(run.state, STORE_FEED_RENDERED);
	store_feed_run_clear(&run);
	/* Alan, terminated two runs ago, is still listed (look-back). */
	one_pass_matches(fx, "2026-12-05");
	for (int i = 0; i < 4; i++)
		free(ids[i]);
}

/*
 * A key holding a byte below the dependents' separator ("E1\x01") sorts
 * between a subscriber ("E1") and its dependents ("E1\x1dSP"): the plan
 * settles it after them, out of key order. The one pass gives way to
 * two, with the same bytes, and the next plan sees nothing to send.
 */
static void
test_key_below_separator(void **state)
{
	struct fx *fx = *state;
	struct feed_plan_counts c;
	struct who odd = ada;
	char *ids[2];

	fx_profile_rule(fx, RULE_FT,
	                "    approval: {first_run: false}\n"
	                "    file_name: 'full-{date}.csv'\n"
	                "    columns:\n"
	                "      - {name: member_id, source: $key}\n"
	                "      - {name: person, source: $member_key}\n"
	                "      - {name: first, source: name.givenName}\n"
	                "      - {name: action, source: $action}\n");
	odd.ext = "E1\x01";
	odd.given = "Odd";
	ids[0] = add_user(fx, &ada);
	ids[1] = add_user(fx, &odd);
	put_dep(fx, ids[0], "SP", "SP", "William", "1805-09-21", 1);
	one_pass_matches(fx, "2026-12-01");
	c = plan(fx, "2026-12-02");
	expect_sent(fx, "");
	assert_int_equal(c.adds + c.changes + c.terms + c.reinstates, 0);
	assert_int_equal(c.unchanged, 2);
	assert_int_equal(c.no_key, 1);
	one_pass_matches(fx, "2026-12-02");
	free(ids[0]);
	free(ids[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_first_plan, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_render_cycle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_change_outcomes, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_same_values, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_key_change, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reject, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_full_lookback, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_reproducible, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_layout_and_rule_change, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_policy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors_block_render, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_runs_and_events, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_dependents, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_one_pass, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_key_below_separator, setup,
	                                    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
