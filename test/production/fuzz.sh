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
run_fuzz fuzz.sql -v seed="$seed" -v calls="$calls"
total=$(q "SELECT count(*) FROM fuzz_result")
[ "$total" = "$calls" ] || fail "$total of $calls calls recorded"
echo "fuzz: $calls calls, seed $seed, server up since $before"
