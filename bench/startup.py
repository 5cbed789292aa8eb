#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Measure rosterd's start-up time: from just before the process is spawned
(pinned to one CPU) to the first HTTP response on its listening socket,
best of --runs. Prints "STARTUP best_ms=... all_ms=..." on success.

A connection the kernel queues before the server calls accept() would count
as "accepted" too early, so this waits for the first bytes of a real HTTP
response instead: the figure includes opening the database.
"""

import argparse
import os
import socket
import subprocess
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_response(port, proc, deadline):
    req = (b"GET /scim/v2/ServiceProviderConfig HTTP/1.1\r\n"
           b"Host: 127.0.0.1\r\nConnection: close\r\n\r\n")
    while time.perf_counter() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(req)
                if s.recv(1):
                    return time.perf_counter()
        except (ConnectionRefusedError, ConnectionResetError):
            pass
        if proc.poll() is not None:
            raise RuntimeError("rosterd exited with status %d" % proc.returncode)
        time.sleep(0.0002)
    raise RuntimeError("no response within the deadline")


def one_run(args, log):
    port = free_port()
    cmd = [args.bin, "serve", "--db", args.db,
           "--listen", "127.0.0.1:%d" % port] + args.extra
    cpu = args.cpu

    def pin():
        os.sched_setaffinity(0, {cpu})

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=log,
                            preexec_fn=pin)
    try:
        t1 = first_response(port, proc, t0 + 10)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return (t1 - t0) * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--cpu", type=int, default=0)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--log", default=os.devnull)
    ap.add_argument("extra", nargs="*", help="more `serve` arguments")
    args = ap.parse_args()
    times = []
    with open(args.log, "ab") as log:
        for _ in range(args.runs):
            try:
                times.append(one_run(args, log))
            except RuntimeError as e:
                sys.exit("startup.py: %s (see %s)" % (e, args.log))
    print("STARTUP best_ms=%.1f all_ms=%s" %
          (min(times), ",".join("%.1f" % t for t in times)))


if __name__ == "__main__":
    main()
