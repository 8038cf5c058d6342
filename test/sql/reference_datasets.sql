-- Accuracy against a reference: scikit-learn's bundled datasets, split once
-- (bench/sklearn_compare.py --export), trained with the same L2 penalty as
-- scikit-learn's LogisticRegression(C=1) and Ridge(alpha=1) on standardized
-- features. The scikit-learn figures below were computed by that script.
-- the linear family's framings: without "model" it is trained by this setting (default_model tests the default)
SET reframe.default_model = linear;
SET client_min_messages = warning;
CREATE TABLE ds (name text, split text, x float8[], y text);
CREATE TEMP TABLE raw (split text, x float8[], y text);
\copy raw FROM 'test/data/breast_cancer.csv' WITH (FORMAT csv, HEADER)
INSERT INTO ds SELECT 'breast_cancer', * FROM raw; TRUNCATE raw;
\copy raw FROM 'test/data/iris.csv' WITH (FORMAT csv, HEADER)
INSERT INTO ds SELECT 'iris', * FROM raw; TRUNCATE raw;
\copy raw FROM 'test/data/wine.csv' WITH (FORMAT csv, HEADER)
INSERT INTO ds SELECT 'wine', * FROM raw; TRUNCATE raw;
\copy raw FROM 'test/data/digits.csv' WITH (FORMAT csv, HEADER)
INSERT INTO ds SELECT 'digits', * FROM raw; TRUNCATE raw;
\copy raw FROM 'test/data/diabetes.csv' WITH (FORMAT csv, HEADER)
INSERT INTO ds SELECT 'diabetes', * FROM raw;
SELECT name, count(*) FILTER (WHERE split = 'train') AS train, count(*) FILTER (WHERE split = 'test') AS test
  FROM ds GROUP BY name ORDER BY name;

CREATE TEMP TABLE reference (name text, task text, metric text, sklearn float8, l2 float8);
INSERT INTO reference VALUES
  ('breast_cancer', 'binary',     'accuracy', 0.958041958041958,  1.0 / (2 * 426)),
  ('iris',          'multiclass', 'accuracy', 0.9736842105263158, 1.0 / (2 * 112)),
  ('wine',          'multiclass', 'accuracy', 1.0,                1.0 / (2 * 133)),
  ('digits',        'multiclass', 'accuracy', 0.9711111111111111, 1.0 / (2 * 1347)),
  ('diabetes',      'regression', 'rmse',     56.45660562307425,  1.0 / 331);

-- the source of a dataset's split, with the target typed for its task
CREATE FUNCTION pg_temp.split_sql(r reference, part text) RETURNS text LANGUAGE sql AS $$
  SELECT format('SELECT x, %s AS y FROM ds WHERE name = %L AND split = %L',
                CASE r.task WHEN 'binary' THEN 'y::boolean' WHEN 'regression' THEN 'y::float8' ELSE 'y' END,
                r.name, part)
$$;
SELECT r.name, t.task, t.train_rows, t.converged
  FROM reference r,
       LATERAL reframe.train('m_' || r.name, pg_temp.split_sql(r, 'train'), 'y', r.task,
                             jsonb_build_object('validation', 0, 'l2', r.l2)) t
 ORDER BY r.name;
CREATE TEMP TABLE result AS
SELECT r.name, r.metric, r.sklearn,
       (reframe.evaluate('m_' || r.name, pg_temp.split_sql(r, 'test'))->'metrics'->>r.metric)::float8 AS reframe
  FROM reference r;

-- within 1 point of accuracy, and within 2% of RMSE
SELECT name, metric, round(sklearn::numeric, 4) AS sklearn, round(reframe::numeric, 4) AS reframe,
       CASE metric WHEN 'rmse' THEN abs(reframe - sklearn) <= 0.02 * sklearn
                   ELSE abs(reframe - sklearn) <= 0.01 END AS within_tolerance
  FROM result ORDER BY name;

DROP TABLE ds, m_breast_cancer, m_iris, m_wine, m_digits, m_diabetes;
