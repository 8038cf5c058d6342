-- Privileges with real roles: a model is as private as its table, a source
-- is read with the caller's rights, and names and option values are only
-- ever names and values.
BEGIN;
SET client_min_messages = warning;
SELECT plan(38);

CREATE ROLE regress_rf_owner;
CREATE ROLE regress_rf_reader;
CREATE ROLE regress_rf_stranger;
CREATE SCHEMA rf_priv AUTHORIZATION regress_rf_owner;
GRANT USAGE ON SCHEMA rf_priv TO regress_rf_reader, regress_rf_stranger;
CREATE TABLE rf_priv.src AS
SELECT i, sin(i)::float8 AS a, cos(i * 0.7)::float8 AS b, (2 * sin(i) + cos(i * 0.7))::float8 AS r, i % 7 AS q
  FROM generate_series(1, 300) i;
ALTER TABLE rf_priv.src OWNER TO regress_rf_owner;
GRANT SELECT ON rf_priv.src TO regress_rf_stranger;
CREATE TABLE rf_priv.secret AS SELECT a, r FROM rf_priv.src;	-- owned by the superuser, granted to nobody
CREATE TABLE rf_priv.victim AS SELECT 1 AS survives;

-- a non-superuser uses the installed extension: trains, scores, lists, evaluates
SET ROLE regress_rf_owner;
SELECT is((SELECT version FROM reframe.train('rf_priv.m', 'rf_priv.src', 'r', options => '{"features": ["a", "b"]}')), 1,
          'a non-superuser trains a model');
SELECT isnt(reframe.score('rf_priv.m', ARRAY[0.1, 0.2]::float8[]), NULL, 'and scores it');
SELECT is((SELECT count(*) FROM reframe.models WHERE model = 'rf_priv.m')::int, 1, 'and sees it in reframe.models');
SELECT ok((reframe.evaluate('rf_priv.m', 'rf_priv.src')->'metrics'->>'rmse')::float8 < 0.1, 'and evaluates it');
SELECT is((SELECT tableowner::text FROM pg_tables WHERE schemaname = 'rf_priv' AND tablename = 'm'),
          'regress_rf_owner', 'the model table belongs to who trained it');
-- the source runs with the caller's rights
SELECT throws_ok($$SELECT reframe.train('rf_priv.leak', 'rf_priv.secret', 'r')$$, '42501', NULL,
                 'a table source the caller cannot read');
SELECT throws_ok($$SELECT reframe.train('rf_priv.leak', 'SELECT a, r FROM rf_priv.secret', 'r')$$, '42501', NULL,
                 'a query source the caller cannot read');
SELECT throws_ok($$SELECT reframe.evaluate('rf_priv.m', 'SELECT a, a AS b, r FROM rf_priv.secret')$$, '42501', NULL,
                 'evaluate reads with the caller''s rights too');
SELECT is(to_regclass('rf_priv.leak'), NULL, 'no model from a refused source');
SELECT is((SELECT task FROM reframe.train('rf_priv.mb', 'SELECT a, b, r > 0 AS pos FROM rf_priv.src', 'pos')), 'binary',
          'and a binary one');
GRANT SELECT ON rf_priv.m, rf_priv.mb TO regress_rf_reader;
RESET ROLE;

-- a role that may read the model's table scores it, but cannot change it
SET ROLE regress_rf_reader;
SELECT isnt(reframe.score('rf_priv.m', ARRAY[0.1, 0.2]::float8[]), NULL, 'SELECT on the table is enough to score');
SELECT throws_ok($$SELECT reframe.train('rf_priv.m', 'SELECT 0.5::float8 AS a, 0.5::float8 AS b, 1.0::float8 AS r', 'r')$$,
                 '42501', NULL, 'retraining needs INSERT on the model table');
SELECT throws_ok($$SELECT reframe.deploy('rf_priv.m', 1)$$, '42501', NULL, 'deploying needs UPDATE');
SELECT throws_ok($$SELECT reframe.set_threshold('rf_priv.mb', 0.3)$$, '42501', NULL, 'so does a threshold');
SELECT throws_ok($$SELECT reframe.create_blend('rf_priv.m', '{"rf_priv.m": 1}')$$, '42501', NULL,
                 'a blend cannot overwrite the model');
SELECT throws_ok($$SELECT reframe.drop_model('rf_priv.m')$$, '42501', NULL, 'only the owner drops it');
RESET ROLE;

-- a role without SELECT on the model's table cannot use it at all
SET ROLE regress_rf_stranger;
SELECT throws_ok($$SELECT reframe.score('rf_priv.m', ARRAY[0.1, 0.2]::float8[])$$, '42501', NULL, 'no SELECT: no score');
SELECT throws_ok($$SELECT reframe.score('rf_priv.m', s) FROM rf_priv.src s LIMIT 1$$, '42501', NULL, 'not by row either');
SELECT throws_ok($$SELECT reframe.predict_all('rf_priv.m', ARRAY[0.1, 0.2]::float8[])$$, '42501', NULL, 'nor predict_all');
SELECT throws_ok($$SELECT * FROM reframe.weights('rf_priv.m')$$, '42501', NULL, 'nor its weights');
SELECT throws_ok($$SELECT reframe.evaluate('rf_priv.m', 'rf_priv.src')$$, '42501', NULL, 'nor evaluate');
SELECT throws_ok($$SELECT reframe.create_blend('rf_priv.mine', '{"rf_priv.m": 1}')$$, '42501', NULL,
                 'nor blend it into a blend of its own');
SELECT throws_ok($$SELECT reframe.train('rf_priv.m', 'rf_priv.src', 'r')$$, '42501', NULL, 'nor retrain it');
SELECT is((SELECT count(*) FROM reframe.models WHERE model = 'rf_priv.m')::int, 0, 'reframe.models does not list it');
RESET ROLE;
SELECT is((SELECT count(*) FROM rf_priv.m WHERE block = '')::int, 1, 'no refused call wrote a version');

-- names, column names and option values with quotes and SQL in them
SET ROLE regress_rf_owner;
SELECT is((SELECT model FROM reframe.train('rf_priv."x""; DROP TABLE rf_priv.victim; --"', 'rf_priv.src', 'r',
                                         options => '{"features": ["a"]}')),
          'rf_priv."x""; DROP TABLE rf_priv.victim; --"', 'a model name with quotes and SQL is a name');
SELECT is((SELECT count(*) FROM pg_tables WHERE schemaname = 'rf_priv' AND tablename = 'x"; DROP TABLE rf_priv.victim; --')::int,
          1, 'its table is named exactly so');
SELECT isnt(reframe.score('rf_priv."x""; DROP TABLE rf_priv.victim; --"', ARRAY[0.3]::float8[]), NULL, 'and scores');
SELECT lives_ok($$SELECT reframe.train('rf_priv.cols',
                   'SELECT a AS "a""; DROP TABLE rf_priv.victim; --", b AS "b''); DROP TABLE rf_priv.victim; --", q, r FROM rf_priv.src', 'r',
                   options => '{"features": ["a\"; DROP TABLE rf_priv.victim; --", "b''); DROP TABLE rf_priv.victim; --"]}')$$,
                'column names with quotes and SQL are columns');
SELECT is((SELECT abs(reframe.score('rf_priv.cols', x) - reframe.score('rf_priv.cols', ARRAY[a, b]::float8[])) < 1e-12
             FROM (SELECT a AS "a""; DROP TABLE rf_priv.victim; --", b AS "b'); DROP TABLE rf_priv.victim; --", a, b
                     FROM rf_priv.src LIMIT 1) x), true, 'a row scores by those names');
SELECT throws_ok($$SELECT reframe.train('rf_priv.bad', 'rf_priv.src', 'r', options => '{"features": ["a; DROP TABLE rf_priv.victim"]}')$$,
                 '42703', NULL, 'an option naming an unknown column is an error, not SQL');
SELECT throws_ok($$SELECT reframe.train('rf_priv.bad', 'rf_priv.src', 'r', options => '{"group": "q\"; DROP TABLE rf_priv.victim; --"}')$$,
                 '42703', NULL, 'so is a group column');
SELECT throws_ok($$SELECT reframe.train('rf_priv.bad', 'SELECT a, r FROM rf_priv.src; DROP TABLE rf_priv.victim', 'r')$$,
                 '22023', 'source must be a single query', 'a source is one query, never statements after it');
SELECT throws_ok($$SELECT reframe.train('rf_priv.bad', 'WITH d AS (DELETE FROM rf_priv.src RETURNING *) SELECT * FROM d', 'r')$$,
                 '22023', 'source must only read data, but its WITH query "d" modifies data', 'a source never writes through WITH');
SELECT throws_ok($$SELECT reframe.evaluate('rf_priv.m', 'SELECT * INTO rf_priv.copy FROM rf_priv.src')$$,
                 '22023', 'source must only read data, but SELECT INTO creates a table', 'nor through SELECT INTO');
SELECT throws_ok($$SELECT reframe.train('rf_priv.bad', 'SELECT a, r FROM rf_priv.src FOR UPDATE', 'r')$$,
                 '22023', 'source must only read data, but it locks rows', 'nor locks rows');
SELECT throws_ok($$SELECT reframe.score('rf_priv.m; DROP TABLE rf_priv.victim', ARRAY[0.1, 0.2]::float8[])$$,
                 '42602', NULL, 'a model name with SQL is parsed as a name, not run');
RESET ROLE;
SELECT is((SELECT survives FROM rf_priv.victim), 1, 'nothing was dropped');

SELECT * FROM finish();
ROLLBACK;
