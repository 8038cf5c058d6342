-- "search": a family's options tried by the same cross-validation as
-- reframe.cross_validate, in one call and one version; "trials" and
-- "time_budget" bound it and "model": "auto"; reframe.trials reads them.
SET client_min_messages = warning;
CREATE TABLE bumps AS SELECT i AS id, sin(i)::float8 AS a, cos(i * 0.3)::float8 AS b FROM generate_series(1, 600) i;
ALTER TABLE bumps ADD COLUMN step float8;
UPDATE bumps SET step = CASE WHEN a > 0.3 AND b < 0 THEN 3 ELSE 0 END + 0.05 * sin(id * 7);

-- a grid: every combination, one version
SELECT version, metrics->'search'->'measured' AS measured, metrics->'search'->>'method' AS method
  FROM reframe.train('grid', 'SELECT id, a, b, step FROM bumps', 'step',
                     options => '{"model": "trees", "exclude": ["id"], "split_by": "id",
                                  "search": {"max_depth": [1, 2, 4], "learning_rate": [0.1, 0.3]}}');
SELECT count(*) AS versions FROM grid WHERE block = '';
SELECT trial, options, chosen FROM reframe.trials('grid') ORDER BY trial;
-- the chosen trial has the least loss, and the version trained with its options
SELECT (SELECT options FROM reframe.trials('grid') ORDER BY loss LIMIT 1) =
       (SELECT options FROM reframe.trials('grid') WHERE chosen) AS chosen_is_best,
       (SELECT (spec->'options') @> (SELECT options FROM reframe.trials('grid') WHERE chosen) FROM grid WHERE block = '')
       AS version_has_its_options;
-- each trial's loss is cross_validate's mean selection metric for its options
SELECT bool_and(abs(loss - (reframe.cross_validate('SELECT id, a, b, step FROM bumps', 'step',
                                                   options => '{"model": "trees", "exclude": ["id"], "split_by": "id"}'::jsonb || options)
                            ->'selection'->>'mean')::float8) < 1e-9) AS losses_are_cross_validated
  FROM reframe.trials('grid');

-- ranges: random trials ("trials" of them, 20 by default), integers for
-- integer options, log-uniform where asked, drawn from "seed"
SELECT jsonb_array_length(metrics->'search'->'trials') AS trials
  FROM reframe.train('ranged', 'SELECT a, b, step FROM bumps', 'step',
                     options => '{"model": "trees", "trials": 5, "seed": 4,
                                  "search": {"max_depth": {"min": 1, "max": 6}, "learning_rate": {"min": 0.03, "max": 0.5, "log": true}}}');
SELECT bool_and(jsonb_typeof(options->'max_depth') = 'number' AND (options->>'max_depth')::float8 = floor((options->>'max_depth')::float8)
                AND (options->>'max_depth')::int BETWEEN 1 AND 6) AS integer_depths,
       bool_and((options->>'learning_rate')::float8 BETWEEN 0.03 AND 0.5) AS rates_in_range,
       count(DISTINCT options) AS distinct_trials
  FROM reframe.trials('ranged');
-- the same seed draws the same trials
SELECT version FROM reframe.train('ranged', 'SELECT a, b, step FROM bumps', 'step',
                     options => '{"model": "trees", "trials": 5, "seed": 4,
                                  "search": {"max_depth": {"min": 1, "max": 6}, "learning_rate": {"min": 0.03, "max": 0.5, "log": true}}}');
SELECT (SELECT array_agg(options ORDER BY trial) FROM reframe.trials('ranged', 1)) =
       (SELECT array_agg(options ORDER BY trial) FROM reframe.trials('ranged', 2)) AS same_draws;
-- fewer "trials" than the grid: that many distinct combinations
SELECT version FROM reframe.train('sampled', 'SELECT a, b, step FROM bumps', 'step',
                                  options => '{"model": "linear", "search": {"l2": [0.0001, 0.001, 0.01, 0.1, 1, 10]}, "trials": 3}');
SELECT count(*) AS trials, count(DISTINCT options) AS distinct_trials FROM reframe.trials('sampled');
-- the linear family searched over "l2" (a number each trial: no "auto" inside)
SELECT bool_and(jsonb_typeof(options->'l2') = 'number') AS numbers FROM reframe.trials('sampled');

-- a time budget: the first candidate always runs, then none starts past it
SELECT metrics->'search'->'measured' AS measured, metrics->'search'->'planned' AS planned,
       metrics->'search'->>'stopped' AS stopped
  FROM reframe.train('hurried', 'SELECT a, b, step FROM bumps', 'step',
                     options => '{"model": "trees", "time_budget": 0.001, "search": {"max_depth": [1, 2, 3, 4]}}');
-- "model": "auto" takes "trials" (its candidates in order: linear, trees, network)
SELECT version FROM reframe.train('auto2', 'SELECT a, b, step FROM bumps', 'step', options => '{"model": "auto", "trials": 2}');
SELECT trial, options, chosen FROM reframe.trials('auto2') ORDER BY trial;

-- bad input
RESET client_min_messages;
SELECT * FROM reframe.train('bad', 'SELECT a, b, step FROM bumps', 'step', options => '{"model": "linear", "search": {"max_depth": [1, 2]}}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, step FROM bumps', 'step', options => '{"search": {"l3": [1]}}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, step FROM bumps', 'step', options => '{"model": "linear", "trials": 3}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, step FROM bumps', 'step', options => '{"search": {"l2": 3}}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, step FROM bumps', 'step', options => '{"search": {"l2": []}}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, step FROM bumps', 'step', options => '{"search": {"l2": {"min": 1}}}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, step FROM bumps', 'step', options => '{"search": {"l2": {"min": 0, "max": 1, "log": true}}}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, step FROM bumps', 'step', options => '{"model": "trees", "search": {"max_depth": {"min": 0.5, "max": 3}}}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, step FROM bumps', 'step', options => '{"model": "auto", "search": {"l2": [1]}}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, step FROM bumps', 'step', options => '{"search": {"validation": [0.1, 0.2]}}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, step FROM bumps', 'step', options => '{"search": {}}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, step FROM bumps', 'step', options => '{"search": [1, 2]}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, step FROM bumps', 'step',
                            options => '{"model": "trees", "search": {"max_depth": [1,2,3,4,5,6,7,8,9,10], "rounds": [1,2,3,4,5,6,7,8,9,10], "learning_rate": [0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1.0,0.05]}}');
SELECT reframe.cross_validate('SELECT a, b, step FROM bumps', 'step', options => '{"search": {"l2": [1, 2]}}');
SELECT 1 FROM reframe.train('plain', 'SELECT a, b, step FROM bumps', 'step', options => '{"model": "linear", "l2": 0.1}');
SELECT * FROM reframe.trials('plain');
-- options of one family: the default trains it, and says why (no candidates to list)
SELECT metrics->'auto' AS why FROM reframe.train('deep', 'SELECT a, b, step FROM bumps', 'step', options => '{"max_depth": 2}');
SELECT * FROM reframe.trials('deep');
SELECT * FROM reframe.trials('grid', 7);
-- "auto" says each WARNING once per call (the winner's training says it),
-- not once per candidate and fold: one rare class, one WARNING
CREATE TABLE rare_kind AS
SELECT i, sin(i) AS a, cos(i * 0.3) AS b,
       CASE WHEN i % 50 = 0 THEN 'rare' WHEN sin(i) > 0 THEN 'up' ELSE 'down' END AS kind
  FROM generate_series(1, 600) i;
SELECT chosen IS NOT NULL AS chosen
  FROM (SELECT metrics->'auto'->'chosen' AS chosen
          FROM reframe.train('auto_rare', 'SELECT a, b, kind FROM rare_kind', 'kind',
                             options => '{"model": "auto", "trials": 2}')) t;
SELECT reframe.drop_model(m) FROM unnest(ARRAY['grid', 'ranged', 'sampled', 'hurried', 'auto2', 'plain', 'deep', 'auto_rare']) m;
DROP TABLE bumps, rare_kind;
