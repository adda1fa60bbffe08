"""The values the prose's ``{eval}`` roles quote are stored by a run and checked by the next one.

``scripts/run-notebooks.py`` evaluates each markdown cell's roles in the kernel when the run
reaches the cell and stores the results in the cell (``user_expressions``, jupyterlab-myst's
format); the notebook tests (``conftest.py``) evaluate them again, in their place between the
code cells, and compare. Here, on a two-cell notebook: the run stores what the kernel computed,
the check passes on that notebook, and fails on a stored value that differs, on a role whose
result was never stored, and on a role that quotes a value glued further down. The website's
role (``_ext/stored_eval.py``) shows what JupyterLab shows.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))

from stored_eval import plain_text  # noqa: E402

_spec = importlib.util.spec_from_file_location("run_notebooks", ROOT / "scripts" / "run-notebooks.py")
run_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_notebooks)

CODE = (
    "from lossbook.notebook import glue, glued, quote\n"
    "glue('ratio', 2 / 3)\n"
    "gap = quote('gap', 1.5e-6, 2)\n"
    "print(gap)"
)
PROSE = 'The ratio is {eval}`f"{glued.ratio:.3f}"` and the gap {eval}`glued.gap`.'


def notebook(tmp_path: Path, *cells) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = dict(run_notebooks.KERNELSPEC)
    nb.cells = [
        nbformat.v4.new_code_cell(c) if kind == "code" else nbformat.v4.new_markdown_cell(c)
        for kind, c in cells
    ]
    path = tmp_path / "quoted.ipynb"
    nbformat.write(nb, path)
    return path


def nbval(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        # the notebooks lie outside the tree, so the book's conftest.py is loaded as a plugin
        [
            sys.executable,
            "-m",
            "pytest",
            *map(str, paths),
            "-p",
            "conftest",
            "-p",
            "no:xdist",
            "-p",
            "no:cacheprovider",
            "-rA",
            f"--rootdir={ROOT}",
            "-c",
            str(ROOT / "pyproject.toml"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    path = notebook(tmp_path_factory.mktemp("eval"), ("code", CODE), ("markdown", PROSE))
    run_notebooks.run(path)
    return path


def test_the_run_stores_what_the_kernel_computed(stored):
    cell = nbformat.read(stored, as_version=4).cells[1]
    entries = cell.metadata["user_expressions"]
    assert [e["expression"] for e in entries] == ['f"{glued.ratio:.3f}"', "glued.gap"]
    assert [plain_text(e["result"]["data"]["text/plain"]) for e in entries] == ["0.667", "1.5 × 10⁻⁶"]


def test_the_check_passes_on_a_fresh_run_and_fails_on_stale_or_missing_values(stored, tmp_path):
    nb = nbformat.read(stored, as_version=4)
    nb.cells[1].metadata["user_expressions"][0]["result"]["data"]["text/plain"] = "'0.668'"
    nbformat.write(nb, stale := tmp_path / "stale.ipynb")
    del nb.cells[1].metadata["user_expressions"]
    nbformat.write(nb, unstored := tmp_path / "unstored.ipynb")
    result = nbval(stored, stale, unstored)
    out = result.stdout
    # six items: each notebook's code cell passes, and so does the markdown cell of the fresh
    # run; the stale and the missing values fail, each with its own message
    assert "2 failed, 4 passed" in out, out[-3000:]
    assert "stored {'text/plain': \"'0.668'\"}, now {'text/plain': \"'0.667'\"}" in out, out[-3000:]
    assert "re-execute it with scripts/run-notebooks.py" in out, out[-3000:]


def test_the_run_fails_on_a_value_glued_further_down(tmp_path):
    imports, rest = CODE.split("\n", 1)
    path = notebook(tmp_path, ("code", imports), ("markdown", PROSE), ("code", rest))
    with pytest.raises(run_notebooks.CellExecutionError, match="nothing is glued under 'ratio' yet"):
        run_notebooks.run(path)


@pytest.mark.parametrize(("stored_text", "shown"), [("'0.667'", "0.667"), ('"it\'s"', "it's"), ("42", "42")])
def test_the_website_shows_what_jupyterlab_shows(stored_text, shown):
    # jupyterlab-myst strips one pair of matching quotes from a text/plain result
    assert plain_text(stored_text) == shown
