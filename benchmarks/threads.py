"""``n_threads``: wall time of fits and predictions with 1 thread, with all cores, and with the default.

The default (``n_threads=None``) must never be slower than one thread: it takes one
thread below :data:`sklearn_slaf._threads.PARALLEL_WORK` elements per ``(rows, units)``
tensor and the process's share of the cores above. Each round runs every case once per
setting, in turns (each setting first in every third round), so that a drift in the
machine's load and the cost of following another case hit the settings alike; the
table gives median times over ``--repeat`` rounds and the median and range of the
per-round ratios against one thread.

Usage: ``python benchmarks/threads.py [--repeat 6]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings

import numpy as np
import torch
from _common import save
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning

from sklearn_slaf import ExtrapolationWarning, SLNNRegressor


def cases(cores: int):
    Xd, yd = load_diabetes(return_X_y=True)
    rng = np.random.default_rng(0)
    Xm = rng.normal(size=(20_000, 20))
    ym = Xm[:, 0] * Xm[:, 1] + Xm[:, 2]
    Xw = rng.normal(size=(32_768, 64)).astype(np.float32)
    yw = Xw[:, 0] * Xw[:, 1]
    fixed = dict(tol=0.0, early_stopping=False, random_state=0)

    def fit(X, y, **kw):
        def run(n):
            t0 = time.perf_counter()
            SLNNRegressor(n_threads=n, **fixed, **kw).fit(X, y)
            return time.perf_counter() - t0
        return run

    yield "fit diabetes, 100 epochs, batch auto (64), 128 units", fit(Xd, yd, max_iter=100)
    yield "fit 20,000 x 20, 3 epochs, batch 200, 128 units", fit(Xm, ym, max_iter=3)
    yield "fit 32,768 x 64, 3 epochs, batch 4096, 256-256 units", fit(
        Xw, yw, hidden_layer_sizes=(256, 256), batch_size=4096, max_iter=3)
    model = SLNNRegressor(max_iter=3, **fixed).fit(Xm, ym)
    one, many = Xm[:1], rng.normal(size=(200_000, 20))

    def predict(X, number):
        def run(n):
            model.set_params(n_threads=n)
            model.predict(X)  # untimed: the first call after a fit pays for cold caches
            t0 = time.perf_counter()
            for _ in range(number):
                model.predict(X)
            return time.perf_counter() - t0
        return run

    yield "predict 1 row (x100), 128 units", predict(one, 100)
    yield "predict 200,000 rows, 128 units", predict(many, 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=6)
    args = ap.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    warnings.simplefilter("ignore", ExtrapolationWarning)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    torch.set_num_threads(cores)  # the caller's setting the default takes its share of
    settings = {"1 thread": 1, f"{cores} threads": cores, "default": None}
    work = list(cases(cores))
    times = {(c, s): [] for c, _ in work for s in settings}
    order = list(settings.items())
    for r in range(args.repeat):
        for case, run in work:
            for label, n in order[r % 3:] + order[: r % 3]:  # each setting goes first in turn
                times[case, label].append(run(n))

    rows = []
    for case, _ in work:
        base = times[case, "1 thread"]
        row = [case] + [statistics.median(times[case, s]) for s in settings]
        for label in list(settings)[1:]:
            ratios = [a / b for a, b in zip(times[case, label], base)]
            row.append(f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})")
        rows.append(row)
    header = ["case"] + [f"{s} s" for s in settings] + [f"{s} / 1 thread" for s in list(settings)[1:]]
    save("threads", f"n_threads on {cores} cores: 1 thread, all cores and the default", header, rows,
         {"repeat": args.repeat, "load average at the end": os.getloadavg()})


if __name__ == "__main__":
    main()
