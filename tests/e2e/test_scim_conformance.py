# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
"""Points found by a conformance audit against RFC 7643, RFC 7644 and
RFC 9865: each test names the section it checks."""

from urllib.parse import quote

import harness
from harness import ScimTestCase, URN_BULKREQ, URN_USER


class BulkLocationTest(ScimTestCase):
    """RFC 7644 §3.7 ("location ... REQUIRED in a response, except in the
    event of a POST failure") and §3.7.3."""

    def bulk(self, ops):
        r = self.request("POST", "/Bulk", {"schemas": [URN_BULKREQ],
                                           "Operations": ops})
        self.assertStatus(r, 200)
        return r.json["Operations"]

    def test_every_operation_but_a_failed_post_has_a_location(self):
        t = harness.tag("bl")
        ops = self.bulk([
            {"method": "POST", "path": "/Users", "bulkId": "u1",
             "data": {"schemas": [URN_USER], "userName": t}},
            {"method": "PUT", "path": "/Users/bulkId:u1", "version": 'W/"9"',
             "data": {"schemas": [URN_USER], "userName": t}},
            {"method": "PATCH", "path": "/Users/no-such-user",
             "data": {"schemas": [harness.URN_PATCH], "Operations": [
                 {"op": "replace", "path": "title", "value": "x"}]}},
            {"method": "DELETE", "path": "/Users/bulkId:u1"},
            {"method": "POST", "path": "/Users", "bulkId": "u2",
             "data": {"schemas": [URN_USER]}}])
        self.assertEqual([o["status"] for o in ops],
                         ["201", "412", "404", "204", "400"])
        uloc = ops[0]["location"]
        uid = uloc.rsplit("/", 1)[1]
        self.assertTrue(uloc.endswith("/Users/" + uid))
        # The failed PUT and the DELETE name the resolved resource.
        self.assertEqual(ops[1].get("location"), uloc, ops[1])
        self.assertEqual(ops[3].get("location"), uloc, ops[3])
        self.assertTrue(ops[2].get("location", "").endswith(
            "/Users/no-such-user"), ops[2])
        self.assertNotIn("location", ops[4])
        for o in ops[1:3] + ops[4:]:
            self.assertEqual(o["response"]["status"], o["status"])


class ConditionalRequestTest(ScimTestCase):
    """RFC 7644 §3.14 uses the preconditions of RFC 7232: If-Match that
    does not match stops any method with 412 (§3.1), If-None-Match that
    matches stops a write with 412 (§3.2)."""

    def test_if_none_match_stops_a_write(self):
        u = self.create_user(harness.tag("inm"))
        path = "/Users/" + u["id"]
        v1 = u["meta"]["version"]
        for hdr in ("*", v1):
            r = self.patch("Users", u["id"], {"op": "replace", "path": "title",
                                              "value": "x"},
                           headers={"If-None-Match": hdr})
            self.assertScimError(r, 412)
            r = self.request("PUT", path, {"schemas": [URN_USER],
                                           "userName": u["userName"]},
                             headers={"If-None-Match": hdr})
            self.assertScimError(r, 412)
            self.assertScimError(self.request(
                "DELETE", path, headers={"If-None-Match": hdr}), 412)
        self.assertEqual(self.get_user(u["id"])["meta"]["version"], v1)
        # Another version: the write goes ahead.
        r = self.patch("Users", u["id"], {"op": "replace", "path": "title",
                                          "value": "x"},
                       headers={"If-None-Match": 'W/"999"'})
        self.assertStatus(r, 200)
        self.assertStatus(self.request(
            "DELETE", path, headers={"If-None-Match": v1}), 204)

    def test_if_match_on_get(self):
        u = self.create_user(harness.tag("img"))
        path = "/Users/" + u["id"]
        self.assertScimError(self.get(path, headers={"If-Match": 'W/"999"'}),
                             412)
        r = self.get(path, headers={"If-Match": u["meta"]["version"]})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["id"], u["id"])
        # If-None-Match on a GET still answers 304.
        r = self.get(path, headers={"If-None-Match": "*"})
        self.assertStatus(r, 304)


class NoOpMemberPatchTest(ScimTestCase):
    """RFC 7644 §3.5.2.1: adding a value that is already there makes no
    change and "SHALL NOT change the modify timestamp"; removing a member
    that is not there is no change either (§3.5.2.2). IdPs resend both
    (Entra's reconciliation, Okta's group push)."""

    def test_member_patch_that_changes_nothing_keeps_the_version(self):
        u = self.create_user(harness.tag("nm"))
        other = self.create_user(harness.tag("nmo"))
        g = self.create_group(harness.tag("nmg"), members=[u["id"]])
        gid, v1 = g["id"], g["meta"]["version"]
        for op in (
                {"op": "add", "path": "members", "value": [{"value": u["id"]}]},
                {"op": "Add", "path": "members",
                 "value": [{"value": u["id"], "display": "x"}]},
                {"op": "remove",
                 "path": 'members[value eq "%s"]' % other["id"]},
                {"op": "Remove", "path": "members",
                 "value": [{"value": other["id"]}]}):
            r = self.patch("Groups", gid, op)
            self.assertIn(r.status, (200, 204), r)
            if r.header("ETag"):
                self.assertEqual(r.header("ETag"), v1, op)
        after = self.get_group(gid)
        self.assertEqual(after["meta"]["version"], v1)
        self.assertEqual(after["meta"]["lastModified"],
                         g["meta"]["lastModified"])
        # A real change still makes a new version.
        r = self.patch("Groups", gid, {"op": "add", "path": "members",
                                       "value": [{"value": other["id"]}]})
        self.assertIn(r.status, (200, 204), r)
        self.assertNotEqual(self.get_group(gid)["meta"]["version"], v1)
        # ... and an unknown member is still refused.
        r = self.patch("Groups", gid, {"op": "add", "path": "members",
                                       "value": [{"value": "no-such-id"}]})
        self.assertScimError(r, 400, "invalidValue")


class RepeatedValueTest(ScimTestCase):
    """RFC 7643 §2.4: the service provider SHOULD NOT return the same
    (type, value) combination more than once per attribute."""

    def test_exact_repeat_is_kept_once(self):
        dup = {"value": "dup@example.com", "type": "work"}
        r = self.request("POST", "/Users", {
            "schemas": [URN_USER], "userName": harness.tag("dup"),
            "emails": [dup, dict(dup), {"value": "dup@example.com",
                                        "type": "home"}]})
        self.assertStatus(r, 201)
        self.assertEqual(r.json["emails"], [
            dup, {"value": "dup@example.com", "type": "home"}])
        uid = r.json["id"]
        r = self.request("PUT", "/Users/" + uid, {
            "schemas": [URN_USER], "userName": r.json["userName"],
            "phoneNumbers": [{"value": "555", "type": "work"}] * 3})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["phoneNumbers"],
                         [{"value": "555", "type": "work"}])


class RootSearchCursorTest(ScimTestCase):
    """RFC 9865 §2 and §3: nextCursor MUST be in every page but the last,
    also for a POST /.search across resource types."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.t = harness.tag("rc")
        for i in range(5):
            cls.ccreate_user("%s-%d" % (cls.t, i))
        for i in range(3):
            r = cls.creq("POST", "/Groups", {
                "schemas": [harness.URN_GROUP],
                "displayName": "%s-g%d" % (cls.t, i)})
            assert r.status == 201, r

    def search(self, **body):
        body["schemas"] = [harness.URN_SEARCH]
        r = self.request("POST", "/.search", body)
        self.assertStatus(r, 200)
        return r.json

    def test_cursor_walks_users_then_groups(self):
        everything = self.search(count=100, attributes=["id"])
        self.assertEqual(everything["totalResults"], 8)
        want = [x["id"] for x in everything["Resources"]]
        got, cursor, pages = [], "", 0
        while True:
            page = self.search(cursor=cursor, count=3, attributes=["id"])
            pages += 1
            self.assertEqual(page["totalResults"], 8)
            self.assertNotIn("startIndex", page)
            got += [x["id"] for x in page["Resources"]]
            if "nextCursor" not in page:
                break
            self.assertEqual(len(page["Resources"]), 3)
            cursor = page["nextCursor"]
            self.assertRegex(cursor, r"^[A-Za-z0-9._~-]+$")
        self.assertEqual(pages, 3)
        self.assertEqual(got, want)

    def test_bad_cursor(self):
        r = self.request("POST", "/.search", {"schemas": [harness.URN_SEARCH],
                                              "cursor": "not-a-cursor"})
        self.assertScimError(r, 400, "invalidCursor")
        # A root cursor means nothing to /Users, and the reverse.
        root = self.search(cursor="", count=1)["nextCursor"]
        r = self.get("/Users?count=1&cursor=" + quote(root))
        self.assertScimError(r, 400, "invalidCursor")
        users = self.get("/Users?count=1&cursor=").json["nextCursor"]
        r = self.request("POST", "/.search", {"schemas": [harness.URN_SEARCH],
                                              "cursor": users})
        self.assertScimError(r, 400, "invalidCursor")


class EntraEmailFilterTest(ScimTestCase):
    """Microsoft Entra ID, when a user's matching attribute is the work
    email, looks the user up with `emails[type eq "work"].value eq "..."`
    (a sub-attribute after the value filter, outside RFC 7644's grammar).
    It means one work email with that value."""

    def test_work_email_lookup(self):
        t = harness.tag("ee")
        work, home = t + "@work.example", t + "@home.example"
        u = self.create_user(t, emails=[{"value": work, "type": "work"},
                                        {"value": home, "type": "home"}])
        f = 'emails[type eq "work"].value eq "%s"'
        r = self.get("/Users?filter=" + quote(f % work.upper()))
        self.assertEqual([x["id"] for x in self.assertListResponse(r)[
            "Resources"]], [u["id"]])
        # The home address is not a work email.
        r = self.get("/Users?filter=" + quote(f % home))
        self.assertEqual(self.assertListResponse(r)["totalResults"], 0)
        r = self.get("/Users?filter=" + quote(
            'emails[type eq "work"].nope eq "x"'))
        self.assertScimError(r, 400, "invalidFilter")


class GroupNameUniqueTest(ScimTestCase):
    """Microsoft Entra ID matches groups by displayName and requires it
    to be unique ("Groups must have uniqueness on the 'displayName' value
    to match with Microsoft Entra ID", Entra's SCIM endpoint tutorial);
    a clash is 409 uniqueness (RFC 7644 §3.3), and /Schemas says so."""

    def test_duplicate_display_name_is_409(self):
        name = harness.tag("Dup")
        g = self.create_group(name)
        r = self.request("POST", "/Groups", {
            "schemas": [harness.URN_GROUP], "displayName": name.upper()})
        self.assertScimError(r, 409, "uniqueness")
        other = self.create_group(harness.tag("Other"))
        r = self.patch("Groups", other["id"], {
            "op": "replace", "path": "displayName", "value": name})
        self.assertScimError(r, 409, "uniqueness")
        r = self.request("PUT", "/Groups/" + other["id"], {
            "schemas": [harness.URN_GROUP], "displayName": name})
        self.assertScimError(r, 409, "uniqueness")
        # Its own name in another case is no clash; a deleted group's
        # name is free again.
        self.patch_ok("Groups", g["id"], {
            "op": "replace", "path": "displayName", "value": name.upper()})
        self.assertStatus(self.request("DELETE", "/Groups/" + g["id"]), 204)
        self.create_group(name)

    def test_schema_says_server_unique(self):
        r = self.get("/Schemas/" + harness.URN_GROUP, token=None)
        self.assertStatus(r, 200)
        dn = [a for a in r.json["attributes"] if a["name"] == "displayName"]
        self.assertEqual(dn[0]["uniqueness"], "server")


class PatchRemoveRequiredTest(ScimTestCase):
    """RFC 7644 §3.5.2.2: "If an attribute is removed or becomes
    unassigned and is defined as a required attribute or a read-only
    attribute, the server SHALL return ... a "scimType" error code of
    "mutability"."""

    def test_removing_a_required_attribute_is_mutability(self):
        u = self.create_user(harness.tag("rr"))
        for op in ({"op": "remove", "path": "userName"},
                   {"op": "Remove", "path": "USERNAME"},
                   {"op": "replace", "path": "userName", "value": None},
                   {"op": "replace", "value": {"userName": None}}):
            self.assertScimError(self.patch("Users", u["id"], op), 400,
                                 "mutability")
        g = self.create_group(harness.tag("rrg"))
        self.assertScimError(self.patch("Groups", g["id"], {
            "op": "remove", "path": "displayName"}), 400, "mutability")
        self.assertEqual(self.get_user(u["id"])["meta"]["version"],
                         u["meta"]["version"])


class BulkCircularTest(ScimTestCase):
    """RFC 7644 §3.7.1: a service provider MUST try to resolve circular
    bulkId references and MAY stop after a failed attempt and return 409
    (Conflict); a reference to a POST that failed is not a cycle."""

    def test_unresolved_cycle_is_409(self):
        t = harness.tag("cy")
        grp = harness.URN_GROUP
        r = self.request("POST", "/Bulk", {"schemas": [URN_BULKREQ],
                                           "Operations": [
            {"method": "POST", "path": "/Groups", "bulkId": "a",
             "data": {"schemas": [grp], "displayName": t + "a",
                      "members": [{"value": "bulkId:b", "type": "Group"}]}},
            {"method": "POST", "path": "/Groups", "bulkId": "b",
             "data": {"schemas": [grp], "displayName": t + "b",
                      "members": [{"value": "bulkId:a", "type": "Group"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "bad",
             "data": {"schemas": [URN_USER]}},
            {"method": "POST", "path": "/Groups", "bulkId": "c",
             "data": {"schemas": [grp], "displayName": t + "c",
                      "members": [{"value": "bulkId:bad"}]}}]})
        self.assertStatus(r, 200)
        got = {o["bulkId"]: o for o in r.json["Operations"]}
        self.assertEqual(got["a"]["status"], "409")
        self.assertEqual(got["b"]["status"], "409")
        self.assertEqual(got["a"]["response"]["status"], "409")
        self.assertEqual(got["bad"]["status"], "400")
        self.assertEqual(got["c"]["status"], "400")
        r = self.get("/Groups?filter=" + quote('displayName sw "%s"' % t))
        self.assertEqual(self.assertListResponse(r)["totalResults"], 0)
