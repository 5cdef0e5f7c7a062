"""Matplotlib views of fitted networks and of the mean-field theory (optional dependency).

matplotlib is imported only when a function is called; install it with
``pip install sklearn-slaf[plot]`` (or ``pip install matplotlib``).

* Fitted networks: :func:`plot_activations` (each SLAF layer's learned activation over
  the pre-activations it meets, with their histogram), :func:`plot_loss_curve` (training
  loss, validation loss and score, the best epoch) and :func:`plot_polynomial_terms` (the
  largest monomials of a :class:`~sklearn_slaf.PolynomialFeatureEquivalent`). They return
  the :class:`~matplotlib.figure.Figure`; :func:`activation_curves` and
  :func:`preactivations` are the numbers :func:`plot_activations` draws.
* Mean-field theory: :func:`plot_variance_map`, :func:`plot_correlation_map`,
  :func:`plot_eoc_curve`, :func:`plot_depth_profile`, and :func:`plot_compact_curve` for
  the compact polynomials. They draw on ``ax`` (a new figure's axes if ``None``) and
  return the axes.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import eoc as _eoc
from .activation import SLAF
from .network import SLNN, module_of

if TYPE_CHECKING:  # matplotlib stays optional: only the annotations name it
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_activations", "plot_loss_curve", "plot_polynomial_terms", "plot_compact_curve",
           "plot_variance_map", "plot_correlation_map", "plot_eoc_curve", "plot_depth_profile",
           "activation_curves", "preactivations"]

_CHUNK = 8192  # rows per forward pass when reading pre-activations


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "sklearn_slaf.plotting needs matplotlib: pip install sklearn-slaf[plot] (or pip install matplotlib)."
        ) from exc
    return plt


def _axes(ax):
    if ax is None:
        _, ax = _pyplot().subplots(figsize=(5, 4))
    return ax


# ---------------------------------------------------------------------------------------------- mean-field theory
def plot_variance_map(activation: Any, *, sigma_w: float, sigma_b: float, q_max: float = 4.0,
                      ax: Axes | None = None) -> Axes:
    """Plot the variance map ``F(q)`` against the diagonal, marking the fixed points.

    Parameters
    ----------
    activation : str, callable, array-like or SLAF
        Anything :func:`sklearn_slaf.eoc.as_activation` accepts.
    sigma_w, sigma_b : float
        Weight and bias scales.
    q_max : float, default=4.0
        Right end of the ``q`` axis.
    ax : matplotlib axes, optional
        Where to draw (a new figure's axes if ``None``).

    Returns
    -------
    matplotlib axes
        Filled markers are stable fixed points, open ones unstable (one legend entry each).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_slaf.plotting import plot_variance_map
    >>> ax = plot_variance_map("tanh", sigma_w=2.0, sigma_b=0.2)
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['F(q), tanh', 'q', 'stable fixed point']
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


def plot_correlation_map(activation: Any, *, sigma_w: float, sigma_b: float, q: float | None = None,
                         ax: Axes | None = None) -> Axes:
    """Plot the correlation map ``f(c)`` against the diagonal.

    Parameters
    ----------
    activation : str, callable, array-like or SLAF
        Anything :func:`sklearn_slaf.eoc.as_activation` accepts.
    sigma_w, sigma_b : float
        Weight and bias scales.
    q : float, optional
        Variance of the two inputs (default: the stable fixed point).
    ax : matplotlib axes, optional
        Where to draw (a new figure's axes if ``None``).

    Returns
    -------
    matplotlib axes
        Five ticks on each axis, so that their labels never run together.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_slaf.plotting import plot_correlation_map
    >>> ax = plot_correlation_map("relu", sigma_w=2 ** 0.5, sigma_b=0.0, q=1.0)
    >>> ax.get_xticks().tolist()
    [-1.0, -0.5, 0.0, 0.5, 1.0]
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


def plot_eoc_curve(activation: Any, *, q_range: tuple[float, float] = (1e-3, 1e2), n: int = 200,
                   ax: Axes | None = None) -> Axes:
    """Plot the edge of chaos in ``(sigma_b, sigma_w)``: stable points solid, unstable dotted.

    Parameters
    ----------
    activation : str, callable, array-like or SLAF
        Anything :func:`sklearn_slaf.eoc.as_activation` accepts.
    q_range : (float, float), default=(1e-3, 1e2)
        Range of the fixed-point variance ``q*`` that parametrises the curve.
    n : int, default=200
        Points on the curve.
    ax : matplotlib axes, optional
        Where to draw (a new figure's axes if ``None``).

    Returns
    -------
    matplotlib axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_slaf.plotting import plot_eoc_curve
    >>> ax = plot_eoc_curve("swish", n=40)
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['swish, stable', 'swish, unstable']
    """
    ax = _axes(ax)
    curve = _eoc.eoc_curve(activation, q_range=q_range, n=n)
    for flag, style, label in ((True, "-", "stable"), (False, ":", "unstable")):
        if not np.any(curve.stable == flag):
            continue  # no legend entry for a kind of point the curve does not have (tanh: all stable)
        sb = np.where(curve.stable == flag, curve.sigma_b, np.nan)
        ax.plot(sb, curve.sigma_w, style, color="C0" if flag else "C3", label=f"{curve.name}, {label}")
    ax.set(xlabel="sigma_b", ylabel="sigma_w", title="edge of chaos")
    ax.legend()
    return ax


def plot_depth_profile(profile: Any, *, ax: Axes | None = None) -> Axes:
    """Plot per-layer ``q^l`` and ``1 - c^l`` of a propagation or a mean-field depth profile.

    Parameters
    ----------
    profile : Propagation or DepthProfile
        What :func:`sklearn_slaf.eoc.propagation` (measured and mean-field) or
        :func:`sklearn_slaf.eoc.depth_profile` returns.
    ax : matplotlib axes, optional
        Where to draw ``q`` (a new figure's axes if ``None``); ``1 - c`` goes on a twin
        axis, logarithmic when it spans more than a decade.

    Returns
    -------
    matplotlib axes
        The ``q`` axes; integer layer ticks, the legend below the axes.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_slaf.eoc import depth_profile
    >>> from sklearn_slaf.plotting import plot_depth_profile
    >>> ax = plot_depth_profile(depth_profile("tanh", 20, sigma_w=1.3042, sigma_b=0.2))
    >>> ax.get_xlabel(), [t.get_text() for t in ax.get_legend().get_texts()]
    ('layer', ['q', '1 - c'])
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


# ---------------------------------------------------------------------------------------------- fitted networks
def _final_step(estimator):
    """The estimator itself, or the last step of a pipeline (or a search's best pipeline)."""
    estimator = getattr(estimator, "best_estimator_", estimator)
    return estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator


def _network_input(estimator, X):
    """``(final step, X as the final step sees it)``: a pipeline's earlier steps transform ``X``."""
    estimator = getattr(estimator, "best_estimator_", estimator)
    if hasattr(estimator, "steps"):
        if X is not None and len(estimator.steps) > 1:
            X = estimator[:-1].transform(X)
        estimator = estimator.steps[-1][1]
    return estimator, X


def _check_layers(module: SLNN, layers) -> list[int]:
    n_hidden = len(module.hidden)
    if layers is None:
        out = [i for i, s in enumerate(module.slaf_layers) if s is not None]
        if not out:
            raise ValueError("the network has no SLAF layer to draw.")
        return out
    out = []
    for layer in [layers] if isinstance(layers, (int, np.integer)) else layers:
        if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or not -n_hidden <= layer < n_hidden:
            raise ValueError(f"layers must be hidden-layer indices in [0, {n_hidden}); got {layer!r}.")
        layer = int(layer) % n_hidden
        if module.slaf_layers[layer] is None:
            raise ValueError(f"hidden layer {layer} is not a SLAF layer.")
        out.append(layer)
    if not out:
        raise ValueError("layers is empty: there is nothing to draw.")
    return out


def preactivations(estimator: Any, X: Any, layers: Sequence[int] | None = None) -> list[np.ndarray | None]:
    """The pre-activations of the hidden layers on ``X``, as the fitted network computes them.

    ``X`` goes through what :meth:`predict` applies to it: a pipeline's earlier steps,
    then the network's own standardisation (``module_.input_offset`` and
    ``input_scale``) and its layers, in evaluation mode.

    Parameters
    ----------
    estimator : fitted SLNNRegressor or SLNNClassifier, a pipeline ending in one, or an SLNN
    X : array-like of shape (n_samples, n_features)
        Input as the estimator (the pipeline) takes it.
    layers : sequence of int, optional
        Hidden layers to return (default: all of them).

    Returns
    -------
    list of numpy.ndarray or None
        One entry per hidden layer: the ``(n_samples, width)`` float64 inputs of its
        activation (``None`` for a layer not asked for).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_slaf import SLNNRegressor
    >>> from sklearn_slaf.plotting import preactivations
    >>> X = np.random.RandomState(0).randn(50, 2)
    >>> reg = SLNNRegressor((4,), max_iter=20, random_state=0, device="cpu").fit(X, X[:, 0] ** 2)
    >>> [h.shape for h in preactivations(reg, X)]
    [(50, 4)]
    """
    import torch

    estimator, X = _network_input(estimator, X)
    module = module_of(estimator)
    wanted = set(range(len(module.hidden)) if layers is None else layers)
    if hasattr(estimator, "n_features_in_"):
        from sklearn.utils.validation import validate_data

        X = validate_data(estimator, X, reset=False, dtype=[np.float64, np.float32])
    else:
        from sklearn.utils import check_array

        X = check_array(X, dtype=[np.float64, np.float32])
        if X.shape[1] != module.n_inputs:
            raise ValueError(f"X has {X.shape[1]} features, but the network takes {module.n_inputs}.")
    weight = module.output.weight
    dtype = torch.float64 if X.dtype == np.float64 else weight.dtype  # the network standardises float64 in float64
    found: dict[int, list[np.ndarray]] = {i: [] for i in wanted}

    def observe(i: int, h) -> None:
        if i in found:
            found[i].append(h.detach().double().cpu().numpy())

    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            for start in range(0, X.shape[0], _CHUNK):
                chunk = np.ascontiguousarray(X[start : start + _CHUNK])
                module.forward_observed(torch.as_tensor(chunk, dtype=dtype, device=weight.device), observe)
    finally:
        module.train(was_training)
    return [np.concatenate(found[i]) if i in found and found[i] else None for i in range(len(module.hidden))]


def _unit_ranges(estimator, slaf: SLAF, layer: int, pre: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Per-unit ``(low, high)``: the range on ``X`` (``pre``), else the training range, else [-3, 3]."""
    if pre is not None:
        return pre.min(axis=0), pre.max(axis=0)
    ranges = getattr(estimator, "preactivation_range_", None)
    if ranges and layer < len(ranges) and ranges[layer] is not None:
        lo, hi = ranges[layer]
        return np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    return np.full(slaf.n_units, -3.0), np.full(slaf.n_units, 3.0)


def _evaluate(slaf: SLAF, x: np.ndarray) -> np.ndarray:
    """``slaf`` in evaluation mode at ``x`` of shape ``(n, n_units)``, as float64."""
    import torch

    param = next(slaf.parameters())
    was_training = slaf.training
    slaf.eval()
    try:
        with torch.no_grad():
            return slaf(torch.as_tensor(x, dtype=param.dtype, device=param.device)).double().cpu().numpy()
    finally:
        slaf.train(was_training)


def _initial_activation(slaf: SLAF, x: np.ndarray) -> np.ndarray:
    """The activation ``slaf`` started as at ``x`` (1-D): its ``activation_init`` fit, without the ``init_std`` noise.

    A fresh layer of the same family, degree and normalisation, in evaluation mode: the
    least-squares fit of ``activation_init`` under a standard normal input that the layer
    is initialised to (exactly the identity for ``"identity"`` with a polynomial basis).
    """
    import torch

    ref = SLAF(1, slaf.degree, slaf.basis, normalize_basis=slaf.normalize_basis, normalize_eps=slaf.normalize_eps,
               activation_init=slaf.activation_init, init_std=0.0, dtype=torch.float64).eval()
    with torch.no_grad():
        return ref(torch.as_tensor(x[:, None], dtype=torch.float64)).numpy()[:, 0]


def activation_curves(estimator: Any, layer: int, n: int = 200, max_units: int | None = None,
                      X: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """The learned activations of one hidden SLAF layer over each unit's range.

    Parameters
    ----------
    estimator : fitted SLNNRegressor or SLNNClassifier, a pipeline ending in one, or an SLNN
    layer : int
        Hidden-layer index (0-based).
    n : int, default=200
        Grid points per unit.
    max_units : int, optional
        Return only the first ``max_units`` units (default: all).
    X : array-like of shape (n_samples, n_features), optional
        With ``X``, each unit's range is that of its pre-activations on ``X``
        (:func:`preactivations`); without, its range on the training data
        (``preactivation_range_``), or ``[-3, 3]`` where none was recorded.

    Returns
    -------
    x, f : numpy.ndarray of shape (n, n_units)
        Column ``j`` is unit ``j``'s pre-activation grid and the layer's output there,
        in evaluation mode (running normalisation statistics), as the fitted model
        computes it.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_slaf import SLNNRegressor
    >>> from sklearn_slaf.plotting import activation_curves
    >>> X = np.random.RandomState(0).randn(50, 2)
    >>> reg = SLNNRegressor((4,), max_iter=20, random_state=0, device="cpu").fit(X, X[:, 0] ** 2)
    >>> x, f = activation_curves(reg, 0, n=100)
    >>> x.shape, f.shape
    ((100, 4), (100, 4))
    >>> bool(np.allclose(x[-1], reg.preactivation_range_[0][1]))  # each unit's training range
    True
    """
    estimator, X = _network_input(estimator, X)
    module = module_of(estimator)
    (layer,) = _check_layers(module, [layer])
    slaf = module.slaf_layers[layer]
    pre = None if X is None else preactivations(estimator, X, [layer])[layer]
    lo, hi = _unit_ranges(estimator, slaf, layer, pre)
    units = slaf.n_units if max_units is None else min(max_units, slaf.n_units)
    x = np.linspace(lo, hi, n)  # (n, n_units)
    f = _evaluate(slaf, x)
    return x[:, :units], f[:, :units]


_BAND_COVERAGE = 0.25  # the band is drawn where at least this share of the units (and two) meet the grid point


def _band(slaf: SLAF, lo: np.ndarray, hi: np.ndarray, n: int, quantiles: tuple[float, float]):
    """Quantiles over the units of the activation on a common grid; a unit counts only inside its range.

    Grid points inside the range of fewer than a quarter of the units (or of fewer than
    two) are left out (NaN): quantiles of a handful of units would only be noise.
    """
    grid = np.linspace(lo.min(), hi.max(), n)
    f = _evaluate(slaf, np.repeat(grid[:, None], slaf.n_units, axis=1))
    outside = (grid[:, None] < lo) | (grid[:, None] > hi)
    f[outside] = np.nan
    covered = (~outside).sum(axis=1) >= max(2.0, _BAND_COVERAGE * slaf.n_units)
    f[~covered] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # no unit at a grid point: a gap
        q = np.nanquantile(f, [quantiles[0], 0.5, quantiles[1]], axis=1)
    return grid, q


def _percent(v: float) -> str:
    return f"{100 * v:g}%"


def plot_activations(
    estimator: Any,
    X: Any = None,
    *,
    layers: Sequence[int] | None = None,
    max_units: int = 16,
    n: int = 200,
    bands: bool | None = None,
    quantiles: tuple[float, float] = (0.1, 0.9),
    bins: int | str = 30,
    show_init: bool = True,
    axes: Any = None,
) -> Figure:
    """Plot the learned activation of each hidden SLAF layer over the pre-activations it meets.

    One column per layer. The top panel draws the layer's activation unit by unit (every
    unit has its own curve: its own coefficients with ``coef_sharing="unit"``, and its
    own normalisation statistics in any case), each over its own range; a layer with
    more units than ``max_units`` also gets the median and a quantile band over all its
    units. A dashed line is the activation the layer was initialised to. With ``X``, the
    ranges are those of the pre-activations on ``X`` and a histogram of them (all units
    pooled) sits underneath on the same x axis; without, the ranges are those recorded
    on the training data.

    Parameters
    ----------
    estimator : fitted SLNNRegressor or SLNNClassifier (or a pipeline ending in one)
    X : array-like of shape (n_samples, n_features), optional
        Data whose pre-activations set the ranges and fill the histograms (as the
        estimator or pipeline takes it: earlier pipeline steps and the network's own
        standardisation are applied, see :func:`preactivations`).
    layers : sequence of int, optional
        Hidden layers to draw (default: every SLAF layer).
    max_units : int, default=16
        Units drawn as single curves per layer (the first ``max_units``).
    n : int, default=200
        Grid points per curve.
    bands : bool, optional
        Draw the median and the ``quantiles`` band over all units of a layer; by
        default for layers with more than ``max_units`` units (whose single curves are
        then drawn thin and faint).
    quantiles : (float, float), default=(0.1, 0.9)
        Lower and upper quantile of the band.
    bins : int or str, default=30
        Histogram bins (anything :func:`numpy.histogram` takes).
    show_init : bool, default=True
        Draw the initial activation (the ``activation_init`` fit the layer started from,
        without the ``init_std`` noise; the identity for ``"identity"``) dashed.
    axes : matplotlib axes, optional
        Where to draw: one axes per layer (activations only, no histogram), or a
        ``(2, len(layers))`` array of them (activations on top, histograms below; needs
        ``X``). A new figure if ``None``.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on. Its legend explains the line kinds: a figure legend below
        the panels in a new figure, otherwise a legend right of the last activation axes.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_slaf import SLNNRegressor
    >>> from sklearn_slaf.plotting import plot_activations
    >>> X = np.random.RandomState(0).randn(50, 2)
    >>> reg = SLNNRegressor((4,), max_iter=20, random_state=0, device="cpu").fit(X, X[:, 0] * X[:, 1])
    >>> fig = plot_activations(reg, X)
    >>> len(fig.axes)  # the activations and, below, the histogram of the pre-activations on X
    2
    >>> [ax.get_ylabel() for ax in fig.axes], fig.axes[1].get_xlabel()
    (['activation', 'count'], 'pre-activation')
    >>> [t.get_text() for t in fig.legends[0].get_texts()]
    ['learned (one line per unit)', 'initial (identity)']
    """
    plt = _pyplot()
    estimator, X = _network_input(estimator, X)
    module = module_of(estimator)
    layers = _check_layers(module, layers)
    if not (0.0 <= quantiles[0] < quantiles[1] <= 1.0):
        raise ValueError(f"quantiles must be (low, high) with 0 <= low < high <= 1; got {quantiles!r}.")
    pre = None if X is None else preactivations(estimator, X, layers)
    own_figure = axes is None
    if own_figure:
        rows = 1 if X is None else 2
        fig, grid = plt.subplots(rows, len(layers), figsize=(4.2 * len(layers), 3.4 + 1.6 * (rows - 1)),
                                 squeeze=False, sharex="col", layout="constrained",
                                 gridspec_kw={"height_ratios": [3, 1.2][:rows]})
        top, bottom = list(grid[0]), (list(grid[1]) if rows == 2 else None)
    else:
        grid = np.asarray(axes, dtype=object)
        if grid.ndim == 2 and grid.shape[0] == 2:
            if X is None:
                raise ValueError("two rows of axes draw the histograms of the pre-activations on X: pass X.")
            top, bottom = list(grid[0]), list(grid[1])
        elif grid.ndim <= 1:
            top, bottom = list(grid.reshape(-1)), None
        else:
            raise ValueError(f"axes must be one axes per layer or a (2, n_layers) array of them; got shape "
                             f"{grid.shape}.")
        if len(top) != len(layers):
            raise ValueError(f"axes has {len(top)} columns for {len(layers)} layers.")
        fig = top[0].figure
    legend: dict[str, Any] = {}
    for col, layer in enumerate(layers):
        ax = top[col]
        slaf = module.slaf_layers[layer]
        h = None if pre is None else pre[layer]
        lo, hi = _unit_ranges(estimator, slaf, layer, h)
        units = min(max(int(max_units), 0), slaf.n_units)
        banded = slaf.n_units > units if bands is None else bool(bands)
        x = np.linspace(lo, hi, n)
        f = _evaluate(slaf, x)
        faint = {"lw": 0.7, "alpha": 0.45} if banded else {"lw": 1.0, "alpha": 0.8}
        for j in range(units):
            (line,) = ax.plot(x[:, j], f[:, j], **faint)
            if j == 0:
                label = "single units" if banded else ("learned (one line per unit)" if slaf.n_units > 1
                                                       else "learned")
                legend.setdefault(label, line)
        f_lo, f_hi = (f[:, :units].min(), f[:, :units].max()) if units else (np.inf, -np.inf)
        if banded:
            grid_x, (q_lo, median, q_hi) = _band(slaf, lo, hi, n, quantiles)
            fill = ax.fill_between(grid_x, q_lo, q_hi, color="C0", alpha=0.25, lw=0,
                                   label=f"{_percent(quantiles[0])}–{_percent(quantiles[1])} of units")
            (med,) = ax.plot(grid_x, median, color="C0", lw=2.0, label="median over units")
            legend.setdefault(med.get_label(), med)
            legend.setdefault(fill.get_label(), fill)
            if np.isfinite(q_lo).any():
                f_lo, f_hi = min(f_lo, np.nanmin(q_lo)), max(f_hi, np.nanmax(q_hi))
        if show_init:
            xs = np.linspace(lo.min(), hi.max(), n)
            (ref,) = ax.plot(xs, _initial_activation(slaf, xs), "--", color="k", lw=1.1, alpha=0.8,
                             label=f"initial ({slaf.activation_init})")
            legend.setdefault(ref.get_label(), ref)
        if lo.min() < 0 < hi.max():  # axis lines only inside the data: they would widen the limits
            ax.axvline(0.0, color="0.8", lw=0.6, zorder=0)
        if f_lo < 0 < f_hi:
            ax.axhline(0.0, color="0.8", lw=0.6, zorder=0)
        ax.set(ylabel="activation",
               title=f"layer {layer + 1} ({slaf.n_units} units): {slaf.basis} basis, degree {slaf.degree}")
        if bottom is None:
            ax.set_xlabel("pre-activation")
            continue
        hx = bottom[col]
        if not own_figure and not ax.get_shared_x_axes().joined(ax, hx):
            try:
                hx.sharex(ax)
            except ValueError:  # already shares its x axis with another: keep the limits in step by hand
                pass
        hx.hist(h.ravel(), bins=bins, range=(float(lo.min()), float(hi.max())), color="0.55")
        hx.set(xlabel="pre-activation", ylabel="count")
        ax.tick_params(labelbottom=False)
        ax.set_xlabel("")
        hx.set_xlim(ax.get_xlim())
    if own_figure:
        fig.legend(list(legend.values()), list(legend.keys()), loc="outside lower center",
                   ncol=min(len(legend), 4), frameon=False, fontsize="small")
    else:  # right of the last panel, clear of every curve
        top[-1].legend(list(legend.values()), list(legend.keys()), loc="upper left", bbox_to_anchor=(1.02, 1.0),
                       borderaxespad=0.0, frameon=False, fontsize="small")
    return fig


def _integer_epochs(ax) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def plot_loss_curve(estimator: Any, ax: Axes | None = None) -> Figure:
    """Plot the training loss per epoch and, after early stopping, the validation curves and the best epoch.

    The training loss (``loss_curve_``) and, when data were held out, the validation loss
    (``validation_loss_curve_``, the same loss on the held-out rows) share the left axis,
    logarithmic when they span more than a decade. The validation score
    (``validation_scores_``: R² for a regressor, accuracy for a classifier) goes on a twin
    axis on the right. A vertical line marks the best epoch: the highest validation
    score, whose weights early stopping restored, or without validation data the lowest
    training loss.

    Parameters
    ----------
    estimator : fitted SLNNRegressor or SLNNClassifier (or a pipeline ending in one)
    ax : matplotlib axes, optional
        Where to draw the losses (a new figure's axes if ``None``).

    Returns
    -------
    matplotlib.figure.Figure
        The legend, below the axes, names every curve and the best epoch.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_slaf import SLNNRegressor
    >>> from sklearn_slaf.plotting import plot_loss_curve
    >>> X = np.random.RandomState(0).randn(50, 2)
    >>> reg = SLNNRegressor((4,), max_iter=20, early_stopping=True, random_state=0,
    ...                     device="cpu").fit(X, X[:, 0] ** 2)
    >>> fig = plot_loss_curve(reg)
    >>> loss_ax, score_ax = fig.axes
    >>> loss_ax.get_xlabel(), loss_ax.get_ylabel(), score_ax.get_ylabel()
    ('epoch', 'loss', 'validation R²')
    >>> [t.get_text() for t in loss_ax.get_legend().get_texts()][:3]
    ['training loss', 'validation loss', 'validation R²']
    """
    from sklearn.base import is_classifier
    from sklearn.utils.validation import check_is_fitted

    _pyplot()
    estimator = _final_step(estimator)
    check_is_fitted(estimator, "loss_curve_")
    loss = np.asarray(estimator.loss_curve_, dtype=float)
    if loss.size == 0:
        raise ValueError("the estimator has no training loss to draw (loss_curve_ is empty).")
    if ax is None:  # constrained: the legend below the axes stays on the figure
        _, ax = _pyplot().subplots(figsize=(5.5, 4.2), layout="constrained")
    fig = ax.figure
    epochs = np.arange(1, loss.size + 1)

    def aligned(values) -> tuple[np.ndarray, np.ndarray]:  # the last len(values) epochs
        values = np.asarray(values, dtype=float)
        return epochs[loss.size - values.size:], values

    ax.plot(epochs, loss, color="C0", label="training loss")
    val_loss = list(getattr(estimator, "validation_loss_curve_", None) or [])
    shown = [loss]
    if val_loss:
        ep, v = aligned(val_loss)
        ax.plot(ep, v, "--", color="C0", label="validation loss")
        shown.append(v)
    scores = getattr(estimator, "validation_scores_", None)
    score_name = "validation accuracy" if is_classifier(estimator) else "validation R²"
    twin = None
    if scores is not None and np.isfinite(np.asarray(scores, dtype=float)).any():
        ep, s = aligned(scores)
        twin = ax.twinx()
        twin.plot(ep, s, color="C1", label=score_name)
        twin.set_ylabel(score_name, color="C1")
        twin.tick_params(axis="y", colors="C1")
        finite = s[np.isfinite(s)]
        if not is_classifier(estimator) and finite.size and finite.min() < -1.0:
            twin.set_ylim(bottom=-1.05)  # early epochs far below zero would flatten the rest
        best = int(np.nanargmax(np.where(np.isfinite(s), s, np.nan)))  # the first best: the weights kept
        ax.axvline(ep[best], color="C3", ls=":", lw=1.5,
                   label=f"best epoch ({ep[best]}): {score_name} {s[best]:.3g}")
    else:
        best = int(np.nanargmin(np.where(np.isfinite(loss), loss, np.nan)))
        ax.axvline(epochs[best], color="C3", ls=":", lw=1.5,
                   label=f"lowest training loss (epoch {epochs[best]})")
    values = np.concatenate(shown)
    values = values[np.isfinite(values)]
    if values.size and values.min() > 0 and values.max() / values.min() > 10:  # a log axis only over a decade
        ax.set_yscale("log")
    ax.set(xlabel="epoch", ylabel="loss", title=f"{type(estimator).__name__}: training curve")
    _integer_epochs(ax)
    handles, labels = ax.get_legend_handles_labels()
    if twin is not None:
        more = twin.get_legend_handles_labels()
        # the best-epoch marker last, after every curve
        handles, labels = handles[:-1] + more[0] + handles[-1:], labels[:-1] + more[1] + labels[-1:]
    ax.legend(handles, labels, fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2,
              frameon=False)  # below the axes, clear of the curves
    return fig


def plot_polynomial_terms(transformer: Any, n: int = 20, *, output: int = 0, ax: Axes | None = None) -> Figure:
    """Horizontal bars of the ``n`` monomials with the largest absolute coefficients.

    Parameters
    ----------
    transformer : fitted PolynomialFeatureEquivalent
        Its ``coef_`` and :meth:`get_feature_names_out` (monomials of the standardised
        inputs with ``coordinates="standardized"``, of the raw ones with ``"raw"``).
    n : int, default=20
        Number of monomials drawn (all of them if there are fewer).
    output : int, default=0
        Which output (row of a 2-D ``coef_``).
    ax : matplotlib axes, optional
        Where to draw (a new figure, its height fitted to ``n``, if ``None``).

    Returns
    -------
    matplotlib.figure.Figure
        Bars from the top in decreasing ``|coefficient|``, signed (negative ones point
        left), coloured by the monomial's degree and labelled with their value; the
        constant term (``intercept_``) is not a monomial and is left out.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_slaf import PolynomialFeatureEquivalent, SLNNRegressor
    >>> from sklearn_slaf.plotting import plot_polynomial_terms
    >>> X = np.random.RandomState(0).randn(50, 2)
    >>> reg = SLNNRegressor((4,), max_iter=20, random_state=0, device="cpu").fit(X, X[:, 0] ** 2)
    >>> pfe = PolynomialFeatureEquivalent(reg).fit(X)
    >>> fig = plot_polynomial_terms(pfe, n=5)
    >>> ax = fig.axes[0]
    >>> len(ax.patches), ax.get_xlabel(), ax.get_ylabel()
    (5, 'coefficient (standardised inputs)', 'monomial')
    >>> top = int(np.argmax(np.abs(pfe.coef_)))
    >>> ax.get_yticklabels()[0].get_text() == pfe.get_feature_names_out()[top]
    True
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(transformer, "coef_")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer; got {n!r}.")
    coef_all = np.atleast_2d(np.asarray(transformer.coef_, dtype=float))
    if isinstance(output, bool) or not isinstance(output, (int, np.integer)) or not 0 <= output < coef_all.shape[0]:
        raise ValueError(f"output must be an integer in [0, {coef_all.shape[0]}); got {output!r}.")
    coef = coef_all[output]
    names = np.asarray(transformer.get_feature_names_out(), dtype=object)
    powers = getattr(transformer, "powers_", None)
    degree = (np.asarray(powers).sum(axis=1) if powers is not None
              else np.asarray([sum(int(p.partition("^")[2] or 1) for p in str(m).split()) for m in names]))
    order = np.argsort(-np.abs(coef), kind="stable")[: int(n)]
    k = order.size
    if ax is None:
        _, ax = _pyplot().subplots(figsize=(6.0, max(2.5, 0.3 * k + 1.3)), layout="constrained")
    fig = ax.figure
    colors = [f"C{(int(d) - 1) % 10}" for d in degree[order]]
    bars = ax.barh(np.arange(k), coef[order], color=colors, height=0.7)
    ax.bar_label(bars, labels=[f"{v:.3g}" for v in coef[order]], padding=2, fontsize="x-small")
    ax.set_yticks(np.arange(k), labels=[str(s) for s in names[order]])
    ax.set_ylim(k - 0.4, -0.6)  # the largest on top
    ax.axvline(0.0, color="0.3", lw=0.8)
    ax.margins(x=0.12)  # room for the value labels
    coords = getattr(transformer, "coordinates", "standardized")
    ax.set_xlabel(f"coefficient ({'raw' if coords == 'raw' else 'standardised'} inputs)")
    ax.set_ylabel("monomial")
    which = f", output {output}" if coef_all.shape[0] > 1 else ""
    ax.set_title(f"{k} largest of {coef.size} monomials{which}")
    from matplotlib.patches import Patch

    present = sorted({int(d) for d in degree[order]})
    ax.legend([Patch(color=f"C{(d - 1) % 10}") for d in present], [f"degree {d}" for d in present],
              title="monomial", fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
              frameon=False)  # right of the bars
    return fig


def plot_compact_curve(curve: Any, *, ax: Axes | None = None) -> Axes:
    """Plot the accuracy of the compact polynomials against the number of terms kept.

    Parameters
    ----------
    curve : DataFrame or dict
        What :meth:`PolynomialFeatureEquivalent.compact_curve
        <sklearn_slaf.PolynomialFeatureEquivalent.compact_curve>` returns.
    ax : matplotlib axes, optional
        Where to draw (a new figure's axes if ``None``).

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
