"""A fit, partial_fit or warm start that raises leaves the estimator bit-identical to before the call."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from sklearn_slaf import SLNNClassifier, SLNNRegressor, TrainingDivergedError
from sklearn_slaf.training import Trainer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning",
                                        "ignore::RuntimeWarning")
FAST = {"hidden_layer_sizes": (8,), "max_iter": 5, "device": "cpu", "random_state": 0, "early_stopping": False}


def _fingerprint(est) -> dict:
    """Everything fit may change, as comparable bytes: fitted attributes, module, optimiser, generator."""
    out = {}
    params = est.get_params(deep=False)
    for k, v in est.__dict__.items():
        if k in params:
            continue
        if k == "module_":
            out[k] = {n: t.detach().cpu().numpy().tobytes() for n, t in v.state_dict().items()}
        elif k == "_generator":
            out[k] = v.get_state().numpy().tobytes()
        elif k == "_state":
            st = dict(vars(v))
            opt = st.pop("optimizer")
            out[k] = repr(st)
            if opt is not None:
                out["optimizer"] = {n: (t.cpu().numpy().tobytes() if torch.is_tensor(t) else repr(t))
                                    for n, t in vars(opt).items() if not n.startswith("_cache")}
        elif isinstance(v, np.ndarray):
            out[k] = (v.dtype.str, v.shape, v.tobytes())
        else:
            out[k] = repr(v)
    return out


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    return X, X[:, 0] - 2 * X[:, 1] * X[:, 2] + 0.1 * rng.normal(size=120)


@pytest.fixture
def fitted(data):
    X, y = data
    reg = SLNNRegressor(**FAST).fit(X, y)
    reg.partial_fit(X, y)  # an optimiser with moments, counters past zero
    return reg


def _fails_and_keeps(est, call, exc=(ValueError, TypeError)):
    before = _fingerprint(est)
    with pytest.raises(exc):
        call()
    after = _fingerprint(est)
    assert after.keys() == before.keys()
    for k in before:
        assert after[k] == before[k], k


@pytest.mark.parametrize("change", [
    {"hidden_layer_sizes": (0,)},
    {"degree": (2, 3, 4)},
    {"device": "cuda:7"},
    {"early_stopping": True},
])
def test_failed_refit_keeps_the_trained_model(fitted, data, change):
    X, y = data
    if torch.cuda.device_count() > 7 and "device" in change:
        pytest.skip("this machine has an 8th GPU")
    pred = fitted.predict(X)
    Xs, ys = (X[:2], y[:2]) if "early_stopping" in change else (np.c_[X, X[:, :1]], y)
    fitted.set_params(**change)
    _fails_and_keeps(fitted, lambda: fitted.fit(Xs, ys), (ValueError, TypeError, RuntimeError, AssertionError))
    np.testing.assert_array_equal(fitted.predict(X), pred)


def test_failed_refit_on_string_targets_keeps_the_model(fitted, data):
    X, y = data
    _fails_and_keeps(fitted, lambda: fitted.fit(X, np.array(["a"] * len(X))))


def test_failed_first_fit_leaves_the_estimator_unfitted(data):
    X, y = data
    reg = SLNNRegressor(**{**FAST, "batch_size": 1})
    with pytest.raises(ValueError, match="batch_size=1"):
        reg.fit(X, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(reg)
    assert not any(k.endswith("_") and not k.startswith("__") for k in vars(reg) if k not in reg.get_params())


def test_diverged_partial_fit_keeps_learning_rate_counters_and_generator(fitted, data):
    X, y = data

    def diverge():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            fitted.partial_fit(X * 1e30, y)

    _fails_and_keeps(fitted, diverge, (TrainingDivergedError, ValueError))
    lr = fitted._state.optimizer.lr
    assert lr == pytest.approx(fitted.learning_rate_init)  # not the 1.6e-5 of the back-offs


def test_failed_partial_fit_keeps_the_optimiser_state(fitted, data, monkeypatch):
    X, y = data
    real = Trainer.train_epoch

    def boom(self, *a):
        real(self, *a)  # moments and weights move...
        raise RuntimeError("disk full")  # ...and then something fails

    monkeypatch.setattr(Trainer, "train_epoch", boom)
    _fails_and_keeps(fitted, lambda: fitted.partial_fit(X, y), RuntimeError)


def test_interrupt_outside_the_loop_rolls_back(fitted, data, monkeypatch):
    X, y = data

    def interrupted(self, Xt):
        raise KeyboardInterrupt  # as Ctrl-C during the closing recalibration

    monkeypatch.setattr(type(fitted), "_recalibrate", interrupted)
    fitted.set_params(warm_start=True)
    _fails_and_keeps(fitted, lambda: fitted.fit(X, y), KeyboardInterrupt)
    assert np.isfinite(fitted.predict(X)).all()


def test_partial_fit_refuses_other_classes():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    clf = SLNNClassifier(**FAST).partial_fit(X, y, classes=[0, 1])
    _fails_and_keeps(clf, lambda: clf.partial_fit(X, y, classes=[0, 1, 2]))
    clf.partial_fit(X, y, classes=[1, 0])  # the same set, in any order, is fine
    np.testing.assert_array_equal(clf.classes_, [0, 1])


# ---------------------------------------------------------------------------- pickles
def test_pickles_record_versions_and_warn_on_mismatch(fitted, data):
    import pickle

    import sklearn
    from sklearn.exceptions import InconsistentVersionWarning

    import sklearn_slaf

    X, _ = data
    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        same = pickle.loads(pickle.dumps(fitted))  # same versions: silent
    np.testing.assert_array_equal(same.predict(X), fitted.predict(X))
    state = fitted.__getstate__()
    assert state["_sklearn_version"] == sklearn.__version__
    assert state["_sklearn_slaf_version"] == sklearn_slaf.__version__
    for key, old in (("_sklearn_version", "1.0.2"), ("_sklearn_slaf_version", "0.0.1")):
        other = SLNNRegressor.__new__(SLNNRegressor)
        with pytest.warns(InconsistentVersionWarning, match=f"from version {old}"):
            other.__setstate__({**state, key: old})
        np.testing.assert_array_equal(other.predict(X), fitted.predict(X))


@pytest.mark.skipif(torch.cuda.is_available(), reason="simulates a CUDA pickle on a machine without CUDA")
def test_a_cuda_pickle_loads_on_a_cpu_only_machine(fitted, data):
    X, _ = data
    state = {**fitted.__getstate__(), "device_": torch.device("cuda", 0)}  # as saved from a GPU fit
    other = SLNNRegressor.__new__(SLNNRegressor)
    with pytest.warns(RuntimeWarning, match="CUDA is not available"):
        other.__setstate__(state)
    assert other.device_.type == "cpu"
    np.testing.assert_array_equal(other.predict(X), fitted.predict(X))


# ---------------------------------------------------------------------------- never silently non-finite
def test_a_fit_that_ends_non_finite_is_rolled_back(fitted, data, monkeypatch):
    X, y = data
    real = type(fitted)._recalibrate

    def poisoned(self, Xt):  # as a recalibration pass that overflows the running variance
        real(self, Xt)
        self.module_.slaf_layers[0].running_var.fill_(float("inf"))

    monkeypatch.setattr(type(fitted), "_recalibrate", poisoned)
    fitted.set_params(warm_start=True)
    _fails_and_keeps(fitted, lambda: fitted.fit(X, y), FloatingPointError)
    fresh = SLNNRegressor(**FAST)
    with pytest.raises(FloatingPointError, match="non-finite"):
        fresh.fit(X, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(fresh)


def test_every_successful_fit_is_finite(data):
    X, y = data
    # settings that used to leave running_var = inf behind a successful fit
    clf = SLNNClassifier(hidden_layer_sizes=(4,), degree=4, learning_rate_init=1e6, alpha=0.0, max_iter=3,
                         device="cpu", random_state=0)
    try:
        clf.fit(X, y > 0)
    except (FloatingPointError, TrainingDivergedError):
        return  # refused: fine, nothing non-finite was kept
    m = clf.module_
    assert all(torch.isfinite(t).all() for t in (*m.parameters(), *m.buffers()) if t.is_floating_point())
    assert np.isfinite(clf.predict_proba(X)).all()


def test_transform_overflow_is_an_error_like_predict(data):
    from sklearn_slaf import PolynomialFeatureEquivalent

    X, y = data
    reg = SLNNRegressor(**{**FAST, "dtype": "float64", "degree": (3,), "extrapolation": "continue"}).fit(X, y)
    pfe = PolynomialFeatureEquivalent(reg).fit(X)
    assert np.isfinite(pfe.transform(X)).all()
    with pytest.raises(FloatingPointError, match="overflow"):
        pfe.transform(X * 1e300)
    with pytest.raises(FloatingPointError):
        reg.predict(X * 1e300)


# ---------------------------------------------------------------------------- interrupts and types
def test_interrupt_mid_epoch_keeps_counters_consistent(data, monkeypatch):
    X, y = data
    real, steps = Trainer.train_step, []

    def interrupting(self, *a):
        steps.append(1)
        if len(steps) == 7:  # in the middle of the third epoch (3 batches of 40 per epoch)
            raise KeyboardInterrupt
        return real(self, *a)

    monkeypatch.setattr(Trainer, "train_step", interrupting)
    reg = SLNNRegressor(**{**FAST, "batch_size": 40, "max_iter": 10})
    with pytest.warns(RuntimeWarning, match="interrupted"):
        reg.fit(X, y)
    assert reg.n_iter_ == 2 and len(reg.loss_curve_) == 2
    assert reg.t_ == 2 * len(X)  # the dropped partial epoch is not counted
    assert np.isfinite(reg.predict(X)).all()


def test_dtype_change_on_a_fitted_model_takes_effect_at_the_next_fit(fitted, data):
    X, y = data
    pred = fitted.predict(X)
    fitted.set_params(dtype="float64")
    np.testing.assert_array_equal(fitted.predict(X), pred)  # still the float32 model
    fitted.fit(X, y)
    assert next(fitted.module_.parameters()).dtype == torch.float64


def test_compare_with_least_squares_refuses_non_estimators(data):
    from sklearn_slaf import compare_with_least_squares

    X, y = data
    with pytest.raises(TypeError, match="SLNNRegressor"):
        compare_with_least_squares(object(), X, y)


def test_interrupted_partial_fit_keeps_weights_and_optimiser_together(fitted, data, monkeypatch):
    X, y = data
    before = _fingerprint(fitted)
    real, steps = Trainer.train_step, []

    def interrupting(self, *a):
        steps.append(1)
        if len(steps) == 2:  # after one real step of this call's only epoch
            raise KeyboardInterrupt
        return real(self, *a)

    monkeypatch.setattr(Trainer, "train_step", interrupting)
    fitted.set_params(batch_size=40)
    with pytest.warns(RuntimeWarning, match="interrupted"):
        fitted.partial_fit(X, y)
    after = _fingerprint(fitted)
    for key in ("module_", "optimizer"):  # the step taken before Ctrl-C is undone in both
        assert after[key] == before[key], key
    assert fitted.t_ == int(before["t_"])


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize("delay", [0.05, 0.3])
def test_ctrl_c_from_a_timer_thread_leaves_a_consistent_model(data, method, delay):
    import _thread
    import threading

    X, y = data
    X, y = np.tile(X, (20, 1)), np.tile(y, 20)  # long enough for the timer to land mid-training
    reg = SLNNRegressor(**{**FAST, "max_iter": 400, "tol": 0.0, "n_iter_no_change": 10**6, "batch_size": 64})
    if method == "partial_fit":
        reg.partial_fit(X, y)
    before = _fingerprint(reg)
    timer = threading.Timer(delay, _thread.interrupt_main)
    timer.start()
    try:
        for _ in range(400 if method == "partial_fit" else 1):
            getattr(reg, method)(X, y)
        rolled_back = False
    except KeyboardInterrupt:  # landed outside the training loop (validation, recalibration): rolled back
        rolled_back = True
    finally:
        timer.cancel()
    if rolled_back and method == "fit":
        with pytest.raises(NotFittedError):
            check_is_fitted(reg)
        return
    if rolled_back:
        assert _fingerprint(reg).keys() == before.keys()
    # whatever the timing: the counters describe the weights the model has
    assert reg.n_iter_ == len(reg.loss_curve_)
    assert reg.t_ == reg.n_iter_ * len(X)
    assert np.isfinite(reg.predict(X)).all()
