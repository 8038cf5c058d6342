#!/usr/bin/env bash
# Scoring while the same model is retrained: two clients score one row with
# reframe.score for SECONDS_PER_RUN seconds beside each of these loads, in
# turn, for ROUNDS rounds (interleaved, so that the machine's own drift falls
# on all of them alike):
#   idle     nothing else runs
#   spin     another process spins on a core, touching no memory: what any
#            CPU-bound neighbour costs on this machine
#   scan     another session scans the training rows back to back: what any
#            query reading the same data costs
#   busy     another session retrains the model back to back (at least
#            RETRAINS times a run), alternately on the even and the odd rows,
#            each version deployed as it commits
#   noyield  the same with reframe.train_yield_interval = 0
#
# Every score is checked inside the transaction against the scores of the
# two possible versions, computed beforehand by reference models trained on
# the same rows (training is deterministic): a score from any other (partial,
# mixed) version fails the transaction.  Prints p50/p99/p99.9 latency of each
# load and the p99 ratios to idle.  Last, pgbench itself (-M prepared -c 2
# -j 1) runs the same checked query while the model retrains.  Exits non-zero
# on any failed call.
# RATES="0 1000" adds runs with each client calling at random times, 1000
# calls a second on average (bench/score_latency.c), instead of back to back.
# Runs against the server in PG* variables: bench/run retrain_under_load wraps it.
set -euo pipefail
seconds=${SECONDS_PER_RUN:-5}
rounds=${ROUNDS:-5}
retrains=${RETRAINS:-6}
rows=${ROWS:-200000}
db=${RETRAIN_DB:-reframe_retrain}
rates=${RATES:-0}
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
cc -O2 -o "$dir/score_latency" "$(dirname "$0")/score_latency.c" -I"$(pg_config --includedir)" -lpq -lm
conninfo="dbname=$db"
# run NAME RATE ROUND: score for $seconds s into NAME.ROUND.raw and add it to NAME.raw
run() {
    local status=0
    "$dir/score_latency" "$conninfo" 2 "$seconds" "$query" "$dir/$1.$3.raw" "$2" > "$dir/$1.$3.out" 2>&1 || status=1
    cat "$dir/$1.$3.raw" >> "$dir/$1.raw"
    [ $status = 0 ] || { echo "$1 run $3: a scoring call failed"; head -3 "$dir/$1.$3.out"; touch "$dir/failed"; }
}
# pct FILE COLUMN P...: the P-th percentiles in ms of column 1 of FILE (the
# round trips) or column 2 (how late calls started), sorting it once
pct() {
    local file=$1 c=$2
    shift 2
    sort -n -k"$c,$c" "$dir/$file" |
        awk -v c="$c" -v ps="$*" '{ v[NR] = $c }
            END { n = split(ps, p, " "); for (k = 1; k <= n; k++) { i = int(NR * p[k] / 100); if (i < 1) i = 1; printf "%s%s", v[i] / 1000, k < n ? " " : "\n" } }'
}

# retrain_session [SQL]: one session (after SQL) retrains the model back to
# back, committing each version, for the rest of a run (and at least $retrains times)
retrain_session() {
    psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" > "$dir/retrain.out" 2>&1 <<SQL || { cat "$dir/retrain.out"; exit 1; }
SET client_min_messages = warning;
${1:-}
CALL retrain_until(clock_timestamp() + interval '$((seconds - 1)) seconds', $retrains);
SQL
}

# retrain RUN ROUND [SQL]: score while retrain_session SQL runs
retrain() {
    local bench v0 t0 n
    run "$1$rate" "$rate" "$2" &
    bench=$!
    sleep 1
    v0=$(psql -X -A -t -d "$db" -c "SELECT count(*) FROM live WHERE block = ''")
    t0=$(date +%s%N)
    retrain_session "${3:-}"
    train_ms=$(( train_ms + ($(date +%s%N) - t0) / 1000000 ))
    wait $bench
    n=$(( $(psql -X -A -t -d "$db" -c "SELECT count(*) FROM live WHERE block = ''") - v0 ))
    [ "$n" -ge "$retrains" ] || { echo "$1 round $2: expected at least $retrains new versions, found $n"; status=1; }
    trained=$(( trained + n ))
}

status=0
echo "scoring while retraining: 2 clients, prepared statement, $rows-row binary model;"
echo "$rounds rounds of $seconds s for each load beside the scoring"
for rate in $rates; do
    trained=0
    train_ms=0
    for round in $(seq "$rounds"); do
        run "idle$rate" "$rate" "$round"

        # the same clients beside a process that only spins on a core
        run "spin$rate" "$rate" "$round" &
        bench=$!
        sleep 1
        timeout $((seconds - 1)) bash -c 'while :; do :; done' || true
        wait $bench

        # the same clients while one session scans the training rows back to back
        run "scan$rate" "$rate" "$round" &
        bench=$!
        sleep 1
        psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" -c "CALL scan_until(clock_timestamp() + interval '$((seconds - 1)) seconds')" > /dev/null
        wait $bench

        retrain busy "$round"
        retrain noyield "$round" "SET reframe.train_yield_interval = 0;"
    done

    if [ "$rate" = 0 ]; then
        echo "  each client calling back to back:"
    else
        echo "  each client calling at random (Poisson) times, $rate calls a second on average:"
    fi
    [ -e "$dir/failed" ] && { checked="SOME SCORES FAILED"; status=1; } || checked="every score from a complete version"
    echo "    retrained $trained times in $train_ms ms; $checked"
    declare -A p99
    for r in idle spin scan busy noyield; do
        case $r in
            idle) what="";;
            spin) what="   (another process spinning on a core, touching no memory)";;
            scan) what="   (another session scanning the training rows)";;
            busy) what="   (another session retraining)";;
            noyield) what="   (the same, reframe.train_yield_interval = 0)";;
        esac
        read -r p50 p99["$r"] p999 < <(pct "$r$rate.raw" 1 50 99 99.9)
        printf "    %-7s %8d scores, p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms%s\n" "$r" "$(wc -l < "$dir/$r$rate.raw")" \
            "$p50" "${p99[$r]}" "$p999" "$what"
    done
    awk -v b="${p99[busy]}" -v i="${p99[idle]}" -v s="${p99[scan]}" -v p="${p99[spin]}" -v n="${p99[noyield]}" \
        'BEGIN { printf "    p99 ratio to idle: spin %.2f, scan %.2f, busy %.2f, noyield %.2f\n", p / i, s / i, b / i, n / i }'
    printf "    busy / idle p99 ratio of each round:"
    for round in $(seq "$rounds"); do
        awk -v b="$(pct "busy$rate.$round.raw" 1 99)" -v i="$(pct "idle$rate.$round.raw" 1 99)" 'BEGIN { printf " %.2f", b / i }'
    done
    echo
    if [ "$rate" != 0 ]; then
        printf "    99%% of calls started within %.3f (idle), %.3f (busy) ms of their schedule\n" \
            "$(pct "idle$rate.raw" 2 99)" "$(pct "busy$rate.raw" 2 99)"
    fi
done

# the same check through pgbench itself (its latency log reuses a cached
# clock, hence score_latency above for the percentiles): two clients scoring
# while one session retrains, every score checked, no transaction may fail
echo "$query;" > "$dir/score.sql"
pgbench -n -M prepared -c 2 -j 1 -T "$seconds" -f "$dir/score.sql" "$db" > "$dir/pgbench.out" 2>&1 &
bench=$!
sleep 1
retrain_session
pgbench_status=0
wait $bench || pgbench_status=$?
done_tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$dir/pgbench.out")
failed_tx=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$dir/pgbench.out")
if [ "$pgbench_status" != 0 ] || [ -z "$done_tx" ] || [ "$done_tx" = 0 ] || [ "${failed_tx:-0}" != 0 ]; then
    echo "  pgbench while retraining FAILED (exit $pgbench_status):"; grep -v "^pgbench (" "$dir/pgbench.out" | head -5
    status=1
else
    echo "  pgbench -M prepared -c 2 -j 1 while retraining: $done_tx transactions, ${failed_tx:-0} failed," \
        "latency average $(sed -n 's/^latency average = //p' "$dir/pgbench.out")"
fi
exit $status
