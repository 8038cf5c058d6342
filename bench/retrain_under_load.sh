#!/usr/bin/env bash
# Scoring while the same model is retrained: two pgbench clients score one
# row with reframe.score for SECONDS_PER_RUN seconds with the model idle, then
# as long again while the model is retrained back to back (at least RETRAINS
# times), alternately on the even and the odd rows, each version deployed as
# it commits.
#
# Every score is checked inside the transaction against the scores of the
# two possible versions, computed beforehand by reference models trained on
# the same rows (training is deterministic): a score from any other (partial,
# mixed) version fails the transaction.  Prints the p50/p99 latency of both
# runs and their ratio; exits non-zero on any failed transaction.
# Runs against the server in PG* variables: bench/run retrain_under_load wraps it.
set -euo pipefail
seconds=${SECONDS_PER_RUN:-15}
retrains=${RETRAINS:-6}
rows=${ROWS:-200000}
db=${RETRAIN_DB:-reframe_retrain}
dir=$(mktemp -d)
trap 'rm -rf "$dir"; dropdb --force --if-exists "$db" >/dev/null 2>&1' EXIT

dropdb --force --if-exists "$db" >/dev/null 2>&1
createdb "$db"
psql -X -q -v ON_ERROR_STOP=1 -v rows="$rows" -d "$db" > /dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION reframe;
CREATE TABLE rt AS
SELECT i, sin(i)::float8 AS a, cos(i * 0.7)::float8 AS b, sin(i * 1.3)::float8 AS c, cos(i * 2.1)::float8 AS d,
       sin(i) + cos(i * 0.7) * sin(i * 1.3) + 0.3 * sin(i * 9.7) > 0 AS y
  FROM generate_series(1, :rows) i;
-- the two versions the model will alternate between, trained as it will be
SELECT 1 FROM reframe.train('ref_even', 'SELECT a, b, c, d, y FROM rt WHERE i % 2 = 0', 'y');
SELECT 1 FROM reframe.train('ref_odd', 'SELECT a, b, c, d, y FROM rt WHERE i % 2 = 1', 'y');
SELECT 1 FROM reframe.train('live', 'SELECT a, b, c, d, y FROM rt WHERE i % 2 = 0', 'y');
CREATE TABLE allowed AS
SELECT reframe.score(m, ARRAY[0.3, -0.2, 0.5, 0.1]::float8[]) AS s FROM unnest(ARRAY['ref_even', 'ref_odd']) m;
CREATE FUNCTION checked(s float8) RETURNS float8 LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM allowed WHERE allowed.s = checked.s) THEN
        RAISE EXCEPTION 'score % comes from no complete version', s;
    END IF;
    RETURN s;
END $$;
SQL
[ "$(psql -X -A -t -d "$db" -c "SELECT count(DISTINCT s) FROM allowed")" = 2 ] ||
    { echo "the two versions score alike: no check possible"; exit 1; }
echo "SELECT checked(reframe.score('live', ARRAY[0.3, -0.2, 0.5, 0.1]::float8[]));" > "$dir/score.sql"

# pgbench -l logs one line per transaction: its latency in microseconds is field 3
run() {
    rm -f "$dir"/pgbench_log.*
    (cd "$dir" && pgbench -n -M prepared -c 2 -j 2 -T "$seconds" -l -f score.sql "$db" > "$dir/$1.out" 2>&1) || true
    cat "$dir"/pgbench_log.* | awk '{ print $3 }' | sort -n > "$dir/$1.lat"
}
pct() { awk -v p="$2" '{ v[NR] = $1 } END { i = int(NR * p / 100); if (i < 1) i = 1; print v[i] / 1000 }' "$dir/$1.lat"; }
failed() { sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$dir/$1.out"; }

run idle

run busy &
bench=$!
sleep 1
train_ms=()
# retrain back to back for as long as the busy run lasts (at least $retrains times)
for ((k = 1; k <= retrains || $(kill -0 $bench 2>/dev/null && echo 1 || echo 0); k++)); do
    parity=$((k % 2))
    t0=$(date +%s%N)
    psql -X -q -A -t -d "$db" -c "SET client_min_messages = warning;
        SELECT version FROM reframe.train('live', 'SELECT a, b, c, d, y FROM rt WHERE i % 2 = $parity', 'y')" > /dev/null
    train_ms+=($(( ($(date +%s%N) - t0) / 1000000 )))
done
wait $bench
versions=$(psql -X -A -t -d "$db" -c "SELECT count(*) FROM live WHERE block = ''")

status=0
for r in idle busy; do
    if grep -q "aborted\|ERROR" "$dir/$r.out" || [ "$(failed $r)" != 0 ]; then
        echo "$r run: failed transactions"; grep -m 3 "aborted\|ERROR" "$dir/$r.out"; status=1
    fi
done
n_idle=$(wc -l < "$dir/idle.lat")
n_busy=$(wc -l < "$dir/busy.lat")
echo "scoring while retraining: pgbench -M prepared -c 2 -T $seconds, $rows-row binary model"
echo "  retrained ${#train_ms[@]} times (${train_ms[*]} ms), $versions versions; every score from a complete version"
printf "  idle   %8d transactions, 0 failed, p50 %.3f ms, p99 %.3f ms\n" "$n_idle" "$(pct idle 50)" "$(pct idle 99)"
printf "  busy   %8d transactions, %s failed, p50 %.3f ms, p99 %.3f ms\n" "$n_busy" "$(failed busy)" "$(pct busy 50)" "$(pct busy 99)"
awk -v b="$(pct busy 99)" -v i="$(pct idle 99)" 'BEGIN { printf "  p99 ratio (busy / idle) %.2f\n", b / i }'
[ "$versions" = $((${#train_ms[@]} + 1)) ] || { echo "expected $((${#train_ms[@]} + 1)) versions, found $versions"; status=1; }
exit $status
