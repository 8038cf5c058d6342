-- reframe demo: train a house-price model in SQL and score it in a query.
\set ON_ERROR_STOP 1
\pset footer off
SET client_min_messages = warning;
CREATE EXTENSION reframe;

\echo
\echo '== A small, realistic dataset: 5,000 house sales (some ages unknown) =='
CREATE TABLE houses AS
SELECT id,
       sqft,
       bedrooms,
       CASE WHEN id % 17 = 0 THEN NULL ELSE age END AS age,
       round((40000 + 180 * sqft + 9000 * bedrooms - 1100 * age
              + 25000 * (random() - 0.5))::numeric, -2)::float8 AS price
  FROM (SELECT id,
               (600 + random() * 2400)::int::float8 AS sqft,
               (1 + floor(random() * 5))::int AS bedrooms,
               floor(random() * 80)::float8 AS age
          FROM generate_series(1, 5000) id) h;
SELECT * FROM houses ORDER BY id LIMIT 5;

\echo
\echo '== Train: one call. The task is inferred from the target type; 20% is held out. =='
SELECT model, version, task, train_rows, validation_rows,
       round((metrics->'validation'->>'rmse')::numeric, 0) AS validation_rmse,
       round((metrics->'validation'->>'r2')::numeric, 4) AS validation_r2, deployed
  FROM reframe.train('house_price', 'SELECT sqft, bedrooms, age, price FROM houses', 'price');

\echo
\echo '== Score rows by column name (a NULL age is imputed), or arrays in training order =='
SELECT id, sqft, bedrooms, age, price,
       round(reframe.score('house_price', h)::numeric, 0) AS predicted
  FROM houses h ORDER BY id LIMIT 8;
SELECT round(reframe.score('house_price', ARRAY[1500, 3, 20]::float8[])::numeric, 0)
       AS "1500 sqft, 3 bedrooms, 20 years";

\echo
\echo '== Metrics are parallel-safe aggregates usable on any column =='
SELECT round(reframe.rmse(reframe.score('house_price', h), price)::numeric, 0) AS rmse,
       round(reframe.mae(reframe.score('house_price', h), price)::numeric, 0) AS mae,
       round(reframe.r2(reframe.score('house_price', h), price)::numeric, 4) AS r2
  FROM houses h;

\echo
\echo '== The model is a table; its parameters are readable blocks =='
SELECT block, shape, (SELECT array_agg(round(v::numeric, 2)) FROM unnest(data) v) AS data
  FROM reframe.weights('house_price');

\echo
\echo '== Retrain with a new version; deploy it only if its validation RMSE is better =='
SELECT version, deployed FROM reframe.train('house_price', 'SELECT sqft, price FROM houses', 'price',
                                            options => '{"deploy": "if_better"}');
SELECT model, version, task, deployed,
       round((metrics->'validation'->>'rmse')::numeric, 0) AS validation_rmse
  FROM reframe.models ORDER BY version;

\echo
\echo '== Rank: the five houses the model prices highest per square foot =='
SELECT id, sqft, bedrooms, age, round((reframe.score('house_price', h) / sqft)::numeric, 1) AS per_sqft
  FROM houses h ORDER BY reframe.score('house_price', h) / sqft DESC LIMIT 5;
