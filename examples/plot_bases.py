"""
The bases of SLAF, and the input map of the bounded ones
========================================================

A SLAF computes ``f(x) = b + sum_i c_i z_i(x)`` with ``z_i`` the basis element ``g_i``
normalised to zero mean and unit variance over the batch. This example draws the first
four elements of every basis on the pre-activation range [-3, 3], then the same elements
after the normalisation under a standard normal input: once normalised, the power,
Taylor and Hermite elements of the same degree differ only in how they mix the lower
powers. Chebyshev, Legendre and the Fourier-type EMFN basis are evaluated on
``u = x / r``, with ``r`` the largest ``|x|`` the layer saw in training (kept as a
running value): the map keeps ``u`` in [-1, 1], where those bases are bounded.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from sklearn_slaf import basis  # noqa: E402

x = np.linspace(-3, 3, 400)
r = 3.0  # the input map's scale: here, the largest |x| of the range drawn
fig, axes = plt.subplots(2, len(basis.BASES), figsize=(3.0 * len(basis.BASES), 5.6), sharex=True)
z = np.random.default_rng(0).standard_normal(200_000)  # the normalisation's statistics: x ~ N(0, 1)
for col, name in enumerate(basis.BASES):
    u = x / r if basis.needs_input_map(name) else x
    g = basis.evaluate(name, torch.as_tensor(u), 4).numpy()
    uz = z / r if basis.needs_input_map(name) else z
    gz = basis.evaluate(name, torch.as_tensor(uz), 4).numpy()
    normalised = (g - gz.mean(0)) / gz.std(0)
    for i in range(4):
        axes[0, col].plot(x, g[:, i], lw=1.2, label=f"g{i + 1}")
        axes[1, col].plot(x, normalised[:, i], lw=1.2)
    mapped = " (u = x / r)" if basis.needs_input_map(name) else ""
    axes[0, col].set_title(f"{name}{mapped}", fontsize="small")
    axes[0, col].set_ylim(-5, 5)
    axes[1, col].set_ylim(-5, 5)
    axes[1, col].set_xlabel("pre-activation x")
axes[0, 0].set_ylabel("element g_i")
axes[1, 0].set_ylabel("normalised z_i (x ~ N(0, 1))")
axes[0, 0].legend(fontsize="x-small", loc="lower right")
fig.tight_layout()
plt.show()
