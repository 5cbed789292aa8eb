/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* rosterd serve: run the SCIM service provider. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfg/cfg.h"
#include "cli/cmd.h"
#include "http/server.h"
#include "sched/worker.h"
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

struct serve_args {
	const char *config, *db, *listen, *base_url, *tls_cert, *tls_key;
	const char *log_level;
};

static int
serve_parse(int argc, char **argv, struct serve_args *a)
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
	int ch;

	memset(a, 0, sizeof(*a));
	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			a->config = optarg;
			break;
		case 'd':
			a->db = optarg;
			break;
		case 'l':
			a->listen = optarg;
			break;
		case 'b':
			a->base_url = optarg;
			break;
		case 'C':
			a->tls_cert = optarg;
			break;
		case 'K':
			a->tls_key = optarg;
			break;
		case 'L':
			a->log_level = optarg;
			break;
		default:
			return cmd_bad_option(&cmd_serve_entry, ch, argv);
		}
	}
	if (a->config == NULL &&
	    (a->config = getenv("ROSTERD_CONFIG")) != NULL &&
	    *a->config == '\0')
		a->config = NULL;
	if (optind != argc) {
		cmd_error("serve: unexpected argument \"%s\"", argv[optind]);
		return cmd_usage(&cmd_serve_entry);
	}
	return 0;
}

static struct cfg *
serve_config(const struct serve_args *a)
{
	struct cfg *c;
	char *cause = NULL;

	if (a->config == NULL)
		return cfg_default();
	if ((c = cfg_load(a->config, &cause)) == NULL) {
		cmd_error("%s", cause);
		free(cause);
		return NULL;
	}
	if (c->nerrors > 0) {
		fputs(buf_str(&c->errors), stderr);
		cmd_error("%s: %d error%s; not starting", a->config, c->nerrors,
		          c->nerrors == 1 ? "" : "s");
		cfg_free(c);
		return NULL;
	}
	return c;
}

/* Command-line values win over the file, the file over defaults. */
static void
serve_merge(const struct serve_args *a, const struct cfg *c,
            struct server_config *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->db = a->db ? a->db : c->db ? c->db : cmd_default_db();
	sc->listen = a->listen ? a->listen : c->listen;
	sc->base_url = a->base_url ? a->base_url : c->base_url;
	sc->tls_cert = a->tls_cert ? a->tls_cert : c->tls_cert;
	sc->tls_key = a->tls_key ? a->tls_key : c->tls_key;
}

static int
cmd_serve_exec(int argc, char **argv)
{
	struct serve_args a;
	struct server_config sc;
	struct server *srv;
	struct worker *w = NULL;
	struct cfg *c;
	char *cause = NULL;
	int rc;

	if ((rc = serve_parse(argc, argv, &a)) != 0)
		return rc;
	if ((c = serve_config(&a)) == NULL)
		return 1;
	if (serve_log_level(a.log_level ? a.log_level : c->log_level) == -1) {
		cfg_free(c);
		return 2;
	}
	serve_merge(&a, c, &sc);
	srv = server_new(&sc, &cause);
	if (srv == NULL) {
		cmd_error("%s", cause != NULL ? cause : "cannot start");
		free(cause);
		cfg_free(c);
		return 1;
	}
	/*
	 * Delivery worker (sched/worker.h): a thread with its own store
	 * connection, started only when the config has a `delivery`
	 * section; stopped and joined once the loop has exited.
	 */
	if (worker_start(c, sc.db, &w, &cause) == -1) {
		cmd_error("%s", cause);
		free(cause);
		server_free(srv);
		cfg_free(c);
		return 1;
	}
	rc = server_run(srv);
	worker_stop(w);
	server_free(srv);
	cfg_free(c);
	log_info("rosterd stopped");
	return rc == 0 ? 0 : 1;
}

const struct cmd_entry cmd_serve_entry = {
    .name = "serve",
    .synopsis =
        "[--config FILE] [--db PATH] [--listen ADDR:PORT] [--base-url URL] "
        "[--tls-cert FILE --tls-key FILE] [--log-level LEVEL]",
    .summary = "Run the SCIM 2.0 service provider",
    .help =
        "Serve SCIM 2.0 (RFC 7643/7644) at /scim/v2 on ADDR:PORT until\n"
        "SIGTERM or SIGINT. Writes are acknowledged only once they are on\n"
        "disk. When the configuration has a delivery section, a worker\n"
        "thread also runs scheduled feeds, off-cycle termination files,\n"
        "retries and return-file polling.\n"
        "\n"
        "  --config FILE      YAML configuration (default: $ROSTERD_CONFIG);\n"
        "                     options given here override its server section\n"
        "  --db PATH          SQLite database (default: the config's\n"
        "                     server.db, else $ROSTERD_DB, else ./rosterd.db)\n"
        "  --listen ADDR:PORT address to listen on (default 127.0.0.1:8080)\n"
        "  --base-url URL     public SCIM base URL used in meta.location\n"
        "                     (default: from the request's Host header)\n"
        "  --tls-cert FILE    PEM certificate chain; serve HTTPS\n"
        "  --tls-key FILE     PEM private key for --tls-cert\n"
        "  --log-level LEVEL  error, warn, info (default) or debug\n",
    .exec = cmd_serve_exec,
};
