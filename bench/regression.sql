-- Issue #2 benchmark: 1,000,000 rows x 32 float8[] features.
-- Prints each workload's time and its ratio to a baseline measured in the
-- same run on the same table. Parallel query is off so that every ratio
-- compares one core with one core.
\set ON_ERROR_STOP 1
\i bench/bench.sql
SET max_parallel_workers_per_gather = 0;
SET client_min_messages = warning;

DROP TABLE IF EXISTS bench_t;
CREATE TABLE bench_t AS
SELECT i AS id, x, (2 * x[1] - x[2] + 0.5 * x[3] + 0.1 * x[32])::float8 AS y
  FROM (SELECT i, ARRAY(SELECT random() FROM generate_series(1, 32) WHERE i > 0) AS x
          FROM generate_series(1, :rows) i) s;
VACUUM ANALYZE bench_t;
-- warm the cache
SELECT count(*) FROM bench_t;

CREATE TEMP TABLE bench_result (workload text, baseline text, ms float8, baseline_ms float8);

INSERT INTO bench_result
SELECT 'train regression (linear family defaults: "l2": "auto" from fold moments)', 'SELECT sum(x[1]) FROM t', p.*
  FROM pg_temp.paired_ms($$SELECT reframe.train('bench_m', 'SELECT x, y FROM bench_t', 'y', options => '{"model": "linear"}')$$,
                         $$SELECT sum(x[1]) FROM bench_t$$) p;

INSERT INTO bench_result
SELECT 'score ORDER BY ... LIMIT 10', 'ORDER BY x[1] DESC LIMIT 10',
       pg_temp.best_ms($$SELECT id FROM bench_t ORDER BY reframe.score('bench_m', x) DESC LIMIT 10$$, 3),
       pg_temp.best_ms($$SELECT id FROM bench_t ORDER BY x[1] DESC LIMIT 10$$, 3);

SELECT workload, round(ms::numeric, 1) AS ms, baseline, round(baseline_ms::numeric, 1) AS baseline_ms,
       round((ms / baseline_ms)::numeric, 2) AS ratio
  FROM bench_result;

SELECT reframe.drop_model('bench_m');
DROP TABLE bench_t;
