-- Class weights fit the weighted data, whose probabilities overstate the
-- heavier class (q_k proportional to w_k p_k); reframe shifts the raw
-- outputs by -log w_k, so that scores are probabilities of the data, and
-- keeps the weighted model's decisions.  Second method: with 3 negatives
-- per positive, "balanced" weighs positives 2 and negatives 2/3, and the
-- weighted mean loss equals the unweighted mean loss of the data with every
-- positive written three times (unpenalized, so that the two fits' different
-- standardizations do not matter; within 1e-6: a tolerance below 1e-4
-- runs a linear model's objective in double precision).
-- the linear family's framings: without "model" it is trained by this setting (default_model tests the default)
SET reframe.default_model = linear;
SET client_min_messages = warning;
CREATE TABLE rare AS
SELECT i, sin(i * 0.7)::float8 AS a, cos(i * 1.3)::float8 AS b,
       (i % 4 = 0 AND sin(i * 0.7) > -0.3) OR (i % 4 <> 0 AND sin(i * 0.7) + cos(i * 1.3) > 1.2 AND i % 4 = 1) AS y
  FROM generate_series(1, 800) i;
-- make the split exactly 3 : 1
DELETE FROM rare WHERE i IN (SELECT i FROM rare WHERE y ORDER BY i OFFSET (SELECT count(*) / 3 FROM rare WHERE NOT y));
DELETE FROM rare WHERE i IN (SELECT i FROM rare WHERE NOT y ORDER BY i OFFSET 3 * (SELECT count(*) FROM rare WHERE y));
SELECT count(*) FILTER (WHERE NOT y) AS negatives, count(*) FILTER (WHERE y) AS positives FROM rare;
SELECT 1 FROM reframe.train('weighted', 'SELECT a, b, y FROM rare', 'y',
                            options => '{"class_weight": "balanced", "l2": 0, "validation": 0, "tol": 1e-10, "max_iter": 1000}');
SELECT 1 FROM reframe.train('tripled', 'SELECT a, b, y FROM rare CROSS JOIN generate_series(1, 3) k WHERE y OR k = 1', 'y',
                            options => '{"l2": 0, "validation": 0, "tol": 1e-10, "max_iter": 1000}');
-- the score is the weighted model's probability with its odds divided by 3
SELECT max(abs(reframe.score('weighted', r) -
               1 / (1 + exp(-(ln(reframe.score('tripled', r) / (1 - reframe.score('tripled', r))) - ln(3)))))) < 1e-6 AS calibrated,
       bool_and(reframe.predict('weighted', r)::bool = (reframe.score('tripled', r) >= 0.5)) AS same_decisions,
       round(avg(reframe.score('weighted', r))::numeric, 2) AS mean_score, round(avg(y::int)::numeric, 2) AS prior,
       round(avg(reframe.score('tripled', r))::numeric, 2) AS weighted_mean
  FROM rare r;
SELECT spec #>> '{network,heads,0,threshold}' AS threshold FROM weighted WHERE block = '';

-- multiclass: 100, 200, 200 rows weigh 5/3, 5/6, 5/6 ("balanced"), the
-- first class written twice; p_k is q_k / w_k renormalized, and the
-- prediction is the argmax of w_k p_k
CREATE TABLE three AS
SELECT i, sin(i * 0.7)::float8 AS a, cos(i * 1.3)::float8 AS b,
       CASE WHEN i <= 100 THEN 'rare' WHEN i <= 300 THEN 'mid' ELSE 'common' END AS c
  FROM generate_series(1, 500) i;
UPDATE three SET a = a + CASE c WHEN 'rare' THEN 0.8 WHEN 'mid' THEN 0 ELSE -0.5 END;
SELECT 1 FROM reframe.train('weighted3', 'SELECT a, b, c FROM three', 'c',
                            options => '{"class_weight": "balanced", "l2": 0, "validation": 0, "tol": 1e-10, "max_iter": 1000}');
SELECT 1 FROM reframe.train('doubled3', 'SELECT a, b, c FROM three CROSS JOIN generate_series(1, 2) k WHERE c = ''rare'' OR k = 1', 'c',
                            options => '{"l2": 0, "validation": 0, "tol": 1e-10, "max_iter": 1000}');
SELECT reframe.classes('weighted3') = reframe.classes('doubled3') AS same_classes;
WITH w AS (SELECT CASE k WHEN 'rare' THEN 5 / 3.0 ELSE 5 / 6.0 END AS w, k, o FROM unnest(reframe.classes('weighted3')) WITH ORDINALITY u(k, o)),
     s AS (SELECT r.i, reframe.predict_proba('weighted3', r) AS p, reframe.predict_proba('doubled3', r) AS q,
                  reframe.predict('weighted3', r) AS predicted FROM three r)
SELECT max(abs(s.p[w.o] - s.q[w.o] / w.w / (SELECT sum(s.q[x.o] / x.w) FROM w x))) < 1e-6 AS calibrated,
       bool_and(s.predicted = (SELECT k FROM w x ORDER BY s.q[x.o] DESC LIMIT 1)) AS same_decisions
  FROM s, w;
SELECT round(avg((reframe.predict_proba('weighted3', r))[(SELECT o FROM unnest(reframe.classes('weighted3')) WITH ORDINALITY u(k, o) WHERE k = 'rare')])::numeric, 2)
       AS mean_rare_score, 0.2 AS rare_share FROM three r;

-- trees and networks take the same shift
SELECT 1 FROM reframe.train('weighted_trees', 'SELECT a, b, y FROM rare', 'y',
                            options => '{"model": "trees", "class_weight": "balanced", "validation": 0, "rounds": 30}');
SELECT 1 FROM reframe.train('weighted_net', 'SELECT a, b, y FROM rare', 'y',
                            options => '{"hidden": [8], "class_weight": "balanced", "validation": 0}');
SELECT round(avg(reframe.score('weighted_trees', r))::numeric, 2) AS trees_mean,
       round(avg(reframe.score('weighted_net', r))::numeric, 2) AS network_mean, round(avg(y::int)::numeric, 2) AS prior,
       max(abs((reframe.explain('weighted_trees', r)->>'base')::float8
               + (SELECT sum(value::float8) FROM jsonb_each_text(reframe.explain('weighted_trees', r)->'contributions'))
               - ln(reframe.score('weighted_trees', r) / (1 - reframe.score('weighted_trees', r))))) < 1e-4 AS trees_explained
  FROM rare r;
SELECT reframe.drop_model(m) FROM unnest(ARRAY['weighted', 'tripled', 'weighted3', 'doubled3', 'weighted_trees', 'weighted_net']) m;
DROP TABLE rare, three;
