#!/usr/bin/env bash
# sql_layout.sh SQL_DIR - functions and triggers are defined only in
# SQL_DIR/functions/ (sql/README.md). "carenav migrate" applies the function
# files after every migration, so a function body or trigger written into a
# migration would be replaced by the file's version at once: this test names
# the line instead of letting the change vanish.
set -euo pipefail
dir=$1
pattern='^[[:space:]]*(CREATE[[:space:]]+(OR[[:space:]]+REPLACE[[:space:]]+)?(FUNCTION|PROCEDURE|TRIGGER)|ALTER[[:space:]]+FUNCTION)'
if grep -n -i -E "$pattern" "$dir"/[0-9][0-9][0-9]_*.sql; then
  echo "sql_layout: the lines above define functions or triggers in a migration;" \
    "move them to $dir/functions/<area>.sql (a migration may only DROP FUNCTION IF EXISTS an old signature)" >&2
  exit 1
fi
n=$(grep -c -i -E "$pattern" "$dir"/functions/*.sql | awk -F: '{ n += $2 } END { print n }')
[ "$n" -gt 0 ] || { echo "sql_layout: no function found in $dir/functions/" >&2; exit 1; }
echo "sql_layout: $n definitions, all in functions/"
