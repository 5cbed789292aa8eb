# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
"""End-to-end tests of `rosterd import hris`: the real binary named by
$ROSTERD_BIN, a configuration file with a mapping, CSV exports written by
the test, and a daemon started afterwards to read the imported people back
over SCIM."""

import json
import os
import pty
import select
import subprocess
import tempfile
import unittest
from urllib.parse import quote

import harness

ELIG = harness.URN_ELIG
ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

CONFIG = """\
mappings:
  workday:
    key: employee_id
    full_file: %(full)s
    max_terminate_percent: 40
    columns:
      email: userName
      first_name: name.givenName
      last_name: name.familyName
      work_email: emails[type eq "work"].value
      hire_date: {attribute: "eligibility:hireDate", date_format: "%%m/%%d/%%Y"}
      status: {attribute: "eligibility:employmentStatus", map: {A: active, L: leave, T: terminated}}
      dept: enterprise:department
    dependents:
      relationship_column: rel
      employee_value: EE
      columns:
        dep_first: first_name
        dep_dob: {field: birth_date, date_format: "%%m/%%d/%%Y"}
        rel: {field: relationship, map: {EE: employee, SP: spouse, CH: child}}
"""

HEADER = ("employee_id,rel,email,first_name,last_name,work_email,hire_date,"
          "status,dept,dep_first,dep_dob\n")
E1 = "E1,EE,ann@x.com,Ann,Lee,ann@corp.com,01/02/2020,A,\"Sales, East\",,\n"
E2 = "E2,EE,bob@x.com,Bob,Ray,,12/31/2019,L,Legal,,\n"
E3 = "E3,EE,cy@x.com,Cy,Wu,,02/29/2024,A,Legal,,\n"
E4 = "E4,EE,di@x.com,Di,Oz,,03/01/2024,A,Legal,,\n"
E5 = "E5,EE,ed@x.com,Ed,Po,,03/01/2024,A,Legal,,\n"
SP1 = "E1,SP,,,,,,,,Max,03/04/1985\n"


class ImportTestCase(unittest.TestCase):
    """A private directory, database, tenant and config per test."""

    maxDiff = 4000

    def setUp(self):
        if not os.access(harness.BIN, os.X_OK):
            raise unittest.SkipTest("ROSTERD_BIN %s is not executable"
                                    % harness.BIN)
        self._tmp = tempfile.TemporaryDirectory(prefix="rosterd-import-")
        self.addCleanup(self._tmp.cleanup)
        self.dir = self._tmp.name
        self.db = os.path.join(self.dir, "rosterd.db")
        self.config = self.write("rosterd.yaml", CONFIG % {"full": "false"})
        harness.tenant_create(self.db, "acme")

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w", newline="") as f:
            f.write(text)
        return path

    def csv(self, *rows, name="export.csv"):
        return self.write(name, HEADER + "".join(rows))

    def run_import(self, path, *extra, mapping="workday", stderr_tty=False):
        argv = [harness.BIN, "import", "hris", path, "--tenant", "acme",
                "--mapping", mapping, "--config", self.config,
                "--db", self.db] + list(extra)
        return subprocess.run(argv, capture_output=True, text=True,
                              timeout=60)

    def summary(self, proc):
        """The text summary's counters as a dict."""
        out = {}
        for line in proc.stdout.splitlines()[1:]:
            parts = line.split(None, 1)
            if len(parts) == 2 and parts[1].split()[0].isdigit():
                out[parts[0]] = int(parts[1].split()[0])
        return out


RACE_FEED = """\
feeds:
  race:
    tenant: acme
    eligibility: 'active eq true'
    mode: change
    format: csv
    columns:
      - {name: id, header: ID, source: externalId}
      - {name: last, header: Last, source: name.familyName}
    file_name: '{feed}-{seq}.csv'
    approval: {first_run: false, max_terminations_percent: ~}
"""


class TestConcurrentRenders(ImportTestCase):

    def test_two_renders_at_once_make_one_run(self):
        # Both plan from the same state; the store lets one record its
        # run. The other must say why and show no run: it once printed a
        # "#0" run with counts, as if it had made a file too.
        self.config = self.write("race.yaml", CONFIG % {"full": "false"} +
                                 RACE_FEED)
        rows = "".join("E%d,EE,p%d@x.com,P,L%d,,01/02/2020,A,D,,\n" %
                       (i, i, i) for i in range(20000))
        p = self.run_import(self.write("big.csv", HEADER + rows))
        self.assertEqual(p.returncode, 0, p.stderr)
        out = os.path.join(self.dir, "out")
        os.mkdir(out)
        argv = [harness.BIN, "feed", "render", "race", "--out", out,
                "--config", self.config, "--db", self.db]
        procs = [subprocess.Popen(argv, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        res = [(p.wait(timeout=60),) + p.communicate() for p in procs]
        self.assertEqual(sorted(r[0] for r in res), [0, 1], res)
        won = next(r for r in res if r[0] == 0)
        lost = next(r for r in res if r[0] == 1)
        self.assertIn("(race #1): rendered", won[1])
        # Which check stops it depends on how far the winner got.
        self.assertRegex(lost[2], r"^rosterd: feed render: .*(has an "
                         r"unfinished run|was recorded while this one was "
                         r"planned)")
        self.assertEqual(lost[1], "", lost)
        self.assertEqual(os.listdir(out), ["race-1.csv"])


class TestImportCli(ImportTestCase):

    def test_create_then_unchanged(self):
        path = self.csv(E1, E2, E3)
        p = self.run_import(path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("(mapping workday): applied", p.stdout)
        s = self.summary(p)
        self.assertEqual((s["rows"], s["created"], s["updated"],
                          s["unchanged"], s["errors"]), (3, 3, 0, 0, 0))
        # Not a terminal: no progress bar, and no stray output.
        self.assertNotIn("\r", p.stderr)
        self.assertNotIn("validating", p.stderr)
        p = self.run_import(path)
        self.assertEqual(p.returncode, 0, p.stderr)
        s = self.summary(p)
        self.assertEqual((s["created"], s["updated"], s["unchanged"]),
                         (0, 0, 3))

    def test_json_summary(self):
        p = self.run_import(self.csv(E1, SP1, E2), "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        j = json.loads(p.stdout)
        self.assertEqual(j["status"], "applied")
        self.assertTrue(j["applied"])
        self.assertFalse(j["dry_run"])
        self.assertEqual(j["rows"], 3)
        self.assertEqual(j["employees"], 2)
        self.assertEqual(j["dependent_rows"], 1)
        self.assertEqual(j["created"], 2)
        self.assertEqual(j["dependents"], {"added": 1, "updated": 0,
                                           "removed": 0})
        self.assertEqual(j["errors"], 0)
        self.assertEqual(j["error_list"], [])
        self.assertIsInstance(j["run_id"], int)
        self.assertGreater(j["run_id"], 0)

    def test_bad_rows_apply_nothing(self):
        bad = "E2,EE,bob@x.com,Bob,Ray,,13/45/2020,A,Legal,,\n"
        dup = "E1,EE,ann2@x.com,Ann,Lee,,01/02/2020,A,Legal,,\n"
        path = self.csv(E1, bad, E3, dup)
        p = self.run_import(path)
        self.assertEqual(p.returncode, 1)
        self.assertIn("rosterd: %s: row 3, column 7 (hire_date): "
                      "\"13/45/2020\" is not a date in %%m/%%d/%%Y\n" % path,
                      p.stderr)
        self.assertIn("rosterd: %s: row 5, column 1 (employee_id): "
                      "duplicate employee id \"E1\" (first seen on row 2)\n"
                      % path, p.stderr)
        self.assertIn("rejected: nothing was applied", p.stdout)
        self.assertEqual(self.summary(p)["errors"], 2)
        # Nothing was written: a good file afterwards creates everyone.
        p = self.run_import(self.csv(E1, E2, E3, name="good.csv"))
        self.assertEqual(self.summary(p)["created"], 3)

    def test_allow_partial(self):
        bad = "E2,EE,bob@x.com,Bob,Ray,,13/45/2020,A,Legal,,\n"
        p = self.run_import(self.csv(E1, bad, E3), "--allow-partial",
                            "--json")
        self.assertEqual(p.returncode, 3, p.stderr)
        j = json.loads(p.stdout)
        self.assertEqual(j["status"], "partial")
        self.assertEqual(j["created"], 2)
        self.assertEqual(j["error_list"], [{
            "row": 3, "column": 7, "name": "hire_date",
            "message": "\"13/45/2020\" is not a date in %m/%d/%Y"}])

    def test_truncated_file(self):
        path = self.write("cut.csv", HEADER + E1 + "E2,EE,\"bob@x.com,Bob")
        p = self.run_import(path)
        self.assertEqual(p.returncode, 1)
        self.assertIn("row 3, column 3 (email): quoted field not closed: "
                      "the file ends inside it (truncated file?)", p.stderr)

    def write_bytes(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_not_utf8_is_a_row_error(self):
        # An export saved as Latin-1: "José" is 4a 6f 73 e9. The error is
        # found while validating, with its row and column, not as a
        # failed PATCH without a column while applying.
        row = "E2,EE,jo@x.com,Jos\xe9,Ray,,12/31/2019,A,Legal,,\n"
        path = self.write_bytes("latin1.csv",
                                (HEADER + E1 + row).encode("latin-1"))
        p = self.run_import(path, "--json")
        self.assertEqual(p.returncode, 1, p.stderr)
        j = json.loads(p.stdout)
        self.assertEqual(j["status"], "rejected")
        self.assertEqual(j["error_list"], [{
            "row": 3, "column": 4, "name": "first_name",
            "message": "not valid UTF-8 (byte 0xe9 at position 4 of the "
                       "cell); save the export as UTF-8"}])
        self.assertEqual(j["created"], 0)
        # The same name in UTF-8 is fine.
        path = self.write_bytes("utf8.csv",
                                (HEADER + E1 + row).encode("utf-8"))
        self.assertEqual(self.run_import(path).returncode, 0)

    def test_rfc4180_edge_cases(self):
        # BOM, CRLF, a quoted CRLF and doubled quotes: one record each.
        ok = ("\ufeff" + HEADER.replace("\n", "\r\n")
              + 'E1,EE,ann@x.com,"A""n\r\nn",Lee,,01/02/2020,A,'
                '"Sales, East",,\r\n'
              + "\r\n"  # an empty line: skipped, but counted
              + "E2,EE,bob@x.com,Bob,Ray,,13/02/2020,A,Legal,,\r\n")
        p = self.run_import(self.write("crlf.csv", ok), "--json")
        j = json.loads(p.stdout)
        # Rows are records (a quoted line break does not start one) and
        # empty lines count: header 1, E1 2, blank 3, E2 4.
        self.assertEqual(j["error_list"], [{
            "row": 4, "column": 7, "name": "hire_date",
            "message": "\"13/02/2020\" is not a date in %m/%d/%Y"}])
        cases = [
            ('E2,EE,b@x.com,Bo"b,Ray,,01/02/2020,A,Legal,,\n', 4,
             "stray quote in an unquoted field"),
            ('E2,EE,b@x.com,"Bob"x,Ray,,01/02/2020,A,Legal,,\n', 4,
             "stray quote: text after the closing quote"),
            ('E2,EE,b@x.com,"Bo\x00b",Ray,,01/02/2020,A,Legal,,\n', 4,
             "NUL byte in field"),
            ("E2,EE,b@x.com,Bob\n", 5, "expected 11 fields, found 4"),
            ("E2,EE,b@x.com,Bob,Ray,,01/02/2020,A,Legal,,,x\n", 12,
             "expected 11 fields, found 12"),
        ]
        for row, col, msg in cases:
            with self.subTest(row=row):
                p = self.run_import(self.csv(E1, row), "--json")
                self.assertEqual(p.returncode, 1, p.stderr)
                j = json.loads(p.stdout)
                self.assertEqual(j["created"], 0)
                self.assertEqual(len(j["error_list"]), 1, j["error_list"])
                e = j["error_list"][0]
                self.assertEqual((e["row"], e["column"]), (3, col))
                self.assertIn(msg, e["message"])

    def test_missing_column(self):
        path = self.write("short.csv", "employee_id,rel,email\nE1,EE,a@x\n")
        p = self.run_import(path)
        self.assertEqual(p.returncode, 1)
        self.assertIn("missing column \"hire_date\" (mapped to "
                      "eligibility:hireDate)", p.stderr)
        self.assertIn("the header does not match mapping workday", p.stderr)

    def test_other_delimiter_is_named(self):
        # A semicolon export read with a comma mapping is one column: the
        # error says which delimiter it seems to use and how to set it.
        path = self.write("semi.csv", HEADER.replace(",", ";") +
                          E1.replace(",", ";"))
        p = self.run_import(path)
        self.assertEqual(p.returncode, 1)
        self.assertIn("row 1, column 1 (employee_id;rel;", p.stderr)
        self.assertIn("the header is one column holding ';': if the file "
                      "is delimited by it, set delimiter: \";\" in mapping "
                      "workday", p.stderr)
        tab = self.write("tab.csv", HEADER.replace(",", "\t"))
        p = self.run_import(tab)
        self.assertEqual(p.returncode, 1)
        self.assertIn("holding '\\t': if the file is delimited by it, set "
                      "delimiter: \"tab\"", p.stderr)
        # A header that is one column for another reason gets no hint.
        one = self.write("one.csv", "employee_id\nE1\n")
        p = self.run_import(one)
        self.assertEqual(p.returncode, 1)
        self.assertNotIn("holding", p.stderr)

    def test_json_summary_of_names_in_other_encodings(self):
        # The file's name and a header name need not be UTF-8; --json must
        # still print the summary with every error (it once crashed on the
        # name, and dropped an error naming such a column).
        path = os.path.join(os.fsencode(self.dir), b"day\xe9.csv")
        with open(path, "wb") as f:
            f.write((HEADER.rstrip("\n") + ",Pr").encode() + b"\xe9nom\n" +
                    E1.encode())
        argv = [harness.BIN, "import", "hris", path, "--tenant", "acme",
                "--mapping", "workday", "--config", self.config, "--db",
                self.db, "--json"]
        p = subprocess.run(argv, capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)
        out = json.loads(p.stdout)
        self.assertTrue(out["file"].endswith("/day?.csv"), out["file"])
        self.assertEqual(out["errors"], 1)
        self.assertEqual(len(out["error_list"]), 1)
        err = out["error_list"][0]
        self.assertEqual((err["row"], err["column"], err["name"]),
                         (2, 12, "Pr?nom"))

    def test_fifo_is_refused_at_once(self):
        # A named pipe with no writer used to hang the import in open().
        path = os.path.join(self.dir, "pipe.csv")
        os.mkfifo(path)
        p = self.run_import(path)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("pipe.csv: not a regular file (the import reads it "
                      "twice)", p.stderr)

    def test_utf16_file_is_named(self):
        # Excel's "Unicode text" is UTF-16: one clear error, not a NUL
        # byte per field.
        path = os.path.join(self.dir, "utf16.csv")
        with open(path, "wb") as f:
            f.write((HEADER + E1).encode("utf-16"))
        p = self.run_import(path)
        self.assertEqual(p.returncode, 1)
        self.assertIn("row 1: the file is UTF-16 (byte order mark FF FE), "
                      "not UTF-8: save the export as UTF-8", p.stderr)
        self.assertNotIn("NUL", p.stderr)

    def test_missing_column_used_twice_is_one_error(self):
        # One header name feeding the key and an attribute, or two
        # attributes: one message naming every use.
        self.config = self.write("two.yaml", "mappings:\n  two:\n"
                                 "    key: id\n"
                                 "    columns:\n"
                                 "      mail: userName\n"
                                 "      id: enterprise:employeeNumber\n"
                                 "      dept: [enterprise:department,"
                                 " enterprise:division]\n")
        path = self.write("two.csv", "mail\na@x.example\n")
        p = self.run_import(path, "--json", mapping="two")
        self.assertEqual(p.returncode, 1, p.stderr)
        msgs = [e["message"] for e in json.loads(p.stdout)["error_list"]]
        self.assertEqual(sorted(msgs), [
            'missing column "dept" (mapped to enterprise:department; '
            'mapped to enterprise:division)',
            'missing column "id" (the key column; mapped to externalId; '
            'mapped to enterprise:employeeNumber)'])

    def test_one_mapped_column(self):
        # The smallest mapping: the key (externalId, implicitly) and one
        # column. It once read the key's attribute out of bounds.
        self.config = self.write("one.yaml", "mappings:\n  one:\n"
                                 "    key: id\n"
                                 "    columns: {mail: userName}\n")
        path = self.write("one.csv", "id,mail\nE1,a@x.example\n")
        p = self.run_import(path, "--json", mapping="one")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["created"], 1)

    def test_repeated_column_is_one_error(self):
        # The key column also feeds externalId: two uses, one message.
        path = self.write("twice.csv",
                          HEADER.replace("email,", "employee_id,", 1) + E1)
        p = self.run_import(path, "--json")
        self.assertEqual(p.returncode, 1)
        twice = [e for e in json.loads(p.stdout)["error_list"]
                 if "appears twice" in e["message"]]
        self.assertEqual(len(twice), 1, twice)
        self.assertEqual((twice[0]["row"], twice[0]["column"]), (1, 3))

    def test_header_case_and_spaces(self):
        # Spaces around a name are trimmed; its case must match, and
        # the error points at the column that nearly does.
        path = self.write("case.csv",
                          HEADER.replace("email,", " email ,", 1)
                          .replace("hire_date", "Hire_Date") + E1)
        p = self.run_import(path, "--json")
        self.assertEqual(p.returncode, 1)
        j = json.loads(p.stdout)
        self.assertEqual(j["error_list"], [{
            "row": 1, "column": 7, "name": "Hire_Date",
            "message": "missing column \"hire_date\" (mapped to "
                       "eligibility:hireDate); the header has "
                       "\"Hire_Date\": column names are case-sensitive"}])
        path = self.write("spaces.csv",
                          HEADER.replace("email,", " email ,", 1) + E1)
        self.assertEqual(self.run_import(path).returncode, 0)

    def test_dry_run(self):
        path = self.csv(E1, E2)
        p = self.run_import(path, "--dry-run")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("dry run: nothing was written", p.stdout)
        self.assertEqual(self.summary(p)["created"], 2)
        p = self.run_import(path)
        self.assertEqual(self.summary(p)["created"], 2)

    def test_full_file_threshold(self):
        self.config = self.write("full.yaml", CONFIG % {"full": "true"})
        p = self.run_import(self.csv(E1, E2, E3, E4, E5))
        self.assertEqual(p.returncode, 0, p.stderr)
        # 3 of 5 missing (60%) is above max_terminate_percent 40.
        p = self.run_import(self.csv(E1, E2, name="cut.csv"),
                            "--as-of", "2026-04-30")
        self.assertEqual(p.returncode, 1)
        self.assertIn("full-file import would terminate 3 of 5 active people "
                      "(60.0%), above max_terminate_percent 40 of mapping "
                      "workday", p.stderr)
        self.assertIn("refused: nothing was applied", p.stdout)
        p = self.run_import(self.csv(E1, E2, name="cut.csv"),
                            "--as-of", "2026-04-30", "--force")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.summary(p)["terminated"], 3)

    def test_usage_and_config_errors(self):
        p = subprocess.run([harness.BIN, "import", "hris", "x.csv",
                            "--mapping", "workday", "--db", self.db],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn("import hris: --tenant is required", p.stderr)
        bad = self.write("bad.yaml", "mappings:\n  m:\n    key: id\n"
                                     "    columns:\n      x: name.nick\n")
        p = subprocess.run([harness.BIN, "import", "hris", "x.csv",
                            "--tenant", "acme", "--mapping", "m",
                            "--config", bad, "--db", self.db],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertIn("%s:5:10: mappings.m.columns.x: cannot map to "
                      "\"name.nick\"" % bad, p.stderr)
        p = self.run_import(self.csv(E1), mapping="nope")
        self.assertEqual(p.returncode, 1)
        self.assertIn("no mapping \"nope\" in %s (mappings: workday)"
                      % self.config, p.stderr)
        p = subprocess.run([harness.BIN, "import", "hris", self.csv(E1),
                            "--tenant", "globex", "--mapping", "workday",
                            "--config", self.config, "--db", self.db],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertIn("unknown tenant \"globex\"", p.stderr)

    def test_progress_on_a_terminal(self):
        path = self.csv(E1, E2, E3)
        master, slave = pty.openpty()
        try:
            proc = subprocess.Popen(
                [harness.BIN, "import", "hris", path, "--tenant", "acme",
                 "--mapping", "workday", "--config", self.config,
                 "--db", self.db],
                stdout=subprocess.PIPE, stderr=slave, text=True)
            os.close(slave)
            slave = None
            seen = b""
            while True:
                r, _, _ = select.select([master], [], [], 30)
                if not r:
                    break
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
            out, _ = proc.communicate(timeout=30)
        finally:
            if slave is not None:
                os.close(slave)
            os.close(master)
        self.assertEqual(proc.returncode, 0)
        self.assertIn(b"\r", seen)
        self.assertIn(b"100%", seen)
        self.assertIn("created     3", out)


class TestImportScim(ImportTestCase):
    """What an import wrote, as a SCIM client sees it."""

    def test_scim_get_shows_imported_attributes(self):
        p = self.run_import(self.csv(E1, SP1, E2))
        self.assertEqual(p.returncode, 0, p.stderr)
        token, _ = harness.token_create(self.db, "acme", "scim")
        daemon = harness.Daemon(self.dir, self.db)
        daemon.start()
        try:
            resp = harness.http_request(
                daemon.port, "GET",
                "/Users?filter=" + quote('externalId eq "E1"'), token=token)
            self.assertEqual(resp.status, 200, resp)
            self.assertEqual(resp.json["totalResults"], 1)
            u = resp.json["Resources"][0]
            self.assertEqual(u["userName"], "ann@x.com")
            self.assertEqual(u["externalId"], "E1")
            self.assertEqual(u["name"], {"givenName": "Ann",
                                         "familyName": "Lee"})
            self.assertEqual(u["emails"], [{"type": "work",
                                            "value": "ann@corp.com"}])
            self.assertIs(u["active"], True)
            self.assertEqual(u["meta"]["created"], u["meta"]["lastModified"])
            self.assertEqual(u[ELIG], {"hireDate": "2020-01-02",
                                       "employmentStatus": "active"})
            self.assertEqual(u[ENT], {"department": "Sales, East"})
            self.assertIn(ELIG, u["schemas"])
            resp = harness.http_request(
                daemon.port, "GET",
                "/Users?filter=" + quote('externalId eq "E2"'), token=token)
            u = resp.json["Resources"][0]
            self.assertEqual(u[ELIG]["employmentStatus"], "leave")
            self.assertNotIn("emails", u)
        finally:
            self.assertEqual(daemon.stop(), 0)


if __name__ == "__main__":
    unittest.main()
