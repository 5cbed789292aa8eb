# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
"""End-to-end tests of the delivery worker in `rosterd serve`: off-cycle
terminations and scheduled runs, against a real OpenSSH sshd started on a
loopback port (sshd_fixture.py) and real gpg.

- OffcycleTest: a feed with off-cycle files (window 2 s). The first run is
  rendered with `rosterd feed render`, held (first run), approved with
  `rosterd feed approve` and delivered by the worker; then a SCIM PATCH
  active:false makes an off-cycle change file appear on the SFTP server
  within seconds, holding exactly that termination (decrypted with the
  vendor's gpg), and `rosterd feed lag` shows its lag. Two deactivations
  inside one window go out in one file; a DELETE counts too.
- ScheduleTest: a feed scheduled every minute (`* * * * *`) is rendered
  and delivered by itself; a yearly feed whose last fire is set two years
  back while rosterd is down runs exactly once after the restart, and not
  again after another restart.

Only the Python standard library is used.
"""

import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
import unittest

import harness
import sshd_fixture
from harness import URN_PATCH

GPG = shutil.which("gpg")

FEEDS = """\
server:
  outbox: {outbox}
feeds:
  spring-health:
    tenant: acme
    vendor: Spring Health
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
      - {{name: term_date, header: Termination Date, source: $term_date,
          date_format: '%Y%m%d'}}
    file_name: '{{tenant}}_{{feed}}_{{date:%Y%m%d}}_{{seq:4}}.csv'
    approval: {{first_run: true, max_terminations_percent: 50}}
"""

DELIVERY = """\
delivery:
  spring-health:
    destination: {url}
    ssh_key: {key}
    host_key_sha256: "SHA256:{fpr}"
    pgp: {{recipient_key: {vendor_key}, armor: false}}
    offcycle: {{enabled: true, window: 2, daily_cap: 10}}
    retries: {{max: 4, base_ms: 200, cap_ms: 1000}}
"""

SCHEDULED = """\
server:
  outbox: {outbox}
feeds:
  minutely:
    tenant: acme
    eligibility: 'active eq true'
    mode: change
    format: csv
    line_ending: lf
    columns:
      - {{name: member_id, source: externalId}}
      - {{name: action, source: $action, map: {{add: A, change: C,
          terminate: T, reinstate: R, none: ''}}}}
    file_name: 'minutely-{{seq:4}}.csv'
    approval: {{first_run: false}}
  yearly:
    tenant: acme
    eligibility: 'active eq true'
    mode: full
    format: csv
    line_ending: lf
    columns:
      - {{name: member_id, source: externalId}}
    file_name: 'yearly-{{seq:4}}.csv'
    approval: {{first_run: false}}
  twofold:
    tenant: acme
    eligibility: 'active eq true'
    mode: both
    format: csv
    line_ending: lf
    columns:
      - {{name: member_id, source: externalId}}
    file_name: 'twofold-{{seq:4}}.csv'
    approval: {{first_run: false}}
delivery:
  minutely:
    destination: {url_min}
    ssh_key: {key}
    host_key_sha256: "SHA256:{fpr}"
    schedule: "* * * * *"
    timezone: America/New_York
  yearly:
    destination: {url_year}
    ssh_key: {key}
    host_key_sha256: "SHA256:{fpr}"
    schedule: "0 0 1 1 *"
    timezone: UTC
  twofold:
    destination: {url_two}
    ssh_key: {key}
    host_key_sha256: "SHA256:{fpr}"
    schedule: "0 0 1 1 *"
    full_schedule: "0 0 1 1 *"
"""

RUN_RE = re.compile(r"^run (run_[0-9a-f]{16}) ", re.M)


class ConfigDaemon(harness.Daemon):
    """harness.Daemon with --config."""

    def __init__(self, workdir, db, config):
        super().__init__(workdir, db)
        self.config = config

    def start(self):
        self.port = harness.free_port()
        self._log = open(self.log_path, "ab")
        self._log.write(b"\n==== serve on 127.0.0.1:%d ====\n" % self.port)
        self._log.flush()
        self.proc = subprocess.Popen(
            [harness.BIN, "serve", "--config", self.config, "--db", self.db,
             "--listen", "127.0.0.1:%d" % self.port],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
            cwd=self.workdir)
        deadline = time.monotonic() + harness.START_TIMEOUT
        while True:
            rc = self.proc.poll()
            if rc is not None:
                raise AssertionError(
                    "rosterd serve exited with %d before listening\n%s"
                    % (rc, self.log_tail()))
            try:
                socket.create_connection(("127.0.0.1", self.port),
                                         0.25).close()
                return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError("rosterd serve did not start\n%s"
                                     % self.log_tail())
            time.sleep(0.05)

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


def gpg_vendor(base):
    """A vendor key pair in its own gpg home; returns (home, public key)."""
    home = os.path.join(base, "vendor-gnupg")
    os.mkdir(home, 0o700)
    subprocess.run(
        [GPG, "--homedir", home, "--batch", "--pinentry-mode", "loopback",
         "--passphrase", "", "--quick-gen-key", "Vendor <v@example.com>",
         "future-default", "default", "never"],
        check=True, capture_output=True)
    pub = os.path.join(base, "vendor.asc")
    with open(pub, "wb") as f:
        f.write(subprocess.run(
            [GPG, "--homedir", home, "--armor", "--export", "v@example.com"],
            check=True, capture_output=True).stdout)
    return home, pub


class WorkerCase(unittest.TestCase):
    """One sshd, one database and one daemon with a config per class."""

    CONFIG = None
    daemon = None

    @classmethod
    def setUpClass(cls):
        if not sshd_fixture.available():
            raise unittest.SkipTest("sshd or ssh-keygen is not installed")
        if GPG is None:
            raise unittest.SkipTest("gpg is not installed")
        cls._tmp = tempfile.TemporaryDirectory(prefix="rosterd-offcycle-")
        cls.workdir = cls._tmp.name
        cls.db = os.path.join(cls.workdir, "rosterd.db")
        cls.outbox = os.path.join(cls.workdir, "outbox")
        cls.config = os.path.join(cls.workdir, "rosterd.yaml")
        cls.sshd = None
        try:
            cls.sshd = sshd_fixture.SshdFixture().start()
            cls.prepare()
            harness.tenant_create(cls.db, "acme", generous=True)
            cls.token, _ = harness.token_create(cls.db, "acme", "scim")
            cls.before_start()
            cls.daemon = ConfigDaemon(cls.workdir, cls.db, cls.config)
            cls.daemon.start()
        except BaseException:
            cls.cleanup()
            raise

    @classmethod
    def before_start(cls):
        pass

    @classmethod
    def cleanup(cls):
        if cls.daemon is not None:
            cls.daemon.kill()
            cls.daemon = None
        if cls.sshd is not None:
            cls.sshd.stop()
        cls._tmp.cleanup()

    @classmethod
    def tearDownClass(cls):
        rc = cls.daemon.stop() if cls.daemon is not None else 0
        log = cls.daemon.log_text() if cls.daemon is not None else ""
        cls.daemon = None
        cls.cleanup()
        if rc != 0:
            raise AssertionError("rosterd did not exit 0 on SIGTERM (%r)\n%s"
                                 % (rc, log[-4000:]))

    def run(self, result=None):
        before = (len(result.failures) + len(result.errors)) if result else 0
        out = super().run(result)
        if (result is not None and self.daemon is not None and
                len(result.failures) + len(result.errors) > before):
            print("\n[%s]\n%s" % (self.id(), self.daemon.log_tail(60)))
        return out

    # ---- helpers ----------------------------------------------------------

    def request(self, method, path, body=None):
        return harness.http_request(self.daemon.port, method, path,
                                    body=body, token=self.token)

    def create_user(self, ext, family):
        resp = self.request("POST", "/Users", {
            "schemas": [harness.URN_USER],
            "userName": "%s@acme.example" % ext.lower(),
            "externalId": ext,
            "name": {"givenName": "G", "familyName": family},
            "active": True})
        self.assertEqual(resp.status, 201, resp)
        return resp.json["id"]

    def rosterd(self, *args, check=True):
        argv = [harness.BIN] + list(args) + ["--config", self.config,
                                             "--db", self.db]
        proc = subprocess.run(argv, capture_output=True, text=True,
                              timeout=60)
        if check and proc.returncode != 0:
            self.fail("%s exited %d\n%s%s" % (" ".join(argv),
                                              proc.returncode, proc.stdout,
                                              proc.stderr))
        return proc

    def remote(self, sub=""):
        """Names of the files on the SFTP server, sorted; not the
        temporary ".NAME.*.part" of an upload in progress."""
        d = os.path.join(self.sshd.root, sub)
        return sorted(n for n in os.listdir(d) if not n.startswith(".") and
                      os.path.isfile(os.path.join(d, n)))

    def wait_files(self, n, sub="", timeout=20.0):
        deadline = time.monotonic() + timeout
        while True:
            names = self.remote(sub)
            if len(names) >= n:
                return names
            if time.monotonic() > deadline:
                self.fail("expected %d files on the SFTP server within "
                          "%.0f s, have %r" % (n, timeout, names))
            time.sleep(0.1)

    def runs(self, feed):
        return json.loads(self.rosterd("feed", "runs", feed,
                                       "--json").stdout)


class OffcycleTest(WorkerCase):
    """Tests run in order and build on each other."""

    @classmethod
    def prepare(cls):
        cls.vendor_home, vendor_key = gpg_vendor(cls.workdir)
        with open(cls.config, "w") as f:
            f.write(FEEDS.format(outbox=cls.outbox))
            f.write(DELIVERY.format(url=cls.sshd.url(),
                                    key=cls.sshd.key_path,
                                    fpr=cls.sshd.fingerprint,
                                    vendor_key=vendor_key))

    def decrypt(self, name):
        path = os.path.join(self.sshd.root, name)
        proc = subprocess.run(
            [GPG, "--homedir", self.vendor_home, "--batch", "--quiet",
             "--decrypt", path], capture_output=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc.stdout.decode()

    def deactivate(self, ext):
        resp = self.request("PATCH", "/Users/" + self.ids[ext], {
            "schemas": [URN_PATCH],
            "Operations": [{"op": "replace", "value": {"active": False}}]})
        self.assertEqual(resp.status, 200, resp)
        return time.time()

    def lag(self):
        return json.loads(self.rosterd("feed", "lag", "spring-health",
                                       "--json").stdout)

    def test_1_first_run_is_approved_and_delivered(self):
        type(self).ids = {}
        for ext, family in (("E1", "Lovelace"), ("E2", "Hopper"),
                            ("E3", "Turing"), ("E4", "Liskov"),
                            ("E5", "Knuth"), ("E6", "Hamilton")):
            self.ids[ext] = self.create_user(ext, family)
        r = self.rosterd("feed", "render", "spring-health")
        run = RUN_RE.search(r.stdout).group(1)
        self.assertIn("pending_approval", r.stdout)
        # Held for approval: nothing travels.
        time.sleep(1.0)
        self.assertEqual(self.remote(), [])
        self.rosterd("feed", "approve", run, "--by", "alice")
        names = self.wait_files(1)
        self.assertEqual(len(names), 1)
        self.assertRegex(names[0], r"^acme_spring-health_\d{8}_0001\.csv\.pgp$")
        text = self.decrypt(names[0])
        self.assertEqual(text, "Member ID,Last Name,Action,Termination Date\n"
                         "E1,Lovelace,A,\nE2,Hopper,A,\nE3,Turing,A,\n"
                         "E4,Liskov,A,\nE5,Knuth,A,\nE6,Hamilton,A,\n")
        type(self).first = names[0]

    def test_2_deactivation_goes_out_off_cycle(self):
        t0 = self.deactivate("E2")
        names = self.wait_files(2, timeout=15)
        elapsed = time.time() - t0
        new = [n for n in names if n != self.first]
        self.assertEqual(len(new), 1, names)
        self.assertRegex(new[0], r"_0002\.csv\.pgp$")
        text = self.decrypt(new[0])
        day = time.strftime("%Y%m%d", time.gmtime(t0))
        self.assertEqual(text, "Member ID,Last Name,Action,Termination Date\n"
                         "E2,Hopper,T,%s\n" % day)
        # The 2 s window plus rendering, encryption and upload.
        self.assertLess(elapsed, 10.0)
        lag = self.lag()
        self.assertEqual(len(lag["terminations"]), 1, lag)
        row = lag["terminations"][0]
        self.assertEqual(row["key"], "E2")
        self.assertEqual(row["kind"], "offcycle")
        self.assertGreaterEqual(row["lag_ms"], 1000)
        self.assertLess(row["lag_ms"], elapsed * 1000 + 1000)
        self.assertEqual(lag["summary"]["count"], 1)
        self.assertRegex(self.daemon.log_text(),
                         r"run_[0-9a-f]{16} delivered the termination of E2 "
                         r"\(event [^)]*\), lag \d+ ms \(off-cycle\)")
        type(self).seen = names

    def test_3_one_file_per_window(self):
        self.deactivate("E3")
        resp = self.request("DELETE", "/Users/" + self.ids["E4"])
        self.assertEqual(resp.status, 204, resp)
        names = self.wait_files(3, timeout=15)
        time.sleep(3.0)  # a second file would have come by now
        names = self.remote()
        new = [n for n in names if n not in self.seen]
        self.assertEqual(len(new), 1, names)
        text = self.decrypt(new[0])
        lines = text.splitlines()
        self.assertEqual(lines[0], "Member ID,Last Name,Action,"
                         "Termination Date")
        self.assertEqual(sorted(l.split(",")[0] + l.split(",")[2]
                                for l in lines[1:]), ["E3T", "E4T"])
        lag = self.lag()
        self.assertEqual(sorted(r["key"] for r in lag["terminations"]),
                         ["E2", "E3", "E4"])
        # Runs: the approved first one, then two off-cycle change runs.
        runs = self.runs("spring-health")
        self.assertEqual([r["mode"] for r in runs],
                         ["change", "change", "change"])
        self.assertEqual([r["counts"]["terminations"] for r in runs],
                         [2, 1, 0])
        type(self).seen = names

    def test_4_inactive_twice_and_unknown_people_send_nothing(self):
        # Already terminated: no new file. A person never sent: none.
        resp = self.request("PATCH", "/Users/" + self.ids["E2"], {
            "schemas": [URN_PATCH],
            "Operations": [{"op": "replace", "path": "active",
                            "value": False}]})
        self.assertEqual(resp.status, 200, resp)
        other = self.create_user("E9", "Newcomer")
        resp = self.request("DELETE", "/Users/" + other)
        self.assertEqual(resp.status, 204, resp)
        time.sleep(4.0)
        self.assertEqual(self.remote(), self.seen)
        self.assertEqual(len(self.lag()["terminations"]), 3)

    def test_5_crash_inside_the_window_loses_nothing(self):
        # SIGKILL right after the change is acknowledged, before the window
        # ends: the trigger's event (or the pending row) is in the
        # database, and the restarted worker sends it.
        self.deactivate("E5")
        self.daemon.kill()
        self.daemon.start()
        names = self.wait_files(len(self.seen) + 1, timeout=15)
        new = [n for n in names if n not in self.seen]
        self.assertEqual(len(new), 1)
        text = self.decrypt(new[0])
        self.assertEqual(text.splitlines()[1].split(",")[:3],
                         ["E5", "Knuth", "T"])
        keys = [r["key"] for r in self.lag()["terminations"]]
        self.assertEqual(keys[0], "E5")


class ScheduleTest(WorkerCase):

    @classmethod
    def prepare(cls):
        for d in ("min", "year", "two"):
            os.mkdir(os.path.join(cls.sshd.root, d), 0o700)
        with open(cls.config, "w") as f:
            f.write(SCHEDULED.format(
                outbox=cls.outbox,
                url_min=cls.sshd.url(os.path.join(cls.sshd.root, "min")),
                url_year=cls.sshd.url(os.path.join(cls.sshd.root, "year")),
                url_two=cls.sshd.url(os.path.join(cls.sshd.root, "two")),
                key=cls.sshd.key_path, fpr=cls.sshd.fingerprint))

    @classmethod
    def before_start(cls):
        # The people exist before the scheduler does: made through SCIM on
        # a daemon without delivery (no worker), which then stops.
        plain = harness.Daemon(cls.workdir, cls.db)
        plain.start()
        try:
            for ext in ("S1", "S2"):
                resp = harness.http_request(plain.port, "POST", "/Users", {
                    "schemas": [harness.URN_USER],
                    "userName": "%s@acme.example" % ext.lower(),
                    "externalId": ext, "active": True}, token=cls.token)
                if resp.status != 201:
                    raise AssertionError("fixture user: %r" % resp)
        finally:
            plain.stop()

    def test_1_every_minute(self):
        # The first slot after the daemon started fires by itself.
        names = self.wait_files(1, sub="min", timeout=70)
        self.assertEqual(names[0], "minutely-0001.csv")
        with open(os.path.join(self.sshd.root, "min", names[0])) as f:
            self.assertEqual(f.read(), "member_id,action\nS1,A\nS2,A\n")
        runs = self.runs("minutely")
        self.assertIn(runs[-1]["state"], ("delivered", "acknowledged"))
        shown = json.loads(self.rosterd("feed", "show", runs[-1]["id"],
                                        "--json").stdout)
        self.assertEqual(shown["history"][0]["by"], "rosterd-scheduler")
        self.assertEqual(self.remote("year"), [])

    def test_2_missed_slot_runs_once_after_restart(self):
        self.assertEqual(self.daemon.stop(), 0)
        two_years = int(time.time()) - 2 * 366 * 86400
        con = sqlite3.connect(self.db)
        with con:
            n = con.execute("UPDATE schedule_state SET seen = ?, "
                            "last_fire = ? WHERE feed = 'yearly'",
                            (two_years, two_years)).rowcount
        con.close()
        self.assertEqual(n, 1)
        self.daemon.start()
        names = self.wait_files(1, sub="year", timeout=15)
        time.sleep(3.0)
        self.assertEqual(self.remote("year"), ["yearly-0001.csv"])
        self.assertEqual(len(self.runs("yearly")), 1)
        self.assertRegex(self.daemon.log_text(),
                         r"schedule: feed yearly: run run_[0-9a-f]{16} "
                         r"rendered")
        # Fired: another restart does not run it again.
        self.assertEqual(self.daemon.stop(), 0)
        self.daemon.start()
        time.sleep(3.0)
        self.assertEqual(self.remote("year"), names)
        self.assertEqual(len(self.runs("yearly")), 1)

    def missed(self, *keys):
        """Restart with the given schedule_state rows two years back."""
        self.assertEqual(self.daemon.stop(), 0)
        two_years = int(time.time()) - 2 * 366 * 86400
        con = sqlite3.connect(self.db)
        with con:
            for k in keys:
                n = con.execute("UPDATE schedule_state SET seen = ?, "
                                "last_fire = ? WHERE feed = ?",
                                (two_years, two_years, k)).rowcount
                self.assertEqual(n, 1, k)
        con.close()
        self.daemon.start()

    def wait_runs(self, feed, n, timeout=15.0):
        deadline = time.monotonic() + timeout
        while True:
            runs = self.runs(feed)
            if len(runs) >= n and all(
                    r["state"] in ("delivered", "acknowledged") for r in runs):
                return runs
            if time.monotonic() > deadline:
                self.fail("expected %d delivered runs of %s, have %r"
                          % (n, feed, runs))
            time.sleep(0.2)

    def test_3_mode_both_two_cadences(self):
        # mode: both keeps two schedules, each with its own state row:
        # the full one renders a full file...
        self.missed("twofold#full")
        runs = self.wait_runs("twofold", 1)
        self.assertEqual([r["mode"] for r in runs], ["full"])
        self.assertEqual(self.remote("two"), ["twofold-0001.csv"])
        with open(os.path.join(self.sshd.root, "two",
                               "twofold-0001.csv")) as f:
            self.assertEqual(f.read(), "member_id\nS1\nS2\n")
        # ...the other a change file...
        self.missed("twofold")
        runs = self.wait_runs("twofold", 2)
        self.assertEqual(sorted(r["mode"] for r in runs),
                         ["change", "full"])
        # ...and when both are due at once, one full file covers both.
        self.missed("twofold", "twofold#full")
        runs = self.wait_runs("twofold", 3)
        time.sleep(3.0)
        runs = self.runs("twofold")
        self.assertEqual(sorted(r["mode"] for r in runs),
                         ["change", "full", "full"])
        self.assertRegex(self.daemon.log_text(),
                         r"schedule: feed twofold: run run_[0-9a-f]{16} "
                         r"rendered \(full file")
        con = sqlite3.connect(self.db)
        fired = dict(con.execute("SELECT feed, last_fire FROM "
                                 "schedule_state WHERE feed LIKE "
                                 "'twofold%'").fetchall())
        con.close()
        self.assertGreater(fired["twofold"], time.time() - 3600)
        self.assertGreater(fired["twofold#full"], time.time() - 3600)


if __name__ == "__main__":
    unittest.main()
