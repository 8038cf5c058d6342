#!/usr/bin/python3
"""reframe on real tables, against the best few lines of Python.

    /usr/bin/python3 bench/real_tables.py [--seeds 5] [--only letter,shuttle] [--variants default,linear,trees,auto]

Needs PG* in the environment (bash bench/run real_tables starts a throwaway
cluster) and the tables' Debian packages: R's mlbench (LetterRecognition,
Shuttle, Soybean, Vehicle, Glass, BreastCancer, Sonar, Ionosphere,
PimaIndiansDiabetes2, BostonHousing, Satellite, DNA) and ggplot2 (diamonds),
exported once to /var/tmp/reframe-tables as CSV.

Each table is split 5 times (25% test, stratified for classes); on each split
reframe trains with no options ("default": the family chosen by
cross-validation), with "model": "linear", "model": "trees" or "model": "auto", and the references fit on the same training rows:
LogisticRegressionCV / RidgeCV (mean-imputed, missing indicators, one-hot
text, standardized), HistGradientBoosting (its defaults, text columns as
native categories) and XGBoost (defaults, 100 rounds; and early-stopped on a
tenth of the training rows, up to 2000 rounds at learning rate 0.1).  For
each variant the table prints the test metric's mean over the splits, its
gap to the best reference in standard deviations of that reference over the
splits, and the mean training time.
"""
import argparse
import csv
import json
import math
import os
import re
import subprocess
import sys
import time

import numpy as np
import psycopg2
import psycopg2.extras
import xgboost as xgb
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegressionCV, RidgeCV
from sklearn.metrics import accuracy_score, f1_score, log_loss, mean_squared_error
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

CACHE = "/var/tmp/reframe-tables"

# name: (R expression giving a data frame, target column, task, transform)
TABLES = {
    "letter": ("local({data(LetterRecognition, package = 'mlbench'); LetterRecognition})", "lettr", "multiclass", None),
    "shuttle": ("local({data(Shuttle, package = 'mlbench'); Shuttle})", "Class", "multiclass", None),
    "soybean": ("local({data(Soybean, package = 'mlbench'); Soybean})", "Class", "multiclass", None),
    "vehicle": ("local({data(Vehicle, package = 'mlbench'); Vehicle})", "Class", "multiclass", None),
    "glass": ("local({data(Glass, package = 'mlbench'); Glass})", "Type", "multiclass", None),
    "satellite": ("local({data(Satellite, package = 'mlbench'); Satellite})", "classes", "multiclass", None),
    "dna": ("local({data(DNA, package = 'mlbench'); DNA})", "Class", "multiclass", None),
    "breast_cancer": ("local({data(BreastCancer, package = 'mlbench'); BreastCancer[, -1]})", "Class", "binary", None),
    "sonar": ("local({data(Sonar, package = 'mlbench'); Sonar})", "Class", "binary", None),
    "ionosphere": ("local({data(Ionosphere, package = 'mlbench'); Ionosphere[, -2]})", "Class", "binary", None),
    "pima": ("local({data(PimaIndiansDiabetes2, package = 'mlbench'); PimaIndiansDiabetes2})", "diabetes", "binary", None),
    "boston": ("local({data(BostonHousing, package = 'mlbench'); BostonHousing})", "medv", "regression", None),
    "diamonds": ("as.data.frame(ggplot2::diamonds)", "price", "regression", None),
    "diamonds_log": ("as.data.frame(ggplot2::diamonds)", "price", "regression", "log"),
}


RESERVED = {"table", "order", "group", "select", "from", "where", "user", "class", "limit", "offset"}


def ident(name):
    """A column name that needs no quotes (a reserved word gains a "_")."""
    n = re.sub(r"[^a-z0-9_]", "_", name.lower())
    return n + "_" if n in RESERVED else n


def export(name):
    """The table as CSV (R factors as their labels, NA as empty), once."""
    expr = TABLES[name][0]
    path = os.path.join(CACHE, re.sub(r"[^A-Za-z0-9]+", "_", expr) + ".csv")
    if not os.path.exists(path):
        os.makedirs(CACHE, exist_ok=True)
        pkg = "ggplot2" if "ggplot2" in expr else "mlbench"
        r = ("suppressMessages(library(%s)); d <- %s; "
             "for (c in names(d)) if (is.factor(d[[c]])) d[[c]] <- as.character(d[[c]]); "
             "write.csv(d, '%s', row.names = FALSE, na = '')" % (pkg, expr, path))
        subprocess.run(["Rscript", "-e", r], check=True)
    return path


def load(name):
    """Columns (name, is_text) and rows, the target last."""
    with open(export(name)) as f:
        rows = list(csv.reader(f))
    header = []
    for h in rows[0]:
        n = ident(h)
        while n in header:      # names equal but for case (Vehicle's Sc.Var.Maxis, Sc.Var.maxis)
            n += "_2"
        header.append(n)
    body = rows[1:]
    target = ident(TABLES[name][1])
    cols = []
    for j, h in enumerate(header):
        vals = [r[j] for r in body if r[j] != ""]
        numeric = True
        for v in vals:
            try:
                float(v)
            except ValueError:
                numeric = False
                break
        if h == target and TABLES[name][2] != "regression":
            numeric = False
        cols.append((h, not numeric))
    order = [j for j, (h, _) in enumerate(cols) if h != target] + [header.index(target)]
    cols = [cols[j] for j in order]
    data = []
    for r in body:
        row = []
        for j in order:
            v = r[j]
            if v == "":
                row.append(None)
            elif cols[order.index(j)][1]:
                row.append(v)
            else:
                row.append(float(v))
        if TABLES[name][3] == "log":
            row[-1] = math.log(row[-1])
        data.append(row)
    # constant columns carry nothing (and some references refuse them)
    keep = [k for k in range(len(cols) - 1) if len({row[k] for row in data}) > 1] + [len(cols) - 1]
    cols = [cols[k] for k in keep]
    data = [[row[k] for k in keep] for row in data]
    return cols, data


def splits(data, task, seeds):
    y = [r[-1] for r in data]
    idx = np.arange(len(data))
    for s in range(seeds):
        strat = y if task != "regression" else None
        try:
            tr, te = train_test_split(idx, test_size=0.25, random_state=s, stratify=strat)
        except ValueError:      # a class with one row
            tr, te = train_test_split(idx, test_size=0.25, random_state=s)
        yield s, tr, te


def to_pg(cur, name, cols, data):
    tbl = "rt_" + name
    cur.execute("DROP TABLE IF EXISTS %s" % tbl)
    cur.execute("CREATE TABLE %s (row_id int, %s)" % (
        tbl, ", ".join("%s %s" % (h, "text" if t else "float8") for h, t in cols)))
    psycopg2.extras.execute_values(cur, "INSERT INTO %s VALUES %%s" % tbl,
                                   [[i] + r for i, r in enumerate(data)], page_size=5000)
    cur.execute("DROP TABLE IF EXISTS %s_split" % tbl)
    cur.execute("CREATE TABLE %s_split (seed int, row_id int, part text)" % tbl)
    return tbl


def metrics(task, y, proba=None, classes=None, pred=None):
    if task == "regression":
        return {"rmse": float(np.sqrt(mean_squared_error(y, pred)))}
    pos = {c: k for k, c in enumerate(classes)}
    P = np.clip(np.asarray(proba, dtype=float), 1e-15, 1)
    P = P / P.sum(axis=1, keepdims=True)
    yi = np.array([pos.get(v, -1) for v in y])
    known = yi >= 0
    lab = np.array(classes)[P.argmax(axis=1)]
    out = {"accuracy": accuracy_score(y, lab), "macro_f1": f1_score(y, lab, average="macro")}
    out["log_loss"] = float(np.mean(-np.log(P[known, yi[known]]))) if known.any() else float("nan")
    return out


def reframe_fit(cur, tbl, cols, task, seed, options):
    feats = ", ".join("d." + h for h, _ in cols)
    target = cols[-1][0]
    src = ("SELECT %s FROM %s d JOIN %s_split s USING (row_id) WHERE s.seed = %d AND s.part = ''train''"
           % (feats, tbl, tbl, seed))
    t0 = time.time()
    cur.execute("SELECT metrics FROM reframe.train('rt_m', '%s', '%s', %s, %%s)"
                % (src, target, "'regression'" if task == "regression" else "NULL"), (json.dumps(options),))
    m = cur.fetchone()[0]
    secs = time.time() - t0
    test = "FROM %s d JOIN %s_split s USING (row_id) WHERE s.seed = %d AND s.part = 'test' ORDER BY row_id" % (tbl, tbl, seed)
    if task == "regression":
        cur.execute("SELECT d.%s, reframe.score('rt_m', d) %s" % (target, test))
        rows = cur.fetchall()
        res = metrics(task, [r[0] for r in rows], pred=[r[1] for r in rows])
    else:
        cur.execute("SELECT reframe.classes('rt_m')")
        classes = cur.fetchone()[0]
        cur.execute("SELECT d.%s, reframe.predict_proba('rt_m', d) %s" % (target, test))
        rows = cur.fetchall()
        proba = [r[1] if len(r[1]) == len(classes) else [1 - r[1][0], r[1][0]] for r in rows]
        res = metrics(task, [r[0] for r in rows], proba=proba, classes=classes)
    chosen = (m.get("auto") or {}).get("chosen") if isinstance(m, dict) else None
    cur.execute("SELECT reframe.drop_model('rt_m')")
    return res, secs, chosen


def references(cols, data, task, tr, te):
    y = np.array([r[-1] for r in data], dtype=object if task != "regression" else float)
    ytr, yte = y[tr], y[te]
    Xcols = cols[:-1]
    text = [k for k, (_, t) in enumerate(Xcols) if t]
    num = [k for k, (_, t) in enumerate(Xcols) if not t]

    def matrix(idx):
        M = np.empty((len(idx), len(Xcols)), dtype=object)
        for a, i in enumerate(idx):
            for k in range(len(Xcols)):
                v = data[i][k]
                M[a, k] = (v if v is not None else "NA") if k in text else (v if v is not None else np.nan)
        return M
    Xtr, Xte = matrix(tr), matrix(te)
    results = {}
    # linear: impute, indicators, one-hot, standardize
    pre = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(add_indicator=True), StandardScaler()), num),
        ("txt", OneHotEncoder(handle_unknown="ignore"), text)], sparse_threshold=0)
    t0 = time.time()
    if task == "regression":
        lin = make_pipeline(pre, RidgeCV(alphas=np.logspace(-3, 3, 13)))
        lin.fit(Xtr, ytr.astype(float))
        results["linear_cv"] = (metrics(task, yte, pred=lin.predict(Xte)), time.time() - t0)
    else:
        lin = make_pipeline(pre, LogisticRegressionCV(max_iter=2000, n_jobs=1))
        lin.fit(Xtr, ytr)
        results["linear_cv"] = (metrics(task, yte, proba=lin.predict_proba(Xte), classes=list(lin.classes_)),
                                time.time() - t0)
    # ordinal codes of the text columns, for the trees
    codes = {k: {v: c for c, v in enumerate(sorted({str(r[k]) for r in data}))} for k in text}

    def numeric(M):
        A = np.empty(M.shape, dtype=float)
        for k in range(M.shape[1]):
            if k in text:
                A[:, k] = [np.nan if v == "NA" else codes[k][str(v)] for v in M[:, k]]
            else:
                A[:, k] = M[:, k].astype(float)
        return A
    Ntr, Nte = numeric(Xtr), numeric(Xte)
    t0 = time.time()
    mask = [k in text for k in range(len(Xcols))]
    if task == "regression":
        hgb = HistGradientBoostingRegressor(categorical_features=mask if any(mask) else None)
        hgb.fit(Ntr, ytr.astype(float))
        results["hist_gb"] = (metrics(task, yte, pred=hgb.predict(Nte)), time.time() - t0)
    else:
        hgb = HistGradientBoostingClassifier(categorical_features=mask if any(mask) else None)
        hgb.fit(Ntr, ytr)
        results["hist_gb"] = (metrics(task, yte, proba=hgb.predict_proba(Nte), classes=list(hgb.classes_)),
                              time.time() - t0)
    # XGBoost on one-hot text columns
    oh = ColumnTransformer([("num", "passthrough", num),
                            ("txt", OneHotEncoder(handle_unknown="ignore"), text)], sparse_threshold=0)
    Otr = oh.fit_transform(np.where(Xtr == None, np.nan, Xtr)).astype(float)  # noqa: E711
    Ote = oh.transform(np.where(Xte == None, np.nan, Xte)).astype(float)  # noqa: E711
    classes = sorted(set(ytr.tolist())) if task != "regression" else None
    ycode = np.array([classes.index(v) for v in ytr]) if classes else ytr.astype(float)
    for label, kw in (("xgboost", {"n_estimators": 100}),
                      ("xgboost_es", {"n_estimators": 2000, "learning_rate": 0.1, "early_stopping_rounds": 20})):
        t0 = time.time()
        model = (xgb.XGBRegressor if task == "regression" else xgb.XGBClassifier)(tree_method="hist", n_jobs=2, **kw)
        if "early_stopping_rounds" in kw:
            a, b = train_test_split(np.arange(len(tr)), test_size=0.1, random_state=0,
                                    stratify=ycode if task != "regression" and min(np.bincount(ycode)) > 1 else None)
            if task != "regression" and len(set(ycode[a])) < len(classes):
                a = np.arange(len(tr))
            model.fit(Otr[a], ycode[a], eval_set=[(Otr[b], ycode[b])], verbose=False)
        else:
            model.fit(Otr, ycode)
        if task == "regression":
            results[label] = (metrics(task, yte, pred=model.predict(Ote)), time.time() - t0)
        else:
            P = model.predict_proba(Ote)
            full = np.zeros((len(te), len(classes)))
            full[:, :P.shape[1]] = P
            results[label] = (metrics(task, yte, proba=full, classes=classes), time.time() - t0)
    return results


def cached_references(name, seed, cols, data, task, tr, te):
    """The references' figures for a table and split, computed once per machine
    (they do not depend on reframe), under /var/tmp/reframe-tables."""
    path = os.path.join(CACHE, "refs-%s-%d.json" % (name, seed))
    if os.path.exists(path):
        with open(path) as f:
            return {k: tuple(v) for k, v in json.load(f).items()}
    res = references(cols, data, task, tr, te)
    with open(path, "w") as f:
        json.dump(res, f)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--only", default="")
    ap.add_argument("--variants", default="default,linear,trees")
    args = ap.parse_args()
    variants = {"default": {}, "trees": {"model": "trees"}, "auto": {"model": "auto"},
                "linear": {"model": "linear"}}
    names = [n for n in TABLES if not args.only or n in args.only.split(",")]
    conn = psycopg2.connect("")
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SET client_min_messages = error")
    print("%-14s %-10s %-11s %12s %8s %9s" % ("table", "metric", "method", "mean", "gap_sd", "seconds"))
    for name in names:
        cols, data = load(name)
        task = TABLES[name][2]
        tbl = to_pg(cur, name, cols, data)
        per = {}
        for seed, tr, te in splits(data, task, args.seeds):
            psycopg2.extras.execute_values(cur, "INSERT INTO %s_split VALUES %%s" % tbl,
                                           [(seed, int(i), "train") for i in tr] + [(seed, int(i), "test") for i in te])
            for label, (res, secs) in cached_references(name, seed, cols, data, task, tr, te).items():
                per.setdefault(label, []).append((res, secs, None))
            for v in args.variants.split(","):
                res, secs, chosen = reframe_fit(cur, tbl, cols, task, seed, variants[v])
                per.setdefault("reframe_" + v, []).append((res, secs, chosen))
        metric_names = ["rmse"] if task == "regression" else ["accuracy", "log_loss", "macro_f1"]
        for metric in metric_names:
            lower = metric in ("rmse", "log_loss")
            means = {k: np.mean([r[0][metric] for r in v]) for k, v in per.items()}
            refs = [k for k in per if not k.startswith("reframe_")]
            best = min(refs, key=lambda k: means[k]) if lower else max(refs, key=lambda k: means[k])
            sd = np.std([r[0][metric] for r in per[best]], ddof=1) if args.seeds > 1 else float("nan")
            for k in per:
                gap = (means[k] - means[best]) / sd if sd > 0 else float("nan")
                if not lower:
                    gap = -gap
                print("%-14s %-10s %-11s %12.5g %8.2f %9.2f%s" % (
                    name, metric, k.replace("reframe_", "rf_"), means[k], gap,
                    np.mean([r[1] for r in per[k]]), "  (best)" if k == best else ""))
        sys.stdout.flush()
        cur.execute("DROP TABLE %s, %s_split" % (tbl, tbl))


if __name__ == "__main__":
    main()
