"""The autograd-free engine and the closed-form losses against autograd on the same module."""

import copy

import pytest
import torch

from sklearn_slaf.network import SLNN
from sklearn_slaf.training import TrainConfig, Trainer
from sklearn_slaf.training._engine import Engine
from sklearn_slaf.training._losses import LogisticLoss, SoftmaxCrossEntropy, SquaredError

F64 = torch.float64


def make_net(n_out=2, **kw):
    kw = {"hidden_layer_sizes": (6, 5), "degree": (3, 2), "gate": True, "init_std": 0.5, **kw}
    net = SLNN(4, n_outputs=n_out, generator=torch.Generator().manual_seed(0), dtype=F64, **kw)
    net.set_scaling(input_offset=[0.1, -0.2, 0.3, 0.0], input_scale=[1.5, 0.5, 2.0, 1.0],
                    output_offset=[0.5] * n_out, output_scale=[2.0] * n_out)
    return net.train()


def data(n=24, n_out=2, kind="regression", seed=1):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=gen, dtype=F64) * 1.3 + 0.2
    if kind == "regression":
        y = torch.randn(n, n_out, generator=gen, dtype=F64) * 2.0 + 0.5
    else:
        classes = 2 if kind == "binary" else n_out
        y = torch.randint(0, classes, (n, 1), generator=gen).to(F64)
    w = torch.rand(n, generator=gen, dtype=F64) + 0.1
    return x, y, w


def autograd_step(net, loss, x, y, w):
    per = loss(net(x), y)
    value = per.mean() if w is None else (per * w).sum() / w.sum()
    value.backward()
    return value.detach()


def engine_step(net, loss, x, y, w):
    return Engine(net, loss).loss_and_grad(x, y, w)


def compare(make, loss_cls, kind="regression", n=24, n_out=2, weighted=True):
    x, y, w = data(n, n_out, kind)
    w = w if weighted else None
    ref, net = make(), make()
    v_ref = autograd_step(ref, loss_cls(ref), x, y, w)
    v = engine_step(net, loss_cls(net), x, y, w)
    torch.testing.assert_close(v, v_ref, rtol=1e-12, atol=0)
    for (name, p), q in zip(net.named_parameters(), ref.parameters()):
        assert p.grad is not None, name
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-10, atol=1e-12, msg=name)
    for (name, b), c in zip(net.named_buffers(), ref.buffers()):
        torch.testing.assert_close(b, c, rtol=1e-12, atol=1e-14, msg=name)


@pytest.mark.parametrize("basis", ["power", "taylor", "hermite", "chebyshev", "legendre", "fourier"])
@pytest.mark.parametrize("sharing", ["layer", "unit"])
def test_slaf_networks(basis, sharing):
    compare(lambda: make_net(basis=basis, coef_sharing=sharing), SquaredError)


def test_grouped_sharing_and_momentum():
    compare(lambda: make_net(hidden_layer_sizes=(6, 4), coef_sharing=2, normalize_momentum=None), SquaredError)


@pytest.mark.parametrize("basis", ["power", "chebyshev", "legendre"])
@pytest.mark.parametrize("sharing", ["layer", "unit", 2])
@pytest.mark.parametrize("momentum", [None, 0.3])
def test_fused_steps_add_into_existing_gradients_and_count_batches(basis, sharing, momentum, monkeypatch):
    # ungated layers whose .grad exists (as the solvers keep them): the C kernels add the group
    # gradients into it and update the batch count and running statistics themselves
    from sklearn_slaf._kernels import _native

    if not _native.available():
        pytest.skip("the C kernels could not be compiled here")
    calls, original = [], _native.fused_backward
    monkeypatch.setattr(_native, "fused_backward", lambda *a, **kw: calls.append(len(a)) or original(*a, **kw))

    def make():
        net = make_net(basis=basis, coef_sharing=sharing, gate=False, hidden_layer_sizes=(6, 4),
                       normalize_momentum=momentum)
        for p in net.parameters():
            p.grad = torch.full_like(p, 0.25)
        return net

    x, y, w = data(24, 2)
    ref, net = make(), make()
    for step in range(3):  # the running statistics' weight depends on the batch count
        xs = x[step * 8:(step + 1) * 8]
        autograd_step(ref, SquaredError(ref), xs, y[step * 8:(step + 1) * 8], None)
        engine_step(net, SquaredError(net), xs, y[step * 8:(step + 1) * 8], None)
    assert calls.count(5) == 6  # the engine: two layers, three steps, each adding into .grad
    for (name, p), q in zip(net.named_parameters(), ref.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-10, atol=1e-12, msg=name)
    for (name, b), c in zip(net.named_buffers(), ref.buffers()):
        torch.testing.assert_close(b, c, rtol=1e-12, atol=1e-14, msg=name)


@pytest.mark.parametrize("act", ["relu", "tanh", "sigmoid", "gelu", "swish", "leaky_relu", "identity", "elu",
                                 "softplus", "relu+bn", "slaf+bn"])
def test_hybrid_networks(act):
    compare(lambda: make_net(hidden_activation=(act, "slaf")), SquaredError)
    compare(lambda: make_net(hidden_activation=("slaf", act)), SquaredError, weighted=False)


def test_unnormalised_slaf_uses_the_autograd_fallback():
    compare(lambda: make_net(normalize_basis=False), SquaredError)


def test_linear_model_and_single_sample():
    compare(lambda: make_net(hidden_layer_sizes=(), degree=3), SquaredError)
    compare(lambda: make_net(), SquaredError, n=1)  # a batch of one normalises with running statistics


@pytest.mark.parametrize("weighted", [True, False])
def test_classification_losses(weighted):
    compare(lambda: make_net(n_out=1), LogisticLoss, kind="binary", n_out=1, weighted=weighted)
    compare(lambda: make_net(n_out=3), SoftmaxCrossEntropy, kind="multiclass", n_out=3, weighted=weighted)


@pytest.mark.parametrize("loss_cls,kind,n_out", [(SquaredError, "regression", 3), (LogisticLoss, "binary", 1),
                                                 (SoftmaxCrossEntropy, "multiclass", 4)])
@pytest.mark.parametrize("weighted", [True, False])
def test_closed_form_loss_gradients(loss_cls, kind, n_out, weighted):
    net = make_net(n_out=n_out)
    loss = loss_cls(net)
    _, y, w = data(16, n_out, kind)
    w = w if weighted else None
    z = torch.randn(16, n_out, dtype=F64, generator=torch.Generator().manual_seed(3)).requires_grad_()
    per = loss(z * net.output_scale + net.output_offset, y)
    value = per.mean() if w is None else (per * w).sum() / w.sum()
    (grad,) = torch.autograd.grad(value, z)
    v, g = loss.value_and_grad(z.detach().clone(), y, w)
    torch.testing.assert_close(v, value.detach(), rtol=1e-12, atol=0)
    torch.testing.assert_close(g, grad, rtol=1e-12, atol=1e-15)


@pytest.mark.gpu
@pytest.mark.parametrize("act", ["slaf", "relu+bn"])
def test_engine_matches_autograd_on_cuda(act):
    def make():
        return make_net(hidden_activation=("slaf", act), basis="chebyshev").cuda()

    x, y, w = (t.cuda() for t in data(64, 2))
    ref, net = make(), make()
    autograd_step(ref, SquaredError(ref), x, y, w)
    engine_step(net, SquaredError(net), x, y, w)
    for p, q in zip(net.parameters(), ref.parameters()):
        assert p.grad.is_cuda
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-10, atol=1e-12)


def test_engine_and_autograd_trainers_follow_the_same_path():
    x, y, _ = data(90, 2)
    nets = [make_net(), make_net()]
    losses = [SquaredError(nets[0]), None]
    plain = SquaredError(nets[1])
    losses[1] = lambda out, target: plain(out, target)  # no closed form: the trainer uses autograd
    trainers = [Trainer(n, loss, TrainConfig(batch_size=32, max_iter=3, coef_alpha=1e-3, clip_grad_norm=1.0),
                        torch.Generator().manual_seed(0)) for n, loss in zip(nets, losses)]
    assert trainers[0].uses_engine and not trainers[1].uses_engine
    for t in trainers:
        t.run(x, y)
    for p, q in zip(*(n.parameters() for n in nets)):
        torch.testing.assert_close(p, q, rtol=1e-9, atol=1e-12)
    assert trainers[0].state.loss_curve == pytest.approx(trainers[1].state.loss_curve, rel=1e-9)


def test_engine_is_only_used_for_slnn_and_closed_form_losses():
    net = make_net()
    assert Engine.supports(net, SquaredError(net))
    assert not Engine.supports(net, lambda o, t: (o - t).square().mean(1))
    assert not Engine.supports(torch.nn.Linear(3, 1), SquaredError(net))


def test_training_leaves_parameters_with_their_own_storage():
    x, y, _ = data(40, 2)
    net = make_net()
    Trainer(net, SquaredError(net), TrainConfig(batch_size=16, max_iter=2), torch.Generator().manual_seed(0)).run(x, y)
    ptrs = {p.untyped_storage().data_ptr() for p in net.parameters()}
    assert len(ptrs) == len(list(net.parameters()))
    assert all(p.grad is None for p in net.parameters())
    copy.deepcopy(net)  # still an ordinary module


@pytest.mark.parametrize("closed_form", [True, False])
def test_frozen_parameters_are_not_trained(closed_form):
    x, y, _ = data(64, 2)
    net = make_net()
    frozen = [net.activations[0].coef, net.activations[0].bias, net.hidden[0].weight, net.output.bias]
    for p in frozen:
        p.requires_grad_(False)
    before = [p.clone() for p in frozen]
    sq = SquaredError(net)
    loss = sq if closed_form else (lambda out, target: sq(out, target))
    trainer = Trainer(net, loss, TrainConfig(max_iter=3, batch_size=16, alpha=0.1), torch.Generator().manual_seed(0))
    assert trainer.uses_engine == closed_form
    trainer.run(x, y)
    for p, b in zip(frozen, before):
        assert torch.equal(p, b) and p.grad is None
    assert not torch.equal(net.hidden[1].weight, make_net().hidden[1].weight)  # the rest did train


def test_engine_declines_modules_it_would_get_wrong():
    net = make_net()

    class Doubled(SLNN):
        def forward(self, x):
            return 2 * super().forward(x)

    doubled = Doubled(4, (3,), generator=torch.Generator().manual_seed(0))
    assert not Engine.supports(doubled, SquaredError(doubled))
    net.activations[0].register_forward_hook(lambda *a: None)
    assert not Engine.supports(net, SquaredError(net))
