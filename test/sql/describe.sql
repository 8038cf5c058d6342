-- reframe.describe: a version's inputs in scoring order and how it was made;
-- reframe.compare: every version on the same rows; reframe.models: family
-- and options
SET client_min_messages = warning;
CREATE TABLE homes AS
SELECT i, (hashint4(i) % 1000) / 10.0 + 50 AS area, (abs(hashint4(i * 3)) % 5 + 1)::int AS rooms,
       ARRAY[(hashint4(i * 7) % 100) / 10.0, CASE WHEN i % 40 = 0 THEN NULL ELSE (hashint4(i * 11) % 100) / 20.0 END]::float8[] AS dist,
       CASE WHEN i % 25 = 0 THEN NULL ELSE (hashint4(i * 13) % 300)::float8 END AS age,
       (ARRAY['north', 'south', 'east'])[1 + abs(hashint4(i * 17)) % 3] AS side,
       timestamp '2025-01-01' + (abs(hashint4(i * 19)) % 365) * interval '1 day' AS listed
FROM generate_series(1, 2000) i;
ALTER TABLE homes ADD COLUMN price float8;
UPDATE homes SET price = 3 * area + 20 * rooms - 2 * dist[1] + coalesce(age, 100) / 10 + (hashint4(i * 23) % 50);
SELECT version FROM reframe.train('price', 'SELECT area, rooms, dist, age, price FROM homes', 'price', options => '{"model": "linear"}');
SELECT position, input, kind, encoding FROM reframe.describe('price');
SELECT DISTINCT family, options, chosen IS NOT NULL AS chose_l2, rows, metrics ? 'rmse' AS has_rmse FROM reframe.describe('price');
-- an array in that order scores exactly as the row does
SELECT count(*) AS rows, count(*) FILTER (WHERE reframe.score('price', ARRAY[area, rooms, dist[1], dist[2], age])
                                                = reframe.score('price', h)) AS same_score
FROM homes h WHERE dist[2] IS NOT NULL AND age IS NOT NULL;
-- categories, times and trees
SELECT version FROM reframe.train('price', 'SELECT area, side, listed, price FROM homes', 'price',
       options => '{"model": "trees", "rounds": 5}');
SELECT position, input, kind, encoding FROM reframe.describe('price');
SELECT position, input FROM reframe.describe('price', 1) WHERE position = 1;

-- compare: each version on the same rows, as evaluate scores it deployed
CREATE TABLE compared AS SELECT * FROM reframe.compare('price', 'homes');
SELECT version, deployed, rows FROM compared ORDER BY version;
CREATE TABLE evaluated (version int, metrics jsonb, selection jsonb);
SELECT reframe.deploy('price', 1);
INSERT INTO evaluated SELECT 1, e -> 'metrics', e -> 'selection' FROM reframe.evaluate('price', 'homes') e;
SELECT reframe.deploy('price', 2);
INSERT INTO evaluated SELECT 2, e -> 'metrics', e -> 'selection' FROM reframe.evaluate('price', 'homes') e;
SELECT c.version, c.metrics = e.metrics AS as_evaluate, c.selection = e.selection AS same_selection,
       c.selection ->> 'metric' AS selected_by, (c.selection ->> 'value')::float8 = (c.metrics ->> 'rmse')::float8 AS is_its_rmse
FROM compared c JOIN evaluated e USING (version) ORDER BY version;
-- deploy(model) compares them so, on the newest version's validation rows
-- (in a temporary table it drops): the NOTICEs are compare's figures
SET client_min_messages = notice;
SELECT reframe.deploy('price') AS best;
RESET client_min_messages;
SELECT count(*) AS rows_table_left FROM pg_class WHERE relname = 'reframe_deploy_rows';
SELECT version FROM reframe.compare('price', 'homes', ARRAY[2]);
-- "model@version" evaluates that version
SELECT (reframe.evaluate('price@1', 'homes') -> 'metrics') = (SELECT metrics FROM evaluated WHERE version = 1) AS evaluate_by_version;
-- the registry names each version's family and options
SELECT version, family, options FROM reframe.models WHERE model = 'price' ORDER BY version;
-- errors
SELECT * FROM reframe.describe('price', 9);
SELECT * FROM reframe.compare('price', 'homes', ARRAY[1, 9]);
SELECT * FROM reframe.compare('price', 'homes', ARRAY[NULL::int]);
SELECT * FROM reframe.describe('no_such');
SELECT reframe.drop_model('price');
DROP TABLE homes, compared, evaluated;
