# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
"""A feed whose eligibility is group membership, the way Okta and Entra
assign an app: people join and leave the group over SCIM (Okta's and
Entra's PATCH shapes), the group is renamed, a member is deleted; each
plan sends exactly the difference, and people whose membership did not
change are settled without their documents being read."""

import json
import os
import subprocess

import harness
from harness import URN_PATCH

CONFIG = """\
feeds:
  eap:
    tenant: acme
    eligibility: 'active eq true and groups.display eq "EAP Eligible"'
    mode: change
    format: csv
    columns:
      - {name: id, source: externalId}
      - {name: email, source: userName}
      - {name: action, source: $action}
    file_name: 'eap-{seq}.csv'
    approval: {first_run: false, max_terminations_percent: 100}
"""


class GroupRuleTest(harness.ScimTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.config = os.path.join(cls.workdir, "rosterd.yaml")
        cls.outbox = os.path.join(cls.workdir, "out")
        with open(cls.config, "w") as f:
            f.write(CONFIG)

    def feed(self, *args):
        p = subprocess.run([harness.BIN, "feed"] + list(args) + [
            "--config", self.config, "--db", self.db],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return p.stdout

    def plan(self):
        j = json.loads(self.feed("plan", "eap", "--json", "--as-of",
                                 "2026-12-01"))
        return sorted((o["action"], o["key"]) for o in j["outcomes"]
                      if o["action"] in ("add", "change", "term",
                                         "reinstate")), j["counts"]

    def render(self):
        self.feed("render", "eap", "--out", self.outbox, "--as-of",
                  "2026-12-01")

    def members(self, gid, op, *uids):
        ops = [{"op": op, "path": "members",
                "value": [{"value": u} for u in uids]}]
        if op == "remove":  # Entra's shape for a removal
            ops = [{"op": "Remove",
                    "path": 'members[value eq "%s"]' % u} for u in uids]
        r = self.request("PATCH", "/Groups/" + gid,
                         {"schemas": [URN_PATCH], "Operations": ops})
        self.assertIn(r.status, (200, 204), r.raw)

    def test_membership_drives_the_feed(self):
        uid = {}
        for i in range(1, 7):
            uid[i] = self.create_user("p%d@acme.example" % i,
                                      externalId="E%d" % i)["id"]
        gid = self.create_group("EAP Eligible",
                                members=[uid[1], uid[2], uid[3]])["id"]
        self.create_group("Other", members=[uid[4]])
        sent, _ = self.plan()
        self.assertEqual(sent, [("add", "E1"), ("add", "E2"), ("add", "E3")])
        self.render()
        sent, counts = self.plan()
        self.assertEqual(sent, [])
        self.assertEqual(counts["evaluated"], 0)

        # Join, leave: only those two are read again.
        self.members(gid, "add", uid[4])
        self.members(gid, "remove", uid[2])
        sent, counts = self.plan()
        self.assertEqual(sent, [("add", "E4"), ("term", "E2")])
        self.assertEqual(counts["evaluated"], 2)
        self.render()

        # Back again: a reinstatement. A deactivated member leaves.
        self.members(gid, "add", uid[2])
        r = self.request("PATCH", "/Users/" + uid[3], {
            "schemas": [URN_PATCH],
            "Operations": [{"op": "replace", "path": "active",
                            "value": False}]})
        self.assertEqual(r.status, 200, r.raw)
        sent, _ = self.plan()
        self.assertEqual(sent, [("reinstate", "E2"), ("term", "E3")])
        self.render()

        # Okta pushes the whole group with PUT: E5 joins, E3 leaves.
        r = self.request("PUT", "/Groups/" + gid, {
            "schemas": [harness.URN_GROUP], "displayName": "EAP Eligible",
            "members": [{"value": uid[i]} for i in (1, 2, 4, 5)]})
        self.assertEqual(r.status, 200, r.raw)
        sent, counts = self.plan()
        self.assertEqual(sent, [("add", "E5")])
        self.assertEqual(counts["evaluated"], 2)  # E3 and E5
        self.render()

        # A rename of the group takes everyone out of the rule.
        r = self.request("PATCH", "/Groups/" + gid, {
            "schemas": [URN_PATCH],
            "Operations": [{"op": "replace", "path": "displayName",
                            "value": "EAP (old)"}]})
        self.assertIn(r.status, (200, 204), r.raw)
        sent, _ = self.plan()
        self.assertEqual(sent, [("term", "E1"), ("term", "E2"),
                                ("term", "E4"), ("term", "E5")])
        # ... and back: all three return; a deleted group takes them out.
        r = self.request("PATCH", "/Groups/" + gid, {
            "schemas": [URN_PATCH],
            "Operations": [{"op": "replace", "path": "displayName",
                            "value": "EAP Eligible"}]})
        sent, _ = self.plan()
        self.assertEqual(sent, [])
        self.assertEqual(self.request("DELETE", "/Groups/" + gid).status,
                         204)
        sent, _ = self.plan()
        self.assertEqual(sent, [("term", "E1"), ("term", "E2"),
                                ("term", "E4"), ("term", "E5")])
