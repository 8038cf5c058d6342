-- "sample": a seeded, uniform sample of the source's rows, for data larger
-- than memory (trees, networks) or quick first models
-- the linear family's framings: without "model" it is trained by this setting (default_model tests the default)
SET reframe.default_model = linear;
SET client_min_messages = warning;
CREATE TABLE big AS
SELECT i, (i % 1000) / 1000.0 AS a, sin(i) AS b, (i % 7)::text AS k,
       (i % 1000) / 1000.0 + sin(i) + (i % 7) * 0.1 AS y
FROM generate_series(1, 40000) i;
-- what a version's training recorded
CREATE FUNCTION training(m text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE t jsonb;
BEGIN
    EXECUTE format('SELECT spec -> ''training'' FROM %I WHERE block = '''' AND deployed', m) INTO t;
    RETURN t;
END $$;

-- the kept share is within 4 standard deviations of the fraction asked
CREATE TABLE shares AS
SELECT f, train_rows + validation_rows AS kept
FROM (VALUES (0.05), (0.3), (0.9)) v(f),
     LATERAL reframe.train('s_' || (f * 100)::int, 'big', 'y', options => jsonb_build_object('sample', f, 'model', 'trees', 'rounds', 5)) t;
SELECT f, abs(kept - 40000 * f) < 4 * sqrt(40000 * f * (1 - f)) AS share_as_asked,
       (training('s_' || (f * 100)::int) #>> '{sample,share}')::float8 = f AS recorded,
       (training('s_' || (f * 100)::int) #>> '{sample,rows_left_out}')::int = 40000 - kept AS left_out
FROM shares ORDER BY f;
-- a number of rows: about that many (the share is count / rows)
SELECT abs(train_rows + validation_rows - 2000) < 4 * sqrt(2000) AS about_2000_rows
FROM reframe.train('s_rows', 'big', 'y', options => '{"sample": 2000, "model": "neural", "hidden": [4], "max_iter": 20}');
SELECT train_rows + validation_rows AS all_rows FROM reframe.train('s_more', 'big', 'y', options => '{"sample": 100000, "model": "trees", "rounds": 2}');

-- seeded: the same seed keeps the same rows, another seed others
SELECT a.train_rows = b.train_rows AND a.validation_rows = b.validation_rows AS same_rows,
       a.train_rows <> c.train_rows AS other_seed_other_rows
FROM reframe.train('s_a', 'big', 'y', options => '{"sample": 0.1, "seed": 1, "model": "trees", "rounds": 2}') a,
     reframe.train('s_b', 'big', 'y', options => '{"sample": 0.1, "seed": 1, "model": "trees", "rounds": 2}') b,
     reframe.train('s_c', 'big', 'y', options => '{"sample": 0.1, "seed": 2, "model": "trees", "rounds": 2}') c;

-- uniform: the kept rows' feature means (the encoder's shift, over the
-- training rows) match the table's within 4 standard errors
CREATE TABLE lin AS SELECT train_rows AS n FROM reframe.train('s_lin', 'SELECT a, b, y FROM big', 'y', options => '{"sample": 0.05, "l2": 0.1}');
SELECT abs(shift[1] - 0.4995) < 4 * 0.2887 / sqrt(n) AS mean_a_as_table,
       abs(shift[2] - (SELECT avg(b) FROM big)) < 4 * 0.7071 / sqrt(n) AS mean_b_as_table
FROM (SELECT w.data AS shift FROM reframe.weights('s_lin') w WHERE block = 'encoder.shift') e, lin;

-- data larger than reframe.max_train_memory: a clear error, and a sample fits
SET reframe.max_train_memory = '1MB';
SELECT * FROM reframe.train('s_mem', 'big', 'y', options => '{"model": "trees", "rounds": 2}');
SELECT train_rows + validation_rows BETWEEN 300 AND 500 AS about_one_percent
  FROM reframe.train('s_mem', 'big', 'y', options => '{"model": "trees", "rounds": 2, "sample": 0.01}');
RESET reframe.max_train_memory;

-- what "sample" accepts
SELECT * FROM reframe.train('bad', 'big', 'y', options => '{"sample": 0}');
SELECT * FROM reframe.train('bad', 'big', 'y', options => '{"sample": -1}');
SELECT * FROM reframe.train('bad', 'big', 'y', options => '{"sample": 12.5}');
SELECT * FROM reframe.train('bad', 'big', 'y', options => '{"sample": "10%"}');
SELECT * FROM reframe.train('bad', 'SELECT * FROM big WHERE false', 'y', options => '{"sample": 10}');
SELECT * FROM reframe.train('bad', 'big', 'y', options => '{"sample": 1e-9}');

SELECT count(reframe.drop_model(name)) AS dropped FROM (SELECT DISTINCT model AS name FROM reframe.models) m;
DROP TABLE big, lin, shares;
DROP FUNCTION training(text);
