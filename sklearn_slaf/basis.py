"""Basis families for self-learnable activation functions.

Each family provides ``k`` elements ``g_1 .. g_k`` (the constant ``g_0 = 1`` is left
out: the activation's bias plays that role). All elements are evaluated at once with
a recurrence or a single vectorised call, never with ``k`` separate ``pow`` calls.

=============  ==========================================  ==========  ============
name           element ``g_i``                             polynomial  input map
=============  ==========================================  ==========  ============
``power``      ``x**i``                                    yes         none
``taylor``     ``x**i / i!``                               yes         none
``hermite``    ``He_i(x)`` (probabilists')                 yes         none
``chebyshev``  ``T_i(u)``, first kind                      yes         ``u = x / r``
``legendre``   ``P_i(u)``                                  yes         ``u = x / r``
``fourier``    ``sin((2j-1) pi u / 2)``, ``cos(j pi u)``   no          ``u = x / r``
=============  ==========================================  ==========  ============

``fourier`` is the "EMFN" basis of Goyal et al.: odd elements ``g_{2j-1}`` are the
sines, even elements ``g_{2j}`` the cosines. The families marked with an input map are
evaluated on ``u = x / r`` with a positive per-unit scale ``r`` chosen by the
activation layer (see :class:`sklearn_slaf.activation.SLAF`); the map is linear, so a
polynomial family stays an exact polynomial in ``x``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ._validation import check_positive_int

__all__ = [
    "BASES",
    "POLYNOMIAL_BASES",
    "evaluate",
    "is_polynomial",
    "needs_input_map",
    "polyval",
    "recurrence",
    "derivative",
    "to_power_matrix",
    "check_basis",
]

BASES: tuple[str, ...] = ("power", "taylor", "hermite", "chebyshev", "legendre", "fourier")
POLYNOMIAL_BASES: tuple[str, ...] = BASES[:-1]
_MAPPED = frozenset({"chebyshev", "legendre", "fourier"})


def check_basis(name: str) -> str:
    """Return ``name`` if it is a known basis family, else raise ``ValueError``.

    Examples
    --------
    >>> from sklearn_slaf.basis import check_basis
    >>> check_basis("legendre")
    'legendre'
    >>> check_basis("laguerre")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: basis must be one of ('power', 'taylor', 'hermite', 'chebyshev', 'legendre', 'fourier'); ...
    """
    if not isinstance(name, str) or name not in BASES:
        raise ValueError(f"basis must be one of {BASES}; got {name!r}.")
    return name


def _check_degree(degree: int) -> int:
    return check_positive_int(degree, "degree")


def is_polynomial(name: str) -> bool:
    """Whether every element of the family is a polynomial in its input.

    Examples
    --------
    >>> from sklearn_slaf.basis import BASES, is_polynomial
    >>> [name for name in BASES if not is_polynomial(name)]
    ['fourier']
    """
    return check_basis(name) in POLYNOMIAL_BASES


def needs_input_map(name: str) -> bool:
    """Whether the family is evaluated on a scaled input ``u = x / r``.

    Examples
    --------
    >>> from sklearn_slaf.basis import BASES, needs_input_map
    >>> [name for name in BASES if needs_input_map(name)]
    ['chebyshev', 'legendre', 'fourier']
    """
    return check_basis(name) in _MAPPED


def recurrence(name: str, n: int) -> tuple[float, float]:
    """Constants ``(a_n, b_n)`` of ``g_{n+1}(u) = a_n u g_n(u) - b_n g_{n-1}(u)``, ``n >= 1``.

    With ``g_0 = 1`` and ``g_1 = u`` this one table defines every polynomial family; the
    evaluation, the power-basis conversion and the streaming kernels all read it.

    Examples
    --------
    Legendre's ``P_2(u) = (3/2) u P_1(u) - (1/2) P_0(u) = (3 u^2 - 1) / 2``, and
    Hermite's ``He_3(u) = u He_2(u) - 2 He_1(u)``:

    >>> from sklearn_slaf.basis import recurrence
    >>> recurrence("legendre", 1), recurrence("hermite", 2)
    ((1.5, 0.5), (1.0, 2.0))
    """
    if name == "power":
        return 1.0, 0.0
    if name == "taylor":
        return 1.0 / (n + 1), 0.0
    if name == "chebyshev":
        return 2.0, 1.0
    if name == "legendre":
        return (2 * n + 1) / (n + 1), n / (n + 1)
    if name == "hermite":
        return 1.0, float(n)
    raise ValueError(f"basis={name!r} has no three-term recurrence; use one of {POLYNOMIAL_BASES}.")


def derivative(name: str, i: int) -> tuple[float, float | None]:
    """Constants ``(f_i, c_i)`` of ``g_i'(u) = f_i B_i(u)``, ``i >= 1``.

    ``c_i is None`` means ``B_i = g_{i-1}`` (power, taylor, hermite; ``g_0 = 1``). Otherwise
    ``B_i = B_{i-2} + c_i g_{i-1}`` with ``B_0 = 0`` and ``B_1 = 1``: ``B_i = U_{i-1}``
    (chebyshev, ``T_i' = i U_{i-1}``) or ``B_i = P_i'`` (legendre). The fused kernels'
    backward passes read this one table.

    Examples
    --------
    ``(u^3)' = 3 u^2``, and ``T_3' = 3 U_2`` with ``U_2 = B_1 + 2 T_2 = 4 u^2 - 1``:

    >>> from sklearn_slaf.basis import derivative
    >>> derivative("power", 3), derivative("chebyshev", 3)
    ((3.0, None), (3.0, 2.0))
    """
    if name in ("power", "hermite"):
        return float(i), None
    if name == "taylor":
        return 1.0, None
    if name == "chebyshev":
        return float(i), 2.0
    if name == "legendre":
        return 1.0, 2.0 * i - 1.0
    raise ValueError(f"basis={name!r} has no polynomial derivative table; use one of {POLYNOMIAL_BASES}.")


def _three_term(name: str, u: torch.Tensor, degree: int) -> torch.Tensor:
    out = [u]
    prev: torch.Tensor | float = 1.0
    for n in range(1, degree):
        a, b = recurrence(name, n)
        out.append(a * u * out[-1] - b * prev)
        prev = out[-2]
    return torch.stack(out, dim=-1)


def _fourier_freq_phase(degree: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    i = torch.arange(1, degree + 1, dtype=like.dtype, device=like.device)
    odd = (i % 2) == 1
    j = torch.ceil(i / 2)
    freq = torch.where(odd, (2 * j - 1) * (math.pi / 2), j * math.pi)
    phase = torch.where(odd, torch.zeros_like(i), torch.full_like(i, math.pi / 2))
    return freq, phase


def evaluate(name: str, u: torch.Tensor, degree: int) -> torch.Tensor:
    """Evaluate the elements ``g_1 .. g_degree`` of a basis family.

    Parameters
    ----------
    name : str
        Basis family, one of :data:`BASES`.
    u : torch.Tensor
        Input of any shape (already mapped by ``x / r`` for the families that need it).
    degree : int
        Number of elements ``k >= 1``.

    Returns
    -------
    torch.Tensor
        Shape ``u.shape + (degree,)``; ``[..., i - 1]`` holds ``g_i(u)``.

    Examples
    --------
    >>> import torch
    >>> from sklearn_slaf.basis import evaluate
    >>> evaluate("chebyshev", torch.tensor([0.5]), 3)
    tensor([[ 0.5000, -0.5000, -1.0000]])
    """
    check_basis(name)
    degree = _check_degree(degree)
    if name == "power":
        return torch.cumprod(u.unsqueeze(-1).expand(*u.shape, degree), dim=-1)
    if name == "taylor":
        i = torch.arange(1, degree + 1, dtype=u.dtype, device=u.device)
        return torch.cumprod(u.unsqueeze(-1) / i, dim=-1)
    if name == "fourier":
        freq, phase = _fourier_freq_phase(degree, u)
        return torch.sin(u.unsqueeze(-1) * freq + phase)
    return _three_term(name, u, degree)


def to_power_matrix(name: str, degree: int) -> np.ndarray:
    """Matrix ``M`` of shape ``(degree + 1, degree + 1)`` with ``g_i(u) = sum_j M[i, j] u**j``.

    Row 0 is the constant ``g_0 = 1``. Built from the same recurrences as
    :func:`evaluate`, on coefficient vectors, in float64 (exact for the integer
    coefficients of Chebyshev and Hermite up to degree 50).

    Raises
    ------
    ValueError
        For a family that is not polynomial (``fourier``).

    Examples
    --------
    ``T_2 = 2u^2 - 1`` and ``T_3 = 4u^3 - 3u``:

    >>> from sklearn_slaf.basis import to_power_matrix
    >>> to_power_matrix("chebyshev", 3).tolist()
    [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [-1.0, 0.0, 2.0, 0.0], [0.0, -3.0, 0.0, 4.0]]
    """
    check_basis(name)
    degree = _check_degree(degree)
    if not is_polynomial(name):
        raise ValueError(
            f"basis={name!r} is not a polynomial family and has no power-basis form; "
            f"use one of {POLYNOMIAL_BASES}."
        )
    m = np.zeros((degree + 1, degree + 1))
    m[0, 0] = 1.0
    m[1, 1] = 1.0
    for n in range(1, degree):
        a, b = recurrence(name, n)
        m[n + 1, 1:] = a * m[n, :-1]  # multiplication by u shifts the coefficients up
        m[n + 1] -= b * m[n - 1]
    return m


def polyval(coefs: torch.Tensor | np.ndarray, x: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Evaluate per-unit power-basis polynomials with Horner's rule.

    Parameters
    ----------
    coefs : array of shape (n_units, degree + 1)
        Ascending coefficients, as returned by
        :meth:`sklearn_slaf.activation.SLAF.power_coefficients`.
    x : array of shape (n_samples, n_units)
        Points; must be finite.

    Returns
    -------
    torch.Tensor of shape (n_samples, n_units)

    Examples
    --------
    Unit 0 is ``1 + 2 x^2``, unit 1 is ``x``:

    >>> import torch
    >>> from sklearn_slaf.basis import polyval
    >>> coefs = torch.tensor([[1.0, 0.0, 2.0], [0.0, 1.0, 0.0]])
    >>> polyval(coefs, torch.tensor([[1.0, 3.0], [2.0, -1.0]]))
    tensor([[ 3.,  3.],
            [ 9., -1.]])
    """
    coefs = torch.as_tensor(coefs)
    x = torch.as_tensor(x, dtype=coefs.dtype, device=coefs.device)
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x contains NaN or infinity; polyval needs finite input.")
    if coefs.ndim != 2 or x.shape[-1] != coefs.shape[0]:
        raise ValueError(
            f"coefs must have shape (n_units, degree + 1) matching x's last axis; "
            f"got coefs {tuple(coefs.shape)} and x {tuple(x.shape)}."
        )
    out = coefs[:, -1].expand_as(x).clone()
    for j in range(coefs.shape[1] - 2, -1, -1):
        out = out * x + coefs[:, j]
    return out
