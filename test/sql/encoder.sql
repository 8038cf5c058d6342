-- Feature encoding of real tables: numbers, booleans, categories (vocabulary
-- or hashing), arrays, NULLs, and the features/exclude options.
-- the linear family's framings: without "model" it is trained by this setting (default_model tests the default)
SET reframe.default_model = linear;
CREATE TYPE mood AS ENUM ('sad', 'calm', 'happy');
CREATE TABLE people AS
SELECT i AS id,
       (20 + i % 50)::int AS age,
       (i % 2 = 0) AS member,
       CASE WHEN i % 10 = 0 THEN NULL ELSE (ARRAY['red', 'green', 'blue', 'green'])[1 + i % 4] END AS color,
       (ARRAY['sad', 'calm', 'happy'])[1 + i % 3]::mood AS mood,
       ('u' || (i * 7919 % 997))::varchar AS user_id,
       ('x' || i % 2)::char(4) AS padded,
       CASE WHEN i % 7 = 0 THEN ARRAY[NULL, i % 5]::float4[] ELSE ARRAY[i % 3, i % 5]::float4[] END AS v,
       point(i, i) AS seen,
       (100 + 2 * (20 + i % 50) + CASE WHEN i % 2 = 0 THEN 15 ELSE 0 END
        + CASE (ARRAY['red', 'green', 'blue', 'green'])[1 + i % 4] WHEN 'red' THEN 30 WHEN 'blue' THEN -20 ELSE 0 END
        + 3 * (i % 3))::float8 AS spend
  FROM generate_series(1, 800) i;

-- A point cannot be encoded: leave it out with "exclude"; "features" narrows.
SELECT * FROM reframe.train('spend', 'people', 'spend');
SELECT train_rows FROM reframe.train('spend', 'people', 'spend', NULL,
       '{"exclude": ["id", "seen"], "max_categories": 20, "validation": 0}');
SELECT c->>'name' AS name, c->>'kind' AS kind, c->'length' AS length, c->'missing' AS missing,
       c->'vocab' AS vocab, c->'hash_buckets' AS buckets
  FROM spend, jsonb_array_elements(spec->'encoder'->'columns') c WHERE block = '';
SELECT spec->'encoder'->'width' AS width FROM spend WHERE block = '';

-- Categories: the vocabulary is ordered by frequency, then by value; an
-- unseen value scores like any other value outside the vocabulary; a NULL,
-- seen in training, sets the column's missing indicator (its "missing" is
-- [0]) and scores as NULLs did. user_id has more distinct values than
-- max_categories: hashed.
CREATE TEMP TABLE probe AS
SELECT 30 AS age, true AS member, c AS color, 'calm'::mood AS mood, 'u1'::varchar AS user_id,
       'x1'::char(4) AS padded, ARRAY[1, 2]::float4[] AS v
  FROM (VALUES ('red'), ('green'), ('blue'), ('purple'), ('orange'), (NULL)) t(c);
SELECT color, round(reframe.score('spend', p)::numeric, 4) AS score FROM probe p ORDER BY color NULLS LAST;
SELECT count(DISTINCT round(reframe.score('spend', p)::numeric, 9)) = 1 AS unseen_values_alike
  FROM probe p WHERE color IN ('purple', 'orange');
-- unseen user ids hash into the learned buckets: they score, and the same id scores the same
SELECT round(reframe.score('spend', p)::numeric, 9) = round(reframe.score('spend', p)::numeric, 9) AS stable
  FROM (SELECT 30 AS age, true AS member, 'red' AS color, 'calm'::mood AS mood,
               'never-seen-user'::varchar AS user_id, 'x1'::char(4) AS padded, ARRAY[1, 2]::float4[] AS v) p;
-- char(n) padding is not part of the value
SELECT round(reframe.score('spend', p)::numeric, 9) = round(reframe.score('spend', q)::numeric, 9) AS padding_ignored
  FROM (SELECT 30 AS age, true AS member, 'red' AS color, 'calm'::mood AS mood, 'u1'::varchar AS user_id,
               'x1'::char(4) AS padded, ARRAY[1, 2]::float4[] AS v) p,
       (SELECT 30 AS age, true AS member, 'red' AS color, 'calm'::mood AS mood, 'u1'::varchar AS user_id,
               'x1'::text AS padded, ARRAY[1, 2]::float4[] AS v) q;

-- The fit recovers the generating effects: +2 per year of age, +15 for
-- members, red +30 and blue -20 against green.
SELECT round((reframe.score('spend', p) - reframe.score('spend', q))::numeric, 2) AS ten_years
  FROM (SELECT 40 AS age, true AS member, 'red' AS color, 'calm'::mood AS mood, 'u1'::varchar AS user_id,
               'x1'::char(4) AS padded, ARRAY[1, 2]::float4[] AS v) p,
       (SELECT 30 AS age, true AS member, 'red' AS color, 'calm'::mood AS mood, 'u1'::varchar AS user_id,
               'x1'::char(4) AS padded, ARRAY[1, 2]::float4[] AS v) q;
SELECT round(reframe.rmse(reframe.score('spend', p), spend)::numeric, 3) AS rmse
  FROM people p WHERE color IS NOT NULL AND v[1] IS NOT NULL;

-- Scoring a row checks its columns against the stored encoder.
SELECT reframe.score('spend', r) FROM (SELECT 30 AS age, true AS member) r;
SELECT reframe.score('spend', r) FROM (SELECT 'old' AS age, true AS member, 'red' AS color, 'calm'::mood AS mood,
       'u1'::varchar AS user_id, 'x1'::char(4) AS padded, ARRAY[1, 2]::float4[] AS v) r;
SELECT reframe.score('spend', r) FROM (SELECT 30 AS age, 1 AS member, 'red' AS color, 'calm'::mood AS mood,
       'u1'::varchar AS user_id, 'x1'::char(4) AS padded, ARRAY[1, 2]::float4[] AS v) r;
SELECT reframe.score('spend', r) FROM (SELECT 30 AS age, true AS member, 'red' AS color, 'calm'::mood AS mood,
       'u1'::varchar AS user_id, 'x1'::char(4) AS padded, ARRAY[1, 2, 3]::float4[] AS v) r;
SELECT reframe.score('spend', r) FROM (SELECT 30 AS age, true AS member, 'red' AS color, 'calm'::mood AS mood,
       'u1'::varchar AS user_id, 'x1'::char(4) AS padded, 1.5 AS v) r;
SELECT reframe.score('spend', ARRAY[1, 2, 3]::float8[]);

-- A row without field names (ROW(...), as Citus ships a subquery's row
-- between nodes) is read by position when its fields are the inputs, one to
-- one and in the training's order; the same score as the named row.
SELECT reframe.score('spend', ROW(p.age, p.member, p.color, p.mood, p.user_id, p.padded, p.v))
       = reframe.score('spend', p) AS by_position
  FROM probe p WHERE color = 'red';
SELECT count(*) FILTER (WHERE reframe.score('spend', ROW(p.age, p.member, p.color, p.mood, p.user_id, p.padded, p.v))
                              = reframe.score('spend', p)) AS same, count(*) AS rows
  FROM people p;
SELECT reframe.score('spend', ROW(30, true, 'red'));
SELECT reframe.score('spend', ROW(true, 30, 'red', 'calm'::mood, 'u1'::varchar, 'x1'::char(4), ARRAY[1, 2]::float4[]));

DROP TABLE people, spend, probe;
DROP TYPE mood;
