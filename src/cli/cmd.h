/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * The command table (after tmux cmd.c). Each subcommand lives in its own
 * cmd_<name>.c and exports one const struct cmd_entry; cmd.c lists them,
 * resolves command words (unique prefixes allowed, "ambiguous, could be
 * ..." otherwise), prints --help from the entry and runs it.
 */
#ifndef ROSTERD_CMD_H
#define ROSTERD_CMD_H

#include <stddef.h>

#include <jansson.h>

struct store;

struct cmd_entry {
	const char *name; /* command words, e.g. "token create" */
	const char
	    *synopsis; /* e.g. "--tenant NAME --scopes LIST [--db PATH]" */
	const char *summary; /* one line for the command list */
	const char *help;    /* paragraphs; options one per line */
	/*
	 * argv[0] is the command name ("token create"); options follow.
	 * Parse with getopt_long. Return the process exit status; on error
	 * print one clear line "rosterd: ..." to stderr and return 1 (2 for
	 * usage errors).
	 */
	int (*exec)(int argc, char **argv);
};

/* Entry point: dispatch argv to a command. */
int cmd_main(int argc, char **argv);

/* Print "rosterd: <msg>" to stderr. */
void cmd_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print usage for the entry to stderr and return 2. */
int cmd_usage(const struct cmd_entry *);
/*
 * After getopt_long (optstring starting with ':') returned c, '?' or
 * ':': name the option it rejected, print the usage and return 2.
 */
int cmd_bad_option(const struct cmd_entry *, int c, char **argv);

/*
 * Open the store at db (running migrations), or print one clear
 * "rosterd: cannot open database ..." line and return NULL.
 */
struct store *cmd_open_store(const char *db);
/*
 * The same for a command that needs what is already in the database (a
 * tenant, a feed's runs): a missing file is an error naming it, not a new
 * empty database at a mistyped path.
 */
struct store *cmd_open_existing_store(const char *db);

/*
 * Text from outside (a file name, what a person typed, a vendor's file
 * name or message, a value cut mid-character) as a JSON string: bytes
 * that are not UTF-8 become '?', where json_string() would return NULL
 * and the key or entry would go missing. cmd_json_text(NULL) is null;
 * cmd_json_textn takes len bytes of v and never returns NULL.
 */
json_t *cmd_json_text(const char *s);
json_t *cmd_json_textn(const char *v, size_t len);

/* Default database path when --db is not given: $ROSTERD_DB or ./rosterd.db */
const char *cmd_default_db(void);

/* The data directory of database db: its directory, absolute when it can
 * be resolved. The caller frees it. */
char *cmd_data_dir(const char *db);

extern const struct cmd_entry cmd_serve_entry;
extern const struct cmd_entry cmd_migrate_entry;
extern const struct cmd_entry cmd_tenant_create_entry;
extern const struct cmd_entry cmd_tenant_list_entry;
extern const struct cmd_entry cmd_token_create_entry;
extern const struct cmd_entry cmd_token_list_entry;
extern const struct cmd_entry cmd_token_revoke_entry;
extern const struct cmd_entry cmd_config_check_entry;
extern const struct cmd_entry cmd_config_show_entry;
extern const struct cmd_entry cmd_import_hris_entry;
extern const struct cmd_entry cmd_feed_plan_entry;
extern const struct cmd_entry cmd_feed_render_entry;
extern const struct cmd_entry cmd_feed_approve_entry;
extern const struct cmd_entry cmd_feed_reject_entry;
extern const struct cmd_entry cmd_feed_discard_entry;
extern const struct cmd_entry cmd_feed_runs_entry;
extern const struct cmd_entry cmd_feed_show_entry;
extern const struct cmd_entry cmd_feed_lag_entry; /* cmd_lag.c */
extern const struct cmd_entry cmd_deliver_entry;
extern const struct cmd_entry cmd_returns_fetch_entry;
extern const struct cmd_entry cmd_returns_show_entry;

#endif
