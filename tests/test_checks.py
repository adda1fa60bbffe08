"""The property checks of lossbook.checks, on losses whose properties are known exactly."""

import pytest
import torch

from lossbook import checks


def squared(p, t, reduction="none"):
    return (p - t) ** 2


def shifted(p, t, reduction="none"):  # negative near r = 0, so not non-negative
    return (p - t) ** 2 - 0.5


def pinball_09(p, t, reduction="none"):  # asymmetric but convex
    r = t - p
    return torch.maximum(0.9 * r, -0.1 * r)


def welsch(p, t, reduction="none"):  # bounded, so not convex
    return 1 - torch.exp(-((p - t) ** 2) / 2)


def offset(p, t, reduction="none"):  # l(y, y) = 1
    return (p - t) ** 2 + 1


def test_squared_loss_has_all_four_properties():
    assert checks.nonnegativity(squared).holds
    assert checks.identity(squared).holds
    assert checks.symmetry(squared).holds
    res = checks.convexity(squared)
    assert res.holds and res.worst <= 0


def test_nonnegativity_counter_example_is_the_minimum():
    res = checks.nonnegativity(shifted, [0.0, 1.0], [0.0, 2.0])
    assert not res.holds
    assert res.worst == -0.5 and res.witness in {(0.0, 0.0)}


def test_identity_counter_example():
    res = checks.identity(offset, [0.0, 1.0])
    assert not res.holds and res.worst == 1.0


def test_asymmetry_is_found_with_its_size():
    res = checks.symmetry(pinball_09, [0.0, 1.0], [0.0, 1.0])
    # l(0, 1) = 0.9 * 1, l(1, 0) = 0.1 * 1: the gap is 0.8
    assert not res.holds
    assert res.worst == pytest.approx(0.8)
    assert set(res.witness) == {0.0, 1.0}


def test_pinball_is_convex():
    assert checks.convexity(pinball_09).holds


def test_non_convexity_is_found():
    res = checks.convexity(welsch)
    assert not res.holds and res.worst > 0
    a, b, y = res.witness
    mid = welsch(torch.tensor((a + b) / 2), torch.tensor(y))
    chord = (welsch(torch.tensor(a), torch.tensor(y)) + welsch(torch.tensor(b), torch.tensor(y))) / 2
    assert float(mid - chord) == pytest.approx(res.worst)


def test_bad_arguments():
    with pytest.raises(ValueError, match="^tol must be non-negative and finite; got -1.0$"):
        checks.symmetry(squared, tol=-1.0)
    with pytest.raises(ValueError, match="^grid must hold at least one value$"):
        checks.identity(squared, [])
