-- Regression reframed as classification: a numeric target with "bins"
-- trains a multiclass head over buckets; score is the expected value.
-- the linear family's framings: without "model" it is trained by this setting (default_model tests the default)
SET reframe.default_model = linear;
CREATE TABLE homes AS
SELECT i, (50 + i % 200)::float8 AS sqft, (1000 * (50 + i % 200) + 20000 * sin(i * 1.7))::float8 AS price
  FROM generate_series(1, 2000) i;

SELECT task, train_rows, converged FROM reframe.train('price_band', 'SELECT sqft, price FROM homes', 'price',
       options => '{"bins": [100000, 200000], "validation": 0}');
SELECT reframe.classes('price_band');
-- the bucket means are the training means of each bucket, computed here
SELECT spec #> '{network,heads,0,bin_edges}' AS edges,
       (SELECT jsonb_agg(round(m::numeric, 6) ORDER BY b) FROM (
          SELECT width_bucket(price, ARRAY[100000, 200000]::float8[]) AS b, avg(price) AS m
            FROM homes GROUP BY 1) x) AS means_by_hand,
       (SELECT jsonb_agg(round(v::numeric, 6)) FROM jsonb_array_elements_text(spec #> '{network,heads,0,bin_values}') v) AS stored
  FROM price_band WHERE block = '';
-- predict is the likeliest bucket; score is the probability-weighted mean
SELECT reframe.predict('price_band', ARRAY[60]::float8[]) AS small, reframe.predict('price_band', ARRAY[240]::float8[]) AS large;
SELECT abs(reframe.score('price_band', h) -
           (SELECT sum(p * v) FROM unnest(reframe.predict_proba('price_band', h),
              (SELECT array_agg(x::float8) FROM jsonb_array_elements_text(spec #> '{network,heads,0,bin_values}') x)) u(p, v))) < 1e-9
       AS expected_value
  FROM homes h, price_band m WHERE m.block = '' AND h.i = 7;
-- a class of the buckets can be scored by its label
SELECT round(reframe.score('price_band', ARRAY[150]::float8[], '[100000,200000)')::numeric, 3) > 0.5 AS middle_bucket;
-- evaluate: classification metrics, and the RMSE of the expected value against the price
-- (accuracy: the predicted bucket against the bucket each price falls in, by the stored edges)
SELECT abs((e->'metrics'->>'accuracy')::float8 - (
         SELECT avg((reframe.predict('price_band', h) = (reframe.classes('price_band'))[1 + (
                   SELECT count(*) FROM price_band m, jsonb_array_elements_text(m.spec->'network'->'heads'->0->'bin_edges') edge
                    WHERE m.block = '' AND edge::float8 <= h.price)])::int) FROM homes h)) < 1e-9 AS accuracy,
       abs((e->'metrics'->>'rmse_expected')::float8 - (SELECT sqrt(avg((price - reframe.score('price_band', h)) ^ 2)) FROM homes h)) < 1e-9
         AS rmse_expected
  FROM (SELECT reframe.evaluate('price_band', 'homes') AS e) x;

-- quantile bins: k buckets of about equal training counts
SELECT task FROM reframe.train('price_q', 'SELECT sqft, price FROM homes', 'price',
       options => '{"bins": {"quantiles": 4}, "validation": 0}');
SELECT array_length(reframe.classes('price_q'), 1) AS buckets;
-- each edge is the shortest number that splits the rows as the quantile does:
-- above every value below the quantile, at most the quantile
SELECT bool_and((spec #>> ARRAY['network', 'heads', '0', 'bin_edges', (q - 1)::text])::float8 <= x.p
                AND (spec #>> ARRAY['network', 'heads', '0', 'bin_edges', (q - 1)::text])::float8 >
                    (SELECT max(price) FROM homes WHERE price < x.p))
       AS edges_split_as_quantiles
  FROM price_q,
       (SELECT q, (array_agg(price ORDER BY price))[(q * 2000 / 4) + 1] AS p
          FROM homes, generate_series(1, 3) q GROUP BY q) x
 WHERE block = '';
SELECT count(*) AS rows, width_bucket(price, (SELECT array_agg(e::float8) FROM price_q, jsonb_array_elements_text(spec #> '{network,heads,0,bin_edges}') e WHERE block = '')) AS bucket
  FROM homes GROUP BY 2 ORDER BY 2;

-- bad input
SELECT * FROM reframe.train('bad', 'SELECT sqft, price > 100000 AS y FROM homes', 'y', NULL, '{"bins": [1]}');
SELECT * FROM reframe.train('bad', 'SELECT sqft, price FROM homes', 'price', 'regression', '{"bins": [1]}');
SELECT * FROM reframe.train('bad', 'SELECT sqft, price FROM homes', 'price', NULL, '{"bins": [2, 1]}');
SELECT * FROM reframe.train('bad', 'SELECT sqft, price FROM homes', 'price', NULL, '{"bins": {"quantiles": 1}}');
SELECT * FROM reframe.train('bad', 'SELECT sqft, price FROM homes', 'price', NULL, '{"bins": "many"}');
SELECT * FROM reframe.train('bad', 'SELECT sqft, price FROM homes', 'price', NULL, '{"bins": [1e12]}');
SELECT to_regclass('bad') AS nothing_written;

DROP TABLE homes, price_band, price_q;
