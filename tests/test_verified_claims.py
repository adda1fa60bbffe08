"""The verified-claims appendix is generated from its registry, and the registry is true.

``book/appendix/claims.yml`` names, for every claim, the notebook section that computes it
and the glued values it quotes; ``_ext/claims.py`` renders it into the appendix page. These
tests fail if the committed page is not the rendering of the registry, if a row names a
page, section anchor or glue key that does not exist, if a verdict is off the book's one
scale, if one claim carries two verdicts, or if a stated number disagrees with its verdict.
The last test breaks rows on purpose and checks that each break is reported.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "_ext"))
import claims  # noqa: E402


@pytest.fixture(scope="module")
def rows():
    return claims.load()


def test_the_page_is_the_rendered_registry(rows):
    assert claims.OUTPUT.read_text(encoding="utf-8") == claims.render(rows), (
        "book/appendix/verified-claims.md is stale: run python _ext/claims.py"
    )


def test_every_row_names_what_exists_and_agrees(rows):
    found = claims.problems(rows)
    assert not found, "\n".join(found)


def test_every_chapter_has_its_claims(rows):
    chapters = {row["chapter"] for row in rows}
    missing = [folder for folder, _ in claims.toc_chapters() if folder not in chapters]
    assert not missing, f"chapters without a row in the registry: {missing}"


def test_the_verdict_counts_are_stated(rows):
    page = claims.render(rows)
    assert f"{len(rows)} claims: " in page
    for verdict in claims.SCALE:
        count = sum(row["verdict"] == verdict for row in rows)
        assert (f"{count} {verdict}" in page) == bool(count)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.25", 0.25),
        ("'0.100'", 0.1),
        ("'2.27 × 10¹¹'", 2.27e11),
        ("'10⁻⁵'", 1e-5),
        ("'-1.2 × 10⁻⁶'", -1.2e-6),
    ],
)
def test_glued_values_are_read_as_numbers(text, value):
    assert claims.number(text) == pytest.approx(value)


def _broken(rows, change):
    rows = copy.deepcopy(rows[:3])
    change(rows)
    return claims.problems(rows)


BREAKS = {
    "anchor": (lambda r: r[0].update(section="no-such-section"), "no heading with anchor"),
    "page": (lambda r: r[0].update(page="regression/no-such-page"), "no page"),
    "key": (lambda r: r[0].update(computed="value {{no_such_key:.3f}}"), "glues no 'no_such_key'"),
    "verdict": (lambda r: r[0].update(verdict="mostly right"), "not on the scale"),
    "chapter": (lambda r: r[0].update(chapter="astrology"), "not in _toc.yml"),
    "reason": (
        lambda r: (r[0].update(verdict="not checkable"), r[0].pop("reason", None)),
        "needs the reason",
    ),
    "missing": (lambda r: r[0].pop("section"), "missing section"),
    "field": (lambda r: r[0].update(verdikt="correct"), "unknown fields"),
    "two verdicts": (
        lambda r: (r[0].update(id="same", verdict="correct"), r[1].update(id="same", verdict="wrong")),
        "several verdicts",
    ),
}


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_a_broken_row_is_reported(rows, name):
    change, message = BREAKS[name]
    assert not claims.problems(copy.deepcopy(rows[:3])), "the unbroken rows must pass"
    found = _broken(rows, change)
    assert any(message in problem for problem in found), (name, found)


def test_a_stated_value_must_agree_with_its_verdict():
    # the Gaussian NLL at a perfect prediction, glued by the first notebook as nll_min
    value = claims.number(claims.glued("introduction/loss-functions")["nll_min"])
    row = {
        "chapter": "introduction",
        "page": "introduction/loss-functions",
        "section": next(iter(claims.headings("introduction/loss-functions"))),
        "claim": "the NLL at a perfect prediction",
        "computed": "{{nll_min:.4f}}",
        "stated": {"key": "nll_min", "value": round(value, 3)},
    }
    assert not claims.problems([{**row, "verdict": "correct"}])
    assert any("the claim states" in p for p in claims.problems([{**row, "verdict": "wrong"}]))
    wrong_value = {**row, "verdict": "correct", "stated": {"key": "nll_min", "value": round(value, 3) + 1}}
    assert any("the claim states" in p for p in claims.problems([wrong_value]))
