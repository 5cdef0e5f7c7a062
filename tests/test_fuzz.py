"""Property-based fuzzing of the estimators' inputs: success with finite outputs, or a clear error.

A fixed, derandomised profile with a bounded number of examples runs in CI;
SLAF_FUZZ_EXAMPLES=2000 runs a longer hunt.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_slaf import SLNNClassifier, SLNNRegressor, TrainingDivergedError

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_PROFILE = settings(max_examples=int(os.environ.get("SLAF_FUZZ_EXAMPLES", "60")), deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck), database=None)
# clear errors; FloatingPointError covers TrainingDivergedError and the non-finite-fit refusal
ALLOWED = (ValueError, TypeError, FloatingPointError)
_values = st.one_of(
    st.floats(-3, 3), st.sampled_from([0.0, 1.0, np.nan, np.inf, -np.inf, 1e30, -1e30, 1e-30]),
)


@st.composite
def inputs(draw):
    n = draw(st.integers(0, 25))
    d = draw(st.integers(0, 4))
    X = np.array([[draw(_values) for _ in range(d)] for _ in range(n)], dtype=float).reshape(n, d)
    if d >= 2 and draw(st.booleans()):
        X[:, 1] = X[:, 0]  # duplicated column
    if d >= 1 and draw(st.booleans()):
        X[:, -1] = 7.0  # constant column
    kind = draw(st.sampled_from(["float64", "float32", "float16", "int", "bool", "object", "complex", "str",
                                 "list", "sparse", "frame", "nullable", "categorical"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if kind in ("float32", "float16"):
            X = X.astype(kind)
        elif kind == "int":
            X = np.nan_to_num(X, nan=0, posinf=9, neginf=-9).clip(-1e9, 1e9).astype(np.int64)
        elif kind == "bool":
            X = X > 0
        elif kind == "object":
            X = X.astype(object)
        elif kind == "complex":
            X = X + 1j
        elif kind == "str":
            X = X.astype(str)
        elif kind == "list":
            X = X.tolist()
        elif kind == "sparse":
            X = sp.csr_matrix(np.nan_to_num(X))
        elif kind == "frame":
            pd = pytest.importorskip("pandas")
            X = pd.DataFrame(X, columns=[f"col {i}%$" for i in range(d)])
        elif kind == "nullable":  # pandas' nullable floats, NaN as pd.NA
            pd = pytest.importorskip("pandas")
            X = pd.DataFrame(X, columns=[f"n{i}" for i in range(d)]).astype("Float64")
        elif kind == "categorical":
            pd = pytest.importorskip("pandas")
            X = pd.DataFrame({f"c{i}": pd.Categorical(np.round(X[:, i], 1)) for i in range(d)})
    y = np.array([draw(st.one_of(st.floats(-5, 5), st.sampled_from([np.nan, 1e30]))) for _ in range(n)])
    return X, y


def _check(est, X, y, predict):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # documented warnings (convergence, extrapolation, back-off)
        try:
            est.fit(X, y)
        except ALLOWED as exc:
            assert str(exc), "an error must say what is wrong"
            return
        out = predict(X)
    assert np.all(np.isfinite(out))


@_PROFILE
@given(data=inputs(), degree=st.integers(1, 5), lbfgs=st.booleans())
def test_regressor_inputs(data, degree, lbfgs):
    X, y = data
    reg = SLNNRegressor(hidden_layer_sizes=(4,), degree=degree, max_iter=2, device="cpu", random_state=0,
                        solver="lbfgs" if lbfgs else "adam")
    _check(reg, X, y, reg.predict)


@_PROFILE
@given(data=inputs(), n_classes=st.integers(1, 3))
def test_classifier_inputs(data, n_classes):
    X, y = data
    labels = np.nan_to_num(y, nan=0.0, posinf=0.0).clip(-5, 5).astype(int) % n_classes
    clf = SLNNClassifier(hidden_layer_sizes=(4,), max_iter=2, device="cpu", random_state=0)
    _check(clf, X, labels, clf.predict_proba)
    assert issubclass(TrainingDivergedError, FloatingPointError)


@_PROFILE
@given(data=inputs(), more=inputs(), classifier=st.booleans())
def test_partial_fit_and_score(data, more, classifier):
    # a stream of two chunks: each call succeeds with a usable model or raises a clear error
    # and leaves the model as the previous call left it
    est = (SLNNClassifier if classifier else SLNNRegressor)(hidden_layer_sizes=(4,), device="cpu", random_state=0)
    fitted_on = None
    for X, y in (data, more):
        if classifier:
            y = np.nan_to_num(y, nan=0.0, posinf=0.0).clip(-5, 5).astype(int) % 2
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            before = est.predict(fitted_on) if fitted_on is not None else None
            try:
                est.partial_fit(X, y, classes=[0, 1]) if classifier else est.partial_fit(X, y)
            except ALLOWED as exc:
                assert str(exc)
                if before is not None:  # a failed call changed nothing
                    np.testing.assert_array_equal(est.predict(fitted_on), before)
                continue
            fitted_on = X
            assert np.isfinite(est.score(X, y)) or len(y) < 2  # R^2 of a single row is undefined
            out = est.predict_proba(X) if classifier else est.predict(X)
        assert np.all(np.isfinite(out))


# values inside each parameter's constraints, and values outside them
_VALID = {
    "hidden_layer_sizes": st.one_of(st.tuples(st.integers(1, 5)), st.just((3, 2))),
    "degree": st.one_of(st.integers(1, 6), st.just((2, 2))),
    "basis": st.sampled_from(["power", "chebyshev", "legendre", "hermite", "taylor", "fourier"]),
    "alpha": st.one_of(st.floats(0, 50), st.just("auto")),
    "learning_rate_init": st.floats(1e-5, 1.0),
    "learning_rate": st.sampled_from(["constant", "invscaling", "adaptive", "cosine"]),
    "batch_size": st.one_of(st.integers(2, 40), st.just("auto")),
    "solver": st.sampled_from(["adam", "sgd", "lbfgs"]),
    "early_stopping": st.sampled_from([True, False, "auto"]),
    "validation_fraction": st.floats(0.1, 0.5),
    "momentum": st.floats(0, 1),
    "beta_1": st.floats(0, 0.99),
    "coef_sharing": st.sampled_from(["layer", "unit"]),
    "coef_alpha": st.floats(0, 10),
    "activation_init": st.sampled_from(["identity", "tanh", "relu", "gelu"]),
    "hidden_activation": st.sampled_from(["slaf", "relu", "tanh+bn", ("slaf", "relu+bn")]),
    "weight_init": st.sampled_from(["xavier", "he", "default", "edge_of_chaos"]),
    "dtype": st.sampled_from(["float32", "float64"]),
    "gate": st.booleans(),
    "clip_grad_norm": st.one_of(st.none(), st.floats(0.1, 10)),
    "n_threads": st.one_of(st.none(), st.integers(1, 2)),
}
_INVALID = st.sampled_from([
    ("hidden_layer_sizes", (0,)), ("hidden_layer_sizes", "4"), ("degree", 0), ("degree", 2.5), ("basis", "nope"),
    ("alpha", -1.0), ("alpha", np.nan), ("learning_rate_init", 0.0), ("learning_rate", "bogus"), ("batch_size", 0),
    ("solver", "newton"), ("early_stopping", "yes"), ("validation_fraction", 1.5), ("momentum", 2.0),
    ("beta_1", 1.0), ("coef_sharing", "none"), ("activation_init", "cubic"), ("hidden_activation", "softmax"),
    ("weight_init", "zeros"), ("dtype", "float16"), ("clip_grad_norm", -1.0), ("n_threads", 0),
])


@_PROFILE
@given(params=st.fixed_dictionaries({}, optional=_VALID), invalid=st.one_of(st.none(), _INVALID),
       classifier=st.booleans())
def test_random_hyper_parameters(params, invalid, classifier):
    # inside their constraints: a fit with finite outputs (or a clear error, e.g. a diverging
    # learning rate); one value outside them: InvalidParameterError (a ValueError) naming it
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int) if classifier else X[:, 0] - X[:, 1] ** 2
    if invalid is not None:
        params = {**params, invalid[0]: invalid[1]}
    est = (SLNNClassifier if classifier else SLNNRegressor)(max_iter=3, device="cpu", random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            est.fit(X, y)
        except ALLOWED as exc:
            assert str(exc)
            hypothesis.event(f"refused: {type(exc).__name__}")
            if invalid is not None:
                assert invalid[0] in str(exc)
            with pytest.raises(Exception, match="not fitted"):
                est.predict(X)  # a first fit that fails leaves the estimator unfitted
            return
        assert invalid is None, f"{invalid} was accepted"
        hypothesis.event("fitted")
        out = est.predict_proba(X) if classifier else est.predict(X)
    assert np.all(np.isfinite(out))


@pytest.fixture(scope="module")
def polynomial():
    from sklearn_slaf import PolynomialFeatureEquivalent

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg = SLNNRegressor(hidden_layer_sizes=(4,), degree=3, max_iter=3, device="cpu", random_state=0,
                            dtype="float64").fit(X, X[:, 0])
    return reg, PolynomialFeatureEquivalent(reg).fit(X)


@_PROFILE
@given(data=inputs())
def test_transform_and_predict_of_fitted_models(polynomial, data):
    reg, pfe = polynomial
    X, _ = data
    for call in (pfe.transform, reg.predict):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out = call(X)
            except ALLOWED as exc:
                assert str(exc)
                continue
        out = out.toarray() if sp.issparse(out) else out
        assert np.all(np.isfinite(out))


@_PROFILE
@given(sigma_w=_values, sigma_b=_values, q=_values, name=st.sampled_from(["tanh", "relu", "swish"]),
       coefs=st.lists(_values, min_size=1, max_size=5))
def test_mean_field_functions(sigma_w, sigma_b, q, name, coefs):
    from sklearn_slaf import eoc

    calls = [
        lambda: eoc.edge_of_chaos(name, sigma_b=sigma_b),
        lambda: eoc.edge_of_chaos(coefs, sigma_b=sigma_b),
        lambda: eoc.fixed_points(coefs, sigma_w=sigma_w, sigma_b=sigma_b),
        lambda: eoc.variance_map(name, q, sigma_w=sigma_w, sigma_b=sigma_b),
        lambda: eoc.chi1(coefs, q, sigma_w=sigma_w),
    ]
    for call in calls:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no numpy warning may leak either
            try:
                res = call()
            except ALLOWED as exc:
                assert str(exc)
                continue
        values = [getattr(p, f) for p in res for f in ("q_star", "sigma_w", "q") if hasattr(p, f)] \
            if isinstance(res, list) else [res]
        assert all(np.isfinite(v) or (isinstance(v, float) and np.isnan(v)) for v in np.ravel(values))
