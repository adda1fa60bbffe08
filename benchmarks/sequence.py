"""CPU timing of lossbook.sequence.ctc_loss against torch.nn.functional.ctc_loss (forward + backward).

Run by hand (timings are machine-dependent and are not part of the tests):

    .venv/bin/python benchmarks/sequence.py                      # T=128, N=256, C=32, U=30
    .venv/bin/python benchmarks/sequence.py --T 50 --N 8 --C 20 --U 10 --repeats 21

Both implementations get the same float32 log-probabilities (from ``log_softmax`` of a leaf
tensor of logits, as in training), targets and lengths; they are timed alternately,
``repeats`` times each, and the script prints the median time of each and the ratio of the
medians (lossbook / torch). A small shape is timed too, where the Python loop over frames
dominates.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from lossbook import data, default_device
from lossbook.sequence import ctc_loss


def time_pair(T, N, C, U, repeats, device, dtype):
    log_probs, targets, input_lengths, target_lengths = data.ctc_batch(
        T, N, C, U, vary_lengths=False, seed=0, dtype=dtype
    )
    logits = log_probs.to(device).requires_grad_(True)
    args = (targets.to(device), input_lengths.to(device), target_lengths.to(device))

    def step(fn):
        logits.grad = None
        fn(logits.log_softmax(-1), *args).backward()
        if device.type == "cuda":
            torch.cuda.synchronize()

    times = {"torch": [], "lossbook": []}
    fns = {"torch": F.ctc_loss, "lossbook": ctc_loss}
    for fn in fns.values():
        step(fn)  # warm-up
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            step(fn)
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(v) for name, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--T", type=int, default=128)
    parser.add_argument("--N", type=int, default=256)
    parser.add_argument("--C", type=int, default=32)
    parser.add_argument("--U", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--device", default="cpu", help="cpu, cuda, mps (default cpu)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    args = parser.parse_args()
    device = default_device(args.device)
    dtype = getattr(torch, args.dtype)
    print(f"device {device}, dtype {dtype}, threads {torch.get_num_threads()}")
    print(f"{'shape (T, N, C, U)':24s} {'torch':>10s} {'lossbook':>10s} {'ratio':>6s}")
    for shape in ((args.T, args.N, args.C, args.U), (20, 2, 8, 5)):
        med = time_pair(*shape, args.repeats, device, dtype)
        ratio = med["lossbook"] / med["torch"]
        print(f"{str(shape):24s} {med['torch'] * 1e3:8.2f}ms {med['lossbook'] * 1e3:8.2f}ms {ratio:6.2f}")


if __name__ == "__main__":
    main()
