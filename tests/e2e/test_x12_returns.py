# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
"""End-to-end: a payer answers an 834 with X12 acknowledgments (TA1 and a
999, 005010X231A1) instead of a CSV, as carriers do. `returns.format: x12`
reads them and attaches them to the run by the control numbers the 834
carried (GS06, else ISA13), not by file name.

Only the rosterd CLI is used (`import hris`, `feed render`, `deliver`,
`returns fetch`, `deliver status`), with a local-directory destination;
only the Python standard library.
"""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import unittest

import harness

CONFIG = """\
server:
  outbox: {outbox}
mappings:
  hr:
    key: employee_id
    full_file: true
    max_terminate_percent: 100
    columns:
      email: userName
      last_name: name.familyName
      first_name: name.givenName
      hire_date: eligibility:hireDate
feeds:
  carrier:
    tenant: acme
    eligibility: 'active eq true'
    mode: change
    format: x12-834
    x12:
      sender_id: ACMECORP
      receiver_id: CARRIER
      sponsor_name: Acme Corp
      sponsor_id: '123456789'
      payer_name: Carrier
      payer_id: '987654321'
      usage: T
      newline: true
      ta1_requested: true
    columns:
      - {{name: member_id, source: externalId}}
      - {{name: relationship, const: '18'}}
      - {{name: last_name, source: name.familyName}}
      - {{name: first_name, source: name.givenName}}
      - {{name: coverage_start, source: eligibility:hireDate,
          date_format: '%Y%m%d'}}
      - {{name: employment_status, const: FT}}
    file_name: 'acme_{{seq:4}}.834'
    approval: {{first_run: false, max_terminations_percent: 100}}
delivery:
  carrier:
    destination: dir:{remote}
    returns: {{dir: {acks}, pattern: '*.999', format: x12}}
"""

ISA = ("ISA*00*          *00*          *ZZ*CARRIER        *ZZ*ACMECORP"
       "       *260305*1200*^*00501*000000077*0*T*:~\n")


def ack_999(gs06, code, sets):
    """A 999 for our group gs06: sets is [(st02, ik5, [error segs])]."""
    body = ["ST*999*0001*005010X231A1~", "AK1*BE*%d*005010X220A1~" % gs06]
    for st02, ik5, errs in sets:
        body.append("AK2*834*%s*005010X220A1~" % st02)
        body.extend(errs)
        body.append("IK5*%s~" % ik5)
    ok = sum(1 for s in sets if s[1] in "AE")
    body.append("AK9*%s*%d*%d*%d~" % (code, len(sets), len(sets), ok))
    body.append("SE*%d*0001~" % (len(body) + 1))
    return (ISA + "GS*FA*CARRIER*ACMECORP*20260305*1200*77*X*005010X231A1~\n"
            + "\n".join(body) + "\nGE*1*77~\nIEA*1*000000077~\n")


class X12ReturnsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="rosterd-x12ack-")
        self.db = os.path.join(self.tmp, "rosterd.db")
        self.outbox = os.path.join(self.tmp, "outbox")
        self.remote = os.path.join(self.tmp, "remote")
        self.acks = os.path.join(self.tmp, "acks")
        for d in (self.outbox, self.remote, self.acks):
            os.mkdir(d)
        self.config = os.path.join(self.tmp, "rosterd.yaml")
        with open(self.config, "w") as f:
            f.write(CONFIG.format(outbox=self.outbox, remote=self.remote,
                                  acks=self.acks))
        harness.tenant_create(self.db, "acme")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def rosterd(self, *args, check=0):
        db = [] if args[0] == "config" else ["--db", self.db]
        p = subprocess.run([harness.BIN, *args, "--config", self.config]
                           + db, capture_output=True, text=True, timeout=60)
        if check is not None:
            self.assertEqual(p.returncode, check,
                             "%s\nstdout: %s\nstderr: %s"
                             % (args, p.stdout, p.stderr))
        return p

    def import_people(self, people):
        path = os.path.join(self.tmp, "hr.csv")
        with open(path, "w") as f:
            f.write("employee_id,email,last_name,first_name,hire_date\n")
            for emp, last in people:
                f.write("%s,%s@example.com,%s,Pat,2024-01-15\n"
                        % (emp, emp.lower(), last))
        self.rosterd("import", "hris", path, "--tenant", "acme",
                     "--mapping", "hr")

    def deliver_next(self):
        """Render and deliver a run: its id and the 834's control numbers."""
        p = self.rosterd("feed", "render", "carrier")
        run = re.search(r"^run (run_[0-9a-f]{16}) ", p.stdout, re.M).group(1)
        self.rosterd("deliver", run)
        name = json.loads(self.rosterd("feed", "show", run,
                                       "--json").stdout)["file_name"]
        with open(os.path.join(self.remote, name)) as f:
            text = f.read()
        isa = text.split("~")[0].split("*")
        self.assertEqual(isa[14], "1")  # a TA1 requested
        isa13 = int(isa[13])
        gs06 = int(re.search(r"^GS\*(?:[^*]*\*){5}(\d+)\*", text,
                             re.M).group(1))
        return run, isa13, gs06

    def records(self, run):
        db = sqlite3.connect(self.db)
        try:
            return db.execute(
                "SELECT key, status, message, accepted FROM return_records "
                "WHERE run_id = ? ORDER BY file_id, row", (run,)).fetchall()
        finally:
            db.close()

    def state(self, run):
        st = json.loads(self.rosterd("deliver", "status", "carrier",
                                     "--json").stdout)
        return [d for d in st if d["run"] == run][0]["state"]

    def test_return_file_names_in_other_encodings(self):
        # The payer's server names its files as it likes: a name that is
        # not UTF-8 must still show in deliver status --json (the entry
        # was left out), with its records.
        self.import_people([("E1", "Ames")])
        r1, isa1, gs1 = self.deliver_next()
        name = os.fsencode(self.acks) + b"/ACK_\xe9t\xe9.999"
        with open(name, "w") as f:
            f.write(ack_999(gs1, "A", [("0001", "A", [])]))
        p = subprocess.run([harness.BIN, "returns", "fetch", "carrier",
                            "--config", self.config, "--db", self.db],
                           capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        st = json.loads(self.rosterd("deliver", "status", "carrier",
                                     "--json").stdout)
        mine = [d for d in st if d["run"] == r1][0]
        self.assertEqual([f["name"] for f in mine["returns"]],
                         ["ACK_?t?.999"])
        self.assertEqual(mine["returns"][0]["records"], 2)
        self.assertEqual(mine["state"], "acknowledged")

    def test_999_and_ta1_attach_by_control_number(self):
        self.import_people([("E1", "Ames"), ("E2", "Baker")])
        r1, isa1, gs1 = self.deliver_next()
        self.import_people([("E1", "Ames"), ("E2", "Brown")])
        r2, _, gs2 = self.deliver_next()
        self.assertNotEqual(gs1, gs2)
        # The payer answers the older file, under a name of its own: the
        # control numbers, not the name nor the newest run, decide.
        with open(os.path.join(self.acks, "TA1_0305.999"), "w") as f:
            f.write(ISA + "TA1*%09d*260305*1159*A*000~\nIEA*0*000000077~\n"
                    % isa1)
        with open(os.path.join(self.acks, "FA_0305.999"), "w") as f:
            f.write(ack_999(gs1, "R", [
                ("0001", "R", ["IK3*NM1*9*2100A*8~",
                               "IK4*3*1035*7*AMES~"])]))
        p = self.rosterd("returns", "fetch", "carrier")
        self.assertIn("2 new return files", p.stdout)
        self.assertIn("TA1_0305.999: run %s, 1 records (1 accepted, 0 "
                      "rejected)" % r1, p.stdout)
        self.assertIn("FA_0305.999: run %s, 2 records (0 accepted, 2 "
                      "rejected)" % r1, p.stdout)
        self.assertEqual(sorted(self.records(r1)), [
            ("GS06 %d" % gs1, "R",
             "1 of 1 transaction sets received, 0 accepted", 0),
            ("ISA13 %09d" % isa1, "A", "TA1 note 000: no error", 1),
            ("ST02 0001", "R",
             "NM1 at segment 9 in loop 2100A: 8 (segment has data element "
             "errors), element 3 (1035): 7 (invalid code value) \"AMES\"",
             0)])
        self.assertEqual(self.state(r1), "acknowledged")
        self.assertEqual(self.state(r2), "delivered")
        # What an operator reads: the rejections, and the whole answer.
        p = self.rosterd("returns", "show", r1, "--rejected")
        self.assertRegex(p.stdout, r"(?m)^ST02 0001 +R +no +NM1 at segment "
                         r"9 in loop 2100A")
        self.assertNotIn("ISA13", p.stdout)
        self.assertTrue(p.stdout.endswith("2 records rejected\n"), p.stdout)
        shown = json.loads(self.rosterd("returns", "show", r1,
                                        "--json").stdout)
        self.assertEqual(sorted((r["key"], r["status"], r["accepted"])
                                for r in shown),
                         [("GS06 %d" % gs1, "R", False),
                          ("ISA13 %09d" % isa1, "A", True),
                          ("ST02 0001", "R", False)])
        p = self.rosterd("returns", "show", "run_0000000000000000", check=1)
        self.assertIn("no run run_0000000000000000", p.stderr)

        # An accepted 999 for the newer run.
        with open(os.path.join(self.acks, "FA_0306.999"), "w") as f:
            f.write(ack_999(gs2, "A", [("0001", "A", [])]))
        p = self.rosterd("returns", "fetch", "carrier")
        self.assertIn("FA_0306.999: run %s, 2 records (2 accepted, 0 "
                      "rejected)" % r2, p.stdout)
        self.assertEqual(self.state(r2), "acknowledged")

    def test_one_file_answering_two_runs(self):
        self.import_people([("E1", "Ames")])
        r1, _, gs1 = self.deliver_next()
        self.import_people([("E1", "Adams")])
        r2, _, gs2 = self.deliver_next()
        # Two interchanges in one file, one 999 for each of our files.
        with open(os.path.join(self.acks, "batch.999"), "w") as f:
            f.write(ack_999(gs1, "A", [("0001", "A", [])]) +
                    ack_999(gs2, "R", [("0001", "R", ["IK3*INS*5**8~"])]))
        p = self.rosterd("returns", "fetch", "carrier")
        self.assertIn("batch.999: run %s, 4 records (2 accepted, 2 "
                      "rejected)" % r1, p.stdout)
        self.assertEqual(self.state(r1), "acknowledged")
        self.assertEqual(self.state(r2), "acknowledged")
        self.assertEqual([r[:2] for r in self.records(r1)],
                         [("GS06 %d" % gs1, "A"), ("ST02 0001", "A")])
        self.assertEqual([r[:2] for r in self.records(r2)],
                         [("GS06 %d" % gs2, "R"), ("ST02 0001", "R")])

    def test_acknowledgment_of_a_run_never_delivered_here(self):
        # Rendered, then sent some other way: the 999 still attaches.
        self.import_people([("E1", "Ames")])
        p = self.rosterd("feed", "render", "carrier")
        run = re.search(r"^run (run_[0-9a-f]{16}) ", p.stdout, re.M).group(1)
        show = json.loads(self.rosterd("feed", "show", run, "--json").stdout)
        with open(os.path.join(show["out_dir"], show["file_name"])) as f:
            gs06 = int(re.search(r"^GS\*(?:[^*]*\*){5}(\d+)\*", f.read(),
                                 re.M).group(1))
        with open(os.path.join(self.acks, "fa.999"), "w") as f:
            f.write(ack_999(gs06, "A", [("0001", "A", [])]))
        p = self.rosterd("returns", "fetch", "carrier")
        self.assertIn("fa.999: run %s, 2 records (2 accepted, 0 rejected)"
                      % run, p.stdout)
        self.assertEqual(len(self.records(run)), 2)

    def test_malformed_acknowledgment_is_kept_with_its_error(self):
        self.import_people([("E1", "Ames")])
        run, _, gs06 = self.deliver_next()
        with open(os.path.join(self.acks, "cut.999"), "w") as f:
            f.write(ack_999(gs06, "A", [("0001", "A", [])])[:-30])
        p = self.rosterd("returns", "fetch", "carrier")
        self.assertIn("cut.999: run (none), 0 records (0 accepted, 0 "
                      "rejected); segment 8 has no terminator '~' "
                      "(truncated file?)", p.stdout)
        self.assertEqual(self.state(run), "delivered")
        # An acknowledgment of nothing we sent answers no run.
        with open(os.path.join(self.acks, "other.999"), "w") as f:
            f.write(ack_999(gs06 + 100, "A", [("0001", "A", [])]))
        p = self.rosterd("returns", "fetch", "carrier")
        self.assertIn("other.999: run (none), 2 records (2 accepted, 0 "
                      "rejected)", p.stdout)
        self.assertEqual(self.state(run), "delivered")

    def test_csv_settings_refused_with_x12(self):
        with open(self.config) as f:
            text = f.read()
        with open(self.config, "w") as f:
            f.write(text.replace("format: x12}", "format: x12, "
                                 "key_column: Member ID}"))
        p = self.rosterd("config", "check", check=1)
        self.assertRegex(p.stderr, r"rosterd\.yaml:\d+:\d+: "
                         r"delivery\.carrier\.returns\.key_column: only for "
                         r"format csv")
        with open(self.config, "w") as f:
            f.write(text.replace("format: x12}", "format: edifact}"))
        p = self.rosterd("config", "check", check=1)
        self.assertIn("returns.format: expected csv or x12", p.stderr)


if __name__ == "__main__":
    unittest.main()
