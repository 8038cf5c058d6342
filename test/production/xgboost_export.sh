#!/usr/bin/env bash
# reframe.export(model, 'xgboost'): XGBoost (Debian's python3-xgboost)
# loads the exported JSON model, and its own predictions of the same rows
# equal reframe.score / predict_proba within 1e-6, for each framing that
# XGBoost has an objective for: regression, binary, multiclass, multilabel;
# several heads export as margins.
DB=reframe_export
. "$(dirname "$0")/lib.sh"
fresh_db || fail "no database"
q "SET client_min_messages = warning;
   CREATE TABLE d AS
   SELECT i, sin(i)::float8 AS a, cos(i * 0.37)::float8 AS b, CASE WHEN i % 7 = 0 THEN NULL ELSE (i % 13)::float8 END AS c,
          (3 * sin(i) ^ 2 + cos(i * 0.37) + (i % 13 > 6)::int)::float8 AS y
     FROM generate_series(1, 3000) i;
   ALTER TABLE d ADD COLUMN yes bool, ADD COLUMN k text, ADD COLUMN l1 bool, ADD COLUMN l2 bool;
   UPDATE d SET yes = y > 2, k = CASE WHEN y < 1.5 THEN 'low' WHEN y < 3 THEN 'mid' ELSE 'high' END, l1 = a > 0.3, l2 = b + coalesce(c, 6) / 13 > 0.8;
   SELECT count(*) FROM (
     SELECT reframe.train('x_reg', 'SELECT a, b, c, y FROM d', 'y', options => '{\"model\": \"trees\"}') UNION ALL
     SELECT reframe.train('x_bin', 'SELECT a, b, c, yes FROM d', 'yes', options => '{\"model\": \"trees\", \"max_depth\": 4}') UNION ALL
     SELECT reframe.train('x_k', 'SELECT a, b, c, k FROM d', 'k', options => '{\"model\": \"trees\", \"rounds\": 30}') UNION ALL
     SELECT reframe.train('x_labels', 'SELECT a, b, c, l1, l2 FROM d', 'l1,l2', options => '{\"model\": \"trees\"}') UNION ALL
     SELECT reframe.train('x_multi', 'SELECT a, b, c, y, yes FROM d', 'y,yes', 'multitask', '{\"model\": \"trees\", \"rounds\": 20}') UNION ALL
     SELECT reframe.train('x_named', 'SELECT a, l1 AS flag, k, c, y FROM d', 'y', options => '{\"model\": \"trees\", \"rounds\": 10}')) t" \
    >/dev/null || fail "training"
PGDATABASE=$DB /usr/bin/python3 - <<'PY' || fail "XGBoost's predictions differ"
import sys, numpy as np, psycopg2, xgboost as xgb
con = psycopg2.connect("")
cur = con.cursor()
def check(model, expr, margin=False):
    cur.execute("SELECT reframe.export(%s)", (model,))
    booster = xgb.Booster()
    booster.load_model(bytearray(cur.fetchone()[0], "utf8"))
    cur.execute(f"SELECT ARRAY[a, b, c], {expr} FROM d ORDER BY i")
    rows = cur.fetchall()
    X = np.array([[np.nan if v is None else v for v in r[0]] for r in rows], dtype=np.float32)
    ours = np.array([r[1] for r in rows], dtype=float)
    if booster.feature_names != ["a", "b", "c"] or booster.feature_types != ["float"] * 3:
        print(f"{model}: inputs named {booster.feature_names}, typed {booster.feature_types}")
        return False
    theirs = booster.predict(xgb.DMatrix(X, missing=np.nan, feature_names=booster.feature_names),
                             output_margin=margin).reshape(ours.shape)
    diff = np.max(np.abs(theirs - ours))
    print(f"{model}: {len(rows)} rows, max |xgboost - reframe| = {diff:.2e}")
    return diff <= 1e-6
ok = all([check("x_reg", "reframe.score('x_reg', d)"),
          check("x_bin", "reframe.score('x_bin', d)"),
          check("x_k", "reframe.predict_proba('x_k', d)"),
          check("x_labels", "ARRAY[reframe.score('x_labels', d, 'l1'), reframe.score('x_labels', d, 'l2')]"),
          check("x_multi", "ARRAY[reframe.score('x_multi', d, 'y'), ln(reframe.score('x_multi', d, 'yes') / (1 - reframe.score('x_multi', d, 'yes')))]", True)])

# TreeSHAP: reframe.explain's contributions and base equal XGBoost's own
# pred_contribs of the exported model (its last column is the base)
def shap(model, output, k=None):
    cur.execute("SELECT reframe.export(%s)", (model,))
    booster = xgb.Booster()
    booster.load_model(bytearray(cur.fetchone()[0], "utf8"))
    cur.execute("SELECT ARRAY[a, b, c], reframe.explain(%s, d, %s) FROM d ORDER BY i LIMIT 500", (model, output))
    rows = cur.fetchall()
    X = np.array([[np.nan if v is None else v for v in r[0]] for r in rows], dtype=np.float32)
    theirs = booster.predict(xgb.DMatrix(X, missing=np.nan, feature_names=booster.feature_names), pred_contribs=True)
    if k is not None:
        theirs = theirs[:, k, :]
    ours = np.array([[r[1]["contributions"][c] for c in ("a", "b", "c")] + [r[1]["base"]] for r in rows])
    diff = np.max(np.abs(theirs - ours))
    print(f"{model} explain: {len(rows)} rows, max |pred_contribs - reframe.explain| = {diff:.2e}")
    return diff <= 1e-4
ok &= all([shap("x_reg", None), shap("x_bin", None), shap("x_k", "mid", 2)])

# the inputs' names and types, as the encoder lays them out (from the spec):
# a number, a boolean (an indicator), a text column's one-hot slots and its
# "other" slot, a number with NULLs (kept missing for trees)
cur.execute("SELECT reframe.export('x_named'), spec->'encoder' FROM x_named WHERE block = ''")
model, enc = cur.fetchone()
booster = xgb.Booster()
booster.load_model(bytearray(model, "utf8"))
names, types = [], []
for col in enc["columns"]:
    if col["kind"] == "category":
        names += [col["name"] + "=" + v for v in col["vocab"]] + [col["name"] + "=(other)"]
        types += ["i"] * (len(col["vocab"]) + 1)
    else:
        names.append(col["name"])
        types.append("i" if col["kind"] == "boolean" else "float")
print(f"x_named: inputs {booster.feature_names}, types {booster.feature_types}")
ok &= booster.feature_names == names and booster.feature_types == types
sys.exit(0 if ok else 1)
PY
echo "xgboost_export: XGBoost's own predictions of 5 exported trees models equal reframe's within 1e-6; its SHAP contributions equal reframe.explain's within 1e-4; the inputs carry their names and types"
