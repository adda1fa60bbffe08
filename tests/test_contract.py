"""The contract every loss of every chapter follows, checked on each row of the registry.

The rows are ``support.REGISTRY`` (one per loss, or per hyper-parameter setting worth a
row); the test ids are the row names, e.g. ``test_gradcheck[regression.huber]``. The first
tests make sure no public loss of a chapter module is missing from the registry.
"""

from __future__ import annotations

import pytest
import torch
from support import (
    ALL_CHECKS,
    NOT_LOSSES,
    REGISTRY,
    assert_grad_matches_autograd,
    assert_gradcheck,
    assert_keeps_dtype,
    assert_rejects_reduction,
    chapter_modules,
    public_losses,
)

CPU = torch.device("cpu")
DEVICES = [
    pytest.param(CPU, id="cpu"),
    pytest.param(
        torch.device("cuda"),
        id="cuda",
        marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
    ),
]


def rows(check: str):
    """The registry rows ``check`` applies to, as pytest params with readable ids."""
    assert check in ALL_CHECKS, check
    return [pytest.param(row, id=row.name) for row in REGISTRY if row.applies(check)]


def sample(row, dtype=torch.float64, device=CPU, seed=0):
    return row.sample(dtype, device, torch.Generator().manual_seed(seed))


def with_reduction(row, reduction):
    return {"reduction": reduction} if row.reductions else {}


# --------------------------------------------------------------------------- the registry is complete


def test_registry_names_are_unique():
    names = [row.name for row in REGISTRY]
    assert len(names) == len(set(names))


def test_every_public_loss_of_every_chapter_module_is_registered():
    registered = {row.fn for row in REGISTRY}
    modules = chapter_modules()
    assert {m.__name__ for m in modules} >= {
        "lossbook.regression",
        "lossbook.classification",
        "lossbook.probabilistic",
    }
    missing = [name for m in modules for name, fn in public_losses(m).items() if fn not in registered]
    assert not missing, f"public losses without a row in tests/support.py REGISTRY: {missing}"


def test_every_row_is_named_after_its_function_and_module():
    for row in REGISTRY:
        module, _, rest = row.name.partition(".")
        assert row.fn.__module__ == f"lossbook.{module}", row.name
        assert rest.split("[")[0] == row.fn.__name__, row.name


def test_every_closed_form_gradient_is_registered_with_its_loss():
    grads = {row.grad for row in REGISTRY}
    for m in chapter_modules():
        for name in m.__all__:
            if name.endswith("_grad"):
                assert getattr(m, name) in grads, f"{m.__name__}.{name} is in no registry row"


def test_not_losses_are_public_functions_and_not_registered():
    registered = {row.fn for row in REGISTRY}
    for key in NOT_LOSSES:
        module, _, name = key.partition(".")
        m = next(m for m in chapter_modules() if m.__name__ == f"lossbook.{module}")
        assert name in m.__all__, key
        assert getattr(m, name) not in registered, key


def test_no_public_name_is_exported_by_two_chapter_modules():
    """A name means one thing: ``classification.cross_entropy`` has no namesake elsewhere."""
    seen = {}
    for m in chapter_modules():
        for name in m.__all__:
            assert name not in seen, f"{name} is exported by {seen.get(name)} and {m.__name__}"
            seen[name] = m.__name__


def test_property_checks_are_not_named_like_the_raising_validators():
    """``lossbook.checks`` returns results; the raising ``check_*`` validators are ``_validation``'s."""
    from lossbook import checks

    assert not [n for n in checks.__all__ if n.startswith("check_")]


# --------------------------------------------------------------------------- reduction algebra


@pytest.mark.parametrize("row", rows("reduction_algebra"))
def test_reduction_algebra(row):
    """``sum`` = ``none``.sum(), ``mean`` = ``none``.mean() (or the documented normaliser),
    ``batchmean`` = sum / batch size; and the same holds for the gradients."""
    args, kw = sample(row)
    none = row.fn(*args, reduction="none", **kw)
    expected = {"sum": none.sum(), "mean": none.mean() if row.mean is None else row.mean(none, args, kw)}
    if "batchmean" in row.reductions:
        expected["batchmean"] = none.sum() / args[0].shape[0]
    for reduction, value in expected.items():
        torch.testing.assert_close(row.fn(*args, reduction=reduction, **kw), value)
    if row.mean is None:  # the gradient of the mean is the gradient of the sum over n
        x = args[0].clone().requires_grad_(True)
        (g_sum,) = torch.autograd.grad(row.fn(x, *args[1:], reduction="sum", **kw), x)
        (g_mean,) = torch.autograd.grad(row.fn(x, *args[1:], reduction="mean", **kw), x)
        torch.testing.assert_close(g_mean, g_sum / none.numel())


# --------------------------------------------------------------------------- error contract


@pytest.mark.parametrize("row", rows("reduction_errors"))
def test_rejects_unknown_reduction(row):
    args, kw = sample(row)
    assert_rejects_reduction(row.fn, *args, **kw)


@pytest.mark.parametrize("row", rows("reduction_errors"))
def test_unknown_reduction_is_reported_even_for_empty_input(row):
    args, kw = sample(row)
    empty = tuple(a[:0] for a in args)
    choices = ", ".join(repr(r) for r in row.reductions)
    with pytest.raises(ValueError) as info:
        row.fn(*empty, reduction="avg", **kw)
    assert str(info.value) == f"reduction must be one of {choices}; got 'avg'"


@pytest.mark.parametrize("row", rows("integer_input"))
@pytest.mark.parametrize("kind", [torch.int64, torch.bool])
def test_rejects_integer_input(row, kind):
    args, kw = sample(row)
    bad = (args[0] > 0.5) if kind == torch.bool else args[0].round().long()
    name = row.arg_names[0]
    with pytest.raises(
        TypeError, match=f"^{name} must be a floating-point tensor; got a tensor of dtype {kind}"
    ):
        row.fn(bad, *args[1:], **kw)


@pytest.mark.parametrize("row", rows("integer_target"))
def test_rejects_integer_target(row):
    args, kw = sample(row)
    name = row.arg_names[1]
    with pytest.raises(
        TypeError, match=f"^{name} must be a floating-point tensor; got a tensor of dtype torch.int64"
    ):
        row.fn(args[0], args[1].round().long(), *args[2:], **kw)


@pytest.mark.parametrize("row", rows("shape_mismatch"))
def test_rejects_shape_mismatch_without_broadcasting(row):
    args, kw = sample(row)
    bad = (args[0][..., None], *args[1:])
    a, b = row.arg_names[:2]
    expected = (
        f"{a} and {b} must have the same shape; got {a} {tuple(bad[0].shape)} "
        f"and {b} {tuple(bad[1].shape)} (no broadcasting is done)"
    )
    for fn in (row.fn, row.grad) if row.grad is not None else (row.fn,):
        with pytest.raises(ValueError) as info:
            fn(*bad, **kw)
        assert str(info.value) == expected


@pytest.mark.parametrize("row", rows("device_mismatch"))
def test_rejects_device_mismatch(row):
    args, kw = sample(row)
    a, b = row.arg_names[:2]
    bad = (args[0], args[1].to("meta"), *args[2:])
    msg = f"^{b} is on device meta but {a} is on cpu; move them to the same device$"
    for fn in (row.fn, row.grad) if row.grad is not None else (row.fn,):
        with pytest.raises(ValueError, match=msg):
            fn(*bad, **kw)


# --------------------------------------------------------------------------- dtype and device


@pytest.mark.parametrize("row", rows("dtype"))
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_keeps_dtype_and_device(row, dtype, device):
    args, kw = sample(row, dtype, device)
    if row.reductions:
        assert_keeps_dtype(row.fn, *args, **kw)
    else:
        out = row.fn(*args, **kw)
        assert (out.dtype, out.device) == (dtype, args[0].device)
    if row.grad is not None:
        g = row.grad(*args, **kw)
        assert (g.dtype, g.device, g.shape) == (dtype, args[0].device, args[0].shape)
    if device != CPU:  # the same value as on the CPU
        cpu_args, cpu_kw = sample(row, dtype, CPU)
        torch.testing.assert_close(row.fn(*args, **kw).cpu(), row.fn(*cpu_args, **cpu_kw))


@pytest.mark.parametrize("row", rows("half"))
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_keeps_dtype_and_is_finite(row, dtype):
    args, kw = sample(row, dtype)
    for reduction in row.reductions or (None,):
        out = row.fn(*args, **kw, **({} if reduction is None else {"reduction": reduction}))
        assert out.dtype == dtype and torch.isfinite(out).all(), (reduction, out)
    if row.grad is not None:
        assert row.grad(*args, **kw).dtype == dtype


# --------------------------------------------------------------------------- gradients


@pytest.mark.parametrize("row", rows("gradcheck"))
def test_gradcheck(row):
    args, kw = sample(row)
    for reduction in row.reductions or (None,):
        assert_gradcheck(row.fn, *args, **kw, **({} if reduction is None else {"reduction": reduction}))


@pytest.mark.parametrize("row", rows("grad"))
def test_closed_form_gradient_equals_autograd(row):
    args, kw = sample(row)
    if row.reductions:
        assert_grad_matches_autograd(row.fn, row.grad, *args, **kw)
    else:  # a function without reduction: its own value is the summed loss
        x = args[0].clone().requires_grad_(True)
        row.fn(x, *args[1:], **kw).backward()
        torch.testing.assert_close(row.grad(*args, **kw), x.grad)


@pytest.mark.parametrize("row", rows("grad_at_kinks"))
def test_closed_form_gradient_equals_autograd_at_the_kinks(row):
    """At a kink the closed form returns the subgradient autograd returns."""
    args, kw = row.at_kinks(torch.float64, CPU, torch.Generator().manual_seed(0))
    assert_grad_matches_autograd(row.fn, row.grad, *args, **kw)
