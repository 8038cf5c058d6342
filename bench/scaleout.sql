-- Issue #14 benchmarks: streaming least squares (reframe.moments) on one
-- node, serial and with parallel workers, and on a Citus cluster (a
-- coordinator and two workers, here on the same two cores), against
-- reading the rows into one backend.  :rows rows x 16 float8 features.
-- Every ratio is against one single-core plain scan of the same rows.
\set ON_ERROR_STOP 1
\i bench/bench.sql
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS reframe;

DROP TABLE IF EXISTS sc, sc_local;
CREATE TABLE sc_local AS
SELECT *, CASE WHEN y < 0.3 THEN 'low' WHEN y < 1.2 THEN 'mid' ELSE 'high' END AS yk FROM (
SELECT i AS id, x[1] AS x1, x[2] AS x2, x[3] AS x3, x[4] AS x4, x[5] AS x5, x[6] AS x6, x[7] AS x7, x[8] AS x8,
       x[9] AS x9, x[10] AS x10, x[11] AS x11, x[12] AS x12, x[13] AS x13, x[14] AS x14, x[15] AS x15, x[16] AS x16,
       x[1] * 3 - x[2] * 2 + x[3] - x[16] + random() * 0.5 AS y,
       x[1] * 3 - x[2] * 2 + x[3] - x[16] + random() * 0.5 > 0.75 AS yb
  FROM (SELECT i, ARRAY(SELECT random() FROM generate_series(1, 16) WHERE i > 0) AS x
          FROM generate_series(1, :rows) i) s) t;
VACUUM ANALYZE sc_local;
CREATE TABLE sc (LIKE sc_local);
SELECT create_distributed_table('sc', 'id');
INSERT INTO sc SELECT * FROM sc_local;
VACUUM ANALYZE sc;

CREATE TEMP TABLE bench_result (workload text, ms float8);
SET max_parallel_workers_per_gather = 0;
INSERT INTO bench_result SELECT 'baseline: plain scan, one core (sum(x1) FROM sc_local)',
       pg_temp.best_ms($$SELECT sum(x1) FROM sc_local$$, 3);
INSERT INTO bench_result SELECT 'one node, rows read into the backend ("streaming": false)',
       pg_temp.best_ms($$SELECT reframe.train('m_rows', 'sc_local', 'y', options => '{"exclude": ["id", "yb", "yk"], "streaming": false}')$$, 3);
INSERT INTO bench_result SELECT 'one node, moments pass, one core ("streaming": true)',
       pg_temp.best_ms($$SELECT reframe.train('m_serial', 'sc_local', 'y', options => '{"exclude": ["id", "yb", "yk"], "streaming": true}')$$, 3);
RESET max_parallel_workers_per_gather;
INSERT INTO bench_result SELECT 'one node, moments pass, default parallel workers',
       pg_temp.best_ms($$SELECT reframe.train('m_parallel', 'sc_local', 'y', options => '{"exclude": ["id", "yb", "yk"], "streaming": true}')$$, 3);
INSERT INTO bench_result SELECT 'Citus: plain scan of the distributed table (sum(x1) FROM sc)',
       pg_temp.best_ms($$SELECT sum(x1) FROM sc$$, 3);
INSERT INTO bench_result SELECT 'Citus: moments pass on the workers (default)',
       pg_temp.best_ms($$SELECT reframe.train('m_citus', 'sc', 'y', options => '{"exclude": ["id", "yb", "yk"]}')$$, 3);
INSERT INTO bench_result SELECT 'Citus: rows pulled to the coordinator ("streaming": false)',
       pg_temp.best_ms($$SELECT reframe.train('m_pull', 'sc', 'y', options => '{"exclude": ["id", "yb", "yk"], "streaming": false}')$$, 1);

-- a binary target: L-BFGS with one loss-and-gradient pass per evaluation
SET max_parallel_workers_per_gather = 0;
INSERT INTO bench_result SELECT 'binary: one node, rows read into the backend, one core',
       pg_temp.best_ms($$SELECT reframe.train('b_rows', 'sc_local', 'yb', options => '{"exclude": ["id", "y", "yk"], "l2": 0.001, "streaming": false}')$$, 1);
RESET max_parallel_workers_per_gather;
INSERT INTO bench_result SELECT 'binary: one node, rows read into the backend, default threads',
       pg_temp.best_ms($$SELECT reframe.train('b_rows2', 'sc_local', 'yb', options => '{"exclude": ["id", "y", "yk"], "l2": 0.001, "streaming": false}')$$, 1);
INSERT INTO bench_result SELECT 'binary: one node, gradient passes, default parallel workers',
       pg_temp.best_ms($$SELECT reframe.train('b_parallel', 'sc_local', 'yb', options => '{"exclude": ["id", "y", "yk"], "l2": 0.001, "streaming": true}')$$, 1);
INSERT INTO bench_result SELECT 'binary: Citus, gradient passes on the workers',
       pg_temp.best_ms($$SELECT reframe.train('b_citus', 'sc', 'yb', options => '{"exclude": ["id", "y", "yk"], "l2": 0.001, "streaming": true}')$$, 1);
INSERT INTO bench_result SELECT 'binary: Citus, default options ("l2": "auto": the penalty path on a sample read by the workers)',
       pg_temp.best_ms($$SELECT reframe.train('b_auto', 'sc', 'yb', options => '{"exclude": ["id", "y", "yk"]}')$$, 1);
INSERT INTO bench_result SELECT 'binary: Citus, one fit at the penalty "auto" chose',
       pg_temp.best_ms(format($$SELECT reframe.train('b_chosen', 'sc', 'yb', options => '{"exclude": ["id", "y", "yk"], "l2": %s}')$$,
                              (SELECT spec #>> '{metrics,chosen,l2}' FROM b_auto WHERE block = '' AND deployed)), 1);
INSERT INTO bench_result SELECT 'multiclass: Citus, default options ("l2": "auto")',
       pg_temp.best_ms($$SELECT reframe.train('k_auto', 'sc', 'yk', options => '{"exclude": ["id", "y", "yb"]}')$$, 1);
INSERT INTO bench_result SELECT 'multiclass: Citus, one fit at the penalty "auto" chose',
       pg_temp.best_ms(format($$SELECT reframe.train('k_chosen', 'sc', 'yk', options => '{"exclude": ["id", "y", "yb"], "l2": %s}')$$,
                              (SELECT spec #>> '{metrics,chosen,l2}' FROM k_auto WHERE block = '' AND deployed)), 1);
INSERT INTO bench_result SELECT 'two heads (y, yb): Citus, gradient passes on the workers',
       pg_temp.best_ms($$SELECT reframe.train('t_citus', 'sc', 'y,yb', options => '{"exclude": ["id", "yk"], "l2": 0.001, "streaming": true}')$$, 1);
INSERT INTO bench_result SELECT 'two heads (y, yb): Citus, rows pulled to the coordinator',
       pg_temp.best_ms($$SELECT reframe.train('t_pull', 'sc', 'y,yb', options => '{"exclude": ["id", "yk"], "l2": 0.001, "streaming": false}')$$, 1);
INSERT INTO bench_result SELECT 'binary: Citus, rows pulled to the coordinator',
       pg_temp.best_ms($$SELECT reframe.train('b_pull', 'sc', 'yb', options => '{"exclude": ["id", "y", "yk"], "l2": 0.001, "streaming": false}')$$, 1);

-- evaluate: scored and summed on the workers, against the same rows on one
-- node; with "curves" (every row's score needed together) the workers score
-- and each row's cells come to the coordinator
INSERT INTO bench_result SELECT 'evaluate binary: one node, rows read into the backend',
       pg_temp.best_ms($$SELECT reframe.evaluate('b_rows', 'sc_local')$$, 3);
INSERT INTO bench_result SELECT 'evaluate binary: Citus, scored and summed on the workers',
       pg_temp.best_ms($$SELECT reframe.evaluate('b_rows', 'sc')$$, 3);
INSERT INTO bench_result SELECT 'evaluate binary: Citus, with "curves": true (scored on the workers, each row''s cells to the coordinator)',
       pg_temp.best_ms($$SELECT reframe.evaluate('b_rows', 'sc', '{"curves": true}')$$, 1);
INSERT INTO bench_result SELECT 'evaluate binary: one node, with "curves": true',
       pg_temp.best_ms($$SELECT reframe.evaluate('b_rows', 'sc_local', '{"curves": true}')$$, 1);

SELECT workload, round(ms::numeric, 1) AS ms,
       round((ms / (SELECT ms FROM bench_result WHERE workload LIKE 'baseline%'))::numeric, 2) AS ratio
  FROM bench_result;

-- "l2": "auto" on the cluster against one fit at the penalty it chose (issue 28: at most 1.5x)
SELECT a.workload, round((a.ms / c.ms)::numeric, 2) AS auto_over_one_fit
  FROM bench_result a JOIN bench_result c ON c.workload = replace(a.workload, 'default options ("l2": "auto": the penalty path on a sample read by the workers)', 'one fit at the penalty "auto" chose')
                                           OR c.workload = replace(a.workload, 'default options ("l2": "auto")', 'one fit at the penalty "auto" chose')
 WHERE a.workload LIKE '%default options%' AND c.workload <> a.workload;
SELECT model, spec #>> '{metrics,chosen,l2}' AS l2, spec #>> '{metrics,chosen,method}' AS method,
       coalesce(spec #>> '{metrics,validation,log_loss}', spec #>> '{metrics,validation,cross_entropy}') AS validation_loss
  FROM (SELECT 'b_auto' AS model, spec FROM b_auto WHERE block = '' AND deployed UNION ALL
        SELECT 'b_chosen', spec FROM b_chosen WHERE block = '' AND deployed UNION ALL
        SELECT 'k_auto', spec FROM k_auto WHERE block = '' AND deployed UNION ALL
        SELECT 'k_chosen', spec FROM k_chosen WHERE block = '' AND deployed) s;

-- the same model every way: the largest gap of any parameter, relative to
-- the largest parameter
CREATE FUNCTION pg_temp.param_gap(m1 text, m2 text) RETURNS float8 LANGUAGE sql AS $$
    SELECT max(abs(x1 - x2)) / greatest(max(abs(x1)), 1e-300)
    FROM reframe.weights(m1) a JOIN reframe.weights(m2) b USING (block), unnest(a.data, b.data) u(x1, x2)
$$;
SELECT pg_temp.param_gap('m_rows', 'm_serial') AS serial_vs_rows, pg_temp.param_gap('m_rows', 'm_parallel') AS parallel_vs_rows,
       pg_temp.param_gap('m_rows', 'm_citus') AS citus_vs_rows,
       pg_temp.param_gap('b_rows', 'b_parallel') AS binary_parallel_vs_rows, pg_temp.param_gap('b_rows', 'b_citus') AS binary_citus_vs_rows,
       pg_temp.param_gap('t_pull', 't_citus') AS two_heads_citus_vs_rows;
SELECT model, spec #>> '{training,iterations}' AS iterations, spec #>> '{training,evaluations}' AS passes
  FROM (SELECT 'b_parallel' AS model, spec FROM b_parallel WHERE block = '' UNION ALL
        SELECT 'b_citus', spec FROM b_citus WHERE block = '' UNION ALL
        SELECT 't_citus', spec FROM t_citus WHERE block = '') s;
-- the default options on Citus: the penalty the path chose, and how
SELECT spec #>> '{training,chosen,l2}' AS chosen_l2, spec #>> '{training,chosen,method}' AS method,
       spec #>> '{training,streaming}' AS streaming
  FROM b_auto WHERE block = '' AND deployed;
-- what a training holds: the peak of its data (the rows read into the
-- backend, or the moments)
SELECT model, (spec #>> '{training,peak_data_bytes}')::bigint AS peak_data_bytes,
       spec #>> '{training,streaming}' AS streaming, spec #>> '{training,seconds}' AS seconds
  FROM (SELECT 'm_rows' AS model, spec FROM m_rows WHERE block = '' AND deployed UNION ALL
        SELECT 'm_pull', spec FROM m_pull WHERE block = '' AND deployed UNION ALL
        SELECT 'm_citus', spec FROM m_citus WHERE block = '' AND deployed) s;
