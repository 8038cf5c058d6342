#!/usr/bin/python3
"""Boosted trees, reframe against XGBoost on the same rows, in one run.

    bash bench/run trees [rows]        (default 1,000,000 rows x 32 features)

Binary target, 100 rounds, depth 6, learning rate 0.3, one thread each.
  training: reframe.train (reading the table included) against Python
            XGBoost's DMatrix + train on the same rows already in RAM;
  scoring:  ORDER BY reframe.score(...) DESC LIMIT 10 over every row, less
            a plain scan of the table, against XGBoost's predict of them
            (DMatrix + predict, and inplace_predict straight from the array).
Each time is the best of RUNS (default 3) runs, the two sides alternating.
Prints each time and the ratios.
"""
import io
import os
import sys
import time

import numpy as np
import psycopg2
import xgboost as xgb

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
F = 32
ROUNDS, DEPTH, ETA = 100, 6, 0.3
RUNS = int(os.environ.get("RUNS", "3"))

conn = psycopg2.connect("")
conn.autocommit = True
cur = conn.cursor()
cur.execute("CREATE EXTENSION IF NOT EXISTS reframe")
cols = ", ".join("x%d float8" % j for j in range(F))
cur.execute("DROP TABLE IF EXISTS bt")
cur.execute("SELECT setseed(0.5)")
cur.execute("CREATE TABLE bt AS SELECT %s FROM generate_series(1, %d) i" %
            (", ".join("random() * 2 - 1 AS x%d" % j for j in range(F)), ROWS))
cur.execute("ALTER TABLE bt ADD COLUMN y boolean")
cur.execute("UPDATE bt SET y = x0 * x1 + sin(3 * x2) + x3 - x4 * x5 + 0.3 * (random() - 0.5) > 0")
cur.execute("VACUUM ANALYZE bt")

buf = io.BytesIO()
cur.copy_expert("COPY bt TO STDOUT WITH (FORMAT csv)", buf)
buf.seek(0)
data = np.loadtxt(buf, delimiter=",", dtype=object)
X = data[:, :F].astype(np.float32)
y = (data[:, F] == "t").astype(np.float32)
del data

# best of RUNS, the two sides alternating, so that the machine's drift falls on both
t_xgb = t_ours = float("inf")
for run in range(RUNS):
    t0 = time.perf_counter()
    d = xgb.DMatrix(X, label=y, nthread=1)
    bst = xgb.train({"objective": "binary:logistic", "tree_method": "hist", "max_depth": DEPTH, "eta": ETA,
                     "nthread": 1, "base_score": 0.5}, d, ROUNDS)
    t_xgb = min(t_xgb, time.perf_counter() - t0)
    del d
    t0 = time.perf_counter()
    cur.execute("SELECT train_rows FROM reframe.train('bt_trees', 'bt', 'y', options => %s)",
                ('{"model": "trees", "rounds": %d, "max_depth": %d, "learning_rate": %g, "validation": 0}'
                 % (ROUNDS, DEPTH, ETA),))
    t_ours = min(t_ours, time.perf_counter() - t0)

t_xpred = t_inplace = float("inf")
bst.set_param({"nthread": 1})
for run in range(RUNS):
    t0 = time.perf_counter()
    p = bst.predict(xgb.DMatrix(X, nthread=1))
    t_xpred = min(t_xpred, time.perf_counter() - t0)
    t0 = time.perf_counter()
    bst.inplace_predict(X)
    t_inplace = min(t_inplace, time.perf_counter() - t0)

def timed(sql, n=RUNS + 2):
    best = float("inf")
    for _ in range(n):
        t0 = time.perf_counter()
        cur.execute(sql)
        cur.fetchall()
        best = min(best, time.perf_counter() - t0)
    return best

cur.execute("SET max_parallel_workers_per_gather = 0")
t_scan = timed("SELECT sum(x0) FROM bt")
t_rank = timed("SELECT x0 FROM bt ORDER BY reframe.score('bt_trees', bt) DESC LIMIT 10")
cur.execute("SELECT reframe.accuracy(reframe.score('bt_trees', bt) > 0.5, y) FROM bt")
acc = cur.fetchone()[0]

print("rows %d x %d features, %d rounds, depth %d, learning rate %g, one thread" % (ROWS, F, ROUNDS, DEPTH, ETA))
print("training accuracy: reframe %.4f, XGBoost %.4f" % (acc, float(((p > 0.5) == y).mean())))
print("training: XGBoost DMatrix + train %.2f s; reframe.train from the table %.2f s; ratio %.2f (goal <= 1.2)"
      % (t_xgb, t_ours, t_ours / t_xgb))
print("scoring:  plain scan %.3f s; ORDER BY score LIMIT 10 %.3f s, adds %.3f s" % (t_scan, t_rank, t_rank - t_scan))
print("          XGBoost DMatrix + predict %.3f s: ratio %.2f (goal <= 1); inplace_predict %.3f s: ratio %.2f"
      % (t_xpred, (t_rank - t_scan) / t_xpred, t_inplace, (t_rank - t_scan) / t_inplace))
