"""The defaults against the defaults of their peers: one table, models as rows, data sets as columns.

Every model runs as a user would run it at its defaults, each configured as its own
documentation recommends (scaled inputs for the MLPs and linear models). Scores:

* regression: mean 5-fold cross-validated R^2 (``KFold(shuffle=True, random_state=seed)``,
  the model seeded with ``seed`` too), median and [min, max] over seeds 0-4;
* classification: mean 5-fold stratified CV accuracy likewise (the two spirals: one 75/25
  stratified split per seed, for time);
* Boston, the paper's split (404 train / 102 test rows): test RMSE over seeds 0-4 and 5-14,
  and 5-fold CV RMSE on the 404 training rows;
* fit time: median seconds per fit, per data set, for the SLNN and for ``MLPRegressor()``.

Run ``python benchmarks/defaults.py`` (about 15 minutes on 2 cores); results go to
``benchmarks/results/defaults.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import torch
from _common import RESULTS, machine, markdown_table
from _suite import boston_paper_split, classification_suite, regression_suite
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso, LogisticRegression, RidgeCV
from sklearn.metrics import root_mean_squared_error
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from sklearn_slaf import SLNNClassifier, SLNNRegressor


def regressors(seed: int) -> dict:
    return {
        "SLNNRegressor()": SLNNRegressor(random_state=seed),
        "StandardScaler + MLPRegressor()": make_pipeline(StandardScaler(), MLPRegressor(random_state=seed)),
        "StandardScaler + MLPRegressor(max_iter=2000)": make_pipeline(
            StandardScaler(), MLPRegressor(max_iter=2000, random_state=seed)),
        "StandardScaler + RidgeCV()": make_pipeline(StandardScaler(), RidgeCV()),
        "RandomForestRegressor()": RandomForestRegressor(random_state=seed),
        "HistGradientBoostingRegressor()": HistGradientBoostingRegressor(random_state=seed),
    }


def classifiers(seed: int) -> dict:
    return {
        "SLNNClassifier()": SLNNClassifier(random_state=seed),
        "StandardScaler + MLPClassifier()": make_pipeline(StandardScaler(), MLPClassifier(random_state=seed)),
        "StandardScaler + LogisticRegression()": make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
        "HistGradientBoostingClassifier()": HistGradientBoostingClassifier(random_state=seed),
    }


def _fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t = time.perf_counter()
        model.fit(X, y)
        return time.perf_counter() - t


def cv_score(model, X, y, seed: int, classification: bool, holdout: bool = False) -> tuple[float, float]:
    """Mean CV score (R^2 or accuracy) and median fit seconds."""
    torch.set_num_threads(1)
    if holdout:
        tr, te = train_test_split(np.arange(len(y)), test_size=0.25, random_state=seed, stratify=y)
        splits = [(tr, te)]
    else:
        cv = StratifiedKFold(5, shuffle=True, random_state=seed) if classification else KFold(5, shuffle=True,
                                                                                              random_state=seed)
        splits = list(cv.split(X, y))
    scores, times = [], []
    for tr, te in splits:
        m = clone(model)
        times.append(_fit(m, X[tr], y[tr]))
        scores.append(m.score(X[te], y[te]))
    return float(np.mean(scores)), float(np.median(times))


def boston_test_rmse(model, Xtr, ytr, Xte, yte) -> float:
    torch.set_num_threads(1)
    _fit(model, Xtr, ytr)
    return root_mean_squared_error(yte, model.predict(Xte))


def boston_cv_rmse(model, X, y, seed: int) -> float:
    torch.set_num_threads(1)
    out = []
    for tr, te in KFold(5, shuffle=True, random_state=seed).split(X):
        m = clone(model)
        _fit(m, X[tr], y[tr])
        out.append(root_mean_squared_error(y[te], m.predict(X[te])))
    return float(np.mean(out))


def paper_lls():
    """The paper's LLS row: Lasso(0.01) on standardised degree-8 features (Boston only)."""
    return make_pipeline(StandardScaler(), PolynomialFeatures(8), StandardScaler(), Lasso(alpha=0.01, max_iter=5000))


def summary(values) -> str:
    v = np.asarray(values, dtype=float)
    return f"{np.median(v):.3f} [{v.min():.3f}, {v.max():.3f}]"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--skip-classification", action="store_true")
    args = ap.parse_args()
    seeds = list(range(args.seeds))
    par = Parallel(n_jobs=args.jobs)

    # ---------------------------------------------------------------- regression suite
    reg_suite = regression_suite()
    names = list(regressors(0))
    jobs = [(n, d, s) for n in names for d in reg_suite for s in seeds]
    out = par(delayed(cv_score)(regressors(s)[n], *reg_suite[d], s, False) for n, d, s in jobs)
    reg = {k: v for k, v in zip(jobs, out)}

    # ---------------------------------------------------------------- classification suite
    clf = {}
    clf_suite = {} if args.skip_classification else classification_suite()
    cnames = list(classifiers(0))
    cjobs = [(n, d, s) for n in cnames for d in clf_suite for s in seeds]
    out = par(delayed(cv_score)(classifiers(s)[n], *clf_suite[d], s, True, d == "two_spirals") for n, d, s in cjobs)
    clf = {k: v for k, v in zip(cjobs, out)}

    # ---------------------------------------------------------------- Boston, the paper's split
    Xtr, ytr, Xte, yte = boston_paper_split()
    boston_models = {**{n: regressors for n in names}, "paper's LLS: Lasso(0.01) on degree-8 features": None}
    bseeds = list(range(15))
    bjobs = [(n, s) for n in boston_models for s in bseeds]
    make = lambda n, s: paper_lls() if boston_models[n] is None else regressors(s)[n]
    test = dict(zip(bjobs, par(delayed(boston_test_rmse)(make(n, s), Xtr, ytr, Xte, yte) for n, s in bjobs)))
    cjobs = [(n, s) for n in boston_models for s in seeds]
    cvr = dict(zip(cjobs, par(delayed(boston_cv_rmse)(make(n, s), Xtr, ytr, s) for n, s in cjobs)))

    # ---------------------------------------------------------------- tables
    header = ["model", *reg_suite, "median fit s (first data set .. last)"]
    rows = []
    for n in names:
        cells = [summary([reg[n, d, s][0] for s in seeds]) for d in reg_suite]
        times = " / ".join(f"{np.median([reg[n, d, s][1] for s in seeds]):.2f}" for d in reg_suite)
        rows.append([n, *cells, times])
    text = "## Regression: 5-fold CV R^2, median [min, max] over seeds\n\n" + markdown_table(header, rows)
    if clf_suite:
        header = ["model", *clf_suite, "median fit s"]
        crow = []
        for n in cnames:
            cells = [summary([clf[n, d, s][0] for s in seeds]) for d in clf_suite]
            times = " / ".join(f"{np.median([clf[n, d, s][1] for s in seeds]):.2f}" for d in clf_suite)
            crow.append([n, *cells, times])
        text += ("\n\n## Classification: 5-fold stratified CV accuracy (two spirals: 75/25 holdout), "
                 "median [min, max] over seeds\n\n" + markdown_table(header, crow))
    brow = []
    for n in boston_models:
        a = [test[n, s] for s in bseeds[:5]]
        b = [test[n, s] for s in bseeds[5:]]
        brow.append([n, summary(a), f"{max(a) - min(a):.3f}", summary(b), f"{max(b) - min(b):.3f}",
                     summary([cvr[n, s] for s in seeds])])
    text += ("\n\n## Boston, the paper's split: test RMSE and 5-fold CV RMSE on the 404 training rows\n\n"
             + markdown_table(["model", "test RMSE seeds 0-4", "spread", "test RMSE seeds 5-14", "spread",
                               "CV RMSE (training rows)"], brow))
    ridge = {s: reg["StandardScaler + RidgeCV()", "diabetes", s][0] for s in seeds}
    slnn = {s: reg["SLNNRegressor()", "diabetes", s][0] for s in seeds}
    text += ("\n\n## Diabetes per seed: SLNNRegressor() against RidgeCV (5-fold CV R^2)\n\n"
             + markdown_table(["seed", "SLNNRegressor()", "RidgeCV", "SLNN >= RidgeCV"],
                              [[s, round(slnn[s], 4), round(ridge[s], 4), slnn[s] >= ridge[s]] for s in seeds]))
    raw = [[list(k) if isinstance(k, tuple) else k, v] for k, v in [*reg.items(), *clf.items()]]
    raw += [[["boston_test", *k], v] for k, v in test.items()] + [[["boston_cv", *k], v] for k, v in cvr.items()]
    info = machine()
    md = "# The defaults against their peers' defaults\n\n" + text + "\n\n" + "\n".join(
        f"- {k}: {v}" for k, v in info.items()) + "\n"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "defaults.md").write_text(md)
    (RESULTS / "defaults.json").write_text(json.dumps({"raw": raw, "info": info}, indent=1))
    print(md)

if __name__ == "__main__":
    main()
