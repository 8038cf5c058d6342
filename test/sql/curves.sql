-- Curves as aggregates over (score, label): every point checked against the
-- same quantity computed in plain SQL, the ROC curve's area against
-- roc_auc, and parallel plans against serial ones.
CREATE TABLE curve_scored AS
SELECT i, (0.5 + 0.45 * sin(i * 1.7))::float8 AS p, sin(i * 1.7) + cos(i * 0.31) > 0 AS y,
       (3 * sin(i) + 1)::float8 AS pred, (3 * sin(i) + 1 + cos(i * 7))::float8 AS actual
  FROM generate_series(1, 400) i;

-- ROC: each point's rates at its threshold (score >= threshold is positive)
WITH pts AS (SELECT * FROM jsonb_to_recordset((SELECT reframe.roc_curve(p, y) FROM curve_scored))
                          AS r(threshold float8, fpr float8, tpr float8)),
     totals AS (SELECT count(*) FILTER (WHERE y) AS pos, count(*) FILTER (WHERE NOT y) AS neg FROM curve_scored)
SELECT count(*) AS points,
       bool_and(abs(tpr - (SELECT count(*) FILTER (WHERE y AND p >= threshold) FROM curve_scored)::float8 / pos) < 1e-12
                AND abs(fpr - (SELECT count(*) FILTER (WHERE NOT y AND p >= threshold) FROM curve_scored)::float8 / neg) < 1e-12)
           AS rates_right
  FROM pts, totals;
-- its trapezoids add up to roc_auc
WITH pts AS (SELECT * FROM jsonb_to_recordset((SELECT reframe.roc_curve(p, y) FROM curve_scored))
                          AS r(threshold float8, fpr float8, tpr float8))
SELECT abs(sum((fpr - prev_fpr) * (tpr + prev_tpr) / 2) - (SELECT reframe.roc_auc(p, y) FROM curve_scored)) < 1e-12 AS area_is_auc
  FROM (SELECT fpr, tpr, lag(fpr) OVER w AS prev_fpr, lag(tpr) OVER w AS prev_tpr FROM pts WINDOW w AS (ORDER BY threshold DESC)) x
 WHERE prev_fpr IS NOT NULL;
-- precision-recall
WITH pts AS (SELECT * FROM jsonb_to_recordset((SELECT reframe.pr_curve(p, y) FROM curve_scored))
                          AS r(threshold float8, recall float8, precision float8))
SELECT bool_and(abs(precision - (SELECT avg(y::int) FROM curve_scored WHERE p >= threshold)) < 1e-12) AS precision_right,
       max(recall) AS last_recall
  FROM pts;
-- calibration: ten bins of the probability
SELECT bool_and(c.rows = s.rows AND abs(c.mean_predicted - s.mp) < 1e-12 AND abs(c.fraction_positive - s.fp) < 1e-12)
       AS bins_right, count(*) AS bins
  FROM jsonb_to_recordset((SELECT reframe.calibration(p, y) FROM curve_scored))
       AS c(bin int, rows float8, mean_predicted float8, fraction_positive float8)
  JOIN (SELECT least(floor(p * 10), 9)::int + 1 AS bin, count(*) AS rows, avg(p) AS mp, avg(y::int) AS fp
          FROM curve_scored GROUP BY 1) s USING (bin);
-- lift: deciles of the ranking by score
WITH ranked AS (SELECT y, row_number() OVER (ORDER BY p DESC) AS r FROM curve_scored),
     pos AS (SELECT count(*) FILTER (WHERE y) AS n FROM curve_scored)
SELECT bool_and(abs(l.gain - (SELECT count(*) FILTER (WHERE y) FROM ranked WHERE r <= 40 * l.decile)::float8 / pos.n) < 1e-12
                AND abs(l.lift - l.gain / l.fraction) < 1e-12) AS gains_right
  FROM jsonb_to_recordset((SELECT reframe.lift(p, y) FROM curve_scored)) AS l(decile int, fraction float8, gain float8, lift float8), pos;
-- residuals: deciles of the prediction, lowest first
WITH ranked AS (SELECT pred, actual, ntile(10) OVER (ORDER BY pred) AS d FROM curve_scored)
SELECT bool_and(abs(r.mean_residual - s.mr) < 1e-12 AND abs(r.rmse - s.rmse) < 1e-12 AND r.rows = s.rows) AS residuals_right
  FROM jsonb_to_recordset((SELECT reframe.residuals(pred, actual) FROM curve_scored))
       AS r(decile int, rows float8, mean_residual float8, rmse float8)
  JOIN (SELECT d AS decile, count(*) AS rows, avg(actual - pred) AS mr, sqrt(avg((actual - pred) ^ 2)) AS rmse
          FROM ranked GROUP BY d) s USING (decile);

-- parallel plans (every row in a worker) give the same curves as a serial one
CREATE TABLE curve_rows AS
SELECT i, random() AS p, random() < 0.3 AS y, random() AS pred, random() AS actual FROM generate_series(1, 60000) i;
ANALYZE curve_rows;
CREATE TABLE curve_serial AS
SELECT reframe.roc_curve(p, y) AS roc, reframe.calibration(p, y) AS cal, reframe.lift(p, y) AS lift,
       reframe.residuals(pred, actual) AS res FROM curve_rows;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT reframe.roc_curve(p, y) FROM curve_rows;
CREATE TABLE curve_parallel AS
SELECT reframe.roc_curve(p, y) AS roc, reframe.calibration(p, y) AS cal, reframe.lift(p, y) AS lift,
       reframe.residuals(pred, actual) AS res FROM curve_rows;
-- the same points; sums of a bin may be added in another order: equal within 1e-12
CREATE FUNCTION curve_close(a jsonb, b jsonb) RETURNS bool LANGUAGE sql AS $$
    SELECT jsonb_array_length(a) = jsonb_array_length(b) AND
           bool_and((SELECT bool_and(abs((x.value)::text::float8 - (b->(i::int - 1)->>x.key)::float8) < 1e-12)
                       FROM jsonb_each(e) x))
      FROM jsonb_array_elements(a) WITH ORDINALITY AS t(e, i) $$;
SELECT s.roc = x.roc AS roc_same, curve_close(s.cal, x.cal) AS calibration_same, s.lift = x.lift AS lift_same,
       curve_close(s.res, x.res) AS residuals_same
  FROM curve_serial s, curve_parallel x;
RESET ALL;
SELECT jsonb_array_length(roc) <= 1002 AS thinned FROM curve_serial;

-- the loss after each iteration, as rows
SET client_min_messages = warning;
SELECT 1 FROM reframe.train('curvy', 'SELECT p, pred, y FROM curve_scored', 'y');
SELECT min(iteration) AS first, max(iteration) = (SELECT (spec->'training'->>'iterations')::int FROM curvy WHERE block = '')
       AS last_is_iterations, bool_and(loss > 0) AS positive,
       (array_agg(loss ORDER BY iteration))[1] >= (array_agg(loss ORDER BY iteration DESC))[1] AS decreased
  FROM reframe.loss_history('curvy');
RESET client_min_messages;

-- no rows, one class, bad probabilities
SELECT reframe.roc_curve(p, y) IS NULL AS no_rows FROM curve_scored WHERE false;
SELECT reframe.roc_curve(p, true) IS NULL AS one_class FROM curve_scored;
SELECT reframe.calibration(p * 2, y) FROM curve_scored;
SELECT reframe.roc_curve('NaN', y) FROM curve_scored;
SELECT * FROM reframe.loss_history('no_such_model');
SELECT reframe.drop_model('curvy');

-- through evaluate: "curves": true gives the same curves as the aggregates
SET client_min_messages = warning;
CREATE TABLE curve_eval AS
SELECT i, sin(i)::float8 AS a, cos(i * 0.3)::float8 AS b, sin(i) + cos(i * 0.3) + sin(i * 5) > 0 AS yes,
       (2 * sin(i) + cos(i * 0.3) + 0.3 * sin(i * 5))::float8 AS r
  FROM generate_series(1, 500) i;
SELECT 1 FROM reframe.train('ce_bin', 'SELECT a, b, yes FROM curve_eval', 'yes');
SELECT 1 FROM reframe.train('ce_reg', 'SELECT a, b, r FROM curve_eval', 'r');
-- (evaluate runs the network row by row, score folds the encoder into the
-- weights: the scores may differ in their last bits)
SELECT curve_close(e->'curves'->'roc', (SELECT reframe.roc_curve(reframe.score('ce_bin', c), yes) FROM curve_eval c)) AS roc_same,
       curve_close(e->'curves'->'pr', (SELECT reframe.pr_curve(reframe.score('ce_bin', c), yes) FROM curve_eval c)) AS pr_same,
       curve_close(e->'curves'->'lift', (SELECT reframe.lift(reframe.score('ce_bin', c), yes) FROM curve_eval c)) AS lift_same,
       jsonb_array_length(e->'curves'->'calibration') > 0 AS calibrated
  FROM (SELECT reframe.evaluate('ce_bin', 'curve_eval', '{"curves": true}') AS e) x;
SELECT jsonb_array_length(e->'curves'->'residuals') AS deciles
  FROM (SELECT reframe.evaluate('ce_reg', 'curve_eval', '{"curves": true}') AS e) x;
SELECT reframe.evaluate('ce_reg', 'curve_eval', '{"curves": 1}');
SELECT reframe.drop_model('ce_bin'), reframe.drop_model('ce_reg');
DROP TABLE curve_eval;
DROP TABLE curve_scored, curve_rows, curve_serial, curve_parallel;
DROP FUNCTION curve_close(jsonb, jsonb);

-- the expected calibration error of a binary model's metrics is the
-- calibration curve's gaps weighted by their rows
SET client_min_messages = warning;
CREATE TABLE ece_rows AS SELECT i, sin(i)::float8 AS a, cos(i * 0.3)::float8 AS b,
       sin(i) + 0.7 * cos(i * 0.3) + 0.8 * sin(i * 7) > 0 AS yes FROM generate_series(1, 800) i;
SELECT 1 FROM reframe.train('ece_bin', 'SELECT a, b, yes FROM ece_rows', 'yes');
SELECT abs((reframe.evaluate('ece_bin', 'ece_rows')->'metrics'->>'ece')::float8 -
           (SELECT sum(rows * abs(mean_predicted - fraction_positive)) / sum(rows)
              FROM jsonb_to_recordset((SELECT reframe.calibration(reframe.score('ece_bin', e), yes) FROM ece_rows e))
                   AS c(rows float8, mean_predicted float8, fraction_positive float8))) < 1e-9 AS ece_is_calibration_gap;
SELECT reframe.drop_model('ece_bin');
DROP TABLE ece_rows;
