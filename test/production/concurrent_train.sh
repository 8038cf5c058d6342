#!/usr/bin/env bash
# Three sessions train the same new model name at once: each waits for the
# one before it (a lock on the name), none fails on the catalog's unique
# index after its whole training, and the model ends with three versions.
DB=reframe_concurrent
. "$(dirname "$0")/lib.sh"
fresh_db || fail "no database"
q "CREATE TABLE d AS SELECT i, sin(i) AS a, cos(i * 0.7) AS b, 2 * sin(i) + cos(i * 0.7) AS r
     FROM generate_series(1, 50000) i" >/dev/null || fail "no data"
pids=()
for s in 1 2 3; do
    PGOPTIONS="-c client_min_messages=warning" psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$DB" \
         -c "SELECT version FROM reframe.train('fresh', 'SELECT a, b, r FROM d', 'r', options => '{\"model\": \"trees\", \"rounds\": 20}')" \
         > "/tmp/reframe-concurrent-$s.out" 2>&1 &
    pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
cat /tmp/reframe-concurrent-*.out
[ $failed = 0 ] || fail "$failed of 3 concurrent trainings of a new model failed"
versions=$(cat /tmp/reframe-concurrent-*.out | sort -n | tr '\n' ' ')
[ "$versions" = "1 2 3 " ] || fail "versions $versions, not 1 2 3"
[ "$(q "SELECT count(*) FROM fresh WHERE block = ''")" = 3 ] || fail "the model does not have three versions"
rm -f /tmp/reframe-concurrent-*.out
echo "concurrent_train: 3 sessions trained one new model at once: versions $versions"
