"""The evaluation-mode path: Clenshaw sums on coefficients folded once, and when that fold is redone."""

import copy
import pickle

import numpy as np
import pytest
import torch

from sklearn_slaf import SLNNRegressor, _kernels, basis
from sklearn_slaf.activation import SLAF

F64 = torch.float64


def trained_layer(family, degree, sharing="unit", gate=True, dtype=F64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    layer = SLAF(5, degree, family, coef_sharing=sharing, gate=gate, activation_init="tanh", init_std=0.5,
                 generator=gen, dtype=dtype)
    x = torch.randn(200, 5, generator=gen, dtype=F64).to(dtype) * 1.3 + 0.2
    layer.train()(x)  # running statistics (and range) away from their start
    return layer.eval(), x


@pytest.mark.parametrize("family", basis.POLYNOMIAL_BASES)
@pytest.mark.parametrize("degree", range(1, 10))
def test_clenshaw_sums_the_basis(family, degree):
    gen = torch.Generator().manual_seed(degree)
    u = torch.rand(40, 3, generator=gen, dtype=F64) * 2 - 1
    coef = torch.randn(3, degree, generator=gen, dtype=F64)
    bias = torch.randn(3, generator=gen, dtype=F64)
    expected = (basis.evaluate(family, u, degree) * coef).sum(-1) + bias
    torch.testing.assert_close(_kernels.affine_basis(family, u, coef, bias), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("family", basis.POLYNOMIAL_BASES)
def test_clenshaw_gradients(family):
    gen = torch.Generator().manual_seed(0)
    u = (torch.rand(6, 3, generator=gen, dtype=F64) * 2 - 1).requires_grad_()
    coef = torch.randn(3, 5, generator=gen, dtype=F64, requires_grad=True)
    bias = torch.randn(3, generator=gen, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda *a: _kernels.affine_basis(family, *a), (u, coef, bias))


@pytest.mark.parametrize("family", basis.POLYNOMIAL_BASES)
@pytest.mark.parametrize("degree", [8, 12])
def test_float32_evaluation_is_as_accurate_as_the_stacked_reference(family, degree):
    layer, x = trained_layer(family, degree)
    with torch.no_grad():
        truth = layer._forward_reference(x)
        ref32 = copy.deepcopy(layer).float()._forward_reference(x.float()).double()
        fast32 = copy.deepcopy(layer).float()(x.float()).double()
    scale = truth.abs().max()
    err_ref = float((ref32 - truth).abs().max() / scale)
    err_fast = float((fast32 - truth).abs().max() / scale)
    assert err_fast <= max(4 * err_ref, 5e-6), (err_fast, err_ref)


@pytest.mark.parametrize("sharing", ["layer", "unit"])
@pytest.mark.parametrize("gate", [False, True])
def test_kept_fold_is_redone_when_the_layer_changes(sharing, gate):
    layer, x = trained_layer("chebyshev", 4, sharing, gate)
    with torch.no_grad():
        before = layer(x)
        torch.testing.assert_close(layer(x), before, rtol=0, atol=0)  # the kept fold
        changes = [
            lambda: layer.coef.mul_(1.5),  # written in place
            lambda: layer.load_state_dict({**layer.state_dict(), "bias": layer.bias + 1.0}),
            lambda: layer.running_var.mul_(2.0),
            lambda: setattr(layer, "coef", torch.nn.Parameter(layer.coef * 0.5)),  # replaced
        ]
        if gate:
            changes.append(lambda: layer.gate_logit.add_(0.7))
        for change in changes:
            change()
            out = layer(x)
            torch.testing.assert_close(out, copy.deepcopy(layer)._forward_reference(x), rtol=1e-12, atol=1e-12)
            assert not torch.allclose(out, before)
            before = out


def test_kept_fold_follows_a_dtype_move_and_survives_no_copy():
    layer, x = trained_layer("power", 3)
    with torch.no_grad():
        out64 = layer(x)
        layer.float()  # swaps every tensor's storage, bumping no version
        out32 = layer(x.float())
        assert out32.dtype == torch.float32
        torch.testing.assert_close(out32.double(), out64, rtol=1e-5, atol=1e-5)
        clone = pickle.loads(pickle.dumps(layer))  # no entry travels with a copy
        clone.coef.data = clone.coef.data * 3.0
        assert not torch.allclose(clone(x.float()), out32)


def test_predictions_follow_partial_fit_and_set_weights():
    # the training engine writes the weights through a flat buffer, which bumps no version:
    # predictions made between calls must still see every update
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = X[:, 0] * X[:, 1] + X[:, 2]
    reg = SLNNRegressor((8,), max_iter=1, random_state=0, device="cpu")
    seen = []
    for _ in range(3):
        reg.partial_fit(X, y)
        pred = reg.predict(X[:5])
        fresh = copy.deepcopy(reg.module_).eval()
        with torch.no_grad():
            expected = fresh(torch.as_tensor(X[:5])).double().numpy().ravel()
        np.testing.assert_allclose(pred, expected, rtol=1e-6, atol=1e-6)
        seen.append(pred)
    assert not np.allclose(seen[0], seen[-1])
    with torch.no_grad():
        reg.module_.activations[0].coef.mul_(-1.0)
    assert not np.allclose(reg.predict(X[:5]), seen[-1])
