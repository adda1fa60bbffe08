"""House rules for the stored notebooks that nbval alone does not check.

nbval compares every stored output with a fresh one, in the test command twice (the second
pass on another floating-point path). That comparison only means something if few outputs
are exempt from it: only a cell whose output is genuinely machine-dependent (the device it
ran on, a timing) may carry the ``nbval-ignore-output`` tag, no cell may be skipped, and the
exempt cells stay under 5 % of the book's code cells.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
NOTEBOOKS = sorted(p for p in BOOK.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
# What an exempt cell may show: the device it ran on, or a measured time.
MACHINE_DEPENDENT = ("describe_device", "default_device", "perf_counter", "timeit", "time.time")


def _code_cells(path: Path) -> list[dict]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [c for c in cells if c["cell_type"] == "code" and "".join(c["source"]).strip()]


def _tags(cell: dict) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def test_the_book_has_notebooks():
    assert len(NOTEBOOKS) >= 16


def test_few_outputs_are_exempt_from_comparison():
    cells = [c for p in NOTEBOOKS for c in _code_cells(p)]
    exempt = [c for c in cells if "nbval-ignore-output" in _tags(c)]
    assert len(exempt) < 0.05 * len(cells), f"{len(exempt)} of {len(cells)} code cells ignored by nbval"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(BOOK).as_posix())
def test_only_device_or_timing_cells_are_exempt(path):
    for cell in _code_cells(path):
        source = "".join(cell["source"])
        assert not _tags(cell) & {"nbval-skip", "skip-execution", "raises-exception"}, source[:80]
        assert "NBVAL_" not in source, f"use cell tags, not comments: {source[:80]}"
        if "nbval-ignore-output" in _tags(cell):
            what = source[:120]
            assert any(k in source for k in MACHINE_DEPENDENT), f"not a device or timing cell: {what}"
            assert len(source.splitlines()) <= 6, f"more than the device or timing in an ignored cell: {what}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(BOOK).as_posix())
def test_stored_as_a_clean_top_to_bottom_run(path):
    """Outputs from one fresh run (scripts/run-notebooks.py), no timestamps, the book's kernelspec."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert nb["metadata"]["kernelspec"]["display_name"] == "Python 3 (ipykernel)"
    cells = _code_cells(path)
    assert [c["execution_count"] for c in cells] == list(range(1, len(cells) + 1))
    for cell in cells:
        assert "execution" not in cell.get("metadata", {}), "per-cell execution timestamps are stored"
        assert all(o["output_type"] != "error" for o in cell.get("outputs", [])), "".join(cell["source"])[:80]


# Cells stay short so prose and code alternate; a longer computation is split where the text
# has something to say about its next step.
MAX_CELL_LINES = 30


def _non_blank_lines(cell: dict) -> int:
    return sum(1 for line in "".join(cell["source"]).splitlines() if line.strip())


def _only_glues(cell: dict) -> bool:
    """Every statement is a glue(...) call, or a loop of them: nothing a reader needs to see."""

    def glues(stmt) -> bool:
        if isinstance(stmt, ast.For):
            return all(glues(s) for s in stmt.body) and not stmt.orelse
        return (
            isinstance(stmt, ast.Expr)
            and isinstance(stmt.value, ast.Call)
            and isinstance(stmt.value.func, ast.Name)
            and stmt.value.func.id == "glue"
        )

    body = ast.parse("".join(cell["source"])).body
    return bool(body) and all(glues(s) for s in body)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(BOOK).as_posix())
def test_code_cells_are_short(path):
    long = [(_non_blank_lines(c), "".join(c["source"])[:60]) for c in _code_cells(path)]
    long = [(n, start) for n, start in long if n > MAX_CELL_LINES]
    assert not long, f"code cells over {MAX_CELL_LINES} non-blank lines: {long}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(BOOK).as_posix())
def test_glue_only_cells_hide_their_input(path):
    shown = [
        "".join(c["source"])[:60]
        for c in _code_cells(path)
        if _only_glues(c) and "hide-input" not in _tags(c)
    ]
    assert not shown, f"cells that only glue values, not tagged hide-input: {shown}"


def test_the_cell_rules_flag_what_they_should():
    cell = lambda src: {"source": src}  # noqa: E731
    assert _only_glues(cell('glue("a", 1.0)\nfor k in "bc":\n    glue(k, 2.0)\n'))
    assert not _only_glues(cell('glue("a", 1.0)\nprint("a")\n'))
    assert not _only_glues(cell("x = 1\n"))
    assert _non_blank_lines(cell("a = 1\n\n\nb = 2\n")) == 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(BOOK).as_posix())
def test_float64_is_named_one_way(path):
    """``f64 = torch.float64`` and ``dtype=f64`` / ``.to(f64)``: no global default, no ``.double()``."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    text = "".join("".join(c["source"]) for c in cells)
    for other in ("set_default_dtype", ".double()"):
        assert other not in text, f"{other} in {path.name}: name float64 as f64 (CONTRIBUTING.md)"


def _is_figure_cell(cell: dict) -> tuple[bool, bool]:
    """(draws a figure, carries a caption, a name and alt text)."""
    draws = any("image/png" in o.get("data", {}) for o in cell.get("outputs", []))
    meta = cell.get("metadata", {}).get("mystnb", {})
    described = all(
        (
            meta.get("figure", {}).get("caption"),
            meta.get("figure", {}).get("name"),
            meta.get("image", {}).get("alt"),
        )
    )
    return draws, described


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(BOOK).as_posix())
def test_every_figure_has_its_caption_name_and_alt_text(path):
    """The caption and alt text sit on the cell that draws the figure, and only there."""
    wrong = []
    for cell in _code_cells(path):
        draws, described = _is_figure_cell(cell)
        if draws != described:
            wrong.append(
                ("a figure without its caption, name or alt" if draws else "a caption without a figure")
                + ": "
                + "".join(cell["source"])[:60]
            )
    assert not wrong, wrong


def test_the_figure_rule_flags_a_bare_figure():
    png = {"outputs": [{"output_type": "display_data", "data": {"image/png": "..."}}], "metadata": {}}
    assert _is_figure_cell(png) == (True, False)
    meta = {"figure": {"caption": "c", "name": "fig-x"}, "image": {"alt": "a"}}
    assert _is_figure_cell({"outputs": [], "metadata": {"mystnb": meta}}) == (False, True)
