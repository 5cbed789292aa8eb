#!/usr/bin/python3
# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
"""Fill a rosterd database with synthetic people for the feed benchmark.

Writes User rows straight into the `resources` table (the store's own
schema, created by `rosterd migrate`), which is much faster than the SCIM
API for a million people and gives the feed engine exactly what SCIM would
have stored. Deterministic: the same arguments give the same database.
Python standard library only.

  feed_gen.py DB --tenant acme --people 1000000      # the roster
  feed_gen.py DB --tenant acme --delta 1             # then 1% changes:
      half of them change a column the feed sends, a quarter are
      deactivated (active false, terminationDate set), a quarter are new
      hires; every touched person's version goes up by one.

The tenant must exist (`rosterd tenant create`).
"""

import argparse
import json
import sqlite3
import sys
import time

URN_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
URN_ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
URN_ELIG = "urn:rosterd:params:scim:schemas:extension:eligibility:1.0:User"
FIRST = ["Ann", "Bob", "Carla", "Dmitri", "Eve", "Farah", "Gus", "Hana",
         "Ivan", "Jo", "Kwame", "Lena", "Mateo", "Nia", "Omar", "Priya"]
LAST = ["Adams", "Baker", "Chen", "Diaz", "Evans", "Fischer", "Garcia",
        "Haddad", "Ito", "Jones", "Kim", "Lopez", "Mensah", "Nguyen"]
CLASSES = ["FT", "FT", "FT", "PT", "FT"]
STAMP = "2026-11-01T00:00:00.000Z"


def doc(i, last=None, active=True, term=None):
    name = "person.%07d@example.com" % i
    elig = {"birthDate": "19%02d-%02d-%02d" % (50 + i % 50, 1 + i % 12,
                                              1 + i % 28),
            "hireDate": "20%02d-%02d-01" % (10 + i % 15, 1 + i % 12),
            "employmentStatus": "active" if active else "terminated",
            "eligibilityClass": CLASSES[i % len(CLASSES)],
            "workState": "CA", "workCountry": "US"}
    if term:
        elig["terminationDate"] = term
    return {
        "schemas": [URN_USER, URN_ENT, URN_ELIG],
        "userName": name,
        "externalId": "E%07d" % i,
        "name": {"givenName": FIRST[i % len(FIRST)],
                 "familyName": last or LAST[i // 16 % len(LAST)]},
        "displayName": "%s %s" % (FIRST[i % len(FIRST)],
                                  last or LAST[i // 16 % len(LAST)]),
        "emails": [{"value": name, "type": "work", "primary": True}],
        "addresses": [{"type": "home", "streetAddress": "%d Main St" % i,
                       "locality": "Springfield", "region": "CA",
                       "postalCode": "9%04d" % (i % 10000),
                       "country": "US"}],
        "active": active,
        URN_ENT: {"employeeNumber": "%07d" % i, "department": "Eng"},
        URN_ELIG: elig,
    }


def row(tenant, i, d):
    return (tenant, 1, "%08x-0000-4000-8000-%012x" % (i, i),
            d["userName"], d["externalId"], 1 if d["active"] else 0,
            json.dumps(d, separators=(",", ":")), 1, STAMP, STAMP)


def insert(db, tenant, start, count):
    db.executemany(
        "INSERT INTO resources (tenant_id, type, id, name, external_id, "
        "active, doc, version, created, modified) VALUES "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (row(tenant, i, doc(i)) for i in range(start, start + count)))


def delta(db, tenant, pct):
    n = db.execute("SELECT count(*) FROM resources WHERE tenant_id = ? AND "
                   "type = 1", (tenant,)).fetchone()[0]
    touched = max(4, n * pct // 100)
    step = max(1, n // touched)
    picks = list(range(0, n, step))[:touched * 3 // 4]
    changes, terms = picks[:touched // 2], picks[touched // 2:]
    upd = []
    for i in changes:
        upd.append((json.dumps(doc(i, last="Changed"),
                               separators=(",", ":")), 1, "E%07d" % i))
    for i in terms:
        upd.append((json.dumps(doc(i, active=False, term="2026-11-30"),
                               separators=(",", ":")), 0, "E%07d" % i))
    db.executemany("UPDATE resources SET doc = ?, active = ?, version = "
                   "version + 1, modified = '2026-12-01T00:00:00.000Z' "
                   "WHERE tenant_id = %d AND type = 1 AND deleted_at IS NULL "
                   "AND external_id = ?" % tenant, upd)
    insert(db, tenant, n, touched - len(picks))
    return len(changes), len(terms), touched - len(picks)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("db")
    ap.add_argument("--tenant", default="acme")
    ap.add_argument("--people", type=int, default=0)
    ap.add_argument("--delta", type=int, default=0, metavar="PCT")
    a = ap.parse_args()
    db = sqlite3.connect(a.db)
    db.execute("PRAGMA synchronous = OFF")
    t = db.execute("SELECT id FROM tenants WHERE name = ?",
                   (a.tenant,)).fetchone()
    if t is None:
        sys.exit("feed_gen.py: no tenant %s" % a.tenant)
    t0 = time.time()
    if a.people:
        insert(db, t[0], 0, a.people)
        print("inserted %d people in %.1f s" % (a.people, time.time() - t0))
    if a.delta:
        c, d, n = delta(db, t[0], a.delta)
        print("changed %d, deactivated %d, hired %d" % (c, d, n))
    db.commit()
    db.close()


if __name__ == "__main__":
    main()
