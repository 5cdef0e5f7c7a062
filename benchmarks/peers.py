"""Learnable-activation peers at equal parameter counts: SLAF against a Chebyshev-KAN, a Pade activation, GELU.

No KAN or rational-activation package is a dependency here (pykan, efficient-kan and
rational_activations each pull their own stack), so each peer is implemented minimally in
this script from its paper's definition:

* **Chebyshev-KAN** (the ChebyKAN form of Kolmogorov-Arnold networks, Liu et al. 2024):
  each edge ``i -> o`` carries ``sum_d C[i, o, d] T_d(tanh(x_i))``, degree 7 on the spirals
  and 3 on digits, ``C`` drawn from ``N(0, 1 / (n_in (K + 1)))``;
* **Pade activation unit** (Molina et al., ICLR 2020, the "safe" form): ``P(x) / (1 +
  |b_1 x + ... + b_4 x^4|)`` with ``P`` of degree 5, one coefficient set per layer,
  initialised by least squares to leaky ReLU on [-3, 3];
* a plain **MLP with GELU**.

The SLAF network is ``SLNNClassifier``, at its defaults otherwise (which include a decoupled
weight decay, ``alpha="auto"``, that the peers do not have) and once with ``alpha=0``. Every model trains for the
same epochs with Adam at 3e-3, batch 200, on standardised inputs, cross-entropy loss; the
widths are chosen so that the parameter counts match within a few percent. Tasks: the
authors' two spirals (2 x 5,000 points, 75/25 split) and digits (75/25 split); seeds 0-2;
test accuracy and fit time.

Usage: ``python benchmarks/peers.py [--quick]``
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import torch
from _common import save
from classification import authors_spirals
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn

from sklearn_slaf import SLNNClassifier


class ChebyKAN(nn.Module):
    def __init__(self, n_in: int, n_out: int, degree: int, gen: torch.Generator) -> None:
        super().__init__()
        self.degree = degree
        self.coef = nn.Parameter(torch.randn(n_in, n_out, degree + 1, generator=gen) / np.sqrt(n_in * (degree + 1)))

    def forward(self, x):
        z = torch.tanh(x)
        T = [torch.ones_like(z), z]
        for _ in range(2, self.degree + 1):
            T.append(2 * z * T[-1] - T[-2])
        return torch.einsum("nid,iod->no", torch.stack(T[: self.degree + 1], -1), self.coef)


class Pade(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        x = np.linspace(-3, 3, 400)
        f = np.where(x > 0, x, 0.01 * x)
        # linearised least squares for P(x) - f(x) (b_1 x + ... + b_4 x^4) = f(x)
        A = np.column_stack([x**j for j in range(6)] + [-f * x**j for j in range(1, 5)])
        sol = np.linalg.lstsq(A, f, rcond=None)[0]
        self.p = nn.Parameter(torch.tensor(sol[:6], dtype=torch.float32))
        self.q = nn.Parameter(torch.tensor(sol[6:], dtype=torch.float32))

    def forward(self, x):
        num = sum(self.p[j] * x**j for j in range(6))
        den = 1 + torch.abs(sum(self.q[j - 1] * x**j for j in range(1, 5)))
        return num / den


def mlp(sizes, act, gen) -> nn.Module:
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = nn.Linear(a, b)
        with torch.no_grad():
            lin.weight.copy_(torch.randn(b, a, generator=gen) * np.sqrt(2.0 / (a + b)))
            lin.bias.zero_()
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


def train_torch(net, Xtr, ytr, epochs: int, seed: int) -> None:
    xt, yt = torch.as_tensor(Xtr, dtype=torch.float32), torch.as_tensor(ytr, dtype=torch.long)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in torch.randperm(len(xt), generator=gen).split(200):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(xt[idx]), yt[idx]).backward()
            opt.step()


def torch_accuracy(net, X, y) -> float:
    with torch.no_grad():
        return float((net(torch.as_tensor(X, dtype=torch.float32)).argmax(1).numpy() == y).mean())


def models(task: str, n_in: int, n_out: int, seed: int):
    gen = torch.Generator().manual_seed(seed)
    if task == "spirals":
        slnn = dict(hidden_layer_sizes=(20, 20), degree=7)
        yield "SLAF (SLNNClassifier)", slnn
        yield "SLAF (SLNNClassifier, alpha=0)", {**slnn, "alpha": 0.0}  # without the default weight decay
        yield "Chebyshev-KAN", nn.Sequential(ChebyKAN(n_in, 16, 7, gen), ChebyKAN(16, n_out, 7, gen))
        yield "Pade activation", mlp([n_in, 20, 20, n_out], Pade, gen)
        yield "GELU MLP", mlp([n_in, 20, 20, n_out], nn.GELU, gen)
    else:
        yield "SLAF (SLNNClassifier)", dict(hidden_layer_sizes=(32,), degree=3)
        yield "SLAF (SLNNClassifier, alpha=0)", dict(hidden_layer_sizes=(32,), degree=3, alpha=0.0)
        yield "Chebyshev-KAN", nn.Sequential(ChebyKAN(n_in, 8, 3, gen), ChebyKAN(8, n_out, 3, gen))
        yield "Pade activation", mlp([n_in, 32, n_out], Pade, gen)
        yield "GELU MLP", mlp([n_in, 32, n_out], nn.GELU, gen)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    torch.set_num_threads(1)
    seeds = [0] if args.quick else [0, 1, 2]
    rows = []
    for task in ("spirals", "digits"):
        epochs = 2 if args.quick else (100 if task == "spirals" else 60)
        runs: dict[str, list] = {}
        for seed in seeds:
            if task == "spirals":
                X, y = authors_spirals(300 if args.quick else 5000, seed)
            else:
                X, y = load_digits(return_X_y=True)
            Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
            sc = StandardScaler().fit(Xtr)
            Xtr, Xte = sc.transform(Xtr), sc.transform(Xte)
            for name, m in models(task, X.shape[1], len(np.unique(y)), seed):
                t0 = time.perf_counter()
                if isinstance(m, dict):
                    clf = SLNNClassifier(**m, max_iter=epochs, tol=0.0, n_iter_no_change=epochs + 1,
                                         learning_rate_init=3e-3, batch_size=200, random_state=seed).fit(Xtr, ytr)
                    acc, params = clf.score(Xte, yte), sum(p.numel() for p in clf.module_.parameters())
                else:
                    train_torch(m, Xtr, ytr, epochs, seed)
                    acc, params = torch_accuracy(m, Xte, yte), sum(p.numel() for p in m.parameters())
                runs.setdefault(name, []).append((acc, time.perf_counter() - t0, params))
        for name, r in runs.items():
            acc = [a for a, _, _ in r]
            rows.append([task, name, r[0][2], f"{statistics.mean(acc):.3f} [{min(acc):.3f}, {max(acc):.3f}]",
                         round(statistics.median([t for _, t, _ in r]), 1)])
    save("peers" + ("_quick" if args.quick else ""), "Learnable-activation peers at equal parameter counts",
         ["task", "model", "parameters", "test accuracy: mean [min, max]", "fit s (median)"], rows,
         {"seeds": seeds, "optimiser": "Adam 3e-3, batch 200, equal epochs (spirals 100, digits 60)"})


if __name__ == "__main__":
    main()
