"""The student edition (``make student``) has every exercise and none of the solutions.

Solution text is taken from the instructor build (the ``solution`` blocks sphinx-exercise
writes); every run of eight words of it that appears nowhere else in the instructor build must
appear nowhere in the student build: not in a page, the search index, or a source file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser import site_pages
from sitepages import soup

WINDOW = 8  # words: long enough to be specific to one passage
TEXT_SUFFIXES = {".html", ".js", ".txt", ".md", ".ipynb", ".json", ".inv", ".tex", ".py"}


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def windows(text: str) -> set[str]:
    words = normalise(text).split(" ")
    if len(words) <= WINDOW:
        return {" ".join(words)} if len(" ".join(words)) >= 20 else set()
    return {" ".join(words[i : i + WINDOW]) for i in range(len(words) - WINDOW + 1)}


def solution_blocks(site: Path) -> dict[str, list]:
    return {page: blocks for page in site_pages(site) if (blocks := soup(site / page).select("div.solution"))}


def solution_body_text(block) -> str:
    body = block.select_one("section") or block
    return normalise(body.get_text(" "))


def exercise_ids(site: Path) -> set[str]:
    return {f"{page}#{tag.get('id')}"
            for page in site_pages(site) for tag in soup(site / page).select("div.exercise")}


def site_text(site: Path) -> str:
    """All text a reader of ``site`` can get at: page text, scripts, indexes, sources."""
    parts = []
    for file in sorted(site.rglob("*")):
        if not file.is_file() or file.suffix not in TEXT_SUFFIXES or "_static/mathjax" in file.as_posix():
            continue
        if file.suffix == ".html":
            parts.append(soup(file).get_text(" "))
        parts.append(file.read_text(encoding="utf-8", errors="replace"))
    return normalise(" ".join(parts))


@pytest.fixture(scope="module")
def instructor_solutions(site) -> dict[str, set[str]]:
    """Eight-word runs of each solution that occur only inside solutions, by page."""
    blocks = solution_blocks(site)
    assert blocks, "the instructor build has no exercise solutions, so the student edition cannot be checked"
    found = {}
    for page, page_blocks in blocks.items():
        page_soup = soup(site / page)
        copy = type(page_soup)(str(page_soup), "html.parser")
        for block in copy.select("div.solution"):
            block.decompose()
        # the page's text, and its code as written (highlighting splits a token such as
        # ``-1e-9`` across spans, which get_text(" ") would part, while a student notebook's
        # source keeps it whole)
        code = " ".join(pre.get_text() for pre in copy.select("pre"))
        elsewhere = normalise(copy.get_text(" ") + " " + code)
        runs = set()
        for block in page_blocks:
            runs |= {w for w in windows(solution_body_text(block)) if w not in elsewhere}
        found[page] = runs
    assert any(found.values()), "no solution has text of its own to look for"
    return found


def test_instructor_build_shows_the_solutions(site, instructor_solutions):
    for page, runs in instructor_solutions.items():
        text = normalise(soup(site / page).get_text(" "))
        assert all(run in text for run in runs), page


def occurring(runs: set[str], text: str) -> set[str]:
    """The runs that occur in ``text`` (normalised): exactly ``{run for run in runs if run in text}``.

    Searching the whole site's text once per run is slow, so a run of eight words is searched
    for only when its six middle words are six consecutive words of ``text``: they must be,
    for the run to occur (only its first and last word can be cut short by the match).
    """
    tokens = text.split(" ")
    middles = {" ".join(tokens[i : i + WINDOW - 2]) for i in range(len(tokens) - WINDOW + 3)}
    found = set()
    for run in runs:
        words = run.split(" ")
        if len(words) == WINDOW and " ".join(words[1:-1]) not in middles:
            continue
        if run in text:
            found.add(run)
    return found


def test_student_build_has_no_solution_text(student_site, instructor_solutions):
    text = site_text(student_site)
    leaked = sorted({(page, run) for page, runs in instructor_solutions.items()
                     for run in occurring(runs, text)})
    assert not leaked, f"{len(leaked)} passages of solutions in the student edition, e.g. {leaked[:3]}"


def test_student_build_has_no_solution_blocks_and_every_exercise(site, student_site):
    assert not solution_blocks(student_site)
    instructor = exercise_ids(site)
    assert instructor, "the instructor build has no exercises"
    assert exercise_ids(student_site) == instructor


def test_student_build_publishes_no_sources(student_site):
    """The page sources (`.md`, `.ipynb`) hold the solutions, so they are not in the site.

    The only notebooks it ships are the student notebooks, under ``notebooks/``."""
    assert not (student_site / "_sources").exists()
    sources = [
        f
        for f in student_site.rglob("*")
        if f.suffix in (".ipynb", ".md") and f.relative_to(student_site).parts[0] != "notebooks"
    ]
    assert not sources, sources[:5]


def test_student_download_buttons_fetch_the_student_notebooks(site, student_site):
    """Every notebook page's download button points to its student notebook: exercises, no solutions."""
    instructor = sorted(p.relative_to(site / "_sources") for p in (site / "_sources").rglob("*.ipynb"))
    assert instructor, "the instructor build publishes no notebooks"
    for rel in instructor:
        notebook = student_site / "notebooks" / rel
        assert notebook.is_file(), f"no student notebook {notebook}"
        text = notebook.read_text(encoding="utf-8")
        assert "{solution}" not in text, rel
        # every chapter notebook has exercises; an appendix notebook (performance) has none to keep
        assert "{exercise}" in text or rel.parts[1] == "appendix", rel
        page = student_site / rel.with_suffix(".html")
        links = [a["href"] for a in soup(page).select("a.btn-download-student-notebook-button")]
        assert len(links) == 1, f"{page}: {links}"
        assert (page.parent / links[0]).resolve() == notebook.resolve()


def test_student_build_says_which_edition(student_site):
    pages = [p for p in site_pages(student_site) if soup(student_site / p).title is not None]
    untitled = [p for p in pages if "student edition" not in soup(student_site / p).title.get_text()]
    assert pages and not untitled, untitled


@pytest.mark.parametrize("text", [
    "Some page. Differentiate the squared residual twice and note that the second derivative is constant.",
    "xDifferentiate the squared residual twice and note that the second derivativeness",
    "Differentiate the squared residual twice and note that the second",
    "the squared residual twice and note that the second derivative",
    "An unrelated page about cross-entropy and softmax",
    "",
])
def test_occurring_is_the_plain_search(text):
    runs = windows("Differentiate the squared residual twice and note that the second derivative is constant")
    runs |= {"a short solution text", "residual twice and"}
    text = normalise(text)
    assert occurring(runs, text) == {run for run in runs if run in text}


def test_windows_find_a_leak():
    """The detector itself: a solution's sentence inside other text is found, other text is not."""
    solution = "Differentiate the squared residual twice and note that the second derivative is constant"
    runs = windows(solution)
    assert any(run in normalise("Some page. " + solution + " More.") for run in runs)
    assert not any(run in "An unrelated page about cross-entropy and softmax" for run in runs)
