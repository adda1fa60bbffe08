r"""Generative-model losses: the ELBO and β-VAE, GAN losses and the gradient penalty.

Two families of objectives for models that *generate* data:

* **variational autoencoders** maximise the evidence lower bound (ELBO). The pieces are the
  closed-form KL divergence of a diagonal Gaussian to the standard normal
  (:func:`kl_standard_normal`), the reparameterised sample :func:`reparameterize`, the diagonal
  Gaussian log-density :func:`diag_gaussian_log_prob`, and the loss itself,
  :func:`elbo_loss` (the negative ELBO, with the β of the β-VAE and optional free bits).
  :func:`active_units` counts the latent dimensions a trained encoder uses;
* **generative adversarial networks** play a two-player game. The discriminator's loss
  :func:`gan_discriminator_loss` and the two generator losses, :func:`minimax_generator_loss`
  (the original zero-sum objective) and :func:`non_saturating_generator_loss`, all take the
  discriminator's *logits*, so they are computed with ``softplus`` and never take the log of
  a saturated sigmoid. The Wasserstein GAN's critic and generator losses
  (:func:`wgan_critic_loss`, :func:`wgan_generator_loss`) take raw critic scores; the critic is
  kept (roughly) 1-Lipschitz by :func:`clip_parameters_` (WGAN) or :func:`gradient_penalty`
  (WGAN-GP). :func:`mode_coverage` counts the modes of a mixture that samples reach.

Randomness (the reparameterisation noise, the penalty's interpolation weights) comes from an
explicit :class:`torch.Generator`; it is drawn on the generator's own device and moved to the
input's, so a seed gives the same numbers on the CPU and on a GPU.

Introduced in Chapter 7 (:doc:`/book/generative/index`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F

from ._numerics import safe_norm, upcast
from ._validation import (
    as_float_tensor,
    check_nonnegative,
    check_positive,
    check_reduction,
    check_same_device,
    check_same_shape,
    reduce,
)

__all__ = [
    "GAUSSIAN_KL_REDUCTIONS",
    "active_units",
    "clip_parameters_",
    "diag_gaussian_log_prob",
    "elbo_loss",
    "gan_discriminator_loss",
    "kl_standard_normal",
    "kl_standard_normal_grad",
    "gradient_penalty",
    "minimax_generator_loss",
    "minimax_generator_loss_grad",
    "mode_coverage",
    "non_saturating_generator_loss",
    "non_saturating_generator_loss_grad",
    "reparameterize",
    "wgan_critic_loss",
    "wgan_generator_loss",
]

GAUSSIAN_KL_REDUCTIONS: tuple[str, ...] = ("batchmean", "none", "sum", "mean")
"""The reductions :func:`kl_standard_normal` accepts; ``"batchmean"`` is the VAE's convention."""

_LOG_2PI = math.log(2 * math.pi)


def _check_generator(generator: object, *, optional: bool = False) -> None:
    if generator is None and optional:
        return
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator; got {type(generator).__name__}")


def _draw(kind: str, shape: tuple[int, ...], like: torch.Tensor, generator: torch.Generator | None):
    """``randn`` / ``rand`` of ``shape`` from ``generator``'s device, moved to ``like``'s."""
    draw = torch.randn if kind == "normal" else torch.rand
    dtype = like.dtype if like.dtype not in (torch.float16, torch.bfloat16) else torch.float32
    if generator is None:
        return draw(shape, device=like.device, dtype=dtype).to(like.dtype)
    out = draw(shape, generator=generator, device=generator.device, dtype=dtype)
    return out.to(device=like.device, dtype=like.dtype)


def _mu_logvar(mu: object, logvar: object) -> tuple[torch.Tensor, torch.Tensor]:
    mu = as_float_tensor(mu, "mu")
    logvar = as_float_tensor(logvar, "logvar", like=mu)
    check_same_shape(mu, logvar, ("mu", "logvar"))
    check_same_device(("mu", mu), ("logvar", logvar))
    if mu.dim() == 0:
        raise ValueError("mu must have at least one dimension (the latent dimensions); got a scalar")
    return mu, logvar.to(mu.dtype)


# ----------------------------------------------------------------------------- the VAE


def kl_standard_normal(mu, logvar, *, reduction: str = "batchmean") -> torch.Tensor:
    r"""Closed-form :math:`\mathrm{KL}(\mathcal N(\mu, \operatorname{diag}\sigma^2)\,\|\,\mathcal N(0, I))`.

    .. math::

        \mathrm{KL} = \tfrac12 \sum_{j} \big(\mu_j^2 + \sigma_j^2 - 1 - \log\sigma_j^2\big),
        \qquad \sigma_j^2 = e^{\texttt{logvar}_j},

    computed as :math:`\mu^2 + \operatorname{expm1}(\log\sigma^2) - \log\sigma^2`, which has no
    cancellation near :math:`\sigma^2 = 1` and stays finite for :math:`\log\sigma^2 = -10^4`.

    Args:
        mu: posterior means, shape ``(..., d)``: the last dimension is the latent one.
        logvar: posterior log-variances :math:`\log\sigma^2`, the same shape.
        reduction: ``"batchmean"`` (default: summed over the latent dimension and averaged over
            the rest, the VAE's per-example KL) | ``"none"`` (per element, shape ``(..., d)``) |
            ``"sum"`` | ``"mean"`` (over every element, i.e. ``batchmean / d``).

    Reference: Kingma & Welling, "Auto-encoding variational Bayes" (2014), appendix B.

    Examples:
        >>> import torch
        >>> from lossbook.generative import kl_standard_normal
        >>> kl_standard_normal(torch.zeros(1, 2), torch.zeros(1, 2))
        tensor(0.)
        >>> kl_standard_normal(torch.ones(1, 2), torch.zeros(1, 2))
        tensor(1.)
    """
    check_reduction(reduction, GAUSSIAN_KL_REDUCTIONS)
    mu, logvar = _mu_logvar(mu, logvar)
    m, lv = upcast(mu, logvar)
    kl = 0.5 * (m * m + torch.expm1(lv) - lv)
    if reduction == "batchmean":
        per_example = kl.sum(-1)
        out = per_example.sum() if per_example.numel() == 0 else per_example.mean()
    else:
        out = reduce(kl, reduction)
    return out.to(mu.dtype)


def kl_standard_normal_grad(mu, logvar) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Gradient of the summed :func:`kl_standard_normal`: :math:`(\mu,\ \tfrac12(\sigma^2 - 1))`.

    Examples:
        >>> import torch
        >>> from lossbook.generative import kl_standard_normal_grad
        >>> kl_standard_normal_grad(torch.tensor([[1.0]]), torch.tensor([[0.0]]))
        (tensor([[1.]]), tensor([[0.]]))
    """
    mu, logvar = _mu_logvar(mu, logvar)
    return mu.clone(), 0.5 * torch.expm1(logvar)


def reparameterize(mu, logvar, *, generator: torch.Generator) -> torch.Tensor:
    r"""A differentiable sample :math:`z = \mu + \sigma \odot \varepsilon` with standard normal noise.

    The noise comes from ``generator`` (drawn on its device, then moved to ``mu``'s), so the
    sample depends on :math:`\mu` and :math:`\log\sigma^2` only through a differentiable map.

    Args:
        mu: means, any shape.
        logvar: log-variances, the same shape.
        generator: the :class:`torch.Generator` the noise is drawn from (required).

    Reference: Kingma & Welling (2014), section 2.4.

    Examples:
        >>> import torch
        >>> from lossbook.generative import reparameterize
        >>> from lossbook.data import generator
        >>> z = reparameterize(torch.zeros(2, 3), torch.zeros(2, 3), generator=generator(0))
        >>> z.shape
        torch.Size([2, 3])
    """
    mu, logvar = _mu_logvar(mu, logvar)
    _check_generator(generator)
    eps = _draw("normal", tuple(mu.shape), mu, generator)
    return mu + torch.exp(0.5 * logvar) * eps


def diag_gaussian_log_prob(x, mean, logvar) -> torch.Tensor:
    r"""Log-density of a diagonal Gaussian, summed over the last dimension.

    .. math:: \log \mathcal N(x; m, \operatorname{diag} e^{v})
              = -\tfrac12 \sum_j \big(\log 2\pi + v_j + (x_j - m_j)^2 e^{-v_j}\big)

    ``logvar`` may be a tensor of ``x``'s shape or a Python number (one shared log-variance).
    Returns a tensor of shape ``x.shape[:-1]``.

    Examples:
        >>> import torch
        >>> from lossbook.generative import diag_gaussian_log_prob
        >>> diag_gaussian_log_prob(torch.zeros(1, 2), torch.zeros(1, 2), torch.zeros(1, 2))
        tensor([-1.8379])
    """
    x = as_float_tensor(x, "x")
    mean = as_float_tensor(mean, "mean", like=x)
    check_same_shape(x, mean, ("x", "mean"))
    if isinstance(logvar, (int, float)) and not isinstance(logvar, bool):
        logvar = torch.full_like(x, float(logvar))
    logvar = as_float_tensor(logvar, "logvar", like=x)
    check_same_shape(x, logvar, ("x", "logvar"))
    check_same_device(("x", x), ("mean", mean), ("logvar", logvar))
    if x.dim() == 0:
        raise ValueError("x must have at least one dimension; got a scalar")
    xc, mc, vc = upcast(x, mean.to(x.dtype), logvar.to(x.dtype))
    out = -0.5 * (_LOG_2PI + vc + (xc - mc) ** 2 * torch.exp(-vc)).sum(-1)
    return out.to(x.dtype)


def elbo_loss(
    recon_nll,
    mu,
    logvar,
    *,
    beta: float = 1.0,
    free_bits: float = 0.0,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""The negative ELBO of a Gaussian-encoder VAE, with the β of the β-VAE and free bits.

    .. math::

        \mathcal L = \underbrace{-\log p_\theta(x \mid z)}_{\texttt{recon\_nll}}
        + \beta \sum_j \mathrm{KL}_j, \qquad
        \mathrm{KL}_j = \mathrm{KL}\big(\mathcal N(\mu_j, \sigma_j^2)\,\|\,\mathcal N(0, 1)\big).

    With :math:`\beta = 1` this is :math:`-\mathrm{ELBO}`, an upper bound on
    :math:`-\log p(x)`. With ``free_bits`` :math:`= \lambda > 0` (Kingma et al. 2016) each
    latent dimension's KL, *averaged over the batch*, is replaced by
    :math:`\max(\lambda, \overline{\mathrm{KL}}_j)`: a dimension may carry up to :math:`\lambda`
    nats without penalty, so the optimiser gains nothing by switching it off. The clamp acts
    on a batch average, so free bits need ``reduction="mean"`` or ``"sum"`` (``"sum"`` is the
    mean times the batch size).

    Args:
        recon_nll: the reconstruction term :math:`-\log p_\theta(x \mid z)` per example, shape ``(n,)``.
        mu, logvar: the encoder's outputs, shape ``(n, d)``.
        beta: the KL weight :math:`\beta \ge 0`.
        free_bits: :math:`\lambda \ge 0` nats per latent dimension (0: none).
        reduction: ``"mean"`` | ``"sum"`` | ``"none"`` (per example; not with free bits).

    Reference: Higgins et al., "β-VAE" (2017); Kingma et al., "Improved variational inference
    with inverse autoregressive flow" (2016) for free bits.

    Examples:
        >>> import torch
        >>> from lossbook.generative import elbo_loss
        >>> elbo_loss(torch.tensor([2.0]), torch.zeros(1, 2), torch.zeros(1, 2))
        tensor(2.)
        >>> elbo_loss(torch.tensor([2.0]), torch.ones(1, 2), torch.zeros(1, 2), beta=4.0)
        tensor(6.)
    """
    check_reduction(reduction)
    beta = check_nonnegative(beta, "beta")
    free_bits = check_nonnegative(free_bits, "free_bits")
    if free_bits > 0 and reduction == "none":
        raise ValueError('free_bits > 0 clamps a batch average, so reduction must be "mean" or "sum"')
    recon_nll = as_float_tensor(recon_nll, "recon_nll", like=mu)
    mu = as_float_tensor(mu, "mu", like=recon_nll)
    check_same_device(("recon_nll", recon_nll), ("mu", mu))
    mu, logvar = _mu_logvar(mu, logvar)
    if mu.dim() != 2 or recon_nll.shape != mu.shape[:1]:
        raise ValueError(
            f"recon_nll must have shape (n,) and mu, logvar shape (n, d); got recon_nll "
            f"{tuple(recon_nll.shape)} and mu {tuple(mu.shape)}"
        )
    dtype = torch.promote_types(recon_nll.dtype, mu.dtype)
    nll, mu, logvar = upcast(recon_nll, mu, logvar)  # half precision: the terms and sums in float32
    kl = kl_standard_normal(mu, logvar, reduction="none")  # (n, d)
    if free_bits > 0:
        n = mu.shape[0]
        kl_dims = kl.mean(0) if n else kl.sum(0)
        mean = reduce(nll, "mean") + beta * torch.clamp(kl_dims, min=free_bits).sum()
        return (mean * n if reduction == "sum" else mean).to(dtype)
    return reduce(nll.to(mu.dtype) + beta * kl.sum(-1), reduction).to(dtype)


def active_units(mu, *, threshold: float = 0.01) -> int:
    r"""The number of latent dimensions whose posterior mean varies with the input.

    A unit :math:`j` is active when :math:`\operatorname{Var}_x\big(\mathbb E_{q(z|x)} z_j\big)
    > \texttt{threshold}`; ``mu`` holds the posterior means of a data set, shape ``(n, d)``.

    Reference: Burda, Grosse & Salakhutdinov, "Importance weighted autoencoders" (2016).

    Examples:
        >>> import torch
        >>> from lossbook.generative import active_units
        >>> mu = torch.tensor([[0.0, 1.0], [0.0, -1.0]])
        >>> active_units(mu)
        1
    """
    mu = as_float_tensor(mu, "mu")
    threshold = check_nonnegative(threshold, "threshold")
    if mu.dim() != 2 or mu.shape[0] < 2:
        raise ValueError(f"mu must have shape (n, d) with n >= 2; got {tuple(mu.shape)}")
    (m,) = upcast(mu.detach())
    return int((m.var(0, unbiased=False) > threshold).sum())


# --------------------------------------------------------------------------- GAN losses


def _logits(x: object, name: str) -> torch.Tensor:
    return as_float_tensor(x, name)


def _pair(real: object, fake: object, names: tuple[str, str]) -> tuple[torch.Tensor, torch.Tensor]:
    a, b = names
    real = as_float_tensor(real, a)
    fake = as_float_tensor(fake, b, like=real)
    check_same_shape(real, fake, names)
    check_same_device((a, real), (b, fake))
    return real, fake.to(real.dtype)


def gan_discriminator_loss(real_logits, fake_logits, *, reduction: str = "mean") -> torch.Tensor:
    r"""The GAN discriminator's loss, from logits: binary cross-entropy, real = 1 and fake = 0.

    .. math:: \ell = -\log D(x) - \log(1 - D(G(z)))
              = \operatorname{softplus}(-a_{\text{real}}) + \operatorname{softplus}(a_{\text{fake}}),
              \qquad D = \sigma(a).

    The same for the minimax and the non-saturating GAN (they differ only in the generator's
    loss). Element ``i`` pairs the ``i``-th real with the ``i``-th fake logit, so both need the
    same shape; ``"mean"`` is :math:`-\hat{\mathbb E}\log D(x) - \hat{\mathbb E}\log(1 - D(G(z)))`.

    Reference: Goodfellow et al., "Generative adversarial nets" (2014), Algorithm 1.

    Examples:
        >>> import torch
        >>> from lossbook.generative import gan_discriminator_loss
        >>> gan_discriminator_loss(torch.tensor([0.0]), torch.tensor([0.0]))
        tensor(1.3863)
    """
    check_reduction(reduction)
    real, fake = _pair(real_logits, fake_logits, ("real_logits", "fake_logits"))
    r, f = upcast(real, fake)
    return reduce(F.softplus(-r) + F.softplus(f), reduction).to(real.dtype)


def minimax_generator_loss(fake_logits, *, reduction: str = "mean") -> torch.Tensor:
    r"""The original (zero-sum, "saturating") generator loss, from logits.

    .. math:: \ell = \log(1 - D(G(z))) = -\operatorname{softplus}(a), \qquad D = \sigma(a),

    minimised by the generator. Its gradient in the logit is :math:`-D(G(z))`, which vanishes
    when the discriminator confidently rejects the sample (:math:`D \to 0`).

    Reference: Goodfellow et al. (2014), equation 1.

    Examples:
        >>> import torch
        >>> from lossbook.generative import minimax_generator_loss
        >>> minimax_generator_loss(torch.tensor([0.0, -5.0]), reduction="none")
        tensor([-0.6931, -0.0067])
    """
    check_reduction(reduction)
    f = _logits(fake_logits, "fake_logits")
    (fc,) = upcast(f)
    return reduce(-F.softplus(fc), reduction).to(f.dtype)


def minimax_generator_loss_grad(fake_logits) -> torch.Tensor:
    r"""Gradient of the summed :func:`minimax_generator_loss` in the logit: :math:`-\sigma(a) = -D(G(z))`.

    Examples:
        >>> import torch
        >>> from lossbook.generative import minimax_generator_loss_grad
        >>> minimax_generator_loss_grad(torch.tensor([0.0, -5.0]))
        tensor([-0.5000, -0.0067])
    """
    f = _logits(fake_logits, "fake_logits")
    (fc,) = upcast(f)
    return (-torch.sigmoid(fc)).to(f.dtype)


def non_saturating_generator_loss(fake_logits, *, reduction: str = "mean") -> torch.Tensor:
    r"""The non-saturating generator loss, from logits.

    .. math:: \ell = -\log D(G(z)) = \operatorname{softplus}(-a), \qquad D = \sigma(a).

    Its gradient in the logit is :math:`-(1 - D(G(z)))`, largest where the minimax one vanishes.

    Reference: Goodfellow et al. (2014), section 3.

    Examples:
        >>> import torch
        >>> from lossbook.generative import non_saturating_generator_loss
        >>> non_saturating_generator_loss(torch.tensor([0.0, -5.0]), reduction="none")
        tensor([0.6931, 5.0067])
    """
    check_reduction(reduction)
    f = _logits(fake_logits, "fake_logits")
    (fc,) = upcast(f)
    return reduce(F.softplus(-fc), reduction).to(f.dtype)


def non_saturating_generator_loss_grad(fake_logits) -> torch.Tensor:
    r"""Gradient of the summed :func:`non_saturating_generator_loss`: :math:`-\sigma(-a) = -(1 - D(G(z)))`.

    Examples:
        >>> import torch
        >>> from lossbook.generative import non_saturating_generator_loss_grad
        >>> non_saturating_generator_loss_grad(torch.tensor([0.0, -5.0]))
        tensor([-0.5000, -0.9933])
    """
    f = _logits(fake_logits, "fake_logits")
    (fc,) = upcast(f)
    return (-torch.sigmoid(-fc)).to(f.dtype)


def wgan_critic_loss(real_scores, fake_scores, *, reduction: str = "mean") -> torch.Tensor:
    r"""The Wasserstein critic's loss: :math:`\ell = f(G(z)) - f(x)`, minimised by the critic.

    Its negative mean estimates :math:`W_1` from the Kantorovich–Rubinstein dual when the critic
    :math:`f` is 1-Lipschitz. Real and fake scores are paired element by element (same shape).

    Reference: Arjovsky, Chintala & Bottou, "Wasserstein GAN" (2017), Algorithm 1.

    Examples:
        >>> import torch
        >>> from lossbook.generative import wgan_critic_loss
        >>> wgan_critic_loss(torch.tensor([3.0]), torch.tensor([1.0]))
        tensor(-2.)
    """
    check_reduction(reduction)
    real, fake = _pair(real_scores, fake_scores, ("real_scores", "fake_scores"))
    rc, fc = upcast(real, fake)  # half precision: the terms and their reduction in float32
    return reduce(fc - rc, reduction).to(real.dtype)


def wgan_generator_loss(fake_scores, *, reduction: str = "mean") -> torch.Tensor:
    r"""The Wasserstein generator's loss: :math:`\ell = -f(G(z))`.

    Reference: Arjovsky, Chintala & Bottou (2017), Algorithm 1.

    Examples:
        >>> import torch
        >>> from lossbook.generative import wgan_generator_loss
        >>> wgan_generator_loss(torch.tensor([1.0, 2.0]))
        tensor(-1.5000)
    """
    check_reduction(reduction)
    fake = _logits(fake_scores, "fake_scores")
    return reduce(-upcast(fake)[0], reduction).to(fake.dtype)


@torch.no_grad()
def clip_parameters_(parameters: Iterable[torch.Tensor], *, c: float = 0.01) -> None:
    r"""Clip every parameter to :math:`[-c, c]` in place: the original WGAN's Lipschitz constraint.

    Reference: Arjovsky, Chintala & Bottou (2017), Algorithm 1 (:math:`c = 0.01`).

    Examples:
        >>> import torch
        >>> from lossbook.generative import clip_parameters_
        >>> w = torch.tensor([0.5, -0.005])
        >>> clip_parameters_([w], c=0.01)
        >>> w
        tensor([ 0.0100, -0.0050])
    """
    c = check_positive(c, "c")
    for p in parameters:
        p.clamp_(-c, c)


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real,
    fake,
    *,
    generator: torch.Generator | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""The WGAN-GP gradient penalty :math:`(\|\nabla_{\hat x} f(\hat x)\|_2 - 1)^2`.

    .. math:: \hat x_i = \alpha_i x_i + (1 - \alpha_i)\,\tilde x_i, \qquad \alpha_i \sim U[0, 1],

    one :math:`\alpha_i` per example, drawn from ``generator`` (the global generator when
    ``None``). The gradient is taken with ``torch.autograd.grad(create_graph=True)``, so the
    penalty back-propagates into the critic's parameters, and its norm is per example, over all
    non-batch dimensions, with a finite gradient even where the critic's gradient is 0. The
    interpolates are detached from ``real`` and ``fake``: the penalty trains the critic only.
    Multiply by :math:`\lambda` (10 in the paper) and add it to :func:`wgan_critic_loss`.
    For float16 / bfloat16 samples the norm, its distance to 1 and the reduction are formed in
    float32 and the result is cast back: near :math:`\|\nabla\| = 1`, where the penalty keeps the
    critic, a norm rounded to half precision first would leave little of the difference.

    Args:
        critic: maps a batch of shape ``real.shape`` to scores of shape ``(n,)`` or ``(n, 1)``.
        real: real samples, shape ``(n, ...)``.
        fake: generated samples, the same shape.
        generator: the :class:`torch.Generator` for :math:`\alpha`, or ``None``.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"`` (per example, shape ``(n,)``).

    Reference: Gulrajani et al., "Improved training of Wasserstein GANs" (2017), Algorithm 1.

    Examples:
        >>> import torch
        >>> from lossbook.generative import gradient_penalty
        >>> real, fake = torch.zeros(2, 3), torch.ones(2, 3)
        >>> gradient_penalty(lambda x: 2 * x.sum(dim=1), real, fake)
        tensor(6.0718)
    """
    check_reduction(reduction)
    if not callable(critic):
        raise TypeError(f"critic must be callable (a module or a function); got {type(critic).__name__}")
    _check_generator(generator, optional=True)
    real, fake = _pair(real, fake, ("real", "fake"))
    if real.dim() == 0:
        raise ValueError("real must have a batch dimension; got a scalar")
    n = real.shape[0]
    alpha = _draw("uniform", (n,) + (1,) * (real.dim() - 1), real, generator)
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    with torch.enable_grad():
        scores = critic(x_hat)
        if not isinstance(scores, torch.Tensor) or scores.shape not in ((n,), (n, 1)):
            shape = tuple(scores.shape) if isinstance(scores, torch.Tensor) else type(scores).__name__
            raise ValueError(f"critic must return scores of shape ({n},) or ({n}, 1); got {shape}")
        (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    (grad32,) = upcast(grad)  # half precision: the norm, its distance to 1 and the reduction in float32
    norm = safe_norm(grad32.reshape(n, -1), dim=1)
    return reduce((norm - 1) ** 2, reduction).to(grad.dtype)


def mode_coverage(samples, centres, *, radius: float, min_count: int = 1) -> tuple[int, float]:
    r"""How many modes of a mixture the ``samples`` reach, and what fraction of samples is near one.

    A sample is *high quality* when it lies within ``radius`` of its nearest centre; a mode is
    *covered* when at least ``min_count`` high-quality samples are nearest to it.

    Returns:
        ``(modes_covered, high_quality_fraction)``.

    Reference: Srivastava et al., "VEEGAN" (2017), section 5 (with radius three standard deviations).

    Examples:
        >>> import torch
        >>> from lossbook.generative import mode_coverage
        >>> centres = torch.tensor([[0.0, 0.0], [5.0, 5.0]])
        >>> mode_coverage(torch.tensor([[0.1, 0.0], [0.0, 0.1], [2.5, 2.5]]), centres, radius=0.5)
        (1, 0.6666666666666666)
    """
    samples = as_float_tensor(samples, "samples")
    centres = as_float_tensor(centres, "centres", like=samples)
    radius = check_positive(radius, "radius")
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise ValueError(f"min_count must be a positive int; got {min_count!r}")
    if samples.dim() != 2 or centres.dim() != 2 or samples.shape[1] != centres.shape[1]:
        raise ValueError(
            f"samples and centres must have shapes (n, d) and (k, d); got {tuple(samples.shape)} "
            f"and {tuple(centres.shape)}"
        )
    dist = torch.cdist(samples.detach().double(), centres.detach().to(samples.device).double())
    nearest, which = dist.min(1)
    good = nearest <= radius
    counts = torch.bincount(which[good], minlength=centres.shape[0])
    fraction = float(good.double().mean()) if samples.shape[0] else 0.0
    return int((counts >= min_count).sum()), fraction
