"""lossbook.generative: Gaussian KL, reparameterisation, ELBO / β-VAE, GAN losses, gradient penalty.

References are independent of the implementation: torch.distributions (KL, log-densities),
torch.nn.functional's binary cross-entropy, closed forms, and autograd through explicit formulas.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from support import assert_grad_matches_autograd, assert_gradcheck, assert_rejects_reduction

from lossbook import data
from lossbook import generative as gen

SHAPES = [(5, 1), (4, 3), (2, 3, 6)]
D64 = torch.float64


def randn(shape, seed, dtype=D64, scale=1.0):
    return scale * torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def torch_kl(mu, logvar):
    """KL to N(0, 1) per element from torch.distributions."""
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    return torch.distributions.kl_divergence(q, p)


# -------------------------------------------------------------------------- kl_standard_normal


class TestGaussianKl:
    @pytest.mark.parametrize("shape", SHAPES)
    def test_values_and_gradients_match_torch_distributions(self, shape):
        mu = randn(shape, 0).requires_grad_(True)
        lv = randn(shape, 1).requires_grad_(True)
        ref = torch_kl(mu, lv)
        for reduction, expected in [
            ("none", ref),
            ("sum", ref.sum()),
            ("mean", ref.mean()),
            ("batchmean", ref.sum(-1).mean()),
        ]:
            torch.testing.assert_close(gen.kl_standard_normal(mu, lv, reduction=reduction), expected)
        ours = torch.autograd.grad(gen.kl_standard_normal(mu, lv, reduction="sum"), (mu, lv))
        theirs = torch.autograd.grad(ref.sum(), (mu, lv))
        for a, b in zip(ours, theirs, strict=True):
            torch.testing.assert_close(a, b)

    def test_default_is_sum_over_latent_mean_over_batch(self):
        mu, lv = randn((7, 3), 2), randn((7, 3), 3)
        torch.testing.assert_close(gen.kl_standard_normal(mu, lv), torch_kl(mu, lv).sum(1).mean())

    def test_reduction_algebra(self):
        mu, lv = randn((6, 4), 4), randn((6, 4), 5)
        none = gen.kl_standard_normal(mu, lv, reduction="none")
        assert none.shape == (6, 4)
        torch.testing.assert_close(gen.kl_standard_normal(mu, lv, reduction="sum"), none.sum())
        torch.testing.assert_close(gen.kl_standard_normal(mu, lv, reduction="mean"), none.mean())
        torch.testing.assert_close(gen.kl_standard_normal(mu, lv, reduction="batchmean"), none.sum() / 6)

    def test_closed_form_gradient_equals_autograd(self):
        mu = randn((5, 3), 6).requires_grad_(True)
        lv = randn((5, 3), 7).requires_grad_(True)
        gen.kl_standard_normal(mu, lv, reduction="sum").backward()
        g_mu, g_lv = gen.kl_standard_normal_grad(mu.detach(), lv.detach())
        torch.testing.assert_close(g_mu, mu.grad)
        torch.testing.assert_close(g_lv, lv.grad)

    def test_gradcheck(self):
        lv = randn((3, 2), 9)
        assert_gradcheck(lambda m: gen.kl_standard_normal(m, lv), randn((3, 2), 8))
        mu = randn((3, 2), 10)
        assert_gradcheck(lambda v: gen.kl_standard_normal(mu, v), randn((3, 2), 11))

    def test_stable_for_extreme_log_variance(self):
        lv = torch.tensor([[-1e4, -50.0, 0.0, 1e-9, 50.0]], dtype=D64)
        mu = torch.zeros_like(lv)
        out = gen.kl_standard_normal(mu, lv, reduction="none")
        assert torch.isfinite(out).all()
        assert out[0, 0].item() == pytest.approx(0.5 * (1e4 - 1))
        # near sigma^2 = 1 the naive exp(lv) - 1 - lv loses every digit; expm1 keeps them
        assert out[0, 3].item() == pytest.approx(0.25 * 1e-18, rel=1e-6)
        for dtype in (torch.float32, torch.float16, torch.bfloat16):
            lv_d = torch.tensor([[-1e4, -20.0, 0.0, 5.0]], dtype=dtype)
            o = gen.kl_standard_normal(torch.zeros_like(lv_d), lv_d, reduction="none")
            assert o.dtype == dtype and torch.isfinite(o).all()

    def test_keeps_dtype_and_device(self):
        for dtype in (torch.float32, D64, torch.bfloat16):
            mu, lv = randn((3, 2), 0, dtype), randn((3, 2), 1, dtype)
            for reduction in gen.GAUSSIAN_KL_REDUCTIONS:
                out = gen.kl_standard_normal(mu, lv, reduction=reduction)
                assert out.dtype == dtype and out.device == mu.device

    def test_array_likes_accepted(self):
        out = gen.kl_standard_normal([[1.0, 0.0]], [[0.0, 0.0]])
        assert out.item() == pytest.approx(0.5)

    def test_empty_batch_gives_zero_that_backpropagates(self):
        mu = torch.zeros(0, 3, requires_grad=True)
        out = gen.kl_standard_normal(mu, torch.zeros(0, 3))
        assert out.item() == 0.0
        out.backward()

    def test_rejects_unknown_reduction(self):
        with pytest.raises(ValueError, match="reduction must be one of"):
            gen.kl_standard_normal(randn((2, 2), 0), randn((2, 2), 1), reduction="avg")

    def test_rejects_shape_mismatch(self):
        with pytest.raises(ValueError, match="mu and logvar must have the same shape"):
            gen.kl_standard_normal(randn((2, 3), 0), randn((2, 1), 1))

    def test_rejects_integer_input(self):
        with pytest.raises(TypeError, match="mu must be a floating-point"):
            gen.kl_standard_normal(torch.zeros(2, 2, dtype=torch.long), randn((2, 2), 1))

    def test_rejects_scalar(self):
        with pytest.raises(ValueError, match="mu must have at least one dimension"):
            gen.kl_standard_normal(torch.tensor(0.0), torch.tensor(0.0))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-50, 50).map(lambda i: i / 10), min_size=1, max_size=6),
    st.lists(st.integers(-80, 80).map(lambda i: i / 10), min_size=1, max_size=6),
)
def test_kl_is_nonnegative_and_zero_only_at_standard_normal(mus, lvs):
    k = min(len(mus), len(lvs))
    mu = torch.tensor([mus[:k]], dtype=D64)
    lv = torch.tensor([lvs[:k]], dtype=D64)
    kl = gen.kl_standard_normal(mu, lv, reduction="none")
    assert (kl >= 0).all()
    # each coordinate's KL is at least mu^2 / 2 and at least (s^2 - 1 - log s^2) / 2 > 0 off s^2 = 1
    assert torch.all(kl >= 0.5 * mu**2 - 1e-12)
    is_standard = (mu == 0) & (lv == 0)
    assert torch.all((kl == 0) == is_standard)


@settings(max_examples=40, deadline=None)
@given(st.floats(-3, 3), st.floats(-4, 4))
def test_kl_is_even_in_mu(m, v):
    a = gen.kl_standard_normal(torch.tensor([[m]], dtype=D64), torch.tensor([[v]], dtype=D64))
    b = gen.kl_standard_normal(torch.tensor([[-m]], dtype=D64), torch.tensor([[v]], dtype=D64))
    assert a.item() == b.item()


# ------------------------------------------------------------------------ reparameterize


class TestReparameterize:
    def test_sample_is_mu_plus_sigma_eps_with_the_generators_noise(self):
        mu, lv = randn((4, 3), 0), randn((4, 3), 1)
        z = gen.reparameterize(mu, lv, generator=data.generator(5))
        eps = torch.randn((4, 3), generator=data.generator(5), dtype=D64)
        torch.testing.assert_close(z, mu + torch.exp(0.5 * lv) * eps)

    def test_gradients_are_the_pathwise_derivative(self):
        mu = randn((6, 2), 2).requires_grad_(True)
        lv = randn((6, 2), 3).requires_grad_(True)
        z = gen.reparameterize(mu, lv, generator=data.generator(7))
        eps = torch.randn((6, 2), generator=data.generator(7), dtype=D64)
        (z**2).sum().backward()
        torch.testing.assert_close(mu.grad, 2 * z.detach())
        torch.testing.assert_close(lv.grad, 2 * z.detach() * eps * 0.5 * torch.exp(0.5 * lv.detach()))

    def test_gradcheck(self):
        lv = randn((3, 2), 4)
        assert_gradcheck(lambda m: gen.reparameterize(m, lv, generator=data.generator(0)), randn((3, 2), 5))

    def test_moments(self):
        mu = torch.full((200_000, 1), 1.5, dtype=D64)
        lv = torch.full((200_000, 1), math.log(0.25), dtype=D64)
        z = gen.reparameterize(mu, lv, generator=data.generator(0))
        assert abs(z.mean().item() - 1.5) < 5 * 0.5 / math.sqrt(2e5)
        assert abs(z.std().item() - 0.5) < 0.01

    def test_keeps_dtype(self):
        for dtype in (torch.float32, D64, torch.float16):
            z = gen.reparameterize(
                randn((2, 2), 0, dtype), randn((2, 2), 1, dtype), generator=data.generator(0)
            )
            assert z.dtype == dtype

    def test_rejects_missing_generator(self):
        with pytest.raises(TypeError, match="generator must be a torch.Generator"):
            gen.reparameterize(randn((2, 2), 0), randn((2, 2), 1), generator=0)

    def test_rejects_shape_mismatch(self):
        with pytest.raises(ValueError, match="mu and logvar must have the same shape"):
            gen.reparameterize(randn((2, 2), 0), randn((2,), 1), generator=data.generator(0))


# --------------------------------------------------------------- diag_gaussian_log_prob


class TestDiagGaussianLogProb:
    @pytest.mark.parametrize("shape", SHAPES)
    def test_matches_torch_distributions(self, shape):
        x, m, v = randn(shape, 0), randn(shape, 1), randn(shape, 2)
        ref = torch.distributions.Normal(m, torch.exp(0.5 * v)).log_prob(x).sum(-1)
        torch.testing.assert_close(gen.diag_gaussian_log_prob(x, m, v), ref)

    def test_scalar_log_variance(self):
        x, m = randn((3, 4), 0), randn((3, 4), 1)
        ref = torch.distributions.Normal(m, math.exp(0.5 * 0.3)).log_prob(x).sum(-1)
        torch.testing.assert_close(gen.diag_gaussian_log_prob(x, m, 0.3), ref)

    def test_gradcheck(self):
        m, v = randn((2, 3), 1), randn((2, 3), 2)
        assert_gradcheck(lambda x: gen.diag_gaussian_log_prob(x, m, v), randn((2, 3), 0))

    def test_rejects_shape_mismatch(self):
        with pytest.raises(ValueError, match="x and mean must have the same shape"):
            gen.diag_gaussian_log_prob(randn((2, 3), 0), randn((3,), 1), 0.0)

    def test_rejects_logvar_shape_mismatch(self):
        with pytest.raises(ValueError, match="x and logvar must have the same shape"):
            gen.diag_gaussian_log_prob(randn((2, 3), 0), randn((2, 3), 1), randn((2, 1), 2))


# ----------------------------------------------------------------------------- elbo_loss


class TestElboLoss:
    def setup_method(self):
        self.nll = randn((6,), 0).abs() + 1
        self.mu, self.lv = randn((6, 3), 1), randn((6, 3), 2)
        self.kl = torch_kl(self.mu, self.lv)  # (6, 3)

    @pytest.mark.parametrize("beta", [0.0, 0.5, 1.0, 4.0])
    def test_value_is_reconstruction_plus_beta_kl(self, beta):
        per = self.nll + beta * self.kl.sum(1)
        args = (self.nll, self.mu, self.lv)
        torch.testing.assert_close(gen.elbo_loss(*args, beta=beta, reduction="none"), per)
        torch.testing.assert_close(gen.elbo_loss(*args, beta=beta), per.mean())
        torch.testing.assert_close(gen.elbo_loss(*args, beta=beta, reduction="sum"), per.sum())

    def test_free_bits_clamp_the_batch_average_per_dimension(self):
        lam = 0.8
        clamped = torch.clamp(self.kl.mean(0), min=lam).sum()
        expected = self.nll.mean() + 2.0 * clamped
        out = gen.elbo_loss(self.nll, self.mu, self.lv, beta=2.0, free_bits=lam)
        torch.testing.assert_close(out, expected)
        out_sum = gen.elbo_loss(self.nll, self.mu, self.lv, beta=2.0, free_bits=lam, reduction="sum")
        torch.testing.assert_close(out_sum, 6 * expected)
        # a dimension below the floor gets no gradient from the KL term
        mu = self.mu.clone().requires_grad_(True)
        gen.elbo_loss(self.nll, mu, self.lv, free_bits=1e6).backward()
        assert torch.count_nonzero(mu.grad) == 0

    def test_free_bits_zero_is_the_plain_loss(self):
        a = gen.elbo_loss(self.nll, self.mu, self.lv, free_bits=0.0)
        torch.testing.assert_close(a, gen.elbo_loss(self.nll, self.mu, self.lv))

    def test_gradcheck(self):
        assert_gradcheck(lambda m: gen.elbo_loss(self.nll, m, self.lv, beta=1.5), self.mu)
        assert_gradcheck(lambda v: gen.elbo_loss(self.nll, self.mu, v, free_bits=0.3), self.lv + 0.1)

    def test_exact_posterior_makes_the_bound_tight(self):
        # one observation x of z ~ N(0,1), x | z ~ N(z, s2): posterior N(x/(1+s2), s2/(1+s2))
        x, s2 = 1.3, 0.5
        pm, pv = x / (1 + s2), s2 / (1 + s2)
        # E_q[-log p(x|z)] in closed form for q = the posterior
        nll = 0.5 * (math.log(2 * math.pi * s2) + ((x - pm) ** 2 + pv) / s2)
        loss = gen.elbo_loss(
            torch.tensor([nll], dtype=D64),
            torch.tensor([[pm]], dtype=D64),
            torch.tensor([[math.log(pv)]], dtype=D64),
        )
        log_px = torch.distributions.Normal(torch.tensor(0.0, dtype=D64), math.sqrt(1 + s2)).log_prob(
            torch.tensor(x, dtype=D64)
        )
        assert loss.item() == pytest.approx(-log_px.item(), abs=1e-12)

    def test_rejects_unknown_reduction(self):
        assert_rejects_reduction(gen.elbo_loss, self.nll, self.mu, self.lv)

    def test_rejects_negative_beta(self):
        with pytest.raises(ValueError, match="beta must be non-negative"):
            gen.elbo_loss(self.nll, self.mu, self.lv, beta=-1.0)

    def test_rejects_negative_free_bits(self):
        with pytest.raises(ValueError, match="free_bits must be non-negative"):
            gen.elbo_loss(self.nll, self.mu, self.lv, free_bits=-0.1)

    def test_rejects_free_bits_without_batch_reduction(self):
        with pytest.raises(ValueError, match="free_bits > 0 clamps a batch average"):
            gen.elbo_loss(self.nll, self.mu, self.lv, free_bits=0.5, reduction="none")

    def test_rejects_wrong_reconstruction_shape(self):
        with pytest.raises(ValueError, match="recon_nll must have shape"):
            gen.elbo_loss(self.nll[:5], self.mu, self.lv)


@settings(max_examples=30, deadline=None)
@given(st.floats(0, 3), st.floats(0, 3), st.integers(0, 1000))
def test_elbo_loss_is_monotone_in_beta(b1, b2, seed):
    nll, mu, lv = randn((4,), seed).abs(), randn((4, 2), seed + 1), randn((4, 2), seed + 2)
    lo, hi = sorted((b1, b2))
    assert gen.elbo_loss(nll, mu, lv, beta=lo) <= gen.elbo_loss(nll, mu, lv, beta=hi) + 1e-12


# --------------------------------------------------------------------------- active_units


class TestActiveUnits:
    def test_counts_dimensions_with_varying_means(self):
        mu = torch.cat([randn((100, 2), 0), 1e-3 * randn((100, 3), 1)], dim=1)
        assert gen.active_units(mu) == 2
        assert gen.active_units(mu, threshold=1e-9) == 5

    def test_rejects_one_example(self):
        with pytest.raises(ValueError, match="mu must have shape"):
            gen.active_units(torch.zeros(1, 3))

    def test_rejects_negative_threshold(self):
        with pytest.raises(ValueError, match="threshold must be non-negative"):
            gen.active_units(torch.zeros(4, 3), threshold=-1.0)


# ---------------------------------------------------------------------------- GAN losses


class TestGanLosses:
    @pytest.mark.parametrize("shape", [(7,), (3, 4)])
    def test_discriminator_loss_is_binary_cross_entropy(self, shape):
        r = randn(shape, 0, scale=3).requires_grad_(True)
        f = randn(shape, 1, scale=3).requires_grad_(True)
        ref = F.binary_cross_entropy_with_logits(r, torch.ones_like(r), reduction="none") + (
            F.binary_cross_entropy_with_logits(f, torch.zeros_like(f), reduction="none")
        )
        out = gen.gan_discriminator_loss(r, f, reduction="none")
        torch.testing.assert_close(out, ref)
        torch.testing.assert_close(gen.gan_discriminator_loss(r, f), ref.mean())
        ga = torch.autograd.grad(out.sum(), (r, f))
        gb = torch.autograd.grad(ref.sum(), (r, f))
        for a, b in zip(ga, gb, strict=True):
            torch.testing.assert_close(a, b)

    def test_generator_losses_against_probabilities(self):
        a = randn((9,), 2, scale=2)
        d = torch.sigmoid(a)
        torch.testing.assert_close(gen.minimax_generator_loss(a, reduction="none"), torch.log(1 - d))
        torch.testing.assert_close(gen.non_saturating_generator_loss(a, reduction="none"), -torch.log(d))

    def test_generator_gradients_in_the_logit(self):
        # d/da log(1 - sigma(a)) = -sigma(a);  d/da -log sigma(a) = -(1 - sigma(a))
        a = randn((9,), 3, scale=4).requires_grad_(True)
        (g_mm,) = torch.autograd.grad(gen.minimax_generator_loss(a, reduction="sum"), a)
        (g_ns,) = torch.autograd.grad(gen.non_saturating_generator_loss(a, reduction="sum"), a)
        d = torch.sigmoid(a.detach())
        torch.testing.assert_close(g_mm, -d)
        torch.testing.assert_close(g_ns, -(1 - d))

    @pytest.mark.parametrize(
        ("loss", "grad"),
        [
            (gen.minimax_generator_loss, gen.minimax_generator_loss_grad),
            (gen.non_saturating_generator_loss, gen.non_saturating_generator_loss_grad),
        ],
    )
    def test_closed_form_generator_gradients_equal_autograd(self, loss, grad):
        for shape in [(7,), (3, 4)]:
            assert_grad_matches_autograd(loss, grad, randn(shape, 11, scale=5))
        a = torch.tensor([-1e4, 1e4], dtype=torch.float32)
        assert torch.isfinite(grad(a)).all() and grad(a).dtype == torch.float32

    def test_gradcheck(self):
        f = randn((4,), 5)
        assert_gradcheck(lambda r: gen.gan_discriminator_loss(r, f), randn((4,), 4))
        assert_gradcheck(gen.minimax_generator_loss, randn((4,), 6))
        assert_gradcheck(gen.non_saturating_generator_loss, randn((4,), 7))
        assert_gradcheck(lambda r: gen.wgan_critic_loss(r, f), randn((4,), 8))
        assert_gradcheck(gen.wgan_generator_loss, randn((4,), 9))

    def test_finite_at_extreme_logits(self):
        for dtype in (torch.float32, torch.float16, torch.bfloat16):
            a = torch.tensor([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=dtype).requires_grad_(True)
            for loss in (gen.minimax_generator_loss, gen.non_saturating_generator_loss):
                out = loss(a, reduction="sum")
                (g,) = torch.autograd.grad(out, a)
                assert torch.isfinite(out) and torch.isfinite(g).all() and out.dtype == dtype
            out = gen.gan_discriminator_loss(a, a.flip(0), reduction="none")
            assert torch.isfinite(out).all()
        # at a = -1e4 the minimax loss is 0 with a zero gradient (saturated); non-saturating: 1e4
        a = torch.tensor([-1e4], dtype=D64)
        assert gen.minimax_generator_loss(a).item() == 0.0
        assert gen.non_saturating_generator_loss(a).item() == pytest.approx(1e4)

    def test_wgan_losses(self):
        r, f = randn((5,), 0), randn((5,), 1)
        torch.testing.assert_close(gen.wgan_critic_loss(r, f), f.mean() - r.mean())
        torch.testing.assert_close(gen.wgan_generator_loss(f), -f.mean())

    @pytest.mark.parametrize(
        "loss",
        [
            gen.minimax_generator_loss,
            gen.non_saturating_generator_loss,
            gen.wgan_generator_loss,
        ],
    )
    def test_reduction_algebra_and_dtype_single(self, loss):
        a = randn((3, 4), 0)
        none = loss(a, reduction="none")
        torch.testing.assert_close(loss(a, reduction="sum"), none.sum())
        torch.testing.assert_close(loss(a, reduction="mean"), none.mean())
        for dtype in (torch.float32, torch.bfloat16):
            assert loss(a.to(dtype)).dtype == dtype
        assert_rejects_reduction(loss, a)

    @pytest.mark.parametrize("loss", [gen.gan_discriminator_loss, gen.wgan_critic_loss])
    def test_reduction_algebra_and_dtype_pair(self, loss):
        r, f = randn((3, 4), 0), randn((3, 4), 1)
        none = loss(r, f, reduction="none")
        torch.testing.assert_close(loss(r, f, reduction="sum"), none.sum())
        torch.testing.assert_close(loss(r, f, reduction="mean"), none.mean())
        for dtype in (torch.float32, torch.bfloat16):
            assert loss(r.to(dtype), f.to(dtype)).dtype == dtype
        assert_rejects_reduction(loss, r, f)

    @pytest.mark.parametrize("loss", [gen.gan_discriminator_loss, gen.wgan_critic_loss])
    def test_pair_rejects_shape_mismatch(self, loss):
        with pytest.raises(ValueError, match="must have the same shape"):
            loss(randn((4,), 0), randn((4, 1), 1))

    @pytest.mark.parametrize("loss", [gen.minimax_generator_loss, gen.non_saturating_generator_loss])
    def test_rejects_integer_logits(self, loss):
        with pytest.raises(TypeError, match="fake_logits must be a floating-point"):
            loss(torch.zeros(3, dtype=torch.long))


@settings(max_examples=60, deadline=None)
@given(st.floats(-30, 30))
def test_non_saturating_gradient_dominates_where_the_discriminator_rejects(a):
    # |d loss / d logit|: minimax D, non-saturating 1 - D; the latter is larger iff D < 1/2
    t = torch.tensor([a], dtype=D64, requires_grad=True)
    (g_mm,) = torch.autograd.grad(gen.minimax_generator_loss(t), t)
    (g_ns,) = torch.autograd.grad(gen.non_saturating_generator_loss(t), t)
    assert (g_mm.abs() + g_ns.abs()).item() == pytest.approx(1.0)
    if a < -1e-6:
        assert g_ns.abs() > g_mm.abs()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-20, 20), min_size=1, max_size=8), st.lists(st.floats(-20, 20), min_size=1, max_size=8)
)
def test_discriminator_loss_is_at_least_zero_and_symmetric_under_swap(rs, fs):
    k = min(len(rs), len(fs))
    r, f = torch.tensor(rs[:k], dtype=D64), torch.tensor(fs[:k], dtype=D64)
    out = gen.gan_discriminator_loss(r, f, reduction="none")
    assert (out >= 0).all()
    # relabelling (real <-> fake, logits negated) leaves the loss unchanged
    torch.testing.assert_close(gen.gan_discriminator_loss(-f, -r, reduction="none"), out)


def test_clip_parameters():
    layer = torch.nn.Linear(3, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.5, -0.5, 0.001], [2.0, -3.0, 0.0]]))
    gen.clip_parameters_(layer.parameters(), c=0.01)
    assert layer.weight.abs().max().item() == pytest.approx(0.01)
    assert layer.weight[0, 2].item() == pytest.approx(0.001)
    with pytest.raises(ValueError, match="c must be positive"):
        gen.clip_parameters_(layer.parameters(), c=0.0)


# ---------------------------------------------------------------------- gradient_penalty


class TestGradientPenalty:
    def setup_method(self):
        self.real, self.fake = randn((8, 3), 0), randn((8, 3), 1)

    def test_zero_for_a_unit_norm_linear_critic(self):
        w = torch.tensor([0.6, 0.0, 0.8], dtype=D64)
        out = gen.gradient_penalty(lambda x: x @ w, self.real, self.fake, generator=data.generator(0))
        assert out.item() == pytest.approx(0.0, abs=1e-15)

    @pytest.mark.parametrize("scale", [0.0, 0.5, 3.0])
    def test_linear_critic_closed_form(self, scale):
        w = scale * torch.tensor([0.6, 0.0, 0.8], dtype=D64)
        out = gen.gradient_penalty(
            lambda x: x @ w, self.real, self.fake, reduction="none", generator=data.generator(0)
        )
        torch.testing.assert_close(out, torch.full((8,), (scale - 1) ** 2, dtype=D64))

    def test_parameter_gradient_for_a_linear_critic_in_closed_form(self):
        # penalty (|w| - 1)^2 for every sample, so d/dw = 2 (|w| - 1) w / |w|
        w = torch.tensor([1.5, -2.0, 0.5], dtype=D64, requires_grad=True)
        out = gen.gradient_penalty(lambda x: x @ w, self.real, self.fake, generator=data.generator(0))
        (g,) = torch.autograd.grad(out, w)
        norm = w.detach().norm()
        torch.testing.assert_close(g, 2 * (norm - 1) * w.detach() / norm)

    def test_value_and_parameter_gradient_for_a_quadratic_critic(self):
        # f(x) = 0.5 x^T A x: grad = A x_hat; penalty (|A x_hat| - 1)^2
        a = torch.tensor([[1.0, 0.2, 0.0], [0.2, 2.0, 0.1], [0.0, 0.1, 0.5]], dtype=D64, requires_grad=True)
        out = gen.gradient_penalty(
            lambda x: 0.5 * ((x @ a) * x).sum(1), self.real, self.fake, generator=data.generator(3)
        )
        alpha = torch.rand((8, 1), generator=data.generator(3), dtype=D64)
        x_hat = alpha * self.real + (1 - alpha) * self.fake
        a_ref = a.detach().clone().requires_grad_(True)
        sym = 0.5 * (a_ref + a_ref.T)
        ref = (((x_hat @ sym.T).norm(dim=1) - 1) ** 2).mean()
        torch.testing.assert_close(out, ref)
        torch.testing.assert_close(torch.autograd.grad(out, a)[0], torch.autograd.grad(ref, a_ref)[0])

    def test_gradcheck_through_the_critic_parameters(self):
        def penalty(w):
            return gen.gradient_penalty(
                lambda x: torch.tanh(x @ w).sum(1), self.real, self.fake, generator=data.generator(4)
            )

        assert_gradcheck(penalty, randn((3, 2), 5, scale=0.7))

    def test_per_sample_norm_over_all_non_batch_dimensions(self):
        real, fake = randn((4, 2, 3), 0), randn((4, 2, 3), 1)
        w = randn((2, 3), 2)
        out = gen.gradient_penalty(lambda x: (x * w).sum((1, 2)), real, fake, reduction="none")
        torch.testing.assert_close(out, torch.full((4,), (w.norm().item() - 1) ** 2, dtype=D64))

    def test_finite_gradient_where_the_critic_is_flat(self):
        w = torch.zeros(3, dtype=D64, requires_grad=True)
        out = gen.gradient_penalty(lambda x: (x @ w) ** 2, self.real, self.fake)
        (g,) = torch.autograd.grad(out, w)
        assert out.item() == pytest.approx(1.0) and torch.isfinite(g).all()

    def test_generator_makes_it_reproducible(self):
        crit = torch.nn.Sequential(
            torch.nn.Linear(3, 4, dtype=D64), torch.nn.Tanh(), torch.nn.Linear(4, 1, dtype=D64)
        )
        a = gen.gradient_penalty(crit, self.real, self.fake, generator=data.generator(9))
        b = gen.gradient_penalty(crit, self.real, self.fake, generator=data.generator(9))
        assert a.item() == b.item()
        assert a.dtype == D64

    def test_trains_the_critic_only(self):
        real = self.real.clone().requires_grad_(True)
        crit = torch.nn.Linear(3, 1, dtype=D64)
        gen.gradient_penalty(crit, real, self.fake).backward()
        assert real.grad is None and crit.weight.grad is not None

    def test_reduction_algebra(self):
        crit = torch.nn.Sequential(
            torch.nn.Linear(3, 4, dtype=D64), torch.nn.Tanh(), torch.nn.Linear(4, 1, dtype=D64)
        )
        kw = dict(generator=None)
        torch.manual_seed(0)
        none = gen.gradient_penalty(crit, self.real, self.fake, reduction="none", generator=data.generator(1))
        s = gen.gradient_penalty(crit, self.real, self.fake, reduction="sum", generator=data.generator(1))
        m = gen.gradient_penalty(crit, self.real, self.fake, reduction="mean", generator=data.generator(1))
        torch.testing.assert_close(s, none.sum())
        torch.testing.assert_close(m, none.mean())
        assert none.shape == (8,) and kw

    def test_rejects_unknown_reduction(self):
        assert_rejects_reduction(gen.gradient_penalty, torch.nn.Linear(3, 1, dtype=D64), self.real, self.fake)

    def test_rejects_non_callable_critic(self):
        with pytest.raises(TypeError, match="critic must be callable"):
            gen.gradient_penalty(3.0, self.real, self.fake)

    def test_rejects_shape_mismatch(self):
        with pytest.raises(ValueError, match="real and fake must have the same shape"):
            gen.gradient_penalty(torch.nn.Linear(3, 1, dtype=D64), self.real, self.fake[:4])

    def test_rejects_bad_generator(self):
        with pytest.raises(TypeError, match="generator must be a torch.Generator"):
            gen.gradient_penalty(torch.nn.Linear(3, 1, dtype=D64), self.real, self.fake, generator=1)

    def test_rejects_critic_with_wrong_output_shape(self):
        with pytest.raises(ValueError, match="critic must return scores of shape"):
            gen.gradient_penalty(lambda x: x, self.real, self.fake)

    def test_rejects_integer_samples(self):
        with pytest.raises(TypeError, match="real must be a floating-point"):
            gen.gradient_penalty(torch.nn.Linear(3, 1), torch.zeros(2, 3, dtype=torch.long), self.fake[:2])


# ------------------------------------------------------------------------- mode_coverage


class TestModeCoverage:
    def test_counts_covered_modes(self):
        centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]], dtype=D64)
        samples = torch.tensor([[0.1, 0.0], [0.0, 0.1], [10.0, 0.2], [5.0, 5.0]], dtype=D64)
        assert gen.mode_coverage(samples, centres, radius=0.5) == (2, 0.75)
        assert gen.mode_coverage(samples, centres, radius=0.5, min_count=2) == (1, 0.75)

    def test_rejects_nonpositive_radius(self):
        with pytest.raises(ValueError, match="radius must be positive"):
            gen.mode_coverage(torch.zeros(2, 2), torch.zeros(1, 2), radius=0.0)

    def test_rejects_bad_min_count(self):
        with pytest.raises(ValueError, match="min_count must be a positive int"):
            gen.mode_coverage(torch.zeros(2, 2), torch.zeros(1, 2), radius=1.0, min_count=0)

    def test_rejects_dimension_mismatch(self):
        with pytest.raises(ValueError, match="samples and centres must have shapes"):
            gen.mode_coverage(torch.zeros(2, 2), torch.zeros(1, 3), radius=1.0)


# ---------------------------------------------------------------- data generators (Ch. 7)


class TestChapter7Data:
    def test_ring_of_gaussians(self):
        x, centres = data.ring_of_gaussians(4000, modes=8, radius=2.0, std=0.05, seed=1)
        assert x.shape == (4000, 2) and centres.shape == (8, 2) and x.dtype == D64
        torch.testing.assert_close(centres.norm(dim=1), torch.full((8,), 2.0, dtype=D64))
        covered, frac = gen.mode_coverage(x, centres, radius=0.15, min_count=400)
        assert covered == 8 and frac > 0.98
        x2, _ = data.ring_of_gaussians(4000, modes=8, radius=2.0, std=0.05, seed=1)
        assert torch.equal(x, x2)

    def test_ring_rejects_bad_modes(self):
        with pytest.raises(ValueError, match="modes must be at least 1"):
            data.ring_of_gaussians(10, modes=0)

    def test_ring_rejects_negative_std(self):
        with pytest.raises(ValueError, match="std must be non-negative"):
            data.ring_of_gaussians(10, std=-1.0)

    def test_linear_gaussian_latent_has_the_ppca_covariance(self):
        x, w, b = data.linear_gaussian_latent(200_000, d=4, k=2, noise=0.5, seed=0)
        assert x.shape == (200_000, 4) and w.shape == (4, 2) and b.shape == (4,)
        cov = torch.cov(x.T)
        torch.testing.assert_close(cov, w @ w.T + 0.25 * torch.eye(4, dtype=D64), atol=0.05, rtol=0.02)
        torch.testing.assert_close(x.mean(0), b, atol=0.02, rtol=0)

    def test_linear_gaussian_latent_rejects_negative_noise(self):
        with pytest.raises(ValueError, match="noise must be non-negative"):
            data.linear_gaussian_latent(10, noise=-0.1)
