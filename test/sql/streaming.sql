-- Streaming training: squared-loss regression summed by the reframe.moments
-- aggregate (in parallel workers, or on Citus workers) equals reading the
-- rows here
-- the linear family's framings: without "model" it is trained by this setting (default_model tests the default)
SET reframe.default_model = linear;
SET client_min_messages = warning;
CREATE TABLE st AS
SELECT i, sin(i) * 3 + 1000 AS a, cos(i * 0.7) AS b,
       CASE WHEN i % 17 = 0 THEN NULL ELSE (i % 13)::float8 END AS c,
       i % 2 = 0 AS flag, (i % 5)::int AS small,
       ARRAY[sin(i * 0.3), cos(i * 0.11)] AS arr,
       1 + (i % 3) AS w,
       2 * sin(i) + cos(i * 0.7) - 0.1 * (i % 13) + 0.3 * sin(i * i) + (i % 2) AS y
FROM generate_series(1, 6000) i;
-- a few rows without a target are skipped either way
UPDATE st SET y = NULL WHERE i % 1000 = 0;
ANALYZE st;

-- the largest relative gap between two versions' parameters
CREATE FUNCTION param_gap(m1 text, m2 text) RETURNS float8 LANGUAGE sql AS $$
    SELECT max(abs(x1 - x2) / greatest(abs(x1), abs(x2), 1e-300))
    FROM reframe.weights(m1) a JOIN reframe.weights(m2) b USING (block),
         unnest(a.data, b.data) u(x1, x2)
$$;
-- how the deployed version read its source: by the aggregate, or the rows
CREATE FUNCTION read_by(m text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE streamed boolean;
BEGIN
    EXECUTE format('SELECT (spec #> ''{training,streaming}'')::boolean FROM %I WHERE block = '''' AND deployed', m)
        INTO streamed;
    RETURN CASE WHEN streamed THEN 'aggregate' ELSE 'rows' END;
END $$;
CREATE FUNCTION solver(m text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text;
BEGIN
    EXECUTE format('SELECT spec #>> ''{training,solver}'' FROM %I WHERE block = '''' AND deployed', m) INTO s;
    RETURN s;
END $$;

-- the default penalty (cross-validated by inner fold), a fixed one, row
-- weights, no validation rows, and cross-validation's folds
CREATE TABLE cases (name text, options jsonb);
INSERT INTO cases VALUES
  ('auto', '{"exclude": ["i", "w"]}'),
  ('fixed', '{"exclude": ["i", "w"], "l2": 0.01}'),
  ('weighted', '{"exclude": ["i", "w"], "weight": "w"}'),
  ('all_rows', '{"exclude": ["i", "w"], "validation": 0}'),
  ('small', '{"features": ["b", "flag"]}');
SELECT c.name,
       r.train_rows = s.train_rows AND r.validation_rows = s.validation_rows AS same_split,
       read_by('r_' || c.name) AS rows_model, read_by('s_' || c.name) AS streamed_model,
       param_gap('r_' || c.name, 's_' || c.name) < 1e-6 AS params_within_1e_6,
       abs(r.train_loss - s.train_loss) / r.train_loss < 1e-6 AS loss_within_1e_6,
       r.metrics -> 'chosen' -> 'l2' IS NOT DISTINCT FROM s.metrics -> 'chosen' -> 'l2' AS same_l2
FROM cases c,
     LATERAL reframe.train('r_' || c.name, CASE WHEN c.name = 'small' THEN 'SELECT * FROM st WHERE i <= 500' ELSE 'st' END, 'y',
                           options => c.options || '{"streaming": false}') r,
     LATERAL reframe.train('s_' || c.name, CASE WHEN c.name = 'small' THEN 'SELECT * FROM st WHERE i <= 500' ELSE 'st' END, 'y',
                           options => c.options || '{"streaming": true}') s
ORDER BY c.name;

-- cross_validate's folds split the same way
SELECT abs((reframe.cross_validate('st', 'y', NULL, '{"exclude": ["i", "w"], "streaming": false}', 3) #>> '{mean,rmse}')::float8 -
           (reframe.cross_validate('st', 'y', NULL, '{"exclude": ["i", "w"], "streaming": true}', 3) #>> '{mean,rmse}')::float8) < 1e-9
       AS same_cross_validation;

-- parallel workers sum parts of the pass: the same model within 1e-9
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT reframe.moments(NULL, ARRAY[a, b], ARRAY[y], NULL, 1.0) FROM st;
SELECT version FROM reframe.train('s_parallel', 'st', 'y', options => '{"exclude": ["i", "w"], "streaming": true}');
SELECT param_gap('s_parallel', 's_auto') < 1e-9 AS parallel_same_model;
RESET parallel_setup_cost; RESET parallel_tuple_cost; RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- by default a small table is read here, and a large one by the aggregate
-- (when parallel workers may share its pass)
SET max_parallel_workers_per_gather = 2;
SELECT version FROM reframe.train('d_small', 'st', 'y', options => '{"exclude": ["i", "w"]}');
SELECT read_by('d_small');
CREATE TABLE st_large AS SELECT i, a, b, y FROM st, generate_series(1, 20) k;
ANALYZE st_large;
SELECT version FROM reframe.train('d_large', 'st_large', 'y', options => '{"exclude": ["i"]}');
SELECT read_by('d_large');
SELECT version FROM reframe.train('d_large_rows', 'st_large', 'y', options => '{"exclude": ["i"], "streaming": false}');
SELECT param_gap('d_large', 'd_large_rows') < 1e-6 AS large_within_1e_6;
RESET max_parallel_workers_per_gather;

-- another loss streams by L-BFGS passes, its "l2": "auto" too
SELECT task, solver('abs_auto') AS solver, metrics #>> '{chosen,method}' AS chosen_by
FROM reframe.train('abs_auto', 'st', 'y', options => '{"exclude": ["i", "w"], "streaming": true, "loss": "absolute"}');

-- what cannot stream says why
SELECT * FROM reframe.train('bad', 'SELECT a, b, i::text AS cat, y FROM st', 'y', options => '{"streaming": true}');
SELECT * FROM reframe.train('bad', 'st', 'y', options => '{"exclude": ["i", "w"], "streaming": true, "split_by": "i"}');
SELECT * FROM reframe.train('bad', 'st', 'y', options => '{"model": "trees", "streaming": true}');
SELECT * FROM reframe.train('bad', 'st', 'y', options => '{"streaming": "yes"}');
-- rows the aggregate refuses, as reading here would
SELECT * FROM reframe.train('bad', 'SELECT a, b, CASE WHEN i = 7 THEN ''NaN''::float8 ELSE y END AS y FROM st', 'y', options => '{"streaming": true}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, CASE WHEN i = 7 THEN -1 ELSE w END AS w, y FROM st', 'y', options => '{"streaming": true, "weight": "w"}');
SELECT * FROM reframe.train('bad', 'SELECT a, y FROM st WHERE false', 'y', options => '{"streaming": true}');
-- the aggregate on its own: a configuration only training makes
SELECT reframe.moments('\x00'::bytea, ARRAY[1.0], ARRAY[1.0], NULL, 1.0);
SELECT reframe.moments_accum(NULL, '\x00'::bytea, ARRAY[1.0], ARRAY[1.0], NULL, 1.0);
SELECT count(reframe.drop_model(name)) AS dropped FROM (SELECT DISTINCT model AS name FROM reframe.models) m;
DROP TABLE st, st_large, cases;
DROP FUNCTION param_gap(text, text), read_by(text), solver(text);
