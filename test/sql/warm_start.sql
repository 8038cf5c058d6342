-- "warm_start": a new version continues the deployed one on the rows of a
-- source: trees by XGBoost's continued training (test/production/warm_start.sh
-- checks them against xgb.train(..., xgb_model=...)), linear and neural
-- networks from its weights, with its encoder, heads and options
SET client_min_messages = warning;
CREATE TABLE w AS
SELECT i, sin(i)::float8 AS a, cos(i * 0.37)::float8 AS b, CASE WHEN i % 7 = 0 THEN NULL ELSE (i % 13)::float8 END AS c,
       (ARRAY['red', 'green', 'blue'])[1 + i % 3] AS colour,
       (3 * sin(i) ^ 2 + cos(i * 0.37) + (i % 13 > 6)::int + CASE WHEN i > 2000 THEN 0.5 * cos(i * 0.37) ELSE 0 END)::float8 AS y
FROM generate_series(1, 5000) i;
ALTER TABLE w ADD COLUMN yes bool, ADD COLUMN k text;
UPDATE w SET yes = y > 2, k = CASE WHEN y < 1.5 THEN 'low' WHEN y < 3 THEN 'mid' ELSE 'high' END;
-- the later rows bring a colour the first never had
UPDATE w SET colour = 'violet' WHERE i > 2000 AND i % 5 = 0;
CREATE VIEW w_old AS SELECT a, b, c, colour, y, yes, k FROM w WHERE i <= 2000;
CREATE VIEW w_new AS SELECT a, b, c, colour, y, yes, k FROM w WHERE i > 2000 AND i <= 4000;

-- trees: the rounds asked for added to the deployed forest, under its options
SELECT version, train_rows, iterations FROM reframe.train('w_trees', 'SELECT a, b, c, colour, yes FROM w_old', 'yes',
       options => '{"model": "trees", "rounds": 10, "max_depth": 4, "validation": 0}');
SELECT version, train_rows, iterations FROM reframe.train('w_trees', 'SELECT a, b, c, colour, yes FROM w_new', 'yes',
       options => '{"warm_start": true}');
SELECT version, spec->'options' AS options, spec #> '{training,warm_start}' AS warm_start, spec #>> '{training,solver}' AS solver,
       spec->'encoder' = (SELECT spec->'encoder' FROM w_trees WHERE block = '' AND version = 1) AS its_encoder
FROM w_trees WHERE block = '' ORDER BY version;
-- the old trees are kept whole, the new ones follow them
SELECT (SELECT data[1:7 * 23] FROM w_trees WHERE version = 2 AND block = 'trees.nodes' AND part = 0)
     = (SELECT data[1:7 * 23] FROM w_trees WHERE version = 1 AND block = 'trees.nodes' AND part = 0) AS first_tree_kept,
       (SELECT shape[1] FROM w_trees WHERE version = 2 AND block = 'trees.index') AS trees;
-- the colour it never saw scores as any unseen category: the encoder's "other" slot
SELECT reframe.score('w_trees', ROW(0.5, 0.2, 3.0, 'violet'::text)) = reframe.score('w_trees', ROW(0.5, 0.2, 3.0, 'never seen'::text))
       AS violet_is_other;

-- a linear model starts from the deployed weights: the cold fit's loss on
-- the new rows in fewer iterations
SELECT version, iterations FROM reframe.train('w_lin', 'SELECT a, b, c, colour, yes FROM w_old', 'yes',
       options => '{"model": "linear", "l2": 0.001, "validation": 0}');
CREATE TABLE fits AS
SELECT 'warm' AS start, t.* FROM reframe.train('w_lin', 'SELECT a, b, c, colour, yes FROM w_new', 'yes', options => '{"warm_start": true}') t;
INSERT INTO fits
SELECT 'cold', t.* FROM reframe.train('w_lin_cold', 'SELECT a, b, c, colour, yes FROM w_new', 'yes',
                                        options => '{"model": "linear", "l2": 0.001, "validation": 0}') t;
SELECT w.iterations < c.iterations AS fewer_iterations, w.train_loss <= c.train_loss + 1e-6 AS same_loss,
       w.iterations AS warm, c.iterations AS cold
FROM fits w, fits c WHERE w.start = 'warm' AND c.start = 'cold';
-- a network too, and a regression head (standardized again from the new rows)
SELECT version FROM reframe.train('w_net', 'SELECT a, b, c, y FROM w_old', 'y', options => '{"model": "neural", "hidden": [8], "validation": 0}');
CREATE TABLE nets AS
SELECT 'warm' AS start, t.* FROM reframe.train('w_net', 'SELECT a, b, c, y FROM w_new', 'y', options => '{"warm_start": true}') t;
INSERT INTO nets
SELECT 'cold', t.* FROM reframe.train('w_net_cold', 'SELECT a, b, c, y FROM w_new', 'y',
                                        options => '{"model": "neural", "hidden": [8], "validation": 0}') t;
SELECT w.iterations < c.iterations AS fewer_iterations, w.train_loss <= c.train_loss AS lower_loss
FROM nets w, nets c WHERE w.start = 'warm' AND c.start = 'cold';
-- one statement that trains a version and continues it sees no deployed version yet
SELECT t.version FROM reframe.train('w_same', 'SELECT a, b, yes FROM w_old', 'yes', options => '{"model": "linear"}') t0,
       LATERAL reframe.train('w_same', 'SELECT a, b, yes FROM w_new', 'yes', options => '{"warm_start": true}') t;
-- the penalty "l2": "auto" chose is the one kept
SELECT version FROM reframe.train('w_auto', 'SELECT a, b, c, yes FROM w_old', 'yes', options => '{"model": "linear"}');
SELECT version FROM reframe.train('w_auto', 'SELECT a, b, c, yes FROM w_new', 'yes', options => '{"warm_start": true}');
SELECT (SELECT spec #> '{options,l2}' FROM w_auto WHERE block = '' AND version = 2)
     = (SELECT spec #> '{metrics,chosen,l2}' FROM w_auto WHERE block = '' AND version = 1) AS chosen_l2_kept;
-- reframe.retrain continues too
SELECT reframe.retrain('w_trees', 'SELECT a, b, c, colour, yes FROM w WHERE i > 4000', '{"warm_start": true, "rounds": 5}') AS retrained;
SELECT (SELECT shape[1] FROM w_trees WHERE version = 3 AND block = 'trees.index') AS trees_after_retrain;

-- what a warm start refuses, naming what is at fault; nothing is written
SELECT * FROM reframe.train('w_trees', 'SELECT a, b, colour, yes FROM w_new', 'yes', options => '{"warm_start": true}');
SELECT * FROM reframe.train('w_trees', 'SELECT a, b, c, colour, y AS extra, yes FROM w_new', 'yes', options => '{"warm_start": true}');
SELECT * FROM reframe.train('w_trees', 'SELECT a, b, c::text AS c, colour, yes FROM w_new', 'yes', options => '{"warm_start": true}');
SELECT * FROM reframe.train('w_trees', 'SELECT a, b, c, colour, yes FROM w_new', 'yes', options => '{"warm_start": true, "model": "linear"}');
SELECT * FROM reframe.train('w_trees', 'SELECT a, b, c, colour, yes FROM w_new', 'yes', options => '{"warm_start": true, "search": {"max_depth": [2, 3]}}');
SELECT * FROM reframe.train('w_net', 'SELECT a, b, c, y FROM w_new', 'y', options => '{"warm_start": true, "hidden": [4]}');
SELECT * FROM reframe.train('no_such_model', 'SELECT a, b, c, yes FROM w_new', 'yes', options => '{"warm_start": true}');
SELECT reframe.cross_validate('SELECT a, b, c, colour, yes FROM w_new', 'yes', options => '{"model": "trees", "warm_start": true}');
-- classes the deployed version did not have (or lacks) are another framing
SELECT version FROM reframe.train('w_k', 'SELECT a, b, c, k FROM w_old WHERE k <> ''high''', 'k', options => '{"model": "trees", "rounds": 5}');
SELECT * FROM reframe.train('w_k', 'SELECT a, b, c, k FROM w_new', 'k', options => '{"warm_start": true}');
-- a framing XGBoost has no objective for
SELECT version FROM reframe.train('w_multi', 'SELECT a, b, c, y, yes FROM w_old', 'y,yes', 'multitask', '{"model": "trees", "rounds": 5}');
SELECT * FROM reframe.train('w_multi', 'SELECT a, b, c, y, yes FROM w_new', 'y,yes', 'multitask', '{"warm_start": true}');
-- a blend, and a model without a deployed version
SELECT reframe.create_blend('w_blend', '{"w_trees": 1}');
SELECT * FROM reframe.train('w_blend', 'SELECT a, b, c, colour, yes FROM w_new', 'yes', options => '{"warm_start": true}');
SELECT version, deployed FROM reframe.train('w_never', 'SELECT a, b, c, yes FROM w_old', 'yes', options => '{"model": "linear", "deploy": "never"}');
SELECT * FROM reframe.train('w_never', 'SELECT a, b, c, yes FROM w_new', 'yes', options => '{"warm_start": true}');
SELECT * FROM reframe.train('w_trees', 'w_new', 'yes', options => '{"warm_start": "yes"}');
-- a warm start needs the rights training needs, and to read the version it continues
CREATE ROLE regress_warm;
GRANT SELECT ON w TO regress_warm;
GRANT SELECT ON w_new TO regress_warm;
SET ROLE regress_warm;
SELECT * FROM reframe.train('w_trees', 'SELECT a, b, c, colour, yes FROM w_new', 'yes', options => '{"warm_start": true}');
RESET ROLE;
GRANT SELECT ON w_trees TO regress_warm;
SET ROLE regress_warm;
SELECT * FROM reframe.train('w_trees', 'SELECT a, b, c, colour, yes FROM w_new', 'yes', options => '{"warm_start": true}');
RESET ROLE;
REVOKE ALL ON w, w_new, w_trees FROM regress_warm;
DROP ROLE regress_warm;
SELECT version, count(*) AS rows FROM w_trees GROUP BY version ORDER BY version;

SELECT count(reframe.drop_model(m)) FROM unnest(ARRAY['w_trees', 'w_lin', 'w_lin_cold', 'w_net', 'w_net_cold', 'w_auto', 'w_k', 'w_multi', 'w_blend', 'w_never']) m;
DROP TABLE fits, nets;
DROP VIEW w_old, w_new;
DROP TABLE w;
