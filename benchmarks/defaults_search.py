"""How the defaults were chosen: 5-fold cross-validated R^2 of candidate recipes over the regression suite.

Every score is a cross-validation score on data used for nothing else (Boston: its 404
paper-training rows only; the paper's test rows are never touched here). Each candidate is
a set of changes to the estimator's current defaults; the table reports the R^2 per data
set, the worst ratio of its error (1 - R^2) to that of ``StandardScaler + MLPRegressor()``
and the total fit time. Run: ``python benchmarks/defaults_search.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from _common import RESULTS, save
from _suite import regression_suite
from sklearn_slaf import SLNNRegressor

CANDIDATES: dict[str, dict] = {
    "current": {},
    "es": {"early_stopping": True},
    "es_long": {"early_stopping": True, "max_iter": 1000, "n_iter_no_change": 20},
    "b64_es_long": {"early_stopping": True, "max_iter": 1000, "n_iter_no_change": 20, "batch_size": 64},
    "b32_es_long": {"early_stopping": True, "max_iter": 1000, "n_iter_no_change": 20, "batch_size": 32},
    "b64_lr3_es_long": {"early_stopping": True, "max_iter": 1000, "n_iter_no_change": 20, "batch_size": 64,
                        "learning_rate_init": 3e-3},
    "b64_lr3_adapt_es": {"early_stopping": True, "max_iter": 1000, "n_iter_no_change": 10, "batch_size": 64,
                         "learning_rate_init": 3e-3, "learning_rate": "adaptive"},
    "b64_lr3_long": {"max_iter": 1000, "n_iter_no_change": 20, "batch_size": 64, "learning_rate_init": 3e-3},
    "b64_lr3_cos300": {"max_iter": 300, "batch_size": 64, "learning_rate_init": 3e-3, "learning_rate": "cosine"},
    "b64_lr3_adapt": {"max_iter": 1000, "batch_size": 64, "learning_rate_init": 3e-3, "learning_rate": "adaptive"},
    "w128_b64_lr3_es_long": {"hidden_layer_sizes": (128,), "early_stopping": True, "max_iter": 1000,
                             "n_iter_no_change": 20, "batch_size": 64, "learning_rate_init": 3e-3},
    "d32_b64_lr3_es_long": {"hidden_layer_sizes": (128, 64), "degree": (3, 2), "early_stopping": True,
                            "max_iter": 1000, "n_iter_no_change": 20, "batch_size": 64, "learning_rate_init": 3e-3},
    "b64_lr3_es_long_a1e-2": {"early_stopping": True, "max_iter": 1000, "n_iter_no_change": 20, "batch_size": 64,
                              "learning_rate_init": 3e-3, "alpha": 1e-2},
    "b64_lr3_es_long_c1e-3": {"early_stopping": True, "max_iter": 1000, "n_iter_no_change": 20, "batch_size": 64,
                              "learning_rate_init": 3e-3, "coef_alpha": 1e-3},
    "b64_lr3_es_long_clip": {"early_stopping": True, "max_iter": 1000, "n_iter_no_change": 20, "batch_size": 64,
                             "learning_rate_init": 3e-3, "clip_grad_norm": 1.0},
    "b64_lr3_es_long_deg2": {"early_stopping": True, "max_iter": 1000, "n_iter_no_change": 20, "batch_size": 64,
                             "learning_rate_init": 3e-3, "degree": 2},
}


def mlp():
    return make_pipeline(StandardScaler(), MLPRegressor(random_state=0))


def cv_r2(make, X, y, seed: int = 0) -> tuple[float, float]:
    """Mean 5-fold R^2 and the total fit time."""
    torch.set_num_threads(1)
    scores, fit_s = [], 0.0
    for tr, te in KFold(5, shuffle=True, random_state=seed).split(X):
        model = make()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            t = time.perf_counter()
            model.fit(X[tr], y[tr])
            fit_s += time.perf_counter() - t
        scores.append(model.score(X[te], y[te]))
    return float(np.mean(scores)), fit_s


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*", help="candidate names")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--name", default="defaults_search")
    args = ap.parse_args()
    suite = regression_suite()
    names = args.only or list(CANDIDATES)
    makers = {"MLP": mlp} | {n: (lambda kw=CANDIDATES[n]: SLNNRegressor(random_state=0, **kw)) for n in names}
    jobs = [(m, d) for m in makers for d in suite]
    out = Parallel(n_jobs=args.jobs)(delayed(cv_r2)(makers[m], *suite[d]) for m, d in jobs)
    res = {(m, d): r for (m, d), r in zip(jobs, out)}
    rows = []
    for m in makers:
        r2 = [res[m, d][0] for d in suite]
        ratio = max((1 - res[m, d][0]) / (1 - res["MLP", d][0]) for d in suite)
        rows.append([m, *r2, ratio, sum(res[m, d][1] for d in suite)])
    save(args.name, "Candidate recipes: 5-fold CV R^2 on the regression suite",
         ["recipe", *suite, "worst error ratio to MLP", "fit s"], rows,
         {"candidates": json.dumps({n: CANDIDATES[n] for n in names}, default=str)})


if __name__ == "__main__":
    main()
