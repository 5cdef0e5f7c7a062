"""Training of torch modules on in-memory tensors (no scikit-learn here).

* :mod:`._trainer`: :class:`Trainer`, the loop as overridable steps, with
  :class:`TrainConfig` / :class:`TrainState`;
* :mod:`._solvers`: one solver per optimiser family behind one interface (flat-buffer
  first-order, L-BFGS, any torch optimiser), chosen by :func:`solver_for`;
* :mod:`._callbacks`: the loop's policies (divergence back-off, history, validation and
  early stopping, convergence, progress) as callbacks at named points;
* :mod:`._engine`: :class:`Engine`, the autograd-free forward/backward of an SLNN;
* :mod:`._losses`: losses with closed-form gradients;
* :mod:`._optim`: AdamW and SGD on one flat parameter buffer.

Imports run one way: optim, losses <- engine <- solvers, callbacks <- trainer. The package reads the layers
(:mod:`sklearn_slaf.activation`, :mod:`sklearn_slaf.network`) and nothing above them.
"""

from ._callbacks import (
    ADAPTIVE_FLOOR,
    LR_FLOOR,
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
from ._distributed import Communicator, DistributedTrainingError
from ._engine import Engine
from ._losses import LogisticLoss, SoftmaxCrossEntropy, SquaredError, weighted_mean
from ._optim import FlatAdamW, FlatParameters, FlatSGDW
from ._solvers import FirstOrderSolver, LBFGSSolver, Solver, TorchSolver, solver_for
from ._trainer import COEF_PENALTIES, SCHEDULES, SOLVERS, TrainConfig, Trainer, TrainState

__all__ = [
    "ADAPTIVE_FLOOR",
    "LR_FLOOR",
    "RETRY",
    "STOP",
    "Callback",
    "Communicator",
    "Convergence",
    "DistributedTrainingError",
    "DivergenceGuard",
    "FirstOrderSolver",
    "History",
    "LBFGSSolver",
    "LearningRateSchedule",
    "ProgressBar",
    "Solver",
    "TorchSolver",
    "Validation",
    "solver_for",
    "COEF_PENALTIES",
    "Engine",
    "FlatAdamW",
    "FlatParameters",
    "FlatSGDW",
    "LogisticLoss",
    "SCHEDULES",
    "SOLVERS",
    "SoftmaxCrossEntropy",
    "SquaredError",
    "TrainConfig",
    "TrainState",
    "Trainer",
    "TrainingDivergedError",
    "weighted_mean",
]
