#!/usr/bin/env bash
# What a new connection pays before its first score (issue 27): a 26-class
# trees model of 200 rounds (5,200 trees), scored once per new connection.
# Prints, over fresh connections, the median time of LOAD 'reframe' (the
# module and its libraries), of the first predict (the model read from its
# table, checked and compiled) and of a warm predict; then pgbench with a
# new connection per transaction (-C) scoring one row against the same run
# selecting the row's array alone.
# Runs against the server in PG* variables: bench/run first_call wraps it.
set -euo pipefail
connections=${CONNECTIONS:-15}
seconds=${SECONDS_PER_RUN:-10}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

psql -X -q -v ON_ERROR_STOP=1 > /dev/null <<'SQL'
CREATE EXTENSION IF NOT EXISTS reframe;
SET client_min_messages = warning;
DROP TABLE IF EXISTS fc_letters;
CREATE TABLE fc_letters AS
SELECT ARRAY[sin(i), cos(i * 0.3), sin(i * 0.7), cos(i * 1.7)]::float8[] AS x,
       chr(65 + (abs(hashint4(i)) % 26)) AS k
  FROM generate_series(1, 20000) i;
SELECT version FROM reframe.train('fc_26', 'fc_letters', 'k',
                                  options => '{"model": "trees", "rounds": 200, "validation": 0}');
SQL

arr='{0.1,0.2,0.3,0.4}'

# the milliseconds psql's \timing shows for each statement of one new connection
times() {
    psql -X -q -c '\timing on' "$@" 2>&1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tr '\n' ' '
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
: > "$dir/load"; : > "$dir/first"; : > "$dir/warm"
for ((i = 0; i < connections; i++)); do
    set -- $(times -c "LOAD 'reframe'" -c "SELECT reframe.predict('fc_26', '$arr'::float8[])" \
                   -c "SELECT reframe.predict('fc_26', '$arr'::float8[])")
    echo "$1" >> "$dir/load"; echo "$2" >> "$dir/first"; echo "$3" >> "$dir/warm"
done
load=$(median < "$dir/load"); first=$(median < "$dir/first"); warm=$(median < "$dir/warm")
echo "a new connection's first predict of a 26-class trees model (5,200 trees), median of $connections connections"
printf "  LOAD 'reframe' (the module and its libraries)   %8.2f ms\n" "$load"
printf "  first predict (the model loaded)                %8.2f ms\n" "$first"
printf "  warm predict                                    %8.2f ms\n" "$warm"
awk -v f="$first" -v w="$warm" 'BEGIN { printf "  first over warm                                 %8.2f ms\n", f - w }'

echo "SELECT '$arr'::float8[];" > "$dir/baseline.sql"
echo "SELECT reframe.predict('fc_26', '$arr'::float8[]);" > "$dir/predict.sql"
tps() {
    pgbench -n -C -c 2 -j 2 -T "$seconds" -f "$1" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}
base=$(tps "$dir/baseline.sql")
score=$(tps "$dir/predict.sql")
echo "a new connection per transaction, pgbench -C -c 2 -T $seconds"
printf "  SELECT \$array                          %10.1f tps\n" "$base"
printf "  SELECT reframe.predict('fc_26', \$array) %9.1f tps\n" "$score"
awk -v s="$score" -v b="$base" 'BEGIN { printf "  ratio                                   %10.3f\n", s / b }'
psql -X -q -c "SELECT reframe.drop_model('fc_26')" -c "DROP TABLE fc_letters" > /dev/null
