/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* rosterd serve: run the SCIM service provider. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cmd.h"
#include "http/server.h"
#include "util/log.h"

static int
serve_log_level(const char *s)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0) {
			log_init((enum log_level)i);
			return 0;
		}
	cmd_error("--log-level: expected error, warn, info or debug");
	return -1;
}

static int
cmd_serve_exec(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"db", required_argument, NULL, 'd'},
	    {"listen", required_argument, NULL, 'l'},
	    {"base-url", required_argument, NULL, 'b'},
	    {"tls-cert", required_argument, NULL, 'C'},
	    {"tls-key", required_argument, NULL, 'K'},
	    {"log-level", required_argument, NULL, 'L'},
	    {NULL, 0, NULL, 0}};
	struct server_config cfg;
	struct server *srv;
	char *cause = NULL;
	int ch, rc;

	memset(&cfg, 0, sizeof(cfg));
	cfg.db = cmd_default_db();
	cfg.listen = "127.0.0.1:8080";
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cmd_error("--config: the YAML configuration file "
			          "arrives with the feed engine; use options");
			return 2;
		case 'd':
			cfg.db = optarg;
			break;
		case 'l':
			cfg.listen = optarg;
			break;
		case 'b':
			cfg.base_url = optarg;
			break;
		case 'C':
			cfg.tls_cert = optarg;
			break;
		case 'K':
			cfg.tls_key = optarg;
			break;
		case 'L':
			if (serve_log_level(optarg) == -1)
				return 2;
			break;
		default:
			return cmd_usage(&cmd_serve_entry);
		}
	}
	if (optind != argc)
		return cmd_usage(&cmd_serve_entry);
	srv = server_new(&cfg, &cause);
	if (srv == NULL) {
		cmd_error("%s", cause != NULL ? cause : "cannot start");
		free(cause);
		return 1;
	}
	rc = server_run(srv);
	server_free(srv);
	log_info("rosterd stopped");
	return rc == 0 ? 0 : 1;
}

const struct cmd_entry cmd_serve_entry = {
    .name = "serve",
    .synopsis = "[--db PATH] [--listen ADDR:PORT] [--base-url URL] "
                "[--tls-cert FILE --tls-key FILE] [--log-level LEVEL]",
    .summary = "run the SCIM 2.0 service provider",
    .help =
        "Serve SCIM 2.0 (RFC 7643/7644) at /scim/v2 on ADDR:PORT until "
        "SIGTERM\n"
        "or SIGINT. Writes are acknowledged only once they are on disk.\n"
        "\n"
        "  --db PATH          SQLite database (default $ROSTERD_DB or "
        "./rosterd.db)\n"
        "  --listen ADDR:PORT address to listen on (default 127.0.0.1:8080)\n"
        "  --base-url URL     public SCIM base URL used in meta.location\n"
        "                     (default: from the request's Host header)\n"
        "  --tls-cert FILE    PEM certificate chain; serve HTTPS\n"
        "  --tls-key FILE     PEM private key for --tls-cert\n"
        "  --log-level LEVEL  error, warn, info (default) or debug\n"
        "  --config FILE      reserved for the YAML feed configuration\n",
    .exec = cmd_serve_exec,
};
