# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
"""SFTP delivery against a real OpenSSH sshd.

Starts a private sshd (sshd_fixture.py) and runs the transfer module's live
tests, the cmocka binary <build>/tests/test_xfer_sftp, with the fixture's
ROSTERD_TEST_SFTP_* variables; every live case must run and pass. The
fixture itself is checked with OpenSSH's own sftp client first.

Environment: ROSTERD_BUILD_DIR (default: the directory of $ROSTERD_BIN, else
<repo>/build); ROSTERD_TEST_SFTP_BIG_MB=N also times an N MB upload.
"""

import os
import re
import subprocess
import tempfile
import unittest

import sshd_fixture

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TIMEOUT = 600

# Live cases of tests/unit/test_xfer_sftp.c that must run (not skip).
LIVE_CASES = [
    "test_put_visible_under_final_name",
    "test_put_odd_names_and_empty_file",
    "test_put_onto_existing_name",
    "test_rename_onto_existing_name",
    "test_wrong_fingerprint",
    "test_fingerprint_with_prefix_and_padding",
    "test_missing_fingerprint_live",
    "test_wrong_key",
    "test_missing_remote_dir",
    "test_home_relative_dir",
    "test_list_get_remove_return_file",
    "test_connection_cut_mid_upload",
    "test_stalled_upload_times_out",
    "test_silent_server_times_out",
    "test_threads",
]
OPTIONAL_CASES = {"test_big_upload_timing"}


def build_dir():
    if os.environ.get("ROSTERD_BUILD_DIR"):
        return os.environ["ROSTERD_BUILD_DIR"]
    if os.environ.get("ROSTERD_BIN"):
        return os.path.dirname(os.path.abspath(os.environ["ROSTERD_BIN"]))
    return os.path.join(REPO, "build")


@unittest.skipUnless(sshd_fixture.available(),
                     "sshd/ssh-keygen not installed (openssh-server, "
                     "openssh-client)")
class XferSftpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sshd = sshd_fixture.SshdFixture().start()

    @classmethod
    def tearDownClass(cls):
        cls.sshd.stop()

    def test_fixture_with_openssh_client(self):
        """The fixture serves SFTP to OpenSSH's client with the advertised
        host key, and its fingerprint is what ssh-keygen -lf prints."""
        s = self.sshd
        keygen = subprocess.run(
            [sshd_fixture.SSH_KEYGEN, "-lf", s.host_key_path + ".pub",
             "-E", "sha256"], capture_output=True, text=True, check=True)
        self.assertIn("SHA256:%s " % s.fingerprint, keygen.stdout)
        sftp = subprocess.run(["which", "sftp"], capture_output=True,
                              text=True)
        if sftp.returncode != 0:
            self.skipTest("OpenSSH sftp client not installed")
        with tempfile.TemporaryDirectory() as tmp:
            known = os.path.join(tmp, "known_hosts")
            with open(s.host_key_path + ".pub") as f:
                key = " ".join(f.read().split()[:2])
            with open(known, "w") as f:
                f.write("[%s]:%d %s\n" % (s.host, s.port, key))
            src = os.path.join(tmp, "hello.csv")
            with open(src, "wb") as f:
                f.write(b"id,status\n1,active\n")
            batch = "put %s %s/hello.csv\n" % (src, s.root)
            proc = subprocess.run(
                ["sftp", "-b", "-", "-i", s.key_path, "-P", str(s.port),
                 "-o", "UserKnownHostsFile=" + known,
                 "-o", "GlobalKnownHostsFile=/dev/null",
                 "-o", "StrictHostKeyChecking=yes",
                 "-o", "BatchMode=yes",
                 "%s@%s" % (s.user, s.host)],
                input=batch, capture_output=True, text=True, timeout=60)
            self.assertEqual(proc.returncode, 0,
                             proc.stderr + "\n" + s.log())
        path = os.path.join(s.root, "hello.csv")
        with open(path, "rb") as f:
            self.assertEqual(f.read(), b"id,status\n1,active\n")
        os.unlink(path)

    def test_xfer_module_live(self):
        exe = os.path.join(build_dir(), "tests", "test_xfer_sftp")
        self.assertTrue(os.access(exe, os.X_OK),
                        "%s not built (ninja -C %s)" % (exe, build_dir()))
        env = dict(os.environ)
        env.update(self.sshd.env())
        env["CMOCKA_MESSAGE_OUTPUT"] = "stdout"
        proc = subprocess.run([exe], env=env, capture_output=True, text=True,
                              timeout=TIMEOUT)
        out = proc.stdout + proc.stderr
        detail = "%s\n--- sshd log ---\n%s" % (out, self.sshd.log()[-4000:])
        self.assertEqual(proc.returncode, 0, detail)
        ok = set(re.findall(r"^\[       OK \] (test_\w+)", out, re.M))
        skipped = set(re.findall(r"^\[  SKIPPED \] (test_\w+)", out, re.M))
        self.assertEqual(skipped - OPTIONAL_CASES, set(), detail)
        for case in LIVE_CASES:
            self.assertIn(case, ok, detail)
        timing = re.search(r"^xfer_put of .*$", out, re.M)
        if timing:
            print("\n" + timing.group(0))
        # Nothing is left in the server's directory by the cases.
        self.assertEqual(os.listdir(self.sshd.root), [])


if __name__ == "__main__":
    unittest.main()
