#!/usr/bin/env python3
"""Train the learnable scattering layer + a linear head with DistributedDataParallel (gloo, CPU).

    python python/examples/ddp_train.py [--world-size 2] [--steps 5] [--out result.json]

Each of --world-size local processes (torch.multiprocessing.spawn, loopback-only file://
rendezvous in a temporary folder) takes its slice of one fixed batch; DDP averages the gradients,
so every rank holds the same parameters, equal to a single process training on the whole batch
(--world-size 1). --out writes the final parameters and per-step losses of rank 0 (and a flag
that all ranks agreed) as JSON; python/tests/test_ddp.py runs this script both ways and compares.
"""
import argparse
import json
import os
import tempfile

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel

from learnable_scattering.torch import Scattering2D

BATCH, SIZE, J, L, CLASSES = 8, 16, 2, 4, 3


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.scattering = Scattering2D(J, (SIZE, SIZE), L=L, dtype=torch.float64)
        k = 1 + J * L + L * L * J * (J - 1) // 2
        torch.manual_seed(0)  # the same head on every rank
        self.head = torch.nn.Linear(k * (SIZE >> J) ** 2, CLASSES).double()

    def forward(self, x):
        return self.head(self.scattering(x).flatten(1))


def data():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(BATCH, SIZE, SIZE, generator=g, dtype=torch.float64)
    y = torch.randint(0, CLASSES, (BATCH,), generator=g)
    return x, y


def worker(rank, world_size, rendezvous, steps, out):
    if world_size > 1:
        dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank,
                                world_size=world_size)
    model = Model()
    net = DistributedDataParallel(model) if world_size > 1 else model
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    x, y = data()
    shard = BATCH // world_size
    x, y = x[rank * shard:(rank + 1) * shard], y[rank * shard:(rank + 1) * shard]
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    flat = torch.cat([p.detach().flatten() for p in model.parameters()])
    agreed = True
    if world_size > 1:
        gathered = [torch.zeros_like(flat) for _ in range(world_size)]
        dist.all_gather(gathered, flat)
        agreed = all(torch.equal(g, flat) for g in gathered)
        dist.destroy_process_group()
    if rank == 0:
        names = [n for n, _ in model.named_parameters()]
        result = {"world_size": world_size, "ranks_identical": agreed, "losses": losses,
                  "parameters": {n: p.detach().flatten().tolist()
                                 for n, p in zip(names, model.parameters())}}
        if out:
            with open(out, "w") as f:
                json.dump(result, f)
        print(f"world size {world_size}: losses {['%.6f' % v for v in losses]}, "
              f"parameters identical across ranks: {agreed}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--world-size", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    if BATCH % args.world_size:
        raise SystemExit(f"--world-size must divide the batch of {BATCH}")
    with tempfile.TemporaryDirectory() as tmp:
        rendezvous = os.path.join(tmp, "rendezvous")
        if args.world_size == 1:
            worker(0, 1, rendezvous, args.steps, args.out)
        else:
            mp.spawn(worker, args=(args.world_size, rendezvous, args.steps, args.out),
                     nprocs=args.world_size, join=True)


if __name__ == "__main__":
    main()
