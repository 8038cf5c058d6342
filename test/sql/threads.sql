-- reframe.threads: a linear model's objective is computed by several
-- threads of the backend, chunk by chunk, and added up in chunk order: the
-- model is the same, bit for bit, whatever the number of threads; so are
-- its metrics (of every family), whose outputs and rows threads compute
-- chunk by chunk and merge in order
-- the linear family's framings: without "model" it is trained by this setting (default_model tests the default)
SET reframe.default_model = linear;
SET client_min_messages = warning;
CREATE TABLE th AS
SELECT i, sin(i) AS a, cos(i * 0.7) AS b, (i % 11)::float8 / 11 AS c,
       sin(i) + cos(i * 0.7) > 0.2 AS yb, (i % 5) AS y5,
       2 * sin(i) + cos(i * 0.7) + 0.3 * sin(i * i) AS yr,
       ARRAY[sin(i) > 0, cos(i) > 0.3] AS tags_bool,
       array_remove(ARRAY[CASE WHEN sin(i) > 0 THEN 's' END, CASE WHEN cos(i) > 0.3 THEN 't' END], NULL) AS tags,
       ARRAY[0.5 + 0.5 * sin(i), 0.5 - 0.5 * sin(i)] AS dist
FROM generate_series(1, 30000) i;   -- four chunks of rows

CREATE TABLE th_cases (name text, target text, task text, options jsonb);
INSERT INTO th_cases VALUES
  ('binary', 'yb', NULL, '{"features": ["a", "b", "c"], "l2": 0.001}'),
  ('multiclass', 'y5', 'multiclass', '{"features": ["a", "b", "c"], "l2": 0.001}'),
  ('huber', 'yr', NULL, '{"features": ["a", "b", "c"], "loss": "huber", "l2": 0.001}'),
  ('precise', 'yb', NULL, '{"features": ["a", "b", "c"], "l2": 0.001, "tol": 1e-7}'),
  ('distribution', 'dist', 'multiclass', '{"features": ["a", "b", "c"], "classes": ["p", "q"], "l2": 0.001}'),
  ('default_l2', 'yb', NULL, '{"features": ["a", "b", "c"]}'),
  ('regression', 'yr', NULL, '{"features": ["a", "b", "c"], "l2": 0.001}'),
  ('labels', 'tags', 'multilabel', '{"features": ["a", "b", "c"], "l2": 0.001}'),
  ('buckets', 'yr', 'multiclass', '{"features": ["a", "b", "c"], "bins": [-1, 0, 1, 2], "l2": 0.001}'),
  -- the other families: their metrics' outputs too are computed on the threads
  ('trees', 'yb', NULL, '{"features": ["a", "b", "c"], "model": "trees", "rounds": 10}'),
  ('neural', 'y5', 'multiclass', '{"features": ["a", "b", "c"], "hidden": [8], "epochs": 3}');

CREATE FUNCTION train_with(threads int, c th_cases) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('reframe.threads', threads::text, true);
    PERFORM reframe.train(c.name || '_' || threads, 'th', c.target, c.task, c.options);
    RETURN c.name || '_' || threads;
END $$;
CREATE FUNCTION same_params(m1 text, m2 text) RETURNS boolean LANGUAGE sql AS $$
    SELECT bool_and(a.data = b.data) AND count(*) >= 4
    FROM reframe.weights(m1) a JOIN reframe.weights(m2) b USING (block)
$$;
CREATE FUNCTION same_metrics(m1 text, m2 text) RETURNS boolean LANGUAGE sql AS $$
    SELECT a.metrics = b.metrics AND a.metrics ? 'validation'
    FROM reframe.models a, reframe.models b WHERE a.model = m1 AND b.model = m2
$$;
SELECT c.name, same_params(train_with(1, c), train_with(2, c)) AS two_threads_same,
       same_params(c.name || '_1', train_with(3, c)) AS three_threads_same,
       same_metrics(c.name || '_1', c.name || '_2') AND same_metrics(c.name || '_1', c.name || '_3')
         AS same_metrics
FROM th_cases c ORDER BY c.name;

-- 600,000 rows: every per-row array of the training (the heads' weights and
-- targets, the kept validation scores, the ROC AUC's sort) is 2 MB or more
-- and mapped in huge pages; the figures are the same on 1 and 2 threads and
-- match the validation rows' figures computed in SQL from reframe.score
CREATE TABLE big AS
SELECT i, sin(i) AS a, cos(i * 0.7) AS b, sin(i) + cos(i * 0.7) + 0.8 * sin(i * 13) > 0.2 AS y
FROM generate_series(1, 600000) i;
SET reframe.threads = 1;
SELECT 1 FROM reframe.train('big_1', 'big', 'y', options => '{"features": ["a", "b"], "l2": 0.001, "split_by": "i", "validation": 0.5}');
SET reframe.threads = 2;
SELECT 1 FROM reframe.train('big_2', 'big', 'y', options => '{"features": ["a", "b"], "l2": 0.001, "split_by": "i", "validation": 0.5}');
RESET reframe.threads;
WITH v AS (
    SELECT reframe.score('big_1', t) AS p, y::int AS y FROM big t
     WHERE reframe.split_fraction(i::text, 0) < 0.5),
ranked AS (
    SELECT y, rank() OVER (ORDER BY p) + (count(*) OVER (PARTITION BY p) - 1) / 2.0 AS r FROM v),
sql AS (
    SELECT (sum(r) FILTER (WHERE y = 1) - count(*) FILTER (WHERE y = 1) * (count(*) FILTER (WHERE y = 1) + 1) / 2.0)
             / (count(*) FILTER (WHERE y = 1) * count(*) FILTER (WHERE y = 0)) AS auc,
           (SELECT avg(-(y * ln(p) + (1 - y) * ln(1 - p))) FROM v) AS log_loss,
           count(*) AS rows
      FROM ranked)
SELECT same_params('big_1', 'big_2') AS same_params, same_metrics('big_1', 'big_2') AS same_metrics,
       (m.metrics->'validation'->>'rows')::bigint = sql.rows AS same_rows,
       abs((m.metrics->'validation'->>'roc_auc')::float8 - sql.auc) < 1e-4 AS roc_auc_matches,
       abs((m.metrics->'validation'->>'log_loss')::float8 - sql.log_loss) < 1e-6 AS log_loss_matches
  FROM reframe.models m, sql WHERE m.model = 'big_1';
DROP TABLE big;

-- the setting: 0 (the default) follows max_parallel_workers_per_gather
SHOW reframe.threads;
SET reframe.threads = -1;
SET reframe.threads = 65;
SELECT count(reframe.drop_model(name)) > 0 AS dropped FROM (SELECT DISTINCT model AS name FROM reframe.models) m;
DROP FUNCTION train_with(int, th_cases), same_params(text, text), same_metrics(text, text);
DROP TABLE th, th_cases;
