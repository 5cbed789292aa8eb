# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
"""Stricter RFC points: "schemas" is required on resource bodies (RFC 7643
§3), /Me is optional and answered 501 (RFC 7644 §3.11), the history of a
deleted user is kept in the store."""

import json
import sqlite3

import harness
from harness import ScimTestCase, URN_USER, URN_GROUP, URN_ERROR


class StrictTest(ScimTestCase):
    def test_post_without_schemas_is_invalid_syntax(self):
        r = self.request("POST", "/Users", {"userName": "no-schemas"})
        self.assertScimError(r, 400, "invalidSyntax")
        self.assertIn("schemas", r.json["detail"])
        r = self.request("POST", "/Groups", {"schemas": [URN_USER],
                                             "displayName": "wrong core"})
        self.assertScimError(r, 400, "invalidSyntax")

    def test_put_without_schemas_is_invalid_syntax(self):
        uid = self.create_user(harness.tag("put"))["id"]
        r = self.request("PUT", "/Users/" + uid, {"userName": "x"})
        self.assertScimError(r, 400, "invalidSyntax")
        r = self.request("PUT", "/Users/" + uid,
                         {"schemas": [URN_USER], "userName": "x-" + uid})
        self.assertStatus(r, 200)

    def test_me_is_not_implemented(self):
        for method in ("GET", "PUT", "PATCH", "DELETE"):
            r = self.request(method, "/Me")
            self.assertScimError(r, 501)

    def test_me_requires_a_token(self):
        r = self.request("GET", "/Me", token=None)
        self.assertScimError(r, 401)

    def test_delete_keeps_history(self):
        u = self.create_user(harness.tag("hist"))
        r = self.request("DELETE", "/Users/" + u["id"])
        self.assertStatus(r, 204)
        self.assertScimError(self.request("GET", "/Users/" + u["id"]), 404)
        db = sqlite3.connect(self.db)
        ops = [row[0] for row in db.execute(
            "SELECT op FROM history WHERE resource_id = ? ORDER BY seq",
            (u["id"],))]
        db.close()
        self.assertEqual(ops, ["create", "delete"])

    def test_deleting_a_member_gives_its_groups_a_new_version(self):
        """The group changed (one member fewer): a new ETag, a later
        lastModified and a history row naming who left (RFC 7643 §3.1)."""
        u = self.create_user(harness.tag("leaver"))
        stay = self.create_user(harness.tag("stayer"))
        r = self.request("POST", "/Groups", {
            "schemas": [URN_GROUP], "displayName": harness.tag("team"),
            "members": [{"value": u["id"]}, {"value": stay["id"]}]})
        self.assertStatus(r, 201)
        gid = r.json["id"]
        before = self.request("GET", "/Groups/" + gid)
        self.assertStatus(before, 200)
        self.assertStatus(self.request("DELETE", "/Users/" + u["id"]), 204)
        after = self.request("GET", "/Groups/" + gid)
        self.assertStatus(after, 200)
        self.assertEqual([m["value"] for m in after.json["members"]],
                         [stay["id"]])
        self.assertNotEqual(after.json["meta"]["version"],
                            before.json["meta"]["version"])
        self.assertGreaterEqual(after.json["meta"]["lastModified"],
                                before.json["meta"]["lastModified"])
        # The old ETag no longer matches.
        r = self.request("GET", "/Groups/" + gid, headers={
            "If-None-Match": before.json["meta"]["version"]})
        self.assertStatus(r, 200)
        db = sqlite3.connect(self.db)
        rows = db.execute(
            "SELECT op, members_delta FROM history WHERE resource_id = ? "
            "ORDER BY seq", (gid,)).fetchall()
        db.close()
        self.assertEqual(rows[-1][0], "update")
        self.assertIn(u["id"], rows[-1][1])
        self.assertIn('"removed"', rows[-1][1])

    def test_group_create_requires_display_name(self):
        r = self.request("POST", "/Groups", {"schemas": [URN_GROUP]})
        self.assertScimError(r, 400, "invalidValue")


class NotUtf8Test(ScimTestCase):
    """Client bytes that are not UTF-8 come back in error details (an id,
    a filter); the reply must still be JSON and the daemon must live."""

    def test_ids_and_filters_that_are_not_utf8(self):
        for method in ("GET", "DELETE", "PATCH", "PUT"):
            for path in ("/Users/%C3", "/Groups/%E9x", "/Users/a%ED%A0%80"):
                body = {} if method in ("PUT", "PATCH") else None
                r = self.request(method, path, body)
                self.assertIn(r.status, (400, 404), (method, path))
                j = json.loads(r.raw.decode("utf-8"))
                self.assertEqual(j["schemas"], [URN_ERROR])
                self.assertEqual(j["status"], str(r.status))
        r = self.request("GET", "/Users/%C3")
        self.assertEqual(r.json["detail"], 'User "?" not found')
        r = self.get("/Users?filter=" + "userName%20eq%20%22%C3%22")
        self.assertScimError(r, 400, "invalidFilter")
        # Still serving.
        self.assertStatus(self.get("/ServiceProviderConfig"), 200)
