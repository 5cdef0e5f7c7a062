"""Data-parallel training over torch.distributed: wall time of a fit on 2 processes (gloo) against 1 process.

The same ``SLNNRegressor`` (64-64 units, SLAF degree 3, float32) trains on 40,000 x 20 rows
for 3 epochs at batch 2,000, once in this process and once with ``distributed=True`` on
2 processes of 1 thread each (``torch.multiprocessing``, gloo over loopback). Each process
times its own ``fit`` (process start-up and the process group's set-up excluded); the
table gives the median over ``--repeat`` runs, the per-step time, and the ratio.

Usage: ``python benchmarks/data_parallel.py [--repeat 3]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from _common import save

from sklearn_slaf import SLNNRegressor

ROWS, EPOCHS, BATCH = 40_000, 3, 2000


def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(ROWS, 20)).astype(np.float32)
    return X, X[:, 0] * X[:, 1] + np.sin(X[:, 2])


def model(**kw):
    return SLNNRegressor((64, 64), batch_size=BATCH, max_iter=EPOCHS, tol=0.0, early_stopping=False,
                         random_state=0, device="cpu", n_threads=1, **kw)


def fit_seconds(**kw) -> float:
    X, y = data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        model(**kw).fit(X, y)
        return time.perf_counter() - t0


def worker(rank: int, world: int, init: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init}", rank=rank, world_size=world)
    torch.set_num_threads(1)
    seconds = fit_seconds(distributed=True)
    with open(f"{out}.{rank}", "w") as f:
        f.write(str(seconds))
    dist.destroy_process_group()


def distributed_seconds() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        init, out = os.path.join(tmp, "init"), os.path.join(tmp, "out")
        procs = [mp.get_context("spawn").Process(target=worker, args=(r, 2, init, out)) for r in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        return max(float(open(f"{out}.{r}").read()) for r in range(2))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    one, two = [], []
    for _ in range(args.repeat):
        one.append(fit_seconds())
        two.append(distributed_seconds())
    steps = EPOCHS * -(-ROWS // BATCH)
    ratios = [b / a for a, b in zip(one, two)]
    rows = [["1 process", statistics.median(one), statistics.median(one) / steps * 1e3, "1"],
            ["2 processes (gloo)", statistics.median(two), statistics.median(two) / steps * 1e3,
             f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"]]
    title = f"Data-parallel fit: {ROWS:,} x 20 rows, {EPOCHS} epochs, batch {BATCH}, 64-64, SLAF degree 3"
    save("data_parallel", title,
         ["run", "fit s (median)", "ms per step", "ratio to 1 process"], rows,
         {"repeat": args.repeat, "cores": os.cpu_count(), "threads per process": 1})


if __name__ == "__main__":
    main()
