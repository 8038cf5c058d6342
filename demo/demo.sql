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

\echo
\echo '== Other framings of the same data, each one call =='
\echo '-- binary: is a house priced above 400,000? (a boolean target frames it)'
SELECT task, round((metrics->'validation'->>'accuracy')::numeric, 3) AS validation_accuracy,
       round((metrics->'validation'->>'roc_auc')::numeric, 3) AS validation_auc
  FROM reframe.train('pricey', 'SELECT sqft, bedrooms, age, price > 400000 AS pricey FROM houses', 'pricey');
\echo '-- bucketed regression: the price as one of four quartile buckets, with an expected value'
SELECT task, round((metrics #>> '{validation,accuracy}')::numeric, 3) AS validation_accuracy
  FROM reframe.train('price_band', 'SELECT sqft, bedrooms, age, price FROM houses', 'price',
                     options => '{"bins": {"quantiles": 4}}');
SELECT reframe.classes('price_band') AS buckets;
SELECT id, price, reframe.predict('price_band', h) AS band,
       round(reframe.score('price_band', h)::numeric, -3) AS expected
  FROM houses h ORDER BY id LIMIT 4;
\echo '-- multitask: price and a set of tags from one shared hidden trunk'
CREATE TABLE listings AS
SELECT id, sqft, bedrooms, age, price,
       array_remove(ARRAY[CASE WHEN sqft > 2200 THEN 'spacious' END,
                          CASE WHEN bedrooms >= 4 THEN 'family' END,
                          CASE WHEN age < 10 THEN 'new build' END], NULL) AS tags
  FROM houses;
SELECT task, train_rows, round((metrics #>> '{validation,tags,micro_f1}')::numeric, 3) AS tags_micro_f1
  FROM reframe.train('listing', 'SELECT sqft, bedrooms, age, price, tags FROM listings', 'price,tags',
                     options => '{"hidden": [32], "epochs": 40, "seed": 1}');
SELECT id, tags, reframe.predict_labels('listing', l, output => 'tags') AS predicted_tags,
       round(reframe.score('listing', l, 'price')::numeric, -3) AS predicted_price
  FROM listings l ORDER BY id LIMIT 5;
SELECT jsonb_pretty(reframe.predict_all('listing', l)) AS "every head from one pass"
  FROM listings l WHERE id = 1;
