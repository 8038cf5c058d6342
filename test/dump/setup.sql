-- Models of every kind, and their scores, before pg_dump.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION reframe;
CREATE TABLE d AS
SELECT i, sin(i * 1.1)::float8 AS a, cos(i * 2.3)::float8 AS b,
       CASE i % 3 WHEN 0 THEN 'x' WHEN 1 THEN 'y' ELSE 'z' END AS k,
       (3 * sin(i * 1.1) + cos(i * 2.3))::float8 AS r, sin(i * 1.1) * cos(i * 2.3) > 0 AS p,
       CASE WHEN sin(i * 1.1) > 0.3 THEN 'hi' WHEN sin(i * 1.1) > -0.3 THEN 'mid' ELSE 'lo' END AS m,
       CASE WHEN sin(i * 1.1) > 0 THEN 'up' ELSE 'down' END AS lvl1,
       CASE WHEN sin(i * 1.1) > 0 THEN (CASE WHEN cos(i * 2.3) > 0 THEN 'up/a' ELSE 'up/b' END)
            ELSE (CASE WHEN cos(i * 2.3) > 0 THEN 'down/a' ELSE 'down/b' END) END AS lvl2
  FROM generate_series(1, 1500) i;
ALTER TABLE d ADD COLUMN tags text[], ADD COLUMN q int, ADD COLUMN rel float8;
UPDATE d SET tags = array_remove(ARRAY[CASE WHEN a > 0 THEN 'pos' END, CASE WHEN b > 0.5 THEN 'high' END,
                                       CASE WHEN p THEN 'agree' END], NULL),
             q = i / 10, rel = CASE WHEN r > 1 THEN 2 WHEN r > -1 THEN 1 ELSE 0 END;
SELECT 1 FROM reframe.train('m_ridge', 'SELECT a, b, k, r FROM d', 'r');
SELECT 1 FROM reframe.train('m_stream', 'SELECT a, b, r FROM d', 'r');
SELECT 1 FROM reframe.train('m_binary', 'SELECT a, b, k, p FROM d', 'p', NULL, '{"threshold": "f1"}');
SELECT 1 FROM reframe.train('m_multi', 'SELECT a, b, m FROM d', 'm');
SELECT 1 FROM reframe.train('m_bins', 'SELECT a, b, r FROM d', 'r', NULL, '{"bins": {"quantiles": 4}}');
SELECT 1 FROM reframe.train('m_hier', 'SELECT a, b, lvl1, lvl2 FROM d', 'lvl1,lvl2', 'hierarchical');
SELECT 1 FROM reframe.train('m_hidden', 'SELECT a, b, k, r, p FROM d', 'r,p', NULL, '{"hidden": [16, 8], "epochs": 20}');
SELECT 1 FROM reframe.train('m_labels', 'SELECT a, b, k, tags FROM d', 'tags');
SELECT 1 FROM reframe.train('m_rank', 'SELECT a, b, q, rel FROM d', 'rel', NULL, '{"group": "q"}');
SELECT 1 FROM reframe.train('m_soft', 'SELECT a, b, k, r, p, m FROM d', 'r,p,m', 'multitask',
                            '{"hidden": [8], "sharing": "soft", "epochs": 10}');
SELECT 1 FROM reframe.train('m_mixed', 'SELECT a, b, k, p, tags FROM d', 'p,tags', NULL, '{"hidden": [8], "epochs": 10}');
SELECT 1 FROM reframe.train('m_trees', 'SELECT a, b, k, r, p FROM d', 'r,p', NULL, '{"model": "trees", "rounds": 20}');
SELECT 1 FROM reframe.create_blend('m_blend', '{"m_ridge": 0.5, "m_binary": 2}');
CREATE TABLE scores AS
SELECT i, reframe.score('m_ridge', d) AS ridge, reframe.score('m_stream', d) AS stream,
       reframe.score('m_binary', d) AS binary, reframe.predict('m_binary', d) AS binary_class,
       reframe.predict_proba('m_multi', d) AS multi, reframe.score('m_bins', d) AS bins,
       reframe.predict_labels('m_hier', d) AS hier, reframe.predict_all('m_hidden', d) AS hidden,
       reframe.score('m_blend', d) AS blend, reframe.predict_proba('m_labels', d) AS labels,
       reframe.score('m_rank', d) AS rank, reframe.predict_all('m_soft', d) AS soft,
       reframe.predict_all('m_mixed', d) AS mixed, reframe.predict_all('m_trees', d) AS trees
  FROM d;
-- the reference distributions travel in the spec: drift after restore is the same
CREATE TABLE drifts AS SELECT feature, psi, training_shares FROM reframe.drift('m_binary', 'SELECT a, b, k, p FROM d WHERE i > 700');
