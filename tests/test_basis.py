import math

import numpy as np
import pytest
import torch
from numpy.polynomial import chebyshev as C
from numpy.polynomial import hermite_e as H
from numpy.polynomial import legendre as L
from numpy.polynomial import polynomial as P

from sklearn_slaf import basis

U = np.linspace(-1.0, 1.0, 41)
X = np.linspace(-2.5, 2.5, 41)


def oracle(name, x, i):
    """Element g_i from numpy.polynomial or a closed form (independent of the code under test)."""
    e = np.zeros(i + 1)
    e[i] = 1.0
    if name == "power":
        return x**i
    if name == "taylor":
        return x**i / math.factorial(i)
    if name == "chebyshev":
        return C.chebval(x, e)
    if name == "legendre":
        return L.legval(x, e)
    if name == "hermite":
        return H.hermeval(x, e)
    j = (i + 1) // 2
    return np.sin((2 * j - 1) * np.pi / 2 * x) if i % 2 else np.cos(j * np.pi * x)


def oracle_power(name, i):
    e = np.zeros(i + 1)
    e[i] = 1.0
    conv = {"chebyshev": C.cheb2poly, "legendre": L.leg2poly, "hermite": H.herme2poly}
    if name in conv:
        return conv[name](e)
    return e / (math.factorial(i) if name == "taylor" else 1.0)


@pytest.mark.parametrize("name", basis.BASES)
@pytest.mark.parametrize("degree", range(1, 13))
def test_evaluate_matches_oracle(name, degree):
    pts = U if basis.needs_input_map(name) else X
    g = basis.evaluate(name, torch.tensor(pts, dtype=torch.float64), degree).numpy()
    assert g.shape == (pts.size, degree)
    for i in range(1, degree + 1):
        np.testing.assert_allclose(g[:, i - 1], oracle(name, pts, i), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", basis.POLYNOMIAL_BASES)
@pytest.mark.parametrize("degree", range(1, 13))
def test_power_matrix_matches_numpy_conversion(name, degree):
    m = basis.to_power_matrix(name, degree)
    assert m.shape == (degree + 1, degree + 1)
    np.testing.assert_array_equal(m[0], np.eye(degree + 1)[0])
    for i in range(1, degree + 1):
        expected = np.zeros(degree + 1)
        expected[: i + 1] = oracle_power(name, i)
        np.testing.assert_allclose(m[i], expected, rtol=1e-13, atol=1e-15)


def test_evaluate_keeps_shape_and_dtype():
    u = torch.rand(2, 3, 4, dtype=torch.float32)
    for name in basis.BASES:
        g = basis.evaluate(name, u, 5)
        assert g.shape == (2, 3, 4, 5) and g.dtype == torch.float32


def test_flags():
    assert [basis.is_polynomial(n) for n in basis.BASES] == [True] * 5 + [False]
    assert not basis.needs_input_map("power") and basis.needs_input_map("chebyshev")


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "3"])
def test_bad_degree(bad):
    with pytest.raises(ValueError, match="degree"):
        basis.evaluate("power", torch.zeros(3), bad)


def test_bad_basis_names_the_allowed_values():
    with pytest.raises(ValueError, match="chebyshev"):
        basis.evaluate("bernstein", torch.zeros(3), 2)
    with pytest.raises(ValueError, match="not a polynomial"):
        basis.to_power_matrix("fourier", 3)


def test_polyval_matches_numpy_and_rejects_nan():
    rng = np.random.default_rng(0)
    coefs = rng.normal(size=(3, 5))
    x = rng.normal(size=(7, 3))
    got = basis.polyval(coefs, x).numpy()
    for u in range(3):
        np.testing.assert_allclose(got[:, u], P.polyval(x[:, u], coefs[u]), rtol=1e-13)
    x[2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        basis.polyval(coefs, x)
    with pytest.raises(ValueError, match="shape"):
        basis.polyval(coefs, np.zeros((2, 4)))


@pytest.mark.parametrize("family", basis.POLYNOMIAL_BASES)
def test_derivative_table_matches_autograd(family):
    u = torch.linspace(-1.0, 1.0, 41, dtype=torch.float64).requires_grad_()
    g = basis.evaluate(family, u, 8)
    prev, older, old = torch.ones_like(u), None, None  # g_0; B_(i-2), B_(i-1)
    for i in range(1, 9):
        f, c = basis.derivative(family, i)
        if c is None:
            b = prev
        else:  # B_i = B_(i-2) + c_i g_(i-1), B_0 = 0, B_1 = 1
            b = torch.ones_like(u) if i == 1 else c * prev + (older if older is not None else 0.0)
            older, old = old, b
        (grad,) = torch.autograd.grad(g[..., i - 1].sum(), u, retain_graph=True)
        torch.testing.assert_close(f * b, grad, rtol=1e-12, atol=1e-12)
        prev = g[..., i - 1].detach()
    with pytest.raises(ValueError, match="fourier"):
        basis.derivative("fourier", 1)
