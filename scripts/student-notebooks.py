"""The student notebooks: every notebook of the book with its exercises' solutions removed.

    .venv/bin/python scripts/student-notebooks.py OUT    # writes OUT/book/<chapter>/<topic>.ipynb

Generated from the same sources as the book, for instructors to hand out: every exercise is
kept, every solution is removed (not hidden) — each ``{solution}`` block of a Markdown cell, and
a Markdown cell left empty by that. A number that the notebook computes only for a solution
(a glue key that only solutions quote) is not glued either: its ``glue(...)`` call is removed,
so nothing of the solution survives in the code. The computation that produced the number stays,
so every later cell still finds the variables it needs and the notebook runs top to bottom. A code
cell that is a solution's computation itself (tagged ``solution``, the code its solution shows
and asserts) is removed whole.
The notebooks are written without outputs and without the stored results of the prose's
``{eval}`` roles (a learner runs them: the instructor's run could carry a solution's numbers),
with the book's kernelspec.

The student website (``make student``) publishes them and points each page's download button at
its student notebook (``_ext/offline_site.py``).
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lossbook.notebook import eval_expressions  # noqa: E402

BOOK = ROOT / "book"
OPENING = re.compile(r"^(`{3,}|:{3,})\{solution\}")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
SOLUTION_TAG = "solution"  # a code cell that computes a solution, removed whole
GLUE_ROLE = re.compile(r"\{glue(?::[a-z]+)?\}`([^`:]+)")
GLUED_KEY = re.compile(r"\bglued\.(\w+)")


def quoted_keys(markdown: str) -> set[str]:
    """The glue keys that ``markdown`` quotes: ``{eval}`glued.key``` (and glue roles of .md pages)."""
    keys = set(GLUE_ROLE.findall(markdown))
    for expression in eval_expressions(markdown):
        keys |= set(GLUED_KEY.findall(expression))
    return keys


def notebooks() -> list[Path]:
    return sorted(p for p in BOOK.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def split_solutions(text: str) -> tuple[str, list[str]]:
    """``text`` without its ``{solution}`` blocks, and the blocks (fences of ``` or :::, any length)."""
    lines = text.split("\n")
    kept: list[str] = []
    solutions: list[str] = []
    i = 0
    while i < len(lines):
        opening = OPENING.match(lines[i])
        if not opening:
            kept.append(lines[i])
            i += 1
            continue
        fence = opening.group(1)
        closing = re.compile(re.escape(fence[0]) + f"{{{len(fence)},}}[ \t]*")
        block = [lines[i]]
        i += 1
        while i < len(lines) and not closing.fullmatch(lines[i]):
            block.append(lines[i])
            i += 1
        if i == len(lines):
            raise ValueError(f"an unclosed solution block: {block[0]!r}")
        block.append(lines[i])
        i += 1
        solutions.append("\n".join(block))
        # one blank line between what came before and what follows, not two
        if kept and not kept[-1].strip() and i < len(lines) and not lines[i].strip():
            i += 1
    return "\n".join(kept).strip("\n"), solutions


def solution_only_keys(nb) -> set[str]:
    """Glue keys that the notebook's solutions quote and nothing else in it does."""
    in_solutions: set[str] = set()
    elsewhere: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        kept, solutions = split_solutions(cell.source)
        elsewhere |= quoted_keys(kept)
        for block in solutions:
            in_solutions |= quoted_keys(block)
    # A key quoted by another page (the verified-claims appendix) is not the solution's alone.
    pages = "".join(p.read_text(encoding="utf-8") for p in BOOK.rglob("*.md"))
    return {k for k in in_solutions - elsewhere if k not in pages}


def _is_glue_of(node: ast.stmt, keys: set[str]) -> bool:
    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
        return False
    call = node.value
    name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", None)
    first = call.args[0] if call.args else None
    return name == "glue" and isinstance(first, ast.Constant) and first.value in keys


def _is_print(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and getattr(node.value.func, "id", None) == "print"
    )


def _loads(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _assigned(node: ast.stmt) -> set[str] | None:
    """The names a plain assignment binds (``None`` for any other statement)."""
    targets = node.targets if isinstance(node, ast.Assign) else []
    names = set()
    for target in targets:
        for n in ast.walk(target):
            if isinstance(n, ast.Name):
                names.add(n.id)
            elif not isinstance(n, (ast.Tuple, ast.List, ast.Store)):
                return None
    return names or None


def strip_solution_code(sources: list[str], keys: set[str]) -> list[str]:
    """The code cells ``sources`` without what only serves the solutions.

    Removed: each ``glue("<key>", value)`` of a solution-only key; then the variables those calls
    glued, where nothing else needs them (their assignments, and the ``print`` calls that show
    them). A variable that a later computation uses stays, so every remaining cell still runs.
    """
    if not keys:
        return list(sources)
    trees = [ast.parse(src) for src in sources]
    drop: dict[int, list[ast.stmt]] = {i: [] for i in range(len(sources))}
    glued: set[str] = set()
    for i, tree in enumerate(trees):
        for node in tree.body:
            if _is_glue_of(node, keys):
                drop[i].append(node)
                glued |= _loads(node.value.args[1]) if len(node.value.args) > 1 else set()
    dropped = {id(n) for nodes in drop.values() for n in nodes}
    kept = [(i, n) for i, tree in enumerate(trees) for n in tree.body if id(n) not in dropped]
    needed = set().union(*(_loads(n) for _, n in kept if not _is_print(n) and _assigned(n) is None), set())
    needed |= set().union(*(_loads(n.value) for _, n in kept if _assigned(n) is not None), set())
    only_for_solutions = glued - needed
    for i, node in kept:
        names = _assigned(node)
        if (names is not None and names <= only_for_solutions) or (
            _is_print(node) and _loads(node) & only_for_solutions
        ):
            drop[i].append(node)
    out = []
    for i, src in enumerate(sources):
        lines = src.split("\n")
        for node in sorted(drop[i], key=lambda n: n.lineno, reverse=True):
            del lines[node.lineno - 1 : node.end_lineno]
        out.append("\n".join(lines).strip("\n"))
    return out


def _is_solution_cell(cell) -> bool:
    return cell.cell_type == "code" and SOLUTION_TAG in cell.metadata.get("tags", [])


def student_notebook(nb):
    """A copy of ``nb`` without solutions, the code that only serves them, and outputs."""
    keys = solution_only_keys(nb)
    out = nbformat.from_dict(nb)
    out.cells = [c for c in out.cells if not _is_solution_cell(c)]
    code = [c for c in out.cells if c.cell_type == "code"]
    for cell, source in zip(code, strip_solution_code([c.source for c in code], keys), strict=True):
        cell.source = source
        cell.outputs = []
        cell.execution_count = None
        cell.metadata.pop("execution", None)
    cells = []
    for cell in out.cells:
        if cell.cell_type == "markdown":
            cell.source, _ = split_solutions(cell.source)
            # the values the instructor's run stored for the prose's {eval} roles go too: the
            # learner's run computes them (and they could carry a solution's numbers)
            cell.metadata.pop("user_expressions", None)
        if cell.source.strip():
            cells.append(cell)
    out.cells = cells
    out.metadata["kernelspec"] = dict(KERNELSPEC)
    return out


def write_all(out_dir: Path) -> list[Path]:
    written = []
    for path in notebooks():
        target = out_dir / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(student_notebook(nbformat.read(path, as_version=4)), target)
        written.append(target)
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    written = write_all(Path(argv[0]))
    print(f"{len(written)} student notebooks in {argv[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
