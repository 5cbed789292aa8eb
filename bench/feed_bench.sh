#!/bin/sh
# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
#
# The feed benchmark (issue 3, "Speed and memory"): one script, one run.
#
#   bench/feed_bench.sh [N]          (default 1000000 employees)
#
# 1. bench/gen_hris.py writes day 1's HR export of N employees and day 2's,
#    with 1% of them changed (names, departments, leave, terminations).
# 2. rosterd imports day 1 into an empty tenant, renders the first file of
#    two feeds (bench-csv and bench-834; both held as first runs, then
#    approved), imports day 2, then `feed plan bench-csv`, `feed render
#    bench-csv --full` and `feed render bench-834 --full` are timed, with
#    the peak RSS of every command (/usr/bin/time -f %M).
# 3. In the same run, on the same files: bench/baseline_dict.py (the same
#    plan and full CSV file as the short csv.DictReader script the issue
#    describes), bench/baseline_plan.py (the same job written carefully,
#    keeping only the columns it needs); both files must be byte for byte
#    rosterd's; and a plain `sort` + `comm` text diff of the two exports.
# 4. bench/feed_report.py prints the table with the targets and exits 1
#    when one is missed.
#
# Environment: ROSTERD_BIN (default build/rosterd; build it with
# --buildtype=release for real figures), BENCH_DIR (default a new
# temporary directory, removed at the end unless BENCH_KEEP=1),
# BENCH_SEED (default 1), PYTHON (default /usr/bin/python3),
# BENCH_CHECK_X12=1 (also run tests/e2e/x12_check.pl on the 834 file).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
n=${1:-1000000}
bin=${ROSTERD_BIN:-$root/build/rosterd}
seed=${BENCH_SEED:-1}
py=${PYTHON:-/usr/bin/python3}

if [ ! -x "$bin" ]; then
	echo "feed_bench: $bin is not executable; build first" >&2
	exit 2
fi
if [ ! -x /usr/bin/time ]; then
	echo "feed_bench: /usr/bin/time is missing (apt-get install time)" >&2
	exit 2
fi
if [ -n "${BENCH_DIR:-}" ]; then
	dir=$BENCH_DIR
	mkdir -p "$dir"
else
	dir=$(mktemp -d "${TMPDIR:-/tmp}/rosterd-feed-bench.XXXXXX")
	if [ "${BENCH_KEEP:-0}" != 1 ]; then
		trap 'rm -rf "$dir"' EXIT
	fi
fi
dir=$(cd "$dir" && pwd)
# A copy of the binary: a rebuild during the run must not change it.
cp "$bin" "$dir/rosterd"
bin=$dir/rosterd
db=$dir/rosterd.db
cfg=$dir/rosterd.yaml
res=$dir/results.txt
rm -rf "$db" "$db-wal" "$db-shm" "$dir/out" "$dir/baseline" "$res"
mkdir -p "$dir/out"
: >"$res"

# The same mapping as bench/import_bench.sh, and two feeds: a CSV change
# feed with the columns baseline_plan.py writes, and an X12 834 one.
cat >"$cfg" <<'YAML'
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
feeds:
  bench-csv:
    tenant: bench
    eligibility: 'active eq true'
    mode: change
    format: csv
    columns:
      - {name: member_id, header: Member ID, source: externalId}
      - {name: first_name, header: First Name, source: name.givenName}
      - {name: last_name, header: Last Name, source: name.familyName}
      - {name: email, header: Work Email,
         source: 'emails[type eq "work"].value', case: lower}
      - {name: hire_date, header: Hire Date, source: eligibility:hireDate,
         date_format: '%m/%d/%Y'}
      - name: status
        header: Employment Status
        source: eligibility:employmentStatus
        map: {active: Active, leave: Leave, terminated: Terminated}
      - {name: department, header: Department, source: enterprise:department}
      - name: action
        header: Action
        source: $action
        map: {add: A, change: C, terminate: T, reinstate: R, none: ''}
      - {name: term_date, header: Termination Date, source: $term_date,
         date_format: '%m/%d/%Y'}
    file_name: '{tenant}-{feed}-{date}-{seq:4}.csv'
    approval: {first_run: true, max_terminations_percent: 10}
  bench-834:
    tenant: bench
    eligibility: 'active eq true'
    mode: change
    format: x12-834
    x12:
      sender_id: BENCHCORP
      receiver_id: BENCHCARRIER
      sponsor_name: Bench Corp
      sponsor_id: '123456789'
      payer_name: Bench Carrier
      payer_id: '987654321'
      policy_number: BENCH-1
      usage: T
      newline: true
    columns:
      - {name: member_id, source: externalId}
      - {name: relationship, source: $relationship}
      - {name: last_name, source: name.familyName}
      - {name: first_name, source: name.givenName}
      - {name: hire_date, source: eligibility:hireDate, date_format: '%Y%m%d'}
      - {name: coverage_start, source: eligibility:hireDate,
         date_format: '%Y%m%d'}
      - {name: employment_status, const: FT}
      - {name: plan_code, const: EAP}
    file_name: '{tenant}-{feed}-{date}-{seq:4}.834'
    approval: {first_run: true, max_terminations_percent: 10}
YAML

# measure LABEL CMD...: wall seconds (date +%s%N around the command) and
# peak RSS in KiB (/usr/bin/time %M) into results.txt; the command's
# output goes to $dir/LABEL.out and .err.
measure() {
	label=$1
	shift
	t0=$(date +%s%N)
	if ! /usr/bin/time -f '%M' -o "$dir/$label.time" "$@" \
		>"$dir/$label.out" 2>"$dir/$label.err"; then
		echo "feed_bench: $label failed:" >&2
		tail -n 5 "$dir/$label.err" >&2
		exit 1
	fi
	t1=$(date +%s%N)
	kib=$(tail -n 1 "$dir/$label.time")
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	echo "$label $secs $kib" >>"$res"
	printf '  %-22s %8.3f s  %6d MiB\n' "$label" "$secs" $((kib / 1024))
}

# The run id a render printed; approve it when the policy held it.
approve_held() {
	label=$1
	run=$(sed -n 's/^run \(run_[0-9a-f]\{16\}\) .*/\1/p' "$dir/$label.out")
	if grep -q ': pending_approval' "$dir/$label.out"; then
		measure "$label-approve" "$bin" feed approve "$run" --by bench \
			--config "$cfg" --db "$db"
	fi
}

echo "feed_bench: $n employees, seed $seed, in $dir"
echo "generating the exports"
"$py" "$here/gen_hris.py" --rows "$n" --seed "$seed" -o "$dir/day1.csv"
"$py" "$here/gen_hris.py" --rows "$n" --seed "$seed" --changed 1 \
	-o "$dir/day2.csv"
for f in "$dir/day1.csv" "$dir/day2.csv"; do
	echo "  $(wc -c <"$f") bytes  $f"
done

if ! "$bin" tenant create bench --db "$db" >/dev/null 2>"$dir/tenant.err"; then
	echo "feed_bench: tenant create failed:" >&2
	cat "$dir/tenant.err" >&2
	exit 1
fi
export ROSTERD_NOW=2026-03-02T06:00:00Z

echo "day 1"
measure import1 "$bin" import hris "$dir/day1.csv" --tenant bench \
	--mapping workday --config "$cfg" --db "$db" --json
measure render1-csv "$bin" feed render bench-csv --out "$dir/out" \
	--by bench --config "$cfg" --db "$db"
approve_held render1-csv
measure render1-834 "$bin" feed render bench-834 --out "$dir/out" \
	--by bench --config "$cfg" --db "$db"
approve_held render1-834

echo "day 2"
export ROSTERD_NOW=2026-03-03T06:00:00Z
# rosterd prints the time of each phase of a render (plan, record,
# write, apply) on stderr; the report shows them.
export ROSTERD_FEED_TRACE=1
measure import2 "$bin" import hris "$dir/day2.csv" --tenant bench \
	--mapping workday --config "$cfg" --db "$db" --json
measure plan "$bin" feed plan bench-csv --config "$cfg" --db "$db"
measure render-csv "$bin" feed render bench-csv --full --out "$dir/out" \
	--by bench --config "$cfg" --db "$db"
approve_held render-csv
measure render-834 "$bin" feed render bench-834 --full --out "$dir/out" \
	--by bench --config "$cfg" --db "$db"
approve_held render-834

echo "baselines"
measure python "$py" "$here/baseline_dict.py" "$dir/day1.csv" \
	"$dir/day2.csv" "$dir/baseline"
measure python-lean "$py" "$here/baseline_plan.py" "$dir/day1.csv" \
	"$dir/day2.csv" "$dir/baseline-lean"
# shellcheck disable=SC2016 # $1..$3 are the inner shell's arguments
measure sort-comm sh -c 'LC_ALL=C sort "$1" >"$3.1" &&
	LC_ALL=C sort "$2" >"$3.2" &&
	LC_ALL=C comm -3 "$3.1" "$3.2" >"$3"' sh \
	"$dir/day1.csv" "$dir/day2.csv" "$dir/sort-comm.diff"

# The files the timed renders wrote, for the report.
csv_full=$(sed -n 's/^  file \(.*\.csv\) (.*/\1/p' "$dir/render-csv.out" \
	"$dir/render-csv-approve.out" 2>/dev/null | tail -n 1)
x12_full=$(sed -n 's/^  file \(.*\.834\) (.*/\1/p' "$dir/render-834.out" \
	"$dir/render-834-approve.out" 2>/dev/null | tail -n 1)
{
	echo "csv_file $csv_full"
	echo "x12_file $x12_full"
	echo "python_file $dir/baseline/full.csv"
	echo "python_lean_file $dir/baseline-lean/full.csv"
	echo "python_out $(cat "$dir/python.out")"
	echo "plan_out $dir/plan.out"
	echo "rows $n"
	echo "trace_csv $dir/render-csv.err"
	echo "trace_834 $dir/render-834.err"
	echo "db_bytes $(wc -c <"$db")"
} >>"$res"

# The 834 file through the independent checker (slow: about a minute
# for 1,000,000 members), when asked for and X12::Parser is there.
x12_rc=0
if [ "${BENCH_CHECK_X12:-0}" = 1 ]; then
	if perl -MX12::Parser -e 1 2>/dev/null; then
		perl "$root/tests/e2e/x12_check.pl" "$x12_full" || x12_rc=1
	else
		echo "feed_bench: X12::Parser is not installed; 834 not checked"
	fi
fi

rc=0
"$py" "$here/feed_report.py" "$res" || rc=$?
[ "$x12_rc" = 0 ] || rc=1
exit "$rc"
