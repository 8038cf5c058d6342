-- Streaming L-BFGS: a linear model with a binary or a numeric multiclass
-- target, or a regression with the absolute or Huber loss, trained by one
-- reframe.gradient pass
-- per evaluation of its objective, equals the model trained from the rows
-- (both in double precision, "tol" below 1e-4) within 1e-6
-- the linear family's framings: without "model" it is trained by this setting (default_model tests the default)
SET reframe.default_model = linear;
SET client_min_messages = warning;
CREATE TABLE gb AS
SELECT i, sin(i) AS a, cos(i * 0.7) AS b,
       CASE WHEN i % 13 = 0 THEN NULL ELSE (i % 7)::float8 END AS c,
       i % 2 = 0 AS flag, ARRAY[sin(i * 0.3), cos(i * 0.11)] AS arr,
       sin(i) + 0.5 * cos(i * 0.7) + 0.3 * sin(i * i) > 0.1 AS y,
       (sin(i) + 0.5 * cos(i * 0.7) + 0.3 * sin(i * i) > 0.1)::int AS y01,
       2 * sin(i) + cos(i * 0.7) + sin(i * i) + (i % 2) AS r,
       1 + (i % 3) AS w,
       10 * least(4, floor((sin(i) + 1) * 2.5 + 0.3 * cos(i * i)))::int AS k5
FROM generate_series(1, 12000) i;
UPDATE gb SET y = NULL, y01 = NULL, r = NULL, k5 = NULL WHERE i % 1000 = 0;

-- the largest gap between two versions' parameters, relative to their
-- largest parameter (the infinity norm)
CREATE FUNCTION param_gap(m1 text, m2 text) RETURNS float8 LANGUAGE sql AS $$
    SELECT max(abs(x1 - x2)) / greatest(max(abs(x1)), 1e-300)
    FROM reframe.weights(m1) a JOIN reframe.weights(m2) b USING (block),
         unnest(a.data, b.data) u(x1, x2)
$$;
CREATE FUNCTION solver(m text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text;
BEGIN
    EXECUTE format('SELECT spec #>> ''{training,solver}'' FROM %I WHERE block = '''' AND deployed', m) INTO s;
    RETURN s;
END $$;

CREATE TABLE cases (name text, target text, task text, options jsonb);
INSERT INTO cases VALUES
  ('binary', 'y', NULL, '{"exclude": ["i", "w", "y01", "r", "k5"]}'),
  ('multiclass', 'k5', 'multiclass', '{"exclude": ["i", "w", "y01", "r", "y"]}'),
  ('binary_01', 'y01', 'binary', '{"exclude": ["i", "w", "y", "r", "k5"]}'),
  ('huber', 'r', NULL, '{"exclude": ["i", "w", "y", "y01", "k5"], "loss": "huber"}'),
  ('absolute', 'r', NULL, '{"exclude": ["i", "w", "y", "y01", "k5"], "loss": "absolute"}'),
  ('weighted', 'y', NULL, '{"exclude": ["i", "y01", "r", "k5"], "weight": "w"}'),
  ('all_rows', 'y', NULL, '{"exclude": ["i", "w", "y01", "r", "k5"], "validation": 0}'),
  ('sampled', 'y', NULL, '{"exclude": ["i", "w", "y01", "r", "k5"], "sample": 0.5}');
CREATE TABLE trained AS
SELECT c.name, r.train_rows AS r_train, r.validation_rows AS r_valid, r.train_loss AS r_loss, r.metrics AS r_metrics,
       s.train_rows AS s_train, s.validation_rows AS s_valid, s.train_loss AS s_loss, s.metrics AS s_metrics
FROM cases c,
     LATERAL reframe.train('r_' || c.name, 'gb', c.target, c.task,
                           c.options || '{"l2": 0.001, "tol": 1e-8, "streaming": false}') r,
     LATERAL reframe.train('s_' || c.name, 'gb', c.target, c.task,
                           c.options || '{"l2": 0.001, "tol": 1e-8, "streaming": true}') s;
SELECT name, r_train = s_train AND r_valid = s_valid AS same_split,
       solver('s_' || name) AS streamed_solver,
       param_gap('r_' || name, 's_' || name) < 1e-6 AS params_within_1e_6,
       abs(r_loss - s_loss) / r_loss < 1e-6 AS loss_within_1e_6
FROM trained ORDER BY name;
-- the validation figures a streamed version keeps: the same as the rows give
-- (within 1e-6; the ROC AUC, from a histogram of the scores, within 1e-3)
SELECT name, key, abs((r_metrics #>> ARRAY['validation', key])::float8 -
                      (s_metrics #>> ARRAY['validation', key])::float8) < CASE key WHEN 'roc_auc' THEN 1e-3 ELSE 1e-6 END AS same
FROM trained, jsonb_object_keys(s_metrics -> 'validation') key
WHERE key <> 'rows' ORDER BY name, key;

-- cross_validate's folds, and parallel workers sharing each pass
SELECT abs((reframe.cross_validate('gb', 'y', NULL, '{"exclude": ["i", "w", "y01", "r", "k5"], "l2": 0.001, "tol": 1e-8, "streaming": false}', 3) #>> '{mean,log_loss}')::float8 -
           (reframe.cross_validate('gb', 'y', NULL, '{"exclude": ["i", "w", "y01", "r", "k5"], "l2": 0.001, "tol": 1e-8, "streaming": true}', 3) #>> '{mean,log_loss}')::float8) < 1e-6
       AS same_cross_validation;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT reframe.gradient(NULL, ARRAY[a, b], ARRAY[r], NULL, 1.0) FROM gb;
SELECT version FROM reframe.train('s_parallel', 'gb', 'y', NULL, '{"exclude": ["i", "w", "y01", "r", "k5"], "l2": 0.001, "tol": 1e-8, "streaming": true}');
SELECT param_gap('s_parallel', 's_binary') < 1e-6 AS parallel_same_model;
RESET parallel_setup_cost; RESET parallel_tuple_cost; RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- by default the passes are chosen where the rows would not fit in
-- reframe.max_train_memory (by the tables' statistics), where they apply
CREATE TABLE gb_big AS SELECT i, sin(i) AS a, cos(i * 0.7) AS b, sin(i) + 0.3 * sin(i::float8 * i) > 0 AS y FROM generate_series(1, 60000) i;
ANALYZE gb_big;
SET reframe.max_train_memory = '1MB';
SELECT train_rows + validation_rows AS rows, solver('big_logit') AS solver
FROM reframe.train('big_logit', 'SELECT a, b, y FROM gb_big', 'y', NULL, '{"l2": 0.001}');
-- and with the default "l2": "auto", whose path of penalties runs on passes too
SELECT train_rows + validation_rows AS rows, solver('big_auto') AS solver, metrics #>> '{chosen,method}' AS chosen_by
FROM reframe.train('big_auto', 'SELECT a, b, y FROM gb_big', 'y');
RESET reframe.max_train_memory;
SELECT solver('big_rows') AS solver_when_it_fits
FROM reframe.train('big_rows', 'SELECT a, b, y FROM gb_big', 'y', NULL, '{"l2": 0.001}');
SELECT param_gap('big_logit', 'big_rows') < 1e-5 AS same_model;

-- scoring a streamed model: as any other
SELECT count(*) FILTER (WHERE reframe.predict('s_binary', g) = reframe.predict('r_binary', g)) AS same_decisions,
       count(*) AS rows
FROM gb g;

-- what the passes cannot train says why
SELECT * FROM reframe.train('bad', 'SELECT a, b, (i % 7 = 0)::int AS k FROM gb', 'k', 'multiclass', '{"l2": 0.1, "streaming": true, "sample": 0.0001}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, y FROM gb', 'y', NULL, '{"l2": 0.1, "streaming": true, "class_weight": "balanced"}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, r FROM gb', 'r', NULL, '{"l2": 0.1, "streaming": true, "bins": {"quantiles": 4}}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, y FROM gb', 'y', NULL, '{"l2": 0.1, "streaming": true, "threshold": "f1"}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, (i % 3) AS k FROM gb', 'k', 'binary', '{"l2": 0.1, "streaming": true}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, y FROM gb WHERE y', 'y', NULL, '{"l2": 0.1, "streaming": true}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, y, hidden_w FROM (SELECT *, 1 AS hidden_w FROM gb) g', 'y', NULL, '{"l2": 0.1, "streaming": true, "model": "neural", "hidden": [2]}');
-- the aggregate on its own: a configuration only training makes
SELECT reframe.gradient('\x00'::bytea, ARRAY[1.0], ARRAY[1.0], NULL, 1.0);
SELECT reframe.gradient_accum(NULL, '\x00'::bytea, ARRAY[1.0], ARRAY[1.0], NULL, 1.0);
SELECT reframe.gradient_combine('\x00'::bytea, NULL) IS NOT NULL AS passes_through;
SELECT reframe.gradient_combine(NULL, NULL) IS NULL AS gradient_null, reframe.moments_combine(NULL, NULL) IS NULL AS moments_null;

SELECT count(reframe.drop_model(name)) > 0 AS dropped FROM (SELECT DISTINCT model AS name FROM reframe.models) m;
DROP FUNCTION param_gap(text, text), solver(text);
DROP TABLE gb, gb_big, cases, trained;
