# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
"""Points found by a conformance audit against RFC 7643, RFC 7644 and
RFC 9865: each test names the section it checks."""

from urllib.parse import quote

import harness
from harness import ScimTestCase, URN_BULKREQ, URN_USER


class BulkLocationTest(ScimTestCase):
    """RFC 7644 §3.7 ("location ... REQUIRED in a response, except in the
    event of a POST failure") and §3.7.3."""

    def bulk(self, ops):
        r = self.request("POST", "/Bulk", {"schemas": [URN_BULKREQ],
                                           "Operations": ops})
        self.assertStatus(r, 200)
        return r.json["Operations"]

    def test_every_operation_but_a_failed_post_has_a_location(self):
        t = harness.tag("bl")
        ops = self.bulk([
            {"method": "POST", "path": "/Users", "bulkId": "u1",
             "data": {"schemas": [URN_USER], "userName": t}},
            {"method": "PUT", "path": "/Users/bulkId:u1", "version": 'W/"9"',
             "data": {"schemas": [URN_USER], "userName": t}},
            {"method": "PATCH", "path": "/Users/no-such-user",
             "data": {"schemas": [harness.URN_PATCH], "Operations": [
                 {"op": "replace", "path": "title", "value": "x"}]}},
            {"method": "DELETE", "path": "/Users/bulkId:u1"},
            {"method": "POST", "path": "/Users", "bulkId": "u2",
             "data": {"schemas": [URN_USER]}}])
        self.assertEqual([o["status"] for o in ops],
                         ["201", "412", "404", "204", "400"])
        uloc = ops[0]["location"]
        uid = uloc.rsplit("/", 1)[1]
        self.assertTrue(uloc.endswith("/Users/" + uid))
        # The failed PUT and the DELETE name the resolved resource.
        self.assertEqual(ops[1].get("location"), uloc, ops[1])
        self.assertEqual(ops[3].get("location"), uloc, ops[3])
        self.assertTrue(ops[2].get("location", "").endswith(
            "/Users/no-such-user"), ops[2])
        self.assertNotIn("location", ops[4])
        for o in ops[1:3] + ops[4:]:
            self.assertEqual(o["response"]["status"], o["status"])
