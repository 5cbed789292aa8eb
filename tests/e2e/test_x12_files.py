# SPDX-License-Identifier: ISC
"""Every golden X12 834 file passes the independent checker, and broken
copies of them fail it.

tests/e2e/x12_check.pl walks a file with Debian's X12::Parser
(libx12-parser-perl) and checks the envelope and member loops. The golden
files are what the unit tests (tests/unit/test_fmt_x12.c) compare the
writer's output with byte for byte, so this checks the writer's real
output. Only the Python standard library is used; the daemon is not
started.
"""

import glob
import os
import re
import shutil
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CHECK = os.path.join(HERE, "x12_check.pl")
GOLDEN = sorted(glob.glob(os.path.join(REPO, "tests", "golden", "fmt",
                                       "*.834")))


def have_x12_parser():
    perl = shutil.which("perl")
    if perl is None:
        return False
    r = subprocess.run([perl, "-MX12::Parser", "-e", "1"],
                       capture_output=True)
    return r.returncode == 0


@unittest.skipUnless(have_x12_parser(),
                     "perl X12::Parser is not installed "
                     "(apt-get install libx12-parser-perl)")
class X12FilesTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="rosterd-x12-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def check(self, path):
        return subprocess.run(["perl", CHECK, path], capture_output=True,
                              text=True, timeout=60)

    def golden(self, name):
        path = os.path.join(REPO, "tests", "golden", "fmt", name)
        with open(path, "rb") as f:
            return f.read()

    def broken(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def expect_failure(self, name, data, message):
        r = self.check(self.broken(name, data))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(message, r.stderr)

    def test_golden_files_pass(self):
        self.assertGreaterEqual(len(GOLDEN), 3, "no golden 834 files")
        for path in GOLDEN:
            with self.subTest(file=os.path.basename(path)):
                r = self.check(path)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn(": ok (", r.stdout)

    def test_wrong_se_count_fails(self):
        data = self.golden("x12_change.834")
        bad = re.sub(rb"\nSE\*(\d+)\*",
                     lambda m: b"\nSE*%d*" % (int(m.group(1)) + 1), data)
        self.assertNotEqual(bad, data)
        self.expect_failure("se_count.834", bad, "SE01 is")

    def test_wrong_se_count_custom_separators_fails(self):
        data = self.golden("x12_change_custom.834")
        bad = re.sub(rb"'SE\|(\d+)\|",
                     lambda m: b"'SE|%d|" % (int(m.group(1)) - 1), data)
        self.assertNotEqual(bad, data)
        self.expect_failure("se_count_custom.834", bad, "SE01 is")

    def test_segment_dropped_fails(self):
        # SE01 no longer matches when a segment goes missing.
        data = self.golden("x12_full.834")
        bad = data.replace(b"N3*1 MAIN ST~\n", b"", 1)
        self.assertNotEqual(bad, data)
        self.expect_failure("dropped.834", bad, "SE01 is")

    def test_wrong_iea_control_fails(self):
        data = self.golden("x12_change.834")
        bad = data.replace(b"IEA*1*000000042", b"IEA*1*000000043")
        self.assertNotEqual(bad, data)
        self.expect_failure("iea_control.834", bad, "IEA02 000000043")

    def test_wrong_iea_count_fails(self):
        data = self.golden("x12_full.834")
        bad = data.replace(b"IEA*1*", b"IEA*2*")
        self.expect_failure("iea_count.834", bad, "IEA01 is 2")

    def test_wrong_ge_fails(self):
        data = self.golden("x12_full.834")
        self.expect_failure("ge_count.834",
                            data.replace(b"GE*1*42", b"GE*2*42"),
                            "GE01 is 2")
        self.expect_failure("ge_control.834",
                            data.replace(b"GE*1*42", b"GE*1*41"),
                            "GE02 41 is not GS06 42")

    def test_wrong_se02_fails(self):
        data = self.golden("x12_full.834")
        bad = data.replace(b"SE*49*0001", b"SE*49*0002")
        self.assertNotEqual(bad, data)
        self.expect_failure("se02.834", bad, "SE02 0002 is not ST02 0001")

    def test_isa_length_fails(self):
        data = self.golden("x12_full.834")
        bad = data.replace(b"*ACMECORP       *", b"*ACMECORP        *", 1)
        self.expect_failure("isa_length.834", bad, "106")

    def test_missing_ref0f_fails(self):
        data = self.golden("x12_change.834")
        # Keep SE01 right so only the member rule can fail.
        bad = data.replace(b"REF*0F*E1004~\n", b"REF*1L*E1004~\n")
        self.assertNotEqual(bad, data)
        self.expect_failure("ref0f.834", bad, "has no REF*0F")

    def test_missing_nm1_il_fails(self):
        data = self.golden("x12_change.834")
        bad = data.replace(b"NM1*IL*1*PARK", b"NM1*74*1*PARK")
        self.assertNotEqual(bad, data)
        self.expect_failure("nm1.834", bad, "has no loop 2100A NM1*IL")

    def test_wrong_version_fails(self):
        data = self.golden("x12_change.834")
        bad = data.replace(b"ST*834*0001*005010X220A1",
                           b"ST*834*0001*004010X095A1")
        self.expect_failure("version.834", bad, "ST03 is not 005010X220A1")

    def test_not_x12_fails(self):
        r = self.check(self.broken("empty.834", b"hello\n"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("does not start with a 106-character ISA", r.stderr)


if __name__ == "__main__":
    unittest.main()
