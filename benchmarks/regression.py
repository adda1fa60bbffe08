"""CPU timing of lossbook.regression against torch.nn.functional (forward + backward).

Run by hand (timings are machine-dependent and are not part of the tests):

    .venv/bin/python benchmarks/regression.py            # 10**7 float32 elements
    .venv/bin/python benchmarks/regression.py --n 1000000 --repeats 11

For each loss the two implementations are timed alternately, ``repeats`` times each, on the
same inputs; the script prints the median time of each and the ratio of the medians. The
losses without a built-in (quantile, log-cosh) are timed against the built-in MSE for scale.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from lossbook import regression as R


def forward_backward(loss, x, y):
    xi = x.detach().requires_grad_(True)
    loss(xi, y).backward()
    return xi.grad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10**7, help="number of float32 elements")
    parser.add_argument("--repeats", type=int, default=9, help="timed runs per implementation")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.n, generator=g)
    y = torch.randn(args.n, generator=g)
    pairs = {
        "mse": (R.mse, F.mse_loss),
        "mae": (R.mae, F.l1_loss),
        "huber": (lambda a, b: R.huber(a, b, delta=1.0), lambda a, b: F.huber_loss(a, b, delta=1.0)),
        "quantile (vs mse_loss)": (lambda a, b: R.quantile(a, b, tau=0.9), F.mse_loss),
        "log_cosh (vs mse_loss)": (R.log_cosh, F.mse_loss),
    }
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, n = {args.n:.0e} float32, "
          f"median of {args.repeats} runs")
    for name, (ours, theirs) in pairs.items():
        if "vs" not in name:  # same gradients as the built-in, before timing anything
            torch.testing.assert_close(forward_backward(ours, x[:1000], y[:1000]),
                                       forward_backward(theirs, x[:1000], y[:1000]))
        times = {"lossbook": [], "torch": []}
        for fn in (ours, theirs):  # warm-up
            forward_backward(fn, x, y)
        for _ in range(args.repeats):
            for label, fn in (("lossbook", ours), ("torch", theirs)):
                start = time.perf_counter()
                forward_backward(fn, x, y)
                times[label].append(time.perf_counter() - start)
        a, b = statistics.median(times["lossbook"]), statistics.median(times["torch"])
        print(f"{name:24s} lossbook {1e3 * a:8.1f} ms   torch {1e3 * b:8.1f} ms   ratio {a / b:5.2f}")


if __name__ == "__main__":
    main()
