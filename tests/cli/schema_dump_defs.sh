#!/usr/bin/env bash
# schema_dump_defs.sh CARENAV - tools/schema-dump names each function's file
# instead of its body, and refuses a database holding a function that
# sql/functions/ does not define: one no file creates, or one overload more
# than the files define (an old signature no migration dropped).
set -euo pipefail
carenav=$1
root=$(dirname "$(dirname "$(dirname "$(realpath "$0")")")")
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
tmp=$(mktemp -d /tmp/carenav-schema-defs.XXXXXX)
chmod 755 "$tmp"
trap '"$root/deploy/pg-local" stop "$tmp/pg" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
"$root/deploy/pg-local" start "$tmp/pg" >/dev/null
conninfo=$("$root/deploy/pg-local" conninfo "$tmp/pg")
DATABASE_URL=$conninfo VAR_DIR=$tmp/var "$carenav" migrate >"$tmp/migrate.log" 2>&1 ||
  { cat "$tmp/migrate.log"; exit 1; }
psql() { "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -d "$conninfo" -c "$1"; }
fail() { echo "schema_dump_defs: $*" >&2; exit 1; }

"$root/tools/schema-dump" --database "$conninfo" >"$tmp/dump.sql" || fail "the migrated database did not dump"
grep -q -F 'AS $$ -- body: sql/functions/oncall.sql $$;' "$tmp/dump.sql" || fail "no body named by its file"
grep -q -F 'carenav_oncall_window' "$tmp/dump.sql" || fail "a function's signature is missing"

# A function no file in sql/functions/ creates.
psql "CREATE FUNCTION carenav_rogue() RETURNS int LANGUAGE sql AS 'SELECT 1'"
if "$root/tools/schema-dump" --database "$conninfo" >/dev/null 2>"$tmp/err"; then
  fail "a function with no definition in sql/functions/ was dumped"
fi
grep -q 'carenav_rogue()' "$tmp/err" || fail "the refusal does not name carenav_rogue: $(cat "$tmp/err")"
psql "DROP FUNCTION carenav_rogue()"

# One overload more of a name the files do define.
psql "CREATE FUNCTION carenav_zone_exists(p_zone text, p_extra int) RETURNS boolean LANGUAGE sql AS 'SELECT true'"
if "$root/tools/schema-dump" --database "$conninfo" >/dev/null 2>"$tmp/err"; then
  fail "an overload with no definition in sql/functions/ was dumped"
fi
grep -q 'carenav_zone_exists(p_zone text, p_extra integer)' "$tmp/err" ||
  fail "the refusal does not name the extra overload: $(cat "$tmp/err")"
echo "schema_dump_defs: bodies named by file; undefined functions refused"
