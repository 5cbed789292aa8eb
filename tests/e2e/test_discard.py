# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
"""End-to-end: a change file whose delivery fails for good never loses its
changes. Only the rosterd CLI is used (`import hris`, `feed render`,
`deliver`, `feed discard`), with a local-directory destination that is
missing when a delivery must fail.

- A failed delivery blocks the feed's next run, with a message that names
  the run and both ways out (`deliver --retry`, `feed discard`).
- `feed discard` undoes the run: the next change file carries its adds,
  changes and terminations again, with today's values.
- A discarded run cannot be retried; a delivered run cannot be discarded;
  runs are discarded newest first.

Only the Python standard library is used.
"""

import csv
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
feeds:
  vendor:
    tenant: acme
    eligibility: 'active eq true'
    mode: change
    format: csv
    line_ending: lf
    columns:
      - {{name: member_id, header: Member ID, source: externalId}}
      - {{name: last_name, header: Last Name, source: name.familyName}}
      - name: action
        header: Action
        source: $action
        map: {{add: A, change: C, terminate: T, reinstate: R, none: ''}}
    file_name: 'vendor_{{seq:4}}.csv'
    approval: {{first_run: false, max_terminations_percent: 100}}
delivery:
  vendor:
    destination: dir:{remote}
    retries: {{max: 0, base_ms: 10, cap_ms: 10}}
"""

RUN_RE = re.compile(r"^run (run_[0-9a-f]{16}) ", re.M)


class DiscardTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="rosterd-discard-")
        self.db = os.path.join(self.tmp, "rosterd.db")
        self.outbox = os.path.join(self.tmp, "outbox")
        self.remote = os.path.join(self.tmp, "remote")
        os.mkdir(self.outbox)
        self.config = os.path.join(self.tmp, "rosterd.yaml")
        with open(self.config, "w") as f:
            f.write(CONFIG.format(outbox=self.outbox, remote=self.remote))
        harness.tenant_create(self.db, "acme")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def rosterd(self, *args, check=0):
        p = subprocess.run([harness.BIN, *args, "--config", self.config,
                            "--db", self.db], capture_output=True,
                           text=True, timeout=60,
                           env=dict(os.environ, USER="ops"))
        if check is not None:
            self.assertEqual(p.returncode, check,
                             "%s\nstdout: %s\nstderr: %s"
                             % (args, p.stdout, p.stderr))
        return p

    def import_people(self, people):
        path = os.path.join(self.tmp, "hr.csv")
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["employee_id", "email", "last_name"])
            for emp, last in people:
                w.writerow([emp, "%s@example.com" % emp.lower(), last])
        self.rosterd("import", "hris", path, "--tenant", "acme",
                     "--mapping", "hr")

    def render(self, check=0):
        p = self.rosterd("feed", "render", "vendor", check=check)
        if check != 0:
            return p
        m = RUN_RE.search(p.stdout)
        self.assertIsNotNone(m, p.stdout)
        return m.group(1)

    def rows(self, run):
        j = json.loads(self.rosterd("feed", "show", run, "--json").stdout)
        with open(os.path.join(j["out_dir"], j["file_name"])) as f:
            return sorted(list(csv.reader(f))[1:])

    def feed_state(self):
        db = sqlite3.connect(self.db)
        try:
            return db.execute("SELECT roster, terminated, layout_hash IS "
                              "NULL, (SELECT count(*) FROM feed_members) "
                              "FROM feed_state WHERE feed = 'vendor'"
                              ).fetchone()
        finally:
            db.close()

    def undo_flags(self):
        db = sqlite3.connect(self.db)
        try:
            return dict(db.execute("SELECT id, undo FROM feed_runs "
                                   "WHERE feed = 'vendor'").fetchall())
        finally:
            db.close()

    def fail_delivery(self, run):
        p = self.rosterd("deliver", run, check=1)
        self.assertIn(run, p.stderr)
        return p

    def test_failed_delivery_blocks_then_discard_resends(self):
        self.import_people([("E1", "Ames"), ("E2", "Baker"), ("E3", "Cole")])
        r1 = self.render()
        self.assertEqual(self.rows(r1), [["E1", "Ames", "A"],
                                         ["E2", "Baker", "A"],
                                         ["E3", "Cole", "A"]])
        self.fail_delivery(r1)

        # A change meanwhile; the next run must wait.
        self.import_people([("E1", "Ames"), ("E2", "Brown"), ("E3", "Cole")])
        plan = self.rosterd("feed", "plan", "vendor").stdout
        self.assertIn("note: the delivery of run %s failed; render waits"
                      % r1, plan)
        plan = json.loads(self.rosterd("feed", "plan", "vendor",
                                       "--json").stdout)
        self.assertEqual(plan["waits_for"]["run"], r1)
        self.assertEqual(plan["waits_for"]["state"], "failed")
        self.assertIn("open directory", plan["waits_for"]["error"])
        p = self.render(check=1)
        self.assertIn("the delivery of run %s failed" % r1, p.stderr)
        self.assertIn("rosterd deliver %s --retry" % r1, p.stderr)
        self.assertIn("rosterd feed discard %s --reason TEXT" % r1, p.stderr)

        p = self.rosterd("feed", "discard", r1, check=2)
        self.assertIn("--reason is required", p.stderr)
        # This feed has no PGP, so nothing was spooled; put there what a
        # PGP feed's failed upload leaves (DATA/spool/RUN/NAME.pgp).
        spool = os.path.join(self.tmp, "spool", r1)
        os.makedirs(spool)
        with open(os.path.join(spool, "vendor_0001.csv.pgp"), "wb") as f:
            f.write(b"\x85\x01")
        p = self.rosterd("feed", "discard", r1, "--reason",
                         "vendor inbox was moved")
        self.assertIn("run %s (vendor #1): discarded by ops: vendor inbox "
                      "was moved" % r1, p.stdout)
        # The copy that would have gone out is gone; the rendered file
        # stays where it was written.
        self.assertFalse(os.path.exists(spool))
        self.assertNotIn("temporary name", p.stdout)
        show = self.rosterd("feed", "show", r1).stdout
        self.assertIn("state    discarded", show)
        self.assertIn("discard  vendor inbox was moved", show)
        p = self.rosterd("deliver", r1, "--retry", check=1)
        self.assertIn("run %s is discarded" % r1, p.stderr)

        # Everything run 1 carried goes out again, with today's values.
        r2 = self.render()
        self.assertEqual(self.rows(r2), [["E1", "Ames", "A"],
                                         ["E2", "Brown", "A"],
                                         ["E3", "Cole", "A"]])
        os.mkdir(self.remote)
        self.rosterd("deliver", r2)
        self.assertEqual(os.listdir(self.remote), ["vendor_0002.csv"])
        p = self.rosterd("feed", "discard", r2, "--reason", "x", check=1)
        self.assertIn("run %s is delivered; only a rendered run whose "
                      "delivery failed or never started can be discarded"
                      % r2, p.stderr)

        # A termination whose file fails is sent by the next run.
        self.import_people([("E1", "Ames"), ("E2", "Brown")])
        r3 = self.render()
        self.assertEqual(self.rows(r3), [["E3", "Cole", "T"]])
        shutil.rmtree(self.remote)
        self.fail_delivery(r3)
        # As if its upload had been staged and never renamed.
        os.makedirs(os.path.join(self.tmp, "spool", r3))
        with open(os.path.join(self.tmp, "spool", r3, ".staged"), "w") as f:
            f.write(".vendor_0003.csv.0123abcd.part")
        p = self.rosterd("feed", "discard", r3, "--reason", "retry tomorrow")
        self.assertIn("the server may still hold its upload under the "
                      "temporary name .vendor_0003.csv.0123abcd.part "
                      "(never renamed): the feed's next delivery removes it",
                      p.stdout)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "spool", r3)))
        self.import_people([("E1", "Adams"), ("E2", "Brown")])
        self.assertEqual(self.feed_state(), (3, 0, False, 3))
        r4 = self.render()
        self.assertEqual(self.feed_state(), (2, 1, False, 3))
        self.assertEqual(self.rows(r4), [["E1", "Adams", "C"],
                                         ["E3", "Cole", "T"]])
        self.assertEqual(self.undo_flags(), {r1: 0, r2: 0, r3: 0, r4: 1})
        os.mkdir(self.remote)
        # What r3's staged upload would have left there.
        with open(os.path.join(self.remote,
                               ".vendor_0003.csv.0123abcd.part"), "w") as f:
            f.write("Member ID\n")
        self.rosterd("deliver", r4)
        self.assertEqual(os.listdir(self.remote), ["vendor_0004.csv"])
        self.assertFalse(os.path.exists(os.path.join(
            self.tmp, "spool", ".discarded.vendor")))
        plan = json.loads(self.rosterd("feed", "plan", "vendor",
                                       "--json").stdout)
        self.assertEqual(plan["counts"]["adds"], 0, plan["counts"])
        self.assertIsNone(plan["waits_for"])
        self.assertEqual(plan["counts"]["terminations"], 0, plan["counts"])

    def test_discard_newest_first(self):
        self.import_people([("E1", "Ames")])
        r1 = self.render()
        self.import_people([("E1", "Ames"), ("E2", "Baker")])
        r2 = self.render()
        p = self.rosterd("feed", "discard", r1, "--reason", "x", check=1)
        self.assertIn("run %s cannot be discarded: run %s (#2, rendered) "
                      "came after it" % (r1, r2), p.stderr)
        self.assertEqual(self.feed_state(), (2, 0, False, 2))
        self.rosterd("feed", "discard", r2, "--reason", "x")
        self.assertEqual(self.feed_state(), (1, 0, False, 1))
        self.rosterd("feed", "discard", r1, "--reason", "x")
        self.assertEqual(self.feed_state(), (0, 0, True, 0))
        p = self.rosterd("feed", "discard", r1, "--reason", "x", check=1)
        self.assertIn("run %s is discarded; only a rendered run whose "
                      "delivery failed" % r1, p.stderr)
        p = self.rosterd("feed", "discard", "run_0000000000000000",
                         "--reason", "x", check=1)
        self.assertIn("no run run_0000000000000000", p.stderr)
        # Back to a first run: both people are added in one file.
        r3 = self.render()
        self.assertEqual(self.rows(r3), [["E1", "Ames", "A"],
                                         ["E2", "Baker", "A"]])

    def test_run_being_delivered_is_not_discarded(self):
        self.import_people([("E1", "Ames")])
        run = self.render()
        os.mkdir(self.remote)
        # The delivery is recorded, then the process dies before sending.
        p = subprocess.run([harness.BIN, "deliver", run, "--config",
                            self.config, "--db", self.db],
                           capture_output=True, text=True, timeout=60,
                           env=dict(os.environ,
                                    ROSTERD_TEST_CRASH_AT="rendered"))
        self.assertEqual(p.returncode, 137, p.stderr)
        p = self.rosterd("feed", "discard", run, "--reason", "x", check=1)
        self.assertIn("run %s cannot be discarded: its delivery is rendered"
                      % run, p.stderr)
        self.rosterd("deliver", run)
        self.assertEqual(os.listdir(self.remote), ["vendor_0001.csv"])

    def test_only_the_last_ten_runs_can_be_undone(self):
        runs = []
        for i in range(12):
            self.import_people([("E1", "Name%d" % i)])
            runs.append(self.render())
        for run in reversed(runs[2:]):
            self.rosterd("feed", "discard", run, "--reason", "x")
        p = self.rosterd("feed", "discard", runs[1], "--reason", "x",
                         check=1)
        self.assertIn("run %s cannot be discarded: what it replaced is no "
                      "longer kept (only the last 10 runs keep it"
                      % runs[1], p.stderr)
        db = sqlite3.connect(self.db)
        try:
            kept = db.execute("SELECT count(*) FROM feed_run_undo"
                              ).fetchone()[0]
        finally:
            db.close()
        self.assertEqual(kept, 0)


if __name__ == "__main__":
    unittest.main()
