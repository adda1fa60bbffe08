"""Execute notebooks top to bottom in a fresh kernel and store them as the book keeps them.

    .venv/bin/python scripts/run-notebooks.py book/regression/huber.ipynb [more.ipynb ...]

Each notebook runs in a new ``python3`` kernel from its own folder (as nbval and JupyterLab run
it), then is written back with its fresh outputs, without per-cell execution timestamps, and
with the book's one kernelspec, so that a re-run changes nothing but what the code computes.
A cell that raises stops that notebook and the script exits with status 1.

A markdown cell's ``{eval}`` roles (``{eval}`glued.key```) are evaluated in the kernel when
the run reaches the cell, as JupyterLab's jupyterlab-myst does when a learner runs it, and
their results are stored in the cell's ``user_expressions`` metadata in jupyterlab-myst's
format: JupyterLab shows them before anything is run, the website's build pastes them
(``_ext/stored_eval.py``), and the notebook tests check them against a fresh run. An
expression that fails stops the notebook, like a failing cell.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lossbook.notebook import eval_expressions  # noqa: E402

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


class EvalClient(NotebookClient):
    """nbclient's executor, which also evaluates each markdown cell's ``{eval}`` roles in order."""

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if cell.cell_type != "markdown":
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        expressions = eval_expressions(cell.source)
        cell.metadata.pop("user_expressions", None)
        if expressions:
            results = await self.evaluate(expressions)
            for expression, result in zip(expressions, results, strict=True):
                if result.get("status") != "ok":
                    raise CellExecutionError(
                        f"cell {cell_index}: {{eval}}`{expression}` failed: "
                        f"{result.get('ename')}: {result.get('evalue')}",
                        result.get("ename", ""),
                        result.get("evalue", ""),
                    )
            cell.metadata["user_expressions"] = [
                {"expression": e, "result": r} for e, r in zip(expressions, results, strict=True)
            ]
        return cell

    async def evaluate(self, expressions: list[str]) -> list[dict]:
        """The kernel's results for ``expressions``, as jupyterlab-myst requests them."""
        msg_id = self.kc.execute(
            "",
            silent=True,
            store_history=False,
            user_expressions={str(i): e for i, e in enumerate(expressions)},
        )
        reply = await self.async_wait_for_reply(msg_id)
        found = reply["content"]["user_expressions"]
        return [found[str(i)] for i in range(len(expressions))]


def merge_adjacent_streams(outputs: list) -> list:
    """``outputs`` with each run of consecutive same-stream outputs as one output.

    The kernel flushes a cell's printed text in pieces whose boundaries depend on timing (how
    loaded the machine is), so the same run could otherwise be stored in different shapes.
    """
    merged: list = []
    for out in outputs:
        last = merged[-1] if merged else None
        if (
            out.get("output_type") == "stream"
            and last is not None
            and last.get("output_type") == "stream"
            and last.get("name") == out.get("name")
        ):
            last["text"] += out["text"]
        else:
            merged.append(out)
    return merged


def run(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    EvalClient(
        nb,
        kernel_name="python3",
        timeout=600,
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    elapsed = time.perf_counter() - start
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = merge_adjacent_streams(cell.outputs)
    nbformat.write(nb, path)
    return elapsed


def main(paths: list[str]) -> int:
    if not paths:
        print(__doc__)
        return 2
    failed = False
    for name in paths:
        try:
            print(f"{name}: {run(Path(name)):.1f} s", flush=True)
        except CellExecutionError as exc:
            failed = True
            print(f"{name}: FAILED\n{exc}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
