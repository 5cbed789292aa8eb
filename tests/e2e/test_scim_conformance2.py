# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
"""A second conformance pass against RFC 7643, RFC 7644, RFC 9110 and
RFC 9865, and what Okta and Microsoft Entra ID send: each test names the
section it checks."""

from urllib.parse import quote

import harness
from harness import (ScimTestCase, URN_BULKREQ, URN_GROUP, URN_PATCH,
                     URN_SEARCH, URN_USER)


class MessageSchemasTest(ScimTestCase):
    """RFC 7644 §3.4.3 (SearchRequest), §3.7 (BulkRequest) and §3.5.2
    (PatchOp): the "schemas" attribute of a request message is REQUIRED
    and names the message's URN; a body without it is not that message
    (400 invalidSyntax, §3.12)."""

    def assertSchemasError(self, r, urn):
        self.assertScimError(r, 400, "invalidSyntax")
        self.assertIn("schemas", r.json["detail"])
        self.assertIn(urn, r.json["detail"])

    def test_search_request_needs_schemas(self):
        t = self.create_user(harness.tag("sr"))["userName"]
        for path in ("/.search", "/Users/.search", "/Groups/.search"):
            filt = ('displayName pr' if path.startswith("/Groups")
                    else 'userName eq "%s"' % t)
            with self.subTest(path=path):
                for body in ({"filter": filt},
                             {"schemas": [], "filter": filt},
                             {"schemas": [URN_USER], "filter": filt},
                             {"schemas": URN_SEARCH, "filter": filt}):
                    self.assertSchemasError(
                        self.request("POST", path, body), URN_SEARCH)
                r = self.request("POST", path, {"schemas": [URN_SEARCH],
                                                "filter": filt})
                self.assertListResponse(r)
        # The URN compares case-insensitively, like every SCIM URN.
        r = self.request("POST", "/Users/.search", {
            "schemas": [URN_SEARCH.upper()],
            "filter": 'userName eq "%s"' % t})
        self.assertEqual(self.assertListResponse(r)["totalResults"], 1)

    def test_bulk_request_needs_schemas(self):
        t = harness.tag("br")
        op = {"method": "POST", "path": "/Users", "bulkId": "u",
              "data": {"schemas": [URN_USER], "userName": t}}
        for body in ({"Operations": [op]},
                     {"schemas": [harness.URN_BULKRESP], "Operations": [op]}):
            self.assertSchemasError(self.request("POST", "/Bulk", body),
                                    URN_BULKREQ)
        # Nothing ran.
        self.assertEqual(self.ids("Users", 'userName eq "%s"' % t), [])
        r = self.request("POST", "/Bulk", {"schemas": [URN_BULKREQ],
                                           "Operations": [op]})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["Operations"][0]["status"], "201")

    def test_patch_op_needs_schemas(self):
        u = self.create_user(harness.tag("po"))
        op = {"op": "replace", "path": "title", "value": "x"}
        for body in ({"Operations": [op]},
                     {"schemas": [URN_USER], "Operations": [op]}):
            self.assertSchemasError(
                self.request("PATCH", "/Users/" + u["id"], body), URN_PATCH)
        self.assertEqual(self.get_user(u["id"])["meta"]["version"],
                         u["meta"]["version"])


class MethodNotAllowedTest(ScimTestCase):
    """RFC 9110 §15.5.6: a method the target resource does not support is
    405 and the answer MUST carry Allow; 501 (§15.6.2) is for a method no
    resource supports. RFC 7644 §3.12 keeps 501 for an operation the
    service provider does not support at all (/Me, §3.11)."""

    def allow(self, r):
        return {m.strip() for m in (r.header("Allow") or "").split(",")
                if m.strip()}

    def test_405_carries_allow(self):
        u = self.create_user(harness.tag("mna"))
        cases = [
            ("DELETE", "/Users", {"GET", "HEAD", "POST"}),
            ("PUT", "/Groups", {"GET", "HEAD", "POST"}),
            ("POST", "/Users/" + u["id"],
             {"GET", "HEAD", "PUT", "PATCH", "DELETE"}),
            ("GET", "/Bulk", {"POST"}),
            ("PUT", "/Bulk", {"POST"}),
            ("GET", "/Users/.search", {"POST"}),
            ("DELETE", "/.search", {"POST"}),
            ("POST", "/ServiceProviderConfig", {"GET", "HEAD"}),
            ("DELETE", "/Schemas/" + URN_USER, {"GET", "HEAD"}),
            ("PATCH", "/ResourceTypes/User", {"GET", "HEAD"}),
        ]
        for method, path, allow in cases:
            with self.subTest(method=method, path=path):
                r = self.request(method, path)
                self.assertScimError(r, 405)
                self.assertEqual(self.allow(r), allow)
        # Nothing was changed by the refused POST.
        self.assertEqual(self.get_user(u["id"])["meta"]["version"],
                         u["meta"]["version"])

    def test_head_of_a_post_only_endpoint(self):
        r = self.request("HEAD", "/Bulk")
        self.assertEqual(r.status, 405)
        self.assertEqual(self.allow(r), {"POST"})
        self.assertEqual(r.raw, b"")

    def test_options_is_501_with_allow(self):
        r = self.request("OPTIONS", "/Users")
        self.assertScimError(r, 501)
        self.assertEqual(self.allow(r), {"GET", "HEAD", "POST"})

    def test_me_stays_501(self):
        self.assertScimError(self.request("GET", "/Me"), 501)

    def test_unknown_path_stays_404(self):
        self.assertScimError(self.request("DELETE", "/Nope"), 404)

    def test_healthz_is_get_and_head_only(self):
        r = self.request("GET", "/healthz", base=False, token=None)
        self.assertStatus(r, 200)
        self.assertEqual(r.json, {"status": "ok"})
        r = self.request("HEAD", "/healthz", base=False, token=None)
        self.assertStatus(r, 200)
        self.assertEqual(r.raw, b"")
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            with self.subTest(method=method):
                r = self.request(method, "/healthz", body={}, base=False,
                                 token=None)
                self.assertScimError(r, 405)
                self.assertEqual(self.allow(r), {"GET", "HEAD"})


class MembershipVersionTest(ScimTestCase):
    """A User's "groups" is read-only and derived from Group membership
    (RFC 7643 §4.1.2); meta.version and the ETag are the version of the
    representation (RFC 7643 §3.1, RFC 7644 §3.14), so joining or leaving
    a group, or a rename or delete of the group, is a new version of the
    user: If-None-Match no longer answers 304 and an old If-Match is 412.
    A member's rename shows in the group's members[].display: a new
    version of the group."""

    def state(self, uid):
        r = self.get("/Users/" + uid)
        self.assertStatus(r, 200)
        self.assertEqual(r.header("ETag"), r.json["meta"]["version"])
        return r.json

    def test_joining_and_leaving_a_group(self):
        u = self.create_user(harness.tag("mv"))
        uid = u["id"]
        v1 = self.state(uid)["meta"]
        g = self.create_group(harness.tag("mvg"))
        r = self.patch("Groups", g["id"], {"op": "add", "path": "members",
                                           "value": [{"value": uid}]})
        self.assertIn(r.status, (200, 204), r)
        s2 = self.state(uid)
        v2 = s2["meta"]
        self.assertEqual(self.group_ids_of(s2), [g["id"]])
        self.assertNotEqual(v2["version"], v1["version"])
        self.assertGreaterEqual(v2["lastModified"], v1["lastModified"])
        # The old ETag is stale for reads and writes alike.
        r = self.get("/Users/" + uid, headers={"If-None-Match":
                                                v1["version"]})
        self.assertStatus(r, 200)
        self.assertEqual(self.group_ids_of(r.json), [g["id"]])
        self.assertStatus(self.get("/Users/" + uid, headers={
            "If-None-Match": v2["version"]}), 304)
        op = {"op": "replace", "path": "title", "value": "x"}
        self.assertScimError(self.patch("Users", uid, op, headers={
            "If-Match": v1["version"]}), 412)
        # A no-op membership change keeps the user's version.
        self.patch("Groups", g["id"], {"op": "add", "path": "members",
                                       "value": [{"value": uid}]})
        self.assertEqual(self.state(uid)["meta"]["version"], v2["version"])
        # Leaving is a new version too.
        r = self.patch("Groups", g["id"], {
            "op": "remove", "path": 'members[value eq "%s"]' % uid})
        self.assertIn(r.status, (200, 204), r)
        s3 = self.state(uid)
        self.assertEqual(self.group_ids_of(s3), [])
        self.assertNotEqual(s3["meta"]["version"], v2["version"])
        # Entra's shape: members with a value array.
        r = self.patch("Groups", g["id"], {"op": "Add", "path": "members",
                                           "value": [{"value": uid}]})
        s4 = self.state(uid)
        self.assertNotEqual(s4["meta"]["version"], s3["meta"]["version"])
        r = self.patch("Groups", g["id"], {"op": "Remove", "path": "members",
                                           "value": [{"value": uid}]})
        self.assertNotEqual(self.state(uid)["meta"]["version"],
                            s4["meta"]["version"])

    def test_group_rename_put_and_delete(self):
        stay = self.create_user(harness.tag("mvs"))["id"]
        leave = self.create_user(harness.tag("mvl"))["id"]
        join = self.create_user(harness.tag("mvj"))["id"]
        g = self.create_group(harness.tag("mvg"), members=[stay, leave])
        ver = {u: self.state(u)["meta"]["version"]
               for u in (stay, leave, join)}
        # PUT: only the users that join or leave change.
        r = self.request("PUT", "/Groups/" + g["id"], {
            "schemas": [URN_GROUP], "displayName": g["displayName"],
            "members": [{"value": stay}, {"value": join}]})
        self.assertStatus(r, 200)
        self.assertEqual(self.state(stay)["meta"]["version"], ver[stay])
        for u in (leave, join):
            self.assertNotEqual(self.state(u)["meta"]["version"], ver[u])
        # A rename shows in every member's groups[].display.
        before = self.state(stay)["meta"]["version"]
        name = harness.tag("mvr")
        self.patch_ok("Groups", g["id"], {"op": "replace",
                                          "path": "displayName",
                                          "value": name})
        s = self.state(stay)
        self.assertEqual([x["display"] for x in s["groups"]], [name])
        self.assertNotEqual(s["meta"]["version"], before)
        # Deleting the group empties every member's groups.
        before = s["meta"]["version"]
        self.assertStatus(self.request("DELETE", "/Groups/" + g["id"]), 204)
        s = self.state(stay)
        self.assertNotIn("groups", s)
        self.assertNotEqual(s["meta"]["version"], before)

    def test_member_rename_is_a_new_group_version(self):
        u = self.create_user(harness.tag("mvn"))
        g = self.create_group(harness.tag("mvng"), members=[u["id"]])
        r = self.get("/Groups/" + g["id"])
        etag = r.header("ETag")
        new = harness.tag("mvn2")
        self.patch_ok("Users", u["id"], {"op": "replace", "path": "userName",
                                         "value": new})
        r = self.get("/Groups/" + g["id"], headers={"If-None-Match": etag})
        self.assertStatus(r, 200)
        self.assertEqual([m["display"] for m in r.json["members"]], [new])
        self.assertNotEqual(r.header("ETag"), etag)

    def test_bulk_reports_the_version_after_the_bulk(self):
        """RFC 7644 §3.7.3 "version": a user created and then added to a
        group by the same Bulk changed with the group; the version the
        BulkResponse gives is the one its next If-Match needs."""
        t = harness.tag("mvb")
        r = self.request("POST", "/Bulk", {"schemas": [URN_BULKREQ],
                                           "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "u",
             "data": {"schemas": [URN_USER], "userName": t}},
            {"method": "POST", "path": "/Groups", "bulkId": "g",
             "data": {"schemas": [URN_GROUP], "displayName": t,
                      "members": [{"value": "bulkId:u"}]}}]})
        self.assertStatus(r, 200)
        ops = {o["bulkId"]: o for o in r.json["Operations"]}
        uid = ops["u"]["location"].rsplit("/", 1)[1]
        user = self.state(uid)
        self.assertEqual(len(user["groups"]), 1)
        self.assertEqual(ops["u"]["version"], user["meta"]["version"])
        self.assertStatus(self.patch("Users", uid, {
            "op": "replace", "path": "title", "value": "x"},
            headers={"If-Match": ops["u"]["version"]}), 200)


class AcceptTest(ScimTestCase):
    """RFC 7644 §8.1 and RFC 9110 §12.5.1: the service answers
    application/scim+json; an Accept header that admits neither it,
    application/json nor a wildcard is 406 Not Acceptable."""

    def test_acceptable(self):
        for accept in ("application/scim+json", "application/json",
                       "*/*", "application/*", "",
                       "text/html, application/json;q=0.5",
                       "application/json, text/plain, */*",
                       "APPLICATION/SCIM+JSON; charset=utf-8"):
            with self.subTest(accept=accept):
                r = self.request("GET", "/Users?count=1",
                                 headers={"Accept": accept})
                self.assertListResponse(r)

    def test_not_acceptable(self):
        for accept in ("application/xml", "text/html, text/plain",
                       "application/json;q=0", "*/*;q=0.0",
                       "application/scim+json; q=0.000"):
            with self.subTest(accept=accept):
                r = self.request("GET", "/Users?count=1",
                                 headers={"Accept": accept})
                self.assertScimError(r, 406, None)
                self.assertIn("Accept", r.json["detail"])

    def test_unknown_path_is_still_404(self):
        r = self.request("GET", "/Nope", headers={"Accept": "text/xml"})
        self.assertStatus(r, 404)
