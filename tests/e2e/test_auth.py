# SPDX-License-Identifier: ISC
"""Bearer-token authentication (RFC 6750), scopes, tenant isolation, token
revocation and the per-token rate limit (RFC 6585 429 + Retry-After, the
IETF RateLimit header fields)."""

import json
import re
import time
import unittest

from harness import (URN_USER, ScimTestCase, cli, qs, tag, token_create,
                     token_revoke)

RATE, BURST = 5, 5


class AuthTest(ScimTestCase):

    def assertChallenge(self, resp):
        self.assertScimError(resp, 401)
        www = resp.header("WWW-Authenticate") or ""
        self.assertRegex(www, r"^\s*Bearer\b",
                         "401 without a Bearer challenge: %r" % www)

    def test_no_token(self):
        for path in ("/Users", "/Groups", "/Users/" + "0" * 8):
            with self.subTest(path=path):
                self.assertChallenge(self.request("GET", path, token=None))
        self.assertChallenge(self.request("POST", "/Users", {
            "schemas": [URN_USER], "userName": tag("na")}, token=None))

    def test_bad_tokens(self):
        real = self.token
        for bad in ("rstd_" + "A" * 43, real[:-1] + ("A" if real[-1] != "A"
                                                      else "B"),
                    real + "x", "", "x"):
            with self.subTest(token=bad[:12]):
                self.assertChallenge(self.request("GET", "/Users", token=bad))
        for header in ("Basic dXNlcjpwYXNz", "bearer", "Token " + real,
                       real):
            with self.subTest(authorization=header[:12]):
                self.assertChallenge(self.request(
                    "GET", "/Users", token=None,
                    headers={"Authorization": header}))

    def test_scheme_is_case_insensitive(self):
        # RFC 9110 §11.1: the auth-scheme is case-insensitive.
        resp = self.request("GET", "/Users", token=None,
                            headers={"Authorization": "bearer " + self.token})
        self.assertEqual(resp.status, 200, resp)

    def test_wrong_scope_is_forbidden(self):
        admin_only, _ = token_create(self.db, "acme", "admin")
        name = tag("sc")
        for method, path, body in (
                ("GET", "/Users", None),
                ("POST", "/Users", {"schemas": [URN_USER], "userName": name}),
                ("GET", "/Groups", None)):
            with self.subTest(method=method, path=path):
                self.assertScimError(self.request(method, path, body,
                                                  token=admin_only), 403)
        # Nothing was created by the refused POST.
        self.assertEqual(self.search(
            "Users", 'userName eq "%s"' % name)["totalResults"], 0)

    def test_token_created_while_running_works(self):
        secret, _ = token_create(self.db, "acme", "scim")
        self.assertEqual(self.request("GET", "/Users", token=secret).status,
                         200)

    def last_used(self, tid):
        out = cli(self.db, "token", "list", "--json").stdout
        return {t["id"]: t["last_used"] for t in json.loads(out)}[tid]

    def test_last_used_recorded(self):
        secret, tid = token_create(self.db, "acme", "scim")
        self.assertIsNone(self.last_used(tid))
        before = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 1))
        self.assertEqual(self.request("GET", "/Users", token=secret).status,
                         200)
        used = self.last_used(tid)
        self.assertIsNotNone(used, "a request did not record last_used")
        self.assertRegex(used, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertGreaterEqual(used[:19], before)
        # Within the minute a second request does not write again.
        self.assertEqual(self.request("GET", "/Users", token=secret).status,
                         200)
        self.assertEqual(self.last_used(tid), used)
        # A refused (wrong scope) request still shows the token was used.
        admin_only, aid = token_create(self.db, "acme", "admin")
        self.request("GET", "/Users", token=admin_only)
        self.assertIsNotNone(self.last_used(aid))

    def test_revoked_token(self):
        secret, tid = token_create(self.db, "acme", "scim")
        self.assertTrue(tid, "token create did not print the token id")
        self.assertEqual(self.request("GET", "/Users", token=secret).status,
                         200)
        token_revoke(self.db, tid)
        self.assertChallenge(self.request("GET", "/Users", token=secret))
        self.assertChallenge(self.request("POST", "/Users", {
            "schemas": [URN_USER], "userName": tag("rv")}, token=secret))
        # Other tokens keep working.
        self.assertEqual(self.request("GET", "/Users").status, 200)

    def test_tenant_isolation(self):
        t = tag("iso")
        u = self.create_user(t + "@example.com", title="A-only")
        g = self.create_group("iso " + t, [u["id"]])
        b = self.token_b
        # Not visible by id, by filter or in a full listing.
        self.assertScimError(self.request("GET", "/Users/" + u["id"],
                                          token=b), 404)
        self.assertScimError(self.request("GET", "/Groups/" + g["id"],
                                          token=b), 404)
        resp = self.request("GET", "/Users" + qs(
            filter='userName eq "%s@example.com"' % t), token=b)
        self.assertEqual(self.assertListResponse(resp)["totalResults"], 0)
        resp = self.request("GET", "/Users" + qs(count=1000), token=b)
        self.assertNotIn(u["id"], [r["id"] for r in
                                   self.assertListResponse(resp).get(
                                       "Resources", [])])
        resp = self.request("POST", "/.search", {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'id eq "%s"' % u["id"]}, token=b)
        self.assertEqual(self.assertListResponse(resp)["totalResults"], 0)
        # Not writable either.
        self.assertScimError(self.request("PATCH", "/Users/" + u["id"], {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "title",
                            "value": "hacked"}]}, token=b), 404)
        self.assertScimError(self.request("PUT", "/Users/" + u["id"], {
            "schemas": [URN_USER], "userName": "hacked"}, token=b), 404)
        self.assertScimError(self.request("DELETE", "/Users/" + u["id"],
                                          token=b), 404)
        self.assertScimError(self.request("DELETE", "/Groups/" + g["id"],
                                          token=b), 404)
        # B cannot put A's user into its own group.
        resp = self.request("POST", "/Groups", {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "steal " + t, "members": [{"value": u["id"]}]},
            token=b)
        self.assertScimError(resp, 400)
        # userName is unique per tenant, not across tenants.
        resp = self.request("POST", "/Users", {
            "schemas": [URN_USER], "userName": t + "@example.com"}, token=b)
        self.assertEqual(resp.status, 201, resp)
        self.assertNotEqual(resp.json["id"], u["id"])
        got = self.get_user(u["id"])
        self.assertEqual(got["title"], "A-only")
        self.assertEqual(self.member_ids(self.get_group(g["id"])), [u["id"]])


def ratelimit_view(headers):
    """(limit, remaining) from either header style, or None if absent.

    Accepts RateLimit-Limit/-Remaining/-Reset, and the IETF httpapi draft's
    RateLimit + RateLimit-Policy (both the draft-07 "limit=, remaining=,
    reset=" and the later structured "name";r=..;t=.. / q=..;w=.. forms).
    """
    lim = headers.get("RateLimit-Limit")
    rem = headers.get("RateLimit-Remaining")
    rst = headers.get("RateLimit-Reset")
    if lim is not None or rem is not None or rst is not None:
        if lim is None or rem is None or rst is None:
            return None
        return (int(lim.split(",")[0].split(";")[0]), int(rem), int(rst))
    rl = headers.get("RateLimit")
    pol = headers.get("RateLimit-Policy")
    if rl is None or pol is None:
        return None
    rem = re.search(r"(?:\br|remaining)=(\d+)", rl)
    rst = re.search(r"(?:\bt|reset)=(\d+)", rl)
    lim = (re.search(r"(?:\bq|limit)=(\d+)", pol)
           or re.search(r"limit=(\d+)", rl)
           or re.match(r"\s*(\d+)", pol))
    if not rem:
        return None
    return (int(lim.group(1)) if lim else None, int(rem.group(1)),
            int(rst.group(1)) if rst else None)


class RateLimitTest(ScimTestCase):

    EXTRA_TENANTS = (("slow", RATE, BURST),)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.slow_token, _ = token_create(cls.db, "slow", "scim")

    def test_headers_on_normal_responses(self):
        # Every response to a token-authenticated SCIM request, whatever
        # its status. (Discovery endpoints may be public and unmetered.)
        for resp in (self.request("GET", "/Users"),
                     self.request("GET", "/Groups"),
                     self.request("GET", "/Users/nope-" + tag()),
                     self.request("GET", "/Users" + qs(filter="bad filter")),
                     self.request("POST", "/Users", b"{",
                                  headers={"Content-Type":
                                           "application/scim+json"})):
            with self.subTest(status=resp.status):
                self.assertIsNotNone(ratelimit_view(resp.headers),
                                     "no rate-limit headers: %s"
                                     % dict(resp.headers))

    def test_bucket_429_and_retry_after(self):
        time.sleep(1.5)   # start from a full bucket
        results = []
        t0 = time.monotonic()
        for _ in range(20):
            results.append(self.request("GET", "/Users",
                                        token=self.slow_token))
        elapsed = time.monotonic() - t0
        codes = [r.status for r in results]
        self.assertTrue(set(codes) <= {200, 429}, codes)
        ok = codes.count(200)
        self.assertGreaterEqual(ok, BURST, codes)
        self.assertLessEqual(ok, BURST + int(RATE * elapsed) + 1,
                             "%d of 20 admitted in %.2f s: %s"
                             % (ok, elapsed, codes))
        self.assertIn(429, codes)
        for r in results:
            view = ratelimit_view(r.headers)
            self.assertIsNotNone(view, "HTTP %d without rate-limit headers: "
                                 "%s" % (r.status, dict(r.headers)))
            limit, remaining, _ = view
            if limit is not None:
                self.assertEqual(limit, BURST, dict(r.headers))
            self.assertGreaterEqual(remaining, 0)
            if r.status == 429:
                self.assertEqual(remaining, 0, dict(r.headers))
                self.assertScimError(r, 429)
                ra = r.header("Retry-After")
                self.assertIsNotNone(ra, "429 without Retry-After")
                self.assertRegex(ra.strip(), r"^\d+$",
                                 "Retry-After must be delay-seconds: %r" % ra)
                self.assertGreaterEqual(int(ra), 1)
                self.assertLessEqual(int(ra), 60)
        # After waiting as told, the next request is admitted.
        last = [r for r in results if r.status == 429][-1]
        time.sleep(int(last.header("Retry-After")))
        self.assertEqual(self.request("GET", "/Users",
                                      token=self.slow_token).status, 200)

    def test_limit_is_per_token(self):
        # Draining the slow tenant's bucket does not touch acme's token.
        for _ in range(3 * BURST):
            self.request("GET", "/Users", token=self.slow_token)
        for _ in range(10):
            self.assertEqual(self.request("GET", "/Users").status, 200)


if __name__ == "__main__":
    unittest.main()
