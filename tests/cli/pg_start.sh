#!/usr/bin/env bash
# pg_start.sh PG_LOCAL PGDIR CARENAV - the cluster every integration test
# creates its databases in (the ctest fixture "pg"), and in it the template
# they are copied from: carenav_template, migrated once per run by this
# build's carenav, so no gateway of the run migrates a database of its own
# (about a second each under the suite's load, for 300 gateways a pass).
# Tests of migrating use an empty database (harness_db_create_empty).
set -euo pipefail
pg_local=$1 dir=$2 carenav=$3 vardir=${4:-}
"$pg_local" start "$dir"
# A build directory keeps this cluster from run to run: drop what earlier runs
# left (some 300 databases a run, 10 MB each; a developer's build once held 30 GB),
# and their gateways' var directories older than two hours (no run takes that
# long; a test of this run may already be writing its own).
psql -h "$dir/run" -U carenav -d postgres -XAtq -c "SELECT datname FROM pg_database
    WHERE datname NOT IN ('postgres', 'template0', 'template1')" |
  while read -r db; do
    psql -h "$dir/run" -U carenav -d postgres -Xq -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null
  done
if [ -n "$vardir" ] && [ -d "$vardir" ]; then
  find "$vardir" -mindepth 1 -maxdepth 1 -mmin +120 -exec rm -rf {} +
fi
# No fsync: the tests never crash this cluster (the crash tests start their
# own), and its shutdown checkpoint syncing every test database's files took
# 40 s of the run. No autovacuum: a run leaves some 300 small databases here,
# and its launcher cycling workers through all of them took a third of a
# core, idle (no test here depends on it).
psql -h "$dir/run" -U carenav -d postgres -Xq -c 'ALTER SYSTEM SET fsync = off' \
  -c 'ALTER SYSTEM SET autovacuum = off' -c 'SELECT pg_reload_conf()' >/dev/null
psql -h "$dir/run" -U carenav -d postgres -Xq -c 'DROP DATABASE IF EXISTS carenav_template' \
  -c 'CREATE DATABASE carenav_template'
if ! DATABASE_URL="host=$dir/run dbname=carenav_template user=carenav" VAR_DIR="$dir/template-var" \
    "$carenav" migrate >"$dir/template-migrate.log" 2>&1; then
  cat "$dir/template-migrate.log" >&2
  exit 1
fi
