/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* "rosterd tenant create" and "rosterd tenant list". */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cmd.h"
#include "store/store.h"

#define CMD_TENANT_NAME_MAX 64
#define CMD_TENANT_RATE_MAX 1000000

static int cmd_tenant_create_exec(int, char **);
static int cmd_tenant_list_exec(int, char **);

const struct cmd_entry cmd_tenant_create_entry = {
    .name = "tenant create",
    .synopsis = "NAME [--rate RPS] [--burst N] [--db PATH]",
    .summary = "Create a tenant (one customer's users and groups)",
    .help = "Create a tenant: one customer's users and groups, kept apart\n"
            "from every other tenant's. Each API token belongs to one\n"
            "tenant. Prints \"tenant NAME created (id N)\".\n"
            "\n"
            "  NAME           1 to 64 letters, digits, '.', '_' or '-',\n"
            "                 starting with a letter or digit\n"
            "  --rate RPS     requests per second the tenant may make\n"
            "                 (1 to 1000000; default: the server's limit)\n"
            "  --burst N      requests allowed at once before --rate\n"
            "                 applies (1 to 1000000; default: the server's)\n"
            "  --db PATH      database file (default: $ROSTERD_DB, else\n"
            "                 ./rosterd.db)\n",
    .exec = cmd_tenant_create_exec,
};

const struct cmd_entry cmd_tenant_list_entry = {
    .name = "tenant list",
    .synopsis = "[--json] [--db PATH]",
    .summary = "List tenants",
    .help = "List tenants: id, name, rate limit (requests per second),\n"
            "burst and creation time (UTC); \"default\" means the server's\n"
            "limit.\n"
            "\n"
            "  --json         print a JSON array of objects with id, name,\n"
            "                 rate_rps, rate_burst (0: the server's\n"
            "                 default) and created\n"
            "  --db PATH      database file (default: $ROSTERD_DB, else\n"
            "                 ./rosterd.db)\n",
    .exec = cmd_tenant_list_exec,
};

struct cmd_tenant_args {
	const char *db;
	const char *name;
	int rate;
	int burst;
	bool json;
};

static const struct option cmd_tenant_opts[] = {
    {"db", required_argument, NULL, 'd'},
    {"rate", required_argument, NULL, 'r'},
    {"burst", required_argument, NULL, 'b'},
    {"json", no_argument, NULL, 'j'},
    {NULL, 0, NULL, 0},
};

/* --rate and --burst: a whole number from 1 to CMD_TENANT_RATE_MAX. */
static int
cmd_tenant_number(const char *opt, const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!isdigit((unsigned char)*s) || *end != '\0' || errno != 0 ||
	    v < 1 || v > CMD_TENANT_RATE_MAX) {
		cmd_error("tenant create: %s must be a whole number from 1 to "
		          "%d, not \"%s\"",
		          opt, CMD_TENANT_RATE_MAX, s);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int
cmd_tenant_set(struct cmd_tenant_args *a, int c, const char *v)
{
	switch (c) {
	case 'd':
		a->db = v;
		return 0;
	case 'j':
		a->json = true;
		return 0;
	case 'r':
		return cmd_tenant_number("--rate", v, &a->rate);
	default:
		return cmd_tenant_number("--burst", v, &a->burst);
	}
}

/*
 * Parse the options in `allowed` (getopt letters) and, for create, NAME.
 * Returns 0 or an exit status.
 */
static int
cmd_tenant_parse(const struct cmd_entry *e, const char *allowed, int argc,
                 char **argv, struct cmd_tenant_args *a)
{
	bool create = e == &cmd_tenant_create_entry;
	int c;

	while ((c = getopt_long(argc, argv, ":", cmd_tenant_opts, NULL)) !=
	       -1) {
		if (c == ':' || c == '?' || strchr(allowed, c) == NULL)
			return cmd_bad_option(e, c, argv);
		if (cmd_tenant_set(a, c, optarg) == -1)
			return 2;
	}
	if (create && optind < argc)
		a->name = argv[optind++];
	if (optind < argc) {
		cmd_error("%s: unexpected argument \"%s\"", e->name,
		          argv[optind]);
		return cmd_usage(e);
	}
	if (create && a->name == NULL) {
		cmd_error("%s: missing tenant NAME", e->name);
		return cmd_usage(e);
	}
	return 0;
}

static bool
cmd_tenant_name_ok(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > CMD_TENANT_NAME_MAX ||
	    !isalnum((unsigned char)*s))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                 "0123456789._-") == len;
}

/* Create the tenant and set its limits in one transaction. */
static int
cmd_tenant_insert(struct store *st, const struct cmd_tenant_args *a,
                  struct store_tenant *t)
{
	int rc;

	if (store_begin(st) != STORE_OK)
		return STORE_ERR;
	rc = store_tenant_create(st, a->name, t);
	if (rc == STORE_OK && (a->rate != 0 || a->burst != 0))
		rc = store_tenant_set_rate(st, t->id, a->rate, a->burst);
	if (rc == STORE_OK)
		return store_commit(st) == STORE_OK ? STORE_OK : STORE_ERR;
	store_rollback(st);
	return rc;
}

static int
cmd_tenant_create_exec(int argc, char **argv)
{
	struct cmd_tenant_args a = {.db = cmd_default_db()};
	struct store_tenant t = {0};
	struct store *st;
	int rc;

	if ((rc = cmd_tenant_parse(&cmd_tenant_create_entry, "drb", argc, argv,
	                           &a)))
		return rc;
	if (!cmd_tenant_name_ok(a.name)) {
		cmd_error("tenant create: invalid tenant name \"%s\": use 1 to "
		          "%d letters, digits, '.', '_' or '-'",
		          a.name, CMD_TENANT_NAME_MAX);
		return 2;
	}
	if ((st = cmd_open_store(a.db)) == NULL)
		return 1;
	rc = cmd_tenant_insert(st, &a, &t);
	if (rc == STORE_OK)
		printf("tenant %s created (id %lld)\n", a.name,
		       (long long)t.id);
	else if (rc == STORE_CONFLICT)
		cmd_error("tenant \"%s\" already exists", a.name);
	else
		cmd_error("cannot create tenant \"%s\" in %s", a.name, a.db);
	store_tenant_clear(&t);
	store_close(st);
	return rc == STORE_OK ? 0 : 1;
}

static int
cmd_tenant_row(const struct store_tenant *t, void *arg)
{
	json_t *row = json_pack(
	    "{s:I, s:s, s:i, s:i, s:s}", "id", (json_int_t)t->id, "name",
	    t->name, "rate_rps", t->rate_rps, "rate_burst", t->rate_burst,
	    "created", t->created != NULL ? t->created : "");

	return json_array_append_new(arg, row);
}

static int
cmd_tenant_width(json_t *rows, const char *key, const char *head)
{
	size_t i, w = strlen(head);
	const char *s;
	json_t *row;

	json_array_foreach(rows, i, row)
	{
		s = json_string_value(json_object_get(row, key));
		if (s != NULL && strlen(s) > w)
			w = strlen(s);
	}
	return (int)w;
}

/* A limit as text: "default" for 0; s has room for any int. */
static const char *
cmd_tenant_limit(json_t *v, char *s, size_t len)
{
	if (json_integer_value(v) == 0)
		return "default";
	snprintf(s, len, "%lld", (long long)json_integer_value(v));
	return s;
}

static void
cmd_tenant_table(json_t *rows)
{
	int wn = cmd_tenant_width(rows, "name", "NAME");
	char rate[16], burst[16];
	json_t *row;
	size_t i;

	printf("%-6s  %-*s  %-7s  %-7s  %s\n", "ID", wn, "NAME", "RATE",
	       "BURST", "CREATED");
	json_array_foreach(rows, i, row)
	{
		printf(
		    "%-6lld  %-*s  %-7s  %-7s  %s\n",
		    (long long)json_integer_value(json_object_get(row, "id")),
		    wn, json_string_value(json_object_get(row, "name")),
		    cmd_tenant_limit(json_object_get(row, "rate_rps"), rate,
		                     sizeof(rate)),
		    cmd_tenant_limit(json_object_get(row, "rate_burst"), burst,
		                     sizeof(burst)),
		    json_string_value(json_object_get(row, "created")));
	}
}

static void
cmd_tenant_print(json_t *rows, bool json)
{
	char *s;

	if (!json) {
		cmd_tenant_table(rows);
		return;
	}
	s = json_dumps(rows, JSON_INDENT(2));
	printf("%s\n", s);
	free(s);
}

static int
cmd_tenant_list_exec(int argc, char **argv)
{
	struct cmd_tenant_args a = {.db = cmd_default_db()};
	struct store *st;
	json_t *rows;
	int rc;

	if ((rc = cmd_tenant_parse(&cmd_tenant_list_entry, "dj", argc, argv,
	                           &a)))
		return rc;
	if ((st = cmd_open_existing_store(a.db)) == NULL)
		return 1;
	rows = json_array();
	if (store_tenant_list(st, cmd_tenant_row, rows) == STORE_OK)
		cmd_tenant_print(rows, a.json);
	else {
		cmd_error("cannot list tenants in %s", a.db);
		rc = 1;
	}
	json_decref(rows);
	store_close(st);
	return rc;
}
