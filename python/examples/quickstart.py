#!/usr/bin/env python3
"""Quick start in Python: learnable vs fixed scattering on the small real data set shipped with
the crate, the Rust quick start's task (examples/quickstart.rs) in PyTorch.

    python python/examples/quickstart.py [--seed 0] [--epochs 25]

Trains two hybrid models on 1000 Fashion-MNIST images (100 per class,
examples/data/fashion-mnist-small, MIT licence) and tests them on 1000 others: scattering with
J = 2, L = 8 from kymatio's tight frame, once with the wavelets' ln sigma, xi, theta and ln slant
learned together with the head, once with the wavelets fixed; the head is the paper's linear head
(batch norm over the 81 scattering channels, then one linear layer). Both use the paper's
optimiser as the Rust quick start does (src/train/optim.rs, from the reference code of
"Parametric Scattering Networks"): SGD with momentum under a one-cycle schedule stepped per
batch (PyTorch's OneCycleLR: peak learning rate 0.1 for the head and the filters, momentum
cycled between 0.95 and 0.85), weight decay 5e-4 on the head only, batch 128, 25 epochs; the
images normalised by the training set's mean and standard deviation. Prints both test
accuracies and how far the filters moved.

The numbers are not the Rust quick start's for the same seed (the two draw the head's initial
weights and the batch order from different generators); README, "Python", compares their means
and spreads over seeds.
"""
import argparse
import gzip
import time
from pathlib import Path

import numpy as np
import torch

from learnable_scattering.torch import Scattering2D

DATA = Path(__file__).resolve().parents[2] / "examples" / "data" / "fashion-mnist-small"
J, L, SIZE, CLASSES = 2, 8, 28, 10
BATCH, PEAK_LR, HEAD_WEIGHT_DECAY = 128, 0.1, 5e-4


def read_idx(path):
    """An IDX file of unsigned bytes (gzip-compressed): its array, shaped by its header."""
    raw = gzip.decompress(path.read_bytes())
    if raw[:2] != b"\0\0" or raw[2] != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes (magic {raw[:4].hex()})")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: {data.size} values for a header of shape {dims}")
    return data.reshape(dims)


def load(data_dir):
    """Train and test images (float32 in [0, 1], shape (n, 1, 28, 28)) and labels."""
    def part(prefix):
        x = read_idx(data_dir / f"{prefix}-images-idx3-ubyte.gz").astype(np.float32) / 255.0
        y = read_idx(data_dir / f"{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
        return torch.from_numpy(x[:, None]), torch.from_numpy(y)
    return part("train"), part("t10k")


class Hybrid(torch.nn.Module):
    """Scattering, then the paper's linear head: BatchNorm2d over the C*K channels, one Linear."""

    def __init__(self, learnable):
        super().__init__()
        self.scattering = Scattering2D(J, (SIZE, SIZE), L=L, learnable=learnable)
        k = self.scattering.output_shape()
        self.norm = torch.nn.BatchNorm2d(k[0])
        self.linear = torch.nn.Linear(k[0] * k[1] * k[2], CLASSES)

    def features(self, x):
        return self.scattering(x).flatten(1, 2)  # (batch, C*K, 7, 7)

    def head(self, features):
        return self.linear(self.norm(features).flatten(1))


def train(learnable, train_set, test_set, epochs, seed):
    torch.manual_seed(seed)
    model = Hybrid(learnable)
    (x, y), (xt, yt) = train_set, test_set
    batches = (len(x) + BATCH - 1) // BATCH
    groups = [{"params": list(model.norm.parameters()) + list(model.linear.parameters()),
               "weight_decay": HEAD_WEIGHT_DECAY}]
    if learnable:
        groups.append({"params": list(model.scattering.parameters()), "weight_decay": 0.0})
    opt = torch.optim.SGD(groups, lr=PEAK_LR, momentum=0.9)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=PEAK_LR,
                                                   total_steps=epochs * batches)
    initial = model.scattering.bank().params()
    # Fixed filters: the features never change, so they are computed once (the same numbers).
    cached = None
    if not learnable:
        with torch.no_grad():
            cached = model.features(x), model.features(xt)
    order = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(x), generator=order).split(BATCH):
            features = cached[0][idx] if cached else model.features(x[idx])
            loss = torch.nn.functional.cross_entropy(model.head(features), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            schedule.step()
    model.eval()
    with torch.no_grad():
        features = cached[1] if cached else torch.cat([model.features(b) for b in xt.split(256)])
        accuracy = float((model.head(features).argmax(1) == yt).double().mean())
    learned = model.scattering.bank().params()
    # Largest relative change of sigma, xi or slant over the wavelets (columns 0, 1, 3).
    moved = float(np.max(np.abs(learned - initial)[:, [0, 1, 3]] / np.abs(initial[:, [0, 1, 3]])))
    return accuracy, moved


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0,
                    help="seed of the head's initialisation and the batch order")
    ap.add_argument("--epochs", type=int, default=25, help="epochs per model")
    ap.add_argument("--data", type=Path, default=DATA, help="the IDX files' folder")
    args = ap.parse_args()
    train_set, test_set = load(args.data)
    print(f"Fashion-MNIST subset: {len(train_set[0])} training and {len(test_set[0])} test "
          f"images, {SIZE}x{SIZE}, {CLASSES} classes")
    # The training set's mean and standard deviation (the Rust quick start's normalisation).
    mean, std = float(train_set[0].mean()), float(train_set[0].std(unbiased=False))
    train_set = ((train_set[0] - mean) / std, train_set[1])
    test_set = ((test_set[0] - mean) / std, test_set[1])
    results = []
    for name, learnable in [("learnable", True), ("fixed", False)]:
        t = time.perf_counter()
        accuracy, moved = train(learnable, train_set, test_set, args.epochs, args.seed)
        results.append((name, accuracy, time.perf_counter() - t, moved))
    print()
    for name, accuracy, seconds, moved in results:
        print(f"{name:>9} scattering + linear head: test accuracy {100 * accuracy:.1f}%  "
              f"({seconds:.0f} s, largest relative change of sigma, xi or slant: "
              f"{100 * moved:.1f}%)")


if __name__ == "__main__":
    main()
