-- Label disagreement: annotators disagree on an item's labels.  A binary or
-- multilabel head takes soft labels (the share of annotators who gave each
-- label, in [0, 1]) and fits the cross-entropy against them; several
-- annotations per item, as separate rows, train the same model as one row
-- with the averaged label and their count as its weight.
-- the linear family's framings: without "model" it is trained by this setting (default_model tests the default)
SET reframe.default_model = linear;
SET client_min_messages = warning;
CREATE TABLE news AS SELECT i AS id, sin(i)::float8 AS a, cos(i * 0.7)::float8 AS b FROM generate_series(1, 400) i;
-- three annotators per article (two for every fifth), each deciding "tech"
-- and "sports" from the article and a whim of their own
CREATE TABLE annotations AS
SELECT n.id, n.a, n.b, j AS annotator,
       sin(n.id * 3.7 + j * 1.3) * 0.5 + 0.5 < 1 / (1 + exp(-(2 * n.a - n.b))) AS tech,
       cos(n.id * 2.3 + j * 0.9) * 0.5 + 0.5 < 1 / (1 + exp(-(n.b + 0.5))) AS sports
  FROM news n, generate_series(1, 3) j WHERE j < 3 OR n.id % 5 <> 0;
CREATE TABLE shares AS
SELECT id, a, b, avg(tech::int)::float8 AS p_tech, avg(sports::int)::float8 AS p_sports, count(*) AS annotators
  FROM annotations GROUP BY id, a, b;

-- a share in [0, 1] stays a number to predict unless the task says binary
RESET client_min_messages;
SELECT task FROM reframe.train('share_reg', 'SELECT a, b, p_tech FROM shares', 'p_tech', options => '{"validation": 0}');
SET client_min_messages = warning;
SELECT task
  FROM reframe.train('soft_tech', 'SELECT a, b, p_tech, annotators FROM shares', 'p_tech', 'binary',
                     '{"validation": 0, "weight": "annotators", "l2": 0.01, "tol": 1e-10, "max_iter": 1000}');
SELECT spec #> '{network,heads,0,classes}' AS classes FROM soft_tech WHERE block = '';
SELECT 1 FROM reframe.train('rows_tech', 'SELECT a, b, tech FROM annotations', 'tech',
                            options => '{"validation": 0, "l2": 0.01, "tol": 1e-10, "max_iter": 1000}');
-- the same model: scores within 1e-6 (a tolerance below 1e-4 runs a linear
-- model's objective in double precision; measured 7e-9)
SELECT max(abs(reframe.score('soft_tech', s) - reframe.score('rows_tech', s))) < 1e-6 AS same_model FROM shares s;
-- its soft log loss and Brier score, by evaluate and by the aggregates
SELECT abs((e #>> '{metrics,log_loss}')::float8 - (SELECT reframe.log_loss(reframe.score('soft_tech', s), p_tech) FROM shares s)) < 1e-9 AS log_loss,
       abs((e #>> '{metrics,brier}')::float8 - (SELECT reframe.brier(reframe.score('soft_tech', s), p_tech) FROM shares s)) < 1e-9 AS brier
  FROM (SELECT reframe.evaluate('soft_tech', 'SELECT a, b, p_tech FROM shares') AS e) x;
-- the report draws its curves at a share of 0.5 (a column named "t" is no alias of the report's)
SELECT length(reframe.report('soft_tech', 'SELECT a, b, p_tech, 1 AS t FROM shares')) > 1000 AS report;
-- weighted by the annotators, they are the annotation rows' log loss
SELECT abs((SELECT reframe.log_loss(reframe.score('soft_tech', s), p_tech, annotators) FROM shares s) -
           (SELECT reframe.log_loss(reframe.score('soft_tech', n), tech) FROM annotations n)) < 1e-9 AS per_annotation;

-- trees, through the custom objective: the same trees
SELECT 1 FROM reframe.train('soft_trees', 'SELECT a, b, p_tech, annotators FROM shares', 'p_tech', 'binary',
                            '{"model": "trees", "rounds": 20, "validation": 0, "weight": "annotators"}');
SELECT 1 FROM reframe.train('rows_trees', 'SELECT a, b, tech FROM annotations', 'tech',
                            options => '{"model": "trees", "rounds": 20, "validation": 0}');
SELECT max(abs(reframe.score('soft_trees', s) - reframe.score('rows_trees', s))) < 1e-6 AS same_trees FROM shares s;

-- networks: the same objective, so L-BFGS takes the same first steps (the
-- first 10 losses agree within 1e-6; then rounding of the shares' sums
-- steers the non-convex fit apart, the losses staying within 1e-3)
SELECT 1 FROM reframe.train('soft_net', 'SELECT a, b, p_tech, annotators FROM shares', 'p_tech', 'binary',
                            '{"hidden": [4], "max_iter": 30, "validation": 0, "weight": "annotators"}');
SELECT 1 FROM reframe.train('rows_net', 'SELECT a, b, tech FROM annotations', 'tech',
                            options => '{"hidden": [4], "max_iter": 30, "validation": 0}');
SELECT bool_and(abs(s.loss - r.loss) < 1e-6 * r.loss) FILTER (WHERE iteration <= 10) AS same_path,
       bool_and(abs(s.loss - r.loss) < 1e-3 * r.loss) AS close_losses
  FROM reframe.loss_history('soft_net') s JOIN reframe.loss_history('rows_net') r USING (iteration);

-- multilabel: one column of shares per label
SELECT task FROM reframe.train('soft_topics', 'SELECT a, b, p_tech, p_sports, annotators FROM shares', 'p_tech,p_sports', 'multilabel',
                               '{"validation": 0, "weight": "annotators", "l2": 0.01, "tol": 1e-10, "max_iter": 1000}');
SELECT 1 FROM reframe.train('rows_topics', 'SELECT a, b, tech, sports FROM annotations', 'tech,sports', 'multilabel',
                            '{"validation": 0, "l2": 0.01, "tol": 1e-10, "max_iter": 1000}');
SELECT max(abs(reframe.score('soft_topics', s, 'p_tech') - reframe.score('rows_topics', s, 'tech'))) < 1e-6 AS same_tech,
       max(abs(reframe.score('soft_topics', s, 'p_sports') - reframe.score('rows_topics', s, 'sports'))) < 1e-6 AS same_sports
  FROM shares s;
-- the expected number of labels per item against the annotators' mean
SELECT abs((e #>> '{metrics,expected_labels}')::float8 -
           (SELECT avg(reframe.score('soft_topics', s, 'p_tech') + reframe.score('soft_topics', s, 'p_sports')) FROM shares s)) < 1e-9 AS expected_labels,
       abs((e #>> '{metrics,mean_labels}')::float8 - (SELECT avg(p_tech + p_sports) FROM shares)) < 1e-9 AS mean_labels
  FROM (SELECT reframe.evaluate('soft_topics', 'SELECT a, b, p_tech, p_sports FROM shares') AS e) x;
-- labels are still extracted by threshold
SELECT count(*) FILTER (WHERE (SELECT coalesce(array_agg(x ORDER BY x), '{}') FROM unnest(reframe.predict_labels('soft_topics', s)) x)
                               = (SELECT coalesce(array_agg(l ORDER BY l), '{}') FROM unnest(ARRAY['p_sports', 'p_tech']) l
                                   WHERE reframe.score('soft_topics', s, l) >= 0.5)) AS by_threshold, count(*) AS rows
  FROM shares s;

-- a distribution per row: a float8[] of shares over the classes named by
-- "classes" (the seed's cross-entropy example, [0, 0, 0, 1] against
-- [0.45, 0.2, 0.02, 0.33], is the one-hot case); each annotator picking
-- one topic, as rows, trains the same model (within 1e-6)
CREATE TABLE picks AS
SELECT n.id, n.a, n.b, j AS annotator,
       CASE WHEN sin(n.id * 1.1 + j) + n.a > 0.5 THEN 'tech' WHEN cos(n.id * 0.7 + j) + n.b > 0.3 THEN 'sports' ELSE 'politics' END AS topic
  FROM news n, generate_series(1, 3) j WHERE j < 3 OR n.id % 5 <> 0;
CREATE TABLE topic_shares AS
SELECT id, a, b, ARRAY[avg((topic = 'tech')::int), avg((topic = 'sports')::int), avg((topic = 'politics')::int)]::float8[] AS topic,
       count(*) AS annotators
  FROM picks GROUP BY id, a, b;
SELECT task FROM reframe.train('soft_topic', 'SELECT a, b, topic, annotators FROM topic_shares', 'topic', 'multiclass',
                               '{"classes": ["tech", "sports", "politics"], "validation": 0, "weight": "annotators", "l2": 0.01, "tol": 1e-10, "max_iter": 1000}');
SELECT reframe.classes('soft_topic');
SELECT 1 FROM reframe.train('rows_topic', 'SELECT a, b, topic FROM picks', 'topic',
                            options => '{"validation": 0, "l2": 0.01, "tol": 1e-10, "max_iter": 1000}');
SELECT max(abs(reframe.score('soft_topic', s, c) - reframe.score('rows_topic', s, c))) < 1e-6 AS same_model
  FROM topic_shares s, unnest(ARRAY['tech', 'sports', 'politics']) c;
SELECT 1 FROM reframe.train('soft_topic_trees', 'SELECT a, b, topic, annotators FROM topic_shares', 'topic', 'multiclass',
                            '{"model": "trees", "rounds": 10, "classes": ["tech", "sports", "politics"], "validation": 0, "weight": "annotators"}');
SELECT 1 FROM reframe.train('rows_topic_trees', 'SELECT a, b, topic FROM picks', 'topic',
                            options => '{"model": "trees", "rounds": 10, "validation": 0}');
SELECT max(abs(reframe.score('soft_topic_trees', s, c) - reframe.score('rows_topic_trees', s, c))) < 1e-6 AS same_trees
  FROM topic_shares s, unnest(ARRAY['tech', 'sports', 'politics']) c;
-- its cross-entropy against the distributions, weighted by annotators, is
-- the annotation rows' cross-entropy
SELECT abs((reframe.evaluate('soft_topic', 'SELECT * FROM topic_shares', '{"weight": "annotators"}') #>> '{metrics,cross_entropy}')::float8 -
           (SELECT reframe.cross_entropy(reframe.predict_proba('soft_topic', p), array_position(reframe.classes('soft_topic'), p.topic))
              FROM picks p)) < 1e-9 AS cross_entropy;
-- multilabel shares as one float8[] column
SELECT task FROM reframe.train('soft_topics_arr', 'SELECT a, b, ARRAY[p_tech, p_sports] AS shares, annotators FROM shares', 'shares', 'multilabel',
                               '{"classes": ["p_tech", "p_sports"], "validation": 0, "weight": "annotators", "l2": 0.01, "tol": 1e-10, "max_iter": 1000}');
SELECT max(abs(reframe.score('soft_topics_arr', s, 'p_tech') - reframe.score('soft_topics', s, 'p_tech'))) < 1e-6 AS same_as_columns
  FROM shares s;

-- bad input
RESET client_min_messages;
SELECT * FROM reframe.train('bad', 'SELECT a, b, p_tech * 2 AS p_tech FROM shares', 'p_tech', 'binary');
SELECT * FROM reframe.train('bad', 'SELECT a, b, p_tech FROM shares', 'p_tech', 'binary', '{"class_weight": "balanced"}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, p_tech - 0.5 AS p_tech, p_sports FROM shares', 'p_tech,p_sports', 'multilabel');
SELECT * FROM reframe.train('bad', 'SELECT a, b, p_tech::text AS p_tech, p_sports FROM shares', 'p_tech,p_sports', 'multilabel');
SELECT reframe.evaluate('soft_tech', 'SELECT a, b, p_tech + 1 AS p_tech FROM shares');
SELECT * FROM reframe.train('bad', 'SELECT a, b, topic FROM topic_shares', 'topic', 'multiclass');
SELECT * FROM reframe.train('bad', 'SELECT a, b, topic FROM topic_shares', 'topic', options => '{"classes": ["x", "y", "z"]}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, topic FROM topic_shares', 'topic', 'multiclass', '{"classes": ["x", "y"]}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, topic FROM topic_shares', 'topic', 'multiclass', '{"classes": ["x", "y", "x"]}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, ARRAY[topic[1], topic[2], topic[3] + 0.1] AS topic FROM topic_shares', 'topic', 'multiclass',
                            '{"classes": ["x", "y", "z"]}');
SELECT * FROM reframe.train('bad', 'SELECT a, b, ARRAY[topic[1], NULL, topic[3]] AS topic FROM topic_shares', 'topic', 'multilabel',
                            '{"classes": ["x", "y", "z"]}');
SELECT reframe.evaluate('soft_topic', 'SELECT a, b, topic[1:2] AS topic FROM topic_shares');
SELECT reframe.evaluate('soft_topic', 'SELECT a, b, ''tech'' AS topic FROM topic_shares');
SELECT * FROM reframe.train('bad', 'SELECT a, b, p_tech FROM shares', 'p_tech', 'binary', '{"classes": ["x", "y"]}');
SELECT reframe.drop_model(m) FROM unnest(ARRAY['share_reg', 'soft_net', 'rows_net', 'soft_tech', 'rows_tech', 'soft_trees', 'rows_trees', 'soft_topics', 'rows_topics',
                                                'soft_topic', 'rows_topic', 'soft_topic_trees', 'rows_topic_trees', 'soft_topics_arr']) m;
DROP TABLE news, annotations, shares, picks, topic_shares;
