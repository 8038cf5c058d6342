#!/usr/bin/env bash
# Row weights against second methods in Python (Debian's python3-sklearn and
# python3-xgboost): reframe's weighted logistic regression equals
# scikit-learn's LogisticRegression fitted with sample_weight (same penalty,
# features standardized by weighted moments, as reframe's encoder does);
# reframe's weighted trees equal XGBoost trained with weight on the same
# rows, from the same starting margin, with the same parameters.
DB=reframe_weights_ref
. "$(dirname "$0")/lib.sh"
fresh_db || fail "no database"
q "SET client_min_messages = warning;
   CREATE TABLE d AS
   SELECT i, sin(i)::float8 AS a, cos(i * 0.37)::float8 AS b, (i % 13)::float8 AS c,
          (1 + i % 4)::float8 AS w
     FROM generate_series(1, 2000) i;
   ALTER TABLE d ADD COLUMN yes bool, ADD COLUMN y float8;
   UPDATE d SET y = (2 * a - b + 0.1 * c + 0.5 * sin(i * 7))::float8, yes = 2 * a - b + 0.1 * c + 0.5 * sin(i * 7) > 0.3;
   SELECT count(*) FROM (
     SELECT reframe.train('w_log', 'SELECT a, b, c, yes, w FROM d', 'yes',
                          options => '{\"model\": \"linear\", \"weight\": \"w\", \"validation\": 0, \"l2\": 0.001, \"tol\": 1e-10, \"max_iter\": 2000}') UNION ALL
     SELECT reframe.train('w_trees', 'SELECT a, b, c, y, w FROM d', 'y',
                          options => '{\"model\": \"trees\", \"weight\": \"w\", \"validation\": 0, \"rounds\": 20, \"max_depth\": 4}')) t" \
    >/dev/null || fail "training"
PGDATABASE=$DB /usr/bin/python3 - <<'PY' || fail "the second methods differ"
import json, numpy as np, psycopg2, xgboost as xgb
from sklearn.linear_model import LogisticRegression
con = psycopg2.connect("")
cur = con.cursor()
cur.execute("SELECT a, b, c, yes, y, w, reframe.score('w_log', d), reframe.score('w_trees', d) FROM d ORDER BY i")
rows = np.array([[float(v) for v in r] for r in cur.fetchall()])
X, yes, y, w, ours_log, ours_trees = rows[:, :3], rows[:, 3], rows[:, 4], rows[:, 5], rows[:, 6], rows[:, 7]

# reframe: mean_w(loss) + l2 |v|^2 on features standardized by weighted moments;
# scikit-learn: C sum(w loss) + |v|^2 / 2, so C = 1 / (2 l2 sum(w))
mean = np.average(X, axis=0, weights=w)
sd = np.sqrt(np.average((X - mean) ** 2, axis=0, weights=w))
Z = (X - mean) / sd
m = LogisticRegression(C=1 / (2 * 0.001 * w.sum()), tol=1e-12, max_iter=100000).fit(Z, yes, sample_weight=w)
d_log = np.max(np.abs(m.predict_proba(Z)[:, 1] - ours_log))
print(f"weighted logistic regression: max |scikit-learn - reframe| = {d_log:.2e}")

# XGBoost with weight: the same rounds, depth, shrinkage, lambda and bins as
# reframe's defaults, squared error, from reframe's start (the weighted mean)
cur.execute("SELECT spec FROM w_trees WHERE block = ''")
start = np.average(y, weights=w)
dm = xgb.DMatrix(X.astype(np.float32), label=y, weight=w, base_margin=np.full(len(y), start))
bst = xgb.train({"objective": "reg:squarederror", "tree_method": "hist", "max_depth": 4, "eta": 0.1,
                 "lambda": 1, "min_child_weight": 1, "max_bin": 256, "base_score": 0, "nthread": 1}, dm, 20)
theirs = bst.predict(xgb.DMatrix(X.astype(np.float32), base_margin=np.full(len(y), start)))
d_trees = np.max(np.abs(theirs - ours_trees))
print(f"weighted trees: max |XGBoost - reframe| = {d_trees:.2e} (target sd {y.std():.2f})")
raise SystemExit(0 if d_log <= 5e-5 and d_trees <= 1e-5 else 1)
PY
echo "weights_reference: weighted logistic regression equals scikit-learn's with sample_weight; weighted trees equal XGBoost's with weight"
