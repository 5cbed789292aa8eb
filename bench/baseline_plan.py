#!/usr/bin/python3
# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
"""The feed benchmark's baseline: plan and render with the csv module.

What a careful one-off script does with two HRIS exports (bench/gen_hris.py
layout) and no database: read yesterday's and today's export, work out who
is eligible (everyone not terminated), diff the two by employee id, and
write today's full CSV eligibility file and the list of changes. It does
the same job as rosterd's `import hris` + `feed plan` + `feed render --full`
on bench/feed_bench.sh's bench-csv profile, with the same transforms
(dates checked and reformatted, a value map, lower case, the spreadsheet
formula guard, RFC 4180 quoting, CRLF), so the full file it writes is
byte for byte the one rosterd writes; feed_bench.sh compares them.

  baseline_plan.py DAY1.csv DAY2.csv OUTDIR

Writes OUTDIR/full.csv and OUTDIR/changes.csv, prints the counts.
Python standard library only.
"""

import csv
import datetime
import os
import sys

HEADER = ["Member ID", "First Name", "Last Name", "Work Email", "Hire Date",
          "Employment Status", "Department", "Action", "Termination Date"]
COLUMNS = ["member_id", "first_name", "last_name", "email", "hire_date",
           "status", "department"]
STATUS = {"A": "Active", "L": "Leave"}
ACTION = {"add": "A", "change": "C", "terminate": "T", "none": ""}


def us_date(text):
    """MM/DD/YYYY -> MM/DD/YYYY, checked; "" stays ""."""
    if text == "":
        return ""
    m, d, y = text.split("/")
    return datetime.date(int(y), int(m), int(d)).strftime("%m/%d/%Y")


def guard(value):
    """The spreadsheet formula-injection guard rosterd's CSV writer uses."""
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value


def load(path):
    """Employee id -> (values, status code, termination date)."""
    people = {}
    with open(path, newline="", encoding="utf-8") as f:
        rows = csv.reader(f)
        head = next(rows)
        ix = {name: i for i, name in enumerate(head)}
        i_id, i_rel = ix["employee_id"], ix["relationship"]
        i_first, i_last = ix["first_name"], ix["last_name"]
        i_mail, i_hire = ix["work_email"], ix["hire_date"]
        i_status, i_term = ix["status"], ix["term_date"]
        i_dept = ix["department"]
        for n, r in enumerate(rows, start=2):
            if r[i_rel] != "EE":
                continue
            eid = r[i_id]
            if eid in people:
                sys.exit("%s: row %d: duplicate employee id %s"
                         % (path, n, eid))
            status = r[i_status]
            values = (eid, r[i_first], r[i_last], r[i_mail].lower(),
                      us_date(r[i_hire]),
                      STATUS.get(status, "Terminated"), r[i_dept])
            people[eid] = (values, status, us_date(r[i_term]))
    return people


def main(argv):
    if len(argv) != 4:
        sys.exit("usage: baseline_plan.py DAY1.csv DAY2.csv OUTDIR")
    day1, day2, out = argv[1], argv[2], argv[3]
    os.makedirs(out, exist_ok=True)
    # What the vendor holds: yesterday's eligible people.
    sent = {k: v[0] for k, v in load(day1).items() if v[1] != "T"}
    today = load(day2)
    adds = changes = terms = unchanged = 0
    with open(os.path.join(out, "full.csv"), "w", newline="",
              encoding="utf-8") as ff, \
            open(os.path.join(out, "changes.csv"), "w", newline="",
                 encoding="utf-8") as cf:
        full = csv.writer(ff, lineterminator="\r\n")
        chg = csv.writer(cf, lineterminator="\r\n")
        full.writerow(HEADER)
        chg.writerow(["action", "member_id", "columns", "term_date"])
        for eid in sorted(set(sent) | set(today)):
            old = sent.get(eid)
            now = today.get(eid)
            term_date = ""
            if now is not None and now[1] != "T":
                values = now[0]
                if old is None:
                    action = "add"
                    adds += 1
                    chg.writerow(["add", eid, "", ""])
                elif old != values:
                    action = "change"
                    changes += 1
                    diff = [COLUMNS[i] for i in range(len(values))
                            if old[i] != values[i]]
                    chg.writerow(["change", eid, ",".join(diff), ""])
                else:
                    action = "none"
                    unchanged += 1
            elif old is not None:
                # Terminated: the row as the person is now, with the date;
                # gone from the export: the vendor's record.
                values = now[0] if now is not None else old
                action = "terminate"
                term_date = now[2] if now is not None and now[2] else ""
                terms += 1
                chg.writerow(["terminate", eid, "", term_date])
            else:
                continue
            full.writerow([guard(v) for v in values] +
                          [ACTION[action], term_date])
    print("adds %d changes %d terminations %d unchanged %d" %
          (adds, changes, terms, unchanged))


if __name__ == "__main__":
    main(sys.argv)
