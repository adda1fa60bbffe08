"""Property checks a reader can run on any loss, including their own.

Each check is named after the property it probes (``checks.convexity(loss)``), evaluates
the loss on a grid of points and returns a :class:`CheckResult` (it never raises because a
property fails; the raising ``check_*`` argument validators are private, in ``_validation``):
whether the property held everywhere on the grid, the worst value found, and the
point where it was found (a computed counter-example when the property fails). A grid
can refute a property but never prove it; the chapters pair these checks with proofs.

The loss is called as ``loss(input, target, reduction="none")``, the convention of
every loss in :mod:`lossbook` and :mod:`torch.nn.functional`. Introduced in Chapter 1
(what is a loss function).

:func:`sanity` is the sanity-check suite of the custom-losses chapter: on one sample it checks
gradient flow, gradients against finite differences, the minimum at a perfect prediction,
non-negativity, batch and reduction consistency, finiteness at extreme inputs, dtype and
device, and determinism, and returns a :class:`LossReport` that prints as a table.
:func:`package_reports` runs it over every loss of the package's chapter modules, with the
sample inputs of :data:`SAMPLES`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ._validation import check_nonnegative

__all__ = ["CheckResult", "convexity", "identity", "nonnegativity", "symmetry"]

Loss = Callable[..., torch.Tensor]


@dataclass(frozen=True)
class CheckResult:
    """Outcome of a property check.

    Attributes:
        holds: whether the property held at every point checked (within ``tol``).
        worst: the most adverse value found (its meaning is given by each check).
        witness: the arguments at which ``worst`` was attained, as floats.
    """

    holds: bool
    worst: float
    witness: tuple[float, ...]


def _grid(values: torch.Tensor | list[float] | None, dtype: torch.dtype) -> torch.Tensor:
    if values is None:
        return torch.linspace(-3.0, 3.0, 61, dtype=dtype)
    t = torch.as_tensor(values, dtype=dtype).flatten()
    if t.numel() == 0:
        raise ValueError("grid must hold at least one value")
    return t


def _pairs(predictions: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    p, t = torch.meshgrid(predictions, targets, indexing="ij")
    return p.reshape(-1), t.reshape(-1)


def nonnegativity(
    loss: Loss, predictions=None, targets=None, *, tol: float = 0.0, dtype: torch.dtype = torch.float64
) -> CheckResult:
    r"""Is :math:`\ell(\hat y, y) \ge 0` for every pair on the grid?

    ``worst`` is the smallest loss value found; ``witness`` is ``(y_hat, y)`` there.

    Examples:
        >>> from lossbook.checks import nonnegativity
        >>> from lossbook import regression
        >>> nonnegativity(regression.mse).holds
        True
    """
    tol = check_nonnegative(tol, "tol")
    p, t = _pairs(_grid(predictions, dtype), _grid(targets, dtype))
    values = loss(p, t, reduction="none")
    i = int(torch.argmin(values))
    worst = float(values[i])
    return CheckResult(worst >= -tol, worst, (float(p[i]), float(t[i])))


def identity(
    loss: Loss, targets=None, *, tol: float = 1e-12, dtype: torch.dtype = torch.float64
) -> CheckResult:
    r"""Is :math:`\ell(y, y) = 0` for every ``y`` on the grid?

    ``worst`` is the largest :math:`|\ell(y, y)|` found; ``witness`` is ``(y,)``.
    Only meaningful when predictions and targets live in the same space.

    Examples:
        >>> from lossbook.checks import identity
        >>> from lossbook import regression
        >>> identity(regression.huber).holds
        True
    """
    tol = check_nonnegative(tol, "tol")
    t = _grid(targets, dtype)
    values = loss(t.clone(), t, reduction="none").abs()
    i = int(torch.argmax(values))
    worst = float(values[i])
    return CheckResult(worst <= tol, worst, (float(t[i]),))


def symmetry(
    loss: Loss, predictions=None, targets=None, *, tol: float = 1e-12, dtype: torch.dtype = torch.float64
) -> CheckResult:
    r"""Is :math:`\ell(a, b) = \ell(b, a)` for every pair on the grid?

    ``worst`` is the largest :math:`|\ell(a, b) - \ell(b, a)|`; ``witness`` is ``(a, b)``.

    Examples:
        >>> from lossbook.checks import symmetry
        >>> import functools
        >>> from lossbook import regression
        >>> symmetry(regression.mae).holds
        True
        >>> symmetry(functools.partial(regression.quantile, tau=0.9)).holds
        False
    """
    tol = check_nonnegative(tol, "tol")
    a, b = _pairs(_grid(predictions, dtype), _grid(targets, dtype))
    gap = (loss(a, b, reduction="none") - loss(b, a, reduction="none")).abs()
    i = int(torch.argmax(gap))
    worst = float(gap[i])
    return CheckResult(worst <= tol, worst, (float(a[i]), float(b[i])))


def convexity(
    loss: Loss, predictions=None, targets=None, *, tol: float = 1e-12, dtype: torch.dtype = torch.float64
) -> CheckResult:
    r"""Is :math:`\hat y \mapsto \ell(\hat y, y)` midpoint-convex on the grid, for each target?

    Checks :math:`\ell(\tfrac{a+b}{2}, y) \le \tfrac12[\ell(a, y) + \ell(b, y)]` for all
    prediction pairs ``a, b`` and targets ``y``. ``worst`` is the largest violation
    :math:`\ell(\tfrac{a+b}{2}, y) - \tfrac12[\ell(a, y) + \ell(b, y)]` (negative or zero
    when the check passes); ``witness`` is ``(a, b, y)``.

    Examples:
        >>> from lossbook.checks import convexity
        >>> from lossbook import regression
        >>> convexity(regression.log_cosh).holds
        True
        >>> convexity(lambda p, y, **kwargs: (p - y).abs().sqrt()).holds
        False
    """
    tol = check_nonnegative(tol, "tol")
    preds, targs = _grid(predictions, dtype), _grid(targets, dtype)
    a, b = torch.meshgrid(preds, preds, indexing="ij")
    a, b = a.reshape(-1), b.reshape(-1)
    best = (-float("inf"), (0.0, 0.0, 0.0))
    for y in targs:
        yy = y.expand_as(a)
        gap = (
            loss((a + b) / 2, yy, reduction="none")
            - (loss(a, yy, reduction="none") + loss(b, yy, reduction="none")) / 2
        )
        i = int(torch.argmax(gap))
        if float(gap[i]) > best[0]:
            best = (float(gap[i]), (float(a[i]), float(b[i]), float(y)))
    return CheckResult(best[0] <= tol, best[0], best[1])


# ============================================================================ the sanity-check suite
#
# Introduced in the custom-losses chapter (:doc:`/book/custom/sanity-checks`).

__all__ += [
    "SAMPLES",
    "CheckRow",
    "LossReport",
    "INFRASTRUCTURE_MODULES",
    "MEANS",
    "NOT_APPLICABLE",
    "NOT_LOSSES",
    "SummaryTable",
    "chapter_losses",
    "chapter_modules",
    "public_losses",
    "sanity",
    "package_reports",
    "format_value",
    "sample_for",
    "summary_table",
]

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def format_value(value: object) -> str:
    """A measured value as the report prints it: 3 significant digits, ``a × 10ⁿ`` outside [10⁻³, 10⁴).

    Magnitudes below 10⁻⁶, zero included, print as ``≈ 0``: at that size a measured gap is
    rounding noise, whose digits (and whether it is exactly zero) differ between machines.
    Strings are returned unchanged, ``None`` as ``—``.

    Examples:
        >>> from lossbook.checks import format_value
        >>> format_value(0.000123), format_value(2.5), format_value(3e-9)
        ('1.23 × 10⁻⁴', '2.50', '≈ 0')
    """
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    v = float(value)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if abs(v) < 1e-6:
        return "≈ 0"
    rounded = float(f"{v:.3g}")
    if 1e-3 <= abs(rounded) < 1e4:
        places = max(0, 2 - math.floor(math.log10(abs(rounded))))
        return f"{rounded:.{places}f}"
    mantissa, exponent = f"{v:.2e}".split("e")
    return f"{mantissa} × 10{str(int(exponent)).translate(_SUPERSCRIPT)}"


@dataclass(frozen=True)
class CheckRow:
    """One row of a :class:`LossReport`.

    Attributes:
        name: the check (``"gradient flow"``, ``"finite differences"``, ...).
        passed: ``True``, ``False``, or ``None`` when the check does not apply (``note`` says why).
        value: the measured value (a float, or a short text), rounded when printed.
        witness: where a failing check failed (the input, the entry, the reduction); ``""`` when it passed.
        note: what was measured, or why the check does not apply.
    """

    name: str
    passed: bool | None
    value: float | str | None = None
    witness: str = ""
    note: str = ""

    @property
    def status(self) -> str:
        return {True: "pass", False: "FAIL", None: "n/a"}[self.passed]

    def __repr__(self) -> str:
        return f"{self.name}: {self.status}, measured {format_value(self.value)}; {self.witness or self.note}"


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def _html_table(caption: str, head, rows) -> str:
    """A plain HTML table (the website renders it; JupyterLab too)."""
    from html import escape

    cells = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return (
        f"<table class='table'><caption>{escape(caption)}</caption>"
        f"<thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"
    )


@dataclass(frozen=True)
class LossReport:
    """The outcome of :func:`sanity`: one :class:`CheckRow` per check.

    Prints as a plain-text table (``str(report)``) and renders as a Markdown table in a
    notebook; both are deterministic (values rounded by :func:`format_value`, no addresses).

    A report with a ``not_applicable`` reason (and no rows) says that the suite does not apply
    to the loss at all (see :data:`NOT_APPLICABLE`): no check ran, so none failed.
    """

    name: str
    rows: tuple[CheckRow, ...]
    not_applicable: str = ""

    @property
    def applicable(self) -> bool:
        """Whether the suite ran on the loss (``False`` for a :data:`NOT_APPLICABLE` loss)."""
        return not self.not_applicable

    @property
    def passed(self) -> bool:
        """Whether no check failed (checks that do not apply count as passed)."""
        return all(r.passed is not False for r in self.rows)

    @property
    def failed(self) -> tuple[str, ...]:
        """The names of the failed checks."""
        return tuple(r.name for r in self.rows if r.passed is False)

    def __getitem__(self, name: str) -> CheckRow:
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(f"no check named {name!r}; the checks are {[r.name for r in self.rows]}")

    def _cells(self) -> list[tuple[str, str, str, str]]:
        return [(r.name, r.status, format_value(r.value), r.witness or r.note) for r in self.rows]

    def __str__(self) -> str:
        if not self.applicable:
            return self._headline()
        head = ("check", "result", "measured", "witness / note")
        cells = [head, *self._cells()]
        widths = [max(len(c[i]) for c in cells) for i in range(3)]
        lines = [
            f"sanity({self.name}): "
            + ("all checks passed" if self.passed else f"FAILED {', '.join(self.failed)}")
        ]
        for c in cells:
            lines.append("  ".join(c[i].ljust(widths[i]) for i in range(3)) + "  " + c[3])
        return "\n".join(lines)

    __repr__ = __str__

    def _headline(self) -> str:
        if not self.applicable:
            return f"sanity({self.name}): not applicable: {self.not_applicable}"
        return f"sanity({self.name}): " + (
            "all checks passed" if self.passed else f"failed: {', '.join(self.failed)}"
        )

    def _repr_html_(self) -> str:
        return _html_table(self._headline(), ("check", "result", "measured", "witness / note"), self._cells())

    def _repr_markdown_(self) -> str:
        if not self.applicable:
            return f"**sanity(`{self.name}`)**: not applicable: {_escape(self.not_applicable)}"
        lines = [
            f"**sanity(`{self.name}`)**: "
            + ("all checks passed" if self.passed else f"failed: {', '.join(self.failed)}"),
            "",
            "| check | result | measured | witness / note |",
            "| --- | --- | --- | --- |",
        ]
        for name, status, value, witness in self._cells():
            status = f"**{status}**" if status == "FAIL" else status
            lines.append(f"| {name} | {status} | {_escape(value)} | {_escape(witness)} |")
        return "\n".join(lines)


# ---------------------------------------------------------------- helpers of sanity


class _Raised(Exception):
    pass


def _index(shape: torch.Size, flat: int) -> str:
    if len(shape) == 0:
        return "input"
    idx = []
    for size in reversed(shape):
        idx.append(flat % size)
        flat //= size
    return "input[" + ", ".join(str(i) for i in reversed(idx)) + "]"


def _cast(value, dtype=None, device=None):
    if isinstance(value, torch.Tensor):
        return value.to(
            dtype=dtype if value.is_floating_point() and dtype is not None else value.dtype, device=device
        )
    return value


def _describe_error(exc: BaseException) -> str:
    msg = str(exc).splitlines()[0] if str(exc) else ""
    return f"raised {type(exc).__name__}: {msg[:120]}"


class _Caller:
    """Calls the loss with a given first argument, the other arguments and the hyper-parameters."""

    def __init__(self, fn, rest, kwargs, reductions):
        self.fn, self.rest, self.kwargs, self.reductions = fn, tuple(rest), dict(kwargs), tuple(reductions)

    @property
    def scalar_reduction(self) -> str | None:
        if not self.reductions:
            return None
        return "mean" if "mean" in self.reductions else ("sum" if "sum" in self.reductions else None)

    def __call__(self, x, reduction=None, rest=None, kwargs=None):
        rest = self.rest if rest is None else rest
        kw = dict(self.kwargs if kwargs is None else kwargs)
        if reduction is not None:
            kw["reduction"] = reduction
        try:
            return self.fn(x, *rest, **kw)
        except Exception as exc:  # noqa: BLE001 - a loss may raise anything; it is reported
            raise _Raised(_describe_error(exc)) from exc

    def total(self, x, rest=None, kwargs=None):
        """A scalar: the loss with its ``"mean"`` (or ``"sum"``) reduction, summed if not scalar."""
        out = self(x, self.scalar_reduction, rest, kwargs)
        if not isinstance(out, torch.Tensor):
            raise _Raised(f"returned {type(out).__name__}, not a tensor")
        return out.sum() if out.ndim else out

    def value_and_grad(self, x, rest=None, kwargs=None):
        x = x.detach().clone().requires_grad_(True)
        out = self.total(x, rest, kwargs)
        if not out.requires_grad:
            return out.detach(), None
        (g,) = torch.autograd.grad(out, x, allow_unused=True)
        return out.detach(), g


def _finite_differences(call: _Caller, x: torch.Tensor, h: float) -> torch.Tensor:
    flat = x.detach().reshape(-1)
    fd = torch.empty_like(flat)
    for i in range(flat.numel()):
        e = torch.zeros_like(flat)
        e[i] = h
        up = call.total((flat + e).reshape(x.shape))
        down = call.total((flat - e).reshape(x.shape))
        fd[i] = (up - down) / (2 * h)
    return fd.reshape(x.shape)


def _number(v: float) -> str:
    """A given (not measured) number: exact zero prints as 0."""
    return "0" if v == 0 else format_value(v)


def _fill_inputs(x: torch.Tensor, extremes) -> list[tuple[str, torch.Tensor]]:
    out = []
    for v in extremes:
        if isinstance(v, torch.Tensor):
            out.append(("the given extreme input", v.to(dtype=x.dtype, device=x.device)))
            continue
        v = float(v)
        out.append((f"input = {_number(v)} everywhere", torch.full_like(x, v)))
        if v > 0:
            s = torch.where(x >= 0, 1.0, -1.0).to(x.dtype)
            out.append((f"input = sign(sample) × {_number(v)}", s * v))
    return out


def _check(name: str, body) -> CheckRow:
    try:
        return body()
    except _Raised as exc:
        return CheckRow(name, False, None, str(exc))


def sanity(
    fn: Loss,
    *args,
    kwargs: dict | None = None,
    name: str | None = None,
    reductions: tuple[str, ...] = ("none", "mean", "sum"),
    mean: Callable | None = None,
    perfect="target",
    minimum=0.0,
    nonnegative: bool = True,
    batch_independent: bool = True,
    extremes=(-1e4, 1e4),
    dtypes: tuple[torch.dtype, ...] = (torch.float32, torch.float64),
    devices=None,
    tol: float = 1e-8,
    fd_step: float = 1e-6,
    fd_atol: float = 1e-6,
    fd_rtol: float = 1e-4,
    seed: int = 0,
) -> LossReport:
    r"""Run the sanity-check suite on a loss and return a :class:`LossReport` (it never raises
    because a check fails: like the property checks it reports, hence no ``check_`` prefix).

    The loss is called as ``fn(input, *others, **kwargs, reduction=r)`` — the convention of
    :mod:`lossbook` and :mod:`torch.nn.functional`; ``args`` are ``(input, *others)``, the
    first one the argument that is differentiated. Without ``args``, a seeded ``(4, 3)``
    float64 input and target are drawn. Numerical checks run in float64 (``input`` and the
    floating-point others are cast). Choose the sample away from the loss's kinks.

    The checks, one row each:

    * **gradient flow** — the loss (its ``"mean"``, else its ``"sum"``, else its value summed)
      has a gradient with respect to ``input``, finite, and non-zero wherever a central finite
      difference says the loss varies; the measured value is the largest gradient entry, the
      scale a learning rate meets;
    * **finite differences** — autograd's gradient against central differences
      (step ``fd_step``), within ``fd_atol + fd_rtol · |fd|``;
    * **perfect prediction** — the loss at the perfect input equals ``minimum`` (a number, or
      a callable of the perfect arguments); ``perfect="target"`` uses ``input := target``,
      a callable maps ``args`` to the perfect ``args``, ``None`` skips the check;
    * **non-negativity** (when ``nonnegative``) — every entry of the ``"none"`` loss is
      ``>= -tol``, on the sample, the perfect input and the extreme inputs;
    * **batch consistency** (when ``batch_independent``) — each sample's ``"none"`` loss is the
      same alone as in the batch (no statistics across the batch leak into it; the other
      arguments and the tensor keyword arguments whose first dimension is the batch's are
      sliced with the input); pass
      ``batch_independent=False`` for a loss that couples samples by design (in-batch negatives);
    * **reduction consistency** — ``"sum"`` is ``none.sum()``, ``"mean"`` is ``none.mean()``
      (or ``mean(none, args, kwargs)`` where the documented normaliser differs);
    * **finite values and gradients** — at the sample, the perfect input and the
      ``extremes`` (numbers fill the input, a positive one also with the sample's signs;
      tensors are used as given);
    * **dtype and device** — the value and the gradient keep the input's dtype (each of
      ``dtypes``) and device (``devices``; by default the input's and
      :func:`lossbook.device.default_device`'s);
    * **determinism** — two evaluations give bit-identical values and gradients.

    A check that does not apply (no ``"none"`` reduction, no perfect prediction given,
    a property not claimed) has ``passed = None`` and a note. A loss that raises inside a
    check fails that check, with the error as the witness. The global random state is
    restored afterwards.

    Examples:
        >>> import torch
        >>> from lossbook.checks import sanity
        >>> from lossbook import data, regression
        >>> g = data.generator(0)
        >>> report = sanity(regression.huber, torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g))
        >>> report.passed
        True
    """
    kwargs = dict(kwargs or {})
    reductions = tuple(reductions)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if not args:
            g = torch.Generator().manual_seed(seed)
            args = (
                torch.randn(4, 3, generator=g, dtype=torch.float64),
                torch.randn(4, 3, generator=g, dtype=torch.float64),
            )
        first = args[0]
        if not isinstance(first, torch.Tensor) or not first.is_floating_point():
            raise TypeError(
                f"the first argument (input) must be a floating-point tensor; got {type(first).__name__}"
            )
        orig_dtype, orig_device = first.dtype, first.device
        args64 = tuple(_cast(a, torch.float64) for a in args)
        kwargs64 = {k: _cast(v, torch.float64) for k, v in kwargs.items()}
        x, rest = args64[0], args64[1:]
        call = _Caller(fn, rest, kwargs64, reductions)
        label = name or getattr(fn, "__qualname__", type(fn).__name__)

        state: dict = {}

        def gradient_flow():
            value, grad = call.value_and_grad(x)
            if grad is None:
                return CheckRow(
                    "gradient flow",
                    False,
                    None,
                    "the loss does not depend on input through autograd (detached?)",
                )
            bad = ~torch.isfinite(grad)
            if bad.any():
                i = int(bad.reshape(-1).nonzero()[0])
                return CheckRow(
                    "gradient flow",
                    False,
                    float(grad.reshape(-1)[i]),
                    f"{_index(x.shape, i)}: gradient not finite",
                )
            fd = _finite_differences(call, x, fd_step)
            state["grad"], state["fd"] = grad, fd
            dead = (grad == 0) & (fd.abs() > fd_atol + fd_rtol * fd.abs())
            if dead.any():
                i = int(torch.argmax(torch.where(dead, fd.abs(), 0.0).reshape(-1)))
                return CheckRow(
                    "gradient flow",
                    False,
                    float(fd.reshape(-1)[i]),
                    f"{_index(x.shape, i)}: gradient 0, finite difference "
                    + format_value(float(fd.reshape(-1)[i])),
                )
            varies = int((fd.abs() > fd_atol).sum())
            return CheckRow(
                "gradient flow",
                True,
                float(grad.abs().max()),
                note=f"largest |gradient|; the loss varies in {varies} of {x.numel()} entries",
            )

        def finite_differences():
            if "grad" not in state:
                return CheckRow(
                    "finite differences", None, note="no finite gradient to compare (see gradient flow)"
                )
            grad, fd = state["grad"], state["fd"]
            err = (grad - fd).abs()
            excess = err - (fd_atol + fd_rtol * fd.abs())
            i = int(torch.argmax(excess.reshape(-1)))
            worst = float(err.reshape(-1)[i])
            if float(excess.reshape(-1)[i]) > 0:
                g, f = float(grad.reshape(-1)[i]), float(fd.reshape(-1)[i])
                return CheckRow(
                    "finite differences",
                    False,
                    worst,
                    f"{_index(x.shape, i)}: autograd {format_value(g)}, finite difference {format_value(f)}",
                )
            return CheckRow(
                "finite differences", True, float(err.max()), note="largest |autograd − finite difference|"
            )

        def perfect_prediction():
            if perfect is None:
                return CheckRow("perfect prediction", None, note="no perfect prediction given")
            if callable(perfect):
                p_args = perfect(*args64)
                p_args = p_args if isinstance(p_args, tuple) else (p_args, *rest)
            elif perfect == "target":
                t = rest[0] if rest else None
                if not (isinstance(t, torch.Tensor) and t.is_floating_point() and t.shape == x.shape):
                    return CheckRow(
                        "perfect prediction", None, note="the target is not a prediction; pass perfect="
                    )
                p_args = (t.clone(), *rest)
            else:
                raise ValueError(f"perfect must be 'target', a callable or None; got {perfect!r}")
            p_args = tuple(_cast(a, torch.float64) for a in p_args)
            state["perfect"] = p_args
            red = "mean" if "mean" in reductions else None
            value = call(p_args[0], red, rest=p_args[1:])
            value = float(value.sum() if value.ndim else value)
            target_min = float(minimum(*p_args)) if callable(minimum) else float(minimum)
            gap = value - target_min
            ok = abs(gap) <= max(tol, 1e-10 * abs(target_min))
            where = f"reduction={red!r}" if red else "the loss"
            if not ok:
                return CheckRow(
                    "perfect prediction",
                    False,
                    value,
                    f"{where} at the perfect input is {format_value(value)}, "
                    + f"expected {_number(target_min)}",
                )
            return CheckRow(
                "perfect prediction",
                True,
                value,
                note=f"{where} at the perfect input (expected {_number(target_min)})",
            )

        def candidates():
            out = [("the sample", x, rest)]
            if "perfect" in state:
                out.append(("the perfect input", state["perfect"][0], state["perfect"][1:]))
            out += [(w, e, rest) for w, e in _fill_inputs(x, extremes)]
            return out

        def nonnegativity_row():
            if not nonnegative:
                return CheckRow("non-negativity", None, note="not claimed")
            red = "none" if "none" in reductions else None
            worst = (math.inf, "")
            for where, xi, ri in candidates():
                out = call(xi, red, rest=ri)
                if out.numel() == 0:
                    continue
                i = int(torch.argmin(out.reshape(-1)))
                v = float(out.reshape(-1)[i])
                if v < worst[0]:
                    entry = f", entry {i}" if out.numel() > 1 else ""
                    worst = (v, f"{where}{entry}: loss {format_value(v)}")
            if worst[0] < -tol:
                return CheckRow("non-negativity", False, worst[0], worst[1])
            return CheckRow("non-negativity", True, worst[0], note="smallest loss entry found")

        def batch_consistency():
            if not batch_independent:
                return CheckRow("batch consistency", None, note="not claimed: the loss couples the samples")
            if "none" not in reductions:
                return CheckRow("batch consistency", None, note="no 'none' reduction")
            if x.ndim == 0 or x.shape[0] < 2:
                return CheckRow("batch consistency", None, note="the input has no batch dimension")
            n = x.shape[0]
            full = call(x, "none")
            if full.ndim == 0 or full.shape[0] != n:
                return CheckRow("batch consistency", None, note="the 'none' loss has no batch dimension")
            worst = (0.0, "")

            def row(a, i):
                return a[i : i + 1] if isinstance(a, torch.Tensor) and a.ndim and a.shape[0] == n else a

            for i in range(min(n, 4)):
                sl = tuple(row(a, i) for a in rest)
                kw = {k: row(v, i) for k, v in kwargs64.items()}
                alone = call(x[i : i + 1], "none", rest=sl, kwargs=kw)
                gap = float((alone - full[i : i + 1]).abs().max())
                if math.isnan(gap) or gap > worst[0]:
                    worst = (
                        gap,
                        f"sample {i}: {format_value(float(alone.sum()))} alone, "
                        + f"{format_value(float(full[i].sum()))} in the batch",
                    )
            if not worst[0] <= tol:
                return CheckRow("batch consistency", False, worst[0], worst[1])
            return CheckRow("batch consistency", True, worst[0], note="largest |alone − in the batch|")

        def reduction_consistency():
            if "none" not in reductions:
                return CheckRow("reduction consistency", None, note="no 'none' reduction")
            none = call(x, "none")
            expected = {"sum": none.sum()}
            expected["mean"] = mean(none, args64, kwargs64) if mean is not None else none.mean()
            worst = (0.0, "")
            for r in reductions:
                if r not in expected:
                    continue
                got = call(x, r)
                if got.ndim != 0:
                    return CheckRow(
                        "reduction consistency",
                        False,
                        None,
                        f"reduction={r!r} returned shape {tuple(got.shape)}, not a scalar",
                    )
                gap = float((got - expected[r]).abs())
                scale = max(1.0, float(expected[r].abs()))
                if math.isnan(gap) or gap / scale > worst[0]:
                    name_ = "none.sum()" if r == "sum" else ("the documented mean" if mean else "none.mean()")
                    worst = (
                        gap / scale,
                        f"reduction={r!r}: {format_value(float(got))}, "
                        + f"{name_} {format_value(float(expected[r]))}",
                    )
            if not worst[0] <= tol:
                return CheckRow("reduction consistency", False, worst[0], worst[1])
            return CheckRow("reduction consistency", True, worst[0], note="largest relative gap")

        def finiteness():
            largest = 0.0
            for where, xi, ri in candidates():
                value, grad = call.value_and_grad(xi, rest=ri)
                if not torch.isfinite(value).all():
                    return CheckRow(
                        "finite values and gradients",
                        False,
                        float(value),
                        f"{where}: loss {format_value(float(value))}",
                    )
                if grad is not None and not torch.isfinite(grad).all():
                    i = int((~torch.isfinite(grad)).reshape(-1).nonzero()[0])
                    g = float(grad.reshape(-1)[i])
                    return CheckRow(
                        "finite values and gradients",
                        False,
                        g,
                        f"{where}: gradient {format_value(g)} at {_index(xi.shape, i)}",
                    )
                largest = max(largest, abs(float(value)))
            return CheckRow(
                "finite values and gradients",
                True,
                largest,
                note=f"largest |loss| over {len(candidates())} inputs",
            )

        def dtype_device():
            from .device import default_device

            devs = [orig_device] if devices is None else [torch.device(d) for d in devices]
            if devices is None and default_device() != orig_device:
                devs.append(default_device())
            for dev in devs:
                for dt in dtypes:
                    xi = x.to(dtype=dt, device=dev)
                    ri = tuple(_cast(a, dt, dev) for a in rest)
                    kw = {k: _cast(v, dt, dev) for k, v in kwargs64.items()}
                    for r in reductions or (None,):
                        xg = xi.detach().clone().requires_grad_(True)
                        out = call(xg, r, rest=ri, kwargs=kw)
                        if out.dtype != dt or out.device != xg.device:
                            what = out.dtype if out.dtype != dt else out.device
                            return CheckRow(
                                "dtype and device",
                                False,
                                None,
                                f"{dt} input, reduction={r!r}: the loss is {what}",
                            )
                        if out.requires_grad:
                            (g,) = torch.autograd.grad(out.sum(), xg, allow_unused=True)
                            if g is not None and g.dtype != dt:
                                return CheckRow(
                                    "dtype and device",
                                    False,
                                    None,
                                    f"{dt} input, reduction={r!r}: the gradient is {g.dtype}",
                                )
            names = ", ".join(str(d).removeprefix("torch.") for d in dtypes)
            return CheckRow(
                "dtype and device", True, names, note="value and gradient keep the input's dtype and device"
            )

        def determinism():
            v1, g1 = call.value_and_grad(x)
            v2, g2 = call.value_and_grad(x)
            same = torch.equal(v1, v2) or bool(torch.isnan(v1).all() and torch.isnan(v2).all())
            if not same:
                return CheckRow(
                    "determinism",
                    False,
                    float((v1 - v2).abs()),
                    f"two evaluations differ: {format_value(float(v1))} and {format_value(float(v2))}",
                )
            if (g1 is None) != (g2 is None) or (g1 is not None and not torch.equal(g1, g2)):
                gap = float((g1 - g2).abs().max()) if g1 is not None and g2 is not None else None
                return CheckRow("determinism", False, gap, "two evaluations give different gradients")
            return CheckRow("determinism", True, 0.0, note="bit-identical values and gradients")

        rows = tuple(
            _check(n, b)
            for n, b in [
                ("gradient flow", gradient_flow),
                ("finite differences", finite_differences),
                ("perfect prediction", perfect_prediction),
                ("non-negativity", nonnegativity_row),
                ("batch consistency", batch_consistency),
                ("reduction consistency", reduction_consistency),
                ("finite values and gradients", finiteness),
                ("dtype and device", dtype_device),
                ("determinism", determinism),
            ]
        )
    del orig_dtype
    return LossReport(label, rows)


# ---------------------------------------------------------------- every loss of the package

INFRASTRUCTURE_MODULES = frozenset(
    {"bench", "checks", "data", "device", "metrics", "notebook", "optim", "plotting"}
)
"""Modules of :mod:`lossbook` that are not chapter modules (private ``_*`` modules are skipped too)."""

NOT_LOSSES: dict[str, str] = {
    "classification.logsumexp": "a stable primitive",
    "classification.log_softmax": "a stable primitive",
    "classification.softmax": "a stable primitive",
    "classification.naive_softmax": "the unstable formula, shown for teaching",
    "classification.smooth_labels": "builds targets",
    "classification.focal_modulating_factor": "a factor of the focal loss, not a loss",
    "classification.svm_primal_objective": "an objective of (w, b) and data, not of (input, target)",
    "probabilistic.cost_matrix": "builds the input of sinkhorn",
    "probabilistic.sinkhorn": "a solver: returns (cost, plan)",
    "probabilistic.sinkhorn_reference": "the readable form of the solver sinkhorn",
    "probabilistic.sinkhorn_default_tol": "the default tolerance of sinkhorn",
    "metric.pairwise_distances": "a distance matrix, the input of the miners and losses",
    "metric.select_triplets": "a miner: returns index tensors (anchor, positive, negative)",
    "metric.batch_hard_triplets": "a miner: returns index tensors (anchor, positive, negative)",
    "metric.recall_at_k": "a retrieval metric, not differentiated",
    "metric.all_gather_differentiable": "a distributed collective that keeps the gradient path",
    "sequence.inverse_decay": "a scheduled-sampling schedule of the teacher-forcing probability",
    "sequence.linear_decay": "a scheduled-sampling schedule of the teacher-forcing probability",
    "sequence.exponential_decay": "a scheduled-sampling schedule of the teacher-forcing probability",
    "sequence.inverse_sigmoid_decay": "a scheduled-sampling schedule of the teacher-forcing probability",
    "sequence.scheduled_sampling_mix": "a sampler: mixes gold and predicted tokens with coin flips",
    "sequence.ctc_collapse": "the CTC map B on one path of ints",
    "sequence.ctc_min_input_length": "a counting helper (fewest frames for a target)",
    "sequence.ctc_num_alignments": "a counting helper (number of alignments)",
    "sequence.ctc_alignments": "enumerates alignments by brute force",
    "sequence.ctc_brute_force_nll": "a brute-force reference for tiny cases (one sequence, a Python target)",
    "sequence.ctc_log_alpha_beta": "the forward and backward tables of one sequence, for reading",
    "sequence.ctc_greedy_decode": "a decoder: returns label tuples",
    "sequence.ctc_prefix_beam_search": "a decoder: returns labellings and their log-probabilities",
    "generative.reparameterize": "a sampler: the reparameterised sample z = mu + sigma * eps",
    "generative.diag_gaussian_log_prob": "a log-density helper, a piece of the reconstruction term",
    "generative.active_units": "a diagnostic metric: counts active latent dimensions (an int)",
    "generative.clip_parameters_": "an in-place constraint on parameters, returns None",
    "generative.mode_coverage": "a diagnostic metric: (modes covered, high-quality fraction)",
    "selection.recommend": "walks the decision tree: returns a recommendation",
    "selection.tree_nodes": "reads the decision tree for its figure",
    "selection.tree_edges": "reads the decision tree for its figure",
    "selection.plot_tree": "draws the decision tree",
    "selection.coral_levels": "builds the binary targets of coral",
    "selection.coral_predict": "turns coral's logits into a rank",
}
"""Public functions of chapter modules that are not losses, each with the reason.

The package's tests (``tests/support.py``) use the same table."""


def chapter_modules() -> list:
    """Every chapter module of :mod:`lossbook`: its public modules minus :data:`INFRASTRUCTURE_MODULES`.

    Examples:
        >>> from lossbook.checks import chapter_modules
        >>> [m.__name__ for m in chapter_modules()][:3]
        ['lossbook.classification', 'lossbook.generative', 'lossbook.metric']
    """
    import importlib
    import pkgutil

    import lossbook

    names = sorted(
        m.name
        for m in pkgutil.iter_modules(lossbook.__path__)
        if not m.name.startswith("_") and m.name not in INFRASTRUCTURE_MODULES
    )
    return [importlib.import_module(f"lossbook.{n}") for n in names]


def public_losses(module) -> dict[str, Callable]:
    """The public losses of a chapter module, by ``"<module>.<function>"``.

    The rule: a *function* listed in the module's ``__all__``, whose name does not end in
    ``_grad`` (closed-form gradients belong to their loss) and that is not in :data:`NOT_LOSSES`.

    Examples:
        >>> from lossbook.checks import public_losses
        >>> from lossbook import regression
        >>> sorted(public_losses(regression))[:3]
        ['regression.huber', 'regression.huber_reference', 'regression.log_cosh']
    """
    import inspect

    short = module.__name__.removeprefix("lossbook.")
    out = {}
    for name in module.__all__:
        obj = getattr(module, name)
        key = f"{short}.{name}"
        if inspect.isfunction(obj) and not name.endswith("_grad") and key not in NOT_LOSSES:
            out[key] = obj
    return out


def chapter_losses() -> dict[str, Callable]:
    """Every public loss of every chapter module present (:func:`public_losses` of each).

    Examples:
        >>> from lossbook.checks import chapter_losses
        >>> "regression.huber" in chapter_losses()
        True
    """
    return {k: fn for m in chapter_modules() for k, fn in public_losses(m).items()}


def _g(seed):
    return torch.Generator().manual_seed(seed)


def _away(r: torch.Tensor, kinks, gap=0.05) -> torch.Tensor:
    for k in kinks:
        close = (r - k).abs() < gap
        r = torch.where(close, r + 2 * gap, r)
    return r


def _regression(kinks=(0.0,), **kw):
    def sample(g):
        y = torch.randn(4, 3, generator=g, dtype=torch.float64)
        r = _away(
            2 * torch.randn(4, 3, generator=g, dtype=torch.float64), [s * k for k in kinks for s in (1, -1)]
        )
        return (y + r, y), kw, {}

    return sample


def _no_reduction(sample):
    def wrapped(g):
        args, kw, opts = sample(g)
        return args, kw, {**opts, "reductions": ()}

    return wrapped


def _labels(kind, probabilities=False, **kw):
    def sample(g):
        z = 2 * torch.randn(4, 3, generator=g, dtype=torch.float64)
        y = (torch.rand(4, 3, generator=g) < 0.5).double()
        opts: dict = {}
        if kind == "pm":
            y = 2 * y - 1
            z = y * _away(y * z, [kw.get("margin", 1.0)])
            opts["perfect"] = lambda x, t: (kw.get("margin", 1.0) * 2 * t, t)
        elif kind == "soft":
            y = torch.rand(4, 3, generator=g, dtype=torch.float64) * 0.8 + 0.1
            # the minimum over logits is the binary entropy of the target, at logit(target)
            opts["perfect"] = lambda x, t: (torch.logit(t), t)
            opts["minimum"] = lambda x, t: float(-(t * t.log() + (1 - t) * (1 - t).log()).mean())
        if probabilities:
            x = torch.sigmoid(z)
            opts |= {"perfect": "target", "extremes": (0.0, 1.0)}
        else:
            x = z
            if kind == "01":
                opts["perfect"] = None
        return (x, y), kw, opts

    return sample


def _classes(margin=None, **kw):
    def sample(g):
        z = 2 * torch.randn(5, 4, generator=g, dtype=torch.float64)
        t = torch.randint(0, 4, (5,), generator=g)
        if margin is not None:
            z_y = z.gather(-1, t[:, None])
            v = _away(margin - z_y + z, [0.0])
            z = torch.where(torch.nn.functional.one_hot(t, 4) == 1, z, v - margin + z_y)
            perfect = lambda x, y: (2 * margin * torch.nn.functional.one_hot(y, 4).to(x.dtype), y)  # noqa: E731
            return (z, t), kw, {"perfect": perfect}
        return (z, t), kw, {"perfect": None}

    return sample


def _distributions(n=2, **opts):
    def sample(g):
        ds = []
        for _ in range(n):
            p = torch.rand(3, 4, generator=g, dtype=torch.float64) + 0.1
            ds.append(p / p.sum(-1, keepdim=True))
        return tuple(ds), {}, {"extremes": (), **opts}

    return sample


def _kl_div(g):
    (p, q), _, _ = _distributions()(g)
    return (
        (q.log(), p),
        {},
        {
            "reductions": ("none", "batchmean", "mean", "sum"),
            "perfect": lambda x, t: (t.log(), t),
            "nonnegative": False,
            "extremes": (),
        },
    )


def _gaussians(g):
    mu_p, mu_q = (
        torch.randn(5, generator=g, dtype=torch.float64),
        torch.randn(5, generator=g, dtype=torch.float64),
    )
    s_p = torch.rand(5, generator=g, dtype=torch.float64) + 0.5
    s_q = torch.rand(5, generator=g, dtype=torch.float64) + 0.5
    return (mu_p, s_p, mu_q, s_q), {}, {"perfect": lambda a, b, c, d: (c, d, c, d), "extremes": (-1e4, 1e4)}


def _samples_1d(g):
    u = torch.randperm(20, generator=g)[:7].double() / 4 - 2
    v = torch.randperm(20, generator=g)[:9].double() / 4 - 1.875
    return (u, v), {}, {"reductions": (), "perfect": lambda a, b: (b.clone(), b)}


def _one_distribution(g):
    (p,), _, _ = _distributions(1)(g)
    return (p,), {}, {"perfect": None, "extremes": ()}


# ---- metric learning


def _triplets(g, margin=1.0, gap=0.05):
    """Anchor, positive and negative rows, every ``d(a, p) - d(a, n) + margin`` at least ``gap`` from 0."""
    a, p, n = (torch.randn(5, 3, generator=g, dtype=torch.float64) for _ in range(3))
    for _ in range(50):
        close = ((a - p).norm(dim=-1) - (a - n).norm(dim=-1) + margin).abs() < gap
        if not close.any():
            break
        n = torch.where(close[:, None], torch.randn(5, 3, generator=g, dtype=torch.float64), n)
    return (a, p, n), {"margin": margin}, {"perfect": _perfect_triplet}


def _perfect_triplet(a, p, n):
    """The positive on the anchor, the negative opposite it and at least 10 away (cosine distance 2)."""
    return a, a.clone(), -a - 10 * a / a.norm(dim=-1, keepdim=True)


def _perfect_embeddings(x, y):
    """Each class on its own axis, 10 from the origin: D_ap = 0 and D_an >= 10 (cosine distance 1)."""
    return 10 * torch.nn.functional.one_hot(y, x.shape[-1]).to(x.dtype), y


def _labelled_batch(g, margin=0.2, gap=0.02):
    """A labelled batch (3 classes, dim 3): every ``D_ap - D_an + margin`` at least ``gap`` from 0."""
    from .metric import pairwise_distances

    labels = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2])
    same = labels[:, None] == labels[None, :]
    pos = same & ~torch.eye(len(labels), dtype=torch.bool)
    for _ in range(50):
        x = torch.randn(len(labels), 3, generator=g, dtype=torch.float64)
        d = pairwise_distances(x)
        s = (d[:, :, None] - d[:, None, :])[pos[:, :, None] & ~same[:, None, :]]
        if (s + margin).abs().min() >= gap:
            break
    from .metric import TRIPLET_REDUCTIONS

    opts = {
        "reductions": TRIPLET_REDUCTIONS,
        "perfect": _perfect_embeddings,
        "batch_independent": False,  # the triplets are mined within the batch
    }
    return (x, labels), {"margin": margin}, opts


def _labelled_pairs(g, margin=2.0, gap=0.05):
    """Pairs with labels in {0, 1}, every distance at least ``gap`` from ``margin`` and from 0."""
    x1 = torch.randn(6, 3, generator=g, dtype=torch.float64)
    diff = torch.randn(6, 3, generator=g, dtype=torch.float64)
    d = diff.norm(dim=-1, keepdim=True)
    diff = diff * _away(d.clamp_min(gap), [margin], gap) / d
    t = torch.tensor([0, 1] * 3)[torch.randperm(6, generator=g)]

    def perfect(x1, x2, t):  # similar pairs coincide, dissimilar ones 10 apart (beyond the margin)
        far = torch.zeros_like(x1)
        far[..., 0] = 10.0
        return x1, torch.where((t == 1)[:, None], x1, x1 + far), t

    return (x1, x1 - diff, t), {"margin": margin}, {"perfect": perfect}


def _views(temperature):
    def sample(g):
        z1 = torch.randn(4, 3, generator=g, dtype=torch.float64)
        z2 = z1 + 0.5 * torch.randn(4, 3, generator=g, dtype=torch.float64)
        # in-batch negatives: each anchor's loss depends on the whole batch; the minimum is not attained
        return (z1, z2), {"temperature": temperature}, {"perfect": None, "batch_independent": False}

    return sample


def _scores(g):
    s = 2 * torch.randn(5, 5, generator=g, dtype=torch.float64)
    return (s,), {}, {"perfect": None, "batch_independent": False}


# ---- sequences


def _padded_tokens(g):
    """Decoder logits (N=3, T=5, C=4) and gold tokens padded with ``ignore_index`` (lengths 5, 2, 4)."""
    z = 2 * torch.randn(3, 5, 4, generator=g, dtype=torch.float64)
    y = torch.randint(0, 4, (3, 5), generator=g)
    y = torch.where(torch.arange(5) < torch.tensor([5, 2, 4])[:, None], y, -100)
    return (z, y), {"ignore_index": -100}, {"perfect": None}


def _token_mean(none, args, kwargs):
    """The ``"token"`` average of :func:`lossbook.sequence.sequence_cross_entropy`: over the real tokens."""
    return none.sum() / (args[1] != kwargs.get("ignore_index", -100)).sum()


def _ctc(g):
    """Time-first log-probabilities (T=6, N=3, C=4), padded targets with a repeat, every target feasible.

    The extremes are normalised too (CTC reads log-probabilities): nearly one-hot frames
    (log-probabilities down to about -10⁴) and uniform ones."""
    lp = torch.randn(6, 3, 4, generator=g, dtype=torch.float64).log_softmax(-1)
    targets = torch.tensor([[1, 2, 2], [3, 1, 0], [2, 0, 0]])
    lengths = (torch.tensor([6, 5, 4]), torch.tensor([3, 2, 1]))
    peaked = (3e3 * torch.randn(6, 3, 4, generator=g, dtype=torch.float64)).log_softmax(-1)
    uniform = torch.full((6, 3, 4), -math.log(4), dtype=torch.float64)
    return (lp, targets, *lengths), {}, {"perfect": None, "extremes": (peaked, uniform)}


def _ctc_mean(none, args, kwargs):
    """torch's CTC ``"mean"``: each sequence's loss divided by its target length, then averaged."""
    return (none / args[3].clamp(min=1).to(none.dtype)).mean()


# ---- generative models


def _gaussian_posterior(g):
    from .generative import GAUSSIAN_KL_REDUCTIONS

    mu, logvar = (
        torch.randn(4, 3, generator=g, dtype=torch.float64),
        torch.randn(4, 3, generator=g, dtype=torch.float64),
    )
    opts = {
        "reductions": GAUSSIAN_KL_REDUCTIONS,
        "perfect": lambda m, lv: (torch.zeros_like(m), torch.zeros_like(lv)),  # the prior N(0, I)
    }
    return (mu, logvar), {}, opts


def _elbo(g):
    recon = torch.rand(4, generator=g, dtype=torch.float64) * 5 + 1
    mu = torch.randn(4, 3, generator=g, dtype=torch.float64)
    logvar = 0.5 * torch.randn(4, 3, generator=g, dtype=torch.float64)
    opts = {
        # the posterior on the prior: the KL term vanishes and the loss is the reconstruction term
        "perfect": lambda r, m, lv: (r, torch.zeros_like(m), torch.zeros_like(lv)),
        "minimum": lambda r, m, lv: float(r.mean()),
        # recon_nll is a negative log-likelihood, negative for a density above 1 (a Gaussian decoder)
        "nonnegative": False,
    }
    return (recon, mu, logvar), {}, opts


def _logits(n_args, **opts):
    """GAN logits or critic scores: no perfect prediction (the minimum, if any, is at infinity)."""

    def sample(g):
        args = tuple(2 * torch.randn(4, 3, generator=g, dtype=torch.float64) for _ in range(n_args))
        return args, {}, {"perfect": None, **opts}

    return sample


# ---- loss selection


def _masks(logits):
    """Predictions (logits, or probabilities in (0.05, 0.95)) and hard masks, one sample per row."""

    def sample(g):
        z = 2 * torch.randn(3, 2, 4, generator=g, dtype=torch.float64)
        t = (torch.rand(3, 2, 4, generator=g, dtype=torch.float64) < 0.4).double()
        if logits:
            return (z, t), {"smooth": 1.0}, {"perfect": None}
        return (0.05 + 0.9 * torch.sigmoid(z), t), {"smooth": 1.0}, {"extremes": (0.0, 1.0)}

    return sample


def _cosines(g):
    """Cosines in (-0.75, 0.95), away from the clamp at ±1 and from the fallback's switch at -cos m;
    the extremes are the ends of [-1, 1], where d arccos / dc is infinite."""
    c = -0.75 + 1.7 * torch.rand(5, 4, generator=g, dtype=torch.float64)
    t = torch.randint(0, 4, (5,), generator=g)
    return (c, t), {"scale": 8.0, "margin": 0.5}, {"perfect": None, "extremes": (-1.0, 1.0)}


def _lists(**opts):
    """Scores and relevances without ties (3 lists of 5)."""

    def sample(g):
        s = torch.randn(3, 5, generator=g, dtype=torch.float64)
        t = torch.stack([torch.randperm(5, generator=g) for _ in range(3)]).double()
        return (s, t), {}, opts

    return sample


def _softmax_entropy(s, t):
    p = torch.softmax(t, -1)
    return float(-(p * p.log()).sum(-1).mean())


def _ordinal(g):
    z = 2 * torch.randn(6, 4, generator=g, dtype=torch.float64)
    t = torch.randint(0, 5, (6,), generator=g)
    return (z, t), {}, {"perfect": None}


def _task_losses(g):
    L = torch.rand(4, generator=g, dtype=torch.float64) * 2 + 0.1
    s = torch.randn(4, generator=g, dtype=torch.float64)
    opts = {
        # for fixed L_t > 0 the minimiser is s_t = log L_t, the minimum (1 + log L_t) / 2
        # (negative for L_t < 1/e)
        "perfect": lambda L, s: (L, L.log()),
        "minimum": lambda L, s: float((0.5 * (1 + L.log())).mean()),
        "nonnegative": False,
        "extremes": (0.0, 1e4),  # task losses are non-negative
    }
    return (L, s), {}, opts


def _policy(g):
    lp = -torch.rand(8, generator=g, dtype=torch.float64) * 2 - 0.05
    ret = 3 * torch.randn(8, generator=g, dtype=torch.float64)
    # a surrogate, negative where the return is: no perfect prediction; log-probabilities are <= 0
    return (lp, ret), {}, {"perfect": None, "nonnegative": False, "extremes": (-1e4, 0.0)}


def _ppo(g, clip_range=0.2):
    """New and old log-probabilities whose ratio is at least 0.02 from 1 ± clip_range."""
    old = -torch.rand(10, generator=g, dtype=torch.float64) * 2 - 0.1
    r = _away(0.5 + torch.rand(10, generator=g, dtype=torch.float64), [1 - clip_range, 1 + clip_range], 0.02)
    adv = _away(torch.randn(10, generator=g, dtype=torch.float64), [0.0])
    opts = {"perfect": None, "nonnegative": False, "extremes": (-1e4, 0.0)}
    return (old + r.log(), old, adv), {"clip_range": clip_range}, opts


def _values(g):
    v, ret = (
        torch.randn(7, generator=g, dtype=torch.float64),
        torch.randn(7, generator=g, dtype=torch.float64),
    )
    # no perfect= : with clip_range, values = returns still pays (V_clipped - G)^2 / 2 where the old
    # values are farther than clip_range from the returns
    return (v, ret), {}, {"perfect": None}


SAMPLES: dict[str, Callable] = {
    "regression.mse": _regression(),
    "regression.mse_reference": _regression(),
    "regression.mae": _regression(),
    "regression.huber": _regression(kinks=(0.0, 1.0), delta=1.0),
    "regression.huber_reference": _regression(kinks=(0.0, 1.0), delta=1.0),
    "regression.quantile": _regression(tau=0.9),
    "regression.log_cosh": _regression(),
    "regression.sse": _no_reduction(_regression()),
    "regression.rmse": _no_reduction(_regression()),
    "classification.binary_cross_entropy": _labels("01", probabilities=True),
    "classification.binary_cross_entropy_with_logits": _labels("soft"),
    "classification.cross_entropy": _classes(),
    "classification.hinge": _labels("pm", margin=1.0),
    "classification.multi_margin": _classes(margin=1.0),
    "classification.crammer_singer_hinge": _classes(margin=1.0),
    "classification.focal": _labels("01", alpha=0.25, gamma=2.0),
    "probabilistic.kl_div": _kl_div,
    "probabilistic.kl_divergence": _distributions(perfect=lambda p, q: (p, p.clone())),
    "probabilistic.js_divergence": _distributions(perfect=lambda p, q: (p, p.clone())),
    "probabilistic.distribution_cross_entropy": _distributions(
        perfect=lambda p, q: (p, p.clone()), minimum=lambda p, q: float(-(p * p.log()).sum(-1).mean())
    ),
    "probabilistic.entropy": _one_distribution,
    "probabilistic.gaussian_kl": _gaussians,
    "probabilistic.wasserstein_1d": _samples_1d,
    "metric.triplet_margin_loss": _triplets,
    "metric.triplet_loss": _labelled_batch,
    "metric.contrastive_loss": _labelled_pairs,
    "metric.nt_xent": _views(0.5),
    "metric.info_nce": _views(0.2),
    "metric.info_nce_from_scores": _scores,
    "sequence.sequence_cross_entropy": _padded_tokens,
    "sequence.ctc_loss": _ctc,
    "sequence.ctc_loss_reference": _ctc,
    "generative.kl_standard_normal": _gaussian_posterior,
    "generative.elbo_loss": _elbo,
    "generative.gan_discriminator_loss": _logits(2),
    "generative.minimax_generator_loss": _logits(1, nonnegative=False),  # log(1 - D) <= 0
    "generative.non_saturating_generator_loss": _logits(1),
    "generative.wgan_critic_loss": _logits(2, nonnegative=False),  # f(fake) - f(real), any sign
    "generative.wgan_generator_loss": _logits(1, nonnegative=False),  # -f(fake), any sign
    "selection.soft_dice": _masks(logits=False),
    "selection.dice": _masks(logits=True),
    "selection.arcface": _cosines,
    "selection.listnet": _lists(perfect="target", minimum=_softmax_entropy),
    "selection.listmle": _lists(perfect=None),
    "selection.coral": _ordinal,
    "selection.uncertainty_weighting": _task_losses,
    "selection.reinforce": _policy,
    "selection.ppo_clip": _ppo,
    "selection.ppo_value": _values,
}
"""Sample inputs for every loss of the package, ``"<module>.<function>" -> sample(generator)``,
returning ``(args, kwargs, options)``, the options being :func:`sanity`'s keyword
arguments that the loss needs (its reductions, its perfect prediction and minimum, its
extreme inputs). A chapter module may add its own in a module-level ``CHECK_SAMPLES`` dict
(``{function name: sample}``). A loss without a sample is tried on a ``(4, 3)`` input and
target."""


MEANS: dict[str, Callable] = {
    "sequence.sequence_cross_entropy": _token_mean,
    "sequence.ctc_loss": _ctc_mean,
    "sequence.ctc_loss_reference": _ctc_mean,
}
""":func:`sanity`'s ``mean`` for the losses whose documented ``"mean"`` normaliser is not
``none.mean()``, as ``mean(none, args, kwargs)``: ``"<module>.<function>" -> mean``."""

NOT_APPLICABLE: dict[str, str] = {
    "generative.gradient_penalty": "its first argument is the critic (a module), not a prediction; the "
    "penalty is detached from real and fake by design (it trains the critic's parameters) and each call "
    "draws new interpolation weights (tests/test_generative.py checks it)",
}
"""Losses of the chapter modules that :func:`sanity` cannot run on, each with the reason.
:func:`package_reports` reports them as not applicable (a :class:`LossReport` without rows),
not as failed."""


def _default_sample(g):
    return (
        (
            torch.randn(4, 3, generator=g, dtype=torch.float64),
            torch.randn(4, 3, generator=g, dtype=torch.float64),
        ),
        {},
        {},
    )


def sample_for(name: str) -> Callable:
    """The sample factory of the loss ``"<module>.<function>"``: :data:`SAMPLES`, the module's
    ``CHECK_SAMPLES``, or a ``(4, 3)`` input and target.

    Examples:
        >>> from lossbook.checks import sample_for
        >>> from lossbook.data import generator
        >>> args, kwargs, _ = sample_for("regression.huber")(generator(0))
        >>> [a.shape for a in args], kwargs
        ([torch.Size([4, 3]), torch.Size([4, 3])], {'delta': 1.0})
    """
    import importlib

    module, _, fname = name.partition(".")
    own = getattr(importlib.import_module(f"lossbook.{module}"), "CHECK_SAMPLES", {})
    return own.get(fname) or SAMPLES.get(name) or _default_sample


def package_reports(seed: int = 0) -> list[LossReport]:
    """:func:`sanity` on every loss of every chapter module present (:func:`chapter_losses`),
    with the samples of :func:`sample_for` and the normalisers of :data:`MEANS`; a loss of
    :data:`NOT_APPLICABLE` gets a report that says so, with the reason, instead.

    Examples:
        >>> from lossbook.checks import package_reports
        >>> reports = package_reports()
        >>> all(r.passed for r in reports)
        True
    """
    reports = []
    for i, (name, fn) in enumerate(chapter_losses().items()):
        if name in NOT_APPLICABLE:
            reports.append(LossReport(name, (), not_applicable=NOT_APPLICABLE[name]))
            continue
        args, kw, opts = sample_for(name)(_g(seed + i))
        opts = {"mean": MEANS.get(name), **opts}
        reports.append(sanity(fn, *args, kwargs=kw, name=name, **opts))
    return reports


@dataclass(frozen=True)
class SummaryTable:
    """Reports side by side: one row per loss, one column per check (``✓`` pass, ``✗`` fail, ``–`` n/a).

    A loss the suite does not apply to (:data:`NOT_APPLICABLE`) has one row reading ``not applicable``.
    """

    reports: tuple[LossReport, ...]

    def _grid(self):
        ran = [r for r in self.reports if r.applicable]
        checks = [r.name for r in ran[0].rows] if ran else []
        mark = {True: "✓", False: "✗", None: "–"}

        def marks(rep):
            if not rep.applicable:  # one "not applicable" cell, the other columns left empty
                return ["not applicable", *([""] * (len(checks) - 1))] if checks else ["not applicable"]
            return [mark[rep[c].passed] for c in checks]

        return checks, [(rep.name, marks(rep)) for rep in self.reports]

    def __str__(self) -> str:
        checks, rows = self._grid()
        width = max([len("loss"), *(len(n) for n, _ in rows)])
        head = "loss".ljust(width) + "  " + "  ".join(f"{i + 1}" for i in range(len(checks)))
        body = [n.ljust(width) + "  " + "  ".join(m for m in marks if m) for n, marks in rows]
        key = [f"{i + 1}: {c}" for i, c in enumerate(checks)]
        return "\n".join([head, *body, "", *key])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        checks, rows = self._grid()
        return _html_table(
            "✓ pass, ✗ fail, – does not apply", ("loss", *checks), [(n, *marks) for n, marks in rows]
        )

    def _repr_markdown_(self) -> str:
        checks, rows = self._grid()
        lines = ["| loss | " + " | ".join(checks) + " |", "| --- |" + " :-: |" * len(checks)]
        lines += [f"| `{n}` | " + " | ".join(marks) + " |" for n, marks in rows]
        return "\n".join(lines)


def summary_table(reports) -> SummaryTable:
    """A :class:`SummaryTable` of :class:`LossReport` objects (for example :func:`package_reports`'s).

    Examples:
        >>> import torch
        >>> from lossbook import data, regression
        >>> from lossbook.checks import sanity, summary_table
        >>> g = data.generator(0)
        >>> report = sanity(regression.mse, torch.randn(3, generator=g), torch.randn(3, generator=g))
        >>> table = summary_table([report])
        >>> print(str(table).splitlines()[1])
        mse   ✓  ✓  ✓  ✓  ✓  ✓  ✓  ✓  ✓
    """
    return SummaryTable(tuple(reports))
