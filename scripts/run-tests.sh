#!/usr/bin/env bash
# Runs inside pg_virtualenv (PGHOST, PGPORT, PGUSER set): pg_regress, then
# pgTAP, then one summary line.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

passed=0
failed=0

# pg_regress, through PGXS's installcheck
rm -rf results regression.diffs regression.out
make -s installcheck PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config > /tmp/reframe-regress.log 2>&1
cat /tmp/reframe-regress.log
# pg_regress prints one line per test, "test NAME ... ok" (or "... FAILED");
# any test that did not end "ok" (a crash, a missing file) counts as failed.
total=$(ls test/sql/*.sql | wc -l)
ok=$(grep -cE '^(test| ) +[^ ]+ +\.\.\. ok ' /tmp/reframe-regress.log || true)
bad=$((total - ok))
if [ -f regression.diffs ]; then
    echo "---- regression.diffs ----"
    cat regression.diffs
fi
passed=$((passed + ok))
failed=$((failed + bad))

# pgTAP, one database per run
if ls test/pgtap/*.sql >/dev/null 2>&1; then
    createdb reframe_tap
    psql -X -q -d reframe_tap -c 'CREATE EXTENSION pgtap; CREATE EXTENSION reframe;'
    pg_prove -d reframe_tap test/pgtap/*.sql > /tmp/reframe-tap.log 2>&1
    cat /tmp/reframe-tap.log
    # count individual assertions: "ok N" / "not ok N" are hidden by pg_prove,
    # so use its summary ("Files=F, Tests=T") and the failed-test list.
    tests=$(sed -n 's/^Files=[0-9]*, Tests=\([0-9]*\),.*/\1/p' /tmp/reframe-tap.log)
    tapfail=$(sed -n 's/.*(Wstat: .* Failed: \([0-9]*\)).*/\1/p' /tmp/reframe-tap.log | awk '{s+=$1} END {print s+0}')
    if ! grep -q '^Result: PASS' /tmp/reframe-tap.log; then
        # a script that died counts as one failure even if no subtest failed
        [ "$tapfail" -gt 0 ] || tapfail=1
    fi
    tests=${tests:-0}
    passed=$((passed + tests - tapfail))
    failed=$((failed + tapfail))
    dropdb reframe_tap
fi

# dump and restore: models are tables, so pg_dump carries them
createdb reframe_dump
dump_ok=0
if psql -X -q -d reframe_dump -f test/dump/setup.sql > /tmp/reframe-dump.log 2>&1 &&
   pg_dump reframe_dump > /tmp/reframe-dump.sql &&
   createdb reframe_restore &&
   psql -X -q -v ON_ERROR_STOP=1 -d reframe_restore -f /tmp/reframe-dump.sql >> /tmp/reframe-dump.log 2>&1; then
    result=$(psql -X -A -t -d reframe_restore -f test/dump/check.sql 2>&1)
    echo "dump/restore: $result"
    [ "$(echo "$result" | head -1)" = "1500|1500" ] && [ "$(echo "$result" | tail -1)" = "13" ] && dump_ok=1
fi
if [ $dump_ok = 1 ]; then
    echo "test dump_restore ... ok"
    passed=$((passed + 1))
else
    echo "test dump_restore ... FAILED"; cat /tmp/reframe-dump.log
    failed=$((failed + 1))
fi
dropdb --if-exists reframe_dump; dropdb --if-exists reframe_restore

# production: concurrent sessions, cancels, crashes, scheduling, upgrades;
# one script each under test/production, exiting 0 when it holds
report() {
    local t=$1 status=$2
    if [ "$status" = 0 ]; then
        echo "test $t ... ok"; tail -1 "/tmp/reframe-$t.log"
        passed=$((passed + 1))
    else
        echo "test $t ... FAILED"; cat "/tmp/reframe-$t.log"
        failed=$((failed + 1))
    fi
}
production() {
    local status=0
    bash "test/production/$1.sh" > "/tmp/reframe-$1.log" 2>&1 || status=$?
    report "$1" $status
}
# the layering of src/: no lower folder uses a higher one, no loops (from the build's objects)
layers_status=0
bash scripts/check-layers.sh > /tmp/reframe-layers.log 2>&1 || layers_status=$?
report layers $layers_status
# reframe.so exports PostgreSQL's entry points alone; internal globals carry a module prefix
exports_status=0
bash scripts/check-exports.sh > /tmp/reframe-exports.log 2>&1 || exports_status=$?
report exports $exports_status
# no function longer than a screen without a reason, beyond those listed to split
functions_status=0
bash scripts/check-functions.sh > /tmp/reframe-functions.log 2>&1 || functions_status=$?
report functions $functions_status
# pg_cron runs jobs by the minute: its test waits in the background meanwhile
bash test/production/cron.sh > /tmp/reframe-cron.log 2>&1 &
cron=$!
production progress
production xgboost_export
production warm_start
production weights_reference
production report
production readme
production fuzz
production spec_fuzz
production concurrent_train
production upgrade
production retrain_while_scoring
production shared_cache
cron_status=0
wait $cron || cron_status=$?
report cron $cron_status
# last: the crash ends every session
production crash

echo "$passed passed, $failed failed" | tee "${REFRAME_SUMMARY:-/dev/null}"
[ "$failed" -eq 0 ]
