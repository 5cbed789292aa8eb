/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* YAML configuration: the server option table and error collection. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libfyaml.h>

#include "cfg/cfg.h"
#include "util/xmalloc.h"

#define OFF(f) offsetof(struct cfg, f)

static const struct cfg_opt cfg_table[] = {
    {"listen", CFG_LISTEN, OFF(listen), "127.0.0.1:8080", 0, 0,
     "Address and port to listen on (ADDR:PORT, [v6addr]:PORT)."},
    {"db", CFG_PATH, OFF(db), NULL, 0, 0,
     "SQLite database file, created 0600 (default: $ROSTERD_DB or "
     "./rosterd.db)."},
    {"base_url", CFG_URL, OFF(base_url), NULL, 0, 0,
     "Public SCIM base URL used in meta.location; default: from the "
     "request's Host header."},
    {"tls_cert", CFG_PATH, OFF(tls_cert), NULL, 0, 0,
     "PEM certificate chain; with tls_key, serve HTTPS."},
    {"tls_key", CFG_PATH, OFF(tls_key), NULL, 0, 0,
     "PEM private key for tls_cert."},
    {"log_level", CFG_LEVEL, OFF(log_level), "info", 0, 0,
     "Operator log level: error, warn, info or debug."},
    {"outbox", CFG_PATH, OFF(outbox), "outbox", 0, 0,
     "Local directory used as the default feed destination."},
    {"delivery_max_parallel", CFG_LONG, OFF(delivery_max_parallel), "4", 1, 64,
     "Most feeds serve delivers at once, each on its own lane, so that a "
     "hung vendor server holds up only its own feed (1-64)."},
    {NULL, 0, 0, NULL, 0, 0, NULL},
};

const struct cfg_opt *
cfg_options(void)
{
	return cfg_table;
}

static char **
cfg_str(struct cfg *c, const struct cfg_opt *o)
{
	return (char **)((char *)c + o->offset);
}

struct cfg *
cfg_default(void)
{
	struct cfg *c = xcalloc(1, sizeof(*c));
	const struct cfg_opt *o;

	buf_init(&c->errors, 0);
	for (o = cfg_table; o->name != NULL; o++) {
		if (o->type == CFG_LONG)
			*(long *)((char *)c + o->offset) =
			    strtol(o->def, NULL, 10);
		else if (o->def != NULL)
			*cfg_str(c, o) = xstrdup(o->def);
	}
	return c;
}

void
cfg_free(struct cfg *c)
{
	const struct cfg_opt *o;

	if (c == NULL)
		return;
	for (o = cfg_table; o->name != NULL; o++)
		if (o->type != CFG_LONG)
			free(*cfg_str(c, o));
	if (c->doc != NULL)
		fy_document_destroy(c->doc);
	buf_free(&c->errors);
	free(c->path);
	free(c);
}

/* Where a node starts; libfyaml 0.7 only keeps marks on tokens. */
static const struct fy_mark *
cfg_node_mark(struct fy_node *n)
{
	struct fy_node_pair *p;
	struct fy_token *t;
	void *iter;

	while (n != NULL) {
		iter = NULL;
		if (fy_node_is_scalar(n)) {
			t = fy_node_get_scalar_token(n);
			return t != NULL ? fy_token_start_mark(t) : NULL;
		}
		if (fy_node_is_mapping(n)) {
			p = fy_node_mapping_iterate(n, &iter);
			n = p != NULL ? fy_node_pair_key(p) : NULL;
		} else
			n = fy_node_sequence_iterate(n, &iter);
	}
	return NULL;
}

void
cfg_error(struct cfg *c, struct fy_node *n, const char *key, const char *fmt,
          ...)
{
	const struct fy_mark *m = cfg_node_mark(n);
	va_list ap;

	buf_addf(&c->errors, "%s:%d:%d: %s: ", c->path ? c->path : "-",
	         m ? m->line + 1 : 0, m ? m->column + 1 : 0, key);
	va_start(ap, fmt);
	buf_vaddf(&c->errors, fmt, ap);
	va_end(ap);
	buf_addch(&c->errors, '\n');
	c->nerrors++;
}

bool
cfg_node_is_null(struct fy_node *n)
{
	const char *v;

	if (n == NULL)
		return true;
	if (!fy_node_is_scalar(n) || fy_node_get_style(n) != FYNS_PLAIN)
		return false;
	v = fy_node_get_scalar0(n);
	return v == NULL || *v == '\0' || strcmp(v, "~") == 0 ||
	       strcmp(v, "null") == 0;
}

bool
cfg_has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

struct fy_node *
cfg_section(struct cfg *c, const char *name)
{
	struct fy_node *root;

	if (c->doc == NULL || (root = fy_document_root(c->doc)) == NULL ||
	    !fy_node_is_mapping(root))
		return NULL;
	return fy_node_mapping_lookup_by_string(root, name, strlen(name));
}

static int
cfg_check_value(const struct cfg_opt *o, const char *v, const char **why)
{
	const char *colon;

	switch (o->type) {
	case CFG_LISTEN:
		colon = strrchr(v, ':');
		if (colon == NULL || colon == v || colon[1] == '\0' ||
		    strspn(colon + 1, "0123456789") != strlen(colon + 1)) {
			*why = "expected ADDR:PORT, e.g. 127.0.0.1:8080";
			return -1;
		}
		/* 0 lets the kernel pick; serve prints the port it got. */
		if (strlen(colon + 1) > 5 || atol(colon + 1) > 65535) {
			*why = "the port must be 0 to 65535";
			return -1;
		}
		return 0;
	case CFG_URL:
		if (strncmp(v, "http://", 7) != 0 &&
		    strncmp(v, "https://", 8) != 0) {
			*why = "expected an http:// or https:// URL";
			return -1;
		}
		return 0;
	case CFG_LEVEL:
		if (strcmp(v, "error") && strcmp(v, "warn") &&
		    strcmp(v, "info") && strcmp(v, "debug")) {
			*why = "expected error, warn, info or debug";
			return -1;
		}
		return 0;
	default:
		if (*v == '\0') {
			*why = "must not be empty";
			return -1;
		}
		return 0;
	}
}

static void
cfg_set_long(struct cfg *c, const struct cfg_opt *o, struct fy_node *n,
             const char *v)
{
	char *end;
	long x;

	errno = 0;
	x = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno != 0 || x < o->min ||
	    x > o->max) {
		cfg_error(c, n, o->name, "expected an integer from %ld to %ld",
		          o->min, o->max);
		return;
	}
	*(long *)((char *)c + o->offset) = x;
}

static void
cfg_set(struct cfg *c, const char *key, struct fy_node *n)
{
	const struct cfg_opt *o;
	const char *v, *why = NULL;

	for (o = cfg_table; o->name != NULL; o++)
		if (strcmp(o->name, key) == 0)
			break;
	if (o->name == NULL) {
		cfg_error(c, n, key, "unknown option in section server");
		return;
	}
	if (!fy_node_is_scalar(n) || (v = fy_node_get_scalar0(n)) == NULL) {
		cfg_error(c, n, key, "expected a scalar value");
		return;
	}
	if (o->type == CFG_LONG) {
		cfg_set_long(c, o, n, v);
		return;
	}
	if (cfg_check_value(o, v, &why) == -1) {
		cfg_error(c, n, key, "%s", why);
		return;
	}
	free(*cfg_str(c, o));
	*cfg_str(c, o) = xstrdup(v);
}

static void
cfg_server(struct cfg *c, struct fy_node *srv)
{
	struct fy_node_pair *p;
	void *iter = NULL;
	const char *k;

	if (!fy_node_is_mapping(srv)) {
		cfg_error(c, srv, "server", "expected a mapping");
		return;
	}
	while ((p = fy_node_mapping_iterate(srv, &iter)) != NULL) {
		k = fy_node_get_scalar0(fy_node_pair_key(p));
		cfg_set(c, k != NULL ? k : "?", fy_node_pair_value(p));
	}
}

/* Top-level keys this version knows; modules claim theirs. */
static const char *const cfg_sections[] = {"server", "mappings", "feeds",
                                           "delivery", NULL};

struct cfg *
cfg_load(const char *path, char **cause)
{
	struct fy_parse_cfg pcfg = {.flags = FYPCF_QUIET};
	struct fy_node *root, *srv;
	struct fy_node_pair *p;
	void *iter = NULL;
	const char *k, *const *s;
	struct cfg *c;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	fclose(f);
	c = cfg_default();
	c->path = xstrdup(path);
	c->doc = fy_document_build_from_file(&pcfg, path);
	if (c->doc == NULL) {
		*cause = xasprintf("%s: not valid YAML", path);
		cfg_free(c);
		return NULL;
	}
	/* Anchors, aliases and << merge keys: feeds often share columns. */
	if (fy_document_resolve(c->doc) != 0) {
		*cause =
		    xasprintf("%s: an alias names no anchor, or a << merge "
		              "key is not a mapping",
		              path);
		cfg_free(c);
		return NULL;
	}
	root = fy_document_root(c->doc);
	if (root == NULL)
		return c; /* empty file: defaults */
	if (!fy_node_is_mapping(root)) {
		cfg_error(c, root, "(top)", "expected a mapping of sections");
		return c;
	}
	while ((p = fy_node_mapping_iterate(root, &iter)) != NULL) {
		k = fy_node_get_scalar0(fy_node_pair_key(p));
		if (k != NULL && strncmp(k, "x-", 2) == 0)
			continue; /* extension keys: a home for anchors */
		for (s = cfg_sections; *s != NULL; s++)
			if (k != NULL && strcmp(*s, k) == 0)
				break;
		if (*s == NULL)
			cfg_error(
			    c, fy_node_pair_key(p), k ? k : "?",
			    "unknown section (known: server, mappings, feeds, "
			    "delivery, or x-NAME for anchors)");
	}
	if ((srv = cfg_section(c, "server")) != NULL)
		cfg_server(c, srv);
	return c;
}

void
cfg_show(const struct cfg *c)
{
	const struct cfg_opt *o;
	char *const *v;

	printf("server:\n");
	for (o = cfg_table; o->name != NULL; o++) {
		printf("  # %s\n", o->help);
		if (o->type == CFG_LONG) {
			printf("  %s: %ld\n", o->name,
			       *(const long *)((const char *)c + o->offset));
			continue;
		}
		v = (char *const *)((const char *)c + o->offset);
		if (*v != NULL)
			printf("  %s: \"%s\"\n", o->name, *v);
		else
			printf("  # %s: (unset)\n", o->name);
	}
}
