# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
"""HTTPS through --tls-cert/--tls-key, and `serve --config` with a YAML
server section (values on the command line win), against the real binary."""

import json
import os
import resource
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
import http.client

import harness


def wait_port(proc, port, log):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("serve exited: %s" % open(log).read())
        try:
            socket.create_connection(("127.0.0.1", port), 0.25).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("serve did not listen: %s" % open(log).read())


class ServeCase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="rosterd-tls-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.db = os.path.join(self.dir, "t.db")
        harness.tenant_create(self.db, "acme")
        self.token, _ = harness.token_create(self.db, "acme")
        self.proc = None

    def serve(self, *args):
        self.port = harness.free_port()
        self.log = os.path.join(self.dir, "serve.log")
        self.proc = subprocess.Popen(
            [harness.BIN, "serve", *args],
            stdout=open(self.log, "ab"), stderr=subprocess.STDOUT,
            cwd=self.dir)
        self.addCleanup(self.stop)
        return self.proc

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.assertEqual(self.proc.wait(5), 0)


def limit_files(soft, hard):
    def pre():
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return pre


class FileLimitTest(ServeCase):
    """Every connection is a descriptor."""

    def serve_limited(self, soft, hard):
        self.port = harness.free_port()
        self.log = os.path.join(self.dir, "serve.log")
        self.proc = subprocess.Popen(
            [harness.BIN, "serve", "--db", self.db, "--listen",
             "127.0.0.1:%d" % self.port],
            stdout=open(self.log, "ab"), stderr=subprocess.STDOUT,
            cwd=self.dir, preexec_fn=limit_files(soft, hard))
        self.addCleanup(self.stop)
        wait_port(self.proc, self.port, self.log)

    def soft_limit(self):
        with open("/proc/%d/limits" % self.proc.pid) as f:
            line = next(l for l in f if l.startswith("Max open files"))
        return int(line.split()[3])

    def test_soft_limit_is_raised_to_the_hard_one(self):
        self.serve_limited(128, 4096)
        self.assertEqual(self.soft_limit(), 4096)

    def test_out_of_descriptors_pauses_accepting_quietly(self):
        # accept() failing with EMFILE leaves the connection queued: the
        # listener used to retry in a busy loop, logging each time
        # (millions of lines a second). Now: one line, a pause, and the
        # server serves again once connections close.
        self.serve_limited(64, 64)
        socks = []
        try:
            for _ in range(120):
                socks.append(socket.create_connection(
                    ("127.0.0.1", self.port), 2))
            time.sleep(1.0)
            with open(self.log) as f:
                lines = f.read().splitlines()
            accept = [l for l in lines if "accept:" in l or "[warn]" in l]
            self.assertGreaterEqual(len(accept), 1, lines)
            self.assertLess(len(accept), 5, accept[:5])
            self.assertIn("Too many open files: pausing new connections",
                          accept[0])
        finally:
            for s in socks:
                s.close()
        deadline = time.monotonic() + 10
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port,
                                               timeout=2)
                c.request("GET", "/scim/v2/ServiceProviderConfig")
                self.assertEqual(c.getresponse().status, 200)
                c.close()
                break
            except (OSError, http.client.HTTPException):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


@unittest.skipUnless(shutil.which("openssl"), "openssl(1) not installed")
class TlsTest(ServeCase):
    def test_https_round_trip(self):
        cert = os.path.join(self.dir, "cert.pem")
        key = os.path.join(self.dir, "key.pem")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-keyout", key, "-out", cert, "-days", "1",
             "-subj", "/CN=localhost",
             "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True)
        port = harness.free_port()
        self.serve("--db", self.db, "--listen", "127.0.0.1:%d" % port,
                   "--tls-cert", cert, "--tls-key", key)
        wait_port(self.proc, port, self.log)
        ctx = ssl.create_default_context(cafile=cert)
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx,
                                           timeout=10)
        body = json.dumps({"schemas": [harness.URN_USER],
                           "userName": "tls-user"})
        conn.request("POST", "/scim/v2/Users", body, {
            "Authorization": "Bearer " + self.token,
            "Content-Type": "application/scim+json"})
        r = conn.getresponse()
        data = json.loads(r.read())
        self.assertEqual(r.status, 201)
        self.assertTrue(data["meta"]["location"].startswith(
            "https://127.0.0.1:%d/scim/v2/Users/" % port), data["meta"])
        self.assertEqual(r.getheader("Location"), data["meta"]["location"])
        conn.close()

        # Plain HTTP on the TLS port gets no SCIM answer.
        plain = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        with self.assertRaises((http.client.HTTPException, OSError)):
            plain.request("GET", "/scim/v2/ServiceProviderConfig")
            resp = plain.getresponse()
            if resp.status == 200:
                self.fail("plain HTTP was served on the TLS port")
            raise http.client.HTTPException("refused")

    def test_missing_key_is_an_error(self):
        p = self.serve("--db", self.db, "--listen", "127.0.0.1:0",
                       "--tls-cert", os.path.join(self.dir, "nope.pem"))
        self.assertEqual(p.wait(10), 1)
        self.proc = None
        self.assertIn("--tls-cert and --tls-key go together",
                      open(self.log).read())


class ConfigTest(ServeCase):
    def write(self, text):
        path = os.path.join(self.dir, "rosterd.yaml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_config_file_sets_server_options(self):
        port = harness.free_port()
        cfg = self.write(
            "server:\n"
            "  listen: 127.0.0.1:%d\n"
            "  db: %s\n"
            "  base_url: https://scim.example.com/scim/v2\n"
            "  log_level: warn\n" % (port, self.db))
        self.serve("--config", cfg)
        wait_port(self.proc, port, self.log)
        r = harness.http_request(port, "POST", "/Users",
                                 {"schemas": [harness.URN_USER],
                                  "userName": "cfg-user"}, token=self.token)
        self.assertEqual(r.status, 201, r.raw)
        self.assertTrue(r.json["meta"]["location"].startswith(
            "https://scim.example.com/scim/v2/Users/"))

    def test_command_line_overrides_file(self):
        port = harness.free_port()
        cfg = self.write("server:\n  listen: 127.0.0.1:1\n")
        self.serve("--config", cfg, "--db", self.db,
                   "--listen", "127.0.0.1:%d" % port)
        wait_port(self.proc, port, self.log)

    def test_bad_config_names_file_line_and_key(self):
        cfg = self.write("server:\n  listen: nowhere\n  bogus: 1\n")
        p = self.serve("--config", cfg, "--db", self.db)
        self.assertEqual(p.wait(10), 1)
        self.proc = None
        log = open(self.log).read()
        self.assertIn("%s:2:11: listen: expected ADDR:PORT" % cfg, log)
        self.assertIn("%s:3:10: bogus: unknown option in section server"
                      % cfg, log)
        r = subprocess.run([harness.BIN, "config", "check", "--config", cfg],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("2 errors", r.stderr)

    def test_listen_address_errors_say_what_is_wrong(self):
        # They once read "cannot listen on X: Success", after a libevent
        # warning of its own.
        for listen, msg in (
                ("999.1.1.1:%d", 'cannot resolve "999.1.1.1": '),
                (":%d", "no address (0.0.0.0:%d listens on every IPv4 "
                        "interface")):
            port = harness.free_port()
            p = self.serve("--db", self.db, "--listen", listen % port)
            self.assertEqual(p.wait(10), 1)
            self.proc = None
            log = open(self.log).read()
            self.assertIn('rosterd: --listen "%s": ' % (listen % port)
                          + (msg % port if "%d" in msg else msg), log)
            self.assertNotIn("Success", log)
            self.assertNotIn("[warn]", log)
            os.unlink(self.log)

    def test_port_out_of_range_is_a_config_error(self):
        for port in ("65536", "99999", "123456"):
            cfg = self.write("server:\n  listen: 127.0.0.1:%s\n" % port)
            r = subprocess.run([harness.BIN, "config", "check", "--config",
                                cfg], capture_output=True, text=True)
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertIn("%s:2:11: listen: the port must be 0 to 65535"
                          % cfg, r.stderr)
        cfg = self.write("server:\n  listen: 127.0.0.1:65535\n")
        r = subprocess.run([harness.BIN, "config", "check", "--config", cfg],
                           capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stdout), (0, "%s: ok\n" % cfg))


ANCHORED = """\
x-columns: &cols
  - {name: member_id, header: Member ID, source: externalId}
  - {name: last_name, header: Last Name, source: %s}
x-spring: &spring
  vendor: Spring Health
  eligibility: 'active eq true'
  mode: full
  format: csv
  columns: *cols
feeds:
  acme-spring:
    <<: *spring
    tenant: acme
    file_name: 'acme_spring_{seq:3}.csv'
  beta-spring:
    <<: *spring
    tenant: acme
    mode: change
    file_name: 'beta_spring_{seq:3}.csv'
"""


class AnchorTest(unittest.TestCase):
    """YAML anchors, aliases and << merge keys in the configuration."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="rosterd-anchor-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.db = os.path.join(self.dir, "t.db")
        harness.tenant_create(self.db, "acme")

    def rosterd(self, text, *args):
        cfg = os.path.join(self.dir, "rosterd.yaml")
        with open(cfg, "w") as f:
            f.write(text)
        return subprocess.run([harness.BIN, *args, "--config", cfg],
                              capture_output=True, text=True, timeout=30)

    def test_merge_keys_and_aliases(self):
        text = ANCHORED % "name.familyName"
        r = self.rosterd(text, "config", "check")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.endswith(": ok\n"), r.stdout)
        r = self.rosterd(text, "feed", "plan", "beta-spring", "--json",
                         "--db", self.db)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["mode"], "change")

    def test_error_in_shared_block_names_its_line(self):
        r = self.rosterd(ANCHORED % "name.nope", "config", "check")
        self.assertEqual(r.returncode, 1)
        for feed in ("acme-spring", "beta-spring"):
            self.assertIn(":3:50: feeds.%s.columns[1].source: invalid path"
                          % feed, r.stderr)

    def test_unknown_alias_is_refused(self):
        r = self.rosterd("feeds:\n  a:\n    <<: *nope\n", "config",
                         "check")
        self.assertEqual(r.returncode, 1)
        self.assertIn("an alias names no anchor, or a << merge key is not "
                      "a mapping", r.stderr)
        r = self.rosterd("y-x: 1\n", "config", "check")
        self.assertIn("y-x: unknown section (known: server, mappings, "
                      "feeds, delivery, or x-NAME for anchors)", r.stderr)


if __name__ == "__main__":
    unittest.main()
