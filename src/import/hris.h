/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * HRIS import: the column mappings of the configuration's `mappings`
 * section, and the engine that applies an HR export (CSV) to a tenant's
 * people (docs/import.md).
 *
 * A mapping names the key column (the employee id, stored as the person's
 * externalId) and maps CSV columns onto User attribute paths as SCIM sees
 * them ("name.givenName", 'emails[type eq "work"].value',
 * "eligibility:hireDate"), with optional date formats and value maps.
 * Rows may also describe dependents of an employee.
 *
 * The import reads the file twice: first to validate every row (nothing
 * is written when a row is bad, unless allow_partial), then, in one
 * transaction, to apply only the rows whose mapped cells changed since the
 * last import: each becomes a SCIM PATCH run through scim_patch_apply()
 * and scim_schema_normalize() and is stored with store_res_insert() or
 * store_res_update() under the actor {source: "hris"}.
 *
 * struct hris_config owns everything it points to; free it with
 * hris_config_free(). struct hris_report owns its strings; release them
 * with hris_report_clear().
 */
#ifndef ROSTERD_HRIS_H
#define ROSTERD_HRIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "cfg/cfg.h"
#include "scim/schema.h"
#include "store/store.h"
#include "store/store_hris.h"

/* Errors printed by the CLI; more are counted, and kept up to the next. */
#define HRIS_ERRORS_SHOWN 50
#define HRIS_ERRORS_KEPT 1000
#define HRIS_MAX_TERMINATE_DEFAULT 10.0

/* A value map entry: the cell's text `from` is replaced by `to`. */
struct hris_pair {
	char *from;
	char *to;
};

/* How a cell becomes a value: a value map, then a date format. */
struct hris_conv {
	char *date_format; /* strptime-like; NULL: none */
	struct hris_pair *map;
	size_t nmap;
};

/* One CSV column feeding one User attribute. */
struct hris_col {
	char *column;      /* CSV header name */
	char *attr;        /* as written in the configuration */
	char *path;        /* PATCH path, extension URNs spelled out */
	char *remove_path; /* PATCH path that removes it (empty cell) */
	const struct scim_attr *leaf;
	bool is_key;   /* externalId, from the key column */
	bool filtered; /* a value path: emails[type eq "work"].value */
	struct hris_conv conv;
	json_t *jpath; /* path and remove_path as JSON strings */
	json_t *jremove;
};

enum hris_dep_field {
	HRIS_DEP_ID,
	HRIS_DEP_RELATIONSHIP,
	HRIS_DEP_FIRST_NAME,
	HRIS_DEP_MIDDLE_NAME,
	HRIS_DEP_LAST_NAME,
	HRIS_DEP_BIRTH_DATE,
	HRIS_DEP_GENDER,
	HRIS_DEP__COUNT
};

struct hris_dep_col {
	char *column;
	enum hris_dep_field field;
	struct hris_conv conv;
};

struct hris_mapping {
	char *name;
	char *key; /* key column */
	char delim;
	bool full_file;
	double max_terminate_percent;
	struct hris_col *cols;
	size_t ncols;
	bool maps_username;
	bool maps_active;
	const struct hris_col *status; /* eligibility:employmentStatus */
	bool dependents;
	char *rel_column;
	char *employee_value;
	struct hris_dep_col *dcols;
	size_t ndcols;
	uint64_t fingerprint; /* of everything above that shapes a person */
};

struct hris_config {
	struct hris_mapping *maps;
	size_t n;
};

/*
 * Parse and validate the `mappings` section of c (absent: no mappings).
 * Every problem is recorded with cfg_error() (file:line:col: key:
 * message). Returns the mappings, which the caller frees, even when
 * c->nerrors grew; they must not be used then.
 */
struct hris_config *hris_config_load(struct cfg *c);
void hris_config_free(struct hris_config *);
/* The mapping called name, or NULL. Borrowed. */
const struct hris_mapping *hris_mapping_find(const struct hris_config *,
                                             const char *name);

/* Progress: phase "validating" (done/total in bytes) or "applying". */
typedef void (*hris_progress_fn)(const char *phase, uint64_t done,
                                 uint64_t total, void *arg);

struct hris_opts {
	const char *path; /* the CSV file (a regular file: read twice) */
	int64_t tenant_id;
	const struct hris_mapping *map;
	bool dry_run;       /* do everything, then roll back */
	bool allow_partial; /* apply the good rows when some are bad */
	bool force;         /* ignore max_terminate_percent */
	const char *as_of;  /* YYYY-MM-DD for terminationDate; NULL: today */
	bool load_in_tx;    /* no second thread loading ahead (tests) */
	hris_progress_fn progress;
	void *progress_arg;
};

struct hris_error {
	int64_t row; /* 0: about the whole file */
	size_t col;  /* 1-based, 0: none */
	char *name;  /* header name of col, or NULL */
	char *msg;
};

/* Where the load step got the store's view of the people. */
enum hris_load_how {
	HRIS_LOAD_IN_TX, /* read inside the transaction */
	HRIS_LOAD_AHEAD, /* read ahead by a second thread, still current */
	HRIS_LOAD_STALE, /* read ahead, then again: something committed */
};

struct hris_report {
	enum store_hris_status status;
	int64_t run_id; /* 0 when nothing was recorded (dry run) */
	int64_t rows;   /* data records read, header excluded */
	int64_t employees;
	int64_t dependent_rows;
	int64_t created, updated, unchanged, terminated;
	int64_t dep_added, dep_updated, dep_removed, dependents;
	int64_t to_terminate; /* full file: people absent from it */
	int64_t roster;       /* full file: active people with an externalId */
	int64_t nerrors;      /* errors found, all of them */
	struct hris_error *errors; /* the first HRIS_ERRORS_KEPT, by row */
	size_t nkept;
	/* seconds spent: reading and checking, loading what the store
	 * holds, writing, and committing */
	double t_validate, t_load, t_apply, t_commit;
	enum hris_load_how load;
	char *fatal;   /* why nothing was applied, beyond row errors */
	char *warning; /* e.g. terminations skipped */
	bool applied;  /* changes were committed */
};

/*
 * Run one import. Returns 0 when the import went through (status APPLIED
 * or PARTIAL, or a dry run that would have), 1 when it was refused
 * (REJECTED: bad rows; REFUSED: threshold) with r->errors / r->fatal
 * saying why, or -1 when the file or store failed (r->fatal).
 */
int hris_import(struct store *, const struct hris_opts *, struct hris_report *);
void hris_report_clear(struct hris_report *);
/* Append "row R, column C (name): msg" to b. */
void hris_error_format(const struct hris_error *, struct buf *b);

/* A cell after its mapping: what a PATCH operation's value is made of. */
enum hris_vkind {
	HRIS_V_NONE, /* empty: the attribute is removed */
	HRIS_V_STRING,
	HRIS_V_BOOL,
	HRIS_V_INT,
	HRIS_V_REAL,
};

struct hris_value {
	enum hris_vkind kind;
	const char *s; /* HRIS_V_STRING: NUL-terminated, len bytes */
	size_t len;
	bool b;
	json_int_t i;
	double d;
	char date[11]; /* where a converted date lives (s points here) */
};

/*
 * Convert the (trimmed, NUL-terminated) text s of a cell through the
 * column's value map and date format into the attribute's type. Returns
 * 0, or -1 with the reason appended to err ("\"13/45/2020\" is not a date
 * in %m/%d/%Y"). v may point into s, the map, or itself.
 */
int hris_cell_value(const struct hris_col *, const char *s, size_t len,
                    struct hris_value *v, struct buf *err);
/* The same for a dependents column (a string, or a date for birth_date). */
/* Both refuse a cell that is not UTF-8. */
int hris_dep_value(const struct hris_dep_col *, const char *s, size_t len,
                   struct hris_value *v, struct buf *err);
/* A new JSON value for v (json_null() for HRIS_V_NONE). */
json_t *hris_value_json(const struct hris_value *);
/* "first_name", ... */
const char *hris_dep_field_name(enum hris_dep_field);

/*
 * Parse s as a date in fmt (%Y %y %m %d %e %b %B %% and literal text)
 * into out as YYYY-MM-DD. Returns 0, or -1 for anything but a real date.
 */
int hris_date_parse(const char *fmt, const char *s, char out[11]);

#endif
