#!/usr/bin/env bash
# Scoring never stops: two clients (bench/score_latency.c, one process with
# two connections as pgbench -c 2 -j 1) score a model while it is retrained
# back to back; no transaction may fail, and every score must come
# from a complete version (bench/retrain_under_load.sh checks each one).  The
# latencies it prints are for the benchmark; nothing here is timed.
. "$(dirname "$0")/lib.sh"
DB=reframe_retrain
ROUNDS=1 SECONDS_PER_RUN=4 RETRAINS=4 ROWS=100000 RETRAIN_DB=$DB bash "$(dirname "$0")/../../bench/retrain_under_load.sh" ||
    fail "scoring failed while retraining"
