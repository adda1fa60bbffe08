"""lossbook.notebook: what the notebooks glue into the prose."""

import math

import numpy as np
import pytest
import torch

from lossbook.notebook import _plain, glue, round_significant


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [
        (1.2715548044937721, 8, 1.2715548),
        (0.02751755630290537, 4, 0.02752),
        (-123456.789, 3, -123000.0),
        (9.99999999e-6, 3, 1e-5),
        (0.0, 8, 0.0),
    ],
)
def test_round_significant(value, digits, expected):
    assert round_significant(value, digits) == expected


def test_round_significant_keeps_non_finite():
    assert math.isinf(round_significant(math.inf)) and math.isnan(round_significant(math.nan))


def test_machine_noise_in_the_last_digits_disappears():
    # Two results of the same sum in different orders (seen with different thread counts).
    assert round_significant(0.15005886074884378) == round_significant(0.15005886074872765)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_bad_digits(bad):
    with pytest.raises(ValueError, match="^digits must be a positive int; got"):
        round_significant(1.0, bad)


def test_scalars_become_plain_python_numbers():
    assert type(_plain(np.float64(0.25), 8)) is float and _plain(np.float64(0.25), 8) == 0.25
    assert type(_plain(np.int64(5), 8)) is int
    assert _plain(torch.tensor(3.14159265358979, dtype=torch.float64), 4) == 3.142
    assert _plain(torch.tensor([2.5]), 8) == 2.5
    assert _plain(True, 8) is True
    assert _plain("text", 8) == "text"
    assert _plain(7, 8) == 7


def test_glue_stores_the_rounded_value(monkeypatch):
    stored = {}
    import myst_nb

    monkeypatch.setattr(
        myst_nb, "glue", lambda name, value, display=True: stored.update({name: (value, display)})
    )
    glue("x", np.float64(1.2715548044937721))
    glue("k", 12, display=True)
    assert stored == {"x": (1.2715548, False), "k": (12, True)}


def test_round_decimals():
    from lossbook.notebook import round_decimals

    assert round_decimals(1.23456789, 4) == 1.2346
    assert round_decimals(torch.tensor(2.5e-7, dtype=torch.float64), 6) == 0.0
    zero = round_decimals(-1e-12, 6)
    assert zero == 0.0 and math.copysign(1.0, zero) == 1.0  # no "-0.0" in a printed summary
    assert isinstance(round_decimals(np.float64(0.25), 2), float)
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="^places must be a non-negative int"):
            round_decimals(1.0, bad)


def _documented(a, b=2):
    """A docstring

    over several lines.
    """
    # a comment stays
    return a + b


def test_show_source_drops_the_docstring_and_renders_as_python():
    from lossbook.notebook import show_source

    shown = show_source(_documented)
    code = "def _documented(a, b=2):\n    # a comment stays\n    return a + b"
    assert repr(shown) == code  # the plain-text output: deterministic, the code itself
    assert shown._repr_markdown_() == f"```python\n{code}\n```"


def test_show_source_of_a_loss_is_its_code():
    from lossbook import regression
    from lossbook.notebook import show_source

    text = repr(show_source(regression.huber_reference))
    assert text.startswith("def huber_reference(") and '"""' not in text and "torch.where" in text
    with pytest.raises(TypeError):
        show_source(regression)


@pytest.mark.parametrize(
    ("value", "digits", "decimals", "expected"),
    [
        (2.2654e11, 3, None, "2.27 × 10¹¹"),
        (1e-5, 1, None, "10⁻⁵"),
        (-1.2e-6, 2, None, "-1.2 × 10⁻⁶"),
        (-1e-7, 2, None, "-10⁻⁷"),
        (0.0018, 3, None, "0.00180"),  # 10⁻³ ≤ |x| < 1: decimals, never e-notation
        (0.000999, 3, None, "9.99 × 10⁻⁴"),
        (12345.0, 3, None, "12300"),
        (99999.0, 3, None, "10⁵"),  # rounds to 1.00 × 10⁵, outside the plain range
        (1.7752014, 7, None, "1.775201"),
        (0.0, 3, None, "0"),
        (-3.8449, 3, 2, "-3.84"),
        (-0.004, 3, 2, "0.00"),  # no "-0.00"
        (0.5, 3, 3, "0.500"),
        (3.3e-5, 2, 4, "3.3 × 10⁻⁵"),  # fixed decimals do not hide a small magnitude
    ],
)
def test_format_number(value, digits, decimals, expected):
    from lossbook.notebook import format_number

    assert format_number(value, digits, decimals=decimals) == expected


def test_format_number_rejects_bad_arguments():
    from lossbook.notebook import format_number

    with pytest.raises(ValueError, match="^value must be a finite number"):
        format_number(math.nan)
    with pytest.raises(ValueError, match="^digits must be a positive int"):
        format_number(1.0, 0)
    with pytest.raises(ValueError, match="^decimals must be a non-negative int or None"):
        format_number(1.0, decimals=-1)


def test_quote_glues_and_prints_the_same_characters(monkeypatch):
    import myst_nb

    from lossbook.notebook import Number, quote

    stored = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=True: stored.update({name: value}))
    number = quote("gap", torch.tensor(1.23456e-6, dtype=torch.float64), 2)
    assert isinstance(stored["gap"], Number) and stored["gap"] == number
    # the cell prints str / format; the glue role pastes text/plain, a string literal of it
    assert str(number) == f"{number}" == f"{number:s}" == "1.2 × 10⁻⁶"
    assert repr(stored["gap"]) == "'1.2 × 10⁻⁶'"
    from myst_nb.core.variables import format_plain_text

    zeros = quote("zeros", 0.1, 3)
    for spec in ("s", ""):  # what {glue:text}`zeros` and {glue:text}`page.ipynb::zeros:s` paste
        assert format_plain_text(repr(zeros), spec) == "0.100" == str(zeros)
    assert float(number) == pytest.approx(1.23456e-6)
    with pytest.raises(ValueError, match="already formatted"):
        f"{number:.3f}"
