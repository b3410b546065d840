#!/usr/bin/env python3
"""A training step of the torch module vs the paper's reference PyTorch model, in one run.

    python python/benchmarks/bench_torch.py [--batch 128] [--j 2] [--size 32] [--rounds 3]

The reference is benches/compare_torch.py's (Morlet filters from torch parameters on the padded
grid, kymatio 0.3.0's torch scattering core, autograd back to the four parameters); the module is
learnable_scattering.torch.Scattering2D. Both start from the tight frame, run float32 on the same
batch shape, loss = sum of the coefficients, and alternate --rounds times (best of --steps steps
each) so both see the same machine load. As benches/compare_torch.py, the process runs with
glibc's malloc told to keep freed memory (--default-malloc turns this off). Also reports, from a
fresh process, the cost of importing torch and the module and of the first training steps.
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]


def load_reference():
    spec = importlib.util.spec_from_file_location("compare_torch", ROOT / "benches" / "compare_torch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ours_session(args):
    from learnable_scattering.torch import Scattering2D
    torch.manual_seed(0)
    m = Scattering2D(args.j, (args.size, args.size), L=args.l)
    x = torch.rand(args.batch, args.channels, args.size, args.size)

    def step():
        for p in m.parameters():
            p.grad = None
        m(x).sum().backward()
        return m.xi.grad

    return load_reference().best_step_time(step, args.steps)


def child_startup():
    t1 = time.perf_counter()  # torch is imported (top of this file); timed apart in main
    from learnable_scattering.torch import Scattering2D
    t2 = time.perf_counter()
    m = Scattering2D(2, (32, 32))
    x = torch.rand(1, 3, 32, 32)
    t3 = time.perf_counter()
    m(x).sum().backward()
    t4 = time.perf_counter()
    m(x).sum().backward()
    t5 = time.perf_counter()
    print(json.dumps({"import_module_s": t2 - t1, "construct_s": t3 - t2,
                      "first_step_s": t4 - t3, "second_step_s": t5 - t4}))


def main():
    if sys.argv[1:] == ["--child-startup"]:
        return child_startup()
    reference = load_reference()
    ap = argparse.ArgumentParser()
    reference.add_case_arguments(ap)
    ap.add_argument("--default-malloc", action="store_true")
    args = ap.parse_args()
    if not args.default_malloc and os.environ.get("GLIBC_TUNABLES") != reference.MALLOC_TUNABLES:
        env = dict(os.environ, GLIBC_TUNABLES=reference.MALLOC_TUNABLES)
        os.execve(sys.executable, [sys.executable] + sys.argv, env)
    torch.set_num_threads(os.cpu_count())
    import kymatio
    import learnable_scattering

    ref_best, ours_best = float("inf"), float("inf")
    for _ in range(args.rounds):
        ref_best = min(ref_best, reference.reference_session(args))
        ours_best = min(ours_best, ours_session(args))
    print(f"training step (forward, loss = sum of S, backward to the four filter parameters), J={args.j} L={args.l}, "
          f"batch {args.batch}x{args.channels}x{args.size}x{args.size} float32, "
          f"{os.cpu_count()} cores, best of {args.rounds} alternating rounds x {args.steps} steps")
    print(f"PyTorch {torch.__version__} + kymatio {kymatio.__version__} (paper's approach): "
          f"{ref_best:.3f} s per step ({torch.get_num_threads()} threads)")
    print(f"learnable_scattering.torch {learnable_scattering.__version__}: {ours_best:.3f} s per "
          f"step ({learnable_scattering.num_threads()} rayon threads)")
    print(f"ratio (reference / module): {ref_best / ours_best:.2f}x")
    code = ("import time; t = time.perf_counter(); import torch; "
            "print(time.perf_counter() - t)")
    torch_import = float(subprocess.run([sys.executable, "-c", code], check=True,
                                        capture_output=True, text=True).stdout)
    r = json.loads(subprocess.run([sys.executable, __file__, "--child-startup"], check=True,
                                  capture_output=True, text=True).stdout.strip().splitlines()[-1])
    print(f"fresh process: import torch {torch_import:.3f} s, then import learnable_scattering.torch "
          f"{r['import_module_s']:.4f} s, construct (J=2, 32x32) {r['construct_s']:.4f} s, first "
          f"step on 1x3x32x32 {r['first_step_s']:.4f} s, second {r['second_step_s']:.4f} s")
    print(f"malloc: {'glibc defaults' if args.default_malloc else 'GLIBC_TUNABLES=' + reference.MALLOC_TUNABLES}")


if __name__ == "__main__":
    main()
