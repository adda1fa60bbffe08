"""lossbook.probabilistic: KL, JS, Gaussian KL, 1-D Wasserstein and Sinkhorn.

References are independent of the implementation: torch.nn.functional.kl_div,
SciPy (rel_entr, entropy, jensenshannon, wasserstein_distance, quad,
linear_sum_assignment, linprog) and torch.distributions.
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, spatial, special, stats
from support import assert_gradcheck

from lossbook import probabilistic as pb

KL_TORCH_MEAN = pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")
SHAPES = [(5,), (3, 4), (2, 3, 6)]


def rand_dist(shape, seed, dtype=torch.float64, zeros=False):
    g = torch.Generator().manual_seed(seed)
    p = torch.rand(shape, generator=g, dtype=dtype) + 0.05
    if zeros:
        p = torch.where(torch.rand(shape, generator=g, dtype=dtype) < 0.3, torch.zeros_like(p), p)
        p[..., 0] = 0.5  # keep every row non-empty
    return p / p.sum(-1, keepdim=True)


def exact_ot(cost, a=None, b=None):
    """The exact optimal-transport cost: assignment for uniform equal sizes, else an LP."""
    c = np.asarray(cost, dtype=float)
    n, m = c.shape
    if a is None and b is None and n == m:
        r, s = optimize.linear_sum_assignment(c)
        return float(c[r, s].mean())
    a = np.full(n, 1 / n) if a is None else np.asarray(a) / np.sum(a)
    b = np.full(m, 1 / m) if b is None else np.asarray(b) / np.sum(b)
    rows = np.kron(np.eye(n), np.ones(m))
    cols = np.kron(np.ones(n), np.eye(m))
    res = optimize.linprog(
        c.ravel(), A_eq=np.vstack([rows, cols]), b_eq=np.concatenate([a, b]), method="highs"
    )
    assert res.status == 0
    return float(res.fun)


# ------------------------------------------------------------------------- kl_div


class TestKlDivMatchesTorch:
    @KL_TORCH_MEAN
    @pytest.mark.parametrize("shape", SHAPES)
    @pytest.mark.parametrize("reduction", ["none", "batchmean", "sum", "mean"])
    @pytest.mark.parametrize("log_target", [False, True])
    def test_values_and_gradients(self, shape, reduction, log_target):
        logq = torch.log(rand_dist(shape, 1))
        p = rand_dist(shape, 2)
        target = torch.log(p) if log_target else p
        x1 = logq.clone().requires_grad_(True)
        t1 = target.clone().requires_grad_(True)
        x2 = logq.clone().requires_grad_(True)
        t2 = target.clone().requires_grad_(True)
        ours = pb.kl_div(x1, t1, reduction=reduction, log_target=log_target)
        ref = F.kl_div(x2, t2, reduction=reduction, log_target=log_target)
        torch.testing.assert_close(ours, ref)
        w = torch.rand(ours.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
        (ours * w).sum().backward()
        (ref * w).sum().backward()
        torch.testing.assert_close(x1.grad, x2.grad)
        torch.testing.assert_close(t1.grad, t2.grad)

    @KL_TORCH_MEAN
    def test_zeros_in_target_match_torch(self):
        logq = torch.log(rand_dist((4, 6), 4))
        p = rand_dist((4, 6), 5, zeros=True)
        for reduction in pb.KL_REDUCTIONS:
            torch.testing.assert_close(
                pb.kl_div(logq, p, reduction=reduction), F.kl_div(logq, p, reduction=reduction)
            )

    def test_zeros_in_log_target_are_zero_where_torch_gives_nan(self):
        logq = torch.log(rand_dist((4, 6), 4))
        p = rand_dist((4, 6), 5, zeros=True)
        ours = pb.kl_div(logq, p.log(), reduction="none", log_target=True)
        ref = F.kl_div(logq, p.log(), reduction="none", log_target=True)
        zero = p == 0
        assert zero.any() and torch.isnan(ref[zero]).all()
        torch.testing.assert_close(ours[zero], torch.zeros_like(ours[zero]))
        torch.testing.assert_close(ours[~zero], ref[~zero])
        torch.testing.assert_close(
            pb.kl_div(logq, p.log(), reduction="batchmean", log_target=True),
            pb.kl_div(logq, p, reduction="batchmean"),
        )

    def test_batchmean_is_kl_per_distribution(self):
        p, q = rand_dist((5, 7), 6), rand_dist((5, 7), 7)
        per_row = torch.tensor(
            [stats.entropy(p[i].numpy(), q[i].numpy()) for i in range(5)], dtype=torch.float64
        )
        torch.testing.assert_close(pb.kl_div(q.log(), p, reduction="batchmean"), per_row.mean())
        torch.testing.assert_close(pb.kl_div(q.log(), p, reduction="mean"), per_row.sum() / p.numel())

    def test_softmax_minus_p_gradient_through_logits(self):
        z = torch.randn(
            4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(12)
        ).requires_grad_(True)
        p = rand_dist((4, 5), 13)
        pb.kl_div(torch.log_softmax(z, -1), p, reduction="sum").backward()
        torch.testing.assert_close(z.grad, torch.softmax(z.detach(), -1) - p)

    def test_gradcheck_in_the_log_target(self):
        """(The gradient in ``input`` is checked for every loss in tests/test_contract.py.)"""
        p = rand_dist((3, 4), 14)
        assert_gradcheck(
            lambda t: pb.kl_div(rand_dist((3, 4), 16).log(), t, reduction="sum", log_target=True), p.log()
        )


class TestKlDivZerosAndExtremes:
    def test_zero_times_log_zero_is_zero_with_finite_gradient(self):
        # P has a zero exactly where Q does: KL is finite; torch's built-in gives NaN here.
        p = torch.tensor([0.5, 0.5, 0.0], dtype=torch.float64)
        logq = torch.tensor(
            [math.log(0.25), math.log(0.75), -math.inf], dtype=torch.float64, requires_grad=True
        )
        out = pb.kl_div(logq, p, reduction="sum")
        expected = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
        assert out.item() == pytest.approx(expected, rel=1e-14)
        assert torch.isnan(F.kl_div(logq.detach(), p, reduction="sum"))
        out.backward()
        assert torch.isfinite(logq.grad).all()
        torch.testing.assert_close(logq.grad, -p)

    def test_zero_in_log_target(self):
        logp = torch.tensor([0.0, -math.inf], dtype=torch.float64)
        logq = torch.tensor([0.0, -math.inf], dtype=torch.float64, requires_grad=True)
        out = pb.kl_div(logq, logp, reduction="sum", log_target=True)
        assert out.item() == 0.0
        out.backward()
        assert torch.isfinite(logq.grad).all()

    def test_mass_where_q_is_zero_gives_inf(self):
        p = torch.tensor([0.5, 0.5])
        logq = torch.tensor([0.0, -math.inf])
        assert pb.kl_div(logq, p, reduction="sum").item() == math.inf

    @pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
    def test_low_precision_finite_and_keeps_dtype(self, dtype):
        p = rand_dist((4, 8), 17, zeros=True).to(dtype)
        logq = torch.log_softmax(torch.tensor([[30.0, -30.0] * 4] * 4), -1).to(dtype)
        for reduction in pb.KL_REDUCTIONS:
            out = pb.kl_div(logq, p, reduction=reduction)
            assert out.dtype == dtype and torch.isfinite(out).all()


# ------------------------------------------------- KL / H / JS in mathematical order


class TestDivergences:
    @pytest.mark.parametrize("shape", SHAPES)
    def test_kl_divergence_against_scipy(self, shape):
        p, q = rand_dist(shape, 20, zeros=True), rand_dist(shape, 21)
        ref = torch.as_tensor(np.asarray(special.rel_entr(p.numpy(), q.numpy()).sum(-1)))
        torch.testing.assert_close(pb.kl_divergence(p, q, reduction="none"), ref)
        torch.testing.assert_close(pb.kl_divergence(p, q, reduction="mean"), ref.mean())
        torch.testing.assert_close(pb.kl_divergence(p, q, reduction="sum"), ref.sum())

    def test_kl_divergence_equals_kl_div_batchmean(self):
        p, q = rand_dist((6, 5), 22), rand_dist((6, 5), 23)
        torch.testing.assert_close(pb.kl_divergence(p, q), pb.kl_div(q.log(), p, reduction="batchmean"))

    def test_entropy_and_cross_entropy_against_scipy_and_decomposition(self):
        p, q = rand_dist((4, 6), 24, zeros=True), rand_dist((4, 6), 25)
        h = torch.from_numpy(stats.entropy(p.numpy(), axis=-1))
        torch.testing.assert_close(pb.entropy(p, reduction="none"), h)
        torch.testing.assert_close(
            pb.distribution_cross_entropy(p, q, reduction="none"),
            h + pb.kl_divergence(p, q, reduction="none"),
        )

    def test_kl_to_one_hot_is_cross_entropy(self):
        p = torch.eye(4, dtype=torch.float64)
        q = rand_dist((4, 4), 26)
        torch.testing.assert_close(
            pb.kl_divergence(p, q, reduction="none"), pb.distribution_cross_entropy(p, q, reduction="none")
        )
        torch.testing.assert_close(pb.entropy(p, reduction="none"), torch.zeros(4, dtype=torch.float64))

    def test_kl_infinite_when_q_misses_mass_of_p(self):
        p = torch.tensor([0.5, 0.5], dtype=torch.float64)
        q = torch.tensor([1.0, 0.0], dtype=torch.float64)
        assert pb.kl_divergence(p, q).item() == math.inf
        assert pb.kl_divergence(q, p).item() == pytest.approx(math.log(2))

    @pytest.mark.parametrize("shape", SHAPES)
    def test_js_against_scipy(self, shape):
        p, q = rand_dist(shape, 27, zeros=True), rand_dist(shape, 28, zeros=True)
        ref = torch.as_tensor(np.asarray(spatial.distance.jensenshannon(p.numpy(), q.numpy(), axis=-1) ** 2))
        torch.testing.assert_close(pb.js_divergence(p, q, reduction="none"), ref)

    def test_js_disjoint_supports_is_log_2_with_finite_gradient(self):
        p = torch.tensor([0.5, 0.5, 0.0, 0.0], dtype=torch.float64, requires_grad=True)
        q = torch.tensor([0.0, 0.0, 0.3, 0.7], dtype=torch.float64)
        out = pb.js_divergence(p, q)
        assert out.item() == pytest.approx(math.log(2), rel=1e-14)
        out.backward()
        assert torch.isfinite(p.grad).all()

    def test_gradients_finite_with_zeros_in_p(self):
        p = rand_dist((3, 5), 29, zeros=True).requires_grad_(True)
        q = rand_dist((3, 5), 30).requires_grad_(True)
        pb.kl_divergence(p, q).backward()
        zero = p.detach() == 0
        # d KL / d q = -p / q: exactly zero where p is zero.
        torch.testing.assert_close(q.grad[zero], torch.zeros_like(q.grad[zero]))
        (pb.js_divergence(p, q) + pb.entropy(p)).backward()
        assert torch.isfinite(p.grad).all() and torch.isfinite(q.grad).all()

    @pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
    def test_low_precision_keeps_dtype_and_is_finite(self, dtype):
        # normalised in the low precision itself, so rows sum to 1 only up to its rounding
        p = rand_dist((3, 16), 36, zeros=True).to(dtype)
        q = rand_dist((3, 16), 37).to(dtype)
        p, q = p / p.sum(-1, keepdim=True), q / q.sum(-1, keepdim=True)
        for fn in (pb.kl_divergence, pb.js_divergence, pb.distribution_cross_entropy):
            out = fn(p, q)
            assert out.dtype == dtype and torch.isfinite(out)
            ref = fn(
                p.double() / p.double().sum(-1, keepdim=True), q.double() / q.double().sum(-1, keepdim=True)
            )
            assert abs(out.double() - ref) < 0.05 * ref + 1e-3
        assert pb.entropy(p).dtype == dtype


class TestGaussianKl:
    @pytest.mark.parametrize(
        "mp,sp,mq,sq",
        [(0.0, 1.0, 0.0, 1.0), (0.3, 0.7, -1.2, 1.9), (2.0, 3.0, 0.5, 0.8), (-1.0, 0.2, 1.0, 0.5)],
    )
    def test_against_numerical_integration(self, mp, sp, mq, sq):
        def integrand(x):
            return stats.norm.pdf(x, mp, sp) * (stats.norm.logpdf(x, mp, sp) - stats.norm.logpdf(x, mq, sq))

        ref, err = integrate.quad(integrand, mp - 30 * sp, mp + 30 * sp, limit=200)
        assert err < 1e-9
        ours = pb.gaussian_kl(*(torch.tensor(v, dtype=torch.float64) for v in (mp, sp, mq, sq)))
        assert ours.item() == pytest.approx(ref, rel=1e-9, abs=1e-12)

    def test_against_monte_carlo_within_its_standard_error(self):
        g = torch.Generator().manual_seed(40)
        mp, sp, mq, sq = 0.5, 1.3, -0.4, 0.9
        x = mp + sp * torch.randn(200_000, generator=g, dtype=torch.float64)
        p = torch.distributions.Normal(mp, sp)
        q = torch.distributions.Normal(mq, sq)
        terms = p.log_prob(x) - q.log_prob(x)
        se = terms.std() / math.sqrt(terms.numel())
        assert abs(terms.mean() - pb.gaussian_kl(mp, sp, mq, sq)) < 4 * se

    def test_against_torch_distributions_diagonal(self):
        g = torch.Generator().manual_seed(41)
        mp, mq = torch.randn(2, 5, generator=g, dtype=torch.float64)
        sp, sq = torch.rand(2, 5, generator=g, dtype=torch.float64) + 0.2
        ref = torch.distributions.kl_divergence(
            torch.distributions.Normal(mp, sp), torch.distributions.Normal(mq, sq)
        )
        torch.testing.assert_close(pb.gaussian_kl(mp, sp, mq, sq, reduction="none"), ref)
        torch.testing.assert_close(pb.gaussian_kl(mp, sp, mq, sq), ref.sum())


# -------------------------------------------------------------------- Wasserstein


class TestWasserstein1d:
    @pytest.mark.parametrize("n,m", [(1, 1), (7, 7), (50, 30), (13, 101)])
    def test_w1_against_scipy(self, n, m):
        g = torch.Generator().manual_seed(n * 1000 + m)
        u = torch.randn(n, generator=g, dtype=torch.float64)
        v = 2 * torch.randn(m, generator=g, dtype=torch.float64) + 1
        assert pb.wasserstein_1d(u, v).item() == pytest.approx(
            stats.wasserstein_distance(u, v), rel=1e-12, abs=1e-14
        )

    def test_weighted_w1_against_scipy(self):
        g = torch.Generator().manual_seed(50)
        u, v = (
            torch.randn(20, generator=g, dtype=torch.float64),
            torch.randn(9, generator=g, dtype=torch.float64),
        )
        wu, wv = (
            torch.rand(20, generator=g, dtype=torch.float64),
            torch.rand(9, generator=g, dtype=torch.float64),
        )
        ours = pb.wasserstein_1d(u, v, u_weights=wu, v_weights=wv).item()
        assert ours == pytest.approx(stats.wasserstein_distance(u, v, wu, wv), rel=1e-12)

    @pytest.mark.parametrize("p", [1.0, 1.5, 2.0, 3.0])
    def test_wp_against_brute_force_assignment(self, p):
        g = torch.Generator().manual_seed(51)
        u, v = (
            torch.randn(9, generator=g, dtype=torch.float64),
            torch.rand(9, generator=g, dtype=torch.float64),
        )
        cost = np.abs(u.numpy()[:, None] - v.numpy()[None, :]) ** p
        assert pb.wasserstein_1d(u, v, order=p).item() == pytest.approx(exact_ot(cost) ** (1 / p), rel=1e-10)

    def test_wp_of_gaussians_from_quantile_functions(self):
        # W2 between N(m1, s1^2) and N(m2, s2^2) is sqrt((m1-m2)^2 + (s1-s2)^2); on a fine
        # quantile grid the discrete formula converges to it.
        t = (torch.arange(20_000, dtype=torch.float64) + 0.5) / 20_000
        z = torch.distributions.Normal(0.0, 1.0).icdf(t)
        w2 = pb.wasserstein_1d(1.0 + 2.0 * z, -0.5 + 0.5 * z, order=2).item()
        assert w2 == pytest.approx(math.sqrt(1.5**2 + 1.5**2), rel=1e-3)

    def test_gradient_moves_samples_together(self):
        u = torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64, requires_grad=True)
        v = torch.tensor([0.5, 3.0, 1.5], dtype=torch.float64)
        pb.wasserstein_1d(u, v).backward()
        # sorted pairs: (0, .5), (1, 1.5), (2, 3): every u_i lies left of its partner.
        torch.testing.assert_close(u.grad, torch.full((3,), -1 / 3, dtype=torch.float64))

    def test_gradcheck_away_from_ties(self):
        u = torch.tensor([0.1, 0.9, 2.3, -1.2], dtype=torch.float64)
        v = torch.tensor([0.4, 1.7, -0.6, 3.1, 0.0], dtype=torch.float64)
        for p in (1.0, 2.0, 3.0):
            assert_gradcheck(lambda t, p=p: pb.wasserstein_1d(t, v, order=p), u)


class TestSinkhorn:
    def clouds(self, n=8, m=8, seed=60, dtype=torch.float64):
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(n, 2, generator=g, dtype=dtype)
        y = torch.randn(m, 2, generator=g, dtype=dtype) * 0.5 + torch.tensor([2.0, 1.0], dtype=dtype)
        return x, y

    def test_cost_matrix_against_scipy(self):
        x, y = self.clouds(5, 7)
        torch.testing.assert_close(
            pb.cost_matrix(x, y, power=1), torch.from_numpy(spatial.distance.cdist(x, y))
        )
        torch.testing.assert_close(pb.cost_matrix(x, y), torch.from_numpy(spatial.distance.cdist(x, y)) ** 2)

    # epsilon = 0.01 is epsilon / max C = 4e-4 here, past the convergence limit of the docstring:
    # the solver warns, and the marginals still hold to 1e-6.
    @pytest.mark.filterwarnings("ignore::lossbook.probabilistic.SinkhornConvergenceWarning")
    def test_cost_converges_to_exact_as_epsilon_shrinks(self):
        x, y = self.clouds()
        c = pb.cost_matrix(x, y)
        exact = exact_ot(c)
        gaps = []
        for eps in (1.0, 0.1, 0.01, 1e-3, 1e-4):
            cost, plan = pb.sinkhorn(c, epsilon=eps, max_iter=20_000)
            torch.testing.assert_close(
                plan.sum(0), torch.full((8,), 1 / 8, dtype=torch.float64), atol=1e-6, rtol=0
            )
            torch.testing.assert_close(
                plan.sum(1), torch.full((8,), 1 / 8, dtype=torch.float64), atol=1e-6, rtol=0
            )
            gaps.append(abs(cost.item() - exact))
        assert gaps[0] > gaps[1] > 1e-3  # large epsilon: visibly biased
        assert gaps[-1] < 1e-8

    def test_plan_tends_to_the_optimal_assignment(self):
        x, y = self.clouds(seed=61)
        c = pb.cost_matrix(x, y)
        rows, cols = optimize.linear_sum_assignment(c.numpy())
        _, plan = pb.sinkhorn(c, epsilon=1e-4)
        perm = np.zeros((8, 8))
        perm[rows, cols] = 1 / 8
        np.testing.assert_allclose(plan.numpy(), perm, atol=1e-8)

    def test_unequal_weights_against_linear_program(self):
        x, y = self.clouds(6, 9, seed=62)
        g = torch.Generator().manual_seed(63)
        a = torch.rand(6, generator=g, dtype=torch.float64) + 0.1
        b = torch.rand(9, generator=g, dtype=torch.float64) + 0.1
        c = pb.cost_matrix(x, y, power=1)
        cost, plan = pb.sinkhorn(c, a, b, epsilon=1e-4)
        assert cost.item() == pytest.approx(exact_ot(c.numpy(), a.numpy(), b.numpy()), abs=1e-6)
        torch.testing.assert_close(plan.sum(1), a / a.sum())

    def test_matches_w1_in_one_dimension(self):
        g = torch.Generator().manual_seed(64)
        u, v = (
            torch.randn(10, generator=g, dtype=torch.float64),
            torch.randn(10, generator=g, dtype=torch.float64) + 1,
        )
        cost, _ = pb.sinkhorn(pb.cost_matrix(u[:, None], v[:, None], power=1), epsilon=1e-4)
        assert cost.item() == pytest.approx(pb.wasserstein_1d(u, v).item(), abs=1e-8)

    def test_float32_small_epsilon_is_finite(self):
        x, y = self.clouds(dtype=torch.float32)
        c = pb.cost_matrix(x, y)
        assert torch.exp(-c / 1e-3).sum(1).min().item() == 0.0  # the plain kernel underflows
        cost, plan = pb.sinkhorn(c, epsilon=1e-3)
        assert cost.dtype == torch.float32 and torch.isfinite(cost) and torch.isfinite(plan).all()
        assert cost.item() == pytest.approx(exact_ot(c.double()), rel=1e-3)

    def weighted(self, n=6, m=5, seed=0):
        """The defect's shape: a small problem with non-uniform weights."""
        g = torch.Generator().manual_seed(seed)
        x = torch.rand(n, 2, generator=g, dtype=torch.float64) * 2
        y = torch.rand(m, 2, generator=g, dtype=torch.float64) * 2
        a = torch.rand(n, generator=g, dtype=torch.float64) + 0.1
        b = torch.rand(m, generator=g, dtype=torch.float64) + 0.1
        return pb.cost_matrix(x, y), a / a.sum(), b / b.sum()

    def test_stopping_on_max_iter_warns_with_the_numbers(self):
        c, a, b = self.weighted(seed=29)
        with pytest.warns(pb.SinkhornConvergenceWarning) as record:
            cost, plan = pb.sinkhorn(c, a, b, epsilon=1e-3, max_iter=20)
        (w,) = record
        err = float((plan.sum(1) - a).abs().sum() + (plan.sum(0) - b).abs().sum())
        message = str(w.message)
        assert issubclass(w.category, RuntimeWarning)
        assert "after 20 iterations" in message and f"marginal error is {err:.3g}" in message
        assert "larger epsilon" in message and "larger max_iter" in message
        assert err > 1e-3  # the plan really misses its marginals

    def test_return_info_reports_iterations_and_error(self):
        c, a, b = self.weighted(seed=29)
        with pytest.warns(pb.SinkhornConvergenceWarning):
            short = pb.sinkhorn(c, a, b, epsilon=1e-3, max_iter=20, return_info=True)
        assert isinstance(short, pb.SinkhornResult)
        assert short.iterations == 20 and not short.converged and short.marginal_error > 1e-3
        full = pb.sinkhorn(c, a, b, epsilon=0.05, return_info=True)
        assert full.converged and 0 < full.iterations < 10_000
        err = (full.plan.sum(1) - a).abs().sum() + (full.plan.sum(0) - b).abs().sum()
        assert full.marginal_error == pytest.approx(float(err)) and full.marginal_error < 2e-9
        cost, plan = pb.sinkhorn(c, a, b, epsilon=0.05)
        torch.testing.assert_close(cost, full.cost)
        torch.testing.assert_close(plan, full.plan)

    @pytest.mark.filterwarnings("error::lossbook.probabilistic.SinkhornConvergenceWarning")
    def test_a_converged_solve_is_silent_and_not_below_the_exact_cost(self):
        c, a, b = self.weighted(seed=29)
        exact = exact_ot(c.numpy(), a.numpy(), b.numpy())
        cost, _ = pb.sinkhorn(c, a, b, epsilon=3e-3 * float(c.max()))
        assert exact - 1e-9 <= cost.item() <= exact + 0.05 * exact

    @pytest.mark.parametrize("seed", [0, 1, 29])
    @pytest.mark.parametrize("epsilon", [0.5, 0.05])
    @pytest.mark.parametrize("scaling", [True, False])
    def test_fast_form_equals_the_reference_form(self, seed, epsilon, scaling):
        c, a, b = self.weighted(7, 6, seed=seed)
        fast = pb.sinkhorn(c, a, b, epsilon=epsilon, scaling=scaling, tol=1e-12, return_info=True)
        ref = pb.sinkhorn_reference(c, a, b, epsilon=epsilon, scaling=scaling, tol=1e-12, return_info=True)
        assert fast.converged and ref.converged
        torch.testing.assert_close(fast.plan, ref.plan, atol=1e-11, rtol=0)
        torch.testing.assert_close(fast.cost, ref.cost, atol=1e-11, rtol=0)

    @pytest.mark.parametrize("seed", [0, 1, 29])
    def test_fast_form_equals_the_reference_form_with_epsilon_scaling(self, seed):
        c, a, b = self.weighted(7, 6, seed=seed)
        epsilon = 1e-3 * float(c.max())  # below 3e-3 (max C - min C): the fast form scales too
        assert pb._scaling_stages(c, epsilon, True) == pb._epsilon_schedule(c, epsilon, True) != []
        fast = pb.sinkhorn(c, a, b, epsilon=epsilon, tol=1e-12, return_info=True)
        ref = pb.sinkhorn_reference(c, a, b, epsilon=epsilon, tol=1e-12, return_info=True)
        assert fast.converged and ref.converged
        torch.testing.assert_close(fast.plan, ref.plan, atol=1e-11, rtol=0)
        torch.testing.assert_close(fast.cost, ref.cost, atol=1e-11, rtol=0)

    def test_epsilon_scaling_only_below_its_threshold(self):
        c, _, _ = self.weighted(7, 6, seed=0)
        span = float(c.max() - c.min())
        assert pb._scaling_stages(c, 3e-3 * span, True) == []  # from zero potentials: as fast
        assert pb._scaling_stages(c, 2.9e-3 * span, True) == pb._epsilon_schedule(c, 2.9e-3 * span, True)
        assert len(pb._scaling_stages(c, 2.9e-3 * span, True)) == 9
        assert pb._scaling_stages(c, 1e-4 * span, False) == []

    def test_fast_form_survives_a_kernel_that_underflows(self):
        x, y = self.clouds()
        c = pb.cost_matrix(x, y)
        assert torch.exp(-c / 1e-3).sum(1).min().item() == 0.0  # the plain kernel underflows
        info = pb.sinkhorn(c, epsilon=1e-3, return_info=True)
        assert info.converged and torch.isfinite(info.plan).all()
        assert info.cost.item() == pytest.approx(exact_ot(c), rel=1e-6)

    def test_float32_default_tolerance_is_reachable(self):
        x, y = self.clouds(dtype=torch.float32)
        info = pb.sinkhorn(pb.cost_matrix(x, y), epsilon=1e-2, return_info=True)
        assert info.converged and pb.sinkhorn_default_tol(torch.float32) == 1e-5

    def test_scaling_changes_speed_not_the_answer(self):
        x, y = self.clouds(seed=65)
        c = pb.cost_matrix(x, y)
        with_scaling, _ = pb.sinkhorn(c, epsilon=0.05, max_iter=50_000, tol=1e-12)
        without, _ = pb.sinkhorn(c, epsilon=0.05, max_iter=50_000, tol=1e-12, scaling=False)
        torch.testing.assert_close(with_scaling, without, atol=1e-9, rtol=0)


# ------------------------------------------------------------------ error contract


class TestErrors:
    """What is particular to these functions; the shared contract is tests/test_contract.py."""

    @pytest.mark.parametrize(
        "fn",
        [
            pb.kl_divergence,
            pb.js_divergence,
            pb.distribution_cross_entropy,
            lambda p, q, **k: pb.entropy(p, **k),
        ],
    )
    def test_divergence_rejects_batchmean(self, fn):
        p = rand_dist((2, 3), 71)
        with pytest.raises(ValueError, match="reduction must be one of"):
            fn(p, p, reduction="batchmean")

    def test_kl_div_log_target_not_bool(self):
        with pytest.raises(TypeError, match="log_target must be a bool"):
            pb.kl_div(torch.zeros(3), torch.zeros(3), log_target="yes")

    def test_negative_probability(self):
        with pytest.raises(ValueError, match="q must hold finite, non-negative probabilities"):
            pb.kl_divergence(torch.tensor([0.5, 0.5]), torch.tensor([1.5, -0.5]))

    def test_unnormalised_distribution(self):
        with pytest.raises(ValueError, match="p must sum to 1"):
            pb.js_divergence(torch.tensor([0.5, 0.6]), torch.tensor([0.5, 0.5]))

    def test_scalar_distribution(self):
        with pytest.raises(ValueError, match="p must have at least one dimension"):
            pb.entropy(torch.tensor(1.0))

    def test_distribution_shape_mismatch(self):
        with pytest.raises(ValueError, match="p and q must have the same shape"):
            pb.kl_divergence(torch.tensor([0.5, 0.5]), torch.tensor([0.2, 0.3, 0.5]))

    @pytest.mark.parametrize("bad", [0.0, -1.0])
    def test_gaussian_std_not_positive(self, bad):
        with pytest.raises(ValueError, match="std_q must be positive"):
            pb.gaussian_kl(0.0, 1.0, 0.0, bad)

    def test_gaussian_shape_mismatch(self):
        with pytest.raises(ValueError, match="mu_p and mu_q must have the same shape"):
            pb.gaussian_kl(torch.zeros(2), torch.ones(2), torch.zeros(3), torch.ones(2))

    def test_wasserstein_order_below_one(self):
        with pytest.raises(ValueError, match=r"^order must be in \[1, inf\)"):
            pb.wasserstein_1d(torch.zeros(3), torch.ones(3), order=0.5)

    def test_wasserstein_not_1d(self):
        with pytest.raises(ValueError, match="u must be a non-empty 1-D tensor"):
            pb.wasserstein_1d(torch.zeros(3, 2), torch.ones(3))

    def test_wasserstein_empty(self):
        with pytest.raises(ValueError, match="v must be a non-empty 1-D tensor"):
            pb.wasserstein_1d(torch.zeros(3), torch.zeros(0))

    def test_wasserstein_negative_weights(self):
        with pytest.raises(ValueError, match="^v_weights must hold finite, non-negative weights"):
            pb.wasserstein_1d(torch.zeros(2), torch.ones(2), v_weights=torch.tensor([1.0, -1.0]))

    def test_wasserstein_zero_weights(self):
        with pytest.raises(ValueError, match="^u_weights must have a positive sum"):
            pb.wasserstein_1d(torch.zeros(2), torch.ones(2), u_weights=torch.zeros(2))

    def test_wasserstein_weight_shape(self):
        with pytest.raises(ValueError, match=r"^u_weights must have the shape of its samples \(2,\)"):
            pb.wasserstein_1d(torch.zeros(2), torch.ones(2), u_weights=torch.ones(3))

    def test_cost_matrix_dimension_mismatch(self):
        with pytest.raises(ValueError, match=r"x and y must have shapes \(n, d\) and \(m, d\)"):
            pb.cost_matrix(torch.zeros(3, 2), torch.zeros(3, 3))

    @pytest.mark.parametrize("bad", [0.0, -1e-3, math.inf])
    def test_sinkhorn_epsilon(self, bad):
        with pytest.raises(ValueError, match="epsilon must be positive"):
            pb.sinkhorn(torch.ones(2, 2), epsilon=bad)

    def test_sinkhorn_cost_not_matrix(self):
        with pytest.raises(ValueError, match="cost must be a non-empty"):
            pb.sinkhorn(torch.ones(3), epsilon=0.1)

    def test_sinkhorn_weight_shape(self):
        with pytest.raises(ValueError, match=r"b must have shape \(3,\)"):
            pb.sinkhorn(torch.ones(2, 3), None, torch.ones(2), epsilon=0.1)

    def test_sinkhorn_nonpositive_weight(self):
        with pytest.raises(ValueError, match="a must hold finite, positive weights"):
            pb.sinkhorn(torch.ones(2, 2), torch.tensor([1.0, 0.0]), epsilon=0.1)

    def test_sinkhorn_scaling_not_bool(self):
        with pytest.raises(TypeError, match="scaling must be a bool"):
            pb.sinkhorn(torch.ones(2, 2), epsilon=0.1, scaling=1)

    @pytest.mark.parametrize("bad", [math.nan, -1.0, math.inf])
    def test_sinkhorn_bad_weight(self, bad):
        with pytest.raises(ValueError, match="^b must hold finite, positive weights"):
            pb.sinkhorn(torch.ones(2, 2), None, torch.tensor([1.0, bad]), epsilon=0.1)

    def test_sinkhorn_return_info_not_bool(self):
        with pytest.raises(TypeError, match="return_info must be a bool"):
            pb.sinkhorn(torch.ones(2, 2), epsilon=0.1, return_info=1)

    def test_sinkhorn_max_iter(self):
        with pytest.raises(ValueError, match="max_iter must be a positive int"):
            pb.sinkhorn(torch.ones(2, 2), epsilon=0.1, max_iter=0)


# ----------------------------------------------------------- Hypothesis properties

probs = st.lists(st.floats(0.0, 1.0), min_size=2, max_size=8).filter(lambda v: sum(v) > 1e-3)


def normalise(v):
    t = torch.tensor(v, dtype=torch.float64)
    return t / t.sum()


@settings(max_examples=60, deadline=None)
@given(probs, st.data())
def test_kl_nonnegative_zero_iff_equal_and_js_symmetric_bounded(pv, data):
    qv = data.draw(st.lists(st.floats(0.01, 1.0), min_size=len(pv), max_size=len(pv)))
    p, q = normalise(pv), normalise(qv)
    kl = pb.kl_divergence(p, q).item()
    assert kl >= -1e-12
    assert pb.kl_divergence(p, p).item() == pytest.approx(0.0, abs=1e-12)
    js_pq, js_qp = pb.js_divergence(p, q).item(), pb.js_divergence(q, p).item()
    assert js_pq == pytest.approx(js_qp, abs=1e-12)
    assert -1e-12 <= js_pq <= math.log(2) + 1e-12
    # Pinsker: KL >= 2 TV^2 (a lower bound the chapter uses to relate KL to total variation).
    assert kl >= 2 * (0.5 * (p - q).abs().sum().item()) ** 2 - 1e-12


@settings(max_examples=60, deadline=None)
@given(st.floats(-5, 5), st.floats(0.1, 5), st.floats(-5, 5), st.floats(0.1, 5))
def test_gaussian_kl_nonnegative_and_zero_at_equality(mp, sp, mq, sq):
    assert pb.gaussian_kl(mp, sp, mq, sq).item() >= -1e-12
    assert pb.gaussian_kl(mp, sp, mp, sp).item() == pytest.approx(0.0, abs=1e-12)


samples = st.lists(st.floats(-100, 100), min_size=1, max_size=20)


@settings(max_examples=60, deadline=None)
@given(samples, samples, samples, st.floats(-10, 10))
def test_w1_is_a_metric_and_shift_equivariant(a, b, c, shift):
    u, v, w = (torch.tensor(s, dtype=torch.float64) for s in (a, b, c))
    d_uv, d_vu = pb.wasserstein_1d(u, v).item(), pb.wasserstein_1d(v, u).item()
    assert d_uv >= 0 and d_uv == pytest.approx(d_vu, abs=1e-9)
    assert pb.wasserstein_1d(u, u).item() == pytest.approx(0.0, abs=1e-12)
    assert d_uv <= pb.wasserstein_1d(u, w).item() + pb.wasserstein_1d(w, v).item() + 1e-9
    assert pb.wasserstein_1d(u, u + shift).item() == pytest.approx(abs(shift), abs=1e-9)
