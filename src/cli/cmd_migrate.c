/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* "rosterd migrate": create the database or bring its schema up to date. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "store/store.h"

static int cmd_migrate_exec(int, char **);

const struct cmd_entry cmd_migrate_entry = {
    .name = "migrate",
    .synopsis = "[--db PATH]",
    .summary = "Create the database or upgrade its schema",
    .help = "Create the database if it does not exist and apply any pending\n"
            "schema migrations, then print \"schema version N\". Every\n"
            "command does this when it opens the database; run it on its\n"
            "own after an upgrade, before starting the server.\n"
            "\n"
            "  --db PATH      database file (default: $ROSTERD_DB, else\n"
            "                 ./rosterd.db)\n",
    .exec = cmd_migrate_exec,
};

static const struct option cmd_migrate_opts[] = {
    {"db", required_argument, NULL, 'd'},
    {NULL, 0, NULL, 0},
};

/* Parse the options into *db. Returns 0 or an exit status. */
static int
cmd_migrate_parse(int argc, char **argv, const char **db)
{
	int c;

	while ((c = getopt_long(argc, argv, ":", cmd_migrate_opts, NULL)) !=
	       -1) {
		if (c == 'd') {
			*db = optarg;
			continue;
		}
		return cmd_bad_option(&cmd_migrate_entry, c, argv);
	}
	if (optind < argc) {
		cmd_error("migrate: unexpected argument \"%s\"", argv[optind]);
		return cmd_usage(&cmd_migrate_entry);
	}
	return 0;
}

static int
cmd_migrate_exec(int argc, char **argv)
{
	const char *db = cmd_default_db();
	struct store *st;
	char *cause = NULL;
	int rc, version;

	if ((rc = cmd_migrate_parse(argc, argv, &db)) != 0)
		return rc;
	if ((st = cmd_open_store(db)) == NULL)
		return 1;
	/* store_open has migrated; this reads back the version reached. */
	if ((version = store_migrate(st, &cause)) < 0) {
		cmd_error("cannot migrate %s: %s", db,
		          cause != NULL ? cause : "unknown error");
		free(cause);
		rc = 1;
	} else
		printf("schema version %d\n", version);
	store_close(st);
	return rc;
}
