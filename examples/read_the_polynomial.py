"""
Reading a trained network as a polynomial: the diabetes data
============================================================

An SLNN with polynomial activations and a linear output is exactly a polynomial in its
inputs. This example fits one on scikit-learn's diabetes data and reads it:

1. which inputs and interactions carry the prediction's variance (exact Sobol indices);
2. the partial dependence on one input, in closed form, beside scikit-learn's estimate;
3. how few terms a formula needs (the accuracy-versus-terms curve) and the compact formula;
4. the model shipped as a plain scikit-learn pipeline, and as ONNX where skl2onnx installs.

Run with ``python examples/read_the_polynomial.py`` (about 10 s on 2 cores); the figure is
written next to this file when matplotlib is installed.
"""

import warnings

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.inspection import partial_dependence
from sklearn.model_selection import train_test_split

from sklearn_slaf import ExtrapolationWarning, PolynomialFeatureEquivalent, SLNNRegressor

# partial dependence moves one column over its range with the others held: such rows can leave the
# range the hidden layer saw in training, which the network reports; here that is expected
warnings.simplefilter("ignore", ExtrapolationWarning)

X, y = load_diabetes(return_X_y=True, as_frame=True)  # a DataFrame: the column names reach the formula
names = list(X.columns)
Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0)

# one hidden layer of degree 2: the network is a quadratic in the 10 inputs (66 monomials)
# extrapolation="continue": the network is then its polynomial everywhere, also on test rows beyond the
# training range (the default clamps each layer's inputs to that range and is the polynomial inside it)
reg = SLNNRegressor((32,), degree=2, random_state=0, dtype="float64", extrapolation="continue").fit(Xtr, ytr)
print(f"test R² {reg.score(Xte, yte):.3f}; the network is a polynomial of degree {reg.module_.total_degree}")
pfe = PolynomialFeatureEquivalent(reg).fit(Xtr)
print(f"{pfe.n_output_features_} monomials")

# 1. Sobol indices under the inputs' own (empirical) marginals, taken as independent
s = pfe.sobol_indices("empirical", X=Xtr)
order = np.argsort(-s.total)
print("\ninput   first-order  total")
for j in order[:5]:
    print(f"{names[j]:6s}  {s.first_order[j]:10.3f}  {s.total[j]:6.3f}")
print("variance by interaction order:", {k + 1: round(float(v), 3) for k, v in enumerate(s.by_order)})
pairs = [(i, j) for i in range(10) for j in range(i + 1, 10)]
shares = pfe.sobol_indices("empirical", X=Xtr, interactions=pairs).interactions
top = sorted(shares.items(), key=lambda kv: -kv[1])[:3]
print("largest pairwise interactions:", ", ".join(f"{names[i]} x {names[j]} {v:.3f}" for (i, j), v in top))

# 2. partial dependence on bmi: exact, and scikit-learn's brute-force average over the rows
j = names.index("bmi")
brute = partial_dependence(reg, Xtr, ["bmi"], method="brute", grid_resolution=5)
grid = brute["grid_values"][0]
exact = pfe.partial_dependence(j, grid, distribution="empirical", X=Xtr)
print("\nbmi grid     ", np.round(grid, 3))
print("exact PD     ", np.round(exact, 1))
print("sklearn brute", np.round(brute["average"][0], 1), "(averages over the rows' joint law: close, not equal)")

# 3. how many terms a formula needs
curve = pfe.compact_curve(distribution="empirical", X=Xte, y=yte)  # scored on the test rows
print("\n", curve.to_string(index=False, float_format=lambda v: f"{v:.3f}") if hasattr(curve, "to_string")
      else curve)
small = pfe.compact(tol=0.05, distribution="empirical", X=Xtr)
print(f"\n{small.n_output_features_} monomials keep {small.compact_r2_:.3f} of the variance:")
print(small.to_latex(precision=3, max_terms=8))

# 4. shipping it without torch
pipe = pfe.to_sklearn()
print("\npipeline:", " -> ".join(type(step).__name__ for _, step in pipe.steps))
print("largest difference from the network's predictions:", float(np.abs(pipe.predict(Xte) - reg.predict(Xte)).max()))
try:
    import onnxruntime as ort
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import DoubleTensorType

    onx = to_onnx(pipe, initial_types=[("X", DoubleTensorType([None, X.shape[1]]))], target_opset=17)
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    onnx_pred = session.run(None, {"X": Xte.to_numpy()})[0].ravel()
    print("ONNX: largest difference from the network:", float(np.abs(onnx_pred - reg.predict(Xte)).max()))
except ImportError:
    print("ONNX: pip install sklearn-slaf[onnx] to convert the pipeline")

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sklearn_slaf.plotting import plot_compact_curve

    plot_compact_curve(curve)
    plt.show()
except ImportError:
    pass
