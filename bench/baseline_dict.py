#!/usr/bin/python3
# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
"""The feed benchmark's second baseline: the short csv.DictReader script.

The issue describes its baseline as "a short Python script using only the
standard library csv module" taking about 22 s and 2 GiB for 1M vs 1M
rows. That is the straightforward script: csv.DictReader over both
exports, every row kept whole, a dict per employee, then the diff and a
csv.writer. bench/baseline_plan.py is the careful version of the same job
(it keeps 7 columns per person, about half the time); feed_report.py
prints the ratio against both.

Same job, same bytes: full.csv must be byte for byte rosterd's (and
baseline_plan.py's), changes.csv the same change list.

  baseline_dict.py DAY1.csv DAY2.csv OUTDIR
"""

import csv
import datetime
import os
import sys

HEADER = ["Member ID", "First Name", "Last Name", "Work Email", "Hire Date",
          "Employment Status", "Department", "Action", "Termination Date"]
STATUS = {"A": "Active", "L": "Leave"}
ACTION = {"add": "A", "change": "C", "terminate": "T", "none": ""}
COLUMNS = ["member_id", "first_name", "last_name", "email", "hire_date",
           "status", "department"]


def us_date(text):
    if text == "":
        return ""
    m, d, y = text.split("/")
    return datetime.date(int(y), int(m), int(d)).strftime("%m/%d/%Y")


def guard(value):
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = {}
        for row in csv.DictReader(f):
            if row["relationship"] == "EE":
                rows[row["employee_id"]] = row
        return rows


def values(row):
    return [row["employee_id"], row["first_name"], row["last_name"],
            row["work_email"].lower(), us_date(row["hire_date"]),
            STATUS.get(row["status"], "Terminated"), row["department"]]


def main(argv):
    if len(argv) != 4:
        sys.exit("usage: baseline_dict.py DAY1.csv DAY2.csv OUTDIR")
    old, new, out = read(argv[1]), read(argv[2]), argv[3]
    os.makedirs(out, exist_ok=True)
    sent = {k: r for k, r in old.items() if r["status"] != "T"}
    counts = {"add": 0, "change": 0, "terminate": 0, "none": 0}
    with open(os.path.join(out, "full.csv"), "w", newline="",
              encoding="utf-8") as ff, \
            open(os.path.join(out, "changes.csv"), "w", newline="",
                 encoding="utf-8") as cf:
        full = csv.writer(ff, lineterminator="\r\n")
        chg = csv.writer(cf, lineterminator="\r\n")
        full.writerow(HEADER)
        chg.writerow(["action", "member_id", "columns", "term_date"])
        for eid in sorted(set(sent) | set(new)):
            was, now = sent.get(eid), new.get(eid)
            term = ""
            if now is not None and now["status"] != "T":
                vals = values(now)
                if was is None:
                    action = "add"
                    chg.writerow(["add", eid, "", ""])
                elif values(was) != vals:
                    action = "change"
                    diff = [COLUMNS[i] for i, (a, b) in
                            enumerate(zip(values(was), vals)) if a != b]
                    chg.writerow(["change", eid, ",".join(diff), ""])
                else:
                    action = "none"
            elif was is not None:
                # The row as the person is now (status Terminated); the
                # vendor's record when the export no longer lists them.
                vals = values(now) if now is not None else values(was)
                action = "terminate"
                if now is not None:
                    term = us_date(now["term_date"])
                chg.writerow(["terminate", eid, "", term])
            else:
                continue
            counts[action] += 1
            full.writerow([guard(v) for v in vals] + [ACTION[action], term])
    print("adds %d changes %d terminations %d unchanged %d" % (
        counts["add"], counts["change"], counts["terminate"], counts["none"]))


if __name__ == "__main__":
    main(sys.argv)
