# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
"""The worked examples under examples/ run end to end and write what their
READMEs say: each examples/*/run.sh is run (twice, into two temporary
directories) with the rosterd binary under test ($ROSTERD_BIN), and the
files it leaves are read back: the day-1 files hold every eligible member
as an add, the day-2 files exactly the two hires, two changes and two
terminations of hris-day2.csv (in the form of each example's termination
policy), both runs give the same bytes, and every X12 834 file passes
tests/e2e/x12_check.pl when Debian's X12::Parser is installed. Only the
Python standard library is used.
"""

import csv
import glob
import io
import json
import os
import shutil
import stat
import subprocess
import tempfile
import unittest

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
EXAMPLES = os.path.join(REPO, "examples")
X12_CHECK = os.path.join(HERE, "x12_check.pl")

# Eligible on day 1 in every example: active employees of class FT or PT
# (E1013 is a contractor). E1008 waived vision and medical is elected by
# all but E1013, see each example's rosterd.yaml.
DAY1 = ["E1001", "E1002", "E1003", "E1004", "E1005", "E1006", "E1007",
        "E1008", "E1009", "E1010", "E1011", "E1012"]
DAY2_ADDS = ["E1014", "E1015"]
DAY2_CHANGES = ["E1003", "E1009"]
DAY2_TERMS = {"E1004": "2026-03-06", "E1010": "2026-03-05"}


def have_x12_parser():
    perl = shutil.which("perl")
    if perl is None:
        return False
    r = subprocess.run([perl, "-MX12::Parser", "-e", "1"],
                       capture_output=True)
    return r.returncode == 0


def dkey(key):
    """A plan key, a dependent's written SUBSCRIBER/DEPENDENT-ID."""
    for sep in ("\x1d", "/"):
        if sep in key:
            sub, dep = key.split(sep, 1)
            return sub + "/" + (dep[3:] if dep.startswith("id:") else dep)
    return key


def us(date):
    """2026-03-06 -> 03/06/2026."""
    y, m, d = date.split("-")
    return "%s/%s/%s" % (m, d, y)


def compact(date):
    return date.replace("-", "")


def segments(data):
    """An 834 file as lists of elements (default separators)."""
    text = data.decode("ascii")
    return [s.strip("\n").split("*") for s in text.split("~")
            if s.strip("\n")]


def members(segs):
    """INS loops of an 834: [(INS elements, {segment id: [elements]})]."""
    out = []
    for s in segs:
        if s[0] == "INS":
            out.append((s, {}))
        elif out and s[0] in ("SE", "GE", "IEA"):
            break
        elif out:
            key = s[0] + ("*" + s[1] if s[0] in ("REF", "DTP", "NM1")
                          else "")
            out[-1][1][key] = s
    return out


class ExampleRun:
    """One run of an example's run.sh into a fresh directory."""

    def __init__(self, name, outdir):
        self.name = name
        self.out = outdir
        script = os.path.join(EXAMPLES, name, "run.sh")
        env = dict(os.environ)
        for k in ("ROSTERD_DB", "ROSTERD_CONFIG", "ROSTERD_NOW"):
            env.pop(k, None)
        env["ROSTERD_BIN"] = harness.BIN
        self.proc = subprocess.run(["sh", script, outdir], env=env,
                                   capture_output=True, text=True,
                                   timeout=120)

    def files(self, pattern):
        return sorted(glob.glob(os.path.join(self.out, pattern)))

    def read(self, name):
        with open(os.path.join(self.out, name), "rb") as f:
            return f.read()

    def plan(self, name):
        with open(os.path.join(self.out, name)) as f:
            return json.load(f)


class ExamplesTest(unittest.TestCase):
    maxDiff = 8000
    runs = {}

    @classmethod
    def setUpClass(cls):
        if not os.access(harness.BIN, os.X_OK):
            raise unittest.SkipTest("ROSTERD_BIN %s is not executable"
                                    % harness.BIN)
        cls.tmp = tempfile.mkdtemp(prefix="rosterd-examples-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_example(self, name, second=False):
        """run.sh NAME into a new directory; the first run is cached."""
        key = (name, second)
        if key not in self.runs:
            out = os.path.join(self.tmp, name + ("-2" if second else ""))
            r = ExampleRun(name, out)
            self.assertEqual(r.proc.returncode, 0,
                             "%s/run.sh failed\nstdout:\n%s\nstderr:\n%s"
                             % (name, r.proc.stdout[-4000:],
                                r.proc.stderr[-4000:]))
            type(self).runs[key] = r
        return self.runs[key]

    def assertFiles(self, r, pattern, names):
        got = [os.path.basename(p) for p in r.files(pattern)]
        self.assertEqual(got, names, r.proc.stdout[-3000:])
        for n in names:
            mode = stat.S_IMODE(os.stat(os.path.join(r.out, n)).st_mode)
            self.assertEqual(mode, 0o600, n)

    def assertPlanDay2(self, plan, adds, changes, terms):
        """The day-2 plan: (action, key) of every outcome, and details."""
        got = {}
        for o in plan["outcomes"]:
            got.setdefault(o["action"], {})[dkey(o["key"])] = o
        self.assertEqual(sorted(got.get("add", {})), sorted(adds))
        self.assertEqual({k: o["columns"] for k, o in
                          got.get("change", {}).items()}, changes)
        self.assertEqual({k: (o["reason"], o["term_date"]) for k, o in
                          got.get("term", {}).items()}, terms)
        self.assertNotIn("reinstate", got)

    def assertReproducible(self, name, pattern):
        a = self.run_example(name)
        b = self.run_example(name, second=True)
        fa, fb = a.files(pattern), b.files(pattern)
        self.assertEqual([os.path.basename(p) for p in fa],
                         [os.path.basename(p) for p in fb])
        self.assertTrue(fa)
        for p, q in zip(fa, fb):
            with open(p, "rb") as x, open(q, "rb") as y:
                self.assertEqual(x.read(), y.read(),
                                 "%s differs between two runs" % p)

    def check_x12(self, paths):
        if not have_x12_parser():
            return
        r = subprocess.run(["perl", X12_CHECK] + paths, capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stdout.count(": ok ("), len(paths), r.stdout)

    # ---- spring-health: CSV change file with action codes ---------------

    def sh_rows(self, r, name):
        data = r.read(name).decode("utf-8")
        self.assertTrue(data.endswith("\r\n"))
        rows = list(csv.reader(io.StringIO(data, newline="")))
        self.assertEqual(rows[0], [
            "Member ID", "First Name", "Last Name", "Date of Birth", "Gender",
            "Work Email", "Work State", "Eligibility Class", "Coverage Code",
            "Employment Status", "Hire Date", "Termination Date",
            "Action Code"])
        return {row[0]: dict(zip(rows[0], row)) for row in rows[1:]}

    def test_spring_health(self):
        r = self.run_example("spring-health")
        self.assertFiles(r, "acme_springhealth_elig_*.csv", [
            "acme_springhealth_elig_20260302_001.csv",
            "acme_springhealth_elig_20260309_002.csv"])
        self.assertIn(": pending_approval", r.proc.stdout)
        self.assertIn("first run of the feed", r.proc.stdout)
        day1 = self.sh_rows(r, "acme_springhealth_elig_20260302_001.csv")
        self.assertEqual(sorted(day1), DAY1)
        self.assertEqual({v["Action Code"] for v in day1.values()}, {"A"})
        self.assertEqual(day1["E1011"]["Employment Status"], "Leave")
        self.assertEqual(day1["E1001"]["Date of Birth"], "03/14/1984")
        self.assertEqual(day1["E1001"]["Coverage Code"], "SH-EAP-STD")
        self.assertEqual(day1["E1002"]["Work Email"],
                         "james.oconnor@acme.example")

        day2 = self.sh_rows(r, "acme_springhealth_elig_20260309_002.csv")
        self.assertEqual(sorted(day2), sorted(DAY2_ADDS + DAY2_CHANGES +
                                              list(DAY2_TERMS)))
        for k in DAY2_ADDS:
            self.assertEqual(day2[k]["Action Code"], "A")
            self.assertEqual(day2[k]["Hire Date"], "03/09/2026")
        for k in DAY2_CHANGES:
            self.assertEqual(day2[k]["Action Code"], "C")
            self.assertEqual(day2[k]["Termination Date"], "")
        for k, date in DAY2_TERMS.items():
            self.assertEqual(day2[k]["Action Code"], "T")
            self.assertEqual(day2[k]["Termination Date"], us(date))
        self.assertEqual(day2["E1003"]["Last Name"], "Shah")
        self.assertEqual(day2["E1003"]["Work Email"],
                         "priya.shah@acme.example")
        self.assertEqual(day2["E1009"]["Work State"], "RI")

        self.assertPlanDay2(
            r.plan("plan-day2.json"), DAY2_ADDS,
            {"E1003": ["last_name", "email"], "E1009": ["work_state"]},
            {k: ("terminated", d) for k, d in DAY2_TERMS.items()})
        self.assertEqual(r.plan("plan-day1.json")["counts"]["excluded"], 1)
        # What changed, from what the vendor holds to what it will get.
        changes = {dkey(o["key"]): o["changes"] for o in
                   r.plan("plan-day2.json")["outcomes"]
                   if o["action"] == "change"}
        self.assertEqual(changes, {
            "E1003": [
                {"column": "last_name", "from": "Raman", "to": "Shah"},
                {"column": "email", "from": "priya.raman@acme.example",
                 "to": "priya.shah@acme.example"}],
            "E1009": [{"column": "work_state", "from": "MA", "to": "RI"}]})
        text = r.read("plan-day2.txt").decode()
        self.assertRegex(text, r"terminations +2\n")
        self.assertIn("last_name,email", text)
        self.assertRegex(text, r'\n +work_state +"MA" -> "RI"\n')
        self.assertRegex(text, r'\n +last_name +"Raman" -> "Shah"\n')

    def test_spring_health_reproducible(self):
        self.assertReproducible("spring-health",
                                "acme_springhealth_elig_*.csv")

    # ---- pipe-full: full replacement, terminations by omission ----------

    def pipe_rows(self, r, name):
        data = r.read(name).decode("utf-8")
        self.assertNotIn("\r", data)
        self.assertNotIn('"', data)
        lines = data.split("\n")
        self.assertEqual(lines[-1], "")
        rows = [line.split("|") for line in lines[:-1]]
        self.assertEqual(rows[0][:3], ["SUBSCRIBER_ID", "REL", "LAST_NAME"])
        for row in rows:
            self.assertEqual(len(row), 13, row)
        return [dict(zip(rows[0], row)) for row in rows[1:]]

    def test_pipe_full(self):
        r = self.run_example("pipe-full")
        names = ["ACME_CLEARVIEW_FULL_20260302.txt",
                 "ACME_CLEARVIEW_FULL_20260309.txt"]
        self.assertFiles(r, "ACME_CLEARVIEW_FULL_*.txt", names)
        day1 = self.pipe_rows(r, names[0])
        # E1008 waived vision, E1013 has no plan.
        subs = [x["SUBSCRIBER_ID"] for x in day1 if x["REL"] == "EE"]
        self.assertEqual(subs, [k for k in DAY1 if k != "E1008"])
        deps = [(x["SUBSCRIBER_ID"], x["REL"], x["FIRST_NAME"])
                for x in day1 if x["REL"] != "EE"]
        self.assertEqual(deps, [("E1001", "SP", "LUIS"),
                                ("E1001", "CH", "SOFIA"),
                                ("E1005", "CH", "TOBI"),
                                ("E1010", "SP", "NGOZI")])

        day2 = self.pipe_rows(r, names[1])
        ids2 = {x["SUBSCRIBER_ID"] for x in day2}
        # The leavers and their dependents are simply gone.
        for k in DAY2_TERMS:
            self.assertNotIn(k, ids2)
        for k in DAY2_ADDS:
            self.assertIn(k, ids2)
        self.assertIn(("E1015", "SP", "JASMINE"),
                      [(x["SUBSCRIBER_ID"], x["REL"], x["FIRST_NAME"])
                       for x in day2])
        self.assertEqual(len(day2), len(day1) - 3 + 3)
        by = {x["SUBSCRIBER_ID"]: x for x in day2 if x["REL"] == "EE"}
        self.assertEqual(by["E1003"]["LAST_NAME"], "SHAH")
        self.assertEqual((by["E1009"]["ADDRESS1"], by["E1009"]["CITY"],
                          by["E1009"]["STATE"], by["E1009"]["ZIP"]),
                         ("75 BENEFIT ST", "PROVIDENCE", "RI", "02903"))
        self.assertEqual(by["E1014"]["EFFECTIVE_DATE"], "20260309")
        self.assertEqual(by["E1001"]["PLAN"], "P200")
        self.assertEqual(by["E1002"]["PLAN"], "B100")

        self.assertPlanDay2(
            r.plan("plan-day2.json"),
            DAY2_ADDS + ["E1015/D01"],
            {"E1003": ["last_name"],
             "E1009": ["address1", "city", "state", "zip"]},
            dict([(k, ("terminated", d)) for k, d in DAY2_TERMS.items()] +
                 [("E1010/D01", ("terminated", "2026-03-05"))]))

    def test_pipe_full_reproducible(self):
        self.assertReproducible("pipe-full", "ACME_CLEARVIEW_FULL_*.txt")

    # ---- fixed-width: fixed 98-byte records, 30-day look-back ------------

    def fixed_rows(self, r, name):
        data = r.read(name)
        self.assertTrue(data.endswith(b"\r\n"))
        lines = data[:-2].split(b"\r\n")
        out = {}
        for line in lines:
            self.assertEqual(len(line), 98, line)
            t = line.decode("ascii")
            out[t[17:27].strip()] = {
                "type": t[0], "group": t[1:8], "payroll": t[8:17],
                "last": t[27:47], "first": t[47:62], "dob": t[62:70],
                "hire": t[70:78], "class": t[78:81], "status": t[81],
                "state": t[82:84], "cost_center": t[84:90],
                "term": t[90:98]}
        return out

    def test_fixed_width(self):
        r = self.run_example("fixed-width")
        names = ["acme-life-20260302-0001.dat", "acme-life-20260309-0002.dat"]
        self.assertFiles(r, "acme-life-*.dat", names)
        day1 = self.fixed_rows(r, names[0])
        self.assertEqual(sorted(day1), DAY1)
        e = day1["E1001"]
        self.assertEqual((e["type"], e["group"], e["payroll"],
                          e["cost_center"], e["dob"], e["hire"]),
                         ("D", "0000731", "000100231", "004100", "19840314",
                          "20160502"))
        self.assertEqual(e["last"], "ALVAREZ".ljust(20))
        # Cut to the width, keeping the start.
        self.assertEqual(day1["E1012"]["last"], "FITZGERALD-MONTGOMER")
        self.assertEqual(day1["E1011"]["status"], "L")
        self.assertEqual({v["term"] for v in day1.values()}, {" " * 8})

        day2 = self.fixed_rows(r, names[1])
        # Leavers stay (look-back 30 days) with their termination date.
        self.assertEqual(sorted(day2), sorted(DAY1 + DAY2_ADDS))
        for k, date in DAY2_TERMS.items():
            self.assertEqual(day2[k]["term"], compact(date))
        self.assertEqual(day2["E1003"]["last"], "SHAH".ljust(20))
        self.assertEqual(day2["E1009"]["state"], "RI")
        self.assertEqual(day2["E1015"]["class"], "PT ")

        self.assertPlanDay2(
            r.plan("plan-day2.json"), DAY2_ADDS,
            {"E1003": ["last_name"], "E1009": ["work_state"]},
            {k: ("terminated", d) for k, d in DAY2_TERMS.items()})

    def test_fixed_width_reproducible(self):
        self.assertReproducible("fixed-width", "acme-life-*.dat")

    # ---- x12-834: change files and full (audit) files -------------------

    def test_x12_834(self):
        r = self.run_example("x12-834")
        names = ["ACME_NSHP_834_CHG_20260302_001.edi",
                 "ACME_NSHP_834_CHG_20260309_002.edi",
                 "ACME_NSHP_834_FULL_20260302_001.edi",
                 "ACME_NSHP_834_FULL_20260309_002.edi"]
        self.assertFiles(r, "ACME_NSHP_834_*.edi", names)
        segs = {n: segments(r.read(n)) for n in names}

        # One control number series for the sender, in run order.
        isa13 = {n: s[0][13] for n, s in segs.items()}
        self.assertEqual(isa13, {names[0]: "000000001",
                                 names[2]: "000000002",
                                 names[1]: "000000003",
                                 names[3]: "000000004"})
        for n, s in segs.items():
            bgn = [x for x in s if x[0] == "BGN"][0]
            self.assertEqual(bgn[8], "4" if "_FULL_" in n else "2", n)

        def ins(name):
            return [(m["REF*0F"][2], i[2], i[3],
                     m.get("DTP*357", [None] * 4)[3])
                    for i, m in members(segs[name])]

        day1 = ins(names[0])
        self.assertEqual(len(day1), 16)
        self.assertEqual({x[2] for x in day1}, {"021"})
        self.assertEqual(sorted({x[0] for x in day1}), DAY1)
        self.assertEqual([x[1] for x in day1 if x[0] == "E1001"],
                         ["18", "01", "19"])

        self.assertEqual(sorted(ins(names[1])), sorted([
            ("E1003", "18", "001", None),
            ("E1004", "18", "024", "20260306"),
            ("E1009", "18", "001", None),
            ("E1010", "18", "024", "20260305"),
            ("E1010", "01", "024", "20260305"),
            ("E1014", "18", "021", None),
            ("E1015", "18", "021", None),
            ("E1015", "01", "021", None)]))
        nm1 = {m["REF*0F"][2]: m["NM1*IL"] for i, m in
               members(segs[names[1]]) if i[2] == "18"}
        self.assertEqual(nm1["E1003"][3], "SHAH")

        full1 = ins(names[2])
        self.assertEqual([x[:2] for x in full1], [x[:2] for x in day1])
        self.assertEqual({x[2] for x in full1}, {"030"})
        full2 = ins(names[3])
        self.assertEqual(len(full2), 19)
        self.assertEqual({x[2] for x in full2}, {"030"})
        # Leavers stay 30 days in the full file, with their end date.
        self.assertEqual(sorted((x[0], x[1], x[3]) for x in full2 if x[3]),
                         [("E1004", "18", "20260306"),
                          ("E1010", "01", "20260305"),
                          ("E1010", "18", "20260305")])
        self.check_x12([os.path.join(r.out, n) for n in names])

        for feed in ("acme-medical", "acme-medical-audit"):
            self.assertPlanDay2(
                r.plan("plan-%s-day2.json" % feed),
                DAY2_ADDS + ["E1015/D01"],
                {"E1003": ["last_name"],
                 "E1009": ["address1", "city", "state", "zip"]},
                dict([(k, ("terminated", d))
                      for k, d in DAY2_TERMS.items()] +
                     [("E1010/D01", ("terminated", "2026-03-05"))]))

    def test_x12_834_reproducible(self):
        self.assertReproducible("x12-834", "ACME_NSHP_834_*.edi")


if __name__ == "__main__":
    unittest.main()
