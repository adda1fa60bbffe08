r"""Probabilistic losses: Kullback–Leibler, Jensen–Shannon and Wasserstein.

Two families of distances between probability distributions:

* **divergences** that compare densities point by point — the Kullback–Leibler
  divergence :func:`kl_div` (with :func:`torch.nn.functional.kl_div`'s argument
  convention) and its plainly named form :func:`kl_divergence`, the closed form
  :func:`gaussian_kl` between Gaussians, and the symmetric, bounded
  Jensen–Shannon divergence :func:`js_divergence`;
* **optimal-transport distances** that compare where the mass *is* — the
  1-D Wasserstein distance :func:`wasserstein_1d` (closed form through quantile
  functions) and the entropic log-domain Sinkhorn solver :func:`sinkhorn` for small
  point clouds.

Logarithms are natural (results in nats). The convention :math:`0 \log 0 = 0` holds
everywhere: a zero in ``P`` contributes nothing, and gives a finite value *and* a
finite gradient. Half precision is computed in float32 and cast back.

Introduced in Chapter 4 (:doc:`/book/probabilistic/index`).
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import torch

from ._numerics import safe_xlogy, upcast
from ._validation import (
    as_float_tensor,
    check_in_range,
    check_pair,
    check_positive,
    check_positive_int,
    check_reduction,
    check_same_device,
    check_same_shape,
    check_weights,
    reduce,
)

__all__ = [
    "KL_REDUCTIONS",
    "SinkhornConvergenceWarning",
    "SinkhornResult",
    "cost_matrix",
    "distribution_cross_entropy",
    "entropy",
    "gaussian_kl",
    "js_divergence",
    "kl_div",
    "kl_div_grad",
    "kl_divergence",
    "sinkhorn",
    "sinkhorn_default_tol",
    "sinkhorn_reference",
    "wasserstein_1d",
]

KL_REDUCTIONS: tuple[str, ...] = ("none", "batchmean", "sum", "mean")
"""The reductions :func:`kl_div` accepts (those of :func:`torch.nn.functional.kl_div`)."""


def _check_distribution(p: torch.Tensor, name: str) -> None:
    """``ValueError`` unless ``p`` is non-negative and sums to 1 along its last dimension."""
    if p.dim() == 0:
        raise ValueError(f"{name} must have at least one dimension (the outcomes); got a scalar")
    if p.numel() == 0:
        return
    p = p.detach()
    if bool((p < 0).any()) or not bool(torch.isfinite(p).all()):
        raise ValueError(f"{name} must hold finite, non-negative probabilities")
    (pc,) = upcast(p)
    # rounding of the input's own dtype decides how far from 1 a row may honestly sum
    tol = max(1e-6, 10 * torch.finfo(p.dtype).eps) * p.shape[-1]
    err = float((pc.sum(-1) - 1).abs().max())
    if err > tol:
        raise ValueError(f"{name} must sum to 1 along its last dimension; the largest deviation is {err:.3g}")


def _prepare_pair(
    p: object, q: object, names: tuple[str, str]
) -> tuple[torch.Tensor, torch.Tensor, torch.dtype]:
    a, b = names
    p, q = check_pair(p, q, names)
    _check_distribution(p, a)
    _check_distribution(q, b)
    dtype = p.dtype
    pc, qc = upcast(p, q.to(dtype))
    return pc, qc, dtype


# ------------------------------------------------------------------ KL, torch style


def kl_div(input, target, *, reduction: str = "mean", log_target: bool = False) -> torch.Tensor:
    r"""Kullback–Leibler divergence with the argument convention of :func:`torch.nn.functional.kl_div`.

    **Mind the order**: ``input`` holds the *log*-probabilities :math:`\log q` of the model
    :math:`Q`, ``target`` the probabilities :math:`p` of the reference :math:`P` (or
    :math:`\log p` when ``log_target=True``), and the result is :math:`\mathrm{KL}(P\,\|\,Q)`:

    .. math:: \ell_i = p_i\,(\log p_i - \log q_i), \qquad 0 \log 0 = 0.

    ``reduction="batchmean"`` divides the sum by ``input.size(0)`` (the batch size) and is
    the KL divergence per distribution when each row is one distribution; ``"mean"``
    divides by the number of *elements* (batch size × number of outcomes), which is not a
    KL divergence — it is the default only because it is :mod:`torch`'s default.

    Unlike the built-in, a zero in ``target`` paired with :math:`\log q_i = -\infty` gives
    0 (the built-in gives NaN), ``input`` and ``target`` must have the same shape, and
    half precision is computed in float32.

    Args:
        input: log-probabilities :math:`\log q`, any shape, floating point.
        target: probabilities :math:`p` (or :math:`\log p` with ``log_target``), same shape.
        reduction: ``"none"`` | ``"batchmean"`` | ``"sum"`` | ``"mean"``.
        log_target: whether ``target`` holds log-probabilities.

    Returns:
        The divergence in ``input``'s dtype and on its device.

    Reference: Kullback & Leibler (1951); the PyTorch documentation of ``kl_div``.

    Examples:
        >>> import torch
        >>> from lossbook.probabilistic import kl_div
        >>> p = torch.tensor([[0.5, 0.5]])
        >>> q = torch.tensor([[0.25, 0.75]])
        >>> kl_div(q.log(), p, reduction="batchmean")
        tensor(0.1438)
    """
    input, target = check_pair(input, target)
    check_reduction(reduction, KL_REDUCTIONS)
    if not isinstance(log_target, bool):
        raise TypeError(f"log_target must be a bool; got {type(log_target).__name__}")
    dtype = input.dtype
    x, t = upcast(input, target.to(dtype))
    if log_target:
        p = torch.exp(t)
        zero = p == 0
        # log p - log q, with the zero-probability terms masked before they can make inf - inf.
        diff = torch.where(zero, torch.zeros_like(t), t - torch.where(zero, torch.zeros_like(x), x))
        loss = torch.where(zero, torch.zeros_like(p), p * diff)
    else:
        zero = t == 0
        loss = safe_xlogy(t, t) - torch.where(zero, torch.zeros_like(x), t * x)
    if reduction == "batchmean":
        n = input.size(0) if input.dim() > 0 else 1
        out = loss.sum() / max(n, 1)
    else:
        out = reduce(loss, reduction)
    return out.to(dtype)


def kl_div_grad(input, target, *, log_target: bool = False) -> torch.Tensor:
    r"""Gradient of ``kl_div(input, target, reduction="sum")`` with respect to ``input``.

    Since :math:`\ell_i = p_i \log p_i - p_i \log q_i` is linear in :math:`\log q_i`,

    .. math:: \frac{\partial}{\partial \log q_i} \sum_j \ell_j = -p_i,

    whatever ``input`` is. (If :math:`\log q = \operatorname{log\_softmax}(z)`, the chain rule
    turns this into the familiar :math:`\partial / \partial z = \operatorname{softmax}(z) - p`.)

    Examples:
        >>> import torch
        >>> from lossbook.probabilistic import kl_div_grad
        >>> kl_div_grad(torch.tensor([[0.0, 0.0]]), torch.tensor([[0.5, 0.5]]))
        tensor([[-0.5000, -0.5000]])
    """
    input, target = check_pair(input, target)
    p = torch.exp(target.to(input.dtype)) if log_target else target.to(input.dtype)
    return -p


# ------------------------------------------------------- KL, in mathematical order


def kl_divergence(p, q, *, reduction: str = "mean") -> torch.Tensor:
    r"""Kullback–Leibler divergence :math:`\mathrm{KL}(P\,\|\,Q)` between discrete distributions.

    .. math:: \mathrm{KL}(P\,\|\,Q) = \sum_x p(x) \log \frac{p(x)}{q(x)}, \qquad 0 \log \tfrac{0}{q} = 0,

    in the order the mathematics writes it (compare :func:`kl_div`, which takes
    :math:`\log q` first). The last dimension indexes the outcomes; every other dimension
    is a batch of distributions. The result is :math:`+\infty` where :math:`q(x) = 0 <
    p(x)`, and finite (with finite gradients) wherever zeros occur only in :math:`P`.

    Args:
        p: probabilities of :math:`P`, shape ``(..., K)``, non-negative, rows summing to 1.
        q: probabilities of :math:`Q`, the same shape.
        reduction: ``"none"`` (one value per distribution, shape ``(...)``) | ``"mean"``
            (average over the batch of distributions) | ``"sum"``.

    Raises:
        ValueError: if ``p`` or ``q`` has a negative entry or a row that does not sum to 1.

    Reference: Cover & Thomas, *Elements of Information Theory* (2006), §2.3.

    Examples:
        >>> import torch
        >>> from lossbook.probabilistic import kl_divergence
        >>> kl_divergence(torch.tensor([0.5, 0.5]), torch.tensor([0.25, 0.75]))
        tensor(0.1438)
    """
    check_reduction(reduction)
    pc, qc, dtype = _prepare_pair(p, q, ("p", "q"))
    kl = (safe_xlogy(pc, pc) - safe_xlogy(pc, qc)).sum(-1)
    return reduce(kl, reduction).to(dtype)


def entropy(p, *, reduction: str = "mean") -> torch.Tensor:
    r"""Shannon entropy :math:`H(P) = -\sum_x p(x) \log p(x)` in nats (last dimension = outcomes).

    Args:
        p: probabilities, shape ``(..., K)``, rows summing to 1.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"`` over the batch of distributions.

    Reference: Cover & Thomas (2006), §2.1.

    Examples:
        >>> import torch
        >>> from lossbook.probabilistic import entropy
        >>> entropy(torch.tensor([0.5, 0.5]))
        tensor(0.6931)
        >>> entropy(torch.tensor([1.0, 0.0]))
        tensor(0.)
    """
    check_reduction(reduction)
    p = as_float_tensor(p, "p")
    _check_distribution(p, "p")
    (pc,) = upcast(p)
    return reduce(-safe_xlogy(pc, pc).sum(-1), reduction).to(p.dtype)


def distribution_cross_entropy(p, q, *, reduction: str = "mean") -> torch.Tensor:
    r"""Cross-entropy :math:`H(P, Q) = -\sum_x p(x) \log q(x)` between two discrete distributions.

    It satisfies :math:`H(P, Q) = H(P) + \mathrm{KL}(P\,\|\,Q)`. (For the classification
    loss from logits and class labels, see :func:`lossbook.classification.cross_entropy`.)

    Args:
        p: probabilities of :math:`P`, shape ``(..., K)``.
        q: probabilities of :math:`Q`, the same shape.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"`` over the batch of distributions.

    Reference: Cover & Thomas (2006), §2.3.

    Examples:
        >>> import torch
        >>> from lossbook.probabilistic import distribution_cross_entropy
        >>> distribution_cross_entropy(torch.tensor([0.5, 0.5]), torch.tensor([0.5, 0.5]))
        tensor(0.6931)
    """
    check_reduction(reduction)
    pc, qc, dtype = _prepare_pair(p, q, ("p", "q"))
    return reduce(-safe_xlogy(pc, qc).sum(-1), reduction).to(dtype)


def js_divergence(p, q, *, reduction: str = "mean") -> torch.Tensor:
    r"""Jensen–Shannon divergence, symmetric and bounded by :math:`\log 2`.

    .. math:: \mathrm{JS}(P, Q) = \tfrac12 \mathrm{KL}(P\,\|\,M) + \tfrac12 \mathrm{KL}(Q\,\|\,M),
              \qquad M = \tfrac12 (P + Q).

    Finite for every pair of distributions (:math:`M` is positive wherever :math:`P` or
    :math:`Q` is), equal to :math:`\log 2` exactly when their supports are disjoint.

    Args:
        p: probabilities of :math:`P`, shape ``(..., K)``.
        q: probabilities of :math:`Q`, the same shape.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"`` over the batch of distributions.

    Reference: Lin, "Divergence measures based on the Shannon entropy" (1991).

    Examples:
        >>> import torch
        >>> from lossbook.probabilistic import js_divergence
        >>> js_divergence(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]))
        tensor(0.6931)
    """
    check_reduction(reduction)
    pc, qc, dtype = _prepare_pair(p, q, ("p", "q"))
    m = 0.5 * (pc + qc)
    js = 0.5 * (safe_xlogy(pc, pc) - safe_xlogy(pc, m)).sum(-1)
    js = js + 0.5 * (safe_xlogy(qc, qc) - safe_xlogy(qc, m)).sum(-1)
    return reduce(js, reduction).to(dtype)


def gaussian_kl(mu_p, std_p, mu_q, std_q, *, reduction: str = "sum") -> torch.Tensor:
    r"""Closed-form :math:`\mathrm{KL}(\mathcal N(\mu_p, \sigma_p^2)\,\|\,\mathcal N(\mu_q, \sigma_q^2))`.

    .. math::

        \mathrm{KL} = \log\frac{\sigma_q}{\sigma_p}
        + \frac{\sigma_p^2 + (\mu_p - \mu_q)^2}{2\sigma_q^2} - \frac12

    element by element. For Gaussians with diagonal covariance the KL is the **sum** over
    the independent coordinates, hence the default ``reduction="sum"``.

    Args:
        mu_p, std_p: mean and standard deviation (> 0) of :math:`P`, any shape.
        mu_q, std_q: mean and standard deviation (> 0) of :math:`Q`, the same shape.
        reduction: ``"sum"`` | ``"none"`` | ``"mean"``.

    Raises:
        ValueError: a shape mismatch, or a standard deviation that is not positive.

    Reference: Bishop, *Pattern Recognition and Machine Learning* (2006), exercise 1.30.

    Examples:
        >>> import torch
        >>> from lossbook.probabilistic import gaussian_kl
        >>> gaussian_kl(torch.tensor(1.0), torch.tensor(1.0), torch.tensor(0.0), torch.tensor(1.0))
        tensor(0.5000)
    """
    check_reduction(reduction)
    names = ("mu_p", "std_p", "mu_q", "std_q")
    mu_p = as_float_tensor(mu_p, "mu_p")
    rest = [as_float_tensor(t, n, like=mu_p) for t, n in zip((std_p, mu_q, std_q), names[1:], strict=True)]
    ts = [mu_p, *rest]
    for t, n in zip(ts[1:], names[1:], strict=True):
        check_same_shape(mu_p, t, ("mu_p", n))
    check_same_device(*zip(names, ts, strict=True))
    for t, n in ((ts[1], "std_p"), (ts[3], "std_q")):
        if t.numel() and not bool((t > 0).all()):
            raise ValueError(
                f"{n} must be positive (a standard deviation); got a minimum of {float(t.min()):g}"
            )
    dtype = mu_p.dtype
    mp, sp, mq, sq = upcast(*(t.to(dtype) for t in ts))
    kl = torch.log(sq / sp) + (sp**2 + (mp - mq) ** 2) / (2 * sq**2) - 0.5
    return reduce(kl, reduction).to(dtype)


# --------------------------------------------------------------------- Wasserstein


def _weights(w: object, values: torch.Tensor, name: str) -> torch.Tensor:
    if w is None:
        return torch.full_like(values, 1.0 / values.numel())
    shape = tuple(values.shape)
    w = check_weights(w, name, like=values, shape=shape, expected=f"the shape of its samples {shape}")
    w = w.to(values.dtype)
    if not float(w.sum()) > 0:
        raise ValueError(f"{name} must have a positive sum (some weight must be positive)")
    return w / w.sum()


def wasserstein_1d(u, v, *, order: float = 1.0, u_weights=None, v_weights=None) -> torch.Tensor:
    r"""The :math:`p`-Wasserstein distance between two 1-D empirical distributions.

    In one dimension the optimal plan is monotone, so the distance is a comparison of
    quantile functions:

    .. math:: W_p(P, Q) = \Big(\int_0^1 \big|F_P^{-1}(t) - F_Q^{-1}(t)\big|^p\, dt\Big)^{1/p}.

    For two samples of equal size and equal weights this is
    :math:`\big(\tfrac1n \sum_i |u_{(i)} - v_{(i)}|^p\big)^{1/p}` with :math:`u_{(i)}` the
    sorted samples. Weighted samples of different sizes are handled exactly by integrating
    over the merged breakpoints of the two cumulative weight functions. Differentiable
    with respect to the sample values.

    Args:
        u: samples of :math:`P`, shape ``(n,)``, floating point.
        v: samples of :math:`Q`, shape ``(m,)``.
        order: the order :math:`p \ge 1` of :math:`W_p`.
        u_weights, v_weights: optional non-negative weights (normalised here).

    Returns:
        A scalar tensor in ``u``'s dtype and on its device. With ``order=1`` it equals
        :func:`scipy.stats.wasserstein_distance`.

    Reference: Villani, *Optimal Transport: Old and New* (2009), and Peyré & Cuturi,
    *Computational Optimal Transport* (2019), §2.6.

    Examples:
        >>> import torch
        >>> from lossbook.probabilistic import wasserstein_1d
        >>> wasserstein_1d(torch.tensor([0.0, 1.0]), torch.tensor([2.0, 3.0]))
        tensor(2.)
    """
    u = as_float_tensor(u, "u")
    v = as_float_tensor(v, "v", like=u)
    check_same_device(("u", u), ("v", v))
    p = check_in_range(order, "order", 1.0, math.inf, high_inclusive=False)
    for t, n in ((u, "u"), (v, "v")):
        if t.dim() != 1 or t.numel() == 0:
            raise ValueError(f"{n} must be a non-empty 1-D tensor of samples; got shape {tuple(t.shape)}")
    dtype = u.dtype
    uc, vc = upcast(u, v.to(dtype))
    wu = _weights(u_weights, uc, "u_weights")
    wv = _weights(v_weights, vc, "v_weights")
    us, iu = torch.sort(uc)
    vs, iv = torch.sort(vc)
    cu = torch.cumsum(wu[iu], 0)
    cv = torch.cumsum(wv[iv], 0)
    # Breakpoints of both step functions; on (t_{k-1}, t_k] both quantiles are constant.
    t = torch.sort(torch.cat([cu, cv])).values.clamp(max=1.0)
    dt = torch.diff(t, prepend=t.new_zeros(1)).clamp(min=0)
    qu = us[torch.searchsorted(cu, t).clamp(max=us.numel() - 1)]
    qv = vs[torch.searchsorted(cv, t).clamp(max=vs.numel() - 1)]
    wp = (dt * torch.abs(qu - qv) ** p).sum()
    if p == 1:
        return wp.to(dtype)
    # The p-th root has an infinite derivative at 0 (identical samples), where autograd would
    # give 0 * inf = NaN; the "double where" returns the subgradient 0 there, as safe_norm does.
    positive = wp > 0
    root = torch.where(positive, wp, torch.ones_like(wp)) ** (1.0 / p)
    return torch.where(positive, root, torch.zeros_like(wp)).to(dtype)


def cost_matrix(x, y, *, power: float = 2.0) -> torch.Tensor:
    r"""Pairwise transport costs :math:`C_{ij} = \|x_i - y_j\|_2^p` between two point clouds.

    Args:
        x: points, shape ``(n, d)``; y: points, shape ``(m, d)``.
        power: the exponent :math:`p \ge 1` (``power=2``: squared Euclidean distance).

    Returns:
        The ``(n, m)`` cost matrix in ``x``'s dtype.

    Examples:
        >>> import torch
        >>> from lossbook.probabilistic import cost_matrix
        >>> cost_matrix(torch.tensor([[0.0, 0.0]]), torch.tensor([[3.0, 4.0], [1.0, 0.0]]), power=1.0)
        tensor([[5., 1.]])
    """
    x = as_float_tensor(x, "x")
    y = as_float_tensor(y, "y", like=x)
    check_same_device(("x", x), ("y", y))
    p = check_in_range(power, "power", 1.0, math.inf, high_inclusive=False)
    if x.dim() != 2 or y.dim() != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(
            f"x and y must have shapes (n, d) and (m, d); got x {tuple(x.shape)} and y {tuple(y.shape)}"
        )
    diff = x[:, None, :] - y.to(x.dtype)[None, :, :]
    sq = (diff * diff).sum(-1)
    return sq if p == 2 else sq ** (p / 2)


class SinkhornConvergenceWarning(RuntimeWarning):
    """:func:`sinkhorn` stopped on ``max_iter`` before its marginals reached ``tol``."""


class SinkhornResult(NamedTuple):
    r"""What :func:`sinkhorn` returns with ``return_info=True``, a named tuple of five fields:

    - ``cost``, the transport cost :math:`\langle \Pi, C\rangle` (a scalar tensor);
    - ``plan``, the plan :math:`\Pi`, shape ``(n, m)``;
    - ``iterations``, the (f, g) updates run at the requested ``epsilon`` (after the warm start);
    - ``marginal_error``, :math:`\|\Pi 1 - a\|_1 + \|\Pi^\top 1 - b\|_1` of the returned plan;
    - ``converged``, whether it stopped on ``tol`` (``False``: on ``max_iter``, with a warning).
    """

    cost: torch.Tensor
    plan: torch.Tensor
    iterations: int
    marginal_error: float
    converged: bool


_WARM_SWEEPS = 20
"""Log-domain sweeps per intermediate epsilon in :func:`sinkhorn_reference`'s epsilon-scaling."""


def _sinkhorn_args(cost, a, b, epsilon, max_iter, tol, scaling, return_info):
    """Validate :func:`sinkhorn`'s arguments; return the cost and weights in the compute dtype."""
    cost = as_float_tensor(cost, "cost")
    if cost.dim() != 2 or cost.numel() == 0:
        raise ValueError(f"cost must be a non-empty (n, m) matrix; got shape {tuple(cost.shape)}")
    if not bool(torch.isfinite(cost).all()):
        raise ValueError("cost must hold finite values")
    epsilon = check_positive(epsilon, "epsilon")
    max_iter = check_positive_int(max_iter, "max_iter")
    for flag, name in ((scaling, "scaling"), (return_info, "return_info")):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be a bool; got {type(flag).__name__}")
    (c,) = upcast(cost)
    # The default tolerance is what the dtype can reach: 1e-9 in float64, looser in float32, where
    # the exponents (f + g - C) / epsilon carry an absolute rounding error of about eps_32 max C / epsilon.
    tol = sinkhorn_default_tol(c.dtype) if tol is None else check_positive(tol, "tol")
    n, m = cost.shape
    ws = []
    for w, name, size in ((a, "a", n), (b, "b", m)):
        if w is None:
            ws.append(torch.full((size,), 1.0 / size, dtype=c.dtype, device=c.device))
            continue
        w = check_weights(w, name, like=cost, shape=(size,), positive=True).to(c.dtype)
        ws.append(w / w.sum())
    return cost, c, ws[0], ws[1], epsilon, max_iter, tol


def sinkhorn_default_tol(dtype: torch.dtype) -> float:
    """The marginal tolerance :func:`sinkhorn` uses by default: 10⁻⁹ in float64, 10⁻⁵ in float32.

    Examples:
        >>> import torch
        >>> from lossbook.probabilistic import sinkhorn_default_tol
        >>> sinkhorn_default_tol(torch.float64), sinkhorn_default_tol(torch.float32)
        (1e-09, 1e-05)
    """
    return 1e-9 if dtype == torch.float64 else 1e-5


def _epsilon_schedule(c: torch.Tensor, epsilon: float, scaling: bool) -> list[float]:
    r"""The intermediate epsilons of epsilon-scaling, :math:`(\max C - \min C)\,2^{-k} > \varepsilon`."""
    eps, out = float(c.max() - c.min()), []
    while scaling and eps > epsilon:
        out.append(eps)
        eps *= 0.5
    return out


def _log_sweep(f, g, c, log_a, log_b, eps):
    """One log-domain update of both potentials (the columns are exact afterwards)."""
    f = -eps * torch.logsumexp((g[None, :] - c) / eps + log_b[None, :], dim=1)
    g = -eps * torch.logsumexp((f[:, None] - c) / eps + log_a[:, None], dim=0)
    return f, g


def _sinkhorn_result(cost, c, plan, wa, wb, iterations, converged, epsilon, max_iter, tol, return_info):
    """Measure the returned plan, warn if it did not converge, and package the answer."""
    err = float((plan.sum(1) - wa).abs().sum() + (plan.sum(0) - wb).abs().sum())
    if not converged:
        warnings.warn(
            f"sinkhorn did not converge: after {iterations} iterations at epsilon={epsilon:g} the "
            f"marginal error is {err:.3g} (tol={tol:g}), so the plan does not have the requested "
            f"marginals and its cost can lie below the exact optimum. Use a larger epsilon (relative "
            f"to max(cost)) or a larger max_iter (now {max_iter}).",
            SinkhornConvergenceWarning,
            stacklevel=3,
        )
    out = ((plan * c).sum().to(cost.dtype), plan.to(cost.dtype))
    return SinkhornResult(*out, iterations, err, converged) if return_info else out


def sinkhorn_reference(
    cost,
    a=None,
    b=None,
    *,
    epsilon: float,
    max_iter: int = 10_000,
    tol: float | None = None,
    scaling: bool = True,
    return_info: bool = False,
):
    r"""Sinkhorn's iterations in the log domain, as the formulas read: the reference form of :func:`sinkhorn`.

    Every update is a ``logsumexp``,

    .. math:: f_i \leftarrow -\varepsilon \log \sum_j b_j\, e^{(g_j - C_{ij})/\varepsilon}, \qquad
              g_j \leftarrow -\varepsilon \log \sum_i a_i\, e^{(f_i - C_{ij})/\varepsilon},

    so nothing overflows or underflows at any :math:`\varepsilon`, and the row marginal is
    checked after every update. Epsilon-scaling warm-starts the potentials with 20 sweeps at each
    :math:`\varepsilon_k = 2^{-k}(\max C - \min C) > \varepsilon`. Same arguments, fixed point and
    warning as :func:`sinkhorn` (a test keeps the two equal); slower, because it exponentiates the
    whole matrix twice per update.

    Examples:
        >>> import torch
        >>> from lossbook.probabilistic import sinkhorn_reference
        >>> cost = torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=torch.float64)
        >>> value, plan = sinkhorn_reference(cost, epsilon=0.01)
        >>> round(float(value), 6)
        0.0
    """
    cost, c, wa, wb, epsilon, max_iter, tol = _sinkhorn_args(
        cost, a, b, epsilon, max_iter, tol, scaling, return_info
    )
    log_a, log_b = torch.log(wa), torch.log(wb)
    f, g = torch.zeros_like(log_a), torch.zeros_like(log_b)
    for eps in _epsilon_schedule(c, epsilon, scaling):
        for _ in range(_WARM_SWEEPS):
            f, g = _log_sweep(f, g, c, log_a, log_b, eps)
    converged, it = False, 0
    while not converged and it < max_iter:
        f, g = _log_sweep(f, g, c, log_a, log_b, epsilon)
        it += 1
        plan = torch.exp(log_a[:, None] + log_b[None, :] + (f[:, None] + g[None, :] - c) / epsilon)
        converged = float((plan.sum(1) - wa).abs().sum()) < tol  # the columns are exact
    plan = torch.exp(log_a[:, None] + log_b[None, :] + (f[:, None] + g[None, :] - c) / epsilon)
    return _sinkhorn_result(cost, c, plan, wa, wb, it, converged, epsilon, max_iter, tol, return_info)


_CHECK_EVERY = 10
"""Kernel-domain iterations of :func:`sinkhorn` between two marginal checks."""

_ABSORB = 1e50
"""Scalings beyond [1/_ABSORB, _ABSORB] are absorbed into the potentials (and the kernel rebuilt)."""

_OMEGA_MAX = 1.9
"""The largest over-relaxation of :func:`sinkhorn`'s kernel-domain updates."""

_STAGE_ITER = 2000
"""The largest number of kernel-domain iterations at each intermediate epsilon of :func:`sinkhorn`."""

_SCALING_BELOW = 3e-3
""":func:`sinkhorn` warm-starts by epsilon-scaling only when epsilon / (max C - min C) is below this."""


def _scaling_stages(c: torch.Tensor, epsilon: float, scaling: bool) -> list[float]:
    r"""The intermediate epsilons of :func:`sinkhorn`: those of :func:`_epsilon_schedule` when
    :math:`\varepsilon / (\max C - \min C) < 3 \times 10^{-3}`, none above, where the over-relaxed
    iterations converge as fast from zero potentials and each stage would cost a new kernel."""
    if epsilon >= _SCALING_BELOW * float(c.max() - c.min()):
        return []
    return _epsilon_schedule(c, epsilon, scaling)


def _kernel_iterations(c, wa, wb, f, g, eps, max_iter, tol, *, log_sweep=False):
    r"""Sinkhorn at one ``eps`` from the potentials ``(f, g)``, in the kernel domain with absorption.

    The kernel :math:`K = a b^\top e^{(f + g - C)/\varepsilon}` is the plan of the current
    potentials, so its entries cannot overflow; the iterations scale it by :math:`u, v`, two
    matrix-vector products each. Every ``_CHECK_EVERY`` iterations: the rows' L1 error, and once
    it is below ``tol`` the columns' too (they are not exact after an over-relaxed update): stop
    when the two together are below ``tol``;
    absorb scalings beyond ``_ABSORB`` into ``(f, g)`` and rebuild the kernel; fall back to a
    log-domain sweep if a scaling is not finite (an underflowed row). The updates are
    over-relaxed, :math:`u \leftarrow u^{1-\omega} (a / Kv)^{\omega}` (Thibault et al. 2017), with
    :math:`\omega = 2 / (1 + \sqrt{1 - \theta})` from the measured rate :math:`\theta` of the plain
    iteration, and back to :math:`\omega = 1` whenever the error grows. Same fixed point; returns
    ``(f, g, plan, iterations, converged)``.
    """
    log_a, log_b = torch.log(wa), torch.log(wb)

    def kernel(f, g):  # exp((f_i + eps log a_i)/eps + (g_j + eps log b_j - C_ij)/eps), in three passes
        K = torch.add((g / eps + log_b)[None, :], c, alpha=-1 / eps)
        return K.add_((f / eps + log_a)[:, None]).exp_()

    if log_sweep:  # a cold start: exact columns and rows near a, so no row of K underflows
        f, g = _log_sweep(f, g, c, log_a, log_b, eps)
    K = kernel(f, g)
    u, v = torch.ones_like(f), torch.ones_like(g)
    it, converged, omega, previous = 0, False, 1.0, math.inf
    while it < max_iter:
        Kv = K @ v
        if it and it % _CHECK_EVERY == 0:
            err = float((u * Kv - wa).abs().sum())  # the rows' error sets the over-relaxation
            if err < tol and err + float((v * (K.T @ u) - wb).abs().sum()) < tol:
                converged = True
                break
            rebuild = True
            if not math.isfinite(err):  # a row or column of K underflowed: back to the log domain
                f, g = _log_sweep(f, g, c, log_a, log_b, eps)
            elif (
                max(float(u.max()), float(v.max())) > _ABSORB
                or min(float(u.min()), float(v.min())) < 1 / _ABSORB
            ):
                f, g = f + eps * torch.log(u), g + eps * torch.log(v)  # absorb the scalings
            else:
                rebuild = False
            if rebuild:
                K = kernel(f, g)
                u, v = torch.ones_like(f), torch.ones_like(g)
                Kv = K @ v
            if err >= previous or rebuild:
                omega = 1.0
            elif omega == 1.0:
                theta = (err / previous) ** (1 / _CHECK_EVERY)
                omega = min(_OMEGA_MAX, 2 / (1 + math.sqrt(1 - theta)))
            previous = err
        if omega == 1.0:
            u = wa / Kv
            v = wb / (K.T @ u)
        else:
            u = u ** (1 - omega) * (wa / Kv) ** omega
            v = v ** (1 - omega) * (wb / (K.T @ u)) ** omega
        it += 1
    f, g = f + eps * torch.log(u), g + eps * torch.log(v)
    return f, g, K.mul_(u[:, None]).mul_(v[None, :]), it, converged


def sinkhorn(
    cost,
    a=None,
    b=None,
    *,
    epsilon: float,
    max_iter: int = 10_000,
    tol: float | None = None,
    scaling: bool = True,
    return_info: bool = False,
):
    r"""Entropic optimal transport by Sinkhorn's iterations, stabilised, with epsilon-scaling.

    Solves :math:`\min_{\Pi \ge 0,\ \Pi 1 = a,\ \Pi^\top 1 = b}\ \langle \Pi, C\rangle
    - \varepsilon H(\Pi)` through the dual potentials :math:`f, g`, with
    :math:`\Pi_{ij} = a_i b_j \exp\big((f_i + g_j - C_{ij})/\varepsilon\big)`: the fixed point of
    the log-domain updates of :func:`sinkhorn_reference` (shown in the book, and tested equal).
    As :math:`\varepsilon \to 0` the transport cost :math:`\langle \Pi, C \rangle` converges to
    the exact optimal cost; the number of iterations needed grows like :math:`1/\varepsilon`.

    How it is fast and still stable: the potentials live in the log domain, but between two
    rebuilds the iterations work on the kernel :math:`K = a b^\top e^{(f + g - C)/\varepsilon}`
    (the current plan, whose entries cannot overflow) with two matrix-vector products each, and
    absorb the scalings into :math:`f, g` when they grow (Schmitzer 2019); the updates are
    over-relaxed at the rate they measure (Thibault et al. 2017), and the marginals are checked
    every 10 iterations. Below :math:`\varepsilon / (\max C - \min C) = 3 \times 10^{-3}`,
    epsilon-scaling solves at :math:`\varepsilon_k = 2^{-k}(\max C - \min C)` down to
    :math:`\varepsilon`, each stage to ``tol`` (at most 2,000 iterations) from the previous
    stage's potentials; above it, the over-relaxed iterations converge as fast from zero
    potentials, and each stage would only cost a new kernel.

    **Convergence, and where it stops.** It stops when the L1 errors of the two marginals
    together fall below ``tol``; if ``max_iter`` comes first it warns
    (:class:`SinkhornConvergenceWarning`, with the iterations run and the error reached) — the
    plan then misses its marginals and its cost can even lie *below* the exact optimum.
    Measured in float64 with ``tol=1e-9`` and the default ``max_iter`` on squared-Euclidean costs
    between random points of the unit square, normalised to :math:`\max C = 1`, random
    weights from :math:`U[0.1, 1.1]` (converged / tried; ``scripts/sinkhorn-limits.py``):

    ==========================  ========  ========  ========  ========  ========
    problem                     10⁻²      3 × 10⁻³  10⁻³      3 × 10⁻⁴  10⁻⁴
    ==========================  ========  ========  ========  ========  ========
    6 × 5, random weights       40/40     40/40     40/40     39/40     39/40
    30 × 30, random weights     20/20     20/20     20/20     20/20     17/20
    100 × 100, random weights   6/6       6/6       6/6       6/6       5/6
    30 × 30, uniform            20/20     15/20     1/20      1/20      5/20
    100 × 100, uniform          6/6       6/6       6/6       0/6       0/6
    ==========================  ========  ========  ========  ========  ========

    (columns: :math:`\varepsilon / \max C`). So: :math:`\varepsilon / \max C \ge 10^{-2}` always
    converged; with non-uniform weights it holds down to :math:`10^{-3}` and mostly to
    :math:`3 \times 10^{-4}`; uniform weights on two clouds of the same size are the hard case
    (the optimum is a permutation, the LP is degenerate and near-ties between assignments slow the
    iterations down), reliable only to :math:`10^{-2}` for 30 points and :math:`10^{-3}` for 100.
    Past the limit, take a larger ``epsilon``, a larger ``max_iter``, or an exact solver
    (:func:`scipy.optimize.linprog`, :func:`scipy.optimize.linear_sum_assignment`).

    Args:
        cost: the cost matrix :math:`C`, shape ``(n, m)``, finite (see :func:`cost_matrix`).
        a, b: positive weights of the two clouds, shapes ``(n,)`` and ``(m,)``
            (normalised here); uniform by default.
        epsilon: the entropic regularisation :math:`\varepsilon > 0`, in the units of ``cost``.
        max_iter: the largest number of (f, g) updates at ``epsilon``.
        tol: the L1 marginal tolerance; default :func:`sinkhorn_default_tol` of the compute dtype
            (:math:`10^{-9}` in float64, :math:`10^{-5}` in float32).
        scaling: warm-start by epsilon-scaling below :math:`\varepsilon / (\max C - \min C) =
            3 \times 10^{-3}` (changes the speed, not the fixed point).
        return_info: also return the iterations run, the final marginal error and whether it
            converged, as a :class:`SinkhornResult` ``(cost, plan, iterations, marginal_error,
            converged)``.

    Returns:
        ``(transport_cost, plan)``: :math:`\langle \Pi, C\rangle` as a scalar, and the plan
        :math:`\Pi` of shape ``(n, m)``, in ``cost``'s dtype and on its device; with
        ``return_info=True`` a :class:`SinkhornResult`.

    Warns:
        SinkhornConvergenceWarning: when it stops on ``max_iter`` with the marginals above ``tol``.

    Reference: Cuturi, "Sinkhorn distances" (2013); Schmitzer, "Stabilized sparse scaling
    algorithms for entropy regularized transport problems" (2019); Peyré & Cuturi (2019), §4.4.

    Examples:
        >>> import torch
        >>> from lossbook.probabilistic import sinkhorn
        >>> cost = torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=torch.float64)
        >>> value, plan = sinkhorn(cost, epsilon=0.01)
        >>> round(float(value), 6)
        0.0
        >>> plan.round(decimals=4)
        tensor([[0.5000, 0.0000],
                [0.0000, 0.5000]], dtype=torch.float64)
    """
    cost, c, wa, wb, epsilon, max_iter, tol = _sinkhorn_args(
        cost, a, b, epsilon, max_iter, tol, scaling, return_info
    )
    f, g = torch.zeros_like(wa), torch.zeros_like(wb)
    stages = _scaling_stages(c, epsilon, scaling)
    for k, eps in enumerate(stages):
        f, g, *_ = _kernel_iterations(c, wa, wb, f, g, eps, _STAGE_ITER, tol, log_sweep=k == 0)
    f, g, plan, it, converged = _kernel_iterations(
        c, wa, wb, f, g, epsilon, max_iter, tol, log_sweep=not stages
    )
    return _sinkhorn_result(cost, c, plan, wa, wb, it, converged, epsilon, max_iter, tol, return_info)
