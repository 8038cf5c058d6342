-- The rough edges a new user hits, each with a clear answer.
CREATE TABLE visits AS
SELECT i, sin(i)::float8 AS a, cos(i * 0.3)::float8 AS b, (sin(i) + cos(i * 0.3) > 0)::int AS bought,
       (2 * sin(i) + 1)::float8 AS spend
  FROM generate_series(1, 600) i;

-- a 0/1 integer target is a yes/no target: binary, with ROC AUC and a threshold
SELECT task, metrics->'training' ? 'threshold' AS has_threshold
  FROM reframe.train('buy', 'SELECT a, b, bought FROM visits', 'bought');
SELECT (e->'metrics'->>'roc_auc')::float8 > 0.9 AS good_auc,
       abs((e->'metrics'->>'roc_auc')::float8 - (SELECT reframe.roc_auc(reframe.score('buy', v), bought = 1) FROM visits v)) < 1e-12 AS auc_agrees
  FROM (SELECT reframe.evaluate('buy', 'visits') AS e) x;
SELECT reframe.classes('buy') AS classes, reframe.predict('buy', ARRAY[1.0, 1.0]::float8[]) AS predicted;
SELECT reframe.set_threshold('buy', 0.7) AS version;
-- (a 0/1/2 target stays multiclass)
SELECT task FROM reframe.train('buy3', 'SELECT a, b, bought + (i % 7 = 0)::int AS bought FROM visits', 'bought');

-- one rule for outputs: a model with several heads needs output => head
SET client_min_messages = warning;
SELECT task FROM reframe.train('both', 'SELECT a, b, bought::bool AS bought, spend FROM visits', 'bought,spend', 'multitask');
SELECT reframe.score('both', ARRAY[1.0, 1.0]::float8[]);
SELECT reframe.predict('both', ARRAY[1.0, 1.0]::float8[]);
SELECT round(reframe.score('both', ARRAY[1.0, 1.0]::float8[], 'spend')::numeric, 6) =
       round((reframe.predict_all('both', ARRAY[1.0, 1.0]::float8[])->>'spend')::numeric, 6) AS named_head_scores;
SELECT reframe.create_blend('mix', '{"both": 1}');
SELECT reframe.create_blend('mix', '{"both:spend": 1}') AS blend_version;
RESET client_min_messages;

-- options: a misspelled key suggests the nearest one; no features is an
-- error; options given as the task say where they go
SELECT * FROM reframe.train('bad', 'visits', 'spend', options => '{"learning_rat": 0.1}');
SELECT * FROM reframe.train('bad', 'visits', 'spend', options => '{"l3": 0.1}');
SELECT * FROM reframe.train('bad', 'visits', 'spend', options => '{"totally_unknown": 1}');
SELECT * FROM reframe.train('bad', 'visits', 'spend', options => '{"features": []}');
SELECT * FROM reframe.train('bad', 'visits', 'spend', '{"l2": 0.1}');
-- a source naming a column twice
SELECT * FROM reframe.train('bad', 'SELECT a, b AS a, spend FROM visits', 'spend');
-- a single training row
SELECT * FROM reframe.train('bad', 'SELECT a, b, spend FROM visits WHERE i = 1', 'spend');
SELECT to_regclass('bad') AS nothing_written;
-- a NULL in a text column is a value of its own (a missing indicator), not an unseen one
SET client_min_messages = warning;
CREATE TABLE pets AS SELECT i, CASE WHEN i % 4 = 0 THEN NULL ELSE (ARRAY['cat', 'dog', 'fish'])[1 + i % 3] END AS kind,
       sin(i)::float8 AS a FROM generate_series(1, 900) i;
ALTER TABLE pets ADD COLUMN cost float8;
UPDATE pets SET cost = a + CASE kind WHEN 'cat' THEN 1 WHEN 'dog' THEN 2 WHEN 'fish' THEN 3 ELSE 10 END;
SELECT 1 FROM reframe.train('pet_cost', 'SELECT kind, a, cost FROM pets', 'cost', options => '{"l2": 1e-6}');
SELECT spec #> '{encoder,columns,0,missing}' AS kind_missing FROM pet_cost WHERE block = '';
SELECT round(avg(abs(reframe.score('pet_cost', p) - cost))::numeric, 6) AS null_rows_error
  FROM pets p WHERE kind IS NULL;
SELECT abs(reframe.score('pet_cost', x) - reframe.score('pet_cost', y)) > 1 AS null_is_not_unseen
  FROM (SELECT NULL::text AS kind, 0.0::float8 AS a) x, (SELECT 'hamster'::text AS kind, 0.0::float8 AS a) y;
SELECT reframe.drop_model('pet_cost');
RESET client_min_messages;

-- deploying a version that does not exist lists those that do
SELECT reframe.deploy('buy', 99);
SELECT reframe.drop_model(m) FROM unnest(ARRAY['buy', 'buy3', 'both', 'mix']) m;

-- a model table edited by hand so that its blocks no longer match its spec
-- is an error naming the model and what is missing, never a silent zero
SET client_min_messages = warning;
SELECT 1 FROM reframe.train('edited', 'SELECT a, b, spend FROM visits', 'spend');
DELETE FROM edited WHERE block = 'head.spend.bias';
SELECT reframe.score('edited', ARRAY[1.0, 1.0]::float8[]);
SELECT 1 FROM reframe.train('edited_net', 'SELECT a, b, spend FROM visits', 'spend', options => '{"hidden": [4], "epochs": 2}');
UPDATE edited_net SET spec = jsonb_set(spec, '{network,hidden}', '[4, 4]') WHERE block = '';
SELECT reframe.score('edited_net', ARRAY[1.0, 1.0]::float8[]);
SELECT reframe.drop_model('edited'), reframe.drop_model('edited_net');
-- a source that writes is refused, saying why
SELECT * FROM reframe.train('bad', 'DELETE FROM visits WHERE i < 0 RETURNING a, spend', 'spend');
SELECT * FROM reframe.train('bad', 'WITH d AS (DELETE FROM visits WHERE i < 0 RETURNING *) SELECT a, spend FROM d', 'spend');
RESET client_min_messages;
