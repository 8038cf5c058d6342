-- What used to be silently wrong is an error, or follows a stated rule.
-- the linear family's framings: without "model" it is trained by this setting (default_model tests the default)
SET reframe.default_model = linear;
SET client_min_messages = warning;
CREATE TABLE visits AS
SELECT i, (i % 7)::float8 AS hour, sin(i) * 3 AS spend,
       (ARRAY['web', 'app', 'shop'])[1 + i % 3] AS channel,
       sin(i) * 3 + (i % 7) * 0.5 + (i % 3) + 0.2 * cos(i * 13) AS basket,
       sin(i) * 3 + (i % 7) * 0.5 > 1.5 AS returned
  FROM generate_series(1, 400) i;
SELECT 1 FROM reframe.train('basket', 'SELECT hour, spend, channel, basket FROM visits', 'basket',
                            options => '{"l2": 0.01, "validation": 0}');
SELECT 1 FROM reframe.train('plain', 'SELECT hour, spend, basket FROM visits', 'basket',
                            options => '{"l2": 0.01, "validation": 0}');
SELECT 1 FROM reframe.train('back', 'SELECT hour, spend, returned FROM visits', 'returned',
                            options => '{"l2": 0.01, "validation": 0}');
\set VERBOSITY terse

-- 1. an integer for a column trained as text is an error, not an unseen category
SELECT reframe.score('basket', r) FROM (SELECT 2.0::float8 AS hour, 1.0::float8 AS spend, 7 AS channel) r;
SELECT round(reframe.score('basket', r)::numeric, 6) AS text_channel
  FROM (SELECT 2.0::float8 AS hour, 1.0::float8 AS spend, 'app' AS channel) r;

-- 2. a feature so large that an output overflows is an error, not Infinity
SELECT 1 FROM reframe.train('huge', 'SELECT hour, spend, basket * 1e100 AS basket FROM visits', 'basket',
                            options => '{"l2": 0.01, "validation": 0}');
SELECT reframe.score('huge', ARRAY[1, 2]::float8[]) > 1e99 AS finite_score;
SELECT reframe.score('huge', ARRAY[1e308, 1e308]::float8[]);
SELECT reframe.score('huge', r) FROM (SELECT 1e308::float8 AS hour, 1e308::float8 AS spend) r;
SELECT reframe.predict('huge', ARRAY[1e308, 1e308]::float8[]);
-- a target so large that the model itself overflows is refused at training
SELECT 1 FROM reframe.train('huger', 'SELECT hour, spend, basket * 1e307 AS basket FROM visits', 'basket',
                            options => '{"l2": 0.01, "validation": 0}');
SELECT reframe.score('back', ARRAY[1e308, 1e308]::float8[]) IN (0, 1) AS saturated_probability_or_error;

-- 3. integer and numeric arrays score as float8[] does
SELECT reframe.score('plain', ARRAY[3, 2]) = reframe.score('plain', ARRAY[3, 2]::float8[]) AS int_array,
       reframe.score('plain', ARRAY[3.5, 2.25]) = reframe.score('plain', ARRAY[3.5, 2.25]::float8[]) AS numeric_array,
       reframe.score('plain', ARRAY[3, 2]::bigint[]) = reframe.score('plain', ARRAY[3, 2]::float8[]) AS bigint_array,
       reframe.predict('back', ARRAY[3, 2]) = reframe.predict('back', ARRAY[3, 2]::float8[]) AS predict_int;
SELECT reframe.score('plain', ARRAY[3, NULL]::int[]);
SELECT reframe.score('plain', ARRAY['NaN', 2]::numeric[]);

-- 4. one rule for every metric aggregate: NaN is an error naming the metric;
--    NULL rows are skipped
SELECT reframe.roc_auc(s, y) FROM (VALUES (0.2::float8, false), ('NaN', true), (0.7, true)) v(s, y);
SELECT reframe.rmse(p, a) FROM (VALUES (1.0::float8, 1.5::float8), ('NaN', 2)) v(p, a);
SELECT reframe.mae(p, a) FROM (VALUES (1.0::float8, 'NaN'::float8)) v(p, a);
SELECT reframe.r2(p, a) FROM (VALUES (1.0::float8, 'NaN'::float8), (2, 3)) v(p, a);
SELECT reframe.log_loss(p, y) FROM (VALUES ('NaN'::float8, true)) v(p, y);
SELECT reframe.cross_entropy(p, 1) FROM (VALUES (ARRAY['NaN', 0.5]::float8[])) v(p);
SELECT reframe.ndcg(s, r, 3) FROM (VALUES (0.5::float8, 'NaN'::float8)) v(s, r);
SELECT reframe.roc_curve(s, y) FROM (VALUES ('NaN'::float8, true)) v(s, y);
SELECT reframe.rmse(p, a, w) FROM (VALUES (1.0::float8, 2.0::float8, 'NaN'::float8)) v(p, a, w);
SELECT round(reframe.roc_auc(s, y)::numeric, 4) AS auc_without_nulls
  FROM (VALUES (0.2::float8, false), (NULL, true), (0.7, true), (0.4, NULL)) v(s, y);
SELECT reframe.rmse(p, a) AS infinite_error FROM (VALUES ('Infinity'::float8, 1.0::float8)) v(p, a);

-- 5. model names: never truncated; train returns the name as stored
SELECT model FROM reframe.train(repeat('m', 64), 'SELECT hour, basket FROM visits', 'basket');
SELECT model FROM reframe.train(repeat('m', 63), 'SELECT hour, basket FROM visits', 'basket');
SELECT model FROM reframe.train('Basket_Mixed', 'SELECT hour, basket FROM visits', 'basket');
SELECT model FROM reframe.train('"Basket Quoted"', 'SELECT hour, basket FROM visits', 'basket');
SELECT model FROM reframe.train('public.Basket_Schema', 'SELECT hour, basket FROM visits', 'basket');
SELECT relname FROM pg_class WHERE relname ILIKE 'basket_%' OR relname = 'Basket Quoted' ORDER BY 1;
SELECT reframe.score(repeat('m', 70), ARRAY[1.0]::float8[]);

-- 6. a source runs read-only: side effects fail, and change nothing
CREATE SEQUENCE visit_seq;
CREATE TABLE audit (i int);
CREATE FUNCTION logged(i int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN INSERT INTO audit VALUES (i); RETURN i; END $$;
\set VERBOSITY default
SELECT * FROM reframe.train('side', 'SELECT hour, basket, nextval(''visit_seq'') AS n FROM visits', 'basket');
\set VERBOSITY terse
SELECT * FROM reframe.train('side', 'SELECT hour, basket, logged(i) AS n FROM visits', 'basket');
SELECT reframe.evaluate('plain', 'SELECT hour, spend, basket, logged(i) FROM visits');
SELECT reframe.cross_validate('SELECT hour, basket, logged(i) AS n FROM visits', 'basket');
SELECT (SELECT count(*) FROM audit) AS audit_rows, (SELECT last_value FROM visit_seq) AS seq,
       (SELECT is_called FROM visit_seq) AS seq_called, to_regclass('side') AS side_table;
-- the transaction is writable again after a failed or a finished training
BEGIN;
SELECT 1 FROM reframe.train('plain', 'SELECT hour, spend, basket FROM visits', 'basket',
                            options => '{"l2": 0.01, "validation": 0, "deploy": "never"}');
INSERT INTO audit VALUES (1);
SAVEPOINT s;
SELECT * FROM reframe.train('side', 'SELECT hour, basket, logged(i) AS n FROM visits', 'basket');
ROLLBACK TO s;
INSERT INTO audit VALUES (2);
SELECT count(*) AS written FROM audit;
ROLLBACK;

-- 7. "deploy": "if_better" deploys only a strictly better version: the same
--    data and options again make a tie, which keeps the deployed version;
--    a version that spilled its validation rows to a temporary file leaves
--    no file behind (no "temporary file leak" warning)
CREATE TABLE many AS
SELECT i, (i % 7)::float8 AS hour, sin(i) * 3 AS spend, (ARRAY['web', 'app', 'shop'])[1 + i % 3] AS channel,
       sin(i) * 3 + (i % 7) * 0.5 + (i % 3) + 0.5 * cos(i * 13) + (i % 5) * 0.1 AS basket
  FROM generate_series(1, 20000) i;
SET work_mem = '64kB';
SELECT version, deployed FROM reframe.train('tie', 'SELECT hour, spend, basket FROM many', 'basket',
                                            options => '{"l2": 0.01, "seed": 3}');
SELECT version, deployed, metrics->'comparison'->>'deployed' = metrics->'comparison'->>'candidate' AS tie
  FROM reframe.train('tie', 'SELECT hour, spend, basket FROM many', 'basket',
                     options => '{"l2": 0.01, "seed": 3, "deploy": "if_better"}');
SELECT version, deployed, (metrics->'comparison'->>'candidate')::float8 < (metrics->'comparison'->>'deployed')::float8 AS better
  FROM reframe.train('tie', 'SELECT hour, spend, channel, basket FROM many', 'basket',
                     options => '{"l2": 0.01, "seed": 3, "deploy": "if_better"}');
RESET work_mem;

SELECT reframe.drop_model(m) FROM unnest(ARRAY['basket', 'plain', 'back', 'huge', repeat('m', 63), 'basket_mixed',
                                               '"Basket Quoted"', 'basket_schema', 'tie']) m;
DROP TABLE visits, audit, many;
DROP FUNCTION logged;
DROP SEQUENCE visit_seq;
