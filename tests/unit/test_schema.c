/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* Unit tests for schema validation, path resolution and projection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "scim/schema.h"
#include "util/buf.h"

static json_t *
J(const char *s)
{
	json_error_t je;
	json_t *j = json_loads(s, 0, &je);

	if (j == NULL)
		fail_msg("bad test JSON: %s", je.text);
	return j;
}

static json_t *
norm(const char *in, const json_t *old, struct scim_err *e)
{
	json_t *j = J(in), *out;

	scim_err_init(e);
	out = scim_schema_normalize(scim_rtype_user(), j, old,
	                            old ? SCIM_NORM_REPLACE : SCIM_NORM_CREATE,
	                            e);
	json_decref(j);
	return out;
}

static void
assert_json(json_t *got, const char *want)
{
	json_t *w = J(want);

	if (!json_equal(got, w)) {
		char *g = json_dumps(got, JSON_COMPACT);

		print_error("got  %s\nwant %s\n", g, want);
		free(g);
		json_decref(w);
		fail();
	}
	json_decref(w);
}

static void
test_resolve(void **state)
{
	const struct scim_rtype *u = scim_rtype_user();
	struct scim_attrpath p;
	const char *s;

	s = "username";
	assert_int_equal(scim_attrpath_resolve(u, s, strlen(s), &p), 0);
	assert_string_equal(p.attr->name, "userName");
	assert_false(p.ext);
	s = "NAME.givenname";
	assert_int_equal(scim_attrpath_resolve(u, s, strlen(s), &p), 0);
	assert_string_equal(p.sub->name, "givenName");
	s = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"
	    "manager.value";
	assert_int_equal(scim_attrpath_resolve(u, s, strlen(s), &p), 0);
	assert_true(p.ext);
	assert_string_equal(p.attr->name, "manager");
	assert_string_equal(p.sub->name, "value");
	s = SCIM_URN_ELIGIBILITY;
	assert_int_equal(scim_attrpath_resolve(u, s, strlen(s), &p), 0);
	assert_null(p.attr);
	assert_true(p.ext);
	s = "urn:ietf:params:scim:schemas:core:2.0:User:userName";
	assert_int_equal(scim_attrpath_resolve(u, s, strlen(s), &p), 0);
	assert_string_equal(p.attr->name, "userName");
	s = "meta.lastModified";
	assert_int_equal(scim_attrpath_resolve(u, s, strlen(s), &p), 0);
	assert_null(p.schema);
	s = "nosuch";
	assert_int_equal(scim_attrpath_resolve(u, s, strlen(s), &p), -1);
	s = "userName.x";
	assert_int_equal(scim_attrpath_resolve(u, s, strlen(s), &p), -1);
	s = "employeeNumber"; /* extension attributes need their URN */
	assert_int_equal(scim_attrpath_resolve(u, s, strlen(s), &p), -1);
}

static void
test_normalize_create(void **state)
{
	struct scim_err e;
	json_t *d;

	d = norm("{\"schemas\":[\"" SCIM_URN_USER "\"],\"USERNAME\":\"a\","
	         "\"id\":\"x\",\"meta\":{\"version\":\"1\"},\"bogus\":1,"
	         "\"active\":\"True\",\"name\":{\"GivenName\":\"A\","
	         "\"nope\":2},\"emails\":[],\"password\":\"secret\","
	         "\"groups\":[{\"value\":\"g\"}],"
	         "\"" SCIM_URN_ENTERPRISE "\":{\"employeeNumber\":\"7\"}}",
	         NULL, &e);
	assert_non_null(d);
	assert_json(d, "{\"userName\":\"a\",\"active\":true,"
	               "\"name\":{\"givenName\":\"A\"},"
	               "\"" SCIM_URN_ENTERPRISE "\":{\"employeeNumber\":\"7\"},"
	               "\"schemas\":[\"" SCIM_URN_USER
	               "\",\"" SCIM_URN_ENTERPRISE "\"]}");
	json_decref(d);
}

static void
test_normalize_errors(void **state)
{
	struct scim_err e;

	assert_null(norm("{\"name\":{\"givenName\":\"x\"}}", NULL, &e));
	assert_int_equal(e.status, 400);
	assert_string_equal(e.scim_type, "invalidValue");
	assert_non_null(strstr(e.detail, "userName"));

	assert_null(norm("{\"userName\":\"\"}", NULL, &e));
	assert_string_equal(e.scim_type, "invalidValue");

	assert_null(norm("{\"userName\":5}", NULL, &e));
	assert_non_null(strstr(e.detail, "must be a string"));

	assert_null(
	    norm("{\"userName\":\"a\",\"active\":\"maybe\"}", NULL, &e));
	assert_non_null(strstr(e.detail, "active"));

	assert_null(
	    norm("{\"userName\":\"a\",\"emails\":[{\"value\":\"x\","
	         "\"primary\":true},{\"value\":\"y\",\"primary\":true}]}",
	         NULL, &e));
	assert_non_null(strstr(e.detail, "primary"));

	assert_null(
	    norm("{\"userName\":\"a\",\"name\":{\"givenName\":1}}", NULL, &e));
	assert_non_null(strstr(e.detail, "name.givenName"));

	assert_null(norm("{\"userName\":\"a\",\"" SCIM_URN_ELIGIBILITY
	                 "\":{\"birthDate\":\"1990-02-30\"}}",
	                 NULL, &e));
	assert_non_null(strstr(e.detail, "YYYY-MM-DD"));

	assert_null(norm("{\"userName\":\"a\",\"" SCIM_URN_ELIGIBILITY
	                 "\":{\"employmentStatus\":\"fired\"}}",
	                 NULL, &e));
	assert_non_null(strstr(e.detail, "employmentStatus"));

	assert_null(norm("{\"userName\":\"a\",\"schemas\":\"x\"}", NULL, &e));
	assert_string_equal(e.scim_type, "invalidSyntax");
}

static void
test_normalize_canonical_case(void **state)
{
	struct scim_err e;
	json_t *d;

	d = norm("{\"userName\":\"a\",\"" SCIM_URN_ELIGIBILITY
	         "\":{\"employmentstatus\":\"Terminated\","
	         "\"hireDate\":\"2024-02-29\"}}",
	         NULL, &e);
	assert_non_null(d);
	assert_json(json_object_get(d, SCIM_URN_ELIGIBILITY),
	            "{\"employmentStatus\":\"terminated\",\"hireDate\":\"2024-"
	            "02-29\"}");
	json_decref(d);
}

/* RFC 7643 §2.4: the same value is not kept twice, short list or long. */
static void
test_normalize_drops_repeats(void **state)
{
	struct scim_err e;
	struct buf b;
	json_t *d, *in, *members;

	(void)state;
	d = norm("{\"userName\":\"a\",\"emails\":["
	         "{\"value\":\"d@x\",\"type\":\"work\"},"
	         "{\"type\":\"work\",\"value\":\"d@x\"},"
	         "{\"value\":\"d@x\",\"type\":\"home\"}]}",
	         NULL, &e);
	assert_non_null(d);
	assert_json(json_object_get(d, "emails"),
	            "[{\"value\":\"d@x\",\"type\":\"work\"},"
	            "{\"value\":\"d@x\",\"type\":\"home\"}]");
	json_decref(d);

	/* A long list goes through the set: 40 values, each twice. */
	buf_init(&b, 0);
	buf_addstr(&b, "{\"displayName\":\"G\",\"members\":[");
	for (int i = 0; i < 80; i++)
		buf_addf(&b, "%s{\"value\":\"u%d\"}", i ? "," : "", i % 40);
	buf_addstr(&b, "]}");
	in = J(buf_str(&b));
	buf_free(&b);
	scim_err_init(&e);
	d = scim_schema_normalize(scim_rtype_group(), in, NULL,
	                          SCIM_NORM_CREATE, &e);
	assert_non_null(d);
	members = json_object_get(d, "members");
	assert_int_equal(json_array_size(members), 40);
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(members, 39), "value")),
	                    "u39");
	json_decref(d);
	json_decref(in);
}

static void
test_group_members_immutable(void **state)
{
	struct scim_err e;
	json_t *in = J("{\"displayName\":\"G\",\"members\":[{\"value\":\"u1\","
	               "\"display\":\"ignored\"}]}");
	json_t *d;

	scim_err_init(&e);
	d = scim_schema_normalize(scim_rtype_group(), in, NULL,
	                          SCIM_NORM_CREATE, &e);
	assert_non_null(d);
	assert_json(d,
	            "{\"displayName\":\"G\",\"members\":[{\"value\":\"u1\"}],"
	            "\"schemas\":[\"" SCIM_URN_GROUP "\"]}");
	json_decref(d);
	json_decref(in);
}

static void
test_project(void **state)
{
	json_t *r;

	r = J("{\"id\":\"1\",\"schemas\":[\"s\"],\"userName\":\"a\","
	      "\"name\":{\"givenName\":\"A\",\"familyName\":\"B\"},"
	      "\"emails\":[{\"value\":\"x\",\"type\":\"work\"}],"
	      "\"" SCIM_URN_ENTERPRISE "\":{\"department\":\"D\","
	      "\"costCenter\":\"C\"},\"meta\":{\"version\":\"W/\\\"1\\\"\"}}");
	scim_schema_project(
	    scim_rtype_user(), r,
	    "userName,name.familyName,emails.value,urn:ietf:params:scim:"
	    "schemas:extension:enterprise:2.0:User:department",
	    NULL);
	assert_json(r, "{\"id\":\"1\",\"schemas\":[\"s\"],\"userName\":\"a\","
	               "\"name\":{\"familyName\":\"B\"},"
	               "\"emails\":[{\"value\":\"x\"}],"
	               "\"" SCIM_URN_ENTERPRISE "\":{\"department\":\"D\"}}");
	json_decref(r);

	r = J("{\"id\":\"1\",\"userName\":\"a\",\"name\":{\"givenName\":\"A\"},"
	      "\"" SCIM_URN_ENTERPRISE "\":{\"department\":\"D\"}}");
	scim_schema_project(scim_rtype_user(), r, NULL,
	                    "name,id," SCIM_URN_ENTERPRISE);
	assert_json(r, "{\"id\":\"1\",\"userName\":\"a\"}");
	json_decref(r);
}

/* Elements and values left with no sub-attribute are not returned. */
static void
test_project_leaves_no_empty_values(void **state)
{
	json_t *r;

	r = J("{\"id\":\"1\",\"userName\":\"a\","
	      "\"name\":{\"familyName\":\"B\"},"
	      "\"emails\":[{\"type\":\"work\",\"primary\":true},"
	      "{\"value\":\"x\",\"type\":\"home\"}],"
	      "\"phoneNumbers\":[{\"type\":\"work\"}]}");
	scim_schema_project(scim_rtype_user(), r,
	                    "name.givenName,emails.value,phoneNumbers.value",
	                    NULL);
	assert_json(r, "{\"id\":\"1\",\"emails\":[{\"value\":\"x\"}]}");
	json_decref(r);

	r = J("{\"id\":\"1\",\"name\":{\"givenName\":\"A\"},"
	      "\"emails\":[{\"value\":\"x\"}]}");
	scim_schema_project(scim_rtype_user(), r, NULL,
	                    "name.givenName,emails.value");
	assert_json(r, "{\"id\":\"1\"}");
	json_decref(r);
}

static void
test_datetime(void **state)
{
	assert_true(scim_datetime_valid("2011-05-13T04:42:34Z"));
	assert_true(scim_datetime_valid("2011-05-13T04:42:34.123Z"));
	assert_true(scim_datetime_valid("2011-05-13T04:42:34+02:00"));
	assert_false(scim_datetime_valid("2011-05-13"));
	assert_false(scim_datetime_valid("2011-13-13T04:42:34Z"));
	assert_false(scim_datetime_valid("2011-05-13T04:42:34"));
	assert_false(scim_datetime_valid("2011-05-13T04:42:34Zjunk"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_resolve),
	    cmocka_unit_test(test_normalize_create),
	    cmocka_unit_test(test_normalize_errors),
	    cmocka_unit_test(test_normalize_canonical_case),
	    cmocka_unit_test(test_normalize_drops_repeats),
	    cmocka_unit_test(test_group_members_immutable),
	    cmocka_unit_test(test_project),
	    cmocka_unit_test(test_project_leaves_no_empty_values),
	    cmocka_unit_test(test_datetime),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
