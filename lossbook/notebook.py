"""Helpers for the book's notebooks: gluing computed numbers into the prose.

The book quotes every number from a computation with myst-nb's ``glue``. The test
suite re-executes each notebook and compares the glued values with the stored ones
*exactly*, so a float must not carry digits that depend on the machine: the last
bits of a parallel sum, a BLAS kernel or an iterative solver change with the thread
count and the processor. :func:`glue` therefore rounds floats to a stated number of
significant digits (8 by default, far more than any sentence quotes) before storing
them. Introduced in the preface (:doc:`/book/intro`); used by every chapter.
"""

from __future__ import annotations

import math
import numbers

from ._validation import check_positive_int

__all__ = ["glue", "round_significant"]


def round_significant(value: float, digits: int = 8) -> float:
    """``value`` rounded to ``digits`` significant digits (0, inf and NaN unchanged)."""
    check_positive_int(digits, "digits")
    value = float(value)
    if value == 0 or not math.isfinite(value):
        return value
    return float(f"{value:.{digits - 1}e}")


def _plain(value: object, digits: int) -> object:
    size = value.numel() if hasattr(value, "numel") else getattr(value, "size", None)
    if hasattr(value, "item") and size == 1:
        value = value.item()  # a NumPy / PyTorch scalar becomes a Python number
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return round_significant(value, digits)
    return value


def glue(name: str, value: object, display: bool = False, *, digits: int = 8) -> None:
    """Glue ``value`` under ``name`` for the prose, floats rounded to ``digits`` significant digits.

    NumPy and PyTorch scalars become Python numbers (so nothing like ``np.float64(0.25)`` is
    stored); integers, strings and other objects are glued unchanged. The value is not
    displayed by default: the cell that computes it prints a labelled summary instead.
    """
    from myst_nb import glue as _glue

    _glue(name, _plain(value, digits), display=display)
