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

Run ``python benchmarks/defaults.py [regression] [classification] [boston] [lls] [--only SLNN]``
(each phase is saved to ``benchmarks/results/defaults_raw.json`` as it ends, and the table in
``benchmarks/results/defaults.md`` is built from every phase saved; ``--only`` reruns the
models whose name contains it and keeps the others' saved scores, which the library does not
touch).
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
    """The paper's LLS row: degree-8 features of the raw inputs, standardised, Lasso(0.01) (Boston only)."""
    return make_pipeline(PolynomialFeatures(8), StandardScaler(), Lasso(alpha=0.01))


def summary(values) -> str:
    v = np.asarray(values, dtype=float)
    return f"{np.median(v):.3f} [{v.min():.3f}, {v.max():.3f}]"


def _key(k) -> str:
    return "|".join(map(str, k))


def _run_phase(phase: str, seeds: list[int], par, only: str | None = None) -> dict:
    """Scores of one phase, keyed ``"model|data|seed"`` (Boston: ``"model|seed"``); ``only``: models named so."""
    def chosen(names):
        return [n for n in names if only is None or only in n]

    if phase == "regression":
        suite, names = regression_suite(), chosen(regressors(0))
        jobs = [(n, d, s) for n in names for d in suite for s in seeds]
        out = par(delayed(cv_score)(regressors(s)[n], *suite[d], s, False) for n, d, s in jobs)
    elif phase == "classification":
        suite, names = classification_suite(), chosen(classifiers(0))
        jobs = [(n, d, s) for n in names for d in suite for s in seeds]
        out = par(delayed(cv_score)(classifiers(s)[n], *suite[d], s, True, d == "two_spirals") for n, d, s in jobs)
    elif phase == "boston":
        Xtr, ytr, Xte, yte = boston_paper_split()
        names = chosen(regressors(0))
        jobs = [("test", n, s) for n in names for s in range(15)] + [("cv", n, s) for n in names for s in seeds]
        out = par(delayed(boston_test_rmse)(regressors(s)[n], Xtr, ytr, Xte, yte) if kind == "test"
                  else delayed(boston_cv_rmse)(regressors(s)[n], Xtr, ytr, s) for kind, n, s in jobs)
    else:  # "lls": deterministic, and ~200k features: one fit on the paper's split
        Xtr, ytr, Xte, yte = boston_paper_split()
        jobs, out = [("test", LLS, 0)], [boston_test_rmse(paper_lls(), Xtr, ytr, Xte, yte)]
    return {_key(k): v for k, v in zip(jobs, out)}


LLS = "paper's LLS: Lasso(0.01) on degree-8 features"
PHASES = ("regression", "classification", "boston", "lls")


def report(raw: dict, seeds: list[int]) -> str:
    text = ""
    for phase, suite, names, title in (
        ("regression", regression_suite(), list(regressors(0)),
         "Regression: 5-fold CV R^2, median [min, max] over seeds"),
        ("classification", classification_suite(), list(classifiers(0)),
         "Classification: 5-fold stratified CV accuracy (two spirals: 75/25 holdout), median [min, max] over seeds"),
    ):
        if phase not in raw:
            continue
        r = raw[phase]
        rows = []
        for n in names:
            cells = [summary([r[_key((n, d, s))][0] for s in seeds]) for d in suite]
            times = " / ".join(f"{np.median([r[_key((n, d, s))][1] for s in seeds]):.2f}" for d in suite)
            rows.append([n, *cells, times])
        text += f"## {title}\n\n" + markdown_table(["model", *suite, "median fit s per data set"], rows) + "\n\n"
    if "boston" in raw:
        b = raw["boston"]
        rows = []
        for n in regressors(0):
            a = [b[_key(("test", n, s))] for s in range(5)]
            c = [b[_key(("test", n, s))] for s in range(5, 15)]
            rows.append([n, summary(a), f"{max(a) - min(a):.3f}", summary(c), f"{max(c) - min(c):.3f}",
                         summary([b[_key(("cv", n, s))] for s in seeds])])
        if "lls" in raw:
            v = raw["lls"][_key(("test", LLS, 0))]
            rows.append([LLS, f"{v:.3f} (deterministic)", "0", f"{v:.3f}", "0", "not run (200k features)"])
        text += ("## Boston, the paper's split: test RMSE over seeds, and 5-fold CV RMSE on the 404 training rows\n\n"
                 + markdown_table(["model", "test RMSE seeds 0-4", "spread", "test RMSE seeds 5-14", "spread",
                                   "CV RMSE (training rows), seeds 0-4"], rows) + "\n\n")
    if "regression" in raw:
        r = raw["regression"]
        ridge = {s: r[_key(("StandardScaler + RidgeCV()", "diabetes", s))][0] for s in seeds}
        slnn = {s: r[_key(("SLNNRegressor()", "diabetes", s))][0] for s in seeds}
        text += ("## Diabetes per seed: SLNNRegressor() against RidgeCV (5-fold CV R^2)\n\n"
                 + markdown_table(["seed", "SLNNRegressor()", "RidgeCV", "SLNN >= RidgeCV"],
                                  [[s, round(slnn[s], 4), round(ridge[s], 4), bool(slnn[s] >= ridge[s])]
                                   for s in seeds]) + "\n")
    return text


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("phases", nargs="*", help=f"phases to (re)run, of {PHASES} (default: all); the others are "
                                              "read from results/defaults_raw.json")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", help="rerun only the models whose name contains this (e.g. SLNN), keeping the "
                                   "others' saved scores")
    args = ap.parse_args()
    args.phases = args.phases or list(PHASES)
    if not set(args.phases) <= set(PHASES):
        ap.error(f"phases must be among {PHASES}; got {args.phases}")
    seeds = list(range(args.seeds))
    par = Parallel(n_jobs=args.jobs, verbose=5)  # progress on stderr: a full run takes about 5 minutes on 2 cores
    raw_path = RESULTS / "defaults_raw.json"
    raw = json.loads(raw_path.read_text()) if raw_path.exists() else {}
    RESULTS.mkdir(exist_ok=True)
    if args.only is None:  # a full run of these phases replaces any partial rerun of them
        raw["reruns"] = [r for r in raw.get("reruns", []) if r.split(":")[0] not in args.phases]
        for key in [k for k in raw if k.endswith(" only)") and k.split("_seconds")[0] in args.phases]:
            del raw[key]
    for phase in args.phases:
        t = time.perf_counter()
        scores = _run_phase(phase, seeds, par, args.only)
        raw[phase] = {**raw.get(phase, {}), **scores} if args.only else scores
        raw[f"{phase}_seconds{'' if args.only is None else ' (' + args.only + ' only)'}"] = time.perf_counter() - t
        if args.only:
            day = time.strftime("%Y-%m-%d")
            raw.setdefault("reruns", []).append(f"{phase}: models containing {args.only!r} rerun on {day}")
        raw_path.write_text(json.dumps(raw, indent=1))  # each phase is kept as soon as it is done
    info = machine()
    if raw.get("reruns"):  # the rows not rerun come from the last full run of their phase
        info["partial reruns"] = "; ".join(raw["reruns"])
    md = "# The defaults against their peers' defaults\n\n" + report(raw, seeds) + "\n" + "\n".join(
        f"- {k}: {v}" for k, v in info.items()) + "\n"
    (RESULTS / "defaults.md").write_text(md)
    print(md)

if __name__ == "__main__":
    main()
