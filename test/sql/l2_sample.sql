-- "l2": "auto" on many rows: beyond 200,000 training rows the path of
-- penalties fits on a seeded sample of 100,000 of them (measured on the
-- validation rows, or without them on a second sample), and the penalty it
-- chooses is scaled to the rows of the final fit (l2 * sample / rows: the
-- same prior against more data). The version is as good as the best of a
-- grid of penalties fitted on every row.
SET client_min_messages = warning;
CREATE TABLE many AS
SELECT i, sin(i * 0.37)::float8 AS a, cos(i * 1.13)::float8 AS b, sin(i * 2.71 + 1)::float8 AS c,
       (sin(i * 0.37) - 0.5 * cos(i * 1.13) + 0.8 * ((abs(hashint4(i)) % 1000) / 1000.0 - 0.5) > 0) AS y
  FROM generate_series(1, 300000) i;

CREATE TABLE chosen AS
SELECT metrics->'chosen' AS c, (metrics->'validation'->>'log_loss')::float8 AS loss, train_rows
  FROM reframe.train('l2s', 'SELECT a, b, c, y FROM many', 'y', options => '{"model": "linear"}');
SELECT c->>'method' AS method,
       abs((c->>'path_scale')::float8 - 100000.0 / train_rows) < 0.01 AS sample_of_100000,
       -- the chosen penalty is a penalty of the path, scaled
       EXISTS (SELECT FROM jsonb_array_elements(c->'path') p
                WHERE abs((p->>'l2')::float8 * (c->>'path_scale')::float8 - (c->>'l2')::float8) < 1e-12 * (c->>'l2')::float8
                  AND (p->>'loss')::float8 = (SELECT min((q->>'loss')::float8) FROM jsonb_array_elements(c->'path') q))
         AS best_of_path_scaled
  FROM chosen;
-- as good as the best of a grid fitted on all the rows (same split)
SELECT loss <= 1.001 * (SELECT min((metrics->'validation'->>'log_loss')::float8)
                          FROM unnest(ARRAY[1e-6, 1e-5, 1e-4, 1e-3, 1e-2]) WITH ORDINALITY g(l2, k),
                               reframe.train('l2s_grid' || k, 'SELECT a, b, c, y FROM many', 'y',
                                             options => jsonb_build_object('model', 'linear', 'l2', l2))) AS as_good_as_grid
  FROM chosen;
-- without validation rows: measured on a second sample of the training rows
SELECT metrics->'chosen'->>'method' AS method, (metrics->'chosen'->>'path_scale')::float8 < 0.5 AS sampled
  FROM reframe.train('l2s_all', 'SELECT a, b, c, y FROM many', 'y', options => '{"model": "linear", "validation": 0}');
-- under 200,000 training rows the path fits on every row, as before
SELECT metrics->'chosen'->>'method' AS method, metrics->'chosen' ? 'path_scale' AS scaled
  FROM reframe.train('l2s_small', 'SELECT a, b, c, y FROM many WHERE i <= 150000', 'y', options => '{"model": "linear"}');

-- trained by aggregate passes (as on a Citus cluster), the path fits on a
-- sample of about 250,000 rows read as the rows' path reads them, then one
-- fit by passes at the penalty it chose, scaled from the sample's training
-- rows to all of them; as good as the rows' own choice
CREATE TABLE streamed AS
SELECT metrics->'chosen' AS c, (metrics->'validation'->>'log_loss')::float8 AS loss, train_rows
  FROM reframe.train('l2s_passes', 'SELECT a, b, c, y FROM many', 'y', options => '{"model": "linear", "streaming": true}');
SELECT c->>'method' AS method,
       (c->>'sample_rows')::int BETWEEN 190000 AND 210000 AS sample_of_200000_training_rows,
       abs((c->>'l2')::float8 - (c->'sample'->>'l2')::float8 * (c->>'sample_rows')::float8 / train_rows)
         < 1e-12 * (c->>'l2')::float8 AS scaled_to_all_rows,
       (SELECT spec #>> '{training,streaming}' FROM l2s_passes WHERE block = '') AS by_passes,
       loss <= 1.001 * (SELECT loss FROM chosen) AS as_good_as_rows
  FROM streamed;

SELECT count(reframe.drop_model(name)) AS dropped FROM (SELECT DISTINCT model AS name FROM reframe.models WHERE model LIKE 'l2s%') m;
DROP TABLE many, chosen, streamed;
