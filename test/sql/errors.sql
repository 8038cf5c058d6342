-- Bad input gets a clear error naming what is at fault, and changes nothing.
-- the linear family's framings: without "model" it is trained by this setting (default_model tests the default)
SET reframe.default_model = linear;
CREATE TABLE pts AS
SELECT i::float8 AS x, (i % 3)::float8 AS z, (2 * i + 1)::float8 AS y, 'k' || (i % 2) AS label,
       ARRAY[i, i % 3]::float8[] AS v
  FROM generate_series(1, 50) i;
SELECT version FROM reframe.train('pm', 'SELECT x, z, y FROM pts', 'y');

-- unknown model
SELECT reframe.score('no_such_model', ARRAY[1, 2]::float8[]);
SELECT reframe.predict('no_such_model', ARRAY[1, 2]::float8[]);
SELECT * FROM reframe.weights('no_such_model');
SELECT reframe.deploy('no_such_model', 1);
SELECT reframe.drop_model('no_such_model');
-- a table that is not a model
SELECT reframe.score('pts', ARRAY[1, 2]::float8[]);
SELECT reframe.drop_model('pts');
-- features of the wrong length, shape or content
SELECT reframe.score('pm', ARRAY[1, 2, 3]::float8[]);
SELECT reframe.score('pm', ARRAY[1]::float4[]);
SELECT reframe.score('pm', '{}'::float8[]);
SELECT reframe.score('pm', ARRAY[[1, 2], [3, 4]]::float8[]);
SELECT reframe.score('pm', ARRAY[1, NULL]::float8[]);
SELECT reframe.score('pm', ARRAY[1, 'NaN']::float8[]);
SELECT reframe.score('pm', ARRAY['Infinity', 1]::float8[]);
SELECT reframe.score('pm', NULL::float8[]);
SELECT reframe.score(NULL, ARRAY[1, 2]::float8[]);
-- rows missing a feature column, or with the wrong type
SELECT reframe.score('pm', r) FROM (SELECT 1.0::float8 AS x) r;
SELECT reframe.score('pm', r) FROM (SELECT 1.0::float8 AS x, 'a'::text AS z) r;
SELECT reframe.score('pm', r) FROM (SELECT 'NaN'::float8 AS x, 1.0::float8 AS z) r;
-- unknown output
SELECT reframe.score('pm', ARRAY[1, 2]::float8[], 'nope');
-- unknown deployed version
SELECT reframe.deploy('pm', 7);

-- training: a source with no rows
SELECT * FROM reframe.train('bad', 'SELECT x, y FROM pts WHERE false', 'y');
-- every target NULL
SELECT * FROM reframe.train('bad', 'SELECT x, NULL::float8 AS y FROM pts', 'y');
-- NaN or Infinity in a feature or the target
SELECT * FROM reframe.train('bad', 'SELECT x, y FROM pts UNION ALL SELECT ''NaN'', 1', 'y');
SELECT * FROM reframe.train('bad', 'SELECT x, y FROM pts UNION ALL SELECT 1, ''Infinity''', 'y');
SELECT * FROM reframe.train('bad', 'SELECT v, y FROM pts UNION ALL SELECT ARRAY[1, ''-Infinity'']::float8[], 1', 'y');
-- arrays of different lengths, and a feature array NULL everywhere
SELECT * FROM reframe.train('bad', 'SELECT v, y FROM pts UNION ALL SELECT ARRAY[1.0]::float8[], 1', 'y');
SELECT * FROM reframe.train('bad', 'SELECT NULL::float8[] AS v, y FROM pts', 'y');
-- a target column that does not exist, or cannot be regressed
SELECT * FROM reframe.train('bad', 'pts', 'price');
SELECT * FROM reframe.train('bad', 'pts', 'label', 'regression');
SELECT * FROM reframe.train('bad', 'SELECT x, now() AS t FROM pts', 't');
-- features that cannot be encoded, or are unknown
SELECT * FROM reframe.train('bad', 'SELECT x, point(x, x) AS t, y FROM pts', 'y');
SELECT * FROM reframe.train('bad', 'pts', 'y', NULL, '{"features": ["nope"]}');
SELECT * FROM reframe.train('bad', 'pts', 'y', NULL, '{"exclude": ["nope"]}');
SELECT * FROM reframe.train('bad', 'pts', 'y', NULL, '{"features": ["y"]}');
SELECT * FROM reframe.train('bad', 'SELECT y FROM pts', 'y');
-- unknown options, wrong types, out of range
SELECT * FROM reframe.train('bad', 'pts', 'y', NULL, '{"learning_rat": 0.1}');
SELECT * FROM reframe.train('bad', 'pts', 'y', NULL, '{"l2": "big"}');
SELECT * FROM reframe.train('bad', 'pts', 'y', NULL, '{"l2": -1}');
SELECT * FROM reframe.train('bad', 'pts', 'y', NULL, '{"validation": 1.5}');
SELECT * FROM reframe.train('bad', 'pts', 'y', NULL, '{"max_iter": 2.5}');
SELECT * FROM reframe.train('bad', 'pts', 'y', NULL, '{"deploy": "sometimes"}');
SELECT * FROM reframe.train('bad', 'pts', 'y', NULL, '{"features": "x"}');
SELECT * FROM reframe.train('bad', 'pts', 'y', NULL, '[1, 2]');
SELECT * FROM reframe.train('bad', 'pts', 'y', 'clustering');
-- a missing source, a source that is not a query, NULL arguments
SELECT * FROM reframe.train('bad', 'no_such_table', 'y');
SELECT * FROM reframe.train('bad', 'SELECT FROM', 'y');
SELECT * FROM reframe.train(NULL, 'pts', 'y');
SELECT * FROM reframe.train('bad', 'pts', NULL);
SELECT * FROM reframe.train('bad', 'pts', ' , ');
-- a model name that is taken by an ordinary table
SELECT * FROM reframe.train('pts', 'pts', 'y');
-- collinear features without a penalty
SELECT * FROM reframe.train('bad', 'SELECT x, 2 * x AS x2, y FROM pts', 'y', NULL, '{"l2": 0}');

-- the memory budget: rows kept in memory count against it; a squared-loss
-- regression on numbers keeps only second moments and needs almost nothing
CREATE TABLE wide AS SELECT i, ARRAY(SELECT sin(i * k) FROM generate_series(1, 64) k)::float8[] AS v,
                            i % 2 = 0 AS even, i::float8 AS y
                       FROM generate_series(1, 20000) i;
SET reframe.max_train_memory = '2MB';
SELECT * FROM reframe.train('bad', 'SELECT v, even FROM wide', 'even');
SELECT train_rows FROM reframe.train('wide_model', 'SELECT v, y FROM wide', 'y');
RESET reframe.max_train_memory;
DROP TABLE wide, wide_model;

-- features are stored in single precision: a column whose values lie
-- further apart than its range is named, for every family
CREATE TABLE huge AS SELECT i, CASE WHEN i % 2 = 0 THEN 1e300 ELSE -1e300 END::float8 AS big,
                            sin(i) AS a, sin(i) + 0.1 * cos(i * 7) > 0 AS y
                       FROM generate_series(1, 200) i;
SELECT * FROM reframe.train('bad', 'huge', 'y');
SELECT * FROM reframe.train('bad', 'huge', 'y', options => '{"model": "trees"}');
DROP TABLE huge;

-- nothing was written by any of the failures above
SELECT to_regclass('bad') AS bad_table;
SELECT model, version, deployed FROM reframe.models ORDER BY model, version;
SELECT count(*) AS pm_rows FROM pm;

DROP TABLE pts, pm;
