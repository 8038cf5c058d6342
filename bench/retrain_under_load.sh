#!/usr/bin/env bash
# Scoring while the same model is retrained: two clients score one
# row with reframe.score for SECONDS_PER_RUN seconds with the model idle, then
# as long again while one session retrains the model back to back (at least
# RETRAINS times), alternately on the even and the odd rows, each version
# deployed as it commits.
#
# A third run has the other session only scan the same training rows back to
# back: the load any query reading that data would put on the machine, as a
# baseline for what training adds.
#
# Every score is checked inside the transaction against the scores of the
# two possible versions, computed beforehand by reference models trained on
# the same rows (training is deterministic): a score from any other (partial,
# mixed) version fails the transaction.  Prints the p50/p99 latency of both
# runs and their ratio; exits non-zero on any failed call.
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
-- the baseline load: reading the same training rows, with no training
CREATE PROCEDURE scan_until(deadline timestamptz) LANGUAGE plpgsql AS $$
DECLARE
    k int := 0;
BEGIN
    WHILE clock_timestamp() < deadline LOOP
        k := k + 1;
        PERFORM count(*), sum(a + b + c + d) FROM rt WHERE i % 2 = k % 2;
        COMMIT;
    END LOOP;
END $$;
CREATE PROCEDURE retrain_until(deadline timestamptz, at_least int) LANGUAGE plpgsql AS $$
DECLARE
    k int := 0;
BEGIN
    WHILE clock_timestamp() < deadline OR k < at_least LOOP
        k := k + 1;
        PERFORM reframe.train('live', format('SELECT a, b, c, d, y FROM rt WHERE i %% 2 = %s', k % 2), 'y');
        COMMIT;
    END LOOP;
END $$;
SQL
[ "$(psql -X -A -t -d "$db" -c "SELECT count(DISTINCT s) FROM allowed")" = 2 ] ||
    { echo "the two versions score alike: no check possible"; exit 1; }
query="SELECT checked(reframe.score('live', ARRAY[0.3, -0.2, 0.5, 0.1]::float8[]))"

# one client process with two connections, as pgbench -c 2 -j 1 (bench/score_latency.c,
# built here against libpq), times every call
cc -O2 -o "$dir/score_latency" "$(dirname "$0")/score_latency.c" -I"$(pg_config --includedir)" -lpq
conninfo="dbname=$db"
run() {
    local status=0
    "$dir/score_latency" "$conninfo" 2 "$seconds" "$query" "$dir/$1.raw" > "$dir/$1.out" 2>&1 || status=1
    sort -n "$dir/$1.raw" > "$dir/$1.lat"
    echo $status > "$dir/$1.status"
}
pct() { awk -v p="$2" '{ v[NR] = $1 } END { i = int(NR * p / 100); if (i < 1) i = 1; print v[i] / 1000 }' "$dir/$1.lat"; }

run idle

# the same clients while one session scans the training rows back to back
run scan &
bench=$!
sleep 1
psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" -c "CALL scan_until(clock_timestamp() + interval '$((seconds - 1)) seconds')" > /dev/null
wait $bench

run busy &
bench=$!
sleep 1
# one session retrains back to back, committing each version, until the busy
# run ends (and at least $retrains times)
t0=$(date +%s%N)
psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" > "$dir/retrain.out" 2>&1 <<SQL || { cat "$dir/retrain.out"; exit 1; }
SET client_min_messages = warning;
CALL retrain_until(clock_timestamp() + interval '$((seconds - 1)) seconds', $retrains);
SQL
train_s=$(( ($(date +%s%N) - t0) / 1000000 ))
wait $bench
versions=$(psql -X -A -t -d "$db" -c "SELECT count(*) FROM live WHERE block = ''")

status=0
for r in idle scan busy; do
    if [ "$(cat "$dir/$r.status")" != 0 ]; then
        echo "$r run: a scoring call failed"; head -3 "$dir/$r.out"; status=1
    fi
done
n_idle=$(wc -l < "$dir/idle.lat")
n_busy=$(wc -l < "$dir/busy.lat")
n_scan=$(wc -l < "$dir/scan.lat")
echo "scoring while retraining: 2 clients, prepared statement, $seconds s each run, $rows-row binary model"
[ $status = 0 ] && checked="every score from a complete version" || checked="SOME SCORES FAILED"
echo "  retrained $((versions - 1)) times in $train_s ms, $versions versions in all; $checked"
printf "  idle   %8d scores, p50 %.3f ms, p99 %.3f ms\n" "$n_idle" "$(pct idle 50)" "$(pct idle 99)"
printf "  scan   %8d scores, p50 %.3f ms, p99 %.3f ms   (another session scanning the training rows)\n" "$n_scan" "$(pct scan 50)" "$(pct scan 99)"
printf "  busy   %8d scores, p50 %.3f ms, p99 %.3f ms   (another session retraining)\n" "$n_busy" "$(pct busy 50)" "$(pct busy 99)"
awk -v b="$(pct busy 99)" -v i="$(pct idle 99)" -v s="$(pct scan 99)" \
    'BEGIN { printf "  p99 ratio busy / idle %.2f, scan / idle %.2f, busy / scan %.2f\n", b / i, s / i, b / s }'
[ "$versions" -gt "$retrains" ] || { echo "expected more than $retrains versions, found $versions"; status=1; }
exit $status
