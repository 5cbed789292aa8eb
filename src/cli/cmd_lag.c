/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* rosterd feed lag: terminations delivered and how long each took. */
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cfg/cfg.h"
#include "cli/cmd.h"
#include "store/store.h"
#include "store/store_sched.h"
#include "util/xmalloc.h"

#define LAG_LIMIT_DEFAULT 20
#define LAG_LIMIT_MAX 100000

static int cmd_feed_lag_exec(int, char **);

const struct cmd_entry cmd_feed_lag_entry = {
    .name = "feed lag",
    .synopsis = "NAME [--limit N] [--json] [--config FILE] [--db PATH]",
    .summary = "List recent terminations delivered and their lag",
    .help =
        "List the feed's most recent terminations that reached the vendor,\n"
        "newest first: the member key, whether an off-cycle file or a\n"
        "regular run carried it, when the person left (the SCIM or HRIS\n"
        "change), when the file was delivered, and the lag between the\n"
        "two. A summary follows: count, median, 99th percentile and\n"
        "maximum.\n"
        "`rosterd serve` records these as it delivers feeds.\n"
        "\n"
        "  --limit N      how many (default 20, at most 100000)\n"
        "  --json         print {\"terminations\": [...], \"summary\": {...}}\n"
        "  --config FILE  the configuration (default: $ROSTERD_CONFIG), for\n"
        "                 its server.db\n"
        "  --db PATH      database file (default: the config's server.db,\n"
        "                 else $ROSTERD_DB, else ./rosterd.db)\n",
    .exec = cmd_feed_lag_exec,
};

struct lag_args {
	const char *feed, *config, *db;
	long limit;
	bool json;
};

static int
lag_parse(int argc, char **argv, struct lag_args *a)
{
	static const struct option opts[] = {
	    {"limit", required_argument, NULL, 'n'},
	    {"json", no_argument, NULL, 'j'},
	    {"config", required_argument, NULL, 'c'},
	    {"db", required_argument, NULL, 'd'},
	    {NULL, 0, NULL, 0}};
	char *end;
	int ch;

	memset(a, 0, sizeof(*a));
	a->limit = LAG_LIMIT_DEFAULT;
	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			a->limit = strtol(optarg, &end, 10);
			if (*end != '\0' || a->limit < 1 ||
			    a->limit > LAG_LIMIT_MAX) {
				cmd_error("feed lag: --limit: expected 1 to %d",
				          LAG_LIMIT_MAX);
				return 2;
			}
			break;
		case 'j':
			a->json = true;
			break;
		case 'c':
			a->config = optarg;
			break;
		case 'd':
			a->db = optarg;
			break;
		default:
			return cmd_bad_option(&cmd_feed_lag_entry, ch, argv);
		}
	}
	if (optind != argc - 1) {
		cmd_error("feed lag: give one feed NAME");
		return cmd_usage(&cmd_feed_lag_entry);
	}
	a->feed = argv[optind];
	return 0;
}

/* The database: --db, else the config's server.db, else the default. */
static char *
lag_db(const struct lag_args *a)
{
	const char *path = a->config;
	char *cause = NULL, *db;
	struct cfg *c;

	if (a->db != NULL)
		return xstrdup(a->db);
	if (path == NULL || *path == '\0')
		path = getenv("ROSTERD_CONFIG");
	if (path == NULL || *path == '\0')
		return xstrdup(cmd_default_db());
	if ((c = cfg_load(path, &cause)) == NULL) {
		cmd_error("%s", cause);
		free(cause);
		return NULL;
	}
	db = xstrdup(c->db != NULL ? c->db : cmd_default_db());
	cfg_free(c);
	return db;
}

struct lag_rows {
	json_t *arr;
	int64_t *ms;
	size_t n;
};

static int
lag_collect(const struct store_sched_lag *l, void *arg)
{
	struct lag_rows *r = arg;

	json_array_append_new(
	    r->arr,
	    json_pack("{ss ss ss ss ss ss sI}", "key", l->person_key, "kind",
	              l->kind, "run", l->run_id, "event_at", l->event_at,
	              "delivered_at", l->delivered_at, "feed", l->feed,
	              "lag_ms", (json_int_t)l->lag_ms));
	r->ms = xrealloc(r->ms, (r->n + 1) * sizeof(*r->ms));
	r->ms[r->n++] = l->lag_ms;
	return 0;
}

static int
ms_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v (n > 0). */
static int64_t
pct(const int64_t *v, size_t n, unsigned p)
{
	size_t rank = (n * p + 99) / 100;

	return v[rank > 0 ? rank - 1 : 0];
}

static json_t *
lag_summary(struct lag_rows *r)
{
	if (r->n == 0)
		return json_pack("{sI}", "count", (json_int_t)0);
	qsort(r->ms, r->n, sizeof(*r->ms), ms_cmp);
	return json_pack("{sI sI sI sI}", "count", (json_int_t)r->n, "p50_ms",
	                 (json_int_t)pct(r->ms, r->n, 50), "p99_ms",
	                 (json_int_t)pct(r->ms, r->n, 99), "max_ms",
	                 (json_int_t)r->ms[r->n - 1]);
}

static void
lag_text(const char *feed, json_t *arr, json_t *sum)
{
	size_t i;
	json_t *o;

	if (json_array_size(arr) == 0) {
		printf("feed %s: no terminations delivered yet\n", feed);
		return;
	}
	printf("%-24s %-9s %-24s %-24s %10s  %s\n", "KEY", "KIND", "LEFT",
	       "DELIVERED", "LAG", "RUN");
	json_array_foreach(arr, i, o)
	{
		printf(
		    "%-24s %-9s %-24s %-24s %8.1f s  %s\n",
		    json_string_value(json_object_get(o, "key")),
		    json_string_value(json_object_get(o, "kind")),
		    json_string_value(json_object_get(o, "event_at")),
		    json_string_value(json_object_get(o, "delivered_at")),
		    (double)json_integer_value(json_object_get(o, "lag_ms")) /
		        1000.0,
		    json_string_value(json_object_get(o, "run")));
	}
	printf(
	    "%lld termination%s: median %.1f s, p99 %.1f s, max %.1f s\n",
	    (long long)json_integer_value(json_object_get(sum, "count")),
	    json_integer_value(json_object_get(sum, "count")) == 1 ? "" : "s",
	    (double)json_integer_value(json_object_get(sum, "p50_ms")) / 1000.0,
	    (double)json_integer_value(json_object_get(sum, "p99_ms")) / 1000.0,
	    (double)json_integer_value(json_object_get(sum, "max_ms")) /
	        1000.0);
}

static int
cmd_feed_lag_exec(int argc, char **argv)
{
	struct lag_rows rows;
	struct lag_args a;
	struct store *st;
	json_t *sum, *out;
	char *db, *s;
	int rc;

	if ((rc = lag_parse(argc, argv, &a)) != 0)
		return rc;
	if ((db = lag_db(&a)) == NULL)
		return 1;
	if ((st = cmd_open_existing_store(db)) == NULL) {
		free(db);
		return 1;
	}
	free(db);
	memset(&rows, 0, sizeof(rows));
	rows.arr = json_array();
	rc = store_sched_lag_list(st, a.feed, (size_t)a.limit, lag_collect,
	                          &rows);
	store_close(st);
	if (rc != STORE_OK) {
		cmd_error("feed lag: cannot read the termination lags");
		json_decref(rows.arr);
		free(rows.ms);
		return 1;
	}
	sum = lag_summary(&rows);
	if (a.json) {
		out = json_pack("{so sO}", "terminations", rows.arr, "summary",
		                sum);
		s = json_dumps(out, JSON_INDENT(2));
		puts(s);
		free(s);
		json_decref(out);
	} else {
		lag_text(a.feed, rows.arr, sum);
		json_decref(rows.arr);
	}
	json_decref(sum);
	free(rows.ms);
	return 0;
}
