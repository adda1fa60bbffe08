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


# ============================================================================ sanity
#
# Each check fails on a loss built to violate it, names the check and the witness, and
# passes on the repaired loss; sanity passes every loss of the registry.

import math  # noqa: E402

from support import REGISTRY, chapter_modules, public_losses  # noqa: E402

from lossbook import regression  # noqa: E402
from lossbook._validation import reduce  # noqa: E402


def _reduced(fn):
    def loss(input, target, reduction="mean"):
        return reduce(fn(input, target), reduction)

    return loss


def _pair(seed=0, shape=(4, 3)):
    g = torch.Generator().manual_seed(seed)
    y = torch.randn(shape, generator=g, dtype=torch.float64)
    return y + 2 * torch.randn(shape, generator=g, dtype=torch.float64), y


class _WrongSignSquare(torch.autograd.Function):
    @staticmethod
    def forward(ctx, r):
        ctx.save_for_backward(r)
        return r * r

    @staticmethod
    def backward(ctx, g):
        (r,) = ctx.saved_tensors
        return -2 * r * g  # the sign error


class _Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx, r):
        ctx.save_for_backward(r)
        return r * r

    @staticmethod
    def backward(ctx, g):
        (r,) = ctx.saved_tensors
        return 2 * r * g


def _bce_probs(p, y):  # log(0) at p in {0, 1}
    return -(y * p.log() + (1 - y) * (1 - p).log())


def _bce_log_clamped(p, y):  # the value is finite, but d/dp log p = inf at 0, times 0 from the clamp: NaN
    return -(y * p.log().clamp(min=-100) + (1 - y) * (1 - p).log().clamp(min=-100))


def _bce_probs_clamped(p, y):  # clamp the probability, not the log
    p = p.clamp(1e-12, 1 - 1e-12)
    return -(y * p.log() + (1 - y) * (1 - p).log())


def _sqrt_abs(x, y):  # |r| as sqrt(r^2): NaN gradient at r = 0
    return ((x - y) ** 2).sqrt()


def _batch_centred(x, y):  # residuals centred with the batch's mean
    r = x - y
    return (r - r.mean(0, keepdim=True)) ** 2


def _batch_fixed(x, y):
    return (x - y) ** 2


def _ignores_reduction(input, target, reduction="mean"):
    return ((input - target) ** 2).sum() if reduction != "none" else (input - target) ** 2


def _always_double(input, target, reduction="mean"):
    return reduce(((input - target) ** 2).double(), reduction)


def _noisy(input, target, reduction="mean"):
    return reduce((input - target) ** 2 * (1 + 1e-3 * torch.rand(())), reduction)


BROKEN = {
    # check: (broken loss, repaired loss, sanity keyword arguments)
    "gradient flow": (_reduced(lambda x, y: (x.detach() - y) ** 2), _reduced(lambda x, y: (x - y) ** 2), {}),
    "finite differences": (
        _reduced(lambda x, y: _WrongSignSquare.apply(x - y)),
        _reduced(lambda x, y: _Square.apply(x - y)),
        {},
    ),
    "perfect prediction": (_reduced(lambda x, y: (x - y) ** 2 + 1), _reduced(lambda x, y: (x - y) ** 2), {}),
    "non-negativity": (_reduced(lambda x, y: x - y), _reduced(lambda x, y: (x - y).abs()), {}),
    "batch consistency": (_reduced(_batch_centred), _reduced(_batch_fixed), {}),
    "reduction consistency": (_ignores_reduction, regression.mse, {}),
    "finite values and gradients": (_reduced(_sqrt_abs), _reduced(lambda x, y: (x - y).abs()), {}),
    "dtype and device": (_always_double, regression.mse, {}),
    "determinism": (_noisy, regression.mse, {}),
}


@pytest.mark.parametrize("check", sorted(BROKEN))
def test_each_check_fails_on_its_broken_loss_and_passes_when_repaired(check):
    broken, repaired, kw = BROKEN[check]
    x, y = _pair()
    if check == "finite values and gradients":
        x = y.clone()  # r = 0 everywhere, where sqrt's gradient is NaN
    bad = checks.sanity(broken, x, y, **kw)
    assert bad[check].passed is False
    assert check in bad.failed and not bad.passed
    assert bad[check].witness  # says where
    good = checks.sanity(repaired, x, y, **kw)
    assert good[check].passed is True, good
    if check not in ("non-negativity",):
        assert good.passed, good


def test_gradient_flow_witness_detached_and_zero():
    x, y = _pair()
    rep = checks.sanity(_reduced(lambda a, b: (a.detach() - b) ** 2), x, y)
    assert "detached" in rep["gradient flow"].witness
    # a gradient that is zero where the loss varies: the entry and its finite difference
    zero = _reduced(lambda a, b: ((a - b) ** 2).detach() + 0 * a)
    row = checks.sanity(zero, x, y)["gradient flow"]
    assert row.passed is False and "gradient 0, finite difference" in row.witness
    i = int(torch.argmax(((x - y) * 2).abs().reshape(-1)))
    # the mean's derivative in that entry: 2 r / n
    assert math.isclose(abs(row.value), abs(float(2 * (x - y).reshape(-1)[i])) / x.numel(), rel_tol=1e-6)


def test_finite_differences_witness_is_the_worst_entry():
    x, y = _pair()
    row = checks.sanity(_reduced(lambda a, b: _WrongSignSquare.apply(a - b)), x, y)["finite differences"]
    i = int(torch.argmax((x - y).abs().reshape(-1)))
    # autograd -2r/n against 2r/n (the mean): the gap is 4|r|/n at the largest residual
    assert math.isclose(row.value, 4 * float((x - y).abs().reshape(-1)[i]) / x.numel(), rel_tol=1e-6)
    assert row.witness.startswith(checks._index(x.shape, i))


def test_log_zero_is_caught_at_the_extremes_and_clamping_repairs_it():
    g = torch.Generator().manual_seed(1)
    p = torch.rand(4, 3, generator=g, dtype=torch.float64) * 0.8 + 0.1
    y = (torch.rand(4, 3, generator=g) < 0.5).double()
    opts = {"perfect": None, "extremes": (0.0, 1.0)}
    bad = checks.sanity(_reduced(_bce_probs), p, y, **opts)
    assert bad.failed == ("finite values and gradients",)
    assert bad["finite values and gradients"].witness == "input = 0 everywhere: loss nan"
    half = checks.sanity(_reduced(_bce_log_clamped), p, y, **opts)["finite values and gradients"]
    assert half.passed is False and "gradient nan" in half.witness
    assert checks.sanity(_reduced(_bce_probs_clamped), p, y, **opts).passed


def test_sign_error_in_the_loss_fails_non_negativity_with_the_entry():
    x, y = _pair()
    row = checks.sanity(_reduced(lambda a, b: -((a - b) ** 2)), x, y)["non-negativity"]
    assert row.passed is False and row.value < 0 and "entry" in row.witness


def test_not_applicable_checks():
    x, y = _pair()
    rep = checks.sanity(regression.rmse, x, y, reductions=())
    assert rep["batch consistency"].passed is None and rep["reduction consistency"].passed is None
    rep = checks.sanity(regression.mse, x, y, perfect=None, nonnegative=False, batch_independent=False)
    assert rep.passed
    assert [rep[c].passed for c in ("perfect prediction", "non-negativity", "batch consistency")] == [
        None
    ] * 3


def test_documented_minimum_and_mean_normaliser():
    x, y = _pair()
    shifted = _reduced(lambda a, b: (a - b) ** 2 + 1)
    assert checks.sanity(shifted, x, y, minimum=1.0, nonnegative=True).passed
    twice = lambda a, b, reduction="mean": reduce((a - b) ** 2, reduction) * (2 if reduction == "mean" else 1)  # noqa: E731
    assert checks.sanity(twice, x, y).failed == ("perfect prediction", "reduction consistency")[1:]
    assert checks.sanity(twice, x, y, mean=lambda none, args, kw: 2 * none.mean()).passed


def test_default_sample_and_random_state_restored():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    rep = checks.sanity(regression.mse)
    assert rep.passed and rep.name == "mse"
    torch.testing.assert_close(torch.rand(3), expected)


def test_gradient_flow_measures_the_scale_of_the_mean_gradient():
    x, y = _pair()
    summed = lambda a, b, reduction="mean": regression.mse(
        a, b, reduction="sum" if reduction == "mean" else reduction
    )  # noqa: E731
    plain = checks.sanity(regression.mse, x, y)["gradient flow"].value
    scaled = checks.sanity(summed, x, y, mean=lambda none, args, kw: none.sum())["gradient flow"].value
    assert math.isclose(scaled / plain, x.numel(), rel_tol=1e-12)
    assert math.isclose(plain, float(2 * (x - y).abs().max()) / x.numel(), rel_tol=1e-12)


def test_a_row_prints_on_one_line():
    row = checks.sanity(_noisy, *_pair())["determinism"]
    assert repr(row).startswith("determinism: FAIL, measured ") and "two evaluations differ" in repr(row)


def test_report_renders_deterministically():
    x, y = _pair()
    bad = checks.sanity(_noisy, x, y, name="noisy")
    text, md = str(bad), bad._repr_markdown_()
    assert text.splitlines()[0].startswith("sanity(noisy): FAILED ")
    assert "determinism" in bad.failed
    html = bad._repr_html_()
    assert "| determinism | **FAIL** |" in md and " at 0x" not in text + md + html
    assert html.startswith("<table") and "<td>determinism</td><td>FAIL</td>" in html
    assert html.count("<tr>") == len(bad.rows) + 1
    assert str(checks.sanity(regression.mse, x, y)) == str(checks.sanity(regression.mse, x, y))
    with pytest.raises(KeyError, match="no check named 'speed'"):
        bad["speed"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "—"),
        (0.0, "≈ 0"),
        (3e-9, "≈ 0"),
        (-3e-9, "≈ 0"),
        (-2e-6, "-2.00 × 10⁻⁶"),
        (0.123456, "0.123"),
        (5000.0, "5000"),
        (1234.5, "1230"),
        (17.44, "17.4"),
        (0.0278, "0.0278"),
        (9999.7, "1.00 × 10⁴"),
        (12345.0, "1.23 × 10⁴"),
        (2.5e-5, "2.50 × 10⁻⁵"),
        (float("nan"), "nan"),
        (float("-inf"), "-inf"),
        ("float32", "float32"),
    ],
)
def test_format_value(value, text):
    assert checks.format_value(value) == text


def test_bad_arguments_of_sanity():
    with pytest.raises(TypeError, match="the first argument \\(input\\) must be a floating-point tensor"):
        checks.sanity(regression.mse, torch.arange(3), torch.zeros(3))
    x, y = _pair()
    with pytest.raises(ValueError, match="perfect must be 'target', a callable or None"):
        checks.sanity(regression.mse, x, y, perfect="zero")


def test_the_package_lists_the_same_losses_as_the_registry():
    expected = {k for m in chapter_modules() for k in public_losses(m)}
    assert set(checks.chapter_losses()) == expected == {row.name.split("[")[0] for row in REGISTRY}


def _options(row):
    """sanity's options for a registry row: the package's for its function, adapted to the row."""
    base = row.name.split("[")[0]
    if base not in checks.SAMPLES:  # a loss the package has no sample for: the contract checks only
        return {"perfect": None, "nonnegative": False, "extremes": (), "batch_independent": False}
    _, _, opts = checks.SAMPLES[base](torch.Generator().manual_seed(0))
    opts = dict(opts)
    opts.pop("reductions", None)
    if base == "classification.binary_cross_entropy_with_logits" or "probabilities" in row.name:
        opts.update(perfect=None)  # a soft target; its minimum is not zero
    if "log_target" in row.name:
        opts.update(perfect=lambda x, t: (t, t))
    if base in ("classification.hinge", "classification.multi_margin", "classification.crammer_singer_hinge"):
        if "margin" in row.name:
            opts.update(perfect=None)
    return opts


def _row_param(row):
    return pytest.param(row, id=row.name)


def test_sanity_found_the_nan_gradient_of_w2_at_identical_samples_and_it_is_fixed():
    """The suite's first catch in the package: W_2's root had a NaN gradient where u = v."""
    from lossbook import probabilistic

    v = torch.tensor([0.0, 1.0, 3.0], dtype=torch.float64)
    rep = checks.sanity(
        probabilistic.wasserstein_1d,
        v + 0.5,
        v,
        kwargs={"order": 2.0},
        reductions=(),
        perfect=lambda a, b: (b.clone(), b),
    )
    assert rep.passed, rep
    x = v.clone().requires_grad_(True)
    probabilistic.wasserstein_1d(x, v, order=2.0).backward()
    assert torch.equal(x.grad, torch.zeros_like(v))


@pytest.mark.parametrize("row", [_row_param(r) for r in REGISTRY])
def test_sanity_passes_every_registry_loss(row):
    args, kwargs = row.sample(torch.float64, torch.device("cpu"), torch.Generator().manual_seed(0))
    if not isinstance(args[0], torch.Tensor):
        pytest.skip("its first argument is a model (a critic), not a prediction compared with a target")
    rep = checks.sanity(
        row.fn, *args, kwargs=kwargs, name=row.name, reductions=row.reductions, mean=row.mean, **_options(row)
    )
    assert rep.passed, rep
    assert rep["gradient flow"].passed and rep["finite differences"].passed and rep["determinism"].passed


def test_package_reports_passes_every_loss_and_tabulates():
    reports = checks.package_reports()
    assert {r.name for r in reports} == set(checks.chapter_losses())
    assert {r.name for r in reports if not r.applicable} == set(checks.NOT_APPLICABLE)
    failed = [str(r) for r in reports if not r.passed]
    assert not failed, "\n".join(failed)
    table = checks.summary_table(reports)
    assert str(table).splitlines()[0].startswith("loss")
    assert table._repr_markdown_().count("\n") == len(reports) + 1
    assert table._repr_html_().count("<tr>") == len(reports) + 1
