-- Decoupled objectives: separate models combined at scoring time by a blend
-- whose weights change without retraining.
CREATE TABLE posts AS
SELECT i AS id, (sin(i * 0.9) * 2)::float8 AS a, (cos(i * 1.7))::float8 AS b,
       (sin(i * 0.9) * 2 + cos(i * 1.7) + sin(i * 5.1))::float8 AS quality,
       (sin(i * 0.9) - cos(i * 1.7) + sin(i * 3.3) > 0) AS engaged,
       (cos(i * 1.7) + sin(i * 7.9) > 1.2) AS spam,
       CASE WHEN sin(i) > 0.3 THEN 'news' WHEN sin(i) > -0.3 THEN 'sport' ELSE 'music' END AS topic
  FROM generate_series(1, 400) i;
SET client_min_messages = warning;
SELECT model, task FROM reframe.train('quality', 'SELECT a, b, quality FROM posts', 'quality');
SELECT model, task FROM reframe.train('engagement', 'SELECT a, b, engaged FROM posts', 'engaged');
SELECT model, task FROM reframe.train('spam', 'SELECT a, b, spam FROM posts', 'spam');
SELECT model, task FROM reframe.train('topic', 'SELECT a, b, topic FROM posts', 'topic');
RESET client_min_messages;

SELECT reframe.create_blend('feed', '{"quality": 0.3, "engagement": 0.7, "spam:true": -2}');
SELECT model, version, task, deployed FROM reframe.models WHERE model = 'feed';

-- the blend's score is the weighted sum of its components' scores
SELECT max(abs(reframe.score('feed', p) - (0.3 * reframe.score('quality', p) + 0.7 * reframe.score('engagement', p)
                                           - 2 * reframe.score('spam', p, 'true')))) < 1e-12 AS weighted_sum,
       max(abs(reframe.score('feed', ARRAY[a, b]) - reframe.score('feed', p))) < 1e-12 AS arrays_too
  FROM posts p;

-- new weights change the ranking at once, with no retraining
CREATE TEMP TABLE top_before AS SELECT id FROM posts p ORDER BY reframe.score('feed', p) DESC LIMIT 5;
SELECT reframe.create_blend('feed', '{"quality": 1, "engagement": 0.1, "spam:true": -2, "topic:news": 0.5}');
CREATE TEMP TABLE top_after AS SELECT id FROM posts p ORDER BY reframe.score('feed', p) DESC LIMIT 5;
SELECT (SELECT array_agg(id ORDER BY id) FROM top_before) <> (SELECT array_agg(id ORDER BY id) FROM top_after) AS ranking_changed,
       (SELECT array_agg(id ORDER BY id) FROM top_after) = (
         SELECT array_agg(id ORDER BY id) FROM (
           SELECT id FROM posts p
            ORDER BY reframe.score('quality', p) + 0.1 * reframe.score('engagement', p)
                     - 2 * reframe.score('spam', p, 'true') + 0.5 * reframe.score('topic', p, 'news') DESC
            LIMIT 5) x) AS ranks_by_new_weights;
SELECT count(*) AS versions FROM reframe.models WHERE model = 'feed';

-- retraining one component changes only its contribution
CREATE TEMP TABLE before AS
SELECT id, reframe.score('feed', p) AS blend, reframe.score('quality', p) AS q FROM posts p;
SET client_min_messages = warning;
SELECT version FROM reframe.train('quality', 'SELECT a, b, quality * 2 AS quality FROM posts', 'quality');
RESET client_min_messages;
SELECT max(abs((reframe.score('feed', p) - reframe.score('quality', p)) - (b.blend - b.q))) < 1e-9 AS only_quality_moved,
       max(abs(reframe.score('quality', p) - b.q)) > 0.1 AS quality_did_move
  FROM posts p JOIN before b USING (id);

-- bad blends: clear errors, nothing written
-- a blend's versions have no validation rows to compare: name the version
SELECT reframe.deploy('feed');
SELECT reframe.create_blend('bad', '{"no_such_model": 1}');
SELECT reframe.create_blend('bad', '{"spam:maybe": 1}');
SELECT reframe.create_blend('bad', '{"topic": 1}');
SELECT reframe.create_blend('bad', '{"feed": 1}');
SELECT reframe.create_blend('bad', '{"spam": "heavy"}');
SELECT reframe.create_blend('bad', '{}');
SELECT reframe.create_blend('bad', '[1]');
SELECT reframe.create_blend('quality', '{"spam": 1}');
SELECT to_regclass('bad') AS nothing_written;
-- a blend only scores
SELECT reframe.score('feed', ARRAY[1, 2]::float8[], 'quality');
SELECT reframe.predict('feed', ARRAY[1, 2]::float8[]);
SELECT reframe.classes('feed');
SELECT reframe.evaluate('feed', 'posts');
-- a component that disappears makes the blend fail clearly
SELECT reframe.drop_model('spam');
SELECT reframe.score('feed', ARRAY[1, 2]::float8[]);

DROP TABLE posts, quality, engagement, topic, feed;
