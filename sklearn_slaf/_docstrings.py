"""The estimators' parameter documentation, written once and rendered for each estimator.

:class:`~sklearn_slaf.SLNNRegressor` and :class:`~sklearn_slaf.SLNNClassifier` share every
parameter (:class:`~sklearn_slaf._base.BaseSLNN` holds them); their docstrings carry a
``%(parameters)s`` line that :func:`shared_parameters` replaces with :data:`PARAMETERS`,
filled with what differs between the two (the scikit-learn MLP they mirror, what early
stopping monitors). ``inspect.getdoc``, ``help`` and the API pages show the rendered text.
"""

from __future__ import annotations

import string
import textwrap

__all__ = ["PARAMETERS", "REFERENCES", "shared_parameters"]

MARKER = "%(parameters)s"
REFERENCES_MARKER = "%(references)s"
# the papers both estimators implement, as their numpydoc ``References`` entries
REFERENCES = """\
.. [1] M. Goyal, R. Goyal and B. Lall, "Learning Activation Functions: A new paradigm for
   understanding Neural Networks", arXiv:1906.09529, 2019.
.. [2] S. Hayou, A. Doucet and J. Rousseau, "On the Impact of the Activation Function on
   Deep Neural Networks Training", ICML 2019 (arXiv:1805.08266): ``weight_init="edge_of_chaos"``.
"""

# numpydoc entries, unindented; $mlp and ${early_stopping} differ between the estimators
PARAMETERS = string.Template("""\
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
    Learning-rate schedule (``$mlp``'s names; for "adam" and "sgd", not
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
    Momentum of the ``"sgd"`` solver (the other solvers ignore it).
nesterovs_momentum : bool, default=True
    Nesterov's momentum for SGD (when ``momentum > 0``).
coef_learning_rate : float or None, default=None
    Learning rate of the activation parameters (``None``: same as the weights).
alpha : float or "auto", default="auto"
    Decoupled weight decay on the linear weights, ``w <- w (1 - lr * alpha)`` each
    step (AdamW's; biases and activation coefficients are not decayed). Decoupled, it
    is not ``$mlp``'s L2 penalty and its scale differs: ``"auto"`` is 3.0,
    which at the default rate shrinks the weights by 0.3% a step and keeps the
    polynomial from overfitting. For ``"lbfgs"`` it is an L2 penalty
    ``alpha / 2 ||w||^2`` in the loss, and ``"auto"`` is ``$mlp``'s 1e-4.
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
${early_stopping}validation_fraction : float, default=0.1
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
extrapolation : {"constant", "continue"}, default="constant"
    What a polynomial SLAF layer does, in ``predict``, with a pre-activation beyond the
    range it took on the training rows (``preactivation_range_``): ``"constant"`` holds
    the activation at its value on the nearer end of that range (the inputs are
    clamped, as :class:`~sklearn.preprocessing.SplineTransformer`'s
    ``extrapolation="constant"``); ``"continue"`` evaluates the polynomial there, where
    it grows fast, and warns with :class:`ExtrapolationWarning`. Inside the range both
    are the same function, so :class:`PolynomialFeatureEquivalent` reproduces the
    model there either way, and beyond it only with ``"continue"``. Takes effect at
    the next ``fit``.
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
""")

_EARLY_STOPPING = {
    "regressor": """\
early_stopping : bool or "auto", default="auto"
    Hold out ``validation_fraction`` of the data, stop when the validation R^2 stops
    improving, and restore the weights of the best epoch (scored as the model
    predicts, so the returned model scores ``best_validation_score_`` there).
    ``"auto"``: on from 100 samples.
""",
    "classifier": """\
early_stopping : bool or "auto", default="auto"
    Hold out ``validation_fraction`` of the data (a split stratified by class where the
    class counts allow it), stop when the validation accuracy stops improving, and
    restore the weights of the best epoch (so the returned model scores
    ``best_validation_score_`` there). ``"auto"`` is *off* for the classifier, at any
    size: an accuracy on a tenth of the rows moves in steps too coarse to stop on, and
    the weight decay regularises (the suite's cross-validation: digits 0.961 with it,
    0.979 without). Pass ``True`` to use it.
""",
}
_MLP = {"regressor": "MLPRegressor", "classifier": "MLPClassifier"}


def parameters(kind: str) -> str:
    """The numpydoc ``Parameters`` entries of ``kind`` (``"regressor"`` or ``"classifier"``), unindented.

    Examples
    --------
    >>> from sklearn_slaf._docstrings import parameters
    >>> text = parameters("classifier")
    >>> text.splitlines()[0]
    'hidden_layer_sizes : int or sequence of int, default=(128,)'
    >>> "validation accuracy" in text, "validation R^2" in parameters("regressor")
    (True, True)
    """
    return PARAMETERS.substitute(mlp=_MLP[kind], early_stopping=_EARLY_STOPPING[kind])


def shared_parameters(kind: str):
    """Class decorator: replace the docstring's ``%(parameters)s`` line with :func:`parameters`.

    A ``%(references)s`` line becomes :data:`REFERENCES`, the papers both estimators cite.
    The entries are indented as the marker line is. A docstring without the markers (or
    none, under ``python -OO``) is left as it is.

    Examples
    --------
    >>> import inspect
    >>> from sklearn_slaf._docstrings import shared_parameters
    >>> @shared_parameters("regressor")
    ... class Model:
    ...     '''A model.
    ...
    ...     Parameters
    ...     ----------
    ...     %(parameters)s
    ...     '''
    >>> inspect.getdoc(Model).splitlines()[4]
    'hidden_layer_sizes : int or sequence of int, default=(128,)'
    """
    texts = {MARKER: parameters(kind), REFERENCES_MARKER: REFERENCES}

    def decorate(cls):
        doc = cls.__doc__
        if doc:
            lines = doc.splitlines(keepends=True)
            for i, line in enumerate(lines):
                text = texts.get(line.strip())
                if text is not None:
                    indent = line[: len(line) - len(line.lstrip())]
                    lines[i] = textwrap.indent(text, indent)
            cls.__doc__ = "".join(lines)
        return cls

    return decorate
