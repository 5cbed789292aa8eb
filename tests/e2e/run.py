#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Run the end-to-end suite: every tests/e2e/test_*.py, with unittest.

Environment: ROSTERD_BIN, the rosterd binary to test (default
<repo>/build/rosterd). Extra arguments are test name patterns (unittest -k),
e.g. `run.py -k Okta`. Exits 0 only if every test passed.
"""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402


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
    if patterns:
        loader.testNamePatterns = ["*%s*" % p for p in patterns]
    suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    sys.stderr.write("rosterd e2e: %s\n" % harness.BIN)
    result = unittest.TextTestRunner(verbosity=2, buffer=False).run(suite)
    return 0 if result.wasSuccessful() and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
