"""Exact expansion of an SLNN into its polynomial (the algebra behind PolynomialFeatureEquivalent).

An SLNN whose hidden layers are all SLAF layers with a polynomial basis, followed by a
linear output, is a polynomial of total degree ``D = k_1 * ... * k_L`` in its inputs
(affine maps keep the degree, activations multiply it). :func:`expand_network` computes that polynomial exactly,
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
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from .. import basis as _basis
from ..activation import SLAF
from ..network import SLNN
from ._algebra import MonomialIndex, n_monomials

__all__ = ["DEFAULT_MAX_TERMS", "ConditioningWarning", "NetworkPolynomial", "expand_network"]

#: Default refusal threshold on the number of monomials ``C(n + D, D)``.
DEFAULT_MAX_TERMS = 2_000_000


class ConditioningWarning(UserWarning):
    """The polynomial form is exact algebra, but evaluating it loses many digits.

    :class:`PolynomialFeatureEquivalent` warns with it when its ``condition_`` (terms
    summed relative to the output) passes ``1e8``, or when the monomial form does not
    reproduce the network to round-off; typically raw coordinates of features far from
    zero. A subclass of :class:`UserWarning`.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from sklearn_slaf import ConditioningWarning, PolynomialFeatureEquivalent, SLNNRegressor
    >>> X = 1e4 + np.random.default_rng(0).normal(size=(60, 2))  # far from zero
    >>> reg = SLNNRegressor((4,), degree=3, max_iter=5, dtype="float64", device="cpu",
    ...                     random_state=0).fit(X, X[:, 0] - X[:, 1])
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always", ConditioningWarning)
    ...     pfe = PolynomialFeatureEquivalent(reg, coordinates="raw").fit(X)
    >>> any(issubclass(w.category, ConditioningWarning) for w in caught), pfe.condition_ > 1e8
    (True, True)
    """


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

    See Also
    --------
    expand_network : builds it from an :class:`~sklearn_slaf.network.SLNN`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_slaf.polynomial import NetworkPolynomial
    >>> powers = np.array([[0, 0], [1, 0], [0, 1], [2, 0], [1, 1], [0, 2]])  # 1, v0, v1, v0^2, v0 v1, v1^2
    >>> poly = NetworkPolynomial(powers, coef=np.array([[1.0, 2.0, 0.0, 0.0, -1.0, 0.0]]),  # 1 + 2 v0 - v0 v1
    ...                          degree=2, coordinates="raw", input_offset=np.zeros(2), input_scale=np.ones(2))
    >>> poly(np.array([[1.0, 3.0], [2.0, 0.5]])).ravel().tolist()
    [0.0, 4.0]
    >>> poly.monomials(np.array([[2.0, 3.0]])).tolist()
    [[1.0, 2.0, 3.0, 4.0, 6.0, 9.0]]
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
