"""Verified real roots of polynomials and of scalar functions on an interval.

Every root problem of :mod:`sklearn_slaf.eoc` (fixed points of the variance map, points
of the edge-of-chaos curve) goes through :func:`polynomial_roots` or
:func:`bracketed_roots`, so their numerical care lives in one place.

Why not ``numpy.polynomial.polynomial.polyroots`` alone: the Gaussian-moment polynomials
of a least-squares activation fit carry round-off coefficients (``1e-16`` squared gives
``1e-32``) next to terms of order one. A companion matrix built on such a leading
coefficient has entries near ``1e30``; its eigenvalues then have absolute errors of
that size and every small root is garbage. Here

1. leading coefficients whose largest contribution on ``[0, hi]`` is round-off next to
   a lower term are trimmed (relative to that term, never only exact zeros);
2. the eigenvalues of the trimmed polynomial *and* of its reversal (whose large roots are
   the small roots of the original, computed to full relative accuracy) are candidates;
3. sign changes of the *untrimmed* polynomial on a dense log grid, refined by Brent's
   method, are candidates too, so a crossing seen on the grid is never missed;
4. every candidate is polished by Newton steps on the untrimmed polynomial and accepted
   only if its residual is round-off relative to the size of the terms there.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.polynomial import polynomial as _poly
from scipy.optimize import brentq

__all__ = ["bracketed_roots", "polynomial_roots"]

_EPS = np.finfo(float).eps
_TRIM = 64 * _EPS  # a term this small next to another on the whole interval is round-off
_ACCEPT = 1e-12  # residual / (sum of |terms|) at an accepted polynomial root
_NEWTON_STEPS = 60


def _trim_leading(c: np.ndarray, hi: float) -> np.ndarray:
    """Drop leading terms that stay round-off next to a lower term on ``[0, hi]``.

    ``|c_i| x**i / (|c_j| x**j)`` grows with ``x`` for ``i > j``, so comparing at ``hi``
    bounds the ratio on the whole interval.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        size = np.abs(c) * hi ** np.arange(c.size) if math.isfinite(hi) else np.abs(c)
    size = np.nan_to_num(size, nan=np.inf)
    n = c.size
    while n > 1 and size[n - 1] <= _TRIM * size[: n - 1].max():
        n -= 1
    return c[:n]


def _eigen_candidates(c: np.ndarray) -> list[float]:
    """Real parts of the nearly real roots of ``c`` and of its reversal."""
    nz = np.flatnonzero(c)
    if nz.size == 0 or nz[-1] == 0:
        return []
    low = nz[0]  # roots at exactly 0: x**low divides the polynomial
    out = [0.0] if low > 0 else []
    c = c[low:]
    with np.errstate(all="ignore"):
        roots = np.concatenate([_eigenvalues(c), 1.0 / _eigenvalues(c[::-1])])
    keep = np.isfinite(roots) & (np.abs(roots.imag) <= 1e-6 * (1.0 + np.abs(roots)))
    return out + [float(r) for r in roots.real[keep]]


def _eigenvalues(c: np.ndarray) -> np.ndarray:
    """Companion-matrix roots, or none where the matrix over- or underflows (the scan still runs)."""
    try:
        return np.atleast_1d(_poly.polyroots(c)).astype(complex)
    except np.linalg.LinAlgError:  # a companion matrix with inf or nan entries
        return np.empty(0, complex)


def _newton(c: np.ndarray, dc: np.ndarray, x: float, lo: float, hi: float) -> float:
    for _ in range(_NEWTON_STEPS):
        d = _poly.polyval(x, dc)
        if d == 0 or not math.isfinite(d):
            break
        step = _poly.polyval(x, c) / d
        x_new = min(max(x - step, lo), hi)
        if not math.isfinite(x_new) or abs(x_new - x) <= 2 * _EPS * abs(x):
            x = x_new if math.isfinite(x_new) else x
            break
        x = x_new
    return x


def _dedupe(roots: list[float], residual: Callable[[float], float] | None = None, rtol: float = 1e-9) -> list[float]:
    """Merge roots closer than ``rtol``, keeping the one of least ``|residual|`` in each cluster."""
    clusters: list[list[float]] = []
    for r in sorted(roots):
        if clusters and abs(r - clusters[-1][-1]) <= rtol * max(abs(r), abs(clusters[-1][-1]), 1e-300):
            clusters[-1].append(r)
        else:
            clusters.append([r])
    key = (lambda x: abs(residual(x))) if residual is not None else (lambda x: 0.0)
    return [min(c, key=key) for c in clusters]


def polynomial_roots(coefs, lo: float, hi: float, *, grid: np.ndarray | None = None) -> list[float] | None:
    """Every real root of ``sum_i coefs[i] x**i`` in ``[lo, hi]``, polished and verified.

    Parameters
    ----------
    coefs : array-like of float
        Ascending coefficients, leading round-off allowed.
    lo, hi : float
        The interval; ``0 <= lo < hi``, ``hi`` may be ``inf``.
    grid : numpy.ndarray, optional
        Increasing points in ``[lo, hi]`` scanned for sign changes; by default 2001
        log-spaced points between ``max(lo, 1e-12)`` and ``min(hi, 1e12)``.

    Returns
    -------
    list of float or None
        Sorted distinct roots; ``None`` if the polynomial is identically zero.

    Examples
    --------
    >>> from sklearn_slaf.eoc._roots import polynomial_roots
    >>> polynomial_roots([-0.02, 1.0, 1e-33], 0.0, 1e4)  # the 1e-33 is round-off on [0, 1e4]
    [0.02]
    >>> [round(r, 12) for r in polynomial_roots([2.0, -3.0, 1.0], 0.0, 10.0)]
    [1.0, 2.0]
    """
    c = np.asarray(coefs, dtype=float).ravel()
    if not np.isfinite(c).all():
        raise ValueError("polynomial coefficients must be finite.")
    if not np.any(c):
        return None
    if grid is None:
        grid = np.geomspace(max(lo, 1e-12), min(hi, 1e12), 2001)
    dc = _poly.polyder(c) if c.size > 1 else np.zeros(1)
    absc = np.abs(c)
    cand = _eigen_candidates(_trim_leading(c, hi))
    with np.errstate(over="ignore", invalid="ignore"):
        g = _poly.polyval(grid, c)
    cand += bracketed_roots(lambda x: float(_poly.polyval(x, c)), grid, g)
    roots = []
    for x in cand:
        if not lo * (1 - 1e-9) <= x <= hi * (1 + 1e-9):
            continue
        x = _newton(c, dc, min(max(x, lo), hi), lo, hi)
        with np.errstate(over="ignore", invalid="ignore"):
            res, size = abs(_poly.polyval(x, c)), _poly.polyval(abs(x), absc)
        if math.isfinite(size) and res <= _ACCEPT * size and lo <= x <= hi:
            roots.append(float(x))
    return _dedupe(roots, lambda x: _poly.polyval(x, c))


def bracketed_roots(fn: Callable[[float], float], grid: np.ndarray, values: np.ndarray | None = None) -> list[float]:
    """Roots of ``fn`` at every sign change (or exact zero) of ``fn`` on ``grid``.

    Each bracket is refined by Brent's method; ``values`` (``fn`` on ``grid``) may be
    given to save evaluations. Non-finite values break brackets rather than making them.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_slaf.eoc._roots import bracketed_roots
    >>> [round(r, 12) for r in bracketed_roots(np.cos, np.linspace(0, 4, 9))]
    [1.570796326795]
    """
    grid = np.asarray(grid, dtype=float)
    g = np.array([fn(x) for x in grid]) if values is None else np.asarray(values, dtype=float)
    out = [float(x) for x, v in zip(grid, g) if v == 0]
    ok = np.isfinite(g[:-1]) & np.isfinite(g[1:])
    for i in np.flatnonzero(ok & (np.sign(g[:-1]) * np.sign(g[1:]) < 0)):
        out.append(float(brentq(fn, grid[i], grid[i + 1], xtol=1e-300, rtol=4 * _EPS, maxiter=200)))
    return _dedupe(out, fn)
