/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* "rosterd import hris": apply an HRIS export to a tenant's people. */
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cfg/cfg.h"
#include "cli/cmd.h"
#include "import/hris.h"
#include "store/store.h"
#include "util/buf.h"

static int cmd_import_hris_exec(int, char **);

const struct cmd_entry cmd_import_hris_entry = {
    .name = "import hris",
    .synopsis = "FILE.csv --tenant NAME --mapping NAME [--config FILE] "
                "[--db PATH] [--dry-run] [--allow-partial] [--force] "
                "[--as-of DATE] [--json]",
    .summary = "Import an HRIS export (CSV) into a tenant's people",
    .help =
        "Apply an HR system's export to the tenant's people, using a column\n"
        "mapping from the configuration file (section \"mappings\", see\n"
        "docs/import.md). Every row is checked first; errors name the row\n"
        "and column. When any row is bad nothing is applied, unless\n"
        "--allow-partial. People are matched on the mapping's key column\n"
        "(their externalId); only people whose mapped cells changed since\n"
        "the last import are written, through the same history as SCIM\n"
        "changes (source \"hris\"). Everything is one transaction.\n"
        "\n"
        "A summary goes to standard output; errors to standard error, and a\n"
        "progress bar too when it is a terminal. Exit status: 0 imported,\n"
        "1 nothing imported (bad rows, refused, or a failure), 2 usage,\n"
        "3 imported with bad rows skipped (--allow-partial).\n"
        "\n"
        "  --tenant NAME    the tenant whose people the file describes\n"
        "  --mapping NAME   the mapping under \"mappings\" in the config\n"
        "  --config FILE    the YAML configuration file (default:\n"
        "                   $ROSTERD_CONFIG)\n"
        "  --db PATH        database file (default: the config's\n"
        "                   server.db, else $ROSTERD_DB, else ./rosterd.db)\n"
        "  --dry-run        do everything, report, then write nothing\n"
        "  --allow-partial  apply the good rows even when some are bad\n"
        "  --force          terminate more people than the mapping's\n"
        "                   max_terminate_percent allows (full_file)\n"
        "  --as-of DATE     the date (YYYY-MM-DD) used as terminationDate\n"
        "                   for full-file terminations (default: today,\n"
        "                   UTC)\n"
        "  --json           print the summary as one JSON object\n",
    .exec = cmd_import_hris_exec,
};

struct cmd_import_args {
	const char *file;
	const char *tenant;
	const char *mapping;
	const char *config;
	const char *db;
	const char *as_of;
	bool dry_run;
	bool allow_partial;
	bool force;
	bool json;
};

static const struct option cmd_import_opts[] = {
    {"tenant", required_argument, NULL, 't'},
    {"mapping", required_argument, NULL, 'm'},
    {"config", required_argument, NULL, 'c'},
    {"db", required_argument, NULL, 'd'},
    {"as-of", required_argument, NULL, 'a'},
    {"dry-run", no_argument, NULL, 'n'},
    {"allow-partial", no_argument, NULL, 'p'},
    {"force", no_argument, NULL, 'f'},
    {"json", no_argument, NULL, 'j'},
    {NULL, 0, NULL, 0},
};

static void
cmd_import_set(struct cmd_import_args *a, int c, const char *v)
{
	switch (c) {
	case 't':
		a->tenant = v;
		break;
	case 'm':
		a->mapping = v;
		break;
	case 'c':
		a->config = v;
		break;
	case 'd':
		a->db = v;
		break;
	case 'a':
		a->as_of = v;
		break;
	case 'n':
		a->dry_run = true;
		break;
	case 'p':
		a->allow_partial = true;
		break;
	case 'f':
		a->force = true;
		break;
	default:
		a->json = true;
	}
}

static int
cmd_import_missing(const char *what)
{
	cmd_error("import hris: %s is required", what);
	return cmd_usage(&cmd_import_hris_entry);
}

static int
cmd_import_parse(int argc, char **argv, struct cmd_import_args *a)
{
	char out[11];
	int c;

	while ((c = getopt_long(argc, argv, ":", cmd_import_opts, NULL)) !=
	       -1) {
		if (c == ':' || c == '?')
			return cmd_bad_option(&cmd_import_hris_entry, c, argv);
		cmd_import_set(a, c, optarg);
	}
	if (optind < argc)
		a->file = argv[optind++];
	if (optind < argc) {
		cmd_error("import hris: unexpected argument \"%s\"",
		          argv[optind]);
		return cmd_usage(&cmd_import_hris_entry);
	}
	if (a->file == NULL)
		return cmd_import_missing("FILE.csv");
	if (a->tenant == NULL)
		return cmd_import_missing("--tenant");
	if (a->mapping == NULL)
		return cmd_import_missing("--mapping");
	if (a->config == NULL &&
	    (a->config = getenv("ROSTERD_CONFIG")) != NULL &&
	    *a->config == '\0')
		a->config = NULL;
	if (a->config == NULL)
		return cmd_import_missing("--config (it holds the mapping)");
	if (a->as_of != NULL &&
	    hris_date_parse("%Y-%m-%d", a->as_of, out) == -1) {
		cmd_error("import hris: --as-of \"%s\" is not a date "
		          "(YYYY-MM-DD)",
		          a->as_of);
		return 2;
	}
	return 0;
}

/* The mapping names in hc, ", "-separated, into b. */
static void
cmd_import_names(const struct hris_config *hc, struct buf *b)
{
	size_t i;

	for (i = 0; i < hc->n; i++)
		buf_addf(b, "%s%s", i ? ", " : "", hc->maps[i].name);
	if (hc->n == 0)
		buf_addstr(b, "none");
}

/* Load the config and its mappings; print why not and return NULL. */
static struct cfg *
cmd_import_config(const struct cmd_import_args *a, struct hris_config **hc)
{
	struct cfg *c;
	char *cause = NULL;

	if ((c = cfg_load(a->config, &cause)) == NULL) {
		cmd_error("%s", cause);
		free(cause);
		return NULL;
	}
	*hc = hris_config_load(c);
	if (c->nerrors == 0)
		return c;
	fputs(buf_str(&c->errors), stderr);
	cmd_error("%s: %d error%s", a->config, c->nerrors,
	          c->nerrors == 1 ? "" : "s");
	hris_config_free(*hc);
	*hc = NULL;
	cfg_free(c);
	return NULL;
}

/* The progress bar: stderr only, and only when it is a terminal. */
struct cmd_import_bar {
	const char *phase;
	int pct;
	bool shown;
};

static void
cmd_import_progress(const char *phase, uint64_t done, uint64_t total, void *arg)
{
	struct cmd_import_bar *b = arg;
	char bar[31];
	int pct, i;

	pct = total > 0 ? (int)(done * 100 / total) : 100;
	if (b->shown && pct == b->pct && strcmp(phase, b->phase) == 0)
		return;
	b->phase = phase;
	b->pct = pct;
	b->shown = true;
	for (i = 0; i < 30; i++)
		bar[i] = i < pct * 30 / 100 ? '#' : '.';
	bar[30] = '\0';
	fprintf(stderr, "\r%-10s [%s] %3d%%", phase, bar, pct);
	fflush(stderr);
}

static void
cmd_import_bar_done(struct cmd_import_bar *b)
{
	if (b->shown)
		fputs("\r\033[K", stderr);
	b->shown = false;
}

static void
cmd_import_errors(const char *file, const struct hris_report *r)
{
	struct buf b;
	size_t i;

	for (i = 0; i < r->nkept && i < HRIS_ERRORS_SHOWN; i++) {
		buf_init(&b, 0);
		hris_error_format(&r->errors[i], &b);
		cmd_error("%s: %s", file, buf_str(&b));
		buf_free(&b);
	}
	if (r->nerrors > (int64_t)i)
		cmd_error("%s: ... and %lld more error%s", file,
		          (long long)(r->nerrors - (int64_t)i),
		          r->nerrors - (int64_t)i == 1 ? "" : "s");
	if (r->fatal != NULL)
		cmd_error("%s", r->fatal);
	if (r->warning != NULL)
		cmd_error("warning: %s", r->warning);
}

static const char *
cmd_import_outcome(const struct cmd_import_args *a, const struct hris_report *r)
{
	if (r->status == STORE_HRIS_REFUSED)
		return "refused: nothing was applied";
	if (r->status == STORE_HRIS_REJECTED || !r->applied)
		return a->dry_run && (r->status == STORE_HRIS_APPLIED ||
		                      r->status == STORE_HRIS_PARTIAL)
		           ? "dry run: nothing was written"
		           : "rejected: nothing was applied";
	return r->status == STORE_HRIS_PARTIAL ? "applied, bad rows skipped"
	                                       : "applied";
}

static void
cmd_import_text(const struct cmd_import_args *a, const struct hris_report *r,
                double secs)
{
	printf("import of %s into tenant %s (mapping %s): %s\n", a->file,
	       a->tenant, a->mapping, cmd_import_outcome(a, r));
	printf("rows        %lld (%lld employees, %lld dependents)\n",
	       (long long)r->rows, (long long)r->employees,
	       (long long)r->dependent_rows);
	printf("created     %lld\n", (long long)r->created);
	printf("updated     %lld\n", (long long)r->updated);
	printf("unchanged   %lld\n", (long long)r->unchanged);
	printf("terminated  %lld\n", (long long)r->terminated);
	printf("dependents  added %lld, updated %lld, removed %lld\n",
	       (long long)r->dep_added, (long long)r->dep_updated,
	       (long long)r->dep_removed);
	printf("errors      %lld\n", (long long)r->nerrors);
	printf("time        %.2f s\n", secs);
}

static json_t *
cmd_import_error_list(const struct hris_report *r)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < r->nkept; i++)
		json_array_append_new(
		    a,
		    json_pack("{s:I, s:I, s:s?, s:s}", "row",
		              (json_int_t)r->errors[i].row, "column",
		              (json_int_t)r->errors[i].col, "name",
		              r->errors[i].name, "message", r->errors[i].msg));
	return a;
}

static void
cmd_import_json(const struct cmd_import_args *a, const struct hris_report *r,
                double secs)
{
	json_t *o;
	char *s;

	o = json_pack(
	    "{s:o, s:s, s:s, s:s, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:I, s:{s:I, s:I, s:I}, s:I, s:o, s:o, s:o, s:f, "
	    "s:{s:f, s:f, s:f, s:f}}",
	    "file", cmd_json_text(a->file), "tenant", a->tenant, "mapping",
	    a->mapping, "status", store_hris_status_name(r->status), "dry_run",
	    a->dry_run, "applied", r->applied, "run_id", (json_int_t)r->run_id,
	    "rows", (json_int_t)r->rows, "employees", (json_int_t)r->employees,
	    "dependent_rows", (json_int_t)r->dependent_rows, "created",
	    (json_int_t)r->created, "updated", (json_int_t)r->updated,
	    "unchanged", (json_int_t)r->unchanged, "terminated",
	    (json_int_t)r->terminated, "dependents", "added",
	    (json_int_t)r->dep_added, "updated", (json_int_t)r->dep_updated,
	    "removed", (json_int_t)r->dep_removed, "errors",
	    (json_int_t)r->nerrors, "error_list", cmd_import_error_list(r),
	    "fatal", cmd_json_text(r->fatal), "warning",
	    cmd_json_text(r->warning), "seconds", secs, "phases", "validate",
	    r->t_validate, "load", r->t_load, "apply", r->t_apply, "commit",
	    r->t_commit);
	if (o == NULL || (s = json_dumps(o, JSON_INDENT(2))) == NULL) {
		cmd_error("import hris: cannot write the JSON summary");
		json_decref(o);
		return;
	}
	printf("%s\n", s);
	free(s);
	json_decref(o);
}

static double
cmd_import_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmd_import_status(const struct hris_report *r, int rc)
{
	if (rc != 0)
		return 1;
	return r->status == STORE_HRIS_PARTIAL ? 3 : 0;
}

static int
cmd_import_run(struct store *st, const struct cmd_import_args *a,
               const struct hris_mapping *m)
{
	struct cmd_import_bar bar = {0};
	struct store_tenant t = {0};
	struct hris_report r;
	struct hris_opts o;
	double t0 = cmd_import_now();
	int rc;

	if ((rc = store_tenant_get(st, a->tenant, &t)) != STORE_OK) {
		cmd_error(rc == STORE_NOTFOUND ? "unknown tenant \"%s\""
		                               : "cannot read tenant \"%s\"",
		          a->tenant);
		return 1;
	}
	memset(&o, 0, sizeof(o));
	o.path = a->file;
	o.tenant_id = t.id;
	o.map = m;
	o.dry_run = a->dry_run;
	o.allow_partial = a->allow_partial;
	o.force = a->force;
	o.as_of = a->as_of;
	if (isatty(STDERR_FILENO)) {
		o.progress = cmd_import_progress;
		o.progress_arg = &bar;
	}
	rc = hris_import(st, &o, &r);
	cmd_import_bar_done(&bar);
	cmd_import_errors(a->file, &r);
	if (a->json)
		cmd_import_json(a, &r, cmd_import_now() - t0);
	else
		cmd_import_text(a, &r, cmd_import_now() - t0);
	rc = cmd_import_status(&r, rc);
	hris_report_clear(&r);
	store_tenant_clear(&t);
	return rc;
}

static int
cmd_import_hris_exec(int argc, char **argv)
{
	struct cmd_import_args a = {0};
	const struct hris_mapping *m;
	struct hris_config *hc = NULL;
	struct store *st;
	struct cfg *c;
	struct buf names;
	int rc;

	if ((rc = cmd_import_parse(argc, argv, &a)) != 0)
		return rc;
	if ((c = cmd_import_config(&a, &hc)) == NULL)
		return 1;
	rc = 1;
	if ((m = hris_mapping_find(hc, a.mapping)) == NULL) {
		buf_init(&names, 0);
		cmd_import_names(hc, &names);
		cmd_error("import hris: no mapping \"%s\" in %s (mappings: %s)",
		          a.mapping, a.config, buf_str(&names));
		buf_free(&names);
		goto out;
	}
	if (a.db == NULL)
		a.db = c->db != NULL ? c->db : cmd_default_db();
	if ((st = cmd_open_existing_store(a.db)) != NULL) {
		rc = cmd_import_run(st, &a, m);
		store_close(st);
	}
out:
	hris_config_free(hc);
	cfg_free(c);
	return rc;
}
