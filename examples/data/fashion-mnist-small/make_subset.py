#!/usr/bin/env python3
"""Builds this folder's class-balanced Fashion-MNIST subset from the full set.

The first PER_CLASS images of every class, in file order, from the training and the test files,
written back in the original IDX gzip format. Source: Debian package `dataset-fashion-mnist`
(/usr/share/datasets/fashion-mnist), i.e. https://github.com/zalandoresearch/fashion-mnist (MIT).
Usage: python3 make_subset.py [SOURCE_DIR]
"""
import gzip
import struct
import sys
from pathlib import Path

PER_CLASS = 100
SRC = Path(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist")
OUT = Path(__file__).parent


def read(path):
    data = gzip.open(path).read()
    magic, n = struct.unpack(">II", data[:8])
    if magic == 0x803:
        rows, cols = struct.unpack(">II", data[8:16])
        return [data[16 + i * rows * cols:16 + (i + 1) * rows * cols] for i in range(n)], (rows, cols)
    return list(data[8:8 + n]), None


def write(prefix, images, labels, shape):
    with gzip.GzipFile(OUT / f"{prefix}-images-idx3-ubyte.gz", "wb", mtime=0) as f:
        f.write(struct.pack(">IIII", 0x803, len(images), *shape) + b"".join(images))
    with gzip.GzipFile(OUT / f"{prefix}-labels-idx1-ubyte.gz", "wb", mtime=0) as f:
        f.write(struct.pack(">II", 0x801, len(labels)) + bytes(labels))


for prefix in ("train", "t10k"):
    images, shape = read(SRC / f"{prefix}-images-idx3-ubyte.gz")
    labels, _ = read(SRC / f"{prefix}-labels-idx1-ubyte.gz")
    count = [0] * 10
    keep = []
    for i, y in enumerate(labels):
        if count[y] < PER_CLASS:
            count[y] += 1
            keep.append(i)
    write(prefix, [images[i] for i in keep], [labels[i] for i in keep], shape)
    print(prefix, len(keep))
