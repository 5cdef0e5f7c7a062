"""float32 networks keep what float64 inputs carry: the input map runs in float64 before the cast."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from sklearn.linear_model import LinearRegression

from sklearn_slaf import SLNNRegressor
from sklearn_slaf.network import SLNN


def test_a_large_offset_column_keeps_its_signal_in_float32():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(400, 2))
    X = np.c_[1e6 + 0.01 * z[:, 0], z[:, 1]]  # cast to float32 first, column 0 keeps ~3 distinct values
    y = 3 * z[:, 0] - z[:, 1] + 0.05 * rng.normal(size=400)
    assert np.unique(X[:, 0].astype(np.float32)).size < 10
    target = LinearRegression().fit(X, y).score(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg = SLNNRegressor((16,), degree=2, max_iter=300, learning_rate_init=1e-2, random_state=0, device="cpu",
                            dtype="float32").fit(X, y)
    assert reg.score(X, y) == pytest.approx(target, abs=1e-3)
    assert next(reg.module_.parameters()).dtype == torch.float32


def test_standardize_computes_in_the_inputs_precision():
    net = SLNN(1, (2,), generator=torch.Generator().manual_seed(0))  # float32 network
    net.set_scaling(input_offset=[1e6], input_scale=[0.01])
    x = torch.tensor([[1e6 + 0.01 * 1.2345]], dtype=torch.float64)
    h = net.standardize(x)
    assert h.dtype == torch.float32 and float(h) == pytest.approx(1.2345, rel=1e-6)
    # a float32 input was already rounded to the nearest 0.0625: the map cannot bring the digits back
    assert abs(float(net.standardize(x.float())) - 1.2345) > 0.1


@pytest.mark.parametrize("scale", [1e-50, 1e-5, 1e39, 1e300])
def test_uniform_sample_weights_of_any_scale_are_no_weights(scale):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X[:, 0] - X[:, 1] * X[:, 2]
    kw = {"hidden_layer_sizes": (8,), "max_iter": 20, "random_state": 0, "device": "cpu"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = SLNNRegressor(**kw).fit(X, y)
        weighted = SLNNRegressor(**kw).fit(X, y, sample_weight=np.full(200, scale))
    np.testing.assert_array_equal(weighted.predict(X), ref.predict(X))
