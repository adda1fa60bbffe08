"""Execute notebooks top to bottom in a fresh kernel and store them as the book keeps them.

    .venv/bin/python scripts/run-notebooks.py book/regression/huber.ipynb [more.ipynb ...]

Each notebook runs in a new ``python3`` kernel from its own folder (as nbval and JupyterLab run
it), then is written back with its fresh outputs, without per-cell execution timestamps, and
with the book's one kernelspec, so that a re-run changes nothing but what the code computes.
A cell that raises stops that notebook and the script exits with status 1.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def run(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(
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
