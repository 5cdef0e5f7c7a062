"""How well a SLAF of degree k can be any standard activation: least-squares fits on [-3, 3].

For each polynomial basis (power, taylor, hermite, chebyshev, legendre) and degree 2..12,
fit ``b + sum_i c_i g_i(x)`` to ReLU, tanh, sigmoid, Swish and GELU by weighted least
squares on [-3, 3] under the standard normal weight (Gauss-Legendre nodes, 400 of them,
times the normal density), the mapped bases on ``u = x / 3``. Reported: the L2 error
under that weight (relative to the activation's own L2 norm there), the sup error on
a fine grid of [-3, 3], and the condition number of the weighted design matrix.

Every basis of degree k spans the same polynomials, so the errors agree across bases up to
round-off; what differs is the conditioning, which is what the training sees. The
mean-variance normalisation SLAF applies to each element is affine per element and
changes neither.

Usage: ``python benchmarks/approximation.py [--quick]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from _common import RESULTS, save

from sklearn_slaf import basis as B
from sklearn_slaf._functions import numpy_function

TARGETS = ("relu", "tanh", "sigmoid", "swish", "gelu")
RANGE = 3.0


def design(family: str, x: np.ndarray, degree: int) -> np.ndarray:
    u = x / RANGE if B.needs_input_map(family) else x
    g = B.evaluate(family, torch.as_tensor(u, dtype=torch.float64), degree).numpy()
    return np.column_stack([np.ones_like(x), g])


def fit(family: str, target: str, degree: int, nodes, weights, grid) -> tuple[float, float, float]:
    f = numpy_function(target)
    sw = np.sqrt(weights)
    A = design(family, nodes, degree) * sw[:, None]
    coef = np.linalg.lstsq(A, f(nodes) * sw, rcond=None)[0]
    resid = f(nodes) - design(family, nodes, degree) @ coef
    l2 = np.sqrt(weights @ resid**2 / (weights @ f(nodes) ** 2))
    sup = np.abs(f(grid) - design(family, grid, degree) @ coef).max()
    return float(l2), float(sup), float(np.linalg.cond(A))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="degrees 2-4 and two bases (seconds)")
    args = ap.parse_args()
    degrees = range(2, 5) if args.quick else range(2, 13)
    families = ("power", "chebyshev") if args.quick else B.POLYNOMIAL_BASES
    t, w = np.polynomial.legendre.leggauss(400)
    nodes = RANGE * t
    weights = w * RANGE * np.exp(-nodes**2 / 2) / np.sqrt(2 * np.pi)
    grid = np.linspace(-RANGE, RANGE, 4001)
    results = {(fam, tgt, k): fit(fam, tgt, k, nodes, weights, grid)
               for fam in families for tgt in TARGETS for k in degrees}

    rows = []
    for tgt in TARGETS:
        for k in degrees:
            l2, sup, _ = results["power", tgt, k]
            spread = max(abs(results[f, tgt, k][0] - l2) for f in families)
            rows.append([tgt, k, f"{l2:.2e}", f"{sup:.2e}", f"{spread:.1e}"])
    tag = "_quick" if args.quick else ""
    save("approximation" + tag, "Least-squares SLAF fits to standard activations on [-3, 3] (normal weight)",
         ["activation", "degree", "relative L2 error", "sup error", "largest L2 difference across bases"], rows,
         {"bases": ", ".join(families), "nodes": 400, "range": "[-3, 3]", "mapped bases": "u = x / 3"})
    cond_rows = [[fam] + [f"{results[fam, 'tanh', k][2]:.2g}" for k in degrees] for fam in families]
    save("approximation_conditioning" + tag, "Condition number of the weighted design matrix by basis and degree",
         ["basis"] + [f"k={k}" for k in degrees], cond_rows)

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    for tgt in TARGETS:
        ax1.semilogy(list(degrees), [results["power", tgt, k][0] for k in degrees], marker="o", ms=3, label=tgt)
    ax1.set(xlabel="degree k", ylabel="relative L2 error (normal weight)", title="SLAF fits to activations")
    ax1.legend(fontsize="small")
    for fam in families:
        ax2.semilogy(list(degrees), [results[fam, "tanh", k][2] for k in degrees], marker="o", ms=3, label=fam)
    ax2.set(xlabel="degree k", ylabel="condition number", title="conditioning of the basis on [-3, 3]")
    ax2.legend(fontsize="small")
    fig.tight_layout()
    out = Path(RESULTS) / f"approximation{tag}.png"
    fig.savefig(out, dpi=120)
    print(f"figure: {out}")


if __name__ == "__main__":
    main()
