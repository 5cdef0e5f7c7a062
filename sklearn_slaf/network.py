"""The self-learnable neural network (SLNN) module."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from numbers import Integral

import torch
from torch import nn

from . import basis as _basis
from ._batch_weights import BatchNorm1d
from ._functions import STANDARD_ACTIVATIONS, torch_module
from ._validation import check_positive_int
from .activation import SLAF

__all__ = ["SLNN", "WEIGHT_INITS", "WeightInit", "HIDDEN_ACTIVATIONS", "draw_linear_", "module_of"]

WEIGHT_INITS: tuple[str, ...] = ("xavier", "he", "default")

#: ``weight_init`` may also be ``fn(net, generator)``, which draws every linear layer itself.
WeightInit = Callable[["SLNN", "torch.Generator | None"], object]
#: Per-layer activation names: ``"slaf"``, a standard activation, or either with ``"+bn"``
#: (batch normalisation before the activation, the paper's hybrid layers).
HIDDEN_ACTIVATIONS: tuple[str, ...] = ("slaf",) + STANDARD_ACTIVATIONS


def _per_layer(value, n_layers: int, name: str) -> list:
    if isinstance(value, (str, Integral)) or value is None:
        return [value] * n_layers
    value = list(value)
    if len(value) != n_layers:
        raise ValueError(f"{name} has {len(value)} entries but there are {n_layers} hidden layers.")
    return value


def _parse_activation(name: str) -> tuple[str, bool]:
    if not isinstance(name, str):
        raise ValueError(f"hidden_activation entries must be strings; got {name!r}.")
    base, bn = (name[:-3], True) if name.endswith("+bn") else (name, False)
    if base not in HIDDEN_ACTIVATIONS:
        raise ValueError(
            f"hidden_activation must be one of {HIDDEN_ACTIVATIONS}, optionally with '+bn'; got {name!r}."
        )
    return base, bn


class SLNN(nn.Module):
    """Feed-forward network of linear layers and (self-learnable) activations.

    ``x -> (x - input_offset) / input_scale -> [Linear -> activation] * L -> Linear
    -> * output_scale + output_offset``. The input and output affine maps are buffers
    (identity by default) that the estimators set from the training data; being affine
    they keep an all-SLAF network an exact polynomial of degree
    :attr:`total_degree` in its raw inputs.

    Parameters
    ----------
    n_inputs : int
        Number of input features.
    hidden_layer_sizes : sequence of int, default=(64,)
        Width of each hidden layer; ``()`` gives a linear model.
    n_outputs : int, default=1
        Width of the linear output layer.
    degree : int or sequence of int, default=4
        SLAF degree, one for all layers or one per hidden layer (e.g. the paper's
        ``(4, 2)``); entries for non-SLAF layers are ignored.
    basis : str or sequence of str, default="power"
        Basis family of the SLAF layers (see :mod:`sklearn_slaf.basis`), one or per layer.
    hidden_activation : str or sequence of str, default="slaf"
        ``"slaf"`` or a standard activation (``"relu"``, ``"tanh"``, ...), optionally
        suffixed ``"+bn"`` for batch normalisation before it; one or per layer.
    coef_sharing : {"layer", "unit"} or int, default="layer"
        Coefficient sharing of the SLAF layers (see :class:`~sklearn_slaf.activation.SLAF`).
    normalize_basis : bool, default=True
        Mean-variance normalise the basis elements.
    normalize_momentum, normalize_eps, gate, init_std
        Passed to every :class:`~sklearn_slaf.activation.SLAF` layer.
    activation_init : str, default="identity"
        Initial function of the SLAF layers (see :class:`~sklearn_slaf.activation.SLAF`).
    weight_init : {"xavier", "he", "default"} or callable, default="xavier"
        Linear-layer initialisation: Glorot-uniform weights and zero biases, He-normal
        (fan-in) weights and zero biases, torch's own ``nn.Linear`` scheme, or a callable
        ``fn(net, generator)`` that draws the layers itself, such as
        :func:`sklearn_slaf.eoc.edge_of_chaos_init` (the estimators' ``"edge_of_chaos"``).
    generator : torch.Generator, optional
        CPU generator for every random draw; the global generator is never touched.
    device, dtype : optional
        Where and in which precision to create the parameters.

    Examples
    --------
    >>> import torch
    >>> from sklearn_slaf.network import SLNN
    >>> net = SLNN(13, (128, 64), degree=(4, 2), generator=torch.Generator().manual_seed(0))
    >>> net.total_degree
    8
    >>> net(torch.randn(5, 13)).shape
    torch.Size([5, 1])
    """

    def __init__(
        self,
        n_inputs: int,
        hidden_layer_sizes: Sequence[int] = (64,),
        n_outputs: int = 1,
        *,
        degree: int | Sequence[int] = 4,
        basis: str | Sequence[str] = "power",
        hidden_activation: str | Sequence[str] = "slaf",
        coef_sharing: str | int = "layer",
        normalize_basis: bool = True,
        normalize_momentum: float | None = 0.1,
        normalize_eps: float = 1e-5,
        gate: bool = False,
        activation_init: str = "identity",
        init_std: float = 0.1,
        weight_init: str | WeightInit = "xavier",
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        n_inputs, n_outputs = check_positive_int(n_inputs, "n_inputs"), check_positive_int(n_outputs, "n_outputs")
        sizes = [hidden_layer_sizes] if isinstance(hidden_layer_sizes, Integral) else list(hidden_layer_sizes)
        if any(isinstance(s, bool) or not isinstance(s, Integral) or s < 1 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive integers; got {hidden_layer_sizes!r}.")
        if not (callable(weight_init) or weight_init in WEIGHT_INITS):
            raise ValueError(f"weight_init must be one of {WEIGHT_INITS} or a callable; got {weight_init!r}.")
        n = len(sizes)
        acts = [_parse_activation(a) for a in _per_layer(hidden_activation, n, "hidden_activation")]
        degrees = _per_layer(degree, n, "degree")
        bases = _per_layer(basis, n, "basis")
        kw = {"device": torch.device("cpu") if device is None else device, "dtype": dtype}
        self.n_inputs, self.n_outputs = int(n_inputs), int(n_outputs)
        self.hidden_layer_sizes = tuple(int(s) for s in sizes)
        self.weight_init = weight_init
        widths = [self.n_inputs, *self.hidden_layer_sizes]
        self.hidden = nn.ModuleList(
            _linear(a, b, **kw) for a, b in zip(widths[:-1], widths[1:])
        )
        layers = []
        for width, (act, bn), k, fam in zip(self.hidden_layer_sizes, acts, degrees, bases):
            if act == "slaf":
                mod = SLAF(
                    width, k, fam, coef_sharing=coef_sharing, normalize_basis=normalize_basis,
                    normalize_momentum=normalize_momentum, normalize_eps=normalize_eps, gate=gate,
                    activation_init=activation_init, init_std=init_std, generator=generator, **kw,
                )
            else:
                mod = torch_module(act)
            if bn:
                # torch's layer, whose batch statistics can also weight the rows (sample weights)
                mod = nn.Sequential(BatchNorm1d(width, **kw), mod)
            layers.append(mod)
        self.activations = nn.ModuleList(layers)
        self.output = _linear(widths[-1], self.n_outputs, **kw)
        # float64 whatever the network's dtype: the input map is computed in the input's precision
        self.register_buffer("input_offset", torch.zeros(self.n_inputs, device=kw["device"], dtype=torch.float64))
        self.register_buffer("input_scale", torch.ones(self.n_inputs, device=kw["device"], dtype=torch.float64))
        self.register_buffer("output_offset", torch.zeros(self.n_outputs, **kw))
        self.register_buffer("output_scale", torch.ones(self.n_outputs, **kw))
        self.reset_weights(generator)

    @property
    def linear_layers(self) -> list[nn.Linear]:
        """All linear layers in order, the output layer last."""
        return [*self.hidden, self.output]

    @property
    def slaf_layers(self) -> list[SLAF | None]:
        """Per hidden layer, its :class:`SLAF` module, or ``None`` for any other activation."""
        return [a if isinstance(a, SLAF) else None for a in self.activations]

    @property
    def batch_statistics(self) -> dict[str, bool]:
        """Which kinds of layer normalise with batch statistics in training.

        ``{"slaf": ..., "batchnorm": ...}``: a normalised SLAF layer (it falls back to its
        running statistics on a batch of one row) and batch normalisation (which cannot
        train on one row).
        """
        return {
            "slaf": any(layer is not None and layer.normalize_basis for layer in self.slaf_layers),
            "batchnorm": any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.modules()),
        }

    @property
    def total_degree(self) -> int | None:
        """Degree of the network as a polynomial in its inputs (``None`` if it is not one)."""
        d = 1
        for layer in self.slaf_layers:
            if layer is None or not _basis.is_polynomial(layer.basis):
                return None
            d *= layer.degree
        return d

    @torch.no_grad()
    def set_scaling(self, input_offset=None, input_scale=None, output_offset=None, output_scale=None) -> None:
        """Set the affine input and output maps (any argument left ``None`` is kept)."""
        for name, v in (
            ("input_offset", input_offset), ("input_scale", input_scale),
            ("output_offset", output_offset), ("output_scale", output_scale),
        ):
            if v is not None:
                buf = getattr(self, name)
                buf.copy_(torch.as_tensor(v, dtype=buf.dtype, device=buf.device).reshape(buf.shape))

    @torch.no_grad()
    def reset_weights(self, generator: torch.Generator | None = None, scheme: str | WeightInit | None = None) -> None:
        """Initialise the linear layers with ``scheme`` (default: ``self.weight_init``)."""
        scheme = self.weight_init if scheme is None else scheme
        if callable(scheme):
            scheme(self, generator)
            return
        for lin in self.linear_layers:
            fan_in, fan_out = lin.in_features, lin.out_features
            if scheme == "xavier":
                draw_linear_(lin, generator, ("uniform", math.sqrt(6.0 / (fan_in + fan_out))))
            elif scheme == "he":
                draw_linear_(lin, generator, ("normal", math.sqrt(2.0 / fan_in)))
            elif scheme == "default":
                bound = 1.0 / math.sqrt(fan_in)
                draw_linear_(lin, generator, ("uniform", bound), ("uniform", bound))
            else:
                raise ValueError(f"weight_init must be one of {WEIGHT_INITS} or a callable; got {scheme!r}.")

    def standardize(self, x: torch.Tensor) -> torch.Tensor:
        """The input map ``(x - input_offset) / input_scale``, in ``x``'s precision, cast to the network's dtype.

        A float64 ``x`` is standardised in float64 before the cast, so a float32 network
        keeps what a float64 one would of a column such as ``1e6 + 0.01 z`` (cast first,
        it would keep three distinct values).
        """
        off, scale = self.input_offset, self.input_scale
        if off.dtype != x.dtype:
            off, scale = off.to(x.dtype), scale.to(x.dtype)
        h = (x - off) / scale
        dtype = self.output.weight.dtype
        return h if h.dtype == dtype else h.to(dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.standardize(x)
        for lin, act in zip(self.hidden, self.activations):
            h = act(lin(h))
        return torch.addcmul(self.output_offset, self.output(h), self.output_scale)

    def forward_observed(self, x: torch.Tensor, observe: Callable[[int, torch.Tensor], None]) -> torch.Tensor:
        """:meth:`forward`, calling ``observe(layer_index, pre_activation)`` before each hidden activation.

        For diagnostics that read the pre-activations (their range, for instance) without
        hooks, which would cost their registration and slow every module call.
        """
        h = self.standardize(x)
        for i, (lin, act) in enumerate(zip(self.hidden, self.activations)):
            h = lin(h)
            observe(i, h)
            h = act(h)
        return torch.addcmul(self.output_offset, self.output(h), self.output_scale)


def _linear(n_in: int, n_out: int, device=None, dtype=None) -> nn.Linear:
    """An ``nn.Linear`` whose own random initialisation leaves the global generator untouched.

    That initialisation is thrown away (``reset_weights`` draws from our generator), so it
    runs on a forked copy of the CPU generator's state. ``torch.nn.utils.skip_init`` would
    skip the draw, but its first call imports some 500 modules: half a second on a first fit.
    """
    with torch.random.fork_rng(devices=[]):
        return nn.Linear(n_in, n_out, dtype=dtype).to(device)


@torch.no_grad()
def draw_linear_(lin: nn.Linear, generator: torch.Generator | None, weight: tuple[str, float],
                 bias: tuple[str, float] | None = None) -> None:
    """Redraw a linear layer: ``("normal", std)`` or ``("uniform", bound)`` for each; no ``bias`` zeroes it.

    Draws happen on the CPU, so one CPU generator serves modules on any device, and the
    global generator is never used.

    Parameters
    ----------
    lin : torch.nn.Linear
        The layer, redrawn in place.
    generator : torch.Generator or None
        CPU generator of the draws (``None``: torch's default one).
    weight : (str, float)
        ``("normal", std)`` or ``("uniform", bound)`` for the weight.
    bias : (str, float) or None, default=None
        The same for the bias; ``None`` (or a scale of 0) sets it to zero.

    Examples
    --------
    >>> import torch
    >>> from sklearn_slaf.network import draw_linear_
    >>> lin = torch.nn.Linear(200, 100)
    >>> draw_linear_(lin, torch.Generator().manual_seed(0), ("uniform", 0.5))
    >>> float(lin.weight.detach().abs().max()) <= 0.5, float(lin.bias.detach().abs().max())
    (True, 0.0)
    >>> draw_linear_(lin, torch.Generator().manual_seed(0), ("normal", 0.1), ("normal", 1.0))
    >>> round(float(lin.weight.detach().std()), 2), float(lin.bias.detach().abs().max()) > 0
    (0.1, True)
    >>> w = lin.weight.clone()
    >>> draw_linear_(lin, torch.Generator().manual_seed(0), ("normal", 0.1))  # same seed, same draw
    >>> torch.equal(lin.weight, w)
    True
    """
    for param, spec in ((lin.weight, weight), (lin.bias, bias)):
        t = torch.zeros(param.shape, dtype=param.dtype)
        if spec is not None and spec[1] > 0:
            kind, scale = spec
            if kind == "normal":
                t.normal_(0.0, scale, generator=generator)
            else:
                t.uniform_(-scale, scale, generator=generator)
        param.copy_(t)


def module_of(obj) -> SLNN:
    """The :class:`SLNN` of ``obj``: the module itself or a fitted estimator's ``module_``.

    Parameters
    ----------
    obj : SLNN, SLNNRegressor or SLNNClassifier
        A module, or a fitted estimator.

    Returns
    -------
    SLNN

    Raises
    ------
    TypeError
        For anything else, an unfitted estimator included.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_slaf import SLNNRegressor
    >>> from sklearn_slaf.network import SLNN, module_of
    >>> net = SLNN(2, (4,), degree=3)
    >>> module_of(net) is net
    True
    >>> X = np.random.default_rng(0).normal(size=(20, 2))
    >>> reg = SLNNRegressor((4,), degree=3, max_iter=2, device="cpu", random_state=0).fit(X, X[:, 0])
    >>> module_of(reg) is reg.module_, module_of(reg).total_degree
    (True, 3)
    >>> module_of(SLNNRegressor())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: expected an SLNN module or a fitted SLNNRegressor/SLNNClassifier ...
    """
    if isinstance(obj, SLNN):
        return obj
    module = getattr(obj, "module_", None)
    if isinstance(module, SLNN):
        return module
    raise TypeError(
        f"expected an SLNN module or a fitted SLNNRegressor/SLNNClassifier (an SLNN in `module_`); got "
        f"{type(obj).__name__}. Fit the estimator first."
    )
