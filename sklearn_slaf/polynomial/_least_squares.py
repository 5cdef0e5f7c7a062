"""The paper's "LLS" baseline: linear least squares on the SLNN's own monomial features."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import is_classifier
from sklearn.metrics import root_mean_squared_error

from ..network import module_of
from ._expansion import DEFAULT_MAX_TERMS
from ._transformer import PolynomialFeatureEquivalent

__all__ = ["LeastSquaresComparison", "compare_with_least_squares"]


@dataclass
class LeastSquaresComparison:
    """The SLNN polynomial against linear least squares on the same monomials.

    Attributes
    ----------
    degree : int
        Total degree ``D`` of the network's polynomial.
    n_terms : int
        Monomials including the constant, ``C(n + D, D)``.
    slnn_n_parameters : int
        Trainable parameters of the network (weights, biases, activation coefficients).
    lls_n_parameters : int
        Free parameters of the least-squares model: ``n_terms`` per output.
    rmse_train_slnn, rmse_train_lls : float
        Root-mean-square error on the training data.
    rmse_test_slnn, rmse_test_lls : float or None
        The same on the test data, when given.
    coef_distance : float
        Euclidean (Frobenius) distance between the two coefficient vectors, constant
        term included, in the expansion's coordinates.
    coef_relative_distance : float
        ``coef_distance`` divided by the norm of the SLNN's coefficients.
    penalty : str or None
        ``None`` (``LinearRegression``), ``"l2"`` (``Ridge``) or ``"l1"`` (``Lasso``).
    expansion : PolynomialFeatureEquivalent
        The fitted expansion.
    lls : estimator
        The fitted linear model.

    See Also
    --------
    compare_with_least_squares : builds it.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn_slaf import SLNNRegressor, compare_with_least_squares
    >>> X, y = load_diabetes(return_X_y=True)
    >>> X = X[:, [2, 3, 8]]
    >>> reg = SLNNRegressor((4,), degree=3, max_iter=30, dtype="float64", device="cpu", random_state=0)
    >>> cmp = compare_with_least_squares(reg, X[:300], y[:300], penalty="l2", alpha=1.0)
    >>> cmp.penalty, type(cmp.lls).__name__, cmp.rmse_test_slnn is None
    ('l2', 'Ridge', True)
    >>> sorted(cmp.as_dict())[:4]
    ['coef_distance', 'coef_relative_distance', 'degree', 'lls_n_parameters']
    >>> round(cmp.rmse_train_slnn, 1), round(cmp.rmse_train_lls, 1)
    (56.3, 53.5)
    """

    degree: int
    n_terms: int
    slnn_n_parameters: int
    lls_n_parameters: int
    rmse_train_slnn: float
    rmse_train_lls: float
    rmse_test_slnn: float | None
    rmse_test_lls: float | None
    coef_distance: float
    coef_relative_distance: float
    penalty: str | None
    expansion: PolynomialFeatureEquivalent = field(repr=False)
    lls: Any = field(repr=False)

    def as_dict(self) -> dict:
        """The numbers (without the fitted models)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("expansion", "lls")}

    def __str__(self) -> str:
        rows = [
            ("", "SLNN", "LLS"),
            ("free parameters", f"{self.slnn_n_parameters:,}", f"{self.lls_n_parameters:,}"),
            ("train RMSE", f"{self.rmse_train_slnn:.6g}", f"{self.rmse_train_lls:.6g}"),
        ]
        if self.rmse_test_slnn is not None:
            rows.append(("test RMSE", f"{self.rmse_test_slnn:.6g}", f"{self.rmse_test_lls:.6g}"))
        w = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = [f"degree {self.degree} polynomial, {self.n_terms:,} monomials; LLS penalty={self.penalty}"]
        lines += ["  ".join(c.rjust(w[i]) if i else c.ljust(w[i]) for i, c in enumerate(r)) for r in rows]
        lines.append(f"coefficient distance {self.coef_distance:.6g} (relative {self.coef_relative_distance:.3g})")
        return "\n".join(lines)


def _rmse(y, p) -> float:
    return float(root_mean_squared_error(np.asarray(y, dtype=np.float64).reshape(np.shape(p)), p))


def compare_with_least_squares(
    estimator,
    X,
    y,
    X_test=None,
    y_test=None,
    *,
    penalty: str | None = None,
    alpha: float = 1.0,
    coordinates: str = "standardized",
    max_terms: int = DEFAULT_MAX_TERMS,
) -> LeastSquaresComparison:
    """Compare a regression SLNN with least squares on its own polynomial features.

    The paper's "LLS" baseline: the network is a polynomial of degree ``D``, so fit a
    linear model on all monomials of degree ``<= D`` (the features of
    :class:`PolynomialFeatureEquivalent`) and compare errors, coefficients and the
    number of free parameters.

    Parameters
    ----------
    estimator : SLNNRegressor
        Fitted, or unfitted (then it is cloned and fitted on ``X, y``).
    X, y : array-like
        Training data (the least-squares fit uses them).
    X_test, y_test : array-like, optional
        Held-out data for test errors.
    penalty : {None, "l2", "l1"}, default=None
        ``LinearRegression`` (minimum-norm solution when there are more monomials than
        samples), ``Ridge(alpha)`` or ``Lasso(alpha)``.
    alpha : float, default=1.0
        Penalty strength for ``"l2"``/``"l1"``.
    coordinates : {"standardized", "raw"}, default="standardized"
        Coordinates of the features (see :class:`PolynomialFeatureEquivalent`); they
        change penalised fits and the coefficients, not ``LinearRegression``'s predictions.
    max_terms : int, default=2_000_000
        Passed to :class:`PolynomialFeatureEquivalent`.

    Returns
    -------
    LeastSquaresComparison

    Examples
    --------
    Three diabetes features and a degree-3 SLAF layer: 20 monomials (constant
    included) for 300 training rows, so least squares is well posed. It fits the
    training rows better, as it must (it is the best cubic there), and the network
    does better on the held-out rows:

    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn_slaf import SLNNRegressor, compare_with_least_squares
    >>> X, y = load_diabetes(return_X_y=True)
    >>> X = X[:, [2, 3, 8]]  # bmi, bp, s5
    >>> reg = SLNNRegressor((4,), degree=3, max_iter=30, dtype="float64", device="cpu",
    ...                     random_state=0, extrapolation="continue")  # a polynomial on the test rows too
    >>> cmp = compare_with_least_squares(reg, X[:300], y[:300], X[300:], y[300:])
    >>> cmp.degree, cmp.n_terms, cmp.slnn_n_parameters, cmp.lls_n_parameters
    (3, 20, 25, 20)
    >>> round(cmp.rmse_train_slnn, 1), round(cmp.rmse_train_lls, 1)
    (56.3, 53.5)
    >>> round(cmp.rmse_test_slnn, 1), round(cmp.rmse_test_lls, 1)
    (54.8, 58.6)
    >>> print(cmp)  # doctest: +ELLIPSIS
    degree 3 polynomial, 20 monomials; LLS penalty=None
                        SLNN      LLS
    free parameters       25       20
    train RMSE       56.2...   53.521
    test RMSE        54.7...  58.5946
    coefficient distance ...
    """
    from sklearn.linear_model import Lasso, LinearRegression, Ridge

    if penalty not in (None, "l1", "l2"):
        raise ValueError(f"penalty must be None, 'l1' or 'l2'; got {penalty!r}.")
    if (X_test is None) != (y_test is None):
        raise ValueError("pass both X_test and y_test, or neither.")
    if not (hasattr(estimator, "fit") and hasattr(estimator, "get_params")):
        raise TypeError(
            f"estimator must be an SLNNRegressor (fitted or not); got {type(estimator).__name__}."
        )
    if is_classifier(estimator):
        raise ValueError("compare_with_least_squares compares regressors; got a classifier.")
    pfe = PolynomialFeatureEquivalent(estimator, coordinates=coordinates, max_terms=max_terms).fit(X, y)
    est = pfe.estimator_
    lls = {None: LinearRegression(), "l2": Ridge(alpha=alpha), "l1": Lasso(alpha=alpha, max_iter=10000)}[penalty]
    F = pfe.transform(X)
    lls.fit(F, y)
    c_slnn = np.column_stack([np.atleast_1d(pfe.intercept_), np.atleast_2d(pfe.coef_)])
    c_lls = np.column_stack([np.atleast_1d(lls.intercept_), np.atleast_2d(lls.coef_)])
    dist = float(np.linalg.norm(c_slnn - c_lls))
    n_out = c_slnn.shape[0]
    module = module_of(est)
    test = (None, None)
    if X_test is not None:
        test = (_rmse(y_test, est.predict(X_test)), _rmse(y_test, lls.predict(pfe.transform(X_test))))
    return LeastSquaresComparison(
        degree=pfe.degree_,
        n_terms=pfe.n_output_features_ + 1,
        slnn_n_parameters=int(sum(p.numel() for p in module.parameters() if p.requires_grad)),
        lls_n_parameters=(pfe.n_output_features_ + 1) * n_out,
        rmse_train_slnn=_rmse(y, est.predict(X)),
        rmse_train_lls=_rmse(y, lls.predict(F)),
        rmse_test_slnn=test[0],
        rmse_test_lls=test[1],
        coef_distance=dist,
        coef_relative_distance=dist / max(float(np.linalg.norm(c_slnn)), np.finfo(float).tiny),
        penalty=penalty,
        expansion=pfe,
        lls=lls,
    )
