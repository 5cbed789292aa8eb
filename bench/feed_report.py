#!/usr/bin/python3
# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
"""Print bench/feed_bench.sh's table and judge the issue 3 targets.

  feed_report.py RESULTS

RESULTS holds one line per measured command, "LABEL SECONDS PEAK_KIB",
and a few "KEY VALUE" lines (the files written, the row count). Exits 1
when a target is missed or the baseline's full file differs from
rosterd's. Python standard library only.
"""

import filecmp
import os
import sys

MIB = 1024.0


def load(path):
    times, info = {}, {}
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split(" ", 1)
            if len(parts) < 2:
                continue
            key, rest = parts
            fields = rest.split()
            if len(fields) == 2:
                try:
                    times[key] = (float(fields[0]), int(fields[1]) / MIB)
                    continue
                except ValueError:
                    pass
            info[key] = rest
    return times, info


def count_lines(path, prefix):
    n = 0
    with open(path, "rb") as f:
        for line in f:
            if line.startswith(prefix):
                n += 1
    return n


def trace(path):
    """The phases ROSTERD_FEED_TRACE printed: [(name, seconds)]."""
    out = []
    if not os.path.isfile(path):
        return out
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 4 and parts[0] == "feed:" and parts[3] == "s":
                out.append((parts[1], parts[2]))
    return out


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: feed_report.py RESULTS")
    times, info = load(argv[1])

    def t(label):
        """Seconds of a step, approval included when the run was held."""
        s, _ = times[label]
        if label + "-approve" in times:
            s += times[label + "-approve"][0]
        return s

    def rss(label):
        r = times[label][1]
        if label + "-approve" in times:
            r = max(r, times[label + "-approve"][1])
        return r

    rows = int(info.get("rows", "0"))
    sortcomm = times["sort-comm"][0]
    python_s, python_rss = times["python"]
    lean_s, lean_rss = times.get("python-lean", (0.0, 0.0))
    e2e = t("import2") + t("plan") + t("render-csv")
    # `feed render` plans before it writes: the baseline's job is this.
    e2e_render = t("import2") + t("render-csv")
    rosterd_labels = ["import1", "render1-csv", "render1-834", "import2",
                      "plan", "render-csv", "render-834"]
    peak = max(rss(k) for k in rosterd_labels)
    verdicts = []

    def judge(ok):
        verdicts.append(ok)
        return "PASS" if ok else "FAIL"

    out = []
    out.append("%-44s %8s %9s  %-26s %s" % ("step (%s employees)" %
               format(rows, ","), "seconds", "peak RSS", "target",
               "result"))
    out.append("-" * 98)

    def line(name, secs, mib, target="", result=""):
        out.append("%-44s %8.2f %5.0f MiB  %-26s %s" %
                   (name, secs, mib, target, result))

    line("import day 1 (empty tenant, all new)", t("import1"),
         rss("import1"), "< 3 s", judge(t("import1") < 3))
    line("first render bench-csv (held, approved)", t("render1-csv"),
         rss("render1-csv"), "(information)")
    line("first render bench-834 (held, approved)", t("render1-834"),
         rss("render1-834"), "(information)")
    line("import day 2 (1% changed)", t("import2"), rss("import2"),
         "< 3 s", judge(t("import2") < 3))
    line("feed plan bench-csv (1% changed)", t("plan"), rss("plan"),
         "< 1 s", judge(t("plan") < 1))
    line("feed render bench-csv --full (CSV)", t("render-csv"),
         rss("render-csv"), "< 1 s", judge(t("render-csv") < 1))
    line("feed render bench-834 --full (X12 834)", t("render-834"),
         rss("render-834"), "< 2 s", judge(t("render-834") < 2))
    line("rosterd end to end (import 2+plan+CSV)", e2e, max(
        rss("import2"), rss("plan"), rss("render-csv")))
    line("rosterd import 2 + CSV render (it plans)", e2e_render, max(
        rss("import2"), rss("render-csv")))
    line("Python baseline, csv.DictReader", python_s, python_rss)
    if lean_s > 0:
        line("Python baseline, lean (7 columns kept)", lean_s, lean_rss)
    line("sort + comm of the two exports", sortcomm,
         times["sort-comm"][1])
    out.append("-" * 98)
    speed = python_s / e2e if e2e > 0 else float("inf")
    out.append("%-44s %7.1fx %9s  %-26s %s" % (
        "Python baseline / rosterd end to end", speed, "", ">= 10x",
        judge(speed >= 10)))
    out.append("%-44s %7.1fx %9s  %-26s %s" % (
        "Python baseline / (import 2 + CSV render)", python_s / e2e_render
        if e2e_render > 0 else float("inf"), "", "(information)", ""))
    if lean_s > 0:
        out.append("%-44s %7.1fx %9s  %-26s %s" % (
            "lean baseline / rosterd end to end", lean_s / e2e, "",
            "(information)", ""))
    pr = t("plan") + t("render-csv")
    out.append("%-44s %7.1fx %9s  %-26s %s" % (
        "Python baseline / rosterd plan + CSV only", python_s / pr
        if pr > 0 else float("inf"), "", "(information)", ""))
    ratio = t("plan") / sortcomm if sortcomm > 0 else float("inf")
    out.append("%-44s %7.2fx %9s  %-26s %s" % (
        "feed plan / (sort + comm)", ratio, "", "<= 2x", judge(ratio <= 2)))
    out.append("%-44s %8s %5.0f MiB  %-26s %s" % (
        "peak RSS of any rosterd command", "", peak, "< 300 MiB",
        judge(peak < 300)))

    csv_file = info.get("csv_file", "")
    py_file = info.get("python_file", "")
    lean_file = info.get("python_lean_file", py_file)
    same = (os.path.isfile(csv_file) and os.path.isfile(py_file) and
            filecmp.cmp(csv_file, py_file, shallow=False) and
            os.path.isfile(lean_file) and
            filecmp.cmp(csv_file, lean_file, shallow=False))
    out.append("%-44s %8s %9s  %-26s %s" % (
        "full CSV identical to both baselines'", "", "",
        "byte for byte", judge(same)))
    print("\n".join(out))
    print()
    if os.path.isfile(csv_file):
        print("CSV full file:  %s (%d bytes)" % (csv_file,
                                                 os.path.getsize(csv_file)))
    x12 = info.get("x12_file", "")
    if os.path.isfile(x12):
        print("834 full file:  %s (%d bytes, %d members)" % (
            x12, os.path.getsize(x12), count_lines(x12, b"INS*")))
    for key, what in (("trace_csv", "CSV full"), ("trace_834", "834 full")):
        phases = trace(info.get(key, ""))
        if phases:
            print("%-15s %s" % ("%s render:" % what, ", ".join(
                "%s %s s" % p for p in phases)))
    print("baseline:       %s" % info.get("python_out", ""))
    if "db_bytes" in info:
        print("database:       %.0f MiB" % (int(info["db_bytes"]) / MIB / MIB))
    if not all(verdicts):
        print("\nfeed_bench: %d of %d targets missed" % (
            verdicts.count(False), len(verdicts)))
        return 1
    print("\nfeed_bench: every target met")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
