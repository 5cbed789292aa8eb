# SPDX-License-Identifier: ISC
"""Acknowledged writes survive a crash: SIGKILL the daemon while concurrent
creates are in flight, restart it on the same database, and every user that
was answered 201 (and every acknowledged update and delete) is there."""

import http.client
import threading
import time
import unittest

from harness import URN_USER, Daemon, ScimTestCase, http_request, tag

THREADS = 8
TARGET_ACKED = 240


class DurabilityTest(ScimTestCase):

    def test_acknowledged_writes_survive_sigkill(self):
        t = tag("dur")
        port, token = self.port, self.token

        # Acknowledged updates and deletes before the crash.
        patched = self.create_user(t + "-patched")
        resp = self.patch("Users", patched["id"], {
            "op": "replace", "path": "title", "value": "after-patch"})
        self.assertIn(resp.status, (200, 204), resp)
        deleted = self.create_user(t + "-deleted")
        self.assertEqual(self.request("DELETE",
                                      "/Users/" + deleted["id"]).status, 204)
        grp = self.create_group("dur " + t, [patched["id"]])

        acked = []          # (id, userName) answered 201
        lock = threading.Lock()
        stop = threading.Event()
        errors = []

        def writer(n):
            i = 0
            while not stop.is_set():
                name = "%s-%d-%d" % (t, n, i)
                i += 1
                try:
                    resp = http_request(port, "POST", "/Users", {
                        "schemas": [URN_USER], "userName": name,
                        "title": "T" + name}, token=token, timeout=10)
                except (OSError, http.client.HTTPException):
                    return          # the daemon is gone
                if resp.status == 201:
                    with lock:
                        acked.append((resp.json["id"], name))
                elif not stop.is_set():
                    errors.append(resp)
                    return

        threads = [threading.Thread(target=writer, args=(n,), daemon=True)
                   for n in range(THREADS)]
        for th in threads:
            th.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not errors:
            with lock:
                if len(acked) >= TARGET_ACKED:
                    break
            time.sleep(0.005)
        # Crash with requests still in flight.
        self.daemon.kill()
        stop.set()
        for th in threads:
            th.join(15)
        self.assertFalse(errors, "create failed before the crash: %r"
                         % errors[:3])
        self.assertGreaterEqual(len(acked), TARGET_ACKED,
                                "too few creates acknowledged in 60 s")

        restarted = Daemon(self.workdir, self.db)
        restarted.start()
        type(self).daemon = restarted   # tearDownClass stops this one

        missing = []
        for uid, name in acked:
            resp = self.request("GET", "/Users/" + uid)
            if resp.status != 200 or resp.json.get("userName") != name:
                missing.append((uid, name, resp.status))
        self.assertEqual(missing, [], "%d of %d acknowledged users lost"
                         % (len(missing), len(acked)))

        # Everything listed is a whole user, no half-written rows.
        names = {n for _, n in acked}
        start, listed = 1, []
        while True:
            body = self.search("Users", 'userName sw "%s-"' % t,
                               startIndex=start, count=200)
            res = body.get("Resources", [])
            listed += res
            if not res or len(listed) >= body["totalResults"]:
                break
            start += len(res)
        for r in listed:
            if r["userName"] in (t + "-patched",):
                continue
            self.assertEqual(r.get("title"), "T" + r["userName"], r)
            self.assertIn(URN_USER, r["schemas"])
        self.assertLessEqual(names, {r["userName"] for r in listed})

        self.assertEqual(self.get_user(patched["id"])["title"], "after-patch")
        self.assertEqual(self.request("GET", "/Users/" + deleted["id"]).status,
                         404)
        self.assertEqual(self.member_ids(self.get_group(grp["id"])),
                         [patched["id"]])
        # The restarted daemon takes new writes.
        self.create_user(t + "-after")


if __name__ == "__main__":
    unittest.main()
