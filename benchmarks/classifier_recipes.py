"""Candidate classifier recipes on the classification suite: depth, and early stopping on the log-loss.

The defaults' classifier cannot separate the authors' two spirals (a single cubic layer); depth
can, and costs accuracy on the small sets, which early stopping on the validation log-loss (a
smooth score, unlike the accuracy) takes back. The estimator stops on the accuracy, so the
log-loss rows use a subclass whose validation score is minus the (weighted) log-loss. Protocol
of ``benchmarks/defaults.py``: 5-fold stratified CV (the spirals: a 75/25 holdout), median over
seeds. A second table scores the defaults and the most promising candidate on six tasks that
chose nothing (iris and five scikit-learn generators), beside ``MLPClassifier`` and logistic
regression, to show whether a recipe was tuned to the suite. Writes
``results/classifier_recipes.{md,json}`` and ``results/classifier_recipes_unseen.{md,json}``.

Run: ``python benchmarks/classifier_recipes.py [--seeds 5] [--jobs 2]``.
"""

from __future__ import annotations

import argparse
import warnings
from functools import partial

import numpy as np
import torch
from _common import grouped_scores, save
from _suite import classification_suite
from defaults import cv_score
from sklearn.datasets import (
    load_iris,
    make_circles,
    make_classification,
    make_gaussian_quantiles,
    make_hastie_10_2,
    make_moons,
)
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_slaf import SLNNClassifier


class LogLossStopping(SLNNClassifier):
    """Early stopping on minus the validation log-loss instead of the accuracy."""

    def _score_module(self, module, Xv, yv, wv) -> float:
        module.eval()
        with torch.no_grad():
            out = module(Xv).double()
            if out.shape[1] == 1:
                p1 = torch.sigmoid(out[:, 0]).cpu().numpy()
                p = np.where(yv == 1, p1, 1 - p1)
            else:
                p = torch.softmax(out, 1).cpu().numpy()[np.arange(len(yv)), yv]
        return float(np.average(np.log(np.clip(p, 1e-15, 1.0)), weights=wv))


DEEP = {"hidden_layer_sizes": (128, 32), "degree": (3, 2)}
CHEB = {"basis": "chebyshev", "degree": 10}
# round 2, after extrapolation="constant" became the default: a high-degree bounded basis separates the
# spirals in one layer, and the clamp keeps it from extrapolating wildly on the small sets
CANDIDATES = {
    "SLNNClassifier() (the defaults)": (SLNNClassifier, {}),
    "power, degree 3, alpha=3 (round 1's defaults)": (SLNNClassifier, {"basis": "power", "degree": 3, "alpha": 3.0}),
    "the same, extrapolation='continue'": (SLNNClassifier, {"basis": "power", "degree": 3, "alpha": 3.0,
                                                             "extrapolation": "continue"}),
    "chebyshev, degree 10, alpha=1": (SLNNClassifier, {**CHEB, "alpha": 1.0}),
    "chebyshev, degree 10, alpha=1, extrapolation='continue'": (SLNNClassifier, {**CHEB, "alpha": 1.0,
                                                                                 "extrapolation": "continue"}),
    "chebyshev, degree 10, alpha=3": (SLNNClassifier, {**CHEB, "alpha": 3.0}),
    "(128, 32), degree (3, 2), alpha=2, early stopping on log-loss": (LogLossStopping, {
        **DEEP, "alpha": 2.0, "early_stopping": True}),
}


PEERS = {
    "StandardScaler + MLPClassifier()": lambda s: make_pipeline(StandardScaler(), MLPClassifier(random_state=s)),
    "StandardScaler + LogisticRegression()": lambda s: make_pipeline(StandardScaler(),
                                                                     LogisticRegression(max_iter=1000)),
}
UNSEEN_MODELS = ["SLNNClassifier() (the defaults)", "power, degree 3, alpha=3 (round 1's defaults)",
                 "chebyshev, degree 10, alpha=1", *PEERS]


def unseen_tasks() -> dict:
    return {
        "iris": load_iris(return_X_y=True),
        "moons": make_moons(1000, noise=0.3, random_state=0),
        "circles": make_circles(1000, noise=0.1, factor=0.5, random_state=0),
        "classification_20": make_classification(1000, 20, n_informative=8, n_classes=3, random_state=0),
        "hastie_10_2": make_hastie_10_2(2000, random_state=0),
        "gaussian_quantiles": make_gaussian_quantiles(n_samples=1000, n_features=4, n_classes=3, random_state=0),
    }


def _model(name: str, seed: int):
    if name in PEERS:
        return PEERS[name](seed)
    cls, params = CANDIDATES[name]
    return cls(random_state=seed, **params)


def _score(name: str, data: str, seed: int, suite) -> float:
    warnings.simplefilter("ignore")
    return cv_score(_model(name, seed), *suite[data], seed, True, data == "two_spirals")[0]


def _table(models, suite, seeds, jobs) -> list[list]:
    scores = grouped_scores(partial(_score, suite=suite), [(n, d, s) for n in models for d in suite for s in seeds],
                            jobs)
    return [[n] + [f"{np.median(v):.3f} [{min(v):.3f}, {max(v):.3f}]" for v in (scores[n, d] for d in suite)]
            for n in models]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    seeds = list(range(args.seeds))
    suite, unseen = classification_suite(), unseen_tasks()
    save("classifier_recipes", "Classifier recipes: CV accuracy (spirals: holdout), median [min, max] over seeds",
         ["recipe", *suite], _table(CANDIDATES, suite, seeds, args.jobs), {"seeds": seeds})
    save("classifier_recipes_unseen", "Tasks that chose nothing: 5-fold CV accuracy, median [min, max] over seeds",
         ["model", *unseen], _table(UNSEEN_MODELS, unseen, seeds[:3], args.jobs), {"seeds": seeds[:3]})


if __name__ == "__main__":
    main()
