-- reframe.retrain: the deployed version's source, targets, task and options
-- again, optionally only when its inputs drifted or new rows arrived
SET client_min_messages = notice;
CREATE TABLE visits AS
SELECT i, timestamp '2026-01-01' + i * interval '1 minute' AS at,
       (hashint4(i) % 1000) / 100.0 AS price, (ARRAY['web', 'app'])[1 + abs(hashint4(i * 3)) % 2] AS channel,
       (hashint4(i) % 1000) / 100.0 + (hashint4(i * 7) % 500) / 100.0 > 0 AS bought
FROM generate_series(1, 3000) i;
SET client_min_messages = warning;
SELECT version FROM reframe.train('buyer', 'visits', 'bought',
       options => '{"model": "linear", "split": "time", "split_by": "at", "exclude": ["i", "at"], "validation": 0.2}');
SET client_min_messages = notice;
-- no new rows, no drift: nothing to do, and it says why
SELECT reframe.retrain('buyer', options => '{"if": {"new_rows": 100}}') AS retrained;
SELECT reframe.retrain('buyer', options => '{"if": {"drift": 0.2}}') AS retrained;
-- rows arrive: 150 after the latest the version read
INSERT INTO visits
SELECT i, timestamp '2026-01-01' + i * interval '1 minute', (hashint4(i) % 1000) / 100.0,
       (ARRAY['web', 'app'])[1 + abs(hashint4(i * 3)) % 2], (hashint4(i) % 1000) / 100.0 + (hashint4(i * 7) % 500) / 100.0 > 0
FROM generate_series(3001, 3150) i;
SELECT reframe.retrain('buyer', options => '{"if": {"new_rows": 100}}') AS retrained;
-- the same targets, task and options as the deployed version
SELECT version, spec->>'task' AS task, spec->'targets' AS targets, spec->'options' = (SELECT spec->'options' FROM buyer WHERE version = 1 AND block = '') AS same_options,
       spec #>> '{training,rows}' AS rows
FROM buyer WHERE block = '' ORDER BY version;
-- a drifted source retrains; options given override the deployed version's
SELECT reframe.retrain('buyer', 'SELECT i, at, price + 5 AS price, channel, bought FROM visits',
                       '{"if": {"drift": 0.2}, "model": "trees", "rounds": 10}') AS retrained;
SELECT version, spec #>> '{network,family}' AS family FROM buyer WHERE block = '' ORDER BY version;
-- unconditionally: the deployed version's source
SELECT reframe.retrain('buyer') AS retrained;
-- errors
SET client_min_messages = warning;
SELECT reframe.retrain('buyer', options => '{"if": {"when": 1}}');
SELECT reframe.retrain('buyer', options => '{"if": {"drift": -1}}');
SELECT reframe.retrain('buyer', options => '{"if": []}');
SELECT version FROM reframe.train('plain', 'SELECT price, channel, bought FROM visits', 'bought', options => '{"model": "linear"}');
SELECT reframe.retrain('plain', options => '{"if": {"new_rows": 10}}');
SELECT reframe.create_blend('both', '{"buyer": 0.5, "plain": 0.5}');
SELECT reframe.retrain('both');
SELECT reframe.retrain('no_such');
-- retraining needs the rights training needs: to write the model's table
CREATE ROLE regress_retrainer;
GRANT SELECT ON visits, buyer TO regress_retrainer;
SET ROLE regress_retrainer;
SELECT reframe.retrain('buyer');
RESET ROLE;
REVOKE ALL ON visits, buyer FROM regress_retrainer;
DROP ROLE regress_retrainer;
SELECT count(reframe.drop_model(m)) FROM unnest(ARRAY['buyer', 'plain', 'both']) m;
DROP TABLE visits;
