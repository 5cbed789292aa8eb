# SPDX-License-Identifier: ISC
"""Replays the request sequence Okta's SCIM 2.0 client documents
(developer.okta.com "Okta and SCIM Version 2.0"): user lookup by userName
with startIndex/count, create, read, PUT full replace, deactivate with a
path-less replace of {"active": false}, and Group Push (create, member add,
member remove by value filter, rename with {"id", "displayName"}, delete).
"""

import unittest

from harness import (URN_GROUP, URN_USER, ScimTestCase, SCIM_JSON, qs, tag)

# Okta sends a charset parameter with its media type; it must be accepted.
OKTA_HEADERS = {"User-Agent": "Okta SCIM Client 1.0.0",
                "Accept": "application/scim+json; charset=utf-8",
                "Content-Type": "application/scim+json; charset=utf-8"}


class OktaTest(ScimTestCase):

    def okta(self, method, path, body=None):
        hdrs = dict(OKTA_HEADERS)
        if body is None:
            del hdrs["Content-Type"]
        return self.request(method, path, body, headers=hdrs)

    def okta_user_body(self, user_name, given="Test", family="User",
                       ext_id="00ujl29u0le5T6Aj10h7"):
        # The create body from Okta's reference, with "password" and the
        # read-only "groups": [] exactly as Okta sends them.
        return {
            "schemas": [URN_USER],
            "userName": user_name,
            "name": {"givenName": given, "familyName": family},
            "emails": [{"primary": True, "value": user_name,
                        "type": "work"}],
            "displayName": "%s %s" % (given, family),
            "locale": "en-US",
            "externalId": ext_id,
            "groups": [],
            "password": "1mz050nq",
            "active": True,
        }

    def find_by_username(self, user_name):
        resp = self.okta("GET", "/Users" + qs(
            filter='userName eq "%s"' % user_name, startIndex=1, count=100))
        return self.assertListResponse(resp)

    def test_user_lifecycle(self):
        user_name = "%s.user@okta.local" % tag("okta")

        # 1. Okta first checks whether the user exists: an empty ListResponse.
        lst = self.find_by_username(user_name)
        self.assertEqual(lst["totalResults"], 0)
        self.assertEqual(lst.get("Resources", []), [])

        # 2. Create.
        resp = self.okta("POST", "/Users", self.okta_user_body(user_name))
        self.assertEqual(resp.status, 201, resp)
        self.assertTrue((resp.header("Content-Type") or "").startswith(SCIM_JSON))
        user = resp.json
        uid = user["id"]
        self.assertTrue(uid)
        self.assertEqual(user["userName"], user_name)
        self.assertEqual(user["name"]["givenName"], "Test")
        self.assertEqual(user["name"]["familyName"], "User")
        self.assertIs(user["active"], True)
        self.assertEqual(user["externalId"], "00ujl29u0le5T6Aj10h7")
        self.assertEqual(user["emails"][0]["value"], user_name)
        self.assertIn(URN_USER, user["schemas"])
        self.assertEqual(user["meta"]["resourceType"], "User")
        # password is writeOnly / returned "never" (RFC 7643 §4.1.1).
        self.assertNotIn("password", user)
        self.assertFalse(user.get("groups"))

        # 3. The lookup now finds exactly that user, with Okta's paging echo.
        lst = self.find_by_username(user_name)
        self.assertEqual(lst["totalResults"], 1)
        self.assertEqual(lst["startIndex"], 1)
        self.assertEqual(lst["itemsPerPage"], 1)
        self.assertEqual([r["id"] for r in lst["Resources"]], [uid])
        self.assertNotIn("password", lst["Resources"][0])

        # 4. Retrieve by id.
        resp = self.okta("GET", "/Users/" + uid)
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json["userName"], user_name)
        self.assertNotIn("password", resp.json)

        # 5. Profile update: PUT full replace, body carries the id as Okta's
        # does; middleName is new, displayName and locale are dropped.
        put = self.okta_user_body(user_name, given="Another")
        put["id"] = uid
        put["name"]["middleName"] = "Excited"
        del put["displayName"]
        del put["locale"]
        resp = self.okta("PUT", "/Users/" + uid, put)
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json["id"], uid)
        self.assertEqual(resp.json["name"]["givenName"], "Another")
        self.assertEqual(resp.json["name"]["middleName"], "Excited")
        got = self.get_user(uid)
        self.assertEqual(got["name"]["givenName"], "Another")
        self.assertEqual(got["name"]["middleName"], "Excited")
        # PUT replaces: attributes left out are cleared (RFC 7644 §3.5.1).
        self.assertNotIn("displayName", got)
        self.assertNotIn("locale", got)
        self.assertNotIn("password", got)

        # 6. Deactivate: Okta's path-less replace.
        resp = self.okta("PATCH", "/Users/" + uid, {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": False}}]})
        self.assertIn(resp.status, (200, 204), resp)
        if resp.status == 200:
            self.assertIs(resp.json["active"], False)

        # 7. The user is still there, now inactive, by id and by filter.
        got = self.get_user(uid)
        self.assertIs(got["active"], False)
        self.assertEqual(got["name"]["givenName"], "Another")
        lst = self.find_by_username(user_name)
        self.assertEqual([r["id"] for r in lst["Resources"]], [uid])
        self.assertIs(lst["Resources"][0]["active"], False)

        # 8. Reactivate the same way.
        resp = self.okta("PATCH", "/Users/" + uid, {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": True}}]})
        self.assertIn(resp.status, (200, 204), resp)
        self.assertIs(self.get_user(uid)["active"], True)

    def test_import_users_paged(self):
        # Okta's import pages through /Users with startIndex and count.
        t = tag("okimp")
        made = {self.create_user("%s-%d@okta.local" % (t, i))["id"]
                for i in range(5)}
        seen = []
        start = 1
        while True:
            resp = self.okta("GET", "/Users" + qs(startIndex=start, count=2))
            body = self.assertListResponse(resp)
            res = body.get("Resources", [])
            self.assertLessEqual(len(res), 2)
            self.assertEqual(body["startIndex"], start)
            self.assertEqual(body["itemsPerPage"], len(res))
            seen += [r["id"] for r in res]
            if not res or start + len(res) > body["totalResults"]:
                break
            start += len(res)
        self.assertEqual(len(seen), len(set(seen)), "a user appeared twice")
        self.assertLessEqual(made, set(seen))

    def test_group_push(self):
        t = tag("okgrp")
        u1 = self.create_user("%s-a@okta.local" % t)
        u2 = self.create_user("%s-b@okta.local" % t)
        name = "Test SCIMv2 %s" % t

        # Okta looks the group up by displayName first.
        resp = self.okta("GET", "/Groups" + qs(
            filter='displayName eq "%s"' % name, startIndex=1, count=100))
        self.assertEqual(self.assertListResponse(resp)["totalResults"], 0)

        # Create, as Okta does, with an empty member list.
        resp = self.okta("POST", "/Groups", {
            "schemas": [URN_GROUP], "displayName": name, "members": []})
        self.assertEqual(resp.status, 201, resp)
        group = resp.json
        gid = group["id"]
        self.assertEqual(group["displayName"], name)
        self.assertFalse(group.get("members"))
        self.assertEqual(group["meta"]["resourceType"], "Group")

        resp = self.okta("GET", "/Groups/" + gid)
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json["displayName"], name)

        # Push membership: add both users (Okta sends value + display).
        resp = self.okta("PATCH", "/Groups/" + gid, {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [
                {"value": u1["id"], "display": u1["userName"]},
                {"value": u2["id"], "display": u2["userName"]}]}]})
        self.assertIn(resp.status, (200, 204), resp)
        g = self.get_group(gid)
        self.assertEqual(self.member_ids(g), sorted([u1["id"], u2["id"]]))
        # The user's groups are derived from membership.
        self.assertEqual(self.group_ids_of(self.get_user(u1["id"])), [gid])

        # Remove one member with Okta's value filter.
        resp = self.okta("PATCH", "/Groups/" + gid, {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "remove",
                            "path": 'members[value eq "%s"]' % u1["id"]}]})
        self.assertIn(resp.status, (200, 204), resp)
        self.assertEqual(self.member_ids(self.get_group(gid)), [u2["id"]])
        self.assertEqual(self.group_ids_of(self.get_user(u1["id"])), [])
        self.assertEqual(self.group_ids_of(self.get_user(u2["id"])), [gid])

        # Rename: Okta's path-less replace carries the (unchanged) id.
        new_name = name + " renamed"
        resp = self.okta("PATCH", "/Groups/" + gid, {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace",
                            "value": {"id": gid, "displayName": new_name}}]})
        self.assertIn(resp.status, (200, 204), resp)
        g = self.get_group(gid)
        self.assertEqual(g["id"], gid)
        self.assertEqual(g["displayName"], new_name)
        self.assertEqual(self.member_ids(g), [u2["id"]])
        # A derived group reference shows the group's current name.
        ref = self.get_user(u2["id"])["groups"][0]
        if "display" in ref:
            self.assertEqual(ref["display"], new_name)

        # Delete the group.
        resp = self.okta("DELETE", "/Groups/" + gid)
        self.assertEqual(resp.status, 204, resp)
        self.assertEqual(resp.raw, b"")
        self.assertScimError(self.okta("GET", "/Groups/" + gid), 404)
        self.assertEqual(self.group_ids_of(self.get_user(u2["id"])), [])


if __name__ == "__main__":
    unittest.main()
