"""Classification losses (lossbook.classification), against PyTorch and independent references."""

from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from support import (
    assert_grad_matches_autograd,
    assert_gradcheck,
    assert_reduction_algebra,
)

from lossbook import classification as C
from lossbook import optim

F64 = torch.float64
REDUCTIONS = ("none", "mean", "sum")


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def logits(*shape, seed=0, scale=3.0, dtype=F64):
    return scale * torch.randn(*shape, generator=gen(seed), dtype=dtype)


def labels01(*shape, seed=1, dtype=F64):
    return (torch.rand(*shape, generator=gen(seed)) < 0.5).to(dtype)


def signs(*shape, seed=2, dtype=F64):
    return 2 * labels01(*shape, seed=seed, dtype=dtype) - 1


# ----------------------------------------------------------------------------- primitives


class TestPrimitives:
    @pytest.mark.parametrize("shape,dim", [((5,), -1), ((3, 4), 1), ((3, 4), 0), ((2, 3, 4), 1)])
    def test_logsumexp_softmax_log_softmax_match_torch(self, shape, dim):
        z = logits(*shape, scale=30.0)
        torch.testing.assert_close(C.logsumexp(z, dim=dim), torch.logsumexp(z, dim=dim))
        torch.testing.assert_close(C.softmax(z, dim=dim), torch.softmax(z, dim=dim))
        torch.testing.assert_close(C.log_softmax(z, dim=dim), torch.log_softmax(z, dim=dim))

    def test_logsumexp_against_mpmath(self):
        z = [1000.0, 1001.0, 1002.0]
        exact = float(mpmath.log(sum(mpmath.e ** mpmath.mpf(v) for v in z)))
        assert C.logsumexp(torch.tensor(z, dtype=F64)).item() == pytest.approx(exact, rel=1e-15)

    def test_naive_softmax_overflows_where_stable_one_does_not(self):
        z = torch.tensor([1000.0, 1001.0, 1002.0])
        assert torch.isnan(C.naive_softmax(z)).all()
        p = C.softmax(z)
        e = np.exp(np.array([-2.0, -1.0, 0.0]))
        np.testing.assert_allclose(p.numpy(), e / e.sum(), rtol=1e-6)

    def test_logsumexp_gradient_is_softmax(self):
        z = logits(4, 6).requires_grad_(True)
        C.logsumexp(z, dim=1).sum().backward()
        torch.testing.assert_close(z.grad, torch.softmax(z.detach(), dim=1))

    def test_logsumexp_all_minus_inf_is_minus_inf(self):
        out = C.logsumexp(torch.full((3,), -math.inf))
        assert out.item() == -math.inf

    @pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
    def test_extreme_and_half(self, dtype):
        z = torch.tensor([[-1e4, 0.0, 1e4], [3.0, -2.0, 1.0]]).to(dtype)
        for f in (C.logsumexp, C.softmax, C.log_softmax):
            out = f(z)
            assert out.dtype == dtype and torch.isfinite(out).all()

    def test_integer_input_is_type_error(self):
        with pytest.raises(TypeError, match="^input must be a floating-point"):
            C.softmax(torch.tensor([1, 2, 3]))


# ----------------------------------------------------------------------------- binary cross-entropy


class TestBinaryCrossEntropy:
    @pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 2)])
    @pytest.mark.parametrize("reduction", REDUCTIONS)
    def test_probabilities_match_torch(self, shape, reduction):
        p = torch.rand(*shape, generator=gen(3), dtype=F64)
        y = labels01(*shape)
        torch.testing.assert_close(
            C.binary_cross_entropy(p, y, reduction=reduction),
            F.binary_cross_entropy(p, y, reduction=reduction),
        )

    def test_soft_targets_match_torch(self):
        p = torch.rand(10, generator=gen(4), dtype=F64)
        y = torch.rand(10, generator=gen(5), dtype=F64)
        torch.testing.assert_close(C.binary_cross_entropy(p, y), F.binary_cross_entropy(p, y))

    def test_probabilities_exactly_zero_and_one_are_clamped_like_torch(self):
        p = torch.tensor([0.0, 1.0, 0.0, 1.0], dtype=F64, requires_grad=True)
        y = torch.tensor([0.0, 1.0, 1.0, 0.0], dtype=F64)
        out = C.binary_cross_entropy(p, y, reduction="none")
        torch.testing.assert_close(out, F.binary_cross_entropy(p.detach(), y, reduction="none"))
        assert out.tolist() == [0.0, 0.0, 100.0, 100.0]
        out.sum().backward()
        assert torch.isfinite(p.grad).all()

    def test_probability_gradient_matches_torch_and_closed_form(self):
        p = (0.02 + 0.96 * torch.rand(12, generator=gen(6), dtype=F64)).requires_grad_(True)
        y = labels01(12)
        F.binary_cross_entropy(p, y, reduction="sum").backward()
        assert_grad_matches_autograd(C.binary_cross_entropy, C.binary_cross_entropy_grad, p.detach(), y)
        torch.testing.assert_close(C.binary_cross_entropy_grad(p.detach(), y), p.grad)

    @pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 2)])
    @pytest.mark.parametrize("reduction", REDUCTIONS)
    def test_logits_match_torch(self, shape, reduction):
        z, y = logits(*shape), labels01(*shape)
        torch.testing.assert_close(
            C.binary_cross_entropy_with_logits(z, y, reduction=reduction),
            F.binary_cross_entropy_with_logits(z, y, reduction=reduction),
        )

    @pytest.mark.parametrize("reduction", REDUCTIONS)
    def test_pos_weight_matches_torch(self, reduction):
        z, y = logits(5, 3), torch.rand(5, 3, generator=gen(7), dtype=F64)
        for pw in (torch.tensor([0.5, 2.0, 9.0], dtype=F64), 4.0):
            ref_pw = pw if isinstance(pw, torch.Tensor) else torch.tensor(pw, dtype=F64)
            torch.testing.assert_close(
                C.binary_cross_entropy_with_logits(z, y, pos_weight=pw, reduction=reduction),
                F.binary_cross_entropy_with_logits(z, y, pos_weight=ref_pw, reduction=reduction),
            )

    def test_logit_gradient_matches_torch(self):
        z, y = logits(6, 3), torch.rand(6, 3, generator=gen(8), dtype=F64)
        # (closed form = autograd and gradcheck, also with pos_weight: tests/test_contract.py)
        x = z.clone().requires_grad_(True)
        F.binary_cross_entropy_with_logits(x, y, reduction="sum").backward()
        torch.testing.assert_close(C.binary_cross_entropy_with_logits_grad(z, y), x.grad)

    def test_logits_agree_with_probability_form(self):
        z, y = logits(20, scale=2.0), labels01(20)
        torch.testing.assert_close(
            C.binary_cross_entropy_with_logits(z, y), C.binary_cross_entropy(torch.sigmoid(z), y)
        )


# ----------------------------------------------------------------------------- categorical cross-entropy


CE_SHAPES = [((5,), ()), ((6, 4), (6,)), ((3, 4, 2, 3), (3, 2, 3))]
CE_OPTIONS = [
    {},
    {"weight": True},
    {"label_smoothing": 0.2},
    {"weight": True, "label_smoothing": 0.35},
    {"ignore_index": True},
    {"ignore_index": True, "weight": True, "label_smoothing": 0.1},
]


def _ce_case(in_shape, t_shape, opts, seed=0):
    num_classes = in_shape[0] if len(in_shape) == 1 else in_shape[1]
    z = logits(*in_shape, seed=seed)
    t = torch.randint(0, num_classes, t_shape, generator=gen(seed + 1))
    kw = {}
    if opts.get("weight"):
        kw["weight"] = 0.1 + torch.rand(num_classes, generator=gen(seed + 2), dtype=F64)
    if "label_smoothing" in opts:
        kw["label_smoothing"] = opts["label_smoothing"]
    if opts.get("ignore_index") and t.numel() > 1:
        kw["ignore_index"] = 1
    return z, t, kw


class TestCrossEntropy:
    @pytest.mark.parametrize("in_shape,t_shape", CE_SHAPES)
    @pytest.mark.parametrize("opts", CE_OPTIONS)
    @pytest.mark.parametrize("reduction", REDUCTIONS)
    def test_class_indices_match_torch(self, in_shape, t_shape, opts, reduction):
        z, t, kw = _ce_case(in_shape, t_shape, opts)
        torch.testing.assert_close(
            C.cross_entropy(z, t, reduction=reduction, **kw), F.cross_entropy(z, t, reduction=reduction, **kw)
        )

    @pytest.mark.parametrize("in_shape,t_shape", CE_SHAPES)
    @pytest.mark.parametrize("opts", [o for o in CE_OPTIONS if "ignore_index" not in o])
    @pytest.mark.parametrize("reduction", REDUCTIONS)
    def test_probabilities_match_torch(self, in_shape, t_shape, opts, reduction):
        z, _, kw = _ce_case(in_shape, t_shape, opts)
        cls_dim = 0 if len(in_shape) == 1 else 1
        q = torch.softmax(logits(*in_shape, seed=9), dim=cls_dim)
        torch.testing.assert_close(
            C.cross_entropy(z, q, reduction=reduction, **kw), F.cross_entropy(z, q, reduction=reduction, **kw)
        )

    @pytest.mark.parametrize("in_shape,t_shape", CE_SHAPES)
    @pytest.mark.parametrize("opts", CE_OPTIONS)
    def test_closed_form_gradient_equals_autograd_and_torch(self, in_shape, t_shape, opts):
        z, t, kw = _ce_case(in_shape, t_shape, opts)
        assert_grad_matches_autograd(C.cross_entropy, C.cross_entropy_grad, z, t, **kw)
        x = z.clone().requires_grad_(True)
        F.cross_entropy(x, t, reduction="sum", **kw).backward()
        torch.testing.assert_close(C.cross_entropy_grad(z, t, **kw), x.grad)

    def test_gradient_is_prediction_minus_target(self):
        z = logits(5, 4)
        t = torch.tensor([0, 3, 1, 1, 2])
        expected = torch.softmax(z, 1) - F.one_hot(t, 4).to(F64)
        torch.testing.assert_close(C.cross_entropy_grad(z, t), expected)

    def test_ignored_samples_contribute_nothing(self):
        z = logits(4, 3)
        t = torch.tensor([0, -100, 2, -100])
        none = C.cross_entropy(z, t, reduction="none")
        assert none[1].item() == 0.0 and none[3].item() == 0.0
        torch.testing.assert_close(C.cross_entropy(z, t), none.sum() / 2)

    def test_all_ignored_mean_is_zero_that_backpropagates(self):
        z = logits(3, 4).requires_grad_(True)
        out = C.cross_entropy(z, torch.full((3,), -100))
        assert out.item() == 0.0
        out.backward()
        assert torch.equal(z.grad, torch.zeros(3, 4, dtype=F64))

    def test_label_smoothing_equals_cross_entropy_with_smoothed_targets(self):
        z = logits(6, 5)
        t = torch.randint(0, 5, (6,), generator=gen(3))
        q = C.smooth_labels(t, 5, label_smoothing=0.1).to(F64)
        torch.testing.assert_close(C.cross_entropy(z, t, label_smoothing=0.1), C.cross_entropy(z, q))

    def test_smooth_labels_values(self):
        q = C.smooth_labels(torch.tensor([2]), 5, label_smoothing=0.1)
        torch.testing.assert_close(q, torch.tensor([[0.02, 0.02, 0.92, 0.02, 0.02]]))

    def test_array_likes_are_accepted(self):
        out = C.cross_entropy([[1.0, 2.0, 0.5]], [1])
        torch.testing.assert_close(out, F.cross_entropy(torch.tensor([[1.0, 2.0, 0.5]]), torch.tensor([1])))


# ----------------------------------------------------------------------------- hinge losses


def _ww_reference(z: np.ndarray, t: np.ndarray, margin: float, p: int, w: np.ndarray | None) -> np.ndarray:
    out = np.zeros(len(t))
    for n, (row, y) in enumerate(zip(z, t, strict=True)):
        s = sum(max(0.0, margin - row[y] + row[j]) ** p for j in range(len(row)) if j != y)
        out[n] = s / len(row) * (1.0 if w is None else w[y])
    return out


def _cs_reference(z: np.ndarray, t: np.ndarray, margin: float) -> np.ndarray:
    return np.array(
        [
            max(0.0, margin + max(row[j] for j in range(len(row)) if j != y) - row[y])
            for row, y in zip(z, t, strict=True)
        ]
    )


class TestHinge:
    @pytest.mark.parametrize("shape", [(7,), (3, 4)])
    @pytest.mark.parametrize("margin", [1.0, 0.5])
    def test_binary_against_numpy(self, shape, margin):
        z, y = logits(*shape), signs(*shape)
        ref = np.maximum(0.0, margin - y.numpy() * z.numpy())
        np.testing.assert_allclose(C.hinge(z, y, margin=margin, reduction="none").numpy(), ref)
        assert_reduction_algebra(C.hinge, z, y, margin=margin)

    def test_integer_labels_are_accepted(self):
        z = logits(5)
        y = torch.tensor([1, -1, 1, 1, -1])
        torch.testing.assert_close(C.hinge(z, y), C.hinge(z, y.to(F64)))

    def test_binary_subgradient(self):
        z = torch.tensor([-2.0, 0.3, 0.99, 1.5, 1.0, -1.0], dtype=F64)
        y = torch.tensor([1.0, 1.0, 1.0, 1.0, 1.0, -1.0], dtype=F64)
        assert_grad_matches_autograd(C.hinge, C.hinge_grad, z, y)
        assert C.hinge_grad(z, y).tolist() == [-1.0, -1.0, -1.0, 0.0, 0.0, 0.0]
        zz = torch.tensor([-2.0, 0.3, 1.7], dtype=F64)
        assert_gradcheck(C.hinge, zz, torch.ones(3, dtype=F64))

    @pytest.mark.parametrize("p", [1, 2])
    @pytest.mark.parametrize("margin", [1.0, 0.3])
    @pytest.mark.parametrize("weighted", [False, True])
    @pytest.mark.parametrize("reduction", REDUCTIONS)
    def test_multi_margin_matches_torch(self, p, margin, weighted, reduction):
        z = logits(6, 4, scale=1.0)
        t = torch.randint(0, 4, (6,), generator=gen(4))
        w = 0.2 + torch.rand(4, generator=gen(5), dtype=F64) if weighted else None
        ours = C.multi_margin(z, t, power=p, margin=margin, weight=w, reduction=reduction)
        torch.testing.assert_close(
            ours, F.multi_margin_loss(z, t, p=p, margin=margin, weight=w, reduction=reduction)
        )
        ref = _ww_reference(z.numpy(), t.numpy(), margin, p, None if w is None else w.numpy())
        np.testing.assert_allclose(
            C.multi_margin(z, t, power=p, margin=margin, weight=w, reduction="none").numpy(), ref
        )

    def test_multi_margin_single_sample(self):
        z = logits(5, scale=1.0)
        t = torch.tensor(2)
        torch.testing.assert_close(C.multi_margin(z, t), F.multi_margin_loss(z, t))

    @pytest.mark.parametrize("p", [1, 2])
    def test_multi_margin_gradient(self, p):
        z = logits(6, 4, scale=1.0)
        t = torch.randint(0, 4, (6,), generator=gen(4))
        w = 0.2 + torch.rand(4, generator=gen(5), dtype=F64)
        assert_grad_matches_autograd(C.multi_margin, C.multi_margin_grad, z, t, power=p, weight=w)
        x = z.clone().requires_grad_(True)
        F.multi_margin_loss(x, t, p=p, weight=w, reduction="sum").backward()
        torch.testing.assert_close(C.multi_margin_grad(z, t, power=p, weight=w), x.grad)
        assert_gradcheck(C.multi_margin, z, t, power=p, weight=w)

    @pytest.mark.parametrize("margin", [1.0, 2.0])
    def test_crammer_singer_against_brute_force(self, margin):
        z = logits(8, 5, scale=1.0)
        t = torch.randint(0, 5, (8,), generator=gen(6))
        ref = _cs_reference(z.numpy(), t.numpy(), margin)
        np.testing.assert_allclose(C.crammer_singer_hinge(z, t, margin=margin, reduction="none").numpy(), ref)
        assert_reduction_algebra(C.crammer_singer_hinge, z, t, margin=margin)
        assert_grad_matches_autograd(C.crammer_singer_hinge, C.crammer_singer_hinge_grad, z, t, margin=margin)
        assert_gradcheck(C.crammer_singer_hinge, z, t, margin=margin)

    def test_svm_dual_strong_duality_and_kkt(self):
        g = gen(11)
        y = torch.where(torch.rand(30, generator=g) < 0.5, -1.0, 1.0).double()
        x = torch.randn(30, 2, generator=g, dtype=F64) + 1.2 * y[:, None]
        alpha, w, b, dual = optim.linear_svm_dual(x, y, C=1.0)
        primal = C.svm_primal_objective(torch.from_numpy(w), b, x, y, C=1.0).item()
        assert primal == pytest.approx(dual, rel=1e-6, abs=1e-8)
        assert abs(float(alpha @ y.numpy())) < 1e-8
        margins = y.numpy() * (x.numpy() @ w + b)
        assert np.all(margins[alpha < 1e-6] >= 1 - 1e-4)  # non-support vectors are outside the margin
        assert np.all(margins[alpha > 1 - 1e-6] <= 1 + 1e-4)  # bounded ones are inside it


# ----------------------------------------------------------------------------- focal loss


def _focal_reference(z: float, y: int, alpha: float | None, gamma: float) -> float:
    """Probability-space definition of Lin et al. (2017) in 50-digit arithmetic."""
    mpmath.mp.dps = 50
    p = 1 / (1 + mpmath.e ** (-mpmath.mpf(z)))
    pt = p if y == 1 else 1 - p
    at = 1 if alpha is None else (alpha if y == 1 else 1 - alpha)
    return float(-at * (1 - pt) ** gamma * mpmath.log(pt))


class TestFocal:
    @pytest.mark.parametrize("alpha", [None, 0.25, 0.9])
    @pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 5.0])
    def test_against_high_precision_reference(self, alpha, gamma):
        z, y = logits(12, scale=4.0), labels01(12)
        ours = C.focal(z, y, alpha=alpha, gamma=gamma, reduction="none")
        ref = torch.tensor(
            [_focal_reference(a, int(b), alpha, gamma) for a, b in zip(z.tolist(), y.tolist(), strict=True)],
            dtype=F64,
        )
        torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-300)

    def test_gamma_zero_is_binary_cross_entropy_exactly(self):
        z, y = logits(50, scale=20.0), labels01(50)
        assert torch.equal(
            C.focal(z, y, gamma=0.0, reduction="none"),
            C.binary_cross_entropy_with_logits(z, y, reduction="none"),
        )
        torch.testing.assert_close(C.focal(z, y, gamma=0.0), F.binary_cross_entropy_with_logits(z, y))

    @pytest.mark.parametrize("alpha", [None, 0.25])
    @pytest.mark.parametrize("gamma", [0.0, 0.3, 1.0, 2.0, 3.5])
    def test_closed_form_gradient_equals_autograd(self, alpha, gamma):
        z, y = logits(10), labels01(10)
        assert_grad_matches_autograd(C.focal, C.focal_grad, z, y, alpha=alpha, gamma=gamma)
        assert_gradcheck(C.focal, z, y, alpha=alpha, gamma=gamma)

    @pytest.mark.parametrize("gamma", [0.0, 0.25, 0.5, 0.99, 1.0, 2.0, 5.0])
    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    def test_finite_value_and_gradient_at_extreme_logits(self, gamma, dtype):
        z = torch.tensor([-1e4, -100.0, -30.0, 0.0, 30.0, 100.0, 1e4], dtype=dtype)
        for y in (torch.zeros_like(z), torch.ones_like(z)):
            x = z.clone().requires_grad_(True)
            out = C.focal(x, y, gamma=gamma, reduction="none")
            assert torch.isfinite(out).all()
            out.sum().backward()
            assert torch.isfinite(x.grad).all()
            assert torch.isfinite(C.focal_grad(z, y, gamma=gamma)).all()

    def test_probability_space_form_fails_where_log_space_does_not(self):
        # the naive (1 - p)^gamma * log p has a NaN gradient at a confident correct logit for gamma < 1
        z = torch.tensor([100.0], requires_grad=True)
        p = torch.sigmoid(z)
        (-((1 - p) ** 0.5) * torch.log(p)).sum().backward()
        assert not torch.isfinite(z.grad).all()

    def test_modulating_factor(self):
        assert C.focal_modulating_factor(torch.tensor(0.9, dtype=F64), gamma=2.0).item() == pytest.approx(
            0.01
        )


# ---------------------------------------------------------------------- extreme inputs, dtypes, devices

LOGIT_LOSSES = {
    "bce_logits": (C.binary_cross_entropy_with_logits, "01"),
    "focal": (C.focal, "01"),
    "hinge": (C.hinge, "pm"),
}


def _extreme_logits(dtype):
    return torch.tensor([-1e4, -100.0, -1.0, 0.0, 1.0, 100.0, 1e4], dtype=dtype)


class TestExtremes:
    @pytest.mark.parametrize("name", list(LOGIT_LOSSES))
    @pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
    def test_binary_losses_finite(self, name, dtype):
        loss, kind = LOGIT_LOSSES[name]
        z = _extreme_logits(dtype) if dtype == torch.float32 else _extreme_logits(dtype).clamp(-1e3, 1e3)
        for label in (0.0, 1.0):
            y = torch.full_like(z, label) if kind == "01" else torch.full_like(z, 2 * label - 1)
            x = z.clone().requires_grad_(True)
            out = loss(x, y, reduction="none")
            assert out.dtype == dtype and torch.isfinite(out).all(), (name, dtype, out)
            out.float().sum().backward()
            assert torch.isfinite(x.grad).all()

    @pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
    def test_multiclass_losses_finite(self, dtype):
        big = 1e4 if dtype == torch.float32 else 1e3
        z = torch.tensor([[big, -big, 0.0], [-big, big, 1.0], [0.0, 0.0, 0.0]], dtype=dtype)
        t = torch.tensor([1, 1, 2])
        for loss in (C.cross_entropy, C.multi_margin, C.crammer_singer_hinge):
            x = z.clone().requires_grad_(True)
            out = loss(x, t, reduction="none")
            assert out.dtype == dtype and torch.isfinite(out).all(), (loss.__name__, dtype, out)
            out.float().sum().backward()
            assert torch.isfinite(x.grad).all()
        out = C.cross_entropy(z, t, label_smoothing=0.1, weight=torch.ones(3, dtype=dtype))
        assert torch.isfinite(out)

    def test_float32_cross_entropy_value_at_1e4(self):
        z = torch.tensor([[1e4, -1e4]])
        assert C.cross_entropy(z, torch.tensor([1])).item() == pytest.approx(2e4)
        assert C.binary_cross_entropy_with_logits(
            torch.tensor([1e4]), torch.tensor([0.0])
        ).item() == pytest.approx(1e4)

    def test_half_precision_is_close_to_float32(self):
        z = logits(8, 5, dtype=torch.float32)
        t = torch.randint(0, 5, (8,), generator=gen(1))
        ref = C.cross_entropy(z, t)
        for dtype, tol in ((torch.float16, 1e-2), (torch.bfloat16, 5e-2)):
            out = C.cross_entropy(z.to(dtype), t)
            assert abs(out.float().item() - ref.item()) < tol * max(1.0, ref.item())

    @pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
    def test_runs_on_cuda(self):
        z = logits(4, 3).cuda()
        t = torch.tensor([0, 1, 2, 1], device="cuda")
        torch.testing.assert_close(C.cross_entropy(z, t).cpu(), C.cross_entropy(z.cpu(), t.cpu()))
        assert C.focal(z, labels01(4, 3).cuda()).device.type == "cuda"


# ----------------------------------------------------------------------------- error contract


class TestErrors:
    """What is particular to classification; the contract every loss shares (reduction,
    integer input, shape and device mismatch) is tests/test_contract.py."""

    @pytest.mark.parametrize("loss", [C.cross_entropy, C.multi_margin, C.crammer_singer_hinge])
    def test_float_class_labels_are_type_error(self, loss):
        with pytest.raises(TypeError, match="^target must hold integer class indices"):
            loss(logits(4, 3), torch.tensor([0.0, 1.0, 2.0, 1.0]))

    @pytest.mark.parametrize("loss", [C.cross_entropy, C.multi_margin, C.crammer_singer_hinge])
    @pytest.mark.parametrize("bad", [3, -1])
    def test_class_index_out_of_range_is_index_error(self, loss, bad):
        with pytest.raises(IndexError, match=f"^target holds class index {bad}, outside \\[0, 3\\)"):
            loss(logits(4, 3), torch.tensor([0, bad, 2, 1]))

    def test_smooth_labels_errors(self):
        with pytest.raises(IndexError, match="^target holds class index 5"):
            C.smooth_labels(torch.tensor([5]), 5, label_smoothing=0.1)
        with pytest.raises(TypeError, match="^target must hold integer"):
            C.smooth_labels(torch.tensor([1.0]), 5, label_smoothing=0.1)
        with pytest.raises(ValueError, match="^label_smoothing must be in"):
            C.smooth_labels(torch.tensor([1]), 5, label_smoothing=1.5)
        with pytest.raises(ValueError, match="^num_classes must be a positive int"):
            C.smooth_labels(torch.tensor([1]), 0, label_smoothing=0.1)

    def test_cross_entropy_target_shape(self):
        with pytest.raises(ValueError, match="^target must hold class indices of shape \\(4,\\)"):
            C.cross_entropy(logits(4, 3), torch.tensor([0, 1, 2]))

    def test_cross_entropy_scalar_input(self):
        with pytest.raises(ValueError, match="^input must have a class dimension"):
            C.cross_entropy(torch.tensor(1.0), torch.tensor(0))

    @pytest.mark.parametrize("loss", [C.cross_entropy, C.multi_margin])
    def test_weight_shape(self, loss):
        with pytest.raises(ValueError, match="^weight must have shape \\(3,\\)"):
            loss(logits(4, 3), torch.tensor([0, 1, 2, 1]), weight=torch.ones(4, dtype=F64))

    @pytest.mark.parametrize("eps", [-0.1, 1.1, math.nan])
    def test_label_smoothing_domain(self, eps):
        with pytest.raises(ValueError, match="^label_smoothing must be in \\[0, 1\\]"):
            C.cross_entropy(logits(4, 3), torch.tensor([0, 1, 2, 1]), label_smoothing=eps)

    def test_ignore_index_type(self):
        with pytest.raises(TypeError, match="^ignore_index must be an int"):
            C.cross_entropy(logits(4, 3), torch.tensor([0, 1, 2, 1]), ignore_index=1.0)

    def test_probability_target_range(self):
        with pytest.raises(ValueError, match="^target must hold probabilities in \\[0, 1\\]"):
            C.cross_entropy(logits(2, 3), torch.tensor([[1.5, -0.5, 0.0], [0.2, 0.3, 0.5]], dtype=F64))

    @pytest.mark.parametrize("gamma", [-0.5, math.inf, math.nan])
    def test_focal_gamma(self, gamma):
        with pytest.raises(ValueError, match="^gamma must be non-negative"):
            C.focal(logits(4), labels01(4), gamma=gamma)

    @pytest.mark.parametrize("alpha", [-0.1, 1.5])
    def test_focal_alpha(self, alpha):
        with pytest.raises(ValueError, match="^alpha must be in \\[0, 1\\]"):
            C.focal(logits(4), labels01(4), alpha=alpha)

    def test_focal_labels(self):
        with pytest.raises(ValueError, match="^target must hold binary labels 0 or 1"):
            C.focal(logits(4), torch.tensor([0.0, 0.5, 1.0, 1.0], dtype=F64))

    @pytest.mark.parametrize("loss", [C.hinge, C.multi_margin, C.crammer_singer_hinge])
    @pytest.mark.parametrize("margin", [0.0, -1.0])
    def test_margin_domain(self, loss, margin):
        args = (logits(4), signs(4)) if loss is C.hinge else (logits(4, 3), torch.tensor([0, 1, 2, 1]))
        with pytest.raises(ValueError, match="^margin must be positive"):
            loss(*args, margin=margin)

    def test_hinge_labels(self):
        with pytest.raises(ValueError, match="^target must hold labels -1 or \\+1"):
            C.hinge(logits(4), labels01(4))

    def test_multi_margin_p(self):
        with pytest.raises(ValueError, match="^power must be 1 or 2"):
            C.multi_margin(logits(4, 3), torch.tensor([0, 1, 2, 1]), power=3)

    def test_bce_probability_range(self):
        with pytest.raises(ValueError, match="^input must hold probabilities in \\[0, 1\\]"):
            C.binary_cross_entropy(torch.tensor([0.5, 1.2]), torch.tensor([1.0, 0.0]))

    @pytest.mark.parametrize("loss", [C.binary_cross_entropy, C.binary_cross_entropy_with_logits])
    def test_bce_target_range(self, loss):
        with pytest.raises(ValueError, match="^target must hold values in \\[0, 1\\]"):
            loss(torch.tensor([0.5, 0.2]), torch.tensor([2.0, 0.0]))

    def test_pos_weight(self):
        with pytest.raises(ValueError, match="^pos_weight must hold finite, non-negative weights"):
            C.binary_cross_entropy_with_logits(logits(4), labels01(4), pos_weight=-1.0)
        with pytest.raises(ValueError, match="^pos_weight must have a shape that broadcasts to input's"):
            C.binary_cross_entropy_with_logits(logits(4, 3), labels01(4, 3), pos_weight=torch.ones(4))


# ----------------------------------------------------------------------------- weights


def _weighted_calls(bad):
    """Every weight argument of the chapter, called with the weight ``bad`` (shape (3,))."""
    z, t = logits(4, 3), torch.tensor([0, 1, 2, 1])
    y = labels01(4, 3)
    return {
        "cross_entropy weight": ("weight", lambda: C.cross_entropy(z, t, weight=bad)),
        "multi_margin weight": ("weight", lambda: C.multi_margin(z, t, weight=bad)),
        "bce weight": ("weight", lambda: C.binary_cross_entropy(torch.sigmoid(z), y, weight=bad)),
        "bce_logits weight": ("weight", lambda: C.binary_cross_entropy_with_logits(z, y, weight=bad)),
        "bce_logits pos_weight": (
            "pos_weight",
            lambda: C.binary_cross_entropy_with_logits(z, y, pos_weight=bad),
        ),
    }


class TestWeights:
    @pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf, -math.inf])
    @pytest.mark.parametrize("call", list(_weighted_calls(torch.ones(3))))
    def test_negative_or_non_finite_weight_is_a_value_error(self, call, bad):
        name, fn = _weighted_calls(torch.tensor([1.0, bad, 1.0], dtype=F64))[call]
        with pytest.raises(ValueError, match=f"^{name} must hold finite, non-negative weights"):
            fn()

    def test_negative_class_weight_no_longer_gives_a_negative_loss(self):
        with pytest.raises(
            ValueError, match="^weight must hold finite, non-negative weights; got a minimum of -1"
        ):
            C.cross_entropy(logits(4, 3), torch.tensor([0, 1, 2, 0]), weight=[1.0, -1.0, 1.0])

    @pytest.mark.parametrize("call", list(_weighted_calls(torch.ones(3))))
    def test_wrongly_shaped_weight_is_a_value_error(self, call):
        name, fn = _weighted_calls(torch.ones(2, 2, dtype=F64))[call]
        with pytest.raises(ValueError, match=f"^{name} must have "):
            fn()

    def test_zero_weights_are_allowed(self):
        z, t = logits(4, 3), torch.tensor([0, 1, 2, 1])
        assert float(C.cross_entropy(z, t, weight=torch.tensor([0.0, 1.0, 1.0], dtype=F64))) > 0

    @pytest.mark.parametrize("shape", [(), (3,), (4, 1), (4, 3)])
    @pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
    def test_bce_weight_broadcasts_as_torch(self, shape, reduction):
        z, y = logits(4, 3), torch.rand(4, 3, generator=gen(5), dtype=F64)
        w = torch.rand(shape, generator=gen(6), dtype=F64) + 0.1
        ours = C.binary_cross_entropy_with_logits(z, y, weight=w, pos_weight=2.0, reduction=reduction)
        ref = F.binary_cross_entropy_with_logits(
            z, y, weight=w, pos_weight=torch.tensor(2.0, dtype=F64), reduction=reduction
        )
        torch.testing.assert_close(ours, ref)
        p = torch.sigmoid(z)
        ours = C.binary_cross_entropy(p, y, weight=w, reduction=reduction)
        torch.testing.assert_close(ours, F.binary_cross_entropy(p, y, weight=w, reduction=reduction))

    def test_bce_weight_gradients_equal_autograd(self):
        z, y = logits(4, 3), torch.rand(4, 3, generator=gen(5), dtype=F64)
        w = torch.rand(3, generator=gen(6), dtype=F64)
        assert_grad_matches_autograd(
            C.binary_cross_entropy_with_logits,
            C.binary_cross_entropy_with_logits_grad,
            z,
            y,
            weight=w,
            pos_weight=3.0,
        )
        assert_grad_matches_autograd(
            C.binary_cross_entropy, C.binary_cross_entropy_grad, torch.sigmoid(z), y, weight=w
        )


class TestMultiMarginShapes:
    """The shapes PyTorch's multi_margin_loss accepts beyond (C,) / (N, C), accepted the same way."""

    @pytest.mark.parametrize(
        "z, t",
        [
            (torch.tensor(0.3, dtype=F64), torch.tensor(0)),
            (logits(4), torch.tensor([2])),
            (torch.tensor(0.3, dtype=F64), torch.tensor([0])),
        ],
        ids=["0-d input", "(C,) input, (1,) target", "0-d input, (1,) target"],
    )
    @pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
    def test_as_torch(self, z, t, reduction):
        x = z.clone().requires_grad_(True)
        ours = C.multi_margin(x, t, reduction=reduction)
        ref = F.multi_margin_loss(z, t, reduction=reduction)
        assert ours.shape == ref.shape
        torch.testing.assert_close(ours, ref)
        ours.sum().backward()
        assert C.multi_margin_grad(z, t).shape == z.shape
        torch.testing.assert_close(C.multi_margin_grad(z, t), x.grad)

    def test_negative_margin_says_what_to_pass(self):
        with pytest.raises(ValueError, match=r"^margin must be positive, in \(0, inf\); got -1.0"):
            C.multi_margin(logits(4, 3), torch.tensor([0, 1, 2, 1]), margin=-1.0)

    def test_svm_labels(self):
        with pytest.raises(ValueError, match="^y must hold labels -1 or \\+1"):
            optim.linear_svm_dual(logits(4, 2), labels01(4), C=1.0)
        with pytest.raises(ValueError, match="^C must be positive"):
            optim.linear_svm_dual(logits(4, 2), signs(4), C=0.0)


# ----------------------------------------------------------------------------- properties

finite = st.floats(-50, 50, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(st.lists(finite, min_size=2, max_size=6), st.integers(0, 5), st.floats(-1e3, 1e3))
def test_cross_entropy_is_nonnegative_and_shift_invariant(z, t, c):
    z = torch.tensor(z, dtype=F64)
    t = torch.tensor(t % len(z))
    ce = C.cross_entropy(z, t)
    assert ce.item() >= 0
    torch.testing.assert_close(C.cross_entropy(z + c, t), ce, rtol=1e-9, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.lists(finite, min_size=2, max_size=6), st.integers(0, 5), st.floats(0, 1))
def test_label_smoothing_decomposition(z, t, eps):
    """CE(q_eps, p) = (1 - eps) CE(y, p) + eps KL(u || p) + eps log K."""
    z = torch.tensor(z, dtype=F64)
    k = len(z)
    t = torch.tensor(t % k)
    logp = torch.log_softmax(z, 0)
    kl_u = (-math.log(k) - logp).mean()
    rhs = (1 - eps) * C.cross_entropy(z, t) + eps * kl_u + eps * math.log(k)
    torch.testing.assert_close(C.cross_entropy(z, t, label_smoothing=eps), rhs, rtol=1e-9, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(finite, st.sampled_from([0.0, 1.0]), st.floats(0, 5), st.floats(0, 5))
def test_focal_is_below_bce_and_decreasing_in_gamma(z, y, g1, g2):
    z, y = torch.tensor([z], dtype=F64), torch.tensor([y], dtype=F64)
    lo, hi = sorted((g1, g2))
    bce = C.binary_cross_entropy_with_logits(z, y)
    assert C.focal(z, y, gamma=hi) <= C.focal(z, y, gamma=lo) * (1 + 1e-12) + 1e-300
    assert C.focal(z, y, gamma=lo) <= bce * (1 + 1e-12) + 1e-300


@settings(max_examples=40, deadline=None)
@given(finite, st.sampled_from([-1.0, 1.0]))
def test_hinge_and_logistic_bound_zero_one_loss(z, y):
    z, y = torch.tensor([z], dtype=F64), torch.tensor([y], dtype=F64)
    zero_one = float(y.item() * z.item() <= 0)
    h = C.hinge(z, y).item()
    assert h >= zero_one and h >= 0
    assert (h == 0) == (y.item() * z.item() >= 1)
    logistic = C.binary_cross_entropy_with_logits(z, (y + 1) / 2).item() / math.log(2)
    assert logistic >= zero_one - 1e-12


@settings(max_examples=40, deadline=None)
@given(st.lists(finite, min_size=2, max_size=6), st.integers(0, 5))
def test_weston_watkins_bounds_crammer_singer(z, t):
    z = torch.tensor(z, dtype=F64)
    k = len(z)
    t = torch.tensor(t % k)
    ww_sum = C.multi_margin(z, t).item() * k
    cs = C.crammer_singer_hinge(z, t).item()
    assert cs <= ww_sum + 1e-9 <= (k - 1) * cs + 2e-9


@settings(max_examples=30, deadline=None)
@given(st.lists(finite, min_size=2, max_size=5), st.floats(0.0, 1.0), st.integers(0, 4))
def test_smoothed_gradient_formula(z, eps, t):
    z = torch.tensor(z, dtype=F64)
    k = len(z)
    t = t % k
    g = C.cross_entropy_grad(z, torch.tensor(t), label_smoothing=eps)
    p = torch.softmax(z, 0)
    expected = p - eps / k
    expected[t] = p[t] - 1 + eps * (1 - 1 / k)
    torch.testing.assert_close(g, expected)


def test_parametrised_grid_is_not_empty():
    # guard against a refactor that silently empties the option grids
    assert len(list(itertools.product(CE_SHAPES, CE_OPTIONS))) == 18


# ----------------------------------------------------------------------------- data generator of the chapter


def test_gaussian_classes_shapes_labels_and_determinism():
    from lossbook import data

    x, y = data.gaussian_classes(500, 4, d=6, radius=2.0, seed=3)
    assert x.shape == (500, 6) and y.shape == (500,) and y.dtype == torch.long
    assert set(y.tolist()) == {0, 1, 2, 3}
    x2, y2 = data.gaussian_classes(500, 4, d=6, radius=2.0, seed=3)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    # class means lie on the circle of the stated radius in the first two coordinates
    big_x, big_y = data.gaussian_classes(40_000, 4, d=3, radius=2.0, seed=4)
    for k in range(4):
        mean = big_x[big_y == k].mean(0)
        expected = torch.tensor(
            [2 * math.cos(k * math.pi / 2), 2 * math.sin(k * math.pi / 2), 0.0], dtype=F64
        )
        assert torch.allclose(mean, expected, atol=0.06)


@pytest.mark.parametrize(
    "kwargs,exc",
    [
        ({"num_classes": 1}, ValueError),
        ({"d": 1}, ValueError),
        ({"radius": -1.0}, ValueError),
        ({"n": 0}, ValueError),
    ],
)
def test_gaussian_classes_rejects_bad_arguments(kwargs, exc):
    from lossbook import data

    args = {"n": 10, **kwargs}
    n = args.pop("n")
    with pytest.raises(exc):
        data.gaussian_classes(n, **args)


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 8), st.integers(0, 7), st.floats(0.01, 0.99))
def test_smoothed_target_log_is_a_stationary_point(k, t, eps):
    """The gradient vanishes at z = log y', where the smoothed loss attains its minimum."""
    t = t % k
    q = C.smooth_labels(torch.tensor(t), k, label_smoothing=eps).to(F64)
    z = torch.log(q)
    torch.testing.assert_close(
        C.cross_entropy_grad(z, torch.tensor(t), label_smoothing=eps), torch.zeros(k, dtype=F64)
    )
    assert C.softmax(z)[t].item() == pytest.approx(1 - eps + eps / k)


# ------------------------------------------------------------------- the hinge family in half precision


class TestHingeHalfPrecision:
    """The per-sample terms are formed in float32 and the result cast back, as for the other losses:
    a result that float16 can represent must not overflow on the way."""

    def test_squared_multi_margin_does_not_overflow(self):
        z = torch.tensor([[300.0, 0.0]], dtype=torch.float16)
        out = C.multi_margin(z, torch.tensor([1]), power=2)
        ref = C.multi_margin(z.double(), torch.tensor([1]), power=2)
        assert ref.item() == 45300.5  # 301² / 2: float16 holds it (as 45312, its nearest value)
        assert out.dtype == torch.float16 and out.item() == ref.to(torch.float16).item() == 45312.0
        grad = C.multi_margin_grad(z, torch.tensor([1]), power=2)
        assert grad.dtype == torch.float16
        torch.testing.assert_close(grad.double(), torch.tensor([[301.0, -301.0]], dtype=F64))

    @pytest.mark.parametrize("target", [0, 1, 2])
    @pytest.mark.parametrize(
        "loss, grad, tol",
        [
            # multi_margin: 0, 60001 and 20000, all below float16's 65504 (60001 overflowed before)
            pytest.param(C.multi_margin, C.multi_margin_grad, 1e-3, id="multi_margin"),
            # Crammer-Singer: 0, 120001 (beyond float16, so inf is right) and 60000
            pytest.param(C.crammer_singer_hinge, C.crammer_singer_hinge_grad, 0.0, id="crammer_singer"),
        ],
    )
    def test_at_the_extremes(self, loss, grad, tol, target):
        z = torch.tensor([60000.0, -60000.0, 1.0], dtype=torch.float16)
        t = torch.tensor(target)
        x = z.clone().requires_grad_(True)
        out = loss(x, t)
        ref = loss(z.double(), t)
        assert out.dtype == torch.float16 and out.item() == ref.to(torch.float16).item()
        out.backward()
        torch.testing.assert_close(x.grad.double(), grad(z.double(), t), atol=tol, rtol=tol)
        assert grad(z, t).dtype == torch.float16


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1, 1.0])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_cross_entropy_index_path_equals_the_dense_target_mass(label_smoothing, weighted, reduction):
    """The gather path for class indices gives -sum_c q_c log p_c of the dense definition."""
    g = torch.Generator().manual_seed(5)
    z = torch.randn(6, 4, 3, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, 4, (6, 3), generator=g)
    y[0, 1] = y[3, 2] = -100  # ignored
    w = torch.rand(4, generator=g, dtype=torch.float64) + 0.5 if weighted else None
    fast = C.cross_entropy(z, y, weight=w, label_smoothing=label_smoothing, reduction=reduction)
    zc, q, norm = C._ce_targets(z, y, w, -100, label_smoothing)
    dense = -(q * torch.log_softmax(zc, dim=-1)).sum(dim=-1)
    if reduction == "sum":
        dense = dense.sum()
    elif reduction == "mean":
        dense = dense.sum() / norm.sum()
    torch.testing.assert_close(fast, dense)
    (g_fast,) = torch.autograd.grad(fast.sum(), z)
    (g_dense,) = torch.autograd.grad(dense.sum(), z)
    torch.testing.assert_close(g_fast, g_dense)
