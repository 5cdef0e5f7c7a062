"""Activations and parameters as given by the user, resolved for the mean-field maths.

Turns what :mod:`sklearn_slaf.eoc` accepts as an activation (a name, power
coefficients, a callable, a SLAF layer or another ``torch.nn.Module``) into a
:class:`~sklearn_slaf.eoc._moments.MeanFieldActivation`, and validates the scalars
(``sigma_w``, ``sigma_b``, ``q``) the maps of :mod:`sklearn_slaf.eoc._maps` take.

Part of :mod:`sklearn_slaf.eoc` (import the names from there).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from .. import basis as _basis
from .._functions import STANDARD_ACTIVATIONS, torch_module
from ..activation import SLAF
from ..network import SLNN
from ._moments import FunctionActivation, GaussianMoments, MeanFieldActivation, PolynomialActivation

__all__ = ["as_activation"]

_KINKED = {"relu": (0.0,), "leaky_relu": (0.0,), "elu": (0.0,)}


def _is_model(obj) -> bool:
    return isinstance(obj, SLNN) or isinstance(getattr(obj, "module_", None), SLNN)


def _module_function(module: nn.Module, n_units: int) -> Callable:
    """Evaluation-mode ``module`` as a float64 per-unit function (autograd-friendly)."""

    def fn(t: torch.Tensor) -> torch.Tensor:
        ref = next(iter(module.parameters()), None)
        ref = ref if ref is not None else next(iter(module.buffers()), torch.zeros(()))
        was = module.training
        module.eval()
        try:
            y = module(t.reshape(-1, n_units).to(device=ref.device, dtype=ref.dtype))
        finally:
            module.train(was)
        return y.reshape(t.shape).to(device="cpu", dtype=torch.float64)

    return fn


def _standard_name(module: nn.Module) -> str | None:
    for name in STANDARD_ACTIVATIONS:
        if type(module) is type(torch_module(name)):
            # a non-default slope or alpha is a different function from the named one
            if name == "leaky_relu" and module.negative_slope != 0.01:
                return None
            if name == "elu" and module.alpha != 1.0:
                return None
            return name
    return None


def as_activation(activation, *, kinks=None, name: str | None = None) -> MeanFieldActivation:
    """Wrap an activation for the mean-field tools.

    Parameters
    ----------
    activation : str, callable, array-like, SLAF, torch.nn.Module or MeanFieldActivation
        * a name from :data:`sklearn_slaf._functions.STANDARD_ACTIVATIONS` (``"relu"``,
          ``"tanh"``, ``"elu"``, ``"swish"``, ``"gelu"``, ...);
        * ascending power coefficients, shape ``(degree + 1,)`` or ``(n_units, degree + 1)``,
          or a :class:`numpy.polynomial.Polynomial` (exact moments);
        * an :class:`~sklearn_slaf.activation.SLAF` layer: its evaluation-mode polynomial
          (exact, moments averaged over units), or, for the ``fourier`` basis, the layer
          itself evaluated per unit by quadrature;
        * any elementwise callable (a torch function gets autograd derivatives; a
          numpy-only one finite differences).
    kinks : sequence of float, optional
        Where a callable bends (its quadrature is split there). Known for named
        activations.
    name : str, optional
        Label used in messages and plots.

    Returns
    -------
    MeanFieldActivation

    Raises
    ------
    ValueError
        Unknown name, non-finite coefficients.

    Examples
    --------
    >>> from sklearn_slaf.eoc import as_activation
    >>> as_activation("relu")
    FunctionActivation('relu')
    >>> as_activation([0.0, 0.0, 1.0]).is_polynomial
    True
    """
    if isinstance(activation, MeanFieldActivation):
        return activation
    if isinstance(activation, str):
        if activation == "identity":
            return PolynomialActivation([0.0, 1.0], name="identity")
        if activation not in STANDARD_ACTIVATIONS:
            raise ValueError(f"activation must be one of {STANDARD_ACTIVATIONS}; got {activation!r}.")
        return FunctionActivation(torch_module(activation), _KINKED.get(activation, ()), name=name or activation)
    if isinstance(activation, np.polynomial.Polynomial):
        return PolynomialActivation(activation.convert().coef, name=name or "polynomial")
    if isinstance(activation, SLAF):
        label = name or f"SLAF({activation.basis}, degree={activation.degree})"
        if _basis.is_polynomial(activation.basis):
            return PolynomialActivation(activation.power_coefficients(), name=label)
        return FunctionActivation(_module_function(activation, activation.n_units), (), activation.n_units, label)
    if isinstance(activation, (list, tuple, np.ndarray)):
        return PolynomialActivation(activation, name=name or "polynomial")
    if isinstance(activation, nn.Module):
        std = _standard_name(activation)
        if std is not None:
            return as_activation(std, name=name)
    if _is_model(activation):
        raise TypeError(
            "a network has one activation per layer: pass one layer, or use the per-layer functions "
            "(edge_of_chaos_per_layer, eoc_curve_per_layer, edge_of_chaos_init, propagation)."
        )
    if callable(activation):
        label = name or getattr(activation, "__name__", "function")
        return FunctionActivation(activation, () if kinks is None else kinks, name=label)
    raise TypeError(
        f"cannot use {type(activation).__name__} as an activation; see as_activation for what is accepted."
    )


def _layer_activation(module: nn.Module, width: int) -> MeanFieldActivation:
    """The activation of one hidden layer of an SLNN (evaluation mode)."""
    if isinstance(module, SLAF):
        return as_activation(module)
    std = _standard_name(module)
    if std is not None:
        return as_activation(std)
    return FunctionActivation(_module_function(module, width), (), width, name=type(module).__name__)


_SIGMA_MAX = 1e100  # sigma**2 times a moment must stay far from float64 overflow


def _check_sigma(name: str, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be a real number >= 0; got {value!r}.") from None
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a finite number >= 0; got {value!r}.")
    if v > _SIGMA_MAX:
        raise ValueError(
            f"{name}={v:g} is too large: its square scales the variance map, which would overflow; "
            f"use a value <= {_SIGMA_MAX:g}."
        )
    return v


def _check_q(q) -> np.ndarray:
    try:
        q = np.asarray(q, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"q (a variance) must be real numbers > 0; got {q!r}.") from None
    if not (np.isfinite(q).all() and (q > 0).all()):
        raise ValueError(f"q (a variance) must be finite and > 0; got {q!r}.")
    return q


def _check_derivative(act: MeanFieldActivation, m: GaussianMoments) -> None:
    if np.any(np.asarray(m.dphi2) <= 1e-300):
        raise ValueError(
            f"activation {act.name!r} has E[phi'^2] = 0 (it is constant under the Gaussian input): "
            "no signal propagates and there is no edge of chaos."
        )
