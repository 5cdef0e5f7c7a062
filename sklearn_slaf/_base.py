"""BaseSLNN: parameters, data validation, scaling, device handling and pickling."""

from __future__ import annotations

import copy
import warnings
from numbers import Integral, Real

import numpy as np
import sklearn
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning, InconsistentVersionWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, _num_samples, check_is_fitted, validate_data

from . import _kernels
from . import basis as _basis
from ._batch_weights import batch_weights
from ._devices import resolve_device
from ._extrapolation import _RANGE_BOUNDS, _RangeProbe
from ._functions import INIT_TARGETS
from ._threads import resolve_threads, thread_limit
from ._version import __version__
from ._warnings import warn_user
from .activation import COEF_SHARING, SLAF
from .eoc import edge_of_chaos_init
from .network import SLNN, WEIGHT_INITS
from .training import COEF_PENALTIES, LR_FLOOR, SCHEDULES, SOLVERS, Communicator, TrainConfig, Trainer, TrainState

_DTYPES = {"float32": torch.float32, "float64": torch.float64}
_PREDICT_CHUNK = 8192
_FAST_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))
_ROW_BLOCK = 64
_CHECK_CHUNK = 8192  # rows per pass of the closing finiteness and range check: bounds its memory
# early_stopping="auto" holds out validation_fraction from this many rows on: below it the
# held-out rows are too few to judge an epoch by, and the decay alone regularises
AUTO_EARLY_STOPPING_MIN_SAMPLES = 100
# alpha="auto": the decoupled decay chosen by the suite's cross-validation, and MLPRegressor's L2 penalty
AUTO_WEIGHT_DECAY, AUTO_L2_PENALTY = 3.0, 1e-4
_RECALIBRATION_ROWS = 20000  # rows whose statistics become the running statistics of the normalised layers
def _auto_batch_size(n_samples: int) -> int:
    """``batch_size="auto"``: ``n_samples // 50`` clipped to [64, 200] (and to ``n_samples``).

    Small data sets get at least about 50 optimiser steps an epoch from batches of 64; from
    10,000 rows on it is ``MLPRegressor``'s 200.
    """
    return min(n_samples, max(64, min(200, n_samples // 50)))


def _weighted_scaling(A: np.ndarray, w: np.ndarray | None, chunk: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """Weighted column means and standard deviations, in float64, a chunk of rows at a time.

    Two passes (mean, then squared deviations) keep the variance accurate for columns
    with a large offset; chunking keeps the float64 temporaries to ``chunk`` rows, so a
    float32 ``A`` is never copied whole.
    """
    w = np.ones(A.shape[0]) if w is None else np.asarray(w, dtype=np.float64)
    total = w.sum()
    mean = sum(w[i : i + chunk] @ A[i : i + chunk].astype(np.float64) for i in range(0, A.shape[0], chunk)) / total
    var = sum(w[i : i + chunk] @ (A[i : i + chunk].astype(np.float64) - mean) ** 2
              for i in range(0, A.shape[0], chunk)) / total
    std = np.sqrt(var)
    std[~(std > 1e-12 * np.maximum(1.0, np.abs(mean)))] = 1.0  # constant columns pass through
    return mean, std


def _read_only(t: torch.Tensor) -> np.ndarray:
    a = t.detach().cpu().numpy()
    a.flags.writeable = False
    return a


# the network draws the named schemes itself; the edge of chaos needs the mean-field maths of eoc
_WEIGHT_INITS = {**{name: name for name in WEIGHT_INITS}, "edge_of_chaos": edge_of_chaos_init}


class BaseSLNN(BaseEstimator):
    """Shared machinery of :class:`SLNNRegressor` and :class:`SLNNClassifier`.

    Subclasses define ``_encode_targets``, ``_make_loss``, ``_score_module`` and
    ``_output_scaling``.
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "degree": ["array-like", Interval(Integral, 1, None, closed="left")],
        "basis": [StrOptions(set(_basis.BASES)), list, tuple],
        "coef_sharing": [StrOptions(set(COEF_SHARING)), Interval(Integral, 1, None, closed="left")],
        "normalize_basis": ["boolean"],
        "normalize_momentum": [Interval(Real, 0, 1, closed="right"), None],
        "normalize_eps": [Interval(Real, 0, None, closed="neither")],
        "gate": ["boolean"],
        "init_std": [Interval(Real, 0, None, closed="left")],
        "activation_init": [StrOptions(set(INIT_TARGETS))],
        "hidden_activation": [str, list, tuple],
        "weight_init": [StrOptions(set(_WEIGHT_INITS))],
        "solver": [StrOptions(set(SOLVERS))],
        "learning_rate": [StrOptions(set(SCHEDULES))],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "coef_learning_rate": [Interval(Real, 0, None, closed="neither"), None],
        "alpha": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "coef_alpha": [Interval(Real, 0, None, closed="left")],
        "coef_penalty": [StrOptions(set(COEF_PENALTIES))],
        "clip_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean", StrOptions({"auto"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "extrapolation": [StrOptions({"constant", "continue"})],
        "device": [str, torch.device],
        "dtype": [StrOptions(set(_DTYPES))],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "distributed": ["boolean"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(128,),
        *,
        degree=3,
        basis="power",
        coef_sharing="layer",
        normalize_basis=True,
        normalize_momentum=0.1,
        normalize_eps=1e-5,
        gate=False,
        activation_init="identity",
        init_std=0.1,
        hidden_activation="slaf",
        weight_init="xavier",
        solver="adam",
        learning_rate="constant",
        learning_rate_init=1e-3,
        power_t=0.5,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        momentum=0.9,
        nesterovs_momentum=True,
        coef_learning_rate=None,
        alpha="auto",
        coef_alpha=0.0,
        coef_penalty="l1",
        clip_grad_norm=None,
        batch_size="auto",
        max_iter=1000,
        tol=1e-4,
        early_stopping="auto",
        validation_fraction=0.1,
        n_iter_no_change=20,
        shuffle=True,
        random_state=None,
        warm_start=False,
        verbose=0,
        extrapolation="constant",
        device="auto",
        dtype="float32",
        n_threads=None,
        distributed=False,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.degree = degree
        self.basis = basis
        self.coef_sharing = coef_sharing
        self.normalize_basis = normalize_basis
        self.normalize_momentum = normalize_momentum
        self.normalize_eps = normalize_eps
        self.gate = gate
        self.activation_init = activation_init
        self.init_std = init_std
        self.hidden_activation = hidden_activation
        self.weight_init = weight_init
        self.solver = solver
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.coef_learning_rate = coef_learning_rate
        self.alpha = alpha
        self.coef_alpha = coef_alpha
        self.coef_penalty = coef_penalty
        self.clip_grad_norm = clip_grad_norm
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.extrapolation = extrapolation
        self.device = device
        self.dtype = dtype
        self.n_threads = n_threads
        self.distributed = distributed

    # ------------------------------------------------------------------ set-up
    def _torch_dtype(self) -> torch.dtype:
        return _DTYPES[self.dtype]

    def _build_module(self, n_features: int, n_outputs: int, generator: torch.Generator) -> SLNN:
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, Integral) else tuple(sizes)
        degree = self.degree if isinstance(self.degree, Integral) else tuple(self.degree)
        return SLNN(
            n_features, sizes, n_outputs, degree=degree,
            basis=self.basis, hidden_activation=self.hidden_activation, coef_sharing=self.coef_sharing,
            normalize_basis=self.normalize_basis, normalize_momentum=self.normalize_momentum,
            normalize_eps=self.normalize_eps, gate=self.gate, activation_init=self.activation_init,
            init_std=self.init_std,
            weight_init=_WEIGHT_INITS[self.weight_init], generator=generator, dtype=self._torch_dtype(),
        )

    def _config(self, n_samples: int) -> TrainConfig:
        if self.solver != "lbfgs" and self.learning_rate_init * self._alpha() >= 1.0:
            raise ValueError(
                f"learning_rate_init * alpha must be below 1 for solver={self.solver!r}: the decoupled weight decay "
                f"multiplies the weights by 1 - learning_rate_init * alpha each step; got learning_rate_init="
                f"{self.learning_rate_init} and alpha={self._alpha()} (alpha='auto' is {AUTO_WEIGHT_DECAY}). "
                f"Lower alpha or learning_rate_init."
            )
        batch = _auto_batch_size(n_samples) if self.batch_size == "auto" else self.batch_size
        return TrainConfig(
            solver=self.solver, learning_rate=self.learning_rate_init, coef_learning_rate=self.coef_learning_rate,
            schedule=self._schedule(), power_t=self.power_t,
            beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon, momentum=self.momentum,
            nesterov=self.nesterovs_momentum, smoothing=self.n_iter_no_change,
            alpha=self._alpha(), coef_alpha=self.coef_alpha, coef_penalty=self.coef_penalty,
            clip_grad_norm=self.clip_grad_norm, batch_size=batch, max_iter=self.max_iter, tol=self.tol,
            n_iter_no_change=self.n_iter_no_change, shuffle=self.shuffle, verbose=self.verbose,
        )

    def _schedule(self) -> str:
        # L-BFGS's line search picks its steps: no schedule, as in MLPRegressor
        return "constant" if self.solver == "lbfgs" else self.learning_rate

    def _alpha(self) -> float:
        """``alpha``, with ``"auto"``: 3.0 as decoupled decay (adam, sgd), 1e-4 as L-BFGS's L2 penalty."""
        if self.alpha == "auto":
            return AUTO_L2_PENALTY if self.solver == "lbfgs" else AUTO_WEIGHT_DECAY
        return float(self.alpha)

    def _tensor(self, A: np.ndarray, inputs: bool = False) -> torch.Tensor:
        """``A`` on the device in the fitted module's dtype, or for ``inputs`` in their own float precision.

        Inputs stay float64 when they come as float64 (zero-copy on the CPU): the network
        standardises them in float64 before casting (:meth:`SLNN.standardize`).
        """
        A = np.ascontiguousarray(A)
        if not A.flags.writeable:
            A = A.copy()  # torch refuses to share read-only memory (e.g. memory-mapped inputs)
        # the fitted module's dtype: set_params(dtype=...) on a fitted model takes effect at the next fit
        dtype = next(self.module_.parameters()).dtype if hasattr(self, "module_") else self._torch_dtype()
        if inputs and A.dtype == np.float64:
            dtype = torch.float64
        return torch.as_tensor(A, dtype=dtype).to(self.device_)

    # ------------------------------------------------------------------ fitting
    def _validate_fit_data(self, X, y, sample_weight, reset: bool):
        X, y = validate_data(self, X, y, reset=reset, dtype=[np.float64, np.float32], **self._y_validation())
        sw = None if sample_weight is None else _check_sample_weight(sample_weight, X, dtype=np.float64)
        if sw is not None:
            if not sw.sum() > 0:
                raise ValueError("sample_weight must have a positive sum.")
            # every use is a weighted mean, invariant to the weights' scale: bring them near 1 so that
            # weights of 1e-50 or 1e300 survive the cast to float32 and the products with losses
            sw = sw / sw.max()
            sw = sw / sw.mean()
            if (sw == 1.0).all():  # equal weights are no weights: the unweighted paths, bit for bit
                sw = None
        return X, y, sw

    def _fit(self, X, y, sample_weight=None, *, incremental: bool = False, classes=None):
        """Fit, or on any exception leave the estimator exactly as it was before the call.

        Fits are expensive to redo, so a failed ``fit``, ``partial_fit`` or warm start must
        not cost the model already trained: the fitted state (every attribute that is not a
        parameter: the module, the optimiser's moments, the generator, counters and curves)
        is copied first and put back if anything raises, ``KeyboardInterrupt`` included. A
        fresh estimator whose first fit fails stays unfitted.
        """
        saved = self._fitted_state()
        try:
            with thread_limit(self._threads_for_fit(X)):
                return self._fit_unguarded(X, y, sample_weight, incremental=incremental, classes=classes)
        except BaseException:
            self._restore_fitted_state(saved)
            raise

    def _widest_layer(self) -> int:
        if hasattr(self, "module_"):  # the fitted shape: set_params takes effect at the next fit
            return max(lin.out_features for lin in self.module_.linear_layers)
        sizes = self.hidden_layer_sizes
        return max((sizes,) if isinstance(sizes, Integral) else tuple(sizes), default=1)

    def _threads_for_fit(self, X) -> int:
        """``n_threads``, or for ``None`` what the largest ``(batch, units)`` tensor of the fit calls for."""
        if self.n_threads is not None:
            return self.n_threads
        try:
            n = _num_samples(X)
        except TypeError:  # validation will say what is wrong with X
            return 1
        if self.solver == "lbfgs":  # full batch
            batch = n
        else:
            batch = _auto_batch_size(n) if self.batch_size == "auto" else min(self.batch_size, n)
        return resolve_threads(None, batch * self._widest_layer())

    def _fitted_state(self) -> dict:
        params = self.get_params(deep=False)
        return copy.deepcopy({k: v for k, v in self.__dict__.items() if k not in params})

    def _restore_fitted_state(self, saved: dict) -> None:
        params = self.get_params(deep=False)
        for k in [k for k in self.__dict__ if k not in params]:
            del self.__dict__[k]
        self.__dict__.update(saved)

    def _fit_unguarded(self, X, y, sample_weight=None, *, incremental: bool = False, classes=None):
        first = not (incremental or self.warm_start) or not hasattr(self, "module_")
        X, y, sw = self._validate_fit_data(X, y, sample_weight, reset=first)
        Y = self._encode_targets(y, first=first, classes=classes)
        if first:
            rng = check_random_state(self.random_state)
            self._seed = int(rng.randint(np.iinfo(np.int32).max))
            self._generator = torch.Generator().manual_seed(self._seed)
            self.device_ = resolve_device(self.device)
            module = self._build_module(X.shape[1], Y.shape[1], self._generator)
            x_off, x_scale = _weighted_scaling(X, sw)
            y_off, y_scale = self._output_scaling(Y, sw)
            module.set_scaling(x_off, x_scale, y_off, y_scale)
            self.module_ = module.to(self.device_)
            self._state = TrainState()
        stats = self.module_.batch_statistics  # which layers normalise with batch statistics
        if X.shape[0] < 2 and stats["batchnorm"]:
            raise ValueError("Found 1 sample: batch normalisation needs at least 2 samples to train.")
        config = self._config(X.shape[0])
        if config.batch_size == 1 and X.shape[0] > 1 and config.solver != "lbfgs" and (
            stats["batchnorm"] or (not incremental and stats["slaf"])
        ):
            # batch normalisation cannot train on one row; a normalised SLAF trains on its running statistics
            # then, which the closing recalibration of fit replaces: the predicting model would not be the trained one
            raise ValueError(
                "batch_size=1 cannot fit a network with batch statistics (SLAF with normalize_basis=True or a "
                "'+bn' layer): use batch_size >= 2 or solver='lbfgs' (or partial_fit, for SLAF)."
            )
        if not incremental:
            # each fit stops on its own progress and, as MLPRegressor's warm start does, starts a fresh
            # optimiser with the current settings; partial_fit keeps the optimiser's moments
            st = self._state
            st.best_validation_score, st.no_improvement, st.converged = -np.inf, 0, False
            st.optimizer, st.backoffs, st.interrupted, st.lr_exhausted = None, 0, False, False
            st.recent_losses, st.recent_scores, st.best_smoothed_score = [], [], -np.inf
        if self._uses_early_stopping(X.shape[0]) and not incremental:
            X, Y, sw, val = self._split_validation(X, Y, sw)
        else:
            val = None
        Xt, Yt = self._tensor(X, inputs=True), self._tensor(Y)
        Wt = None if sw is None else self._tensor(sw)
        comm = None
        if self.distributed:
            comm = Communicator()
            comm.check_same(*(t for t in (Xt, Yt, Wt) if t is not None))
        calibration = self._calibration_rows(Xt, Wt)
        validation = score_fn = None
        if val is not None:
            Xv, Yv, Wv, yv_raw = val
            validation = (self._tensor(Xv, inputs=True), self._tensor(Yv), None if Wv is None else self._tensor(Wv))

            def score_fn(m):
                # scored as it would predict: a model restored as the best is then exactly that model
                self._recalibrate(calibration)
                return self._score_module(m, validation[0], yv_raw, Wv)

        # training and its validation scores see the network unclamped; the bounds come from this fit's range
        self._set_input_bounds(None)
        trainer = Trainer(self.module_, self._make_loss(), config, self._generator, self._state, comm=comm)
        epochs = 1 if incremental else None
        try:
            trainer.run(Xt, Yt, Wt, validation, score_fn, epochs=epochs, early_stopping=validation is not None)
            if not incremental:
                if comm is None:
                    self._recalibrate(calibration)
                else:
                    self._recalibrate(calibration, trainer.solver.engine)
            self._check_finite(Xt, incremental)
        finally:
            _kernels.clear_scratch()
        self._finish_fit(trainer.state, incremental, validated=val is not None)
        return self

    # rows from which early_stopping="auto" holds data out; None: never (the classifier)
    _auto_early_stopping_rows: int | None = AUTO_EARLY_STOPPING_MIN_SAMPLES

    def _uses_early_stopping(self, n_samples: int) -> bool:
        if self.distributed:
            if self.early_stopping is True:
                raise ValueError("distributed=True does not hold out validation data: use early_stopping=False "
                                 "(or 'auto', which is off when distributed).")
            return False
        if self.early_stopping == "auto":
            rows = self._auto_early_stopping_rows
            return rows is not None and n_samples >= rows
        return bool(self.early_stopping)

    def _split_validation(self, X, Y, sw):
        from sklearn.model_selection import train_test_split

        n_val = max(1, int(round(self.validation_fraction * X.shape[0])))
        if X.shape[0] - n_val < 2:
            raise ValueError(
                f"early_stopping needs at least 2 training samples after holding out validation_fraction="
                f"{self.validation_fraction}; got {X.shape[0]} samples."
            )
        idx = np.arange(X.shape[0])
        strat = self._stratify(Y) if n_val >= self._n_strata(Y) else None
        tr, va = train_test_split(idx, test_size=n_val, random_state=self._seed, stratify=strat)
        w = (None, None) if sw is None else (sw[tr], sw[va])
        return X[tr], Y[tr], w[0], (X[va], Y[va], w[1], self._raw_targets(Y[va]))

    def _stratify(self, Y):
        return None

    def _n_strata(self, Y) -> int:
        return 1

    @torch.no_grad()
    def _check_finite(self, Xt: torch.Tensor, incremental: bool) -> None:
        """Raise (and so roll the fit back) unless every weight and statistic, and the predictions, are finite.

        The predictions on the training rows are computed as ``predict`` computes them, and
        the same pass records the range of each polynomial layer's pre-activations
        (``preactivation_range_``; ``partial_fit`` widens it by each new chunk).
        """
        m = self.module_
        tensors = [t.detach().reshape(-1) for t in (*m.parameters(), *m.buffers()) if t.is_floating_point()]
        bad = not bool(torch.isfinite(torch.cat(tensors)).all())
        if not bad:
            m.eval()
            probe = _RangeProbe(m)
            for i in range(0, Xt.shape[0], _CHECK_CHUNK):
                bad = bad or not bool(torch.isfinite(m.forward_observed(Xt[i : i + _CHECK_CHUNK], probe)).all())
            previous = getattr(self, "preactivation_range_", None) if incremental else None
            self.preactivation_range_ = probe.ranges(previous)
            if incremental:  # fit takes its bounds from the recalibration; partial_fit has none
                self._set_input_bounds(self.preactivation_range_ if self.extrapolation == "constant" else None)
        if bad:
            raise FloatingPointError(
                "the fit ended with non-finite weights, normalisation statistics or predictions on its own "
                "training data; the estimator was left as it was. Standardise the inputs, lower "
                "learning_rate_init or degree, or set clip_grad_norm (e.g. 1.0)."
            )

    def _set_input_bounds(self, ranges: list | None) -> None:
        """Clamp each polynomial SLAF layer's inputs in evaluation mode to its training range, or (``None``) not."""
        for i, layer in enumerate(self.module_.slaf_layers):
            if layer is not None:
                bounds = () if ranges is None or i >= len(ranges) or ranges[i] is None else ranges[i]
                layer.set_input_bounds(*bounds)

    def _calibration_rows(self, Xt: torch.Tensor, Wt: torch.Tensor | None = None
                          ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The rows (all training rows, or a fixed random subsample of large data) whose statistics the model keeps.

        Returned with their weights (``None`` for an unweighted fit).
        """
        if Xt.shape[0] <= _RECALIBRATION_ROWS:
            return Xt, Wt
        idx = torch.randperm(Xt.shape[0], generator=self._generator)[:_RECALIBRATION_ROWS].to(Xt.device)
        return Xt[idx], None if Wt is None else Wt[idx]

    @torch.no_grad()
    def _recalibrate(self, calibration: tuple[torch.Tensor, torch.Tensor | None], engine=None) -> None:
        """Set running statistics to those of the current weights on the calibration rows ``(Xc, Wc)``.

        One forward pass in training mode with momentum 1 makes every SLAF/BatchNorm layer's
        running statistics the exact batch statistics of that pass (weighted by ``Wc`` if
        given), layer after layer consistently; with batch normalisation's variance made the
        biased one it normalised with, evaluation mode equals training-mode normalisation on
        these rows. With ``extrapolation="constant"`` the same pass bounds each polynomial
        layer's evaluation-mode inputs by the range they take on these rows.
        """
        Xc, Wc = calibration
        # extrapolation="constant": the range of each polynomial layer's inputs on these rows bounds them
        probe = None
        if self.extrapolation == "constant":
            self._set_input_bounds(None)
            probe = _RangeProbe(self.module_, rows=None if Wc is None else Wc > 0)
        recorded = self._recalibrate_statistics(Xc, Wc, engine, probe)
        if probe is not None and probe.watched and Xc.shape[0]:
            if not recorded:  # no statistics pass, or each process saw only its share: every process has all rows
                self.module_.eval()
                self.module_.forward_observed(Xc, probe)
            self._set_input_bounds(probe.ranges(None))

    def _recalibrate_statistics(self, Xc: torch.Tensor, Wc: torch.Tensor | None, engine,
                                probe: _RangeProbe | None) -> bool:
        """The statistics pass of :meth:`_recalibrate`; whether it recorded the input ranges into ``probe`` too."""
        # (module, name of its momentum): SLAF layers and batch normalisation
        norm = [(m, "normalize_momentum" if isinstance(m, SLAF) else "momentum") for m in self.module_.modules()
                if isinstance(m, (SLAF, torch.nn.modules.batchnorm._BatchNorm))]
        if not norm or Xc.shape[0] < 2:
            return False
        saved = [getattr(m, name) for m, name in norm]
        try:
            for m, name in norm:
                setattr(m, name, 1.0)
            self.module_.train()
            if engine is None:
                with batch_weights(self.module_, Wc):
                    if probe is None:
                        self.module_(Xc)
                    else:  # the same pre-activations as evaluation mode's after this pass
                        self.module_.forward_observed(Xc, probe)
            else:  # data-parallel: each process its share of the rows, the statistics reduced across them
                mine = engine.comm.shard(torch.arange(Xc.shape[0], device=Xc.device))
                with batch_weights(self.module_, None if Wc is None else Wc.index_select(0, mine)):
                    engine.forward(Xc.index_select(0, mine))
            # batch normalisation kept the unbiased variance, n / (n - 1) times the biased one, counting the
            # rows or the weights' sum: evaluation mode would then normalise these rows differently from training
            n = float(Xc.shape[0]) if Wc is None else float(Wc.sum())
            if n > 1:
                for m, _ in norm:
                    if not isinstance(m, SLAF) and m.running_var is not None:
                        m.running_var.mul_((n - 1) / n)
        finally:
            for (m, name), mom in zip(norm, saved):
                setattr(m, name, mom)
            self.module_.eval()
        return engine is None and probe is not None

    def _finish_fit(self, state: TrainState, incremental: bool, validated: bool) -> None:
        self._state = state
        self.loss_curve_ = list(state.loss_curve)
        self.validation_loss_curve_ = list(state.validation_loss_curve)
        # partial_fit never holds data out; it reports what the last fit recorded
        stopped_early = getattr(self, "validation_scores_", None) is not None if incremental else validated
        self.validation_scores_ = list(state.validation_scores) if stopped_early else None
        self.best_validation_score_ = state.best_validation_score if stopped_early else None
        self.best_loss_ = state.best_loss
        self.loss_ = state.loss_curve[-1] if state.loss_curve else np.nan
        self.n_iter_ = state.n_iter
        self.t_ = state.t
        if state.lr_exhausted and not state.interrupted:
            warn_user(
                f"{type(self).__name__}: the learning_rate={self.learning_rate!r} schedule drove the learning rate "
                f"below {LR_FLOOR:g} times learning_rate_init after {self.n_iter_} epochs, before the loss converged; "
                f"lower power_t or use learning_rate='adaptive' or 'constant'.", ConvergenceWarning,
            )
        elif not (incremental or state.converged or state.interrupted or self._budget_is_the_end()):
            warn_user(
                f"{type(self).__name__}: stopped after max_iter={self.max_iter} epochs without converging "
                f"(tol={self.tol}); increase max_iter or tol.", ConvergenceWarning,
            )

    def _budget_is_the_end(self) -> bool:
        """Whether ending at max_iter is the design: a cosine schedule anneals to the last epoch."""
        return self._schedule() == "cosine"

    # ------------------------------------------------------------------ prediction
    @torch.no_grad()
    def _forward(self, X) -> np.ndarray:
        check_is_fitted(self, "module_")
        X = self._validate_predict_data(X)
        if self.module_.training:  # eval() walks every submodule: a noticeable share of a one-row predict
            self.module_.eval()
        limits = getattr(self, "preactivation_range_", None)
        # a network whose layers clamp to their range (extrapolation="constant") does not extrapolate
        clamped = any(layer is not None and layer.clamps for layer in self.module_.slaf_layers)
        if limits and not clamped and any(r is not None for r in limits):
            cached = _RANGE_BOUNDS.get(self.module_)
            if cached is None or cached[0] is not limits:  # tensors of the widened range, kept between calls
                cached = _RANGE_BOUNDS[self.module_] = (limits, {})
            probe = _RangeProbe(self.module_, limits, cached[1])
        else:
            probe = None
        # one output array filled chunk by chunk: no per-chunk arrays kept alive between the chunks
        # temporaries, which would fragment the heap and grow the peak with the number of rows
        res = np.empty((X.shape[0], self.module_.n_outputs))
        rows = min(X.shape[0], _PREDICT_CHUNK)
        with thread_limit(resolve_threads(self.n_threads, rows * self._widest_layer())):
            for i in range(0, X.shape[0], _PREDICT_CHUNK):
                res[i : i + _PREDICT_CHUNK] = self._forward_chunk(X[i : i + _PREDICT_CHUNK], probe)
        if probe is not None:
            probe.warn_outside(X.shape[0])
        if not np.isfinite(res).all():
            raise FloatingPointError(
                "the network produced non-finite outputs for this input (it may lie far outside the "
                "training range of a high-degree polynomial network)."
            )
        return res

    def _validate_predict_data(self, X) -> np.ndarray:
        """``validate_data(self, X, reset=False)``, with a shortcut for what it would return unchanged.

        A finite 2-D float ndarray of the fitted width, for a model fitted without feature
        names, passes every check ``validate_data`` makes; those checks cost about as much as
        the network's whole forward pass on a few rows, so such input skips them. Anything
        else (lists, frames, sparse matrices, other dtypes, non-finite values) takes the full
        path and its errors and warnings.
        """
        if (
            type(X) is np.ndarray and X.ndim == 2 and X.dtype in _FAST_DTYPES and X.shape[0] > 0
            and X.shape[1] == self.n_features_in_ and not hasattr(self, "feature_names_in_")
            and not sklearn.get_config()["array_api_dispatch"] and np.isfinite(X).all()
        ):
            return X
        return validate_data(self, X, reset=False, dtype=[np.float64, np.float32])

    def _forward_chunk(self, X: np.ndarray, probe: _RangeProbe | None = None) -> np.ndarray:
        # BLAS picks kernels by row count, and float32 results of one row then depend on how
        # many rows came with it; padding to a fixed multiple makes a sample's prediction
        # independent of the batch it is predicted in.
        n = X.shape[0]
        pad = -n % _ROW_BLOCK
        if pad:
            X = np.concatenate([X, np.broadcast_to(X[:1], (pad, X.shape[1]))])
        if probe is None:
            return self.module_(self._tensor(X, inputs=True))[:n].double().cpu().numpy()
        out = self.module_.forward_observed(self._tensor(X, inputs=True), probe)[:n].double().cpu().numpy()
        probe.end_call(n)
        return out

    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices of the linear layers, ``coefs_[i]`` of shape ``(n_in, n_out)`` as in ``MLPRegressor``.

        Read-only numpy views of the fitted network's weights (copies when it lives on a
        GPU). The first layer reads the *standardised* inputs and the last writes the
        standardised targets (``module_.input_offset``/``input_scale`` and the output's).
        """
        check_is_fitted(self, "module_")
        return [_read_only(lin.weight.T) for lin in self.module_.linear_layers]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors of the linear layers (read-only views, as :attr:`coefs_`)."""
        check_is_fitted(self, "module_")
        return [_read_only(lin.bias) for lin in self.module_.linear_layers]

    @property
    def n_layers_(self) -> int:
        """Number of layers, input and output included (``MLPRegressor``'s count)."""
        check_is_fitted(self, "module_")
        return len(self.module_.linear_layers) + 1

    @property
    def activation_coefs_(self) -> list[np.ndarray | None]:
        """Effective coefficients of each hidden layer's SLAF (``None`` for standard activations)."""
        check_is_fitted(self, "module_")
        return [None if s is None else s.effective_coefficients().detach().cpu().double().numpy()
                for s in self.module_.slaf_layers]

    # ------------------------------------------------------------------ pickling
    def __getstate__(self):
        state = self.__dict__.copy()
        if "module_" in state:
            state["module_"] = copy.deepcopy(state["module_"]).to("cpu")
        if "_state" in state:
            st = copy.copy(state["_state"])
            st.optimizer = None  # optimiser moments are large and device-bound; partial_fit rebuilds them
            state["_state"] = st
        state.pop("_generator", None)
        if "_generator" in self.__dict__:
            state["_generator_state"] = self._generator.get_state()
        # as BaseEstimator.__getstate__ does (which this one replaces), plus our own version
        state["_sklearn_version"] = sklearn.__version__
        state["_sklearn_slaf_version"] = __version__
        return state

    def __setstate__(self, state):
        state = dict(state)
        saved = {"scikit-learn": (state.pop("_sklearn_version", "pre-0.18"), sklearn.__version__),
                 "sklearn-slaf": (state.pop("_sklearn_slaf_version", "unknown"), __version__)}
        for package, (then, now) in saved.items():
            if then != now:
                warnings.warn(
                    InconsistentVersionWarning(
                        estimator_name=f"{type(self).__name__} ({package})",
                        current_sklearn_version=now, original_sklearn_version=then,
                    ),
                    stacklevel=2,
                )
        gen_state = state.pop("_generator_state", None)
        self.__dict__.update(state)
        if gen_state is not None:
            self._generator = torch.Generator()
            self._generator.set_state(gen_state)
        if "module_" in state:
            dev = self.device_
            if dev.type == "cuda" and not torch.cuda.is_available():
                warnings.warn("model was trained on CUDA; CUDA is not available here, so it runs on the CPU.",
                              RuntimeWarning, stacklevel=2)
                dev = torch.device("cpu")
            self.device_ = dev
            self.module_ = self.module_.to(dev)
