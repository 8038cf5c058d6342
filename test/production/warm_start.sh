#!/usr/bin/env bash
# "warm_start" on trees is XGBoost's own continued training: version 1 is
# trained on the first rows and exported; version 2 continues it for 10
# rounds on the next rows; Debian's python3-xgboost continues the exported
# version 1 on the same rows, xgb.train(params, rows, 10, xgb_model=v1),
# and both score the rows neither saw.  Binary, regression and multiclass
# heads, with missing values; equal within 1e-5.
DB=reframe_warm
. "$(dirname "$0")/lib.sh"
fresh_db || fail "no database"
q "SET client_min_messages = warning;
   CREATE TABLE d AS
   SELECT i, sin(i)::float8 AS a, cos(i * 0.37)::float8 AS b, CASE WHEN i % 7 = 0 THEN NULL ELSE (i % 13)::float8 END AS c,
          (3 * sin(i) ^ 2 + cos(i * 0.37) + (i % 13 > 6)::int + CASE WHEN i > 2000 THEN 0.5 * cos(i * 0.37) ELSE 0 END)::float8 AS y
     FROM generate_series(1, 5000) i;
   ALTER TABLE d ADD COLUMN yes bool, ADD COLUMN k text;
   UPDATE d SET yes = y > 2, k = CASE WHEN y < 1.5 THEN 'low' WHEN y < 3 THEN 'mid' ELSE 'high' END;" >/dev/null || fail "table"
opts='{"model": "trees", "rounds": 10, "max_depth": 4, "learning_rate": 0.3, "validation": 0}'
for m in yes y k; do
    q "SELECT version FROM reframe.train('w_$m', 'SELECT a, b, c, $m FROM d WHERE i <= 2000', '$m', options => '$opts')" >/dev/null \
        || fail "training w_$m"
    q "SELECT reframe.export('w_$m')" > "/tmp/reframe-warm-$m.json" || fail "export w_$m"
    q "SELECT version FROM reframe.train('w_$m', 'SELECT a, b, c, $m FROM d WHERE i > 2000 AND i <= 4000', '$m',
                                          options => '{\"warm_start\": true}')" >/dev/null || fail "warm start of w_$m"
done
PGDATABASE=$DB /usr/bin/python3 - <<'PY' || fail "XGBoost's continued training differs"
import numpy as np, psycopg2, xgboost as xgb, sys
con = psycopg2.connect("")
cur = con.cursor()
def rows(where, expr):
    cur.execute(f"SELECT ARRAY[a, b, c], {expr} FROM d WHERE {where} ORDER BY i")
    r = cur.fetchall()
    return (np.array([[np.nan if v is None else v for v in x[0]] for x in r], dtype=np.float32),
            np.array([x[1] for x in r], dtype=float))
ok = True
for m, objective, label, score in [("yes", "binary:logistic", "yes::int", "reframe.score('w_yes', d)"),
                                   ("y", "reg:squarederror", "y", "reframe.score('w_y', d)"),
                                   ("k", "multi:softprob", "CASE k WHEN 'high' THEN 0 WHEN 'low' THEN 1 ELSE 2 END",
                                    "reframe.predict_proba('w_k', d)")]:
    v1 = xgb.Booster()
    v1.load_model(bytearray(open(f"/tmp/reframe-warm-{m}.json").read().strip(), "utf8"))
    X, y = rows("i > 2000 AND i <= 4000", label)
    params = {"tree_method": "hist", "objective": objective, "max_depth": 4, "eta": 0.3, "lambda": 1, "seed": 0}
    if m == "k":
        params["num_class"] = 3
    bst = xgb.train(params, xgb.DMatrix(X, label=y, missing=np.nan, feature_names=v1.feature_names), 10, xgb_model=v1)
    Xh, _ = rows("i > 4000", "0")
    cur.execute(f"SELECT {score} FROM d WHERE i > 4000 ORDER BY i")
    ours = np.array([r[0] for r in cur.fetchall()], dtype=float)
    theirs = bst.predict(xgb.DMatrix(Xh, missing=np.nan, feature_names=v1.feature_names)).reshape(ours.shape)
    diff = np.max(np.abs(theirs - ours))
    print(f"w_{m} ({objective}): {bst.num_boosted_rounds()} rounds, {len(ours)} held-out rows, max |xgboost - reframe| = {diff:.2e}")
    ok &= diff <= 1e-5 and bst.num_boosted_rounds() == 20
sys.exit(0 if ok else 1)
PY
rm -f /tmp/reframe-warm-*.json
echo "warm_start: 10 rounds continued on new rows equal XGBoost's xgb.train(..., xgb_model=<version 1>) within 1e-5 for binary, regression and multiclass trees"
