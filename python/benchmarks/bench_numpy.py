#!/usr/bin/env python3
"""The numpy frontend vs kymatio 0.3.0's numpy Scattering2D, side by side in one run.

    python python/benchmarks/bench_numpy.py [--rounds 3] [--dtype float32]

Cases (L = 8, max_order = 2): batch 128 x 3 x 32 x 32 at J = 2, and 1 x 128 x 128 at J = 4.
Timing: both transforms alternate --rounds times on the same input (after one warm-up call
each), best time reported. Peak memory: each (library, case) runs once more in a fresh
subprocess, which resets its RSS high-water mark (Linux: "5" into /proc/self/clear_refs) after the
import, the construction and one warm-up call on one image, and reports the high-water mark of the
call (VmHWM) minus its RSS just before it: the extra memory one call needs, input excluded; and
the peak RSS of that whole process (Python, imports, planning, input and call).
tracemalloc would miss the Rust engine's allocations, so RSS is used for both.
Also reports import and first-call cost of each library, each in a fresh subprocess.
"""
import argparse
import json
import os
import subprocess
import sys
import time

CASES = {"128x3x32x32 J=2": ((128, 3, 32, 32), 2), "1x128x128 J=4": ((1, 128, 128), 4)}


def make(lib, J, shape):
    if lib == "ours":
        from learnable_scattering.numpy import Scattering2D
    else:
        from kymatio.numpy import Scattering2D
    return Scattering2D(J, shape, L=8)


def status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def child_memory(lib, case, dtype):
    import numpy as np
    shape, J = CASES[case]
    S = make(lib, J, shape[-2:])
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    S(x.reshape(-1, *shape[-2:])[:1])
    warm_peak = status_kb("VmHWM")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current RSS
    before = status_kb("VmRSS")
    S(x)
    peak = status_kb("VmHWM")
    print(json.dumps({"extra_mb": (peak - before) / 1024, "process_mb": max(warm_peak, peak) / 1024}))


def child_startup(lib, dtype):
    t0 = time.perf_counter()
    if lib == "ours":
        import learnable_scattering.numpy  # noqa: F401
    else:
        import kymatio.numpy  # noqa: F401
    import numpy as np
    t1 = time.perf_counter()
    S = make(lib, 2, (32, 32))
    t2 = time.perf_counter()
    x = np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(dtype)
    S(x)
    t3 = time.perf_counter()
    S(x)
    t4 = time.perf_counter()
    print(json.dumps({"import_s": t1 - t0, "construct_s": t2 - t1, "first_call_s": t3 - t2,
                      "second_call_s": t4 - t3}))


def run_child(*args):
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--child-memory", nargs=2, metavar=("LIB", "CASE"))
    ap.add_argument("--child-startup", metavar="LIB")
    args = ap.parse_args()
    if args.child_memory:
        return child_memory(*args.child_memory, args.dtype)
    if args.child_startup:
        return child_startup(args.child_startup, args.dtype)

    import kymatio
    import numpy as np
    import learnable_scattering
    print(f"{os.cpu_count()} cores; learnable_scattering {learnable_scattering.__version__} "
          f"(rayon threads: {learnable_scattering.num_threads()}), kymatio {kymatio.__version__}, "
          f"numpy {np.__version__}; input {args.dtype}; best of {args.rounds} alternating rounds")
    print("| case | learnable_scattering (s) | kymatio.numpy (s) | speed-up | call's extra RSS, ours / "
          "kymatio (MB) | process peak RSS, ours / kymatio (MB) | max abs diff / max abs |")
    print("|---|---|---|---|---|---|---|")
    for case, (shape, J) in CASES.items():
        x = np.random.default_rng(0).standard_normal(shape).astype(args.dtype)
        ours, ref = make("ours", J, shape[-2:]), make("kymatio", J, shape[-2:])
        a, b = ours(x), ref(x)  # warm-up
        err = float(np.abs(a - b).max() / np.abs(b).max())
        best = {"ours": float("inf"), "kymatio": float("inf")}
        for _ in range(args.rounds):
            for lib, S in (("ours", ours), ("kymatio", ref)):
                t = time.perf_counter()
                S(x)
                best[lib] = min(best[lib], time.perf_counter() - t)
        mem = {lib: run_child("--child-memory", lib, case, "--dtype", args.dtype)
               for lib in ("ours", "kymatio")}
        print(f"| {case} | {best['ours']:.4f} | {best['kymatio']:.4f} | "
              f"{best['kymatio'] / best['ours']:.1f}x | {mem['ours']['extra_mb']:.0f} / "
              f"{mem['kymatio']['extra_mb']:.0f} | {mem['ours']['process_mb']:.0f} / "
              f"{mem['kymatio']['process_mb']:.0f} | {err:.1e} |")
    print()
    print("| startup (fresh process, 1x3x32x32, J=2) | import (s) | construct (s) | first call (s) "
          "| second call (s) |")
    print("|---|---|---|---|---|")
    for lib, name in (("ours", "learnable_scattering.numpy"), ("kymatio", "kymatio.numpy")):
        r = run_child("--child-startup", lib, "--dtype", args.dtype)
        print(f"| {name} | {r['import_s']:.3f} | {r['construct_s']:.4f} | {r['first_call_s']:.4f} "
              f"| {r['second_call_s']:.4f} |")


if __name__ == "__main__":
    main()
