"""Matplotlib views of learned activations and of the mean-field theory (optional dependency).

Every function draws on ``ax`` (a new figure's axes if ``None``) and returns the axes.
matplotlib is imported only when a function is called; install it with
``pip install matplotlib`` (or the ``test`` extra).
"""

from __future__ import annotations

import math

import numpy as np

from . import eoc as _eoc
from .network import module_of

__all__ = ["plot_activations", "plot_compact_curve", "plot_variance_map", "plot_correlation_map", "plot_eoc_curve",
           "plot_depth_profile"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "sklearn_slaf.plotting needs matplotlib: pip install matplotlib (or sklearn-slaf[test])."
        ) from exc
    return plt


def _axes(ax):
    if ax is None:
        _, ax = _pyplot().subplots(figsize=(5, 4))
    return ax


def plot_variance_map(activation, *, sigma_w: float, sigma_b: float, q_max: float = 4.0, ax=None):
    """Plot ``F(q)`` against the diagonal, marking the fixed points (filled: stable).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_slaf.plotting import plot_variance_map
    >>> ax = plot_variance_map("tanh", sigma_w=1.3042, sigma_b=0.2)
    """
    ax = _axes(ax)
    act = _eoc.as_activation(activation)
    q = np.linspace(q_max / 400, q_max, 400)
    ax.plot(q, _eoc.variance_map(act, q, sigma_w=sigma_w, sigma_b=sigma_b), label=f"F(q), {act.name}")
    ax.plot(q, q, "k--", lw=0.8, label="q")
    labelled: set[bool] = set()
    for p in _eoc.fixed_points(act, sigma_w=sigma_w, sigma_b=sigma_b, q_max=q_max):
        if not math.isnan(p.q):
            # one legend entry per kind: filled is stable, open unstable
            label = None if p.stable in labelled else ("stable fixed point" if p.stable else "unstable fixed point")
            labelled.add(p.stable)
            ax.plot(p.q, p.q, "o", color="C3", mfc="C3" if p.stable else "white", label=label)
    ax.set(
        xlabel="q (layer l)",
        ylabel="q (layer l+1)",
        title=f"variance map, sigma_w={sigma_w:.3g}, sigma_b={sigma_b:.3g}",
    )
    ax.legend()
    return ax


def plot_correlation_map(activation, *, sigma_w: float, sigma_b: float, q: float | None = None, ax=None):
    """Plot the correlation map ``f(c)`` against the diagonal.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_slaf.plotting import plot_correlation_map
    >>> ax = plot_correlation_map("relu", sigma_w=2 ** 0.5, sigma_b=0.0, q=1.0)
    """
    ax = _axes(ax)
    act = _eoc.as_activation(activation)
    c = np.linspace(-1, 1, 81)
    ax.plot(c, _eoc.correlation_map(act, c, sigma_w=sigma_w, sigma_b=sigma_b, q=q), label=f"f(c), {act.name}")
    ax.plot(c, c, "k--", lw=0.8, label="c")
    ax.set(xlabel="c (layer l)", ylabel="c (layer l+1)", title="correlation map",
           xticks=np.linspace(-1, 1, 5), yticks=np.linspace(-1, 1, 5))  # five ticks: labels never run together
    ax.legend()
    return ax


def plot_eoc_curve(activation, *, q_range: tuple[float, float] = (1e-3, 1e2), n: int = 200, ax=None):
    """Plot the edge of chaos in ``(sigma_b, sigma_w)``: stable points solid, unstable dotted.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_slaf.plotting import plot_eoc_curve
    >>> ax = plot_eoc_curve("swish")
    """
    ax = _axes(ax)
    curve = _eoc.eoc_curve(activation, q_range=q_range, n=n)
    for flag, style, label in ((True, "-", "stable"), (False, ":", "unstable")):
        sb = np.where(curve.stable == flag, curve.sigma_b, np.nan)
        ax.plot(sb, curve.sigma_w, style, color="C0" if flag else "C3", label=f"{curve.name}, {label}")
    ax.set(xlabel="sigma_b", ylabel="sigma_w", title="edge of chaos")
    ax.legend()
    return ax


def plot_depth_profile(profile, *, ax=None):
    """Plot per-layer ``q^l`` and ``1 - c^l`` of a :class:`~sklearn_slaf.eoc.Propagation`
    (measured and mean-field) or a :class:`~sklearn_slaf.eoc.DepthProfile`.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_slaf.eoc import depth_profile
    >>> from sklearn_slaf.plotting import plot_depth_profile
    >>> ax = plot_depth_profile(depth_profile("tanh", 20, sigma_w=1.3042, sigma_b=0.2))
    """
    ax = _axes(ax)
    twin = ax.twinx()
    if isinstance(profile, _eoc.Propagation):
        ax.plot(profile.layer, profile.q_measured, "o", color="C0", label="q measured")
        ax.plot(profile.layer, profile.q_predicted, "-", color="C0", label="q mean field")
        twin.plot(profile.layer, 1 - profile.c_measured, "s", color="C1", label="1 - c measured")
        twin.plot(profile.layer, 1 - profile.c_predicted, "-", color="C1", label="1 - c mean field")
    else:
        ax.plot(profile.layer, profile.q, "-", color="C0", label="q")
        twin.plot(profile.layer, profile.one_minus_c, "-", color="C1", label="1 - c")
    from matplotlib.ticker import MaxNLocator

    ax.set(xlabel="layer", ylabel="q", title="signal propagation")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # layers are whole numbers
    twin.set_ylabel("1 - c")
    values = np.asarray([v for line in twin.get_lines() for v in line.get_ydata()], dtype=float)
    values = values[np.isfinite(values) & (values > 0)]
    if values.size and values.max() / values.min() > 10:  # a log axis only where it spans a decade
        twin.set_yscale("log")
    lines = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    # below the axes, clear of both curves
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize="small", loc="upper center",
              bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    return ax


def _final_step(estimator):
    """The estimator itself, or the last step of a pipeline (or a search's best pipeline)."""
    estimator = getattr(estimator, "best_estimator_", estimator)
    return estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator


def activation_curves(estimator, layer: int, n: int = 200, max_units: int | None = None):
    """The learned activations of one hidden SLAF layer over each unit's training range.

    Returns ``(x, f)``, both of shape ``(n, n_units)``: column ``j`` is unit ``j``'s
    pre-activation grid (its range on the training data, ``preactivation_range_``) and
    the layer's output there, in evaluation mode (running normalisation statistics), as
    the fitted model computes it.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_slaf import SLNNRegressor
    >>> from sklearn_slaf.plotting import activation_curves
    >>> X = np.random.RandomState(0).randn(100, 2)
    >>> reg = SLNNRegressor((4,), degree=2, max_iter=5, random_state=0).fit(X, X[:, 0] ** 2)  # doctest: +SKIP
    >>> x, f = activation_curves(reg, 0)  # doctest: +SKIP
    >>> x.shape, f.shape  # doctest: +SKIP
    ((200, 4), (200, 4))
    """
    import torch

    estimator = _final_step(estimator)
    module = module_of(estimator)
    slaf = module.slaf_layers[layer]
    if slaf is None:
        raise ValueError(f"hidden layer {layer} is not a SLAF layer.")
    ranges = getattr(estimator, "preactivation_range_", None)
    lo, hi = ranges[layer] if ranges and ranges[layer] is not None else (np.full(slaf.n_units, -3.0),
                                                                           np.full(slaf.n_units, 3.0))
    units = slaf.n_units if max_units is None else min(max_units, slaf.n_units)
    x = np.linspace(lo, hi, n)  # (n, n_units)
    dtype = next(slaf.parameters()).dtype
    device = next(slaf.parameters()).device
    was_training = slaf.training
    slaf.eval()
    try:
        with torch.no_grad():
            f = slaf(torch.as_tensor(x, dtype=dtype, device=device)).double().cpu().numpy()
    finally:
        slaf.train(was_training)
    return x[:, :units], f[:, :units]


def plot_activations(estimator, *, layers=None, max_units: int = 16, n: int = 200, axes=None):
    """Plot the learned activation of each hidden SLAF layer, unit by unit, over its training range.

    Parameters
    ----------
    estimator : fitted SLNNRegressor or SLNNClassifier (or a pipeline ending in one)
    layers : sequence of int, optional
        Hidden layers to draw (default: every SLAF layer).
    max_units : int, default=16
        Units drawn per layer (with per-unit normalisation every unit has its own curve).
    n : int, default=200
        Grid points per curve.
    axes : sequence of matplotlib axes, optional
        One per layer; a new figure with a row of axes if ``None``.

    Returns
    -------
    list of matplotlib axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_slaf import SLNNRegressor
    >>> from sklearn_slaf.plotting import plot_activations
    >>> X = np.random.RandomState(0).randn(200, 2)
    >>> reg = SLNNRegressor((8,), degree=3, max_iter=20, random_state=0).fit(X, X[:, 0] * X[:, 1])  # doctest: +SKIP
    >>> axes = plot_activations(reg)  # doctest: +SKIP
    """
    estimator = _final_step(estimator)
    module = module_of(estimator)
    if layers is None:
        layers = [i for i, s in enumerate(module.slaf_layers) if s is not None]
    if not layers:
        raise ValueError("the network has no SLAF layer to draw.")
    if axes is None:
        _, axes = _pyplot().subplots(1, len(layers), figsize=(4.2 * len(layers), 3.6), squeeze=False)
        axes = list(axes[0])
    for ax, layer in zip(axes, layers):
        x, f = activation_curves(estimator, layer, n=n, max_units=max_units)
        slaf = module.slaf_layers[layer]
        for j in range(x.shape[1]):
            ax.plot(x[:, j], f[:, j], lw=1.0, alpha=0.8)
        ax.axhline(0.0, color="0.8", lw=0.6, zorder=0)
        ax.axvline(0.0, color="0.8", lw=0.6, zorder=0)
        ax.set(xlabel="pre-activation", ylabel="activation",
               title=f"layer {layer + 1}: {slaf.basis} basis, degree {slaf.degree}")
    return axes


def plot_compact_curve(curve, *, ax=None):
    """Plot the accuracy of the compact polynomials against the number of terms kept.

    Parameters
    ----------
    curve : DataFrame or dict
        What :meth:`PolynomialFeatureEquivalent.compact_curve
        <sklearn_slaf.PolynomialFeatureEquivalent.compact_curve>` returns.
    ax : matplotlib axes, optional

    Returns
    -------
    matplotlib axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_slaf.plotting import plot_compact_curve
    >>> curve = {"n_terms": [1, 2, 4], "n_monomials": [1, 3, 6], "r2_distribution": [0.5, 0.9, 1.0]}
    >>> ax = plot_compact_curve(curve)
    >>> [line.get_label() for line in ax.get_lines()]
    ['R² against the full polynomial (exact, under the distribution)']
    """
    ax = _axes(ax)
    labels = {
        "r2_distribution": "R² against the full polynomial (exact, under the distribution)",
        "r2_model": "R² against the full polynomial on X",
        "r2_data": "R² against the targets",
    }
    n = [int(v) for v in curve["n_terms"]]
    for key, label in labels.items():
        if key in curve:
            ax.plot(n, list(curve[key]), marker="o", ms=3, label=label)
    from matplotlib.ticker import FuncFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))  # 1, 10, 100 rather than powers of ten
    ax.set(xlabel="terms kept (orthonormal basis)", ylabel="R²", title="compact polynomial: accuracy against size")
    ax.set_ylim(top=1.02)
    ax.grid(True, which="both", lw=0.3, alpha=0.5)
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False)  # clear of the data
    return ax
