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

bin=/usr/lib/postgresql/15/bin
base=$(mktemp -d /tmp/reframe-citus.XXXXXX)
chmod 755 "$base"
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -c "$*"; else bash -c "$*"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$base"
ports="${REFRAME_CITUS_PORT:-57630} $(( ${REFRAME_CITUS_PORT:-57630} + 1 )) $(( ${REFRAME_CITUS_PORT:-57630} + 2 ))"
cleanup() {
    # REFRAME_CITUS_KEEP=1 leaves the cluster running, for a developer
    [ -n "${REFRAME_CITUS_KEEP:-}" ] && { echo "citus: cluster kept in $base"; return; }
    for p in $ports; do as_pg "$bin/pg_ctl -D $base/$p -m immediate stop" >/dev/null 2>&1; done
    rm -rf "$base"
}
trap cleanup EXIT
for p in $ports; do
    as_pg "$bin/initdb -D $base/$p -U postgres --no-sync -A trust" > "$base/initdb-$p.log" 2>&1 || { cat "$base/initdb-$p.log"; exit 1; }
    cat >> "$base/$p/postgresql.conf" <<CONF
port = $p
unix_socket_directories = '$base'
listen_addresses = '127.0.0.1'
shared_preload_libraries = 'citus'
max_prepared_transactions = 20
fsync = off
max_worker_processes = 16
CONF
    as_pg "$bin/pg_ctl -D $base/$p -l $base/$p.log -w start" > /dev/null || { cat "$base/$p.log"; exit 1; }
done
set -- $ports
coord=$1
for p in $ports; do
    as_pg "psql -X -q -h $base -p $p -U postgres -d postgres -c 'CREATE EXTENSION citus'" || exit 1
done
as_pg "psql -X -q -h $base -p $coord -U postgres -d postgres" <<SQL || exit 1
SELECT citus_set_coordinator_host('127.0.0.1', $coord);
SELECT citus_add_node('127.0.0.1', $2);
SELECT citus_add_node('127.0.0.1', $3);
SQL

# reframe itself is installed by scripts/setup.sh; pg_regress runs as postgres
out=$root/test/citus/results
rm -rf "$out"; mkdir -p "$out" && { [ "$(id -u)" = 0 ] && chown postgres "$out"; }
tests=$(cd test/citus/sql && ls *.sql | sed 's/\.sql$//' | tr '\n' ' ')
pgxs=$(dirname "$($bin/pg_config --pgxs)")
as_pg "$pgxs/../test/regress/pg_regress --use-existing --host=$base --port=$coord --user=postgres \
      --dbname=postgres --inputdir=$root/test/citus --outputdir=$out $tests" > "$base/regress.log" 2>&1
cat "$base/regress.log"
total=$(echo $tests | wc -w)
ok=$(grep -cE '^(test| ) +[^ ]+ +\.\.\. ok ' "$base/regress.log" || true)

# pg_dump on the coordinator carries a model table's rows (read from its
# shards); restored into a plain database, the model scores as on the cluster
psql_c() { as_pg "psql -X -A -t -q -h $base -p $coord -U postgres $(printf '%q ' "$@")"; }
total=$((total + 1))
if psql_c -d postgres -c "CREATE DATABASE restored" &&
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
