r"""Mean-field signal propagation and the edge of chaos, for any activation.

A deep network ``y^l = W^l phi(y^{l-1}) + b^l`` with ``W ~ N(0, sigma_w^2 / fan_in)`` and
``b ~ N(0, sigma_b^2)`` carries, in the wide limit, the variance ``q`` of a pre-activation
and the correlation ``c`` between two inputs through the maps

* ``F(q) = sigma_b^2 + sigma_w^2 E[phi(sqrt(q) Z)^2]`` (variance map),
* ``f(c) = (sigma_b^2 + sigma_w^2 E[phi(u_1) phi(u_2)]) / F(q)`` (correlation map),
* ``chi_1 = sigma_w^2 E[phi'(sqrt(q) Z)^2]`` (slope of ``f`` at ``c = 1``).

The *edge of chaos* (EOC, Hayou, Doucet & Rousseau 2019) is where ``chi_1 = 1`` at a
fixed point ``q* = F(q*)``: correlations then approach 1 only polynomially in depth, so
information and gradients survive many layers. Parametrised by ``q`` the EOC curve is
``sigma_w^2 = 1 / E[phi'^2]``, ``sigma_b^2 = q - E[phi^2] / E[phi'^2]``; a point on it is
reached only if it is *stable*, ``F'(q*) = sigma_w^2 (E[phi'^2] + E[phi phi'']) < 1``.

Activations are anything :func:`as_activation` accepts: a name (``"relu"``, ``"tanh"``,
``"elu"``, ``"swish"``, ``"gelu"``, ...), a callable, power coefficients or a fitted
:class:`~sklearn_slaf.activation.SLAF` layer. Networks (an
:class:`~sklearn_slaf.network.SLNN` or a fitted estimator) go to the per-layer functions
:func:`edge_of_chaos_per_layer`, :func:`eoc_curve_per_layer`, :func:`edge_of_chaos_init`
and :func:`propagation`. Every function returns one type, whatever its input.

**SLAF layers.** The theory uses each SLAF layer's *evaluation-mode* activation, the
polynomial of :meth:`~sklearn_slaf.activation.SLAF.power_coefficients` (normalisation
with running statistics folded in), with Gaussian moments averaged over units. In
training mode the layer normalises every basis element with the statistics of the
batch, which for the power basis makes it scale-free: it computes its polynomial of
the batch-standardised input, whatever the scale of the pre-activations, and centres
with batch means like batch normalisation. That network is not described by these
maps; the eval-mode polynomial is the activation the layer computes at inference and
the one it computes in training when its pre-activations are distributed as the
running statistics assume. See :func:`edge_of_chaos_init` for how the initialisation
makes the two agree at the start.
"""

from ._inputs import as_activation
from ._maps import (
    DepthProfile,
    FixedPoint,
    basin_edge,
    beta_q,
    chi1,
    correlation_map,
    depth_profile,
    depth_scales,
    fixed_points,
    gaussian_moments,
    variance_map,
)
from ._moments import GaussianMoments, MeanFieldActivation
from ._network import Propagation, edge_of_chaos_init, propagation
from ._points import (
    EOCCurve,
    EOCPoint,
    edge_of_chaos,
    edge_of_chaos_per_layer,
    eoc_curve,
    eoc_curve_per_layer,
)

__all__ = [
    "DepthProfile", "EOCCurve", "EOCPoint", "FixedPoint", "GaussianMoments", "MeanFieldActivation", "Propagation",
    "as_activation", "basin_edge", "beta_q", "chi1", "correlation_map", "depth_profile", "depth_scales",
    "edge_of_chaos", "edge_of_chaos_init", "edge_of_chaos_per_layer", "eoc_curve", "eoc_curve_per_layer",
    "fixed_points", "gaussian_moments", "propagation",
    "variance_map",
]
