"""The loss registry and the assertions shared by the test modules (``from support import ...``).

Every loss follows the same contract: the reduction algebra, the error contract
(``reduction``, integer input, shape and device mismatch), dtype/device preservation,
gradcheck in float64 and closed-form gradient = autograd. :data:`REGISTRY` lists every
loss of every chapter module once, with a factory of sample arguments, and
``tests/test_contract.py`` checks the whole contract on each row; the chapter test modules
keep what is particular to their losses (values against references, properties).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pytest
import torch

from lossbook.checks import INFRASTRUCTURE_MODULES, NOT_LOSSES, chapter_modules, public_losses  # noqa: F401

LossFn = Callable[..., torch.Tensor]
REDUCTIONS: tuple[str, ...] = ("none", "mean", "sum")


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


# ============================================================================ the loss registry
#
# One row per loss (or per hyper-parameter setting worth its own row). It drives every shared
# contract test in tests/test_contract.py, and tests/test_contract.py fails if a public loss of a
# chapter module has no row. How to add a loss: write its sample factory (points away from the
# loss's kinks), then append ``Loss("<module>.<name>", fn, grad_or_None, sample, ...)`` to REGISTRY.

ALL_CHECKS: frozenset[str] = frozenset(
    {
        "reduction_algebra",  # sum = none.sum(); mean = none.mean() (or `mean`); grad(mean) = grad(sum)/n
        "reduction_errors",  # an unknown reduction is a ValueError, also on empty input
        "dtype",  # float32 / float64 in, same dtype and device out (value and closed-form gradient)
        "half",  # float16 / bfloat16 in, same dtype out, finite
        "integer_input",  # an integer or boolean first argument is a TypeError naming it
        "integer_target",  # an integer second argument is a TypeError naming it
        "shape_mismatch",  # first argument with an extra trailing dimension: ValueError, no broadcasting
        "device_mismatch",  # second argument on another device: ValueError naming both
        "gradcheck",  # torch.autograd.gradcheck in float64, every reduction
        "grad",  # the closed-form gradient equals autograd (needs `grad`)
        "grad_at_kinks",  # ... also at the kinks, where it returns autograd's subgradient (needs `at_kinks`)
    }
)

Sample = Callable[[torch.dtype, torch.device, torch.Generator], tuple[tuple, dict]]


@dataclass(frozen=True)
class Loss:
    """One row of the registry.

    Attributes:
        name: ``"<chapter module>.<function>"``, plus ``"[setting]"`` for a further row of the
            same function (``"regression.huber[delta=0.3]"``); the test id.
        fn: the loss.
        grad: its closed-form gradient of the *summed* loss in the first argument
            (called with the sample's arguments and keyword arguments, without ``reduction``),
            or ``None``.
        sample: ``sample(dtype, device, generator) -> (args, kwargs)``: arguments for ``fn``
            (the first one floating point, of ``dtype``, on ``device``), drawn from
            ``generator``, away from every kink; ``kwargs`` hold the hyper-parameters.
        reductions: the ``reduction`` values ``fn`` accepts, in the order its error message
            lists them; ``()`` for a function without a ``reduction`` argument.
        arg_names: the names of the positional arguments, as error messages spell them.
        mean: the documented ``"mean"`` normaliser, ``mean(none, args, kwargs)``, where it is
            not ``none.mean()``; ``None`` otherwise.
        at_kinks: a sample factory placed *at* the kinks, for ``grad_at_kinks``; ``None`` to skip.
        skip: ``{check: reason}`` for the checks of :data:`ALL_CHECKS` that do not apply.
    """

    name: str
    fn: LossFn
    grad: Callable[..., torch.Tensor] | None
    sample: Sample
    reductions: tuple[str, ...] = REDUCTIONS
    arg_names: tuple[str, ...] = ("input", "target")
    mean: Callable[[torch.Tensor, tuple, dict], torch.Tensor] | None = None
    at_kinks: Sample | None = None
    skip: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self):
        unknown = set(self.skip) - ALL_CHECKS
        if unknown:
            raise ValueError(f"{self.name}: unknown checks in skip: {sorted(unknown)}")

    def applies(self, check: str) -> bool:
        """Whether ``check`` (one of :data:`ALL_CHECKS`) applies to this row."""
        if check in self.skip:
            return False
        if check in ("reduction_algebra", "reduction_errors") and not self.reductions:
            return False
        if check == "grad" and self.grad is None:
            return False
        if check == "grad_at_kinks" and (self.grad is None or self.at_kinks is None):
            return False
        return True


def _randn(shape, dtype, device, g, scale=1.0):
    return (scale * torch.randn(shape, generator=g, dtype=torch.float64)).to(dtype=dtype, device=device)


def _dist(shape, dtype, device, g):
    p = torch.rand(shape, generator=g, dtype=torch.float64) + 0.05
    return (p / p.sum(-1, keepdim=True)).to(dtype=dtype, device=device)


def _push_away(values: torch.Tensor, kinks, gap=0.05, step=0.1):
    """Move every entry within ``gap`` of a kink by ``step`` (repeated until none is)."""
    for _ in range(10):
        close = torch.zeros_like(values, dtype=torch.bool)
        for k in kinks:
            close |= (values - k).abs() < gap
        if not close.any():
            return values
        values = torch.where(close, values + step, values)
    raise AssertionError("could not move the sample away from the kinks")


# ---------------------------------------------------------------- regression


def _residual_sample(shape=(3, 4), kwargs=None, kinks=(0.0,)):
    """Predictions = targets + residuals, every residual at least 0.05 from ±each kink."""
    kwargs = dict(kwargs or {})

    def sample(dtype, device, g):
        y = torch.randn(shape, generator=g, dtype=torch.float64)
        r = 3 * torch.randn(shape, generator=g, dtype=torch.float64)
        r = _push_away(r, sorted({s * k for k in kinks for s in (1, -1)}))
        return ((y + r).to(dtype=dtype, device=device), y.to(dtype=dtype, device=device)), dict(kwargs)

    return sample


def _residual_kinks(shape=(3, 4), kwargs=None):
    """Ties (r = 0) everywhere, and with ``delta`` residuals exactly at ±delta and -delta."""
    kwargs = dict(kwargs or {})

    def sample(dtype, device, g):
        y = torch.linspace(-1, 1, math.prod(shape), dtype=torch.float64).reshape(shape)
        x = y.clone()
        if "delta" in kwargs:
            x.view(-1)[::2] += kwargs["delta"]
            x.view(-1)[1::4] -= 2 * kwargs["delta"]
        return (x.to(dtype=dtype, device=device), y.to(dtype=dtype, device=device)), dict(kwargs)

    return sample


def _regression_rows() -> list[Loss]:
    from lossbook import regression as R

    rows = []
    for fn, grad, kwargs, label in [
        (R.mse, R.mse_grad, {}, ""),
        (R.mse_reference, R.mse_grad, {}, ""),
        (R.mae, R.mae_grad, {}, ""),
        (R.huber, R.huber_grad, {"delta": 1.0}, ""),
        (R.huber, R.huber_grad, {"delta": 0.3}, "[delta=0.3]"),
        (R.huber_reference, R.huber_grad, {"delta": 1.0}, ""),
        (R.huber_reference, R.huber_grad, {"delta": 0.3}, "[delta=0.3]"),
        (R.quantile, R.quantile_grad, {"tau": 0.9}, "[tau=0.9]"),
        (R.quantile, R.quantile_grad, {"tau": 0.25}, "[tau=0.25]"),
        (R.log_cosh, R.log_cosh_grad, {}, ""),
    ]:
        kinks = (0.0, kwargs["delta"]) if "delta" in kwargs else (0.0,)
        rows.append(
            Loss(
                f"regression.{fn.__name__}{label}",
                fn,
                grad,
                _residual_sample(kwargs=kwargs, kinks=kinks),
                at_kinks=_residual_kinks(kwargs=kwargs),
            )
        )
    rows += [
        Loss("regression.sse", R.sse, R.mse_grad, _residual_sample(), reductions=()),
        Loss("regression.rmse", R.rmse, None, _residual_sample(), reductions=()),
    ]
    return rows


# ---------------------------------------------------------------- classification


def _binary_sample(kind, shape=(4, 3), kwargs=None, probabilities=False, scale=3.0):
    """Logits (or probabilities) with labels in {0, 1} ("01"), {-1, +1} ("pm") or soft in [0, 1]."""
    kwargs = dict(kwargs or {})

    def sample(dtype, device, g):
        z = scale * torch.randn(shape, generator=g, dtype=torch.float64)
        if kind == "soft":
            y = torch.rand(shape, generator=g, dtype=torch.float64)
        else:
            y = (torch.rand(shape, generator=g) < 0.5).double()
            if kind == "pm":
                y = 2 * y - 1
                z = y * _push_away(y * z, [kwargs.get("margin", 1.0)])  # away from the hinge's kink
        x = torch.sigmoid(z) if probabilities else z
        kw = {k: v(dtype, device) if callable(v) else v for k, v in kwargs.items()}
        return (x.to(dtype=dtype, device=device), y.to(dtype=dtype, device=device)), kw

    return sample


def _class_sample(shape=(6, 4), kwargs=None, margin=None, probabilities=False):
    """Scores of shape (N, C) and class indices (N,); with ``margin``, every violation
    ``margin - z_y + z_j`` (j != y) is at least 0.05 from 0 (the hinge's kink)."""
    kwargs = dict(kwargs or {})

    def sample(dtype, device, g):
        z = 3 * torch.randn(shape, generator=g, dtype=torch.float64)
        t = torch.randint(0, shape[-1], shape[:-1], generator=g)
        if margin is not None:
            z_y = z.gather(-1, t[:, None])
            v = _push_away(margin - z_y + z, [0.0])
            z = torch.where(torch.nn.functional.one_hot(t, shape[-1]) == 1, z, v - margin + z_y)
        kw = {k: v(dtype, device) if callable(v) else v for k, v in kwargs.items()}
        target = torch.softmax(torch.randn(shape, generator=g, dtype=torch.float64), -1)
        target = target.to(dtype=dtype, device=device) if probabilities else t.to(device)
        return (z.to(dtype=dtype, device=device), target), kw

    return sample


def _class_weight(dtype, device):
    return torch.tensor([0.5, 2.0, 1.0, 3.0], dtype=dtype, device=device)


def _weighted_mean(none, args, kwargs):
    """cross_entropy's documented normaliser with index targets: sum_n w_{y_n}."""
    return none.sum() / kwargs["weight"][args[1]].sum()


def _classification_rows() -> list[Loss]:
    from lossbook import classification as C

    indices = "its target holds class indices (integers by design)"
    own_shape = "its target has the class-index shape, with its own message (tests/test_classification.py)"
    as_indices = "an integer target is read as class indices (tests/test_classification.py)"
    int_labels = "integer labels are accepted and converted (the documented convention)"
    return [
        Loss(
            "classification.binary_cross_entropy",
            C.binary_cross_entropy,
            C.binary_cross_entropy_grad,
            _binary_sample("01", probabilities=True, scale=2.0),
        ),
        Loss(
            "classification.binary_cross_entropy_with_logits",
            C.binary_cross_entropy_with_logits,
            C.binary_cross_entropy_with_logits_grad,
            _binary_sample("soft"),
        ),
        Loss(
            "classification.binary_cross_entropy_with_logits[pos_weight=3]",
            C.binary_cross_entropy_with_logits,
            C.binary_cross_entropy_with_logits_grad,
            _binary_sample("soft", kwargs={"pos_weight": 3.0}),
        ),
        Loss(
            "classification.binary_cross_entropy_with_logits[pos_weight per class]",
            C.binary_cross_entropy_with_logits,
            C.binary_cross_entropy_with_logits_grad,
            _binary_sample(
                "soft",
                kwargs={"pos_weight": lambda d, dev: torch.tensor([0.5, 2.0, 9.0], dtype=d, device=dev)},
            ),
        ),
        # per-element rescaling `weight=` of both BCEs, broadcast as in torch
        Loss(
            "classification.binary_cross_entropy[weight per class]",
            C.binary_cross_entropy,
            C.binary_cross_entropy_grad,
            _binary_sample(
                "01",
                probabilities=True,
                scale=2.0,
                kwargs={"weight": lambda d, dev: torch.tensor([0.5, 2.0, 0.0], dtype=d, device=dev)},
            ),
        ),
        Loss(
            "classification.binary_cross_entropy_with_logits[weight per row, pos_weight=3]",
            C.binary_cross_entropy_with_logits,
            C.binary_cross_entropy_with_logits_grad,
            _binary_sample(
                "soft",
                kwargs={
                    "weight": lambda d, dev: torch.tensor([[1.0], [0.25], [3.0], [0.0]], dtype=d, device=dev),
                    "pos_weight": 3.0,
                },
            ),
        ),
        Loss(
            "classification.cross_entropy",
            C.cross_entropy,
            C.cross_entropy_grad,
            _class_sample(),
            skip={"integer_target": indices, "shape_mismatch": own_shape},
        ),
        Loss(
            "classification.cross_entropy[weight, label_smoothing=0.2]",
            C.cross_entropy,
            C.cross_entropy_grad,
            _class_sample(kwargs={"weight": _class_weight, "label_smoothing": 0.2}),
            mean=_weighted_mean,
            skip={"integer_target": indices, "shape_mismatch": own_shape},
        ),
        Loss(
            "classification.cross_entropy[probabilities]",
            C.cross_entropy,
            C.cross_entropy_grad,
            _class_sample(probabilities=True),
            skip={"integer_target": as_indices, "shape_mismatch": own_shape},
        ),
        Loss(
            "classification.cross_entropy[probabilities, weight, label_smoothing=0.2]",
            C.cross_entropy,
            C.cross_entropy_grad,
            _class_sample(probabilities=True, kwargs={"weight": _class_weight, "label_smoothing": 0.2}),
            skip={"integer_target": as_indices, "shape_mismatch": own_shape},
        ),
        Loss(
            "classification.hinge",
            C.hinge,
            C.hinge_grad,
            _binary_sample("pm"),
            skip={"integer_target": int_labels},
        ),
        Loss(
            "classification.hinge[margin=0.5]",
            C.hinge,
            C.hinge_grad,
            _binary_sample("pm", kwargs={"margin": 0.5}),
            skip={"integer_target": int_labels},
        ),
        Loss(
            "classification.multi_margin",
            C.multi_margin,
            C.multi_margin_grad,
            _class_sample(margin=1.0),
            skip={"integer_target": indices, "shape_mismatch": own_shape},
        ),
        Loss(
            "classification.multi_margin[power=2, weight]",
            C.multi_margin,
            C.multi_margin_grad,
            _class_sample(margin=1.0, kwargs={"power": 2, "weight": _class_weight}),
            skip={"integer_target": indices, "shape_mismatch": own_shape},
        ),
        Loss(
            "classification.crammer_singer_hinge",
            C.crammer_singer_hinge,
            C.crammer_singer_hinge_grad,
            _class_sample(margin=1.0),
            skip={"integer_target": indices, "shape_mismatch": own_shape},
        ),
        Loss(
            "classification.focal",
            C.focal,
            C.focal_grad,
            _binary_sample("01", kwargs={"alpha": 0.25, "gamma": 2.0}),
            skip={"integer_target": int_labels},
        ),
        Loss(
            "classification.focal[gamma=0.5]",
            C.focal,
            C.focal_grad,
            _binary_sample("01", kwargs={"gamma": 0.5}),
            skip={"integer_target": int_labels},
        ),
    ]


# ---------------------------------------------------------------- probabilistic


def _log_q_and_p(log_target=False, shape=(3, 5)):
    def sample(dtype, device, g):
        p, q = _dist(shape, torch.float64, "cpu", g), _dist(shape, torch.float64, "cpu", g)
        target = p.log() if log_target else p
        kw = {"log_target": True} if log_target else {}
        return (q.log().to(dtype=dtype, device=device), target.to(dtype=dtype, device=device)), kw

    return sample


def _two_distributions(shape=(3, 4), one=False):
    def sample(dtype, device, g):
        p, q = _dist(shape, dtype, device, g), _dist(shape, dtype, device, g)
        return ((p,) if one else (p, q)), {}

    return sample


def _two_gaussians(dtype, device, g):
    mu_p, mu_q = _randn((5,), dtype, device, g), _randn((5,), dtype, device, g)
    std_p = (torch.rand(5, generator=g, dtype=torch.float64) + 0.5).to(dtype=dtype, device=device)
    std_q = (torch.rand(5, generator=g, dtype=torch.float64) + 0.5).to(dtype=dtype, device=device)
    return (mu_p, std_p, mu_q, std_q), {}


def _two_samples(p):
    def sample(dtype, device, g):
        # distinct values, so no two samples tie (where the sort, and so the gradient, jumps)
        u = torch.randperm(20, generator=g)[:7].double() / 4 - 2
        v = torch.randperm(20, generator=g)[:9].double() / 4 - 1.875
        return (u.to(dtype=dtype, device=device), v.to(dtype=dtype, device=device)), {"order": p}

    return sample


def _probabilistic_rows() -> list[Loss]:
    from lossbook import probabilistic as pb

    pq = ("p", "q")
    different_sizes = "the two samples may have different sizes"
    one_argument = "a single argument"
    rows = [
        Loss("probabilistic.kl_div", pb.kl_div, pb.kl_div_grad, _log_q_and_p(), reductions=pb.KL_REDUCTIONS),
        Loss(
            "probabilistic.kl_div[log_target]",
            pb.kl_div,
            pb.kl_div_grad,
            _log_q_and_p(log_target=True),
            reductions=pb.KL_REDUCTIONS,
        ),
        Loss(
            "probabilistic.gaussian_kl",
            pb.gaussian_kl,
            None,
            _two_gaussians,
            arg_names=("mu_p", "std_p", "mu_q", "std_q"),
        ),
        Loss(
            "probabilistic.entropy",
            pb.entropy,
            None,
            _two_distributions(one=True),
            arg_names=("p",),
            skip={
                "integer_target": one_argument,
                "shape_mismatch": one_argument,
                "device_mismatch": one_argument,
            },
        ),
        Loss(
            "probabilistic.wasserstein_1d",
            pb.wasserstein_1d,
            None,
            _two_samples(1.0),
            reductions=(),
            arg_names=("u", "v"),
            skip={"shape_mismatch": different_sizes},
        ),
        Loss(
            "probabilistic.wasserstein_1d[order=2]",
            pb.wasserstein_1d,
            None,
            _two_samples(2.0),
            reductions=(),
            arg_names=("u", "v"),
            skip={"shape_mismatch": different_sizes},
        ),
    ]
    for fn in (pb.kl_divergence, pb.distribution_cross_entropy, pb.js_divergence):
        rows.append(Loss(f"probabilistic.{fn.__name__}", fn, None, _two_distributions(), arg_names=pq))
    return rows


# ---------------------------------------------------------------- metric learning


def _triplet_sample(margin=1.0, distance="euclidean", shape=(5, 3), gap=0.05):
    """Anchor, positive and negative rows with every ``d(a, p) - d(a, n) + margin`` at least
    ``gap`` from 0 (the hinge): each triplet near it gets a fresh negative."""

    def dist(u, v):
        if distance == "cosine":
            return 1 - torch.nn.functional.cosine_similarity(u, v, dim=-1)
        sq = ((u - v) ** 2).sum(-1)
        return sq if distance == "squared_euclidean" else sq.sqrt()

    def sample(dtype, device, g):
        a, p, n = (torch.randn(shape, generator=g, dtype=torch.float64) for _ in range(3))
        for _ in range(20):
            close = (dist(a, p) - dist(a, n) + margin).abs() < gap
            if not close.any():
                break
            n = torch.where(close[:, None], torch.randn(shape, generator=g, dtype=torch.float64), n)
        else:
            raise AssertionError("could not move the triplets away from the hinge")
        args = tuple(t.to(dtype=dtype, device=device) for t in (a, p, n))
        return args, {"margin": margin, "distance": distance}

    return sample


def _pair_sample(margin=2.0, shape=(6, 3), gap=0.05):
    """Pairs ``(x1, x2)`` with labels in {0, 1}; every distance at least ``gap`` from ``margin``
    (the kink of the dissimilar pairs' hinge) and from 0."""

    def sample(dtype, device, g):
        x1 = torch.randn(shape, generator=g, dtype=torch.float64)
        diff = torch.randn(shape, generator=g, dtype=torch.float64)
        d = diff.norm(dim=-1, keepdim=True)
        diff = diff * _push_away(d.clamp_min(gap), [margin], gap=gap) / d
        t = torch.tensor([0, 1] * (shape[0] // 2))[torch.randperm(shape[0], generator=g)]
        x1, x2 = x1.to(dtype=dtype, device=device), (x1 - diff).to(dtype=dtype, device=device)
        return (x1, x2, t.to(device)), {"margin": margin}

    return sample


def _two_views(kwargs, shape=(4, 3)):
    def sample(dtype, device, g):
        z1 = torch.randn(shape, generator=g, dtype=torch.float64)
        z2 = z1 + 0.5 * torch.randn(shape, generator=g, dtype=torch.float64)  # correlated views
        return (z1.to(dtype=dtype, device=device), z2.to(dtype=dtype, device=device)), dict(kwargs)

    return sample


def _scores(dtype, device, g):
    return (_randn((5, 5), dtype, device, g, scale=2.0),), {}


def _labelled_batch(mining="all", distance="euclidean", gap=0.02):
    """Embeddings of a labelled batch and a margin (drawn from candidates) such that every valid
    triplet's ``D_ap - D_an + margin`` and ``D_ap - D_an`` (the miners' thresholds) are at least
    ``gap`` from 0, and batch-hard's arg max / arg min are unique by ``gap``."""
    labels = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2])

    def sample(dtype, device, g):
        from lossbook.metric import pairwise_distances

        for _ in range(50):
            x = torch.randn(len(labels), 3, generator=g, dtype=torch.float64)
            d = pairwise_distances(x, distance=distance)
            same = labels[:, None] == labels[None, :]
            pos = same & ~torch.eye(len(labels), dtype=torch.bool)
            s = (d[:, :, None] - d[:, None, :])[pos[:, :, None] & ~same[:, None, :]]  # D_ap - D_an
            if mining == "batch_hard":
                far = torch.where(pos, d, -1.0).sort(1, descending=True).values
                near = torch.where(~same, d, math.inf).sort(1).values
                if (far[:, 0] - far[:, 1]).min() < gap or (near[:, 1] - near[:, 0]).min() < gap:
                    continue
            if s.abs().min() < gap:
                continue
            for margin in (0.5, 0.4, 0.6, 0.3, 0.7, 0.8, 0.9, 1.0):
                if (s + margin).abs().min() >= gap:
                    kw = {"margin": margin, "mining": mining, "distance": distance}
                    return (x.to(dtype=dtype, device=device), labels.to(device)), kw
        raise AssertionError("could not draw a batch away from the kinks")

    return sample


def _metric_rows() -> list[Loss]:
    from lossbook import metric as M

    labels = "its labels are class indices (integers by design)"
    tuple_grad = "the closed form returns the gradients of (anchor, positive, negative) as a tuple"
    tuple_checked = tuple_grad + "; tests/test_metric.py checks each against autograd"
    matrix = "its first argument must be a 2-D (batch, dim) matrix: an extra dimension is caught first"
    one_argument = "a single argument"
    triplet_names = ("anchor", "positive", "negative")
    rows = [
        Loss(
            f"metric.triplet_margin_loss{label}",
            M.triplet_margin_loss,
            None,
            _triplet_sample(**kwargs),
            arg_names=triplet_names,
        )
        for kwargs, label in [
            ({}, ""),
            ({"distance": "squared_euclidean", "margin": 2.0}, "[squared_euclidean, margin=2]"),
            ({"distance": "cosine", "margin": 0.5}, "[cosine, margin=0.5]"),
        ]
    ]
    rows += [
        Loss(
            f"metric.triplet_margin_loss[{distance}, closed-form grad]",
            M.triplet_margin_loss,
            M.triplet_margin_loss_grad,
            _triplet_sample(distance=distance),
            arg_names=triplet_names,
            skip={
                "grad": tuple_checked,
                "dtype": tuple_grad + " (the value's dtype: the rows without grad)",
                "half": tuple_grad + " (the value in half precision: the rows without grad)",
            },
        )
        for distance in ("euclidean", "squared_euclidean")
    ]
    rows += [
        Loss(
            f"metric.triplet_loss{label}",
            M.triplet_loss,
            None,
            _labelled_batch(**kwargs),
            reductions=M.TRIPLET_REDUCTIONS,
            arg_names=("embeddings", "labels"),
            skip={
                "integer_target": labels,
                "shape_mismatch": "labels have shape (B,), one per row of embeddings, with their own message",
            },
        )
        for kwargs, label in [
            ({}, ""),
            ({"mining": "semihard"}, "[semihard]"),
            ({"mining": "batch_hard", "distance": "squared_euclidean"}, "[batch_hard, squared_euclidean]"),
            ({"distance": "cosine"}, "[cosine]"),
        ]
    ]
    rows += [
        Loss(
            "metric.contrastive_loss",
            M.contrastive_loss,
            M.contrastive_loss_grad,
            _pair_sample(),
            arg_names=("x1", "x2", "target"),
        ),
        Loss(
            "metric.nt_xent",
            M.nt_xent,
            None,
            _two_views({"temperature": 0.5}),
            arg_names=("z1", "z2"),
            skip={"shape_mismatch": matrix},
        ),
        Loss(
            "metric.info_nce",
            M.info_nce,
            None,
            _two_views({"temperature": 0.2}),
            arg_names=("query", "key"),
            skip={"shape_mismatch": matrix},
        ),
        Loss(
            "metric.info_nce_from_scores",
            M.info_nce_from_scores,
            None,
            _scores,
            arg_names=("scores",),
            skip={
                "integer_target": one_argument,
                "shape_mismatch": one_argument,
                "device_mismatch": one_argument,
            },
        ),
    ]
    return rows


# ---------------------------------------------------------------- sequence


def _padded_tokens(shape=(3, 5, 4), ignore_index=None, kwargs=None):
    """Decoder logits (N, T, C) and gold tokens (N, T); with ``ignore_index``, sequences of
    unequal lengths padded with it."""
    kwargs = dict(kwargs or {})

    def sample(dtype, device, g):
        N, T, C = shape
        z = _randn(shape, dtype, device, g, scale=2.0)
        y = torch.randint(int(ignore_index == 0), C, (N, T), generator=g)  # no real token is ignored
        if ignore_index is not None:
            lengths = torch.tensor([T, 2, T - 1][:N])
            y = torch.where(torch.arange(T) < lengths[:, None], y, ignore_index)
            kwargs["ignore_index"] = ignore_index
        return (z, y.to(device)), dict(kwargs)

    return sample


def _token_mean(none, args, kwargs):
    """The "token" average: over the real (not ignored) tokens."""
    return none.sum() / (args[1] != kwargs.get("ignore_index", -100)).sum()


def _sequence_mean(none, args, kwargs):
    """The "sequence" average: the mean over sequences of their per-token means."""
    real = (args[1] != kwargs.get("ignore_index", -100)).sum(1)
    return (none.sum(1) / real).mean()


def _ctc_sample(dtype, device, g):
    """Time-first log-probabilities (T=6, N=3, C=4), padded targets with a repeat, every target feasible."""
    lp = torch.randn(6, 3, 4, generator=g, dtype=torch.float64).log_softmax(-1)
    targets = torch.tensor([[1, 2, 2], [3, 1, 0], [2, 0, 0]])
    input_lengths, target_lengths = torch.tensor([6, 5, 4]), torch.tensor([3, 2, 1])
    rest = (targets, input_lengths, target_lengths)
    return (lp.to(dtype=dtype, device=device), *(t.to(device) for t in rest)), {}


def _ctc_mean(none, args, kwargs):
    """torch's CTC "mean": each sequence's loss divided by its target length, then averaged."""
    return (none / args[3].to(none.dtype)).mean()


def _sequence_rows() -> list[Loss]:
    from lossbook import sequence as S

    tokens = "its targets hold token indices (integers by design)"
    token_shape = "targets have the (N, T) token shape of logits (N, T, C), with their own message"
    ctc_targets = "CTC targets are label indices (integers, torch's convention)"
    ctc_shape = "log_probs (T, N, C) and targets (N, S) differ in shape by design, with their own messages"
    seq_names = ("logits", "targets")
    skip = {"integer_target": tokens, "shape_mismatch": token_shape}
    rows = [
        Loss(
            "sequence.sequence_cross_entropy",
            S.sequence_cross_entropy,
            None,
            _padded_tokens(),
            arg_names=seq_names,
            skip=skip,
        ),
        Loss(
            "sequence.sequence_cross_entropy[padded]",
            S.sequence_cross_entropy,
            None,
            _padded_tokens(ignore_index=-100),
            arg_names=seq_names,
            mean=_token_mean,
            skip=skip,
        ),
        Loss(
            "sequence.sequence_cross_entropy[padded, ignore_index=0, average=sequence]",
            S.sequence_cross_entropy,
            None,
            _padded_tokens(shape=(3, 5, 4), ignore_index=0, kwargs={"average": "sequence"}),
            arg_names=seq_names,
            mean=_sequence_mean,
            skip=skip,
        ),
    ]
    rows += [
        Loss(
            f"sequence.{fn.__name__}",
            fn,
            None,
            _ctc_sample,
            arg_names=("log_probs", "targets"),
            mean=_ctc_mean,
            skip={"integer_target": ctc_targets, "shape_mismatch": ctc_shape},
        )
        for fn in (S.ctc_loss, S.ctc_loss_reference)
    ]
    return rows


# ---------------------------------------------------------------- generative


def _gaussian_posterior(shape=(4, 3)):
    def sample(dtype, device, g):
        return (_randn(shape, dtype, device, g), _randn(shape, dtype, device, g)), {}

    return sample


def _elbo_sample(kwargs=None):
    kwargs = dict(kwargs or {})

    def sample(dtype, device, g):
        recon = (torch.rand(4, generator=g, dtype=torch.float64) * 5 + 1).to(dtype=dtype, device=device)
        mu, logvar = _randn((4, 3), dtype, device, g), _randn((4, 3), dtype, device, g, scale=0.5)
        return (recon, mu, logvar), dict(kwargs)

    return sample


def _logits_sample(n_args, scale=2.0):
    def sample(dtype, device, g):
        return tuple(_randn((4, 3), dtype, device, g, scale=scale) for _ in range(n_args)), {}

    return sample


def _critic_sample(dtype, device, g):
    """A small tanh critic (an ``nn.Sequential``, whose slice ``[:0]`` is still a critic) and
    real and fake batches; the interpolation weights come from a seeded generator."""
    linear1, linear2 = torch.nn.Linear(3, 8), torch.nn.Linear(8, 1)
    with torch.no_grad():
        for layer in (linear1, linear2):
            layer.weight.copy_(torch.randn(layer.weight.shape, generator=g, dtype=torch.float64))
            layer.bias.copy_(torch.randn(layer.bias.shape, generator=g, dtype=torch.float64))
    critic = torch.nn.Sequential(linear1, torch.nn.Tanh(), linear2).to(dtype=dtype, device=device)
    real, fake = _randn((5, 3), dtype, device, g), _randn((5, 3), dtype, device, g)
    return (critic, real, fake), {"generator": torch.Generator().manual_seed(0)}


def _generative_rows() -> list[Loss]:
    from lossbook import generative as G

    one_argument = "a single argument"
    tuple_grad = "the closed form returns the gradients of (mu, logvar) as a tuple"
    critic = "the first argument is the critic, a callable, not a tensor"
    single = {"integer_target": one_argument, "shape_mismatch": one_argument, "device_mismatch": one_argument}
    mu_logvar = ("mu", "logvar")
    elbo_shape = "recon_nll (n,) and mu (n, d) differ in shape by design, with their own message"
    return [
        Loss(
            "generative.kl_standard_normal",
            G.kl_standard_normal,
            None,
            _gaussian_posterior(),
            reductions=G.GAUSSIAN_KL_REDUCTIONS,
            arg_names=mu_logvar,
        ),
        Loss(
            "generative.kl_standard_normal[closed-form grad]",
            G.kl_standard_normal,
            G.kl_standard_normal_grad,
            _gaussian_posterior(),
            reductions=G.GAUSSIAN_KL_REDUCTIONS,
            arg_names=mu_logvar,
            skip={
                "grad": tuple_grad + "; tests/test_generative.py checks both against autograd",
                "dtype": tuple_grad + " (the value's dtype: the row without grad)",
                "half": tuple_grad + " (the value in half precision: the row without grad)",
            },
        ),
        Loss(
            "generative.elbo_loss",
            G.elbo_loss,
            None,
            _elbo_sample(),
            arg_names=("recon_nll", "mu", "logvar"),
            skip={"shape_mismatch": elbo_shape},
        ),
        Loss(
            "generative.elbo_loss[beta=4]",
            G.elbo_loss,
            None,
            _elbo_sample({"beta": 4.0}),
            arg_names=("recon_nll", "mu", "logvar"),
            skip={"shape_mismatch": elbo_shape},
        ),
        Loss(
            "generative.gan_discriminator_loss",
            G.gan_discriminator_loss,
            None,
            _logits_sample(2),
            arg_names=("real_logits", "fake_logits"),
        ),
        Loss(
            "generative.minimax_generator_loss",
            G.minimax_generator_loss,
            G.minimax_generator_loss_grad,
            _logits_sample(1),
            arg_names=("fake_logits",),
            skip=single,
        ),
        Loss(
            "generative.non_saturating_generator_loss",
            G.non_saturating_generator_loss,
            G.non_saturating_generator_loss_grad,
            _logits_sample(1),
            arg_names=("fake_logits",),
            skip=single,
        ),
        Loss(
            "generative.wgan_critic_loss",
            G.wgan_critic_loss,
            None,
            _logits_sample(2),
            arg_names=("real_scores", "fake_scores"),
        ),
        Loss(
            "generative.wgan_generator_loss",
            G.wgan_generator_loss,
            None,
            _logits_sample(1),
            arg_names=("fake_scores",),
            skip=single,
        ),
        Loss(
            "generative.gradient_penalty",
            G.gradient_penalty,
            None,
            _critic_sample,
            arg_names=("critic", "real", "fake"),
            skip={
                "reduction_algebra": critic
                + ", and each call draws new interpolation weights (tests/test_generative.py)",
                "integer_input": critic,
                "shape_mismatch": critic + " (real against fake: tests/test_generative.py)",
                "device_mismatch": critic + " (real and fake are checked against each other)",
                "dtype": critic,
                "gradcheck": "the penalty is detached from real and fake by design; it trains the critic's "
                "parameters (tests/test_generative.py)",
            },
        ),
    ]


# ---------------------------------------------------------------- loss selection


def _mask_sample(logits: bool, shape=(3, 2, 4)):
    """Predictions (logits, or probabilities in (0.05, 0.95)) and soft masks in [0, 1]."""

    def sample(dtype, device, g):
        z = 2 * torch.randn(shape, generator=g, dtype=torch.float64)
        x = z if logits else 0.05 + 0.9 * torch.sigmoid(z)
        t = (torch.rand(shape, generator=g, dtype=torch.float64) < 0.4).double()
        return (x.to(dtype=dtype, device=device), t.to(dtype=dtype, device=device)), {"smooth": 1.0}

    return sample


def _cosine_sample(shape=(5, 4), margin=0.5):
    """Cosines in (-0.75, 0.95), away from the clamp at ±1 and from the fallback's switch at -cos m."""

    def sample(dtype, device, g):
        c = -0.75 + 1.7 * torch.rand(shape, generator=g, dtype=torch.float64)
        t = torch.randint(0, shape[1], shape[:1], generator=g)
        return (c.to(dtype=dtype, device=device), t.to(device)), {"scale": 8.0, "margin": margin}

    return sample


def _list_sample(shape=(3, 5)):
    """Scores and relevances without ties (a tie would make ListMLE's order depend on the list order)."""

    def sample(dtype, device, g):
        s = torch.randn(shape, generator=g, dtype=torch.float64)
        t = torch.stack([torch.randperm(shape[-1], generator=g) for _ in range(shape[0])]).double()
        return (s.to(dtype=dtype, device=device), t.to(dtype=dtype, device=device)), {}

    return sample


def _ordinal_sample(n=6, num_classes=5):
    def sample(dtype, device, g):
        z = 2 * torch.randn(n, num_classes - 1, generator=g, dtype=torch.float64)
        t = torch.randint(0, num_classes, (n,), generator=g)
        return (z.to(dtype=dtype, device=device), t.to(device)), {}

    return sample


def _task_losses_sample(dtype, device, g):
    L = torch.rand(4, generator=g, dtype=torch.float64) * 2 + 0.1
    s = torch.randn(4, generator=g, dtype=torch.float64)
    return (L.to(dtype=dtype, device=device), s.to(dtype=dtype, device=device)), {}


def _policy_sample(with_baseline: bool):
    def sample(dtype, device, g):
        lp = -torch.rand(8, generator=g, dtype=torch.float64) * 2 - 0.05
        ret = 3 * torch.randn(8, generator=g, dtype=torch.float64)
        args = [lp.to(dtype=dtype, device=device), ret.to(dtype=dtype, device=device)]
        if with_baseline:
            args.append(torch.randn(8, generator=g, dtype=torch.float64).to(dtype=dtype, device=device))
        return tuple(args), {}

    return sample


def _ppo_sample(clip_range=0.2, at_kinks=False):
    """New and old log-probabilities whose ratio is at least 0.02 from 1 ± clip_range (or exactly there)."""

    def sample(dtype, device, g):
        old = -torch.rand(10, generator=g, dtype=torch.float64) * 2 - 0.1
        if at_kinks:
            r = torch.tensor([1 - clip_range, 1 + clip_range] * 5, dtype=torch.float64)
        else:
            r = _push_away(
                0.5 + torch.rand(10, generator=g, dtype=torch.float64),
                [1 - clip_range, 1 + clip_range],
                gap=0.02,
                step=0.05,
            )
        adv = _push_away(torch.randn(10, generator=g, dtype=torch.float64), [0.0])
        lp = old + torch.log(r)
        cast = {"dtype": dtype, "device": device}
        return (lp.to(**cast), old.to(**cast), adv.to(**cast)), {"clip_range": clip_range}

    return sample


def _value_sample(clipped: bool):
    def sample(dtype, device, g):
        v = torch.randn(7, generator=g, dtype=torch.float64)
        ret = torch.randn(7, generator=g, dtype=torch.float64)
        cast = {"dtype": dtype, "device": device}
        kwargs = {}
        if clipped:
            # |v - old| at least 0.05 from the clip, and the two squared errors at least apart
            old = v + _push_away(0.6 * torch.randn(7, generator=g, dtype=torch.float64), [-0.3, 0.3])
            kwargs = {"old_values": old.to(**cast), "clip_range": 0.3}
        return (v.to(**cast), ret.to(**cast)), kwargs

    return sample


def _selection_rows() -> list[Loss]:
    from lossbook import selection as S

    indices = "its target holds class indices (integers by design)"
    own_shape = "its target has the class-index shape, with its own message (tests/test_selection.py)"
    return [
        Loss("selection.soft_dice", S.soft_dice, None, _mask_sample(logits=False)),
        Loss("selection.dice", S.dice, None, _mask_sample(logits=True)),
        Loss(
            "selection.arcface",
            S.arcface,
            None,
            _cosine_sample(),
            skip={"integer_target": indices, "shape_mismatch": own_shape},
        ),
        Loss(
            "selection.arcface[margin=0.2]",
            S.arcface,
            None,
            _cosine_sample(margin=0.2),
            skip={"integer_target": indices, "shape_mismatch": own_shape},
        ),
        Loss("selection.listnet", S.listnet, None, _list_sample()),
        Loss("selection.listmle", S.listmle, None, _list_sample()),
        Loss(
            "selection.coral",
            S.coral,
            None,
            _ordinal_sample(),
            skip={"integer_target": indices, "shape_mismatch": own_shape},
        ),
        Loss(
            "selection.uncertainty_weighting",
            S.uncertainty_weighting,
            None,
            _task_losses_sample,
            reductions=("none", "mean", "sum"),
            arg_names=("losses", "log_vars"),
        ),
        Loss(
            "selection.reinforce",
            S.reinforce,
            None,
            _policy_sample(False),
            arg_names=("log_probs", "returns"),
        ),
        Loss(
            "selection.reinforce[baseline]",
            S.reinforce,
            None,
            _policy_sample(True),
            arg_names=("log_probs", "returns"),
        ),
        Loss(
            "selection.ppo_clip",
            S.ppo_clip,
            S.ppo_clip_grad,
            _ppo_sample(),
            arg_names=("log_probs", "old_log_probs"),
            at_kinks=_ppo_sample(at_kinks=True),
        ),
        Loss("selection.ppo_value", S.ppo_value, None, _value_sample(False), arg_names=("values", "returns")),
        Loss(
            "selection.ppo_value[clip_range=0.3]",
            S.ppo_value,
            None,
            _value_sample(True),
            arg_names=("values", "returns"),
        ),
    ]


REGISTRY: tuple[Loss, ...] = tuple(
    _regression_rows()
    + _classification_rows()
    + _probabilistic_rows()
    + _metric_rows()
    + _sequence_rows()
    + _generative_rows()
    + _selection_rows()
)
"""Every loss of every chapter module, with what the shared contract tests need."""


# ---------------------------------------------------------------- what counts as a loss
# One rule for the package and its tests: lossbook.checks defines the chapter modules, their
# public losses and the public functions that are not losses (NOT_LOSSES, each with a reason).
