#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
#
# The delivery benchmark (issue 4, "Speed"): one script, one run.
#
#   bench/delivery_bench.sh [N]          (default 1000000 members)
#
# 1. bench/feed_gen.py fills a database with N people; a private OpenSSH
#    sshd (tests/e2e/sshd_fixture.py) and a vendor gpg key are made.
# 2. `rosterd serve` runs with a full-file CSV feed, PGP on, delivered to
#    that sshd, scheduled for one minute a little ahead. At that minute the
#    worker renders the N-member file, encrypts it and uploads it; the time
#    from the slot to the file's final name appearing on the server is the
#    delivery time (target < 5 s). Meanwhile wrk sends GET /Users/{id}
#    at a steady 2000/s (target p99 < 5 ms); the same wrk run before the
#    slot gives the idle figure. The gpg command line then encrypts the same plaintext for
#    reference, and the vendor's gpg decrypts the delivered file, which
#    must be the rendered bytes.
# 3. 100 SCIM PATCH active:false, sent at once; the feed's off-cycle
#    window is 60 s. `rosterd feed lag` gives the lag of each termination
#    from the PATCH to the off-cycle file on the server (target p99 < 65 s).
#
# Prints a table and exits 1 when a target is missed, 2 when the bench
# cannot run (a tool or a part of rosterd is missing: it says which).
#
# Environment: ROSTERD_BIN (default build/rosterd; build with
# --buildtype=release for real figures), BENCH_DIR (default a new
# temporary directory, removed at the end unless BENCH_KEEP=1), PYTHON,
# BENCH_WRK_S (seconds of wrk load from the slot, default 6),
# BENCH_WRK_C (wrk connections, default 4), BENCH_RPS (the steady
# request rate they send together, default 2000/s; wrk's delay()),
# BENCH_TERMS (default 100), BENCH_WINDOW (default 60),
# BENCH_SKIP_LAG=1 (only the delivery and the API under load).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
n=${1:-1000000}
bin=${ROSTERD_BIN:-$root/build/rosterd}
py=${PYTHON:-/usr/bin/python3}
wrk_s=${BENCH_WRK_S:-6}
wrk_c=${BENCH_WRK_C:-4}
wrk_rps=${BENCH_RPS:-2000}
terms=${BENCH_TERMS:-100}
window=${BENCH_WINDOW:-60}

say() { printf 'delivery_bench: %s\n' "$*" >&2; }
cannot() {
	say "CANNOT RUN: $*"
	exit 2
}

[ -x "$bin" ] || cannot "$bin is not executable; build rosterd first"
for t in wrk gpg ssh-keygen "$py"; do
	command -v "$t" >/dev/null || cannot "$t is not installed"
done
[ -x /usr/sbin/sshd ] || cannot "/usr/sbin/sshd is missing (openssh-server)"
"$bin" feed lag --help >/dev/null 2>&1 ||
	cannot "this rosterd has no 'feed lag' (the delivery worker)"
"$bin" serve --help 2>&1 | grep -q . || cannot "rosterd serve is missing"

if [ -n "${BENCH_DIR:-}" ]; then
	dir=$BENCH_DIR
	mkdir -p "$dir"
else
	dir=$(mktemp -d "${TMPDIR:-/tmp}/rosterd-delivery-bench.XXXXXX")
fi
dir=$(cd "$dir" && pwd)
db=$dir/rosterd.db
cfg=$dir/rosterd.yaml
log=$dir/serve.log
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	if [ -z "${BENCH_DIR:-}" ] && [ "${BENCH_KEEP:-0}" != 1 ]; then
		rm -rf "$dir"
	fi
}
trap cleanup EXIT
rm -rf "$db" "$db-wal" "$db-shm" "$dir/outbox" "$dir/vendor" "$log" \
	"$dir/gnupg" "$dir/spool" "$dir/locks" "$dir"/*.csv "$dir"/*.pgp
mkdir -p "$dir/outbox"

now_ms() { date +%s%3N; }

# --- 1. data, sshd, gpg ---------------------------------------------------
say "vendor gpg key"
mkdir -m 700 "$dir/vendor"
gpg --homedir "$dir/vendor" --batch --pinentry-mode loopback --passphrase '' \
	--quick-gen-key 'Vendor <v@example.com>' future-default default never \
	>/dev/null 2>&1 || cannot "gpg cannot make a key"
gpg --homedir "$dir/vendor" --armor --export v@example.com >"$dir/vendor.asc"

say "sshd on a loopback port"
"$py" "$root/tests/e2e/sshd_fixture.py" >"$dir/sshd.env" 2>"$dir/sshd.err" &
pids+=($!)
for _ in $(seq 100); do
	grep -q '^URL=' "$dir/sshd.env" 2>/dev/null && break
	sleep 0.1
done
grep -q '^URL=' "$dir/sshd.env" || cannot "sshd did not start: $(cat "$dir/sshd.err")"
sftp_url=$(sed -n 's/^URL=//p' "$dir/sshd.env")
sftp_key=$(sed -n 's/^ROSTERD_TEST_SFTP_KEY=//p' "$dir/sshd.env")
sftp_fpr=$(sed -n 's/^ROSTERD_TEST_SFTP_FINGERPRINT=//p' "$dir/sshd.env")
sftp_root=$(sed -n 's/^ROSTERD_TEST_SFTP_ROOT=//p' "$dir/sshd.env")

say "database with $n people (bench/feed_gen.py)"
"$bin" tenant create bench --rate 1000000 --burst 1000000 --db "$db" >/dev/null 2>&1
token=$("$bin" token create --tenant bench --scopes scim --db "$db" 2>/dev/null)
"$py" "$here/feed_gen.py" "$db" --tenant bench --people "$n" >&2

# write_config CRON
write_config() {
	cat >"$cfg" <<YAML
server:
  outbox: $dir/outbox
feeds:
  bench-full:
    tenant: bench
    eligibility: 'active eq true'
    mode: full
    format: csv
    columns:
      - {name: member_id, header: Member ID, source: externalId}
      - {name: first_name, header: First Name, source: name.givenName}
      - {name: last_name, header: Last Name, source: name.familyName}
      - {name: email, header: Work Email,
         source: 'emails[type eq "work"].value', case: lower}
      - {name: dob, header: Date of Birth, source: eligibility:birthDate,
         date_format: '%m/%d/%Y'}
      - {name: hire_date, header: Hire Date, source: eligibility:hireDate,
         date_format: '%m/%d/%Y'}
      - {name: department, header: Department, source: enterprise:department}
      - name: action
        header: Action
        source: \$action
        map: {add: A, change: C, terminate: T, reinstate: R, none: ''}
      - {name: term_date, header: Termination Date, source: \$term_date,
         date_format: '%m/%d/%Y'}
    file_name: '{tenant}-{feed}-{date}-{seq:4}.csv'
    approval: {first_run: false}
delivery:
  bench-full:
    destination: $sftp_url
    ssh_key: $sftp_key
    host_key_sha256: "SHA256:$sftp_fpr"
    pgp: {recipient_key: $dir/vendor.asc, keep_plaintext: true}
    schedule: "$1"
    timezone: UTC
    offcycle: {enabled: true, window: $window, daily_cap: 10}
YAML
}

# The steady state the benchmark measures: the feed was sent once (this
# first file is rendered here by the CLI, the worker delivers it at
# start), then 1% of the people changed (bench/feed_gen.py --delta 1).
write_config "0 0 1 1 *"
say "first full file, rendered by the CLI (not timed)"
"$bin" feed render bench-full --config "$cfg" --db "$db" >&2
"$py" "$here/feed_gen.py" "$db" --tenant bench --delta 1 >&2
# Those changes predate the bench: not off-cycle terminations.
"$py" -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("DELETE FROM offcycle_events")
c.commit()' "$db"

# The slot: the first whole minute at least 40 s from now (UTC).
slot=$(( ($(date +%s) + 40 + 59) / 60 * 60 ))
write_config "$(date -u -d "@$slot" '+%-M %-H %-d %-m *')"


# GET /Users/{id}: ids of feed_gen.py's people.
"$py" - "$n" >"$dir/ids.txt" <<'PY'
import random, sys
n = int(sys.argv[1])
rng = random.Random(7)
for _ in range(20000):
    i = rng.randrange(n)
    print("%08x-0000-4000-8000-%012x" % (i, i))
PY

say "rosterd serve (the feed fires at $(date -u -d "@$slot" +%H:%M:%S) UTC)"
port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ROSTERD_FEED_TRACE=1 "$bin" serve --config "$cfg" --db "$db" \
	--listen "127.0.0.1:$port" >"$log" 2>&1 &
serve_pid=$!
pids+=("$serve_pid")
for _ in $(seq 100); do
	grep -q 'listening' "$log" && break
	sleep 0.1
done
grep -q 'listening' "$log" || cannot "rosterd serve did not start: $(cat "$log")"
grep -q 'worker: delivering' "$log" ||
	cannot "rosterd serve started no delivery worker: $(cat "$log")"
say "the worker delivers the first file"
for _ in $(seq 600); do
	[ -n "$(find "$sftp_root" -maxdepth 1 -name '*-0001.csv.pgp')" ] && break
	sleep 0.1
done
[ -n "$(find "$sftp_root" -maxdepth 1 -name '*-0001.csv.pgp')" ] ||
	cannot "the first file was not delivered: $(tail -5 "$log")"

export BENCH_LUA_DIR=$here/wrk BENCH_IDS=$dir/ids.txt
export BENCH_DELAY_MS=$(( wrk_c * 1000 / wrk_rps ))
run_wrk() { # OUT SECONDS
	wrk -t1 -c"$wrk_c" -d"$2"s --latency -H "Authorization: Bearer $token" \
		-s "$here/delivery_wrk.lua" "http://127.0.0.1:$port" >"$1" 2>&1
}
bench_field() { # FILE FIELD
	sed -n "s/^BENCH .*$2=\\([0-9.]*\\).*/\\1/p" "$1"
}

# Idle figure, well before the slot.
run_wrk "$dir/wrk-idle.txt" 5
idle_p99=$(bench_field "$dir/wrk-idle.txt" p99_us)

# --- 2. the scheduled full file --------------------------------------------
while [ "$(now_ms)" -lt $(( slot * 1000 - 300 )) ]; do
	sleep 0.05
done
say "slot: wrk for ${wrk_s} s while the worker renders, encrypts, uploads"
run_wrk "$dir/wrk-load.txt" "$wrk_s" &
wrk_pid=$!
done_ms=
while [ "$(now_ms)" -lt $(( (slot + 180) * 1000 )) ]; do
	f=$(find "$sftp_root" -maxdepth 1 -type f -name 'bench-bench-full-*-0002.csv.pgp' | head -1)
	if [ -n "$f" ]; then
		done_ms=$(now_ms)
		break
	fi
	sleep 0.02
done
wait "$wrk_pid" || true
[ -n "$done_ms" ] || { cat "$log" >&2; cannot "no file reached the SFTP server within 180 s"; }
delivery_ms=$(( done_ms - slot * 1000 ))
load_p99=$(bench_field "$dir/wrk-load.txt" p99_us)
load_rps=$(bench_field "$dir/wrk-load.txt" rps)
load_bad=$(( $(bench_field "$dir/wrk-load.txt" non2xx) + $(bench_field "$dir/wrk-load.txt" sockerr) ))
size=$(stat -c %s "$f")

plain=$(find "$dir/outbox" -maxdepth 1 -type f -name 'bench-bench-full-*-0002.csv' | head -1)
[ -n "$plain" ] || cannot "the plaintext was not kept (pgp.keep_plaintext)"
plain_size=$(stat -c %s "$plain")
rows=$(( $(wc -l <"$plain") - 1 ))
say "gpg command line on the same plaintext ($plain_size bytes)"
t0=$(now_ms)
gpg --homedir "$dir/vendor" --batch --yes --trust-model always \
	-r v@example.com -o "$dir/gpg-cli.pgp" --encrypt "$plain"
gpg_ms=$(( $(now_ms) - t0 ))
say "vendor decrypts the delivered file"
gpg --homedir "$dir/vendor" --batch --yes --quiet -o "$dir/decrypted.csv" \
	--decrypt "$f" 2>/dev/null
if cmp -s "$dir/decrypted.csv" "$plain"; then same=yes; else same=NO; fi
render_trace=$(grep -E '^feed: ' "$log" | tail -4 | tr -s ' ' | paste -sd';' - || true)

# --- 3. termination lag -------------------------------------------------------
lag_p50=- lag_p99=- lag_max=- lag_n=0
if [ "${BENCH_SKIP_LAG:-0}" != 1 ]; then
	say "$terms SCIM deactivations; off-cycle window $window s"
	"$py" - "$port" "$token" "$n" "$terms" <<'PY'
import http.client, json, sys
port, token, n, k = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
body = json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "replace", "value": {"active": False}}]})
for j in range(k):
    i = (j * 7919 + 13) % n
    if i % 100 == 0:  # feed_gen.py --delta 1 touched it: maybe inactive
        i += 1
    c.request("PATCH", "/scim/v2/Users/%08x-0000-4000-8000-%012x" % (i, i), body,
              {"Authorization": "Bearer " + token,
               "Content-Type": "application/scim+json"})
    r = c.getresponse(); r.read()
    if r.status != 200:
        sys.exit("PATCH %d: HTTP %d" % (i, r.status))
PY
	deadline=$(( $(date +%s) + window + 120 ))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		lag_n=$("$bin" feed lag bench-full --limit "$terms" --json --db "$db" 2>/dev/null |
			"$py" -c 'import json,sys; print(json.load(sys.stdin)["summary"]["count"])')
		[ "$lag_n" -ge "$terms" ] && break
		sleep 1
	done
	read -r lag_n lag_p50 lag_p99 lag_max < <("$bin" feed lag bench-full \
		--limit "$terms" --json --db "$db" 2>/dev/null | "$py" -c '
import json, sys
s = json.load(sys.stdin)["summary"]
print(s["count"], s.get("p50_ms", "-"), s.get("p99_ms", "-"), s.get("max_ms", "-"))')
fi

kill "$serve_pid" 2>/dev/null || true
wait "$serve_pid" 2>/dev/null || true

# --- report ---------------------------------------------------------------
fail=0
check() { # LABEL VALUE TARGET OK
	local res=PASS
	[ "$4" = 1 ] || { res=FAIL; fail=1; }
	printf '%-52s %16s %14s  %s\n' "$1" "$2" "$3" "$res"
}
echo
echo "rosterd delivery benchmark: $rows members, $(nproc) CPUs, $(uname -r)"
echo "render phases (ROSTERD_FEED_TRACE): ${render_trace:-none logged}"
printf '%-52s %16s %14s  %s\n' "measure" "value" "target" ""
check "full file rendered+encrypted+delivered (slot->file)" \
	"$(awk "BEGIN{printf \"%.2f s\", $delivery_ms/1000}")" "< 5 s" \
	"$([ "$delivery_ms" -lt 5000 ] && echo 1 || echo 0)"
printf '%-52s %16s %14s\n' "  gpg command line alone, same plaintext" \
	"$(awk "BEGIN{printf \"%.2f s\", $gpg_ms/1000}")" "(reference)"
printf '%-52s %16s %14s\n' "  file: plaintext / encrypted" \
	"$((plain_size / 1048576)) / $((size / 1048576)) MiB" ""
check "  vendor's gpg decrypts it to the rendered bytes" "$same" "yes" \
	"$([ "$same" = yes ] && echo 1 || echo 0)"
check "GET /Users/{id} p99 during the delivery" \
	"$(awk "BEGIN{printf \"%.2f ms\", $load_p99/1000}")" "< 5 ms" \
	"$([ "$load_p99" -lt 5000 ] && [ "$load_bad" -eq 0 ] && echo 1 || echo 0)"
printf '%-52s %16s %14s\n' "  req/s during the delivery (wrk -t1 -c$wrk_c, paced)" "$load_rps" ""
printf '%-52s %16s %14s\n' "  p99 idle, same wrk" \
	"$(awk "BEGIN{printf \"%.2f ms\", $idle_p99/1000}")" ""
if [ "${BENCH_SKIP_LAG:-0}" != 1 ]; then
	ok=0
	if [ "$lag_n" -ge "$terms" ] && [ "$lag_p99" != - ] &&
		[ "$lag_p99" -lt $(( (window + 5) * 1000 )) ]; then
		ok=1
	fi
	check "termination lag p99 ($lag_n of $terms, window $window s)" \
		"$(awk "BEGIN{printf \"%.1f s\", $lag_p99/1000}" 2>/dev/null || echo -)" \
		"< $((window + 5)) s" "$ok"
	printf '%-52s %16s %14s\n' "  median / max" \
		"$(awk "BEGIN{printf \"%.1f / %.1f s\", $lag_p50/1000, $lag_max/1000}" 2>/dev/null || echo -)" ""
else
	echo "termination lag: skipped (BENCH_SKIP_LAG=1)"
fi
exit "$fail"
