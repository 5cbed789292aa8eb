# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
"""The documentation says what the program does.

- The README's Spring Health walkthrough is run literally: every ```sh
  block of the section, in order, in one shell environment (only
  build/rosterd and /tmp/spring-health are replaced, by the binary under
  test and a temporary directory), and each output block shown after a
  command must appear in what the command printed (lines of "..." are
  elisions, "..." inside a line matches anything, run ids are any run id).
- The options of every command in the README's "Command line" block and
  in the man page's SYNOPSIS are the options its --help lists.
- Every YAML block of docs/configuration.md that is a whole file passes
  `rosterd config check`, and `config check`/`serve` read $ROSTERD_CONFIG
  as the man page says.

Only the Python standard library is used.
"""

import os
import re
import shutil
import stat
import subprocess
import tempfile
import unittest

import harness

REPO = harness.REPO
BIN = harness.BIN

COMMANDS = ["serve", "migrate", "tenant create", "tenant list",
            "token create", "token list", "token revoke", "config check",
            "config show", "import hris", "feed plan", "feed render",
            "feed approve", "feed reject", "feed discard", "feed runs",
            "feed show", "feed lag", "deliver", "returns fetch",
            "returns show"]
OPT = re.compile(r"(?<![\w-])--[a-z][a-z-]*")


def read(rel):
    with open(os.path.join(REPO, rel), encoding="utf-8") as f:
        return f.read()


def section(text, title):
    """The Markdown section under the '## TITLE...' heading."""
    start = text.index("\n## " + title)
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else len(text)]


def blocks(text):
    """[(info string, body)] of the fenced code blocks, in order."""
    return [(m.group(1).strip(), m.group(2)) for m in
            re.finditer(r"^```([^\n]*)\n(.*?)^```\s*$", text, re.M | re.S)]


def help_options(cmd):
    out = subprocess.run([BIN] + cmd.split() + ["--help"],
                         capture_output=True, text=True, check=True).stdout
    return set(OPT.findall(out)) - {"--help"}


def command_of(words):
    """The longest command that WORDS (after 'rosterd') start with."""
    for c in sorted(COMMANDS, key=len, reverse=True):
        if words[:len(c.split())] == c.split():
            return c
    return None


def expect_regex(line):
    """A regex for one expected output line."""
    parts = [re.escape(p) for p in line.split("...")]
    rx = ".*".join(parts)
    rx = re.sub(r"run_[0-9a-f]{16}", "run_[0-9a-f]{16}", rx)
    return re.compile(rx)


class TestReadmeWalkthrough(unittest.TestCase):

    def test_walkthrough(self):
        text = section(read("README.md"), "Walkthrough")
        bl = blocks(text)
        self.assertGreater(len(bl), 10)
        tmp = tempfile.mkdtemp(prefix="rosterd-readme-")
        self.addCleanup(shutil.rmtree, tmp, True)
        out_dir = os.path.join(tmp, "spring-health")
        exports = []
        last = None
        steps = 0
        for info, body in bl:
            if info == "sh":
                script = body.replace("/tmp/spring-health", out_dir)
                script = re.sub(r"(?m)(^|[\s\"'(])build/rosterd\b",
                                lambda m: m.group(1) + BIN, script)
                exports += [ln for ln in script.splitlines()
                            if ln.startswith("export ")]
                env = dict(os.environ)
                env.pop("ROSTERD_CONFIG", None)
                env.pop("ROSTERD_DB", None)
                env.pop("ROSTERD_NOW", None)
                env["USER"] = "readme"
                proc = subprocess.run(
                    ["/bin/sh", "-ec", "\n".join(exports + [script])],
                    cwd=REPO, env=env, capture_output=True, text=True,
                    timeout=120)
                self.assertEqual(proc.returncode, 0,
                                 "README step failed:\n%s\n%s" %
                                 (script, proc.stderr))
                last = (script, proc.stdout)
                steps += 1
            elif info == "":
                self.assertIsNotNone(last, "output block before a command")
                script, out = last
                lines = out.splitlines()
                for want in body.splitlines():
                    if want.strip() in ("", "..."):
                        continue
                    rx = expect_regex(
                        want.replace("/tmp/spring-health", out_dir))
                    self.assertTrue(
                        any(rx.fullmatch(got) for got in lines),
                        "README shows %r after\n%s\nbut it printed:\n%s" %
                        (want, script, out))
        self.assertGreaterEqual(steps, 8)
        # "the file is written, mode 0600"
        for name in ("acme_springhealth_elig_20260302_001.csv",
                     "acme_springhealth_elig_20260309_002.csv"):
            st = os.stat(os.path.join(out_dir, name))
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o600, name)


class TestCommandLineDocs(unittest.TestCase):

    def test_readme_synopsis_matches_help(self):
        text = section(read("README.md"), "Command line")
        synopsis = blocks(text)[0][1]
        # Continuation lines belong to the command above them.
        synopsis = re.sub(r"\n\s+(?=\[|--)", " ", synopsis)
        note = re.search(r"The `feed`, `deliver` and `returns` commands also "
                         r"take `--config FILE` and\s+`--db PATH`", text)
        self.assertIsNotNone(note)
        seen = {}
        for line in synopsis.splitlines():
            for part in line.split(" | "):
                words = part.replace("rosterd ", "", 1).split()
                cmd = command_of(words)
                if words[:2] == ["config", "check|show"]:
                    for c in ("config check", "config show"):
                        seen.setdefault(c, set()).update(OPT.findall(part))
                    continue
                self.assertIsNotNone(cmd, part)
                seen.setdefault(cmd, set()).update(OPT.findall(part))
        self.assertEqual(set(seen), set(COMMANDS))
        for cmd, opts in seen.items():
            have = help_options(cmd)
            self.assertEqual(opts - have, set(),
                             "README lists options %s help does not" % cmd)
            extra = {"--config", "--db"} if cmd.split()[0] in (
                "feed", "deliver", "returns") else set()
            self.assertEqual(have - opts - extra, set(),
                             "README's synopsis of %s lacks options" % cmd)

    def test_man_synopsis_matches_help(self):
        roff = read("man/rosterd.1")
        syn = roff[roff.index(".Sh SYNOPSIS"):roff.index(".Sh DESCRIPTION")]
        seen = {}
        for entry in syn.split(".Nm\n")[1:]:
            m = re.search(r"^\.Cm (.*)$", entry, re.M)
            if m is None:
                continue
            cmd = command_of(m.group(1).split())
            self.assertIsNotNone(cmd, entry)
            opts = {"--" + o for o in re.findall(r"Fl -([a-z][a-z-]*)",
                                                  entry)}
            seen.setdefault(cmd, set()).update(opts)
        self.assertEqual(set(seen), set(COMMANDS))
        for cmd, opts in seen.items():
            self.assertEqual(opts, help_options(cmd),
                             "man page SYNOPSIS vs --help of %s" % cmd)


class TestConfigurationDocs(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="rosterd-docs-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def check(self, path, env=None, *args):
        e = dict(os.environ)
        e.pop("ROSTERD_CONFIG", None)
        e.update(env or {})
        return subprocess.run([BIN, "config", "check"] + list(args),
                              capture_output=True, text=True, env=e,
                              cwd=self.tmp)

    def test_whole_file_examples_check_clean(self):
        n = 0
        for info, body in blocks(read("docs/configuration.md")):
            if info != "yaml" or re.search(r"^\s*\.\.\.\s*$", body, re.M):
                continue  # an excerpt
            path = os.path.join(self.tmp, "c%d.yaml" % n)
            with open(path, "w") as f:
                f.write(body)
            r = self.check(path, None, "--config", path)
            self.assertEqual(r.returncode, 0, body + r.stderr)
            self.assertEqual(r.stdout, "%s: ok\n" % path)
            n += 1
        self.assertGreaterEqual(n, 2)

    def test_config_check_reads_env(self):
        path = os.path.join(self.tmp, "bad.yaml")
        with open(path, "w") as f:
            f.write("server:\n  listen: nowhere\n")
        r = self.check(path, {"ROSTERD_CONFIG": path})
        self.assertEqual(r.returncode, 1)
        self.assertIn("listen", r.stderr)
        r = self.check(path, {"ROSTERD_CONFIG": ""})
        self.assertEqual((r.returncode, r.stdout), (0, "(defaults): ok\n"))


if __name__ == "__main__":
    unittest.main()
