r"""Classification losses: cross-entropy, hinge, focal loss and label smoothing.

Chapter 3 of the book (:doc:`/book/classification/index`). Every loss takes
*logits* (unnormalised scores) as its primary input and follows the calling
convention of :mod:`torch.nn.functional`::

    loss(input, target, *, <hyper-parameters>, reduction="mean")

The numerics are chosen on purpose: log-sum-exp with the maximum subtracted,
``logsigmoid`` / ``log_softmax`` instead of ``log(sigmoid)`` / ``log(softmax)``,
focal loss entirely in log space. Half precision (float16, bfloat16) is computed
in float32 and cast back. The probability form of binary cross-entropy exists for
teaching and clamps visibly (``log 0`` is replaced by ``-100``, as in PyTorch).

The soft-margin SVM's dual solver is :func:`lossbook.optim.linear_svm_dual`; calibration
(:func:`lossbook.metrics.expected_calibration_error`) is in :mod:`lossbook.metrics`.

Conventions (stated because the literature disagrees):

* binary labels are ``{0, 1}`` for cross-entropy and focal loss and ``{-1, +1}``
  for the hinge loss;
* the multi-class hinge :func:`multi_margin` is Weston--Watkins *divided by the
  number of classes*, exactly as :func:`torch.nn.functional.multi_margin_loss`;
  :func:`crammer_singer_hinge` is the Crammer--Singer variant (largest violation only);
* every ``*_grad`` function returns the gradient (or the subgradient chosen by
  autograd at a kink) of the **summed** loss with respect to ``input``.
"""

from __future__ import annotations

import math

import torch

from ._numerics import LOG_CLAMP, clamped_log, upcast
from ._validation import (
    as_float_tensor,
    as_index_tensor,
    check_class_indices,
    check_in_range,
    check_nonnegative,
    check_pair,
    check_positive,
    check_positive_int,
    check_reduction,
    check_same_device,
    check_unit_interval,
    check_weights,
    reduce,
)

__all__ = [
    "LOG_CLAMP",
    "binary_cross_entropy",
    "binary_cross_entropy_grad",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits_grad",
    "crammer_singer_hinge",
    "crammer_singer_hinge_grad",
    "cross_entropy",
    "cross_entropy_grad",
    "focal",
    "focal_grad",
    "focal_modulating_factor",
    "hinge",
    "hinge_grad",
    "log_softmax",
    "logsumexp",
    "multi_margin",
    "multi_margin_grad",
    "naive_softmax",
    "smooth_labels",
    "softmax",
    "svm_primal_objective",
]

# LOG_CLAMP (-100, PyTorch's value) is the floor binary_cross_entropy applies to log p.


# --------------------------------------------------------------------------- primitives


def _shift_by_max(z: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(z - c, c)`` with ``c = max(z)`` along ``dim`` (0 where the max is not finite), ``c`` detached."""
    zd = z.detach()
    # an empty slice has no max: shift by 0 (its log-sum-exp is -inf, its softmax empty)
    c = zd.amax(dim=dim, keepdim=True) if zd.dim() == 0 or zd.shape[dim] else zd.sum(dim=dim, keepdim=True)
    c = torch.where(torch.isfinite(c), c, torch.zeros_like(c))
    return z - c, c


def logsumexp(input, dim: int = -1, keepdim: bool = False) -> torch.Tensor:
    r"""Stable :math:`\log\sum_i e^{z_i}` along ``dim``: the max is subtracted first.

    .. math:: \operatorname{LSE}(z) = c + \log\sum_i e^{z_i - c},\qquad c = \max_i z_i

    Every exponent is :math:`\le 0`, so nothing overflows, and the sum is at least 1,
    so its log is finite. ``c`` is treated as a constant in the backward pass (the
    identity holds for any ``c``), which gives the gradient :math:`\operatorname{softmax}(z)`.
    A slice whose entries are all :math:`-\infty` gives :math:`-\infty`.

    Reference: Goodfellow, Bengio & Courville (2016), §4.1.

    Examples:
        >>> import torch
        >>> from lossbook.classification import logsumexp
        >>> logsumexp(torch.tensor([1000.0, 1000.0]))
        tensor(1000.6932)
    """
    z = as_float_tensor(input, "input")
    s, c = _shift_by_max(upcast(z)[0], dim)
    out = c + torch.log(torch.exp(s).sum(dim=dim, keepdim=True))
    if not keepdim:
        out = out.squeeze(dim)
    return out.to(z.dtype)


def log_softmax(input, dim: int = -1) -> torch.Tensor:
    r"""Stable :math:`\log\operatorname{softmax}(z)_i = (z_i - c) - \log\sum_j e^{z_j - c}` along ``dim``.

    Examples:
        >>> import torch
        >>> from lossbook.classification import log_softmax
        >>> log_softmax(torch.tensor([0.0, 0.0, 0.0, 0.0]))
        tensor([-1.3863, -1.3863, -1.3863, -1.3863])
    """
    z = as_float_tensor(input, "input")
    s, _ = _shift_by_max(upcast(z)[0], dim)
    return (s - torch.log(torch.exp(s).sum(dim=dim, keepdim=True))).to(z.dtype)


def softmax(input, dim: int = -1) -> torch.Tensor:
    r"""Stable softmax :math:`\hat y_i = e^{z_i - c} / \sum_j e^{z_j - c}`, :math:`c = \max_j z_j`.

    The largest shifted logit is 0, so the denominator is at least 1 and nothing overflows.

    Examples:
        >>> import torch
        >>> from lossbook.classification import softmax
        >>> softmax(torch.tensor([1000.0, 1000.0]))
        tensor([0.5000, 0.5000])
    """
    z = as_float_tensor(input, "input")
    s, _ = _shift_by_max(upcast(z)[0], dim)
    e = torch.exp(s)
    return (e / e.sum(dim=dim, keepdim=True)).to(z.dtype)


def naive_softmax(input, dim: int = -1) -> torch.Tensor:
    r"""The textbook formula :math:`e^{z_i} / \sum_j e^{z_j}`, computed literally.

    For teaching only: it overflows (``inf / inf = nan``) as soon as a logit exceeds
    about 88.7 in float32 or 709.8 in float64. Use :func:`softmax`.

    Examples:
        >>> import torch
        >>> from lossbook.classification import naive_softmax
        >>> naive_softmax(torch.tensor([1000.0, 1000.0]))
        tensor([nan, nan])
    """
    z = as_float_tensor(input, "input")
    e = torch.exp(z)
    return e / e.sum(dim=dim, keepdim=True)


# --------------------------------------------------------------------------- binary cross-entropy


def _binary_target(target, input: torch.Tensor) -> torch.Tensor:
    _, target = check_pair(input, target)
    check_unit_interval(target, "target")
    return target


def _elementwise_weight(weight, input: torch.Tensor, name: str) -> torch.Tensor | None:
    """An optional ``weight`` / ``pos_weight`` that broadcasts to ``input``'s shape (torch's rule)."""
    if weight is None:
        return None
    return check_weights(
        weight,
        name,
        like=input,
        broadcast_to=tuple(input.shape),
        expected=f"a shape that broadcasts to input's {tuple(input.shape)} (a scalar, or one per class)",
    )


def binary_cross_entropy(input, target, *, weight=None, reduction: str = "mean") -> torch.Tensor:
    r"""Binary cross-entropy of predicted *probabilities* (the teaching form; clamps visibly).

    .. math:: \ell(p, y) = -w\bigl[y \max(\log p, -100) + (1 - y)\max(\log(1 - p), -100)\bigr]

    The clamp is PyTorch's: a probability of exactly 0 or 1 gives a finite (and
    meaningless) loss of 100 instead of :math:`\infty`. Prefer
    :func:`binary_cross_entropy_with_logits`, which needs no clamp.

    Args:
        input: predicted probabilities :math:`p \in [0, 1]`, any shape.
        target: labels :math:`y \in [0, 1]` (usually ``{0, 1}``), the same shape.
        weight: optional per-element rescaling :math:`w \ge 0`, any shape that broadcasts to
            ``input``'s (as in PyTorch); ``"mean"`` stays the plain mean over elements.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        The loss in ``input``'s dtype and on its device. Its gradient matches
        PyTorch's wherever the clamp is not active (:math:`e^{-100} < p < 1 - e^{-100}`);
        where it is active the gradient of the clamped term is 0.

    Reference: Bishop (2006), §4.3.2.

    Examples:
        >>> import torch
        >>> from lossbook.classification import binary_cross_entropy
        >>> binary_cross_entropy(torch.tensor([0.5, 0.8]), torch.tensor([1.0, 1.0]), reduction="none")
        tensor([0.6931, 0.2231])
    """
    p = as_float_tensor(input, "input")
    y = _binary_target(target, p)
    check_reduction(reduction)
    w = _elementwise_weight(weight, p, "weight")
    check_unit_interval(p, "input", "probabilities")
    pc, yc = upcast(p, y)
    log_p = clamped_log(pc)
    log_1mp = clamped_log(1 - pc)
    loss = -(yc * log_p + (1 - yc) * log_1mp)
    if w is not None:
        loss = loss * w.to(pc.dtype)
    return reduce(loss, reduction).to(p.dtype)


def binary_cross_entropy_grad(input, target, *, weight=None) -> torch.Tensor:
    r"""Derivative of the summed :func:`binary_cross_entropy` in :math:`p`: :math:`w\,\frac{p - y}{p(1 - p)}`.

    Valid where the clamp is inactive, :math:`0 < p < 1`.

    Examples:
        >>> import torch
        >>> from lossbook.classification import binary_cross_entropy_grad
        >>> binary_cross_entropy_grad(torch.tensor([0.5, 0.8]), torch.tensor([1.0, 0.0]))
        tensor([-2.,  5.])
    """
    p = as_float_tensor(input, "input")
    y = _binary_target(target, p)
    w = _elementwise_weight(weight, p, "weight")
    g = (p - y) / (p * (1 - p))
    return g if w is None else g * w.to(p.dtype)


def binary_cross_entropy_with_logits(
    input, target, *, weight=None, pos_weight=None, reduction: str = "mean"
) -> torch.Tensor:
    r"""Binary cross-entropy from logits, via log-sigmoid (no clamp needed).

    .. math:: \ell(z, y) = -w\bigl[w_+\, y \log\sigma(z) + (1 - y)\log\sigma(-z)\bigr]
              = w\bigl[w_+\, y\,\operatorname{softplus}(-z) + (1 - y)\operatorname{softplus}(z)\bigr]

    Args:
        input: logits :math:`z`, any shape, floating point.
        target: labels :math:`y \in [0, 1]`, the same shape (no broadcasting).
        weight: optional per-element rescaling :math:`w \ge 0`, any shape that broadcasts to
            ``input``'s (as in PyTorch); ``"mean"`` stays the plain mean over elements.
        pos_weight: weight :math:`w_+ \ge 0` of the positive term (a number, or a tensor that
            broadcasts to ``input``'s shape, e.g. ``(input.shape[-1],)``, one per class, as in
            PyTorch); default 1.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        The loss in ``input``'s dtype and on its device; finite for every finite logit.

    Reference: Bishop (2006), §4.3.2.

    Examples:
        >>> import torch
        >>> from lossbook.classification import binary_cross_entropy_with_logits
        >>> z, y = torch.tensor([0.0, 100.0]), torch.tensor([1.0, 0.0])
        >>> binary_cross_entropy_with_logits(z, y, reduction="none")
        tensor([  0.6931, 100.0000])
    """
    z = as_float_tensor(input, "input")
    y = _binary_target(target, z)
    check_reduction(reduction)
    w = _elementwise_weight(weight, z, "weight")
    pw = _elementwise_weight(pos_weight, z, "pos_weight")
    zc, yc = upcast(z, y)
    pos = yc if pw is None else yc * pw.to(zc.dtype)
    loss = -(pos * torch.nn.functional.logsigmoid(zc) + (1 - yc) * torch.nn.functional.logsigmoid(-zc))
    if w is not None:
        loss = loss * w.to(zc.dtype)
    return reduce(loss, reduction).to(z.dtype)


def binary_cross_entropy_with_logits_grad(input, target, *, weight=None, pos_weight=None) -> torch.Tensor:
    r"""Derivative of the summed :func:`binary_cross_entropy_with_logits` in :math:`z`.

    .. math:: \frac{\partial \ell}{\partial z} = w\bigl[(1 - y)\,\sigma(z) - w_+\, y\,(1 - \sigma(z))\bigr],
              \quad\text{which is } \sigma(z) - y \text{ when } w = w_+ = 1.

    Examples:
        >>> import torch
        >>> from lossbook.classification import binary_cross_entropy_with_logits_grad
        >>> binary_cross_entropy_with_logits_grad(torch.tensor([0.0, 100.0]), torch.tensor([1.0, 0.0]))
        tensor([-0.5000,  1.0000])
    """
    z = as_float_tensor(input, "input")
    y = _binary_target(target, z)
    w = _elementwise_weight(weight, z, "weight")
    pw = _elementwise_weight(pos_weight, z, "pos_weight")
    s = torch.sigmoid(z)
    g = s - y if pw is None else (1 - y) * s - pw.to(z.dtype) * y * (1 - s)
    return g if w is None else g * w.to(z.dtype)


# --------------------------------------------------------------------------- categorical cross-entropy


def _class_last(z: torch.Tensor) -> torch.Tensor:
    """Move the class dimension (0 for 1-D input, else 1, as in PyTorch) to the end."""
    return z if z.dim() == 1 else z.movedim(1, -1)


def _class_back(z: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return z if like.dim() == 1 else z.movedim(-1, 1)


def _class_weight(weight, z: torch.Tensor, num_classes: int) -> torch.Tensor | None:
    """Validate an optional per-class ``weight`` of shape ``(num_classes,)`` on ``z``'s device."""
    if weight is None:
        return None
    return check_weights(
        weight, "weight", like=z, shape=(num_classes,), expected=f"shape ({num_classes},), one per class"
    )


def _ce_validate(input, target, weight, ignore_index, label_smoothing):
    """Validate the arguments of :func:`cross_entropy`.

    Returns ``(z, t, w, eps)``: the logits with the class dimension last, in the compute dtype;
    the target (class indices, or probabilities with the class dimension last); the class
    weights in the compute dtype or ``None``; the smoothing :math:`\varepsilon`.
    """
    z = as_float_tensor(input, "input")
    if z.dim() == 0:
        raise ValueError(
            "input must have a class dimension: shape (C,), (N, C) or (N, C, d1, ...); got a scalar"
        )
    num_classes = z.shape[0 if z.dim() == 1 else 1]
    if not isinstance(target, torch.Tensor):
        try:
            target = torch.as_tensor(target, device=z.device)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise TypeError(
                f"target must be class indices or class probabilities; got {type(target).__name__}"
            ) from exc
    probabilities = target.is_floating_point() and target.shape == z.shape
    if probabilities:
        t = target.to(z.dtype)
    else:
        t = as_index_tensor(target, "target")
        expected = () if z.dim() == 1 else (z.shape[0], *z.shape[2:])
        if tuple(t.shape) != tuple(expected):
            raise ValueError(
                f"target must hold class indices of shape {tuple(expected)} or probabilities of shape "
                f"{tuple(z.shape)}; got shape {tuple(t.shape)}"
            )
    check_same_device(("input", z), ("target", t))
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
        raise TypeError(f"ignore_index must be an int; got {type(ignore_index).__name__}")
    eps = check_in_range(label_smoothing, "label_smoothing", 0.0, 1.0)
    weight = _class_weight(weight, z, num_classes)
    (zc,) = upcast(z)
    zc = _class_last(zc)
    w = None if weight is None else weight.to(zc.dtype)
    if probabilities:
        check_unit_interval(t, "target", "probabilities")
        return zc, _class_last(t.to(zc.dtype)), w, eps
    check_class_indices(t, num_classes, "target", ignore_index=ignore_index)
    return zc, t, w, eps


def _probability_mass(zc, t, w, eps):
    """The target mass ``q = w * ((1 - eps) t + eps / C)`` of probability targets."""
    q = t * (1 - eps) + eps / zc.shape[-1]
    return q if w is None else q * w


def _ce_targets(input, target, weight, ignore_index, label_smoothing):
    """Validate the arguments of :func:`cross_entropy`; return the per-sample target mass.

    Returns ``(z, q, norm)`` with ``z`` the logits (class dimension last, in the
    compute dtype), ``q`` the unnormalised target mass per class (weights and smoothing
    included, zero for ignored samples), ``norm`` the per-sample normaliser of the
    ``"mean"`` reduction (``None`` for probability targets, whose mean is over samples).
    This dense form is the definition; :func:`cross_entropy` computes the same loss without
    building ``q`` for index targets.
    """
    zc, t, w, eps = _ce_validate(input, target, weight, ignore_index, label_smoothing)
    if t.is_floating_point():
        return zc, _probability_mass(zc, t, w, eps), None
    num_classes = zc.shape[-1]
    keep = t != ignore_index
    safe = torch.where(keep, t, torch.zeros_like(t))
    onehot = torch.nn.functional.one_hot(safe, num_classes).to(zc.dtype)
    w_all = torch.ones(num_classes, dtype=zc.dtype, device=zc.device) if w is None else w
    w_y = w_all[safe]
    q = (1 - eps) * w_y[..., None] * onehot + (eps / num_classes) * w_all
    keep_f = keep.to(zc.dtype)
    return zc, q * keep_f[..., None], w_y * keep_f


def cross_entropy(
    input,
    target,
    *,
    weight=None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Categorical cross-entropy of logits, as :func:`torch.nn.functional.cross_entropy`.

    .. math:: \ell(z, y) = -\sum_c q_c \log\operatorname{softmax}(z)_c,\qquad
              q_c = w_c\bigl[(1 - \varepsilon)\,y_c + \varepsilon / C\bigr]

    where :math:`y` is one-hot (class-index targets) or a probability vector.

    Args:
        input: logits, shape ``(C,)``, ``(N, C)`` or ``(N, C, d1, ...)`` (classes on
            dimension 1, as in PyTorch).
        target: integer class indices of shape ``(N, d1, ...)`` (``()`` for 1-D input), or
            class probabilities of the same shape as ``input``. Floating-point labels of
            the index shape are a ``TypeError``; an index outside ``[0, C)`` other than
            ``ignore_index`` is an ``IndexError``.
        weight: per-class weights :math:`w`, shape ``(C,)``.
        ignore_index: class-index targets equal to it contribute nothing (index targets only).
        label_smoothing: :math:`\varepsilon \in [0, 1]`.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``. With index targets ``"mean"``
            divides by :math:`\sum_n w_{y_n}` over non-ignored samples (PyTorch's
            normaliser); with probability targets it divides by the number of samples.
            If every sample is ignored the mean is a zero that still back-propagates
            (PyTorch returns NaN).

    Returns:
        The loss in ``input``'s dtype and on its device.

    Reference: Goodfellow, Bengio & Courville (2016), §6.2.2.3; Szegedy et al. (2016) for smoothing.

    Examples:
        >>> import torch
        >>> from lossbook.classification import cross_entropy
        >>> cross_entropy(torch.tensor([[0.0, 0.0], [10.0, 0.0]]), torch.tensor([0, 0]), reduction="none")
        tensor([6.9315e-01, 4.5418e-05])
    """
    zc, t, w, eps = _ce_validate(input, target, weight, ignore_index, label_smoothing)
    check_reduction(reduction)
    dtype = input.dtype if isinstance(input, torch.Tensor) else zc.dtype
    # torch's fused log-softmax computes the same max-shifted form as log_softmax above (a test
    # keeps the two equal), in one pass and with a one-pass backward.
    logp = torch.log_softmax(zc, dim=-1)
    if t.is_floating_point():  # class probabilities: the dense target mass
        q = _probability_mass(zc, t, w, eps)
        return reduce(-(q * logp).sum(dim=-1), reduction).to(dtype)
    # Class indices: -sum_c q_c log p_c without building q, by picking the labelled log-probability
    # (the one-hot part) and adding the smoothing part eps/C * sum_c w_c (-log p_c) only when
    # eps > 0; the same value as the dense form, in one pass over the logits.
    keep = t != ignore_index
    safe = torch.where(keep, t, torch.zeros_like(t))
    nll = -logp.gather(-1, safe.unsqueeze(-1)).squeeze(-1)
    w_y = nll.new_ones(()) if w is None else w[safe]
    loss = w_y * nll if eps == 0 else (1 - eps) * w_y * nll
    if eps > 0:
        spread = -logp.mean(dim=-1) if w is None else -(logp * w).sum(dim=-1) / logp.shape[-1]
        loss = loss + eps * spread
    keep_f = keep.to(loss.dtype)
    return reduce(loss * keep_f, reduction, weight=w_y * keep_f).to(dtype)


def cross_entropy_grad(
    input, target, *, weight=None, ignore_index: int = -100, label_smoothing: float = 0.0
) -> torch.Tensor:
    r"""Gradient of the summed :func:`cross_entropy` in the logits.

    .. math:: \frac{\partial \ell}{\partial z_j} = \Bigl(\sum_c q_c\Bigr)\hat y_j - q_j,

    which is the familiar :math:`\hat y - y` when the targets sum to one and there are
    no class weights. Ignored samples get a zero gradient. Same shape as ``input``.

    Examples:
        >>> import torch
        >>> from lossbook.classification import cross_entropy_grad
        >>> cross_entropy_grad(torch.tensor([[0.0, 0.0]]), torch.tensor([1]))
        tensor([[ 0.5000, -0.5000]])
    """
    zc, q, _ = _ce_targets(input, target, weight, ignore_index, label_smoothing)
    p = softmax(zc, dim=-1)
    g = q.sum(dim=-1, keepdim=True) * p - q
    z = as_float_tensor(input, "input")
    return _class_back(g, z).to(z.dtype)


def smooth_labels(target, num_classes: int, *, label_smoothing: float) -> torch.Tensor:
    r"""Smoothed one-hot targets :math:`y'_c = (1 - \varepsilon)\,[c = y] + \varepsilon / K`.

    Args:
        target: integer class indices, any shape.
        num_classes: the number of classes :math:`K \ge 1`.
        label_smoothing: the smoothing :math:`\varepsilon \in [0, 1]` (as in :func:`cross_entropy`).

    Returns:
        A float tensor of shape ``(*target.shape, K)`` in the default dtype; each row sums to 1.

    Reference: Szegedy et al. (2016); Müller, Kornblith & Hinton (2019).

    Examples:
        >>> import torch
        >>> from lossbook.classification import smooth_labels
        >>> smooth_labels(torch.tensor([0, 2]), 4, label_smoothing=0.2)
        tensor([[0.8500, 0.0500, 0.0500, 0.0500],
                [0.0500, 0.0500, 0.8500, 0.0500]])
    """
    check_positive_int(num_classes, "num_classes")
    eps = check_in_range(label_smoothing, "label_smoothing", 0.0, 1.0)
    t = as_index_tensor(target, "target")
    check_class_indices(t, num_classes, "target")
    onehot = torch.nn.functional.one_hot(t, num_classes).to(torch.get_default_dtype())
    return (1 - eps) * onehot + eps / num_classes


# --------------------------------------------------------------------------- hinge losses


def _label_tensor(target, input: torch.Tensor, labels: tuple[float, float], message: str) -> torch.Tensor:
    """Hard labels as ``input``'s floating dtype: integer labels are accepted and converted;
    anything outside ``labels`` raises ``ValueError(message)``."""
    if isinstance(target, torch.Tensor) and not target.is_floating_point() and target.dtype != torch.bool:
        target = target.to(input.dtype)
    _, y = check_pair(input, target)
    if y.numel() and not bool(((y == labels[0]) | (y == labels[1])).all()):
        raise ValueError(message)
    return y.to(input.dtype)


def _sign_target(target, input: torch.Tensor) -> torch.Tensor:
    return _label_tensor(
        target, input, (-1.0, 1.0), "target must hold labels -1 or +1 (the hinge loss's label convention)"
    )


def hinge(input, target, *, margin: float = 1.0, reduction: str = "mean") -> torch.Tensor:
    r"""Binary hinge loss :math:`\ell(z, y) = \max(0, m - y z)` with labels :math:`y \in \{-1, +1\}`.

    Args:
        input: decision values (scores) :math:`z`, any shape, floating point.
        target: labels :math:`y \in \{-1, +1\}` (integer or floating), the same shape.
        margin: :math:`m > 0` (1 for the SVM).
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        The loss in ``input``'s dtype and on its device.

    Reference: Vapnik (1998); Shalev-Shwartz & Ben-David (2014), §15.2.

    Examples:
        >>> import torch
        >>> from lossbook.classification import hinge
        >>> hinge(torch.tensor([2.0, 0.5, -1.0]), torch.tensor([1.0, 1.0, 1.0]), reduction="none")
        tensor([0.0000, 0.5000, 2.0000])
    """
    z = as_float_tensor(input, "input")
    y = _sign_target(target, z)
    m = check_positive(margin, "margin")
    check_reduction(reduction)
    zc, yc = upcast(z, y)  # half precision: the terms and their reduction in float32
    return reduce(torch.relu(m - yc * zc), reduction).to(z.dtype)


def hinge_grad(input, target, *, margin: float = 1.0) -> torch.Tensor:
    r"""Subgradient of the summed :func:`hinge`: :math:`-y` where :math:`yz < m`, else 0 (0 at the kink).

    Examples:
        >>> import torch
        >>> from lossbook.classification import hinge_grad
        >>> hinge_grad(torch.tensor([2.0, 0.5, -1.0]), torch.tensor([1.0, 1.0, -1.0]))
        tensor([ 0., -1.,  0.])
    """
    z = as_float_tensor(input, "input")
    y = _sign_target(target, z)
    m = check_positive(margin, "margin")
    return torch.where(y * z < m, -y, torch.zeros_like(z))


def _multiclass_args(input, target, margin, weight=None):
    """Validate the multi-class hinges' arguments; return ``(z, t, m, weight)`` with ``z`` of shape
    ``(C,)`` or ``(N, C)``. As in PyTorch, a 0-d ``input`` is one score (one class), and a ``(C,)``
    ``input`` with a ``(1,)`` target is a batch of one (its loss then has shape ``(1,)``)."""
    z = as_float_tensor(input, "input")
    if z.dim() not in (0, 1, 2):
        raise ValueError(f"input must have shape (C,) or (N, C) (or be 0-d: one class); got {tuple(z.shape)}")
    t = as_index_tensor(target, "target", like=z)
    z = z.reshape(1) if z.dim() == 0 else z
    if z.dim() == 1 and tuple(t.shape) == (1,):
        z = z[None]
    num_classes = z.shape[-1]
    if tuple(t.shape) != tuple(z.shape[:-1]):
        raise ValueError(f"target must have shape {tuple(z.shape[:-1])}; got {tuple(t.shape)}")
    check_same_device(("input", z), ("target", t))
    check_class_indices(t, num_classes, "target")
    m = check_positive(margin, "margin")
    weight = _class_weight(weight, z, num_classes)
    return z, t, m, weight


def _margins(z: torch.Tensor, t: torch.Tensor, m: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The violations :math:`m - z_y + z_j` and the mask of :math:`j \\ne y`."""
    z_y = z.gather(-1, t[..., None])
    others = torch.nn.functional.one_hot(t, z.shape[-1]) == 0
    return m - z_y + z, others


def multi_margin(
    input, target, *, power: int = 1, margin: float = 1.0, weight=None, reduction: str = "mean"
) -> torch.Tensor:
    r"""Weston--Watkins multi-class hinge over :math:`C`, as :func:`torch.nn.functional.multi_margin_loss`.

    .. math:: \ell(z, y) = \frac{w_y}{C}\sum_{j \ne y} \max(0,\ m - z_y + z_j)^p,\qquad p = \texttt{power}

    Every class that violates the margin contributes. Multiply by :math:`C` for the
    unnormalised sum of Weston & Watkins (1999) and of most lecture notes.

    Args:
        input: scores, shape ``(C,)`` or ``(N, C)``; as in PyTorch, also 0-d (one class, loss 0)
            and ``(C,)`` with a ``(1,)`` target (a batch of one, loss of shape ``(1,)``).
        target: integer class indices, shape ``()`` or ``(N,)``.
        power: the exponent :math:`p`: 1 (hinge) or 2 (squared hinge); PyTorch calls it ``p``.
        margin: :math:`m > 0`. A zero or negative margin, which PyTorch accepts, is a
            ``ValueError`` here: a negative one leaves a misclassified sample with zero loss (it is
            almost always a sign error) and the hinge's geometry needs a positive one; pass
            ``margin > 0``.
        weight: per-class weights :math:`w \ge 0`, shape ``(C,)``, applied by the *true* class.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"`` (the mean is over samples).

    Reference: Weston & Watkins (1999); Crammer & Singer (2001) compare the variants.

    Examples:
        >>> import torch
        >>> from lossbook.classification import multi_margin
        >>> multi_margin(torch.tensor([[2.0, 1.5, 0.0]]), torch.tensor([0]), reduction="none")
        tensor([0.1667])
    """
    if power not in (1, 2) or isinstance(power, bool):
        raise ValueError(f"power must be 1 or 2; got {power!r}")
    z, t, m, w = _multiclass_args(input, target, margin, weight)
    check_reduction(reduction)
    (zc,) = upcast(z)  # half precision: the per-sample terms in float32 (301² overflows float16)
    v, others = _margins(zc, t, m)
    h = torch.relu(v) ** power * others
    loss = h.sum(-1) / z.shape[-1]
    if w is not None:
        loss = loss * w[t].to(zc.dtype)
    return reduce(loss, reduction).to(z.dtype)


def multi_margin_grad(input, target, *, power: int = 1, margin: float = 1.0, weight=None) -> torch.Tensor:
    r"""Subgradient of the summed :func:`multi_margin` in the scores (0 at kinks).

    Examples:
        >>> import torch
        >>> from lossbook.classification import multi_margin_grad
        >>> multi_margin_grad(torch.tensor([[2.0, 1.5, 0.0]]), torch.tensor([0]))
        tensor([[-0.3333,  0.3333,  0.0000]])
    """
    if power not in (1, 2) or isinstance(power, bool):
        raise ValueError(f"power must be 1 or 2; got {power!r}")
    z, t, m, w = _multiclass_args(input, target, margin, weight)
    (zc,) = upcast(z)
    v, others = _margins(zc, t, m)
    active = (v > 0) & others
    d = torch.where(active, power * v.clamp(min=0) ** (power - 1), torch.zeros_like(v)) / z.shape[-1]
    if w is not None:
        d = d * w[t][..., None].to(zc.dtype)
    onehot = torch.nn.functional.one_hot(t, z.shape[-1]).to(zc.dtype)
    return (d - onehot * d.sum(-1, keepdim=True)).to(z.dtype).reshape(torch.as_tensor(input).shape)


def crammer_singer_hinge(input, target, *, margin: float = 1.0, reduction: str = "mean") -> torch.Tensor:
    r"""Crammer--Singer multi-class hinge: only the largest violation counts.

    .. math:: \ell(z, y) = \max\bigl(0,\ m + \max_{j \ne y} z_j - z_y\bigr)

    Args:
        input: scores, shape ``(C,)`` or ``(N, C)`` with :math:`C \ge 2`.
        target: integer class indices, shape ``()`` or ``(N,)``.
        margin: :math:`m > 0` (otherwise ``ValueError``, as in :func:`multi_margin`).
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Reference: Crammer & Singer (2001).

    Examples:
        >>> import torch
        >>> from lossbook.classification import crammer_singer_hinge
        >>> crammer_singer_hinge(torch.tensor([[2.0, 1.5, 0.0]]), torch.tensor([0]), reduction="none")
        tensor([0.5000])
    """
    z, t, m, _ = _multiclass_args(input, target, margin)
    check_reduction(reduction)
    if z.shape[-1] < 2:
        raise ValueError("input must have at least 2 classes")
    (zc,) = upcast(z)  # half precision: the per-sample terms in float32
    v, others = _margins(zc, t, m)
    worst = torch.where(others, v, torch.full_like(v, -math.inf)).max(dim=-1).values
    return reduce(torch.relu(worst), reduction).to(z.dtype)


def crammer_singer_hinge_grad(input, target, *, margin: float = 1.0) -> torch.Tensor:
    r"""Subgradient of the summed :func:`crammer_singer_hinge`: :math:`e_{j^*} - e_y` when active, else 0.

    Examples:
        >>> import torch
        >>> from lossbook.classification import crammer_singer_hinge_grad
        >>> crammer_singer_hinge_grad(torch.tensor([[2.0, 1.5, 0.0]]), torch.tensor([0]))
        tensor([[-1.,  1.,  0.]])
    """
    z, t, m, _ = _multiclass_args(input, target, margin)
    v, others = _margins(upcast(z)[0], t, m)
    worst, j = torch.where(others, v, torch.full_like(v, -math.inf)).max(dim=-1)
    n = z.shape[-1]
    g = torch.nn.functional.one_hot(j, n).to(z.dtype) - torch.nn.functional.one_hot(t, n).to(z.dtype)
    return (g * (worst > 0).to(z.dtype)[..., None]).reshape(torch.as_tensor(input).shape)


def svm_primal_objective(w, b, x, y, *, C: float) -> torch.Tensor:
    r"""The soft-margin SVM objective :math:`\tfrac12\|w\|^2 + C\sum_i \max(0, 1 - y_i(w^\top x_i + b))`.

    ``x`` has shape ``(n, d)``, ``y`` labels in ``{-1, +1}`` of shape ``(n,)``.

    Examples:
        >>> import torch
        >>> from lossbook.classification import svm_primal_objective
        >>> x, y = torch.tensor([[1.0, 0.0], [-1.0, 0.0]]), torch.tensor([1.0, -1.0])
        >>> svm_primal_objective(torch.tensor([1.0, 0.0]), torch.tensor(0.0), x, y, C=1.0)
        tensor(0.5000)
        >>> svm_primal_objective(torch.tensor([0.5, 0.0]), torch.tensor(0.0), x, y, C=1.0)
        tensor(1.1250)
    """
    x = as_float_tensor(x, "x")
    w = as_float_tensor(w, "w", like=x)
    C = check_positive(C, "C")
    scores = x @ w + b
    return 0.5 * (w * w).sum() + C * hinge(scores, y, reduction="sum")


# --------------------------------------------------------------------------- focal loss


def _binary_labels(target, input: torch.Tensor) -> torch.Tensor:
    return _label_tensor(target, input, (0.0, 1.0), "target must hold binary labels 0 or 1")


def _focal_parts(z, y, alpha):
    """log p_t, log(1 - p_t), the sign s = 2y - 1 and alpha_t, all in log space."""
    s = 2 * y - 1
    x = s * z
    log_pt = torch.nn.functional.logsigmoid(x)
    log_1mpt = torch.nn.functional.logsigmoid(-x)
    alpha_t = torch.ones_like(z) if alpha is None else alpha * y + (1 - alpha) * (1 - y)
    return log_pt, log_1mpt, s, alpha_t


def focal(
    input, target, *, alpha: float | None = None, gamma: float = 2.0, reduction: str = "mean"
) -> torch.Tensor:
    r"""Binary (sigmoid) focal loss, computed in log space.

    .. math:: \mathrm{FL}(z, y) = -\alpha_t\,(1 - p_t)^{\gamma}\log p_t,\qquad
              p_t = \sigma\bigl((2y - 1)z\bigr),\quad
              \alpha_t = \alpha y + (1 - \alpha)(1 - y)

    with :math:`(1 - p_t)^\gamma = \exp\bigl(\gamma \log\sigma(-(2y-1)z)\bigr)` and
    :math:`\log p_t` from ``logsigmoid``, so the loss and its gradient are finite for
    every finite logit and every :math:`\gamma \ge 0` (including :math:`0 < \gamma < 1`,
    where the probability-space form has an infinite derivative at :math:`p_t = 1`).
    With :math:`\gamma = 0` and no ``alpha`` it is binary cross-entropy.

    Args:
        input: logits :math:`z`, any shape.
        target: binary labels :math:`y \in \{0, 1\}` (integer or floating), the same shape.
        alpha: :math:`\alpha \in [0, 1]`, the weight of the positive class, or ``None``
            for :math:`\alpha_t = 1`.
        gamma: the focusing parameter :math:`\gamma \ge 0`.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Reference: Lin, Goyal, Girshick, He & Dollár (2017).

    Examples:
        >>> import torch
        >>> from lossbook.classification import focal
        >>> focal(torch.tensor([0.0, 2.0]), torch.tensor([1.0, 1.0]), gamma=0.0, reduction="none")
        tensor([0.6931, 0.1269])
        >>> focal(torch.tensor([0.0, 2.0]), torch.tensor([1.0, 1.0]), gamma=2.0, reduction="none")
        tensor([0.1733, 0.0018])
    """
    z = as_float_tensor(input, "input")
    y = _binary_labels(target, z)
    if alpha is not None:
        alpha = check_in_range(alpha, "alpha", 0.0, 1.0)
    gamma = check_nonnegative(gamma, "gamma")
    check_reduction(reduction)
    zc, yc = upcast(z, y)
    log_pt, log_1mpt, _, alpha_t = _focal_parts(zc, yc, alpha)
    loss = -alpha_t * torch.exp(gamma * log_1mpt) * log_pt
    return reduce(loss, reduction).to(z.dtype)


def focal_grad(input, target, *, alpha: float | None = None, gamma: float = 2.0) -> torch.Tensor:
    r"""Derivative of the summed :func:`focal` in the logit, with labels :math:`y \in \{0, 1\}`.

    .. math:: \frac{\partial\,\mathrm{FL}}{\partial z} = \alpha_t\, s\,(1 - p_t)^{\gamma}
              \bigl(\gamma\, p_t \log p_t + p_t - 1\bigr),\qquad s = 2y - 1 \in \{-1, +1\}.

    Lin et al. (2017) write the same formula with :math:`y \in \{-1, +1\}` in place of :math:`s`.

    Examples:
        >>> import torch
        >>> from lossbook.classification import focal_grad
        >>> focal_grad(torch.tensor([0.0]), torch.tensor([1.0]), gamma=2.0)
        tensor([-0.2983])
    """
    z = as_float_tensor(input, "input")
    y = _binary_labels(target, z)
    if alpha is not None:
        alpha = check_in_range(alpha, "alpha", 0.0, 1.0)
    gamma = check_nonnegative(gamma, "gamma")
    zc, yc = upcast(z, y)
    log_pt, log_1mpt, s, alpha_t = _focal_parts(zc, yc, alpha)
    pt = torch.exp(log_pt)
    g = alpha_t * s * torch.exp(gamma * log_1mpt) * (gamma * pt * log_pt - torch.exp(log_1mpt))
    return g.to(z.dtype)


def focal_modulating_factor(p_t, *, gamma: float) -> torch.Tensor:
    r"""The modulating factor :math:`(1 - p_t)^\gamma` that multiplies cross-entropy in focal loss.

    Examples:
        >>> import torch
        >>> from lossbook.classification import focal_modulating_factor
        >>> focal_modulating_factor(torch.tensor([0.5, 0.9]), gamma=2.0)
        tensor([0.2500, 0.0100])
    """
    p = as_float_tensor(p_t, "p_t")
    gamma = check_nonnegative(gamma, "gamma")
    check_unit_interval(p, "p_t", "probabilities")
    return (1 - p) ** gamma
