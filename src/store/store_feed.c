/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* The backend-independent side of the feed tables: dispatch and clears. */
#include <stdlib.h>
#include <string.h>

#include "store/store_backend.h"
#include "store/store_feed.h"
#include "util/xmalloc.h"

static const struct store_feed_ops *
sfo(struct store *st)
{
	return st->ops->feed;
}

int
store_feed_read_begin(struct store *st)
{
	return sfo(st)->read_begin(st);
}

int
store_feed_read_end(struct store *st)
{
	return sfo(st)->read_end(st);
}

/* Cursors remember their store; the first field of each is the store. */
struct store_feed_cur_head {
	struct store *st;
};

static const struct store_feed_ops *
sfo_cur(struct store_feed_cur *c)
{
	return sfo(((struct store_feed_cur_head *)c)->st);
}

struct store_feed_cur *
store_feed_people_open(struct store *st, int64_t tenant_id,
                       const struct scim_attrpath *key, char **cause)
{
	return sfo(st)->people_open(st, tenant_id, key, cause);
}

int
store_feed_people_next(struct store_feed_cur *c, struct store_feed_person *p)
{
	return sfo_cur(c)->people_next(c, p);
}

struct store_feed_cur *
store_feed_members_open(struct store *st, const char *feed, bool with_vals)
{
	return sfo(st)->members_open(st, feed, with_vals);
}

int
store_feed_members_next(struct store_feed_cur *c, struct store_feed_member *m)
{
	return sfo_cur(c)->members_next(c, m);
}

struct store_feed_cur *
store_feed_excluded_open(struct store *st, const char *feed)
{
	return sfo(st)->excluded_open(st, feed);
}

int
store_feed_excluded_next(struct store_feed_cur *c, struct store_feed_excl *x)
{
	return sfo_cur(c)->excluded_next(c, x);
}

struct store_feed_cur *
store_feed_entries_open(struct store *st, const char *run_id)
{
	return sfo(st)->entries_open(st, run_id);
}

int
store_feed_entries_next(struct store_feed_cur *c, struct store_feed_entry *e)
{
	return sfo_cur(c)->entries_next(c, e);
}

void
store_feed_cur_close(struct store_feed_cur *c)
{
	if (c != NULL)
		sfo_cur(c)->cur_close(c);
}

struct store_feed_eval *
store_feed_eval_open(struct store *st, int64_t tenant_id,
                     const struct scim_filter *f,
                     const struct scim_attrpath *key, char **cause)
{
	return sfo(st)->eval_open(st, tenant_id, f, key, cause);
}

/* Eval handles, like cursors, start with their store. */
static const struct store_feed_ops *
sfo_ev(struct store_feed_eval *ev)
{
	return sfo(((struct store_feed_cur_head *)ev)->st);
}

int
store_feed_eval_person(struct store_feed_eval *ev, int64_t rid,
                       struct store_feed_probe *p)
{
	return sfo_ev(ev)->eval_person(ev, rid, p);
}

int
store_feed_eval_nokey(struct store_feed_eval *ev, int64_t *n)
{
	return sfo_ev(ev)->eval_nokey(ev, n);
}

int
store_feed_eval_member(struct store_feed_eval *ev, const char *feed,
                       const char *key, struct store_feed_member *m)
{
	return sfo_ev(ev)->eval_member(ev, feed, key, m);
}

int
store_feed_eval_deactivated(struct store_feed_eval *ev, int64_t rid, char *date,
                            size_t len)
{
	return sfo_ev(ev)->eval_deactivated(ev, rid, date, len);
}

void
store_feed_eval_close(struct store_feed_eval *ev)
{
	if (ev != NULL)
		sfo_ev(ev)->eval_close(ev);
}

struct store_feed_stage *
store_feed_stage_open(struct store *st)
{
	return sfo(st)->stage_open(st);
}

int
store_feed_stage_add(struct store_feed_stage *sg,
                     const struct store_feed_entry *e)
{
	return sfo(((struct store_feed_cur_head *)sg)->st)->stage_add(sg, e);
}

void
store_feed_stage_close(struct store_feed_stage *sg)
{
	if (sg != NULL)
		sfo(((struct store_feed_cur_head *)sg)->st)->stage_close(sg);
}

int
store_feed_state_get(struct store *st, const char *feed,
                     struct store_feed_state *fs)
{
	return sfo(st)->state_get(st, feed, fs);
}

void
store_feed_state_clear(struct store_feed_state *fs)
{
	free(fs->feed);
	free(fs->rule_hash);
	free(fs->values_hash);
	free(fs->layout_hash);
	free(fs->layout);
	free(fs->active_run);
	free(fs->active_state);
	free(fs->failed_run);
	free(fs->failed_error);
	memset(fs, 0, sizeof(*fs));
}

char *
store_feed_failed_cause(const char *feed, const char *run, const char *why)
{
	return xasprintf("feed %s: the delivery of run %s failed (%s); retry "
	                 "it with `rosterd deliver %s --retry` or discard it "
	                 "with `rosterd feed discard %s --reason TEXT` before "
	                 "the next run",
	                 feed, run, why, run, run);
}

int
store_feed_run_create(struct store *st, struct store_feed_run *r,
                      int64_t expect_seq, const char *actor, char **cause)
{
	return sfo(st)->run_create(st, r, expect_seq, actor, cause);
}

int
store_feed_run_get(struct store *st, const char *id, struct store_feed_run *r)
{
	return sfo(st)->run_get(st, id, r);
}

int
store_feed_run_list(struct store *st, const char *feed,
                    int (*cb)(const struct store_feed_run *, void *), void *arg)
{
	return sfo(st)->run_list(st, feed, cb, arg);
}

int
store_feed_run_events(struct store *st, const char *id,
                      int (*cb)(const struct store_feed_event *, void *),
                      void *arg)
{
	return sfo(st)->run_events(st, id, cb, arg);
}

int
store_feed_run_decide(struct store *st, struct store_feed_run *r,
                      const char *from, const char *to, const char *actor,
                      const char *x12_sender)
{
	return sfo(st)->run_decide(st, r, from, to, actor, x12_sender);
}

int
store_feed_run_fail(struct store *st, const char *id, const char *from,
                    const char *error, const char *actor)
{
	return sfo(st)->run_fail(st, id, from, error, actor);
}

int
store_feed_run_apply(struct store *st, struct store_feed_run *r,
                     const char *actor)
{
	return sfo(st)->run_apply(st, r, actor);
}

int
store_feed_run_discard(struct store *st, const char *id, const char *actor,
                       const char *reason, char **cause)
{
	return sfo(st)->run_discard(st, id, actor, reason, cause);
}

void
store_feed_run_clear(struct store_feed_run *r)
{
	char **s[] = {&r->id,          &r->feed,        &r->state,
	              &r->mode,        &r->as_of,       &r->clock,
	              &r->created,     &r->updated,     &r->rule_hash,
	              &r->values_hash, &r->layout_hash, &r->layout,
	              &r->held,        &r->out_dir,     &r->file_name,
	              &r->file_sha256, &r->x12_sender,  &r->decided_by,
	              &r->decided_at,  &r->reason,      &r->error};
	size_t i;

	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		free(*s[i]);
	memset(r, 0, sizeof(*r));
}

bool
store_feed_state_unfinished(const char *state)
{
	return state != NULL && (strcmp(state, STORE_FEED_PLANNED) == 0 ||
	                         strcmp(state, STORE_FEED_PENDING) == 0 ||
	                         strcmp(state, STORE_FEED_APPROVED) == 0);
}
