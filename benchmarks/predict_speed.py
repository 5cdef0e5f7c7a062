"""Prediction wall time of SLNNRegressor against MLPRegressor: one row, 1,000 rows, 1,000,000 rows.

Both models have one hidden layer of 128 units on 20 inputs (SLNN: SLAF of degree 3,
the default) and are fitted briefly on the same data; only ``predict`` is timed. Each
round times every model once per size, in turns, so that a drift in the machine's speed
hits them alike; a time is the best of ``--number`` calls for one row and 1,000 rows
and a single call for a million. The table gives the median time over ``--repeat``
rounds, and the median, minimum and maximum of the per-round ratios SLNN / MLP.

``--threads`` sets torch's threads for the whole script (``n_threads=None`` then picks
per call); MLPRegressor's NumPy/BLAS threads are left as they are.

Usage: ``python benchmarks/predict_speed.py [--repeat 5] [--number 200] [--threads 1]``
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import torch
from _common import save
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor

from sklearn_slaf import ExtrapolationWarning, SLNNRegressor


def best_of(fn, X, number: int) -> float:
    best = float("inf")
    for _ in range(number):
        t0 = time.perf_counter()
        fn(X)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--number", type=int, default=200)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore", ConvergenceWarning)
    warnings.simplefilter("ignore", ExtrapolationWarning)  # a million normal rows reach past the training range

    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 20))
    y = X[:, 0] * X[:, 1] + np.sin(X[:, 2])
    models = {
        "SLNNRegressor": SLNNRegressor(max_iter=5, random_state=0).fit(X, y),
        "MLPRegressor": MLPRegressor(hidden_layer_sizes=(128,), max_iter=5, random_state=0).fit(X, y),
    }
    sizes = {"1 row": (X[:1], args.number), "1,000 rows": (X[:1000], max(5, args.number // 10)),
             "1,000,000 rows": (rng.normal(size=(1_000_000, 20)), 1)}
    times = {(s, m): [] for s in sizes for m in models}
    for _ in range(args.repeat):
        for size, (data, number) in sizes.items():
            for name, model in models.items():
                times[size, name].append(best_of(model.predict, data, number))

    rows = []
    for size in sizes:
        ratios = [a / b for a, b in zip(times[size, "SLNNRegressor"], times[size, "MLPRegressor"])]
        rows.append([size, statistics.median(times[size, "SLNNRegressor"]) * 1e3,
                     statistics.median(times[size, "MLPRegressor"]) * 1e3,
                     round(statistics.median(ratios), 2), f"{min(ratios):.2f}-{max(ratios):.2f}"])
    save("predict_speed", "predict: SLNNRegressor against MLPRegressor (128 hidden units, 20 inputs)",
         ["rows", "SLNN ms", "MLP ms", "ratio SLNN/MLP (median)", "ratio range"], rows,
         {"repeat": args.repeat, "number": args.number, "threads set": args.threads})


if __name__ == "__main__":
    main()
