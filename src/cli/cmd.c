/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* The command table: resolves command words, prints help, runs commands. */
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cli/cmd.h"
#include "store/store.h"
#include "http/auth.h"
#include "util/buf.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

/* No name may be a word-prefix of another ("token" next to "token x"). */
static const struct cmd_entry *const cmd_table[] = {
    &cmd_serve_entry,         &cmd_migrate_entry,      &cmd_tenant_create_entry,
    &cmd_tenant_list_entry,   &cmd_token_create_entry, &cmd_token_list_entry,
    &cmd_token_revoke_entry,  &cmd_config_check_entry, &cmd_config_show_entry,
    &cmd_import_hris_entry,   &cmd_feed_plan_entry,    &cmd_feed_render_entry,
    &cmd_feed_approve_entry,  &cmd_feed_reject_entry,  &cmd_feed_discard_entry,
    &cmd_feed_runs_entry,     &cmd_feed_show_entry,    &cmd_deliver_entry,
    &cmd_returns_fetch_entry, &cmd_returns_show_entry, &cmd_feed_lag_entry,
};

#define CMD_COUNT (sizeof(cmd_table) / sizeof(cmd_table[0]))

enum cmd_find_rc { CMD_FIND_ENTRY, CMD_FIND_GROUP, CMD_FIND_ERROR };

/* Lookup state: the entries still matching the words read so far. */
struct cmd_find {
	bool cand[CMD_COUNT];
	int depth;         /* words matched */
	struct buf phrase; /* those words in full, each followed by ' ' */
};

void
cmd_error(const char *fmt, ...)
{
	va_list ap;

	fputs("rosterd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char *
cmd_sep(const char *synopsis)
{
	return *synopsis != '\0' ? " " : "";
}

int
cmd_usage(const struct cmd_entry *e)
{
	fprintf(stderr, "usage: rosterd %s%s%s\n", e->name,
	        cmd_sep(e->synopsis), e->synopsis);
	return 2;
}

int
cmd_bad_option(const struct cmd_entry *e, int c, char **argv)
{
	if (c == ':')
		cmd_error("%s: option %s needs a value", e->name,
		          argv[optind - 1]);
	else if (optopt != 0)
		cmd_error("%s: unknown option -%c", e->name, optopt);
	else
		cmd_error("%s: unknown option %s", e->name, argv[optind - 1]);
	return cmd_usage(e);
}

struct store *
cmd_open_store(const char *db)
{
	struct store *st;
	char *cause = NULL;

	if ((st = store_open(db, &cause)) == NULL) {
		/* SQLite's own messages already start with the path. */
		if (cause != NULL && strncmp(cause, db, strlen(db)) == 0)
			cmd_error("cannot open database %s", cause);
		else
			cmd_error("cannot open database %s: %s", db,
			          cause != NULL ? cause : "unknown error");
		free(cause);
	}
	return st;
}

struct store *
cmd_open_existing_store(const char *db)
{
	struct stat sb;

	if (strcmp(db, ":memory:") != 0 && stat(db, &sb) == -1 &&
	    errno == ENOENT) {
		cmd_error("%s: no such database (rosterd tenant create or "
		          "rosterd migrate makes one)",
		          db);
		return NULL;
	}
	return cmd_open_store(db);
}

json_t *
cmd_json_textn(const char *v, size_t len)
{
	char *t = xstrndup(v, len);
	json_t *j;

	utf8_scrub(t);
	j = json_string(t);
	free(t);
	return j;
}

json_t *
cmd_json_text(const char *s)
{
	return s != NULL ? cmd_json_textn(s, strlen(s)) : json_null();
}

const char *
cmd_default_db(void)
{
	const char *db = getenv("ROSTERD_DB");

	return db != NULL && *db != '\0' ? db : "rosterd.db";
}

char *
cmd_data_dir(const char *db)
{
	char real[PATH_MAX], *copy, *dir;

	copy = xstrdup(realpath(db, real) != NULL ? real : db);
	dir = xstrdup(dirname(copy));
	free(copy);
	return dir;
}

/* Word d (from 0) of a command name and its length; NULL past the end. */
static const char *
cmd_word(const char *name, int d, size_t *len)
{
	const char *p = name;

	for (; d > 0; d--) {
		if ((p = strchr(p, ' ')) == NULL)
			return NULL;
		p++;
	}
	*len = strcspn(p, " ");
	return p;
}

static bool
cmd_word_match(const struct cmd_entry *e, int d, const char *arg, bool exact)
{
	size_t len, alen = strlen(arg);
	const char *w = cmd_word(e->name, d, &len);

	if (w == NULL || alen == 0 || alen > len || (exact && alen != len))
		return false;
	return strncmp(w, arg, alen) == 0;
}

/* Keep the candidates whose next word is arg, or else starts with arg. */
static void
cmd_narrow(struct cmd_find *f, const char *arg)
{
	bool exact = false;
	size_t i;

	for (i = 0; i < CMD_COUNT; i++) {
		if (f->cand[i] &&
		    cmd_word_match(cmd_table[i], f->depth, arg, true))
			exact = true;
	}
	for (i = 0; i < CMD_COUNT; i++) {
		if (f->cand[i])
			f->cand[i] =
			    cmd_word_match(cmd_table[i], f->depth, arg, exact);
	}
}

/* Has a candidate before i the same word at f->depth as entry i? */
static bool
cmd_seen(const struct cmd_find *f, size_t i, const char *w, size_t len)
{
	const char *wj;
	size_t j, jlen;

	for (j = 0; j < i; j++) {
		if (!f->cand[j])
			continue;
		wj = cmd_word(cmd_table[j]->name, f->depth, &jlen);
		if (wj != NULL && jlen == len && memcmp(w, wj, len) == 0)
			return true;
	}
	return false;
}

/* Append the candidates' distinct next words to out, ", "-separated. */
static int
cmd_next_words(const struct cmd_find *f, struct buf *out)
{
	const char *w;
	size_t i, len;
	int n = 0;

	for (i = 0; i < CMD_COUNT; i++) {
		if (!f->cand[i] ||
		    (w = cmd_word(cmd_table[i]->name, f->depth, &len)) ==
		        NULL ||
		    cmd_seen(f, i, w, len))
			continue;
		if (n++ > 0)
			buf_addstr(out, ", ");
		buf_add(out, w, len);
	}
	return n;
}

/* Match one command word; on failure say why and return -1. */
static int
cmd_step(struct cmd_find *f, const char *arg)
{
	struct buf words;
	int n;

	cmd_narrow(f, arg);
	buf_init(&words, 0);
	n = cmd_next_words(f, &words);
	if (n == 0)
		cmd_error("unknown command \"%s%s\"", buf_str(&f->phrase), arg);
	else if (n > 1)
		cmd_error("ambiguous command \"%s%s\", could be: %s",
		          buf_str(&f->phrase), arg, buf_str(&words));
	else {
		buf_addf(&f->phrase, "%s ", buf_str(&words));
		f->depth++;
	}
	buf_free(&words);
	return n == 1 ? 0 : -1;
}

/* The candidate whose name has no word left, if any. */
static const struct cmd_entry *
cmd_complete(const struct cmd_find *f)
{
	size_t i, len;

	for (i = 0; i < CMD_COUNT; i++) {
		if (f->cand[i] &&
		    cmd_word(cmd_table[i]->name, f->depth, &len) == NULL)
			return cmd_table[i];
	}
	return NULL;
}

/*
 * Read command words from argv. CMD_FIND_ENTRY sets *e; CMD_FIND_GROUP means
 * the words so far name a group ("token") and the next is missing. *used is
 * the number of words read.
 */
static int
cmd_find(struct cmd_find *f, int argc, char **argv, int *used,
         const struct cmd_entry **e)
{
	for (*used = 0;; (*used)++) {
		if ((*e = cmd_complete(f)) != NULL)
			return CMD_FIND_ENTRY;
		if (*used >= argc || argv[*used][0] == '-')
			return CMD_FIND_GROUP;
		if (cmd_step(f, argv[*used]) == -1)
			return CMD_FIND_ERROR;
	}
}

static void
cmd_find_init(struct cmd_find *f)
{
	size_t i;

	for (i = 0; i < CMD_COUNT; i++)
		f->cand[i] = true;
	f->depth = 0;
	buf_init(&f->phrase, 0);
}

/* "-h" or "--help" anywhere before "--". */
static bool
cmd_wants_help(int argc, char **argv)
{
	int i;

	for (i = 0; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0)
			return true;
	}
	return false;
}

/* List the candidates with their summaries, names aligned. */
static void
cmd_list(const struct cmd_find *f)
{
	size_t i, w = 0;

	for (i = 0; i < CMD_COUNT; i++) {
		if (f->cand[i] && strlen(cmd_table[i]->name) > w)
			w = strlen(cmd_table[i]->name);
	}
	for (i = 0; i < CMD_COUNT; i++) {
		if (f->cand[i])
			printf("  %-*s  %s\n", (int)w, cmd_table[i]->name,
			       cmd_table[i]->summary);
	}
}

static int
cmd_help_all(const struct cmd_find *f)
{
	printf("usage: rosterd <command> [options]\n"
	       "       rosterd <command> --help\n"
	       "       rosterd --version\n\n"
	       "commands:\n");
	cmd_list(f);
	printf("\nCommand words may be shortened to unique prefixes "
	       "(\"tok cr\").\n"
	       "The database is --db PATH, else the configuration's "
	       "server.db,\n"
	       "else $ROSTERD_DB, else ./rosterd.db (only serve, migrate and\n"
	       "tenant create make it when missing); the configuration is\n"
	       "--config FILE, else $ROSTERD_CONFIG.\n");
	return 0;
}

/* Help for a group ("token"), or for everything at the top level. */
static int
cmd_help_group(const struct cmd_find *f)
{
	if (f->depth == 0)
		return cmd_help_all(f);
	printf("usage: rosterd %s<command> [options]\n\ncommands:\n",
	       buf_str(&f->phrase));
	cmd_list(f);
	return 0;
}

static int
cmd_help(const struct cmd_entry *e)
{
	size_t n = strlen(e->help);

	printf("usage: rosterd %s%s%s\n\n%s", e->name, cmd_sep(e->synopsis),
	       e->synopsis, e->help);
	if (n > 0 && e->help[n - 1] != '\n')
		putchar('\n');
	return 0;
}

/* A group named without its next word: help if asked, else an error. */
static int
cmd_group(const struct cmd_find *f, int argc, char **argv)
{
	struct buf words;
	size_t plen = f->phrase.len;

	if (cmd_wants_help(argc, argv))
		return cmd_help_group(f);
	buf_init(&words, 0);
	cmd_next_words(f, &words);
	cmd_error("\"%.*s\" needs a command: %s", (int)(plen ? plen - 1 : 0),
	          buf_str(&f->phrase), buf_str(&words));
	buf_free(&words);
	return 2;
}

/* Run e with argv[0] set to its name, as struct cmd_entry promises. */
static int
cmd_exec(const struct cmd_entry *e, int argc, char **argv)
{
	char **av;
	int rc;

	if (cmd_wants_help(argc, argv))
		return cmd_help(e);
	av = xcalloc((size_t)argc + 2, sizeof(*av));
	av[0] = xstrdup(e->name);
	memcpy(av + 1, argv, (size_t)argc * sizeof(*av));
	optind = 0; /* a full getopt reset, in case anything parsed before */
	rc = e->exec(argc + 1, av);
	free(av[0]);
	free(av);
	return rc;
}

/* Resolve argv's command words; then run the command or print help. */
static int
cmd_run(int argc, char **argv, bool help)
{
	const struct cmd_entry *e;
	struct cmd_find f;
	int rc, used;

	cmd_find_init(&f);
	switch (cmd_find(&f, argc, argv, &used, &e)) {
	case CMD_FIND_ENTRY:
		rc = help ? cmd_help(e) : cmd_exec(e, argc - used, argv + used);
		break;
	case CMD_FIND_GROUP:
		rc = help ? cmd_help_group(&f)
		          : cmd_group(&f, argc - used, argv + used);
		break;
	default:
		rc = 2;
	}
	buf_free(&f.phrase);
	return rc;
}

static int
cmd_global_option(const char *arg)
{
	if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0) {
		printf("rosterd %s\n", ROSTERD_VERSION);
		return 0;
	}
	if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
		return cmd_run(0, NULL, true);
	cmd_error("unknown option \"%s\"", arg);
	return 2;
}

static int
cmd_dispatch(int argc, char **argv)
{
	if (argc == 0)
		return cmd_run(0, NULL, true);
	if (argv[0][0] == '-')
		return cmd_global_option(argv[0]);
	if (strcmp(argv[0], "help") == 0)
		return cmd_run(argc - 1, argv + 1, true);
	return cmd_run(argc, argv, false);
}

/* A failed write to stdout (full disk, closed pipe) is an error too. */
static int
cmd_finish(int rc)
{
	if ((fflush(stdout) == 0 && !ferror(stdout)) || rc != 0)
		return rc; /* a failed command has already said why */
	cmd_error("cannot write to standard output: %s", strerror(errno));
	return 1;
}

int
cmd_main(int argc, char **argv)
{
	/* Everything rosterd creates (database, WAL, feed files) is 0600. */
	umask(077);
	xmalloc_setup_jansson();
	if (auth_init() == -1) {
		cmd_error("cannot initialise libsodium");
		return 1;
	}
	return cmd_finish(cmd_dispatch(argc - 1, argv + 1));
}
