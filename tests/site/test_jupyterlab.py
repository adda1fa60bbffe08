"""A learner's JupyterLab shows the computed values in the prose, not their keys.

A notebook's prose quotes every computed value with an ``{eval}`` role (``{eval}`glued.key```).
In JupyterLab, jupyterlab-myst evaluates it in the running kernel when the cell is run, and
shows the result stored in the cell when the notebook is opened. This opens a chapter notebook
in a real JupyterLab in headless Chromium, twice:

* as the book ships it: before anything runs, every quoting paragraph already shows the
  values the notebook's last run stored (the values the website shows);
* with its outputs and stored values removed, as a student notebook starts: the paragraphs
  show the expressions, and after Run ▸ Run All Cells they show the values the kernel
  computed, character for character the stored ones.

Screenshots of both go to ``_build/screenshots`` (``lab-*.png``). It needs Chromium, not the
website; it runs with the other site tests (``make test``'s last step, given ``--site``), not a
second time in the unit-test run before it.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from browser import Browser, find_chromium  # noqa: E402
from lab import Lab, lab_server  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "_ext"))

from stored_eval import plain_text  # noqa: E402

# A short chapter notebook (it runs in seconds) whose prose quotes formatted and plain values.
NOTEBOOK = REPO / "book" / "regression" / "mae.ipynb"
SHOTS = REPO / "_build" / "screenshots"


def stored_values(notebook: dict) -> dict[int, list[str]]:
    """For each markdown cell that quotes values, the texts of the values it quotes."""
    found = {}
    for index, cell in enumerate(notebook["cells"]):
        entries = cell.get("metadata", {}).get("user_expressions", [])
        if cell["cell_type"] == "markdown" and entries:
            found[index] = [plain_text(e["result"]["data"]["text/plain"]) for e in entries]
    return found


def shown(state: dict) -> dict[int, str]:
    return {m["index"]: m["text"] for m in state["markdown"]}


def missing_values(state: dict, expected: dict[int, list[str]]) -> list[str]:
    text = shown(state)
    problems = []
    for index, values in expected.items():
        prose = text.get(index, "")
        for value in values:
            if value not in prose:
                problems.append(f"markdown cell {index} does not show {value!r}: {prose[:300]!r}")
        if "glued." in prose or "{eval}" in prose:
            problems.append(f"markdown cell {index} shows an expression: {prose[:300]!r}")
    return problems


@pytest.fixture(scope="module")
def lab(request, tmp_path_factory):
    if request.config.getoption("--site", default=None) is None:
        pytest.skip("runs with the site tests: pytest tests/site --site _build/html (make test does)")
    if find_chromium() is None:
        pytest.skip("Chromium not found: run scripts/install-browser.sh or set CHROMIUM")
    root = tmp_path_factory.mktemp("lab")
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    (root / "stored.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    fresh = json.loads(json.dumps(notebook))
    for cell in fresh["cells"]:
        cell.get("metadata", {}).pop("user_expressions", None)
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    (root / "fresh.ipynb").write_text(json.dumps(fresh), encoding="utf-8")
    with lab_server(root) as server, Browser() as browser:
        yield Lab(browser, server), stored_values(notebook)
    shutil.rmtree(root, ignore_errors=True)


def test_the_notebook_quotes_values():
    # the check below would pass vacuously on a notebook that quotes nothing
    expected = stored_values(json.loads(NOTEBOOK.read_text(encoding="utf-8")))
    assert sum(map(len, expected.values())) >= 10
    assert any(re.search(r"\d\.\d{3}", v) for values in expected.values() for v in values)


def test_opened_notebook_shows_the_stored_values(lab):
    lab, expected = lab
    state = lab.open("stored.ipynb")
    lab.scroll_to_cell(min(expected) - 1)
    lab.screenshot(SHOTS / "lab-opened.png")
    assert not missing_values(state, expected), "\n".join(missing_values(state, expected))


def test_run_all_shows_the_kernels_values(lab):
    lab, expected = lab
    state = lab.open("fresh.ipynb")
    text = shown(state)
    # nothing stored: before the kernel runs, the prose shows the expressions themselves
    assert all("glued." in text[i] for i in expected), "a fresh notebook shows values it has not computed"
    state = lab.run_all(until=lambda s: not missing_values(s, expected))
    lab.scroll_to_cell(min(expected) - 1)
    lab.screenshot(SHOTS / "lab-run-all.png")
    assert state["codeCells"] > 0 and state["pending"] == 0
    problems = missing_values(state, expected)
    assert not problems, "\n".join(problems)
