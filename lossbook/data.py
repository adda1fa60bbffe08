"""Seeded synthetic data sets used across the book.

Nothing is downloaded: every data set is generated from a seed with a
:class:`torch.Generator`, so a notebook gives the same numbers on every run and
every machine. Each function says which chapter introduced it.
"""

from __future__ import annotations

import torch

from ._validation import check_in_range, check_nonnegative



def generator(seed: int, device: torch.device | str | None = None) -> torch.Generator:
    """A :class:`torch.Generator` seeded with ``seed`` (on ``device``, CPU by default)."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int; got {type(seed).__name__}")
    g = torch.Generator(device=device or "cpu")
    g.manual_seed(seed)
    return g


def _check_count(n: object, name: str, minimum: int = 1) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{name} must be an int; got {type(n).__name__}")
    if n < minimum:
        raise ValueError(f"{name} must be at least {minimum}; got {n}")
    return n


def linear_regression(
    n: int,
    d: int = 1,
    *,
    noise: float = 1.0,
    weight: torch.Tensor | None = None,
    bias: float = 0.0,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Samples of :math:`y = x^\top w + b + \sigma\varepsilon` with Gaussian :math:`x` and :math:`\varepsilon`.

    Args:
        n: number of samples (at least 1).
        d: number of features (at least 1).
        noise: the noise standard deviation :math:`\sigma \ge 0`.
        weight: the true weights, shape ``(d,)``; by default ``1, 2, ..., d`` scaled by ``1/d``.
        bias: the true intercept :math:`b`.
        seed: seed of the generator.
        dtype: floating dtype of the returned tensors.

    Returns:
        ``(x, y, weight)`` with shapes ``(n, d)``, ``(n,)`` and ``(d,)``.

    Introduced in Chapter 1 (risk minimisation).
    """
    n = _check_count(n, "n")
    d = _check_count(d, "d")
    noise = check_nonnegative(noise, "noise")
    g = generator(seed)
    if weight is None:
        weight = torch.arange(1, d + 1, dtype=dtype) / d
    else:
        weight = torch.as_tensor(weight, dtype=dtype)
        if weight.shape != (d,):
            raise ValueError(f"weight must have shape ({d},); got {tuple(weight.shape)}")
    x = torch.randn(n, d, generator=g, dtype=dtype)
    y = x @ weight + bias + noise * torch.randn(n, generator=g, dtype=dtype)
    return x, y, weight


def noisy_sine(
    n: int, *, noise: float = 0.3, low: float = 0.0, high: float = 1.0, seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Samples of :math:`y = \sin(2\pi x) + \sigma\varepsilon` with :math:`x \sim U(\text{low}, \text{high})`.

    The classic curve-fitting problem (Bishop 2006, §1.1) used for regularised
    empirical risk minimisation. Returns ``(x, y)``, both of shape ``(n,)``.

    Introduced in Chapter 1 (risk minimisation).
    """
    n = _check_count(n, "n")
    noise = check_nonnegative(noise, "noise")
    if not high > low:
        raise ValueError(f"high must be greater than low; got low={low}, high={high}")
    g = generator(seed)
    x = low + (high - low) * torch.rand(n, generator=g, dtype=dtype)
    y = torch.sin(2 * torch.pi * x) + noise * torch.randn(n, generator=g, dtype=dtype)
    return x, y


def two_gaussians(
    n: int,
    *,
    distance: float = 3.0,
    positive_fraction: float = 0.5,
    d: int = 2,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""A binary classification problem: two unit-variance Gaussian classes.

    Class 1 is centred at :math:`(\text{distance}/2)\,e_1` and class 0 at
    :math:`-(\text{distance}/2)\,e_1`; ``positive_fraction`` sets the class balance
    (use a small value for imbalanced experiments).

    Returns:
        ``(x, y)``: features of shape ``(n, d)`` and integer labels in {0, 1} of shape ``(n,)``.

    Introduced in Chapter 1 (definition of a loss).
    """
    n = _check_count(n, "n")
    d = _check_count(d, "d")
    check_in_range(positive_fraction, "positive_fraction", 0.0, 1.0)
    g = generator(seed)
    y = (torch.rand(n, generator=g) < positive_fraction).long()
    centre = torch.zeros(d, dtype=dtype)
    centre[0] = distance / 2
    x = torch.randn(n, d, generator=g, dtype=dtype) + torch.where(y[:, None] == 1, centre, -centre)
    return x, y
