"""The training loop: in-memory mini-batches, solvers, penalties, and callbacks for its policies.

The trainer knows torch, not scikit-learn: it gets tensors already on the device, a loss
and a :class:`TrainConfig`, and updates the module in place. It is a chain of small
documented steps, each overridable (skorch's design, without its per-batch cost):

``run`` -> ``train_epoch`` -> ``train_step`` -> ``batch_loss`` + ``penalty``

with the optimiser made by ``make_optimizer`` and driven by the solver of its family
(:mod:`sklearn_slaf.training._solvers`: flat-buffer AdamW/SGDW with the autograd-free
:class:`~sklearn_slaf.training.Engine`, L-BFGS, or any ``torch.optim.Optimizer``), and the
policies (divergence back-off, history, validation and early stopping, convergence,
progress) as callbacks from ``callbacks`` (:mod:`sklearn_slaf.training._callbacks`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from .._batch_weights import batch_weights
from ..activation import SLAF
from ._callbacks import (
    RETRY,
    STOP,
    Callback,
    Convergence,
    DivergenceGuard,
    History,
    LearningRateSchedule,
    ProgressBar,
    TrainingDivergedError,
    Validation,
)
from ._engine import Engine
from ._losses import weighted_mean
from ._optim import FlatAdamW, FlatSGDW
from ._solvers import Solver, solver_for

__all__ = ["COEF_PENALTIES", "SCHEDULES", "SOLVERS", "TrainConfig", "TrainState", "Trainer", "TrainingDivergedError"]

SOLVERS: tuple[str, ...] = ("adam", "sgd", "lbfgs")
COEF_PENALTIES: tuple[str, ...] = ("l1", "l2")
SCHEDULES: tuple[str, ...] = ("constant", "invscaling", "adaptive", "cosine")
_OPTIMIZER_OF = {"adam": FlatAdamW, "sgd": FlatSGDW, "lbfgs": torch.optim.LBFGS}


@dataclass
class TrainConfig:
    """Optimisation settings, as validated by the estimators.

    ``schedule`` is the learning-rate schedule (:class:`~sklearn_slaf.training.LearningRateSchedule`
    and :class:`~sklearn_slaf.training.Convergence` say what each does); ``smoothing`` is the
    number of recent epochs whose median loss (or validation score) convergence is judged on
    (1: the raw epoch loss, as ``MLPRegressor`` judges it).

    Examples
    --------
    >>> from dataclasses import replace
    >>> from sklearn_slaf.training import TrainConfig
    >>> config = TrainConfig(learning_rate=1e-2, batch_size=64, max_iter=50)
    >>> config.solver, config.learning_rate, config.schedule, config.max_backoffs
    ('adam', 0.01, 'constant', 6)
    >>> replace(config, solver="lbfgs").solver  # a dataclass: copy with changes
    'lbfgs'
    """

    solver: str = "adam"
    learning_rate: float = 1e-3
    schedule: str = "constant"
    power_t: float = 0.5
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-8
    momentum: float = 0.9
    nesterov: bool = True
    smoothing: int = 1
    coef_learning_rate: float | None = None
    alpha: float = 1e-4
    coef_alpha: float = 0.0
    coef_penalty: str = "l1"
    clip_grad_norm: float | None = None
    batch_size: int = 200
    max_iter: int = 200
    tol: float = 1e-4
    n_iter_no_change: int = 10
    shuffle: bool = True
    verbose: int = 0
    max_backoffs: int = 6


@dataclass
class TrainState:
    """What survives between ``fit`` calls (warm start, ``partial_fit``).

    :meth:`Trainer.run` returns it; passing it to the next :class:`Trainer` continues the
    training (optimiser moments, curves, sample count and the stopping rule's memory).

    Examples
    --------
    >>> import torch
    >>> from sklearn_slaf.network import SLNN
    >>> from sklearn_slaf.training import SquaredError, TrainConfig, Trainer, TrainState
    >>> TrainState().n_iter, TrainState().best_loss
    (0, inf)
    >>> net = SLNN(2, (4,), degree=2, generator=torch.Generator().manual_seed(0))
    >>> X = torch.randn(64, 2, generator=torch.Generator().manual_seed(1))
    >>> config = TrainConfig(max_iter=2, batch_size=32)
    >>> state = Trainer(net, SquaredError(net), config, torch.Generator()).run(X, X[:, :1])
    >>> state = Trainer(net, SquaredError(net), config, torch.Generator(), state=state).run(X, X[:, :1])
    >>> state.n_iter, state.t, len(state.loss_curve), state.best_loss == min(state.loss_curve)
    (4, 256, 4, True)
    """

    optimizer: object | None = None  # FlatAdamW, FlatSGDW or a torch.optim.Optimizer
    loss_curve: list[float] = field(default_factory=list)
    validation_loss_curve: list[float] = field(default_factory=list)
    validation_scores: list[float] = field(default_factory=list)
    best_loss: float = math.inf
    best_validation_score: float = -math.inf
    no_improvement: int = 0
    n_iter: int = 0
    t: int = 0
    backoffs: int = 0
    interrupted: bool = False
    converged: bool = False
    recent_losses: list[float] = field(default_factory=list)  # the stopping rule's median window
    best_smoothed_loss: float = math.inf
    recent_scores: list[float] = field(default_factory=list)
    best_smoothed_score: float = -math.inf
    lr_scale: float = 1.0  # the schedule's factor now applied to the optimiser's rates
    schedule_start: int = 0  # n_iter when the optimiser was made
    lr_exhausted: bool = False  # the schedule drove the rate below LR_FLOOR before convergence


def _param_groups(module: nn.Module) -> tuple[list, list, list]:
    """Split trainable parameters: decayed weights, undecayed biases/norms, activation coefficients.

    Frozen parameters (``requires_grad=False``) are left out, so neither a step nor the
    weight decay touches them.
    """
    act = {id(p) for m in module.modules() if isinstance(m, SLAF) for p in m.parameters()}
    decay, plain, coefs = [], [], []
    for m in module.modules():
        for name, p in m.named_parameters(recurse=False):
            if not p.requires_grad:
                continue
            if id(p) in act:
                coefs.append(p)
            elif isinstance(m, nn.Linear) and name == "weight":
                decay.append(p)
            else:
                plain.append(p)
    return decay, plain, coefs


class Trainer:
    """Train an :class:`~sklearn_slaf.network.SLNN` (or any module) on in-memory tensors.

    Override points (each documented below and tested by overriding it):
    :meth:`make_optimizer`, :meth:`callbacks`, :meth:`train_epoch`, :meth:`train_step`,
    :meth:`batch_loss`, :meth:`penalty` and :meth:`evaluate`. Overriding ``batch_loss``
    sends training through autograd (the engine computes the default loss itself).

    Parameters
    ----------
    module : torch.nn.Module
    loss_fn : callable
        ``loss_fn(output, target)`` returning per-sample losses of shape ``(n,)``. A loss
        of :mod:`sklearn_slaf.training._losses` also gives its gradient in closed form, which lets an
        :class:`~sklearn_slaf.network.SLNN` train through the autograd-free engine; any
        other callable trains through autograd.
    config : TrainConfig
    generator : torch.Generator
        CPU generator for shuffling.
    state : TrainState, optional
        Continue from an earlier call.

    Examples
    --------
    >>> import torch
    >>> from sklearn_slaf.training._losses import SquaredError
    >>> from sklearn_slaf.network import SLNN
    >>> from sklearn_slaf.training import TrainConfig, Trainer
    >>> net = SLNN(3, (16,), degree=3, generator=torch.Generator().manual_seed(0))
    >>> X = torch.randn(256, 3, generator=torch.Generator().manual_seed(1))
    >>> Y = X[:, :1] * X[:, 1:2] - X[:, 2:]
    >>> config = TrainConfig(learning_rate=1e-2, batch_size=64, max_iter=50)
    >>> state = Trainer(net, SquaredError(net), config, torch.Generator().manual_seed(0)).run(X, Y)
    >>> bool(state.loss_curve[-1] < 0.1 * state.loss_curve[0])
    True
    """

    def __init__(self, module, loss_fn: Callable, config: TrainConfig, generator: torch.Generator,
                 state: TrainState | None = None, comm=None) -> None:
        if comm is not None and (config.solver == "lbfgs" or type(self).make_optimizer is not Trainer.make_optimizer):
            raise ValueError("distributed training runs the flat-buffer optimisers ('adam', 'sgd') only.")
        self.comm = comm  # a training.Communicator for data-parallel training, or None
        self.module = module
        self.loss_fn = loss_fn
        self.config = config
        self.generator = generator
        self.state = state if state is not None else TrainState()
        # what the per-step penalty reads, found once rather than by walking the module every step
        self._slafs = [m for m in module.modules() if isinstance(m, SLAF)]
        self._submodules = list(module.modules())
        self.param_groups = _param_groups(module)
        self.epoch_improved = False
        self.solver: Solver | None = self._reused_solver(self.state.optimizer)
        if self.solver is None:
            # new, or the set of trainable parameters changed (e.g. a layer frozen between partial_fit calls)
            self.state.optimizer = self.make_optimizer()
            self.solver = solver_for(self.state.optimizer, self)
            self.state.lr_scale, self.state.schedule_start = 1.0, self.state.n_iter

    # ------------------------------------------------------------------ what subclasses may override
    def make_optimizer(self):
        """The optimiser of ``config.solver``: FlatAdamW, FlatSGDW or torch's L-BFGS.

        An override may return any ``torch.optim.Optimizer`` over the module's trainable
        parameters; it then trains through autograd on mini-batches, and the
        divergence guard scales its ``lr`` and clears its state.
        """
        c, params = self.config, [p for g in self.param_groups for p in g]
        if c.solver == "lbfgs":
            # the strong-Wolfe line search picks the step; lr only scales its first trial
            return torch.optim.LBFGS(params, lr=1.0, max_iter=1, history_size=20, line_search_fn="strong_wolfe")
        coef_lr = c.learning_rate if c.coef_learning_rate is None else c.coef_learning_rate
        lrs, decays = (c.learning_rate, c.learning_rate, coef_lr), (c.alpha, 0.0, 0.0)
        n = sum(p.numel() for p in params)
        if c.solver == "adam":
            return FlatAdamW(n, lrs, decays, betas=(c.beta_1, c.beta_2), eps=c.epsilon)
        # decoupled decay for SGD too: SGDW-style, so alpha means the same for every solver
        return FlatSGDW(n, lrs, decays, momentum=c.momentum, nesterov=c.nesterov)

    def callbacks(self, validation=None, score_fn=None, early_stopping: bool = False,
                  epochs: int | None = None) -> list[Callback]:
        """The policies of one :meth:`run`, in the order they are called (see :mod:`._callbacks`)."""
        out: list[Callback] = [DivergenceGuard(), History()]
        if validation is not None:
            out.append(Validation(validation, score_fn, restore_best=early_stopping))
        out.append(Convergence())
        if self.config.schedule in ("invscaling", "cosine") and self.config.solver != "lbfgs":
            out.append(LearningRateSchedule(self.config.schedule, self.config.power_t, self.config.max_iter,
                                            self.config.max_iter if epochs is None else epochs))
        if self.config.verbose:
            out.append(ProgressBar(self.config.max_iter if epochs is None else epochs, validation is not None))
        return out

    def train_epoch(self, X: torch.Tensor, Y: torch.Tensor, W: torch.Tensor | None) -> float:
        """One pass over the data; returns the weighted mean training loss (NaN if it diverged)."""
        # train() walks every submodule (and SLAF drops its folded eval cache): only when some is not training
        if not all(m.training for m in self._submodules):
            self.module.train()
        return self.solver.epoch(self, X, Y, W)

    def train_step(self, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None) -> torch.Tensor:
        """One optimiser step on a batch; returns the detached batch loss (no host synchronisation).

        Weights ``w`` weight the loss and, as repetitions of rows would, the batch statistics
        of the normalising layers (:func:`sklearn_slaf._batch_weights.batch_weights`).
        """
        if w is None:
            return self.solver.step(self, x, y, w)
        with batch_weights(self.module, w):
            return self.solver.step(self, x, y, w)

    def batch_loss(self, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None) -> torch.Tensor:
        """The (weighted) mean loss of the module on a batch, under autograd."""
        return weighted_mean(self.loss_fn(self.module(x), y), w)

    def penalty(self) -> torch.Tensor | float:
        """Penalty on the effective activation coefficients (``coef_alpha``), and L2 on the weights
        (``alpha``) for solvers that do not decay weights themselves (L-BFGS)."""
        c = self.config
        total: torch.Tensor | float = 0.0
        if c.coef_alpha > 0:
            for m in self._slafs:
                e = m.effective_coefficients()
                total = total + c.coef_alpha * (e.abs().sum() if c.coef_penalty == "l1" else e.square().sum())
        if not self.solver.decouples_weight_decay and c.alpha > 0:
            total = total + 0.5 * c.alpha * sum(p.square().sum() for p in self.param_groups[0])
        return total

    @torch.no_grad()
    def evaluate(self, X: torch.Tensor, Y: torch.Tensor, W: torch.Tensor | None) -> float:
        """The mean loss in evaluation mode (on validation data)."""
        self.module.eval()
        return float(self.batch_loss(X, Y, W))

    # ------------------------------------------------------------------ pieces the steps use
    def set_lr_scale(self, factor: float) -> None:
        """Make the schedule's factor on every learning rate ``factor`` (back-offs stay applied)."""
        self.solver.scale_lr(factor / self.state.lr_scale)
        self.state.lr_scale = factor

    @property
    def uses_engine(self) -> bool:
        """Whether gradients come from the autograd-free :class:`~sklearn_slaf.training.Engine`."""
        return getattr(self.solver, "engine", None) is not None

    def engine_applies(self) -> bool:
        """Whether the engine can compute this trainer's loss: an SLNN, a closed-form loss, ``batch_loss`` kept."""
        return type(self).batch_loss is Trainer.batch_loss and Engine.supports(self.module, self.loss_fn)

    def _reused_solver(self, opt) -> Solver | None:
        """The solver of the optimiser kept from an earlier call, if it still fits this run."""
        overridden = type(self).make_optimizer is not Trainer.make_optimizer
        if opt is None or not (overridden or isinstance(opt, _OPTIMIZER_OF[self.config.solver])):
            return None
        solver = solver_for(opt, self)
        return solver if solver.fits([p for g in self.param_groups for p in g]) else None

    def batches(self, n: int, device: torch.device) -> list[torch.Tensor]:
        """Index tensors of one epoch's mini-batches (shuffled if ``config.shuffle``).

        The epoch is cut into ``ceil(n / batch_size)`` batches whose sizes differ by at most
        one (404 rows at 200 are 135 + 135 + 134, not 200 + 200 + 4): a layer normalised
        with batch statistics then never steps on the statistics of a handful of rows.
        """
        c = self.config
        order = torch.randperm(n, generator=self.generator) if c.shuffle else torch.arange(n)
        size = max(1, min(c.batch_size, n))
        return [ch.to(device) for ch in order.tensor_split(-(-n // size))]

    def all_finite(self) -> bool:
        """Whether every parameter and floating buffer is finite (one host synchronisation)."""
        tensors = [t for t in self.module.buffers() if t.is_floating_point()] + self.solver.live_tensors(self)
        return bool(torch.isfinite(torch.cat([t.detach().reshape(-1) for t in tensors])).all())

    # ------------------------------------------------------------------ the loop
    def run(self, X, Y, W=None, validation=None, score_fn=None, epochs: int | None = None,
            early_stopping: bool = False) -> TrainState:
        """Train for up to ``epochs`` (default ``config.max_iter``) passes.

        ``validation`` is ``(X_val, Y_val, W_val)``; with ``early_stopping`` the weights with
        the best ``score_fn(module)`` are restored at the end. ``KeyboardInterrupt`` stops
        training, keeps the best weights so far and leaves the module usable.
        """
        epochs = self.config.max_iter if epochs is None else epochs
        callbacks = self.callbacks(validation, score_fn, early_stopping, epochs)
        self.solver.begin(self)
        try:
            for cb in callbacks:
                cb.on_run_begin(self)
            self._epochs(X, Y, W, callbacks, epochs)
            for cb in reversed(callbacks):
                cb.on_run_end(self)
        finally:
            for cb in reversed(callbacks):
                cb.on_teardown(self)
            self.solver.end(self)
        self.module.eval()
        return self.state

    def _epochs(self, X, Y, W, callbacks: list[Callback], epochs: int) -> None:
        in_epoch, done = False, 0
        try:
            while done < epochs:
                for cb in callbacks:
                    cb.on_epoch_begin(self)
                in_epoch = True
                loss = self.train_epoch(X, Y, W)
                in_epoch = False
                verdicts = []
                for cb in callbacks:
                    verdicts.append(cb.on_epoch_end(self, loss))
                    if verdicts[-1] == RETRY:  # the epoch does not count
                        break
                if RETRY in verdicts:
                    continue
                done += 1
                if STOP in verdicts:
                    break
        except KeyboardInterrupt:
            self.state.interrupted = True
            for cb in callbacks:
                cb.on_interrupt(self, in_epoch)
            warnings.warn("training interrupted: kept the best weights so far.", RuntimeWarning, stacklevel=4)
