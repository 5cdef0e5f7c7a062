"""Synthetic data of the SLAF paper: a sparse polynomial with a known answer, and two spirals."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params

__all__ = ["make_sparse_polynomial", "make_two_spirals"]


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_features": [Interval(Integral, 1, None, closed="left")],
        "n_terms": [Interval(Integral, 1, None, closed="left")],
        "degree": [Interval(Integral, 1, None, closed="left")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "return_polynomial": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def make_sparse_polynomial(n_samples: int = 1000, n_features: int = 5, n_terms: int = 10, degree: int = 3,
                           noise: float = 0.1, random_state=None, return_polynomial: bool = False):
    """Draw ``X ~ N(0, I)`` and ``y`` a sum of ``n_terms`` random monomials of degree ``degree``.

    Each monomial is a product of ``degree`` features drawn with replacement (``x0 x2^2``
    is possible) with a coefficient drawn uniformly from ``[-1, 1]``; monomials drawn twice
    are merged. Gaussian noise of ``noise`` times the noiseless target's standard deviation
    is added. A network of SLAF layers of total degree ``>= degree`` can represent the
    target exactly, and :class:`~sklearn_slaf.PolynomialFeatureEquivalent` can read the
    terms back.

    Parameters
    ----------
    n_samples, n_features : int, default=1000, 5
    n_terms : int, default=10
        Monomials drawn (fewer remain when some coincide).
    degree : int, default=3
    noise : float, default=0.1
        Noise standard deviation, relative to the standard deviation of the noiseless ``y``.
    random_state : int, RandomState instance or None, default=None
    return_polynomial : bool, default=False
        Also return the true polynomial.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    powers : ndarray of shape (n_kept_terms, n_features)
        Exponents of the true monomials (as in ``PolynomialFeatureEquivalent.powers_``);
        only with ``return_polynomial``.
    coef : ndarray of shape (n_kept_terms,)
        Their coefficients; only with ``return_polynomial``.

    Examples
    --------
    >>> from sklearn_slaf.datasets import make_sparse_polynomial
    >>> X, y, powers, coef = make_sparse_polynomial(200, n_features=3, n_terms=2, noise=0.0,
    ...                                             random_state=0, return_polynomial=True)
    >>> import numpy as np
    >>> bool(np.allclose(y, (np.prod(X[:, None, :] ** powers, axis=2) * coef).sum(axis=1)))
    True
    """
    rng = check_random_state(random_state)
    X = rng.standard_normal((n_samples, n_features))
    picks = rng.randint(n_features, size=(n_terms, degree))
    drawn = rng.uniform(-1.0, 1.0, size=n_terms)
    merged: dict[tuple, float] = {}
    for pick, c in zip(picks, drawn):
        key = tuple(np.bincount(pick, minlength=n_features))
        merged[key] = merged.get(key, 0.0) + c
    powers = np.array(sorted(merged, reverse=True), dtype=np.intp)
    coef = np.array([merged[tuple(p)] for p in powers])
    y = (np.prod(X[:, None, :] ** powers, axis=2) * coef).sum(axis=1)
    if noise > 0:
        y = y + noise * np.std(y) * rng.standard_normal(n_samples)
    return (X, y, powers, coef) if return_polynomial else (X, y)


@validate_params(
    {
        "n_samples": [Interval(Integral, 2, None, closed="left")],
        "turns": [Interval(Real, 0, None, closed="neither")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_two_spirals(n_samples: int = 10000, *, turns: float = 1.5, noise: float = 0.0, random_state=None):
    """Draw the authors' two interleaved spirals, a two-class problem no cubic can separate.

    Class 0 lies on the arm ``t (cos t, sin t) / t_max`` for ``t`` in ``[0, t_max]``,
    ``t_max = 2 pi turns``, and class 1 on its reflection through the origin. ``t`` is drawn
    as ``t_max sqrt(U)``, so that the points are spread evenly along the arm's length
    rather than crowded at the centre. The inputs lie in the unit disc.

    Parameters
    ----------
    n_samples : int, default=10000
        Points in all; class 0 gets ``n_samples // 2`` of them, class 1 the rest.
    turns : float, default=1.5
        Turns of each arm around the origin (the authors' spirals: 1.5, that is ``t_max = 3 pi``).
    noise : float, default=0.0
        Standard deviation of Gaussian noise added to each coordinate.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
    y : ndarray of shape (n_samples,)
        The arm of each point, 0 or 1.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_slaf.datasets import make_two_spirals
    >>> X, y = make_two_spirals(1000, random_state=0)
    >>> np.bincount(y).tolist()
    [500, 500]
    >>> bool(np.allclose(X[y == 1], -X[y == 0]))  # the second arm is the first reflected
    True
    >>> bool(np.linalg.norm(X, axis=1).max() <= 1.0)
    True
    """
    rng = check_random_state(random_state)
    n0 = n_samples // 2
    t_max = 2 * np.pi * turns
    t = np.sqrt(rng.uniform(0.0, 1.0, n0)) * t_max
    arm = np.column_stack([t * np.cos(t), t * np.sin(t)]) / t_max
    X = np.vstack([arm, -arm])
    y = np.repeat([0, 1], n0)
    if n_samples - 2 * n0:  # an odd count: one more point on the second arm
        t1 = np.sqrt(rng.uniform(0.0, 1.0, 1)) * t_max
        X = np.vstack([X, -np.column_stack([t1 * np.cos(t1), t1 * np.sin(t1)]) / t_max])
        y = np.append(y, 1)
    if noise > 0:
        X = X + noise * rng.standard_normal(X.shape)
    return X, y
