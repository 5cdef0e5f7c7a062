"""The training-mode SLAF kernels against the reference path (``SLAF._forward_reference``).

Every test runs three times: on the stacked torch kernels of small batches, on the
streaming torch kernels of large ones (the size limits between them are patched: the
stacked kernels' limit, and the size from which the evaluation path recycles scratch
buffers), and on the fused C kernels where they compile (the conftest runs every test on
one torch thread, where the C kernels take every CPU batch).
"""

import copy

import numpy as np
import pytest
import torch

from sklearn_slaf import _kernels, basis
from sklearn_slaf._kernels import _native, _stacked, _streaming
from sklearn_slaf.activation import SLAF

F64 = torch.float64
FAMILIES = basis.POLYNOMIAL_BASES


@pytest.fixture(autouse=True, params=["stacked", "streaming", "native"])
def kernel_path(request, monkeypatch):
    if request.param == "native" and not _native.available():
        pytest.skip("the C kernels could not be compiled here (no C compiler)")
    monkeypatch.setattr(_native, "enabled", request.param == "native")
    monkeypatch.setattr(_stacked, "STACK_LIMIT", 2**62 if request.param == "stacked" else 0)
    monkeypatch.setattr(_streaming, "_RECYCLE_FROM", 2**62 if request.param == "stacked" else 0)
    return request.param


def make_layer(family, degree, sharing="unit", units=4, dtype=F64, seed=0, **kw):
    gen = torch.Generator().manual_seed(seed)
    kw = {"gate": True, "activation_init": "tanh", "init_std": 0.5, **kw}
    layer = SLAF(units, degree, family, coef_sharing=sharing, generator=gen, dtype=dtype, **kw)
    with torch.no_grad():
        if layer.gate_logit is not None:
            layer.gate_logit.normal_(0.0, 1.0, generator=gen)
        layer.bias.normal_(0.0, 1.0, generator=gen)
    return layer


def batch(n, units, dtype=F64, seed=1, shift=0.3):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, units, dtype=F64, generator=gen) * 1.5 + shift
    w = torch.randn(n, units, dtype=F64, generator=gen)
    return x.to(dtype), w.to(dtype)


def step(layer, x, w, reference, calls=1):
    """Output, input gradient, parameter gradients and buffers after ``calls`` forward passes."""
    x = x.clone().requires_grad_()
    for _ in range(calls):
        y = layer._forward_reference(x) if reference else layer(x)
    (y * w).sum().backward()
    grads = {name: p.grad for name, p in layer.named_parameters()}
    return {"out": y.detach(), "x.grad": x.grad, **grads, **dict(layer.named_buffers())}


def assert_same(fast, ref, rtol):
    assert fast.keys() == ref.keys()
    for key, b in ref.items():
        a = fast[key]
        if not torch.is_floating_point(b):
            assert torch.equal(a, b), key
            continue
        scale = b.abs().max().clamp_min(1e-300)
        assert (a - b).abs().max() <= rtol * scale, (key, float((a - b).abs().max() / scale))


def compare(layer, x, w, rtol, calls=1):
    ref = step(copy.deepcopy(layer), x, w, True, calls)
    fast = step(layer, x, w, False, calls)
    assert_same(fast, ref, rtol)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("sharing", ["layer", "unit", 2])
@pytest.mark.parametrize("units", [4, 42], ids=["narrow", "strips"])
def test_training_step_matches_reference_in_float64(family, sharing, units):
    # 42 units: full vector strips of the C kernels (4, 8 or 16 values wide) and a partial one
    for degree in range(1, 13):
        x, w = batch(48, units, seed=degree)
        compare(make_layer(family, degree, sharing, units=units, seed=degree), x, w, rtol=1e-12)


@pytest.mark.parametrize("family", FAMILIES)
def test_running_statistics_over_several_batches(family):
    for momentum in (None, 0.3):
        layer = make_layer(family, 5, normalize_momentum=momentum)
        x, w = batch(40, 4)
        compare(layer, x, w, rtol=1e-12, calls=3)
        assert int(layer.num_batches_tracked) == 3


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("mode", ["eval", "single", "unnormalised"])
def test_affine_paths_match_reference(family, mode):
    layer = make_layer(family, 7, normalize_basis=mode != "unnormalised")
    x, w = batch(1 if mode == "single" else 30, 4)
    layer.train()(batch(64, 4, seed=5)[0])  # move the running statistics off their start
    if mode == "eval":
        layer.eval()
    compare(layer, x, w, rtol=1e-12)
    with torch.no_grad():  # outside autograd: recycled buffers (on the streaming path) and the kept fold
        torch.testing.assert_close(layer(x), copy.deepcopy(layer)._forward_reference(x), rtol=1e-12, atol=1e-12)


def test_input_of_any_leading_shape():
    layer = make_layer("legendre", 4)
    x = batch(30, 4)[0].reshape(5, 6, 4)
    ref = copy.deepcopy(layer)._forward_reference(x)
    out = layer(x)
    assert out.shape == x.shape
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("units", [8, 42])
@pytest.mark.parametrize("degree", [8, 12])
@pytest.mark.parametrize("family", FAMILIES)
def test_float32_is_as_accurate_as_the_reference(family, degree, units):
    # both float32 paths against the float64 reference: the kernel may not be much worse
    layer = make_layer(family, degree, units=units)
    x, w = batch(512, units)
    truth = step(copy.deepcopy(layer), x, w, True)
    ref32 = step(copy.deepcopy(layer).float(), x.float(), w.float(), True)
    fast32 = step(copy.deepcopy(layer).float(), x.float(), w.float(), False)
    for key in ("out", "x.grad", "coef", "bias", "gate_logit", "running_mean", "running_var"):
        scale = truth[key].abs().max()
        err_ref = float((ref32[key].double() - truth[key]).abs().max() / scale)
        err_fast = float((fast32[key].double() - truth[key]).abs().max() / scale)
        assert err_fast <= max(4 * err_ref, 5e-6), (key, err_fast, err_ref)


@pytest.mark.parametrize("family", FAMILIES)
def test_gradcheck(family):
    layer = make_layer(family, 6, units=3, normalize_momentum=None)
    coef, bias = layer.per_unit(layer.effective_coefficients()).detach(), layer.bias.detach().expand(3)
    x = batch(10, 3)[0].requires_grad_()
    r = x.detach().abs().amax(0) if basis.needs_input_map(family) else None
    inputs = (x, coef.clone().requires_grad_(), bias.clone().requires_grad_())
    fn = lambda x, c, b: _kernels.normalized_basis(family, x, r, c, b, 1e-5)[0]
    assert torch.autograd.gradcheck(fn, inputs)


def test_double_backward_is_refused_not_wrong():
    layer = make_layer("power", 3)
    x = batch(10, 4)[0].requires_grad_()
    (g,) = torch.autograd.grad(layer(x).square().sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable|twice"):
        g.sum().backward()


def test_only_parameter_gradients():
    layer = make_layer("chebyshev", 5)
    x, w = batch(20, 4)
    ref = copy.deepcopy(layer)
    (layer(x) * w).sum().backward()
    (ref._forward_reference(x) * w).sum().backward()
    for p, q in zip(layer.parameters(), ref.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-12, atol=1e-12)


def test_scratch_buffers_do_not_leak_between_calls():
    layer = make_layer("hermite", 6)
    x1, w1 = batch(32, 4, seed=1)
    x2, w2 = batch(32, 4, seed=2)
    expected = step(copy.deepcopy(layer), x2, w2, False)
    with torch.inference_mode():  # inference tensors must not be recycled into training
        layer.eval()(x1)
    layer.train()
    step(copy.deepcopy(layer), x1, w1, False)
    assert_same(step(layer, x2, w2, False), expected, rtol=0.0)


def test_memory_kept_for_backward(kernel_path):
    # streaming keeps the input and (k, U) statistics; stacked also keeps the element stack and
    # its centred copy (2 k N U numbers), which is why it is limited to small batches
    layer = make_layer("chebyshev", 8, units=16)
    x = batch(256, 16)[0].requires_grad_()
    node = layer(x).grad_fn
    while not hasattr(node, "saved"):  # past the reshape to the kernel's node
        node = node.next_functions[0][0]
    kind, saved = node.saved
    assert kind == kernel_path
    kept = sum(t.numel() for t in saved if isinstance(t, torch.Tensor) and t is not x)
    limit = 2 * 8 * x.numel() if kernel_path == "stacked" else x.numel()
    assert kept <= limit + 4 * 8 * 16


def test_unknown_family_is_refused():
    with pytest.raises(ValueError, match="fourier"):
        _kernels.normalized_basis("fourier", torch.zeros(3, 2), None, torch.zeros(2, 1), torch.zeros(2), 1e-5)


@pytest.mark.gpu
@pytest.mark.parametrize("family", ["power", "chebyshev", "legendre"])
def test_matches_reference_on_cuda(family):
    layer = make_layer(family, 8).cuda()
    x, w = batch(64, 4)
    compare(layer, x.cuda(), w.cuda(), rtol=1e-12)


def test_fit_releases_scratch_memory():
    from sklearn_slaf import SLNNRegressor

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(300, 4)), rng.normal(size=300)
    SLNNRegressor(hidden_layer_sizes=(8,), max_iter=2, device="cpu", random_state=0).fit(X, y)
    assert _kernels.scratch_bytes() == 0


@pytest.mark.parametrize("family", ["power", "chebyshev", "legendre"])
@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_native_backward_over_its_upstream_gradient_changes_no_bit(family, dtype, kernel_path):
    # the engine lets the C backward write grad_x over the upstream gradient it owns
    if kernel_path != "native":
        pytest.skip("a C-kernel option")
    x, gy = batch(70, 42, dtype)  # 42 units: full and partial vector strips on any ISA
    coef = torch.randn(42, 4, dtype=dtype, generator=torch.Generator().manual_seed(2))
    bias = torch.zeros(42, dtype=dtype)
    _, saved = _native.fused_forward(family, x, None, coef, bias, 1e-5)
    fresh, gc, gb = _native.fused_backward(family, gy, saved)
    mine = gy.clone()
    over, gc2, gb2 = _native.fused_backward(family, mine, saved, overwrite_gy=True)
    assert over.data_ptr() == mine.data_ptr()  # no (N, U) buffer of its own
    assert torch.equal(over, fresh) and torch.equal(gc2, gc) and torch.equal(gb2, gb)
    assert not torch.equal(fresh, gy)  # the overwritten gradient is not the upstream one
