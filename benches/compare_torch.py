#!/usr/bin/env python3
"""Training step of the learnable layer vs the PyTorch reference approach, in one run.

    cargo build --release --example train_step
    python benches/compare_torch.py [--batch 128] [--j 2] [--size 32] [--rounds 3] [--device flex]

The reference is what "Parametric Scattering Networks" (CVPR 2022) does: Morlet wavelets built from
`torch` parameters (theta, xi, sigma, slant) on the padded grid in space (SVD basis, zero-mean
correction, 2*3.1415*sigma^2/slant normalisation, ifftshift, fftn, real part), fed as the psi filters
to kymatio 0.3.0's torch scattering core (`kymatio.scattering2d.core.scattering2d` with the torch
backend), loss = sum of the coefficients, autograd back to the four parameters. Both sides start
from the tight frame, use float32 and the same batch shape.

The script alternates --rounds times between one timed reference session (warm-up, then best of
--steps steps) and the crate's `train_step` example (its own process, `--step-only`), so that both
see the same machine load, and prints seconds per step and the ratio. torch runs with as many
intra-op threads as the machine has cores, the crate with its default rayon pool (same count).

Both processes run with glibc's malloc told to keep freed memory (GLIBC_TUNABLES, set by the
script for itself and the crate's process): otherwise every large tensor buffer is returned to the
kernel on free and page-faulted back in on the next allocation, which costs the crate's layer about
40 % of its step time and PyTorch about 5 % (docs/benchmarks.md). --default-malloc turns this off.

Needs torch and kymatio 0.3.0 (the numpy/scipy pins of tests/fixtures/gen_fixtures.py). Uses
CARGO_TARGET_DIR if set.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import kymatio
import torch
from kymatio.scattering2d.backend.torch_backend import backend as torch_backend
from kymatio.scattering2d.core.scattering2d import scattering2d
from kymatio.torch import Scattering2D

ROOT = Path(__file__).resolve().parent.parent
MALLOC_TUNABLES = "glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=4294967295"


def tight_frame(J, L):
    """kymatio's tight-frame parameters in slot order n = j*L + l."""
    theta, xi, sigma, slant = [], [], [], []
    for j in range(J):
        for l in range(L):
            theta.append((int(L - L / 2 - 1) - l) * math.pi / L)
            xi.append(3.0 / 4.0 * math.pi / 2 ** j)
            sigma.append(0.8 * 2 ** j)
            slant.append(4.0 / L)
    return [torch.nn.Parameter(torch.tensor(v, dtype=torch.float32))
            for v in (theta, xi, sigma, slant)]


def grid(M, N):
    """The reference code's padded grid, ij indexing, centred: shape (2, M, N)."""
    rows = torch.arange(-(M // 2), M - M // 2, dtype=torch.float32)
    cols = torch.arange(-(N // 2), N - N // 2, dtype=torch.float32)
    return torch.stack(torch.meshgrid(rows, cols, indexing="ij"), 0)


def morlets(g, theta, xi, sigma, slant):
    """Real Fourier spectra (n_filters, M, N), as parametricSN's `morlets` / `raw_morlets`."""
    wave_vectors = torch.stack([xi * torch.cos(theta), xi * torch.sin(theta)], 1)  # (n, 2)
    orientations = torch.stack([torch.cos(theta), torch.sin(theta)], 1).unsqueeze(1)  # (n, 1, 2)
    _, _, vh = torch.linalg.svd(orientations, full_matrices=True)  # (n, 2, 2)
    bases = vh / sigma[:, None, None]
    bases = torch.stack([bases[:, 0, :], bases[:, 1, :] * slant[:, None]], 1)
    flat = g.reshape(2, -1)  # (2, M*N)
    phase = (wave_vectors @ flat).reshape(-1, *g.shape[1:])
    directions = (bases @ flat).pow(2).sum(1).reshape(-1, *g.shape[1:])
    gaussians = torch.exp(-0.5 * directions)
    gabors = gaussians * torch.exp(1j * phase)
    beta = gabors.sum(dim=(1, 2), keepdim=True).real / gaussians.sum(dim=(1, 2), keepdim=True)
    psi = gabors - beta * gaussians
    psi = torch.fft.fftn(torch.fft.ifftshift(psi, dim=(1, 2)), dim=(1, 2))
    norm = (2 * 3.1415 * sigma * sigma / slant)[:, None, None]
    return (psi / norm).real


def periodize(x, res):
    """kymatio's mask-and-sum Fourier crop (the reference code's mean is a known defect)."""
    M, N = x.shape[-2:]
    m, n = M // 2 ** res, N // 2 ** res
    rows = torch.cat([torch.arange(m // 2), torch.arange(M - m // 2, M)])
    cols = torch.cat([torch.arange(n // 2), torch.arange(N - n // 2, N)])
    return x[..., rows, :][..., :, cols]


def reference_session(args):
    torch.manual_seed(0)
    S = Scattering2D(J=args.j, shape=(args.size, args.size), L=args.l)
    phi, psi_meta = S.load_filters()
    M, N = S._M_padded, S._N_padded
    g = grid(M, N)
    params = tight_frame(args.j, args.l)
    x = torch.rand(args.batch, args.channels, args.size, args.size)

    def step():
        theta, xi, sigma, slant = params
        spectra = morlets(g, theta, xi, sigma, slant)
        psi = []
        for n, meta in enumerate(psi_meta):
            levels = [periodize(spectra[n], res).unsqueeze(-1) for res in range(len(meta["levels"]))]
            psi.append({"j": meta["j"], "theta": meta["theta"], "levels": levels})
        s = scattering2d(x.reshape(-1, args.size, args.size), S.pad, S.unpad, torch_backend,
                         args.j, args.l, phi, psi, 2, "array")
        loss = s.sum()
        for p in params:
            p.grad = None
        loss.backward()
        return params[1].grad

    return best_step_time(step, args.steps)


def best_step_time(step, steps):
    """Best wall time of `steps` calls of `step` after one warm-up call, which must return the
    gradient it produced (checked, so that a step that computes nothing fails loudly)."""
    assert step() is not None  # warm-up
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return min(times)


def ours_session(args, exe):
    res = subprocess.run([str(exe), "--device", args.device, "--batch", str(args.batch),
                          "--channels", str(args.channels), "--size", str(args.size),
                          "--j", str(args.j), "--l", str(args.l), "--steps", str(args.steps),
                          "--step-only"], check=True, capture_output=True, text=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def add_case_arguments(ap):
    """The case and timing options of `reference_session` (shared with
    python/benchmarks/bench_torch.py)."""
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--channels", type=int, default=3)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--j", type=int, default=2)
    ap.add_argument("--l", type=int, default=8)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)


def main():
    ap = argparse.ArgumentParser()
    add_case_arguments(ap)
    ap.add_argument("--device", default="flex", choices=["flex", "ndarray"])
    ap.add_argument("--default-malloc", action="store_true",
                    help="keep glibc's default malloc thresholds in both processes")
    args = ap.parse_args()
    if not args.default_malloc and os.environ.get("GLIBC_TUNABLES") != MALLOC_TUNABLES:
        # The tunables are read at process start: re-run this script with them set.
        env = dict(os.environ, GLIBC_TUNABLES=MALLOC_TUNABLES)
        os.execve(sys.executable, [sys.executable] + sys.argv, env)

    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    exe = target / "release" / "examples" / "train_step"
    if not exe.exists():
        raise SystemExit(f"{exe} missing: run `cargo build --release --example train_step` first")
    torch.set_num_threads(os.cpu_count())

    ref_best, ours = float("inf"), None
    for _ in range(args.rounds):
        ref_best = min(ref_best, reference_session(args))
        run = ours_session(args, exe)
        if ours is None or run["best_s"] < ours["best_s"]:
            ours = run
    print(f"training step, J={args.j} L={args.l}, batch {args.batch}x{args.channels}x{args.size}x{args.size} "
          f"float32, cores: {os.cpu_count()}, best of {args.rounds} alternating rounds x {args.steps} steps")
    print(f"PyTorch {torch.__version__} + kymatio {kymatio.__version__} (paper's approach): "
          f"{ref_best:.3f} s per step ({torch.get_num_threads()} threads)")
    print(f"learnable-scattering ({args.device}): {ours['best_s']:.3f} s per step "
          f"({ours['threads']} threads)")
    print(f"ratio (PyTorch / ours): {ref_best / ours['best_s']:.2f}x")
    print(f"malloc: {'glibc defaults' if args.default_malloc else 'GLIBC_TUNABLES=' + MALLOC_TUNABLES}")


if __name__ == "__main__":
    main()
