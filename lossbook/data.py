"""Seeded synthetic data sets used across the book.

Nothing is downloaded: every data set is generated from a seed with a
:class:`torch.Generator`, so a notebook gives the same numbers on every run and
every machine. Each function says which chapter introduced it.
"""

from __future__ import annotations

import torch

from ._validation import check_in_range, check_nonnegative


def generator(seed: int, device: torch.device | str | None = None) -> torch.Generator:
    """A :class:`torch.Generator` seeded with ``seed`` (on ``device``, CPU by default)."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int; got {type(seed).__name__}")
    g = torch.Generator(device=device or "cpu")
    g.manual_seed(seed)
    return g


def _check_count(n: object, name: str, minimum: int = 1) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{name} must be an int; got {type(n).__name__}")
    if n < minimum:
        raise ValueError(f"{name} must be at least {minimum}; got {n}")
    return n


def linear_regression(
    n: int,
    d: int = 1,
    *,
    noise: float = 1.0,
    weight: torch.Tensor | None = None,
    bias: float = 0.0,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Samples of :math:`y = x^\top w + b + \sigma\varepsilon`, :math:`x` and :math:`\varepsilon` Gaussian.

    Args:
        n: number of samples (at least 1).
        d: number of features (at least 1).
        noise: the noise standard deviation :math:`\sigma \ge 0`.
        weight: the true weights, shape ``(d,)``; by default ``1, 2, ..., d`` scaled by ``1/d``.
        bias: the true intercept :math:`b`.
        seed: seed of the generator.
        dtype: floating dtype of the returned tensors.

    Returns:
        ``(x, y, weight)`` with shapes ``(n, d)``, ``(n,)`` and ``(d,)``.

    Introduced in Chapter 1 (risk minimisation).
    """
    n = _check_count(n, "n")
    d = _check_count(d, "d")
    noise = check_nonnegative(noise, "noise")
    g = generator(seed)
    if weight is None:
        weight = torch.arange(1, d + 1, dtype=dtype) / d
    else:
        weight = torch.as_tensor(weight, dtype=dtype)
        if weight.shape != (d,):
            raise ValueError(f"weight must have shape ({d},); got {tuple(weight.shape)}")
    x = torch.randn(n, d, generator=g, dtype=dtype)
    y = x @ weight + bias + noise * torch.randn(n, generator=g, dtype=dtype)
    return x, y, weight


def noisy_sine(
    n: int,
    *,
    noise: float = 0.3,
    low: float = 0.0,
    high: float = 1.0,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Samples of :math:`y = \sin(2\pi x) + \sigma\varepsilon`, :math:`x \sim U(\text{low}, \text{high})`.

    The classic curve-fitting problem (Bishop 2006, §1.1) used for regularised
    empirical risk minimisation. Returns ``(x, y)``, both of shape ``(n,)``.

    Introduced in Chapter 1 (risk minimisation).
    """
    n = _check_count(n, "n")
    noise = check_nonnegative(noise, "noise")
    if not high > low:
        raise ValueError(f"high must be greater than low; got low={low}, high={high}")
    g = generator(seed)
    x = low + (high - low) * torch.rand(n, generator=g, dtype=dtype)
    y = torch.sin(2 * torch.pi * x) + noise * torch.randn(n, generator=g, dtype=dtype)
    return x, y


def two_gaussians(
    n: int,
    *,
    distance: float = 3.0,
    positive_fraction: float = 0.5,
    d: int = 2,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""A binary classification problem: two unit-variance Gaussian classes.

    Class 1 is centred at :math:`(\text{distance}/2)\,e_1` and class 0 at
    :math:`-(\text{distance}/2)\,e_1`; ``positive_fraction`` sets the class balance
    (use a small value for imbalanced experiments).

    Returns:
        ``(x, y)``: features of shape ``(n, d)`` and integer labels in {0, 1} of shape ``(n,)``.

    Introduced in Chapter 1 (definition of a loss).
    """
    n = _check_count(n, "n")
    d = _check_count(d, "d")
    check_in_range(positive_fraction, "positive_fraction", 0.0, 1.0)
    g = generator(seed)
    y = (torch.rand(n, generator=g) < positive_fraction).long()
    centre = torch.zeros(d, dtype=dtype)
    centre[0] = distance / 2
    x = torch.randn(n, d, generator=g, dtype=dtype) + torch.where(y[:, None] == 1, centre, -centre)
    return x, y


def gaussian_classes(
    n: int,
    num_classes: int = 3,
    *,
    d: int = 2,
    radius: float = 1.5,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""A multi-class problem: unit-variance Gaussian classes with centres on a circle.

    Class :math:`k` is centred at :math:`r(\cos 2\pi k/K, \sin 2\pi k/K, 0, \dots, 0)`; the
    coordinates after the first two are pure noise, so a large ``d`` with a small ``n``
    gives a model room to overfit (and become over-confident). Labels are uniform.

    Returns:
        ``(x, y)``: features of shape ``(n, d)`` and integer labels in ``{0, ..., K-1}``.

    Introduced in Chapter 3 (label smoothing).
    """
    n = _check_count(n, "n")
    num_classes = _check_count(num_classes, "num_classes", minimum=2)
    d = _check_count(d, "d", minimum=2)
    radius = check_nonnegative(radius, "radius")
    g = generator(seed)
    y = torch.randint(num_classes, (n,), generator=g)
    angle = 2 * torch.pi * torch.arange(num_classes, dtype=dtype) / num_classes
    centres = torch.zeros(num_classes, d, dtype=dtype)
    centres[:, 0], centres[:, 1] = radius * torch.cos(angle), radius * torch.sin(angle)
    x = torch.randn(n, d, generator=g, dtype=dtype) + centres[y]
    return x, y


def location_sample(
    shape: int | tuple[int, ...],
    *,
    kind: str = "gaussian",
    scale: float = 1.0,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    r"""A sample of noise (or of a skewed variable) of the given ``shape``.

    ``kind`` is ``"gaussian"`` (:math:`\mathcal N(0, s^2)`), ``"laplace"`` (density
    :math:`e^{-|x|/s}/(2s)`), ``"lognormal"`` (:math:`e^{sZ}`, right-skewed, mean
    :math:`e^{s^2/2}` above median 1) or ``"exponential"`` (mean :math:`s`, :math:`\tau`-quantile
    :math:`-s\log(1-\tau)`), with ``s = scale``.

    Introduced in Chapter 2 (regression losses: mean vs median, MLE under each noise).
    """
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    for i, n in enumerate(shape):
        _check_count(n, f"shape[{i}]")
    scale = check_nonnegative(scale, "scale")
    g = generator(seed)
    if kind == "gaussian":
        return scale * torch.randn(shape, generator=g, dtype=dtype)
    if kind == "laplace":
        u = torch.rand(shape, generator=g, dtype=dtype) - 0.5  # inverse CDF of the Laplace law
        return -scale * torch.sign(u) * torch.log1p(-2 * u.abs())
    if kind == "lognormal":
        return torch.exp(scale * torch.randn(shape, generator=g, dtype=dtype))
    if kind == "exponential":
        return -scale * torch.log1p(-torch.rand(shape, generator=g, dtype=dtype))
    raise ValueError(f"kind must be one of 'gaussian', 'laplace', 'lognormal', 'exponential'; got {kind!r}")


def conditioned_least_squares(
    n: int,
    d: int,
    *,
    condition_number: float,
    noise: float = 0.1,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""A least-squares problem whose :math:`X^\top X / n` has eigenvalues exactly ``1 … condition_number``.

    :math:`X = \sqrt n\, U \operatorname{diag}(\sqrt{\lambda})V^\top` with random orthonormal
    :math:`U, V` and :math:`\lambda` log-spaced from 1 to :math:`\kappa`; :math:`y = Xw + \sigma\varepsilon`
    with :math:`w` standard normal. Returns ``(X, y)`` of shapes ``(n, d)`` and ``(n,)``.

    Introduced in Chapter 2 (gradient descent on least squares).
    """
    n = _check_count(n, "n")
    d = _check_count(d, "d")
    if n < d:
        raise ValueError(f"n must be at least d; got n={n}, d={d}")
    kappa = check_nonnegative(condition_number, "condition_number")
    if kappa < 1:
        raise ValueError(f"condition_number must be at least 1; got {kappa}")
    g = generator(seed)
    u, _ = torch.linalg.qr(torch.randn(n, d, generator=g, dtype=dtype))
    v, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=dtype))
    lam = torch.logspace(0, torch.log10(torch.tensor(kappa, dtype=dtype)).item(), d, dtype=dtype)
    x = (n**0.5) * u @ torch.diag(lam.sqrt()) @ v.T
    w = torch.randn(d, generator=g, dtype=dtype)
    return x, x @ w + noise * torch.randn(n, generator=g, dtype=dtype)


def contaminated_sample(
    reps: int,
    n: int,
    *,
    fraction: float,
    outlier_mean: float = 10.0,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    r"""``reps`` samples of size ``n`` from :math:`\mathcal N(0, 1)`, a ``fraction`` of each made outliers.

    In each row exactly ``round(fraction * n)`` points are drawn from
    :math:`\mathcal N(\text{outlier\_mean}, 1)` instead (one-sided contamination, the hard
    case for a location estimator: the true location stays 0). Shape ``(reps, n)``.

    Introduced in Chapter 2 (Huber loss: robustness under contamination).
    """
    reps = _check_count(reps, "reps")
    n = _check_count(n, "n")
    fraction = check_in_range(fraction, "fraction", 0.0, 1.0)
    g = generator(seed)
    sample = torch.randn(reps, n, generator=g, dtype=dtype)
    m = round(fraction * n)
    sample[:, :m] += outlier_mean
    return sample


def heteroscedastic_regression(
    n: int,
    *,
    intercept: float = 1.0,
    slope: float = 2.0,
    noise_base: float = 0.2,
    noise_slope: float = 1.0,
    high: float = 2.0,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Samples of :math:`y = a + bx + (s_0 + s_1 x)\,\varepsilon` whose noise grows with :math:`x`.

    Here :math:`x \sim U(0, \text{high})` and :math:`\varepsilon \sim \mathcal N(0,1)`.

    The conditional :math:`\tau`-quantile
    :math:`a + bx + (s_0 + s_1 x)\,\Phi^{-1}(\tau)` is linear in :math:`x` with a slope that
    depends on :math:`\tau`. Returns ``(x, y)``, both of shape ``(n,)``.

    Introduced in Chapter 2 (quantile regression).
    """
    n = _check_count(n, "n")
    g = generator(seed)
    x = high * torch.rand(n, generator=g, dtype=dtype)
    y = intercept + slope * x + (noise_base + noise_slope * x) * torch.randn(n, generator=g, dtype=dtype)
    return x, y


# ---------------------------------------------------------------- Chapter 9 (choosing a loss)


def ordinal_regression(
    n: int,
    *,
    num_classes: int = 5,
    noise: float = 0.5,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Ordinal labels from a latent linear score: :math:`y = \#\{k : x^\top w + \varepsilon > c_k\}`.

    :math:`x \sim \mathcal N(0, I_2)`, :math:`w = (1.5, -1)`, logistic noise of scale ``noise``
    and ``num_classes - 1`` thresholds :math:`c_k` at the quantiles of :math:`x^\top w` (so every
    rank occurs). Returns ``(x, y)``: ``x`` of shape ``(n, 2)``, ``y`` integer ranks in
    :math:`\{0, \dots, K - 1\}`.

    Introduced in Chapter 9 (ordinal regression, CORAL).
    """
    from ._validation import check_positive_int

    n = _check_count(n, "n")
    num_classes = check_positive_int(num_classes, "num_classes")
    noise = check_nonnegative(noise, "noise")
    g = generator(seed)
    x = torch.randn(n, 2, generator=g, dtype=dtype)
    score = x @ torch.tensor([1.5, -1.0], dtype=dtype)
    u = torch.rand(n, generator=g, dtype=dtype).clamp(1e-12, 1 - 1e-12)
    latent = score + noise * torch.log(u / (1 - u))
    probs = torch.arange(1, num_classes, dtype=dtype) / num_classes
    cuts = torch.quantile(score, probs)
    y = (latent[:, None] > cuts).sum(1)
    return x, y


def outlier_regression(
    n: int,
    *,
    fraction: float = 0.1,
    noise: float = 0.5,
    outlier_scale: float = 20.0,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Linear regression :math:`y = x^\top w + 1 + \text{noise}\,\varepsilon` with gross outliers.

    :math:`x \sim \mathcal N(0, I_3)`, :math:`w = (2, -1, 0.5)`; exactly ``round(fraction * n)``
    targets, at random positions, get ``outlier_scale`` times a :math:`|{\mathcal N}(0,1)|`
    draw added (one-sided, as a data-entry or sensor error). Returns ``(x, y, clean)``:
    the inputs, the contaminated targets and the targets before contamination.

    Introduced in Chapter 9 (the case study).
    """
    n = _check_count(n, "n")
    fraction = check_in_range(fraction, "fraction", 0.0, 1.0)
    noise = check_nonnegative(noise, "noise")
    outlier_scale = check_nonnegative(outlier_scale, "outlier_scale")
    g = generator(seed)
    x = torch.randn(n, 3, generator=g, dtype=dtype)
    clean = (
        x @ torch.tensor([2.0, -1.0, 0.5], dtype=dtype)
        + 1.0
        + noise * torch.randn(n, generator=g, dtype=dtype)
    )
    m = round(fraction * n)
    where = torch.randperm(n, generator=g)[:m]
    y = clean.clone()
    y[where] += outlier_scale * torch.randn(m, generator=g, dtype=dtype).abs()
    return x, y, clean
