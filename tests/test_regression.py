"""Regression losses (lossbook.regression) against torch.nn.functional and independent references."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from support import REGISTRY

from lossbook import regression as R

REDUCTIONS = ("none", "mean", "sum")
SHAPES = [(), (7,), (3, 4), (2, 3, 5)]
FLOATS = (torch.float32, torch.float64)
HALF = (torch.float16, torch.bfloat16)

# The element-wise losses of the registry (tests/support.py), with their closed-form gradients.
LOSSES = [
    pytest.param(row.fn, row.grad, row.sample(torch.float64, "cpu", torch.Generator())[1], id=row.name)
    for row in REGISTRY
    if row.name.startswith("regression.") and row.reductions
]


def pair(shape, dtype=torch.float64, seed=0, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    x = scale * torch.randn(shape, generator=g, dtype=torch.float64)
    y = torch.randn(shape, generator=g, dtype=torch.float64)
    return x.to(dtype), y.to(dtype)


def away_from_kinks(shape, kinks, seed=0):
    """A pair whose residuals stay at least 0.05 away from every kink (for gradcheck)."""
    x, y = pair(shape, seed=seed)
    r = x - y
    for k in kinks:
        for s in (k, -k):
            close = (r - s).abs() < 0.05
            r = torch.where(close, r + 0.1, r)
    return (y + r), y


def tol(dtype):
    return {"rtol": 1e-5, "atol": 1e-6} if dtype == torch.float32 else {"rtol": 1e-12, "atol": 1e-12}


# --------------------------------------------------------------------------- values vs torch


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
class TestAgainstTorch:
    def test_mse(self, dtype, shape, reduction):
        x, y = pair(shape, dtype)
        torch.testing.assert_close(
            R.mse(x, y, reduction=reduction), F.mse_loss(x, y, reduction=reduction), **tol(dtype)
        )

    def test_mae(self, dtype, shape, reduction):
        x, y = pair(shape, dtype)
        torch.testing.assert_close(
            R.mae(x, y, reduction=reduction), F.l1_loss(x, y, reduction=reduction), **tol(dtype)
        )

    @pytest.mark.parametrize("delta", [0.1, 1.0, 2.5, 100.0])
    def test_huber(self, dtype, shape, reduction, delta):
        x, y = pair(shape, dtype)
        torch.testing.assert_close(
            R.huber(x, y, delta=delta, reduction=reduction),
            F.huber_loss(x, y, delta=delta, reduction=reduction),
            **tol(dtype),
        )

    @pytest.mark.parametrize("beta", [0.1, 1.0, 2.5])
    def test_smooth_l1_is_huber_divided_by_beta(self, dtype, shape, reduction, beta):
        x, y = pair(shape, dtype)
        torch.testing.assert_close(
            R.huber(x, y, delta=beta, reduction=reduction) / beta,
            F.smooth_l1_loss(x, y, beta=beta, reduction=reduction),
            **tol(dtype),
        )

    @pytest.mark.parametrize(
        "ours, theirs, kw",
        [
            (R.mse, F.mse_loss, {}),
            (R.mae, F.l1_loss, {}),
            (R.huber, F.huber_loss, {"delta": 0.7}),
        ],
        ids=["mse", "mae", "huber"],
    )
    def test_gradients_match_builtin(self, dtype, shape, reduction, ours, theirs, kw):
        x, y = pair(shape, dtype)
        grads = []
        for fn in (ours, theirs):
            xi, yi = x.clone().requires_grad_(True), y.clone().requires_grad_(True)
            out = fn(xi, yi, reduction=reduction, **kw)
            out.backward(torch.ones_like(out))
            grads.append((xi.grad, yi.grad))
        for a, b in zip(*grads, strict=True):
            torch.testing.assert_close(a, b, **tol(dtype))


def test_smooth_l1_scaling_for_beta_larger_than_residuals():
    """With beta above every |r|, smooth_l1 = r^2/(2 beta) = huber/beta, not huber (unless beta = 1)."""
    x, y = pair((50,), scale=0.1)
    beta = 4.0
    assert (x - y).abs().max() < beta
    torch.testing.assert_close(F.smooth_l1_loss(x, y, beta=beta), ((x - y) ** 2).mean() / (2 * beta))
    assert not torch.allclose(F.smooth_l1_loss(x, y, beta=beta), R.huber(x, y, delta=beta))


def test_sse_and_rmse():
    x, y = pair((4, 5))
    torch.testing.assert_close(R.sse(x, y), F.mse_loss(x, y, reduction="sum"))
    torch.testing.assert_close(R.rmse(x, y), torch.sqrt(F.mse_loss(x, y)))


def test_rmse_of_a_perfect_fit_is_zero_with_zero_gradient():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    out = R.rmse(x, x.detach().clone())
    out.backward()
    assert out.item() == 0.0 and torch.equal(x.grad, torch.zeros(2))


# --------------------------------------------------------------------------- independent references


@pytest.mark.parametrize("tau", [0.05, 0.25, 0.5, 0.9])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_quantile_matches_numpy_reference(tau, reduction):
    x, y = pair((6, 7), seed=3)
    u = (y - x).numpy()
    ref = np.where(u >= 0, tau * u, (tau - 1) * u)  # the case-wise definition, Koenker & Bassett
    ref = {"none": ref, "mean": ref.mean(), "sum": ref.sum()}[reduction]
    torch.testing.assert_close(R.quantile(x, y, tau=tau, reduction=reduction), torch.as_tensor(ref))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_log_cosh_matches_numpy_reference(reduction):
    x, y = pair((6, 7), seed=4, scale=5.0)
    ref = np.log(np.cosh((x - y).numpy()))  # safe in float64 for |r| < 700
    ref = {"none": ref, "mean": ref.mean(), "sum": ref.sum()}[reduction]
    torch.testing.assert_close(R.log_cosh(x, y, reduction=reduction), torch.as_tensor(ref))


@pytest.mark.parametrize("tau", [0.1, 0.5, 0.9])
def test_quantile_minimiser_is_the_empirical_quantile(tau):
    """Brute force over the sample points: the minimiser of the mean pinball loss is a tau-quantile."""
    g = torch.Generator().manual_seed(7)
    y = -torch.log(torch.rand(201, generator=g, dtype=torch.float64))  # exponential: skewed
    risks = torch.stack([R.quantile(torch.full_like(y, c), y, tau=tau) for c in y])
    best = y[risks.argmin()]
    # Sorted order statistic ceil(n tau) (1-based) is the lower tau-quantile of the sample.
    k = math.ceil(len(y) * tau)
    assert best.item() == pytest.approx(torch.sort(y).values[k - 1].item())
    assert best.item() == pytest.approx(float(np.quantile(y.numpy(), tau, method="inverted_cdf")))


def test_mse_and_mae_constant_minimisers_are_mean_and_median():
    g = torch.Generator().manual_seed(8)
    y = torch.randn(101, generator=g, dtype=torch.float64).exp()  # skewed: mean > median
    grid = torch.linspace(float(y.min()), float(y.max()), 20001, dtype=torch.float64)
    mse_risk = torch.stack([R.mse(torch.full_like(y, c), y) for c in grid])
    mae_risk = torch.stack([R.mae(torch.full_like(y, c), y) for c in y])
    assert grid[mse_risk.argmin()].item() == pytest.approx(y.mean().item(), abs=(grid[1] - grid[0]).item())
    assert y[mae_risk.argmin()].item() == y.median().item()


# --------------------------------------------------------------------------- gradients


@pytest.mark.parametrize("loss, grad, kw", LOSSES)
@pytest.mark.parametrize("shape", [(7,), (3, 4)])
def test_gradient_wrt_target_is_minus_gradient_wrt_input(loss, grad, kw, shape):
    """A residual loss depends on r = input - target only. (The rest of the gradient contract,
    gradcheck and closed form = autograd also at the kinks, is tests/test_contract.py.)"""
    x, y = pair(shape)
    yi = y.clone().requires_grad_(True)
    loss(x, yi, reduction="sum", **kw).backward()
    torch.testing.assert_close(yi.grad, -grad(x, y, **kw))


# --------------------------------------------------------------------------- fast path = reference form

FAST_AND_REFERENCE = [
    pytest.param(R.mse, R.mse_reference, {}, id="mse"),
    pytest.param(R.huber, R.huber_reference, {"delta": 1.0}, id="huber"),
    pytest.param(R.huber, R.huber_reference, {"delta": 0.3}, id="huber[delta=0.3]"),
]


@pytest.mark.parametrize("fast, reference, kw", FAST_AND_REFERENCE)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", FLOATS + HALF)
def test_fast_path_equals_reference_in_value(fast, reference, kw, reduction, dtype):
    x, y = pair((4, 5), dtype)
    torch.testing.assert_close(
        fast(x, y, reduction=reduction, **kw), reference(x, y, reduction=reduction, **kw)
    )


@pytest.mark.parametrize("fast, reference, kw", FAST_AND_REFERENCE)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_fast_path_equals_reference_in_first_and_second_derivatives(fast, reference, kw, reduction):
    """Both arguments: the gradient and the Hessian (which is diagonal) agree, away from the kinks."""
    x, y = away_from_kinks((4, 5), [0.0, kw.get("delta", 0.0)], seed=3)
    derivatives = []
    for fn in (fast, reference):
        xi, yi = x.clone().requires_grad_(True), y.clone().requires_grad_(True)
        out = fn(xi, yi, reduction=reduction, **kw)
        weights = torch.linspace(0.5, 1.5, out.numel(), dtype=out.dtype).reshape(out.shape)
        gx, gy = torch.autograd.grad((out * weights).sum(), (xi, yi), create_graph=True)
        hxx, hxy = torch.autograd.grad(gx.sum(), (xi, yi), retain_graph=True)
        (hyy,) = torch.autograd.grad(gy.sum(), yi)
        derivatives.append((gx, gy, hxx, hxy, hyy))
    for a, b in zip(*derivatives, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    assert derivatives[0][2].abs().sum() > 0  # the second derivatives are not trivially zero


def test_huber_second_derivative_matches_builtin():
    x, y = away_from_kinks((9,), [0.0, 0.8], seed=2)
    for fn in (lambda a: R.huber(a, y, delta=0.8), lambda a: F.huber_loss(a, y, delta=0.8)):
        xi = x.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(fn(xi), xi, create_graph=True)
        (h,) = torch.autograd.grad(g.sum(), xi)
        expected = ((x - y).abs() < 0.8).double() / x.numel()
        torch.testing.assert_close(h, expected)
    xi = x.clone().requires_grad_(True)
    assert torch.autograd.gradgradcheck(lambda a: R.huber(a, y, delta=0.8, reduction="none"), (xi,))


def test_mse_second_derivative_matches_builtin():
    x, y = pair((9,), seed=5)
    for fn in (lambda a: R.mse(a, y), lambda a: F.mse_loss(a, y)):
        xi = x.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(fn(xi), xi, create_graph=True)
        (h,) = torch.autograd.grad(g.sum(), xi)
        torch.testing.assert_close(h, torch.full_like(x, 2 / x.numel()))
    xi = x.clone().requires_grad_(True)
    assert torch.autograd.gradgradcheck(lambda a: R.mse(a, y, reduction="none"), (xi,))


def test_log_cosh_gradient_is_tanh_against_sympy():
    sympy = pytest.importorskip("sympy")
    r = sympy.symbols("r", real=True)
    derivative = sympy.diff(sympy.log(sympy.cosh(r)), r)
    assert sympy.simplify(derivative - sympy.tanh(r)) == 0


# --------------------------------------------------------------------------- numerics


@pytest.mark.parametrize(
    "loss, kw",
    [(R.mae, {}), (R.huber, {"delta": 1.0}), (R.quantile, {"tau": 0.9}), (R.log_cosh, {})],
    ids=["mae", "huber", "quantile", "log_cosh"],
)
@pytest.mark.parametrize(
    "dtype, big",
    [(torch.float32, 1e30), (torch.float64, 1e150), (torch.float16, 3e4), (torch.bfloat16, 1e30)],
)
def test_linear_tail_losses_are_finite_at_extreme_residuals(loss, kw, dtype, big):
    """The losses that grow linearly are finite (with finite gradients) wherever |r| is representable."""
    x = torch.tensor([big, -big, 0.5, 0.0], dtype=dtype, requires_grad=True)
    y = torch.tensor([-big, big, 0.0, 0.0], dtype=dtype)
    out = loss(x, y, reduction="none", **kw)
    assert torch.isfinite(out).all(), out
    loss(x, y, reduction="sum", **kw).backward()
    assert torch.isfinite(x.grad).all(), x.grad
    # The big residual 2*big costs about |r| (times tau or 1 - tau for quantile).
    slope = {"quantile": 1 - kw.get("tau", 0.5)}.get(loss.__name__, 1.0)
    assert out[0].double().item() == pytest.approx(slope * 2 * big, rel=1e-2)


@pytest.mark.parametrize(
    "dtype, big", [(torch.float32, 1e18), (torch.float16, 150.0), (torch.bfloat16, 1e18)]
)
def test_mse_is_finite_wherever_its_value_is_representable(dtype, big):
    x = torch.tensor([big, -big], dtype=dtype, requires_grad=True)
    out = R.mse(x, torch.zeros(2, dtype=dtype))
    assert torch.isfinite(out) and out.double().item() == pytest.approx(big**2, rel=1e-2)
    out.backward()
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize("dtype, overflow_at", [(torch.float32, 100.0), (torch.float16, 12.0)])
def test_log_cosh_is_stable_where_the_naive_formula_overflows(dtype, overflow_at):
    r = torch.tensor([overflow_at, -overflow_at], dtype=dtype)
    naive = torch.log(torch.cosh(r))
    assert torch.isinf(naive).all()  # the reason for the stable form
    ours = R.log_cosh(r, torch.zeros_like(r), reduction="none")
    torch.testing.assert_close(ours.double(), r.double().abs() - math.log(2), rtol=1e-3, atol=0)


def test_half_precision_is_computed_in_float32():
    x, y = pair((1000,), torch.float64, scale=1.0)
    for dtype in HALF:
        xh, yh = x.to(dtype), y.to(dtype)
        ref = F.mse_loss(xh.float(), yh.float()).to(dtype)
        assert R.mse(xh, yh).item() == ref.item()


def test_empty_input_mean_is_a_zero_that_backpropagates():
    for loss, _, kw in [p.values for p in LOSSES]:
        x = torch.zeros(0, requires_grad=True)
        out = loss(x, torch.zeros(0), **kw)
        assert out.item() == 0.0
        out.backward()
        assert x.grad.shape == (0,)


def test_array_likes_are_accepted_and_target_takes_input_dtype():
    assert R.mse([1.0, 2.0], [0.0, 0.0]).item() == pytest.approx(2.5)
    x = torch.tensor([1.0, 2.0], dtype=torch.float32)
    out = R.huber(x, torch.tensor([0.0, 0.0], dtype=torch.float64))
    assert out.dtype == torch.float32


# --------------------------------------------------------------------------- error contract
# (reduction, integer / boolean input, shape and device mismatch: tests/test_contract.py)


@pytest.mark.parametrize("fn", [R.huber, R.huber_grad])
@pytest.mark.parametrize("bad", [0.0, -1.0, math.inf, math.nan])
def test_huber_rejects_delta_outside_its_domain(fn, bad):
    with pytest.raises(ValueError, match=r"^delta must be positive, in \(0, inf\); got"):
        fn(torch.zeros(2), torch.zeros(2), delta=bad)


def test_huber_rejects_non_numeric_delta():
    with pytest.raises(TypeError, match="^delta must be a real number; got str$"):
        R.huber(torch.zeros(2), torch.zeros(2), delta="1")


@pytest.mark.parametrize("fn", [R.quantile, R.quantile_grad])
@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1, 1.5, math.nan])
def test_quantile_rejects_tau_outside_the_open_unit_interval(fn, bad):
    with pytest.raises(ValueError, match=r"^tau must be in \(0, 1\); got"):
        fn(torch.zeros(2), torch.zeros(2), tau=bad)


def test_hyper_parameters_are_keyword_only():
    with pytest.raises(TypeError):
        R.huber(torch.zeros(2), torch.zeros(2), 1.0)
    with pytest.raises(TypeError):
        R.quantile(torch.zeros(2), torch.zeros(2), 0.5)


# --------------------------------------------------------------------------- properties the chapter states

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
vectors = st.lists(finite, min_size=1, max_size=20)


def as_pair(values, seed):
    x = torch.tensor(values, dtype=torch.float64)
    g = torch.Generator().manual_seed(seed)
    return x, torch.randn(x.shape, generator=g, dtype=torch.float64) * 10


seeds = st.integers(0, 2**16)


@settings(max_examples=60, deadline=None)
@given(vectors, seeds, st.floats(0.01, 0.99), st.floats(1e-3, 1e3))
def test_every_loss_is_non_negative_and_zero_at_a_perfect_fit(values, seed, tau, delta):
    x, y = as_pair(values, seed)
    for loss, kw in (
        (R.mse, {}),
        (R.mae, {}),
        (R.huber, {"delta": delta}),
        (R.quantile, {"tau": tau}),
        (R.log_cosh, {}),
    ):
        assert (loss(x, y, reduction="none", **kw) >= 0).all()
        assert loss(x, x.clone(), reduction="sum", **kw).item() == 0.0


@settings(max_examples=60, deadline=None)
@given(vectors, seeds, st.floats(1e-3, 1e3))
def test_symmetric_losses_are_symmetric(values, seed, delta):
    x, y = as_pair(values, seed)
    for loss, kw in ((R.mse, {}), (R.mae, {}), (R.huber, {"delta": delta}), (R.log_cosh, {})):
        torch.testing.assert_close(loss(x, y, reduction="none", **kw), loss(y, x, reduction="none", **kw))


@settings(max_examples=60, deadline=None)
@given(vectors, seeds)
def test_huber_is_half_mse_once_delta_exceeds_every_residual(values, seed):
    x, y = as_pair(values, seed)
    delta = float((x - y).abs().max()) + 1e-9
    torch.testing.assert_close(R.huber(x, y, delta=delta), 0.5 * R.mse(x, y))
    torch.testing.assert_close(R.huber(x, y, delta=10 * delta + 1), 0.5 * R.mse(x, y))


@settings(max_examples=60, deadline=None)
@given(vectors, seeds, st.floats(1e-6, 1e3))
def test_huber_is_sandwiched_between_its_two_regimes(values, seed, delta):
    """delta|r| - delta^2/2 <= huber <= min(r^2/2, delta|r|): so huber/delta -> |r| as delta -> 0."""
    x, y = as_pair(values, seed)
    a = (x - y).abs()
    h = R.huber(x, y, delta=delta, reduction="none")
    slack = 1e-9 * (1 + a * a)
    assert (h >= delta * a - delta**2 / 2 - slack).all()
    assert (h <= torch.minimum(a * a / 2, delta * a) + slack).all()
    assert ((h / delta - a).abs() <= delta / 2 + slack / delta).all()


@settings(max_examples=60, deadline=None)
@given(vectors, seeds, st.floats(1e-3, 1e3))
def test_huber_gradient_is_bounded_by_delta(values, seed, delta):
    x, y = as_pair(values, seed)
    assert (R.huber_grad(x, y, delta=delta).abs() <= delta).all()


@settings(max_examples=60, deadline=None)
@given(vectors, seeds)
def test_pinball_at_one_half_is_exactly_half_the_absolute_error(values, seed):
    x, y = as_pair(values, seed)
    assert torch.equal(R.quantile(x, y, tau=0.5, reduction="none"), 0.5 * R.mae(x, y, reduction="none"))


@settings(max_examples=60, deadline=None)
@given(vectors, seeds, st.floats(0.01, 0.99))
def test_pinball_swaps_tau_when_input_and_target_swap(values, seed, tau):
    x, y = as_pair(values, seed)
    torch.testing.assert_close(
        R.quantile(x, y, tau=tau, reduction="none"), R.quantile(y, x, tau=1 - tau, reduction="none")
    )


@settings(max_examples=60, deadline=None)
@given(vectors, seeds, st.floats(0.01, 0.99))
def test_pinball_is_a_weighted_absolute_error(values, seed, tau):
    """rho_tau(u) = |u| * (tau if u >= 0 else 1 - tau): the MAE with asymmetric weights."""
    x, y = as_pair(values, seed)
    u = y - x
    w = torch.where(u >= 0, torch.full_like(u, tau), torch.full_like(u, 1 - tau))
    torch.testing.assert_close(R.quantile(x, y, tau=tau, reduction="none"), w * u.abs())


@settings(max_examples=80, deadline=None)
@given(st.floats(-300, 300, allow_nan=False))
def test_log_cosh_asymptotes(r):
    """|r| - log 2 <= log cosh r <= min(r^2/2, |r|), with the errors of both asymptotes bounded."""
    x = torch.tensor([r], dtype=torch.float64)
    value = R.log_cosh(x, torch.zeros_like(x)).item()
    a = abs(r)
    assert a - math.log(2) - 1e-12 <= value <= min(a * a / 2, a) + 1e-12
    assert value - (a - math.log(2)) <= math.exp(-2 * a) + 1e-12  # log(1 + e^{-2|r|}) <= e^{-2|r|}
    assert a * a / 2 - value <= a**4 / 12 + 1e-12  # Taylor: log cosh r = r^2/2 - r^4/12 + ...


@settings(max_examples=60, deadline=None)
@given(vectors, seeds)
def test_rmse_is_the_root_of_mse_and_bounds_mae(values, seed):
    x, y = as_pair(values, seed)
    torch.testing.assert_close(R.rmse(x, y) ** 2, R.mse(x, y))
    assert R.mae(x, y) <= R.rmse(x, y) * (1 + 1e-12)


# --------------------------------------------------------------------------- data sets the chapter introduced


def test_conditioned_least_squares_has_the_requested_spectrum():
    from lossbook import data

    X, y = data.conditioned_least_squares(120, 6, condition_number=50.0, seed=1)
    eig = torch.linalg.eigvalsh(X.T @ X / 120)
    torch.testing.assert_close(eig.min(), torch.tensor(1.0, dtype=torch.float64))
    torch.testing.assert_close(eig.max(), torch.tensor(50.0, dtype=torch.float64))
    assert X.shape == (120, 6) and y.shape == (120,)
    with pytest.raises(ValueError, match="^condition_number must be at least 1; got 0.5$"):
        data.conditioned_least_squares(10, 2, condition_number=0.5)
    with pytest.raises(ValueError, match="^n must be at least d; got n=2, d=3$"):
        data.conditioned_least_squares(2, 3, condition_number=2.0)


def test_contaminated_sample_replaces_exactly_the_stated_fraction():
    from lossbook import data

    s = data.contaminated_sample(50, 40, fraction=0.25, outlier_mean=100.0, seed=2)
    assert s.shape == (50, 40)
    assert torch.equal((s > 50).sum(dim=1), torch.full((50,), 10))
    with pytest.raises(ValueError, match=r"^fraction must be in \[0, 1\]; got 1.5$"):
        data.contaminated_sample(2, 2, fraction=1.5)


@pytest.mark.parametrize(
    "kind, mean, median",
    [
        ("gaussian", 0.0, 0.0),
        ("laplace", 0.0, 0.0),
        ("lognormal", math.exp(0.5), 1.0),
        ("exponential", 1.0, math.log(2)),
    ],
)
def test_location_sample_has_the_documented_law(kind, mean, median):
    from lossbook import data

    s = data.location_sample(200_000, kind=kind, seed=3)
    assert abs(s.mean().item() - mean) < 0.02 and abs(s.median().item() - median) < 0.02
    assert torch.equal(s, data.location_sample(200_000, kind=kind, seed=3))  # seeded


def test_location_sample_rejects_unknown_kind():
    from lossbook import data

    with pytest.raises(ValueError, match="^kind must be one of"):
        data.location_sample(3, kind="cauchy")


def test_heteroscedastic_regression_noise_grows_with_x():
    from lossbook import data

    x, y = data.heteroscedastic_regression(20_000, seed=4)
    resid = y - (1 + 2 * x)
    assert resid[x < 0.5].std() < 0.5 * resid[x > 1.5].std()
    assert x.min() >= 0 and x.max() <= 2
