#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Load N synthetic users into a running rosterd for the benchmark.

Sends POST /Bulk requests of --batch users each from a few threads (standard
library only), falls back to one POST /Users per user if /Bulk answers
404/501, then writes the created ids and the percent-encoded userNames to
files, one per line, for the wrk scripts. The bearer token comes from the
environment variable BENCH_TOKEN, never from the command line.
"""

import argparse
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse

URN_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
URN_ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
URN_ELIG = "urn:rosterd:params:scim:schemas:extension:eligibility:1.0:User"
URN_BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"

FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances",
         "Ken", "Margaret", "Dennis", "Radia", "John", "Sophie", "Niklaus"]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth",
        "Allen", "Thompson", "Hamilton", "Ritchie", "Perlman", "Backus",
        "Wilson", "Wirth"]
DEPTS = ["Engineering", "Sales", "Support", "Finance", "Operations", "HR"]
STATES = ["CA", "NY", "TX", "WA", "MA", "IL", "CO"]
CLASSES = ["FT", "PT", "FT", "FT", "SEASONAL"]


def user_name(i):
    return "bench.user.%06d@example.com" % i


def user_doc(i):
    """A realistic provisioned user: core, enterprise and eligibility."""
    first = FIRST[i % len(FIRST)]
    last = LAST[(i // len(FIRST)) % len(LAST)]
    name = user_name(i)
    return {
        "schemas": [URN_USER, URN_ENT, URN_ELIG],
        "userName": name,
        "externalId": "E%06d" % i,
        "name": {"givenName": first, "familyName": last},
        "displayName": "%s %s" % (first, last),
        "emails": [{"value": name, "type": "work", "primary": True}],
        "active": True,
        URN_ENT: {"employeeNumber": "%06d" % i,
                  "department": DEPTS[i % len(DEPTS)]},
        URN_ELIG: {"hireDate": "20%02d-%02d-%02d" % (10 + i % 15,
                                                    1 + i % 12, 1 + i % 28),
                   "employmentStatus": "active",
                   "eligibilityClass": CLASSES[i % len(CLASSES)],
                   "workState": STATES[i % len(STATES)],
                   "workCountry": "US"},
    }


class Client:
    """One keep-alive HTTP connection to the server."""

    def __init__(self, base, token):
        u = urllib.parse.urlsplit(base)
        self.host = u.hostname
        self.port = u.port or 80
        self.path = u.path.rstrip("/")
        self.headers = {"Authorization": "Bearer " + token,
                        "Content-Type": "application/scim+json",
                        "Accept": "application/scim+json"}
        self.conn = None

    def request(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port,
                                                       timeout=120)
            try:
                self.conn.request(method, self.path + path, data,
                                  self.headers)
                r = self.conn.getresponse()
                raw = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return r.status, raw
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def id_from_op(op):
    resp = op.get("response")
    if isinstance(resp, dict) and resp.get("id"):
        return resp["id"]
    loc = op.get("location")
    if loc:
        return loc.rstrip("/").rsplit("/", 1)[-1]
    return None


def load_bulk(client, start, end):
    ops = [{"method": "POST", "path": "/Users", "bulkId": "u%d" % i,
            "data": user_doc(i)} for i in range(start, end)]
    status, raw = client.request("POST", "/Bulk",
                                 {"schemas": [URN_BULK], "Operations": ops})
    if status in (404, 501):
        return None
    if status != 200:
        raise RuntimeError("POST /Bulk: HTTP %d: %s" % (status, raw[:300]))
    out = {}
    for op in json.loads(raw).get("Operations", []):
        st = str(op.get("status", ""))
        bulk_id = op.get("bulkId", "")
        if not st.startswith("2") or not bulk_id.startswith("u"):
            raise RuntimeError("bulk operation %s failed: %s" %
                               (bulk_id, json.dumps(op)[:300]))
        out[int(bulk_id[1:])] = id_from_op(op)
    return out


def load_single(client, start, end):
    out = {}
    for i in range(start, end):
        status, raw = client.request("POST", "/Users", user_doc(i))
        if status != 201:
            raise RuntimeError("POST /Users: HTTP %d: %s" % (status, raw[:300]))
        out[i] = json.loads(raw)["id"]
    return out


def list_ids(client, n):
    """Page through GET /Users (fallback when bulk gave no locations)."""
    ids = {}
    start = 1
    while True:
        q = "/Users?startIndex=%d&count=1000&attributes=userName" % start
        status, raw = client.request("GET", q)
        if status != 200:
            raise RuntimeError("GET %s: HTTP %d" % (q, status))
        res = json.loads(raw).get("Resources", [])
        for r in res:
            name = r.get("userName", "")
            if name.startswith("bench.user."):
                ids[int(name[11:17])] = r["id"]
        if len(res) == 0:
            break
        start += len(res)
    return ids


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--base", required=True,
                    help="SCIM base URL, http://127.0.0.1:PORT/scim/v2")
    ap.add_argument("--users", type=int, default=100000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--ids", required=True, help="output: one id per line")
    ap.add_argument("--names", required=True,
                    help="output: one percent-encoded userName per line")
    args = ap.parse_args()
    token = os.environ.get("BENCH_TOKEN")
    if not token:
        sys.exit("load_users.py: BENCH_TOKEN is not set")

    batches = [(s, min(s + args.batch, args.users))
               for s in range(0, args.users, args.batch)]
    lock = threading.Lock()
    ids = {}
    errors = []
    mode = {"bulk": True}
    t0 = time.monotonic()

    def worker():
        client = Client(args.base, token)
        while True:
            with lock:
                if errors or not batches:
                    return
                start, end = batches.pop(0)
                bulk = mode["bulk"]
            try:
                got = load_bulk(client, start, end) if bulk else None
                if got is None:
                    with lock:
                        if mode["bulk"]:
                            print("load: /Bulk not available, "
                                  "falling back to POST /Users",
                                  file=sys.stderr)
                        mode["bulk"] = False
                    got = load_single(client, start, end)
            except Exception as e:  # report the first failure and stop
                with lock:
                    errors.append(str(e))
                return
            with lock:
                ids.update(got)
                done = len(ids)
            if sys.stderr.isatty():
                print("\rload: %d/%d users" % (done, args.users), end="",
                      file=sys.stderr)

    threads = [threading.Thread(target=worker) for _ in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if errors:
        sys.exit("load_users.py: " + errors[0])
    elapsed = time.monotonic() - t0

    if any(v is None for v in ids.values()):
        print("load: bulk response had no locations; listing users",
              file=sys.stderr)
        ids = list_ids(Client(args.base, token), args.users)
    if len(ids) != args.users:
        sys.exit("load_users.py: created %d users, expected %d" %
                 (len(ids), args.users))

    with open(args.ids, "w") as f:
        for i in range(args.users):
            f.write(ids[i] + "\n")
    with open(args.names, "w") as f:
        for i in range(args.users):
            f.write(urllib.parse.quote(user_name(i), safe="") + "\n")
    print("load: %d users in %.1f s (%.0f users/s, %s)" %
          (args.users, elapsed, args.users / elapsed,
           "POST /Bulk x %d" % args.batch if mode["bulk"] else "POST /Users"))


if __name__ == "__main__":
    main()
