"""Helpers for the book's notebooks: gluing computed numbers into the prose, showing code.

The book quotes every number from a computation with myst-nb's ``glue``, and the prose
shows it with the ``{eval}`` role on :data:`glued`: ``{eval}`glued.key``` (a formatted
:class:`Number`) or ``{eval}`f"{glued.key:.3f}"```. JupyterLab (with jupyterlab-myst)
evaluates that expression in the running kernel, so a learner sees the value, not its key;
``scripts/run-notebooks.py`` stores each result in the markdown cell, where the website's
build reads it (``_ext/stored_eval.py``) and the tests check it against a fresh run. The test
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
import re
import textwrap

from ._validation import check_positive_int

__all__ = [
    "Glued",
    "Number",
    "format_number",
    "glue",
    "glued",
    "eval_expressions",
    "quote",
    "round_decimals",
    "round_significant",
    "show_source",
]


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

    value = _plain(value, digits)
    _glue(name, value, display=display)
    glued._values[name] = value


class Glued:
    """Every value glued in this Python process, by name: ``glued.key`` is what ``glue("key", …)`` stored.

    The prose quotes a computed value as ``{eval}`glued.key``` or, with a format spec,
    ``{eval}`f"{glued.key:.4f}"```: the same value, rounded the same way, as the glued output
    that the tests compare. A name that nothing has glued yet is an ``AttributeError`` that
    says so. Introduced in the preface (:doc:`/book/intro`).

    Examples:
        >>> from lossbook.notebook import glue, glued
        >>> glue("ratio", 2 / 3, digits=3)
        >>> glued.ratio
        0.667
        >>> f"{glued.ratio:.2f}"
        '0.67'
    """

    def __init__(self) -> None:
        self._values: dict[str, object] = {}

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(
                f"nothing is glued under {name!r} yet: run the cell that glues it first"
            ) from None

    def __dir__(self) -> list[str]:
        return sorted(self._values)

    def __repr__(self) -> str:
        return f"<glued values: {', '.join(sorted(self._values)) or 'none yet'}>"


#: The values glued so far (see :class:`Glued`); the prose's ``{eval}`` roles read them.
glued = Glued()

_EVAL_ROLE = re.compile(r"\{eval\}`([^`]+)`")


def eval_expressions(markdown: str) -> list[str]:
    """The expressions of the ``{eval}`` roles in a markdown cell's source, in order, repeats kept.

    This is the list JupyterLab (jupyterlab-myst) evaluates when the cell is run, and the
    order in which ``scripts/run-notebooks.py`` stores their results in the cell's
    ``user_expressions`` metadata.

    Examples:
        >>> from lossbook.notebook import eval_expressions
        >>> eval_expressions('The gap is {eval}`glued.gap` and {eval}`f"{glued.r:.2f}"`.')
        ['glued.gap', 'f"{glued.r:.2f}"']
    """
    return _EVAL_ROLE.findall(markdown)


# Output metadata that marks a glued value as formatted by :func:`format_number`.
FORMATTED = "lossbook-formatted"
_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
# Magnitudes a sentence writes out as decimals; outside them it writes a × 10ⁿ.
_PLAIN_RANGE = (1e-3, 1e5)


def _power_of_ten(value: float, digits: int) -> str:
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    power = "10" + str(int(exponent)).translate(_SUPERSCRIPT)
    if mantissa.lstrip("-").rstrip("0").rstrip(".") == "1":  # 1.00e-05 reads as 10⁻⁵
        return ("-" if mantissa.startswith("-") else "") + power
    return f"{mantissa} × {power}"


def format_number(value: float, digits: int = 3, *, decimals: int | None = None) -> str:
    """``value`` as a textbook prints it: the one formatter for printed and quoted numbers.

    With ``decimals``, a fixed number of decimal places (``0.0472``); otherwise ``digits``
    significant digits (``1.78``, ``12300``). Magnitudes outside [10⁻³, 10⁵) are written
    ``a × 10ⁿ`` with ``digits`` significant digits (``2.27 × 10¹¹``, ``10⁻⁵``), never in a
    program's e-notation. The value is rounded once, here. Introduced in the preface
    (:doc:`/book/intro`).

    Examples:
        >>> from lossbook.notebook import format_number
        >>> format_number(2.2654e11), format_number(1e-5, 1), format_number(-3.8449, decimals=2)
        ('2.27 × 10¹¹', '10⁻⁵', '-3.84')
    """
    check_positive_int(digits, "digits")
    if decimals is not None and (isinstance(decimals, bool) or not isinstance(decimals, int) or decimals < 0):
        raise ValueError(f"decimals must be a non-negative int or None; got {decimals!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"value must be a finite number; got {value!r}")
    low, high = _PLAIN_RANGE
    if value != 0 and not low <= abs(round_significant(value, digits)) < high:
        return _power_of_ten(value, digits)
    if decimals is not None:
        text = f"{value:.{decimals}f}"
        return text[1:] if float(text) == 0 and text.startswith("-") else text  # no "-0.00"
    rounded = round_significant(value, digits)
    if rounded == 0:
        return "0"
    places = max(digits - 1 - math.floor(math.log10(abs(rounded))), 0)
    return f"{rounded:.{places}f}"


class Number:
    """A number formatted once, for a printed line and for the prose that quotes it.

    Its text (``str``, and ``format`` with an empty or ``s`` spec) is what :func:`format_number`
    returned, and its ``repr`` the same text as a string literal, which is what the glue role
    pastes: a glued :class:`Number` appears in the prose exactly as the cell printed it.
    ``value`` keeps the float for computing and asserting.
    """

    def __init__(self, value: float, text: str):
        self.value = float(value)
        self.text = text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        # A string literal: {glue:text} evaluates text/plain before pasting it, so a bare
        # "0.100" would lose its trailing zeros and come out as 0.1.
        return repr(self.text)

    def _repr_mimebundle_(self, include=None, exclude=None):
        # The metadata marks the glued value as already formatted, so a test can reject a
        # format spec that would round it again (tests/test_quoted_numbers.py).
        return {"text/plain": repr(self.text)}, {"text/plain": {FORMATTED: True}}

    def __format__(self, spec: str) -> str:
        if spec in ("", "s"):
            return self.text
        raise ValueError(f"a Number is already formatted ({self.text}); quote it without a format spec")

    def __float__(self) -> float:
        return self.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Number) and (self.value, self.text) == (other.value, other.text)

    def __hash__(self) -> int:
        return hash((self.value, self.text))


def quote(name: str, value: float, digits: int = 3, *, decimals: int | None = None) -> Number:
    """Format ``value`` once with :func:`format_number`, glue it under ``name`` and return it.

    Print the returned :class:`Number` in the cell's summary and paste it in the prose with
    ``{glue:text}`name``` (no format spec; ``:s`` from another page, where a spec is
    required): both show the same characters, so the output and the sentence beside it
    cannot disagree in a digit. Introduced in the preface
    (:doc:`/book/intro`).

    Examples:
        >>> from lossbook.notebook import quote
        >>> gap = quote("gap", 1.23456e-6, 2)  # glued under "gap"; outside a notebook, nothing shows
        >>> print(f"gap {gap}")
        gap 1.2 × 10⁻⁶
        >>> gap.value
        1.23456e-06
    """
    number = Number(value, format_number(value, digits, decimals=decimals))
    glue(name, number)
    return number


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
