"""make_sparse_polynomial gives the polynomial it says; the activation plots draw what the model computes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from sklearn_slaf import SLNNRegressor
from sklearn_slaf.datasets import make_sparse_polynomial, make_two_spirals


def test_sparse_polynomial_is_the_polynomial_it_returns():
    X, y, powers, coef = make_sparse_polynomial(500, n_features=4, n_terms=6, noise=0.0, random_state=1,
                                                return_polynomial=True)
    assert X.shape == (500, 4) and powers.shape[1] == 4 and (powers.sum(axis=1) == 3).all()
    # least squares on every monomial of degree <= 3 recovers exactly these terms, and nothing else
    poly = PolynomialFeatures(3, include_bias=False).fit(X)
    lin = LinearRegression().fit(poly.transform(X), y)
    found = {tuple(p): c for p, c in zip(poly.powers_, lin.coef_) if abs(c) > 1e-9}
    assert found.keys() == {tuple(p) for p in powers}
    np.testing.assert_allclose([found[tuple(p)] for p in powers], coef, rtol=1e-9)


def test_two_spirals_lie_on_their_arms():
    X, y = make_two_spirals(2001, turns=2.0, random_state=0)
    assert X.shape == (2001, 2) and np.bincount(y).tolist() == [1000, 1001]
    # a point at radius r (in the unit disc) sits at angle t = r * t_max on its arm, up to 2 pi
    t_max = 2 * np.pi * 2.0
    for arm, sign in ((0, 1.0), (1, -1.0)):
        P = sign * X[y == arm]
        r = np.linalg.norm(P, axis=1)
        t = r * t_max
        assert np.allclose(P, np.column_stack([t * np.cos(t), t * np.sin(t)]) / t_max)
    assert np.array_equal(make_two_spirals(100, random_state=3)[0], make_two_spirals(100, random_state=3)[0])
    noisy, _ = make_two_spirals(2000, noise=0.1, random_state=0)
    assert 0.08 < np.std(noisy - make_two_spirals(2000, random_state=0)[0]) < 0.12


def test_two_spirals_need_more_than_a_cubic():
    # the data set's point: a cubic of the inputs cannot separate the arms (the paper's motivation for depth)
    from sklearn.linear_model import LogisticRegression

    X, y = make_two_spirals(2000, random_state=0)
    cubic = make_pipeline(PolynomialFeatures(3), StandardScaler(), LogisticRegression(max_iter=2000)).fit(X, y)
    assert cubic.score(X, y) < 0.9


@pytest.mark.parametrize("kwargs", [{"n_samples": 1}, {"turns": 0}, {"noise": -1.0}])
def test_two_spirals_refuse_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        make_two_spirals(**kwargs)


def test_sparse_polynomial_noise_is_relative_and_seeded():
    X, y0 = make_sparse_polynomial(20000, noise=0.0, random_state=0)
    _, y1 = make_sparse_polynomial(20000, noise=0.5, random_state=0)
    assert np.std(y1 - y0) / np.std(y0) == pytest.approx(0.5, rel=0.03)
    np.testing.assert_array_equal(make_sparse_polynomial(50, random_state=3)[1], make_sparse_polynomial(50,
                                  random_state=3)[1])
    with pytest.raises(ValueError, match="n_terms"):
        make_sparse_polynomial(n_terms=0)


@pytest.fixture(scope="module")
def fitted():
    X, y = make_sparse_polynomial(300, n_features=3, n_terms=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = SLNNRegressor((6, 4), degree=(3, 2), max_iter=20, random_state=0, device="cpu").fit(X, y)
    return reg, X


def test_activation_curves_are_the_layers_output_over_the_training_range(fitted):
    from sklearn_slaf.plotting import activation_curves

    reg, X = fitted
    x, f = activation_curves(reg, 1, n=50)
    lo, hi = reg.preactivation_range_[1]
    slaf = reg.module_.slaf_layers[1]
    with torch.no_grad():
        expected = slaf.eval()(torch.as_tensor(x, dtype=torch.float32)).double().numpy()
    np.testing.assert_allclose(f, expected, rtol=1e-6)
    # each column spans exactly its unit's training range
    assert (x.min(axis=0) == lo).all() and (x.max(axis=0) == hi).all()


def test_plot_activations_draws_one_panel_per_slaf_layer(fitted):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from sklearn_slaf.plotting import activation_curves, plot_activations

    reg, _ = fitted
    axes = plot_activations(reg, max_units=3).axes  # no X: one row, one panel per layer
    assert len(axes) == 2
    for layer, ax in enumerate(axes):
        x, f = activation_curves(reg, layer, max_units=3)
        lines = ax.get_lines()[:3]
        for j, line in enumerate(lines):
            np.testing.assert_allclose(line.get_xdata(), x[:, j])
            np.testing.assert_allclose(line.get_ydata(), f[:, j])
        assert "degree" in ax.get_title()
    import matplotlib.pyplot as plt

    plt.close("all")


def test_plot_activations_reads_a_pipeline_and_refuses_a_network_without_slaf():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from sklearn_slaf.plotting import plot_activations

    X, y = make_sparse_polynomial(150, n_features=3, n_terms=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe = make_pipeline(StandardScaler(), SLNNRegressor((4,), max_iter=3, random_state=0)).fit(X, y)
        relu = SLNNRegressor((4,), hidden_activation="relu", max_iter=3, random_state=0).fit(X, y)
    assert len(plot_activations(pipe).axes) == 1
    with pytest.raises(ValueError, match="no SLAF layer"):
        plot_activations(relu)
    import matplotlib.pyplot as plt

    plt.close("all")
