-- Row weights ("weight": a column of numbers >= 0) scale each row's loss in
-- every head and family, the encoder's statistics, the Gram pass of ridge
-- and the validation metrics: a row of weight 2 trains as the row written
-- twice, a row of weight 0 as no row.
-- the linear family's framings: without "model" it is trained by this setting (default_model tests the default)
SET reframe.default_model = linear;
SET client_min_messages = warning;
CREATE TABLE wt AS SELECT i, sin(i)::float8 AS a, cos(i * 0.3)::float8 AS b, 'k' || (i % 3) AS c,
       (sin(i) + cos(i * 0.3) + 0.6 * sin(i * 7) > 0.2) AS y,
       (2 * sin(i) - cos(i * 0.3) + 0.3 * sin(i * 5))::float8 AS r,
       'g' || ((i * 7) % 3) AS m,
       1 + (i % 3 = 0)::int AS w FROM generate_series(1, 600) i;
CREATE VIEW wt_twice AS SELECT wt.* FROM wt CROSS JOIN generate_series(1, 2) k WHERE k <= w;
-- trains p_w on the weighted rows and p_d on the repeated ones; the largest
-- difference of their scores (or of their class probabilities)
CREATE FUNCTION weighed_and_repeated(options jsonb, target text, cols text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE d float8;
BEGIN
  PERFORM reframe.drop_model(x) FROM unnest(ARRAY['p_w', 'p_d']) x WHERE to_regclass(x) IS NOT NULL;
  PERFORM reframe.train('p_w', format('SELECT %s, %s, w FROM wt', cols, target), target, options => options || '{"weight": "w"}');
  PERFORM reframe.train('p_d', format('SELECT %s, %s FROM wt_twice', cols, target), target, options => options);
  IF target = 'm' THEN
    SELECT max(abs(p - q)) INTO d FROM wt t, unnest(reframe.predict_proba('p_w', t), reframe.predict_proba('p_d', t)) u(p, q);
  ELSE
    SELECT max(abs(reframe.score('p_w', t) - reframe.score('p_d', t))) INTO d FROM wt t;
  END IF;
  RETURN d;
END $$;

-- ridge, solved exactly from the rows kept (a text column) or from the
-- streamed moments (numbers only): equal to rounding
SELECT weighed_and_repeated('{"validation": 0}', 'r', 'a, b, c') < 1e-9 AS ridge_rows;
SELECT spec #>> '{training,solver}' AS solver FROM p_w WHERE block = '';
SELECT weighed_and_repeated('{"validation": 0}', 'r', 'a, b') < 1e-9 AS ridge_moments;
SELECT spec #>> '{training,solver}' AS solver FROM p_w WHERE block = '';
-- with validation rows: the penalty chosen alike ("l2": "auto"), and the
-- validation metrics weighted (rows counted, weights summed)
SELECT weighed_and_repeated('{"validation": 0.3}', 'r', 'a, b') < 1e-9 AS same_model;
SELECT (SELECT spec #>> '{training,chosen,l2}' FROM p_w WHERE block = '') = (SELECT spec #>> '{training,chosen,l2}' FROM p_d WHERE block = '')
       AS same_penalty,
       (SELECT metrics #> '{validation,weight}' FROM reframe.models WHERE model = 'p_w') =
       (SELECT metrics #> '{validation,rows}' FROM reframe.models WHERE model = 'p_d') AS weight_is_rows,
       abs((SELECT (metrics #>> '{validation,rmse}')::float8 FROM reframe.models WHERE model = 'p_w') -
           (SELECT (metrics #>> '{validation,rmse}')::float8 FROM reframe.models WHERE model = 'p_d')) < 1e-9 AS same_rmse;
-- L-BFGS fits (a tolerance below 1e-4 runs a linear model's objective in
-- double precision): logistic, Huber (its target standardized by weighted
-- moments), softmax
SELECT weighed_and_repeated('{"validation": 0.3, "l2": 0.01, "tol": 1e-10, "max_iter": 1000}', 'y', 'a, b, c') < 1e-6 AS logistic;
SELECT abs((SELECT (metrics #>> '{validation,log_loss}')::float8 FROM reframe.models WHERE model = 'p_w') -
           (SELECT (metrics #>> '{validation,log_loss}')::float8 FROM reframe.models WHERE model = 'p_d')) < 1e-6 AS same_log_loss;
SELECT weighed_and_repeated('{"validation": 0, "l2": 0.01, "loss": "huber", "tol": 1e-10, "max_iter": 1000}', 'r', 'a, b, c') < 1e-6 AS huber;
SELECT weighed_and_repeated('{"validation": 0, "l2": 0.01, "tol": 1e-10, "max_iter": 1000}', 'm', 'a, b') < 1e-6 AS softmax;
-- trees: the gradients carry the weights and XGBoost's histogram cuts are
-- weighted, so the trees are the same
SELECT weighed_and_repeated('{"validation": 0, "model": "trees", "rounds": 30}', 'r', 'a, b, c') < 1e-9 AS trees_regression;
SELECT weighed_and_repeated('{"validation": 0, "model": "trees", "rounds": 30}', 'y', 'a, b, c') < 1e-9 AS trees_binary;
-- networks: the same objective, so L-BFGS takes the same steps — the first
-- 20 iterations' losses agree to single precision (1e-4: the network runs
-- in floats) — until rounding (a row of weight 2 is summed once, two rows
-- twice) steers the non-convex fit apart, here past the 25th iteration;
-- after 20 iterations the scores agree within 1e-3
SELECT weighed_and_repeated('{"validation": 0, "hidden": [4], "max_iter": 20}', 'r', 'a, b, c') < 1e-3 AS network_20_iterations;
SELECT (SELECT bool_and(abs(w.loss - d.loss) < 1e-4 * d.loss)
          FROM reframe.loss_history('p_w') w JOIN reframe.loss_history('p_d') d USING (iteration) WHERE iteration <= 20) AS same_path;

-- evaluate and the metric aggregates take the weights too: the weighted
-- figures are those of the rows repeated
SELECT 1 FROM reframe.train('ev', 'SELECT a, b, c, y FROM wt', 'y', options => '{"validation": 0, "l2": 0.01}');
SELECT abs((e1 #>> '{metrics,log_loss}')::float8 - (e2 #>> '{metrics,log_loss}')::float8) < 1e-12 AS log_loss,
       e1 #> '{metrics,accuracy}' = e2 #> '{metrics,accuracy}' AND e1 #> '{metrics,f1}' = e2 #> '{metrics,f1}'
       AND e1 #> '{metrics,confusion}' = e2 #> '{metrics,confusion}' AS same_counts,
       e1 #>> '{metrics,rows}' AS rows, e1 #>> '{metrics,weight}' AS weight, e2 #>> '{metrics,rows}' AS repeated_rows
  FROM (SELECT reframe.evaluate('ev', 'SELECT * FROM wt', '{"weight": "w"}') AS e1,
               reframe.evaluate('ev', 'SELECT * FROM wt_twice') AS e2) x;
SELECT abs((SELECT reframe.log_loss(reframe.score('ev', t), y, w) FROM wt t) -
           (SELECT reframe.log_loss(reframe.score('ev', t), y) FROM wt_twice t)) < 1e-12 AS log_loss,
       abs((SELECT reframe.rmse(a, r, w) FROM wt) - (SELECT reframe.rmse(a, r) FROM wt_twice)) < 1e-12 AS rmse,
       abs((SELECT reframe.mae(a, r, w) FROM wt) - (SELECT reframe.mae(a, r) FROM wt_twice)) < 1e-12 AS mae,
       abs((SELECT reframe.accuracy(c, 'k1', w) FROM wt) - (SELECT reframe.accuracy(c, 'k1') FROM wt_twice)) < 1e-12 AS accuracy,
       abs((SELECT reframe.cross_entropy(ARRAY[0.2, 0.3, 0.5], 1 + i % 3, w) FROM wt) -
           (SELECT reframe.cross_entropy(ARRAY[0.2, 0.3, 0.5], 1 + i % 3) FROM wt_twice)) < 1e-12 AS cross_entropy;
-- soft labels (shares of annotators in [0, 1]): log loss and Brier score
-- against their closed forms
SELECT abs(reframe.log_loss(p, y) - avg(-(y * ln(p) + (1 - y) * ln(1 - p)))) < 1e-12 AS soft_log_loss,
       abs(reframe.brier(p, y) - avg((p - y) ^ 2)) < 1e-12 AS brier,
       abs(reframe.brier(p, y, 2) - avg((p - y) ^ 2)) < 1e-12 AS brier_weighted
  FROM (VALUES (0.2, 0.0), (0.7, 2 / 3.0), (0.9, 1.0), (0.5, 1 / 3.0)) v(p, y);
SELECT reframe.log_loss(0.5, 1.5);
SELECT reframe.rmse(1, 2, -1);
SELECT reframe.evaluate('ev', 'SELECT *, NULLIF(w, 2) AS w2 FROM wt', '{"weight": "w2"}');
SELECT reframe.evaluate('ev', 'SELECT * FROM wt', '{"weight": "nope"}');
SELECT reframe.drop_model('ev');

-- a weight of 0 is no row
SELECT 1 FROM reframe.train('zero_w', 'SELECT a, b, r, (i % 4 <> 0)::int AS w FROM wt', 'r', options => '{"validation": 0, "weight": "w"}');
SELECT 1 FROM reframe.train('zero_d', 'SELECT a, b, r FROM wt WHERE i % 4 <> 0', 'r', options => '{"validation": 0}');
SELECT max(abs(reframe.score('zero_w', t) - reframe.score('zero_d', t))) < 1e-9 AS zero_is_absent FROM wt t;

-- bad input
RESET client_min_messages;
SELECT * FROM reframe.train('bad', 'SELECT a, b, r, NULLIF(w, 2) AS w FROM wt', 'r', options => '{"weight": "w"}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, r, w - 2 AS w FROM wt', 'r', options => '{"weight": "w"}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, r, ''inf''::float8 AS w FROM wt', 'r', options => '{"weight": "w"}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, r, c AS w FROM wt', 'r', options => '{"weight": "w"}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, r FROM wt', 'r', options => '{"weight": "w"}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, r FROM wt', 'r', options => '{"weight": "r"}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, r, w FROM wt', 'r', options => '{"weight": 3}');
SELECT reframe.drop_model(x) FROM unnest(ARRAY['p_w', 'p_d', 'zero_w', 'zero_d']) x;
DROP FUNCTION weighed_and_repeated(jsonb, text, text);
DROP VIEW wt_twice;
DROP TABLE wt;
