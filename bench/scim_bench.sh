#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# rosterd SCIM benchmark, one script, one run (see bench/README.md):
#   - a release build of rosterd on a temporary database, pinned to one CPU;
#   - 100,000 users loaded through POST /Bulk;
#   - wrk pinned to the other CPU, -t2 -c32, 10 s after a 2 s warm-up, for
#     GET /Users/{id}, GET /Users?filter=userName eq "...",
#     GET /Users?startIndex=1&count=100 and POST /Users;
#   - nginx (one worker, same CPU as rosterd) serving a static ~600-byte JSON
#     file with the same wrk settings, as the physical limit;
#   - resident memory with 100,000 users and start-up time (best of 5);
#   - a table with req/s, p99, the ratio to nginx and PASS/FAIL per target.
# Exits 1 when a target is missed (the table is printed either way).
#
# Environment (defaults in brackets):
#   BENCH_USERS [100000]  BENCH_DURATION [10s]  BENCH_WARMUP [2s]
#   BENCH_THREADS [2]  BENCH_CONNS [32]
#   BENCH_SERVER_CPU [0]  BENCH_CLIENT_CPU [1]
#   BENCH_KEEP=1          keep the temporary directory (DB, logs, wrk output)
#   BENCH_BIN=PATH        benchmark this binary instead of building build-release
#   ROSTERD_SKIP_SETUP=1  do not check/install packages
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
BENCH=$ROOT/bench

USERS=${BENCH_USERS:-100000}
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNS:-32}
SERVER_CPU=${BENCH_SERVER_CPU:-0}
CLIENT_CPU=${BENCH_CLIENT_CPU:-1}
BUILD=build-release
BIN=$ROOT/$BUILD/rosterd

export LC_ALL=C.UTF-8
# nginx lives in /usr/sbin, which is not on a normal user's PATH on Debian.
export PATH=$PATH:/usr/sbin:/sbin

say() { printf '==> %s\n' "$*" >&2; }
die() {
	printf 'scim_bench: %s\n' "$*" >&2
	exit 1
}

# --- prerequisites ----------------------------------------------------------
"$ROOT/scripts/setup.sh"
for cmd in wrk nginx taskset python3 curl meson ninja; do
	command -v "$cmd" >/dev/null 2>&1 || die "$cmd not found (run scripts/setup.sh)"
done
ncpu=$(nproc)
((ncpu >= 2)) || die "needs 2 CPUs (server and wrk on separate cores), found $ncpu"

if [[ -n "${BENCH_BIN:-}" ]]; then
	BIN=$BENCH_BIN
	say "using BENCH_BIN=$BIN (no build)"
else
	say "release build in $BUILD"
	if [[ -f "$BUILD/meson-private/coredata.dat" ]]; then
		meson setup --reconfigure "$BUILD" --buildtype=release -Dtests=false >/dev/null
	else
		meson setup "$BUILD" --buildtype=release -Dtests=false >/dev/null
	fi
	ninja -C "$BUILD" rosterd >/dev/null
fi

# --- temporary workspace and cleanup ----------------------------------------
TMP=$(mktemp -d /tmp/rosterd-bench.XXXXXX)
SERVER_PID=""
NGINX_PID=""
cleanup() {
	# Only the processes this script started, by their pid.
	if [[ -n "$NGINX_PID" ]]; then
		kill "$NGINX_PID" 2>/dev/null || true
		wait "$NGINX_PID" 2>/dev/null || true
	fi
	if [[ -n "$SERVER_PID" ]]; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	if [[ "${BENCH_KEEP:-}" == 1 ]]; then
		say "kept $TMP"
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

DB=$TMP/bench.db
RESULTS=$TMP/results.txt
printf 'meta users=%s\n' "$USERS" >"$RESULTS"
PORT=$(free_port)
BASE_URL=http://127.0.0.1:$PORT/scim/v2

# wait_http URL [HEADER]: until the URL answers at all (any HTTP status).
wait_http() {
	local url=$1 i code
	shift
	for ((i = 0; i < 200; i++)); do
		code=$(curl -s -o /dev/null -w '%{http_code}' "$@" "$url" || true)
		[[ "$code" != 000 ]] && return 0
		sleep 0.05
	done
	return 1
}

# --- tenant, token, server --------------------------------------------------
say "database $DB: tenant bench, token (scopes scim,admin)"
# The benchmark must measure the server, not the per-token rate limiter's
# 429s: give the tenant a bucket far above anything wrk can reach.
"$BIN" tenant create bench --rate 1000000 --burst 1000000 --db "$DB" >/dev/null
TOKEN=$("$BIN" token create --tenant bench --scopes scim,admin --name bench --db "$DB")
[[ -n "$TOKEN" ]] || die "token create printed no token"
AUTH="Authorization: Bearer $TOKEN"

start_server() {
	taskset -c "$SERVER_CPU" "$BIN" serve --db "$DB" --listen "127.0.0.1:$PORT" \
		--log-level warn >>"$TMP/server.log" 2>&1 &
	SERVER_PID=$!
	if ! wait_http "$BASE_URL/ServiceProviderConfig" -H "$AUTH"; then
		tail -n 20 "$TMP/server.log" >&2 || true
		die "rosterd did not answer on $BASE_URL"
	fi
}

stop_server() {
	kill "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=""
}

say "starting rosterd on CPU $SERVER_CPU at $BASE_URL"
start_server

say "loading $USERS users (POST /Bulk, 1000 per request, 4 threads)"
BENCH_TOKEN=$TOKEN python3 "$BENCH/load_users.py" --base "$BASE_URL" \
	--users "$USERS" --ids "$TMP/ids.txt" --names "$TMP/names.txt"
total=$(curl -s -H "$AUTH" "$BASE_URL/Users?count=0" |
	python3 -c 'import json, sys; print(json.load(sys.stdin).get("totalResults", -1))')
[[ "$total" == "$USERS" ]] || die "server reports totalResults=$total, expected $USERS"

# --- wrk runs ---------------------------------------------------------------
export BENCH_LUA_DIR=$BENCH/wrk BENCH_IDS=$TMP/ids.txt BENCH_NAMES=$TMP/names.txt

# run_wrk KEY LABEL SCRIPT URL [HEADER...]: warm-up, then the measured run;
# the script's BENCH line goes to the results file under KEY.
run_wrk() {
	local key=$1 label=$2 script=$3 url=$4
	shift 4
	local hdr=()
	for h in "$@"; do
		hdr+=(-H "$h")
	done
	say "$label: warm-up $WARMUP"
	BENCH_RUN="warm$RANDOM$$" taskset -c "$CLIENT_CPU" \
		wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" "${hdr[@]}" \
		-s "$BENCH/wrk/$script" "$url" >"$TMP/wrk-$key-warmup.txt" 2>&1 ||
		die "wrk warm-up failed: $(cat "$TMP/wrk-$key-warmup.txt")"
	say "$label: wrk -t$THREADS -c$CONNS -d$DURATION --latency (on CPU $CLIENT_CPU)"
	BENCH_RUN="run$RANDOM$$" taskset -c "$CLIENT_CPU" \
		wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "${hdr[@]}" \
		-s "$BENCH/wrk/$script" "$url" >"$TMP/wrk-$key.txt" 2>&1 ||
		die "wrk failed: $(cat "$TMP/wrk-$key.txt")"
	grep -v '^BENCH ' "$TMP/wrk-$key.txt" | sed 's/^/    /' >&2
	local line
	line=$(grep '^BENCH ' "$TMP/wrk-$key.txt") || die "no BENCH line from wrk ($key)"
	printf '%s %s\n' "$key" "${line#BENCH }" >>"$RESULTS"
}

# nginx: the physical limit, same CPU as rosterd, one worker, a private
# config and prefix; access log off and long keep-alive so it measures
# serving, not logging or reconnecting.
NGINX_PORT=$(free_port)
WWW=$(mktemp -d /tmp/rosterd-bench-www.XXXXXX)
chmod 755 "$WWW"
install -m 644 "$BENCH/static-user.json" "$WWW/user.json"
mkdir -p "$TMP/nginx"
# Not root: Debian's compiled-in temp paths under /var/lib/nginx are not
# writable, so point them into the private prefix.
temp_paths=""
if [[ "$(id -u)" != 0 ]]; then
	for t in client_body proxy fastcgi uwsgi scgi; do
		temp_paths+="	${t}_temp_path $TMP/nginx/$t;"$'\n'
	done
fi
cat >"$TMP/nginx/nginx.conf" <<EOF
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	keepalive_requests 1000000;
	types { application/json json; }
	default_type application/json;
$temp_paths	server {
		listen 127.0.0.1:$NGINX_PORT;
		root $WWW;
	}
}
EOF
say "starting nginx on CPU $SERVER_CPU at http://127.0.0.1:$NGINX_PORT/user.json"
taskset -c "$SERVER_CPU" nginx -p "$TMP/nginx" -e "$TMP/nginx/error.log" \
	-c "$TMP/nginx/nginx.conf" -g 'daemon off; worker_processes 1;' \
	>>"$TMP/nginx/stdout.log" 2>&1 &
NGINX_PID=$!
wait_http "http://127.0.0.1:$NGINX_PORT/user.json" ||
	die "nginx did not start: $(cat "$TMP/nginx/error.log" 2>/dev/null)"
run_wrk nginx "nginx static $(wc -c <"$WWW/user.json") B" plain.lua \
	"http://127.0.0.1:$NGINX_PORT/user.json"
kill "$NGINX_PID" 2>/dev/null || true
wait "$NGINX_PID" 2>/dev/null || true
NGINX_PID=""
rm -rf "$WWW"

run_wrk get_id "GET /Users/{id}" get_user.lua "http://127.0.0.1:$PORT" "$AUTH"
run_wrk filter 'GET /Users?filter=userName eq "..."' filter_user.lua \
	"http://127.0.0.1:$PORT" "$AUTH"
run_wrk page "GET /Users?startIndex=1&count=100" plain.lua \
	"$BASE_URL/Users?startIndex=1&count=100" "$AUTH"

# Memory with the 100,000 users loaded and read through.
rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status")
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status")
printf 'rss kib=%s hwm_kib=%s\n' "$rss" "$hwm" >>"$RESULTS"
say "resident memory: VmRSS $((rss / 1024)) MiB, VmHWM $((hwm / 1024)) MiB"

run_wrk post "POST /Users" post_user.lua "http://127.0.0.1:$PORT" "$AUTH"
rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status")
printf 'rss_after_post kib=%s\n' "$rss" >>"$RESULTS"

stop_server

# --- start-up ---------------------------------------------------------------
say "start-up time: exec to first HTTP response, best of 5 (CPU $SERVER_CPU)"
python3 "$BENCH/startup.py" --bin "$BIN" --db "$DB" --cpu "$SERVER_CPU" \
	--runs 5 --log "$TMP/server.log" -- --log-level warn >"$TMP/startup.txt"
printf 'startup %s\n' "$(sed 's/^STARTUP //' "$TMP/startup.txt")" >>"$RESULTS"

# --- table ------------------------------------------------------------------
echo
echo "rosterd $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?'), $(date -u +%Y-%m-%dT%H:%MZ), $ncpu CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "wrk -t$THREADS -c$CONNS -d$DURATION after $WARMUP warm-up; server on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU; $USERS users"
echo
python3 "$BENCH/report.py" "$RESULTS"
