"""Property checks a reader can run on any loss, including their own.

Each check is named after the property it probes (``checks.convexity(loss)``), evaluates
the loss on a grid of points and returns a :class:`CheckResult` (it never raises because a
property fails; the raising ``check_*`` argument validators are private, in ``_validation``):
whether the property held everywhere on the grid, the worst value found, and the
point where it was found (a computed counter-example when the property fails). A grid
can refute a property but never prove it; the chapters pair these checks with proofs.

The loss is called as ``loss(input, target, reduction="none")``, the convention of
every loss in :mod:`lossbook` and :mod:`torch.nn.functional`. Introduced in Chapter 1
(what is a loss function).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from ._validation import check_nonnegative

__all__ = ["CheckResult", "convexity", "identity", "nonnegativity", "symmetry"]

Loss = Callable[..., torch.Tensor]


@dataclass(frozen=True)
class CheckResult:
    """Outcome of a property check.

    Attributes:
        holds: whether the property held at every point checked (within ``tol``).
        worst: the most adverse value found (its meaning is given by each check).
        witness: the arguments at which ``worst`` was attained, as floats.
    """

    holds: bool
    worst: float
    witness: tuple[float, ...]


def _grid(values: torch.Tensor | list[float] | None, dtype: torch.dtype) -> torch.Tensor:
    if values is None:
        return torch.linspace(-3.0, 3.0, 61, dtype=dtype)
    t = torch.as_tensor(values, dtype=dtype).flatten()
    if t.numel() == 0:
        raise ValueError("grid must hold at least one value")
    return t


def _pairs(predictions: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    p, t = torch.meshgrid(predictions, targets, indexing="ij")
    return p.reshape(-1), t.reshape(-1)


def nonnegativity(
    loss: Loss, predictions=None, targets=None, *, tol: float = 0.0, dtype: torch.dtype = torch.float64
) -> CheckResult:
    r"""Is :math:`\ell(\hat y, y) \ge 0` for every pair on the grid?

    ``worst`` is the smallest loss value found; ``witness`` is ``(y_hat, y)`` there.
    """
    tol = check_nonnegative(tol, "tol")
    p, t = _pairs(_grid(predictions, dtype), _grid(targets, dtype))
    values = loss(p, t, reduction="none")
    i = int(torch.argmin(values))
    worst = float(values[i])
    return CheckResult(worst >= -tol, worst, (float(p[i]), float(t[i])))


def identity(
    loss: Loss, targets=None, *, tol: float = 1e-12, dtype: torch.dtype = torch.float64
) -> CheckResult:
    r"""Is :math:`\ell(y, y) = 0` for every ``y`` on the grid?

    ``worst`` is the largest :math:`|\ell(y, y)|` found; ``witness`` is ``(y,)``.
    Only meaningful when predictions and targets live in the same space.
    """
    tol = check_nonnegative(tol, "tol")
    t = _grid(targets, dtype)
    values = loss(t.clone(), t, reduction="none").abs()
    i = int(torch.argmax(values))
    worst = float(values[i])
    return CheckResult(worst <= tol, worst, (float(t[i]),))


def symmetry(
    loss: Loss, predictions=None, targets=None, *, tol: float = 1e-12, dtype: torch.dtype = torch.float64
) -> CheckResult:
    r"""Is :math:`\ell(a, b) = \ell(b, a)` for every pair on the grid?

    ``worst`` is the largest :math:`|\ell(a, b) - \ell(b, a)|`; ``witness`` is ``(a, b)``.
    """
    tol = check_nonnegative(tol, "tol")
    a, b = _pairs(_grid(predictions, dtype), _grid(targets, dtype))
    gap = (loss(a, b, reduction="none") - loss(b, a, reduction="none")).abs()
    i = int(torch.argmax(gap))
    worst = float(gap[i])
    return CheckResult(worst <= tol, worst, (float(a[i]), float(b[i])))


def convexity(
    loss: Loss, predictions=None, targets=None, *, tol: float = 1e-12, dtype: torch.dtype = torch.float64
) -> CheckResult:
    r"""Is :math:`\hat y \mapsto \ell(\hat y, y)` midpoint-convex on the grid, for each target?

    Checks :math:`\ell(\tfrac{a+b}{2}, y) \le \tfrac12[\ell(a, y) + \ell(b, y)]` for all
    prediction pairs ``a, b`` and targets ``y``. ``worst`` is the largest violation
    :math:`\ell(\tfrac{a+b}{2}, y) - \tfrac12[\ell(a, y) + \ell(b, y)]` (negative or zero
    when the check passes); ``witness`` is ``(a, b, y)``.
    """
    tol = check_nonnegative(tol, "tol")
    preds, targs = _grid(predictions, dtype), _grid(targets, dtype)
    a, b = torch.meshgrid(preds, preds, indexing="ij")
    a, b = a.reshape(-1), b.reshape(-1)
    best = (-float("inf"), (0.0, 0.0, 0.0))
    for y in targs:
        yy = y.expand_as(a)
        gap = (
            loss((a + b) / 2, yy, reduction="none")
            - (loss(a, yy, reduction="none") + loss(b, yy, reduction="none")) / 2
        )
        i = int(torch.argmax(gap))
        if float(gap[i]) > best[0]:
            best = (float(gap[i]), (float(a[i]), float(b[i]), float(y)))
    return CheckResult(best[0] <= tol, best[0], best[1])
