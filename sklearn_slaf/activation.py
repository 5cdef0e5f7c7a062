"""The self-learnable activation function (SLAF) layer."""

from __future__ import annotations

import weakref
from numbers import Integral

import numpy as np
import torch
from torch import nn

from . import _kernels
from . import basis as _basis
from ._batch_weights import WeightedStatistics, has_weight, weighted_mean_var
from ._functions import INIT_TARGETS, numpy_function
from ._gauss import normal_rule
from ._validation import check_positive_int

__all__ = ["SLAF", "COEF_SHARING"]

COEF_SHARING: tuple[str, ...] = ("layer", "unit")
_INIT_SCALE = 3.0  # initial input range r for mapped families: ~max |Z| over a few hundred draws
# per layer, the folded evaluation-mode coefficients and the state they were folded from;
# kept outside the module so that copies and pickles never carry a stale entry
_FOLDED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class SLAF(nn.Module, WeightedStatistics):
    r"""Self-learnable activation function: ``f(x) = b + sum_i c_i z_i(x)``.

    Each unit's pre-activation ``x`` is expanded in ``degree`` basis elements
    ``g_1(x) .. g_k(x)`` (see :mod:`sklearn_slaf.basis`); each element is mean-variance
    normalised per (unit, degree), ``z_i = (g_i - mu_i) / sqrt(var_i + eps)``, and the
    normalised elements are combined with learned coefficients ``c_i`` and a bias ``b``.
    Training mode normalises with batch statistics (biased variance) and updates running
    statistics; evaluation mode uses the running statistics, so the layer is then an
    ordinary polynomial in ``x`` for the polynomial families
    (:meth:`power_coefficients`).

    Parameters
    ----------
    n_units : int
        Number of units (width of the preceding linear layer).
    degree : int, default=4
        Number of basis elements ``k >= 1``.
    basis : {"power", "taylor", "hermite", "chebyshev", "legendre", "fourier"}, default="power"
        Basis family.
    coef_sharing : {"layer", "unit"} or int, default="layer"
        ``"layer"`` shares one set of coefficients across the layer (the authors'
        choice for dense layers), ``"unit"`` learns one set per unit, an integer ``G``
        shares one set within each of ``G`` equal, contiguous groups of units.
    normalize_basis : bool, default=True
        Mean-variance normalise the basis elements. Without it the layer is the raw
        expansion ``b + sum_i c_i g_i(x)``, which is prone to overflow at high degree.
    normalize_momentum : float or None, default=0.1
        Weight of the newest batch in the running statistics; ``None`` keeps a
        cumulative average (as :class:`torch.nn.BatchNorm1d` does).
    normalize_eps : float, default=1e-5
        Added to the variance before the square root.
    gate : bool, default=False
        Multiply each coefficient by a learned per-degree sigmoid gate
        ``sigmoid(w_i)``, as in the authors' implementation.
    activation_init : {"identity", "relu", "tanh", "swish", "gelu", "sigmoid"}, default="identity"
        The function the layer starts as, fitted by least squares under a standard
        normal input (for ``"identity"`` with normalisation on this is exactly
        ``c = e_1``). The running statistics start at the basis elements' moments
        under that input, so an untrained layer in evaluation mode is that fit.
    init_std : float, default=0.1
        Standard deviation of Gaussian noise added to the initial coefficients. The
        authors' initialisation is ``activation_init="identity", init_std=1.0``.
    generator : torch.Generator, optional
        Source of randomness for ``init_std``; the global generator is never used.
    device, dtype : optional
        Where and in which precision to create parameters and buffers.

    Attributes
    ----------
    coef : torch.nn.Parameter of shape (n_groups, degree)
        Raw coefficients (multiplied by the gate, if any, to give the effective ones).
    bias : torch.nn.Parameter of shape (n_groups,)
    gate_logit : torch.nn.Parameter of shape (n_groups, degree) or None
    running_mean, running_var : torch.Tensor of shape (n_units, degree)
    running_range : torch.Tensor of shape (n_units,)
        Input range ``r`` of the map ``u = x / r`` for the ``chebyshev``, ``legendre``
        and ``fourier`` families (all ones for the others).
    input_low, input_high : torch.Tensor of shape (n_units,) or None
        Bounds evaluation mode clamps its inputs to (:meth:`set_input_bounds`).

    Notes
    -----
    *Input map.* Chebyshev and Legendre polynomials are orthogonal on ``[-1, 1]`` and
    the EMFN sines and cosines are periodic, so those families are evaluated on
    ``u = x / r``. In training ``r`` is the batch's largest ``|x|`` per unit, so the
    batch lies inside ``[-1, 1]``; ``running_range`` tracks it with ``normalize_momentum`` and is
    used in evaluation mode. Inputs beyond ``r`` at inference are *not* clamped: the
    polynomial is simply evaluated there, which keeps the layer an exact polynomial in
    ``x``, unless :meth:`set_input_bounds` set bounds (the estimators' ``extrapolation``).

    *Batches of one.* A training batch with a single sample has no variance; the
    layer then normalises with its running statistics instead of dividing by
    ``sqrt(normalize_eps)``.

    *Sample weights.* Inside :func:`sklearn_slaf._batch_weights.batch_weights` the
    batch statistics (means, biased variances, and the input range, over the rows of
    positive weight) weight the rows as repetitions would; that forward runs on the
    stacked basis under autograd (:meth:`_forward_reference`), never the fused kernels.

    Examples
    --------
    >>> import torch
    >>> from sklearn_slaf.activation import SLAF
    >>> layer = SLAF(3, degree=4, basis="chebyshev", activation_init="tanh", init_std=0.0)
    >>> layer(torch.randn(8, 3, generator=torch.Generator().manual_seed(0))).shape
    torch.Size([8, 3])
    >>> fresh = SLAF(3, degree=4, basis="chebyshev", activation_init="tanh", init_std=0.0).eval()
    >>> coefs = fresh.power_coefficients()  # per unit, ascending powers of x: tanh as a quartic
    >>> coefs.shape, (coefs[0].round(2) + 0.0).tolist()
    ((3, 5), [0.0, 0.79, 0.0, -0.06, 0.0])
    """

    def __init__(
        self,
        n_units: int,
        degree: int = 4,
        basis: str = "power",
        *,
        coef_sharing: str | int = "layer",
        normalize_basis: bool = True,
        normalize_momentum: float | None = 0.1,
        normalize_eps: float = 1e-5,
        gate: bool = False,
        activation_init: str = "identity",
        init_std: float = 0.1,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.n_units = check_positive_int(n_units, "n_units")
        self.degree = _basis._check_degree(degree)
        self.basis = _basis.check_basis(basis)
        self.n_groups = _n_groups(coef_sharing, self.n_units)
        self.coef_sharing = coef_sharing
        self.normalize_basis = bool(normalize_basis)
        if normalize_momentum is not None and not 0.0 < normalize_momentum <= 1.0:
            raise ValueError(f"normalize_momentum must be None or in (0, 1]; got {normalize_momentum!r}.")
        if not normalize_eps > 0:
            raise ValueError(f"normalize_eps must be > 0; got {normalize_eps!r}.")
        if activation_init not in INIT_TARGETS:
            raise ValueError(f"activation_init must be one of {tuple(INIT_TARGETS)}; got {activation_init!r}.")
        if not init_std >= 0:
            raise ValueError(f"init_std must be >= 0; got {init_std!r}.")
        self.normalize_momentum = normalize_momentum
        self.normalize_eps = float(normalize_eps)
        self.activation_init = activation_init
        self.init_std = float(init_std)
        self.mapped = _basis.needs_input_map(self.basis)
        kw = {"device": device, "dtype": dtype}
        g, k, u = self.n_groups, self.degree, self.n_units
        self.coef = nn.Parameter(torch.empty(g, k, **kw))
        self.bias = nn.Parameter(torch.empty(g, **kw))
        self.gate_logit = nn.Parameter(torch.zeros(g, k, **kw)) if gate else None
        self.register_buffer("running_mean", torch.zeros(u, k, **kw))
        self.register_buffer("running_var", torch.ones(u, k, **kw))
        self.register_buffer("running_range", torch.ones(u, **kw))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long, device=device))
        # per-unit bounds evaluation mode clamps its inputs to (set_input_bounds); none by default
        self.register_buffer("input_low", None)
        self.register_buffer("input_high", None)
        self.reset_parameters(generator)

    # ------------------------------------------------------------------ set-up
    @torch.no_grad()
    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Re-initialise coefficients and running statistics as ``init`` says."""
        r0 = _INIT_SCALE if self.mapped else 1.0
        c, b, mean, var = _least_squares_init(
            self.activation_init, self.basis, self.degree, r0, self.normalize_basis, self.normalize_eps
        )
        coef = torch.as_tensor(c, dtype=self.coef.dtype).expand(self.n_groups, -1).clone()
        if self.init_std > 0:
            noise = torch.empty(coef.shape, dtype=coef.dtype)
            noise.normal_(0.0, self.init_std, generator=_cpu(generator))
            coef += noise
        if self.gate_logit is not None:
            self.gate_logit.zero_()
            coef *= 2.0  # sigmoid(0) = 1/2: keep the effective coefficients as fitted
        self.coef.copy_(coef)
        self.bias.fill_(b)
        self.running_mean.copy_(torch.as_tensor(mean).expand_as(self.running_mean))
        self.running_var.copy_(torch.as_tensor(var).expand_as(self.running_var))
        self.running_range.fill_(r0)
        self.num_batches_tracked.zero_()

    @torch.no_grad()
    def set_input_bounds(self, low=None, high=None) -> None:
        """Clamp the inputs of evaluation mode to ``[low, high]`` per unit, or (no arguments) stop clamping.

        Beyond the bounds the activation then stays at its value on the bound (constant
        extrapolation, as :class:`~sklearn.preprocessing.SplineTransformer`'s
        ``extrapolation="constant"``) instead of following the polynomial, which grows fast
        there. Training mode never clamps. Inside the bounds the layer is unchanged, so it
        is still exactly the polynomial of :meth:`power_coefficients` there.

        Parameters
        ----------
        low, high : array-like of shape (n_units,) or None
            Both or neither.

        Examples
        --------
        >>> import torch
        >>> from sklearn_slaf.activation import SLAF
        >>> layer = SLAF(1, degree=3, activation_init="tanh", init_std=0.0).eval()
        >>> x = torch.tensor([[0.5], [1.0], [3.0]])
        >>> layer.set_input_bounds([-1.0], [1.0])
        >>> clamped = layer(x)
        >>> bool(clamped[2] == clamped[1]), bool(clamped[0] == layer(x[:1])[0])
        (True, True)
        >>> layer.set_input_bounds()
        >>> bool(layer(x)[2] == clamped[2])  # the cubic itself, beyond the bound
        False
        """
        if (low is None) != (high is None):
            raise ValueError("set_input_bounds takes both low and high, or neither.")
        if low is None:
            self.input_low = self.input_high = None
            return
        kw = {"dtype": self.running_mean.dtype, "device": self.running_mean.device}
        lo, hi = (torch.as_tensor(v, **kw).reshape(-1) for v in (low, high))
        if lo.shape != (self.n_units,) or hi.shape != (self.n_units,):
            raise ValueError(f"input bounds must have {self.n_units} values each; got {lo.numel()} and {hi.numel()}.")
        if not bool((lo <= hi).all()):
            raise ValueError("input bounds must have low <= high for every unit.")
        self.input_low, self.input_high = lo.clone(), hi.clone()

    @property
    def clamps(self) -> bool:
        """Whether evaluation mode clamps the inputs (:meth:`set_input_bounds`)."""
        return self._buffers["input_low"] is not None

    def __setstate__(self, state) -> None:
        super().__setstate__(state)
        for name in ("input_low", "input_high"):  # a layer pickled before the bounds existed has none
            self._buffers.setdefault(name, None)

    # ------------------------------------------------------------------ maths
    def effective_coefficients(self) -> torch.Tensor:
        """Coefficients of the normalised elements after the gate, shape ``(n_groups, degree)``."""
        if self.gate_logit is None:
            return self.coef
        return self.coef * torch.sigmoid(self.gate_logit)

    # ------------------------------------------------------------------ the engine's interface
    # The autograd-free training engine (sklearn_slaf.training) computes this layer's fused
    # training step itself; it reads the layer through these few methods and nothing private.
    def per_unit(self, t: torch.Tensor) -> torch.Tensor:
        """Expand a per-group tensor (``(n_groups, ...)``) to one row per unit (a view where possible)."""
        if self.n_groups == self.n_units:
            return t
        if self.n_groups == 1:  # a broadcast view: no copy on every forward
            return t.expand(self.n_units, *t.shape[1:])
        return t.repeat_interleave(self.n_units // self.n_groups, dim=0)

    def sum_per_group(self, t: torch.Tensor) -> torch.Tensor:
        """The adjoint of :meth:`per_unit`: sum a per-unit tensor over each sharing group."""
        if self.n_groups == self.n_units:
            return t
        if self.n_groups == 1:
            return t.sum(0, keepdim=True)
        return t.reshape(self.n_groups, -1, *t.shape[1:]).sum(1)

    def uses_batch_statistics(self, n_samples: int) -> bool:
        """Whether a forward of ``n_samples`` rows normalises with batch statistics (and updates the running ones)."""
        return self.training and self.normalize_basis and n_samples > 1

    def count_batch(self, n_samples: int) -> float:
        """Count one training batch; return its weight in the running statistics (0 if none are updated)."""
        if not (self.training and n_samples > 1):
            return 0.0
        self.num_batches_tracked.add_(1)
        return 1.0 / float(self.num_batches_tracked) if self.normalize_momentum is None else self.normalize_momentum

    def update_input_range(self, flat: torch.Tensor, weight: float) -> torch.Tensor | None:
        """The scale ``r`` of the input map for this batch, blended into ``running_range``.

        ``weight`` is the batch's weight from :meth:`count_batch`; with 0 the running
        range is returned unchanged. ``None`` for the unmapped families.
        """
        if not self.mapped:
            return None
        if weight == 0.0:
            return self.running_range
        with torch.no_grad():
            return self._blend_range(flat, weight)

    def _blend_range(self, flat: torch.Tensor, weight: float) -> torch.Tensor:
        tiny = torch.finfo(flat.dtype).tiny
        p = self.row_probabilities(flat.shape[0])
        if p is None:
            # max |x| without materialising |x|: equal bit for bit, and no (N, U) temporary
            r = torch.maximum(flat.amax(dim=0), flat.amin(dim=0).neg_()).clamp_min_(tiny)
        else:  # rows of weight 0 are absent; a batch of weight 0 keeps the running range
            has = has_weight(p)
            r = torch.where(p[:, None] > 0, flat.abs(), 0.0).amax(dim=0).clamp_min_(tiny)
            r = torch.where(has > 0, r, self.running_range)
            weight = weight * has
        self._blend(self.running_range, r, weight)
        return r

    @torch.no_grad()
    def update_running_stats(self, mean: torch.Tensor, var: torch.Tensor, weight: float | torch.Tensor) -> None:
        """Blend batch statistics (``(n_units, degree)``) into the running ones with ``weight``."""
        self._blend(self.running_mean, mean, weight)
        self._blend(self.running_var, var, weight)

    def _blend(self, buf: torch.Tensor, new: torch.Tensor, w: float | torch.Tensor) -> None:
        if isinstance(w, torch.Tensor):  # a weighted batch's share: 0 for a batch of zero weight
            w = w.to(buf.dtype)
        buf.lerp_(new if new.dtype == buf.dtype else new.to(buf.dtype), w)

    # ------------------------------------------------------------------ forward
    def _check_input(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.n_units:
            raise ValueError(
                f"expected input with {self.n_units} units on the last axis; got shape {tuple(x.shape)}."
            )
        return x.reshape(-1, self.n_units)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the activation to ``x`` of shape ``(..., n_units)``.

        In training mode a batch of more than one row is normalised with its own
        statistics, which are blended into the running ones; otherwise the running
        statistics are used. The polynomial families run through the fused kernels of
        :mod:`sklearn_slaf._kernels`; ``fourier``, and weighted batch statistics, through
        the stacked basis.
        """
        low = self._buffers["input_low"]  # the registry: nn.Module.__getattr__ costs more than the check
        if low is not None and not self.training:
            x = torch.clamp(x, low, self._buffers["input_high"])
        if self.basis not in _kernels.FUSED_BASES:
            return self._forward_reference(x)
        flat = self._check_input(x)
        if self.batch_weight is not None and self.uses_batch_statistics(flat.shape[0]):
            return self._forward_reference(x)
        w = self.count_batch(flat.shape[0])
        r = self.update_input_range(flat.detach(), w)
        if self.normalize_basis and w:
            coef, bias = self.per_unit(self.effective_coefficients()), self.per_unit(self.bias)
            out, mean, var = _kernels.normalized_basis(self.basis, flat, r, coef, bias, self.normalize_eps)
            self.update_running_stats(mean.T, var.T, w)  # the statistics carry no graph
            return out.reshape(x.shape)
        columns, bias = self._fixed_coefficients()
        out = _kernels.clenshaw(self.basis, flat if r is None else flat / r, columns, bias)
        return out.reshape(x.shape)

    def _fixed_coefficients(self) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        """Per-unit coefficients (one contiguous ``(U,)`` tensor per element) and bias, running statistics folded in.

        What evaluation mode (and a training batch of one row) multiplies the raw basis
        elements by. Outside autograd in evaluation mode the result is kept between calls
        (folding costs about as many tensor operations as a small layer's whole forward).
        It is recomputed when a parameter or buffer is replaced, moved (``.to()`` swaps its
        storage) or written in place (``copy_``, ``load_state_dict``, an optimiser's step:
        each bumps the tensor's version), and on every ``train()`` or ``eval()``, because
        the training engine writes the parameters through a flat buffer, which versions do
        not see. Writes through ``.data`` are invisible to autograd and to this cache alike.
        """
        cacheable = not (self.training or torch.is_grad_enabled())
        if cacheable:
            state = [(t, t._version, t.data_ptr()) for t in self._state_tensors()]
            cached = _FOLDED.get(self)
            if cached is not None and len(cached[0]) == len(state) and all(
                a[0] is b[0] and a[1:] == b[1:] for a, b in zip(cached[0], state)
            ):
                return cached[1]
        coef, bias = self.per_unit(self.effective_coefficients()), self.per_unit(self.bias)
        if self.normalize_basis:
            coef = coef * torch.rsqrt(self.running_var + self.normalize_eps)
            bias = bias - (coef * self.running_mean).sum(-1)
        folded = coef.t().contiguous().unbind(0), bias.contiguous()
        if cacheable:
            _FOLDED[self] = (state, folded)
        return folded

    def _state_tensors(self) -> list[torch.Tensor]:
        extra = [] if self.gate_logit is None else [self.gate_logit]
        return [self.coef, self.bias, self.running_mean, self.running_var, *extra]

    def train(self, mode: bool = True) -> SLAF:
        _FOLDED.pop(self, None)
        return super().train(mode)

    def _forward_reference(self, x: torch.Tensor) -> torch.Tensor:
        """Forward pass on the stacked ``(N, U, k)`` basis, by plain autograd.

        The path of ``fourier`` and of weighted batch statistics; for the polynomial
        families it is the reference the fused kernels of :mod:`sklearn_slaf._kernels`
        are tested against (same maths, far more time and memory).
        """
        flat = self._check_input(x)
        w = self.count_batch(flat.shape[0])
        r = self.update_input_range(flat.detach(), w)
        if r is not None:
            x = x / r
        g = _basis.evaluate(self.basis, x, self.degree)
        coef = self.per_unit(self.effective_coefficients())
        bias = self.per_unit(self.bias)
        if self.normalize_basis:
            if w:
                stack = g.reshape(-1, self.n_units, self.degree)
                p = self.row_probabilities(stack.shape[0])
                if p is None:
                    var, mean = torch.var_mean(stack, dim=0, correction=0)
                else:
                    mean, var = weighted_mean_var(stack, p)
                    w = w * has_weight(p)
                self.update_running_stats(mean.detach(), var.detach(), w)
            else:
                mean, var = self.running_mean, self.running_var
            coef = coef * torch.rsqrt(var + self.normalize_eps)
            bias = bias - (coef * mean).sum(-1)
        return (g * coef).sum(-1) + bias

    @torch.no_grad()
    def power_coefficients(self) -> np.ndarray:
        """Exact coefficients of the evaluation-mode activation as a polynomial in ``x``.

        The normalisation (running statistics), the gate and the input map are folded
        in, in float64.

        Returns
        -------
        numpy.ndarray of shape (n_units, degree + 1)
            Row ``u`` holds ascending coefficients: unit ``u`` computes
            ``sum_j P[u, j] * x**j`` in evaluation mode.

        Raises
        ------
        ValueError
            If the basis is not polynomial (``fourier``) or a parameter or running
            statistic is not finite.
        """
        if not _basis.is_polynomial(self.basis):
            raise ValueError(
                f"basis={self.basis!r} is not polynomial, so the activation has no power "
                f"coefficients; use one of {_basis.POLYNOMIAL_BASES}."
            )
        f64 = {"dtype": torch.float64, "device": "cpu"}
        coef = self.per_unit(self.effective_coefficients()).to(**f64)
        bias = self.per_unit(self.bias).to(**f64)
        if self.normalize_basis:
            coef = coef / torch.sqrt(self.running_var.to(**f64) + self.normalize_eps)
            bias = bias - (coef * self.running_mean.to(**f64)).sum(-1)
        full = torch.cat([bias[:, None], coef], dim=1).numpy()
        p = full @ _basis.to_power_matrix(self.basis, self.degree)
        if self.mapped:
            p = p / self.running_range.to(**f64).numpy()[:, None] ** np.arange(self.degree + 1)
        if not np.isfinite(p).all():
            raise ValueError("the activation's parameters or running statistics are not finite.")
        return p

    def extra_repr(self) -> str:
        return (
            f"{self.n_units}, degree={self.degree}, basis={self.basis!r}, "
            f"coef_sharing={self.coef_sharing!r}, normalize_basis={self.normalize_basis}, "
            f"gate={self.gate_logit is not None}"
        )


def _cpu(generator: torch.Generator | None) -> torch.Generator | None:
    if generator is not None and generator.device.type != "cpu":
        raise ValueError("generator must be a CPU torch.Generator.")
    return generator


def _n_groups(sharing: str | int, units: int) -> int:
    if isinstance(sharing, str):
        if sharing not in COEF_SHARING:
            raise ValueError(f"coef_sharing must be one of {COEF_SHARING} or a positive integer; got {sharing!r}.")
        return 1 if sharing == "layer" else units
    if isinstance(sharing, bool) or not isinstance(sharing, Integral) or sharing < 1 or units % sharing:
        raise ValueError(
            f"coef_sharing={sharing!r} does not fit a layer of {units} units: use 'layer', 'unit' "
            f"or a number of groups that divides {units}."
        )
    return int(sharing)


def _least_squares_init(target: str, family: str, degree: int, r0: float, normalize: bool, eps: float):
    """Fit ``b + sum_i c_i z_i`` to ``target`` in L2 of the standard normal; return c, b, mu, var."""
    grid, w = normal_rule((0.0,))  # split at 0: the kink of relu
    g = _basis.evaluate(family, torch.as_tensor(grid / r0), degree).numpy()
    mean = w @ g
    var = w @ (g - mean) ** 2
    z = (g - mean) / np.sqrt(var + eps) if normalize else g
    design = np.column_stack([np.ones_like(grid), z]) * np.sqrt(w)[:, None]
    y = numpy_function(target)(grid) * np.sqrt(w)
    sol = np.linalg.lstsq(design, y, rcond=None)[0]
    if not normalize:
        mean, var = np.zeros(degree), np.ones(degree)
    return sol[1:], float(sol[0]), mean, var
