"""Overhead of focal loss relative to binary cross-entropy (Chapter 3, focal loss).

Times the forward and the forward + backward pass of
``lossbook.classification.focal`` (log space), a probability-space focal loss
written the usual way, ``lossbook.classification.binary_cross_entropy_with_logits``
and PyTorch's ``binary_cross_entropy_with_logits`` on the same logits, and prints
each time relative to PyTorch's cross-entropy. Timings depend on the hardware, so
they are not part of any notebook's compared output; run it by hand::

    .venv/bin/python benchmarks/classification.py [--n 1000000] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from torch.utils import benchmark

from lossbook import classification as C
from lossbook import data, default_device


def focal_probability_space(z, y, gamma=2.0, alpha=0.25):
    """The common probability-space form (as in many code bases), for comparison only."""
    p = torch.sigmoid(z)
    ce = F.binary_cross_entropy_with_logits(z, y, reduction="none")
    p_t = p * y + (1 - p) * (1 - y)
    a_t = alpha * y + (1 - alpha) * (1 - y)
    return (a_t * (1 - p_t) ** gamma * ce).mean()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="number of logits")
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: lossbook.default_device())")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64", "float16", "bfloat16"])
    args = parser.parse_args()
    device = default_device(args.device)
    dtype = getattr(torch, args.dtype)
    g = data.generator(0)
    z0 = (3 * torch.randn(args.n, generator=g)).to(device=device, dtype=dtype)
    y = (torch.rand(args.n, generator=g) < 0.01).to(device=device, dtype=dtype)

    losses = {
        "torch BCE with logits": lambda z: F.binary_cross_entropy_with_logits(z, y),
        "lossbook BCE with logits": lambda z: C.binary_cross_entropy_with_logits(z, y),
        "lossbook focal (log space)": lambda z: C.focal(z, y, gamma=2.0, alpha=0.25),
        "focal (probability space)": lambda z: focal_probability_space(z, y),
    }
    results = {}
    for name, fn in losses.items():
        z = z0.clone().requires_grad_(True)
        fwd = benchmark.Timer("fn(z)", globals={"fn": fn, "z": z.detach()})
        fwd = fwd.blocked_autorange(min_run_time=1.0)
        both = benchmark.Timer(
            "z.grad = None; fn(z).backward()", globals={"fn": fn, "z": z}
        ).blocked_autorange(min_run_time=1.0)
        results[name] = (fwd.median, both.median)
    base_f, base_b = results["torch BCE with logits"]
    print(f"device {device}, dtype {dtype}, n = {args.n}, threads {torch.get_num_threads()}")
    print(f"{'loss':30s} {'forward':>12s} {'rel.':>6s} {'fwd+bwd':>12s} {'rel.':>6s}")
    for name, (f_t, b_t) in results.items():
        print(f"{name:30s} {f_t * 1e3:10.3f}ms {f_t / base_f:6.2f} {b_t * 1e3:10.3f}ms {b_t / base_b:6.2f}")


if __name__ == "__main__":
    main()
