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
