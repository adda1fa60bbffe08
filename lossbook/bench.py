"""``python -m lossbook.bench``: each loss against the implementation a reader would otherwise pick.

For every case the two implementations run forward and backward on *identical* inputs in one
process: after a warm-up, their repetitions are interleaved (ours, theirs, ours, …) so that a
change in the machine's load hits both alike. The table gives the median time of each, the
spread (the interquartile range relative to the median), the ratio of the medians, and the
peak memory that one forward+backward allocates. Two sizes matter in practice: large tensors
(10⁷ elements, 4096 × 1000 logits), where the arithmetic dominates, and a training loop's
small batch (64 samples), where argument checking and kernel launches dominate.

The peers are the ``torch.nn.functional`` built-ins, and, where torch has none and the field's
library is installed (optional extras that the tests never need), that library; otherwise
the direct formula a reader would write in PyTorch. The thread count is fixed (``--threads``,
default 2) and printed with the machine and versions; ``--json`` writes the results beside the
table. Measurements, never tests: nothing here gates the test suite.

How to run it and read its table: the README's *Benchmarks* section; the committed results are
rendered in the Performance appendix (:doc:`/book/appendix/performance`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = [
    "CASES",
    "TARGETS",
    "Case",
    "cases_for",
    "count_operators",
    "load_results",
    "main",
    "over_target",
    "peak_memory",
    "plot_ratios",
    "results_table",
    "with_target",
    "run_case",
    "time_pair",
]


@dataclass(frozen=True)
class Case:
    """One benchmark: ``ours(*inputs)`` against ``peer(*inputs)``; both return a scalar loss."""

    name: str
    size: str  # "large" or "small"
    inputs: Callable[[torch.device, torch.Generator], tuple]
    ours: Callable[..., torch.Tensor]
    peer: Callable[..., torch.Tensor]
    peer_name: str
    differentiable: tuple[int, ...] = (0,)  # which inputs need a gradient
    same_loss: bool = True  # False where the peer is another loss, timed for scale


# --------------------------------------------------------------------------- inputs


def _pair(shape):
    def make(device, g):
        x = torch.randn(shape, generator=g).to(device)
        y = torch.randn(shape, generator=g).to(device)
        return x, y

    return make


def _probabilities(shape):
    def make(device, g):
        x = torch.randn(shape, generator=g).to(device)
        y = torch.rand(shape, generator=g).to(device)
        return x, y

    return make


def _logits_and_labels(n, c):
    def make(device, g):
        z = torch.randn(n, c, generator=g).to(device)
        y = torch.randint(0, c, (n,), generator=g).to(device)
        return z, y

    return make


def _binary(shape):
    def make(device, g):
        z = torch.randn(shape, generator=g).to(device)
        y = (torch.rand(shape, generator=g) < 0.3).float().to(device)
        return z, y

    return make


def _two_distributions(n, c):
    def make(device, g):
        logq = torch.log_softmax(torch.randn(n, c, generator=g), 1).to(device)
        p = torch.softmax(torch.randn(n, c, generator=g), 1).to(device)
        return logq, p

    return make


def _embeddings(batch, dim, per_class):
    def make(device, g):
        x = F.normalize(torch.randn(batch, dim, generator=g), dim=1).to(device)
        y = torch.arange(batch // per_class).repeat_interleave(per_class).to(device)
        return x, y

    return make


def _triplets(batch, dim):
    def make(device, g):
        return tuple(torch.randn(batch, dim, generator=g).to(device) for _ in range(3))

    return make


def _views(batch, dim):
    def make(device, g):
        z1 = torch.randn(batch, dim, generator=g)
        z2 = z1 + 0.5 * torch.randn(batch, dim, generator=g)
        return z1.to(device), z2.to(device)

    return make


def _ctc(T, N, C, U):
    def make(device, g):
        logits = torch.randn(T, N, C, generator=g)
        log_probs = torch.log_softmax(logits, dim=2).to(device)
        targets = torch.randint(1, C, (N, U), generator=g).to(device)
        input_lengths = torch.full((N,), T, dtype=torch.long).to(device)
        target_lengths = torch.randint(U // 2, U + 1, (N,), generator=g).to(device)
        return log_probs, targets, input_lengths, target_lengths

    return make


def _latent(n, d):
    def make(device, g):
        mu = torch.randn(n, d, generator=g).to(device)
        logvar = (0.5 * torch.randn(n, d, generator=g)).to(device)
        return mu, logvar

    return make


def _masks(n, h, w):
    def make(device, g):
        z = torch.randn(n, h, w, generator=g).to(device)
        t = (torch.rand(n, h, w, generator=g) < 0.3).float().to(device)
        return z, t

    return make


def _cosines_and_labels(n, c):
    def make(device, g):
        e = F.normalize(torch.randn(n, 64, generator=g), dim=1)
        w = F.normalize(torch.randn(c, 64, generator=g), dim=1)
        y = torch.randint(0, c, (n,), generator=g)
        return (0.999 * e @ w.T).to(device), y.to(device)

    return make


def _scores(n, k):
    def make(device, g):
        return torch.randn(n, k, generator=g).to(device), torch.rand(n, k, generator=g).to(device)

    return make


def _policy(n):
    def make(device, g):
        old = -torch.rand(n, generator=g) - 0.1
        new = old + 0.3 * torch.randn(n, generator=g)
        adv = torch.randn(n, generator=g)
        return new.to(device), old.to(device), adv.to(device)

    return make


# --------------------------------------------------------------------------- peers without a built-in


def _quantile_formula(x, y, tau=0.9):
    r = y - x
    return torch.maximum(tau * r, (tau - 1) * r).mean()


def _log_cosh_formula(x, y):
    return torch.log(torch.cosh(x - y)).mean()


def _focal_peer():
    """torchvision's sigmoid focal loss when installed, else its formula written out."""
    try:
        from torchvision.ops import sigmoid_focal_loss

        return (lambda z, y: sigmoid_focal_loss(z, y, alpha=-1, gamma=2.0, reduction="mean")), "torchvision"
    except Exception:  # torchvision absent (or built for another torch)

        def formula(z, y, gamma=2.0):
            p = torch.sigmoid(z)
            ce = F.binary_cross_entropy_with_logits(z, y, reduction="none")
            p_t = p * y + (1 - p) * (1 - y)
            return (ce * (1 - p_t) ** gamma).mean()

        return formula, "formula (torchvision's)"


def _batch_all_mask(x, y, margin=0.2):
    """The textbook batch-all: a (B, B, B) mask of valid triplets, then all their losses."""
    d = torch.cdist(x, x)
    same = y[:, None] == y[None, :]
    pos = same & ~torch.eye(len(y), dtype=torch.bool, device=y.device)
    a, p, n = torch.where(pos[:, :, None] & ~same[:, None, :])
    return torch.relu(d[a, p] - d[a, n] + margin).mean()


def _batch_hard_mask(x, y, margin=0.2):
    d = torch.cdist(x, x)
    same = y[:, None] == y[None, :]
    pos = same & ~torch.eye(len(y), dtype=torch.bool, device=y.device)
    hardest_pos = torch.where(pos, d, torch.zeros_like(d)).amax(1)
    hardest_neg = torch.where(same, torch.full_like(d, float("inf")), d).amin(1)
    return torch.relu(hardest_pos - hardest_neg + margin).mean()


def _simclr_formula(z1, z2, tau=0.1):
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = (z @ z.T / tau).masked_fill(torch.eye(len(z), dtype=torch.bool, device=z.device), float("-inf"))
    n = len(z1)
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(sim, target)


def _kl_standard_normal_formula(mu, logvar):
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    return torch.distributions.kl_divergence(q, p).sum(1).mean()


def _pml_peers():
    """pytorch-metric-learning's triplet losses and NT-Xent, when installed (an optional extra)."""
    try:
        from pytorch_metric_learning import losses, miners, reducers
    except Exception:
        return {}
    triplet = losses.TripletMarginLoss(margin=0.2, reducer=reducers.MeanReducer())
    hard = miners.BatchHardMiner()
    nt = losses.NTXentLoss(temperature=0.1)

    def nt_xent(z1, z2):
        labels = torch.cat([torch.arange(len(z1)), torch.arange(len(z1))]).to(z1.device)
        return nt(torch.cat([z1, z2]), labels)

    return {
        "all": lambda x, y: triplet(x, y),
        "batch_hard": lambda x, y: triplet(x, y, hard(x, y)),
        "nt_xent": nt_xent,
    }


def _dice_formula(z, t, smooth=1.0):
    p = torch.sigmoid(z).flatten(1)
    t = t.flatten(1)
    return (1 - (2 * (p * t).sum(1) + smooth) / (p.sum(1) + t.sum(1) + smooth)).mean()


def _arcface_formula(cos, y, scale=64.0, margin=0.5):
    """The additive angular margin through arccos, as usually written."""
    theta = torch.acos(cos.gather(1, y[:, None]).clamp(-1 + 1e-7, 1 - 1e-7))
    target_logit = torch.where(
        theta + margin < math.pi, torch.cos(theta + margin), torch.cos(theta) - margin * math.sin(margin)
    )
    logits = cos.scatter(1, y[:, None], target_logit) * scale
    return F.cross_entropy(logits, y)


def _listnet_formula(s, t):
    return -(torch.softmax(t, dim=1) * torch.log_softmax(s, dim=1)).sum(1).mean()


def _ppo_formula(logp, old, adv, clip=0.2):
    ratio = torch.exp(logp - old)
    return -torch.min(ratio * adv, ratio.clamp(1 - clip, 1 + clip) * adv).mean()


def _soft_dice_formula(p, t, smooth=1.0):
    p, t = p.flatten(1), t.flatten(1)
    return (1 - (2 * (p * t).sum(1) + smooth) / (p.sum(1) + t.sum(1) + smooth)).mean()


def _listmle_formula(s, t):
    """The Plackett-Luce negative log-likelihood, one log-sum-exp per position."""
    order = torch.sort(t, dim=1, descending=True, stable=True).indices
    s = s.gather(1, order)
    tails = torch.stack([torch.logsumexp(s[:, i:], dim=1) for i in range(s.shape[1])], dim=1)
    return (tails - s).sum(1).mean()


def _reinforce_formula(logp, returns):
    return -(returns.detach() * logp).mean()


def _probabilities_and_masks(n, h, w):
    def make(device, g):
        p = torch.rand(n, h, w, generator=g).to(device)
        t = (torch.rand(n, h, w, generator=g) < 0.3).float().to(device)
        return p, t

    return make


def _returns(n):
    def make(device, g):
        return (-torch.rand(n, generator=g) - 0.1).to(device), torch.randn(n, generator=g).to(device)

    return make


# ---------------------------------------------------------------- Sinkhorn against POT (optional)


def _transport_problem(n):
    """Normalised squared-Euclidean costs between two clouds of ``n`` points, non-uniform weights."""

    def make(device, g):
        x = torch.rand(n, 2, generator=g, dtype=torch.float64)
        y = torch.rand(n, 2, generator=g, dtype=torch.float64)
        c = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
        a = torch.rand(n, generator=g, dtype=torch.float64) + 0.1
        b = torch.rand(n, generator=g, dtype=torch.float64) + 0.1
        return tuple(t.to(device) for t in (c / c.max(), a / a.sum(), b / b.sum()))

    return make


def _sinkhorn_specs(P):
    """lossbook's Sinkhorn (to an L1 marginal error of 1e-9) beside POT's ``sinkhorn_log`` and
    ``sinkhorn_stabilized`` when POT is installed (an optional extra), at the same accuracy: POT
    stops on the L2 norm of the marginal error, so its threshold is 1e-9 / sqrt(n) (L1 <= sqrt(n) L2)."""
    try:
        import ot
    except Exception:
        return []
    specs = []
    for eps in (1e-2, 1e-3):
        ours = lambda c, a, b, e=eps: P.sinkhorn(c, a, b, epsilon=e, tol=1e-9)[0]  # noqa: E731
        for method in ("sinkhorn_log", "sinkhorn_stabilized"):

            def peer(c, a, b, e=eps, m=method):
                # NumPy arrays: POT's fastest path on the CPU (its torch backend is slower there)
                cn, an, bn = (t.cpu().numpy() for t in (c, a, b)) if c.device.type == "cpu" else (c, a, b)
                thr = 1e-9 / math.sqrt(c.shape[0])
                plan = ot.sinkhorn(an, bn, cn, e, method=m, numItermax=100_000, stopThr=thr, warn=False)
                return torch.as_tensor((plan * cn).sum())

            specs.append(
                (
                    f"probabilistic.sinkhorn (eps={eps:g}, vs {method})",
                    ours,
                    peer,
                    f"POT {method}",
                    _transport_problem(500),
                    _transport_problem(100),
                )
            )
    return specs


def _cases() -> list[Case]:
    from . import classification as C
    from . import generative as G
    from . import metric as M
    from . import probabilistic as P
    from . import regression as R
    from . import selection as L
    from . import sequence as S

    focal_peer, focal_name = _focal_peer()
    specs = [
        # name, ours, peer, peer name, inputs(large), inputs(small)
        ("regression.mse", R.mse, F.mse_loss, "F.mse_loss", _pair((10**7,)), _pair((64,))),
        ("regression.mae", R.mae, F.l1_loss, "F.l1_loss", _pair((10**7,)), _pair((64,))),
        ("regression.huber", R.huber, F.huber_loss, "F.huber_loss", _pair((10**7,)), _pair((64,))),
        (
            "regression.quantile",
            lambda x, y: R.quantile(x, y, tau=0.9),
            _quantile_formula,
            "formula",
            _pair((10**7,)),
            _pair((64,)),
        ),
        ("regression.log_cosh", R.log_cosh, _log_cosh_formula, "formula", _pair((10**7,)), _pair((64,))),
        (
            "classification.binary_cross_entropy_with_logits",
            C.binary_cross_entropy_with_logits,
            F.binary_cross_entropy_with_logits,
            "F.binary_cross_entropy_with_logits",
            _probabilities((10**7,)),
            _probabilities((64,)),
        ),
        (
            "classification.cross_entropy",
            C.cross_entropy,
            F.cross_entropy,
            "F.cross_entropy",
            _logits_and_labels(4096, 1000),
            _logits_and_labels(64, 10),
        ),
        (
            "classification.cross_entropy (label_smoothing=0.1)",
            lambda z, y: C.cross_entropy(z, y, label_smoothing=0.1),
            lambda z, y: F.cross_entropy(z, y, label_smoothing=0.1),
            "F.cross_entropy",
            _logits_and_labels(4096, 1000),
            _logits_and_labels(64, 10),
        ),
        (
            "classification.multi_margin",
            C.multi_margin,
            F.multi_margin_loss,
            "F.multi_margin_loss",
            _logits_and_labels(4096, 1000),
            _logits_and_labels(64, 10),
        ),
        (
            "classification.focal",
            lambda z, y: C.focal(z, y, gamma=2.0),
            focal_peer,
            focal_name,
            _binary((10**7,)),
            _binary((64,)),
        ),
        (
            "classification.focal (overhead vs cross-entropy)",
            lambda z, y: C.focal(z, y, gamma=2.0),
            F.binary_cross_entropy_with_logits,
            "F.binary_cross_entropy_with_logits",
            _binary((10**7,)),
            _binary((64,)),
        ),
        (
            "probabilistic.kl_div (batchmean)",
            lambda lq, p: P.kl_div(lq, p, reduction="batchmean"),
            lambda lq, p: F.kl_div(lq, p, reduction="batchmean"),
            "F.kl_div",
            _two_distributions(4096, 1000),
            _two_distributions(64, 10),
        ),
    ]
    specs += [
        (
            "metric.pairwise_distances",
            lambda x, y: M.pairwise_distances(x).sum(),
            lambda x, y: torch.cdist(x, x).sum(),
            "torch.cdist",
            _embeddings(512, 128, 4),
            _embeddings(64, 32, 4),
        ),
        (
            "metric.triplet_margin_loss",
            lambda a, p, n: M.triplet_margin_loss(a, p, n, margin=0.2),
            lambda a, p, n: F.triplet_margin_loss(a, p, n, margin=0.2, eps=0.0),
            "F.triplet_margin_loss",
            _triplets(4096, 128),
            _triplets(64, 32),
        ),
        (
            "metric.triplet_loss (batch-all)",
            lambda x, y: M.triplet_loss(x, y, margin=0.2, mining="all"),
            _batch_all_mask,
            "formula (B³ mask)",
            _embeddings(512, 128, 4),
            _embeddings(64, 32, 4),
        ),
        (
            "metric.triplet_loss (batch-hard)",
            lambda x, y: M.triplet_loss(x, y, margin=0.2, mining="batch_hard"),
            _batch_hard_mask,
            "formula (masked max/min)",
            _embeddings(512, 128, 4),
            _embeddings(64, 32, 4),
        ),
        (
            "metric.nt_xent",
            lambda a, b: M.nt_xent(a, b, temperature=0.1),
            _simclr_formula,
            "formula (SimCLR)",
            _views(512, 128),
            _views(64, 32),
        ),
        (
            "sequence.ctc_loss",
            S.ctc_loss,
            F.ctc_loss,
            "F.ctc_loss",
            _ctc(128, 256, 32, 30),
            _ctc(20, 2, 8, 5),
        ),
        (
            "generative.kl_standard_normal",
            G.kl_standard_normal,
            _kl_standard_normal_formula,
            "torch.distributions",
            _latent(4096, 1000),
            _latent(64, 16),
        ),
    ]
    specs += [
        ("selection.dice", L.dice, _dice_formula, "formula", _masks(16, 256, 256), _masks(8, 32, 32)),
        (
            "selection.arcface",
            L.arcface,
            _arcface_formula,
            "formula (arccos)",
            _cosines_and_labels(4096, 1000),
            _cosines_and_labels(64, 10),
        ),
        ("selection.listnet", L.listnet, _listnet_formula, "formula", _scores(4096, 1000), _scores(64, 10)),
        ("selection.ppo_clip", L.ppo_clip, _ppo_formula, "formula", _policy(10**7), _policy(64)),
    ]
    specs += [
        (
            "selection.soft_dice",
            L.soft_dice,
            _soft_dice_formula,
            "formula",
            _probabilities_and_masks(16, 256, 256),
            _probabilities_and_masks(8, 32, 32),
        ),
        (
            "selection.listmle",
            L.listmle,
            _listmle_formula,
            "formula (a log-sum-exp per position)",
            _scores(1024, 50),
            _scores(64, 10),
        ),
        ("selection.reinforce", L.reinforce, _reinforce_formula, "formula", _returns(10**7), _returns(64)),
    ]
    pml = _pml_peers()
    for mining, label in (("all", "batch-all"), ("batch_hard", "batch-hard")):
        if mining in pml:
            specs.append(
                (
                    f"metric.triplet_loss ({label})",
                    lambda x, y, m=mining: M.triplet_loss(x, y, margin=0.2, mining=m),
                    pml[mining],
                    "pytorch-metric-learning",
                    _embeddings(512, 128, 4),
                    _embeddings(64, 32, 4),
                )
            )
    if "nt_xent" in pml:
        specs.append(
            (
                "metric.nt_xent",
                lambda a, b: M.nt_xent(a, b, temperature=0.1),
                pml["nt_xent"],
                "pytorch-metric-learning",
                _views(512, 128),
                _views(64, 32),
            )
        )
    specs += _sinkhorn_specs(P)
    differentiable = {"generative.kl_standard_normal": (0, 1), "metric.nt_xent": (0, 1)}
    differentiable["metric.triplet_margin_loss"] = (0, 1, 2)
    cases = []
    for name, ours, peer, peer_name, large, small in specs:
        grads = () if name.startswith("probabilistic.sinkhorn") else differentiable.get(name, (0,))
        same = "overhead" not in name
        for size, inputs in (("large", large), ("small", small)):
            cases.append(
                Case(name, size, inputs, ours, peer, peer_name, differentiable=grads, same_loss=same)
            )
    return cases


CASES: list[Case] = []  # filled on first use (importing the chapter modules is not free)


# --------------------------------------------------------------------------- timing


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _forward_backward(fn, inputs, differentiable):
    args = [
        a.detach().requires_grad_(True) if i in differentiable and a.is_floating_point() else a
        for i, a in enumerate(inputs)
    ]
    loss = fn(*args)
    if loss.requires_grad:  # a solver (Sinkhorn) is timed forward only
        loss.backward()
    return loss


@contextlib.contextmanager
def _quiet_stderr():
    """Silence the profiler's start/stop lines, which its C++ side writes to file descriptor 2."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def peak_memory(fn, inputs, differentiable, device: torch.device) -> int:
    """Peak bytes allocated by one forward+backward of ``fn`` (above what was allocated before).

    Examples:
        >>> import torch
        >>> from lossbook.bench import peak_memory
        >>> from lossbook.regression import mse
        >>> x, y = torch.randn(1000), torch.randn(1000)
        >>> peak_memory(mse, (x, y), (0,), torch.device("cpu")) >= 0
        True
    """
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        _forward_backward(fn, inputs, differentiable)
        torch.cuda.synchronize(device)
        return int(torch.cuda.max_memory_allocated(device) - base)
    from torch.profiler import ProfilerActivity, profile

    with _quiet_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        _forward_backward(fn, inputs, differentiable)
    # Every allocation and free is a "[memory]" event with a signed size; the peak is the
    # largest running total.
    events = sorted(
        (e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"),
        key=lambda e: e.start_ns(),
    )
    current = peak = 0
    for e in events:
        current += e.nbytes()
        peak = max(peak, current)
    return int(peak)


def time_pair(case: Case, inputs, device: torch.device, repeats: int, warmup: int = 2):
    """Interleaved timings (seconds) of ``case.ours`` and ``case.peer`` on the same inputs.

    Examples:
        >>> import torch
        >>> import torch.nn.functional as F
        >>> from lossbook.bench import Case, time_pair
        >>> from lossbook.regression import mse
        >>> pair = lambda device, g: (torch.randn(8, generator=g), torch.randn(8, generator=g))
        >>> case = Case("mse", "small", pair, mse, F.mse_loss, "torch")
        >>> ours, peer = time_pair(case, pair("cpu", torch.Generator()), torch.device("cpu"), repeats=3)
        >>> len(ours), len(peer)
        (3, 3)
    """
    fns = (case.ours, case.peer)
    for _ in range(warmup):
        for fn in fns:
            _forward_backward(fn, inputs, case.differentiable)
    _sync(device)
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            _sync(device)
            start = time.perf_counter()
            _forward_backward(fn, inputs, case.differentiable)
            _sync(device)
            times[k].append(time.perf_counter() - start)
    return times


def _spread(samples: list[float]) -> float:
    """The interquartile range relative to the median."""
    q = statistics.quantiles(samples, n=4, method="inclusive")
    return (q[2] - q[0]) / statistics.median(samples)


def run_case(case: Case, device: torch.device, repeats: int) -> dict:
    """Run one :class:`Case`: both values (and whether they agree), the medians, the ratio, the memory.

    The inputs come from ``case.inputs`` with a generator seeded with 0; each implementation
    runs forward and backward ``repeats`` times, interleaved (:func:`time_pair`). Returns a
    dictionary with the case's ``name``, ``size``, input ``shape`` and ``peer``, and the
    measurements the table of :func:`main` prints.

    Examples:
        >>> import torch
        >>> import torch.nn.functional as F
        >>> from lossbook.bench import Case, run_case
        >>> from lossbook.regression import mse
        >>> pair = lambda device, g: (torch.randn(8, generator=g), torch.randn(8, generator=g))
        >>> result = run_case(Case("mse", "small", pair, mse, F.mse_loss, "torch"), torch.device("cpu"), 3)
        >>> result["name"], result["peer"], result["shape"]
        ('mse', 'torch', '8')
    """
    g = torch.Generator().manual_seed(0)
    inputs = case.inputs(device, g)
    ours_value = float(_forward_backward(case.ours, inputs, case.differentiable).detach())
    peer_value = float(_forward_backward(case.peer, inputs, case.differentiable).detach())
    same = math.isclose(ours_value, peer_value, rel_tol=1e-4, abs_tol=1e-6) if case.same_loss else None
    ours, peer = time_pair(case, inputs, device, repeats)
    a, b = statistics.median(ours), statistics.median(peer)
    return {
        "name": case.name,
        "size": case.size,
        "shape": "x".join(str(s) for s in inputs[0].shape),
        "peer": case.peer_name,
        "same_value": same,
        "ours_s": a,
        "peer_s": b,
        "ours_spread": _spread(ours),
        "peer_spread": _spread(peer),
        "ratio": a / b,
        "ours_peak_bytes": peak_memory(case.ours, inputs, case.differentiable, device),
        "peer_peak_bytes": peak_memory(case.peer, inputs, case.differentiable, device),
    }


# --------------------------------------------------------------------------- results

# The targets the book sets the losses of Chapters 2-4: at most this ratio to the built-in.
TARGETS = {"large": 1.2, "small": 2.0}
TARGET_MODULES = ("regression.", "classification.", "probabilistic.")


def cases_for(results: list[dict]) -> list[Case]:
    """The benchmark cases that produced ``results`` (matched by name and size).

    Examples:
        >>> from lossbook.bench import cases_for
        >>> [(c.name, c.size) for c in cases_for([{"name": "regression.mse", "size": "small"}])]
        [('regression.mse', 'small')]
    """
    if not CASES:
        CASES.extend(_cases())
    wanted = {(r["name"], r["size"]) for r in results}
    return [c for c in CASES if (c.name, c.size) in wanted]


def count_operators(fn, inputs) -> int:
    """How many ATen operators one forward call ``fn(*inputs)`` dispatches.

    At a small batch the time of a loss is mostly its number of operators, each a few
    microseconds of dispatch and allocation whatever the size of its tensors; this counts
    them (the forward pass only: the backward pass runs on autograd's own thread).

    Examples:
        >>> import torch
        >>> import torch.nn.functional as F
        >>> from lossbook.bench import count_operators
        >>> count_operators(F.mse_loss, (torch.zeros(4), torch.ones(4)))
        1
    """
    from torch.utils._python_dispatch import TorchDispatchMode

    class _Count(TorchDispatchMode):
        n = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.n += 1
            return func(*args, **(kwargs or {}))

    with torch.no_grad(), _Count() as counter:
        fn(*inputs)
    return counter.n


def load_results(path) -> dict:
    """A results file written by ``python -m lossbook.bench --json FILE``.
    Examples:
        >>> import json, tempfile
        >>> from lossbook.bench import load_results
        >>> with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        ...     json.dump({"environment": {}, "results": []}, f)
        >>> load_results(f.name)["results"]
        []
    """
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict) or not {"environment", "results"} <= set(data):
        raise ValueError(f"path must be a results file of python -m lossbook.bench --json; got {path!r}")
    return data


def with_target(results: list[dict]) -> list[dict]:
    """The results the targets apply to: Chapters 2-4's losses timed against their built-in.

    Examples:
        >>> from lossbook.bench import with_target
        >>> rows = [{"name": "regression.huber", "same_value": True, "peer": "F.huber_loss"},
        ...         {"name": "metric.nt_xent", "same_value": True, "peer": "F.cross_entropy"}]
        >>> [r["name"] for r in with_target(rows)]
        ['regression.huber']
    """
    return [
        r
        for r in results
        if r["name"].startswith(TARGET_MODULES) and r["same_value"] is True and r["peer"].startswith("F.")
    ]


def over_target(results: list[dict]) -> list[dict]:
    """The results of :func:`with_target` whose ratio exceeds ``TARGETS`` for their size.

    Examples:
        >>> from lossbook.bench import over_target
        >>> rows = [{"name": "regression.huber", "same_value": True, "peer": "F.huber_loss",
        ...          "size": "large", "ratio": 1.4}]
        >>> [r["name"] for r in over_target(rows)]
        ['regression.huber']
    """
    return [r for r in with_target(results) if r["ratio"] > TARGETS[r["size"]]]


def results_table(results: list[dict]) -> str:
    """The results as a Markdown table: loss, size, shape, the two medians, ratio, peer.

    Examples:
        >>> from lossbook.bench import results_table
        >>> row = {"name": "regression.mse", "size": "small", "shape": "64", "ours_s": 2e-5,
        ...        "peer_s": 1e-5, "ratio": 2.0, "ours_spread": 0.1, "peer_spread": 0.1, "peer": "F.mse_loss"}
        >>> print(results_table([row]).splitlines()[-1])
        | `regression.mse` | small | 64 | 20 µs | 10 µs | 2.00 | 10 % / 10 % | `F.mse_loss` |
    """
    lines = [
        "| loss | size | shape | lossbook | peer | ratio | spread | peer implementation |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        spread = f"{100 * r['ours_spread']:.0f} % / {100 * r['peer_spread']:.0f} %"
        lines.append(
            f"| `{r['name']}` | {r['size']} | {r['shape'].replace('x', ' × ')} | {_human_time(r['ours_s'])} "
            f"| {_human_time(r['peer_s'])} | {r['ratio']:.2f} | {spread} | `{r['peer']}` |"
        )
    return "\n".join(lines)


def plot_ratios(results: list[dict], axes=None):
    """Bar charts of the ratio (lossbook / peer) per loss, large inputs left, small batches right.

    A dashed line marks each size's target for the losses of Chapters 2-4 (``TARGETS``);
    the ratio axis is logarithmic, so twice as slow and twice as fast are the same distance
    from 1. Returns the axes.

    Examples:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from lossbook.bench import plot_ratios
        >>> row = {"name": "regression.mse", "size": "large", "ratio": 0.9, "same_value": True,
        ...        "peer": "F.mse_loss"}
        >>> [ax.get_title() for ax in plot_ratios([row, {**row, "size": "small"}])]
        ['large inputs', 'small batch (64)']
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FormatStrFormatter, NullFormatter

    from .plotting import FIGSIZE, PALETTE

    names = list(dict.fromkeys(r["name"] for r in results))  # every loss once, in the run's order
    if axes is None:
        _, axes = plt.subplots(
            1, 2, figsize=(FIGSIZE["wide"][0], 1.2 + 0.2 * len(names)), sharey=True, layout="constrained"
        )
    over = over_target(results)
    for ax, size in zip(axes, ("large", "small"), strict=True):
        rows = [r for r in results if r["size"] == size]
        ax.barh(
            [names.index(r["name"]) for r in rows],
            [r["ratio"] for r in rows],
            color=[PALETTE["vermillion"] if r in over else PALETTE["blue"] for r in rows],
        )
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.axvline(1.0, color=PALETTE["grey"], lw=1)
        ax.axvline(TARGETS[size], color=PALETTE["vermillion"], lw=1, ls="--")
        ax.set_xlabel("time ratio, lossbook / peer")
        ax.set_title("large inputs" if size == "large" else "small batch (64)")
    axes[0].set_yticks(range(len(names)), names, fontsize=7)
    axes[0].invert_yaxis()
    return axes


# --------------------------------------------------------------------------- command line


def _progress(done: int, total: int, label: str) -> None:
    width = 24
    filled = round(width * done / total)
    bar = "#" * filled + "-" * (width - filled)
    sys.stderr.write(f"\r[{bar}] {done}/{total} {label[:50]:50s}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _human_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{1e3 * seconds:.2f} ms"
    return f"{1e6 * seconds:.0f} µs"


def _human_bytes(n: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def environment(device: torch.device) -> dict:
    from . import __version__

    env = {
        "lossbook": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": _processor_name(),
        "cpu_count": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "device": str(device),
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
    }
    if device.type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(device)
    return env


def _processor_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def format_table(results: list[dict]) -> str:
    header = (
        f"{'loss':52s} {'size':5s} {'shape':10s} {'lossbook':>10s} {'peer':>10s} "
        f"{'ratio':>6s} {'spread':>13s} {'peak memory':>21s}  peer"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        spread = f"{100 * r['ours_spread']:.0f}%/{100 * r['peer_spread']:.0f}%"
        memory = f"{_human_bytes(r['ours_peak_bytes'])}/{_human_bytes(r['peer_peak_bytes'])}"
        flag = "  (values differ!)" if r["same_value"] is False else ""
        lines.append(
            f"{r['name']:52s} {r['size']:5s} {r['shape']:10s} {_human_time(r['ours_s']):>10s} "
            f"{_human_time(r['peer_s']):>10s} {r['ratio']:6.2f} {spread:>13s} {memory:>21s}  "
            f"{r['peer']}{flag}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m lossbook.bench [options]``: time the cases, print the table, return the exit status.

    Args:
        argv: the command-line arguments (``--device``, ``--filter``, ``--size``, ``--quick``,
            ``--repeats``, ``--threads``, ``--json``; ``--help`` lists them), or ``None`` for
            ``sys.argv[1:]``.

    Examples:
        >>> from lossbook.bench import main
        >>> argv = ["--filter", "regression.mse", "--size", "small", "--repeats", "2", "--device", "cpu"]
        >>> main(argv)  # doctest: +ELLIPSIS
        lossbook ..., device cpu; median of 2 interleaved runs
        ...
        0
    """
    parser = argparse.ArgumentParser(prog="python -m lossbook.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: lossbook.default_device())")
    parser.add_argument("--filter", default="", help="only cases whose name contains this text")
    parser.add_argument("--size", choices=("large", "small", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="3 repetitions, for a first look")
    parser.add_argument("--repeats", type=int, default=None, help="timed repetitions (default 9, quick 3)")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    parser.add_argument("--json", default=None, metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)

    from .device import default_device

    torch.set_num_threads(args.threads)
    device = torch.device(args.device) if args.device else default_device()
    repeats = args.repeats or (3 if args.quick else 9)
    if not CASES:
        CASES.extend(_cases())
    cases = [c for c in CASES if args.filter in c.name and (args.size == "both" or c.size == args.size)]
    if not cases:
        parser.error(f"no benchmark matches --filter {args.filter!r} --size {args.size}")
    env = environment(device)
    print(
        f"lossbook {env['lossbook']}, torch {env['torch']}, {env['processor']}, "
        f"{env['threads']} threads, device {env['device']}; median of {repeats} interleaved runs"
    )
    results = []
    for k, case in enumerate(cases):
        _progress(k, len(cases), f"{case.name} ({case.size})")
        results.append(run_case(case, device, repeats))
    _progress(len(cases), len(cases), "done")
    print(format_table(results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"environment": env, "repeats": repeats, "results": results}, f, indent=1)
            f.write("\n")
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
