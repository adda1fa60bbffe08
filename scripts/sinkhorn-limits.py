"""Where ``lossbook.probabilistic.sinkhorn`` converges: the table of its docstring, measured.

For each problem (two clouds of random points in the unit square, squared-Euclidean costs
normalised to max C = 1, weights uniform or drawn from U[0.1, 1.1], seeds 0, 1, ...) and each
epsilon / max C, the count of solves that reach an L1 marginal error of 10⁻⁹ within the default
``max_iter``. Single-threaded; several minutes.

    python scripts/sinkhorn-limits.py
"""

from __future__ import annotations

import time
import warnings

import torch

from lossbook import probabilistic as P

RATIOS = (1e-2, 3e-3, 1e-3, 3e-4, 1e-4)
ROWS = (
    ("6 × 5, random weights", 6, 5, True, 40),
    ("30 × 30, random weights", 30, 30, True, 20),
    ("100 × 100, random weights", 100, 100, True, 6),
    ("30 × 30, uniform", 30, 30, False, 20),
    ("100 × 100, uniform", 100, 100, False, 6),
)


def converged(n: int, m: int, weighted: bool, ratio: float, seed: int) -> bool:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 2, generator=g, dtype=torch.float64)
    y = torch.rand(m, 2, generator=g, dtype=torch.float64)
    c = P.cost_matrix(x, y)
    c = c / c.max()
    a = b = None
    if weighted:
        a = torch.rand(n, generator=g, dtype=torch.float64) + 0.1
        b = torch.rand(m, generator=g, dtype=torch.float64) + 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", P.SinkhornConvergenceWarning)
        info = P.sinkhorn(c, a, b, epsilon=ratio, tol=1e-9, return_info=True)
    return info.converged and info.marginal_error < 2e-9


def main() -> None:
    torch.set_num_threads(1)
    start = time.perf_counter()
    print(f"{'problem':26s}" + "".join(f"{r:>8g}" for r in RATIOS))
    for name, n, m, weighted, seeds in ROWS:
        counts = [sum(converged(n, m, weighted, r, s) for s in range(seeds)) for r in RATIOS]
        cells = "".join(f"{f'{k}/{seeds}':>8s}" for k in counts)
        print(f"{name:26s}{cells}  ({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
