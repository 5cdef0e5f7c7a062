"""Exact Sobol indices of a polynomial under independent inputs, by a change of basis.

A polynomial ``f(c) = sum_a w_a c^a`` in independent inputs ``c_j`` is rewritten in the
product basis of polynomials orthonormal for each input's distribution,
``f = sum_b d_b psi_b(c)``. Orthonormality makes the variance decomposition a sum of
squares: ``Var f = sum_{b != 0} d_b^2``, the part of an interaction ``u`` (a set of inputs)
is the sum over the ``b`` whose support is exactly ``u``, the first-order index of input
``j`` is its part alone, and its total index the sum over every ``b`` with ``b_j > 0``. No
sampling: the answer is exact up to float64 round-off.

Each input's change of basis is one triangular matrix ``T_j`` with
``c_j^k = sum_l T_j[k, l] psi_l(c_j)``, built from the distribution:

* ``normal``: ``c = alpha + beta u``, ``u ~ N(0, 1)``, ``psi_l = He_l / sqrt(l!)``;
* ``uniform``: ``c = alpha + beta u``, ``u ~ U(-1, 1)``, ``psi_l = sqrt(2l + 1) P_l``;
* ``empirical``: the sample's own orthonormal polynomials (Cholesky factor of the moment
  matrix of the standardised sample).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.polynomial import hermite_e, legendre

__all__ = ["SobolIndices", "orthonormal_to_monomials", "polynomial_sobol", "univariate_basis_change"]


def univariate_basis_change(kind: str, degree: int, *, alpha: float = 0.0, beta: float = 1.0,
                            sample: np.ndarray | None = None) -> np.ndarray:
    """``T`` of shape ``(degree + 1, degree + 1)`` with ``c^k = sum_l T[k, l] psi_l(c)``.

    Parameters
    ----------
    kind : {"normal", "uniform", "empirical"}
    degree : int
        Highest power of the input that occurs.
    alpha, beta : float
        ``c = alpha + beta u`` with ``u`` standard normal (``normal``) or uniform on
        ``[-1, 1]`` (``uniform``).
    sample : ndarray, optional
        The values of ``c`` (``empirical``).

    Examples
    --------
    >>> from sklearn_slaf.polynomial import univariate_basis_change
    >>> univariate_basis_change("normal", 2).round(12).tolist()  # c^2 = 1 + sqrt(2) psi_2
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 1.414213562373]]
    """
    n = degree + 1
    if kind == "empirical":
        c = np.asarray(sample, dtype=float).ravel()
        if c.size == 0 or not np.isfinite(c).all():
            raise ValueError("the empirical distribution needs finite sample values.")
        distinct = np.unique(c).size
        if distinct < 2:
            raise ValueError(
                "an input with a single value has no variance under its empirical distribution: drop it, or use "
                "distribution='normal'."
            )
        mu, sd = c.mean(), c.std()
        u = (c - mu) / sd
        V = u[:, None] ** np.arange(n)
        if distinct >= n:
            L = np.linalg.cholesky(V.T @ V / u.size)  # u^k = sum_l L[k, l] psi_l, psi orthonormal on the sample
            return _affine_powers(mu, sd, degree) @ L
        # d distinct values carry only d orthonormal polynomials (a binary input: 1 and one more); on
        # those values every higher power is exactly a combination of them, found by projection
        d = distinct
        L = np.linalg.cholesky(V[:, :d].T @ V[:, :d] / u.size)
        psi = np.linalg.solve(L, V[:, :d].T).T  # (size, d): the orthonormal polynomials on the sample
        T = np.zeros((n, n))
        T[:d, :d] = L
        T[d:, :d] = V[:, d:].T @ psi / u.size
        return _affine_powers(mu, sd, degree) @ T
    if kind == "normal":
        T = np.zeros((n, n))
        for k in range(n):
            h = hermite_e.poly2herme(np.eye(n)[k])
            T[k, : h.size] = h * np.sqrt([math.factorial(i) for i in range(h.size)])
    elif kind == "uniform":
        T = np.zeros((n, n))
        for k in range(n):
            p = legendre.poly2leg(np.eye(n)[k])
            T[k, : p.size] = p / np.sqrt(2 * np.arange(p.size) + 1)
    else:
        raise ValueError(f"distribution must be 'normal', 'uniform' or 'empirical'; got {kind!r}.")
    if not (math.isfinite(alpha) and math.isfinite(beta) and beta > 0):
        raise ValueError(f"the input map c = alpha + beta u needs finite alpha and beta > 0; got {alpha}, {beta}.")
    return _affine_powers(alpha, beta, degree) @ T


def _affine_powers(alpha: float, beta: float, degree: int) -> np.ndarray:
    """``A[k, m]`` with ``(alpha + beta u)^k = sum_m A[k, m] u^m`` (binomial expansion)."""
    n = degree + 1
    A = np.zeros((n, n))
    for k in range(n):
        for m in range(k + 1):
            A[k, m] = math.comb(k, m) * alpha ** (k - m) * beta**m
    return A


@dataclass(frozen=True)
class SobolIndices:
    """Variance decomposition of a polynomial under independent inputs.

    Attributes
    ----------
    feature_names : ndarray of str
    mean, variance : float
    first_order, total : ndarray of shape (n_features,)
        ``S_j`` and ``S_Tj``.
    by_order : ndarray of shape (n_features,)
        Share of the variance carried by interactions of exactly 1, 2, ... inputs (additive,
        pairwise, ...); it sums to 1.
    interactions : dict
        Share of each requested set of inputs (tuples of indices), exact support.
    coefficients : dict
        The orthonormal-basis coefficients ``{multi-index tuple: d}`` (the constant included).

    See Also
    --------
    polynomial_sobol : computes these from a polynomial's monomial coefficients.

    Examples
    --------
    >>> from sklearn_slaf.polynomial import polynomial_sobol, univariate_basis_change
    >>> T = univariate_basis_change("normal", 1)
    >>> s = polynomial_sobol([[1, 0], [0, 1], [1, 1]], [1.0, 2.0, 2.0], 0.0, [T, T],
    ...                      interactions=[(0, 1)])  # x0 + 2 x1 + 2 x0 x1
    >>> s.mean, s.variance
    (0.0, 9.0)
    >>> s.by_order.round(4).tolist()  # additive 5/9, pairwise 4/9
    [0.5556, 0.4444]
    >>> round(s.interactions[(0, 1)], 4)
    0.4444
    >>> s.table()["total"].round(4).tolist()
    [0.5556, 0.8889]
    """

    feature_names: np.ndarray
    mean: float
    variance: float
    first_order: np.ndarray
    total: np.ndarray
    by_order: np.ndarray
    interactions: dict = field(default_factory=dict)
    coefficients: dict = field(default_factory=dict, repr=False)

    def table(self):
        """One row per input: ``feature``, ``first_order``, ``total`` (a DataFrame when pandas is installed)."""
        data = {"feature": self.feature_names, "first_order": self.first_order, "total": self.total}
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover - depends on the environment
            out = np.empty(len(self.feature_names), dtype=[("feature", object), ("first_order", float),
                                                           ("total", float)])
            for k, v in data.items():
                out[k] = v
            return out
        return pd.DataFrame(data)


def _expand_variable(keys: np.ndarray, vals: np.ndarray, j: int, base: int, T: np.ndarray):
    """Rewrite the powers of variable ``j`` (digit ``j`` of ``keys`` in ``base``) in its orthonormal basis."""
    place = base**j
    k = (keys // place) % base
    out_keys, out_vals = [keys - k * place], [vals * T[k, 0]]
    for deg in range(1, T.shape[1]):
        sel = k >= deg
        if not sel.any():
            break
        out_keys.append(keys[sel] - (k[sel] - deg) * place)
        out_vals.append(vals[sel] * T[k[sel], deg])
    keys, inv = np.unique(np.concatenate(out_keys), return_inverse=True)
    return keys, np.bincount(inv, weights=np.concatenate(out_vals), minlength=keys.size)


def polynomial_sobol(powers, coef, intercept: float, bases: list[np.ndarray], *, feature_names=None,
                     interactions=None) -> SobolIndices:
    """Exact Sobol indices of ``intercept + sum_t coef[t] prod_j c_j^powers[t, j]``.

    Parameters
    ----------
    powers : array-like of int, shape (n_terms, n_features)
    coef : array-like of shape (n_terms,)
    intercept : float
    bases : list of ndarray
        Per input, its :func:`univariate_basis_change` matrix, of size at least its
        highest power plus one.
    feature_names : sequence of str, optional
    interactions : sequence of sequence of int, optional
        Sets of inputs whose exact share of the variance to report.

    Returns
    -------
    SobolIndices

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_slaf.polynomial import polynomial_sobol, univariate_basis_change
    >>> T = univariate_basis_change("normal", 1)
    >>> s = polynomial_sobol([[1, 0], [0, 1], [1, 1]], [1.0, 2.0, 2.0], 0.0, [T, T])  # x0 + 2 x1 + 2 x0 x1
    >>> s.variance, s.first_order.round(4).tolist(), s.total.round(4).tolist()
    (9.0, [0.1111, 0.4444], [0.5556, 0.8889])
    """
    P = np.asarray(powers, dtype=np.int64).reshape(len(coef), -1)
    n = P.shape[1]
    if len(bases) != n:
        raise ValueError(f"one basis change per input: got {len(bases)} for {n} inputs.")
    top = P.max(axis=0, initial=0)
    for j, T in enumerate(bases):
        if T.shape[0] <= top[j]:
            raise ValueError(f"the basis change of input {j} reaches power {T.shape[0] - 1}; it needs {top[j]}.")
    base = int(top.max(initial=0)) + 1
    if base**n >= 2**62:
        raise ValueError(f"{n} inputs with powers up to {base - 1} overflow the index of this exact expansion.")
    weights = base ** np.arange(n, dtype=np.int64)
    keys = np.concatenate([[0], P @ weights])
    vals = np.concatenate([[float(intercept)], np.asarray(coef, dtype=float).ravel()])
    keys, inv = np.unique(keys, return_inverse=True)
    vals = np.bincount(inv, weights=vals, minlength=keys.size)
    for j in range(n):
        if top[j] > 0:
            keys, vals = _expand_variable(keys, vals, j, base, bases[j])
    digits = (keys[:, None] // weights) % base  # multi-index of each orthonormal coefficient
    support = digits > 0
    nonconst = support.any(axis=1)
    sq = vals**2
    variance = float(sq[nonconst].sum())
    mean = float(vals[~nonconst].sum())
    if not variance > 0:
        raise ValueError("the polynomial is constant under this distribution: it has no variance to decompose.")
    order = support.sum(axis=1)
    alone = order == 1
    first = np.array([sq[alone & support[:, j]].sum() for j in range(n)]) / variance
    total = np.array([sq[support[:, j]].sum() for j in range(n)]) / variance
    by_order = np.bincount(order[nonconst], weights=sq[nonconst], minlength=n + 1)[1:] / variance
    shares = {}
    for subset in interactions or ():
        want = np.zeros(n, bool)
        want[list(subset)] = True
        shares[tuple(sorted(subset))] = float(sq[(support == want).all(axis=1)].sum() / variance)
    names = np.asarray([f"x{j}" for j in range(n)] if feature_names is None else feature_names, dtype=object)
    coefficients = {tuple(int(v) for v in d): float(c) for d, c in zip(digits, vals)}
    return SobolIndices(names, mean, variance, first, total, by_order, shares, coefficients)


def orthonormal_to_monomials(coefficients: dict, bases: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, float]:
    """Convert ``{multi-index: d}`` in the orthonormal product basis back to monomials.

    The inverse of the change of basis of :func:`polynomial_sobol` (each ``T_j`` is
    triangular, so is its inverse). Returns ``(powers, coef, intercept)`` with the
    constant separated; monomials that cancel exactly are dropped.

    Examples
    --------
    >>> from sklearn_slaf.polynomial import orthonormal_to_monomials, univariate_basis_change
    >>> T = univariate_basis_change("normal", 2)
    >>> powers, coef, c0 = orthonormal_to_monomials({(2,): 2 ** 0.5}, [T])  # sqrt(2) psi_2 = x^2 - 1
    >>> powers.tolist(), coef.round(12).tolist(), round(c0, 12)
    ([[2]], [1.0], -1.0)
    """
    if not coefficients:
        return np.zeros((0, len(bases)), np.int64), np.zeros(0), 0.0
    # exact zeros include the terms of orthonormal polynomials an empirical law with few values lacks
    coefficients = {k: v for k, v in coefficients.items() if v != 0.0}
    if not coefficients:
        return np.zeros((0, len(bases)), np.int64), np.zeros(0), 0.0
    digits = np.array(list(coefficients), dtype=np.int64).reshape(len(coefficients), -1)
    n = digits.shape[1]
    base = max(int(digits.max()) + 1, 1)
    weights = base ** np.arange(n, dtype=np.int64)
    keys, vals = digits @ weights, np.array(list(coefficients.values()), dtype=float)
    for j in range(n):
        top = int(digits[:, j].max())
        if top > 0:
            inv = np.linalg.inv(bases[j][: top + 1, : top + 1])  # psi_l = sum_k inv[l, k] c^k
            keys, vals = _expand_variable(keys, vals, j, base, inv)
    powers = (keys[:, None] // weights) % base
    const = ~(powers > 0).any(axis=1)
    scale = np.abs(vals).max(initial=0.0)
    keep = ~const & (np.abs(vals) > 1e-14 * scale)
    return powers[keep], vals[keep], float(vals[const].sum())
