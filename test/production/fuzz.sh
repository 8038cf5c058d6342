#!/usr/bin/env bash
# Fuzzing: thousands of malformed calls at every public function (fuzz.sql).
# The server must not restart, the session must stay connected, and every
# failure must be an ordinary error.  REFRAME_FUZZ_SEED and
# REFRAME_FUZZ_CALLS change the run.
DB=reframe_fuzz
. "$(dirname "$0")/lib.sh"
fresh_db || fail "no database"
seed=${REFRAME_FUZZ_SEED:-0.42}
calls=${REFRAME_FUZZ_CALLS:-5000}
before=$(q "SELECT pg_postmaster_start_time()")
out=$(psql -X -A -t -q -d "$DB" -v seed="$seed" -v calls="$calls" -f "$(dirname "$0")/fuzz.sql" 2>&1)
status=$?
echo "$out" | grep -v '^INTERNAL'
after=$(q "SELECT pg_postmaster_start_time()") || fail "server gone after fuzzing"
[ "$before" = "$after" ] || fail "the server restarted during fuzzing ($before, then $after)"
[ $status = 0 ] || fail "fuzz.sql stopped (status $status): $(echo "$out" | tail -5)"
if grep -q '^INTERNAL' <<<"$out"; then
    grep '^INTERNAL' <<<"$out"
    fail "calls ended in internal errors (seed $seed)"
fi
total=$(q "SELECT count(*) FROM fuzz_result")
[ "$total" = "$calls" ] || fail "$total of $calls calls recorded"
echo "fuzz: $calls calls, seed $seed, server up since $before"
