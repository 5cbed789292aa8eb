#!/usr/bin/python3
# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
"""Generate a synthetic HRIS export (CSV) for `rosterd import hris` benchmarks.

Deterministic: the same --rows and --seed always give the same roster, so two
exports that differ only in --changed share everyone else byte for byte.
Python standard library only.

  gen_hris.py --rows 1000000 --seed 1 > day1.csv
  gen_hris.py --rows 1000000 --seed 1 --changed 1 > day2.csv   # 1% changed

Columns match the `workday` mapping in bench/import_bench.sh:
employee_id, relationship (EE for employees; SP/CH rows are dependents of
the employee_id), first_name, last_name, email, work_email, hire_date
(MM/DD/YYYY), status (A/L/T), term_date, department, dep_first, dep_last,
dep_dob. --dependents P gives P% of employees a spouse and children rows
(off by default: --rows counts employees).
"""

import argparse
import csv
import random
import sys

FIRST = ["Ann", "Bob", "Carla", "Dmitri", "Eve", "Farah", "Gus", "Hana",
         "Ivan", "Jo", "Kwame", "Lena", "Mateo", "Nia", "Omar", "Priya",
         "Quinn", "Rosa", "Sven", "Tara", "Uma", "Vik", "Wen", "Yara", "Zoe"]
LAST = ["Adams", "Baker", "Chen", "Diaz", "Evans", "Fischer", "Garcia",
        "Haddad", "Ito", "Jones", "Kim", "Lopez", "Mensah", "Nguyen",
        "O'Brien", "Patel", "Quinn", "Rossi", "Smith", "Tanaka", "Ueda",
        "Volkov", "Wong", "Xu", "Young", "Zhang"]
DEPTS = ["Engineering", "Sales, East", "Sales, West", "Support", "Finance",
         "People \"HR\"", "Legal", "Operations"]
HEADER = ["employee_id", "relationship", "first_name", "last_name", "email",
          "work_email", "hire_date", "status", "term_date", "department",
          "dep_first", "dep_last", "dep_dob"]


def date(rng, y0, y1):
    return "%02d/%02d/%04d" % (rng.randint(1, 12), rng.randint(1, 28),
                               rng.randint(y0, y1))


def base_row(rng, i):
    first = FIRST[rng.randrange(len(FIRST))]
    last = LAST[rng.randrange(len(LAST))]
    eid = "E%07d" % (i + 1)
    local = "%s.%s.%d" % (first.lower(), last.lower().replace("'", ""), i + 1)
    status = "A" if rng.random() < 0.97 else "L"
    return [eid, "EE", first, last, local + "@example.com",
            local + "@corp.example.com", date(rng, 1995, 2025), status, "",
            DEPTS[rng.randrange(len(DEPTS))], "", "", ""]


def change(rng, row):
    """One HR change to an employee row: a name, status or department."""
    what = rng.randrange(4)
    if what == 0:
        row[3] = LAST[rng.randrange(len(LAST))] + "-" + row[3]
    elif what == 1:
        row[7] = "T"
        row[8] = date(rng, 2026, 2026)
    elif what == 2:
        row[9] = DEPTS[(DEPTS.index(row[9]) + 1) % len(DEPTS)]
    else:
        row[7] = "L" if row[7] == "A" else "A"


def dependents(rng, row):
    out = []
    last = row[3]
    if rng.random() < 0.7:
        out.append([row[0], "SP", "", "", "", "", "", "", "", "",
                    FIRST[rng.randrange(len(FIRST))], last,
                    date(rng, 1960, 2000)])
    for _ in range(rng.randrange(4)):
        out.append([row[0], "CH", "", "", "", "", "", "", "", "",
                    FIRST[rng.randrange(len(FIRST))], last,
                    date(rng, 2001, 2025)])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1000,
                    help="number of employees (default 1000)")
    ap.add_argument("--seed", type=int, default=1,
                    help="roster seed (default 1)")
    ap.add_argument("--changed", type=float, default=0.0,
                    help="percent of employees changed against the same "
                         "seed with --changed 0 (default 0)")
    ap.add_argument("--dependents", type=float, default=0.0,
                    help="percent of employees with dependents rows")
    ap.add_argument("--crlf", action="store_true",
                    help="CRLF line ends (default LF)")
    ap.add_argument("-o", "--out", default="-", help="output file")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    rows = [base_row(rng, i) for i in range(a.rows)]
    deps = {}
    if a.dependents > 0:
        drng = random.Random(a.seed * 7919 + 3)
        for i in range(a.rows):
            if drng.random() * 100 < a.dependents:
                deps[i] = dependents(drng, rows[i])
    if a.changed > 0:
        crng = random.Random(a.seed * 104729 + 11)
        n = int(round(a.rows * a.changed / 100.0))
        for i in sorted(crng.sample(range(a.rows), n)):
            change(crng, rows[i])
    out = sys.stdout if a.out == "-" else open(a.out, "w", newline="")
    w = csv.writer(out, lineterminator="\r\n" if a.crlf else "\n")
    w.writerow(HEADER)
    for i, r in enumerate(rows):
        w.writerow(r)
        for d in deps.get(i, ()):
            w.writerow(d)
    if out is not sys.stdout:
        out.close()


if __name__ == "__main__":
    main()
