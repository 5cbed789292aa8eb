#!/bin/sh
# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
#
# The feed engine alone, on N synthetic people (default 1,000,000) written
# straight into the store by bench/feed_gen.py (no HRIS import; for the
# end-to-end benchmark with the import and the Python baseline see
# bench/feed_bench.sh). After a first run of two feeds (held, approved),
# 1% of the people change, then each of these runs on its own copy of
# that database and is timed with its peak RSS:
#
#   plan 1%          rosterd feed plan            (target < 1 s)
#   render changes   rosterd feed render --changes
#   render full CSV  rosterd feed render --full   (target < 1 s)
#   render full 834  the same people as X12 834   (target < 2 s)
#
# ROSTERD_FEED_TRACE=1 makes rosterd print the time of each phase of a
# render (plan, record, write, apply). Needs build/rosterd (or
# $ROSTERD_BIN), python3, /usr/bin/time and about 6 GB in $TMPDIR.
# BENCH_KEEP=1 keeps the directory.
set -eu

N=${1:-1000000}
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${ROSTERD_BIN:-$HERE/../build/rosterd}
DIR=$(mktemp -d "${TMPDIR:-/tmp}/rosterd-feedplan-XXXXXX")
[ "${BENCH_KEEP:-0}" = 1 ] || trap 'rm -rf "$DIR"' EXIT

cat > "$DIR/rosterd.yaml" <<'EOF'
feeds:
  csv:
    tenant: acme
    eligibility: 'active eq true and eligibility:eligibilityClass eq "FT"'
    mode: change
    format: csv
    columns:
      - {name: member_id, header: Member ID, source: externalId}
      - {name: first_name, source: name.givenName}
      - {name: last_name, source: name.familyName}
      - {name: email, source: 'emails[type eq "work"].value'}
      - {name: dob, source: eligibility:birthDate, date_format: '%m/%d/%Y'}
      - {name: hire, source: eligibility:hireDate, date_format: '%Y%m%d'}
      - {name: zip, source: 'addresses[type eq "home"].postalCode'}
      - name: action
        source: $action
        map: {add: A, change: C, terminate: T, reinstate: R, none: ''}
      - {name: term_date, source: $term_date, date_format: '%Y%m%d'}
    file_name: 'csv-{date}-{seq}.csv'
    approval: {max_terminations_percent: 5}
  x12:
    tenant: acme
    eligibility: 'active eq true and eligibility:eligibilityClass eq "FT"'
    mode: change
    format: x12-834
    x12: {sender_id: ACME, receiver_id: VENDOR, sponsor_name: Acme,
          sponsor_id: '123456789', payer_name: Vendor,
          payer_id: '987654321'}
    columns:
      - {name: member_id, source: externalId}
      - {name: relationship, source: $relationship}
      - {name: last_name, source: name.familyName, case: upper}
      - {name: first_name, source: name.givenName, case: upper}
      - {name: birth_date, source: eligibility:birthDate,
         date_format: '%Y%m%d'}
      - {name: coverage_start, source: eligibility:hireDate,
         date_format: '%Y%m%d'}
      - {name: employment_status, const: FT}
      - {name: plan_code, const: EAP}
      - {name: coverage_level, const: EMP}
    file_name: 'x12-{date}-{seq}.edi'
    approval: {max_terminations_percent: 5}
EOF

cd "$DIR"
export ROSTERD_DB="$DIR/base.db"
"$BIN" migrate >/dev/null 2>&1
"$BIN" tenant create acme >/dev/null 2>&1
echo "generating $N people..."
python3 "$HERE/feed_gen.py" base.db --people "$N"

# The first file of each feed: held (first run), then approved.
for f in csv x12; do
	/usr/bin/time -o time.txt -f "%e s, %M KiB" "$BIN" feed render $f \
	    --config rosterd.yaml --out out --as-of 2026-12-01 --by bench \
	    >render.txt
	run=$(sed -n 's/^run \(run_[0-9a-f]*\).*/\1/p' render.txt)
	echo "first $f, plan and record: $(cat time.txt)"
	/usr/bin/time -f "first $f, approve and write: %e s, %M KiB" \
	    "$BIN" feed approve "$run" --config rosterd.yaml --by bench >/dev/null
done
python3 "$HERE/feed_gen.py" base.db --delta 1

timed() {
	label=$1
	shift
	cp base.db work.db
	rm -f work.db-wal work.db-shm
	ROSTERD_DB="$DIR/work.db" /usr/bin/time -f "$label: %e s, %M KiB" \
	    "$@" >/dev/null
}

echo "--- $N people, 1% changed ---"
timed "plan 1%%" "$BIN" feed plan csv --config rosterd.yaml --as-of 2026-12-02
timed "plan 1%% (again)" "$BIN" feed plan csv --config rosterd.yaml \
    --as-of 2026-12-02
timed "render changes CSV" "$BIN" feed render csv --changes \
    --config rosterd.yaml --out out2 --as-of 2026-12-02
timed "render full CSV" "$BIN" feed render csv --full --config rosterd.yaml \
    --out out3 --as-of 2026-12-02
timed "render full 834" "$BIN" feed render x12 --full --config rosterd.yaml \
    --out out4 --as-of 2026-12-02
ls -l out3 out4 | sed -n 's/^-[^ ]* *[0-9]* [^ ]* [^ ]* *//p'
