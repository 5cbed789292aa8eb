/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* "rosterd token create", "token list" and "token revoke". */
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "cli/cmd.h"
#include "http/auth.h"
#include "store/store.h"
#include "util/utf8.h"

#define CMD_TOKEN_LABEL_MAX 128

_Static_assert(AUTH_HASH_LEN == STORE_TOKEN_HASH_LEN, "token hash sizes");

static int cmd_token_create_exec(int, char **);
static int cmd_token_list_exec(int, char **);
static int cmd_token_revoke_exec(int, char **);

const struct cmd_entry cmd_token_create_entry = {
    .name = "token create",
    .synopsis = "--tenant NAME --scopes LIST [--name LABEL] [--db PATH]",
    .summary = "Create an API token and print its secret",
    .help = "Create an API bearer token for a tenant. The secret is printed\n"
            "on standard output, alone on one line, and only this once:\n"
            "rosterd keeps just its SHA-256 hash. The token id (tok_...)\n"
            "is reported on standard error.\n"
            "\n"
            "  --tenant NAME  the tenant the token acts for\n"
            "  --scopes LIST  comma-separated: scim (the SCIM 2.0 API),\n"
            "                 admin (the admin API); neither implies\n"
            "                 the other\n"
            "  --name LABEL   a label to recognise the token by, e.g. okta\n"
            "  --db PATH      database file (default: $ROSTERD_DB, else\n"
            "                 ./rosterd.db)\n",
    .exec = cmd_token_create_exec,
};

const struct cmd_entry cmd_token_list_entry = {
    .name = "token list",
    .synopsis = "[--tenant NAME] [--json] [--db PATH]",
    .summary = "List API tokens (never their secrets)",
    .help = "List API tokens: id, tenant, label, scopes, when created and\n"
            "last used (UTC), and whether revoked. Secrets are not stored,\n"
            "so they are never shown.\n"
            "\n"
            "  --tenant NAME  only this tenant's tokens\n"
            "  --json         print a JSON array of objects with id,\n"
            "                 tenant, name, scopes, created, last_used\n"
            "                 (null: never) and revoked (true/false)\n"
            "  --db PATH      database file (default: $ROSTERD_DB, else\n"
            "                 ./rosterd.db)\n",
    .exec = cmd_token_list_exec,
};

const struct cmd_entry cmd_token_revoke_entry = {
    .name = "token revoke",
    .synopsis = "ID [--db PATH]",
    .summary = "Revoke an API token",
    .help = "Revoke an API token by its id (tok_..., see \"rosterd token\n"
            "list\"). Requests bearing it are refused from then on.\n"
            "\n"
            "  --db PATH      database file (default: $ROSTERD_DB, else\n"
            "                 ./rosterd.db)\n",
    .exec = cmd_token_revoke_exec,
};

struct cmd_token_args {
	const char *db;
	const char *tenant;
	const char *scopes;
	const char *label;
	const char *id;
	bool json;
};

static const struct option cmd_token_opts[] = {
    {"db", required_argument, NULL, 'd'},
    {"tenant", required_argument, NULL, 't'},
    {"scopes", required_argument, NULL, 's'},
    {"name", required_argument, NULL, 'n'},
    {"json", no_argument, NULL, 'j'},
    {NULL, 0, NULL, 0},
};

static void
cmd_token_set(struct cmd_token_args *a, int c, const char *v)
{
	switch (c) {
	case 'd':
		a->db = v;
		break;
	case 't':
		a->tenant = v;
		break;
	case 's':
		a->scopes = v;
		break;
	case 'n':
		a->label = v;
		break;
	default:
		a->json = true;
	}
}

/*
 * Parse the options in `allowed` (getopt letters) and, when id is wanted,
 * one ID argument. Returns 0 or an exit status.
 */
static int
cmd_token_parse(const struct cmd_entry *e, const char *allowed, bool id,
                int argc, char **argv, struct cmd_token_args *a)
{
	int c;

	while ((c = getopt_long(argc, argv, ":", cmd_token_opts, NULL)) != -1) {
		if (c == ':' || c == '?' || strchr(allowed, c) == NULL)
			return cmd_bad_option(e, c, argv);
		cmd_token_set(a, c, optarg);
	}
	if (id && optind < argc)
		a->id = argv[optind++];
	if (optind < argc) {
		cmd_error("%s: unexpected argument \"%s\"", e->name,
		          argv[optind]);
		return cmd_usage(e);
	}
	if (id && a->id == NULL) {
		cmd_error("%s: missing token ID", e->name);
		return cmd_usage(e);
	}
	return 0;
}

/* Look the tenant up by name; print why not and return -1 on failure. */
static int
cmd_token_tenant(struct store *st, const char *name, struct store_tenant *t)
{
	int rc = store_tenant_get(st, name, t);

	if (rc == STORE_NOTFOUND)
		cmd_error("unknown tenant \"%s\"", name);
	else if (rc != STORE_OK)
		cmd_error("cannot read tenant \"%s\"", name);
	return rc == STORE_OK ? 0 : -1;
}

/* --scopes and --name, checked before the database is touched. */
static int
cmd_token_check(const struct cmd_token_args *a)
{
	const unsigned char *p;
	const char *bad;

	if (auth_scopes_valid(a->scopes, &bad) == -1) {
		if (strcspn(bad, ",") == 0)
			cmd_error("token create: --scopes has an empty item");
		else
			cmd_error("token create: unknown scope \"%.*s\" in "
			          "--scopes (known: scim, admin)",
			          (int)strcspn(bad, ","), bad);
		return -1;
	}
	if (strlen(a->label) > CMD_TOKEN_LABEL_MAX) {
		cmd_error("token create: --name is longer than %d bytes",
		          CMD_TOKEN_LABEL_MAX);
		return -1;
	}
	for (p = (const unsigned char *)a->label; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			cmd_error(
			    "token create: --name has a control character");
			return -1;
		}
	}
	/* It is listed as JSON (token list --json), which holds UTF-8 only. */
	if (utf8_bad(a->label, strlen(a->label)) >= 0) {
		cmd_error("token create: --name is not valid UTF-8");
		return -1;
	}
	return 0;
}

static int
cmd_token_insert(struct store *st, int64_t tenant_id,
                 const struct cmd_token_args *a, const uint8_t *hash, char **id)
{
	int rc;

	if (store_begin(st) != STORE_OK)
		return STORE_ERR;
	rc = store_token_create(st, tenant_id, a->label, a->scopes, hash, id);
	if (rc == STORE_OK)
		return store_commit(st) == STORE_OK ? STORE_OK : STORE_ERR;
	store_rollback(st);
	return rc;
}

static int
cmd_token_revoke_id(struct store *st, const char *id)
{
	int rc;

	if (store_begin(st) != STORE_OK)
		return STORE_ERR;
	rc = store_token_revoke(st, id);
	if (rc == STORE_OK)
		return store_commit(st) == STORE_OK ? STORE_OK : STORE_ERR;
	store_rollback(st);
	return rc;
}

/*
 * Print the secret alone on stdout. If it cannot be written the caller
 * never sees it, so the token is revoked rather than left usable.
 */
static int
cmd_token_emit(struct store *st, const char *secret, const char *id,
               const char *tenant)
{
	if (printf("%s\n", secret) < 0 || fflush(stdout) != 0) {
		if (cmd_token_revoke_id(st, id) == STORE_OK)
			cmd_error("cannot write the token to standard output; "
			          "token %s revoked",
			          id);
		else
			cmd_error("cannot write the token to standard output; "
			          "revoke token %s",
			          id);
		return 1;
	}
	fprintf(stderr, "rosterd: created token %s for tenant %s\n", id,
	        tenant);
	return 0;
}

static int
cmd_token_make(struct store *st, const struct cmd_token_args *a)
{
	struct store_tenant t = {0};
	uint8_t hash[AUTH_HASH_LEN];
	char *secret, *id = NULL;
	int rc = 1;

	if (cmd_token_tenant(st, a->tenant, &t) == -1)
		return 1;
	secret = auth_token_generate();
	auth_token_hash(secret, strlen(secret), hash);
	if (cmd_token_insert(st, t.id, a, hash, &id) == STORE_OK)
		rc = cmd_token_emit(st, secret, id, t.name);
	else
		cmd_error("cannot store the new token in %s", a->db);
	sodium_memzero(secret, strlen(secret));
	free(secret);
	free(id);
	store_tenant_clear(&t);
	return rc;
}

static int
cmd_token_create_exec(int argc, char **argv)
{
	struct cmd_token_args a = {.db = cmd_default_db(), .label = ""};
	struct store *st;
	int rc;

	rc = cmd_token_parse(&cmd_token_create_entry, "dtsn", false, argc, argv,
	                     &a);
	if (rc != 0)
		return rc;
	if (a.tenant == NULL || a.scopes == NULL) {
		cmd_error("token create: %s is required",
		          a.tenant == NULL ? "--tenant" : "--scopes");
		return cmd_usage(&cmd_token_create_entry);
	}
	if (cmd_token_check(&a) == -1)
		return 2;
	if ((st = cmd_open_existing_store(a.db)) == NULL)
		return 1;
	rc = cmd_token_make(st, &a);
	store_close(st);
	return rc;
}

static int
cmd_token_row(const struct store_token *t, void *arg)
{
	/* Labels made before create checked UTF-8 must not hide the row. */
	json_t *row = json_pack(
	    "{s:s, s:s, s:o, s:s, s:s, s:s?, s:b}", "id", t->id, "tenant",
	    t->tenant_name != NULL ? t->tenant_name : "", "name",
	    cmd_json_text(t->name != NULL ? t->name : ""), "scopes", t->scopes,
	    "created", t->created != NULL ? t->created : "", "last_used",
	    t->last_used, "revoked", t->revoked);
	return json_array_append_new(arg, row);
}

static const struct {
	const char *head;
	const char *key;
} cmd_token_cols[] = {
    {"ID", "id"},           {"TENANT", "tenant"},   {"NAME", "name"},
    {"SCOPES", "scopes"},   {"CREATED", "created"}, {"LAST_USED", "last_used"},
    {"REVOKED", "revoked"},
};

#define CMD_TOKEN_NCOLS (sizeof(cmd_token_cols) / sizeof(cmd_token_cols[0]))

/* A JSON cell as table text: "-" for an empty label, "never" for null. */
static const char *
cmd_token_cell(json_t *row, size_t col)
{
	json_t *v = json_object_get(row, cmd_token_cols[col].key);

	if (json_is_boolean(v))
		return json_is_true(v) ? "yes" : "no";
	if (!json_is_string(v))
		return "never";
	return *json_string_value(v) != '\0' ? json_string_value(v) : "-";
}

static void
cmd_token_table(json_t *rows)
{
	int w[CMD_TOKEN_NCOLS];
	size_t c, i;
	json_t *row;

	for (c = 0; c < CMD_TOKEN_NCOLS; c++) {
		w[c] = (int)strlen(cmd_token_cols[c].head);
		json_array_foreach(rows, i, row)
		{
			if ((int)strlen(cmd_token_cell(row, c)) > w[c])
				w[c] = (int)strlen(cmd_token_cell(row, c));
		}
	}
	w[CMD_TOKEN_NCOLS - 1] = 0; /* no padding at the end of a line */
	for (c = 0; c < CMD_TOKEN_NCOLS; c++)
		printf("%-*s%s", w[c], cmd_token_cols[c].head,
		       c + 1 < CMD_TOKEN_NCOLS ? "  " : "\n");
	json_array_foreach(rows, i, row)
	{
		for (c = 0; c < CMD_TOKEN_NCOLS; c++)
			printf("%-*s%s", w[c], cmd_token_cell(row, c),
			       c + 1 < CMD_TOKEN_NCOLS ? "  " : "\n");
	}
}

static int
cmd_token_list_print(struct store *st, int64_t tenant_id, bool json)
{
	json_t *rows = json_array();
	char *s;
	int rc = 0;

	if (store_token_list(st, tenant_id, cmd_token_row, rows) != STORE_OK)
		rc = -1;
	else if (!json)
		cmd_token_table(rows);
	else {
		s = json_dumps(rows, JSON_INDENT(2));
		printf("%s\n", s);
		free(s);
	}
	json_decref(rows);
	return rc;
}

static int
cmd_token_list_exec(int argc, char **argv)
{
	struct cmd_token_args a = {.db = cmd_default_db()};
	struct store_tenant t = {0};
	struct store *st;
	int rc;

	rc = cmd_token_parse(&cmd_token_list_entry, "dtj", false, argc, argv,
	                     &a);
	if (rc != 0)
		return rc;
	if ((st = cmd_open_existing_store(a.db)) == NULL)
		return 1;
	if (a.tenant != NULL && cmd_token_tenant(st, a.tenant, &t) == -1)
		rc = 1;
	else if (cmd_token_list_print(st, t.id, a.json) == -1) {
		cmd_error("cannot list tokens in %s", a.db);
		rc = 1;
	}
	store_tenant_clear(&t);
	store_close(st);
	return rc;
}

static int
cmd_token_revoke_exec(int argc, char **argv)
{
	struct cmd_token_args a = {.db = cmd_default_db()};
	struct store *st;
	int rc;

	rc =
	    cmd_token_parse(&cmd_token_revoke_entry, "d", true, argc, argv, &a);
	if (rc != 0)
		return rc;
	if ((st = cmd_open_existing_store(a.db)) == NULL)
		return 1;
	rc = cmd_token_revoke_id(st, a.id);
	if (rc == STORE_OK)
		printf("token %s revoked\n", a.id);
	else if (rc == STORE_NOTFOUND)
		cmd_error("no token \"%s\"", a.id);
	else
		cmd_error("cannot revoke token \"%s\" in %s", a.id, a.db);
	store_close(st);
	return rc == STORE_OK ? 0 : 1;
}
