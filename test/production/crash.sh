#!/usr/bin/env bash
# Crash safety: kill -9 of a backend in the middle of training.  PostgreSQL
# restarts every backend; afterwards the model has only its earlier version,
# which scores as before, a first training leaves no table, and training
# goes on from there.  Run last: the crash ends every session.
DB=reframe_crash
. "$(dirname "$0")/lib.sh"
fresh_db || fail "no database"
q "SET client_min_messages = warning;
   CREATE TABLE t AS SELECT i, sin(i)::float8 AS a, cos(i * 0.7)::float8 AS b, (sin(i) * cos(i * 0.7) > 0) AS y
     FROM generate_series(1, 200000) i;
   SELECT 1 FROM reframe.train('kept', 'SELECT a, b, y FROM t WHERE i <= 20000', 'y');
   CREATE TABLE before AS SELECT i, reframe.score('kept', t) AS s FROM t WHERE i <= 1000" >/dev/null || fail "setup"

long='{"hidden": [256, 256], "epochs": 1000, "patience": 1000}'
psql -X -q -d "$DB" -c "SELECT * FROM reframe.train('kept', 't', 'y', options => '$long')" > /tmp/reframe-crash-1.out 2>&1 &
psql -X -q -d "$DB" -c "SELECT * FROM reframe.train('fresh', 't', 'y', options => '$long')" > /tmp/reframe-crash-2.out 2>&1 &
wait_for 60 "SELECT count(*) = 2 FROM reframe.training WHERE phase = 'fitting' AND iteration >= 1" ||
    fail "the trainings never reached fitting: $(q 'SELECT * FROM reframe.training')"
pid=$(q "SELECT pid FROM reframe.training WHERE model = 'kept'")
kill -9 "$pid" || fail "could not kill backend $pid"
wait
grep -q "server closed the connection\|terminating connection" /tmp/reframe-crash-1.out || fail "training 1 was not killed: $(cat /tmp/reframe-crash-1.out)"

# the server restarts its backends and recovers
for i in $(seq 1 60); do
    psql -X -A -t -q -d "$DB" -c "SELECT 1" >/dev/null 2>&1 && break
    sleep 1
done
[ "$(q "SELECT count(*) FROM reframe.training")" = 0 ] || fail "progress slots survived the crash"
[ "$(q "SELECT string_agg(version::text || ':' || deployed::text, ',') FROM kept WHERE block = ''")" = "1:true" ] ||
    fail "versions after the crash: $(q "SELECT version, deployed FROM kept WHERE block = ''")"
[ "$(q "SELECT count(*) FROM kept WHERE version <> 1")" = 0 ] || fail "rows of a partial version"
[ "$(q "SELECT to_regclass('fresh') IS NULL")" = t ] || fail "the killed first training left a table"
same=$(q "SELECT count(*) FILTER (WHERE b.s = reframe.score('kept', t)) FROM t JOIN before b USING (i)")
[ "$same" = 1000 ] || fail "only $same of 1000 scores unchanged after the crash"
[ "$(q "SELECT version FROM reframe.train('kept', 'SELECT a, b, y FROM t WHERE i <= 20000', 'y')" 2>/dev/null | tail -1)" = 2 ] ||
    fail "training after the crash"
echo "crash: killed pid $pid mid-fit; recovered with version 1 only, 1000 scores unchanged, version 2 trains"
