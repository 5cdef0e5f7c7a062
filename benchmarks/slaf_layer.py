"""Training-step cost of SLAF layers against ReLU: the fused C kernels, the torch kernels, the reference path.

One forward + backward step (mean squared error, gradients zeroed in between) of a
64-256-256-1 :class:`sklearn_slaf.network.SLNN` on a float32 batch of 4096 on the CPU,
for SLAF of degree 4 and 8 in the ``power`` and ``chebyshev`` bases, each with the fused
C kernels of :mod:`sklearn_slaf._kernels._native` (the default on one thread, where they
compile), with the torch kernels of :mod:`sklearn_slaf._kernels` (the default otherwise)
and with the stacked reference path (``SLAF._forward_reference``, the pre-kernel
implementation), against the same network with ReLU. Times are medians over
``--repeat`` steps after warm-up, all taken in this one process with the
configurations interleaved round by round, so that drift of the machine hits them
alike. Memory is the number of bytes autograd saves for the backward pass (counted
with :func:`torch.autograd.graph.saved_tensors_hooks`; deterministic) and, unless
``--no-rss``, the peak resident set size of a fresh subprocess (Linux) during a few
steps of the configuration, over its resident size before them (the median of three
subprocesses: the heap grows by whole mappings, so one run can be 4 MiB off).

A second table times the same step through the autograd-free training engine, as ``fit``
runs it, with the same peak-memory measure (``results/slaf_layer_engine.md``).

Usage: ``python benchmarks/slaf_layer.py [--repeat 15] [--threads 1] [--no-rss]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import torch
from _common import save

from sklearn_slaf import _kernels
from sklearn_slaf._kernels import _native
from sklearn_slaf.network import SLNN
from sklearn_slaf.training._engine import Engine
from sklearn_slaf.training._losses import SquaredError

SEED = 0
BATCH = 4096
WIDTHS = (64, (256, 256), 1)
THREADS = 1  # set by --threads; the C kernels run on one thread, so with more the torch kernels run
MIB = 2**20


def configs() -> list[dict]:
    """ReLU first (the baseline), then every SLAF setting with both paths."""
    out = [{"activation": "relu", "basis": "-", "degree": "-", "path": "-"}]
    for family in ("power", "chebyshev"):
        for degree in (4, 8):
            # the C kernels take a batch only on one thread, and only where they compile
            native = ("native",) if THREADS == 1 and _native.available() else ()
            for path in (*native, "kernel", "reference"):
                out.append({"activation": "slaf", "basis": family, "degree": degree, "path": path})
    return out


def build(cfg: dict) -> tuple[SLNN, torch.Tensor, torch.Tensor, bool]:
    """The network of a configuration in training mode, a fixed batch, and whether the C kernels run."""
    gen = torch.Generator().manual_seed(SEED)
    n_in, hidden, n_out = WIDTHS
    if cfg["activation"] == "relu":
        net = SLNN(n_in, hidden, n_out, hidden_activation="relu", generator=gen)
    else:
        net = SLNN(n_in, hidden, n_out, degree=cfg["degree"], basis=cfg["basis"], generator=gen)
        if cfg["path"] == "reference":
            for layer in net.slaf_layers:
                layer.forward = layer._forward_reference  # instance attribute shadows the method
    x = torch.randn(BATCH, n_in, generator=gen)
    y = torch.randn(BATCH, n_out, generator=gen)
    return net.train(), x, y, cfg["path"] == "native"


def train_step(net: SLNN, x: torch.Tensor, y: torch.Tensor, native: bool = False) -> None:
    _native.enabled = native
    net.zero_grad(set_to_none=True)
    torch.nn.functional.mse_loss(net(x), y).backward()


def saved_bytes(net: SLNN, x: torch.Tensor, y: torch.Tensor, native: bool = False) -> int:
    """Bytes of the distinct storages autograd keeps for the backward pass of one step."""
    _native.enabled = native
    storages: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    net.zero_grad(set_to_none=True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = torch.nn.functional.mse_loss(net(x), y)
    loss.backward()
    # parameters are saved by reference, not copied: count activations only
    params = {p.untyped_storage().data_ptr() for p in net.parameters()}
    return sum(n for ptr, n in storages.items() if ptr not in params)


def _interleaved(step, cases: list[tuple], repeat: int, warmup: int = 3) -> list[list[float]]:
    """Seconds of every ``step(*case)``, the cases interleaved round by round (drift hits them alike)."""
    for case in cases:
        for _ in range(warmup):
            step(*case)
    times: list[list[float]] = [[] for _ in cases]
    for _ in range(repeat):
        for i, case in enumerate(cases):
            start = time.perf_counter()
            step(*case)
            times[i].append(time.perf_counter() - start)
    return times


def time_steps(cases: list[tuple[SLNN, torch.Tensor, torch.Tensor]], repeat: int) -> list[float]:
    """Median seconds per autograd step of every case."""
    return [statistics.median(t) for t in _interleaved(train_step, cases, repeat)]


def engine_step(engine: Engine, x: torch.Tensor, y: torch.Tensor, native: bool) -> None:
    """One step as ``fit`` runs it: the autograd-free engine, gradients written into ``.grad``."""
    _native.enabled = native
    engine.module.zero_grad(set_to_none=False)
    engine.loss_and_grad(x, y)


def engine_table(cfgs: list[dict], repeat: int, rss: bool = True) -> list[list]:
    """The same configurations (reference excluded) through the training engine, interleaved."""
    chosen = [c for c in cfgs if c["path"] != "reference"]
    cases = []
    for cfg in chosen:
        net, x, y, native = build(cfg)
        for p in net.parameters():
            p.grad = torch.zeros_like(p)
        cases.append((Engine(net, SquaredError(net)), x, y, native))
    times = _interleaved(engine_step, cases, repeat)
    med = [statistics.median(t) for t in times]
    # ratio to ReLU round by round: the spread says how much the machine moved
    ratios = [[a / b for a, b in zip(t, times[0])] for t in times]
    peaks = [peak_rss(c | {"engine": True}) if rss else None for c in chosen]
    return [[c["activation"], c["basis"], c["degree"], c["path"], 1e3 * m, statistics.median(r), min(r), max(r),
             "-" if p is None else p / MIB, "-" if p is None else p / peaks[0]]
            for c, m, r, p in zip(chosen, med, ratios, peaks)]


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def peak_rss_child(cfg: dict) -> None:
    """Subprocess entry: print the peak RSS over the resident size before the steps (bytes).

    The high-water mark is reset first (``/proc/self/clear_refs``), so that the
    transient peak of importing torch does not hide the steps' own.
    """
    torch.set_num_threads(THREADS)
    net, x, y, native = build(cfg)
    if cfg.get("engine"):  # the step as fit runs it, its gradients kept between steps as the solvers keep them
        for p in net.parameters():
            p.grad = torch.zeros_like(p)
        step, case = engine_step, (Engine(net, SquaredError(net)), x, y, native)
    else:
        step, case = train_step, (net, x, y, native)
    step(*case)  # one-off allocations (gradients, thread pools) belong to the baseline
    before = _status_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    for _ in range(5):
        step(*case)
    print(json.dumps({"peak_growth": (_status_kib("VmHWM") - before) * 1024}))


def peak_rss(cfg: dict, runs: int = 3) -> float:
    """Median over ``runs`` fresh subprocesses: the heap's growth moves by whole mappings between runs."""
    growth = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, __file__, "--child", json.dumps(cfg), "--threads", str(THREADS)],
            capture_output=True, text=True, check=True,
        ).stdout
        growth.append(json.loads(out.strip().splitlines()[-1])["peak_growth"])
    return statistics.median(growth)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-rss", action="store_true", help="skip the peak-RSS subprocesses")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    global THREADS
    THREADS = args.threads
    if args.child:
        peak_rss_child(json.loads(args.child))
        return
    torch.set_num_threads(THREADS)
    cfgs = configs()
    cases = [build(cfg) for cfg in cfgs]
    saved = [saved_bytes(*case) for case in cases]
    seconds = time_steps(cases, args.repeat)
    rss = [None] * len(cfgs) if args.no_rss else [peak_rss(cfg) for cfg in cfgs]
    relu_t, relu_saved, relu_rss = seconds[0], saved[0], rss[0]
    ref_time = {(c["basis"], c["degree"]): t for c, t in zip(cfgs, seconds) if c["path"] == "reference"}
    rows = []
    for cfg, t, s, m in zip(cfgs, seconds, saved, rss):
        ref = ref_time.get((cfg["basis"], cfg["degree"]))
        rows.append([
            cfg["activation"], cfg["basis"], cfg["degree"], cfg["path"],
            1e3 * t, t / relu_t, ref / t if cfg["path"] in ("native", "kernel") else "-",
            s / MIB, s / relu_saved,
            "-" if m is None else m / MIB, "-" if m is None else m / relu_rss,
        ])
    header = ["activation", "basis", "k", "path", "step ms", "time x ReLU", "speed-up over reference",
              "saved MiB", "saved x ReLU", "peak RSS growth MiB", "RSS x ReLU"]
    extra = {
        "network": "SLNN 64-256-256-1, float32, CPU, MSE loss, forward + backward",
        "batch": BATCH, "seed": SEED, "repeat": args.repeat, "set_num_threads": THREADS,
        "timing": "median per step, configurations interleaved, one process",
        "saved": "distinct storages autograd saves for backward (saved_tensors_hooks), parameters excluded",
        "peak RSS": ("VmHWM over VmRSS across 5 steps (after one warm-up step) in a fresh subprocess, median of 3 "
                     "subprocesses per configuration"),
    }
    # the kernels' recycled CPU scratch buffers stay allocated between steps: report them
    extra["kernel scratch cache MiB"] = round(_kernels.scratch_bytes() / MIB, 1)
    save("slaf_layer", "SLAF layer: training step against ReLU", header, rows, extra)
    save("slaf_layer_engine", "SLAF layer: the training engine's step (as fit runs it) against ReLU",
         ["activation", "basis", "k", "path", "step ms", "time x ReLU (median)", "min", "max",
          "peak RSS growth MiB", "RSS x ReLU"],
         engine_table(cfgs, args.repeat, not args.no_rss),
         {k: v for k, v in extra.items() if k in ("batch", "seed", "repeat", "peak RSS")}
         | {"network": "SLNN 64-256-256-1, float32, CPU, MSE loss, Engine.loss_and_grad",
            "timing": "median per step and ratio to the ReLU step of the same round, configurations interleaved"})


if __name__ == "__main__":
    main()
