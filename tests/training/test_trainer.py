"""Every override point of Trainer works: overriding each one changes training as documented."""

from __future__ import annotations

import math

import pytest
import torch

from sklearn_slaf.network import SLNN
from sklearn_slaf.training import (
    STOP,
    Callback,
    LBFGSSolver,
    SquaredError,
    TorchSolver,
    TrainConfig,
    Trainer,
    TrainingDivergedError,
)


def _data(n=96, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = x[:, :1] * x[:, 1:2] - 0.5 * x[:, 2:]
    return x, y


def _net(seed=0):
    return SLNN(3, (8,), degree=3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _trainer(cls=Trainer, net=None, **config):
    net = _net() if net is None else net
    cfg = TrainConfig(**{"batch_size": 32, "max_iter": 4, "learning_rate": 1e-2, **config})
    return cls(net, SquaredError(net), cfg, torch.Generator().manual_seed(0))


def test_make_optimizer_may_return_any_torch_optimizer():
    class WithAdam(Trainer):
        def make_optimizer(self):
            return torch.optim.Adam(self.module.parameters(), lr=1e-2)

    x, y = _data()
    tr = _trainer(WithAdam, max_iter=30)
    assert isinstance(tr.solver, TorchSolver) and not tr.uses_engine
    st = tr.run(x, y)
    assert st.n_iter == 30 and st.loss_curve[-1] < 0.5 * st.loss_curve[0]
    # the divergence guard drives it too: lr halved, state cleared
    tr.solver.scale_lr(0.5)
    assert tr.solver.lr == pytest.approx(5e-3)


def test_a_torch_optimizer_matches_the_flat_one():
    # torch.optim.AdamW with the same decoupled decay on the weights only = FlatAdamW's maths
    class TorchAdamW(Trainer):
        def make_optimizer(self):
            decay, plain, coefs = self.param_groups
            return torch.optim.AdamW(
                [{"params": decay, "weight_decay": 0.1}, {"params": plain + coefs, "weight_decay": 0.0}], lr=1e-2
            )

    x, y = _data()
    a, b = _trainer(TorchAdamW, alpha=0.1), _trainer(alpha=0.1)
    a.run(x, y)
    b.run(x, y)
    assert a.state.loss_curve == pytest.approx(b.state.loss_curve, rel=1e-9)
    for p, q in zip(a.module.parameters(), b.module.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-8, atol=1e-10)


def test_batch_loss_override_is_called_and_sends_training_through_autograd():
    calls = []

    class Counted(Trainer):
        def batch_loss(self, x, y, w):
            calls.append(x.shape[0])
            return super().batch_loss(x, y, w)

    x, y = _data()
    tr = _trainer(Counted)
    assert not tr.uses_engine
    tr.run(x, y)
    assert calls == [32, 32, 32] * 4
    # the same loss by autograd follows the engine's path
    ref = _trainer()
    assert ref.uses_engine
    ref.run(x, y)
    assert tr.state.loss_curve == pytest.approx(ref.state.loss_curve, rel=1e-9)


def test_batch_loss_override_changes_the_objective():
    class Shifted(Trainer):  # fit y + 3 instead of y
        def batch_loss(self, x, y, w):
            return super().batch_loss(x, y + 3.0, w)

    x, y = _data()
    net = _net()
    _trainer(Shifted, net=net, max_iter=150, learning_rate=3e-2).run(x, y)
    with torch.no_grad():
        assert float((net(x) - y).mean()) == pytest.approx(3.0, abs=0.3)


def test_train_step_and_train_epoch_overrides_are_called():
    steps, epochs = [], []

    class Spy(Trainer):
        def train_step(self, x, y, w):
            steps.append(x.shape[0])
            return super().train_step(x, y, w)

        def train_epoch(self, X, Y, W):
            epochs.append(X.shape[0])
            return super().train_epoch(X, Y, W)

    x, y = _data(n=100)
    tr = _trainer(Spy, max_iter=3)
    tr.run(x, y)
    assert epochs == [100] * 3
    assert steps == [25, 25, 25, 25] * 3  # ceil(100 / 32) = 4 batches of equal size, not 32 + 32 + 32 + 4
    assert tr.state.t == 300


def test_penalty_override_shrinks_the_weights():
    class Shrink(Trainer):
        def penalty(self):
            return 1.0 * sum(p.square().sum() for p in self.module.parameters())

    x, y = _data()
    plain, shrunk = _net(), _net()
    _trainer(net=plain, max_iter=20).run(x, y)
    _trainer(Shrink, net=shrunk, max_iter=20).run(x, y)
    norm = lambda m: math.sqrt(sum(float(p.square().sum()) for p in m.parameters()))
    assert norm(shrunk) < 0.8 * norm(plain)


def test_evaluate_override_fills_the_validation_curve():
    class Constant(Trainer):
        def evaluate(self, X, Y, W):
            return 42.0

    x, y = _data()
    st = _trainer(Constant).run(x, y, validation=(x, y, None), score_fn=lambda m: 0.0)
    assert st.validation_loss_curve == [42.0] * 4


def test_callbacks_override_sees_every_hook_in_order_and_can_stop():
    seen = []

    class Recorder(Callback):
        def on_run_begin(self, trainer):
            seen.append("begin")

        def on_epoch_begin(self, trainer):
            seen.append("epoch")

        def on_epoch_end(self, trainer, loss):
            seen.append(round(trainer.state.loss_curve[-1] - loss, 12))  # History ran before: the loss is recorded
            return STOP if trainer.state.n_iter == 2 else None

        def on_run_end(self, trainer):
            seen.append("end")

        def on_teardown(self, trainer):
            seen.append("teardown")

    class WithRecorder(Trainer):
        def callbacks(self, *args, **kwargs):
            return [*super().callbacks(*args, **kwargs), Recorder()]

    x, y = _data()
    st = _trainer(WithRecorder, max_iter=10).run(x, y)
    assert st.n_iter == 2
    assert seen == ["begin", "epoch", 0.0, "epoch", 0.0, "end", "teardown"]


def test_teardown_runs_when_training_fails():
    torn = []

    class Teardown(Callback):
        def on_teardown(self, trainer):
            torn.append(trainer.state.backoffs)

    class Diverging(Trainer):
        def callbacks(self, *args, **kwargs):
            return [*super().callbacks(*args, **kwargs), Teardown()]

        def train_epoch(self, X, Y, W):
            return float("nan")

    x, y = _data()
    tr = _trainer(Diverging, max_backoffs=2)
    before = [p.detach().clone() for p in tr.module.parameters()]
    with pytest.warns(RuntimeWarning, match="diverging"):
        with pytest.raises(TrainingDivergedError, match="learning_rate_init"):
            tr.run(x, y)
    assert torn == [3]
    assert tr.solver.lr == pytest.approx(1e-2 / 4)
    for p, b in zip(tr.module.parameters(), before):  # restored: never the diverged weights
        assert torch.equal(p, b)


def test_lbfgs_solver_steps_once_per_epoch_on_the_full_batch():
    calls = []

    class Spy(Trainer):
        def train_step(self, x, y, w):
            calls.append(x.shape[0])
            return super().train_step(x, y, w)

    x, y = _data()
    tr = _trainer(Spy, solver="lbfgs", max_iter=5, alpha=1e-3)
    assert isinstance(tr.solver, LBFGSSolver) and not tr.solver.decouples_weight_decay
    st = tr.run(x, y)
    assert calls == [96] * 5 and st.t == 5 * 96
    assert st.loss_curve[-1] < 0.5 * st.loss_curve[0]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_standardising_the_training_set_once_changes_no_bit(monkeypatch, dtype):
    # the first-order solvers standardise X once per run for the engine; per batch is the reference
    from sklearn_slaf.training import _solvers
    from sklearn_slaf.training._engine import Engine

    modes, forward = [], Engine.forward

    def spy(self, x):
        modes.append(self.inputs_standardized)
        return forward(self, x)

    monkeypatch.setattr(Engine, "forward", spy)
    x, y = _data(n=100)
    x = (x * 3.0 + 7.0).to(dtype)  # an input map that does something

    def fitted(copy_bytes):
        monkeypatch.setattr(_solvers, "STANDARDIZED_COPY_BYTES", copy_bytes)
        net = SLNN(3, (8,), degree=3, generator=torch.Generator().manual_seed(0))
        net.set_scaling(input_offset=[7.0] * 3, input_scale=[3.0] * 3, output_offset=[0.0], output_scale=[1.0])
        tr = Trainer(net, SquaredError(net), TrainConfig(batch_size=32, max_iter=3, learning_rate=1e-2),
                     torch.Generator().manual_seed(0))
        assert tr.uses_engine
        state = tr.run(x, y.to(torch.float32))
        return [p.detach().clone() for p in net.state_dict().values()], state.loss_curve

    once, per_batch = fitted(2**30), fitted(0)
    assert modes == [True] * 12 + [False] * 12  # 3 epochs of 4 batches each way
    assert once[1] == per_batch[1]
    assert all(torch.equal(a, b) for a, b in zip(once[0], per_batch[0]))


def test_a_train_step_override_sees_the_rows_as_given_and_a_training_module():
    seen = []

    class Spy(Trainer):
        def train_step(self, x, y, w):
            seen.append((x.clone(), all(m.training for m in self.module.modules())))
            return super().train_step(x, y, w)

    class EvalAtEpochEnd(Callback):  # as a validation score does: the next epoch must train again
        def on_epoch_end(self, trainer, loss):
            trainer.module.eval()

    x, y = _data(n=64)
    tr = _trainer(Spy, max_iter=2, shuffle=False)
    tr.module.set_scaling(input_offset=[5.0] * 3, input_scale=[2.0] * 3, output_offset=[0.0], output_scale=[1.0])
    tr.callbacks = lambda *a, **k: Trainer.callbacks(tr, *a, **k) + [EvalAtEpochEnd()]
    tr.run(x, y)
    rows = torch.cat([s[0] for s in seen[:2]])
    assert torch.equal(rows, x)  # raw rows, not standardised ones
    assert [s[1] for s in seen] == [True] * 4
