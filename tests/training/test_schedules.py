"""Learning-rate schedules: each sets the rate its documented rule gives, epoch by epoch."""

from __future__ import annotations

import math

import pytest
import torch

from sklearn_slaf.network import SLNN
from sklearn_slaf.training import ADAPTIVE_FLOOR, LR_FLOOR, Callback, SquaredError, TrainConfig, Trainer


def _data(n=100, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g, dtype=torch.float64)
    return x, x[:, :1] * x[:, 1:2] - 0.5 * x[:, 2:]


def _run(**config):
    """Train a small SLNN and record the learning rate each epoch trained with."""
    rates = []

    class Recorder(Callback):
        def on_epoch_begin(self, trainer):
            rates.append(trainer.solver.lr)

    class Recording(Trainer):
        def callbacks(self, *args, **kwargs):
            return [*super().callbacks(*args, **kwargs), Recorder()]

    net = SLNN(3, (8,), degree=3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    cfg = TrainConfig(**{"batch_size": 25, "max_iter": 20, "learning_rate": 1e-2, **config})
    trainer = Recording(net, SquaredError(net), cfg, torch.Generator().manual_seed(0))
    state = trainer.run(*_data())
    return rates, state, trainer


def test_constant_keeps_the_rate():
    rates, state, _ = _run(schedule="constant")
    assert rates == [1e-2] * 20 and state.lr_scale == 1.0


def test_invscaling_is_mlps_rule_on_samples_seen():
    rates, state, _ = _run(schedule="invscaling", power_t=0.25)
    # epoch e starts after 100 e samples: lr = 1e-2 / (100 e + 1) ** 0.25
    assert rates == pytest.approx([1e-2 / (100 * e + 1) ** 0.25 for e in range(20)], rel=1e-12)
    assert state.t == 2000


def test_cosine_anneals_over_max_iter():
    rates, state, trainer = _run(schedule="cosine", max_iter=10)
    assert rates == pytest.approx([1e-2 * (1 + math.cos(math.pi * e / 10)) / 2 for e in range(10)], rel=1e-12)
    assert not state.lr_exhausted  # reaching the end of the anneal is the plan, not a spent rate


def test_schedules_compose_with_the_divergence_back_off():
    # a back-off halves whatever the schedule set; the schedule's next factor is applied on top
    _, _, trainer = _run(schedule="invscaling", power_t=0.5, max_iter=3)
    before = trainer.solver.lr
    trainer.solver.scale_lr(0.5)  # what DivergenceGuard does
    trainer.set_lr_scale(trainer.state.lr_scale / 4)
    assert trainer.solver.lr == pytest.approx(before / 8, rel=1e-12)


def test_adaptive_divides_by_five_on_each_plateau_and_stops_converged():
    # tol so large that no epoch ever improves: every n_iter_no_change + 1 epochs is a plateau
    patience = 2
    rates, state, _ = _run(schedule="adaptive", tol=1e3, n_iter_no_change=patience, max_iter=1000)
    scales = [1.0]
    while scales[-1] > ADAPTIVE_FLOOR:
        scales.append(scales[-1] / 5)
    # the first epoch always improves (on an infinite best), then a plateau is patience + 1 epochs
    expected = [1e-2] + [1e-2 * s for s in scales for _ in range(patience + 1)]
    assert rates == pytest.approx(expected, rel=1e-12)
    assert state.converged and not state.lr_exhausted and state.n_iter == len(expected)


def test_a_rate_driven_below_the_floor_stops_and_is_marked_exhausted():
    rates, state, _ = _run(schedule="invscaling", power_t=3.0, max_iter=50)
    # after e epochs the factor is (100 e + 1) ** -3: below LR_FLOOR from e = 1 on
    assert rates == [1e-2] and state.lr_exhausted and not state.converged
    assert (100 + 1.0) ** -3.0 < LR_FLOOR


def test_partial_calls_continue_the_schedule():
    # one epoch per run (partial_fit): each run trains at the rate of the samples seen before it
    net = SLNN(3, (8,), degree=3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    cfg = TrainConfig(batch_size=25, learning_rate=1e-2, schedule="invscaling", power_t=0.5)
    state, rates = None, []
    x, y = _data()
    for _ in range(4):
        trainer = Trainer(net, SquaredError(net), cfg, torch.Generator().manual_seed(0), state)
        state = trainer.run(x, y, epochs=1)
        rates.append(trainer.solver.lr)
    assert rates == pytest.approx([1e-2 / (100 * e + 1) ** 0.5 for e in range(4)], rel=1e-12)


def test_partial_calls_past_the_cosines_end_are_marked_spent():
    net = SLNN(3, (8,), degree=3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    cfg = TrainConfig(batch_size=25, learning_rate=1e-2, schedule="cosine", max_iter=3)
    state, spent = None, []
    for _ in range(5):
        trainer = Trainer(net, SquaredError(net), cfg, torch.Generator().manual_seed(0), state)
        state = trainer.run(*_data(), epochs=1)
        spent.append(state.lr_exhausted)
    assert spent == [False, False, False, True, True] and trainer.solver.lr == pytest.approx(1e-2 * LR_FLOOR)


@pytest.mark.parametrize("kw, expected", [({"beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-6},
                                           {"betas": (0.5, 0.9), "eps": 1e-6})])
def test_adam_knobs_reach_the_optimiser(kw, expected):
    _, _, trainer = _run(max_iter=1, **kw)
    opt = trainer.state.optimizer
    assert {"betas": opt.betas, "eps": opt.eps} == expected


def test_sgd_knobs_reach_the_optimiser():
    _, _, trainer = _run(max_iter=1, solver="sgd", momentum=0.5, nesterov=False)
    opt = trainer.state.optimizer
    assert (opt.momentum, opt.nesterov) == (0.5, False)
