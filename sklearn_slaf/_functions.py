"""Named standard activations in numpy and torch form (one place for each name)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import erf, expit
from torch import nn

__all__ = ["INIT_TARGETS", "STANDARD_ACTIVATIONS", "numpy_function", "torch_module"]


def _gelu(x):
    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


_NUMPY: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": lambda x: np.asarray(x, dtype=float),
    "relu": lambda x: np.maximum(x, 0.0),
    "tanh": np.tanh,
    "sigmoid": expit,
    "swish": lambda x: x * expit(x),
    "gelu": _gelu,
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.01 * x),
    "softplus": lambda x: np.logaddexp(0.0, x),
}

_TORCH: dict[str, Callable[[], nn.Module]] = {
    "identity": nn.Identity,
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "swish": nn.SiLU,
    "gelu": nn.GELU,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
    "softplus": nn.Softplus,
}

#: Functions an SLAF layer can be initialised to (least-squares fit).
INIT_TARGETS: tuple[str, ...] = ("identity", "relu", "tanh", "swish", "gelu", "sigmoid")
#: Standard activations usable in hybrid networks and the mean-field tools.
STANDARD_ACTIVATIONS: tuple[str, ...] = tuple(_NUMPY)


def numpy_function(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """Vectorised numpy form of a named activation."""
    if name not in _NUMPY:
        raise ValueError(f"activation must be one of {STANDARD_ACTIVATIONS}; got {name!r}.")
    return _NUMPY[name]


def torch_module(name: str) -> nn.Module:
    """A fresh :class:`torch.nn.Module` computing a named activation."""
    if name not in _TORCH:
        raise ValueError(f"activation must be one of {STANDARD_ACTIVATIONS}; got {name!r}.")
    return _TORCH[name]()

