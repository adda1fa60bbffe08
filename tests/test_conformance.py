"""Conformance: torch's own test samples, SciPy, and an exact linear program as references.

For every ``lossbook`` loss with a counterpart in :mod:`torch.nn.functional` (or ``torch``), the
test runs every OpInfo sample input of the pinned torch
(``torch.testing._internal.common_methods_invocations.op_db``, float64, CPU) through both and
compares the value and the gradient in the sample's input, and checks that every OpInfo error
input raises in ``lossbook`` too. A sample ``lossbook`` cannot run is *unsupported* (it uses an
option ``lossbook`` lacks) or *rejected* (``lossbook`` raises where torch computes, by design);
both must be declared in ``_ext/conformance.py`` with their reason, so a new torch sample that
does not conform fails the test. The table of matched / unsupported / rejected samples is
printed (``pytest -s tests/test_conformance.py``), and the conformance appendix
(``book/appendix/conformance.md``) must be its fresh rendering.

Then SciPy cross-checks (entropy, KL, JS, the 1-D Wasserstein distance weighted and not,
logsumexp, Huber) and Sinkhorn against the exact optimal transport of a linear program
(:func:`scipy.optimize.linprog`) at a small epsilon, at the tolerances the appendix states
(``conformance.CROSS_CHECKS`` and ``conformance.SINKHORN_LP``).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import optimize, spatial, special, stats

from lossbook import classification as C
from lossbook import probabilistic as P
from lossbook import regression as R

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "_ext"))
import conformance  # noqa: E402

F64 = torch.float64
CF = conformance


@pytest.mark.parametrize("op_name", sorted(CF.ADAPTERS))
def test_opinfo_samples_match_torch(op_name):
    assert op_name in CF.ops(), f"{op_name} is not in this torch's op_db"
    counts, undeclared = CF.run_samples(op_name)  # AssertionError on any value or gradient mismatch
    assert counts["matched"] > 0
    assert not undeclared, "\n".join(undeclared)


@pytest.mark.parametrize("op_name", sorted(CF.ADAPTERS))
def test_opinfo_error_inputs_raise(op_name):
    _, problems = CF.run_errors(op_name)
    assert not problems, "\n".join(problems)


def test_the_declared_tables_name_real_ops_and_print_the_table(capsys):
    names = {op.name for op in CF.op_db()}
    assert set(CF.UNSUPPORTED) | set(CF.REJECTED) <= set(CF.ADAPTERS)
    assert set(CF.NO_COUNTERPART) <= names, set(CF.NO_COUNTERPART) - names
    lines = [f"{'torch op':50s} {'lossbook':44s} matched unsupported rejected errors"]
    for row in CF.table():
        errors = f"{row['errors']}/{row['errors'] + row['errors_unsupported']}"
        lines.append(
            f"{row['op']:50s} {row['lossbook']:44s} {row['matched']:7d} {row['unsupported']:11d} "
            f"{row['rejected']:8d} {errors:>6s}"
        )
    for name, why in sorted(CF.NO_COUNTERPART.items()):
        lines.append(f"{name:50s} (not run: {why})")
    with capsys.disabled():
        print("\n" + "\n".join(lines))


def test_the_conformance_page_is_the_fresh_table():
    assert CF.OUTPUT.read_text(encoding="utf-8") == CF.render(CF.table()), (
        "book/appendix/conformance.md is stale: run python _ext/conformance.py"
    )


def test_a_changed_count_makes_the_page_stale():
    rows = CF.table()
    rows[0] = {**rows[0], "matched": rows[0]["matched"] + 1}
    assert CF.render(rows) != CF.render(CF.table())


def test_every_reason_met_is_explained_on_the_page():
    page = CF.render(CF.table())
    met = [(kind, row["op"], key) for row in CF.table() for (kind, key) in row["reasons"]]
    assert met
    for kind, op_name, key in met:
        why = (CF.UNSUPPORTED if kind == "unsupported" else CF.REJECTED)[op_name][key]
        assert f"| `{op_name}` | {kind} |" in page and why in page


# --------------------------------------------------------------------------- SciPy


def _dist(shape, seed):
    g = torch.Generator().manual_seed(seed)
    p = torch.rand(shape, generator=g, dtype=F64) + 0.01
    return p / p.sum(-1, keepdim=True)


def _rtol(key):
    """The relative tolerance the conformance appendix states for a SciPy cross-check."""
    return CF.CROSS_CHECKS[key][2]


def test_the_cross_checks_are_the_declared_ones():
    assert CF.CROSS_CHECKS["entropy"][2] == 1e-12 and CF.CROSS_CHECKS["kl"][2] == 1e-12
    assert CF.CROSS_CHECKS["js"][2] == 1e-10 and CF.CROSS_CHECKS["wasserstein_1d"][2] == 1e-12
    assert CF.CROSS_CHECKS["logsumexp"][2] == 1e-13 and CF.CROSS_CHECKS["huber"][2] == 1e-13
    assert CF.SINKHORN_LP["epsilon_over_max_cost"] == 1e-3 and CF.SINKHORN_LP["marginal_error"] == 2e-9


def test_entropy_kl_js_against_scipy():
    p, q = _dist((4, 6), 1), _dist((4, 6), 2)
    ref_h = stats.entropy(p.numpy(), axis=-1)
    ref_kl = stats.entropy(p.numpy(), q.numpy(), axis=-1)
    ref_js = spatial.distance.jensenshannon(p.numpy(), q.numpy(), axis=-1) ** 2
    np.testing.assert_allclose(P.entropy(p, reduction="none").numpy(), ref_h, rtol=_rtol("entropy"))
    np.testing.assert_allclose(P.kl_divergence(p, q, reduction="none").numpy(), ref_kl, rtol=_rtol("kl"))
    np.testing.assert_allclose(P.js_divergence(p, q, reduction="none").numpy(), ref_js, rtol=_rtol("js"))


@pytest.mark.parametrize("weighted", [False, True])
def test_wasserstein_1d_against_scipy(weighted):
    g = torch.Generator().manual_seed(3)
    u, v = torch.randn(9, generator=g, dtype=F64), torch.randn(13, generator=g, dtype=F64) + 0.5
    wu = torch.rand(9, generator=g, dtype=F64) + 0.1 if weighted else None
    wv = torch.rand(13, generator=g, dtype=F64) + 0.1 if weighted else None
    ref = stats.wasserstein_distance(
        u.numpy(), v.numpy(), None if wu is None else wu.numpy(), None if wv is None else wv.numpy()
    )
    value = P.wasserstein_1d(u, v, u_weights=wu, v_weights=wv).item()
    assert value == pytest.approx(ref, rel=_rtol("wasserstein_1d"))


def test_logsumexp_against_scipy():
    z = torch.randn(5, 7, generator=torch.Generator().manual_seed(4), dtype=F64) * 300
    for dim in (0, 1, -1):
        np.testing.assert_allclose(
            C.logsumexp(z, dim=dim).numpy(), special.logsumexp(z.numpy(), axis=dim), rtol=_rtol("logsumexp")
        )


@pytest.mark.parametrize("delta", [0.3, 1.0, 2.5])
def test_huber_against_scipy(delta):
    g = torch.Generator().manual_seed(5)
    x, y = torch.randn(50, generator=g, dtype=F64) * 3, torch.randn(50, generator=g, dtype=F64)
    ref = special.huber(delta, (x - y).numpy())
    np.testing.assert_allclose(R.huber(x, y, delta=delta, reduction="none").numpy(), ref, rtol=_rtol("huber"))


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
    epsilon = CF.SINKHORN_LP["epsilon_over_max_cost"] * float(c.max())
    info = P.sinkhorn(c, a, b, epsilon=epsilon, return_info=True)
    assert info.converged and info.marginal_error < CF.SINKHORN_LP["marginal_error"]
    # entropic bias: at most epsilon * (log n + log m) above the optimum, and never below it
    assert exact - 1e-9 <= info.cost.item() <= exact + epsilon * (math.log(7) + math.log(6))
    assert info.cost.item() == pytest.approx(exact, abs=1e-4 * float(c.max()))
