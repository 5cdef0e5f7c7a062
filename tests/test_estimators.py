import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_diabetes, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_is_fitted

from sklearn_slaf import SLNNClassifier, SLNNRegressor, TrainingDivergedError
from sklearn_slaf.training import TrainConfig, Trainer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
FAST = {"hidden_layer_sizes": (16,), "max_iter": 30, "device": "cpu", "random_state": 0, "early_stopping": False}


@pytest.fixture(scope="module")
def reg_data():
    X, y = make_regression(n_samples=240, n_features=6, noise=5.0, random_state=0)
    return X, y


@pytest.fixture(scope="module")
def clf_data():
    X, y = make_classification(n_samples=240, n_features=6, n_informative=4, n_classes=3, random_state=0)
    return X, np.array(["ant", "bee", "cat"])[y]


def test_regressor_learns_and_beats_mean(reg_data):
    X, y = reg_data
    reg = SLNNRegressor(**{**FAST, "max_iter": 150}).fit(X, y)
    assert reg.score(X, y) > 0.9
    assert reg.loss_curve_[-1] < reg.loss_curve_[0]
    assert reg.n_iter_ == len(reg.loss_curve_) and reg.t_ == reg.n_iter_ * len(X)
    assert reg.device_ == torch.device("cpu")
    assert [a.shape for a in reg.activation_coefs_] == [(1, 3)]


def test_multi_output_regression(reg_data):
    X, y = reg_data
    Y = np.column_stack([y, -2 * y + 1])
    reg = SLNNRegressor(**FAST).fit(X, Y)
    assert reg.predict(X).shape == (len(X), 2) and reg.n_outputs_ == 2


def test_classifier_string_labels_and_probabilities(clf_data):
    X, y = clf_data
    clf = SLNNClassifier(**{**FAST, "max_iter": 100, "learning_rate_init": 1e-2}).fit(X, y)
    assert list(clf.classes_) == ["ant", "bee", "cat"]
    assert set(clf.predict(X)) <= set(clf.classes_)
    assert clf.score(X, y) > 0.8
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.log(proba), clf.predict_log_proba(X), rtol=1e-9, atol=1e-12)
    assert clf.decision_function(X).shape == (len(X), 3)


def test_binary_classifier_has_one_logit(clf_data):
    X, y = clf_data
    mask = y != "cat"
    clf = SLNNClassifier(**FAST).fit(X[mask], y[mask])
    d = clf.decision_function(X[mask])
    assert d.shape == (mask.sum(),) and clf.module_.n_outputs == 1
    np.testing.assert_allclose(clf.predict_proba(X[mask])[:, 1], 1 / (1 + np.exp(-d)), rtol=1e-12)
    np.testing.assert_array_equal(clf.predict(X[mask]), np.where(d > 0, "bee", "ant"))


def test_pipeline_gridsearch_parallel_and_cross_validate(reg_data):
    X, y = reg_data
    pipe = make_pipeline(StandardScaler(), SLNNRegressor(**FAST))
    grid = GridSearchCV(pipe, {"slnnregressor__degree": [1, 2], "slnnregressor__basis": ["power", "chebyshev"]},
                        cv=2, n_jobs=2).fit(X, y)
    assert grid.best_params_["slnnregressor__degree"] in (1, 2)
    res = cross_validate(SLNNRegressor(**FAST), X, y, cv=3)
    assert np.isfinite(res["test_score"]).all()


def test_pickle_round_trip_is_exact_and_small(reg_data):
    X, y = reg_data
    reg = SLNNRegressor(**FAST).fit(X, y)
    blob = pickle.dumps(reg)
    back = pickle.loads(blob)
    np.testing.assert_array_equal(back.predict(X), reg.predict(X))
    n_params = sum(p.numel() for p in reg.module_.parameters())
    assert len(blob) < 20_000 + 40 * n_params  # no optimiser moments in the pickle
    back.partial_fit(X, y)  # the optimiser is rebuilt on demand
    assert back.n_iter_ == reg.n_iter_ + 1


def test_random_state_gives_bit_identical_fits_and_spares_global_rng(reg_data):
    X, y = reg_data
    state = torch.get_rng_state()
    a = SLNNRegressor(**FAST).fit(X, y)
    b = clone(a).fit(X, y)
    assert torch.equal(state, torch.get_rng_state())
    for u, v in zip(a.module_.state_dict().values(), b.module_.state_dict().values()):
        assert torch.equal(u, v)
    c = clone(a).set_params(random_state=1).fit(X, y)
    assert not np.array_equal(a.predict(X), c.predict(X))


def test_partial_fit_sequence_and_warm_start(reg_data, clf_data):
    X, y = reg_data
    reg = SLNNRegressor(**FAST)
    losses = [reg.partial_fit(X, y).loss_curve_[-1] for _ in range(15)]
    assert reg.n_iter_ == 15 and losses[-1] < losses[0]
    with pytest.raises(ValueError, match="features"):
        reg.partial_fit(X[:, :3], y)
    warm = SLNNRegressor(**{**FAST, "warm_start": True, "max_iter": 5}).fit(X, y)
    first = warm.loss_curve_[-1]
    warm.fit(X, y)
    assert warm.n_iter_ == 10 and warm.loss_curve_[5] < 1.5 * first
    Xc, yc = clf_data
    clf = SLNNClassifier(**FAST)
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(Xc, yc)
    clf.partial_fit(Xc[:50], yc[:50], classes=np.unique(yc)).partial_fit(Xc[50:], yc[50:])
    assert clf.n_iter_ == 2 and list(clf.classes_) == ["ant", "bee", "cat"]


def test_partial_fit_keeps_the_optimiser_and_warm_start_renews_it(reg_data):
    X, y = reg_data
    reg = SLNNRegressor(**{**FAST, "batch_size": 50})
    steps = reg.partial_fit(X, y)._state.optimizer.state["step"]
    assert steps == -(-len(X) // 50)
    assert reg.partial_fit(X, y)._state.optimizer.state["step"] == 2 * steps  # Adam's moments carry on
    warm = SLNNRegressor(**{**FAST, "warm_start": True, "max_iter": 2}).fit(X, y)
    first = warm._state.optimizer
    warm.set_params(learning_rate_init=1e-4).fit(X, y)  # as MLPRegressor: a fresh optimiser, new settings
    assert warm._state.optimizer is not first and warm._state.optimizer.lr == 1e-4


def test_early_stopping_tracks_validation(reg_data):
    X, y = reg_data
    reg = SLNNRegressor(**{**FAST, "early_stopping": True, "max_iter": 200, "n_iter_no_change": 5}).fit(X, y)
    assert len(reg.validation_scores_) == reg.n_iter_ == len(reg.validation_loss_curve_)
    assert reg.best_validation_score_ == max(reg.validation_scores_)
    assert reg.t_ == reg.n_iter_ * (len(X) - round(0.1 * len(X)))
    first = reg.n_iter_
    reg.set_params(warm_start=True).fit(X, y)  # a warm-started fit still holds out and early-stops
    assert len(reg.validation_scores_) == reg.n_iter_ > first
    assert reg.best_validation_score_ == max(reg.validation_scores_[first:])


def test_trainer_restores_best_weights():
    torch.manual_seed(0)
    module = torch.nn.Linear(3, 1)
    X, Y = torch.randn(40, 3), torch.randn(40, 1)
    snapshots, scores = [], iter([0.1, 0.9, 0.3, 0.2, 0.2, 0.1, 0.0])

    def score(m):
        snapshots.append(m.weight.detach().clone())
        return next(scores)

    cfg = TrainConfig(max_iter=7, n_iter_no_change=100, batch_size=8, learning_rate=0.1)
    loss = lambda out, t: (out - t).square().mean(1)
    Trainer(module, loss, cfg, torch.Generator().manual_seed(0)).run(X, Y, validation=(X, Y, None),
                                                                   score_fn=score, early_stopping=True)
    assert torch.equal(module.weight, snapshots[1])


def test_keyboard_interrupt_keeps_a_usable_model(reg_data, monkeypatch):
    X, y = reg_data
    real, calls = Trainer.train_epoch, []

    def flaky(self, *a):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(self, *a)

    monkeypatch.setattr(Trainer, "train_epoch", flaky)
    with pytest.warns(RuntimeWarning, match="interrupted"):
        reg = SLNNRegressor(**FAST).fit(X, y)
    assert reg.n_iter_ == 3 and np.isfinite(reg.predict(X)).all()


def test_divergence_is_recovered_or_reported(reg_data):
    X, y = reg_data
    reg = SLNNRegressor(**{**FAST, "normalize_basis": False, "degree": 7, "learning_rate_init": 5.0,
                           "solver": "sgd", "alpha": 1e-4})
    try:
        with pytest.warns(RuntimeWarning, match="non-finite loss"):
            reg.fit(X * 50, y)
    except TrainingDivergedError as exc:
        assert "learning_rate_init" in str(exc)
    else:
        assert np.isfinite(reg.predict(X)).all()


def test_divergence_error_when_nothing_helps(reg_data, monkeypatch):
    X, y = reg_data
    monkeypatch.setattr(Trainer, "train_epoch", lambda self, *a: float("nan"))
    reg = SLNNRegressor(**FAST)
    with pytest.raises(TrainingDivergedError, match="clip_grad_norm"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        reg.fit(X, y)
    with pytest.raises(NotFittedError):  # a failed first fit leaves the estimator unfitted
        check_is_fitted(reg)


def test_divergence_rolls_back_to_weights_with_a_sane_loss():
    # one batch per epoch: the weights at the end of an epoch are never measured, and the last
    # finite loss on the way to divergence can be astronomical; the back-off must recover anyway
    rng = np.random.RandomState(0)
    X = rng.randn(100, 5)
    y = X @ rng.randn(5) + 0.1 * rng.randn(100)
    reg = SLNNRegressor(hidden_layer_sizes=(16,), solver="sgd", learning_rate_init=3.0, alpha=1e-4, max_iter=200,
                        batch_size=100, early_stopping=False, n_iter_no_change=10, device="cpu", random_state=0)
    with pytest.warns(RuntimeWarning, match="non-finite loss"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y)
    assert reg._state.backoffs >= 1 and min(reg.loss_curve_) < 0.05 * reg.loss_curve_[0]
    assert np.isfinite(reg.predict(X)).all()


def test_warm_start_clears_back_off_and_interrupt_records(reg_data):
    X, y = reg_data
    reg = SLNNRegressor(**{**FAST, "warm_start": True, "max_iter": 2})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y)
        reg._state.backoffs, reg._state.interrupted = 5, True
        reg.fit(X, y)
    assert reg._state.backoffs == 0 and not reg._state.interrupted


def test_all_zero_weight_batches_count_for_nothing():
    rng = np.random.RandomState(0)
    X = rng.randn(400, 5)
    y = X @ rng.randn(5)
    sw = np.r_[np.zeros(200), np.ones(200)]  # valid: only the total must be positive
    for batch, shuffle in ((200, False), (4, True)):
        reg = SLNNRegressor(hidden_layer_sizes=(16,), batch_size=batch, shuffle=shuffle, max_iter=5,
                            device="cpu", random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # no back-off either
            warnings.simplefilter("ignore", ConvergenceWarning)
            reg.fit(X, y, sample_weight=sw)
        assert np.isfinite(reg.loss_curve_).all() and np.isfinite(reg.predict(X)).all()


def test_batch_size_one_needs_a_network_without_batch_statistics(reg_data):
    X, y = reg_data
    X, y = X[:20], y[:20]
    for act in ("slaf", "relu+bn"):
        with pytest.raises(ValueError, match="batch_size=1"):
            SLNNRegressor(**{**FAST, "batch_size": 1, "hidden_activation": act}).fit(X, y)
    with pytest.raises(ValueError, match="batch_size=1"):
        SLNNRegressor(**{**FAST, "batch_size": 1, "hidden_activation": "relu+bn"}).partial_fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for kw in ({"hidden_activation": "relu"}, {"normalize_basis": False}, {"solver": "lbfgs"}):
            SLNNRegressor(**{**FAST, "batch_size": 1, "max_iter": 2, **kw}).fit(X, y)
        # partial_fit trains and predicts on the running statistics alike (no closing recalibration)
        SLNNRegressor(**{**FAST, "batch_size": 1}).partial_fit(X, y)


def test_partial_fit_recovers_after_a_non_finite_last_step(reg_data, monkeypatch):
    X, y = reg_data
    reg = SLNNRegressor(**{**FAST, "batch_size": len(X)}).partial_fit(X, y)
    real, calls = Trainer.train_step, []

    def poison(self, *a):
        loss = real(self, *a)
        if not calls:  # the first step of the next call leaves NaN weights and moments
            calls.append(1)
            self.solver.flat.grad.fill_(float("nan"))
            self.state.optimizer.step(self.solver.flat)
        return loss

    monkeypatch.setattr(Trainer, "train_step", poison)
    with pytest.warns(RuntimeWarning, match="non-finite weights"):
        reg.partial_fit(X, y)
    before = [p.detach().clone() for p in reg.module_.parameters()]
    reg.partial_fit(X, y)  # the optimiser's moments were reset with the weights: training goes on
    assert all(torch.isfinite(p).all() for p in reg.module_.parameters())
    assert any(not torch.equal(p, b) for p, b in zip(reg.module_.parameters(), before))


def test_freezing_between_partial_fit_calls(reg_data):
    X, y = reg_data
    reg = SLNNRegressor(**{**FAST, "coef_alpha": 1e-3}).partial_fit(X, y)
    layer = reg.module_.activations[0]
    layer.coef.requires_grad_(False)
    frozen = layer.coef.detach().clone()
    reg.partial_fit(X, y)  # a fresh optimiser for the new set of trainable parameters; no penalty on frozen ones
    assert torch.equal(layer.coef, frozen)


def test_sample_weight_is_honoured():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3))
    Xd = np.vstack([X, X])
    yd = np.r_[np.zeros(100), np.full(100, 10.0)]
    w = np.r_[np.ones(100), np.full(100, 3.0)]
    reg = SLNNRegressor(**{**FAST, "max_iter": 100, "degree": 1}).fit(Xd, yd, sample_weight=w)
    np.testing.assert_allclose(reg.predict(X).mean(), 7.5, atol=0.3)
    with pytest.raises(ValueError, match="non-zero|positive"):
        reg.fit(Xd, yd, sample_weight=np.zeros(200))


def test_coef_penalty_shrinks_activation_coefficients(reg_data):
    X, y = reg_data
    base = SLNNRegressor(**{**FAST, "degree": 5}).fit(X, y)
    l1 = clone(base).set_params(coef_alpha=0.05, coef_penalty="l1").fit(X, y)
    l2 = clone(base).set_params(coef_alpha=0.05, coef_penalty="l2").fit(X, y)
    size = lambda est: np.abs(est.activation_coefs_[0][0, 1:]).sum()
    assert size(l1) < size(base) and size(l2) < size(base)


@pytest.mark.parametrize("kw", [{"solver": "lbfgs"}, {"solver": "sgd"}, {"dtype": "float64"},
                                {"clip_grad_norm": 1.0, "coef_learning_rate": 1e-2},
                                {"hidden_activation": ("slaf", "relu+bn"), "hidden_layer_sizes": (8, 8),
                                 "degree": (3, 1)}])
def test_options_fit(reg_data, kw):
    X, y = reg_data
    reg = SLNNRegressor(**{**FAST, **kw}).fit(X, y)
    assert np.isfinite(reg.predict(X)).all() and reg.score(X, y) > 0


def test_verbose_progress_bar(reg_data, capsys):
    X, y = reg_data
    SLNNRegressor(**{**FAST, "max_iter": 3}).fit(X, y)
    assert capsys.readouterr() == ("", "")
    SLNNRegressor(**{**FAST, "max_iter": 3, "verbose": 1}).fit(X, y)
    assert "loss" in capsys.readouterr().err


def test_convergence_warning_and_bad_parameters(reg_data):
    X, y = reg_data
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        SLNNRegressor(**{**FAST, "max_iter": 2}).fit(X, y)
    with pytest.raises(InvalidParameterError, match="solver"):
        SLNNRegressor(solver="rmsprop").fit(X, y)
    with pytest.raises(InvalidParameterError, match="learning_rate_init"):
        SLNNRegressor(learning_rate_init=-1).fit(X, y)
    with pytest.raises(ValueError, match="hidden_activation"):
        SLNNRegressor(hidden_activation="swoosh", **FAST).fit(X, y)
    with pytest.raises(ValueError, match="CUDA is not available|cuda"):
        if torch.cuda.is_available():
            pytest.skip("CUDA present")
        SLNNRegressor(device="cuda").fit(X, y)
    with pytest.raises(ValueError, match="device"):
        SLNNRegressor(device="tpu").fit(X, y)


def test_diabetes_is_competitive_with_linear_regression():
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import train_test_split

    X, y = load_diabetes(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=0)
    lin = LinearRegression().fit(Xtr, ytr).score(Xte, yte)
    reg = SLNNRegressor(hidden_layer_sizes=(16,), degree=2, early_stopping=True, random_state=0,
                        device="cpu").fit(Xtr, ytr)
    assert reg.score(Xte, yte) > lin - 0.08


@pytest.mark.gpu
def test_cuda_fit_pickles_to_cpu(reg_data, monkeypatch):
    X, y = reg_data
    reg = SLNNRegressor(**{**FAST, "device": "cuda"}).fit(X, y)
    blob = pickle.dumps(reg)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(RuntimeWarning, match="CPU"):
        back = pickle.loads(blob)
    assert back.device_.type == "cpu"
    np.testing.assert_allclose(back.predict(X), reg.predict(X), rtol=1e-5, atol=1e-5 * np.abs(y).max())


def test_edge_of_chaos_initialisation_through_the_estimators(reg_data, clf_data):
    from sklearn_slaf import edge_of_chaos_per_layer, propagation

    X, y = reg_data
    kw = {**FAST, "hidden_layer_sizes": (32, 32), "weight_init": "edge_of_chaos", "activation_init": "tanh"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # fallbacks to the nearest stable point are announced
        reg = SLNNRegressor(**kw).fit(X, y)
        clf = SLNNClassifier(**kw).fit(*clf_data)
    assert np.isfinite(reg.predict(X)).all() and clf.score(*clf_data) > 0.5
    w = reg.module_.hidden[1].weight.detach()
    assert 0.5 < float(w.std() * np.sqrt(32)) < 3.0  # sigma_w of a stable EOC point, not Xavier's
    per_layer = edge_of_chaos_per_layer(reg, sigma_b=0.3)
    assert len(per_layer) == 2
    z, wz = np.polynomial.hermite_e.hermegauss(40)
    wz = wz / np.sqrt(2 * np.pi)
    for points, layer in zip(per_layer, reg.module_.slaf_layers):
        coefs = layer.power_coefficients()  # the fitted layer's own polynomial, per unit
        assert points
        for pt in points:  # each point solves the EOC equations (Gauss-Hermite oracle, exact here)
            x = np.sqrt(pt.q_star) * z
            phi2 = np.mean([wz @ np.polynomial.polynomial.polyval(x, c) ** 2 for c in coefs])
            dphi2 = np.mean([wz @ np.polynomial.polynomial.polyval(x, np.polynomial.polynomial.polyder(c)) ** 2
                             for c in coefs])
            assert pt.sigma_w**2 * dphi2 == pytest.approx(1.0, rel=1e-9)
            assert 0.09 + pt.sigma_w**2 * phi2 == pytest.approx(pt.q_star, rel=1e-9)
    prop = propagation(reg, X[:20])
    assert np.isfinite(prop.q_measured).all() and len(prop.q_measured) == 2


def test_layer_options_reach_every_slaf_layer(reg_data):
    X, y = reg_data
    kw = {**FAST, "hidden_layer_sizes": (8, 4), "hidden_activation": ("slaf", "slaf"), "max_iter": 1,
          "learning_rate_init": 1e-12, "normalize_momentum": 0.3, "normalize_eps": 1e-3, "gate": True,
          "init_std": 0.0, "normalize_basis": True, "activation_init": "identity", "degree": 3}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = SLNNRegressor(**kw).fit(X, y)
    for layer in reg.module_.slaf_layers:
        assert (layer.normalize_momentum, layer.normalize_eps) == (0.3, 1e-3)
        assert layer.gate_logit is not None
        # init_std=0: the identity fit exactly, x = sqrt(var + eps) z_1 with var = 1 under N(0, 1),
        # untouched by a 1e-12 rate; eps reaches the fit too
        eff = layer.effective_coefficients().detach().double()
        ident = torch.tensor([[(1 + 1e-3) ** 0.5, 0.0, 0.0]], dtype=torch.float64)
        torch.testing.assert_close(eff, ident, atol=1e-6, rtol=0)
    noisy = SLNNRegressor(**{**kw, "init_std": 0.5}).fit(X, y)
    spread = noisy.module_.slaf_layers[0].effective_coefficients().detach().double()
    assert float((spread - ident).abs().max()) > 0.05
