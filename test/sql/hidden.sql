-- Hidden trunks (ReLU layers) trained by mini-batch Adam with early
-- stopping: they learn what a linear model cannot.
-- the linear family's framings: without "model" it is trained by this setting (default_model tests the default)
SET reframe.default_model = linear;
CREATE TABLE xor AS
SELECT i, sin(i * 1.1)::float8 AS a, cos(i * 2.3)::float8 AS b,
       sin(i * 1.1) * cos(i * 2.3) > 0 AS same_sign,
       (4 * sin(i * 1.1) * cos(i * 2.3) + 0.3 * sin(i))::float8 AS product
  FROM generate_series(1, 4000) i;
SET client_min_messages = warning;

-- the sign of a product: no line separates it, a hidden layer does
SELECT model, iterations > 1 AS trained, (metrics->'validation'->>'accuracy')::float8 < 0.75 AS linear_fails
  FROM reframe.train('lin', 'SELECT a, b, same_sign FROM xor', 'same_sign');
SELECT model, (metrics->'validation'->>'accuracy')::float8 > 0.95 AS hidden_learns
  FROM reframe.train('mlp', 'SELECT a, b, same_sign FROM xor', 'same_sign',
                     options => '{"hidden": [16], "seed": 1, "learning_rate": 0.01}');
SELECT block, shape FROM reframe.weights('mlp') ORDER BY block;
-- a product as a regression: the hidden trunk's error is a fraction of the linear one's
SELECT version FROM reframe.train('lin_r', 'SELECT a, b, product FROM xor', 'product');
SELECT version FROM reframe.train('mlp_r', 'SELECT a, b, product FROM xor', 'product',
                                  options => '{"hidden": [32, 16], "seed": 1, "learning_rate": 0.01}');
SELECT (SELECT reframe.rmse(reframe.score('mlp_r', x), product) FROM xor x)
     < 0.4 * (SELECT reframe.rmse(reframe.score('lin_r', x), product) FROM xor x) AS hidden_fits;

-- deterministic for a seed; another seed gives another model
SELECT version FROM reframe.train('mlp_again', 'SELECT a, b, same_sign FROM xor', 'same_sign',
                                  options => '{"hidden": [16], "seed": 1, "learning_rate": 0.01}');
SELECT version FROM reframe.train('mlp_other', 'SELECT a, b, same_sign FROM xor', 'same_sign',
                                  options => '{"hidden": [16], "seed": 2, "learning_rate": 0.01}');
SELECT (SELECT array_agg(data::text ORDER BY block) FROM reframe.weights('mlp')) =
       (SELECT array_agg(data::text ORDER BY block) FROM reframe.weights('mlp_again')) AS same_seed_same_model,
       (SELECT array_agg(data::text ORDER BY block) FROM reframe.weights('mlp')) <>
       (SELECT array_agg(data::text ORDER BY block) FROM reframe.weights('mlp_other')) AS other_seed_other_model;

-- early stopping: patience epochs without a better validation loss end it
SELECT iterations < 1000 AS stopped_early, converged
  FROM reframe.train('mlp_es', 'SELECT a, b, same_sign FROM xor', 'same_sign',
                     options => '{"hidden": [8], "epochs": 1000, "patience": 2, "learning_rate": 0.05}');

-- one trunk shared by two heads of different kinds
SELECT task, train_rows + validation_rows = (SELECT count(*) FROM xor) AS every_row
  FROM reframe.train('duo', 'SELECT a, b, same_sign, product FROM xor', 'same_sign,product',
                     options => '{"hidden": [32], "seed": 1, "learning_rate": 0.01}');
SELECT (metrics->'validation'->'same_sign'->>'accuracy')::float8 > 0.9 AS sign_head,
       (metrics->'validation'->'product'->>'r2')::float8 > 0.8 AS product_head
  FROM reframe.models WHERE model = 'duo';
SELECT block, shape FROM reframe.weights('duo') ORDER BY block;
-- rows and arrays score alike; predict_all runs the trunk once for both heads
SELECT bool_and(abs(reframe.score('duo', x, 'product') - reframe.score('duo', ARRAY[a, b], 'product')) < 1e-12) AS rows_and_arrays,
       bool_and(abs((reframe.predict_all('duo', x)->>'product')::float8 - reframe.score('duo', x, 'product')) < 1e-12) AS predict_all
  FROM xor x WHERE i <= 100;

-- multitask learning earns its place: a task with few labels (150 rows)
-- shares structure with a task with many; the shared trunk learns it from
-- both, and predicts the rare task on held-out rows better than a trunk
-- trained on the rare task alone (margin: 5% lower RMSE; seed 1)
CREATE TABLE shared AS
SELECT i, sin(i * 1.1)::float8 AS a, cos(i * 2.3)::float8 AS b, sin(i * 0.37)::float8 AS c,
       (4 * sin(i * 1.1) * cos(i * 2.3) + 0.2 * sin(i * 7.7))::float8 AS main_task,
       CASE WHEN i % 20 = 0 OR i > 3000
            THEN (4 * sin(i * 1.1) * cos(i * 2.3) + sin(i * 0.37) + 0.2 * sin(i * 5.1))::float8 END AS rare_task,
       i > 3000 AS held_out
  FROM generate_series(1, 4000) i;
SELECT count(*) FILTER (WHERE rare_task IS NOT NULL) AS rare_labels, count(*) AS rows FROM shared WHERE NOT held_out;
SELECT version FROM reframe.train('rare_alone', 'SELECT a, b, c, rare_task FROM shared WHERE NOT held_out', 'rare_task',
       options => '{"hidden": [32], "seed": 1, "learning_rate": 0.01, "validation": 0.2}');
SELECT version FROM reframe.train('rare_shared', 'SELECT a, b, c, main_task, rare_task FROM shared WHERE NOT held_out',
       'main_task,rare_task', options => '{"hidden": [32], "seed": 1, "learning_rate": 0.01, "validation": 0.2}');
SELECT reframe.rmse(reframe.score('rare_shared', s, 'rare_task'), rare_task)
     < 0.95 * reframe.rmse(reframe.score('rare_alone', s), rare_task) AS multitask_wins
  FROM shared s WHERE held_out;
-- soft sharing: one trunk per task, pulled toward their mean by a penalty;
-- without it the tasks' trunks go their own ways, with a strong one they
-- become (nearly) the same trunk; weights across tasks stay zero
SELECT version FROM reframe.train('soft_free', 'SELECT a, b, same_sign, product FROM xor', 'same_sign,product',
       options => '{"hidden": [16], "sharing": "soft", "sharing_strength": 0, "seed": 1, "learning_rate": 0.01, "epochs": 30}');
SELECT version FROM reframe.train('soft_tied', 'SELECT a, b, same_sign, product FROM xor', 'same_sign,product',
       options => '{"hidden": [16], "sharing": "soft", "sharing_strength": 10, "seed": 1, "learning_rate": 0.01, "epochs": 30}');
SELECT block, shape FROM reframe.weights('soft_tied') WHERE block LIKE 'trunk%' ORDER BY block;
CREATE FUNCTION pg_temp.trunk_distance(m text) RETURNS float8 LANGUAGE sql AS $$
  SELECT sqrt(avg((data[k] - data[k + 32]) ^ 2)) FROM reframe.weights(m), generate_series(1, 32) k
   WHERE block = 'trunk.1.weight'
$$;
SELECT pg_temp.trunk_distance('soft_tied') < 0.1 * pg_temp.trunk_distance('soft_free') AS penalty_ties_trunks;
SELECT h, (SELECT count(*) FROM unnest(data) WITH ORDINALITY u(x, k)
            WHERE x <> 0 AND (k <= 16) <> (h = 'same_sign')) AS cross_task_weights
  FROM (VALUES ('same_sign'), ('product')) v(h), LATERAL reframe.weights('soft_tied') w
 WHERE w.block = 'head.' || h || '.weight' ORDER BY h;
SELECT (metrics->'validation'->'product'->>'r2')::float8 > 0.8 AS soft_learns FROM reframe.models WHERE model = 'soft_tied';

-- "tasks" frames each target: an integer target is classes unless told
CREATE TABLE rated AS SELECT i, a, b, same_sign, (i % 5) AS stars FROM xor;
SELECT version FROM reframe.train('rated_m', 'SELECT a, b, same_sign, stars FROM rated', 'same_sign,stars',
                                  options => '{"hidden": [8], "epochs": 3}');
SELECT version FROM reframe.train('rated_m', 'SELECT a, b, same_sign, stars FROM rated', 'same_sign,stars',
                                  options => '{"hidden": [8], "epochs": 3, "tasks": {"stars": "regression"}}');
SELECT version, spec #>> '{network,heads,1,kind}' AS stars_head FROM rated_m WHERE block = '' ORDER BY version;
RESET client_min_messages;
SELECT * FROM reframe.train('bad', 'rated', 'same_sign,stars', NULL, '{"tasks": {"nope": "binary"}}');
SELECT * FROM reframe.train('bad', 'rated', 'same_sign,stars', NULL, '{"tasks": {"stars": "ranking"}}');
SELECT * FROM reframe.train('bad', 'rated', 'stars', NULL, '{"tasks": {"stars": "regression"}}');

-- bad trunks
SELECT * FROM reframe.train('bad', 'xor', 'same_sign', NULL, '{"hidden": []}');
SELECT * FROM reframe.train('bad', 'xor', 'same_sign', NULL, '{"hidden": [0]}');
SELECT * FROM reframe.train('bad', 'xor', 'same_sign', NULL, '{"hidden": [-4]}');
SELECT * FROM reframe.train('bad', 'xor', 'same_sign', NULL, '{"hidden": [5000]}');
SELECT * FROM reframe.train('bad', 'xor', 'same_sign', NULL, '{"hidden": [2.5]}');
SELECT * FROM reframe.train('bad', 'xor', 'same_sign', NULL, '{"hidden": [1,1,1,1,1,1,1,1,1]}');
SELECT * FROM reframe.train('bad', 'xor', 'same_sign', NULL, '{"hidden": 16}');
SELECT * FROM reframe.train('bad', 'xor', 'same_sign', NULL, '{"hidden": [16], "sharing": "soft"}');
SELECT * FROM reframe.train('bad', 'xor', 'same_sign,product', NULL, '{"model": "linear", "sharing": "soft"}');
SELECT * FROM reframe.train('bad', 'xor', 'same_sign,product', NULL, '{"hidden": [4], "sharing": "loose"}');
SELECT * FROM reframe.train('bad', 'xor', 'same_sign', NULL, '{"hidden": [16], "learning_rate": 0}');
SELECT * FROM reframe.train('bad', 'xor', 'same_sign', NULL, '{"hidden": [16], "batch_size": 0}');
SELECT to_regclass('bad') AS nothing_written;

-- A block of more than 1,048,576 values is stored in parts (here 1,100 x
-- 1,000 weights: two).  Scoring reads a model through its primary key, so
-- the parts come back in order whatever the rows' physical order: rewritten
-- with its rows in reverse, and then with every block merged into one part
-- by SQL, the model scores the same.
CREATE TABLE widein AS
SELECT i, ARRAY(SELECT sin(i * k * 0.001) FROM generate_series(1, 1100) k)::float8[] AS v, (i % 3)::float8 AS y
  FROM generate_series(1, 40) i;
SELECT version FROM reframe.train('bigw', 'SELECT v, y FROM widein', 'y',
                                  options => '{"hidden": [1000], "seed": 1, "epochs": 2}');
SELECT block, count(*) AS parts, sum(array_length(data, 1)) AS n FROM bigw GROUP BY block HAVING count(*) > 1;
CREATE TABLE bigw_scores AS SELECT i, reframe.score('bigw', v) AS s FROM widein;
SELECT count(DISTINCT s) AS distinct_scores FROM bigw_scores;
CREATE TABLE bigw_rows AS SELECT * FROM bigw;
TRUNCATE bigw;
INSERT INTO bigw SELECT * FROM bigw_rows ORDER BY block DESC, part DESC;
SELECT count(*) AS rows, bool_and(reframe.score('bigw', w.v) = s.s) AS same_scores_reversed
  FROM widein w JOIN bigw_scores s USING (i);
TRUNCATE bigw;
INSERT INTO bigw (version, block, part, shape, data, spec, created, deployed)
SELECT version, block, 0, min(shape), array_agg(d ORDER BY part, o) FILTER (WHERE d IS NOT NULL),
       (array_agg(spec))[1], min(created), bool_or(deployed)
  FROM bigw_rows LEFT JOIN LATERAL unnest(data) WITH ORDINALITY AS u(d, o) ON true
 GROUP BY version, block;
SELECT count(*) FILTER (WHERE part > 0) AS parts_left, max(array_length(data, 1)) AS longest FROM bigw;
SELECT count(*) AS rows, bool_and(reframe.score('bigw', w.v) = s.s) AS same_scores_one_part
  FROM widein w JOIN bigw_scores s USING (i);

-- model tables take no row-level security: a loaded model serves every role
ALTER TABLE bigw ENABLE ROW LEVEL SECURITY;
SELECT reframe.score('bigw', v) FROM widein LIMIT 1;
ALTER TABLE bigw DISABLE ROW LEVEL SECURITY;
-- nor can scoring read one that lost its primary key
ALTER TABLE bigw DROP CONSTRAINT bigw_pkey;
SELECT reframe.score('bigw', v) FROM widein LIMIT 1;
ALTER TABLE bigw ADD PRIMARY KEY (version, block, part);
SELECT reframe.score('bigw', v) = s AS scores_again FROM widein JOIN bigw_scores USING (i) WHERE i = 1;

DROP TABLE soft_free, soft_tied, rated, rated_m, shared, rare_alone, rare_shared, xor, lin, mlp, lin_r, mlp_r, mlp_again, mlp_other, mlp_es, duo,
           widein, bigw, bigw_scores, bigw_rows;

-- Small data, no Adam options: full-batch L-BFGS until the loss stops
-- moving, which three outputs of a shared latent layer need: the held-out
-- standardized RMSE is a fraction of 100 Adam epochs'
SET client_min_messages = warning;
CREATE TABLE latent AS SELECT i, sin(i)::float8 AS a, cos(i * 0.7)::float8 AS b, sin(i * 1.3)::float8 AS c,
       cos(i * 2.1)::float8 AS d FROM generate_series(1, 800) i;
ALTER TABLE latent ADD COLUMN y1 float8, ADD COLUMN y2 float8, ADD COLUMN y3 float8;
UPDATE latent SET y1 = greatest(a + b, 0) - greatest(c - d, 0) + 0.1 * sin(i * 17),
                  y2 = 2 * greatest(a + b, 0) + greatest(c - d, 0) + 0.1 * cos(i * 13),
                  y3 = greatest(c - d, 0) - greatest(a - c, 0) + 0.1 * sin(i * 11);
SELECT 1 FROM reframe.train('latent_default', 'SELECT a, b, c, d, y1, y2, y3 FROM latent WHERE i % 5 <> 0',
                            'y1,y2,y3', 'multitask', '{"hidden": [16]}');
SELECT spec #>> '{training,solver}' AS solver, (spec #>> '{training,converged}')::bool AS converged
  FROM latent_default WHERE block = '';
SELECT 1 FROM reframe.train('latent_adam', 'SELECT a, b, c, d, y1, y2, y3 FROM latent WHERE i % 5 <> 0',
                            'y1,y2,y3', 'multitask', '{"hidden": [16], "epochs": 100}');
CREATE FUNCTION latent_rmse(m text) RETURNS float8 LANGUAGE sql AS $$
    SELECT avg(r) FROM (
      SELECT sqrt(avg((reframe.score(m, t, 'y1') - y1) ^ 2)) / (SELECT stddev_pop(y1) FROM latent) AS r FROM latent t WHERE i % 5 = 0
      UNION ALL SELECT sqrt(avg((reframe.score(m, t, 'y2') - y2) ^ 2)) / (SELECT stddev_pop(y2) FROM latent) FROM latent t WHERE i % 5 = 0
      UNION ALL SELECT sqrt(avg((reframe.score(m, t, 'y3') - y3) ^ 2)) / (SELECT stddev_pop(y3) FROM latent) FROM latent t WHERE i % 5 = 0) x $$;
SELECT latent_rmse('latent_default') < 0.15 AS defaults_fit, latent_rmse('latent_default') < 0.5 * latent_rmse('latent_adam') AS beats_adam_budget;
SELECT reframe.drop_model('latent_default'), reframe.drop_model('latent_adam');
DROP FUNCTION latent_rmse(text);
DROP TABLE latent;
RESET client_min_messages;

-- Above 10,000 training rows Adam trains: by default for up to ~20,000
-- steps (ceil(20000 / steps per epoch) epochs, at least 100), ending when the
-- validation loss stops improving; this one needs more than the 100 epochs
-- a fixed budget gave it
SET client_min_messages = warning;
CREATE TABLE latent_big AS SELECT i, sin(i)::float8 AS a, cos(i * 0.7)::float8 AS b, sin(i * 1.3)::float8 AS c
  FROM generate_series(1, 13000) i;
ALTER TABLE latent_big ADD COLUMN y float8;
UPDATE latent_big SET y = greatest(a + b, 0) - greatest(c - a, 0) + 0.1 * sin(i * 17);
SELECT converged, train_rows FROM reframe.train('latent_big_m', 'SELECT a, b, c, y FROM latent_big', 'y', options => '{"hidden": [8]}');
SELECT spec #>> '{training,solver}' AS solver,
       (spec #>> '{training,chosen,epochs}')::int = ceil(20000.0 / (spec #>> '{training,chosen,steps_per_epoch}')::int) AS step_budget,
       (spec #>> '{training,chosen,epochs_run}')::int > 100 AS past_100_epochs,
       (spec #>> '{training,chosen,epochs_run}')::int < (spec #>> '{training,chosen,epochs}')::int AS stopped_on_validation
  FROM latent_big_m WHERE block = '';
SELECT reframe.drop_model('latent_big_m');
DROP TABLE latent_big;
RESET client_min_messages;

-- a network does not overfit by default: with validation rows, L-BFGS stops
-- when their loss has not improved for 20 iterations and keeps the best
-- iteration; on held-out rows it comes within 10% of the best of a penalty
-- grid (each fitted to convergence), where fitting to convergence with the
-- default penalty loses badly
SET client_min_messages = warning;
CREATE TABLE noisy AS
SELECT i, sin(i * 1.3) AS a, cos(i * 0.71) AS b, sin(i * 2.9) AS c, cos(i * 3.7) AS d, sin(i * 5.1) AS e,
       cos(i * 6.3) AS f, sin(i * 7.7) AS g, cos(i * 8.9) AS h,
       (sin(i * 1.3) + cos(i * 0.71) * sin(i * 2.9) + 0.9 * sin(i * 101.7) > 0.2) AS clicked
  FROM generate_series(1, 3000) i;
SELECT metrics->'chosen'->'stopped_on_validation' AS stopped_on_validation
  FROM reframe.train('nn_default', 'SELECT a, b, c, d, e, f, g, h, clicked FROM noisy WHERE i <= 2400', 'clicked',
                     options => '{"hidden": [64, 32]}');
SELECT 1 FROM reframe.train('nn_converged', 'SELECT a, b, c, d, e, f, g, h, clicked FROM noisy WHERE i <= 2400', 'clicked',
                            options => '{"hidden": [64, 32], "validation": 0}');
SELECT count(*) AS grid
  FROM (VALUES (1, 0.001), (2, 0.01), (3, 0.1)) g(k, l2),
       LATERAL reframe.train('nn_l2_' || k, 'SELECT a, b, c, d, e, f, g, h, clicked FROM noisy WHERE i <= 2400', 'clicked',
                             options => jsonb_build_object('hidden', '[64, 32]'::jsonb, 'l2', l2, 'validation', 0)) t;
CREATE FUNCTION pg_temp.test_loss(m text) RETURNS float8 LANGUAGE sql AS $$
    SELECT (reframe.evaluate(m, 'SELECT * FROM noisy WHERE i > 2400')->'metrics'->>'log_loss')::float8 $$;
SELECT pg_temp.test_loss('nn_default') <= 1.1 * least(pg_temp.test_loss('nn_l2_1'), pg_temp.test_loss('nn_l2_2'),
                                                       pg_temp.test_loss('nn_l2_3')) AS within_10_percent_of_the_grid,
       pg_temp.test_loss('nn_default') < 0.5 * pg_temp.test_loss('nn_converged') AS converged_overfits;
SELECT reframe.drop_model(m) FROM unnest(ARRAY['nn_default', 'nn_converged', 'nn_l2_1', 'nn_l2_2', 'nn_l2_3']) m;
DROP TABLE noisy;
RESET client_min_messages;
