-- reframe.drift: a version keeps the distributions of its inputs and of its
-- score on its training source; a source is compared with them, input by
-- input, by the population stability index
SET client_min_messages = warning;
CREATE TABLE shop AS
SELECT i, (hashint4(i) % 1000) / 100.0 AS price, (hashint4(i * 3) % 1000) / 100.0 AS visits,
       (ARRAY['red', 'green', 'blue'])[1 + abs(hashint4(i * 5)) % 3] AS colour,
       CASE WHEN i % 50 = 0 THEN NULL ELSE (hashint4(i * 7) % 100)::float8 END AS age,
       (hashint4(i) % 1000) / 100.0 - (hashint4(i * 3) % 1000) / 300.0 + (hashint4(i * 11) % 300) / 100.0 > 0 AS bought
FROM generate_series(1, 8000) i;
CREATE VIEW shop_train AS SELECT * FROM shop WHERE i <= 5000;
-- later rows from the same process: nothing drifted
CREATE VIEW shop_same AS SELECT * FROM shop WHERE i > 5000;
-- later rows where prices rose and red fell out of fashion
CREATE VIEW shop_moved AS
SELECT i, price + 3 AS price, visits, CASE WHEN colour = 'red' AND i % 3 <> 0 THEN 'blue' ELSE colour END AS colour, age, bought
FROM shop WHERE i > 5000;
SELECT version FROM reframe.train('buys', 'SELECT price, visits, colour, age, bought FROM shop_train', 'bought',
       options => '{"model": "linear"}');
-- one row per input, in the model's order, and one for the score
SELECT feature, kind, cardinality(edges) AS edges, categories, cardinality(training_shares) AS bins,
       round(psi::numeric, 6) AS psi_on_its_own_source
FROM reframe.drift('buys', 'shop_train');
-- measured on the rows training read, as a source is counted: trees (numbers
-- kept raw, NULLs missing), a boolean input, a regression score
SELECT version FROM reframe.train('buys_trees', 'SELECT price, visits, colour, age, i % 3 = 0 AS member, bought FROM shop_train', 'bought',
       options => '{"model": "trees", "rounds": 20}');
SELECT version FROM reframe.train('visits_lin', 'SELECT price, colour, age, i % 3 = 0 AS member, visits FROM shop_train', 'visits',
       options => '{"model": "linear"}');
SELECT m, feature, kind, cardinality(training_shares) AS bins, round(psi::numeric, 6) AS psi_on_its_own_source
FROM unnest(ARRAY['buys_trees', 'visits_lin']) m,
     reframe.drift(m, 'SELECT *, i % 3 = 0 AS member FROM shop_train')
ORDER BY m, feature;
SELECT count(reframe.drop_model(m)) FROM unnest(ARRAY['buys_trees', 'visits_lin']) m;
-- the shares are a histogram over the returned edges, counted here another way (width_bucket)
CREATE TABLE d AS SELECT * FROM reframe.drift('buys', 'shop_moved');
SELECT d.feature,
       max(abs(d.source_shares[b + 1] - coalesce(h.share, 0))) < 1e-12 AS shares_as_counted_here
FROM d, generate_series(0, cardinality(d.edges)) b
LEFT JOIN LATERAL (
  SELECT count(*)::float8 / (SELECT count(*) FROM shop_moved) AS share
  FROM shop_moved m
  WHERE (CASE d.feature WHEN 'price' THEN m.price WHEN 'visits' THEN m.visits ELSE m.age END) IS NOT NULL
    AND width_bucket((CASE d.feature WHEN 'price' THEN m.price WHEN 'visits' THEN m.visits ELSE m.age END)::float8, d.edges) = b) h ON true
WHERE d.kind = 'numeric'
GROUP BY d.feature ORDER BY d.feature;
-- the last share is the missing values'; a category's, after the others
SELECT feature, source_shares[cardinality(source_shares)] AS missing,
       abs(source_shares[cardinality(source_shares)] - (SELECT count(*) FILTER (WHERE age IS NULL)::float8 / count(*) FROM shop_moved)) < 1e-12 AS as_counted
FROM d WHERE feature = 'age';
SELECT source_shares[1:3] = ARRAY(SELECT (SELECT count(*) FILTER (WHERE colour = c)::float8 / count(*) FROM shop_moved)
                                    FROM unnest(categories) WITH ORDINALITY AS u(c, k) ORDER BY k) AS category_shares_as_counted
FROM d WHERE feature = 'colour';
-- moved inputs stand out, the others do not
SELECT feature, psi > 0.2 AS drifted, psi < 0.05 AS stable FROM d ORDER BY feature;
SELECT feature, psi < 0.05 AS stable FROM reframe.drift('buys', 'shop_same') ORDER BY feature;
-- any version, by number; the report shows drift when given a source
SELECT count(*) AS rows_for_version_1 FROM reframe.drift('buys', 'shop_same', 1);
SELECT reframe.report('buys', 'shop_moved') ~ '<h2>Drift</h2>' AS report_shows_drift,
       reframe.report('buys') ~ '<h2>Drift</h2>' AS not_without_a_source;
-- drift needs the rights scoring needs: to read the model and the source
CREATE ROLE regress_drift_reader;
GRANT SELECT ON shop, shop_moved TO regress_drift_reader;
SET ROLE regress_drift_reader;
SELECT * FROM reframe.drift('buys', 'shop_moved');
RESET ROLE;
GRANT SELECT ON buys TO regress_drift_reader;
SET ROLE regress_drift_reader;
SELECT count(*) AS rows_once_granted FROM reframe.drift('buys', 'shop_moved');
RESET ROLE;
REVOKE ALL ON shop, shop_moved, buys FROM regress_drift_reader;
DROP ROLE regress_drift_reader;
-- errors
SELECT * FROM reframe.drift('no_such', 'shop');
SELECT * FROM reframe.drift('buys', 'shop', 7);
SELECT * FROM reframe.drift('buys', 'SELECT price FROM shop');
SELECT reframe.create_blend('buys_blend', '{"buys": 1}');
SELECT * FROM reframe.drift('buys_blend', 'shop');
SELECT count(reframe.drop_model(m)) FROM unnest(ARRAY['buys', 'buys_blend']) m;
DROP TABLE d;
DROP VIEW shop_train, shop_same, shop_moved;
DROP TABLE shop;
