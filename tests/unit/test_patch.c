/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* Unit tests for SCIM PATCH in src/scim/patch.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "scim/error.h"
#include "scim/patch.h"
#include "scim/schema.h"
#include "util/buf.h"

#define ENT "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
#define PATCHOP "urn:ietf:params:scim:api:messages:2.0:PatchOp"

/*
 * Test JSON is written with ' for " and ` for \" (a quote inside a JSON
 * string, as in filters) so bodies stay readable. The Entra ID and Okta
 * bodies below are plain C strings, byte for byte what the vendors
 * document.
 */
static json_t *
jraw(const char *s)
{
	json_error_t err;
	json_t *j;

	j = json_loads(s, JSON_DECODE_ANY, &err);
	if (j == NULL)
		fail_msg("bad test JSON (%s): %s", err.text, s);
	return j;
}

static json_t *
J(const char *s)
{
	struct buf b;
	json_t *j;

	buf_init(&b, 0);
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			buf_addch(&b, '"');
		else if (*s == '`')
			buf_addstr(&b, "\\\"");
		else
			buf_addch(&b, *s);
	}
	j = jraw(buf_str(&b));
	buf_free(&b);
	return j;
}

/* A PatchOp body around the operations array ops (J notation). */
static json_t *
ops(const char *arr)
{
	struct buf b;
	json_t *j;

	buf_init(&b, 0);
	buf_addf(&b, "{'schemas':['%s'],'Operations':%s}", PATCHOP, arr);
	j = J(buf_str(&b));
	buf_free(&b);
	return j;
}

static void
assert_json(const json_t *got, const json_t *want)
{
	char *g, *w;

	if (json_equal(got, want))
		return;
	g = json_dumps(got, JSON_SORT_KEYS | JSON_ENCODE_ANY);
	w = json_dumps(want, JSON_SORT_KEYS | JSON_ENCODE_ANY);
	print_error("got:  %s\nwant: %s\n", g, w);
	free(g);
	free(w);
	fail();
}

/* Apply body to doc; both are consumed. Expects success, compares doc. */
static void
check_ok(const struct scim_rtype *rt, json_t *doc, json_t *body,
         struct scim_patch_members *mem, const char *want)
{
	struct scim_err e;
	json_t *w;
	int rc;

	scim_err_init(&e);
	rc = scim_patch_apply(rt, doc, body, mem, &e);
	if (rc != 0)
		print_error("unexpected error %d %s: %s\n", e.status,
		            e.scim_type ? e.scim_type : "-", e.detail);
	assert_int_equal(rc, 0);
	assert_false(scim_err_isset(&e));
	w = J(want);
	assert_json(doc, w);
	json_decref(w);
	json_decref(doc);
	json_decref(body);
}

static void
user_ok(const char *doc, json_t *body, const char *want)
{
	check_ok(scim_rtype_user(), J(doc), body, NULL, want);
}

/*
 * Apply body to doc (both consumed) and expect a 400 of scimType type
 * whose detail contains detail.
 */
static void
check_err(const struct scim_rtype *rt, json_t *doc, json_t *body,
          struct scim_patch_members *mem, const char *type, const char *detail)
{
	struct scim_err e;
	int rc;

	scim_err_init(&e);
	rc = scim_patch_apply(rt, doc, body, mem, &e);
	assert_int_equal(rc, -1);
	assert_int_equal(e.status, 400);
	assert_non_null(e.scim_type);
	assert_string_equal(e.scim_type, type);
	if (strstr(e.detail, detail) == NULL)
		fail_msg("detail \"%s\" lacks \"%s\"", e.detail, detail);
	json_decref(doc);
	json_decref(body);
}

static void
user_err(const char *doc, json_t *body, const char *type, const char *detail)
{
	check_err(scim_rtype_user(), J(doc), body, NULL, type, detail);
}

#define U0 "{'userName':'bjensen'}"
#define U_EMAILS                                                               \
	"{'userName':'bjensen','emails':["                                     \
	"{'value':'b@work.example','type':'work','primary':true},"             \
	"{'value':'b@home.example','type':'home'}]}"

/*--- Body validation ---*/

static void
test_body_not_object(void **state)
{
	user_err(U0, J("[]"), "invalidSyntax", "JSON object");
}

static void
test_body_schemas_missing(void **state)
{
	user_err(U0,
	         J("{'Operations':[{'op':'add','path':'title','value':'x'}]}"),
	         "invalidSyntax", PATCHOP);
	user_err(U0,
	         J("{'schemas':['urn:ietf:params:scim:schemas:core:2.0:User'],"
	           "'Operations':[{'op':'add','path':'title','value':'x'}]}"),
	         "invalidSyntax", "\"schemas\"");
}

static void
test_body_operations_missing_or_empty(void **state)
{
	user_err(U0, J("{'schemas':['" PATCHOP "']}"), "invalidSyntax",
	         "\"Operations\" must be a non-empty array");
	user_err(U0, ops("[]"), "invalidSyntax", "non-empty");
	user_err(U0, J("{'schemas':['" PATCHOP "'],'Operations':{}}"),
	         "invalidSyntax", "non-empty");
}

static void
test_body_operations_lowercase(void **state)
{
	user_ok(U0,
	        J("{'schemas':['" PATCHOP "'],"
	          "'operations':[{'op':'add','path':'title','value':'CTO'}]}"),
	        "{'userName':'bjensen','title':'CTO'}");
}

static void
test_unknown_op_names_index(void **state)
{
	struct scim_err e;
	json_t *doc = J(U0);
	json_t *body = ops("[{'op':'add','path':'title','value':'a'},"
	                   "{'op':'add','path':'nickName','value':'b'},"
	                   "{'op':'move','path':'title','value':'c'}]");

	scim_err_init(&e);
	assert_int_equal(
	    scim_patch_apply(scim_rtype_user(), doc, body, NULL, &e), -1);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.scim_type, "invalidSyntax");
	assert_string_equal(e.detail,
	                    "Operations[2].op: unknown operation \"move\"");
	json_decref(doc);
	json_decref(body);
}

static void
test_op_malformed(void **state)
{
	user_err(U0, ops("[{'path':'title','value':'a'}]"), "invalidSyntax",
	         "Operations[0].op: missing or not a string");
	user_err(U0, ops("[{'op':3,'path':'title','value':'a'}]"),
	         "invalidSyntax", "Operations[0].op");
	user_err(U0, ops("['add']"), "invalidSyntax",
	         "Operations[0]: not an object");
	user_err(U0, ops("[{'op':'add','path':7,'value':'a'}]"),
	         "invalidSyntax", "Operations[0].path: must be a string");
	user_err(U0, ops("[{'op':'add','path':'title'}]"), "invalidSyntax",
	         "Operations[0].value: required for add");
	user_err(U0, ops("[{'op':'replace','path':'title'}]"), "invalidSyntax",
	         "Operations[0].value: required for replace");
}

static void
test_remove_needs_path(void **state)
{
	user_err(U0, ops("[{'op':'remove'}]"), "noTarget",
	         "Operations[0].path: required for remove");
	user_err(U0, ops("[{'op':'remove','value':{'title':'x'}}]"), "noTarget",
	         "Operations[0].path");
}

static void
test_nopath_value_must_be_object(void **state)
{
	user_err(U0, ops("[{'op':'replace','value':'x'}]"), "invalidValue",
	         "Operations[0].value: must be an object");
	user_err(U0, ops("[{'op':'add','value':['title']}]"), "invalidValue",
	         "Operations[0].value");
}

static void
test_op_names_case_insensitive(void **state)
{
	user_ok("{'userName':'bjensen','title':'a','nickName':'n'}",
	        ops("[{'op':'Add','path':'displayName','value':'Babs'},"
	            "{'op':'REPLACE','path':'title','value':'b'},"
	            "{'op':'Remove','path':'nickName'}]"),
	        "{'userName':'bjensen','title':'b','displayName':'Babs'}");
}

/*--- add ---*/

static void
test_add_single_valued(void **state)
{
	user_ok(U0, ops("[{'op':'add','path':'nickName','value':'Babs'}]"),
	        "{'userName':'bjensen','nickName':'Babs'}");
	/* RFC 7644 §3.5.2.1: add on a set single-valued attribute replaces. */
	user_ok("{'userName':'bjensen','title':'old'}",
	        ops("[{'op':'add','path':'title','value':'new'}]"),
	        "{'userName':'bjensen','title':'new'}");
}

static void
test_add_multi_appends(void **state)
{
	/* A single element... */
	user_ok(U_EMAILS,
	        ops("[{'op':'add','path':'emails',"
	            "'value':{'value':'b@other.example','type':'other'}}]"),
	        "{'userName':'bjensen','emails':["
	        "{'value':'b@work.example','type':'work','primary':true},"
	        "{'value':'b@home.example','type':'home'},"
	        "{'value':'b@other.example','type':'other'}]}");
	/* ...or an array, onto an absent attribute. */
	user_ok(U0,
	        ops("[{'op':'add','path':'phoneNumbers','value':["
	            "{'value':'555-1','type':'work'},"
	            "{'value':'555-2','type':'mobile'}]}]"),
	        "{'userName':'bjensen','phoneNumbers':["
	        "{'value':'555-1','type':'work'},"
	        "{'value':'555-2','type':'mobile'}]}");
}

static void
test_add_multi_skips_duplicates(void **state)
{
	user_ok(U_EMAILS,
	        ops("[{'op':'add','path':'emails','value':["
	            "{'value':'b@home.example','type':'home'},"
	            "{'value':'b@new.example','type':'other'},"
	            "{'value':'b@new.example','type':'other'}]}]"),
	        "{'userName':'bjensen','emails':["
	        "{'value':'b@work.example','type':'work','primary':true},"
	        "{'value':'b@home.example','type':'home'},"
	        "{'value':'b@new.example','type':'other'}]}");
}

static void
test_add_complex_merges(void **state)
{
	user_ok("{'userName':'bjensen','name':{'familyName':'Jensen'}}",
	        ops("[{'op':'add','path':'name',"
	            "'value':{'givenName':'Barbara','FAMILYNAME':'Jensen-Smith'"
	            "}}]"),
	        "{'userName':'bjensen','name':"
	        "{'familyName':'Jensen-Smith','givenName':'Barbara'}}");
}

static void
test_add_sub_attribute_creates_parent(void **state)
{
	user_ok(U0, ops("[{'op':'add','path':'name.givenName','value':'B'}]"),
	        "{'userName':'bjensen','name':{'givenName':'B'}}");
}

static void
test_add_filter_creates_missing_value(void **state)
{
	/* Entra ID adds a work email this way when the user has none. */
	user_ok("{'userName':'bjensen','emails':"
	        "[{'value':'b@home.example','type':'home'}]}",
	        ops("[{'op':'Add','path':'emails[type eq `work`].value',"
	            "'value':'b@work.example'}]"),
	        "{'userName':'bjensen','emails':["
	        "{'value':'b@home.example','type':'home'},"
	        "{'value':'b@work.example','type':'work'}]}");
	/* And sets it where one matches. */
	user_ok(U_EMAILS,
	        ops("[{'op':'add','path':'emails[type eq `home`].value',"
	            "'value':'new@home.example'}]"),
	        "{'userName':'bjensen','emails':["
	        "{'value':'b@work.example','type':'work','primary':true},"
	        "{'value':'new@home.example','type':'home'}]}");
}

/*--- replace ---*/

static void
test_replace_single_and_case_insensitive_path(void **state)
{
	user_ok("{'userName':'bjensen','title':'a'}",
	        ops("[{'op':'replace','path':'USERNAME','value':'babs'},"
	            "{'op':'replace','path':'Title','value':'b'}]"),
	        "{'userName':'babs','title':'b'}");
}

static void
test_replace_absent_attribute_adds(void **state)
{
	user_ok(U0, ops("[{'op':'replace','path':'title','value':'CEO'}]"),
	        "{'userName':'bjensen','title':'CEO'}");
}

static void
test_replace_complex_keeps_other_subs(void **state)
{
	/* RFC 7644 §3.5.2.3: unspecified sub-attributes are left alone. */
	user_ok("{'userName':'bjensen','name':"
	        "{'givenName':'Barbara','familyName':'Jensen'}}",
	        ops("[{'op':'replace','path':'name','value':{'givenName':'Babs'"
	            "}}]"),
	        "{'userName':'bjensen','name':"
	        "{'givenName':'Babs','familyName':'Jensen'}}");
}

static void
test_replace_multi_whole(void **state)
{
	user_ok(U_EMAILS,
	        ops("[{'op':'replace','path':'emails',"
	            "'value':[{'value':'only@example.com','type':'work'}]}]"),
	        "{'userName':'bjensen','emails':"
	        "[{'value':'only@example.com','type':'work'}]}");
}

static void
test_replace_filter_sub_every_match(void **state)
{
	user_ok("{'userName':'bjensen','emails':["
	        "{'value':'a@w','type':'work'},"
	        "{'value':'h@h','type':'home'},"
	        "{'value':'b@w','type':'WORK'}]}",
	        ops("[{'op':'replace','path':'emails[type eq `work`].value',"
	            "'value':'new@w'}]"),
	        "{'userName':'bjensen','emails':["
	        "{'value':'new@w','type':'work'},"
	        "{'value':'h@h','type':'home'},"
	        "{'value':'new@w','type':'WORK'}]}");
}

static void
test_replace_filter_no_match_is_notarget(void **state)
{
	user_err(U_EMAILS,
	         ops("[{'op':'add','path':'title','value':'x'},"
	             "{'op':'replace','path':'emails[type eq `other`].value',"
	             "'value':'x@y'}]"),
	         "noTarget", "Operations[1].path: ");
	user_err(U0,
	         ops("[{'op':'replace','path':'emails[type eq `work`]',"
	             "'value':{'value':'x@y'}}]"),
	         "noTarget", "matched no value");
}

static void
test_replace_filter_merges_elements(void **state)
{
	user_ok(U_EMAILS,
	        ops("[{'op':'replace','path':'emails[type eq `home`]',"
	            "'value':{'value':'n@home.example','display':'Home'}}]"),
	        "{'userName':'bjensen','emails':["
	        "{'value':'b@work.example','type':'work','primary':true},"
	        "{'value':'n@home.example','type':'home','display':'Home'}]}");
}

static void
test_replace_null_unassigns(void **state)
{
	user_ok("{'userName':'bjensen','title':'x','name':{'givenName':'B'}}",
	        ops("[{'op':'replace','path':'title','value':null},"
	            "{'op':'replace','path':'name.givenName','value':null}]"),
	        "{'userName':'bjensen'}");
}

/*--- remove ---*/

static void
test_remove_whole_attribute(void **state)
{
	user_ok("{'userName':'bjensen','title':'x','emails':[{'value':'a'}]}",
	        ops("[{'op':'remove','path':'title'},"
	            "{'op':'remove','path':'emails'},"
	            "{'op':'remove','path':'nickName'}]"),
	        "{'userName':'bjensen'}");
}

static void
test_remove_sub_attribute(void **state)
{
	user_ok("{'userName':'bjensen','name':"
	        "{'givenName':'B','familyName':'J'}}",
	        ops("[{'op':'remove','path':'name.givenName'}]"),
	        "{'userName':'bjensen','name':{'familyName':'J'}}");
	/* The last sub-attribute takes the complex attribute with it. */
	user_ok("{'userName':'bjensen','name':{'givenName':'B'}}",
	        ops("[{'op':'remove','path':'name.givenName'}]"),
	        "{'userName':'bjensen'}");
}

static void
test_remove_filter(void **state)
{
	user_ok(U_EMAILS,
	        ops("[{'op':'remove','path':'emails[type eq `home`]'}]"),
	        "{'userName':'bjensen','emails':"
	        "[{'value':'b@work.example','type':'work','primary':true}]}");
	/* No value left: the attribute is unassigned (§3.5.2.2). */
	user_ok(U_EMAILS,
	        ops("[{'op':'remove','path':"
	            "'emails[type eq `home` or type eq `work`]'}]"),
	        "{'userName':'bjensen'}");
}

static void
test_remove_filter_sub(void **state)
{
	user_ok(
	    U_EMAILS,
	    ops("[{'op':'remove','path':'emails[type eq `work`].primary'}]"),
	    "{'userName':'bjensen','emails':["
	    "{'value':'b@work.example','type':'work'},"
	    "{'value':'b@home.example','type':'home'}]}");
}

static void
test_remove_filter_no_match_is_harmless(void **state)
{
	user_ok(U_EMAILS,
	        ops("[{'op':'remove','path':'emails[type eq `other`]'}]"),
	        U_EMAILS);
}

static void
test_remove_extension_attribute(void **state)
{
	user_ok("{'userName':'bjensen','" ENT "':{'employeeNumber':'7',"
	        "'department':'R&D'}}",
	        ops("[{'op':'remove','path':'" ENT ":employeeNumber'}]"),
	        "{'userName':'bjensen','" ENT "':{'department':'R&D'}}");
	/* An emptied extension object goes too. */
	user_ok("{'userName':'bjensen','" ENT "':{'employeeNumber':'7'}}",
	        ops("[{'op':'remove','path':'" ENT ":employeeNumber'}]"),
	        "{'userName':'bjensen'}");
	user_ok("{'userName':'bjensen','" ENT "':{'employeeNumber':'7'}}",
	        ops("[{'op':'remove','path':'" ENT "'}]"),
	        "{'userName':'bjensen'}");
}

/*--- primary (RFC 7643 §2.4, RFC 7644 §3.5.2) ---*/

static void
test_primary_add_clears_others(void **state)
{
	user_ok(
	    U_EMAILS,
	    ops("[{'op':'add','path':'emails','value':"
	        "[{'value':'n@example.com','type':'other','primary':true}]}]"),
	    "{'userName':'bjensen','emails':["
	    "{'value':'b@work.example','type':'work','primary':false},"
	    "{'value':'b@home.example','type':'home'},"
	    "{'value':'n@example.com','type':'other','primary':true}]}");
}

static void
test_primary_replace_filter_clears_others(void **state)
{
	/* Entra sends "True" as a string; it still moves primary. */
	user_ok(U_EMAILS,
	        ops("[{'op':'Replace','path':'emails[type eq `home`].primary',"
	            "'value':'True'}]"),
	        "{'userName':'bjensen','emails':["
	        "{'value':'b@work.example','type':'work','primary':false},"
	        "{'value':'b@home.example','type':'home','primary':true}]}");
}

static void
test_primary_false_leaves_others(void **state)
{
	user_ok(U_EMAILS,
	        ops("[{'op':'add','path':'emails','value':"
	            "{'value':'n@x','primary':false}}]"),
	        "{'userName':'bjensen','emails':["
	        "{'value':'b@work.example','type':'work','primary':true},"
	        "{'value':'b@home.example','type':'home'},"
	        "{'value':'n@x','primary':false}]}");
}

/*--- Entra ID and Okta request bodies ---*/

static void
test_entra_replace_active_string(void **state)
{
	user_ok("{'userName':'bjensen','active':true}",
	        jraw("{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:"
	             "PatchOp\"],\"Operations\":[{\"op\":\"Replace\",\"path\":"
	             "\"active\",\"value\":\"False\"}]}"),
	        "{'userName':'bjensen','active':false}");
	user_ok("{'userName':'bjensen','active':false}",
	        jraw("{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:"
	             "PatchOp\"],\"Operations\":[{\"op\":\"Replace\",\"path\":"
	             "\"active\",\"value\":\"True\"}]}"),
	        "{'userName':'bjensen','active':true}");
	user_ok(U0, ops("[{'op':'add','path':'active','value':'true'}]"),
	        "{'userName':'bjensen','active':true}");
}

static void
test_entra_update_multi_valued(void **state)
{
	user_ok(
	    U_EMAILS,
	    jraw("{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:"
	         "PatchOp\"],\"Operations\":[{\"op\":\"Replace\",\"path\":"
	         "\"emails[type eq \\\"work\\\"].value\",\"value\":"
	         "\"updatedEmail@microsoft.com\"},{\"op\":\"Replace\",\"path\":"
	         "\"name.familyName\",\"value\":\"updatedFamilyName\"}]}"),
	    "{'userName':'bjensen','emails':["
	    "{'value':'updatedEmail@microsoft.com','type':'work',"
	    "'primary':true},"
	    "{'value':'b@home.example','type':'home'}],"
	    "'name':{'familyName':'updatedFamilyName'}}");
}

static void
test_entra_nopath_dotted_and_urn_keys(void **state)
{
	user_ok(
	    "{'userName':'bjensen','name':{'familyName':'Jensen'},"
	    "'emails':[{'value':'old@work','type':'work'}]}",
	    jraw("{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:"
	         "PatchOp\"],\"Operations\":[{\"op\":\"replace\",\"value\":{"
	         "\"displayName\":\"Pvlo\","
	         "\"emails[type eq \\\"work\\\"].value\":"
	         "\"TestBcwqnm@test.microsoft.com\","
	         "\"name.givenName\":\"Gtfd\",\"name.familyName\":\"Pkqf\","
	         "\"externalId\":\"Eqpj\","
	         "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"
	         "employeeNumber\":\"Eqpj\"}}]}"),
	    "{'userName':'bjensen','displayName':'Pvlo',"
	    "'emails':[{'value':'TestBcwqnm@test.microsoft.com','type':'work'}]"
	    ","
	    "'name':{'givenName':'Gtfd','familyName':'Pkqf'},"
	    "'externalId':'Eqpj','" ENT "':{'employeeNumber':'Eqpj'}}");
}

static void
test_entra_nopath_add_manager_and_extension_object(void **state)
{
	/* Entra ID sends the manager as the bare id. */
	user_ok(
	    U0,
	    jraw("{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:"
	         "PatchOp\"],\"Operations\":[{\"op\":\"Add\",\"value\":{"
	         "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"
	         "manager\":\"2819c223-7f76-453a-919d-413861904646\"}}]}"),
	    "{'userName':'bjensen','" ENT "':"
	    "{'manager':{'value':'2819c223-7f76-453a-919d-413861904646'}}}");
	user_ok("{'userName':'bjensen','" ENT "':{'department':'Ops'}}",
	        ops("[{'op':'add','value':{'" ENT "':{'employeeNumber':'42',"
	            "'Manager':{'value':'m1'}}}}]"),
	        "{'userName':'bjensen','" ENT "':{'department':'Ops',"
	        "'employeeNumber':'42','manager':{'value':'m1'}}}");
	user_ok(U0,
	        ops("[{'op':'replace','path':'" ENT ":manager','value':'m2'}]"),
	        "{'userName':'bjensen','" ENT "':{'manager':{'value':'m2'}}}");
}

static void
test_entra_booleans_inside_values(void **state)
{
	user_ok(
	    U0,
	    ops("[{'op':'Add','path':'roles','value':[{'primary':'True',"
	        "'type':'WindowsAzureActiveDirectoryRole','value':'Admin'}]}]"),
	    "{'userName':'bjensen','roles':[{'primary':true,"
	    "'type':'WindowsAzureActiveDirectoryRole','value':'Admin'}]}");
}

static void
test_okta_deactivate(void **state)
{
	user_ok(
	    "{'userName':'bjensen','active':true}",
	    jraw("{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:"
	         "PatchOp\"],\"Operations\":[{\"op\":\"replace\",\"value\":{"
	         "\"active\":false}}]}"),
	    "{'userName':'bjensen','active':false}");
}

/*--- Errors: path, mutability, value ---*/

static void
test_invalid_path(void **state)
{
	user_err(U0, ops("[{'op':'add','path':'shoeSize','value':'9'}]"),
	         "invalidPath", "Operations[0].path: ");
	user_err(U0, ops("[{'op':'replace','value':{'shoeSize':'9'}}]"),
	         "invalidPath",
	         "Operations[0].value: unknown attribute \"shoeSize\"");
	user_err(U0, ops("[{'op':'remove','path':'name.shoe'}]"), "invalidPath",
	         "Operations[0].path");
}

static void
test_readonly_is_mutability(void **state)
{
	user_err(U0, ops("[{'op':'replace','path':'id','value':'x'}]"),
	         "mutability", "Operations[0].path: \"id\" is readOnly");
	user_err(U0,
	         ops("[{'op':'replace','path':'meta.lastModified',"
	             "'value':'2026-01-01T00:00:00Z'}]"),
	         "mutability", "readOnly");
	user_err(U0,
	         ops("[{'op':'add','path':'groups','value':[{'value':'g'}]}]"),
	         "mutability", "\"groups\" is readOnly");
	user_err(U0, ops("[{'op':'remove','path':'meta'}]"), "mutability",
	         "readOnly");
	user_err(U0,
	         ops("[{'op':'replace','value':{'meta':{'version':'W/`1`'}}}]"),
	         "mutability", "Operations[0].value: \"meta\" is readOnly");
	user_err(U0,
	         ops("[{'op':'add','path':'" ENT ":manager.displayName',"
	             "'value':'Boss'}]"),
	         "mutability", "readOnly");
}

static void
test_invalid_value_shapes(void **state)
{
	user_err(
	    U0, ops("[{'op':'replace','path':'userName','value':{'a':1}}]"),
	    "invalidValue", "\"userName\" takes a single value, not an object");
	user_err(U0,
	         ops("[{'op':'add','path':'name.givenName','value':['a']}]"),
	         "invalidValue", "not an array");
	user_err(U0, ops("[{'op':'add','path':'name','value':'Barbara'}]"),
	         "invalidValue", "\"name\" takes an object of sub-attributes");
	user_err(
	    U0,
	    ops("[{'op':'add','path':'emails','value':[{'value':{'x':1}}]}]"),
	    "invalidValue", "sub-attribute \"value\"");
	user_err(U0, ops("[{'op':'add','path':'emails','value':['a@b']}]"),
	         "invalidValue", "Operations[0].value");
	user_err(U0, ops("[{'op':'add','path':'" ENT "','value':'x'}]"),
	         "invalidValue", "extension attributes");
}

static void
test_error_stops_at_failing_op(void **state)
{
	struct scim_err e;
	json_t *doc = J(U0);
	json_t *body = ops("[{'op':'add','path':'title','value':'a'},"
	                   "{'op':'add','path':'bogus','value':'b'},"
	                   "{'op':'add','path':'nickName','value':'c'}]");

	scim_err_init(&e);
	assert_int_equal(
	    scim_patch_apply(scim_rtype_user(), doc, body, NULL, &e), -1);
	assert_string_equal(e.scim_type, "invalidPath");
	assert_non_null(strstr(e.detail, "Operations[1]"));
	assert_null(json_object_get(doc, "nickName"));
	json_decref(doc);
	json_decref(body);
}

static void
test_multi_sub_without_filter(void **state)
{
	user_ok(U_EMAILS,
	        ops("[{'op':'replace','path':'emails.display','value':'B'}]"),
	        "{'userName':'bjensen','emails':["
	        "{'value':'b@work.example','type':'work','primary':true,"
	        "'display':'B'},"
	        "{'value':'b@home.example','type':'home','display':'B'}]}");
	user_ok(U_EMAILS, ops("[{'op':'remove','path':'emails.type'}]"),
	        "{'userName':'bjensen','emails':["
	        "{'value':'b@work.example','primary':true},"
	        "{'value':'b@home.example'}]}");
	user_ok(U0, ops("[{'op':'add','path':'emails.value','value':'a@b'}]"),
	        "{'userName':'bjensen','emails':[{'value':'a@b'}]}");
}

static void
test_remove_with_value(void **state)
{
	/* Some clients name the values to drop instead of filtering. */
	user_ok(U_EMAILS,
	        ops("[{'op':'remove','path':'emails',"
	            "'value':[{'value':'b@home.example'}]}]"),
	        "{'userName':'bjensen','emails':"
	        "[{'value':'b@work.example','type':'work','primary':true}]}");
}

static void
test_add_null_to_multi_is_no_change(void **state)
{
	user_ok(U_EMAILS, ops("[{'op':'add','path':'emails','value':null}]"),
	        U_EMAILS);
}

static void
test_replace_whole_extension(void **state)
{
	user_ok("{'userName':'bjensen','" ENT "':{'department':'Ops'}}",
	        ops("[{'op':'replace','path':'" ENT "',"
	            "'value':{'employeeNumber':'9','costCenter':'CC1'}}]"),
	        "{'userName':'bjensen','" ENT "':{'department':'Ops',"
	        "'employeeNumber':'9','costCenter':'CC1'}}");
}

static void
test_filter_on_single_valued(void **state)
{
	user_err(
	    "{'userName':'bjensen','name':{'givenName':'B'}}",
	    ops("[{'op':'replace','path':'name[givenName eq `B`].familyName',"
	        "'value':'J'}]"),
	    "invalidPath", "single-valued");
}

static void
test_bad_filter_in_path(void **state)
{
	user_err(U_EMAILS,
	         ops("[{'op':'add','path':'title','value':'x'},"
	             "{'op':'remove','path':'emails[type zz `work`]'}]"),
	         "invalidFilter", "Operations[1].path: ");
	user_err(U_EMAILS,
	         ops("[{'op':'replace','value':{'emails[type eq "
	             "`work`.value':'x'}}]"),
	         "invalidFilter", "Operations[0].value: ");
}

static void
test_empty_path_is_no_path(void **state)
{
	user_err(U0, ops("[{'op':'remove','path':''}]"), "noTarget",
	         "required for remove");
	user_ok(U0, ops("[{'op':'add','path':'','value':{'title':'x'}}]"),
	        "{'userName':'bjensen','title':'x'}");
}

static void
test_result_passes_normalize(void **state)
{
	/* What the caller does next: normalise the patched copy. */
	struct scim_err e;
	json_t *old = J(U_EMAILS), *doc, *body, *out, *want;

	doc = json_deep_copy(old);
	body = jraw(
	    "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
	    "\"Operations\":[{\"op\":\"Add\",\"path\":\"emails\",\"value\":[{"
	    "\"value\":\"n@x.example\",\"type\":\"other\",\"primary\":\"True\""
	    "}]},{\"op\":\"Add\",\"value\":{\"urn:ietf:params:scim:schemas:"
	    "extension:enterprise:2.0:User:manager\":\"m-1\"}},{\"op\":"
	    "\"Replace\",\"path\":\"active\",\"value\":\"False\"}]}");
	scim_err_init(&e);
	assert_int_equal(
	    scim_patch_apply(scim_rtype_user(), doc, body, NULL, &e), 0);
	out = scim_schema_normalize(scim_rtype_user(), doc, old,
	                            SCIM_NORM_REPLACE, &e);
	if (out == NULL)
		fail_msg("normalize: %s", e.detail);
	want =
	    J("{'schemas':['urn:ietf:params:scim:schemas:core:2.0:User','" ENT
	      "'],'userName':'bjensen','active':false,'emails':["
	      "{'value':'b@work.example','type':'work','primary':false},"
	      "{'value':'b@home.example','type':'home'},"
	      "{'value':'n@x.example','type':'other','primary':true}],"
	      "'" ENT "':{'manager':{'value':'m-1'}}}");
	assert_json(out, want);
	json_decref(want);
	json_decref(out);
	json_decref(doc);
	json_decref(body);
	json_decref(old);
}

/*--- Immutable attributes, on a test resource type ---*/

static const struct scim_attr t_badge_sub[] = {
    {.name = "number", .type = SCIM_T_STRING, .mut = SCIM_M_IMMUTABLE},
    {.name = "label", .type = SCIM_T_STRING},
};

static const struct scim_attr t_attrs[] = {
    {.name = "userName", .type = SCIM_T_STRING},
    {.name = "employeeId", .type = SCIM_T_STRING, .mut = SCIM_M_IMMUTABLE},
    {.name = "badge", .type = SCIM_T_COMPLEX, .sub = t_badge_sub, .nsub = 2},
};

static const struct scim_schema t_core = {
    .id = "urn:rosterd:test:Thing",
    .name = "Thing",
    .attrs = t_attrs,
    .nattrs = 3,
};

static const struct scim_schema *const t_ext[] = {NULL};

static const struct scim_rtype t_rtype = {
    .name = "Thing",
    .endpoint = "/Things",
    .core = &t_core,
    .ext = t_ext,
};

static void
test_immutable_set_once(void **state)
{
	check_ok(&t_rtype, J("{'userName':'x'}"),
	         ops("[{'op':'add','path':'employeeId','value':'E1'}]"), NULL,
	         "{'userName':'x','employeeId':'E1'}");
	/* The same value again is no change. */
	check_ok(&t_rtype, J("{'userName':'x','employeeId':'E1'}"),
	         ops("[{'op':'replace','value':{'employeeId':'E1'}}]"), NULL,
	         "{'userName':'x','employeeId':'E1'}");
}

static void
test_immutable_change_is_mutability(void **state)
{
	check_err(&t_rtype, J("{'userName':'x','employeeId':'E1'}"),
	          ops("[{'op':'replace','path':'employeeId','value':'E2'}]"),
	          NULL, "mutability", "\"employeeId\" is immutable");
	check_err(&t_rtype, J("{'userName':'x','employeeId':'E1'}"),
	          ops("[{'op':'remove','path':'employeeId'}]"), NULL,
	          "mutability", "immutable");
	check_err(&t_rtype, J("{'userName':'x','badge':{'number':'1'}}"),
	          ops("[{'op':'add','path':'badge','value':{'number':'2'}}]"),
	          NULL, "mutability", "\"badge.number\" is immutable");
	check_ok(&t_rtype, J("{'userName':'x','badge':{'number':'1'}}"),
	         ops("[{'op':'add','path':'badge.label','value':'L'}]"), NULL,
	         "{'userName':'x','badge':{'number':'1','label':'L'}}");
}

/*--- Group members: the delta, never the doc ---*/

#define G0 "{'displayName':'Eng'}"

static void
mem_check(const struct scim_patch_members *m, bool all, const char *add,
          const char *remove)
{
	json_t *w;

	assert_int_equal(m->replace_all, all);
	w = J(add);
	assert_json(m->add, w);
	json_decref(w);
	w = J(remove);
	assert_json(m->remove, w);
	json_decref(w);
}

static void
group_ok(json_t *body, struct scim_patch_members *m, const char *want)
{
	check_ok(scim_rtype_group(), J(G0), body, m, want);
}

static void
test_members_init_free(void **state)
{
	struct scim_patch_members m;

	scim_patch_members_init(&m);
	mem_check(&m, false, "[]", "[]");
	scim_patch_members_free(&m);
	assert_null(m.add);
	assert_null(m.remove);
	scim_patch_members_free(NULL);
}

static void
test_okta_add_members(void **state)
{
	struct scim_patch_members m;

	scim_patch_members_init(&m);
	group_ok(jraw("{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:"
	              "PatchOp\"],\"Operations\":[{\"op\":\"add\",\"path\":"
	              "\"members\",\"value\":[{\"value\":"
	              "\"00u1f96ECLNVOKVMUSEA\",\"display\":"
	              "\"test.user@okta.local\"}]}]}"),
	         &m, G0);
	mem_check(&m, false,
	          "[{'value':'00u1f96ECLNVOKVMUSEA','display':'test.user@okta."
	          "local'}]",
	          "[]");
	scim_patch_members_free(&m);
}

static void
test_okta_remove_member_filter(void **state)
{
	struct scim_patch_members m;

	scim_patch_members_init(&m);
	group_ok(jraw("{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:"
	              "PatchOp\"],\"Operations\":[{\"op\":\"remove\",\"path\":"
	              "\"members[value eq \\\"00u1f96ECLNVOKVMUSEA\\\"]\"}]}"),
	         &m, G0);
	mem_check(&m, false, "[]", "['00u1f96ECLNVOKVMUSEA']");
	scim_patch_members_free(&m);

	scim_patch_members_init(&m);
	group_ok(ops("[{'op':'remove','path':"
	             "'members[value eq `a` or value eq `b`]'}]"),
	         &m, G0);
	mem_check(&m, false, "[]", "['a','b']");
	scim_patch_members_free(&m);
}

static void
test_entra_add_and_remove_members(void **state)
{
	struct scim_patch_members m;

	scim_patch_members_init(&m);
	group_ok(jraw("{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:"
	              "PatchOp\"],\"Operations\":[{\"op\":\"Add\",\"path\":"
	              "\"members\",\"value\":[{\"$ref\":null,\"value\":"
	              "\"f648f8d5-ea3e-4bdc-9e8e-40cec2b55a56\"}]}]}"),
	         &m, G0);
	mem_check(&m, false,
	          "[{'value':'f648f8d5-ea3e-4bdc-9e8e-40cec2b55a56'}]", "[]");
	scim_patch_members_free(&m);

	scim_patch_members_init(&m);
	group_ok(jraw("{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:"
	              "PatchOp\"],\"Operations\":[{\"op\":\"Remove\",\"path\":"
	              "\"members\",\"value\":[{\"value\":"
	              "\"f648f8d5-ea3e-4bdc-9e8e-40cec2b55a56\"}]}]}"),
	         &m, G0);
	mem_check(&m, false, "[]", "['f648f8d5-ea3e-4bdc-9e8e-40cec2b55a56']");
	scim_patch_members_free(&m);
}

static void
test_members_cumulative_order(void **state)
{
	struct scim_patch_members m;

	scim_patch_members_init(&m);
	group_ok(ops("[{'op':'add','path':'members','value':"
	             "[{'value':'a'},{'value':'b'}]},"
	             "{'op':'remove','path':'members[value eq `a`]'},"
	             "{'op':'remove','path':'members','value':[{'value':'c'}]},"
	             "{'op':'add','path':'members','value':{'value':'c'}},"
	             "{'op':'add','path':'members','value':[{'value':'b'}]}]"),
	         &m, G0);
	mem_check(&m, false, "[{'value':'b'},{'value':'c'}]", "['a']");
	scim_patch_members_free(&m);
}

/* "m0".."m{n-1}" from `from`, as member objects or as ids. */
static json_t *
many_members(int from, int n, bool objects)
{
	json_t *a = json_array();
	char id[16];

	for (int i = from; i < from + n; i++) {
		snprintf(id, sizeof(id), "m%d", i);
		json_array_append_new(a, objects
		                             ? json_pack("{s:s}", "value", id)
		                             : json_string(id));
	}
	return a;
}

static json_t *
members_op(const char *op, json_t *value)
{
	return json_pack("{s:s, s:s, s:o}", "op", op, "path", "members",
	                 "value", value);
}

/*
 * Thousands of members in one PATCH (the delta keeps its ids indexed):
 * repeats collapse, a remove cancels an add and the reverse, in order.
 */
static void
test_members_many(void **state)
{
	struct scim_patch_members m;
	json_t *body, *want, *more;

	scim_patch_members_init(&m);
	body = json_pack("{s:[s], s:[o, o, o, o]}", "schemas", PATCHOP,
	                 "Operations",
	                 members_op("add", many_members(0, 3000, true)),
	                 members_op("add", many_members(1000, 3000, true)),
	                 members_op("remove", many_members(0, 2000, true)),
	                 members_op("add", many_members(500, 1000, true)));
	group_ok(body, &m, G0);
	/* added: m2000..m3999, then m500..m1499 back from the removes */
	want = many_members(2000, 2000, true);
	more = many_members(500, 1000, true);
	json_array_extend(want, more);
	assert_json(m.add, want);
	json_decref(more);
	json_decref(want);
	/* removed: m0..m499 and m1500..m1999 (m500..m1499 added again) */
	want = many_members(0, 500, false);
	more = many_members(1500, 500, false);
	json_array_extend(want, more);
	assert_json(m.remove, want);
	json_decref(more);
	json_decref(want);
	assert_int_equal(json_object_size(m.add_ids), 3000);
	assert_int_equal(json_object_size(m.remove_ids), 1000);
	scim_patch_members_free(&m);
}

static void
test_members_remove_all(void **state)
{
	struct scim_patch_members m;

	scim_patch_members_init(&m);
	group_ok(ops("[{'op':'add','path':'members','value':[{'value':'a'}]},"
	             "{'op':'remove','path':'members[value eq `x`]'},"
	             "{'op':'remove','path':'members'},"
	             "{'op':'add','path':'members','value':[{'value':'z'}]},"
	             "{'op':'remove','path':'members[value eq `y`]'}]"),
	         &m, G0);
	mem_check(&m, true, "[{'value':'z'}]", "[]");
	scim_patch_members_free(&m);
}

static void
test_members_replace(void **state)
{
	struct scim_patch_members m;

	scim_patch_members_init(&m);
	group_ok(ops("[{'op':'remove','path':'members[value eq `x`]'},"
	             "{'op':'replace','path':'members','value':"
	             "[{'value':'a'},{'value':'b'}]}]"),
	         &m, G0);
	mem_check(&m, true, "[{'value':'a'},{'value':'b'}]", "[]");
	scim_patch_members_free(&m);
}

static void
test_members_nopath(void **state)
{
	struct scim_patch_members m;

	/* Okta: replace with members inside value. */
	scim_patch_members_init(&m);
	group_ok(ops("[{'op':'replace','value':{'displayName':'Eng2',"
	             "'members':[{'value':'cb300cb6'}]}}]"),
	         &m, "{'displayName':'Eng2'}");
	mem_check(&m, true, "[{'value':'cb300cb6'}]", "[]");
	scim_patch_members_free(&m);

	scim_patch_members_init(&m);
	group_ok(ops("[{'op':'add','value':{'members':[{'value':'a'}]}}]"), &m,
	         G0);
	mem_check(&m, false, "[{'value':'a'}]", "[]");
	scim_patch_members_free(&m);
}

static void
test_okta_group_rename(void **state)
{
	struct scim_patch_members m;

	/* Okta echoes the group's own id; it is not a change to id. */
	scim_patch_members_init(&m);
	group_ok(
	    jraw("{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:"
	         "PatchOp\"],\"Operations\":[{\"op\":\"replace\",\"value\":{"
	         "\"id\":\"abf4dd94-a4c0-4f67-89c9-76b03340cb9b\","
	         "\"displayName\":\"Test SCIMv2\"}}]}"),
	    &m, "{'displayName':'Test SCIMv2'}");
	mem_check(&m, false, "[]", "[]");
	scim_patch_members_free(&m);
}

static void
test_members_errors(void **state)
{
	struct scim_patch_members m;

	scim_patch_members_init(&m);
	check_err(scim_rtype_group(), J(G0),
	          ops("[{'op':'remove','path':'members[display eq `Bob`]'}]"),
	          &m, "invalidFilter", "unsupported members filter");
	check_err(scim_rtype_group(), J(G0),
	          ops("[{'op':'remove','path':"
	              "'members[value eq `a` and type eq `User`]'}]"),
	          &m, "invalidFilter", "unsupported members filter");
	check_err(scim_rtype_group(), J(G0),
	          ops("[{'op':'replace','path':'members[value eq `a`]',"
	              "'value':{'value':'b'}}]"),
	          &m, "invalidFilter", "unsupported members filter");
	check_err(
	    scim_rtype_group(), J(G0),
	    ops("[{'op':'add','path':'members','value':[{'display':'x'}]}]"),
	    &m, "invalidValue", "Operations[0].value");
	check_err(scim_rtype_group(), J(G0),
	          ops("[{'op':'add','path':'members','value':['a']}]"), &m,
	          "invalidValue", "\"value\" id string");
	check_err(
	    scim_rtype_group(), J(G0),
	    ops("[{'op':'remove','path':'members','value':[{'value':3}]}]"), &m,
	    "invalidValue", "Operations[0].value");
	check_err(scim_rtype_group(), J(G0),
	          ops("[{'op':'replace','path':'members.value','value':'a'}]"),
	          &m, "invalidPath", "Operations[0].path");
	scim_patch_members_free(&m);
}

static void
test_group_doc_ops(void **state)
{
	struct scim_patch_members m;

	scim_patch_members_init(&m);
	group_ok(ops("[{'op':'Replace','path':'displayName','value':'Ops'},"
	             "{'op':'add','path':'externalId','value':'ext-1'}]"),
	         &m, "{'displayName':'Ops','externalId':'ext-1'}");
	mem_check(&m, false, "[]", "[]");
	scim_patch_members_free(&m);
}

/*--- Path cache (scim_patch_apply_paths) ---*/

/*
 * Apply body to a copy of doc with paths (may be NULL); returns the doc,
 * or NULL with *e set.
 */
static json_t *
apply_with(struct scim_patch_paths *paths, const json_t *doc,
           const json_t *body, struct scim_err *e)
{
	json_t *d = json_deep_copy(doc);

	scim_err_init(e);
	if (scim_patch_apply_paths(scim_rtype_user(), paths, d, body, NULL,
	                           e) == 0)
		return d;
	json_decref(d);
	return NULL;
}

/* The cached result is the uncached one: same doc, or the same error. */
static void
same_as_parsing(struct scim_patch_paths *paths, const json_t *doc,
                const json_t *body)
{
	struct scim_err e1, e2;
	json_t *want, *got;

	want = apply_with(NULL, doc, body, &e1);
	got = apply_with(paths, doc, body, &e2);
	if (want == NULL) {
		assert_null(got);
		assert_int_equal(e2.status, e1.status);
		assert_string_equal(e2.scim_type, e1.scim_type);
		assert_string_equal(e2.detail, e1.detail);
	} else {
		assert_non_null(got);
		assert_json(got, want);
	}
	json_decref(want);
	json_decref(got);
}

static void
test_paths_same_as_parsing(void **state)
{
	static const char *const bodies[] = {
	    "[{'op':'add','path':'emails[type eq `work`].value',"
	    "'value':'a@x.com'}]",
	    "[{'op':'replace','path':'emails[type eq `home`].value',"
	    "'value':'h@x.com'}]",
	    "[{'op':'remove','path':'emails[type eq `work`]'}]",
	    "[{'op':'add','path':'name.givenName','value':'Ann'}]",
	    "[{'op':'add','path':'" ENT ":department','value':'Ops'}]",
	    "[{'op':'add','value':{'emails[type eq `work`].value':'n@x.com',"
	    "'" ENT "':{'costCenter':'7'}}}]",
	    "[{'op':'add','path':'emails[type eq `work`.value','value':'x'}]",
	    "[{'op':'add','path':'nosuch','value':'x'}]",
	    "[{'op':'add','path':'emails[type gt true].value','value':'x'}]",
	    "[{'op':'add','path':'emails[value co `@`].value','value':'x'}]",
	    "[{'op':'add','path':'id','value':'x'}]",
	};
	struct scim_patch_paths *paths = scim_patch_paths_new();
	json_t *doc, *body;
	size_t i, round;

	(void)state;
	doc = J("{'userName':'ann','emails':[{'type':'home','value':"
	        "'o@x.com'},{'type':'work','value':'w@x.com'}]}");
	/* Round 0 fills the cache, round 1 reads from it. */
	for (round = 0; round < 2; round++)
		for (i = 0; i < sizeof(bodies) / sizeof(*bodies); i++) {
			body = ops(bodies[i]);
			same_as_parsing(paths, doc, body);
			json_decref(body);
		}
	json_decref(doc);
	scim_patch_paths_free(paths);
}

/* More distinct paths than the cache holds: evicted ones parse again. */
static void
test_paths_eviction(void **state)
{
	struct scim_patch_paths *paths = scim_patch_paths_new();
	json_t *doc, *body;
	struct buf b;
	int i, round;

	(void)state;
	doc =
	    J("{'userName':'ann','emails':[{'type':'t3','value':'o@x.com'}]}");
	for (round = 0; round < 3; round++)
		for (i = 0; i < 100; i++) {
			buf_init(&b, 0);
			buf_addf(&b,
			         "[{'op':'add','path':'emails[type eq `t%d`]."
			         "value','value':'%d.%d@x.com'}]",
			         i % (round == 2 ? 5 : 100), round, i);
			body = ops(buf_str(&b));
			buf_free(&b);
			same_as_parsing(paths, doc, body);
			json_decref(body);
		}
	json_decref(doc);
	scim_patch_paths_free(paths);
}

/* One cached filter path applied to many different documents. */
static void
test_paths_filter_many_docs(void **state)
{
	struct scim_patch_paths *paths = scim_patch_paths_new();
	json_t *doc, *body, *got;
	struct scim_err e;
	struct buf b;
	int i;

	(void)state;
	body = ops("[{'op':'add','path':'emails[type eq `work`].value',"
	           "'value':'new@x.com'},"
	           "{'op':'remove','path':'phoneNumbers[type eq `fax`]'}]");
	for (i = 0; i < 1000; i++) {
		buf_init(&b, 0);
		if (i % 3 == 0)
			buf_addf(&b, "{'userName':'u%d'}", i);
		else
			buf_addf(&b,
			         "{'userName':'u%d','emails':[{'type':'%s',"
			         "'value':'%d@x.com'}],'phoneNumbers':[{'type':"
			         "'fax','value':'%d'}]}",
			         i, i % 3 == 1 ? "work" : "home", i, i);
		doc = J(buf_str(&b));
		buf_free(&b);
		same_as_parsing(paths, doc, body);
		got = apply_with(paths, doc, body, &e);
		assert_non_null(got);
		assert_string_equal(
		    json_string_value(json_object_get(
		        json_array_get(json_object_get(got, "emails"),
		                       i % 3 == 2 ? 1 : 0),
		        "value")),
		    "new@x.com");
		assert_null(json_object_get(got, "phoneNumbers"));
		json_decref(got);
		json_decref(doc);
	}
	json_decref(body);
	scim_patch_paths_free(paths);
	scim_patch_paths_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_body_not_object),
	    cmocka_unit_test(test_body_schemas_missing),
	    cmocka_unit_test(test_body_operations_missing_or_empty),
	    cmocka_unit_test(test_body_operations_lowercase),
	    cmocka_unit_test(test_unknown_op_names_index),
	    cmocka_unit_test(test_op_malformed),
	    cmocka_unit_test(test_remove_needs_path),
	    cmocka_unit_test(test_nopath_value_must_be_object),
	    cmocka_unit_test(test_op_names_case_insensitive),
	    cmocka_unit_test(test_add_single_valued),
	    cmocka_unit_test(test_add_multi_appends),
	    cmocka_unit_test(test_add_multi_skips_duplicates),
	    cmocka_unit_test(test_add_complex_merges),
	    cmocka_unit_test(test_add_sub_attribute_creates_parent),
	    cmocka_unit_test(test_add_filter_creates_missing_value),
	    cmocka_unit_test(test_replace_single_and_case_insensitive_path),
	    cmocka_unit_test(test_replace_absent_attribute_adds),
	    cmocka_unit_test(test_replace_complex_keeps_other_subs),
	    cmocka_unit_test(test_replace_multi_whole),
	    cmocka_unit_test(test_replace_filter_sub_every_match),
	    cmocka_unit_test(test_replace_filter_no_match_is_notarget),
	    cmocka_unit_test(test_replace_filter_merges_elements),
	    cmocka_unit_test(test_replace_null_unassigns),
	    cmocka_unit_test(test_remove_whole_attribute),
	    cmocka_unit_test(test_remove_sub_attribute),
	    cmocka_unit_test(test_remove_filter),
	    cmocka_unit_test(test_remove_filter_sub),
	    cmocka_unit_test(test_remove_filter_no_match_is_harmless),
	    cmocka_unit_test(test_remove_extension_attribute),
	    cmocka_unit_test(test_primary_add_clears_others),
	    cmocka_unit_test(test_primary_replace_filter_clears_others),
	    cmocka_unit_test(test_primary_false_leaves_others),
	    cmocka_unit_test(test_entra_replace_active_string),
	    cmocka_unit_test(test_entra_update_multi_valued),
	    cmocka_unit_test(test_entra_nopath_dotted_and_urn_keys),
	    cmocka_unit_test(
	        test_entra_nopath_add_manager_and_extension_object),
	    cmocka_unit_test(test_entra_booleans_inside_values),
	    cmocka_unit_test(test_okta_deactivate),
	    cmocka_unit_test(test_invalid_path),
	    cmocka_unit_test(test_readonly_is_mutability),
	    cmocka_unit_test(test_invalid_value_shapes),
	    cmocka_unit_test(test_error_stops_at_failing_op),
	    cmocka_unit_test(test_multi_sub_without_filter),
	    cmocka_unit_test(test_remove_with_value),
	    cmocka_unit_test(test_add_null_to_multi_is_no_change),
	    cmocka_unit_test(test_replace_whole_extension),
	    cmocka_unit_test(test_filter_on_single_valued),
	    cmocka_unit_test(test_bad_filter_in_path),
	    cmocka_unit_test(test_empty_path_is_no_path),
	    cmocka_unit_test(test_result_passes_normalize),
	    cmocka_unit_test(test_immutable_set_once),
	    cmocka_unit_test(test_immutable_change_is_mutability),
	    cmocka_unit_test(test_members_init_free),
	    cmocka_unit_test(test_okta_add_members),
	    cmocka_unit_test(test_okta_remove_member_filter),
	    cmocka_unit_test(test_entra_add_and_remove_members),
	    cmocka_unit_test(test_members_cumulative_order),
	    cmocka_unit_test(test_members_many),
	    cmocka_unit_test(test_members_remove_all),
	    cmocka_unit_test(test_members_replace),
	    cmocka_unit_test(test_members_nopath),
	    cmocka_unit_test(test_okta_group_rename),
	    cmocka_unit_test(test_members_errors),
	    cmocka_unit_test(test_group_doc_ops),
	    cmocka_unit_test(test_paths_same_as_parsing),
	    cmocka_unit_test(test_paths_eviction),
	    cmocka_unit_test(test_paths_filter_many_docs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
