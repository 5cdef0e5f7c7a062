"""Classification: the authors' two spirals, and scikit-learn's digits, breast cancer and wine.

**Two spirals**, the authors' generator: ``t = sqrt(U0) * 780 * 2 pi / 360``; class 0 is
``(-cos(2t) t + 0.1 U1, sin(2t) t + 0.1 U2)`` with independent uniform draws, class 1 its
negation (own draws); 2 x 20,000 points, a stratified 75/25 split per seed. An SLNN
2-20-20-1 with SLAF of degree 7 against a ReLU+BN 2-40-40-1 network (both
``SLNNClassifier``, on standardised inputs, at the defaults otherwise) and a scaled
``MLPClassifier()``; train and test accuracy over seeds, and the decision regions of seed 0
(``results/classification_spirals.png``).

**Digits, breast cancer, wine**: ``SLNNClassifier`` in a few configurations (power basis,
the default; Chebyshev; one coefficient vector per unit; a SLAF + ReLU hybrid) against
``MLPClassifier()``, ``LogisticRegression`` and ``HistGradientBoostingClassifier``, all
scaled where their documentation says so: mean 5-fold stratified CV accuracy
(``StratifiedKFold(shuffle=True, random_state=0)``) and the parameter count of the
networks.

Usage: ``python benchmarks/classification.py [--seeds 3] [--quick]``
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
from _common import RESULTS, save
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_slaf import SLNNClassifier


def authors_spirals(n_per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(seed)

    def arm():
        t = np.sqrt(rng.uniform(size=n_per_class)) * 780 * 2 * np.pi / 360
        return np.column_stack([-np.cos(2 * t) * t + 0.1 * rng.uniform(size=n_per_class),
                                np.sin(2 * t) * t + 0.1 * rng.uniform(size=n_per_class)])

    X = np.vstack([arm(), -arm()])
    return X, np.repeat([0, 1], n_per_class)


def spiral_models(seed: int, max_iter: int) -> dict:
    scaled = lambda m: make_pipeline(StandardScaler(), m)
    return {
        "SLNN 2-20-20-1, SLAF degree 7": scaled(SLNNClassifier((20, 20), degree=7, max_iter=max_iter,
                                                               random_state=seed)),
        "ReLU+BN 2-40-40-1": scaled(SLNNClassifier((40, 40), hidden_activation="relu+bn", max_iter=max_iter,
                                                   random_state=seed)),
        "MLPClassifier()": scaled(MLPClassifier(max_iter=max_iter, random_state=seed)),
    }


def n_params(model) -> int | str:
    net = model[-1] if hasattr(model, "steps") else model
    if hasattr(net, "module_"):
        return sum(p.numel() for p in net.module_.parameters())
    if hasattr(net, "coefs_"):
        return int(sum(w.size for w in net.coefs_) + sum(b.size for b in net.intercepts_))
    return "-"


def table_models(max_iter: int) -> dict:
    scaled = lambda m: make_pipeline(StandardScaler(), m)
    kw = {"max_iter": max_iter, "random_state": 0}
    return {
        "SLNNClassifier() (power)": scaled(SLNNClassifier(**kw)),
        "SLNNClassifier(basis='chebyshev')": scaled(SLNNClassifier(basis="chebyshev", **kw)),
        "SLNNClassifier(coef_sharing='unit')": scaled(SLNNClassifier(coef_sharing="unit", **kw)),
        "SLNNClassifier((128, 64), SLAF + ReLU)": scaled(SLNNClassifier((128, 64), hidden_activation=("slaf", "relu"),
                                                                        **kw)),
        "MLPClassifier()": scaled(MLPClassifier(**{**kw, "max_iter": max(max_iter, 200)})),
        "LogisticRegression": scaled(LogisticRegression(max_iter=2000)),
        "HistGradientBoostingClassifier()": HistGradientBoostingClassifier(random_state=0),
    }


def plot_regions(models: dict, X, y, out: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    lim = np.abs(X).max() * 1.05
    g = np.linspace(-lim, lim, 250)
    gx, gy = np.meshgrid(g, g)
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    fig, axes = plt.subplots(1, len(models), figsize=(4.2 * len(models), 4.2))
    for ax, (name, m) in zip(axes, models.items()):
        ax.contourf(gx, gy, m.predict(grid).reshape(gx.shape), levels=[-0.5, 0.5, 1.5], colors=["#c6dbef", "#fdd0a2"])
        sub = np.random.RandomState(0).choice(len(X), min(1500, len(X)), replace=False)
        ax.scatter(X[sub, 0], X[sub, 1], c=np.where(y[sub] == 0, "#08519c", "#a63603"), s=2)
        ax.set(title=name, xticks=[], yticks=[], aspect="equal")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"figure: {out}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    warnings.simplefilter("ignore", UserWarning)
    tag = "_quick" if args.quick else ""
    n, seeds, max_iter = (300, [0], 5) if args.quick else (20_000, list(range(args.seeds)), 300)

    runs: dict[str, list] = {}
    fitted0 = {}
    for seed in seeds:
        X, y = authors_spirals(n, seed)
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
        for name, model in spiral_models(seed, max_iter).items():
            t0 = time.perf_counter()
            model.fit(Xtr, ytr)
            runs.setdefault(name, []).append((model.score(Xtr, ytr), model.score(Xte, yte),
                                               time.perf_counter() - t0, n_params(model)))
            if seed == seeds[0]:
                fitted0[name] = model
    fmt = lambda v: f"{statistics.mean(v):.3f} [{min(v):.3f}, {max(v):.3f}]"
    rows = [[name, r[0][3], fmt([a for a, *_ in r]), fmt([b for _, b, *_ in r]),
             round(statistics.median([c for *_, c, _ in r]), 1)] for name, r in runs.items()]
    save("classification_spirals" + tag, f"The authors' two spirals (2 x {n:,} points, 75/25 split), seeds {seeds}",
         ["model", "parameters", "train accuracy: mean [min, max]", "test accuracy: mean [min, max]", "fit s"], rows)
    X0, y0 = authors_spirals(n, seeds[0])
    plot_regions(fitted0, X0, y0, Path(RESULTS) / f"classification_spirals{tag}.png")

    datasets = {"digits": load_digits(return_X_y=True), "breast cancer": load_breast_cancer(return_X_y=True),
                "wine": load_wine(return_X_y=True)}
    if args.quick:
        datasets = {k: (X[::4], y[::4]) for k, (X, y) in datasets.items() if k != "digits"}
    folds = StratifiedKFold(2 if args.quick else 5, shuffle=True, random_state=0)
    rows = []
    for name, model in table_models(max_iter=5 if args.quick else 1000).items():
        row = [name]
        for X, y in datasets.values():
            row.append(f"{cross_val_score(model, X, y, cv=folds, n_jobs=2).mean():.3f}")
        model.fit(*next(iter(datasets.values())))
        row.append(n_params(model))
        rows.append(row)
    save("classification" + tag, "Classification: mean stratified 5-fold CV accuracy",
         ["model", *datasets, f"parameters (on {next(iter(datasets))})"], rows)


if __name__ == "__main__":
    main()
