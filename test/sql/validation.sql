-- The validation split keyed on a column ("split_by"), with a seed of its
-- own, and k-fold cross-validation; held-out rows and each fold's figures
-- are reproduced in SQL with reframe.split_fraction.
-- the linear family's framings: without "model" it is trained by this setting (default_model tests the default)
SET reframe.default_model = linear;
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

-- deploy(model) with no version measures every version on the same rows:
-- the validation rows of the newest version whose source holds every
-- version's columns (here version 5's: the newest lacks b and c); the
-- version it picks is the best by evaluate on exactly those rows
CREATE TABLE each_version (version int, rmse float8);
DO $$
DECLARE v int;
BEGIN
  FOR v IN SELECT version FROM r_id WHERE block = '' LOOP
    PERFORM reframe.deploy('r_id', v);
    INSERT INTO each_version SELECT v, (reframe.evaluate('r_id', 'SELECT * FROM rentals WHERE reframe.split_fraction(id::text, 3) < 0.25')->'metrics'->>'rmse')::float8;
  END LOOP;
END $$;
SELECT count(*) AS versions, (SELECT version FROM each_version ORDER BY rmse LIMIT 1) AS best_on_same_rows,
       (SELECT version FROM r_id WHERE block = '' ORDER BY (spec #>> '{selection,value}')::float8 LIMIT 1) AS best_on_own_rows
  FROM each_version;
RESET client_min_messages;
SELECT reframe.deploy('r_id') = (SELECT version FROM each_version ORDER BY rmse LIMIT 1) AS deploys_the_best;
SELECT version FROM reframe.models WHERE model = 'r_id' AND deployed;
SET client_min_messages = warning;
DROP TABLE each_version;

-- deploy(model) needs validation rows, and l2 "auto" needs rows in every fold
SELECT version FROM reframe.train('no_holdout', 'SELECT a, b, rent FROM rentals', 'rent', options => '{"validation": 0, "l2": 0.1}');
SELECT reframe.deploy('no_holdout');
SELECT reframe.drop_model('no_holdout');
SELECT * FROM reframe.train('bad', 'SELECT a, rent FROM rentals WHERE id <= 3', 'rent');
SELECT * FROM reframe.train('bad', 'SELECT a, id % 2 = 0 AS up FROM rentals WHERE id <= 4', 'up');
-- where the versions' own validation rows differ, their stored figures
-- mislead: version 1 (the right features) held out 4 of the 10 outliers,
-- version 2 (a useless feature) none; on the same rows version 1 wins
CREATE TABLE spiky AS
SELECT i AS id, sin(i)::float8 AS a, cos(i * 7.1)::float8 AS b,
       (2 * sin(i) + 0.1 * sin(i * 13) + CASE WHEN i % 100 = 7 THEN 50 ELSE 0 END)::float8 AS y
  FROM generate_series(1, 1000) i;
SELECT version FROM reframe.train('spiky_m', 'spiky', 'y', options => '{"split_by": "id", "split_seed": 9, "features": ["a"]}');
SELECT version FROM reframe.train('spiky_m', 'spiky', 'y', options => '{"split_by": "id", "split_seed": 18, "features": ["b"]}');
SELECT version, round((spec #>> '{selection,value}')::numeric, 2) AS own_rows_rmse FROM spiky_m WHERE block = '' ORDER BY version;
SELECT reframe.deploy('spiky_m') AS best_on_same_rows;
SELECT round((reframe.evaluate('spiky_m', 'SELECT * FROM spiky WHERE reframe.split_fraction(id::text, 18) < 0.2')->'metrics'->>'rmse')::numeric, 2)
       AS its_rmse_there;
SELECT reframe.deploy('spiky_m', 2);
SELECT round((reframe.evaluate('spiky_m', 'SELECT * FROM spiky WHERE reframe.split_fraction(id::text, 18) < 0.2')->'metrics'->>'rmse')::numeric, 2)
       AS version_2_there;
SELECT reframe.drop_model('spiky_m');
DROP TABLE spiky;

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

-- "l2": "auto" (the linear family's default): the penalty chosen along a
-- path by 5-fold cross-validation, each row's fold drawn from the low bits
-- of its split draw; on 166 rows of 60 features a fixed 0.0001 overfits
SET client_min_messages = error;   -- (each fold warns that its classes are small)
CREATE TABLE many_features AS
SELECT i AS id, (SELECT array_agg(sin(i * j * 0.37 + j)::float8) FROM generate_series(1, 60) j) AS f
  FROM generate_series(1, 166) i;
ALTER TABLE many_features ADD COLUMN y bool;
UPDATE many_features SET y = f[1] + f[2] - f[3] + 0.5 * sin(id * 9.1) > 0;
SELECT 1 FROM reframe.train('wide_auto', 'SELECT id, f, y FROM many_features', 'y',
                            options => '{"split_by": "id", "exclude": ["id"]}');
SELECT (spec #>> '{training,chosen,l2}')::float8 AS chosen, spec #>> '{training,chosen,method}' AS method,
       spec #> '{metrics,chosen}' = spec #> '{training,chosen}' AS in_the_metrics,
       jsonb_array_length(spec #> '{training,chosen,path}') BETWEEN 4 AND 13 AS path_measured
  FROM wide_auto WHERE block = '';
-- a second method: each penalty's cross-validated log loss from per-fold
-- models trained in SQL on the rows outside the fold, measured on the fold
-- (within 0.5%: the per-fold models standardize the inputs on their own
-- rows, the path on all training rows, and each fit stops at "tol" 1e-4)
CREATE TABLE inner_fold AS
SELECT id, floor((u * 65536 - floor(u * 65536)) * 5)::int AS fold
  FROM (SELECT id, reframe.split_fraction(id::text) AS u FROM many_features) s;
-- the mean over the 5 inner folds of a metric of models trained in SQL on
-- the other folds at penalty l2
CREATE FUNCTION fold_loss(target text, metric text, l2 float8) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE total float8 := 0; loss float8;
BEGIN
  FOR k IN 0..4 LOOP
    PERFORM reframe.train('fold_model', format('SELECT f, %I FROM many_features JOIN inner_fold USING (id) WHERE fold <> %s', target, k),
                          target, options => jsonb_build_object('l2', l2, 'validation', 0));
    EXECUTE format('SELECT reframe.%s(reframe.score(''fold_model'', m), m.%I) FROM many_features m JOIN inner_fold USING (id) WHERE fold = %s',
                   metric, target, k) INTO loss;
    total := total + loss;
    PERFORM reframe.drop_model('fold_model');
  END LOOP;
  RETURN total / 5;
END $$;
CREATE TABLE path_cv AS
SELECT l2, fold_loss('y', 'log_loss', l2) AS cv_loss
  FROM (SELECT (p->>'l2')::float8 AS l2 FROM wide_auto, jsonb_array_elements(spec #> '{training,chosen,path}') p WHERE block = ''
        UNION SELECT 0.0001) x;
WITH cv AS (SELECT * FROM path_cv),
     auto AS (SELECT (p->>'l2')::float8 AS l2, (p->>'loss')::float8 AS auto_loss
                FROM wide_auto, jsonb_array_elements(spec #> '{training,chosen,path}') p WHERE block = '')
SELECT (SELECT l2 FROM cv ORDER BY cv_loss LIMIT 1) = (SELECT (spec #>> '{training,chosen,l2}')::float8 FROM wide_auto WHERE block = '')
       AS same_choice,
       bool_and(abs(auto_loss - cv_loss) < 5e-3 * cv_loss) AS same_losses,
       (SELECT cv_loss FROM cv WHERE l2 = 0.0001) > 2 * (SELECT min(cv_loss) FROM cv) AS fixed_default_overfits
  FROM cv JOIN auto USING (l2);
-- squared loss streams moments: the path is cross-validated from the folds'
-- moments, one Cholesky factorization per penalty; per-fold ridge models
-- trained in SQL give the same losses (within 0.5%, standardized on their
-- own rows: the gap shrinks with the penalty, to 1e-6 at 1e-6)
ALTER TABLE many_features ADD COLUMN z float8;
UPDATE many_features SET z = 2 * f[1] - f[2] + f[3] * f[4] + 0.3 * sin(id * 5.3);
SELECT 1 FROM reframe.train('wide_ridge', 'SELECT id, f, z FROM many_features', 'z',
                            options => '{"split_by": "id", "exclude": ["id"]}');
SELECT spec #>> '{training,solver}' AS solver, spec #>> '{training,chosen,method}' AS method
  FROM wide_ridge WHERE block = '';
CREATE TABLE ridge_cv AS
SELECT (p->>'l2')::float8 AS l2, fold_loss('z', 'rmse', (p->>'l2')::float8) AS cv_loss
  FROM wide_ridge, jsonb_array_elements(spec #> '{training,chosen,path}') p WHERE block = '';
WITH cv AS (SELECT * FROM ridge_cv),
     auto AS (SELECT (p->>'l2')::float8 AS l2, (p->>'loss')::float8 AS auto_loss
                FROM wide_ridge, jsonb_array_elements(spec #> '{training,chosen,path}') p WHERE block = '')
SELECT (SELECT l2 FROM cv ORDER BY cv_loss LIMIT 1) = (SELECT (spec #>> '{training,chosen,l2}')::float8 FROM wide_ridge WHERE block = '')
       AS same_choice,
       bool_and(abs(auto_loss - cv_loss) < 5e-3 * cv_loss) AS same_losses, count(*) AS penalties
  FROM cv JOIN auto USING (l2);
SELECT reframe.drop_model('wide_ridge');
SELECT * FROM reframe.train('bad', 'SELECT f, y FROM many_features', 'y', options => '{"l2": "auto", "hidden": [4]}');
SELECT * FROM reframe.train('bad', 'SELECT f, y FROM many_features', 'y', options => '{"l2": "most"}');
SELECT reframe.drop_model('wide_auto');
DROP TABLE many_features, path_cv, ridge_cv, inner_fold;
DROP FUNCTION fold_loss(text, text, float8);
SET client_min_messages = warning;

-- bad input
SELECT reframe.cross_validate('rentals', 'rent', options => '{"validation": 0.2}');
SELECT reframe.cross_validate('rentals', 'rent', folds => 1);
SELECT reframe.cross_validate('SELECT a, rent FROM rentals WHERE id <= 2', 'rent', folds => 50);
SELECT * FROM reframe.train('bad', 'rentals', 'rent', options => '{"split_by": "nope"}');
SELECT reframe.drop_model(m) FROM unnest(ARRAY['r_id', 'cv_fold_1', 'cv_fold_2', 'cv_fold_3']) m;
DROP TABLE rentals, cv, fold_check;

-- "model": "auto": the linear family (its penalty cross-validated), trees and
-- a small network, cross-validated on the same 5 folds; the best trains the
-- version, and the candidates' figures are kept in its metrics
SET client_min_messages = error;
CREATE TABLE bumps AS SELECT i AS id, sin(i)::float8 AS a, cos(i * 0.3)::float8 AS b FROM generate_series(1, 600) i;
ALTER TABLE bumps ADD COLUMN step float8, ADD COLUMN line float8;
UPDATE bumps SET step = CASE WHEN a > 0.3 AND b < 0 THEN 3 ELSE 0 END + 0.05 * sin(id * 7),
                 line = 2 * a - b + 0.05 * sin(id * 7);
SELECT metrics #>> '{auto,chosen,model}' AS chosen_for_a_step, jsonb_array_length(metrics->'auto'->'candidates') AS candidates
  FROM reframe.train('auto_step', 'SELECT id, a, b, step FROM bumps', 'step', options => '{"model": "auto", "split_by": "id", "exclude": ["id"]}');
SELECT spec #>> '{network,family}' AS family_stored FROM auto_step WHERE block = '';
-- the chosen family is the candidate with the least cross-validated loss
SELECT metrics #>> '{auto,chosen,model}' = (SELECT c->>'model' FROM jsonb_array_elements(metrics->'auto'->'candidates') c
                                      ORDER BY (c->>'loss')::float8 LIMIT 1) AS chosen_is_best
  FROM reframe.train('auto_line', 'SELECT id, a, b, line FROM bumps', 'line', options => '{"model": "auto", "split_by": "id", "exclude": ["id"]}');
-- each candidate's loss is cross_validate's mean selection for its options
-- over the folds it ran: a race, in which a candidate far behind after a
-- fold (2x the best's loss, or 1.5x after two) stops, and once one is left
-- the folds stop
SELECT bool_and(abs((c->>'loss')::float8 -
                    (SELECT avg((f->'selection'->>'value')::float8)
                       FROM jsonb_array_elements(reframe.cross_validate('SELECT id, a, b, step FROM bumps', 'step',
                                options => jsonb_build_object('model', c->>'model', 'split_by', 'id', 'exclude', '["id"]'::jsonb)
                                           || CASE c->>'model' WHEN 'linear' THEN '{"l2": "auto"}'::jsonb
                                                               WHEN 'neural' THEN '{"hidden": [32]}'::jsonb ELSE '{}'::jsonb END)->'folds')
                            WITH ORDINALITY x(f, k)
                      WHERE k <= (c->>'folds')::int)) < 1e-9) AS losses_are_cross_validated,
       string_agg(c->>'model' || ': ' || (c->>'folds'), ', ' ORDER BY c->>'model') AS folds_run,
       max(spec #>> '{metrics,auto,method}') AS method
  FROM auto_step, jsonb_array_elements(spec #> '{metrics,auto,candidates}') c WHERE block = '';
SELECT * FROM reframe.train('bad', 'SELECT a, b, step FROM bumps', 'step', options => '{"model": "auto", "max_depth": 3}');
SELECT reframe.cross_validate('SELECT a, b, step FROM bumps', 'step', options => '{"model": "auto"}');
SELECT reframe.drop_model('auto_step'), reframe.drop_model('auto_line');
DROP TABLE bumps;
SET client_min_messages = warning;
