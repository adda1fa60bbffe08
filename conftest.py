"""pytest configuration shared by the unit tests and the notebook tests (nbval).

nbval already skips PNG and JPEG images when it compares a notebook's stored
outputs with fresh ones; myst-nb's ``glue`` stores a glued figure a second time
under ``application/papermill.record/image/png``, which nbval would compare byte
for byte. Figures are not bit-reproducible across matplotlib and font builds, so
glued images are excluded here too; glued *numbers and text* are still compared.
"""

from __future__ import annotations

import os

# The stored outputs are produced with two threads (the book's reference machine has two
# cores), so that is the default here; the notebook kernels that nbval starts inherit it.
# A value already set is left alone: the test command's perturbation pass re-executes the
# notebooks with one thread (and another BLAS code path and ATen CPU capability) to show that
# no stored output depends on the floating-point path.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "2")

GLUED_IMAGES = (
    "application/papermill.record/image/png",
    "application/papermill.record/image/jpeg",
)


def pytest_collectstart(collector):
    if collector.__class__.__name__ == "IPyNbFile":
        collector.skip_compare = tuple(collector.skip_compare) + GLUED_IMAGES


# --------------------------------------------------------------------------- execution times
# Each notebook's execution time in this run (the sum of its cells' durations), recorded for
# the book's execution-status page (book/appendix/execution-status.md), which the build that
# follows the tests renders. The perturbed-path pass records under its own label.
EXECUTION_TIMES = os.path.join(os.path.dirname(__file__), "_build", "execution-times.json")
_durations: dict[str, float] = {}
_outcomes: dict[str, str] = {}


def pytest_runtest_logreport(report):
    path, sep, _ = report.nodeid.partition("::")
    if not sep or not path.endswith(".ipynb"):
        return
    _durations[path] = _durations.get(path, 0.0) + report.duration
    if report.failed:
        _outcomes[path] = "failed"
    else:
        _outcomes.setdefault(path, "passed")


def pytest_sessionfinish(session, exitstatus):
    if hasattr(session.config, "workerinput") or not _durations:
        return  # an xdist worker: the controller receives every report and writes the file
    import json
    import platform
    import time

    try:
        with open(EXECUTION_TIMES, encoding="utf-8") as f:
            record = json.load(f)
    except (OSError, ValueError):
        record = {}
    label = os.environ.get("LOSSBOOK_NBVAL_PASS", "reference")
    record[label] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "threads": os.environ.get("OMP_NUM_THREADS"),
        "environment": {k: os.environ[k] for k in ("MKL_CBWR", "ATEN_CPU_CAPABILITY") if k in os.environ},
        "python": platform.python_version(),
        "notebooks": {
            p: {"seconds": round(d, 2), "outcome": _outcomes[p]} for p, d in sorted(_durations.items())
        },
    }
    os.makedirs(os.path.dirname(EXECUTION_TIMES), exist_ok=True)
    with open(EXECUTION_TIMES, "w", encoding="utf-8") as f:
        json.dump(record, f, indent=1)


# --------------------------------------------------------------------------- the prose's values
# A markdown cell's ``{eval}`` roles quote values computed by the cells above it; the last run
# (scripts/run-notebooks.py) stored their results in the cell's ``user_expressions`` metadata,
# which JupyterLab shows and the website pastes. nbval checks code cells only, so each such
# markdown cell becomes one more item, in its place between the code cells: it evaluates the
# cell's expressions in the notebook's kernel, as JupyterLab does when the learner runs the
# cell, and compares every result with the stored one exactly.
import pytest  # noqa: E402


class StoredEvalMismatch(Exception):
    pass


class MarkdownEval(pytest.Item):
    def __init__(self, *, cell, cell_index, **kwargs):
        super().__init__(**kwargs)
        self.cell, self.cell_index = cell, cell_index

    def runtest(self):
        from lossbook.notebook import eval_expressions

        expressions = eval_expressions(self.cell.source)
        stored = self.cell.metadata.get("user_expressions", [])
        kernel = self.parent.kernel
        if kernel is None or not kernel.is_alive():
            raise StoredEvalMismatch("the notebook's kernel is not running")
        msg_id = kernel.kc.execute(
            "",
            silent=True,
            store_history=False,
            user_expressions={str(i): e for i, e in enumerate(expressions)},
        )
        timeout = self.config.option.nbval_cell_timeout
        while True:
            reply = kernel.get_message(stream="shell", timeout=timeout)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        kernel.await_idle(msg_id, timeout)
        fresh = reply["content"].get("user_expressions", {})
        problems = []
        if [s.get("expression") for s in stored] != expressions:
            problems.append(
                f"stored expressions {[s.get('expression') for s in stored]} are not the "
                f"cell's {expressions}: re-execute it with scripts/run-notebooks.py"
            )
        else:
            for i, (expression, entry) in enumerate(zip(expressions, stored, strict=True)):
                now = fresh.get(str(i), {})
                if now.get("status") != "ok":
                    problems.append(
                        f"{{eval}}`{expression}` fails now: {now.get('ename')}: {now.get('evalue')}"
                    )
                elif now.get("data") != entry["result"].get("data"):
                    problems.append(
                        f"{{eval}}`{expression}`: stored {entry['result'].get('data')}, now {now.get('data')}"
                    )
        if problems:
            raise StoredEvalMismatch("\n".join(problems))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, StoredEvalMismatch):
            return f"markdown cell {self.cell_index}:\n{excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"{self.name}"


def _with_markdown_items(collect):
    def collect_with_markdown(self):
        from lossbook.notebook import eval_expressions

        code_items = iter(list(collect(self)))  # reads self.nb
        for index, cell in enumerate(self.nb.cells):
            if cell.cell_type == "code":
                yield next(code_items)
            elif cell.cell_type == "markdown" and eval_expressions(cell.source):
                yield MarkdownEval.from_parent(
                    self, name=f"Markdown cell {index}", cell=cell, cell_index=index
                )
        yield from code_items

    return collect_with_markdown


def pytest_configure(config):
    try:
        from nbval.plugin import IPyNbFile
    except ImportError:
        return
    if not getattr(IPyNbFile.collect, "_lossbook", False):
        IPyNbFile.collect = _with_markdown_items(IPyNbFile.collect)
        IPyNbFile.collect._lossbook = True
