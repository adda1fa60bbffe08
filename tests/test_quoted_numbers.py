"""Every number the prose quotes is pasted as the cell formatted it, with no second rounding.

A notebook's prose quotes a glued value with an ``{eval}`` role, in one of two forms only:
``{eval}`glued.key``` or ``{eval}`f"{glued.key:spec}"``` (``lossbook.notebook.glued``), so
that every quoted number is one the notebook glued, which nbval compares on every run. The
book's Markdown pages (the verified-claims appendix) quote notebooks with glue roles
(``{glue:text}`../chapter/page.ipynb::key:s```).

A value glued with :func:`lossbook.notebook.quote` is already formatted (its output carries
the ``lossbook-formatted`` mark): a format spec in the role that pastes it (``:.3f``) would
round it a second time, or fail on ``10⁻⁵``; it is pasted as it is (``:s``, which a
cross-page role needs, or no spec). This reads every glued output of every stored notebook
and every role in the book's Markdown, and fails on a spec applied to a formatted value, on a
role naming a key that no notebook glues (or that the notebook glues only in a later cell,
which JupyterLab's in-order run could not show), on an ``{eval}`` of any other form, and on an
``{eval}`` whose result the notebook's last run did not store.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lossbook.notebook import FORMATTED, eval_expressions

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
NOTEBOOKS = sorted(p for p in BOOK.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
ROLE = re.compile(r"\{glue(?::\w+)?\}`(?:(?P<path>[^`:]+\.ipynb)::)?(?P<key>[\w-]+)(?::(?P<spec>[^`]*))?`")
# The two forms an {eval} role may take: a glued value, or a glued value formatted.
GLUED = re.compile(r"glued\.(?P<key>[A-Za-z_]\w*)")
GLUED_FORMATTED = re.compile(r'f"\{glued\.(?P<key>[A-Za-z_]\w*):(?P<spec>[^{}"]+)\}"')


def glued(path: Path) -> dict[str, bool]:
    """The keys a stored notebook glues, each with whether its value is already formatted."""
    keys = {}
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            if name is not None:
                marks = [m for m in out.get("metadata", {}).values() if isinstance(m, dict)]
                keys[name] = any(m.get(FORMATTED) for m in marks)
    return keys


def roles(text: str, here: Path):
    """(notebook, key, spec) for every glue role in ``text`` of the document ``here``."""
    for m in ROLE.finditer(text):
        target = (here.parent / m["path"]).resolve() if m["path"] else here.with_suffix(".ipynb")
        yield target, m["key"], m["spec"]


def documents():
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        yield path, "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    for path in sorted(BOOK.rglob("*.md")):
        yield path, path.read_text(encoding="utf-8")


def eval_problems(cells: list[dict], name: str) -> list[str]:
    """What is wrong with the ``{eval}`` roles of a notebook's ``cells`` (its JSON cells)."""
    found, glued_so_far, formatted = [], set(), set()
    for index, cell in enumerate(cells):
        source = "".join(cell["source"])
        if cell["cell_type"] == "code":
            for out in cell.get("outputs", []):
                key = out.get("metadata", {}).get("scrapbook", {}).get("name")
                if key is not None:
                    glued_so_far.add(key)
                    marks = [m for m in out.get("metadata", {}).values() if isinstance(m, dict)]
                    if any(m.get(FORMATTED) for m in marks):
                        formatted.add(key)
            continue
        if cell["cell_type"] != "markdown":
            continue
        if ROLE.search(source):
            found.append(f"{name}, cell {index}: a glue role in a notebook; quote with {{eval}}`glued.key`")
        expressions = eval_expressions(source)
        stored = cell.get("metadata", {}).get("user_expressions", [])
        if [s.get("expression") for s in stored] != expressions:
            found.append(
                f"{name}, cell {index}: the stored results are not those of its {{eval}} roles "
                "(re-execute with scripts/run-notebooks.py)"
            )
        for s in stored:
            if s.get("result", {}).get("status") != "ok" or "text/plain" not in s["result"].get("data", {}):
                found.append(f"{name}, cell {index}: {{eval}}`{s.get('expression')}` stored no text result")
        for expression in expressions:
            plain, spec = GLUED.fullmatch(expression), GLUED_FORMATTED.fullmatch(expression)
            match = plain or spec
            if match is None:
                found.append(
                    f"{name}, cell {index}: {{eval}}`{expression}` is neither glued.key "
                    'nor f"{glued.key:spec}"'
                )
                continue
            key = match["key"]
            if key not in glued_so_far:
                found.append(f"{name}, cell {index}: {key} is not glued by a cell above this one")
            elif spec and key in formatted:
                found.append(f"{name}, cell {index}: {key} is already formatted; quote it as glued.{key}")
    return found


def test_notebook_prose_quotes_glued_values_in_order():
    found = []
    for path in NOTEBOOKS:
        found += eval_problems(json.loads(path.read_text(encoding="utf-8"))["cells"], path.name)
    assert not found, "\n".join(found)


def _cells(*cells):
    out = []
    for kind, source, extra in cells:
        cell = {"cell_type": kind, "source": source, "metadata": {}}
        if kind == "code":
            cell["outputs"] = [
                {"metadata": {"scrapbook": {"name": k}, **({"text/plain": {FORMATTED: True}} if f else {})}}
                for k, f in extra
            ]
        else:
            cell["metadata"]["user_expressions"] = [
                {"expression": e, "result": {"status": "ok", "data": {"text/plain": "1"}}} for e in extra
            ]
        out.append(cell)
    return out


GOOD = ("code", "glue('loss', 1.0); quote('gap', 1e-6, 2)", [("loss", False), ("gap", True)])


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ([("markdown", "early {eval}`glued.loss`", ["glued.loss"]), GOOD], "not glued by a cell above"),
        ([GOOD, ("markdown", 'a {eval}`f"{glued.gap:.3f}"`', ['f"{glued.gap:.3f}"'])], "already formatted"),
        ([GOOD, ("markdown", "a {eval}`glued.loss * 2`", ["glued.loss * 2"])], "neither"),
        ([GOOD, ("markdown", "a {eval}`glued.loss`", [])], "stored results are not"),
        ([GOOD, ("markdown", "a {glue:text}`loss`", [])], "glue role in a notebook"),
    ],
)
def test_the_eval_check_fails(cells, message):
    found = eval_problems(_cells(*cells), "nb")
    assert len(found) == 1 and message in found[0], found
    good = _cells(
        GOOD,
        (
            "markdown",
            'the {eval}`glued.gap`, {eval}`f"{glued.loss:.2f}"`',
            ["glued.gap", 'f"{glued.loss:.2f}"'],
        ),
    )
    assert eval_problems(good, "nb") == []


def problems(docs, glued_by) -> list[str]:
    found = []
    for here, text in docs:
        for target, key, spec in roles(text, here):
            keys = glued_by(target)
            if key not in keys:
                found.append(f"{here.name}: {key} is not glued by {target.name}")
            elif keys[key] and spec not in (None, "s"):
                found.append(f"{here.name}: {key} is already formatted; paste it with :s, not :{spec}")
    return found


def test_quoted_numbers_are_pasted_as_formatted():
    cache: dict[Path, dict[str, bool]] = {}

    def glued_by(target: Path) -> dict[str, bool]:
        if target not in cache:
            cache[target] = glued(target) if target.is_file() else {}
        return cache[target]

    found = problems(documents(), glued_by)
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("the gap {glue:text}`gap:.1e`", "already formatted"),
        ("the gap {glue:text}`gap:.3f`", "already formatted"),
        ("see {glue:text}`other.ipynb::gap:.2f`", "already formatted"),
        ("a {glue:text}`missing` value", "is not glued"),
    ],
)
def test_the_check_fails_on_a_respecified_or_missing_key(tmp_path, text, message):
    here = tmp_path / "page.md"
    keys = {"gap": True, "loss": False}
    found = problems(
        [(here, text + " and {glue:text}`loss:.3f`, {glue:text}`gap`, {glue:text}`x.ipynb::gap:s`")],
        lambda _: keys,
    )
    assert len(found) == 1 and message in found[0]
