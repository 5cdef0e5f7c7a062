"""to_sklearn: a torch-free scikit-learn pipeline that predicts what the network predicts."""

from __future__ import annotations

import io
import warnings

import joblib
import numpy as np
import pytest

from sklearn_slaf import PolynomialFeatureEquivalent, SLNNClassifier, SLNNRegressor
from sklearn_slaf.basis import POLYNOMIAL_BASES

FAST = {"hidden_layer_sizes": (6, 4), "degree": (2, 2), "max_iter": 8, "random_state": 0, "device": "cpu",
        "dtype": "float64"}


def _fit(cls, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cls(**{**FAST, **kw}).fit(X, y)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3)) * [1.0, 3.0, 0.2] + [0.0, 5.0, -1.0]
    return X, X[:, 0] * X[:, 1] - X[:, 2]


@pytest.mark.parametrize("basis", POLYNOMIAL_BASES)
@pytest.mark.parametrize("coordinates", ["standardized", "raw"])
@pytest.mark.parametrize("feature_map", ["full", "sparse"])
def test_regressor_export_predicts_like_the_network(data, basis, coordinates, feature_map):
    X, y = data
    reg = _fit(SLNNRegressor, X, y, basis=basis)
    pipe = PolynomialFeatureEquivalent(reg, coordinates=coordinates).fit(X).to_sklearn(feature_map)
    np.testing.assert_allclose(pipe.predict(X), reg.predict(X), rtol=1e-9, atol=1e-9)


def test_multi_output_and_compact_exports(data):
    X, y = data
    reg = _fit(SLNNRegressor, X, np.c_[y, X[:, 0] ** 2])
    pfe = PolynomialFeatureEquivalent(reg).fit(X)
    np.testing.assert_allclose(pfe.to_sklearn().predict(X), reg.predict(X), rtol=1e-9, atol=1e-9)
    small = PolynomialFeatureEquivalent(_fit(SLNNRegressor, X, y)).fit(X).compact(n_terms=3)
    pipe = small.to_sklearn()
    np.testing.assert_allclose(pipe.predict(X), small.transform(X) @ small.coef_ + small.intercept_, rtol=1e-10)
    # a compact form: the sparse map ("auto" picks it) computes far fewer columns than the full one
    full = small.to_sklearn("full")
    np.testing.assert_allclose(full.predict(X), pipe.predict(X), rtol=1e-10, atol=1e-10)
    assert np.count_nonzero(pipe[-1].coef_) <= small.n_output_features_ <= pipe[-1].coef_.size
    assert pipe[-1].coef_.size < full[-1].coef_.size
    with pytest.raises(ValueError, match="feature_map"):
        small.to_sklearn("dense")


@pytest.mark.parametrize("basis", POLYNOMIAL_BASES)
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("feature_map", ["full", "sparse"])
def test_classifier_export_has_the_same_decision_and_probabilities(data, n_classes, feature_map, basis):
    X, _ = data
    y = np.digitize(X[:, 0], np.quantile(X[:, 0], np.linspace(0, 1, n_classes + 1)[1:-1]))
    clf = _fit(SLNNClassifier, X, y, basis=basis)
    pipe = PolynomialFeatureEquivalent(clf).fit(X).to_sklearn(feature_map)
    np.testing.assert_allclose(pipe.decision_function(X), clf.decision_function(X), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(pipe.predict_proba(X), clf.predict_proba(X), rtol=1e-7, atol=1e-9)
    np.testing.assert_array_equal(pipe.predict(X), clf.predict(X))


@pytest.mark.parametrize("feature_map", ["full", "sparse"])
def test_export_pickles_and_loads_with_skops_trusting_sklearn_only(data, feature_map):
    X, y = data
    reg = _fit(SLNNRegressor, X, y)
    pipe = PolynomialFeatureEquivalent(reg).fit(X).to_sklearn(feature_map)
    buf = io.BytesIO()
    joblib.dump(pipe, buf)
    buf.seek(0)
    np.testing.assert_array_equal(joblib.load(buf).predict(X), pipe.predict(X))
    sio = pytest.importorskip("skops.io")
    blob = sio.dumps(pipe)
    untrusted = sio.get_untrusted_types(data=blob)
    assert all(t.startswith(("sklearn.", "numpy.", "builtins.")) for t in untrusted), untrusted
    loaded = sio.loads(blob, trusted=untrusted)
    np.testing.assert_array_equal(loaded.predict(X), pipe.predict(X))
    assert not any("torch" in t or "sklearn_slaf" in t for t in untrusted)


@pytest.mark.parametrize("kind", ["regressor", "binary", "multiclass"])
@pytest.mark.parametrize("feature_map", ["full", "sparse"])
def test_exported_pipeline_converts_to_onnx(data, kind, feature_map):
    skl2onnx = pytest.importorskip("skl2onnx")
    ort = pytest.importorskip("onnxruntime")
    from skl2onnx.common.data_types import DoubleTensorType

    X, y = data
    if kind == "regressor":
        model = _fit(SLNNRegressor, X, y)
    else:
        labels = (y > np.median(y)).astype(int) if kind == "binary" else np.digitize(y, np.quantile(y, [0.33, 0.66]))
        model = _fit(SLNNClassifier, X, labels)
    pipe = PolynomialFeatureEquivalent(model).fit(X).to_sklearn(feature_map)
    onx = skl2onnx.to_onnx(pipe, initial_types=[("X", DoubleTensorType([None, X.shape[1]]))],
                           options={"zipmap": False} if kind != "regressor" else None, target_opset=17)
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    outputs = session.run(None, {"X": X})
    if kind == "regressor":
        np.testing.assert_allclose(outputs[0].ravel(), model.predict(X), rtol=1e-7, atol=1e-7)
    else:
        np.testing.assert_array_equal(outputs[0], model.predict(X))
        np.testing.assert_allclose(outputs[1], model.predict_proba(X), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("feature_map", ["full", "sparse"])
def test_export_takes_the_frames_the_model_took(data, feature_map):
    pd = pytest.importorskip("pandas")
    X, y = data
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    reg = _fit(SLNNRegressor, frame, y)
    pipe = PolynomialFeatureEquivalent(reg).fit(frame).to_sklearn(feature_map)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "X has feature names, but ... was fitted without"
        np.testing.assert_allclose(pipe.predict(frame), reg.predict(frame), rtol=1e-9, atol=1e-9)
    assert list(pipe[0].feature_names_in_) == ["a", "b", "c"]
