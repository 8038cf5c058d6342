-- NDCG@k as a parallel-safe aggregate, per query with GROUP BY, against
-- values computed by hand; and a binary model's threshold changed without
-- retraining.
-- the linear family's framings: without "model" it is trained by this setting (default_model tests the default)
SET reframe.default_model = linear;
CREATE TABLE clicks (q int, doc text, score float8, rel float8);
INSERT INTO clicks VALUES
  -- query 1: ranking by score gives relevances 3, 2, 0, 1
  (1, 'a', 0.9, 3), (1, 'b', 0.8, 2), (1, 'c', 0.7, 0), (1, 'd', 0.6, 1),
  -- query 2: the most relevant document ranked last
  (2, 'a', 0.9, 0), (2, 'b', 0.5, 0), (2, 'c', 0.1, 1),
  -- query 3: two documents tied on score share their ranks' discounts
  (3, 'a', 0.5, 1), (3, 'b', 0.5, 0),
  -- query 4: nothing relevant: undefined
  (4, 'a', 0.3, 0), (4, 'b', 0.2, 0);

-- by hand: DCG@3 of q1 = 3/log2(2) + 2/log2(3) + 0/log2(4); ideal = 3 + 2/log2(3) + 1/log2(4)
-- q2: DCG@3 = 1/log2(4), ideal = 1; q3: (1 + 0) * (1/log2(2) + 1/log2(3)) / 2, ideal = 1
SELECT q, round(reframe.ndcg(score, rel, 3)::numeric, 12) AS ndcg,
       round(CASE q WHEN 1 THEN (3 + 2 / log(2, 3)) / (3 + 2 / log(2, 3) + 1 / log(2, 4))
                    WHEN 2 THEN 1 / log(2, 4)
                    WHEN 3 THEN (1 + 1 / log(2, 3)) / 2
               END::numeric, 12) AS by_hand
  FROM clicks GROUP BY q ORDER BY q;
-- k beyond the list is the whole list; k = 1 looks at the top only
SELECT q, round(reframe.ndcg(score, rel, 10)::numeric, 6) AS at_10, round(reframe.ndcg(score, rel, 1)::numeric, 6) AS at_1
  FROM clicks GROUP BY q ORDER BY q;
SELECT reframe.ndcg(score, rel, 0) FROM clicks;
SELECT reframe.ndcg(score, rel, q) FROM clicks;

-- parallel plans give the same answer as serial ones
CREATE TABLE many AS SELECT i % 50 AS q, sin(i)::float8 AS score, (i * 7 % 4)::float8 AS rel
  FROM generate_series(1, 100000) i;
ANALYZE many;
CREATE TEMP TABLE serial AS SELECT q, reframe.ndcg(score, rel, 10) AS v FROM many GROUP BY q;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET enable_hashagg = off;
EXPLAIN (COSTS OFF) SELECT q, reframe.ndcg(score, rel, 10) FROM many GROUP BY q;
SELECT bool_and(abs(s.v - p.v) < 1e-12) AS same
  FROM serial s JOIN (SELECT q, reframe.ndcg(score, rel, 10) AS v FROM many GROUP BY q) p USING (q);
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET enable_hashagg;

-- set_threshold: predict follows the new threshold at once, no retraining
CREATE TABLE leads AS SELECT i, sin(i)::float8 AS x, sin(i) + sin(i * 3.3) > 0.2 AS won
  FROM generate_series(1, 300) i;
SELECT version FROM reframe.train('lead', 'SELECT x, won FROM leads', 'won', options => '{"validation": 0}');
SELECT count(*) FILTER (WHERE reframe.predict('lead', l) = 'true') = count(*) FILTER (WHERE reframe.score('lead', l) >= 0.5)
       AS at_default FROM leads l;
SELECT reframe.set_threshold('lead', 0.8);
SELECT count(*) FILTER (WHERE reframe.predict('lead', l) = 'true') = count(*) FILTER (WHERE reframe.score('lead', l) >= 0.8)
       AS at_new FROM leads l;
SELECT count(*) AS versions, (SELECT spec #> '{network,heads,0,threshold}' FROM lead WHERE block = '') AS stored
  FROM reframe.models WHERE model = 'lead';
SELECT reframe.set_threshold('lead', 1.2);
SELECT reframe.set_threshold('lead', 0.5, 'x');
SELECT version FROM reframe.train('lead_r', 'SELECT x, i::float8 AS y FROM leads', 'y');
SELECT reframe.set_threshold('lead_r', 0.5);

DROP TABLE clicks, many, leads, lead, lead_r;
