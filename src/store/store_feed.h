/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * The feed tables (migration 3): per feed, what the vendor was last sent
 * (members), the people its rule excluded at a given version (a cache that
 * spares the plan re-evaluating them), the runs with their entries and
 * transition log, and X12 control numbers per sender.
 *
 * A plan reads three key-ordered streams (people, members, excluded)
 * through cursors and probes single people; it stages its entries in
 * private scratch space while holding only a read snapshot, and
 * store_feed_run_create() turns the staged entries into a durable run in
 * one short write transaction. store_feed_run_apply() advances the feed to
 * the run's entries, in the same transaction as the run's move to its
 * next state.
 *
 * Records handed out by cursors and probes are borrowed: valid until the
 * next call on the same cursor or handle. Records filled by *_get()
 * functions own their strings; release them with the matching *_clear().
 * Return codes are those of store.h.
 */
#ifndef ROSTERD_STORE_FEED_H
#define ROSTERD_STORE_FEED_H

#include <stdbool.h>
#include <stdint.h>

#include "scim/filter.h"
#include "scim/schema.h"
#include "store/store.h"

/* Run states (issue 4 adds delivery states after "rendered"). */
#define STORE_FEED_PLANNED "planned"
#define STORE_FEED_PENDING "pending_approval"
#define STORE_FEED_APPROVED "approved"
#define STORE_FEED_RENDERED "rendered"
#define STORE_FEED_REJECTED "rejected"
#define STORE_FEED_FAILED "failed"
#define STORE_FEED_DISCARDED "discarded"

/* One live person with a key, in key order (then rid). */
struct store_feed_person {
	const char *key;
	int64_t rid;
	int64_t version;
};

/* What the vendor was last sent for a key. */
struct store_feed_member {
	const char *key;
	bool active; /* else terminated */
	int64_t person_rid;
	int64_t person_version;
	const char *vals;      /* NULL unless the cursor was asked for them */
	const char *term_date; /* YYYY-MM-DD or NULL */
	const char *term_reason;
};

/* A person the rule excluded (never sent), at the version evaluated. */
struct store_feed_excl {
	const char *key;
	int64_t rid;
	int64_t version;
};

/*
 * One person looked up by rid, live or deleted: the row, the value of the
 * compiled eligibility filter for it and its key now.
 */
struct store_feed_probe {
	int64_t rid;
	int64_t version;
	const char *id;
	const char *doc;
	int doc_len;
	const char *created;
	const char *modified;
	const char *deleted_at; /* NULL when live */
	const char *key;        /* NULL when it has none */
	bool active;
	bool eligible; /* live and matching the rule */
};

/*
 * A run entry: one key whose state the run changes. action is "add",
 * "change", "term", "reinstate" (all sent to the vendor), "same" (state
 * refresh: a new person version with the values the vendor already has),
 * "exclude" or "unexclude" (the excluded cache).
 */
struct store_feed_entry {
	const char *key;
	const char *action;
	bool active; /* member status after the run */
	int64_t person_rid;
	int64_t person_version;
	const char *vals;        /* rendered column values, or NULL */
	const char *term_date;   /* YYYY-MM-DD or NULL */
	const char *term_reason; /* or NULL */
	const char *changed;     /* "col1,col2" for a change, or NULL */
};

/* Per feed: the hashes the state and caches were computed with. */
struct store_feed_state {
	char *feed;
	int64_t seq;        /* last run's sequence number (0: none yet) */
	int64_t file_seq;   /* last file's sequence number */
	char *rule_hash;    /* NULL before the first rendered run */
	char *values_hash;  /* column sources and transforms */
	char *layout_hash;  /* what the vendor sees as the file layout */
	char *layout;       /* JSON array of the column names */
	int64_t roster;     /* active members */
	int64_t terminated; /* terminated members */
	char *active_run;   /* id of the unfinished run, or NULL */
	char *active_state; /* its state */
	char *failed_run;   /* a run whose delivery failed: it holds the next */
	char *failed_error; /* why it failed */
};

struct store_feed_run {
	char *id; /* "run_" + 16 hex */
	char *feed;
	int64_t tenant_id;
	int64_t seq;
	char *state;
	char *mode;  /* "full" or "change" */
	char *as_of; /* YYYY-MM-DD */
	char *clock; /* run time, "YYYY-MM-DDTHH:MM:SSZ" */
	char *created;
	char *updated;
	int64_t adds, changes, terms, reinstates, unchanged, total;
	int64_t roster_before;
	char *rule_hash;
	char *values_hash;
	char *layout_hash;
	char *layout;
	char *held;    /* JSON array of reasons the policy held it, or NULL */
	char *out_dir; /* where to write the file */
	int64_t file_seq;
	char *file_name;
	char *file_sha256; /* hex */
	int64_t file_size;
	char *x12_sender;
	int64_t isa13, gs06, st02;
	char *decided_by;
	char *decided_at;
	char *reason;
	char *error;
};

/* One recorded transition of a run. */
struct store_feed_event {
	const char *at;
	const char *from_state; /* NULL for the first */
	const char *to_state;
	const char *actor;
	const char *note;
};

struct store_feed_cur;
struct store_feed_eval;
struct store_feed_stage;

/*
 * A backend's struct store_feed_cur, store_feed_eval and store_feed_stage
 * each begin with the `struct store *` they were opened on, so that the
 * wrappers in store_feed.c find the ops table.
 */
struct store_feed_ops {
	/* A read snapshot for a plan (BEGIN DEFERRED ... COMMIT). */
	int (*read_begin)(struct store *);
	int (*read_end)(struct store *);

	struct store_feed_cur *(*people_open)(struct store *, int64_t tenant_id,
	                                      const struct scim_attrpath *key,
	                                      char **cause);
	int (*people_next)(struct store_feed_cur *, struct store_feed_person *);
	struct store_feed_cur *(*members_open)(struct store *, const char *feed,
	                                       bool with_vals);
	int (*members_next)(struct store_feed_cur *,
	                    struct store_feed_member *);
	struct store_feed_cur *(*excluded_open)(struct store *,
	                                        const char *feed);
	int (*excluded_next)(struct store_feed_cur *, struct store_feed_excl *);
	struct store_feed_cur *(*entries_open)(struct store *,
	                                       const char *run_id);
	int (*entries_next)(struct store_feed_cur *, struct store_feed_entry *);
	void (*cur_close)(struct store_feed_cur *);

	struct store_feed_eval *(*eval_open)(struct store *, int64_t tenant_id,
	                                     const struct scim_filter *,
	                                     const struct scim_attrpath *key,
	                                     char **cause);
	int (*eval_person)(struct store_feed_eval *, int64_t rid,
	                   struct store_feed_probe *);
	int (*eval_nokey)(struct store_feed_eval *, int64_t *n);
	int (*eval_member)(struct store_feed_eval *, const char *feed,
	                   const char *key, struct store_feed_member *);
	int (*eval_deactivated)(struct store_feed_eval *, int64_t rid,
	                        char *date, size_t len);
	void (*eval_close)(struct store_feed_eval *);

	struct store_feed_stage *(*stage_open)(struct store *);
	int (*stage_add)(struct store_feed_stage *,
	                 const struct store_feed_entry *);
	void (*stage_close)(struct store_feed_stage *);

	int (*state_get)(struct store *, const char *feed,
	                 struct store_feed_state *);
	int (*run_create)(struct store *, struct store_feed_run *,
	                  int64_t expect_seq, const char *actor, char **cause);
	int (*run_get)(struct store *, const char *id, struct store_feed_run *);
	int (*run_list)(struct store *, const char *feed,
	                int (*cb)(const struct store_feed_run *, void *),
	                void *arg);
	int (*run_events)(struct store *, const char *id,
	                  int (*cb)(const struct store_feed_event *, void *),
	                  void *arg);
	int (*run_decide)(struct store *, struct store_feed_run *,
	                  const char *from, const char *to, const char *actor,
	                  const char *x12_sender);
	int (*run_fail)(struct store *, const char *id, const char *from,
	                const char *error, const char *actor);
	int (*run_apply)(struct store *, struct store_feed_run *,
	                 const char *actor);
	int (*run_discard)(struct store *, const char *id, const char *actor,
	                   const char *reason, char **cause);
};

/* A read snapshot for the plan; plans stage entries meanwhile. */
int store_feed_read_begin(struct store *);
int store_feed_read_end(struct store *);

/*
 * Cursors. *_next returns 1 with the row filled (borrowed), 0 at the end
 * or STORE_ERR. Close every cursor (NULL is fine) before read_end.
 *
 * people: live Users of the tenant having a non-empty key, in key order
 * (byte order), then rid. key is the attribute path of the member key;
 * STORE_INVALID-worthy paths give NULL with *cause.
 */
struct store_feed_cur *store_feed_people_open(struct store *, int64_t tenant_id,
                                              const struct scim_attrpath *key,
                                              char **cause);
int store_feed_people_next(struct store_feed_cur *, struct store_feed_person *);
/* The feed's members in key order; vals only when with_vals. */
struct store_feed_cur *store_feed_members_open(struct store *, const char *feed,
                                               bool with_vals);
int store_feed_members_next(struct store_feed_cur *,
                            struct store_feed_member *);
struct store_feed_cur *store_feed_excluded_open(struct store *,
                                                const char *feed);
int store_feed_excluded_next(struct store_feed_cur *, struct store_feed_excl *);
/* A run's entries in key order. */
struct store_feed_cur *store_feed_entries_open(struct store *,
                                               const char *run_id);
int store_feed_entries_next(struct store_feed_cur *, struct store_feed_entry *);
void store_feed_cur_close(struct store_feed_cur *);

/*
 * Probes for the people a plan must look at closely. The filter (borrowed,
 * must outlive the handle) is compiled once; NULL with *cause when the
 * backend cannot run it.
 */
struct store_feed_eval *store_feed_eval_open(struct store *, int64_t tenant_id,
                                             const struct scim_filter *,
                                             const struct scim_attrpath *key,
                                             char **cause);
/* The person with this rid (live or deleted): STORE_OK or NOTFOUND. */
int store_feed_eval_person(struct store_feed_eval *, int64_t rid,
                           struct store_feed_probe *);
/* How many live, eligible people of the tenant have no key. */
int store_feed_eval_nokey(struct store_feed_eval *, int64_t *n);
/* One member with its vals: STORE_OK or STORE_NOTFOUND. */
int store_feed_eval_member(struct store_feed_eval *, const char *feed,
                           const char *key, struct store_feed_member *);
/*
 * The date (YYYY-MM-DD) of the person's most recent change from active
 * to inactive, from the history: STORE_OK or STORE_NOTFOUND.
 */
int store_feed_eval_deactivated(struct store_feed_eval *, int64_t rid,
                                char *date, size_t len);
void store_feed_eval_close(struct store_feed_eval *);

/*
 * Staging: open discards what an earlier plan staged on this connection;
 * add copies one entry (in key order). Works inside a read snapshot. The
 * staged entries stay until the next open, for store_feed_run_create().
 */
struct store_feed_stage *store_feed_stage_open(struct store *);
int store_feed_stage_add(struct store_feed_stage *,
                         const struct store_feed_entry *);
void store_feed_stage_close(struct store_feed_stage *);

/*
 * The feed's state (zeroed fields and STORE_OK when the feed never ran).
 */
int store_feed_state_get(struct store *, const char *feed,
                         struct store_feed_state *);
void store_feed_state_clear(struct store_feed_state *);

/*
 * Record a run from the staged entries, in one write transaction. The
 * caller fills feed, tenant_id, state (pending_approval or approved),
 * mode, as_of, clock, counts, hashes, layout, held, out_dir, decided_*;
 * run_create sets id, seq, created and updated, and for an approved run
 * file_seq and (x12_sender set) the X12 control numbers. STORE_CONFLICT
 * with *cause when the feed has an unfinished run or another run was
 * recorded since the plan read seq `expect_seq`.
 */
int store_feed_run_create(struct store *, struct store_feed_run *,
                          int64_t expect_seq, const char *actor, char **cause);
int store_feed_run_get(struct store *, const char *id, struct store_feed_run *);
/* Runs of a feed, newest first. */
int store_feed_run_list(struct store *, const char *feed,
                        int (*cb)(const struct store_feed_run *, void *),
                        void *arg);
/* A run's transitions, oldest first. */
int store_feed_run_events(struct store *, const char *id,
                          int (*cb)(const struct store_feed_event *, void *),
                          void *arg);
/*
 * Move run from state `from` to `to` (approved or rejected), recording
 * decided_by, decided_at and reason from *run; approving also allocates
 * file_seq and, with x12_sender, the next control numbers. run is
 * refreshed. STORE_CONFLICT when the run is no longer in `from`.
 */
int store_feed_run_decide(struct store *, struct store_feed_run *,
                          const char *from, const char *to, const char *actor,
                          const char *x12_sender);
/* Move run from `from` to failed with the error. */
int store_feed_run_fail(struct store *, const char *id, const char *from,
                        const char *error, const char *actor);
/*
 * Apply the run's entries to the feed's members and caches, record the
 * hashes and layout as the feed's, and move the run from approved to
 * rendered with file_name, file_sha256 and file_size from *run; all in
 * one transaction. STORE_CONFLICT when the run is no longer approved.
 */
int store_feed_run_apply(struct store *, struct store_feed_run *,
                         const char *actor);
/*
 * Undo a rendered run the vendor cannot have (no delivery, or a failed
 * one) and that no later run built on: its members go back to what they
 * were, so the next run sends its changes again; the run becomes
 * discarded with the reason. STORE_CONFLICT with *cause when it may not
 * be discarded, STORE_NOTFOUND when there is no such run.
 */
int store_feed_run_discard(struct store *, const char *id, const char *actor,
                           const char *reason, char **cause);
void store_feed_run_clear(struct store_feed_run *);

/*
 * Why feed cannot have a new run while run's delivery failed (why): the
 * message names both ways out. The caller frees it.
 */
char *store_feed_failed_cause(const char *feed, const char *run,
                              const char *why);

/* True for states in which a run still has work to do. */
bool store_feed_state_unfinished(const char *state);

#endif
