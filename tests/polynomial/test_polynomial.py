"""The exact polynomial form of an SLNN: algebra, expansion, transformer, least-squares comparison.

Oracles: the network's own forward pass (an independent nested evaluation), brute-force
exponent arithmetic, sympy's symbolic expansion, scikit-learn's PolynomialFeatures.
"""

import pickle
import warnings
from math import comb

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from numpy.polynomial import polynomial as P
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Lasso, LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_slaf import SLNNClassifier, SLNNRegressor
from sklearn_slaf.network import SLNN
from sklearn_slaf.polynomial import (
    ConditioningWarning,
    PolynomialFeatureEquivalent,
    compare_with_least_squares,
    expand_network,
)
from sklearn_slaf.polynomial._algebra import MonomialIndex, n_monomials

F64 = torch.float64
POLY_BASES = ["power", "taylor", "hermite", "chebyshev", "legendre"]
QUIET = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def random_net(n, sizes, degree, *, basis="power", n_outputs=1, seed=0, **kw):
    """A float64 SLNN with non-trivial running statistics and input/output scaling, in eval mode."""
    g = gen(seed)
    net = SLNN(n, sizes, n_outputs, degree=degree, basis=basis, dtype=F64, generator=g, init_std=0.5,
               weight_init="default", **kw)
    net.train()(torch.randn(256, n, dtype=F64, generator=g) * 1.5 + 0.3)
    net.set_scaling(
        input_offset=torch.randn(n, dtype=F64, generator=g),
        input_scale=torch.rand(n, dtype=F64, generator=g) + 0.5,
        output_offset=torch.randn(n_outputs, dtype=F64, generator=g),
        output_scale=torch.rand(n_outputs, dtype=F64, generator=g) + 0.5,
    )
    return net.eval()


def net_output(net, X):
    with torch.no_grad():
        return net(torch.as_tensor(X, dtype=F64)).numpy()


def rel_err(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


# ----------------------------------------------------------------------------- the graded index
@pytest.mark.parametrize("n, D", [(1, 6), (2, 4), (3, 5), (6, 3), (13, 2)])
def test_monomial_order_is_polynomial_features_order(n, D):
    idx = MonomialIndex(n, D)
    assert idx.size(D) == n_monomials(n, D) == comb(n + D, D)
    np.testing.assert_array_equal(idx.powers, PolynomialFeatures(D).fit(np.zeros((1, n))).powers_)


@pytest.mark.parametrize("n, D", [(1, 5), (3, 4), (4, 3)])
def test_pair_maps_against_exponent_arithmetic(n, D):
    idx = MonomialIndex(n, D)
    where = {tuple(p): i for i, p in enumerate(idx.powers.astype(int))}
    for a in range(D + 1):
        for b in range(D + 1 - a):
            M = idx.pair_map(a, b)
            want = [[where[tuple(idx.powers[i].astype(int) + idx.powers[j])] for i in range(M.shape[1])]
                    for j in range(M.shape[0])]
            np.testing.assert_array_equal(M, want)


def test_rowmul_gram_and_evaluate_against_pointwise_products():
    rng = np.random.default_rng(0)
    idx = MonomialIndex(3, 5)
    A, B = rng.normal(size=(4, idx.size(3))), rng.normal(size=(4, idx.size(2)))
    T = rng.normal(size=(6, 3))
    F = idx.evaluate(T)
    np.testing.assert_allclose(F, np.prod(T[:, None, :] ** idx.powers[None], axis=2), rtol=1e-13)
    C = idx.rowmul(A, 3, B, 2)
    np.testing.assert_allclose(F @ C.T, (F[:, : A.shape[1]] @ A.T) * (F[:, : B.shape[1]] @ B.T), rtol=1e-11)
    c, out = rng.normal(size=4), np.zeros(idx.size(5))
    idx.gram_scatter(A, 3, B, 2, c, out, block=7)  # tiny blocks exercise the blocking
    np.testing.assert_allclose(out, C.T @ c, rtol=1e-11, atol=1e-13)


def test_affine_substitution_against_evaluation():
    rng = np.random.default_rng(1)
    idx = MonomialIndex(3, 4)
    coef = rng.normal(size=(2, idx.size(4)))
    alpha, beta = rng.uniform(0.5, 2, 3), rng.normal(size=3)
    X = rng.normal(size=(9, 3))
    raw = idx.substitute_affine(coef, alpha, beta)
    np.testing.assert_allclose(idx.evaluate(X) @ raw.T, idx.evaluate(alpha * X + beta) @ coef.T, rtol=1e-11)


# ----------------------------------------------------------------------------- network expansion
CASES = [
    # n inputs, hidden sizes, degrees  (total degree, monomials)
    (1, (3,), 2),  # 2, 3
    (20, (6,), 3),  # 3, 1771
    (7, (5, 4), (2, 3)),  # 6, 1716
    (4, (6, 5, 3), (2, 2, 2)),  # 8, 495
    (3, (5, 4), (3, 4)),  # 12, 455
    (2, (4, 3, 3), (2, 3, 2)),  # 12, 91
    (5, (), 2),  # linear model: 1, 6
]


@pytest.mark.parametrize("basis", POLY_BASES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"n{c[0]}-{c[1]}-{c[2]}")
@pytest.mark.parametrize("sharing", ["layer", "unit"])
def test_expansion_reproduces_network(case, basis, sharing):
    n, sizes, degree = case
    n_out = 1 + len(sizes) % 3
    net = random_net(n, sizes, degree, basis=basis, n_outputs=n_out, coef_sharing=sharing, seed=len(sizes))
    X = (net.input_offset + net.input_scale * torch.randn(40, n, dtype=F64, generator=gen(7))).numpy()
    poly = expand_network(net)
    assert poly.degree == (net.total_degree or 1)
    assert poly.coef.shape == (n_out, comb(n + poly.degree, poly.degree))
    assert rel_err(poly(X), net_output(net, X)) < 1e-9


def test_expansion_mixed_bases_gate_unnormalised_and_batchnorm():
    net = random_net(3, (6, 5), (3, 2), basis=("chebyshev", "hermite"), n_outputs=2, gate=True,
                     hidden_activation=("slaf", "slaf+bn"), coef_sharing="unit")
    X = np.random.default_rng(0).normal(size=(30, 3))
    assert rel_err(expand_network(net)(X), net_output(net, X)) < 1e-9
    net = random_net(4, (5, 3), (2, 2), basis="legendre", normalize_basis=False)
    assert rel_err(expand_network(net)(X[:, [0, 1, 2, 0]]), net_output(net, X[:, [0, 1, 2, 0]])) < 1e-9


def test_raw_coordinates_fold_the_input_scaling():
    net = random_net(3, (5, 4), (2, 3), basis="chebyshev", n_outputs=2)
    X = (net.input_offset + net.input_scale * torch.randn(30, 3, dtype=F64, generator=gen(3))).numpy()
    raw = expand_network(net, coordinates="raw")
    np.testing.assert_array_equal(raw.variables(X), X)
    assert rel_err(raw(X), net_output(net, X)) < 1e-9


def test_expansion_leaves_module_untouched():
    net = SLNN(3, (4,), degree=2)  # float32, training mode
    before = {k: v.clone() for k, v in net.state_dict().items()}
    expand_network(net)
    assert net.training and next(net.parameters()).dtype == torch.float32
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k])


def test_tiny_network_symbolically():
    """1 input, one SLAF of degree 2: the expansion against sympy's expansion of the formula."""
    sympy = pytest.importorskip("sympy")
    net = SLNN(1, (1,), degree=2, dtype=F64, generator=gen(), init_std=0.3, normalize_eps=1e-5)
    with torch.no_grad():
        net.hidden[0].weight.fill_(1.5)
        net.hidden[0].bias.fill_(-0.25)
        slaf = net.activations[0]
        slaf.coef.copy_(torch.tensor([[0.75, -1.25]]))
        slaf.bias.fill_(0.5)
        slaf.running_mean.copy_(torch.tensor([[0.125, 2.0]]))
        slaf.running_var.copy_(torch.tensor([[4.0, 0.5]]))
        net.output.weight.fill_(2.0)
        net.output.bias.fill_(0.25)
    net.set_scaling(input_offset=[3.0], input_scale=[2.0], output_offset=[10.0], output_scale=[0.5])
    net.eval()
    x, t = sympy.symbols("x t")
    R = sympy.Rational
    eps = R(1, 10**5)
    z = R(3, 2) * t - R(1, 4)
    f = R(1, 2) + R(3, 4) * (z - R(1, 8)) / sympy.sqrt(4 + eps) - R(5, 4) * (z**2 - 2) / sympy.sqrt(R(1, 2) + eps)
    y_t = sympy.expand((2 * f + R(1, 4)) * R(1, 2) + 10)
    y_x = sympy.expand(y_t.subs(t, (x - 3) / 2))
    for coords, expr, var in (("standardized", y_t, t), ("raw", y_x, x)):
        poly = expand_network(net, coordinates=coords)
        want = [float(sympy.Poly(expr, var).coeff_monomial(var**k)) for k in range(3)]
        np.testing.assert_allclose(poly.coef[0], want, rtol=1e-14)
    # the same through the tiny net's own numbers, with numpy.polynomial as a second oracle
    p_act = slaf.power_coefficients()[0]
    np.testing.assert_allclose(P.polyval(0.7, poly.coef[0]), net_output(net, [[0.7]])[0, 0], rtol=1e-14)
    assert p_act.shape == (3,)


# ----------------------------------------------------------------------------- refusals
def test_refuses_hybrid_fourier_and_too_many_terms():
    with pytest.raises(ValueError, match="hidden layer 1 uses a ReLU activation"):
        expand_network(SLNN(3, (4, 4), hidden_activation=("slaf", "relu")))
    with pytest.raises(ValueError, match="hidden layer 0 uses a ReLU activation"):
        expand_network(SLNN(3, (4,), hidden_activation="relu+bn"))
    with pytest.raises(ValueError, match="basis='fourier'.*not a polynomial"):
        expand_network(SLNN(3, (4,), basis="fourier"))
    with pytest.raises(ValueError, match=r"C\(64\+8, 8\) = 11,969,016,345 monomials.*max_terms=2,000,000.*8.1 TiB"):
        expand_network(SLNN(64, (8, 8), degree=(4, 2)))
    with pytest.raises(ValueError, match="max_terms=100"):
        expand_network(SLNN(5, (4,), degree=4), max_terms=100)
    with pytest.raises(TypeError, match="SLNN"):
        expand_network(torch.nn.Linear(3, 1))
    with pytest.raises(ValueError, match="coordinates"):
        expand_network(SLNN(3, (4,)), coordinates="scaled")


@QUIET
def test_transformer_refusals():
    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20.0)
    with pytest.raises(NotFittedError):
        PolynomialFeatureEquivalent(SLNNRegressor()).transform(X)
    with pytest.raises(ValueError, match="requires y to be passed"):
        PolynomialFeatureEquivalent(SLNNRegressor()).fit(X)
    with pytest.raises(TypeError, match="SLNNRegressor/SLNNClassifier.*LinearRegression"):
        PolynomialFeatureEquivalent(LinearRegression().fit(X, y)).fit(X)
    with pytest.raises(InvalidParameterError, match="coordinates"):
        PolynomialFeatureEquivalent(SLNNRegressor(), coordinates="scaled").fit(X, y)
    hybrid = SLNNRegressor((4, 4), hidden_activation=("slaf", "tanh"), max_iter=2, device="cpu").fit(X, y)
    with pytest.raises(ValueError, match="Hybrid networks"):
        PolynomialFeatureEquivalent(hybrid).fit(X)
    reg = SLNNRegressor((4,), max_iter=2, device="cpu").fit(X, y)
    with pytest.raises(ValueError, match="3 features"):
        PolynomialFeatureEquivalent(reg).fit(X[:, :2])


# ----------------------------------------------------------------------------- estimators
def _fit(cls, X, y, **kw):
    # extrapolation="continue": the network is its polynomial beyond the training rows' range too
    params = {"hidden_layer_sizes": (6, 4), "degree": (2, 2), "max_iter": 5, "random_state": 0, "device": "cpu",
              "dtype": "float64", "extrapolation": "continue"} | kw
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cls(**params).fit(X, y)


@pytest.mark.parametrize("target", ["1d", "column", "multi"])
@pytest.mark.parametrize("coordinates", ["standardized", "raw"])
def test_regressor_identity(target, coordinates):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4)) * [1, 10, 0.1, 3] + [0, 5, -1, 2]
    Y = np.column_stack([X[:, 0] * X[:, 1], X[:, 2] ** 2 + X[:, 3]])
    y = {"1d": Y[:, 0], "column": Y[:, :1], "multi": Y}[target]
    reg = _fit(SLNNRegressor, X, y, basis="hermite", coef_sharing="unit")
    pfe = PolynomialFeatureEquivalent(reg, coordinates=coordinates).fit(X)
    pred = reg.predict(X)
    assert pfe.coef_.ndim == (1 if target == "1d" else 2)
    assert np.shape(pfe.intercept_) == (() if target == "1d" else (Y.shape[1] if target == "multi" else 1,))
    out = pfe.transform(X) @ pfe.coef_.T + pfe.intercept_
    assert out.shape == pred.shape
    assert rel_err(out, pred) < 1e-9 and pfe.verification_error_ < 1e-12
    assert pfe.degree_ == 4 and pfe.n_output_features_ == comb(4 + 4, 4) - 1


@pytest.mark.parametrize("n_classes", [2, 3])
def test_classifier_decision_function_identity(n_classes):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(90, 3))
    y = np.array(["a", "b", "c"])[np.arange(90) % n_classes]
    clf = _fit(SLNNClassifier, X, y, degree=(3, 2), basis="legendre")
    pfe = PolynomialFeatureEquivalent(clf).fit(X)
    d = clf.decision_function(X)
    assert pfe.coef_.shape == ((pfe.n_output_features_,) if n_classes == 2 else (n_classes, pfe.n_output_features_))
    assert rel_err(pfe.transform(X) @ pfe.coef_.T + pfe.intercept_, d) < 1e-9


@QUIET
def test_unfitted_estimator_is_cloned_and_fitted():
    X = np.random.default_rng(2).normal(size=(50, 2))
    y = X[:, 0] ** 2
    reg = SLNNRegressor((4,), degree=2, max_iter=3, random_state=0, device="cpu", dtype="float64")
    pfe = PolynomialFeatureEquivalent(reg).fit(X, y)
    assert not hasattr(reg, "module_")
    assert rel_err(pfe.transform(X) @ pfe.coef_ + pfe.intercept_, pfe.estimator_.predict(X)) < 1e-9
    np.testing.assert_array_equal(pfe.fit_transform(X, y), pfe.transform(X))


def test_feature_names_and_order_match_polynomial_features():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(40, 3)), columns=["age", "tax rate", "b"])
    reg = _fit(SLNNRegressor, X, rng.normal(size=40), degree=(2, 2))
    pfe = PolynomialFeatureEquivalent(reg).fit(X)
    ref = PolynomialFeatures(4, include_bias=False).fit(X)
    np.testing.assert_array_equal(pfe.get_feature_names_out(), ref.get_feature_names_out())
    np.testing.assert_array_equal(pfe.powers_, ref.powers_)
    np.testing.assert_allclose(pfe.transform(X), ref.transform((X - pfe._offset) / pfe._scale), rtol=1e-12)
    raw = PolynomialFeatureEquivalent(reg, coordinates="raw").fit(X)
    np.testing.assert_allclose(raw.transform(X), ref.transform(X), rtol=1e-12)
    Xa = X.to_numpy()
    plain = PolynomialFeatureEquivalent(_fit(SLNNRegressor, Xa, Xa[:, 0], degree=(2, 2))).fit(Xa)
    assert list(plain.get_feature_names_out()[:4]) == ["x0", "x1", "x2", "x0^2"]
    assert list(plain.get_feature_names_out(["p", "q", "r"])[:4]) == ["p", "q", "r", "p^2"]
    terms = pfe.terms_
    assert list(terms.columns) == ["term", "degree", "coef"] and len(terms) == pfe.n_output_features_ + 1
    assert np.all(np.diff(np.abs(terms["coef"].to_numpy())) <= 0)
    latex = pfe.to_latex(max_terms=3)
    assert latex.endswith(r"+ \dots") and latex.count(r"\mathrm{") >= 1
    assert r"\mathrm{tax\ rate}" in pfe.to_latex(max_terms=None)


def test_formulas_have_one_return_type_per_output():
    sympy = pytest.importorskip("sympy")
    rng = np.random.default_rng(5)
    X = rng.normal(size=(60, 2))
    y = np.digitize(X[:, 0] + 0.3 * X[:, 1], [-0.5, 0.5])  # three classes
    clf = _fit(SLNNClassifier, X, y, degree=(2, 1))
    pfe = PolynomialFeatureEquivalent(clf, coordinates="raw").fit(X)
    x0, x1 = sympy.symbols("x0 x1")
    dec = clf.decision_function(X[:1])[0]
    for k in range(3):
        expr = pfe.to_sympy(output=k)
        assert isinstance(pfe.to_latex(output=k, max_terms=None), str)
        assert float(expr.subs({x0: X[0, 0], x1: X[0, 1]})) == pytest.approx(dec[k], rel=1e-9, abs=1e-12)
    for bad in (3, -1, True, 1.0):
        with pytest.raises(ValueError, match="output"):
            pfe.to_latex(output=bad)


def test_to_sympy_matches_transform():
    sympy = pytest.importorskip("sympy")
    rng = np.random.default_rng(4)
    X = rng.normal(size=(40, 2))
    reg = _fit(SLNNRegressor, X, X[:, 0] * X[:, 1], degree=(3, 2))
    pfe = PolynomialFeatureEquivalent(reg, coordinates="raw").fit(X)
    expr = pfe.to_sympy()
    x0, x1 = sympy.symbols("x0 x1")
    assert sympy.Poly(expr, x0, x1).total_degree() == 6
    val = float(expr.subs({x0: X[0, 0], x1: X[0, 1]}))
    assert abs(val - reg.predict(X[:1])[0]) < 1e-9 * max(1.0, abs(val))


@QUIET
def test_tol_and_sparse_output():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 3))
    reg = _fit(SLNNRegressor, X, X[:, 0], degree=(2, 2))
    full = PolynomialFeatureEquivalent(reg).fit(X)
    thr = np.quantile(np.abs(full.coef_), 0.5)
    pruned = PolynomialFeatureEquivalent(reg, tol=thr).fit(X)
    assert pruned.n_output_features_ == np.sum(np.abs(full.coef_) > thr) == len(pruned.get_feature_names_out())
    assert np.all(np.abs(pruned.coef_) > thr)
    np.testing.assert_array_equal(pruned.transform(X), full.transform(X)[:, np.abs(full.coef_) > thr])
    Xs = PolynomialFeatureEquivalent(reg, sparse_output=True).fit(X).transform(X)
    assert sp.issparse(Xs)
    np.testing.assert_array_equal(Xs.toarray(), full.transform(X))
    # one-hot-like raw inputs give mostly zero monomials: "auto" picks sparse
    Xb = (rng.random((40, 3)) < 0.2).astype(float)
    regb = _fit(SLNNRegressor, Xb, Xb.sum(1), degree=(2, 2))
    assert sp.issparse(PolynomialFeatureEquivalent(regb, coordinates="raw").fit(Xb).transform(Xb))


@QUIET
def test_raw_coordinates_warn_about_conditioning():
    rng = np.random.default_rng(6)
    X = 700 + rng.normal(size=(60, 2))
    reg = _fit(SLNNRegressor, X, rng.normal(size=60), degree=(2, 2, 2), hidden_layer_sizes=(4, 4, 4))
    with pytest.warns(ConditioningWarning, match="coordinates='standardized'"):
        raw = PolynomialFeatureEquivalent(reg, coordinates="raw").fit(X)
    assert raw.condition_ > 1e8
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConditioningWarning)
        std = PolynomialFeatureEquivalent(reg).fit(X)
    assert std.condition_ < 1e4


@QUIET
def test_pipeline_clone_pickle_and_frozen():
    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection import cross_val_score

    rng = np.random.default_rng(7)
    X = rng.normal(size=(60, 3))
    y = X[:, 0] * X[:, 1] + 0.1 * rng.normal(size=60)
    reg = _fit(SLNNRegressor, X, y, degree=(2, 1))
    pipe = make_pipeline(PolynomialFeatureEquivalent(reg), Lasso(alpha=0.01)).fit(X, y)
    assert pipe.predict(X).shape == (60,)
    pfe = PolynomialFeatureEquivalent(reg).fit(X)
    again = pickle.loads(pickle.dumps(pfe))
    np.testing.assert_array_equal(again.transform(X), pfe.transform(X))
    cloned = clone(pfe)
    assert not hasattr(cloned, "coef_") and not hasattr(cloned.estimator, "module_")
    frozen = make_pipeline(PolynomialFeatureEquivalent(FrozenEstimator(reg)), LinearRegression())
    assert cross_val_score(frozen, X, y, cv=3).shape == (3,)


@QUIET
def test_compare_with_least_squares():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(120, 3))
    y = X[:, 0] ** 2 - X[:, 1] * X[:, 2] + 0.1 * rng.normal(size=120)
    reg = _fit(SLNNRegressor, X[:90], y[:90], degree=(2, 2), max_iter=20)
    cmp = compare_with_least_squares(reg, X[:90], y[:90], X[90:], y[90:])
    assert (cmp.degree, cmp.n_terms, cmp.lls_n_parameters) == (4, 35, 35)
    assert cmp.slnn_n_parameters == sum(p.numel() for p in reg.module_.parameters())
    assert cmp.rmse_train_lls <= cmp.rmse_train_slnn + 1e-12  # LLS is optimal on the same features
    assert cmp.rmse_test_lls is not None and "test RMSE" in str(cmp)
    # on the network's own predictions least squares recovers the network's coefficients
    exact = compare_with_least_squares(reg, X, reg.predict(X))
    assert exact.rmse_train_lls < 1e-8 and exact.coef_relative_distance < 1e-6
    ridge = compare_with_least_squares(reg, X[:90], y[:90], penalty="l2", alpha=1.0)
    assert ridge.penalty == "l2" and ridge.rmse_test_slnn is None and set(ridge.as_dict()) >= {"coef_distance"}
    with pytest.raises(ValueError, match="penalty"):
        compare_with_least_squares(reg, X, y, penalty="l0")
    with pytest.raises(ValueError, match="classifier"):
        compare_with_least_squares(SLNNClassifier(), X, y > 0)


# ----------------------------------------------------------------------------- scikit-learn checks
_CHECKED = [
    PolynomialFeatureEquivalent(cls(hidden_layer_sizes=(3,), degree=2, max_iter=2, random_state=0, device="cpu"))
    for cls in (SLNNRegressor, SLNNClassifier)
]


@QUIET
@parametrize_with_checks(_CHECKED)
def test_sklearn_compatible(estimator, check):
    check(estimator)
