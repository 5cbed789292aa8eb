/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* rosterd config check / config show: validate and print the YAML file. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cfg/cfg.h"
#include "cli/cmd.h"
#include "deliver/deliver.h"
#include "feed/profile.h"
#include "import/hris.h"

static struct cfg *
config_from_args(int argc, char **argv, const struct cmd_entry *e, int *rc)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'}, {NULL, 0, NULL, 0}};
	const char *path = NULL;
	char *cause = NULL;
	struct cfg *c;
	int ch;

	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (ch != 'c') {
			*rc = cmd_bad_option(e, ch, argv);
			return NULL;
		}
		path = optarg;
	}
	if (optind != argc) {
		cmd_error("%s: unexpected argument \"%s\"", e->name,
		          argv[optind]);
		*rc = cmd_usage(e);
		return NULL;
	}
	if (path == NULL)
		path = getenv("ROSTERD_CONFIG");
	if (path == NULL || *path == '\0')
		return cfg_default();
	c = cfg_load(path, &cause);
	if (c == NULL) {
		cmd_error("%s", cause);
		free(cause);
		*rc = 1;
		return NULL;
	}
	/* Every section's own checks, so one run lists every error. */
	hris_config_free(hris_config_load(c));
	feed_profiles_free(feed_profiles_load(c));
	deliver_config_free(deliver_config_load(c));
	if (c->nerrors > 0) {
		fputs(buf_str(&c->errors), stderr);
		cmd_error("%s: %d error%s", path, c->nerrors,
		          c->nerrors == 1 ? "" : "s");
		cfg_free(c);
		*rc = 1;
		return NULL;
	}
	return c;
}

static int
cmd_config_check_exec(int argc, char **argv)
{
	struct cfg *c;
	int rc = 0;

	if ((c = config_from_args(argc, argv, &cmd_config_check_entry, &rc)) ==
	    NULL)
		return rc;
	printf("%s: ok\n", c->path != NULL ? c->path : "(defaults)");
	cfg_free(c);
	return 0;
}

static int
cmd_config_show_exec(int argc, char **argv)
{
	struct cfg *c;
	int rc = 0;

	if ((c = config_from_args(argc, argv, &cmd_config_show_entry, &rc)) ==
	    NULL)
		return rc;
	cfg_show(c);
	cfg_free(c);
	return 0;
}

const struct cmd_entry cmd_config_check_entry = {
    .name = "config check",
    .synopsis = "[--config FILE]",
    .summary = "Validate a configuration file",
    .help = "Parse and validate the YAML configuration. Every error is\n"
            "reported as FILE:LINE:COLUMN: KEY: MESSAGE; the exit status is 1\n"
            "when there is any.\n"
            "\n"
            "  --config FILE  the file to check (default: $ROSTERD_CONFIG,\n"
            "                 else the built-in defaults)\n",
    .exec = cmd_config_check_exec,
};

const struct cmd_entry cmd_config_show_entry = {
    .name = "config show",
    .synopsis = "[--config FILE]",
    .summary = "Print the effective server configuration",
    .help = "Print the server options as YAML, with their help text, after\n"
            "applying FILE over the built-in defaults.\n"
            "\n"
            "  --config FILE  the configuration file (default:\n"
            "                 $ROSTERD_CONFIG, else none)\n",
    .exec = cmd_config_show_exec,
};
