"""Edge-of-chaos initialisation and signal-propagation diagnostics for SLNN networks.

Part of :mod:`sklearn_slaf.eoc` (import the names from there).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .._validation import check_positive_int
from ..network import draw_linear_, module_of
from ._inputs import _check_derivative, _check_sigma, _layer_activation
from ._moments import MeanFieldActivation
from ._points import EOCPoint, _eoc_point, edge_of_chaos, eoc_curve

__all__ = ["Propagation", "edge_of_chaos_init", "propagation"]

_SCAN_Q = np.geomspace(1e-2, 1e2, 401)  # where to look for a fallback point on the EOC curve


def _init_activation(module: nn.Module, width: int) -> MeanFieldActivation:
    """A hidden layer's activation at initialisation.

    A fresh ``BatchNorm1d`` is the identity in evaluation mode (running mean 0,
    variance 1), so ``BN + phi`` is initialised as ``phi``.
    """
    if isinstance(module, nn.Sequential) and len(module) == 2 and isinstance(module[0], nn.BatchNorm1d):
        module = module[1]
    return _layer_activation(module, width)


def _nearest_stable(act: MeanFieldActivation, sb: float | None):
    curve = eoc_curve(act, q=_SCAN_Q)
    ok = np.flatnonzero(curve.stable)
    if ok.size == 0:
        return None
    key = np.abs(np.log(curve.q[ok])) if sb is None else np.abs(curve.sigma_b[ok] - sb)
    i = ok[np.argmin(key)]
    return _eoc_point(act, float(curve.q[i]), float(curve.sigma_b[i]))


def _choose_point(act: MeanFieldActivation, sigma_b: float | None, layer: int) -> EOCPoint:
    """The EOC point used to initialise around one activation (see edge_of_chaos_init)."""
    where = f"hidden layer {layer} ({act.name})"
    if sigma_b is not None:
        try:
            pts = edge_of_chaos(act, sigma_b=sigma_b)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        stable = [p for p in pts if p.stable]
        if stable:  # several: the one whose variance is closest to 1 (the standardised scale)
            return min(stable, key=lambda p: abs(math.log(p.q_star)))
        near = _nearest_stable(act, sigma_b)
        hint = (
            f"the nearest stable point is sigma_b={near.sigma_b:.4g} (sigma_w={near.sigma_w:.4g}, q*={near.q_star:.4g})"
            if near is not None else "the curve has no stable point for q* in [0.01, 100]"
        )
        found = ", ".join(f"q*={p.q_star:.4g} with F'(q*)={p.slope:.4g}" for p in pts)
        raise ValueError(
            f"{where}: no stable edge-of-chaos point at sigma_b={sigma_b:g} ({found}: the variance runs away); {hint}."
        )
    m = act.moments(1.0)
    _check_derivative(act, m)
    sb2 = 1.0 - float(m.phi2 / m.dphi2)
    if sb2 >= -1e-10:
        pt = _eoc_point(act, 1.0, math.sqrt(max(sb2, 0.0)))
        if pt.stable:
            return pt
        reason = f"unstable (F'(1)={pt.slope:.4g} > 1)"
    else:
        reason = f"unavailable (it needs sigma_b^2 = {sb2:.3g} < 0)"
    near = _nearest_stable(act, None)
    if near is not None:
        warnings.warn(
            f"{where}: the edge-of-chaos point with q*=1 is {reason}; using the stable point nearest to it, "
            f"sigma_b={near.sigma_b:.4g}, sigma_w={near.sigma_w:.4g}, q*={near.q_star:.4g}.",
            UserWarning, stacklevel=4,
        )
        return near
    # no stable point anywhere: keep chi_1 = 1 at q = 1 (gradients neither grow nor shrink there)
    sw = 1.0 / math.sqrt(float(m.dphi2))
    sb = math.sqrt(max(sb2, 0.0))
    slope = float(sw**2 * (m.dphi2 + m.phi_ddphi))
    warnings.warn(
        f"{where}: the activation has no stable edge-of-chaos point for q* in [0.01, 100]; using chi_1 = 1 at "
        f"q = 1 (sigma_b={sb:.4g}, sigma_w={sw:.4g}, F'={slope:.4g}). Deep networks may not train.",
        UserWarning, stacklevel=4,
    )
    beta = float(m.ddphi2 / (2 * m.dphi2))
    return EOCPoint(sb, sw, 1.0, slope, False, beta, math.nan, "no stable EOC point: chi_1 = 1 at q = 1")


@torch.no_grad()
def edge_of_chaos_init(
    net, generator: torch.Generator | None = None, *, sigma_b: float | None = None
) -> list[EOCPoint]:
    """Initialise a network's linear layers on the edge of chaos of its activations.

    Every hidden layer's activation ``phi_l`` (an SLAF layer's evaluation-mode
    polynomial, or a standard activation; a ``+bn`` layer counts as its activation,
    since a fresh batch normalisation is the identity in evaluation mode) gets a stable
    EOC point ``(sigma_b, sigma_w, q*)``. Then

    * the first linear layer draws weights ``N(0, (q* - sigma_b^2) / fan_in)`` and biases
      ``N(0, sigma_b^2)``: inputs standardised to unit mean square per feature (as the
      estimators do) give pre-activations of variance ``q^1 = q*``, the fixed point,
      inside its basin (an input row with mean square ``s`` gives
      ``sigma_b^2 + (q* - sigma_b^2) s``, which must stay below the point's
      ``basin_edge`` for a polynomial activation);
    * every later layer, fed by ``phi_{l-1}``, draws ``N(0, sigma_w^2 / fan_in)`` and
      ``N(0, sigma_b^2)`` from ``phi_{l-1}``'s point, so ``chi_1 = 1`` and ``q`` stays at ``q*``;
    * the output layer draws ``N(0, sigma_w^2 / fan_in)`` from the last activation's
      point, with zero biases.

    **Which point.** With ``sigma_b=None`` (the default) each layer takes the EOC point
    with ``q* = 1``: ``sigma_w^2 = 1 / E[phi'(Z)^2]``, ``sigma_b^2 = 1 - E[phi(Z)^2] / E[phi'(Z)^2]``.
    For SLAF layers this is the right scale: the layer was fitted to its ``init``
    function under a standard normal input and its running statistics hold the basis
    moments of that input, so at ``q* = 1`` its pre-activations have the distribution
    its evaluation-mode polynomial was built for, the polynomial is used where it
    approximates its target (a least-squares fit to tanh diverges beyond a few standard
    deviations), and training-mode batch statistics agree with the running ones. It
    also lines up hybrid networks (every layer at ``q = 1``). If that point is unstable
    or needs ``sigma_b^2 < 0``, the stable point of the curve nearest to ``q = 1`` is
    used, with a warning; with none at all, ``chi_1 = 1`` at ``q = 1`` with a warning.
    With ``sigma_b`` given, each layer takes the stable EOC point for that ``sigma_b``
    (the one with ``q*`` nearest 1 if several).

    Parameters
    ----------
    net : SLNN or fitted estimator
    generator : torch.Generator, optional
        CPU generator; draws happen on the CPU and are copied into the parameters
        (which may live on any device). The global generator is never used.
    sigma_b : float >= 0, optional
        Bias scale; ``None`` picks the ``q* = 1`` point per layer.

    Returns
    -------
    list of EOCPoint
        The point used for each hidden layer's activation.

    Raises
    ------
    ValueError
        No stable EOC point at the requested ``sigma_b`` (the message names the nearest
        stable one); an activation with no edge of chaos (e.g. a constant).

    Examples
    --------
    >>> import torch
    >>> from sklearn_slaf.network import SLNN
    >>> from sklearn_slaf.eoc import edge_of_chaos_init
    >>> net = SLNN(4, (64, 64), hidden_activation="tanh")
    >>> pts = edge_of_chaos_init(net, torch.Generator().manual_seed(0), sigma_b=0.2)
    >>> round(pts[0].sigma_w, 3), round(pts[0].q_star, 4)
    (1.304, 0.5121)
    """
    net = module_of(net)
    sb = None if sigma_b is None else _check_sigma("sigma_b", sigma_b)
    if generator is not None and generator.device.type != "cpu":
        raise ValueError("generator must be a CPU torch.Generator.")
    widths = net.hidden_layer_sizes
    points = [_choose_point(_init_activation(a, w), sb, i) for i, (a, w) in enumerate(zip(net.activations, widths))]
    specs = []  # (weight variance * fan_in, bias std) per linear layer
    for i in range(len(net.hidden)):
        p = points[0] if i == 0 else points[i - 1]
        specs.append((points[0].q_star - p.sigma_b**2 if i == 0 else p.sigma_w**2, p.sigma_b))
    specs.append((points[-1].sigma_w**2 if points else 1.0, 0.0))
    for lin, (var_w, sd_b) in zip(net.linear_layers, specs):
        draw_linear_(lin, generator, ("normal", math.sqrt(max(var_w, 0.0) / lin.in_features)), ("normal", sd_b))
    return points


@dataclass(frozen=True)
class Propagation:
    """Measured and mean-field per-layer variance and correlation (see :func:`propagation`).

    Attributes
    ----------
    layer : numpy.ndarray of int
        Hidden layer index ``1 .. L`` (pre-activations of the ``l``-th linear layer).
    q_measured, q_predicted : numpy.ndarray
        Mean over samples of the per-sample pre-activation variance ``|y_a|^2 / width``.
    c_measured, c_predicted : numpy.ndarray
        Mean correlation ``<y_a, y_b> / (|y_a| |y_b|)`` over the sampled pairs.
    activations : list of str
    n_pairs : int

    Examples
    --------
    >>> import numpy as np, torch
    >>> from sklearn_slaf.network import SLNN
    >>> from sklearn_slaf.eoc import propagation
    >>> net = SLNN(5, (256, 256), hidden_activation="tanh", weight_init="he",
    ...            generator=torch.Generator().manual_seed(0))
    >>> prop = propagation(net, np.random.default_rng(0).normal(size=(20, 5)), max_pairs=4)
    >>> prop.q_measured.shape
    (2,)
    """

    layer: np.ndarray
    q_measured: np.ndarray
    q_predicted: np.ndarray
    c_measured: np.ndarray
    c_predicted: np.ndarray
    activations: list
    n_pairs: int

    def __str__(self) -> str:
        rows = ["layer  q_measured  q_predicted  c_measured  c_predicted"]
        rows += [
            f"{layer:5d}  {q_m:10.4g}  {q_p:11.4g}  {c_m:10.4f}  {c_p:11.4f}"
            for layer, q_m, q_p, c_m, c_p in zip(
                self.layer, self.q_measured, self.q_predicted, self.c_measured, self.c_predicted
            )
        ]
        return "\n".join(rows)


@torch.no_grad()
def propagation(model, X, *, max_pairs: int = 32, random_state: int = 0) -> Propagation:
    """Per-layer ``q^l`` and ``c^l`` of one forward pass beside the mean-field prediction.

    The network runs in evaluation mode (running statistics; SLAF layers are then their
    polynomials). The prediction starts from the exact layer-1 statistics of the given
    inputs and the first layer's weight and bias scales
    (``sigma_w^2 = fan_in * mean(W^2)``, ``sigma_b^2 = mean(b^2)``, measured per layer),
    then iterates the variance map per sample and the correlation map per pair, with
    each layer's activation (SLAF moments averaged over units). It treats the weights
    as i.i.d. Gaussian: exact in the wide limit at initialisation, a reference point
    after training. Finite width ``n`` adds fluctuations of order ``1 / sqrt(n)``.

    Parameters
    ----------
    model : SLNN or fitted SLNNRegressor / SLNNClassifier
    X : array-like of shape (n_samples, n_features)
        Raw inputs (the module applies its own input scaling).
    max_pairs : int, default=32
        Number of sample pairs (drawn at random) for the correlations.
    random_state : int, default=0
        Seed of the pair selection.

    Returns
    -------
    Propagation

    Examples
    --------
    >>> import numpy as np, torch
    >>> from sklearn_slaf.network import SLNN
    >>> from sklearn_slaf.eoc import propagation
    >>> net = SLNN(3, (128,) * 3, hidden_activation="relu", weight_init="he",
    ...            generator=torch.Generator().manual_seed(1))
    >>> prop = propagation(net, np.random.default_rng(0).normal(size=(10, 3)), max_pairs=3)
    >>> prop.layer.tolist()
    [1, 2, 3]
    """
    net = module_of(model)
    if not net.hidden:
        raise ValueError("the network has no hidden layer: there is nothing to propagate.")
    ref = net.input_offset
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != net.n_inputs or X.shape[0] < 2:
        raise ValueError(f"X must have shape (n_samples >= 2, {net.n_inputs}); got {X.shape}.")
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or infinity.")
    max_pairs = check_positive_int(max_pairs, "max_pairs")
    was = net.training
    net.eval()
    try:
        h = net.standardize(torch.as_tensor(X, dtype=torch.float64, device=ref.device))
        x0 = h.double().cpu().numpy()
        pre = []
        for lin, act in zip(net.hidden, net.activations):
            y = lin(h)
            pre.append(y.double().cpu().numpy())
            h = act(y)
    finally:
        net.train(was)
    n = X.shape[0]
    rng = np.random.default_rng(random_state)
    n_all = n * (n - 1) // 2
    idx = rng.choice(n_all, size=min(max_pairs, n_all), replace=False)
    # decode row-major pair numbers (a < b) without listing all n (n - 1) / 2 pairs
    rows = np.arange(n - 1)
    first = rows * n - rows * (rows + 1) // 2  # number of pairs before row a
    pa = np.searchsorted(first, idx, side="right") - 1
    pb = idx - first[pa] + pa + 1

    def corr(y):
        num = np.einsum("pi,pi->p", y[pa], y[pb])
        return num / np.sqrt(np.einsum("pi,pi->p", y[pa], y[pa]) * np.einsum("pi,pi->p", y[pb], y[pb]))

    q_meas = [float(np.mean(y**2)) for y in pre]
    c_meas = [float(np.mean(corr(y))) for y in pre]
    acts = [_layer_activation(a, w) for a, w in zip(net.activations, net.hidden_layer_sizes)]
    scales = []
    for lin in net.hidden:
        w, b = lin.weight.double().cpu().numpy(), lin.bias.double().cpu().numpy()
        scales.append((lin.in_features * float(np.mean(w**2)), float(np.mean(b**2))))
    sw2, sb2 = scales[0]
    d0 = x0.shape[1]
    q = sb2 + sw2 * np.einsum("ni,ni->n", x0, x0) / d0  # per sample
    cov = sb2 + sw2 * np.einsum("pi,pi->p", x0[pa], x0[pb]) / d0
    c = cov / np.sqrt(q[pa] * q[pb])
    q_pred, c_pred = [float(np.mean(q))], [float(np.mean(c))]
    for layer in range(1, len(net.hidden)):
        act, (sw2, sb2) = acts[layer - 1], scales[layer]
        q_new = sb2 + sw2 * act.moments(q).phi2
        cov = sb2 + sw2 * np.atleast_1d(act.cross(q[pa], q[pb], np.clip(c, -1.0, 1.0)))
        q, c = q_new, cov / np.sqrt(q_new[pa] * q_new[pb])
        q_pred.append(float(np.mean(q)))
        c_pred.append(float(np.mean(c)))
    return Propagation(
        np.arange(1, len(pre) + 1), np.array(q_meas), np.array(q_pred), np.array(c_meas), np.array(c_pred),
        [a.name for a in acts], len(idx),
    )
