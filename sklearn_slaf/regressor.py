"""SLNNRegressor: least-squares regression with a self-learnable-activation network."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils.validation import check_is_fitted

from ._base import BaseSLNN, _weighted_scaling
from ._metrics import r2_score
from .training import SquaredError


class SLNNRegressor(RegressorMixin, BaseSLNN):
    """Regression with a network of self-learnable activation functions (SLAF).

    The network is ``Linear -> SLAF -> ... -> Linear`` (:class:`~sklearn_slaf.network.SLNN`);
    each SLAF learns its activation as a normalised combination of basis functions. With
    polynomial bases and only SLAF hidden layers the fitted model is exactly a polynomial
    of degree ``prod(degree)`` in the inputs (see
    :class:`~sklearn_slaf.PolynomialFeatureEquivalent`). Inputs and targets are
    standardised inside the network (an affine map, so that polynomial view stays exact).

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(128,)
        Width of each hidden layer. The defaults (this, ``alpha``, the schedule, the
        budget and early stopping) were chosen by cross-validation over a suite of data
        sets; the documentation's "Choosing hyper-parameters" page has the protocol.
    degree : int or sequence of int, default=3
        SLAF degree, one for every layer or one per hidden layer (the paper's Boston
        network uses ``(4, 2)``).
    basis : {"power", "taylor", "hermite", "chebyshev", "legendre", "fourier"} or sequence, default="power"
        Basis family of the SLAF layers.
    coef_sharing : {"layer", "unit"} or int, default="layer"
        One set of activation coefficients per layer, per unit, or per group of units.
    normalize_basis : bool, default=True
        Mean-variance normalise the basis elements (the paper's stabilising routine).
    normalize_momentum : float in (0, 1] or None, default=0.1
        Weight of the newest batch in the running statistics of the normalisation;
        ``None`` keeps a cumulative average (as :class:`torch.nn.BatchNorm1d`).
    normalize_eps : float, default=1e-5
        Added to each basis element's variance before the square root.
    gate : bool, default=False
        Multiply each activation coefficient by a learned sigmoid gate (the authors'
        implementation).
    activation_init : {"identity", "relu", "tanh", "swish", "gelu", "sigmoid"}, default="identity"
        Function each SLAF starts as (least-squares fit under a standard normal input).
    init_std : float, default=0.1
        Standard deviation of the Gaussian noise added to the initial activation
        coefficients (the authors use 1.0 around the identity).
    hidden_activation : str or sequence of str, default="slaf"
        ``"slaf"`` or a standard activation (``"relu"``, ``"tanh"``, ...), optionally
        with ``"+bn"`` for batch normalisation before it, one for all or per layer
        (hybrid networks).
    weight_init : {"xavier", "he", "default", "edge_of_chaos"}, default="xavier"
        Initialisation of the linear layers.
    solver : {"adam", "sgd", "lbfgs"}, default="adam"
        Optimiser. ``"adam"`` is AdamW (decoupled weight decay), ``"sgd"`` is Nesterov
        momentum SGD with decoupled weight decay, ``"lbfgs"`` is full-batch L-BFGS with a
        strong-Wolfe line search (one iteration per epoch).
    learning_rate : {"constant", "invscaling", "adaptive", "cosine"}, default="constant"
        Learning-rate schedule (``MLPRegressor``'s names; for "adam" and "sgd", not
        "lbfgs"). ``"invscaling"``: ``learning_rate_init / (t + 1) ** power_t`` with ``t``
        the samples seen. ``"adaptive"``: divided by 5 each time the stopping rule finds a
        plateau, stopping once it is 1000 times smaller. ``"cosine"``: annealed from
        ``learning_rate_init`` to 0 over ``max_iter`` epochs (reaching ``max_iter`` is then
        the plan, not a convergence failure). A schedule that takes the rate below 1e-6
        of ``learning_rate_init`` stops the fit with a ``ConvergenceWarning``.
    learning_rate_init : float, default=1e-3
        Learning rate of the weights.
    power_t : float, default=0.5
        Exponent of ``"invscaling"``.
    beta_1, beta_2 : float in [0, 1), default=0.9, 0.999
        Adam's decay rates of the first and second moment estimates.
    epsilon : float, default=1e-8
        Adam's numerical-stability constant.
    momentum : float in [0, 1], default=0.9
        SGD's momentum.
    nesterovs_momentum : bool, default=True
        Nesterov's momentum for SGD (when ``momentum > 0``).
    coef_learning_rate : float or None, default=None
        Learning rate of the activation parameters (``None``: same as the weights).
    alpha : float or "auto", default="auto"
        Decoupled weight decay on the linear weights, ``w <- w (1 - lr * alpha)`` each
        step (AdamW's; biases and activation coefficients are not decayed). Decoupled, it
        is not ``MLPRegressor``'s L2 penalty and its scale differs: ``"auto"`` is 3.0,
        which at the default rate shrinks the weights by 0.3% a step and keeps the
        polynomial from overfitting. For ``"lbfgs"`` it is an L2 penalty
        ``alpha / 2 ||w||^2`` in the loss, and ``"auto"`` is ``MLPRegressor``'s 1e-4.
    coef_alpha : float, default=0.0
        Strength of the penalty on the effective activation coefficients.
    coef_penalty : {"l1", "l2"}, default="l1"
        Kind of that penalty (the paper's experiments use both).
    clip_grad_norm : float or None, default=None
        Clip the global gradient norm at this value.
    batch_size : int or "auto", default="auto"
        Largest mini-batch; an epoch is cut into ``ceil(n / batch_size)`` batches of
        equal size (to one sample). ``"auto"`` is ``n_samples // 50`` clipped to [64, 200]:
        small data sets get about 50 steps an epoch. Layers normalised with
        batch statistics (SLAF with ``normalize_basis=True``, ``"+bn"``) need at least 2;
        very small batches (2-4) give noisy statistics, as with batch normalisation.
    max_iter : int, default=1000
        Maximum number of epochs.
    tol : float, default=1e-4
        An epoch improves when its training loss (validation score with early stopping)
        beats the best so far by ``tol``, or the median of the last ``n_iter_no_change``
        epochs beats the best such median by ``tol``: the median keeps a loss that falls
        slowly under mini-batch noise from stopping early.
    early_stopping : bool or "auto", default="auto"
        Hold out ``validation_fraction`` of the data, stop when the validation R^2 stops
        improving, and restore the weights of the best epoch (scored as the model
        predicts, so the returned model scores ``best_validation_score_`` there).
        ``"auto"``: on from 100 samples.
    validation_fraction : float, default=0.1
        Share of the data held out for early stopping.
    n_iter_no_change : int, default=20
        Epochs without improvement before stopping (or, with ``"adaptive"``, before
        dividing the learning rate).
    shuffle : bool, default=True
        Shuffle the samples every epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and the validation split (through a local
        torch generator; the global torch seed is never touched). With an int, two CPU
        fits are bit-identical.
    warm_start : bool, default=False
        Continue from the previous fit's weights and optimiser state.
    verbose : int, default=0
        ``1`` shows a progress bar with the current loss.
    device : {"auto", "cpu", "cuda", "cuda:N"}, default="auto"
        Where to train and predict; ``"auto"`` takes CUDA when available, and inside a
        dask worker (or under ``torchrun``) on a machine with several GPUs, worker ``i``
        takes GPU ``i % n_gpus``.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the network.
    n_threads : int or None, default=None
        torch's intra-op threads during each ``fit``, ``partial_fit`` and ``predict``
        call; the caller's setting is restored afterwards. ``None`` uses one thread when
        the widest ``(batch, units)`` tensor of the call is below about a million
        elements (where more threads only cost, as measured in
        ``benchmarks/threads.py``) and otherwise this process's share of the cores: the
        caller's torch setting, which loky and dask workers start at their share.
    distributed : bool, default=False
        Data-parallel training over an initialised ``torch.distributed`` process group
        (gloo on CPUs, nccl on GPUs; ``torchrun`` sets one up). Every process calls ``fit``
        with the same data and ``random_state``, draws the same batches and computes its
        share of each; the flat gradient (one ``all_reduce`` per step) and every SLAF
        layer's batch statistics are reduced across the processes, so the fit equals one
        process training on the global batches, to round-off. Needs ``solver="adam"`` or
        ``"sgd"`` and no early stopping; batch-normalisation layers reduce their statistics
        the same way. A process that dies makes the others raise ``DistributedTrainingError``.

    Attributes
    ----------
    module_ : SLNN
        The fitted network (input/output standardisation included).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X has string feature names.
    n_outputs_ : int
    loss_curve_ : list of float
        Training loss (mean squared error on standardised targets) per epoch.
    validation_loss_curve_ : list of float
        Validation loss per epoch (empty without early stopping).
    validation_scores_ : list of float or None
        Validation R^2 per epoch (``None`` when the fit held nothing out).
    best_validation_score_ : float or None
    best_loss_ : float
        Lowest training loss reached.
    loss_ : float
        Training loss of the last epoch.
    coefs_, intercepts_ : list of ndarray
        Weights ``(n_in, n_out)`` and biases of the linear layers, read-only views (as
        ``MLPRegressor``'s; on standardised inputs and targets).
    n_layers_ : int
        Layers, input and output included.
    out_activation_ : str
        ``"identity"``.
    n_iter_ : int
        Epochs run.
    t_ : int
        Training samples seen.
    device_ : torch.device
    activation_coefs_ : list of ndarray or None
        Effective coefficients of each hidden layer's SLAF.

    See Also
    --------
    SLNNClassifier : the classifier.
    sklearn.neural_network.MLPRegressor : fixed-activation multi-layer perceptron.

    References
    ----------
    .. [1] M. Goyal, R. Goyal and B. Lall, "Learning Activation Functions: A new paradigm for
       understanding Neural Networks", arXiv:1906.09529, 2019.
    .. [2] S. Hayou, A. Doucet and J. Rousseau, "On the Impact of the Activation Function on
       Deep Neural Networks Training", ICML 2019 (arXiv:1805.08266): ``weight_init="edge_of_chaos"``.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklearn_slaf import SLNNRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
    >>> reg = SLNNRegressor(degree=2, random_state=0).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    >>> reg.module_.total_degree
    2
    """

    @property
    def out_activation_(self) -> str:
        """``"identity"``: the output layer is linear (``MLPRegressor``'s name)."""
        check_is_fitted(self, "module_")
        return "identity"

    def _y_validation(self) -> dict:
        return {"multi_output": True, "y_numeric": True}

    def _encode_targets(self, y, *, first: bool, classes=None) -> np.ndarray:
        Y = np.asarray(y, dtype=np.float64)
        Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
        if first:
            self._y_ndim = np.ndim(y)
            self.n_outputs_ = Y.shape[1]
        elif Y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {Y.shape[1]} outputs, but the model was fitted with {self.n_outputs_}.")
        return Y

    def _raw_targets(self, Y):
        return Y

    def _output_scaling(self, Y, sw):
        return _weighted_scaling(Y, sw)

    def _make_loss(self) -> SquaredError:
        return SquaredError(self.module_)

    @torch.no_grad()
    def _score_module(self, module, Xv, yv, wv) -> float:
        module.eval()
        pred = module(Xv).double().cpu().numpy()
        if not np.isfinite(pred).all():  # a step went non-finite after its loss was measured: the guard's case
            return -np.inf
        return r2_score(yv, pred, wv)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), optional
            Per-sample weights of the squared error.

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Run one epoch over the given data, starting from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predict targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        out = self._forward(X)
        return out[:, 0] if self._y_ndim == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
