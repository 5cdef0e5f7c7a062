"""What MLPRegressor/MLPClassifier users expect by name: optimiser knobs, schedules and fitted attributes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

from sklearn_slaf import SLNNClassifier, SLNNRegressor

FAST = {"hidden_layer_sizes": (8, 4), "max_iter": 5, "device": "cpu", "random_state": 0}


def _quiet(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


@pytest.fixture(scope="module")
def reg_data():
    return make_regression(n_samples=120, n_features=4, noise=0.1, random_state=0)


def test_fitted_attributes_match_mlps(reg_data):
    X, y = reg_data
    ours = _quiet(SLNNRegressor(**FAST), X, y)
    theirs = _quiet(MLPRegressor(hidden_layer_sizes=(8, 4), max_iter=5, random_state=0), X, y)
    assert ours.n_layers_ == theirs.n_layers_ == 4
    assert ours.out_activation_ == theirs.out_activation_ == "identity"
    assert ours.n_outputs_ == theirs.n_outputs_
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]
    assert [b.shape for b in ours.intercepts_] == [b.shape for b in theirs.intercepts_]
    assert ours.loss_ == ours.loss_curve_[-1]


@pytest.mark.parametrize("n_classes", [2, 3])
def test_classifier_attributes_match_mlps(n_classes):
    X, y = make_classification(n_samples=120, n_features=5, n_informative=3, n_classes=n_classes, random_state=0)
    ours = _quiet(SLNNClassifier(**FAST), X, y)
    theirs = _quiet(MLPClassifier(hidden_layer_sizes=(8, 4), max_iter=5, random_state=0), X, y)
    assert ours.n_outputs_ == theirs.n_outputs_ == (1 if n_classes == 2 else n_classes)
    assert ours.out_activation_ == theirs.out_activation_
    assert ours.n_layers_ == theirs.n_layers_
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]


def test_coefs_are_read_only_views_that_reproduce_the_network(reg_data):
    # a ReLU network read through coefs_/intercepts_ in numpy predicts what the estimator predicts
    X, y = reg_data
    reg = _quiet(SLNNRegressor(**{**FAST, "hidden_activation": "relu", "dtype": "float64"}), X, y)
    W = reg.module_.linear_layers[0].weight
    assert np.shares_memory(reg.coefs_[0], W.detach().numpy())
    with pytest.raises(ValueError, match="read-only"):
        reg.coefs_[0][0, 0] = 1.0
    m = reg.module_
    h = (X - m.input_offset.numpy()) / m.input_scale.numpy()
    for i, (c, b) in enumerate(zip(reg.coefs_, reg.intercepts_)):
        h = h @ c + b
        if i < len(reg.coefs_) - 1:
            h = np.maximum(h, 0.0)
    out = h[:, 0] * m.output_scale.numpy()[0] + m.output_offset.numpy()[0]
    np.testing.assert_allclose(out, reg.predict(X), rtol=1e-10, atol=1e-10)


def test_unfitted_attributes_raise_not_fitted():
    from sklearn.exceptions import NotFittedError

    for name in ("coefs_", "intercepts_", "n_layers_", "out_activation_"):
        with pytest.raises(NotFittedError):
            getattr(SLNNRegressor(), name)


def test_sgd_momentum_knobs_change_the_fit_as_documented(reg_data):
    X, y = reg_data
    fit = lambda **kw: _quiet(SLNNRegressor(**{**FAST, "solver": "sgd", **kw}), X, y).predict(X)
    # without momentum Nesterov's correction is void: both flags give the same plain SGD
    np.testing.assert_array_equal(fit(momentum=0.0, nesterovs_momentum=True),
                                  fit(momentum=0.0, nesterovs_momentum=False))
    assert not np.array_equal(fit(momentum=0.9, nesterovs_momentum=True),
                              fit(momentum=0.9, nesterovs_momentum=False))
    assert not np.array_equal(fit(momentum=0.0), fit(momentum=0.9))


def test_adam_knobs_change_the_fit(reg_data):
    X, y = reg_data
    base = _quiet(SLNNRegressor(**FAST), X, y).predict(X)
    for kw in ({"beta_1": 0.5}, {"beta_2": 0.9}, {"epsilon": 1e-3}):
        assert not np.array_equal(_quiet(SLNNRegressor(**FAST, **kw), X, y).predict(X), base), kw


@pytest.mark.parametrize("param, value", [("learning_rate", "linear"), ("power_t", -1.0), ("beta_1", 1.0),
                                          ("beta_2", -0.1), ("epsilon", 0.0), ("momentum", 1.5),
                                          ("nesterovs_momentum", "yes")])
def test_bad_optimiser_settings_are_refused_by_name(reg_data, param, value):
    X, y = reg_data
    with pytest.raises(ValueError, match=param):
        SLNNRegressor(**{**FAST, param: value}).fit(X, y)


def test_a_decay_that_would_flip_the_weights_is_refused(reg_data):
    X, y = reg_data
    with pytest.raises(ValueError, match="learning_rate_init \\* alpha must be below 1"):
        SLNNRegressor(**FAST, learning_rate_init=0.5).fit(X, y)  # alpha="auto" is 3.0: 1 - 1.5 < 0
    SLNNRegressor(**FAST, learning_rate_init=0.5, alpha=1e-4).fit(X, y)
    SLNNRegressor(**FAST, learning_rate_init=0.5, solver="lbfgs").fit(X, y)  # an L2 penalty there: no limit


def test_early_stopping_auto_holds_out_from_100_rows_for_the_regressor_only(reg_data):
    X, y = reg_data  # 120 rows
    reg = _quiet(SLNNRegressor(**FAST), X, y)
    assert reg.validation_scores_ is not None and reg.t_ == reg.n_iter_ * (120 - 12)
    small = _quiet(SLNNRegressor(**FAST), X[:99], y[:99])
    assert small.validation_scores_ is None and small.t_ == small.n_iter_ * 99
    Xc, yc = make_classification(n_samples=120, n_features=5, random_state=0)
    clf = _quiet(SLNNClassifier(**FAST), Xc, yc)
    assert clf.validation_scores_ is None and clf.t_ == clf.n_iter_ * 120


def test_alpha_auto_is_decay_for_first_order_solvers_and_mlps_penalty_for_lbfgs(reg_data):
    X, y = reg_data
    for solver, value in (("adam", 3.0), ("sgd", 3.0), ("lbfgs", 1e-4)):
        auto = _quiet(SLNNRegressor(**FAST, solver=solver), X, y).predict(X)
        explicit = _quiet(SLNNRegressor(**FAST, solver=solver, alpha=value), X, y).predict(X)
        np.testing.assert_array_equal(auto, explicit)


def test_a_schedule_that_kills_the_rate_warns_at_the_callers_line(reg_data):
    X, y = reg_data
    reg = SLNNRegressor(**{**FAST, "max_iter": 50, "learning_rate": "invscaling", "power_t": 3.0})
    with pytest.warns(ConvergenceWarning, match="schedule drove the learning rate") as record:
        reg.fit(X, y)
    assert record[0].filename == __file__
    assert reg.n_iter_ < 50


def test_max_iter_warning_points_at_the_callers_line(reg_data):
    X, y = reg_data
    with pytest.warns(ConvergenceWarning, match="max_iter") as record:
        SLNNRegressor(**FAST).fit(X, y)
    assert record[0].filename == __file__


def test_cosine_ends_at_max_iter_without_a_warning(reg_data):
    X, y = reg_data
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        reg = SLNNRegressor(**{**FAST, "learning_rate": "cosine", "max_iter": 20}).fit(X, y)
    assert reg.n_iter_ == 20


def test_adaptive_stops_converged_like_mlp(reg_data):
    X, y = reg_data
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        reg = SLNNRegressor(**{**FAST, "learning_rate": "adaptive", "max_iter": 100000, "tol": 10.0,
                               "n_iter_no_change": 1}).fit(X, y)
    assert reg.n_iter_ < 100
