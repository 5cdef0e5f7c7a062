"""Data-parallel training over ``torch.distributed``: one model, the batches split across processes.

Every process holds the same data and the same parameters, draws the same batches (the
same seed) and computes its share of each batch: rows ``idx.tensor_split(world)[rank]``.
What single-process training computes over a whole batch is reduced across processes:

* the flat gradient buffer, in one ``all_reduce`` per step (each process contributes the
  gradient of its rows' share of the batch's weighted mean loss);
* each SLAF layer's batch statistics: the input range (max), the elements' sums, then
  their centred squares about the global mean; and in the backward pass the sums that
  the input gradient needs (sum of the upstream gradient, and ``p_i = sum y (g_i - mu_i)``);
  batch normalisation likewise (its means, variances and backward sums);
* the loss and the rows' weight, so that every process sees the global batch loss and
  the stopping rules decide alike.

The result equals one process training on the global batches, to round-off. A peer that
dies makes the collective calls fail (gloo reports the closed connection; the process
group's ``timeout`` bounds the wait otherwise), and the fit raises
:class:`DistributedTrainingError` instead of hanging.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["Communicator", "DistributedTrainingError"]


class DistributedTrainingError(RuntimeError):
    """A collective operation of a data-parallel fit failed: a peer process died or timed out.

    A :class:`RuntimeError`, raised by every :class:`Communicator` reduction in place of
    the backend's own error (gloo's "Connection closed by peer", a timeout), so that a
    data-parallel ``fit`` fails with a message instead of hanging.

    Examples
    --------
    A real one needs a second process that dies mid-fit (``tests/test_distributed.py``
    kills one); every surviving process can catch it as a ``RuntimeError``:

    >>> from sklearn_slaf.training import DistributedTrainingError
    >>> issubclass(DistributedTrainingError, RuntimeError)
    True
    >>> try:  # what a torchrun job's survivors see; raised by hand here
    ...     raise DistributedTrainingError("a collective call of the data-parallel fit failed on rank 0 of 2")
    ... except RuntimeError as exc:
    ...     print(f"{type(exc).__name__}: {exc}")
    DistributedTrainingError: a collective call of the data-parallel fit failed on rank 0 of 2
    """


class Communicator:
    """The process group a data-parallel fit reduces over.

    Parameters
    ----------
    group : torch.distributed.ProcessGroup, optional
        Default: the default group, which ``torch.distributed.init_process_group`` (or
        ``torchrun``) must have initialised.

    Attributes
    ----------
    rank, world : int
        This process's rank and the number of processes in ``group``.
    batch_rows : int or None
        Rows of the global batch being trained on (set by :meth:`shard`).

    Examples
    --------
    Without a process group it refuses clearly. A one-process gloo group (on an
    in-memory store: no file, no port) shows the API; under ``torchrun`` every process
    does the same, with its own ``rank`` and the ``world`` size:

    >>> import torch
    >>> import torch.distributed as dist
    >>> from sklearn_slaf.training import Communicator
    >>> Communicator()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: distributed=True needs an initialised torch.distributed process group: ...
    >>> dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    >>> comm = Communicator()
    >>> comm.rank, comm.world
    (0, 1)
    >>> [t.tolist() for t in comm.sum(torch.tensor([1.0, 2.0]), torch.tensor(3.0))]  # one call for both
    [[1.0, 2.0], 3.0]
    >>> comm.shard(torch.arange(5)).tolist(), comm.batch_rows  # this process's rows of a batch
    ([0, 1, 2, 3, 4], 5)
    >>> comm.check_same(torch.ones(3))  # every process holds the same data: no error
    >>> dist.destroy_process_group()
    """

    def __init__(self, group=None) -> None:
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized()):
            raise ValueError(
                "distributed=True needs an initialised torch.distributed process group: call "
                "torch.distributed.init_process_group (gloo on CPUs, nccl on GPUs) in every process first, "
                "or launch with torchrun."
            )
        self._dist, self.group = dist, group
        self.rank, self.world = dist.get_rank(group), dist.get_world_size(group)
        self.batch_rows: int | None = None  # rows of the global batch being trained on (set by the solver)

    def _reduce(self, t: Tensor, op) -> Tensor:
        try:
            self._dist.all_reduce(t, op=op, group=self.group)
        except RuntimeError as exc:  # gloo: "Connection closed by peer", timeouts, aborted groups
            raise DistributedTrainingError(
                f"a collective call of the data-parallel fit failed on rank {self.rank} of {self.world}: a peer "
                f"process died, stopped or timed out ({exc}). Every process must run the same fit."
            ) from exc
        return t

    def sum(self, *tensors: Tensor) -> list[Tensor]:
        """The element-wise sums over the processes, of any number of tensors, in one call."""
        dev = tensors[0].device  # nccl reduces GPU tensors, gloo CPU ones: the callers' own device
        flat = torch.cat([t.reshape(-1).to(device=dev, dtype=torch.float64) for t in tensors])
        self._reduce(flat, self._dist.ReduceOp.SUM)
        out, start = [], 0
        for t in tensors:
            out.append(flat[start : start + t.numel()].reshape(t.shape).to(t.dtype))
            start += t.numel()
        return out

    def sum_(self, t: Tensor) -> Tensor:
        """Sum ``t`` over the processes in place (the gradient buffer: its own dtype, one call)."""
        return self._reduce(t, self._dist.ReduceOp.SUM)

    def max_(self, t: Tensor) -> Tensor:
        return self._reduce(t, self._dist.ReduceOp.MAX)

    def rows(self, h: Tensor) -> int:
        """Rows of the global batch ``h`` is this process's share of: known from :meth:`shard`, else reduced."""
        if self.batch_rows is not None:
            return self.batch_rows
        return int(self.sum(torch.tensor(float(h.shape[0]), device=h.device))[0])

    def shard(self, idx: Tensor) -> Tensor:
        """This process's rows of a batch (and the batch's size, for the layers' statistics)."""
        self.batch_rows = int(idx.numel())
        return idx.tensor_split(self.world)[self.rank]

    def check_same(self, *tensors: Tensor) -> None:
        """Refuse a fit whose processes were given different data (a cheap fingerprint per tensor)."""
        prints = torch.stack([torch.stack([t.double().sum(), t.double().square().sum(), torch.tensor(t.numel(),
                              dtype=torch.float64, device=t.device)]) for t in tensors]).reshape(-1)
        lo, hi = prints.clone(), prints.clone()
        self._reduce(hi, self._dist.ReduceOp.MAX)
        self._reduce(lo, self._dist.ReduceOp.MIN)
        if not torch.equal(lo.cpu(), hi.cpu()):
            raise ValueError(
                "distributed=True: the processes were given different data. Every process passes the same X, "
                "y and sample_weight; each trains on its share of every batch."
            )
