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
