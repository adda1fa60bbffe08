r"""Regression losses: squared, absolute, Huber, quantile (pinball) and log-cosh.

Every loss compares predictions ``input`` (:math:`\hat y`) with targets ``target``
(:math:`y`) of exactly the same shape, element by element, through the residual
:math:`r = \hat y - y`, and then applies ``reduction`` (``"none"`` | ``"mean"`` |
``"sum"``), as :mod:`torch.nn.functional` does. Differences from the built-ins,
stated once: there is no broadcasting of ``input`` against ``target`` (a shape
mismatch is a ``ValueError``), a ``target`` of another floating dtype is cast to
``input``'s dtype, and half precision (float16 / bfloat16) is computed in float32
and cast back, so the result always has ``input``'s dtype and device.

Each loss ``f`` has a closed-form gradient ``f_grad(input, target, ...)``: the
gradient of the *summed* loss with respect to ``input`` (divide by ``input.numel()``
for ``reduction="mean"``). Where the loss has a kink, ``f_grad`` returns the
subgradient that autograd returns for ``f``.

Introduced in Chapter 2 (:doc:`/book/regression/index`).
"""

from __future__ import annotations

import torch

from ._numerics import LOG_2, safe_sqrt, upcast
from ._validation import check_in_range, check_pair, check_positive, check_reduction, reduce

__all__ = [
    "huber",
    "huber_grad",
    "huber_reference",
    "log_cosh",
    "log_cosh_grad",
    "mae",
    "mae_grad",
    "mse",
    "mse_grad",
    "mse_reference",
    "quantile",
    "quantile_grad",
    "rmse",
    "sse",
]


def _prepare(input: object, target: object) -> tuple[torch.Tensor, torch.Tensor, torch.dtype]:
    """Validate ``input`` and ``target``; return both in the compute dtype, and ``input``'s dtype."""
    input, target = check_pair(input, target)
    dtype = input.dtype
    x, y = upcast(input, target.to(dtype))
    return x, y, dtype


def _finish(loss: torch.Tensor, reduction: str, dtype: torch.dtype) -> torch.Tensor:
    return reduce(loss, reduction).to(dtype)


# --------------------------------------------------------------------------- MSE


def mse(input, target, *, reduction: str = "mean") -> torch.Tensor:
    r"""Mean squared error (L2 loss), element-wise :math:`\ell(r) = r^2`, :math:`r = \hat y - y`.

    .. math:: \mathrm{MSE}(\hat y, y) = \frac1n \sum_{i=1}^n (\hat y_i - y_i)^2

    Args:
        input: predictions :math:`\hat y`, any shape, floating point.
        target: targets :math:`y`, the same shape as ``input``.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"`` (``"sum"`` is the SSE).

    Returns:
        The loss in ``input``'s dtype and on its device; matches
        :func:`torch.nn.functional.mse_loss`.

    Reference: Gauss (1809); Hastie, Tibshirani & Friedman (2009), §3.2.

    Examples:
        >>> import torch
        >>> from lossbook.regression import mse
        >>> mse(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 4.0, 0.0]))
        tensor(4.3333)
    """
    check_reduction(reduction)
    x, y, dtype = _prepare(input, target)
    return _SquaredError.apply(x, y, reduction).to(dtype)


class _SquaredError(torch.autograd.Function):
    r"""Squared error in two passes over memory: the residual :math:`r`, then :math:`r^2` or :math:`r\cdot r`.

    ``"sum"`` and ``"mean"`` reduce with one dot product, and the backward pass reuses
    :math:`r` (the derivative is :math:`2r`), which keeps forward + backward on large CPU
    tensors within 1.5 times :func:`torch.nn.functional.mse_loss` (a plain autograd graph
    of ``(x - y) ** 2`` takes about twice as long). Second derivatives
    (``create_graph=True``) are recomputed with ordinary differentiable operations.
    """

    @staticmethod
    def forward(ctx, x, y, reduction):
        r = x - y
        ctx.save_for_backward(x, y, r)
        ctx.reduction = reduction
        if reduction == "none":
            return r * r
        flat = r.flatten()
        total = torch.dot(flat, flat)
        return total / max(r.numel(), 1) if reduction == "mean" else total

    @staticmethod
    def backward(ctx, grad):
        x, y, r = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: keep the graph of the gradient
            r = x - y
        if ctx.reduction == "mean":
            grad = grad / max(r.numel(), 1)
        gx = 2 * grad * r
        return (
            gx if ctx.needs_input_grad[0] else None,
            -gx if ctx.needs_input_grad[1] else None,
            None,
        )


def mse_reference(input, target, *, reduction: str = "mean") -> torch.Tensor:
    r"""The squared error as the formula reads, :math:`(\hat y_i - y_i)^2`, with plain autograd.

    The readable form of :func:`mse`, which computes the same values and first and second
    derivatives (the tests prove it) in fewer passes over memory.

    Examples:
        >>> import torch
        >>> from lossbook.regression import mse_reference
        >>> mse_reference(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 4.0, 0.0]))
        tensor(4.3333)
    """
    check_reduction(reduction)
    x, y, dtype = _prepare(input, target)
    return _finish((x - y) ** 2, reduction, dtype)


def mse_grad(input, target) -> torch.Tensor:
    r"""Gradient of the summed squared error: :math:`2(\hat y_i - y_i)` for each element.

    Examples:
        >>> import torch
        >>> from lossbook.regression import mse_grad
        >>> mse_grad(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 4.0, 0.0]))
        tensor([ 0., -4.,  6.])
    """
    x, y, dtype = _prepare(input, target)
    return (2 * (x - y)).to(dtype)


def sse(input, target) -> torch.Tensor:
    r"""Sum of squared errors :math:`\sum_i (\hat y_i - y_i)^2`, i.e. ``mse(..., reduction="sum")``.

    Examples:
        >>> import torch
        >>> from lossbook.regression import sse
        >>> sse(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 4.0, 0.0]))
        tensor(13.)
    """
    return mse(input, target, reduction="sum")


def rmse(input, target) -> torch.Tensor:
    r"""Root mean squared error :math:`\sqrt{\frac1n\sum_i (\hat y_i - y_i)^2}`, in the units of ``target``.

    A single number (there is no element-wise RMSE, so no ``reduction``). The square
    root is the book's ``safe_sqrt``, so a perfect fit has
    RMSE 0 with gradient 0 rather than NaN.

    Examples:
        >>> import torch
        >>> from lossbook.regression import rmse
        >>> rmse(torch.tensor([3.0, 0.0]), torch.tensor([0.0, 4.0]))
        tensor(3.5355)
    """
    x, y, dtype = _prepare(input, target)
    r = x - y
    return safe_sqrt(reduce(r * r, "mean")).to(dtype)


# --------------------------------------------------------------------------- MAE


def mae(input, target, *, reduction: str = "mean") -> torch.Tensor:
    r"""Mean absolute error (L1 loss), element-wise :math:`\ell(r) = |r|`, :math:`r = \hat y - y`.

    .. math:: \mathrm{MAE}(\hat y, y) = \frac1n \sum_{i=1}^n |\hat y_i - y_i|

    Args:
        input: predictions :math:`\hat y`, any shape, floating point.
        target: targets :math:`y`, the same shape as ``input``.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        The loss in ``input``'s dtype and on its device; matches
        :func:`torch.nn.functional.l1_loss`.

    Reference: Laplace (1774); Koenker & Bassett (1978) for its quantile generalisation.

    Examples:
        >>> import torch
        >>> from lossbook.regression import mae
        >>> mae(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 4.0, 0.0]))
        tensor(1.6667)
    """
    check_reduction(reduction)
    x, y, dtype = _prepare(input, target)
    return _finish((x - y).abs(), reduction, dtype)


def mae_grad(input, target) -> torch.Tensor:
    r"""Subgradient of the summed absolute error: :math:`\operatorname{sign}(\hat y_i - y_i)`, 0 at a tie.

    Examples:
        >>> import torch
        >>> from lossbook.regression import mae_grad
        >>> mae_grad(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 4.0, 0.0]))
        tensor([ 0., -1.,  1.])
    """
    x, y, dtype = _prepare(input, target)
    return torch.sign(x - y).to(dtype)


# --------------------------------------------------------------------------- Huber


def huber(input, target, *, delta: float = 1.0, reduction: str = "mean") -> torch.Tensor:
    r"""Huber loss: quadratic for :math:`|r| \le \delta`, linear beyond.

    .. math::
        \ell_\delta(r) = \begin{cases} \tfrac12 r^2 & |r| \le \delta \\
        \delta\,(|r| - \tfrac12\delta) & |r| > \delta \end{cases}
        \;=\; \tfrac12 q^2 + \delta(|r| - q),\quad q = \min(|r|, \delta)

    Both forms equal :math:`c\,(r - c/2)` with :math:`c = \operatorname{clip}(r, -\delta, \delta)`,
    which is how it is computed: no branch is evaluated where it does not apply, and the
    gradient is :math:`c`, the clipped residual.
    Equals :func:`torch.nn.functional.huber_loss` with the same ``delta``;
    :func:`torch.nn.functional.smooth_l1_loss` with ``beta`` is ``huber(delta=beta) / beta``.

    Args:
        input: predictions :math:`\hat y`, any shape, floating point.
        target: targets :math:`y`, the same shape as ``input``.
        delta: the threshold :math:`\delta > 0` (finite).
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        The loss in ``input``'s dtype and on its device.

    Reference: Huber (1964), "Robust estimation of a location parameter".

    Examples:
        >>> import torch
        >>> from lossbook.regression import huber
        >>> huber(torch.tensor([0.5, 3.0]), torch.tensor([0.0, 0.0]), delta=1.0, reduction="none")
        tensor([0.1250, 2.5000])
    """
    check_reduction(reduction)
    x, y, dtype = _prepare(input, target)
    delta = check_positive(delta, "delta")
    return _Huber.apply(x, y, delta, reduction).to(dtype)


class _Huber(torch.autograd.Function):
    r"""Huber's forward and backward in few passes over memory (same values as the formula).

    With :math:`c = \operatorname{clip}(r, -\delta, \delta)` the loss is
    :math:`c\,(r - c/2)` (equal to :math:`\tfrac12 q^2 + \delta(|r| - q)`) and its
    derivative is :math:`c` itself, so the forward pass keeps :math:`c` for the backward
    pass; ``"sum"`` and ``"mean"`` reduce with one dot product. A plain autograd graph of
    the formula costs about five times :func:`torch.nn.functional.huber_loss` on CPU;
    this costs well under 1.5 times. Second derivatives (``create_graph=True``) are
    recomputed from ``input`` and ``target`` with ordinary differentiable operations.
    """

    @staticmethod
    def forward(ctx, x, y, delta, reduction):
        r = x - y
        c = r.clamp(-delta, delta)
        ctx.save_for_backward(x, y, c)
        ctx.delta, ctx.reduction = delta, reduction
        if reduction == "none":
            return r.sub_(c, alpha=0.5).mul_(c)
        total = torch.dot(c.flatten(), r.sub_(c, alpha=0.5).flatten())
        return total / max(r.numel(), 1) if reduction == "mean" else total

    @staticmethod
    def backward(ctx, grad):
        x, y, c = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: keep the graph of the gradient
            c = (x - y).clamp(-ctx.delta, ctx.delta)
        if ctx.reduction == "mean":
            grad = grad / max(c.numel(), 1)
        gx = c * grad
        return (
            gx if ctx.needs_input_grad[0] else None,
            -gx if ctx.needs_input_grad[1] else None,
            None,
            None,
        )


def huber_reference(input, target, *, delta: float = 1.0, reduction: str = "mean") -> torch.Tensor:
    r"""Huber's loss as its definition reads, branch by branch, with plain autograd.

    The readable form of :func:`huber`, which computes the same values and first and second
    derivatives (the tests prove it) in fewer passes over memory.

    Examples:
        >>> import torch
        >>> from lossbook.regression import huber_reference
        >>> huber_reference(torch.tensor([0.5, 3.0]), torch.tensor([0.0, 0.0]), delta=1.0, reduction="none")
        tensor([0.1250, 2.5000])
    """
    check_reduction(reduction)
    x, y, dtype = _prepare(input, target)
    delta = check_positive(delta, "delta")
    r = (x - y).abs()
    loss = torch.where(r <= delta, 0.5 * r**2, delta * (r - 0.5 * delta))
    return _finish(loss, reduction, dtype)


def huber_grad(input, target, *, delta: float = 1.0) -> torch.Tensor:
    r"""Gradient of the summed Huber loss: :math:`\operatorname{clip}(r_i, -\delta, \delta)`.

    Examples:
        >>> import torch
        >>> from lossbook.regression import huber_grad
        >>> huber_grad(torch.tensor([0.5, 3.0, -2.0]), torch.tensor([0.0, 0.0, 0.0]), delta=1.0)
        tensor([ 0.5000,  1.0000, -1.0000])
    """
    x, y, dtype = _prepare(input, target)
    delta = check_positive(delta, "delta")
    return (x - y).clamp(-delta, delta).to(dtype)


# --------------------------------------------------------------------------- quantile


def quantile(input, target, *, tau: float = 0.5, reduction: str = "mean") -> torch.Tensor:
    r"""Quantile (pinball) loss for the :math:`\tau`-quantile, with :math:`u = y - \hat y`.

    .. math::
        \rho_\tau(u) = \begin{cases} \tau\, u & u \ge 0 \ (\text{under-prediction}) \\
        (\tau - 1)\, u & u < 0 \ (\text{over-prediction}) \end{cases}
        \;=\; u\,(\tau - \mathbb 1[u < 0])

    Its expected value is minimised by the :math:`\tau`-quantile of :math:`y`; at
    :math:`\tau = \tfrac12` it is exactly half the absolute error.

    Args:
        input: predictions :math:`\hat y`, any shape, floating point.
        target: targets :math:`y`, the same shape as ``input``.
        tau: the quantile level :math:`\tau \in (0, 1)`.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        The loss in ``input``'s dtype and on its device.

    Reference: Koenker & Bassett (1978), "Regression quantiles".

    Examples:
        >>> import torch
        >>> from lossbook.regression import quantile
        >>> quantile(torch.tensor([1.0, 3.0]), torch.tensor([2.0, 2.0]), tau=0.9, reduction="none")
        tensor([0.9000, 0.1000])
    """
    check_reduction(reduction)
    x, y, dtype = _prepare(input, target)
    tau = check_in_range(tau, "tau", 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    u = y - x
    return _finish(u * (tau - (u < 0).to(u.dtype)), reduction, dtype)


def quantile_grad(input, target, *, tau: float = 0.5) -> torch.Tensor:
    r"""Gradient of the summed pinball loss in :math:`\hat y`: :math:`\mathbb 1[y_i < \hat y_i] - \tau`.

    That is :math:`-\tau` when the prediction is too low and :math:`1 - \tau` when it is
    too high; at a tie it returns :math:`-\tau`, the subgradient autograd gives.

    Examples:
        >>> import torch
        >>> from lossbook.regression import quantile_grad
        >>> quantile_grad(torch.tensor([1.0, 3.0]), torch.tensor([2.0, 2.0]), tau=0.9)
        tensor([-0.9000,  0.1000])
    """
    x, y, dtype = _prepare(input, target)
    tau = check_in_range(tau, "tau", 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    return ((y < x).to(x.dtype) - tau).to(dtype)


# --------------------------------------------------------------------------- log-cosh


def log_cosh(input, target, *, reduction: str = "mean") -> torch.Tensor:
    r"""Log-cosh loss :math:`\ell(r) = \log\cosh r`, :math:`r = \hat y - y`, computed without overflow.

    .. math:: \log\cosh r = |r| + \log\bigl(1 + e^{-2|r|}\bigr) - \log 2

    The naive ``log(cosh(r))`` overflows once :math:`\cosh r` does (:math:`|r| > 89.4`
    in float32, :math:`|r| > 11.8` in float16); this form only exponentiates
    :math:`-2|r| \le 0` (through ``softplus``) and is finite for every finite residual.

    Args:
        input: predictions :math:`\hat y`, any shape, floating point.
        target: targets :math:`y`, the same shape as ``input``.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        The loss in ``input``'s dtype and on its device.

    Reference: Saleh & Saleh (2022), "Statistical properties of the log-cosh loss function".

    Examples:
        >>> import torch
        >>> from lossbook.regression import log_cosh
        >>> log_cosh(torch.tensor([0.0, 1000.0]), torch.tensor([0.0, 0.0]), reduction="none")
        tensor([  0.0000, 999.3068])
    """
    check_reduction(reduction)
    x, y, dtype = _prepare(input, target)
    a = (x - y).abs()
    return _finish(a + torch.nn.functional.softplus(-2 * a) - LOG_2, reduction, dtype)


def log_cosh_grad(input, target) -> torch.Tensor:
    r"""Gradient of the summed log-cosh loss: :math:`\tanh(\hat y_i - y_i)`.

    Examples:
        >>> import torch
        >>> from lossbook.regression import log_cosh_grad
        >>> log_cosh_grad(torch.tensor([0.0, 1000.0]), torch.tensor([0.0, 0.0]))
        tensor([0., 1.])
    """
    x, y, dtype = _prepare(input, target)
    return torch.tanh(x - y).to(dtype)
