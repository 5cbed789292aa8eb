#!/bin/sh
# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
#
# The pipe-delimited full-file example, end to end, with build/rosterd
# only: a fresh database in OUTDIR, the tenant, day 1's enrollment export
# (employees and dependents) imported, planned and rendered as a full
# file (the first run waits for approval, then is approved); day 2's
# export (2 hires, one with a spouse, 2 changes, 2 terminations, one with
# a spouse) imported, planned and rendered as the next full file, where
# the leavers are simply absent. Every file is left in OUTDIR: the two
# carrier files, the plans (text and JSON) and rosterd.db.
#
#   examples/pipe-full/run.sh OUTDIR
#
# The clock is fixed with ROSTERD_NOW, so the files are the same bytes on
# every run. ROSTERD_BIN may name another rosterd binary (the tests use it
# for the sanitizer build); the default is build/rosterd of this checkout.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
rosterd=${ROSTERD_BIN:-$root/build/rosterd}
feed=clearview-vision
mapping=enrollment

if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
if [ ! -x "$rosterd" ]; then
	echo "$0: $rosterd is not built (ninja -C build)" >&2
	exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)
if [ -e "$out/rosterd.db" ]; then
	echo "$0: $out/rosterd.db exists; give an empty OUTDIR" >&2
	exit 1
fi

# Every command below reads these instead of --db / --config.
ROSTERD_DB=$out/rosterd.db
ROSTERD_CONFIG=$here/rosterd.yaml
export ROSTERD_DB ROSTERD_CONFIG

step() {
	printf '\n==> %s\n' "$*"
}

# feed render, then approve the run if the approval policy held it.
render() {
	res=$("$rosterd" feed render "$feed" --out "$out" --by scheduler)
	printf '%s\n' "$res"
	run=$(printf '%s\n' "$res" |
		sed -n 's/^run \(run_[0-9a-f]\{16\}\) .*/\1/p')
	if [ -z "$run" ]; then
		echo "$0: no run id in the output of feed render" >&2
		exit 1
	fi
	case $res in
	*": pending_approval"*)
		step "the run waits for a person: approve $run"
		ROSTERD_NOW=$approve_at "$rosterd" feed approve "$run" --by alice
		;;
	esac
}

step "create the tenant"
"$rosterd" tenant create acme

# ---- day 1: Monday 2 March 2026 -------------------------------------------
export ROSTERD_NOW=2026-03-02T07:00:00Z
approve_at=2026-03-02T09:30:00Z

step "import day 1's HR export"
"$rosterd" import hris "$here/hris-day1.csv" --tenant acme \
	--mapping "$mapping"

step "plan: everyone eligible is new to the carrier"
"$rosterd" feed plan "$feed" >"$out/plan-day1.txt"
cat "$out/plan-day1.txt"
"$rosterd" feed plan "$feed" --json >"$out/plan-day1.json"

step "render the first full file"
render

# ---- day 2: Monday 9 March 2026 -------------------------------------------
export ROSTERD_NOW=2026-03-09T07:00:00Z
approve_at=2026-03-09T09:30:00Z

step "import day 2's export (2 hires, 2 changes, 2 terminations)"
"$rosterd" import hris "$here/hris-day2.csv" --tenant acme \
	--mapping "$mapping"

step "plan: adds, changes and terminations (by omission)"
"$rosterd" feed plan "$feed" >"$out/plan-day2.txt"
cat "$out/plan-day2.txt"
"$rosterd" feed plan "$feed" --json >"$out/plan-day2.json"

step "render the next full file"
render

step "the runs of the feed"
"$rosterd" feed runs "$feed"

for f in "$out"/ACME_CLEARVIEW_FULL_*.txt; do
	step "$(basename "$f")"
	cat "$f"
done
