#!/bin/sh
# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
#
# Time `rosterd import hris` on a synthetic roster (bench/gen_hris.py):
# a first import of N employees into an empty tenant, a re-import of the
# next day's export with 1% of people changed, and the same export again
# (nothing changed). Prints wall time and peak RSS of each run.
#
#   bench/import_bench.sh [N]          (default 1000000)
#
# Environment: ROSTERD_BIN (default build/rosterd), BENCH_DIR (default a new
# temporary directory, removed at the end unless BENCH_KEEP=1), BENCH_SEED.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
n=${1:-1000000}
bin=${ROSTERD_BIN:-$root/build/rosterd}
seed=${BENCH_SEED:-1}

if [ ! -x "$bin" ]; then
	echo "import_bench: $bin is not executable; build first" >&2
	exit 2
fi
if [ -n "${BENCH_DIR:-}" ]; then
	dir=$BENCH_DIR
	mkdir -p "$dir"
else
	dir=$(mktemp -d "${TMPDIR:-/tmp}/rosterd-import-bench.XXXXXX")
fi
if [ "${BENCH_KEEP:-0}" != 1 ] && [ -z "${BENCH_DIR:-}" ]; then
	trap 'rm -rf "$dir"' EXIT
fi

cat >"$dir/rosterd.yaml" <<'YAML'
mappings:
  workday:
    key: employee_id
    full_file: true
    max_terminate_percent: 10
    columns:
      email: userName
      first_name: name.givenName
      last_name: name.familyName
      work_email: emails[type eq "work"].value
      hire_date: {attribute: "eligibility:hireDate", date_format: "%m/%d/%Y"}
      status: {attribute: "eligibility:employmentStatus", map: {A: active, L: leave, T: terminated}}
      term_date: {attribute: "eligibility:terminationDate", date_format: "%m/%d/%Y"}
      department: enterprise:department
YAML

echo "import_bench: $n employees, seed $seed, in $dir"
python3 "$here/gen_hris.py" --rows "$n" --seed "$seed" -o "$dir/day1.csv"
python3 "$here/gen_hris.py" --rows "$n" --seed "$seed" --changed 1 \
	-o "$dir/day2.csv"
ls -l "$dir/day1.csv" "$dir/day2.csv" | awk '{print "  " $5 " bytes  " $NF}'

db="$dir/rosterd.db"
rm -f "$db" "$db-wal" "$db-shm"
"$bin" tenant create acme --db "$db" >/dev/null 2>&1

# Wall time and peak RSS of one import; the summary's counters too.
run() {
	label=$1
	file=$2
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f "%e %M" -o "$dir/time.out" \
			"$bin" import hris "$file" --tenant acme --mapping workday \
			--config "$dir/rosterd.yaml" --db "$db" --json \
			>"$dir/out.json" 2>"$dir/err.txt" || true
		read -r secs kib <"$dir/time.out"
	else
		python3 - "$bin" "$file" "$dir" "$db" <<'PY' >"$dir/time.out"
import resource, subprocess, sys, time
b, f, d, db = sys.argv[1:]
t = time.monotonic()
with open(d + "/out.json", "w") as o, open(d + "/err.txt", "w") as e:
    subprocess.run([b, "import", "hris", f, "--tenant", "acme", "--mapping",
                    "workday", "--config", d + "/rosterd.yaml", "--db", db,
                    "--json"], stdout=o, stderr=e)
print("%.2f %d" % (time.monotonic() - t,
                   resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
PY
		read -r secs kib <"$dir/time.out"
	fi
	python3 - "$label" "$secs" "$kib" "$dir/out.json" <<'PY'
import json, sys
label, secs, kib, path = sys.argv[1:]
try:
    j = json.load(open(path))
except ValueError:
    print("%-26s FAILED (see err.txt)" % label)
    sys.exit(0)
p = j["phases"]
print("%-26s %7.2f s  %6.0f MiB  created %d updated %d unchanged %d "
      "terminated %d errors %d" % (label, float(secs), int(kib) / 1024.0,
      j["created"], j["updated"], j["unchanged"], j["terminated"],
      j["errors"]))
print("%-26s validate %.2f  load %.2f  apply %.2f  commit %.2f" %
      ("", p["validate"], p["load"], p["apply"], p["commit"]))
PY
}

run "first import (empty)" "$dir/day1.csv"
run "re-import, 1% changed" "$dir/day2.csv"
run "re-import, unchanged" "$dir/day2.csv"
ls -l "$db" | awk '{print "database: " $5 " bytes"}'
