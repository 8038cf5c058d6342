#!/usr/bin/env bash
# Forged and mutated models (spec_fuzz.sql): thousands of random changes to
# the spec and blocks of trained models of every kind, each followed by
# every scoring, insight and export call.  The server must not restart, and
# every failure must be an ordinary error.  Meanwhile another session's
# temporary model table must not break reframe.models for anyone.
# REFRAME_SPEC_FUZZ_SEED and REFRAME_SPEC_FUZZ_MUTATIONS change the run.
DB=reframe_spec_fuzz
. "$(dirname "$0")/lib.sh"
fresh_db || fail "no database"
psql -X -q -d "$DB" -c "DROP ROLE IF EXISTS sf_forger" 2>/dev/null
seed=${REFRAME_SPEC_FUZZ_SEED:-0.17}
mutations=${REFRAME_SPEC_FUZZ_MUTATIONS:-3000}
before=$(q "SELECT pg_postmaster_start_time()")

# a temporary model table of another session, alive while we list models
psql -X -q -d "$DB" -c "CREATE TEMP TABLE other OF reframe.model_row (PRIMARY KEY (version, block, part))" -c "SELECT pg_sleep(4)" >/dev/null &
holder=$!
wait_for 3 "SELECT count(*) > 0 FROM pg_class WHERE relname = 'other' AND relpersistence = 't'" ||
    fail "the other session's temporary model table did not appear"
listed=$(q "SELECT count(*) FROM reframe.models") || fail "reframe.models failed beside another session's temporary model table"
wait $holder

PGOPTIONS="-c sf.mutations=$mutations" run_fuzz spec_fuzz.sql -v seed="$seed"
done_mut=$(q "SELECT count(DISTINCT mutation) FROM sf_result")
[ "$done_mut" -ge $((mutations / 2)) ] || fail "only $done_mut distinct mutations of $mutations"
q "DROP OWNED BY sf_forger; DROP ROLE sf_forger" >/dev/null
echo "spec fuzz: $mutations mutations ($done_mut distinct), seed $seed, reframe.models listed $listed beside a temp table, server up since $before"
