"""What ``extrapolation="constant"`` (the default) and ``"continue"`` do to held-out scores.

Held-out rows can take a polynomial SLAF layer's pre-activations beyond the range they took
on the training rows. ``"constant"`` clamps them to that range (the activation holds its
value at the edge); ``"continue"`` evaluates the polynomial there. Everything else is the
estimator's defaults. Scores: mean 5-fold CV R^2 (``KFold(shuffle=True, random_state=seed)``,
the model seeded with ``seed``), median [min, max] over seeds 0-2, on the regression suite
(Boston: its 404 paper-training rows) and on five tasks that chose nothing; and Boston's
test RMSE on the paper's split over seeds 0-4. Writes ``results/extrapolation.{md,json}``.
Run: ``python benchmarks/extrapolation.py [--seeds 3] [--jobs 2]``.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import torch
from _common import grouped_scores, save
from _suite import boston_paper_split, regression_suite
from sklearn.datasets import make_friedman1, make_regression, make_sparse_uncorrelated
from sklearn.metrics import root_mean_squared_error
from sklearn.model_selection import KFold

from sklearn_slaf import SLNNRegressor

MODES = ("constant", "continue")


def unseen_tasks() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    Xs = rng.uniform(-3, 3, size=(600, 2))
    Xe = rng.normal(size=(600, 4))
    return {
        "linear (make_regression)": make_regression(500, 10, n_informative=5, noise=10.0, random_state=0),
        "sparse_uncorrelated": make_sparse_uncorrelated(500, 10, random_state=0),
        "friedman1, 2000 rows": make_friedman1(2000, noise=1.0, random_state=1),
        "sin x1 cos x2": (Xs, np.sin(Xs[:, 0]) * np.cos(Xs[:, 1]) + 0.1 * rng.normal(size=600)),
        "exp(x1/2) + x2 x3, Gaussian": (Xe, np.exp(0.5 * Xe[:, 0]) + Xe[:, 1] * Xe[:, 2] + 0.2 * rng.normal(size=600)),
    }


def cv_r2(mode: str, X, y, seed: int) -> float:
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    return float(np.mean([SLNNRegressor(random_state=seed, extrapolation=mode).fit(X[a], y[a]).score(X[b], y[b])
                          for a, b in KFold(5, shuffle=True, random_state=seed).split(X)]))


def boston_rmse(mode: str, seed: int) -> float:
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    Xtr, ytr, Xte, yte = boston_paper_split()
    return float(root_mean_squared_error(yte, SLNNRegressor(random_state=seed, extrapolation=mode).fit(Xtr, ytr)
                                         .predict(Xte)))


def _cell(v: list[float]) -> str:
    return f"{np.median(v):.4f} [{min(v):.4f}, {max(v):.4f}]"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    seeds = list(range(args.seeds))
    tasks = {f"{name} (suite)": data for name, data in regression_suite().items()} | unseen_tasks()
    scores = grouped_scores(lambda m, t, s: cv_r2(m, *tasks[t], s),
                            [(m, t, s) for t in tasks for m in MODES for s in seeds], args.jobs)
    boston = grouped_scores(boston_rmse, [(m, s) for m in MODES for s in range(5)], args.jobs)
    rows = []
    for t in tasks:
        gain = np.median(scores["constant", t]) - np.median(scores["continue", t])
        rows.append([t, *(_cell(scores[m, t]) for m in MODES), f"{gain:+.4f}"])
    rows.append(["Boston test RMSE, paper split, seeds 0-4 (lower is better)",
                 *(_cell(boston[(m,)]) for m in MODES),
                 f"{np.median(boston[('constant',)]) - np.median(boston[('continue',)]):+.4f}"])
    save("extrapolation", "SLNNRegressor(): extrapolation='constant' against 'continue' (5-fold CV R^2, median "
         "[min, max] over seeds)", ["task", *(f"extrapolation={m!r}" for m in MODES), "constant - continue"], rows,
         {"seeds": seeds})


if __name__ == "__main__":
    main()
