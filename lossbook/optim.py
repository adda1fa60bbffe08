"""The optimisation loops and solvers the book's experiments use.

The first-order loops (:func:`gradient_descent`, :func:`subgradient_method`, :func:`sgd`)
return the whole trajectory of iterates, so a notebook can plot the suboptimality gap
against the iteration number and compare it with the bound the theory gives (introduced in
Chapter 1, gradient-based optimisation). :func:`lbfgs` fits a model to the whole data set
when only the fitted parameters matter, and :func:`linear_svm_dual` solves the SVM's dual
quadratic programme with SciPy. :func:`fit_rate` measures the rate a trajectory converges
at, and :func:`running_average` forms the averaged iterates whose guarantees differ from the
last iterate's (both introduced in Chapter 8, convergence properties).

The notebooks' other shared loops live here too: :func:`fit_linear` (a linear model fitted
exactly by :func:`lbfgs`), :func:`minimize` (one free parameter tensor fitted the same way),
:func:`train` (a fixed number of updates of a torch optimiser, the training loop of every
small model in the book), and the full-batch objective and gradient of a linear model,
:func:`linear_objective`, :func:`linear_gradient` and :func:`autograd_gradient`, that the
first-order loops take, with :func:`with_intercept` for its design matrix.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from ._validation import as_float_tensor, check_positive, check_positive_int

__all__ = [
    "autograd_gradient",
    "fit_linear",
    "fit_rate",
    "gradient_descent",
    "lbfgs",
    "linear_gradient",
    "linear_objective",
    "linear_svm_dual",
    "minimize",
    "running_average",
    "sgd",
    "subgradient_method",
    "train",
    "with_intercept",
]

RATE_KINDS = ("linear", "power")

StepSize = float | Callable[[int], float]


def _check_steps(n_steps: object) -> int:
    if isinstance(n_steps, bool) or not isinstance(n_steps, int):
        raise TypeError(f"n_steps must be an int; got {type(n_steps).__name__}")
    if n_steps < 0:
        raise ValueError(f"n_steps must be non-negative; got {n_steps}")
    return n_steps


def _check_index(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int; got {type(value).__name__}")
    return value


def _check_params(params) -> list[torch.Tensor]:
    params = list(params)
    if not params or not all(isinstance(t, torch.Tensor) and t.requires_grad for t in params):
        raise ValueError("params must be a non-empty sequence of tensors with requires_grad=True")
    return params


def _check_design(x, y) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = as_float_tensor(x, "x"), as_float_tensor(y, "y")
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise ValueError(
            f"x must have shape (n, d) and y shape (n,); got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    return x, y


def _step_at(step: StepSize, k: int) -> float:
    return check_positive(step(k) if callable(step) else step, "step")


def gradient_descent(
    grad: Callable[[torch.Tensor], torch.Tensor],
    x0: torch.Tensor,
    *,
    step: StepSize,
    n_steps: int,
) -> torch.Tensor:
    r"""Run :math:`\theta_{k+1} = \theta_k - \alpha_k \nabla f(\theta_k)` for ``n_steps`` steps.

    Args:
        grad: the gradient :math:`\nabla f`, a function of the parameter tensor.
        x0: the starting point :math:`\theta_0`.
        step: the step size :math:`\alpha > 0`, or a function ``k -> alpha_k``.
        n_steps: the number of updates.

    Returns:
        The iterates :math:`\theta_0, \dots, \theta_K` stacked along a new first
        dimension, shape ``(n_steps + 1, *x0.shape)``. A diverging run is returned
        as is (its iterates grow, possibly to ``inf``): showing divergence is part
        of what the book does with it.

    Examples:
        >>> import torch
        >>> from lossbook.optim import gradient_descent
        >>> gradient_descent(lambda x: 2 * x, torch.tensor([1.0]), step=0.25, n_steps=3)
        tensor([[1.0000],
                [0.5000],
                [0.2500],
                [0.1250]])
    """
    n_steps = _check_steps(n_steps)
    _step_at(step, 0)
    x = torch.as_tensor(x0).detach().clone()
    path = [x.clone()]
    for k in range(n_steps):
        x = x - _step_at(step, k) * grad(x)
        path.append(x.clone())
    return torch.stack(path)


def subgradient_method(
    subgrad: Callable[[torch.Tensor], torch.Tensor],
    x0: torch.Tensor,
    *,
    step: StepSize,
    n_steps: int,
) -> torch.Tensor:
    r"""The subgradient method, :math:`\theta_{k+1} = \theta_k - \alpha_k g_k`, :math:`g_k \in \partial f`.

    The same loop as :func:`gradient_descent`, named separately because its theory
    differs: it is not a descent method, so experiments track the *best* iterate
    :math:`\min_{i \le k} f(\theta_i)`, and it needs diminishing steps (e.g.
    :math:`\alpha_k = c/\sqrt{k+1}`) to converge. Returns the stacked iterates.

    Examples:
        >>> import torch
        >>> from lossbook.optim import subgradient_method
        >>> subgradient_method(torch.sign, torch.tensor([1.0]), step=0.25, n_steps=3)
        tensor([[1.0000],
                [0.7500],
                [0.5000],
                [0.2500]])
    """
    return gradient_descent(subgrad, x0, step=step, n_steps=n_steps)


def sgd(
    sample_grad: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x0: torch.Tensor,
    n_samples: int,
    *,
    step: StepSize,
    n_steps: int,
    batch_size: int = 1,
    generator: torch.Generator,
) -> torch.Tensor:
    r"""Mini-batch stochastic gradient descent with sampling with replacement.

    Args:
        sample_grad: ``sample_grad(theta, idx)`` returns the average gradient of the
            losses of the samples ``idx`` (a ``LongTensor``) at ``theta``.
        x0: the starting point.
        n_samples: the number of training samples to draw indices from.
        step: a step size, or a function ``k -> alpha_k`` (e.g. ``c / (k + 1)``).
        n_steps: the number of updates.
        batch_size: samples per update.
        generator: the :class:`torch.Generator` that draws the indices, so runs
            are reproducible.

    Returns:
        The stacked iterates, shape ``(n_steps + 1, *x0.shape)``.

    Examples:
        >>> import torch
        >>> from lossbook.optim import sgd
        >>> from lossbook.data import generator
        >>> targets = torch.tensor([1.0, 3.0])
        >>> def sample_grad(x, i):
        ...     return 2 * (x - targets[i]).mean(0, keepdim=True)
        ...
        >>> g = generator(0)
        >>> sgd(sample_grad, torch.tensor([0.0]), 2, step=0.1, n_steps=2, batch_size=2, generator=g)
        tensor([[0.0000],
                [0.4000],
                [0.7200]])
    """
    n_steps = _check_steps(n_steps)
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator; got {type(generator).__name__}")
    check_positive_int(n_samples, "n_samples")
    check_positive_int(batch_size, "batch_size")
    _step_at(step, 0)
    x = torch.as_tensor(x0).detach().clone()
    path = [x.clone()]
    for k in range(n_steps):
        idx = torch.randint(n_samples, (batch_size,), generator=generator, device=generator.device)
        x = x - _step_at(step, k) * sample_grad(x, idx)
        path.append(x.clone())
    return torch.stack(path)


def lbfgs(
    objective: Callable[[], torch.Tensor],
    params: Sequence[torch.Tensor],
    *,
    max_iter: int = 200,
    tolerance_grad: float = 1e-10,
    tolerance_change: float = 1e-9,
) -> float:
    r"""Minimise ``objective()`` over ``params`` by full-batch L-BFGS with a strong-Wolfe line search.

    The book's way to fit a small model exactly (a logistic regression, a Gaussian by
    maximum likelihood, a variational family by KL), so that the experiment compares the
    *minimisers* of two losses rather than two half-finished optimisations. It runs
    :class:`torch.optim.LBFGS` for one ``step`` of at most ``max_iter`` iterations: the
    closure zeroes the gradients, evaluates ``objective()`` and back-propagates.

    Args:
        objective: a function of no arguments that computes the loss from ``params``.
        params: the leaf tensors to optimise (``requires_grad=True``), updated in place.
        max_iter: the largest number of L-BFGS iterations.
        tolerance_grad: stop when the largest absolute gradient entry falls below it.
        tolerance_change: stop when the objective or the step changes less than this.

    Returns:
        The objective at the fitted parameters, as a float. Use float64 parameters where the
        notebook prints the fit: the digits a float32 fit can reach depend on the machine.

    Introduced in Chapter 2 (mean squared error, "the Gaussian likelihood").

    Examples:
        >>> import torch
        >>> from lossbook.optim import lbfgs
        >>> a = torch.zeros(2, dtype=torch.float64, requires_grad=True)
        >>> round(lbfgs(lambda: ((a - torch.tensor([1.0, 2.0], dtype=torch.float64)) ** 2).sum(), [a]), 12)
        0.0
        >>> a.detach()
        tensor([1.0000, 2.0000], dtype=torch.float64)
    """
    params = _check_params(params)
    max_iter = check_positive_int(max_iter, "max_iter")
    tolerance_grad = check_positive(tolerance_grad, "tolerance_grad")
    tolerance_change = check_positive(tolerance_change, "tolerance_change")
    opt = torch.optim.LBFGS(
        params,
        max_iter=max_iter,
        line_search_fn="strong_wolfe",
        tolerance_grad=tolerance_grad,
        tolerance_change=tolerance_change,
    )

    def closure():
        opt.zero_grad()
        loss = objective()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return float(objective())


def minimize(
    objective: Callable[[torch.Tensor], torch.Tensor],
    start: torch.Tensor,
    *,
    max_iter: int = 200,
    tolerance_grad: float = 1e-10,
    tolerance_change: float = 1e-9,
) -> torch.Tensor:
    r"""The minimiser of ``objective(theta)`` found by :func:`lbfgs` from ``theta = start``.

    For the experiments that fit one free parameter tensor rather than a model: the logits
    that minimise a loss against a fixed target (what a loss asks the scores to become),
    or the log-variances of an uncertainty weighting. ``start`` is copied, not changed.

    Args:
        objective: ``objective(theta)``, a scalar tensor.
        start: the starting point, a floating-point tensor of any shape.
        max_iter, tolerance_grad, tolerance_change: :func:`lbfgs`'s settings.

    Returns:
        The fitted ``theta``, detached, with ``start``'s shape, dtype and device.

    Introduced in Chapter 3 (cross-entropy, "the minimiser is the empirical distribution").

    Examples:
        >>> import torch
        >>> from lossbook.optim import minimize
        >>> target = torch.tensor([1.0, -2.0], dtype=torch.float64)
        >>> theta = minimize(lambda t: ((t - target) ** 2).sum(), torch.zeros(2, dtype=torch.float64))
        >>> [round(float(v), 8) for v in theta]
        [1.0, -2.0]
    """
    theta = as_float_tensor(start, "start").detach().clone().requires_grad_(True)
    lbfgs(
        lambda: objective(theta),
        [theta],
        max_iter=max_iter,
        tolerance_grad=tolerance_grad,
        tolerance_change=tolerance_change,
    )
    return theta.detach()


def fit_linear(
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    outputs: int | None = None,
    max_iter: int = 200,
    tolerance_grad: float = 1e-10,
    tolerance_change: float = 1e-9,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Fit a linear model :math:`s = x w + b` by minimising ``loss(x @ w + b, y)`` with :func:`lbfgs`.

    The book's way to compare losses by their *minimisers* on one data set: each loss fits
    the same linear scorer from the same start, :math:`w = 0`, :math:`b = 0` (in ``x``'s
    dtype and on its device), to convergence. With ``outputs=K`` the scorer has one
    column per class, the softmax regression of a multi-class loss.

    Args:
        loss: ``loss(score, y)``, a scalar: the mean loss of the scores ``x @ w + b``
            (shape ``(n,)``, or ``(n, K)`` with ``outputs=K``) against ``y``.
        x: features, shape ``(n, d)``, floating point.
        y: targets, passed to ``loss`` as they are.
        outputs: the number of scores per sample, ``K``; ``None`` for one score.
        max_iter, tolerance_grad, tolerance_change: :func:`lbfgs`'s settings.

    Returns:
        ``(w, b)``, detached: ``w`` of shape ``(d,)`` and the scalar ``b``, or, with
        ``outputs=K``, ``w`` of shape ``(d, K)`` and ``b`` of shape ``(K,)``.

    Introduced in Chapter 3 (focal loss, "an imbalanced experiment"); ``outputs`` in
    Chapter 3 (cross-entropy, "class imbalance").

    Examples:
        >>> import torch
        >>> from lossbook.optim import fit_linear
        >>> x = torch.tensor([[0.0], [1.0], [2.0]], dtype=torch.float64)
        >>> y = torch.tensor([1.0, 3.0, 5.0], dtype=torch.float64)
        >>> w, b = fit_linear(lambda s, t: ((s - t) ** 2).mean(), x, y, tolerance_change=1e-14)
        >>> round(float(w[0]), 8), round(float(b), 8)
        (2.0, 1.0)
        >>> from lossbook.classification import cross_entropy
        >>> w, b = fit_linear(cross_entropy, x, torch.tensor([0, 1, 1]), outputs=2)
        >>> w.shape, b.shape
        (torch.Size([1, 2]), torch.Size([2]))
    """
    x = as_float_tensor(x, "x")
    if x.ndim != 2:
        raise ValueError(f"x must have shape (n, d); got {tuple(x.shape)}")
    shape = () if outputs is None else (check_positive_int(outputs, "outputs"),)
    w = torch.zeros(x.shape[1], *shape, dtype=x.dtype, device=x.device, requires_grad=True)
    b = torch.zeros(shape, dtype=x.dtype, device=x.device, requires_grad=True)
    lbfgs(
        lambda: loss(x @ w + b, y),
        [w, b],
        max_iter=max_iter,
        tolerance_grad=tolerance_grad,
        tolerance_change=tolerance_change,
    )
    return w.detach(), b.detach()


def train(
    loss_fn: Callable[[int], torch.Tensor],
    params,
    *,
    steps: int,
    lr: float,
    optimizer: Callable[..., torch.optim.Optimizer] = torch.optim.Adam,
    scheduler: Callable[[torch.optim.Optimizer], object] | None = None,
) -> torch.Tensor:
    r"""Train ``params`` by ``steps`` updates of a torch optimiser, ``loss_fn(k)`` the loss of update ``k``.

    The training loop of the book's small models: each update evaluates ``loss_fn(k)``
    (which draws the batch of step ``k``, if there is one), zeroes the gradients,
    back-propagates and steps the optimiser, then the learning-rate ``scheduler`` if one
    is given. Whatever an experiment records along the way (a held-out metric every ten
    steps, the parts of a composite loss) ``loss_fn`` records itself.

    Args:
        loss_fn: ``loss_fn(k)`` for ``k = 0, ..., steps - 1``, a scalar tensor that depends
            on ``params``.
        params: the leaf tensors to train (``requires_grad=True``), updated in place, e.g.
            ``net.parameters()``.
        steps: the number of updates (0 for none).
        lr: the learning rate.
        optimizer: the optimiser's class, called as ``optimizer(params, lr=lr)``
            (default :class:`torch.optim.Adam`).
        scheduler: optionally ``scheduler(opt)``, a learning-rate scheduler of the
            optimiser, stepped after every update.

    Returns:
        The loss of each update, before that update, as a float64 CPU tensor of shape
        ``(steps,)``.

    Introduced in Chapter 3 (label smoothing, "does smoothing improve calibration?").

    Examples:
        >>> import torch
        >>> from lossbook.optim import train
        >>> a = torch.zeros(1, dtype=torch.float64, requires_grad=True)
        >>> train(lambda k: ((a - 1.0) ** 2).sum(), [a], steps=3, lr=0.25, optimizer=torch.optim.SGD)
        tensor([1.0000, 0.2500, 0.0625], dtype=torch.float64)
        >>> a.detach()
        tensor([0.8750], dtype=torch.float64)
    """
    steps = _check_steps(steps)
    params = _check_params(params)
    lr = check_positive(lr, "lr")
    opt = optimizer(params, lr=lr)
    sched = scheduler(opt) if scheduler is not None else None
    losses = []
    for k in range(steps):
        loss = loss_fn(k)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        losses.append(float(loss.detach()))
    return torch.tensor(losses, dtype=torch.float64)


# --------------------------------------------------------------------------- full-batch objectives


def with_intercept(x: torch.Tensor) -> torch.Tensor:
    r"""The design matrix :math:`[x, 1]`: ``x`` with a column of ones appended.

    A linear model :math:`\theta^\top [x, 1]` is the scorer :math:`w^\top x + b` with
    :math:`\theta = (w, b)`, so :func:`linear_objective` and :func:`linear_gradient` fit the
    intercept with the weights (and a penalty on :math:`w` alone masks the last entry).

    Args:
        x: features, shape ``(n, d)``, floating point.

    Returns:
        Shape ``(n, d + 1)``, in ``x``'s dtype and on its device.

    Introduced in Chapter 3 (cross-entropy, "convexity and the separable case").

    Examples:
        >>> import torch
        >>> from lossbook.optim import with_intercept
        >>> with_intercept(torch.tensor([[2.0], [3.0]]))
        tensor([[2., 1.],
                [3., 1.]])
    """
    x = as_float_tensor(x, "x")
    if x.ndim != 2:
        raise ValueError(f"x must have shape (n, d); got {tuple(x.shape)}")
    return torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype, device=x.device)], dim=1)


def linear_objective(loss: Callable[..., torch.Tensor], x: torch.Tensor, y: torch.Tensor, **loss_options):
    r"""The empirical risk of a linear model, :math:`F(\theta) = \frac1n \sum_i \ell(\theta^\top x_i, y_i)`.

    Returns the function :math:`F` that the first-order loops and the rate experiments
    evaluate: it takes :math:`\theta` of shape ``(..., d)`` (one parameter vector, or a
    stack of them, e.g. the iterates of a path or parallel runs) and returns :math:`F` of
    each, shape ``(...)``.

    Args:
        loss: a lossbook loss ``loss(input, target, reduction=..., **loss_options)``.
        x: features, shape ``(n, d)``.
        y: targets, shape ``(n,)``.
        **loss_options: further arguments of ``loss`` (e.g. ``delta=1.0``).

    Introduced in Chapter 1 (gradient-based optimisation); batched in Chapter 8.

    Examples:
        >>> import torch
        >>> from lossbook import regression
        >>> from lossbook.optim import linear_objective
        >>> x = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
        >>> F = linear_objective(regression.mse, x, torch.tensor([1.0, 1.0]))
        >>> F(torch.tensor([1.0, 0.5]))
        tensor(0.)
        >>> F(torch.zeros(3, 2))  # three parameter vectors at once
        tensor([1., 1., 1.])
    """
    x, y = _check_design(x, y)

    def objective(theta):
        z = theta @ x.T
        return loss(z, y.expand_as(z), reduction="none", **loss_options).mean(-1)

    return objective


def linear_gradient(loss_grad: Callable[..., torch.Tensor], x: torch.Tensor, y: torch.Tensor, **loss_options):
    r"""The gradient of :func:`linear_objective`'s risk, :math:`\frac1n X^\top \ell'(X\theta, y)`.

    The chain rule applied to :math:`F(\theta) = \frac1n \sum_i \ell(\theta^\top x_i, y_i)`.

    Args:
        loss_grad: a loss's closed-form gradient of the *summed* loss with respect to its
            input, ``loss_grad(input, target, **loss_options)`` (e.g. ``regression.mse_grad``).
        x: features, shape ``(n, d)``.
        y: targets, shape ``(n,)``.
        **loss_options: further arguments of ``loss_grad``.

    Returns:
        The function :math:`\theta \mapsto \nabla F(\theta)` for one :math:`\theta` of
        shape ``(d,)``.

    Introduced in Chapter 8 (convergence properties, "rates and how to measure them").

    Examples:
        >>> import torch
        >>> from lossbook import regression
        >>> from lossbook.optim import linear_gradient
        >>> x = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
        >>> linear_gradient(regression.mse_grad, x, torch.tensor([1.0, 1.0]))(torch.zeros(2))
        tensor([-1., -2.])
    """
    x, y = _check_design(x, y)

    def gradient(theta):
        return x.T @ loss_grad(x @ theta, y, **loss_options) / len(y)

    return gradient


def autograd_gradient(objective: Callable[[torch.Tensor], torch.Tensor]):
    r"""The gradient of ``objective`` by autograd, as a function :math:`\theta \mapsto \nabla F(\theta)`.

    For a batched objective (one value per leading index of :math:`\theta`) it returns
    the gradient of each, as the gradient of their sum. The gradient a first-order loop
    needs where no closed form is written down (a composite loss, a custom backward under
    test), and the reference a closed form is checked against.

    Introduced in Chapter 8 (convergence properties, "rates and how to measure them").

    Examples:
        >>> import torch
        >>> from lossbook.optim import autograd_gradient
        >>> autograd_gradient(lambda t: (t**2).sum(-1))(torch.tensor([1.0, -2.0]))
        tensor([ 2., -4.])
    """

    def gradient(theta):
        theta = torch.as_tensor(theta).detach().requires_grad_(True)
        (g,) = torch.autograd.grad(objective(theta).sum(), theta)
        return g

    return gradient


def linear_svm_dual(x, y, *, C: float, tol: float = 1e-12):
    r"""Solve the soft-margin linear SVM through its dual QP (SciPy's SLSQP).

    .. math:: \max_{\alpha}\ \sum_i \alpha_i - \tfrac12 \sum_{i,j}\alpha_i\alpha_j y_i y_j x_i^\top x_j
              \quad\text{s.t.}\quad 0 \le \alpha_i \le C,\ \sum_i \alpha_i y_i = 0

    Then :math:`w = \sum_i \alpha_i y_i x_i` and :math:`b` is averaged over the margin
    support vectors (:math:`0 < \alpha_i < C`).

    Args:
        x: features, shape ``(n, d)``.
        y: labels in ``{-1, +1}``, shape ``(n,)``.
        C: the box constraint :math:`C > 0` (the primal's hinge weight).
        tol: SLSQP's tolerance.

    Returns:
        ``(alpha, w, b, dual_objective)`` as float64 NumPy values.

    Reference: Vapnik (1998); Boyd & Vandenberghe (2004), §8.6.1.
    Introduced in Chapter 3 (the hinge loss, "the SVM's dual").

    Examples:
        >>> import torch
        >>> from lossbook.optim import linear_svm_dual
        >>> x = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
        >>> alpha, w, b, dual = linear_svm_dual(x, torch.tensor([1.0, -1.0], dtype=torch.float64), C=10.0)
        >>> [round(float(v), 6) for v in (*alpha, *w, b, dual)]
        [0.5, 0.5, 1.0, 0.0, 0.0, 0.5]
    """
    from scipy.optimize import minimize

    C = check_positive(C, "C")
    X = np.asarray(torch.as_tensor(x).detach().cpu(), dtype=np.float64)
    Y = np.asarray(torch.as_tensor(y).detach().cpu(), dtype=np.float64)
    if X.ndim != 2 or Y.shape != (X.shape[0],):
        raise ValueError(f"x must have shape (n, d) and y shape (n,); got {X.shape} and {Y.shape}")
    if not np.all(np.abs(Y) == 1):
        raise ValueError("y must hold labels -1 or +1")
    G = (Y[:, None] * X) @ (Y[:, None] * X).T

    def neg_dual(a):
        return 0.5 * a @ G @ a - a.sum()

    def neg_dual_grad(a):
        return G @ a - 1.0

    n = X.shape[0]
    res = minimize(
        neg_dual,
        np.zeros(n),
        jac=neg_dual_grad,
        method="SLSQP",
        bounds=[(0.0, C)] * n,
        constraints=[{"type": "eq", "fun": lambda a: a @ Y, "jac": lambda a: Y}],
        options={"ftol": tol, "maxiter": 1000},
    )
    if not res.success:
        raise RuntimeError(f"the dual QP did not converge: {res.message}")
    alpha = np.clip(res.x, 0.0, C)
    w = (alpha * Y) @ X
    thr = 1e-6 * C
    margin_sv = (alpha > thr) & (alpha < C - thr)
    sv = margin_sv if margin_sv.any() else alpha > thr
    b = float(np.mean(Y[sv] - X[sv] @ w))
    return alpha, w, b, float(-neg_dual(alpha))


# --------------------------------------------------------------------------- measuring rates


def fit_rate(gap, *, kind: str, start: int | None = None, stop: int | None = None, iterations=None) -> float:
    r"""The empirical convergence rate of a sequence of suboptimality gaps :math:`g_k \ge 0`.

    ``kind="linear"`` fits :math:`\log g_k = a + k \log\rho` by least squares and returns the
    contraction factor :math:`\rho` per iteration (a *linear* rate, :math:`g_k = O(\rho^k)`,
    is :math:`\rho < 1`; a straight line on a semi-log plot).

    ``kind="power"`` fits :math:`\log g_k = a + p \log k` and returns the log-log slope
    :math:`p` (a *sublinear* rate :math:`O(k^{p})`: :math:`p = -1` for :math:`O(1/k)`,
    :math:`-\tfrac12` for :math:`O(1/\sqrt k)`; a straight line on a log-log plot). When the
    gaps are given for every iteration, the fit uses about 60 of them spaced evenly in
    :math:`\log k`, so that each decade of the run weighs the same rather than the last one
    dominating.

    Args:
        gap: the gaps, a 1-D tensor, array or sequence: :math:`g_0, g_1, \dots` (one per
            iteration), or the gaps at the iterations listed in ``iterations``.
        kind: ``"linear"`` or ``"power"``.
        start: the first iteration of the fitting window (default 0 for ``"linear"``, 1 for
            ``"power"``, where it must be at least 1).
        stop: one past the last iteration of the window (default: after the last one).
        iterations: optionally, the iteration number of each entry of ``gap`` (increasing
            integers), for gaps evaluated only at some iterations, e.g. log-spaced ones;
            then every entry inside the window is used.

    Returns:
        :math:`\rho` or :math:`p`, as a float. Entries whose gap is zero or not finite are
        left out of the fit (a run that reaches the minimum exactly, or diverges).

    Raises:
        ValueError: for an unknown ``kind``, an empty window, ``iterations`` of the wrong
            shape or not increasing, or fewer than two positive finite gaps in the window.

    Introduced in Chapter 8 (convergence properties, "rates and how to measure them").

    Examples:
        >>> import torch
        >>> from lossbook.optim import fit_rate
        >>> round(fit_rate(0.5 ** torch.arange(20.0), kind="linear"), 6)  # halves every step
        0.5
        >>> round(fit_rate([1.0, 1 / 2, 1 / 3, 1 / 4], kind="power", iterations=[1, 2, 3, 4]), 6)
        -1.0
    """
    if kind not in RATE_KINDS:
        raise ValueError(f"kind must be one of {RATE_KINDS}; got {kind!r}")
    g = as_float_tensor(gap, "gap").detach().cpu().double().numpy()
    if g.ndim != 1:
        raise ValueError(f"gap must be one-dimensional; got shape {g.shape}")
    if iterations is None:
        k = np.arange(len(g))
    else:
        k = np.asarray(torch.as_tensor(iterations).detach().cpu())
        if k.shape != g.shape or k.dtype.kind not in "iu":
            raise ValueError(
                f"iterations must be integers of the shape of gap {g.shape}; got {k.dtype} {k.shape}"
            )
        if np.any(np.diff(k) <= 0):
            raise ValueError("iterations must be increasing")
    first = 1 if kind == "power" else 0
    start = first if start is None else _check_index(start, "start")
    last = int(k[-1]) + 1 if len(k) else 0
    stop = last if stop is None else _check_index(stop, "stop")
    if not first <= start < stop:
        raise ValueError(
            f"start and stop must satisfy {first} <= start < stop; got start={start}, stop={stop}"
        )
    inside = (k >= start) & (k < stop)
    if kind == "power" and iterations is None and inside.any():
        grid = np.unique(np.round(np.geomspace(start, min(stop, last) - 1, 60)).astype(np.int64))
        inside = np.isin(k, grid)
    values = g[inside]
    keep = np.isfinite(values) & (values > 0)
    if keep.sum() < 2:
        raise ValueError("gap must hold at least two positive finite values in the fitting window")
    x = k[inside][keep].astype(np.float64)
    x = np.log(x) if kind == "power" else x
    slope = np.polyfit(x, np.log(values[keep]), 1)[0]
    return float(np.exp(slope)) if kind == "linear" else float(slope)


def running_average(path, *, start: int = 0) -> torch.Tensor:
    r"""Running averages :math:`\bar\theta_k = \frac{1}{k - s + 1}\sum_{i=s}^{k}\theta_i`, :math:`k \ge s`.

    Polyak–Ruppert averaging: stochastic gradient descent's :math:`O(1/\sqrt k)` guarantee
    on convex problems, and the :math:`O(1/k)` rate of constant-step SGD on least squares,
    hold for these averages, not for the last iterate. ``start`` (:math:`s`) skips a
    burn-in; the first ``start`` rows are the iterates themselves.

    Args:
        path: stacked iterates, shape ``(K + 1, ...)`` as returned by :func:`sgd`.
        start: the first iterate of the average, ``0 <= start <= K``.

    Returns:
        A tensor of the same shape and dtype as ``path``.

    Introduced in Chapter 8 (convergence properties, "SGD: the step schedule decides").

    Examples:
        >>> import torch
        >>> from lossbook.optim import running_average
        >>> running_average(torch.tensor([[1.0], [3.0], [5.0]]))
        tensor([[1.],
                [2.],
                [3.]])
    """
    path = as_float_tensor(path, "path")
    if path.ndim < 1 or path.shape[0] == 0:
        raise ValueError(f"path must hold at least one iterate along dimension 0; got {tuple(path.shape)}")
    start = _check_index(start, "start")
    if not 0 <= start < path.shape[0]:
        raise ValueError(f"start must be in [0, {path.shape[0] - 1}] (the iterates of path); got {start}")
    tail = path[start:]
    counts = torch.arange(1, tail.shape[0] + 1, dtype=path.dtype, device=path.device)
    averaged = tail.cumsum(0) / counts.reshape(-1, *([1] * (path.ndim - 1)))
    return torch.cat([path[:start], averaged])
