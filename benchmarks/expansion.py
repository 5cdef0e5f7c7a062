"""Time and memory of the exact polynomial expansion of an SLNN, against sympy.expand.

Cases: the paper's Boston architecture (13 inputs, hidden (128, 64), SLAF degrees (4, 2):
degree 8, 203,490 monomials) and a 20-input degree-6 network ((32, 16), degrees (3, 2):
230,230 monomials), expanded by :func:`sklearn_slaf.polynomial.expand_network` (and by
``PolynomialFeatureEquivalent.fit`` on a fitted regressor, which adds the int64 exponent
table, a copy of the estimator and a check against its predictions). Peak memory is
tracemalloc's peak of Python/numpy allocations during the call; the "output" is the
returned coefficients plus exponents.

sympy.expand of the composed network formula (what a user would write) is timed on
smaller networks of the same degrees (4, 2); its time on the Boston network is an
extrapolation from those runs, stated with its model.

Usage: ``python benchmarks/expansion.py [--quick]`` (``--quick`` skips the sympy runs
over ~5 s). Writes ``benchmarks/results/expansion.{md,json}``.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save  # noqa: E402

from sklearn_slaf import SLNNRegressor  # noqa: E402
from sklearn_slaf.network import SLNN  # noqa: E402
from sklearn_slaf.polynomial import PolynomialFeatureEquivalent, expand_network  # noqa: E402
from sklearn_slaf.polynomial._expansion import _read_network  # noqa: E402

SEED = 0
F64 = torch.float64


def random_net(n: int, sizes: tuple, degree: tuple, seed: int = SEED) -> SLNN:
    g = torch.Generator().manual_seed(seed)
    net = SLNN(n, sizes, degree=degree, dtype=F64, generator=g, weight_init="default", init_std=0.5)
    net.train()(torch.randn(512, n, dtype=F64, generator=g))  # non-trivial running statistics
    return net.eval()


def timed(fn, repeat: int = 5) -> tuple[float, float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), float(np.median(times)), out


def peak_memory(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def sympy_expand_seconds(net: SLNN) -> tuple[float, int]:
    """Build the network formula with sympy Floats and time ``sympy.expand`` on it."""
    import sympy

    layers, W_out, b_out, _ = _read_network(net)
    h = list(sympy.symbols(f"x0:{net.n_inputs}"))
    for lay in layers:
        units = []
        for u in range(lay.weight.shape[0]):
            z = sum(sympy.Float(w) * v for w, v in zip(lay.weight[u], h)) + sympy.Float(lay.bias[u])
            units.append(sum(sympy.Float(a) * z**k for k, a in enumerate(lay.power[u])))
        h = units
    out = sum(sympy.Float(w) * v for w, v in zip(W_out[0], h)) + sympy.Float(b_out[0])
    t0 = time.perf_counter()
    expr = sympy.expand(out)
    return time.perf_counter() - t0, len(expr.args)


def expansion_rows() -> list[list]:
    rows = []
    rng = np.random.default_rng(SEED)
    for name, n, sizes, degree in (("Boston", 13, (128, 64), (4, 2)), ("20-input", 20, (32, 16), (3, 2))):
        net = random_net(n, sizes, degree)
        for coords in ("standardized", "raw"):
            best, med, poly = timed(lambda net=net, c=coords: expand_network(net, coordinates=c))
            peak = peak_memory(lambda net=net, c=coords: expand_network(net, coordinates=c))
            out = poly.coef.nbytes + poly.powers.nbytes
            X = rng.normal(size=(50, n))
            with torch.no_grad():
                y = net(torch.as_tensor(X)).numpy()
            err = float(np.abs(poly(X) - y).max() / np.abs(y).max())
            rows.append([f"{name} expand_network ({coords})", n, poly.degree, poly.coef.shape[1], best, med,
                         peak / 2**20, out / 2**20, peak / out, err])
    # the transformer on a fitted regressor of the Boston shape (one epoch of training)
    X = rng.normal(size=(506, 13))
    y = X @ rng.normal(size=13) + rng.normal(size=506)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg = SLNNRegressor((128, 64), degree=(4, 2), max_iter=1, dtype="float64", device="cpu",
                            random_state=SEED).fit(X, y)
    fit = lambda: PolynomialFeatureEquivalent(reg).fit(X)
    best, med, pfe = timed(fit)
    peak = peak_memory(fit)
    out = pfe.coef_.nbytes + pfe.powers_.nbytes
    rows.append(["Boston PolynomialFeatureEquivalent.fit", 13, pfe.degree_, pfe.n_output_features_ + 1, best, med,
                 peak / 2**20, out / 2**20, peak / out, pfe.verification_error_])
    return rows


SYMPY_CASES = [(3, (4, 2)), (5, (2, 1)), (5, (4, 2)), (5, (8, 4)), (7, (4, 2)), (7, (8, 4))]


def sympy_rows(quick: bool) -> tuple[list[list], dict]:
    rows, fits = [], []
    for n, sizes in SYMPY_CASES:
        if quick and n * sum(sizes) > 30:
            continue
        net = random_net(n, sizes, (4, 2))
        t_sym, terms = sympy_expand_seconds(net)
        best, _, poly = timed(lambda net=net: expand_network(net))
        rows.append([n, str(sizes), poly.coef.shape[1], terms, t_sym, best, t_sym / best])
        fits.append((sum(sizes), poly.coef.shape[1], t_sym))
    # model: t = c * (units) * terms^beta, fitted by least squares on log t
    A = np.array([[1.0, np.log(u), np.log(t)] for u, t, _ in fits])
    coef = np.linalg.lstsq(A, np.log([s for *_, s in fits]), rcond=None)[0]
    boston = float(np.exp(coef @ [1.0, np.log(192), np.log(203490)]))
    model = {"log_c": coef[0], "units_exponent": coef[1], "terms_exponent": coef[2],
             "sympy_boston_estimate_s": boston}
    return rows, model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the sympy runs over ~5 s")
    args = parser.parse_args()
    torch.set_num_threads(2)
    rows = expansion_rows()
    header = ["case", "inputs", "degree", "monomials", "best s", "median s", "peak MiB", "output MiB",
              "peak/output", "rel. error"]
    srows, model = sympy_rows(args.quick)
    boston_s = next(r[4] for r in rows if r[0].startswith("Boston expand_network (standardized"))
    model["speedup_boston_estimate"] = model["sympy_boston_estimate_s"] / boston_s
    from _common import markdown_table

    extra = {
        "seed": SEED,
        "sympy": __import__("sympy").__version__,
        "sympy_table": "\n\n" + markdown_table(
            ["inputs", "hidden", "monomials", "sympy terms", "sympy.expand s", "expand_network s", "speedup"], srows
        ) + "\n",
        "sympy_model": (
            f"t_sympy ~ exp({model['log_c']:.2f}) * units^{model['units_exponent']:.2f} * "
            f"monomials^{model['terms_exponent']:.2f}; Boston (192 units, 203,490 monomials) estimate "
            f"{model['sympy_boston_estimate_s']:.3g} s, i.e. ~{model['speedup_boston_estimate']:.2g}x slower than "
            f"expand_network (an extrapolation far outside the fitted range: an order of magnitude either way)"
        ),
    }
    save("expansion", "Exact polynomial expansion of SLNNs (float64, CPU)", header, rows, extra)


if __name__ == "__main__":
    main()
