-- Gradient-boosted trees ("model": "trees"): every framing, checked against
-- second methods: closed forms for one-split trees (the mean of each side;
-- one Newton step of the log loss and of the softmax from the base rate),
-- and a traversal of the stored blocks written in SQL.
SET client_min_messages = warning;
-- s: a feature with one possible split; x, z: features with many
CREATE TABLE steps AS
SELECT i, (i % 10 >= 5)::int::float8 AS s, (i % 10)::float8 AS x, (i % 7)::float8 AS z,
       CASE WHEN i % 10 >= 5 THEN 10 ELSE 2 END + sin(i)::float8 AS y,
       (i % 10 >= 5) <> (i % 13 = 0) AS pos,
       CASE WHEN i % 10 < 5 THEN CASE WHEN i % 3 <> 0 THEN 'a' ELSE 'b' END
            ELSE CASE WHEN i % 4 <> 0 THEN 'c' ELSE 'b' END END AS k
  FROM generate_series(1, 300) i;

-- 1. one split, learning rate 1, no L2: each side scores its mean
SELECT task, iterations FROM reframe.train('stump', 'SELECT s, y FROM steps', 'y',
    options => '{"model": "trees", "rounds": 1, "max_depth": 1, "learning_rate": 1, "l2": 0, "min_child_weight": 0, "validation": 0}');
SELECT max(abs(reframe.score('stump', t) - m)) < 1e-5 AS sides_score_their_means
  FROM steps t JOIN (SELECT s, avg(y) AS m FROM steps GROUP BY 1) g USING (s);

-- 2. binary: one Newton step of the log loss from the base rate b, per side:
--    margin = b - sum(p0 - y) / sum(p0 (1 - p0)),  p0 = sigmoid(b)
SELECT task FROM reframe.train('stump_bin', 'SELECT s, pos FROM steps', 'pos',
    options => '{"model": "trees", "rounds": 1, "max_depth": 1, "learning_rate": 1, "l2": 0, "min_child_weight": 0, "validation": 0}');
WITH base AS (SELECT ln(share / (1 - share)) AS b, share AS p0
                FROM (SELECT (count(*) FILTER (WHERE pos) + 0.5) / (count(*) + 1.0) AS share FROM steps) q),
     side AS (SELECT s, b - sum(p0 - pos::int) / sum(p0 * (1 - p0)) AS margin
                FROM steps, base GROUP BY s, b)
SELECT max(abs(reframe.score('stump_bin', t) - 1 / (1 + exp(-margin)))) < 1e-6 AS newton_step_of_log_loss
  FROM steps t JOIN side USING (s);

-- 3. multiclass: one Newton step of the softmax per class and side, from
--    the base shares: margin_k = log(share_k) - sum(p0_k - [k]) / sum(p0_k (1 - p0_k))
SELECT task FROM reframe.train('stump_k', 'SELECT s, k FROM steps', 'k',
    options => '{"model": "trees", "rounds": 1, "max_depth": 1, "learning_rate": 1, "l2": 0, "min_child_weight": 0, "validation": 0}');
WITH shares AS (SELECT k, (count(*) + 0.5) / (300 + 1.5) AS share FROM steps GROUP BY k),
     base AS (SELECT k, ln(share) AS b, share / sum(share) OVER () AS p0 FROM shares),
     leaf AS (SELECT t.s, b.k, b.b - sum(b.p0 - (t.k = b.k)::int) / sum(b.p0 * (1 - b.p0)) AS margin
                FROM steps t CROSS JOIN base b GROUP BY t.s, b.k, b.b),
     expected AS (SELECT s, k, exp(margin) / sum(exp(margin)) OVER (PARTITION BY s) AS p FROM leaf)
SELECT max(abs(reframe.score('stump_k', t, e.k) - e.p)) < 1e-6 AS newton_step_of_softmax, count(*) AS checked
  FROM steps t JOIN expected e USING (s);

-- 3b. multilabel: per label, the same Newton step as a binary head
SELECT task FROM reframe.train('stump_labels', 'SELECT s, pos, k = ''b'' AS kb FROM steps', 'pos,kb',
    options => '{"model": "trees", "rounds": 1, "max_depth": 1, "learning_rate": 1, "l2": 0, "min_child_weight": 0, "validation": 0}');
WITH lab AS (SELECT 'pos' AS label, s, pos AS y FROM steps UNION ALL SELECT 'kb', s, k = 'b' FROM steps),
     base AS (SELECT label, ln(share / (1 - share)) AS b, share AS p0
                FROM (SELECT label, (count(*) FILTER (WHERE y) + 0.5) / (count(*) + 1.0) AS share FROM lab GROUP BY label) q),
     side AS (SELECT label, s, b - sum(p0 - y::int) / sum(p0 * (1 - p0)) AS margin FROM lab JOIN base USING (label) GROUP BY label, s, b)
SELECT max(abs(reframe.score('stump_labels', t, side.label) - 1 / (1 + exp(-margin)))) < 1e-6 AS newton_step_per_label
  FROM steps t JOIN side USING (s);

-- 3c. hierarchical: the fine level's objective is a softmax among each
--     parent's children (a custom objective: reframe's gradients, XGBoost's
--     trees).  Its Newton step per class and side, from the base shares
--     renormalised among siblings, over the rows under that class's parent:
--     margin_c = log(share_c) - sum(p0_c - [c]) / sum(p0_c (1 - p0_c)),
--     and a leaf's probability is P(parent) * softmax among its siblings
CREATE TABLE levels AS
SELECT i, (i % 2)::float8 AS s,
       CASE WHEN (i % 2 = 0 AND i % 4 <> 0) OR (i % 2 = 1 AND i % 4 = 1) THEN 'A' ELSE 'B' END AS dept
  FROM generate_series(1, 400) i;
ALTER TABLE levels ADD COLUMN cat text;
UPDATE levels SET cat = CASE WHEN dept = 'A' THEN CASE WHEN i % 5 < 2 + s THEN 'a1' ELSE 'a2' END
                             ELSE CASE WHEN i % 7 < 3 + 2 * s THEN 'b1' ELSE 'b2' END END;
SELECT task FROM reframe.train('stump_h', 'SELECT s, dept, cat FROM levels', 'dept,cat', 'hierarchical',
    '{"model": "trees", "rounds": 1, "max_depth": 1, "learning_rate": 1, "l2": 0, "min_child_weight": 0, "validation": 0}');
WITH parent AS (SELECT DISTINCT cat, dept FROM levels),
     shares AS (SELECT cat, (count(*) + 0.5) / (400 + 0.5 * 4) AS share FROM levels GROUP BY cat),
     base AS (SELECT cat, dept, ln(share) AS b, share / sum(share) OVER (PARTITION BY dept) AS p0
                FROM shares JOIN parent USING (cat)),
     leaf AS (SELECT l.s, b.cat, b.dept, b.b - sum(b.p0 - (l.cat = b.cat)::int) / sum(b.p0 * (1 - b.p0)) AS margin
                FROM levels l JOIN base b ON b.dept = l.dept GROUP BY l.s, b.cat, b.dept, b.b),
     cond AS (SELECT s, cat, dept, exp(margin) / sum(exp(margin)) OVER (PARTITION BY s, dept) AS p FROM leaf)
SELECT max(abs(reframe.score('stump_h', l, c.cat) - reframe.score('stump_h', l, c.dept) * c.p)) < 1e-6 AS newton_step_of_sibling_softmax,
       count(*) AS checked
  FROM levels l JOIN cond c USING (s);

-- 4. the stored blocks, traversed in SQL, give the scores: several rounds,
--    deeper trees, a NULL going down each split's default branch
CREATE TABLE wide AS
SELECT i, sin(i)::float8 AS a, cos(i * 0.3)::float8 AS b, CASE WHEN i % 9 = 0 THEN NULL ELSE (i % 11)::float8 END AS c,
       (3 * sin(i) ^ 2 + abs(cos(i * 0.3)) + CASE WHEN i % 11 > 5 THEN 1 ELSE 0 END)::float8 AS y
  FROM generate_series(1, 1500) i;
SELECT task, train_rows, validation_rows, iterations <= 40 AS bounded
  FROM reframe.train('deep', 'SELECT a, b, c, y FROM wide', 'y', options => '{"model": "trees", "rounds": 40, "max_depth": 4}');
SELECT block, shape[2] AS columns FROM reframe.weights('deep') ORDER BY 1;
CREATE TABLE deep_nodes AS
SELECT (n - 1) / 8 AS node, data[n] AS v, (n - 1) % 8 AS col
  FROM reframe.weights('deep'), generate_subscripts(data, 1) n WHERE block = 'trees.nodes';
CREATE TABLE deep_tree AS
SELECT t.tree, t.start, f.feature, f.threshold, f.lft, f.rgt, f.dflt, f.val, f.node - t.start AS local
  FROM (SELECT (n - 1) / 3 AS tree, data[n + 1]::int AS start, data[n + 2]::int AS size
          FROM reframe.weights('deep'), generate_subscripts(data, 1) n WHERE block = 'trees.index' AND (n - 1) % 3 = 0) t
  JOIN (SELECT node, max(v) FILTER (WHERE col = 0) AS feature, max(v) FILTER (WHERE col = 1) AS threshold,
               max(v) FILTER (WHERE col = 2) AS lft, max(v) FILTER (WHERE col = 3) AS rgt,
               max(v) FILTER (WHERE col = 4) AS dflt, max(v) FILTER (WHERE col = 5) AS val
          FROM deep_nodes GROUP BY node) f ON f.node BETWEEN t.start AND t.start + t.size - 1;
WITH RECURSIVE walk AS (
    SELECT w.i, t.tree, t.local, t.feature, t.threshold, t.lft, t.rgt, t.dflt, t.val, ARRAY[w.a, w.b, w.c] AS x
      FROM wide w JOIN deep_tree t ON t.local = 0
    UNION ALL
    SELECT w.i, t.tree, t.local, t.feature, t.threshold, t.lft, t.rgt, t.dflt, t.val, w.x
      FROM walk w JOIN deep_tree t ON t.tree = w.tree AND t.local =
           CASE WHEN w.x[w.feature + 1] IS NULL THEN CASE WHEN w.dflt = 1 THEN w.lft ELSE w.rgt END
                WHEN w.x[w.feature + 1]::float4 < w.threshold::float4 THEN w.lft ELSE w.rgt END
     WHERE w.feature >= 0),
sums AS (SELECT i, sum(val) AS s FROM walk WHERE feature = -1 GROUP BY i)
SELECT count(*) AS rows, max(abs(s - reframe.score('deep', w))) < 1e-4 AS sql_traversal_agrees,
       count(*) FILTER (WHERE w.c IS NULL) AS with_null
  FROM sums JOIN wide w USING (i);
-- better than the linear model on the same rows (a nonlinear target)
SELECT (SELECT (metrics->'validation'->>'rmse')::float8 FROM reframe.train('deep_lin', 'SELECT a, b, c, y FROM wide', 'y', options => '{"model": "linear"}')) >
       (SELECT (spec->'metrics'->'validation'->>'rmse')::float8 FROM deep WHERE block = '' AND deployed) AS trees_beat_linear;

-- 5. every framing trains and scores with trees
-- hierarchical: paths consistent, leaves' probabilities sum to 1
CREATE TABLE shelf AS
SELECT i, sin(i * 0.7)::float8 AS a, cos(i * 1.3)::float8 AS b,
       CASE WHEN sin(i * 0.7) > 0 THEN 'electronics' ELSE 'garden' END AS department,
       CASE WHEN sin(i * 0.7) > 0 THEN CASE WHEN cos(i * 1.3) > 0 THEN 'phones' ELSE 'laptops' END
            ELSE CASE WHEN cos(i * 1.3) > 0.3 THEN 'seeds' WHEN cos(i * 1.3) > -0.5 THEN 'tools' ELSE 'hoses' END END AS category
  FROM generate_series(1, 1200) i;
SELECT task, iterations > 0 AS boosted FROM reframe.train('shelf_trees', 'SELECT a, b, department, category FROM shelf',
                                                         'department,category', 'hierarchical', '{"model": "trees"}');
SELECT bool_and(abs((SELECT sum(p) FROM unnest(reframe.predict_proba('shelf_trees', x)) p) - 1) < 1e-9) AS leaves_sum_to_1,
       bool_and(p[1] = CASE WHEN p[2] IN ('phones', 'laptops') THEN 'electronics' ELSE 'garden' END) AS consistent,
       avg((p[2] = category)::int) > 0.95 AS accurate
  FROM shelf x, LATERAL (SELECT reframe.predict_labels('shelf_trees', x) AS p) l;
-- multilabel from boolean columns, thresholds tuned for F1
SELECT task FROM reframe.train('labels_trees', 'SELECT a, b, a > 0 AS sunny, b > 0.2 AS windy FROM shelf', 'sunny,windy',
                               options => '{"model": "trees", "threshold": "f1"}');
SELECT avg((reframe.predict_labels('labels_trees', x) = array_remove(ARRAY[CASE WHEN b > 0.2 THEN 'windy' END,
                                                                               CASE WHEN a > 0 THEN 'sunny' END], NULL)
            OR reframe.predict_labels('labels_trees', x) = array_remove(ARRAY[CASE WHEN a > 0 THEN 'sunny' END,
                                                                               CASE WHEN b > 0.2 THEN 'windy' END], NULL))::int) > 0.95
       AS label_sets_right
  FROM shelf x;
-- bucketed regression: the score is the expected value of the buckets
SELECT task FROM reframe.train('bins_trees', 'SELECT a, b, c, y FROM wide', 'y', options => '{"model": "trees", "bins": {"quantiles": 4}}');
SELECT max(abs(reframe.score('bins_trees', w) - e)) < 1e-9 AS score_is_expected_value
  FROM wide w, LATERAL (SELECT sum(p * v) AS e
                          FROM unnest(reframe.predict_proba('bins_trees', w),
                                      ARRAY(SELECT jsonb_array_elements_text(spec #> '{network,heads,0,bin_values}')::float8
                                              FROM bins_trees WHERE block = '' AND deployed)) u(p, v)) x;
-- several targets in one model, a NULL target masked; task weights
SELECT task FROM reframe.train('multi_trees', 'SELECT a, b, c, y, CASE WHEN i % 5 = 0 THEN NULL ELSE y > 1 END AS high FROM wide',
                               'y,high', options => '{"model": "trees", "task_weights": {"y": 1, "high": 2}}');
SELECT (p->'y')::float8 = reframe.score('multi_trees', w, 'y') AS same_y, jsonb_typeof(p->'high') AS high
  FROM wide w, LATERAL (SELECT reframe.predict_all('multi_trees', w) AS p) x WHERE i = 7;
-- class weights make the rare class predicted more often; the scores stay
-- calibrated to the data (see class_weight.sql)
SELECT task FROM reframe.train('rare', 'SELECT a, b, i % 10 = 0 AS rare FROM wide', 'rare', options => '{"model": "trees", "rounds": 20}');
SELECT task FROM reframe.train('rare_w', 'SELECT a, b, i % 10 = 0 AS rare FROM wide', 'rare',
                               options => '{"model": "trees", "rounds": 20, "class_weight": "balanced"}');
SELECT count(*) FILTER (WHERE reframe.predict('rare_w', w)::bool) > count(*) FILTER (WHERE reframe.predict('rare', w)::bool)
       AS weighted_predicts_more, abs(avg(reframe.score('rare_w', w)) - avg((i % 10 = 0)::int)) < 0.03 AS calibrated
  FROM wide w;
-- absolute and Huber losses
SELECT task, (metrics->'validation'->>'mae')::float8 < 0.5 AS fits
  FROM reframe.train('abs_trees', 'SELECT a, b, c, y FROM wide', 'y', options => '{"model": "trees", "loss": "absolute"}');
SELECT task, (metrics->'validation'->>'rmse')::float8 < 0.5 AS fits
  FROM reframe.train('huber_trees', 'SELECT a, b, c, y FROM wide', 'y', options => '{"model": "trees", "loss": "huber"}');
-- pointwise ranking with a group column: ranking metrics on the held-out queries
SELECT task, metrics->'ranking' ? 'ndcg@10' AS ranked
  FROM reframe.train('rank_trees', 'SELECT i % 50 AS q, a, b, y > 1 AS clicked FROM wide', 'clicked',
                     options => '{"model": "trees", "group": "q"}');
-- a blend with a tree component
SELECT reframe.create_blend('blend_trees', '{"deep": 2, "deep_lin": -1}');
SELECT max(abs(reframe.score('blend_trees', w) - (2 * reframe.score('deep', w) - reframe.score('deep_lin', w)))) < 1e-9 AS blend_adds
  FROM wide w;
-- evaluate and deploy if better
SELECT (e->'metrics'->>'rows')::int AS evaluated_rows,
       abs((e->'metrics'->>'rmse')::float8 - (SELECT reframe.rmse(reframe.score('deep', w), y) FROM wide w)) < 1e-12 AS rmse_agrees
  FROM (SELECT reframe.evaluate('deep', 'wide') AS e) x;
SELECT deployed FROM reframe.train('deep', 'SELECT a, b, c, y FROM wide', 'y',
                                   options => '{"model": "trees", "rounds": 2, "max_depth": 1, "deploy": "if_better"}');

-- 6. bad input
SELECT * FROM reframe.train('bad', 'SELECT a, y FROM wide', 'y', options => '{"model": "linear", "max_depth": 3}');
SELECT * FROM reframe.train('bad', 'SELECT a, y FROM wide', 'y', options => '{"model": "trees", "hidden": [4]}');
SELECT * FROM reframe.train('bad', 'SELECT a, y FROM wide', 'y', options => '{"model": "trees", "epochs": 4}');
SELECT * FROM reframe.train('bad', 'SELECT a, y FROM wide', 'y', options => '{"model": "trees", "rounds": 1000000}');
SELECT * FROM reframe.train('bad', 'SELECT a, y FROM wide', 'y', options => '{"model": "trees", "max_depth": 40}');
SELECT * FROM reframe.train('bad', 'SELECT a, y FROM wide', 'y', options => '{"model": "forest"}');
SELECT reframe.export('deep_lin');
SELECT reframe.export('deep', 'onnx');
-- XGBoost's copy of the data counts against reframe.max_train_memory
CREATE TABLE big AS SELECT i, sin(i)::float8 AS a, cos(i)::float8 AS b, (i % 7)::float8 AS c, (2 * sin(i))::float8 AS y
  FROM generate_series(1, 60000) i;
SET reframe.max_train_memory = '2MB';
SELECT * FROM reframe.train('bad', 'SELECT a, b, c, y FROM big', 'y', options => '{"model": "trees"}');
RESET reframe.max_train_memory;
SELECT to_regclass('bad') AS nothing_written;
-- a hand-edited model table: a missing or damaged block is an error naming it
DELETE FROM stump WHERE block = 'trees.nodes';
SELECT reframe.score('stump', ARRAY[1.0]::float8[]);
UPDATE stump_bin SET data[3] = 7 WHERE block = 'trees.nodes';
SELECT reframe.score('stump_bin', ARRAY[1.0]::float8[]);

-- 7. listwise: "objective": "ndcg" (LambdaMART over the group column).
--    One split, learning rate 1, no L2, every query one relevant row (s = 1)
--    and one not, tied at the start: each side's leaf is
--    -sum(g) / sum(h) = (rho delta) / (rho (1 - rho) delta) = 1 / (1 - 1/2) = 2,
--    so the two sides' margins differ by 4 whatever each query's delta.
CREATE TABLE pairs AS
SELECT q, r = 1 AS relevant, (r = 1)::int::float8 AS s FROM generate_series(1, 40) q, generate_series(1, 2) r;
SELECT task FROM reframe.train('lambda_stump', 'SELECT q, s, relevant FROM pairs', 'relevant',
    options => '{"model": "trees", "objective": "ndcg", "group": "q", "rounds": 1, "max_depth": 1, "learning_rate": 1,
                 "l2": 0, "min_child_weight": 0, "validation": 0}');
SELECT round((ln(p1 / (1 - p1)) - ln(p0 / (1 - p0)))::numeric, 6) AS margin_gap
  FROM (SELECT reframe.score('lambda_stump', ARRAY[1.0]::float8[]) AS p1, reframe.score('lambda_stump', ARRAY[0.0]::float8[]) AS p0) x;
-- on queries of 20 candidates where the opened app is the best of its
-- query, LambdaMART ranks the held-out queries better than pointwise trees
-- (measured: NDCG@10 0.968 against 0.904, MRR 0.958 against 0.871)
CREATE TABLE sessions AS
SELECT q, c, sin(q * 7.1 + c * 1.3)::float8 AS u, cos(q * 2.3 + c * 0.7)::float8 AS v, (q % 5)::float8 AS ctx
  FROM generate_series(1, 400) q, generate_series(1, 20) c;
ALTER TABLE sessions ADD COLUMN opened bool;
UPDATE sessions s SET opened = (u + v * (ctx - 2) / 2) = (SELECT max(u + v * (ctx - 2) / 2) FROM sessions t WHERE t.q = s.q);
SELECT (p.metrics->'ranking'->>'ndcg@10')::float8 > 0.5 AS pointwise_ranks,
       (l.metrics->'ranking'->>'ndcg@10')::float8 > (p.metrics->'ranking'->>'ndcg@10')::float8 AS listwise_better,
       (l.metrics->'ranking'->>'mrr')::float8 > (p.metrics->'ranking'->>'mrr')::float8 AS listwise_mrr_better
  FROM reframe.train('next_point', 'SELECT q, u, v, ctx, opened FROM sessions', 'opened',
                     options => '{"model": "trees", "group": "q"}') p,
       reframe.train('next_list', 'SELECT q, u, v, ctx, opened FROM sessions', 'opened',
                     options => '{"model": "trees", "group": "q", "objective": "ndcg"}') l;
SELECT * FROM reframe.train('bad', 'SELECT u, v, opened FROM sessions', 'opened', options => '{"model": "trees", "objective": "ndcg"}');
SELECT * FROM reframe.train('bad', 'SELECT q, u, v, opened FROM sessions', 'opened', options => '{"model": "linear", "objective": "ndcg", "group": "q"}');
