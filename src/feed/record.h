/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * A member's column values, computed from the profile. Two steps, because
 * the state keeps what the vendor was sent:
 *
 *   feed_record_values() computes the columns that depend on the person
 *   only (attributes, constants, $key, $relationship, ...) and joins them
 *   with FEED_SEP into the string the state stores; columns that depend
 *   on the run ($action, $term_date, $term_reason, $as_of) are left
 *   empty there, so that a value comparison sees only what the person
 *   changed.
 *
 *   feed_rec_fill() splits a stored string back into one value per column
 *   and computes the run-dependent ones, ready for fmt_writer_add().
 *
 * Every value passes through the column's transforms in this order:
 * control characters become spaces; empty -> default; date_format;
 * map (a value the map does not name becomes the default when there is
 * one); case; width (cut when truncate is true, else an error).
 */
#ifndef ROSTERD_FEED_RECORD_H
#define ROSTERD_FEED_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#include "feed/jpath.h"
#include "feed/profile.h"
#include "util/buf.h"

#define FEED_SEP '\x1f'

/* Separates a subscriber's key from a dependent's in member keys. */
#define FEED_DEP_SEP '\x1d'

/*
 * A dependent (spouse, child) as the HRIS import keeps it. A dependent's
 * record takes name.givenName, name.middleName, name.familyName,
 * name.formatted, displayName and eligibility:birthDate from here and
 * every other attribute from the subscriber.
 */
struct feed_dependent {
	const char *key; /* identity within the subscriber */
	const char *relationship;
	const char *first_name;
	const char *middle_name;
	const char *last_name;
	const char *birth_date;
	const char *gender;
};

/* What a person's values are computed from; all borrowed. */
struct feed_person {
	const char *key;                  /* the subscriber's key */
	const char *id;                   /* SCIM id */
	const char *created;              /* meta.created */
	const char *modified;             /* meta.lastModified */
	const struct jpath_span *spans;   /* jpath_scan() of the doc with
	                                     the profile's paths */
	const struct feed_dependent *dep; /* or NULL: the subscriber */
};

/* The run-dependent inputs. */
struct feed_dyn {
	const char *action;      /* add change terminate reinstate none */
	const char *term_date;   /* YYYY-MM-DD or NULL */
	const char *term_reason; /* or NULL */
	const char *as_of;       /* YYYY-MM-DD */
};

/*
 * Compute the person-derived values into vals (appended). Returns 0, or
 * -1 with "column: problem" appended to err (a value too wide, a date
 * that is not one, a value filter on malformed data).
 */
int feed_record_values(const struct feed_profile *, const struct feed_person *,
                       struct buf *vals, struct buf *err);

/*
 * Apply column c's transforms to in; the result is appended to out.
 * Returns 0, or -1 with the problem appended to err.
 */
int feed_transform(const struct feed_column *c, const char *in, struct buf *out,
                   struct buf *err);

/* One record's values for the writer; reused from record to record. */
struct feed_rec {
	const char **values; /* ncols */
	size_t ncols;
	struct buf split; /* the stored string, FEED_SEP turned into NULs */
	struct buf dyn;   /* the run-dependent values */
	size_t *dyn_off;
};

void feed_rec_init(struct feed_rec *, const struct feed_profile *);
void feed_rec_free(struct feed_rec *);
/*
 * Fill rec from a stored values string (missing trailing fields are
 * empty, extra ones ignored) and the run-dependent inputs. Returns 0, or
 * -1 with the problem appended to err.
 */
int feed_rec_fill(struct feed_rec *, const struct feed_profile *,
                  const char *vals, const struct feed_dyn *, struct buf *err);

/*
 * Where each of the profile's columns sat in an older layout (a JSON
 * array of column names): a new array of ncols indexes (-1 for a column
 * the old layout lacked) the caller frees, or NULL when the layouts are
 * the same or old_layout is NULL.
 */
int *feed_record_layout_map(const struct feed_profile *,
                            const char *old_layout);

/*
 * Append the names of the columns whose values differ between a stored
 * string in the old layout (old_index from feed_record_layout_map(), or
 * NULL for the same layout) and one in the profile's, comma-separated,
 * to out. Returns how many differ.
 */
size_t feed_record_diff(const struct feed_profile *, const char *old_vals,
                        const int *old_index, const char *new_vals,
                        struct buf *out);

/*
 * The same columns, one call each: fn gets the column's name and its old
 * and new values (not NUL-terminated). Returns how many differ.
 */
typedef void (*feed_diff_fn)(const char *name, const char *old_v,
                             size_t old_len, const char *new_v, size_t new_len,
                             void *arg);
size_t feed_record_diff_each(const struct feed_profile *, const char *old_vals,
                             const int *old_index, const char *new_vals,
                             feed_diff_fn, void *arg);

#endif
