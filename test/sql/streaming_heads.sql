-- Streaming L-BFGS for every head: text classes (multiclass and binary), a
-- number's buckets, label sets and boolean label columns (multilabel),
-- shares (a distribution over classes, each label's share), a hierarchy,
-- soft binary labels, inferred integer classes and
-- several heads at once (multitask, with task weights and label sets).  Each
-- streamed model equals the model trained from the rows (both in double
-- precision, "tol" below 1e-4) within 1e-6, on the same split, with the
-- same metrics (the ROC AUC from a histogram of the scores, within 1e-3).
-- the linear family's framings: without "model" it is trained by this setting (default_model tests the default)
SET reframe.default_model = linear;
SET client_min_messages = warning;
CREATE TABLE sh AS
SELECT i, sin(i) AS a, cos(i * 0.7) AS b,
       CASE WHEN i % 13 = 0 THEN NULL ELSE (i % 7)::float8 END AS c,
       ARRAY[sin(i * 0.3), cos(i * 0.11)] AS arr,
       (ARRAY['high', 'low', 'mid', 'Mid'])[1 + (floor((sin(i) + 1) * 1.5 + 0.4 * cos(i * i))::int % 4)] AS txt,
       CASE WHEN sin(i) + 0.6 * cos(i * 0.7) + 0.4 * sin(i * i) > 0 THEN 'yes' ELSE 'no' END AS yn,
       2 * sin(i) + cos(i * 0.7) + sin(i * i) AS r,
       CASE WHEN i % 11 = 0 THEN NULL
            ELSE array_remove(ARRAY[CASE WHEN sin(i) + 0.3 * sin(i * i) > 0.2 THEN 'red' END,
                                    CASE WHEN cos(i * 0.7) > 0 THEN 'blue' END,
                                    CASE WHEN sin(i) * cos(i * 0.7) + 0.2 * cos(i * i) > 0.1 THEN 'green' END], NULL) END AS tags,
       sin(i) + 0.3 * sin(i * i) > 0.2 AS f1,
       CASE WHEN i % 9 = 0 THEN NULL ELSE cos(i * 0.7) > 0.1 END AS f2,
       sin(i) * cos(i * 0.7) > 0 AS f3,
       (1 + sin(i) * 0.8 + 0.2 * sin(i * i)) / 2 AS share,
       least(4, floor((sin(i) + 1) * 2.5 + 0.3 * cos(i * i)))::int AS k,
       CASE WHEN i % 23 = 0 THEN NULL
            ELSE ARRAY[(1 + sin(i)) / 4, (1 + cos(i * 0.7)) / 4, 1 - (1 + sin(i)) / 4 - (1 + cos(i * 0.7)) / 4] END AS dist,
       ARRAY[(1 + sin(i + 0.3 * sin(i * i))) / 2, (1 + cos(i * 0.7)) / 2]::real[] AS shares,
       1 + (i % 3) AS w
FROM generate_series(1, 9000) i;
UPDATE sh SET txt = NULL, r = NULL WHERE i % 1000 = 0;

CREATE FUNCTION solver(m text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text;
BEGIN
    EXECUTE format('SELECT spec #>> ''{training,solver}'' FROM %I WHERE block = '''' AND deployed', m) INTO s;
    RETURN s;
END $$;
CREATE FUNCTION param_gap(m1 text, m2 text) RETURNS float8 LANGUAGE sql AS $$
    SELECT max(abs(x1 - x2)) / greatest(max(abs(x1)), 1e-300)
    FROM reframe.weights(m1) a JOIN reframe.weights(m2) b USING (block),
         unnest(a.data, b.data) u(x1, x2)
$$;
-- the numbers of a metrics object by path, flattened
CREATE FUNCTION leaves(j jsonb, path text DEFAULT '') RETURNS TABLE (key text, value jsonb) LANGUAGE sql AS $$
    SELECT CASE WHEN jsonb_typeof(e.value) = 'object' THEN l.key ELSE path || e.key END,
           CASE WHEN jsonb_typeof(e.value) = 'object' THEN l.value ELSE e.value END
    FROM jsonb_each(j) e
    LEFT JOIN LATERAL leaves(CASE WHEN jsonb_typeof(e.value) = 'object' THEN e.value END, path || e.key || '.') l ON true
    WHERE jsonb_typeof(e.value) <> 'object' OR l.key IS NOT NULL
$$;

CREATE TABLE cases (name text, source text, target text, task text, options jsonb);
INSERT INTO cases VALUES
  ('text_classes', 'SELECT a, b, c, arr, txt FROM sh', 'txt', NULL, '{}'),
  ('text_binary', 'SELECT a, b, c, yn FROM sh', 'yn', 'binary', '{}'),
  ('buckets', 'SELECT a, b, c, arr, r FROM sh', 'r', NULL, '{"bins": [-1, 0, 1.5]}'),
  ('label_set', 'SELECT a, b, c, tags FROM sh', 'tags', NULL, '{}'),
  ('label_columns', 'SELECT a, b, c, f1, f2, f3 FROM sh', 'f1,f2,f3', NULL, '{}'),
  ('soft_binary', 'SELECT a, b, c, share FROM sh', 'share', 'binary', '{}'),
  ('inferred_classes', 'SELECT a, b, c, k FROM sh', 'k', NULL, '{}'),
  ('multitask', 'SELECT a, b, c, arr, r, txt, yn FROM sh', 'r,txt,yn', NULL,
   '{"tasks": {"yn": "binary"}, "task_weights": {"r": 0.5, "txt": 2}, "l2": 0.01, "tol": 1e-10}'),
  ('multitask_labels', 'SELECT a, b, c, r, tags, f2, w FROM sh', 'r,tags,f2', NULL, '{"weight": "w", "loss": "huber", "l2": 0.01, "tol": 1e-10}'),
  ('weighted_classes', 'SELECT a, b, c, txt, w FROM sh', 'txt', NULL, '{"weight": "w", "sample": 0.6}'),
  ('distribution', 'SELECT a, b, c, arr, dist FROM sh', 'dist', 'multiclass', '{"classes": ["x", "y", "z"]}'),
  ('label_shares', 'SELECT a, b, c, shares, w FROM sh', 'shares', 'multilabel', '{"classes": ["u", "v"], "weight": "w"}');
CREATE TABLE trained AS
SELECT c.name, r.task AS r_task, s.task AS s_task,
       r.train_rows AS r_train, r.validation_rows AS r_valid, r.train_loss AS r_loss, r.metrics AS r_metrics,
       s.train_rows AS s_train, s.validation_rows AS s_valid, s.train_loss AS s_loss, s.metrics AS s_metrics
FROM cases c,
     LATERAL reframe.train('r_' || c.name, c.source, c.target, c.task,
                           '{"l2": 0.001, "tol": 1e-8}' || c.options || '{"streaming": false}') r,
     LATERAL reframe.train('s_' || c.name, c.source, c.target, c.task,
                           '{"l2": 0.001, "tol": 1e-8}' || c.options || '{"streaming": true}') s;

SELECT name, s_task, r_task = s_task AS same_task, r_train = s_train AND r_valid = s_valid AS same_split,
       solver('s_' || name) AS streamed_solver,
       param_gap('r_' || name, 's_' || name) < 1e-6 AS params_within_1e_6,
       abs(r_loss - s_loss) / r_loss < 1e-6 AS loss_within_1e_6
FROM trained ORDER BY name;

-- every figure the streamed version keeps equals the rows' (within 1e-6) ...
SELECT name, count(*) AS figures,
       bool_and(r.key LIKE '%roc_auc' OR CASE WHEN jsonb_typeof(s.value) = 'number'
                     THEN abs(s.value::text::float8 - r.value::text::float8) <= 1e-6 * greatest(1, abs(r.value::text::float8))
                     ELSE s.value = r.value END) AS all_within_1e_6
FROM trained, leaves(s_metrics) s JOIN leaves(r_metrics) r USING (key)
GROUP BY name ORDER BY name;
-- ... but the ROC AUC, from a histogram of 2,048 bins of the scores' logits,
-- within 1e-3 of the exact one, and the calibration error (ECE) within
-- 1e-6 (10 bins of probability, as from the scores) ...
SELECT name, r.key, abs(r.value::text::float8 - s.value::text::float8) < CASE WHEN r.key LIKE '%roc_auc' THEN 1e-3 ELSE 1e-6 END AS close
FROM trained, leaves(s_metrics) s JOIN leaves(r_metrics) r USING (key)
WHERE r.key LIKE '%roc_auc' OR r.key LIKE '%ece' ORDER BY 1, 2;
-- ... and it keeps all of them
SELECT DISTINCT regexp_replace(r.key, '^.*\.', '') AS only_from_rows
FROM trained, leaves(r_metrics) r
WHERE r.key NOT IN (SELECT key FROM leaves(s_metrics)) ORDER BY 1;

-- the classes and labels a streamed version scores are the rows' version's,
-- and its numbers (a regression head's prediction, the probabilities)
-- within 1e-5 relative, as its parameters are within 1e-6 (compared, not
-- rounded alike: a prediction 1e-8 from a rounding boundary rounds apart)
CREATE FUNCTION decisions(p jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT CASE jsonb_typeof(p) WHEN 'object' THEN
        coalesce(p ->> 'predicted', (SELECT string_agg(k || ':' || decisions(v), ' ' ORDER BY k) FROM jsonb_each(p) e(k, v)))
        WHEN 'number' THEN 'a number' ELSE p::text END
$$;
CREATE FUNCTION number_gap(p jsonb, q jsonb) RETURNS float8 LANGUAGE sql AS $$
    SELECT coalesce(max(abs(a.value::text::float8 - b.value::text::float8)
                        / greatest(1, abs(a.value::text::float8))), 0)
    FROM leaves(jsonb_build_object('v', p)) a JOIN leaves(jsonb_build_object('v', q)) b USING (key)
    WHERE jsonb_typeof(a.value) = 'number'
$$;
SELECT name, count(*) AS rows, bool_and(decisions(rs) = decisions(ss)) AS same_decisions,
       max(number_gap(rs, ss)) < 1e-5 AS numbers_within_1e_5
FROM trained, LATERAL (
    SELECT reframe.predict_all('r_' || name, t) AS rs, reframe.predict_all('s_' || name, t) AS ss
    FROM (SELECT * FROM sh WHERE i % 97 = 0) t) p
GROUP BY name ORDER BY name;

-- parallel workers share each pass: the same model
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT version FROM reframe.train('p_multitask', 'SELECT a, b, c, arr, r, txt, yn FROM sh', 'r,txt,yn', NULL,
    '{"tasks": {"yn": "binary"}, "task_weights": {"r": 0.5, "txt": 2}, "l2": 0.01, "tol": 1e-10, "streaming": true}');
SELECT param_gap('s_multitask', 'p_multitask') < 1e-9 AS parallel_same_model;
RESET parallel_setup_cost; RESET parallel_tuple_cost; RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- a hierarchy's levels, coarse to fine: each level a softmax over its
-- parent's children, classes ordered by parent as the rows' path orders
-- them (which computes those softmaxes in single precision: within 1e-5)
CREATE TABLE hr AS
SELECT i, sin(i) AS a, cos(i * 0.7) AS b, (i % 7)::float8 AS c,
       CASE WHEN sin(i) + 0.3 * sin(i::float8 * i) > 0 THEN 'food' ELSE 'home' END AS dept,
       CASE WHEN i % 50 = 0 THEN NULL
            WHEN sin(i) + 0.3 * sin(i::float8 * i) > 0 THEN (CASE WHEN cos(i * 0.7) > 0 THEN 'fruit' ELSE 'bread' END)
            ELSE (CASE WHEN cos(i * 0.7) + 0.2 * sin(i) > 0.3 THEN 'garden' WHEN cos(i * 0.7) > -0.5 THEN 'kitchen' ELSE 'bath' END) END AS aisle
FROM generate_series(1, 6000) i;
CREATE TABLE hr_trained AS
SELECT s.task, r.train_rows = s.train_rows AND r.validation_rows = s.validation_rows AS same_split,
       r.metrics AS r_metrics, s.metrics AS s_metrics
FROM reframe.train('hr_r', 'SELECT a, b, c, dept, aisle FROM hr', 'dept,aisle', 'hierarchical', '{"l2": 0.001, "tol": 1e-8, "streaming": false}') r,
     reframe.train('hr_s', 'SELECT a, b, c, dept, aisle FROM hr', 'dept,aisle', 'hierarchical', '{"l2": 0.001, "tol": 1e-8, "streaming": true}') s;
SELECT task, solver('hr_s') AS streamed_solver, same_split,
       param_gap('hr_r', 'hr_s') < 1e-5 AS params_within_1e_5,
       (SELECT bool_and(abs(x.value::text::float8 - y.value::text::float8) <= 1e-5 * greatest(1, abs(x.value::text::float8)))
        FROM leaves(r_metrics) x JOIN leaves(s_metrics) y USING (key)) AS figures_within_1e_5,
       (SELECT count(*) FROM leaves(r_metrics) x WHERE x.key NOT IN (SELECT key FROM leaves(s_metrics))) AS figures_missing,
       (SELECT bool_and(decisions(reframe.predict_all('hr_r', h)) = decisions(reframe.predict_all('hr_s', h)))
        FROM (SELECT * FROM hr WHERE i % 61 = 0) h) AS same_decisions
FROM hr_trained;
-- a class under two parents is not a hierarchy, streamed or not
SELECT * FROM reframe.train('bad', 'SELECT a, b, dept, CASE WHEN i = 7 AND dept = ''food'' THEN ''bath'' ELSE aisle END AS aisle FROM hr',
                            'dept,aisle', 'hierarchical', '{"l2": 0.1, "streaming": true}');

-- "l2": "auto" on passes: the same path of penalties, by 5-fold
-- cross-validation of the training rows (few rows times parameters) or by
-- the validation rows (many), and the same choice (at the default "tol",
-- parameters within 1e-3)
CREATE TABLE wide AS
SELECT i, ARRAY(SELECT sin(i * j * 0.37 + j) FROM generate_series(1, 300) j) AS x,
       sin(i * 0.37 + 1) + sin(i * 0.74 + 2) - sin(i * 1.11 + 3) + 2 * sin(i * i) > 0 AS y
FROM generate_series(1, 9000) i;
CREATE FUNCTION chosen(m text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE p jsonb;
BEGIN
    EXECUTE format('SELECT spec #> ''{training,chosen}'' FROM %I WHERE block = '''' AND deployed', m) INTO p;
    RETURN p;
END $$;
CREATE TABLE auto_cases (name text, source text, target text, task text);
INSERT INTO auto_cases VALUES
  ('auto_folds', 'SELECT a, b, c, yn FROM sh', 'yn', 'binary'),
  ('auto_validation', 'SELECT x, y FROM wide', 'y', NULL);
CREATE TABLE auto_trained AS
SELECT a.name, chosen('ar_' || a.name) AS r, chosen('as_' || a.name) AS s
FROM auto_cases a,
     LATERAL reframe.train('ar_' || a.name, a.source, a.target, a.task, '{"streaming": false}') r,
     LATERAL reframe.train('as_' || a.name, a.source, a.target, a.task, '{"streaming": true}') s;
SELECT name, s ->> 'method' AS method, r -> 'l2' = s -> 'l2' AS same_l2,
       jsonb_array_length(r -> 'path') = jsonb_array_length(s -> 'path') AS same_path,
       (SELECT bool_and(abs((rp ->> 'loss')::float8 - (sp ->> 'loss')::float8) <= 1e-4 * (rp ->> 'loss')::float8)
        FROM jsonb_array_elements(r -> 'path') WITH ORDINALITY x(rp, n)
        JOIN jsonb_array_elements(s -> 'path') WITH ORDINALITY y(sp, n) USING (n)) AS losses_within_1e_4,
       param_gap('ar_' || name, 'as_' || name) < 1e-3 AS params_within_1e_3
FROM auto_trained ORDER BY 1;

-- what streaming cannot frame says so
SELECT * FROM reframe.train('bad', 'SELECT a, b, txt FROM sh', 'txt', 'regression', '{"l2": 0.1, "streaming": true}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, txt FROM sh', 'txt', 'binary', '{"l2": 0.1, "streaming": true}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, (i % 300)::text AS many FROM sh', 'many', NULL, '{"l2": 0.1, "streaming": true}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, CASE WHEN i = 5 THEN 2 ELSE share END AS share FROM sh', 'share', 'binary', '{"l2": 0.1, "streaming": true}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, tags FROM sh WHERE tags = ''{}''', 'tags', NULL, '{"l2": 0.1, "streaming": true}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, CASE WHEN i = 7 THEN ARRAY[0.5, 0.6, 0] ELSE dist END AS dist FROM sh', 'dist', 'multiclass', '{"classes": ["x", "y", "z"], "l2": 0.1, "streaming": true}');

SELECT count(reframe.drop_model(name)) AS dropped FROM (SELECT DISTINCT model AS name FROM reframe.models) m;
DROP TABLE sh, cases, trained, wide, auto_cases, auto_trained, hr, hr_trained;
DROP FUNCTION solver(text), param_gap(text, text), leaves(jsonb, text), decisions(jsonb), chosen(text);
