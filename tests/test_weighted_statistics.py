"""Sample weights in batch statistics: integer weights are repetitions of rows (layers, engine, fits)."""

import copy
import warnings

import numpy as np
import pytest
import torch

from sklearn_slaf import SLNNClassifier, SLNNRegressor
from sklearn_slaf._batch_weights import BatchNorm1d, batch_weights
from sklearn_slaf.activation import SLAF
from sklearn_slaf.network import SLNN
from sklearn_slaf.training._engine import _SLAF, Engine
from sklearn_slaf.training._losses import SquaredError, weighted_mean

F64 = torch.float64
COUNTS = torch.tensor([0, 1, 3, 2, 0, 1, 4, 2])  # integer weights, zeros included


def _repeat(t, counts=COUNTS):
    return t.repeat_interleave(counts, 0)


def _fold(grad_repeated, counts=COUNTS):
    """Gradients of the repeated rows summed back onto the rows they copy."""
    out = torch.zeros((len(counts), *grad_repeated.shape[1:]), dtype=grad_repeated.dtype)
    return out.index_add_(0, torch.arange(len(counts)).repeat_interleave(counts), grad_repeated)


def _layer(kind, units=3):
    gen = torch.Generator().manual_seed(0)
    if kind == "bn":
        bn = BatchNorm1d(units, dtype=F64)
        with torch.no_grad():
            bn.weight.copy_(torch.rand(units, generator=gen, dtype=F64) + 0.5)
            bn.bias.copy_(torch.randn(units, generator=gen, dtype=F64))
        return bn
    family, sharing = kind
    return SLAF(units, 4, family, coef_sharing=sharing, gate=True, init_std=0.5, activation_init="tanh",
                generator=gen, dtype=F64)


LAYERS = [("power", "layer"), ("power", "unit"), ("chebyshev", "layer"), ("chebyshev", "unit"), "bn"]


def _stats(layer):
    return {k: v.clone() for k, v in layer.state_dict().items() if k.startswith("running")}


@pytest.mark.parametrize("kind", LAYERS, ids=str)
def test_integer_weights_are_repeated_rows_in_a_layer(kind):
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(len(COUNTS), 3, generator=gen, dtype=F64) * 1.5 + 0.3
    gy = torch.randn(len(COUNTS), 3, generator=gen, dtype=F64)
    weighted, repeated = _layer(kind).train(), _layer(kind).train()
    xw, xr = x.clone().requires_grad_(), _repeat(x).requires_grad_()
    with batch_weights(weighted, COUNTS.to(F64)):
        out_w = weighted(xw)
    out_r = repeated(xr)
    # the loss sum_n w_n y_n . f(x_n) is the repeated rows' sum_m y_m . f(x_m)
    (out_w * gy * COUNTS[:, None]).sum().backward()
    (out_r * _repeat(gy)).sum().backward()
    torch.testing.assert_close(_repeat(out_w), out_r, rtol=1e-12, atol=1e-12)
    for name, value in _stats(repeated).items():
        torch.testing.assert_close(_stats(weighted)[name], value, rtol=1e-12, atol=1e-12, msg=name)
    torch.testing.assert_close(xw.grad, _fold(xr.grad), rtol=1e-10, atol=1e-10)
    for (name, pw), pr in zip(weighted.named_parameters(), repeated.parameters()):
        torch.testing.assert_close(pw.grad, pr.grad, rtol=1e-10, atol=1e-10, msg=name)
    assert weighted.batch_weight is None  # the context hands the weights back


@pytest.mark.parametrize("kind", LAYERS, ids=str)
def test_weighted_gradients_match_finite_differences(kind):
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(6, 3, generator=gen, dtype=F64) * 1.2
    w = torch.rand(6, generator=gen, dtype=F64) + 0.2
    layer = _layer(kind).train()
    # the input range of a mapped family (max |x|) is a statistic without gradient, as unweighted
    x.requires_grad_(not getattr(layer, "mapped", False))
    names = [n for n, _ in layer.named_parameters()]

    def f(x, *params):
        with batch_weights(layer, w):
            return torch.func.functional_call(layer, dict(zip(names, params)), (x,))

    inputs = (x, *(p.detach().clone().requires_grad_() for p in layer.parameters()))
    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("kind", LAYERS, ids=str)
def test_equal_weights_are_no_weights_and_zero_weight_batches_change_nothing(kind):
    x = torch.randn(8, 3, generator=torch.Generator().manual_seed(3), dtype=F64)
    plain, ones, empty = _layer(kind).train(), _layer(kind).train(), _layer(kind).train()
    before = _stats(empty)
    with torch.no_grad():
        ref = plain(x)
        with batch_weights(ones, torch.full((8,), 2.5, dtype=F64)):
            out = ones(x)
        with batch_weights(empty, torch.zeros(8, dtype=F64)):
            zero = empty(x)
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
    # BatchNorm1d's unbiased running variance counts sum(w) rows, here 20 rather than 8
    if kind != "bn":
        for name, value in _stats(plain).items():
            torch.testing.assert_close(_stats(ones)[name], value, rtol=1e-12, atol=1e-12, msg=name)
    assert torch.isfinite(zero).all()
    for name, value in before.items():
        torch.testing.assert_close(_stats(empty)[name], value, rtol=0, atol=0, msg=name)


def test_weights_of_the_wrong_length_are_refused():
    layer = _layer(("power", "layer")).train()
    with batch_weights(layer, torch.ones(5, dtype=F64)), pytest.raises(ValueError, match="one weight per row"):
        layer(torch.randn(4, 3, dtype=F64))


# ---------------------------------------------------------------------------- the engine
class _OneProcess:
    """A communicator of one process: the data-parallel layer operations without a process group."""

    batch_rows = None

    def sum(self, *tensors):
        return [t.clone() for t in tensors]

    def sum_(self, t):
        return t

    def max_(self, t):
        return t

    def rows(self, h):
        return h.shape[0]


def _net(act, **kw):
    net = SLNN(4, (6, 5), 2, degree=(3, 2), hidden_activation=act, gate=True, init_std=0.5,
               generator=torch.Generator().manual_seed(0), dtype=F64, **kw)
    net.set_scaling(input_offset=[0.1, -0.2, 0.3, 0.0], input_scale=[1.5, 0.5, 2.0, 1.0])
    return net.train()


NETS = {"slaf": ("slaf", {}), "chebyshev": ("slaf", {"basis": "chebyshev"}),
        "hybrid": (("slaf+bn", "relu+bn"), {"coef_sharing": "unit"})}


def _grads(net):
    return {n: p.grad.clone() for n, p in net.named_parameters()}


@pytest.mark.parametrize("comm", [None, _OneProcess()], ids=["engine", "data-parallel"])
@pytest.mark.parametrize("name", list(NETS))
def test_engine_weighted_step_equals_autograd_on_repeated_rows(name, comm):
    act, kw = NETS[name]
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(len(COUNTS), 4, generator=gen, dtype=F64)
    y = torch.randn(len(COUNTS), 2, generator=gen, dtype=F64)
    engine_net, auto_net = _net(act, **kw), _net(act, **kw)
    with batch_weights(engine_net, COUNTS.to(F64)):
        loss = Engine(engine_net, SquaredError(engine_net), comm).loss_and_grad(x, y, COUNTS.to(F64))
    ref = weighted_mean(SquaredError(auto_net)(auto_net(_repeat(x)), _repeat(y)), None)
    ref.backward()
    torch.testing.assert_close(loss, ref.detach(), rtol=1e-12, atol=1e-12)
    for key, g in _grads(auto_net).items():
        torch.testing.assert_close(_grads(engine_net)[key], g, rtol=1e-9, atol=1e-10, msg=key)
    torch.testing.assert_close(engine_net.state_dict(), auto_net.state_dict(), rtol=1e-12, atol=1e-12)


def test_unweighted_steps_keep_the_fused_kernels_and_weighted_ones_leave_them():
    net = _net("slaf")
    x = torch.randn(16, 4, generator=torch.Generator().manual_seed(5), dtype=F64)
    op = _SLAF(net.activations[0])
    with torch.no_grad():
        op.forward(net.hidden[0](x))
        assert op.saved is not None  # the fused kernels' context
        with batch_weights(net, torch.rand(16, dtype=F64)):
            op.forward(net.hidden[0](x))
        assert op.saved is None and op.fallback.saved is not None  # autograd around the layer


# ---------------------------------------------------------------------------- estimators
FIT_CONFIGS = {
    "power": {},
    "chebyshev-unit": {"basis": "chebyshev", "coef_sharing": "unit"},
    "relu+bn": {"hidden_layer_sizes": (8, 6), "hidden_activation": ("slaf", "relu+bn")},
    "slaf+bn": {"hidden_layer_sizes": (8, 6), "hidden_activation": ("slaf+bn", "relu+bn"), "degree": 2},
}
_FULL_BATCH = {"hidden_layer_sizes": (8,), "solver": "lbfgs", "dtype": "float64", "max_iter": 40,
               "device": "cpu", "random_state": 0}


def _data(n=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * [1.0, 2.0, 0.5] + [0.0, 1.0, -1.0]
    y = X[:, 0] * X[:, 1] - np.sin(X[:, 2])
    sw = rng.integers(0, 4, size=n)
    return X, y, sw


@pytest.mark.parametrize("cls", [SLNNRegressor, SLNNClassifier])
@pytest.mark.parametrize("config", list(FIT_CONFIGS))
def test_full_batch_fits_with_integer_weights_equal_fits_on_repeated_rows(cls, config):
    X, y, sw = _data()
    if cls is SLNNClassifier:
        y = np.digitize(y, np.quantile(y, [0.4, 0.7]))
    params = {**_FULL_BATCH, **FIT_CONFIGS[config]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weighted = cls(**params).fit(X, y, sample_weight=sw)
        repeated = cls(**params).fit(np.repeat(X, sw, axis=0), np.repeat(y, sw))
        out = "predict" if cls is SLNNRegressor else "predict_proba"
        np.testing.assert_allclose(getattr(weighted, out)(X), getattr(repeated, out)(X), rtol=1e-7, atol=1e-9)
    for name, value in repeated.module_.state_dict().items():
        if name.startswith("running") or "running" in name:
            np.testing.assert_allclose(weighted.module_.state_dict()[name].numpy(), value.numpy(), rtol=1e-6,
                                       atol=1e-9, err_msg=name)


@pytest.mark.parametrize("config", ["power", "chebyshev-unit", "slaf+bn"])
def test_weighted_recalibration_equals_recalibration_on_repeated_rows(config):
    X, y, sw = _data(seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SLNNRegressor(**{**_FULL_BATCH, **FIT_CONFIGS[config], "max_iter": 5}).fit(X, y)
    weighted, repeated = copy.deepcopy(model), copy.deepcopy(model)
    Xt = model._tensor(X, inputs=True)
    weighted._recalibrate((Xt, model._tensor(sw.astype(float))))
    repeated._recalibrate((model._tensor(np.repeat(X, sw, axis=0), inputs=True), None))
    stats = repeated.module_.state_dict()
    assert any("running" in k for k in stats)
    for name, value in stats.items():
        if "running" in name:
            np.testing.assert_allclose(weighted.module_.state_dict()[name].numpy(), value.numpy(), rtol=1e-10,
                                       atol=1e-12, err_msg=name)


def test_recalibrated_batch_normalisation_evaluates_as_it_trained():
    # the running variance is the biased one training normalised with, not torch's n / (n - 1) times it
    X, y, _ = _data(n=12, seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SLNNRegressor(**{**_FULL_BATCH, **FIT_CONFIGS["slaf+bn"], "max_iter": 5}).fit(X, y)
    Xt = model._tensor(X, inputs=True)
    trained = copy.deepcopy(model.module_).train()
    with torch.no_grad():
        np.testing.assert_allclose(model.module_.eval()(Xt).numpy(), trained(Xt).numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("config", ["power", "relu+bn"])
def test_unweighted_fits_are_unchanged_by_equal_weights(config):
    X, y, _ = _data(n=80, seed=3)
    params = {**FIT_CONFIGS[config], "hidden_layer_sizes": FIT_CONFIGS[config].get("hidden_layer_sizes", (8,)),
              "max_iter": 5, "batch_size": 16, "random_state": 0, "device": "cpu", "early_stopping": False}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = SLNNRegressor(**params).fit(X, y)
        ones = SLNNRegressor(**params).fit(X, y, sample_weight=np.full(len(y), 3.0))
    np.testing.assert_array_equal(ones.predict(X), plain.predict(X))
    np.testing.assert_array_equal(ones.loss_curve_, plain.loss_curve_)
