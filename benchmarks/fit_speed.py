"""Fit wall time of SLNNRegressor against MLPRegressor and skorch at equal epochs and batch size.

Every model trains the same architecture for the same number of epochs with Adam
(lr 1e-3) and the same batch size; the peers use ReLU, SLNNRegressor runs once with SLAF
(its purpose) and once with ReLU (the engine alone). Early stopping and tolerance-based
stopping are switched off so that the epoch counts match. Times are wall seconds of
``fit`` measured in this one process; the models take turns (round ``r`` fits every
model once) so that a drift in the machine's speed hits them alike. The table gives the
median time of ``--repeat`` rounds and the median of the per-round ratios against
``MLPRegressor``, and their range.

A second table repeats the synthetic case at batch sizes 200, 1000 and 5000: at small
batches a step's fixed per-operation costs dominate, at large ones the arithmetic.

Usage: ``python benchmarks/fit_speed.py [--repeat 3] [--quick] [--device cuda]``
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import torch
from _common import save
from sklearn.datasets import load_diabetes, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_slaf import SLNNRegressor


def skorch_model(n_features: int, hidden: tuple[int, ...], epochs: int, batch: int, device: str = "cpu"):
    from skorch import NeuralNetRegressor

    layers, width = [], n_features
    for h in hidden:
        layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
        width = h
    layers.append(torch.nn.Linear(width, 1))
    net = NeuralNetRegressor(torch.nn.Sequential(*layers), max_epochs=epochs, batch_size=batch, lr=1e-3,
                             optimizer=torch.optim.Adam, train_split=None, verbose=0, iterator_train__shuffle=True,
                             device=device)
    # skorch needs float32 arrays and a 2-D target: the scaler/reshape is part of its cost
    return make_pipeline(StandardScaler(), net), lambda y: y.astype(np.float32).reshape(-1, 1)


def candidates(n_features: int, hidden, epochs: int, batch: int, degree: int, device: str = "cpu"):
    common = dict(hidden_layer_sizes=hidden, max_iter=epochs, batch_size=batch, tol=0.0, early_stopping=False,
                  n_iter_no_change=epochs + 1, random_state=0)
    yield f"SLNNRegressor (SLAF, degree {degree})", SLNNRegressor(degree=degree, device=device, **common), None
    yield "SLNNRegressor (ReLU)", SLNNRegressor(hidden_activation="relu", device=device, **common), None
    yield "MLPRegressor (ReLU)", make_pipeline(StandardScaler(), MLPRegressor(
        learning_rate_init=1e-3, alpha=1e-4, shuffle=True, **common)), None
    try:
        model, prep = skorch_model(n_features, hidden, epochs, batch, device)
        yield "skorch NeuralNetRegressor (ReLU)", model, prep
    except ImportError:
        print("skorch is not installed: skipping it (pip install skorch)")


def time_rounds(models, X, y, repeat: int) -> list[tuple[str, list[float], float]]:
    """Fit every model once per round, ``repeat`` rounds; per model its times and final train score."""
    times = {name: [] for name, _, _ in models}
    for _ in range(repeat):
        for name, model, prep in models:
            XX, yy = (X, y) if prep is None else (X.astype(np.float32), prep(y))
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(XX, yy)
            times[name].append(time.perf_counter() - t)
    out = []
    for name, model, prep in models:
        XX, yy = (X, y) if prep is None else (X.astype(np.float32), prep(y))
        out.append((name, times[name], float(model.score(XX, yy))))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="smaller synthetic set, for a smoke run")
    parser.add_argument("--device", default="cpu", help="device of the torch models (MLPRegressor stays on the CPU)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    Xd, yd = load_diabetes(return_X_y=True)
    n_big = 20_000 if args.quick else 100_000
    Xs, ys = make_regression(n_samples=n_big, n_features=20, noise=10.0, random_state=0)
    datasets = [("diabetes (442 x 10)", Xd, yd, 200), (f"synthetic ({n_big} x 20)", Xs, ys, 5)]
    hidden, degree = (64, 64), 3
    runs = [(dname, X, y, epochs, 200) for dname, X, y, epochs in datasets]
    rows = measure(runs, hidden, degree, args.repeat, args.device)
    suffix = "" if args.device == "cpu" else "_" + args.device.replace(":", "")  # keep the CPU tables
    save("fit_speed" + suffix, "Fit wall time at equal epochs (architecture 64-64, batch 200, Adam lr 1e-3)",
         ["data", "epochs", "model", "fit s (median)", "ratio vs MLPRegressor (median)", "ratio range", "train R^2"],
         [r[:2] + r[3:] for r in rows], {"repeat": args.repeat, "seed": 0, "device": args.device})
    # per-step fixed costs dominate at batch 200; larger batches show the arithmetic alone
    sweep = [(f"synthetic ({n_big} x 20)", Xs, ys, 3, b) for b in (200, 1000, 5000)]
    save("fit_speed_batch" + suffix, "Fit wall time against batch size (synthetic data, 3 epochs, 64-64, Adam lr 1e-3)",
         ["data", "epochs", "batch", "model", "fit s (median)", "ratio vs MLPRegressor (median)", "ratio range",
          "train R^2"],
         measure(sweep, hidden, degree, args.repeat, args.device), {"repeat": args.repeat, "seed": 0,
                                                                    "device": args.device})


def measure(runs, hidden, degree: int, repeat: int, device: str = "cpu") -> list[list]:
    """One table row per model and run ``(name, X, y, epochs, batch)``."""
    rows = []
    for dname, X, y, epochs, batch in runs:
        models = list(candidates(X.shape[1], hidden, epochs, batch, degree, device))
        results = time_rounds(models, X, y, repeat)
        base = next(t for n, t, _ in results if n.startswith("MLPRegressor"))
        for name, t, r2 in results:
            ratios = [a / b for a, b in zip(t, base)]
            rows.append([dname, epochs, batch, name, round(statistics.median(t), 3),
                         round(statistics.median(ratios), 3), f"{min(ratios):.2f}-{max(ratios):.2f}", round(r2, 4)])
    return rows

if __name__ == "__main__":
    main()
