-- After restore: every model scores exactly as before the dump.
SELECT count(*) AS rows,
       count(*) FILTER (WHERE s.ridge = reframe.score('m_ridge', d) AND s.stream = reframe.score('m_stream', d)
                          AND s.binary = reframe.score('m_binary', d) AND s.binary_class = reframe.predict('m_binary', d)
                          AND s.multi = reframe.predict_proba('m_multi', d) AND s.bins = reframe.score('m_bins', d)
                          AND s.hier = reframe.predict_labels('m_hier', d) AND s.hidden = reframe.predict_all('m_hidden', d)
                          AND s.blend = reframe.score('m_blend', d) AND s.labels = reframe.predict_proba('m_labels', d)
                          AND s.rank = reframe.score('m_rank', d) AND s.soft = reframe.predict_all('m_soft', d)
                          AND s.mixed = reframe.predict_all('m_mixed', d)
                          AND s.trees = reframe.predict_all('m_trees', d)) AS identical
  FROM d JOIN scores s USING (i);
SELECT count(*) = 4 AND bool_and(n.psi = o.psi AND n.training_shares = o.training_shares) AS drift_as_before
  FROM drifts o JOIN reframe.drift('m_binary', 'SELECT a, b, k, p FROM d WHERE i > 700') n USING (feature);
-- a restored version continues: a warm start from it
SET client_min_messages = warning;
CREATE TEMP TABLE warm AS
SELECT version FROM reframe.train('m_binary', 'SELECT a, b, k, p FROM d WHERE i > 700', 'p', options => '{"warm_start": true}');
SELECT w.version, m.spec #> '{training,warm_start,from_version}' AS from_version
  FROM warm w JOIN m_binary m USING (version) WHERE m.block = '';
SELECT count(DISTINCT model) AS models FROM reframe.models;
