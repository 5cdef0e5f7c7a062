"""Cost of reading the polynomial: exact Sobol indices at Boston size, and the torch-free export's latency.

* Sobol: :func:`sklearn_slaf.polynomial.polynomial_sobol` on all 203,489 monomials of 13
  inputs up to degree 8 (random coefficients), standard normal inputs; ``--repeat`` runs.
* Export: ``PolynomialFeatureEquivalent.to_sklearn()`` against the SLNN's own ``predict``,
  interleaved, 1 thread, for 1 row and ``--rows`` rows, for three diabetes models: 64-64 of
  degree (2, 2) (1,000 monomials; at most 100,000 rows, as the full map materialises every
  monomial column in float64, ``rows x 1000 x 8`` bytes), 32 units of degree 2 (65
  monomials) and the first compacted to 10 orthonormal terms with the sparse map.

Usage: ``python benchmarks/polynomial_reading.py [--repeat 5] [--rows 1000000]``
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import torch
from _common import save
from sklearn.datasets import load_diabetes

from sklearn_slaf import PolynomialFeatureEquivalent, SLNNRegressor
from sklearn_slaf.polynomial import MonomialIndex, polynomial_sobol, univariate_basis_change


def _sobol_seconds(repeat: int) -> list[float]:
    powers = MonomialIndex(13, 8).powers[1:]
    coef = np.random.default_rng(0).normal(size=len(powers))
    bases = [univariate_basis_change("normal", 8)] * 13
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        polynomial_sobol(powers, coef, 0.0, bases)
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    rows = []
    s = _sobol_seconds(args.repeat)
    rows.append(["Sobol indices, 13 inputs, degree 8 (203,489 terms)", "-", round(statistics.median(s), 3),
                 f"[{min(s):.3f}, {max(s):.3f}]", "-"])
    X, y = load_diabetes(return_X_y=True)
    # the diabetes network of degree 4 (1,000 monomials), one of degree 2 (65) and a 10-term compact form
    deg4 = SLNNRegressor((64, 64), degree=(2, 2), max_iter=50, random_state=0, device="cpu", dtype="float64").fit(X, y)
    deg2 = SLNNRegressor((32,), degree=2, max_iter=200, random_state=0, device="cpu", dtype="float64").fit(X, y)
    cases = [
        ("degree 4, 1,000 monomials, full map", deg4, PolynomialFeatureEquivalent(deg4).fit(X).to_sklearn("full"),
         min(args.rows, 100_000)),
        ("degree 2, 65 monomials, full map", deg2, PolynomialFeatureEquivalent(deg2).fit(X).to_sklearn("full"),
         args.rows),
        ("degree 4 compacted to 10 terms, sparse map", deg4,
         PolynomialFeatureEquivalent(deg4).fit(X).compact(n_terms=10).to_sklearn("sparse"), args.rows),
    ]
    for label, reg, pipe, n_big in cases:
        big = np.tile(X, (n_big // len(X) + 1, 1))[:n_big]
        for n_rows, xs, loops in ((1, X[:1], 200), (n_big, big, 1)):
            ratios, times = [], []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                for _ in range(loops):
                    pipe.predict(xs)
                a = (time.perf_counter() - t0) / loops
                t0 = time.perf_counter()
                for _ in range(loops):
                    reg.predict(xs)
                b = (time.perf_counter() - t0) / loops
                ratios.append(a / b)
                times.append(a)
            rows.append([f"to_sklearn() predict: {label}", n_rows, round(statistics.median(times), 5),
                         f"[{min(times):.5f}, {max(times):.5f}]", f"{statistics.median(ratios):.2f} "
                         f"[{min(ratios):.2f}, {max(ratios):.2f}]"])
    header = ["what", "rows", "seconds (median)", "[min, max]", "ratio to SLNN predict [min, max]"]
    save("polynomial_reading", "Reading the polynomial: Sobol indices and the torch-free export", header, rows,
         {"repeat": args.repeat, "threads": 1})


if __name__ == "__main__":
    main()
