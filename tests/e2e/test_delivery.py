# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
"""End-to-end delivery: `rosterd feed render`, then `rosterd deliver`,
`deliver status` and `returns fetch`, against a real OpenSSH sshd started
here on a loopback port (sshd_fixture.py: generated host and user keys) and
real gpg (a vendor key ring made here). Between rosterd and sshd, where a
test needs it, sits a small TCP relay (Relay) that can be down, cut a
connection after N bytes, or slow the upload down. Python standard library
only.

Covered (issue 4): a delivered file decrypts with the vendor's gpg to exactly
the rendered bytes; a wrong or missing host fingerprint is refused with
nothing uploaded; server down then up is retried and delivered once; a
connection cut mid-upload leaves no partial file under the final name and is
then delivered once; rosterd killed at each state of the run (the test-only
ROSTERD_TEST_CRASH_AT hook, and a real SIGKILL mid-upload) and restarted
ends with exactly one file and the run delivered; a return file with
accepted and rejected records attaches to its run.

ROSTERD_TEST_DELIVERY_BIG_MB=N also times the delivery of an N MB file
(encrypt + SFTP over loopback) and prints it.
"""

import hashlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest

import harness
import sshd_fixture

TIMEOUT = 120
PEOPLE = 20000

FEED = """\
  {name}:
    tenant: acme
    eligibility: 'active eq true'
    mode: full
    format: csv
    columns:
      - {{name: member_id, header: Member ID, source: externalId}}
      - {{name: first_name, header: First Name, source: name.givenName}}
      - {{name: last_name, header: Last Name, source: name.familyName}}
      - {{name: email, header: Email, source: userName}}
    file_name: '{{tenant}}_{{feed}}_{{date:%Y%m%d}}_{{seq:3}}.csv'
    approval: {{first_run: false}}
"""

MAPPING = """\
mappings:
  hr:
    key: employee_id
    columns:
      email: userName
      first_name: name.givenName
      last_name: name.familyName
"""


def have_gpg():
    return shutil.which("gpg") is not None


class Relay:
    """A TCP relay on a loopback port to a target port. Down until start();
    cut_after=N drops the next connection that carries more than N bytes
    upstream (cuts counts how many to drop); rate=B/s slows uploads."""

    def __init__(self, target, port=None):
        self.target = target
        self.port = port or sshd_fixture.free_port()
        self.cut_after = None
        self.cuts = 0
        self.rate = None
        self.sock = None
        self.conns = []
        self.lock = threading.Lock()
        self.dropped = 0

    def start(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(16)
        self.sock = s
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self):
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)  # wakes accept()
            except OSError:
                pass
            self.sock.close()
            self.sock = None
        with self.lock:
            for c in self.conns:
                try:
                    c.close()
                except OSError:
                    pass
            self.conns = []

    def _accept(self):
        sock = self.sock
        while True:
            try:
                c, _ = sock.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                c.close()
                continue
            with self.lock:
                self.conns += [c, u]
                cut = None
                if self.cut_after is not None and self.cuts > 0:
                    self.cuts -= 1
                    cut = self.cut_after
            threading.Thread(target=self._pump, args=(c, u, cut, True),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(u, c, None, False),
                             daemon=True).start()

    def _pump(self, src, dst, cut, upstream):
        n = 0
        start = time.monotonic()
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                n += len(data)
                if cut is not None and n > cut:
                    self.dropped += 1
                    break
                dst.sendall(data)
                if upstream and self.rate:
                    ahead = n / self.rate - (time.monotonic() - start)
                    if ahead > 0:
                        time.sleep(ahead)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


@unittest.skipUnless(sshd_fixture.available() and have_gpg(),
                     "sshd, ssh-keygen or gpg not installed")
class DeliveryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Short: rosterd's GnuPG home (DATA/gnupg) must fit a socket path.
        cls.tmp = tempfile.mkdtemp(prefix="rdd-", dir="/tmp")
        cls.sshd = sshd_fixture.SshdFixture().start()
        cls.down = Relay(cls.sshd.port)              # started by a test
        cls.cut = Relay(cls.sshd.port).start()
        cls.slow = Relay(cls.sshd.port).start()
        cls.root = cls.sshd.root
        for d in ("enc", "wrongfp", "nofp", "down", "cut", "crash", "kill",
                  "ret", "big", "out", "taken", "ret2", "out2"):
            os.makedirs(os.path.join(cls.root, d), exist_ok=True)
        cls.vhome = os.path.join(cls.tmp, "vendor")
        os.mkdir(cls.vhome, 0o700)
        cls.gpg(["--batch", "--pinentry-mode", "loopback", "--passphrase",
                 "", "--quick-gen-key", "Vendor <v@example.com>",
                 "future-default", "default", "never"])
        cls.vendor_key = os.path.join(cls.tmp, "vendor.asc")
        with open(cls.vendor_key, "wb") as f:
            f.write(cls.gpg(["--armor", "--export"]).stdout)
        out = cls.gpg(["--with-colons", "--list-keys"]).stdout.decode()
        cls.vfpr = [l.split(":")[9] for l in out.splitlines()
                    if l.startswith("fpr:")][0]
        cls.db = os.path.join(cls.tmp, "r.db")
        cls.outbox = os.path.join(cls.tmp, "outbox")
        os.mkdir(cls.outbox, 0o700)
        cls.config = os.path.join(cls.tmp, "rosterd.yaml")
        with open(cls.config, "w") as f:
            f.write(cls.config_text())
        harness.cli(cls.db, "tenant", "create", "acme")
        hr = os.path.join(cls.tmp, "hr.csv")
        with open(hr, "w") as f:
            f.write("employee_id,email,first_name,last_name\n")
            for i in range(PEOPLE):
                f.write("E%06d,p%06d@example.com,Zoë,O'Brien-%d\n" % (i, i, i))
        harness.cli(cls.db, "import", "hris", hr, "--tenant", "acme",
                    "--mapping", "hr", "--config", cls.config, timeout=120)

    @classmethod
    def tearDownClass(cls):
        subprocess.run(["gpgconf", "--homedir", cls.vhome, "--kill", "all"],
                       capture_output=True)
        subprocess.run(["gpgconf", "--homedir",
                        os.path.join(cls.tmp, "gnupg"), "--kill", "all"],
                       capture_output=True)
        for r in (cls.down, cls.cut, cls.slow):
            r.stop()
        cls.sshd.stop()
        if not os.environ.get("ROSTERD_TEST_KEEP"):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    # -- helpers -----------------------------------------------------------

    @classmethod
    def gpg(cls, args, check=True):
        return subprocess.run(["gpg", "--homedir", cls.vhome] + args,
                              capture_output=True, check=check, timeout=60)

    @classmethod
    def entry(cls, feed, port=None, pgp=True, fingerprint=None, extra="",
              retries=8):
        s = cls.sshd
        lines = [
            "  %s:" % feed,
            "    destination: 'sftp://%s@127.0.0.1:%d%s/%s'"
            % (s.user, port or s.port, s.root, feed.split("-")[1]),
            "    ssh_key: %s" % s.key_path,
        ]
        if fingerprint != "":
            lines.append("    host_key_sha256: 'SHA256:%s'"
                         % (fingerprint or s.fingerprint))
        if pgp:
            lines.append("    pgp: {recipient_key: %s, fingerprint: '%s', "
                         "sign: true}" % (cls.vendor_key, cls.vfpr))
        lines.append("    retries: {max: %d, base_ms: 200, cap_ms: 800}"
                     % retries)
        lines.append("    timeouts: {connect_ms: 5000, stall_s: 10}")
        return "\n".join(lines) + "\n" + extra

    @classmethod
    def config_text(cls, nofp=False):
        feeds = ["e2e-enc", "e2e-wrongfp", "e2e-nofp", "e2e-down", "e2e-cut",
                 "e2e-crash", "e2e-kill", "e2e-ret", "e2e-big", "e2e-taken",
                 "e2e-ret2"]
        text = "server:\n  outbox: %s\n" % cls.outbox + MAPPING + "feeds:\n"
        for f in feeds:
            text += FEED.format(name=f)
        other = sshd_fixture.fingerprint_of(cls.sshd.other_key_path + ".pub")
        text += "delivery:\n"
        text += cls.entry("e2e-enc")
        text += cls.entry("e2e-wrongfp", fingerprint=other)
        if nofp:
            text += cls.entry("e2e-nofp", fingerprint="")
        # Enough retries that jitter never spends them while it is down.
        text += cls.entry("e2e-down", port=cls.down.port, pgp=False,
                          retries=40)
        text += cls.entry("e2e-cut", port=cls.cut.port, pgp=False)
        text += cls.entry("e2e-crash")
        text += cls.entry("e2e-kill", port=cls.slow.port, pgp=False)
        text += cls.entry(
            "e2e-ret", extra="    returns: {dir: %s/out, pattern: "
            "'*.ack.csv*', key_column: Member ID, status_column: Status, "
            "message_column: Message, accepted: [A, ACCEPTED]}\n" % cls.root)
        text += cls.entry("e2e-big")
        text += cls.entry("e2e-taken")
        text += cls.entry(
            "e2e-ret2", pgp=False, extra="    returns: {dir: %s/out2, "
            "pattern: '*.csv', key_column: Member ID, status_column: "
            "Status, message_column: Message}\n" % cls.root)
        return text

    def rosterd(self, *args, env=None, check=None, timeout=TIMEOUT):
        e = dict(os.environ)
        e.pop("ROSTERD_TEST_CRASH_AT", None)
        e.update(env or {})
        argv = [harness.BIN] + list(args) + ["--config", self.config,
                                             "--db", self.db]
        p = subprocess.run(argv, capture_output=True, text=True, env=e,
                           timeout=timeout)
        if check is not None:
            self.assertEqual(p.returncode, check,
                             "%s\nstdout: %s\nstderr: %s\nsshd: %s"
                             % (" ".join(argv), p.stdout, p.stderr,
                                self.sshd.log()[-2000:]))
        return p

    def render(self, feed):
        p = self.rosterd("feed", "render", feed, check=0)
        run = p.stdout.split()[1]
        self.assertTrue(run.startswith("run_"), p.stdout)
        st = self.status(feed, run)
        self.assertIsNone(st)
        name = [l for l in p.stdout.splitlines()
                if l.strip().startswith("file ")][0].split()[1]
        with open(name, "rb") as f:
            return run, name, f.read()

    def status(self, feed, run):
        p = self.rosterd("deliver", "status", feed, "--json", check=0)
        for d in json.loads(p.stdout):
            if d["run"] == run:
                return d
        return None

    def remote(self, feed):
        d = os.path.join(self.root, feed.split("-")[1])
        return sorted(os.listdir(d)), d

    def decrypt(self, path):
        """The vendor's gpg decrypts and checks rosterd's signature."""
        self.export_rosterd_key()
        p = self.gpg(["--batch", "--decrypt", path], check=False)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        return p.stdout, p.stderr.decode()

    def export_rosterd_key(self):
        """The vendor gets rosterd's public key (signatures, returns)."""
        home = os.path.join(self.tmp, "gnupg")
        pub = subprocess.run(["gpg", "--homedir", home, "--armor",
                              "--export", "rosterd"], capture_output=True,
                             check=True).stdout
        self.assertIn(b"BEGIN PGP PUBLIC KEY BLOCK", pub)
        subprocess.run(["gpg", "--homedir", self.vhome, "--batch",
                        "--import"], input=pub, capture_output=True,
                       check=True)

    # -- tests -------------------------------------------------------------

    def test_delivered_file_decrypts_to_rendered_bytes(self):
        run, plain, data = self.render("e2e-enc")
        p = self.rosterd("deliver", run, check=0)
        self.assertIn("delivered", p.stdout)
        names, d = self.remote("e2e-enc")
        self.assertEqual(names, [os.path.basename(plain) + ".pgp"])
        path = os.path.join(d, names[0])
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        out, err = self.decrypt(path)
        self.assertEqual(out, data)
        self.assertIn('Good signature from "rosterd"', err)
        self.assertFalse(os.path.exists(plain), "plaintext left behind")
        st = self.status("e2e-enc", run)
        self.assertEqual(st["state"], "delivered")
        with open(path, "rb") as f:
            self.assertEqual(st["sha256"],
                             hashlib.sha256(f.read()).hexdigest())
        show = self.rosterd("feed", "show", run, check=0).stdout
        for state in ("encrypted", "uploading", "delivered"):
            self.assertIn(state, show)

    def test_wrong_host_fingerprint_refused(self):
        run, plain, _ = self.render("e2e-wrongfp")
        p = self.rosterd("deliver", run, check=1)
        self.assertIn("mismatch sha256 fingerprint", p.stderr)
        self.assertIn("update host_key_sha256", p.stderr)
        self.assertEqual(self.remote("e2e-wrongfp")[0], [])
        st = self.status("e2e-wrongfp", run)
        self.assertEqual(st["state"], "failed")
        self.assertEqual(st["attempts"], 1)  # not retried

    def test_missing_host_fingerprint_refused(self):
        cfg = os.path.join(self.tmp, "nofp.yaml")
        with open(cfg, "w") as f:
            f.write(self.config_text(nofp=True))
        run, plain, _ = self.render("e2e-nofp")
        p = subprocess.run([harness.BIN, "deliver", run, "--config", cfg,
                            "--db", self.db], capture_output=True,
                           text=True, timeout=TIMEOUT)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("delivery.e2e-nofp.host_key_sha256: required for an "
                      "sftp:// destination", p.stderr)
        self.assertEqual(self.remote("e2e-nofp")[0], [])
        self.assertIsNone(self.status("e2e-nofp", run))

    def test_server_down_then_up(self):
        run, plain, data = self.render("e2e-down")
        e = dict(os.environ)
        proc = subprocess.Popen([harness.BIN, "deliver", run, "--config",
                                 self.config, "--db", self.db],
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=e)
        try:
            time.sleep(1.5)  # refused meanwhile: retried with backoff
            self.down.start()
            out, err = proc.communicate(timeout=TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
        self.assertEqual(proc.returncode, 0, err)
        self.assertIn("Couldn't connect", err)
        self.assertIn("trying again in", err)
        names, d = self.remote("e2e-down")
        self.assertEqual(names, [os.path.basename(plain)])
        with open(os.path.join(d, names[0]), "rb") as f:
            self.assertEqual(f.read(), data)
        st = self.status("e2e-down", run)
        self.assertEqual(st["state"], "delivered")
        self.assertGreaterEqual(st["attempts"], 2)
        outcomes = [a["outcome"] for a in st["attempt_log"]]
        self.assertEqual(outcomes[-1], "sent")
        self.assertEqual(set(outcomes[:-1]), {"retry"})

    def test_connection_cut_mid_upload(self):
        run, plain, data = self.render("e2e-cut")
        self.assertGreater(len(data), 400000)
        self.cut.cut_after = 150000  # well past the SSH handshake
        self.cut.cuts = 1
        p = self.rosterd("deliver", run, "--once", check=75)
        self.assertEqual(self.cut.dropped, 1)
        self.assertIn("retry in", p.stderr)
        names, d = self.remote("e2e-cut")
        self.assertNotIn(os.path.basename(plain), names)
        self.assertEqual([n for n in names if not n.startswith(".")], [])
        st = self.status("e2e-cut", run)
        self.assertEqual(st["state"], "uploading")
        self.assertIsNotNone(st["last_error"])
        self.rosterd("deliver", run, check=0)
        names, d = self.remote("e2e-cut")
        self.assertEqual(names, [os.path.basename(plain)])
        with open(os.path.join(d, names[0]), "rb") as f:
            self.assertEqual(f.read(), data)
        # `feed show` carries the attempts and the error of the cut one.
        show = self.rosterd("feed", "show", run, check=0).stdout
        self.assertIn("delivery delivered, 2 attempts", show)
        self.assertRegex(show, r"attempt 1 .* retry: ")
        self.assertRegex(show, r"attempt 2 .* sent")
        js = json.loads(self.rosterd("feed", "show", run, "--json",
                                     check=0).stdout)
        self.assertEqual(js["delivery"]["state"], "delivered")
        self.assertEqual(len(js["delivery"]["attempt_log"]), 2)

    def test_killed_at_each_state_then_restarted(self):
        for point, state in (("rendered", "rendered"),
                             ("encrypted", "encrypted"),
                             ("uploading", "uploading"),
                             ("after_rename", "uploading")):
            with self.subTest(point=point):
                run, plain, data = self.render("e2e-crash")
                name = os.path.basename(plain) + ".pgp"
                p = self.rosterd("deliver", run, check=137,
                                 env={"ROSTERD_TEST_CRASH_AT": point})
                self.assertIn("ROSTERD_TEST_CRASH_AT=%s" % point, p.stderr)
                self.assertEqual(self.status("e2e-crash", run)["state"],
                                 state)
                names, d = self.remote("e2e-crash")
                self.assertEqual(name in names, point == "after_rename")
                self.rosterd("deliver", run, check=0)
                names, d = self.remote("e2e-crash")
                self.assertEqual(names.count(name), 1)
                self.assertEqual([n for n in names if n.startswith(".")], [])
                out, _ = self.decrypt(os.path.join(d, name))
                self.assertEqual(out, data)
                st = self.status("e2e-crash", run)
                self.assertEqual(st["state"], "delivered")
                outcomes = [a["outcome"] for a in st["attempt_log"]]
                self.assertEqual(outcomes,
                                 ["interrupted", "found"]
                                 if point == "after_rename" else ["sent"])
                # A third run changes nothing.
                self.rosterd("deliver", run, check=0)
                self.assertEqual(self.remote("e2e-crash")[0].count(name), 1)
        # Every run of the feed: one file each, nothing else.
        names, _ = self.remote("e2e-crash")
        self.assertEqual(len(names), 4)

    def test_killed_after_rename_and_taken_is_not_resent(self):
        """Killed between the rename and the commit, and the vendor's
        pickup job moved the file away before rosterd came back: the
        server no longer shows it, and it must not be sent again."""
        run, plain, _ = self.render("e2e-taken")
        name = os.path.basename(plain) + ".pgp"
        self.rosterd("deliver", run, check=137,
                     env={"ROSTERD_TEST_CRASH_AT": "after_rename"})
        names, d = self.remote("e2e-taken")
        self.assertEqual(names, [name])
        os.rename(os.path.join(d, name), os.path.join(self.root, name))
        self.rosterd("deliver", run, check=0)
        self.assertEqual(self.remote("e2e-taken")[0], [])
        st = self.status("e2e-taken", run)
        self.assertEqual(st["state"], "delivered")
        self.assertEqual([a["outcome"] for a in st["attempt_log"]],
                         ["interrupted", "found"])
        os.unlink(os.path.join(self.root, name))

    def test_killed_with_the_file_staged_renames_it(self):
        """Killed after the upload, before the rename: the staged file is
        renamed into place, not uploaded a second time."""
        run, plain, data = self.render("e2e-taken")
        name = os.path.basename(plain) + ".pgp"
        self.rosterd("deliver", run, check=137,
                     env={"ROSTERD_TEST_CRASH_AT": "uploaded"})
        names, d = self.remote("e2e-taken")
        self.assertEqual(len(names), 1)
        self.assertTrue(names[0].startswith("." + name + "."), names)
        staged = os.stat(os.path.join(d, names[0]))
        self.rosterd("deliver", run, check=0)
        self.assertEqual(self.remote("e2e-taken")[0], [name])
        # The same inode: renamed, not written again.
        self.assertEqual(os.stat(os.path.join(d, name)).st_ino,
                         staged.st_ino)
        out, _ = self.decrypt(os.path.join(d, name))
        self.assertEqual(out, data)
        st = self.status("e2e-taken", run)
        self.assertEqual([a["outcome"] for a in st["attempt_log"]],
                         ["interrupted", "sent"])
        os.unlink(os.path.join(d, name))

    def test_sigkill_mid_upload_then_restarted(self):
        run, plain, data = self.render("e2e-kill")
        name = os.path.basename(plain)
        self.slow.rate = 100000  # bytes/s: the upload takes seconds
        proc = subprocess.Popen([harness.BIN, "deliver", run, "--config",
                                 self.config, "--db", self.db],
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        d = self.remote("e2e-kill")[1]
        try:
            deadline = time.monotonic() + 30
            part = None
            while part is None and time.monotonic() < deadline:
                parts = [n for n in os.listdir(d) if n.endswith(".part")]
                if parts and os.path.getsize(os.path.join(d, parts[0])):
                    part = parts[0]
                time.sleep(0.05)
            self.assertIsNotNone(part, "the upload never started")
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stdout.close()
            proc.stderr.close()
        self.assertEqual(proc.returncode, -signal.SIGKILL)
        self.slow.rate = None
        self.assertNotIn(name, os.listdir(d))
        self.assertEqual(self.status("e2e-kill", run)["state"], "uploading")
        self.rosterd("deliver", run, check=0)
        names = sorted(os.listdir(d))
        self.assertEqual(names, [name])  # and the leftover .part is gone
        with open(os.path.join(d, name), "rb") as f:
            self.assertEqual(f.read(), data)
        outcomes = [a["outcome"] for a in
                    self.status("e2e-kill", run)["attempt_log"]]
        self.assertEqual(outcomes, ["interrupted", "sent"])

    def test_return_file_attaches_to_its_run(self):
        older, _, _ = self.render("e2e-ret")
        self.rosterd("deliver", older, check=0)
        run, plain, data = self.render("e2e-ret")
        self.rosterd("deliver", run, check=0)
        self.export_rosterd_key()
        base = os.path.basename(plain)[:-len(".csv")]
        ack = os.path.join(self.tmp, "ack.csv")
        with open(ack, "w") as f:
            f.write("Member ID,Status,Message\r\n"
                    "E000001,ACCEPTED,\r\n"
                    "E000002,R,\"Invalid date of birth, 02/30/1990\"\r\n"
                    "E000003,A,ok\r\n")
        # The vendor signs and encrypts it to rosterd's key.
        target = os.path.join(self.root, "out", base + ".ack.csv.pgp")
        self.gpg(["--batch", "--trust-model", "always", "-r", "rosterd",
                  "--sign", "--encrypt", "-o", target, ack])
        p = self.rosterd("returns", "fetch", "e2e-ret", check=0)
        self.assertIn("%s.ack.csv.pgp: run %s, 3 records (2 accepted, 1 "
                      "rejected)" % (base, run), p.stdout)
        self.assertIn("1 new return file", p.stdout)
        p = self.rosterd("returns", "fetch", "e2e-ret", check=0)
        self.assertIn("0 new return files", p.stdout)
        st = self.status("e2e-ret", run)
        self.assertEqual(st["state"], "acknowledged")
        self.assertEqual(len(st["returns"]), 1)
        self.assertEqual(st["returns"][0]["rejected"], 1)
        self.assertEqual(self.status("e2e-ret", older)["state"], "delivered")
        db = sqlite3.connect(self.db)
        try:
            rows = db.execute(
                "SELECT key, status, message, accepted FROM return_records "
                "WHERE run_id = ? ORDER BY row", (run,)).fetchall()
            signer = db.execute("SELECT signer FROM return_files WHERE "
                                "run_id = ?", (run,)).fetchone()[0]
        finally:
            db.close()
        self.assertEqual(rows, [
            ("E000001", "ACCEPTED", None, 1),
            ("E000002", "R", "Invalid date of birth, 02/30/1990", 0),
            ("E000003", "A", "ok", 1)])
        # Signed by the vendor, whose key rosterd holds (it encrypts to it).
        self.assertEqual(signer, self.vfpr)
        archive = os.path.join(self.tmp, "returns", "e2e-ret",
                               base + ".ack.csv.pgp")
        self.assertEqual(os.stat(archive).st_mode & 0o777, 0o600)
        self.assertEqual(os.listdir(os.path.dirname(archive)),
                         [base + ".ack.csv.pgp"])

    def test_return_file_rewritten_under_the_same_name(self):
        """A vendor that overwrites eligibility_results.csv every day."""
        name = "eligibility_results.csv"
        target = os.path.join(self.root, "out2", name)
        first = ("Member ID,Status,Message\r\n"
                 "E000001,A,\r\n"
                 "E000002,R,bad date of birth\r\n")
        second = ("Member ID,Status,Message\r\n"
                  "E000003,R,\"Invalid plan code, 9Z\"\r\n")
        run1, _, _ = self.render("e2e-ret2")
        self.rosterd("deliver", run1, check=0)
        with open(target, "w", newline="") as f:
            f.write(first)
        p = self.rosterd("returns", "fetch", "e2e-ret2", check=0)
        self.assertIn("%s: run %s, 2 records (1 accepted, 1 rejected)"
                      % (name, run1), p.stdout)
        self.assertIn("1 new return file", p.stdout)
        p = self.rosterd("returns", "fetch", "e2e-ret2", check=0)
        self.assertIn("0 new return files", p.stdout)

        # The next day's run, and the vendor writes the same name again.
        run2, _, _ = self.render("e2e-ret2")
        self.rosterd("deliver", run2, check=0)
        with open(target, "w", newline="") as f:
            f.write(second)
        p = self.rosterd("returns", "fetch", "e2e-ret2", check=0)
        self.assertIn("%s (version 2: changed on the server since version "
                      "1): run %s, 1 records (0 accepted, 1 rejected)"
                      % (name, run2), p.stdout)
        self.assertIn("1 new return file", p.stdout)
        self.assertIn("version 2: changed on the server since version 1",
                      p.stderr)
        p = self.rosterd("returns", "fetch", "e2e-ret2", check=0)
        self.assertIn("0 new return files", p.stdout)

        st = self.status("e2e-ret2", run2)
        self.assertEqual(st["state"], "acknowledged")
        self.assertEqual([(r["name"], r["version"], r["rejected"])
                          for r in st["returns"]], [(name, 2, 1)])
        self.assertEqual([(r["name"], r["version"]) for r in
                          self.status("e2e-ret2", run1)["returns"]],
                         [(name, 1)])
        # Each version archived on its own; the first is never replaced.
        base = os.path.join(self.tmp, "returns", "e2e-ret2")
        self.assertEqual(st["returns"][0]["archive"],
                         os.path.join(base, ".v2", name))
        with open(os.path.join(base, name), newline="") as f:
            self.assertEqual(f.read(), first)
        with open(os.path.join(base, ".v2", name), newline="") as f:
            self.assertEqual(f.read(), second)
        self.assertEqual(sorted(os.listdir(base)), [".v2", name])
        db = sqlite3.connect(self.db)
        try:
            rows = db.execute(
                "SELECT key, status, message FROM return_records WHERE "
                "run_id = ? ORDER BY row", (run2,)).fetchall()
        finally:
            db.close()
        self.assertEqual(rows, [("E000003", "R", "Invalid plan code, 9Z")])

    @unittest.skipUnless(os.environ.get("ROSTERD_TEST_DELIVERY_BIG_MB"),
                         "set ROSTERD_TEST_DELIVERY_BIG_MB=100 to time it")
    def test_big_delivery_timing(self):
        mb = int(os.environ["ROSTERD_TEST_DELIVERY_BIG_MB"])
        run, plain, data = self.render("e2e-big")
        # Replace the rendered file with one of the size asked for, and
        # tell the run (the check before encrypting compares the hash).
        row = (b"E%07d,Zo\xc3\xab,O'Brien-%d,person.%07d@example.com\r\n")
        with open(plain, "wb") as f:
            n = i = 0
            while n < mb * 1000000:
                line = row % (i, i, i)
                f.write(line)
                n += len(line)
                i += 1
        with open(plain, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        db = sqlite3.connect(self.db)
        db.execute("UPDATE feed_runs SET file_size = ?, file_sha256 = ? "
                   "WHERE id = ?", (n, digest, run))
        db.commit()
        db.close()
        t0 = time.monotonic()
        self.rosterd("deliver", run, check=0, timeout=600)
        elapsed = time.monotonic() - t0
        st = self.status("e2e-big", run)
        print("\ndeliver %d MB (%d rows): %.2f s, encrypted %d bytes"
              % (n // 1000000, i, elapsed, st["size"]))
