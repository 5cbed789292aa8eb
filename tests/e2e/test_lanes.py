# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
"""End-to-end test of delivery lanes in `rosterd serve`: one vendor server
that hangs does not hold up another vendor's files.

Two feeds of one tenant, both with off-cycle terminations (window 2 s),
encrypted and signed. Feed `beta` delivers straight to a real OpenSSH sshd
(sshd_fixture.py). Feed `alpha` delivers through a Gate in front of the
same sshd: while the gate is shut it accepts TCP connections and never
says a word, as a vendor server that hangs before its SSH banner does;
rosterd waits for it up to `timeouts.connect_ms` (30 s here) per attempt.

1. Both feeds' first runs are rendered (alpha's first, so it is the oldest
   run); beta's is delivered within seconds while alpha's hangs.
2. A SCIM deactivation goes out to beta off-cycle within seconds; alpha
   still hangs.
3. The gate opens: alpha's first file and then its off-cycle file arrive,
   each exactly once, and the lag is recorded for both feeds.
4. The gate shuts again and a second deactivation reaches beta; rosterd,
   with alpha's delivery hanging, stops on SIGTERM within a few seconds;
   restarted with the gate open, alpha delivers that file exactly once.

With a single delivery thread (before lanes), step 1 and 2 wait for
alpha's 30 s connect timeout and fail. Python standard library only.
"""

import os
import socket
import threading
import time
import unittest

import harness
import sshd_fixture
import test_offcycle
from harness import URN_PATCH
from test_offcycle import GPG, WorkerCase, gpg_vendor

FEEDS = """\
server:
  outbox: {outbox}
feeds:
"""

FEED = """\
  {name}:
    tenant: acme
    eligibility: 'active eq true'
    mode: change
    format: csv
    line_ending: lf
    columns:
      - {{name: member_id, header: Member ID, source: externalId}}
      - name: action
        header: Action
        source: $action
        map: {{add: A, change: C, terminate: T, reinstate: R, none: ''}}
    file_name: '{{feed}}_{{seq:4}}.csv'
    approval: {{first_run: false, max_terminations_percent: 100}}
"""

DELIVERY = """\
  {name}:
    destination: {url}
    ssh_key: {key}
    host_key_sha256: "SHA256:{fpr}"
    pgp: {{recipient_key: {vendor_key}, sign: true}}
    offcycle: {{enabled: true, window: 2, daily_cap: 20}}
    retries: {{max: 100, base_ms: 200, cap_ms: 1000}}
    timeouts: {{connect_ms: 30000, stall_s: 30}}
"""


class Gate:
    """A TCP listener in front of a port. Shut: it accepts connections and
    holds them without a word. Open: it relays new connections to the
    target, and the held ones are closed."""

    def __init__(self, target):
        self.target = target
        self.port = sshd_fixture.free_port()
        self.lock = threading.Lock()
        self.is_open = False
        self.held = []
        self.accepted = 0
        self.sock = None

    def start(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(16)
        self.sock = s
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def open(self):
        with self.lock:
            self.is_open = True
            held, self.held = self.held, []
        for c in held:
            self._close(c)

    def shut(self):
        with self.lock:
            self.is_open = False

    def stop(self):
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()
            self.sock = None
        self.open()

    def held_count(self):
        with self.lock:
            return len(self.held)

    @staticmethod
    def _close(s):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()

    def _accept(self):
        sock = self.sock
        while True:
            try:
                c, _ = sock.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
                if not self.is_open:
                    self.held.append(c)
                    continue
            try:
                u = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                self._close(c)
                continue
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pump, args=(a, b),
                                 daemon=True).start()

    def _pump(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            self._close(s)


class LanesTest(WorkerCase):
    """Tests run in order and build on each other."""

    @classmethod
    def prepare(cls):
        cls.vendor_home, vendor_key = gpg_vendor(cls.workdir)
        cls.gate = Gate(cls.sshd.port).start()
        for d in ("a", "b"):
            os.mkdir(os.path.join(cls.sshd.root, d), 0o700)
        gated = "sftp://%s@127.0.0.1:%d%s" % (
            cls.sshd.user, cls.gate.port, os.path.join(cls.sshd.root, "a"))
        with open(cls.config, "w") as f:
            f.write(FEEDS.format(outbox=cls.outbox))
            for name in ("alpha", "beta"):
                f.write(FEED.format(name=name))
            f.write("delivery:\n")
            for name, url in (("alpha", gated),
                              ("beta", cls.sshd.url(
                                  os.path.join(cls.sshd.root, "b")))):
                f.write(DELIVERY.format(name=name, url=url,
                                        key=cls.sshd.key_path,
                                        fpr=cls.sshd.fingerprint,
                                        vendor_key=vendor_key))

    @classmethod
    def cleanup(cls):
        gate = getattr(cls, "gate", None)
        if gate is not None:
            gate.stop()
        super().cleanup()

    def decrypt(self, sub, name):
        """The plaintext; the signature must be good."""
        run = test_offcycle.subprocess.run
        if not getattr(type(self), "signer_known", False):
            # rosterd's signing key, as an operator gives it to vendors.
            pub = run([GPG, "--homedir", os.path.join(self.workdir, "gnupg"),
                       "--armor", "--export", "rosterd"],
                      check=True, capture_output=True).stdout
            self.assertTrue(pub)
            run([GPG, "--homedir", self.vendor_home, "--batch", "--import"],
                input=pub, check=True, capture_output=True)
            type(self).signer_known = True
        proc = run(
            [GPG, "--homedir", self.vendor_home, "--batch", "--quiet",
             "--decrypt", os.path.join(self.sshd.root, sub, name)],
            capture_output=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn(b"Good signature", proc.stderr)
        return proc.stdout.decode()

    def deactivate(self, ext):
        resp = self.request("PATCH", "/Users/" + self.ids[ext], {
            "schemas": [URN_PATCH],
            "Operations": [{"op": "replace", "value": {"active": False}}]})
        self.assertEqual(resp.status, 200, resp)
        return time.monotonic()

    def everything(self, sub):
        """Every entry of the remote directory, temporary files too."""
        return sorted(os.listdir(os.path.join(self.sshd.root, sub)))

    def wait_hung(self, timeout=10.0):
        """Until rosterd is stuck in a connection to the shut gate."""
        deadline = time.monotonic() + timeout
        while self.gate.held_count() == 0:
            if time.monotonic() > deadline:
                self.fail("rosterd never connected to alpha's server\n%s"
                          % self.daemon.log_tail(30))
            time.sleep(0.05)

    def lag(self, feed):
        return test_offcycle.json.loads(self.rosterd(
            "feed", "lag", feed, "--json").stdout)["terminations"]

    def test_1_one_hung_vendor_does_not_hold_up_another(self):
        type(self).ids = {}
        for ext in ("E1", "E2", "E3", "E4"):
            self.ids[ext] = self.create_user(ext, "Family" + ext)
        t0 = time.monotonic()
        self.rosterd("feed", "render", "alpha")  # the oldest run
        self.rosterd("feed", "render", "beta")
        names = self.wait_files(1, sub="b", timeout=12)
        self.assertLess(time.monotonic() - t0, 12)
        self.assertEqual(names, ["beta_0001.csv.pgp"])
        self.assertEqual(self.decrypt("b", names[0]),
                         "Member ID,Action\nE1,A\nE2,A\nE3,A\nE4,A\n")
        self.wait_hung()
        self.assertEqual(self.everything("a"), [])

    def test_2_offcycle_termination_goes_out_while_alpha_hangs(self):
        t0 = self.deactivate("E1")
        names = self.wait_files(2, sub="b", timeout=12)
        # The 2 s window, then render, encryption and upload.
        self.assertLess(time.monotonic() - t0, 12)
        self.assertEqual(names, ["beta_0001.csv.pgp", "beta_0002.csv.pgp"])
        self.assertEqual(self.decrypt("b", names[1]),
                         "Member ID,Action\nE1,T\n")
        self.assertEqual(self.everything("a"), [])
        self.assertGreater(self.gate.held_count(), 0)
        self.assertEqual([r["key"] for r in self.lag("beta")], ["E1"])
        self.assertEqual(self.lag("alpha"), [])

    def test_3_alpha_recovers_and_delivers_exactly_once(self):
        self.gate.open()
        names = self.wait_files(2, sub="a", timeout=40)
        time.sleep(3.0)  # a duplicate would have come by now
        self.assertEqual(self.everything("a"),
                         ["alpha_0001.csv.pgp", "alpha_0002.csv.pgp"])
        self.assertEqual(names, self.remote("a"))
        self.assertEqual(self.decrypt("a", names[0]),
                         "Member ID,Action\nE1,A\nE2,A\nE3,A\nE4,A\n")
        self.assertEqual(self.decrypt("a", names[1]),
                         "Member ID,Action\nE1,T\n")
        self.assertEqual(self.everything("b"),
                         ["beta_0001.csv.pgp", "beta_0002.csv.pgp"])
        for feed in ("alpha", "beta"):
            runs = self.runs(feed)
            self.assertEqual(len(runs), 2, runs)
            self.assertTrue(all(r["state"] == "delivered" for r in runs),
                            runs)
        lag = self.lag("alpha")
        self.assertEqual([(r["key"], r["kind"]) for r in lag],
                         [("E1", "offcycle")])

    def test_4_stops_promptly_while_a_delivery_hangs(self):
        self.gate.shut()
        self.deactivate("E2")
        self.wait_files(3, sub="b", timeout=12)
        self.wait_hung()
        t0 = time.monotonic()
        self.assertEqual(self.daemon.stop(), 0)
        self.assertLess(time.monotonic() - t0, 5.0)
        self.assertRegex(self.daemon.log_text(), r"worker: stopped")
        # Restarted with alpha's server back: its file arrives once.
        self.gate.open()
        self.daemon.start()
        names = self.wait_files(3, sub="a", timeout=30)
        time.sleep(3.0)
        self.assertEqual(self.everything("a"), names)
        self.assertEqual(names[2], "alpha_0003.csv.pgp")
        self.assertEqual(self.decrypt("a", names[2]),
                         "Member ID,Action\nE2,T\n")
        self.assertEqual(len(self.runs("alpha")), 3)
        self.assertEqual(sorted(r["key"] for r in self.lag("alpha")),
                         ["E1", "E2"])


if __name__ == "__main__":
    unittest.main()
