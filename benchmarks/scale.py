"""Scale-out: a 48-fit search serially, on loky with 2 jobs, and on a 2-worker dask cluster; Incremental's throughput.

The search is ``GridSearchCV`` over 16 candidates x 3 folds (48 fits) of ``SLNNRegressor``
(32 units, 60 epochs) on 1,200 x 8 rows. Each round runs the three engines in turns;
the table gives median wall times over ``--repeat`` rounds and the ratio to the serial
search. The dask cluster (``LocalCluster``, 2 worker processes, 1 thread each, loopback)
is started once, outside the timings; so is loky's pool (one warm-up search).

The second table trains ``SLNNClassifier`` on 20,000 x 20 rows, once in memory for a
fixed number of epochs and once with ``dask_ml.wrappers.Incremental`` over a chunked
``dask.array`` (chunks of 2,000 rows) for the same number of passes; it gives rows per
second of each and the test accuracy.

Needs the ``dask`` extra (``pip install -e ".[dask]"``).

Usage: ``python benchmarks/scale.py [--repeat 3]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings

import joblib
from _common import save
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from sklearn_slaf import SLNNClassifier, SLNNRegressor

GRID = {"degree": [2, 3], "alpha": [0.3, 1.0, 3.0, 10.0], "learning_rate_init": [1e-3, 3e-3]}


def search(n_jobs: int | None, backend: str | None, X, y) -> float:
    est = SLNNRegressor((32,), max_iter=60, early_stopping=False, random_state=0, device="cpu")
    t0 = time.perf_counter()
    if backend is None:
        GridSearchCV(est, GRID, cv=3, n_jobs=n_jobs).fit(X, y)
    else:
        with joblib.parallel_backend(backend):
            GridSearchCV(est, GRID, cv=3, n_jobs=n_jobs).fit(X, y)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    import dask.array as da
    from dask_ml.wrappers import Incremental
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None)
    client = Client(cluster)
    X, y = make_regression(n_samples=1200, n_features=8, noise=5.0, random_state=0)
    engines = {"serial": (None, None), "loky, n_jobs=2": (2, "loky"), "dask, 2 workers": (-1, "dask")}
    search(2, "loky", X, y)  # start loky's workers outside the timings
    times = {e: [] for e in engines}
    for _ in range(args.repeat):
        for name, (n_jobs, backend) in engines.items():
            times[name].append(search(n_jobs, backend, X, y))
    rows = []
    for name in engines:
        ratios = [a / b for a, b in zip(times[name], times["serial"])]
        rows.append([name, statistics.median(times[name]), f"{statistics.median(ratios):.2f}",
                     f"{min(ratios):.2f}-{max(ratios):.2f}"])
    save("scale_search", "48-fit GridSearchCV: serial, loky and dask (2 workers)",
         ["engine", "wall s (median)", "ratio to serial", "range"], rows,
         {"repeat": args.repeat, "cores": os.cpu_count(), "candidates": 16, "folds": 3})

    Xc, yc = make_classification(n_samples=25_000, n_features=20, n_informative=10, random_state=0)
    Xtr, ytr, Xte, yte = Xc[:20_000], yc[:20_000], Xc[20_000:], yc[20_000:]
    passes = 10
    t0 = time.perf_counter()
    mem = SLNNClassifier(max_iter=passes, early_stopping=False, tol=0.0, random_state=0, device="cpu").fit(Xtr, ytr)
    t_mem = time.perf_counter() - t0
    dX, dy = da.from_array(Xtr, chunks=2000), da.from_array(ytr, chunks=2000)
    inc = Incremental(SLNNClassifier(random_state=0, device="cpu"), random_state=0)
    t0 = time.perf_counter()
    for _ in range(passes):
        inc.partial_fit(dX, dy, classes=[0, 1])
    t_inc = time.perf_counter() - t0
    rows = [["in memory (fit)", passes, len(Xtr) * passes / t_mem, mem.score(Xte, yte)],
            ["Incremental on the cluster", passes, len(Xtr) * passes / t_inc, inc.score(Xte, yte)]]
    save("scale_incremental", "Incremental over a chunked dask.array against an in-memory fit",
         ["how", "passes", "rows per second", "test accuracy"], rows,
         {"rows": len(Xtr), "chunk": 2000, "features": 20})
    client.close()
    cluster.close()


if __name__ == "__main__":
    main()
