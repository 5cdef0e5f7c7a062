"""The training loop's policies, as callbacks it calls at named points.

:meth:`Trainer.run <sklearn_slaf.training.Trainer.run>` calls, on every callback in order,

* ``on_run_begin(trainer)`` once, after the solver has packed the parameters;
* ``on_epoch_begin(trainer)`` before each epoch;
* ``on_epoch_end(trainer, loss)`` after it, which may return :data:`RETRY` (the epoch does
  not count: the later callbacks are skipped and it is run again) or :data:`STOP`;
* ``on_interrupt(trainer, in_epoch)`` on ``KeyboardInterrupt``;
* ``on_run_end(trainer)`` when training ends normally or by interrupt, and
* ``on_teardown(trainer)`` always, last, also when an exception propagates; these two
  run in reverse order, so the first callback has the last word.

The default list (:meth:`Trainer.callbacks <sklearn_slaf.training.Trainer.callbacks>`) is
:class:`DivergenceGuard`, :class:`History`, :class:`Validation` (with validation data),
:class:`Convergence` and :class:`ProgressBar` (with ``verbose``).
"""

from __future__ import annotations

import math
import statistics
import warnings

import torch
from torch import nn

__all__ = ["Callback", "Convergence", "DivergenceGuard", "History", "LearningRateSchedule", "ProgressBar", "RETRY",
           "STOP", "Validation"]

RETRY = "retry"
STOP = "stop"

# The losses are on standardised targets (or logits), so a constant predictor scores about 1:
# an epoch loss this many times the lowest one (and above this many) is a divergence that has
# not reached inf yet, and is backed off like one.
EXPLODED = 1e3

# A schedule that takes the learning rate below this share of its initial value has stopped
# training without converging; "adaptive" ends, converged, below ADAPTIVE_FLOOR (MLPRegressor's
# 1e-6 at its default rate of 1e-3), dividing by ADAPTIVE_FACTOR at each plateau.
LR_FLOOR = 1e-6
ADAPTIVE_FLOOR = 1e-3
ADAPTIVE_FACTOR = 5.0


def _recent_median(recent: list[float], value: float, window: int) -> float:
    """Append ``value`` to ``recent`` (kept to ``window`` values) and return their median.

    A median, not a mean: one spiking epoch does not hold the smoothed value up for long.
    """
    recent.append(value)
    del recent[:-window]
    return statistics.median(recent)


class TrainingDivergedError(FloatingPointError):
    """Raised when the loss stays non-finite after the learning-rate back-off.

    A :class:`FloatingPointError`; :class:`DivergenceGuard` raises it after
    ``TrainConfig.max_backoffs`` halvings of the learning rate, with the good weights
    restored, and the estimators' ``fit`` lets it through.

    Examples
    --------
    A target with a NaN (which the estimators' validation would refuse) makes every
    epoch's loss NaN, whatever the learning rate:

    >>> import warnings
    >>> import torch
    >>> from sklearn_slaf import TrainingDivergedError
    >>> from sklearn_slaf.network import SLNN
    >>> from sklearn_slaf.training import SquaredError, TrainConfig, Trainer
    >>> net = SLNN(2, (4,), degree=2, generator=torch.Generator().manual_seed(0))
    >>> X = torch.randn(64, 2, generator=torch.Generator().manual_seed(1))
    >>> Y = X[:, :1].clone()
    >>> Y[0] = float("nan")
    >>> trainer = Trainer(net, SquaredError(net), TrainConfig(max_backoffs=2), torch.Generator())
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", RuntimeWarning)  # one warning per back-off
    ...     try:
    ...         trainer.run(X, Y)
    ...     except TrainingDivergedError as exc:
    ...         print(str(exc).split(" (")[0])
    training diverged: the loss was not finite even after lowering the learning rate 2 times
    >>> issubclass(TrainingDivergedError, FloatingPointError), trainer.all_finite()
    (True, True)
    """


class Callback:
    """Base class: every hook is optional and does nothing here.

    The hooks and their order are described in :mod:`sklearn_slaf.training._callbacks`;
    :meth:`Trainer.callbacks <sklearn_slaf.training.Trainer.callbacks>` is the place to add
    one. ``on_epoch_end`` may return :data:`STOP` to end training (or :data:`RETRY`).

    Examples
    --------
    Stop as soon as the epoch loss falls below a threshold:

    >>> import torch
    >>> from sklearn_slaf.network import SLNN
    >>> from sklearn_slaf.training import STOP, Callback, SquaredError, TrainConfig, Trainer
    >>> class StopBelow(Callback):
    ...     def __init__(self, threshold):
    ...         self.threshold, self.seen = threshold, 0
    ...     def on_epoch_end(self, trainer, loss):
    ...         self.seen += 1
    ...         return STOP if loss < self.threshold else None
    >>> class MyTrainer(Trainer):
    ...     def callbacks(self, *args, **kwargs):
    ...         return super().callbacks(*args, **kwargs) + [stopper]
    >>> stopper = StopBelow(1e9)  # met at once
    >>> net = SLNN(2, (4,), degree=2, generator=torch.Generator().manual_seed(0))
    >>> X = torch.randn(64, 2, generator=torch.Generator().manual_seed(1))
    >>> state = MyTrainer(net, SquaredError(net), TrainConfig(max_iter=50), torch.Generator()).run(X, X[:, :1])
    >>> state.n_iter, stopper.seen
    (1, 1)
    """

    def on_run_begin(self, trainer) -> None:
        pass

    def on_epoch_begin(self, trainer) -> None:
        pass

    def on_epoch_end(self, trainer, loss: float) -> str | None:
        return None

    def on_interrupt(self, trainer, in_epoch: bool) -> None:
        pass

    def on_run_end(self, trainer) -> None:
        pass

    def on_teardown(self, trainer) -> None:
        pass


class _Snapshot:
    """Copies of a module's parameters and buffers, refreshed and restored in place.

    One ``_foreach_copy_`` call per refresh instead of cloning the state dict every epoch
    (about 8 us against 70 us for a two-layer SLNN). The live tensors are those of the
    module when the snapshot is made, so it must not outlive a re-packing of the parameters.
    """

    def __init__(self, module: nn.Module) -> None:
        self.live = [t.detach() for t in module.state_dict().values()]
        self.saved = [t.clone() for t in self.live]

    def take(self) -> None:
        _copy_all(self.saved, self.live)

    def restore(self) -> None:
        _copy_all(self.live, self.saved)


def _copy_all(dst: list[torch.Tensor], src: list[torch.Tensor]) -> None:
    with torch.no_grad():
        torch._foreach_copy_(dst, src)


class DivergenceGuard(Callback):
    """Back off from a diverging epoch: restore good weights, halve the learning rate, retry.

    An epoch diverges when its loss is not finite or is :data:`EXPLODED` times the lowest
    so far (a merely finite loss can already be astronomical on the way to divergence).
    The restore point is the *start* of the epoch with the lowest loss: a loss is measured
    from those weights on, while the end of an epoch is not measured. After
    ``config.max_backoffs`` back-offs :class:`TrainingDivergedError` is raised, the good
    weights restored. An interrupted epoch is rolled back to its start (weights, sample
    count and optimiser state); a run whose last step left non-finite weights ends on the
    good ones.

    Examples
    --------
    Every epoch is NaN here (a NaN target): each back-off halves the rate and warns, and
    after ``max_backoffs`` of them the guard gives up on the weights it started from:

    >>> import warnings
    >>> import torch
    >>> from sklearn_slaf.network import SLNN
    >>> from sklearn_slaf.training import SquaredError, TrainConfig, Trainer, TrainingDivergedError
    >>> net = SLNN(2, (4,), degree=2, generator=torch.Generator().manual_seed(0))
    >>> X = torch.randn(64, 2, generator=torch.Generator().manual_seed(1))
    >>> Y = X[:, :1].clone()
    >>> Y[0] = float("nan")
    >>> start = [p.detach().clone() for p in net.parameters()]
    >>> trainer = Trainer(net, SquaredError(net), TrainConfig(learning_rate=0.1, max_backoffs=2),
    ...                   torch.Generator())
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     try:
    ...         trainer.run(X, Y)
    ...     except TrainingDivergedError:
    ...         pass
    >>> trainer.state.backoffs, len(caught), trainer.solver.lr  # 0.1 halved twice
    (3, 2, 0.025)
    >>> all(torch.equal(p, q) for p, q in zip(net.parameters(), start))
    True
    """

    def on_run_begin(self, trainer) -> None:
        # one snapshot serves as both until a second epoch needs its own (partial_fit: never)
        self.good = self.start = _Snapshot(trainer.module)
        self.good_loss = math.inf

    def on_epoch_begin(self, trainer) -> None:
        if self.start is self.good and self.good_loss < math.inf:
            self.start = _Snapshot(trainer.module)
        self.start.take()
        self.t_start, self.optimizer_start = trainer.state.t, trainer.solver.snapshot()

    def on_epoch_end(self, trainer, loss: float) -> str | None:
        # state.best_loss carries the scale over from earlier calls (partial_fit: one epoch each)
        if not math.isfinite(loss) or loss > EXPLODED * max(1.0, min(self.good_loss, trainer.state.best_loss)):
            self._back_off(trainer)
            return RETRY
        if loss <= self.good_loss:
            self.good, self.start, self.good_loss = self.start, self.good, loss
        return None

    def _back_off(self, trainer) -> None:
        st, solver, limit = trainer.state, trainer.solver, trainer.config.max_backoffs
        st.backoffs += 1
        self.good.restore()  # also when giving up: the module never keeps diverged weights
        st.no_improvement = 0  # the new learning rate gets its own n_iter_no_change epochs
        if st.backoffs > limit:
            raise TrainingDivergedError(
                f"training diverged: the loss was not finite even after lowering the learning rate {limit} times "
                f"(to {solver.lr:.3g}). Standardise the inputs, lower the learning rate (learning_rate_init of the "
                f"estimators) or degree, set clip_grad_norm (e.g. 1.0), or use basis='chebyshev'."
            )
        solver.scale_lr(0.5)
        solver.reset_state()  # moments computed on the diverging path are poisoned
        warnings.warn(f"diverging fit (non-finite loss, or {EXPLODED:g} times the lowest so far): restored the "
                      f"weights of the lowest loss and halved the learning rate to {solver.lr:.3g}.",
                      RuntimeWarning, stacklevel=5)

    def on_interrupt(self, trainer, in_epoch: bool) -> None:
        if in_epoch:  # drop the partial epoch: back to the last completed one, its sample count too
            self.start.restore()
            trainer.state.t = self.t_start
            trainer.solver.restore(self.optimizer_start)  # the moments of the dropped steps go too

    def on_run_end(self, trainer) -> None:
        if not trainer.all_finite():
            # the last epoch's final step went non-finite after its loss was measured; the
            # optimiser's moments went with it
            self.good.restore()
            trainer.solver.reset_state()
            warnings.warn("the last step left non-finite weights or statistics: restored those of the lowest "
                          "loss.", RuntimeWarning, stacklevel=3)


class History(Callback):
    """Record the epoch: ``n_iter``, ``loss_curve``, ``best_loss``; mark it improved by ``tol``.

    An epoch improves when its loss beats the lowest so far by ``tol`` (``MLPRegressor``'s
    rule) *or* the median of the last ``config.smoothing`` epoch losses beats the lowest such
    median by ``tol``: a mini-batch epoch loss can jump by more than it falls from one epoch
    to the next, and the raw rule alone then stops while the loss still falls.

    Examples
    --------
    A callback reads only ``trainer.state`` and ``trainer.config`` here, so a stand-in
    trainer shows the rule: the third epoch improves by less than ``tol``.

    >>> from types import SimpleNamespace
    >>> from sklearn_slaf.training import History, TrainConfig, TrainState
    >>> trainer = SimpleNamespace(state=TrainState(), config=TrainConfig(tol=0.01))
    >>> history = History()
    >>> for loss in [1.0, 0.5, 0.495]:
    ...     history.on_epoch_end(trainer, loss)
    ...     print(trainer.epoch_improved)
    True
    True
    False
    >>> trainer.state.n_iter, trainer.state.best_loss, trainer.state.loss_curve
    (3, 0.495, [1.0, 0.5, 0.495])
    """

    def on_epoch_end(self, trainer, loss: float) -> None:
        st = trainer.state
        st.n_iter += 1
        st.loss_curve.append(loss)
        tol = trainer.config.tol
        median = _recent_median(st.recent_losses, loss, trainer.config.smoothing)
        trainer.epoch_improved = loss < st.best_loss - tol or median < st.best_smoothed_loss - tol
        st.best_smoothed_loss = min(st.best_smoothed_loss, median)
        st.best_loss = min(st.best_loss, loss)


class Validation(Callback):
    """Score held-out data after each epoch; improvement is then judged on that score.

    An epoch improves as :class:`History` judges the loss: its score, or the median of the
    recent scores, beats the best so far by ``tol``. The weights restored are those of the
    best score.

    Parameters
    ----------
    data : (X, Y, W)
    score_fn : callable
        ``score_fn(module)``, higher is better.
    restore_best : bool
        Restore the weights of the best score when training ends (early stopping).

    Examples
    --------
    :meth:`Trainer.run <sklearn_slaf.training.Trainer.run>` adds it when given validation
    data; with ``early_stopping=True`` the module ends on its best-scoring weights:

    >>> import torch
    >>> from sklearn_slaf.network import SLNN
    >>> from sklearn_slaf.training import SquaredError, TrainConfig, Trainer
    >>> gen = torch.Generator().manual_seed
    >>> net = SLNN(2, (4,), degree=2, generator=gen(0))
    >>> X, Xv = torch.randn(64, 2, generator=gen(1)), torch.randn(32, 2, generator=gen(2))
    >>> Y, Yv = X[:, :1] * X[:, 1:], Xv[:, :1] * Xv[:, 1:]
    >>> @torch.no_grad()
    ... def score(module):  # higher is better: minus the validation MSE, in evaluation mode
    ...     module.eval()
    ...     return -float(((module(Xv) - Yv) ** 2).mean())
    >>> trainer = Trainer(net, SquaredError(net), TrainConfig(learning_rate=0.01, max_iter=10), gen(0))
    >>> [type(cb).__name__ for cb in trainer.callbacks(validation=(Xv, Yv, None), score_fn=score)]
    ['DivergenceGuard', 'History', 'Validation', 'Convergence']
    >>> state = trainer.run(X, Y, validation=(Xv, Yv, None), score_fn=score, early_stopping=True)
    >>> len(state.validation_scores), state.best_validation_score == max(state.validation_scores)
    (10, True)
    >>> score(net) == state.best_validation_score
    True
    """

    def __init__(self, data, score_fn, restore_best: bool) -> None:
        self.data, self.score_fn, self.restore_best = data, score_fn, restore_best

    def on_run_begin(self, trainer) -> None:
        self.best = _Snapshot(trainer.module) if self.restore_best else None

    def on_epoch_end(self, trainer, loss: float) -> None:
        st, tol = trainer.state, trainer.config.tol
        # first: score_fn may prepare the module for evaluation (the estimators recalibrate its statistics)
        score = float(self.score_fn(trainer.module))
        st.validation_loss_curve.append(trainer.evaluate(*self.data))
        st.validation_scores.append(score)
        median = _recent_median(st.recent_scores, score, trainer.config.smoothing)
        trainer.epoch_improved = score > st.best_validation_score + tol or median > st.best_smoothed_score + tol
        st.best_smoothed_score = max(st.best_smoothed_score, median)
        if score > st.best_validation_score:
            st.best_validation_score = score
            if self.best is not None:
                self.best.take()

    def on_run_end(self, trainer) -> None:
        if self.best is not None:
            self.best.restore()


class Convergence(Callback):
    """Stop after more than ``n_iter_no_change`` epochs in a row without improvement.

    With the ``"adaptive"`` schedule a plateau divides the learning rate by
    :data:`ADAPTIVE_FACTOR` instead, and training stops, converged, once the rate would
    fall below :data:`ADAPTIVE_FLOOR` times its initial value (``MLPRegressor``'s rule).

    Examples
    --------
    With ``n_iter_no_change=2`` the third epoch in a row without improvement stops:

    >>> from types import SimpleNamespace
    >>> from sklearn_slaf.training import Convergence, TrainConfig, TrainState
    >>> trainer = SimpleNamespace(state=TrainState(), config=TrainConfig(n_iter_no_change=2),
    ...                           epoch_improved=False)
    >>> convergence = Convergence()
    >>> [convergence.on_epoch_end(trainer, 1.0) for _ in range(3)], trainer.state.converged
    ([None, None, 'stop'], True)
    """

    def on_epoch_end(self, trainer, loss: float) -> str | None:
        st = trainer.state
        st.no_improvement = 0 if trainer.epoch_improved else st.no_improvement + 1
        if st.no_improvement > trainer.config.n_iter_no_change:
            if trainer.config.schedule == "adaptive" and st.lr_scale > ADAPTIVE_FLOOR:
                trainer.set_lr_scale(st.lr_scale / ADAPTIVE_FACTOR)
                st.no_improvement = 0
                return None
            st.converged = True
            return STOP
        return None


class LearningRateSchedule(Callback):
    """Set the learning rate of every epoch from the schedule's rule.

    * ``"invscaling"``: ``lr = learning_rate / (t + 1) ** power_t`` with ``t`` the training
      samples seen (``MLPRegressor``'s rule);
    * ``"cosine"``: ``lr = learning_rate * (1 + cos(pi e / E)) / 2`` for the ``e``-th epoch of
      the optimiser's ``E = max_iter`` (one ``fit``; ``partial_fit`` calls count as epochs).

    A rate that falls below :data:`LR_FLOOR` times the initial one before the run's last
    epoch stops training and marks it ``lr_exhausted`` (the estimators then warn that it did
    not converge); a run that starts spent trains at the floor and is marked too.

    Parameters
    ----------
    kind : {"invscaling", "cosine"}
        The rule.
    power_t : float
        Exponent of ``"invscaling"``.
    period : int
        ``E``, the cosine's length in epochs.
    run_epochs : int
        Epochs of this run (no rate is set after its last one).

    Examples
    --------
    The factor on the initial rate after 99 samples (invscaling), and at epochs 0, 5 and
    10 of a 10-epoch cosine:

    >>> from types import SimpleNamespace
    >>> from sklearn_slaf.training import LearningRateSchedule, TrainState
    >>> inv = LearningRateSchedule("invscaling", power_t=0.5, period=10, run_epochs=10)
    >>> inv.factor(SimpleNamespace(state=TrainState(t=99)))
    0.1
    >>> cos = LearningRateSchedule("cosine", power_t=0.5, period=10, run_epochs=10)
    >>> [round(cos.factor(SimpleNamespace(state=TrainState(n_iter=e))), 3) for e in (0, 5, 10)]
    [1.0, 0.5, 0.0]
    """

    def __init__(self, kind: str, power_t: float, period: int, run_epochs: int) -> None:
        self.kind, self.power_t, self.period, self.run_epochs = kind, power_t, period, run_epochs

    def factor(self, trainer) -> float:
        st = trainer.state
        if self.kind == "invscaling":
            return (st.t + 1.0) ** -self.power_t
        e = min(st.n_iter - st.schedule_start, self.period)
        return 0.5 * (1.0 + math.cos(math.pi * e / self.period))

    def on_run_begin(self, trainer) -> None:
        self.done = 0
        if self._apply(trainer):  # already spent (partial_fit past the cosine's end): train at the floor
            trainer.set_lr_scale(LR_FLOOR)

    def on_epoch_end(self, trainer, loss: float) -> str | None:
        self.done += 1
        if self.done >= self.run_epochs:  # the run ends here: no next epoch to set a rate for
            return None
        return STOP if self._apply(trainer) else None

    def _apply(self, trainer) -> bool:
        """Set the next epoch's rate; True when it is exhausted."""
        f = self.factor(trainer)
        if f < LR_FLOOR:
            trainer.state.lr_exhausted = True
            return True
        trainer.set_lr_scale(f)
        return False


class ProgressBar(Callback):
    """A tqdm bar over the epochs, with the loss (and validation score).

    The trainer adds it when ``TrainConfig.verbose`` is set (the estimators' ``verbose=1``);
    the bar is drawn on stderr and closed at teardown.

    Parameters
    ----------
    total : int
        Epochs the bar counts to.
    show_validation : bool, default=False
        Show the last validation score beside the loss.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from sklearn_slaf.training import ProgressBar, TrainState
    >>> bar = ProgressBar(total=3)
    >>> trainer = SimpleNamespace(state=TrainState())
    >>> bar.on_run_begin(trainer)
    >>> for loss in (0.9, 0.5, 0.4):
    ...     bar.on_epoch_end(trainer, loss)
    >>> bar.bar.n, bar.bar.postfix
    (3, 'loss=0.4')
    >>> bar.on_teardown(trainer)
    >>> bar.bar is None
    True
    """

    def __init__(self, total: int, show_validation: bool = False) -> None:
        self.total, self.show_validation, self.bar = total, show_validation, None

    def on_run_begin(self, trainer) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=self.total, desc="fit", unit="epoch", leave=False)

    def on_epoch_end(self, trainer, loss: float) -> None:
        val = {"val": f"{trainer.state.validation_scores[-1]:.4g}"} if self.show_validation else {}
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{loss:.4g}", **val)

    def on_teardown(self, trainer) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
