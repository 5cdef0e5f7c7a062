"""PolynomialFeatureEquivalent: a trained SLNN as explicit monomial features and coefficients.

The expansion itself is :func:`~sklearn_slaf.polynomial.expand_network`; the comparison with
linear least squares on the same features is :func:`~sklearn_slaf.polynomial.compare_with_least_squares`.
"""

from __future__ import annotations

import copy
import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context, clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted, validate_data

from .._metrics import r2_score
from .._warnings import ExtrapolationWarning
from ..network import module_of
from ._algebra import MonomialIndex
from ._expansion import DEFAULT_MAX_TERMS, ConditioningWarning, expand_network
from ._export import export_pipeline
from ._sobol import SobolIndices, orthonormal_to_monomials, polynomial_sobol, univariate_basis_change

__all__ = ["PolynomialFeatureEquivalent"]

def _is_fitted(est: Any) -> bool:
    try:
        check_is_fitted(est)
    except (NotFittedError, TypeError):
        return False
    return True


_LATEX_ESCAPES = {"\\": r"\backslash{}", "{": r"\{", "}": r"\}", "_": r"\_", "^": r"\^{}", "%": r"\%",
                  "$": r"\$", "&": r"\&", "#": r"\#", "~": r"\sim{}", " ": r"\ "}


def _latex_name(name: str) -> str:
    if name.startswith("x") and name[1:].isdigit():
        return f"x_{{{name[1:]}}}"
    return r"\mathrm{" + "".join(_LATEX_ESCAPES.get(ch, ch) for ch in name) + "}"


def _latex_number(v: float, precision: int) -> str:
    mant, _, exp = f"{v:.{precision}g}".partition("e")
    return mant if not exp else rf"{mant} \cdot 10^{{{int(exp)}}}"


class PolynomialFeatureEquivalent(TransformerMixin, BaseEstimator):
    """The exact polynomial form of a fitted SLNN, as polynomial features.

    An :class:`~sklearn_slaf.SLNNRegressor` or :class:`~sklearn_slaf.SLNNClassifier`
    whose hidden layers are all SLAF layers with a polynomial basis is a polynomial of
    degree ``D = prod(degree)`` in its inputs. ``fit`` expands it exactly
    (:func:`expand_network`); ``transform`` returns the monomials, named and ordered as
    by ``PolynomialFeatures(D, include_bias=False)``, so that::

        transform(X) @ coef_.T + intercept_ == predict(X)            # regressor
        transform(X) @ coef_.T + intercept_ == decision_function(X)  # classifier

    to float64 round-off (for a network trained with ``dtype="float64"``; a float32
    network is expanded exactly as stored, and agrees with its own float32 predictions
    to float32 round-off), on every row inside the range the training rows gave each
    layer's inputs, and on every row for an estimator with ``extrapolation="continue"``
    (the default, ``"constant"``, holds the activations constant beyond that range, where
    the polynomial goes on). The same features give a like-for-like linear baseline, e.g.
    ``make_pipeline(PolynomialFeatureEquivalent(fitted), LassoCV())``, see also
    :func:`compare_with_least_squares`.

    Parameters
    ----------
    estimator : SLNNRegressor or SLNNClassifier
        A fitted estimator (used as is: ``fit`` only expands a copy of it), or an
        unfitted one, which ``fit`` clones and fits on ``X, y``. Note that
        :func:`sklearn.base.clone` (cross-validation, grid search) turns a fitted
        estimator into an unfitted one; wrap it in :class:`sklearn.frozen.FrozenEstimator`
        to keep it fitted through clones.
    coordinates : {"standardized", "raw"}, default="standardized"
        ``"standardized"`` expands in the network's own standardised inputs
        ``(x - input_offset) / input_scale`` (``transform`` standardises ``X`` the same
        way); the features are then monomials of standardised inputs and the
        coefficients are well scaled. ``"raw"`` folds the standardisation in, so the
        features are monomials of the raw ``X``. *Conditioning:* raw monomials of degree
        8 of a feature near 700 (Boston's TAX) are ~1e23 while their coefficients are
        tiny, and the raw form sums huge terms of alternating sign; digits lost grow like
        ``D * log10(1 + |mean| / std)``. ``fit`` measures this (``condition_``) and warns
        with a :class:`ConditioningWarning` beyond ``1e8``.
    max_terms : int, default=2_000_000
        Refuse (before allocating) when the number of monomials ``C(n + D, D)``
        exceeds this; the error states the count and the memory it would need.
    tol : float, default=0.0
        Drop the monomials whose largest absolute coefficient over the outputs is
        ``<= tol`` (so ``0.0`` drops only exact zeros). Dropped terms make the features
        a subset and the identity above approximate.
    sparse_output : bool or "auto", default="auto"
        Return a CSR matrix from ``transform``; ``"auto"`` does so when at most half of
        the entries are non-zero (CSR is then smaller than the dense array).

    Attributes
    ----------
    estimator_ : estimator
        The fitted estimator expanded (a deep copy of ``estimator`` if it was fitted).
    degree_ : int
        Total degree ``D`` of the polynomial.
    powers_ : ndarray of shape (n_output_features, n_features_in)
        Exponents of the monomials kept, in ``PolynomialFeatures(D)`` order, without
        the constant monomial (that is ``intercept_``).
    coef_ : ndarray of shape (n_output_features,) or (n_outputs, n_output_features)
        Coefficients: 1-D when the estimator's output is (a regressor fitted on 1-D
        ``y``, a binary classifier), as in :class:`~sklearn.linear_model.LinearRegression`.
    intercept_ : float or ndarray of shape (n_outputs,)
        Constant term.
    n_output_features_ : int
        Number of monomials kept (``C(n + D, D) - 1`` when none is dropped).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` in ``fit`` has string feature names.
    condition_ : float
        ``max_i sum_m |coef_m * monomial_m(x_i)| / max_i |output(x_i)|`` over (up to 10)
        fitting rows: about ``log10(condition_)`` digits are lost evaluating the
        monomial form.
    verification_error_ : float
        ``max |transform(X) @ coef_.T + intercept_ - output| / max |output|`` on those
        rows, with all terms (a check of the expansion against the network itself).

    See Also
    --------
    expand_network : the expansion of an :class:`~sklearn_slaf.network.SLNN` module.
    compare_with_least_squares : the SLNN polynomial against least squares on its features.
    sklearn.preprocessing.PolynomialFeatures : the same features, without coefficients.

    References
    ----------
    .. [1] M. Goyal, R. Goyal and B. Lall, "Learning Activation Functions: A new paradigm for
       understanding Neural Networks", arXiv:1906.09529, 2019 (an SLNN as a polynomial, and
       least squares on its features).
    .. [2] B. Sudret, "Global sensitivity analysis using polynomial chaos expansions",
       Reliability Engineering & System Safety 93(7), 2008: Sobol indices in closed form from
       an orthonormal polynomial expansion.

    Examples
    --------
    A network with one SLAF layer of degree 3 on three of the diabetes features is a
    cubic polynomial with ``C(3 + 3, 3) - 1 = 19`` non-constant monomials (on every row,
    the held-out ones too, with ``extrapolation="continue"``):

    >>> import numpy as np
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn_slaf import SLNNRegressor, PolynomialFeatureEquivalent
    >>> X, y = load_diabetes(return_X_y=True)
    >>> X = X[:, [2, 3, 8]]  # bmi, bp, s5
    >>> reg = SLNNRegressor((4,), degree=3, max_iter=30, dtype="float64", device="cpu",
    ...                     random_state=0, extrapolation="continue").fit(X[:300], y[:300])
    >>> pfe = PolynomialFeatureEquivalent(reg).fit(X[:300])
    >>> pfe.degree_, pfe.n_output_features_
    (3, 19)
    >>> pfe.get_feature_names_out()[:4].tolist()
    ['x0', 'x1', 'x2', 'x0^2']
    >>> bool(np.allclose(pfe.transform(X) @ pfe.coef_ + pfe.intercept_, reg.predict(X)))
    True
    >>> pfe.verification_error_ < 1e-12
    True
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit"])],
        "coordinates": [StrOptions({"standardized", "raw"})],
        "max_terms": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "sparse_output": ["boolean", StrOptions({"auto"})],
    }

    def __init__(self, estimator, *, coordinates="standardized", max_terms=DEFAULT_MAX_TERMS, tol=0.0,
                 sparse_output="auto"):
        self.estimator = estimator
        self.coordinates = coordinates
        self.max_terms = max_terms
        self.tol = tol
        self.sparse_output = sparse_output

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Expand the estimator (fitting it on ``X, y`` first if it is not fitted).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data; only validated (and used to check the expansion) when the estimator
            is already fitted.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), optional
            Targets, needed only to fit an unfitted estimator.

        Returns
        -------
        self
        """
        X_in = X
        X = validate_data(self, X, dtype=np.float64)
        if _is_fitted(self.estimator):
            est = copy.deepcopy(self.estimator)
        elif y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None: the estimator "
                f"{type(self.estimator).__name__} is not fitted, and fitting it needs targets. Pass a fitted "
                f"estimator, or y."
            )
        else:
            est = clone(self.estimator).fit(X_in, y)
        module = module_of(est)
        if getattr(est, "n_features_in_", X.shape[1]) != X.shape[1]:
            raise ValueError(
                f"X has {X.shape[1]} features, but the estimator was fitted with {est.n_features_in_} features."
            )
        poly = expand_network(module, coordinates=self.coordinates, max_terms=self.max_terms)
        response = "decision_function" if is_classifier(est) else "predict"
        rows = np.arange(min(10, X.shape[0]))
        # keep a DataFrame's column names for an estimator fitted with them
        X_rows = _safe_indexing(X_in, rows) if hasattr(self, "feature_names_in_") else X[rows]
        # the polynomial is the network's without a clamp (extrapolation="constant" clamps only beyond the training
        # range, where the two part ways): check the expansion against that network, the bounds lifted meanwhile
        layers = [layer for layer in getattr(module, "slaf_layers", []) if layer is not None]
        bounds = [(layer.input_low, layer.input_high) for layer in layers]
        try:
            for layer in layers:
                layer.set_input_bounds()
            with warnings.catch_warnings():  # a check of the expansion, not a prediction the user asked for
                warnings.simplefilter("ignore", ExtrapolationWarning)
                y_net = np.asarray(getattr(est, response)(X_rows), dtype=np.float64)
        finally:
            for layer, (low, high) in zip(layers, bounds):
                layer.set_input_bounds(low, high)
        terms = poly.monomials(X[rows])
        y_poly = terms @ poly.coef.T
        scale = np.abs(y_net).max() if y_net.size else 0.0
        self.verification_error_ = float(np.abs(y_poly.reshape(y_net.shape) - y_net).max() / scale) if scale else 0.0
        terms = np.abs(terms, out=terms)
        self.condition_ = float((terms @ np.abs(poly.coef.T)).max() / scale) if scale else 1.0
        del terms
        f32 = next(module.parameters()).dtype != torch.float64
        hint = " Use coordinates='standardized'." if self.coordinates == "raw" else ""
        if self.verification_error_ > (1e-3 if f32 else 1e-6):
            warnings.warn(
                f"the polynomial reproduces the network only to relative {self.verification_error_:.1e} on the "
                f"fitting data (expected float{'32' if f32 else '64'} round-off): evaluating the monomial form "
                f"loses digits here (condition_={self.condition_:.1e}).{hint}", ConditioningWarning, stacklevel=2,
            )
        elif self.condition_ > 1e8:
            warnings.warn(
                f"evaluating the degree-{poly.degree} monomial form sums terms up to {self.condition_:.1e} times "
                f"the output, so about {np.log10(self.condition_):.0f} of float64's 16 digits are lost.{hint}",
                ConditioningWarning, stacklevel=2,
            )
        coef, intercept = poly.coef[:, 1:], poly.coef[:, 0]
        keep = np.abs(coef).max(axis=0) > self.tol if self.tol > 0 else np.any(coef != 0, axis=0)
        self._columns = np.flatnonzero(keep) + 1
        one_d = y_net.ndim == 1
        self.estimator_ = est
        self.degree_ = int(poly.degree)
        self.powers_ = poly.powers[self._columns].astype(np.int64)
        self.coef_ = coef[:, keep][0] if one_d else coef[:, keep]
        self.intercept_ = float(intercept[0]) if one_d else intercept
        self.n_output_features_ = int(keep.sum())
        self._offset, self._scale = poly.input_offset, poly.input_scale
        self._data_range = (X.min(axis=0), X.max(axis=0)) if X.shape[0] else None  # for distribution="uniform"
        return self

    def transform(self, X):
        """The monomials of ``X`` (standardised first when ``coordinates="standardized"``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray or scipy.sparse.csr_matrix of shape (n_samples, n_output_features)
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        T = (X - self._offset) / self._scale if self.coordinates == "standardized" else X
        with np.errstate(over="ignore", invalid="ignore"):
            F = MonomialIndex(X.shape[1], self.degree_).evaluate(T, columns=self._columns)
        if not np.isfinite(F).all():
            raise FloatingPointError(
                f"the degree-{self.degree_} monomials of this input overflow float64 (it lies far outside the "
                "training range); the network's predictions would not be finite either."
            )
        if self.sparse_output is True or (
            self.sparse_output == "auto" and F.size and np.count_nonzero(F) <= F.size // 2
        ):
            return sp.csr_matrix(F)
        return F

    def get_feature_names_out(self, input_features=None):
        """Names of the monomials, as ``PolynomialFeatures`` writes them (``"x0^2 x3"``).

        Parameters
        ----------
        input_features : array-like of str, optional
            Input feature names; default ``feature_names_in_`` or ``x0, x1, ...``.

        Returns
        -------
        ndarray of str objects of shape (n_output_features,)
        """
        check_is_fitted(self)
        names = _check_feature_names_in(self, input_features)
        return np.asarray([self._term_name(row, names) for row in self.powers_], dtype=object)

    @staticmethod
    def _term_name(row: np.ndarray, names, sep: str = " ", pow_fmt: str = "{}^{}") -> str:
        nz = np.flatnonzero(row)
        return sep.join(names[j] if row[j] == 1 else pow_fmt.format(names[j], row[j]) for j in nz)

    def _coef_2d(self) -> tuple[np.ndarray, np.ndarray]:
        check_is_fitted(self)
        return np.atleast_2d(self.coef_), np.atleast_1d(self.intercept_)

    @property
    def terms_(self):
        """All terms, largest first: name, degree and coefficient(s).

        Sorted by the largest absolute coefficient over the outputs; the constant is
        the row named ``"1"``. A :class:`pandas.DataFrame` with columns ``term``,
        ``degree`` and ``coef`` (``coef_0, coef_1, ...`` for several outputs) when pandas
        is installed, otherwise a numpy structured array with the same fields. Use
        ``.head(10)`` (or ``[:10]``) for the ten largest.
        """
        coef, intercept = self._coef_2d()
        allc = np.column_stack([intercept, coef])
        names = np.concatenate([["1"], self.get_feature_names_out()]).astype(object)
        degree = np.concatenate([[0], self.powers_.sum(axis=1)])
        order = np.argsort(-np.abs(allc).max(axis=0), kind="stable")
        cols = ["coef"] if allc.shape[0] == 1 else [f"coef_{o}" for o in range(allc.shape[0])]
        try:
            import pandas as pd
        except ImportError:
            dtype = [("term", object), ("degree", np.int64)] + [(c, np.float64) for c in cols]
            out = np.empty(order.size, dtype=dtype)
            out["term"], out["degree"] = names[order], degree[order]
            for o, c in enumerate(cols):
                out[c] = allc[o, order]
            return out
        data = {"term": names[order], "degree": degree[order]}
        data.update({c: allc[o, order] for o, c in enumerate(cols)})
        return pd.DataFrame(data)

    def to_sympy(self, symbols=None, *, output: int = 0):
        """The polynomial as a sympy expression (sympy is an optional dependency).

        Parameters
        ----------
        symbols : sequence of sympy.Symbol, optional
            One per input feature; default symbols named after ``feature_names_in_`` or
            ``x0, x1, ...`` (standardised inputs when ``coordinates="standardized"``).
        output : int, default=0
            Which output (column of ``coef_``); call once per output for several.

        Returns
        -------
        sympy.Expr

        Examples
        --------
        >>> import numpy as np
        >>> import sympy
        >>> from sklearn_slaf import SLNNRegressor, PolynomialFeatureEquivalent
        >>> X = np.random.default_rng(0).normal(size=(100, 2))
        >>> reg = SLNNRegressor((4,), degree=2, max_iter=20, dtype="float64", device="cpu",
        ...                     random_state=0).fit(X, X[:, 0] * X[:, 1])
        >>> pfe = PolynomialFeatureEquivalent(reg).fit(X)
        >>> expr = pfe.to_sympy()
        >>> sorted(map(str, expr.free_symbols)), sympy.Poly(expr).total_degree()
        (['x0', 'x1'], 2)
        >>> z = pfe.transform(X[:1])[0, :2]  # the degree-1 monomials: the standardised inputs
        >>> value = float(expr.subs(dict(zip(sympy.symbols("x0 x1"), z))))
        >>> bool(np.isclose(value, reg.predict(X[:1])[0]))
        True
        """
        try:
            import sympy
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("to_sympy needs sympy: pip install sympy") from exc
        coef, intercept = self._coef_2d()
        if symbols is None:
            symbols = [sympy.Symbol(str(s)) for s in _check_feature_names_in(self, None)]
        if len(symbols) != self.n_features_in_:
            raise ValueError(f"symbols has {len(symbols)} entries; expected {self.n_features_in_}.")
        keys = [tuple(int(e) for e in row) for row in self.powers_]
        zero = (0,) * self.n_features_in_

        def expr(o: int):
            terms = dict(zip(keys, coef[o].tolist()))
            terms[zero] = float(intercept[o])
            return sympy.Poly.from_dict(terms, *symbols, domain="RR").as_expr()

        return expr(self._check_output(output, coef.shape[0]))

    def to_latex(self, *, output: int = 0, precision=4, max_terms=20):
        r"""The polynomial as a LaTeX string (no dependency).

        Parameters
        ----------
        output : int, default=0
            Which output (column of ``coef_``); call once per output for several.
        precision : int, default=4
            Significant digits of the coefficients.
        max_terms : int or None, default=20
            Show the constant and the ``max_terms`` largest terms (in graded order,
            then ``+ \dots``); ``None`` shows all.

        Returns
        -------
        str

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from sklearn_slaf import SLNNRegressor, PolynomialFeatureEquivalent
        >>> X, y = load_diabetes(return_X_y=True)
        >>> X = X[:, [2, 3, 8]]  # bmi, bp, s5
        >>> reg = SLNNRegressor((4,), degree=3, max_iter=30, dtype="float64",
        ...                     device="cpu", random_state=0).fit(X[:300], y[:300])
        >>> pfe = PolynomialFeatureEquivalent(reg).fit(X[:300])
        >>> print(pfe.to_latex(max_terms=2, precision=3))  # the constant and the 2 largest terms
        148 + 28.2 x_{0} + 24.1 x_{2} + \dots
        """
        coef, intercept = self._coef_2d()
        names = [_latex_name(str(s)) for s in _check_feature_names_in(self, None)]
        o = self._check_output(output, coef.shape[0])
        c = coef[o]
        sel = np.arange(c.size)
        if max_terms is not None and c.size > max_terms:
            sel = np.sort(np.argsort(-np.abs(c), kind="stable")[:max_terms])
        parts = [_latex_number(intercept[o], precision)]
        for m in sel:
            mono = self._term_name(self.powers_[m], names, sep=" ", pow_fmt="{}^{{{}}}")
            sign = "-" if c[m] < 0 else "+"
            parts.append(f"{sign} {_latex_number(abs(c[m]), precision)} {mono}")
        if sel.size < c.size:
            parts.append(r"+ \dots")
        return " ".join(parts)

    @staticmethod
    def _check_output(output, n_outputs: int) -> int:
        if isinstance(output, bool) or not isinstance(output, Integral) or not 0 <= output < n_outputs:
            raise ValueError(f"output must be an integer in [0, {n_outputs}); got {output!r}.")
        return int(output)

    def sobol_indices(self, distribution: str = "normal", X=None, *, output: int = 0,
                      interactions=None) -> SobolIndices:
        """Exact Sobol indices of the polynomial: which inputs and interactions carry its variance.

        An exact change of basis of the expanded polynomial into the orthonormal
        polynomials of the inputs' distribution (see :func:`polynomial_sobol`), no sampling.
        The inputs are taken as independent.

        Parameters
        ----------
        distribution : {"normal", "uniform", "empirical"}, default="normal"
            ``"normal"``: independent standard normal in the model's standardised
            coordinates (the raw inputs ``N(offset, scale^2)``); ``"uniform"``: uniform on
            each input's range in the ``X`` given to ``fit`` (or in ``X``); ``"empirical"``:
            each column of ``X`` with its own values, independent of the others.
        X : array-like of shape (n_samples, n_features), optional
            Data for ``"uniform"`` (its range) and ``"empirical"`` (required).
        output : int, default=0
            Which output (column of ``coef_``).
        interactions : sequence of sequence of int, optional
            Sets of input indices whose exact share of the variance to report.

        Returns
        -------
        SobolIndices
            ``first_order``, ``total``, ``by_order`` (additive, pairwise, ...),
            ``interactions``; ``table()`` gives a DataFrame.

        Raises
        ------
        ValueError
            A degenerate range or too few distinct values for the distribution, a
            constant polynomial.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_slaf import SLNNRegressor, PolynomialFeatureEquivalent
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(300, 3))
        >>> reg = SLNNRegressor((8,), degree=2, max_iter=200, random_state=0, dtype="float64").fit(
        ...     X, X[:, 0] + X[:, 1] * X[:, 2])
        >>> s = PolynomialFeatureEquivalent(reg).fit(X).sobol_indices()
        >>> bool(s.total[0] > s.first_order[0] - 1e-12), round(float(s.by_order.sum()), 12)
        (True, 1.0)
        """
        return self._sobol(distribution, X, output, interactions)[0]

    def _sobol(self, distribution, X, output, interactions=None) -> tuple[SobolIndices, list[np.ndarray]]:
        """The Sobol indices of one output and the per-input basis changes they were computed with."""
        check_is_fitted(self)
        coef, intercept = self._coef_2d()
        o = self._check_output(output, coef.shape[0])
        bases = self._sobol_bases(distribution, X)
        s = polynomial_sobol(self.powers_, coef[o], float(intercept[o]), bases,
                             feature_names=_check_feature_names_in(self, None), interactions=interactions)
        return s, bases

    def compact(self, n_terms: int | None = None, *, tol: float | None = None, distribution: str = "normal",
                X=None, output: int = 0) -> PolynomialFeatureEquivalent:
        """The polynomial truncated to its most important terms, L2-optimally under ``distribution``.

        The truncation keeps the largest coefficients in the orthonormal basis of the
        inputs' law (:meth:`sobol_indices`), which is the best approximation with that many
        basis terms in mean square under that law, and converts back to monomials.

        Parameters
        ----------
        n_terms : int, optional
            Orthonormal terms to keep (the constant not counted).
        tol : float, optional
            Instead: keep the fewest terms whose dropped share of the variance is at most
            ``tol``. Give exactly one of ``n_terms`` and ``tol``.
        distribution, X, output
            As for :meth:`sobol_indices`.

        Returns
        -------
        PolynomialFeatureEquivalent
            A copy whose ``powers_``, ``coef_`` and ``intercept_`` are the compact form of
            that output (``transform``, ``terms_``, ``to_latex`` and ``to_sympy`` all read
            it), with ``compact_r2_``: the R² of the compact form against the full
            polynomial under ``distribution`` (exact: one minus the dropped variance share).

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_slaf import SLNNRegressor, PolynomialFeatureEquivalent
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(300, 3))
        >>> reg = SLNNRegressor((8,), degree=2, max_iter=200, random_state=0, dtype="float64").fit(
        ...     X, X[:, 0] + X[:, 1] * X[:, 2])
        >>> small = PolynomialFeatureEquivalent(reg).fit(X).compact(n_terms=2)
        >>> 0 < small.compact_r2_ <= 1, small.n_output_features_ <= 9
        (True, True)
        """
        if (n_terms is None) == (tol is None):
            raise ValueError("give exactly one of n_terms and tol.")
        s, bases = self._sobol(distribution, X, output)
        items = [(k, v) for k, v in s.coefficients.items() if any(k) and v != 0.0]
        items.sort(key=lambda kv: -abs(kv[1]))
        sq = np.array([v * v for _, v in items])
        if n_terms is not None:
            if isinstance(n_terms, bool) or not isinstance(n_terms, Integral) or n_terms < 1:
                raise ValueError(f"n_terms must be an integer >= 1; got {n_terms!r} (0 terms would be the mean).")
            m = min(int(n_terms), len(items))
        else:
            if not 0 <= tol < 1:
                raise ValueError(f"tol (the variance share that may be dropped) must be in [0, 1); got {tol!r}.")
            # the share dropped after keeping 1, 2, ... terms, as sums of the dropped tails: exactly 0
            # after the last (a total minus a running sum leaves round-off, and tol=0 would then keep
            # a single term)
            tails = np.append(np.cumsum(sq[::-1])[::-1], 0.0)[1:]
            m = int(np.argmax(tails / s.variance <= tol)) + 1 if items else 0
        kept = dict(items[:m])
        kept[(0,) * self.n_features_in_] = s.mean
        powers, coef, intercept = orthonormal_to_monomials(kept, bases)
        # columns of the kept monomials in the full graded index: match base-(D + 1) keys of the exponents
        weights = (self.degree_ + 1) ** np.arange(self.n_features_in_, dtype=np.int64)
        full = MonomialIndex(self.n_features_in_, self.degree_).powers.astype(np.int64) @ weights
        order_full = np.argsort(full)
        cols = order_full[np.searchsorted(full, powers @ weights, sorter=order_full)]
        order = np.argsort(cols, kind="stable")  # keep PolynomialFeatures' graded order
        out = copy.copy(self)
        out._columns, out.powers_ = cols[order], powers[order].astype(np.int64)
        out.coef_, out.intercept_ = coef[order], intercept
        out.n_output_features_ = int(cols.size)
        out.compact_r2_ = float(1.0 - sq[m:].sum() / s.variance)
        return out

    def partial_dependence(self, feature: int, values, *, distribution: str = "normal", X=None,
                           output: int = 0) -> np.ndarray:
        """Exact partial dependence on one input: ``E[f(x) | x_feature = v]`` for each ``v`` in ``values``.

        The other inputs are averaged out in closed form under ``distribution``, taken as
        independent: every monomial's other powers are replaced by their moments. This is the
        mean plus the first-order (main-effect) component of the variance decomposition of
        :meth:`sobol_indices`. It equals scikit-learn's brute-force ``partial_dependence``
        when the data's joint distribution is the product of its marginals (a full grid)
        and ``distribution="empirical"``, and is otherwise what that estimate converges to
        for independent inputs, with no sampling error.

        Parameters
        ----------
        feature : int
            Index of the input.
        values : array-like of shape (n_values,)
            Values of that input, in the units of ``X``.
        distribution, X, output
            As for :meth:`sobol_indices`.

        Returns
        -------
        ndarray of shape (n_values,)
            For a classifier, of the decision function (the logit of the positive class,
            or of class ``output``).

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_slaf import SLNNRegressor, PolynomialFeatureEquivalent
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(300, 2))
        >>> reg = SLNNRegressor((8,), degree=2, max_iter=50, random_state=0, dtype="float64",
        ...                     extrapolation="continue").fit(X, X[:, 0] ** 2)  # its polynomial on the grid too
        >>> pfe = PolynomialFeatureEquivalent(reg).fit(X)
        >>> pd = pfe.partial_dependence(0, [-1.0, 0.0, 1.0], distribution="empirical", X=X)
        >>> pd.shape
        (3,)
        >>> brute = [reg.predict(np.column_stack([np.full(300, v), X[:, 1]])).mean() for v in (-1.0, 0.0, 1.0)]
        >>> bool(np.allclose(pd, brute))  # the mean prediction with feature 0 set to each value
        True
        """
        check_is_fitted(self)
        if isinstance(feature, bool) or not isinstance(feature, Integral) or not 0 <= feature < self.n_features_in_:
            raise ValueError(f"feature must be an input index in [0, {self.n_features_in_}); got {feature!r}.")
        coef, intercept = self._coef_2d()
        o = self._check_output(output, coef.shape[0])
        v = np.asarray(values, dtype=np.float64).ravel()
        if not np.isfinite(v).all():
            raise ValueError("values must be finite.")
        moments = [T[:, 0] for T in self._sobol_bases(distribution, X)]  # E[c^a] = T[a, 0] (psi_0 = 1)
        w = coef[o].copy()
        for j in range(self.n_features_in_):
            if j != feature:
                w *= moments[j][self.powers_[:, j]]
        by_power = np.bincount(self.powers_[:, feature], weights=w, minlength=1)
        if self.coordinates == "standardized":
            v = (v - self._offset[feature]) / self._scale[feature]
        return float(intercept[o]) + np.polynomial.polynomial.polyval(v, by_power)

    def compact_curve(self, n_terms=None, *, distribution: str = "normal", X=None, y=None, output: int = 0):
        """Accuracy of the compact forms against the number of terms kept (:meth:`compact`).

        Parameters
        ----------
        n_terms : sequence of int, optional
            Term counts to evaluate; by default about 20 counts spaced geometrically from 1
            to every orthonormal term.
        distribution, output
            As for :meth:`compact`.
        X : array-like of shape (n_samples, n_features), optional
            Data on which to also score each compact form against the full polynomial
            (and, with ``y``, against the targets); also the data of ``"uniform"`` and
            ``"empirical"``.
        y : array-like of shape (n_samples,), optional
            Targets for the R² against the data (regressors).

        Returns
        -------
        pandas.DataFrame or dict of ndarray
            Columns ``n_terms``, ``n_monomials``, ``r2_distribution`` (exact R² against the
            full polynomial under ``distribution``: one minus the dropped variance share),
            and with ``X``: ``r2_model`` (against the full polynomial on ``X``) and with
            ``y``: ``r2_data``. A DataFrame when pandas is installed.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_slaf import SLNNRegressor, PolynomialFeatureEquivalent
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(300, 3))
        >>> reg = SLNNRegressor((8,), degree=2, max_iter=100, random_state=0, dtype="float64").fit(
        ...     X, X[:, 0] + X[:, 1] * X[:, 2])
        >>> curve = PolynomialFeatureEquivalent(reg).fit(X).compact_curve([1, 2, 9], X=X)
        >>> [round(float(r), 6) for r in curve["r2_distribution"]][-1]
        1.0
        """
        check_is_fitted(self)
        s, _ = self._sobol(distribution, X, output)
        total = sum(1 for k, v in s.coefficients.items() if any(k) and v != 0.0)
        if n_terms is None:
            n_terms = np.unique(np.geomspace(1, max(total, 1), num=min(20, total)).round().astype(int))
        counts = [int(m) for m in n_terms]
        if not counts or min(counts) < 1:
            raise ValueError(f"n_terms must hold integers >= 1; got {list(n_terms)!r}.")
        # transform validates X itself (and keeps its feature names, which a validated copy would lose)
        full = None if X is None else self._polynomial_output(self, X, output)
        yv = None if y is None else np.asarray(y, dtype=np.float64).ravel()
        if yv is not None and (full is None or yv.shape[0] != full.shape[0]):
            raise ValueError("y needs X, with one target per row of X.")
        rows = {"n_terms": [], "n_monomials": [], "r2_distribution": []}
        if full is not None:
            rows["r2_model"] = []
        if yv is not None:
            rows["r2_data"] = []
        for m in counts:
            small = self.compact(n_terms=min(m, total), distribution=distribution, X=X, output=output)
            rows["n_terms"].append(min(m, total))
            rows["n_monomials"].append(small.n_output_features_)
            rows["r2_distribution"].append(small.compact_r2_)
            if full is not None:
                pred = self._polynomial_output(small, X, 0)
                rows["r2_model"].append(r2_score(full, pred))
            if yv is not None:
                rows["r2_data"].append(r2_score(yv, pred))
        table = {k: np.asarray(v) for k, v in rows.items()}
        try:
            import pandas as pd
        except ImportError:
            return table
        return pd.DataFrame(table)

    @staticmethod
    def _polynomial_output(pfe, X, output: int) -> np.ndarray:
        coef, intercept = pfe._coef_2d()
        return pfe.transform(X) @ coef[output] + intercept[output]

    def to_sklearn(self, feature_map: str = "auto"):
        """The polynomial as a plain scikit-learn pipeline: no torch needed to load or run it.

        Every step is a stock scikit-learn class, so the pipeline pickles with joblib, loads
        with ``skops.io`` trusting scikit-learn types only, and converts to ONNX with
        ``skl2onnx`` (``pip install sklearn-slaf[onnx]``; tested with onnxruntime, float64
        input). Its ``predict`` (and a classifier's ``decision_function`` and
        ``predict_proba``) is the network's to float64 round-off.

        Parameters
        ----------
        feature_map : {"auto", "full", "sparse"}, default="auto"
            ``"full"``: ``StandardScaler`` (the network's input standardisation, for
            ``coordinates="standardized"``) -> ``PolynomialFeatures(degree_)`` -> a
            ``LinearRegression`` (regressors) or ``LogisticRegression`` (classifiers) with
            the polynomial's coefficients, zero on the monomials it does not keep.
            ``"sparse"``: a ``ColumnTransformer`` with one branch per set of inputs the kept
            monomials use (that set's scaling and ``PolynomialFeatures`` up to the degree
            needed there) -> the same head: a compact form then computes a handful of
            columns instead of every monomial of the full degree. ``"auto"`` takes the one
            that computes fewer columns.

        Returns
        -------
        sklearn.pipeline.Pipeline

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_slaf import SLNNRegressor, PolynomialFeatureEquivalent
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(100, 2))
        >>> reg = SLNNRegressor((4,), degree=2, max_iter=20, random_state=0, dtype="float64").fit(X, X[:, 0])
        >>> pipe = PolynomialFeatureEquivalent(reg).fit(X).to_sklearn()
        >>> bool(np.allclose(pipe.predict(X), reg.predict(X), rtol=1e-9, atol=1e-12))
        True
        """
        check_is_fitted(self)
        return export_pipeline(self, feature_map)

    def _sobol_bases(self, distribution: str, X) -> list[np.ndarray]:
        """Per input, the change of basis into the orthonormal polynomials of its law, in our coordinates."""
        std = self.coordinates == "standardized"
        off, scale = np.asarray(self._offset, float), np.asarray(self._scale, float)
        top = self.powers_.max(axis=0, initial=0)
        Xv = None if X is None else validate_data(self, X, reset=False, dtype=np.float64)
        bases = []
        for j in range(self.n_features_in_):
            if distribution == "normal":
                a, b = (0.0, 1.0) if std else (off[j], scale[j])
                bases.append(univariate_basis_change("normal", int(top[j]), alpha=a, beta=b))
            elif distribution == "uniform":
                if Xv is None and self._data_range is None:
                    raise ValueError("distribution='uniform' needs X (fit saw no rows).")
                lo, hi = (Xv.min(axis=0), Xv.max(axis=0)) if Xv is not None else self._data_range
                if not hi[j] > lo[j]:
                    raise ValueError(
                        f"input {j} has the degenerate range [{lo[j]:g}, {hi[j]:g}]: a uniform distribution on it "
                        "has no variance; use distribution='normal', or X with a spread in that column."
                    )
                mid, half = (lo[j] + hi[j]) / 2, (hi[j] - lo[j]) / 2
                a, b = ((mid - off[j]) / scale[j], half / scale[j]) if std else (mid, half)
                bases.append(univariate_basis_change("uniform", int(top[j]), alpha=a, beta=b))
            elif distribution == "empirical":
                if Xv is None:
                    raise ValueError("distribution='empirical' needs X, whose columns give the distributions.")
                col = (Xv[:, j] - off[j]) / scale[j] if std else Xv[:, j]
                bases.append(univariate_basis_change("empirical", int(top[j]), sample=col))
            else:
                raise ValueError(f"distribution must be 'normal', 'uniform' or 'empirical'; got {distribution!r}.")
        return bases

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.target_tags.required = not _is_fitted(self.estimator)
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags

