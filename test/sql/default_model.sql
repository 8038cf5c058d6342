-- The default: reframe.train without "model" trains the family the data
-- call for. With no family-specific option it races the linear family,
-- trees and a [32] network on the same folds (as "model": "auto"), and the
-- version's metrics say what it chose and why; options of one family train
-- that family; tiny sources train the linear family; the setting
-- reframe.default_model names a family instead.
SET client_min_messages = warning;
-- a nonlinear target (an interaction and a threshold), and a linear one with
-- noise, on the same 1,200 rows
CREATE TABLE shapes AS
SELECT i, sin(i * 1.3)::float8 AS a, cos(i * 0.7)::float8 AS b, (ARRAY['north', 'south'])[1 + i % 2] AS kind,
       (sin(i * 1.3) * cos(i * 0.7) > 0.1) AS crossed,
       (2 * sin(i * 1.3) - 3 * cos(i * 0.7) + 0.3 * (abs(hashint4(i)) % 2001 - 1000) / 1000.0)::float8 AS plane,
       (ARRAY['low', 'mid', 'high'])[1 + (sin(i * 1.3) * cos(i * 0.7) > 0)::int + (sin(i * 1.3) > 0.5)::int] AS level,
       CASE WHEN sin(i * 1.3) > 0 THEN ARRAY['up'] ELSE ARRAY[]::text[] END
         || CASE WHEN sin(i * 1.3) * cos(i * 0.7) > 0 THEN ARRAY['same'] ELSE ARRAY[]::text[] END AS tags,
       'q' || (i / 12) AS q
  FROM generate_series(1, 1200) i;

-- the interaction: a nonlinear family beats the linear one by a wide margin
SELECT task, metrics->'auto'->'chosen'->>'model' AS chosen, metrics->'auto'->>'method' AS method,
       jsonb_array_length(metrics->'auto'->'candidates') AS candidates,
       (metrics->'validation'->>'accuracy')::float8 > 0.9 AS accurate
  FROM reframe.train('d_crossed', 'SELECT a, b, crossed FROM shapes', 'crossed');
-- the chosen one is the candidate of least cross-validated loss ...
SELECT (SELECT options FROM reframe.trials('d_crossed') ORDER BY loss LIMIT 1) =
       (SELECT options FROM reframe.trials('d_crossed') WHERE chosen) AS chose_the_best,
       (SELECT spec->'network'->>'family' FROM d_crossed WHERE block = '') AS trained,
       (SELECT spec->'options'->>'model' FROM d_crossed WHERE block = '') AS options_record_it;
-- ... and each candidate's loss is cross_validate's mean over the folds it ran
SELECT bool_and(abs(t.loss - (SELECT avg((f->'selection'->>'value')::float8)
                                FROM jsonb_array_elements(reframe.cross_validate('SELECT a, b, crossed FROM shapes', 'crossed',
                                                                                 options => t.options)->'folds') WITH ORDINALITY x(f, k)
                               WHERE k <= (c->>'folds')::int)) < 1e-9) AS losses_are_cross_validated
  FROM reframe.trials('d_crossed') t
  JOIN (SELECT c FROM d_crossed, jsonb_array_elements(spec->'metrics'->'auto'->'candidates') c WHERE block = '') cs
    ON cs.c->'model' = t.options->'model';

-- a plane with noise: the linear family wins
SELECT task, metrics->'auto'->'chosen'->>'model' AS chosen
  FROM reframe.train('d_plane', 'SELECT a, b, plane FROM shapes', 'plane');

-- every framing trains by default
SELECT task, metrics->'auto'->'chosen'->>'model' IS NOT NULL AS chose, train_rows + validation_rows AS rows
  FROM reframe.train('d_multiclass', 'SELECT a, b, level FROM shapes', 'level');
SELECT task, metrics->'auto'->'chosen'->>'model' IS NOT NULL AS chose, train_rows + validation_rows AS rows
  FROM reframe.train('d_multilabel', 'SELECT a, b, tags FROM shapes', 'tags');
SELECT task, metrics->'auto'->'chosen'->>'model' IS NOT NULL AS chose, train_rows + validation_rows AS rows
  FROM reframe.train('d_multitask', 'SELECT a, b, crossed, plane FROM shapes', 'crossed,plane');
SELECT task, metrics->'auto'->'chosen'->>'model' IS NOT NULL AS chose, train_rows + validation_rows AS rows
  FROM reframe.train('d_bins', 'SELECT a, b, plane FROM shapes', 'plane', options => '{"bins": {"quantiles": 4}}');
SELECT task, metrics->'auto'->'chosen'->>'model' IS NOT NULL AS chose, train_rows + validation_rows AS rows
  FROM reframe.train('d_hier', 'SELECT a, b, kind, kind || ''-'' || level AS place FROM shapes', 'kind,place', 'hierarchical');
SELECT task, metrics->'auto'->'chosen'->>'model' IS NOT NULL AS chose, metrics->'ranking' ? 'ndcg@10' AS ranked
  FROM reframe.train('d_ranked', 'SELECT a, b, q, crossed FROM shapes', 'crossed', options => '{"group": "q"}');
-- what each scores is what its chosen family scores
SELECT count(DISTINCT reframe.predict('d_multiclass', s)) > 1 AS predicts,
       bool_and(reframe.score('d_ranked', s) BETWEEN 0 AND 1) AS probabilities
  FROM shapes s;

-- options of one family train that family, and the metrics say why
SELECT metrics->'auto' AS why
  FROM reframe.train('d_rounds', 'SELECT a, b, crossed FROM shapes', 'crossed', options => '{"rounds": 20}');
SELECT metrics->'auto' AS why
  FROM reframe.train('d_hard', 'SELECT a, b, crossed FROM shapes', 'crossed', options => '{"sharing": "hard"}');
-- (a network: with the [32] hidden layer auto's network candidate has)
SELECT spec->'network'->'hidden' AS hidden FROM d_hard WHERE block = '';
-- "l2": "auto" chooses a linear model's penalty: the linear family
SELECT metrics->'auto'->'chosen' AS chosen
  FROM reframe.train('d_l2auto', 'SELECT a, b, crossed FROM shapes', 'crossed', options => '{"l2": "auto"}');
-- several families' options: raced among those they apply to
SELECT metrics->'auto'->'chosen'->>'model' AS chosen,
       (SELECT array_agg(c->>'model' ORDER BY c->>'model') FROM jsonb_array_elements(metrics->'auto'->'candidates') c) AS raced
  FROM reframe.train('d_iter', 'SELECT a, b, crossed FROM shapes', 'crossed', options => '{"max_iter": 200}');
-- "validation" and "deploy" concern the version, not the race's folds
SELECT validation_rows, deployed
  FROM reframe.train('d_valid', 'SELECT a, b, crossed FROM shapes', 'crossed', options => '{"validation": 0.3, "deploy": "never"}');
-- "trials" and "time_budget" bound the race
SELECT jsonb_array_length(metrics->'auto'->'candidates') AS candidates
  FROM reframe.train('d_trials', 'SELECT a, b, crossed FROM shapes', 'crossed', options => '{"trials": 1}');
-- "search" without "model": the family first (by its defaults), then its options
SELECT metrics->'auto'->'chosen'->>'model' AS family, jsonb_array_length(metrics->'search'->'trials') AS trials
  FROM reframe.train('d_search', 'SELECT a, b, crossed FROM shapes', 'crossed', options => '{"search": {"l2": [0.1, 1]}}');
-- a tiny source: the linear family, without comparing
SELECT metrics->'auto' AS why
  FROM reframe.train('d_tiny', 'SELECT a, b, plane FROM shapes WHERE i <= 60', 'plane');
-- cross_validate measures what train would choose
RESET client_min_messages;
SELECT jsonb_array_length(reframe.cross_validate('SELECT a, b, crossed FROM shapes', 'crossed')->'folds') AS folds;
SET client_min_messages = warning;

-- reframe.default_model names the family where the options apply to it
SET reframe.default_model = linear;
SELECT metrics ? 'auto' AS raced FROM reframe.train('d_set', 'SELECT a, b, crossed FROM shapes', 'crossed');
SELECT spec->'network'->>'family' AS family FROM d_set WHERE block = '';
SELECT metrics->'auto'->'chosen'->>'model' AS family
  FROM reframe.train('d_set2', 'SELECT a, b, crossed FROM shapes', 'crossed', options => '{"max_depth": 2}');
SELECT metrics->'search'->'chosen' AS chosen
  FROM reframe.train('d_set3', 'SELECT a, b, crossed FROM shapes', 'crossed', options => '{"search": {"l2": [0.1, 1]}}');
SET reframe.default_model = trees;
SELECT metrics ? 'auto' AS raced FROM reframe.train('d_set4', 'SELECT a, b, crossed FROM shapes', 'crossed');
SELECT spec->'network'->>'family' AS family FROM d_set4 WHERE block = '';
-- any family of the table, a network with its candidate's hidden layer
SET reframe.default_model = neural;
SELECT metrics ? 'auto' AS raced FROM reframe.train('d_set5', 'SELECT a, b, crossed FROM shapes', 'crossed');
SELECT spec->'network'->>'family' AS family, spec->'network'->'hidden' AS hidden FROM d_set5 WHERE block = '';
RESET reframe.default_model;

-- bad input: the same errors as a training's, before any candidate runs
RESET client_min_messages;
SELECT * FROM reframe.train('bad', 'SELECT a, b, crossed FROM shapes', 'crossed', 'regresion');
SELECT * FROM reframe.train('bad', 'SELECT a, b, crossed FROM shapes', 'crosed');
SELECT * FROM reframe.train('bad', 'SELECT a, b, crossed FROM shapes', 'crossed', options => '{"streaming": true, "max_depth": 2}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, crossed FROM shapes WHERE false', 'crossed');
SET reframe.default_model = forest;
SELECT to_regclass('bad') AS nothing_written;

SELECT count(reframe.drop_model(m)) AS dropped
  FROM unnest(ARRAY['d_crossed', 'd_plane', 'd_multiclass', 'd_multilabel', 'd_multitask', 'd_bins', 'd_hier', 'd_ranked',
                    'd_rounds', 'd_hard', 'd_l2auto', 'd_iter', 'd_valid', 'd_trials', 'd_search', 'd_tiny', 'd_set', 'd_set2', 'd_set3',
                    'd_set4', 'd_set5']) m;
DROP TABLE shapes;
