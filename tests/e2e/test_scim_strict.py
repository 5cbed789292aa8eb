# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
"""Stricter RFC points: "schemas" is required on resource bodies (RFC 7643
§3), /Me is optional and answered 501 (RFC 7644 §3.11), the history of a
deleted user is kept in the store."""

import sqlite3

import harness
from harness import ScimTestCase, URN_USER, URN_GROUP


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

    def test_group_create_requires_display_name(self):
        r = self.request("POST", "/Groups", {"schemas": [URN_GROUP]})
        self.assertScimError(r, 400, "invalidValue")
