/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* rosterd feed plan / render / approve / reject / runs / show. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cfg/cfg.h"
#include "cli/cmd.h"
#include "deliver/deliver.h"
#include "feed/date.h"
#include "feed/plan.h"
#include "feed/profile.h"
#include "feed/record.h"
#include "feed/run.h"
#include "store/store.h"
#include "store/store_deliver.h"
#include "store/store_feed.h"
#include "util/buf.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

#define FEED_SAMPLES 10

static int cmd_feed_plan_exec(int, char **);
static int cmd_feed_render_exec(int, char **);
static int cmd_feed_approve_exec(int, char **);
static int cmd_feed_reject_exec(int, char **);
static int cmd_feed_discard_exec(int, char **);
static int cmd_feed_runs_exec(int, char **);
static int cmd_feed_show_exec(int, char **);

#define HELP_CONFIG                                                            \
	"  --config FILE  the configuration with the feed profiles "           \
	"(default:\n"                                                          \
	"                 $ROSTERD_CONFIG)\n"                                  \
	"  --db PATH      database file (default: the config's server.db,\n"   \
	"                 else $ROSTERD_DB, else ./rosterd.db)\n"

const struct cmd_entry cmd_feed_plan_entry = {
    .name = "feed plan",
    .synopsis = "NAME [--json] [--as-of YYYY-MM-DD] [--config FILE] "
                "[--db PATH]",
    .summary = "Show what the next file for a feed would contain",
    .help =
        "Compare who the feed's eligibility rule selects now with what the\n"
        "vendor was last sent, and print the adds, changes (the columns\n"
        "that changed, from the value sent to the new one), terminations\n"
        "(with the reason and date) and reinstatements: counts and up to\n"
        "10 samples of each. Nothing is written. Exit status 0 whether or\n"
        "not there is anything to send.\n"
        "\n"
        "  --json         print the complete plan as JSON: every outcome,\n"
        "                 then the counts\n"
        "  --as-of DATE   plan as of this date (default: today, UTC, or\n"
        "                 the date of $ROSTERD_NOW)\n" HELP_CONFIG,
    .exec = cmd_feed_plan_exec,
};

const struct cmd_entry cmd_feed_render_entry = {
    .name = "feed render",
    .synopsis = "NAME [--out DIR] [--full|--changes] [--as-of YYYY-MM-DD] "
                "[--by NAME] [--config FILE] [--db PATH]",
    .summary = "Write the next file for a feed and record the run",
    .help = "Plan the feed and record a run. When the profile's approval\n"
            "policy holds the run (first run, layout change, too many\n"
            "terminations or changes) it waits as pending_approval and no\n"
            "file is written; otherwise the file is written into DIR under a\n"
            "temporary name (mode 0600), synced and renamed into place, and\n"
            "the feed's state moves to what the file says. Prints the run id,\n"
            "its state and the file.\n"
            "\n"
            "  --out DIR      directory for the file (default: the config's\n"
            "                 server.outbox)\n"
            "  --full         a full file whatever the profile's mode\n"
            "  --changes      a change file whatever the profile's mode\n"
            "                 (without either: the mode's file; a change\n"
            "                 file for mode: both)\n"
            "  --as-of DATE   run as of this date (default: today, UTC, or\n"
            "                 the date of $ROSTERD_NOW)\n"
            "  --by NAME      who runs it (default: $USER)\n" HELP_CONFIG,
    .exec = cmd_feed_render_exec,
};

const struct cmd_entry cmd_feed_approve_entry = {
    .name = "feed approve",
    .synopsis = "RUN [--by NAME] [--out DIR] [--config FILE] [--db PATH]",
    .summary = "Approve a run held for approval and write its file",
    .help = "Record who approved the run and when, then write its file\n"
            "exactly as planned. Also finishes an approved run whose file\n"
            "was not written (after a crash): the same bytes again.\n"
            "\n"
            "  --by NAME      who approves (default: $USER)\n"
            "  --out DIR      write the file here instead of the directory\n"
            "                 given at render time\n" HELP_CONFIG,
    .exec = cmd_feed_approve_exec,
};

const struct cmd_entry cmd_feed_reject_entry = {
    .name = "feed reject",
    .synopsis = "RUN --reason TEXT [--by NAME] [--config FILE] [--db PATH]",
    .summary = "Reject a run held for approval",
    .help = "Record who rejected the run, when and why. Nothing is written\n"
            "and the feed's state stays where it was; the next render\n"
            "plans again.\n"
            "\n"
            "  --reason TEXT  why (required)\n"
            "  --by NAME      who rejects (default: $USER)\n" HELP_CONFIG,
    .exec = cmd_feed_reject_exec,
};

const struct cmd_entry cmd_feed_discard_entry = {
    .name = "feed discard",
    .synopsis = "RUN --reason TEXT [--by NAME] [--config FILE] [--db PATH]",
    .summary = "Undo a rendered run the vendor never received",
    .help = "For a rendered run whose delivery failed (or never started):\n"
            "put the feed's members back as they were before it, so the\n"
            "feed's next run sends its adds, changes and terminations again,\n"
            "and record who discarded it, when and why. Refused for a run\n"
            "that was delivered or is being delivered, and while a later run\n"
            "of the feed is not rejected, failed or discarded (discard the\n"
            "newest first). The file stays where it was written; its\n"
            "encrypted copy in the spool is removed, and an upload staged\n"
            "on the server under a temporary name is removed by the feed's\n"
            "next delivery.\n"
            "\n"
            "  --reason TEXT  why (required)\n"
            "  --by NAME      who discards (default: $USER)\n" HELP_CONFIG,
    .exec = cmd_feed_discard_exec,
};

const struct cmd_entry cmd_feed_runs_entry = {
    .name = "feed runs",
    .synopsis = "NAME [--json] [--config FILE] [--db PATH]",
    .summary = "List the runs of a feed",
    .help = "List the feed's runs, newest first: id, sequence number,\n"
            "state, mode, as-of date, counts and file.\n"
            "\n"
            "  --json         print a JSON array of runs\n" HELP_CONFIG,
    .exec = cmd_feed_runs_exec,
};

const struct cmd_entry cmd_feed_show_entry = {
    .name = "feed show",
    .synopsis = "RUN [--json] [--config FILE] [--db PATH]",
    .summary = "Show one run",
    .help = "Show a run: state, counts, why it was held, who decided and\n"
            "when, the file (name, size, SHA-256) and every state change.\n"
            "\n"
            "  --json         print the run as a JSON object\n" HELP_CONFIG,
    .exec = cmd_feed_show_exec,
};

/* Options shared by the feed commands. */
struct fa {
	const struct cmd_entry *e;
	const char *config, *db, *out, *as_of, *by, *reason;
	enum feed_want want;
	bool json;
	const char *arg; /* NAME or RUN */
	struct cfg *cfg;
	struct feed_profiles *profiles;
	struct store *st;
	const char *dbpath; /* the database opened */
};

static const struct option fa_opts[] = {
    {"config", required_argument, NULL, 'c'},
    {"db", required_argument, NULL, 'd'},
    {"out", required_argument, NULL, 'o'},
    {"as-of", required_argument, NULL, 'a'},
    {"by", required_argument, NULL, 'b'},
    {"reason", required_argument, NULL, 'r'},
    {"full", no_argument, NULL, 'F'},
    {"changes", no_argument, NULL, 'C'},
    {"json", no_argument, NULL, 'j'},
    {NULL, 0, NULL, 0},
};

static void
fa_set(struct fa *a, int c, const char *v)
{
	switch (c) {
	case 'c':
		a->config = v;
		break;
	case 'd':
		a->db = v;
		break;
	case 'o':
		a->out = v;
		break;
	case 'a':
		a->as_of = v;
		break;
	case 'b':
		a->by = v;
		break;
	case 'r':
		a->reason = v;
		break;
	case 'F':
		a->want = FEED_WANT_FULL;
		break;
	case 'C':
		a->want = FEED_WANT_CHANGES;
		break;
	default:
		a->json = true;
		break;
	}
}

/* Parse options (only the letters in `allowed`) and the one argument. */
static int
fa_parse(struct fa *a, const char *allowed, int argc, char **argv)
{
	const char *what = a->e->synopsis; /* "NAME ..." or "RUN ..." */
	bool full = false, changes = false;
	int c;

	while ((c = getopt_long(argc, argv, ":", fa_opts, NULL)) != -1) {
		if (c == ':' || c == '?' || strchr(allowed, c) == NULL)
			return cmd_bad_option(a->e, c, argv);
		full |= c == 'F';
		changes |= c == 'C';
		fa_set(a, c, optarg);
	}
	if (full && changes) {
		cmd_error("%s: give --full or --changes, not both", a->e->name);
		return 2;
	}
	if (optind < argc)
		a->arg = argv[optind++];
	if (optind < argc) {
		cmd_error("%s: unexpected argument \"%s\"", a->e->name,
		          argv[optind]);
		return cmd_usage(a->e);
	}
	if (a->arg == NULL) {
		cmd_error("%s: missing %.*s", a->e->name,
		          (int)strcspn(what, " "), what);
		return cmd_usage(a->e);
	}
	if (a->by == NULL)
		a->by = getenv("USER") != NULL && *getenv("USER") != '\0'
		            ? getenv("USER")
		            : "unknown";
	return 0;
}

/* Load the configuration and the profiles; print every error. */
static int
fa_config(struct fa *a, bool required)
{
	char *cause = NULL;

	if (a->config == NULL)
		a->config = getenv("ROSTERD_CONFIG");
	if (a->config == NULL || *a->config == '\0') {
		if (required) {
			cmd_error("%s: no configuration: give --config FILE "
			          "(or set ROSTERD_CONFIG)",
			          a->e->name);
			return 1;
		}
		a->cfg = cfg_default();
		a->profiles = feed_profiles_load(a->cfg);
		return 0;
	}
	if ((a->cfg = cfg_load(a->config, &cause)) == NULL) {
		cmd_error("%s", cause);
		free(cause);
		return 1;
	}
	a->profiles = feed_profiles_load(a->cfg);
	if (a->cfg->nerrors > 0) {
		fputs(buf_str(&a->cfg->errors), stderr);
		cmd_error("%s: %d error%s", a->config, a->cfg->nerrors,
		          a->cfg->nerrors == 1 ? "" : "s");
		return 1;
	}
	return 0;
}

static int
fa_open(struct fa *a)
{
	const char *db = a->db;

	if (db == NULL)
		db = a->cfg != NULL && a->cfg->db != NULL ? a->cfg->db
		                                          : cmd_default_db();
	if ((a->st = cmd_open_existing_store(db)) == NULL)
		return 1;
	a->dbpath = db;
	return 0;
}

static void
fa_free(struct fa *a)
{
	if (a->st != NULL)
		store_close(a->st);
	feed_profiles_free(a->profiles);
	cfg_free(a->cfg);
}

/* "no feed "x" in FILE (feeds: a, b)", like import's mappings. */
static void
fa_no_feed(const struct fa *a, const char *name)
{
	struct buf names;
	size_t i;

	buf_init(&names, 0);
	for (i = 0; i < a->profiles->n; i++)
		buf_addf(&names, "%s%s", i > 0 ? ", " : "",
		         a->profiles->v[i]->name);
	cmd_error("%s: no feed \"%s\" in %s (feeds: %s)", a->e->name, name,
	          a->config, names.len > 0 ? buf_str(&names) : "none");
	buf_free(&names);
}

/* The profile named a->arg and its tenant id. */
static const struct feed_profile *
fa_profile(struct fa *a, const char *name, int64_t *tenant_id)
{
	const struct feed_profile *p;
	struct store_tenant t;
	int rc;

	if ((p = feed_profiles_find(a->profiles, name)) == NULL) {
		fa_no_feed(a, name);
		return NULL;
	}
	if ((rc = store_tenant_get(a->st, p->tenant, &t)) != STORE_OK) {
		cmd_error("%s: feed %s: %s tenant %s", a->e->name, name,
		          rc == STORE_NOTFOUND ? "no" : "cannot read",
		          p->tenant);
		return NULL;
	}
	*tenant_id = t.id;
	store_tenant_clear(&t);
	return p;
}

/* Progress on a terminal only. */

struct progress {
	bool on;
	int64_t total;
	bool drawn;
};

static void
progress_draw(const char *what, int64_t done, int64_t total, void *arg)
{
	struct progress *pg = arg;
	int width = 30, fill;

	if (!pg->on)
		return;
	if (total <= 0)
		total = pg->total;
	if (total > 0) {
		fill = done >= total ? width : (int)(done * width / total);
		fprintf(stderr, "\r%-6s [%.*s%*s] %3d%% %lld/%lld", what, fill,
		        "##############################", width - fill, "",
		        (int)(done * 100 / (total > 0 ? total : 1)),
		        (long long)done, (long long)total);
	} else
		fprintf(stderr, "\r%-6s %lld", what, (long long)done);
	pg->drawn = true;
}

static void
progress_end(struct progress *pg)
{
	if (pg->on && pg->drawn)
		fputs("\r\033[K", stderr);
}

static void
progress_init(struct progress *pg, struct store *st, int64_t tenant_id)
{
	memset(pg, 0, sizeof(*pg));
	pg->on = isatty(STDERR_FILENO) == 1;
	if (pg->on)
		store_res_count(st, tenant_id, STORE_USER, &pg->total);
}

/* feed plan */

struct plan_out {
	const struct feed_profile *p;
	bool json;
	int64_t n;       /* JSON outcomes printed */
	struct buf s[5]; /* text samples: add change term reinstate error */
	int ns[5];
	struct progress pg;
};

static int
sample_slot(enum feed_out k)
{
	switch (k) {
	case FEED_OUT_ADD:
		return 0;
	case FEED_OUT_CHANGE:
		return 1;
	case FEED_OUT_TERM:
		return 2;
	case FEED_OUT_REINSTATE:
		return 3;
	case FEED_OUT_ERROR:
		return 4;
	default:
		return -1;
	}
}

/*
 * A member key as people read it: a dependent's key is its subscriber's,
 * '/', and its own (FEED_DEP_SEP inside). The caller frees it.
 */
static char *
key_display(const char *k)
{
	char *d = xstrdup(k), *p;

	for (p = d; (p = strchr(p, FEED_DEP_SEP)) != NULL; p++)
		*p = '/';
	return d;
}

static void
change_json(const char *name, const char *a, size_t alen, const char *b,
            size_t blen, void *arg)
{
	json_t *c = json_object();

	json_object_set_new(c, "column", json_string(name));
	json_object_set_new(c, "from", cmd_json_textn(a, alen));
	json_object_set_new(c, "to", cmd_json_textn(b, blen));
	json_array_append_new(arg, c);
}

/* Values longer than this are cut in the text samples. */
#define SAMPLE_VALUE_MAX 40

static void
sample_value(struct buf *b, const char *v, size_t len)
{
	char *t = xstrndup(v, len > SAMPLE_VALUE_MAX ? SAMPLE_VALUE_MAX : len);
	unsigned char *c;

	utf8_scrub(t);
	for (c = (unsigned char *)t; *c != '\0'; c++)
		if (*c < 0x20 || *c == 0x7f)
			*c = ' '; /* one sample, one line */
	buf_addf(b, "\"%s%s\"", t, len > SAMPLE_VALUE_MAX ? "..." : "");
	free(t);
}

static void
change_text(const char *name, const char *a, size_t alen, const char *b,
            size_t blen, void *arg)
{
	struct buf *out = arg;

	buf_addf(out, "      %-20s ", name);
	sample_value(out, a, alen);
	buf_addstr(out, " -> ");
	sample_value(out, b, blen);
	buf_addch(out, '\n');
}

static json_t *
outcome_json(const struct feed_outcome *o, const struct feed_profile *p)
{
	json_t *j = json_object(), *cols;
	const char *c, *e;
	char *k = key_display(o->key);

	json_object_set_new(j, "action", json_string(feed_out_action(o->kind)));
	json_object_set_new(j, "key", json_string(k));
	if (strchr(o->key, FEED_DEP_SEP) != NULL)
		json_object_set_new(j, "dependent", json_true());
	free(k);
	if (o->user_name != NULL)
		json_object_set_new(j, "userName", json_string(o->user_name));
	if (o->person_id != NULL)
		json_object_set_new(j, "id", json_string(o->person_id));
	if (o->kind == FEED_OUT_CHANGE && o->e->changed != NULL) {
		cols = json_array();
		for (c = o->e->changed; *c != '\0'; c = *e ? e + 1 : e) {
			e = c + strcspn(c, ",");
			json_array_append_new(cols,
			                      json_stringn(c, (size_t)(e - c)));
		}
		json_object_set_new(j, "columns", cols);
		cols = json_array();
		if (o->old_vals != NULL)
			feed_record_diff_each(p, o->old_vals, o->old_index,
			                      o->e->vals, change_json, cols);
		json_object_set_new(j, "changes", cols);
	}
	if (o->kind == FEED_OUT_TERM) {
		json_object_set_new(j, "reason",
		                    json_string(o->e->term_reason));
		json_object_set_new(j, "term_date",
		                    json_string(o->e->term_date));
	}
	if (o->error != NULL)
		json_object_set_new(j, "error", json_string(o->error));
	return j;
}

static void
sample_text(struct buf *b, const struct feed_outcome *o,
            const struct feed_profile *p)
{
	char *k = key_display(o->key);

	buf_addf(b, "  %-20s %-32s", k,
	         o->user_name != NULL ? o->user_name : "");
	free(k);
	if (o->kind == FEED_OUT_CHANGE)
		buf_addf(b, " %s", o->e->changed);
	else if (o->kind == FEED_OUT_TERM)
		buf_addf(b, " %s, %s", o->e->term_reason, o->e->term_date);
	else if (o->kind == FEED_OUT_ERROR)
		buf_addf(b, " %s", o->error);
	while (b->len > 0 && b->data[b->len - 1] == ' ')
		b->data[--b->len] = '\0';
	buf_addch(b, '\n');
	if (o->kind == FEED_OUT_CHANGE && o->old_vals != NULL)
		feed_record_diff_each(p, o->old_vals, o->old_index, o->e->vals,
		                      change_text, b);
}

static int
plan_emit(const struct feed_outcome *o, void *arg)
{
	struct plan_out *po = arg;
	int slot = sample_slot(o->kind);
	char *s;
	json_t *j;

	if (o->kind == FEED_OUT_DUPLICATE)
		slot = -1;
	if (po->json && (slot >= 0 || o->kind == FEED_OUT_DUPLICATE)) {
		j = outcome_json(o, po->p);
		s = json_dumps(j, JSON_COMPACT);
		printf("%s\n    %s", po->n++ > 0 ? "," : "", s);
		free(s);
		json_decref(j);
		return 0;
	}
	if (slot >= 0 && po->ns[slot]++ < FEED_SAMPLES)
		sample_text(&po->s[slot], o, po->p);
	return 0;
}

static void
plan_progress(int64_t done, void *arg)
{
	struct plan_out *po = arg;

	progress_draw("plan", done, 0, &po->pg);
}

static json_t *
counts_json(const struct feed_profile *p, const struct feed_plan_counts *c)
{
	return json_pack(
	    "{sI sI sI sI sI sI sI sI sI sI sI sI sI sI sI sI}", "adds",
	    (json_int_t)c->adds, "changes", (json_int_t)c->changes,
	    "terminations", (json_int_t)c->terms, "reinstatements",
	    (json_int_t)c->reinstates, "unchanged", (json_int_t)c->unchanged,
	    "roster_before", (json_int_t)c->roster_before, "roster_after",
	    (json_int_t)c->roster_after, "lookback", (json_int_t)c->lookback,
	    "excluded", (json_int_t)c->excluded, "no_key",
	    (json_int_t)c->no_key, "duplicates", (json_int_t)c->duplicates,
	    "errors", (json_int_t)c->errors, "people", (json_int_t)c->people,
	    "evaluated", (json_int_t)c->evaluated, "full_file_records",
	    (json_int_t)feed_plan_total(p, true, c), "change_file_records",
	    (json_int_t)feed_plan_total(p, false, c));
}

static void
plan_json_head(const struct feed_profile *p, const char *as_of)
{
	json_t *j =
	    json_pack("{ss ss ss ss ss}", "feed", p->name, "tenant", p->tenant,
	              "as_of", as_of, "mode", feed_mode_name(p->mode),
	              "eligibility", p->rule_text);
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);

	/* Everything but the closing brace, then the streamed list. */
	s[strlen(s) - 1] = '\0';
	printf("%s,\n  \"outcomes\": [", s);
	free(s);
	json_decref(j);
}

static void
plan_json_tail(const struct feed_profile *p, const struct feed_plan_counts *c,
               const struct store_feed_state *fs)
{
	json_t *j = counts_json(p, c), *w = json_null();
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS), *ws;

	/* What `feed render` would wait for, as the text form's note says. */
	if (fs->active_run != NULL)
		w = json_pack("{s:s, s:s}", "run", fs->active_run, "state",
		              fs->active_state);
	else if (fs->failed_run != NULL)
		w = json_pack("{s:s, s:s, s:s}", "run", fs->failed_run, "state",
		              "failed", "error", fs->failed_error);
	ws = json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	printf("\n  ],\n  \"counts\": %s,\n  \"waits_for\": %s\n}\n", s, ws);
	free(s);
	free(ws);
	json_decref(j);
	json_decref(w);
}

static void
plan_section(const struct plan_out *po, int slot, const char *title, int64_t n)
{
	if (n == 0)
		return;
	printf("\n%s (%lld%s):\n%s", title, (long long)n,
	       n > FEED_SAMPLES ? ", first 10" : "", buf_str(&po->s[slot]));
}

static void
plan_text(const struct plan_out *po, const char *as_of,
          const struct feed_plan_counts *c)
{
	const struct feed_profile *p = po->p;
	int64_t send = c->adds + c->changes + c->terms + c->reinstates;

	printf("feed %s: tenant %s%s%s, as of %s\n", p->name, p->tenant,
	       p->vendor != NULL ? ", vendor " : "",
	       p->vendor != NULL ? p->vendor : "", as_of);
	printf("eligibility: %s\n\n", p->rule_text);
	printf("  adds            %8lld\n", (long long)c->adds);
	printf("  changes         %8lld\n", (long long)c->changes);
	printf("  terminations    %8lld\n", (long long)c->terms);
	printf("  reinstatements  %8lld\n", (long long)c->reinstates);
	printf("  unchanged       %8lld\n", (long long)c->unchanged);
	printf("  members         %8lld before, %lld after\n",
	       (long long)c->roster_before, (long long)c->roster_after);
	plan_section(po, 0, "adds", c->adds);
	plan_section(po, 1, "changes", c->changes);
	plan_section(po, 2, "terminations", c->terms);
	plan_section(po, 3, "reinstatements", c->reinstates);
	plan_section(po, 4, "errors (the feed cannot render until fixed)",
	             c->errors);
	if (c->no_key > 0)
		printf("\nwarning: %lld %s no %s (or one with control "
		       "characters, which no file can carry); never sent\n",
		       (long long)c->no_key,
		       c->no_key == 1 ? "person has" : "people have",
		       p->key_source);
	if (c->duplicates > 0)
		printf("\nwarning: %lld %s a %s with someone else; only one "
		       "of each is sent\n",
		       (long long)c->duplicates,
		       c->duplicates == 1 ? "person shares" : "people share",
		       p->key_source);
	if (send == 0)
		printf("\nnothing to send: the vendor has every change\n");
	printf("\nnext file: %lld records as a full file, %lld as a change "
	       "file\n",
	       (long long)feed_plan_total(p, true, c),
	       (long long)feed_plan_total(p, false, c));
}

static int
cmd_feed_plan_exec(int argc, char **argv)
{
	struct fa a = {.e = &cmd_feed_plan_entry};
	struct store_feed_state fs;
	const struct feed_profile *p;
	struct feed_date clk;
	struct plan_out po;
	struct feed_plan pl;
	char as_of[16], *cause = NULL;
	const char *why;
	int64_t tid;
	int rc, i;

	if ((rc = fa_parse(&a, "cdaj", argc, argv)) != 0)
		return rc;
	memset(&po, 0, sizeof(po));
	memset(&fs, 0, sizeof(fs));
	rc = 1;
	if (feed_date_clock(a.as_of, &clk, &why) == -1) {
		cmd_error("%s: %s", a.e->name, why);
		return 2;
	}
	feed_date_str(&clk, as_of, sizeof(as_of));
	if (fa_config(&a, true) != 0 || fa_open(&a) != 0 ||
	    (p = fa_profile(&a, a.arg, &tid)) == NULL)
		goto out;
	if (store_feed_state_get(a.st, p->name, &fs) != STORE_OK) {
		cmd_error("%s: cannot read the feed state", a.e->name);
		goto out;
	}
	po.p = p;
	po.json = a.json;
	for (i = 0; i < 5; i++)
		buf_init(&po.s[i], 0);
	progress_init(&po.pg, a.st, tid);
	memset(&pl, 0, sizeof(pl));
	pl.st = a.st;
	pl.p = p;
	pl.tenant_id = tid;
	pl.fs = &fs;
	pl.as_of = as_of;
	pl.emit = plan_emit;
	pl.arg = &po;
	pl.progress = plan_progress;
	if (po.json)
		plan_json_head(p, as_of);
	if (feed_plan_run(&pl, &cause) == -1) {
		progress_end(&po.pg);
		if (po.json)
			printf("\n");
		cmd_error("%s: %s", a.e->name, cause);
		free(cause);
		goto out;
	}
	progress_end(&po.pg);
	if (po.json)
		plan_json_tail(p, &pl.counts, &fs);
	else
		plan_text(&po, as_of, &pl.counts);
	if (fs.active_run != NULL && !po.json)
		printf("\nnote: run %s is %s; render waits for it\n",
		       fs.active_run, fs.active_state);
	if (fs.failed_run != NULL && !po.json)
		printf("\nnote: the delivery of run %s failed; render waits "
		       "until it is retried (rosterd deliver %s --retry) or "
		       "discarded (rosterd feed discard %s --reason TEXT)\n",
		       fs.failed_run, fs.failed_run, fs.failed_run);
	rc = 0;
out:
	for (i = 0; i < 5; i++)
		buf_free(&po.s[i]);
	store_feed_state_clear(&fs);
	fa_free(&a);
	return rc;
}

/* Runs, printed. */

static json_t *
run_json(const struct store_feed_run *r)
{
	json_t *j = json_object(), *held;

	json_object_set_new(j, "id", json_string(r->id));
	json_object_set_new(j, "feed", json_string(r->feed));
	json_object_set_new(j, "seq", json_integer(r->seq));
	json_object_set_new(j, "state", json_string(r->state));
	json_object_set_new(j, "mode", json_string(r->mode));
	json_object_set_new(j, "as_of", json_string(r->as_of));
	json_object_set_new(j, "created", json_string(r->created));
	json_object_set_new(j, "updated", json_string(r->updated));
	json_object_set_new(
	    j, "counts",
	    json_pack("{sI sI sI sI sI sI sI}", "adds", (json_int_t)r->adds,
	              "changes", (json_int_t)r->changes, "terminations",
	              (json_int_t)r->terms, "reinstatements",
	              (json_int_t)r->reinstates, "unchanged",
	              (json_int_t)r->unchanged, "records", (json_int_t)r->total,
	              "roster_before", (json_int_t)r->roster_before));
	held = r->held != NULL ? json_loads(r->held, 0, NULL) : NULL;
	json_object_set_new(j, "held", held != NULL ? held : json_null());
	json_object_set_new(j, "decided_by", cmd_json_text(r->decided_by));
	json_object_set_new(j, "decided_at",
	                    r->decided_at ? json_string(r->decided_at)
	                                  : json_null());
	json_object_set_new(j, "reason", cmd_json_text(r->reason));
	json_object_set_new(j, "out_dir", cmd_json_text(r->out_dir));
	json_object_set_new(j, "file_name",
	                    r->file_name ? json_string(r->file_name)
	                                 : json_null());
	json_object_set_new(j, "file_sha256",
	                    r->file_sha256 ? json_string(r->file_sha256)
	                                   : json_null());
	json_object_set_new(j, "file_size",
	                    r->file_name != NULL ? json_integer(r->file_size)
	                                         : json_null());
	json_object_set_new(j, "error", cmd_json_text(r->error));
	if (r->isa13 > 0)
		json_object_set_new(
		    j, "x12",
		    json_pack("{ss sI sI sI}", "sender", r->x12_sender, "isa13",
		              (json_int_t)r->isa13, "gs06", (json_int_t)r->gs06,
		              "st02", (json_int_t)r->st02));
	return j;
}

static void
print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	printf("%s\n", s);
	free(s);
	json_decref(j);
}

/* One line per outcome of render/approve. */
static void
run_result(const struct store_feed_run *r)
{
	printf("run %s (%s #%lld): %s\n", r->id, r->feed, (long long)r->seq,
	       r->state);
	printf("  %lld adds, %lld changes, %lld terminations, %lld "
	       "reinstatements; %lld records in the %s file\n",
	       (long long)r->adds, (long long)r->changes, (long long)r->terms,
	       (long long)r->reinstates, (long long)r->total, r->mode);
	if (r->held != NULL && strcmp(r->state, STORE_FEED_PENDING) == 0)
		printf("  held for approval: %s\n"
		       "  approve: rosterd feed approve %s\n"
		       "  reject:  rosterd feed reject %s --reason TEXT\n",
		       r->held, r->id, r->id);
	if (r->file_name != NULL && strcmp(r->state, STORE_FEED_RENDERED) == 0)
		printf("  file %s/%s (%lld bytes, sha256 %s)\n", r->out_dir,
		       r->file_name, (long long)r->file_size, r->file_sha256);
}

static void
render_progress(const char *what, int64_t done, int64_t total, void *arg)
{
	progress_draw(what, done, total, arg);
}

static int
cmd_feed_render_exec(int argc, char **argv)
{
	struct fa a = {.e = &cmd_feed_render_entry};
	struct feed_render_opts o;
	const struct feed_profile *p;
	struct store_feed_run run;
	struct progress pg;
	char *cause = NULL;
	int64_t tid;
	int rc;

	if ((rc = fa_parse(&a, "cdoaFCb", argc, argv)) != 0)
		return rc;
	memset(&run, 0, sizeof(run));
	rc = 1;
	if (fa_config(&a, true) != 0 || fa_open(&a) != 0 ||
	    (p = fa_profile(&a, a.arg, &tid)) == NULL)
		goto out;
	progress_init(&pg, a.st, tid);
	memset(&o, 0, sizeof(o));
	o.as_of = a.as_of;
	o.out_dir = a.out != NULL ? a.out : a.cfg->outbox;
	o.want = a.want;
	o.actor = a.by;
	o.progress = render_progress;
	o.arg = &pg;
	rc = feed_render(a.st, p, tid, &o, &run, &cause);
	progress_end(&pg);
	/* A run refused before it was recorded (seq 0) is not a run. */
	if (run.id != NULL && run.state != NULL && (rc == 0 || run.seq > 0))
		run_result(&run);
	if (rc == -1) {
		cmd_error("%s: %s", a.e->name, cause);
		rc = 1;
	}
	free(cause);
out:
	store_feed_run_clear(&run);
	fa_free(&a);
	return rc;
}

/* The run's profile: from the run's feed name. */
static const struct feed_profile *
fa_run_profile(struct fa *a, const char *id)
{
	struct store_feed_run r;
	const struct feed_profile *p;
	int64_t tid;
	int rc;

	if ((rc = store_feed_run_get(a->st, id, &r)) != STORE_OK) {
		cmd_error("%s: %s", a->e->name,
		          rc == STORE_NOTFOUND ? "no such run"
		                               : "cannot read the run");
		return NULL;
	}
	p = fa_profile(a, r.feed, &tid);
	store_feed_run_clear(&r);
	return p;
}

static int
cmd_feed_approve_exec(int argc, char **argv)
{
	struct fa a = {.e = &cmd_feed_approve_entry};
	struct feed_render_opts o;
	const struct feed_profile *p;
	struct store_feed_run run;
	struct progress pg;
	char *cause = NULL;
	int rc;

	if ((rc = fa_parse(&a, "cdob", argc, argv)) != 0)
		return rc;
	memset(&run, 0, sizeof(run));
	rc = 1;
	if (fa_config(&a, true) != 0 || fa_open(&a) != 0 ||
	    (p = fa_run_profile(&a, a.arg)) == NULL)
		goto out;
	memset(&pg, 0, sizeof(pg));
	pg.on = isatty(STDERR_FILENO) == 1;
	memset(&o, 0, sizeof(o));
	o.actor = a.by;
	o.progress = render_progress;
	o.arg = &pg;
	rc = feed_approve(a.st, p, a.arg, a.by, a.out, &o, &run, &cause);
	progress_end(&pg);
	if (run.id != NULL && run.state != NULL)
		run_result(&run);
	if (rc == -1) {
		cmd_error("%s: %s", a.e->name, cause);
		rc = 1;
	}
	free(cause);
out:
	store_feed_run_clear(&run);
	fa_free(&a);
	return rc;
}

/* feed reject and feed discard: RUN --reason TEXT [--by NAME]. */
/*
 * A discarded run will never be delivered: its encrypted spool copy goes
 * (the rendered file stays where it was written). An upload it staged on
 * the server under a temporary name is reported, and left for the feed's
 * next delivery to remove: that one connects to the server anyway.
 */
static void
discard_spool(const struct fa *a, const struct store_feed_run *run)
{
	struct deliver_env env;
	char *dir = cmd_data_dir(a->dbpath), *staged = NULL, *cause = NULL;

	memset(&env, 0, sizeof(env));
	env.data_dir = dir;
	switch (deliver_discarded(&env, run->feed, run->id, &staged, &cause)) {
	case 0:
		break;
	case 1:
		printf("its spool (%s/spool/%s) was left: a delivery of %s "
		       "holds the feed\n",
		       dir, run->id, run->feed);
		break;
	default:
		cmd_error("%s: removing the spool: %s", a->e->name, cause);
		break;
	}
	if (staged != NULL)
		printf("the server may still hold its upload under the "
		       "temporary name %s (never renamed): the feed's next "
		       "delivery removes it\n",
		       staged);
	free(staged);
	free(cause);
	free(dir);
}

static int
run_verdict_exec(const struct cmd_entry *e,
                 int (*fn)(struct store *, const char *, const char *,
                           const char *, struct store_feed_run *, char **),
                 int argc, char **argv)
{
	struct fa a = {.e = e};
	struct store_feed_run run;
	char *cause = NULL;
	int rc;

	if ((rc = fa_parse(&a, "cdbr", argc, argv)) != 0)
		return rc;
	if (a.reason == NULL || *a.reason == '\0') {
		cmd_error("%s: --reason is required", a.e->name);
		return cmd_usage(a.e);
	}
	memset(&run, 0, sizeof(run));
	rc = 1;
	if (fa_config(&a, false) != 0 || fa_open(&a) != 0)
		goto out;
	if (fn(a.st, a.arg, a.by, a.reason, &run, &cause) == -1) {
		cmd_error("%s: %s", a.e->name, cause);
		free(cause);
		goto out;
	}
	printf("run %s (%s #%lld): %s by %s: %s\n", run.id, run.feed,
	       (long long)run.seq, run.state, a.by, run.reason);
	if (strcmp(run.state, STORE_FEED_DISCARDED) == 0) {
		printf("the next run of %s sends its changes again\n",
		       run.feed);
		discard_spool(&a, &run);
	}
	rc = 0;
out:
	store_feed_run_clear(&run);
	fa_free(&a);
	return rc;
}

static int
cmd_feed_reject_exec(int argc, char **argv)
{
	return run_verdict_exec(&cmd_feed_reject_entry, feed_reject, argc,
	                        argv);
}

static int
cmd_feed_discard_exec(int argc, char **argv)
{
	return run_verdict_exec(&cmd_feed_discard_entry, feed_discard, argc,
	                        argv);
}

struct runs_out {
	bool json;
	json_t *arr;
	int n;
};

static int
runs_cb(const struct store_feed_run *r, void *arg)
{
	struct runs_out *ro = arg;

	if (ro->json) {
		json_array_append_new(ro->arr, run_json(r));
		return 0;
	}
	if (ro->n++ == 0)
		printf("%-20s %4s %-16s %-6s %-10s %6s %7s %6s %6s %8s  %s\n",
		       "RUN", "SEQ", "STATE", "MODE", "AS OF", "ADDS",
		       "CHANGES", "TERMS", "REINST", "RECORDS", "FILE");
	printf("%-20s %4lld %-16s %-6s %-10s %6lld %7lld %6lld %6lld %8lld  "
	       "%s\n",
	       r->id, (long long)r->seq, r->state, r->mode, r->as_of,
	       (long long)r->adds, (long long)r->changes, (long long)r->terms,
	       (long long)r->reinstates, (long long)r->total,
	       r->file_name != NULL ? r->file_name : "-");
	return 0;
}

static int
cmd_feed_runs_exec(int argc, char **argv)
{
	struct fa a = {.e = &cmd_feed_runs_entry};
	struct runs_out ro;
	int rc;

	if ((rc = fa_parse(&a, "cdj", argc, argv)) != 0)
		return rc;
	rc = 1;
	memset(&ro, 0, sizeof(ro));
	ro.json = a.json;
	ro.arr = json_array();
	if (fa_config(&a, false) != 0 || fa_open(&a) != 0)
		goto out;
	if (store_feed_run_list(a.st, a.arg, runs_cb, &ro) != STORE_OK) {
		cmd_error("%s: cannot list the runs", a.e->name);
		goto out;
	}
	if (ro.json) {
		print_json(ro.arr);
		ro.arr = NULL;
	} else if (ro.n == 0)
		printf("no runs for feed %s\n", a.arg);
	rc = 0;
out:
	json_decref(ro.arr);
	fa_free(&a);
	return rc;
}

static int
events_cb(const struct store_feed_event *e, void *arg)
{
	json_t *arr = arg;

	json_array_append_new(arr, json_pack("{ss ss? ss so so}", "at", e->at,
	                                     "from", e->from_state, "to",
	                                     e->to_state, "by",
	                                     cmd_json_text(e->actor), "note",
	                                     cmd_json_text(e->note)));
	return 0;
}

static void
show_text(const struct store_feed_run *r, json_t *events)
{
	json_t *e;
	size_t i;
	bool discarded;

	printf("run      %s\n", r->id);
	printf("feed     %s (run %lld)\n", r->feed, (long long)r->seq);
	printf("state    %s\n", r->state);
	printf("mode     %s file, as of %s\n", r->mode, r->as_of);
	printf("created  %s\n", r->created);
	printf("counts   %lld adds, %lld changes, %lld terminations, %lld "
	       "reinstatements, %lld unchanged\n",
	       (long long)r->adds, (long long)r->changes, (long long)r->terms,
	       (long long)r->reinstates, (long long)r->unchanged);
	printf("records  %lld (members before: %lld)\n", (long long)r->total,
	       (long long)r->roster_before);
	if (r->held != NULL)
		printf("held     %s\n", r->held);
	discarded = strcmp(r->state, STORE_FEED_DISCARDED) == 0;
	if (r->decided_by != NULL)
		printf("decided  %s by %s at %s%s%s\n",
		       strcmp(r->state, STORE_FEED_REJECTED) == 0 ? "rejected"
		                                                  : "approved",
		       r->decided_by, r->decided_at,
		       r->reason && !discarded ? ": " : "",
		       r->reason && !discarded ? r->reason : "");
	if (discarded && r->reason != NULL)
		printf("discard  %s\n", r->reason);
	if (r->file_name != NULL)
		printf("file     %s/%s\n         %lld bytes, sha256 %s\n",
		       r->out_dir, r->file_name, (long long)r->file_size,
		       r->file_sha256);
	if (r->isa13 > 0)
		printf("x12      sender %s, ISA13 %09lld, GS06 %lld, ST02 "
		       "%04lld\n",
		       r->x12_sender, (long long)r->isa13, (long long)r->gs06,
		       (long long)r->st02);
	if (r->error != NULL)
		printf("error    %s\n", r->error);
	printf("history\n");
	json_array_foreach(events, i, e)
	{
		const char *note =
		    json_string_value(json_object_get(e, "note"));

		printf("  %s  %-16s by %s%s%s\n",
		       json_string_value(json_object_get(e, "at")),
		       json_string_value(json_object_get(e, "to")),
		       json_string_value(json_object_get(e, "by")),
		       note ? ": " : "", note ? note : "");
	}
}

/* The run's delivery (issue 4), with every upload attempt, as JSON. */
static int
attempt_cb(const struct store_delivery_attempt *t, void *arg)
{
	json_t *o = json_pack("{s:I,s:s}", "n", (json_int_t)t->n, "started",
	                      t->started ? t->started : "");

	if (t->ended != NULL)
		json_object_set_new(o, "ended", json_string(t->ended));
	if (t->outcome != NULL)
		json_object_set_new(o, "outcome", json_string(t->outcome));
	if (t->error != NULL)
		json_object_set_new(o, "error", json_string(t->error));
	json_array_append_new(arg, o);
	return 0;
}

static json_t *
delivery_json(struct store *st, const char *run_id)
{
	struct store_delivery d;
	json_t *o, *att;

	memset(&d, 0, sizeof(d));
	if (store_deliver_get(st, run_id, &d) != STORE_OK) {
		store_delivery_clear(&d);
		return NULL;
	}
	o = json_pack("{s:s,s:I}", "state", d.state ? d.state : "", "attempts",
	              (json_int_t)d.attempts);
	if (d.destination != NULL)
		json_object_set_new(o, "destination",
		                    json_string(d.destination));
	if (d.remote_name != NULL)
		json_object_set_new(o, "remote_name",
		                    json_string(d.remote_name));
	if (d.size >= 0 && d.sha256 != NULL) {
		json_object_set_new(o, "size", json_integer(d.size));
		json_object_set_new(o, "sha256", json_string(d.sha256));
	}
	if (d.delivered_at != NULL)
		json_object_set_new(o, "delivered_at",
		                    json_string(d.delivered_at));
	if (d.last_error != NULL)
		json_object_set_new(o, "last_error", json_string(d.last_error));
	att = json_array();
	store_deliver_attempts(st, run_id, attempt_cb, att);
	json_object_set_new(o, "attempt_log", att);
	store_delivery_clear(&d);
	return o;
}

static void
show_delivery(const json_t *d)
{
	const char *s;
	json_t *t;
	size_t i;

	if (d == NULL)
		return;
	printf("delivery %s, %lld attempt%s\n",
	       json_string_value(json_object_get(d, "state")),
	       (long long)json_integer_value(json_object_get(d, "attempts")),
	       json_integer_value(json_object_get(d, "attempts")) == 1 ? ""
	                                                               : "s");
	if ((s = json_string_value(json_object_get(d, "destination"))))
		printf("         to %s\n", s);
	if ((s = json_string_value(json_object_get(d, "remote_name"))))
		printf("         as %s\n", s);
	if ((s = json_string_value(json_object_get(d, "sha256"))))
		printf(
		    "         %lld bytes, sha256 %s\n",
		    (long long)json_integer_value(json_object_get(d, "size")),
		    s);
	if ((s = json_string_value(json_object_get(d, "last_error"))))
		printf("         last error: %s\n", s);
	json_array_foreach(json_object_get(d, "attempt_log"), i, t)
	{
		s = json_string_value(json_object_get(t, "error"));
		printf("  attempt %lld  %s  %s%s%s\n",
		       (long long)json_integer_value(json_object_get(t, "n")),
		       json_string_value(json_object_get(t, "started")),
		       json_string_value(json_object_get(t, "outcome"))
		           ? json_string_value(json_object_get(t, "outcome"))
		           : "running",
		       s ? ": " : "", s ? s : "");
	}
}

static int
cmd_feed_show_exec(int argc, char **argv)
{
	struct fa a = {.e = &cmd_feed_show_entry};
	struct store_feed_run r;
	json_t *events = json_array(), *j, *delivery = NULL;
	int rc;

	if ((rc = fa_parse(&a, "cdj", argc, argv)) != 0) {
		json_decref(events);
		return rc;
	}
	memset(&r, 0, sizeof(r));
	rc = 1;
	if (fa_config(&a, false) != 0 || fa_open(&a) != 0)
		goto out;
	if ((rc = store_feed_run_get(a.st, a.arg, &r)) != STORE_OK) {
		cmd_error("%s: %s %s", a.e->name,
		          rc == STORE_NOTFOUND ? "no run" : "cannot read run",
		          a.arg);
		rc = 1;
		goto out;
	}
	if (store_feed_run_events(a.st, a.arg, events_cb, events) != STORE_OK) {
		cmd_error("%s: cannot read the run's history", a.e->name);
		rc = 1;
		goto out;
	}
	delivery = delivery_json(a.st, a.arg);
	if (a.json) {
		j = run_json(&r);
		json_object_set(j, "history", events);
		if (delivery != NULL)
			json_object_set(j, "delivery", delivery);
		print_json(j);
	} else {
		show_text(&r, events);
		show_delivery(delivery);
	}
	json_decref(delivery);
	rc = 0;
out:
	json_decref(events);
	store_feed_run_clear(&r);
	fa_free(&a);
	return rc;
}
