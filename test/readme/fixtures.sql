-- Tables the README's examples use, generated: test/production/readme.sh
-- runs every SQL block of the README's getting started and tour against them.
SET client_min_messages = warning;
CREATE TABLE houses AS
SELECT i AS id, (800 + (i * 37) % 2200)::int AS sqft, 1 + i % 5 AS bedrooms, (i * 7) % 60 AS age,
       (50000 + 120 * ((800 + (i * 37) % 2200)) + 8000 * (1 + i % 5) - 500 * ((i * 7) % 60) + 3000 * sin(i))::float8 AS price
  FROM generate_series(1, 1500) i;
CREATE TABLE customers AS
SELECT i AS id, (i * 13) % 72 AS tenure, (ARRAY['basic', 'pro', 'team'])[1 + i % 3] AS plan,
       (20 + (i * 7) % 80)::float8 AS monthly, (i * 11) % 6 AS support_calls,
       date '2025-01-01' + (i % 600) AS signed_up,
       ((i * 13) % 72 < 12 AND (i * 7) % 80 > 30) OR (i * 11) % 6 >= 5 OR i % 17 = 0 AS churned
  FROM generate_series(1, 2000) i;
CREATE TABLE iris (x float8[], species text);
CREATE TABLE docs AS
SELECT i AS id, 20 + (i * 7) % 80 AS title_len, (100 + (i * 37) % 900)::float8 AS words,
       i % 3 = 0 AS sports, i % 4 = 1 AS politics, (i * 37) % 900 > 600 AS science
  FROM generate_series(1, 1200) i;
ALTER TABLE docs ADD COLUMN tags text[];
UPDATE docs SET tags = array_remove(ARRAY[CASE WHEN sports THEN 'sports' END, CASE WHEN politics THEN 'politics' END,
                                          CASE WHEN science THEN 'science' END], NULL);
CREATE TABLE items AS
SELECT i AS id, 20 + (i * 7) % 60 AS title_len, (10 + (i * 31) % 500)::float8 AS price,
       CASE WHEN (i * 31) % 500 > 200 THEN 'electronics' ELSE 'garden' END AS department,
       CASE WHEN (i * 31) % 500 > 200 THEN CASE WHEN (i * 7) % 60 > 30 THEN 'phones' ELSE 'laptops' END
            ELSE CASE WHEN (i * 7) % 60 > 40 THEN 'seeds' ELSE 'tools' END END AS category
  FROM generate_series(1, 1500) i;
CREATE TABLE posts AS
SELECT i AS id, (50 + (i * 37) % 950)::float8 AS words, (i * 3) % 7 AS links, i % 4 AS images
  FROM generate_series(1, 1500) i;
ALTER TABLE posts ADD COLUMN quality float8, ADD COLUMN engaged bool, ADD COLUMN spam bool, ADD COLUMN tags text[];
UPDATE posts SET quality = 1 + words / 250 + images * 0.3 - links * 0.2 + 0.3 * sin(id),
                 engaged = words > 300 AND images > 0, spam = links >= 5 AND words < 200,
                 tags = array_remove(ARRAY[CASE WHEN images > 1 THEN 'photo' END, CASE WHEN words > 700 THEN 'longread' END], NULL);
CREATE TABLE views AS
SELECT i AS id, ARRAY[sin(i), cos(i * 0.7)]::float8[] AS user_features, ARRAY[sin(i * 1.3), cos(i * 0.3)]::float8[] AS item_features,
       sin(i) * sin(i * 1.3) > 0 AS clicked, (10 + 8 * sin(i) * sin(i * 1.3) + 3 * cos(i * 0.7))::float8 AS watch_minutes,
       1 + ((sin(i) * sin(i * 1.3) + 1) * 2)::int AS rating
  FROM generate_series(1, 2000) i;
CREATE TABLE homes AS
SELECT i AS id, (600 + (i * 37) % 2400)::float8 AS sqft, 1 + i % 6 AS rooms,
       (40000 + 90 * ((600 + (i * 37) % 2400)) + 5000 * (1 + i % 6) + 4000 * sin(i))::float8 AS price
  FROM generate_series(1, 1500) i;
CREATE TABLE users AS
SELECT u AS user_id, 18 + (u * 7) % 50 AS age, (ARRAY['games', 'news', 'music', 'sports'])[1 + u % 4] AS favorite
  FROM generate_series(1, 60) u;
CREATE TABLE apps AS
SELECT a AS app_id, (ARRAY['games', 'news', 'music', 'sports'])[1 + a % 4] AS category, ((a * 13) % 100)::float8 AS popularity
  FROM generate_series(1, 12) a;
CREATE TABLE hours AS SELECT h FROM unnest(ARRAY[8, 13, 20]) h;
CREATE TABLE app_opens AS
SELECT u.user_id, a.app_id, h.h, timestamptz '2026-11-01' + (u.user_id * 3 + h.h) * interval '1 hour' AS opened_at,
       (a.category = u.favorite AND (a.app_id + h.h) % 3 <> 0) OR (a.popularity > 85 AND h.h = 20) AS opened
  FROM users u, apps a, hours h;
CREATE TABLE articles AS
SELECT i AS article_id, 200 + (i * 37) % 1800 AS words, (i * 7) % 24 AS hour,
       (ARRAY['wire', 'staff', 'guest'])[1 + i % 3] AS source
  FROM generate_series(1, 900) i;
CREATE TABLE article_tags AS
SELECT a.article_id, a.words, a.hour, a.source, j AS annotator,
       sin(a.article_id * 3.7 + j * 1.3) * 0.5 + 0.5 < 1 / (1 + exp(-(a.words - 1000) / 400.0)) AS tech,
       cos(a.article_id * 2.3 + j * 0.9) * 0.5 + 0.5 < CASE a.source WHEN 'staff' THEN 0.7 ELSE 0.3 END AS sports
  FROM articles a, generate_series(1, 3) j WHERE j < 3 OR a.article_id % 4 <> 0;
