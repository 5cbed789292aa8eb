# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
"""Round trips with hostile data, from fixed seeds: an HR export whose
names and departments hold commas, quotes, line breaks, leading formula
characters, accents and other scripts is imported, rendered as a full CSV
file (formula guard on) and as a pipe file, and read back with Python's
csv module: every person must come back with the values that went in
(control characters become spaces, and the guard adds its leading
quote). The same people rendered as an 834
pass the independent checker (tests/e2e/x12_check.pl)."""

import csv
import io
import os
import random
import re
import subprocess
import tempfile
import unittest

import harness

HERE = os.path.dirname(os.path.abspath(__file__))

CONFIG = """\
mappings:
  hr:
    key: employee_id
    columns:
      email: userName
      first_name: name.givenName
      last_name: name.familyName
      dept: enterprise:department
      hire_date: {attribute: "eligibility:hireDate", date_format: "%Y-%m-%d"}
feeds:
  rt-csv:
    tenant: acme
    eligibility: 'active eq true'
    mode: full
    format: csv
    columns:
      - {name: id, header: ID, source: externalId}
      - {name: first, header: First, source: name.givenName}
      - {name: last, header: Last, source: name.familyName}
      - {name: dept, header: Dept, source: enterprise:department}
    file_name: 'rt-{seq}.csv'
    approval: {first_run: false}
  rt-pipe:
    tenant: acme
    eligibility: 'active eq true'
    mode: full
    format: pipe
    formula_guard: false
    columns:
      - {name: id, source: externalId}
      - {name: first, source: name.givenName}
      - {name: last, source: name.familyName}
      - {name: dept, source: enterprise:department}
    file_name: 'rt-{seq}.txt'
    approval: {first_run: false}
  rt-834:
    tenant: acme
    eligibility: 'active eq true'
    mode: full
    format: x12-834
    x12:
      sender_id: ACME
      receiver_id: CARRIER
      sponsor_name: Acme
      sponsor_id: '123456789'
      payer_name: Carrier
      payer_id: '987654321'
    columns:
      - {name: member_id, source: externalId}
      - {name: relationship, const: '18'}
      - {name: employment_status, const: FT}
      - {name: first_name, source: name.givenName}
      - {name: last_name, source: name.familyName}
      - {name: coverage_start, source: eligibility:hireDate,
         date_format: '%Y%m%d'}
    file_name: 'rt-{seq}.834'
    approval: {first_run: false}
"""

PIECES = ["a", "b", "Z", " ", ",", "\"", "'", "|", ";", "\n", "\r\n",
          "=", "+", "-", "@", "\t", "\u00e9", "\u00df", "\u4e2d",
          "\U0001f600", "O'Brien", "=HYPERLINK(\"x\")", "\\", "#"]


def word(rnd):
    s = "".join(rnd.choice(PIECES) for _ in range(rnd.randint(1, 6)))
    s = s.strip(" \t\r\n")  # the importer trims cells
    return s or "x"


def x12_name(rnd):
    # Letters the 834 writer can spell, with its own punctuation.
    return "".join(rnd.choice("ABCDEFGHIJ \u00e9\u00c0-'")
                   for _ in range(rnd.randint(2, 12))).strip(" -'") or "N"


class RoundTripTest(unittest.TestCase):

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="rosterd-rt-")
        self.cfg = os.path.join(self._tmp.name, "rosterd.yaml")
        with open(self.cfg, "w") as f:
            f.write(CONFIG)

    def tearDown(self):
        self._tmp.cleanup()

    def fresh(self, name):
        """A new database and output directory for one seed."""
        self.dir = os.path.join(self._tmp.name, name)
        os.mkdir(self.dir)
        self.db = os.path.join(self.dir, "r.db")
        harness.tenant_create(self.db, "acme")

    def rosterd(self, *args):
        return harness.cli(self.db, *args, "--config", self.cfg)

    def export(self, people):
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(["employee_id", "email", "first_name", "last_name",
                    "dept", "hire_date"])
        for p in people:
            w.writerow([p["id"], p["email"], p["first"], p["last"],
                        p["dept"], "2020-01-02"])
        path = os.path.join(self.dir, "export.csv")
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(buf.getvalue())
        return path

    def render(self, feed, out):
        self.rosterd("feed", "render", feed, "--out", out, "--as-of",
                     "2026-12-01")
        names = os.listdir(out)
        self.assertEqual(len(names), 1, names)
        return os.path.join(out, names[0])

    def people(self, rnd, n, x12):
        out = []
        for i in range(n):
            mk = x12_name if x12 else word
            out.append({"id": "E%05d" % i, "email": "p%d@x.example" % i,
                        "first": mk(rnd), "last": mk(rnd),
                        "dept": word(rnd)})
        return out

    def test_csv_and_pipe(self):
        for seed in (1, 2, 3):
            rnd = random.Random(seed)
            self.fresh("seed%d" % seed)
            people = self.people(rnd, 200, False)
            self.rosterd("import", "hris", self.export(people), "--tenant",
                         "acme", "--mapping", "hr")
            want = {p["id"]: p for p in people}
            for feed, delim, guard in (("rt-csv", ",", True),
                                       ("rt-pipe", "|", False)):
                out = os.path.join(self.dir, feed)
                path = self.render(feed, out)
                with open(path, encoding="utf-8", newline="") as f:
                    rows = list(csv.reader(f, delimiter=delim))
                self.assertEqual(rows[0], ["ID", "First", "Last", "Dept"]
                                 if feed == "rt-csv" else
                                 ["id", "first", "last", "dept"])
                rows = rows[1:]
                self.assertEqual(len(rows), len(people), (seed, feed))
                for r in rows:
                    p = want[r[0]]
                    for got, exp in zip(r[1:], (p["first"], p["last"],
                                                p["dept"])):
                        exp = re.sub(r"[\x00-\x1f\x7f]", " ", exp)
                        if guard and exp[:1] in "=+-@":
                            exp = "'" + exp
                        self.assertEqual(got, exp, (seed, feed, r[0]))

    def test_834(self):
        rnd = random.Random(7)
        self.fresh("x12")
        people = self.people(rnd, 150, True)
        self.rosterd("import", "hris", self.export(people), "--tenant",
                     "acme", "--mapping", "hr")
        path = self.render("rt-834", os.path.join(self.dir, "x12"))
        p = subprocess.run(["perl", os.path.join(HERE, "x12_check.pl"), path],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        with open(path, encoding="ascii") as f:
            text = f.read()
        names = {}
        member = None
        for seg in text.split("~"):
            el = seg.strip().split("*")
            if el[0] == "REF" and el[1] == "0F":
                member = el[2]
            if el[0] == "NM1" and el[1] == "IL":
                names[member] = (el[3], el[4])
        self.assertEqual(len(names), len(people))
        tr = str.maketrans({"\u00c9": "E", "\u00c0": "A"})
        for q in people:
            last, first = names[q["id"]]
            self.assertEqual(last, q["last"].upper().translate(tr))
            self.assertEqual(first, q["first"].upper().translate(tr))
