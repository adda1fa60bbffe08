"""The ``{eval}`` role, pasting the results that the notebook's last run stored.

The prose quotes a computed value as ``{eval}`glued.key``` (see ``lossbook.notebook``).
JupyterLab's jupyterlab-myst evaluates such an expression in the learner's running kernel and
keeps the result in the markdown cell's ``user_expressions`` metadata; the book's own runs
(``scripts/run-notebooks.py``) store the same, and the notebook tests check every stored result
against a fresh run. myst-nb's own ``eval`` role needs a kernel while the book builds (its
inline execution mode); this one reads the stored results instead, so the build executes
nothing and the website shows exactly the characters JupyterLab shows.

A missing result, a failed one or one that is not text is a warning naming the expression, so
the ``-W`` build fails on it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxRole

logger = logging.getLogger(__name__)

# jupyterlab-myst shows a text/plain result with one pair of surrounding quotes removed.
_QUOTED = re.compile(r"""^(["'])(.*)\1$""", re.DOTALL)


def plain_text(text: str) -> str:
    """What jupyterlab-myst shows for a text/plain result."""
    return _QUOTED.sub(r"\2", text)


def stored_results(path: Path) -> dict[str, list[dict]]:
    """Every stored result of the notebook at ``path``, by expression, in the order of the cells."""
    found: dict[str, list[dict]] = {}
    with open(path, encoding="utf-8") as f:
        notebook = json.load(f)
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        for entry in cell.get("metadata", {}).get("user_expressions", []):
            found.setdefault(entry["expression"], []).append(entry["result"])
    return found


class StoredEvalRole(SphinxRole):
    def run(self):
        env = self.env
        source = Path(env.doc2path(env.docname))
        cache = env.temp_data.setdefault("stored_eval", {})
        if env.docname not in cache:
            cache[env.docname] = stored_results(source) if source.suffix == ".ipynb" else {}
        results = cache[env.docname].get(self.text)
        problem = None
        if not results:
            problem = (
                f"no stored result for {{eval}}`{self.text}`: re-execute the notebook with "
                "scripts/run-notebooks.py"
            )
        elif len({json.dumps(r, sort_keys=True) for r in results}) > 1:
            problem = f"{{eval}}`{self.text}` has different results in different cells: quote distinct keys"
        elif results[0].get("status") != "ok":
            problem = (
                f"{{eval}}`{self.text}` failed when the notebook ran: "
                f"{results[0].get('ename')}: {results[0].get('evalue')}"
            )
        elif "text/plain" not in results[0].get("data", {}):
            problem = f"{{eval}}`{self.text}` has no text/plain result"
        if problem:
            logger.warning(problem, location=self.get_location(), type="lossbook", subtype="eval")
            return [], []
        text = plain_text(results[0]["data"]["text/plain"])
        node = nodes.inline(text, text, classes=["pasted-text"])
        self.set_source_info(node)
        return [node], []


def _override(app, config):
    # myst-nb registers its kernel-bound ``eval`` role when it sets up; replace it afterwards.
    app.add_role("eval", StoredEvalRole(), override=True)


def setup(app):
    app.connect("config-inited", _override, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
