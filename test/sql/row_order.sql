-- The same rows give the same model, in whatever order the source returns
-- them (a parallel scan, a Citus cluster's tasks): every family and framing
-- that reads rows, trained three times on the same rows in three orders,
-- stores the same blocks and the same spec (but its source and timings).
SET client_min_messages = warning;
-- sources are read in parallel where the plan allows: rows in any order
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
CREATE TABLE ro_src AS
SELECT i AS id,
       ((hashint4(i) % 1000) / 100.0)::float8 AS x1,
       ((hashint4(i + 7919) % 1000) / 250.0)::float8 AS x2,
       (ARRAY['red', 'green', 'blue'])[1 + abs(hashint4(i + 31)) % 3] AS colour,
       1700000000 + (hashint4(i + 97) % 100000)::float8 AS stamp,
       (hashint4(i) % 1000) / 100.0 + (hashint4(i + 7919) % 1000) / 250.0
         + (hashint4(i * 3) % 500) / 100.0 > 0 AS y,
       (ARRAY['a', 'b', 'c'])[1 + abs(hashint4(i) % 1000 + hashint4(i * 5) % 400) / 467] AS kind,
       i / 20 AS session,
       ((hashint4(i) % 1000) / 100.0 + (hashint4(i * 3) % 500) / 100.0)::float8 AS amount
FROM generate_series(1, 3000) i;
CREATE TABLE ro_asc AS SELECT * FROM ro_src ORDER BY id;
CREATE TABLE ro_desc AS SELECT * FROM ro_src ORDER BY id DESC;
CREATE TABLE ro_mixed AS SELECT * FROM ro_src ORDER BY md5(id::text);
-- a version's fingerprint: its blocks, and its spec without source and timings
CREATE FUNCTION fingerprint(m text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
  EXECUTE format($q$SELECT md5(string_agg(block || part || coalesce(data::text, '')
                   || coalesce(regexp_replace((spec - 'source')::text, '"[a-z_]*seconds": [0-9.e+-]+', '', 'g'), ''),
                   ',' ORDER BY block, part)) FROM %I$q$, m) INTO r;
  RETURN r;
END $$;
-- trains on the three orders; how many different models came out
CREATE FUNCTION models_from_three_orders(src text, target text, task text, opts jsonb) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE f text[] := '{}'; t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['ro_asc', 'ro_desc', 'ro_mixed'] LOOP
    EXECUTE format('DROP TABLE IF EXISTS %I', 'm_' || t);
    PERFORM reframe.train('m_' || t, format(src, t), target, task, opts);
    f := f || fingerprint('m_' || t);
  END LOOP;
  RETURN (SELECT count(DISTINCT x) FROM unnest(f) x);
END $$;
SELECT framing, models_from_three_orders(src, target, task, opts::jsonb) AS models
FROM (VALUES
  ('trees, sampled',  'SELECT x1, x2, colour, stamp, y FROM %s', 'y', 'binary', '{"model": "trees", "sample": 0.5, "rounds": 60}'),
  ('trees, subsample', 'SELECT x1, x2, colour, stamp, amount FROM %s', 'amount', 'regression', '{"model": "trees", "subsample": 0.5, "rounds": 40}'),
  ('neural',          'SELECT x1, x2, colour, stamp, y FROM %s', 'y', 'binary', '{"model": "neural"}'),
  ('linear binary',   'SELECT x1, x2, colour, stamp, y FROM %s', 'y', 'binary', '{"model": "linear"}'),
  ('linear multiclass', 'SELECT x1, x2, colour, stamp, kind FROM %s', 'kind', 'multiclass', '{"model": "linear"}'),
  ('neural multitask', 'SELECT x1, x2, colour, y, kind FROM %s', 'y,kind', 'multitask', '{"model": "neural", "max_iter": 30}'),
  ('ranking',         'SELECT x1, x2, colour, y, session FROM %s', 'y', 'binary', '{"model": "trees", "group": "session"}'),
  ('default',         'SELECT x1, x2, colour, stamp, y FROM %s', 'y', 'binary', '{}')
) v(framing, src, target, task, opts);
-- single precision stores a timestamp-sized column as it is, yet its
-- standardization (sums relative to an origin) matches SQL's double-precision
-- mean and standard deviation over all rows to a tiny part of its spread
SELECT abs(a.data[4] - avg(stamp)) < 0.05 * stddev_pop(stamp) AS mean_as_sql,
       abs(s.data[4] / stddev_pop(stamp) - 1) < 0.05 AS sd_as_sql
FROM m_ro_asc a JOIN m_ro_asc s ON s.block = 'encoder.scale', ro_src
WHERE a.block = 'encoder.shift'
GROUP BY a.data, s.data;
SELECT count(reframe.drop_model(m)) AS dropped FROM unnest(ARRAY['m_ro_asc', 'm_ro_desc', 'm_ro_mixed']) m;
DROP TABLE ro_src, ro_asc, ro_desc, ro_mixed;
DROP FUNCTION fingerprint(text), models_from_three_orders(text, text, text, jsonb);
