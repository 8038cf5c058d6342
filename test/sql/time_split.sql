-- "split": "time": validation on the latest rows (by "split_by"), as the
-- model will meet tomorrow's rows, rather than on a random fifth
SET client_min_messages = warning;
-- a relation that drifts over time: x weighs more every day
CREATE TABLE drift AS
SELECT i, timestamp '2025-01-01' + i * interval '1 hour' AS at,
       (hashint4(i) % 1000) / 500.0 AS x, (hashint4(i * 7) % 1000) / 500.0 AS z,
       (1 + i / 2000.0) * ((hashint4(i) % 1000) / 500.0) + (hashint4(i * 7) % 1000) / 500.0
         + (hashint4(i * 13) % 100) / 200.0 AS y
FROM generate_series(1, 12000) i;
CREATE VIEW drift_past AS SELECT * FROM drift WHERE i <= 10000;
CREATE VIEW drift_next AS SELECT * FROM drift WHERE i > 10000;

CREATE TABLE runs AS
SELECT 'random' AS split, * FROM reframe.train('by_random', 'SELECT x, z, y FROM drift_past', 'y',
       options => '{"model": "linear"}')
UNION ALL
SELECT 'time', * FROM reframe.train('by_time', 'SELECT at, x, z, y FROM drift_past', 'y',
       options => '{"model": "linear", "split": "time", "split_by": "at", "exclude": ["at"]}');
-- the time split holds out the latest fifth: every row after its cut
SELECT split, validation_rows,
       (SELECT count(*) FROM drift_past WHERE at > (SELECT (spec #>> '{training,split,training_up_to}')::timestamp
                                                  FROM by_time WHERE block = '')) AS rows_after_cut
FROM runs ORDER BY split;
SELECT spec -> 'training' -> 'split' AS recorded FROM by_time WHERE block = '';
-- its validation error foretells the error on the next rows; the random split's does not
CREATE TABLE errors AS
SELECT r.split, (r.metrics #>> '{validation,rmse}')::float8 AS validation_rmse,
       (SELECT reframe.rmse(reframe.score(CASE r.split WHEN 'time' THEN 'by_time' ELSE 'by_random' END, d), y)
          FROM drift_next d) AS next_rmse
FROM runs r;
SELECT split, validation_rmse / next_rmse > 0.65 AS close_to_next_rows, validation_rmse / next_rmse < 0.5 AS far_below
FROM errors ORDER BY split;

-- cross-validation rolls its origin forward: fold f trains on blocks 0..f of
-- time and validates on block f + 1
SELECT f ->> 'fold' AS fold, f ->> 'training_rows' AS training_rows, f ->> 'validation_rows' AS validation_rows
FROM jsonb_array_elements(reframe.cross_validate('SELECT at, x, z, y FROM drift_past', 'y',
       options => '{"model": "linear", "split": "time", "split_by": "at", "exclude": ["at"]}', folds => 4) -> 'folds') f;

-- "if_better" compares on the candidate's validation rows: the latest ones
SELECT version FROM reframe.train('by_time', 'SELECT at, x, z, y FROM drift_past', 'y',
       options => '{"model": "trees", "rounds": 20, "split": "time", "split_by": "at", "exclude": ["at"], "deploy": "if_better"}');
SELECT (spec #>> '{metrics,comparison,rows}')::int AS compared_on_rows,
       (SELECT count(*) FROM drift_past WHERE at > (spec #>> '{training,split,training_up_to}')::timestamp) AS rows_after_its_cut
FROM by_time WHERE block = '' AND version = 2;
-- deploy(model) compares every version on those latest rows too
SET client_min_messages = notice;
SELECT reframe.deploy('by_time');
SET client_min_messages = warning;

-- a date or a number orders rows too; a NULL trains
SELECT validation_rows FROM reframe.train('by_day', 'SELECT at::date AS day, x, z, y FROM drift_past', 'y',
       options => '{"model": "linear", "split": "time", "split_by": "day", "exclude": ["day"]}');
SELECT validation_rows FROM reframe.train('by_i', 'SELECT CASE WHEN i % 10 = 0 THEN NULL ELSE i END AS i, x, z, y FROM drift_past', 'y',
       options => '{"model": "trees", "split": "time", "split_by": "i", "exclude": ["i"], "validation": 0.1, "rounds": 5}');

-- errors
SELECT * FROM reframe.train('bad', 'SELECT at, x, y FROM drift_past', 'y', options => '{"split": "time"}');
SELECT * FROM reframe.train('bad', 'SELECT at::text AS t, x, y FROM drift_past', 'y', options => '{"split": "time", "split_by": "t"}');
SELECT * FROM reframe.train('bad', 'SELECT at, x, y FROM drift_past', 'y', options => '{"split": "latest", "split_by": "at"}');
SELECT * FROM reframe.train('bad', 'SELECT NULL::date AS at, x, y FROM drift_past', 'y', options => '{"split": "time", "split_by": "at"}');
SELECT count(reframe.drop_model(m)) AS dropped FROM unnest(ARRAY['by_random', 'by_time', 'by_day', 'by_i']) m;
DROP TABLE runs, errors;
DROP VIEW drift_past, drift_next;
DROP TABLE drift;
