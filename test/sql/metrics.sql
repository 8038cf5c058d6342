-- Metric aggregates against values computed by hand and by a second method.
CREATE TABLE reg (pred float8, actual float8);
INSERT INTO reg VALUES (1, 1), (2, 3), (3, 2), (4, 6), (NULL, 5), (7, NULL);

-- errors 0, -1, 1, -2 (the NULL rows are skipped):
-- SSE = 6, RMSE = sqrt(6/4), MAE = 4/4, SST = 4 + 0 + 1 + 9 = 14, R2 = 1 - 6/14
SELECT round(reframe.rmse(pred, actual)::numeric, 12) AS rmse,
       round(sqrt(6.0 / 4), 12) AS rmse_by_hand,
       reframe.mae(pred, actual) AS mae,
       round(reframe.r2(pred, actual)::numeric, 12) AS r2,
       round(1 - 6.0 / 14, 12) AS r2_by_hand
  FROM reg;

CREATE TABLE cls (p float8, y bool);
INSERT INTO cls VALUES (0.9, true), (0.2, false), (0.6, false), (0.5, true), (NULL, true);
SELECT round(reframe.log_loss(p, y)::numeric, 12) AS log_loss,
       round(((-ln(0.9) - ln(0.8) - ln(0.4) - ln(0.5)) / 4)::numeric, 12) AS by_hand
  FROM cls;
-- probabilities 0 and 1 are clipped, not infinite
SELECT reframe.log_loss(p, y) < 40 AS finite FROM (VALUES (0.0, true), (1.0, false)) v(p, y);
SELECT reframe.log_loss(1.5, true);

-- cross-entropy: the true class is the 1-based position in p
SELECT round(reframe.cross_entropy(p, c)::numeric, 12) AS cross_entropy,
       round(((-ln(0.7) - ln(0.5) - ln(0.1)) / 3)::numeric, 12) AS by_hand
  FROM (VALUES ('{0.7,0.2,0.1}'::float8[], 1), ('{0.25,0.5,0.25}', 2), ('{0.6,0.3,0.1}', 3)) v(p, c);
SELECT reframe.cross_entropy('{0.5,0.5}'::float8[], 3);
SELECT reframe.cross_entropy('{0.5,NULL}'::float8[], 1);

-- accuracy works on any type with equality
SELECT reframe.accuracy(a, b) FROM (VALUES ('x', 'x'), ('y', 'x'), ('z', 'z'), ('w', NULL)) v(a, b);
SELECT reframe.accuracy(a, b) FROM (VALUES (1, 1), (2, 2), (3, 4), (5, 5)) v(a, b);
SELECT reframe.accuracy(a, b) FROM (VALUES (true, false)) v(a, b);

-- roc_auc is exact with ties counted one half: positives 0.35, 0.8, 0.4 and
-- negatives 0.1, 0.4 give pairs 1 + 0 + 1 + 1 + 1 + 0.5 = 4.5 of 6
CREATE TABLE auc (s float8, y bool);
INSERT INTO auc VALUES (0.1, false), (0.4, false), (0.35, true), (0.8, true), (0.4, true), (NULL, true);
SELECT reframe.roc_auc(s, y) AS auc, 4.5 / 6 AS by_hand,
       (SELECT avg(CASE WHEN p.s > n.s THEN 1 WHEN p.s = n.s THEN 0.5 ELSE 0 END)
          FROM auc p, auc n WHERE p.y AND NOT n.y AND p.s IS NOT NULL) AS pairwise
  FROM auc;
-- one class only: undefined
SELECT reframe.roc_auc(s, y) FROM auc WHERE y;

-- empty input and a filter that matches nothing give NULL
SELECT reframe.rmse(pred, actual), reframe.mae(pred, actual), reframe.r2(pred, actual)
  FROM reg WHERE false;
SELECT reframe.log_loss(p, y), reframe.roc_auc(p, y) FROM cls WHERE false;

-- malformed states passed to the support functions are errors, not crashes
SELECT reframe.rmse_final('{1,2,3}');
SELECT reframe.sum_combine('{1,2}', '{NULL,2}');
SELECT reframe.r2_final('{1,2}');
SELECT reframe.auc_final('\x0102030405060708091011121314151617181920');
SELECT reframe.auc_combine('\x00', '\x');

-- parallel plans: the same results as serial ones
CREATE TABLE big AS
  SELECT i, sin(i) * 10 AS pred, sin(i) * 10 + cos(i * 7) AS actual,
         (sin(i) + 1) / 2 AS p, cos(i * 3) > 0 AS y, (i % 4) AS c
    FROM generate_series(1, 200000) i;
ANALYZE big;
CREATE TEMP TABLE serial AS
  SELECT reframe.rmse(pred, actual) AS rmse, reframe.mae(pred, actual) AS mae,
         reframe.r2(pred, actual) AS r2, reframe.log_loss(p, y) AS ll,
         reframe.accuracy(c, 2) AS acc, reframe.roc_auc(p, y) AS auc
    FROM big;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF)
  SELECT reframe.rmse(pred, actual), reframe.mae(pred, actual), reframe.r2(pred, actual),
         reframe.log_loss(p, y), reframe.accuracy(c, 2), reframe.roc_auc(p, y)
    FROM big;
CREATE TEMP TABLE parallel AS
  SELECT reframe.rmse(pred, actual) AS rmse, reframe.mae(pred, actual) AS mae,
         reframe.r2(pred, actual) AS r2, reframe.log_loss(p, y) AS ll,
         reframe.accuracy(c, 2) AS acc, reframe.roc_auc(p, y) AS auc
    FROM big;
SELECT abs(s.rmse - p.rmse) < 1e-12 * s.rmse AS rmse_same,
       abs(s.mae - p.mae) < 1e-12 * s.mae AS mae_same,
       abs(s.r2 - p.r2) < 1e-12 AS r2_same,
       abs(s.ll - p.ll) < 1e-12 * s.ll AS log_loss_same,
       s.acc = p.acc AS accuracy_same,
       s.auc = p.auc AS auc_same
  FROM serial s, parallel p;
-- and agree with a second method
SELECT abs(p.rmse - (SELECT sqrt(avg((pred - actual)^2)) FROM big)) < 1e-9 AS rmse_ok,
       abs(p.r2 - (SELECT 1 - sum((actual - pred)^2) / (var_pop(actual) * count(*)) FROM big)) < 1e-9 AS r2_ok,
       p.acc = 0.25 AS accuracy_ok
  FROM parallel p;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
DROP TABLE reg, cls, auc, big;
