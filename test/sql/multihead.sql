-- Several targets in one model: multilabel (boolean labels) and a combined
-- objective over heads of different kinds, weighted by "task_weights".
-- With a linear trunk the heads share no parameters, so each head must equal
-- a model trained on its target alone (with the penalty divided by the
-- head's weight): a second method to check against.
-- the linear family's framings: without "model" it is trained by this setting (default_model tests the default)
SET reframe.default_model = linear;
CREATE TABLE docs AS
SELECT i, (sin(i * 0.7) * 2)::float8 AS a, cos(i * 1.3)::float8 AS b,
       sin(i * 0.7) * 2 + sin(i * 9.1) > 0.5 AS sports,
       cos(i * 1.3) + sin(i * 4.3) > 0 AS politics,
       sin(i * 0.7) - cos(i * 1.3) + sin(i * 2.9) > 1 AS science,
       CASE WHEN i % 4 = 0 THEN NULL ELSE (3 * sin(i * 0.7) + cos(i * 1.3) + sin(i * 6.1))::float8 END AS quality,
       (sin(i * 0.7) + sin(i * 5.7) > 0) AS engaged
  FROM generate_series(1, 600) i;
SET client_min_messages = warning;

-- 1. Multilabel over three boolean columns: one head, one label each.
SELECT model, task, train_rows, converged
  FROM reframe.train('topics', 'SELECT a, b, sports, politics, science FROM docs', 'sports,politics,science',
                     options => '{"l2": 0.01, "validation": 0, "tol": 1e-9}');
SELECT reframe.classes('topics');
-- each label equals a binary model of its own; the multilabel loss is the
-- mean over the 3 labels, so the equivalent penalty is 3 * l2
SELECT version FROM reframe.train('only_sports', 'SELECT a, b, sports FROM docs', 'sports',
                                  options => '{"l2": 0.03, "validation": 0, "tol": 1e-9}');
SELECT max(abs(reframe.score('topics', d, 'sports') - reframe.score('only_sports', d))) < 1e-4 AS label_is_binary_model
  FROM docs d;
-- predict_labels: by the stored threshold (0.5), by another, by top_k, never empty
SELECT i, reframe.predict_labels('topics', d) AS at_half, reframe.predict_labels('topics', d, 0.2) AS at_0_2,
       reframe.predict_labels('topics', d, top_k => 1) AS top_1,
       reframe.predict_labels('topics', d, 0.99, at_least_one => true) AS never_empty,
       reframe.predict('topics', d) AS predict
  FROM docs d WHERE i <= 4 ORDER BY i;
SELECT bool_and(reframe.predict_labels('topics', d) = ARRAY(
         SELECT l FROM unnest(reframe.classes('topics'), reframe.predict_proba('topics', d)) u(l, p)
          WHERE p >= 0.5 ORDER BY p DESC)) AS labels_are_the_probable_ones
  FROM docs d;
-- evaluate: subset accuracy and Hamming loss as computed here
SELECT round((e->'metrics'->>'subset_accuracy')::numeric, 10) = round(avg((
         (reframe.score('topics', d, 'sports') >= 0.5) = sports AND
         (reframe.score('topics', d, 'politics') >= 0.5) = politics AND
         (reframe.score('topics', d, 'science') >= 0.5) = science)::int)::numeric, 10) AS subset_accuracy,
       round((e->'metrics'->>'hamming_loss')::numeric, 10) = round(avg((
         ((reframe.score('topics', d, 'sports') >= 0.5) <> sports)::int +
         ((reframe.score('topics', d, 'politics') >= 0.5) <> politics)::int +
         ((reframe.score('topics', d, 'science') >= 0.5) <> science)::int) / 3.0)::numeric, 10) AS hamming_loss,
       e->'metrics' ? 'micro_f1' AND e->'metrics' ? 'macro_f1' AS has_f1
  FROM docs d, (SELECT reframe.evaluate('topics', 'docs') AS e) x GROUP BY e;

-- the same labels as a text[] column of label sets train the same model
CREATE TABLE tagged AS
SELECT i, a, b, array_remove(ARRAY[CASE WHEN sports THEN 'sports' END, CASE WHEN politics THEN 'politics' END,
                                   CASE WHEN science THEN 'science' END], NULL) AS tags
  FROM docs;
SELECT task, train_rows FROM reframe.train('tags', 'SELECT a, b, tags FROM tagged', 'tags',
                                           options => '{"l2": 0.01, "validation": 0, "tol": 1e-9}');
SELECT reframe.classes('tags');
SELECT bool_and(abs(reframe.score('tags', d, l) - reframe.score('topics', d, l)) < 1e-4) AS same_model
  FROM docs d, unnest(ARRAY['sports', 'politics', 'science']) l;
SELECT i, tags, reframe.predict_labels('tags', t) FROM tagged t WHERE i <= 3 ORDER BY i;
SELECT (reframe.evaluate('tags', 'tagged')->'metrics'->>'subset_accuracy')::float8
     = (reframe.evaluate('topics', 'docs')->'metrics'->>'subset_accuracy')::float8 AS same_metrics;
SELECT * FROM reframe.train('bad', 'SELECT a, b, tags FROM tagged', 'tags', 'multiclass');
SELECT * FROM reframe.train('bad', 'SELECT a, b, ARRAY[]::text[] AS tags FROM tagged', 'tags');
-- among several targets, a label-set column is the multilabel head of a
-- multitask model.  With a linear trunk each head equals a model of its own
-- target, and a NULL label set masks only that head: the tags head equals
-- the tags model trained on the rows that have a set (unpenalized, so that
-- standardizing over different rows cannot change the optimum).
CREATE TABLE mixed AS
SELECT t.i, t.a, t.b, d.engaged, CASE WHEN t.i % 5 = 0 THEN NULL ELSE t.tags END AS tags
  FROM tagged t JOIN docs d USING (i);
SELECT task, train_rows FROM reframe.train('mixed_model', 'SELECT a, b, engaged, tags FROM mixed', 'engaged,tags',
                                           options => '{"l2": 0, "validation": 0, "tol": 1e-9}');
SELECT h->>'name' AS head, h->>'kind' AS kind, h->'classes' AS classes
  FROM mixed_model, jsonb_array_elements(spec #> '{network,heads}') h WHERE block = '' ORDER BY 1;
SELECT version FROM reframe.train('some_tags', 'SELECT a, b, tags FROM mixed WHERE tags IS NOT NULL', 'tags',
                                  options => '{"l2": 0, "validation": 0, "tol": 1e-9}');
SELECT version FROM reframe.train('engaged_alone', 'SELECT a, b, engaged FROM docs', 'engaged',
                                  options => '{"l2": 0, "validation": 0, "tol": 1e-9}');
-- (unpenalized logistic losses are flat near their optimum: the losses agree
-- to 1e-7, the probabilities to 1e-3 at single precision)
SELECT abs((SELECT (metrics #>> '{training,tags,log_loss}')::float8 FROM reframe.models WHERE model = 'mixed_model')
         - (SELECT (metrics #>> '{training,log_loss}')::float8 FROM reframe.models WHERE model = 'some_tags')) < 1e-7
         AS same_tags_loss;
SELECT max(abs(reframe.score('mixed_model', d, l) - reframe.score('some_tags', d, l))) < 1e-3 AS tags_head,
       max(abs(reframe.score('mixed_model', d, 'engaged') - reframe.score('engaged_alone', d))) < 1e-4 AS engaged_head
  FROM docs d, unnest(ARRAY['sports', 'politics', 'science']) l;
SELECT bool_and(reframe.predict_labels('mixed_model', m) = reframe.predict_labels('some_tags', m)
                AND reframe.predict_labels('mixed_model', m, output => 'tags') = reframe.predict_labels('some_tags', m))
         AS same_labels,
       bool_and(abs((reframe.predict_all('mixed_model', m)->'tags'->'probabilities'->>'science')::float8
                    - reframe.score('mixed_model', m, 'science')) < 1e-12) AS predict_all_has_labels
  FROM mixed m;
-- evaluate: the tags head against the label sets, skipping the NULL ones
WITH e AS (SELECT reframe.evaluate('mixed_model', 'mixed') AS e)
SELECT e->'metrics'->'tags'->'rows' AS tags_rows, e->'metrics'->'engaged'->'rows' AS engaged_rows,
       (e->'metrics'->'tags'->>'subset_accuracy')::float8
     = (reframe.evaluate('some_tags', 'SELECT * FROM mixed WHERE tags IS NOT NULL')->'metrics'->>'subset_accuracy')::float8
         AS same_subset_accuracy
  FROM e;
-- the same heads on a shared hidden trunk: the tags head learns, its
-- log loss over the table below that of predicting each label's rate
SELECT task, train_rows + validation_rows = (SELECT count(*) FROM mixed) AS every_row
  FROM reframe.train('mixed_deep', 'SELECT a, b, engaged, tags FROM mixed', 'engaged,tags',
                     options => '{"hidden": [16], "epochs": 60, "batch_size": 32, "learning_rate": 0.01, "seed": 3}');
WITH rate AS (SELECT l, avg((tags @> ARRAY[l])::int) AS p
                FROM mixed, unnest(ARRAY['sports', 'politics', 'science']) l WHERE tags IS NOT NULL GROUP BY l),
     constant AS (SELECT -avg(CASE WHEN tags @> ARRAY[l] THEN ln(p) ELSE ln(1 - p) END) AS log_loss
                    FROM mixed, rate WHERE tags IS NOT NULL)
SELECT (reframe.evaluate('mixed_deep', 'mixed')->'metrics'->'tags'->>'log_loss')::float8 < 0.8 * log_loss AS learns
  FROM constant;
-- two label sets: predict_labels names the head it reads
SELECT task FROM reframe.train('two_sets', 'SELECT a, b, tags, tags[1:1] AS first_tag FROM mixed', 'tags,first_tag',
                               options => '{"validation": 0}');
SELECT reframe.predict_labels('two_sets', m, output => 'first_tag') <@ reframe.classes('some_tags') AS first_tag_labels
  FROM mixed m WHERE i = 1;
SELECT reframe.predict_labels('two_sets', ARRAY[0.5, 0.1]::float8[]);
SELECT reframe.predict_labels('mixed_model', ARRAY[0.5, 0.1]::float8[], output => 'engaged');
SELECT * FROM reframe.train('bad', 'SELECT a, b, engaged, tags FROM mixed', 'engaged,tags', 'multilabel');
SELECT * FROM reframe.train('bad', 'SELECT a, b, engaged, tags FROM mixed', 'engaged,tags',
                            options => '{"tasks": {"tags": "multiclass"}}');

-- per-label thresholds tuned for F1: each label reaches its best F1 (within
-- a row or two of single precision), and predict_labels applies them
SELECT version FROM reframe.train('topics_f1', 'SELECT a, b, sports, politics, science FROM docs',
                                  'sports,politics,science', options => '{"validation": 0, "threshold": "f1"}');
SELECT jsonb_array_length(spec #> '{network,heads,0,label_thresholds}') AS thresholds FROM topics_f1 WHERE block = '';
WITH t AS (SELECT l, (spec #>> ARRAY['network', 'heads', '0', 'label_thresholds', (k - 1)::text])::float8 AS th
             FROM topics_f1, unnest(ARRAY['sports', 'politics', 'science']) WITH ORDINALITY u(l, k) WHERE block = ''),
     s AS (SELECT l, reframe.score('topics_f1', d, l) AS p,
                  CASE l WHEN 'sports' THEN sports WHEN 'politics' THEN politics ELSE science END AS y
             FROM docs d, unnest(ARRAY['sports', 'politics', 'science']) l),
     f1 AS (SELECT c.l, c.t, 2.0 * count(*) FILTER (WHERE p >= c.t AND y) /
                   (count(*) FILTER (WHERE p >= c.t) + count(*) FILTER (WHERE y)) AS f1
              FROM (SELECT DISTINCT l, p AS t FROM s UNION SELECT l, th FROM t) c JOIN s USING (l) GROUP BY c.l, c.t)
SELECT t.l, (SELECT max(f1) FROM f1 WHERE f1.l = t.l) - f1.f1 < 0.005 AS best_f1
  FROM t JOIN f1 ON f1.l = t.l AND f1.t = t.th ORDER BY t.l;
SELECT bool_and(reframe.predict_labels('topics_f1', d) @> ARRAY(
         SELECT l FROM unnest(ARRAY['sports', 'politics', 'science']) WITH ORDINALITY u(l, k), topics_f1 m
          WHERE m.block = '' AND reframe.score('topics_f1', d, l) >=
                (m.spec #>> ARRAY['network', 'heads', '0', 'label_thresholds', (k - 1)::text])::float8)) AS applies_them
  FROM docs d;

-- 2. A combined objective: a regression head and a binary head. A row
-- whose quality is NULL still trains the engagement head.
SELECT model, task, train_rows, converged
  FROM reframe.train('post', 'SELECT a, b, quality, engaged FROM docs', 'quality,engaged',
                     options => '{"l2": 0.05, "validation": 0, "tol": 1e-10, "task_weights": {"quality": 2, "engaged": 0.5}}');
SELECT spec #> '{network,heads}' -> 0 -> 'weight' AS quality_weight, spec #> '{network,heads}' -> 1 -> 'weight' AS engaged_weight
  FROM post WHERE block = '';
-- the engagement head equals logistic regression on every row with penalty
-- l2 / 0.5, NULL qualities or not
SELECT version FROM reframe.train('e_alone', 'SELECT a, b, engaged FROM docs', 'engaged',
                                  options => '{"l2": 0.1, "validation": 0, "tol": 1e-10}');
SELECT max(abs(reframe.score('post', d, 'engaged') - reframe.score('e_alone', d))) < 1e-4 AS engaged_head
  FROM docs d;
-- the quality head minimises 2 * mean((y - f)^2) over the rows that have a
-- quality, plus l2 |w|^2: its gradient, computed here, vanishes
-- (features standardized with the model's stored shift and scale)
WITH enc AS (SELECT (SELECT data FROM reframe.weights('post') WHERE block = 'encoder.shift') AS shift,
                    (SELECT data FROM reframe.weights('post') WHERE block = 'encoder.scale') AS scale,
                    (SELECT data FROM reframe.weights('post') WHERE block = 'head.quality.weight') AS w),
     r AS (SELECT reframe.score('post', d, 'quality') - d.quality AS e,
                  (d.a - enc.shift[1]) / enc.scale[1] AS za, (d.b - enc.shift[2]) / enc.scale[2] AS zb
             FROM docs d, enc WHERE d.quality IS NOT NULL)
SELECT abs(avg(e)) < 1e-4 AS intercept,
       abs(2 * avg(e * za) + 0.05 * (SELECT w[1] FROM enc)) < 1e-4 AS a,
       abs(2 * avg(e * zb) + 0.05 * (SELECT w[2] FROM enc)) < 1e-4 AS b
  FROM r;
-- a heavier weight fits its head more closely (less shrinkage)
SELECT version FROM reframe.train('post_light', 'SELECT a, b, quality, engaged FROM docs', 'quality,engaged',
                                  options => '{"l2": 0.05, "validation": 0, "tol": 1e-10, "task_weights": {"quality": 0.1}}');
SELECT (SELECT reframe.rmse(reframe.score('post', d, 'quality'), quality) FROM docs d)
     < (SELECT reframe.rmse(reframe.score('post_light', d, 'quality'), quality) FROM docs d) AS weight_moves_fit;
-- predict_all: every head from one pass
SELECT jsonb_object_keys(reframe.predict_all('post', ARRAY[0.5, 0.1]::float8[])) AS heads ORDER BY 1;
SELECT abs((reframe.predict_all('post', d)->>'quality')::float8 - reframe.score('post', d, 'quality')) < 1e-12 AS same_quality,
       reframe.predict_all('post', d)->'engaged'->>'predicted' = reframe.predict('post', d, 'engaged') AS same_class
  FROM docs d WHERE i = 5;
-- evaluate reports each head, skipping the NULL qualities
SELECT e->'metrics'->'quality'->'rows' AS quality_rows, e->'metrics'->'engaged'->'rows' AS engaged_rows
  FROM (SELECT reframe.evaluate('post', 'docs') AS e) x;
RESET client_min_messages;

-- 3. Bad input.
SELECT * FROM reframe.train('bad', 'docs', 'a,sports', 'multilabel');
SELECT * FROM reframe.train('bad', 'docs', 'quality', 'multitask');
SELECT * FROM reframe.train('bad', 'docs', 'quality,engaged', 'binary');
SELECT * FROM reframe.train('bad', 'docs', 'quality,engaged', NULL, '{"task_weights": {"spam": 1}}');
SELECT * FROM reframe.train('bad', 'docs', 'quality,engaged', NULL, '{"task_weights": {"quality": 0}}');
SELECT * FROM reframe.train('bad', 'docs', 'quality', NULL, '{"task_weights": {"quality": 1}}');
SELECT * FROM reframe.train('bad', 'docs', 'sports,politics', NULL, '{"class_weight": "balanced"}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, NULL::float8 AS x, NULL::bool AS y FROM docs', 'x,y');
SELECT reframe.score('topics', ARRAY[0.5, 0.1]::float8[]);
SELECT reframe.predict_labels('post', ARRAY[0.5, 0.1]::float8[]);
SELECT reframe.predict_labels('topics', ARRAY[0.5, 0.1]::float8[], 1.5);
SELECT reframe.predict_labels('topics', ARRAY[0.5, 0.1]::float8[], top_k => 0);
SELECT reframe.evaluate('topics', 'SELECT a, b, sports, politics FROM docs');
SELECT to_regclass('bad') AS nothing_written;

DROP TABLE docs, tagged, mixed, mixed_model, mixed_deep, two_sets, some_tags, engaged_alone, tags, topics, topics_f1, only_sports, post, post_light, e_alone;
