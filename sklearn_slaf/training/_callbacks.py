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
import warnings

import torch
from torch import nn

__all__ = ["Callback", "Convergence", "DivergenceGuard", "History", "ProgressBar", "RETRY", "STOP", "Validation"]

RETRY = "retry"
STOP = "stop"

# The losses are on standardised targets (or logits), so a constant predictor scores about 1:
# an epoch loss this many times the lowest one (and above this many) is a divergence that has
# not reached inf yet, and is backed off like one.
EXPLODED = 1e3


class TrainingDivergedError(FloatingPointError):
    """Raised when the loss stays non-finite after the learning-rate back-off."""


class Callback:
    """Base class: every hook is optional and does nothing here."""

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
    """Record the epoch: ``n_iter``, ``loss_curve``, ``best_loss``; mark it improved by ``tol``."""

    def on_epoch_end(self, trainer, loss: float) -> None:
        st = trainer.state
        st.n_iter += 1
        st.loss_curve.append(loss)
        trainer.epoch_improved = loss < st.best_loss - trainer.config.tol
        st.best_loss = min(st.best_loss, loss)


class Validation(Callback):
    """Score held-out data after each epoch; improvement is then judged on that score.

    Parameters
    ----------
    data : (X, Y, W)
    score_fn : callable
        ``score_fn(module)``, higher is better.
    restore_best : bool
        Restore the weights of the best score when training ends (early stopping).
    """

    def __init__(self, data, score_fn, restore_best: bool) -> None:
        self.data, self.score_fn, self.restore_best = data, score_fn, restore_best

    def on_run_begin(self, trainer) -> None:
        self.best = _Snapshot(trainer.module) if self.restore_best else None

    def on_epoch_end(self, trainer, loss: float) -> None:
        st, tol = trainer.state, trainer.config.tol
        st.validation_loss_curve.append(trainer.evaluate(*self.data))
        score = float(self.score_fn(trainer.module))
        st.validation_scores.append(score)
        trainer.epoch_improved = score > st.best_validation_score + tol
        if score > st.best_validation_score:
            st.best_validation_score = score
            if self.best is not None:
                self.best.take()

    def on_run_end(self, trainer) -> None:
        if self.best is not None:
            self.best.restore()


class Convergence(Callback):
    """Stop after more than ``n_iter_no_change`` epochs in a row without improvement."""

    def on_epoch_end(self, trainer, loss: float) -> str | None:
        st = trainer.state
        st.no_improvement = 0 if trainer.epoch_improved else st.no_improvement + 1
        if st.no_improvement > trainer.config.n_iter_no_change:
            st.converged = True
            return STOP
        return None


class ProgressBar(Callback):
    """A tqdm bar over the epochs, with the loss (and validation score)."""

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
