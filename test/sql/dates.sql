-- Dates and times as features: a timestamp becomes its time since 1970 and
-- its hour of the day, day of the week and day of the year, each on a
-- circle; a date the same without the hour; a time its seconds and hour; an
-- interval its length.  Each number is checked against EXTRACT.
-- the linear family's framings: without "model" it is trained by this setting (default_model tests the default)
SET reframe.default_model = linear;
SET client_min_messages = warning;
CREATE TABLE opens AS
SELECT i, timestamp '2026-01-05 00:00' + i * interval '37 minutes' AS opened_at,
       (timestamptz '2026-01-05 00:00+00' + i * interval '37 minutes') AS opened_tz,
       date '2026-01-01' + (i % 400) AS day, time '00:00' + i * interval '7 minutes' AS at, i * interval '90 seconds' AS wait
  FROM generate_series(1, 3000) i;
ALTER TABLE opens ADD COLUMN busy bool;
-- busy in the evening on weekdays: a pattern of the hour and the day of the week
UPDATE opens SET busy = extract(hour FROM opened_at) BETWEEN 17 AND 22 AND extract(isodow FROM opened_at) <= 5;
SELECT task, train_rows + validation_rows AS rows FROM reframe.train('evenings', 'SELECT opened_at, busy FROM opens', 'busy',
                                                                     options => '{"hidden": [16], "epochs": 60}');
SELECT spec #> '{encoder,columns,0,kind}' AS kind, spec #> '{encoder,columns,0,length}' AS inputs FROM evenings WHERE block = '';
SELECT (metrics->'validation'->>'accuracy')::float8 > 0.9 AS learns_hours_and_days
  FROM reframe.models WHERE model = 'evenings';
-- trees split the same numbers
SELECT (metrics->'validation'->>'accuracy')::float8 > 0.95 AS trees_learn_it
  FROM reframe.train('evenings_trees', 'SELECT opened_at, busy FROM opens', 'busy', options => '{"model": "trees"}');

-- the numbers: a linear model with no penalty on one timestamp column
-- reproduces a target that is a sum of them, and so each encoded input
ALTER TABLE opens ADD COLUMN y float8;
UPDATE opens SET y = extract(epoch FROM opened_at) / 1e6
                     + sin(2 * pi() * (extract(epoch FROM opened_at::time) / 86400))
                     + 2 * cos(2 * pi() * extract(dow FROM opened_at) / 7)
                     + 3 * sin(2 * pi() * (extract(doy FROM opened_at) - 1) / 365.25);
SELECT 1 FROM reframe.train('exact', 'SELECT opened_at, y FROM opens', 'y', options => '{"l2": 0, "validation": 0}');
SELECT max(abs(reframe.score('exact', o) - y)) < 1e-6 AS encoding_matches_extract FROM opens o;
-- timestamptz is read in UTC whatever the session's zone
SELECT 1 FROM reframe.train('exact_tz', 'SELECT opened_tz, y FROM opens', 'y', options => '{"l2": 0, "validation": 0}');
SET TIME ZONE 'America/New_York';
SELECT max(abs(reframe.score('exact_tz', o) - y)) < 1e-6 AS utc_whatever_the_zone FROM opens o;
RESET TIME ZONE;
-- a date, a time of day and an interval
SELECT 1 FROM reframe.train('mixed', 'SELECT day, at, wait, y FROM opens', 'y');
SELECT spec #> '{encoder,columns}' @> '[{"name": "day", "length": 5}, {"name": "at", "length": 3}, {"name": "wait", "length": 1}]' AS lengths
  FROM mixed WHERE block = '';
SELECT count(*) AS scored FROM (SELECT reframe.score('mixed', o) FROM opens o) s;
-- importance and explanations name the column
SELECT feature FROM reframe.importance('exact');
SELECT jsonb_object_keys(reframe.explain('mixed', o)->'contributions') FROM opens o WHERE i = 1;
-- infinity is refused; a row with another date type is refused by name
SELECT reframe.score('exact', x) FROM (SELECT timestamp 'infinity' AS opened_at) x;
SELECT reframe.score('exact', x) FROM (SELECT date '2026-01-01' AS opened_at) x;
SELECT reframe.drop_model(m) FROM unnest(ARRAY['evenings', 'evenings_trees', 'exact', 'exact_tz', 'mixed']) m;
DROP TABLE opens;
