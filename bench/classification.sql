-- Issue #3 benchmarks: 1,000,000 rows x 32 float8[] features.
-- Binary logistic regression and a 10-class softmax (the linear family, named:
-- without "model" a training chooses its family), each timed in turn with
-- a plain scan of the same table, and scoring with ORDER BY ... LIMIT 10.
-- The baseline scans run on one core (parallel query off).  Training runs
-- twice: on one core (reframe.threads 1), and with the default parallel
-- settings (reframe.threads 0: 1 + max_parallel_workers_per_gather threads,
-- at most the machine's cores), whose model is the same bit for bit.
\set ON_ERROR_STOP 1
\i bench/bench.sql
SET max_parallel_workers_per_gather = 0;
SET client_min_messages = warning;

DROP TABLE IF EXISTS bench_c;
-- targets drawn from the models being fitted: a logistic model for the
-- binary target, a multinomial one (Gumbel noise, argmax) for 10 classes
CREATE TABLE bench_c AS
SELECT id, x,
       x[1] * 3 - x[2] * 2 + x[3] - 1 + ln(1 / u - 1) * -0.5 > 0 AS yb,
       (SELECT k FROM generate_series(0, 9) k
         ORDER BY 3 * x[k + 1] + 2 * x[k + 11] - x[k + 21] - ln(-ln(random())) * 0.3 DESC LIMIT 1) AS y10
  FROM (SELECT i AS id, ARRAY(SELECT random() FROM generate_series(1, 32) WHERE i > 0) AS x,
               random() * 0.998 + 0.001 AS u
          FROM generate_series(1, :rows) i) s;
VACUUM ANALYZE bench_c;
SELECT count(*) FROM bench_c;

CREATE TEMP TABLE bench_result (workload text, baseline text, ms float8, baseline_ms float8);
-- each training timed in turn with a one-core scan of the same table, best
-- of five each (pg_temp.paired_ms)
SET reframe.threads = 1;
-- one fit at a given penalty; then the default, "l2": "auto", which fits a
-- path of penalties on the validation rows and keeps the best
INSERT INTO bench_result
SELECT 'train binary (logistic, L-BFGS, l2 0.0001), one core', 'SELECT sum(x[1]) FROM t', p.*
  FROM pg_temp.paired_ms($$SELECT reframe.train('bench_b', 'SELECT x, yb FROM bench_c', 'yb', options => '{"model": "linear", "l2": 0.0001}')$$,
                         $$SELECT sum(x[1]) FROM bench_c$$) p;
INSERT INTO bench_result
SELECT 'train binary, linear family defaults ("l2": "auto"), one core', 'SELECT sum(x[1]) FROM t', p.*
  FROM pg_temp.paired_ms($$SELECT reframe.train('bench_b', 'SELECT x, yb FROM bench_c', 'yb', options => '{"model": "linear"}')$$,
                         $$SELECT sum(x[1]) FROM bench_c$$) p;
INSERT INTO bench_result
SELECT 'train 10-class (softmax, L-BFGS, l2 0.0001), one core', 'SELECT sum(x[1]) FROM t', p.*
  FROM pg_temp.paired_ms($$SELECT reframe.train('bench_10', 'SELECT x, y10 FROM bench_c', 'y10', 'multiclass', '{"model": "linear", "l2": 0.0001}')$$,
                         $$SELECT sum(x[1]) FROM bench_c$$) p;
RESET max_parallel_workers_per_gather;
RESET reframe.threads;
INSERT INTO bench_result
SELECT 'train binary, linear family defaults, default parallel settings', 'SELECT sum(x[1]) FROM t (one core)', p.*
  FROM pg_temp.paired_ms($$SELECT reframe.train('bench_b', 'SELECT x, yb FROM bench_c', 'yb', options => '{"model": "linear"}')$$,
                         $$SELECT sum(x[1]) FROM bench_c$$) p;
INSERT INTO bench_result
SELECT 'train binary, l2 0.0001, default parallel settings', 'SELECT sum(x[1]) FROM t (one core)', p.*
  FROM pg_temp.paired_ms($$SELECT reframe.train('bench_b', 'SELECT x, yb FROM bench_c', 'yb', options => '{"model": "linear", "l2": 0.0001}')$$,
                         $$SELECT sum(x[1]) FROM bench_c$$) p;
INSERT INTO bench_result
SELECT 'train 10-class, l2 0.0001, default parallel settings', 'SELECT sum(x[1]) FROM t (one core)', p.*
  FROM pg_temp.paired_ms($$SELECT reframe.train('bench_10', 'SELECT x, y10 FROM bench_c', 'y10', 'multiclass', '{"model": "linear", "l2": 0.0001}')$$,
                         $$SELECT sum(x[1]) FROM bench_c$$) p;
SET max_parallel_workers_per_gather = 0;
INSERT INTO bench_result
SELECT 'score ORDER BY ... LIMIT 10', 'ORDER BY x[1] DESC LIMIT 10',
       pg_temp.best_ms($$SELECT id FROM bench_c ORDER BY reframe.score('bench_b', x) DESC LIMIT 10$$, 3),
       pg_temp.best_ms($$SELECT id FROM bench_c ORDER BY x[1] DESC LIMIT 10$$, 3);

SELECT workload, round(ms::numeric, 1) AS ms, baseline, round(baseline_ms::numeric, 1) AS baseline_ms,
       round((ms / baseline_ms)::numeric, 2) AS ratio
  FROM bench_result;

-- peak memory of the training data against the dense double-precision matrix
SELECT model, version, spec->'training'->'iterations' AS iterations,
       round(((spec->'training'->>'peak_data_bytes')::numeric /
              (((spec->'training'->>'rows')::numeric + (spec->'training'->>'validation_rows')::numeric) * 32 * 8)), 2)
         AS peak_over_dense_matrix,
       round((spec->'metrics'->'validation'->>'accuracy')::numeric, 4) AS validation_accuracy
  FROM (SELECT 'bench_b' AS model, * FROM bench_b UNION ALL SELECT 'bench_10', * FROM bench_10) m
 WHERE block = '' AND version = 3;

-- one core or the default threads: the same model
SELECT m, one_core AS version_one_core, bool_and(a.data = b.data) AS same_parameters
  FROM (VALUES ('bench_b', 5, 20), ('bench_b', 10, 15), ('bench_10', 5, 10)) v(m, one_core, threads),
       LATERAL reframe.weights(m, one_core) a JOIN LATERAL reframe.weights(m, threads) b USING (block)
 GROUP BY m, one_core;

SELECT reframe.drop_model('bench_b'), reframe.drop_model('bench_10');
DROP TABLE bench_c;
