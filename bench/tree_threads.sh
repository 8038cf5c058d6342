#!/usr/bin/env bash
# XGBoost's threads on a busy server (issue 23): a 1,200-row 9-class trees
# training with the default thread settings against reframe.tree_threads = 1,
# on a quiet machine and beside two busy processes (one per core of the
# 2-core test machine), and a 100,000-row one where threads pay off.  Each
# figure is the median of 5 trainings in one backend after a warm-up; the
# ratios are default / one thread in the same setting.
# Usage: bash bench/run tree_threads (or bash bench/tree_threads.sh against a server, with PG* set)
set -euo pipefail
DB=${DB:-reframe_bench_threads}
dropdb --if-exists "$DB" >/dev/null 2>&1; createdb "$DB"
psql -X -q -d "$DB" -c "SET client_min_messages = warning; CREATE EXTENSION reframe" 
psql -X -q -d "$DB" <<'SQL'
CREATE TABLE nine AS
SELECT i, sin(i) a, cos(i * 0.7) b, sin(i * 1.3) c, cos(i * 2.1) d, sin(i * 0.3) * cos(i) e,
       (abs(floor((sin(i) + cos(i * 0.7) + sin(i * 1.3)) * 3))::int % 9)::text AS y
  FROM generate_series(1, 1200) i;
CREATE TABLE wide AS
SELECT i, sin(i) a, cos(i * 0.7) b, sin(i * 1.3) c, cos(i * 2.1) d, sin(i * 0.3) * cos(i) e,
       sin(i) + cos(i * 0.7) * sin(i * 1.3) + 0.3 * cos(i * 5) AS y
  FROM generate_series(1, 100000) i;
SQL
measure() {  # table -> "default_ms one_ms"
    PGOPTIONS="-c client_min_messages=error" psql -X -A -t -q -d "$DB" -c "
      CREATE FUNCTION pg_temp.m(tbl text, threads int, n int) RETURNS float8 LANGUAGE plpgsql AS \$\$
      DECLARE t0 timestamptz; ms float8[] := '{}';
      BEGIN
          PERFORM set_config('reframe.tree_threads', threads::text, false);
          PERFORM reframe.train('bt', tbl, 'y', options => '{\"model\": \"trees\", \"rounds\": 100, \"validation\": 0}');
          FOR k IN 1 .. n LOOP
              t0 := clock_timestamp();
              PERFORM reframe.train('bt', tbl, 'y', options => '{\"model\": \"trees\", \"rounds\": 100, \"validation\": 0}');
              ms := ms || extract(epoch FROM clock_timestamp() - t0) * 1000;
          END LOOP;
          RETURN (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY m) FROM unnest(ms) m);
      END \$\$;
      SELECT round(pg_temp.m('$1', 0, 5)::numeric, 1) || ' ' || round(pg_temp.m('$1', 1, 5)::numeric, 1)"
}
report() {  # label table
    read -r d o <<< "$(measure "$2")"
    printf '%-34s default %8.1f ms   one thread %8.1f ms   ratio %.2f\n' "$1" "$d" "$o" \
        "$(echo "$d / $o" | bc -l)"
}
report "1,200 x 9 classes, quiet" nine
report "100,000 rows regression, quiet" wide
busy=()
for ((k = 0; k < $(nproc); k++)); do (while :; do :; done) & busy+=($!); done
trap 'kill ${busy[*]} 2>/dev/null' EXIT
sleep 0.5
report "1,200 x 9 classes, $(nproc) busy processes" nine
report "100,000 rows regression, $(nproc) busy" wide
kill "${busy[@]}" 2>/dev/null; trap - EXIT
dropdb "$DB"
