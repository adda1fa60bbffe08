"""Seeded synthetic data sets used across the book.

Nothing is downloaded: every data set is generated from a seed with a
:class:`torch.Generator`, so a notebook gives the same numbers on every run and
every machine. Each function says which chapter introduced it.
"""

from __future__ import annotations

import torch

from ._validation import check_in_range, check_nonnegative


def generator(seed: int, device: torch.device | str | None = None) -> torch.Generator:
    """A :class:`torch.Generator` seeded with ``seed`` (on ``device``, CPU by default).

    Examples:
        >>> import torch
        >>> from lossbook.data import generator
        >>> g = generator(0)
        >>> torch.equal(torch.randn(3, generator=g), torch.randn(3, generator=generator(0)))
        True
    """
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

    Examples:
        >>> from lossbook.data import linear_regression
        >>> x, y, w = linear_regression(100, 3, seed=1)
        >>> x.shape, y.shape, w.shape
        (torch.Size([100, 3]), torch.Size([100]), torch.Size([3]))
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

    Examples:
        >>> from lossbook.data import noisy_sine
        >>> x, y = noisy_sine(50)
        >>> x.shape, bool((0 <= x).all() and (x <= 1).all())
        (torch.Size([50]), True)
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

    Examples:
        >>> from lossbook.data import two_gaussians
        >>> x, y = two_gaussians(10, d=2)
        >>> x.shape, sorted(y.unique().tolist())
        (torch.Size([10, 2]), [0, 1])
    """
    n = _check_count(n, "n")
    d = _check_count(d, "d")
    check_in_range(positive_fraction, "positive_fraction", 0.0, 1.0)
    g = generator(seed)
    # The labels' uniforms in float32 whatever `dtype` or torch's default: one seed, one data set.
    y = (torch.rand(n, generator=g, dtype=torch.float32) < positive_fraction).long()
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

    Examples:
        >>> from lossbook.data import gaussian_classes
        >>> x, y = gaussian_classes(30, 3)
        >>> x.shape, y.bincount().tolist()
        (torch.Size([30, 2]), [11, 6, 13])
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

    Examples:
        >>> from lossbook.data import location_sample
        >>> location_sample((2, 5), kind="gaussian").shape
        torch.Size([2, 5])
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


def house_prices(dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The house prices of the MSE section, in dollars: 99 homes spread evenly from $200K to $300K
    and one $5M mansion, the outlier that dominates the mean squared error.

    Introduced in Chapter 2 (mean squared error: the house-price example); the comparison of
    regression losses quotes it again.

    Examples:
        >>> from lossbook.data import house_prices
        >>> prices = house_prices()
        >>> prices.shape, float(prices.median()), float(prices.max())
        (torch.Size([100]), 250000.0, 5000000.0)
    """
    return torch.cat([torch.linspace(200e3, 300e3, 99, dtype=dtype), torch.tensor([5e6], dtype=dtype)])


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

    Examples:
        >>> import torch
        >>> from lossbook.data import conditioned_least_squares
        >>> x, y = conditioned_least_squares(200, 3, condition_number=10.0)
        >>> torch.linalg.eigvalsh(x.T @ x / 200)
        tensor([ 1.0000,  3.1623, 10.0000], dtype=torch.float64)
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

    Examples:
        >>> from lossbook.data import contaminated_sample
        >>> contaminated_sample(4, 20, fraction=0.1).shape
        torch.Size([4, 20])
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

    Examples:
        >>> from lossbook.data import heteroscedastic_regression
        >>> x, y = heteroscedastic_regression(100)
        >>> x.shape, y.shape
        (torch.Size([100]), torch.Size([100]))
    """
    n = _check_count(n, "n")
    g = generator(seed)
    x = high * torch.rand(n, generator=g, dtype=dtype)
    y = intercept + slope * x + (noise_base + noise_slope * x) * torch.randn(n, generator=g, dtype=dtype)
    return x, y


# ---------------------------------------------------------------------------- Chapter 5 (metric learning)


def clustered_data(
    n: int,
    num_classes: int = 8,
    *,
    d: int = 10,
    radius: float = 3.0,
    nuisance: float = 2.0,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Balanced classes that differ only in two of ``d`` coordinates, the rest loud noise.

    Class :math:`k` is centred at :math:`r(\cos 2\pi k/K, \sin 2\pi k/K, 0, \dots, 0)` with unit
    noise in the first two coordinates and noise of standard deviation ``nuisance`` in the other
    ``d - 2``, so raw Euclidean neighbours are dominated by the nuisance coordinates and an
    embedding has to learn to ignore them. Labels are ``0, 1, ..., K-1`` repeated (every class
    has ``n // K`` or ``n // K + 1`` points), in a seeded random order.

    Returns:
        ``(x, y)``: features of shape ``(n, d)`` and integer labels of shape ``(n,)``.

    Introduced in Chapter 5 (triplet mining).

    Examples:
        >>> from lossbook.data import clustered_data
        >>> x, y = clustered_data(16, 8, d=10)
        >>> x.shape, y.bincount().tolist()
        (torch.Size([16, 10]), [2, 2, 2, 2, 2, 2, 2, 2])
    """
    n = _check_count(n, "n")
    num_classes = _check_count(num_classes, "num_classes", minimum=2)
    d = _check_count(d, "d", minimum=2)
    radius = check_nonnegative(radius, "radius")
    nuisance = check_nonnegative(nuisance, "nuisance")
    g = generator(seed)
    y = (torch.arange(n) % num_classes)[torch.randperm(n, generator=g)]
    angle = 2 * torch.pi * torch.arange(num_classes, dtype=dtype) / num_classes
    centres = torch.zeros(num_classes, d, dtype=dtype)
    centres[:, 0], centres[:, 1] = radius * torch.cos(angle), radius * torch.sin(angle)
    scale = torch.full((d,), nuisance, dtype=dtype)
    scale[:2] = 1.0
    x = centres[y] + scale * torch.randn(n, d, generator=g, dtype=dtype)
    return x, y


def correlated_gaussians(
    n: int,
    *,
    d: int = 1,
    rho: float = 0.9,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Pairs of standard Gaussians in :math:`\mathbb R^d` with correlation ``rho`` per coordinate.

    :math:`y = \rho x + \sqrt{1 - \rho^2}\,\varepsilon`, so the mutual information is known in
    closed form, :math:`I(x; y) = -\tfrac d2 \log(1 - \rho^2)` nats. Returns ``(x, y)``, shapes
    ``(n, d)`` each.

    Introduced in Chapter 5 (InfoNCE as a mutual-information bound).

    Examples:
        >>> from lossbook.data import correlated_gaussians
        >>> x, y = correlated_gaussians(5, d=2)
        >>> x.shape, y.shape
        (torch.Size([5, 2]), torch.Size([5, 2]))
    """
    n = _check_count(n, "n")
    d = _check_count(d, "d")
    rho = check_in_range(rho, "rho", -1.0, 1.0, low_inclusive=False, high_inclusive=False)
    g = generator(seed)
    x = torch.randn(n, d, generator=g, dtype=dtype)
    y = rho * x + (1 - rho**2) ** 0.5 * torch.randn(n, d, generator=g, dtype=dtype)
    return x, y


def digit_strings(
    n: int, length: int, *, num_digits: int = 10, seed: int = 0, device: torch.device | str | None = None
) -> torch.Tensor:
    r"""``n`` strings of ``length`` digits drawn uniformly from :math:`\{0, \dots, \text{num\_digits} - 1\}`.

    Returns an int64 tensor of shape ``(n, length)`` on ``device`` (drawn on the CPU, so the
    digits are the same on every device). Introduced in Chapter 6 (scheduled sampling: the
    string-reversal task).

    Examples:
        >>> from lossbook.data import digit_strings
        >>> digit_strings(2, 5).shape
        torch.Size([2, 5])
    """
    n = _check_count(n, "n")
    length = _check_count(length, "length")
    num_digits = _check_count(num_digits, "num_digits", 2)
    g = generator(seed)
    return torch.randint(0, num_digits, (n, length), generator=g).to(device or "cpu")


def ctc_batch(
    input_length: int,
    batch: int,
    num_classes: int,
    target_length: int,
    *,
    blank: int = 0,
    vary_lengths: bool = True,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""A random CTC problem: log-probabilities, padded targets and both length vectors.

    The log-probabilities are the ``log_softmax`` of standard Gaussian scores, shape
    ``(input_length, batch, num_classes)``. Targets hold labels other than ``blank``, padded
    with ``blank`` to ``(batch, target_length)``. With ``vary_lengths`` the target lengths are
    uniform in ``[1, target_length]`` and the input lengths uniform between the shortest
    feasible length (:math:`U + r`, repeats included) and ``input_length``; otherwise every
    length is the maximum (then ``input_length`` must be feasible for every target).

    Returns ``(log_probs, targets, input_lengths, target_lengths)``. Introduced in Chapter 6 (CTC).

    Examples:
        >>> from lossbook.data import ctc_batch
        >>> log_probs, targets, input_lengths, target_lengths = ctc_batch(12, 2, 5, 3)
        >>> log_probs.shape, targets.shape
        (torch.Size([12, 2, 5]), torch.Size([2, 3]))
    """
    T = _check_count(input_length, "input_length")
    N = _check_count(batch, "batch")
    C = _check_count(num_classes, "num_classes", 2)
    U = _check_count(target_length, "target_length")
    if not 0 <= blank < C:
        raise ValueError(f"blank must be in [0, {C}); got {blank}")
    g = generator(seed)
    log_probs = torch.randn(T, N, C, generator=g, dtype=dtype).log_softmax(-1)
    labels = torch.randint(0, C - 1, (N, U), generator=g)
    targets = labels + (labels >= blank).long()  # skip the blank's index
    if vary_lengths:
        target_lengths = torch.randint(1, U + 1, (N,), generator=g)
    else:
        target_lengths = torch.full((N,), U, dtype=torch.long)
    cols = torch.arange(U)
    targets = torch.where(cols < target_lengths[:, None], targets, blank)
    repeats = ((targets[:, 1:] == targets[:, :-1]) & (cols[1:] < target_lengths[:, None])).sum(1)
    shortest = target_lengths + repeats
    if int(shortest.max()) > T:
        raise ValueError(f"input_length {T} is shorter than a target needs ({int(shortest.max())} frames)")
    if vary_lengths:
        u = torch.rand(N, generator=g, dtype=torch.float32)  # not torch's default dtype: one seed, one batch
        input_lengths = shortest + (u * (T - shortest + 1)).long().clamp(max=T - shortest)
    else:
        input_lengths = torch.full((N,), T, dtype=torch.long)
    return log_probs, targets, input_lengths, target_lengths


# ---------------------------------------------------------------- Chapter 7: generative models


def ring_of_gaussians(
    n: int,
    *,
    modes: int = 8,
    radius: float = 2.0,
    std: float = 0.05,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Samples of an equal mixture of ``modes`` 2-D Gaussians with centres on a circle.

    Mode :math:`k` is :math:`\mathcal N(r(\cos 2\pi k/K, \sin 2\pi k/K), s^2 I)` with
    :math:`r = ` ``radius`` and :math:`s = ` ``std``: the standard test of whether a GAN covers
    every mode (Metz et al. 2017). Returns ``(x, centres)`` of shapes ``(n, 2)`` and ``(K, 2)``.

    Introduced in Chapter 7 (GAN losses).

    Examples:
        >>> from lossbook.data import ring_of_gaussians
        >>> x, centres = ring_of_gaussians(80, modes=8)
        >>> x.shape, centres.shape
        (torch.Size([80, 2]), torch.Size([8, 2]))
    """
    n = _check_count(n, "n")
    modes = _check_count(modes, "modes")
    radius = check_nonnegative(radius, "radius")
    std = check_nonnegative(std, "std")
    g = generator(seed)
    angle = 2 * torch.pi * torch.arange(modes, dtype=dtype) / modes
    centres = radius * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    which = torch.randint(modes, (n,), generator=g)
    return centres[which] + std * torch.randn(n, 2, generator=g, dtype=dtype), centres


def linear_gaussian_latent(
    n: int,
    d: int = 5,
    k: int = 2,
    *,
    noise: float = 0.5,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Samples of probabilistic PCA: :math:`z \sim \mathcal N(0, I_k)`, :math:`x = Wz + b + \sigma\epsilon`.

    :math:`W` (shape ``(d, k)``) and :math:`b` are standard normal, drawn from the same seed;
    :math:`\sigma = ` ``noise``. The marginal is :math:`x \sim \mathcal N(b, WW^\top + \sigma^2 I)`,
    so :math:`\log p(x)` and the posterior :math:`p(z \mid x)` are known in closed form
    (Tipping & Bishop 1999). Returns ``(x, W, b)``.

    Introduced in Chapter 7 (the ELBO).

    Examples:
        >>> from lossbook.data import linear_gaussian_latent
        >>> x, w, b = linear_gaussian_latent(10, 5, 2)
        >>> x.shape, w.shape, b.shape
        (torch.Size([10, 5]), torch.Size([5, 2]), torch.Size([5]))
    """
    n = _check_count(n, "n")
    d = _check_count(d, "d")
    k = _check_count(k, "k")
    noise = check_nonnegative(noise, "noise")
    g = generator(seed)
    w = torch.randn(d, k, generator=g, dtype=dtype)
    b = torch.randn(d, generator=g, dtype=dtype)
    z = torch.randn(n, k, generator=g, dtype=dtype)
    return z @ w.T + b + noise * torch.randn(n, d, generator=g, dtype=dtype), w, b


# ---------------------------------------------------------------- choosing a loss


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

    Introduced in the loss-selection chapter (ordinal regression, CORAL).

    Examples:
        >>> from lossbook.data import ordinal_regression
        >>> x, y = ordinal_regression(20, num_classes=5)
        >>> x.shape, int(y.min()) >= 0 and int(y.max()) <= 4
        (torch.Size([20, 2]), True)
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

    Introduced in the loss-selection chapter (the case study).

    Examples:
        >>> from lossbook.data import outlier_regression
        >>> x, y, clean = outlier_regression(50, fraction=0.1)
        >>> x.shape, int((y != clean).sum())
        (torch.Size([50, 3]), 5)
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
