"""Conformance: torch's own test samples, SciPy, and an exact linear program as references.

For every ``lossbook`` loss with a counterpart in :mod:`torch.nn.functional` (or ``torch``), the
test runs every OpInfo sample input of the pinned torch
(``torch.testing._internal.common_methods_invocations.op_db``, float64, CPU) through both and
compares the value and the gradient in the sample's input, and checks that every OpInfo error
input raises in ``lossbook`` too. A sample ``lossbook`` cannot run is *unsupported* (it uses an
option ``lossbook`` lacks) or *rejected* (``lossbook`` raises where torch computes, by design);
both must be declared below with their reason, so a new torch sample that does not conform
fails the test. The table of matched / unsupported / rejected samples is printed
(``pytest -s tests/test_conformance.py``).

Then SciPy cross-checks (entropy, KL, JS, the 1-D Wasserstein distance weighted and not,
logsumexp, Huber) and Sinkhorn against the exact optimal transport of a linear program
(:func:`scipy.optimize.linprog`) at a small epsilon.
"""

from __future__ import annotations

import math
import sys
import types
import unittest
from collections import Counter

import numpy as np
import pytest
import torch
from scipy import optimize, spatial, special, stats

from lossbook import classification as C
from lossbook import metric as M
from lossbook import probabilistic as P
from lossbook import regression as R
from lossbook import sequence as S

F64 = torch.float64


def _op_db():
    """The pinned torch's OpInfo database. Its test utilities import ``expecttest`` (a test
    dependency of torch itself, not of this project) for a base class only; a stand-in suffices."""
    if "expecttest" not in sys.modules:
        try:
            import expecttest  # noqa: F401
        except ImportError:
            stand_in = types.ModuleType("expecttest")
            stand_in.TestCase = unittest.TestCase
            sys.modules["expecttest"] = stand_in
    from torch.testing._internal.common_methods_invocations import op_db

    return op_db


class Unsupported(Exception):
    """The sample uses an option lossbook does not have; the message is the declared reason."""


def _kw(sample, *allowed, rename=None):
    """The sample's keyword arguments, renamed for lossbook; Unsupported for any other keyword."""
    rename = rename or {}
    out = {}
    for k, v in sample.kwargs.items():
        if k in allowed:
            out[rename.get(k, k)] = v
        else:
            raise Unsupported(f"{k}=")
    return out


def _target(sample):
    return sample.args[0] if sample.args else sample.kwargs["target"]


# One adapter per torch op: call lossbook on an OpInfo sample, with `x` in place of its input.
def _mse(x, s):
    return R.mse(x, _target(s), **_kw(s, "reduction"))


def _l1(x, s):
    return R.mae(x, _target(s), **_kw(s, "reduction"))


def _huber(x, s):
    return R.huber(x, _target(s), **_kw(s, "reduction", "delta"))


def _bce(x, s):
    return C.binary_cross_entropy(x, _target(s), **_kw(s, "reduction", "weight"))


def _bce_logits(x, s):
    return C.binary_cross_entropy_with_logits(x, _target(s), **_kw(s, "reduction", "weight", "pos_weight"))


def _cross_entropy(x, s):
    kw = _kw(s, "reduction", "weight", "ignore_index", "label_smoothing")
    return C.cross_entropy(x, _target(s), **kw)


def _kl_div(x, s):
    return P.kl_div(x, _target(s), **_kw(s, "reduction", "log_target"))


def _multi_margin(x, s):
    kw = _kw(s, "reduction", "p", "margin", "weight", rename={"p": "power"})
    return C.multi_margin(x, _target(s), **kw)


def _triplet(x, s):
    kw = _kw(s, "reduction", "margin", "p", "eps", "swap")
    if kw.pop("p", 2) != 2:
        raise Unsupported("p != 2")
    if kw.pop("swap", False):
        raise Unsupported("swap=True")
    eps = kw.pop("eps", 1e-6)
    # torch's distance is ||a - p + eps||: the anchor shifted by eps, for both distances.
    return M.triplet_margin_loss(x + eps, *s.args, **kw)


def _ctc(x, s):
    kw = _kw(s, "reduction", "blank", "zero_infinity")
    return S.ctc_loss(x, *s.args, **kw)


def _logsumexp(x, s):
    dim, *rest = s.args
    if isinstance(dim, (tuple, list)):
        if len(dim) != 1:
            raise Unsupported("several dims")
        dim = dim[0]
    keepdim = rest[0] if rest else s.kwargs.get("keepdim", False)
    return C.logsumexp(x, dim=dim, keepdim=keepdim)


def _softmax(fn):
    def call(x, s):
        _kw(s)  # a dtype= keyword is unsupported
        return fn(x, dim=s.args[0])

    return call


ADAPTERS = {
    "nn.functional.mse_loss": ("regression.mse", _mse),
    "nn.functional.l1_loss": ("regression.mae", _l1),
    "nn.functional.huber_loss": ("regression.huber", _huber),
    "nn.functional.binary_cross_entropy": ("classification.binary_cross_entropy", _bce),
    "nn.functional.binary_cross_entropy_with_logits": (
        "classification.binary_cross_entropy_with_logits",
        _bce_logits,
    ),
    "nn.functional.cross_entropy": ("classification.cross_entropy", _cross_entropy),
    "nn.functional.multi_margin_loss": ("classification.multi_margin", _multi_margin),
    "nn.functional.kl_div": ("probabilistic.kl_div", _kl_div),
    "nn.functional.triplet_margin_loss": ("metric.triplet_margin_loss", _triplet),
    "nn.functional.ctc_loss": ("sequence.ctc_loss", _ctc),
    "logsumexp": ("classification.logsumexp", _logsumexp),
    "log_softmax": ("classification.log_softmax", _softmax(C.log_softmax)),
    "softmax": ("classification.softmax", _softmax(C.softmax)),
}
"""torch op (OpInfo name) -> (lossbook function, adapter)."""

NO_COUNTERPART = {
    "nn.functional.smooth_l1_loss": "Huber divided by its delta; lossbook has huber",
    "nn.functional.nll_loss": "lossbook takes logits (cross_entropy), not log-probabilities",
    "nn.functional.hinge_embedding_loss": "no lossbook counterpart",
    "nn.functional.soft_margin_loss": "no lossbook counterpart",
    "nn.functional.margin_ranking_loss": "no lossbook counterpart",
    "nn.functional.cosine_embedding_loss": "no lossbook counterpart",
    "nn.functional.gaussian_nll_loss": "no lossbook counterpart",
    "nn.functional.poisson_nll_loss": "no lossbook counterpart",
    "nn.functional.multilabel_margin_loss": "no lossbook counterpart",
    "nn.functional.multilabel_soft_margin_loss": "no lossbook counterpart",
    "nn.functional.triplet_margin_with_distance_loss": "lossbook's distances are named, not callables",
}
"""torch losses in op_db that the test does not run, with the reason (printed in the table)."""

UNSUPPORTED = {
    "log_softmax": {"dtype=": "no dtype= argument: cast the input"},
    "softmax": {"dtype=": "no dtype= argument: cast the input"},
    "logsumexp": {"several dims": "one dim at a time"},
    "nn.functional.triplet_margin_loss": {
        "p != 2": "Euclidean distance only (distance= names the others)",
        "swap=True": "no distance swap",
    },
}
"""Declared unsupported samples: op -> {the adapter's reason: explanation}."""

_NEGATIVE_WEIGHT = {
    "finite, non-negative weights": "a negative weight is a ValueError (it turns the loss into a reward)"
}
REJECTED = {
    "nn.functional.mse_loss": {"no broadcasting": "input and target must have one shape (by design)"},
    "nn.functional.l1_loss": {"no broadcasting": "input and target must have one shape (by design)"},
    "nn.functional.huber_loss": {"no broadcasting": "input and target must have one shape (by design)"},
    "nn.functional.binary_cross_entropy": _NEGATIVE_WEIGHT,
    "nn.functional.binary_cross_entropy_with_logits": _NEGATIVE_WEIGHT,
    "nn.functional.cross_entropy": _NEGATIVE_WEIGHT,
    "nn.functional.multi_margin_loss": {
        **_NEGATIVE_WEIGHT,
        "margin must be positive": "a margin <= 0 is a ValueError (documented in multi_margin)",
    },
}
"""Declared rejected samples: op -> {a fragment of lossbook's error message: explanation}."""

GRADIENT_CONVENTION = {
    # torch's ctc_loss backward returns the gradient through log_softmax (w.r.t. the logits that
    # produced log_probs), g - exp(log_probs) * sum_k g, not the derivative w.r.t. log_probs.
    "nn.functional.ctc_loss": lambda g, x: g - x.exp() * g.sum(-1, keepdim=True),
}
"""Ops whose torch gradient follows another convention: the map from lossbook's gradient to it."""


def _samples(op):
    torch.manual_seed(0)
    return list(op.sample_inputs("cpu", F64, requires_grad=True))


def _errors(op):
    torch.manual_seed(0)
    return [] if op.error_inputs_func is None else list(op.error_inputs("cpu"))


def _ops():
    by_name = {}
    for op in _op_db():
        if op.name in ADAPTERS:
            by_name.setdefault(op.name, []).append(op)
    return by_name


OPS = _ops()
TABLE: dict[str, Counter] = {}


def _with_nonnegative_weights(sample):
    """The sample with ``|weight|`` and ``|pos_weight|``: what lossbook accepts, compared too."""
    kwargs = {k: v.abs() if k in ("weight", "pos_weight") else v for k, v in sample.kwargs.items()}
    return type(sample)(sample.input, args=sample.args, kwargs=kwargs)


def _run(op, sample):
    """'matched' | ('unsupported', reason) | ('rejected', message); AssertionError on a mismatch.

    A sample rejected for a negative weight is compared once more with the weights' absolute
    values, so the weighted code paths are checked against torch all the same."""
    kind, reason = _compare(op, sample)
    if kind == "rejected" and "finite, non-negative weights" in reason:
        assert _compare(op, _with_nonnegative_weights(sample))[0] == "matched"
    return kind, reason


def _compare(op, sample):
    _, adapter = ADAPTERS[op.name]
    x = sample.input.detach().clone().requires_grad_(True)
    try:
        ours = adapter(x, sample)
    except Unsupported as exc:
        return "unsupported", str(exc)
    except (ValueError, TypeError, IndexError) as exc:
        return "rejected", str(exc)
    theirs = op(sample.input, *sample.args, **sample.kwargs)
    torch.testing.assert_close(ours, theirs, msg=lambda m: f"{op.name} {_describe(sample)}: value\n{m}")
    if theirs.requires_grad:
        weights = torch.linspace(0.5, 1.5, theirs.numel(), dtype=F64).reshape(theirs.shape)
        (g_theirs,) = torch.autograd.grad((theirs * weights).sum(), sample.input, allow_unused=True)
        (g_ours,) = torch.autograd.grad((ours * weights).sum(), x, allow_unused=True)
        if g_theirs is not None:
            if op.name in GRADIENT_CONVENTION:
                g_ours = GRADIENT_CONVENTION[op.name](g_ours, sample.input.detach())
            msg = f"{op.name} {_describe(sample)}: gradient"
            torch.testing.assert_close(g_ours, g_theirs, msg=lambda m: f"{msg}\n{m}")
    return "matched", ""


def _describe(sample) -> str:
    """A sample in one line: shapes for tensors."""

    def short(v):
        return f"tensor{tuple(v.shape)}" if isinstance(v, torch.Tensor) else repr(v)

    args = ", ".join(short(a) for a in (sample.input, *sample.args))
    kwargs = ", ".join(f"{k}={short(v)}" for k, v in sample.kwargs.items())
    return f"({args}{', ' if kwargs else ''}{kwargs})"


def _declared(table, op_name, reason):
    return any(key in reason for key in table.get(op_name, {}))


@pytest.mark.parametrize("op_name", sorted(ADAPTERS))
def test_opinfo_samples_match_torch(op_name):
    assert op_name in OPS, f"{op_name} is not in this torch's op_db"
    counts = TABLE.setdefault(op_name, Counter())
    undeclared = []
    for op in OPS[op_name]:
        for sample in _samples(op):
            kind, reason = _run(op, sample)
            counts[kind] += 1
            if kind == "unsupported" and not _declared(UNSUPPORTED, op_name, reason):
                undeclared.append(f"unsupported ({reason}): {_describe(sample)}")
            if kind == "rejected":
                if _declared(REJECTED, op_name, reason):
                    continue
                undeclared.append(f"rejected ({reason}): {_describe(sample)}")
    assert counts["matched"] > 0
    assert not undeclared, "\n".join(undeclared)


@pytest.mark.parametrize("op_name", sorted(ADAPTERS))
def test_opinfo_error_inputs_raise(op_name):
    counts = TABLE.setdefault(op_name, Counter())
    _, adapter = ADAPTERS[op_name]
    for op in OPS[op_name]:
        for error in _errors(op):
            sample = error.sample_input
            with pytest.raises(error.error_type):  # torch raises it ...
                op(sample.input, *sample.args, **sample.kwargs)
            try:  # ... and lossbook raises a clear error of its contract
                adapter(sample.input, sample)
            except Unsupported as exc:
                counts["errors unsupported"] += 1
                assert _declared(UNSUPPORTED, op_name, str(exc)), exc
                continue
            except (ValueError, TypeError, IndexError, RuntimeError):
                counts["errors raised"] += 1
                continue
            pytest.fail(
                f"{op_name}: lossbook accepted the error input {_describe(sample)} ({error.error_regex})"
            )


def test_the_declared_tables_name_real_ops_and_print_the_table(capsys):
    names = {op.name for op in _op_db()}
    assert set(UNSUPPORTED) | set(REJECTED) <= set(ADAPTERS)
    assert set(NO_COUNTERPART) <= names, set(NO_COUNTERPART) - names
    lines = [f"{'torch op':50s} {'lossbook':44s} matched unsupported rejected errors"]
    for name in sorted(ADAPTERS):
        c = TABLE.get(name, Counter())
        errors = f"{c['errors raised']}/{c['errors raised'] + c['errors unsupported']}"
        lines.append(
            f"{name:50s} {ADAPTERS[name][0]:44s} {c['matched']:7d} {c['unsupported']:11d} "
            f"{c['rejected']:8d} {errors:>6s}"
        )
    for name, why in sorted(NO_COUNTERPART.items()):
        lines.append(f"{name:50s} (not run: {why})")
    with capsys.disabled():
        print("\n" + "\n".join(lines))


# --------------------------------------------------------------------------- SciPy


def _dist(shape, seed):
    g = torch.Generator().manual_seed(seed)
    p = torch.rand(shape, generator=g, dtype=F64) + 0.01
    return p / p.sum(-1, keepdim=True)


def test_entropy_kl_js_against_scipy():
    p, q = _dist((4, 6), 1), _dist((4, 6), 2)
    ref_h = stats.entropy(p.numpy(), axis=-1)
    ref_kl = stats.entropy(p.numpy(), q.numpy(), axis=-1)
    ref_js = spatial.distance.jensenshannon(p.numpy(), q.numpy(), axis=-1) ** 2
    np.testing.assert_allclose(P.entropy(p, reduction="none").numpy(), ref_h, rtol=1e-12)
    np.testing.assert_allclose(P.kl_divergence(p, q, reduction="none").numpy(), ref_kl, rtol=1e-12)
    np.testing.assert_allclose(P.js_divergence(p, q, reduction="none").numpy(), ref_js, rtol=1e-10)


@pytest.mark.parametrize("weighted", [False, True])
def test_wasserstein_1d_against_scipy(weighted):
    g = torch.Generator().manual_seed(3)
    u, v = torch.randn(9, generator=g, dtype=F64), torch.randn(13, generator=g, dtype=F64) + 0.5
    wu = torch.rand(9, generator=g, dtype=F64) + 0.1 if weighted else None
    wv = torch.rand(13, generator=g, dtype=F64) + 0.1 if weighted else None
    ref = stats.wasserstein_distance(
        u.numpy(), v.numpy(), None if wu is None else wu.numpy(), None if wv is None else wv.numpy()
    )
    assert P.wasserstein_1d(u, v, u_weights=wu, v_weights=wv).item() == pytest.approx(ref, rel=1e-12)


def test_logsumexp_against_scipy():
    z = torch.randn(5, 7, generator=torch.Generator().manual_seed(4), dtype=F64) * 300
    for dim in (0, 1, -1):
        np.testing.assert_allclose(
            C.logsumexp(z, dim=dim).numpy(), special.logsumexp(z.numpy(), axis=dim), rtol=1e-13
        )


@pytest.mark.parametrize("delta", [0.3, 1.0, 2.5])
def test_huber_against_scipy(delta):
    g = torch.Generator().manual_seed(5)
    x, y = torch.randn(50, generator=g, dtype=F64) * 3, torch.randn(50, generator=g, dtype=F64)
    ref = special.huber(delta, (x - y).numpy())
    np.testing.assert_allclose(R.huber(x, y, delta=delta, reduction="none").numpy(), ref, rtol=1e-13)


# --------------------------------------------------------------------------- Sinkhorn vs an LP


def _exact_transport(c, a, b):
    n, m = c.shape
    rows = np.kron(np.eye(n), np.ones(m))
    cols = np.kron(np.ones(n), np.eye(m))
    res = optimize.linprog(
        c.ravel(), A_eq=np.vstack([rows, cols]), b_eq=np.concatenate([a, b]), method="highs"
    )
    assert res.status == 0
    return float(res.fun)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sinkhorn_against_an_exact_linear_program(seed):
    g = torch.Generator().manual_seed(seed)
    x, y = torch.rand(7, 2, generator=g, dtype=F64), torch.rand(6, 2, generator=g, dtype=F64)
    a, b = torch.rand(7, generator=g, dtype=F64) + 0.1, torch.rand(6, generator=g, dtype=F64) + 0.1
    a, b = a / a.sum(), b / b.sum()
    c = P.cost_matrix(x, y)
    exact = _exact_transport(c.numpy(), a.numpy(), b.numpy())
    epsilon = 1e-3 * float(c.max())
    info = P.sinkhorn(c, a, b, epsilon=epsilon, return_info=True)
    assert info.converged and info.marginal_error < 2e-9
    # entropic bias: at most epsilon * (log n + log m) above the optimum, and never below it
    assert exact - 1e-9 <= info.cost.item() <= exact + epsilon * (math.log(7) + math.log(6))
    assert info.cost.item() == pytest.approx(exact, abs=1e-4 * float(c.max()))
