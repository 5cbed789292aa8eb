# SPDX-License-Identifier: ISC
"""Replays what the Microsoft Entra ID provisioning service sends, from
learn.microsoft.com "Tutorial: Develop and plan provisioning for a SCIM
endpoint" (request/response examples) and "Known issues and resolutions with
SCIM 2.0 protocol compliance" (the default PATCH shapes and the ones sent
with the aadOptscim062020 flag): capitalised ops, "True"/"False" strings for
booleans, path-less replace with dotted and URN-prefixed keys, the manager
reference by URN path, group lookup by displayName with
excludedAttributes=members, and member Add/Remove with value arrays.
"""

import unittest

from harness import (URN_ENT, URN_GROUP, URN_PATCH, URN_USER, ScimTestCase,
                     qs, tag)

ENTRA_HEADERS = {"User-Agent": "Microsoft.AzureAD.Provisioning/1.0"}
ENT = URN_ENT


class EntraTest(ScimTestCase):

    def entra(self, method, path, body=None):
        return self.request(method, path, body, headers=ENTRA_HEADERS)

    def entra_patch(self, rtype, rid, *ops):
        resp = self.entra("PATCH", "/%s/%s" % (rtype, rid),
                          {"schemas": [URN_PATCH], "Operations": list(ops)})
        self.assertIn(resp.status, (200, 204), resp)
        return self.get("/%s/%s" % (rtype, rid)).json

    def entra_user_body(self, user_name, ext_id, manager_id=None):
        body = {
            "schemas": [URN_USER, ENT],
            "externalId": ext_id,
            "userName": user_name,
            "active": True,
            "emails": [{"primary": True, "type": "work",
                        "value": "work-" + user_name}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "givenName familyName",
                     "familyName": "familyName", "givenName": "givenName"},
            "roles": [],
            ENT: {"employeeNumber": "701984", "department": "Tour Operations"},
        }
        if manager_id:
            body[ENT]["manager"] = {"value": manager_id}
        return body

    def query_users(self, filt):
        resp = self.entra("GET", "/Users" + qs(filter=filt))
        return self.assertListResponse(resp)

    def test_user_lifecycle(self):
        t = tag("entra")
        user_name = "Test_User_%s@contoso.example" % t
        ext_id = "0a21f0f2-%s" % t

        # "Test connection" / matching: query by userName, zero results.
        lst = self.query_users('userName eq "%s"' % user_name)
        self.assertEqual(lst["totalResults"], 0)
        self.assertEqual(lst.get("Resources", []), [])

        mgr = self.create_user("Manager_%s@contoso.example" % t)
        mgr2 = self.create_user("Manager2_%s@contoso.example" % t)

        # Create with the enterprise extension (manager, employeeNumber,
        # department), plus the read-only meta and empty roles Entra sends.
        resp = self.entra("POST", "/Users",
                          self.entra_user_body(user_name, ext_id, mgr["id"]))
        self.assertEqual(resp.status, 201, resp)
        user = resp.json
        uid = user["id"]
        self.assertEqual(user["userName"], user_name)
        self.assertEqual(user["externalId"], ext_id)
        self.assertIs(user["active"], True)
        self.assertIn(ENT, user["schemas"])
        self.assertEqual(user[ENT]["employeeNumber"], "701984")
        self.assertEqual(user[ENT]["department"], "Tour Operations")
        self.assertEqual(user[ENT]["manager"]["value"], mgr["id"])
        self.assertEqual(user["name"]["formatted"], "givenName familyName")
        self.assertFalse(user.get("roles"))

        # Get user, and query by userName and by externalId.
        got = self.get_user(uid)
        self.assertEqual(got[ENT]["manager"]["value"], mgr["id"])
        self.assertEqual(
            [r["id"] for r in self.query_users(
                'userName eq "%s"' % user_name)["Resources"]], [uid])
        self.assertEqual(
            [r["id"] for r in self.query_users(
                'externalId eq "%s"' % ext_id)["Resources"]], [uid])

        # Update [multi-valued properties], default (capitalised) shape.
        got = self.entra_patch("Users", uid,
            {"op": "Replace", "path": 'emails[type eq "work"].value',
             "value": "updatedEmail-%s@microsoft.example" % t},
            {"op": "Replace", "path": "name.familyName",
             "value": "updatedFamilyName"})
        self.assertEqual(len(got["emails"]), 1)
        self.assertEqual(got["emails"][0]["value"],
                         "updatedEmail-%s@microsoft.example" % t)
        self.assertEqual(got["emails"][0]["type"], "work")
        self.assertEqual(got["name"]["familyName"], "updatedFamilyName")
        self.assertEqual(got["name"]["givenName"], "givenName")

        # The same with "Add" on the value-filtered path (Entra sends Add
        # for a changed work email too).
        got = self.entra_patch("Users", uid,
            {"op": "Add", "path": 'emails[type eq "work"].value',
             "value": "added-%s@microsoft.example" % t})
        self.assertEqual([e["value"] for e in got["emails"]],
                         ["added-%s@microsoft.example" % t])

        # Requests to replace multiple attributes, default shape.
        got = self.entra_patch("Users", uid,
            {"op": "Replace", "path": "displayName", "value": "Pvlo"},
            {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
            {"op": "Replace", "path": "externalId", "value": ext_id + "-2"},
            {"op": "Replace", "path": ENT + ":employeeNumber",
             "value": "Eqpj"})
        self.assertEqual(got["displayName"], "Pvlo")
        self.assertEqual(got["name"]["givenName"], "Gtfd")
        self.assertEqual(got["externalId"], ext_id + "-2")
        self.assertEqual(got[ENT]["employeeNumber"], "Eqpj")
        self.assertEqual(got[ENT]["department"], "Tour Operations")

        # Add a single-value string attribute ("Add", default shape).
        got = self.entra_patch("Users", uid,
            {"op": "Add", "path": "nickName", "value": "Babs"})
        self.assertEqual(got["nickName"], "Babs")

        # Replace multiple attributes with the flag: no path, dotted and
        # URN-prefixed keys inside value.
        got = self.entra_patch("Users", uid,
            {"op": "replace", "value": {
                "displayName": "Bjfe",
                "name.givenName": "Kkom",
                "name.familyName": "Unua",
                ENT + ":employeeNumber": "Aklq",
                ENT + ":department": "Sales"}})
        self.assertEqual(got["displayName"], "Bjfe")
        self.assertEqual(got["name"]["givenName"], "Kkom")
        self.assertEqual(got["name"]["familyName"], "Unua")
        self.assertEqual(got[ENT]["employeeNumber"], "Aklq")
        self.assertEqual(got[ENT]["department"], "Sales")
        self.assertEqual(got["nickName"], "Babs")
        self.assertNotIn("name.givenName", got)
        self.assertFalse(any(k.startswith(ENT + ":") for k in got),
                         "URN-prefixed key stored verbatim: %r" % list(got))

        # Capitalised "Replace" with no path and a "False" string.
        got = self.entra_patch("Users", uid,
            {"op": "Replace", "value": {"active": "False",
                                        "title": "Tour Guide"}})
        self.assertIs(got["active"], False)
        self.assertEqual(got["title"], "Tour Guide")

        # Manager by URN path: Entra sends the bare id as the value.
        got = self.entra_patch("Users", uid,
            {"op": "Replace", "path": ENT + ":manager", "value": mgr2["id"]})
        self.assertEqual(got[ENT]["manager"]["value"], mgr2["id"])
        # ...and the RFC form, a complex value.
        got = self.entra_patch("Users", uid,
            {"op": "Add", "path": ENT + ":manager",
             "value": {"value": mgr["id"]}})
        self.assertEqual(got[ENT]["manager"]["value"], mgr["id"])
        # Remove the manager.
        got = self.entra_patch("Users", uid,
            {"op": "Remove", "path": ENT + ":manager"})
        self.assertNotIn("manager", got.get(ENT, {}))
        self.assertEqual(got[ENT]["employeeNumber"], "Aklq")

        # Remove a simple attribute, capitalised.
        got = self.entra_patch("Users", uid,
            {"op": "Remove", "path": "nickName"})
        self.assertNotIn("nickName", got)

        # Update [single-valued properties]: userName.
        new_name = "renamed_%s@contoso.example" % t
        got = self.entra_patch("Users", uid,
            {"op": "Replace", "path": "userName", "value": new_name})
        self.assertEqual(got["userName"], new_name)
        self.assertEqual(
            self.query_users('userName eq "%s"' % user_name)["totalResults"], 0)
        self.assertEqual(
            [r["id"] for r in self.query_users(
                'userName eq "%s"' % new_name)["Resources"]], [uid])

        # Enable with the "True" string at a path, disable with a boolean.
        got = self.entra_patch("Users", uid,
            {"op": "Replace", "path": "active", "value": "True"})
        self.assertIs(got["active"], True)
        got = self.entra_patch("Users", uid,
            {"op": "replace", "path": "active", "value": False})
        self.assertIs(got["active"], False)
        got = self.entra_patch("Users", uid,
            {"op": "Replace", "path": "active", "value": "False"})
        self.assertIs(got["active"], False)
        # Soft-deleted users are still returned by queries.
        self.assertEqual(
            [r["id"] for r in self.query_users(
                'externalId eq "%s"' % (ext_id + "-2"))["Resources"]], [uid])

        # Delete: 204, then 404.
        resp = self.entra("DELETE", "/Users/" + uid)
        self.assertEqual(resp.status, 204, resp)
        self.assertEqual(resp.raw, b"")
        self.assertScimError(self.entra("GET", "/Users/" + uid), 404)
        self.assertEqual(
            self.query_users('userName eq "%s"' % new_name)["totalResults"], 0)

    def test_boolean_strings_on_create(self):
        # Entra's default job may send booleans as strings anywhere.
        t = tag("entrab")
        body = self.entra_user_body("B_%s@contoso.example" % t, t)
        body["active"] = "True"
        body["emails"][0]["primary"] = "True"
        resp = self.entra("POST", "/Users", body)
        self.assertEqual(resp.status, 201, resp)
        self.assertIs(resp.json["active"], True)
        self.assertIs(resp.json["emails"][0]["primary"], True)

    def test_group_lifecycle(self):
        t = tag("entrag")
        u1 = self.create_user("G1_%s@contoso.example" % t)
        u2 = self.create_user("G2_%s@contoso.example" % t)
        name = "displayName %s" % t

        def by_name(n):
            resp = self.entra("GET", "/Groups" + qs(
                excludedAttributes="members", filter='displayName eq "%s"' % n))
            return self.assertListResponse(resp)

        self.assertEqual(by_name(name)["totalResults"], 0)

        resp = self.entra("POST", "/Groups", {
            "schemas": [URN_GROUP],
            "externalId": "8aa1a0c0-%s" % t,
            "displayName": name,
            "meta": {"resourceType": "Group"}})
        self.assertEqual(resp.status, 201, resp)
        gid = resp.json["id"]
        self.assertEqual(resp.json["displayName"], name)
        self.assertEqual(resp.json["externalId"], "8aa1a0c0-%s" % t)
        self.assertFalse(resp.json.get("members"))

        # Get group with excludedAttributes=members.
        resp = self.entra("GET", "/Groups/%s%s"
                          % (gid, qs(excludedAttributes="members")))
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json["id"], gid)
        self.assertEqual(resp.json["displayName"], name)
        self.assertNotIn("members", resp.json)

        lst = by_name(name)
        self.assertEqual([r["id"] for r in lst["Resources"]], [gid])

        # Update [non-member attributes].
        new_name = "%s updatedDisplayName" % t
        g = self.entra_patch("Groups", gid,
            {"op": "Replace", "path": "displayName", "value": new_name})
        self.assertEqual(g["displayName"], new_name)
        self.assertEqual(by_name(name)["totalResults"], 0)
        self.assertEqual([r["id"] for r in by_name(new_name)["Resources"]],
                         [gid])
        self.assertNotIn("members", by_name(new_name)["Resources"][0])

        # Update [add members]: value array with "$ref": null.
        g = self.entra_patch("Groups", gid,
            {"op": "Add", "path": "members", "value": [
                {"$ref": None, "value": u1["id"]},
                {"$ref": None, "value": u2["id"]}]})
        self.assertEqual(self.member_ids(g), sorted([u1["id"], u2["id"]]))
        self.assertEqual(self.group_ids_of(self.get_user(u1["id"])), [gid])

        # Adding a member twice does not duplicate it.
        g = self.entra_patch("Groups", gid,
            {"op": "Add", "path": "members",
             "value": [{"$ref": None, "value": u1["id"]}]})
        self.assertEqual(self.member_ids(g), sorted([u1["id"], u2["id"]]))

        # Update [remove members], default shape: Remove with a value array
        # removes just those members.
        g = self.entra_patch("Groups", gid,
            {"op": "Remove", "path": "members",
             "value": [{"$ref": None, "value": u1["id"]}]})
        self.assertEqual(self.member_ids(g), [u2["id"]])
        self.assertEqual(self.group_ids_of(self.get_user(u1["id"])), [])

        # ...and with the flag: a value filter.
        g = self.entra_patch("Groups", gid,
            {"op": "remove", "path": 'members[value eq "%s"]' % u2["id"]})
        self.assertEqual(self.member_ids(g), [])
        self.assertEqual(self.group_ids_of(self.get_user(u2["id"])), [])

        # Delete group.
        resp = self.entra("DELETE", "/Groups/" + gid)
        self.assertEqual(resp.status, 204, resp)
        self.assertScimError(self.entra("GET", "/Groups/" + gid), 404)
        self.assertEqual(by_name(new_name)["totalResults"], 0)

    def test_deleted_member_leaves_group(self):
        t = tag("entrad")
        u1 = self.create_user("D1_%s@contoso.example" % t)
        u2 = self.create_user("D2_%s@contoso.example" % t)
        g = self.create_group("grp %s" % t, [u1["id"], u2["id"]])
        resp = self.entra("DELETE", "/Users/" + u1["id"])
        self.assertEqual(resp.status, 204, resp)
        self.assertEqual(self.member_ids(self.get_group(g["id"])), [u2["id"]])


if __name__ == "__main__":
    unittest.main()
