"""The fused C kernels of ``_fused.c``: compiled on first use, called through ctypes, optional.

On a CPU with one intra-op thread, a SLAF layer's training step through torch costs
dozens of tensor operations, each a pass over an ``(N, U)`` tensor plus a fixed dispatch
cost; the C kernels do the forward in three passes and the backward in two, whatever the
degree, in one call each. They need a C compiler at first use and nothing at install:
the source is compiled once per machine (about a second) into a cache directory and
loaded with :mod:`ctypes`. Without a compiler, or with ``SKLEARN_SLAF_NATIVE=0``, or on
any failure, the torch kernels run instead: they stay the reference the tests hold these
to, and the path of GPUs and of several threads.

The cache is ``$SKLEARN_SLAF_CACHE``, else ``$XDG_CACHE_HOME/sklearn-slaf``, else
``~/.cache/sklearn-slaf``; a library's name holds a hash of the source, the compiler's
version and this CPU's flags (it is built with ``-march=native``).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import torch
from torch import Tensor

from .. import basis as _basis

__all__ = ["available", "batch_mean", "enabled", "fused_backward", "fused_forward", "usable"]

_SOURCE = Path(__file__).with_name("_fused.c")
_lock = threading.Lock()
_lib: ctypes.CDLL | None = None
_tried = False
_fns: dict | None = None  # dtype -> (forward, backward) of the loaded library
#: set to False to use the torch kernels everywhere (tests compare the two paths)
enabled = os.environ.get("SKLEARN_SLAF_NATIVE", "1").strip().lower() not in ("0", "false", "no", "off")

_I64, _INT, _DBL, _PTR = ctypes.c_int64, ctypes.c_int, ctypes.c_double, ctypes.c_void_p
_FORWARD_ARGS = [_I64, _I64, _INT, _PTR, _PTR, _PTR, _PTR, _DBL, _PTR, _PTR, _PTR, _PTR, _PTR, _PTR,
                 _I64, _PTR, _PTR, _PTR, _DBL]
_BACKWARD_ARGS = [_I64, _I64, _INT, _PTR, _PTR, _PTR, _PTR, _PTR, _PTR, _PTR, _PTR, _INT, _PTR, _I64, _INT, _PTR,
                  _PTR]
_SUFFIX = {torch.float32: "f32", torch.float64: "f64"}


def _cache_dir() -> Path:
    if os.environ.get("SKLEARN_SLAF_CACHE"):
        return Path(os.environ["SKLEARN_SLAF_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "sklearn-slaf"


def _cpu_flags() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return line
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _build(compiler: str, target: Path) -> bool:
    """Compile the source into ``target`` (atomically: concurrent builds cannot tear it)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        for flags in (["-march=native"], []):  # some compilers or CPUs refuse -march=native
            cmd = [compiler, "-O3", *flags, "-shared", "-fPIC", "-o", tmp, str(_SOURCE), "-lm"]
            if subprocess.run(cmd, capture_output=True, timeout=120).returncode == 0:
                os.replace(tmp, target)
                return True
        return False
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _load() -> ctypes.CDLL | None:
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if compiler is None or platform.system() == "Windows":
        return None
    version = subprocess.run([compiler, "--version"], capture_output=True, text=True, timeout=30).stdout
    key = hashlib.sha256(b"\0".join(s.encode() for s in (_SOURCE.read_text(), version, _cpu_flags()))).hexdigest()
    target = _cache_dir() / f"fused-{key[:16]}.so"
    if not target.exists() and not _build(compiler, target):
        return None
    lib = ctypes.CDLL(str(target))
    for suffix in _SUFFIX.values():
        getattr(lib, f"slaf_forward_{suffix}").argtypes = _FORWARD_ARGS
        getattr(lib, f"slaf_backward_{suffix}").argtypes = _BACKWARD_ARGS
    return lib


def available() -> bool:
    """Whether the C kernels are compiled and loaded (compiling them on the first call).

    Examples
    --------
    >>> from sklearn_slaf._kernels import _native
    >>> isinstance(_native.available(), bool)
    True
    """
    global _lib, _fns, _tried
    if not _tried:
        with _lock:
            if not _tried:
                try:
                    _lib = _load()
                except (OSError, subprocess.SubprocessError):
                    _lib = None
                _fns = None if _lib is None else _functions()
                _tried = True
    return _lib is not None


def usable(x: Tensor) -> bool:
    """Whether a batch ``x`` goes through the C kernels: enabled, on the CPU, float, one torch thread."""
    return (
        enabled and x.device.type == "cpu" and x.dtype in _SUFFIX and x.dim() == 2
        and torch.get_num_threads() == 1 and available()
    )


@functools.cache  # read-only to the kernels: built once per (family, degree), not per call
def _constants(family: str, k: int) -> tuple[ctypes.Array, ctypes.Array]:
    ra, rb = (ctypes.c_double * (k + 1))(), (ctypes.c_double * (k + 1))()
    for n in range(1, k + 1):
        ra[n], rb[n] = _basis.recurrence(family, n)
    return ra, rb


def _ptr(t: Tensor | None) -> int | None:
    return None if t is None else t.data_ptr()


def _functions() -> dict:
    return {dtype: (getattr(_lib, f"slaf_forward_{suf}"), getattr(_lib, f"slaf_backward_{suf}"))
            for dtype, suf in _SUFFIX.items()}


def _prepare(t: Tensor, dtype: torch.dtype) -> Tensor:
    # at batch 200 these calls cost as much as the kernels: skip every no-op conversion (a parameter
    # passes as it is: the kernels read its memory, and detaching it would cost a new tensor per call)
    if t.dtype == dtype and t.is_contiguous():
        return t
    return t.detach().to(dtype).contiguous()


def fused_forward(
    family: str, x: Tensor, r: Tensor | None, coef: Tensor, bias: Tensor, eps: float,
    running_mean: Tensor | None = None, running_var: Tensor | None = None, count: Tensor | None = None,
    momentum: float | None = None, var: Tensor | None = None,
) -> tuple[Tensor, tuple]:
    """A SLAF layer's training-mode forward in one call: ``out`` (``(N, U)``) and what :func:`fused_backward` needs.

    ``coef`` (``(G, k)``) and ``bias`` (``(G,)``) are per group, ``G`` dividing the ``U``
    units (blocks of ``U / G`` consecutive units share a row; ``G = U``: one per unit).
    Given ``running_mean`` and ``running_var`` (``(U, k)``, contiguous, of ``x``'s dtype) the
    kernel blends the batch's statistics into them itself: with ``count`` (the layer's
    ``num_batches_tracked``, an int64 scalar) it counts the batch and weights it
    ``1 / count`` (``momentum=None``) or ``momentum``; without, ``momentum`` is the batch's
    weight. Given ``var`` (``(k, U)``, contiguous, of ``x``'s dtype) it writes the batch's
    biased variances there; :func:`batch_mean` reads the means off the result.
    """
    n, units = x.shape
    groups, k = coef.shape
    x = _prepare(x, x.dtype)
    coef, bias = _prepare(coef, x.dtype), _prepare(bias, x.dtype)
    r = None if r is None else _prepare(r, x.dtype)
    out = torch.empty_like(x)
    stats = torch.empty(2 * k * units, dtype=x.dtype)  # mean, scale (k, U) each, addressed by offset
    ra, rb = _constants(family, k)
    base, step = stats.data_ptr(), k * units * stats.element_size()
    m = -1.0 if momentum is None else float(momentum)
    if _fns[x.dtype][0](n, units, k, x.data_ptr(), _ptr(r), coef.data_ptr(), bias.data_ptr(), float(eps), ra, rb,
                        out.data_ptr(), base, _ptr(var), base + step, units // groups,
                        _ptr(running_mean), _ptr(running_var), _ptr(count), m):
        raise MemoryError("the fused SLAF forward kernel could not allocate its work buffers.")
    return out, (x, r, coef, stats, base, step, ra, rb)


def batch_mean(saved: tuple) -> Tensor:
    """The batch's element means (a ``(k, U)`` view) of a :func:`fused_forward` call."""
    x, _, coef, stats = saved[:4]
    return stats[: coef.shape[1] * x.shape[1]].view(coef.shape[1], x.shape[1])


def fused_backward(
    family: str, gy: Tensor, saved: tuple, grad_coef: Tensor | None = None, grad_bias: Tensor | None = None,
    need_x: bool = True, overwrite_gy: bool = False,
) -> tuple[Tensor | None, Tensor, Tensor]:
    """``grad_x`` (``None`` unless ``need_x``), per-group ``grad_coef`` and ``grad_bias`` of a fused forward.

    Given ``grad_coef`` (``(G, k)``) and ``grad_bias`` (``(G,)``), contiguous and of the
    batch's dtype (a parameter's ``.grad``), the kernel adds the gradients into them and
    returns them; otherwise it returns new tensors. With ``overwrite_gy`` (for a caller that
    owns ``gy`` and needs it no more) ``grad_x`` is written over ``gy``: the kernel's last
    pass reads each strip of ``gy`` before it writes the same strip, so no ``(N, U)`` buffer
    is allocated.
    """
    x, r, coef, stats, base, step, ra, rb = saved
    n, units = x.shape
    groups, k = coef.shape
    given = gy
    gy = _prepare(gy, x.dtype)
    if not need_x:
        grad_x = None
    elif overwrite_gy or gy is not given:  # a converted gy is a copy of our own
        grad_x = gy
    else:
        grad_x = torch.empty_like(x)
    accumulate = grad_coef is not None and grad_bias is not None
    if not accumulate:
        grads = torch.empty(groups * (k + 1), dtype=x.dtype)  # coef and bias gradients: one allocation
        grad_coef, grad_bias = grads[: groups * k].view(groups, k), grads[groups * k :]
    if _fns[x.dtype][1](n, units, k, gy.data_ptr(), x.data_ptr(), _ptr(r), coef.data_ptr(), base, base + step,
                        ra, rb, int(need_x), _ptr(grad_x), units // groups, int(accumulate), grad_coef.data_ptr(),
                        grad_bias.data_ptr()):
        raise MemoryError("the fused SLAF backward kernel could not allocate its work buffers.")
    return grad_x, grad_coef, grad_bias
