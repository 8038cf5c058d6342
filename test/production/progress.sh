#!/usr/bin/env bash
# Progress: "verbose" prints phases, rows read and per-iteration loss; while
# a training runs another session sees it in reframe.training; a cancelled
# training leaves no version and no progress row.
DB=reframe_progress
. "$(dirname "$0")/lib.sh"
fresh_db || fail "no database"
q "CREATE TABLE t AS SELECT i, sin(i)::float8 AS a, cos(i * 0.3)::float8 AS b,
          (sin(i) * cos(i * 0.3) > 0) AS y FROM generate_series(1, 200000) i" || fail "no data"

# verbose NOTICEs, from a short training
log=$(psql -X -q -d "$DB" -c "SELECT version FROM reframe.train('small', 'SELECT * FROM t WHERE i <= 5000', 'y',
       options => '{\"model\": \"linear\", \"verbose\": true, \"validation\": 0.2}')" 2>&1)
for want in 'model "small": reading' 'model "small": read 5000 rows' 'model "small": iteration 1: loss' \
            'model "small": encoded 3 inputs' 'model "small": stored version 1'; do
    grep -qF "$want" <<<"$log" || fail "verbose output lacks \"$want\": $log"
done

# a long training, watched from this session
psql -X -q -d "$DB" -c "SELECT * FROM reframe.train('long', 't', 'y',
       options => '{\"hidden\": [256, 256], \"epochs\": 500, \"patience\": 500}')" > /tmp/reframe-progress.out 2>&1 &
trainer=$!
wait_for 60 "SELECT EXISTS (SELECT FROM reframe.training WHERE model = 'long' AND phase = 'fitting' AND iteration >= 1)" ||
    fail "no progress seen: $(q 'SELECT * FROM reframe.training')"
row=$(q "SELECT database, role = current_user, rows_read, loss > 0, started <= updated FROM reframe.training WHERE model = 'long'")
[ "$row" = "$DB|t|200000|t|t" ] || fail "progress row: $row"
# another role sees that a training runs, not what it trains
q "SET client_min_messages = warning; DROP ROLE IF EXISTS reframe_watcher; CREATE ROLE reframe_watcher"
row=$(q "SET ROLE reframe_watcher; SELECT pid IS NOT NULL, model IS NULL, loss IS NULL FROM reframe.training")
[ "$row" = "t|t|t" ] || fail "another role's view of the training: $row"
q "DROP ROLE reframe_watcher"
q "SELECT pg_cancel_backend(pid) FROM reframe.training WHERE model = 'long'" >/dev/null
wait $trainer
grep -q "canceling statement due to user request" /tmp/reframe-progress.out || fail "not cancelled: $(cat /tmp/reframe-progress.out)"
[ "$(q "SELECT count(*) FROM reframe.training")" = 0 ] || fail "a cancelled training is still listed"
[ "$(q "SELECT to_regclass('long') IS NULL")" = t ] || fail "a cancelled first training left its table"

# Trains model $1 on t with options $2 in the background until
# reframe.training shows a row where $3 holds, then cancels it; the
# training's output is in /tmp/reframe-progress-$1.out, and no table is left.
cancel_once_seen() {
    psql -X -q -d "$DB" -c "SELECT * FROM reframe.train('$1', 't', 'y', options => '$2')" \
        > "/tmp/reframe-progress-$1.out" 2>&1 &
    local trainer=$!
    wait_for 60 "SELECT EXISTS (SELECT FROM reframe.training WHERE $3)" ||
        fail "no progress of $1 seen: $(q 'SELECT * FROM reframe.training')"
    q "SELECT pg_cancel_backend(pid) FROM reframe.training WHERE model LIKE '$1%'" >/dev/null
    wait $trainer
    [ "$(q "SELECT to_regclass('$1') IS NULL")" = t ] || fail "a cancelled training of $1 left its table"
}

# trees: rounds show as iterations with the validation loss; a cancel
# between rounds frees XGBoost's handles and leaves nothing
cancel_once_seen forest '{"model": "trees", "rounds": 10000, "max_depth": 12, "patience": 1000, "learning_rate": 0.01}' \
    "model = 'forest' AND phase = 'fitting' AND iteration >= 2 AND loss > 0"
grep -q "canceling statement due to user request" /tmp/reframe-progress-forest.out || fail "trees not cancelled: $(cat /tmp/reframe-progress-forest.out)"
[ "$(q "SELECT count(*) FROM reframe.training")" = 0 ] || fail "a cancelled trees training is still listed"
q "SELECT version FROM reframe.train('small_trees', 'SELECT * FROM t WHERE i <= 5000', 'y', options => '{\"model\": \"trees\", \"rounds\": 5}')" >/dev/null ||
    fail "trees cannot be trained after a cancel"
# a search shows which trial trains
cancel_once_seen searched '{"model": "trees", "rounds": 10000, "patience": 1000, "learning_rate": 0.01, "search": {"max_depth": [12, 11]}}' \
    "model = 'searched (search: trial 1 of 2)' AND phase = 'fitting'"
echo "progress: verbose phases and losses; training seen from another session (phase fitting, 200000 rows); cancel leaves nothing, trees too; a search shows its trial"
