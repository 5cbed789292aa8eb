# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
"""Random requests, from fixed seeds: filters, PATCH operations, bodies,
raw bytes and paths built from SCIM's own vocabulary and from junk. Every
answer must be a well-formed SCIM reply (never a 5xx other than 501/503,
never a dropped connection), and the daemon must outlive them all. Run
against the ASan build too, this is how an invalid-UTF-8 id that killed
the daemon was found."""

import json
import random
from urllib.parse import quote

from harness import (ScimTestCase, URN_BULKREQ, URN_ERROR, URN_GROUP,
                     URN_PATCH, URN_SEARCH, URN_USER)

FILTER_WORDS = [
    'userName', 'eq', '"x"', 'and', 'or', 'not', '(', ')', '[', ']',
    'emails', 'value', 'type', 'pr', 'co', 'sw', 'gt', '1', 'true', 'null',
    'meta.lastModified', '"2020-01-01T00:00:00Z"', 'members', '.',
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:'
    'manager.value', '\\', '"', '\u00e9', '%', ' ', 'name.givenName', 'ge',
    'lt']
KEYS = ["schemas", "userName", "Operations", "op", "path", "value",
        "members", "emails", "name", "active", "displayName", "externalId",
        "id", "meta", "Resources", "filter", "startIndex", "count",
        "attributes", "method", "bulkId", "data", "version", "groups",
        "manager", "cursor", "sortBy",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
LEAVES = [None, True, False, 0, -1, 1.5, 1e308, "", "x", "\u0000",
          "a" * 300, [], {}]
PATH_BITS = ["%", "%00", "..", "/", "a", "%C3%A9", "%C3", "%2F", "?", "&",
             "="]
REQUESTS_PER_SEED = 1500


class RandomRequestsTest(ScimTestCase):

    def setUp(self):
        self.uids = [self.create_user("rnd%d" % i)["id"] for i in range(3)]
        self.gid = self.create_group("rnd-group",
                                     members=[self.uids[0]])["id"]

    def rand_json(self, rnd, depth=0):
        t = rnd.random()
        if depth > 4 or t < 0.3:
            return rnd.choice(LEAVES)
        if t < 0.6:
            return [self.rand_json(rnd, depth + 1)
                    for _ in range(rnd.randint(0, 3))]
        return {rnd.choice(KEYS): self.rand_json(rnd, depth + 1)
                for _ in range(rnd.randint(0, 4))}

    def words(self, rnd, lo, hi):
        return " ".join(rnd.choice(FILTER_WORDS)
                        for _ in range(rnd.randint(lo, hi)))

    def one(self, rnd):
        k = rnd.random()
        if k < 0.25:
            path = rnd.choice(["/Users", "/Groups", "/"]) + "?filter=" + \
                quote(self.words(rnd, 1, 8)) + rnd.choice([
                    "", "&count=0", "&startIndex=-1", "&cursor=",
                    "&cursor=abc&count=2",
                    "&sortBy=" + quote(rnd.choice(FILTER_WORDS)),
                    "&attributes=" + quote(rnd.choice(FILTER_WORDS))])
            return "GET", path, None
        if k < 0.45:
            ops = [{"op": rnd.choice(["add", "remove", "replace",
                                      "Replace", "x"]),
                    "path": self.words(rnd, 0, 4).replace(" . ", "."),
                    "value": self.rand_json(rnd)}
                   for _ in range(rnd.randint(1, 3))]
            target = rnd.choice(["/Users/" + rnd.choice(self.uids),
                                 "/Groups/" + self.gid])
            return "PATCH", target, {"schemas": [URN_PATCH],
                                     "Operations": ops}
        if k < 0.6:
            body = self.rand_json(rnd)
            if isinstance(body, dict) and rnd.random() < 0.7:
                body["schemas"] = [rnd.choice([URN_USER, URN_GROUP,
                                               URN_BULKREQ, URN_SEARCH])]
            method, path = rnd.choice([
                ("POST", "/Users"), ("POST", "/Groups"),
                ("PUT", "/Users/" + rnd.choice(self.uids)),
                ("PUT", "/Groups/" + self.gid), ("POST", "/Bulk"),
                ("POST", "/.search"), ("POST", "/Users/.search")])
            return method, path, json.dumps(body)
        if k < 0.75:
            raw = bytes(rnd.randrange(256)
                        for _ in range(rnd.randint(0, 60)))
            method, path = rnd.choice([
                ("POST", "/Users"), ("PATCH", "/Users/" + self.uids[1]),
                ("POST", "/Bulk")])
            return method, path, raw
        path = rnd.choice(["/Users/", "/Groups/", "/Schemas/",
                           "/ResourceTypes/", "/"]) + "".join(
            rnd.choice(PATH_BITS + [self.uids[2]])
            for _ in range(rnd.randint(0, 5)))
        method = rnd.choice(["GET", "DELETE", "HEAD", "OPTIONS", "PUT",
                             "PATCH"])
        return method, path, "{}" if method in ("PUT", "PATCH") else None

    def check(self, method, path, body, r):
        what = "%s %s %r" % (method, path, body)
        self.assertTrue(r.status < 500 or r.status in (501, 503),
                        "%d for %s: %r" % (r.status, what, r.raw[:300]))
        if method == "HEAD" or r.status in (204, 304):
            return
        j = json.loads(r.raw.decode("utf-8"))  # JSON, and UTF-8
        if r.status >= 400:
            self.assertEqual(j["schemas"], [URN_ERROR], what)
            self.assertEqual(j["status"], str(r.status), what)

    def test_random_requests(self):
        headers = {"Content-Type": "application/scim+json"}
        for seed in (1, 2, 3):
            rnd = random.Random(seed)
            for _ in range(REQUESTS_PER_SEED):
                method, path, body = self.one(rnd)
                r = self.request(method, path, body, headers=headers)
                self.check(method, path, body, r)
        self.assertEqual(self.get("/ServiceProviderConfig").status, 200)
