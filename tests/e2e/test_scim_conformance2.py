# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
"""A second conformance pass against RFC 7643, RFC 7644, RFC 9110 and
RFC 9865, and what Okta and Microsoft Entra ID send: each test names the
section it checks."""

from urllib.parse import quote

import harness
from harness import (ScimTestCase, URN_BULKREQ, URN_GROUP, URN_PATCH,
                     URN_SEARCH, URN_USER)


class MessageSchemasTest(ScimTestCase):
    """RFC 7644 §3.4.3 (SearchRequest), §3.7 (BulkRequest) and §3.5.2
    (PatchOp): the "schemas" attribute of a request message is REQUIRED
    and names the message's URN; a body without it is not that message
    (400 invalidSyntax, §3.12)."""

    def assertSchemasError(self, r, urn):
        self.assertScimError(r, 400, "invalidSyntax")
        self.assertIn("schemas", r.json["detail"])
        self.assertIn(urn, r.json["detail"])

    def test_search_request_needs_schemas(self):
        t = self.create_user(harness.tag("sr"))["userName"]
        for path in ("/.search", "/Users/.search", "/Groups/.search"):
            filt = ('displayName pr' if path.startswith("/Groups")
                    else 'userName eq "%s"' % t)
            with self.subTest(path=path):
                for body in ({"filter": filt},
                             {"schemas": [], "filter": filt},
                             {"schemas": [URN_USER], "filter": filt},
                             {"schemas": URN_SEARCH, "filter": filt}):
                    self.assertSchemasError(
                        self.request("POST", path, body), URN_SEARCH)
                r = self.request("POST", path, {"schemas": [URN_SEARCH],
                                                "filter": filt})
                self.assertListResponse(r)
        # The URN compares case-insensitively, like every SCIM URN.
        r = self.request("POST", "/Users/.search", {
            "schemas": [URN_SEARCH.upper()],
            "filter": 'userName eq "%s"' % t})
        self.assertEqual(self.assertListResponse(r)["totalResults"], 1)

    def test_bulk_request_needs_schemas(self):
        t = harness.tag("br")
        op = {"method": "POST", "path": "/Users", "bulkId": "u",
              "data": {"schemas": [URN_USER], "userName": t}}
        for body in ({"Operations": [op]},
                     {"schemas": [harness.URN_BULKRESP], "Operations": [op]}):
            self.assertSchemasError(self.request("POST", "/Bulk", body),
                                    URN_BULKREQ)
        # Nothing ran.
        self.assertEqual(self.ids("Users", 'userName eq "%s"' % t), [])
        r = self.request("POST", "/Bulk", {"schemas": [URN_BULKREQ],
                                           "Operations": [op]})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["Operations"][0]["status"], "201")

    def test_patch_op_needs_schemas(self):
        u = self.create_user(harness.tag("po"))
        op = {"op": "replace", "path": "title", "value": "x"}
        for body in ({"Operations": [op]},
                     {"schemas": [URN_USER], "Operations": [op]}):
            self.assertSchemasError(
                self.request("PATCH", "/Users/" + u["id"], body), URN_PATCH)
        self.assertEqual(self.get_user(u["id"])["meta"]["version"],
                         u["meta"]["version"])


class MethodNotAllowedTest(ScimTestCase):
    """RFC 9110 §15.5.6: a method the target resource does not support is
    405 and the answer MUST carry Allow; 501 (§15.6.2) is for a method no
    resource supports. RFC 7644 §3.12 keeps 501 for an operation the
    service provider does not support at all (/Me, §3.11)."""

    def allow(self, r):
        return {m.strip() for m in (r.header("Allow") or "").split(",")
                if m.strip()}

    def test_405_carries_allow(self):
        u = self.create_user(harness.tag("mna"))
        cases = [
            ("DELETE", "/Users", {"GET", "HEAD", "POST"}),
            ("PUT", "/Groups", {"GET", "HEAD", "POST"}),
            ("POST", "/Users/" + u["id"],
             {"GET", "HEAD", "PUT", "PATCH", "DELETE"}),
            ("GET", "/Bulk", {"POST"}),
            ("PUT", "/Bulk", {"POST"}),
            ("GET", "/Users/.search", {"POST"}),
            ("DELETE", "/.search", {"POST"}),
            ("POST", "/ServiceProviderConfig", {"GET", "HEAD"}),
            ("DELETE", "/Schemas/" + URN_USER, {"GET", "HEAD"}),
            ("PATCH", "/ResourceTypes/User", {"GET", "HEAD"}),
        ]
        for method, path, allow in cases:
            with self.subTest(method=method, path=path):
                r = self.request(method, path)
                self.assertScimError(r, 405)
                self.assertEqual(self.allow(r), allow)
        # Nothing was changed by the refused POST.
        self.assertEqual(self.get_user(u["id"])["meta"]["version"],
                         u["meta"]["version"])

    def test_head_of_a_post_only_endpoint(self):
        r = self.request("HEAD", "/Bulk")
        self.assertEqual(r.status, 405)
        self.assertEqual(self.allow(r), {"POST"})
        self.assertEqual(r.raw, b"")

    def test_options_is_501_with_allow(self):
        r = self.request("OPTIONS", "/Users")
        self.assertScimError(r, 501)
        self.assertEqual(self.allow(r), {"GET", "HEAD", "POST"})

    def test_me_stays_501(self):
        self.assertScimError(self.request("GET", "/Me"), 501)

    def test_unknown_path_stays_404(self):
        self.assertScimError(self.request("DELETE", "/Nope"), 404)

    def test_healthz_is_get_and_head_only(self):
        r = self.request("GET", "/healthz", base=False, token=None)
        self.assertStatus(r, 200)
        self.assertEqual(r.json, {"status": "ok"})
        r = self.request("HEAD", "/healthz", base=False, token=None)
        self.assertStatus(r, 200)
        self.assertEqual(r.raw, b"")
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            with self.subTest(method=method):
                r = self.request(method, "/healthz", body={}, base=False,
                                 token=None)
                self.assertScimError(r, 405)
                self.assertEqual(self.allow(r), {"GET", "HEAD"})
