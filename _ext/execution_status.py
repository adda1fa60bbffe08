"""The execution-status appendix: each notebook's time in the last test run, and the versions.

The test command records every notebook's execution time (the sum of its cells' durations
under nbval, once on the reference floating-point path and once on the perturbed one) in
``_build/execution-times.json`` (see ``conftest.py``); the build that follows renders it with
the ``execution-status`` directive, together with the versions of ``lossbook`` and of the
packages the book runs on. Nothing on that page is typed in: a build without a recorded test
run says so instead of showing stale numbers. Any page can quote lossbook's version as
``{{ lossbook_version }}``, a MyST substitution set from ``lossbook.__version__``.
"""

from __future__ import annotations

import json
import platform
from importlib import metadata
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive

RECORD = Path("_build") / "execution-times.json"
PACKAGES = (
    "torch",
    "numpy",
    "scipy",
    "matplotlib",
    "jupyter-book",
    "myst-nb",
    "sphinx",
    "nbval",
    "pytest",
    "hypothesis",
)
PASSES = (("reference", "reference path"), ("perturbed", "perturbed path"))


def _table(header: list[str], rows: list[list[nodes.Node | str]], widths: list[int]) -> nodes.table:
    table = nodes.table(classes=["execution-status"])
    group = nodes.tgroup(cols=len(header))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    group += head
    row = nodes.row()
    for text in header:
        row += nodes.entry("", nodes.paragraph(text=text))
    head += row
    body = nodes.tbody()
    group += body
    for cells in rows:
        row = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            entry += cell if isinstance(cell, nodes.Node) else nodes.paragraph(text=cell)
            row += entry
        body += row
    return table


class ExecutionStatus(Directive):
    has_content = False

    def run(self):
        env = self.state.document.settings.env
        record_file = Path(env.app.srcdir) / RECORD
        env.note_dependency(str(record_file))
        try:
            record = json.loads(record_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            record = {}
        out: list[nodes.Node] = []
        if "reference" not in record:
            out.append(
                nodes.paragraph(
                    text="No test run is recorded in this build. Run `make test`: it re-executes "
                    "every notebook, records the times, and then builds this page."
                )
            )
        else:
            ref = record["reference"]
            pert = record.get("perturbed", {})
            notebooks = sorted(set(ref["notebooks"]) | set(pert.get("notebooks", {})))

            def entry_of(key, path):
                return record.get(key, {}).get("notebooks", {}).get(path, {})

            rows = []
            for path in notebooks:
                docname = Path(path).with_suffix("").as_posix()
                link = nodes.paragraph()
                ref_node = nodes.reference("", docname.removeprefix("book/"), internal=True)
                ref_node["refuri"] = env.app.builder.get_relative_uri(env.docname, docname)
                link += ref_node
                cells = [link]
                for key, _ in PASSES:
                    entry = record.get(key, {}).get("notebooks", {}).get(path)
                    cells.append(f"{entry['seconds']:.1f} s" if entry else "—")
                outcome = {
                    record.get(k, {}).get("notebooks", {}).get(path, {}).get("outcome") for k, _ in PASSES
                }
                outcome.discard(None)
                cells.append("passed" if outcome == {"passed"} else ", ".join(sorted(outcome)) or "—")
                rows.append(cells)
            total = [sum(entry_of(k, p).get("seconds", 0) for p in notebooks) for k, _ in PASSES]
            rows.append(["all notebooks", *(f"{t:.1f} s" for t in total), ""])
            out.append(
                nodes.paragraph(
                    text=f"The last test run recorded here: {ref['date']}, Python {ref['python']}, "
                    f"{ref.get('threads') or 'default'} thread(s) on the reference path; the "
                    "perturbed path runs every notebook again with one thread, MKL's compatible "
                    "code path and ATen's baseline CPU kernels. A time is the sum of the "
                    "notebook's cell execution times under nbval (kernel start-up excluded)."
                )
            )
            out.append(
                _table(
                    ["notebook", *(f"time, {label}" for _, label in PASSES), "outputs"],
                    rows,
                    [50, 15, 15, 10],
                )
            )
        versions = [["lossbook", _version("lossbook")], ["Python", platform.python_version()]]
        versions += [[name, _version(name)] for name in PACKAGES]
        out.append(nodes.paragraph(text="The versions this build ran with:"))
        out.append(_table(["package", "version"], versions, [40, 30]))
        return out


def _version(name: str) -> str:
    if name == "lossbook":
        import lossbook

        return lossbook.__version__
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _substitute_version(app, config):
    """``{{ lossbook_version }}`` in any page: the version of the lossbook this build documents."""
    config.myst_substitutions = {**config.myst_substitutions, "lossbook_version": _version("lossbook")}


def setup(app):
    app.add_directive("execution-status", ExecutionStatus)
    app.connect("config-inited", _substitute_version)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
