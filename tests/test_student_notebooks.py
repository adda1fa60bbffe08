"""The student notebooks (``scripts/student-notebooks.py``): every exercise, no solution, and they run.

No solution text survives: every eight-word run of a solution that occurs nowhere else in its
notebook is looked for in the whole student notebook (Markdown, code, metadata). No solution
code survives: a number glued only for a solution is neither glued nor computed nor printed.
They run: a student notebook whose code differs from the book's is re-executed here, with its
prose's ``{eval}`` roles evaluated in order as JupyterLab does (the others have exactly the
book's code, which the notebook tests re-execute). They carry no stored results of those roles.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _script():
    path = ROOT / "scripts" / "student-notebooks.py"
    spec = importlib.util.spec_from_file_location("student_notebooks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


student = _script()
# The book's executor, which also evaluates the prose's {eval} roles as JupyterLab does.
_spec = importlib.util.spec_from_file_location("run_notebooks", ROOT / "scripts" / "run-notebooks.py")
run_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_notebooks)
NOTEBOOKS = student.notebooks()
# The chapters' notebooks carry exercises; an appendix notebook (the performance page) has none.
CHAPTER_NOTEBOOKS = [p for p in NOTEBOOKS if p.parent.name != "appendix"]
EXERCISE_LABEL = re.compile(r"^(?:`{3,}|:{3,})\{exercise\}[^\n]*\n(?::[a-z-]+:[^\n]*\n)*?:label: (\S+)", re.M)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def windows(text: str, size: int = 8) -> set[str]:
    words = _words(text)
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def _strings(obj) -> list[str]:
    """Every string in a notebook: sources, outputs, metadata (keys too)."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for k, v in obj.items() for s in (k, *_strings(v))]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []


def _markdown(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    student.write_all(out)
    return {
        p: (nbformat.read(p, as_version=4), nbformat.read(out / p.relative_to(ROOT), as_version=4))
        for p in NOTEBOOKS
    }


def test_split_solutions_removes_whole_blocks_and_keeps_the_rest():
    text = "\n".join(
        [
            "Before.",
            "",
            "````{solution} ex-a",
            ":class: dropdown",
            "Inner code:",
            "```python",
            "x = 1",
            "```",
            "````",
            "",
            ":::{solution} ex-b",
            "Secret.",
            ":::",
            "After.",
        ]
    )
    kept, blocks = student.split_solutions(text)
    assert kept == "Before.\n\nAfter."
    assert len(blocks) == 2 and "x = 1" in blocks[0] and "Secret." in blocks[1]
    with pytest.raises(ValueError, match="unclosed"):
        student.split_solutions("```{solution} ex-c\nnever closed")


def test_solution_code_is_removed_but_what_later_cells_need_stays():
    cells = [
        "a = 1\nsecret = a + 1\nglue('only_sol', secret)\nprint(f'{secret}')",
        "shared = 2\nglue('sol_shared', shared)",
        "total = shared * 3\nprint(total)",
    ]
    out = student.strip_solution_code(cells, {"only_sol", "sol_shared"})
    # `secret` served only the solution (glued and printed): gone; `shared` feeds `total`: kept
    assert out == ["a = 1", "shared = 2", "total = shared * 3\nprint(total)"]


def test_a_code_cell_tagged_solution_is_removed_whole():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_markdown_cell("Exercise."),
        nbformat.v4.new_code_cell("assert x + 1 == 2", metadata={"tags": ["remove-input", "solution"]}),
        nbformat.v4.new_code_cell("y = x", metadata={"tags": ["remove-input"]}),
    ]
    out = student.student_notebook(nb)
    assert [c.source for c in out.cells] == ["x = 1", "Exercise.", "y = x"]


def test_the_solution_cells_of_the_book_are_gone(pairs):
    tagged = [p for p in NOTEBOOKS if any(student._is_solution_cell(c) for c in pairs[p][0].cells)]
    assert tagged, "some solutions carry their computation in a tagged cell"
    for path in tagged:
        book, handout = pairs[path]
        solution_code = [c.source for c in book.cells if student._is_solution_cell(c)]
        assert not [c for c in handout.cells if c.source in solution_code], path.name


def test_an_appendix_notebook_has_no_solution_to_hide(pairs):
    appendix = [p for p in NOTEBOOKS if p not in CHAPTER_NOTEBOOKS]
    assert appendix, "the performance appendix is a notebook"
    for path in appendix:
        book, handout = pairs[path]
        assert "{solution}" not in _markdown(book) and "{solution}" not in _markdown(handout)


@pytest.mark.parametrize("path", CHAPTER_NOTEBOOKS, ids=lambda p: p.relative_to(ROOT / "book").as_posix())
def test_every_exercise_kept_and_no_solution_survives(path, pairs):
    book, handout = pairs[path]
    markdown = [c.source for c in book.cells if c.cell_type == "markdown"]
    solutions = [b for source in markdown for b in student.split_solutions(source)[1]]
    assert solutions, "a chapter notebook has exercises with solutions"
    assert "{solution}" not in _markdown(handout)
    assert EXERCISE_LABEL.findall(_markdown(handout)) == EXERCISE_LABEL.findall(_markdown(book))
    # every passage of a solution that occurs nowhere else in the notebook (prose or code) is gone
    rest = windows(" ".join(student.split_solutions(c.source)[0] for c in book.cells))
    own = set().union(*(windows(b) for b in solutions)) - rest
    assert own, "no solution has text of its own to look for"
    handout_text = " ".join(_words(" ".join(_strings(handout))))
    leaked = sorted(w for w in own if w in handout_text)
    assert not leaked, f"solution text in the student notebook: {leaked[:3]}"
    # nothing glued only for a solution, no outputs of the instructor's run
    for key in student.solution_only_keys(book):
        assert key not in nbformat.writes(handout), f"the solution-only glue key {key!r} survives"
    code = [c for c in handout.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    # nor the values the instructor's run stored for the prose's {eval} roles: the learner's computes them
    assert any("user_expressions" in c.metadata for c in book.cells)
    assert not any("user_expressions" in c.metadata for c in handout.cells)
    assert handout.metadata["kernelspec"]["name"] == "python3"


def test_the_detector_finds_a_solution_passage():
    solution = "Differentiate the squared residual twice and note that the second derivative is constant"
    assert any(w in " ".join(_words("Text. " + solution + " More.")) for w in windows(solution))
    assert not any(w in " ".join(_words("an unrelated passage of prose")) for w in windows(solution))
    # on a real notebook: every own passage of its solutions is found in the notebook itself
    book = nbformat.read(CHAPTER_NOTEBOOKS[0], as_version=4)
    blocks = [
        b for c in book.cells if c.cell_type == "markdown" for b in student.split_solutions(c.source)[1]
    ]
    own = set().union(*(windows(b) for b in blocks))
    text = " ".join(_words(" ".join(_strings(book))))
    assert own and all(w in text for w in own)


def _changed(pairs):
    changed = []
    for path, (book, handout) in pairs.items():
        ours = [c.source for c in book.cells if c.cell_type == "code"]
        theirs = [c.source for c in handout.cells if c.cell_type == "code"]
        if ours != theirs:
            changed.append(path)
    return changed


def test_student_notebooks_with_other_code_still_run(pairs, tmp_path):
    changed = _changed(pairs)
    assert len(changed) < len(pairs), "only notebooks with solution-only numbers lose code"
    for path in changed:
        nb = nbformat.from_dict(pairs[path][1])
        # every value the remaining prose quotes is still computed, above it (a failing
        # {eval} raises, as a failing cell does)
        run_notebooks.EvalClient(
            nb, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(path.parent)}}
        ).execute()
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
        assert not errors, f"{path.name}: {errors[:1]}"
