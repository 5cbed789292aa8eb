/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * The plan: who the vendor should hold now, compared with what it was last
 * sent. Three key-ordered streams are merged in one pass (the tenant's
 * people, the feed's members, the people the rule excluded before), so
 * memory stays flat whatever the roster size. A person whose rid and
 * version match what the state recorded under the same rule and column
 * definitions is settled without reading the document; only the others
 * are looked at (their eligibility run through the SQL filter compiler,
 * their values computed from the document text).
 *
 * Every outcome goes to the caller's callback as it is found, in key
 * order; the plan keeps only counts.
 */
#ifndef ROSTERD_FEED_PLAN_H
#define ROSTERD_FEED_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "feed/profile.h"
#include "store/store.h"
#include "store/store_feed.h"

enum feed_out {
	FEED_OUT_ADD,
	FEED_OUT_CHANGE,
	FEED_OUT_TERM,
	FEED_OUT_REINSTATE,
	FEED_OUT_SAME,      /* state refresh only, nothing to send */
	FEED_OUT_EXCLUDE,   /* the excluded cache learns a person */
	FEED_OUT_UNEXCLUDE, /* the excluded cache forgets a key */
	FEED_OUT_ERROR,     /* values that cannot be written */
	FEED_OUT_DUPLICATE, /* a second live person with the same key */
};

/* One outcome; everything borrowed for the callback only. */
struct feed_outcome {
	enum feed_out kind;
	const struct store_feed_entry *e; /* NULL for error, duplicate */
	const char *key;
	const char *user_name; /* for people to recognise, or NULL */
	const char *person_id; /* SCIM id, or NULL */
	const char *error;     /* FEED_OUT_ERROR */
	/* FEED_OUT_CHANGE: the values last sent, for feed_record_diff_each() */
	const char *old_vals;
	const int *old_index;
};

struct feed_plan_counts {
	int64_t adds, changes, terms, reinstates;
	int64_t unchanged;     /* eligible members with nothing to send */
	int64_t roster_before; /* active members before the run */
	int64_t roster_after;  /* and after it */
	int64_t lookback;      /* terminated earlier, still in full files */
	int64_t excluded;      /* people with a key the rule leaves out */
	int64_t no_key;        /* eligible people without a key */
	int64_t duplicates;    /* people sharing a key with another */
	int64_t errors;        /* members whose values cannot be written */
	int64_t people;        /* live people with a key */
	int64_t evaluated;     /* documents read */
};

struct feed_plan {
	/* inputs, borrowed */
	struct store *st;
	const struct feed_profile *p;
	int64_t tenant_id;
	const struct store_feed_state *fs;
	const char *as_of;                                   /* YYYY-MM-DD */
	int (*emit)(const struct feed_outcome *, void *arg); /* non-zero
	                                                        stops */
	void *arg;
	void (*progress)(int64_t people_done, void *arg); /* or NULL */
	/*
	 * Or NULL: called once each key is settled (after its outcomes),
	 * with the member row the state had for it (NULL: none), vals
	 * included. A full file can be written from these and the
	 * outcomes while the plan runs. Keys come in the order the plan
	 * settles them, which the caller must check.
	 */
	void (*key_done)(const char *key, const struct store_feed_member *m,
	                 void *arg);
	/* output */
	struct feed_plan_counts counts;
};

/*
 * Run the plan inside one read snapshot. Returns 0, or -1 with *cause
 * (caller frees) when the store fails or emit asked to stop.
 */
int feed_plan_run(struct feed_plan *, char **cause);

/* Records a file of this mode would hold, from the counts. */
int64_t feed_plan_total(const struct feed_profile *, bool full,
                        const struct feed_plan_counts *);

/* The entry action string for an outcome ("add", ...). */
const char *feed_out_action(enum feed_out);

/*
 * Should a terminated member (term date YYYY-MM-DD) still appear in a
 * full file of as_of under the profile's terminations policy?
 */
bool feed_plan_in_lookback(const struct feed_profile *, const char *term_date,
                           const char *as_of);

#endif
