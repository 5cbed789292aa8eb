# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
"""End-to-end tests of eligibility feeds: people provisioned over SCIM to
the real daemon, then `rosterd feed plan/render/approve/reject/runs/show`
run as an operator would. Files are compared byte for byte with
tests/golden/feed/ (ROSTERD_UPDATE_GOLDEN=1 rewrites them), and every
X12 834 file goes through the independent checker when Debian's
X12::Parser is installed. Only the Python standard library is used.
"""

import hashlib
import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import unittest

import harness
from harness import URN_ELIG, URN_ENT, URN_PATCH

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
GOLDEN = os.path.join(REPO, "tests", "golden", "feed")
X12_CHECK = os.path.join(HERE, "x12_check.pl")

CONFIG = """\
server:
  outbox: {outbox}
feeds:
  spring-health:
    tenant: acme
    vendor: Spring Health
    eligibility: 'active eq true and eligibility:eligibilityClass eq "FT"'
    mode: change
    format: csv
    columns:
      - {{name: member_id, header: Member ID, source: externalId}}
      - {{name: first_name, header: First Name, source: name.givenName}}
      - {{name: last_name, header: Last Name, source: name.familyName}}
      - name: email
        header: Work Email
        source: 'emails[type eq "work"].value'
        case: lower
      - {{name: dob, header: Date of Birth, source: eligibility:birthDate,
          date_format: '%m/%d/%Y'}}
      - {{name: dept, header: Department, source: enterprise:department,
          default: General}}
      - name: action
        header: Action
        source: $action
        map: {{add: A, change: C, terminate: T, reinstate: R, none: ''}}
      - {{name: term_date, header: Termination Date, source: $term_date,
          date_format: '%m/%d/%Y'}}
    file_name: '{{tenant}}_{{feed}}_{{date:%Y%m%d}}_{{seq:3}}.csv'
    approval:
      first_run: true
      max_terminations_percent: 50
  eap-834:
    tenant: acme
    vendor: Example EAP
    eligibility: 'active eq true'
    mode: change
    format: x12-834
    x12:
      sender_id: ACMECORP
      receiver_id: EXAMPLEEAP
      sponsor_name: Acme Corp
      sponsor_id: '123456789'
      payer_name: Example EAP
      payer_id: '987654321'
      policy_number: EAP-100
      usage: T
      newline: true
    columns:
      - {{name: member_id, source: externalId}}
      - {{name: relationship, source: $relationship}}
      - {{name: last_name, source: name.familyName, case: upper}}
      - {{name: first_name, source: name.givenName, case: upper}}
      - {{name: birth_date, source: eligibility:birthDate,
          date_format: '%Y%m%d'}}
      - {{name: coverage_start, source: eligibility:hireDate,
          date_format: '%Y%m%d'}}
      - {{name: employment_status, const: FT}}
      - {{name: plan_code, const: EAP}}
      - {{name: coverage_level, const: EMP}}
    file_name: 'acme-eap-{{date}}-{{seq:4}}.834'
    approval: {{first_run: false, max_terminations_percent: 100}}
  fixed-pt:
    tenant: acme
    eligibility: 'eligibility:eligibilityClass eq "PT"'
    format: fixed
    terminations: omit
    columns:
      - {{name: id, source: externalId, width: 8}}
      - {{name: last, source: name.familyName, width: 10, truncate: true,
          case: upper}}
      - {{name: hired, source: eligibility:hireDate, width: 8,
          date_format: '%Y%m%d'}}
      - {{name: seq, const: '7', width: 4, align: right, pad: '0'}}
    file_name: 'pt-{{date}}.txt'
    approval: {{first_run: false}}
"""

PEOPLE = [
    # externalId, given, family, class, dob, hire, department
    ("E1001", "Ada", "Lovelace", "FT", "1815-12-10", "2019-03-01", "Eng"),
    ("E1002", "Grace", "Hopper", "FT", "1906-12-09", "2015-06-15", None),
    ("E1003", "Alan", "Turing", "FT", "1912-06-23", "2020-01-06", "Eng"),
    ("E1004", "Edsger", "Dijkstra", "PT", "1930-05-11", "2021-09-01",
     "Research"),
    ("E1005", "Barbara", "Liskov", "FT", "1939-11-07", "2018-04-02",
     "=cmd|' /C calc'!A0"),
]

RUN_RE = re.compile(r"^run (run_[0-9a-f]{16}) ", re.M)


def have_x12_parser():
    perl = shutil.which("perl")
    if perl is None:
        return False
    r = subprocess.run([perl, "-MX12::Parser", "-e", "1"],
                       capture_output=True)
    return r.returncode == 0


class FeedTest(harness.ScimTestCase):
    """One daemon and database; the tests run in order and build on each
    other (the feed's state is the point)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.outbox = os.path.join(cls.workdir, "outbox")
        cls.config = os.path.join(cls.workdir, "rosterd.yaml")
        with open(cls.config, "w") as f:
            f.write(CONFIG.format(outbox=cls.outbox))
        cls.ids = {}
        for ext, given, family, cls_, dob, hire, dept in PEOPLE:
            attrs = {
                "externalId": ext,
                "name": {"givenName": given, "familyName": family},
                "emails": [
                    {"value": "%s@home.example" % given.lower(),
                     "type": "home"},
                    {"value": "%s.%s@Acme.example" % (given, family),
                     "type": "work"}],
                URN_ELIG: {"eligibilityClass": cls_, "birthDate": dob,
                           "hireDate": hire,
                           "employmentStatus": "active"},
            }
            if dept is not None:
                attrs[URN_ENT] = {"department": dept}
            user = cls.ccreate_user("%s.%s" % (given.lower(), family.lower()),
                                    **attrs)
            cls.ids[ext] = user["id"]

    # ---- helpers ----------------------------------------------------------

    def feed(self, *args, check=True, env=None):
        argv = [harness.BIN, "feed"] + list(args) + [
            "--config", self.config, "--db", self.db]
        e = dict(os.environ)
        e.pop("ROSTERD_NOW", None)
        e.update(env or {})
        proc = subprocess.run(argv, capture_output=True, text=True,
                              timeout=60, env=e)
        if check and proc.returncode != 0:
            self.fail("%s exited %d\nstdout: %s\nstderr: %s" % (
                " ".join(argv), proc.returncode, proc.stdout, proc.stderr))
        return proc

    def plan(self, name, as_of):
        out = self.feed("plan", name, "--json", "--as-of", as_of).stdout
        return json.loads(out)

    def outcomes(self, plan):
        return [(o["action"], o["key"]) + (
            (tuple(o["columns"]),) if o["action"] == "change" else
            (o["reason"], o["term_date"]) if o["action"] == "term" else ())
            for o in plan["outcomes"]]

    def run_id(self, proc):
        m = RUN_RE.search(proc.stdout)
        self.assertIsNotNone(m, proc.stdout)
        return m.group(1)

    def show(self, run):
        return json.loads(self.feed("show", run, "--json").stdout)

    def file_of(self, run):
        r = self.show(run)
        path = os.path.join(r["out_dir"], r["file_name"])
        with open(path, "rb") as f:
            data = f.read()
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertEqual(len(data), r["file_size"])
        self.assertEqual(hashlib.sha256(data).hexdigest(), r["file_sha256"])
        return r, data

    def assertGolden(self, name, data):
        path = os.path.join(GOLDEN, name)
        if os.environ.get("ROSTERD_UPDATE_GOLDEN"):
            os.makedirs(GOLDEN, exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
        with open(path, "rb") as f:
            want = f.read()
        self.assertEqual(data.decode(), want.decode(), "differs from " + path)
        self.assertEqual(data, want)

    def patch(self, ext, *ops):
        resp = self.request("PATCH", "/Users/" + self.ids[ext],
                            {"schemas": [URN_PATCH], "Operations": list(ops)})
        self.assertStatus(resp, 200)

    # ---- tests ------------------------------------------------------------

    def test_1_first_run_waits_for_approval(self):
        plan = self.plan("spring-health", "2026-12-01")
        self.assertEqual(self.outcomes(plan), [
            ("add", "E1001"), ("add", "E1002"), ("add", "E1003"),
            ("add", "E1005")])
        self.assertEqual(plan["counts"]["excluded"], 1)
        self.assertEqual(plan["counts"]["change_file_records"], 4)
        # The rule as the operator wrote it, abbreviations and all.
        self.assertEqual(plan["eligibility"], 'active eq true and '
                         'eligibility:eligibilityClass eq "FT"')
        r = self.feed("render", "spring-health", "--as-of", "2026-12-01",
                      "--by", "bob")
        run = self.run_id(r)
        self.assertIn(": pending_approval", r.stdout)
        self.assertIn("first run of the feed", r.stdout)
        self.assertFalse(os.path.exists(self.outbox))
        shown = self.show(run)
        self.assertEqual(shown["state"], "pending_approval")
        self.assertEqual(shown["held"], ["first run of the feed"])
        self.assertIsNone(shown["file_name"])
        # Nothing else runs while it waits.
        again = self.feed("render", "spring-health", "--as-of", "2026-12-01",
                          check=False)
        self.assertEqual(again.returncode, 1)
        self.assertIn("has an unfinished run %s (pending_approval)" % run,
                      again.stderr)
        # An unusable --out leaves the run waiting, not failed.
        bad = self.feed("approve", run, "--by", "alice", "--out",
                        os.path.join(self.workdir, "no", "such"),
                        check=False)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("no such directory", bad.stderr)
        self.assertEqual(self.show(run)["state"], "pending_approval")
        a = self.feed("approve", run, "--by", "alice")
        self.assertIn(": rendered", a.stdout)
        shown, data = self.file_of(run)
        self.assertEqual(shown["state"], "rendered")
        self.assertEqual(shown["decided_by"], "alice")
        self.assertEqual(shown["file_name"],
                         "acme_spring-health_20261201_001.csv")
        self.assertEqual([h["to"] for h in shown["history"]],
                         ["planned", "pending_approval", "approved",
                          "rendered"])
        self.assertEqual(shown["history"][1]["by"], "bob")
        self.assertEqual(shown["history"][2]["by"], "alice")
        self.assertGolden("spring-health-1.csv", data)
        # No leftover temporary file.
        self.assertEqual(os.listdir(self.outbox), [shown["file_name"]])

    def test_2_plan_after_render_has_nothing_to_do(self):
        out = self.feed("plan", "spring-health", "--as-of",
                        "2026-12-02").stdout
        self.assertIn("nothing to send", out)
        self.assertRegex(out, r"unchanged +4\n")
        plan = self.plan("spring-health", "2026-12-02")
        self.assertEqual(plan["outcomes"], [])
        self.assertEqual(plan["counts"]["unchanged"], 4)

    def test_3_change_file_has_exactly_the_changes(self):
        # A new name, a termination with its date, a new hire, a move to
        # part time.
        self.patch("E1001", {"op": "replace", "path": "name.familyName",
                             "value": "King"})
        self.patch("E1002",
                   {"op": "replace", "path": "active", "value": False},
                   {"op": "replace",
                    "path": URN_ELIG + ":terminationDate",
                    "value": "2026-12-03"},
                   {"op": "replace",
                    "path": URN_ELIG + ":employmentStatus",
                    "value": "terminated"})
        self.patch("E1003", {"op": "replace",
                             "path": URN_ELIG + ":eligibilityClass",
                             "value": "PT"})
        user = self.ccreate_user("margaret.hamilton", **{
            "externalId": "E1006",
            "name": {"givenName": "Margaret", "familyName": "Hamilton"},
            "emails": [{"value": "MH@acme.example", "type": "work"}],
            URN_ELIG: {"eligibilityClass": "FT",
                       "birthDate": "1936-08-17"}})
        type(self).ids["E1006"] = user["id"]
        plan = self.plan("spring-health", "2026-12-04")
        self.assertEqual(self.outcomes(plan), [
            ("change", "E1001", ("last_name",)),
            ("term", "E1002", "terminated", "2026-12-03"),
            ("term", "E1003", "ineligible", "2026-12-04"),
            ("add", "E1006")])
        r = self.feed("render", "spring-health", "--as-of", "2026-12-04",
                      "--by", "bob")
        run = self.run_id(r)
        self.assertIn(": rendered", r.stdout)
        shown, data = self.file_of(run)
        self.assertEqual(shown["counts"]["records"], 4)
        self.assertEqual(shown["file_name"],
                         "acme_spring-health_20261204_002.csv")
        self.assertGolden("spring-health-2.csv", data)
        self.assertEqual(self.plan("spring-health", "2026-12-05")["outcomes"],
                         [])

    def test_4_full_files_are_reproducible(self):
        # The first is written while the plan runs ("finish" phase), the
        # second after it ("write"): the same bytes either way.
        a = self.feed("render", "spring-health", "--full", "--as-of",
                      "2026-12-06", "--by", "bob",
                      env={"ROSTERD_FEED_TRACE": "1"})
        b = self.feed("render", "spring-health", "--full", "--as-of",
                      "2026-12-06", "--by", "bob",
                      env={"ROSTERD_FEED_TRACE": "1",
                           "ROSTERD_FEED_ONE_PASS": "0"})
        self.assertIn("feed: finish", a.stderr)
        self.assertNotIn("feed: write", a.stderr)
        self.assertIn("feed: write", b.stderr)
        self.assertNotIn("feed: finish", b.stderr)
        ra, da = self.file_of(self.run_id(a))
        rb, db = self.file_of(self.run_id(b))
        self.assertNotEqual(ra["file_name"], rb["file_name"])
        self.assertEqual(da, db)
        self.assertEqual(ra["file_sha256"], rb["file_sha256"])
        self.assertGolden("spring-health-full.csv", da)

    def test_5_reject_records_who_and_why(self):
        # Deactivate all three members: 100% > 50%, the run is held.
        for ext in ("E1001", "E1005", "E1006"):
            self.patch(ext, {"op": "replace", "path": "active",
                             "value": False})
        r = self.feed("render", "spring-health", "--as-of", "2026-12-07",
                      "--by", "bob")
        run = self.run_id(r)
        self.assertIn(": pending_approval", r.stdout)
        self.assertIn("terminations: 3 of 3 members (100.0%) exceed "
                      "max_terminations_percent 50", r.stdout)
        j = self.feed("reject", run, "--reason", "HR export truncated",
                      "--by", "carol")
        self.assertIn("rejected by carol: HR export truncated", j.stdout)
        shown = self.show(run)
        self.assertEqual(shown["state"], "rejected")
        self.assertEqual(shown["decided_by"], "carol")
        self.assertEqual(shown["reason"], "HR export truncated")
        self.assertIsNone(shown["file_name"])
        text = self.feed("show", run).stdout
        self.assertIn("decided  rejected by carol at ", text)
        # The state did not move: the plan still has the three to send.
        plan = self.plan("spring-health", "2026-12-07")
        self.assertEqual([o[0] for o in self.outcomes(plan)],
                         ["term", "term", "term"])
        runs = json.loads(self.feed("runs", "spring-health",
                                    "--json").stdout)
        self.assertEqual([x["state"] for x in runs],
                         ["rejected", "rendered", "rendered", "rendered",
                          "rendered"])
        listing = self.feed("runs", "spring-health").stdout
        self.assertTrue(listing.startswith("RUN "))
        self.assertIn(run, listing)
        self.check_show_json_of_other_encodings(run)
        # Put them back for the other feeds.
        for ext in ("E1001", "E1005", "E1006"):
            self.patch(ext, {"op": "replace", "path": "active",
                             "value": True})

    def check_show_json_of_other_encodings(self, run):
        # --by, --reason and --out are stored as typed, in any encoding;
        # feed show --json must still give every field and every event
        # (they were left out when not UTF-8).
        db = sqlite3.connect(self.db)
        try:
            with db:
                db.execute("UPDATE feed_runs SET reason = CAST(? AS TEXT) "
                           "WHERE id = ?", (b"HR \xe9xport", run))
                db.execute("UPDATE feed_run_events SET actor = "
                           "CAST(? AS TEXT) WHERE run_id = ?",
                           (b"carol\xff", run))
            shown = self.show(run)
            self.assertEqual(shown["reason"], "HR ?xport")
            self.assertEqual(shown["decided_by"], "carol")
            self.assertGreaterEqual(len(shown["history"]), 2)
            self.assertEqual({e["by"] for e in shown["history"]},
                             {"carol?"})
        finally:
            with db:
                db.execute("UPDATE feed_runs SET reason = ? WHERE id = ?",
                           ("HR export truncated", run))
                db.execute("UPDATE feed_run_events SET actor = ? WHERE "
                           "run_id = ? AND to_state = 'rejected'",
                           ("carol", run))
                db.execute("UPDATE feed_run_events SET actor = ? WHERE "
                           "run_id = ? AND to_state <> 'rejected'",
                           ("bob", run))
            db.close()

    def test_6_x12_834_and_control_numbers(self):
        # The 834 writer's own rules show up in the plan: Margaret has
        # no hire date, so no coverage start, and nothing is rendered.
        plan = self.plan("eap-834", "2026-12-08")
        errors = [o for o in plan["outcomes"] if o["action"] == "error"]
        self.assertEqual([o["key"] for o in errors], ["E1006"])
        self.assertIn("needs coverage_start (DTP*348)", errors[0]["error"])
        bad = self.feed("render", "eap-834", "--as-of", "2026-12-08",
                        check=False)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("1 member cannot be written (first: E1006: ",
                      bad.stderr)
        self.assertEqual(json.loads(self.feed("runs", "eap-834",
                                              "--json").stdout), [])
        self.patch("E1006", {"op": "add", "path": URN_ELIG + ":hireDate",
                             "value": "2026-12-01"})
        r = self.feed("render", "eap-834", "--as-of", "2026-12-08",
                      "--by", "bob")
        run = self.run_id(r)
        shown, data = self.file_of(run)
        self.assertEqual(shown["x12"]["isa13"], 1)
        self.assertGolden("eap-834-1.834", data)
        self.check_x12(shown)
        self.patch("E1004", {"op": "replace", "path": "active",
                             "value": False},
                   {"op": "replace", "path": URN_ELIG + ":terminationDate",
                    "value": "2026-12-08"})
        r = self.feed("render", "eap-834", "--as-of", "2026-12-09",
                      "--by", "bob")
        shown, data = self.file_of(self.run_id(r))
        self.assertEqual(shown["x12"]["isa13"], 2)
        self.assertEqual(shown["x12"]["gs06"], 2)
        self.assertGolden("eap-834-2.834", data)
        self.check_x12(shown)
        self.patch("E1004", {"op": "replace", "path": "active",
                             "value": True})

    def check_x12(self, shown):
        if not have_x12_parser():
            return
        path = os.path.join(shown["out_dir"], shown["file_name"])
        r = subprocess.run(["perl", X12_CHECK, path], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_7_fixed_width_by_omission(self):
        r = self.feed("render", "fixed-pt", "--as-of", "2026-12-10",
                      "--by", "bob")
        shown, data = self.file_of(self.run_id(r))
        self.assertEqual(shown["mode"], "full")
        self.assertGolden("fixed-pt.txt", data)
        bad = self.feed("render", "fixed-pt", "--changes", check=False)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("terminations: omit", bad.stderr)

    def test_8_bad_profiles_are_reported_with_line_and_key(self):
        path = os.path.join(self.workdir, "bad.yaml")
        with open(path, "w") as f:
            f.write("feeds:\n"
                    "  x:\n"
                    "    tenant: acme\n"
                    "    eligibility: 'active eq'\n"
                    "    format: csv\n"
                    "    file_name: 'out/{feed}.csv'\n"
                    "    columns:\n"
                    "      - {name: a, source: nosuch}\n")
        p = subprocess.run([harness.BIN, "feed", "plan", "x", "--config",
                            path, "--db", self.db], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertIn(path + ":4:19: feeds.x.eligibility: ", p.stderr)
        self.assertIn(path + ":6:17: feeds.x.file_name: \"out/{feed}.csv\":"
                      " only letters, digits, '.', '_' and '-' may appear "
                      "outside placeholders (a file name, never a path)",
                      p.stderr)
        self.assertIn(path + ":8:27: feeds.x.columns[0].source: invalid path "
                      "at position 1: unknown attribute 'nosuch'", p.stderr)
        self.assertIn("rosterd: %s: 3 errors" % path, p.stderr)

    def test_9_usage_errors(self):
        p = self.feed("plan", "nope", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('no feed "nope" in', p.stderr)
        self.assertIn("(feeds: ", p.stderr)
        p = self.feed("reject", "run_0000000000000000", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--reason is required", p.stderr)
        p = self.feed("approve", "run_0000000000000000", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no such run", p.stderr)
        p = self.feed("render", "spring-health", "--full", "--changes",
                      check=False)
        self.assertEqual(p.returncode, 2)
        p = self.feed("plan", "spring-health", "--as-of", "12/01/2026",
                      check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--as-of is not a date (YYYY-MM-DD)", p.stderr)

    def test_9b_unusable_out_dir_records_no_run(self):
        # A mistyped --out is refused before the run is recorded: no
        # failed run is left behind and no file number is used up.
        before = json.loads(self.feed("runs", "spring-health",
                                      "--json").stdout)
        afile = os.path.join(self.workdir, "a-file")
        with open(afile, "w"):
            pass
        for out, msg in ((afile, afile + ": not a directory"),
                         (os.path.join(self.workdir, "no", "such"),
                          os.path.join(self.workdir, "no", "such") +
                          ": no such directory, and " +
                          os.path.join(self.workdir, "no") +
                          " cannot hold it: No such file or directory")):
            p = self.feed("render", "spring-health", "--as-of",
                          "2026-12-20", "--out", out, check=False)
            self.assertEqual(p.returncode, 1, p.stdout)
            self.assertEqual(p.stderr.strip(),
                             "rosterd: feed render: " + msg)
            self.assertEqual(p.stdout, "")
        after = json.loads(self.feed("runs", "spring-health",
                                     "--json").stdout)
        self.assertEqual(after, before)


if __name__ == "__main__":
    unittest.main()
