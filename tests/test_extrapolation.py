"""predict warns (ExtrapolationWarning) when rows leave the range the polynomial layers saw in training."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from sklearn_slaf import ExtrapolationWarning, SLNNClassifier, SLNNRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
# extrapolation="continue": the polynomial is evaluated beyond the training range, and predict warns there
FAST = {"hidden_layer_sizes": (8, 6), "degree": (3, 2), "max_iter": 20, "device": "cpu", "random_state": 0,
        "extrapolation": "continue"}


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
    reg = SLNNRegressor(hidden_layer_sizes=(16,), degree=12, max_iter=60, device="cpu", random_state=0,
                        extrapolation="continue").fit(X, y)
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


# ---------------------------------------------------------------- extrapolation="constant" (the default)
def _by_hand(reg, X, ranges):
    """The network with each polynomial layer's inputs clamped to ``ranges`` by hand (float64)."""
    import torch

    net = reg.module_
    with torch.no_grad():
        h = net.standardize(torch.as_tensor(X))
        for i, (lin, act) in enumerate(zip(net.hidden, net.activations)):
            h = lin(h)
            if ranges[i] is not None:
                lo, hi = (torch.as_tensor(v, dtype=h.dtype) for v in ranges[i])
                h = torch.minimum(torch.maximum(h, lo), hi)
            low, high = act.input_low, act.input_high
            act.set_input_bounds()  # the layer itself unclamped: the clamp above is the one applied
            try:
                h = act(h)
            finally:
                act.set_input_bounds(low, high)
        out = net.output(h) * net.output_scale + net.output_offset
    return out.double().numpy().ravel()


def test_constant_extrapolation_holds_each_activation_at_the_edge_of_its_range(data):
    X, y = data
    reg = SLNNRegressor(**{**FAST, "extrapolation": "constant", "dtype": "float64"}).fit(X, y)
    layers = reg.module_.slaf_layers
    ranges = [(layer.input_low.numpy(), layer.input_high.numpy()) for layer in layers]
    for (lo, hi), (rlo, rhi) in zip(ranges, reg.preactivation_range_):
        # the bounds are the training rows' range (as recorded by the closing check, to round-off)
        np.testing.assert_allclose(lo, rlo, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(hi, rhi, rtol=1e-9, atol=1e-12)
    far = np.vstack([X[:20], 50.0 * X[:20]])
    assert _count(reg, far) == 0  # a clamped network does not extrapolate: no warning
    pred = reg.predict(far)
    np.testing.assert_allclose(pred, _by_hand(reg, far, ranges), rtol=1e-12, atol=1e-12)
    # the continued polynomial is far off there; the clamped network stays in the range of its outputs
    cont = SLNNRegressor(**{**FAST, "extrapolation": "continue", "dtype": "float64"}).fit(X, y)
    assert np.abs(cont.predict(far[20:])).max() > 10 * np.abs(pred[20:]).max()
    assert np.abs(pred[20:]).max() < 10 * np.abs(y).max()


def test_inside_the_range_both_extrapolations_are_one_model(data):
    X, y = data
    # no early stopping: every row is a training row (held-out rows may lie beyond the range)
    fits = {e: SLNNRegressor(**{**FAST, "extrapolation": e, "early_stopping": False}).fit(X, y)
            for e in ("constant", "continue")}
    a, b = fits["constant"], fits["continue"]
    for p, q in zip(a.module_.parameters(), b.module_.parameters()):
        assert p.equal(q)  # training never clamps
    # the same on the training rows, to the round-off of the bounds (training-mode statistics of the rows)
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-6, atol=1e-7)
    assert all(layer.input_low is None for layer in b.module_.slaf_layers)
    # a parameter of fit: set after fitting, it takes effect at the next fit
    b.set_params(extrapolation="constant")
    assert all(layer.input_low is None for layer in b.module_.slaf_layers)
    assert all(layer.input_low is not None for layer in b.fit(X, y).module_.slaf_layers)


def test_constant_extrapolation_with_early_stopping_scores_the_model_it_returns(data):
    # every epoch's validation score is taken with the bounds of that epoch's weights: the restored best
    # model, its bounds recomputed the same way, is bit for bit a fit stopped at that epoch
    X, y = data
    noisy = y + 0.3 * np.random.default_rng(1).normal(size=y.shape)  # noise, so that a late epoch overfits
    kw = {**FAST, "extrapolation": "constant", "early_stopping": True, "validation_fraction": 0.2,
          "n_iter_no_change": 5, "learning_rate_init": 1e-2, "alpha": 0.0}
    reg = SLNNRegressor(**{**kw, "max_iter": 60}).fit(X[:200], noisy[:200])
    best = int(np.argmax(reg.validation_scores_))
    assert best + 1 < reg.n_iter_  # restoring is not a no-op
    short = SLNNRegressor(**{**kw, "max_iter": best + 1}).fit(X[:200], noisy[:200])
    for layer, other in zip(reg.module_.slaf_layers, short.module_.slaf_layers):
        assert layer.input_low.equal(other.input_low) and layer.input_high.equal(other.input_high)
    np.testing.assert_array_equal(reg.predict(X), short.predict(X))
    assert reg.best_validation_score_ == short.validation_scores_[-1]


def test_partial_fit_bounds_widen_with_each_chunk(data):
    X, y = data
    reg = SLNNRegressor(**{**FAST, "extrapolation": "constant"})
    reg.partial_fit(X[:100], y[:100])
    lo1 = reg.module_.slaf_layers[0].input_low.clone()
    reg.partial_fit(3 * X[100:200], y[100:200])
    lo2, hi2 = reg.module_.slaf_layers[0].input_low, reg.module_.slaf_layers[0].input_high
    np.testing.assert_array_equal(lo2.numpy(), reg.preactivation_range_[0][0].astype(np.float32))
    np.testing.assert_array_equal(hi2.numpy(), reg.preactivation_range_[0][1].astype(np.float32))
    assert bool((lo2 <= lo1).all()) and bool((lo2 < lo1).any())


def test_bad_extrapolation_is_a_value_error(data):
    X, y = data
    with pytest.raises(ValueError, match="extrapolation"):
        SLNNRegressor(extrapolation="linear").fit(X, y)


def test_the_polynomial_of_a_clamped_network_is_its_unclamped_polynomial(data):
    # PolynomialFeatureEquivalent verifies its expansion against the network without the clamp: no false
    # conditioning alarm on rows beyond the range, and the estimator's own bounds are left alone
    from sklearn_slaf import PolynomialFeatureEquivalent

    X, y = data
    reg = SLNNRegressor(**{**FAST, "extrapolation": "constant", "dtype": "float64", "early_stopping": False}).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pfe = PolynomialFeatureEquivalent(reg).fit(3 * X)
    assert pfe.verification_error_ < 1e-10
    assert all(layer.input_low is not None for layer in reg.module_.slaf_layers)
    inside = pfe.transform(X) @ pfe.coef_.T + pfe.intercept_
    np.testing.assert_allclose(inside.ravel(), reg.predict(X), rtol=1e-9, atol=1e-9)
    assert all(layer.input_low is not None for layer in pfe.estimator_.module_.slaf_layers)  # it predicts as reg
    far = 5 * X[:10]
    np.testing.assert_array_equal(pfe.estimator_.predict(far), reg.predict(far))


def test_a_layer_pickled_before_the_bounds_existed_loads_and_takes_them():
    import pickle

    import torch

    from sklearn_slaf.activation import SLAF

    layer = SLAF(3, degree=3).eval()
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(0))
    before = layer(x)
    for name in ("input_low", "input_high"):  # as a layer of an earlier release: no such buffers
        del layer._buffers[name]
    old = pickle.loads(pickle.dumps(layer))
    assert not old.clamps and torch.equal(old(x), before)
    old.set_input_bounds([-0.1] * 3, [0.1] * 3)
    assert old.clamps and set(old.state_dict()) >= {"input_low", "input_high"}
    assert torch.equal(old(x), layer.__class__.forward(old, x.clamp(-0.1, 0.1)))
