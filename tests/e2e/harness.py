# SPDX-License-Identifier: ISC
"""End-to-end harness: runs the real rosterd binary and talks HTTP to it.

Each test class gets its own temporary directory, SQLite file and daemon on
a free loopback port (setUpClass / tearDownClass). Tenants and tokens are
made with the rosterd CLI exactly as an operator would. Only the Python
standard library is used.
"""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import uuid
from urllib.parse import quote, urlsplit

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("ROSTERD_BIN", os.path.join(REPO, "build", "rosterd"))
BASE = "/scim/v2"

URN_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
URN_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
URN_ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
URN_ELIG = "urn:rosterd:params:scim:schemas:extension:eligibility:1.0:User"
URN_LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
URN_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
URN_PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
URN_SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
URN_BULKREQ = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
URN_BULKRESP = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
URN_SPC = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
URN_RTYPE = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
URN_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"

SCIM_JSON = "application/scim+json"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
# The main test tenants get a bucket far above anything a test sends, so
# SCIM tests never trip over the daemon's default rate limit; the rate-limit
# test makes its own small tenant.
GENEROUS_RATE = ("--rate", "100000", "--burst", "100000")

_DEFAULT = object()


class CliError(AssertionError):
    pass


def cli(db, *args, check=True, timeout=30):
    """Run `rosterd ARGS --db DB`; returns the CompletedProcess."""
    argv = [BIN] + list(args) + ["--db", db]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise CliError(
            "%s exited %d\nstdout: %s\nstderr: %s"
            % (" ".join(argv), proc.returncode, proc.stdout, proc.stderr)
        )
    return proc


def tenant_create(db, name, rate=None, burst=None, generous=False):
    args = ["tenant", "create", name]
    if rate is not None:
        args += ["--rate", str(rate)]
    if burst is not None:
        args += ["--burst", str(burst)]
    if generous and rate is None and burst is None:
        args += list(GENEROUS_RATE)
    return cli(db, *args)


_TOKEN_ID = re.compile(r"\b(tok_[A-Za-z0-9]+)")


def token_create(db, tenant, scopes="scim"):
    """Create a token; returns (secret, token id).

    The secret is the whole of stdout on one line; the id is announced on
    stderr as "created token tok_...".
    """
    proc = cli(db, "token", "create", "--tenant", tenant, "--scopes", scopes)
    lines = proc.stdout.splitlines()
    if len(lines) != 1 or not lines[0].strip() or lines[0] != lines[0].strip():
        raise CliError("token create: stdout must be the secret alone on one "
                       "line, got %r" % proc.stdout)
    m = _TOKEN_ID.search(proc.stderr)
    return lines[0], (m.group(1) if m else None)


def token_revoke(db, token_id):
    return cli(db, "token", "revoke", token_id)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Daemon:
    """One `rosterd serve` process on a loopback port."""

    def __init__(self, workdir, db):
        self.workdir = workdir
        self.db = db
        self.proc = None
        self.port = None
        self.log_path = os.path.join(workdir, "rosterd.log")
        self._log = None

    def start(self):
        self.port = free_port()
        self._log = open(self.log_path, "ab")
        self._log.write(b"\n==== serve on 127.0.0.1:%d ====\n" % self.port)
        self._log.flush()
        self.proc = subprocess.Popen(
            [BIN, "serve", "--db", self.db,
             "--listen", "127.0.0.1:%d" % self.port],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
            cwd=self.workdir)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            rc = self.proc.poll()
            if rc is not None:
                raise AssertionError(
                    "rosterd serve exited with %d before listening\n%s"
                    % (rc, self.log_tail()))
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.25).close()
                return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(
                    "rosterd serve did not accept connections on port %d "
                    "within %.0f s\n%s" % (self.port, START_TIMEOUT,
                                           self.log_tail()))
            time.sleep(0.05)

    def stop(self):
        """SIGTERM; returns the exit status (None if it had to be killed)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        self.proc = None
        self._close_log()
        return rc

    def kill(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None
        self._close_log()

    def _close_log(self):
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines=80):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read().decode("utf-8", "replace")
        except OSError:
            return "(no daemon log)"
        tail = data.splitlines()[-lines:]
        return "---- rosterd log (last %d lines) ----\n%s\n----" % (
            len(tail), "\n".join(tail))


class Response:
    """status, headers (case-insensitive), parsed JSON body or None, raw."""

    def __init__(self, status, headers, body, raw):
        self.status = status
        self.headers = headers
        self.json = body
        self.raw = raw

    def __iter__(self):  # allows: status, headers, body, raw = request(...)
        return iter((self.status, self.headers, self.json, self.raw))

    def header(self, name):
        return self.headers.get(name)

    def __repr__(self):
        raw = self.raw[:600].decode("utf-8", "replace")
        return "<HTTP %d %s>" % (self.status, raw)


def http_request(port, method, path, body=None, token=None, headers=None,
                 base=True, timeout=60):
    """Send one request on a fresh connection and read the whole answer.

    body: dict/list -> JSON with Content-Type application/scim+json (unless
    headers say otherwise); str/bytes -> sent as is.
    """
    hdrs = {"Accept": SCIM_JSON}
    data = None
    if body is not None:
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = SCIM_JSON
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body
    if token is not None:
        hdrs["Authorization"] = "Bearer " + token
    if headers:
        for k, v in headers.items():
            for old in [h for h in hdrs if h.lower() == k.lower()]:
                del hdrs[old]
            if v is not None:
                hdrs[k] = v
    url = (BASE + path) if base else path
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        try:
            conn.request(method, url, body=data, headers=hdrs)
        except (BrokenPipeError, ConnectionResetError):
            # The server may answer (e.g. 413) and close before reading a
            # large body; its answer is still waiting on the socket.
            if conn.sock is None:
                raise
        resp = conn.getresponse()
        raw = resp.read()
        parsed = None
        if raw:
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
        return Response(resp.status, resp.headers, parsed, raw)
    finally:
        conn.close()


def qs(**params):
    """Query string with RFC 3986 percent-encoding (spaces as %20)."""
    parts = []
    for k, v in params.items():
        if v is None:
            continue
        parts.append("%s=%s" % (k, quote(str(v), safe="")))
    return ("?" + "&".join(parts)) if parts else ""


def patch_body(*ops):
    return {"schemas": [URN_PATCH], "Operations": list(ops)}


def tag(prefix="t"):
    """A unique, lower-case, URL-safe marker for one test's data."""
    return "%s%s" % (prefix, uuid.uuid4().hex[:10])


class ScimTestCase(unittest.TestCase):
    """Base class: one daemon per test class, tenants acme and globex."""

    maxDiff = 4000
    daemon = None
    # Extra tenants made before the daemon starts: (name, rate, burst).
    EXTRA_TENANTS = ()

    @classmethod
    def setUpClass(cls):
        if not os.access(BIN, os.X_OK):
            raise AssertionError("ROSTERD_BIN %s is not an executable" % BIN)
        cls._tmp = tempfile.TemporaryDirectory(prefix="rosterd-e2e-")
        cls.workdir = cls._tmp.name
        cls.db = os.path.join(cls.workdir, "rosterd.db")
        cls.failed = False
        cls.crashes = []
        try:
            tenant_create(cls.db, "acme", generous=True)
            cls.token, cls.token_id = token_create(cls.db, "acme", "scim")
            tenant_create(cls.db, "globex", generous=True)
            cls.token_b, cls.token_b_id = token_create(cls.db, "globex", "scim")
            for name, rate, burst in cls.EXTRA_TENANTS:
                tenant_create(cls.db, name, rate=rate, burst=burst)
            cls.daemon = Daemon(cls.workdir, cls.db)
            cls.daemon.start()
        except BaseException:
            if cls.daemon is not None:
                cls.daemon.kill()
            cls._tmp.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        daemon = cls.daemon
        cls.daemon = None
        try:
            if daemon is not None:
                rc = daemon.stop()
                if rc != 0 or cls.failed:
                    sys.stderr.write("\n[%s] daemon log:\n%s\n"
                                     % (cls.__name__, daemon.log_tail(120)))
                if cls.crashes:
                    raise AssertionError(
                        "rosterd died during %s" % "; ".join(
                            "%s (status %s)" % c for c in cls.crashes))
                if rc != 0:
                    raise AssertionError(
                        "rosterd did not exit 0 within %.0f s of SIGTERM "
                        "(status %r)" % (STOP_TIMEOUT, rc))
        finally:
            cls._tmp.cleanup()

    def run(self, result=None):
        # Print the daemon log next to any failing test.
        before = (len(result.failures) + len(result.errors)) if result else 0
        out = super().run(result)
        if result is not None and (len(result.failures)
                                   + len(result.errors)) > before:
            type(self).failed = True
            if self.daemon is not None:
                sys.stderr.write("\n[%s] %s\n" % (self.id(),
                                                  self.daemon.log_tail(40)))
        self._restart_if_dead()
        return out

    def _restart_if_dead(self):
        """A crash fails the test that caused it (and tearDownClass), but
        the rest of the class still runs against a fresh daemon on the same
        database."""
        d = type(self).daemon
        if d is None or d.proc is None or d.proc.poll() is None:
            return
        rc = d.proc.returncode
        type(self).crashes.append((self.id(), rc))
        type(self).failed = True
        sys.stderr.write("\n[%s] rosterd died (status %s)\n%s\n"
                         % (self.id(), rc, d.log_tail(60)))
        d.proc = None
        d._close_log()
        d.start()

    # ---- HTTP -------------------------------------------------------------

    @classmethod
    def creq(cls, method, path, body=None, token=None, **kw):
        """request() for setUpClass fixtures (acme's token by default)."""
        return http_request(cls.daemon.port, method, path, body=body,
                            token=token or cls.token, **kw)

    @classmethod
    def ccreate_user(cls, user_name, **attrs):
        body = {"schemas": [URN_USER] + [k for k in attrs
                                         if k.startswith("urn:")],
                "userName": user_name}
        body.update(attrs)
        resp = cls.creq("POST", "/Users", body)
        if resp.status != 201:
            raise AssertionError("fixture user %s: %r" % (user_name, resp))
        return resp.json

    @property
    def port(self):
        return self.daemon.port

    def request(self, method, path, body=None, token=_DEFAULT, headers=None,
                base=True, timeout=60):
        if token is _DEFAULT:
            token = self.token
        return http_request(self.port, method, path, body=body, token=token,
                            headers=headers, base=base, timeout=timeout)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    # ---- assertions -------------------------------------------------------

    def assertStatus(self, resp, *statuses):
        self.assertIn(resp.status, statuses,
                      "expected HTTP %s, got %r" % (
                          "/".join(map(str, statuses)), resp))

    def assertScimError(self, resp, status, scim_type=None):
        """An RFC 7644 §3.12 error: schema, string status, scimType."""
        self.assertEqual(resp.status, status, "got %r" % (resp,))
        body = resp.json
        self.assertIsInstance(body, dict, "error body is not JSON: %r" % resp)
        self.assertEqual(body.get("schemas"), [URN_ERROR], body)
        self.assertEqual(body.get("status"), str(status),
                         "error 'status' must be the code as a JSON string")
        if scim_type is not None:
            self.assertEqual(body.get("scimType"), scim_type, body)
        ctype = resp.header("Content-Type") or ""
        self.assertTrue(ctype.startswith(SCIM_JSON) or
                        ctype.startswith("application/json"),
                        "error Content-Type %r" % ctype)

    def assertListResponse(self, resp):
        self.assertEqual(resp.status, 200, "got %r" % (resp,))
        body = resp.json
        self.assertIsInstance(body, dict)
        self.assertEqual(body.get("schemas"), [URN_LIST], body)
        self.assertIsInstance(body.get("totalResults"), int, body)
        if body["totalResults"] > 0 and body.get("itemsPerPage", 1) > 0:
            self.assertIsInstance(body.get("Resources"), list, body)
        return body

    # ---- data helpers -----------------------------------------------------

    def create_user(self, user_name, token=_DEFAULT, **attrs):
        body = {"schemas": [URN_USER], "userName": user_name}
        ext = [k for k in attrs if k.startswith("urn:")]
        if ext:
            body["schemas"] = [URN_USER] + ext
        body.update(attrs)
        resp = self.request("POST", "/Users", body, token=token)
        self.assertEqual(resp.status, 201, "create user: %r" % (resp,))
        self.assertIsInstance(resp.json, dict)
        self.assertTrue(resp.json.get("id"))
        return resp.json

    def create_group(self, display_name, members=(), token=_DEFAULT, **attrs):
        body = {"schemas": [URN_GROUP], "displayName": display_name,
                "members": [{"value": m} for m in members]}
        body.update(attrs)
        resp = self.request("POST", "/Groups", body, token=token)
        self.assertEqual(resp.status, 201, "create group: %r" % (resp,))
        return resp.json

    def get_user(self, uid, token=_DEFAULT):
        resp = self.request("GET", "/Users/" + uid, token=token)
        self.assertEqual(resp.status, 200, "get user: %r" % (resp,))
        return resp.json

    def get_group(self, gid, token=_DEFAULT):
        resp = self.request("GET", "/Groups/" + gid, token=token)
        self.assertEqual(resp.status, 200, "get group: %r" % (resp,))
        return resp.json

    def patch(self, rtype, rid, *ops, token=_DEFAULT, headers=None):
        return self.request("PATCH", "/%s/%s" % (rtype, rid),
                            patch_body(*ops), token=token, headers=headers)

    def patch_ok(self, rtype, rid, *ops, headers=None):
        """PATCH that must succeed (RFC 7644 §3.5.2: 200 with the resource
        or 204); returns the resource as stored afterwards."""
        resp = self.patch(rtype, rid, *ops, headers=headers)
        self.assertIn(resp.status, (200, 204), "PATCH: %r" % (resp,))
        if resp.status == 200:
            self.assertEqual(resp.json.get("id"), rid)
        return self.get(("/%s/%s" % (rtype, rid))).json

    def search(self, rtype, filt, **params):
        resp = self.get("/%s%s" % (rtype, qs(filter=filt, **params)))
        return self.assertListResponse(resp)

    def ids(self, rtype, filt, **params):
        body = self.search(rtype, filt, **params)
        return [r["id"] for r in body.get("Resources", [])]

    def member_ids(self, group):
        return sorted(m["value"] for m in group.get("members", []) or [])

    def group_ids_of(self, user):
        return sorted(g["value"] for g in user.get("groups", []) or [])

    def service_provider_config(self):
        resp = self.get("/ServiceProviderConfig")
        self.assertEqual(resp.status, 200, resp)
        return resp.json


def primaries(values):
    return [v for v in values or [] if v.get("primary") is True]


def url_path(url):
    return urlsplit(url).path
