"""Stable primitives (lossbook._numerics)."""

import math

import mpmath
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from lossbook import _numerics as n


def test_upcast_half_only():
    h = torch.ones(2, dtype=torch.float16)
    b = torch.ones(2, dtype=torch.bfloat16)
    d = torch.ones(2, dtype=torch.float64)
    i = torch.ones(2, dtype=torch.int64)
    out = n.upcast(h, b, d, i)
    assert [t.dtype for t in out] == [torch.float32, torch.float32, torch.float64, torch.int64]


def test_safe_sqrt_value_and_gradient_at_zero():
    x = torch.tensor([0.0, 4.0], dtype=torch.float64, requires_grad=True)
    y = n.safe_sqrt(x)
    assert y.tolist() == [0.0, 2.0]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.25]
    # the naive version really does produce an infinite gradient there
    x2 = torch.tensor([0.0], requires_grad=True)
    torch.sqrt(x2).sum().backward()
    assert torch.isinf(x2.grad).all()


def test_safe_norm_gradient_is_finite_at_origin():
    x = torch.zeros(3, 4, requires_grad=True)
    n.safe_norm(x).sum().backward()
    assert torch.equal(x.grad, torch.zeros(3, 4))


def test_safe_norm_matches_linalg_away_from_zero():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 7, generator=g, dtype=torch.float64)
    torch.testing.assert_close(n.safe_norm(x, dim=1), torch.linalg.vector_norm(x, dim=1))
    torch.testing.assert_close(
        n.safe_norm(x, dim=0, keepdim=True), torch.linalg.vector_norm(x, dim=0, keepdim=True)
    )


def test_safe_norm_half_precision_does_not_overflow():
    # 300**2 = 90000 overflows float16 (max 65504); computed in float32 it does not.
    x = torch.full((4,), 300.0, dtype=torch.float16)
    out = n.safe_norm(x)
    assert out.dtype == torch.float16 and math.isclose(out.item(), 600.0, rel_tol=1e-3)


@given(st.floats(min_value=-700.0, max_value=-1e-300, allow_nan=False))
def test_log1mexp_matches_exact_formula(x):
    # Reference in 400-digit arithmetic: neither float formula is accurate everywhere.
    mpmath.mp.dps = 400
    got = n.log1mexp(torch.tensor(x, dtype=torch.float64)).item()
    want = float(mpmath.log(-mpmath.expm1(mpmath.mpf(x))))
    assert math.isclose(got, want, rel_tol=1e-14, abs_tol=1e-306)


def test_log1mexp_gradient_is_finite_on_both_branches():
    x = torch.tensor([-1e-8, -0.1, -5.0, -50.0], dtype=torch.float64, requires_grad=True)
    n.log1mexp(x).sum().backward()
    assert torch.isfinite(x.grad).all()
    # d/dx log(1 - e^x) = -e^x / (1 - e^x)
    want = -torch.exp(x.detach()) / -torch.expm1(x.detach())
    torch.testing.assert_close(x.grad, want)


def test_safe_xlogy_is_zero_at_zero_with_finite_gradients():
    x = torch.tensor([0.0, 0.0, 0.5], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0.0, 2.0, 0.25], dtype=torch.float64, requires_grad=True)
    out = n.safe_xlogy(x, y)
    torch.testing.assert_close(
        out.detach(), torch.tensor([0.0, 0.0, 0.5 * math.log(0.25)], dtype=torch.float64)
    )
    out.sum().backward()
    assert torch.isfinite(x.grad).all() and torch.isfinite(y.grad).all()
    assert y.grad[0] == 0 and y.grad[2] == pytest.approx(2.0)


def test_clamped_log_floors_at_log_clamp_with_zero_gradient():
    p = torch.tensor([0.0, 1e-50, 0.5], dtype=torch.float64, requires_grad=True)
    out = n.clamped_log(p)
    assert out.tolist() == [n.LOG_CLAMP, n.LOG_CLAMP, pytest.approx(math.log(0.5))]
    out.sum().backward()
    assert p.grad.tolist() == [0.0, 0.0, pytest.approx(2.0)]
