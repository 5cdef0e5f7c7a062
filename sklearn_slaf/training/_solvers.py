"""Solvers: one object per optimiser family, behind one interface the training loop calls.

A solver owns how gradients are made and applied for one optimiser:

* :class:`FirstOrderSolver` -- :class:`~sklearn_slaf.training.FlatAdamW` or
  :class:`~sklearn_slaf.training.FlatSGDW` on one flat parameter buffer; gradients from the
  autograd-free :class:`~sklearn_slaf.training.Engine` where it applies, else from autograd;
* :class:`LBFGSSolver` -- ``torch.optim.LBFGS`` with a strong-Wolfe line search, one
  full-batch step per epoch through autograd;
* :class:`TorchSolver` -- any other ``torch.optim.Optimizer`` (for example one a
  :meth:`Trainer.make_optimizer <sklearn_slaf.training.Trainer.make_optimizer>` override
  returns), on mini-batches through autograd.

:func:`solver_for` picks the solver of an optimiser, in this one place. Every solver
offers ``lr``, ``scale_lr`` and ``reset_state`` to the divergence guard.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor

from ._engine import Engine
from ._optim import FlatAdamW, FlatParameters, FlatSGDW

__all__ = ["FirstOrderSolver", "LBFGSSolver", "Solver", "TorchSolver", "solver_for"]


class Solver:
    """What the training loop asks of an optimiser family (base class).

    Parameters
    ----------
    optimizer : object
        The optimiser this solver drives; it is what :class:`~sklearn_slaf.training.TrainState`
        keeps between calls.

    Attributes
    ----------
    decouples_weight_decay : bool
        Whether the optimiser applies ``alpha`` itself; if not, the trainer's penalty adds
        an L2 term on the weights.

    See Also
    --------
    solver_for : the solver of an optimiser.

    Examples
    --------
    Every solver offers the divergence guard the same learning-rate handle:

    >>> import torch
    >>> from sklearn_slaf.training import Solver
    >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(3))], lr=0.1)
    >>> solver = Solver(opt)
    >>> solver.scale_lr(0.5)
    >>> solver.lr, solver.decouples_weight_decay
    (0.05, True)
    >>> solver.fits(opt.param_groups[0]["params"])
    True
    """

    decouples_weight_decay = True

    def __init__(self, optimizer) -> None:
        self.optimizer = optimizer

    # ---------------------------------------------------------------- learning rate, for the guard
    @property
    def lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"]

    def scale_lr(self, factor: float) -> None:
        for g in self.optimizer.param_groups:
            g["lr"] *= factor

    def reset_state(self) -> None:
        """Forget moments and histories (they are poisoned after a divergence)."""
        self.optimizer.state.clear()

    def snapshot(self):
        """A copy of the optimiser's state (moments, step counts), for :meth:`restore`."""
        return copy.deepcopy(self.optimizer.state_dict())

    def restore(self, snapshot) -> None:
        self.optimizer.load_state_dict(snapshot)

    # ---------------------------------------------------------------- the loop's calls
    def fits(self, params: list[torch.nn.Parameter]) -> bool:
        """Whether this optimiser was built for exactly these trainable parameters."""
        return [p for g in self.optimizer.param_groups for p in g["params"]] == params

    def begin(self, trainer) -> None:
        """Called once before a run's first epoch (before any snapshot is taken)."""

    def end(self, trainer) -> None:
        """Called once when a run ends, however it ends."""

    def live_tensors(self, trainer) -> list[Tensor]:
        """The tensors holding the parameters while the run is on (for the finiteness check)."""
        return list(trainer.module.parameters())

    def epoch(self, trainer, X: Tensor, Y: Tensor, W: Tensor | None) -> float:
        """One pass over shuffled mini-batches; the weighted mean of the batch losses."""
        total, weight = [], 0.0
        comm = getattr(trainer, "comm", None)
        for idx in trainer.batches(X.shape[0], X.device):
            w = None if W is None else W.index_select(0, idx)
            bw = idx.numel() if w is None else w.sum()
            mine = idx if comm is None else comm.shard(idx)  # data-parallel: this process's rows of the batch
            wm = None if W is None else (w if comm is None else W.index_select(0, mine))
            total.append(trainer.train_step(X.index_select(0, mine), Y.index_select(0, mine), wm) * bw)
            weight = weight + bw
            trainer.state.t += idx.numel()
        return float(torch.stack(total).sum() / weight)

    def step(self, trainer, x: Tensor, y: Tensor, w: Tensor | None) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


def _clip_(grad: Tensor, max_norm: float | None) -> None:
    if max_norm is not None:
        # torch.nn.utils.clip_grad_norm_'s rule, on one flat gradient
        grad.mul_(torch.clamp(max_norm / (torch.linalg.vector_norm(grad) + 1e-6), max=1.0))


# the largest copy of the training inputs the first-order solvers make to standardise them once per run
STANDARDIZED_COPY_BYTES = 256 * 2**20


class FirstOrderSolver(Solver):
    """Flat-buffer AdamW or SGDW; engine gradients where the engine applies.

    Attributes
    ----------
    flat : FlatParameters or None
        The packed parameters during a run (``None`` outside one).
    engine : Engine or None
        The autograd-free engine, if it trains this module with this loss.

    Examples
    --------
    The default solver of ``"adam"`` and ``"sgd"``: the parameters are packed into one
    buffer for a run and unpacked after it, and an SLNN with a closed-form loss trains
    through the engine:

    >>> import torch
    >>> from sklearn_slaf.network import SLNN
    >>> from sklearn_slaf.training import SquaredError, TrainConfig, Trainer
    >>> net = SLNN(2, (4,), degree=2, generator=torch.Generator().manual_seed(0))
    >>> trainer = Trainer(net, SquaredError(net), TrainConfig(learning_rate=0.01, max_iter=3),
    ...                   torch.Generator())
    >>> solver = trainer.solver
    >>> type(solver).__name__, type(solver.optimizer).__name__, solver.lr, solver.engine is not None
    ('FirstOrderSolver', 'FlatAdamW', 0.01, True)
    >>> X = torch.randn(64, 2, generator=torch.Generator().manual_seed(1))
    >>> state = trainer.run(X, X[:, :1])
    >>> solver.flat is None, state.n_iter  # unpacked again
    (True, 3)
    """

    def __init__(self, optimizer: FlatAdamW | FlatSGDW, trainer) -> None:
        super().__init__(optimizer)
        self.flat: FlatParameters | None = None
        self._standardized: tuple[Tensor, int, Tensor] | None = None  # (X, its version, X standardised)
        comm = getattr(trainer, "comm", None)
        if comm is not None and not trainer.engine_applies():
            raise ValueError("distributed=True trains through the autograd-free engine only: an SLNN with a "
                             "closed-form loss and no overridden batch_loss.")
        self.engine = Engine(trainer.module, trainer.loss_fn, comm) if trainer.engine_applies() else None
        from ._trainer import Trainer  # its module imports this one

        # a train_step override must see the rows as given: the engine then standardises each batch itself
        self._may_standardize = self.engine is not None and type(trainer).train_step is Trainer.train_step

    @property
    def lr(self) -> float:
        return self.optimizer.lr

    def scale_lr(self, factor: float) -> None:
        self.optimizer.scale_lr(factor)

    def reset_state(self) -> None:
        self.optimizer.reset_state()

    def fits(self, params: list[torch.nn.Parameter]) -> bool:
        return self.optimizer.n == sum(p.numel() for p in params)

    def snapshot(self):
        return {k: v.clone() if isinstance(v, Tensor) else v for k, v in self.optimizer.state.items()}

    def restore(self, snapshot) -> None:
        self.optimizer.state = {k: v.clone() if isinstance(v, Tensor) else v for k, v in snapshot.items()}

    def pack(self, trainer) -> FlatParameters:
        if self.flat is None:
            self.flat = FlatParameters(trainer.param_groups)
        return self.flat

    def begin(self, trainer) -> None:
        self.pack(trainer)  # before the snapshots, which point at the live tensors

    def end(self, trainer) -> None:
        self._standardized = None
        if self.flat is not None:
            self.flat.release()
            self.flat = None

    def epoch(self, trainer, X: Tensor, Y: Tensor, W: Tensor | None) -> float:
        Xs = self._standardized_inputs(trainer, X)
        if Xs is None:
            return super().epoch(trainer, X, Y, W)
        self.engine.inputs_standardized = True
        try:
            return super().epoch(trainer, Xs, Y, W)
        finally:
            self.engine.inputs_standardized = False

    def _standardized_inputs(self, trainer, X: Tensor) -> Tensor | None:
        """``X`` standardised once per run for the engine, or ``None`` to standardise each batch.

        The input map is row-wise, so mapping the whole set once gives every batch exactly
        the values it would get alone; at batch 200 it saves two elementwise passes and
        their dispatch per step. Not for a ``train_step`` override (it must see the rows as
        given) nor for a copy above :data:`STANDARDIZED_COPY_BYTES`.
        """
        if not self._may_standardize:
            return None
        module = trainer.module
        if X.shape[0] * X.shape[1] * module.output.weight.element_size() > STANDARDIZED_COPY_BYTES:
            return None
        cached = self._standardized
        if cached is None or cached[0] is not X or cached[1] != X._version:
            with torch.no_grad():
                cached = self._standardized = (X, X._version, module.standardize(X))
        return cached[2]

    def live_tensors(self, trainer) -> list[Tensor]:
        return [self.flat.data] if self.flat is not None else super().live_tensors(trainer)

    def step(self, trainer, x, y, w) -> Tensor:
        flat = self.pack(trainer)
        flat.grad.zero_()
        if self.engine is not None:
            loss = self.engine.loss_and_grad(x, y, w)
            if self.engine.comm is not None:
                self.engine.comm.sum_(flat.grad)  # every process's share of the batch gradient: one call
        else:
            loss = trainer.batch_loss(x, y, w)
            loss.backward()
        penalty = trainer.penalty()
        if isinstance(penalty, Tensor) and penalty.requires_grad:  # not when its coefficients are frozen
            penalty.backward()
        _clip_(flat.grad, trainer.config.clip_grad_norm)
        self.optimizer.step(flat)  # a non-finite loss is caught once per epoch; the guard restores the weights
        return loss.detach()


class LBFGSSolver(Solver):
    """``torch.optim.LBFGS``: one full-batch, line-searched step per epoch.

    Its weight decay is an L2 penalty in the loss (``decouples_weight_decay`` is False).

    Examples
    --------
    >>> import torch
    >>> from sklearn_slaf.network import SLNN
    >>> from sklearn_slaf.training import SquaredError, TrainConfig, Trainer
    >>> net = SLNN(2, (4,), degree=2, generator=torch.Generator().manual_seed(0))
    >>> trainer = Trainer(net, SquaredError(net), TrainConfig(solver="lbfgs", max_iter=3), torch.Generator())
    >>> type(trainer.solver).__name__, trainer.solver.decouples_weight_decay
    ('LBFGSSolver', False)
    >>> X = torch.randn(64, 2, generator=torch.Generator().manual_seed(1))
    >>> state = trainer.run(X, X[:, :1] * X[:, 1:])
    >>> state.n_iter, state.t, state.loss_curve[-1] < state.loss_curve[0]  # 3 epochs of all 64 rows
    (3, 192, True)
    """

    decouples_weight_decay = False

    def epoch(self, trainer, X, Y, W) -> float:
        trainer.state.t += X.shape[0]
        return float(trainer.train_step(X, Y, W))

    def step(self, trainer, x, y, w) -> Tensor:
        opt = self.optimizer

        def closure():
            opt.zero_grad()
            loss = trainer.batch_loss(x, y, w) + trainer.penalty()
            loss.backward()
            return loss

        fresh = opt.state[opt._params[0]].get("n_iter", 0) == 0
        loss = opt.step(closure).detach()
        if opt.state[opt._params[0]].get("t") == 0 and opt._params[0].dtype == torch.float32:
            # torch's strong-Wolfe search found no step, which float32 round-off causes far from any
            # minimum: from the same memory every later call would compute the same direction and
            # stall for good. Restart the memory (the next call starts from steepest descent); if
            # it had just been restarted, take a backtracking step along the gradient first. (In
            # float64 a failed search means convergence, and the fit stops on its own rule.)
            opt.state.clear()
            if fresh:
                self._backtrack(opt, closure)
        return loss

    @staticmethod
    @torch.no_grad()
    def _backtrack(opt, closure, shrink: float = 0.5, tries: int = 40) -> None:
        with torch.enable_grad():
            f0 = float(closure())
        params = [p for g in opt.param_groups for p in g["params"] if p.grad is not None]
        grads = [p.grad.clone() for p in params]
        g2 = float(sum((g * g).sum() for g in grads))
        if g2 == 0.0:
            return
        t = 1.0 / max(1.0, g2 ** 0.5)
        for _ in range(tries):
            for p, g in zip(params, grads):
                p.sub_(g, alpha=t)
            with torch.enable_grad():
                f = float(closure())
            if f <= f0 - 1e-4 * t * g2:  # Armijo's sufficient decrease
                return
            for p, g in zip(params, grads):
                p.add_(g, alpha=t)
            t *= shrink


class TorchSolver(Solver):
    """Any other ``torch.optim.Optimizer``, on mini-batches through autograd.

    Examples
    --------
    A :meth:`Trainer.make_optimizer <sklearn_slaf.training.Trainer.make_optimizer>`
    override returning plain SGD:

    >>> import torch
    >>> from sklearn_slaf.network import SLNN
    >>> from sklearn_slaf.training import SquaredError, TrainConfig, Trainer
    >>> class SGDTrainer(Trainer):
    ...     def make_optimizer(self):
    ...         return torch.optim.SGD(self.module.parameters(), lr=0.05)
    >>> net = SLNN(2, (4,), degree=2, generator=torch.Generator().manual_seed(0))
    >>> trainer = SGDTrainer(net, SquaredError(net), TrainConfig(max_iter=3, batch_size=32), torch.Generator())
    >>> type(trainer.solver).__name__, trainer.solver.lr
    ('TorchSolver', 0.05)
    >>> X = torch.randn(64, 2, generator=torch.Generator().manual_seed(1))
    >>> state = trainer.run(X, X[:, :1])
    >>> state.n_iter, state.t  # 3 epochs of 2 batches of 32
    (3, 192)
    """

    def step(self, trainer, x, y, w) -> Tensor:
        self.optimizer.zero_grad()
        loss = trainer.batch_loss(x, y, w)
        penalty = trainer.penalty()
        (loss + penalty).backward()
        if trainer.config.clip_grad_norm is not None:
            params = [p for g in self.optimizer.param_groups for p in g["params"] if p.grad is not None]
            torch.nn.utils.clip_grad_norm_(params, trainer.config.clip_grad_norm)
        self.optimizer.step()
        return loss.detach()


def solver_for(optimizer, trainer) -> Solver:
    """The solver that drives ``optimizer`` for ``trainer``.

    Parameters
    ----------
    optimizer : FlatAdamW, FlatSGDW or torch.optim.Optimizer
    trainer : Trainer

    Returns
    -------
    Solver
        :class:`FirstOrderSolver`, :class:`LBFGSSolver` or :class:`TorchSolver`.

    Raises
    ------
    TypeError
        For anything else.

    Examples
    --------
    >>> import torch
    >>> from sklearn_slaf.network import SLNN
    >>> from sklearn_slaf.training import SquaredError, TrainConfig, Trainer, solver_for
    >>> net = SLNN(2, (4,), degree=2, generator=torch.Generator().manual_seed(0))
    >>> trainer = Trainer(net, SquaredError(net), TrainConfig(), torch.Generator())
    >>> type(solver_for(trainer.state.optimizer, trainer)).__name__
    'FirstOrderSolver'
    >>> type(solver_for(torch.optim.LBFGS(net.parameters()), trainer)).__name__
    'LBFGSSolver'
    >>> type(solver_for(torch.optim.Adagrad(net.parameters()), trainer)).__name__
    'TorchSolver'
    >>> solver_for("adam", trainer)
    Traceback (most recent call last):
    ...
    TypeError: make_optimizer must return a FlatAdamW, a FlatSGDW or a torch.optim.Optimizer; got str.
    """
    if isinstance(optimizer, (FlatAdamW, FlatSGDW)):
        return FirstOrderSolver(optimizer, trainer)
    if isinstance(optimizer, torch.optim.LBFGS):
        return LBFGSSolver(optimizer)
    if isinstance(optimizer, torch.optim.Optimizer):
        return TorchSolver(optimizer)
    raise TypeError(
        "make_optimizer must return a FlatAdamW, a FlatSGDW or a torch.optim.Optimizer; "
        f"got {type(optimizer).__name__}."
    )
