/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * Unit tests for HRIS mappings (src/import/hris.c) and the import engine
 * (src/import/hris_import.c) against a temporary SQLite store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "cfg/cfg.h"
#include "import/hris.h"
#include "import/hris_ahead.h"
#include "store/store.h"
#include "store/store_hris.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define ELIG "urn:rosterd:params:scim:schemas:extension:eligibility:1.0:User"

static const char base_cfg[] =
    "mappings:\n"
    "  workday:\n"
    "    key: employee_id\n"
    "    full_file: %s\n"
    "    max_terminate_percent: 50\n"
    "    columns:\n"
    "      email: userName\n"
    "      first_name: name.givenName\n"
    "      last_name: name.familyName\n"
    "      work_email: emails[type eq \"work\"].value\n"
    "      hire_date: {attribute: \"eligibility:hireDate\", date_format: "
    "\"%%m/%%d/%%Y\"}\n"
    "      status: {attribute: \"eligibility:employmentStatus\", map: {A: "
    "active, L: leave, T: terminated}}\n"
    "    dependents:\n"
    "      relationship_column: rel\n"
    "      employee_value: EE\n"
    "      columns: {dep_first: first_name, dep_dob: {field: birth_date, "
    "date_format: \"%%m/%%d/%%Y\"}, rel: relationship}\n";

static const char header[] = "employee_id,rel,email,first_name,last_name,"
                             "work_email,hire_date,status,dep_first,dep_dob\n";

struct fx {
	char dir[64];
	char db[128];
	char cfgpath[128];
	char csv[128];
	struct store *st;
	int64_t tenant;
	struct cfg *cfg;
	struct hris_config *hc;
	const struct hris_mapping *m;
	struct hris_report r;
	hris_progress_fn progress; /* passed to the next imports */
	bool load_in_tx;
	bool renamed;
};

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

/* Load a configuration text; returns the cfg (errors in c->errors). */
static struct cfg *
load_cfg(struct fx *fx, const char *text, struct hris_config **hc)
{
	char *cause = NULL;
	struct cfg *c;

	write_file(fx->cfgpath, text);
	c = cfg_load(fx->cfgpath, &cause);
	assert_null(cause);
	assert_non_null(c);
	*hc = hris_config_load(c);
	assert_non_null(*hc);
	return c;
}

static void
fx_mapping(struct fx *fx, bool full_file)
{
	char *text = xasprintf(base_cfg, full_file ? "true" : "false");

	hris_config_free(fx->hc);
	cfg_free(fx->cfg);
	fx->cfg = load_cfg(fx, text, &fx->hc);
	free(text);
	assert_int_equal(fx->cfg->nerrors, 0);
	fx->m = hris_mapping_find(fx->hc, "workday");
	assert_non_null(fx->m);
}

static int
setup(void **state)
{
	struct fx *fx = xcalloc(1, sizeof(*fx));
	struct store_tenant t;
	char *cause = NULL;

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/rosterd-hris-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->db, sizeof(fx->db), "%s/rosterd.db", fx->dir);
	snprintf(fx->cfgpath, sizeof(fx->cfgpath), "%s/rosterd.yaml", fx->dir);
	snprintf(fx->csv, sizeof(fx->csv), "%s/export.csv", fx->dir);
	fx->st = store_open(fx->db, &cause);
	assert_null(cause);
	assert_non_null(fx->st);
	assert_int_equal(store_tenant_create(fx->st, "acme", &t), STORE_OK);
	fx->tenant = t.id;
	store_tenant_clear(&t);
	fx_mapping(fx, false);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;
	char p[160];

	hris_report_clear(&fx->r);
	hris_config_free(fx->hc);
	cfg_free(fx->cfg);
	store_close(fx->st);
	unlink(fx->db);
	snprintf(p, sizeof(p), "%s-wal", fx->db);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", fx->db);
	unlink(p);
	unlink(fx->cfgpath);
	unlink(fx->csv);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* Import header + rows; opts may set dry_run, allow_partial, force. */
static int
import_ex(struct fx *fx, const char *rows, bool allow_partial, bool force,
          bool dry_run)
{
	struct hris_opts o;
	struct buf b;

	buf_init(&b, 0);
	buf_addstr(&b, header);
	buf_addstr(&b, rows);
	write_file(fx->csv, buf_str(&b));
	buf_free(&b);
	hris_report_clear(&fx->r);
	memset(&o, 0, sizeof(o));
	o.path = fx->csv;
	o.tenant_id = fx->tenant;
	o.map = fx->m;
	o.allow_partial = allow_partial;
	o.force = force;
	o.dry_run = dry_run;
	o.as_of = "2026-03-31";
	o.progress = fx->progress;
	o.progress_arg = fx;
	o.load_in_tx = fx->load_in_tx;
	return hris_import(fx->st, &o, &fx->r);
}

static int
import(struct fx *fx, const char *rows)
{
	return import_ex(fx, rows, false, false, false);
}

/* The stored doc of the person with this externalId, or NULL. */
static json_t *
person(struct fx *fx, const char *ext, int64_t *version)
{
	struct store_res res;
	json_t *doc;

	memset(&res, 0, sizeof(res));
	if (store_hris_res_by_external(fx->st, fx->tenant, ext, &res) !=
	    STORE_OK)
		return NULL;
	doc = json_loads(res.doc, 0, NULL);
	assert_non_null(doc);
	if (version != NULL)
		*version = res.version;
	assert_int_equal(res.active,
	                 json_is_false(json_object_get(doc, "active")) ? 0 : 1);
	store_res_clear(&res);
	return doc;
}

static const char *
jstr(json_t *doc, const char *path)
{
	char *p = xstrdup(path), *dot, *s = p;
	json_t *v = doc;

	while ((dot = strchr(s, '/')) != NULL) {
		*dot = '\0';
		v = json_object_get(v, s);
		s = dot + 1;
	}
	v = json_object_get(v, s);
	free(p);
	return json_string_value(v);
}

static int64_t
peek_int(struct fx *fx, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v;

	assert_int_equal(
	    sqlite3_open_v2(fx->db, &db, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static char *
err_text(const struct hris_report *r, size_t i)
{
	struct buf b;

	assert_true(i < r->nkept);
	buf_init(&b, 0);
	hris_error_format(&r->errors[i], &b);
	return buf_detach(&b);
}

static void
assert_error(const struct hris_report *r, size_t i, const char *want)
{
	char *got = err_text(r, i);

	assert_string_equal(got, want);
	free(got);
}

#define ROW_E1 "E1,EE,ann@x.com,Ann,Lee,ann@corp.com,01/02/2020,A,,\n"
#define ROW_E2 "E2,EE,bob@x.com,Bob,Ray,bob@corp.com,12/31/2019,L,,\n"
#define ROW_E3 "E3,EE,cy@x.com,Cy,Wu,,02/29/2024,A,,\n"

/*--- Mappings ---*/

static void
test_mapping_resolved(void **state)
{
	struct fx *fx = *state;
	const struct hris_mapping *m = fx->m;

	assert_int_equal(m->ncols, 7); /* + the implicit externalId */
	assert_true(m->cols[0].is_key);
	assert_string_equal(m->cols[0].column, "employee_id");
	assert_string_equal(m->cols[4].path, "emails[type eq \"work\"].value");
	assert_string_equal(m->cols[4].remove_path, "emails[type eq \"work\"]");
	assert_string_equal(m->cols[5].path, ELIG ":hireDate");
	assert_true(m->maps_username);
	assert_false(m->maps_active);
	assert_ptr_equal(m->status, &m->cols[6]);
	assert_true(m->dependents);
	assert_int_equal(m->ndcols, 3);
	assert_int_equal(m->delim, ',');
}

/* Load text and expect exactly one error line equal to want. */
static void
expect_cfg_error(struct fx *fx, const char *text, const char *want)
{
	struct hris_config *hc;
	struct cfg *c = load_cfg(fx, text, &hc);
	char *line;

	line = xasprintf("%s:%s\n", fx->cfgpath, want);
	assert_string_equal(buf_str(&c->errors), line);
	assert_int_equal(c->nerrors, 1);
	free(line);
	hris_config_free(hc);
	cfg_free(c);
}

static void
test_mapping_errors(void **state)
{
	struct fx *fx = *state;

	expect_cfg_error(fx,
	                 "mappings:\n"
	                 "  m:\n"
	                 "    key: id\n"
	                 "    columns:\n"
	                 "      hd: eligibility:hiredate\n"
	                 "      x: name.nickname\n",
	                 "6:10: mappings.m.columns.x: cannot map to "
	                 "\"name.nickname\": invalid path at position 1: "
	                 "unknown attribute 'name.nickname'");
	expect_cfg_error(fx,
	                 "mappings:\n"
	                 "  m:\n"
	                 "    columns:\n"
	                 "      id: externalId\n",
	                 "3:5: mappings.m: key: required: the CSV column "
	                 "holding the employee id (stored as externalId)");
	expect_cfg_error(fx,
	                 "mappings:\n"
	                 "  m:\n"
	                 "    key: id\n"
	                 "    columns:\n"
	                 "      hd: {attribute: eligibility:hireDate, "
	                 "date_format: \"%d/%m/%H\"}\n",
	                 "5:59: mappings.m.columns.hd.date_format: "
	                 "\"%d/%m/%H\": unsupported conversion (use %Y %y %m "
	                 "%d %e %b %B %%)");
	expect_cfg_error(fx,
	                 "mappings:\n"
	                 "  m:\n"
	                 "    key: id\n"
	                 "    columns:\n"
	                 "      hd: {attribute: eligibility:hireDate, "
	                 "date_format: \"%m/%Y\"}\n",
	                 "5:59: mappings.m.columns.hd.date_format: \"%m/%Y\": "
	                 "needs exactly one year (%Y or %y), month (%m, %b or "
	                 "%B) and day (%d or %e)");
}

static void
test_mapping_attribute_rules(void **state)
{
	struct fx *fx = *state;

	expect_cfg_error(fx,
	                 "mappings:\n  m:\n    key: id\n    columns:\n"
	                 "      e: emails.value\n",
	                 "5:10: mappings.m.columns.e: attribute "
	                 "\"emails.value\" is multi-valued: pick one value "
	                 "with a filter, e.g. emails[type eq \"work\"].value");
	expect_cfg_error(fx,
	                 "mappings:\n  m:\n    key: id\n    columns:\n"
	                 "      n: name\n",
	                 "5:10: mappings.m.columns.n: attribute \"name\" is "
	                 "complex: map one of its sub-attributes, e.g. "
	                 "name.formatted");
	expect_cfg_error(fx,
	                 "mappings:\n  m:\n    key: id\n    columns:\n"
	                 "      g: meta.created\n",
	                 "5:10: mappings.m.columns.g: attribute "
	                 "\"meta.created\" is read-only");
	expect_cfg_error(fx,
	                 "mappings:\n  m:\n    key: id\n    columns:\n"
	                 "      s: {attribute: eligibility:employmentStatus, "
	                 "map: {A: active, X: gone}}\n",
	                 "5:72: mappings.m.columns.s: map value for \"X\": "
	                 "\"gone\" is not one of active, leave, terminated, "
	                 "retired");
	expect_cfg_error(fx,
	                 "mappings:\n  m:\n    key: id\n    columns:\n"
	                 "      a: userName\n      b: username\n",
	                 "6:10: mappings.m.columns.b: attribute \"username\" "
	                 "is already mapped from column \"a\"");
	expect_cfg_error(fx,
	                 "mappings:\n  m:\n    key: id\n    columns:\n"
	                 "      other: externalId\n",
	                 "5:7: mappings.m.columns: externalId comes from the "
	                 "key column \"id\", not from \"other\"");
	expect_cfg_error(
	    fx,
	    "mappings:\n  m:\n    key: id\n    delimiter: \"\\\"\"\n"
	    "    columns:\n      u: userName\n",
	    "4:17: mappings.m.delimiter: expected one character "
	    "such as \",\", \"|\", \";\" or \"tab\"");
}

static void
test_mapping_dependents_errors(void **state)
{
	struct fx *fx = *state;

	expect_cfg_error(fx,
	                 "mappings:\n  m:\n    key: id\n    columns:\n"
	                 "      u: userName\n"
	                 "    dependents:\n"
	                 "      relationship_column: rel\n"
	                 "      employee_value: EE\n"
	                 "      columns: {f: first_name}\n",
	                 "9:17: mappings.m.dependents.columns: dependents "
	                 "need an id column, or first_name and birth_date "
	                 "columns, to tell them apart");
	expect_cfg_error(fx,
	                 "mappings:\n  m:\n    key: id\n    columns:\n"
	                 "      u: userName\n"
	                 "    dependents:\n"
	                 "      relationship_column: rel\n"
	                 "      employee_value: EE\n"
	                 "      columns: {i: id, s: ssn}\n",
	                 "9:27: mappings.m.dependents.columns.s: expected a "
	                 "dependent field: id, relationship, first_name, "
	                 "middle_name, last_name, birth_date or gender");
}

static void
test_mapping_prefixes_and_lists(void **state)
{
	struct fx *fx = *state;
	struct hris_config *hc;
	const struct hris_mapping *m;
	struct cfg *c;

	c = load_cfg(fx,
	             "mappings:\n"
	             "  m:\n"
	             "    key: id\n"
	             "    delimiter: tab\n"
	             "    columns:\n"
	             "      dept: enterprise:department\n"
	             "      st:\n"
	             "        - {attribute: eligibility:employmentStatus, map: "
	             "{A: active, T: terminated}}\n"
	             "        - {attribute: active, map: {A: \"true\", T: "
	             "\"no\"}}\n",
	             &hc);
	assert_string_equal(buf_str(&c->errors), "");
	m = hris_mapping_find(hc, "m");
	assert_non_null(m);
	assert_int_equal(m->delim, '\t');
	assert_int_equal(m->ncols, 4);
	assert_string_equal(
	    m->cols[1].path,
	    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"
	    "department");
	assert_true(m->maps_active);
	assert_null(hris_mapping_find(hc, "nope"));
	hris_config_free(hc);
	cfg_free(c);
}

static void
test_dates(void **state)
{
	char out[11];

	assert_int_equal(hris_date_parse("%m/%d/%Y", "1/2/2020", out), 0);
	assert_string_equal(out, "2020-01-02");
	assert_int_equal(hris_date_parse("%d.%m.%y", "31.12.99", out), 0);
	assert_string_equal(out, "1999-12-31");
	assert_int_equal(hris_date_parse("%d.%m.%y", "01.01.24", out), 0);
	assert_string_equal(out, "2024-01-01");
	assert_int_equal(hris_date_parse("%b %e %Y", "Feb  9 2021", out), 0);
	assert_string_equal(out, "2021-02-09");
	assert_int_equal(hris_date_parse("%d %B %Y", "4 july 1990", out), 0);
	assert_string_equal(out, "1990-07-04");
	assert_int_equal(hris_date_parse("%m/%d/%Y", "02/29/2024", out), 0);
	assert_int_equal(hris_date_parse("%m/%d/%Y", "02/29/2023", out), -1);
	assert_int_equal(hris_date_parse("%m/%d/%Y", "02/30/2020", out), -1);
	assert_int_equal(hris_date_parse("%m/%d/%Y", "13/45/2020", out), -1);
	assert_int_equal(hris_date_parse("%m/%d/%Y", "01/02/2020x", out), -1);
	assert_int_equal(hris_date_parse("%m/%d/%Y", "01/02/20", out), -1);
	assert_int_equal(hris_date_parse("%Y-%m-%d", "2020-1-2", out), 0);
	assert_int_equal(hris_date_parse("%Y-%m-%d", "", out), -1);
}

static void
test_cell_values(void **state)
{
	struct fx *fx = *state;
	const struct hris_mapping *m = fx->m;
	struct hris_value v;
	struct buf err;

	buf_init(&err, 0);
	assert_int_equal(hris_cell_value(&m->cols[6], "T", 1, &v, &err), 0);
	assert_int_equal(v.kind, HRIS_V_STRING);
	assert_string_equal(v.s, "terminated");
	assert_int_equal(hris_cell_value(&m->cols[6], "a", 1, &v, &err), 0);
	assert_string_equal(v.s, "active"); /* the map ignores case last */
	assert_int_equal(hris_cell_value(&m->cols[6], "Q", 1, &v, &err), -1);
	assert_string_equal(buf_str(&err),
	                    "\"Q\" is not in the value map (A, L, T)");
	buf_reset(&err);
	assert_int_equal(
	    hris_cell_value(&m->cols[5], "13/45/2020", 10, &v, &err), -1);
	assert_string_equal(buf_str(&err),
	                    "\"13/45/2020\" is not a date in %m/%d/%Y");
	assert_int_equal(hris_cell_value(&m->cols[5], "", 0, &v, &err), 0);
	assert_int_equal(v.kind, HRIS_V_NONE);
	/* Latin-1 "José": an error of the cell, naming the byte only. */
	buf_reset(&err);
	assert_int_equal(hris_cell_value(&m->cols[1], "Jos\xe9", 4, &v, &err),
	                 -1);
	assert_string_equal(buf_str(&err),
	                    "not valid UTF-8 (byte 0xe9 at position 4 of the "
	                    "cell); save the export as UTF-8");
	buf_reset(&err);
	assert_int_equal(
	    hris_cell_value(&m->cols[1], "Jos\xc3\xa9", 5, &v, &err), 0);
	buf_free(&err);
}

/*--- Import ---*/

static void
test_import_creates(void **state)
{
	struct fx *fx = *state;
	int64_t v;
	json_t *d;

	assert_int_equal(import(fx, ROW_E1 ROW_E2 ROW_E3), 0);
	assert_int_equal(fx->r.status, STORE_HRIS_APPLIED);
	assert_true(fx->r.applied);
	assert_int_equal(fx->r.rows, 3);
	assert_int_equal(fx->r.created, 3);
	assert_int_equal(fx->r.nerrors, 0);
	d = person(fx, "E1", &v);
	assert_non_null(d);
	assert_int_equal(v, 1);
	assert_string_equal(jstr(d, "userName"), "ann@x.com");
	assert_string_equal(jstr(d, "externalId"), "E1");
	assert_string_equal(jstr(d, "name/givenName"), "Ann");
	assert_string_equal(jstr(d, ELIG "/hireDate"), "2020-01-02");
	assert_string_equal(jstr(d, ELIG "/employmentStatus"), "active");
	assert_true(json_is_true(json_object_get(d, "active")));
	assert_string_equal(
	    json_string_value(json_object_get(
	        json_array_get(json_object_get(d, "emails"), 0), "value")),
	    "ann@corp.com");
	json_decref(d);
	d = person(fx, "E3", NULL);
	assert_null(json_object_get(d, "emails"));
	assert_string_equal(jstr(d, ELIG "/hireDate"), "2024-02-29");
	json_decref(d);
	/* Imported changes are in the SCIM history, with their source. */
	assert_int_equal(peek_int(fx, "SELECT count(*) FROM history WHERE "
	                              "source = 'hris' AND op = 'create'"),
	                 3);
	assert_int_equal(peek_int(fx,
	                          "SELECT count(*) FROM import_runs "
	                          "WHERE status = 'applied' AND created = 3"),
	                 1);
}

static void
test_import_unchanged_and_updated(void **state)
{
	struct fx *fx = *state;
	int64_t v;
	json_t *d;

	assert_int_equal(import(fx, ROW_E1 ROW_E2 ROW_E3), 0);
	assert_int_equal(import(fx, ROW_E1 ROW_E2 ROW_E3), 0);
	assert_int_equal(fx->r.unchanged, 3);
	assert_int_equal(fx->r.created + fx->r.updated, 0);
	assert_int_equal(peek_int(fx, "SELECT count(*) FROM history"), 3);
	/* Bob's last name changes, his work email is emptied. */
	assert_int_equal(
	    import(fx,
	           ROW_E1 "E2,EE,bob@x.com,Bob,Roy,,12/31/2019,L,,\n" ROW_E3),
	    0);
	assert_int_equal(fx->r.updated, 1);
	assert_int_equal(fx->r.unchanged, 2);
	d = person(fx, "E2", &v);
	assert_int_equal(v, 2);
	assert_string_equal(jstr(d, "name/familyName"), "Roy");
	assert_null(json_object_get(d, "emails"));
	assert_true(json_is_true(json_object_get(d, "active")));
	json_decref(d);
	assert_int_equal(peek_int(fx, "SELECT count(*) FROM history WHERE "
	                              "op = 'update' AND source = 'hris'"),
	                 1);
	/* Status T makes the person inactive (active is not mapped). */
	assert_int_equal(
	    import(fx,
	           ROW_E1 "E2,EE,bob@x.com,Bob,Roy,,12/31/2019,T,,\n" ROW_E3),
	    0);
	d = person(fx, "E2", NULL);
	assert_true(json_is_false(json_object_get(d, "active")));
	assert_string_equal(jstr(d, ELIG "/employmentStatus"), "terminated");
	json_decref(d);
}

static void
test_import_reapplies_after_scim_change(void **state)
{
	struct fx *fx = *state;
	struct store_actor scim = {.source = "scim"};
	struct store_res res;
	json_t *d;

	assert_int_equal(import(fx, ROW_E1 ROW_E2), 0);
	/* A SCIM client renames Ann behind the importer's back. */
	memset(&res, 0, sizeof(res));
	assert_int_equal(
	    store_hris_res_by_external(fx->st, fx->tenant, "E1", &res),
	    STORE_OK);
	free(res.doc);
	res.doc = xstrdup("{\"userName\":\"ann@x.com\",\"externalId\":\"E1\","
	                  "\"name\":{\"givenName\":\"Annie\"}}");
	assert_int_equal(store_res_update(fx->st, &res, &scim, NULL), STORE_OK);
	store_res_clear(&res);
	/* The same file again: the row hash matches, the history does not. */
	assert_int_equal(import(fx, ROW_E1 ROW_E2), 0);
	assert_int_equal(fx->r.updated, 1);
	assert_int_equal(fx->r.unchanged, 1);
	d = person(fx, "E1", NULL);
	assert_string_equal(jstr(d, "name/givenName"), "Ann");
	json_decref(d);
}

/* A User made over SCIM with this externalId and userName. */
static void
scim_user(struct fx *fx, const char *ext, const char *user)
{
	struct store_actor scim = {.source = "scim"};
	struct store_res res;
	char id[40];

	memset(&res, 0, sizeof(res));
	store_uuid(id, sizeof(id));
	res.tenant_id = fx->tenant;
	res.type = STORE_USER;
	res.id = xstrdup(id);
	res.name = xstrdup(user);
	res.external_id = xstrdup(ext);
	res.active = 1;
	res.doc = xasprintf("{\"userName\":\"%s\",\"externalId\":\"%s\","
	                    "\"title\":\"CTO\"}",
	                    user, ext);
	res.created = xstrdup("2026-01-01T00:00:00.000Z");
	res.modified = xstrdup("2026-01-01T00:00:00.000Z");
	assert_int_equal(store_res_insert(fx->st, &res, &scim), STORE_OK);
	store_res_clear(&res);
}

/*
 * More unknown ids than HRIS_SCAN_UNKNOWN (10000): people SCIM created are
 * found by one scan rather than a lookup each, with the same outcome.
 */
static void
test_import_scan_finds_scim_people(void **state)
{
	struct fx *fx = *state;
	struct buf rows;
	json_t *d;
	int i;

	scim_user(fx, "E5", "p5@x.com");
	scim_user(fx, "E10007", "p10007@x.com");
	scim_user(fx, "E77", "a77@x.com");
	scim_user(fx, "E77", "b77@x.com");
	buf_init(&rows, 0);
	for (i = 1; i <= 10010; i++)
		buf_addf(&rows, "E%d,EE,p%d@x.com,P,Q,,01/02/2020,A,,\n", i, i);
	/* Two people share E77: found by the scan, its row is an error. */
	assert_int_equal(import_ex(fx, buf_str(&rows), true, false, false), 0);
	assert_int_equal(fx->r.status, STORE_HRIS_PARTIAL);
	assert_int_equal(fx->r.created, 10007);
	assert_int_equal(fx->r.updated, 2);
	assert_int_equal(fx->r.nerrors, 1);
	assert_error(&fx->r, 0,
	             "row 78, column 1 (employee_id): several people of the "
	             "tenant have externalId \"E77\"");
	d = person(fx, "E10007", NULL);
	assert_string_equal(jstr(d, "title"), "CTO");
	assert_string_equal(jstr(d, "name/familyName"), "Q");
	json_decref(d);
	assert_int_equal(peek_int(fx, "SELECT count(*) FROM resources"), 10011);
	/* Again: now E77 alone is unknown and is looked up on its own. */
	assert_int_equal(import(fx, buf_str(&rows)), 1);
	assert_int_equal(fx->r.nerrors, 1);
	assert_error(&fx->r, 0,
	             "row 78, column 1 (employee_id): several people of the "
	             "tenant have externalId \"E77\"");
	buf_free(&rows);
}

/*
 * After the scan, whoever it did not meet is created without a lookup of
 * their own: externalIds match exactly, as the lookup's would (SCIM's
 * "e5" is not the file's "E5"), and a second import finds them all.
 */
static void
test_import_scan_unmet_are_new(void **state)
{
	struct fx *fx = *state;
	struct buf rows;
	json_t *d;
	int i;

	scim_user(fx, "e5", "lower5@x.com");
	scim_user(fx, "E9", "p9-scim@x.com");
	buf_init(&rows, 0);
	for (i = 1; i <= 10010; i++)
		buf_addf(&rows, "E%d,EE,p%d@x.com,P,Q,,01/02/2020,A,,\n", i, i);
	assert_int_equal(import(fx, buf_str(&rows)), 0);
	assert_int_equal(fx->r.created, 10009);
	assert_int_equal(fx->r.updated, 1);
	assert_int_equal(peek_int(fx, "SELECT count(*) FROM resources"), 10011);
	d = person(fx, "e5", NULL);
	assert_string_equal(jstr(d, "userName"), "lower5@x.com");
	json_decref(d);
	d = person(fx, "E5", NULL);
	assert_string_equal(jstr(d, "userName"), "p5@x.com");
	json_decref(d);
	assert_int_equal(import(fx, buf_str(&rows)), 0);
	assert_int_equal(fx->r.created, 0);
	assert_int_equal(fx->r.unchanged, 10010);
	buf_free(&rows);
}

static void
test_import_updates_scim_created_person(void **state)
{
	struct fx *fx = *state;
	struct store_actor scim = {.source = "scim"};
	struct store_res res;
	int64_t v;
	json_t *d;

	memset(&res, 0, sizeof(res));
	res.tenant_id = fx->tenant;
	res.type = STORE_USER;
	res.id = xstrdup("2b1c0e0e-0000-4000-8000-000000000001");
	res.name = xstrdup("ann@x.com");
	res.external_id = xstrdup("E1");
	res.active = 1;
	res.doc = xstrdup("{\"userName\":\"ann@x.com\",\"externalId\":\"E1\","
	                  "\"title\":\"CTO\"}");
	res.created = xstrdup("2026-01-01T00:00:00.000Z");
	res.modified = xstrdup("2026-01-01T00:00:00.000Z");
	assert_int_equal(store_res_insert(fx->st, &res, &scim), STORE_OK);
	store_res_clear(&res);
	assert_int_equal(import(fx, ROW_E1), 0);
	assert_int_equal(fx->r.created, 0);
	assert_int_equal(fx->r.updated, 1);
	d = person(fx, "E1", &v);
	assert_int_equal(v, 2);
	assert_string_equal(jstr(d, "title"), "CTO"); /* kept: not mapped */
	assert_string_equal(jstr(d, "name/familyName"), "Lee");
	json_decref(d);
}

struct deps {
	char text[512];
	int n;
};

static int
dep_cb(const struct store_hris_dependent *d, void *arg)
{
	struct deps *ds = arg;
	size_t len = strlen(ds->text);

	snprintf(ds->text + len, sizeof(ds->text) - len, "%s/%s/%s;",
	         d->relationship, d->first_name,
	         d->birth_date != NULL ? d->birth_date : "-");
	ds->n++;
	return 0;
}

static void
deps_of(struct fx *fx, const char *ext, struct deps *ds)
{
	struct store_res res;

	memset(ds, 0, sizeof(*ds));
	memset(&res, 0, sizeof(res));
	assert_int_equal(
	    store_hris_res_by_external(fx->st, fx->tenant, ext, &res),
	    STORE_OK);
	assert_int_equal(
	    store_hris_dep_walk(fx->st, fx->tenant, res.rid, dep_cb, ds),
	    STORE_OK);
	store_res_clear(&res);
}

static void
test_import_dependents(void **state)
{
	struct fx *fx = *state;
	struct deps ds;

	/* Dependents may come before their employee's row. */
	assert_int_equal(import(fx, "E1,SP,,,,,,,Max,03/04/1985\n" ROW_E1
	                            "E1,CH,,,,,,,Mia,05/06/2015\n" ROW_E2),
	                 0);
	assert_int_equal(fx->r.dependent_rows, 2);
	assert_int_equal(fx->r.dep_added, 2);
	deps_of(fx, "E1", &ds);
	assert_string_equal(ds.text, "SP/Max/1985-03-04;CH/Mia/2015-05-06;");
	deps_of(fx, "E2", &ds);
	assert_int_equal(ds.n, 0);
	/* Same dependents in another order: nothing to do. */
	assert_int_equal(import(fx,
	                        ROW_E1 "E1,CH,,,,,,,Mia,05/06/2015\n"
	                               "E1,SP,,,,,,,Max,03/04/1985\n" ROW_E2),
	                 0);
	assert_int_equal(fx->r.unchanged, 2);
	assert_int_equal(fx->r.dep_added + fx->r.dep_removed, 0);
	/* Max leaves, a second child arrives. */
	assert_int_equal(import(fx,
	                        ROW_E1 "E1,CH,,,,,,,Mia,05/06/2015\n"
	                               "E1,CH,,,,,,,Leo,07/08/2020\n" ROW_E2),
	                 0);
	assert_int_equal(fx->r.dep_added, 1);
	assert_int_equal(fx->r.dep_removed, 1);
	assert_int_equal(fx->r.unchanged, 2); /* the person did not change */
	deps_of(fx, "E1", &ds);
	assert_string_equal(ds.text, "CH/Mia/2015-05-06;CH/Leo/2020-07-08;");
}

static void
test_import_dependent_errors(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(import(fx, ROW_E1 "E1,CH,,,,,,,Mia,05/06/2015\n"
	                                   "E1,CH,,,,,,,mia,05/06/2015\n"
	                                   "E9,SP,,,,,,,Zed,01/01/1990\n"
	                                   "E1,CH,,,,,,,Bo,\n"),
	                 1);
	assert_int_equal(fx->r.nerrors, 3);
	assert_error(&fx->r, 0,
	             "row 4, column 1 (employee_id): duplicate dependent of "
	             "employee \"E1\" (first seen on row 3)");
	assert_error(&fx->r, 1,
	             "row 5, column 1 (employee_id): dependent of employee "
	             "\"E9\", who has no row with rel EE in this file");
	assert_error(&fx->r, 2,
	             "row 6, column 1 (employee_id): dependent needs a first "
	             "name and a birth date");
}

static void
test_import_bad_rows_roll_back(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(import(fx, ROW_E1
	                        "E2,EE,bob@x.com,Bob,Ray,,13/45/2020,A,,\n"
	                        "E1,EE,ann2@x.com,Ann,Lee,,01/02/2020,A,,\n"
	                        ",EE,x@x.com,X,Y,,01/02/2020,A,,\n"
	                        "E4,EE,d@x.com,D,E,,01/02/2020,Q,,\n"
	                        "E5,EE,e@x.com\n"),
	                 1);
	assert_int_equal(fx->r.status, STORE_HRIS_REJECTED);
	assert_false(fx->r.applied);
	assert_int_equal(fx->r.nerrors, 5);
	assert_error(&fx->r, 0,
	             "row 3, column 7 (hire_date): \"13/45/2020\" is not a "
	             "date in %m/%d/%Y");
	assert_error(&fx->r, 1,
	             "row 4, column 1 (employee_id): duplicate employee id "
	             "\"E1\" (first seen on row 2)");
	assert_error(&fx->r, 2,
	             "row 5, column 1 (employee_id): empty "
	             "employee id");
	assert_error(&fx->r, 3,
	             "row 6, column 8 (status): \"Q\" is not in the value "
	             "map (A, L, T)");
	assert_error(&fx->r, 4,
	             "row 7, column 4 (first_name): expected 10 fields, "
	             "found 3");
	/* Nothing was applied: not even the good row. */
	assert_null(person(fx, "E1", NULL));
	assert_int_equal(peek_int(fx, "SELECT count(*) FROM resources"), 0);
	assert_int_equal(peek_int(fx, "SELECT count(*) FROM import_runs WHERE "
	                              "status = 'rejected' AND errors = 5"),
	                 1);
}

static void
test_import_allow_partial(void **state)
{
	struct fx *fx = *state;
	json_t *d;

	assert_int_equal(import_ex(fx,
	                           ROW_E1 "E2,EE,bob@x.com,Bob,Ray,,13/45/2020,"
	                                  "A,,\n" ROW_E3,
	                           true, false, false),
	                 0);
	assert_int_equal(fx->r.status, STORE_HRIS_PARTIAL);
	assert_int_equal(fx->r.created, 2);
	assert_int_equal(fx->r.nerrors, 1);
	assert_null(person(fx, "E2", NULL));
	d = person(fx, "E3", NULL);
	assert_non_null(d);
	json_decref(d);
}

static void
test_import_truncated_and_header(void **state)
{
	struct fx *fx = *state;
	struct hris_opts o;

	assert_int_equal(import(fx, ROW_E1 "E2,EE,bob@x.com,\"Bob"), 1);
	assert_int_equal(fx->r.nerrors, 1);
	assert_error(&fx->r, 0,
	             "row 3, column 4 (first_name): quoted field not closed: "
	             "the file ends inside it (truncated file?)");
	assert_null(person(fx, "E1", NULL));
	/* A missing column is named. */
	write_file(fx->csv, "employee_id,rel,email,first_name,last_name\n"
	                    "E1,EE,a@x.com,A,B\n");
	hris_report_clear(&fx->r);
	memset(&o, 0, sizeof(o));
	o.path = fx->csv;
	o.tenant_id = fx->tenant;
	o.map = fx->m;
	assert_int_equal(hris_import(fx->st, &o, &fx->r), 1);
	assert_int_equal(fx->r.nerrors, 5);
	assert_error(&fx->r, 0,
	             "missing column \"dep_dob\" (dependent birth_date)");
	assert_error(&fx->r, 2,
	             "missing column \"hire_date\" (mapped to "
	             "eligibility:hireDate)");
	assert_non_null(fx->r.fatal);
}

static void
test_import_username_conflict(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(import(fx, ROW_E1 "E2,EE,ANN@x.com,Bob,Ray,,"
	                                   "12/31/2019,L,,\n"),
	                 1);
	assert_int_equal(fx->r.status, STORE_HRIS_REJECTED);
	assert_error(&fx->r, 0,
	             "row 3, column 3 (email): userName \"ANN@x.com\" is "
	             "already taken by another person of the tenant");
	assert_int_equal(peek_int(fx, "SELECT count(*) FROM resources"), 0);
}

/*
 * The import writes without a savepoint per person (bulk mode): a row
 * refused by the userName index must leave no trace, and the rows around
 * it must be applied with their history.
 */
static void
test_import_conflict_partial(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(import_ex(fx,
	                           ROW_E1 "E2,EE,ANN@x.com,Bob,Ray,,"
	                                  "12/31/2019,L,,\n" ROW_E3,
	                           true, false, false),
	                 0);
	assert_int_equal(fx->r.status, STORE_HRIS_PARTIAL);
	assert_int_equal(fx->r.created, 2);
	assert_int_equal(peek_int(fx, "SELECT count(*) FROM resources"), 2);
	assert_int_equal(peek_int(fx, "SELECT count(*) FROM history"), 2);
	assert_int_equal(
	    peek_int(fx, "SELECT live FROM resource_counts WHERE type = 1"), 2);
	assert_null(person(fx, "E2", NULL));
	/* The next import, with the row fixed, creates E2. */
	assert_int_equal(import(fx, ROW_E1 ROW_E2 ROW_E3), 0);
	assert_int_equal(fx->r.created, 1);
	assert_int_equal(peek_int(fx, "SELECT count(*) FROM history"), 3);
}

static void
test_import_full_file(void **state)
{
	struct fx *fx = *state;
	int64_t v;
	json_t *d;

	fx_mapping(fx, true);
	assert_int_equal(import(fx, ROW_E1 ROW_E2 ROW_E3), 0);
	/* E2 is gone from the file: terminated, 1 of 3 is under 50%. */
	assert_int_equal(import(fx, ROW_E1 ROW_E3), 0);
	assert_int_equal(fx->r.terminated, 1);
	assert_int_equal(fx->r.roster, 3);
	d = person(fx, "E2", &v);
	assert_int_equal(v, 2);
	assert_true(json_is_false(json_object_get(d, "active")));
	assert_string_equal(jstr(d, ELIG "/employmentStatus"), "terminated");
	assert_string_equal(jstr(d, ELIG "/terminationDate"), "2026-03-31");
	json_decref(d);
	/* Already inactive: not terminated twice. */
	assert_int_equal(import(fx, ROW_E1 ROW_E3), 0);
	assert_int_equal(fx->r.terminated, 0);
	/* They come back: reinstated by their row. */
	assert_int_equal(import(fx, ROW_E1 ROW_E2 ROW_E3), 0);
	assert_int_equal(fx->r.updated, 1);
	d = person(fx, "E2", NULL);
	assert_true(json_is_true(json_object_get(d, "active")));
	json_decref(d);
}

static void
test_import_full_file_threshold(void **state)
{
	struct fx *fx = *state;
	json_t *d;

	fx_mapping(fx, true);
	assert_int_equal(import(fx, ROW_E1 ROW_E2 ROW_E3), 0);
	/* A truncated export: 2 of 3 missing, above 50%. */
	assert_int_equal(import(fx, ROW_E1), 1);
	assert_int_equal(fx->r.status, STORE_HRIS_REFUSED);
	assert_int_equal(fx->r.to_terminate, 2);
	assert_string_equal(fx->r.fatal,
	                    "full-file import would terminate 2 of 3 active "
	                    "people (66.7%), above max_terminate_percent 50 "
	                    "of mapping workday; check the file (truncated?) "
	                    "or rerun with --force");
	d = person(fx, "E2", NULL);
	assert_true(json_is_true(json_object_get(d, "active")));
	json_decref(d);
	assert_int_equal(peek_int(fx, "SELECT count(*) FROM import_runs "
	                              "WHERE status = 'refused'"),
	                 1);
	/* --force */
	assert_int_equal(import_ex(fx, ROW_E1, false, true, false), 0);
	assert_int_equal(fx->r.terminated, 2);
	/* Errors and --allow-partial: terminations are skipped. */
	assert_int_equal(import_ex(fx,
	                           "E2,EE,bob@x.com,Bob,Ray,,1/1/2020,X,,\n",
	                           true, false, false),
	                 0);
	assert_int_equal(fx->r.terminated, 0);
	assert_non_null(fx->r.warning);
}

static void
test_import_dry_run(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(import_ex(fx, ROW_E1 ROW_E2, false, false, true), 0);
	assert_int_equal(fx->r.created, 2);
	assert_false(fx->r.applied);
	assert_int_equal(fx->r.run_id, 0);
	assert_int_equal(peek_int(fx, "SELECT count(*) FROM resources"), 0);
	assert_int_equal(peek_int(fx, "SELECT count(*) FROM import_runs"), 0);
}

static void
test_import_not_a_file(void **state)
{
	struct fx *fx = *state;
	struct hris_opts o;

	memset(&o, 0, sizeof(o));
	o.path = fx->dir;
	o.tenant_id = fx->tenant;
	o.map = fx->m;
	assert_int_equal(hris_import(fx->st, &o, &fx->r), -1);
	assert_non_null(strstr(fx->r.fatal, "not a regular file"));
}

/*--- Loading ahead (import/hris_ahead.c) ---*/

/* Rename E1 over SCIM from a connection of its own, as another process. */
static void
rename_elsewhere(struct fx *fx, const char *given)
{
	struct store_actor scim = {.source = "scim"};
	struct store_res res;
	struct store *st2;
	char *cause = NULL;

	st2 = store_open(fx->db, &cause);
	assert_null(cause);
	assert_non_null(st2);
	memset(&res, 0, sizeof(res));
	assert_int_equal(
	    store_hris_res_by_external(st2, fx->tenant, "E1", &res), STORE_OK);
	free(res.doc);
	res.doc = xasprintf("{\"userName\":\"ann@x.com\",\"externalId\":\"E1\","
	                    "\"name\":{\"givenName\":\"%s\"}}",
	                    given);
	assert_int_equal(store_res_update(st2, &res, &scim, NULL), STORE_OK);
	store_res_clear(&res);
	store_close(st2);
}

static int
collect_person(const struct store_hris_person *p, void *arg)
{
	buf_addf(arg, "%s %lld %d %llx %llx\n", p->external_id,
	         (long long)p->rid, p->has_hash,
	         (unsigned long long)(p->has_hash ? p->row_hash : 0),
	         (unsigned long long)(p->has_hash ? p->dep_hash : 0));
	return 0;
}

static int
collect_ext(const char *ext, int64_t rid, void *arg)
{
	buf_addf(arg, "ext %s %lld\n", ext, (long long)rid);
	return 0;
}

/* The records read ahead are what the transaction reads itself. */
static void
test_ahead_matches_store(void **state)
{
	struct fx *fx = *state;
	struct hris_ahead *a;
	struct buf got, want;
	json_t *d;

	fx_mapping(fx, true);
	assert_int_equal(import(fx, ROW_E1 ROW_E2 ROW_E3), 0);
	scim_user(fx, "S1", "sam@x.com"); /* an externalId, no hashes */
	rename_elsewhere(fx, "Annie");    /* E1's hashes no longer hold */
	assert_non_null(a = hris_ahead_start(fx->st, fx->tenant, true));
	assert_int_equal(store_begin(fx->st), STORE_OK);
	assert_true(hris_ahead_valid(a, fx->st));
	assert_true(hris_ahead_has_ext(a));
	buf_init(&got, 0);
	buf_init(&want, 0);
	assert_int_equal(hris_ahead_people(a, collect_person, &got), STORE_OK);
	assert_int_equal(hris_ahead_external(a, collect_ext, &got), STORE_OK);
	assert_int_equal(store_hris_invalidate(fx->st, fx->tenant), STORE_OK);
	assert_int_equal(
	    store_hris_people_walk(fx->st, fx->tenant, collect_person, &want),
	    STORE_OK);
	assert_int_equal(
	    store_hris_external_walk(fx->st, fx->tenant, collect_ext, &want),
	    STORE_OK);
	assert_string_equal(buf_str(&got), buf_str(&want));
	assert_non_null(strstr(buf_str(&got), "E1 1 0 0 0\n"));
	assert_non_null(strstr(buf_str(&got), "ext S1 4\n"));
	assert_int_equal(store_rollback(fx->st), STORE_OK);
	hris_ahead_free(a);
	buf_free(&got);
	buf_free(&want);
	/* And the import that uses them puts Ann back. */
	assert_int_equal(import(fx, ROW_E1 ROW_E2 ROW_E3), 0);
	assert_int_equal(fx->r.load, HRIS_LOAD_AHEAD);
	assert_int_equal(fx->r.updated, 1);
	assert_int_equal(fx->r.unchanged, 2);
	d = person(fx, "E1", NULL);
	assert_string_equal(jstr(d, "name/givenName"), "Ann");
	json_decref(d);
}

/* A commit by anyone else after the start makes the records stale. */
static void
test_ahead_stale(void **state)
{
	struct fx *fx = *state;
	struct hris_ahead *a;

	assert_int_equal(import(fx, ROW_E1 ROW_E2), 0);
	assert_non_null(a = hris_ahead_start(fx->st, fx->tenant, false));
	rename_elsewhere(fx, "Annie");
	assert_int_equal(store_begin(fx->st), STORE_OK);
	assert_false(hris_ahead_valid(a, fx->st));
	assert_int_equal(store_rollback(fx->st), STORE_OK);
	hris_ahead_free(a);
	/* Nothing committed since: valid; the store's own writes count not. */
	assert_non_null(a = hris_ahead_start(fx->st, fx->tenant, false));
	assert_int_equal(store_begin(fx->st), STORE_OK);
	assert_int_equal(store_hris_invalidate(fx->st, fx->tenant), STORE_OK);
	assert_true(hris_ahead_valid(a, fx->st));
	assert_int_equal(store_rollback(fx->st), STORE_OK);
	hris_ahead_free(a);
}

/* While pass 1 runs, another process renames E1. */
static void
rename_while_validating(const char *phase, uint64_t done, uint64_t total,
                        void *arg)
{
	struct fx *fx = arg;

	if (strcmp(phase, "validating") == 0 && done == total && !fx->renamed) {
		fx->renamed = true;
		rename_elsewhere(fx, "Annie");
	}
}

/* The import falls back to loading in its transaction, same outcome. */
static void
test_import_load_stale(void **state)
{
	struct fx *fx = *state;
	json_t *d;

	assert_int_equal(import(fx, ROW_E1 ROW_E2), 0);
	assert_int_equal(fx->r.load, HRIS_LOAD_AHEAD);
	fx->progress = rename_while_validating;
	assert_int_equal(import(fx, ROW_E1 ROW_E2), 0);
	assert_true(fx->renamed);
	assert_int_equal(fx->r.load, HRIS_LOAD_STALE);
	assert_int_equal(fx->r.updated, 1);
	assert_int_equal(fx->r.unchanged, 1);
	d = person(fx, "E1", NULL);
	assert_string_equal(jstr(d, "name/givenName"), "Ann");
	json_decref(d);
	/* Without the second thread: the same, read in the transaction. */
	fx->progress = NULL;
	fx->load_in_tx = true;
	rename_elsewhere(fx, "Annie");
	assert_int_equal(import(fx, ROW_E1 ROW_E2), 0);
	assert_int_equal(fx->r.load, HRIS_LOAD_IN_TX);
	assert_int_equal(fx->r.updated, 1);
	assert_int_equal(fx->r.unchanged, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_mapping_resolved, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_mapping_errors, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_mapping_attribute_rules, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_mapping_dependents_errors,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mapping_prefixes_and_lists,
	                                    setup, teardown),
	    cmocka_unit_test(test_dates),
	    cmocka_unit_test_setup_teardown(test_cell_values, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_import_creates, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_import_unchanged_and_updated,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_import_reapplies_after_scim_change, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_import_updates_scim_created_person, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_import_scan_unmet_are_new,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_import_scan_finds_scim_people,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_import_dependents, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_import_dependent_errors, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_import_bad_rows_roll_back,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_import_conflict_partial, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_import_allow_partial, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_import_truncated_and_header,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_import_username_conflict,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_import_full_file, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_import_full_file_threshold,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_import_dry_run, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_import_not_a_file, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_ahead_matches_store, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_ahead_stale, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_import_load_stale, setup,
	                                    teardown),
	};

	log_init(LOG_LVL_WARN);
	xmalloc_setup_jansson();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
