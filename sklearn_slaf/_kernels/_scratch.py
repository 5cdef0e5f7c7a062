"""Per-thread scratch tensors that the streaming kernels recycle.

On a CPU a fresh multi-megabyte tensor is usually handed back to the operating system
when freed and page-faulted in again on the next allocation, at several times the cost
of the arithmetic on it; the kernels take and give back buffers here instead.
"""

from __future__ import annotations

import threading

import torch
from torch import Tensor

__all__ = ["clear_scratch", "scratch_bytes"]


class _Scratch(threading.local):
    """Per-thread cache of CPU scratch tensors, reused across calls.

    Tensors go back with :meth:`give` once a kernel is done with them; at most
    ``limit`` bytes are kept, those of the most recently used shape first. Devices
    other than the CPU have caching allocators of their own and bypass the cache.
    """

    limit = 256 * 2**20

    def __init__(self) -> None:
        self._free: dict[tuple, list[Tensor]] = {}
        self._bytes = 0

    def nbytes(self) -> int:
        """Bytes held by this thread's cache."""
        return self._bytes

    @staticmethod
    def _key(t: Tensor) -> tuple:
        # inference tensors cannot be written outside inference mode, so never mix them
        return tuple(t.shape), t.dtype, t.is_inference()

    def take(self, like: Tensor) -> Tensor:
        """A contiguous tensor shaped like ``like``, with arbitrary contents."""
        if like.device.type == "cpu":
            stack = self._free.get((tuple(like.shape), like.dtype, torch.is_inference_mode_enabled()))
            if stack:
                t = stack.pop()
                self._bytes -= t.nbytes
                return t
        return torch.empty(like.shape, dtype=like.dtype, device=like.device)

    def give(self, *tensors: Tensor | None) -> None:
        """Hand back tensors from :meth:`take` that nothing else refers to."""
        for t in tensors:
            if t is None or t.device.type != "cpu":
                continue
            key = self._key(t)
            if self._bytes + t.nbytes > self.limit:
                for other in [k for k in self._free if k != key]:
                    self._bytes -= sum(b.nbytes for b in self._free.pop(other))
            if self._bytes + t.nbytes <= self.limit:
                self._free.setdefault(key, []).append(t)
                self._bytes += t.nbytes


_scratch = _Scratch()


def clear_scratch() -> None:
    """Free this thread's scratch tensors (the estimators call it when a fit ends)."""
    _scratch._free.clear()
    _scratch._bytes = 0


def scratch_bytes() -> int:
    """Bytes held by this thread's scratch cache."""
    return _scratch.nbytes()
