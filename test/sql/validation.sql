-- The validation split keyed on a column ("split_by"), with a seed of its
-- own, and k-fold cross-validation; held-out rows and each fold's figures
-- are reproduced in SQL with reframe.split_fraction.
SET client_min_messages = warning;
CREATE TABLE rentals AS
SELECT i AS id, sin(i)::float8 AS a, cos(i * 0.3)::float8 AS b, (i % 5)::float8 AS c,
       (2 * sin(i) - cos(i * 0.3) + 0.5 * (i % 5) + 0.2 * sin(i * 11))::float8 AS rent
  FROM generate_series(1, 1200) i;

-- the held-out rows are those whose id draws below the fraction
SELECT validation_rows = (SELECT count(*) FROM rentals WHERE reframe.split_fraction(id::text, 3) < 0.25) AS held_out_by_id
  FROM reframe.train('r_id', 'SELECT id, a, b, c, rent FROM rentals', 'rent',
                     options => '{"split_by": "id", "split_seed": 3, "validation": 0.25, "exclude": ["id"]}');
-- and the version's validation RMSE is the RMSE over exactly those rows
SELECT abs((spec->'metrics'->'validation'->>'rmse')::float8 -
           (SELECT reframe.rmse(reframe.score('r_id', r), rent) FROM rentals r WHERE reframe.split_fraction(id::text, 3) < 0.25))
       < 1e-9 AS same_rows
  FROM r_id WHERE block = '' AND deployed;
-- fewer features, the same held-out rows: versions compare on the same rows
SELECT validation_rows = (SELECT count(*) FROM rentals WHERE reframe.split_fraction(id::text, 3) < 0.25) AS unchanged
  FROM reframe.train('r_id', 'SELECT id, a, b, rent FROM rentals', 'rent',
                     options => '{"split_by": "id", "split_seed": 3, "validation": 0.25, "exclude": ["id"], "deploy": "never"}');
-- the split's seed is its own: "seed" alone does not move the rows
SELECT validation_rows = (SELECT count(*) FROM rentals WHERE reframe.split_fraction(id::text, 3) < 0.25) AS split_seed_rules
  FROM reframe.train('r_id', 'SELECT id, a, b, rent FROM rentals', 'rent',
                     options => '{"split_by": "id", "split_seed": 3, "seed": 99, "validation": 0.25, "exclude": ["id"], "deploy": "never"}');

-- deploy if better compares on the same rows: the deployed version is scored
-- on the candidate's validation rows, and the figures are kept
SELECT deployed, metrics->'comparison'->>'deployed_version' AS against,
       (metrics->'comparison'->>'rows')::int = (SELECT count(*) FROM rentals WHERE reframe.split_fraction(id::text, 3) < 0.25) AS same_rows,
       abs((metrics->'comparison'->>'candidate')::float8 - (metrics->'validation'->>'rmse')::float8) < 1e-12 AS candidate_is_its_rmse,
       abs((metrics->'comparison'->>'deployed')::float8 -
           (reframe.evaluate('r_id', 'SELECT * FROM rentals WHERE reframe.split_fraction(id::text, 3) < 0.25')->'metrics'->>'rmse')::float8)
       < 1e-9 AS deployed_is_evaluate
  FROM reframe.train('r_id', 'SELECT id, a, b, c, rent FROM rentals', 'rent',
                     options => '{"split_by": "id", "split_seed": 3, "validation": 0.25, "features": ["a"], "deploy": "if_better"}');
SELECT deployed = ((metrics->'comparison'->>'candidate')::float8 < (metrics->'comparison'->>'deployed')::float8) AS decided_on_same_rows
  FROM reframe.train('r_id', 'SELECT id, a, b, c, rent FROM rentals', 'rent',
                     options => '{"split_by": "id", "split_seed": 3, "validation": 0.25, "exclude": ["id"], "l2": 0, "deploy": "if_better"}');
-- a candidate whose rows lack the deployed version's columns is compared on the stored figures, with a notice
RESET client_min_messages;
SELECT deployed, metrics ? 'comparison' AS compared
  FROM reframe.train('r_id', 'SELECT id, a, rent FROM rentals', 'rent',
                     options => '{"split_by": "id", "split_seed": 3, "validation": 0.25, "exclude": ["id"], "deploy": "if_better"}');
SET client_min_messages = warning;

-- k-fold cross-validation stores nothing; fold i holds the draws in [i/k, (i+1)/k)
CREATE TEMP TABLE versions_before AS SELECT count(*) AS n FROM reframe.models;
CREATE TABLE cv AS
SELECT reframe.cross_validate('SELECT id, a, b, c, rent FROM rentals', 'rent',
                              options => '{"split_by": "id", "exclude": ["id"], "l2": 0.01}', folds => 3) AS r;
SELECT (SELECT count(*) FROM reframe.models) = n AS nothing_stored FROM versions_before;
SELECT (f->>'fold')::int AS fold, (f->>'validation_rows')::int =
       (SELECT count(*) FROM rentals WHERE floor(reframe.split_fraction(id::text) * 3) = (f->>'fold')::int - 1) AS fold_rows
  FROM cv, jsonb_array_elements(r->'folds') f ORDER BY 1;
-- each fold's model is the model trained on the other folds alone: its RMSE
-- on the fold, computed in SQL, is the fold's
CREATE TABLE fold_check AS
SELECT k, (SELECT version FROM reframe.train('cv_fold_' || k,
               format('SELECT a, b, c, rent FROM rentals WHERE floor(reframe.split_fraction(id::text) * 3) <> %s', k - 1),
               'rent', options => '{"l2": 0.01, "validation": 0}')) AS version
  FROM generate_series(1, 3) k;
SELECT bool_and(abs((f->'metrics'->'validation'->>'rmse')::float8 -
                    (SELECT reframe.rmse(reframe.score('cv_fold_' || (f->>'fold'), x), rent) FROM rentals x
                      WHERE floor(reframe.split_fraction(id::text) * 3) = (f->>'fold')::int - 1)) < 1e-9) AS folds_agree
  FROM cv, jsonb_array_elements(r->'folds') f;
-- the means are the folds' means
SELECT abs((r->'mean'->>'rmse')::float8 - (SELECT avg((f->'metrics'->'validation'->>'rmse')::float8)
                                            FROM jsonb_array_elements(r->'folds') f)) < 1e-12 AS mean_rmse,
       r->'selection'->>'metric' AS selected_on
  FROM cv;
-- every family and framing cross-validates
SELECT jsonb_array_length(reframe.cross_validate('SELECT a, b, rent > 0 AS high FROM rentals', 'high',
                                                 options => '{"model": "trees", "rounds": 10}', folds => 2)->'folds') AS tree_folds;

-- bad input
SELECT reframe.cross_validate('rentals', 'rent', options => '{"validation": 0.2}');
SELECT reframe.cross_validate('rentals', 'rent', folds => 1);
SELECT reframe.cross_validate('SELECT a, rent FROM rentals WHERE id <= 2', 'rent', folds => 50);
SELECT * FROM reframe.train('bad', 'rentals', 'rent', options => '{"split_by": "nope"}');
SELECT reframe.drop_model(m) FROM unnest(ARRAY['r_id', 'cv_fold_1', 'cv_fold_2', 'cv_fold_3']) m;
DROP TABLE rentals, cv, fold_check;
