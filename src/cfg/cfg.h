/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * The YAML configuration file (libfyaml). One declarative table describes
 * every scalar option of the "server" section (name, type, default, help);
 * it drives parsing, `rosterd config show` and docs/configuration.md.
 * Other sections ("mappings", "feeds") are parsed by their own modules
 * through cfg_section() and report errors with cfg_error(), so every
 * message names file:line:column and the key. Parsing never stops at the
 * first error: all of them are collected and returned together.
 *
 * struct cfg owns its strings and the parsed document; cfg_free() releases
 * both. Values given on the command line override the file.
 */
#ifndef ROSTERD_CFG_H
#define ROSTERD_CFG_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

struct fy_document;
struct fy_node;

struct cfg {
	char *path; /* or NULL: built-in defaults only */
	/* server section */
	char *listen;
	char *db;
	char *base_url;
	char *tls_cert;
	char *tls_key;
	char *log_level;
	char *outbox;
	long delivery_max_parallel;
	struct fy_document *doc;
	/* collected errors, one per line */
	struct buf errors;
	int nerrors;
};

enum cfg_type {
	CFG_STRING,
	CFG_PATH,
	CFG_LISTEN,
	CFG_URL,
	CFG_LEVEL,
	CFG_LONG
};

struct cfg_opt {
	const char *name; /* key in the "server" section */
	enum cfg_type type;
	size_t offset; /* into struct cfg */
	const char *def;
	long min, max; /* CFG_LONG */
	const char *help;
};

/* The option table, terminated by a NULL name. */
const struct cfg_opt *cfg_options(void);

/* Defaults only (no file). Never fails. */
struct cfg *cfg_default(void);
/*
 * Load and validate `path`. Returns the config (check cfg->nerrors: when
 * non-zero cfg->errors lists "file:line:col: key: message" lines and the
 * config must not be used), or NULL with *cause if the file cannot be
 * read or is not YAML at all.
 */
struct cfg *cfg_load(const char *path, char **cause);
void cfg_free(struct cfg *);

/* The top-level mapping value for `name`, or NULL. Borrowed. */
struct fy_node *cfg_section(struct cfg *, const char *name);
/* Record an error at node n (which may be NULL) for key `key`. */
void cfg_error(struct cfg *, struct fy_node *n, const char *key,
               const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Absent, or a plain-style null scalar ("", "~", "null"): unassigned. */
bool cfg_node_is_null(struct fy_node *);
/* Does a configuration string hold control characters (rejected)? */
bool cfg_has_ctl(const char *);
/* Print the effective server options as YAML to stdout. */
void cfg_show(const struct cfg *);

#endif
