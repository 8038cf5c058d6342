-- Issue #5 benchmark: 1,000,000 rows x 32 features, a shared [64, 32] trunk
-- and three heads (binary, regression, 5 classes), trained by Adam. Reports
-- training throughput in rows x epochs per second and the share of this
-- backend's measured SGEMM rate that the training reaches.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

DROP TABLE IF EXISTS bench_mt;
CREATE TABLE bench_mt AS
SELECT x, x[1] * x[2] > 0.25 AS clicked, (x[3] * 10 + x[4] * x[5])::float8 AS minutes,
       least(4, floor((x[6] + x[7]) * 2.5))::int AS rating
  FROM (SELECT ARRAY(SELECT random() FROM generate_series(1, 32) WHERE i > 0)::float8[] AS x
          FROM generate_series(1, :rows) i) s;
VACUUM ANALYZE bench_mt;

SELECT round(reframe.blas_sgemm_gflops(1024)::numeric, 1) AS sgemm_gflops \gset
SELECT version FROM reframe.train('bench_mtm', 'bench_mt', 'clicked,minutes,rating', 'multitask',
       '{"hidden": [64, 32], "epochs": 2, "patience": 100, "validation": 0, "batch_size": 1024,
         "tasks": {"rating": "multiclass"}}') \gset

-- multiply-adds per row and epoch: forward through 32->64->32->(1+1+5); the
-- backward pass costs about twice the forward (no input gradient at layer 1)
WITH t AS (
  SELECT (spec->'training'->>'rows')::float8 AS rows, (spec->'training'->>'iterations')::float8 AS epochs,
         (spec->'training'->>'fit_seconds')::float8 AS fit_seconds, (spec->'training'->>'seconds')::float8 AS seconds
    FROM bench_mtm WHERE block = '' AND version = :version),
     f AS (SELECT 2.0 * (3 * (32 * 64 + 64 * 32 + 32 * 7) - 32 * 64) AS flops_per_row_epoch)
SELECT rows, epochs, round(fit_seconds::numeric, 2) AS fit_seconds, round(seconds::numeric, 2) AS total_seconds,
       round((rows * epochs / fit_seconds)::numeric) AS rows_epochs_per_second,
       round((rows * epochs * flops_per_row_epoch / fit_seconds / 1e9)::numeric, 1) AS training_gflops,
       :sgemm_gflops AS sgemm_gflops,
       round((100 * rows * epochs * flops_per_row_epoch / fit_seconds / 1e9 / :sgemm_gflops)::numeric, 1) AS percent_of_sgemm
  FROM t, f;

SELECT reframe.drop_model('bench_mtm');
DROP TABLE bench_mt;
