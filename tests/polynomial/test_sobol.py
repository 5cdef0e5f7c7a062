"""Exact Sobol indices against textbook values, brute-force product measures and a Monte Carlo estimator."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

from sklearn_slaf import PolynomialFeatureEquivalent, SLNNClassifier, SLNNRegressor
from sklearn_slaf.polynomial import polynomial_sobol, univariate_basis_change

N1, N2 = (univariate_basis_change("normal", d) for d in (1, 2))


def test_textbook_bilinear_under_standard_normal():
    a1, a2, b = 1.5, -0.7, 2.0
    s = polynomial_sobol([[1, 0], [0, 1], [1, 1]], [a1, a2, b], 0.3, [N1, N1], interactions=[(0, 1)])
    V = a1**2 + a2**2 + b**2
    assert s.variance == pytest.approx(V, rel=1e-14) and s.mean == pytest.approx(0.3, rel=1e-14)
    np.testing.assert_allclose(s.first_order, [a1**2 / V, a2**2 / V], rtol=1e-13)
    np.testing.assert_allclose(s.total, [(a1**2 + b**2) / V, (a2**2 + b**2) / V], rtol=1e-13)
    assert s.interactions[(0, 1)] == pytest.approx(b**2 / V, rel=1e-13)
    np.testing.assert_allclose(s.by_order, [(a1**2 + a2**2) / V, b**2 / V], rtol=1e-13)


def test_cubic_and_quartic_from_hermite_moments():
    T3 = univariate_basis_change("normal", 3)
    s = polynomial_sobol([[3], [1]], [1.0, 1.0], 0.0, [T3])  # x^3 + x: E[x^6] + 2 E[x^4] + E[x^2]
    assert s.variance == pytest.approx(15 + 6 + 1, rel=1e-13)
    # x0^2 x1: Var = E[x0^4] E[x1^2] = 3; E[f | x1] = x1 (S1 = 1/3); E[f | x0] = 0
    s = polynomial_sobol([[2, 1]], [1.0], 0.0, [N2, N1], interactions=[(0, 1)])
    assert s.variance == pytest.approx(3.0, rel=1e-13) and s.mean == pytest.approx(0.0, abs=1e-14)
    np.testing.assert_allclose(s.first_order, [0.0, 1 / 3], atol=1e-14)
    assert s.interactions[(0, 1)] == pytest.approx(2 / 3, rel=1e-13)
    # x^4: Var = E[x^8] - E[x^4]^2 = 105 - 9
    assert polynomial_sobol([[4]], [1.0], 0.0, [univariate_basis_change("normal", 4)]).variance == pytest.approx(96)


def test_uniform_and_affine_maps():
    U2 = univariate_basis_change("uniform", 2)
    assert polynomial_sobol([[2]], [1.0], 0.0, [U2]).variance == pytest.approx(1 / 5 - 1 / 9, rel=1e-13)
    # x uniform on [2, 6]: variance (6 - 2)^2 / 12; x^2 there: E[x^4] - E[x^2]^2 by the moments of U(2, 6)
    Ua = univariate_basis_change("uniform", 2, alpha=4.0, beta=2.0)
    assert polynomial_sobol([[1]], [1.0], 0.0, [Ua]).variance == pytest.approx(16 / 12, rel=1e-13)
    m = lambda k: (6 ** (k + 1) - 2 ** (k + 1)) / (4 * (k + 1))
    assert polynomial_sobol([[2]], [1.0], 0.0, [Ua]).variance == pytest.approx(m(4) - m(2) ** 2, rel=1e-12)
    # normal with mean 1 and sd 3: Var(x^2) = 4 mu^2 s^2 + 2 s^4
    Na = univariate_basis_change("normal", 2, alpha=1.0, beta=3.0)
    assert polynomial_sobol([[2]], [1.0], 0.0, [Na]).variance == pytest.approx(4 * 9 + 2 * 81, rel=1e-12)


def _grid_oracle(f, cols):
    """Variance, first-order and total indices of f under the product of the columns' empirical laws, by enumeration."""
    grid = np.array(list(itertools.product(*cols)))
    vals = f(grid).reshape([len(c) for c in cols])
    V = vals.var()
    n = len(cols)
    first = [np.var(vals.mean(axis=tuple(k for k in range(n) if k != j))) / V for j in range(n)]
    total = [np.mean(vals.var(axis=j)) / V for j in range(n)]  # E[Var(f | x_~j)] / V
    return V, np.array(first), np.array(total)


def test_empirical_marginals_match_the_enumerated_product_measure():
    rng = np.random.default_rng(3)
    x0, x1 = rng.normal(size=11), rng.exponential(size=9)
    f = lambda g: g[:, 0] ** 2 * g[:, 1] + 3 * g[:, 0] + g[:, 1] ** 3 - 0.5 * g[:, 0] * g[:, 1]
    V, first, total = _grid_oracle(f, [x0, x1])
    bases = [univariate_basis_change("empirical", 2, sample=x0), univariate_basis_change("empirical", 3, sample=x1)]
    s = polynomial_sobol([[2, 1], [1, 0], [0, 3], [1, 1]], [1.0, 3.0, 1.0, -0.5], 0.0, bases)
    assert s.variance == pytest.approx(V, rel=1e-9)
    np.testing.assert_allclose(s.first_order, first, rtol=1e-8)
    np.testing.assert_allclose(s.total, total, rtol=1e-8)


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3)) * [1.0, 2.0, 0.5] + [0.0, 1.0, -3.0]
    z = (X - X.mean(0)) / X.std(0)
    y = 2 * z[:, 0] + z[:, 1] * z[:, 2] + 0.5 * z[:, 1] ** 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg = SLNNRegressor((12,), degree=2, max_iter=300, learning_rate_init=1e-2, random_state=0, device="cpu",
                            dtype="float64", extrapolation="continue").fit(X, y)
    return X, reg, PolynomialFeatureEquivalent(reg).fit(X)


def test_trained_network_against_a_monte_carlo_estimate(fitted):
    X, reg, pfe = fitted
    s = pfe.sobol_indices("normal")
    # Saltelli (first order) and Jansen (total) estimators on the model itself, inputs N(offset, scale^2)
    rng = np.random.default_rng(1)
    N, d = 40000, X.shape[1]
    off, scale = reg.module_.input_offset.numpy(), reg.module_.input_scale.numpy()
    A, B = (off + scale * rng.normal(size=(N, d)) for _ in range(2))
    fA, fB = reg.predict(A), reg.predict(B)
    V = np.var(np.r_[fA, fB])
    for j in range(d):
        ABj = A.copy()
        ABj[:, j] = B[:, j]
        fAB = reg.predict(ABj)
        first, total = np.mean(fB * (fAB - fA)) / V, 0.5 * np.mean((fA - fAB) ** 2) / V
        assert s.first_order[j] == pytest.approx(first, abs=0.03)
        assert s.total[j] == pytest.approx(total, abs=0.03)
    assert s.variance == pytest.approx(V, rel=0.05)
    assert s.by_order.sum() == pytest.approx(1.0, rel=1e-12)
    assert s.by_order[0] == pytest.approx(s.first_order.sum(), rel=1e-12)  # the additive part is the first orders


def test_every_distribution_and_coordinates_agree_on_the_same_law(fitted):
    X, reg, pfe = fitted
    raw = PolynomialFeatureEquivalent(reg, coordinates="raw").fit(X)
    for dist in ("normal", "uniform"):
        a, b = pfe.sobol_indices(dist), raw.sobol_indices(dist)  # the same law in two coordinate systems
        np.testing.assert_allclose(a.total, b.total, rtol=1e-7)
        assert a.variance == pytest.approx(b.variance, rel=1e-7)
    e = pfe.sobol_indices("empirical", X)
    assert e.table()["total"].to_numpy() == pytest.approx(e.total)
    assert list(e.table()["feature"]) == ["x0", "x1", "x2"]


def test_classifier_outputs_and_bad_input(fitted):
    X, reg, pfe = fitted
    y = np.digitize(X[:, 0], [-0.5, 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = SLNNClassifier((6,), degree=2, max_iter=20, random_state=0, device="cpu", dtype="float64",
                            extrapolation="continue").fit(X, y)
    cpf = PolynomialFeatureEquivalent(clf).fit(X)
    for k in range(3):
        assert cpf.sobol_indices(output=k).by_order.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="output"):
        cpf.sobol_indices(output=3)
    with pytest.raises(ValueError, match="needs X"):
        pfe.sobol_indices("empirical")
    with pytest.raises(ValueError, match="degenerate range"):
        pfe.sobol_indices("uniform", np.c_[X[:, :2], np.full(len(X), 2.0)])
    with pytest.raises(ValueError, match="single value"):
        pfe.sobol_indices("empirical", np.c_[X[:, :2], np.full(len(X), 2.0)])
    with pytest.raises(ValueError, match="distribution must be"):
        pfe.sobol_indices("cauchy")
    with pytest.raises(ValueError, match="constant"):
        polynomial_sobol([[1]], [0.0], 1.0, [N1])


# ---------------------------------------------------------------------------- compact formulas
def _poly_value(p, X):
    return p.transform(X) @ np.atleast_1d(p.coef_).T + p.intercept_


def test_compact_with_every_term_is_the_full_polynomial(fitted):
    X, reg, pfe = fitted
    full = pfe.compact(n_terms=10**6)
    assert full.compact_r2_ == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(_poly_value(full, X), reg.predict(X), rtol=1e-9, atol=1e-9)


def test_compact_r2_is_exact_on_the_enumerated_product_measure(fitted):
    X, reg, pfe = fitted
    small = X[:8]  # the empirical law of 8 rows per column: a product grid of 512 points
    grid = np.array(list(itertools.product(*small.T)))
    truth = reg.predict(grid)
    r2 = []
    for m in (1, 2, 4, 8):
        c = pfe.compact(n_terms=m, distribution="empirical", X=small)
        pred = _poly_value(c, grid)
        exact = 1 - np.mean((pred - truth) ** 2) / np.var(truth)
        assert c.compact_r2_ == pytest.approx(exact, abs=1e-9)
        r2.append(c.compact_r2_)
    assert r2 == sorted(r2)  # more terms never fit worse


def test_compact_by_tolerance_keeps_the_fewest_terms(fitted):
    X, reg, pfe = fitted
    c = pfe.compact(tol=0.05)
    assert c.compact_r2_ >= 0.95
    r2 = [pfe.compact(n_terms=m).compact_r2_ for m in range(1, 30)]
    fewest = next(m for m, v in enumerate(r2, start=1) if v >= 0.95)
    assert c.compact_r2_ == pytest.approx(r2[fewest - 1], abs=1e-12)
    if fewest > 1:
        assert r2[fewest - 2] < 0.95
    latex = c.to_latex(max_terms=None)
    assert latex.count("x_{") >= 1
    for bad in ({"n_terms": 0}, {"tol": 1.0}, {}, {"n_terms": 2, "tol": 0.1}):
        with pytest.raises(ValueError):
            pfe.compact(**bad)


def test_empirical_law_with_fewer_values_than_the_degree(fitted):
    # a binary input under a quadratic: its law carries 2 orthonormal polynomials only,
    # and every higher power is one of their combinations on {0, 1}; the decomposition stays exact.
    # Oracle: every combination of the columns' values (the product of the empirical marginals)
    X, reg, pfe = fitted
    Xe = np.c_[X[:12, :2], np.tile([0.0, 1.0], 6)]
    s = pfe.sobol_indices("empirical", Xe)
    cols = [np.unique(Xe[:, j], return_counts=True) for j in range(3)]
    grid = np.array(np.meshgrid(*[c[0] for c in cols], indexing="ij")).reshape(3, -1).T
    w = np.einsum("i,j,k->ijk", *[c[1] / c[1].sum() for c in cols]).ravel()
    f = _poly_value(pfe, grid).ravel()
    mean = w @ f
    var = w @ (f - mean) ** 2
    assert s.variance == pytest.approx(var, rel=1e-9)
    for j in range(3):
        keys, inv = np.unique(grid[:, j], return_inverse=True)
        cond = np.bincount(inv, weights=w * f) / np.bincount(inv, weights=w)
        pj = np.bincount(inv, weights=w)
        assert s.first_order[j] == pytest.approx(pj @ (cond - mean) ** 2 / var, rel=1e-8, abs=1e-12)
    # the compact form of all terms is the polynomial itself on the binary column's values
    full = pfe.compact(tol=0.0, distribution="empirical", X=Xe)
    np.testing.assert_allclose(_poly_value(full, grid), _poly_value(pfe, grid), rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("distribution", ["normal", "empirical"])
def test_compact_with_zero_tolerance_keeps_every_term(fitted, distribution):
    # tol=0 drops nothing: the share dropped after the last term is exactly 0, not round-off
    # (which once made tol=0 keep a single term)
    X, reg, pfe = fitted
    full = pfe.compact(tol=0.0, distribution=distribution, X=X)
    assert full.compact_r2_ == 1.0
    np.testing.assert_allclose(full.transform(X) @ full.coef_ + full.intercept_, reg.predict(X), rtol=1e-8, atol=1e-8)
