# SPDX-License-Identifier: ISC
"""SCIM 2.0 conformance of rosterd, black box, from RFC 7643 (schema),
RFC 7644 (protocol) and RFC 9865 (cursor pagination): discovery, resource
semantics, filters, sorting and paging, PATCH, ETags, Bulk, groups and the
error model. Every class runs its own daemon; every test makes its own data
(marked with a unique tag) so tests do not depend on each other.
"""

import datetime
import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor
import unittest
from urllib.parse import quote, urlsplit

from harness import (BASE, SCIM_JSON, URN_BULKREQ, URN_BULKRESP, URN_ELIG,
                     URN_ENT, URN_ERROR, URN_GROUP, URN_LIST, URN_PATCH,
                     URN_RTYPE, URN_SCHEMA, URN_SEARCH, URN_SPC, URN_USER,
                     ScimTestCase, http_request, patch_body, primaries, qs,
                     tag)

ATTR_TYPES = {"string", "boolean", "decimal", "integer", "dateTime",
              "reference", "binary", "complex"}
MUTABILITY = {"readOnly", "readWrite", "immutable", "writeOnly"}
RETURNED = {"always", "never", "default", "request"}
UNIQUENESS = {"none", "server", "global"}


def parse_dt(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def fmt_dt(dt, hours=0):
    tz = datetime.timezone(datetime.timedelta(hours=hours))
    out = dt.astimezone(tz).isoformat(timespec="milliseconds")
    return out.replace("+00:00", "Z") if hours == 0 else out


def find_attr(attrs, name):
    for a in attrs:
        if a["name"].lower() == name.lower():
            return a
    return None


# --------------------------------------------------------------------------
class DiscoveryTest(ScimTestCase):
    """RFC 7644 §4, RFC 7643 §5-§7, RFC 9865 §4."""

    def test_service_provider_config(self):
        resp = self.get("/ServiceProviderConfig")
        self.assertEqual(resp.status, 200, resp)
        self.assertTrue(resp.header("Content-Type").startswith(SCIM_JSON))
        spc = resp.json
        self.assertIn(URN_SPC, spc["schemas"])
        for feat in ("patch", "bulk", "filter", "changePassword", "sort",
                     "etag"):
            self.assertIsInstance(spc.get(feat), dict, feat)
            self.assertIsInstance(spc[feat].get("supported"), bool, feat)
        self.assertIs(spc["patch"]["supported"], True)
        self.assertIs(spc["bulk"]["supported"], True)
        self.assertIs(spc["filter"]["supported"], True)
        self.assertIs(spc["sort"]["supported"], True)
        self.assertIs(spc["etag"]["supported"], True)
        for k in ("maxOperations", "maxPayloadSize"):
            self.assertIsInstance(spc["bulk"].get(k), int, k)
            self.assertGreater(spc["bulk"][k], 0, k)
        self.assertIsInstance(spc["filter"].get("maxResults"), int)
        self.assertGreater(spc["filter"]["maxResults"], 0)
        schemes = spc.get("authenticationSchemes")
        self.assertIsInstance(schemes, list)
        self.assertTrue(schemes, "authenticationSchemes is empty")
        for s in schemes:
            for k in ("type", "name", "description"):
                self.assertIsInstance(s.get(k), str, "authenticationScheme %s" % k)
        self.assertIn("oauthbearertoken", [s["type"] for s in schemes])
        # RFC 9865 §4: both pagination methods are offered.
        pag = spc.get("pagination")
        self.assertIsInstance(pag, dict, "RFC 9865 'pagination' missing")
        self.assertIs(pag.get("cursor"), True)
        self.assertIs(pag.get("index"), True)
        for k in ("defaultPageSize", "maxPageSize", "cursorTimeout"):
            if k in pag:
                self.assertIsInstance(pag[k], int, k)
                self.assertGreater(pag[k], 0, k)
        if "defaultPageSize" in pag and "maxPageSize" in pag:
            self.assertLessEqual(pag["defaultPageSize"], pag["maxPageSize"])
        if "defaultPaginationMethod" in pag:
            self.assertIn(pag["defaultPaginationMethod"], ("cursor", "index"))

    def test_advertised_features_work(self):
        spc = self.service_provider_config()
        t = tag("spc")
        u = self.create_user(t + "-b")
        self.create_user(t + "-a")
        # etag: every resource has a version and an ETag header.
        resp = self.get("/Users/" + u["id"])
        self.assertTrue(resp.header("ETag"), "etag supported but no ETag")
        self.assertEqual(resp.header("ETag"), resp.json["meta"]["version"])
        # sort: sortBy orders the result.
        names = [r["userName"] for r in self.search(
            "Users", 'userName sw "%s"' % t, sortBy="userName")["Resources"]]
        self.assertEqual(names, [t + "-a", t + "-b"])
        # patch: a plain replace works.
        self.assertEqual(self.patch_ok(
            "Users", u["id"], {"op": "replace", "path": "title",
                               "value": "x"})["title"], "x")
        # changePassword: if advertised, a password change succeeds (RFC
        # 7643 §5 leaves the unsupported case open); the password is never
        # returned either way.
        resp = self.patch("Users", u["id"], {"op": "replace",
                                             "path": "password",
                                             "value": "N3w-pass-word!"})
        if spc["changePassword"]["supported"]:
            self.assertIn(resp.status, (200, 204), resp)
        if resp.json:
            self.assertNotIn("password", resp.json)
        self.assertNotIn("password", self.get_user(u["id"]))

    def test_resource_types(self):
        resp = self.get("/ResourceTypes")
        lst = self.assertListResponse(resp)
        by_name = {r["name"]: r for r in lst["Resources"]}
        self.assertEqual(set(by_name), {"User", "Group"})
        self.assertEqual(lst["totalResults"], 2)
        user, group = by_name["User"], by_name["Group"]
        for rt in (user, group):
            self.assertIn(URN_RTYPE, rt["schemas"])
            self.assertEqual(rt.get("id"), rt["name"])
        self.assertEqual(user["endpoint"], "/Users")
        self.assertEqual(user["schema"], URN_USER)
        self.assertEqual(group["endpoint"], "/Groups")
        self.assertEqual(group["schema"], URN_GROUP)
        ext = {e["schema"]: e for e in user.get("schemaExtensions", [])}
        self.assertEqual(set(ext), {URN_ENT, URN_ELIG})
        for e in ext.values():
            self.assertIs(e["required"], False)
        resp = self.get("/ResourceTypes/User")
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json["name"], "User")
        self.assertEqual(resp.json["endpoint"], "/Users")
        resp = self.get("/ResourceTypes/Group")
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json["schema"], URN_GROUP)
        self.assertScimError(self.get("/ResourceTypes/Widget"), 404)

    def check_attrs(self, attrs, where):
        self.assertIsInstance(attrs, list, where)
        for a in attrs:
            w = "%s.%s" % (where, a.get("name"))
            self.assertIsInstance(a.get("name"), str, w)
            self.assertIn(a.get("type"), ATTR_TYPES, w)
            self.assertIsInstance(a.get("multiValued"), bool, w)
            self.assertIsInstance(a.get("required"), bool, w)
            self.assertIn(a.get("mutability"), MUTABILITY, w)
            self.assertIn(a.get("returned"), RETURNED, w)
            if "uniqueness" in a:
                self.assertIn(a["uniqueness"], UNIQUENESS, w)
            if a["type"] in ("string", "reference", "binary"):
                self.assertIsInstance(a.get("caseExact"), bool, w)
            if a["type"] == "complex":
                self.assertTrue(a.get("subAttributes"), w)
                self.check_attrs(a["subAttributes"], w)
            if a["type"] == "reference":
                self.assertTrue(a.get("referenceTypes"), w)

    def test_schemas(self):
        lst = self.assertListResponse(self.get("/Schemas"))
        by_id = {s["id"]: s for s in lst["Resources"]}
        for urn in (URN_USER, URN_GROUP, URN_ENT, URN_ELIG):
            self.assertIn(urn, by_id)
        for urn, s in by_id.items():
            self.assertIn(URN_SCHEMA, s.get("schemas", []), urn)
            self.assertIsInstance(s.get("name"), str, urn)
            self.check_attrs(s.get("attributes"), urn)

        user = by_id[URN_USER]["attributes"]
        un = find_attr(user, "userName")
        self.assertIs(un["required"], True)
        self.assertEqual(un["uniqueness"], "server")
        self.assertIs(un["caseExact"], False)
        self.assertEqual(un["mutability"], "readWrite")
        pw = find_attr(user, "password")
        self.assertIsNotNone(pw)
        self.assertEqual(pw["mutability"], "writeOnly")
        self.assertEqual(pw["returned"], "never")
        grp = find_attr(user, "groups")
        self.assertEqual(grp["mutability"], "readOnly")
        self.assertIs(grp["multiValued"], True)
        emails = find_attr(user, "emails")
        self.assertIs(emails["multiValued"], True)
        subs = {a["name"] for a in emails["subAttributes"]}
        self.assertLessEqual({"value", "type", "primary"}, subs)
        for name in ("name", "active", "title", "displayName", "nickName",
                     "emails", "phoneNumbers", "addresses"):
            self.assertIsNotNone(find_attr(user, name), name)

        group = by_id[URN_GROUP]["attributes"]
        self.assertIsNotNone(find_attr(group, "displayName"))
        members = find_attr(group, "members")
        self.assertIs(members["multiValued"], True)
        self.assertIn("value", {a["name"] for a in members["subAttributes"]})

        ent = by_id[URN_ENT]["attributes"]
        for name in ("employeeNumber", "department", "costCenter",
                     "organization", "division"):
            self.assertIsNotNone(find_attr(ent, name), name)
        mgr = find_attr(ent, "manager")
        self.assertEqual(mgr["type"], "complex")
        self.assertIn("value", {a["name"] for a in mgr["subAttributes"]})

        elig = [a["name"].lower() for a in by_id[URN_ELIG]["attributes"]]
        for needle in ("birth", "hire", "termination", "status", "class"):
            self.assertTrue(any(needle in n for n in elig),
                            "eligibility extension has no *%s* attribute: %s"
                            % (needle, elig))
        self.assertTrue(any("state" in n or "location" in n for n in elig),
                        "eligibility extension has no work location/state")

    def test_schema_by_urn(self):
        for urn in (URN_USER, URN_GROUP, URN_ENT, URN_ELIG):
            resp = self.get("/Schemas/" + urn)
            self.assertEqual(resp.status, 200, resp)
            self.assertEqual(resp.json["id"], urn)
            self.assertTrue(resp.json["attributes"])
        self.assertScimError(
            self.get("/Schemas/urn:example:params:scim:schemas:nope"), 404)


# --------------------------------------------------------------------------
class UserResourceTest(ScimTestCase):
    """RFC 7644 §3.3 create, §3.4.1 read, §3.5.1 replace, §3.6 delete,
    RFC 7643 attribute characteristics."""

    def test_create_headers_and_meta(self):
        t = tag("cr")
        resp = self.request("POST", "/Users", {
            "schemas": [URN_USER], "userName": t + "@example.com",
            "name": {"givenName": "Bea", "familyName": "Jensen"},
            "emails": [{"value": t + "@example.com", "type": "work",
                        "primary": True}]})
        self.assertEqual(resp.status, 201, resp)
        self.assertTrue(resp.header("Content-Type").startswith(SCIM_JSON),
                        resp.header("Content-Type"))
        u = resp.json
        meta = u["meta"]
        self.assertEqual(meta["resourceType"], "User")
        # Location: the absolute URI of the new resource, = meta.location.
        loc = resp.header("Location")
        self.assertEqual(loc, meta["location"])
        parts = urlsplit(loc)
        self.assertEqual(parts.scheme, "http", loc)
        self.assertEqual(parts.netloc, "127.0.0.1:%d" % self.port, loc)
        self.assertEqual(parts.path, "%s/Users/%s" % (BASE, u["id"]))
        # ETag: weak, equal to meta.version.
        etag = resp.header("ETag")
        self.assertTrue(etag and etag.startswith('W/"') and etag.endswith('"'),
                        etag)
        self.assertEqual(etag, meta["version"])
        for k in ("created", "lastModified"):
            parse_dt(meta[k])
        self.assertEqual(meta["created"], meta["lastModified"])
        self.assertIn(URN_USER, u["schemas"])
        # GET returns the same thing, with the same ETag.
        resp = self.get("/Users/" + u["id"])
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.header("ETag"), etag)
        self.assertEqual(resp.json["meta"]["location"], loc)
        self.assertEqual(resp.json["name"], {"givenName": "Bea",
                                             "familyName": "Jensen"})

    def test_accepts_application_json(self):
        resp = self.request("POST", "/Users",
                            json.dumps({"schemas": [URN_USER],
                                        "userName": tag("aj")}),
                            headers={"Content-Type": "application/json"})
        self.assertEqual(resp.status, 201, resp)

    def test_username_unique_case_insensitive(self):
        t = tag("uq")
        first = self.create_user(t + "-Bjensen@Example.com")
        resp = self.request("POST", "/Users", {
            "schemas": [URN_USER], "userName": t.upper() + "-BJENSEN@example.COM"})
        self.assertScimError(resp, 409, "uniqueness")
        # Renaming another user onto it is a conflict too (PATCH and PUT).
        other = self.create_user(t + "-other")
        resp = self.patch("Users", other["id"], {
            "op": "replace", "path": "userName",
            "value": t + "-bjensen@EXAMPLE.com"})
        self.assertScimError(resp, 409, "uniqueness")
        resp = self.request("PUT", "/Users/" + other["id"], {
            "schemas": [URN_USER], "userName": t + "-BJENSEN@example.com"})
        self.assertScimError(resp, 409, "uniqueness")
        self.assertEqual(self.get_user(other["id"])["userName"], t + "-other")
        # A user may change only the case of its own userName.
        got = self.patch_ok("Users", first["id"], {
            "op": "replace", "path": "userName",
            "value": t + "-bjensen@example.com"})
        self.assertEqual(got["userName"], t + "-bjensen@example.com")

    def test_concurrent_creates_same_username(self):
        # Concurrent writes share commits; uniqueness must still hold.
        name = tag("cc") + "@example.com"
        port, token = self.port, self.token

        def post(i):
            return http_request(port, "POST", "/Users", {
                "schemas": [URN_USER],
                "userName": name if i % 2 else name.upper()}, token=token)

        with ThreadPoolExecutor(12) as ex:
            results = list(ex.map(post, range(12)))
        codes = sorted(r.status for r in results)
        self.assertEqual(codes, [201] + [409] * 11, codes)
        for r in results:
            if r.status == 409:
                self.assertScimError(r, 409, "uniqueness")
        self.assertEqual(self.search(
            "Users", 'userName eq "%s"' % name)["totalResults"], 1)

    def test_username_reusable_after_delete(self):
        name = tag("re") + "@example.com"
        u = self.create_user(name)
        self.assertEqual(self.request("DELETE", "/Users/" + u["id"]).status, 204)
        again = self.create_user(name)
        self.assertNotEqual(again["id"], u["id"])

    def test_required_username(self):
        resp = self.request("POST", "/Users", {
            "schemas": [URN_USER], "name": {"givenName": "No"}})
        self.assertScimError(resp, 400, "invalidValue")
        resp = self.request("POST", "/Users", {
            "schemas": [URN_USER], "userName": ""})
        self.assertScimError(resp, 400, "invalidValue")
        # PUT must carry required attributes as well.
        u = self.create_user(tag("rq"))
        resp = self.request("PUT", "/Users/" + u["id"], {
            "schemas": [URN_USER], "displayName": "x"})
        self.assertScimError(resp, 400, "invalidValue")

    def test_wrong_attribute_type(self):
        resp = self.request("POST", "/Users", {
            "schemas": [URN_USER], "userName": tag("ty"), "active": "maybe"})
        self.assertScimError(resp, 400, "invalidValue")
        resp = self.request("POST", "/Users", {
            "schemas": [URN_USER], "userName": tag("ty"),
            "emails": "not-a-list-of-objects"})
        self.assertScimError(resp, 400)

    def test_at_most_one_primary(self):
        resp = self.request("POST", "/Users", {
            "schemas": [URN_USER], "userName": tag("pr"),
            "emails": [{"value": "a@x.example", "primary": True},
                       {"value": "b@x.example", "primary": True}]})
        self.assertScimError(resp, 400, "invalidValue")

    def test_read_only_input_ignored(self):
        t = tag("ro")
        resp = self.request("POST", "/Users", {
            "schemas": [URN_USER], "userName": t,
            "id": "client-chosen-id",
            "meta": {"created": "2001-01-01T00:00:00Z",
                     "lastModified": "2001-01-01T00:00:00Z",
                     "version": 'W/"client"', "resourceType": "Group",
                     "location": "http://evil.example/Users/x"},
            "groups": [{"value": "00000000-0000-0000-0000-000000000000"}]})
        self.assertEqual(resp.status, 201, resp)
        u = resp.json
        self.assertNotEqual(u["id"], "client-chosen-id")
        self.assertNotEqual(u["meta"]["created"][:4], "2001")
        self.assertEqual(u["meta"]["resourceType"], "User")
        self.assertNotEqual(u["meta"]["version"], 'W/"client"')
        self.assertNotIn("evil", u["meta"]["location"])
        self.assertFalse(u.get("groups"))
        self.assertEqual(
            self.request("GET", "/Users/client-chosen-id").status, 404)
        # PUT: a different id and meta in the body are ignored as well.
        resp = self.request("PUT", "/Users/" + u["id"], {
            "schemas": [URN_USER], "userName": t, "id": "another-id",
            "meta": {"created": "2001-01-01T00:00:00Z"}, "title": "T"})
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json["id"], u["id"])
        self.assertEqual(resp.json["meta"]["created"], u["meta"]["created"])
        self.assertEqual(resp.json["title"], "T")

    def test_put_replaces(self):
        t = tag("put")
        u = self.create_user(t, title="Boss", nickName="bb",
                             name={"givenName": "A", "familyName": "B"},
                             emails=[{"value": "a@b.example", "type": "work"}])
        resp = self.request("PUT", "/Users/" + u["id"], {
            "schemas": [URN_USER], "userName": t,
            "name": {"givenName": "C"}})
        self.assertEqual(resp.status, 200, resp)
        self.assertTrue(resp.header("ETag"))
        self.assertNotEqual(resp.header("ETag"), u["meta"]["version"])
        got = self.get_user(u["id"])
        self.assertEqual(got["name"], {"givenName": "C"})
        for gone in ("title", "nickName", "emails"):
            self.assertNotIn(gone, got)
        self.assertEqual(got["meta"]["created"], u["meta"]["created"])
        self.assertGreaterEqual(parse_dt(got["meta"]["lastModified"]),
                                parse_dt(u["meta"]["lastModified"]))

    def test_password_never_returned(self):
        t = tag("pw")
        resp = self.request("POST", "/Users", {
            "schemas": [URN_USER], "userName": t, "password": "t1meMa$heen"})
        self.assertEqual(resp.status, 201, resp)
        self.assertNotIn("password", resp.json)
        self.assertNotIn("password", self.get_user(resp.json["id"]))
        lst = self.search("Users", 'userName eq "%s"' % t,
                          attributes="password,userName")
        self.assertNotIn("password", lst["Resources"][0])
        self.assertNotIn(b"t1meMa$heen", self.get("/Users" + qs(
            filter='userName eq "%s"' % t)).raw)

    def test_attributes_and_excluded_attributes(self):
        t = tag("at")
        u = self.create_user(
            t, name={"givenName": "G", "familyName": "F"}, title="T",
            emails=[{"value": "e@x.example", "type": "work"}],
            **{URN_ENT: {"department": "D", "employeeNumber": "7"}})
        uid = u["id"]
        r = self.get("/Users/%s%s" % (uid, qs(attributes="userName"))).json
        self.assertEqual(r["id"], uid)          # returned "always"
        self.assertEqual(r["userName"], t)
        for k in ("name", "title", "emails", URN_ENT):
            self.assertNotIn(k, r)
        r = self.get("/Users/%s%s" % (
            uid, qs(attributes="name.givenName,EMAILS"))).json
        self.assertEqual(r["name"], {"givenName": "G"})
        self.assertEqual(r["emails"][0]["value"], "e@x.example")
        self.assertNotIn("title", r)
        r = self.get("/Users/%s%s" % (
            uid, qs(attributes=URN_ENT + ":department"))).json
        self.assertEqual(r[URN_ENT], {"department": "D"})
        self.assertNotIn("title", r)
        r = self.get("/Users/%s%s" % (
            uid, qs(excludedAttributes="emails,name.familyName,id"))).json
        self.assertEqual(r["id"], uid)          # "always" beats excluded
        self.assertNotIn("emails", r)
        self.assertEqual(r["name"], {"givenName": "G"})
        self.assertEqual(r["title"], "T")
        self.assertEqual(r[URN_ENT]["employeeNumber"], "7")
        r = self.get("/Users/%s%s" % (uid, qs(excludedAttributes=URN_ENT))).json
        self.assertNotIn(URN_ENT, r)
        self.assertEqual(r["userName"], t)
        # The same on a list.
        lst = self.search("Users", 'userName eq "%s"' % t,
                          attributes="userName,title")
        res = lst["Resources"][0]
        self.assertEqual((res["id"], res["userName"], res["title"]),
                         (uid, t, "T"))
        self.assertNotIn("name", res)
        self.assertNotIn("emails", res)

    def test_delete_then_everything_404(self):
        u = self.create_user(tag("del"))
        uid = u["id"]
        resp = self.request("DELETE", "/Users/" + uid)
        self.assertEqual(resp.status, 204, resp)
        self.assertEqual(resp.raw, b"")
        self.assertScimError(self.get("/Users/" + uid), 404)
        self.assertScimError(self.request("PUT", "/Users/" + uid, {
            "schemas": [URN_USER], "userName": "x" + uid}), 404)
        self.assertScimError(self.patch("Users", uid, {
            "op": "replace", "path": "title", "value": "x"}), 404)
        self.assertScimError(self.request("DELETE", "/Users/" + uid), 404)
        self.assertEqual(self.search(
            "Users", 'id eq "%s"' % uid)["totalResults"], 0)
        # A PUT must not resurrect the resource.
        self.assertScimError(self.get("/Users/" + uid), 404)

    def test_unknown_id_404(self):
        self.assertScimError(
            self.get("/Users/7c6d3e2a-0000-4000-8000-000000000000"), 404)
        self.assertScimError(
            self.get("/Groups/7c6d3e2a-0000-4000-8000-000000000000"), 404)

    def test_eligibility_extension_round_trip(self):
        schema = self.get("/Schemas/" + URN_ELIG).json
        values = {}
        for a in schema["attributes"]:
            if a["mutability"] in ("readOnly",) or a["type"] in (
                    "complex", "reference", "binary"):
                continue
            if a.get("canonicalValues"):
                v = a["canonicalValues"][0]
            elif a["type"] == "string":
                v = ("1990-05-17" if "date" in a["name"].lower()
                     else "val-" + a["name"])
            elif a["type"] == "dateTime":
                v = "2021-03-04T05:06:07Z"
            elif a["type"] == "boolean":
                v = True
            elif a["type"] == "integer":
                v = 7
            else:
                v = 1.5
            values[a["name"]] = [v] if a["multiValued"] else v
        self.assertTrue(values, "no writable eligibility attributes")
        t = tag("el")
        u = self.create_user(t, **{URN_ELIG: values})
        self.assertIn(URN_ELIG, u["schemas"])
        got = self.get_user(u["id"])[URN_ELIG]
        for name, v in values.items():
            a = find_attr(schema["attributes"], name)
            self.assertIn(name, got, "eligibility %s not stored" % name)
            if a["type"] == "dateTime" and not a["multiValued"]:
                self.assertEqual(parse_dt(got[name]), parse_dt(v), name)
            else:
                self.assertEqual(got[name], v, name)
        # A URN-qualified filter on an extension attribute finds it.
        for name, v in values.items():
            a = find_attr(schema["attributes"], name)
            if a["type"] == "string" and not a["multiValued"]:
                ids = self.ids("Users", '%s:%s eq "%s" and userName eq "%s"'
                               % (URN_ELIG, name, v, t))
                self.assertEqual(ids, [u["id"]], name)
                break
        # PATCH by URN path (a free-text string attribute, if any).
        name = next((n for n, v in values.items()
                     if find_attr(schema["attributes"], n)["type"] == "string"
                     and not find_attr(schema["attributes"], n).get(
                         "canonicalValues")
                     and "date" not in n.lower()
                     and not isinstance(v, list)), None)
        if name is not None:
            got = self.patch_ok("Users", u["id"], {
                "op": "replace", "path": "%s:%s" % (URN_ELIG, name),
                "value": "patched"})
            self.assertEqual(got[URN_ELIG][name], "patched")


# --------------------------------------------------------------------------
class FilterTest(ScimTestCase):
    """RFC 7644 §3.4.2.2: every operator, logic, grouping, value paths,
    URN-qualified names, dates and the case rules of RFC 7643 §2.1/§2.2."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        t = cls.t = tag("f")
        c = cls.ccreate_user
        cls.u = {}
        cls.u["alice"] = c(
            t + "-alice@example.com", active=True, title="Engineer",
            nickName="al", externalId=t + "-ext-ALICE",
            name={"givenName": "Alice", "familyName": "Anders"},
            emails=[{"value": "alice@example.com", "type": "work",
                     "primary": True},
                    {"value": "alice@home.org", "type": "home"}],
            **{URN_ENT: {"department": "R&D", "employeeNumber": "1001"}})
        cls.u["bob"] = c(
            t + "-bob@example.com", active=False, title="Manager",
            externalId=t + "-ext-bob",
            name={"givenName": "Bob", "familyName": "Brown"},
            emails=[{"value": "bob@corp.example.net", "type": "work"}],
            **{URN_ENT: {"department": "Sales", "employeeNumber": "1002"}})
        cls.u["carol"] = c(
            t + "-carol@example.com", active=True,
            name={"givenName": "Carol", "familyName": "Clark"},
            emails=[{"value": "carol@example.com", "type": "home"}],
            **{URN_ENT: {"department": "R&D"}})
        # Make Dave's timestamps strictly later than everyone else's.
        time.sleep(1.2)
        cls.u["dave"] = c(
            t + "-dave@example.org", active=True, title="Engineer",
            name={"givenName": "Dave", "familyName": "Davis"})
        cls.by_id = {v["id"]: k for k, v in cls.u.items()}

    def match(self, filt):
        scoped = '(%s) and userName sw "%s-"' % (filt, self.t)
        body = self.search("Users", scoped)
        self.assertEqual(body["totalResults"], len(body.get("Resources", [])),
                         scoped)
        return {self.by_id.get(r["id"], r["id"])
                for r in body.get("Resources", [])}

    def check(self, cases):
        for filt, want in cases:
            with self.subTest(filter=filt):
                self.assertEqual(self.match(filt), set(want), filt)

    def test_comparison_operators(self):
        t = self.t
        self.check([
            ('userName eq "%s-alice@example.com"' % t, {"alice"}),
            ('name.familyName ne "Anders"', {"bob", "carol", "dave"}),
            ('userName co "example.com"', {"alice", "bob", "carol"}),
            ('userName sw "%s-b"' % t, {"bob"}),
            ('userName ew "@example.org"', {"dave"}),
            ('title pr', {"alice", "bob", "dave"}),
            ('emails pr', {"alice", "bob", "carol"}),
            ('nickName pr', {"alice"}),
            ('name.givenName gt "Bob"', {"carol", "dave"}),
            ('name.givenName ge "Bob"', {"bob", "carol", "dave"}),
            ('name.givenName lt "Bob"', {"alice"}),
            ('name.givenName le "Bob"', {"alice", "bob"}),
            ('active eq true', {"alice", "carol", "dave"}),
            ('active eq false', {"bob"}),
            ('active ne true', {"bob"}),
            ('id eq "%s"' % self.u["bob"]["id"], {"bob"}),
        ])

    def test_case_rules(self):
        t = self.t
        self.check([
            # caseExact=false attribute values compare case-insensitively.
            ('userName eq "%s-ALICE@EXAMPLE.COM"' % t.upper(), {"alice"}),
            ('userName co "EXAMPLE.COM"', {"alice", "bob", "carol"}),
            ('name.familyName sw "d"', {"dave"}),
            ('title eq "engineer"', {"alice", "dave"}),
            ('name.givenName le "bob"', {"alice", "bob"}),
            # Attribute names and operators are case-insensitive.
            ('USERNAME eq "%s-alice@example.com"' % t, {"alice"}),
            ('Name.GivenName EQ "Alice"', {"alice"}),
            ('title Eq "Engineer" AND active EQ true', {"alice", "dave"}),
            ('emails[TYPE eq "WORK"]', {"alice", "bob"}),
            # externalId is caseExact (RFC 7643 §3.1).
            ('externalId eq "%s-ext-ALICE"' % t, {"alice"}),
            ('externalId eq "%s-ext-alice"' % t, set()),
        ])

    def test_logic_and_grouping(self):
        self.check([
            ('title eq "Engineer" and active eq true', {"alice", "dave"}),
            ('name.givenName eq "Alice" or name.givenName eq "Bob"',
             {"alice", "bob"}),
            # "not" matches where the inner expression is not true,
            # including where the attribute is absent (Carol has no title).
            ('not (title eq "Engineer")', {"bob", "carol"}),
            ('not(title pr)', {"carol"}),
            # "and" binds tighter than "or".
            ('active eq true or name.givenName eq "Bob" and title eq "Engineer"',
             {"alice", "carol", "dave"}),
            ('(active eq true or name.givenName eq "Bob") and title eq "Engineer"',
             {"alice", "dave"}),
            ('title eq "Engineer" and active eq true or name.givenName eq "Bob"',
             {"alice", "bob", "dave"}),
            ('not (active eq true) and title pr', {"bob"}),
            ('((name.givenName eq "Alice"))', {"alice"}),
            ('name.givenName eq "Alice" and (title eq "Manager" or nickName eq "al")',
             {"alice"}),
        ])

    def test_value_paths_and_sub_attributes(self):
        self.check([
            ('emails[type eq "work" and value co "@example.com"]', {"alice"}),
            ('emails[type eq "work"]', {"alice", "bob"}),
            ('emails[value ew ".org" or value ew ".net"]', {"alice", "bob"}),
            ('emails[not (type eq "work")]', {"alice", "carol"}),
            ('emails.value co "home.org"', {"alice"}),
            ('emails.type eq "home"', {"alice", "carol"}),
            ('emails[type eq "home"] and name.givenName eq "Carol"', {"carol"}),
            ('emails[type eq "work" and primary eq true]', {"alice"}),
        ])

    def test_urn_qualified_attributes(self):
        t = self.t
        self.check([
            ('%s:department eq "R&D"' % URN_ENT, {"alice", "carol"}),
            ('%s:employeeNumber eq "1002"' % URN_ENT, {"bob"}),
            ('%s:department pr' % URN_ENT, {"alice", "bob", "carol"}),
            ('%s:userName eq "%s-bob@example.com"' % (URN_USER, t), {"bob"}),
            ('%s:name.givenName eq "Carol"' % URN_USER, {"carol"}),
        ])

    def test_datetime_comparisons(self):
        carol = parse_dt(self.u["carol"]["meta"]["lastModified"])
        dave_s = self.u["dave"]["meta"]["lastModified"]
        dave = parse_dt(dave_s)
        self.assertGreater(dave, carol)
        mid = carol + (dave - carol) / 2
        self.check([
            ('meta.lastModified gt "%s"' % fmt_dt(mid), {"dave"}),
            # The same instant written with a +05:00 offset compares as an
            # instant, not as text.
            ('meta.lastModified gt "%s"' % fmt_dt(mid, 5), {"dave"}),
            ('meta.lastModified lt "%s"' % fmt_dt(mid, -5),
             {"alice", "bob", "carol"}),
            ('meta.created lt "%s"' % fmt_dt(mid), {"alice", "bob", "carol"}),
            ('meta.lastModified ge "%s"' % dave_s, {"dave"}),
            ('meta.created gt "2000-01-01T00:00:00Z"',
             {"alice", "bob", "carol", "dave"}),
            ('meta.created le "2000-01-01T00:00:00Z"', set()),
        ])

    def test_invalid_filters(self):
        bad = [
            'userName eq',
            'userName xx "a"',
            '(userName eq "a"',
            'userName eq "a")',
            'userName eq "unterminated',
            'emails[type eq "work"',
            'and',
            'userName eq "a" and',
            'userName eq "a" or or title pr',
            'userName eq bareword',
            '"a" eq userName',
            'not userName eq "a"',
            'emails[type eq "work"]]',
            'active gt true',   # RFC 7644: gt on a Boolean is invalidFilter
            '',
        ]
        for filt in bad:
            with self.subTest(filter=filt):
                resp = self.get("/Users" + qs(filter=filt))
                self.assertScimError(resp, 400, "invalidFilter")

    def test_groups_filter_by_member(self):
        # Own users, so the fixture's timestamps stay untouched.
        t = tag("fg")
        a, b, c = (self.create_user("%s-%s" % (t, x))["id"] for x in "abc")
        g = self.create_group("flt " + t, [a, b])
        other = self.create_group("flt2 " + t, [c])
        self.assertEqual(self.ids("Groups", 'members.value eq "%s"' % b),
                         [g["id"]])
        self.assertEqual(self.ids("Groups", 'members[value eq "%s"]' % c),
                         [other["id"]])
        self.assertEqual(self.ids("Groups", 'displayName sw "flt" and '
                                  'displayName co "%s"' % t,
                                  sortBy="displayName"),
                         [g["id"], other["id"]])


# --------------------------------------------------------------------------
class PagingSortSearchTest(ScimTestCase):
    """RFC 7644 §3.4.2.3 sorting, §3.4.2.4 index paging, §3.4.3 POST
    .search, RFC 9865 cursors."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        t = cls.t = tag("pg")
        givens = ["Eve", "Dan", "Cat", "Bea", "Abe"]
        cls.names = ["%s-%s" % (t, c) for c in "abcde"]
        cls.ids_by_name = {}
        for n, g in zip(cls.names, givens):
            u = cls.ccreate_user(n, name={"givenName": g})
            cls.ids_by_name[n] = u["id"]
        cls.filt = 'userName sw "%s-"' % t

    def page(self, **params):
        return self.search("Users", self.filt, **params)

    def names_of(self, body):
        return [r["userName"] for r in body.get("Resources", [])]

    def test_sort(self):
        self.assertEqual(self.names_of(self.page(sortBy="userName")),
                         self.names)
        self.assertEqual(self.names_of(self.page(sortBy="userName",
                                                 sortOrder="ascending")),
                         self.names)
        self.assertEqual(self.names_of(self.page(sortBy="userName",
                                                 sortOrder="descending")),
                         self.names[::-1])
        self.assertEqual(self.names_of(self.page(sortBy="name.givenName")),
                         self.names[::-1])
        self.assertEqual(self.names_of(self.page(sortBy="USERNAME",
                                                 sortOrder="descending")),
                         self.names[::-1])

    def test_index_paging(self):
        body = self.page(sortBy="userName", startIndex=2, count=2)
        self.assertEqual(self.names_of(body), self.names[1:3])
        self.assertEqual(body["totalResults"], 5)
        self.assertEqual(body["startIndex"], 2)
        self.assertEqual(body["itemsPerPage"], 2)
        body = self.page(sortBy="userName", startIndex=5, count=2)
        self.assertEqual(self.names_of(body), self.names[4:])
        self.assertEqual(body["itemsPerPage"], 1)
        body = self.page(sortBy="userName", startIndex=6, count=2)
        self.assertEqual(self.names_of(body), [])
        self.assertEqual(body["totalResults"], 5)

    def test_count_zero_and_negative(self):
        for count in (0, -1):
            with self.subTest(count=count):
                body = self.page(count=count)
                self.assertEqual(body["totalResults"], 5)
                self.assertEqual(body.get("Resources", []), [])
                self.assertEqual(body.get("itemsPerPage", 0), 0)

    def test_start_index_below_one_is_one(self):
        for start in (0, -3):
            with self.subTest(startIndex=start):
                body = self.page(sortBy="userName", startIndex=start, count=2)
                self.assertEqual(self.names_of(body), self.names[:2])
                self.assertEqual(body["startIndex"], 1)

    def follow_cursor(self, first_path, path_for):
        resp = self.get(first_path)
        pages = []
        for _ in range(20):
            body = self.assertListResponse(resp)
            pages.append(body)
            self.assertLessEqual(len(body.get("Resources", [])), 2)
            if "totalResults" in body:
                self.assertEqual(body["totalResults"], 5)
            nxt = body.get("nextCursor")
            if not nxt:
                break
            resp = self.get(path_for(nxt))
        else:
            self.fail("cursor pagination did not end")
        return pages

    def test_cursor_pagination(self):
        f = qs(filter=self.filt)[1:]
        for first in ("cursor", "cursor="):
            with self.subTest(first=first):
                pages = self.follow_cursor(
                    "/Users?%s&%s&count=2&sortBy=userName" % (f, first),
                    lambda c: "/Users?%s&cursor=%s&count=2&sortBy=userName"
                    % (f, c))
                got = [n for p in pages for n in self.names_of(p)]
                self.assertEqual(len(got), len(set(got)), "duplicates: %s" % got)
                self.assertEqual(set(got), set(self.names))
                self.assertGreaterEqual(len(pages), 3)
                self.assertTrue(pages[0].get("nextCursor"))
                self.assertNotIn("nextCursor", pages[-1])
                # RFC 9865 §2.3: with sorting, cursor pages are sorted.
                self.assertEqual(got, self.names)

    def test_cursor_covers_everyone_unsorted(self):
        f = qs(filter=self.filt)[1:]
        pages = self.follow_cursor(
            "/Users?%s&cursor&count=2" % f,
            lambda c: "/Users?%s&cursor=%s&count=2" % (f, c))
        got = [n for p in pages for n in self.names_of(p)]
        self.assertEqual(sorted(got), self.names)

    def test_invalid_cursor(self):
        f = qs(filter=self.filt)[1:]
        for junk in ("garbage", "bm90LWEtY3Vyc29y", "~~~"):
            with self.subTest(cursor=junk):
                resp = self.get("/Users?%s&cursor=%s&count=2" % (f, junk))
                self.assertScimError(resp, 400, "invalidCursor")

    def test_cursor_count(self):
        # RFC 9865 §2.1 invalidCount: with a cursor, count must be 0 to
        # maxPageSize and the same on every page as on the first.
        f = qs(filter=self.filt)[1:]
        for count in ("abc", "-1", "1001"):
            with self.subTest(count=count):
                resp = self.get("/Users?%s&cursor&count=%s" % (f, count))
                self.assertScimError(resp, 400, "invalidCount")
        first = self.get("/Users?%s&cursor&count=2" % f).json
        nxt = first["nextCursor"]
        for other in ("&count=3", ""):
            with self.subTest(next_page=other or "no count"):
                resp = self.get("/Users?%s&cursor=%s%s" % (f, nxt, other))
                self.assertScimError(resp, 400, "invalidCount")
        self.assertEqual(len(self.get("/Users?%s&cursor=%s&count=2" % (
            f, nxt)).json["Resources"]), 2)
        # The same through POST .search.
        for count in ("abc", 1001):
            with self.subTest(search_count=count):
                resp = self.request("POST", "/Users/.search", {
                    "schemas": [URN_SEARCH], "filter": self.filt,
                    "cursor": "", "count": count})
                self.assertScimError(resp, 400, "invalidCount")
        # Index pagination keeps RFC 7644's reading (no error).
        body = self.get("/Users?%s&startIndex=1&count=5000" % f).json
        self.assertEqual(body["totalResults"], 5)
        self.assertEqual(self.get("/Users?%s&count=-1" % f).json[
            "itemsPerPage"], 0)

    def test_search_post(self):
        resp = self.request("POST", "/Users/.search", {
            "schemas": [URN_SEARCH],
            "attributes": ["userName"],
            "filter": self.filt,
            "sortBy": "userName", "sortOrder": "descending",
            "startIndex": 2, "count": 2})
        body = self.assertListResponse(resp)
        self.assertEqual(self.names_of(body), self.names[::-1][1:3])
        self.assertEqual(body["totalResults"], 5)
        for r in body["Resources"]:
            self.assertNotIn("name", r)
            self.assertTrue(r["id"])
        resp = self.request("POST", "/Users/.search", {
            "schemas": [URN_SEARCH], "filter": self.filt,
            "excludedAttributes": ["name"]})
        body = self.assertListResponse(resp)
        self.assertEqual(sorted(self.names_of(body)), self.names)
        self.assertFalse(any("name" in r for r in body["Resources"]))

    def test_search_post_cursor(self):
        body = self.assertListResponse(self.request(
            "POST", "/Users/.search", {"schemas": [URN_SEARCH],
                                       "filter": self.filt, "cursor": "",
                                       "count": 2}))
        got = self.names_of(body)
        for _ in range(10):
            if not body.get("nextCursor"):
                break
            body = self.assertListResponse(self.request(
                "POST", "/Users/.search", {"schemas": [URN_SEARCH],
                                           "filter": self.filt,
                                           "cursor": body["nextCursor"],
                                           "count": 2}))
            got += self.names_of(body)
        self.assertEqual(sorted(got), self.names)

    def test_root_search(self):
        name = self.names[2]
        resp = self.request("POST", "/.search", {
            "schemas": [URN_SEARCH], "filter": 'userName eq "%s"' % name})
        body = self.assertListResponse(resp)
        self.assertEqual([r["id"] for r in body["Resources"]],
                         [self.ids_by_name[name]])
        self.assertEqual(body["Resources"][0]["meta"]["resourceType"], "User")

    def test_search_bad_filter(self):
        resp = self.request("POST", "/Users/.search", {
            "schemas": [URN_SEARCH], "filter": 'userName eq'})
        self.assertScimError(resp, 400, "invalidFilter")


# --------------------------------------------------------------------------
class PatchTest(ScimTestCase):
    """RFC 7644 §3.5.2."""

    def new_user(self):
        return self.create_user(
            tag("pa"), title="Old", name={"givenName": "G", "familyName": "F"},
            emails=[{"value": "w@example.com", "type": "work",
                     "primary": True},
                    {"value": "h@example.org", "type": "home"}])

    def emails(self, u):
        return sorted((e["type"], e["value"]) for e in u.get("emails", []))

    def test_add_to_multi_valued_appends(self):
        u = self.new_user()
        got = self.patch_ok("Users", u["id"], {
            "op": "add", "path": "emails",
            "value": [{"value": "o@example.net", "type": "other"}]})
        self.assertEqual(self.emails(got), [
            ("home", "h@example.org"), ("other", "o@example.net"),
            ("work", "w@example.com")])

    def test_add_without_path(self):
        u = self.new_user()
        got = self.patch_ok("Users", u["id"], {
            "op": "add", "value": {"nickName": "nn", "title": "New",
                                   "name": {"middleName": "M"}}})
        self.assertEqual(got["nickName"], "nn")
        self.assertEqual(got["title"], "New")
        self.assertEqual(got["name"], {"givenName": "G", "familyName": "F",
                                       "middleName": "M"})

    def test_replace_value_filtered_sub_attribute(self):
        u = self.new_user()
        got = self.patch_ok("Users", u["id"], {
            "op": "replace", "path": 'emails[type eq "work"].value',
            "value": "changed@example.com"})
        self.assertEqual(self.emails(got), [("home", "h@example.org"),
                                            ("work", "changed@example.com")])
        self.assertEqual([e["value"] for e in primaries(got["emails"])],
                         ["changed@example.com"])

    def test_replace_simple_and_complex(self):
        u = self.new_user()
        got = self.patch_ok("Users", u["id"],
                            {"op": "replace", "path": "name.familyName",
                             "value": "Newer"},
                            {"op": "replace", "path": "title", "value": "T2"})
        self.assertEqual(got["name"], {"givenName": "G", "familyName": "Newer"})
        self.assertEqual(got["title"], "T2")
        # replace on a complex attribute: named sub-attributes are
        # replaced, the others left unchanged (RFC 7644 §3.5.2.3).
        got = self.patch_ok("Users", u["id"], {
            "op": "replace", "path": "name", "value": {"givenName": "Only"}})
        self.assertEqual(got["name"], {"givenName": "Only",
                                       "familyName": "Newer"})
        # replace of a whole multi-valued attribute replaces all values.
        got = self.patch_ok("Users", u["id"], {
            "op": "replace", "path": "emails",
            "value": [{"value": "solo@example.com", "type": "work"}]})
        self.assertEqual(self.emails(got), [("work", "solo@example.com")])

    def test_replace_missing_attribute_adds(self):
        u = self.new_user()
        got = self.patch_ok("Users", u["id"], {
            "op": "replace", "path": "nickName", "value": "added"})
        self.assertEqual(got["nickName"], "added")

    def test_remove(self):
        u = self.new_user()
        got = self.patch_ok("Users", u["id"], {
            "op": "remove", "path": 'emails[type eq "home"]'})
        self.assertEqual(self.emails(got), [("work", "w@example.com")])
        got = self.patch_ok("Users", u["id"], {"op": "remove",
                                                "path": "title"})
        self.assertNotIn("title", got)
        got = self.patch_ok("Users", u["id"], {"op": "remove",
                                                "path": "name.givenName"})
        self.assertEqual(got["name"], {"familyName": "F"})
        got = self.patch_ok("Users", u["id"], {"op": "remove",
                                                "path": "emails"})
        self.assertNotIn("emails", got)

    def test_remove_complex_attribute(self):
        boss = self.create_user(tag("boss"))
        u = self.create_user(tag("pa"), name={"givenName": "G"},
                             **{URN_ENT: {"department": "D",
                                          "manager": {"value": boss["id"]}}})
        got = self.patch_ok("Users", u["id"], {"op": "remove",
                                                "path": "name"})
        self.assertNotIn("name", got)
        got = self.patch_ok("Users", u["id"], {"op": "remove",
                                                "path": URN_ENT + ":manager"})
        self.assertEqual(got[URN_ENT], {"department": "D"})

    def test_no_target(self):
        u = self.new_user()
        # remove without a path.
        self.assertScimError(self.patch("Users", u["id"], {"op": "remove"}),
                             400, "noTarget")
        # replace through a value filter that matches nothing.
        self.assertScimError(self.patch("Users", u["id"], {
            "op": "replace", "path": 'emails[type eq "fax"].value',
            "value": "x"}), 400, "noTarget")
        self.assertEqual(self.emails(self.get_user(u["id"])),
                         [("home", "h@example.org"), ("work", "w@example.com")])

    def test_primary_is_exclusive(self):
        u = self.new_user()
        got = self.patch_ok("Users", u["id"], {
            "op": "add", "path": "emails",
            "value": [{"value": "p@example.net", "type": "other",
                       "primary": True}]})
        self.assertEqual([e["value"] for e in primaries(got["emails"])],
                         ["p@example.net"])
        got = self.patch_ok("Users", u["id"], {
            "op": "replace", "path": 'emails[type eq "home"].primary',
            "value": True})
        self.assertEqual([e["value"] for e in primaries(got["emails"])],
                         ["h@example.org"])
        self.assertEqual(len(got["emails"]), 3)

    def test_atomic(self):
        u = self.new_user()
        resp = self.patch("Users", u["id"],
                          {"op": "replace", "path": "title", "value": "NEW"},
                          {"op": "replace",
                           "path": 'emails[type eq "fax"].value',
                           "value": "x"})
        self.assertScimError(resp, 400, "noTarget")
        got = self.get_user(u["id"])
        self.assertEqual(got["title"], "Old")
        self.assertEqual(got["meta"]["version"], u["meta"]["version"])

    def test_bad_requests(self):
        u = self.new_user()
        uid = u["id"]
        # A malformed filter inside a path: RFC 7644 Table 9 allows
        # invalidFilter ("PATCH (Path Filter)") as well as invalidPath.
        resp = self.patch("Users", uid, {
            "op": "replace", "path": 'emails[type eq "work"', "value": "x"})
        self.assertScimError(resp, 400)
        self.assertIn(resp.json.get("scimType"), ("invalidPath",
                                                  "invalidFilter"))
        # Paths that break Figure 7's grammar outright.
        for path in ("name.givenName.extra", ".title", "1title",
                     'emails[type eq "work"]]'):
            with self.subTest(path=path):
                self.assertScimError(self.patch("Users", uid, {
                    "op": "replace", "path": path, "value": "x"}),
                    400, "invalidPath")
        self.assertScimError(self.patch("Users", uid, {
            "op": "frobnicate", "path": "title", "value": "x"}), 400)
        self.assertScimError(self.patch("Users", uid, {
            "op": "replace", "path": "id", "value": "another-id"}),
            400, "mutability")
        self.assertScimError(self.patch("Users", uid, {
            "op": "replace", "path": "active", "value": "sometimes"}),
            400, "invalidValue")
        self.assertScimError(self.request("PATCH", "/Users/" + uid, {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}),
            400, "invalidSyntax")
        self.assertScimError(self.patch("Users", uid, {
            "op": "replace", "path": "userName", "value": ""}),
            400, "invalidValue")
        self.assertEqual(self.get_user(uid)["meta"]["version"],
                         u["meta"]["version"])

    def test_extension_paths(self):
        u = self.new_user()
        got = self.patch_ok("Users", u["id"], {
            "op": "add", "path": URN_ENT + ":department", "value": "Ops"})
        self.assertEqual(got[URN_ENT]["department"], "Ops")
        self.assertIn(URN_ENT, got["schemas"])
        got = self.patch_ok("Users", u["id"], {
            "op": "add", "path": URN_ENT, "value": {"costCenter": "42"}})
        self.assertEqual(got[URN_ENT], {"department": "Ops", "costCenter": "42"})
        got = self.patch_ok("Users", u["id"], {
            "op": "remove", "path": URN_ENT + ":department"})
        self.assertEqual(got[URN_ENT], {"costCenter": "42"})

    def test_patch_returns_resource_or_204(self):
        u = self.new_user()
        resp = self.patch("Users", u["id"], {"op": "replace", "path": "title",
                                             "value": "R"})
        self.assertIn(resp.status, (200, 204), resp)
        if resp.status == 200:
            self.assertEqual(resp.json["title"], "R")
            self.assertEqual(resp.header("ETag"), resp.json["meta"]["version"])
        else:
            self.assertEqual(resp.raw, b"")


# --------------------------------------------------------------------------
class ETagTest(ScimTestCase):
    """RFC 7644 §3.14."""

    def test_if_none_match(self):
        u = self.create_user(tag("et"))
        etag = u["meta"]["version"]
        resp = self.get("/Users/" + u["id"], headers={"If-None-Match": etag})
        self.assertEqual(resp.status, 304, resp)
        self.assertEqual(resp.raw, b"")
        resp = self.get("/Users/" + u["id"],
                        headers={"If-None-Match": 'W/"not-the-version"'})
        self.assertEqual(resp.status, 200, resp)
        g = self.create_group(tag("etg"))
        resp = self.get("/Groups/" + g["id"],
                        headers={"If-None-Match": g["meta"]["version"]})
        self.assertEqual(resp.status, 304, resp)

    def test_if_match(self):
        u = self.create_user(tag("et"), title="A")
        uid, v1 = u["id"], u["meta"]["version"]
        bogus = 'W/"not-the-version"'
        self.assertScimError(self.request(
            "PUT", "/Users/" + uid,
            {"schemas": [URN_USER], "userName": u["userName"], "title": "B"},
            headers={"If-Match": bogus}), 412)
        self.assertScimError(self.patch(
            "Users", uid, {"op": "replace", "path": "title", "value": "B"},
            headers={"If-Match": bogus}), 412)
        self.assertScimError(self.request(
            "DELETE", "/Users/" + uid, headers={"If-Match": bogus}), 412)
        got = self.get_user(uid)
        self.assertEqual(got["title"], "A")
        self.assertEqual(got["meta"]["version"], v1)

        resp = self.patch("Users", uid, {"op": "replace", "path": "title",
                                         "value": "C"},
                          headers={"If-Match": v1})
        self.assertIn(resp.status, (200, 204), resp)
        v2 = self.get_user(uid)["meta"]["version"]
        self.assertNotEqual(v2, v1)
        if resp.status == 200:
            self.assertEqual(resp.header("ETag"), v2)
        # The old version no longer matches.
        self.assertScimError(self.patch(
            "Users", uid, {"op": "replace", "path": "title", "value": "D"},
            headers={"If-Match": v1}), 412)
        self.assertScimError(self.request(
            "DELETE", "/Users/" + uid, headers={"If-Match": v1}), 412)
        resp = self.request("DELETE", "/Users/" + uid, headers={"If-Match": v2})
        self.assertEqual(resp.status, 204, resp)

    def test_concurrent_if_match_one_winner(self):
        # Two writers holding the same version: exactly one may win.
        u = self.create_user(tag("etc"), title="start")
        v1 = u["meta"]["version"]
        port, token = self.port, self.token

        def write(i):
            return http_request(port, "PATCH", "/Users/" + u["id"], {
                "schemas": [URN_PATCH],
                "Operations": [{"op": "replace", "path": "title",
                                "value": "w%d" % i}]},
                token=token, headers={"If-Match": v1})

        with ThreadPoolExecutor(8) as ex:
            results = list(ex.map(write, range(8)))
        codes = [r.status for r in results]
        won = [i for i, c in enumerate(codes) if c in (200, 204)]
        self.assertEqual(len(won), 1, codes)
        self.assertEqual(codes.count(412), 7, codes)
        self.assertEqual(self.get_user(u["id"])["title"], "w%d" % won[0])

    def test_version_changes_with_every_write(self):
        u = self.create_user(tag("et"))
        seen = {u["meta"]["version"]}
        for i in range(3):
            got = self.patch_ok("Users", u["id"], {
                "op": "replace", "path": "title", "value": "t%d" % i})
            self.assertNotIn(got["meta"]["version"], seen)
            seen.add(got["meta"]["version"])
            resp = self.get("/Users/" + u["id"])
            self.assertEqual(resp.header("ETag"), got["meta"]["version"])


# --------------------------------------------------------------------------
class BulkTest(ScimTestCase):
    """RFC 7644 §3.7."""

    def bulk(self, ops, fail_on_errors=None):
        body = {"schemas": [URN_BULKREQ], "Operations": ops}
        if fail_on_errors is not None:
            body["failOnErrors"] = fail_on_errors
        resp = self.request("POST", "/Bulk", body)
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json["schemas"], [URN_BULKRESP])
        return resp.json["Operations"]

    def user_op(self, name, bulk_id=None):
        op = {"method": "POST", "path": "/Users",
              "data": {"schemas": [URN_USER], "userName": name}}
        if bulk_id:
            op["bulkId"] = bulk_id
        return op

    def exists(self, name):
        return self.search("Users", 'userName eq "%s"' % name)["totalResults"]

    def test_bulk_id_reference(self):
        t = tag("bk")
        ops = self.bulk([
            self.user_op(t + "-alice", "qwerty"),
            {"method": "POST", "path": "/Groups", "bulkId": "ytrewq",
             "data": {"schemas": [URN_GROUP], "displayName": "Tour " + t,
                      "members": [{"type": "User",
                                   "value": "bulkId:qwerty"}]}}])
        self.assertEqual(len(ops), 2)
        by_bulk = {o["bulkId"]: o for o in ops}
        for o in ops:
            self.assertEqual(str(o["status"]), "201", o)
            self.assertEqual(o["method"], "POST")
        uloc, gloc = by_bulk["qwerty"]["location"], by_bulk["ytrewq"]["location"]
        uid = uloc.rstrip("/").rsplit("/", 1)[1]
        gid = gloc.rstrip("/").rsplit("/", 1)[1]
        self.assertTrue(urlsplit(uloc).path.endswith("/Users/" + uid))
        self.assertTrue(urlsplit(gloc).path.endswith("/Groups/" + gid))
        user = self.get_user(uid)
        self.assertEqual(user["userName"], t + "-alice")
        if "version" in by_bulk["qwerty"]:
            self.assertEqual(by_bulk["qwerty"]["version"],
                             user["meta"]["version"])
        self.assertEqual(self.member_ids(self.get_group(gid)), [uid])
        self.assertEqual(self.group_ids_of(user), [gid])

    def test_forward_bulk_id_reference(self):
        # RFC 7644 §3.7.2: a bulkId may be referenced before the operation
        # that defines it.
        t = tag("bkf")
        ops = self.bulk([
            {"method": "POST", "path": "/Groups", "bulkId": "g1",
             "data": {"schemas": [URN_GROUP], "displayName": "Fwd " + t,
                      "members": [{"type": "User", "value": "bulkId:u1"}]}},
            self.user_op(t + "-u1", "u1")])
        self.assertEqual([str(o["status"]) for o in ops], ["201", "201"])
        gid = next(o for o in ops if o["bulkId"] == "g1")["location"].rsplit(
            "/", 1)[1]
        uid = next(o for o in ops if o["bulkId"] == "u1")["location"].rsplit(
            "/", 1)[1]
        self.assertEqual(self.member_ids(self.get_group(gid)), [uid])

    def test_post_needs_bulk_id(self):
        # RFC 7644 §3.7: "bulkId" is REQUIRED when "method" is "POST"; the
        # operation fails alone, and nothing is created.
        t = tag("bkn")
        ops = self.bulk([self.user_op(t + "-no-id"),
                         self.user_op(t + "-with-id", "w1")])
        self.assertEqual([str(o["status"]) for o in ops], ["400", "201"])
        self.assertNotIn("location", ops[0])
        err = ops[0]["response"]
        self.assertEqual(err["schemas"], [URN_ERROR])
        self.assertEqual(err["scimType"], "invalidSyntax")
        self.assertIn("bulkId", err["detail"])
        found = self.get("/Users?filter=" + quote(
            'userName eq "%s-no-id"' % t))
        self.assertEqual(found.json["totalResults"], 0)

    def test_put_patch_delete(self):
        t = tag("bkm")
        a = self.create_user(t + "-a")
        b = self.create_user(t + "-b")
        c = self.create_user(t + "-c")
        ops = self.bulk([
            {"method": "PATCH", "path": "/Users/" + a["id"],
             "data": patch_body({"op": "replace", "path": "title",
                                 "value": "Patched"})},
            {"method": "PUT", "path": "/Users/" + b["id"],
             "data": {"schemas": [URN_USER], "userName": t + "-b",
                      "title": "Put"}},
            {"method": "DELETE", "path": "/Users/" + c["id"]},
            {"method": "DELETE", "path": "/Users/" + c["id"]}])
        st = [str(o["status"]) for o in ops]
        self.assertIn(st[0], ("200", "204"))
        self.assertEqual(st[1], "200")
        self.assertEqual(st[2], "204")
        self.assertEqual(st[3], "404")
        self.assertEqual(ops[3]["response"]["schemas"], [URN_ERROR])
        self.assertEqual(self.get_user(a["id"])["title"], "Patched")
        self.assertEqual(self.get_user(b["id"])["title"], "Put")
        self.assertScimError(self.get("/Users/" + c["id"]), 404)

    def test_errors_without_fail_on_errors_all_processed(self):
        t = tag("bke")
        self.create_user(t + "-dup")
        ops = self.bulk([self.user_op(t + "-dup", "x1"),
                         self.user_op(t + "-ok", "x2")])
        self.assertEqual([str(o["status"]) for o in ops], ["409", "201"])
        err = ops[0]["response"]
        self.assertEqual(err["schemas"], [URN_ERROR])
        self.assertEqual(err["scimType"], "uniqueness")
        self.assertEqual(self.exists(t + "-ok"), 1)

    def test_fail_on_errors_stops(self):
        t = tag("bkf1")
        self.create_user(t + "-dup")
        ops = self.bulk([self.user_op(t + "-a", "a"),
                         self.user_op(t + "-dup", "b"),
                         self.user_op(t + "-c", "c"),
                         self.user_op(t + "-d", "d")], fail_on_errors=1)
        self.assertEqual([str(o["status"]) for o in ops], ["201", "409"])
        self.assertEqual(self.exists(t + "-a"), 1)
        self.assertEqual(self.exists(t + "-c"), 0)
        self.assertEqual(self.exists(t + "-d"), 0)

        t = tag("bkf2")
        self.create_user(t + "-dup")
        ops = self.bulk([self.user_op(t + "-dup", "a"),
                         self.user_op(t + "-b", "b"),
                         {"method": "POST", "path": "/Users", "bulkId": "c",
                          "data": {"schemas": [URN_USER]}},
                         self.user_op(t + "-d", "d")], fail_on_errors=2)
        self.assertEqual([str(o["status"]) for o in ops], ["409", "201", "400"])
        self.assertEqual(self.exists(t + "-b"), 1)
        self.assertEqual(self.exists(t + "-d"), 0)

    def test_max_operations(self):
        spc = self.service_provider_config()
        n = spc["bulk"]["maxOperations"] + 1
        t = tag("bkmax")
        body = {"schemas": [URN_BULKREQ], "Operations": [
            self.user_op("%s-%d" % (t, i), "b%d" % i) for i in range(n)]}
        raw = json.dumps(body).encode()
        if len(raw) > spc["bulk"]["maxPayloadSize"]:
            self.skipTest("maxOperations+1 operations exceed maxPayloadSize")
        resp = self.request("POST", "/Bulk", raw,
                            headers={"Content-Type": SCIM_JSON})
        self.assertScimError(resp, 413)
        self.assertEqual(self.search("Users", 'userName sw "%s-"' % t)
                         ["totalResults"], 0)

    def test_max_payload_size(self):
        spc = self.service_provider_config()
        limit = spc["bulk"]["maxPayloadSize"]
        self.assertLess(limit, 256 << 20, "maxPayloadSize unreasonably big")
        t = tag("bkpay")
        body = {"schemas": [URN_BULKREQ], "Operations": [{
            "method": "POST", "path": "/Users", "bulkId": "big",
            "data": {"schemas": [URN_USER], "userName": t,
                     "displayName": "x" * (limit + 1)}}]}
        resp = self.request("POST", "/Bulk", body)
        self.assertScimError(resp, 413)
        self.assertEqual(self.exists(t), 0)

    def test_bulk_bad_body(self):
        resp = self.request("POST", "/Bulk", b'{"schemas": [',
                            headers={"Content-Type": SCIM_JSON})
        self.assertScimError(resp, 400, "invalidSyntax")


# --------------------------------------------------------------------------
class GroupTest(ScimTestCase):
    """Groups, membership and the derived User.groups (RFC 7643 §4.1.2)."""

    def test_groups_attribute_is_derived(self):
        t = tag("gr")
        u = self.create_user(t)
        self.assertFalse(u.get("groups"))
        g1 = self.create_group("A " + t, [u["id"]])
        g2 = self.create_group("B " + t)
        self.patch_ok("Groups", g2["id"], {"op": "add", "path": "members",
                                           "value": [{"value": u["id"]}]})
        got = self.get_user(u["id"])
        self.assertEqual(self.group_ids_of(got), sorted([g1["id"], g2["id"]]))
        for ref in got["groups"]:
            if "display" in ref:
                self.assertIn(ref["display"], ("A " + t, "B " + t))
            if "$ref" in ref:
                self.assertTrue(urlsplit(ref["$ref"]).path.endswith(
                    "/Groups/" + ref["value"]))
        # Writing groups on the user is ignored (readOnly).
        resp = self.request("PUT", "/Users/" + u["id"], {
            "schemas": [URN_USER], "userName": t, "groups": []})
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(self.group_ids_of(self.get_user(u["id"])),
                         sorted([g1["id"], g2["id"]]))
        # Deleting a group drops it from the user.
        self.assertEqual(self.request("DELETE", "/Groups/" + g1["id"]).status,
                         204)
        self.assertEqual(self.group_ids_of(self.get_user(u["id"])), [g2["id"]])

    def test_put_group_replaces_members(self):
        t = tag("gp")
        a, b, c = (self.create_user("%s-%s" % (t, x)) for x in "abc")
        g = self.create_group("P " + t, [a["id"], b["id"]])
        self.assertEqual(self.member_ids(g), sorted([a["id"], b["id"]]))
        resp = self.request("PUT", "/Groups/" + g["id"], {
            "schemas": [URN_GROUP], "displayName": "P2 " + t,
            "members": [{"value": c["id"]}]})
        self.assertEqual(resp.status, 200, resp)
        got = self.get_group(g["id"])
        self.assertEqual(got["displayName"], "P2 " + t)
        self.assertEqual(self.member_ids(got), [c["id"]])
        self.assertEqual(self.group_ids_of(self.get_user(a["id"])), [])
        # replace on members with PATCH sets the whole list.
        got = self.patch_ok("Groups", g["id"], {
            "op": "replace", "path": "members",
            "value": [{"value": a["id"]}, {"value": b["id"]}]})
        self.assertEqual(self.member_ids(got), sorted([a["id"], b["id"]]))
        got = self.patch_ok("Groups", g["id"], {"op": "remove",
                                                "path": "members"})
        self.assertEqual(self.member_ids(got), [])

    def test_member_details(self):
        t = tag("gd")
        u = self.create_user(t + "-m")
        g = self.create_group("D " + t, [u["id"]])
        m = self.get_group(g["id"])["members"][0]
        self.assertEqual(m["value"], u["id"])
        if "type" in m:
            self.assertEqual(m["type"], "User")
        if "display" in m:
            self.assertEqual(m["display"], t + "-m")
        if "$ref" in m:
            self.assertTrue(urlsplit(m["$ref"]).path.endswith(
                "/Users/" + u["id"]))

    def test_concurrent_member_adds_all_land(self):
        # Membership changes from parallel requests must not be lost.
        t = tag("gc")
        users = [self.create_user("%s-%02d" % (t, i))["id"] for i in range(16)]
        g = self.create_group("C " + t)
        port, token = self.port, self.token

        def add(uid):
            return http_request(port, "PATCH", "/Groups/" + g["id"], {
                "schemas": [URN_PATCH],
                "Operations": [{"op": "add", "path": "members",
                                "value": [{"value": uid}]}]}, token=token)

        with ThreadPoolExecutor(16) as ex:
            codes = [r.status for r in ex.map(add, users)]
        self.assertTrue(all(c in (200, 204) for c in codes), codes)
        self.assertEqual(self.member_ids(self.get_group(g["id"])),
                         sorted(users))

    def test_display_name_filter_is_case_insensitive(self):
        t = tag("gci")
        g = self.create_group("Tour Guides " + t)
        self.assertEqual(self.ids("Groups", 'displayName eq "TOUR GUIDES %s"'
                                  % t.upper()), [g["id"]])

    def test_unknown_member_rejected(self):
        resp = self.request("POST", "/Groups", {
            "schemas": [URN_GROUP], "displayName": tag("gu"),
            "members": [{"value": "7c6d3e2a-0000-4000-8000-00000000dead"}]})
        self.assertScimError(resp, 400, "invalidValue")
        g = self.create_group(tag("gu"))
        resp = self.patch("Groups", g["id"], {
            "op": "add", "path": "members",
            "value": [{"value": "7c6d3e2a-0000-4000-8000-00000000dead"}]})
        self.assertScimError(resp, 400, "invalidValue")
        self.assertEqual(self.member_ids(self.get_group(g["id"])), [])

    def test_group_required_display_name(self):
        resp = self.request("POST", "/Groups", {"schemas": [URN_GROUP]})
        self.assertScimError(resp, 400, "invalidValue")

    def test_groups_list_attributes(self):
        t = tag("gl")
        u = self.create_user(t)
        g = self.create_group("L " + t, [u["id"]])
        lst = self.search("Groups", 'displayName eq "L %s"' % t,
                          excludedAttributes="members")
        self.assertEqual([r["id"] for r in lst["Resources"]], [g["id"]])
        self.assertNotIn("members", lst["Resources"][0])
        lst = self.search("Groups", 'displayName eq "L %s"' % t,
                          attributes="members")
        self.assertEqual(self.member_ids(lst["Resources"][0]), [u["id"]])
        self.assertNotIn("displayName", lst["Resources"][0])


# --------------------------------------------------------------------------
class ErrorTest(ScimTestCase):
    """RFC 7644 §3.12 and HTTP-level errors."""

    def test_malformed_json(self):
        for raw in (b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"',
                    b'{"userName": }', b"\xff\xfe", b"null"):
            with self.subTest(body=raw):
                resp = self.request("POST", "/Users", raw,
                                    headers={"Content-Type": SCIM_JSON})
                self.assertScimError(resp, 400, "invalidSyntax")
        resp = self.request("POST", "/Users", b"[]",
                            headers={"Content-Type": SCIM_JSON})
        self.assertScimError(resp, 400, "invalidSyntax")
        u = self.create_user(tag("er"))
        resp = self.request("PATCH", "/Users/" + u["id"], b"{not json",
                            headers={"Content-Type": SCIM_JSON})
        self.assertScimError(resp, 400, "invalidSyntax")
        resp = self.request("PUT", "/Users/" + u["id"], b"{not json",
                            headers={"Content-Type": SCIM_JSON})
        self.assertScimError(resp, 400, "invalidSyntax")

    def test_wrong_content_type(self):
        body = json.dumps({"schemas": [URN_USER], "userName": tag("ct")})
        resp = self.request("POST", "/Users", body,
                            headers={"Content-Type": "text/plain"})
        self.assertScimError(resp, 415)
        self.assertEqual(self.search(
            "Users", 'userName eq "%s"' % json.loads(body)["userName"])
            ["totalResults"], 0)

    def test_body_too_large(self):
        limit = self.service_provider_config()["bulk"]["maxPayloadSize"]
        size = min(max(4 * limit, 4 << 20), 64 << 20)
        t = tag("big")
        body = json.dumps({"schemas": [URN_USER], "userName": t,
                           "displayName": "x" * size}).encode()
        resp = self.request("POST", "/Users", body,
                            headers={"Content-Type": SCIM_JSON})
        self.assertScimError(resp, 413)
        self.assertEqual(self.search("Users", 'userName eq "%s"' % t)
                         ["totalResults"], 0)

    def test_headers_too_large(self):
        # evhttp keeps every header line until the blank line: without a
        # limit, a client (no token needed) could grow the server's memory
        # without bound. 64 KiB of headers are refused, and the connection
        # is closed; the server goes on serving.
        s = socket.create_connection(("127.0.0.1", self.port), 10)
        try:
            s.sendall(b"GET /scim/v2/Users?count=0 HTTP/1.1\r\n"
                      b"Host: x\r\n")
            sent = 0
            try:
                while sent < (8 << 20):
                    s.sendall(b"X-Filler: " + b"a" * 8000 + b"\r\n")
                    sent += 8012
            except OSError:
                pass  # refused and closed while we were still sending
            self.assertLess(sent, 4 << 20)
            try:
                reply = s.recv(200)
            except ConnectionResetError:
                reply = None  # the reset overtook the 400
            if reply is not None:
                self.assertTrue(reply.startswith(b"HTTP/1.1 400 "), reply)
        finally:
            s.close()
        self.assertEqual(self.get("/Users?count=0").status, 200)

    def test_unknown_endpoint(self):
        self.assertScimError(self.get("/Widgets"), 404)
        self.assertScimError(self.get("/Widgets/123"), 404)
        self.assertScimError(self.request("POST", "/Widgets", {"a": 1}), 404)
        self.assertScimError(self.get("/Users/a/b"), 404)

    def test_unsupported_operation(self):
        # RFC 7644 §3.12 keeps 501 for an operation the service provider
        # does not support at all ("e.g., PATCH"); rosterd supports every
        # method, only not on every path: that is 405 with Allow (RFC 9110
        # §15.5.6).
        r = self.request(
            "PATCH", "/ServiceProviderConfig",
            patch_body({"op": "replace", "path": "patch",
                        "value": {"supported": False}}))
        self.assertScimError(r, 405)
        self.assertEqual(r.header("Allow"), "GET, HEAD")
        self.assertScimError(self.request("DELETE", "/ServiceProviderConfig"),
                             405)
        self.assertScimError(self.request(
            "PUT", "/Schemas/" + URN_USER, {"schemas": [URN_SCHEMA]}), 405)
        spc = self.service_provider_config()
        self.assertIs(spc["patch"]["supported"], True)

    def test_list_response_is_well_formed(self):
        t = tag("lr")
        self.create_user(t)
        resp = self.get("/Users" + qs(filter='userName eq "%s"' % t))
        body = self.assertListResponse(resp)
        self.assertEqual(body["totalResults"], 1)
        self.assertEqual(body["startIndex"], 1)
        self.assertEqual(body["itemsPerPage"], 1)
        self.assertEqual(len(body["Resources"]), 1)
        self.assertTrue(resp.header("Content-Type").startswith(SCIM_JSON))
        self.assertIn(URN_LIST, body["schemas"])


# --------------------------------------------------------------------------
class LargeGroupTest(ScimTestCase):
    """1,000 users made through Bulk, one group holding them all."""

    N = 1000

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        spc = cls.creq("GET", "/ServiceProviderConfig").json
        cls.spc = spc
        max_ops = spc["bulk"]["maxOperations"]
        max_bytes = spc["bulk"]["maxPayloadSize"]
        t = cls.t = tag("lg")
        ops = [{"method": "POST", "path": "/Users", "bulkId": "u%d" % i,
                "data": {"schemas": [URN_USER],
                         "userName": "%s-%04d" % (t, i)}}
               for i in range(cls.N + 1)]
        cls.ids = []
        chunk = []

        def flush():
            body = {"schemas": [URN_BULKREQ], "Operations": chunk}
            resp = cls.creq("POST", "/Bulk", body)
            if resp.status != 200:
                raise AssertionError("bulk create: %r" % resp)
            for o in resp.json["Operations"]:
                if str(o["status"]) != "201":
                    raise AssertionError("bulk op: %r" % o)
                cls.ids.append(o["location"].rstrip("/").rsplit("/", 1)[1])

        for op in ops:
            size = len(json.dumps({"schemas": [URN_BULKREQ],
                                   "Operations": chunk + [op]}))
            if chunk and (len(chunk) >= max_ops or size > max_bytes * 0.9):
                flush()
                chunk = []
            chunk.append(op)
        if chunk:
            flush()
        if len(cls.ids) != cls.N + 1:
            raise AssertionError("made %d users" % len(cls.ids))
        cls.extra = cls.ids.pop()   # not in the group at first
        resp = cls.creq("POST", "/Groups", {"schemas": [URN_GROUP],
                                            "displayName": "Big " + t})
        cls.gid = resp.json["id"]
        for i in range(0, cls.N, 250):
            resp = cls.creq("PATCH", "/Groups/" + cls.gid, patch_body({
                "op": "add", "path": "members",
                "value": [{"value": v} for v in cls.ids[i:i + 250]]}))
            if resp.status not in (200, 204):
                raise AssertionError("fill group: %r" % resp)

    def test_group_holds_all(self):
        g = self.get_group(self.gid)
        self.assertEqual(self.member_ids(g), sorted(self.ids))
        self.assertEqual(self.group_ids_of(self.get_user(self.ids[500])),
                         [self.gid])

    def test_patch_one_member_is_fast(self):
        t0 = time.monotonic()
        resp = self.patch("Groups", self.gid, {
            "op": "add", "path": "members", "value": [{"value": self.extra}]})
        add_s = time.monotonic() - t0
        self.assertIn(resp.status, (200, 204), resp)
        self.assertLess(add_s, 1.0, "add one member to 1,000 took %.2f s"
                        % add_s)
        self.assertEqual(self.group_ids_of(self.get_user(self.extra)),
                         [self.gid])
        t0 = time.monotonic()
        resp = self.patch("Groups", self.gid, {
            "op": "remove", "path": 'members[value eq "%s"]' % self.extra})
        rm_s = time.monotonic() - t0
        self.assertIn(resp.status, (200, 204), resp)
        self.assertLess(rm_s, 1.0, "remove one member of 1,001 took %.2f s"
                        % rm_s)
        self.assertEqual(self.group_ids_of(self.get_user(self.extra)), [])
        self.assertEqual(len(self.get_group(self.gid)["members"]), self.N)

    def test_page_sizes_enforced(self):
        filt = 'userName sw "%s-"' % self.t
        body = self.search("Users", filt)
        self.assertEqual(body["totalResults"], self.N + 1)
        pag = self.spc.get("pagination", {})
        n = len(body.get("Resources", []))
        self.assertEqual(body["itemsPerPage"], n)
        self.assertGreater(n, 0)
        self.assertLessEqual(n, self.spc["filter"]["maxResults"])
        if "defaultPageSize" in pag:
            self.assertEqual(n, min(pag["defaultPageSize"], self.N + 1))
        body = self.search("Users", filt, count=100000)
        n = len(body.get("Resources", []))
        self.assertGreater(n, 0)
        self.assertLessEqual(n, self.spc["filter"]["maxResults"])
        if "maxPageSize" in pag:
            self.assertLessEqual(n, pag["maxPageSize"])
        self.assertEqual(body["totalResults"], self.N + 1)


if __name__ == "__main__":
    unittest.main()
