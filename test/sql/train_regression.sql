-- Regression end to end: models are tables, ridge regression solved exactly,
-- checked against closed forms computed here in SQL.
-- the linear family's framings: without "model" it is trained by this setting (default_model tests the default)
SET reframe.default_model = linear;
CREATE TABLE houses AS
SELECT i AS id,
       (60 + (i * 37) % 190)::float8 AS sqft,
       (1 + (i * 11) % 5)::int AS rooms,
       CASE WHEN i % 9 = 0 THEN NULL ELSE ((i * 13) % 40)::float8 END AS age,
       (900 + 3.1 * (60 + (i * 37) % 190) + 25 * (1 + (i * 11) % 5)
            - 2 * coalesce((i * 13) % 40, 20) + ((i * 7919) % 23 - 11))::float8 AS price
  FROM generate_series(1, 400) i;

-- 1. Two numeric features, ridge penalty 0.01.
SELECT model, version, task, train_rows, validation_rows, deployed
  FROM reframe.train('house2', 'SELECT sqft, rooms, price FROM houses', 'price',
                     options => '{"l2": 0.01, "validation": 0}');

-- The model is an ordinary table holding a header row and parameter blocks.
SELECT version, block, part, shape, deployed, spec->>'task' AS task
  FROM house2 ORDER BY version, block, part;

-- Closed form on standardized features z = (x - mean) / sd (population):
-- (R + l2 I) w = c with R the correlation matrix, c_j = cov(x_j, y) / sd_j,
-- intercept = mean(y).
CREATE TEMP TABLE cf AS
WITH s AS (
  SELECT avg(sqft) AS m1, stddev_pop(sqft) AS s1, avg(rooms) AS m2, stddev_pop(rooms) AS s2,
         corr(sqft, rooms) AS r, covar_pop(sqft, price) / stddev_pop(sqft) AS c1,
         covar_pop(rooms, price) / stddev_pop(rooms) AS c2, avg(price) AS b, 0.01 AS l2
    FROM houses)
SELECT m1, s1, m2, s2, b,
       ((1 + l2) * c1 - r * c2) / ((1 + l2) ^ 2 - r ^ 2) AS w1,
       ((1 + l2) * c2 - r * c1) / ((1 + l2) ^ 2 - r ^ 2) AS w2
  FROM s;

SELECT bool_and(abs(w.data[1] - cf.w1) <= 1e-6 * abs(cf.w1)) AS w_sqft_ok,
       bool_and(abs(w.data[2] - cf.w2) <= 1e-6 * abs(cf.w2)) AS w_rooms_ok
  FROM reframe.weights('house2') w, cf WHERE w.block = 'head.price.weight';
SELECT abs(w.data[1] - cf.b) <= 1e-6 * abs(cf.b) AS intercept_ok
  FROM reframe.weights('house2') w, cf WHERE w.block = 'head.price.bias';
SELECT abs(w.data[1] - cf.m1) < 1e-9 AND abs(w.data[2] - cf.m2) < 1e-9 AS shift_is_mean
  FROM reframe.weights('house2') w, cf WHERE w.block = 'encoder.shift';
SELECT abs(w.data[1] - cf.s1) < 1e-9 AND abs(w.data[2] - cf.s2) < 1e-9 AS scale_is_sd
  FROM reframe.weights('house2') w, cf WHERE w.block = 'encoder.scale';

-- Scores of rows (by column name) and of arrays match the closed form.
SELECT max(abs(reframe.score('house2', h) - pred) / abs(pred)) < 1e-6 AS row_scores_ok,
       max(abs(reframe.score('house2', ARRAY[sqft, rooms]) - pred) / abs(pred)) < 1e-6 AS array_scores_ok,
       max(abs(reframe.score('house2', ARRAY[sqft, rooms]::float4[]) - pred) / abs(pred)) < 1e-6 AS float4_scores_ok
  FROM houses h, cf,
       LATERAL (SELECT cf.b + cf.w1 * (h.sqft - cf.m1) / cf.s1 + cf.w2 * (h.rooms - cf.m2) / cf.s2 AS pred) p;
-- extra columns in the row are ignored; column order does not matter
SELECT round(reframe.score('house2', r)::numeric, 6) = round(reframe.score('house2', ARRAY[100, 3]::float8[])::numeric, 6) AS by_name
  FROM (SELECT 3 AS rooms, 'x'::text AS note, 100.0::float8 AS sqft) r;
SELECT reframe.predict('house2', ARRAY[100, 3]::float8[])::float8 = reframe.score('house2', ARRAY[100, 3]::float8[]) AS predict_is_value;

-- 2. Ordinary least squares (l2 = 0) on one feature equals regr_slope/regr_intercept.
SELECT version FROM reframe.train('ols', 'SELECT sqft, price FROM houses', 'price',
                                  options => '{"l2": 0}');
SELECT abs(reframe.score('ols', ARRAY[0]::float8[]) - regr_intercept(price, sqft))
           <= 1e-6 * abs(regr_intercept(price, sqft)) AS intercept_ok,
       abs(reframe.score('ols', ARRAY[1]::float8[]) - reframe.score('ols', ARRAY[0]::float8[])
           - regr_slope(price, sqft)) <= 1e-6 * abs(regr_slope(price, sqft)) AS slope_ok
  FROM houses;

-- 3. NULLs are imputed with the training mean plus a missing indicator. The
-- fit must satisfy the ridge optimality conditions on the encoded columns:
-- mean(residual) = 0 and mean(residual * e_j) = l2 * w_j for every column j.
SELECT version FROM reframe.train('house_age', 'SELECT sqft, age, price FROM houses', 'price',
                                  options => '{"l2": 0.05}');
SELECT spec->'encoder'->'columns' AS encoder_columns FROM house_age WHERE block = '';
CREATE TEMP TABLE enc AS
SELECT h.price - reframe.score('house_age', h) AS resid,
       (h.sqft - s.m1) / s.s1 AS e_sqft,
       coalesce((h.age - s.m2) / s.s2, 0) AS e_age,
       (h.age IS NULL)::int AS e_missing
  FROM houses h,
       (SELECT avg(sqft) m1, stddev_pop(sqft) s1, avg(age) m2, stddev_pop(age) s2 FROM houses) s;
SELECT abs(avg(resid)) < 1e-8 AS intercept_condition,
       abs(avg(resid * e_sqft) - 0.05 * w.data[1]) < 1e-8 AS sqft_condition,
       abs(avg(resid * e_age) - 0.05 * w.data[2]) < 1e-8 AS age_condition,
       abs(avg(resid * e_missing) - 0.05 * w.data[3]) < 1e-8 AS missing_condition
  FROM enc, reframe.weights('house_age') w WHERE w.block = 'head.price.weight'
 GROUP BY w.data;
-- a NULL at scoring time is imputed the same way: the mean plus the indicator's weight
SELECT abs(reframe.score('house_age', n) - reframe.score('house_age', m) - w.data[3]) < 1e-9 AS null_imputed
  FROM (SELECT 150.0::float8 AS sqft, NULL::float8 AS age) n,
       (SELECT 150.0::float8 AS sqft, avg(age) AS age FROM houses) m,
       reframe.weights('house_age') w
 WHERE w.block = 'head.price.weight';

-- 4. Array features: a float8[] column trains like the same numbers as columns.
CREATE TABLE houses_arr AS SELECT ARRAY[sqft, rooms] AS x, price FROM houses;
SELECT version FROM reframe.train('house_arr', 'houses_arr', 'price',
                                  options => '{"l2": 0.01, "validation": 0}');
SELECT max(abs(reframe.score('house_arr', a) - reframe.score('house2', ARRAY[h.sqft, h.rooms]))) < 1e-8 AS same_model
  FROM houses_arr a JOIN houses h ON a.x = ARRAY[h.sqft, h.rooms] AND a.price = h.price;
SELECT round(reframe.score('house_arr', ARRAY[100, 3]::float4[])::numeric, 6)
     = round(reframe.score('house2', ARRAY[100, 3]::float8[])::numeric, 6) AS float4_ok;
-- float4[] columns train too
CREATE TABLE houses_f4 AS SELECT x::float4[] AS x, price FROM houses_arr;
SELECT train_rows FROM reframe.train('house_f4', 'houses_f4', 'price');

-- 5. Versions, deployment and the registry.
SELECT version, deployed FROM reframe.train('house2', 'SELECT sqft, rooms, price FROM houses WHERE id <= 200', 'price');
SELECT model, version, task, deployed, metrics->'training'->>'rows' AS rows
  FROM reframe.models WHERE model = 'house2' ORDER BY version;
CREATE TEMP TABLE v2 AS SELECT reframe.score('house2', ARRAY[120, 2]::float8[]) AS s;
SELECT reframe.deploy('house2', 1);
SELECT abs(reframe.score('house2', ARRAY[120, 2]::float8[]) -
           (SELECT cf.b + cf.w1 * (120 - cf.m1) / cf.s1 + cf.w2 * (2 - cf.m2) / cf.s2 FROM cf)) < 1e-6 AS scores_with_v1;
SELECT reframe.deploy('house2', 2);
SELECT reframe.score('house2', ARRAY[120, 2]::float8[]) = s AS scores_with_v2 FROM v2;
SELECT block, shape FROM reframe.weights('house2', 1) ORDER BY block;
-- "model@version" scores with that version, deployed or not
SELECT abs(reframe.score('house2@1', ARRAY[120, 2]::float8[]) -
           (SELECT cf.b + cf.w1 * (120 - cf.m1) / cf.s1 + cf.w2 * (2 - cf.m2) / cf.s2 FROM cf)) < 1e-6 AS v1_by_name,
       reframe.score('house2@2', ARRAY[120, 2]::float8[]) = s AS v2_by_name,
       reframe.score('public.house2@1', ARRAY[120, 2]::float8[]) = reframe.score('house2@1', ARRAY[120, 2]::float8[]) AS qualified
FROM v2;
SELECT reframe.score('house2@7', ARRAY[120, 2]::float8[]);
SELECT reframe.score('"house2@1"', ARRAY[120, 2]::float8[]);
-- "never" keeps the deployed version
SELECT version, deployed FROM reframe.train('house2', 'SELECT sqft, rooms, price FROM houses', 'price',
                                            options => '{"deploy": "never"}');
SELECT version FROM reframe.models WHERE model = 'house2' AND deployed;
-- "if_better" deploys only a version whose validation RMSE beats the deployed one's
SELECT version, deployed FROM reframe.train('house_v', 'houses', 'price',
       options => '{"validation": 0.3, "exclude": ["id"], "deploy": "if_better"}');
SELECT version, deployed FROM reframe.train('house_v', 'SELECT sqft, price FROM houses', 'price',
       options => '{"validation": 0.3, "deploy": "if_better"}');
SELECT version, deployed FROM reframe.models WHERE model = 'house_v' ORDER BY version;
-- deploy(model) with no version picks the best on the same rows (version 1's
-- validation rows: version 2's lack "rooms")
SELECT reframe.deploy('house_v');

-- 6. Schema-qualified model names resolve like table names.
CREATE SCHEMA ml;
SELECT model, version FROM reframe.train('ml.price', 'public.houses', 'price',
                                         options => '{"features": ["sqft", "rooms"], "l2": 0.01, "validation": 0}');
SELECT count(*) AS header_rows FROM ml.price WHERE block = '';
SELECT abs(reframe.score('ml.price', ARRAY[100, 3]::float8[]) -
           (cf.b + cf.w1 * (100 - cf.m1) / cf.s1 + cf.w2 * (3 - cf.m2) / cf.s2)) < 1e-6 AS same_fit
  FROM cf;

-- 7. A training that fails or is rolled back leaves no trace.
SELECT * FROM reframe.train('ghost', 'houses', 'no_such_column');
SELECT to_regclass('ghost') AS ghost_table;
BEGIN;
SELECT version FROM reframe.train('ghost', 'SELECT sqft, price FROM houses', 'price');
SELECT version FROM reframe.train('house2', 'SELECT sqft, rooms, price FROM houses', 'price');
ROLLBACK;
SELECT to_regclass('ghost') AS ghost_table;
SELECT max(version) AS latest, (SELECT version FROM reframe.models WHERE model = 'house2' AND deployed) AS deployed
  FROM reframe.models WHERE model = 'house2';
SELECT reframe.score('house2', ARRAY[120, 2]::float8[]) = s AS still_v2 FROM v2;

-- 8. drop_model removes the model and its table.
SELECT reframe.drop_model('house_f4');
SELECT to_regclass('house_f4') AS dropped;
SELECT count(*) AS models_left FROM (SELECT DISTINCT model FROM reframe.models) m;

DROP SCHEMA ml CASCADE;
DROP TABLE houses, houses_arr, houses_f4, house2, ols, house_age, house_arr, house_v;
