#!/usr/bin/env bash
# Single-row scoring under pgbench: 2 clients, prepared statements, the TPS of
# reframe.score('m', <32 floats>) against SELECT <the same array>, for a
# linear model and for 100 trees of depth 6.
# Runs against the server in PG* variables: bench/run pgbench_score wraps it.
set -euo pipefail
seconds=${SECONDS_PER_RUN:-10}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

psql -X -q -v ON_ERROR_STOP=1 > /dev/null <<'SQL'
CREATE EXTENSION IF NOT EXISTS reframe;
SET client_min_messages = warning;
DROP TABLE IF EXISTS pgb_t;
CREATE TABLE pgb_t AS
SELECT ARRAY(SELECT random() FROM generate_series(1, 32) WHERE i > 0)::float8[] AS x, random() AS y
  FROM generate_series(1, 10000) i;
SELECT version FROM reframe.train('pgb_m', 'pgb_t', 'y');
ALTER TABLE pgb_t ADD COLUMN yes bool;
UPDATE pgb_t SET yes = x[1] * x[2] + x[3] > 0.6;
SELECT version FROM reframe.train('pgb_trees', 'SELECT x, yes FROM pgb_t', 'yes',
                                  options => '{"model": "trees", "rounds": 100, "max_depth": 6, "validation": 0}');
SQL
arr=$(psql -X -A -t -c "SELECT x FROM pgb_t LIMIT 1")
echo "SELECT '$arr'::float8[];" > "$dir/baseline.sql"
echo "SELECT reframe.score('pgb_m', '$arr'::float8[]);" > "$dir/score.sql"
echo "SELECT reframe.score('pgb_trees', '$arr'::float8[]);" > "$dir/trees.sql"

tps() {
    pgbench -n -M prepared -c 2 -j 2 -T "$seconds" -f "$1" 2>/dev/null |
        sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}
base=$(tps "$dir/baseline.sql")
score=$(tps "$dir/score.sql")
trees=$(tps "$dir/trees.sql")
echo "single-row scoring, pgbench -M prepared -c 2 -T $seconds"
printf "  SELECT \$array                 %10.0f tps\n" "$base"
printf "  SELECT reframe.score('m', \$array) %6.0f tps  (linear)\n" "$score"
awk -v s="$score" -v b="$base" 'BEGIN { printf "  ratio                          %10.2f\n", s / b }'
printf "  SELECT reframe.score('t', \$array) %6.0f tps  (100 trees, depth 6)\n" "$trees"
awk -v s="$trees" -v b="$base" 'BEGIN { printf "  ratio                          %10.2f\n", s / b }'
psql -X -q -c "SELECT reframe.drop_model('pgb_m')" -c "SELECT reframe.drop_model('pgb_trees')" -c "DROP TABLE pgb_t" > /dev/null
