"""Assertions shared by the chapter test modules (``from support import ...``).

Each chapter checks the same contract for every loss: the reduction algebra, the
error contract for ``reduction``, closed-form gradient = autograd, gradcheck in
float64, and dtype/device preservation. They are written once here.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

LossFn = Callable[..., torch.Tensor]


def assert_reduction_algebra(loss: LossFn, *args: torch.Tensor, **kwargs) -> None:
    """``sum`` equals ``none``.sum() and ``mean`` equals ``none``.mean()."""
    none = loss(*args, reduction="none", **kwargs)
    torch.testing.assert_close(loss(*args, reduction="sum", **kwargs), none.sum())
    torch.testing.assert_close(loss(*args, reduction="mean", **kwargs), none.mean())


def assert_rejects_reduction(loss: LossFn, *args: torch.Tensor, **kwargs) -> None:
    """An unknown ``reduction`` raises ``ValueError`` naming the argument."""
    for bad in ("avg", "MEAN", "", None):
        with pytest.raises(ValueError, match="reduction must be one of"):
            loss(*args, reduction=bad, **kwargs)


def assert_grad_matches_autograd(
    loss: LossFn, grad: Callable[..., torch.Tensor], input: torch.Tensor, *rest, **kwargs
) -> None:
    """The closed-form gradient of the *summed* loss w.r.t. ``input`` equals autograd's."""
    x = input.detach().clone().requires_grad_(True)
    loss(x, *rest, reduction="sum", **kwargs).backward()
    torch.testing.assert_close(grad(input.detach(), *rest, **kwargs), x.grad)


def assert_gradcheck(loss: LossFn, input: torch.Tensor, *rest, **kwargs) -> None:
    """``torch.autograd.gradcheck`` in float64 (choose points away from kinks)."""
    x = input.detach().to(torch.float64).clone().requires_grad_(True)
    rest64 = [
        r.to(torch.float64) if isinstance(r, torch.Tensor) and r.is_floating_point() else r for r in rest
    ]
    assert torch.autograd.gradcheck(lambda t: loss(t, *rest64, **kwargs), (x,))


def assert_keeps_dtype(loss: LossFn, input: torch.Tensor, *rest, **kwargs) -> None:
    """The loss has the dtype and device of ``input`` for every reduction."""
    for reduction in ("none", "mean", "sum"):
        out = loss(input, *rest, reduction=reduction, **kwargs)
        assert out.dtype == input.dtype, (reduction, out.dtype)
        assert out.device == input.device, (reduction, out.device)
