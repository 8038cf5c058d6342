#!/usr/bin/env bash
# The README cannot drift: every SQL block of its "Getting started" and
# "Tour" sections runs, in order, against the tables of
# test/readme/fixtures.sql (and iris from test/data), and none fails.
DB=reframe_readme
. "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
# a database without the extension: the first block creates it
dropdb --force --if-exists "$DB" >/dev/null 2>&1
createdb "$DB" || fail "no database"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -f "$root/test/readme/fixtures.sql" >/dev/null || fail "fixtures"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" \
     -c "CREATE TEMP TABLE raw (split text, x float8[], y text)" \
     -c "\\copy raw FROM '$root/test/data/iris.csv' WITH (FORMAT csv, HEADER)" \
     -c "INSERT INTO iris SELECT x, (ARRAY['setosa', 'versicolor', 'virginica'])[1 + substr(y, 2)::int] FROM raw" \
     >/dev/null || fail "iris"
dir=$(mktemp -d)
trap 'rm -rf "$dir"; dropdb --force --if-exists "$DB" >/dev/null 2>&1' EXIT
# the blocks between "## Getting started" and "## Running in production"
awk -v dir="$dir" '/^## Getting started/ { on = 1 } /^## Running in production/ { on = 0 }
     on && /^```sql$/ { n++; file = sprintf("%s/%02d.sql", dir, n); inside = 1; next }
     inside && /^```$/ { inside = 0; next }
     inside { print > file }' "$root/README.md"
blocks=$(ls "$dir"/*.sql | wc -l)
[ "$blocks" -ge 20 ] || fail "only $blocks SQL blocks found in the README"
for f in "$dir"/*.sql; do
    out=$(psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "SET client_min_messages = warning" -f "$f" 2>&1) ||
        fail "README block $(basename "$f" .sql) fails: $(echo "$out" | grep -m3 -E 'ERROR|DETAIL|HINT')
$(head -5 "$f")"
done
echo "readme: all $blocks SQL blocks of the getting started and tour sections run"
