r"""Sequence losses: teacher forcing, scheduled sampling and CTC.

Chapter 6 of the book (:doc:`/book/sequence/index`). Three ways to train a model that emits a
sequence:

* **teacher forcing** -- the per-token cross-entropy of :func:`sequence_cross_entropy`, over a
  padded batch with masking, averaged per token or per sequence (the two differ, and the
  choice is an argument, not an accident);
* **scheduled sampling** -- the decay schedules of the probability of feeding the gold token
  (:func:`inverse_decay`, :func:`linear_decay`, :func:`exponential_decay`,
  :func:`inverse_sigmoid_decay`) and the coin-flip mixing rule :func:`scheduled_sampling_mix`,
  which takes an explicit :class:`torch.Generator`;
* **connectionist temporal classification** -- :func:`ctc_loss` (forward--backward in log space,
  vectorised over the batch, gradient from :math:`\alpha\beta` in a custom autograd function)
  with the calling convention of :func:`torch.nn.functional.ctc_loss`, its short reference form
  :func:`ctc_loss_reference` (the plain forward recursion, differentiated by autograd), the
  brute-force sum over alignments for tiny cases (:func:`ctc_alignments`,
  :func:`ctc_brute_force_nll`), and two decoders (:func:`ctc_greedy_decode`,
  :func:`ctc_prefix_beam_search`).

Conventions: logits of a decoder are batch-first, ``(N, T, C)``; CTC log-probabilities are
time-first, ``(T, N, C)``, as in PyTorch. Where a gradient flows, :math:`\log 0` is the finite
:data:`LOG_ZERO`; a loss that is truly infinite (an infeasible CTC target) is reported as
``inf``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch

from ._numerics import upcast
from ._validation import (
    as_float_tensor,
    as_index_tensor,
    check_class_indices,
    check_in_range,
    check_positive,
    check_reduction,
    check_same_device,
    reduce,
)

__all__ = [
    "LOG_ZERO",
    "SCHEDULES",
    "ctc_alignments",
    "ctc_brute_force_nll",
    "ctc_collapse",
    "ctc_greedy_decode",
    "ctc_loss",
    "ctc_log_alpha_beta",
    "ctc_loss_reference",
    "ctc_min_input_length",
    "ctc_num_alignments",
    "ctc_prefix_beam_search",
    "exponential_decay",
    "inverse_decay",
    "inverse_sigmoid_decay",
    "linear_decay",
    "scheduled_sampling_mix",
    "sequence_cross_entropy",
]

LOG_ZERO = -1.0e30
r"""The finite stand-in for :math:`\log 0` in the CTC recursions (far below any real log-probability)."""

_INFEASIBLE = LOG_ZERO / 2  # a log-likelihood below this is a sum over no alignment


def _check_int(value: object, name: str, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int; got {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}; got {value}")
    return value


# --------------------------------------------------------------------------- teacher forcing


def sequence_cross_entropy(
    logits, targets, *, ignore_index: int = -100, average: str = "token", reduction: str = "mean"
) -> torch.Tensor:
    r"""Teacher-forced cross-entropy of a padded batch of sequences.

    .. math:: \ell_{n,t} = -\log\operatorname{softmax}(z_{n,t})_{y_{n,t}},\qquad
              L_{\text{token}} = \frac{\sum_{n,t} m_{n,t}\,\ell_{n,t}}{\sum_{n,t} m_{n,t}},\qquad
              L_{\text{sequence}} = \frac1N\sum_n \frac{\sum_t m_{n,t}\,\ell_{n,t}}{\sum_t m_{n,t}}

    where :math:`m_{n,t} = [y_{n,t} \ne \text{ignore\_index}]` masks the padding. ``"token"``
    weights every real token equally (long sequences count more; this is
    :func:`torch.nn.functional.cross_entropy` with ``ignore_index``); ``"sequence"`` weights
    every sequence equally (the :math:`\frac1T\sum_t` of a single sequence, averaged over the
    batch; sequences with no real token are left out of the average).

    Args:
        logits: decoder scores :math:`z`, shape ``(N, T, C)`` (batch first, classes last).
        targets: the gold tokens, integer, shape ``(N, T)``; padding holds ``ignore_index``.
        ignore_index: the padding value, excluded from the loss and from the normaliser.
        average: ``"token"`` | ``"sequence"``, the normaliser of ``reduction="mean"``.
        reduction: ``"none"`` (the ``(N, T)`` per-token losses, 0 at padding) | ``"mean"``
            (normalised as ``average`` says) | ``"sum"`` (the sum over real tokens).

    Returns:
        The loss in ``logits``' dtype and on its device. If every token is ignored the mean is
        a zero that still back-propagates (PyTorch returns NaN).

    Reference: Williams & Zipser (1989); Goodfellow, Bengio & Courville (2016), §10.2.1.

    Examples:
        >>> import torch
        >>> from lossbook.sequence import sequence_cross_entropy
        >>> logits = torch.zeros(1, 3, 4)
        >>> sequence_cross_entropy(logits, torch.tensor([[1, 2, -100]]))
        tensor(1.3863)
    """
    z = as_float_tensor(logits, "logits")
    y = as_index_tensor(targets, "targets", like=z)
    check_reduction(reduction)
    if average not in ("token", "sequence"):
        raise ValueError(f"average must be 'token' or 'sequence'; got {average!r}")
    _check_int(ignore_index, "ignore_index")
    if z.dim() != 3:
        raise ValueError(f"logits must have shape (N, T, C); got {tuple(z.shape)}")
    if y.shape != z.shape[:2]:
        raise ValueError(
            f"targets must have shape (N, T) = {tuple(z.shape[:2])} to match logits; got {tuple(y.shape)}"
        )
    check_same_device(("logits", z), ("targets", y))
    check_class_indices(y, z.shape[-1], "targets", ignore_index=ignore_index)
    (zc,) = upcast(z)
    mask = y != ignore_index
    logp = torch.log_softmax(zc, dim=-1)
    nll = -logp.gather(-1, torch.where(mask, y, 0).unsqueeze(-1)).squeeze(-1)
    loss = torch.where(mask, nll, torch.zeros_like(nll))
    if reduction != "mean":
        return reduce(loss, reduction).to(z.dtype)
    w = mask.to(zc.dtype)
    if average == "token":
        return reduce(loss, "mean", weight=w).to(z.dtype)
    counts = w.sum(dim=1)
    per_seq = loss.sum(dim=1) / counts.clamp(min=1)
    return reduce(per_seq, "mean", weight=(counts > 0).to(zc.dtype)).to(z.dtype)


# --------------------------------------------------------------------------- scheduled sampling


def inverse_decay(step, *, k0: float) -> torch.Tensor:
    r"""Teacher-forcing probability :math:`p_k = 1 / (1 + k / k_0)` (harmonic decay, :math:`k_0 > 0`).

    Reaches 1/2 at :math:`k = k_0` and decays like :math:`k_0 / k`, never reaching 0.

    Examples:
        >>> import torch
        >>> from lossbook.sequence import inverse_decay
        >>> inverse_decay(torch.tensor([0.0, 10.0, 30.0]), k0=10.0)
        tensor([1.0000, 0.5000, 0.2500])
    """
    k = _steps(step)
    return 1.0 / (1.0 + k / check_positive(k0, "k0"))


def linear_decay(step, *, slope: float, start: float = 1.0, floor: float = 0.0) -> torch.Tensor:
    r""":math:`p_k = \max(\epsilon, s - c\,k)` (Bengio et al., 2015): linear from ``start`` to ``floor``.

    Examples:
        >>> import torch
        >>> from lossbook.sequence import linear_decay
        >>> linear_decay(torch.tensor([0.0, 5.0, 50.0]), slope=0.1, floor=0.2)
        tensor([1.0000, 0.5000, 0.2000])
    """
    k = _steps(step)
    c = check_positive(slope, "slope")
    s = check_in_range(start, "start", 0.0, 1.0)
    eps = check_in_range(floor, "floor", 0.0, s)
    return (s - c * k).clamp(min=eps)


def exponential_decay(step, *, base: float) -> torch.Tensor:
    r""":math:`p_k = b^k` with :math:`0 < b < 1` (Bengio et al., 2015).

    Examples:
        >>> import torch
        >>> from lossbook.sequence import exponential_decay
        >>> exponential_decay(torch.tensor([0.0, 1.0, 2.0]), base=0.5)
        tensor([1.0000, 0.5000, 0.2500])
    """
    k = _steps(step)
    b = check_in_range(base, "base", 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    return torch.exp(k * math.log(b))


def inverse_sigmoid_decay(step, *, k0: float) -> torch.Tensor:
    r""":math:`p_k = k_0 / (k_0 + e^{k / k_0})` with :math:`k_0 \ge 1` (Bengio et al., 2015).

    Written as :math:`\sigma(\log k_0 - k / k_0)`, which never overflows.

    Examples:
        >>> import torch
        >>> from lossbook.sequence import inverse_sigmoid_decay
        >>> inverse_sigmoid_decay(torch.tensor([0.0, 10.0]), k0=1.0)
        tensor([5.0000e-01, 4.5398e-05])
    """
    k = _steps(step)
    k0 = check_in_range(k0, "k0", 1.0, math.inf)
    if not math.isfinite(k0):
        raise ValueError(f"k0 must be finite; got {k0}")
    return torch.sigmoid(math.log(k0) - k / k0)


SCHEDULES = {
    "inverse": inverse_decay,
    "linear": linear_decay,
    "exponential": exponential_decay,
    "inverse sigmoid": inverse_sigmoid_decay,
}
"""The decay schedules of the teacher-forcing probability, by name."""


def _steps(step) -> torch.Tensor:
    if isinstance(step, torch.Tensor) and not step.is_floating_point() and step.dtype != torch.bool:
        step = step.to(torch.get_default_dtype())
    k = (
        torch.tensor(float(step))
        if isinstance(step, int) and not isinstance(step, bool)
        else as_float_tensor(step, "step")
    )
    if k.numel() and bool((k < 0).any()):
        raise ValueError("step must be non-negative")
    return k


def scheduled_sampling_mix(
    gold, predicted, p: float, *, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Choose each decoder input: the gold token with probability :math:`p`, else the model's.

    .. math:: x_t = \begin{cases} y_{t-1} & \text{with probability } p \\
              \hat y_{t-1} & \text{with probability } 1 - p \end{cases}

    One independent coin per entry, drawn from ``generator`` (on the tokens' device), so a run
    is reproducible. The choice is discrete: no gradient flows through it, nor through
    ``predicted`` (an argmax or a sample).

    Args:
        gold: the gold previous tokens, integer tensor of any shape.
        predicted: the model's previous tokens, same shape and device.
        p: the teacher-forcing probability :math:`p \in [0, 1]`.
        generator: a :class:`torch.Generator` on the tokens' device.

    Returns:
        ``(inputs, used_gold)``: the mixed tokens and the boolean mask of the coins that chose gold.

    Reference: Bengio, Vinyals, Jaitly & Shazeer (2015).

    Examples:
        >>> import torch
        >>> from lossbook.sequence import scheduled_sampling_mix
        >>> from lossbook.data import generator
        >>> gold, predicted = torch.tensor([1, 2, 3, 4]), torch.tensor([9, 9, 9, 9])
        >>> scheduled_sampling_mix(gold, predicted, 1.0, generator=generator(0))
        (tensor([1, 2, 3, 4]), tensor([True, True, True, True]))
    """
    y = as_index_tensor(gold, "gold")
    yhat = as_index_tensor(predicted, "predicted", like=y)
    if y.shape != yhat.shape:
        raise ValueError(
            f"gold and predicted must have the same shape; got {tuple(y.shape)} and {tuple(yhat.shape)}"
        )
    check_same_device(("gold", y), ("predicted", yhat))
    p = check_in_range(p, "p", 0.0, 1.0)
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator; got {type(generator).__name__}")
    if torch.device(generator.device).type != y.device.type:
        raise ValueError(f"generator is on device {generator.device} but gold is on {y.device}")
    used_gold = torch.rand(y.shape, generator=generator, device=y.device) < p
    return torch.where(used_gold, y, yhat), used_gold


# --------------------------------------------------------------------------- CTC: alignments


def ctc_collapse(path: Sequence[int], *, blank: int = 0) -> tuple[int, ...]:
    r"""The CTC map :math:`\mathcal B`: merge runs of repeated symbols, then delete blanks.

    Examples:
        >>> from lossbook.sequence import ctc_collapse
        >>> ctc_collapse([1, 1, 0, 1, 2, 2, 0])
        (1, 1, 2)
    """
    out = []
    prev = None
    for s in (int(v) for v in path):
        if s != prev and s != blank:
            out.append(s)
        prev = s
    return tuple(out)


def ctc_min_input_length(target: Sequence[int]) -> int:
    r"""Fewest frames that can emit ``target``: :math:`U + r`, :math:`r` = adjacent repeats.

    A repeated label needs a blank between its two copies (``a a`` collapses to ``a``).

    Examples:
        >>> from lossbook.sequence import ctc_min_input_length
        >>> ctc_min_input_length([1, 1, 2])
        4
    """
    t = [int(v) for v in target]
    return len(t) + sum(a == b for a, b in itertools.pairwise(t))


def ctc_num_alignments(input_length: int, target: Sequence[int]) -> int:
    r"""Number of alignments of ``target`` with ``input_length`` frames: :math:`\binom{T + U - r}{2U}`.

    An alignment is fixed by its run lengths: :math:`U` label runs (each :math:`\ge 1`) and
    :math:`U + 1` blank runs (each :math:`\ge 0`, but :math:`\ge 1` between the :math:`r`
    pairs of equal adjacent labels) summing to :math:`T`; stars and bars gives the count, which
    is 0 when :math:`T < U + r`.

    Examples:
        >>> from lossbook.sequence import ctc_num_alignments
        >>> ctc_num_alignments(3, [1, 2])
        5
    """
    T = _check_int(input_length, "input_length", 0)
    u, r = len(target), ctc_min_input_length(target) - len(target)
    return math.comb(T + u - r, 2 * u) if T >= u + r else 0


def ctc_alignments(target: Sequence[int], input_length: int, *, blank: int = 0) -> torch.Tensor:
    r"""Every frame-level path of length :math:`T` that collapses to ``target``, by brute force.

    Enumerates all :math:`(|\{\text{labels}\}| + 1)^T` sequences over the blank and the
    target's own labels (no other symbol can occur) and keeps those with
    :math:`\mathcal B(\pi) = y`. Exponential in :math:`T`: for tiny cases and checks only.

    Returns:
        An int64 tensor of shape ``(A, T)``, one alignment per row, in lexicographic order.

    Examples:
        >>> from lossbook.sequence import ctc_alignments
        >>> ctc_alignments([1, 2], 3)
        tensor([[0, 1, 2],
                [1, 0, 2],
                [1, 1, 2],
                [1, 2, 0],
                [1, 2, 2]])
    """
    T = _check_int(input_length, "input_length", 0)
    y = tuple(int(v) for v in target)
    symbols = sorted({blank, *y})
    rows = [p for p in itertools.product(symbols, repeat=T) if ctc_collapse(p, blank=blank) == y]
    return torch.tensor(rows, dtype=torch.long).reshape(len(rows), T)


def ctc_brute_force_nll(log_probs, target: Sequence[int], *, blank: int = 0) -> torch.Tensor:
    r"""The CTC loss as an explicit sum over alignments, for tiny cases.

    .. math:: -\log P(y \mid x) = -\log\sum_{\pi \in \mathcal B^{-1}(y)} \prod_t p_{t,\pi_t}

    Args:
        log_probs: per-frame log-probabilities of one sequence, shape ``(T, C)``.
        target: the label sequence (no blanks).

    Returns:
        A scalar, ``inf`` when no alignment exists; differentiable in ``log_probs``.

    Examples:
        >>> import torch
        >>> from lossbook.sequence import ctc_brute_force_nll
        >>> log_probs = torch.full((3, 3), 1 / 3, dtype=torch.float64).log()
        >>> ctc_brute_force_nll(log_probs, [1, 2])
        tensor(1.6864, dtype=torch.float64)
    """
    lp = as_float_tensor(log_probs, "log_probs")
    if lp.dim() != 2:
        raise ValueError(f"log_probs must have shape (T, C); got {tuple(lp.shape)}")
    paths = ctc_alignments(target, lp.shape[0], blank=blank).to(lp.device)
    if paths.shape[0] == 0:
        return (lp.sum() * 0 + math.inf).to(lp.dtype)
    frames = torch.arange(lp.shape[0], device=lp.device)
    return -torch.logsumexp(lp[frames, paths].sum(dim=1), dim=0)


# --------------------------------------------------------------------------- CTC: the loss


def _ctc_inputs(log_probs, targets, input_lengths, target_lengths, blank):
    """Validate CTC arguments in torch's conventions; return batched, padded tensors."""
    lp = as_float_tensor(log_probs, "log_probs")
    if lp.dim() not in (2, 3):
        raise ValueError(f"log_probs must have shape (T, N, C) or (T, C); got {tuple(lp.shape)}")
    batched = lp.dim() == 3
    if not batched:
        lp = lp.unsqueeze(1)
    T, N, C = lp.shape
    blank = _check_int(blank, "blank")
    if not 0 <= blank < C:
        raise ValueError(f"blank must be in [0, {C}) for {C} classes; got {blank}")
    tg = as_index_tensor(targets, "targets", like=lp)
    il = as_index_tensor(input_lengths, "input_lengths", like=lp).reshape(-1).to(lp.device)
    tl = as_index_tensor(target_lengths, "target_lengths", like=lp).reshape(-1).to(lp.device)
    check_same_device(("log_probs", lp), ("targets", tg))
    for name, lengths in (("input_lengths", il), ("target_lengths", tl)):
        if lengths.numel() != N:
            raise ValueError(f"{name} must hold one length per sequence ({N}); got {lengths.numel()}")
        if N and int(lengths.min()) < 0:
            raise ValueError(f"{name} must be non-negative")
    if N and int(il.max()) > T:
        raise ValueError(f"input_lengths must be at most T = {T}; got {int(il.max())}")
    if not batched and tg.dim() == 1 and tg.numel() == int(tl.sum()):
        tg = tg.unsqueeze(0)
    if tg.dim() == 1:  # concatenated targets, as torch accepts them
        if tg.numel() != int(tl.sum()):
            raise ValueError(
                "concatenated targets must have sum(target_lengths) = "
                f"{int(tl.sum())} entries; got {tg.numel()}"
            )
        padded = torch.full((N, int(tl.max()) if N else 0), blank, dtype=torch.long, device=lp.device)
        if N:
            starts = torch.cumsum(tl, 0) - tl
            cols = torch.arange(padded.shape[1], device=lp.device)
            valid = cols < tl[:, None]
            padded[valid] = tg[(starts[:, None] + cols)[valid]]
        tg = padded
    elif tg.dim() != 2 or tg.shape[0] != N:
        raise ValueError(
            f"targets must have shape (N, S) = ({N}, S) or be concatenated; got {tuple(tg.shape)}"
        )
    if N and int(tl.max()) > tg.shape[1]:
        raise ValueError(
            f"target_lengths must be at most targets.shape[1] = {tg.shape[1]}; got {int(tl.max())}"
        )
    cols = torch.arange(tg.shape[1], device=lp.device)
    used = cols < tl[:, None]
    check_class_indices(tg[used], C, "targets")
    if bool((tg[used] == blank).any()):
        raise ValueError(f"targets must not contain the blank index {blank}")
    return lp, tg, il, tl, blank, batched


def _extended(tg: torch.Tensor, tl: torch.Tensor, blank: int):
    """Blank-interleaved labels ``l'`` (N, 2S+1) and the mask of states reachable by a skip."""
    N, S = tg.shape
    ext = torch.full((N, 2 * S + 1), blank, dtype=torch.long, device=tg.device)
    labels = torch.where(torch.arange(S, device=tg.device) < tl[:, None], tg, blank)
    ext[:, 1::2] = labels
    skip = torch.zeros_like(ext, dtype=torch.bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    return ext, skip


def _end_log_likelihood(log_alpha_T: torch.Tensor, tl: torch.Tensor) -> torch.Tensor:
    r""":math:`\log P = \log(\alpha_T(S') + \alpha_T(S' - 1))`, :math:`S' = 2U + 1` (one state if U = 0)."""
    last = (2 * tl).unsqueeze(1)
    a_last = log_alpha_T.gather(1, last).squeeze(1)
    a_prev = log_alpha_T.gather(1, (last - 1).clamp(min=0)).squeeze(1)
    return torch.where(tl > 0, _logsumexp(a_last, a_prev), a_last)


def _ctc_reduce(nll, tl, reduction, zero_infinity):
    feasible = nll < -_INFEASIBLE
    fill = 0.0 if zero_infinity else math.inf
    nll = torch.where(feasible, nll, torch.full_like(nll, fill))
    if reduction == "mean":
        return (nll / tl.clamp(min=1).to(nll.dtype)).mean()
    return reduce(nll, reduction)


def _logsumexp(*xs: torch.Tensor) -> torch.Tensor:
    r""":math:`\log\sum_i e^{x_i}`, elementwise, with the max subtracted.

    Twice differentiable at :data:`LOG_ZERO` arguments (``torch.logaddexp``'s second derivative
    is NaN there), so the reference form has finite second derivatives.
    """
    m = xs[0]
    for x in xs[1:]:
        m = torch.maximum(m, x)
    m = m.detach()
    return m + torch.log(sum(torch.exp(x - m) for x in xs))


def ctc_loss_reference(
    log_probs,
    targets,
    input_lengths,
    target_lengths,
    *,
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> torch.Tensor:
    r"""CTC negative log-likelihood by the plain forward recursion; autograd gives the gradient.

    The readable form of :func:`ctc_loss` (same arguments, same result). With
    :math:`l'` the target with blanks interleaved (:math:`2U + 1` states),

    .. math:: \alpha_1(1) = p_{1,\text{blank}},\ \alpha_1(2) = p_{1,l_1},\qquad
              \alpha_t(s) = p_{t,l'_s}\bigl(\alpha_{t-1}(s) + \alpha_{t-1}(s-1)
              + [\,l'_s \ne \text{blank},\ l'_s \ne l'_{s-2}\,]\,\alpha_{t-1}(s-2)\bigr),

    and :math:`P(y\mid x) = \alpha_T(2U+1) + \alpha_T(2U)` (end in the last label or in the
    final blank). Computed in log space with :data:`LOG_ZERO` for :math:`\log 0`.

    Reference: Graves, Fernández, Gomez & Schmidhuber (2006).

    Examples:
        >>> import torch
        >>> from lossbook.sequence import ctc_loss_reference
        >>> log_probs = torch.full((3, 1, 3), 1 / 3, dtype=torch.float64).log()
        >>> targets, target_lengths = torch.tensor([[1, 2]]), torch.tensor([2])
        >>> ctc_loss_reference(log_probs, targets, torch.tensor([3]), target_lengths, reduction="sum")
        tensor(1.6864, dtype=torch.float64)
    """
    check_reduction(reduction)
    lp, tg, il, tl, blank, _ = _ctc_inputs(log_probs, targets, input_lengths, target_lengths, blank)
    dtype = lp.dtype
    (lp,) = upcast(lp)
    ext, skip = _extended(tg, tl, blank)
    T, N, _ = lp.shape
    if T == 0 or N == 0:
        nll = torch.where(tl == 0, 0.0, math.inf).to(lp) + lp.sum() * 0
        return _ctc_reduce(nll, tl, reduction, zero_infinity).to(dtype)
    emit = lp.gather(2, ext.unsqueeze(0).expand(T, -1, -1))  # (T, N, 2S+1): log p_{t, l'_s}
    zero = torch.full((N, 1), LOG_ZERO, dtype=lp.dtype, device=lp.device)
    start = torch.full_like(emit[0], LOG_ZERO)
    start[:, :2] = 0.0
    alpha = start + emit[0]
    log_p = torch.where(il == 1, _end_log_likelihood(alpha, tl), 0.0)
    for t in range(1, T):
        stay = alpha
        step = torch.cat([zero, alpha[:, :-1]], dim=1)
        jump = torch.where(skip, torch.cat([zero, zero, alpha[:, :-2]], dim=1), LOG_ZERO)
        alpha = _logsumexp(stay, step, jump) + emit[t]
        log_p = torch.where(il == t + 1, _end_log_likelihood(alpha, tl), log_p)
    log_p = torch.where(il == 0, torch.where(tl == 0, 0.0, LOG_ZERO).to(log_p), log_p)
    return _ctc_reduce(-log_p, tl, reduction, zero_infinity).to(dtype)


def _backward_table(emit, skip_add, il, tl):
    """``beta[t, :, :S]`` = log beta_t(s): the paths' probability *after* frame t, so that
    alpha_t(s) beta_t(s) is the total probability of the paths through (t, s)."""
    T, N, S = emit.shape
    beta = torch.full((T, N, S + 2), LOG_ZERO, dtype=emit.dtype, device=emit.device)
    end = torch.full((N, S + 2), LOG_ZERO, dtype=emit.dtype, device=emit.device)
    rows = torch.arange(N, device=emit.device)
    end[rows, 2 * tl] = 0.0
    end[rows, (2 * tl - 1).clamp(min=0)] = torch.where(tl > 0, 0.0, end[rows, 0])
    skip_from = torch.cat([skip_add[:, 2:], skip_add.new_full((N, 2), LOG_ZERO)], dim=1)
    beta[T - 1] = end
    for t in range(T - 2, -1, -1):
        e = beta[t + 1, :, :S] + emit[t + 1]
        nxt = torch.cat([e, e.new_full((N, 2), LOG_ZERO)], dim=1)
        b = torch.logaddexp(nxt[:, :S], nxt[:, 1 : S + 1])
        b = torch.logaddexp(b, nxt[:, 2:] + skip_from)
        beta[t, :, :S] = torch.where((il == t + 1)[:, None], end[:, :S], b)
    return beta


class _CTCAlphaBeta(torch.autograd.Function):
    r"""Per-sequence CTC negative log-likelihood with the :math:`\alpha\beta` gradient."""

    @staticmethod
    def forward(ctx, lp, ext, skip, il, tl):
        T, N, C = lp.shape
        S = ext.shape[1]
        emit = lp.gather(2, ext.unsqueeze(0).expand(T, -1, -1))
        # alpha[t, :, 2:] holds log alpha_t; two log-zero columns in front make the shifts views.
        alpha = torch.full((T, N, S + 2), LOG_ZERO, dtype=lp.dtype, device=lp.device)
        alpha[0, :, 2:4] = emit[0, :, :2]
        skip_add = torch.where(skip, 0.0, LOG_ZERO).to(lp.dtype)
        for t in range(1, T):
            prev = alpha[t - 1]
            a = torch.logaddexp(prev[:, 2:], prev[:, 1:-1])
            a = torch.logaddexp(a, prev[:, :-2] + skip_add)
            torch.add(a, emit[t], out=alpha[t, :, 2:])
        last_t = (il - 1).clamp(min=0)
        log_p = _end_log_likelihood(alpha[last_t, torch.arange(N, device=lp.device), 2:], tl)
        log_p = torch.where(il == 0, torch.where(tl == 0, 0.0, LOG_ZERO).to(log_p), log_p)
        ctx.save_for_backward(lp, ext, skip_add, il, tl, alpha, emit, log_p)
        return -log_p

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_nll):
        lp, ext, skip_add, il, tl, alpha, emit, log_p = ctx.saved_tensors
        T, N, C = lp.shape
        S = ext.shape[1]
        beta = _backward_table(emit, skip_add, il, tl)
        feasible = (log_p > _INFEASIBLE) & (il > 0)
        inside = (torch.arange(T, device=lp.device)[:, None] < il[None, :]) & feasible[None, :]
        log_occupancy = torch.where(
            inside[:, :, None], alpha[:, :, 2:] + beta[:, :, :S] - log_p[None, :, None], LOG_ZERO
        )
        occupancy = torch.exp(log_occupancy) * grad_nll.to(lp.dtype)[None, :, None]
        grad = torch.zeros_like(lp).scatter_add_(2, ext.unsqueeze(0).expand(T, -1, -1), occupancy)
        return -grad, None, None, None, None


def ctc_loss(
    log_probs,
    targets,
    input_lengths,
    target_lengths,
    *,
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> torch.Tensor:
    r"""Connectionist temporal classification loss, :math:`-\log P(y \mid x)`, by forward--backward.

    .. math:: P(y\mid x) = \sum_{\pi \in \mathcal B^{-1}(y)}\prod_{t=1}^{T} p_{t,\pi_t},\qquad
              \frac{\partial(-\log P)}{\partial \log p_{t,k}}
              = -\frac{1}{P(y\mid x)}\sum_{s:\,l'_s = k}\alpha_t(s)\,\beta_t(s)

    with :math:`\alpha` the forward variables of :func:`ctc_loss_reference` and
    :math:`\beta_t(s)` the probability of completing the target from state :math:`s` *after*
    frame :math:`t`. Both are computed in log space, vectorised over the batch (the loop runs
    over time only); the gradient is the exact gradient with respect to ``log_probs`` (a leaf
    tensor passes ``gradcheck``). Through ``log_softmax`` it becomes
    :math:`p_{t,k} - \frac1P\sum_{s:\,l'_s=k}\alpha_t(s)\beta_t(s)` in the logits, which is what
    PyTorch's ``ctc_loss`` returns *directly* as its gradient in ``log_probs``. Second
    derivatives: use :func:`ctc_loss_reference`.

    Args:
        log_probs: :math:`\log p`, shape ``(T, N, C)`` or ``(T, C)`` (normalised over classes,
            e.g. from ``log_softmax``).
        targets: label indices, ``(N, S)`` padded or 1-D concatenated; no blanks.
        input_lengths: frames per sequence, ``(N,)``, each at most ``T``.
        target_lengths: labels per sequence, ``(N,)``.
        blank: the blank's class index, in ``[0, C)``.
        reduction: ``"none"`` (per sequence) | ``"mean"`` (each loss divided by its target
            length, then averaged, as in PyTorch) | ``"sum"``.
        zero_infinity: replace the infinite loss of an infeasible target
            (:math:`T_n < U_n + r_n`) by 0. Either way its gradient is 0, not NaN.

    Returns:
        The loss in ``log_probs``' dtype and on its device.

    Reference: Graves, Fernández, Gomez & Schmidhuber (2006); Graves (2012), ch. 7.

    Examples:
        >>> import torch
        >>> from lossbook.sequence import ctc_loss
        >>> log_probs = torch.full((3, 1, 3), 1 / 3, dtype=torch.float64).log()
        >>> targets, target_lengths = torch.tensor([[1, 2]]), torch.tensor([2])
        >>> ctc_loss(log_probs, targets, torch.tensor([3]), target_lengths, reduction="sum")
        tensor(1.6864, dtype=torch.float64)
    """
    check_reduction(reduction)
    lp, tg, il, tl, blank, _ = _ctc_inputs(log_probs, targets, input_lengths, target_lengths, blank)
    dtype = lp.dtype
    (lpc,) = upcast(lp)
    if lpc.shape[0] == 0 or lpc.shape[1] == 0:
        return ctc_loss_reference(
            log_probs,
            targets,
            input_lengths,
            target_lengths,
            blank=blank,
            reduction=reduction,
            zero_infinity=zero_infinity,
        )
    ext, skip = _extended(tg, tl, blank)
    nll = _CTCAlphaBeta.apply(lpc, ext, skip, il, tl)
    return _ctc_reduce(nll, tl, reduction, zero_infinity).to(dtype)


def ctc_log_alpha_beta(
    log_probs, target: Sequence[int], *, blank: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The forward and backward tables of one sequence, :math:`\log\alpha_t(s)` and :math:`\log\beta_t(s)`.

    Over the :math:`2U + 1` states of :math:`l'` (blank, :math:`y_1`, blank, ..., :math:`y_U`,
    blank): :math:`\alpha_t(s)` is the total probability of the path prefixes
    :math:`\pi_1\dots\pi_t` that can still be completed and sit in state :math:`s` at frame
    :math:`t` (emission at :math:`t` included); :math:`\beta_t(s)` is the probability of the
    frames *after* :math:`t` completing the target from state :math:`s`, with
    :math:`\beta_T(s) = 1` for the last two states. Then for every :math:`t`,
    :math:`\sum_s \alpha_t(s)\beta_t(s) = P(y \mid x)`. The same tables that :func:`ctc_loss`
    computes batched; this single-sequence form is for reading and plotting.

    Returns:
        ``(log_alpha, log_beta)``, each of shape ``(T, 2U + 1)``; :data:`LOG_ZERO` stands for
        :math:`\log 0`.

    Examples:
        >>> import torch
        >>> from lossbook.sequence import ctc_log_alpha_beta
        >>> log_probs = torch.full((3, 3), 1 / 3, dtype=torch.float64).log()
        >>> log_alpha, log_beta = ctc_log_alpha_beta(log_probs, [1, 2])
        >>> log_alpha.shape, log_beta.shape
        (torch.Size([3, 5]), torch.Size([3, 5]))
    """
    lp = as_float_tensor(log_probs, "log_probs")
    if lp.dim() != 2:
        raise ValueError(f"log_probs must have shape (T, C); got {tuple(lp.shape)}")
    T = lp.shape[0]
    tg, tl = torch.tensor([[int(v) for v in target]], dtype=torch.long), torch.tensor([len(target)])
    lp3, tg, il, tl, blank, _ = _ctc_inputs(lp.detach(), tg.reshape(1, -1), [T], tl, blank)
    ext, skip = _extended(tg, tl, blank)
    ctx = type("Ctx", (), {"save_for_backward": lambda self, *t: setattr(self, "saved_tensors", t)})()
    with torch.no_grad():
        _CTCAlphaBeta.forward(ctx, lp3, ext, skip, il, tl)
        lp3, ext, skip_add, il, tl, alpha, emit, log_p = ctx.saved_tensors
        beta = _backward_table(emit, skip_add, il, tl)
    return alpha[:, 0, 2:], beta[:, 0, : ext.shape[1]]


# --------------------------------------------------------------------------- CTC: decoding


def ctc_greedy_decode(log_probs, input_lengths=None, *, blank: int = 0) -> list[tuple[int, ...]]:
    r"""Best-path decoding: :math:`\mathcal B(\arg\max_k p_{t,k})` frame by frame.

    Args:
        log_probs: shape ``(T, N, C)`` or ``(T, C)``.
        input_lengths: frames per sequence (default: all ``T``).

    Returns:
        One label tuple per sequence (a list of length ``N``; length 1 for ``(T, C)`` input).

    The most probable *path* need not collapse to the most probable *labelling*; see
    :func:`ctc_prefix_beam_search`.

    Examples:
        >>> import torch
        >>> from lossbook.sequence import ctc_greedy_decode
        >>> p = torch.tensor([[[0.1, 0.8, 0.1]], [[0.1, 0.8, 0.1]], [[0.8, 0.1, 0.1]], [[0.1, 0.1, 0.8]]])
        >>> ctc_greedy_decode(p.log())
        [(1, 2)]
    """
    lp = as_float_tensor(log_probs, "log_probs")
    if lp.dim() == 2:
        lp = lp.unsqueeze(1)
    if lp.dim() != 3:
        raise ValueError(f"log_probs must have shape (T, N, C) or (T, C); got {tuple(lp.shape)}")
    T, N, C = lp.shape
    blank = _check_int(blank, "blank")
    if not 0 <= blank < C:
        raise ValueError(f"blank must be in [0, {C}) for {C} classes; got {blank}")
    lengths = (
        [T] * N if input_lengths is None else [int(v) for v in torch.as_tensor(input_lengths).reshape(-1)]
    )
    if len(lengths) != N or any(not 0 <= v <= T for v in lengths):
        raise ValueError(f"input_lengths must hold {N} lengths in [0, {T}]")
    best = lp.argmax(dim=2).T.tolist()
    return [ctc_collapse(row[:n], blank=blank) for row, n in zip(best, lengths, strict=True)]


def ctc_prefix_beam_search(
    log_probs, *, beam_width: int = 8, blank: int = 0
) -> list[tuple[tuple[int, ...], float]]:
    r"""Prefix beam search: the ``beam_width`` most probable labellings and their log-probabilities.

    Each prefix :math:`\ell` keeps two log-probabilities, of the frames so far ending in a blank
    (:math:`p_b`) and in its last label (:math:`p_{nb}`); extending by label :math:`k` adds
    :math:`p_b + p_{nb}` (or only :math:`p_b` when :math:`k` repeats the last label, which
    otherwise merges into :math:`\ell`). Without pruning (``beam_width`` at least the number
    of prefixes) the scores are the exact :math:`\log P(\ell \mid x)`.

    Args:
        log_probs: one sequence, shape ``(T, C)``.
        beam_width: prefixes kept after each frame, at least 1.
        blank: the blank's class index.

    Returns:
        ``(labelling, log P)`` pairs, most probable first.

    Reference: Hannun, Maas, Jurafsky & Ng (2014).

    Examples:
        >>> import torch
        >>> from lossbook.sequence import ctc_prefix_beam_search
        >>> p = torch.tensor([[0.1, 0.8, 0.1], [0.8, 0.1, 0.1], [0.1, 0.1, 0.8]], dtype=torch.float64)
        >>> [(labels, round(logp, 4)) for labels, logp in ctc_prefix_beam_search(p.log(), beam_width=2)]
        [((1, 2), -0.4216), ((1,), -2.501)]
    """
    lp = as_float_tensor(log_probs, "log_probs")
    if lp.dim() != 2:
        raise ValueError(f"log_probs must have shape (T, C); got {tuple(lp.shape)}")
    width = _check_int(beam_width, "beam_width", 1)
    C = lp.shape[1]
    blank = _check_int(blank, "blank")
    if not 0 <= blank < C:
        raise ValueError(f"blank must be in [0, {C}) for {C} classes; got {blank}")
    ninf = -math.inf

    def lse(*xs: float) -> float:
        m = max(xs)
        return m if m == ninf else m + math.log(sum(math.exp(x - m) for x in xs))

    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, ninf)}
    for frame in lp.detach().double().cpu().tolist():
        nxt: dict[tuple[int, ...], list[float]] = {}
        for prefix, (pb, pnb) in beams.items():
            total = lse(pb, pnb)
            cell = nxt.setdefault(prefix, [ninf, ninf])
            cell[0] = lse(cell[0], total + frame[blank])
            if prefix:
                cell[1] = lse(cell[1], pnb + frame[prefix[-1]])
            for k in range(C):
                if k == blank:
                    continue
                ext = (*prefix, k)
                cell = nxt.setdefault(ext, [ninf, ninf])
                source = pb if prefix and k == prefix[-1] else total
                cell[1] = lse(cell[1], source + frame[k])
        ranked = sorted(nxt.items(), key=lambda kv: lse(*kv[1]), reverse=True)
        beams = {k: (v[0], v[1]) for k, v in ranked[:width]}
    out = [(prefix, lse(pb, pnb)) for prefix, (pb, pnb) in beams.items()]
    return sorted(out, key=lambda kv: kv[1], reverse=True)
