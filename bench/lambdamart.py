#!/usr/bin/python3
"""LambdaMART: reframe's trees with "objective": "ndcg" against XGBoost's own
rank:ndcg (XGBRanker) on the same rows and rounds, one thread each.

    bash bench/run lambdamart [queries]

Generated ratings: `queries` queries (670 by default) of 90 to 150
candidates, 10 features, relevance 0-4 from an interaction of the features
plus noise; 80% of the queries train, the rest are the test.  Both fit 100
rounds of depth 6 at learning rate 0.1 on every training row (no early
stopping).  Prints each time, their ratio, and the test NDCG@10 of each
(gains are the relevances, as reframe.ndcg computes them).
"""
import sys
import time

import numpy as np
import psycopg2
import xgboost as xgb

Q = int(sys.argv[1]) if len(sys.argv) > 1 else 670
F = 10
rng = np.random.default_rng(7)
sizes = rng.integers(90, 151, size=Q)
qid = np.repeat(np.arange(Q), sizes)
n = len(qid)
X = rng.normal(size=(n, F))
signal = X[:, 0] + 0.8 * X[:, 1] * X[:, 2] + 0.5 * np.sin(2 * X[:, 3]) + 0.3 * (X[:, 4] > 0.5)
rel = np.clip(np.floor(signal + rng.normal(scale=0.7, size=n) + 1.5), 0, 4)
train = qid < int(Q * 0.8)


def ndcg_at(scores, k=10):
    total, counted = 0.0, 0
    for q in np.unique(qid[~train]):
        m = qid == q
        r, s = rel[m], scores[m]
        ideal = np.sort(r)[::-1][:k]
        idcg = np.sum(ideal / np.log2(np.arange(len(ideal)) + 2))
        if idcg <= 0:
            continue
        top = r[np.argsort(-s, kind="stable")][:k]
        total += np.sum(top / np.log2(np.arange(len(top)) + 2)) / idcg
        counted += 1
    return total / counted


conn = psycopg2.connect("")
conn.autocommit = True
cur = conn.cursor()
cur.execute("SET client_min_messages = warning")
cur.execute("SET reframe.tree_threads = 1")
cur.execute("SET reframe.threads = 1")
cur.execute("CREATE EXTENSION IF NOT EXISTS reframe")
cur.execute("DROP TABLE IF EXISTS lm")
cur.execute("CREATE TABLE lm (i int, q int, x float8[], rel float8)")
buf = "\n".join("%d\t%d\t{%s}\t%g" % (i, qid[i], ",".join("%.17g" % v for v in X[i]), rel[i]) for i in range(n))
import io
cur.copy_from(io.StringIO(buf + "\n"), "lm", columns=("i", "q", "x", "rel"))
cur.execute("ANALYZE lm")
ntrain = int(train.sum())
print("%d queries, %d rows (%d training), %d features, relevance 0-4; 100 rounds, depth 6, learning rate 0.1, one thread"
      % (Q, n, ntrain, F))

t0 = time.time()
ranker = xgb.XGBRanker(objective="rank:ndcg", n_estimators=100, max_depth=6, learning_rate=0.1,
                       tree_method="hist", n_jobs=1, base_score=0.5)
ranker.fit(X[train], rel[train], qid=qid[train])
t_xgb = time.time() - t0
nd_xgb = ndcg_at(ranker.predict(X))

t0 = time.time()
cur.execute("""SELECT 1 FROM reframe.train('lm_m', 'SELECT q, x, rel FROM lm WHERE q < %d', 'rel', 'regression',
               '{"model": "trees", "objective": "ndcg", "group": "q", "rounds": 100, "max_depth": 6,
                 "learning_rate": 0.1, "validation": 0}')""" % int(Q * 0.8))
t_rf = time.time() - t0
cur.execute("SELECT i, reframe.score('lm_m', l) FROM lm l ORDER BY i")
scores = np.array([r[1] for r in cur.fetchall()])
nd_rf = ndcg_at(scores)
print("XGBoost rank:ndcg  %7.2f s  test NDCG@10 %.4f" % (t_xgb, nd_xgb))
print("reframe ndcg       %7.2f s  test NDCG@10 %.4f  ratio %.2f" % (t_rf, nd_rf, t_rf / t_xgb))
cur.execute("SELECT reframe.drop_model('lm_m')")
cur.execute("DROP TABLE lm")
