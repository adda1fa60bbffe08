"""Helpers for the book's notebooks: gluing computed numbers into the prose, showing code.

The book quotes every number from a computation with myst-nb's ``glue``. The test
suite re-executes each notebook and compares the glued values with the stored ones
*exactly*, so a float must not carry digits that depend on the machine: the last
bits of a parallel sum, a BLAS kernel or an iterative solver change with the thread
count and the processor. :func:`glue` therefore rounds floats to a stated number of
significant digits (8 by default, far more than any sentence quotes) before storing
them. Introduced in the preface (:doc:`/book/intro`); used by every chapter.
"""

from __future__ import annotations

import ast
import inspect
import math
import numbers
import textwrap

from ._validation import check_positive_int

__all__ = ["glue", "round_decimals", "round_significant", "show_source"]


def round_significant(value: float, digits: int = 8) -> float:
    """``value`` rounded to ``digits`` significant digits (0, inf and NaN unchanged).

    Examples:
        >>> from lossbook.notebook import round_significant
        >>> round_significant(2 / 3, 3)
        0.667
    """
    check_positive_int(digits, "digits")
    value = float(value)
    if value == 0 or not math.isfinite(value):
        return value
    return float(f"{value:.{digits - 1}e}")


def round_decimals(value: float, places: int) -> float:
    """``value`` rounded to ``places`` decimal places, as a Python float, with ``-0.0`` shown as ``0.0``.

    For the printed summaries and glued values of a notebook whose numbers are best read
    with a fixed number of decimals (a fitted mean of ``-3e-12`` prints as ``0.0``).
    Introduced in Chapter 4 (KL divergence).

    Examples:
        >>> from lossbook.notebook import round_decimals
        >>> round_decimals(-0.0004, 3)
        0.0
        >>> round_decimals(2 / 3, 2)
        0.67
    """
    if isinstance(places, bool) or not isinstance(places, int) or places < 0:
        raise ValueError(f"places must be a non-negative int; got {places!r}")
    return round(float(value), places) + 0.0


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

    Examples:
        >>> from lossbook.notebook import glue
        >>> glue("ratio", 2 / 3, digits=3)  # in a notebook: {glue:text}`ratio` in the prose shows 0.667
    """
    from myst_nb import glue as _glue

    _glue(name, _plain(value, digits), display=display)


class Source:
    """Python source code that displays as a highlighted code block.

    In a notebook it renders from Markdown (a fenced ``python`` block), which the website
    and JupyterLab both highlight; its plain-text form is the code itself, so the stored
    output is deterministic text.
    """

    def __init__(self, code: str):
        self.code = code

    def _repr_markdown_(self) -> str:
        return f"```python\n{self.code}\n```"

    def __repr__(self) -> str:
        return self.code


def source_without_docstring(fn) -> str:
    """The source of the function ``fn``, dedented, with its docstring removed."""
    src = textwrap.dedent(inspect.getsource(fn))
    tree = ast.parse(src)
    node = tree.body[0]
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        raise TypeError(f"fn must be a function or class; got {type(fn).__name__}")
    lines = src.splitlines()
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        if isinstance(body[0].value.value, str):
            start, end = body[0].lineno - 1, body[0].end_lineno
            lines = lines[:start] + lines[end:]
    return "\n".join(lines).rstrip()


def show_source(fn) -> Source:
    """Show the code of ``fn`` without its docstring, highlighted as Python.

    The chapters show an implementation from :mod:`lossbook` this way rather than pasting it,
    so what the reader sees is what runs. End a cell with ``show_source(regression.huber_reference)``
    (the returned object displays itself). Introduced in the preface (:doc:`/book/intro`).

    Examples:
        >>> from lossbook.notebook import show_source
        >>> def double(x):
        ...     "Twice x."
        ...     return 2 * x
        ...
        >>> show_source(double)
        def double(x):
            return 2 * x
    """
    return Source(source_without_docstring(fn))
