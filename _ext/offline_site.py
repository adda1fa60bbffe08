"""Sphinx extension of the book's website: offline MathJax and the student edition.

*Offline*: the website serves MathJax itself. ``scripts/fetch-mathjax.sh`` installs MathJax
3 from the npm registry into ``<environment>/share/mathjax``; this extension points
``mathjax_path`` at ``_static/mathjax/tex-chtml.js`` and copies those files into the built
site, so no page asks a CDN for anything and the site reads from a zip of ``_build/html``.
A build without the files fails with the command that installs them.

*Clean pages*: no script included twice on a page. sphinx-thebe registers its inline
configuration (``const THEBE_JS_URL = ...``) after the builder is set up; Sphinx 7 then lists
that inline script twice, once with the file name ``None`` and once with ``''``, and the second
``const`` is a ``SyntaxError`` in every page's console. That is the Sphinx bug fixed by
https://github.com/sphinx-doc/sphinx/pull/13402 (Sphinx 8.2); Jupyter Book 1 requires
Sphinx 7, so the book keeps the de-duplication until it can move to a fixed Sphinx. The
favicon and the theme's default colour mode, which need no code, are settings in
``_config.yml`` (``html.favicon``, ``html_context.default_mode``). The site tests in
``tests/site`` check all of this in a real browser.

*Student edition*: with ``LOSSBOOK_EDITION=student`` in the environment (``make student``)
sphinx-exercise's ``hide_solutions`` is switched on, so the exercises' solutions are left
out of the pages (and out of the search index), so are the code cells tagged ``solution``
(a solution's own computation), and the title says which edition it is.
The page sources are not published (they hold the solutions); instead the site ships the
*student notebooks* (``scripts/student-notebooks.py``: every exercise, no solution, no output)
under ``notebooks/``, and each notebook page's download button points to its student notebook.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError

MATHJAX_ENTRY = "tex-chtml.js"
EDITIONS = ("instructor", "student")
STUDENT_NOTEBOOKS = "notebooks"  # folder of the student edition's downloadable notebooks


def mathjax_source() -> Path:
    """Where scripts/fetch-mathjax.sh installed MathJax (overridable with LOSSBOOK_MATHJAX)."""
    return Path(os.environ.get("LOSSBOOK_MATHJAX", Path(sys.prefix) / "share" / "mathjax"))


def edition() -> str:
    value = os.environ.get("LOSSBOOK_EDITION", "instructor").strip().lower() or "instructor"
    if value not in EDITIONS:
        raise ExtensionError(f"LOSSBOOK_EDITION must be one of {EDITIONS}, got {value!r}")
    return value


def _config_inited(app: Sphinx, config: Config) -> None:
    # A remote MathJax (Sphinx's default is a CDN address) is replaced by the local copy.
    if not config.mathjax_path or "://" in config.mathjax_path or config.mathjax_path.startswith("//"):
        config.mathjax_path = f"mathjax/{MATHJAX_ENTRY}"
    if edition() == "student":
        config.hide_solutions = True
        # The page sources (`_sources/`, the download button's .md / .ipynb) hold the
        # solutions, so the student edition does not publish them.
        config.html_copy_source = False
        config.html_theme_options = {**config.html_theme_options, "use_download_button": False}
        title = config.html_title or config.project
        config.html_title = f"{title} (student edition)"


def _builder_inited(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    entry = mathjax_source() / MATHJAX_ENTRY
    if not entry.is_file():
        raise ExtensionError(
            f"MathJax is not installed ({entry} is missing): run scripts/fetch-mathjax.sh "
            "(`make book` and `make test` run it for you)."
        )


def _html_page_context(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Drop repeated <script> entries (the same file or the same inline body) from a page.

    An inline script's file name is ``None`` in one entry and ``''`` in its duplicate
    (sphinx-doc/sphinx#13402), so both count as ``''`` here.
    """
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in sorted(scripts, key=lambda js: getattr(js, "priority", 500)):
        attributes = getattr(script, "attributes", {}) or {}
        key = (getattr(script, "filename", str(script)) or "", tuple(sorted(attributes.items())))
        if key in seen:
            continue
        seen.add(key)
        unique.append(script)
    context["script_files"] = unique


def _student_download_button(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """In the student edition, a notebook page's download button fetches its student notebook."""
    if edition() != "student" or not (Path(app.srcdir) / f"{pagename}.ipynb").is_file():
        return
    link = {
        "type": "link",
        "url": context["pathto"](f"{STUDENT_NOTEBOOKS}/{pagename}.ipynb", 1),
        "text": ".ipynb",
        "icon": "fas fa-code",
        "tooltip": "Download the notebook (exercises without solutions)",
        "label": "download-student-notebook-button",
    }
    group = {
        "type": "group",
        "tooltip": "Download this page",
        "icon": "fas fa-download",
        "buttons": [link],
        "label": "download-buttons",
    }
    context.setdefault("header_buttons", []).insert(0, group)


def _write_student_notebooks(app: Sphinx) -> None:
    path = Path(app.srcdir) / "scripts" / "student-notebooks.py"
    spec = importlib.util.spec_from_file_location("student_notebooks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.write_all(Path(app.outdir) / STUDENT_NOTEBOOKS)


def _drop_solution_cells(app: Sphinx, doctree) -> None:
    """In the student edition, leave out the code cells tagged ``solution`` (a solution's own
    computation, which ``scripts/student-notebooks.py`` removes from the student notebooks too)."""
    if edition() != "student":
        return
    for cell in list(doctree.findall(nodes.container)):
        if "tag_solution" in cell.get("classes", []):
            cell.parent.remove(cell)


def _build_finished(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    shutil.copytree(mathjax_source(), target, dirs_exist_ok=True)
    if edition() == "student":
        _write_student_notebooks(app)


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _config_inited, priority=900)
    app.connect("builder-inited", _builder_inited)
    app.connect("doctree-read", _drop_solution_cells)
    app.connect("html-page-context", _html_page_context, priority=900)
    app.connect("html-page-context", _student_download_button, priority=600)
    app.connect("build-finished", _build_finished)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
