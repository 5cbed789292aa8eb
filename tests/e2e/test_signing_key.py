# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
"""rosterd's key ring is shared safely by processes delivering at the
same moment: four `rosterd deliver` commands for four feeds start
together on a fresh data directory. Each file is encrypted (none fails
because another process started or stopped gpg-agent meanwhile), the key
ring ends with exactly one signing key, and the vendor verifies its
signature on every file."""

import os
import shutil
import subprocess
import tempfile
import unittest

import harness

FEEDS = ["k1", "k2", "k3", "k4"]


@unittest.skipUnless(shutil.which("gpg"), "gpg is not installed")
class SigningKeyTest(unittest.TestCase):

    def setUp(self):
        # Short: DATA/gnupg must fit a socket path.
        self.tmp = tempfile.mkdtemp(prefix="rsk-", dir="/tmp")
        self.vhome = os.path.join(self.tmp, "v")
        os.mkdir(self.vhome, 0o700)
        self.gpg(self.vhome, "--batch", "--pinentry-mode", "loopback",
                 "--passphrase", "", "--quick-gen-key", "Vendor <v@x>",
                 "future-default", "default", "never")
        key = os.path.join(self.tmp, "vendor.asc")
        with open(key, "wb") as f:
            f.write(self.gpg(self.vhome, "--armor", "--export").stdout)
        self.db = os.path.join(self.tmp, "r.db")
        self.cfg = os.path.join(self.tmp, "rosterd.yaml")
        self.dest = os.path.join(self.tmp, "dest")
        text = ["server:", "  outbox: %s/outbox" % self.tmp, "feeds:"]
        for f in FEEDS:
            text += ["  %s:" % f, "    tenant: acme",
                     "    eligibility: 'active eq true'", "    mode: full",
                     "    format: csv",
                     "    columns: [{name: u, source: userName}]",
                     "    file_name: '%s-{seq}.csv'" % f,
                     "    approval: {first_run: false}"]
        text.append("delivery:")
        for f in FEEDS:
            os.makedirs(os.path.join(self.dest, f))
            text += ["  %s:" % f,
                     "    destination: 'dir:%s/%s'" % (self.dest, f),
                     "    pgp: {recipient_key: %s, sign: true}" % key]
        with open(self.cfg, "w") as fh:
            fh.write("\n".join(text) + "\n")
        harness.cli(self.db, "tenant", "create", "acme")
        hr = os.path.join(self.tmp, "hr.csv")
        with open(hr, "w") as fh:
            fh.write("employee_id,email,first\nE1,a@x.example,A\n"
                     "E2,b@x.example,B\n")
        with open(self.cfg, "a") as fh:
            fh.write("mappings:\n  hr:\n    key: employee_id\n"
                     "    columns: {email: userName, first: name.givenName}\n")
        harness.cli(self.db, "import", "hris", hr, "--tenant", "acme",
                    "--mapping", "hr", "--config", self.cfg)

    def tearDown(self):
        for home in (self.vhome, os.path.join(self.tmp, "gnupg")):
            subprocess.run(["gpgconf", "--homedir", home, "--kill", "all"],
                           capture_output=True)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def gpg(self, home, *args):
        return subprocess.run(["gpg", "--homedir", home] + list(args),
                              capture_output=True, check=True, timeout=60)

    def test_one_key_for_concurrent_deliveries(self):
        runs = []
        for f in FEEDS:
            p = harness.cli(self.db, "feed", "render", f, "--config",
                            self.cfg)
            runs.append(p.stdout.split()[1])
        procs = [subprocess.Popen(
            [harness.BIN, "deliver", r, "--config", self.cfg, "--db",
             self.db], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True) for r in runs]
        for p in procs:
            out, err = p.communicate(timeout=120)
            self.assertEqual(p.returncode, 0, out + err)
        home = os.path.join(self.tmp, "gnupg")
        secs = [l for l in self.gpg(home, "--with-colons",
                                    "--list-secret-keys").stdout
                .decode().splitlines() if l.startswith("sec:")]
        self.assertEqual(len(secs), 1, secs)
        pub = self.gpg(home, "--armor", "--export").stdout
        subprocess.run(["gpg", "--homedir", self.vhome, "--batch",
                        "--import"], input=pub, capture_output=True,
                       check=True)
        for f in FEEDS:
            names = os.listdir(os.path.join(self.dest, f))
            self.assertEqual(len(names), 1, names)
            p = subprocess.run(
                ["gpg", "--homedir", self.vhome, "--batch", "--status-fd",
                 "1", "--decrypt",
                 os.path.join(self.dest, f, names[0])],
                capture_output=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn(b"GOODSIG", p.stdout)
