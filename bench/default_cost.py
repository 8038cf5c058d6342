#!/usr/bin/python3
"""What the default costs: reframe.train with no options (and with
"model": "trees") on 1,000,000 rows x 32 float8 columns with a binary
target, against scikit-learn's HistGradientBoostingClassifier() with its
defaults fitted on the same rows already in RAM, on the same machine.
Prints each time, the ratio, and the test accuracy of each.

    bash bench/run default_cost [rows]
"""
import sys
import time

import numpy as np
import psycopg2
from sklearn.ensemble import HistGradientBoostingClassifier

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
F = 32

conn = psycopg2.connect("")
conn.autocommit = True
cur = conn.cursor()
cur.execute("SET client_min_messages = warning")
cur.execute("CREATE EXTENSION IF NOT EXISTS reframe")
cur.execute("DROP TABLE IF EXISTS dc")
# a target with interactions and a threshold, which neither family fits exactly
cur.execute("""CREATE TABLE dc AS
SELECT i, ARRAY(SELECT sin(i * (k + 1) * 0.37 + k) FROM generate_series(0, %d) k)::float8[] AS x,
       sin(i * 0.37) * cos(i * 0.74 + 1) + 0.5 * sin(i * 1.11 + 2) + 0.3 * (sin(i * 1.48 + 3) > 0.2)::int
         + 0.4 * sin(i * 12.9) > 0.1 AS y
  FROM generate_series(1, %d) i""" % (F - 1, ROWS))
cur.execute("ANALYZE dc")
cur.execute("SELECT x, y FROM dc ORDER BY i")
rows = cur.fetchall()
X = np.array([r[0] for r in rows], dtype=np.float64)
y = np.array([r[1] for r in rows], dtype=bool)
test = np.arange(ROWS) % 5 == 0
cur.execute("CREATE TABLE dc_train AS SELECT x, y FROM dc WHERE i % 5 <> 1")
cur.execute("CREATE TABLE dc_test AS SELECT x, y FROM dc WHERE i % 5 = 1")
# i runs from 1, the Python rows from 0: the same test rows
t0 = time.time()
hgb = HistGradientBoostingClassifier().fit(X[~test], y[~test])
t_hgb = time.time() - t0
acc_hgb = float((hgb.predict(X[test]) == y[test]).mean())
print("rows %d x %d, binary; HistGradientBoostingClassifier(): %.2f s, test accuracy %.4f"
      % (ROWS, F, t_hgb, acc_hgb))
for label, opts in (("default", "{}"), ("trees", '{"model": "trees"}')):
    t0 = time.time()
    cur.execute("SELECT metrics FROM reframe.train('dc_m', 'dc_train', 'y', NULL, %s)", (opts,))
    t = time.time() - t0
    cur.execute("SELECT avg((reframe.predict('dc_m', d.x) = d.y::text)::int) FROM dc_test d")
    acc = float(cur.fetchone()[0])
    print("reframe %-8s %8.2f s  ratio %.2f  test accuracy %.4f" % (label, t, t / t_hgb, acc))
    cur.execute("SELECT reframe.drop_model('dc_m')")
cur.execute("DROP TABLE dc, dc_train, dc_test")
