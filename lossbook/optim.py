"""The small optimisation loops the book's convergence experiments use.

Each loop returns the whole trajectory of iterates, so a notebook can plot the
suboptimality gap against the iteration number and compare it with the bound
the theory gives. Introduced in Chapter 1 (gradient-based optimisation).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ._validation import check_positive, check_positive_int

__all__ = ["gradient_descent", "sgd", "subgradient_method"]

StepSize = float | Callable[[int], float]


def _check_steps(n_steps: object) -> int:
    if isinstance(n_steps, bool) or not isinstance(n_steps, int):
        raise TypeError(f"n_steps must be an int; got {type(n_steps).__name__}")
    if n_steps < 0:
        raise ValueError(f"n_steps must be non-negative; got {n_steps}")
    return n_steps


def _step_at(step: StepSize, k: int) -> float:
    return check_positive(step(k) if callable(step) else step, "step")


def gradient_descent(
    grad: Callable[[torch.Tensor], torch.Tensor],
    x0: torch.Tensor,
    *,
    step: StepSize,
    n_steps: int,
) -> torch.Tensor:
    r"""Run :math:`\theta_{k+1} = \theta_k - \alpha_k \nabla f(\theta_k)` for ``n_steps`` steps.

    Args:
        grad: the gradient :math:`\nabla f`, a function of the parameter tensor.
        x0: the starting point :math:`\theta_0`.
        step: the step size :math:`\alpha > 0`, or a function ``k -> alpha_k``.
        n_steps: the number of updates.

    Returns:
        The iterates :math:`\theta_0, \dots, \theta_K` stacked along a new first
        dimension, shape ``(n_steps + 1, *x0.shape)``. A diverging run is returned
        as is (its iterates grow, possibly to ``inf``): showing divergence is part
        of what the book does with it.
    """
    n_steps = _check_steps(n_steps)
    _step_at(step, 0)
    x = torch.as_tensor(x0).detach().clone()
    path = [x.clone()]
    for k in range(n_steps):
        x = x - _step_at(step, k) * grad(x)
        path.append(x.clone())
    return torch.stack(path)


def subgradient_method(
    subgrad: Callable[[torch.Tensor], torch.Tensor],
    x0: torch.Tensor,
    *,
    step: StepSize,
    n_steps: int,
) -> torch.Tensor:
    r"""The subgradient method, :math:`\theta_{k+1} = \theta_k - \alpha_k g_k`, :math:`g_k \in \partial f`.

    The same loop as :func:`gradient_descent`, named separately because its theory
    differs: it is not a descent method, so experiments track the *best* iterate
    :math:`\min_{i \le k} f(\theta_i)`, and it needs diminishing steps (e.g.
    :math:`\alpha_k = c/\sqrt{k+1}`) to converge. Returns the stacked iterates.
    """
    return gradient_descent(subgrad, x0, step=step, n_steps=n_steps)


def sgd(
    sample_grad: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x0: torch.Tensor,
    n_samples: int,
    *,
    step: StepSize,
    n_steps: int,
    batch_size: int = 1,
    generator: torch.Generator,
) -> torch.Tensor:
    r"""Mini-batch stochastic gradient descent with sampling with replacement.

    Args:
        sample_grad: ``sample_grad(theta, idx)`` returns the average gradient of the
            losses of the samples ``idx`` (a ``LongTensor``) at ``theta``.
        x0: the starting point.
        n_samples: the number of training samples to draw indices from.
        step: a step size, or a function ``k -> alpha_k`` (e.g. ``c / (k + 1)``).
        n_steps: the number of updates.
        batch_size: samples per update.
        generator: the :class:`torch.Generator` that draws the indices, so runs
            are reproducible.

    Returns:
        The stacked iterates, shape ``(n_steps + 1, *x0.shape)``.
    """
    n_steps = _check_steps(n_steps)
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator; got {type(generator).__name__}")
    check_positive_int(n_samples, "n_samples")
    check_positive_int(batch_size, "batch_size")
    _step_at(step, 0)
    x = torch.as_tensor(x0).detach().clone()
    path = [x.clone()]
    for k in range(n_steps):
        idx = torch.randint(n_samples, (batch_size,), generator=generator, device=generator.device)
        x = x - _step_at(step, k) * sample_grad(x, idx)
        path.append(x.clone())
    return torch.stack(path)
