"""The conformance appendix: torch's own OpInfo samples run through lossbook, generated.

For every ``lossbook`` loss with a counterpart in :mod:`torch.nn.functional` (or ``torch``),
:func:`run_op` runs every OpInfo sample input of the pinned torch
(``torch.testing._internal.common_methods_invocations.op_db``, float64, CPU) through both and
compares the value and the gradient in the sample's input, and runs every OpInfo error input
through ``lossbook``. A sample ``lossbook`` cannot run is *unsupported* (it uses an option
``lossbook`` lacks) or *rejected* (``lossbook`` raises where torch computes, by design); both
are declared below with their reason. The cross-checks against SciPy and an exact linear
program are declared in :data:`CROSS_CHECKS`, with the tolerance their tests assert.

    python _ext/conformance.py          # write book/appendix/conformance.md
    python _ext/conformance.py --check  # exit 1 if the page is not what this torch gives

``tests/test_conformance.py`` runs every sample (failing on a mismatch and on any unsupported
or rejected sample not declared here), the cross-checks, and the check of the page. The page
is committed, so the book's build runs no OpInfo sample.
"""

from __future__ import annotations

import math
import sys
import types
import unittest
from collections import Counter
from functools import cache
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "book" / "appendix" / "conformance.md"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lossbook import classification as C  # noqa: E402
from lossbook import metric as M  # noqa: E402
from lossbook import probabilistic as P  # noqa: E402
from lossbook import regression as R  # noqa: E402
from lossbook import sequence as S  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generated import write_or_check  # noqa: E402

F64 = torch.float64


def op_db():
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
    "nn.functional.smooth_l1_loss": "the Huber loss divided by its $\\delta$; `lossbook` has `huber`",
    "nn.functional.nll_loss": "`lossbook` takes logits (`cross_entropy`), not log-probabilities",
    "nn.functional.hinge_embedding_loss": "no counterpart in `lossbook`",
    "nn.functional.soft_margin_loss": "no counterpart in `lossbook`",
    "nn.functional.margin_ranking_loss": "no counterpart in `lossbook`",
    "nn.functional.cosine_embedding_loss": "no counterpart in `lossbook`",
    "nn.functional.gaussian_nll_loss": "no counterpart in `lossbook`",
    "nn.functional.poisson_nll_loss": "no counterpart in `lossbook`",
    "nn.functional.multilabel_margin_loss": "no counterpart in `lossbook`",
    "nn.functional.multilabel_soft_margin_loss": "no counterpart in `lossbook`",
    "nn.functional.triplet_margin_with_distance_loss": "`lossbook`'s distances are named, not callables",
}
"""torch losses in op_db that are not run, with the reason (on the page)."""

UNSUPPORTED = {
    "log_softmax": {"dtype=": "no `dtype=` argument: cast the input"},
    "softmax": {"dtype=": "no `dtype=` argument: cast the input"},
    "logsumexp": {"several dims": "one `dim` at a time"},
    "nn.functional.triplet_margin_loss": {
        "p != 2": "Euclidean distance only (`distance=` names the others)",
        "swap=True": "no distance swap (`swap=True`)",
    },
}
"""Declared unsupported samples: op -> {the adapter's reason: explanation}."""

_NEGATIVE_WEIGHT = {
    "finite, non-negative weights": "a negative weight is a `ValueError` (it turns the loss into a reward)"
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
        "margin must be positive": "a margin $\\le 0$ is a `ValueError` (documented in `multi_margin`)",
    },
}
"""Declared rejected samples: op -> {a fragment of lossbook's error message: explanation}."""

GRADIENT_CONVENTION = {
    # torch's ctc_loss backward returns the gradient through log_softmax (w.r.t. the logits that
    # produced log_probs), g - exp(log_probs) * sum_k g, not the derivative w.r.t. log_probs.
    "nn.functional.ctc_loss": lambda g, x: g - x.exp() * g.sum(-1, keepdim=True),
}
"""Ops whose torch gradient follows another convention: the map from lossbook's gradient to it."""

CROSS_CHECKS = {
    "entropy": ("probabilistic.entropy", "`scipy.stats.entropy`", 1e-12, "4 distributions on 6 points"),
    "kl": ("probabilistic.kl_divergence", "`scipy.stats.entropy(p, q)`", 1e-12, "4 pairs on 6 points"),
    "js": (
        "probabilistic.js_divergence",
        "`scipy.spatial.distance.jensenshannon`, squared",
        1e-10,
        "4 pairs on 6 points",
    ),
    "wasserstein_1d": (
        "probabilistic.wasserstein_1d",
        "`scipy.stats.wasserstein_distance`",
        1e-12,
        "9 and 13 samples, unweighted and weighted",
    ),
    "logsumexp": (
        "classification.logsumexp",
        "`scipy.special.logsumexp`",
        1e-13,
        "5 × 7 logits of scale 300",
    ),
    "huber": ("regression.huber", "`scipy.special.huber`", 1e-13, "50 residuals, $\\delta$ = 0.3, 1 and 2.5"),
}
"""SciPy cross-checks: key -> (lossbook function, reference (Markdown), relative tolerance asserted,
inputs)."""

SINKHORN_LP = {
    "epsilon_over_max_cost": 1e-3,
    "marginal_error": 2e-9,
    "inputs": "7 and 6 points in the unit square with non-uniform weights and squared-Euclidean "
    "costs (3 seeds)",
}
"""Sinkhorn against the exact optimum of a linear program: what its test asserts."""


def samples(op):
    torch.manual_seed(0)
    return list(op.sample_inputs("cpu", F64, requires_grad=True))


def errors(op):
    torch.manual_seed(0)
    return [] if op.error_inputs_func is None else list(op.error_inputs("cpu"))


@cache
def ops() -> dict[str, list]:
    """The OpInfo entries of every op in :data:`ADAPTERS`, by name."""
    by_name = {}
    for op in op_db():
        if op.name in ADAPTERS:
            by_name.setdefault(op.name, []).append(op)
    return by_name


def _with_nonnegative_weights(sample):
    """The sample with ``|weight|`` and ``|pos_weight|``: what lossbook accepts, compared too."""
    kwargs = {k: v.abs() if k in ("weight", "pos_weight") else v for k, v in sample.kwargs.items()}
    return type(sample)(sample.input, args=sample.args, kwargs=kwargs)


def run(op, sample):
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
    torch.testing.assert_close(ours, theirs, msg=lambda m: f"{op.name} {describe(sample)}: value\n{m}")
    if theirs.requires_grad:
        weights = torch.linspace(0.5, 1.5, theirs.numel(), dtype=F64).reshape(theirs.shape)
        (g_theirs,) = torch.autograd.grad((theirs * weights).sum(), sample.input, allow_unused=True)
        (g_ours,) = torch.autograd.grad((ours * weights).sum(), x, allow_unused=True)
        if g_theirs is not None:
            if op.name in GRADIENT_CONVENTION:
                g_ours = GRADIENT_CONVENTION[op.name](g_ours, sample.input.detach())
            msg = f"{op.name} {describe(sample)}: gradient"
            torch.testing.assert_close(g_ours, g_theirs, msg=lambda m: f"{msg}\n{m}")
    return "matched", ""


def describe(sample) -> str:
    """A sample in one line: shapes for tensors."""

    def short(v):
        return f"tensor{tuple(v.shape)}" if isinstance(v, torch.Tensor) else repr(v)

    args = ", ".join(short(a) for a in (sample.input, *sample.args))
    kwargs = ", ".join(f"{k}={short(v)}" for k, v in sample.kwargs.items())
    return f"({args}{', ' if kwargs else ''}{kwargs})"


def declared(table: dict, op_name: str, reason: str) -> str | None:
    """The declared key of ``table[op_name]`` that ``reason`` contains, or None."""
    return next((key for key in table.get(op_name, {}) if key in reason), None)


@cache
def run_samples(op_name: str) -> tuple[Counter, tuple[str, ...]]:
    """Every OpInfo sample of ``op_name`` through lossbook and torch: the counts (matched,
    unsupported, rejected, and each declared reason met) and the undeclared samples, described.
    Raises AssertionError on a value or gradient that disagrees."""
    counts, undeclared = Counter(), []
    for op in ops()[op_name]:
        for sample in samples(op):
            kind, reason = run(op, sample)
            counts[kind] += 1
            if kind == "matched":
                continue
            key = declared(UNSUPPORTED if kind == "unsupported" else REJECTED, op_name, reason)
            if key is None:
                undeclared.append(f"{kind} ({reason}): {describe(sample)}")
            else:
                counts[(kind, key)] += 1
    return counts, tuple(undeclared)


@cache
def run_errors(op_name: str) -> tuple[Counter, tuple[str, ...]]:
    """Every OpInfo error input of ``op_name``: torch must raise its declared error and lossbook
    an error of its contract (or decline an unsupported option). The counts (``raised``,
    ``unsupported``) and the problems, described."""
    counts, problems = Counter(), []
    _, adapter = ADAPTERS[op_name]
    for op in ops()[op_name]:
        for error in errors(op):
            sample = error.sample_input
            try:
                op(sample.input, *sample.args, **sample.kwargs)
                problems.append(f"torch accepted its error input {describe(sample)}")
            except error.error_type:
                pass
            try:
                adapter(sample.input, sample)
            except Unsupported as exc:
                counts["unsupported"] += 1
                if declared(UNSUPPORTED, op_name, str(exc)) is None:
                    problems.append(f"unsupported ({exc}): {describe(sample)}")
                continue
            except (ValueError, TypeError, IndexError, RuntimeError):
                counts["raised"] += 1
                continue
            problems.append(f"lossbook accepted the error input {describe(sample)} ({error.error_regex})")
    return counts, tuple(problems)


def table() -> list[dict]:
    """One row per op of :data:`ADAPTERS`: the counts of :func:`run_samples` and :func:`run_errors`."""
    rows = []
    for name in sorted(ADAPTERS):
        counts, _ = run_samples(name)
        errs, _ = run_errors(name)
        rows.append(
            {
                "op": name,
                "lossbook": ADAPTERS[name][0],
                "matched": counts["matched"],
                "unsupported": counts["unsupported"],
                "rejected": counts["rejected"],
                "reasons": {k: v for k, v in counts.items() if isinstance(k, tuple)},
                "errors": errs["raised"],
                "errors_unsupported": errs["unsupported"],
            }
        )
    return rows


def _power_of_ten(x: float) -> str:
    """``1e-12`` as ``10⁻¹²`` (a tolerance is a power of ten)."""
    exponent = round(math.log10(x))
    assert 10.0**exponent == x, x
    return "10" + str(exponent).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


def _mantissa_power(x: float) -> str:
    """``2e-9`` as ``2 × 10⁻⁹``."""
    mantissa, exponent = f"{x:e}".split("e")
    m = float(mantissa)
    head = "" if m == 1 else f"{m:g} × "
    return head + "10" + str(int(exponent)).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


def _code(name: str) -> str:
    return f"`{name}`"


def render(rows: list[dict]) -> str:
    """The appendix page for the rows of :func:`table`."""
    total = Counter()
    for row in rows:
        total.update({k: row[k] for k in ("matched", "unsupported", "rejected", "errors")})
    n_samples = total["matched"] + total["unsupported"] + total["rejected"]
    version = torch.__version__.split("+")[0]
    lines = [
        "(conformance)=",
        "# Conformance with PyTorch",
        "",
        "PyTorch tests each of its operators on a list of *OpInfo samples*: inputs of many",
        "shapes (scalars, empty batches, one and several dimensions) with every combination of",
        "the operator's options that its developers chose to cover, and *error inputs* that the",
        "operator must refuse. The test suite of this book runs the samples of torch",
        f"{version} (the pinned version) through every `lossbook` function that has a torch",
        "counterpart, in float64 on the CPU, and compares the value and the gradient with",
        "torch's own. A disagreement fails the test, and so does any sample that `lossbook` cannot",
        "run unless it is declared below with its reason. This page is generated from that",
        "test's declarations and counts (`_ext/conformance.py`), and the test fails if the",
        "committed page is not what the pinned torch gives.",
        "",
        f"Of {n_samples} samples, {total['matched']} match torch in value and gradient,",
        f"{total['unsupported']} are unsupported and {total['rejected']} rejected; "
        f"{total['errors']} error inputs all raise an error in `lossbook` as well.",
        "",
        "## Samples per function",
        "",
        "The columns: **matched**, samples whose value and gradient agree with torch's to the",
        "default float64 tolerances of `torch.testing.assert_close`; **unsupported**, samples",
        "that use an option `lossbook` does not have; **rejected**, samples for which `lossbook`",
        "raises a `ValueError` by design where torch computes a value; **error inputs**, torch's",
        "inputs that must raise, and how many of them raise in `lossbook` (of those whose",
        "options `lossbook` has; *none* where torch declares no error input for the operator).",
        "",
        "| torch | `lossbook` | matched | unsupported | rejected | error inputs |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        declined = row["errors"] + row["errors_unsupported"]
        errors = f"{row['errors']} of {declined}" if declined else "none"
        lines.append(
            f"| {_code(row['op'])} | {_code(row['lossbook'])} | {row['matched']} | "
            f"{row['unsupported']} | {row['rejected']} | {errors} |"
        )
    lines += [
        "",
        "## Why a sample is unsupported or rejected",
        "",
        "A rejected sample with a negative weight is run once more with the weights' absolute",
        "values, and that run must match torch, so the weighted code paths are compared all the",
        "same.",
        "",
        "| torch | kind | samples | reason |",
        "| --- | --- | ---: | --- |",
    ]
    for row in rows:
        for (kind, key), count in sorted(row["reasons"].items()):
            why = (UNSUPPORTED if kind == "unsupported" else REJECTED)[row["op"]][key]
            lines.append(f"| {_code(row['op'])} | {kind} | {count} | {why} |")
    lines += [
        "",
        "## Losses of torch without a counterpart",
        "",
        "These losses of `torch.nn.functional` have OpInfo samples that are not run:",
        "",
        "| torch | why not |",
        "| --- | --- |",
    ]
    for name, why in sorted(NO_COUNTERPART.items()):
        lines.append(f"| {_code(name)} | {why} |")
    lp = SINKHORN_LP
    lines += [
        "",
        "## Cross-checks against SciPy and an exact linear program",
        "",
        "Functions that torch does not have, or has under another convention, are compared with",
        "SciPy on seeded random inputs in float64; the tolerance is the largest relative",
        "difference the test allows.",
        "",
        "| `lossbook` | reference | inputs | relative tolerance |",
        "| --- | --- | --- | --- |",
    ]
    for fn, reference, rtol, inputs in CROSS_CHECKS.values():
        lines.append(f"| {_code(fn)} | {reference} | {inputs} | {_power_of_ten(rtol)} |")
    lines += [
        "",
        "Sinkhorn's entropic transport cost is compared with the exact optimal transport cost,",
        "the solution of a linear program (`scipy.optimize.linprog`, HiGHS), on",
        f"{lp['inputs']}, at $\\varepsilon$ = {_power_of_ten(lp['epsilon_over_max_cost'])} times the",
        "largest cost. The test asserts that `sinkhorn` converges (marginal error below",
        f"{_mantissa_power(lp['marginal_error'])}), and that its cost lies above the exact optimum",
        "(as the cost of any feasible plan must) by at most the entropic bias",
        "$\\varepsilon(\\log n + \\log m)$.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    stale = f"{OUTPUT.relative_to(ROOT)} is stale: run python _ext/conformance.py"
    return write_or_check(OUTPUT, render(table()), argv, stale=stale, root=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
