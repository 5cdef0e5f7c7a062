"""predict warns (ExtrapolationWarning) when rows leave the range the polynomial layers saw in training."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from sklearn_slaf import ExtrapolationWarning, SLNNClassifier, SLNNRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
FAST = {"hidden_layer_sizes": (8, 6), "degree": (3, 2), "max_iter": 20, "device": "cpu", "random_state": 0}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(500, 3))
    return X, X[:, 0] * X[:, 1] - X[:, 2] ** 2


def _count(est, X):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ExtrapolationWarning)
        est.predict(X)
    msgs = [str(w.message) for w in caught if issubclass(w.category, ExtrapolationWarning)]
    assert len(msgs) <= 1
    return int(msgs[0].split(" of ")[0]) if msgs else 0


def test_training_rows_never_warn(data):
    X, y = data
    reg = SLNNRegressor(**FAST).fit(X, y)
    assert _count(reg, X) == 0
    assert len(reg.preactivation_range_) == 2
    for (lo, hi), width in zip(reg.preactivation_range_, (8, 6)):
        assert lo.shape == hi.shape == (width,) and np.all(lo < hi)


def test_far_rows_are_counted(data):
    X, y = data
    reg = SLNNRegressor(**FAST).fit(X, y)
    far = X.copy()
    far[[3, 17]] *= 50.0  # two rows well outside the unit box
    assert _count(reg, far) == 2
    # exactly the rows whose pre-activations leave the widened range, as computed by hand
    net = reg.module_
    import torch

    with torch.no_grad():
        h = net.hidden[0](net.standardize(torch.as_tensor(far)))
    lo, hi = reg.preactivation_range_[0]
    pad = 0.1 * (hi - lo)
    first_layer = ((h.numpy() < lo - pad) | (h.numpy() > hi + pad)).any(1)
    assert set(np.flatnonzero(first_layer)) <= {3, 17}


def test_the_warning_can_be_filtered(data):
    X, y = data
    reg = SLNNRegressor(**FAST).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=ExtrapolationWarning)
        reg.predict(X * 40)


def test_high_degree_extrapolation_is_visible():
    # the case of the issue: fine inside the box, wild outside, and now announced
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(400, 2))
    y = np.sin(2 * X[:, 0]) + X[:, 1]
    reg = SLNNRegressor(hidden_layer_sizes=(16,), degree=12, max_iter=60, device="cpu", random_state=0).fit(X, y)
    assert _count(reg, X) == 0
    test = rng.uniform(-1, 1, size=(500, 2))
    test[:2] = [[4.0, 0.0], [-5.0, 1.0]]
    assert _count(reg, test) == 2


def test_partial_fit_widens_the_range(data):
    X, y = data
    reg = SLNNRegressor(**FAST)
    reg.partial_fit(X[:250] * 0.5, y[:250])
    lo1, hi1 = (a.copy() for a in reg.preactivation_range_[0])
    assert _count(reg, X) > 0  # the second half's scale is new
    reg.partial_fit(X, y)
    lo2, hi2 = reg.preactivation_range_[0]
    assert np.all(lo2 <= lo1) and np.all(hi2 >= hi1)


def test_no_warning_for_non_polynomial_layers(data):
    X, y = data
    for kw in ({"hidden_activation": "relu"}, {"basis": "fourier"}):
        reg = SLNNRegressor(**{**FAST, **kw}).fit(X, y)
        assert _count(reg, X * 100) == 0
    clf = SLNNClassifier(**FAST).fit(X, y > 0)
    with pytest.warns(ExtrapolationWarning):
        clf.predict_proba(X * 100)


@pytest.mark.parametrize("method", ["predict", "score", "predict_proba", "decision_function"])
def test_warning_names_the_callers_line(data, method):
    # not a line of the package (nor torch's no_grad wrapper): the user's own call
    X, y = data
    est = (SLNNClassifier(**FAST).fit(X, y > 0) if method in ("predict_proba", "decision_function")
           else SLNNRegressor(**FAST).fit(X, y))
    args = (5 * X, y > 0) if method == "score" and isinstance(est, SLNNClassifier) else (
        (5 * X, y) if method == "score" else (5 * X,))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ExtrapolationWarning)
        getattr(est, method)(*args)
    files = {w.filename for w in caught if issubclass(w.category, ExtrapolationWarning)}
    assert files == {__file__}


def test_warning_through_a_pipeline_and_a_search_names_the_callers_line(data):
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y = data
    pipe = make_pipeline(FunctionTransformer(), SLNNRegressor(**FAST)).fit(X, y)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ExtrapolationWarning)
        pipe.predict(5 * X)
        GridSearchCV(SLNNRegressor(**FAST), {"degree": [(3, 2)]}, cv=2).fit(np.vstack([X, 5 * X[:5]]),
                                                                          np.r_[y, y[:5]])
    files = {w.filename for w in caught if issubclass(w.category, ExtrapolationWarning)}
    assert files == {__file__}
