-- Every user error has the SQLSTATE a client can act on.
BEGIN;
SET client_min_messages = warning;
SELECT plan(24);

CREATE TEMP TABLE e AS
SELECT i::float8 AS x, (i * 2)::float8 AS y, 'c' || i % 2 AS t FROM generate_series(1, 30) i;
SELECT lives_ok($$SELECT reframe.train('em', 'SELECT x, y FROM e', 'y')$$, 'a model to score');

SELECT throws_ok($$SELECT reframe.score('nope', ARRAY[1]::float8[])$$, '42704', NULL, 'unknown model');
SELECT throws_ok($$SELECT reframe.score('e', ARRAY[1]::float8[])$$, '42809', NULL, 'not a model table');
SELECT throws_ok($$SELECT reframe.score('em', ARRAY[1, 2]::float8[])$$, '22023',
                 'model "em" expects 1 features, got 2', 'wrong length names both');
SELECT throws_ok($$SELECT reframe.score('em', ARRAY[NULL]::float8[])$$, '22004', NULL, 'NULL element');
SELECT throws_ok($$SELECT reframe.score('em', ARRAY['NaN']::float8[])$$, '22000', NULL, 'NaN element');
SELECT throws_ok($$SELECT reframe.score('em', ARRAY['-Infinity']::float4[])$$, '22000', NULL, 'infinite element');
SELECT throws_ok($$SELECT reframe.score('em', r) FROM (SELECT 1 AS z) r$$, '42703', NULL, 'missing column');
SELECT throws_ok($$SELECT reframe.score('em', r) FROM (SELECT 'a'::text AS x) r$$, '42804', NULL, 'wrong column type');
SELECT throws_ok($$SELECT reframe.score('em', ARRAY[1]::float8[], 'zz')$$, '22023', NULL, 'unknown output');
SELECT throws_ok($$SELECT reframe.deploy('em', 9)$$, '42704', NULL, 'unknown version');

SELECT throws_ok($$SELECT reframe.train('b', 'SELECT x, y FROM e WHERE false', 'y')$$, '22000', NULL, 'no rows');
SELECT throws_ok($$SELECT reframe.train('b', 'SELECT x, ''NaN''::float8 AS y FROM e', 'y')$$, '22000', NULL, 'NaN target');
SELECT throws_ok($$SELECT reframe.train('b', 'SELECT ''Infinity''::float8 AS x, y FROM e', 'y')$$, '22000', NULL, 'infinite feature');
SELECT throws_ok($$SELECT reframe.train('b', 'e', 'nope')$$, '42703',
                 'target column "nope" does not exist in the source', 'unknown target names it');
SELECT throws_ok($$SELECT reframe.train('b', 'e', 't', 'regression')$$, '42804', NULL, 'text regression target');
SELECT throws_ok($$SELECT reframe.train('b', 'e', 'y', NULL, '{"nope": 1}')$$, '22023',
                 'unknown option "nope"', 'unknown option key');
SELECT throws_ok($$SELECT reframe.train('b', 'e', 'y', NULL, '{"l2": true}')$$, '22023', NULL, 'option of wrong type');
SELECT throws_ok($$SELECT reframe.train('b', 'e', 'y', 'magic')$$, '22023', NULL, 'unknown task');
SELECT throws_ok($$SELECT reframe.train('b', 'missing_table', 'y')$$, '42P01', NULL, 'missing source');
SELECT throws_ok($$SELECT reframe.train('b', 'e', 'y', NULL, '{"features": ["zz"]}')$$, '42703', NULL, 'unknown feature');
SELECT throws_ok($$SELECT reframe.train('b', 'SELECT point(y, y) AS d, y FROM e', 'y')$$, '42804', NULL, 'feature type');
SELECT throws_ok($$SELECT reframe.train(NULL, 'e', 'y')$$, '22004', NULL, 'NULL model name');

SELECT is(to_regclass('b'), NULL, 'no failed training left a table');

SELECT * FROM finish();
ROLLBACK;
