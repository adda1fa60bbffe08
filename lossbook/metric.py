r"""Ranking and metric-learning losses: distances, triplet mining, contrastive, NT-Xent / InfoNCE.

The module follows the decomposition *distance → miner → loss → reducer*, as small pure
functions rather than stateful objects:

* **distances** — :func:`pairwise_distances` (Euclidean, squared Euclidean, cosine) with a
  gradient that stays finite where two embeddings coincide;
* **miners** — :func:`select_triplets` (all valid triplets, or the hard, semi-hard or easy
  ones) and :func:`batch_hard_triplets` (hardest positive and hardest negative per anchor),
  vectorised with masks, returning index tensors ``(anchor, positive, negative)``;
* **losses** — :func:`triplet_margin_loss` on explicit triplets (the counterpart of
  :func:`torch.nn.functional.triplet_margin_loss`), :func:`triplet_loss` on a labelled batch
  (mine, then reduce), :func:`contrastive_loss` on pairs, :func:`nt_xent` and
  :func:`info_nce` as cross-entropies over similarity logits;
* **retrieval** — :func:`recall_at_k`; and **at scale** — :func:`all_gather_differentiable`
  so that :func:`nt_xent` can take its negatives from every process.

Label conventions are stated where they are chosen: :func:`contrastive_loss` takes
``target = 1`` for a *similar* pair and ``0`` for a dissimilar one (Hadsell et al. write the
opposite). Half precision is computed in float32 and cast back.

Introduced in Chapter 5 (:doc:`/book/metric/index`).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from ._numerics import safe_norm, safe_sqrt, upcast
from ._validation import (
    as_float_tensor,
    as_index_tensor,
    check_class_indices,
    check_nonnegative,
    check_positive,
    check_reduction,
    check_same_device,
    check_same_shape,
    reduce,
)

__all__ = [
    "DISTANCES",
    "TRIPLET_KINDS",
    "TRIPLET_REDUCTIONS",
    "TripletCounts",
    "all_gather_differentiable",
    "batch_hard_triplets",
    "contrastive_loss",
    "contrastive_loss_grad",
    "info_nce",
    "info_nce_from_scores",
    "nt_xent",
    "pairwise_distances",
    "recall_at_k",
    "select_triplets",
    "triplet_loss",
    "triplet_margin_loss",
    "triplet_margin_loss_grad",
]

DISTANCES: tuple[str, ...] = ("euclidean", "squared_euclidean", "cosine")
"""The distances every function of this module accepts."""

TRIPLET_KINDS: tuple[str, ...] = ("all", "hard", "semihard", "easy")
"""The triplet selections of :func:`select_triplets`."""

TRIPLET_REDUCTIONS: tuple[str, ...] = ("none", "mean", "sum", "mean_active")
"""The reductions of :func:`triplet_loss`; ``"mean_active"`` averages over triplets with a positive loss."""


class TripletCounts(NamedTuple):
    """How many triplets a batch offered and how many of them still had a positive loss."""

    num_triplets: int
    num_active: int


# ---------------------------------------------------------------------------- checks


def _check_distance(distance: str) -> str:
    if not isinstance(distance, str) or distance not in DISTANCES:
        raise ValueError(f"distance must be one of {', '.join(map(repr, DISTANCES))}; got {distance!r}")
    return distance


def _check_matrix(x: torch.Tensor, name: str) -> torch.Tensor:
    if x.dim() != 2:
        raise ValueError(f"{name} must be a 2-D tensor (batch, dim); got shape {tuple(x.shape)}")
    return x


def _embeddings_and_labels(embeddings, labels) -> tuple[torch.Tensor, torch.Tensor]:
    x = _check_matrix(as_float_tensor(embeddings, "embeddings"), "embeddings")
    y = as_index_tensor(labels, "labels", like=x)
    if y.shape != (x.shape[0],):
        raise ValueError(
            f"labels must have shape ({x.shape[0]},), one label per row of embeddings; got {tuple(y.shape)}"
        )
    check_same_device(("embeddings", x), ("labels", y))
    return x, y


def _distance_matrix_and_labels(distances, labels) -> tuple[torch.Tensor, torch.Tensor]:
    d = _check_matrix(as_float_tensor(distances, "distances"), "distances")
    if d.shape[0] != d.shape[1]:
        raise ValueError(f"distances must be a square matrix; got shape {tuple(d.shape)}")
    y = as_index_tensor(labels, "labels", like=d)
    if y.shape != (d.shape[0],):
        raise ValueError(f"labels must have shape ({d.shape[0]},); got {tuple(y.shape)}")
    check_same_device(("distances", d), ("labels", y))
    return d.detach(), y


def _check_generator(generator, device: torch.device) -> None:
    if generator is None:
        return
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None; got {type(generator).__name__}")
    if generator.device.type != device.type:
        raise ValueError(f"generator is on device {generator.device} but the distances are on {device}")


# ---------------------------------------------------------------------------- distances


def _row_distance(x: torch.Tensor, y: torch.Tensor, distance: str) -> torch.Tensor:
    """Distance between matching rows of ``x`` and ``y`` (computed in the compute dtype)."""
    if distance == "cosine":
        return 1 - (F.normalize(x, dim=-1) * F.normalize(y, dim=-1)).sum(-1)
    diff = x - y
    if distance == "squared_euclidean":
        return (diff * diff).sum(-1)
    return safe_norm(diff, dim=-1)


def pairwise_distances(x, y=None, *, distance: str = "euclidean") -> torch.Tensor:
    r"""The matrix of distances :math:`D_{ij} = d(x_i, y_j)` between the rows of ``x`` and ``y``.

    .. math:: D^{\mathrm{sq}}_{ij} = \|x_i\|^2 + \|y_j\|^2 - 2x_i^\top y_j, \qquad
              D_{ij} = \sqrt{D^{\mathrm{sq}}_{ij}}, \qquad
              D^{\cos}_{ij} = 1 - \frac{x_i^\top y_j}{\|x_i\|\|y_j\|}

    The squared distances come from one matrix product (clamped at 0 against rounding); the
    Euclidean distance takes their square root with the "double ``where``", so its gradient is
    0, not NaN, where two embeddings coincide (the derivative of :math:`\sqrt{\cdot}` at 0 is
    infinite). Without ``y`` the diagonal is exactly 0.

    Args:
        x: embeddings, shape ``(n, dim)``.
        y: embeddings, shape ``(m, dim)``; ``x`` itself by default.
        distance: ``"euclidean"`` | ``"squared_euclidean"`` | ``"cosine"``.

    Returns:
        ``(n, m)`` distances in ``x``'s dtype, on its device.

    Reference: Schroff et al. (2015), FaceNet, §3.

    Examples:
        >>> import torch
        >>> from lossbook.metric import pairwise_distances
        >>> pairwise_distances(torch.tensor([[0.0, 0.0], [3.0, 4.0]]))
        tensor([[0., 5.],
                [5., 0.]])
    """
    x = _check_matrix(as_float_tensor(x, "x"), "x")
    same = y is None
    y = x if same else _check_matrix(as_float_tensor(y, "y", like=x), "y")
    if y.shape[1] != x.shape[1]:
        raise ValueError(f"x and y must have the same number of columns; got {x.shape[1]} and {y.shape[1]}")
    check_same_device(("x", x), ("y", y))
    _check_distance(distance)
    xc, yc = upcast(x, y)
    if distance == "cosine":
        d = 1 - F.normalize(xc, dim=1) @ F.normalize(yc, dim=1).T
        if same:
            d = d.masked_fill(torch.eye(x.shape[0], dtype=torch.bool, device=x.device), 0.0)
    else:
        norms = (xc * xc).sum(1)[:, None] + (yc * yc).sum(1)[None, :]
        sq = torch.addmm(norms, xc, yc.T, alpha=-2)  # |x|^2 + |y|^2 - 2 x.y in one kernel
        if same:
            sq.diagonal().zero_()  # exactly 0, not the rounding error of the expansion
        d = sq.clamp_min(0)
        if distance == "euclidean":
            d = safe_sqrt(d)
    return d.to(x.dtype)


# ---------------------------------------------------------------------------- triplets on explicit rows


def triplet_margin_loss(
    anchor, positive, negative, *, margin: float = 1.0, distance: str = "euclidean", reduction: str = "mean"
) -> torch.Tensor:
    r"""Triplet margin loss on explicit triplets (rows of ``anchor``, ``positive``, ``negative``).

    .. math:: \ell(a, p, n) = \max\bigl(0,\ d(a, p) - d(a, n) + m\bigr)

    With the Euclidean distance this is :func:`torch.nn.functional.triplet_margin_loss` with
    ``p=2, eps=0`` (torch adds ``eps = 1e-6`` to the *difference* by default); FaceNet uses the
    squared distance.

    Args:
        anchor, positive, negative: embeddings, shape ``(n, dim)`` each (or ``(dim,)``).
        margin: the margin :math:`m \ge 0`.
        distance: ``"euclidean"`` | ``"squared_euclidean"`` | ``"cosine"``.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        The loss, reduced as asked, in ``anchor``'s dtype and on its device.

    Reference: Schroff et al. (2015), FaceNet, eq. (1)–(2).

    Examples:
        >>> import torch
        >>> from lossbook.metric import triplet_margin_loss
        >>> a, p, n = torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.5]])
        >>> triplet_margin_loss(a, p, n, margin=1.0)
        tensor(0.5000)
    """
    a = as_float_tensor(anchor, "anchor")
    p = as_float_tensor(positive, "positive", like=a)
    n = as_float_tensor(negative, "negative", like=a)
    check_same_shape(a, p, ("anchor", "positive"))
    check_same_shape(a, n, ("anchor", "negative"))
    check_same_device(("anchor", a), ("positive", p), ("negative", n))
    margin = check_nonnegative(margin, "margin")
    _check_distance(distance)
    check_reduction(reduction)
    ac, pc, nc = upcast(a, p, n)
    loss = torch.relu(_row_distance(ac, pc, distance) - _row_distance(ac, nc, distance) + margin)
    return reduce(loss, reduction).to(a.dtype)


def triplet_margin_loss_grad(
    anchor, positive, negative, *, margin: float = 1.0, distance: str = "euclidean"
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Closed-form gradients of the *summed* triplet loss w.r.t. anchor, positive and negative.

    For an active triplet (:math:`\ell > 0`), with :math:`u = a - p`, :math:`v = a - n`:

    * squared Euclidean: :math:`\nabla_a = 2(n - p)`, :math:`\nabla_p = -2u`, :math:`\nabla_n = 2v`;
    * Euclidean: :math:`\nabla_a = u/\|u\| - v/\|v\|`, :math:`\nabla_p = -u/\|u\|`,
      :math:`\nabla_n = v/\|v\|` (0 in place of :math:`u/\|u\|` where :math:`u = 0`).

    Inactive triplets get 0. The cosine distance is not covered (``ValueError``).

    Examples:
        >>> import torch
        >>> from lossbook.metric import triplet_margin_loss_grad
        >>> a, p, n = torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.5]])
        >>> triplet_margin_loss_grad(a, p, n, margin=1.0)
        (tensor([[-1.,  1.]]), tensor([[1., -0.]]), tensor([[ 0., -1.]]))
    """
    a = as_float_tensor(anchor, "anchor")
    p = as_float_tensor(positive, "positive", like=a)
    n = as_float_tensor(negative, "negative", like=a)
    check_same_shape(a, p, ("anchor", "positive"))
    check_same_shape(a, n, ("anchor", "negative"))
    check_same_device(("anchor", a), ("positive", p), ("negative", n))
    margin = check_nonnegative(margin, "margin")
    if _check_distance(distance) == "cosine":
        raise ValueError("distance must be 'euclidean' or 'squared_euclidean' for the closed-form gradient")
    u, v = a - p, a - n
    active = (triplet_margin_loss(a, p, n, margin=margin, distance=distance, reduction="none") > 0)[..., None]
    if distance == "squared_euclidean":
        gu, gv = 2 * u, 2 * v
    else:
        nu, nv = safe_norm(u, keepdim=True), safe_norm(v, keepdim=True)
        gu = torch.where(nu > 0, u / torch.where(nu > 0, nu, 1), 0)
        gv = torch.where(nv > 0, v / torch.where(nv > 0, nv, 1), 0)
    zero = torch.zeros_like(a)
    return (
        torch.where(active, gu - gv, zero),
        torch.where(active, -gu, zero),
        torch.where(active, gv, zero),
    )


# ---------------------------------------------------------------------------- miners


def _pair_masks(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``positive[i, j]``: same label and ``i != j``; ``negative[i, j]``: different labels."""
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(labels.shape[0], dtype=torch.bool, device=labels.device)
    return same & ~eye, ~same


def select_triplets(
    distances, labels, *, kind: str = "all", margin: float | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Indices ``(a, p, n)`` of the valid triplets of a batch of the requested ``kind``.

    A triplet is *valid* when ``labels[a] == labels[p]``, ``a != p`` and
    ``labels[n] != labels[a]``. With :math:`d_{ap} = D_{ap}`, :math:`d_{an} = D_{an}` and margin
    :math:`m`, the kinds are

    * ``"all"``: every valid triplet (batch-all mining);
    * ``"hard"``: :math:`d_{an} < d_{ap}` — the negative is closer than the positive;
    * ``"semihard"``: :math:`d_{ap} < d_{an} < d_{ap} + m` — FaceNet's definition (Schroff et al.
      2015, §3.2): the order is right but the margin is violated. (pytorch-metric-learning's
      ``TripletMarginMiner(type_of_triplets="semihard")`` includes the upper end.)
    * ``"easy"``: :math:`d_{an} \ge d_{ap} + m` — exactly the triplets whose loss is 0.

    Hard, semi-hard and easy triplets together are all valid triplets except the ties
    :math:`d_{an} = d_{ap}`. Vectorised over anchor–positive pairs: memory is
    (number of positive pairs) × (batch size), not the batch size cubed.

    Args:
        distances: the ``(B, B)`` distance matrix of the batch (not differentiated).
        labels: integer class labels, shape ``(B,)``.
        kind: ``"all"`` | ``"hard"`` | ``"semihard"`` | ``"easy"``.
        margin: the margin :math:`m \ge 0`; needed by ``"semihard"`` and ``"easy"``.

    Returns:
        Three ``int64`` tensors of equal length, sorted by anchor, then positive, then negative.

    Examples:
        >>> import torch
        >>> from lossbook.metric import pairwise_distances, select_triplets
        >>> x = torch.tensor([[0.0], [1.0], [5.0]])
        >>> select_triplets(pairwise_distances(x), torch.tensor([0, 0, 1]), kind="all")
        (tensor([0, 1]), tensor([1, 0]), tensor([2, 2]))
    """
    d, y = _distance_matrix_and_labels(distances, labels)
    if not isinstance(kind, str) or kind not in TRIPLET_KINDS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, TRIPLET_KINDS))}; got {kind!r}")
    if kind in ("semihard", "easy"):
        if margin is None:
            raise ValueError(f"margin must be given for kind={kind!r}")
        margin = check_nonnegative(margin, "margin")
    pos, neg = _pair_masks(y)
    a, p = pos.nonzero(as_tuple=True)
    keep = neg[a]  # (pairs, B): the negatives of each anchor-positive pair
    if kind != "all":
        dap, dan = d[a, p][:, None], d[a]
        if kind == "hard":
            keep = keep & (dan < dap)
        elif kind == "semihard":
            keep = keep & (dap < dan) & (dan < dap + margin)
        else:
            keep = keep & (dan >= dap + margin)
    pair, n = keep.nonzero(as_tuple=True)
    return a[pair], p[pair], n


def batch_hard_triplets(
    distances, labels, *, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Batch-hard mining: per anchor, its farthest positive and its closest negative.

    .. math:: p^*(a) = \operatorname*{arg\,max}_{p:\,y_p = y_a,\ p \ne a} D_{ap}, \qquad
              n^*(a) = \operatorname*{arg\,min}_{n:\,y_n \ne y_a} D_{an}

    Anchors without a positive or without a negative are left out. Ties are broken by the
    smallest index, or uniformly at random with ``generator`` (on the distances' device).

    Returns:
        ``(a, p, n)``, one triplet per anchor that has both, sorted by anchor.

    Reference: Hermans, Beyer & Leibe (2017), "In defense of the triplet loss".

    Examples:
        >>> import torch
        >>> from lossbook.metric import batch_hard_triplets, pairwise_distances
        >>> x = torch.tensor([[0.0], [1.0], [5.0], [7.0]])
        >>> batch_hard_triplets(pairwise_distances(x), torch.tensor([0, 0, 1, 1]))
        (tensor([0, 1, 2, 3]), tensor([1, 0, 3, 2]), tensor([2, 2, 1, 1]))
    """
    d, y = _distance_matrix_and_labels(distances, labels)
    _check_generator(generator, d.device)
    pos, neg = _pair_masks(y)
    anchors = (pos.any(1) & neg.any(1)).nonzero(as_tuple=True)[0]
    d, pos, neg = d[anchors], pos[anchors], neg[anchors]
    inf = torch.tensor(float("inf"), dtype=d.dtype, device=d.device)
    far_pos = torch.where(pos, d, -inf).amax(1, keepdim=True)
    near_neg = torch.where(neg, d, inf).amin(1, keepdim=True)
    ties = (pos & (d == far_pos), neg & (d == near_neg))
    if generator is None:  # argmax returns the first maximal index
        p, n = (t.to(torch.uint8).argmax(1) for t in ties)
    else:
        p, n = (
            torch.where(t, torch.rand(t.shape, generator=generator, device=d.device), -1.0).argmax(1)
            for t in ties
        )
    return anchors, p, n


# ---------------------------------------------------------------------------- triplet loss on a batch


def triplet_loss(
    embeddings,
    labels,
    *,
    margin: float = 0.2,
    mining: str = "all",
    distance: str = "euclidean",
    reduction: str = "mean",
    generator: torch.Generator | None = None,
    return_counts: bool = False,
):
    r"""Triplet loss over the triplets mined from a labelled batch.

    .. math:: L = \operatorname{reduce}_{(a,p,n) \in T} \max\bigl(0,\ D_{ap} - D_{an} + m\bigr)

    where :math:`T` is chosen by ``mining``: ``"all"``, ``"hard"``, ``"semihard"``, ``"easy"``
    (see :func:`select_triplets`) or ``"batch_hard"`` (see :func:`batch_hard_triplets`). Mining
    looks at detached distances; the loss is differentiated through the mined entries.

    When no triplet is mined (every label the same, or no triplet of the kind asked for), the
    loss is a zero that still back-propagates (zero gradients), never NaN.

    Args:
        embeddings: shape ``(B, dim)``.
        labels: integer class labels, shape ``(B,)``.
        margin: the margin :math:`m \ge 0`.
        mining: ``"all"`` | ``"hard"`` | ``"semihard"`` | ``"easy"`` | ``"batch_hard"``.
        distance: ``"euclidean"`` | ``"squared_euclidean"`` | ``"cosine"``.
        reduction: ``"none"`` (one loss per mined triplet) | ``"mean"`` (over mined triplets, as
            Hermans et al.) | ``"sum"`` | ``"mean_active"`` (over triplets with a positive loss,
            pytorch-metric-learning's default ``AvgNonZeroReducer``).
        generator: breaks ties at random in ``"batch_hard"`` mining.
        return_counts: also return :class:`TripletCounts` (mined triplets, active ones), the
            numbers to watch for collapse or vanishing signal.

    Returns:
        The loss in ``embeddings``' dtype, or ``(loss, counts)`` with ``return_counts=True``.

    Examples:
        >>> import torch
        >>> from lossbook.metric import triplet_loss
        >>> x = torch.tensor([[0.0], [1.0], [1.5], [3.0]])
        >>> triplet_loss(x, torch.tensor([0, 0, 1, 1]), margin=1.0, mining="batch_hard")
        tensor(1.1250)
    """
    x, y = _embeddings_and_labels(embeddings, labels)
    margin = check_nonnegative(margin, "margin")
    miners = TRIPLET_KINDS + ("batch_hard",)
    if not isinstance(mining, str) or mining not in miners:
        raise ValueError(f"mining must be one of {', '.join(map(repr, miners))}; got {mining!r}")
    _check_distance(distance)
    check_reduction(reduction, TRIPLET_REDUCTIONS)
    # half precision: the distances themselves in float32 (their squares overflow float16)
    dc = pairwise_distances(upcast(x)[0], distance=distance)
    if mining == "batch_hard" and generator is None:
        # fast path, same triplets as batch_hard_triplets: max/min pick the first extreme index
        pos, neg = _pair_masks(y)
        anchors = (pos.any(1) & neg.any(1)).nonzero(as_tuple=True)[0]
        inf = torch.tensor(float("inf"), dtype=dc.dtype, device=dc.device)
        far_pos = torch.where(pos, dc, -inf).max(1).values
        near_neg = torch.where(neg, dc, inf).min(1).values
        loss = torch.relu(far_pos[anchors] - near_neg[anchors] + margin)
    else:
        if mining == "batch_hard":
            a, p, n = batch_hard_triplets(dc, y, generator=generator)
        else:
            _check_generator(generator, x.device)
            a, p, n = select_triplets(dc, y, kind=mining, margin=margin)
        loss = torch.relu(dc[a, p] - dc[a, n] + margin)
    active = loss > 0
    if reduction == "mean_active":
        count = active.sum()
        out = loss.sum() / count.clamp_min(1)
    else:
        out = reduce(loss, reduction)
    out = out.to(x.dtype)
    if return_counts:
        return out, TripletCounts(int(loss.numel()), int(active.sum()))
    return out


# ---------------------------------------------------------------------------- contrastive loss


def _pair_inputs(x1, x2, target):
    a = as_float_tensor(x1, "x1")
    b = as_float_tensor(x2, "x2", like=a)
    check_same_shape(a, b, ("x1", "x2"))
    if a.dim() == 0:
        raise ValueError("x1 must have at least one dimension (the embedding); got a scalar")
    t = as_index_tensor(target, "target", like=a)
    if t.shape != a.shape[:-1]:
        raise ValueError(
            f"target must have shape {tuple(a.shape[:-1])}, one label per pair; got {tuple(t.shape)}"
        )
    check_same_device(("x1", a), ("x2", b), ("target", t))
    check_class_indices(t, 2, "target")
    return a, b, t


def contrastive_loss(x1, x2, target, *, margin: float = 1.0, reduction: str = "mean") -> torch.Tensor:
    r"""Contrastive (pairwise margin) loss with ``target = 1`` for a *similar* pair.

    .. math:: \ell = y\,\tfrac12 d^2 + (1 - y)\,\tfrac12 \max(0,\ m - d)^2, \qquad d = \|x_1 - x_2\|_2

    Similar pairs (:math:`y = 1`) are pulled together until they coincide; dissimilar pairs
    (:math:`y = 0`) are pushed apart only until they are :math:`m` apart.

    Label conventions differ: Hadsell, Chopra & LeCun (2006) write :math:`Y = 0` for similar
    pairs; :func:`torch.nn.functional.hinge_embedding_loss` and
    :func:`~torch.nn.functional.cosine_embedding_loss` use ``1`` / ``-1``; pytorch-metric-learning
    takes class labels and calls pairs of equal labels positive (and, by default, does not
    square). Here it is 1 = similar, 0 = dissimilar; other values raise ``IndexError``.

    Args:
        x1, x2: embeddings of the two members of each pair, shape ``(..., dim)``.
        target: integer labels in {0, 1}, shape ``(...)``.
        margin: the margin :math:`m > 0`.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Reference: Hadsell, Chopra & LeCun (2006), eq. (4).

    Examples:
        >>> import torch
        >>> from lossbook.metric import contrastive_loss
        >>> x1, x2 = torch.tensor([[0.0, 0.0], [0.0, 0.0]]), torch.tensor([[3.0, 4.0], [0.3, 0.4]])
        >>> contrastive_loss(x1, x2, torch.tensor([1, 0]), margin=1.0, reduction="none")
        tensor([12.5000,  0.1250])
    """
    a, b, t = _pair_inputs(x1, x2, target)
    margin = check_positive(margin, "margin")
    check_reduction(reduction)
    ac, bc = upcast(a, b)
    d = safe_norm(ac - bc, dim=-1)
    similar = t == 1
    loss = torch.where(similar, 0.5 * d * d, 0.5 * torch.relu(margin - d) ** 2)
    return reduce(loss, reduction).to(a.dtype)


def contrastive_loss_grad(x1, x2, target, *, margin: float = 1.0) -> torch.Tensor:
    r"""Closed-form gradient of the summed :func:`contrastive_loss` w.r.t. ``x1``.

    .. math:: \nabla_{x_1}\ell = \begin{cases} x_1 - x_2 & y = 1 \text{ (similar)},\\
              -\max(0, m - d)\,\dfrac{x_1 - x_2}{d} & y = 0 \text{ (dissimilar)}.\end{cases}

    The gradient w.r.t. ``x2`` is its negative. At :math:`d = 0` a dissimilar pair has no
    defined direction; 0 is returned there (as autograd does through ``safe_norm``).

    Examples:
        >>> import torch
        >>> from lossbook.metric import contrastive_loss_grad
        >>> x1, x2 = torch.tensor([[0.0, 0.0], [0.0, 0.0]]), torch.tensor([[3.0, 4.0], [0.3, 0.4]])
        >>> contrastive_loss_grad(x1, x2, torch.tensor([1, 0]), margin=1.0)
        tensor([[-3.0000, -4.0000],
                [ 0.3000,  0.4000]])
    """
    a, b, t = _pair_inputs(x1, x2, target)
    margin = check_positive(margin, "margin")
    diff = a - b
    d = safe_norm(diff, keepdim=True)
    unit = torch.where(d > 0, diff / torch.where(d > 0, d, 1), 0)
    return torch.where((t == 1)[..., None], diff, -torch.relu(margin - d) * unit)


# ---------------------------------------------------------------------------- NT-Xent / InfoNCE


def info_nce_from_scores(scores, *, reduction: str = "mean") -> torch.Tensor:
    r"""InfoNCE loss from a square matrix of critic scores with the positives on the diagonal.

    .. math:: \ell_i = -\log \frac{e^{s_{ii}}}{\sum_{j=1}^{N} e^{s_{ij}}}

    Row :math:`i` scores query :math:`i` against all :math:`N` keys; key :math:`i` is its
    positive, the other :math:`N - 1` are negatives. :math:`\log N - \bar\ell` is the InfoNCE
    lower bound on the mutual information, never above :math:`\log N` because :math:`\ell_i \ge 0`.

    Reference: van den Oord, Li & Vinyals (2018), eq. (4).

    Examples:
        >>> import torch
        >>> from lossbook.metric import info_nce_from_scores
        >>> info_nce_from_scores(torch.zeros(4, 4))
        tensor(1.3863)
    """
    check_reduction(reduction)
    s = _check_matrix(as_float_tensor(scores, "scores"), "scores")
    if s.shape[0] != s.shape[1]:
        raise ValueError(f"scores must be a square matrix (queries x keys); got shape {tuple(s.shape)}")
    (sc,) = upcast(s)
    target = torch.arange(s.shape[0], device=s.device)
    return reduce(F.cross_entropy(sc, target, reduction="none"), reduction).to(s.dtype)


def info_nce(query, key, *, temperature: float = 0.1, reduction: str = "mean") -> torch.Tensor:
    r"""InfoNCE with in-batch negatives and a cosine-similarity critic.

    .. math:: \ell_i = -\log \frac{\exp(\cos(q_i, k_i)/\tau)}{\sum_{j=1}^{N} \exp(\cos(q_i, k_j)/\tau)}

    ``key[i]`` is the positive of ``query[i]``; the other keys of the batch are its negatives.
    Computed in at least float32 and cast back, so float16 at :math:`\tau = 0.07` is stable.

    Reference: van den Oord, Li & Vinyals (2018); He et al. (2020), MoCo, eq. (1).

    Examples:
        >>> import torch
        >>> from lossbook.metric import info_nce
        >>> q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> info_nce(q, q, temperature=1.0)
        tensor(0.3133)
    """
    q = _check_matrix(as_float_tensor(query, "query"), "query")
    k = as_float_tensor(key, "key", like=q)
    check_same_shape(q, k, ("query", "key"))
    check_same_device(("query", q), ("key", k))
    tau = check_positive(temperature, "temperature")
    check_reduction(reduction)
    qc, kc = upcast(q, k)
    scores = F.normalize(qc, dim=1) @ F.normalize(kc, dim=1).T / tau
    return info_nce_from_scores(scores, reduction=reduction).to(q.dtype)


class _AllGather(torch.autograd.Function):
    """All-gather whose backward sums each slice's gradient over the processes."""

    @staticmethod
    def forward(ctx, x, group):
        import torch.distributed as dist

        ctx.group = group
        ctx.rank = dist.get_rank(group)
        parts = [torch.empty_like(x) for _ in range(dist.get_world_size(group))]
        dist.all_gather(parts, x.contiguous(), group=group)
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad):
        import torch.distributed as dist

        grad = grad.contiguous()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM, group=ctx.group)
        return grad.chunk(dist.get_world_size(ctx.group))[ctx.rank], None


def all_gather_differentiable(x: torch.Tensor, group=None) -> torch.Tensor:
    r"""Concatenate ``x`` from every process (in rank order), keeping the gradient path.

    The backward pass all-reduces (sums) the gradient of the gathered tensor and returns this
    process's slice: the gradient of :math:`\sum_r L_r` with respect to the local ``x``, where
    :math:`L_r` is the loss computed on process :math:`r`. Every process must pass a tensor of
    the same shape. Works on every backend, including gloo on CPU.

    Examples:
        >>> import torch
        >>> from lossbook.metric import all_gather_differentiable
        >>> import os, tempfile
        >>> import torch.distributed as dist
        >>> store = dist.FileStore(os.path.join(tempfile.mkdtemp(), "store"), 1)
        >>> dist.init_process_group("gloo", store=store, rank=0, world_size=1)  # one process, for the example
        >>> x = torch.tensor([1.0, 2.0], requires_grad=True)
        >>> all_gather_differentiable(x)
        tensor([1., 2.], grad_fn=<_AllGatherBackward>)
        >>> dist.destroy_process_group()
    """
    return _AllGather.apply(x, group)


def nt_xent(z1, z2, *, temperature: float = 0.5, reduction: str = "mean", gather: bool = False, group=None):
    r"""NT-Xent (SimCLR): cross-entropy over cosine-similarity logits, self-similarity masked.

    The :math:`2N` embeddings :math:`(z^{(1)}_1..z^{(1)}_N, z^{(2)}_1..z^{(2)}_N)` are anchors in
    turn; anchor :math:`i` has one positive (the other view of the same item, index
    :math:`i \pm N`) and :math:`2N - 2` negatives:

    .. math:: \ell_i = -\log \frac{\exp(s_{i,\pi(i)}/\tau)}{\sum_{k \ne i} \exp(s_{ik}/\tau)},
              \qquad s_{ik} = \frac{z_i^\top z_k}{\|z_i\|\,\|z_k\|}

    The excluded term :math:`k = i` (the self-similarity, always :math:`1/\tau`) is masked
    out of the logits. Computed in at least float32 (float16 at :math:`\tau = 0.07` overflows
    :math:`e^{1/\tau}` otherwise) and cast back.

    Args:
        z1, z2: the two views' embeddings, shape ``(N, dim)`` each.
        temperature: :math:`\tau > 0`.
        reduction: ``"none"`` (one loss per local anchor, ``z1`` rows first) | ``"mean"`` | ``"sum"``.
        gather: take the negatives from every process of ``group`` (``torch.distributed``), with
            :func:`all_gather_differentiable`. The anchors stay local: ``"mean"`` averages this process's
            :math:`2N` anchors, so the average of the processes' losses is the loss of the global
            batch (every process must hold the same ``N``), and the gradient of their *sum*
            w.r.t. the local embeddings is what back-propagation delivers.
        group: the process group (the default group if ``None``).

    Reference: Chen et al. (2020), SimCLR, eq. (1).

    Examples:
        >>> import torch
        >>> from lossbook.metric import nt_xent
        >>> z = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> nt_xent(z, z, temperature=1.0)
        tensor(0.5514)
    """
    a = _check_matrix(as_float_tensor(z1, "z1"), "z1")
    b = as_float_tensor(z2, "z2", like=a)
    check_same_shape(a, b, ("z1", "z2"))
    check_same_device(("z1", a), ("z2", b))
    tau = check_positive(temperature, "temperature")
    check_reduction(reduction)
    ac, bc = upcast(a, b)
    local = F.normalize(torch.cat([ac, bc]), dim=1)  # (2n, dim) anchors
    n = a.shape[0]
    if gather:
        import torch.distributed as dist

        rank, world = dist.get_rank(group), dist.get_world_size(group)
        g1 = all_gather_differentiable(local[:n].contiguous(), group)
        g2 = all_gather_differentiable(local[n:].contiguous(), group)
        keys, big_n, offset = torch.cat([g1, g2]), n * world, n * rank
    else:
        keys, big_n, offset = local, n, 0
    idx = torch.arange(n, device=a.device) + offset
    self_idx = torch.cat([idx, idx + big_n])
    pos_idx = torch.cat([idx + big_n, idx])
    is_self = torch.arange(2 * big_n, device=a.device)[None, :] == self_idx[:, None]
    logits = (local @ keys.T / tau).masked_fill(is_self, float("-inf"))
    loss = F.cross_entropy(logits, pos_idx, reduction="none")
    return reduce(loss, reduction).to(a.dtype)


# ---------------------------------------------------------------------------- retrieval


def recall_at_k(embeddings, labels, *, k: int = 1, distance: str = "euclidean") -> torch.Tensor:
    r"""Recall@k: the fraction of queries with a same-label item among their :math:`k` nearest neighbours.

    Every row is a query against all the *other* rows (leave-one-out retrieval). Ties at the
    :math:`k`-th distance are resolved by :func:`torch.topk`. Returns a 0-d float tensor.

    Reference: Song et al. (2016), "Deep metric learning via lifted structured feature embedding".

    Examples:
        >>> import torch
        >>> from lossbook.metric import recall_at_k
        >>> x = torch.tensor([[0.0], [0.1], [5.0], [5.2]])
        >>> recall_at_k(x, torch.tensor([0, 0, 1, 1]), k=1)
        tensor(1.)
    """
    x, y = _embeddings_and_labels(embeddings, labels)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k < x.shape[0]:
        raise ValueError(f"k must be an int in [1, {x.shape[0] - 1}] (the batch size minus one); got {k!r}")
    _check_distance(distance)
    with torch.no_grad():
        d = pairwise_distances(upcast(x)[0], distance=distance)
        d = d.masked_fill(torch.eye(x.shape[0], dtype=torch.bool, device=x.device), float("inf"))
        nearest = d.topk(k, dim=1, largest=False).indices
        hit = (y[nearest] == y[:, None]).any(1)
    return hit.to(torch.float64 if x.dtype == torch.float64 else torch.float32).mean()
