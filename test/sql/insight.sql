-- Insight: reframe.explain (why one row scores what it scores) and
-- reframe.importance (which columns a model relies on), checked against the
-- stored parameter blocks read in SQL.
-- the linear family's framings: without "model" it is trained by this setting (default_model tests the default)
SET reframe.default_model = linear;
SET client_min_messages = warning;
CREATE TABLE shop AS
SELECT i, sin(i)::float8 AS price, cos(i * 0.7)::float8 AS rating, CASE WHEN i % 9 = 0 THEN NULL ELSE (i % 5)::float8 END AS stock,
       (ARRAY['book', 'toy', 'food'])[1 + i % 3] AS kind
  FROM generate_series(1, 1200) i;
ALTER TABLE shop ADD COLUMN sales float8, ADD COLUMN sold bool;
UPDATE shop SET sales = 3 * price - 2 * rating ^ 2 + coalesce(stock, 2) * 0.5 + (kind = 'toy')::int + sin(i * 13) * 0.1,
                sold = 3 * price - rating + (kind = 'toy')::int > 0.5;

-- 1. linear: each column's contribution is its coefficient times its
--    standardized value, read from the blocks; base + contributions = score
SELECT 1 FROM reframe.train('lin', 'SELECT price, rating, stock, kind, sales FROM shop', 'sales', options => '{"validation": 0}');
WITH w AS (SELECT (SELECT data FROM reframe.weights('lin') WHERE block = 'head.sales.weight') AS w,
                  (SELECT data FROM reframe.weights('lin') WHERE block = 'encoder.shift') AS shift,
                  (SELECT data FROM reframe.weights('lin') WHERE block = 'encoder.scale') AS scale)
SELECT max(abs((e->'contributions'->>'price')::float8 - w[1] * (price - shift[1]) / scale[1])) < 1e-12 AS price_term,
       max(abs((e->'contributions'->>'rating')::float8 - w[2] * (rating - shift[2]) / scale[2])) < 1e-12 AS rating_term,
       max(abs((e->>'base')::float8 + (SELECT sum(value::float8) FROM jsonb_each_text(e->'contributions'))
               - reframe.score('lin', s))) < 1e-9 AS adds_up_to_score
  FROM shop s, w, LATERAL (SELECT reframe.explain('lin', s) AS e) x;
SELECT jsonb_object_keys(reframe.explain('lin', s)->'contributions') AS columns FROM shop s WHERE i = 9;

-- 2. trees: TreeSHAP adds up to the margin (a binary model's logit), within
--    single precision, in which trees sum their leaves
SELECT 1 FROM reframe.train('forest', 'SELECT price, rating, stock, kind, sold FROM shop', 'sold', options => '{"model": "trees"}');
SELECT max(abs((e->>'base')::float8 + (SELECT sum(value::float8) FROM jsonb_each_text(e->'contributions'))
               - ln(p / (1 - p)))) < 1e-5 AS adds_up_to_logit,
       max(abs((e->>'margin')::float8 - ln(p / (1 - p)))) < 1e-5 AS margin_is_logit,
       count(DISTINCT (e->>'base')::float8) AS one_base
  FROM shop s, LATERAL (SELECT reframe.explain('forest', s) AS e, reframe.score('forest', s) AS p) x;
-- a column the trees never split on contributes nothing
SELECT 1 FROM reframe.train('forest2', 'SELECT price, rating, i % 2 = 0 AS noise, sold FROM shop', 'sold',
                            options => '{"model": "trees", "max_depth": 2, "rounds": 5}');
SELECT bool_and((reframe.explain('forest2', s)->'contributions'->>'noise')::float8 = 0) = (imp = 0) AS unused_means_zero
  FROM (SELECT price, rating, i % 2 = 0 AS noise FROM shop) s,
       (SELECT importance AS imp FROM reframe.importance('forest2') WHERE feature = 'noise') i GROUP BY imp;

-- 3. multiclass: a class's logit, named by output
SELECT 1 FROM reframe.train('kinds', 'SELECT price, rating, kind FROM shop', 'kind', options => '{"model": "trees", "rounds": 10}');
SELECT e->>'output' AS output, abs((e->>'base')::float8 + (SELECT sum(value::float8) FROM jsonb_each_text(e->'contributions'))
                                   - (e->>'margin')::float8) < 1e-9 AS adds_up
  FROM shop s, LATERAL (SELECT reframe.explain('kinds', s, 'toy') AS e) x WHERE i = 4;
SELECT reframe.explain('kinds', s) FROM shop s WHERE i = 4;

-- 4. networks: occlusion, with the remainder as interactions; all of it adds up
SELECT 1 FROM reframe.train('net', 'SELECT price, rating, stock, kind, sales FROM shop', 'sales',
                            options => '{"hidden": [8], "epochs": 20, "validation": 0}');
SELECT max(abs((e->>'base')::float8 + (SELECT sum(value::float8) FROM jsonb_each_text(e->'contributions'))
               + coalesce((e->>'interactions')::float8, 0) - reframe.score('net', s))) < 1e-9 AS adds_up_with_interactions
  FROM shop s, LATERAL (SELECT reframe.explain('net', s) AS e) x;

-- 5. importance: a linear model's numbers are their standardized
--    coefficients (read from the blocks); a category the spread of its values'
--    coefficients; shares add up to 1, most important first
SELECT feature, round(share::numeric, 3) AS share, by_value IS NOT NULL AS per_value FROM reframe.importance('lin');
SELECT abs(imp - abs((SELECT data[1] FROM reframe.weights('lin') WHERE block = 'head.sales.weight'))) < 1e-12 AS price_is_its_coefficient
  FROM (SELECT importance AS imp FROM reframe.importance('lin') WHERE feature = 'price') x;
-- (slots: price, rating, stock, stock's missing indicator, then kind's values)
WITH w AS (SELECT data[5:7] AS v FROM reframe.weights('lin') WHERE block = 'head.sales.weight')
SELECT abs(imp - (SELECT sqrt(avg((x - m) ^ 2)) FROM unnest(v) x, (SELECT avg(y) AS m FROM unnest(v) y) a)) < 1e-12 AS kind_is_spread
  FROM w, (SELECT importance AS imp FROM reframe.importance('lin') WHERE feature = 'kind') i;
SELECT abs(sum(share) - 1) < 1e-12 AS shares_add_up FROM reframe.importance('lin');
-- trees: the total gain of the splits on a column, summed in SQL over the blocks
WITH nodes AS (SELECT data[n] AS feature, data[n + 6] AS gain
                 FROM reframe.weights('forest'), generate_subscripts(data, 1) n
                WHERE block = 'trees.nodes' AND (n - 1) % 8 = 0)
SELECT bool_and(abs(i.importance - g.gain) < 1e-6 * g.gain) AS gains_agree, count(*) AS columns
  FROM reframe.importance('forest') i
  JOIN (SELECT CASE feature WHEN 0 THEN 'price' WHEN 1 THEN 'rating' WHEN 2 THEN 'stock' ELSE 'kind' END AS feature, sum(gain) AS gain
          FROM nodes WHERE feature >= 0 GROUP BY 1) g USING (feature);
SELECT feature FROM reframe.importance('forest') LIMIT 1;
-- an older version, by number
SELECT 1 FROM reframe.train('lin', 'SELECT price, rating, sales FROM shop', 'sales');
SELECT count(*) AS version_2_columns FROM reframe.importance('lin');
SELECT count(*) AS version_1_columns FROM reframe.importance('lin', 1);

-- 6. bad input
SELECT * FROM reframe.importance('lin', 99);
-- networks: permutation importance, measured at training time on held-out rows
SELECT feature FROM reframe.importance('net') LIMIT 1;
SELECT abs(sum(share) - 1) < 1e-12 AS net_shares_add_up, bool_and(importance >= 0) AS non_negative
  FROM reframe.importance('net');
SELECT * FROM reframe.importance('no_such_model');
SELECT reframe.create_blend('mix', '{"lin": 1, "forest": 1}');
SELECT reframe.explain('mix', s) FROM shop s WHERE i = 1;
SELECT reframe.explain('lin', ARRAY[1.0]::float8[]);
SELECT reframe.explain('kinds', s, 'no_such_class') FROM shop s WHERE i = 1;

-- leave no models behind for the suites that count them
SELECT count(reframe.drop_model(m)) AS dropped FROM unnest(ARRAY['lin', 'forest', 'forest2', 'kinds', 'net', 'mix']) m;

-- global explanation: the mean |contribution| per column over a query, as
-- the same average taken in SQL over reframe.explain
SET client_min_messages = warning;
SELECT 1 FROM reframe.train('glob', 'SELECT price, rating, kind, sold FROM shop', 'sold', options => '{"model": "trees", "rounds": 20}');
SELECT feature, rows FROM reframe.explain_all('glob', 'SELECT * FROM shop WHERE i <= 300');
SELECT bool_and(abs(g.mean_abs_contribution - s.m) < 1e-12) AS global_is_mean_abs
  FROM reframe.explain_all('glob', 'shop') g
  JOIN (SELECT key AS feature, avg(abs(value::float8)) AS m
          FROM shop s, jsonb_each_text(reframe.explain('glob', s)->'contributions') GROUP BY key) s USING (feature);
SELECT reframe.drop_model('glob');
