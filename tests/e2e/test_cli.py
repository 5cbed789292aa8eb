# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
"""End-to-end tests of the rosterd command line: help, command lookup,
tenants, tokens (secret handling) and migrate, run against the real binary
named by $ROSTERD_BIN with a private database per test."""

import base64
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import unittest

COMMANDS = [
    "serve",
    "migrate",
    "tenant create",
    "tenant list",
    "token create",
    "token list",
    "token revoke",
    "config check",
    "config show",
    "import hris",
    "feed plan",
    "feed render",
    "feed approve",
    "feed reject",
    "feed discard",
    "feed runs",
    "feed show",
    "deliver",
    "returns fetch",
    "returns show",
    "feed lag",
]
SECRET_RE = re.compile(r"^rstd_[A-Za-z0-9_-]{43}$")
TOKEN_ID_RE = re.compile(r"^rosterd: created token (tok_\S+) for tenant (\S+)$")


REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def rosterd_bin():
    """$ROSTERD_BIN, else build/rosterd, as tests/e2e/harness.py does."""
    path = os.environ.get("ROSTERD_BIN", os.path.join(REPO, "build", "rosterd"))
    if not os.access(path, os.X_OK):
        raise unittest.SkipTest("ROSTERD_BIN=%s is not executable" % path)
    return path


class CliTestCase(unittest.TestCase):
    """Each test runs in its own temporary directory with its own database."""

    @classmethod
    def setUpClass(cls):
        cls.bin = rosterd_bin()

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="rosterd-cli-")
        self.addCleanup(self._tmp.cleanup)
        self.dir = self._tmp.name
        self.db = os.path.join(self.dir, "test.db")
        self.env = {k: v for k, v in os.environ.items() if k != "ROSTERD_DB"}

    def run_cli(self, *args, env=None):
        return subprocess.run(
            [self.bin, *args],
            cwd=self.dir,
            env=env if env is not None else self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def ok(self, *args):
        """Run with --db and require success; return the result."""
        r = self.run_cli(*args, "--db", self.db)
        self.assertEqual(r.returncode, 0, "rosterd %s: %s" % (" ".join(args), r.stderr))
        return r

    def fails(self, code, *args, db=True):
        """Run (with --db unless db is False) and require exit `code`."""
        r = self.run_cli(*args, *(("--db", self.db) if db else ()))
        self.assertEqual(r.returncode, code, "rosterd %s: stdout=%r stderr=%r"
                         % (" ".join(args), r.stdout, r.stderr))
        return r

    def make_tenant(self, name="acme"):
        return self.ok("tenant", "create", name)

    def make_token(self, tenant="acme", scopes="scim", label=None):
        """Create a token; return (secret, token id)."""
        args = ["token", "create", "--tenant", tenant, "--scopes", scopes]
        if label is not None:
            args += ["--name", label]
        r = self.ok(*args)
        lines = r.stdout.split("\n")
        self.assertEqual(len(lines), 2, "stdout must be one line: %r" % r.stdout)
        self.assertEqual(lines[1], "")
        self.assertRegex(lines[0], SECRET_RE)
        m = TOKEN_ID_RE.match(r.stderr.strip())
        self.assertIsNotNone(m, "stderr: %r" % r.stderr)
        self.assertEqual(m.group(2), tenant)
        return lines[0], m.group(1)

    def db_files(self):
        return [p for p in (self.db, self.db + "-wal", self.db + "-shm",
                            self.db + "-journal") if os.path.exists(p)]

    def db_bytes(self):
        data = b""
        for p in self.db_files():
            with open(p, "rb") as f:
                data += f.read()
        return data

    def token_rows(self, *extra):
        return json.loads(self.ok("token", "list", "--json", *extra).stdout)


class TestHelp(CliTestCase):
    def test_top_level_help(self):
        for args in ([], ["--help"], ["-h"], ["help"]):
            with self.subTest(args=args):
                r = self.run_cli(*args)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertTrue(r.stdout.startswith("usage: rosterd"), r.stdout)
                listed = re.findall(r"^  (\S+(?: \S+)?)  +\S", r.stdout, re.M)
                self.assertEqual(listed, COMMANDS)

    def test_every_command_help(self):
        for cmd in COMMANDS:
            for flag in ("--help", "-h"):
                with self.subTest(cmd=cmd, flag=flag):
                    r = self.run_cli(*cmd.split(), flag)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    self.assertEqual(r.stderr, "")
                    first, _, rest = r.stdout.partition("\n")
                    self.assertTrue(first.startswith("usage: rosterd %s" % cmd), first)
                    if not cmd.startswith("config"):  # no database
                        self.assertIn("--db", r.stdout)
                    self.assertGreater(len(rest.strip()), 20, "no help text")

    def test_help_among_options(self):
        r = self.run_cli("token", "create", "--tenant", "x", "-h", "--scopes", "scim")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith("usage: rosterd token create "))
        self.assertEqual(os.listdir(self.dir), [], "help must not open a database")

    def test_help_command(self):
        r = self.run_cli("help", "token", "revoke")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith("usage: rosterd token revoke ID"))

    def test_group_help(self):
        r = self.run_cli("token", "--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("token create", r.stdout)
        self.assertIn("token revoke", r.stdout)
        self.assertNotIn("tenant create", r.stdout)

    def test_version(self):
        r = self.run_cli("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^rosterd \d+\.\d+\.\d+\S*\n$")


class TestLookup(CliTestCase):
    def test_unknown_command(self):
        r = self.run_cli("frobnicate")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr, 'rosterd: unknown command "frobnicate"\n')
        self.assertEqual(r.stdout, "")

    def test_unknown_subcommand(self):
        r = self.run_cli("token", "frob")
        self.assertEqual(r.returncode, 2)
        self.assertIn('unknown command "token frob"', r.stderr)

    def test_ambiguous_command(self):
        r = self.run_cli("t")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr, 'rosterd: ambiguous command "t", could be: tenant, token\n')
        self.assertEqual(r.stdout, "")

    def test_unique_prefixes(self):
        r = self.run_cli("tok", "cr", "--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith("usage: rosterd token create "))
        r = self.run_cli("mi", "--db", self.db)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^schema version \d+\n$")

    def test_group_without_command(self):
        r = self.run_cli("tenant")
        self.assertEqual(r.returncode, 2)
        self.assertTrue(r.stderr.startswith("rosterd: "), r.stderr)
        self.assertIn("create", r.stderr)

    def test_unknown_option(self):
        self.fails(2, "--frob", db=False)
        r = self.fails(2, "tenant", "list", "--frob")
        self.assertIn("--frob", r.stderr)
        self.assertIn("usage: rosterd tenant list", r.stderr)

    def test_missing_option_value(self):
        r = self.run_cli("tenant", "list", "--db")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--db", r.stderr)

    def test_every_command_names_a_bad_option(self):
        """One prefixed line naming the option, then the usage; exit 2."""
        for cmd in COMMANDS:
            with self.subTest(cmd=cmd):
                r = self.run_cli(*cmd.split(), "--frob")
                self.assertEqual(r.returncode, 2, r.stderr)
                lines = r.stderr.splitlines()
                self.assertEqual(lines[0], "rosterd: %s: unknown option --frob" % cmd)
                self.assertTrue(lines[1].startswith("usage: rosterd %s" % cmd), lines)
                self.assertEqual(len(lines), 2, r.stderr)


class TestTenant(CliTestCase):
    def test_create_and_list(self):
        r = self.make_tenant("acme")
        self.assertRegex(r.stdout, r"^tenant acme created \(id \d+\)\n$")
        self.make_tenant("beta.example")
        r = self.ok("tenant", "list")
        self.assertIn("acme", r.stdout)
        self.assertIn("beta.example", r.stdout)
        rows = json.loads(self.ok("tenant", "list", "--json").stdout)
        self.assertEqual([t["name"] for t in rows], ["acme", "beta.example"])
        self.assertEqual(len({t["id"] for t in rows}), 2)

    def test_database_file_alone_is_complete(self):
        # Taken while no rosterd runs, the database file alone is a whole
        # copy; and put back over a newer database, it is that copy again:
        # no WAL file is left behind whose frames would be replayed onto
        # it (a kept WAL did exactly that, and was reverted).
        self.make_tenant("acme")
        backup = os.path.join(self.dir, "backup.db")
        shutil.copy(self.db, backup)
        self.make_tenant("beta")
        self.make_tenant("gamma")
        self.assertFalse(os.path.exists(self.db + "-wal"))
        shutil.copy(backup, self.db)
        rows = json.loads(self.ok("tenant", "list", "--json").stdout)
        self.assertEqual([t["name"] for t in rows], ["acme"])

    def test_duplicate(self):
        self.make_tenant("acme")
        r = self.fails(1, "tenant", "create", "acme")
        self.assertEqual(r.stdout, "")
        self.assertTrue(r.stderr.startswith("rosterd: "), r.stderr)
        self.assertIn("acme", r.stderr)
        self.assertIn("already exists", r.stderr)
        rows = json.loads(self.ok("tenant", "list", "--json").stdout)
        self.assertEqual(len(rows), 1)

    def test_rate_limits(self):
        self.ok("tenant", "create", "acme", "--rate", "50", "--burst", "100")
        rows = json.loads(self.ok("tenant", "list", "--json").stdout)
        self.assertEqual((rows[0]["rate_rps"], rows[0]["rate_burst"]), (50, 100))
        self.fails(2, "tenant", "create", "beta", "--rate", "fast")
        self.fails(2, "tenant", "create", "beta", "--burst", "-1")

    def test_bad_names(self):
        for name in ("", "a b", "-x", "x" * 65, "caf\u00e9", "a\x1b[2J"):
            with self.subTest(name=name):
                r = self.run_cli("tenant", "create", "--db", self.db, "--", name)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn("invalid tenant name", r.stderr)
        self.fails(2, "tenant", "create")
        self.assertFalse(os.path.exists(self.db), "usage errors must not touch the database")

    def test_env_database(self):
        env = dict(self.env, ROSTERD_DB=self.db)
        r = self.run_cli("tenant", "create", "acme", env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.exists(self.db))
        self.assertFalse(os.path.exists(os.path.join(self.dir, "rosterd.db")))

    def test_commands_that_read_do_not_make_a_database(self):
        # A mistyped --db used to become a new empty database, and the
        # command then listed nothing or failed on a missing tenant.
        missing = os.path.join(self.dir, "typo.db")
        for args in (("tenant", "list"), ("token", "list"),
                     ("token", "create", "--tenant", "acme", "--scopes",
                      "scim"),
                     ("token", "revoke", "tok_0000000000000000"),
                     ("feed", "runs", "some-feed")):
            with self.subTest(args=args):
                r = self.run_cli(*args, "--db", missing)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertIn("rosterd: %s: no such database (rosterd "
                              "tenant create or rosterd migrate makes one)"
                              % missing, r.stderr)
                self.assertFalse(os.path.exists(missing))
        self.ok("migrate")
        self.assertEqual(self.ok("tenant", "list").stdout.count("\n"), 1)

    def test_default_database(self):
        r = self.run_cli("tenant", "create", "acme")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.exists(os.path.join(self.dir, "rosterd.db")))


class TestToken(CliTestCase):
    def setUp(self):
        super().setUp()
        self.make_tenant("acme")

    def test_label_must_be_utf8(self):
        # Listed as JSON, which holds UTF-8 only: a label in another
        # encoding is refused before anything is stored.
        r = self.run_cli("token", "create", "--tenant", "acme", "--scopes",
                         "scim", "--name", os.fsdecode(b"caf\xe9"), "--db",
                         self.db)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--name is not valid UTF-8", r.stderr)
        self.make_token(label="caf\u00e9")
        rows = json.loads(self.ok("token", "list", "--json").stdout)
        self.assertEqual([t["name"] for t in rows], ["caf\u00e9"])

    def test_create_prints_only_the_secret(self):
        secret, tok = self.make_token(label="okta")
        self.assertTrue(tok.startswith("tok_"))
        other, _ = self.make_token(scopes="scim,admin")
        self.assertNotEqual(secret, other)

    def test_unknown_tenant(self):
        r = self.fails(1, "token", "create", "--tenant", "nope", "--scopes", "scim")
        self.assertEqual(r.stdout, "")
        self.assertIn('"nope"', r.stderr)
        self.assertEqual(self.token_rows(), [])

    def test_bad_scope(self):
        r = self.fails(2, "token", "create", "--tenant", "acme", "--scopes", "scim,bogus")
        self.assertEqual(r.stdout, "")
        self.assertIn("bogus", r.stderr)
        self.fails(2, "token", "create", "--tenant", "acme", "--scopes", "")
        self.assertEqual(self.token_rows(), [])

    def test_required_options(self):
        r = self.fails(2, "token", "create", "--scopes", "scim")
        self.assertIn("--tenant", r.stderr)
        r = self.fails(2, "token", "create", "--tenant", "acme")
        self.assertIn("--scopes", r.stderr)

    def test_list_never_shows_secret(self):
        secret, tok = self.make_token(label="okta")
        body = secret[len("rstd_"):]
        for args in ((), ("--json",), ("--tenant", "acme")):
            with self.subTest(args=args):
                r = self.ok("token", "list", *args)
                self.assertIn(tok, r.stdout)
                self.assertNotIn(body, r.stdout)
                self.assertNotIn(body, r.stderr)
        (row,) = self.token_rows()
        self.assertEqual(row["id"], tok)
        self.assertEqual(row["tenant"], "acme")
        self.assertEqual(row["name"], "okta")
        self.assertEqual(row["scopes"], "scim")
        self.assertIsNone(row["last_used"])
        self.assertFalse(row["revoked"])
        self.assertTrue(row["created"])

    def test_list_by_tenant(self):
        self.make_tenant("beta")
        _, a = self.make_token("acme")
        _, b = self.make_token("beta")
        self.assertEqual([t["id"] for t in self.token_rows("--tenant", "beta")], [b])
        self.assertEqual({t["id"] for t in self.token_rows()}, {a, b})
        self.fails(1, "token", "list", "--tenant", "nope")

    def test_database_private_and_secret_free(self):
        secret, _ = self.make_token()
        files = self.db_files()
        self.assertIn(self.db, files)
        for p in files:
            mode = stat.S_IMODE(os.stat(p).st_mode)
            self.assertEqual(mode, 0o600, "%s has mode %o" % (p, mode))
        data = self.db_bytes()
        raw = base64.urlsafe_b64decode(secret[len("rstd_"):] + "=")
        self.assertNotIn(secret.encode(), data)
        self.assertNotIn(secret[len("rstd_"):].encode(), data)
        self.assertNotIn(raw, data)
        # The hash is what is kept: proves these are the right files.
        self.assertIn(hashlib.sha256(secret.encode()).digest(), data)

    def test_revoke(self):
        _, keep = self.make_token()
        _, tok = self.make_token()
        r = self.ok("token", "revoke", tok)
        self.assertEqual(r.stdout, "token %s revoked\n" % tok)
        rows = {t["id"]: t for t in self.token_rows()}
        self.assertTrue(rows[tok]["revoked"])
        self.assertFalse(rows[keep]["revoked"])
        r = self.fails(1, "token", "revoke", "tok_doesnotexist")
        self.assertIn("tok_doesnotexist", r.stderr)
        self.fails(2, "token", "revoke")


class TestMigrate(CliTestCase):
    def test_migrate(self):
        r = self.ok("migrate")
        m = re.match(r"^schema version (\d+)\n$", r.stdout)
        self.assertIsNotNone(m, r.stdout)
        self.assertGreaterEqual(int(m.group(1)), 1)
        self.assertEqual(stat.S_IMODE(os.stat(self.db).st_mode), 0o600)
        self.assertEqual(self.ok("migrate").stdout, r.stdout)

    def test_unopenable_database(self):
        r = self.run_cli("migrate", "--db", os.path.join(self.dir, "no", "such", "x.db"))
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith("rosterd: "), r.stderr)
        self.assertEqual(r.stdout, "")


if __name__ == "__main__":
    unittest.main()
