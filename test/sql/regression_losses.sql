-- Regression with absolute and Huber losses, checked against their
-- optimality conditions computed here in SQL.
-- the linear family's framings: without "model" it is trained by this setting (default_model tests the default)
SET reframe.default_model = linear;
CREATE TABLE obs AS
SELECT i, (sin(i * 0.37) * 3)::float8 AS x,
       (2 * sin(i * 0.37) * 3 + 1 + CASE WHEN i % 25 = 0 THEN 40 ELSE sin(i * 7.7) END)::float8 AS y
  FROM generate_series(1, 500) i;

-- Huber on the standardized target with delta 1 and l2 = 0: the residuals
-- clipped at delta (in target units: delta * sd) average to zero, alone and
-- times the standardized feature.
SELECT task, converged FROM reframe.train('hub', 'SELECT x, y FROM obs', 'y',
                                          options => '{"loss": "huber", "l2": 0, "validation": 0, "tol": 1e-10}');
WITH s AS (SELECT stddev_pop(y) AS sd, avg(x) AS mx, stddev_pop(x) AS sx FROM obs),
     r AS (SELECT greatest(-s.sd, least(s.sd, o.y - reframe.score('hub', o))) AS c, (o.x - s.mx) / s.sx AS z
             FROM obs o, s)
SELECT abs(avg(c)) / (SELECT sd FROM s) < 1e-6 AS intercept, abs(avg(c * z)) / (SELECT sd FROM s) < 1e-6 AS slope FROM r;
-- the outliers pull a squared-loss fit more than a Huber fit
SELECT version FROM reframe.train('sq', 'SELECT x, y FROM obs', 'y', options => '{"l2": 0, "validation": 0}');
SELECT abs(reframe.score('hub', ARRAY[0]::float8[]) - 1) < abs(reframe.score('sq', ARRAY[0]::float8[]) - 1) AS huber_resists;

-- Absolute loss estimates the conditional median: about as many residuals
-- above as below the fit.
SELECT task, converged FROM reframe.train('med', 'SELECT x, y FROM obs', 'y',
                                          options => '{"loss": "absolute", "l2": 0, "validation": 0, "tol": 1e-8, "max_iter": 1000}');
SELECT abs(count(*) FILTER (WHERE y > reframe.score('med', o)) - count(*) FILTER (WHERE y < reframe.score('med', o))) <= 10 AS balanced
  FROM obs o;
SELECT round((reframe.score('med', ARRAY[0]::float8[]))::numeric, 1) AS median_at_zero;

-- evaluate() for regression agrees with the aggregates
SELECT round((e->'metrics'->>'rmse')::numeric, 10) = round(reframe.rmse(reframe.score('sq', o), y)::numeric, 10) AS rmse,
       round((e->'metrics'->>'mae')::numeric, 10) = round(reframe.mae(reframe.score('sq', o), y)::numeric, 10) AS mae,
       round((e->'metrics'->>'r2')::numeric, 10) = round(reframe.r2(reframe.score('sq', o), y)::numeric, 10) AS r2
  FROM obs o, (SELECT reframe.evaluate('sq', 'obs') AS e) ev GROUP BY e;

DROP TABLE obs, hub, sq, med;
