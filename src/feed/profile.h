/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * Feed profiles: the `feeds:` section of the configuration, parsed and
 * validated at load (every error reported through cfg_error() as
 * file:line:col: key: message, all of them collected), and the things
 * derived from a profile: the fmt_opts for the file writers, the hashes
 * that tell the plan when its caches and the vendor's layout are stale,
 * and file names from the profile's template.
 *
 * struct feed_profiles owns every profile and everything inside it,
 * including the parsed eligibility filter; feed_profiles_free() releases
 * it all. The struct cfg is only borrowed while loading.
 */
#ifndef ROSTERD_FEED_PROFILE_H
#define ROSTERD_FEED_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg/cfg.h"
#include "fmt/fmt.h"
#include "scim/filter.h"
#include "scim/schema.h"

#define FEED_NAME_MAX 64
#define FEED_COLS_MAX 200
#define FEED_WIDTH_MAX 4096
#define FEED_LOOKBACK_MAX 3650
#define FEED_FILE_NAME_MAX 255
#define FEED_HASH_LEN 64 /* hex SHA-256 */

/*
 * full: every file is the whole roster; change: only what changed; both:
 * change files by default, full files on the delivery's full_schedule and
 * with `feed render --full` (two cadences, one member state).
 */
enum feed_mode { FEED_MODE_FULL, FEED_MODE_CHANGE, FEED_MODE_BOTH };

/* "full", "change" or "both". */
const char *feed_mode_name(enum feed_mode);
enum feed_terms { FEED_TERMS_EXPLICIT, FEED_TERMS_LOOKBACK, FEED_TERMS_OMIT };

/* Where a column's value comes from. */
enum feed_src {
	FEED_SRC_ATTR,         /* a SCIM attribute path */
	FEED_SRC_CONST,        /* `const:` */
	FEED_SRC_KEY,          /* $key: the member key */
	FEED_SRC_RELATIONSHIP, /* $relationship: "18" (self) or the
	                          dependent's code as imported */
	FEED_SRC_TENANT,       /* $tenant */
	FEED_SRC_FEED,         /* $feed */
	FEED_SRC_MEMBER_KEY,   /* $member_key: key, or key-dependent */
	FEED_SRC_DEP_KEY,      /* $dependent_key: "" for the subscriber */
	FEED_SRC_GENDER,       /* $gender: a dependent's, "" otherwise */
	/* dynamic: known only when a file is written */
	FEED_SRC_ACTION,      /* $action: add change terminate reinstate none */
	FEED_SRC_TERM_DATE,   /* $term_date: YYYY-MM-DD or "" */
	FEED_SRC_TERM_REASON, /* $term_reason */
	FEED_SRC_AS_OF,       /* $as_of: the run's as-of date */
};

enum feed_case { FEED_CASE_NONE, FEED_CASE_UPPER, FEED_CASE_LOWER };

struct feed_map {
	char *from;
	char *to;
};

struct feed_column {
	char *name;
	char *header;
	enum feed_src src;
	char *source; /* as written, abbreviations expanded */
	char *konst;  /* FEED_SRC_CONST */
	/* FEED_SRC_ATTR: the resolved path, value filter and sub-attribute */
	struct scim_attrpath path;
	struct scim_filter *vfilter;
	const struct scim_attr *sub;
	int slot; /* the value's index in the profile's extraction set */
	/*
	 * A multi-valued source whose value filter uses only eq, co, sw, ew
	 * and pr on string or boolean sub-attributes (and, or, not) is
	 * picked from the element texts; others go through jansson.
	 */
	bool fast;
	struct jpath_set *elem; /* sub-attribute names in one element */
	int eslot_sub, eslot_primary;
	const char *enames[8];
	int eslots[8];
	size_t nenames;
	char *date_format;
	enum feed_case kase;
	struct feed_map *map;
	size_t nmap;
	char *def;    /* default, or NULL */
	size_t width; /* 0: none */
	bool align_right;
	char pad;
	bool truncate;
};

struct feed_approval {
	bool first_run;
	bool layout_change;
	bool has_max_terms; /* max_terminations_percent given */
	double max_terms_pct;
	bool has_max_changes;
	int64_t max_changes;
};

struct feed_profile {
	char *name;
	char *tenant;
	char *vendor;
	char *eligibility; /* the rule, abbreviations expanded */
	char *rule_text;   /* the rule as written, for people to read */
	struct scim_filter *filter;
	bool rule_uses_groups; /* the rule reads group membership */
	char *key_source;
	struct scim_attrpath key;
	enum feed_mode mode;
	enum feed_terms terms;
	int lookback_days;
	char *format;        /* as written: csv, pipe, tab, fixed, x12-834 */
	struct fmt_opts fmt; /* cols and strings point into the profile */
	struct feed_column *cols;
	size_t ncols;
	bool has_dynamic; /* some column is computed per file */
	char *file_name;  /* template */
	struct feed_approval approval;
	char *x12_sender; /* "ISA05:ISA06", the control number series */
	char rule_hash[FEED_HASH_LEN + 1];
	char values_hash[FEED_HASH_LEN + 1];
	char layout_hash[FEED_HASH_LEN + 1];
	char *layout; /* JSON array of the column names */
	/* the document paths the columns read (see record.h) */
	struct jpath_set *paths;
	int slot_username; /* userName, for display */
	int slot_status;   /* eligibility employmentStatus */
	int slot_termdate; /* eligibility terminationDate */
	/* owned storage behind fmt */
	struct fmt_column *fcols;
	char *x12_strings[14]; /* the string keys of x12_keys[] */
};

struct feed_profiles {
	struct feed_profile **v;
	size_t n;
};

/*
 * Parse the `feeds` section of c. Errors go to c (check c->nerrors); the
 * profiles that parsed cleanly are returned either way, never NULL.
 */
struct feed_profiles *feed_profiles_load(struct cfg *c);
void feed_profiles_free(struct feed_profiles *);
/* The profile named `name`, or NULL. Borrowed. */
const struct feed_profile *feed_profiles_find(const struct feed_profiles *,
                                              const char *name);

/*
 * Expand the "eligibility:" and "enterprise:" abbreviations at the start
 * of attribute paths in a filter or path (outside string literals) to
 * the extension URNs. Returns a new string the caller frees.
 */
char *feed_expand_abbrev(const char *text);

/*
 * Check a file name template: placeholders {tenant} {feed} {seq}
 * {seq:N} {date:FMT} (FMT of %Y %y %m %d %j %H %M %S and the characters
 * allowed in names) and literal [A-Za-z0-9._-]. NULL when valid, else a
 * static message.
 */
const char *feed_name_template_check(const char *tmpl);
/*
 * The longest name the template (already checked) can expand to for this
 * tenant and feed, with a file number of up to 10 digits.
 */
size_t feed_name_template_max(const char *tmpl, const char *tenant,
                              const char *feed);

/*
 * Expand the template for a run. date is YYYY-MM-DD, clock HH:MM:SS.
 * Returns 0 with *out (caller frees), or -1 with *cause (caller frees)
 * when the result is not a plain file name: only [A-Za-z0-9._-], no
 * "..", not starting with '.', at most FEED_FILE_NAME_MAX bytes.
 */
int feed_file_name(const char *tmpl, const char *tenant, const char *feed,
                   const char *date, const char *clock, int64_t seq, char **out,
                   char **cause);

/* True for a plain file name as feed_file_name() demands. */
bool feed_file_name_ok(const char *name);

#endif
