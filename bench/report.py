#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Print the benchmark table from the results file scim_bench.sh writes.

Each line of the file is "<key> <name>=<value> ...". Targets come from the
foundation issue's "Speed and memory" section. Exits 1 when a target is
missed, so a run can be checked by its status.
"""

import sys

LABELS = {
    "get_id": "GET /Users/{id}",
    "filter": 'GET /Users?filter=userName eq "..."',
    "page": "GET /Users?startIndex=1&count=100",
    "post": "POST /Users (durable)",
}


def parse(path):
    res = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            kv = {}
            for p in parts[1:]:
                if "=" in p:
                    k, v = p.split("=", 1)
                    kv[k] = v
            res[parts[0]] = kv
    return res


def num(d, k, default=0.0):
    try:
        return float(d.get(k, default))
    except ValueError:
        return default


def ms(us):
    return "%.2f ms" % (us / 1000.0)


def main():
    res = parse(sys.argv[1])
    rows = []
    failed = False

    nginx = res.get("nginx", {})
    nginx_rps = num(nginx, "rps")

    def ratio(rps):
        return "%.0f%%" % (100.0 * rps / nginx_rps) if nginx_rps else "-"

    if nginx:
        rows.append(("nginx static ~600 B JSON", "%.0f" % nginx_rps,
                     ms(num(nginx, "p99_us")), "100%", "reference", "-"))

    def wrk_row(key, target, ok_fn):
        nonlocal failed
        d = res.get(key)
        if d is None:
            rows.append((LABELS[key], "-", "-", "-", target, "NOT RUN"))
            failed = True
            return
        rps = num(d, "rps")
        p99 = num(d, "p99_us")
        bad = int(num(d, "non2xx")) + int(num(d, "sockerr"))
        ok = ok_fn(rps, p99) and bad == 0
        verdict = "PASS" if ok else "FAIL"
        if bad:
            verdict += " (%d errors)" % bad
        failed = failed or not ok
        rows.append((LABELS[key], "%.0f" % rps, ms(p99), ratio(rps), target,
                     verdict))

    wrk_row("get_id", ">= 50% nginx, p99 < 2 ms",
            lambda r, p: nginx_rps > 0 and r >= 0.5 * nginx_rps and p < 2000)
    wrk_row("filter", ">= 40% nginx",
            lambda r, p: nginx_rps > 0 and r >= 0.4 * nginx_rps)
    wrk_row("page", ">= 3,000 pages/s", lambda r, p: r >= 3000)
    wrk_row("post", ">= 10,000/s", lambda r, p: r >= 10000)

    rss = res.get("rss")
    if rss:
        mib = num(rss, "kib") / 1024.0
        ok = mib < 64
        failed = failed or not ok
        users = int(num(res.get("meta", {}), "users", 100000))
        rows.append(("resident memory, %d users" % users, "-",
                     "%.1f MiB" % mib, "-", "< 64 MiB",
                     "PASS" if ok else "FAIL"))
    st = res.get("startup")
    if st:
        best = num(st, "best_ms")
        ok = best < 100
        failed = failed or not ok
        rows.append(("start-up (best of 5)", "-", "%.1f ms" % best, "-",
                     "< 100 ms", "PASS" if ok else "FAIL"))

    head = ("test", "req/s", "p99 / value", "vs nginx", "target", "result")
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    line = "  ".join("%-*s" % (w, h) for w, h in zip(widths, head))
    print(line)
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join("%-*s" % (w, c) for w, c in zip(widths, r)))
    extra = []
    if rss and "hwm_kib" in rss:
        extra.append("peak RSS (VmHWM) %.1f MiB" % (num(rss, "hwm_kib") / 1024))
    if "rss_after_post" in res:
        extra.append("RSS after the POST run %.1f MiB" %
                     (num(res["rss_after_post"], "kib") / 1024))
    if st and "all_ms" in st:
        extra.append("start-up runs (ms): %s" % st["all_ms"])
    for e in extra:
        print(e)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
