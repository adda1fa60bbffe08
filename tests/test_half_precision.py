"""Half precision at the extremes: every loss is finite wherever its reduced value is representable.

Every loss forms its per-element terms and its reduction in float32 for float16 / bfloat16
input (through :func:`lossbook._numerics.upcast`) and returns the input's dtype. The property,
on every row of ``support.REGISTRY`` that takes half precision: scale the first argument (the
logits, scores, predictions ...) to a largest magnitude of 6 × 10⁴ in float16 (just below its
largest finite value, 65504) and 10³⁰ in bfloat16, and to the square roots of those (where a
squared loss is representable again), evaluate the loss in that dtype, and evaluate it once
more in float64 on the same (rounded) values. Wherever the float64 value fits
in the half dtype, the half result must be finite and of the half dtype.

What float32 cannot promise is declared below with its reason: where a per-element term is a
*square* of a bfloat16 input of 10³⁰, it is 10⁶⁰, beyond float32's range (3.4 × 10³⁸) even
though the reduced loss (a root, a difference of two such squares) may be representable. Those
rows are strict ``xfail``: the day they pass, the declaration must go.
"""

from __future__ import annotations

import pytest
import torch
from support import REGISTRY

F64 = torch.float64
EXTREMES = {torch.float16: 6e4, torch.bfloat16: 1e30}

BOUNDED_INPUT = {
    "classification.binary_cross_entropy": "its input is a probability in [0, 1]",
    "probabilistic.entropy": "its input is a probability distribution",
    "probabilistic.kl_divergence": "its input is a probability distribution",
    "probabilistic.distribution_cross_entropy": "its input is a probability distribution",
    "probabilistic.js_divergence": "its input is a probability distribution",
    "selection.arcface": "its input is a cosine in [-1, 1]",
}
"""Rows whose first argument has a bounded domain: there is no extreme to scale to (the test
checks that the scaled input is indeed rejected with a ValueError)."""

NOT_A_TENSOR = {
    "generative.gradient_penalty": "its first argument is the critic (a module), not a tensor",
}

SQUARES_BEYOND_FLOAT32 = {
    "regression.rmse": "r² of a residual of 10³⁰ is 10⁶⁰ (the root, 5 × 10²⁹, is representable)",
    "metric.triplet_margin_loss": "the squared norms of 10³⁰-sized embeddings are 10⁶⁰",
    "metric.triplet_margin_loss[squared_euclidean, margin=2]": "the squared distances are 10⁶⁰",
}
"""bfloat16 rows (by registry name) whose per-element terms overflow float32 itself (strict xfail)."""


def _base(name: str) -> str:
    return name.split("[", 1)[0]


def _cast(a, dtype):
    return a.to(dtype) if isinstance(a, torch.Tensor) and a.is_floating_point() else a


def _params():
    out = []
    for row in REGISTRY:
        if not row.applies("half"):
            continue
        for dtype in EXTREMES:
            marks = ()
            if dtype == torch.bfloat16 and row.name in SQUARES_BEYOND_FLOAT32:
                marks = pytest.mark.xfail(strict=True, reason=SQUARES_BEYOND_FLOAT32[row.name])
            out.append(
                pytest.param(row, dtype, id=f"{row.name}-{str(dtype).removeprefix('torch.')}", marks=marks)
            )
    return out


def _extreme_args(row, dtype, scale):
    args, kw = row.sample(F64, torch.device("cpu"), torch.Generator().manual_seed(0))
    x = args[0]
    x = x / x.abs().max() * scale
    half = [_cast(x, dtype)] + [_cast(a, dtype) for a in args[1:]]
    half_kw = {k: _cast(v, dtype) for k, v in kw.items()}
    wide = [_cast(a, F64) for a in half]
    wide_kw = {k: _cast(v, F64) for k, v in half_kw.items()}
    return (half, half_kw), (wide, wide_kw)


def test_the_declarations_name_registered_losses():
    bases = {_base(row.name) for row in REGISTRY}
    for table in (BOUNDED_INPUT, NOT_A_TENSOR):
        assert set(table) <= bases, set(table) - bases
    assert set(SQUARES_BEYOND_FLOAT32) <= {row.name for row in REGISTRY}


@pytest.mark.parametrize(("row", "dtype"), _params())
def test_finite_wherever_the_reduced_loss_is_representable(row, dtype):
    base = _base(row.name)
    if base in NOT_A_TENSOR:
        pytest.skip(NOT_A_TENSOR[base])
    if base in BOUNDED_INPUT:
        _, (wide, wide_kw) = _extreme_args(row, dtype, EXTREMES[dtype])
        with pytest.raises(ValueError):
            row.fn(*wide, **wide_kw, **({"reduction": "none"} if row.reductions else {}))
        return
    largest = torch.finfo(dtype).max
    checked = 0
    # the extreme, and its square root (and a tenth of it), where a squared loss fits again
    for (half, half_kw), (wide, wide_kw), reduction in (
        (*_extreme_args(row, dtype, scale), reduction)
        for scale in (EXTREMES[dtype], EXTREMES[dtype] ** 0.5, EXTREMES[dtype] ** 0.5 / 10)
        for reduction in row.reductions or (None,)
    ):
        red = {} if reduction is None else {"reduction": reduction}
        ref = row.fn(*wide, **wide_kw, **red)
        out = row.fn(*half, **half_kw, **red)
        if isinstance(ref, tuple):  # (loss, extras)
            ref, out = ref[0], out[0]
        assert out.dtype == dtype, (reduction, out.dtype)
        representable = torch.isfinite(ref) & (ref.abs() < 0.9 * largest)
        bad = representable & ~torch.isfinite(out.to(F64))
        assert not bool(bad.any()), (reduction, ref[bad] if ref.dim() else ref, out)
        checked += int(representable.sum())
    assert checked > 0, "no representable value was checked"


@pytest.mark.parametrize(
    ("dtype", "slopes", "n"),
    [
        # ||w|| = 180.3: each penalty is 3.2 × 10⁴ (float16 holds up to 65504), their sum over
        # 4 examples 1.3 × 10⁵ is not, their mean is
        (torch.float16, (120.0, 90.0, 100.0), 4),
        # ||w|| = 5 × 10¹⁸: each penalty is 2.5 × 10³⁷, the mean of 8 is representable
        (torch.bfloat16, (3e18, 4e18, 0.0), 8),
        # ||w|| close to 1, where WGAN-GP keeps it: rounding the norm to the half dtype before
        # subtracting 1 leaves nothing of the difference; float32 keeps it
        (torch.float16, (0.6, 0.82), 4),
        (torch.float16, (0.3, 0.4, 0.5, 0.72), 4),
        (torch.bfloat16, (0.6, 0.8), 4),
        (torch.bfloat16, (0.3, 0.4, 0.5, 0.7), 4),
    ],
)
def test_gradient_penalty_is_formed_in_float32(dtype, slopes, n):
    from lossbook.generative import gradient_penalty

    w = torch.tensor(slopes, dtype=dtype)

    def critic(x):  # a linear critic: its gradient is w at every interpolate
        return (x * w).sum(dim=1)

    real, fake = torch.zeros(n, len(slopes), dtype=dtype), torch.ones(n, len(slopes), dtype=dtype)
    exact = (torch.linalg.vector_norm(w.to(F64)) - 1) ** 2
    for reduction, expected in (("mean", exact), ("none", exact.expand(n)), ("sum", n * exact)):
        out = gradient_penalty(
            critic, real, fake, reduction=reduction, generator=torch.Generator().manual_seed(0)
        )
        assert out.dtype == dtype
        if float(expected.max()) < 0.9 * torch.finfo(dtype).max:
            assert bool(torch.isfinite(out).all()), (reduction, out)
            # the float64 value of the same (rounded) slopes, rounded once to the half dtype
            torch.testing.assert_close(out.to(F64), expected.to(dtype).to(F64), rtol=1e-2, atol=0)
        else:  # the sum of float16 penalties is beyond float16 itself
            assert bool(torch.isinf(out).all())
