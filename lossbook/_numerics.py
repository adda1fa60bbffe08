"""Numerically stable primitives shared by the losses.

The rules the book follows (and this module packages):

* compute in log space with stable primitives (``logsumexp``, ``log_softmax``,
  ``logsigmoid``, ``softplus``, ``xlogy``, ``log1p``, ``logaddexp``);
* use a *finite* stand-in for ``log 0`` where a gradient must flow;
* never differentiate ``sqrt`` at 0 (its derivative is infinite and turns into
  NaN through the chain rule): the "double ``where``" below keeps both the value
  and the gradient finite;
* upcast half precision (float16 / bfloat16) to float32 for ``exp``, ``log``
  and norms, and cast the result back.

Introduced in the preface (:doc:`/book/intro`).
"""

from __future__ import annotations

import math

import torch

__all__ = [
    "HALF_DTYPES",
    "LOG_2",
    "LOG_CLAMP",
    "clamped_log",
    "compute_dtype",
    "log1mexp",
    "safe_norm",
    "safe_sqrt",
    "safe_xlogy",
    "upcast",
]

HALF_DTYPES = (torch.float16, torch.bfloat16)
LOG_2 = math.log(2.0)
LOG_CLAMP = -100.0
"""The floor :func:`clamped_log` applies to ``log p`` (PyTorch's value in ``binary_cross_entropy``)."""


def compute_dtype(x: torch.Tensor) -> torch.dtype:
    """The dtype to compute in: float32 for half precision, else ``x.dtype``."""
    return torch.float32 if x.dtype in HALF_DTYPES else x.dtype


def upcast(*tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Return the tensors in their compute dtype (float32 for half precision).

    Use as ``x, y = upcast(x, y)`` at the top of a loss and cast the result back
    with ``.to(original_dtype)``; full-precision tensors are returned unchanged.
    """
    return tuple(t.to(compute_dtype(t)) if t.is_floating_point() else t for t in tensors)


def safe_sqrt(x: torch.Tensor, eps: float = 0.0) -> torch.Tensor:
    r"""``sqrt(x + eps)`` for ``x >= 0`` whose gradient is 0, not NaN, where ``x + eps == 0``.

    The "double ``where``": the inner ``where`` replaces the zeros *before* the
    square root, so the backward pass never evaluates :math:`1/(2\sqrt{0})`; the
    outer one puts the exact value 0 back.
    """
    y = x + eps
    positive = y > 0
    return torch.where(
        positive, torch.sqrt(torch.where(positive, y, torch.ones_like(y))), torch.zeros_like(y)
    )


def safe_norm(x: torch.Tensor, dim: int = -1, keepdim: bool = False, eps: float = 0.0) -> torch.Tensor:
    r"""Euclidean norm along ``dim`` with a finite gradient at ``x = 0``.

    :func:`torch.linalg.vector_norm` has a NaN gradient at the origin in older
    releases and a sub-gradient convention in newer ones; this one is defined to
    have gradient 0 there, on every version and device. Half precision is
    computed in float32 and cast back.
    """
    (xc,) = upcast(x)
    out = safe_sqrt((xc * xc).sum(dim=dim, keepdim=keepdim), eps=eps)
    return out.to(x.dtype)


def log1mexp(x: torch.Tensor) -> torch.Tensor:
    r"""Stable :math:`\log(1 - e^{x})` for :math:`x \le 0`.

    Uses ``log(-expm1(x))`` near 0 and ``log1p(-exp(x))`` far from it
    (Mächler's switch at :math:`-\log 2`), each accurate where the other is not.
    """
    return torch.where(
        x > -LOG_2,
        torch.log(-torch.expm1(torch.clamp(x, max=-torch.finfo(x.dtype).tiny))),
        torch.log1p(-torch.exp(torch.clamp(x, max=-LOG_2))),
    )


def safe_xlogy(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r""":math:`x \log y` with :math:`0 \log y = 0` for every ``y``, and a finite gradient there.

    The "double ``where``": ``y`` is replaced by 1 where ``x == 0`` *before* the log,
    so neither the value nor the backward pass ever sees :math:`\log 0`
    (:func:`torch.xlogy` has the value right but a NaN gradient in ``y`` at ``x = y = 0``).
    """
    zero = x == 0
    return torch.where(zero, torch.zeros_like(x), x * torch.log(torch.where(zero, torch.ones_like(y), y)))


def clamped_log(p: torch.Tensor, floor: float = LOG_CLAMP) -> torch.Tensor:
    r""":math:`\max(\log p, \text{floor})` for :math:`p \ge 0`, finite at :math:`p = 0` with gradient 0 there.

    The "double ``where``": the log is never evaluated at 0, so the backward pass has
    no :math:`0 \cdot \infty`; where the floor is active the gradient is 0.
    """
    positive = p > 0
    safe = torch.log(torch.where(positive, p, torch.ones_like(p)))
    return torch.where(positive, safe, torch.full_like(p, floor)).clamp(min=floor)
