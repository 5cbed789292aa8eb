/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* rosterd deliver RUN / deliver status FEED / returns fetch FEED. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cfg/cfg.h"
#include "cli/cmd.h"
#include "deliver/deliver.h"
#include "feed/profile.h"
#include "store/store.h"
#include "store/store_deliver.h"
#include "store/store_feed.h"
#include "util/buf.h"
#include "util/xmalloc.h"

#define HELP_COMMON                                                            \
	"  --config FILE  the configuration with the delivery section "        \
	"(default:\n"                                                          \
	"                 $ROSTERD_CONFIG)\n"                                  \
	"  --db PATH      database file (default: the config's server.db,\n"   \
	"                 else $ROSTERD_DB, else ./rosterd.db); rosterd's\n"   \
	"                 key ring, spool and archives live in its "           \
	"directory\n"

static int cmd_deliver_exec(int, char **);
static int cmd_returns_fetch_exec(int, char **);
static int cmd_returns_show_exec(int, char **);

/* "deliver status" is a verb of this entry: a separate "deliver status"
 * entry would make "deliver" a word-prefix of another command. */
const struct cmd_entry cmd_deliver_entry = {
    .name = "deliver",
    .synopsis = "RUN [--retry] [--once] [--config FILE] [--db PATH] | "
                "status FEED [--json] [--config FILE] [--db PATH]",
    .summary = "Deliver a rendered run now, or show a feed's deliveries",
    .help =
        "deliver RUN: encrypt the run's file for the vendor (when the\n"
        "feed's delivery entry has pgp), upload it to the destination\n"
        "under a temporary name and rename it into place, exactly once.\n"
        "Resumes a delivery interrupted at any point; a file already in\n"
        "place on the server (same name and size as recorded) is not sent\n"
        "again. Retryable errors (connection refused, timeouts, a cut\n"
        "connection) are retried in this process with exponential backoff\n"
        "and jitter up to the entry's retries.max; then, or at once for a\n"
        "wrong host key, a refused login or a name taken by another file,\n"
        "the delivery fails and says why. Exit status 0 when delivered, 1\n"
        "when failed, 75 with --once when it must be retried later.\n"
        "\n"
        "  --retry        give a failed delivery another go (its attempts\n"
        "                 start again from zero)\n"
        "  --once         one attempt, no waiting\n"
        "\n"
        "deliver status FEED: the feed's deliveries, newest first: state,\n"
        "attempts, remote name, size and SHA-256 of the file sent, the\n"
        "last error and the return files that answered it.\n"
        "\n"
        "  --json         print a JSON array, with every attempt\n" HELP_COMMON,
    .exec = cmd_deliver_exec,
};

const struct cmd_entry cmd_returns_fetch_entry = {
    .name = "returns fetch",
    .synopsis = "FEED [--config FILE] [--db PATH]",
    .summary = "Collect a feed's return files from the vendor now",
    .help = "List the feed's return directory (returns.dir, returns.pattern),\n"
            "download each file not seen before (and a new version of one\n"
            "that changed on the server since: its size, or its modification\n"
            "time when the server gives one), decrypt it when it is PGP,\n"
            "archive it under DATA/returns/FEED, read its records (key,\n"
            "status, message columns) and attach them to the run it answers:\n"
            "the run whose file name appears in the return file's name, else\n"
            "the newest delivered run not yet acknowledged, which becomes\n"
            "acknowledged. With returns.format x12, the files are TA1, 999 or\n"
            "997 acknowledgments, matched to the run by the 834's control\n"
            "numbers. Rejected records are kept for reconciliation.\n"
            "\n" HELP_COMMON,
    .exec = cmd_returns_fetch_exec,
};

const struct cmd_entry cmd_returns_show_entry = {
    .name = "returns show",
    .synopsis = "RUN [--rejected] [--json] [--config FILE] [--db PATH]",
    .summary = "List what the vendor's return files said about a run",
    .help = "Print the records of the return files that answered the run:\n"
            "key, status, whether it counts as accepted, and the vendor's\n"
            "message (for X12 acknowledgments: one record per TA1, group and\n"
            "transaction set, the errors in words). The configuration is read\n"
            "only for its server.db.\n"
            "\n"
            "  --rejected     only the records the vendor rejected\n"
            "  --json         print a JSON array of records\n" HELP_COMMON,
    .exec = cmd_returns_show_exec,
};

/* Options and resources shared by the commands. */
struct da {
	const struct cmd_entry *e;
	const char *config, *db;
	bool retry, once, json, rejected;
	const char *verb; /* "status" or NULL */
	const char *arg;  /* RUN or FEED */
	struct cfg *cfg;
	struct deliver_config *dc;
	struct store *st;
	char *data_dir;
	struct deliver_env env;
};

static const struct option da_opts[] = {
    {"config", required_argument, NULL, 'c'},
    {"db", required_argument, NULL, 'd'},
    {"retry", no_argument, NULL, 'r'},
    {"once", no_argument, NULL, '1'},
    {"json", no_argument, NULL, 'j'},
    {"rejected", no_argument, NULL, 'x'},
    {NULL, 0, NULL, 0},
};

/* Options (only those in `allowed`), then [status] and one argument. */
static int
da_parse(struct da *a, const char *allowed, bool verbs, int argc, char **argv)
{
	int c;

	while ((c = getopt_long(argc, argv, ":", da_opts, NULL)) != -1) {
		if (c == ':' || c == '?' || strchr(allowed, c) == NULL)
			return cmd_bad_option(a->e, c, argv);
		a->config = c == 'c' ? optarg : a->config;
		a->db = c == 'd' ? optarg : a->db;
		a->retry |= c == 'r';
		a->once |= c == '1';
		a->json |= c == 'j';
		a->rejected |= c == 'x';
	}
	if (verbs && optind < argc && strcmp(argv[optind], "status") == 0)
		a->verb = argv[optind++];
	if (optind < argc)
		a->arg = argv[optind++];
	if (optind < argc || a->arg == NULL) {
		if (a->arg == NULL)
			cmd_error("%s: missing %s", a->e->name,
			          a->verb != NULL || !verbs ? "FEED" : "RUN");
		else
			cmd_error("%s: unexpected argument \"%s\"", a->e->name,
			          argv[optind]);
		return cmd_usage(a->e);
	}
	return 0;
}

/* Load the configuration and its delivery section; print every error. */
static int
da_config(struct da *a, bool required)
{
	struct feed_profiles *ps;
	char *cause = NULL;

	if (a->config == NULL)
		a->config = getenv("ROSTERD_CONFIG");
	if (a->config == NULL || *a->config == '\0') {
		if (!required)
			return 0;
		cmd_error("%s: no configuration: give --config FILE (or set "
		          "ROSTERD_CONFIG)",
		          a->e->name);
		return 1;
	}
	if ((a->cfg = cfg_load(a->config, &cause)) == NULL) {
		cmd_error("%s", cause);
		free(cause);
		return 1;
	}
	ps = feed_profiles_load(a->cfg);
	feed_profiles_free(ps);
	a->dc = deliver_config_load(a->cfg);
	if (a->cfg->nerrors > 0) {
		fputs(buf_str(&a->cfg->errors), stderr);
		cmd_error("%s: %d error%s", a->config, a->cfg->nerrors,
		          a->cfg->nerrors == 1 ? "" : "s");
		return 1;
	}
	return 0;
}

/* The database and the data directory next to it. */
static int
da_open(struct da *a)
{
	const char *db = a->db;

	if (db == NULL)
		db = a->cfg != NULL && a->cfg->db != NULL ? a->cfg->db
		                                          : cmd_default_db();
	if ((a->st = cmd_open_existing_store(db)) == NULL)
		return 1;
	a->data_dir = cmd_data_dir(db);
	a->env.data_dir = a->data_dir;
	a->env.outbox = a->cfg != NULL ? a->cfg->outbox : NULL;
	return 0;
}

static void
da_free(struct da *a)
{
	if (a->st != NULL)
		store_close(a->st);
	deliver_config_free(a->dc);
	cfg_free(a->cfg);
	free(a->data_dir);
}

static void
sleep_ms(int64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void
print_delivered(struct da *a, const char *run_id)
{
	struct store_delivery d;

	if (store_deliver_get(a->st, run_id, &d) != STORE_OK) {
		printf("run %s: delivered\n", run_id);
		return;
	}
	printf("run %s (%s #%lld): %s\n", d.run_id, d.feed, (long long)d.seq,
	       d.state);
	printf("  file    %s (%lld bytes, sha256 %s)\n", d.remote_name,
	       (long long)d.size, d.sha256 != NULL ? d.sha256 : "-");
	printf("  to      %s\n", d.destination);
	printf("  at      %s after %lld attempt%s\n",
	       d.delivered_at != NULL ? d.delivered_at : "-",
	       (long long)d.attempts, d.attempts == 1 ? "" : "s");
	store_delivery_clear(&d);
}

/* deliver RUN: attempt, and wait and try again while it says so. */
static int
deliver_one(struct da *a)
{
	int64_t wait_ms;
	char *cause = NULL;
	int rc;

	if (a->retry && deliver_retry(a->st, a->arg, &cause) == -1) {
		cmd_error("deliver: %s", cause);
		free(cause);
		return 1;
	}
	for (;;) {
		rc = deliver_run(a->st, a->dc, &a->env, a->arg, &wait_ms,
		                 &cause);
		if (rc != 1)
			break;
		cmd_error("deliver: run %s: %s; %s %.1f s", a->arg,
		          cause != NULL ? cause : "not yet",
		          a->once ? "retry in" : "trying again in",
		          (double)wait_ms / 1000);
		free(cause);
		cause = NULL;
		if (a->once)
			break;
		sleep_ms(wait_ms);
	}
	deliver_stop_agent(&a->env);
	if (rc == 0)
		print_delivered(a, a->arg);
	else if (rc == -1)
		cmd_error("deliver: %s", cause != NULL ? cause : "failed");
	free(cause);
	return rc == 0 ? 0 : rc == 1 ? 75 : 1;
}

/* deliver status FEED */

struct status {
	struct store *st;
	json_t *arr; /* --json */
	int n;
};

struct retsum {
	int files;
	int64_t records, rejected;
	const char *run_id;
	json_t *arr;
};

static int
retsum_cb(const struct store_return_file *f, void *arg)
{
	struct retsum *r = arg;
	json_t *j;

	if (f->run_id == NULL || strcmp(f->run_id, r->run_id) != 0)
		return 0;
	r->files++;
	r->records += f->records;
	r->rejected += f->rejected;
	if (r->arr != NULL) {
		j = json_pack(
		    "{s:o, s:I, s:I, s:I, s:I, s:s, s:o}", "name",
		    cmd_json_text(f->name), "version", (json_int_t)f->version,
		    "size", (json_int_t)f->size, "records",
		    (json_int_t)f->records, "rejected", (json_int_t)f->rejected,
		    "downloaded", f->downloaded_at, "archive",
		    cmd_json_text(f->archive_path));
		if (f->error != NULL)
			json_object_set_new(j, "error",
			                    cmd_json_text(f->error));
		json_array_append_new(r->arr, j);
	}
	return 0;
}

static int
attempt_cb(const struct store_delivery_attempt *at, void *arg)
{
	json_t *j = json_pack("{s:I, s:s}", "n", (json_int_t)at->n, "started",
	                      at->started);

	if (at->ended != NULL)
		json_object_set_new(j, "ended", json_string(at->ended));
	if (at->outcome != NULL)
		json_object_set_new(j, "outcome", json_string(at->outcome));
	if (at->error != NULL)
		json_object_set_new(j, "error", cmd_json_text(at->error));
	json_array_append_new(arg, j);
	return 0;
}

static void
json_opt(json_t *o, const char *k, const char *v)
{
	json_object_set_new(o, k, cmd_json_text(v));
}

static void
status_json(struct status *s, const struct store_delivery *d)
{
	struct retsum r = {0, 0, 0, d->run_id, json_array()};
	json_t *o = json_object(), *att = json_array();

	json_opt(o, "run", d->run_id);
	json_object_set_new(o, "seq", json_integer(d->seq));
	json_opt(o, "state", d->state);
	json_opt(o, "failed_from", d->failed_from);
	json_opt(o, "destination", d->destination);
	json_opt(o, "remote_name", d->remote_name);
	json_object_set_new(o, "size",
	                    d->size >= 0 ? json_integer(d->size) : json_null());
	json_opt(o, "sha256", d->sha256);
	json_object_set_new(o, "attempts", json_integer(d->attempts));
	json_opt(o, "next_attempt_at", d->next_attempt_at);
	json_opt(o, "last_error", d->last_error);
	json_opt(o, "created", d->created);
	json_opt(o, "updated", d->updated);
	json_opt(o, "encrypted_at", d->encrypted_at);
	json_opt(o, "delivered_at", d->delivered_at);
	json_opt(o, "acknowledged_at", d->acknowledged_at);
	store_deliver_attempts(s->st, d->run_id, attempt_cb, att);
	json_object_set_new(o, "attempt_log", att);
	store_return_list(s->st, d->feed, retsum_cb, &r);
	json_object_set_new(o, "returns", r.arr);
	json_array_append_new(s->arr, o);
}

static void
status_text(struct status *s, const struct store_delivery *d)
{
	struct retsum r = {0, 0, 0, d->run_id, NULL};

	if (s->n == 0)
		printf("%-21s %4s %-12s %5s  %-24s  %s\n", "RUN", "SEQ",
		       "STATE", "TRIES", "UPDATED", "REMOTE NAME");
	printf("%-21s %4lld %-12s %5lld  %-24s  %s\n", d->run_id,
	       (long long)d->seq, d->state, (long long)d->attempts, d->updated,
	       d->remote_name);
	if (d->sha256 != NULL)
		printf("    sha256 %s (%lld bytes)\n", d->sha256,
		       (long long)d->size);
	if (d->last_error != NULL)
		printf("    %s %s\n",
		       strcmp(d->state, STORE_DELIVER_FAILED) == 0 ? "failed:"
		                                                   : "error:",
		       d->last_error);
	if (d->next_attempt_at != NULL)
		printf("    next attempt %s\n", d->next_attempt_at);
	store_return_list(s->st, d->feed, retsum_cb, &r);
	if (r.files > 0)
		printf("    returns: %d file%s, %lld records, %lld rejected\n",
		       r.files, r.files == 1 ? "" : "s", (long long)r.records,
		       (long long)r.rejected);
}

static int
status_cb(const struct store_delivery *d, void *arg)
{
	struct status *s = arg;

	if (s->arr != NULL)
		status_json(s, d);
	else
		status_text(s, d);
	s->n++;
	return 0;
}

static int
deliver_status(struct da *a)
{
	struct status s = {a->st, a->json ? json_array() : NULL, 0};
	int rc;

	rc = store_deliver_list(a->st, a->arg, status_cb, &s);
	if (rc != STORE_OK) {
		json_decref(s.arr);
		cmd_error("deliver status: cannot read the deliveries of %s",
		          a->arg);
		return 1;
	}
	if (s.arr != NULL) {
		json_dumpf(s.arr, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(s.arr);
	} else if (s.n == 0)
		printf("feed %s has no deliveries\n", a->arg);
	return 0;
}

static int
cmd_deliver_exec(int argc, char **argv)
{
	struct da a = {.e = &cmd_deliver_entry};
	int rc;

	if ((rc = da_parse(&a, "cdr1j", true, argc, argv)) != 0)
		return rc;
	if (a.verb == NULL && a.json) {
		cmd_error("deliver: --json goes with deliver status");
		return cmd_usage(a.e);
	}
	if (a.verb != NULL && (a.retry || a.once)) {
		cmd_error("deliver status: --retry and --once go with "
		          "deliver RUN");
		return cmd_usage(a.e);
	}
	if ((rc = da_config(&a, a.verb == NULL)) == 0 &&
	    (rc = da_open(&a)) == 0)
		rc = a.verb != NULL ? deliver_status(&a) : deliver_one(&a);
	da_free(&a);
	return rc;
}

struct fetched {
	int n;
};

static int
fetched_cb(const struct store_return_file *f, void *arg)
{
	struct fetched *x = arg;

	if (x->n-- <= 0)
		return 1;
	if (f->version > 1)
		printf("%s (version %lld: changed on the server since version "
		       "%lld)",
		       f->name, (long long)f->version,
		       (long long)f->version - 1);
	else
		printf("%s", f->name);
	printf(": run %s, %lld records (%lld accepted, %lld rejected)%s%s\n",
	       f->run_id != NULL ? f->run_id : "(none)", (long long)f->records,
	       (long long)(f->records - f->rejected), (long long)f->rejected,
	       f->error != NULL ? "; " : "", f->error != NULL ? f->error : "");
	return 0;
}

static int
cmd_returns_fetch_exec(int argc, char **argv)
{
	struct da a = {.e = &cmd_returns_fetch_entry};
	struct fetched x;
	char *cause = NULL;
	int rc, n;

	if ((rc = da_parse(&a, "cd", false, argc, argv)) != 0)
		return rc;
	if ((rc = da_config(&a, true)) != 0 || (rc = da_open(&a)) != 0) {
		da_free(&a);
		return rc;
	}
	n = deliver_returns(a.st, a.dc, &a.env, a.arg, &cause);
	deliver_stop_agent(&a.env);
	if (n == -1) {
		cmd_error("returns fetch: %s", cause);
		rc = 1;
	} else {
		x.n = n;
		store_return_list(a.st, a.arg, fetched_cb, &x);
		printf("%d new return file%s\n", n, n == 1 ? "" : "s");
	}
	free(cause);
	da_free(&a);
	return rc;
}

/* Records of one run, as text or as a JSON array. */
struct shown {
	bool json;
	json_t *arr;
	int64_t n, rejected;
};

static int
shown_cb(const struct store_return_record *r, void *arg)
{
	struct shown *sh = arg;

	sh->n++;
	sh->rejected += !r->accepted;
	if (sh->json) {
		json_array_append_new(
		    sh->arr,
		    json_pack("{s:I, s:I, s:o, s:o, s:b, s:o}", "file",
		              (json_int_t)r->file_id, "row", (json_int_t)r->row,
		              "key", cmd_json_text(r->key), "status",
		              cmd_json_text(r->status), "accepted", r->accepted,
		              "message", cmd_json_text(r->message)));
		return 0;
	}
	if (sh->n == 1)
		printf("%-24s %-8s %-8s %s\n", "KEY", "STATUS", "ACCEPTED",
		       "MESSAGE");
	printf("%-24s %-8s %-8s %s\n", r->key, r->status,
	       r->accepted ? "yes" : "no",
	       r->message != NULL ? r->message : "");
	return 0;
}

static int
cmd_returns_show_exec(int argc, char **argv)
{
	struct da a = {.e = &cmd_returns_show_entry};
	struct store_feed_run run;
	struct shown sh = {0};
	char *s;
	int rc;

	if ((rc = da_parse(&a, "cdjx", false, argc, argv)) != 0)
		return rc;
	if ((rc = da_config(&a, false)) != 0 || (rc = da_open(&a)) != 0) {
		da_free(&a);
		return rc;
	}
	if (store_feed_run_get(a.st, a.arg, &run) != STORE_OK) {
		cmd_error("returns show: no run %s", a.arg);
		da_free(&a);
		return 1;
	}
	store_feed_run_clear(&run);
	sh.json = a.json;
	sh.arr = json_array();
	if (store_return_records(a.st, a.arg, a.rejected, shown_cb, &sh) !=
	    STORE_OK) {
		cmd_error("returns show: cannot read the records of %s", a.arg);
		rc = 1;
	} else if (a.json) {
		s = json_dumps(sh.arr, JSON_INDENT(2));
		printf("%s\n", s);
		free(s);
	} else
		printf("%lld record%s%s\n", (long long)sh.n,
		       sh.n == 1 ? "" : "s", a.rejected ? " rejected" : "");
	json_decref(sh.arr);
	da_free(&a);
	return rc;
}
