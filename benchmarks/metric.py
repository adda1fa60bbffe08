"""CPU (or GPU) timing of lossbook.metric against torch built-ins and the usual implementations.

Run by hand (timings are machine-dependent and are not part of the tests):

    .venv/bin/python benchmarks/metric.py                 # batch 512 x 128, 128 classes of 4
    .venv/bin/python benchmarks/metric.py --batch 256 --repeats 21 --device cuda

Each case times forward + backward of the same inputs, the two implementations alternately,
``repeats`` times each, and prints the medians and their ratio. Where PyTorch has no built-in,
the reference is the implementation a reader would otherwise write (the batch-cubed mask of
all triplets, the SimCLR-style masked similarity matrix). If pytorch-metric-learning is
installed, its losses and miners are timed too (it is optional and never required); with its
conventions matched the values are checked to agree before timing.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from lossbook import metric as M


def forward_backward(fn, *tensors):
    leaves = [t.detach().clone().requires_grad_(True) for t in tensors]
    fn(*leaves).sum().backward()
    return [leaf.grad for leaf in leaves]


def cubed_batch_all(x, y, margin):
    # the textbook batch-all: a (B, B, B) mask of valid triplets, then the losses of all of them
    d = torch.cdist(x, x)
    same = y[:, None] == y[None, :]
    pos = same & ~torch.eye(len(y), dtype=torch.bool, device=y.device)
    valid = pos[:, :, None] & ~same[:, None, :]
    a, p, n = torch.where(valid)
    return torch.relu(d[a, p] - d[a, n] + margin).mean()


def cubed_batch_hard(x, y, margin):
    d = torch.cdist(x, x)
    same = y[:, None] == y[None, :]
    pos = same & ~torch.eye(len(y), dtype=torch.bool, device=y.device)
    hardest_pos = torch.where(pos, d, torch.zeros_like(d)).amax(1)
    hardest_neg = torch.where(same, torch.full_like(d, float("inf")), d).amin(1)
    return torch.relu(hardest_pos - hardest_neg + margin).mean()


def simclr_reference(z1, z2, tau):
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = z @ z.T / tau
    sim = sim.masked_fill(torch.eye(len(z), dtype=torch.bool, device=z.device), float("-inf"))
    n = len(z1)
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(sim, target)


def time_pair(ours, theirs, inputs, repeats):
    for fn in (ours, theirs):  # warm-up
        forward_backward(fn, *inputs)
    times = {"ours": [], "theirs": []}
    for _ in range(repeats):
        for label, fn in (("ours", ours), ("theirs", theirs)):
            if inputs[0].is_cuda:
                torch.cuda.synchronize()
            start = time.perf_counter()
            forward_backward(fn, *inputs)
            if inputs[0].is_cuda:
                torch.cuda.synchronize()
            times[label].append(time.perf_counter() - start)
    return statistics.median(times["ours"]), statistics.median(times["theirs"])


def pml_cases(x, y, z1, z2, margin, tau):
    try:
        from pytorch_metric_learning import losses, miners, reducers
    except ImportError:
        return {}
    mean = reducers.MeanReducer()
    all_loss = losses.TripletMarginLoss(margin=margin, reducer=mean)
    hard_miner = miners.BatchHardMiner()
    nt = losses.NTXentLoss(temperature=tau)
    labels2 = torch.cat([torch.arange(len(z1)), torch.arange(len(z1))]).to(z1.device)
    return {
        "batch-all (vs PML)": (
            lambda e: M.triplet_loss(e, y, margin=margin, mining="all"),
            lambda e: all_loss(e, y),
            (x,),
        ),
        "batch-hard (vs PML)": (
            lambda e: M.triplet_loss(e, y, margin=margin, mining="batch_hard"),
            lambda e: all_loss(e, y, hard_miner(e, y)),
            (x,),
        ),
        "nt-xent (vs PML)": (
            lambda a, b: M.nt_xent(a, b, temperature=tau),
            lambda a, b: nt(torch.cat([a, b]), labels2),
            (z1, z2),
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--per-class", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    g = torch.Generator().manual_seed(0)
    x = F.normalize(torch.randn(args.batch, args.dim, generator=g), dim=1).to(dev)
    y = torch.arange(args.batch // args.per_class).repeat_interleave(args.per_class).to(dev)
    z1 = torch.randn(args.batch, args.dim, generator=g).to(dev)
    z2 = (z1.cpu() + 0.5 * torch.randn(args.batch, args.dim, generator=g)).to(dev)
    a, p, n = (torch.randn(args.batch, args.dim, generator=g).to(dev) for _ in range(3))
    margin, tau = 0.2, 0.1
    cases = {
        "pairwise_distances (vs cdist)": (M.pairwise_distances, lambda e: torch.cdist(e, e), (x,)),
        "triplet_margin_loss (rows)": (
            lambda u, v, w: M.triplet_margin_loss(u, v, w, margin=margin),
            lambda u, v, w: F.triplet_margin_loss(u, v, w, margin=margin, eps=0.0),
            (a, p, n),
        ),
        "batch-all (vs B^3 mask)": (
            lambda e: M.triplet_loss(e, y, margin=margin, mining="all"),
            lambda e: cubed_batch_all(e, y, margin),
            (x,),
        ),
        "batch-hard (vs masked max/min)": (
            lambda e: M.triplet_loss(e, y, margin=margin, mining="batch_hard"),
            lambda e: cubed_batch_hard(e, y, margin),
            (x,),
        ),
        "nt-xent (vs SimCLR-style)": (
            lambda u, v: M.nt_xent(u, v, temperature=tau),
            lambda u, v: simclr_reference(u, v, tau),
            (z1, z2),
        ),
    }
    cases.update(pml_cases(x, y, z1, z2, margin, tau))
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {dev}, "
        f"batch {args.batch} x {args.dim} float32, {args.batch // args.per_class} classes, "
        f"median of {args.repeats} forward+backward runs"
    )
    for name, (ours, theirs, inputs) in cases.items():
        with torch.no_grad():
            va, vb = ours(*inputs), theirs(*inputs)
        if va.dim() == 2:  # cdist's matrix-product path leaves sqrt(rounding) ~ 1e-3 on its diagonal
            off = ~torch.eye(len(va), dtype=torch.bool, device=va.device)
            va, vb = va[off], vb[off]
        torch.testing.assert_close(va, vb, rtol=1e-4, atol=1e-5)  # same value before timing
        ta, tb = time_pair(ours, theirs, inputs, args.repeats)
        print(f"{name:32s} lossbook {1e3 * ta:8.2f} ms   reference {1e3 * tb:8.2f} ms   ratio {ta / tb:5.2f}")


if __name__ == "__main__":
    main()
