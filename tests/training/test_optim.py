"""Flat-buffer optimisers against torch.optim, and the packing of parameters."""

import pickle

import pytest
import torch

from sklearn_slaf.training._optim import FlatAdamW, FlatParameters, FlatSGDW


def make_groups(seed=0):
    gen = torch.Generator().manual_seed(seed)
    shapes = [[(4, 3), (2, 4)], [(4,), (2,)], [(1, 5)]]
    return [[torch.nn.Parameter(torch.randn(s, generator=gen, dtype=torch.float64)) for s in g] for g in shapes]


def grads(groups, step):
    gen = torch.Generator().manual_seed(100 + step)
    return [torch.randn(p.shape, generator=gen, dtype=torch.float64) for g in groups for p in g]


def run_flat(opt, steps=6):
    groups = make_groups()
    flat = FlatParameters(groups)
    for t in range(steps):
        for p, g in zip(flat.params, grads(groups, t)):
            p.grad.copy_(g)
        opt.step(flat)
    return [p.detach().clone() for p in flat.params]


def run_torch(make, steps=6):
    groups = make_groups()
    opt = make(groups)
    params = [p for g in groups for p in g]
    for t in range(steps):
        for p, g in zip(params, grads(groups, t)):
            p.grad = g.clone()
        opt.step()
    return [p.detach().clone() for p in params]


LRS, DECAYS = (0.01, 0.01, 0.05), (0.1, 0.0, 0.0)


def torch_groups(groups):
    return [{"params": g, "lr": lr, "weight_decay": wd} for g, lr, wd in zip(groups, LRS, DECAYS)]


def test_adamw_matches_torch():
    ours = run_flat(FlatAdamW(sum(p.numel() for g in make_groups() for p in g), LRS, DECAYS))
    ref = run_torch(lambda gs: torch.optim.AdamW(torch_groups(gs)))
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


def test_sgdw_matches_torch_sgd_with_decoupled_decay():
    n = sum(p.numel() for g in make_groups() for p in g)
    ours = run_flat(FlatSGDW(n, LRS, DECAYS, momentum=0.9))

    class DecoupledSGD(torch.optim.SGD):
        @torch.no_grad()
        def step(self):
            for g, wd in zip(self.param_groups, DECAYS):
                for p in g["params"]:
                    p.mul_(1.0 - g["lr"] * wd)
            super().step()

    ref = run_torch(lambda gs: DecoupledSGD([{"params": g, "lr": lr} for g, lr in zip(gs, LRS)],
                                            momentum=0.9, nesterov=True))
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


def test_parameters_become_views_and_are_released():
    groups = make_groups()
    values = [p.detach().clone() for g in groups for p in g]
    flat = FlatParameters(groups)
    assert len(flat) == sum(v.numel() for v in values)
    assert [b - a for a, b in flat.bounds] == [20, 6, 5]
    for p, v in zip(flat.params, values):
        assert p.untyped_storage().data_ptr() == flat.data.untyped_storage().data_ptr()
        assert p.grad.untyped_storage().data_ptr() == flat.grad.untyped_storage().data_ptr()
        torch.testing.assert_close(p.detach(), v, rtol=0, atol=0)
    flat.data.add_(1.0)  # writes through to the parameters
    assert all(torch.equal(p.detach(), v + 1.0) for p, v in zip(flat.params, values))
    flat.release()
    for p in flat.params:
        assert p.grad is None
        assert p.untyped_storage().data_ptr() != flat.data.untyped_storage().data_ptr()
    # a released parameter pickles on its own, not with the whole buffer
    assert len(pickle.dumps(flat.params[-1])) < len(pickle.dumps(flat.data))


def test_autograd_accumulates_into_the_flat_gradient():
    groups = make_groups()
    flat = FlatParameters(groups)
    loss = sum((p * p).sum() for p in flat.params)
    loss.backward()
    for p in flat.params:
        assert p.grad.untyped_storage().data_ptr() == flat.grad.untyped_storage().data_ptr()
        torch.testing.assert_close(p.grad, 2 * p.detach())


def test_learning_rate_back_off_and_state_reset():
    n = sum(p.numel() for g in make_groups() for p in g)
    opt = FlatAdamW(n, LRS, DECAYS)
    run_flat(opt, steps=2)
    assert opt.state["step"] == 2
    opt.scale_lr(0.5)
    assert opt.lr == pytest.approx(0.005)
    assert opt.lrs[2] == pytest.approx(0.025)
    opt.reset_state()
    assert not opt.state


def test_layout_mismatch_is_refused():
    opt = FlatAdamW(3, [0.1], [0.0])
    flat = FlatParameters([[torch.nn.Parameter(torch.zeros(4))]])
    with pytest.raises(ValueError, match="built for 3 parameters"):
        opt.step(flat)


def test_needs_parameters():
    with pytest.raises(ValueError, match="no parameters"):
        FlatParameters([[], []])
