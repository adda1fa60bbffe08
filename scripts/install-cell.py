"""The first code cell of every notebook: install the book's lossbook where it is missing.

    .venv/bin/python scripts/install-cell.py            # write (or update) the cell in every notebook
    .venv/bin/python scripts/install-cell.py --check    # exit 1 if a notebook lacks the current cell

A notebook opened from the website's Colab button runs where ``lossbook`` is not installed;
the cell installs the version this edition of the book ran with (``lossbook.__version__``,
from the package index, with the ``notebook`` extra) and does nothing where ``lossbook`` is
already importable (``make lab``, Binder, the test suite). The cell is the same in every
notebook: this script is the one place it is written. It is removed from the website
(``remove-cell``), where nothing needs installing.

Writing is idempotent: a notebook whose first code cell is already the current cell is left
untouched; an older install cell is replaced in place; otherwise the cell is inserted before
the first code cell. A notebook that changed must then be re-executed with
``scripts/run-notebooks.py`` (its execution counts shift by one), which the script lists.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
MARKER = "# Colab and other fresh environments: install the lossbook this book ran with"
TAGS = ["remove-cell"]


def version() -> str:
    """``lossbook.__version__``, read from the source (the package need not be importable)."""
    text = (ROOT / "lossbook" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"$', text, flags=re.M)
    if not match:
        raise SystemExit("lossbook/__init__.py: no __version__")
    return match.group(1)


def requirement(v: str | None = None) -> str:
    return f"lossbook[notebook]=={v or version()}"


def cell_source(v: str | None = None) -> str:
    return (
        f"{MARKER} ({v or version()}).\n"
        "import importlib.util\n"
        "import subprocess\n"
        "import sys\n"
        "\n"
        'if importlib.util.find_spec("lossbook") is None:\n'
        '    pip = [sys.executable, "-m", "pip", "install", "--quiet"]\n'
        f'    subprocess.run([*pip, "{requirement(v)}"], check=True)'
    )


def notebooks() -> list[Path]:
    return sorted(p for p in BOOK.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def _code_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def is_install_cell(cell) -> bool:
    return cell.cell_type == "code" and cell.source.startswith(MARKER)


def problems(nb) -> list[str]:
    """What is wrong with ``nb``'s install cell ([] when its first code cell is the current one)."""
    code = _code_cells(nb)
    found = []
    if not code or not is_install_cell(code[0]):
        found.append("the first code cell is not the install cell")
    elif code[0].source != cell_source():
        found.append("the install cell is out of date")
    elif code[0].metadata.get("tags") != TAGS:
        found.append(f"the install cell's tags are not {TAGS}")
    if sum(is_install_cell(c) for c in code) > 1:
        found.append("more than one install cell")
    return found


def update(nb, stem: str) -> bool:
    """Make ``nb``'s first code cell the current install cell; return whether ``nb`` changed."""
    if not problems(nb):
        return False
    nb.cells = [c for c in nb.cells if not is_install_cell(c)]
    cell = nbformat.v4.new_code_cell(cell_source(), metadata={"tags": list(TAGS)})
    cell.id = f"{stem}-install"[:64]
    first_code = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), len(nb.cells))
    nb.cells.insert(first_code, cell)
    return True


def main(argv: list[str]) -> int:
    check = "--check" in argv
    bad, changed = [], []
    for path in notebooks():
        nb = nbformat.read(path, as_version=4)
        name = path.relative_to(ROOT).as_posix()
        if check:
            bad += [f"{name}: {p}" for p in problems(nb)]
        elif update(nb, path.stem):
            nbformat.write(nb, path)
            changed.append(name)
    if check:
        print("\n".join(bad) if bad else f"every notebook starts with the install cell ({requirement()})")
        return 1 if bad else 0
    if changed:
        print("Updated; re-execute them with scripts/run-notebooks.py:\n  " + "\n  ".join(changed))
    else:
        print(f"every notebook already starts with the install cell ({requirement()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
