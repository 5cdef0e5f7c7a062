"""The training loop: in-memory mini-batches, optimisers, penalties, early stopping, guards.

The trainer knows torch, not scikit-learn: it gets tensors already on the device, a loss
and a :class:`TrainConfig`, and updates the module in place. Every step is a small
method (``make_optimizer``, ``batch_loss``, ``train_epoch``, ``run``) so subclasses can
override one without copying the loop.

For Adam and SGD the parameters live in one flat buffer (:mod:`sklearn_slaf.training._optim`)
and, for an :class:`~sklearn_slaf.network.SLNN` with a loss of
:mod:`sklearn_slaf.training._losses`, gradients come from the autograd-free
:class:`~sklearn_slaf.training._engine.Engine`; any other module or loss goes through
``loss.backward()`` into the same buffer. L-BFGS uses ``torch.optim.LBFGS`` and autograd.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from ..activation import SLAF
from ._engine import Engine
from ._losses import weighted_mean
from ._optim import FlatAdamW, FlatParameters, FlatSGDW

__all__ = ["COEF_PENALTIES", "SOLVERS", "TrainConfig", "TrainState", "Trainer", "TrainingDivergedError"]

SOLVERS: tuple[str, ...] = ("adam", "sgd", "lbfgs")
COEF_PENALTIES: tuple[str, ...] = ("l1", "l2")


# The losses are on standardised targets (or logits), so a constant predictor scores about 1:
# an epoch loss this many times the lowest one (and above this many) is a divergence that has
# not reached inf yet, and is backed off like one.
_EXPLODED = 1e3


class TrainingDivergedError(FloatingPointError):
    """Raised when the loss stays non-finite after the learning-rate back-off."""


@dataclass
class TrainConfig:
    """Optimisation settings, as validated by the estimators."""

    solver: str = "adam"
    learning_rate: float = 1e-3
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


class _LBFGS(torch.optim.LBFGS):
    """``torch.optim.LBFGS`` with the flat optimisers' back-off interface."""

    @property
    def lr(self) -> float:
        return self.param_groups[0]["lr"]

    def scale_lr(self, factor: float) -> None:
        for g in self.param_groups:
            g["lr"] *= factor

    def reset_state(self) -> None:
        self.state.clear()


@dataclass
class TrainState:
    """What survives between ``fit`` calls (warm start, ``partial_fit``)."""

    optimizer: FlatAdamW | FlatSGDW | _LBFGS | None = None
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
                 state: TrainState | None = None) -> None:
        self.module = module
        self.loss_fn = loss_fn
        self.config = config
        self.generator = generator
        self.state = state if state is not None else TrainState()
        # what the per-step penalty reads, found once rather than by walking the module every step
        self._slafs = [m for m in module.modules() if isinstance(m, SLAF)]
        self._groups = _param_groups(module)
        self._decayed = self._groups[0]
        self._flat: FlatParameters | None = None  # packed on the first step, released when run() ends
        lbfgs = config.solver == "lbfgs"
        self._engine = Engine(module, loss_fn) if not lbfgs and Engine.supports(module, loss_fn) else None
        if self.state.optimizer is None or not self._optimizer_fits(self.state.optimizer):
            # new, or the set of trainable parameters changed (e.g. a layer frozen between partial_fit calls)
            self.state.optimizer = self.make_optimizer()

    # ------------------------------------------------------------------ pieces
    def _optimizer_fits(self, opt) -> bool:
        params = [p for g in self._groups for p in g]
        if isinstance(opt, torch.optim.LBFGS):
            return self.config.solver == "lbfgs" and opt.param_groups[0]["params"] == params
        return self.config.solver != "lbfgs" and opt.n == sum(p.numel() for p in params)

    def make_optimizer(self) -> FlatAdamW | FlatSGDW | _LBFGS:
        c = self.config
        if c.solver == "lbfgs":
            # the strong-Wolfe line search picks the step; lr only scales its first trial
            return _LBFGS([p for g in self._groups for p in g], lr=1.0, max_iter=1,
                          history_size=20, line_search_fn="strong_wolfe")
        coef_lr = c.learning_rate if c.coef_learning_rate is None else c.coef_learning_rate
        lrs, decays = (c.learning_rate, c.learning_rate, coef_lr), (c.alpha, 0.0, 0.0)
        n = sum(p.numel() for g in self._groups for p in g)
        if c.solver == "adam":
            return FlatAdamW(n, lrs, decays)
        # decoupled decay for SGD too: SGDW-style, so alpha means the same for every solver
        return FlatSGDW(n, lrs, decays, momentum=0.9)

    def penalty(self) -> torch.Tensor | float:
        """Penalty on the effective activation coefficients (``coef_alpha``) and, for L-BFGS, L2 on weights."""
        c = self.config
        total: torch.Tensor | float = 0.0
        if c.coef_alpha > 0:
            for m in self._slafs:
                e = m.effective_coefficients()
                total = total + c.coef_alpha * (e.abs().sum() if c.coef_penalty == "l1" else e.square().sum())
        if c.solver == "lbfgs" and c.alpha > 0:
            total = total + 0.5 * c.alpha * sum(p.square().sum() for p in self._decayed)
        return total

    def batch_loss(self, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None) -> torch.Tensor:
        return weighted_mean(self.loss_fn(self.module(x), y), w)

    def _batches(self, n: int, device: torch.device) -> list[torch.Tensor]:
        c = self.config
        order = torch.randperm(n, generator=self.generator) if c.shuffle else torch.arange(n)
        size = max(1, min(c.batch_size, n))
        chunks = list(order.split(size))
        if len(chunks) > 1 and chunks[-1].numel() == 1:
            # batch statistics need two samples: fold a lone last sample into the previous batch
            chunks[-2] = torch.cat(chunks[-2:])
            chunks.pop()
        return [ch.to(device) for ch in chunks]

    def _pack(self) -> FlatParameters:
        """The flat parameter buffer, packing the module into it on first use (released by ``run``)."""
        if self._flat is None:
            self._flat = FlatParameters(self._groups)
        return self._flat

    def _step(self, x, y, w) -> torch.Tensor:
        """One optimiser step; returns the detached batch loss (no host synchronisation)."""
        opt = self.state.optimizer
        if isinstance(opt, torch.optim.LBFGS):
            def closure():
                opt.zero_grad()
                loss = self.batch_loss(x, y, w) + self.penalty()
                loss.backward()
                return loss

            return opt.step(closure).detach()
        flat = self._pack()
        flat.grad.zero_()
        if self._engine is not None:
            loss = self._engine.loss_and_grad(x, y, w)
        else:
            loss = self.batch_loss(x, y, w)
            loss.backward()
        penalty = self.penalty()
        if isinstance(penalty, torch.Tensor) and penalty.requires_grad:  # not when its coefficients are frozen
            penalty.backward()
        if self.config.clip_grad_norm is not None:
            norm = torch.linalg.vector_norm(flat.grad)
            # torch.nn.utils.clip_grad_norm_'s rule, on the one flat gradient
            flat.grad.mul_(torch.clamp(self.config.clip_grad_norm / (norm + 1e-6), max=1.0))
        opt.step(flat)  # a non-finite loss is caught once per epoch; the guard then restores the weights
        return loss.detach()

    def train_epoch(self, X: torch.Tensor, Y: torch.Tensor, W: torch.Tensor | None) -> float:
        """One pass over the data; returns the weighted mean training loss (NaN if it diverged)."""
        self.module.train()
        if isinstance(self.state.optimizer, torch.optim.LBFGS):
            self.state.t += X.shape[0]
            return float(self._step(X, Y, W))
        total, weight = [], 0.0
        for idx in self._batches(X.shape[0], X.device):
            w = None if W is None else W.index_select(0, idx)
            bw = idx.numel() if w is None else w.sum()
            total.append(self._step(X.index_select(0, idx), Y.index_select(0, idx), w) * bw)
            weight = weight + bw
            self.state.t += idx.numel()
        return float(torch.stack(total).sum() / weight)

    @torch.no_grad()
    def evaluate(self, X: torch.Tensor, Y: torch.Tensor, W: torch.Tensor | None) -> float:
        self.module.eval()
        return float(self.batch_loss(X, Y, W))

    # ------------------------------------------------------------------ loop
    def _back_off(self, snapshot: _Snapshot) -> None:
        st = self.state
        st.backoffs += 1
        snapshot.restore()  # also when giving up: the module never keeps diverged weights
        st.no_improvement = 0  # the new learning rate gets its own n_iter_no_change epochs
        if st.backoffs > self.config.max_backoffs:
            raise TrainingDivergedError(
                f"training diverged: the loss was not finite even after lowering the learning rate "
                f"{self.config.max_backoffs} times (to {self._lr():.3g}). Standardise the inputs, lower the learning "
                f"rate (learning_rate_init of the estimators) or degree, set clip_grad_norm (e.g. 1.0), or use "
                f"basis='chebyshev'."
            )
        st.optimizer.scale_lr(0.5)
        st.optimizer.reset_state()  # moments computed on the diverging path are poisoned
        warnings.warn(f"diverging fit (non-finite loss, or {_EXPLODED:g} times the lowest so far): restored the "
                      f"weights of the lowest loss and halved the learning rate to {self._lr():.3g}.",
                      RuntimeWarning, stacklevel=4)

    def _all_finite(self) -> bool:
        """Whether every parameter and floating buffer is finite (one host synchronisation)."""
        tensors = [t for t in self.module.buffers() if t.is_floating_point()]
        tensors += [self._flat.data] if self._flat is not None else list(self.module.parameters())
        return bool(torch.isfinite(torch.cat([t.detach().reshape(-1) for t in tensors])).all())

    def _lr(self) -> float:
        return self.state.optimizer.lr

    def run(self, X, Y, W=None, validation=None, score_fn=None, epochs: int | None = None,
            early_stopping: bool = False) -> TrainState:
        """Train for up to ``epochs`` (default ``config.max_iter``) passes.

        ``validation`` is ``(X_val, Y_val, W_val)``; with ``early_stopping`` the weights with
        the best ``score_fn(module)`` are restored at the end. ``KeyboardInterrupt`` stops
        training, keeps the best weights so far and leaves the module usable.
        """
        c, st = self.config, self.state
        epochs = c.max_iter if epochs is None else epochs
        if not isinstance(st.optimizer, torch.optim.LBFGS):
            self._pack()  # before the snapshots, which point at the live tensors
        # good: the back-off's restore point, the start of the epoch with the lowest loss so far (a
        # loss measured from those weights on; the end of an epoch is not measured, and a merely
        # finite loss can already be astronomical on the way to divergence); start: the epoch in progress
        good = start = _Snapshot(self.module)  # one object until a second epoch needs its own (partial_fit: never)
        good_loss = math.inf
        best = _Snapshot(self.module) if early_stopping else None
        bar = _progress(epochs, c.verbose)
        in_epoch = False
        try:
            try:
                done = 0
                while done < epochs:
                    if start is good and good_loss < math.inf:
                        start = _Snapshot(self.module)
                    start.take()
                    in_epoch = True
                    loss = self.train_epoch(X, Y, W)
                    in_epoch = False
                    # st.best_loss carries the scale over from earlier calls (partial_fit: one epoch each)
                    if not math.isfinite(loss) or loss > _EXPLODED * max(1.0, min(good_loss, st.best_loss)):
                        self._back_off(good)
                        continue
                    if loss <= good_loss:
                        good, start, good_loss = start, good, loss
                    done += 1
                    st.n_iter += 1
                    st.loss_curve.append(loss)
                    improved = loss < st.best_loss - c.tol
                    st.best_loss = min(st.best_loss, loss)
                    if validation is not None:
                        st.validation_loss_curve.append(self.evaluate(*validation))
                        score = float(score_fn(self.module))
                        st.validation_scores.append(score)
                        improved = score > st.best_validation_score + c.tol
                        if score > st.best_validation_score:
                            st.best_validation_score = score
                            best.take()
                    st.no_improvement = 0 if improved else st.no_improvement + 1
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix(loss=f"{loss:.4g}", **({"val": f"{st.validation_scores[-1]:.4g}"}
                                                              if validation is not None else {}))
                    if st.no_improvement > c.n_iter_no_change:
                        st.converged = True
                        break
            except KeyboardInterrupt:
                st.interrupted = True
                if in_epoch:  # drop the partial epoch: back to the last completed one
                    start.restore()
                warnings.warn("training interrupted: kept the best weights so far.", RuntimeWarning, stacklevel=2)
            finally:
                if bar is not None:
                    bar.close()
            if best is not None:
                best.restore()
            elif not self._all_finite():
                # the last epoch's final step went non-finite after its loss was measured; the
                # optimiser's moments went with it
                good.restore()
                st.optimizer.reset_state()
                warnings.warn("the last step left non-finite weights or statistics: restored those of the lowest "
                              "loss.", RuntimeWarning, stacklevel=2)
        finally:
            if self._flat is not None:
                self._flat.release()
                self._flat = None
        self.module.eval()
        return st


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


def _progress(total: int, verbose: int):
    if not verbose:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="fit", unit="epoch", leave=False)
