-- Pointwise ranking: a binary model over user + context + candidate
-- features, ranked with ORDER BY; new candidates need no retraining.
-- the linear family's framings: without "model" it is trained by this setting (default_model tests the default)
SET reframe.default_model = linear;
CREATE TABLE users AS
SELECT u AS user_id, 18 + (u * 7) % 50 AS age,
       (ARRAY['games', 'news', 'music', 'fitness'])[1 + u % 4] AS favorite
  FROM generate_series(1, 120) u;
CREATE TABLE apps AS
SELECT a AS app_id, (ARRAY['games', 'news', 'music', 'fitness'])[1 + a % 4] AS category,
       ((a * 37) % 100) / 100.0 AS popularity
  FROM generate_series(1, 24) a;
-- opens: one session per user and hour; users open apps of their favorite
-- category, popular apps, and news in the morning
CREATE TABLE opens AS
SELECT u.user_id || ':' || h AS session, u.age, u.favorite, h AS hour, a.app_id,
       a.category AS app_category, a.popularity, a.category = u.favorite AS favorite_match,
       (CASE WHEN a.category = u.favorite THEN 1.5 ELSE 0 END + 2 * a.popularity
        + CASE WHEN h < 10 AND a.category = 'news' THEN 1 ELSE 0 END
        + sin(u.user_id * 12.9898 + a.app_id * 78.233 + h) > 1.6) AS opened
  FROM users u, apps a, (VALUES (8), (13), (21)) hs(h);
SELECT count(*) AS rows, count(*) FILTER (WHERE opened) AS opened FROM opens;

-- train on user + context + app features (and their interaction: does the
-- app's category match the user's favorite?); sessions are the queries
SELECT model, task, train_rows, validation_rows, metrics->'ranking' AS validation_ranking
  FROM reframe.train('next_app', 'SELECT age, favorite, hour, app_category, popularity, favorite_match, opened, session FROM opens',
                     'opened', options => '{"group": "session", "validation": 0.25, "seed": 3}');
SELECT spec->>'group' AS grouped_by FROM next_app WHERE block = '';

-- evaluate ranks within each session: NDCG@5, MRR and hit rate@5, checked
-- against reframe.ndcg and a window-function MRR over the same scores
CREATE TEMP TABLE scored AS
SELECT session, reframe.score('next_app', o) AS s, opened FROM opens o;
SELECT round(((e->'ranking'->>'ndcg@5')::float8)::numeric, 10) = round((
         SELECT avg(v) FROM (SELECT reframe.ndcg(s, opened::int, 5) AS v FROM scored GROUP BY session) x
          WHERE v IS NOT NULL)::numeric, 10) AS ndcg_matches,
       round(((e->'ranking'->>'mrr')::float8)::numeric, 10) = round((
         SELECT avg(1.0 / r) FROM (
           SELECT session, min(r) AS r FROM (
             SELECT session, opened, row_number() OVER (PARTITION BY session ORDER BY s DESC, opened) AS r
               FROM scored) y WHERE opened GROUP BY session) z)::numeric, 10) AS mrr_matches,
       round(((e->'ranking'->>'hit_rate@5')::float8)::numeric, 10) = round((
         SELECT avg((r <= 5)::int) FROM (
           SELECT session, min(r) AS r FROM (
             SELECT session, opened, row_number() OVER (PARTITION BY session ORDER BY s DESC, opened) AS r
               FROM scored) y WHERE opened GROUP BY session) z)::numeric, 10) AS hit_rate_matches,
       (e->'ranking'->>'ndcg@5')::float8 > 0.7 AS ranks_well
  FROM (SELECT reframe.evaluate('next_app', 'opens', '{"group": "session", "k": 5}') AS e) ev;

-- each user's top 5 apps at 9 o'clock, with ORDER BY ... LIMIT under LATERAL
CREATE TEMP TABLE top5 AS
SELECT u.user_id, u.favorite, t.app_id, t.category, t.rank
  FROM users u,
       LATERAL (SELECT a.app_id, a.category, row_number() OVER () AS rank
                  FROM apps a,
                       LATERAL (SELECT u.age, u.favorite, 9 AS hour, a.category AS app_category, a.popularity,
                                       a.category = u.favorite AS favorite_match) f
                 ORDER BY reframe.score('next_app', f) DESC LIMIT 5) t;
SELECT user_id, favorite, array_agg(app_id ORDER BY rank) AS top_apps FROM top5 WHERE user_id <= 4 GROUP BY 1, 2 ORDER BY 1;
SELECT round(avg((category = favorite)::int), 2) AS share_of_favorite_category FROM top5;

-- a brand-new app, popular and in the games category: ranked at once
INSERT INTO apps VALUES (25, 'games', 0.99);
SELECT count(*) FILTER (WHERE first = 25) AS games_fans_with_new_app_first,
       count(*) AS games_fans,
       (SELECT count(*) FROM reframe.models WHERE model = 'next_app') AS versions
  FROM (SELECT u.user_id,
               (SELECT a.app_id FROM apps a,
                       LATERAL (SELECT u.age, u.favorite, 9 AS hour, a.category AS app_category, a.popularity,
                                       a.category = u.favorite AS favorite_match) f
                 ORDER BY reframe.score('next_app', f) DESC LIMIT 1) AS first
          FROM users u WHERE u.favorite = 'games') x;

-- bad ranking options
SELECT * FROM reframe.train('bad', 'opens', 'opened', NULL, '{"group": "nope"}');
SELECT * FROM reframe.train('bad', 'opens', 'opened', NULL, '{"group": "opened"}');
SELECT * FROM reframe.train('bad', 'opens', 'opened', NULL, '{"group": ""}');
SELECT reframe.evaluate('next_app', 'opens', '{"group": "nope"}');
SELECT reframe.evaluate('next_app', 'opens', '{"group": "session", "k": 0}');
SELECT reframe.evaluate('next_app', 'opens', '{"grouping": "session"}');

DROP TABLE users, apps, opens, next_app;
