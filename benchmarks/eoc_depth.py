"""Deep narrow networks on the digits data: edge-of-chaos initialisation against the phases.

Networks of depth 40 and width 128 with tanh, and with SLAF layers initialised to tanh
(power basis, degree 4), are trained for a fixed budget from five initialisations:

* ``eoc``           :func:`sklearn_slaf.eoc.edge_of_chaos_init` at ``sigma_b = 0.2``
                    (tanh: ``sigma_w = 1.304``; SLAF: the EOC point of its fitted polynomial);
* ``eoc_q1``        ``edge_of_chaos_init`` default, the EOC point with ``q* = 1``;
* ``ordered``       ``sigma_w = 1.0``, ``sigma_b = 0.2`` (``chi_1 < 1``: correlations -> 1 in a few layers);
* ``chaotic``       ``sigma_w = 2.5``, ``sigma_b = 0.2`` (``chi_1 > 1``: correlations -> c* < 1);
* ``torch_default`` ``nn.Linear``'s own uniform scheme (``sigma_w^2 = 1/3``: deep in the ordered phase).

Training: SGD with momentum 0.9, learning rate 0.01, gradient norm clipped at 1 (without
it the deep SLAF nets overflow within a few epochs whatever the initialisation), batch
64, cross-entropy, on
75% of the digits (pixels / 16, so every row has mean square <= 1); 3 seeds. The training
loss is the mean minibatch loss of the last epoch (training mode: SLAF layers normalise
with batch statistics; ``nan`` if a step overflowed); test accuracy is measured in
evaluation mode (running statistics), test rows whose output overflows count as errors
and their fraction is reported. Prints a table and writes
``results/eoc_depth.{md,json,png}``.

Run: ``python benchmarks/eoc_depth.py [--epochs 8] [--depth 40]``.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np
import torch
from _common import RESULTS, save
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from sklearn_slaf.eoc import edge_of_chaos_init
from sklearn_slaf.network import SLNN

INITS = ("eoc", "eoc_q1", "ordered", "chaotic", "torch_default")
PHASES = {"ordered": (1.0, 0.2), "chaotic": (2.5, 0.2)}


def make_net(kind: str, init: str, depth: int, width: int, seed: int):
    gen = torch.Generator().manual_seed(seed)
    act = {"hidden_activation": "tanh"} if kind == "tanh" else {
        "hidden_activation": "slaf", "activation_init": "tanh", "degree": 4, "basis": "power", "init_std": 0.0}
    net = SLNN(64, (width,) * depth, 10, weight_init="default", generator=gen, **act)
    point = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the default point's fallbacks, if any, are reported in the table
        if init == "eoc":
            point = edge_of_chaos_init(net, gen, sigma_b=0.2)[0]
        elif init == "eoc_q1":
            point = edge_of_chaos_init(net, gen)[0]
    if init in PHASES:
        sw, sb = PHASES[init]
        with torch.no_grad():
            for lin in net.linear_layers:
                w = torch.empty(lin.weight.shape).normal_(0, sw / math.sqrt(lin.in_features), generator=gen)
                b = torch.empty(lin.bias.shape).normal_(0, sb, generator=gen)
                lin.weight.copy_(w)
                lin.bias.copy_(b)
    if point is not None:
        return net, point.sigma_w, point.sigma_b
    if init in PHASES:
        return net, *PHASES[init]
    return net, 1 / math.sqrt(3), 1 / math.sqrt(3 * width)


def train(net, Xtr, ytr, Xte, yte, epochs: int, seed: int, opt_name: str = "sgd", clip: float = 0.0):
    """SGD; returns the per-epoch mean minibatch loss (training mode), test accuracy (eval mode)
    and the fraction of test rows whose eval-mode output is not finite (counted as errors)."""
    gen = torch.Generator().manual_seed(seed)
    if opt_name == "adam":
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    else:
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    curve = []
    for _ in range(epochs):
        net.train()
        perm = torch.randperm(len(Xtr), generator=gen)
        batch_losses = []
        for i in range(0, len(Xtr), 64):
            idx = perm[i:i + 64]
            if len(idx) < 2:
                continue
            opt.zero_grad()
            loss = loss_fn(net(Xtr[idx]), ytr[idx])
            if torch.isfinite(loss):  # a non-finite step is skipped, and shows as nan below
                loss.backward()
                if clip > 0:
                    nn.utils.clip_grad_norm_(net.parameters(), clip)
                opt.step()
            batch_losses.append(float(loss.detach()))
        finite = [v for v in batch_losses if math.isfinite(v)]
        curve.append(float(np.mean(finite)) if len(finite) == len(batch_losses) else math.nan)
    net.eval()
    with torch.no_grad():
        out = net(Xte)
    ok = torch.isfinite(out).all(1)
    acc = float(((out.argmax(1) == yte) & ok).float().mean())
    return curve, acc, float(1 - ok.float().mean())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--depth", type=int, default=40)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--opt", choices=["sgd", "adam"], default="sgd")
    ap.add_argument("--clip", type=float, default=1.0, help="gradient-norm clipping (0: none)")
    ap.add_argument("--kinds", nargs="+", default=["tanh", "slaf_tanh"])
    args = ap.parse_args()
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    # pixel intensities / 16: every row has mean square <= 1, so the first layer's variance
    # q^1 <= q* and stays inside the (finite) basin of the SLAF polynomials; z-scoring would
    # give some test rows a mean square above 100 (pixels almost constant in training)
    t = lambda a: torch.tensor(a / 16.0, dtype=torch.float32)
    Xtr, Xte = t(Xtr), t(Xte)
    ytr, yte = torch.tensor(ytr), torch.tensor(yte)
    rows, curves = [], {}
    start = time.time()
    for kind in args.kinds:
        for init in INITS:
            losses, accs, secs, bad = [], [], [], []
            for seed in range(args.seeds):
                t0 = time.time()
                net, sw, sb = make_net(kind, init, args.depth, args.width, seed)
                curve, acc, nonfinite = train(net, Xtr, ytr, Xte, yte, args.epochs, seed, args.opt, args.clip)
                bad.append(nonfinite)
                secs.append(time.time() - t0)
                losses.append(curve)
                accs.append(acc)
            curves[(kind, init)] = np.array(losses)
            final = np.array([c[-1] for c in losses])
            rows.append([kind, init, round(sw, 4), round(sb, 4), float(np.mean(final)), float(np.std(final)),
                         float(np.mean(accs)), float(np.std(accs)), float(np.mean(bad)), float(np.mean(secs))])
            print(rows[-1], flush=True)
    header = ["network", "init", "sigma_w", "sigma_b", "train loss (last epoch)", "(std)", "test acc", "(std)",
              "test rows non-finite", "s/run"]
    save("eoc_depth", f"Depth {args.depth}, width {args.width} on digits: {args.epochs} epochs of SGD, "
         f"{args.seeds} seeds (chance: loss 2.303, accuracy 0.10)", header, rows,
         {"depth": args.depth, "width": args.width, "epochs": args.epochs, "seeds": list(range(args.seeds)),
          "optimizer": (f"{args.opt} " + ("lr=1e-3" if args.opt == "adam" else "lr=0.01 momentum=0.9")
                        + f" batch=64 clip_grad_norm={args.clip or 'none'}"),
          "total_seconds": round(time.time() - start, 1)})
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no plot")
        return
    fig, axes = plt.subplots(1, len(args.kinds), figsize=(5.5 * len(args.kinds), 4), sharey=True, squeeze=False)
    for ax, kind in zip(axes[0], args.kinds):
        for i, init in enumerate(INITS):
            c = curves[(kind, init)]
            ep = np.arange(1, c.shape[1] + 1)
            ax.plot(ep, c.mean(0), color=f"C{i}", label=init)
            ax.fill_between(ep, c.min(0), c.max(0), color=f"C{i}", alpha=0.2)
        ax.axhline(math.log(10), color="k", ls=":", lw=0.8)
        ax.set(title=f"{kind}, depth {args.depth}, width {args.width}", xlabel="epoch",
               ylabel="mean minibatch training loss")
        ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "eoc_depth.png", dpi=110)


if __name__ == "__main__":
    main()
