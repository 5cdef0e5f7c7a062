"""Peak memory of fit and predict on data much larger than a batch.

Each stage runs in a fresh subprocess that first builds ``X`` (float32, ``--rows`` x 50)
and ``y``, then resets the kernel's peak-RSS counter (``/proc/self/clear_refs``) and
runs the stage; the table reports the peak resident-set growth over the resident size
with the data in memory, in MiB and as multiples of ``X`` and of one batch of inputs.

* ``fit``: ``SLNNRegressor((64, 64), degree=3, max_iter=1, batch_size=2000)`` on all rows;
* ``predict``: a model fitted on 20,000 rows predicts all rows.

Usage: ``python benchmarks/large_data.py [--rows 2000000]`` (Linux only).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import warnings

import numpy as np
from _common import save

N_FEATURES = 50
BATCH = 2000
MIB = 2**20


def _rss(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _child(stage: str, rows: int) -> dict:
    import torch

    from sklearn_slaf import SLNNRegressor

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((rows, N_FEATURES), dtype=np.float32)
    y = (X[:, 0] * X[:, 1] - X[:, 2]).astype(np.float32)
    model = None
    if stage == "predict":
        model = SLNNRegressor((64, 64), degree=3, max_iter=5, random_state=0, device="cpu").fit(X[:20000], y[:20000])
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak (VmHWM) to the current resident size
    before = _rss("VmRSS")
    t0 = time.perf_counter()
    if stage == "fit":
        SLNNRegressor((64, 64), degree=3, max_iter=1, batch_size=BATCH, random_state=0, device="cpu").fit(X, y)
    else:
        out = model.predict(X)
        assert out.shape == (rows,)
    seconds = time.perf_counter() - t0
    return {"growth": _rss("VmHWM") - before, "seconds": seconds, "x_bytes": X.nbytes}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.rows)))
        return
    rows = []
    for stage in ("fit", "predict"):
        res = subprocess.run([sys.executable, __file__, "--child", stage, "--rows", str(args.rows)],
                             capture_output=True, text=True, check=True)
        r = json.loads(res.stdout.strip().splitlines()[-1])
        batch_bytes = BATCH * N_FEATURES * 4
        rows.append([stage, args.rows, round(r["x_bytes"] / MIB, 1), round(r["growth"] / MIB, 1),
                     round(r["growth"] / r["x_bytes"], 3), round(r["growth"] / batch_bytes, 1),
                     round(r["seconds"], 2)])
    header = ["stage", "rows", "X MiB (float32)", "peak RSS growth MiB", "growth / X", "growth / batch", "seconds"]
    save("large_data", "Peak memory of fit and predict against the input size", header, rows,
         {"features": N_FEATURES, "batch": BATCH, "network": "SLNNRegressor (64, 64), degree 3, 1 thread",
          "peak": "VmHWM - VmRSS after /proc/self/clear_refs, in a fresh subprocess per stage"})


if __name__ == "__main__":
    main()
