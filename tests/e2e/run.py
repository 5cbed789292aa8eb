#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Run the end-to-end suite: every tests/e2e/test_*.py, with unittest.

Environment: ROSTERD_BIN, the rosterd binary to test (default
<repo>/build/rosterd). Extra arguments are test name patterns (unittest -k),
e.g. `run.py -k Okta`. Exits 0 only if every test passed.

Tests named test_N_... build on the state their class's earlier numbered
tests left; selecting one by pattern runs those before it as well.
"""

import fnmatch
import os
import re
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402


def flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from flatten(t)
        else:
            yield t


STEP = re.compile(r"test_(\d+)_")


def select(suite, patterns):
    """The tests matching a pattern (as unittest -k matches them), each
    with the numbered steps of its class that come before it."""
    tests = list(flatten(suite))
    want = set()
    for t in tests:
        if any(fnmatch.fnmatchcase(t.id(), "*%s*" % p) for p in patterns):
            want.add(t.id())
    upto = {}
    for t in tests:
        m = STEP.match(t._testMethodName)
        if t.id() in want and m:
            key = type(t)
            upto[key] = max(upto.get(key, 0), int(m.group(1)))
    out = unittest.TestSuite()
    for t in tests:
        m = STEP.match(t._testMethodName)
        if t.id() in want or (m and int(m.group(1)) <= upto.get(type(t), 0)):
            out.addTest(t)
    return out


def main(argv):
    if not os.access(harness.BIN, os.X_OK):
        sys.stderr.write("run.py: ROSTERD_BIN %s is not an executable; build "
                         "rosterd first or set ROSTERD_BIN\n" % harness.BIN)
        return 2
    patterns = []
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "-k" and args:
            patterns.append(args.pop(0))
        elif a.startswith("-k") and len(a) > 2:
            patterns.append(a[2:])
        else:
            sys.stderr.write("usage: run.py [-k PATTERN]...\n")
            return 2
    loader = unittest.TestLoader()
    suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    if patterns:
        suite = select(suite, patterns)
    sys.stderr.write("rosterd e2e: %s\n" % harness.BIN)
    result = unittest.TextTestRunner(verbosity=2, buffer=False).run(suite)
    return 0 if result.wasSuccessful() and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
