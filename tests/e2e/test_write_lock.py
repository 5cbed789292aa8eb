# SPDX-License-Identifier: ISC
"""Another process holding the write lock (an HRIS import, a feed render,
any rosterd command) must not stall the API: reads keep being answered at
once, writes wait for the lock without blocking the event loop and then
succeed, and a write that waits too long gets 503 with Retry-After."""

import sqlite3
import threading
import time
import unittest

from harness import URN_USER, ScimTestCase, http_request, tag


class WriteLockTest(ScimTestCase):

    def hold_lock(self):
        """A connection holding the write lock, as a long import does."""
        con = sqlite3.connect(self.db, timeout=10, isolation_level=None)
        con.execute("BEGIN IMMEDIATE")
        return con

    def post_later(self, name, out):
        def run():
            t0 = time.monotonic()
            resp = http_request(self.port, "POST", "/Users", {
                "schemas": [URN_USER], "userName": name}, token=self.token,
                timeout=30)
            out.append((resp, time.monotonic() - t0))
        th = threading.Thread(target=run, daemon=True)
        th.start()
        return th

    def test_reads_go_on_while_writes_wait_for_the_lock(self):
        t = tag("wl")
        seen = self.create_user(t + "-seen")
        con = self.hold_lock()
        try:
            out1, out2 = [], []
            w1 = self.post_later(t + "-1", out1)
            time.sleep(0.2)
            w2 = self.post_later(t + "-2", out2)
            time.sleep(0.2)
            # The loop is free: a read answers at once, though two writes
            # wait for the lock.
            for _ in range(3):
                t0 = time.monotonic()
                resp = self.request("GET", "/Users/" + seen["id"])
                self.assertEqual(resp.status, 200, resp)
                self.assertLess(time.monotonic() - t0, 0.5)
            self.assertEqual(out1, [])
            self.assertEqual(out2, [])
            time.sleep(1.0)
        finally:
            con.rollback()
            con.close()
        w1.join(10)
        w2.join(10)
        for out in (out1, out2):
            self.assertEqual(len(out), 1)
            resp, took = out[0]
            self.assertEqual(resp.status, 201, resp)
            self.assertGreater(took, 1.0)
        # In the order they came: the first waiting write has the lower
        # position in the history.
        a = self.request("GET", "/Users?filter=userName%20sw%20%22" + t +
                         "-%22&sortBy=meta.created")
        self.assertEqual(a.status, 200, a)
        names = [u["userName"] for u in a.json["Resources"]]
        self.assertEqual(names[-2:], [t + "-1", t + "-2"])

    def test_a_write_waiting_too_long_gets_503(self):
        t = tag("wl503")
        con = self.hold_lock()
        try:
            t0 = time.monotonic()
            resp = http_request(self.port, "POST", "/Users", {
                "schemas": [URN_USER], "userName": t}, token=self.token,
                timeout=30)
            took = time.monotonic() - t0
        finally:
            con.rollback()
            con.close()
        self.assertEqual(resp.status, 503, resp)
        self.assertEqual(resp.json["status"], "503")
        self.assertEqual(resp.headers.get("Retry-After"), "5")
        self.assertIn("busy", resp.json["detail"])
        self.assertGreater(took, 9.5)
        self.assertLess(took, 15.0)
        # Nothing was written, and the next write goes through.
        resp = self.request("GET", "/Users?filter=userName%20eq%20%22" + t +
                            "%22")
        self.assertEqual(resp.json["totalResults"], 0)
        self.create_user(t + "-after")


if __name__ == "__main__":
    unittest.main()
