"""The plots of fitted networks draw what the model computes, labelled and readable (Agg backend)."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_slaf import PolynomialFeatureEquivalent, SLNNClassifier, SLNNRegressor

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from sklearn_slaf import plotting  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 3)) * [1.0, 3.0, 0.5] + [0.0, 5.0, -1.0]  # the network standardises it itself
    return X, X[:, 0] * X[:, 1] + np.sin(X[:, 2])


@pytest.fixture(scope="module")
def per_unit(data):
    """Per-unit coefficients; 5 units: one curve each."""
    X, y = data
    return _fit(SLNNRegressor((5,), coef_sharing="unit", max_iter=15, early_stopping=False, random_state=0,
                              device="cpu"), X, y)


@pytest.fixture(scope="module")
def wide(data):
    """Two SLAF layers, the second wider than max_units: quantile bands; early stopping on."""
    X, y = data
    return _fit(SLNNRegressor((6, 24), degree=(3, 2), max_iter=15, early_stopping=True, random_state=0,
                              device="cpu"), X, y)


def _manual_preactivations(reg, X) -> list[np.ndarray]:
    """Pre-activations layer by layer, from the module's buffers and layers (not forward_observed)."""
    m = reg.module_
    h = (torch.as_tensor(X, dtype=torch.float64) - m.input_offset) / m.input_scale
    h = h.to(m.output.weight.dtype)
    out = []
    with torch.no_grad():
        for lin, act in zip(m.hidden, m.activations):
            h = lin(h)
            out.append(h.double().numpy())
            h = act.eval()(h)
    return out


def _solid(ax):
    return [line for line in ax.get_lines() if line.get_linestyle() == "-" and len(line.get_xdata()) > 2]


def _overlaps_data(legend, axes) -> bool:
    """Whether the drawn legend's box contains a vertex of any line or bar of ``axes``."""
    box = legend.get_window_extent()
    for ax in axes:
        for line in ax.get_lines():
            xy = np.column_stack([line.get_xdata(), line.get_ydata()]).astype(float)
            xy = xy[np.isfinite(xy).all(axis=1)]
            if xy.size and box.count_contains(ax.transData.transform(xy)):
                return True
        for patch in ax.patches:
            if box.overlaps(patch.get_window_extent()):
                return True
    return False


# ------------------------------------------------------------------------------------------- plot_activations
def test_preactivations_are_the_layers_inputs(wide, data):
    X, _ = data
    got = plotting.preactivations(wide, X)
    for mine, theirs in zip(got, _manual_preactivations(wide, X)):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)
    # a pipeline's earlier steps transform X first
    scaler = StandardScaler().fit(X)
    pipe = make_pipeline(scaler, wide)
    expected = plotting.preactivations(wide, scaler.transform(X))[1]
    np.testing.assert_allclose(plotting.preactivations(pipe, X)[1], expected)
    with pytest.raises(ValueError, match="features"):
        plotting.preactivations(wide, X[:, :2])


def test_histograms_span_the_preactivations_on_X(wide, data):
    X, _ = data
    fig = plotting.plot_activations(wide, X)
    assert len(fig.axes) == 4  # two layers: activations on top, histograms below
    top, bottom = fig.axes[:2], fig.axes[2:]
    for layer, (ax, hx, pre) in enumerate(zip(top, bottom, _manual_preactivations(wide, X))):
        bars = [p for p in hx.patches if isinstance(p, Rectangle)]
        assert len(bars) == 30
        assert bars[0].get_x() == pytest.approx(pre.min(), abs=1e-5)
        assert bars[-1].get_x() + bars[-1].get_width() == pytest.approx(pre.max(), abs=1e-5)
        assert sum(b.get_height() for b in bars) == pre.size  # every unit's every row, pooled
        assert hx.get_shared_x_axes().joined(ax, hx) and ax.get_xlim() == hx.get_xlim()
        assert (hx.get_xlabel(), hx.get_ylabel()) == ("pre-activation", "count")
        assert ax.get_ylabel() == "activation"
        assert ax.get_title().startswith(f"layer {layer + 1} (") and "degree" in ax.get_title()


def test_per_unit_curves_cover_each_units_range_on_X(per_unit, data):
    X, _ = data
    fig = plotting.plot_activations(per_unit, X[:60])
    ax = fig.axes[0]
    pre = _manual_preactivations(per_unit, X[:60])[0]
    slaf = per_unit.module_.slaf_layers[0]
    assert slaf.n_groups == 5  # one set of coefficients per unit
    curves = _solid(ax)
    assert len(curves) == 5 and not [c for c in ax.collections if isinstance(c, PolyCollection)]  # no band
    for j, line in enumerate(curves):
        x = np.asarray(line.get_xdata())
        assert (x.min(), x.max()) == pytest.approx((pre[:, j].min(), pre[:, j].max()), abs=1e-5)
        grid = np.zeros((x.size, 5), dtype=np.float32)
        grid[:, j] = x
        with torch.no_grad():
            expected = slaf.eval()(torch.as_tensor(grid)).double().numpy()[:, j]
        np.testing.assert_allclose(line.get_ydata(), expected, rtol=1e-5, atol=1e-6)
    # the units really differ: their own coefficients
    assert len({round(float(line.get_ydata()[len(x) // 2]), 4) for line in curves}) > 1


def test_initial_activation_is_a_dashed_reference(per_unit, data):
    X, y = data
    ax = plotting.plot_activations(per_unit, X).axes[0]
    (ref,) = [line for line in ax.get_lines() if line.get_label() == "initial (identity)"]
    assert ref.get_linestyle() == "--"
    np.testing.assert_allclose(ref.get_ydata(), ref.get_xdata(), atol=1e-9)  # identity init: exactly x
    tanh = _fit(SLNNRegressor((3,), activation_init="tanh", max_iter=2, random_state=0, device="cpu"), X, y)
    ax = plotting.plot_activations(tanh, X).axes[0]
    (ref,) = [line for line in ax.get_lines() if line.get_label() == "initial (tanh)"]
    x = np.asarray(ref.get_xdata())
    near = np.abs(x) < 1.5
    assert ref.get_linestyle() == "--" and near.any()
    np.testing.assert_allclose(ref.get_ydata()[near], np.tanh(x[near]), atol=0.1)  # the cubic fit of tanh
    ax = plotting.plot_activations(tanh, X, show_init=False).axes[0]
    assert "initial (tanh)" not in ax.get_legend_handles_labels()[1]


def test_many_units_draw_median_and_quantile_band(wide, data):
    X, _ = data
    fig = plotting.plot_activations(wide, X)
    narrow, broad = fig.axes[:2]
    assert not [c for c in narrow.collections if isinstance(c, PolyCollection)]  # 6 units: single curves only
    bands = [c for c in broad.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 1 and bands[0].get_label() == "10%–90% of units"
    (median,) = [line for line in broad.get_lines() if line.get_label() == "median over units"]
    # the median over the units inside their range, computed here from the layer itself
    pre = _manual_preactivations(wide, X)[1]
    lo, hi = pre.min(axis=0), pre.max(axis=0)
    grid = np.asarray(median.get_xdata())
    slaf = wide.module_.slaf_layers[1]
    with torch.no_grad():
        f = slaf.eval()(torch.as_tensor(np.repeat(grid[:, None], 24, axis=1), dtype=torch.float32)).double().numpy()
    inside = (grid[:, None] >= lo) & (grid[:, None] <= hi)
    covered = inside.sum(axis=1) >= 6  # a quarter of the units
    expected = np.array([np.median(f[i, inside[i]]) for i in np.flatnonzero(covered)])
    np.testing.assert_allclose(np.asarray(median.get_ydata())[covered], expected, rtol=1e-5, atol=1e-6)
    assert np.isnan(np.asarray(median.get_ydata())[~covered]).all()
    faint = [line for line in _solid(broad) if line is not median and line.get_alpha() is not None
             and line.get_alpha() < 0.5]
    assert len(faint) == 16  # max_units single curves, drawn faint under the band
    # the choice can be forced either way
    only_band = plotting.plot_activations(wide, X, max_units=0, layers=[1]).axes[0]
    assert [line.get_label() for line in _solid(only_band)] == ["median over units"]
    no_band = plotting.plot_activations(wide, X, bands=False, layers=[1]).axes[0]
    assert not [c for c in no_band.collections if isinstance(c, PolyCollection)]


def test_legend_explains_the_lines_and_sits_clear_of_the_data(wide, data):
    X, _ = data
    fig = plotting.plot_activations(wide, X)
    (legend,) = fig.legends
    texts = [t.get_text() for t in legend.get_texts()]
    assert texts == ["learned (one line per unit)", "initial (identity)", "single units", "median over units",
                     "10%–90% of units"]
    fig.canvas.draw()
    box = legend.get_window_extent()
    assert not any(box.overlaps(ax.get_window_extent()) for ax in fig.axes)  # below every panel


def test_without_X_the_training_range_and_no_histogram(wide):
    fig = plotting.plot_activations(wide, max_units=3)
    assert len(fig.axes) == 2 and all(ax.get_xlabel() == "pre-activation" for ax in fig.axes)
    for layer, ax in enumerate(fig.axes):
        x, f = plotting.activation_curves(wide, layer, max_units=3)
        for j, line in enumerate(ax.get_lines()[:3]):  # the single units come first
            np.testing.assert_allclose(line.get_xdata(), x[:, j])
            np.testing.assert_allclose(line.get_ydata(), f[:, j])
        lo, hi = wide.preactivation_range_[layer]
        assert (x.min(axis=0) == lo[:3]).all() and (x.max(axis=0) == hi[:3]).all()


def test_activation_curves_take_the_range_on_X(per_unit, data):
    X, _ = data
    x, f = plotting.activation_curves(per_unit, 0, n=7, X=X[:30])
    pre = _manual_preactivations(per_unit, X[:30])[0]
    assert x.shape == f.shape == (7, 5)
    np.testing.assert_allclose(x[0], pre.min(axis=0), atol=1e-5)
    np.testing.assert_allclose(x[-1], pre.max(axis=0), atol=1e-5)


def test_plot_activations_draws_into_given_axes(wide, data):
    X, _ = data
    fig, axes = plt.subplots(1, 2)
    assert plotting.plot_activations(wide, X, axes=axes) is fig
    assert len(fig.axes) == 2  # one axes per layer: no histogram added
    legend = axes[-1].get_legend()
    fig.canvas.draw()
    assert legend.get_window_extent().x0 >= axes[-1].get_window_extent().x1  # right of the last panel
    fig2, grid = plt.subplots(2, 2)
    plotting.plot_activations(wide, X, axes=grid)
    assert len(grid[1, 0].patches) == 30 and grid[1, 0].get_shared_x_axes().joined(grid[0, 0], grid[1, 0])
    with pytest.raises(ValueError, match="pass X"):
        plotting.plot_activations(wide, axes=grid)
    with pytest.raises(ValueError, match="columns"):
        plotting.plot_activations(wide, X, axes=axes[:1])


def test_plot_activations_checks_its_layers(wide, data):
    X, y = data
    assert len(plotting.plot_activations(wide, layers=[-1]).axes) == 1
    with pytest.raises(ValueError, match="hidden-layer indices"):
        plotting.plot_activations(wide, layers=[2])
    hybrid = _fit(SLNNRegressor((4, 4), hidden_activation=["relu", "slaf"], max_iter=2, random_state=0,
                                device="cpu"), X, y)
    with pytest.raises(ValueError, match="not a SLAF layer"):
        plotting.plot_activations(hybrid, layers=[0])
    assert [ax.get_title()[:7] for ax in plotting.plot_activations(hybrid, X).axes[:1]] == ["layer 2"]
    with pytest.raises(ValueError, match="quantiles"):
        plotting.plot_activations(wide, quantiles=(0.9, 0.1))


# ------------------------------------------------------------------------------------------- plot_loss_curve
def test_loss_curve_with_early_stopping_marks_the_best_validation_epoch(wide):
    assert wide.validation_scores_ is not None
    fig = plotting.plot_loss_curve(wide)
    ax, twin = fig.axes
    train, val, best = ax.get_lines()
    n = len(wide.loss_curve_)
    np.testing.assert_array_equal(train.get_xdata(), np.arange(1, n + 1))
    np.testing.assert_allclose(train.get_ydata(), wide.loss_curve_)
    np.testing.assert_allclose(val.get_ydata(), wide.validation_loss_curve_)
    assert val.get_linestyle() == "--"
    (score,) = twin.get_lines()
    np.testing.assert_allclose(score.get_ydata(), wide.validation_scores_)
    epoch = int(np.argmax(wide.validation_scores_)) + 1
    assert list(best.get_xdata()) == [epoch, epoch]  # a vertical line at the best epoch
    assert (ax.get_xlabel(), ax.get_ylabel(), twin.get_ylabel()) == ("epoch", "loss", "validation R²")
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts[:3] == ["training loss", "validation loss", "validation R²"]
    assert texts[3].startswith(f"best epoch ({epoch}): validation R² ")
    fig.canvas.draw()
    assert not _overlaps_data(ax.get_legend(), [ax, twin])
    assert all(float(t).is_integer() for t in ax.get_xticks())


def test_loss_curve_without_validation_marks_the_lowest_loss(per_unit):
    assert per_unit.validation_scores_ is None
    fig = plotting.plot_loss_curve(make_pipeline(StandardScaler(), per_unit))  # a pipeline's last step
    (ax,) = fig.axes
    train, best = ax.get_lines()
    epoch = int(np.argmin(per_unit.loss_curve_)) + 1
    assert list(best.get_xdata()) == [epoch, epoch]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["training loss",
                                                                   f"lowest training loss (epoch {epoch})"]


class _Curves(BaseEstimator):
    """A stand-in with chosen curves."""

    def __init__(self, loss, scores=None, val_loss=()):
        self.loss, self.scores, self.val_loss = loss, scores, val_loss

    def fit(self, X=None, y=None):
        self.loss_curve_, self.validation_scores_ = list(self.loss), self.scores
        self.validation_loss_curve_ = list(self.val_loss)
        return self


def test_loss_curve_scales_ties_and_alignment():
    # a loss over two decades gets a log axis; the first of tied best scores is the epoch kept
    loss = [10.0, 1.0, 0.5, 0.1, 0.09]
    fig = plotting.plot_loss_curve(_Curves(loss, scores=[-50.0, 0.2, 0.7, 0.7, 0.6], val_loss=loss).fit())
    ax, twin = fig.axes
    assert ax.get_yscale() == "log" and ax.get_lines()[-1].get_xdata()[0] == 3
    assert twin.get_ylim()[0] == pytest.approx(-1.05)  # an R² of -50 does not flatten the rest
    for lowest in (0.09, 0.1):  # two decades, and just over one: decade labels only
        ax = plotting.plot_loss_curve(_Curves([1.2, 0.5, lowest]).fit()).axes[0]
        ax.figure.canvas.draw()
        assert ax.get_yscale() == "log"
        labels = [t.get_text() for t in ax.get_yticklabels(minor=True) + ax.get_yticklabels()]
        assert not [s for s in labels if "times" in s]
    # validation scores of the last epochs only (a warm start) are drawn at those epochs
    fig = plotting.plot_loss_curve(_Curves([1.0, 0.9, 0.8, 0.7], scores=[0.1, 0.3]).fit())
    ax, twin = fig.axes
    assert ax.get_yscale() == "linear"
    np.testing.assert_array_equal(twin.get_lines()[0].get_xdata(), [3, 4])
    assert ax.get_lines()[-1].get_xdata()[0] == 4
    with pytest.raises(NotFittedError):
        plotting.plot_loss_curve(_Curves([1.0]))
    with pytest.raises(ValueError, match="empty"):
        plotting.plot_loss_curve(_Curves([]).fit())


def test_loss_curve_of_a_classifier_shows_accuracy(data):
    X, y = data
    clf = _fit(SLNNClassifier((4,), max_iter=5, early_stopping=True, random_state=0, device="cpu"), X, y > 5)
    fig = plotting.plot_loss_curve(clf)
    assert fig.axes[1].get_ylabel() == "validation accuracy"


# ------------------------------------------------------------------------------------------- plot_polynomial_terms
@pytest.fixture(scope="module")
def pfe(data):
    X, y = data
    reg = _fit(SLNNRegressor((4, 3), degree=(2, 2), max_iter=10, random_state=0, device="cpu"), X, y)
    return PolynomialFeatureEquivalent(reg).fit(X)


def test_polynomial_terms_are_the_largest_coefficients_in_order(pfe):
    fig = plotting.plot_polynomial_terms(pfe, n=8)
    (ax,) = fig.axes
    coef, names = pfe.coef_, pfe.get_feature_names_out()
    order = np.argsort(-np.abs(coef), kind="stable")[:8]
    bars = sorted(ax.patches, key=lambda b: b.get_y())  # top to bottom
    assert len(bars) == 8
    np.testing.assert_allclose([b.get_width() for b in bars], coef[order])  # signed, largest |coef| on top
    assert np.all(np.diff(np.abs([b.get_width() for b in bars])) <= 0)
    ticks = dict(zip(ax.get_yticks(), [t.get_text() for t in ax.get_yticklabels()]))
    assert [ticks[round(b.get_y() + b.get_height() / 2)] for b in bars] == list(names[order])
    assert ax.yaxis_inverted()  # the largest at the top
    degree = pfe.powers_.sum(axis=1)[order]
    assert [matplotlib.colors.to_hex(b.get_facecolor()) for b in bars] == [
        matplotlib.colors.to_hex(f"C{d - 1}") for d in degree]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [f"degree {d}" for d in sorted(set(degree))]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("coefficient (standardised inputs)", "monomial")
    assert ax.get_title() == f"8 largest of {coef.size} monomials"
    fig.canvas.draw()
    assert not _overlaps_data(ax.get_legend(), [ax])


def test_polynomial_terms_clip_n_and_check_arguments(pfe):
    ax = plotting.plot_polynomial_terms(pfe, n=10_000).axes[0]
    assert len(ax.patches) == pfe.n_output_features_
    with pytest.raises(ValueError, match="positive integer"):
        plotting.plot_polynomial_terms(pfe, n=0)
    with pytest.raises(ValueError, match="output"):
        plotting.plot_polynomial_terms(pfe, output=1)
    with pytest.raises(NotFittedError):
        plotting.plot_polynomial_terms(PolynomialFeatureEquivalent(SLNNRegressor()))


# ------------------------------------------------------------------------------------------- mean-field plots
def test_mean_field_plots_stay_readable():
    from sklearn_slaf.eoc import depth_profile

    # correlation map: five ticks, and their labels do not run together
    ax = plotting.plot_correlation_map("relu", sigma_w=2**0.5, sigma_b=0.0, q=1.0)
    ax.figure.canvas.draw()
    boxes = [t.get_window_extent() for t in ax.get_xticklabels() if t.get_text()]
    assert len(boxes) == 5 and all(a.x1 < b.x0 for a, b in zip(boxes, boxes[1:]))
    # depth profile: whole layers, decade labels only on a log axis, legend below the data
    for depth, sigma_w in ((2, 1.3042), (40, 1.0)):
        ax = plotting.plot_depth_profile(depth_profile("tanh", depth, sigma_w=sigma_w, sigma_b=0.05))
        ax.figure.canvas.draw()
        lo, hi = ax.get_xlim()
        assert all(float(t).is_integer() for t in ax.get_xticks() if lo <= t <= hi)
        twin = [a for a in ax.figure.axes if a is not ax][0]
        labels = [t.get_text() for t in twin.get_yticklabels(minor=True) + twin.get_yticklabels() if t.get_text()]
        assert not [s for s in labels if "times" in s]  # no "9.9x10^-1" mantissa labels
        assert not _overlaps_data(ax.get_legend(), [ax, twin])
    assert twin.get_yscale() == "log"
    # variance map: stable and unstable fixed points, each explained once in the legend
    ax = plotting.plot_variance_map([0.0, 1.0, 0.0, 1.0], sigma_w=0.3, sigma_b=0.3, q_max=1.0)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts.count("stable fixed point") == 1 and texts.count("unstable fixed point") == 1
    markers = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert {matplotlib.colors.to_hex(m.get_markerfacecolor()) for m in markers} == {"#d62728", "#ffffff"}
    ax.figure.canvas.draw()
    assert not _overlaps_data(ax.get_legend(), [ax])
    ax = plotting.plot_eoc_curve("swish", n=40)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["swish, stable", "swish, unstable"]
    ax.figure.canvas.draw()
    assert not _overlaps_data(ax.get_legend(), [ax])
    # tanh's curve is stable throughout: the legend explains only what is drawn
    ax = plotting.plot_eoc_curve("tanh", n=40)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["tanh, stable"]


def test_missing_matplotlib_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)  # import then raises ImportError
    with pytest.raises(ImportError, match=r"sklearn-slaf\[plot\]"):
        plotting.plot_eoc_curve("tanh")
