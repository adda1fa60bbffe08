"""Choosing a loss: the decision tree as code, and the losses no earlier chapter covers.

:func:`recommend` walks one tree, :data:`TREE`; :func:`tree_nodes` and :func:`tree_edges` read the
same tree for the chapter's figure (:func:`plot_tree`), so the figure cannot drift from the rules.

The quick-reference losses: :func:`soft_dice` and :func:`dice` (segmentation), :func:`arcface`
(additive angular margin), :func:`listnet` and :func:`listmle` (listwise ranking), :func:`coral`
(ordinal regression), :func:`uncertainty_weighting` (multi-task), :func:`reinforce`,
:func:`ppo_clip` and :func:`ppo_value` (policy gradient). Smooth L1 is
``regression.huber(delta=beta) / beta`` (Chapter 2).

Introduced in the loss-selection chapter (:doc:`/book/selection/index`).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from ._numerics import safe_sqrt, upcast
from ._validation import (
    as_float_tensor,
    as_index_tensor,
    check_class_indices,
    check_in_range,
    check_nonnegative,
    check_pair,
    check_positive,
    check_reduction,
    check_same_device,
    check_same_shape,
    reduce,
)

__all__ = [
    "TREE",
    "Leaf",
    "Question",
    "Recommendation",
    "arcface",
    "coral",
    "coral_levels",
    "coral_predict",
    "dice",
    "listmle",
    "listnet",
    "plot_tree",
    "ppo_clip",
    "ppo_clip_grad",
    "ppo_value",
    "recommend",
    "reinforce",
    "soft_dice",
    "tree_edges",
    "tree_nodes",
    "uncertainty_weighting",
]


# ============================================================================ the decision tree


@dataclass(frozen=True)
class Recommendation:
    """What :func:`recommend` returns.

    Attributes:
        loss: the loss's name, as the book writes it.
        function: the dotted path of its :mod:`lossbook` function (``"regression.huber"``).
        chapter: the chapter page that implements it (``"book/regression/huber"``).
        note: the setting to use with it, or why it is chosen.
    """

    loss: str
    function: str
    chapter: str
    note: str = ""

    def resolve(self) -> Callable:
        """The :mod:`lossbook` function itself (imported on demand)."""
        module, _, name = self.function.rpartition(".")
        return getattr(importlib.import_module(f"lossbook.{module}"), name)


@dataclass(frozen=True)
class Leaf:
    """An end of the tree: one recommendation."""

    recommendation: Recommendation


@dataclass(frozen=True)
class Question:
    """An inner node: it reads one argument of :func:`recommend` and follows one branch.

    ``branches`` holds ``(label, test, child)``: ``test(value)`` decides whether the branch is
    taken; the first branch whose test holds is followed. ``default`` stands in for an argument
    the caller leaves at ``None`` (``None``: the argument is required here).
    """

    argument: str
    text: str
    branches: tuple[tuple[str, Callable[[object], bool], Leaf | Question], ...]
    default: object = None
    hint: str = ""


def _is(value):
    return lambda v: v == value


def _rec(loss, function, chapter, note=""):
    return Leaf(Recommendation(loss, function, chapter, note))


MODERATE_IMBALANCE = 3.0
"""Majority : minority ratios above this count as imbalanced (re-weight)."""
SEVERE_IMBALANCE = 100.0
"""Ratios above this count as severe (the syllabus's threshold for focal loss)."""


def _imbalance(plain: Leaf, weighted: Leaf, focal: Leaf | None = None) -> Question:
    if focal is None:
        branches = (
            (f"≤ {MODERATE_IMBALANCE:g}", lambda r: r <= MODERATE_IMBALANCE, plain),
            (f"> {MODERATE_IMBALANCE:g}", lambda r: r > MODERATE_IMBALANCE, weighted),
        )
    else:
        branches = (
            (f"≤ {MODERATE_IMBALANCE:g}", lambda r: r <= MODERATE_IMBALANCE, plain),
            (f"≤ {SEVERE_IMBALANCE:g}", lambda r: r <= SEVERE_IMBALANCE, weighted),
            (f"> {SEVERE_IMBALANCE:g}", lambda r: r > SEVERE_IMBALANCE, focal),
        )
    return Question("imbalance_ratio", "majority : minority", branches, default=1.0)


_CE = "book/classification/cross-entropy"
_FOCAL = "book/classification/focal"

TREE = Question(
    "task",
    "task",
    (
        (
            "regression",
            _is("regression"),
            Question(
                "outliers",
                "outliers in the targets?",
                (
                    (
                        "yes",
                        _is(True),
                        _rec(
                            "Huber",
                            "regression.huber",
                            "book/regression/huber",
                            "delta of the order of the noise scale (MAE as delta -> 0)",
                        ),
                    ),
                    ("no", _is(False), _rec("MSE", "regression.mse", "book/regression/mse")),
                ),
                hint="pass True or False",
            ),
        ),
        (
            "quantile",
            _is("quantile"),
            _rec(
                "quantile (pinball)", "regression.quantile", "book/regression/quantile", "tau = the quantile"
            ),
        ),
        (
            "classification",
            _is("classification"),
            Question(
                "labels",
                "labels",
                (
                    (
                        "binary",
                        _is("binary"),
                        _imbalance(
                            _rec(
                                "binary cross-entropy", "classification.binary_cross_entropy_with_logits", _CE
                            ),
                            _rec(
                                "weighted binary cross-entropy",
                                "classification.binary_cross_entropy_with_logits",
                                _CE,
                                "pos_weight = the ratio",
                            ),
                            _rec(
                                "focal",
                                "classification.focal",
                                _FOCAL,
                                "gamma = 2, alpha = inverse frequency; compare with weighted BCE held out",
                            ),
                        ),
                    ),
                    (
                        "exclusive",
                        _is("exclusive"),
                        _imbalance(
                            _rec(
                                "cross-entropy", "classification.cross_entropy", _CE, "label_smoothing = 0.1"
                            ),
                            _rec(
                                "weighted cross-entropy",
                                "classification.cross_entropy",
                                _CE,
                                "weight = inverse class frequency",
                            ),
                        ),
                    ),
                    (
                        "multi-label",
                        _is("multi-label"),
                        _rec(
                            "binary cross-entropy per class",
                            "classification.binary_cross_entropy_with_logits",
                            _CE,
                            "pos_weight per class for rare labels",
                        ),
                    ),
                ),
            ),
        ),
        (
            "ordinal",
            _is("ordinal"),
            _rec("CORAL", "selection.coral", "book/selection/quick-reference-losses"),
        ),
        (
            "segmentation",
            _is("segmentation"),
            _imbalance(
                _rec("cross-entropy", "classification.cross_entropy", _CE, "per pixel"),
                _rec(
                    "soft Dice",
                    "selection.dice",
                    "book/selection/quick-reference-losses",
                    "often + cross-entropy",
                ),
            ),
        ),
        (
            "detection",
            _is("detection"),
            Question(
                "head",
                "detector head",
                (
                    ("class", _is("class"), _rec("focal", "classification.focal", _FOCAL, "RetinaNet")),
                    (
                        "box",
                        _is("box"),
                        _rec(
                            "smooth L1",
                            "regression.huber",
                            "book/regression/huber",
                            "huber(delta=beta) / beta",
                        ),
                    ),
                ),
            ),
        ),
        (
            "embedding",
            _is("embedding"),
            Question(
                "supervision",
                "supervision",
                (
                    (
                        "class labels",
                        _is("class labels"),
                        _rec("ArcFace", "selection.arcface", "book/selection/quick-reference-losses"),
                    ),
                    (
                        "triplets",
                        _is("triplets"),
                        _rec("triplet", "metric.triplet_margin_loss", "book/metric/index"),
                    ),
                    (
                        "pairs",
                        _is("pairs"),
                        _rec("contrastive", "metric.contrastive_loss", "book/metric/index"),
                    ),
                    (
                        "augmented views",
                        _is("augmented views"),
                        _rec("InfoNCE", "metric.info_nce", "book/metric/index"),
                    ),
                ),
            ),
        ),
        (
            "ranking",
            _is("ranking"),
            Question(
                "relevance",
                "relevance",
                (
                    (
                        "full order",
                        _is("full order"),
                        _rec("ListMLE", "selection.listmle", "book/selection/quick-reference-losses"),
                    ),
                    (
                        "graded",
                        _is("graded"),
                        _rec("ListNet", "selection.listnet", "book/selection/quick-reference-losses"),
                    ),
                ),
            ),
        ),
        (
            "sequence",
            _is("sequence"),
            Question(
                "alignment",
                "alignment known?",
                (
                    (
                        "yes",
                        _is(True),
                        _rec(
                            "cross-entropy (teacher forcing)",
                            "sequence.sequence_cross_entropy",
                            "book/sequence/index",
                        ),
                    ),
                    ("no", _is(False), _rec("CTC", "sequence.ctc_loss", "book/sequence/index")),
                ),
                hint="pass True or False",
            ),
        ),
        (
            "generative",
            _is("generative"),
            Question(
                "model",
                "model",
                (
                    ("VAE", _is("VAE"), _rec("ELBO", "generative.elbo_loss", "book/generative/index")),
                    (
                        "GAN",
                        _is("GAN"),
                        _rec(
                            "WGAN-GP",
                            "generative.wgan_critic_loss",
                            "book/generative/index",
                            "with generative.gradient_penalty",
                        ),
                    ),
                    (
                        "autoregressive",
                        _is("autoregressive"),
                        _rec("cross-entropy (next token)", "classification.cross_entropy", _CE),
                    ),
                ),
            ),
        ),
        (
            "reinforcement",
            _is("reinforcement"),
            _rec(
                "PPO clipped surrogate + value loss",
                "selection.ppo_clip",
                "book/selection/quick-reference-losses",
                "with selection.ppo_value",
            ),
        ),
        (
            "multi-task",
            _is("multi-task"),
            _rec(
                "uncertainty-weighted sum",
                "selection.uncertainty_weighting",
                "book/selection/quick-reference-losses",
            ),
        ),
    ),
)
"""The decision tree, which :func:`recommend` walks and :func:`tree_nodes` / :func:`tree_edges` draw."""


def _questions(node=TREE) -> Iterator[Question]:
    if isinstance(node, Question):
        yield node
        for _, _, child in node.branches:
            yield from _questions(child)


ARGUMENTS: tuple[str, ...] = tuple(dict.fromkeys(q.argument for q in _questions()))
"""Every argument of :func:`recommend`, in the order the tree first asks it."""


def _allowed(question: Question) -> str:
    labels = ", ".join(repr(label) for label, _, _ in question.branches)
    return f"{labels} ({question.hint})" if question.hint else labels


def recommend(task: str, **answers) -> Recommendation:
    """Walk the decision tree :data:`TREE` and return the loss it recommends.

    Args:
        task: ``"regression"``, ``"quantile"``, ``"classification"``, ``"ordinal"``,
            ``"segmentation"``, ``"detection"``, ``"embedding"``, ``"ranking"``, ``"sequence"``,
            ``"generative"``, ``"reinforcement"`` or ``"multi-task"``.
        **answers: the answers the path asks for: ``outliers`` (bool, regression), ``labels``
            (``"binary"`` | ``"exclusive"`` | ``"multi-label"``), ``imbalance_ratio`` (majority :
            minority, at least 1; 1 when left out), ``head`` (``"class"`` | ``"box"``),
            ``supervision``, ``relevance``, ``alignment`` (bool), ``model``.

    Returns:
        A :class:`Recommendation` (loss name, :mod:`lossbook` function, chapter page).

    Raises:
        TypeError: an argument the tree does not know.
        ValueError: an answer none of the node's branches accepts, an answer the path does
            not ask for (an impossible combination, e.g. ``outliers`` for classification), or a
            missing required answer. Every message names the argument.

    Examples:
        >>> from lossbook.selection import recommend
        >>> recommend("regression", outliers=True).function
        'regression.huber'
    """
    unknown = sorted(set(answers) - set(ARGUMENTS))
    if unknown:
        raise TypeError(f"recommend() got unknown arguments {unknown}; it knows {list(ARGUMENTS)}")
    if "imbalance_ratio" in answers and answers["imbalance_ratio"] is not None:
        r = answers["imbalance_ratio"]
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not (r >= 1) or math.isinf(r):
            raise ValueError(f"imbalance_ratio must be a finite number >= 1 (majority : minority); got {r!r}")
    values = {"task": task, **answers}
    used = set()
    node: Question | Leaf = TREE
    path = []
    while isinstance(node, Question):
        value = values.get(node.argument)
        used.add(node.argument)
        if value is None:
            if node.default is None:
                raise ValueError(
                    f"{node.argument} is required for {', '.join(path)}; one of {_allowed(node)}"
                )
            value = node.default
        child = next((c for _, test, c in node.branches if test(value)), None)
        if child is None:
            raise ValueError(f"{node.argument} must be one of {_allowed(node)}; got {value!r}")
        path.append(f"{node.argument}={value!r}")
        node = child
    extra = sorted(k for k, v in answers.items() if v is not None and k not in used)
    if extra:
        raise ValueError(
            f"{extra[0]} does not apply to {', '.join(path)} (an impossible combination); leave it out"
        )
    return node.recommendation


def tree_nodes() -> list[tuple[int, str, bool]]:
    """The nodes of :data:`TREE`, depth first: ``(id, text, is_leaf)``; a leaf's text is its loss.

    Examples:
        >>> from lossbook.selection import tree_nodes
        >>> tree_nodes()[0]
        (0, 'task', False)
    """
    return [(i, text, leaf) for i, (text, leaf, _, _) in enumerate(_walk())]


def tree_edges() -> list[tuple[int, int, str]]:
    """The edges of :data:`TREE`: ``(parent id, child id, branch label)``, ids as in :func:`tree_nodes`.

    Examples:
        >>> from lossbook.selection import tree_edges
        >>> tree_edges()[0]
        (0, 1, 'regression')
    """
    return [(parent, i, label) for i, (_, _, parent, label) in enumerate(_walk()) if parent is not None]


def _walk():
    out = []

    def visit(node, parent, label):
        i = len(out)
        if isinstance(node, Leaf):
            out.append((node.recommendation.loss, True, parent, label))
            return
        out.append((node.text, False, parent, label))
        for lab, _, child in node.branches:
            visit(child, i, lab)

    visit(TREE, None, None)
    return out


def plot_tree(ax, *, fontsize: float = 7.0):
    """Draw :data:`TREE` on ``ax`` from :func:`tree_nodes` and :func:`tree_edges`: depth left to right,
    one row per leaf, each inner node centred on its children; branch labels on the edges.

    Examples:
        >>> from lossbook.selection import plot_tree
        >>> import matplotlib.pyplot as plt
        >>> fig, ax = plt.subplots(figsize=(12, 8))
        >>> plot_tree(ax)
        <Axes: >
        >>> plt.close(fig)
    """
    from .plotting import PALETTE

    nodes = tree_nodes()
    edges = tree_edges()
    children: dict[int, list[int]] = {}
    parent_of = {}
    for p, c, _ in edges:
        children.setdefault(p, []).append(c)
        parent_of[c] = p
    depth = {0: 0}
    for p, c, _ in edges:  # edges come depth first, so a parent precedes its children
        depth[c] = depth[p] + 1
    y: dict[int, float] = {}
    row = 0
    for i, _, leaf in nodes:
        if leaf:
            y[i] = -row
            row += 1
    for i, _, leaf in reversed(nodes):
        if not leaf:
            y[i] = sum(y[c] for c in children[i]) / len(children[i])
    x = {i: 2.0 * d for i, d in depth.items()}
    colors = list(PALETTE.values()) if isinstance(PALETTE, dict) else list(PALETTE)
    for p, c, label in edges:
        ax.plot([x[p], x[c]], [y[p], y[c]], color="0.6", lw=0.8, zorder=1)
        ax.text(
            x[p] + 0.6 * (x[c] - x[p]),
            y[p] + 0.6 * (y[c] - y[p]),
            label,
            fontsize=fontsize - 1,
            ha="center",
            va="bottom",
        )
    for i, text, leaf in nodes:
        ax.text(
            x[i],
            y[i],
            text,
            fontsize=fontsize,
            ha="left" if leaf else "center",
            va="center",
            zorder=2,
            bbox={
                "boxstyle": "round,pad=0.25",
                "fc": "white",
                "ec": colors[1] if leaf else colors[0],
                "lw": 1.0,
            },
        )
    ax.set_xlim(-1.0, max(x.values()) + 3.0)
    ax.set_ylim(-row + 0.5, 0.5)
    ax.axis("off")
    return ax


# ============================================================================ segmentation


def _per_sample(t: torch.Tensor) -> torch.Tensor:
    return t.reshape(t.shape[0], -1) if t.dim() > 1 else t.reshape(1, -1)


def soft_dice(input, target, *, smooth: float = 1.0, reduction: str = "mean") -> torch.Tensor:
    r"""Soft Dice loss of predicted probabilities against a (soft or hard) mask, per sample.

    .. math:: \ell = 1 - \frac{2\sum_i p_i t_i + s}{\sum_i p_i + \sum_i t_i + s}

    The sums run over every dimension but the first (the batch); a 1-D input is one sample.
    With hard masks and :math:`s = 0` it is one minus the Dice coefficient
    :math:`2|A\cap B|/(|A| + |B|)`.

    Args:
        input: probabilities :math:`p \in [0, 1]`, shape ``(N, ...)``.
        target: the mask :math:`t \in [0, 1]`, the same shape.
        smooth: :math:`s \ge 0`, added to numerator and denominator (keeps empty masks finite).
        reduction: ``"none"`` (one value per sample) | ``"mean"`` | ``"sum"``.

    Reference: Milletari, Navab and Ahmadi (2016), V-Net.

    Examples:
        >>> import torch
        >>> from lossbook.selection import soft_dice
        >>> soft_dice(torch.tensor([[1.0, 0.0, 1.0, 0.0]]), torch.tensor([[1.0, 0.0, 1.0, 0.0]]), smooth=0.0)
        tensor(0.)
        >>> soft_dice(torch.tensor([[1.0, 1.0, 0.0, 0.0]]), torch.tensor([[1.0, 0.0, 1.0, 0.0]]), smooth=0.0)
        tensor(0.5000)
    """
    input, target = check_pair(input, target)
    smooth = check_nonnegative(smooth, "smooth")
    check_reduction(reduction)
    dtype = input.dtype
    p, t = upcast(input, target.to(input.dtype))
    p, t = _per_sample(p), _per_sample(t)
    inter = (p * t).sum(-1)
    denom = p.sum(-1) + t.sum(-1) + smooth
    # 0/0 (both masks empty, smooth = 0) is a perfect match: loss 0
    empty = denom == 0
    ratio = (2 * inter + smooth) / torch.where(empty, torch.ones_like(denom), denom)
    loss = torch.where(empty, torch.zeros_like(denom), 1 - ratio)
    return reduce(loss, reduction).to(dtype)


def dice(input, target, *, smooth: float = 1.0, reduction: str = "mean") -> torch.Tensor:
    r"""Soft Dice loss of *logits*: :func:`soft_dice` of :math:`\sigma(z)`.

    The form segmentation models train (binary masks, one logit per pixel), as
    ``segmentation_models_pytorch.losses.DiceLoss(mode="binary", from_logits=True)`` with its
    ``smooth``, per sample instead of over the batch.

    Args:
        input: logits :math:`z`, shape ``(N, ...)``.
        target: the mask :math:`t \in [0, 1]`, the same shape.
        smooth: :math:`s \ge 0`.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Reference: Milletari, Navab and Ahmadi (2016); Sudre et al. (2017).

    Examples:
        >>> import torch
        >>> from lossbook.selection import dice
        >>> dice(torch.tensor([[100.0, -100.0]]), torch.tensor([[1.0, 0.0]]), smooth=0.0)
        tensor(0.)
    """
    input, target = check_pair(input, target)
    check_nonnegative(smooth, "smooth")
    check_reduction(reduction)
    (z,) = upcast(input)
    return soft_dice(torch.sigmoid(z), target.to(z.dtype), smooth=smooth, reduction=reduction).to(input.dtype)


# ============================================================================ angular margin


def _logits_and_labels(input, target):
    input = as_float_tensor(input, "input")
    target = as_index_tensor(target, "target", like=input)
    if input.dim() != 2:
        raise ValueError(f"input must have shape (N, C); got {tuple(input.shape)}")
    if target.shape != input.shape[:1]:
        raise ValueError(
            f"target must have shape ({input.shape[0]},) for input {tuple(input.shape)}; "
            f"got {tuple(target.shape)}"
        )
    check_same_device(("input", input), ("target", target))
    check_class_indices(target, input.shape[1])
    return input, target


def arcface(
    input, target, *, scale: float = 64.0, margin: float = 0.5, eps: float = 1e-7, reduction: str = "mean"
):
    r"""ArcFace (additive angular margin) loss of cosine similarities.

    The target class's angle :math:`\theta_y = \arccos c_y` is enlarged by :math:`m` before a
    scaled softmax cross-entropy:

    .. math:: \ell = -\log\frac{e^{s\cos(\theta_y + m)}}{e^{s\cos(\theta_y + m)} + \sum_{j\ne y} e^{s c_j}}

    with :math:`\cos(\theta + m) = c\cos m - \sqrt{1 - c^2}\,\sin m`, :math:`c` clamped into
    :math:`[-1 + \varepsilon, 1 - \varepsilon]` and the square root a safe one, so the value and
    the gradient stay finite at :math:`\theta = 0` and :math:`\theta = \pi` (where
    :math:`d\arccos/dc` is infinite). Where :math:`\theta + m > \pi` the margin would *raise* the
    logit; there the logit is :math:`c - m\sin m` instead (the published implementation's
    fallback, which keeps it decreasing in :math:`\theta`).

    Args:
        input: cosines :math:`c_{nj}` between the normalised embedding and the class centres,
            shape ``(N, C)``, in :math:`[-1, 1]`.
        target: class indices, shape ``(N,)``.
        scale: :math:`s > 0`. margin: :math:`m \in [0, \pi/2)`. eps: the clamp, in ``(0, 0.1]``.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Reference: Deng et al. (2019), ArcFace.

    Examples:
        >>> import torch
        >>> from lossbook.selection import arcface
        >>> cosines = torch.tensor([[1.0, 0.0]])
        >>> arcface(cosines, torch.tensor([0]), scale=1.0, margin=0.0)
        tensor(0.3133)
    """
    input, target = _logits_and_labels(input, target)
    scale = check_positive(scale, "scale")
    margin = check_in_range(margin, "margin", 0.0, math.pi / 2, high_inclusive=False)
    eps = check_in_range(eps, "eps", 0.0, 0.1, low_inclusive=False)
    check_reduction(reduction)
    if input.numel() and not bool(((input >= -1) & (input <= 1)).all()):
        raise ValueError("input must hold cosines in [-1, 1]")
    dtype = input.dtype
    (c,) = upcast(input)
    c_y = c.gather(1, target[:, None]).clamp(-1 + eps, 1 - eps)
    sin_y = safe_sqrt(1 - c_y * c_y)
    shifted = c_y * math.cos(margin) - sin_y * math.sin(margin)
    fallback = c_y - margin * math.sin(margin)
    logit_y = torch.where(c_y > math.cos(math.pi - margin), shifted, fallback)
    logits = c.scatter(1, target[:, None], logit_y) * scale
    loss = torch.logsumexp(logits, 1) - logits.gather(1, target[:, None]).squeeze(1)
    return reduce(loss, reduction).to(dtype)


# ============================================================================ listwise ranking


def _lists(input, target):
    input, target = check_pair(input, target, ("input", "target"))
    if input.dim() < 1:
        raise ValueError("input must have at least one dimension (the list)")
    return input, target


def listnet(input, target, *, reduction: str = "mean") -> torch.Tensor:
    r"""ListNet (top-one) loss: the cross-entropy between the softmax of the relevances and of the scores.

    .. math:: \ell = -\sum_i \operatorname{softmax}(t)_i \log \operatorname{softmax}(s)_i

    over the last dimension (the list); one value per list.

    Args:
        input: scores :math:`s`, shape ``(..., L)``.
        target: relevance labels :math:`t` (real), the same shape.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Reference: Cao et al. (2007).

    Examples:
        >>> import torch
        >>> from lossbook.selection import listnet
        >>> listnet(torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 1.0]]))
        tensor(0.6931)
    """
    input, target = _lists(input, target)
    check_reduction(reduction)
    dtype = input.dtype
    s, t = upcast(input, target.to(input.dtype))
    loss = -(torch.softmax(t, -1) * torch.log_softmax(s, -1)).sum(-1)
    return reduce(loss, reduction).to(dtype)


def listmle(input, target, *, reduction: str = "mean") -> torch.Tensor:
    r"""ListMLE: the negative Plackett–Luce log-likelihood of the order the relevances give.

    With :math:`\pi` the items sorted by decreasing relevance (ties in list order),

    .. math::
        \ell = -\log P(\pi \mid s) = \sum_{i=1}^{L}\Big(\log\sum_{k \ge i} e^{s_{\pi_k}} - s_{\pi_i}\Big).

    Args:
        input: scores :math:`s`, shape ``(..., L)``.
        target: relevance labels (real), the same shape; only their order matters.
        reduction: ``"none"`` (one value per list) | ``"mean"`` | ``"sum"``.

    Reference: Xia et al. (2008).

    Examples:
        >>> import torch
        >>> from lossbook.selection import listmle
        >>> listmle(torch.tensor([[0.0, 0.0]]), torch.tensor([[2.0, 1.0]]))
        tensor(0.6931)
    """
    input, target = _lists(input, target)
    check_reduction(reduction)
    dtype = input.dtype
    (s,) = upcast(input)
    order = torch.sort(target, dim=-1, descending=True, stable=True).indices
    sorted_s = s.gather(-1, order)
    # log sum_{k >= i} exp(s_k): a reversed cumulative logsumexp
    tail = torch.logcumsumexp(sorted_s.flip(-1), -1).flip(-1)
    loss = (tail - sorted_s).sum(-1)
    return reduce(loss, reduction).to(dtype)


# ============================================================================ ordinal regression


def coral_levels(target, num_classes: int) -> torch.Tensor:
    r"""The binary levels :math:`[y > k]`, :math:`k = 0, \dots, K - 2`, of ordinal labels.

    Shape ``(N, K - 1)``, in the default floating dtype.

    Examples:
        >>> import torch
        >>> from lossbook.selection import coral_levels
        >>> coral_levels(torch.tensor([0, 2, 3]), 4)
        tensor([[0., 0., 0.],
                [1., 1., 0.],
                [1., 1., 1.]])
    """
    from ._validation import check_positive_int

    num_classes = check_positive_int(num_classes, "num_classes")
    target = as_index_tensor(target, "target")
    check_class_indices(target, num_classes)
    k = torch.arange(num_classes - 1, device=target.device)
    return (target[..., None] > k).to(torch.get_default_dtype())


def coral_predict(input) -> torch.Tensor:
    r"""The predicted rank: the number of thresholds whose :math:`P(y > k) = \sigma(z_k)` exceeds 1/2.

    Examples:
        >>> import torch
        >>> from lossbook.selection import coral_predict
        >>> coral_predict(torch.tensor([[2.0, 0.5, -1.0]]))
        tensor([2])
    """
    input = as_float_tensor(input, "input")
    return (input > 0).sum(-1)


def coral(input, target, *, reduction: str = "mean") -> torch.Tensor:
    r"""CORAL loss for ordinal regression with :math:`K` ranks: a binary cross-entropy per threshold.

    .. math:: \ell = -\sum_{k=0}^{K-2}\Big([y > k]\log\sigma(z_k) + [y \le k]\log(1 - \sigma(z_k))\Big)

    With the CORAL model :math:`z_k = g(x) + b_k` (one shared score, one bias per threshold)
    the fitted biases are non-increasing, so :math:`P(y > k)` decreases in :math:`k`: the
    predictions are rank-consistent.

    Args:
        input: logits :math:`z`, shape ``(N, K - 1)``.
        target: ranks in :math:`\{0, \dots, K - 1\}`, shape ``(N,)``.
        reduction: ``"none"`` (one value per sample) | ``"mean"`` | ``"sum"``.

    Reference: Cao, Mirjalili and Raschka (2020).

    Examples:
        >>> import torch
        >>> from lossbook.selection import coral
        >>> coral(torch.zeros(1, 3), torch.tensor([1]))
        tensor(2.0794)
    """
    input = as_float_tensor(input, "input")
    target = as_index_tensor(target, "target", like=input)
    if input.dim() != 2:
        raise ValueError(f"input must have shape (N, K - 1); got {tuple(input.shape)}")
    if target.shape != input.shape[:1]:
        raise ValueError(
            f"target must have shape ({input.shape[0]},) for input {tuple(input.shape)}; "
            f"got {tuple(target.shape)}"
        )
    check_same_device(("input", input), ("target", target))
    check_class_indices(target, input.shape[1] + 1)
    check_reduction(reduction)
    dtype = input.dtype
    (z,) = upcast(input)
    levels = (target[:, None] > torch.arange(z.shape[1], device=z.device)).to(z.dtype)
    loss = -(levels * torch.nn.functional.logsigmoid(z) + (1 - levels) * torch.nn.functional.logsigmoid(-z))
    return reduce(loss.sum(-1), reduction).to(dtype)


# ============================================================================ multi-task weighting


def uncertainty_weighting(losses, log_vars, *, reduction: str = "sum") -> torch.Tensor:
    r"""Homoscedastic-uncertainty weighting of task losses, with a learned log-variance per task.

    .. math:: \mathcal L = \sum_t \tfrac12 e^{-s_t} L_t + \tfrac12 s_t,\qquad s_t = \log\sigma_t^2

    For fixed :math:`L_t > 0` the minimiser is :math:`s_t^\star = \log L_t` and the minimum
    :math:`\tfrac12(1 + \log L_t)`: each task ends up weighted by :math:`1/L_t`.

    Args:
        losses: the task losses :math:`L_t \ge 0`, shape ``(..., T)``.
        log_vars: :math:`s_t`, the same shape (learned parameters).
        reduction: ``"sum"`` (the total, the default) | ``"none"`` (one term per task) | ``"mean"``.

    Reference: Kendall, Gal and Cipolla (2018).

    Examples:
        >>> import torch
        >>> from lossbook.selection import uncertainty_weighting
        >>> uncertainty_weighting(torch.tensor([1.0, 4.0]), torch.zeros(2))
        tensor(2.5000)
    """
    losses, log_vars = check_pair(losses, log_vars, ("losses", "log_vars"))
    check_reduction(reduction)
    if losses.numel() and not bool((losses >= 0).all()):
        raise ValueError("losses must hold non-negative values")
    dtype = losses.dtype
    L, s = upcast(losses, log_vars.to(losses.dtype))
    return reduce(0.5 * torch.exp(-s) * L + 0.5 * s, reduction).to(dtype)


# ============================================================================ policy gradient


def reinforce(log_probs, returns, baseline=None, *, reduction: str = "mean") -> torch.Tensor:
    r"""REINFORCE with a baseline: the surrogate whose gradient is the policy-gradient estimate.

    .. math:: \ell = -(G - b)\log\pi_\theta(a \mid s)

    :math:`G` and :math:`b` are constants (detached): only :math:`\log\pi_\theta` is
    differentiated, and :math:`\mathbb E[\nabla\log\pi\, b] = 0`, so the baseline changes the
    variance, not the mean, of the gradient.

    Args:
        log_probs: :math:`\log\pi_\theta(a_n \mid s_n)` of the actions taken, any shape.
        returns: :math:`G_n`, the same shape.
        baseline: :math:`b_n` (e.g. a value estimate), the same shape, or ``None`` (0).
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Reference: Williams (1992).

    Examples:
        >>> import torch
        >>> from lossbook.selection import reinforce
        >>> log_probs = torch.tensor([-1.0, -2.0], requires_grad=True)
        >>> loss = reinforce(log_probs, torch.tensor([1.0, 3.0]), torch.tensor([2.0, 2.0]), reduction="sum")
        >>> loss.backward()
        >>> log_probs.grad
        tensor([ 1., -1.])
    """
    log_probs, returns = check_pair(log_probs, returns, ("log_probs", "returns"))
    if baseline is not None:
        baseline = as_float_tensor(baseline, "baseline", like=log_probs)
        check_same_shape(log_probs, baseline, ("log_probs", "baseline"))
        check_same_device(("log_probs", log_probs), ("baseline", baseline))
    check_reduction(reduction)
    (lp,) = upcast(log_probs)  # half precision: the terms and their reduction in float32
    advantage = returns.detach().to(lp.dtype)
    if baseline is not None:
        advantage = advantage - baseline.detach().to(lp.dtype)
    return reduce(-advantage * lp, reduction).to(log_probs.dtype)


def _ppo_args(log_probs, old_log_probs, advantages, clip_range):
    log_probs, old_log_probs = check_pair(log_probs, old_log_probs, ("log_probs", "old_log_probs"))
    advantages = as_float_tensor(advantages, "advantages", like=log_probs)
    check_same_shape(log_probs, advantages, ("log_probs", "advantages"))
    check_same_device(("log_probs", log_probs), ("advantages", advantages))
    clip_range = check_in_range(clip_range, "clip_range", 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    return log_probs, old_log_probs, advantages, clip_range


def ppo_clip(log_probs, old_log_probs, advantages, *, clip_range: float = 0.2, reduction: str = "mean"):
    r"""PPO's clipped surrogate, as a loss (its negative).

    .. math:: \ell = -\min\big(r A,\ \operatorname{clip}(r, 1 - \epsilon, 1 + \epsilon) A\big),
              \qquad r = e^{\log\pi_\theta - \log\pi_{\text{old}}}

    The gradient in :math:`\log\pi_\theta` is :math:`-rA` where the unclipped term is the
    minimum, and 0 where the clip is active (:math:`A > 0, r > 1 + \epsilon` or
    :math:`A < 0, r < 1 - \epsilon`): the objective is flat there.

    Args:
        log_probs: :math:`\log\pi_\theta(a \mid s)`, any shape.
        old_log_probs: :math:`\log\pi_{\text{old}}(a \mid s)` (a constant), the same shape.
        advantages: :math:`A` (a constant), the same shape.
        clip_range: :math:`\epsilon \in (0, 1)`.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Reference: Schulman et al. (2017).

    Examples:
        >>> import torch
        >>> from lossbook.selection import ppo_clip
        >>> old, new = torch.log(torch.tensor([0.5, 0.5])), torch.log(torch.tensor([0.9, 0.1]))
        >>> ppo_clip(new, old, torch.tensor([1.0, 1.0]), clip_range=0.2, reduction="none")
        tensor([-1.2000, -0.2000])
    """
    log_probs, old, adv, eps = _ppo_args(log_probs, old_log_probs, advantages, clip_range)
    check_reduction(reduction)
    (lp,) = upcast(log_probs)  # half precision: the terms and their reduction in float32
    ratio = torch.exp(lp - old.detach().to(lp.dtype))
    adv = adv.detach().to(lp.dtype)
    loss = -torch.minimum(ratio * adv, ratio.clamp(1 - eps, 1 + eps) * adv)
    return reduce(loss, reduction).to(log_probs.dtype)


def ppo_clip_grad(log_probs, old_log_probs, advantages, *, clip_range: float = 0.2) -> torch.Tensor:
    r"""The gradient of the summed :func:`ppo_clip` in ``log_probs``: :math:`-rA`, or 0 where flat.

    Examples:
        >>> import torch
        >>> from lossbook.selection import ppo_clip_grad
        >>> old = torch.log(torch.tensor([0.5, 0.5]))
        >>> ppo_clip_grad(torch.log(torch.tensor([0.9, 0.5])), old, torch.tensor([1.0, 1.0]), clip_range=0.2)
        tensor([ 0., -1.])
    """
    log_probs, old, adv, eps = _ppo_args(log_probs, old_log_probs, advantages, clip_range)
    ratio = torch.exp(log_probs - old.to(log_probs.dtype))
    adv = adv.to(log_probs.dtype)
    flat = ((adv > 0) & (ratio > 1 + eps)) | ((adv < 0) & (ratio < 1 - eps))
    return torch.where(flat, torch.zeros_like(ratio), -ratio * adv)


def ppo_value(values, returns, *, old_values=None, clip_range: float | None = None, reduction: str = "mean"):
    r"""PPO's value loss :math:`\tfrac12(V - G)^2`, optionally clipped around the old values.

    With ``clip_range`` :math:`\epsilon`, the clipped prediction
    :math:`V_c = V_{\text{old}} + \operatorname{clip}(V - V_{\text{old}}, -\epsilon, \epsilon)` and the loss
    :math:`\tfrac12\max\big((V - G)^2, (V_c - G)^2\big)`.

    Args:
        values: :math:`V_\theta(s)`, any shape.
        returns: :math:`G`, the same shape.
        old_values: :math:`V_{\text{old}}(s)`, needed with ``clip_range``.
        clip_range: :math:`\epsilon > 0`, or ``None`` (no clipping).
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Reference: Schulman et al. (2017).

    Examples:
        >>> import torch
        >>> from lossbook.selection import ppo_value
        >>> ppo_value(torch.tensor([1.0, 3.0]), torch.tensor([2.0, 2.0]))
        tensor(0.5000)
    """
    values, returns = check_pair(values, returns, ("values", "returns"))
    check_reduction(reduction)
    if clip_range is not None:
        clip_range = check_positive(clip_range, "clip_range")
        if old_values is None:
            raise ValueError("old_values is required with clip_range")
        old_values = as_float_tensor(old_values, "old_values", like=values)
        check_same_shape(values, old_values, ("values", "old_values"))
        check_same_device(("values", values), ("old_values", old_values))
    elif old_values is not None:
        raise ValueError("old_values is used only with clip_range; pass clip_range or leave old_values out")
    (v,) = upcast(values)  # half precision: the terms and their reduction in float32
    g = returns.detach().to(v.dtype)
    loss = (v - g) ** 2
    if clip_range is not None:
        old = old_values.detach().to(v.dtype)
        clipped = old + (v - old).clamp(-clip_range, clip_range)
        loss = torch.maximum(loss, (clipped - g) ** 2)
    return reduce(0.5 * loss, reduction).to(values.dtype)
