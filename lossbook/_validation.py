"""Argument checks and reductions shared by every loss in :mod:`lossbook`.

This module implements the book's error contract in one place, so no loss
re-implements it:

* ``ValueError`` for an unknown ``reduction``, a hyper-parameter outside its
  domain, or a shape / device mismatch (there is no silent broadcasting of
  ``input`` against ``target``);
* ``TypeError`` for integer inputs where a loss needs floating point, and for
  floating-point class labels where it needs integer indices;
* ``IndexError`` for a class index outside ``[0, num_classes)``.

Every message names the offending argument, so the reader knows which one to fix.
Introduced in the preface (:doc:`/book/intro`); used by every chapter.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import torch

REDUCTIONS: tuple[str, ...] = ("none", "mean", "sum")

__all__ = [
    "REDUCTIONS",
    "as_float_tensor",
    "as_index_tensor",
    "check_class_indices",
    "check_finite_scalar",
    "check_in_range",
    "check_nonnegative",
    "check_pair",
    "check_positive",
    "check_positive_int",
    "check_reduction",
    "check_same_device",
    "check_same_shape",
    "check_unit_interval",
    "check_weights",
    "reduce",
]


def check_reduction(reduction: str, allowed: Sequence[str] = REDUCTIONS) -> str:
    """Return ``reduction`` if it is one of ``allowed``, else raise ``ValueError``."""
    if not isinstance(reduction, str) or reduction not in allowed:
        choices = ", ".join(repr(r) for r in allowed)
        raise ValueError(f"reduction must be one of {choices}; got {reduction!r}")
    return reduction


def reduce(
    loss: torch.Tensor,
    reduction: str = "mean",
    *,
    weight: torch.Tensor | None = None,
    allowed: Sequence[str] = REDUCTIONS,
) -> torch.Tensor:
    """Apply ``reduction`` to an element-wise ``loss`` tensor.

    ``"none"`` returns ``loss`` unchanged, ``"sum"`` its sum and ``"mean"`` its mean.
    With ``weight`` (same shape as ``loss``), ``"mean"`` is the weighted mean
    ``sum(w * l) / sum(w)``, as in :func:`torch.nn.functional.cross_entropy`.
    The mean of an empty tensor is a zero that still back-propagates, not NaN.
    """
    check_reduction(reduction, allowed)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if weight is not None:
        total = weight.sum()
        # A zero total weight (nothing to average) gives 0, not 0/0 = NaN.
        return loss.sum() / torch.where(total == 0, torch.ones_like(total), total)
    if loss.numel() == 0:
        return loss.sum()  # 0.0, connected to the graph
    return loss.mean()


def _describe(x: object) -> str:
    if isinstance(x, torch.Tensor):
        return f"a tensor of dtype {x.dtype}"
    return f"an object of type {type(x).__name__}"


def as_float_tensor(x: object, name: str, *, like: torch.Tensor | None = None) -> torch.Tensor:
    """Convert an array-like to a floating-point tensor, or raise ``TypeError``.

    Tensors keep their dtype and device. Other array-likes (lists, NumPy arrays,
    Python numbers) are converted with :func:`torch.as_tensor`; if ``like`` is a
    tensor they take its floating dtype and device, otherwise the default dtype.
    Integer and boolean tensors are rejected: a loss needs real-valued input, and
    silently casting would hide a bug (for example class indices passed as logits).
    """
    if isinstance(x, torch.Tensor):
        if not (x.is_floating_point()):
            raise TypeError(
                f"{name} must be a floating-point tensor; got {_describe(x)} "
                f"(convert it with {name}.float() if that is what you meant)"
            )
        return x
    if isinstance(x, bool) or (isinstance(x, (str, bytes))):
        raise TypeError(f"{name} must be a floating-point array-like; got {_describe(x)}")
    dtype = like.dtype if isinstance(like, torch.Tensor) and like.is_floating_point() else None
    device = like.device if isinstance(like, torch.Tensor) else None
    try:
        t = torch.as_tensor(x, device=device)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise TypeError(f"{name} must be a floating-point array-like; got {_describe(x)}") from exc
    if t.dtype == torch.bool or t.is_complex():
        raise TypeError(f"{name} must be a floating-point array-like; got values of dtype {t.dtype}")
    return t.to(dtype or (t.dtype if t.is_floating_point() else torch.get_default_dtype()))


def as_index_tensor(x: object, name: str, *, like: torch.Tensor | None = None) -> torch.Tensor:
    """Convert class labels to an integer (``int64``) tensor, or raise ``TypeError``.

    Floating-point labels are rejected rather than truncated: ``2.7`` is not a class.
    """
    if isinstance(x, torch.Tensor):
        t = x
    else:
        device = like.device if isinstance(like, torch.Tensor) else None
        try:
            t = torch.as_tensor(x, device=device)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise TypeError(f"{name} must hold integer class indices; got {_describe(x)}") from exc
    if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer class indices; got values of dtype {t.dtype}")
    return t.long()


def check_same_shape(
    input: torch.Tensor, target: torch.Tensor, names: tuple[str, str] = ("input", "target")
) -> None:
    """Raise ``ValueError`` unless the two tensors have exactly the same shape.

    Unlike :mod:`torch.nn.functional`, which broadcasts (and only warns), a
    mismatch here is an error: ``(n, 1)`` against ``(n,)`` silently becomes an
    ``(n, n)`` loss and is a classic bug.
    """
    if input.shape != target.shape:
        a, b = names
        raise ValueError(
            f"{a} and {b} must have the same shape; got {a} {tuple(input.shape)} "
            f"and {b} {tuple(target.shape)} (no broadcasting is done)"
        )


def check_same_device(*named: tuple[str, torch.Tensor]) -> None:
    """Raise ``ValueError`` unless every ``(name, tensor)`` pair is on one device."""
    if not named:
        return
    first_name, first = named[0]
    for name, t in named[1:]:
        if t.device != first.device:
            raise ValueError(
                f"{name} is on device {t.device} but {first_name} is on {first.device}; "
                "move them to the same device"
            )


def check_pair(
    input: object, target: object, names: tuple[str, str] = ("input", "target")
) -> tuple[torch.Tensor, torch.Tensor]:
    """The preamble of every two-argument loss: both floating point, one shape, one device.

    ``input`` is converted with :func:`as_float_tensor`, ``target`` likewise (array-likes take
    ``input``'s dtype and device); then :func:`check_same_shape` and :func:`check_same_device`.
    ``target`` keeps its own floating dtype: cast it where the loss computes. Returns both.
    """
    a, b = names
    input = as_float_tensor(input, a)
    target = as_float_tensor(target, b, like=input)
    check_same_shape(input, target, names)
    check_same_device((a, input), (b, target))
    return input, target


def check_weights(
    weight: object,
    name: str,
    *,
    like: torch.Tensor,
    shape: tuple[int, ...] | None = None,
    broadcast_to: tuple[int, ...] | None = None,
    expected: str | None = None,
    positive: bool = False,
) -> torch.Tensor:
    """The check of every weight argument (``weight``, ``pos_weight``, sample weights ...).

    Converts ``weight`` with :func:`as_float_tensor` (array-likes take ``like``'s dtype and
    device), checks that it is on ``like``'s device and that its shape is exactly ``shape`` or
    broadcasts to ``broadcast_to`` (torch's rule, without growing the result), and that every
    entry is finite and non-negative (``positive=True``: greater than 0). A negative weight turns
    a loss into a reward, and a NaN one poisons the reduction: both are ``ValueError`` naming
    ``name``. ``expected`` describes the accepted shapes in the message. Returns the tensor.
    """
    w = as_float_tensor(weight, name, like=like)
    check_same_device(("input", like), (name, w))
    want = expected or (f"shape {tuple(shape)}" if shape is not None else None)
    if shape is not None and tuple(w.shape) != tuple(shape):
        raise ValueError(f"{name} must have {want}; got shape {tuple(w.shape)}")
    if broadcast_to is not None:
        try:
            grown = torch.broadcast_shapes(tuple(w.shape), tuple(broadcast_to))
        except RuntimeError:
            grown = None
        if grown != tuple(broadcast_to):
            want = want or f"a shape that broadcasts to {tuple(broadcast_to)}"
            raise ValueError(f"{name} must have {want}; got shape {tuple(w.shape)}")
    if w.numel():
        wd = w.detach()
        finite = bool(torch.isfinite(wd).all())
        ok = finite and bool((wd > 0).all() if positive else (wd >= 0).all())
        if not ok:
            kind = "positive" if positive else "non-negative"
            got = f"a minimum of {float(wd.min()):g}" if finite else "a non-finite entry"
            raise ValueError(f"{name} must hold finite, {kind} weights; got {got}")
    return w


def check_unit_interval(values: torch.Tensor, name: str, what: str = "values") -> None:
    """Raise ``ValueError`` (``"<name> must hold <what> in [0, 1]"``) unless every entry lies in [0, 1].

    NaN is outside the interval. An empty tensor passes.
    """
    if values.numel() and not bool(((values >= 0) & (values <= 1)).all()):
        raise ValueError(f"{name} must hold {what} in [0, 1]")


def check_positive_int(value: object, name: str) -> int:
    """Return ``value`` if it is an ``int`` (not a ``bool``) of at least 1, else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int; got {value!r}")
    return value


def _as_real(value: object, name: str) -> float:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"{name} must be a scalar; got a tensor of shape {tuple(value.shape)}")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__}")
    return float(value)


def check_finite_scalar(value: object, name: str) -> float:
    """Return ``value`` as a float if it is a finite real number."""
    v = _as_real(value, name)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite; got {v}")
    return v


def check_positive(value: object, name: str, *, allow_inf: bool = False) -> float:
    """Return ``value`` as a float if ``value > 0``, else raise ``ValueError``."""
    v = _as_real(value, name)
    if math.isnan(v) or v <= 0 or (v == math.inf and not allow_inf):
        bound = "(0, inf]" if allow_inf else "(0, inf)"
        raise ValueError(f"{name} must be positive, in {bound}; got {v}")
    return v


def check_nonnegative(value: object, name: str) -> float:
    """Return ``value`` as a float if ``0 <= value < inf``, else raise ``ValueError``."""
    v = _as_real(value, name)
    if math.isnan(v) or v < 0 or v == math.inf:
        raise ValueError(f"{name} must be non-negative and finite; got {v}")
    return v


def check_in_range(
    value: object,
    name: str,
    low: float,
    high: float,
    *,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Return ``value`` as a float if it lies in the stated interval.

    The interval is written in the message with the usual bracket notation, e.g.
    ``tau must be in (0, 1); got 1.5``.
    """
    v = _as_real(value, name)
    above = v >= low if low_inclusive else v > low
    below = v <= high if high_inclusive else v < high
    if math.isnan(v) or not (above and below):
        lb = "[" if low_inclusive else "("
        rb = "]" if high_inclusive else ")"
        raise ValueError(f"{name} must be in {lb}{low:g}, {high:g}{rb}; got {v}")
    return v


def check_class_indices(
    target: torch.Tensor,
    num_classes: int,
    name: str = "target",
    *,
    ignore_index: int | None = None,
) -> None:
    """Raise ``IndexError`` if an index of ``target`` lies outside ``[0, num_classes)``.

    Entries equal to ``ignore_index`` are exempt. ``target`` must already be an
    integer tensor (see :func:`as_index_tensor`).
    """
    if target.numel() == 0:
        return
    valid = target if ignore_index is None else target[target != ignore_index]
    if valid.numel() == 0:
        return
    lo, hi = int(valid.min()), int(valid.max())
    if lo < 0 or hi >= num_classes:
        bad = lo if lo < 0 else hi
        raise IndexError(
            f"{name} holds class index {bad}, outside [0, {num_classes}) for {num_classes} classes"
        )
