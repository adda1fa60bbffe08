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
