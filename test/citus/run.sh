#!/usr/bin/env bash
# The Citus suite: builds Citus once per machine (scripts/citus.sh), starts a
# throwaway coordinator and two workers on localhost, installs reframe on
# them, and runs the pg_regress suites under test/citus.  Prints
# "citus: N passed, N failed", or "citus: skipped (...)" when there is no
# Citus to test with.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$(pwd)
status=0
bash scripts/citus.sh || status=$?
if [ $status = 2 ]; then
    echo "citus: skipped (no ../shared/citus source and no Citus installed)"
    exit 0
elif [ $status != 0 ]; then
    echo "citus: 0 passed, 1 failed (could not build Citus)"
    exit 1
fi

. scripts/citus-cluster.sh
trap citus_stop EXIT
citus_start "${REFRAME_CITUS_PORT:-57630}" || { echo "citus: 0 passed, 1 failed (could not start the cluster)"; exit 1; }
base=$CITUS_BASE
set -- $CITUS_PORTS
coord=$1

# reframe itself is installed by scripts/setup.sh; pg_regress runs as
# postgres, which may not read the checkout (a clone under /root): it reads
# a copy of the suite in the cluster's directory
suite=$base/suite
out=$suite/results
mkdir -p "$out" && cp -r test/citus/sql test/citus/expected "$suite"/ &&
    { [ "$(id -u)" != 0 ] || chown -R postgres "$suite"; }
tests=$(cd test/citus/sql && ls *.sql | sed 's/\.sql$//' | tr '\n' ' ')
pgxs=$(dirname "$($CITUS_BIN/pg_config --pgxs)")
as_pg "cd $suite && $pgxs/../test/regress/pg_regress --use-existing --host=$base --port=$coord --user=postgres \
      --dbname=postgres --inputdir=$suite --outputdir=$out $tests" > "$base/regress.log" 2>&1
cat "$base/regress.log"
total=$(echo $tests | wc -w)
ok=$(grep -cE '^(test| ) +[^ ]+ +\.\.\. ok ' "$base/regress.log" || true)

# pg_dump on the coordinator carries a model table's rows (read from its
# shards); restored into a plain database, the model scores as on the cluster
psql_c() { as_pg "psql -X -A -t -q -h $base -p $coord -U postgres $(printf '%q ' "$@")"; }
total=$((total + 1))
if psql_c -d postgres -c "CREATE DATABASE restored" 2>/dev/null &&
   psql_c -d restored -c "CREATE EXTENSION reframe" &&
   as_pg "pg_dump -h $base -p $coord -U postgres -d postgres -t lin -t events_local" > "$base/dump.sql" &&
   psql_c -d restored -f "$base/dump.sql" > "$base/restore.log" 2>&1; then
    q="SELECT (SELECT count(*) FROM lin WHERE block = '') || ' versions, sum of scores '
              || round(sum(reframe.score('lin', e))::numeric, 9) FROM events_local e"
    there=$(psql_c -d postgres -c "$q"); here=$(psql_c -d restored -c "$q")
    echo "citus dump: cluster $there; restored $here"
    if [ -n "$there" ] && [ "$there" = "$here" ]; then
        echo "test citus_dump ... ok"; ok=$((ok + 1))
    else
        echo "test citus_dump ... FAILED"; cat "$base/restore.log"
    fi
else
    echo "test citus_dump ... FAILED"
fi
[ -f "$out/regression.diffs" ] && { echo "---- citus regression.diffs ----"; cat "$out/regression.diffs"; }
echo "citus: $ok passed, $((total - ok)) failed"
[ "$ok" = "$total" ]
