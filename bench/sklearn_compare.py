#!/usr/bin/python3
"""Compare reframe with scikit-learn on the datasets scikit-learn ships.

    /usr/bin/python3 bench/sklearn_compare.py            # compare (needs PG* env, reframe installed)
    /usr/bin/python3 bench/sklearn_compare.py --export   # rewrite test/data/*.csv fixtures

Each dataset is split once (25% test, random_state=0, stratified for
classification) and exported as a fixture, so that the regression test
test/sql/reference_datasets.sql trains reframe on exactly the same rows.
Both sides standardize features with training-set statistics and use the
same L2 penalty: scikit-learn's LogisticRegression(C) minimises
C * sum(loss) + |w|^2 / 2, which is reframe's mean(loss) + l2 |w|^2 with
l2 = 1 / (2 C n); Ridge(alpha) minimises sum((y - Xw)^2) + alpha |w|^2,
which is reframe's mean squared error + l2 |w|^2 with l2 = alpha / n.
"""
import csv
import os
import sys

import numpy as np
from sklearn import datasets
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neural_network import MLPRegressor
from sklearn.metrics import accuracy_score, mean_squared_error
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "test", "data")

DATASETS = [
    # name, loader, task, regularization (C for classifiers, alpha for Ridge)
    ("breast_cancer", datasets.load_breast_cancer, "binary", 1.0),
    ("iris", datasets.load_iris, "multiclass", 1.0),
    ("wine", datasets.load_wine, "multiclass", 1.0),
    ("digits", datasets.load_digits, "multiclass", 1.0),
    ("diabetes", datasets.load_diabetes, "regression", 1.0),
]


def split(name, loader, task):
    X, y = loader(return_X_y=True)
    strat = y if task != "regression" else None
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=strat)


def linnerud_split():
    X, Y = datasets.load_linnerud(return_X_y=True)
    return train_test_split(X, Y, test_size=0.25, random_state=0)


def linnerud_compare(cur, seeds=5):
    """Three regression targets, a [64, 32] trunk: scikit-learn's MLPRegressor
    (standardized inputs and targets, alpha 1e-4) against reframe's multitask
    model with the same hidden layers, each averaged over seeds."""
    Xtr, Xte, Ytr, Yte = linnerud_split()
    sx, sy = StandardScaler().fit(Xtr), StandardScaler().fit(Ytr)
    ref = []
    for seed in range(seeds):
        m = MLPRegressor(hidden_layer_sizes=(64, 32), random_state=seed, max_iter=5000, alpha=1e-4)
        m.fit(sx.transform(Xtr), sy.transform(Ytr))
        P = sy.inverse_transform(m.predict(sx.transform(Xte)))
        ref.append(np.sqrt(((P - Yte) ** 2).mean()))
    cur.execute("DROP TABLE IF EXISTS ds_linnerud")
    cur.execute("CREATE TABLE ds_linnerud (split text, chins float8, situps float8, jumps float8,"
                " weight float8, waist float8, pulse float8)")
    for part, X, Y in (("train", Xtr, Ytr), ("test", Xte, Yte)):
        for x, y in zip(X, Y):
            cur.execute("INSERT INTO ds_linnerud VALUES (%s, %s, %s, %s, %s, %s, %s)",
                        [part] + [float(v) for v in x] + [float(v) for v in y])
    got = []
    for seed in range(seeds):
        cur.execute("SELECT * FROM reframe.train('m_linnerud', 'SELECT chins, situps, jumps, weight, waist, pulse"
                    " FROM ds_linnerud WHERE split = ''train''', 'weight,waist,pulse', 'multitask', %s)",
                    ('{"hidden": [64, 32], "validation": 0, "epochs": 2000, "patience": 50, "batch_size": 8,'
                     ' "learning_rate": 0.001, "l2": 0.0001, "seed": %d}' % seed,))
        cur.execute("SELECT sqrt(avg(e)) FROM (SELECT (reframe.score('m_linnerud', d, 'weight') - weight) ^ 2 AS e"
                    " FROM ds_linnerud d WHERE split = 'test' UNION ALL"
                    " SELECT (reframe.score('m_linnerud', d, 'waist') - waist) ^ 2 FROM ds_linnerud d WHERE split = 'test'"
                    " UNION ALL SELECT (reframe.score('m_linnerud', d, 'pulse') - pulse) ^ 2"
                    " FROM ds_linnerud d WHERE split = 'test') x")
        got.append(cur.fetchone()[0])
    # defaults: MLPRegressor(solver="lbfgs") against reframe with nothing but the layers
    lref, lgot = [], []
    for seed in range(seeds):
        m = MLPRegressor(hidden_layer_sizes=(64, 32), random_state=seed, solver="lbfgs", max_iter=5000)
        m.fit(sx.transform(Xtr), sy.transform(Ytr))
        P = sy.inverse_transform(m.predict(sx.transform(Xte)))
        lref.append(np.sqrt(((P - Yte) ** 2).mean()))
        cur.execute("SELECT * FROM reframe.train('m_linnerud_d', 'SELECT chins, situps, jumps, weight, waist, pulse"
                    " FROM ds_linnerud WHERE split = ''train''', 'weight,waist,pulse', 'multitask', %s)",
                    ('{"hidden": [64, 32], "seed": %d}' % seed,))
        cur.execute("SELECT sqrt(avg(e)) FROM (SELECT (reframe.score('m_linnerud_d', d, 'weight') - weight) ^ 2 AS e"
                    " FROM ds_linnerud d WHERE split = 'test' UNION ALL"
                    " SELECT (reframe.score('m_linnerud_d', d, 'waist') - waist) ^ 2 FROM ds_linnerud d WHERE split = 'test'"
                    " UNION ALL SELECT (reframe.score('m_linnerud_d', d, 'pulse') - pulse) ^ 2"
                    " FROM ds_linnerud d WHERE split = 'test') x")
        lgot.append(cur.fetchone()[0])
    print("linnerud defaults ([64, 32] only): MLPRegressor(solver=lbfgs) %.3f, reframe %.3f (seeds: %s / %s)"
          % (np.mean(lref), np.mean(lgot), ", ".join("%.2f" % v for v in lref), ", ".join("%.2f" % v for v in lgot)))
    return float(np.mean(ref)), float(np.mean(got)), ref, got


def export():
    os.makedirs(DATA, exist_ok=True)
    for name, loader, task, _ in DATASETS:
        Xtr, Xte, ytr, yte = split(name, loader, task)
        with open(os.path.join(DATA, name + ".csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["split", "x", "y"])
            for part, X, y in (("train", Xtr, ytr), ("test", Xte, yte)):
                for row, target in zip(X, y):
                    arr = "{" + ",".join(repr(float(v)) for v in row) + "}"
                    if task == "binary":
                        target = "true" if target == 1 else "false"
                    elif task == "multiclass":
                        target = "c%d" % target
                    else:
                        target = repr(float(target))
                    w.writerow([part, arr, target])
        print("wrote", name, len(ytr), "train rows,", len(yte), "test rows")


def sklearn_score(name, loader, task, reg):
    Xtr, Xte, ytr, yte = split(name, loader, task)
    scaler = StandardScaler().fit(Xtr)
    Xtr, Xte = scaler.transform(Xtr), scaler.transform(Xte)
    if task == "regression":
        model = Ridge(alpha=reg).fit(Xtr, ytr)
        return mean_squared_error(yte, model.predict(Xte)) ** 0.5, reg / len(ytr)
    model = LogisticRegression(C=reg, max_iter=10000, tol=1e-8).fit(Xtr, ytr)
    return accuracy_score(yte, model.predict(Xte)), 1.0 / (2 * reg * len(ytr))


def reframe_score(cur, name, task, l2):
    cur.execute("DROP TABLE IF EXISTS ds_%s" % name)
    cur.execute("CREATE TABLE ds_%s (split text, x float8[], y %s)"
                % (name, {"binary": "boolean", "multiclass": "text"}.get(task, "float8")))
    with open(os.path.join(DATA, name + ".csv")) as f:
        cur.copy_expert("COPY ds_%s FROM STDIN WITH (FORMAT csv, HEADER)" % name, f)
    cur.execute("SELECT * FROM reframe.train(%s, %s, 'y', %s, %s)",
                ("m_" + name, "SELECT x, y FROM ds_%s WHERE split = 'train'" % name, task,
                 '{"validation": 0, "l2": %r, "tol": 1e-8, "max_iter": 10000}' % l2))
    cur.execute("SELECT reframe.evaluate(%s, %s)",
                ("m_" + name, "SELECT x, y FROM ds_%s WHERE split = 'test'" % name))
    metrics = cur.fetchone()[0]["metrics"]
    return metrics["rmse"] if task == "regression" else metrics["accuracy"]


def trees_compare(cur):
    """Boosted trees with every library's defaults (XGBoost 1.7: 100 rounds,
    depth 6, learning rate 0.3, hist), on the same splits: scikit-learn's
    HistGradientBoosting, XGBoost's own, and reframe's "model": "trees"."""
    import xgboost as xgb
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    print("%-14s %-9s %12s %12s %12s" % ("dataset", "metric", "HistGB", "XGBoost", "reframe"))
    ok = True
    for name, loader, task, _ in DATASETS:
        Xtr, Xte, ytr, yte = split(name, loader, task)
        if task == "regression":
            hgb = HistGradientBoostingRegressor(random_state=0).fit(Xtr, ytr)
            xg = xgb.XGBRegressor(tree_method="hist", n_jobs=1).fit(Xtr, ytr)
            refs = [mean_squared_error(yte, m.predict(Xte)) ** 0.5 for m in (hgb, xg)]
        else:
            hgb = HistGradientBoostingClassifier(random_state=0).fit(Xtr, ytr)
            xg = xgb.XGBClassifier(tree_method="hist", n_jobs=1).fit(Xtr, ytr)
            refs = [accuracy_score(yte, m.predict(Xte)) for m in (hgb, xg)]
        cur.execute("SELECT * FROM reframe.train(%s, %s, 'y', %s, %s)",
                    ("t_" + name, "SELECT x, y FROM ds_%s WHERE split = 'train'" % name, task,
                     '{"model": "trees", "validation": 0}'))
        cur.execute("SELECT reframe.evaluate(%s, %s)",
                    ("t_" + name, "SELECT x, y FROM ds_%s WHERE split = 'test'" % name))
        m = cur.fetchone()[0]["metrics"]
        got = m["rmse"] if task == "regression" else m["accuracy"]
        if task == "regression":
            ok &= got <= 1.05 * refs[1]
        else:
            ok &= got >= refs[1] - 0.02
        print("%-14s %-9s %12.4f %12.4f %12.4f" % (name, "rmse" if task == "regression" else "accuracy",
                                                   refs[0], refs[1], got))
    print("trees within 2 points of XGBoost's accuracy and 5% of its RMSE:", "yes" if ok else "NO")
    return ok


def auto_compare(cur):
    """Penalties chosen by cross-validation: scikit-learn's LogisticRegressionCV
    and RidgeCV (standardized features) against reframe's "l2": "auto", on
    the same test splits."""
    from sklearn.linear_model import LogisticRegressionCV, RidgeCV
    print("%-14s %-9s %16s %16s %10s" % ("dataset", "metric", "sklearn CV", "reframe auto", "chosen l2"))
    ok = True
    for name, loader, task, _ in DATASETS:
        Xtr, Xte, ytr, yte = split(name, loader, task)
        scaler = StandardScaler().fit(Xtr)
        if task == "regression":
            m = RidgeCV(alphas=np.logspace(-6, 4, 41)).fit(scaler.transform(Xtr), ytr)
            ref = mean_squared_error(yte, m.predict(scaler.transform(Xte))) ** 0.5
        else:
            m = LogisticRegressionCV(Cs=20, max_iter=10000).fit(scaler.transform(Xtr), ytr)
            ref = accuracy_score(yte, m.predict(scaler.transform(Xte)))
        cur.execute("SELECT * FROM reframe.train(%s, %s, 'y', %s, %s)",
                    ("a_" + name, "SELECT x, y FROM ds_%s WHERE split = 'train'" % name, task,
                     '{"l2": "auto", "validation": 0, "max_iter": 1000}'))
        cur.execute("SELECT reframe.evaluate(%s, %s), (SELECT spec #>> '{training,chosen,l2}' FROM a_%s WHERE block = '' "
                    "ORDER BY version DESC LIMIT 1)" % ("%s", "%s", name),
                    ("a_" + name, "SELECT x, y FROM ds_%s WHERE split = 'test'" % name))
        ev, chosen = cur.fetchone()
        got = ev["metrics"]["rmse"] if task == "regression" else ev["metrics"]["accuracy"]
        ok &= got <= 1.05 * ref if task == "regression" else got >= ref - 0.03
        print("%-14s %-9s %16.4f %16.4f %10g" % (name, "rmse" if task == "regression" else "accuracy", ref, got, float(chosen)))
    print("auto within 3 points of accuracy and 5% of RMSE of scikit-learn's CV models:", "yes" if ok else "NO")
    return ok


def defaults_compare(cur):
    """What an analyst gets without tuning, on the same test splits:
    scikit-learn's LogisticRegression() / Ridge() with their defaults and
    their cross-validated LogisticRegressionCV / RidgeCV (standardized
    features), the better of HistGradientBoosting and XGBoost with their
    defaults, against reframe.train with "model": "linear" and with no options
    (the default: the best family by cross-validation, as "model": "auto").
    Accuracy and log loss for classifiers, RMSE for regression."""
    import xgboost as xgb
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegressionCV, RidgeCV
    from sklearn.metrics import log_loss
    cols = ("default", "CV", "best trees", "reframe lin.", "reframe dflt")
    print("%-14s %-9s" % ("dataset", "metric") + "".join("%14s" % c for c in cols) + "  default chose")
    ok = True
    for name, loader, task, _ in DATASETS:
        Xtr, Xte, ytr, yte = split(name, loader, task)
        sc = StandardScaler().fit(Xtr)
        Ztr, Zte = sc.transform(Xtr), sc.transform(Xte)
        if task == "regression":
            lin = [Ridge().fit(Ztr, ytr), RidgeCV(alphas=np.logspace(-6, 4, 41)).fit(Ztr, ytr)]
            trees = [HistGradientBoostingRegressor(random_state=0).fit(Xtr, ytr),
                     xgb.XGBRegressor(tree_method="hist", n_jobs=1).fit(Xtr, ytr)]
            rmse = lambda p: mean_squared_error(yte, p) ** 0.5
            refs = [[rmse(m.predict(Zte))] for m in lin] + [[min(rmse(m.predict(Xte)) for m in trees)]]
        else:
            lin = [LogisticRegression(max_iter=10000).fit(Ztr, ytr), LogisticRegressionCV(Cs=20, max_iter=10000).fit(Ztr, ytr)]
            trees = [HistGradientBoostingClassifier(random_state=0).fit(Xtr, ytr),
                     xgb.XGBClassifier(tree_method="hist", n_jobs=1).fit(Xtr, ytr)]
            fig = lambda m, X: [accuracy_score(yte, m.predict(X)), log_loss(yte, m.predict_proba(X))]
            tf = [fig(m, Xte) for m in trees]
            refs = [fig(m, Zte) for m in lin] + [[max(f[0] for f in tf), min(f[1] for f in tf)]]
        got = []
        for model, opts in (("d_" + name, '{"model": "linear"}'), ("u_" + name, "{}")):
            cur.execute("SELECT metrics FROM reframe.train(%s, %s, 'y', %s, %s)",
                        (model, "SELECT x, y FROM ds_%s WHERE split = 'train'" % name, task, opts))
            metrics = cur.fetchone()[0]
            cur.execute("SELECT reframe.evaluate(%s, %s)", (model, "SELECT x, y FROM ds_%s WHERE split = 'test'" % name))
            m = cur.fetchone()[0]["metrics"]
            key = "cross_entropy" if task == "multiclass" else "log_loss"
            got.append([m["rmse"]] if task == "regression" else [m["accuracy"], m[key]])
        chose = metrics["auto"]["chosen"]["model"]
        if task == "regression":
            best = min(r[0] for r in refs)
            ok &= got[1][0] <= 1.05 * best
            print("%-14s %-9s" % (name, "rmse") + "".join("%14.2f" % r[0] for r in refs + got) + "  " + chose)
        else:
            best = max(r[0] for r in refs)
            ok &= got[1][0] >= best - 0.03
            print("%-14s %-9s" % (name, "accuracy") + "".join("%14.4f" % r[0] for r in refs + got) + "  " + chose)
            print("%-14s %-9s" % ("", "log loss") + "".join("%14.4f" % r[1] for r in refs + got))
    print("the default within 3 points of accuracy and 5% of RMSE of the best reference:", "yes" if ok else "NO")
    return ok


def network_large_compare(cur):
    """Above 10,000 rows a network trains by Adam until the validation loss
    settles: 30,000 generated rows, three outputs of a shared tanh latent
    layer, a [16] trunk with defaults, against MLPRegressor with the same
    layer (Adam and L-BFGS); mean held-out RMSE over the outputs in units of
    each output's standard deviation."""
    import io
    rng = np.random.default_rng(0)
    n = 30000
    X = rng.normal(size=(n, 8))
    Y = np.tanh(X @ rng.normal(size=(8, 3))) @ rng.normal(size=(3, 3)) + 0.1 * rng.normal(size=(n, 3))
    tr = np.arange(n) < 24000
    cur.execute("DROP TABLE IF EXISTS ds_latent; CREATE TABLE ds_latent (id int, train bool, x float8[], y1 float8, y2 float8, y3 float8)")
    buf = io.StringIO()
    for i in range(n):
        buf.write("%d\t%s\t{%s}\t%r\t%r\t%r\n" % (i, "t" if tr[i] else "f", ",".join(repr(v) for v in X[i]), *Y[i]))
    buf.seek(0)
    cur.copy_from(buf, "ds_latent")
    sd = Y[tr].std(0)
    score = lambda P: float(np.mean(np.sqrt(((P - Y[~tr]) ** 2).mean(0)) / sd))
    cur.execute("SELECT 1 FROM reframe.train('m_latent', 'SELECT x, y1, y2, y3 FROM ds_latent WHERE train', 'y1,y2,y3', 'multitask', '{\"hidden\": [16]}')")
    cur.execute("SELECT reframe.score('m_latent', d, 'y1'), reframe.score('m_latent', d, 'y2'), reframe.score('m_latent', d, 'y3')"
                " FROM ds_latent d WHERE NOT train ORDER BY id")
    got = score(np.array(cur.fetchall()))
    refs = {}
    for solver in ("adam", "lbfgs"):
        m = MLPRegressor(hidden_layer_sizes=(16,), solver=solver, max_iter=2000 if solver == "lbfgs" else 200,
                         random_state=0).fit(X[tr], Y[tr])
        refs[solver] = score(m.predict(X[~tr]))
    print("network on 24,000 rows ([16], 3 outputs, standardized RMSE): MLPRegressor adam %.4f, lbfgs %.4f, reframe %.4f"
          % (refs["adam"], refs["lbfgs"], got))
    ok = got <= 1.1 * refs["lbfgs"]
    print("  within 10%% of MLPRegressor(solver=lbfgs): %s" % ("yes" if ok else "NO"))
    return ok


def compare():
    import psycopg2
    conn = psycopg2.connect("")
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("CREATE EXTENSION IF NOT EXISTS reframe")
    print("%-14s %-11s %-9s %12s %12s %10s" % ("dataset", "task", "metric", "scikit-learn", "reframe", "difference"))
    ok = True
    for name, loader, task, reg in DATASETS:
        ref, l2 = sklearn_score(name, loader, task, reg)
        got = reframe_score(cur, name, task, l2)
        if task == "regression":
            diff = (got - ref) / ref
            ok &= abs(diff) <= 0.02
            print("%-14s %-11s %-9s %12.4f %12.4f %9.2f%%" % (name, task, "rmse", ref, got, 100 * diff))
        else:
            diff = got - ref
            ok &= abs(diff) <= 0.01
            print("%-14s %-11s %-9s %12.4f %12.4f %+9.4f" % (name, task, "accuracy", ref, got, diff))
    print("within 1 point of accuracy and 2% of RMSE:", "yes" if ok else "NO")
    ref, got, refs, gots = linnerud_compare(cur)
    print("linnerud (3 targets, [64, 32] trunk, held-out RMSE over all targets, mean of 5 seeds):")
    print("  MLPRegressor %.3f (seeds: %s)" % (ref, ", ".join("%.2f" % v for v in refs)))
    print("  reframe      %.3f (seeds: %s)" % (got, ", ".join("%.2f" % v for v in gots)))
    print("  difference   %+.1f%%  (within 10%%: %s)" % (100 * (got - ref) / ref, "yes" if got <= 1.1 * ref else "NO"))
    ok &= trees_compare(cur)
    ok &= auto_compare(cur)
    ok &= defaults_compare(cur)
    ok &= network_large_compare(cur)
    return 0 if ok else 1


if __name__ == "__main__":
    if "--export" in sys.argv:
        export()
    else:
        sys.exit(compare())
