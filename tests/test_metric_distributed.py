"""lossbook.metric.nt_xent with negatives gathered across processes (torch.distributed, gloo, CPU).

Two processes each hold half of a global batch. Gathering with gradients must reproduce the
single-process loss of the whole batch and its gradients with respect to every embedding.
"""

import datetime
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from lossbook import metric as M

WORLD = 2
N_LOCAL, DIM, TAU = 5, 4, 0.2

# fork starts the two workers without re-importing torch (seconds faster on a small machine);
# spawn where fork is not available (macOS, Windows). No CUDA is initialised in the parent.
START = "fork" if "fork" in mp.get_all_start_methods() else "spawn"

pytestmark = pytest.mark.skipif(not dist.is_available(), reason="torch.distributed is not available")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def global_batch():
    g = torch.Generator().manual_seed(0)
    z1 = torch.randn(WORLD * N_LOCAL, DIM, generator=g, dtype=torch.float64)
    z2 = z1 + 0.5 * torch.randn(WORLD * N_LOCAL, DIM, generator=g, dtype=torch.float64)
    return z1, z2


def worker(rank: int, port: int) -> None:
    torch.set_num_threads(1)  # two processes on a small machine: no oversubscription
    dist.init_process_group(
        "gloo",
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=WORLD,
        timeout=datetime.timedelta(seconds=60),
    )
    try:
        z1, z2 = global_batch()
        # the reference: one process, the whole batch
        r1, r2 = z1.clone().requires_grad_(True), z2.clone().requires_grad_(True)
        single = M.nt_xent(r1, r2, temperature=TAU)
        single.backward()
        part = slice(rank * N_LOCAL, (rank + 1) * N_LOCAL)
        for reduction, scale in (("mean", 1.0 / WORLD), ("sum", 1.0)):
            l1 = z1[part].clone().requires_grad_(True)
            l2 = z2[part].clone().requires_grad_(True)
            local = M.nt_xent(l1, l2, temperature=TAU, reduction=reduction, gather=True)
            local.backward()
            total = local.detach().clone()
            dist.all_reduce(total)  # sum over processes
            ref = single.detach() * (1 if reduction == "mean" else 2 * WORLD * N_LOCAL)
            torch.testing.assert_close(total * scale, ref)
            # backward delivers the gradient of the sum of the processes' losses
            factor = WORLD if reduction == "mean" else 2 * WORLD * N_LOCAL
            torch.testing.assert_close(l1.grad, factor * r1.grad[part])
            torch.testing.assert_close(l2.grad, factor * r2.grad[part])
        # the per-anchor losses of the local anchors are those of the global batch
        none = M.nt_xent(z1[part], z2[part], temperature=TAU, reduction="none", gather=True)
        full = M.nt_xent(z1, z2, temperature=TAU, reduction="none")
        idx = torch.arange(N_LOCAL) + rank * N_LOCAL
        torch.testing.assert_close(none, torch.cat([full[idx], full[idx + WORLD * N_LOCAL]]))
    finally:
        dist.destroy_process_group()


def test_gathered_nt_xent_equals_single_process():
    for attempt in range(3):  # another program may take the free port before rank 0 binds it
        try:
            mp.start_processes(worker, args=(free_port(),), nprocs=WORLD, join=True, start_method=START)
            return
        except mp.ProcessRaisedException as exc:
            if "address already in use" not in str(exc).lower() or attempt == 2:
                raise
