-- Ridge regression against closed forms for many penalties and data sets.
BEGIN;
SET client_min_messages = warning;
-- closed forms of the linear family: trained without "model" by this setting
SET reframe.default_model = linear;
SELECT plan(20);

CREATE TEMP TABLE d AS
SELECT i, sin(i)::float8 * 10 + 50 AS a, cos(i * 1.7)::float8 * 3 + (i % 4) AS b,
       (4 * sin(i) * 10 - 7 * cos(i * 1.7) * 3 + 0.5 * ((i * 7919) % 31 - 15))::float8 AS y
  FROM generate_series(1, 300) i;

-- closed form on standardized features, for a given penalty
CREATE FUNCTION pg_temp.closed_form(l2 float8, OUT w1 float8, OUT w2 float8, OUT b float8)
LANGUAGE sql AS $$
  WITH s AS (SELECT corr(a, b) AS r, covar_pop(a, y) / stddev_pop(a) AS c1,
                    covar_pop(b, y) / stddev_pop(b) AS c2, avg(y) AS ybar FROM d)
  SELECT ((1 + l2) * c1 - r * c2) / ((1 + l2) ^ 2 - r ^ 2),
         ((1 + l2) * c2 - r * c1) / ((1 + l2) ^ 2 - r ^ 2), ybar FROM s
$$;

CREATE FUNCTION pg_temp.check_l2(l2 float8) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  cf record;
  w float8[];
  bias float8;
BEGIN
  PERFORM reframe.train('cf_model', 'SELECT a, b, y FROM d', 'y', NULL,
                        jsonb_build_object('l2', l2, 'validation', 0));
  SELECT * INTO cf FROM pg_temp.closed_form(l2);
  SELECT data INTO w FROM reframe.weights('cf_model') WHERE block = 'head.y.weight';
  SELECT data[1] INTO bias FROM reframe.weights('cf_model') WHERE block = 'head.y.bias';
  RETURN NEXT ok(abs(w[1] - cf.w1) <= 1e-6 * abs(cf.w1), format('l2 = %s: weight of a', l2));
  RETURN NEXT ok(abs(w[2] - cf.w2) <= 1e-6 * abs(cf.w2), format('l2 = %s: weight of b', l2));
  RETURN NEXT ok(abs(bias - cf.b) <= 1e-6 * abs(cf.b), format('l2 = %s: intercept', l2));
END
$$;

SELECT * FROM pg_temp.check_l2(0);
SELECT * FROM pg_temp.check_l2(0.001);
SELECT * FROM pg_temp.check_l2(0.1);
SELECT * FROM pg_temp.check_l2(1);
SELECT * FROM pg_temp.check_l2(10);

-- heavy penalties shrink the weights toward zero, monotonically
SELECT ok((SELECT abs(w1) FROM pg_temp.closed_form(100)) < (SELECT abs(w1) FROM pg_temp.closed_form(1)),
          'the closed form shrinks with l2');
SELECT ok(abs((SELECT data[1] FROM reframe.weights('cf_model', 5) WHERE block = 'head.y.weight'))
          < abs((SELECT data[1] FROM reframe.weights('cf_model', 1) WHERE block = 'head.y.weight')),
          'reframe shrinks with l2');
SELECT is((SELECT count(*) FROM reframe.models WHERE model = 'cf_model'), 5::bigint,
          'five versions in the registry');

-- training metrics agree with the metric aggregates over the scores
SELECT ok(abs((SELECT (metrics->'training'->>'rmse')::float8 FROM reframe.models
                WHERE model = 'cf_model' AND deployed)
              - (SELECT reframe.rmse(reframe.score('cf_model', d), y) FROM d)) < 1e-9,
          'stored training RMSE equals reframe.rmse over the scores');
SELECT ok(abs((SELECT (metrics->'training'->>'r2')::float8 FROM reframe.models
                WHERE model = 'cf_model' AND deployed)
              - (SELECT 1 - sum((y - reframe.score('cf_model', d)) ^ 2) / (var_pop(y) * count(*)) FROM d)) < 1e-9,
          'stored training R2 equals 1 - SSE/SST');

SELECT * FROM finish();
ROLLBACK;
