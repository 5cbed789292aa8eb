/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* Unit tests for the store (SQLite backend) against a temporary database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>

#include "scim/filter.h"
#include "scim/schema.h"
#include "store/store.h"
#include "store/store_deliver.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct fx {
	char dir[64];
	char path[128];
	struct store *st;
	int64_t tenant; /* "acme" */
	int64_t other;  /* "globex" */
};

static int
setup(void **state)
{
	struct fx *fx = xcalloc(1, sizeof(*fx));
	struct store_tenant t;
	char *cause = NULL;

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/rosterd-store-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/rosterd.db", fx->dir);
	fx->st = store_open(fx->path, &cause);
	assert_null(cause);
	assert_non_null(fx->st);
	assert_int_equal(store_tenant_create(fx->st, "acme", &t), STORE_OK);
	fx->tenant = t.id;
	store_tenant_clear(&t);
	assert_int_equal(store_tenant_create(fx->st, "globex", &t), STORE_OK);
	fx->other = t.id;
	store_tenant_clear(&t);
	*state = fx;
	return 0;
}

static void
unlink_suffix(const struct fx *fx, const char *suffix)
{
	char p[160];

	snprintf(p, sizeof(p), "%s%s", fx->path, suffix);
	unlink(p);
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	store_close(fx->st);
	unlink_suffix(fx, "");
	unlink_suffix(fx, "-wal");
	unlink_suffix(fx, "-shm");
	unlink_suffix(fx, "-journal");
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* A second, independent connection: what another process would see. */
static sqlite3 *
peek_open(const struct fx *fx)
{
	sqlite3 *db = NULL;

	assert_int_equal(
	    sqlite3_open_v2(fx->path, &db, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	return db;
}

static int64_t
peek_int(const struct fx *fx, const char *sql, int64_t bind1)
{
	sqlite3 *db = peek_open(fx);
	sqlite3_stmt *st;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_bind_parameter_count(st) > 0)
		sqlite3_bind_int64(st, 1, bind1);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* A new user or group resource with owned strings (store_res_clear). */
static void
res_make(struct store_res *r, int64_t tenant, enum store_rtype type,
         const char *name)
{
	char buf[40];
	struct buf doc;

	memset(r, 0, sizeof(*r));
	r->tenant_id = tenant;
	r->type = type;
	store_uuid(buf, sizeof(buf));
	r->id = xstrdup(buf);
	r->name = xstrdup(name);
	r->active = 1;
	buf_init(&doc, 0);
	buf_addf(&doc, "{\"schemas\":[\"%s\"],\"%s\":",
	         type == STORE_USER ? SCIM_URN_USER : SCIM_URN_GROUP,
	         type == STORE_USER ? "userName" : "displayName");
	buf_add_json_str(&doc, name);
	buf_addch(&doc, '}');
	r->doc = buf_detach(&doc);
	store_now(buf, sizeof(buf));
	r->created = xstrdup(buf);
	r->modified = xstrdup(buf);
}

static int
res_add(struct fx *fx, int64_t tenant, enum store_rtype type, const char *name,
        struct store_res *out)
{
	struct store_res r;
	int rc;

	res_make(&r, tenant, type, name);
	rc = store_res_insert(fx->st, &r, NULL);
	if (out != NULL && rc == STORE_OK)
		*out = r;
	else
		store_res_clear(&r);
	return rc;
}

static void
res_set_doc(struct store_res *r, const char *doc)
{
	free(r->doc);
	r->doc = xstrdup(doc);
}

static double
elapsed_us(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e6 +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e3;
}

/* Opening: file mode, pragmas, migrations, backend choice. */

static void
test_open_file_mode_and_schema(void **state)
{
	struct fx *fx = *state;
	struct stat sb;
	char wal[160];

	assert_int_equal(stat(fx->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* The tenants in setup were committed: the WAL exists, also 0600. */
	snprintf(wal, sizeof(wal), "%s-wal", fx->path);
	assert_int_equal(stat(wal, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* 1 core, 2 HRIS import, 3 feeds, 4 delivery, 5 scheduler, 6 indexes,
	 * 7 feed undo, 8 history_full, 9 return file versions */
	assert_int_equal(peek_int(fx, "PRAGMA user_version", 0), 9);
	assert_int_equal(store_migrate(fx->st, NULL), 9);
	assert_false(store_in_tx(fx->st));
}

static void
test_open_backends(void **state)
{
	struct fx *fx = *state;
	struct store_tenant t;
	struct store *st;
	char *cause = NULL, url[160], bad[160];

	st = store_open("postgres://db.example/rosterd", &cause);
	assert_null(st);
	assert_string_equal(cause, "PostgreSQL backend not built");
	xfree(cause);

	/* "sqlite:PATH" is the same database as PATH. */
	snprintf(url, sizeof(url), "sqlite:%s", fx->path);
	st = store_open(url, &cause);
	assert_non_null(st);
	assert_int_equal(store_tenant_get(st, "acme", &t), STORE_OK);
	assert_int_equal(t.id, fx->tenant);
	store_tenant_clear(&t);
	store_close(st);

	assert_null(store_open("", &cause));
	assert_non_null(cause);
	xfree(cause);
	snprintf(bad, sizeof(bad), "%s/missing/dir/x.db", fx->dir);
	assert_null(store_open(bad, &cause));
	assert_non_null(cause);
	xfree(cause);
}

static void
test_open_rejects_newer_schema(void **state)
{
	struct fx *fx = *state;
	char path[160], *cause = NULL;
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/future.db", fx->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	assert_null(store_open(path, &cause));
	assert_non_null(cause);
	assert_non_null(strstr(cause, "newer"));
	free(cause);
	unlink(path);
}

/*
 * The return tables as migration 4 made them and as they stayed up to
 * schema version 8, with rows: files 5 and 9 (ids kept by the rebuild)
 * and their records.
 */
static const char ret_v8[] =
    "PRAGMA foreign_keys = OFF;\n"
    "DROP TABLE return_records;\n"
    "DROP TABLE return_files;\n"
    "CREATE TABLE return_files (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  feed TEXT NOT NULL,\n"
    "  name TEXT NOT NULL,                   -- name on the server\n"
    "  size INTEGER NOT NULL,\n"
    "  downloaded_at TEXT NOT NULL,\n"
    "  archive_path TEXT NOT NULL,           -- the copy as downloaded\n"
    "  run_id TEXT,                          -- the run it answers\n"
    "  records INTEGER NOT NULL DEFAULT 0,\n"
    "  rejected INTEGER NOT NULL DEFAULT 0,\n"
    "  signer TEXT,                          -- good PGP signature by\n"
    "  error TEXT,                           -- why it was unreadable\n"
    "  UNIQUE (feed, name)\n"
    ");\n"
    "CREATE INDEX return_files_run ON return_files(run_id);\n"
    "CREATE TABLE return_records (\n"
    "  file_id INTEGER NOT NULL REFERENCES return_files(id),\n"
    "  row INTEGER NOT NULL,                 -- CSV row (header is 1)\n"
    "  run_id TEXT,\n"
    "  key TEXT NOT NULL,\n"
    "  status TEXT NOT NULL,\n"
    "  message TEXT,\n"
    "  accepted INTEGER NOT NULL CHECK (accepted IN (0, 1)),\n"
    "  PRIMARY KEY (file_id, row)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX return_records_run ON return_records(run_id, accepted);\n"
    "INSERT INTO return_files VALUES (5, 'acme', 'ack_001.csv', 40, "
    "'2026-01-02T03:04:05Z', '/d/returns/acme/ack_001.csv', 'run_1', 2, 1, "
    "NULL, NULL);\n"
    "INSERT INTO return_files VALUES (9, 'acme', 'results.csv', 17, "
    "'2026-01-03T03:04:05Z', '/d/returns/acme/results.csv', NULL, 1, 0, "
    "'ABCD', 'odd');\n"
    "INSERT INTO return_records VALUES (5, 2, 'run_1', 'M1', 'A', NULL, 1);\n"
    "INSERT INTO return_records VALUES (5, 3, 'run_1', 'M2', 'R', 'no', 0);\n"
    "INSERT INTO return_records VALUES (9, 2, NULL, 'M3', 'A', NULL, 1);\n"
    "PRAGMA user_version = 8;\n";

/* A database at schema version 8 with return files, plus extra SQL. */
static void
make_v8(const char *path, const char *extra)
{
	struct store *st;
	char *cause = NULL;
	sqlite3 *db;

	st = store_open(path, &cause);
	assert_non_null(st);
	store_close(st);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, ret_v8, NULL, NULL, NULL), SQLITE_OK);
	if (extra != NULL)
		assert_int_equal(sqlite3_exec(db, extra, NULL, NULL, NULL),
		                 SQLITE_OK);
	sqlite3_close(db);
}

static void
db_text(sqlite3 *db, const char *sql, struct buf *out)
{
	sqlite3_stmt *st;
	int i;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (i = 0; i < sqlite3_column_count(st); i++)
			buf_addf(out, "%s%s", i > 0 ? "|" : "",
			         sqlite3_column_text(st, i)
			             ? (const char *)sqlite3_column_text(st, i)
			             : "-");
		buf_addstr(out, ";");
	}
	sqlite3_finalize(st);
}

static void
rmdb(const char *path)
{
	char p[200];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

/* Migration 9 rebuilds return_files: ids, rows and references kept. */
static void
test_migrate_9_return_versions(void **state)
{
	struct fx *fx = *state;
	struct store_return_record bad = {.file_id = 77,
	                                  .row = 2,
	                                  .key = "x",
	                                  .status = "A",
	                                  .accepted = true};
	struct store_return_file f = {0}, g;
	char path[160], *cause = NULL;
	struct store *st;
	struct buf b;
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/v8.db", fx->dir);
	make_v8(path, NULL);
	st = store_open(path, &cause);
	assert_null(cause);
	assert_non_null(st);

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
	                 SQLITE_OK);
	buf_init(&b, 0);
	db_text(db, "PRAGMA user_version", &b);
	db_text(db,
	        "SELECT id, feed, name, version, size, remote_size, "
	        "remote_mtime, downloaded_at, archive_path, run_id, records, "
	        "rejected, signer, error FROM return_files ORDER BY id",
	        &b);
	db_text(db, "SELECT * FROM return_records ORDER BY file_id, row", &b);
	assert_string_equal(
	    buf_str(&b),
	    "9;"
	    "5|acme|ack_001.csv|1|40|40|-1|2026-01-02T03:04:05Z|"
	    "/d/returns/acme/ack_001.csv|run_1|2|1|-|-;"
	    "9|acme|results.csv|1|17|17|-1|2026-01-03T03:04:05Z|"
	    "/d/returns/acme/results.csv|-|1|0|ABCD|odd;"
	    "5|2|run_1|M1|A|-|1;5|3|run_1|M2|R|no|0;9|2|-|M3|A|-|1;");
	/* The references name the rebuilt table and hold; nothing is left
	 * of the copy. */
	buf_reset(&b);
	db_text(db, "PRAGMA foreign_key_check", &b);
	db_text(db,
	        "SELECT \"table\", \"from\", \"to\" FROM "
	        "pragma_foreign_key_list('return_records')",
	        &b);
	db_text(db,
	        "SELECT name FROM sqlite_master WHERE tbl_name LIKE "
	        "'return_files%' ORDER BY name",
	        &b);
	assert_string_equal(buf_str(&b), "return_files|file_id|id;"
	                                 "return_files;return_files_run;"
	                                 "sqlite_autoindex_return_files_1;");
	buf_free(&b);
	sqlite3_close(db);

	/* Foreign keys are enforced again on the migrating connection. */
	assert_int_not_equal(store_return_records_add(st, &bad, 1), STORE_OK);
	/* The same name again: version 2; version 2 twice is a conflict. */
	assert_int_equal(store_return_latest(st, "acme", "results.csv", &g),
	                 STORE_OK);
	assert_int_equal(g.id, 9);
	assert_int_equal(g.version, 1);
	assert_int_equal(g.remote_size, 17);
	assert_int_equal(g.remote_mtime, -1);
	store_return_file_clear(&g);
	f.feed = "acme";
	f.name = "results.csv";
	f.version = 2;
	f.size = f.remote_size = 18;
	f.remote_mtime = 1767225600;
	f.downloaded_at = "2026-01-04T00:00:00Z";
	f.archive_path = "/d/returns/acme/v2/results.csv";
	assert_int_equal(store_return_add(st, &f), STORE_OK);
	assert_true(f.id > 9);
	assert_int_equal(store_return_add(st, &f), STORE_CONFLICT);
	assert_int_equal(store_return_latest(st, "acme", "results.csv", &g),
	                 STORE_OK);
	assert_int_equal(g.version, 2);
	assert_int_equal(g.remote_mtime, 1767225600);
	assert_string_equal(g.archive_path, "/d/returns/acme/v2/results.csv");
	store_return_file_clear(&g);
	assert_int_equal(store_return_latest(st, "acme", "none.csv", &g),
	                 STORE_NOTFOUND);
	/* Migrated already: nothing to do. */
	assert_int_equal(store_migrate(st, NULL), 9);
	store_close(st);
	rmdb(path);
}

/* A broken reference found by the check stops the migration: still 8. */
static void
test_migrate_9_fk_check(void **state)
{
	struct fx *fx = *state;
	char path[160], *cause = NULL;
	struct buf b;
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/v8bad.db", fx->dir);
	make_v8(path, "INSERT INTO return_records VALUES (42, 2, NULL, 'M9', "
	              "'A', NULL, 1);");
	assert_null(store_open(path, &cause));
	assert_non_null(cause);
	assert_non_null(strstr(cause, "foreign key check failed: a row of "
	                              "return_records"));
	free(cause);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
	                 SQLITE_OK);
	buf_init(&b, 0);
	db_text(db, "PRAGMA user_version", &b);
	db_text(db,
	        "SELECT count(*) FROM pragma_table_info('return_files') "
	        "WHERE name = 'version'",
	        &b);
	db_text(db, "SELECT count(*) FROM return_files", &b);
	assert_string_equal(buf_str(&b), "8;0;2;");
	buf_free(&b);
	sqlite3_close(db);
	rmdb(path);
}

static void
schema_dump(sqlite3 *db, struct buf *out)
{
	sqlite3_stmt *st;

	assert_int_equal(
	    sqlite3_prepare_v2(db,
	                       "SELECT type, name, tbl_name, sql FROM "
	                       "sqlite_master ORDER BY name",
	                       -1, &st, NULL),
	    SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		buf_addf(out, "%s|%s|%s|%s\n", sqlite3_column_text(st, 0),
		         sqlite3_column_text(st, 1), sqlite3_column_text(st, 2),
		         sqlite3_column_text(st, 3)
		             ? (const char *)sqlite3_column_text(st, 3)
		             : "");
	}
	sqlite3_finalize(st);
}

/*
 * The objects of db named like those of ref, in ref's order: later
 * migrations (HRIS, feeds) add tables the migration-1 document lacks.
 */
static void
schema_dump_like(sqlite3 *db, sqlite3 *ref, struct buf *out)
{
	sqlite3_stmt *names, *st;

	assert_int_equal(sqlite3_prepare_v2(ref,
	                                    "SELECT name FROM sqlite_master "
	                                    "ORDER BY name",
	                                    -1, &names, NULL),
	                 SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(db,
	                       "SELECT type, name, tbl_name, sql FROM "
	                       "sqlite_master WHERE name = ?1",
	                       -1, &st, NULL),
	    SQLITE_OK);
	while (sqlite3_step(names) == SQLITE_ROW) {
		sqlite3_bind_text(st, 1,
		                  (const char *)sqlite3_column_text(names, 0),
		                  -1, SQLITE_TRANSIENT);
		while (sqlite3_step(st) == SQLITE_ROW)
			buf_addf(out, "%s|%s|%s|%s\n",
			         sqlite3_column_text(st, 0),
			         sqlite3_column_text(st, 1),
			         sqlite3_column_text(st, 2),
			         sqlite3_column_text(st, 3)
			             ? (const char *)sqlite3_column_text(st, 3)
			             : "");
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	sqlite3_finalize(names);
}

/* The core tables, as migrated, must match the documented schema. */
static void
test_schema_matches_doc(void **state)
{
	struct fx *fx = *state;
	char path[512], *slash, *text;
	const char *src;
	struct buf want, got;
	sqlite3 *mem, *db;
	FILE *f;
	long n;

	/* The source tree: $ROSTERD_SRC, else relative to this file. */
	if ((src = getenv("ROSTERD_SRC")) != NULL)
		snprintf(path, sizeof(path), "%s/docs/store-schema.sql", src);
	else {
		snprintf(path, sizeof(path), "%s", __FILE__);
		if ((slash = strrchr(path, '/')) == NULL)
			skip();
		snprintf(slash, sizeof(path) - (size_t)(slash - path),
		         "/../../docs/store-schema.sql");
	}
	if ((f = fopen(path, "r")) == NULL)
		skip();
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = xcalloc(1, (size_t)n + 1);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);

	assert_int_equal(sqlite3_open(":memory:", &mem), SQLITE_OK);
	assert_int_equal(sqlite3_exec(mem, text, NULL, NULL, NULL), SQLITE_OK);
	buf_init(&want, 0);
	buf_init(&got, 0);
	schema_dump(mem, &want);
	db = peek_open(fx);
	schema_dump_like(db, mem, &got);
	assert_string_equal(buf_str(&got), buf_str(&want));
	assert_true(got.len > 100);
	buf_free(&want);
	buf_free(&got);
	sqlite3_close(mem);
	sqlite3_close(db);
	free(text);
}

static void
test_now_and_uuid(void **state)
{
	char a[40], b[40], now[32];
	int i;

	store_now(now, sizeof(now));
	assert_int_equal(strlen(now), 24);
	for (i = 0; i < 24; i++) {
		switch (i) {
		case 4:
		case 7:
			assert_int_equal(now[i], '-');
			break;
		case 10:
			assert_int_equal(now[i], 'T');
			break;
		case 13:
		case 16:
			assert_int_equal(now[i], ':');
			break;
		case 19:
			assert_int_equal(now[i], '.');
			break;
		case 23:
			assert_int_equal(now[i], 'Z');
			break;
		default:
			assert_true(now[i] >= '0' && now[i] <= '9');
		}
	}
	store_uuid(a, sizeof(a));
	store_uuid(b, sizeof(b));
	assert_int_equal(strlen(a), 36);
	assert_string_not_equal(a, b);
	assert_int_equal(a[8], '-');
	assert_int_equal(a[13], '-');
	assert_int_equal(a[18], '-');
	assert_int_equal(a[23], '-');
	assert_int_equal(a[14], '7');
	assert_non_null(strchr("89ab", a[19]));
	assert_int_equal(strspn(a, "0123456789abcdef-"), 36);
	/* Time-ordered: a later id never sorts before an earlier one's time. */
	usleep(2000);
	store_uuid(b, sizeof(b));
	assert_true(memcmp(a, b, 13) < 0);
}

/* Tenants. */

static int
tenant_collect(const struct store_tenant *t, void *arg)
{
	struct buf *b = arg;

	buf_addf(b, "%s,", t->name);
	return 0;
}

static void
test_tenants(void **state)
{
	struct fx *fx = *state;
	struct store_tenant t;
	struct buf names;
	char long_name[66];

	assert_int_equal(store_tenant_create(fx->st, "acme", &t),
	                 STORE_CONFLICT);
	assert_null(t.name);
	assert_int_equal(store_tenant_create(fx->st, "", NULL), STORE_INVALID);
	assert_int_equal(store_tenant_create(fx->st, "a b", NULL),
	                 STORE_INVALID);
	assert_int_equal(store_tenant_create(fx->st, "a/b", NULL),
	                 STORE_INVALID);
	memset(long_name, 'x', 65);
	long_name[65] = '\0';
	assert_int_equal(store_tenant_create(fx->st, long_name, NULL),
	                 STORE_INVALID);
	long_name[64] = '\0';
	assert_int_equal(store_tenant_create(fx->st, long_name, NULL),
	                 STORE_OK);
	assert_int_equal(store_tenant_create(fx->st, "Beta.corp_2-x", &t),
	                 STORE_OK);
	assert_true(t.id > 0);
	assert_string_equal(t.name, "Beta.corp_2-x");
	assert_int_equal(strlen(t.created), 24);
	store_tenant_clear(&t);

	assert_int_equal(store_tenant_get(fx->st, "acme", &t), STORE_OK);
	assert_int_equal(t.id, fx->tenant);
	assert_int_equal(t.rate_rps, 0);
	store_tenant_clear(&t);
	assert_int_equal(store_tenant_get(fx->st, "nope", &t), STORE_NOTFOUND);
	assert_null(t.name);

	assert_int_equal(store_tenant_set_rate(fx->st, fx->tenant, 50, 100),
	                 STORE_OK);
	assert_int_equal(store_tenant_get_id(fx->st, fx->tenant, &t), STORE_OK);
	assert_string_equal(t.name, "acme");
	assert_int_equal(t.rate_rps, 50);
	assert_int_equal(t.rate_burst, 100);
	store_tenant_clear(&t);
	assert_int_equal(store_tenant_set_rate(fx->st, 9999, 1, 1),
	                 STORE_NOTFOUND);
	assert_int_equal(store_tenant_get_id(fx->st, 9999, &t), STORE_NOTFOUND);

	buf_init(&names, 0);
	assert_int_equal(store_tenant_list(fx->st, tenant_collect, &names),
	                 STORE_OK);
	/* Ordered by name (binary collation: upper case first). */
	assert_int_equal(
	    strncmp(buf_str(&names), "Beta.corp_2-x,acme,globex,", 26), 0);
	buf_free(&names);
}

/* Tokens. */

static int
token_count(const struct store_token *t, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

/* A touch never waits for another connection's write lock. */
static void
test_token_touch(void **state)
{
	struct fx *fx = *state;
	uint8_t h[STORE_TOKEN_HASH_LEN];
	struct store_token t;
	struct timespec a, b;
	char *id = NULL;
	sqlite3 *db;

	memset(h, 0x44, sizeof(h));
	assert_int_equal(
	    store_token_create(fx->st, fx->tenant, "okta", "scim", h, &id),
	    STORE_OK);
	assert_int_equal(store_token_touch(fx->st, id), STORE_OK);
	assert_int_equal(store_token_find(fx->st, h, &t), STORE_OK);
	assert_non_null(t.last_used);
	assert_int_equal(strlen(t.last_used), 24);
	store_token_clear(&t);

	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
	                 SQLITE_OK);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(store_token_touch(fx->st, id), STORE_CONFLICT);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_true(b.tv_sec - a.tv_sec < 1); /* not the 5 s busy timeout */
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);

	assert_int_equal(store_begin(fx->st), STORE_OK);
	assert_int_equal(store_token_touch(fx->st, id), STORE_CONFLICT);
	assert_int_equal(store_rollback(fx->st), STORE_OK);
	assert_int_equal(store_token_touch(fx->st, id), STORE_OK);
	assert_int_equal(store_token_touch(fx->st, NULL), STORE_NOTFOUND);
	free(id);
}

static void
test_tokens(void **state)
{
	struct fx *fx = *state;
	uint8_t h1[STORE_TOKEN_HASH_LEN], h2[STORE_TOKEN_HASH_LEN],
	    h3[STORE_TOKEN_HASH_LEN];
	struct store_token t;
	char *id = NULL, *id2 = NULL;
	int n;

	memset(h1, 0x11, sizeof(h1));
	memset(h2, 0x22, sizeof(h2));
	memset(h3, 0x33, sizeof(h3));
	assert_int_equal(
	    store_token_create(fx->st, fx->tenant, "okta", "scim", h1, &id),
	    STORE_OK);
	assert_int_equal(strlen(id), 20);
	assert_int_equal(strncmp(id, "tok_", 4), 0);
	assert_int_equal(strspn(id + 4, "0123456789abcdef"), 16);
	assert_int_equal(
	    store_token_create(fx->st, fx->other, NULL, "scim,admin", h2, &id2),
	    STORE_OK);
	assert_string_not_equal(id, id2);
	/* Same secret hash twice, and a tenant that does not exist. */
	assert_int_equal(
	    store_token_create(fx->st, fx->tenant, "dup", "scim", h1, NULL),
	    STORE_CONFLICT);
	assert_int_equal(
	    store_token_create(fx->st, 9999, "x", "scim", h3, NULL),
	    STORE_INVALID);

	assert_int_equal(store_token_find(fx->st, h1, &t), STORE_OK);
	assert_string_equal(t.id, id);
	assert_int_equal(t.tenant_id, fx->tenant);
	assert_string_equal(t.tenant_name, "acme");
	assert_string_equal(t.name, "okta");
	assert_string_equal(t.scopes, "scim");
	assert_int_equal(strlen(t.created), 24);
	assert_null(t.last_used);
	assert_false(t.revoked);
	store_token_clear(&t);
	assert_int_equal(store_token_find(fx->st, h3, &t), STORE_NOTFOUND);

	n = 0;
	assert_int_equal(store_token_list(fx->st, 0, token_count, &n),
	                 STORE_OK);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(store_token_list(fx->st, fx->other, token_count, &n),
	                 STORE_OK);
	assert_int_equal(n, 1);

	assert_int_equal(store_token_revoke(fx->st, id), STORE_OK);
	assert_int_equal(store_token_revoke(fx->st, id), STORE_OK);
	assert_int_equal(store_token_revoke(fx->st, "tok_0000000000000000"),
	                 STORE_NOTFOUND);
	assert_int_equal(store_token_find(fx->st, h1, &t), STORE_OK);
	assert_true(t.revoked);
	store_token_clear(&t);
	assert_int_equal(store_token_find(fx->st, h2, &t), STORE_OK);
	assert_false(t.revoked);
	assert_string_equal(t.tenant_name, "globex");
	assert_string_equal(t.scopes, "scim,admin");
	assert_string_equal(t.name, "");
	store_token_clear(&t);
	free(id);
	free(id2);
}

/* Resources. */

static void
test_res_crud(void **state)
{
	struct fx *fx = *state;
	struct store_res u, g, got;

	assert_int_equal(res_add(fx, fx->tenant, STORE_USER, "alice", &u),
	                 STORE_OK);
	assert_true(u.rid > 0);
	assert_int_equal(u.version, 1);

	assert_int_equal(
	    store_res_get(fx->st, fx->tenant, STORE_USER, u.id, &got),
	    STORE_OK);
	assert_int_equal(got.rid, u.rid);
	assert_int_equal(got.tenant_id, fx->tenant);
	assert_int_equal(got.type, STORE_USER);
	assert_string_equal(got.id, u.id);
	assert_string_equal(got.name, "alice");
	assert_null(got.external_id);
	assert_int_equal(got.active, 1);
	assert_string_equal(got.doc, u.doc);
	assert_int_equal(got.version, 1);
	assert_string_equal(got.created, u.created);
	assert_string_equal(got.modified, u.modified);
	assert_null(got.deleted_at);
	store_res_clear(&got);

	/* Wrong type, wrong tenant, unknown id. */
	assert_int_equal(
	    store_res_get(fx->st, fx->tenant, STORE_GROUP, u.id, &got),
	    STORE_NOTFOUND);
	assert_int_equal(
	    store_res_get(fx->st, fx->other, STORE_USER, u.id, &got),
	    STORE_NOTFOUND);
	assert_int_equal(
	    store_res_get(fx->st, fx->tenant, STORE_USER, "x", &got),
	    STORE_NOTFOUND);

	free(u.name);
	u.name = xstrdup("alice.smith");
	u.external_id = xstrdup("E-1");
	u.active = 0;
	res_set_doc(&u, "{\"userName\":\"alice.smith\"}");
	assert_int_equal(store_res_update(fx->st, &u, NULL, NULL), STORE_OK);
	assert_int_equal(u.version, 2);
	assert_int_equal(store_res_update(fx->st, &u, NULL, NULL), STORE_OK);
	assert_int_equal(u.version, 3);
	assert_int_equal(
	    store_res_get(fx->st, fx->tenant, STORE_USER, u.id, &got),
	    STORE_OK);
	assert_string_equal(got.name, "alice.smith");
	assert_string_equal(got.external_id, "E-1");
	assert_int_equal(got.active, 0);
	assert_string_equal(got.doc, "{\"userName\":\"alice.smith\"}");
	assert_int_equal(got.version, 3);
	store_res_clear(&got);

	assert_int_equal(store_res_delete(fx->st, &u, NULL), STORE_OK);
	assert_int_equal(
	    store_res_get(fx->st, fx->tenant, STORE_USER, u.id, &got),
	    STORE_NOTFOUND);
	assert_int_equal(store_res_delete(fx->st, &u, NULL), STORE_NOTFOUND);
	assert_int_equal(store_res_update(fx->st, &u, NULL, NULL),
	                 STORE_NOTFOUND);
	assert_int_equal(
	    peek_int(fx, "SELECT version FROM resources WHERE rid = ?", u.rid),
	    4);

	/* Groups are always active. */
	res_make(&g, fx->tenant, STORE_GROUP, "Staff");
	g.active = 0;
	assert_int_equal(store_res_insert(fx->st, &g, NULL), STORE_OK);
	assert_int_equal(g.active, 1);
	assert_int_equal(
	    store_res_get(fx->st, fx->tenant, STORE_GROUP, g.id, &got),
	    STORE_OK);
	assert_int_equal(got.active, 1);
	store_res_clear(&got);

	/* A duplicate id is a conflict too. */
	free(g.name);
	g.name = xstrdup("Other");
	assert_int_equal(store_res_insert(fx->st, &g, NULL), STORE_CONFLICT);
	store_res_clear(&g);
	store_res_clear(&u);
}

static void
test_username_unique(void **state)
{
	struct fx *fx = *state;
	struct store_res a, b;

	assert_int_equal(res_add(fx, fx->tenant, STORE_USER, "Alice", &a),
	                 STORE_OK);
	assert_int_equal(res_add(fx, fx->tenant, STORE_USER, "alice", NULL),
	                 STORE_CONFLICT);
	assert_int_equal(res_add(fx, fx->tenant, STORE_USER, "ALICE", NULL),
	                 STORE_CONFLICT);
	/* Per tenant and per type: a group may share a user's name. */
	assert_int_equal(res_add(fx, fx->other, STORE_USER, "alice", NULL),
	                 STORE_OK);
	assert_int_equal(res_add(fx, fx->tenant, STORE_GROUP, "alice", NULL),
	                 STORE_OK);

	/* Renaming onto a taken name conflicts and changes nothing. */
	assert_int_equal(res_add(fx, fx->tenant, STORE_USER, "bob", &b),
	                 STORE_OK);
	free(b.name);
	b.name = xstrdup("aLiCe");
	assert_int_equal(store_res_update(fx->st, &b, NULL, NULL),
	                 STORE_CONFLICT);
	assert_int_equal(b.version, 1);
	assert_int_equal(
	    peek_int(fx, "SELECT count(*) FROM history WHERE rid = ?", b.rid),
	    1);

	/* After deletion the name is free again. */
	assert_int_equal(store_res_delete(fx->st, &a, NULL), STORE_OK);
	assert_int_equal(store_res_update(fx->st, &b, NULL, NULL), STORE_OK);
	assert_int_equal(b.version, 2);
	assert_int_equal(store_res_delete(fx->st, &b, NULL), STORE_OK);
	assert_int_equal(res_add(fx, fx->tenant, STORE_USER, "alice", NULL),
	                 STORE_OK);
	store_res_clear(&a);
	store_res_clear(&b);
}

/* History rows, read straight from the table. */

struct hist_row {
	char op[8];
	int64_t version;
	char *before, *after, *token, *source, *delta;
};

static char *
col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? xstrdup((const char *)t) : NULL;
}

static int
hist_read(const struct fx *fx, int64_t rid, struct hist_row *rows, int max)
{
	sqlite3 *db = peek_open(fx);
	sqlite3_stmt *st;
	int n = 0;

	assert_int_equal(
	    sqlite3_prepare_v2(db,
	                       "SELECT op, version, before, after, token_id, "
	                       "source, members_delta FROM history_full WHERE "
	                       "rid = ? ORDER BY seq",
	                       -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_int64(st, 1, rid);
	while (n < max && sqlite3_step(st) == SQLITE_ROW) {
		snprintf(rows[n].op, sizeof(rows[n].op), "%s",
		         sqlite3_column_text(st, 0));
		rows[n].version = sqlite3_column_int64(st, 1);
		rows[n].before = col_dup(st, 2);
		rows[n].after = col_dup(st, 3);
		rows[n].token = col_dup(st, 4);
		rows[n].source = col_dup(st, 5);
		rows[n].delta = col_dup(st, 6);
		n++;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void
hist_free(struct hist_row *rows, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		free(rows[i].before);
		free(rows[i].after);
		free(rows[i].token);
		free(rows[i].source);
		free(rows[i].delta);
	}
}

/* Group displayName: unique per tenant, case-insensitive (Entra). */
static void
test_group_name_unique(void **state)
{
	struct fx *fx = *state;
	struct store_res a, b;

	assert_int_equal(res_add(fx, fx->tenant, STORE_GROUP, "Staff", &a),
	                 STORE_OK);
	assert_int_equal(res_add(fx, fx->tenant, STORE_GROUP, "STAFF", NULL),
	                 STORE_CONFLICT);
	assert_int_equal(res_add(fx, fx->other, STORE_GROUP, "staff", NULL),
	                 STORE_OK);
	assert_int_equal(res_add(fx, fx->tenant, STORE_GROUP, "Ops", &b),
	                 STORE_OK);

	/* Renaming onto a taken name conflicts; its own name is no clash. */
	free(b.name);
	b.name = xstrdup("staff");
	assert_int_equal(store_res_update(fx->st, &b, NULL, NULL),
	                 STORE_CONFLICT);
	assert_int_equal(b.version, 1);
	free(a.name);
	a.name = xstrdup("STAFF");
	assert_int_equal(store_res_update(fx->st, &a, NULL, NULL), STORE_OK);

	/* A deleted group frees its name. */
	assert_int_equal(store_res_delete(fx->st, &a, NULL), STORE_OK);
	assert_int_equal(store_res_update(fx->st, &b, NULL, NULL), STORE_OK);
	store_res_clear(&a);
	store_res_clear(&b);
}

static void
test_history(void **state)
{
	struct fx *fx = *state;
	struct store_actor scim = {"tok_0123456789abcdef", "scim"};
	struct store_actor hris = {NULL, "hris"};
	struct store_res u, g, m;
	struct hist_row h[4];
	const char *ids[1];
	char *doc1, *want;
	int n;

	res_make(&u, fx->tenant, STORE_USER, "carol");
	doc1 = xstrdup(u.doc);
	assert_int_equal(store_res_insert(fx->st, &u, &scim), STORE_OK);
	res_set_doc(&u, "{\"userName\":\"carol\",\"title\":\"CTO\"}");
	assert_int_equal(store_res_update(fx->st, &u, &hris, NULL), STORE_OK);
	assert_int_equal(store_res_delete(fx->st, &u, NULL), STORE_OK);

	n = hist_read(fx, u.rid, h, 4);
	assert_int_equal(n, 3);
	assert_string_equal(h[0].op, "create");
	assert_int_equal(h[0].version, 1);
	assert_null(h[0].before);
	assert_string_equal(h[0].after, doc1);
	assert_string_equal(h[0].token, "tok_0123456789abcdef");
	assert_string_equal(h[0].source, "scim");
	assert_string_equal(h[1].op, "update");
	assert_int_equal(h[1].version, 2);
	assert_string_equal(h[1].before, doc1);
	assert_string_equal(h[1].after, u.doc);
	assert_null(h[1].token);
	assert_string_equal(h[1].source, "hris");
	assert_null(h[1].delta);
	assert_string_equal(h[2].op, "delete");
	assert_int_equal(h[2].version, 3);
	assert_string_equal(h[2].before, u.doc);
	assert_null(h[2].after);
	assert_string_equal(h[2].source, "cli");
	hist_free(h, n);
	/* Each version is stored once: the view derives every after. */
	assert_int_equal(
	    peek_int(fx,
	             "SELECT count(*) FROM history WHERE after IS "
	             "NOT NULL OR (op = 'create' AND before IS NOT "
	             "NULL)",
	             0),
	    0);

	/* A group: update with a members delta, then delete with members. */
	assert_int_equal(res_add(fx, fx->tenant, STORE_GROUP, "Ops", &g),
	                 STORE_OK);
	assert_int_equal(res_add(fx, fx->tenant, STORE_USER, "dave", &m),
	                 STORE_OK);
	ids[0] = m.id;
	assert_int_equal(store_members_add(fx->st, &g, ids, 1, NULL), STORE_OK);
	want = xasprintf("{\"added\":[\"%s\"],\"removed\":[]}", m.id);
	assert_int_equal(store_res_update(fx->st, &g, &scim, want), STORE_OK);
	assert_int_equal(store_res_delete(fx->st, &g, &scim), STORE_OK);
	n = hist_read(fx, g.rid, h, 4);
	assert_int_equal(n, 3);
	assert_string_equal(h[1].delta, want);
	free(want);
	want = xasprintf("{\"added\":[],\"removed\":[\"%s\"]}", m.id);
	assert_string_equal(h[2].delta, want);
	assert_non_null(h[2].before);
	hist_free(h, n);

	/* A refused write leaves no history behind. */
	assert_int_equal(res_add(fx, fx->tenant, STORE_USER, "DAVE", NULL),
	                 STORE_CONFLICT);
	assert_int_equal(peek_int(fx, "SELECT count(*) FROM history", 0), 7);

	free(want);
	free(doc1);
	store_res_clear(&u);
	store_res_clear(&g);
	store_res_clear(&m);
}

/* Membership. */

struct mcollect {
	int n;
	char ids[16][40];
	char types[16][8];
	char display[16][32];
};

static int
member_collect(const struct store_member *m, void *arg)
{
	struct mcollect *c = arg;

	if (c->n < 16) {
		snprintf(c->ids[c->n], sizeof(c->ids[0]), "%s", m->id);
		snprintf(c->types[c->n], sizeof(c->types[0]), "%s", m->type);
		snprintf(c->display[c->n], sizeof(c->display[0]), "%s",
		         m->display);
	}
	c->n++;
	return 0;
}

static int
members_count(struct fx *fx, int64_t rid)
{
	struct mcollect c;

	memset(&c, 0, sizeof(c));
	assert_int_equal(store_members_list(fx->st, rid, member_collect, &c),
	                 STORE_OK);
	return c.n;
}

static int
groups_of(struct fx *fx, int64_t rid, struct mcollect *c)
{
	memset(c, 0, sizeof(*c));
	assert_int_equal(store_user_groups(fx->st, rid, member_collect, c),
	                 STORE_OK);
	return c->n;
}

static void
test_members(void **state)
{
	struct fx *fx = *state;
	struct store_res u1, u2, u3, gone, foreign, g1, g2;
	struct mcollect c;
	const char *ids[4];
	char *cause = NULL;

	assert_int_equal(res_add(fx, fx->tenant, STORE_USER, "u1", &u1),
	                 STORE_OK);
	assert_int_equal(res_add(fx, fx->tenant, STORE_USER, "u2", &u2),
	                 STORE_OK);
	assert_int_equal(res_add(fx, fx->tenant, STORE_USER, "u3", &u3),
	                 STORE_OK);
	assert_int_equal(res_add(fx, fx->tenant, STORE_USER, "gone", &gone),
	                 STORE_OK);
	assert_int_equal(store_res_delete(fx->st, &gone, NULL), STORE_OK);
	assert_int_equal(res_add(fx, fx->other, STORE_USER, "f", &foreign),
	                 STORE_OK);
	assert_int_equal(res_add(fx, fx->tenant, STORE_GROUP, "G1", &g1),
	                 STORE_OK);
	assert_int_equal(res_add(fx, fx->tenant, STORE_GROUP, "G2", &g2),
	                 STORE_OK);

	ids[0] = u1.id;
	ids[1] = u2.id;
	ids[2] = g2.id;
	assert_int_equal(store_members_add(fx->st, &g1, ids, 3, &cause),
	                 STORE_OK);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_members_list(fx->st, g1.rid, member_collect, &c),
	                 STORE_OK);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.ids[0], u1.id);
	assert_string_equal(c.types[0], "User");
	assert_string_equal(c.display[0], "u1");
	assert_string_equal(c.ids[1], u2.id);
	assert_string_equal(c.ids[2], g2.id);
	assert_string_equal(c.types[2], "Group");
	assert_string_equal(c.display[2], "G2");

	/* Re-adding is a no-op. */
	assert_int_equal(store_members_add(fx->st, &g1, ids, 1, NULL),
	                 STORE_OK);
	assert_int_equal(members_count(fx, g1.rid), 3);

	/* Unknown, deleted, foreign and self ids: invalid, all or nothing. */
	ids[0] = u3.id;
	ids[1] = "no-such-id";
	assert_int_equal(store_members_add(fx->st, &g1, ids, 2, &cause),
	                 STORE_INVALID);
	assert_string_equal(cause, "member \"no-such-id\" does not exist");
	xfree(cause);
	assert_int_equal(members_count(fx, g1.rid), 3);
	ids[0] = gone.id;
	assert_int_equal(store_members_add(fx->st, &g1, ids, 1, &cause),
	                 STORE_INVALID);
	assert_non_null(strstr(cause, gone.id));
	xfree(cause);
	ids[0] = foreign.id;
	assert_int_equal(store_members_add(fx->st, &g1, ids, 1, &cause),
	                 STORE_INVALID);
	xfree(cause);
	ids[0] = g1.id;
	assert_int_equal(store_members_add(fx->st, &g1, ids, 1, &cause),
	                 STORE_INVALID);
	xfree(cause);
	ids[0] = u1.id;
	assert_int_equal(store_members_add(fx->st, &u2, ids, 1, &cause),
	                 STORE_INVALID);
	xfree(cause);
	assert_int_equal(members_count(fx, g1.rid), 3);

	/* Groups of a user. */
	assert_int_equal(store_members_add(fx->st, &g2, ids, 1, NULL),
	                 STORE_OK);
	assert_int_equal(groups_of(fx, u1.rid, &c), 2);
	assert_string_equal(c.ids[0], g1.id);
	assert_string_equal(c.types[0], "Group");
	assert_string_equal(c.display[0], "G1");
	assert_string_equal(c.ids[1], g2.id);
	assert_int_equal(groups_of(fx, u2.rid, &c), 1);
	assert_int_equal(groups_of(fx, u3.rid, &c), 0);
	assert_int_equal(groups_of(fx, g2.rid, &c), 1);

	/* Present: members counted, others (unknown, foreign) not. */
	{
		const char *q[5] = {u1.id, u3.id, "no-such-id", foreign.id,
		                    u1.id};
		size_t present = 99;

		assert_int_equal(
		    store_members_present(fx->st, g1.rid, q, 5, &present),
		    STORE_OK);
		assert_int_equal(present, 2); /* u1, counted twice */
		assert_int_equal(
		    store_members_present(fx->st, g1.rid, q + 1, 3, &present),
		    STORE_OK);
		assert_int_equal(present, 0);
		assert_int_equal(
		    store_members_present(fx->st, g1.rid, q, 0, &present),
		    STORE_OK);
		assert_int_equal(present, 0);
	}

	/* Remove: unknown ids and non-members are ignored. */
	ids[0] = u2.id;
	ids[1] = "no-such-id";
	ids[2] = u3.id;
	assert_int_equal(store_members_remove(fx->st, g1.rid, ids, 3),
	                 STORE_OK);
	assert_int_equal(members_count(fx, g1.rid), 2);
	assert_int_equal(groups_of(fx, u2.rid, &c), 0);

	/* Clear one group; deleting a user drops it from the other. */
	assert_int_equal(store_members_set(fx->st, &g1, ids, 0, NULL),
	                 STORE_OK);
	assert_int_equal(members_count(fx, g1.rid), 0);
	assert_int_equal(members_count(fx, g2.rid), 1);
	assert_int_equal(store_res_delete(fx->st, &u1, NULL), STORE_OK);
	assert_int_equal(members_count(fx, g2.rid), 0);
	assert_int_equal(
	    peek_int(fx,
	             "SELECT count(*) FROM members WHERE member_rid = "
	             "?",
	             u1.rid),
	    0);

	/* Deleting a group drops its memberships in both directions. */
	ids[0] = u3.id;
	assert_int_equal(store_members_add(fx->st, &g2, ids, 1, NULL),
	                 STORE_OK);
	ids[0] = g2.id;
	assert_int_equal(store_members_add(fx->st, &g1, ids, 1, NULL),
	                 STORE_OK);
	assert_int_equal(store_res_delete(fx->st, &g2, NULL), STORE_OK);
	assert_int_equal(groups_of(fx, u3.rid, &c), 0);
	assert_int_equal(members_count(fx, g1.rid), 0);

	store_res_clear(&u1);
	store_res_clear(&u2);
	store_res_clear(&u3);
	store_res_clear(&gone);
	store_res_clear(&foreign);
	store_res_clear(&g1);
	store_res_clear(&g2);
}

/* Expand nested groups from inside a members_list callback. */
struct nested {
	struct fx *fx;
	int users;
	int groups;
};

static int
nested_walk(const struct store_member *m, void *arg)
{
	struct nested *n = arg;
	struct store_res g;

	if (strcmp(m->type, "User") == 0) {
		n->users++;
		return 0;
	}
	n->groups++;
	assert_int_equal(
	    store_res_get(n->fx->st, n->fx->tenant, STORE_GROUP, m->id, &g),
	    STORE_OK);
	assert_int_equal(store_members_list(n->fx->st, g.rid, nested_walk, n),
	                 STORE_OK);
	/* The outer walk's record is still intact. */
	assert_string_equal(m->type, "Group");
	store_res_clear(&g);
	return 0;
}

static int64_t
version_of(struct fx *fx, const struct store_res *r)
{
	return peek_int(fx, "SELECT version FROM resources WHERE rid = ?",
	                r->rid);
}

/*
 * A User's "groups" is derived from membership (RFC 7643 §4.1.2), so
 * joining or leaving a group, or a rename of the group, is a new version
 * of the user (§3.1); a rename of a member is one of its groups.
 */
static void
test_members_versions(void **state)
{
	struct fx *fx = *state;
	struct store_res u1, u2, u3, g1;
	const char *ids[3];
	char *cause = NULL;

	assert_int_equal(res_add(fx, fx->tenant, STORE_USER, "u1", &u1),
	                 STORE_OK);
	assert_int_equal(res_add(fx, fx->tenant, STORE_USER, "u2", &u2),
	                 STORE_OK);
	assert_int_equal(res_add(fx, fx->tenant, STORE_USER, "u3", &u3),
	                 STORE_OK);
	assert_int_equal(res_add(fx, fx->tenant, STORE_GROUP, "G1", &g1),
	                 STORE_OK);

	ids[0] = u1.id;
	ids[1] = u2.id;
	assert_int_equal(store_members_add(fx->st, &g1, ids, 2, NULL),
	                 STORE_OK);
	assert_int_equal(version_of(fx, &u1), 2);
	assert_int_equal(version_of(fx, &u2), 2);
	assert_int_equal(version_of(fx, &u3), 1);
	/* No change, no version: already there, not there. */
	assert_int_equal(store_members_add(fx->st, &g1, ids, 1, NULL),
	                 STORE_OK);
	ids[0] = u3.id;
	assert_int_equal(store_members_remove(fx->st, g1.rid, ids, 1),
	                 STORE_OK);
	assert_int_equal(version_of(fx, &u1), 2);
	assert_int_equal(version_of(fx, &u3), 1);
	ids[0] = u2.id;
	assert_int_equal(store_members_remove(fx->st, g1.rid, ids, 1),
	                 STORE_OK);
	assert_int_equal(version_of(fx, &u2), 3);

	/* Set {u1, u3}: u1 stays, u3 joins. Then {u3}: u1 leaves. */
	ids[0] = u1.id;
	ids[1] = u3.id;
	assert_int_equal(store_members_set(fx->st, &g1, ids, 2, NULL),
	                 STORE_OK);
	assert_int_equal(version_of(fx, &u1), 2);
	assert_int_equal(version_of(fx, &u2), 3);
	assert_int_equal(version_of(fx, &u3), 2);
	assert_int_equal(store_members_set(fx->st, &g1, ids + 1, 1, NULL),
	                 STORE_OK);
	assert_int_equal(version_of(fx, &u1), 3);
	assert_int_equal(version_of(fx, &u3), 2);
	assert_int_equal(members_count(fx, g1.rid), 1);
	/* A bad id changes nothing. */
	ids[0] = u1.id;
	ids[1] = "no-such-id";
	assert_int_equal(store_members_set(fx->st, &g1, ids, 2, &cause),
	                 STORE_INVALID);
	xfree(cause);
	assert_int_equal(version_of(fx, &u1), 3);
	assert_int_equal(version_of(fx, &u3), 2);
	assert_int_equal(members_count(fx, g1.rid), 1);

	/* Renaming the group is a change of its users, and the reverse. */
	free(g1.name);
	g1.name = xstrdup("G1 renamed");
	assert_int_equal(store_res_update(fx->st, &g1, NULL, NULL), STORE_OK);
	assert_int_equal(version_of(fx, &u3), 3);
	assert_int_equal(version_of(fx, &u1), 3);
	free(u3.name);
	u3.name = xstrdup("u3 renamed");
	assert_int_equal(store_res_update(fx->st, &u3, NULL, NULL), STORE_OK);
	assert_int_equal(version_of(fx, &u3), 4);
	assert_int_equal(version_of(fx, &g1), g1.version + 1);
	/* A change that keeps the name moves nothing else. */
	assert_int_equal(store_res_update(fx->st, &u3, NULL, NULL), STORE_OK);
	assert_int_equal(version_of(fx, &g1), g1.version + 1);

	/* Deleting the group is a change of its users. */
	assert_int_equal(store_res_delete(fx->st, &g1, NULL), STORE_OK);
	assert_int_equal(version_of(fx, &u3), 6);
	assert_int_equal(version_of(fx, &u1), 3);
	store_res_clear(&u1);
	store_res_clear(&u2);
	store_res_clear(&u3);
	store_res_clear(&g1);
}

static void
test_members_nested_walk(void **state)
{
	struct fx *fx = *state;
	struct store_res outer, inner, u1, u2, u3;
	struct nested n = {fx, 0, 0};
	const char *ids[3];

	assert_int_equal(res_add(fx, fx->tenant, STORE_GROUP, "outer", &outer),
	                 STORE_OK);
	assert_int_equal(res_add(fx, fx->tenant, STORE_GROUP, "inner", &inner),
	                 STORE_OK);
	assert_int_equal(res_add(fx, fx->tenant, STORE_USER, "n1", &u1),
	                 STORE_OK);
	assert_int_equal(res_add(fx, fx->tenant, STORE_USER, "n2", &u2),
	                 STORE_OK);
	assert_int_equal(res_add(fx, fx->tenant, STORE_USER, "n3", &u3),
	                 STORE_OK);
	ids[0] = u1.id;
	ids[1] = inner.id;
	ids[2] = u3.id;
	assert_int_equal(store_members_add(fx->st, &outer, ids, 3, NULL),
	                 STORE_OK);
	ids[0] = u2.id;
	ids[1] = u3.id;
	assert_int_equal(store_members_add(fx->st, &inner, ids, 2, NULL),
	                 STORE_OK);
	assert_int_equal(store_members_list(fx->st, outer.rid, nested_walk, &n),
	                 STORE_OK);
	/* u1, inner (u2, u3), u3: the outer walk ran to its end. */
	assert_int_equal(n.groups, 1);
	assert_int_equal(n.users, 4);
	store_res_clear(&outer);
	store_res_clear(&inner);
	store_res_clear(&u1);
	store_res_clear(&u2);
	store_res_clear(&u3);
}

#define BIG 10000

/* Best of 20: remove one member of g, then put it back. */
static double
remove_best_us(struct fx *fx, const struct store_res *g, const char *id)
{
	struct timespec t0, t1;
	const char *one[1] = {id};
	double best = 1e12, us;
	int k;

	assert_int_equal(store_begin(fx->st), STORE_OK);
	for (k = 0; k < 20; k++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(store_members_remove(fx->st, g->rid, one, 1),
		                 STORE_OK);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if ((us = elapsed_us(&t0, &t1)) < best)
			best = us;
		assert_int_equal(store_members_add(fx->st, g, one, 1, NULL),
		                 STORE_OK);
	}
	assert_int_equal(store_commit(fx->st), STORE_OK);
	return best;
}

/*
 * A 10,000-member group: one member in or out costs about what it costs
 * in a one-member group (index probes, no scan of the membership).
 */
static void
test_members_large(void **state)
{
	struct fx *fx = *state;
	struct store_res g, small, got;
	struct timespec t0, t1;
	char name[32], **ids;
	const char *one[1];
	double big_us, small_us, us;
	int i;

	ids = xcalloc(BIG, sizeof(*ids));
	assert_int_equal(store_begin(fx->st), STORE_OK);
	for (i = 0; i < BIG; i++) {
		struct store_res u;

		snprintf(name, sizeof(name), "user%05d", i);
		assert_int_equal(res_add(fx, fx->tenant, STORE_USER, name, &u),
		                 STORE_OK);
		ids[i] = u.id;
		u.id = NULL;
		store_res_clear(&u);
	}
	assert_int_equal(store_commit(fx->st), STORE_OK);
	assert_int_equal(res_add(fx, fx->tenant, STORE_GROUP, "Everyone", &g),
	                 STORE_OK);
	assert_int_equal(
	    store_members_add(fx->st, &g, (const char *const *)ids, BIG, NULL),
	    STORE_OK);
	assert_int_equal(members_count(fx, g.rid), BIG);
	assert_int_equal(res_add(fx, fx->tenant, STORE_GROUP, "Few", &small),
	                 STORE_OK);
	one[0] = ids[0];
	assert_int_equal(store_members_add(fx->st, &small, one, 1, NULL),
	                 STORE_OK);

	big_us = remove_best_us(fx, &g, ids[BIG / 2]);
	small_us = remove_best_us(fx, &small, ids[0]);
	print_message("remove one member: %.1f us of %d, %.1f us of 1\n",
	              big_us, BIG, small_us);
	assert_true(big_us < 5 * small_us + 50);

	one[0] = ids[BIG / 2];
	assert_int_equal(store_members_remove(fx->st, g.rid, one, 1), STORE_OK);
	assert_int_equal(members_count(fx, g.rid), BIG - 1);

	/* GET by id runs a kept statement: microseconds, not a prepare. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 1000; i++) {
		assert_int_equal(store_res_get(fx->st, fx->tenant, STORE_USER,
		                               ids[(i * 7919) % BIG], &got),
		                 STORE_OK);
		store_res_clear(&got);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	us = elapsed_us(&t0, &t1) / 1000;
	print_message("get by id: %.1f us\n", us);
	assert_true(us < 100);

	for (i = 0; i < BIG; i++)
		free(ids[i]);
	free(ids);
	store_res_clear(&g);
	store_res_clear(&small);
}

/* Listing. */

#define NUSERS 21

struct lcollect {
	int n;
	int stop_after; /* 0: never */
	char names[NUSERS + 8][16];
};

static int
list_collect(const struct store_res *r, void *arg)
{
	struct lcollect *c = arg;

	assert_null(r->deleted_at);
	if (c->n < NUSERS + 8)
		snprintf(c->names[c->n], sizeof(c->names[0]), "%s", r->name);
	c->n++;
	return c->stop_after != 0 && c->n >= c->stop_after;
}

/* u00..u20 live in acme, plus one deleted user, two groups, and users in
 * globex. */
static void
list_fixture(struct fx *fx)
{
	struct store_res del;
	char name[16];
	int i;

	assert_int_equal(store_begin(fx->st), STORE_OK);
	for (i = 0; i < NUSERS; i++) {
		snprintf(name, sizeof(name), "u%02d", i);
		assert_int_equal(
		    res_add(fx, fx->tenant, STORE_USER, name, NULL), STORE_OK);
		if (i == 10) {
			assert_int_equal(res_add(fx, fx->tenant, STORE_USER,
			                         "deleted", &del),
			                 STORE_OK);
			assert_int_equal(store_res_delete(fx->st, &del, NULL),
			                 STORE_OK);
			store_res_clear(&del);
		}
	}
	assert_int_equal(res_add(fx, fx->tenant, STORE_GROUP, "g1", NULL),
	                 STORE_OK);
	assert_int_equal(res_add(fx, fx->tenant, STORE_GROUP, "g2", NULL),
	                 STORE_OK);
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "o%d", i);
		assert_int_equal(res_add(fx, fx->other, STORE_USER, name, NULL),
		                 STORE_OK);
	}
	assert_int_equal(store_commit(fx->st), STORE_OK);
}

/* The fixture's users listed from the first, count a page, with totals. */
static void
list_start(struct fx *fx, struct store_query *q, struct lcollect *c,
           int64_t count)
{
	list_fixture(fx);
	memset(q, 0, sizeof(*q));
	memset(c, 0, sizeof(*c));
	q->tenant_id = fx->tenant;
	q->type = STORE_USER;
	q->start_index = 1;
	q->count = count;
	q->want_total = true;
}

static int
list_run(struct fx *fx, const struct store_query *q, struct lcollect *c,
         struct store_page *page, char **cause)
{
	int stop = c->stop_after;

	memset(c, 0, sizeof(*c));
	c->stop_after = stop;
	return store_res_list(fx->st, q, list_collect, c, page, cause);
}

static void
test_list_offset(void **state)
{
	struct fx *fx = *state;
	struct store_query q;
	struct store_page page;
	struct lcollect c;

	list_start(fx, &q, &c, 10);
	assert_int_equal(list_run(fx, &q, &c, &page, NULL), STORE_OK);
	assert_int_equal(c.n, 10);
	assert_int_equal(page.total, NUSERS);
	assert_null(page.next_cursor);
	assert_string_equal(c.names[0], "u00");
	assert_string_equal(c.names[9], "u09");

	q.start_index = 11;
	assert_int_equal(list_run(fx, &q, &c, &page, NULL), STORE_OK);
	assert_int_equal(c.n, 10);
	assert_string_equal(c.names[0], "u10");
	assert_string_equal(c.names[9], "u19");
	q.start_index = 21;
	assert_int_equal(list_run(fx, &q, &c, &page, NULL), STORE_OK);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.names[0], "u20");
	q.start_index = 40;
	assert_int_equal(list_run(fx, &q, &c, &page, NULL), STORE_OK);
	assert_int_equal(c.n, 0);
	assert_int_equal(page.total, NUSERS);

	/* startIndex below 1 is 1; count 0 is the total only. */
	q.start_index = -3;
	q.count = 0;
	assert_int_equal(list_run(fx, &q, &c, &page, NULL), STORE_OK);
	assert_int_equal(c.n, 0);
	assert_int_equal(page.total, NUSERS);
	q.count = 2;
	assert_int_equal(list_run(fx, &q, &c, &page, NULL), STORE_OK);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.names[0], "u00");

	/* Descending, other type, other tenant, no total. */
	q.descending = true;
	q.want_total = false;
	assert_int_equal(list_run(fx, &q, &c, &page, NULL), STORE_OK);
	assert_string_equal(c.names[0], "u20");
	assert_string_equal(c.names[1], "u19");
	assert_int_equal(page.total, 0);
	q.descending = false;
	q.want_total = true;
	q.count = 100;
	q.type = STORE_GROUP;
	assert_int_equal(list_run(fx, &q, &c, &page, NULL), STORE_OK);
	assert_int_equal(c.n, 2);
	assert_int_equal(page.total, 2);
	q.type = STORE_USER;
	q.tenant_id = fx->other;
	assert_int_equal(list_run(fx, &q, &c, &page, NULL), STORE_OK);
	assert_int_equal(c.n, 3);
	assert_int_equal(page.total, 3);

	/* The callback can stop the walk; a NULL page is allowed. */
	q.tenant_id = fx->tenant;
	c.stop_after = 3;
	assert_int_equal(list_run(fx, &q, &c, NULL, NULL), STORE_OK);
	assert_int_equal(c.n, 3);
}

/* Walk every cursor page; returns pages, fills seen[] (u00..u20). */
static int
cursor_walk(struct fx *fx, struct store_query *q, int seen[NUSERS])
{
	struct store_page page;
	struct lcollect c;
	char *cursor = xstrdup("");
	int pages = 0, i, k;

	memset(seen, 0, NUSERS * sizeof(seen[0]));
	memset(&c, 0, sizeof(c));
	while (cursor != NULL) {
		q->cursor = cursor;
		assert_int_equal(list_run(fx, q, &c, &page, NULL), STORE_OK);
		assert_int_equal(page.total, NUSERS);
		assert_true(c.n > 0 && c.n <= q->count);
		for (i = 0; i < c.n; i++) {
			k = atoi(c.names[i] + 1);
			assert_true(k >= 0 && k < NUSERS);
			seen[k]++;
		}
		free(cursor);
		cursor = page.next_cursor;
		page.next_cursor = NULL;
		/* A next page is promised only after a full page. */
		if (cursor != NULL)
			assert_int_equal(c.n, q->count);
		pages++;
		assert_true(pages <= NUSERS);
	}
	q->cursor = NULL;
	return pages;
}

static void
test_list_cursor(void **state)
{
	struct fx *fx = *state;
	struct store_query q;
	struct store_page page;
	struct lcollect c;
	struct store_res first;
	int seen[NUSERS], i;
	char *cause = NULL, *next;

	list_fixture(fx);
	memset(&q, 0, sizeof(q));
	memset(&c, 0, sizeof(c));
	q.tenant_id = fx->tenant;
	q.type = STORE_USER;
	q.start_index = 5; /* ignored with a cursor */
	q.want_total = true;

	/* 21 rows in pages of 7: exactly three, no empty fourth page. */
	q.count = 7;
	assert_int_equal(cursor_walk(fx, &q, seen), 3);
	for (i = 0; i < NUSERS; i++)
		assert_int_equal(seen[i], 1);
	q.count = 5;
	assert_int_equal(cursor_walk(fx, &q, seen), 5);
	for (i = 0; i < NUSERS; i++)
		assert_int_equal(seen[i], 1);
	q.descending = true;
	assert_int_equal(cursor_walk(fx, &q, seen), 5);
	for (i = 0; i < NUSERS; i++)
		assert_int_equal(seen[i], 1);
	q.count = 100;
	assert_int_equal(cursor_walk(fx, &q, seen), 1);

	/* Keyset: deleting a row already returned skips nothing. */
	q.descending = false;
	q.count = 7;
	q.cursor = "";
	assert_int_equal(list_run(fx, &q, &c, &page, NULL), STORE_OK);
	assert_string_equal(c.names[0], "u00");
	assert_non_null(page.next_cursor);
	next = page.next_cursor;
	page.next_cursor = NULL;
	memset(&first, 0, sizeof(first));
	first.tenant_id = fx->tenant;
	first.rid =
	    peek_int(fx, "SELECT rid FROM resources WHERE name = 'u00'", 0);
	assert_int_equal(store_res_delete(fx->st, &first, NULL), STORE_OK);
	q.cursor = next;
	q.count = 7;
	assert_int_equal(list_run(fx, &q, &c, &page, NULL), STORE_OK);
	assert_int_equal(c.n, 7);
	assert_string_equal(c.names[0], "u07");
	assert_int_equal(page.total, NUSERS - 1);
	store_page_clear(&page);

	/* A cursor is bound to its tenant and type. */
	q.tenant_id = fx->other;
	assert_int_equal(list_run(fx, &q, &c, &page, &cause), STORE_INVALID);
	assert_string_equal(cause, "invalid cursor");
	xfree(cause);
	assert_int_equal(c.n, 0);
	assert_null(page.next_cursor);
	q.tenant_id = fx->tenant;
	q.type = STORE_GROUP;
	assert_int_equal(list_run(fx, &q, &c, &page, &cause), STORE_INVALID);
	xfree(cause);
	q.type = STORE_USER;
	free(next);

	/* Malformed cursors. */
	q.cursor = "not a cursor!";
	assert_int_equal(list_run(fx, &q, &c, &page, &cause), STORE_INVALID);
	assert_string_equal(cause, "invalid cursor");
	xfree(cause);
	q.cursor = "cjox";
	assert_int_equal(list_run(fx, &q, &c, &page, &cause), STORE_INVALID);
	xfree(cause);
	next = xasprintf("r:%lld:1:7:-5", (long long)fx->tenant);
	{
		char enc[64];

		sodium_bin2base64(enc, sizeof(enc), (unsigned char *)next,
		                  strlen(next),
		                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		q.cursor = enc;
		assert_int_equal(list_run(fx, &q, &c, &page, &cause),
		                 STORE_INVALID);
		xfree(cause);
		/* The same text with a valid position is accepted. */
		free(next);
		next = xasprintf("r:%lld:1:7:0", (long long)fx->tenant);
		sodium_bin2base64(enc, sizeof(enc), (unsigned char *)next,
		                  strlen(next),
		                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		assert_int_equal(list_run(fx, &q, &c, &page, &cause), STORE_OK);
		assert_int_equal(c.n, 7);
		store_page_clear(&page);
		/* RFC 9865 §2.1: a later page asks for the same count. */
		q.count = 8;
		assert_int_equal(list_run(fx, &q, &c, &page, &cause),
		                 STORE_INVALID);
		assert_int_equal(strncmp(cause, STORE_CAUSE_CURSOR_COUNT,
		                         strlen(STORE_CAUSE_CURSOR_COUNT)),
		                 0);
		xfree(cause);
		q.count = 7;
		/* The count is part of the cursor: no other text is one. */
		free(next);
		next = xasprintf("r:%lld:1:x7:0", (long long)fx->tenant);
		sodium_bin2base64(enc, sizeof(enc), (unsigned char *)next,
		                  strlen(next),
		                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		assert_int_equal(list_run(fx, &q, &c, &page, &cause),
		                 STORE_INVALID);
		assert_string_equal(cause, "invalid cursor");
		xfree(cause);
	}
	free(next);
}

/* Listing with SCIM filters and sortBy (compiled by sqlite_filter.c). */

static struct scim_filter *
parse(enum store_rtype type, const char *text)
{
	struct scim_filter *f;
	struct scim_err e;

	scim_err_init(&e);
	f = scim_filter_parse(type == STORE_USER ? scim_rtype_user()
	                                         : scim_rtype_group(),
	                      text, &e);
	if (f == NULL)
		fail_msg("%s: %s", text, e.detail);
	return f;
}

/* Run q with the filter text; returns rows, names in c. */
static int
list_filtered(struct fx *fx, struct store_query *q, const char *text,
              struct lcollect *c, struct store_page *page)
{
	struct scim_filter *f = parse(q->type, text);

	q->filter = f;
	assert_int_equal(list_run(fx, q, c, page, NULL), STORE_OK);
	q->filter = NULL;
	scim_filter_free(f);
	return c->n;
}

/*
 * Filters at the grammar's limits run: 256 comparisons in one chain, and
 * 31 levels of nested "not (... or ...)". The compiled SQL once nested a
 * parenthesis per term and overflowed SQLite's parser stack (a 500) near
 * 90 terms.
 */
static void
test_list_filter_at_limits(void **state)
{
	struct fx *fx = *state;
	struct store_query q;
	struct store_page page;
	struct lcollect c;
	struct buf b;
	char *t;
	int i;

	list_start(fx, &q, &c, 100);
	buf_init(&b, 0);
	for (i = 0; i < 256; i++)
		buf_addf(&b, "%snot (userName eq \"u%02d\")", i ? " and " : "",
		         i % 20);
	assert_int_equal(list_filtered(fx, &q, buf_str(&b), &c, &page), 1);
	assert_string_equal(c.names[0], "u20");
	buf_reset(&b);
	for (i = 0; i < 128; i++) /* each is two of the 256 terms */
		buf_addf(&b, "%semails[value eq \"x%d\"]", i ? " or " : "", i);
	assert_int_equal(list_filtered(fx, &q, buf_str(&b), &c, &page), 0);
	buf_reset(&b);
	buf_addstr(&b, "userName eq \"u07\"");
	for (i = 0; i < 31; i++) {
		t = xasprintf("not (%s or title eq \"x\")", buf_str(&b));
		buf_reset(&b);
		buf_addstr(&b, t);
		free(t);
	}
	/* 31 negations, an odd number: everyone but u07. */
	assert_int_equal(list_filtered(fx, &q, buf_str(&b), &c, &page),
	                 NUSERS - 1);
	buf_free(&b);
}

static void
test_list_filter(void **state)
{
	struct fx *fx = *state;
	struct store_query q;
	struct store_page page;
	struct lcollect c;
	struct store_res eng, g1;
	struct scim_filter *f;
	const char *ids[1];
	char *cause = NULL, *text;
	int seen[NUSERS], pages, i;

	list_start(fx, &q, &c, 100);

	assert_int_equal(list_filtered(fx, &q, "userName sw \"u1\"", &c, &page),
	                 10);
	assert_int_equal(page.total, 10);
	assert_string_equal(c.names[0], "u10");
	assert_string_equal(c.names[9], "u19");
	assert_int_equal(
	    list_filtered(fx, &q, "userName eq \"U05\"", &c, &page), 1);
	assert_string_equal(c.names[0], "u05");
	assert_int_equal(
	    list_filtered(fx, &q,
	                  "userName sw \"u1\" and not (userName eq \"u15\")",
	                  &c, &page),
	    9);
	assert_int_equal(page.total, 9);
	/* The deleted user and the other tenant's users never match. */
	assert_int_equal(
	    list_filtered(fx, &q, "userName eq \"deleted\"", &c, &page), 0);
	assert_int_equal(list_filtered(fx, &q, "userName eq \"o1\"", &c, &page),
	                 0);

	/* A filtered total with a short page, then cursor pages. */
	q.count = 3;
	assert_int_equal(list_filtered(fx, &q, "userName sw \"u1\"", &c, &page),
	                 3);
	assert_int_equal(page.total, 10);
	f = parse(STORE_USER, "userName sw \"u1\"");
	q.filter = f;
	memset(seen, 0, sizeof(seen));
	pages = 0;
	q.count = 4;
	q.cursor = "";
	for (;;) {
		assert_int_equal(list_run(fx, &q, &c, &page, NULL), STORE_OK);
		assert_int_equal(page.total, 10);
		for (i = 0; i < c.n; i++)
			seen[atoi(c.names[i] + 1)]++;
		pages++;
		if (page.next_cursor == NULL)
			break;
		if (pages > 1)
			free((char *)q.cursor);
		q.cursor = page.next_cursor;
		page.next_cursor = NULL;
	}
	free((char *)q.cursor);
	q.cursor = NULL;
	q.filter = NULL;
	scim_filter_free(f);
	assert_int_equal(pages, 3);
	for (i = 0; i < NUSERS; i++)
		assert_int_equal(seen[i], i >= 10 && i <= 19 ? 1 : 0);

	/* Attributes inside the document. */
	res_make(&eng, fx->tenant, STORE_USER, "eng");
	res_set_doc(&eng, "{\"schemas\":[\"" SCIM_URN_USER "\"],"
	                  "\"userName\":\"eng\",\"title\":\"Engineer\"}");
	assert_int_equal(store_res_insert(fx->st, &eng, NULL), STORE_OK);
	q.count = 100;
	assert_int_equal(
	    list_filtered(fx, &q, "title eq \"engineer\"", &c, &page), 1);
	assert_string_equal(c.names[0], "eng");
	assert_int_equal(list_filtered(fx, &q, "title pr", &c, &page), 1);

	/* Membership from both sides. */
	q.type = STORE_GROUP;
	q.count = 1;
	assert_int_equal(
	    list_filtered(fx, &q, "displayName eq \"g1\"", &c, &page), 1);
	q.count = 100;
	memset(&g1, 0, sizeof(g1));
	g1.rid = peek_int(fx, "SELECT rid FROM resources WHERE name = 'g1'", 0);
	g1.tenant_id = fx->tenant;
	g1.type = STORE_GROUP;
	ids[0] = eng.id;
	assert_int_equal(store_members_add(fx->st, &g1, ids, 1, NULL),
	                 STORE_OK);
	text = xasprintf("members.value eq \"%s\"", eng.id);
	assert_int_equal(list_filtered(fx, &q, text, &c, &page), 1);
	assert_string_equal(c.names[0], "g1");
	free(text);
	q.type = STORE_USER;
	assert_int_equal(
	    list_filtered(fx, &q, "groups.display eq \"G1\"", &c, &page), 1);
	assert_string_equal(c.names[0], "eng");

	/* A filter the backend cannot run is the caller's error. */
	f = parse(STORE_USER, "meta.location pr");
	q.filter = f;
	assert_int_equal(
	    store_res_list(fx->st, &q, list_collect, &c, &page, &cause),
	    STORE_INVALID);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "meta.location"));
	xfree(cause);
	q.filter = NULL;
	scim_filter_free(f);
	store_res_clear(&eng);
}

static void
test_list_sort(void **state)
{
	struct fx *fx = *state;
	struct scim_attrpath path;
	struct store_query q;
	struct store_page page;
	struct lcollect c;
	char *cause = NULL, *keyset, prev[16];
	int seen[NUSERS], pages, i;

	list_fixture(fx);
	assert_int_equal(
	    scim_attrpath_resolve(scim_rtype_user(), "userName", 8, &path), 0);
	memset(&q, 0, sizeof(q));
	memset(&c, 0, sizeof(c));
	q.tenant_id = fx->tenant;
	q.type = STORE_USER;
	q.sort = &path;
	q.descending = true;
	q.start_index = 3;
	q.count = 4;
	q.want_total = true;
	assert_int_equal(list_run(fx, &q, &c, &page, NULL), STORE_OK);
	assert_int_equal(c.n, 4);
	assert_int_equal(page.total, NUSERS);
	assert_string_equal(c.names[0], "u18");
	assert_string_equal(c.names[3], "u15");

	/* Cursor pages under sortBy: all rows once, in order. */
	q.count = 6;
	q.cursor = "";
	memset(seen, 0, sizeof(seen));
	snprintf(prev, sizeof(prev), "u99");
	pages = 0;
	for (;;) {
		assert_int_equal(list_run(fx, &q, &c, &page, NULL), STORE_OK);
		for (i = 0; i < c.n; i++) {
			assert_true(strcmp(c.names[i], prev) < 0);
			snprintf(prev, sizeof(prev), "%s", c.names[i]);
			seen[atoi(c.names[i] + 1)]++;
		}
		pages++;
		if (page.next_cursor == NULL)
			break;
		if (pages > 1)
			free((char *)q.cursor);
		q.cursor = page.next_cursor;
		page.next_cursor = NULL;
	}
	free((char *)q.cursor);
	assert_int_equal(pages, 4);
	for (i = 0; i < NUSERS; i++)
		assert_int_equal(seen[i], 1);

	/* A keyset cursor does not continue a sorted listing. */
	q.sort = NULL;
	q.cursor = "";
	assert_int_equal(list_run(fx, &q, &c, &page, NULL), STORE_OK);
	keyset = page.next_cursor;
	assert_non_null(keyset);
	q.sort = &path;
	q.cursor = keyset;
	assert_int_equal(list_run(fx, &q, &c, &page, &cause), STORE_INVALID);
	assert_string_equal(cause, "invalid cursor");
	free(cause);
	free(keyset);
}

/* Transactions and savepoints. */

static bool
user_exists(struct fx *fx, const char *id)
{
	struct store_res r;
	int rc = store_res_get(fx->st, fx->tenant, STORE_USER, id, &r);

	store_res_clear(&r);
	return rc == STORE_OK;
}

static void
test_savepoints(void **state)
{
	struct fx *fx = *state;
	struct store_res a, b, c, d, e;
	const char *ids[1] = {"missing"};
	char *cause = NULL;

	assert_int_equal(store_begin(fx->st), STORE_OK);
	assert_true(store_in_tx(fx->st));
	assert_int_equal(res_add(fx, fx->tenant, STORE_USER, "a", &a),
	                 STORE_OK);
	assert_int_equal(store_savepoint(fx->st), STORE_OK);
	assert_int_equal(res_add(fx, fx->tenant, STORE_USER, "b", &b),
	                 STORE_OK);
	assert_true(user_exists(fx, b.id));
	assert_int_equal(store_rollback_savepoint(fx->st), STORE_OK);
	assert_true(store_in_tx(fx->st));
	assert_false(user_exists(fx, b.id));
	assert_int_equal(store_savepoint(fx->st), STORE_OK);
	assert_int_equal(res_add(fx, fx->tenant, STORE_USER, "c", &c),
	                 STORE_OK);
	assert_int_equal(store_release(fx->st), STORE_OK);
	/* Not yet visible to another connection. */
	assert_int_equal(peek_int(fx, "SELECT count(*) FROM resources", 0), 0);
	assert_int_equal(store_commit(fx->st), STORE_OK);
	assert_false(store_in_tx(fx->st));
	assert_true(user_exists(fx, a.id));
	assert_false(user_exists(fx, b.id));
	assert_true(user_exists(fx, c.id));
	assert_int_equal(peek_int(fx, "SELECT count(*) FROM resources", 0), 2);
	/* b's history row went with it (c may reuse b's rid). */
	assert_int_equal(peek_int(fx, "SELECT count(*) FROM history", 0), 2);

	/* A refused write inside a transaction leaves the rest intact. */
	assert_int_equal(store_begin(fx->st), STORE_OK);
	assert_int_equal(res_add(fx, fx->tenant, STORE_USER, "d", &d),
	                 STORE_OK);
	assert_int_equal(res_add(fx, fx->tenant, STORE_USER, "D", NULL),
	                 STORE_CONFLICT);
	assert_int_equal(res_add(fx, fx->tenant, STORE_GROUP, "grp", &e),
	                 STORE_OK);
	assert_int_equal(store_members_add(fx->st, &e, ids, 1, &cause),
	                 STORE_INVALID);
	xfree(cause);
	assert_true(store_in_tx(fx->st));
	assert_int_equal(store_commit(fx->st), STORE_OK);
	assert_true(user_exists(fx, d.id));

	/* Rollback undoes everything; writes alone commit themselves. */
	store_res_clear(&d);
	assert_int_equal(store_begin(fx->st), STORE_OK);
	assert_int_equal(res_add(fx, fx->tenant, STORE_USER, "rolled", &d),
	                 STORE_OK);
	assert_int_equal(store_rollback(fx->st), STORE_OK);
	assert_false(user_exists(fx, d.id));
	assert_int_equal(res_add(fx, fx->tenant, STORE_USER, "rolled", NULL),
	                 STORE_OK);
	assert_false(store_in_tx(fx->st));
	assert_int_equal(peek_int(fx, "SELECT count(*) FROM resources", 0), 5);

	store_res_clear(&a);
	store_res_clear(&b);
	store_res_clear(&c);
	store_res_clear(&d);
	store_res_clear(&e);
}

int
main(void)
{
	log_init(LOG_LVL_WARN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_open_file_mode_and_schema,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_backends, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_open_rejects_newer_schema,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migrate_9_return_versions,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migrate_9_fk_check, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_schema_matches_doc, setup,
	                                    teardown),
	    cmocka_unit_test(test_now_and_uuid),
	    cmocka_unit_test_setup_teardown(test_tenants, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_token_touch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_res_crud, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_username_unique, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_group_name_unique, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_history, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_members, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_members_versions, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_members_nested_walk, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_members_large, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_list_offset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_cursor, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_filter, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_filter_at_limits, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_list_sort, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_savepoints, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
