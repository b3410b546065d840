#!/usr/bin/env python3
"""Fast path vs kymatio 0.3.0 (numpy frontend) on the same input, in one run.

    cargo build --release --example throughput
    .venv-kymatio/bin/python benches/compare_kymatio.py [--batch 1024] [--j 2] [--size 32] [--channels 3]

Writes the input batch to a temporary .npy, then alternates --rounds times between kymatio's
`Scattering2D` (one timed call) and the crate's `throughput` example (best of 2 timed calls, in its
own process, plan built outside the timing), so that both see the same machine load. Reports the
best time of each, the peak RSS of the crate's process, checks that both outputs agree, and prints
images per second and the ratio. Uses `CARGO_TARGET_DIR` if set.
"""
import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import kymatio
from kymatio.numpy import Scattering2D

ROOT = Path(__file__).resolve().parent.parent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--channels", type=int, default=3)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--j", type=int, default=2)
    ap.add_argument("--l", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args()

    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    exe = target / "release" / "examples" / "throughput"
    if not exe.exists():
        raise SystemExit(f"{exe} missing: run `cargo build --release --example throughput` first")

    x = np.random.default_rng(0).standard_normal(
        (args.batch, args.channels, args.size, args.size)).astype(np.float32)
    S = Scattering2D(J=args.j, shape=(args.size, args.size), L=args.l)
    S(x[:2])  # warm-up
    best = float("inf")
    ours = None
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = Path(tmp) / "x.npy", Path(tmp) / "s.npy"
        np.save(inp, x)
        for _ in range(args.rounds):
            t = time.perf_counter()
            ref = S(x)
            best = min(best, time.perf_counter() - t)
            res = subprocess.run([str(exe), str(inp), "--j", str(args.j), "--l", str(args.l),
                                  "--repeats", "2", "--output", str(out)],
                                 check=True, capture_output=True, text=True)
            run = json.loads(res.stdout.strip().splitlines()[-1])
            if ours is None or run["seconds"] < ours["seconds"]:
                ours = run
        s = np.load(out)
    kym_ips = args.batch / best
    dev = float(np.max(np.abs(s.astype(np.float64) - ref)) / np.max(np.abs(ref)))

    print(f"J={args.j} L={args.l} input {x.shape} float32, cores available: {os.cpu_count()}")
    print(f"best of {args.rounds} alternating rounds")
    print(f"kymatio {kymatio.__version__} numpy : {kym_ips:10.1f} images/s  ({best:.3f} s per batch)")
    print(f"learnable-scattering fast: {ours['images_per_second']:10.1f} images/s  "
          f"({ours['seconds']:.3f} s per batch, {ours['threads']} threads, "
          f"peak RSS {ours['peak_rss_mb']} MB)")
    print(f"speed ratio: {ours['images_per_second'] / kym_ips:.1f}x")
    print(f"max |ours - kymatio| / max|kymatio| = {dev:.2e}")


if __name__ == "__main__":
    main()
