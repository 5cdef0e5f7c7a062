"""The exact polynomial form of a trained SLNN, and the least-squares comparison.

An SLNN whose hidden layers are all SLAF layers with a polynomial basis, followed by a
linear output, is a polynomial of total degree ``D = k_1 * ... * k_L`` in its inputs
(``../DESIGN.md`` section 3). :func:`expand_network` computes that polynomial exactly,
by polynomial algebra on the folded activations
(:meth:`sklearn_slaf.activation.SLAF.power_coefficients`), layer by layer:

- a hidden unit's pre-activation is an affine combination of the previous layer's
  polynomials (one matrix product over a dense graded monomial index);
- its activation is the unit's power series applied to that polynomial (row-wise
  truncated products through precomputed pair maps);
- in the last hidden layer the units are never formed one by one: the output needs only
  ``sum_u c_u z_u^s``, and for ``s = s1 + s2`` that is the matrix
  ``G = Z_{s2}^T diag(c) Z_{s1}`` scattered onto the monomial index by one bincount. For
  the paper's Boston network (13 inputs, widths 128 and 64, degrees 4 and 2: 203,490
  monomials) this is a 2380 x 64 x 2380 matrix product and a 5.7M-entry bincount.

:class:`PolynomialFeatureEquivalent` wraps the result as a scikit-learn transformer whose
features are the monomials (named and ordered as by
:class:`~sklearn.preprocessing.PolynomialFeatures`), and
:func:`compare_with_least_squares` fits linear least squares on the same features (the
paper's "LLS" baseline).
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field
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
from threadpoolctl import threadpool_limits

from . import basis as _basis
from ._polyalgebra import MonomialIndex, n_monomials
from .activation import SLAF
from .network import SLNN

__all__ = [
    "DEFAULT_MAX_TERMS",
    "ConditioningWarning",
    "NetworkPolynomial",
    "expand_network",
    "PolynomialFeatureEquivalent",
    "LeastSquaresComparison",
    "compare_with_least_squares",
]

#: Default refusal threshold on the number of monomials ``C(n + D, D)``.
DEFAULT_MAX_TERMS = 2_000_000


class ConditioningWarning(UserWarning):
    """The polynomial form is exact algebra, but evaluating it loses many digits."""


# --------------------------------------------------------------------------- network reading
@dataclass
class _Layer:
    weight: np.ndarray  # (units, fan_in)
    bias: np.ndarray  # (units,)
    power: np.ndarray  # (units, k + 1) ascending activation coefficients


def _f64(t: torch.Tensor) -> np.ndarray:
    return t.detach().to(device="cpu", dtype=torch.float64).numpy().copy()


def _slaf_of(act: torch.nn.Module, i: int) -> tuple[SLAF, torch.nn.BatchNorm1d | None]:
    """The SLAF of hidden layer ``i`` (and a BatchNorm before it), or a clear refusal."""
    bn = None
    if isinstance(act, torch.nn.Sequential) and len(act) == 2 and isinstance(act[0], torch.nn.BatchNorm1d):
        bn, act = act[0], act[1]
    if not isinstance(act, SLAF):
        raise ValueError(
            f"hidden layer {i} uses a {type(act).__name__} activation, which is not a polynomial: only networks "
            f"whose hidden layers are all SLAF layers (hidden_activation='slaf') with a polynomial basis have an "
            f"exact polynomial form. Hybrid networks (ReLU, tanh, ... layers) cannot be expanded."
        )
    if not _basis.is_polynomial(act.basis):
        raise ValueError(
            f"hidden layer {i} uses basis={act.basis!r}, which is not a polynomial family; the expansion needs "
            f"one of {_basis.POLYNOMIAL_BASES}."
        )
    if bn is not None and not bn.track_running_stats:
        raise ValueError(
            f"hidden layer {i} has a BatchNorm1d without running statistics, which normalises with batch "
            f"statistics at inference and is therefore not a fixed polynomial."
        )
    return act, bn


def _read_network(module: SLNN) -> tuple[list[_Layer], np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Float64 CPU copies of everything the expansion needs; the module is not touched."""
    if not isinstance(module, SLNN):
        raise TypeError(f"expected an sklearn_slaf.network.SLNN module; got {type(module).__name__}.")
    layers = []
    for i, (lin, act) in enumerate(zip(module.hidden, module.activations)):
        slaf, bn = _slaf_of(act, i)
        W, b = _f64(lin.weight), _f64(lin.bias)
        if bn is not None:  # evaluation-mode batch norm is affine: fold it into the linear layer
            g = 1.0 / np.sqrt(_f64(bn.running_var) + bn.eps)
            shift = -_f64(bn.running_mean) * g
            if bn.affine:
                g, shift = g * _f64(bn.weight), shift * _f64(bn.weight) + _f64(bn.bias)
            W, b = W * g[:, None], b * g + shift
        layers.append(_Layer(W, b, slaf.power_coefficients()))
    scaling = {k: _f64(getattr(module, k)) for k in ("input_offset", "input_scale", "output_offset", "output_scale")}
    return layers, _f64(module.output.weight), _f64(module.output.bias), scaling


def _fmt_bytes(b: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if b < 1024 or unit == "TiB":
            return f"{b:.1f} {unit}" if unit != "B" else f"{int(b)} B"
        b /= 1024
    raise AssertionError  # pragma: no cover


def _memory_estimate(n: int, layers: list[_Layer], n_outputs: int) -> int:
    """Bytes of the result (coefficients and int64 exponents) plus the largest working set."""
    N = n_monomials(n, int(np.prod([lay.power.shape[1] - 1 for lay in layers], dtype=np.int64)))
    work, d = 0, 1
    for i, lay in enumerate(layers):
        units, k = lay.power.shape[0], lay.power.shape[1] - 1
        if i < len(layers) - 1:
            work = max(work, 8 * units * n_monomials(n, d * k) * 2 + 4 * n_monomials(n, d) * n_monomials(n, d * k))
        else:
            h = -(-k // 2)
            work = max(work, 8 * units * n_monomials(n, d * h) + 4 * n_monomials(n, d * h) ** 2 + 8 * (1 << 20))
        d *= k
    return N * (8 * n_outputs + 8 * n + 1) + work


# --------------------------------------------------------------------------- the expansion
@dataclass
class NetworkPolynomial:
    """A network's polynomial: ``y_o = sum_m coef[o, m] * prod_j v_j ** powers[m, j]``.

    Attributes
    ----------
    powers : ndarray of shape (n_monomials, n_features)
        Exponents in :class:`~sklearn.preprocessing.PolynomialFeatures` order, row 0 the
        constant monomial.
    coef : ndarray of shape (n_outputs, n_monomials)
        Coefficients, ``coef[:, 0]`` the constant term.
    degree : int
        Total degree ``D``.
    coordinates : {"standardized", "raw"}
        The variables ``v``: the network's standardised inputs
        ``(x - input_offset) / input_scale``, or the raw inputs ``x``.
    input_offset, input_scale : ndarray of shape (n_features,)
        The network's input standardisation.
    """

    powers: np.ndarray
    coef: np.ndarray
    degree: int
    coordinates: str
    input_offset: np.ndarray
    input_scale: np.ndarray
    _index: MonomialIndex | None = field(default=None, repr=False, compare=False)

    def variables(self, X: np.ndarray) -> np.ndarray:
        """The polynomial's variables at raw inputs ``X``."""
        X = np.asarray(X, dtype=np.float64)
        return (X - self.input_offset) / self.input_scale if self.coordinates == "standardized" else X

    def monomials(self, X: np.ndarray) -> np.ndarray:
        """All monomials at raw inputs ``X``, shape ``(n_samples, n_monomials)``."""
        if self._index is None:
            self._index = MonomialIndex(self.powers.shape[1], self.degree)
        return self._index.evaluate(self.variables(X))

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Evaluate the polynomial at raw inputs ``X``; returns ``(n_samples, n_outputs)``."""
        return self.monomials(X) @ self.coef.T


def _check_max_terms(n: int, D: int, layers: list[_Layer], n_outputs: int, max_terms: int) -> int:
    N = n_monomials(n, D)
    if N > max_terms:
        mem = _fmt_bytes(_memory_estimate(n, layers, n_outputs))
        raise ValueError(
            f"the network is a polynomial of degree {D} in {n} inputs, with C({n}+{D}, {D}) = {N:,} monomials; "
            f"that exceeds max_terms={max_terms:,}. Expanding it would need about {mem} of memory (coefficients, "
            f"exponents and working arrays). Lower the SLAF degrees (total degree is the product of the layers' "
            f"degrees), use fewer input features, or raise max_terms if you have the memory."
        )
    return N


def expand_network(
    module: SLNN, *, coordinates: str = "standardized", max_terms: int = DEFAULT_MAX_TERMS
) -> NetworkPolynomial:
    """Expand an all-SLAF network into its exact polynomial.

    The network is read in evaluation mode (running statistics of the SLAF
    normalisation and of any batch norm before a SLAF), in float64 on the CPU; the
    module itself is neither moved nor modified.

    Parameters
    ----------
    module : SLNN
        The network. Every hidden layer must be a SLAF layer (optionally preceded by
        batch norm) with a polynomial basis.
    coordinates : {"standardized", "raw"}, default="standardized"
        Expand in the network's standardised inputs ``(x - input_offset) / input_scale``
        (well conditioned), or in the raw inputs (the scaling folded in by binomial
        expansion; see the conditioning note of :class:`PolynomialFeatureEquivalent`).
    max_terms : int, default=2_000_000
        Refuse, before allocating anything, when the number of monomials
        ``C(n + D, D)`` exceeds this.

    Returns
    -------
    NetworkPolynomial

    Raises
    ------
    ValueError
        For a hybrid network, the ``fourier`` basis, or more than ``max_terms`` monomials.

    Examples
    --------
    >>> import torch
    >>> from sklearn_slaf.network import SLNN
    >>> from sklearn_slaf.polynomial import expand_network
    >>> net = SLNN(3, (8, 4), degree=(2, 2), dtype=torch.float64,
    ...            generator=torch.Generator().manual_seed(0)).eval()
    >>> poly = expand_network(net)
    >>> poly.degree, poly.coef.shape
    (4, (1, 35))
    >>> x = torch.randn(5, 3, dtype=torch.float64)
    >>> bool(abs(poly(x.numpy()) - net(x).detach().numpy()).max() < 1e-10)
    True
    """
    if coordinates not in ("standardized", "raw"):
        raise ValueError(f"coordinates must be 'standardized' or 'raw'; got {coordinates!r}.")
    layers, W_out, b_out, scaling = _read_network(module)
    n, n_out = int(scaling["input_offset"].shape[0]), W_out.shape[0]
    D = int(np.prod([lay.power.shape[1] - 1 for lay in layers], dtype=np.int64)) if layers else 1
    _check_max_terms(n, D, layers, n_out, max_terms)
    idx = MonomialIndex(n, D)
    # The matrix products here are many small blocks; multi-threaded BLAS spends more time
    # synchronising than computing on them (10x slower on a busy 2-core machine), so use one thread.
    with threadpool_limits(limits=1, user_api="blas"):
        coef = _compose(idx, layers, W_out, b_out, n, D)
    idx.clear()  # the multiplication table is only needed while composing
    coef *= scaling["output_scale"][:, None]
    coef[:, 0] += scaling["output_offset"]
    if coordinates == "raw":
        s, o = scaling["input_scale"], scaling["input_offset"]
        coef = idx.substitute_affine(coef, 1.0 / s, -o / s)
        idx.clear()
    return NetworkPolynomial(idx.powers, coef, D, coordinates, scaling["input_offset"], scaling["input_scale"], idx)


def _compose(idx: MonomialIndex, layers: list[_Layer], W_out: np.ndarray, b_out: np.ndarray, n: int, D: int):
    """Coefficients (n_outputs, C(n + D, D)) of the network before output scaling."""
    n_out = W_out.shape[0]
    # H: the current layer's input polynomials (rows), degree d; initially the variables themselves
    H, d = np.zeros((n, n + 1)), 1
    H[:, 1:] = np.eye(n)
    coef = np.zeros((n_out, idx.size(D)))
    if not layers:
        coef[:, : n + 1] = W_out @ H
        coef[:, 0] += b_out
    for i, lay in enumerate(layers):
        Z = lay.weight @ H
        Z[:, 0] += lay.bias
        H = P = None  # free the previous layer before the next allocations
        A, k = lay.power, lay.power.shape[1] - 1
        if i < len(layers) - 1:
            P = _unit_powers(idx, Z, d, k)
            H = np.zeros((Z.shape[0], idx.size(d * k)))
            H[:, 0] = A[:, 0]
            for s in range(1, k + 1):
                H[:, : P[s].shape[1]] += A[:, s : s + 1] * P[s]
            d *= k
            continue
        # last hidden layer: the output is sum_s sum_u (W_out[o, u] A[u, s]) z_u^s; per-unit powers
        # are formed only up to h = ceil(k / 2), higher ones go through the Gram scatter
        h = -(-k // 2)
        P = _unit_powers(idx, Z, d, h)
        coef[:, 0] = b_out + W_out @ A[:, 0]
        for s in range(1, k + 1):
            C = W_out * A[:, s]
            if s <= h:
                coef[:, : P[s].shape[1]] += C @ P[s]
            else:
                for o in range(n_out):
                    idx.gram_scatter(P[h], h * d, P[s - h], (s - h) * d, C[o], coef[o])
    return coef


def _unit_powers(idx: MonomialIndex, Z: np.ndarray, d: int, k: int) -> list[np.ndarray | None]:
    """``[None, Z, Z^2, ..., Z^k]`` row-wise (unit by unit), ``Z^s`` of degree ``s * d``."""
    P: list[np.ndarray | None] = [None, Z]
    for s in range(2, k + 1):
        P.append(idx.rowmul(P[s - 1], (s - 1) * d, Z, d))
    return P


# --------------------------------------------------------------------------- the transformer
def _is_fitted(est: Any) -> bool:
    try:
        check_is_fitted(est)
    except (NotFittedError, TypeError):
        return False
    return True


def _module_of(est: Any) -> SLNN:
    module = getattr(est, "module_", None)
    if not isinstance(module, SLNN):
        raise ValueError(
            f"PolynomialFeatureEquivalent expands SLNNRegressor and SLNNClassifier models (estimators with an SLNN "
            f"`module_`); got {type(est).__name__}."
        )
    return module


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
    to float32 round-off). The same features give a like-for-like linear baseline, e.g.
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
    powers_ : ndarray of shape (n_output_features_, n_features_in_)
        Exponents of the monomials kept, in ``PolynomialFeatures(D)`` order, without
        the constant monomial (that is ``intercept_``).
    coef_ : ndarray of shape (n_output_features_,) or (n_outputs, n_output_features_)
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

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_regression
    >>> from sklearn_slaf import SLNNRegressor, PolynomialFeatureEquivalent
    >>> X, y = make_regression(n_samples=100, n_features=3, random_state=0)
    >>> reg = SLNNRegressor((8, 4), degree=(2, 2), max_iter=20, dtype="float64",
    ...                     device="cpu", random_state=0).fit(X, y)  # doctest: +SKIP
    >>> pfe = PolynomialFeatureEquivalent(reg).fit(X)  # doctest: +SKIP
    >>> pfe.degree_, pfe.n_output_features_  # doctest: +SKIP
    (4, 34)
    >>> pfe.get_feature_names_out()[:4].tolist()  # doctest: +SKIP
    ['x0', 'x1', 'x2', 'x0^2']
    >>> np.allclose(pfe.transform(X) @ pfe.coef_ + pfe.intercept_, reg.predict(X))  # doctest: +SKIP
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
        module = _module_of(est)
        if getattr(est, "n_features_in_", X.shape[1]) != X.shape[1]:
            raise ValueError(
                f"X has {X.shape[1]} features, but the estimator was fitted with {est.n_features_in_} features."
            )
        poly = expand_network(module, coordinates=self.coordinates, max_terms=self.max_terms)
        response = "decision_function" if is_classifier(est) else "predict"
        rows = np.arange(min(10, X.shape[0]))
        # keep a DataFrame's column names for an estimator fitted with them
        X_rows = _safe_indexing(X_in, rows) if hasattr(self, "feature_names_in_") else X[rows]
        y_net = np.asarray(getattr(est, response)(X_rows), dtype=np.float64)
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
        return self

    def transform(self, X):
        """The monomials of ``X`` (standardised first when ``coordinates="standardized"``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray or scipy.sparse.csr_matrix of shape (n_samples, n_output_features_)
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        T = (X - self._offset) / self._scale if self.coordinates == "standardized" else X
        F = MonomialIndex(X.shape[1], self.degree_).evaluate(T, columns=self._columns)
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
        ndarray of str objects of shape (n_output_features_,)
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

    def to_sympy(self, symbols=None, *, output=None):
        """The polynomial as a sympy expression (sympy is an optional dependency).

        Parameters
        ----------
        symbols : sequence of sympy.Symbol, optional
            One per input feature; default symbols named after ``feature_names_in_`` or
            ``x0, x1, ...`` (standardised inputs when ``coordinates="standardized"``).
        output : int, optional
            Which output; default all (a single expression for one output, else a list).

        Returns
        -------
        sympy.Expr or list of sympy.Expr

        Examples
        --------
        >>> pfe.to_sympy()  # doctest: +SKIP
        0.31*x0**2 + 1.2*x0 - 0.05
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

        outputs = range(coef.shape[0]) if output is None else [output]
        res = [expr(o) for o in outputs]
        return res[0] if len(res) == 1 else res

    def to_latex(self, *, output=None, precision=4, max_terms=20):
        r"""The polynomial as a LaTeX string (no dependency).

        Parameters
        ----------
        output : int, optional
            Which output; default all (one string, or a list for several outputs).
        precision : int, default=4
            Significant digits of the coefficients.
        max_terms : int or None, default=20
            Show the constant and the ``max_terms`` largest terms (in graded order,
            then ``+ \dots``); ``None`` shows all.

        Returns
        -------
        str or list of str

        Examples
        --------
        >>> pfe.to_latex(max_terms=2)  # doctest: +SKIP
        '-0.05 + 1.2 x_{0} + 0.31 x_{0}^{2}'
        """
        coef, intercept = self._coef_2d()
        names = [_latex_name(str(s)) for s in _check_feature_names_in(self, None)]
        outputs = range(coef.shape[0]) if output is None else [output]
        res = []
        for o in outputs:
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
            res.append(" ".join(parts))
        return res[0] if len(res) == 1 else res

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.target_tags.required = not _is_fitted(self.estimator)
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags


# --------------------------------------------------------------------------- least-squares comparison
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
    return float(np.sqrt(np.mean((np.asarray(y, dtype=np.float64).reshape(np.shape(p)) - p) ** 2)))


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
    >>> from sklearn.datasets import make_regression
    >>> from sklearn_slaf import SLNNRegressor, compare_with_least_squares
    >>> X, y = make_regression(n_samples=200, n_features=3, noise=5.0, random_state=0)
    >>> reg = SLNNRegressor((8,), degree=2, max_iter=50, random_state=0, device="cpu")
    >>> cmp = compare_with_least_squares(reg, X[:150], y[:150], X[150:], y[150:])  # doctest: +SKIP
    >>> cmp.n_terms, cmp.lls_n_parameters  # doctest: +SKIP
    (10, 10)
    >>> print(cmp)  # doctest: +SKIP
    """
    from sklearn.linear_model import Lasso, LinearRegression, Ridge

    if penalty not in (None, "l1", "l2"):
        raise ValueError(f"penalty must be None, 'l1' or 'l2'; got {penalty!r}.")
    if (X_test is None) != (y_test is None):
        raise ValueError("pass both X_test and y_test, or neither.")
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
    module = _module_of(est)
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
