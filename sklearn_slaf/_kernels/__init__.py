"""Fused SLAF kernels: training-mode forward and backward without autograd's overhead.

:mod:`._streaming` holds the entry points (the autograd-free pair the training engine
calls, their autograd wrapper, and the evaluation-mode affine basis); it sends small
batches to :mod:`._stacked` (fewest tensor operations) and large ones to its own
streaming recurrences (least memory), which recycle buffers from :mod:`._scratch`.
The reference forward of :class:`~sklearn_slaf.activation.SLAF` (the stacked basis under
plain autograd) is the oracle the tests hold these kernels to.
"""

from ._scratch import clear_scratch, scratch_bytes
from ._stacked import STACK_LIMIT
from ._streaming import (
    FUSED_BASES,
    affine_basis,
    clenshaw,
    elements,
    normalized_backward,
    normalized_basis,
    normalized_forward,
)

__all__ = [
    "FUSED_BASES", "STACK_LIMIT", "affine_basis", "clear_scratch", "clenshaw", "elements", "normalized_backward",
    "normalized_basis", "normalized_forward", "scratch_bytes",
]
