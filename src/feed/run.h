/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * Runs: a plan turned into a durable run, the approval policy that may
 * hold it, and the file an approved run writes.
 *
 * Lifecycle (each transition committed before the next side effect):
 *
 *   planned -> pending_approval -> approved -> rendered -> discarded
 *                   |                  |
 *                   +-> rejected       +-> failed
 *
 * A run is recorded with its entries (every key whose state it changes),
 * so an approval later writes exactly what was planned, and writing again
 * after a crash gives the same bytes. The file is created as
 * DIR/.NAME.tmp (0600), written, flushed and fsync'ed, then renamed to
 * NAME without replacing anything, and the directory is fsync'ed; only
 * then does the run become `rendered`, in the same transaction that moves
 * the feed's state to the run's snapshot. Issue 4's delivery continues
 * from `rendered`. A rendered run whose delivery failed blocks the feed's
 * next run until it is delivered or discarded (feed_discard undoes it).
 */
#ifndef ROSTERD_FEED_RUN_H
#define ROSTERD_FEED_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "feed/plan.h"
#include "feed/profile.h"
#include "store/store.h"
#include "store/store_feed.h"
#include "util/buf.h"

enum feed_want { FEED_WANT_PROFILE, FEED_WANT_FULL, FEED_WANT_CHANGES };

struct feed_render_opts {
	const char *as_of;   /* YYYY-MM-DD or NULL: the wall clock's date */
	const char *out_dir; /* where the file goes */
	enum feed_want want;
	const char *actor; /* who runs it */
	void (*progress)(const char *what, int64_t done, int64_t total,
	                 void *arg); /* or NULL */
	void *arg;
};

/*
 * Does the policy hold a run? Appends the reasons as a JSON array of
 * strings to reasons (nothing when it does not hold) and returns true
 * when held. fs is the feed's state before the run.
 */
bool feed_policy_hold(const struct feed_profile *,
                      const struct store_feed_state *fs,
                      const struct feed_plan_counts *, struct buf *reasons);

/*
 * Plan, record the run and, unless the policy holds it, write its file.
 * *run is filled (the caller clears it with store_feed_run_clear). Returns
 * 0, or -1 with *cause (caller frees); a run that failed while writing is
 * recorded as failed and also returns -1.
 */
int feed_render(struct store *, const struct feed_profile *, int64_t tenant_id,
                const struct feed_render_opts *, struct store_feed_run *run,
                char **cause);

/*
 * Approve a run held for approval and write its file, or finish writing
 * an approved one (after a crash). out_dir overrides the run's when not
 * NULL. *run is filled as with feed_render.
 */
int feed_approve(struct store *, const struct feed_profile *, const char *id,
                 const char *by, const char *out_dir,
                 const struct feed_render_opts *, struct store_feed_run *run,
                 char **cause);

/* Reject a run held for approval (or approved, not yet written). */
int feed_reject(struct store *, const char *id, const char *by,
                const char *reason, struct store_feed_run *run, char **cause);

/*
 * Discard a rendered run whose file the vendor cannot have (its delivery
 * failed, or none was started) and that no later run built on: the
 * feed's members go back to what they were before it, so the next run
 * sends its changes again. *run is filled with the discarded run.
 */
int feed_discard(struct store *, const char *id, const char *by,
                 const char *reason, struct store_feed_run *run, char **cause);

/* A new run id, "run_" + 16 hex digits, into buf (>= 21 bytes). */
void feed_run_id(char *buf, size_t len);

/*
 * Off-cycle terminations (issue 4; called by sched/worker.c). The feed's
 * plan runs as usual, so eligibility, termination reasons and dates,
 * dependents and values are what a scheduled run would compute, but only
 * the termination outcomes of the people with resource row ids
 * rids[0..n) (any order), and their dependents', are staged. The run is
 * recorded as a change run, checked against the approval policy and,
 * unless held, written like any other; everything else waits for the
 * next run. A restricted plan must not record a changed rule or layout
 * as applied to everyone, so a profile whose hashes differ from those of
 * the feed's last file is refused. o->want is ignored.
 */
enum feed_offcycle_rc {
	FEED_OFFCYCLE_ERR = -1,  /* *cause says why; *run is filled when
	                            the run was recorded (then failed) */
	FEED_OFFCYCLE_OK = 0,    /* *run recorded: rendered or held */
	FEED_OFFCYCLE_NONE = 1,  /* none of them is to be terminated */
	FEED_OFFCYCLE_BUSY = 2,  /* the feed has an unfinished run */
	FEED_OFFCYCLE_DRIFT = 3, /* the profile changed since the last file */
	FEED_OFFCYCLE_NEVER = 4, /* the feed never rendered a file */
};

enum feed_offcycle_rc
feed_render_terms(struct store *, const struct feed_profile *,
                  int64_t tenant_id, const int64_t *rids, size_t n,
                  const struct feed_render_opts *, struct store_feed_run *run,
                  char **cause);

#endif
