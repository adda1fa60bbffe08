"""Every number the prose quotes is pasted as the cell formatted it, with no second rounding.

A value glued with :func:`lossbook.notebook.quote` is already formatted (its output carries
the ``lossbook-formatted`` mark): a format spec in the role that pastes it (``{glue:text}`key:.3f```)
would round it a second time, or fail on ``10⁻⁵``; it is pasted as it is (``:s``, which a
cross-page role needs, or no spec). This reads every glued output of every
stored notebook and every glue role in the book's Markdown (notebooks and pages, including
cross-page roles) and fails on a spec applied to a formatted value, or on a role naming a
key that no notebook glues.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lossbook.notebook import FORMATTED

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
NOTEBOOKS = sorted(p for p in BOOK.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
ROLE = re.compile(r"\{glue(?::\w+)?\}`(?:(?P<path>[^`:]+\.ipynb)::)?(?P<key>[\w-]+)(?::(?P<spec>[^`]*))?`")


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
