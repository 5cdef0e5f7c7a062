"""Candidate classifier recipes on the classification suite: depth, and early stopping on the log-loss.

The defaults' classifier cannot separate the authors' two spirals (a single cubic layer); depth
can, and costs accuracy on the small sets, which early stopping on the validation log-loss (a
smooth score, unlike the accuracy) takes back. The estimator stops on the accuracy, so the
log-loss rows use a subclass whose validation score is minus the (weighted) log-loss. Protocol
of ``benchmarks/defaults.py``: 5-fold stratified CV (the spirals: a 75/25 holdout), median over
seeds. Writes ``results/classifier_recipes.{md,json}``.

Run: ``python benchmarks/classifier_recipes.py [--seeds 5] [--jobs 2]``.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import torch
from _common import save
from _suite import classification_suite
from defaults import cv_score
from joblib import Parallel, delayed

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
CANDIDATES = {
    "SLNNClassifier() (the defaults)": (SLNNClassifier, {}),
    "(128, 32), degree (3, 2), alpha=1": (SLNNClassifier, {**DEEP, "alpha": 1.0}),
    "the same, alpha=2, early stopping on accuracy": (SLNNClassifier, {**DEEP, "alpha": 2.0, "early_stopping": True}),
    "the same, alpha=2, early stopping on log-loss": (LogLossStopping, {**DEEP, "alpha": 2.0, "early_stopping": True}),
    "defaults, early stopping on log-loss": (LogLossStopping, {"early_stopping": True}),
}


def _score(name: str, data: str, seed: int, suite) -> float:
    warnings.simplefilter("ignore")
    cls, params = CANDIDATES[name]
    return cv_score(cls(random_state=seed, **params), *suite[data], seed, True, data == "two_spirals")[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    suite, seeds = classification_suite(), list(range(args.seeds))
    jobs = [(n, d, s) for n in CANDIDATES for d in suite for s in seeds]
    scores = Parallel(n_jobs=args.jobs)(delayed(_score)(n, d, s, suite) for n, d, s in jobs)
    table: dict = {}
    for (n, d, _), v in zip(jobs, scores):
        table.setdefault(n, {}).setdefault(d, []).append(v)
    rows = [[n] + [f"{np.median(v):.3f} [{min(v):.3f}, {max(v):.3f}]" for v in table[n].values()] for n in table]
    save("classifier_recipes", "Classifier recipes: CV accuracy (spirals: holdout), median [min, max] over seeds",
         ["recipe", *suite], rows, {"seeds": seeds})


if __name__ == "__main__":
    main()
