#!/bin/sh
# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
#
# What the store alone costs: the same SQLite work as rosterd's first
# import and daily import, done by the sqlite3 shell with no rosterd code,
# on rosterd's own schema and settings (WAL, synchronous = FULL, an 8 MB
# page cache). It shows how far the feed benchmark's targets are from
# what the chosen store can do on this machine (bench/README.md, "What the
# store alone costs").
#
#   bench/store_floor.sh [DB]
#
# 1. first import: a new database (schema from `rosterd tenant create`),
#    then in one transaction 1,000,000 `resources` rows shaped like the
#    import's (a 581-byte document, UUIDv7-like ids, unique userNames,
#    sequential externalIds), their create rows in `history` and their
#    `hris_people` rows; then the checkpoint.
# 2. with DB, a database left by bench/feed_bench.sh (BENCH_KEEP=1), on a
#    copy of it: a day-2 import's writes for 10,000 people picked at
#    random (picked before the clock starts): each document rewritten, a
#    history row holding the documents before and after, the
#    `hris_people` row updated; one commit, then the checkpoint.
# 3. with DB: the least a plan reads, every member the feed was sent
#    (`feed_members` of bench-csv), and, for comparison, every person's
#    document.
#
# Environment: ROSTERD_BIN (default build/rosterd), BENCH_DIR (default a
# new temporary directory, removed at the end unless BENCH_KEEP=1).
# Needs the sqlite3 shell (Debian package sqlite3; scripts/setup.sh).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
bin=${ROSTERD_BIN:-$root/build/rosterd}
src=${1:-}

if [ ! -x "$bin" ] || ! command -v sqlite3 >/dev/null; then
	echo "store_floor: needs $bin and the sqlite3 shell" >&2
	exit 2
fi
if [ -n "$src" ] && [ ! -f "$src" ]; then
	echo "store_floor: $src: no such database" >&2
	exit 2
fi
if [ -n "${BENCH_DIR:-}" ]; then
	dir=$BENCH_DIR
	mkdir -p "$dir"
else
	dir=$(mktemp -d "${TMPDIR:-/tmp}/rosterd-store-floor.XXXXXX")
	if [ "${BENCH_KEEP:-0}" != 1 ]; then
		trap 'rm -rf "$dir"' EXIT
	fi
fi

# rosterd's connection settings (src/store/sqlite.c sq_configure).
settings='PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
PRAGMA cache_size = -8000;'

# timed LABEL DB SQL: the wall seconds of one sqlite3 shell run of SQL
# (its output is dropped; the journal_mode pragma prints "wal").
timed() {
	t0=$(date +%s%N)
	printf '%s\n%s\n' "$settings" "$3" | sqlite3 -bail "$2" >/dev/null
	t1=$(date +%s%N)
	awk -v l="$1" -v a="$t0" -v b="$t1" \
		'BEGIN { printf "  %-44s %7.2f s\n", l, (b - a) / 1e9 }'
}

echo "store_floor: sqlite3 $(sqlite3 --version | cut -d' ' -f1), in $dir"

db=$dir/first.db
rm -f "$db" "$db-wal" "$db-shm"
"$bin" tenant create bench --db "$db" >/dev/null 2>&1
timed "first import, 1,000,000 people" "$db" "
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n
  WHERE i < 1000000)
INSERT INTO resources(tenant_id, type, id, name, external_id, active, doc,
  version, created, modified)
SELECT 1, 1,
  printf('019a2456-%04x-7%03x-%04x-%012x', i / 65536, i % 4096,
    abs(random()) % 65536, abs(random()) % 281474976710655),
  printf('user.%d.%d@example.com', abs(random()) % 100000, i),
  printf('E%07d', i), 1,
  printf('{\"externalId\":\"E%07d\",\"userName\":\"eve.smith.%d@example.com\",\"name\":{\"givenName\":\"Eve\",\"familyName\":\"Smith\"},\"emails\":[{\"type\":\"work\",\"value\":\"eve.smith.1@corp.example.com\"}],\"active\":true,\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"department\":\"Operations\"},\"urn:rosterd:params:scim:schemas:extension:eligibility:1.0:User\":{\"hireDate\":\"1998-02-09\",\"employmentStatus\":\"active\"},\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\",\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\",\"urn:rosterd:params:scim:schemas:extension:eligibility:1.0:User\"]}', i, i),
  1, '2026-03-02T06:00:00.000Z', '2026-03-02T06:00:00.000Z'
FROM n;
INSERT INTO history(tenant_id, type, rid, resource_id, op, at, source,
  version)
SELECT tenant_id, 1, rid, id, 'create', created, 'hris', 1 FROM resources;
INSERT INTO hris_people(tenant_id, external_id, rid, row_hash, dep_hash,
  run_id)
SELECT 1, external_id, rid, random(), 0, 1 FROM resources
ORDER BY external_id;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);"
rm -f "$db" "$db-wal" "$db-shm"

if [ -z "$src" ]; then
	exit 0
fi
db=$dir/day2.db
cp "$src" "$db"
sqlite3 "$db" "DROP TABLE IF EXISTS floor_pick;
CREATE TABLE floor_pick AS SELECT rid FROM resources
  WHERE type = 1 AND deleted_at IS NULL ORDER BY random() LIMIT 10000;
PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
timed "day 2: writes of 10,000 changed people" "$db" "
BEGIN;
UPDATE resources SET
  doc = replace(doc, '\"givenName\":\"', '\"givenName\":\"X'),
  version = version + 1, modified = '2026-03-03T06:00:00.000Z'
WHERE rid IN (SELECT rid FROM floor_pick);
INSERT INTO history(tenant_id, type, rid, resource_id, op, at, source,
  version, before, after)
SELECT tenant_id, 1, rid, id, 'update', modified, 'hris', version, doc, doc
FROM resources WHERE rid IN (SELECT rid FROM floor_pick);
UPDATE hris_people SET row_hash = row_hash + 1, run_id = run_id + 1
WHERE rid IN (SELECT rid FROM floor_pick);
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);"
timed "read every member sent (feed_members)" "$db" "
SELECT count(*), sum(length(vals)) FROM feed_members
WHERE feed = 'bench-csv';"
timed "read every person's document" "$db" "
SELECT count(*), sum(length(doc)) FROM resources WHERE type = 1;"
rm -f "$db" "$db-wal" "$db-shm"
