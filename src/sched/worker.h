/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * The delivery worker of `rosterd serve`, started only when the
 * configuration has a `delivery` section: one scheduler thread that
 * decides, and up to server.delivery_max_parallel lane threads that do
 * each feed's blocking work, every thread with its own store connection.
 * Every ~200 ms (and whenever a lane finishes a job) the scheduler
 *
 *  1. takes the terminations the store's triggers captured
 *     (store_sched.h), keeps those of people a feed with off-cycle files
 *     last sent as active, and hands them to the debounce batcher;
 *  2. resumes unfinished deliveries (deliver_pending, deliver_run), one
 *     run per feed at a time, waiting out each run's retry delay;
 *  3. fires each feed's cron schedule when due, once however many slots
 *     were missed while rosterd was down, and renders the feed into the
 *     outbox (a run the approval policy holds waits for `feed approve`,
 *     then is delivered once rendered);
 *  4. turns each due off-cycle batch into a terminations-only change file
 *     (feed_render_terms() in feed/run.h) and delivers it;
 *  5. polls each feed's return files every returns.interval_s.
 *
 * The scheduler itself never blocks on the network: a delivery (2),
 * a render (3, 4) and a return-file poll (5) are jobs, handed to a free
 * lane. A feed has at most one job in flight, so its runs stay strictly
 * ordered and deliver_run()'s exactly-once rules hold as before; other
 * feeds go on meanwhile, so a vendor server that hangs holds up only its
 * own feed (and one lane). While a render of an off-cycle feed is on a
 * lane the scheduler takes in no new terminations: the render attaches
 * the feed's waiting ones to its run, and must not attach one its plan
 * did not see.
 *
 * Every termination delivered records its lag (source event to delivery)
 * in the store and in the log. The worker shares nothing mutable with the
 * event loop: it talks to the rest of rosterd through the database, and to
 * worker_stop() through a mutex and condition variables of its own.
 * Blocking calls (network, gpg) run on the lanes, never on the loop.
 *
 * The pure parts (due computation, batch and delivery decisions, times)
 * are exported for the unit tests; they take the clock as an argument.
 */
#ifndef ROSTERD_SCHED_WORKER_H
#define ROSTERD_SCHED_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sched/cron.h"

struct cfg;
struct worker;

#define WORKER_TICK_MS 200

/*
 * Start the worker when c has a `delivery` section: load the feed
 * profiles and the delivery configuration (deliver_config_load(): the
 * schedule, timezone, offcycle and returns keys of each entry) from c,
 * which must outlive the worker, open db and start the thread. Returns 0 with
 * *out set, 0 with *out NULL when there is no delivery section (nothing is
 * started), or -1 with *cause (caller frees): configuration errors, a delivery
 * entry without a feed profile, a database that cannot be opened.
 */
int worker_start(struct cfg *c, const char *db, struct worker **out,
                 char **cause);
/*
 * Ask the worker to stop, wake it and join its threads: SFTP calls in
 * progress end at once (xfer_cancel_fire(); an upload's attempt is closed
 * as interrupted and resumed on the next start, its state being durable
 * either way); a render or an encryption in progress finishes first. Then
 * free everything. NULL is a no-op.
 */
void worker_stop(struct worker *);

/* Pure parts. */

enum worker_due {
	WORKER_DUE_NO,   /* nothing to do */
	WORKER_DUE_FIRE, /* run the feed now, once */
	WORKER_DUE_WAIT, /* a slot passed but the feed has a run in flight */
};

/*
 * Is a scheduled feed due at `now`? `seen` is when the worker first saw
 * the schedule (so a new feed does not fire for slots before it existed),
 * `last_fire` the last fire (0: never). A feed with a run still pending
 * approval or delivery waits; the slot then fires once the run is done.
 */
enum worker_due worker_schedule_due(const struct cron_expr *,
                                    const struct cron_tz *, int64_t seen,
                                    int64_t last_fire, time_t now, bool busy);

/* What becomes of a due off-cycle batch, from the feed's situation. */
struct worker_feed_status {
	bool never_sent; /* no file was ever rendered for the feed */
	bool busy;       /* a run is unfinished or not yet delivered */
	bool drift;      /* the profile changed since the last file */
};

enum worker_batch {
	WORKER_BATCH_RENDER, /* write the terminations-only change file */
	WORKER_BATCH_DEFER,  /* keep it until the feed's run is delivered */
	WORKER_BATCH_HOLD,   /* leave it to the next scheduled run */
	WORKER_BATCH_DROP,   /* nothing was ever sent: nothing to undo */
};

enum worker_batch worker_batch_decide(const struct worker_feed_status *);

/* When each run may next be tried (monotonic milliseconds). */
struct worker_retry {
	struct worker_retry_ent {
		char *run;
		int64_t not_before;
	} * v;
	size_t n;
};

void worker_retry_set(struct worker_retry *, const char *run,
                      int64_t not_before);
void worker_retry_clear(struct worker_retry *, const char *run);
bool worker_retry_ready(const struct worker_retry *, const char *run,
                        int64_t now_ms);
/* Forget every run not in runs (NULL-terminated), e.g. delivered ones. */
void worker_retry_prune(struct worker_retry *, const char *const *runs);
void worker_retry_free(struct worker_retry *);

/*
 * Which of the pending runs (oldest first; feeds[i] is runs[i]'s feed)
 * to try now: the oldest of each feed, and only when its retry delay has
 * passed, so a feed never has two runs in flight and never overtakes its
 * own older run. Writes the indexes into pick (room for n) and returns
 * how many.
 */
size_t worker_pick(const char *const *runs, const char *const *feeds, size_t n,
                   const struct worker_retry *, int64_t now_ms, size_t *pick);

/*
 * Lanes. The scheduler (the worker's own thread) decides; the blocking
 * work of a feed runs as one job at a time on a lane thread, each with
 * its own store connection. A feed has at most one job in flight, so its
 * runs stay strictly ordered; feeds run side by side, up to
 * server.delivery_max_parallel at once.
 */
enum worker_job {
	WORKER_JOB_NONE,
	WORKER_JOB_DELIVER, /* deliver_run() of the feed's oldest pending run */
	WORKER_JOB_OFFCYCLE, /* render a due terminations-only batch */
	WORKER_JOB_SCHEDULE, /* render the feed for a schedule that fired */
	WORKER_JOB_RETURNS,  /* collect the feed's return files */
};

/* What a feed could do now, as the scheduler sees it. */
struct worker_feed_want {
	bool inflight; /* a job of the feed is running on a lane */
	bool deliver;  /* its oldest pending run may be tried now */
	bool schedule; /* a schedule is due and the feed is idle */
	bool offcycle; /* a batch is due and may be rendered */
	bool returns;  /* its return files are due */
};

/*
 * The feed's next job: none while one is in flight, else a delivery
 * first (nothing else may overtake a rendered run), then a due schedule
 * (its run carries every waiting termination), an off-cycle batch, and
 * the return files last.
 */
enum worker_job worker_next_job(const struct worker_feed_want *);

/*
 * Which feeds get one of `lanes` free lanes now, given each feed's next
 * job (jobs[i], WORKER_JOB_NONE for none): deliveries and off-cycle
 * batches (what termination lag waits for) before schedules, schedules
 * before return files; within a class, in feed order starting at
 * `start` (the caller rotates it, so no feed is always served last).
 * Writes the feed indexes into pick (room for n) and returns how many.
 */
size_t worker_lane_plan(const enum worker_job *jobs, size_t n, size_t lanes,
                        size_t start, size_t *pick);

/*
 * "YYYY-MM-DDTHH:MM:SS[.mmm]Z" (the store's times) to Unix milliseconds:
 * 0, or -1 when it is not such a time.
 */
int worker_time_ms(const char *iso, int64_t *ms);
/* Unix milliseconds to "YYYY-MM-DDTHH:MM:SS.mmmZ" (buf >= 32 bytes). */
void worker_time_iso(int64_t ms, char *buf, size_t len);

#endif
